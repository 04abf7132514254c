//! A full backfill per provider from a local fake of its list API (the vendor's documented
//! paging, a 429 with `Retry-After`, credentials checked) into the Tencent emulator: every user
//! is imported exactly once, under the UserID the Worker's `GET /userid` answers, with the Nick
//! its webhook rule gives; a wrong key stops the run with a clear message.

mod support;

use std::time::Duration;
use support::{cli, fake, scratch, text, tim_env, worker_userid, wrangler, Emulator};

/// Runs a backfill of `n` fake users of `provider` and checks the result.
fn full_backfill(
    provider: &str,
    n: usize,
    key: &str,
    creds: &[(&str, &str)],
    vars: &[(&str, &str)],
) {
    let emu = Emulator::start(&[]);
    let users = fake::users(provider, n);
    let server = fake::start(
        provider,
        users.iter().map(|(u, _)| u.clone()).collect(),
        key,
    );
    let dir = scratch(provider);
    let config = wrangler(&dir, vars);
    let mut env = tim_env(&emu);
    env.extend(
        creds
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let out = cli(
        &dir,
        &env,
        &[
            "backfill",
            "--provider",
            provider,
            "--api",
            "--api-url",
            &server.origin,
            "--config",
            config.to_str().unwrap(),
            "--no-dev-vars",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let accounts = emu.accounts();
    assert_eq!(accounts.len(), n, "{}", text(&out));
    // The Worker sees the same settings: the environment and the wrangler.toml [vars].
    let mut settings = tim_env(&emu);
    settings.extend(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let shape = tim_onboard_cli::profile::Shape::of_provider(provider);
    for (user, nick) in &users {
        let id = tim_onboard_cli::profile::id_of(shape, user).expect("id");
        let user_id = worker_userid(&settings, provider, &id);
        let (got_nick, _, imports) = accounts
            .get(&user_id)
            .unwrap_or_else(|| panic!("{provider} user {id} is not imported as {user_id}"));
        assert_eq!(*imports, 1, "{user_id} imported {imports} times");
        assert_eq!(got_nick, nick, "{user_id}");
    }
    assert_eq!(emu.breaches(), 0);
    // The 429 was honoured: the retry came at least its Retry-After (1 s) later.
    let hits = server.hits.lock().unwrap().clone();
    if let Some(i) = hits.iter().position(|h| h.3 == 429) {
        let wait = hits[i + 1].0.duration_since(hits[i].0);
        assert!(wait >= Duration::from_millis(950), "retried after {wait:?}");
    } else {
        assert!(
            provider == "auth0" && n > 1000,
            "no 429 was answered: {} requests",
            hits.len()
        );
    }
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(
        summary.contains(&format!(
            "imported         {:>10}",
            tim_onboard_cli::summary::thousands(n as u64)
        )),
        "{summary}"
    );
}

#[test]
fn clerk_offset_pages() {
    full_backfill(
        "clerk",
        1_234,
        "sk_test_abc",
        &[("CLERK_SECRET_KEY", "sk_test_abc")],
        &[],
    );
}

#[test]
fn auth0_list_pages() {
    full_backfill(
        "auth0",
        120,
        "mgmt-token",
        &[("AUTH0_MANAGEMENT_TOKEN", "mgmt-token")],
        &[("AUTH0_USERID_PREFIX", "a0_")],
    );
}

#[test]
fn auth0_export_job_past_the_listing_cap() {
    full_backfill(
        "auth0",
        1_500,
        "mgmt-token",
        &[("AUTH0_MANAGEMENT_TOKEN", "mgmt-token")],
        &[],
    );
}

#[test]
fn supabase_page_and_link() {
    full_backfill(
        "supabase",
        1_234,
        "service-role",
        &[("SUPABASE_SERVICE_ROLE_KEY", "service-role")],
        &[],
    );
}

#[test]
fn workos_after_cursor() {
    full_backfill(
        "workos",
        250,
        "sk_test_w",
        &[("WORKOS_API_KEY", "sk_test_w")],
        &[],
    );
}

#[test]
fn stytch_next_cursor() {
    full_backfill(
        "stytch",
        1_234,
        "project-test-1:secret-test-1",
        &[
            ("STYTCH_PROJECT_ID", "project-test-1"),
            ("STYTCH_SECRET", "secret-test-1"),
        ],
        &[],
    );
}

#[test]
fn kinde_next_token() {
    full_backfill(
        "kinde",
        1_234,
        "m2m",
        &[("KINDE_API_TOKEN", "m2m")],
        &[("KINDE_USERID_MODE", "compact")],
    );
}

#[test]
fn okta_link_next() {
    full_backfill("okta", 450, "00Abc", &[("OKTA_API_TOKEN", "00Abc")], &[]);
}

#[test]
fn logto_page_total_number() {
    full_backfill(
        "logto",
        250,
        "m2m-logto",
        &[("LOGTO_API_TOKEN", "m2m-logto")],
        &[],
    );
}

#[test]
fn zitadel_offset() {
    full_backfill(
        "zitadel",
        1_234,
        "pat",
        &[("ZITADEL_PAT", "pat")],
        &[("ZITADEL_USERID_PREFIX", "zt_")],
    );
}

#[test]
fn a_refused_key_stops_with_a_clear_message() {
    let emu = Emulator::start(&[]);
    let users = fake::users("clerk", 10);
    let server = fake::start(
        "clerk",
        users.into_iter().map(|(u, _)| u).collect(),
        "sk_right",
    );
    let dir = scratch("clerk-401");
    let mut env = tim_env(&emu);
    env.push(("CLERK_SECRET_KEY".into(), "sk_wrong".into()));
    let out = cli(
        &dir,
        &env,
        &[
            "backfill",
            "--provider",
            "clerk",
            "--api",
            "--api-url",
            &server.origin,
            "--no-dev-vars",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("clerk refused the credentials in CLERK_SECRET_KEY (HTTP 401): The provided secret key is invalid"), "{err}");
    assert!(!err.contains("sk_wrong"), "the key leaked: {err}");
    assert!(emu.accounts().is_empty());
    // No key at all is a usage error that names the setting.
    let out = cli(
        &dir,
        &tim_env(&emu),
        &["backfill", "--provider", "clerk", "--api", "--no-dev-vars"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("CLERK_SECRET_KEY is not set"),
        "{}",
        text(&out)
    );
}
