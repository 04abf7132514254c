//! `GET|POST /_emulator/login?user=ID&usersig=SIG`: the emulator's stand-in for a client SDK
//! login, so tests can check a user's UserSig (as the Worker hands it out) and the effect of a
//! kick. Not a Tencent API: it is not logged in `/_emulator/calls` and not rate-limited.
//!
//! The UserSig is verified like an admin's (`usersig.rs`: the configured SDKAppID and key,
//! `TLS.identifier` equal to `user`, not expired, no userbuf), and must not have been issued
//! (`TLS.time`) before the second of the user's last kick: Tencent says the old UserSigs of a
//! kicked account fail and a newly generated one logs in
//! (<https://www.tencentcloud.com/document/product/1047/34957>). Tencent names no code for
//! that; the emulator answers 70001 (UserSig expired, "generate a new one"), with the kick in
//! ErrorInfo. A UserSig issued in the same second as the kick still logs in, so a test can kick
//! and sign again without waiting. The account need not be imported (Tencent's SDK login does
//! not require it either); `Imported` says whether it is.
//!
//! The answer is Tencent-shaped, HTTP 200: `{"ActionStatus","ErrorInfo","ErrorCode","UserID",
//! "Imported"}` (`Imported` on success only). A missing `user` or a bad query is HTTP 400
//! `{"error"}`, like the other control endpoints.

use crate::api::param;
use crate::query::parse_query;
use crate::reply::Reply;
use crate::state::State;
use crate::tencent::{fail, tencent_reply_with, Fail};
use crate::usersig;
use serde_json::Value;

/// Answers one login check at `now_ms` (Unix milliseconds).
pub(crate) fn login(state: &State, query: &str, now_ms: u64) -> Reply {
    let params = match parse_query(query) {
        Ok(params) => params,
        Err(e) => return Reply::error(400, &e),
    };
    let Some(user) = param(&params, "user").filter(|u| !u.is_empty()) else {
        return Reply::error(400, "user=<UserID> is required");
    };
    let usersig = param(&params, "usersig").unwrap_or("");
    let user_field = ("UserID", Value::from(user));
    match check(state, user, usersig, now_ms) {
        Ok(()) => {
            let imported = Value::Bool(state.account(user).is_some());
            tencent_reply_with(0, "", &[user_field, ("Imported", imported)])
        }
        Err(f) => tencent_reply_with(f.code, &f.info, &[user_field]),
    }
}

fn check(state: &State, user: &str, usersig: &str, now_ms: u64) -> Result<(), Fail> {
    let config = state.config();
    let now = i64::try_from(now_ms / 1000).unwrap_or(i64::MAX);
    let issued = usersig::verify_issued_at(config.sdkappid, &config.secret_key, user, usersig, now)
        .map_err(|refusal| fail(refusal.error_code(), ""))?;
    if let Some(kick) = state.kicks().get(user) {
        let kicked_at = i64::try_from(kick.kicked_at).unwrap_or(i64::MAX);
        if issued < kicked_at {
            return Err(fail(
                70001,
                &format!("issued at {issued}, before the account was kicked at {kicked_at}"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
