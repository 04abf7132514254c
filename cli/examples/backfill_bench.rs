//! Benchmark (not a test): backfill 100,000 users from an NDJSON file into the Tencent emulator
//! at Tencent's quota and print the wall time, the Tencent calls (1,000 `multiaccount_import` plus
//! any follow-ups), the most calls of one API in any one-second window, the emulator's breach
//! count, and how far the time is from the quota-bound 10 s (100,000 / 100 per call / 100 calls/s).
//!
//! `cargo run -p tim-onboard-cli --release --example backfill_bench -- [--users N] [--emulator PATH]
//! [--fail-accounts-rate F]` (F: the emulator's chance that an account lands in `FailAccounts`, so
//! the follow-up `account_import` calls show).
//! (the emulator binary defaults to target/release/tim-emulator: `cargo build -p tim-emulator --release`).

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;
use tim_onboard_cli::backfill::{self, Options};
use tim_onboard_cli::io::NativeIo;
use tim_onboard_cli::progress::Progress;
use tim_onboard_cli::source::file::{Fields, FileSource};
use tim_onboard_cli::tencent::Tencent;

fn main() {
    let mut users = 100_000usize;
    let mut emulator = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../target/release/tim-emulator"
    ));
    let mut fail_rate = String::from("0");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--users", Some(n)) => users = n.parse().unwrap_or(users),
            ("--emulator", Some(p)) => emulator = PathBuf::from(p),
            ("--fail-accounts-rate", Some(f)) => fail_rate = f,
            _ => {
                eprintln!(
                    "usage: backfill_bench [--users N] [--emulator PATH] [--fail-accounts-rate F]"
                );
                std::process::exit(2);
            }
        }
    }
    let mut child = match Command::new(&emulator)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--fault-fail-accounts-rate",
            &fail_rate,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "cannot start {}: {e} (cargo build -p tim-emulator --release)",
                emulator.display()
            );
            std::process::exit(2);
        }
    };
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    let origin = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_owned();

    let dir = std::env::temp_dir().join(format!("tim-onboard-bench-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let file = dir.join("users.ndjson");
    let mut f =
        std::io::BufWriter::new(std::fs::File::create(&file).expect("create the users file"));
    for i in 0..users {
        let _ = writeln!(
            f,
            r#"{{"id":"user_{i:08}","name":"Bench User {i}","avatar":"https://img.example.com/{i}.png"}}"#
        );
    }
    drop(f);

    let settings = [
        ("TIM_SDKAPPID", "1400000000"),
        (
            "TIM_SECRET_KEY",
            "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e",
        ),
        ("TIM_BASE_URL", origin.as_str()),
    ];
    let get = |k: &str| {
        settings
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| (*v).to_owned())
    };
    let cfg = tim_onboard::config::TimConfig::load(&get).expect("settings");
    let rule = tim_onboard::config::userid_rule(&get, "STANDARD", &[]).expect("rule");
    let tencent = Tencent::new(cfg, Default::default());
    let io = NativeIo::new(tim_onboard_cli::io::MAX_RATE);
    io.record_sends();
    let started = Instant::now();
    let mut source =
        FileSource::open(&file, None, &Fields::default(), "standard", 0).expect("read the file");
    let opts = Options {
        provider: "standard",
        rule,
        dry_run: false,
        resume: false,
        skip_existing: false,
        checkpoint: dir.join("bench.checkpoint.json"),
        failures: dir.join("bench.failures.ndjson"),
        batch: 100,
    };
    let mut progress = Progress::Off;
    let report = backfill::run(
        &mut source,
        &opts,
        Some(&tencent),
        &io,
        &mut progress,
        &mut std::io::sink(),
    )
    .expect("backfill");
    let wall = started.elapsed().as_secs_f64();

    let stats: serde_json::Value = ureq::get(&format!("{origin}/_emulator/stats"))
        .call()
        .ok()
        .and_then(|mut r| r.body_mut().read_to_vec().ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);

    let sends = io.sends();
    let mut worst = 0usize;
    for api in [
        tim_onboard::tim::MULTIACCOUNT_IMPORT_PATH,
        tim_onboard::tim::ACCOUNT_IMPORT_PATH,
    ] {
        let times: Vec<Instant> = sends
            .iter()
            .filter(|(p, _)| p == api)
            .map(|(_, t)| *t)
            .collect();
        let mut lo = 0;
        for hi in 0..times.len() {
            while times[hi].duration_since(times[lo]).as_secs_f64() >= 1.0 {
                lo += 1;
            }
            worst = worst.max(hi - lo + 1);
        }
    }
    let bound = users as f64 / 100.0 / 100.0;
    let calls = io.calls();
    println!("users                     {users}");
    println!("imported                  {}", report.run.imported);
    println!("failed                    {}", report.run.failed_total());
    println!("wall time                 {wall:.2} s");
    println!("quota-bound time          {bound:.2} s");
    println!(
        "over the bound            {:+.1} %",
        (wall / bound - 1.0) * 100.0
    );
    println!(
        "multiaccount_import calls {}",
        calls
            .get(tim_onboard::tim::MULTIACCOUNT_IMPORT_PATH)
            .copied()
            .unwrap_or(0)
    );
    println!(
        "account_import calls      {}",
        calls
            .get(tim_onboard::tim::ACCOUNT_IMPORT_PATH)
            .copied()
            .unwrap_or(0)
    );
    println!(
        "average calls/s           {:.1}",
        io.total_calls() as f64 / wall
    );
    println!("most calls in any 1 s     {worst} (limit 100 per API)");
    println!(
        "emulator rate breaches    {}",
        stats["breaches"]["multiaccount_import"]
            .as_u64()
            .unwrap_or(0)
            + stats["breaches"]["account_import"].as_u64().unwrap_or(0)
    );
    let ok = report.run.imported as usize == users && worst <= 100 && wall <= bound * 1.15;
    println!(
        "result                    {}",
        if ok {
            "within 15% of the quota bound, never over the limit"
        } else {
            "MISSED the target"
        }
    );
}
