//! `v4/profile/portrait_set` and `v4/profile/portrait_get`, for the two profile fields an import
//! carries: `Tag_Profile_IM_Nick` (= Nick) and `Tag_Profile_IM_Image` (= FaceUrl). They read and
//! write the same accounts `GET /_emulator/accounts` lists.
//!
//! Contracts: <https://www.tencentcloud.com/document/product/1047/34916> (set) and
//! <https://www.tencentcloud.com/document/product/1047/34917> (get); fields:
//! <https://www.tencentcloud.com/document/product/1047/33520>. Both answer `ErrorDisplay` too
//! (added in `api.rs`), and the profile service's own codes: 40001 (malformed request, as its
//! `Err_Profile_Comm_Decode_Fail`), 40002 (no To_Account), 40003 (no such account), 40004
//! (not an admin), 40009 (no such tag), 40601 (value over 500 bytes), 40610 (value not a string).
//!
//! The emulator's choices where Tencent is silent: the other standard tags (Gender, BirthDay,
//! ...) exist at Tencent but are not modelled here, so they are refused with 40001 (saying so)
//! rather than faked; custom tags (`Tag_Profile_Custom_*`) are 40009, as on an app that
//! configured none. portrait_set checks the whole request before the account (40003) and
//! applies all items or none. portrait_get answers an unknown account per item (ResultCode
//! 40003, listed in `Fail_Account`) and omits tags that were never set.

use crate::account_import::MAX_PROFILE_BYTES;
use crate::api::Outcome;
use crate::body::{json_object, MAX_BATCH};
use crate::state::{Account, State};
use crate::tencent::{fail, Fail};
use serde_json::{json, Map, Value};

const NICK: &str = "Tag_Profile_IM_Nick";
const IMAGE: &str = "Tag_Profile_IM_Image";

/// Standard profile tags Tencent has and the emulator does not model.
const UNMODELLED: [&str; 10] = [
    "Tag_Profile_IM_Gender",
    "Tag_Profile_IM_BirthDay",
    "Tag_Profile_IM_Location",
    "Tag_Profile_IM_SelfSignature",
    "Tag_Profile_IM_AllowType",
    "Tag_Profile_IM_Language",
    "Tag_Profile_IM_MsgSettings",
    "Tag_Profile_IM_AdminForbidType",
    "Tag_Profile_IM_Level",
    "Tag_Profile_IM_Role",
];

/// A tag the emulator models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Nick,
    Image,
}

impl Tag {
    fn name(self) -> &'static str {
        match self {
            Tag::Nick => NICK,
            Tag::Image => IMAGE,
        }
    }

    fn value(self, account: &Account) -> Option<&str> {
        match self {
            Tag::Nick => account.nick.as_deref(),
            Tag::Image => account.face_url.as_deref(),
        }
    }
}

/// A modelled tag, or the error for any other.
fn tag(name: &str) -> Result<Tag, Fail> {
    match name {
        NICK => Ok(Tag::Nick),
        IMAGE => Ok(Tag::Image),
        other if UNMODELLED.contains(&other) => Err(fail(
            40001,
            &format!("{other} is a Tencent tag that tim-emulator does not model"),
        )),
        other => Err(fail(40009, &format!("no profile tag {other:?}"))),
    }
}

/// portrait_set: `{"From_Account","ProfileItem":[{"Tag","Value"},...]}`.
pub(crate) fn set(state: &mut State, body: &[u8]) -> Outcome {
    set_profile(state, body).into()
}

fn set_profile(state: &mut State, body: &[u8]) -> Result<(), Fail> {
    let obj = json_object(body, 40001)?;
    let user_id = match obj.get("From_Account") {
        None => return Err(fail(40001, "From_Account is required")),
        Some(Value::String(s)) if s.is_empty() => return Err(fail(40001, "From_Account is empty")),
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(fail(40001, "From_Account must be a string")),
    };
    let items = match obj.get("ProfileItem") {
        None => return Err(fail(40001, "ProfileItem is required")),
        Some(Value::Array(items)) if items.is_empty() => {
            return Err(fail(40001, "ProfileItem is empty"))
        }
        Some(Value::Array(items)) => items,
        Some(_) => return Err(fail(40001, "ProfileItem must be an array")),
    };
    let mut nick = None;
    let mut face_url = None;
    for (i, item) in items.iter().enumerate() {
        let (tag, value) = profile_item(i, item)?;
        // A tag given twice: the last value wins.
        match tag {
            Tag::Nick => nick = Some(value),
            Tag::Image => face_url = Some(value),
        }
    }
    if !state.set_profile(user_id, nick, face_url) {
        return Err(fail(40003, ""));
    }
    Ok(())
}

/// One `{"Tag","Value"}` of portrait_set, checked.
fn profile_item(i: usize, item: &Value) -> Result<(Tag, &str), Fail> {
    let Value::Object(item) = item else {
        return Err(fail(40001, &format!("ProfileItem[{i}] must be an object")));
    };
    let name = match item.get("Tag") {
        Some(Value::String(s)) => s.as_str(),
        None => return Err(fail(40001, &format!("ProfileItem[{i}].Tag is required"))),
        Some(_) => {
            return Err(fail(
                40001,
                &format!("ProfileItem[{i}].Tag must be a string"),
            ))
        }
    };
    let tag = tag(name)?;
    match item.get("Value") {
        None => Err(fail(40001, &format!("ProfileItem[{i}].Value is required"))),
        Some(Value::String(s)) if s.len() > MAX_PROFILE_BYTES => Err(fail(
            40601,
            &format!("the value of {name} is longer than 500 bytes"),
        )),
        Some(Value::String(s)) => Ok((tag, s.as_str())),
        Some(_) => Err(fail(
            40610,
            &format!("the value of {name} must be a string"),
        )),
    }
}

/// portrait_get: `{"To_Account":[...],"TagList":[...]}` → `UserProfileItem` per account.
pub(crate) fn get(state: &mut State, body: &[u8]) -> Outcome {
    let (ids, tags) = match parse_get(body) {
        Ok(parsed) => parsed,
        Err(f) => return Outcome::fail(f),
    };
    let mut failed: Vec<Value> = Vec::new();
    let items: Vec<Value> = ids
        .iter()
        .map(|id| match state.account(id) {
            Some(account) => {
                let profile: Vec<Value> = tags
                    .iter()
                    .filter_map(|&t| {
                        t.value(account)
                            .map(|v| json!({"Tag": t.name(), "Value": v}))
                    })
                    .collect();
                json!({"To_Account": id, "ProfileItem": profile, "ResultCode": 0, "ResultInfo": ""})
            }
            None => {
                failed.push(Value::from(id.as_str()));
                let info = fail(40003, "").info;
                json!({"To_Account": id, "ResultCode": 40003, "ResultInfo": info})
            }
        })
        .collect();
    let mut extra = vec![("UserProfileItem", Value::Array(items))];
    // Tencent returns Fail_Account "only when there is at least one failed user".
    if !failed.is_empty() {
        extra.push(("Fail_Account", Value::Array(failed)));
    }
    Outcome::ok(extra)
}

/// The accounts and the tags (each once, in request order) of a portrait_get.
fn parse_get(body: &[u8]) -> Result<(Vec<String>, Vec<Tag>), Fail> {
    let obj = json_object(body, 40001)?;
    Ok((to_accounts(&obj)?, tag_list(&obj)?))
}

/// `To_Account`: 40002 when missing or empty, 40001 when not an array of at most 100 strings.
fn to_accounts(obj: &Map<String, Value>) -> Result<Vec<String>, Fail> {
    let list = match obj.get("To_Account") {
        None => return Err(fail(40002, "")),
        Some(Value::Array(list)) if list.is_empty() => {
            return Err(fail(40002, "To_Account is empty"))
        }
        Some(Value::Array(list)) => list,
        Some(_) => return Err(fail(40001, "To_Account must be an array")),
    };
    if list.len() > MAX_BATCH {
        return Err(fail(
            40001,
            &format!(
                "To_Account has {} entries, at most {MAX_BATCH} are allowed",
                list.len()
            ),
        ));
    }
    list.iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(s) if s.is_empty() => {
                Err(fail(40001, &format!("To_Account[{i}] is empty")))
            }
            // An over-32-byte UserID cannot exist: it is answered per item like any unknown one.
            Value::String(s) => Ok(s.clone()),
            _ => Err(fail(40001, &format!("To_Account[{i}] must be a string"))),
        })
        .collect()
}

/// `TagList`: a non-empty array of modelled tags.
fn tag_list(obj: &Map<String, Value>) -> Result<Vec<Tag>, Fail> {
    let list = match obj.get("TagList") {
        None => return Err(fail(40001, "TagList is required")),
        Some(Value::Array(list)) if list.is_empty() => return Err(fail(40001, "TagList is empty")),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(fail(40001, "TagList must be an array")),
    };
    let mut tags: Vec<Tag> = Vec::new();
    for (i, v) in list.iter().enumerate() {
        let name = v
            .as_str()
            .ok_or_else(|| fail(40001, &format!("TagList[{i}] must be a string")))?;
        let t = tag(name)?;
        if !tags.contains(&t) {
            tags.push(t);
        }
    }
    Ok(tags)
}

#[cfg(test)]
mod tests;
