use super::*;
use clap::error::ErrorKind;

/// The configuration, or the error's kind (`DisplayHelp` for a help request).
fn run(args: &[&str]) -> Result<Config, ErrorKind> {
    match parse_args(args.iter().copied()) {
        Ok(Command::Run(c)) => Ok(c),
        Ok(Command::Help(_)) => Err(ErrorKind::DisplayHelp),
        Err(e) => Err(e.kind()),
    }
}

/// A file with `contents` in the temp directory, unique to this process and `name`.
fn temp_file(name: &str, contents: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("tim-emulator-{}-{name}", std::process::id()));
    std::fs::write(&path, contents).expect("write temp file");
    path
}

#[test]
fn no_flags_is_the_default_config() {
    assert_eq!(run(&[]), Ok(Config::default()));
}

#[test]
fn help_is_asked_for_anywhere() {
    assert!(matches!(
        parse_args(["--listen", "x", "--help"]),
        Ok(Command::Help(_))
    ));
    let Ok(Command::Help(text)) = parse_args(["-h"]) else {
        panic!("-h is help");
    };
    for flag in [
        "--listen",
        "--sdkappid",
        "--secret-key",
        "--admin",
        "--account-cap",
        "--rate-limit",
        "--batch-rate-limit",
        "--reimport-block",
        "--latency-ms",
        "--fault-502-rate",
        "--fault-malformed-rate",
        "--fault-fail-accounts-rate",
        "--fault-code",
        "--seed",
        "--jwks",
        "--help",
        "GET /_emulator/jwks",
        "POST /_emulator/reset",
        "GET /_emulator/stats",
        "GET /_emulator/kicks",
        "GET /_emulator/deleted",
        "/_emulator/login",
        "multiaccount_import",
        "portrait_get",
    ] {
        assert!(text.contains(flag), "{flag} missing from:\n{text}");
    }
    // The demo key is not shown: help text gets pasted into issues.
    assert!(!text.contains(DEFAULT_SECRET_KEY), "{text}");
}

#[test]
fn every_flag_sets_its_field() {
    let c = run(&[
        "--listen",
        "127.0.0.1:0",
        "--sdkappid=20000001",
        "--secret-key",
        "k",
        "--admin",
        "a",
        "--admin",
        "b",
        "--account-cap",
        "100",
        "--rate-limit",
        "5",
        "--batch-rate-limit",
        "4",
        "--reimport-block",
        "--fault-fail-accounts-rate",
        "0.9",
        "--latency-ms",
        "30",
        "--fault-502-rate",
        "0.1",
        "--fault-malformed-rate",
        "0.2",
        "--fault-code",
        "70169:0.3",
        "--fault-code",
        "70500:0.1",
        "--seed",
        "9",
    ])
    .expect("valid flags");
    assert_eq!(c.listen, "127.0.0.1:0");
    assert_eq!(c.sdkappid, 20_000_001);
    assert_eq!(c.secret_key, "k");
    assert_eq!(c.admins, vec!["a".to_owned(), "b".to_owned()]);
    assert_eq!((c.account_cap, c.rate_limit, c.seed), (100, 5, Some(9)));
    assert_eq!((c.batch_rate_limit, c.reimport_block), (4, true));
    // Per account, so not summed with the per-call rates (0.1 + 0.2 + 0.3 + 0.1 here).
    assert_eq!(c.faults.fail_accounts_rate, 0.9);
    assert_eq!(c.faults.apis, None);
    assert_eq!(c.faults.latency_ms, 30);
    assert_eq!((c.faults.http502_rate, c.faults.malformed_rate), (0.1, 0.2));
    assert_eq!(c.faults.codes.get(&70169), Some(&0.3));
    assert_eq!(c.faults.codes.get(&70500), Some(&0.1));
    assert!(c.faults.script.is_empty());
    assert_eq!(c.jwks, None);
}

#[test]
fn bad_flags_are_refused() {
    for bad in [
        vec!["--nope"],
        vec!["--sdkappid"],
        vec!["--sdkappid", "x"],
        vec!["--sdkappid", "+1"],
        vec!["--sdkappid", "1", "--sdkappid", "2"],
        vec!["--listen", ""],
        vec!["--listen="],
        vec!["--fault-502-rate", "2"],
        vec!["--fault-502-rate", "NaN"],
        vec!["--fault-malformed-rate", "-0.5"],
        vec!["--fault-code", "70169"],
        vec!["--fault-code", "0:0.1"],
        vec!["--fault-code", "502:0.1"],
        vec!["--fault-code", "70169:x"],
        vec!["--fault-code", "70169:1.5"],
        vec!["--fault-502-rate", "0.7", "--fault-code", "70169:0.7"],
        vec!["--admin", ""],
        vec!["--admin", &"a".repeat(33)],
        vec!["--secret-key", ""],
        vec!["--latency-ms", "-5"],
        vec!["--latency-ms", "600001"],
        vec!["--rate-limit", "4294967296"],
        vec!["--batch-rate-limit", "-1"],
        vec!["--batch-rate-limit", "x"],
        vec!["--reimport-block=yes"],
        vec!["--fault-fail-accounts-rate", "1.01"],
        vec!["--fault-fail-accounts-rate", "x"],
        vec!["--seed", "-1"],
        vec!["positional"],
    ] {
        let result = run(&bad);
        assert!(result.is_err(), "{bad:?}");
        assert_ne!(result, Err(ErrorKind::DisplayHelp), "{bad:?}");
    }
    // Every refusal exits with status 2, like the hand-written parser did.
    let e = parse_args(["--nope"]).expect_err("unknown flag");
    assert_eq!(e.exit_code(), 2);
}

#[test]
fn at_most_ten_distinct_admins() {
    let names: Vec<String> = (0..11).map(|i| format!("a{i}")).collect();
    let args = |n: usize| -> Vec<&str> {
        names[..n]
            .iter()
            .flat_map(|a| ["--admin", a.as_str()])
            .collect()
    };
    assert_eq!(run(&args(11)), Err(ErrorKind::TooManyValues));
    let mut ten = args(10);
    // A repeated name is one admin.
    ten.extend(["--admin", "a0", "--admin=a9"]);
    assert_eq!(run(&ten).map(|c| c.admins.len()), Ok(10));
}

#[test]
fn values_may_start_with_a_hyphen() {
    let c = run(&[
        "--secret-key",
        "-k",
        "--admin",
        "-ops",
        "--listen",
        "--help",
    ]);
    let c = c.expect("hyphenated values");
    assert_eq!((c.secret_key.as_str(), c.listen.as_str()), ("-k", "--help"));
    assert_eq!(c.admins, vec!["-ops".to_owned()]);
}

#[test]
fn later_fault_code_wins() {
    let c = run(&["--fault-code", "70169:0.9", "--fault-code", "70169:0.1"]);
    assert_eq!(
        c.map(|c| c.faults.codes.get(&70169).copied()),
        Ok(Some(0.1))
    );
}

#[test]
fn jwks_file_is_read_at_startup() {
    let text = "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"k1\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}\n";
    let path = temp_file("jwks.json", text);
    let c = run(&["--jwks", &path.to_string_lossy()]);
    assert_eq!(c.map(|c| c.jwks), Ok(Some(text.to_owned())));
    let _ = std::fs::remove_file(&path);
    assert_eq!(
        run(&["--jwks", &path.to_string_lossy()]),
        Err(ErrorKind::Io)
    );
    assert!(run(&["--jwks", ""]).is_err());
}

#[test]
fn jwks_file_must_be_a_key_set() {
    for (name, text) in [
        ("not-json", "keys"),
        ("array", "[]"),
        ("one-key", "{\"kty\":\"RSA\"}"),
        ("keys-object", "{\"keys\":{}}"),
    ] {
        let path = temp_file(name, text);
        let result = run(&["--jwks", &path.to_string_lossy()]);
        let _ = std::fs::remove_file(&path);
        assert_eq!(result, Err(ErrorKind::InvalidValue), "{name}");
    }
}

#[test]
fn new_flags_default_to_tencents_limits() {
    let c = run(&[]).expect("no flags");
    assert_eq!((c.rate_limit, c.batch_rate_limit), (200, 100));
    assert!(!c.reimport_block);
    assert_eq!(c.faults.fail_accounts_rate, 0.0);
    let c = run(&["--batch-rate-limit", "0"]).expect("0 disables");
    assert_eq!(c.batch_rate_limit, 0);
}
