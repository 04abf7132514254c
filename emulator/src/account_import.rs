//! `v4/im_open_login_svc/account_import`: the body checks and the import.
//!
//! Contract: <https://www.tencentcloud.com/document/product/1047/34953>. The checks every API
//! shares (URL parameters, rate limit, UserSig, admin) and the faults are in `api.rs`.

use crate::body::{json_object, user_id_problem};
use crate::state::{ImportRefusal, State};
use crate::tencent::{fail, Fail};
use serde_json::{Map, Value};

/// Path of account_import, the API tim-onboard calls.
pub const ACCOUNT_IMPORT_PATH: &str = "/v4/im_open_login_svc/account_import";
/// Longest UserID Tencent accepts, in bytes.
pub const MAX_USER_ID_BYTES: usize = 32;
/// Longest `Nick` / `FaceUrl` Tencent accepts, in bytes.
pub const MAX_PROFILE_BYTES: usize = 500;
/// Largest request body the emulator reads; anything longer is answered as unparseable JSON.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The validated body: what is stored.
struct ImportFields {
    user_id: String,
    nick: Option<String>,
    face_url: Option<String>,
}

/// The ErrorCode of a refused import, shared with multiaccount_import's account-level reasons.
pub(crate) fn refusal_fail(refusal: ImportRefusal) -> Fail {
    match refusal {
        ImportRefusal::CapReached => fail(70398, ""),
        ImportRefusal::ReimportBlocked => fail(
            70399,
            "the UserID was deleted less than 90 days ago and --reimport-block is on",
        ),
        ImportRefusal::IndexOutOfSync => fail(70500, "account index out of sync"),
    }
}

/// Steps 8-10: body checks, re-import block, account cap, insert or update.
pub(crate) fn import(state: &mut State, body: &[u8], now_ms: u64) -> Result<(), Fail> {
    let fields = parse_body(body)?;
    state
        .import_account(
            fields.user_id,
            fields.nick.as_deref(),
            fields.face_url.as_deref(),
            now_ms,
        )
        .map_err(refusal_fail)
}

/// Step 8: a JSON object with a valid UserID and, optionally, string Nick and FaceUrl.
fn parse_body(body: &[u8]) -> Result<ImportFields, Fail> {
    let obj = json_object(body, 60003)?;
    let obj = &obj;
    let user_id = user_id_field(obj)?;
    // Both types are checked before either length, so a type error wins over a length error.
    let nick = profile_field(obj, "Nick")?;
    let face_url = profile_field(obj, "FaceUrl")?;
    for (name, value) in [("Nick", nick), ("FaceUrl", face_url)] {
        if value.is_some_and(|v| v.len() > MAX_PROFILE_BYTES) {
            return Err(fail(40601, &format!("{name} is longer than 500 bytes")));
        }
    }
    Ok(ImportFields {
        user_id,
        nick: nick.map(str::to_owned),
        face_url: face_url.map(str::to_owned),
    })
}

/// The body's UserID: required, a string, 1..=32 bytes; else 70402 (also used by kick).
pub(crate) fn user_id_field(obj: &Map<String, Value>) -> Result<String, Fail> {
    match obj.get("UserID") {
        None => Err(fail(70402, "UserID is required")),
        Some(Value::String(s)) => match user_id_problem(s) {
            Some(problem) => Err(fail(70402, problem)),
            None => Ok(s.clone()),
        },
        Some(_) => Err(fail(70402, "UserID must be a string")),
    }
}

/// An optional string field (Nick, FaceUrl); any other type is 70402.
pub(crate) fn profile_field<'a>(
    obj: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, Fail> {
    match obj.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(fail(70402, &format!("{name} must be a string"))),
    }
}

#[cfg(test)]
mod tests;
