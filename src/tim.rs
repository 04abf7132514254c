//! Tencent Cloud Chat REST client, minus the socket: the `account_import` request, the answer,
//! what each error code means for us, and the retry/fail-over decisions between attempts.
//!
//! Tencent answers HTTP 200 even on failure, so everything hinges on `ErrorCode`. Codes are sorted
//! into: retry now (transient), retry later (rate limits), try another data centre (the SDKAppID
//! is unknown here), the payload can never be accepted, or an operator must fix something. The
//! last two differ in what we tell the webhook sender: only the payload class gives up on a signup.

use crate::ports::TransportError;
use crate::region::{Endpoint, Region};
use serde::Serialize;

/// REST path of the single-account import API.
pub const ACCOUNT_IMPORT_PATH: &str = "/v4/im_open_login_svc/account_import";
/// REST path of the batch import API (up to [`MAX_BATCH`] accounts per call).
pub const MULTIACCOUNT_IMPORT_PATH: &str = "/v4/im_open_login_svc/multiaccount_import";
/// REST path of `portrait_set` (profile fields of one account).
pub const PORTRAIT_SET_PATH: &str = "/v4/profile/portrait_set";
/// REST path of `kick` (invalidates every UserSig a user holds).
pub const KICK_PATH: &str = "/v4/im_open_login_svc/kick";
/// REST path of `account_delete` (up to [`MAX_BATCH`] accounts per call).
pub const ACCOUNT_DELETE_PATH: &str = "/v4/im_open_login_svc/account_delete";
/// Tencent codes meaning "no such account": an update then imports, a kick or delete is moot.
pub const NO_SUCH_ACCOUNT: [i64; 2] = [70107, 40003];
/// Most accounts one `multiaccount_import` call takes.
pub const MAX_BATCH: usize = 100;

/// Which of Tencent's per-API quotas a call counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quota {
    /// 200 calls/s: `account_import`, `kick`, `portrait_set`.
    Single,
    /// 100 calls/s: `multiaccount_import`, `account_delete`, `account_check`.
    Batch,
}

impl Quota {
    /// The API's documented limit in calls per second.
    pub fn calls_per_second(self) -> u64 {
        match self {
            Quota::Single => 200,
            Quota::Batch => 100,
        }
    }

    /// The quota of the API at `path`.
    pub fn of(path: &str) -> Quota {
        if path == MULTIACCOUNT_IMPORT_PATH || path == ACCOUNT_DELETE_PATH {
            Quota::Batch
        } else {
            Quota::Single
        }
    }
}

/// Query-string escaping for the admin identifier (UserSigs and numbers need none).
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Who calls Tencent: the app and its admin account, with the admin's current UserSig.
#[derive(Clone, Copy)]
pub struct Caller<'a> {
    /// SDKAppID.
    pub sdkappid: u64,
    /// Admin identifier.
    pub admin: &'a str,
    /// The admin's UserSig.
    pub usersig: &'a str,
}

/// The URL of REST API `path` at `origin` (`scheme://host[:port]`), with the common parameters.
///
/// The UserSig goes in as is: its alphabet (`A-Z a-z 0-9 * - _`) is legal in a query string, so
/// encoding it would only spend CPU on every request.
pub fn api_url(origin: &str, path: &str, caller: Caller<'_>, random: u32) -> String {
    let Caller {
        sdkappid,
        admin,
        usersig,
    } = caller;
    format!(
        "{origin}{path}?sdkappid={sdkappid}&identifier={}&usersig={}&random={random}&contenttype=json",
        percent_encode(admin),
        if is_query_safe(usersig) { usersig.into() } else { percent_encode(usersig) }
    )
}

/// The full `account_import` URL.
pub fn account_import_url(
    origin: &str,
    sdkappid: u64,
    admin: &str,
    usersig: &str,
    random: u32,
) -> String {
    let caller = Caller {
        sdkappid,
        admin,
        usersig,
    };
    api_url(origin, ACCOUNT_IMPORT_PATH, caller, random)
}

fn is_query_safe(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.~*".contains(&b))
}

/// The JSON body of `account_import`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportRequest {
    /// Tencent UserID, at most 32 bytes.
    #[serde(rename = "UserID")]
    pub user_id: String,
    /// Nickname (profile field `Tag_Profile_IM_Nick`), at most 500 bytes.
    #[serde(rename = "Nick", skip_serializing_if = "Option::is_none")]
    pub nick: Option<String>,
    /// Avatar URL (profile field `Tag_Profile_IM_Image`), at most 500 bytes.
    #[serde(rename = "FaceUrl", skip_serializing_if = "Option::is_none")]
    pub face_url: Option<String>,
}

impl ImportRequest {
    /// Serialises the body; serialising strings cannot fail.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The body of `multiaccount_import` in its `AccountList` form, which carries Nick and FaceUrl.
pub fn multiaccount_import_body(accounts: &[ImportRequest]) -> String {
    #[derive(Serialize)]
    struct Body<'a> {
        #[serde(rename = "AccountList")]
        account_list: &'a [ImportRequest],
    }
    serde_json::to_string(&Body {
        account_list: accounts,
    })
    .unwrap_or_default()
}

/// The body of `portrait_set`: only the fields given are written.
pub fn portrait_set_body(user_id: &str, nick: Option<&str>, face_url: Option<&str>) -> String {
    let mut items = Vec::new();
    if let Some(n) = nick {
        items.push(serde_json::json!({ "Tag": "Tag_Profile_IM_Nick", "Value": n }));
    }
    if let Some(f) = face_url {
        items.push(serde_json::json!({ "Tag": "Tag_Profile_IM_Image", "Value": f }));
    }
    serde_json::json!({ "From_Account": user_id, "ProfileItem": items }).to_string()
}

/// The body of `kick`.
pub fn kick_body(user_id: &str) -> String {
    serde_json::json!({ "UserID": user_id }).to_string()
}

/// The body of `account_delete`.
pub fn account_delete_body(user_ids: &[&str]) -> String {
    let items: Vec<_> = user_ids
        .iter()
        .map(|u| serde_json::json!({ "UserID": u }))
        .collect();
    serde_json::json!({ "DeleteItem": items }).to_string()
}

/// Tencent's verdict on one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `ActionStatus: OK`, `ErrorCode: 0`.
    Ok,
    /// Any non-zero `ErrorCode`.
    Fail {
        /// `ErrorCode`.
        code: i64,
        /// `ErrorInfo`, as Tencent wrote it.
        info: String,
    },
}

/// What one attempt produced.
pub type Outcome = Result<Answer, TransportError>;

#[derive(serde::Deserialize)]
struct RawAnswer {
    #[serde(rename = "ActionStatus")]
    action_status: Option<String>,
    #[serde(rename = "ErrorCode")]
    error_code: Option<i64>,
    #[serde(rename = "ErrorInfo")]
    error_info: Option<String>,
}

/// An answer and, for batch calls, the accounts Tencent says it could not import (no reasons).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Tencent's verdict on the call as a whole.
    pub outcome: Outcome,
    /// `FailAccounts` of a successful batch call, and the accounts whose `ResultItem` has a
    /// non-zero `ResultCode` other than "no such account" (batch deletes).
    pub fail_accounts: Vec<String>,
}

impl From<Outcome> for Reply {
    fn from(outcome: Outcome) -> Reply {
        Reply {
            outcome,
            fail_accounts: Vec::new(),
        }
    }
}

#[derive(serde::Deserialize)]
struct RawFailAccounts {
    #[serde(rename = "FailAccounts", default)]
    fail_accounts: Vec<serde_json::Value>,
    #[serde(rename = "ResultItem", default)]
    result_item: Vec<serde_json::Value>,
}

impl RawFailAccounts {
    fn failed(self) -> Vec<String> {
        let listed = self
            .fail_accounts
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_owned));
        let items = self.result_item.into_iter().filter_map(|item| {
            let code = item.get("ResultCode").and_then(serde_json::Value::as_i64)?;
            let user = item.get("UserID").and_then(serde_json::Value::as_str)?;
            (code != 0 && !NO_SUCH_ACCOUNT.contains(&code)).then(|| user.to_owned())
        });
        listed.chain(items).collect()
    }
}

/// Reads an HTTP response from Tencent, including `FailAccounts` when present.
pub fn parse_reply(status: u16, body: &[u8]) -> Reply {
    let outcome = parse_response(status, body);
    let fail_accounts = match outcome {
        Ok(Answer::Ok) => serde_json::from_slice::<RawFailAccounts>(body)
            .map(RawFailAccounts::failed)
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    Reply {
        outcome,
        fail_accounts,
    }
}

/// Reads an HTTP response from Tencent into an [`Outcome`].
pub fn parse_response(status: u16, body: &[u8]) -> Outcome {
    if status != 200 {
        return Err(TransportError::Status(status));
    }
    let raw: RawAnswer = serde_json::from_slice(body).map_err(|_| TransportError::NotJson)?;
    match (raw.action_status.as_deref(), raw.error_code) {
        (Some("OK"), Some(0)) | (Some("OK"), None) => Ok(Answer::Ok),
        (_, Some(code)) if code != 0 => Ok(Answer::Fail {
            code,
            info: raw.error_info.unwrap_or_default(),
        }),
        // FAIL with code 0, or neither field: not something Tencent sends.
        _ => Err(TransportError::NotJson),
    }
}

/// What an error code means for the next step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Transient server trouble: retry soon with backoff.
    Transient,
    /// Rate limited: retry after `retry_after_s` seconds (possibly within this request).
    RateLimited {
        /// How long Tencent asks us to wait.
        retry_after_s: u32,
    },
    /// The admin UserSig expired: sign again and retry at once.
    SigExpired,
    /// The SDKAppID is not known in this data centre.
    WrongDataCentre,
    /// This payload can never be imported as is.
    Payload,
    /// Credentials, edition, quota or account state: an operator must act; keep the signup.
    Operator,
}

/// Classifies a Tencent `ErrorCode`: the public codes
/// (<https://www.tencentcloud.com/document/product/1047/34348>) and `account_import`'s own
/// (<https://www.tencentcloud.com/document/product/1047/34953>).
///
/// Unknown codes count as operator problems: that answers 5xx, so the sender keeps the signup.
pub fn classify(code: i64) -> ErrorClass {
    match code {
        60008 | 70169 | 70202 | 70500 | 40006 | 30006 | 30007 | 90992 | 90994 | 90995 | 91000 => {
            ErrorClass::Transient
        }
        60007 | 60011 | 60018 | 60019 | 70114 => ErrorClass::RateLimited { retry_after_s: 1 },
        70050 => ErrorClass::RateLimited { retry_after_s: 60 },
        70001 => ErrorClass::SigExpired,
        70016 | 70020 | 60006 => ErrorClass::WrongDataCentre,
        40601 | 70402 => ErrorClass::Payload,
        _ => ErrorClass::Operator,
    }
}

/// Retry and time limits for one import, chosen to end before the sender gives up on us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Wall-clock budget for every attempt and wait together (Svix waits 15 s).
    pub budget_ms: u64,
    /// Client timeout per attempt; Tencent's own is 3 s, so ours must be longer.
    pub attempt_timeout_ms: u64,
    /// Shortest attempt worth starting when the budget runs low.
    pub min_attempt_ms: u64,
    /// First backoff delay; doubles per retry.
    pub base_delay_ms: u64,
    /// Longest backoff delay.
    pub max_delay_ms: u64,
    /// Most attempts, all endpoints together.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            budget_ms: 10_000,
            attempt_timeout_ms: 4_000,
            min_attempt_ms: 1_500,
            base_delay_ms: 100,
            max_delay_ms: 2_000,
            max_attempts: 6,
        }
    }
}

impl RetryPolicy {
    /// Exponential backoff with "equal jitter" (half fixed, half random) for retry number `n` (1-based).
    pub fn backoff_ms(&self, n: u32, random: u32) -> u64 {
        let exp = self
            .base_delay_ms
            .saturating_mul(1u64 << n.saturating_sub(1).min(20));
        let d = exp.min(self.max_delay_ms);
        d / 2 + u64::from(random) % (d / 2 + 1)
    }
}

/// Why an import finally failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// Tencent refused this payload for good.
    #[error("Tencent rejected the account ({code}: {info})")]
    Rejected {
        /// Tencent `ErrorCode`.
        code: i64,
        /// Tencent `ErrorInfo`.
        info: String,
    },
    /// Tencent refused for a reason an operator must fix (key, admin, edition, quota).
    #[error("Tencent refused the call ({code}: {info})")]
    Operator {
        /// Tencent `ErrorCode`.
        code: i64,
        /// Tencent `ErrorInfo`.
        info: String,
    },
    /// Every data centre tried says this SDKAppID is not theirs.
    #[error("no data centre tried knows this SDKAppID (last code {code})")]
    WrongRegion {
        /// Last wrong-data-centre code seen.
        code: i64,
        /// Data centres that said so.
        tried: Vec<Region>,
    },
    /// Transient errors or no answer until the budget ran out.
    #[error("Tencent unavailable: {last}")]
    Unavailable {
        /// The last thing that went wrong.
        last: String,
        /// Seconds the sender should wait before retrying.
        retry_after_s: u32,
        /// Tencent asked us to slow down (then `retry_after_s` is its wait, not our guess).
        rate_limited: bool,
    },
}

/// The next thing the shell should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Wait `delay_ms`, then call `endpoints[endpoint]` with this timeout.
    Send {
        /// Index into the endpoint list.
        endpoint: usize,
        /// Backoff before the call.
        delay_ms: u64,
        /// Client timeout for the call.
        timeout_ms: u64,
        /// Sign a new admin UserSig first (the old one expired).
        fresh_sig: bool,
    },
    /// Stop: imported at this endpoint, or failed.
    Done(Result<usize, ImportError>),
}

/// The state of one import across attempts: a pure state machine the shell drives.
#[derive(Debug)]
pub struct ImportRun {
    policy: RetryPolicy,
    endpoints: Vec<Endpoint>,
    current: usize,
    attempts: u32,
    retries: u32,
    started_ms: u64,
    resigned: bool,
    wrong_dc: Vec<Region>,
}

impl ImportRun {
    /// Starts a run over `endpoints` (at least one) at time `now_ms`.
    pub fn new(policy: RetryPolicy, endpoints: Vec<Endpoint>, now_ms: u64) -> ImportRun {
        ImportRun {
            policy,
            endpoints,
            current: 0,
            attempts: 0,
            retries: 0,
            started_ms: now_ms,
            resigned: false,
            wrong_dc: Vec::new(),
        }
    }

    /// The endpoint list the indices in [`Step::Send`] refer to.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// The first step.
    pub fn start(&mut self, now_ms: u64) -> Step {
        if self.endpoints.is_empty() {
            return Step::Done(Err(ImportError::Unavailable {
                last: "no endpoint configured".into(),
                retry_after_s: 60,
                rate_limited: false,
            }));
        }
        self.send(Attempt::at(0, 0), now_ms, "not started")
    }

    /// Sends `attempt` unless the attempt cap or the budget says stop (then `why` is reported).
    fn send(&mut self, attempt: Attempt, now_ms: u64, why: &str) -> Step {
        let elapsed = now_ms.saturating_sub(self.started_ms);
        let left = self
            .policy
            .budget_ms
            .saturating_sub(elapsed + attempt.delay_ms);
        if self.attempts >= self.policy.max_attempts || left < self.policy.min_attempt_ms {
            return Step::Done(Err(ImportError::Unavailable {
                last: why.to_owned(),
                retry_after_s: 30,
                rate_limited: false,
            }));
        }
        self.attempts += 1;
        self.current = attempt.endpoint;
        Step::Send {
            endpoint: attempt.endpoint,
            delay_ms: attempt.delay_ms,
            timeout_ms: left.min(self.policy.attempt_timeout_ms),
            fresh_sig: attempt.fresh_sig,
        }
    }

    fn backoff(&mut self, random: u32) -> u64 {
        self.retries += 1;
        self.policy.backoff_ms(self.retries, random)
    }

    fn region_of(&self, i: usize) -> Option<Region> {
        self.endpoints.get(i).and_then(|e| e.region)
    }

    /// Decides what to do after the attempt just made produced `outcome`.
    pub fn next(&mut self, outcome: &Outcome, now_ms: u64, random: u32) -> Step {
        let here = self.current;
        match outcome {
            Ok(Answer::Ok) => Step::Done(Ok(here)),
            Ok(Answer::Fail { code, info }) => self.on_code(*code, info, now_ms, random),
            Err(e @ (TransportError::Network(_) | TransportError::Timeout)) => {
                // No answer: the next endpoint (backup domain, then the next data centre), cycling.
                let n = self.endpoints.len();
                let next = (1..=n)
                    .map(|k| (here + k) % n)
                    .find(|&i| {
                        self.region_of(i)
                            .is_none_or(|r| !self.wrong_dc.contains(&r))
                    })
                    .unwrap_or(here);
                let d = if next <= here {
                    self.backoff(random)
                } else {
                    0
                };
                // Name the origin: "connection refused" alone does not say what to start or fix.
                let origin = self.endpoints.get(here).map_or("", |e| e.origin.as_str());
                let why = format!("{e} (calling {origin})");
                self.send(Attempt::at(next, d), now_ms, &why)
            }
            Err(e @ (TransportError::Status(_) | TransportError::NotJson)) => {
                let d = self.backoff(random);
                self.send(Attempt::at(here, d), now_ms, &e.to_string())
            }
        }
    }

    /// The step after Tencent answered with error `code`.
    fn on_code(&mut self, code: i64, info: &str, now_ms: u64, random: u32) -> Step {
        let here = self.current;
        match classify(code) {
            ErrorClass::Transient => {
                let d = self.backoff(random);
                let why = format!("Tencent error {code}: {info}");
                self.send(Attempt::at(here, d), now_ms, &why)
            }
            ErrorClass::RateLimited { retry_after_s } => {
                let wait = u64::from(retry_after_s) * 1000;
                let d = self.backoff(random).max(wait);
                let why = format!("Tencent rate limit {code}: {info}");
                match self.send(Attempt::at(here, d), now_ms, &why) {
                    Step::Done(Err(ImportError::Unavailable { last, .. })) => {
                        Step::Done(Err(ImportError::Unavailable {
                            last,
                            retry_after_s: retry_after_s.max(5),
                            rate_limited: true,
                        }))
                    }
                    step => step,
                }
            }
            ErrorClass::SigExpired if !self.resigned => {
                self.resigned = true;
                let attempt = Attempt {
                    fresh_sig: true,
                    ..Attempt::at(here, 0)
                };
                self.send(attempt, now_ms, "UserSig expired")
            }
            ErrorClass::SigExpired | ErrorClass::Operator => {
                Step::Done(Err(ImportError::Operator {
                    code,
                    info: info.to_owned(),
                }))
            }
            ErrorClass::Payload => Step::Done(Err(ImportError::Rejected {
                code,
                info: info.to_owned(),
            })),
            ErrorClass::WrongDataCentre => self.next_data_centre(code, now_ms),
        }
    }

    /// After a wrong-data-centre answer: the next endpoint of a data centre not yet ruled out.
    fn next_data_centre(&mut self, code: i64, now_ms: u64) -> Step {
        let here = self.current;
        if let Some(r) = self.region_of(here) {
            if !self.wrong_dc.contains(&r) {
                self.wrong_dc.push(r);
            }
        }
        // Only an `auto` list holds other regions; skip the rest of this one.
        let next = (here + 1..self.endpoints.len()).find(|&i| {
            self.region_of(i)
                .is_some_and(|r| !self.wrong_dc.contains(&r))
        });
        match next {
            Some(i) => self.send(Attempt::at(i, 0), now_ms, "wrong data centre"),
            None => Step::Done(Err(ImportError::WrongRegion {
                code,
                tried: self.wrong_dc.clone(),
            })),
        }
    }
}

/// One attempt to make: where, after how long, and whether to sign afresh.
#[derive(Debug, Clone, Copy)]
struct Attempt {
    endpoint: usize,
    delay_ms: u64,
    fresh_sig: bool,
}

impl Attempt {
    fn at(endpoint: usize, delay_ms: u64) -> Attempt {
        Attempt {
            endpoint,
            delay_ms,
            fresh_sig: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::region::{endpoints, EdgeLocation, RegionSetting};

    fn fail(code: i64) -> Outcome {
        Ok(Answer::Fail {
            code,
            info: format!("info {code}"),
        })
    }

    fn send_idx(step: &Step) -> usize {
        match step {
            Step::Send { endpoint, .. } => *endpoint,
            other => panic!("expected Send, got {other:?}"),
        }
    }

    #[test]
    fn url_matches_the_documented_account_import_request() {
        let url = account_import_url(
            "https://console.tim.qq.com",
            88888888,
            "admin",
            "eJx*-_",
            99999999,
        );
        assert_eq!(
            url,
            "https://console.tim.qq.com/v4/im_open_login_svc/account_import?sdkappid=88888888&identifier=admin&usersig=eJx*-_&random=99999999&contenttype=json"
        );
        assert!(
            account_import_url("http://h", 1, "a b&c", "s", 0).contains("identifier=a%20b%26c&")
        );
        // Anything outside the UserSig alphabet is still escaped.
        assert!(account_import_url("http://h", 1, "a", "x&y=", 0).contains("usersig=x%26y%3D&"));
    }

    #[test]
    fn body_omits_absent_profile_fields() {
        let r = ImportRequest {
            user_id: "test".into(),
            nick: Some("test".into()),
            face_url: Some("http://www.qq.com".into()),
        };
        assert_eq!(
            r.to_json(),
            r#"{"UserID":"test","Nick":"test","FaceUrl":"http://www.qq.com"}"#
        );
        let r = ImportRequest {
            user_id: "u\"1".into(),
            nick: None,
            face_url: None,
        };
        assert_eq!(r.to_json(), r#"{"UserID":"u\"1"}"#);
    }

    #[test]
    fn batch_bodies_and_fail_accounts() {
        let a = ImportRequest {
            user_id: "a".into(),
            nick: Some("A".into()),
            face_url: None,
        };
        let b = ImportRequest {
            user_id: "b".into(),
            nick: None,
            face_url: Some("https://x/b.png".into()),
        };
        assert_eq!(
            multiaccount_import_body(&[a, b]),
            r#"{"AccountList":[{"UserID":"a","Nick":"A"},{"UserID":"b","FaceUrl":"https://x/b.png"}]}"#
        );
        let r = parse_reply(
            200,
            br#"{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","FailAccounts":["b",7]}"#,
        );
        assert_eq!(
            (r.outcome, r.fail_accounts),
            (Ok(Answer::Ok), vec!["b".to_owned()])
        );
        let r = parse_reply(
            200,
            br#"{"ActionStatus":"FAIL","ErrorCode":70402,"ErrorInfo":"x","FailAccounts":["b"]}"#,
        );
        assert!(r.fail_accounts.is_empty());
        assert_eq!(Quota::of(MULTIACCOUNT_IMPORT_PATH), Quota::Batch);
        assert_eq!(Quota::of(ACCOUNT_DELETE_PATH), Quota::Batch);
        let r = parse_reply(
            200,
            br#"{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","ResultItem":[{"ResultCode":0,"UserID":"a"},{"ResultCode":70107,"UserID":"b"},{"ResultCode":70500,"UserID":"c"}]}"#,
        );
        assert_eq!(r.fail_accounts, vec!["c".to_owned()]);
        assert_eq!(
            portrait_set_body("u", Some("N"), None),
            r#"{"From_Account":"u","ProfileItem":[{"Tag":"Tag_Profile_IM_Nick","Value":"N"}]}"#
        );
        assert_eq!(kick_body("u"), r#"{"UserID":"u"}"#);
        assert_eq!(
            account_delete_body(&["a", "b"]),
            r#"{"DeleteItem":[{"UserID":"a"},{"UserID":"b"}]}"#
        );
        assert_eq!(Quota::of(ACCOUNT_IMPORT_PATH).calls_per_second(), 200);
    }

    #[test]
    fn responses_parse_into_answers_or_transport_errors() {
        assert_eq!(
            parse_response(
                200,
                br#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}"#
            ),
            Ok(Answer::Ok)
        );
        assert_eq!(
            parse_response(
                200,
                br#"{"ActionStatus":"FAIL","ErrorInfo":"x","ErrorCode":70402}"#
            ),
            Ok(Answer::Fail {
                code: 70402,
                info: "x".into()
            })
        );
        assert_eq!(
            parse_response(502, b"<html>"),
            Err(TransportError::Status(502))
        );
        assert_eq!(
            parse_response(200, b"{\"ActionStatus\":\"OK\",\"Err"),
            Err(TransportError::NotJson)
        );
        assert_eq!(parse_response(200, b"[]"), Err(TransportError::NotJson));
        assert_eq!(
            parse_response(200, br#"{"ActionStatus":"FAIL","ErrorCode":0}"#),
            Err(TransportError::NotJson)
        );
        assert_eq!(parse_response(200, b""), Err(TransportError::NotJson));
    }

    #[test]
    fn every_account_import_and_public_code_has_a_class() {
        use ErrorClass::*;
        for c in [40006, 70169, 70500, 70202, 60008, 90992] {
            assert_eq!(classify(c), Transient, "{c}");
        }
        for c in [40601, 70402] {
            assert_eq!(classify(c), Payload, "{c}");
        }
        for c in [
            70398, 70403, 70009, 70013, 70014, 70003, 60020, 72000, 70051, 60021, 12345,
        ] {
            assert_eq!(classify(c), Operator, "{c}");
        }
        for c in [70016, 70020, 60006] {
            assert_eq!(classify(c), WrongDataCentre, "{c}");
        }
        assert_eq!(classify(70001), SigExpired);
        assert_eq!(classify(70050), RateLimited { retry_after_s: 60 });
        assert_eq!(classify(60007), RateLimited { retry_after_s: 1 });
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff_ms(1, 0), 50);
        assert_eq!(p.backoff_ms(1, 50), 100);
        assert_eq!(p.backoff_ms(3, 0), 200);
        assert!(p.backoff_ms(30, u32::MAX) <= 2_000);
        assert!(p.backoff_ms(30, 0) >= 1_000);
    }

    fn base() -> Vec<Endpoint> {
        endpoints(
            RegionSetting::Auto,
            Some("http://127.0.0.1:1"),
            &EdgeLocation::default(),
            None,
        )
    }

    #[test]
    fn transient_errors_retry_then_succeed() {
        let mut run = ImportRun::new(RetryPolicy::default(), base(), 0);
        assert_eq!(send_idx(&run.start(0)), 0);
        let s = run.next(&fail(70169), 10, 0);
        assert!(matches!(
            s,
            Step::Send {
                endpoint: 0,
                delay_ms: 50,
                fresh_sig: false,
                ..
            }
        ));
        let s = run.next(&Err(TransportError::Status(502)), 100, 0);
        assert!(matches!(
            s,
            Step::Send {
                endpoint: 0,
                delay_ms: 100,
                ..
            }
        ));
        let s = run.next(&Err(TransportError::NotJson), 300, 0);
        assert!(matches!(
            s,
            Step::Send {
                endpoint: 0,
                delay_ms: 200,
                ..
            }
        ));
        assert_eq!(run.next(&Ok(Answer::Ok), 600, 0), Step::Done(Ok(0)));
    }

    #[test]
    fn retries_stop_at_the_attempt_cap_and_the_budget() {
        let mut run = ImportRun::new(RetryPolicy::default(), base(), 0);
        run.start(0);
        let mut last = Step::Done(Ok(0));
        for i in 0..10 {
            last = run.next(&fail(70500), i * 10, 0);
            if matches!(last, Step::Done(_)) {
                break;
            }
        }
        assert!(matches!(
            last,
            Step::Done(Err(ImportError::Unavailable {
                retry_after_s: 30,
                ..
            }))
        ));
        assert_eq!(run.attempts, RetryPolicy::default().max_attempts);

        let mut run = ImportRun::new(RetryPolicy::default(), base(), 0);
        run.start(0);
        let s = run.next(&Err(TransportError::Timeout), 9_000, 0);
        assert!(
            matches!(s, Step::Done(Err(ImportError::Unavailable { .. }))),
            "{s:?}"
        );
        // Timeouts shrink to what the budget has left.
        let mut run = ImportRun::new(RetryPolicy::default(), base(), 0);
        run.start(0);
        match run.next(&Err(TransportError::Timeout), 7_000, 0) {
            Step::Send {
                timeout_ms,
                delay_ms,
                ..
            } => assert_eq!(timeout_ms + delay_ms, 3_000),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn payload_and_operator_errors_stop_at_once() {
        let mut run = ImportRun::new(RetryPolicy::default(), base(), 0);
        run.start(0);
        assert!(matches!(
            run.next(&fail(40601), 1, 0),
            Step::Done(Err(ImportError::Rejected { code: 40601, .. }))
        ));
        let mut run = ImportRun::new(RetryPolicy::default(), base(), 0);
        run.start(0);
        assert!(matches!(
            run.next(&fail(70009), 1, 0),
            Step::Done(Err(ImportError::Operator { code: 70009, .. }))
        ));
    }

    #[test]
    fn expired_sig_is_resigned_once() {
        let mut run = ImportRun::new(RetryPolicy::default(), base(), 0);
        run.start(0);
        assert!(matches!(
            run.next(&fail(70001), 1, 0),
            Step::Send {
                fresh_sig: true,
                delay_ms: 0,
                ..
            }
        ));
        assert!(matches!(
            run.next(&fail(70001), 2, 0),
            Step::Done(Err(ImportError::Operator { code: 70001, .. }))
        ));
    }

    #[test]
    fn rate_limits_wait_and_report_retry_after() {
        let mut run = ImportRun::new(RetryPolicy::default(), base(), 0);
        run.start(0);
        assert!(matches!(
            run.next(&fail(60007), 1, 0),
            Step::Send {
                delay_ms: 1_000,
                ..
            }
        ));
        let mut run = ImportRun::new(RetryPolicy::default(), base(), 0);
        run.start(0);
        assert!(matches!(
            run.next(&fail(70050), 1, 0),
            Step::Done(Err(ImportError::Unavailable {
                retry_after_s: 60,
                ..
            }))
        ));
    }

    #[test]
    fn auto_walks_data_centres_on_wrong_region_and_network_errors() {
        let berlin = EdgeLocation {
            latitude: Some(52.5),
            longitude: Some(13.4),
            ..Default::default()
        };
        let eps = endpoints(RegionSetting::Auto, None, &berlin, None);
        let mut run = ImportRun::new(RetryPolicy::default(), eps.clone(), 0);
        assert_eq!(send_idx(&run.start(0)), 0); // Frankfurt primary
        let s = run.next(&fail(70020), 1, 0);
        let i = send_idx(&s);
        assert_eq!(i, 2, "skips Frankfurt's backup");
        assert_ne!(eps[i].region, Some(Region::Frankfurt));
        // A network error goes to this region's backup without waiting.
        let s = run.next(&Err(TransportError::Network("dns".into())), 2, 0);
        assert!(matches!(
            s,
            Step::Send {
                endpoint: 3,
                delay_ms: 0,
                ..
            }
        ));
        assert_eq!(run.next(&Ok(Answer::Ok), 3, 0), Step::Done(Ok(3)));
    }

    #[test]
    fn auto_gives_up_when_every_region_disowns_the_app() {
        let eps = endpoints(RegionSetting::Auto, None, &EdgeLocation::default(), None);
        let policy = RetryPolicy {
            max_attempts: 20,
            ..Default::default()
        };
        let mut run = ImportRun::new(policy, eps, 0);
        let mut step = run.start(0);
        let mut n = 0;
        while let Step::Send { .. } = step {
            step = run.next(&fail(70016), 1, 0);
            n += 1;
        }
        assert_eq!(n, 7, "one call per data centre");
        match step {
            Step::Done(Err(ImportError::WrongRegion { code: 70016, tried })) => {
                assert_eq!(tried.len(), 7)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fixed_region_never_leaves_its_data_centre() {
        let eps = endpoints(
            RegionSetting::Fixed(Region::Tokyo),
            None,
            &EdgeLocation::default(),
            None,
        );
        let mut run = ImportRun::new(RetryPolicy::default(), eps, 0);
        run.start(0);
        assert!(matches!(
            run.next(&fail(70020), 1, 0),
            Step::Done(Err(ImportError::WrongRegion { .. }))
        ));
        let eps = endpoints(
            RegionSetting::Fixed(Region::Tokyo),
            None,
            &EdgeLocation::default(),
            None,
        );
        let mut run = ImportRun::new(RetryPolicy::default(), eps.clone(), 0);
        run.start(0);
        let s = run.next(&Err(TransportError::Network("x".into())), 1, 0);
        assert!(matches!(
            s,
            Step::Send {
                endpoint: 1,
                delay_ms: 0,
                ..
            }
        ));
        assert!(eps[1].backup);
        // Back to the primary after a pause.
        let s = run.next(&Err(TransportError::Timeout), 2, 0);
        assert!(
            matches!(
                s,
                Step::Send {
                    endpoint: 0,
                    delay_ms: 50,
                    ..
                }
            ),
            "{s:?}"
        );
    }
}
