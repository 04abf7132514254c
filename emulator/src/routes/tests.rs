use crate::test_support::*;
use crate::{handle, Api, Rng, ACCOUNT_IMPORT_PATH, MAX_BODY_BYTES};

#[test]
fn e60009_unknown_v4_path() {
    let mut st = state();
    let r = post(&mut st, "/v4/openim/sendmsg?sdkappid=1", BODY);
    assert_eq!(code(&r), 60009);
    // A valid admin URL does not help, nor does a prefix or suffix of a known path.
    let url = admin_url().replace("account_import", "account_importx");
    assert_eq!(code(&post(&mut st, &url, BODY)), 60009);
    let url = admin_url().replace(
        "/v4/im_open_login_svc/account_import",
        "/v4/im_open_login_svc",
    );
    assert_eq!(code(&post(&mut st, &url, BODY)), 60009);
    assert_eq!(code(&post(&mut st, "/v4/", "")), 60009);
    // Not an API the emulator implements: not logged, not counted.
    assert_eq!(st.total_calls(), 0);
    assert_eq!(
        get(&mut st, "/_emulator/stats")["calls"]["account_import"],
        0
    );
}

#[test]
fn usersig_never_in_log_or_reply() {
    let mut st = state_with(|c| c.account_cap = 1);
    let s = sig(ADMIN);
    let other = sig("alice");
    let mut replies = Vec::new();
    let bodies = [
        "",
        "x",
        "{}",
        BODY,
        r#"{"UserID":"zed"}"#,
        r#"{"UserID":"a","Nick":1}"#,
    ];
    let urls = [
        url_for(ADMIN, &s),
        url_for("alice", &other),
        url_for("bob", &other),
        format!("{}&usersig={s}", url_for(ADMIN, &s)),
        admin_url_with("random", Some("x")),
        admin_url_with("contenttype", None),
        url_for(ADMIN, &format!("{s}x")),
    ];
    for url in &urls {
        for body in bodies {
            replies.push(post(&mut st, url, body));
            replies.push(handle(&mut st, "GET", url, body.as_bytes(), NOW_MS));
        }
    }
    set_faults(
        &mut st,
        r#"{"script":["502","70169","malformed","latency:1"]}"#,
    );
    for _ in 0..4 {
        replies.push(import(&mut st, BODY));
    }
    for api in Api::ALL {
        for url in &urls {
            replies.push(post(&mut st, &for_api(api, url), r#"{"UserID":"zed"}"#));
        }
    }
    replies.push(handle(
        &mut st,
        "GET",
        &format!("/_emulator/login?user=alice&usersig={other}"),
        b"",
        NOW_MS,
    ));
    replies.push(handle(
        &mut st,
        "GET",
        &format!("/_emulator/login?user=bob&usersig={other}"),
        b"",
        NOW_MS,
    ));
    replies.push(handle(&mut st, "GET", "/_emulator/stats", b"", NOW_MS));
    replies.push(handle(&mut st, "GET", "/_emulator/kicks", b"", NOW_MS));
    replies.push(handle(&mut st, "GET", "/_emulator/deleted", b"", NOW_MS));
    replies.push(handle(&mut st, "GET", "/_emulator/calls", b"", NOW_MS));
    replies.push(handle(&mut st, "GET", "/_emulator/accounts", b"", NOW_MS));
    replies.push(handle(&mut st, "GET", "/_emulator/faults", b"", NOW_MS));
    for r in &replies {
        let text = String::from_utf8_lossy(&r.body);
        assert!(!text.contains(&s) && !text.contains(&other), "{text}");
        // Not even a long fragment of it.
        assert!(!text.contains(s.get(..24).unwrap_or("")), "{text}");
    }
    let log = format!("{:?}", st.calls());
    assert!(!log.contains(s.get(..24).unwrap_or("")));
    assert!(!log.contains(other.get(..24).unwrap_or("")));
}

#[test]
fn never_panics_on_junk() {
    let mut st = state();
    let mut rng = Rng::new(1);
    let pieces = [
        "",
        "?",
        "&",
        "=",
        "%",
        "%4",
        "%zz",
        "%ff",
        "+",
        "sdkappid=",
        "sdkappid=1400000000",
        "identifier=administrator",
        "usersig=eJy",
        "random=1",
        "contenttype=json",
        "é",
        "\u{0}",
    ];
    let paths: Vec<&str> = Api::ALL
        .iter()
        .map(|a| a.path())
        .chain([ACCOUNT_IMPORT_PATH, "/_emulator/login"])
        .collect();
    for _ in 0..3000 {
        let p = (rng.next_u64() % paths.len() as u64) as usize;
        let mut url = String::from(paths.get(p).copied().unwrap_or(ACCOUNT_IMPORT_PATH));
        for _ in 0..(rng.next_u64() % 8) {
            let i = (rng.next_u64() % pieces.len() as u64) as usize;
            url.push_str(pieces.get(i).copied().unwrap_or(""));
            url.push(if rng.next_u64() & 1 == 0 { '&' } else { '?' });
        }
        let len = (rng.next_u64() % 64) as usize;
        let body: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        let method = ["POST", "GET", "", "post"][(rng.next_u64() % 4) as usize];
        let now = rng.next_u64();
        let r = handle(&mut st, method, &url, &body, now);
        let control = url.starts_with("/_emulator/") && matches!(r.status, 400 | 404);
        assert!(
            r.status == 200 || r.status == 502 || control,
            "{url} {}",
            r.status
        );
        let _ = handle(&mut st, "POST", "/_emulator/faults", &body, now);
    }
    // Bodies that are JSON, or nearly, in the shapes the APIs take.
    let tokens = [
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"Accounts\"",
        "\"AccountList\"",
        "\"UserID\"",
        "\"Nick\"",
        "\"CheckItem\"",
        "\"DeleteItem\"",
        "\"From_Account\"",
        "\"ProfileItem\"",
        "\"Tag\"",
        "\"Value\"",
        "\"To_Account\"",
        "\"TagList\"",
        "\"Tag_Profile_IM_Nick\"",
        "\"alice\"",
        "\"\"",
        "1",
        "null",
        "true",
    ];
    let mut st = state_with(|c| {
        c.rate_limit = 0;
        c.batch_rate_limit = 0;
        c.account_cap = 3;
    });
    for _ in 0..5000 {
        let api = Api::ALL
            .get((rng.next_u64() % Api::ALL.len() as u64) as usize)
            .copied()
            .unwrap_or(Api::AccountImport);
        let body: String = (0..(rng.next_u64() % 24))
            .map(|_| {
                tokens
                    .get((rng.next_u64() % tokens.len() as u64) as usize)
                    .copied()
                    .unwrap_or("")
            })
            .collect();
        let r = call(&mut st, api, &body);
        assert_eq!(r.status, 200);
        code(&r);
    }
    st.reset();
    let big = vec![b'['; MAX_BODY_BYTES + 1];
    assert_eq!(
        code(&import(&mut st, &String::from_utf8_lossy(&big))),
        60003
    );
    let deep = "[".repeat(100_000);
    assert_eq!(code(&import(&mut st, &deep)), 60003);
    for api in Api::ALL {
        let want = if matches!(api, Api::PortraitSet | Api::PortraitGet) {
            40001
        } else {
            60003
        };
        let big = String::from_utf8_lossy(&big).into_owned();
        assert_eq!(code(&call(&mut st, api, &big)), want, "{api:?}");
        assert_eq!(code(&call(&mut st, api, &deep)), want, "{api:?}");
    }
}
