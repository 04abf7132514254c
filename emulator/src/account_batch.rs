//! `v4/im_open_login_svc/account_check` and `account_delete`: up to 100 `{"UserID"}` items,
//! answered with one `ResultItem` per item, in request order.
//!
//! Contracts: <https://www.tencentcloud.com/document/product/1047/34956> (check) and
//! <https://www.tencentcloud.com/document/product/1047/34955> (delete). The whole call is 70402
//! when the list is missing, not an array, empty or over 100 items, or an item is not an object
//! with a string UserID. An empty or over-32-byte UserID string is refused per item with
//! ResultCode 70402 (the emulator's choice; Tencent documents only per-item 70107).

use crate::api::Outcome;
use crate::body::{batch, item_user_ids, json_object, user_id_problem};
use crate::state::State;
use crate::tencent::fail;
use serde_json::{json, Value};

/// Tencent's ResultInfo for a UserID that does not exist (account_delete's sample answer).
const NOT_EXIST: &str = "Err_TLS_PT_Open_Login_Account_Not_Exist";

/// account_check: `AccountStatus` "Imported" or "NotImported" per UserID.
pub(crate) fn check(state: &mut State, body: &[u8]) -> Outcome {
    let ids = match parse(body, "CheckItem") {
        Ok(ids) => ids,
        Err(outcome) => return outcome,
    };
    let items: Vec<Value> = ids
        .iter()
        .map(|id| match user_id_problem(id) {
            // No AccountStatus: the item was not checked.
            Some(problem) => invalid_item(id, problem),
            None => {
                let status = if state.account(id).is_some() {
                    "Imported"
                } else {
                    "NotImported"
                };
                json!({"UserID": id, "ResultCode": 0, "ResultInfo": "", "AccountStatus": status})
            }
        })
        .collect();
    Outcome::ok(vec![("ResultItem", Value::Array(items))])
}

/// account_delete: ResultCode 0 per deleted account, 70107 for a UserID that does not exist.
/// The deletion time is kept for `--reimport-block`.
pub(crate) fn delete(state: &mut State, body: &[u8], now_ms: u64) -> Outcome {
    let ids = match parse(body, "DeleteItem") {
        Ok(ids) => ids,
        Err(outcome) => return outcome,
    };
    let items: Vec<Value> = ids
        .iter()
        .map(|id| match user_id_problem(id) {
            Some(problem) => invalid_item(id, problem),
            None if state.delete_account(id, now_ms) => {
                json!({"ResultCode": 0, "ResultInfo": "", "UserID": id})
            }
            None => json!({"ResultCode": 70107, "ResultInfo": NOT_EXIST, "UserID": id}),
        })
        .collect();
    Outcome::ok(vec![("ResultItem", Value::Array(items))])
}

/// The UserIDs of the list in `field`, or the failed call.
fn parse(body: &[u8], field: &str) -> Result<Vec<String>, Outcome> {
    let obj = json_object(body, 60003).map_err(Outcome::fail)?;
    let list = batch(&obj, field, 70402).map_err(Outcome::fail)?;
    let ids = item_user_ids(list, field).map_err(Outcome::fail)?;
    Ok(ids.into_iter().map(str::to_owned).collect())
}

/// The per-item answer for a UserID string that cannot name an account.
fn invalid_item(id: &str, problem: &str) -> Value {
    let info = fail(70402, problem).info;
    json!({"UserID": id, "ResultCode": 70402, "ResultInfo": info})
}

#[cfg(test)]
mod tests;
