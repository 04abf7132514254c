//! Fuzz targets for tim-onboard's core, shared by every engine: libFuzzer (`cargo fuzz`), AFL++
//! (`cargo afl`) and the native replay test (`tests/replay.rs`, stable, part of `make test`).
//!
//! Each target is a plain `fn run(data: &[u8])` in [`targets`]; it must never panic or hang,
//! whatever the bytes. Inputs use small readable formats ([`input`]) so that the corpora can be
//! seeded from `tests/fixtures/` ([`seeds`]) and read by a person. The outside world is
//! [`FuzzIo`]: a fixed clock, a scripted Tencent, a fake queue and database, a JWKS, and WebCrypto
//! checks that accept exactly one signature ([`MAGIC_SIG`]), so signed paths reach the parsers.

pub mod input;
pub mod seeds;
pub mod sign;
pub mod targets;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use tim_onboard::ports::{Io, KeyIo, TransportError};
use tim_onboard::settings::Settings;

/// A target's entry point.
pub type Run = fn(&[u8]);

/// Every target: name (the binary, `corpus/<name>/`) and entry point.
pub const TARGETS: &[(&str, Run)] = &[
    ("webhooks", targets::webhooks::run),
    ("pipeline", targets::pipeline::run),
    ("usersig", targets::usersig::run),
    ("tencent", targets::tencent::run),
    ("identity", targets::identity::run),
    ("parsers", targets::parsers::run),
    ("jobs", targets::jobs::run),
];

/// The fake clock: 2026-01-01T00:06:40Z, inside the RS256 fixtures' `iat`..`exp` window.
pub const NOW_S: i64 = 1_767_226_000;
/// [`NOW_S`] in milliseconds.
pub const NOW_MS: u64 = NOW_S as u64 * 1000;
/// The one signature [`FuzzIo`]'s WebCrypto stand-ins accept (64 bytes: also an Ed25519 size).
pub const MAGIC_SIG: &[u8; 64] =
    b"fuzz-signature-fuzz-signature-fuzz-signature-fuzz-signature-ok!!";
/// The JWKS [`FuzzIo`] serves: the RS256 fixture key plus EC and OKP keys for the login algorithms.
pub const JWKS: &str = r#"{"keys":[
 {"kty":"RSA","alg":"RS256","use":"sig","kid":"test-key-1","n":"nCgXd1Xo78cY8mJZQO6aT4xKpxxnzCTazVCTBtyWRKBRCisZtQCKXSzcS_phVcxY3B1G5wFTgphkYHeM0mgrTncq1KGgUeY8B7E4OVnDmHp6Upp_ZJ9mTgqnfYmwjdinSo0VBiE6C8btFwJRmklIxFKAyDGP5yfbLg39eA9tLa9KHsufb9R","e":"AQAB"},
 {"kty":"EC","crv":"P-256","kid":"ec-key","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
 {"kty":"EC","crv":"P-384","alg":"ES384","kid":"ec384-key","x":"AAEC","y":"AwQF"},
 {"kty":"OKP","crv":"Ed25519","kid":"ed-key","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
]}"#;

pub use tim_onboard::ports::block_on;

/// One scripted answer of the upstream: an HTTP status and body, or a transport error.
pub type Answer = Result<(u16, Vec<u8>), TransportError>;

/// The fake runtime: clock, scripted Tencent, optional queue and database, JWKS and discovery.
pub struct FuzzIo {
    /// Unix milliseconds now; sleeping advances it.
    pub now: Cell<u64>,
    /// What each POST answers, in order; an exhausted script is a network error.
    pub script: RefCell<VecDeque<Answer>>,
    /// Rows the next SQL statements answer, in order (then none).
    pub rows: RefCell<VecDeque<Vec<serde_json::Value>>>,
    /// The job queue: `None` when unbound; the bodies sent so far.
    pub queue: RefCell<Option<Vec<String>>>,
    /// Every enqueue fails (a throttled queue).
    pub queue_down: bool,
    /// Whether a database is bound.
    pub db: bool,
    /// What a key fetch answers (a JWKS document unless a target fuzzes it).
    pub jwks: Vec<u8>,
    /// State of the jitter generator.
    pub rng: Cell<u32>,
    /// POSTs made so far.
    pub posts: Cell<u32>,
}

impl Default for FuzzIo {
    fn default() -> Self {
        FuzzIo {
            now: Cell::new(NOW_MS),
            script: RefCell::default(),
            rows: RefCell::default(),
            queue: RefCell::default(),
            queue_down: false,
            db: false,
            jwks: JWKS.as_bytes().to_vec(),
            rng: Cell::new(0x9e37_79b9),
            posts: Cell::new(0),
        }
    }
}

impl FuzzIo {
    /// A runtime whose Tencent answers `script` in order.
    pub fn with_script(script: Vec<Answer>) -> FuzzIo {
        FuzzIo {
            script: RefCell::new(script.into()),
            ..FuzzIo::default()
        }
    }
}

impl KeyIo for FuzzIo {
    async fn get(&self, url: &str, _timeout_ms: u64) -> Result<(u16, Vec<u8>), TransportError> {
        self.now.set(self.now.get() + 3);
        if url.ends_with("/.well-known/openid-configuration") {
            let doc = serde_json::json!({ "jwks_uri": "https://issuer.example/jwks" });
            return Ok((200, doc.to_string().into_bytes()));
        }
        Ok((200, self.jwks.clone()))
    }
    async fn verify_jwk(&self, _alg: &str, _key: &str, _m: &[u8], signature: &[u8]) -> bool {
        signature == MAGIC_SIG
    }
    async fn verify_ed25519(&self, _key: &[u8], _m: &[u8], signature: &[u8]) -> bool {
        signature == MAGIC_SIG
    }
    fn now_ms(&self) -> u64 {
        self.now.get()
    }
    async fn sleep(&self, ms: u64) {
        self.now.set(self.now.get().saturating_add(ms));
    }
}

impl Io for FuzzIo {
    fn random_u32(&self) -> u32 {
        // xorshift32: deterministic per input, so every finding replays.
        let mut x = self.rng.get();
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng.set(x);
        x
    }
    async fn post_json(
        &self,
        _url: &str,
        _body: &str,
        _timeout_ms: u64,
    ) -> Result<(u16, Vec<u8>), TransportError> {
        self.posts.set(self.posts.get() + 1);
        assert!(
            self.posts.get() < 10_000,
            "more than 10,000 Tencent calls for one input"
        );
        self.now.set(self.now.get() + 5);
        match self.script.borrow_mut().pop_front() {
            Some(a) => a,
            None => Err(TransportError::Network("script exhausted".into())),
        }
    }
    fn log(&self, _line: &str) {}
    fn has_queue(&self) -> bool {
        self.queue.borrow().is_some()
    }
    async fn enqueue(&self, bodies: &[String]) -> Result<(), String> {
        if self.queue_down {
            return Err("Too Many Requests".into());
        }
        match self.queue.borrow_mut().as_mut() {
            Some(q) => {
                q.extend(bodies.iter().cloned());
                Ok(())
            }
            None => Err("no queue bound".into()),
        }
    }
    fn has_db(&self) -> bool {
        self.db
    }
    async fn sql(
        &self,
        _query: &str,
        _params: &[serde_json::Value],
    ) -> Result<Vec<serde_json::Value>, String> {
        if !self.db {
            return Err("no database bound".into());
        }
        Ok(self.rows.borrow_mut().pop_front().unwrap_or_default())
    }
}

/// Settings as a list of pairs.
#[derive(Debug, Clone, Default)]
pub struct Env(pub Vec<(String, String)>);

impl Settings for Env {
    fn raw(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

impl Env {
    /// These settings with `name` set to `value` (replacing it; an empty value removes it).
    pub fn with(mut self, name: &str, value: &str) -> Env {
        self.0.retain(|(k, _)| k != name);
        if !value.is_empty() {
            self.0.push((name.to_owned(), value.to_owned()));
        }
        self
    }
}

/// Demo secrets: every provider, the login providers, the admin token and Tencent are set up.
pub mod demo {
    /// Tencent's demo SDKAppID.
    pub const SDKAPPID: u64 = 1_400_000_000;
    /// Tencent's secret key.
    pub const KEY: &str = "tencent-key";
    /// Clerk's Svix secret (the Standard Webhooks test vector).
    pub const CLERK: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    /// Stytch's Svix secret.
    pub const STYTCH: &str = "whsec_c3R5dGNoLWZ1enotc2VjcmV0LTAxMjM0NTY3";
    /// The generic Standard Webhooks secret.
    pub const STANDARD: &str = "whsec_c3RhbmRhcmQtZnV6ei1zZWNyZXQtMDEyMzQ1";
    /// The generic Standard Webhooks Ed25519 key (32 bytes of `k`).
    pub const STANDARD_PK: &str = "whpk_a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=";
    /// Supabase Auth hook secret, as the dashboard shows it.
    pub const SUPABASE: &str = "v1,whsec_c3VwYWJhc2UtaG9vay1mdXp6LXNlY3JldA==";
    /// Supabase database webhook shared secret.
    pub const SUPABASE_DB: &str = "supabase-db-secret";
    /// Auth0 stream bearer token.
    pub const AUTH0_TOKEN: &str = "auth0-stream-token";
    /// Auth0 stream Basic credentials.
    pub const AUTH0_BASIC: &str = "auth0:stream-password";
    /// Auth0 Action signing secret.
    pub const AUTH0_ACTION: &str = "whsec_YXV0aDAtYWN0aW9uLWZ1enotc2VjcmV0";
    /// Firebase project (as in the RS256 fixtures).
    pub const FIREBASE_PROJECT: &str = "tim-onboard-test";
    /// Firebase audience (as in the RS256 fixtures).
    pub const FIREBASE_AUDIENCE: &str = "https://tim-onboard.example.workers.dev/webhooks/firebase";
    /// WorkOS signing secret.
    pub const WORKOS: &str = "workos-fuzz-secret";
    /// Logto signing key.
    pub const LOGTO: &str = "logto-fuzz-key";
    /// Kinde domain.
    pub const KINDE_DOMAIN: &str = "tim-onboard.kinde.com";
    /// Okta shared secret.
    pub const OKTA: &str = "okta-fuzz-secret";
    /// ZITADEL signing key.
    pub const ZITADEL: &str = "zitadel-fuzz-key";
    /// The operator token.
    pub const ADMIN_TOKEN: &str = "admin-fuzz-token";
    /// The page origin allowed to log in.
    pub const ORIGIN: &str = "https://app.example";
    /// Supabase's HS256 session secret.
    pub const SUPABASE_JWT: &str = "supabase-jwt-fuzz-secret";
}

/// The demo settings every target starts from.
pub fn demo_env() -> Env {
    let pairs: &[(&str, &str)] = &[
        ("TIM_SDKAPPID", "1400000000"),
        ("TIM_SECRET_KEY", demo::KEY),
        ("TIM_BASE_URL", "http://127.0.0.1:8790"),
        ("TIM_ADMIN_TOKEN", demo::ADMIN_TOKEN),
        (
            "TIM_ALLOWED_ORIGINS",
            "https://app.example, http://localhost:3000",
        ),
        ("CLERK_WEBHOOK_SECRET", demo::CLERK),
        ("CLERK_USERID_MODE", "compact"),
        ("STYTCH_WEBHOOK_SECRET", demo::STYTCH),
        ("STANDARD_WEBHOOK_SECRET", demo::STANDARD),
        ("STANDARD_WEBHOOK_PUBLIC_KEY", demo::STANDARD_PK),
        ("SUPABASE_HOOK_SECRET", demo::SUPABASE),
        ("SUPABASE_DB_WEBHOOK_SECRET", demo::SUPABASE_DB),
        ("AUTH0_WEBHOOK_TOKEN", demo::AUTH0_TOKEN),
        ("AUTH0_WEBHOOK_BASIC", demo::AUTH0_BASIC),
        ("AUTH0_ACTION_SECRET", demo::AUTH0_ACTION),
        ("AUTH0_USERID_PREFIX", "a0-"),
        ("FIREBASE_PROJECT_ID", demo::FIREBASE_PROJECT),
        ("FIREBASE_AUDIENCE", demo::FIREBASE_AUDIENCE),
        ("WORKOS_WEBHOOK_SECRET", demo::WORKOS),
        ("LOGTO_SIGNING_KEY", demo::LOGTO),
        ("KINDE_DOMAIN", demo::KINDE_DOMAIN),
        ("OKTA_WEBHOOK_SECRET", demo::OKTA),
        ("OKTA_USERID_MODE", "hash"),
        ("ZITADEL_SIGNING_KEY", demo::ZITADEL),
        ("ZITADEL_USERID_MODE", "verbatim"),
        // Login (POST /login/<provider>).
        ("CLERK_FRONTEND_API", "https://clerk.app.example"),
        ("CLERK_AUTHORIZED_PARTIES", "https://app.example"),
        ("SUPABASE_URL", "https://project.supabase.co"),
        ("SUPABASE_JWT_SECRET", demo::SUPABASE_JWT),
        ("AUTH0_DOMAIN", "tenant.auth0.com"),
        ("AUTH0_AUDIENCE", "https://api.app.example"),
        ("WORKOS_CLIENT_ID", "client_01FUZZ"),
        ("STYTCH_PROJECT_ID", "project-test-fuzz"),
        ("KINDE_AUDIENCE", "https://api.app.example"),
        ("LOGTO_ENDPOINT", "https://logto.app.example"),
        ("LOGTO_AUDIENCE", "https://api.app.example"),
        ("OKTA_ISSUER", "https://okta.app.example/oauth2/default"),
        ("OKTA_AUDIENCE", "api://default"),
        ("ZITADEL_ISSUER", "https://zitadel.app.example"),
        ("ZITADEL_AUDIENCE", "fuzz-project"),
        ("OIDC_ISSUER", "https://issuer.example"),
        ("OIDC_AUDIENCE", "fuzz-client"),
    ];
    Env(pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect())
}

/// What a fuzz binary built without an engine does: replays the files (or directories) named on
/// the command line, so a crash found by either engine reproduces on stable:
/// `cargo run --manifest-path fuzz/Cargo.toml --no-default-features --bin <target> -- <file>`.
pub fn replay_main(name: &str, run: fn(&[u8])) {
    let mut files = Vec::new();
    for arg in std::env::args().skip(1) {
        let path = std::path::PathBuf::from(arg);
        match std::fs::read_dir(&path) {
            Ok(dir) => files.extend(dir.filter_map(|e| e.ok().map(|e| e.path()))),
            Err(_) => files.push(path),
        }
    }
    if files.is_empty() {
        eprintln!("usage: {name} <input file or directory>... (replays them through the target)");
        std::process::exit(2);
    }
    for f in &files {
        let data = std::fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        eprintln!("{name}: {} ({} bytes)", f.display(), data.len());
        run(&data);
    }
    eprintln!("{name}: {} inputs, no panic", files.len());
}

/// The `main` of a fuzz binary for target `$t`, for whichever engine the features select.
#[macro_export]
macro_rules! fuzz_main {
    ($t:ident) => {
        #[cfg(feature = "libfuzzer")]
        libfuzzer_sys::fuzz_target!(|data: &[u8]| $crate::targets::$t::run(data));

        #[cfg(all(feature = "afl", not(feature = "libfuzzer")))]
        fn main() {
            afl::fuzz!(|data: &[u8]| {
                $crate::targets::$t::run(data);
            });
        }

        #[cfg(not(any(feature = "libfuzzer", feature = "afl")))]
        fn main() {
            $crate::replay_main(stringify!($t), $crate::targets::$t::run);
        }
    };
}
