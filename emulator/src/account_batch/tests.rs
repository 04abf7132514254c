use crate::test_support::*;
use crate::{Api, State, REIMPORT_BLOCK_MS};
use serde_json::{json, Value};

fn check(st: &mut State, body: &str) -> (u64, Value) {
    code_doc(&call(st, Api::AccountCheck, body))
}

fn delete(st: &mut State, body: &str) -> (u64, Value) {
    code_doc(&call(st, Api::AccountDelete, body))
}

fn delete_at(st: &mut State, ids: &[&str], now_ms: u64) -> u64 {
    let items: Vec<Value> = ids.iter().map(|id| json!({"UserID": id})).collect();
    let body = json!({ "DeleteItem": items }).to_string();
    code(&call_at(st, Api::AccountDelete, &body, now_ms))
}

#[test]
fn check_answers_imported_or_not_in_order() {
    let mut st = state();
    seed_accounts(&mut st, &["UserID_1"]);
    let (c, d) = check(
        &mut st,
        r#"{"CheckItem":[{"UserID":"UserID_1"},{"UserID":"UserID_2"},{"UserID":"UserID_1"}]}"#,
    );
    assert_eq!(c, 0);
    assert_eq!(
        d,
        json!({"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0,"ResultItem":[
            {"UserID":"UserID_1","ResultCode":0,"ResultInfo":"","AccountStatus":"Imported"},
            {"UserID":"UserID_2","ResultCode":0,"ResultInfo":"","AccountStatus":"NotImported"},
            {"UserID":"UserID_1","ResultCode":0,"ResultInfo":"","AccountStatus":"Imported"},
        ]})
    );
    // Read-only.
    assert_eq!(account_ids(&st), vec!["UserID_1".to_owned()]);
}

#[test]
fn check_refuses_a_bad_user_id_per_item() {
    let mut st = state();
    let long = "a".repeat(33);
    let body = json!({"CheckItem": [{"UserID": long}, {"UserID": ""}, {"UserID": "ok"}]});
    let (c, d) = check(&mut st, &body.to_string());
    assert_eq!(c, 0);
    let items = d["ResultItem"].as_array().expect("items");
    assert_eq!(items.len(), 3);
    for item in &items[..2] {
        assert_eq!(item["ResultCode"], 70402, "{item}");
        assert!(item["ResultInfo"]
            .as_str()
            .is_some_and(|s| s.starts_with("Invalid parameter.")));
        assert!(item.get("AccountStatus").is_none(), "{item}");
    }
    assert_eq!(items[0]["UserID"], long);
    assert_eq!(items[2]["AccountStatus"], "NotImported");
}

#[test]
fn e70402_and_e60003_for_a_bad_list() {
    let hundred_and_one: Vec<Value> = (0..101)
        .map(|i| json!({"UserID": format!("u{i}")}))
        .collect();
    for (api, field) in [
        (Api::AccountCheck, "CheckItem"),
        (Api::AccountDelete, "DeleteItem"),
    ] {
        let mut st = state();
        seed_accounts(&mut st, &["a"]);
        let bodies = [
            "{}".to_owned(),
            json!({ field: "a" }).to_string(),
            json!({ field: [] }).to_string(),
            json!({ field: hundred_and_one }).to_string(),
            json!({ field: ["a"] }).to_string(),
            json!({ field: [{"UserID": "a"}, {}] }).to_string(),
            json!({ field: [{"UserID": 1}] }).to_string(),
            json!({ field: [{"Identifier": "a"}] }).to_string(),
            // The other API's list name.
            json!({ (if field == "CheckItem" { "DeleteItem" } else { "CheckItem" }): [{"UserID": "a"}] })
                .to_string(),
        ];
        for body in &bodies {
            let (c, d) = code_doc(&call(&mut st, api, body));
            assert_eq!(c, 70402, "{api:?} {body}");
            assert!(d.get("ResultItem").is_none());
        }
        for body in ["", "x", "[]", "null"] {
            assert_eq!(code(&call(&mut st, api, body)), 60003, "{api:?} {body:?}");
        }
        assert_eq!(account_ids(&st), vec!["a".to_owned()]);
        let hundred: Vec<Value> = (0..100)
            .map(|i| json!({"UserID": format!("u{i}")}))
            .collect();
        assert_eq!(
            code(&call(&mut st, api, &json!({ field: hundred }).to_string())),
            0
        );
    }
}

#[test]
fn delete_answers_per_account_and_70107_for_unknown() {
    let mut st = state();
    seed_accounts(&mut st, &["UserID_1", "keep"]);
    let r = call(
        &mut st,
        Api::AccountDelete,
        r#"{"DeleteItem":[{"UserID":"UserID_1"},{"UserID":"UserID_2"},{"UserID":"UserID_1"}]}"#,
    );
    assert_eq!(
        doc(&r),
        json!({"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0,"ResultItem":[
            {"ResultCode":0,"ResultInfo":"","UserID":"UserID_1"},
            {"ResultCode":70107,"ResultInfo":"Err_TLS_PT_Open_Login_Account_Not_Exist","UserID":"UserID_2"},
            // Deleted by the first item.
            {"ResultCode":70107,"ResultInfo":"Err_TLS_PT_Open_Login_Account_Not_Exist","UserID":"UserID_1"},
        ]})
    );
    assert_eq!(account_ids(&st), vec!["keep".to_owned()]);
    let (_, d) = check(&mut st, r#"{"CheckItem":[{"UserID":"UserID_1"}]}"#);
    assert_eq!(d["ResultItem"][0]["AccountStatus"], "NotImported");
    // Per-item 70402 for a UserID that cannot exist.
    let (c, d) = delete(
        &mut st,
        &json!({"DeleteItem": [{"UserID": "z".repeat(33)}]}).to_string(),
    );
    assert_eq!(
        (c, d["ResultItem"][0]["ResultCode"].clone()),
        (0, json!(70402))
    );
}

#[test]
fn delete_keeps_order_and_the_index_right() {
    let mut st = state_with(|c| c.rate_limit = 0);
    seed_accounts(&mut st, &["a", "b", "c", "d"]);
    assert_eq!(delete_at(&mut st, &["b"], NOW_MS), 0);
    assert_eq!(
        account_ids(&st),
        vec!["a".to_owned(), "c".into(), "d".into()]
    );
    // Updates after the deletion hit the right account.
    assert_eq!(code(&import(&mut st, r#"{"UserID":"d","Nick":"D"}"#)), 0);
    assert_eq!(code(&import(&mut st, r#"{"UserID":"b","Nick":"B"}"#)), 0);
    let nicks: Vec<(String, Option<String>)> = st
        .accounts()
        .iter()
        .map(|a| (a.user_id.clone(), a.nick.clone()))
        .collect();
    assert_eq!(
        nicks,
        vec![
            ("a".into(), None),
            ("c".into(), None),
            ("d".into(), Some("D".into())),
            ("b".into(), Some("B".into()))
        ]
    );
    assert_eq!(delete_at(&mut st, &["a", "b", "c", "d"], NOW_MS), 0);
    assert!(st.accounts().is_empty());
}

#[test]
fn without_the_flag_a_deleted_account_can_be_imported_again() {
    let mut st = state();
    seed_accounts(&mut st, &["gone"]);
    assert_eq!(delete_at(&mut st, &["gone"], NOW_MS), 0);
    assert_eq!(
        get(&mut st, "/_emulator/deleted"),
        json!({"deleted":[{"UserID":"gone","deleted_at":NOW,"blocked_until":null}]})
    );
    assert_eq!(code(&import(&mut st, r#"{"UserID":"gone"}"#)), 0);
    assert_eq!(st.accounts().first().map(|a| a.imports), Some(1));
    // A successful import forgets the deletion.
    assert_eq!(get(&mut st, "/_emulator/deleted"), json!({"deleted":[]}));
}

#[test]
fn e70399_reimport_block() {
    let mut st = state_with(|c| c.reimport_block = true);
    seed_accounts(&mut st, &["gone", "gone2", "stay"]);
    assert_eq!(delete_at(&mut st, &["gone", "gone2"], NOW_MS), 0);
    let blocked_until = NOW as u64 + REIMPORT_BLOCK_MS / 1000;
    assert_eq!(
        get(&mut st, "/_emulator/deleted")["deleted"][0],
        json!({"UserID":"gone","deleted_at":NOW,"blocked_until":blocked_until})
    );
    let d = doc(&import(&mut st, r#"{"UserID":"gone","Nick":"G"}"#));
    assert_eq!(d["ErrorCode"], 70399);
    assert!(
        d["ErrorInfo"]
            .as_str()
            .is_some_and(|s| s.contains("three months")),
        "{d}"
    );
    // multiaccount_import: FailAccounts, and 70399 when every account is blocked.
    let (c, d) = code_doc(&call(
        &mut st,
        Api::MultiaccountImport,
        r#"{"Accounts":["gone","new"]}"#,
    ));
    assert_eq!((c, d["FailAccounts"].clone()), (0, json!(["gone"])));
    let (c, d) = code_doc(&call(
        &mut st,
        Api::MultiaccountImport,
        r#"{"Accounts":["gone","gone2"]}"#,
    ));
    assert_eq!(
        (c, d["FailAccounts"].clone()),
        (70399, json!(["gone", "gone2"]))
    );
    // Existing accounts are not affected; the block ends after 90 days.
    assert_eq!(code(&import(&mut st, r#"{"UserID":"stay"}"#)), 0);
    let last = NOW_MS + REIMPORT_BLOCK_MS - 1;
    // An admin UserSig that outlives the block.
    let url = url_for(ADMIN, &generate(APP, KEY, ADMIN, NOW, 200 * 86_400, None));
    let r = crate::handle(&mut st, "POST", &url, br#"{"UserID":"gone"}"#, last);
    assert_eq!(code(&r), 70399);
    let r = crate::handle(&mut st, "POST", &url, br#"{"UserID":"gone"}"#, last + 1);
    assert_eq!(code(&r), 0);
    // Reset forgets deletions.
    crate::handle(&mut st, "POST", "/_emulator/reset", b"", NOW_MS);
    assert_eq!(get(&mut st, "/_emulator/deleted"), json!({"deleted":[]}));
}

#[test]
fn a_deletion_frees_a_place_under_the_cap() {
    let mut st = state_with(|c| c.account_cap = 2);
    seed_accounts(&mut st, &["a", "b"]);
    assert_eq!(code(&import(&mut st, r#"{"UserID":"c"}"#)), 70398);
    assert_eq!(delete_at(&mut st, &["a"], NOW_MS), 0);
    assert_eq!(code(&import(&mut st, r#"{"UserID":"c"}"#)), 0);
}
