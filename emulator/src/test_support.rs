//! Helpers shared by the handler tests: a state, signed URLs, and reply decoding.

pub(crate) use crate::usersig::testgen::generate;
use crate::{handle, Api, Config, Reply, State, ACCOUNT_IMPORT_PATH, DEFAULT_ADMIN};
use crate::{DEFAULT_SDKAPPID, DEFAULT_SECRET_KEY};
use serde_json::Value;

pub(crate) const KEY: &str = DEFAULT_SECRET_KEY;
pub(crate) const APP: u64 = DEFAULT_SDKAPPID;
/// Aligned on a second so that a whole rate window starts here.
pub(crate) const NOW_MS: u64 = 1_700_000_000_000;
pub(crate) const NOW: i64 = 1_700_000_000;
pub(crate) const ADMIN: &str = DEFAULT_ADMIN;
pub(crate) const BODY: &str = r#"{"UserID":"alice","Nick":"Alice","FaceUrl":"http://x/a.png"}"#;

pub(crate) fn state() -> State {
    State::new(Config::default(), 7)
}

pub(crate) fn state_with(f: impl FnOnce(&mut Config)) -> State {
    let mut cfg = Config::default();
    f(&mut cfg);
    State::new(cfg, 7)
}

pub(crate) fn sig(identifier: &str) -> String {
    generate(APP, KEY, identifier, NOW - 10, 86_400, None)
}

pub(crate) fn url_with(pairs: &[(&str, &str)]) -> String {
    let q: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{ACCOUNT_IMPORT_PATH}?{}", q.join("&"))
}

pub(crate) fn url_for(identifier: &str, usersig: &str) -> String {
    url_with(&[
        ("sdkappid", "1400000000"),
        ("identifier", identifier),
        ("usersig", usersig),
        ("random", "12345"),
        ("contenttype", "json"),
    ])
}

pub(crate) fn admin_url() -> String {
    url_for(ADMIN, &sig(ADMIN))
}

/// The admin URL with one parameter replaced (`None` = removed).
pub(crate) fn admin_url_with(name: &str, value: Option<&str>) -> String {
    let s = sig(ADMIN);
    let mut pairs: Vec<(&str, &str)> = vec![
        ("sdkappid", "1400000000"),
        ("identifier", ADMIN),
        ("usersig", &s),
        ("random", "12345"),
        ("contenttype", "json"),
    ];
    pairs.retain(|(k, _)| *k != name);
    if let Some(v) = value {
        pairs.push((name, v));
    }
    url_with(&pairs)
}

pub(crate) fn post(st: &mut State, url: &str, body: &str) -> Reply {
    handle(st, "POST", url, body.as_bytes(), NOW_MS)
}

pub(crate) fn import(st: &mut State, body: &str) -> Reply {
    post(st, &admin_url(), body)
}

pub(crate) fn doc(reply: &Reply) -> Value {
    serde_json::from_slice(&reply.body).expect("reply is JSON")
}

/// The ErrorCode of a Tencent reply, after checking the reply's shape.
pub(crate) fn code(reply: &Reply) -> u64 {
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.content_type, "application/json");
    let d = doc(reply);
    let c = d["ErrorCode"].as_u64().expect("ErrorCode");
    assert_eq!(d["ActionStatus"], if c == 0 { "OK" } else { "FAIL" });
    assert!(d["ErrorInfo"].is_string());
    c
}

pub(crate) fn get(st: &mut State, path: &str) -> Value {
    let r = handle(st, "GET", path, b"", NOW_MS);
    assert_eq!(r.status, 200);
    doc(&r)
}

pub(crate) fn set_faults(st: &mut State, json: &str) -> Reply {
    handle(st, "POST", "/_emulator/faults", json.as_bytes(), NOW_MS)
}

/// The admin URL of `api`, every parameter valid.
pub(crate) fn api_url(api: Api) -> String {
    admin_url().replacen(ACCOUNT_IMPORT_PATH, api.path(), 1)
}

/// `url` (made for account_import) pointed at `api` instead.
pub(crate) fn for_api(api: Api, url: &str) -> String {
    url.replacen(ACCOUNT_IMPORT_PATH, api.path(), 1)
}

/// One admin call of `api` at `NOW_MS`.
pub(crate) fn call(st: &mut State, api: Api, body: &str) -> Reply {
    post(st, &api_url(api), body)
}

/// One admin call of `api` at `now_ms`.
pub(crate) fn call_at(st: &mut State, api: Api, body: &str, now_ms: u64) -> Reply {
    handle(st, "POST", &api_url(api), body.as_bytes(), now_ms)
}

/// The ErrorCode of a reply (shape checked as by [`code`]) and its JSON document.
pub(crate) fn code_doc(reply: &Reply) -> (u64, Value) {
    (code(reply), doc(reply))
}

/// Imports these UserIDs with account_import (no profile).
pub(crate) fn seed_accounts(st: &mut State, ids: &[&str]) {
    for id in ids {
        let r = import(st, &format!(r#"{{"UserID":"{id}"}}"#));
        assert_eq!(code(&r), 0, "import {id}");
    }
}

/// The UserIDs of `/_emulator/accounts`, in order.
pub(crate) fn account_ids(st: &State) -> Vec<String> {
    st.accounts().iter().map(|a| a.user_id.clone()).collect()
}
