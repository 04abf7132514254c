//! Signup webhooks: verify that a delivery really comes from the auth provider, then read the
//! new user out of it.
//!
//! One file per provider. Each exposes the same two functions, `config` (read its secrets from
//! the Worker's settings; `None` when the provider is not set up) and `receive` (verify, then
//! parse), and [`Provider`] dispatches to them. What several providers share lives here or in
//! the scheme modules: [`standard`] (Standard Webhooks / Svix), [`sig`] (HMAC headers, shared
//! secrets, timestamps) and [`jwt`] (RS256 tokens checked against fetched JWKS).

pub mod auth0;
pub mod clerk;
pub mod firebase;
pub mod jwt;
pub mod kinde;
pub mod logto;
pub mod okta;
pub mod sig;
pub mod standard;
pub mod standard_provider;
pub mod stytch;
pub mod supabase;
pub mod supabase_db;
pub mod workos;
pub mod zitadel;

use crate::config::ConfigError;
use crate::tim::TransportError;

/// Read access to request headers (case-insensitive names), so the core never sees `worker::Headers`.
pub trait HeaderMap {
    /// The value of header `name`, if present.
    fn get(&self, name: &str) -> Option<String>;
}

impl HeaderMap for [(&str, &str)] {
    fn get(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| (*v).to_owned())
    }
}

/// A setting lookup: Worker var or secret by name.
pub type Get<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Reads a setting, treating empty and whitespace-only as unset.
pub fn setting(get: Get<'_>, name: &str) -> Option<String> {
    get(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// One incoming delivery, as every provider sees it.
pub struct Delivery<'a, H: HeaderMap + ?Sized> {
    /// Request headers.
    pub headers: &'a H,
    /// The raw body, exactly as received (signatures cover these bytes).
    pub body: &'a [u8],
    /// Unix seconds now.
    pub now: i64,
}

/// A new user as the provider described it, before mapping to Tencent's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signup {
    /// The provider's user ID.
    pub user_id: String,
    /// Display name chosen by the provider's fallback rules.
    pub nick: Option<String>,
    /// Avatar URL.
    pub face_url: Option<String>,
    /// A key that stays the same when the provider redelivers this event (for de-duplication).
    pub event_id: Option<String>,
}

/// What one event in a verified delivery asks of us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A user signed up: import them.
    Signup(Signup),
    /// Any other event type: acknowledge and do nothing.
    Ignored(String),
}

/// A verified, parsed delivery: usually one event, several for batching senders (Okta, Auth0 logs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The events, in delivery order.
    pub events: Vec<Event>,
    /// Identifies this exact signed attempt (e.g. message id + signed timestamp). Only schemes
    /// whose senders sign every retry afresh set it: seeing it twice means a captured request
    /// was replayed, which is refused with 401. Schemes that resend byte-identical retries
    /// (shared secrets, Kinde) leave it `None` and rely on `Signup::event_id` de-duplication.
    pub replay_key: Option<String>,
}

impl Received {
    /// A delivery carrying exactly one event.
    pub fn one(event: Event) -> Received {
        Received {
            events: vec![event],
            replay_key: None,
        }
    }

    /// Sets the replay key (see [`Received::replay_key`]).
    pub fn with_replay_key(mut self, key: impl Into<String>) -> Received {
        self.replay_key = Some(key.into());
        self
    }
}

/// Why a delivery was refused. Every variant means the delivery can never succeed as sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// A required signature header is absent.
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// The timestamp is not a Unix time.
    #[error("the signature timestamp is not a Unix time")]
    BadTimestamp,
    /// The timestamp is outside the tolerance window (replay protection).
    #[error("the signature timestamp is {0} seconds away from now, outside the tolerance")]
    StaleTimestamp(i64),
    /// No signature, token or shared secret in the request matches our configuration.
    #[error("no valid signature for this body")]
    BadSignature,
    /// This exact signed request was already accepted (a replay inside the tolerance window).
    #[error("this signed request was already received (replay)")]
    Replayed,
    /// The signing keys could not be fetched (JWKS); the sender should retry later.
    #[error("signing keys unavailable: {0}")]
    KeysUnavailable(String),
    /// The body is not the JSON the provider documents.
    #[error("malformed payload: {0}")]
    Malformed(String),
}

impl WebhookError {
    /// True when the failure is about authenticity (401) rather than the payload's shape (400).
    pub fn is_auth(&self) -> bool {
        !matches!(
            self,
            WebhookError::Malformed(_) | WebhookError::KeysUnavailable(_)
        )
    }
}

/// Shorthand for a [`WebhookError::Malformed`].
pub fn malformed(msg: impl Into<String>) -> WebhookError {
    WebhookError::Malformed(msg.into())
}

/// Constant-time equality that is false for different lengths (unlike a `zip`-based fold).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The outside world a provider may need beyond the request: fetching keys and checking
/// signatures with the runtime's WebCrypto (keeps RSA and Ed25519 out of the wasm).
#[allow(async_fn_in_trait)] // Workers are single-threaded; no `Send` bound is wanted.
pub trait KeyIo {
    /// GETs a URL (a JWKS document); returns status and body.
    async fn get(&self, url: &str, timeout_ms: u64) -> Result<(u16, Vec<u8>), TransportError>;
    /// RSASSA-PKCS1-v1_5 with SHA-256 over `message`, key given as JWK `n` and `e` (base64url).
    async fn verify_rs256(&self, n: &str, e: &str, message: &[u8], signature: &[u8]) -> bool;
    /// Ed25519 over `message` with a raw 32-byte public key.
    async fn verify_ed25519(&self, public_key: &[u8], message: &[u8], signature: &[u8]) -> bool;
    /// Unix milliseconds now (for key-cache expiry).
    fn now_ms(&self) -> u64;
}

/// Every supported provider; the route is `POST /webhooks/<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    /// Clerk (Svix).
    Clerk,
    /// Stytch (Svix).
    Stytch,
    /// Any Standard Webhooks sender.
    Standard,
    /// Supabase Auth hooks (before/after user created).
    Supabase,
    /// Supabase Database Webhook on `auth.users` INSERT.
    SupabaseDb,
    /// Auth0 Event Streams, Log Streams and the Post-User-Registration Action.
    Auth0,
    /// Firebase Auth / Identity Platform blocking `beforeCreate`.
    Firebase,
    /// WorkOS.
    Workos,
    /// Logto.
    Logto,
    /// Kinde.
    Kinde,
    /// Okta Event Hooks.
    Okta,
    /// ZITADEL Actions v2.
    Zitadel,
}

impl Provider {
    /// Every provider, in README order.
    pub const ALL: [Provider; 12] = [
        Provider::Clerk,
        Provider::Stytch,
        Provider::Standard,
        Provider::Supabase,
        Provider::SupabaseDb,
        Provider::Auth0,
        Provider::Firebase,
        Provider::Workos,
        Provider::Logto,
        Provider::Kinde,
        Provider::Okta,
        Provider::Zitadel,
    ];

    /// The route segment and the `provider=` name.
    pub fn name(self) -> &'static str {
        match self {
            Provider::Clerk => "clerk",
            Provider::Stytch => "stytch",
            Provider::Standard => "standard",
            Provider::Supabase => "supabase",
            Provider::SupabaseDb => "supabase-db",
            Provider::Auth0 => "auth0",
            Provider::Firebase => "firebase",
            Provider::Workos => "workos",
            Provider::Logto => "logto",
            Provider::Kinde => "kinde",
            Provider::Okta => "okta",
            Provider::Zitadel => "zitadel",
        }
    }

    /// Looks a provider up by route name.
    pub fn from_name(s: &str) -> Option<Provider> {
        Provider::ALL.into_iter().find(|p| p.name() == s)
    }

    /// Prefix of this provider's settings (`CLERK_WEBHOOK_SECRET`, `CLERK_USERID_MODE`, ...).
    pub fn env_prefix(self) -> &'static str {
        match self {
            Provider::Clerk => "CLERK",
            Provider::Stytch => "STYTCH",
            Provider::Standard => "STANDARD",
            Provider::Supabase => "SUPABASE",
            Provider::SupabaseDb => "SUPABASE_DB",
            Provider::Auth0 => "AUTH0",
            Provider::Firebase => "FIREBASE",
            Provider::Workos => "WORKOS",
            Provider::Logto => "LOGTO",
            Provider::Kinde => "KINDE",
            Provider::Okta => "OKTA",
            Provider::Zitadel => "ZITADEL",
        }
    }

    /// Setting: how this provider's IDs become UserIDs (`auto`, `verbatim`, `compact`, `hash`).
    pub fn mode_setting(self) -> &'static str {
        match self {
            Provider::Clerk => "CLERK_USERID_MODE",
            Provider::Stytch => "STYTCH_USERID_MODE",
            Provider::Standard => "STANDARD_USERID_MODE",
            Provider::Supabase => "SUPABASE_USERID_MODE",
            Provider::SupabaseDb => "SUPABASE_DB_USERID_MODE",
            Provider::Auth0 => "AUTH0_USERID_MODE",
            Provider::Firebase => "FIREBASE_USERID_MODE",
            Provider::Workos => "WORKOS_USERID_MODE",
            Provider::Logto => "LOGTO_USERID_MODE",
            Provider::Kinde => "KINDE_USERID_MODE",
            Provider::Okta => "OKTA_USERID_MODE",
            Provider::Zitadel => "ZITADEL_USERID_MODE",
        }
    }

    /// Setting: prefix put before every UserID from this provider.
    pub fn prefix_setting(self) -> &'static str {
        match self {
            Provider::Clerk => "CLERK_USERID_PREFIX",
            Provider::Stytch => "STYTCH_USERID_PREFIX",
            Provider::Standard => "STANDARD_USERID_PREFIX",
            Provider::Supabase => "SUPABASE_USERID_PREFIX",
            Provider::SupabaseDb => "SUPABASE_DB_USERID_PREFIX",
            Provider::Auth0 => "AUTH0_USERID_PREFIX",
            Provider::Firebase => "FIREBASE_USERID_PREFIX",
            Provider::Workos => "WORKOS_USERID_PREFIX",
            Provider::Logto => "LOGTO_USERID_PREFIX",
            Provider::Kinde => "KINDE_USERID_PREFIX",
            Provider::Okta => "OKTA_USERID_PREFIX",
            Provider::Zitadel => "ZITADEL_USERID_PREFIX",
        }
    }

    /// The setting(s) that switch this provider on (named in the 404 for an unconfigured one).
    pub fn key_setting(self) -> &'static str {
        match self {
            Provider::Clerk => clerk::SECRET,
            Provider::Stytch => stytch::SECRET,
            Provider::Standard => "STANDARD_WEBHOOK_SECRET or STANDARD_WEBHOOK_PUBLIC_KEY",
            Provider::Supabase => supabase::SECRET,
            Provider::SupabaseDb => supabase_db::SECRET,
            Provider::Auth0 => "AUTH0_WEBHOOK_TOKEN, AUTH0_WEBHOOK_BASIC or AUTH0_ACTION_SECRET",
            Provider::Firebase => "FIREBASE_PROJECT_ID and FIREBASE_AUDIENCE",
            Provider::Workos => workos::SECRET,
            Provider::Logto => logto::SECRET,
            Provider::Kinde => kinde::DOMAIN,
            Provider::Okta => okta::SECRET,
            Provider::Zitadel => zitadel::SECRET,
        }
    }

    /// Constant prefixes of this provider's user IDs, dropped by the `compact` mapping.
    pub fn known_id_prefixes(self) -> &'static [&'static str] {
        match self {
            Provider::Clerk | Provider::Workos => &["user_"],
            Provider::Stytch => &["user-test-", "user-live-"],
            Provider::Kinde => &["kp_"],
            Provider::Auth0 => &["auth0|"],
            _ => &[],
        }
    }

    /// Time we may spend on Tencent, under the sender's own timeout.
    pub fn budget_ms(self) -> u64 {
        match self {
            // Supabase gives the whole hook 5 s; Okta 3 s; Firebase 7 s; Logto 10 s; Svix 15 s.
            Provider::Supabase => 3_500,
            Provider::Okta => 2_200,
            Provider::Firebase => 5_500,
            Provider::Logto => 8_000,
            _ => 10_000,
        }
    }

    /// The success body, for senders that require a specific one (blocking hooks want `{}`).
    pub fn fixed_success_body(self) -> Option<&'static str> {
        match self {
            Provider::Firebase | Provider::Supabase => Some("{}"),
            _ => None,
        }
    }
}

/// A provider's parsed settings (secrets decoded once).
#[derive(Debug)]
pub enum Configured {
    /// Clerk.
    Clerk(clerk::Config),
    /// Stytch.
    Stytch(stytch::Config),
    /// Standard Webhooks.
    Standard(standard_provider::Config),
    /// Supabase Auth hooks.
    Supabase(supabase::Config),
    /// Supabase Database Webhook.
    SupabaseDb(supabase_db::Config),
    /// Auth0.
    Auth0(auth0::Config),
    /// Firebase.
    Firebase(firebase::Config),
    /// WorkOS.
    Workos(workos::Config),
    /// Logto.
    Logto(logto::Config),
    /// Kinde.
    Kinde(kinde::Config),
    /// Okta.
    Okta(okta::Config),
    /// ZITADEL.
    Zitadel(zitadel::Config),
}

impl Provider {
    /// Reads this provider's settings: `Ok(None)` when it is not set up on this deployment.
    pub fn configure(self, get: Get<'_>) -> Result<Option<Configured>, ConfigError> {
        Ok(match self {
            Provider::Clerk => clerk::config(get)?.map(Configured::Clerk),
            Provider::Stytch => stytch::config(get)?.map(Configured::Stytch),
            Provider::Standard => standard_provider::config(get)?.map(Configured::Standard),
            Provider::Supabase => supabase::config(get)?.map(Configured::Supabase),
            Provider::SupabaseDb => supabase_db::config(get)?.map(Configured::SupabaseDb),
            Provider::Auth0 => auth0::config(get)?.map(Configured::Auth0),
            Provider::Firebase => firebase::config(get)?.map(Configured::Firebase),
            Provider::Workos => workos::config(get)?.map(Configured::Workos),
            Provider::Logto => logto::config(get)?.map(Configured::Logto),
            Provider::Kinde => kinde::config(get)?.map(Configured::Kinde),
            Provider::Okta => okta::config(get)?.map(Configured::Okta),
            Provider::Zitadel => zitadel::config(get)?.map(Configured::Zitadel),
        })
    }
}

/// Verifies and parses a delivery for a configured provider.
pub async fn receive<H: HeaderMap + ?Sized, K: KeyIo>(
    cfg: &Configured,
    d: &Delivery<'_, H>,
    keys: &jwt::KeyCache,
    io: &K,
) -> Result<Received, WebhookError> {
    match cfg {
        Configured::Clerk(c) => clerk::receive(c, d),
        Configured::Stytch(c) => stytch::receive(c, d),
        Configured::Standard(c) => standard_provider::receive(c, d, io).await,
        Configured::Supabase(c) => supabase::receive(c, d),
        Configured::SupabaseDb(c) => supabase_db::receive(c, d),
        Configured::Auth0(c) => auth0::receive(c, d),
        Configured::Firebase(c) => firebase::receive(c, d, keys, io).await,
        Configured::Workos(c) => workos::receive(c, d),
        Configured::Logto(c) => logto::receive(c, d),
        Configured::Kinde(c) => kinde::receive(c, d, keys, io).await,
        Configured::Okta(c) => okta::receive(c, d),
        Configured::Zitadel(c) => zitadel::receive(c, d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ct_eq_checks_length_and_content() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        assert!(!ct_eq(b"", b"a"));
        assert!(ct_eq(b"", b""));
    }

    #[test]
    fn header_lookup_ignores_case() {
        let h: &[(&str, &str)] = &[("Svix-Id", "msg_1")];
        assert_eq!(HeaderMap::get(h, "svix-id").as_deref(), Some("msg_1"));
        assert_eq!(HeaderMap::get(h, "webhook-id"), None);
    }

    #[test]
    fn provider_names_round_trip() {
        for p in Provider::ALL {
            assert_eq!(Provider::from_name(p.name()), Some(p));
            assert!(p.key_setting().starts_with(p.env_prefix()), "{p:?}");
            assert_eq!(p.mode_setting(), format!("{}_USERID_MODE", p.env_prefix()));
            assert_eq!(
                p.prefix_setting(),
                format!("{}_USERID_PREFIX", p.env_prefix())
            );
        }
        assert_eq!(Provider::from_name("github"), None);
    }

    #[test]
    fn no_provider_is_configured_by_default() {
        let get = |_: &str| None;
        for p in Provider::ALL {
            assert!(p.configure(&get).unwrap().is_none(), "{p:?}");
        }
    }
}
