use crate::test_support::*;
use crate::usersig::vectors::{NODE_ADMIN, PY_ADMIN};
use crate::{handle, Account};

#[test]
fn success_body_is_exact() {
    let mut st = state();
    let r = import(&mut st, BODY);
    assert_eq!(
        r.body,
        br#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}"#
    );
    assert_eq!(r.delay_ms, 0);
    let accounts = get(&mut st, "/_emulator/accounts");
    assert_eq!(
        accounts,
        serde_json::json!({"accounts":[{"UserID":"alice","Nick":"Alice","FaceUrl":"http://x/a.png","imports":1}]})
    );
}

#[test]
fn e60002_method_not_post() {
    let mut st = state();
    let r = handle(&mut st, "GET", &admin_url(), BODY.as_bytes(), NOW_MS);
    assert_eq!(code(&r), 60002);
    assert!(st.accounts().is_empty());
    assert_eq!(st.total_calls(), 1);
}

#[test]
fn e60002_duplicate_parameter() {
    let mut st = state();
    let url = format!("{}&random=1", admin_url());
    assert_eq!(code(&post(&mut st, &url, BODY)), 60002);
    let url = format!("{}&foo=1&foo=2", admin_url());
    assert_eq!(code(&post(&mut st, &url, BODY)), 60002);
    // Duplicates are found before the SDKAppID is looked at.
    let url = "/v4/im_open_login_svc/account_import?sdkappid=&sdkappid=";
    assert_eq!(code(&post(&mut st, url, BODY)), 60002);
}

#[test]
fn e60002_bad_percent_encoding() {
    let mut st = state();
    let url = format!("{}&x=%zz", admin_url());
    assert_eq!(code(&post(&mut st, &url, BODY)), 60002);
    let url = format!("{}&x=%ff", admin_url());
    assert_eq!(code(&post(&mut st, &url, BODY)), 60002);
}

#[test]
fn e60012_sdkappid_missing_or_empty() {
    let mut st = state();
    assert_eq!(
        code(&post(&mut st, &admin_url_with("sdkappid", None), BODY)),
        60012
    );
    assert_eq!(
        code(&post(&mut st, &admin_url_with("sdkappid", Some("")), BODY)),
        60012
    );
    // Parameter names are case-sensitive.
    assert_eq!(
        code(&post(
            &mut st,
            &admin_url_with("sdkappid", None).replace("?", "?SDKAppID=1400000000&"),
            BODY
        )),
        60012
    );
}

#[test]
fn e60006_sdkappid_not_a_number() {
    let mut st = state();
    for bad in [
        "abc",
        "-1",
        "+1400000000",
        "14e8",
        "99999999999999999999999",
    ] {
        let r = post(&mut st, &admin_url_with("sdkappid", Some(bad)), BODY);
        assert_eq!(code(&r), 60006, "{bad}");
    }
}

#[test]
fn e70020_other_sdkappid() {
    let mut st = state();
    let r = post(
        &mut st,
        &admin_url_with("sdkappid", Some("1400000001")),
        BODY,
    );
    assert_eq!(code(&r), 70020);
}

#[test]
fn e60004_identifier_missing() {
    let mut st = state();
    assert_eq!(
        code(&post(&mut st, &admin_url_with("identifier", None), BODY)),
        60004
    );
    assert_eq!(
        code(&post(
            &mut st,
            &admin_url_with("identifier", Some("")),
            BODY
        )),
        60004
    );
}

#[test]
fn e70002_usersig_missing_or_empty() {
    let mut st = state();
    assert_eq!(
        code(&post(&mut st, &admin_url_with("usersig", None), BODY)),
        70002
    );
    assert_eq!(
        code(&post(&mut st, &admin_url_with("usersig", Some("")), BODY)),
        70002
    );
}

#[test]
fn e60002_random() {
    let mut st = state();
    for bad in [
        None,
        Some(""),
        Some("abc"),
        Some("-1"),
        Some("4294967296"),
        Some("1.5"),
    ] {
        let r = post(&mut st, &admin_url_with("random", bad), BODY);
        assert_eq!(code(&r), 60002, "{bad:?}");
    }
    for ok in ["0", "4294967295"] {
        let r = post(&mut st, &admin_url_with("random", Some(ok)), BODY);
        assert_eq!(code(&r), 0, "{ok}");
    }
}

#[test]
fn e60002_contenttype() {
    let mut st = state();
    for bad in [None, Some(""), Some("JSON"), Some("xml")] {
        let r = post(&mut st, &admin_url_with("contenttype", bad), BODY);
        assert_eq!(code(&r), 60002, "{bad:?}");
    }
}

#[test]
fn e70003_malformed_usersig() {
    let mut st = state();
    for bad in ["abc", "eJyrVg__", "%2A%2A%2A"] {
        let r = post(&mut st, &url_for(ADMIN, bad), BODY);
        assert_eq!(code(&r), 70003, "{bad}");
    }
}

#[test]
fn e70014_usersig_for_other_sdkappid() {
    let mut st = state();
    let s = generate(APP + 1, KEY, ADMIN, NOW, 86_400, None);
    assert_eq!(code(&post(&mut st, &url_for(ADMIN, &s), BODY)), 70014);
}

#[test]
fn e70013_usersig_for_other_identifier() {
    let mut st = state();
    let s = sig("someone_else");
    assert_eq!(code(&post(&mut st, &url_for(ADMIN, &s), BODY)), 70013);
}

#[test]
fn e70001_expired_usersig() {
    let mut st = state();
    let s = generate(APP, KEY, ADMIN, NOW - 200, 100, None);
    assert_eq!(code(&post(&mut st, &url_for(ADMIN, &s), BODY)), 70001);
    // Valid up to and including time + expire.
    let s = generate(APP, KEY, ADMIN, NOW - 100, 100, None);
    assert_eq!(code(&post(&mut st, &url_for(ADMIN, &s), BODY)), 0);
}

#[test]
fn e70009_wrong_key_or_userbuf() {
    let mut st = state();
    let s = generate(APP, "not-the-key", ADMIN, NOW, 86_400, None);
    assert_eq!(code(&post(&mut st, &url_for(ADMIN, &s), BODY)), 70009);
    let s = generate(APP, KEY, ADMIN, NOW, 86_400, Some(b"abc"));
    assert_eq!(code(&post(&mut st, &url_for(ADMIN, &s), BODY)), 70009);
}

#[test]
fn e70403_not_an_admin() {
    let mut st = state();
    let r = post(&mut st, &url_for("alice", &sig("alice")), BODY);
    assert_eq!(code(&r), 70403);
    assert!(st.accounts().is_empty());
}

#[test]
fn several_admins() {
    let mut st = state_with(|c| c.admins = vec!["ops".into(), "backend".into()]);
    assert_eq!(
        code(&post(&mut st, &url_for("backend", &sig("backend")), BODY)),
        0
    );
    assert_eq!(
        code(&post(&mut st, &url_for(ADMIN, &sig(ADMIN)), BODY)),
        70403
    );
}

#[test]
fn e60003_body_not_a_json_object() {
    let mut st = state();
    for bad in ["", "not json", "[1,2]", "\"alice\"", "{\"UserID\":", "null"] {
        assert_eq!(code(&import(&mut st, bad)), 60003, "{bad:?}");
    }
}

#[test]
fn e70402_bad_user_id() {
    let mut st = state();
    let long = "a".repeat(33);
    let bodies = [
        "{}".to_owned(),
        r#"{"Identifier":"alice"}"#.to_owned(),
        r#"{"UserID":""}"#.to_owned(),
        r#"{"UserID":42}"#.to_owned(),
        r#"{"UserID":null}"#.to_owned(),
        format!(r#"{{"UserID":"{long}"}}"#),
        // 11 three-byte characters: 11 characters but 33 bytes.
        format!(r#"{{"UserID":"{}"}}"#, "€".repeat(11)),
    ];
    for body in &bodies {
        assert_eq!(code(&import(&mut st, body)), 70402, "{body}");
    }
    let ok = format!(r#"{{"UserID":"{}"}}"#, "a".repeat(32));
    assert_eq!(code(&import(&mut st, &ok)), 0);
}

#[test]
fn e70402_profile_field_not_a_string() {
    let mut st = state();
    for body in [
        r#"{"UserID":"alice","Nick":5}"#,
        r#"{"UserID":"alice","Nick":null}"#,
        r#"{"UserID":"alice","FaceUrl":["x"]}"#,
        // Type errors come before length errors.
        &format!(
            r#"{{"UserID":"alice","Nick":"{}","FaceUrl":1}}"#,
            "n".repeat(501)
        ),
    ] {
        assert_eq!(code(&import(&mut st, body)), 70402, "{body}");
    }
    assert!(st.accounts().is_empty());
}

#[test]
fn e40601_profile_field_too_long() {
    let mut st = state();
    let long = "n".repeat(501);
    let body = format!(r#"{{"UserID":"alice","Nick":"{long}"}}"#);
    assert_eq!(code(&import(&mut st, &body)), 40601);
    let body = format!(r#"{{"UserID":"alice","FaceUrl":"{long}"}}"#);
    assert_eq!(code(&import(&mut st, &body)), 40601);
    assert!(st.accounts().is_empty());
    let body = format!(r#"{{"UserID":"alice","Nick":"{}"}}"#, "n".repeat(500));
    assert_eq!(code(&import(&mut st, &body)), 0);
}

#[test]
fn unknown_body_fields_ignored() {
    let mut st = state();
    let r = import(&mut st, r#"{"UserID":"bob","Gender":"x","Extra":{"a":1}}"#);
    assert_eq!(code(&r), 0);
    assert_eq!(st.accounts().len(), 1);
}

#[test]
fn idempotent_reimport() {
    let mut st = state();
    assert_eq!(
        code(&import(&mut st, r#"{"UserID":"alice","Nick":"A"}"#)),
        0
    );
    assert_eq!(
        code(&import(&mut st, r#"{"UserID":"alice","FaceUrl":"u"}"#)),
        0
    );
    assert_eq!(
        st.accounts(),
        &[Account {
            user_id: "alice".into(),
            nick: Some("A".into()),
            face_url: Some("u".into()),
            imports: 2,
        }]
    );
}

#[test]
fn e70398_account_cap() {
    let mut st = state_with(|c| {
        c.account_cap = 100;
        c.rate_limit = 0;
    });
    for i in 0..100 {
        let r = import(&mut st, &format!(r#"{{"UserID":"u{i}"}}"#));
        assert_eq!(code(&r), 0);
    }
    assert_eq!(code(&import(&mut st, r#"{"UserID":"u100"}"#)), 70398);
    assert_eq!(
        code(&import(&mut st, r#"{"UserID":"u5","Nick":"five"}"#)),
        0
    );
    assert_eq!(st.accounts().len(), 100);
    assert_eq!(st.accounts().get(5).map(|a| a.imports), Some(2));
}

#[test]
fn e60007_rate_limit() {
    let mut st = state();
    for i in 0..200 {
        let body = format!(r#"{{"UserID":"u{i}"}}"#);
        let r = handle(&mut st, "POST", &admin_url(), body.as_bytes(), NOW_MS + 999);
        assert_eq!(code(&r), 0, "call {i}");
    }
    let r = handle(&mut st, "POST", &admin_url(), BODY.as_bytes(), NOW_MS + 500);
    assert_eq!(code(&r), 60007);
    // Calls stopped at step 2 do not count.
    let r = handle(
        &mut st,
        "POST",
        &admin_url_with("sdkappid", None),
        BODY.as_bytes(),
        NOW_MS + 500,
    );
    assert_eq!(code(&r), 60012);
    // Calls that fail after step 2 do count.
    let r = handle(
        &mut st,
        "POST",
        &admin_url_with("usersig", None),
        b"",
        NOW_MS + 1,
    );
    assert_eq!(code(&r), 60007);
    let r = handle(
        &mut st,
        "POST",
        &admin_url(),
        BODY.as_bytes(),
        NOW_MS + 1000,
    );
    assert_eq!(code(&r), 0);
    assert_eq!(st.accounts().len(), 201);
}

#[test]
fn percent_decoding_of_parameters() {
    let mut st = state_with(|c| c.admins = vec!["ops team+1@x".into()]);
    let id = "ops team+1@x";
    let s = sig(id);
    // Space as %20 and as '+', '+' as %2B, '@' as %40, every UserSig byte escaped.
    let enc_sig: String = s.bytes().map(|b| format!("%{b:02X}")).collect();
    for enc_id in ["ops%20team%2B1%40x", "ops+team%2B1@x"] {
        let r = post(&mut st, &url_for(enc_id, &enc_sig), BODY);
        assert_eq!(code(&r), 0, "{enc_id}");
    }
    // Unescaped '+' is a space, so this names another identifier.
    let r = post(&mut st, &url_for("ops+team+1@x", &s), BODY);
    assert_eq!(code(&r), 70013);
    let r = post(
        &mut st,
        &admin_url_with("sdkappid", Some("%31400000000")),
        BODY,
    );
    assert_eq!(code(&r), 70403);
}

#[test]
fn official_library_usersigs_are_accepted() {
    // Both were made for "administrator" at NOW, valid for 86400 s.
    for usersig in [NODE_ADMIN, PY_ADMIN] {
        let mut st = state();
        let url = url_for(ADMIN, usersig);
        assert_eq!(code(&post(&mut st, &url, BODY)), 0);
        let last = NOW_MS + 86_400_999;
        let r = handle(&mut st, "POST", &url, BODY.as_bytes(), last);
        assert_eq!(code(&r), 0);
        let r = handle(&mut st, "POST", &url, BODY.as_bytes(), last + 1);
        assert_eq!(code(&r), 70001);
    }
}

#[test]
fn usersig_errors_keep_tencents_wording() {
    let mut st = state();
    let expired = generate(APP, KEY, ADMIN, NOW - 200, 100, None);
    let cases = [
        (url_for(ADMIN, &expired), 70001, "UserSig expired. Please generate a new one."),
        (admin_url_with("usersig", Some("")), 70002, "The value of UserSig is 0 bytes. Check whether the passed-in UserSig is correct."),
        (url_for(ADMIN, "abc"), 70003, "Invalid UserSig. Call the API provided on the official website to generate a UserSig."),
        (url_for(ADMIN, &generate(APP, "k", ADMIN, NOW, 60, None)), 70009, "UserSig authentication failed, probably because the private key or key of another SDKAppID was mistakenly used to generate the UserSig."),
        (url_for(ADMIN, &sig("bob")), 70013, "The UserID in the request does not match the UserID used to generate the UserSig."),
        (url_for(ADMIN, &generate(APP + 1, KEY, ADMIN, NOW, 60, None)), 70014, "The SDKAppID in the request does not match the SDKAppID used to generate the UserSig."),
    ];
    for (url, want_code, want_info) in cases {
        let d = doc(&post(&mut st, &url, BODY));
        assert_eq!(d["ErrorCode"], want_code, "{d}");
        assert_eq!(d["ErrorInfo"], want_info, "{d}");
        assert_eq!(d["ActionStatus"], "FAIL");
    }
}
