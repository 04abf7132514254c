//! `userid`, `usersig`, `verify-usersig` and `check` against the Worker's rules and the emulator.

mod support;

use support::{cli, scratch, text, tim_env, worker_userid, wrangler, Emulator, KEY, SDKAPPID};

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn userid_answers_as_the_worker_does() {
    let dir = scratch("userid");
    let config = wrangler(
        &dir,
        &[
            ("CLERK_USERID_PREFIX", "ck_"),
            ("SUPABASE_USERID_MODE", "hash"),
        ],
    );
    // The environment wins over wrangler.toml.
    let env = vec![("SUPABASE_USERID_MODE".to_owned(), "compact".to_owned())];
    let settings = vec![
        ("CLERK_USERID_PREFIX".to_owned(), "ck_".to_owned()),
        ("SUPABASE_USERID_MODE".to_owned(), "compact".to_owned()),
    ];
    for (provider, id) in [
        ("clerk", "user_29w83sxmDNGwOuEthce5gg56FcC"),
        ("supabase", "ff7fc9ae-3b1b-4642-9241-64adb9848a03"),
        ("auth0", "google-oauth2|103547991597142817347"),
        ("kinde", "kp_cfcb1ae5b9254ad99521214014c54f43"),
    ] {
        let out = cli(
            &dir,
            &env,
            &[
                "userid",
                "--provider",
                provider,
                id,
                "--config",
                config.to_str().unwrap(),
                "--no-dev-vars",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
        assert_eq!(
            v["user_id"].as_str().unwrap(),
            worker_userid(&settings, provider, id),
            "{provider} {id}"
        );
        assert_eq!(
            (v["provider"].as_str(), v["id"].as_str()),
            (Some(provider), Some(id))
        );
    }
    let out = cli(
        &dir,
        &[],
        &["userid", "--provider", "github", "x", "--no-dev-vars"],
    );
    assert_eq!(out.status.code(), Some(2));
    let env = vec![("CLERK_USERID_MODE".to_owned(), "verbatim".to_owned())];
    let out = cli(
        &dir,
        &env,
        &[
            "userid",
            "--provider",
            "clerk",
            &"x".repeat(40),
            "--no-dev-vars",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}

#[test]
fn usersig_round_trips_and_the_emulator_accepts_it() {
    let emu = Emulator::start(&[]);
    let dir = scratch("usersig");
    let env = tim_env(&emu);
    let out = cli(
        &dir,
        &env,
        &[
            "usersig",
            "--user",
            "alice",
            "--ttl",
            "3600",
            "--no-dev-vars",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let sig = stdout(&out).trim().to_owned();
    let out = cli(&dir, &env, &["verify-usersig", &sig, "--no-dev-vars"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let o = stdout(&out);
    assert!(
        o.contains("identifier  alice")
            && o.contains(&format!("sdkappid    {SDKAPPID}"))
            && o.contains("valid:"),
        "{o}"
    );
    let out = cli(
        &dir,
        &env,
        &["verify-usersig", &sig, "--user", "bob", "--no-dev-vars"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("70013"), "{}", text(&out));
    let mut wrong = env.clone();
    wrong.retain(|(k, _)| k != "TIM_SECRET_KEY");
    wrong.push(("TIM_SECRET_KEY".into(), "another-key".into()));
    let out = cli(&dir, &wrong, &["verify-usersig", &sig, "--no-dev-vars"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("70009"), "{}", text(&out));
    let out = cli(
        &dir,
        &env,
        &["verify-usersig", "not-a-sig", "--no-dev-vars"],
    );
    assert_eq!(out.status.code(), Some(1));
    // The emulator checks it as Tencent's login would.
    let login = emu.get(&format!("/_emulator/login?user=alice&usersig={sig}"));
    assert_eq!(login["ErrorCode"], 0, "{login}");
    assert_eq!(KEY.len(), 64);
}

#[test]
fn check_calls_account_check_and_explains_refusals() {
    let emu = Emulator::start(&[]);
    let dir = scratch("check");
    let out = cli(&dir, &tim_env(&emu), &["check", "--no-dev-vars"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        stdout(&out)
            .contains("Tencent accepted the key, SDKAppID 1400000000 and admin administrator"),
        "{}",
        text(&out)
    );
    assert_eq!(emu.calls("account_check"), 1);
    let mut wrong = tim_env(&emu);
    wrong.retain(|(k, _)| k != "TIM_SECRET_KEY");
    wrong.push(("TIM_SECRET_KEY".into(), "0".repeat(64)));
    let out = cli(&dir, &wrong, &["check", "--no-dev-vars"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        stdout(&out).contains("70009")
            && stdout(&out).contains("TIM_SECRET_KEY is not the secret key"),
        "{}",
        text(&out)
    );
    let mut other_app = tim_env(&emu);
    other_app.retain(|(k, _)| k != "TIM_SDKAPPID");
    other_app.push(("TIM_SDKAPPID".into(), "1400000001".into()));
    let out = cli(&dir, &other_app, &["check", "--no-dev-vars"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(stdout(&out).contains("Tencent refused"), "{}", text(&out));
    let out = cli(&dir, &[], &["check", "--no-dev-vars"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("TIM_SDKAPPID is not set"),
        "{}",
        text(&out)
    );
}
