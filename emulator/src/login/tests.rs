use crate::test_support::*;
use crate::usersig::vectors::{PY_XIAOJUN, T};
use crate::{handle, Api, Reply, State};
use serde_json::{json, Value};

fn login_at(st: &mut State, method: &str, user: &str, usersig: &str, now_ms: u64) -> Reply {
    let url = format!("/_emulator/login?user={user}&usersig={usersig}");
    handle(st, method, &url, b"", now_ms)
}

fn login(st: &mut State, user: &str, usersig: &str) -> (u64, Value) {
    code_doc(&login_at(st, "GET", user, usersig, NOW_MS))
}

/// alice's UserSig issued at `time`, valid for a day.
fn user_sig(time: i64) -> String {
    generate(APP, KEY, "alice", time, 86_400, None)
}

#[test]
fn a_valid_user_usersig_logs_in() {
    let mut st = state();
    let s = user_sig(NOW - 10);
    let (c, d) = login(&mut st, "alice", &s);
    assert_eq!(c, 0);
    assert_eq!(
        d,
        json!({"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0,"UserID":"alice","Imported":false})
    );
    seed_accounts(&mut st, &["alice"]);
    for method in ["GET", "POST"] {
        let d = doc(&login_at(&mut st, method, "alice", &s, NOW_MS));
        assert_eq!(
            (d["ErrorCode"].clone(), d["Imported"].clone()),
            (json!(0), json!(true))
        );
    }
    // Not a Tencent API call: not logged, not counted, never the UserSig in the answer.
    assert_eq!(st.total_calls(), 1);
    let r = login_at(&mut st, "GET", "alice", &s, NOW_MS);
    assert!(!String::from_utf8_lossy(&r.body).contains(s.get(..24).unwrap_or("")));
}

#[test]
fn an_official_library_usersig_logs_in() {
    let mut st = state();
    // Python tls-sig-api-v2, "xiaojun", issued at T for 180 days.
    let (c, _) = code_doc(&login_at(
        &mut st,
        "GET",
        "xiaojun",
        PY_XIAOJUN,
        (T as u64) * 1000,
    ));
    assert_eq!(c, 0);
}

#[test]
fn usersig_refusals_keep_their_codes() {
    let mut st = state();
    let cases = [
        ("", 70002),
        ("abc", 70003),
        (&*generate(APP, KEY, "alice", NOW - 200, 100, None), 70001),
        (&*generate(APP, "other-key", "alice", NOW, 60, None), 70009),
        (&*generate(APP, KEY, "alice", NOW, 60, Some(b"abc")), 70009),
        (&*generate(APP, KEY, "bob", NOW, 60, None), 70013),
        (&*generate(APP + 1, KEY, "alice", NOW, 60, None), 70014),
        // An admin's UserSig does not log a user in.
        (&*sig(ADMIN), 70013),
    ];
    for (usersig, want) in cases {
        let (c, d) = login(&mut st, "alice", usersig);
        assert_eq!(c, want, "{usersig}");
        assert_eq!(d["UserID"], "alice");
        assert!(d.get("Imported").is_none());
    }
    let r = handle(&mut st, "GET", "/_emulator/login?user=alice", b"", NOW_MS);
    assert_eq!(code(&r), 70002);
}

#[test]
fn a_kick_refuses_usersigs_issued_before_it() {
    let mut st = state();
    seed_accounts(&mut st, &["alice", "bob"]);
    let old = user_sig(NOW - 60);
    assert_eq!(login(&mut st, "alice", &old).0, 0);
    let kick_ms = NOW_MS + 30_500;
    assert_eq!(
        code(&call_at(
            &mut st,
            Api::Kick,
            r#"{"UserID":"alice"}"#,
            kick_ms
        )),
        0
    );
    let (c, d) = code_doc(&login_at(&mut st, "GET", "alice", &old, kick_ms + 1000));
    assert_eq!(c, 70001);
    assert_eq!(
        d["ErrorInfo"],
        format!(
            "UserSig expired. Please generate a new one. (issued at {}, before the account was kicked at {})",
            NOW - 60,
            NOW + 30
        )
    );
    // Issued one second before the kick: refused; in the same second or later: accepted.
    let before = user_sig(NOW + 29);
    assert_eq!(
        code(&login_at(&mut st, "GET", "alice", &before, kick_ms + 1000)),
        70001
    );
    for time in [NOW + 30, NOW + 31] {
        let fresh = user_sig(time);
        assert_eq!(
            code(&login_at(&mut st, "POST", "alice", &fresh, kick_ms + 1000)),
            0,
            "{time}"
        );
    }
    // Other users are not affected.
    let bob = generate(APP, KEY, "bob", NOW - 60, 86_400, None);
    assert_eq!(
        code(&login_at(&mut st, "GET", "bob", &bob, kick_ms + 1000)),
        0
    );
    // Reset forgets the kick.
    handle(&mut st, "POST", "/_emulator/reset", b"", NOW_MS);
    assert_eq!(
        code(&login_at(&mut st, "GET", "alice", &old, kick_ms + 1000)),
        0
    );
}

#[test]
fn a_bad_login_request_is_a_400() {
    let mut st = state();
    let s = user_sig(NOW);
    for url in [
        format!("/_emulator/login?usersig={s}"),
        format!("/_emulator/login?user=&usersig={s}"),
        "/_emulator/login".to_owned(),
        format!("/_emulator/login?user=alice&user=bob&usersig={s}"),
        format!("/_emulator/login?user=%zz&usersig={s}"),
    ] {
        let r = handle(&mut st, "GET", &url, b"", NOW_MS);
        assert_eq!(r.status, 400, "{url}");
        assert!(doc(&r)["error"].is_string());
    }
    let r = handle(
        &mut st,
        "DELETE",
        "/_emulator/login?user=alice",
        b"",
        NOW_MS,
    );
    assert_eq!(r.status, 404);
}
