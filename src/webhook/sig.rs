//! Signature building blocks shared by the providers that do not use Standard Webhooks:
//! HMAC-SHA256 with hex output, `k=v` signature headers, timestamp windows and static shared
//! secrets. Every comparison is constant-time and length-checked.

use super::{ct_eq, HeaderMap, WebhookError};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// HMAC-SHA256 of the concatenated `parts` under `key`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        // HMAC accepts keys of any length; this arm cannot run.
        return [0; 32];
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// Lower-case hex.
pub fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Decodes hex (either case); `None` on odd length or a non-hex digit.
pub fn hex_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.as_bytes();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16);
    s.chunks_exact(2)
        .map(|pair| match pair {
            [hi, lo] => Some((digit(*hi)? * 16 + digit(*lo)?) as u8),
            _ => None,
        })
        .collect()
}

/// True when any hex candidate equals `expected` (constant-time per candidate).
pub fn any_hex_matches<'a>(candidates: impl IntoIterator<Item = &'a str>, expected: &[u8]) -> bool {
    candidates
        .into_iter()
        .filter_map(|c| hex_decode(c.trim()))
        .fold(false, |found, c| found | ct_eq(&c, expected))
}

/// Splits a `k=v, k=v` signature header into pairs (spaces around items ignored).
pub fn kv_pairs(value: &str) -> Vec<(&str, &str)> {
    value
        .split(',')
        .filter_map(|item| item.trim().split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect()
}

/// Refuses timestamps more than `tolerance_s` seconds away from `now`, in either direction.
pub fn check_window(ts: i64, now: i64, tolerance_s: i64) -> Result<(), WebhookError> {
    let skew = now.saturating_sub(ts);
    if skew.saturating_abs() > tolerance_s {
        Err(WebhookError::StaleTimestamp(skew))
    } else {
        Ok(())
    }
}

/// Reads a required header.
pub fn required(
    headers: &(impl HeaderMap + ?Sized),
    name: &'static str,
) -> Result<String, WebhookError> {
    headers
        .get(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or(WebhookError::MissingHeader(name))
}

/// Checks a static shared secret sent verbatim in a header (Okta, Auth0 streams, Supabase DB).
pub fn shared_secret(
    headers: &(impl HeaderMap + ?Sized),
    name: &'static str,
    expected: &[&str],
) -> Result<(), WebhookError> {
    let got = required(headers, name)?;
    let ok = expected
        .iter()
        .fold(false, |found, e| found | ct_eq(got.as_bytes(), e.as_bytes()));
    if ok {
        Ok(())
    } else {
        Err(WebhookError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            hex_encode(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn hex_round_trip_and_rejects_junk() {
        assert_eq!(hex_decode("00ffAb"), Some(vec![0, 255, 171]));
        assert_eq!(hex_decode("abc"), None);
        assert_eq!(hex_decode("zz"), None);
        assert_eq!(hex_decode("é1"), None);
        assert!(any_hex_matches(["nope", "00ff"], &[0, 255]));
        assert!(!any_hex_matches(["00ff00"], &[0, 255]));
    }

    #[test]
    fn kv_headers_and_windows() {
        assert_eq!(kv_pairs("t=1, v1=ab,v1=cd"), vec![("t", "1"), ("v1", "ab"), ("v1", "cd")]);
        assert!(check_window(100, 400, 300).is_ok());
        assert_eq!(check_window(100, 401, 300), Err(WebhookError::StaleTimestamp(301)));
        assert_eq!(check_window(i64::MIN, i64::MAX, 300), Err(WebhookError::StaleTimestamp(i64::MAX)));
    }

    #[test]
    fn shared_secrets() {
        let h: &[(&str, &str)] = &[("Authorization", "s3cret")];
        assert!(shared_secret(h, "authorization", &["other", "s3cret"]).is_ok());
        assert_eq!(shared_secret(h, "authorization", &["s3cre"]), Err(WebhookError::BadSignature));
        assert_eq!(shared_secret(h, "x-missing", &["s3cret"]), Err(WebhookError::MissingHeader("x-missing")));
    }
}
