use crate::test_support::*;
use crate::{handle, Api, CallRecord};
use serde_json::Value;

#[test]
fn fault_502_records_nothing() {
    let mut st = state();
    assert_eq!(set_faults(&mut st, r#"{"http502_rate":1.0}"#).status, 200);
    let r = import(&mut st, BODY);
    assert_eq!(r.status, 502);
    assert_eq!(r.content_type, "text/html");
    assert_eq!(r.body, b"<html>502 Bad Gateway</html>");
    assert!(st.accounts().is_empty());
    let calls = get(&mut st, "/_emulator/calls");
    assert_eq!(
        calls,
        serde_json::json!({"total":1,"calls":[{"api":"account_import","user_id":"alice","error_code":null,"http_status":502,"fault":"502"}]})
    );
}

#[test]
fn fault_code_records_nothing() {
    let mut st = state();
    set_faults(&mut st, r#"{"codes":{"70169":1}}"#);
    assert_eq!(code(&import(&mut st, BODY)), 70169);
    assert!(st.accounts().is_empty());
    let c = st.calls().back().cloned();
    assert_eq!(
        c,
        Some(CallRecord {
            api: Api::AccountImport,
            user_id: Some("alice".into()),
            error_code: Some(70169),
            http_status: 200,
            fault: Some("70169".into()),
            fail_accounts: None,
        })
    );
}

#[test]
fn fault_malformed_still_imports() {
    let mut st = state();
    set_faults(&mut st, r#"{"malformed_rate":1}"#);
    let r = import(&mut st, BODY);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, br#"{"ActionStatus":"OK","Err"#);
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());
    assert_eq!(st.accounts().len(), 1);
    let c = st.calls().back().cloned();
    assert_eq!(c.and_then(|c| c.fault), Some("malformed".into()));
}

#[test]
fn fault_latency() {
    let mut st = state();
    set_faults(&mut st, r#"{"latency_ms":250,"script":["latency:5000"]}"#);
    let r = import(&mut st, BODY);
    assert_eq!((code(&r), r.delay_ms), (0, 5000));
    let r = import(&mut st, BODY);
    assert_eq!((code(&r), r.delay_ms), (0, 250));
    // Base latency also applies to rejected calls.
    let r = post(&mut st, &admin_url_with("usersig", None), BODY);
    assert_eq!((code(&r), r.delay_ms), (70002, 250));
    assert_eq!(st.accounts().first().map(|a| a.imports), Some(2));
    // Control endpoints are never delayed.
    assert_eq!(
        handle(&mut st, "GET", "/_emulator/calls", b"", NOW_MS).delay_ms,
        0
    );
}

#[test]
fn fault_script_order() {
    let mut st = state();
    let r = set_faults(
        &mut st,
        r#"{"script":["502","70169","malformed","latency:5000","ok"],"codes":{"70500":1}}"#,
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        doc(&r)["script"],
        serde_json::json!(["502", "70169", "malformed", "latency:5000", "ok"])
    );
    // Calls rejected before step 7 do not consume the script.
    assert_eq!(
        code(&post(&mut st, &admin_url_with("usersig", None), BODY)),
        70002
    );
    assert_eq!(import(&mut st, BODY).status, 502);
    assert_eq!(code(&import(&mut st, BODY)), 70169);
    assert_eq!(import(&mut st, BODY).body, br#"{"ActionStatus":"OK","Err"#);
    assert_eq!(import(&mut st, BODY).delay_ms, 5000);
    assert_eq!(code(&import(&mut st, BODY)), 0);
    // Script exhausted: the rates apply.
    assert_eq!(code(&import(&mut st, BODY)), 70500);
    let faults: Vec<Option<String>> = st.calls().iter().map(|c| c.fault.clone()).collect();
    assert_eq!(
        faults,
        vec![
            None,
            Some("502".into()),
            Some("70169".into()),
            Some("malformed".into()),
            Some("latency:5000".into()),
            None,
            Some("70500".into())
        ]
    );
    assert_eq!(st.accounts().first().map(|a| a.imports), Some(3));
}

#[test]
fn fault_rates_are_roughly_right_and_seeded() {
    let run = |seed: u64| {
        let mut st = state_with(|c| {
            c.seed = Some(seed);
            c.rate_limit = 0;
            c.faults.http502_rate = 0.25;
            c.faults.codes.insert(70169, 0.25);
        });
        (0..2000)
            .map(|_| import(&mut st, BODY).status)
            .collect::<Vec<_>>()
    };
    let a = run(42);
    assert_eq!(a, run(42));
    let n502 = a.iter().filter(|&&s| s == 502).count();
    assert!((400..600).contains(&n502), "{n502}");
}
