//! Request-body checks shared by the APIs: a JSON object, UserIDs, account lists.

use crate::account_import::{MAX_BODY_BYTES, MAX_USER_ID_BYTES};
use crate::tencent::{fail, Fail};
use serde_json::{Map, Value};

/// Most accounts one batch call takes (multiaccount_import, account_check, account_delete,
/// portrait_get).
pub const MAX_BATCH: usize = 100;

/// The body as a JSON object. `code` is what a body that is not one gets: 60003 on the account
/// APIs (Tencent's public "JSON parse" code), 40001 on the profile APIs (their own
/// `Err_Profile_Comm_Decode_Fail`).
pub(crate) fn json_object(body: &[u8], code: u32) -> Result<Map<String, Value>, Fail> {
    if body.len() > MAX_BODY_BYTES {
        return Err(fail(code, "request body too large"));
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(obj)) => Ok(obj),
        Ok(_) => Err(fail(code, "request body is not a JSON object")),
        Err(_) => Err(fail(code, "request body is not JSON")),
    }
}

/// Why a UserID string cannot name an account: empty, or over 32 bytes (Tencent's limit is on
/// the UTF-8 length, not on characters).
pub(crate) fn user_id_problem(user_id: &str) -> Option<&'static str> {
    if user_id.is_empty() {
        Some("UserID is empty")
    } else if user_id.len() > MAX_USER_ID_BYTES {
        Some("UserID is longer than 32 bytes")
    } else {
        None
    }
}

/// The list in `field`: present, an array, 1..=100 entries; else `code` (70402 or 40001).
pub(crate) fn batch<'a>(
    obj: &'a Map<String, Value>,
    field: &str,
    code: u32,
) -> Result<&'a [Value], Fail> {
    let list = match obj.get(field) {
        None => return Err(fail(code, &format!("{field} is required"))),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(fail(code, &format!("{field} must be an array"))),
    };
    if list.is_empty() {
        return Err(fail(code, &format!("{field} is empty")));
    }
    if list.len() > MAX_BATCH {
        return Err(fail(
            code,
            &format!(
                "{field} has {} entries, at most {MAX_BATCH} are allowed",
                list.len()
            ),
        ));
    }
    Ok(list)
}

/// `{"UserID": "..."}` items of account_check and account_delete: an object with a string
/// UserID, else the whole request is refused with 70402. The string itself is checked per item.
pub(crate) fn item_user_ids<'a>(list: &'a [Value], field: &str) -> Result<Vec<&'a str>, Fail> {
    list.iter()
        .enumerate()
        .map(|(i, item)| {
            let Value::Object(item) = item else {
                return Err(fail(70402, &format!("{field}[{i}] must be an object")));
            };
            match item.get("UserID") {
                Some(Value::String(s)) => Ok(s.as_str()),
                None => Err(fail(70402, &format!("{field}[{i}].UserID is required"))),
                Some(_) => Err(fail(
                    70402,
                    &format!("{field}[{i}].UserID must be a string"),
                )),
            }
        })
        .collect()
}
