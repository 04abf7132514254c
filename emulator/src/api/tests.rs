use crate::test_support::*;
use crate::{handle, Api};
use serde_json::json;

/// A body each API accepts once "alice" is imported.
fn valid_body(api: Api) -> &'static str {
    match api {
        Api::AccountImport | Api::Kick => r#"{"UserID":"alice"}"#,
        Api::MultiaccountImport => r#"{"Accounts":["alice"]}"#,
        Api::AccountCheck => r#"{"CheckItem":[{"UserID":"alice"}]}"#,
        Api::AccountDelete => r#"{"DeleteItem":[{"UserID":"alice"}]}"#,
        Api::PortraitSet => {
            r#"{"From_Account":"alice","ProfileItem":[{"Tag":"Tag_Profile_IM_Nick","Value":"A"}]}"#
        }
        Api::PortraitGet => r#"{"To_Account":["alice"],"TagList":["Tag_Profile_IM_Nick"]}"#,
    }
}

fn seeded() -> crate::State {
    let mut st = state_with(|c| c.rate_limit = 0);
    seed_accounts(&mut st, &["alice"]);
    st
}

#[test]
fn every_api_is_routed_and_answers_ok() {
    for api in Api::ALL {
        let mut st = seeded();
        let r = call(&mut st, api, valid_body(api));
        assert_eq!(code(&r), 0, "{api:?}: {}", String::from_utf8_lossy(&r.body));
        assert_eq!(Api::from_path(api.path()), Some(api));
        assert_eq!(Api::from_name(api.name()), Some(api));
    }
    assert_eq!(
        Api::from_path("/v4/im_open_login_svc/account_importx"),
        None
    );
}

#[test]
fn every_api_checks_the_url_like_account_import() {
    let expired = generate(APP, KEY, ADMIN, NOW - 200, 100, None);
    let cases: Vec<(String, u64)> = vec![
        (admin_url_with("sdkappid", None), 60012),
        (admin_url_with("sdkappid", Some("x")), 60006),
        (admin_url_with("sdkappid", Some("1400000001")), 70020),
        (admin_url_with("identifier", None), 60004),
        (admin_url_with("usersig", None), 70002),
        (admin_url_with("random", Some("-1")), 60002),
        (admin_url_with("contenttype", Some("xml")), 60002),
        (format!("{}&random=2", admin_url()), 60002),
        (url_for(ADMIN, "abc"), 70003),
        (url_for(ADMIN, &expired), 70001),
        (
            url_for(ADMIN, &generate(APP, "k", ADMIN, NOW, 60, None)),
            70009,
        ),
        (url_for(ADMIN, &sig("bob")), 70013),
        (
            url_for(ADMIN, &generate(APP + 1, KEY, ADMIN, NOW, 60, None)),
            70014,
        ),
    ];
    for api in Api::ALL {
        let mut st = seeded();
        let body = valid_body(api);
        for (url, want) in &cases {
            let r = post(&mut st, &for_api(api, url), body);
            assert_eq!(code(&r), *want, "{api:?} {url}");
        }
        let r = handle(&mut st, "GET", &api_url(api), body.as_bytes(), NOW_MS);
        assert_eq!(code(&r), 60002, "{api:?} GET");
        // Nothing changed: every call failed before the API's own work.
        assert_eq!(account_ids(&st), vec!["alice".to_owned()], "{api:?}");
        assert_eq!(st.accounts().first().and_then(|a| a.nick.clone()), None);
        assert!(st.kicks().is_empty(), "{api:?}");
    }
}

#[test]
fn e70403_or_e40004_for_a_non_admin() {
    for api in Api::ALL {
        let mut st = seeded();
        let r = post(
            &mut st,
            &for_api(api, &url_for("alice", &sig("alice"))),
            valid_body(api),
        );
        let want = match api {
            Api::PortraitSet | Api::PortraitGet => 40004,
            _ => 70403,
        };
        assert_eq!(code(&r), want, "{api:?}");
    }
}

#[test]
fn profile_apis_always_answer_error_display() {
    for api in Api::ALL {
        let mut st = seeded();
        let ok = doc(&call(&mut st, api, valid_body(api)));
        let failed = doc(&post(
            &mut st,
            &for_api(api, &admin_url_with("usersig", None)),
            "",
        ));
        let profile = matches!(api, Api::PortraitSet | Api::PortraitGet);
        for d in [ok, failed] {
            assert_eq!(d.get("ErrorDisplay").is_some(), profile, "{api:?} {d}");
            if profile {
                assert_eq!(d["ErrorDisplay"], "");
            }
        }
    }
}

#[test]
fn the_call_log_names_the_api() {
    let mut st = seeded();
    for api in Api::ALL {
        call(&mut st, api, valid_body(api));
    }
    let calls = get(&mut st, "/_emulator/calls");
    assert_eq!(calls["total"], 8);
    let logged: Vec<(String, serde_json::Value)> = calls["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .map(|c| {
            (
                c["api"].as_str().unwrap_or("").to_owned(),
                c["user_id"].clone(),
            )
        })
        .collect();
    assert_eq!(
        logged,
        vec![
            ("account_import".to_owned(), json!("alice")),
            ("account_import".to_owned(), json!("alice")),
            ("multiaccount_import".to_owned(), json!(null)),
            ("account_check".to_owned(), json!(null)),
            ("account_delete".to_owned(), json!(null)),
            ("kick".to_owned(), json!("alice")),
            ("portrait_set".to_owned(), json!("alice")),
            ("portrait_get".to_owned(), json!(null)),
        ]
    );
    // Only multiaccount_import records FailAccounts.
    let with_fail_accounts: Vec<bool> = calls["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .map(|c| c.get("fail_accounts").is_some())
        .collect();
    assert_eq!(
        with_fail_accounts,
        vec![false, false, true, false, false, false, false, false]
    );
}

#[test]
fn stats_count_calls_per_api_and_reset_clears_them() {
    let mut st = seeded();
    call(&mut st, Api::AccountCheck, valid_body(Api::AccountCheck));
    // A failed call counts as a call too.
    post(
        &mut st,
        &for_api(Api::AccountCheck, &admin_url_with("usersig", None)),
        "",
    );
    call(&mut st, Api::Kick, valid_body(Api::Kick));
    let stats = get(&mut st, "/_emulator/stats");
    assert_eq!(
        stats,
        json!({
            "calls": {"account_import": 1, "multiaccount_import": 0, "account_check": 2,
                      "account_delete": 0, "kick": 1, "portrait_set": 0, "portrait_get": 0},
            "breaches": {"account_import": 0, "multiaccount_import": 0, "account_check": 0,
                         "account_delete": 0, "kick": 0, "portrait_set": 0, "portrait_get": 0},
        })
    );
    handle(&mut st, "POST", "/_emulator/reset", b"", NOW_MS);
    let stats = get(&mut st, "/_emulator/stats");
    assert!(Api::ALL.iter().all(|a| stats["calls"][a.name()] == 0));
    assert!(Api::ALL.iter().all(|a| stats["breaches"][a.name()] == 0));
}

/// `n` calls of `api` within one second; the ErrorCodes answered.
fn burst(st: &mut crate::State, api: Api, n: usize, at_ms: u64) -> Vec<u64> {
    (0..n)
        .map(|_| code(&call_at(st, api, valid_body(api), at_ms)))
        .collect()
}

#[test]
fn e60007_batch_apis_allow_100_calls_per_second() {
    for api in [
        Api::MultiaccountImport,
        Api::AccountCheck,
        Api::AccountDelete,
    ] {
        let mut st = seeded();
        let codes = burst(&mut st, api, 103, NOW_MS + 999);
        assert!(codes.iter().take(100).all(|&c| c != 60007), "{api:?}");
        assert_eq!(&codes[100..], &[60007, 60007, 60007], "{api:?}");
        let stats = get(&mut st, "/_emulator/stats");
        assert_eq!(stats["breaches"][api.name()], 3, "{api:?}");
        assert_eq!(stats["calls"][api.name()], 103, "{api:?}");
        // The next second is a new window.
        assert_ne!(
            code(&call_at(&mut st, api, valid_body(api), NOW_MS + 1000)),
            60007
        );
    }
}

#[test]
fn e60007_single_account_apis_allow_200_calls_per_second() {
    for api in [
        Api::AccountImport,
        Api::Kick,
        Api::PortraitSet,
        Api::PortraitGet,
    ] {
        let mut st = state();
        seed_accounts(&mut st, &["alice"]);
        let used = if api == Api::AccountImport { 1 } else { 0 };
        let codes = burst(&mut st, api, 201 - used, NOW_MS);
        assert!(codes.iter().take(200 - used).all(|&c| c == 0), "{api:?}");
        assert_eq!(codes.last(), Some(&60007), "{api:?}");
        let stats = get(&mut st, "/_emulator/stats");
        assert_eq!(stats["breaches"][api.name()], 1, "{api:?}");
    }
}

#[test]
fn each_api_has_its_own_window() {
    let mut st = seeded();
    assert_eq!(
        burst(&mut st, Api::AccountCheck, 101, NOW_MS).last(),
        Some(&60007)
    );
    // account_check being over its limit does not touch account_delete or account_import.
    assert_eq!(
        code(&call(
            &mut st,
            Api::AccountDelete,
            valid_body(Api::AccountDelete)
        )),
        0
    );
    assert_eq!(code(&import(&mut st, BODY)), 0);
    let stats = get(&mut st, "/_emulator/stats");
    assert_eq!(stats["breaches"]["account_check"], 1);
    assert_eq!(stats["breaches"]["account_delete"], 0);
    assert_eq!(stats["breaches"]["account_import"], 0);
}

#[test]
fn the_rate_limit_flags_set_the_limits_and_zero_disables() {
    let mut st = state_with(|c| {
        c.rate_limit = 3;
        c.batch_rate_limit = 2;
    });
    seed_accounts(&mut st, &["alice"]);
    assert_eq!(
        burst(&mut st, Api::Kick, 4, NOW_MS + 2000),
        vec![0, 0, 0, 60007]
    );
    assert_eq!(
        burst(&mut st, Api::AccountCheck, 3, NOW_MS + 2000),
        vec![0, 0, 60007]
    );
    let r = doc(&call_at(&mut st, Api::AccountCheck, "{}", NOW_MS + 2000));
    assert_eq!(
        r["ErrorInfo"],
        "The RESTful API call exceeds the frequency limit. Please reduce the request frequency. \
         (account_check allows 2 calls per second)"
    );

    let mut st = state_with(|c| {
        c.rate_limit = 0;
        c.batch_rate_limit = 0;
    });
    seed_accounts(&mut st, &["alice"]);
    for api in Api::ALL {
        assert!(
            burst(&mut st, api, 300, NOW_MS).iter().all(|&c| c != 60007),
            "{api:?}"
        );
    }
    let stats = get(&mut st, "/_emulator/stats");
    assert!(Api::ALL.iter().all(|a| stats["breaches"][a.name()] == 0));
}

#[test]
fn a_breach_changes_nothing_and_is_logged() {
    let mut st = state_with(|c| c.batch_rate_limit = 1);
    seed_accounts(&mut st, &["alice", "bob"]);
    let delete = r#"{"DeleteItem":[{"UserID":"alice"}]}"#;
    assert_eq!(code(&call(&mut st, Api::AccountDelete, delete)), 0);
    let bob = r#"{"DeleteItem":[{"UserID":"bob"}]}"#;
    assert_eq!(code(&call(&mut st, Api::AccountDelete, bob)), 60007);
    assert_eq!(account_ids(&st), vec!["bob".to_owned()]);
    let last = st.calls().back().cloned().expect("logged");
    assert_eq!(
        (last.api, last.error_code),
        (Api::AccountDelete, Some(60007))
    );
}

#[test]
fn faults_hit_every_api_unless_restricted() {
    let mut st = seeded();
    set_faults(&mut st, r#"{"codes":{"70169":1}}"#);
    for api in Api::ALL {
        assert_eq!(code(&call(&mut st, api, valid_body(api))), 70169, "{api:?}");
    }
    // Nothing was done by the failed calls.
    assert_eq!(account_ids(&st), vec!["alice".to_owned()]);
    assert!(st.kicks().is_empty());

    let r = set_faults(
        &mut st,
        r#"{"codes":{"70169":1},"apis":["account_check","kick"]}"#,
    );
    assert_eq!(doc(&r)["apis"], json!(["account_check", "kick"]));
    for api in Api::ALL {
        // account_delete removed alice: import her again.
        seed_accounts(&mut st, &["alice"]);
        let want = if matches!(api, Api::AccountCheck | Api::Kick) {
            70169
        } else {
            0
        };
        assert_eq!(code(&call(&mut st, api, valid_body(api))), want, "{api:?}");
    }
    // A script entry is only used up by an API the faults apply to; latency likewise.
    set_faults(
        &mut st,
        r#"{"script":["502"],"latency_ms":40,"apis":["kick"]}"#,
    );
    let r = call(&mut st, Api::AccountCheck, valid_body(Api::AccountCheck));
    assert_eq!((code(&r), r.delay_ms), (0, 0));
    seed_accounts(&mut st, &["alice"]);
    let r = call(&mut st, Api::Kick, valid_body(Api::Kick));
    assert_eq!((r.status, r.delay_ms), (502, 40));
    for bad in [
        r#"{"apis":[]}"#,
        r#"{"apis":["nope"]}"#,
        r#"{"apis":"kick"}"#,
        r#"{"apis":[1]}"#,
    ] {
        assert_eq!(set_faults(&mut st, bad).status, 400, "{bad}");
    }
    assert_eq!(
        doc(&set_faults(&mut st, r#"{"apis":null}"#))["apis"],
        json!(null)
    );
}

#[test]
fn malformed_and_502_on_other_apis() {
    let mut st = seeded();
    set_faults(&mut st, r#"{"script":["malformed","502"]}"#);
    // malformed: the kick happens, the answer is cut off.
    let r = call(&mut st, Api::Kick, valid_body(Api::Kick));
    assert_eq!(r.body, br#"{"ActionStatus":"OK","Err"#);
    assert_eq!(st.kicks().get("alice").map(|k| k.kicks), Some(1));
    // 502: nothing is deleted.
    let r = call(&mut st, Api::AccountDelete, valid_body(Api::AccountDelete));
    assert_eq!(r.status, 502);
    assert_eq!(account_ids(&st), vec!["alice".to_owned()]);
    let faults: Vec<Option<String>> = st.calls().iter().map(|c| c.fault.clone()).collect();
    assert_eq!(
        faults,
        vec![None, Some("malformed".into()), Some("502".into())]
    );
}
