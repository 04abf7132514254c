//! RS256 JSON Web Tokens verified against a JWKS fetched from the issuer and cached per isolate:
//! the scheme behind Firebase blocking functions and Kinde webhooks.
//!
//! Only `alg: RS256` with a `kid` is accepted. Anything else (`none`, `HS256` keyed with the
//! public key, ...) is refused before a key is even looked up, because the algorithm is the
//! attacker's choice. The RSA check itself runs in the runtime's WebCrypto through
//! [`KeyIo::verify_jwk`], so no RSA or ECDSA code is compiled into the wasm.
//!
//! Keys: [`KeyCache`] keeps each JWKS document for [`KEYS_TTL_MS`] (a fixed hour, because
//! [`KeyIo::get`] does not expose `Cache-Control`). A token naming a kid we do not hold means
//! either a key rotation or a forgery; we refetch for it at most once per [`MIN_REFRESH_MS`], so a
//! flood of made-up kids cannot make us hammer the issuer. Expired keys keep being used while
//! the issuer is unreachable; with no keys at all, the delivery fails with
//! [`WebhookError::KeysUnavailable`] (503), so retrying senders try again later. Fetches are
//! single-flight: requests that need a document while it is being fetched wait for that fetch
//! instead of starting their own, so a burst on a cold isolate (30 forged tokens at once) costs
//! the issuer one request.

use super::{Keys, WebhookError};
use crate::ports::KeyIo;
use crate::settings::{ConfigError, Settings};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use serde_json::Value;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

/// How long one JWKS fetch may take: Firebase allows the whole request only 7 s.
pub const FETCH_TIMEOUT_MS: u64 = 2_000;
/// How long fetched keys count as current (issuers publish new keys well before using them).
pub const KEYS_TTL_MS: u64 = 3_600_000;
/// Least time between two refetches caused by unknown kids.
pub const MIN_REFRESH_MS: u64 = 60_000;
/// After a failed fetch, how long requests fail fast (or use expired keys) instead of refetching.
pub const FAILURE_BACKOFF_MS: u64 = 5_000;
/// Clock skew tolerated on `exp`, `iat` and `nbf`.
pub const LEEWAY_S: i64 = 60;

/// One public key from a JWKS: its type and curve (which bind it to one algorithm) and its
/// public members as a JWK, the form WebCrypto imports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    kty: String,
    crv: Option<String>,
    alg: Option<String>,
    jwk: String,
}

/// A signature algorithm, always pinned by our configuration, never taken from the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// ECDSA P-384 with SHA-384 (Logto's default).
    Es384,
    /// Ed25519.
    EdDsa,
    /// HMAC-SHA256 with a shared secret (Supabase's legacy JWT secret only).
    Hs256,
}

impl Alg {
    /// The JOSE name.
    pub fn name(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Es256 => "ES256",
            Alg::Es384 => "ES384",
            Alg::EdDsa => "EdDSA",
            Alg::Hs256 => "HS256",
        }
    }

    /// Parses a JOSE name.
    pub fn parse(s: &str) -> Option<Alg> {
        [Alg::Rs256, Alg::Es256, Alg::Es384, Alg::EdDsa, Alg::Hs256]
            .into_iter()
            .find(|a| a.name() == s.trim())
    }

    /// Whether `key` may verify this algorithm: an RSA key never verifies ECDSA, a P-256 key
    /// never ES384, and so on, so one key serves exactly one algorithm.
    fn fits(self, key: &PublicKey) -> bool {
        if key.alg.as_deref().is_some_and(|a| a != self.name()) {
            return false;
        }
        matches!(
            (self, key.kty.as_str(), key.crv.as_deref()),
            (Alg::Rs256, "RSA", _)
                | (Alg::Es256, "EC", Some("P-256"))
                | (Alg::Es384, "EC", Some("P-384"))
                | (Alg::EdDsa, "OKP", Some("Ed25519"))
        )
    }
}

/// What we know about one JWKS URL.
#[derive(Debug, Default)]
struct Doc {
    keys: HashMap<String, PublicKey>,
    /// When the keys were last fetched successfully (never, if `None`).
    fetched_ms: Option<u64>,
    /// When the last fetch started (rate-limits refetches, including ones still in flight).
    attempt_ms: Option<u64>,
    /// When the last fetch failed, and why.
    failed: Option<(u64, String)>,
    /// The fetch in progress, which other requests wait for instead of fetching again.
    flight: Option<Rc<Flight>>,
}

/// One JWKS fetch in progress: done once its result is in the cache, or its request was
/// dropped. Waiting requests look at it between timer ticks of their own rather than being woken
/// by the fetching request: in Workers, a request that awaits only another request's promise is
/// cancelled as hung, and one woken from another request's context would do its own I/O there.
#[derive(Debug, Default)]
struct Flight {
    done: Cell<bool>,
}

/// Held by the request that fetches: ends the flight when dropped, whether the fetch finished or
/// the request was abandoned, so no waiting request waits for nothing.
struct Pilot(Rc<Flight>);

impl Drop for Pilot {
    fn drop(&mut self) {
        self.0.done.set(true);
    }
}

/// How often a request waiting for another's JWKS fetch looks whether it landed.
const WAIT_STEP_MS: u64 = 10;

/// JWKS documents fetched in this isolate, by URL.
///
/// Requests in one isolate run concurrently: the cell is only borrowed between awaits.
#[derive(Debug, Default)]
pub struct KeyCache {
    docs: RefCell<HashMap<String, Doc>>,
}

/// What to do for one key lookup, decided from the cache alone.
enum Plan {
    Use(PublicKey),
    /// Fetch; on failure fall back to this (expired) key if there is one.
    Fetch(Option<PublicKey>),
    /// Another request is fetching what we need: wait for it, then plan again.
    Wait(Rc<Flight>),
    Refuse(WebhookError),
}

/// True while fewer than `window` ms have passed since `at` (a clock going backwards counts as recent).
fn within(at: Option<u64>, now: u64, window: u64) -> bool {
    at.is_some_and(|t| now.saturating_sub(t) < window)
}

impl Doc {
    fn plan(&self, kid: &str, now: u64) -> Plan {
        let in_flight = self.flight.as_ref().filter(|f| !f.done.get());
        let Some(fetched) = self.fetched_ms else {
            // Never had keys: wait for the fetch in flight, else fetch, unless a fetch just
            // failed (then fail fast).
            return match (&self.failed, in_flight) {
                (_, Some(flight)) => Plan::Wait(flight.clone()),
                (Some((at, why)), _) if within(Some(*at), now, FAILURE_BACKOFF_MS) => {
                    Plan::Refuse(WebhookError::KeysUnavailable(why.clone()))
                }
                _ => Plan::Fetch(None),
            };
        };
        match self.keys.get(kid) {
            Some(key) if now.saturating_sub(fetched) < KEYS_TTL_MS => Plan::Use(key.clone()),
            // Expired: refresh, but while a refresh is running or just failed use what we have.
            Some(key) if within(self.attempt_ms, now, FAILURE_BACKOFF_MS) => Plan::Use(key.clone()),
            Some(key) => Plan::Fetch(Some(key.clone())),
            // Unknown kid: a rotation we have not seen, or a forgery. A refetch in flight may
            // bring it; otherwise refetch at most once per MIN_REFRESH_MS.
            None => match in_flight {
                Some(flight) => Plan::Wait(flight.clone()),
                None if within(self.attempt_ms, now, MIN_REFRESH_MS) => {
                    Plan::Refuse(WebhookError::BadSignature)
                }
                None => Plan::Fetch(None),
            },
        }
    }
}

impl KeyCache {
    /// The key `kid` of the JWKS at `url`, fetching the document when needed.
    async fn key<K: KeyIo>(&self, url: &str, kid: &str, io: &K) -> Result<PublicKey, WebhookError> {
        // A wait lasts at most one fetch (its timeout, and a margin); after it the plan is Use
        // or Refuse (a failure backs off, an unknown kid waits for the minute), so one wait is
        // the rule and the bound on waits only guards that reasoning.
        let max_steps = (FETCH_TIMEOUT_MS + 1_000) / WAIT_STEP_MS;
        let mut waits = 0;
        let (fallback, _pilot) = loop {
            let now = io.now_ms();
            let flight = {
                let mut docs = self.docs.borrow_mut();
                let doc = docs.entry(url.to_owned()).or_default();
                match doc.plan(kid, now) {
                    Plan::Use(key) => return Ok(key),
                    Plan::Refuse(e) => return Err(e),
                    Plan::Wait(flight) if waits < 3 => flight,
                    Plan::Wait(_) => {
                        return Err(WebhookError::KeysUnavailable(format!(
                            "{url} is still being fetched"
                        )))
                    }
                    Plan::Fetch(fallback) => {
                        doc.attempt_ms = Some(now);
                        let flight = Rc::new(Flight::default());
                        doc.flight = Some(flight.clone());
                        break (fallback, Pilot(flight));
                    }
                }
            };
            waits += 1;
            let mut steps = 0;
            while !flight.done.get() && steps < max_steps {
                io.sleep(WAIT_STEP_MS).await;
                steps += 1;
            }
        };
        let fetched = fetch_jwks(url, io).await;
        let done = io.now_ms();
        let mut docs = self.docs.borrow_mut();
        let doc = docs.entry(url.to_owned()).or_default();
        match fetched {
            Ok(keys) => {
                let found = keys.get(kid).cloned();
                doc.keys = keys;
                doc.fetched_ms = Some(done);
                doc.failed = None;
                found.ok_or(WebhookError::BadSignature)
            }
            Err(why) => {
                doc.failed = Some((done, why.clone()));
                fallback.ok_or(WebhookError::KeysUnavailable(why))
            }
        }
    }
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Value>,
}

/// One JWK; every field optional so that keys of other types are skipped, not fatal.
#[derive(Deserialize)]
struct Jwk {
    kty: Option<String>,
    kid: Option<String>,
    alg: Option<String>,
    crv: Option<String>,
    #[serde(rename = "use")]
    usage: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

impl Jwk {
    /// The key's public members as a JWK, if it is a signing key of a type we verify.
    fn public(self) -> Option<(String, PublicKey)> {
        let kid = self.kid.filter(|k| !k.is_empty())?;
        let unsupported = self
            .alg
            .as_deref()
            .is_some_and(|a| Alg::parse(a).is_none_or(|a| a == Alg::Hs256));
        if self.usage.as_deref().is_some_and(|u| u != "sig") || unsupported {
            return None;
        }
        let kty = self.kty?;
        let nonempty = |v: Option<String>| v.filter(|s| !s.is_empty());
        let jwk = match kty.as_str() {
            "RSA" => {
                serde_json::json!({ "kty": "RSA", "n": nonempty(self.n)?, "e": nonempty(self.e)? })
            }
            "EC" => serde_json::json!({
                "kty": "EC", "crv": self.crv.clone()?, "x": nonempty(self.x)?, "y": nonempty(self.y)?,
            }),
            "OKP" => {
                serde_json::json!({ "kty": "OKP", "crv": self.crv.clone()?, "x": nonempty(self.x)? })
            }
            _ => return None,
        };
        let key = PublicKey {
            kty,
            crv: self.crv,
            alg: self.alg,
            jwk: jwk.to_string(),
        };
        Some((kid, key))
    }
}

/// Fetches a JWKS and keeps its signing keys; a document without any counts as a failure.
async fn fetch_jwks<K: KeyIo>(url: &str, io: &K) -> Result<HashMap<String, PublicKey>, String> {
    let (status, body) = io
        .get(url, FETCH_TIMEOUT_MS)
        .await
        .map_err(|e| format!("fetching {url}: {e}"))?;
    if status != 200 {
        return Err(format!("{url} answered HTTP {status}"));
    }
    let doc: Jwks =
        serde_json::from_slice(&body).map_err(|_| format!("{url} is not a JWKS document"))?;
    let keys: HashMap<String, PublicKey> = doc
        .keys
        .into_iter()
        .filter_map(|v| serde_json::from_value::<Jwk>(v).ok())
        .filter_map(Jwk::public)
        .collect();
    if keys.is_empty() {
        return Err(format!("{url} holds no signing keys"));
    }
    Ok(keys)
}

#[derive(Deserialize)]
struct Header {
    alg: Option<String>,
    kid: Option<String>,
    crit: Option<Value>,
}

/// A compact JWS whose header passed our rules; the claims are not decoded until verified.
#[derive(Debug)]
pub struct Token<'a> {
    /// The algorithm the header names (one of those allowed).
    pub alg: Alg,
    /// The key id named by the header (empty for HS256).
    pub kid: String,
    /// `header.payload`, the signed bytes.
    signing_input: &'a str,
    /// The payload, still base64url.
    payload: &'a str,
    signature: Vec<u8>,
}

/// Splits a compact JWS and checks its header: `alg` exactly `RS256`, a non-empty `kid`, no `crit`.
///
/// Every failure is [`WebhookError::BadSignature`]: nothing is verified yet, so nothing about
/// the token can be trusted enough to call it malformed.
pub fn parse(token: &str) -> Result<Token<'_>, WebhookError> {
    parse_as(token, &[Alg::Rs256])
}

/// [`parse`] for the algorithms `allowed` (our configuration's, never the token's choice); an
/// asymmetric algorithm needs a `kid`.
pub fn parse_as<'a>(token: &'a str, allowed: &[Alg]) -> Result<Token<'a>, WebhookError> {
    let token = token.trim();
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(WebhookError::BadSignature);
    };
    let signing_input = token
        .get(..header.len() + 1 + payload.len())
        .ok_or(WebhookError::BadSignature)?;
    let header: Header = URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or(WebhookError::BadSignature)?;
    // `crit` names extensions the verifier must understand (RFC 7515 §4.1.11); we know none.
    let alg = header
        .alg
        .as_deref()
        .and_then(Alg::parse)
        .filter(|a| allowed.contains(a))
        .ok_or(WebhookError::BadSignature)?;
    if header.crit.is_some() {
        return Err(WebhookError::BadSignature);
    }
    let kid = header.kid.filter(|k| !k.is_empty()).unwrap_or_default();
    if kid.is_empty() && alg != Alg::Hs256 {
        return Err(WebhookError::BadSignature);
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .ok()
        .filter(|s| !s.is_empty())
        .ok_or(WebhookError::BadSignature)?;
    Ok(Token {
        alg,
        kid,
        signing_input,
        payload,
        signature,
    })
}

/// Verifies an RS256 token against the JWKS at `jwks_url` and returns its claims (a JSON object).
///
/// Checks only the signature; the caller checks `iss`, `aud` and the times it needs
/// ([`check_exp`], [`check_issued`], [`audience_matches`]).
pub async fn verify<K: KeyIo>(
    token: &str,
    jwks_url: &str,
    keys: &Keys<'_, K>,
) -> Result<Value, WebhookError> {
    let source = KeySource::Jwks(jwks_url);
    verify_with(token, &[Alg::Rs256], &source, keys).await
}

/// Where a token's key comes from.
#[derive(Debug, Clone, Copy)]
pub enum KeySource<'a> {
    /// A JWKS URL (keys picked by `kid`, fetched and cached).
    Jwks(&'a str),
    /// One public key given in the configuration, as a JWK or `spki:<base64 DER>`.
    Static(&'a str),
    /// A shared HS256 secret.
    Secret(&'a [u8]),
}

/// Verifies a token signed with one of `allowed` by a key from `source`; returns its claims.
pub async fn verify_with<K: KeyIo>(
    token: &str,
    allowed: &[Alg],
    source: &KeySource<'_>,
    keys: &Keys<'_, K>,
) -> Result<Value, WebhookError> {
    let t = parse_as(token, allowed)?;
    let message = t.signing_input.as_bytes();
    let ok = match (source, t.alg) {
        (KeySource::Secret(secret), Alg::Hs256) => crate::crypto::ct_eq(
            &crate::crypto::hmac_sha256(secret, &[message]),
            &t.signature,
        ),
        (KeySource::Secret(_), _) | (_, Alg::Hs256) => false,
        (KeySource::Static(key), alg) => {
            keys.io
                .verify_jwk(alg.name(), key, message, &t.signature)
                .await
        }
        (KeySource::Jwks(url), alg) => {
            let key = keys.cache.key(url, &t.kid, keys.io).await?;
            alg.fits(&key)
                && keys
                    .io
                    .verify_jwk(alg.name(), &key.jwk, message, &t.signature)
                    .await
        }
    };
    if !ok {
        return Err(WebhookError::BadSignature);
    }
    claims(t.payload)
}

/// Decodes verified claims (a JSON object).
fn claims(payload: &str) -> Result<Value, WebhookError> {
    let claims: Value = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| super::malformed("the JWT payload is not base64url"))
        .and_then(|p| {
            serde_json::from_slice(&p)
                .map_err(|e| super::malformed(format!("the JWT claims are not JSON: {e}")))
        })?;
    if !claims.is_object() {
        return Err(super::malformed("the JWT claims are not an object"));
    }
    Ok(claims)
}

/// A NumericDate claim in whole seconds: `None` when absent, `BadTimestamp` when not a number.
pub fn numeric_date(claims: &Value, name: &str) -> Result<Option<i64>, WebhookError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| {
                // NumericDate may have a fraction (RFC 7519 §2); anything out of range is refused.
                n.as_f64()
                    .filter(|f| f.is_finite() && f.abs() < 1e15)
                    .map(|f| f.floor() as i64)
            })
            .map(Some)
            .ok_or(WebhookError::BadTimestamp),
        Some(_) => Err(WebhookError::BadTimestamp),
    }
}

/// Refuses a token whose `exp` has passed (with [`LEEWAY_S`]); `required` refuses a token without one.
pub fn check_exp(claims: &Value, now: i64, required: bool) -> Result<(), WebhookError> {
    match numeric_date(claims, "exp")? {
        None if required => Err(WebhookError::BadTimestamp),
        None => Ok(()),
        Some(exp) if now >= exp.saturating_add(LEEWAY_S) => {
            Err(WebhookError::StaleTimestamp(now.saturating_sub(exp)))
        }
        Some(_) => Ok(()),
    }
}

/// Refuses a token issued (`iat`) or valid (`nbf`) only in the future, beyond [`LEEWAY_S`];
/// `required` refuses a token without `iat`.
pub fn check_issued(claims: &Value, now: i64, required: bool) -> Result<(), WebhookError> {
    let iat = numeric_date(claims, "iat")?;
    if required && iat.is_none() {
        return Err(WebhookError::BadTimestamp);
    }
    for t in [iat, numeric_date(claims, "nbf")?].into_iter().flatten() {
        if t > now.saturating_add(LEEWAY_S) {
            return Err(WebhookError::StaleTimestamp(now.saturating_sub(t)));
        }
    }
    Ok(())
}

/// True when `aud` is `expected`, or a list containing it (RFC 7519 allows both forms).
pub fn audience_matches(claims: &Value, expected: &str) -> bool {
    match claims.get("aud") {
        Some(Value::String(a)) => a == expected,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(expected)),
        _ => false,
    }
}

/// Reads an optional JWKS URL setting: `https://`, or `http://` for a local test server only.
pub fn jwks_url_setting(
    get: &dyn Settings,
    var: &'static str,
    default: String,
) -> Result<String, ConfigError> {
    let Some(url) = get.get(var) else {
        return Ok(default);
    };
    let local = crate::settings::is_loopback_http(&url);
    if (url.starts_with("https://") && url.len() > "https://".len()) || local {
        Ok(url)
    } else {
        Err(ConfigError::invalid(
            var,
            "expected the https:// URL of a JWKS document",
        ))
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! A [`KeyIo`] that really checks RS256 (with the `rsa` crate) and serves scripted JWKS answers.

    use super::*;
    use crate::ports::TransportError;
    use std::cell::Cell;
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    /// The published test key `test-key-1` (tests/fixtures/jwt/README.md).
    pub const JWKS: &str = include_str!("../../tests/fixtures/jwt/jwks.json");
    /// `test-key-1` plus the rotated-in `test-key-2`.
    pub const JWKS_ROTATED: &str = include_str!("../../tests/fixtures/jwt/jwks_rotated.json");
    /// `iat` of the fixture tokens; their `exp` is an hour later.
    pub const IAT: i64 = 1_767_225_600;

    /// Fake runtime: `get` answers with `jwks` and records the URL.
    pub struct FakeKeys {
        /// The clock `now_ms` reports.
        pub now_ms: Cell<u64>,
        /// What every `get` answers.
        pub jwks: RefCell<Result<(u16, String), TransportError>>,
        /// The URLs fetched so far.
        pub gets: RefCell<Vec<String>>,
        /// Make each `get` pend once, to interleave concurrent requests.
        pub pend: Cell<bool>,
    }

    impl FakeKeys {
        /// Serves `jwks` with status 200; the clock is at the fixtures' `iat`.
        pub fn new(jwks: &str) -> FakeKeys {
            FakeKeys {
                now_ms: Cell::new(IAT as u64 * 1000),
                jwks: RefCell::new(Ok((200, jwks.to_owned()))),
                gets: RefCell::default(),
                pend: Cell::new(false),
            }
        }

        /// Number of JWKS fetches so far.
        pub fn fetches(&self) -> usize {
            self.gets.borrow().len()
        }
    }

    /// Pends once, then completes.
    struct YieldOnce(bool);

    impl Future for YieldOnce {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                Poll::Ready(())
            } else {
                self.0 = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }

    impl KeyIo for FakeKeys {
        async fn get(&self, url: &str, timeout_ms: u64) -> Result<(u16, Vec<u8>), TransportError> {
            assert_eq!(timeout_ms, FETCH_TIMEOUT_MS);
            self.gets.borrow_mut().push(url.to_owned());
            if self.pend.get() {
                YieldOnce(false).await;
            }
            self.jwks.borrow().clone().map(|(s, b)| (s, b.into_bytes()))
        }

        async fn verify_jwk(&self, alg: &str, key: &str, message: &[u8], signature: &[u8]) -> bool {
            use rsa::sha2::{Digest, Sha256};
            let Ok(jwk) = serde_json::from_str::<Value>(key) else {
                return false;
            };
            let field = |k: &str| jwk.get(k).and_then(Value::as_str).unwrap_or_default();
            if alg != "RS256" || field("kty") != "RSA" {
                return false;
            }
            let (Ok(n), Ok(e)) = (
                URL_SAFE_NO_PAD.decode(field("n")),
                URL_SAFE_NO_PAD.decode(field("e")),
            ) else {
                return false;
            };
            let Ok(key) = rsa::RsaPublicKey::new(
                rsa::BigUint::from_bytes_be(&n),
                rsa::BigUint::from_bytes_be(&e),
            ) else {
                return false;
            };
            key.verify(
                rsa::Pkcs1v15Sign::new::<Sha256>(),
                &Sha256::digest(message),
                signature,
            )
            .is_ok()
        }

        async fn verify_ed25519(&self, _k: &[u8], _m: &[u8], _s: &[u8]) -> bool {
            false
        }

        fn now_ms(&self) -> u64 {
            self.now_ms.get()
        }

        async fn sleep(&self, ms: u64) {
            YieldOnce(false).await;
            self.now_ms.set(self.now_ms.get() + ms);
        }
    }

    pub use crate::testing::block_on;

    /// Polls a future once.
    pub fn poll_once<F: Future>(f: Pin<&mut F>) -> Poll<F::Output> {
        f.poll(&mut Context::from_waker(Waker::noop()))
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use crate::ports::TransportError;
    use crate::webhook::text_at;
    use std::pin::pin;
    use std::task::Poll;

    const URL: &str = "https://issuer.test/jwks";
    const GOOD: &str = include_str!("../../tests/fixtures/jwt/firebase_before_create.jwt");
    const WRONG_KEY: &str = include_str!("../../tests/fixtures/jwt/firebase_wrong_key.jwt");
    const ROTATED: &str = include_str!("../../tests/fixtures/jwt/firebase_rotated.jwt");
    const NONE: &str = include_str!("../../tests/fixtures/jwt/firebase_alg_none.jwt");
    const HS256: &str = include_str!("../../tests/fixtures/jwt/firebase_hs256.jwt");

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    /// A token with the given header and a real token's payload and signature.
    fn with_header(header: &str) -> String {
        let mut parts = GOOD.trim().splitn(2, '.');
        parts.next();
        format!("{}.{}", b64(header), parts.next().unwrap())
    }

    fn run(token: &str, cache: &KeyCache, io: &FakeKeys) -> Result<Value, WebhookError> {
        block_on(verify(token, URL, &Keys { cache, io }))
    }

    #[test]
    fn valid_token_yields_claims_and_caches_keys() {
        let (cache, io) = (KeyCache::default(), FakeKeys::new(JWKS));
        let claims = run(GOOD, &cache, &io).unwrap();
        assert_eq!(text_at(&claims, &["/event_type"]), Some("beforeCreate"));
        assert_eq!(
            text_at(&claims, &["/user_record/uid"]),
            text_at(&claims, &["/sub"])
        );
        for _ in 0..5 {
            run(GOOD, &cache, &io).unwrap();
        }
        assert_eq!(*io.gets.borrow(), [URL]);
    }

    #[test]
    fn forged_and_refused_tokens() {
        let (cache, io) = (KeyCache::default(), FakeKeys::new(JWKS));
        // Same kid, another key: the key is found and the RSA check fails.
        assert_eq!(run(WRONG_KEY, &cache, &io), Err(WebhookError::BadSignature));
        assert_eq!(io.fetches(), 1);
        // Algorithms other than RS256 are refused without touching keys.
        let io = FakeKeys::new(JWKS);
        for t in [NONE, HS256] {
            assert_eq!(run(t, &cache, &io), Err(WebhookError::BadSignature));
        }
        let bad_headers = [
            r#"{"alg":"RS256"}"#,
            r#"{"alg":"RS256","kid":""}"#,
            r#"{"alg":"RS256","kid":7}"#,
            r#"{"alg":"rs256","kid":"test-key-1"}"#,
            r#"{"alg":"RS512","kid":"test-key-1"}"#,
            r#"{"alg":"PS256","kid":"test-key-1"}"#,
            r#"{"alg":"ES256","kid":"test-key-1"}"#,
            r#"{"kid":"test-key-1"}"#,
            r#"{"alg":"RS256","kid":"test-key-1","crit":["b64"],"b64":false}"#,
            r#"{"alg":"RS256","alg":"none","kid":"test-key-1"}"#,
            r#"["RS256"]"#,
        ];
        for h in bad_headers {
            assert_eq!(
                run(&with_header(h), &cache, &io),
                Err(WebhookError::BadSignature),
                "{h}"
            );
        }
        let sig_free = GOOD.trim().rsplit_once('.').unwrap().0;
        for t in [
            "",
            "a.b",
            "a.b.c.d",
            &format!("{sig_free}."),
            &format!("{sig_free}.!!"),
            &format!("{}=", GOOD.trim()),
            &format!("{}.{}", b64("{\"alg\":\"RS256\"}") + "==", "x.y"),
        ] {
            assert_eq!(run(t, &cache, &io), Err(WebhookError::BadSignature), "{t}");
        }
        assert_eq!(io.fetches(), 0);
        // An acceptable header that differs from the signed one by a byte: the signature
        // covers the header, so this fails while the untouched token still verifies.
        let changed = with_header(r#"{"alg":"RS256","kid":"test-key-1","typ":"JWT"} "#);
        assert_eq!(run(&changed, &cache, &io), Err(WebhookError::BadSignature));
        assert!(run(GOOD, &cache, &io).is_ok());
    }

    #[test]
    fn unknown_kid_refetches_at_most_once_a_minute() {
        let (cache, io) = (KeyCache::default(), FakeKeys::new(JWKS));
        run(GOOD, &cache, &io).unwrap();
        // The issuer rotates: the token with the new kid triggers exactly one refetch.
        *io.jwks.borrow_mut() = Ok((200, JWKS_ROTATED.to_owned()));
        io.now_ms.set(io.now_ms.get() + MIN_REFRESH_MS);
        assert!(run(ROTATED, &cache, &io).is_ok());
        assert_eq!(io.fetches(), 2);
        // A flood of made-up kids inside the minute: refused without any fetch.
        for i in 0..100 {
            let forged = with_header(&format!(r#"{{"alg":"RS256","kid":"forged-{i}"}}"#));
            assert_eq!(run(&forged, &cache, &io), Err(WebhookError::BadSignature));
        }
        assert_eq!(io.fetches(), 2);
        // A minute later, one more refetch for the next unknown kid, which still fails.
        io.now_ms.set(io.now_ms.get() + MIN_REFRESH_MS);
        let forged = with_header(r#"{"alg":"RS256","kid":"forged"}"#);
        assert_eq!(run(&forged, &cache, &io), Err(WebhookError::BadSignature));
        assert_eq!(run(&forged, &cache, &io), Err(WebhookError::BadSignature));
        assert_eq!(io.fetches(), 3);
        // Known keys keep working meanwhile.
        assert!(run(GOOD, &cache, &io).is_ok() && run(ROTATED, &cache, &io).is_ok());
        assert_eq!(io.fetches(), 3);
    }

    #[test]
    fn rotation_right_after_a_fetch_waits_for_the_minute() {
        let (cache, io) = (KeyCache::default(), FakeKeys::new(JWKS));
        run(GOOD, &cache, &io).unwrap();
        *io.jwks.borrow_mut() = Ok((200, JWKS_ROTATED.to_owned()));
        assert_eq!(run(ROTATED, &cache, &io), Err(WebhookError::BadSignature));
        io.now_ms.set(io.now_ms.get() + MIN_REFRESH_MS - 1);
        assert_eq!(run(ROTATED, &cache, &io), Err(WebhookError::BadSignature));
        io.now_ms.set(io.now_ms.get() + 1);
        assert!(run(ROTATED, &cache, &io).is_ok());
        assert_eq!(io.fetches(), 2);
    }

    #[test]
    fn keys_expire_after_an_hour_and_stale_keys_survive_outages() {
        let (cache, io) = (KeyCache::default(), FakeKeys::new(JWKS));
        run(GOOD, &cache, &io).unwrap();
        io.now_ms.set(io.now_ms.get() + KEYS_TTL_MS - 1);
        run(GOOD, &cache, &io).unwrap();
        assert_eq!(io.fetches(), 1);
        io.now_ms.set(io.now_ms.get() + 1);
        run(GOOD, &cache, &io).unwrap();
        assert_eq!(io.fetches(), 2);
        // Expired again, and the issuer is down: the old key still verifies, and we do not
        // refetch on every request.
        *io.jwks.borrow_mut() = Err(TransportError::Timeout);
        io.now_ms.set(io.now_ms.get() + KEYS_TTL_MS);
        for _ in 0..10 {
            run(GOOD, &cache, &io).unwrap();
        }
        assert_eq!(io.fetches(), 3);
        io.now_ms.set(io.now_ms.get() + FAILURE_BACKOFF_MS);
        run(GOOD, &cache, &io).unwrap();
        assert_eq!(io.fetches(), 4);
    }

    #[test]
    fn no_keys_means_keys_unavailable() {
        for answer in [
            Err(TransportError::Timeout),
            Err(TransportError::Network("dns".into())),
            Ok((500, "oops".to_owned())),
            Ok((200, "<html>".to_owned())),
            Ok((200, r#"{"keys":[]}"#.to_owned())),
            Ok((
                200,
                r#"{"keys":[{"kty":"EC","kid":"test-key-1","crv":"P-256"},{"kty":"RSA","kid":"test-key-1","use":"enc","n":"AQAB","e":"AQAB"},{"kty":"RSA","kid":"x","alg":"RS512","n":"AQAB","e":"AQAB"},{"kty":"RSA","kid":"y"}, 7]}"#
                    .to_owned(),
            )),
        ] {
            let (cache, io) = (KeyCache::default(), FakeKeys::new(JWKS));
            *io.jwks.borrow_mut() = answer.clone();
            let r = run(GOOD, &cache, &io);
            assert!(
                matches!(&r, Err(WebhookError::KeysUnavailable(why)) if why.contains(URL)),
                "{answer:?} -> {r:?}"
            );
            // Fail fast for a moment, then try again.
            assert!(matches!(
                run(GOOD, &cache, &io),
                Err(WebhookError::KeysUnavailable(_))
            ));
            assert_eq!(io.fetches(), 1);
            *io.jwks.borrow_mut() = Ok((200, JWKS.to_owned()));
            io.now_ms.set(io.now_ms.get() + FAILURE_BACKOFF_MS);
            assert!(run(GOOD, &cache, &io).is_ok());
            assert_eq!(io.fetches(), 2);
        }
        // Odd keys next to a good one are skipped, not fatal.
        let mixed = JWKS.replacen(r#""keys": ["#, r#""keys": [{"kty":"EC","kid":"e"}, 7, "#, 1);
        assert_ne!(mixed, JWKS);
        let (cache, io) = (KeyCache::default(), FakeKeys::new(&mixed));
        assert!(run(GOOD, &cache, &io).is_ok());
    }

    #[test]
    fn concurrent_requests_share_one_fetch_and_do_not_hold_the_cache_across_it() {
        let (cache, io) = (KeyCache::default(), FakeKeys::new(JWKS));
        io.pend.set(true);
        let keys = Keys {
            cache: &cache,
            io: &io,
        };
        let mut first = pin!(verify(GOOD, URL, &keys));
        assert!(poll_once(first.as_mut()).is_pending());
        // While the first request's fetch is in flight on a cold isolate, 30 more arrive (good
        // and forged kids): they wait for that fetch instead of starting their own, and none
        // finds the cell borrowed.
        let forged = with_header(r#"{"alg":"RS256","kid":"forged"}"#);
        let mut others: Vec<_> = (0..30)
            .map(|i| Box::pin(verify(if i % 2 == 0 { GOOD } else { &forged }, URL, &keys)))
            .collect();
        for o in &mut others {
            assert!(poll_once(o.as_mut()).is_pending());
        }
        assert_eq!(io.fetches(), 1);
        assert!(matches!(poll_once(first.as_mut()), Poll::Ready(Ok(_))));
        for (i, o) in others.iter_mut().enumerate() {
            match poll_once(o.as_mut()) {
                Poll::Ready(r) if i % 2 == 0 => assert!(r.is_ok(), "{r:?}"),
                Poll::Ready(r) => assert_eq!(r, Err(WebhookError::BadSignature)),
                Poll::Pending => panic!("request {i} still waits after the fetch landed"),
            }
        }
        assert_eq!(io.fetches(), 1, "one fetch for 31 requests");
    }

    #[test]
    fn an_abandoned_fetch_releases_its_waiters() {
        let (cache, io) = (KeyCache::default(), FakeKeys::new(JWKS));
        io.pend.set(true);
        let keys = Keys {
            cache: &cache,
            io: &io,
        };
        let mut first = Box::pin(verify(GOOD, URL, &keys));
        assert!(poll_once(first.as_mut()).is_pending());
        let mut second = pin!(verify(GOOD, URL, &keys));
        assert!(poll_once(second.as_mut()).is_pending());
        // The request that fetches is dropped mid-fetch: the waiter fetches for itself.
        drop(first);
        io.pend.set(false);
        assert!(matches!(poll_once(second.as_mut()), Poll::Ready(Ok(_))));
        assert_eq!(io.fetches(), 2);
    }

    #[test]
    fn each_jwks_url_has_its_own_keys() {
        let (cache, io) = (KeyCache::default(), FakeKeys::new(JWKS));
        run(GOOD, &cache, &io).unwrap();
        block_on(verify(
            GOOD,
            "https://other.test/jwks",
            &Keys {
                cache: &cache,
                io: &io,
            },
        ))
        .unwrap();
        assert_eq!(*io.gets.borrow(), [URL, "https://other.test/jwks"]);
    }

    #[test]
    fn time_checks_allow_a_minute_of_skew() {
        let c = serde_json::json!({"exp": 1000, "iat": 900, "nbf": 900});
        assert_eq!(check_exp(&c, 1059, true), Ok(()));
        assert_eq!(
            check_exp(&c, 1060, true),
            Err(WebhookError::StaleTimestamp(60))
        );
        assert_eq!(check_issued(&c, 840, true), Ok(()));
        assert_eq!(
            check_issued(&c, 839, true),
            Err(WebhookError::StaleTimestamp(-61))
        );
        let empty = serde_json::json!({});
        assert_eq!(check_exp(&empty, 0, false), Ok(()));
        assert_eq!(check_exp(&empty, 0, true), Err(WebhookError::BadTimestamp));
        assert_eq!(check_issued(&empty, 0, false), Ok(()));
        assert_eq!(
            check_issued(&empty, 0, true),
            Err(WebhookError::BadTimestamp)
        );
        let nbf_only = serde_json::json!({"nbf": 2000});
        assert!(check_issued(&nbf_only, 1000, false).is_err());
        for bad in [
            serde_json::json!({"exp": "1000"}),
            serde_json::json!({"exp": true}),
            serde_json::json!({"exp": 1e300}),
            serde_json::json!({"exp": u64::MAX}),
        ] {
            assert_eq!(check_exp(&bad, 0, false), Err(WebhookError::BadTimestamp));
        }
        assert_eq!(
            numeric_date(&serde_json::json!({"exp": 1000.7}), "exp"),
            Ok(Some(1000))
        );
        assert_eq!(
            check_exp(&serde_json::json!({"exp": i64::MAX}), i64::MAX, false),
            Err(WebhookError::StaleTimestamp(0))
        );
        assert_eq!(
            check_exp(&serde_json::json!({"exp": i64::MIN}), 0, false),
            Err(WebhookError::StaleTimestamp(i64::MAX))
        );
    }

    #[test]
    fn audience_is_a_string_or_a_list() {
        let want = "https://w.example/webhooks/firebase";
        assert!(audience_matches(&serde_json::json!({"aud": want}), want));
        assert!(audience_matches(
            &serde_json::json!({"aud": ["x", want]}),
            want
        ));
        assert!(!audience_matches(
            &serde_json::json!({"aud": format!("{want}/")}),
            want
        ));
        assert!(!audience_matches(&serde_json::json!({"aud": ["x"]}), want));
        assert!(!audience_matches(&serde_json::json!({}), want));
    }

    #[test]
    fn jwks_url_setting_wants_https() {
        const VAR: &str = "X_JWKS_URL";
        let with = |v: &'static str| move |k: &str| (k == VAR).then(|| v.to_owned());
        let default = || "https://d/jwks".to_owned();
        assert_eq!(
            jwks_url_setting(&|_: &str| None, VAR, default()).unwrap(),
            "https://d/jwks"
        );
        for ok in [
            "https://x.test/jwks",
            " https://x.test/jwks ",
            "http://localhost:8787/jwks",
            "http://127.0.0.1/jwks",
        ] {
            assert_eq!(
                jwks_url_setting(&with(ok), VAR, default()).unwrap(),
                ok.trim()
            );
        }
        for bad in [
            "http://x.test/jwks",
            "http://localhost.evil.test/jwks",
            "x.test/jwks",
            "https://",
        ] {
            assert_eq!(
                jwks_url_setting(&with(bad), VAR, default())
                    .unwrap_err()
                    .var(),
                VAR,
                "{bad}"
            );
        }
    }
}
