use crate::test_support::*;
use crate::{Api, State};
use serde_json::{json, Value};

fn set(st: &mut State, body: &str) -> (u64, Value) {
    code_doc(&call(st, Api::PortraitSet, body))
}

fn get_profiles(st: &mut State, body: &str) -> (u64, Value) {
    code_doc(&call(st, Api::PortraitGet, body))
}

fn set_body(user: &str, items: Value) -> String {
    json!({"From_Account": user, "ProfileItem": items}).to_string()
}

#[test]
fn set_updates_the_account_and_answers_error_display() {
    let mut st = state();
    seed_accounts(&mut st, &["id"]);
    let r = call(
        &mut st,
        Api::PortraitSet,
        r#"{"From_Account":"id","ProfileItem":[{"Tag":"Tag_Profile_IM_Nick","Value":"MyNickName"}]}"#,
    );
    assert_eq!(
        r.body,
        br#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0,"ErrorDisplay":""}"#
    );
    let body = set_body(
        "id",
        json!([{"Tag": "Tag_Profile_IM_Image", "Value": "http://x/p.png"}]),
    );
    assert_eq!(set(&mut st, &body).0, 0);
    // The same account /_emulator/accounts shows; portrait_set is not an import.
    assert_eq!(
        get(&mut st, "/_emulator/accounts"),
        json!({"accounts":[{"UserID":"id","Nick":"MyNickName","FaceUrl":"http://x/p.png","imports":1}]})
    );
    // Several items, a tag twice (last wins), an empty value, 500 bytes.
    let body = set_body(
        "id",
        json!([
            {"Tag": "Tag_Profile_IM_Nick", "Value": "first"},
            {"Tag": "Tag_Profile_IM_Image", "Value": ""},
            {"Tag": "Tag_Profile_IM_Nick", "Value": "n".repeat(500)},
        ]),
    );
    assert_eq!(set(&mut st, &body).0, 0);
    let account = st.accounts().first().cloned().expect("account");
    assert_eq!(
        (account.nick, account.face_url),
        (Some("n".repeat(500)), Some(String::new()))
    );
    // An import after portrait_set overrides what it gives and keeps the rest.
    assert_eq!(
        code(&import(&mut st, r#"{"UserID":"id","Nick":"Imported"}"#)),
        0
    );
    let (_, d) = get_profiles(
        &mut st,
        r#"{"To_Account":["id"],"TagList":["Tag_Profile_IM_Nick","Tag_Profile_IM_Image"]}"#,
    );
    assert_eq!(
        d["UserProfileItem"][0]["ProfileItem"],
        json!([{"Tag":"Tag_Profile_IM_Nick","Value":"Imported"},{"Tag":"Tag_Profile_IM_Image","Value":""}])
    );
}

#[test]
fn e40003_set_on_an_unknown_account() {
    let mut st = state();
    seed_accounts(&mut st, &["id"]);
    let item = json!([{"Tag": "Tag_Profile_IM_Nick", "Value": "x"}]);
    for user in ["nobody", "administrator", &"a".repeat(33)] {
        let (c, d) = set(&mut st, &set_body(user, item.clone()));
        assert_eq!(c, 40003, "{user}");
        assert_eq!(d["ErrorInfo"], "The requested user account does not exist.");
        assert_eq!(d["ErrorDisplay"], "");
    }
    assert_eq!(st.accounts().first().and_then(|a| a.nick.clone()), None);
}

#[test]
fn e40001_malformed_set() {
    let mut st = state();
    seed_accounts(&mut st, &["id"]);
    let nick = json!({"Tag": "Tag_Profile_IM_Nick", "Value": "x"});
    let bodies = [
        "".to_owned(),
        "nope".to_owned(),
        "[]".to_owned(),
        "{}".to_owned(),
        json!({"ProfileItem": [nick]}).to_string(),
        json!({"From_Account": "", "ProfileItem": [nick]}).to_string(),
        json!({"From_Account": 1, "ProfileItem": [nick]}).to_string(),
        json!({"From_Account": "id"}).to_string(),
        json!({"From_Account": "id", "ProfileItem": []}).to_string(),
        json!({"From_Account": "id", "ProfileItem": nick}).to_string(),
        set_body("id", json!(["Tag_Profile_IM_Nick"])),
        set_body("id", json!([{"Value": "x"}])),
        set_body("id", json!([{"Tag": 1, "Value": "x"}])),
        set_body("id", json!([{"Tag": "Tag_Profile_IM_Nick"}])),
        // Standard tags the emulator does not model.
        set_body(
            "id",
            json!([{"Tag": "Tag_Profile_IM_Gender", "Value": "Gender_Type_Male"}]),
        ),
        set_body(
            "id",
            json!([nick, {"Tag": "Tag_Profile_IM_SelfSignature", "Value": "hi"}]),
        ),
        // The request is checked before the account: 40001 wins over 40003.
        json!({"From_Account": "nobody", "ProfileItem": []}).to_string(),
    ];
    for body in &bodies {
        let (c, d) = set(&mut st, body);
        assert_eq!(c, 40001, "{body}");
        assert_eq!(d["ErrorDisplay"], "");
    }
    let (_, d) = set(
        &mut st,
        &set_body("id", json!([{"Tag": "Tag_Profile_IM_Gender", "Value": 1}])),
    );
    assert!(
        d["ErrorInfo"]
            .as_str()
            .is_some_and(|s| s.contains("does not model")),
        "{d}"
    );
    // Nothing was applied, not even the valid first item of a refused request.
    assert_eq!(st.accounts().first().and_then(|a| a.nick.clone()), None);
}

#[test]
fn e40009_e40610_e40601_set_values_and_tags() {
    let mut st = state();
    seed_accounts(&mut st, &["id"]);
    let cases = [
        (
            json!([{"Tag": "Tag_Profile_Custom_Test", "Value": "x"}]),
            40009,
        ),
        (
            json!([{"Tag": "Tag_Profile_IM_Nickname", "Value": "x"}]),
            40009,
        ),
        (json!([{"Tag": "", "Value": "x"}]), 40009),
        (json!([{"Tag": "Tag_Profile_IM_Nick", "Value": 5}]), 40610),
        (
            json!([{"Tag": "Tag_Profile_IM_Image", "Value": null}]),
            40610,
        ),
        (
            json!([{"Tag": "Tag_Profile_IM_Nick", "Value": "n".repeat(501)}]),
            40601,
        ),
        (
            json!([{"Tag": "Tag_Profile_IM_Image", "Value": "€".repeat(167)}]),
            40601,
        ),
        (
            json!([{"Tag": "Tag_Profile_IM_Nick", "Value": "ok"}, {"Tag": "Tag_Profile_IM_Image", "Value": "u".repeat(501)}]),
            40601,
        ),
    ];
    for (items, want) in cases {
        let (c, _) = set(&mut st, &set_body("id", items.clone()));
        assert_eq!(c, want, "{items}");
    }
    assert_eq!(st.accounts().first().and_then(|a| a.nick.clone()), None);
}

#[test]
fn get_answers_each_account_with_the_tags_asked_for() {
    let mut st = state();
    assert_eq!(
        code(&import(
            &mut st,
            r#"{"UserID":"id1","Nick":"NickNameTest1","FaceUrl":"http://x/1"}"#
        )),
        0
    );
    seed_accounts(&mut st, &["id2"]);
    let r = call(
        &mut st,
        Api::PortraitGet,
        r#"{"To_Account":["id1"],"TagList":["Tag_Profile_IM_Nick"]}"#,
    );
    assert_eq!(
        doc(&r),
        json!({"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0,"UserProfileItem":[
            {"To_Account":"id1","ProfileItem":[{"Tag":"Tag_Profile_IM_Nick","Value":"NickNameTest1"}],
             "ResultCode":0,"ResultInfo":""}
        ],"ErrorDisplay":""})
    );
    // Tags in request order, each once; a never-set value is left out.
    let (c, d) = get_profiles(
        &mut st,
        r#"{"To_Account":["id2","id1"],"TagList":["Tag_Profile_IM_Image","Tag_Profile_IM_Nick","Tag_Profile_IM_Image"]}"#,
    );
    assert_eq!(c, 0);
    assert_eq!(
        d["UserProfileItem"],
        json!([
            {"To_Account":"id2","ProfileItem":[],"ResultCode":0,"ResultInfo":""},
            {"To_Account":"id1","ProfileItem":[
                {"Tag":"Tag_Profile_IM_Image","Value":"http://x/1"},
                {"Tag":"Tag_Profile_IM_Nick","Value":"NickNameTest1"}],"ResultCode":0,"ResultInfo":""},
        ])
    );
    assert!(d.get("Fail_Account").is_none());
    // What portrait_set wrote, portrait_get reads.
    let body = set_body(
        "id2",
        json!([{"Tag": "Tag_Profile_IM_Nick", "Value": "Two"}]),
    );
    assert_eq!(set(&mut st, &body).0, 0);
    let (_, d) = get_profiles(
        &mut st,
        r#"{"To_Account":["id2"],"TagList":["Tag_Profile_IM_Nick"]}"#,
    );
    assert_eq!(d["UserProfileItem"][0]["ProfileItem"][0]["Value"], "Two");
}

#[test]
fn get_answers_unknown_accounts_per_item_with_40003() {
    let mut st = state();
    seed_accounts(&mut st, &["id1"]);
    let long = "a".repeat(33);
    let body = json!({"To_Account": ["id1", "id4", long], "TagList": ["Tag_Profile_IM_Nick"]});
    let (c, d) = get_profiles(&mut st, &body.to_string());
    assert_eq!(c, 0);
    let items = d["UserProfileItem"].as_array().expect("items");
    assert_eq!(items[0]["ResultCode"], 0);
    for item in &items[1..] {
        assert_eq!(item["ResultCode"], 40003, "{item}");
        assert_eq!(
            item["ResultInfo"],
            "The requested user account does not exist."
        );
        assert!(item.get("ProfileItem").is_none());
    }
    assert_eq!(d["Fail_Account"], json!(["id4", long]));
}

#[test]
fn get_refuses_a_malformed_request() {
    let mut st = state();
    seed_accounts(&mut st, &["id1"]);
    let hundred_and_one: Vec<String> = (0..101).map(|i| format!("u{i}")).collect();
    let nick = "Tag_Profile_IM_Nick";
    let cases = [
        ("".to_owned(), 40001),
        ("[]".to_owned(), 40001),
        (json!({"TagList": [nick]}).to_string(), 40002),
        (
            json!({"To_Account": [], "TagList": [nick]}).to_string(),
            40002,
        ),
        (
            json!({"To_Account": "id1", "TagList": [nick]}).to_string(),
            40001,
        ),
        (
            json!({"To_Account": [1], "TagList": [nick]}).to_string(),
            40001,
        ),
        (
            json!({"To_Account": [""], "TagList": [nick]}).to_string(),
            40001,
        ),
        (
            json!({"To_Account": hundred_and_one, "TagList": [nick]}).to_string(),
            40001,
        ),
        (json!({"To_Account": ["id1"]}).to_string(), 40001),
        (
            json!({"To_Account": ["id1"], "TagList": []}).to_string(),
            40001,
        ),
        (
            json!({"To_Account": ["id1"], "TagList": nick}).to_string(),
            40001,
        ),
        (
            json!({"To_Account": ["id1"], "TagList": [3]}).to_string(),
            40001,
        ),
        (
            json!({"To_Account": ["id1"], "TagList": [nick, "Tag_Profile_IM_AllowType"]})
                .to_string(),
            40001,
        ),
        (
            json!({"To_Account": ["id1"], "TagList": ["Tag_Profile_Custom_Test"]}).to_string(),
            40009,
        ),
    ];
    for (body, want) in &cases {
        let (c, d) = get_profiles(&mut st, body);
        assert_eq!(c, *want, "{body}");
        assert!(d.get("UserProfileItem").is_none());
        assert_eq!(d["ErrorDisplay"], "");
    }
    let hundred: Vec<String> = (0..100).map(|i| format!("u{i}")).collect();
    let body = json!({"To_Account": hundred, "TagList": [nick]}).to_string();
    assert_eq!(get_profiles(&mut st, &body).0, 0);
}
