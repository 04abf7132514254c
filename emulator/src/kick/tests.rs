use crate::test_support::*;
use crate::{handle, Api, State};
use serde_json::json;

fn kick(st: &mut State, body: &str) -> u64 {
    code(&call(st, Api::Kick, body))
}

#[test]
fn kick_records_the_time_and_answers_ok() {
    let mut st = state();
    seed_accounts(&mut st, &["test"]);
    let r = call(&mut st, Api::Kick, r#"{"UserID":"test"}"#);
    assert_eq!(
        r.body,
        br#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}"#
    );
    assert_eq!(
        get(&mut st, "/_emulator/kicks"),
        json!({"kicks":[{"UserID":"test","kicked_at":NOW,"kicks":1}]})
    );
    let r = call_at(&mut st, Api::Kick, r#"{"UserID":"test"}"#, NOW_MS + 5_500);
    assert_eq!(code(&r), 0);
    assert_eq!(
        get(&mut st, "/_emulator/kicks")["kicks"][0],
        json!({"UserID":"test","kicked_at":NOW + 5,"kicks":2})
    );
    // A kick changes nothing in the account list.
    assert_eq!(st.accounts().first().map(|a| a.imports), Some(1));
    handle(&mut st, "POST", "/_emulator/reset", b"", NOW_MS);
    assert_eq!(get(&mut st, "/_emulator/kicks"), json!({"kicks":[]}));
}

#[test]
fn e70107_unknown_account() {
    let mut st = state();
    seed_accounts(&mut st, &["test"]);
    assert_eq!(kick(&mut st, r#"{"UserID":"nobody"}"#), 70107);
    let d = doc(&call(&mut st, Api::Kick, r#"{"UserID":"nobody"}"#));
    assert_eq!(d["ErrorInfo"], "The requested UserID does not exist.");
    // The admin is not an imported account either.
    assert_eq!(kick(&mut st, r#"{"UserID":"administrator"}"#), 70107);
    assert!(st.kicks().is_empty());
    // Deleted accounts are unknown.
    let delete = r#"{"DeleteItem":[{"UserID":"test"}]}"#;
    assert_eq!(code(&call(&mut st, Api::AccountDelete, delete)), 0);
    assert_eq!(kick(&mut st, r#"{"UserID":"test"}"#), 70107);
}

#[test]
fn e70402_bad_user_id_and_e60003_bad_body() {
    let mut st = state();
    let long = format!(r#"{{"UserID":"{}"}}"#, "a".repeat(33));
    for body in [
        "{}",
        r#"{"Identifier":"test"}"#,
        r#"{"UserID":""}"#,
        r#"{"UserID":7}"#,
        r#"{"UserID":["test"]}"#,
        &long,
    ] {
        assert_eq!(kick(&mut st, body), 70402, "{body}");
    }
    for body in ["", "test", "[\"test\"]"] {
        assert_eq!(kick(&mut st, body), 60003, "{body:?}");
    }
    assert!(st.kicks().is_empty());
}
