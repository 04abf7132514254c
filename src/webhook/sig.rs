//! Signature building blocks shared by the providers that do not use Standard Webhooks:
//! HMAC-SHA256 with hex output, `k=v` signature headers, timestamp windows and static shared
//! secrets. Every comparison is constant-time and length-checked.

use super::WebhookError;
use crate::crypto::{ct_eq, hex_decode, hex_encode, hmac_sha256};
use crate::ports::HeaderMap;
use crate::settings::Settings;

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
pub fn required(headers: &dyn HeaderMap, name: &'static str) -> Result<String, WebhookError> {
    headers
        .get(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or(WebhookError::MissingHeader(name))
}

/// Checks a static shared secret sent verbatim in header `name` against setting `setting`
/// (Okta, Auth0 streams, Supabase DB); a mismatch names both so the operator knows what to fix.
pub fn shared_secret(
    headers: &dyn HeaderMap,
    (name, setting): (&'static str, &'static str),
    expected: &[&str],
) -> Result<(), WebhookError> {
    let got = required(headers, name)?;
    let ok = expected.iter().fold(false, |found, e| {
        found | ct_eq(got.as_bytes(), e.as_bytes())
    });
    if ok {
        Ok(())
    } else {
        Err(WebhookError::WrongSecret {
            header: name,
            setting,
        })
    }
}

/// A secret used as written: a raw UTF-8 HMAC key or a shared header value. `Debug` hides it.
#[derive(Clone)]
pub struct RawSecret(String);

impl std::fmt::Debug for RawSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RawSecret(..)")
    }
}

impl RawSecret {
    /// Reads setting `var` (trimmed; unset or blank is `None`).
    pub fn setting(get: &dyn Settings, var: &str) -> Option<RawSecret> {
        get.get(var).map(RawSecret)
    }

    /// The secret's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A `t=<timestamp>,v1=<hex>` signature header over `"{t}.{body}"` (WorkOS, ZITADEL): hex
/// HMAC-SHA256 keyed with the raw secret, one or more `v1` entries (senders rotating keys).
#[derive(Debug, Clone, Copy)]
pub struct TimestampedHmac {
    /// The header that carries the signature.
    pub header: &'static str,
    /// How many `t` units make one second: 1 for seconds, 1000 for milliseconds.
    pub units_per_second: i64,
    /// Allowed clock skew in seconds, both directions.
    pub tolerance_s: i64,
}

impl TimestampedHmac {
    /// Verifies a delivery under `key`; returns the replay key `"{t}.{hex}"` of this attempt.
    pub fn verify(
        &self,
        headers: &dyn HeaderMap,
        key: &[u8],
        body: &[u8],
        now: i64,
    ) -> Result<String, WebhookError> {
        let value = required(headers, self.header)?;
        let pairs = kv_pairs(&value);
        let t = pairs
            .iter()
            .find(|(k, _)| *k == "t")
            .map(|(_, v)| *v)
            .ok_or(WebhookError::BadTimestamp)?;
        let ts: i64 = t.parse().map_err(|_| WebhookError::BadTimestamp)?;
        check_window(
            ts.div_euclid(self.units_per_second.max(1)),
            now,
            self.tolerance_s,
        )?;
        // The sender signs its own spelling of `t`, so that is what goes into the MAC.
        let expected = hmac_sha256(key, &[t.as_bytes(), b".", body]);
        let v1 = pairs.iter().filter(|(k, _)| *k == "v1").map(|(_, v)| *v);
        if !any_hex_matches(v1, &expected) {
            return Err(WebhookError::BadSignature);
        }
        // Keyed on our own MAC, not on the header's text: re-ordering, re-casing or padding the
        // `v1` list must not make a captured request look like a new attempt.
        Ok(format!("{t}.{}", hex_encode(&expected)))
    }
}

/// Unix seconds of an ISO 8601 / RFC 3339 date-time with an explicit offset
/// (`2024-05-01T12:00:00.123Z`, `...+08:00`, `...+0800`); fractions are dropped. `None` otherwise,
/// including for local times without an offset, whose instant is unknown.
pub fn iso8601_seconds(s: &str) -> Option<i64> {
    let (date, time) = s.trim().split_once(['T', 't', ' '])?;
    let mut ymd = date.split('-');
    let (y, m, d) = (
        fixed_digits(ymd.next()?, 4)?,
        fixed_digits(ymd.next()?, 2)?,
        fixed_digits(ymd.next()?, 2)?,
    );
    let (clock, zone) = time.split_at_checked(time.find(['Z', 'z', '+', '-'])?)?;
    let (hms, fraction) = clock.split_once(['.', ',']).unwrap_or((clock, "0"));
    let mut hms = hms.split(':');
    let (hh, mm, ss) = (
        fixed_digits(hms.next()?, 2)?,
        fixed_digits(hms.next()?, 2)?,
        fixed_digits(hms.next()?, 2)?,
    );
    let valid = ymd.next().is_none()
        && hms.next().is_none()
        && !fraction.is_empty()
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && (1..=12).contains(&m)
        && (1..=days_in_month(y, m)).contains(&d)
        && hh <= 23
        && mm <= 59
        && ss <= 60; // 60: a leap second, which ISO 8601 allows
    if !valid {
        return None;
    }
    let offset_s = match zone {
        "Z" | "z" => 0,
        _ => {
            let (sign, rest) = zone.split_at_checked(1)?;
            let (oh, om) = match rest.split_once(':') {
                Some((h, m)) => (h, m),
                None if rest.len() == 4 => rest.split_at_checked(2)?,
                None => (rest, "00"),
            };
            let (oh, om) = (fixed_digits(oh, 2)?, fixed_digits(om, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let sign = match sign {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            sign * (oh * 3600 + om * 60)
        }
    };
    Some(days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss - offset_s)
}

/// Exactly `len` ASCII digits as a number (so `+1` or ` 1` never pass as a date field).
fn fixed_digits(s: &str, len: usize) -> Option<i64> {
    if s.len() == len && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

fn days_in_month(y: i64, m: i64) -> i64 {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    // Counting years from March puts the leap day last, so month lengths follow a fixed pattern.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Test helper: runs `receive` on a delivery of `body` with `headers` at `now` (Unix seconds).
#[cfg(test)]
pub fn deliver<'h, T>(
    headers: impl IntoIterator<Item = (&'h str, &'h str)>,
    body: impl AsRef<[u8]>,
    now: i64,
    receive: impl FnOnce(&super::Delivery<'_>) -> T,
) -> T {
    let headers: Vec<(&str, &str)> = headers.into_iter().collect();
    let headers = &headers[..];
    receive(&super::Delivery {
        headers: &headers,
        body: body.as_ref(),
        now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::text_at;

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
        assert_eq!(
            kv_pairs("t=1, v1=ab,v1=cd"),
            vec![("t", "1"), ("v1", "ab"), ("v1", "cd")]
        );
        assert!(check_window(100, 400, 300).is_ok());
        assert_eq!(
            check_window(100, 401, 300),
            Err(WebhookError::StaleTimestamp(301))
        );
        assert_eq!(
            check_window(i64::MIN, i64::MAX, 300),
            Err(WebhookError::StaleTimestamp(i64::MAX))
        );
    }

    #[test]
    fn shared_secrets() {
        let h: &[(&str, &str)] = &[("Authorization", "s3cret")];
        let auth = ("authorization", "X_SECRET");
        assert!(shared_secret(&h, auth, &["other", "s3cret"]).is_ok());
        let wrong = shared_secret(&h, auth, &["s3cre"]).unwrap_err();
        assert_eq!(
            wrong.to_string(),
            "the authorization header does not match X_SECRET"
        );
        assert_eq!(
            shared_secret(&h, ("x-missing", "X_SECRET"), &["s3cret"]),
            Err(WebhookError::MissingHeader("x-missing"))
        );
    }

    #[test]
    fn raw_secrets_are_trimmed_and_hidden() {
        let get = |k: &str| (k == "K").then(|| " s3cret ".to_owned());
        let s = RawSecret::setting(&get, "K").unwrap();
        assert_eq!(s.as_str(), "s3cret");
        assert!(!format!("{s:?}").contains("s3cret"));
        assert!(RawSecret::setting(&get, "OTHER").is_none());
    }

    #[test]
    fn timestamped_hmac_seconds_and_millis() {
        let scheme = TimestampedHmac {
            header: "x-sig",
            units_per_second: 1000,
            tolerance_s: 180,
        };
        let body = b"{\"a\":1}";
        let good = hex_encode(&hmac_sha256(b"k", &[b"1000000.", body]));
        let header = format!("t=1000000, v1={good}");
        let h: &[(&str, &str)] = &[("X-Sig", &header)];
        let key = format!("1000000.{good}");
        assert_eq!(scheme.verify(&h, b"k", body, 1000), Ok(key.clone()));
        assert!(scheme.verify(&h, b"k", body, 1180).is_ok());
        assert_eq!(
            scheme.verify(&h, b"k", body, 1181),
            Err(WebhookError::StaleTimestamp(181))
        );
        assert_eq!(
            scheme.verify(&h, b"other", body, 1000),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            scheme.verify(&h, b"k", b"{\"a\":2}", 1000),
            Err(WebhookError::BadSignature)
        );
        // Junk and upper-case entries around the right one still verify, under the same replay key.
        let padded = format!("t=1000000,v1=00,v1=zz,v1={}", good.to_uppercase());
        let h: &[(&str, &str)] = &[("x-sig", &padded)];
        assert_eq!(scheme.verify(&h, b"k", body, 1000), Ok(key));
        for bad in ["v1=00", "t=abc,v1=00", "t=,v1=00"] {
            let h: &[(&str, &str)] = &[("x-sig", bad)];
            assert_eq!(
                scheme.verify(&h, b"k", body, 1000),
                Err(WebhookError::BadTimestamp),
                "{bad}"
            );
        }
        let h: &[(&str, &str)] = &[("x-sig", "t=1000000")];
        assert_eq!(
            scheme.verify(&h, b"k", body, 1000),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            scheme.verify(&&[][..], b"k", body, 1000),
            Err(WebhookError::MissingHeader("x-sig"))
        );
        let seconds = TimestampedHmac {
            units_per_second: 1,
            tolerance_s: 300,
            ..scheme
        };
        let h: &[(&str, &str)] = &[("x-sig", "t=1000,v1=00")];
        assert_eq!(
            seconds.verify(&h, b"k", body, 1301),
            Err(WebhookError::StaleTimestamp(301))
        );
    }

    #[test]
    fn text_at_takes_the_first_non_blank_string() {
        let v = serde_json::json!({"a": "", "b": {"c": "x"}, "d": 5, "e": ["y"]});
        assert_eq!(text_at(&v, &["/a", "/d", "/b/c"]), Some("x"));
        assert_eq!(text_at(&v, &["/e/0"]), Some("y"));
        assert_eq!(text_at(&v, &["/a", "/d", "/zz"]), None);
    }

    #[test]
    fn iso8601_to_unix_seconds() {
        for (s, want) in [
            ("1970-01-01T00:00:00Z", 0),
            ("2000-03-01T00:00:00Z", 951_868_800),
            ("2024-02-29T12:34:56.789Z", 1_709_210_096),
            ("2025-04-29T20:13:24.755552+00:00", 1_745_957_604),
            ("2024-05-01T08:00:00+08:00", 1_714_521_600),
            ("2024-05-01T08:00:00+0800", 1_714_521_600),
            ("2024-05-01 00:00:00+08", 1_714_492_800),
            ("2024-04-30T19:00:00-05:00", 1_714_521_600),
            ("1900-03-01T00:00:00Z", -2_203_891_200),
        ] {
            assert_eq!(iso8601_seconds(s), Some(want), "{s}");
        }
        for bad in [
            "",
            "2024-05-01",
            "2024-05-01T08:00:00",
            "2023-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-04-31T00:00:00Z",
            "2024-05-01T24:00:00Z",
            "2024-05-01T08:00:00.Z",
            "2024-05-01T08:00:00+8:00",
            "2024-05-01T08:00Z",
            "+024-05-01T08:00:00Z",
            "2024-05-01T08:00:00Zjunk",
            "2024-05-01T08:00:00z0800",
            "２０２４-05-01T08:00:00Z",
        ] {
            assert_eq!(iso8601_seconds(bad), None, "{bad}");
        }
    }
}
