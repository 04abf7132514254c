use crate::test_support::*;
use crate::{Account, Api, State};
use serde_json::{json, Value};

fn multi(st: &mut State, body: &str) -> (u64, Value) {
    let r = call(st, Api::MultiaccountImport, body);
    code_doc(&r)
}

fn fail_accounts(d: &Value) -> Vec<String> {
    d["FailAccounts"]
        .as_array()
        .expect("FailAccounts")
        .iter()
        .map(|v| v.as_str().unwrap_or("?").to_owned())
        .collect()
}

fn account(id: &str, nick: Option<&str>, face: Option<&str>, imports: u64) -> Account {
    Account {
        user_id: id.into(),
        nick: nick.map(Into::into),
        face_url: face.map(Into::into),
        imports,
    }
}

#[test]
fn legacy_form_success_body_is_exact() {
    let mut st = state();
    let r = call(
        &mut st,
        Api::MultiaccountImport,
        r#"{"Accounts":["a","b","c"]}"#,
    );
    assert_eq!(
        r.body,
        br#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0,"FailAccounts":[]}"#
    );
    assert_eq!(
        st.accounts(),
        &[
            account("a", None, None, 1),
            account("b", None, None, 1),
            account("c", None, None, 1)
        ]
    );
}

#[test]
fn account_list_form_imports_and_updates_profiles() {
    let mut st = state();
    assert_eq!(
        code(&import(
            &mut st,
            r#"{"UserID":"old","Nick":"Old","FaceUrl":"u0"}"#
        )),
        0
    );
    let body = r#"{"AccountList":[
        {"UserID":"old","Nick":"Renamed"},
        {"UserID":"new","Nick":"New","FaceUrl":"http://x/n.png"},
        {"UserID":"bare"}
    ]}"#;
    let (c, d) = multi(&mut st, body);
    assert_eq!((c, fail_accounts(&d)), (0, vec![]));
    assert_eq!(
        st.accounts(),
        &[
            // FaceUrl not given: kept.
            account("old", Some("Renamed"), Some("u0"), 2),
            account("new", Some("New"), Some("http://x/n.png"), 1),
            account("bare", None, None, 1),
        ]
    );
    // The legacy form carries no profile, so it changes none.
    let (c, _) = multi(&mut st, r#"{"Accounts":["new"]}"#);
    assert_eq!(c, 0);
    assert_eq!(
        st.accounts().get(1),
        Some(&account("new", Some("New"), Some("http://x/n.png"), 2))
    );
    // Shown by /_emulator/accounts like any import.
    let accounts = get(&mut st, "/_emulator/accounts");
    assert_eq!(accounts["accounts"][0]["Nick"], "Renamed");
}

#[test]
fn a_hundred_accounts_are_allowed() {
    let mut st = state();
    let ids: Vec<String> = (0..100).map(|i| format!("u{i}")).collect();
    let (c, d) = multi(&mut st, &json!({ "Accounts": ids }).to_string());
    assert_eq!((c, fail_accounts(&d).len()), (0, 0));
    assert_eq!(st.accounts().len(), 100);
    let list: Vec<Value> = (0..100)
        .map(|i| json!({"UserID": format!("v{i}")}))
        .collect();
    let (c, _) = multi(&mut st, &json!({ "AccountList": list }).to_string());
    assert_eq!(c, 0);
    assert_eq!(st.accounts().len(), 200);
}

#[test]
fn e70402_for_a_bad_list() {
    let mut st = state();
    let hundred_and_one: Vec<String> = (0..101).map(|i| format!("u{i}")).collect();
    let bodies = [
        "{}".to_owned(),
        r#"{"UserID":"a"}"#.to_owned(),
        r#"{"Accounts":["a"],"AccountList":[{"UserID":"b"}]}"#.to_owned(),
        r#"{"Accounts":"a"}"#.to_owned(),
        r#"{"Accounts":null}"#.to_owned(),
        r#"{"Accounts":[]}"#.to_owned(),
        r#"{"AccountList":[]}"#.to_owned(),
        json!({ "Accounts": hundred_and_one }).to_string(),
        r#"{"Accounts":["a",7]}"#.to_owned(),
        r#"{"Accounts":[{"UserID":"a"}]}"#.to_owned(),
        r#"{"AccountList":["a"]}"#.to_owned(),
        r#"{"AccountList":[{"Nick":"n"}]}"#.to_owned(),
        r#"{"AccountList":[{"UserID":1}]}"#.to_owned(),
        r#"{"AccountList":[{"UserID":"a","Nick":5}]}"#.to_owned(),
        r#"{"AccountList":[{"UserID":"a","FaceUrl":null}]}"#.to_owned(),
        // The Identifier spelling of old docs is not UserID.
        r#"{"AccountList":[{"Identifier":"a"}]}"#.to_owned(),
    ];
    for body in &bodies {
        let (c, d) = multi(&mut st, body);
        assert_eq!(c, 70402, "{body}");
        // A malformed list is refused as a whole: no FailAccounts.
        assert!(d.get("FailAccounts").is_none(), "{body}: {d}");
    }
    assert!(st.accounts().is_empty());
}

#[test]
fn e60003_body_not_a_json_object() {
    let mut st = state();
    for bad in ["", "nope", "[]", r#"["a"]"#, "{\"Accounts\":"] {
        assert_eq!(multi(&mut st, bad).0, 60003, "{bad:?}");
    }
}

#[test]
fn bad_accounts_in_a_valid_list_land_in_fail_accounts() {
    let mut st = state();
    let long_id = "a".repeat(33);
    let euro_id = "€".repeat(11);
    let long = "n".repeat(501);
    let body = json!({"AccountList": [
        {"UserID": "ok1"},
        {"UserID": long_id},
        {"UserID": ""},
        {"UserID": euro_id},
        {"UserID": "nick", "Nick": long},
        {"UserID": "face", "FaceUrl": long},
        {"UserID": "edge", "Nick": "n".repeat(500), "FaceUrl": "f".repeat(500)},
        {"UserID": "b".repeat(32)},
    ]});
    let (c, d) = multi(&mut st, &body.to_string());
    assert_eq!(c, 0);
    assert_eq!(
        fail_accounts(&d),
        vec![
            long_id,
            String::new(),
            euro_id,
            "nick".into(),
            "face".into()
        ]
    );
    assert_eq!(
        account_ids(&st),
        vec!["ok1".to_owned(), "edge".into(), "b".repeat(32)]
    );
    // The same UserIDs in the legacy form.
    let (c, d) = multi(
        &mut st,
        &json!({"Accounts": ["ok2", "c".repeat(33)]}).to_string(),
    );
    assert_eq!((c, fail_accounts(&d)), (0, vec!["c".repeat(33)]));
}

#[test]
fn when_every_account_fails_alike_the_call_fails_with_that_code() {
    let mut st = state();
    let long = "n".repeat(501);
    let cases = [
        (json!({"Accounts": [""]}), 70402),
        (json!({"Accounts": ["a".repeat(33), "b".repeat(40)]}), 70402),
        (
            json!({"AccountList": [{"UserID": "x", "Nick": long}]}),
            40601,
        ),
        (
            json!({"AccountList": [{"UserID": "x", "Nick": long}, {"UserID": "y", "FaceUrl": long}]}),
            40601,
        ),
    ];
    for (body, want) in cases {
        let (c, d) = multi(&mut st, &body.to_string());
        assert_eq!(c, want, "{body}");
        assert_eq!(d["ActionStatus"], "FAIL");
        // FailAccounts is still there for a client that reads it.
        assert!(!fail_accounts(&d).is_empty(), "{d}");
    }
    // Different reasons, nothing imported: the call itself is OK.
    let body = json!({"AccountList": [{"UserID": ""}, {"UserID": "x", "Nick": long}]});
    let (c, d) = multi(&mut st, &body.to_string());
    assert_eq!((c, fail_accounts(&d).len()), (0, 2));
    assert!(st.accounts().is_empty());
}

#[test]
fn the_account_cap_mid_list() {
    let mut st = state_with(|c| c.account_cap = 3);
    seed_accounts(&mut st, &["old"]);
    let (c, d) = multi(&mut st, r#"{"Accounts":["n1","old","n2","n3","n4"]}"#);
    assert_eq!(
        (c, fail_accounts(&d)),
        (0, vec!["n3".to_owned(), "n4".into()])
    );
    assert_eq!(
        account_ids(&st),
        vec!["old".to_owned(), "n1".into(), "n2".into()]
    );
    // Full: existing accounts are still updated, new ones fail.
    let (c, d) = multi(
        &mut st,
        r#"{"AccountList":[{"UserID":"old","Nick":"O"},{"UserID":"n5"}]}"#,
    );
    assert_eq!((c, fail_accounts(&d)), (0, vec!["n5".to_owned()]));
    assert_eq!(
        st.accounts().first().and_then(|a| a.nick.clone()),
        Some("O".into())
    );
    // Only new accounts, all refused by the cap: 70398, like account_import.
    let (c, d) = multi(&mut st, r#"{"Accounts":["n6","n7"]}"#);
    assert_eq!(
        (c, fail_accounts(&d)),
        (70398, vec!["n6".to_owned(), "n7".into()])
    );
    // A later account_import of a failed account succeeds once there is room.
    let delete = r#"{"DeleteItem":[{"UserID":"n1"}]}"#;
    assert_eq!(code(&call(&mut st, Api::AccountDelete, delete)), 0);
    assert_eq!(code(&import(&mut st, r#"{"UserID":"n6"}"#)), 0);
}

#[test]
fn duplicates_in_one_list_import_once() {
    let mut st = state();
    let (c, d) = multi(&mut st, r#"{"Accounts":["a","a","b"]}"#);
    assert_eq!((c, fail_accounts(&d).len()), (0, 0));
    assert_eq!(
        st.accounts(),
        &[account("a", None, None, 2), account("b", None, None, 1)]
    );
}

#[test]
fn injected_fail_accounts_rate() {
    let run = |seed: u64| {
        let mut st = state_with(|c| {
            c.seed = Some(seed);
            c.batch_rate_limit = 0;
        });
        let r = set_faults(&mut st, r#"{"fail_accounts_rate":0.3}"#);
        assert_eq!(doc(&r)["fail_accounts_rate"], 0.3);
        let mut failed = Vec::new();
        for batch in 0..20 {
            let ids: Vec<String> = (0..100).map(|i| format!("u{batch}_{i}")).collect();
            let (c, d) = multi(&mut st, &json!({ "Accounts": ids }).to_string());
            // Injected failures never fail the call.
            assert_eq!(c, 0);
            failed.extend(fail_accounts(&d));
        }
        (failed, st)
    };
    let (failed, mut st) = run(42);
    assert_eq!(failed, run(42).0);
    assert!((480..720).contains(&failed.len()), "{}", failed.len());
    assert_eq!(st.accounts().len(), 2000 - failed.len());
    let first = failed.first().cloned().expect("some failed");
    assert!(st.accounts().iter().all(|a| a.user_id != first));
    // The call log keeps them; a later single import of one succeeds.
    let logged = st.calls().back().and_then(|c| c.fail_accounts.clone());
    assert!(logged.is_some());
    assert_eq!(
        code(&import(&mut st, &format!(r#"{{"UserID":"{first}"}}"#))),
        0
    );
    // Every account: still OK, all listed.
    set_faults(&mut st, r#"{"fail_accounts_rate":1}"#);
    let (c, d) = multi(&mut st, r#"{"Accounts":["x","y"]}"#);
    assert_eq!(
        (c, fail_accounts(&d)),
        (0, vec!["x".to_owned(), "y".into()])
    );
    for bad in [
        r#"{"fail_accounts_rate":1.5}"#,
        r#"{"fail_accounts_rate":-0.1}"#,
        r#"{"fail_accounts_rate":"0.3"}"#,
    ] {
        assert_eq!(set_faults(&mut st, bad).status, 400, "{bad}");
    }
    // It is not part of the per-call sum.
    assert_eq!(
        set_faults(&mut st, r#"{"fail_accounts_rate":0.9,"http502_rate":0.9}"#).status,
        200
    );
}

#[test]
fn scripted_fail_accounts() {
    let mut st = state();
    let r = set_faults(&mut st, r#"{"script":["fail_accounts","ok"]}"#);
    assert_eq!(doc(&r)["script"], json!(["fail_accounts", "ok"]));
    // Bad entries are still bad; the good ones are injected failures.
    let (c, d) = multi(
        &mut st,
        &json!({"Accounts": ["a", "b", "x".repeat(33)]}).to_string(),
    );
    assert_eq!(
        (c, fail_accounts(&d)),
        (0, vec!["a".to_owned(), "b".into(), "x".repeat(33)])
    );
    assert!(st.accounts().is_empty());
    assert_eq!(
        st.calls().back().and_then(|c| c.fault.clone()),
        Some("fail_accounts".into())
    );
    let (c, d) = multi(&mut st, r#"{"Accounts":["a","b"]}"#);
    assert_eq!((c, fail_accounts(&d).len()), (0, 0));
    // On another API the entry is used up and does nothing.
    set_faults(&mut st, r#"{"script":["fail_accounts"]}"#);
    assert_eq!(code(&import(&mut st, BODY)), 0);
    assert!(st.faults().script.is_empty());
}

#[test]
fn call_faults_apply_to_the_whole_call() {
    let mut st = state();
    set_faults(&mut st, r#"{"script":["70202","502","malformed"]}"#);
    let (c, d) = multi(&mut st, r#"{"Accounts":["a"]}"#);
    assert_eq!(c, 70202);
    assert!(d.get("FailAccounts").is_none());
    assert_eq!(
        call(&mut st, Api::MultiaccountImport, r#"{"Accounts":["a"]}"#).status,
        502
    );
    assert!(st.accounts().is_empty());
    let r = call(&mut st, Api::MultiaccountImport, r#"{"Accounts":["a"]}"#);
    assert_eq!(r.body, br#"{"ActionStatus":"OK","Err"#);
    assert_eq!(account_ids(&st), vec!["a".to_owned()]);
}
