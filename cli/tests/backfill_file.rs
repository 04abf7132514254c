//! Backfills from export files into the Tencent emulator: every vendor format imports its users
//! under the Worker's UserIDs; a second run imports nothing twice; an interrupted run resumes
//! where it stopped; failed records are written and fed back; the rate cap holds; a dry run
//! calls nothing.

mod support;

use serde_json::json;
use std::path::Path;
use support::{cli, scratch, text, tim_env, worker_userid, wrangler, Emulator};

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

/// `n` generic NDJSON users.
fn ndjson(dir: &Path, n: usize) -> String {
    let text: String = (0..n)
        .map(|i| format!("{}\n", json!({"id": format!("u{i:06}"), "name": format!("User {i}"), "avatar": format!("https://a/{i}")})))
        .collect();
    let path = dir.join("users.ndjson");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn args<'a>(file: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "backfill",
        "--provider",
        "standard",
        "--file",
        file,
        "--no-dev-vars",
    ];
    a.extend_from_slice(extra);
    a
}

#[test]
fn every_vendor_export_imports_under_the_worker_userids() {
    let emu = Emulator::start(&[]);
    let cases = [
        ("clerk", "clerk_export.csv", 3),
        ("auth0", "auth0_export.ndjson", 2),
        ("auth0", "auth0_export.csv", 2),
        ("firebase", "firebase_export.json", 2),
        ("supabase", "supabase_users.csv", 2),
    ];
    for (provider, file, n) in cases {
        emu.post("/_emulator/reset", &json!({}));
        let dir = scratch(provider);
        let config = wrangler(&dir, &[("AUTH0_USERID_PREFIX", "a0_")]);
        let out = cli(
            &dir,
            &tim_env(&emu),
            &[
                "backfill",
                "--provider",
                provider,
                "--file",
                &fixture(file),
                "--config",
                config.to_str().unwrap(),
                "--no-dev-vars",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{file}: {}", text(&out));
        let accounts = emu.accounts();
        assert_eq!(accounts.len(), n, "{file}: {accounts:?}");
        let mut settings = tim_env(&emu);
        settings.push(("AUTH0_USERID_PREFIX".into(), "a0_".into()));
        let items = tim_onboard_cli::source::file::FileSource::open(
            Path::new(&fixture(file)),
            None,
            &Default::default(),
            provider,
            0,
        )
        .unwrap();
        let mut items = items;
        use tim_onboard_cli::source::Source;
        for p in items.fetch(None).unwrap().items {
            if let tim_onboard_cli::profile::Parsed::User(u) = p {
                let id = worker_userid(&settings, provider, &u.user_id);
                let got = accounts
                    .get(&id)
                    .unwrap_or_else(|| panic!("{file}: {} not imported as {id}", u.user_id));
                assert_eq!((&got.0, &got.1, got.2), (&u.nick, &u.face_url, 1), "{file}");
            }
        }
    }
}

#[test]
fn a_second_run_with_resume_imports_nothing_twice() {
    let emu = Emulator::start(&[]);
    let dir = scratch("twice");
    let file = ndjson(&dir, 1_000);
    let out = cli(&dir, &tim_env(&emu), &args(&file, &[]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(emu.calls("multiaccount_import"), 10);
    let out = cli(&dir, &tim_env(&emu), &args(&file, &["--resume"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(emu.calls("multiaccount_import"), 10, "{}", text(&out));
    assert_eq!(emu.calls("account_import"), 0);
    let accounts = emu.accounts();
    assert_eq!(accounts.len(), 1_000);
    assert!(accounts.values().all(|a| a.2 == 1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("imported                  0"), "{err}");
    assert!(err.contains("all runs:"), "{err}");
}

#[test]
fn an_interrupted_run_resumes_where_it_stopped() {
    let emu = Emulator::start(&[]);
    let dir = scratch("resume");
    let file = ndjson(&dir, 1_000);
    // The fourth batch is refused for a reason an operator must fix: the run stops there.
    emu.post(
        "/_emulator/faults",
        &json!({"script": ["ok", "ok", "ok", "70009"], "apis": ["multiaccount_import"]}),
    );
    let out = cli(&dir, &tim_env(&emu), &args(&file, &[]));
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("TIM_SECRET_KEY is not the secret key of this SDKAppID"),
        "{err}"
    );
    assert!(err.contains("--resume"), "{err}");
    assert_eq!(emu.accounts().len(), 300);
    let cp: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("tim-onboard-standard.checkpoint.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(cp["position"]["index"], 300);
    assert_eq!(cp["complete"], false);
    emu.post("/_emulator/faults", &json!({}));
    let out = cli(&dir, &tim_env(&emu), &args(&file, &["--resume"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let accounts = emu.accounts();
    assert_eq!(accounts.len(), 1_000);
    assert!(
        accounts.values().all(|a| a.2 == 1),
        "an account was imported twice"
    );
    // 3 + the refused one + 7.
    assert_eq!(emu.calls("multiaccount_import"), 11);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("resumed at the start (record 300"), "{err}");
    assert!(err.contains("imported                700"), "{err}");
}

#[test]
fn failed_records_are_written_and_fed_back() {
    let emu = Emulator::start(&[]);
    let dir = scratch("failures");
    let file = ndjson(&dir, 10);
    // The batch puts every account in FailAccounts; the follow-ups of three are refused (40601).
    emu.post(
        "/_emulator/faults",
        &json!({"script": ["fail_accounts", "40601", "40601", "40601"]}),
    );
    let out = cli(
        &dir,
        &tim_env(&emu),
        &args(&file, &["--failures", "failed.ndjson"]),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(emu.calls("multiaccount_import"), 1);
    assert_eq!(
        emu.calls("account_import"),
        10,
        "FailAccounts are followed up one by one"
    );
    assert_eq!(emu.accounts().len(), 7);
    let failed = std::fs::read_to_string(dir.join("failed.ndjson")).unwrap();
    let lines: Vec<serde_json::Value> = failed
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{failed}");
    assert!(lines
        .iter()
        .all(|l| l["code"] == 40601 && l["name"].as_str().is_some_and(|n| n.starts_with("User "))));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Tencent rejected the account (40601)"),
        "{err}"
    );
    emu.post("/_emulator/faults", &json!({}));
    let out = cli(
        &dir,
        &tim_env(&emu),
        &[
            "backfill",
            "--provider",
            "standard",
            "--file",
            "failed.ndjson",
            "--failures",
            "failed-again.ndjson",
            "--no-dev-vars",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let accounts = emu.accounts();
    assert_eq!(accounts.len(), 10);
    assert!(accounts.iter().all(|(id, a)| a.2 == 1
        && a.0.as_deref()
            == Some(&format!(
                "User {}",
                id.trim_start_matches('u')
                    .trim_start_matches('0')
                    .parse::<u32>()
                    .unwrap_or(0)
            ))));
    assert_eq!(
        std::fs::read_to_string(dir.join("failed-again.ndjson")).unwrap(),
        ""
    );
}

#[test]
fn the_rate_cap_holds_against_a_strict_limit() {
    // The emulator refuses a 51st batch call within any second; --rate 50 never gets there.
    let emu = Emulator::start(&["--batch-rate-limit", "50"]);
    let dir = scratch("rate");
    let file = ndjson(&dir, 3_000);
    let started = std::time::Instant::now();
    let out = cli(&dir, &tim_env(&emu), &args(&file, &["--rate", "50"]));
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(emu.calls("multiaccount_import"), 30);
    assert_eq!(emu.breaches(), 0);
    assert!(took.as_millis() >= 580, "30 calls at 50/s took {took:?}");
    // Above Tencent's quota is refused.
    let out = cli(&dir, &tim_env(&emu), &args(&file, &["--rate", "101"]));
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_dry_run_prints_the_mapping_and_calls_nothing() {
    let emu = Emulator::start(&[]);
    let dir = scratch("dry");
    let config = wrangler(&dir, &[("AUTH0_USERID_PREFIX", "a0_")]);
    // No Tencent settings at all: a dry run needs none.
    let out = cli(
        &dir,
        &[],
        &[
            "backfill",
            "--provider",
            "auth0",
            "--file",
            &fixture("auth0_export.ndjson"),
            "--dry-run",
            "--config",
            config.to_str().unwrap(),
            "--no-dev-vars",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("auth0|5f7c8ec7c33c6c004bbafe82 -> a0_5f7c8ec7c33c6c004bbafe82 (compact)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("google-oauth2|103547991597142817347 -> a0_h"),
        "{stdout}"
    );
    assert!(stdout.contains("(hash)"), "{stdout}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("dry run") && err.contains("imported                  2"),
        "{err}"
    );
    assert!(!dir.join("tim-onboard-auth0.checkpoint.json").exists());
    assert_eq!(
        emu.calls("multiaccount_import") + emu.calls("account_import"),
        0
    );
}
