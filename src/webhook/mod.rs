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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Received {
    /// The events, in delivery order.
    pub events: Vec<Event>,
    /// Identifies this exact signed attempt (e.g. message id + signed timestamp). Only schemes
    /// whose senders sign every retry afresh set it: seeing it twice means a captured request
    /// was replayed, which is refused with 401. Schemes that resend byte-identical retries
    /// (shared secrets, Kinde) leave it `None` and rely on the events' `event_id`.
    pub replay_key: Option<String>,
    /// Cosmetic fields that had an unexpected type and were left out (names only, never
    /// values): the user is imported with what was valid, and the operator is told what was not.
    pub dropped: Vec<&'static str>,
}

impl Received {
    /// A delivery carrying exactly one event.
    pub fn one(event: Event) -> Received {
        Received {
            events: vec![event],
            ..Received::default()
        }
    }

    /// Records the cosmetic fields left out (see [`Received::dropped`]).
    pub fn with_dropped(mut self, fields: Vec<&'static str>) -> Received {
        self.dropped = fields;
        self
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
pub fn user_data<T: serde::de::DeserializeOwned>(
    kind: &str,
    data: Option<&serde_json::value::RawValue>,
    provider: &str,
) -> Result<T, WebhookError> {
    let data = data.ok_or_else(|| malformed(format!("{kind} without data")))?;
    // Bytes, not `from_str`: every payload is read from bytes, so each user type's
    // deserializer is compiled once (a second reader type doubles it in the wasm).
    from_json(data.get().as_bytes())
        .map_err(|e| malformed(format!("data is not a {provider} user: {e}")))
}

/// A cosmetic field (a name, an avatar URL, a list of e-mail addresses): the value when it reads
/// as `T`, absent when missing or `null`, and remembered as dropped when it has another type (an
/// object where a name was documented, a number for a URL), instead of refusing the whole user.
/// A JSON error (bad syntax, a duplicate field of a struct read whole) still refuses the body.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub enum Lenient<T> {
    /// Missing or `null`.
    #[default]
    Absent,
    /// Read as documented.
    Valid(T),
    /// Present with an unexpected type, left out.
    Dropped,
}

impl<'de, T: Loose> serde::Deserialize<'de> for Lenient<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Read in place from the document: buffering the field as a `serde_json::Value` first
        // cost an allocation per array and object entry on every delivery.
        d.deserialize_any(LenientVisitor(std::marker::PhantomData))
    }
}

/// The type of a [`Lenient`] field, by the JSON shapes it reads; every other shape is
/// dropped (consumed and left out).
pub trait Loose: Sized {
    /// From a JSON integer (one that fits an `i64`).
    fn from_i64(_n: i64) -> Option<Self> {
        None
    }
    /// From a JSON string.
    fn from_str(_s: &str) -> Option<Self> {
        None
    }
    /// From a JSON array.
    fn from_seq<'de, A: serde::de::SeqAccess<'de>>(mut seq: A) -> Result<Option<Self>, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    /// From a JSON object.
    fn from_map<'de, A: serde::de::MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {}
        Ok(None)
    }
}

impl Loose for i64 {
    fn from_i64(n: i64) -> Option<Self> {
        Some(n)
    }
}

impl Loose for String {
    fn from_str(s: &str) -> Option<Self> {
        Some(s.to_owned())
    }
}

impl<T: Loose> Loose for Vec<Lenient<T>> {
    fn from_seq<'de, A: serde::de::SeqAccess<'de>>(mut seq: A) -> Result<Option<Self>, A::Error> {
        let mut out = Vec::new();
        while let Some(item) = seq.next_element::<Lenient<T>>()? {
            out.push(item);
        }
        Ok(Some(out))
    }
}

/// Reads one JSON value as a [`Lenient<T>`].
struct LenientVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: Loose> serde::de::Visitor<'de> for LenientVisitor<T> {
    type Value = Lenient<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Lenient::Absent)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Lenient::Absent)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Lenient::Dropped)
    }
    fn visit_i64<E>(self, n: i64) -> Result<Self::Value, E> {
        Ok(T::from_i64(n).map_or(Lenient::Dropped, Lenient::Valid))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Self::Value, E> {
        let n = i64::try_from(n).ok().and_then(T::from_i64);
        Ok(n.map_or(Lenient::Dropped, Lenient::Valid))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Lenient::Dropped)
    }
    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(T::from_str(s).map_or(Lenient::Dropped, Lenient::Valid))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Ok(T::from_seq(seq)?.map_or(Lenient::Dropped, Lenient::Valid))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Ok(T::from_map(map)?.map_or(Lenient::Dropped, Lenient::Valid))
    }
}

impl<T> Lenient<T> {
    /// The value, if it was valid.
    pub fn valid(self) -> Option<T> {
        match self {
            Lenient::Valid(v) => Some(v),
            _ => None,
        }
    }

    /// The value by reference, if it was valid.
    pub fn as_valid(&self) -> Option<&T> {
        match self {
            Lenient::Valid(v) => Some(v),
            _ => None,
        }
    }

    /// Adds `name` to `dropped` when this field was left out.
    pub fn note(&self, name: &'static str, dropped: &mut Vec<&'static str>) {
        if matches!(self, Lenient::Dropped) {
            dropped.push(name);
        }
    }
}

/// Reads a verified body as `T`. A lone UTF-16 surrogate escape (`\ud800`), which JSON allows
/// (RFC 8259 section 8.2) and JavaScript senders produce when they cut a string inside an emoji,
/// is read as U+FFFD instead of refusing the delivery for one character; the bytes are only
/// copied when the first reading fails.
pub fn from_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, serde_json::Error> {
    serde_json::from_slice(body).or_else(|e| match replace_lone_surrogates(body) {
        Some(fixed) => serde_json::from_slice(&fixed),
        None => Err(e),
    })
}

/// `body` with each unpaired `\uD800`..`\uDFFF` escape replaced by `\uFFFD` (same length), or
/// `None` when it has none.
pub fn replace_lone_surrogates(body: &[u8]) -> Option<Vec<u8>> {
    let hex = |at: usize| -> Option<u16> {
        let digits = std::str::from_utf8(body.get(at..at + 4)?).ok()?;
        u16::from_str_radix(digits, 16).ok()
    };
    // An escape `\uXXXX` starting at `at`, as its code unit.
    let unit = |at: usize| -> Option<u16> {
        (body.get(at) == Some(&b'\\') && body.get(at + 1) == Some(&b'u'))
            .then(|| hex(at + 2))
            .flatten()
    };
    let mut out: Option<Vec<u8>> = None;
    let mut i = 0;
    while i < body.len() {
        if body.get(i) != Some(&b'\\') {
            i += 1;
            continue;
        }
        match unit(i) {
            Some(0xD800..=0xDBFF) if matches!(unit(i + 6), Some(0xDC00..=0xDFFF)) => i += 12,
            Some(0xD800..=0xDFFF) => {
                let fixed = out.get_or_insert_with(|| body.to_vec());
                if let Some(slot) = fixed.get_mut(i + 2..i + 6) {
                    slot.copy_from_slice(b"fffd");
                }
                i += 6;
            }
            // Any other escape, `\\` included: skip it whole so its second byte is not read as
            // the start of another.
            _ => i += 2,
        }
    }
    out
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
// The async providers' futures stay out of the request's state machine (`ports::apart`).
macro_rules! receive_call {
    (plain, $m:ident, $c:expr, $d:expr, $k:expr) => {
        $m::receive($c, $d)
    };
    (io, $m:ident, $c:expr, $d:expr, $k:expr) => {
        crate::ports::apart($m::receive($c, $d, $k.io)).await
    };
    (keys, $m:ident, $c:expr, $d:expr, $k:expr) => {
        crate::ports::apart($m::receive($c, $d, $k)).await
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
    fn lone_surrogates_are_replaced_and_pairs_kept() {
        let fix =
            |s: &str| replace_lone_surrogates(s.as_bytes()).map(|b| String::from_utf8(b).unwrap());
        assert_eq!(
            fix(r#"{"a":"x\ud800y"}"#).as_deref(),
            Some(r#"{"a":"x\ufffdy"}"#)
        );
        assert_eq!(
            fix(r#"["\uDC00\ud83d"]"#).as_deref(),
            Some(r#"["\ufffd\ufffd"]"#)
        );
        // A valid pair, an escaped backslash before `ud800`, and other escapes stay as they are.
        assert_eq!(fix(r#"["\ud83d\ude00", "\\ud800", "\n\u0041"]"#), None);
        assert_eq!(
            fix(r#""\ud8"#),
            None,
            "a cut escape is left for the parser to refuse"
        );
        let v: Vec<String> = from_json(br#"["a\ud800", "\ud83d\ude00"]"#).unwrap();
        assert_eq!(v, ["a\u{fffd}", "\u{1f600}"]);
        assert!(from_json::<Vec<String>>(b"[1,").is_err());
    }

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
