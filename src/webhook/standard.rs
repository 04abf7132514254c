//! Standard Webhooks v1 (HMAC-SHA256), the scheme Svix signs with for Clerk, Stytch and others.
//!
//! Signed content is `{id}.{timestamp}.{raw body}`; the header carries a space-separated list of
//! `version,base64` signatures so senders can rotate secrets. We accept the `svix-*` and the
//! `webhook-*` header names, ignore versions we do not know, allow 300 s of clock skew either way,
//! and compare in constant time with an explicit length check.

use super::WebhookError;
use crate::crypto::ct_eq;
use crate::ports::HeaderMap;
use crate::settings::{ConfigError, Settings};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// Replay window in seconds, both directions (all reference libraries use 5 minutes).
pub const TOLERANCE_S: i64 = 300;

/// Why a signing secret could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// Not base64 after the `whsec_` prefix, or empty.
    #[error("not a whsec_ base64 secret")]
    NotBase64,
}

/// A Standard Webhooks signing secret (`whsec_<base64>`), decoded once.
#[derive(Clone)]
pub struct Secret {
    key: Vec<u8>,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// Parses `whsec_<base64>` (prefix optional, as in the reference libraries).
    pub fn parse(s: &str) -> Result<Secret, SecretError> {
        let s = s.trim();
        let b64 = s.strip_prefix("whsec_").unwrap_or(s);
        let key = STANDARD.decode(b64).map_err(|_| SecretError::NotBase64)?;
        if key.is_empty() {
            return Err(SecretError::NotBase64);
        }
        Ok(Secret { key })
    }

    /// The `v1,<base64>` signature of a message: the pure signing function tests and senders use.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        format!(
            "v1,{}",
            STANDARD.encode(self.digest(msg_id, timestamp, body))
        )
    }

    fn digest(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> [u8; 32] {
        let ts = timestamp.to_string();
        crate::crypto::hmac_sha256(
            &self.key,
            &[msg_id.as_bytes(), b".", ts.as_bytes(), b".", body],
        )
    }
}

/// Parses a list of secrets separated by `|` or whitespace, each optionally `v1,`-prefixed (Supabase).
pub fn parse_secrets(s: &str) -> Result<Vec<Secret>, SecretError> {
    let list: Vec<Secret> = s
        .split(|c: char| c == '|' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(|t| Secret::parse(t.strip_prefix("v1,").unwrap_or(t)))
        .collect::<Result<_, _>>()?;
    if list.is_empty() {
        return Err(SecretError::NotBase64);
    }
    Ok(list)
}

/// Reads a setting holding `whsec_` secret(s); `None` when unset, an error naming it when unusable.
pub fn secrets_setting(
    get: &dyn Settings,
    var: &'static str,
    hint: &'static str,
) -> Result<Option<Vec<Secret>>, ConfigError> {
    get.get(var)
        .map(|s| parse_secrets(&s).map_err(|_| ConfigError::invalid(var, hint)))
        .transpose()
}

/// Settings of a provider that signs only with Standard Webhooks `whsec_` secrets (Clerk,
/// Stytch, Supabase hooks): one type, so each provider file keeps only what is its own.
#[derive(Debug)]
pub struct Signed {
    secrets: Vec<Secret>,
}

impl Signed {
    /// Reads `var`; `None` when unset, an error naming it (with `hint`) when unusable.
    pub fn from_setting(
        get: &dyn Settings,
        var: &'static str,
        hint: &'static str,
    ) -> Result<Option<Signed>, ConfigError> {
        Ok(secrets_setting(get, var, hint)?.map(|secrets| Signed { secrets }))
    }

    /// Verifies a delivery's `v1` signatures and timestamp.
    pub fn verify(&self, d: &super::Delivery<'_>) -> Result<Parts, WebhookError> {
        verify(&self.secrets, d.headers, d.body, d.now)
    }
}

/// Reads a header under its Svix name, falling back to the Standard Webhooks name.
fn header(
    headers: &dyn HeaderMap,
    svix: &'static str,
    std: &'static str,
) -> Result<String, WebhookError> {
    headers
        .get(svix)
        .or_else(|| headers.get(std))
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or(WebhookError::MissingHeader(std))
}

/// The signature headers of one delivery, timestamp already checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parts {
    /// Message id (`svix-id` / `webhook-id`).
    pub id: String,
    /// Timestamp, Unix seconds.
    pub timestamp: i64,
    /// `(version, decoded signature)` pairs; unknown versions are kept for the caller to ignore.
    pub signatures: Vec<(String, Vec<u8>)>,
}

impl Parts {
    /// The bytes that are signed: `{id}.{timestamp}.{body}`.
    pub fn signed_content(&self, body: &[u8]) -> Vec<u8> {
        let mut m = format!("{}.{}.", self.id, self.timestamp).into_bytes();
        m.extend_from_slice(body);
        m
    }

    /// Signatures of one version.
    pub fn of_version<'a>(&'a self, version: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.signatures
            .iter()
            .filter(move |(v, _)| v == version)
            .map(|(_, s)| s.as_slice())
    }

    /// Identifies this signed attempt: senders re-sign every retry with a new timestamp.
    pub fn replay_key(&self) -> String {
        format!("{}.{}", self.id, self.timestamp)
    }

    /// True when a `v1` signature matches under any of `secrets`.
    pub fn v1_matches(&self, secrets: &[Secret], body: &[u8]) -> bool {
        secrets.iter().any(|secret| {
            let expected = secret.digest(&self.id, self.timestamp, body);
            self.of_version("v1")
                .fold(false, |found, c| found | ct_eq(c, &expected))
        })
    }
}

/// Reads the three headers and enforces the timestamp window at `now` (Unix seconds).
pub fn read(headers: &dyn HeaderMap, now: i64) -> Result<Parts, WebhookError> {
    let id = header(headers, "svix-id", "webhook-id")?;
    let ts_raw = header(headers, "svix-timestamp", "webhook-timestamp")?;
    let sigs = header(headers, "svix-signature", "webhook-signature")?;
    let timestamp: i64 = ts_raw.parse().map_err(|_| WebhookError::BadTimestamp)?;
    let skew = now.saturating_sub(timestamp);
    if skew.saturating_abs() > TOLERANCE_S {
        return Err(WebhookError::StaleTimestamp(skew));
    }
    let signatures = sigs
        .split(' ')
        // Supabase joins several signatures with ", ", leaving a trailing comma on all but the last.
        .map(|t| t.trim_end_matches(','))
        .filter_map(|entry| entry.split_once(','))
        .filter_map(|(version, sig)| Some((version.to_owned(), STANDARD.decode(sig).ok()?)))
        .collect();
    Ok(Parts {
        id,
        timestamp,
        signatures,
    })
}

/// Verifies a delivery against any of `secrets` at time `now` (Unix seconds).
pub fn verify(
    secrets: &[Secret],
    headers: &dyn HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<Parts, WebhookError> {
    let parts = read(headers, now)?;
    if parts.v1_matches(secrets, body) {
        Ok(parts)
    } else {
        Err(WebhookError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors A and B: the sign tests of the standard-webhooks Rust and Go libraries
    // (https://github.com/standard-webhooks/standard-webhooks/tree/HEAD/libraries); C: Svix's
    // "Example signatures" (https://docs.svix.com/receiving/verifying-payloads/how-manual).
    const VECTORS: [(&str, &str, i64, &str, &str); 3] = [
        (
            "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1649367553,
            r#"{"email":"test@example.com","username":"test_user"}"#,
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
        ),
        (
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        ),
        (
            "whsec_plJ3nmyCDGBKInavdOK15jsl",
            "msg_loFOjxBNrRLzqYUf",
            1731705121,
            r#"{"event_type":"ping","data":{"success":true}}"#,
            "v1,rAvfW3dJ/X/qxhsaXPOyyCGmRKsaKWcsNccKXlIktD0=",
        ),
    ];

    fn check(
        secret: &str,
        id: &str,
        ts: i64,
        body: &str,
        sig: &str,
        now: i64,
    ) -> Result<String, WebhookError> {
        let ts = ts.to_string();
        let h: &[(&str, &str)] = &[
            ("webhook-id", id),
            ("webhook-timestamp", &ts),
            ("webhook-signature", sig),
        ];
        verify(&[Secret::parse(secret).unwrap()], &h, body.as_bytes(), now).map(|p| p.id)
    }

    #[test]
    fn official_vectors_sign_and_verify() {
        for (secret, id, ts, body, sig) in VECTORS {
            assert_eq!(
                Secret::parse(secret).unwrap().sign(id, ts, body.as_bytes()),
                sig
            );
            assert_eq!(check(secret, id, ts, body, sig, ts).unwrap(), id);
        }
    }

    #[test]
    fn svix_header_names_are_accepted() {
        let (secret, id, ts, body, sig) = VECTORS[0];
        let t = ts.to_string();
        let h: &[(&str, &str)] = &[
            ("Svix-Id", id),
            ("Svix-Timestamp", &t),
            ("Svix-Signature", sig),
        ];
        assert!(verify(&[Secret::parse(secret).unwrap()], &h, body.as_bytes(), ts).is_ok());
    }

    #[test]
    fn negative_vectors_fail() {
        let (secret, id, ts, body, sig) = VECTORS[1];
        let changed = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=";
        assert_eq!(
            check(secret, id, ts, body, changed, ts),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            check(secret, id, ts, body, "v1,", ts),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            check(secret, id, ts, body, &sig[..8], ts),
            Err(WebhookError::BadSignature)
        );
        // A truncated but otherwise valid base64 prefix of the signature must fail (length check).
        assert_eq!(
            check(
                secret,
                id,
                ts,
                body,
                "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJE",
                ts
            ),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            check(secret, id, ts, &format!("{body} "), sig, ts),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            check(
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSx",
                id,
                ts,
                body,
                sig,
                ts
            ),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            check(secret, "msg_other", ts, body, sig, ts),
            Err(WebhookError::BadSignature)
        );
        // Same signature under a different version tag is ignored.
        assert_eq!(
            check(secret, id, ts, body, &sig.replace("v1,", "v2,"), ts),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn multi_signature_lists_with_junk_pass() {
        let (secret, id, ts, body, sig) = VECTORS[1];
        let list = format!("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= {sig} v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=");
        assert!(check(secret, id, ts, body, &list, ts).is_ok());
        let with_v1a = format!("v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg== {sig}");
        assert!(check(secret, id, ts, body, &with_v1a, ts).is_ok());
    }

    #[test]
    fn timestamps_outside_tolerance_fail_both_ways() {
        let (secret, id, ts, body, sig) = VECTORS[0];
        assert!(check(secret, id, ts, body, sig, ts + 300).is_ok());
        assert!(check(secret, id, ts, body, sig, ts - 300).is_ok());
        assert_eq!(
            check(secret, id, ts, body, sig, ts + 301),
            Err(WebhookError::StaleTimestamp(301))
        );
        assert_eq!(
            check(secret, id, ts, body, sig, ts - 301),
            Err(WebhookError::StaleTimestamp(-301))
        );
        let h: &[(&str, &str)] = &[
            ("webhook-id", id),
            ("webhook-timestamp", "12a"),
            ("webhook-signature", sig),
        ];
        assert_eq!(
            verify(&[Secret::parse(secret).unwrap()], &h, body.as_bytes(), ts),
            Err(WebhookError::BadTimestamp)
        );
    }

    #[test]
    fn secret_lists_and_supabase_joiner() {
        let list = parse_secrets(
            "v1,whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD|v1,whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        )
        .unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(
            parse_secrets(" whsec_plJ3nmyCDGBKInavdOK15jsl ")
                .unwrap()
                .len(),
            1
        );
        assert!(parse_secrets("").is_err());
        assert!(parse_secrets("v1,whsec_ok|junk!").is_err());
        let (_, id, ts, body, sig) = VECTORS[1];
        // Supabase with two secrets: "v1,<a>, v1,<b>", the valid one last or first.
        let t = ts.to_string();
        for header in [
            format!("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=, {sig}"),
            format!("{sig}, v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="),
        ] {
            let h: &[(&str, &str)] = &[
                ("webhook-id", id),
                ("webhook-timestamp", &t),
                ("webhook-signature", &header),
            ];
            assert!(verify(&list, &h, body.as_bytes(), ts).is_ok(), "{header}");
        }
    }

    #[test]
    fn missing_headers_and_bad_secrets() {
        let h: &[(&str, &str)] = &[("webhook-id", "m")];
        assert_eq!(
            verify(&[], &h, b"{}", 0),
            Err(WebhookError::MissingHeader("webhook-timestamp"))
        );
        assert!(Secret::parse("whsec_").is_err());
        assert!(Secret::parse("whsec_not base64!").is_err());
        assert!(format!("{:?}", Secret::parse(VECTORS[0].0).unwrap()).contains(".."));
    }
}
