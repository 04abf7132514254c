//! UserSig (TLS-SIG-API v2): the HMAC-SHA256 ticket Tencent Cloud Chat accepts as the admin's password.
//!
//! Byte-compatible with Tencent's official `tls-sig-api-v2` libraries: the four (or five, with a
//! userbuf) line signed string, a JSON document, a zlib stream and Tencent's base64 variant
//! (`+`→`*`, `/`→`-`, `=`→`_`). Time is always an argument so that the same inputs give the same
//! UserSig, which is what lets tests pin vectors and the isolate cache reason about expiry.

use crate::crypto::{ct_eq, hmac_sha256};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;

/// zlib level for new UserSigs: the official Python and Node libraries use the default (6).
const ZLIB_LEVEL: u8 = 6;
/// A real UserSig document is a few hundred bytes; refuse to inflate anything much larger.
const MAX_DOC_BYTES: usize = 16 * 1024;

/// Standard base64 that tolerates missing padding, as Python's decoder does.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a UserSig was refused; each maps onto one of Tencent's 700xx codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserSigError {
    /// Empty string (Tencent 70002).
    #[error("UserSig is empty")]
    Empty,
    /// Not Tencent base64, not zlib, not JSON or missing a field (Tencent 70003).
    #[error("UserSig is malformed: {0}")]
    Malformed(&'static str),
    /// Signed for another SDKAppID (Tencent 70014).
    #[error("UserSig was made for another SDKAppID")]
    SdkAppIdMismatch,
    /// Signed for another identifier (Tencent 70013).
    #[error("UserSig was made for another identifier")]
    IdentifierMismatch,
    /// `time + expire` is in the past (Tencent 70001).
    #[error("UserSig has expired")]
    Expired,
    /// userbuf present on one side only, or different (Tencent 70009).
    #[error("UserSig userbuf does not match")]
    UserBufMismatch,
    /// HMAC does not match: usually the wrong secret key (Tencent 70009).
    #[error("UserSig signature does not match the key")]
    BadSignature,
}

/// The fields a verified UserSig carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// `TLS.identifier`.
    pub identifier: String,
    /// `TLS.sdkappid`.
    pub sdkappid: u64,
    /// `TLS.time`: Unix seconds at signing.
    pub time: i64,
    /// `TLS.expire`: validity in seconds from `time`.
    pub expire: i64,
    /// Decoded `TLS.userbuf`, when present.
    pub userbuf: Option<Vec<u8>>,
}

/// The exact string Tencent HMACs. Only the official `tls-sig-api-v2` libraries spell it out
/// (e.g. `TLSSigAPIv2.py` in <https://github.com/tencentyun/tls-sig-api-v2-python>; all are
/// listed on <https://www.tencentcloud.com/document/product/1047/34385>).
fn signed_string(
    identifier: &str,
    sdkappid: u64,
    time: i64,
    expire: i64,
    userbuf_b64: Option<&str>,
) -> String {
    let mut s = format!(
        "TLS.identifier:{identifier}\nTLS.sdkappid:{sdkappid}\nTLS.time:{time}\nTLS.expire:{expire}\n"
    );
    if let Some(buf) = userbuf_b64 {
        s.push_str("TLS.userbuf:");
        s.push_str(buf);
        s.push('\n');
    }
    s
}

/// HMAC-SHA256 keyed with the secret key's bytes (not hex-decoded), as every official library does.
fn mac(key: &str, message: &str) -> [u8; 32] {
    hmac_sha256(key.as_bytes(), &[message.as_bytes()])
}

/// Tencent's base64 variant of `bytes` (standard base64, then `+*`, `/-`, `=_`).
pub fn tencent_base64(bytes: &[u8]) -> String {
    STANDARD
        .encode(bytes)
        .chars()
        .map(|c| match c {
            '+' => '*',
            '/' => '-',
            '=' => '_',
            other => other,
        })
        .collect()
}

fn tencent_base64_decode(s: &str) -> Option<Vec<u8>> {
    let standard: String = s
        .chars()
        .map(|c| match c {
            '*' => '+',
            '-' => '/',
            '_' => '=',
            other => other,
        })
        .collect();
    LENIENT.decode(standard.trim()).ok()
}

/// Makes a UserSig for `identifier`, valid from `now` (Unix seconds) for `expire` seconds.
pub fn generate(
    sdkappid: u64,
    key: &str,
    identifier: &str,
    now: i64,
    expire: i64,
    userbuf: Option<&[u8]>,
) -> String {
    let userbuf_b64 = userbuf.map(|b| STANDARD.encode(b));
    let sig = STANDARD.encode(mac(
        key,
        &signed_string(identifier, sdkappid, now, expire, userbuf_b64.as_deref()),
    ));
    // Same key order as the official Python library; serde_json escapes the identifier.
    let id_json = serde_json::Value::String(identifier.to_owned()).to_string();
    let mut doc = format!(
        "{{\"TLS.ver\":\"2.0\",\"TLS.identifier\":{id_json},\"TLS.sdkappid\":{sdkappid},\"TLS.expire\":{expire},\"TLS.time\":{now}"
    );
    if let Some(buf) = &userbuf_b64 {
        doc.push_str(",\"TLS.userbuf\":\"");
        doc.push_str(buf);
        doc.push('"');
    }
    doc.push_str(",\"TLS.sig\":\"");
    doc.push_str(&sig);
    doc.push_str("\"}");
    tencent_base64(&miniz_oxide::deflate::compress_to_vec_zlib(
        doc.as_bytes(),
        ZLIB_LEVEL,
    ))
}

/// Decodes a UserSig without checking it (for diagnostics and the emulator's error choice).
pub fn decode(usersig: &str) -> Result<(Claims, Vec<u8>), UserSigError> {
    if usersig.is_empty() {
        return Err(UserSigError::Empty);
    }
    let zipped = tencent_base64_decode(usersig).ok_or(UserSigError::Malformed("base64"))?;
    let json = miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(&zipped, MAX_DOC_BYTES)
        .map_err(|_| UserSigError::Malformed("zlib"))?;
    let doc: serde_json::Value =
        serde_json::from_slice(&json).map_err(|_| UserSigError::Malformed("json"))?;
    let field = |name: &'static str| doc.get(name).ok_or(UserSigError::Malformed(name));
    let identifier = field("TLS.identifier")?
        .as_str()
        .ok_or(UserSigError::Malformed("TLS.identifier"))?
        .to_owned();
    let sdkappid = field("TLS.sdkappid")?
        .as_u64()
        .ok_or(UserSigError::Malformed("TLS.sdkappid"))?;
    let time = field("TLS.time")?
        .as_i64()
        .ok_or(UserSigError::Malformed("TLS.time"))?;
    let expire = field("TLS.expire")?
        .as_i64()
        .ok_or(UserSigError::Malformed("TLS.expire"))?;
    let sig_b64 = field("TLS.sig")?
        .as_str()
        .ok_or(UserSigError::Malformed("TLS.sig"))?;
    let sig = LENIENT
        .decode(sig_b64)
        .map_err(|_| UserSigError::Malformed("TLS.sig"))?;
    let userbuf = match doc.get("TLS.userbuf") {
        None => None,
        Some(v) => Some(
            v.as_str()
                .and_then(|s| LENIENT.decode(s).ok())
                .ok_or(UserSigError::Malformed("TLS.userbuf"))?,
        ),
    };
    Ok((
        Claims {
            identifier,
            sdkappid,
            time,
            expire,
            userbuf,
        },
        sig,
    ))
}

/// Verifies a UserSig as Tencent's server does: fields first, then the HMAC over the decoded fields.
pub fn verify(
    sdkappid: u64,
    key: &str,
    identifier: &str,
    usersig: &str,
    now: i64,
    userbuf: Option<&[u8]>,
) -> Result<Claims, UserSigError> {
    let (claims, sig) = decode(usersig)?;
    if claims.sdkappid != sdkappid {
        return Err(UserSigError::SdkAppIdMismatch);
    }
    if claims.identifier != identifier {
        return Err(UserSigError::IdentifierMismatch);
    }
    if now > claims.time.saturating_add(claims.expire) {
        return Err(UserSigError::Expired);
    }
    if claims.userbuf.as_deref() != userbuf {
        return Err(UserSigError::UserBufMismatch);
    }
    let userbuf_b64 = claims.userbuf.as_ref().map(|b| STANDARD.encode(b));
    let expected = mac(
        key,
        &signed_string(
            &claims.identifier,
            claims.sdkappid,
            claims.time,
            claims.expire,
            userbuf_b64.as_deref(),
        ),
    );
    // Constant-time, and false for a digest of the wrong length.
    if !ct_eq(&sig, &expected) {
        return Err(UserSigError::BadSignature);
    }
    Ok(claims)
}

/// The admin UserSig kept for the isolate's life, renewed once half its validity has passed.
#[derive(Debug, Default)]
pub struct AdminSigCache {
    entry: Option<CachedSig>,
}

#[derive(Debug)]
struct CachedSig {
    sdkappid: u64,
    identifier: String,
    key: String,
    ttl: i64,
    made_at: i64,
    usersig: String,
}

impl AdminSigCache {
    /// Returns the cached admin UserSig, or makes a new one when missing, stale or made for other inputs.
    pub fn get(&mut self, sdkappid: u64, key: &str, identifier: &str, ttl: i64, now: i64) -> &str {
        let fresh = matches!(&self.entry, Some(e)
            if e.sdkappid == sdkappid
                && e.identifier == identifier
                && e.ttl == ttl
                && e.key == key
                && now >= e.made_at
                // Renew at half-life: far from expiry even if the clock of Tencent is off by minutes.
                && now - e.made_at < ttl / 2);
        if !fresh {
            self.entry = Some(CachedSig {
                sdkappid,
                identifier: identifier.to_owned(),
                key: key.to_owned(),
                ttl,
                made_at: now,
                usersig: generate(sdkappid, key, identifier, now, ttl, None),
            });
        }
        match &self.entry {
            Some(e) => &e.usersig,
            None => "",
        }
    }

    /// Drops the cached UserSig, e.g. after Tencent said it expired (70001).
    pub fn invalidate(&mut self) {
        self.entry = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
    const APP: u64 = 1_400_000_000;
    const T: i64 = 1_700_000_000;
    const EXP: i64 = 15_552_000;
    // Fixed-clock vectors: Tencent publishes none, so these were made by its official libraries
    // with the clock pinned (https://github.com/tencentyun/tls-sig-api-v2-python and
    // https://github.com/tencentyun/tls-sig-api-v2-node).
    const PY_SIG: &str = "eJyrVgrxCdYrSy1SslJQMtIzUNJRAItkpqTmlWSmZUIkKjIT87NK82CSxSnZiQUFmSlAKUMTAyiAyqVWFGQWpYJkTE1NjRDiJZm5YFFzNPXFmekgG3zKHM1T9D3LzdODi-OKs8vCqpxcAvydnV2SSv2cy03cPcpDnA2SMgu0nUxslWoBHdYzUg__";
    const NODE_SIG: &str = "eJyrVgrxCdYrSy1SslIy0jNQ0gHzM1NS80oy0zLBwhWZiflZpXlQqeKU7MSCgswUJStDEwMogMiUZOamKlkZmqOKplYUZBaBxE1NTY3gosWZ6UpWSj5ljuYp*p7l5unBxXnF2WVhVU4uAf7Ozi5JpX7O5SbuHuUhzgZJmQXaTia2SrUAohcx8g__";
    const PY_BUF_SIG: &str = "eJyrVgrxCdYrSy1SslJQMtIzUNJRAItkpqTmlWSmZUIkKjIT87NK82CSxSnZiQUFmSlAKUMTAyiAyqVWFGQWpYJkTE1NjRDiJZm5YFFzNPWlxalFSaVpIFsiw72y4FZkpoOEArNCjAwMKwKyI7L1E30NU7UrDcoSs6OSDLyNMgOK3EpTtbUNik0rzZLcfG2VagHdkjl6";
    const TINY_PY: &str = "eJyrVgrxCdYrSy1SslJQMtIzUNJRAItkpqTmlWSmZUIkjGHCxSnZiQUFmSlAQUOoUGpFQWZRKlDABCpQkpkL4hqaG0ABTG9mOsisNNP04DKnyJTwoNTccFPvwKCsirKQqvBM-xyvcjfX0sog81BXVxPXrACzfFulWgD*1S4h";
    const TINY_NODE: &str = "eJyrVgrxCdYrSy1SslIy0jNQ0gHzM1NS80oy0zLBwsZQweKU7MSCgswUJStDiEBJZm6qkpWhuQEUQERTKwoyi1KVrEygujLTlayU0kzTg8ucIlPCg1Jzw029A4OyKspCqsIz-XO8yt1cSyuDzENdXU1cswLM8m2VagGvkyzB";

    fn sig_b64_of(usersig: &str) -> String {
        let (_, sig) = decode(usersig).unwrap();
        STANDARD.encode(sig)
    }

    #[test]
    fn pinned_vectors_verify_and_carry_the_documented_hmac() {
        for v in [PY_SIG, NODE_SIG] {
            let claims = verify(APP, KEY, "xiaojun", v, T, None).unwrap();
            assert_eq!((claims.time, claims.expire), (T, EXP));
            assert_eq!(
                sig_b64_of(v),
                "LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4="
            );
        }
        let claims = verify(APP, KEY, "xiaojun", PY_BUF_SIG, T, Some(b"abc")).unwrap();
        assert_eq!(claims.userbuf.as_deref(), Some(&b"abc"[..]));
        assert_eq!(
            sig_b64_of(PY_BUF_SIG),
            "QjT201xPkXk/aM1e+y0vakZb0K2iPrFue++0s5y6bFM="
        );
        for v in [TINY_PY, TINY_NODE] {
            verify(1, "2", "3", v, T, None).unwrap();
            assert_eq!(
                sig_b64_of(v),
                "f5gSvBYdWRemW5KQRjxvTzWiOlJwFEuyR7UEE4EjP6o="
            );
        }
    }

    #[test]
    fn generated_sig_carries_the_same_hmac_as_the_official_libraries() {
        let ours = generate(APP, KEY, "xiaojun", T, EXP, None);
        assert!(ours.starts_with("eJ"), "default zlib header expected");
        assert_eq!(
            sig_b64_of(&ours),
            "LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4="
        );
        assert!(ours
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "*-_".contains(c)));
        let with_buf = generate(APP, KEY, "xiaojun", T, EXP, Some(b"abc"));
        assert_eq!(
            sig_b64_of(&with_buf),
            "QjT201xPkXk/aM1e+y0vakZb0K2iPrFue++0s5y6bFM="
        );
        verify(APP, KEY, "xiaojun", &with_buf, T, Some(b"abc")).unwrap();
    }

    #[test]
    fn generated_sig_round_trips_and_escapes_identifier() {
        let id = "a\"b\\c\u{e9}";
        let s = generate(7, "k", id, T, 60, None);
        assert_eq!(verify(7, "k", id, &s, T + 60, None).unwrap().identifier, id);
    }

    #[test]
    fn negative_cases_fail_with_the_matching_error() {
        let s = PY_SIG;
        assert_eq!(
            verify(APP, "wrong", "xiaojun", s, T, None),
            Err(UserSigError::BadSignature)
        );
        assert_eq!(
            verify(APP, KEY, "someone", s, T, None),
            Err(UserSigError::IdentifierMismatch)
        );
        assert_eq!(
            verify(APP + 1, KEY, "xiaojun", s, T, None),
            Err(UserSigError::SdkAppIdMismatch)
        );
        assert!(verify(APP, KEY, "xiaojun", s, T + EXP, None).is_ok());
        assert_eq!(
            verify(APP, KEY, "xiaojun", s, T + EXP + 1, None),
            Err(UserSigError::Expired)
        );
        assert_eq!(
            verify(APP, KEY, "xiaojun", s, T, Some(b"abc")),
            Err(UserSigError::UserBufMismatch)
        );
        assert_eq!(
            verify(APP, KEY, "xiaojun", "", T, None),
            Err(UserSigError::Empty)
        );
        for bad in [&s[..s.len() / 2], "garbage!!", "eJzz", "AAAA"] {
            assert!(
                matches!(
                    verify(APP, KEY, "xiaojun", bad, T, None),
                    Err(UserSigError::Malformed(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn tampered_fields_break_the_hmac() {
        // Re-encode the document with a longer expire but the original sig.
        let (c, sig) = decode(PY_SIG).unwrap();
        let doc = format!(
            "{{\"TLS.ver\":\"2.0\",\"TLS.identifier\":\"{}\",\"TLS.sdkappid\":{},\"TLS.expire\":{},\"TLS.time\":{},\"TLS.sig\":\"{}\"}}",
            c.identifier, c.sdkappid, c.expire + 1, c.time, STANDARD.encode(sig)
        );
        let forged = tencent_base64(&miniz_oxide::deflate::compress_to_vec_zlib(
            doc.as_bytes(),
            6,
        ));
        assert_eq!(
            verify(APP, KEY, "xiaojun", &forged, T, None),
            Err(UserSigError::BadSignature)
        );
    }

    #[test]
    fn cache_reuses_until_half_life_and_notices_new_inputs() {
        let mut cache = AdminSigCache::default();
        let a = cache.get(APP, KEY, "admin", 86_400, T).to_owned();
        assert_eq!(cache.get(APP, KEY, "admin", 86_400, T + 43_199), a);
        let b = cache.get(APP, KEY, "admin", 86_400, T + 43_200).to_owned();
        assert_ne!(a, b);
        verify(APP, KEY, "admin", &b, T + 43_200 + 86_400, None).unwrap();
        assert_ne!(cache.get(APP, "other", "admin", 86_400, T + 43_200), b);
        let c = cache.get(APP, KEY, "admin2", 86_400, T + 43_200).to_owned();
        verify(APP, KEY, "admin2", &c, T + 43_200, None).unwrap();
        // A clock that goes backwards must not keep a sig "made in the future".
        assert_ne!(cache.get(APP, KEY, "admin2", 86_400, T), c);
        cache.invalidate();
        let d = cache.get(APP, KEY, "admin2", 86_400, T).to_owned();
        verify(APP, KEY, "admin2", &d, T, None).unwrap();
    }
}
