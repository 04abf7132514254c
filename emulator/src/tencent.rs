//! Tencent's answer format: the `ActionStatus`/`ErrorInfo`/`ErrorCode` document and its wording.

use crate::reply::Reply;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

/// A Tencent error: code plus English ErrorInfo.
#[derive(Debug)]
pub(crate) struct Fail {
    /// The ErrorCode.
    pub(crate) code: u32,
    /// The ErrorInfo, Tencent's wording plus the emulator's detail.
    pub(crate) info: String,
}

/// Tencent's documented wording for each code the emulator answers.
fn error_text(code: u32) -> &'static str {
    match code {
        40001 => "A request parameter is incorrect. Check the request parameters based on the error description.",
        40002 => "Request parameter error. To_Account is not specified.",
        40003 => "The requested user account does not exist.",
        40004 => "The request requires app admin permissions.",
        40006 => "An internal server error occurred during profile setting. Try again later.",
        40009 => "The tag of a profile field does not exist.",
        40601 => "The value of the profile field exceeds the length limit of 500 bytes.",
        40610 => "The value type of a profile field is incorrect.",
        60002 => "An error occurred when parsing the HTTP request. Check the format of the HTTP request URL.",
        60003 => "An error occurred when parsing the JSON data of the HTTP request. Check the JSON format.",
        60004 => "UserID or UserSig in the request URI or JSON packet is incorrect.",
        60006 => "Invalid SDKAppID. Check the validity of the SDKAppID.",
        60007 => "The RESTful API call exceeds the frequency limit. Please reduce the request frequency.",
        60009 => "Requested resource error. Please check the request URL.",
        60012 => "SDKAppID is required when calling the RESTful API. Check the SDKAppID in the request URL.",
        70001 => "UserSig expired. Please generate a new one.",
        70002 => "The value of UserSig is 0 bytes. Check whether the passed-in UserSig is correct.",
        70003 => "Invalid UserSig. Call the API provided on the official website to generate a UserSig.",
        70009 => "UserSig authentication failed, probably because the private key or key of another SDKAppID was mistakenly used to generate the UserSig.",
        70013 => "The UserID in the request does not match the UserID used to generate the UserSig.",
        70014 => "The SDKAppID in the request does not match the SDKAppID used to generate the UserSig.",
        70020 => "SDKAppID not found. Check the app information in the Chat console.",
        70107 => "The requested UserID does not exist.",
        70169 => "Server timeout. Try again later.",
        70202 => "Server timeout. Try again later.",
        70398 => "The number of accounts exceeds the limit allowed. To create more than 100 accounts, upgrade your app to the Pro Edition.",
        // Tencent publishes this code on its Chinese account_import page only; English wording ours.
        70399 => "A deleted UserID cannot be imported again within three months (apps other than the Trial edition).",
        70402 => "Invalid parameter. Check whether the required fields are all set and whether the parameter settings meet the protocol requirements.",
        70403 => "Request failed. App admin permissions are required to perform this operation.",
        70500 => "Internal server error. Try again later.",
        _ => "Error injected by tim-emulator.",
    }
}

/// A failure with Tencent's wording; `detail` (may be empty) tells a developer which check failed.
pub(crate) fn fail(code: u32, detail: &str) -> Fail {
    let text = error_text(code);
    let info = if detail.is_empty() {
        text.to_owned()
    } else {
        format!("{text} ({detail})")
    };
    Fail { code, info }
}

/// The Tencent response document: the three fields every answer carries, in account_import's
/// order, then the API's own fields (`FailAccounts`, `ResultItem`, `ErrorDisplay`, ...) in the
/// order given.
struct TencentBody<'a> {
    code: u32,
    info: &'a str,
    extra: &'a [(&'static str, Value)],
}

impl Serialize for TencentBody<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3 + self.extra.len()))?;
        map.serialize_entry("ActionStatus", action_status(self.code))?;
        map.serialize_entry("ErrorInfo", self.info)?;
        map.serialize_entry("ErrorCode", &self.code)?;
        for (name, value) in self.extra {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

fn action_status(code: u32) -> &'static str {
    if code == 0 {
        "OK"
    } else {
        "FAIL"
    }
}

/// Tencent's answer for `code` (0 = success); always HTTP 200, as the real API does.
pub(crate) fn tencent_reply(code: u32, info: &str) -> Reply {
    tencent_reply_with(code, info, &[])
}

/// Tencent's answer with the API's own fields after the common three.
pub(crate) fn tencent_reply_with(code: u32, info: &str, extra: &[(&'static str, Value)]) -> Reply {
    Reply::json(200, &TencentBody { code, info, extra })
}

/// A reply cut off mid-document, as a dropped connection leaves it.
pub(crate) fn truncated_body(code: u32) -> Vec<u8> {
    format!("{{\"ActionStatus\":\"{}\",\"Err", action_status(code)).into_bytes()
}
