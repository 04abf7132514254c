//! Provider webhooks: verify that a delivery really comes from the auth provider, then read what
//! it says happened as provider-neutral [`Event`]s.
//!
//! A provider is one file plus one line in `registry!` below, behind its Cargo feature (named
//! like its route, listed in `Cargo.toml` and in [`NAMES`]). Each file declares its facts in a
//! `SPEC` constant ([`Spec`]: route, settings prefix, the settings that switch it on, constant ID
//! prefixes, time budget, fixed success body), a `Config` type, `config` (read its settings;
//! `None` when it is not set up) and `receive` (verify, then parse). What several providers share
//! lives in the scheme modules: [`standard`] (Standard Webhooks / Svix), [`sig`] (HMAC headers,
//! shared secrets, timestamps) and [`jwt`] (RS256 tokens checked against fetched JWKS), plus
//! [`text_at`], [`time_at`], [`malformed`] and [`Change`] (what a documented event type means
//! for its user: created, updated or deleted) here.

#[cfg(feature = "auth0")]
pub mod auth0;
#[cfg(feature = "clerk")]
pub mod clerk;
#[cfg(feature = "firebase")]
pub mod firebase;
pub mod jwt;
#[cfg(feature = "kinde")]
pub mod kinde;
#[cfg(feature = "logto")]
pub mod logto;
#[cfg(feature = "okta")]
pub mod okta;
pub mod sig;
pub mod standard;
#[cfg(feature = "standard")]
pub mod standard_provider;
#[cfg(feature = "stytch")]
pub mod stytch;
#[cfg(feature = "supabase")]
pub mod supabase;
// Supabase's Auth Hook reads profiles the way its Database Webhook does.
#[cfg(any(feature = "supabase-db", feature = "supabase"))]
pub mod supabase_db;
#[cfg(feature = "workos")]
pub mod workos;
#[cfg(feature = "zitadel")]
pub mod zitadel;

use crate::event::{Event, User};
use crate::ports::{HeaderMap, KeyIo};
use crate::settings::{ConfigError, Settings};

/// One incoming delivery, as every provider sees it.
pub struct Delivery<'a> {
    /// Request headers.
    pub headers: &'a dyn HeaderMap,
    /// The raw body, exactly as received (signatures cover these bytes).
    pub body: &'a [u8],
    /// Unix seconds now.
    pub now: i64,
}

/// The outside world a provider may use while verifying: the isolate's JWKS cache and the port
/// that fetches keys and runs WebCrypto.
pub struct Keys<'a, K: KeyIo> {
    /// JWKS documents fetched in this isolate.
    pub cache: &'a jwt::KeyCache,
    /// Fetches and signature checks.
    pub io: &'a K,
}

/// A verified, parsed delivery: usually one event, several for batching senders (Okta, Auth0 logs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The events, in delivery order.
    pub events: Vec<Event>,
    /// Identifies this exact signed attempt (e.g. message id + signed timestamp). Only schemes
    /// whose senders sign every retry afresh set it: seeing it twice means a captured request
    /// was replayed, which is refused with 401. Schemes that resend byte-identical retries
    /// (shared secrets, Kinde) leave it `None` and rely on the events' `event_id`.
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
    /// A static shared secret sent in a header does not match the setting it is compared with
    /// (both named, never their values).
    #[error("the {header} header does not match {setting}")]
    WrongSecret {
        /// The header that carries the secret.
        header: &'static str,
        /// The setting it is compared with.
        setting: &'static str,
    },
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

/// Shorthand for a [`WebhookError::Malformed`]: the one way providers report an authentic body
/// that is not the JSON they document.
pub fn malformed(msg: impl Into<String>) -> WebhookError {
    WebhookError::Malformed(msg.into())
}

/// One event of a batch, or [`Event::Invalid`] with why: a bad event must not cost the rest of
/// the delivery (senders do not retry a 4xx, so the good events would be lost).
pub fn or_invalid(parsed: Result<Event, WebhookError>) -> Event {
    match parsed {
        Ok(e) => e,
        Err(WebhookError::Malformed(why)) => Event::Invalid(why),
        Err(other) => Event::Invalid(other.to_string()),
    }
}

/// The first non-blank string at any of `pointers` (JSON Pointers) in a verified payload or
/// token; values of other types count as absent. The one JSON accessor every provider uses.
pub fn text_at<'a>(v: &'a serde_json::Value, pointers: &[&str]) -> Option<&'a str> {
    pointers
        .iter()
        .filter_map(|p| v.pointer(p).and_then(serde_json::Value::as_str))
        .find(|s| !s.trim().is_empty())
}

/// The `data` of a `kind` event read as the provider's user type `T` (`provider` names it in
/// errors); an event without `data` is malformed.
pub fn user_data<'a, T: serde::Deserialize<'a>>(
    kind: &str,
    data: Option<&'a serde_json::value::RawValue>,
    provider: &str,
) -> Result<T, WebhookError> {
    let data = data.ok_or_else(|| malformed(format!("{kind} without data")))?;
    // Bytes, not `from_str`: every payload is read from bytes, so each user type's
    // deserializer is compiled once (a second reader type doubles it in the wasm).
    serde_json::from_slice(data.get().as_bytes())
        .map_err(|e| malformed(format!("data is not a {provider} user: {e}")))
}

/// Serde helper for cosmetic fields: a value of an unexpected type (an object where a name was
/// documented, a number for a URL) counts as absent instead of refusing the whole user.
pub fn lenient<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v: serde_json::Value = serde::Deserialize::deserialize(d)?;
    Ok(v.as_str().map(str::to_owned))
}

/// Serde helper for cosmetic lists: `null` or a non-list is empty, and entries that do not read
/// as `T` are skipped.
pub fn lenient_list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let v: serde_json::Value = serde::Deserialize::deserialize(d)?;
    Ok(match v {
        serde_json::Value::Array(items) => items
            .into_iter()
            .filter_map(|i| serde_json::from_value(i).ok())
            .collect(),
        _ => Vec::new(),
    })
}

/// Unix seconds of the first ISO 8601 date-time (with an offset) at any of `pointers`: the event
/// time a provider puts in its payload. Anything else there counts as absent.
pub fn time_at(v: &serde_json::Value, pointers: &[&str]) -> Option<i64> {
    pointers.iter().find_map(|p| {
        v.pointer(p)
            .and_then(serde_json::Value::as_str)
            .and_then(sig::iso8601_seconds)
    })
}

/// What one of a provider's documented event types means for the user it names. Providers list
/// their types in a table and build the [`User`] once, whatever the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The user signed up ([`Event::Created`]).
    Created,
    /// The user's profile changed ([`Event::Updated`]).
    Updated,
    /// The user was deleted ([`Event::Deleted`]).
    Deleted,
}

impl Change {
    /// What `kind` means in a provider's table of documented event types; `None` when unlisted.
    pub fn of<K: AsRef<str>>(kind: &str, table: &[(K, Change)]) -> Option<Change> {
        table
            .iter()
            .find(|(k, _)| k.as_ref() == kind)
            .map(|(_, c)| *c)
    }

    /// The event this change makes of `user`. A deletion keeps only the user's identity, the
    /// de-duplication key and the time: whatever profile the payload still had is not news.
    pub fn event(self, user: User) -> Event {
        match self {
            Change::Created => Event::Created(user),
            Change::Updated => Event::Updated(user),
            Change::Deleted => Event::Deleted(User {
                nick: None,
                face_url: None,
                ..user
            }),
        }
    }
}

/// `user.created`, `user.updated` and `user.deleted`: the user event names Clerk, WorkOS and
/// Kinde document (and the Standard Webhooks defaults), and what each means.
pub const USER_EVENTS: [(&str, Change); 3] = [
    ("user.created", Change::Created),
    ("user.updated", Change::Updated),
    ("user.deleted", Change::Deleted),
];

/// A provider's facts: everything the router, the settings and the mapping need to know about
/// it, in one constant per provider file.
#[derive(Debug)]
pub struct Spec {
    /// The route segment (`POST /webhooks/<name>`) and the `provider=` name.
    pub name: &'static str,
    /// Prefix of its settings: `<P>_USERID_MODE`, `<P>_USERID_PREFIX`, its secrets.
    pub prefix: &'static str,
    /// The setting(s) that switch it on, as named in the 404 for an unconfigured provider.
    pub switch: &'static str,
    /// Constant prefixes of its user IDs, dropped by the `compact` mapping.
    pub id_prefixes: &'static [&'static str],
    /// Time we may spend on Tencent, under the sender's own timeout.
    pub budget_ms: u64,
    /// The success body, for senders that require a specific one (blocking hooks want `{}`).
    pub success_body: Option<&'static str>,
    /// A GET verification handshake the sender performs once (Okta), answering with a body.
    pub challenge: Option<Challenge>,
    /// The provider's own event names for each part of a user's life it can tell us about
    /// (what an operator subscribes to in its dashboard).
    pub lifecycle: Lifecycle,
}

/// Event names per part of a user's life; empty where the provider cannot send it.
#[derive(Debug, Clone, Copy)]
pub struct Lifecycle {
    /// Signups.
    pub created: &'static [&'static str],
    /// Profile updates.
    pub updated: &'static [&'static str],
    /// Deletions.
    pub deleted: &'static [&'static str],
}

/// A one-time GET verification: reads the request headers, returns the body to answer with.
pub type Challenge = fn(&dyn HeaderMap) -> Result<String, WebhookError>;

/// Budget for senders that wait 15 s (Svix) or longer.
pub const DEFAULT_BUDGET_MS: u64 = 10_000;

/// A provider: its [`Spec`], compared by name.
pub type Provider = &'static Spec;

impl PartialEq for Spec {
    fn eq(&self, other: &Spec) -> bool {
        self.name == other.name
    }
}

impl Eq for Spec {}

impl Spec {
    /// Setting: how this provider's IDs become UserIDs (`auto`, `verbatim`, `compact`, `hash`).
    pub fn mode_setting(&self) -> String {
        format!("{}_USERID_MODE", self.prefix)
    }

    /// Setting: prefix put before every UserID from this provider.
    pub fn prefix_setting(&self) -> String {
        format!("{}_USERID_PREFIX", self.prefix)
    }

    /// Reads this provider's settings: `Ok(None)` when it is not set up on this deployment.
    pub fn configure(&self, settings: &dyn Settings) -> Result<Option<Configured>, ConfigError> {
        Configured::load(self, settings)
    }
}

/// Every webhook provider tim-onboard knows, built in or not: a name here that [`provider`] does
/// not find was left out of this build (`make build PROVIDERS=...`), which the 404 says.
pub const NAMES: &[&str] = &[
    "clerk",
    "stytch",
    "standard",
    "supabase",
    "supabase-db",
    "auth0",
    "firebase",
    "workos",
    "logto",
    "kinde",
    "okta",
    "zitadel",
];

/// Looks a provider up by route name; `None` when unknown or not built in (see [`NAMES`]).
pub fn provider(name: &str) -> Option<Provider> {
    ALL.iter().copied().find(|p| p.name == name)
}

/// Calls a provider's `receive` in the form it has: plain, with the key port, or with the keys.
// Unused in a build without webhook providers (login only).
#[allow(unused_macros)]
macro_rules! receive_call {
    (plain, $m:ident, $c:expr, $d:expr, $k:expr) => {
        $m::receive($c, $d)
    };
    (io, $m:ident, $c:expr, $d:expr, $k:expr) => {
        $m::receive($c, $d, $k.io).await
    };
    (keys, $m:ident, $c:expr, $d:expr, $k:expr) => {
        $m::receive($c, $d, $k).await
    };
}

/// The registry: one line per provider (`#[cfg(feature)] module => Variant, how receive is called`).
macro_rules! registry {
    ($(#[$on:meta] $m:ident => $variant:ident, $how:ident;)*) => {
        /// Every provider built into this Worker (Cargo features), in README order.
        pub const ALL: &[Provider] = &[$(#[$on] &$m::SPEC),*];

        /// A provider's parsed settings (secrets decoded once).
        #[derive(Debug)]
        pub enum Configured {
            $(
                #[doc = concat!("Settings of `", stringify!($m), "`.")]
                #[$on]
                $variant($m::Config),
            )*
        }

        impl Configured {
            /// Reads `spec`'s settings: `Ok(None)` when it is not set up on this deployment.
            // Both arguments go unused in a build without webhook providers (login only).
            #[allow(unused_variables)]
            pub fn load(spec: &Spec, settings: &dyn Settings) -> Result<Option<Configured>, ConfigError> {
                $(
                    #[$on]
                    if spec.name == $m::SPEC.name {
                        return Ok($m::config(settings)?.map(Configured::$variant));
                    }
                )*
                Ok(None)
            }

            /// Verifies and parses a delivery.
            // `keys` goes unused in a build with only `plain` providers.
            #[allow(unused_variables)]
            pub async fn receive<K: KeyIo>(
                &self,
                d: &Delivery<'_>,
                keys: &Keys<'_, K>,
            ) -> Result<Received, WebhookError> {
                // `*self`: a build without webhook providers has an empty enum, matched by `{}`.
                match *self {
                    $(#[$on] Configured::$variant(ref c) => receive_call!($how, $m, c, d, keys),)*
                }
            }
        }
    };
}

registry! {
    #[cfg(feature = "clerk")] clerk => Clerk, plain;
    #[cfg(feature = "stytch")] stytch => Stytch, plain;
    #[cfg(feature = "standard")] standard_provider => Standard, io;
    #[cfg(feature = "supabase")] supabase => Supabase, plain;
    #[cfg(feature = "supabase-db")] supabase_db => SupabaseDb, plain;
    #[cfg(feature = "auth0")] auth0 => Auth0, plain;
    #[cfg(feature = "firebase")] firebase => Firebase, keys;
    #[cfg(feature = "workos")] workos => Workos, plain;
    #[cfg(feature = "logto")] logto => Logto, plain;
    #[cfg(feature = "kinde")] kinde => Kinde, keys;
    #[cfg(feature = "okta")] okta => Okta, plain;
    #[cfg(feature = "zitadel")] zitadel => Zitadel, plain;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_names_round_trip() {
        for p in ALL {
            assert_eq!(provider(p.name), Some(*p));
            assert!(p.switch.starts_with(p.prefix), "{p:?}");
            assert_eq!(p.mode_setting(), format!("{}_USERID_MODE", p.prefix));
        }
        assert_eq!(provider("github"), None);
        assert_eq!(ALL.len(), 12);
        let built: Vec<&str> = ALL.iter().map(|p| p.name).collect();
        assert_eq!(
            built, NAMES,
            "NAMES lists every provider, in registry order"
        );
    }

    #[test]
    fn no_provider_is_configured_by_default() {
        let get = |_: &str| None;
        for p in ALL {
            assert!(p.configure(&get).unwrap().is_none(), "{p:?}");
        }
    }

    #[test]
    fn time_at_reads_iso_dates_only() {
        let v =
            serde_json::json!({"a": "yesterday", "b": 1714564800, "c": "2024-05-01T12:00:00.5Z"});
        assert_eq!(time_at(&v, &["/a", "/b", "/c"]), Some(1_714_564_800));
        assert_eq!(time_at(&v, &["/a", "/b", "/z"]), None);
    }

    #[test]
    fn change_tables_and_events() {
        let table = [("u.new", Change::Created), ("u.gone", Change::Deleted)];
        assert_eq!(Change::of("u.gone", &table), Some(Change::Deleted));
        assert_eq!(Change::of("u.other", &table), None);
        let user = User {
            user_id: "u".into(),
            nick: Some("n".into()),
            event_id: Some("e".into()),
            at: Some(1),
            ..User::default()
        };
        assert_eq!(
            Change::Updated.event(user.clone()),
            Event::Updated(user.clone())
        );
        let gone = User {
            nick: None,
            ..user.clone()
        };
        assert_eq!(Change::Deleted.event(user), Event::Deleted(gone));
    }

    #[test]
    fn text_at_skips_blank_and_non_strings() {
        let v = serde_json::json!({"a": " ", "b": 3, "c": "x"});
        assert_eq!(text_at(&v, &["/a", "/b", "/c"]), Some("x"));
        assert_eq!(text_at(&v, &["/a", "/z"]), None);
    }
}
