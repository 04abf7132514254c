use crate::handle;
use crate::test_support::*;

#[test]
fn faults_endpoint() {
    let mut st = state_with(|c| c.faults.latency_ms = 7);
    let r = set_faults(
        &mut st,
        r#"{"latency_ms":0,"http502_rate":0.0,"malformed_rate":0.0,"codes":{"70169":0.5},"script":["502","70169","malformed","latency:5000","ok"]}"#,
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        doc(&r),
        serde_json::json!({"latency_ms":0,"http502_rate":0.0,"malformed_rate":0.0,"codes":{"70169":0.5},"script":["502","70169","malformed","latency:5000","ok"],"fail_accounts_rate":0.0,"apis":null})
    );
    // An empty object replaces everything, including the flag's latency.
    let r = set_faults(&mut st, "{}");
    assert_eq!(doc(&r)["latency_ms"], 0);
    for bad in [
        "",
        "nope",
        "[]",
        r#"{"http502_rate":1.5}"#,
        r#"{"http502_rate":"0.5"}"#,
        r#"{"http502_rate":0.6,"malformed_rate":0.6}"#,
        r#"{"codes":{"abc":0.5}}"#,
        r#"{"codes":{"0":0.5}}"#,
        r#"{"codes":{"502":0.5}}"#,
        r#"{"script":["boom"]}"#,
        r#"{"script":["latency:x"]}"#,
        r#"{"script":"502"}"#,
        r#"{"latency_ms":-1}"#,
        r#"{"typo":1}"#,
    ] {
        let r = set_faults(&mut st, bad);
        assert_eq!(r.status, 400, "{bad}");
        assert!(doc(&r)["error"].is_string());
    }
    assert_eq!(get(&mut st, "/_emulator/faults")["latency_ms"], 0);
}

#[test]
fn reset_restores_flag_defaults() {
    let mut st = state_with(|c| c.faults.latency_ms = 9);
    import(&mut st, BODY);
    set_faults(&mut st, r#"{"http502_rate":1}"#);
    import(&mut st, BODY);
    let r = handle(&mut st, "POST", "/_emulator/reset", b"", NOW_MS);
    assert_eq!((r.status, doc(&r)), (200, serde_json::json!({"ok":true})));
    assert!(st.accounts().is_empty());
    assert_eq!(st.total_calls(), 0);
    assert_eq!(st.faults().latency_ms, 9);
    assert_eq!(st.faults().http502_rate, 0.0);
    let r = import(&mut st, BODY);
    assert_eq!((code(&r), r.delay_ms), (0, 9));
}

#[test]
fn health_and_404() {
    let mut st = state();
    assert_eq!(
        get(&mut st, "/_emulator/health"),
        serde_json::json!({"ok":true,"sdkappid":1400000000u64})
    );
    for (m, p) in [
        ("GET", "/"),
        ("GET", "/_emulator/reset"),
        ("DELETE", "/_emulator/accounts"),
        ("GET", "/v5/x"),
    ] {
        let r = handle(&mut st, m, p, b"", NOW_MS);
        assert_eq!(r.status, 404, "{m} {p}");
        assert_eq!(r.content_type, "application/json");
        assert!(doc(&r)["error"].is_string());
    }
}

#[test]
fn jwks_served_verbatim_when_given() {
    let text = "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"k1\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}\n";
    let mut st = state_with(|c| c.jwks = Some(text.to_owned()));
    let r = handle(&mut st, "GET", "/_emulator/jwks", b"", NOW_MS);
    assert_eq!((r.status, r.content_type), (200, "application/json"));
    assert_eq!((r.body.as_slice(), r.delay_ms), (text.as_bytes(), 0));
    // A query string (a cache buster) does not matter, and a reset does not forget the keys.
    let r = handle(&mut st, "GET", "/_emulator/jwks?t=1", b"", NOW_MS);
    assert_eq!(r.body, text.as_bytes());
    handle(&mut st, "POST", "/_emulator/reset", b"", NOW_MS);
    let r = handle(&mut st, "GET", "/_emulator/jwks", b"", NOW_MS);
    assert_eq!(r.body, text.as_bytes());
    // Read-only, like the other GET endpoints.
    let r = handle(&mut st, "POST", "/_emulator/jwks", b"{}", NOW_MS);
    assert_eq!(r.status, 404);
    // Injected latency is for Tencent's API only.
    set_faults(&mut st, r#"{"latency_ms":500}"#);
    assert_eq!(
        handle(&mut st, "GET", "/_emulator/jwks", b"", NOW_MS).delay_ms,
        0
    );
}

#[test]
fn jwks_is_404_without_the_flag() {
    let mut st = state();
    let r = handle(&mut st, "GET", "/_emulator/jwks", b"", NOW_MS);
    assert_eq!((r.status, r.content_type), (404, "application/json"));
    assert!(doc(&r)["error"].is_string());
}
