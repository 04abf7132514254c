//! What every Tencent REST API the emulator implements has in common: Tencent's checks in
//! Tencent's order, the per-API rate limit, the injected fault, the answer and the call log.
//!
//! The common request format is <https://www.tencentcloud.com/document/product/1047/34620>; the
//! per-API limits are the "Maximum call frequency" of each API's page. The order of the checks
//! decides which ErrorCode a request with several problems gets, and which calls count towards
//! the rate limit, so it is kept in one place: [`check_request`], then the API's own handler.

use crate::faults::FaultAction;
use crate::query::{parse_decimal_u64, parse_query};
use crate::reply::Reply;
use crate::state::{CallRecord, State};
use crate::tencent::{fail, tencent_reply_with, truncated_body, Fail};
use crate::{account_batch, account_import, kick, multiaccount_import, profile, usersig};
use serde::Serialize;
use serde_json::Value;

/// One Tencent REST API the emulator implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    /// `v4/im_open_login_svc/account_import` (1047/34953).
    AccountImport,
    /// `v4/im_open_login_svc/multiaccount_import` (1047/34954).
    MultiaccountImport,
    /// `v4/im_open_login_svc/account_check` (1047/34956).
    AccountCheck,
    /// `v4/im_open_login_svc/account_delete` (1047/34955).
    AccountDelete,
    /// `v4/im_open_login_svc/kick` (1047/34957).
    Kick,
    /// `v4/profile/portrait_set` (1047/34916).
    PortraitSet,
    /// `v4/profile/portrait_get` (1047/34917).
    PortraitGet,
}

impl Api {
    /// Every implemented API, in the order the stats list them.
    pub const ALL: [Api; 7] = [
        Api::AccountImport,
        Api::MultiaccountImport,
        Api::AccountCheck,
        Api::AccountDelete,
        Api::Kick,
        Api::PortraitSet,
        Api::PortraitGet,
    ];

    /// The URL path, `/v4/<service>/<command>`.
    pub fn path(self) -> &'static str {
        match self {
            Api::AccountImport => "/v4/im_open_login_svc/account_import",
            Api::MultiaccountImport => "/v4/im_open_login_svc/multiaccount_import",
            Api::AccountCheck => "/v4/im_open_login_svc/account_check",
            Api::AccountDelete => "/v4/im_open_login_svc/account_delete",
            Api::Kick => "/v4/im_open_login_svc/kick",
            Api::PortraitSet => "/v4/profile/portrait_set",
            Api::PortraitGet => "/v4/profile/portrait_get",
        }
    }

    /// The command name, as the call log, the stats and `"apis"` in the faults name it.
    pub fn name(self) -> &'static str {
        match self {
            Api::AccountImport => "account_import",
            Api::MultiaccountImport => "multiaccount_import",
            Api::AccountCheck => "account_check",
            Api::AccountDelete => "account_delete",
            Api::Kick => "kick",
            Api::PortraitSet => "portrait_set",
            Api::PortraitGet => "portrait_get",
        }
    }

    /// The API with this path, if the emulator implements it.
    pub fn from_path(path: &str) -> Option<Api> {
        Api::ALL.into_iter().find(|api| api.path() == path)
    }

    /// The API with this command name.
    pub fn from_name(name: &str) -> Option<Api> {
        Api::ALL.into_iter().find(|api| api.name() == name)
    }

    /// Tencent limits these to 100 calls/s and the others to 200 ("Up to 100 times/second:
    /// importing multiple accounts, deleting accounts and querying accounts"), so they follow
    /// `--batch-rate-limit` rather than `--rate-limit`.
    pub fn is_batch(self) -> bool {
        matches!(
            self,
            Api::MultiaccountImport | Api::AccountCheck | Api::AccountDelete
        )
    }

    /// The profile service answers a non-admin with its own code (40004) and adds
    /// `ErrorDisplay` to every answer; the login service uses the public 70403.
    fn is_profile(self) -> bool {
        matches!(self, Api::PortraitSet | Api::PortraitGet)
    }
}

/// What an API's handler made of a call that passed the common checks.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// The error, if the call failed as a whole.
    pub(crate) fail: Option<Fail>,
    /// The API's own answer fields, in order; sent with a failure too when set.
    pub(crate) extra: Vec<(&'static str, Value)>,
    /// multiaccount_import's FailAccounts, for the call log.
    pub(crate) fail_accounts: Option<Vec<String>>,
}

impl Outcome {
    /// Success with the API's own fields.
    pub(crate) fn ok(extra: Vec<(&'static str, Value)>) -> Self {
        Outcome {
            extra,
            ..Outcome::default()
        }
    }

    /// A failure of the whole call, with only the common fields.
    pub(crate) fn fail(f: Fail) -> Self {
        Outcome {
            fail: Some(f),
            ..Outcome::default()
        }
    }
}

impl From<Result<(), Fail>> for Outcome {
    fn from(result: Result<(), Fail>) -> Self {
        match result {
            Ok(()) => Outcome::default(),
            Err(f) => Outcome::fail(f),
        }
    }
}

/// Answers one call of `api`: checks, then the fault for it, then the API; every call is logged.
pub(crate) fn serve(
    state: &mut State,
    api: Api,
    method: &str,
    query: &str,
    body: &[u8],
    now_ms: u64,
) -> Reply {
    // Read before the fault is drawn: a scripted latency replaces the base latency, not adds to it.
    let faults = state.faults();
    let base_delay = if faults.applies_to(api) {
        faults.latency_ms
    } else {
        0
    };
    let user_id = logged_user_id(api, body);
    state.count_call(api);
    // Faults hit only calls that passed authentication, so a script is not used up by bad calls.
    let (outcome, fault) = match check_request(state, api, method, query, now_ms) {
        Err(f) => (Outcome::fail(f), FaultAction::Ok),
        Ok(()) => {
            let fault = state.next_fault(api);
            let outcome = match fault {
                FaultAction::Http502 => Outcome::default(),
                FaultAction::Code(code) => Outcome::fail(fail(code, "injected by tim-emulator")),
                FaultAction::Ok
                | FaultAction::Latency(_)
                | FaultAction::Malformed
                | FaultAction::FailAccounts => dispatch(state, api, body, now_ms, fault),
            };
            (outcome, fault)
        }
    };
    let delay_ms = match fault {
        FaultAction::Latency(ms) => ms,
        _ => base_delay,
    };
    let (reply, error_code) = answer(api, &outcome, fault, delay_ms);
    state.record(CallRecord {
        api,
        user_id,
        error_code,
        http_status: reply.status,
        fault: (fault != FaultAction::Ok).then(|| fault.name()),
        fail_accounts: outcome.fail_accounts,
    });
    reply
}

/// The API's own work, once the request passed the common checks and drew no blocking fault.
fn dispatch(state: &mut State, api: Api, body: &[u8], now_ms: u64, fault: FaultAction) -> Outcome {
    match api {
        Api::AccountImport => account_import::import(state, body, now_ms).into(),
        Api::MultiaccountImport => multiaccount_import::import(state, body, now_ms, fault),
        Api::AccountCheck => account_batch::check(state, body),
        Api::AccountDelete => account_batch::delete(state, body, now_ms),
        Api::Kick => kick::kick(state, body, now_ms).into(),
        Api::PortraitSet => profile::set(state, body),
        Api::PortraitGet => profile::get(state, body),
    }
}

/// The reply for a call's outcome and fault, with the ErrorCode to log (none for a 502).
fn answer(api: Api, outcome: &Outcome, fault: FaultAction, delay_ms: u64) -> (Reply, Option<u32>) {
    if fault == FaultAction::Http502 {
        return (Reply::bad_gateway(delay_ms), None);
    }
    let (code, info) = match &outcome.fail {
        None => (0, ""),
        Some(f) => (f.code, f.info.as_str()),
    };
    let mut extra = outcome.extra.clone();
    if api.is_profile() {
        extra.push(("ErrorDisplay", Value::String(String::new())));
    }
    let mut reply = tencent_reply_with(code, info, &extra);
    if fault == FaultAction::Malformed {
        reply.body = truncated_body(code);
    }
    reply.delay_ms = delay_ms;
    (reply, Some(code))
}

/// The one account a call is about, for the call log: `UserID` of account_import and kick,
/// `From_Account` of portrait_set; none for the APIs that take lists.
fn logged_user_id(api: Api, body: &[u8]) -> Option<String> {
    let field = match api {
        Api::AccountImport | Api::Kick => "UserID",
        Api::PortraitSet => "From_Account",
        _ => return None,
    };
    if body.len() > account_import::MAX_BODY_BYTES {
        return None;
    }
    let doc: Value = serde_json::from_slice(body).ok()?;
    doc.get(field)?.as_str().map(str::to_owned)
}

pub(crate) fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Steps 1-6: method, query parameters, SDKAppID, rate limit, UserSig, admin.
fn check_request(
    state: &mut State,
    api: Api,
    method: &str,
    query: &str,
    now_ms: u64,
) -> Result<(), Fail> {
    if method != "POST" {
        return Err(fail(60002, "the method must be POST"));
    }
    let params = parse_query(query).map_err(|d| fail(60002, &d))?;
    check_sdkappid(state, param(&params, "sdkappid"))?;
    // Only calls that name this app count towards its limit; a refused call is a breach.
    if state.over_rate_limit(api, now_ms) {
        state.count_breach(api);
        let limit = state.rate_limit(api);
        return Err(fail(
            60007,
            &format!("{} allows {limit} calls per second", api.name()),
        ));
    }
    let identifier = param(&params, "identifier")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| fail(60004, "identifier is missing"))?;
    let usersig = param(&params, "usersig")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| fail(70002, ""))?;
    param(&params, "random")
        .and_then(parse_decimal_u64)
        .filter(|&r| r <= u64::from(u32::MAX))
        .ok_or_else(|| fail(60002, "random must be an integer within 0..=4294967295"))?;
    if param(&params, "contenttype") != Some("json") {
        return Err(fail(60002, "contenttype must be json"));
    }
    let config = state.config();
    let now_secs = i64::try_from(now_ms / 1000).unwrap_or(i64::MAX);
    usersig::verify(
        config.sdkappid,
        &config.secret_key,
        identifier,
        usersig,
        now_secs,
    )
    .map_err(|refusal| fail(refusal.error_code(), ""))?;
    if !config.admins.iter().any(|a| a == identifier) {
        let code = if api.is_profile() { 40004 } else { 70403 };
        return Err(fail(code, ""));
    }
    Ok(())
}

/// Step 2: the SDKAppID is present, a number, and this app's.
fn check_sdkappid(state: &State, sdkappid: Option<&str>) -> Result<(), Fail> {
    let sdkappid = match sdkappid {
        None | Some("") => return Err(fail(60012, "")),
        Some(s) => s,
    };
    let sdkappid = parse_decimal_u64(sdkappid)
        .ok_or_else(|| fail(60006, "sdkappid is not an unsigned integer"))?;
    if sdkappid != state.config().sdkappid {
        return Err(fail(70020, ""));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
