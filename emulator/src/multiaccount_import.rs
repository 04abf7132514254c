//! `v4/im_open_login_svc/multiaccount_import`: up to 100 accounts per call, with FailAccounts.
//!
//! Contract: <https://www.tencentcloud.com/document/product/1047/34954>. Two request forms:
//! the legacy `{"Accounts":["id",...]}` (no profile) and the newer
//! `{"AccountList":[{"UserID","Nick"?,"FaceUrl"?},...]}`, where an existing account is updated
//! with the Nick/FaceUrl given (<https://trtc.io/document/34954>). The answer is
//! `{"ActionStatus","ErrorInfo","ErrorCode","FailAccounts":[...]}`; Tencent gives no reason per
//! failed account.
//!
//! Tencent does not say which accounts fail, so the emulator decides, per account:
//! - whole call 70402: no list, both lists, a list that is not an array, 0 or over 100
//!   entries, an `Accounts` entry that is not a string, an `AccountList` entry that is not an
//!   object or has no string UserID, a Nick/FaceUrl that is not a string;
//! - FailAccounts: an empty or over-32-byte UserID, a Nick/FaceUrl over 500 bytes, an injected
//!   failure (`fail_accounts_rate`, script `fail_accounts`), a re-import blocked by
//!   `--reimport-block`, a new account over `--account-cap`;
//! - when no account was imported and every failure has the same reason, the call answers that
//!   reason's code (FAIL) and still lists FailAccounts: 70402 (UserID), 40601 (profile length),
//!   70399 (re-import block), 70398 (cap) — so a list of one behaves like account_import.
//!   Injected failures never turn into a call error.

use crate::account_import::{refusal_fail, MAX_PROFILE_BYTES};
use crate::api::Outcome;
use crate::body::{batch, json_object, user_id_problem};
use crate::faults::FaultAction;
use crate::state::{ImportRefusal, State};
use crate::tencent::{fail, Fail};
use serde_json::{Map, Value};

/// One account of the list.
struct Entry {
    user_id: String,
    nick: Option<String>,
    face_url: Option<String>,
}

/// Why one account landed in FailAccounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    UserId(&'static str),
    ProfileTooLong(&'static str),
    Injected,
    Refused(ImportRefusal),
}

impl Reason {
    /// The call's error when every account failed for this reason; none for injected failures.
    fn call_fail(self) -> Option<Fail> {
        match self {
            Reason::UserId(problem) => Some(fail(70402, problem)),
            Reason::ProfileTooLong(field) => {
                Some(fail(40601, &format!("{field} is longer than 500 bytes")))
            }
            Reason::Injected => None,
            Reason::Refused(refusal) => Some(refusal_fail(refusal)),
        }
    }

    /// Same reason, ignoring the detail (which field, which UserID problem).
    fn same_kind(self, other: Reason) -> bool {
        std::mem::discriminant(&self) == std::mem::discriminant(&other)
            && match (self, other) {
                (Reason::Refused(a), Reason::Refused(b)) => a == b,
                _ => true,
            }
    }
}

/// Validates the list, then imports account by account; see the module doc for the rules.
pub(crate) fn import(state: &mut State, body: &[u8], now_ms: u64, fault: FaultAction) -> Outcome {
    let entries = match parse(body) {
        Ok(entries) => entries,
        Err(f) => return Outcome::fail(f),
    };
    let mut failed: Vec<(String, Reason)> = Vec::new();
    let mut imported = 0usize;
    for entry in entries {
        match import_one(state, &entry, now_ms, fault) {
            None => imported += 1,
            Some(reason) => failed.push((entry.user_id, reason)),
        }
    }
    let fail_accounts: Vec<String> = failed.iter().map(|(id, _)| id.clone()).collect();
    let call_fail = match failed.first() {
        Some(&(_, first)) if imported == 0 && failed.iter().all(|(_, r)| r.same_kind(first)) => {
            first.call_fail()
        }
        _ => None,
    };
    Outcome {
        fail: call_fail,
        extra: vec![("FailAccounts", Value::from(fail_accounts.clone()))],
        fail_accounts: Some(fail_accounts),
    }
}

/// One account: its own checks, then the injected failure, then the import.
fn import_one(state: &mut State, entry: &Entry, now_ms: u64, fault: FaultAction) -> Option<Reason> {
    if let Some(problem) = user_id_problem(&entry.user_id) {
        return Some(Reason::UserId(problem));
    }
    for (field, value) in [("Nick", &entry.nick), ("FaceUrl", &entry.face_url)] {
        if value.as_ref().is_some_and(|v| v.len() > MAX_PROFILE_BYTES) {
            return Some(Reason::ProfileTooLong(field));
        }
    }
    // The draw comes after the account's own checks, so a seed gives the same draws whatever
    // the bad entries of a list.
    if fault == FaultAction::FailAccounts || state.draw_fail_account() {
        return Some(Reason::Injected);
    }
    state
        .import_account(
            entry.user_id.clone(),
            entry.nick.as_deref(),
            entry.face_url.as_deref(),
            now_ms,
        )
        .err()
        .map(Reason::Refused)
}

/// The list in either form, checked as a whole.
fn parse(body: &[u8]) -> Result<Vec<Entry>, Fail> {
    let obj = json_object(body, 60003)?;
    match (
        obj.contains_key("Accounts"),
        obj.contains_key("AccountList"),
    ) {
        (true, true) => Err(fail(70402, "give Accounts or AccountList, not both")),
        (false, false) => Err(fail(70402, "Accounts or AccountList is required")),
        (true, false) => legacy(&obj),
        (false, true) => account_list(&obj),
    }
}

/// `{"Accounts":["id",...]}`: strings only, no profile.
fn legacy(obj: &Map<String, Value>) -> Result<Vec<Entry>, Fail> {
    batch(obj, "Accounts", 70402)?
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(s) => Ok(Entry {
                user_id: s.clone(),
                nick: None,
                face_url: None,
            }),
            _ => Err(fail(70402, &format!("Accounts[{i}] must be a string"))),
        })
        .collect()
}

/// `{"AccountList":[{"UserID","Nick"?,"FaceUrl"?},...]}`.
fn account_list(obj: &Map<String, Value>) -> Result<Vec<Entry>, Fail> {
    batch(obj, "AccountList", 70402)?
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let Value::Object(item) = v else {
                return Err(fail(70402, &format!("AccountList[{i}] must be an object")));
            };
            let user_id = match item.get("UserID") {
                Some(Value::String(s)) => s.clone(),
                None => return Err(fail(70402, &format!("AccountList[{i}].UserID is required"))),
                Some(_) => {
                    return Err(fail(
                        70402,
                        &format!("AccountList[{i}].UserID must be a string"),
                    ))
                }
            };
            let text = |field: &str| match item.get(field) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(fail(
                    70402,
                    &format!("AccountList[{i}].{field} must be a string"),
                )),
            };
            Ok(Entry {
                user_id,
                nick: text("Nick")?,
                face_url: text("FaceUrl")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
