//! Native microbenchmarks of the core (criterion): what the cryptography and parsing cost by
//! themselves, without the Workers runtime. `make bench` runs them (through bench/run.mjs) and
//! reports ns per op next to the in-workerd figures; on its own:
//!
//! ```sh
//! cargo bench --bench core
//! ```
//!
//! Note: `cargo bench` uses the release profile (opt-level "z", as the wasm does), so these are
//! size-optimised native figures, a floor for what the same code costs inside wasm.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use tim_onboard::tim::parse_response;
use tim_onboard::usersig::{self, AdminSigCache};
use tim_onboard::webhook::{clerk, standard};

const SDKAPPID: u64 = 1_400_000_000;
const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
const ADMIN: &str = "administrator";
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const NOW: i64 = 1_700_000_000;
const FIXTURE: &str = include_str!("../tests/fixtures/clerk_user_created.json");
const TENCENT_OK: &[u8] = br#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}"#;

/// Clerk's `user.created` fixture padded to exactly `len` bytes with an `unsafe_metadata` note,
/// so the signed body has a realistic shape and a fixed size.
fn clerk_body(len: usize) -> Vec<u8> {
    let compact: serde_json::Value = serde_json::from_str(FIXTURE).expect("fixture is JSON");
    let base = compact.to_string();
    let marker = r#""unsafe_metadata":{}"#;
    assert!(
        base.contains(marker),
        "fixture has no empty unsafe_metadata"
    );
    let overhead = base.len() + r#"{"note":""}"#.len() - "{}".len();
    assert!(overhead <= len, "fixture is larger than {len} bytes");
    let pad = "x".repeat(len - overhead);
    let body = base.replacen(
        marker,
        &format!(r#""unsafe_metadata":{{"note":"{pad}"}}"#),
        1,
    );
    assert_eq!(body.len(), len);
    body.into_bytes()
}

fn usersig_benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("usersig");
    g.bench_function("generate", |b| {
        b.iter(|| {
            usersig::generate(
                black_box(SDKAPPID),
                black_box(KEY),
                black_box(ADMIN),
                black_box(NOW),
                86_400,
                None,
            )
        })
    });
    let sig = usersig::generate(SDKAPPID, KEY, ADMIN, NOW, 86_400, None);
    g.bench_function("verify", |b| {
        b.iter(|| {
            usersig::verify(
                black_box(SDKAPPID),
                black_box(KEY),
                black_box(ADMIN),
                black_box(&sig),
                NOW + 10,
                None,
            )
            .expect("valid")
        })
    });
    // What every request pays for the admin UserSig once it is cached.
    let mut cache = AdminSigCache::default();
    cache.get(SDKAPPID, KEY, ADMIN, 86_400, NOW);
    g.bench_function("admin_cache_hit", |b| {
        b.iter(|| {
            cache
                .get(
                    black_box(SDKAPPID),
                    black_box(KEY),
                    black_box(ADMIN),
                    86_400,
                    black_box(NOW + 10),
                )
                .len()
        })
    });
    g.finish();
}

fn webhook_benches(c: &mut Criterion) {
    let secret = standard::Secret::parse(SECRET).expect("valid secret");
    let body = clerk_body(2048);
    let msg_id = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";
    let sig = secret.sign(msg_id, NOW, &body);
    let ts = NOW.to_string();
    let headers: &[(&str, &str)] = &[
        ("svix-id", msg_id),
        ("svix-timestamp", &ts),
        ("svix-signature", &sig),
        ("content-type", "application/json"),
    ];
    let secrets = std::slice::from_ref(&secret);

    let mut g = c.benchmark_group("webhook");
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("verify_2KiB", |b| {
        b.iter(|| {
            standard::verify(
                black_box(secrets),
                black_box(&headers),
                black_box(&body),
                NOW,
            )
            .expect("valid")
        })
    });
    g.bench_function("clerk_parse_2KiB", |b| {
        b.iter(|| clerk::parse(black_box(&body), None).expect("parses"))
    });
    g.throughput(Throughput::Elements(1));
    g.bench_function("secret_parse", |b| {
        b.iter(|| standard::Secret::parse(black_box(SECRET)).expect("valid"))
    });
    g.finish();

    let mut g = c.benchmark_group("tim");
    g.bench_function("parse_response", |b| {
        b.iter(|| parse_response(black_box(200), black_box(TENCENT_OK)).expect("ok"))
    });
    g.finish();
}

criterion_group!(benches, usersig_benches, webhook_benches);
criterion_main!(benches);
