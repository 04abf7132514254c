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
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use tim_onboard::http::{Request, Response};
use tim_onboard::ports::{block_on, Io, KeyIo, TransportError};
use tim_onboard::region::EdgeLocation;
use tim_onboard::routes;
use tim_onboard::settings::Settings;
use tim_onboard::state::IsolateState;
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

/// Counts allocations, so the delivery bench can report how many one request makes.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The bench's settings: those of `make bench`'s Worker.
struct BenchSettings;

impl Settings for BenchSettings {
    fn raw(&self, name: &str) -> Option<String> {
        let v = match name {
            "TIM_SDKAPPID" => "1400000000",
            "TIM_SECRET_KEY" => KEY,
            "TIM_ADMIN" => ADMIN,
            "TIM_BASE_URL" => "http://127.0.0.1:8790",
            "CLERK_WEBHOOK_SECRET" => SECRET,
            _ => return None,
        };
        Some(v.to_owned())
    }
}

/// A runtime whose Tencent answers OK at once and whose clock stands still.
struct BenchIo(Cell<u32>);

impl KeyIo for BenchIo {
    async fn get(&self, _url: &str, _timeout_ms: u64) -> Result<(u16, Vec<u8>), TransportError> {
        Err(TransportError::Network("no key fetches".into()))
    }
    async fn verify_jwk(&self, _alg: &str, _key: &str, _m: &[u8], _s: &[u8]) -> bool {
        false
    }
    async fn verify_ed25519(&self, _key: &[u8], _m: &[u8], _s: &[u8]) -> bool {
        false
    }
    fn now_ms(&self) -> u64 {
        NOW as u64 * 1000
    }
    async fn sleep(&self, _ms: u64) {}
}

impl Io for BenchIo {
    fn random_u32(&self) -> u32 {
        self.0.set(
            self.0
                .get()
                .wrapping_mul(1_664_525)
                .wrapping_add(1_013_904_223),
        );
        self.0.get()
    }
    async fn post_json(
        &self,
        _url: &str,
        body: &str,
        _timeout_ms: u64,
    ) -> Result<(u16, Vec<u8>), TransportError> {
        black_box(body);
        Ok((200, TENCENT_OK.to_vec()))
    }
    fn log(&self, line: &str) {
        black_box(line);
    }
}

/// A signed delivery: body and headers.
type Signed = (Vec<u8>, [(String, String); 4]);

/// `n` signed Clerk deliveries of distinct users, as bench/lib/load.mjs makes them.
fn deliveries(n: usize) -> Vec<Signed> {
    let secret = standard::Secret::parse(SECRET).expect("valid secret");
    let mut event: serde_json::Value = serde_json::from_str(FIXTURE).expect("fixture is JSON");
    (0..n)
        .map(|i| {
            event["data"]["id"] = format!("user_bench_{i:x}").into();
            let body = event.to_string().into_bytes();
            let msg_id = format!("msg_bench_{i:x}");
            let sig = secret.sign(&msg_id, NOW, &body);
            let headers = [
                ("content-type".to_owned(), "application/json".to_owned()),
                ("svix-id".to_owned(), msg_id),
                ("svix-timestamp".to_owned(), NOW.to_string()),
                ("svix-signature".to_owned(), sig),
            ];
            (body, headers)
        })
        .collect()
}

/// One delivery through `routes::handle`, the whole core the Worker runs per signup.
fn deliver(
    state: &IsolateState,
    io: &BenchIo,
    body: &[u8],
    headers: &[(String, String); 4],
) -> Response {
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let req = Request {
        method: "POST",
        path: "/webhooks/clerk",
        query: "",
        headers: &pairs.as_slice(),
        body: Some(body),
        location: EdgeLocation::default().into(),
    };
    block_on(routes::handle(&req, &BenchSettings, state, io))
}

fn delivery_benches(c: &mut Criterion) {
    let io = BenchIo(Cell::new(1));
    let state = IsolateState::default();
    let all = deliveries(200_000);
    // Warm the isolate's caches (settings, admin UserSig) as a warm Worker has them.
    let first = deliver(&state, &io, &all[0].0, &all[0].1);
    assert_eq!(first.status, 200, "{}", first.body);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for (body, headers) in &all[1..1001] {
        let r = deliver(&state, &io, body, headers);
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let per = (ALLOCATIONS.load(Ordering::Relaxed) - before) as f64 / 1000.0;
    println!(
        "signed Clerk delivery: {per:.1} allocations per request (incl. the bench's header list)"
    );
    let mut next = 1001;
    let mut g = c.benchmark_group("delivery");
    g.bench_function("clerk_signup", |b| {
        b.iter(|| {
            let (body, headers) = &all[next % all.len()];
            next += 1;
            deliver(&state, &io, body, headers).status
        })
    });
    g.finish();
}

criterion_group!(benches, usersig_benches, webhook_benches, delivery_benches);
criterion_main!(benches);
