//! Replays every fuzz input natively, on stable: the seeds built from `tests/fixtures/`, the
//! committed corpora (`corpus/<target>/`) and the crash regressions (`regressions/<target>/`).
//! Part of `make test`: a change that makes any of them panic fails here, without a fuzzer.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use tim_onboard_fuzz::{seeds, TARGETS};

/// Runs target `name` on every input it has; fails naming each input that panics.
fn replay(name: &str) {
    let (_, run) = TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .expect("a target of that name");
    let mut inputs: Vec<(String, Vec<u8>)> = seeds::seeds(name)
        .into_iter()
        .enumerate()
        .map(|(i, s)| (format!("seed #{i}"), s))
        .collect();
    assert!(!inputs.is_empty(), "{name} has no seeds");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(name)) else {
            continue;
        };
        let mut files: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        files.sort();
        for f in files.into_iter().filter(|f| f.is_file()) {
            let data = std::fs::read(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            inputs.push((
                format!("{dir}/{name}/{}", f.file_name().unwrap().to_string_lossy()),
                data,
            ));
        }
    }
    let failed: Vec<String> = inputs
        .iter()
        .filter(|(_, data)| catch_unwind(AssertUnwindSafe(|| run(data))).is_err())
        .map(|(label, _)| label.clone())
        .collect();
    assert!(
        failed.is_empty(),
        "{name}: {} of {} inputs panic (reproduce: cargo run --manifest-path fuzz/Cargo.toml \
         --no-default-features --bin {name} -- fuzz/<file>): {failed:#?}",
        failed.len(),
        inputs.len()
    );
    eprintln!("{name}: {} inputs replayed", inputs.len());
}

macro_rules! replay_tests {
    ($($t:ident),*) => {$(
        #[test]
        fn $t() {
            replay(stringify!($t));
        }
    )*};
}

replay_tests!(webhooks, pipeline, usersig, tencent, identity, parsers, jobs);

#[test]
fn every_target_is_replayed() {
    let names: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        ["webhooks", "pipeline", "usersig", "tencent", "identity", "parsers", "jobs"]
    );
}

/// The harness still signs as each provider verifies: every fixture, signed, is accepted. If a
/// provider changes its scheme or headers, this fails before the fuzzer silently stops reaching
/// the parsers.
#[test]
fn signed_fixtures_are_accepted() {
    let signed: Vec<Vec<u8>> = seeds::webhooks()
        .into_iter()
        .filter(|s| s[1] & 1 == 1)
        .collect();
    assert!(signed.len() >= 36, "{} signed seeds", signed.len());
    for s in &signed {
        let name = tim_onboard::webhook::ALL[usize::from(s[0])].name;
        if let Err(e) = tim_onboard_fuzz::targets::webhooks::receive(s) {
            panic!("{name} refuses a signed fixture (mode {}): {e}", s[1]);
        }
    }
    for s in seeds::pipeline() {
        for r in tim_onboard_fuzz::targets::pipeline::responses(&s) {
            assert!(r.status != 401 || r.body.contains("replayed"), "{}", r.body);
        }
    }
}
