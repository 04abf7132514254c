//! `parsers`: the small parsers every request goes through: ISO 8601 dates
//! (`sig::iso8601_seconds`), `k=v` signature headers (`sig::kv_pairs`, `TimestampedHmac`), JWTs
//! (`jwt::parse_as`, `verify_with`, JWKS documents, claim checks), login's `bearer` and
//! `check_claims`, URL helpers, and setting parsers.
//!
//! Input: `[selector]` then text. Selector `% 4`: 0 the text is a date, header value, token,
//! query or setting (every string parser runs on it); 1 it is a JWT's claims, checked by every
//! login provider's rules and the webhook claim checks; 2 it is the JWKS document a key fetch
//! answers; 3 it is a JWT verified under every key source.
//!
//! Checks: no panic; a date that parses is within a day of the same date read as UTC without
//! its offset, and reading it twice gives the same instant.

use crate::input::{text, Input};
use crate::sign::jws;
use crate::{block_on, demo_env, FuzzIo, MAGIC_SIG, NOW_S};
use std::sync::OnceLock;
use tim_onboard::http;
use tim_onboard::job::OnDelete;
use tim_onboard::login::{self, Rules};
use tim_onboard::region::RegionSetting;
use tim_onboard::webhook::jwt::{self, Alg, KeySource};
use tim_onboard::webhook::{sig, Keys};

const ALL_ALGS: [Alg; 5] = [Alg::Rs256, Alg::Es256, Alg::Es384, Alg::EdDsa, Alg::Hs256];

/// Every login provider's rules under the demo settings.
fn all_rules() -> &'static [Rules] {
    static RULES: OnceLock<Vec<Rules>> = OnceLock::new();
    RULES.get_or_init(|| {
        let env = demo_env();
        login::ALL
            .iter()
            .filter_map(|spec| (spec.rules)(&env).expect("demo login settings are valid"))
            .collect()
    })
}

/// The target.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let selector = input.byte();
    let rest = input.rest();
    match selector % 4 {
        0 => strings(&text(rest)),
        1 => claims(rest),
        2 => jwks(rest),
        _ => token(&text(rest)),
    }
}

fn strings(s: &str) {
    date(s);
    let _ = sig::kv_pairs(s);
    let _ = sig::check_window(s.len() as i64, NOW_S, 300);
    for scheme in [
        sig::TimestampedHmac {
            header: "x-sig",
            units_per_second: 1000,
            tolerance_s: 180,
        },
        sig::TimestampedHmac {
            header: "x-sig",
            units_per_second: 1,
            tolerance_s: i64::MAX,
        },
    ] {
        let h: &[(&str, &str)] = &[("x-sig", s)];
        let _ = scheme.verify(&h, b"key", s.as_bytes(), NOW_S);
    }
    let _ = sig::any_hex_matches(s.split(','), &[0u8; 32]);
    let _ = login::bearer(Some(s));
    let _ = jwt::parse_as(s, &ALL_ALGS);
    let _ = jwt::parse(s);
    let _ = http::path_and_query(s);
    let _ = http::url_decode(s);
    for name in ["provider", "id", "code", "limit"] {
        let _ = http::query_param(s, name);
    }
    let _ = login::jwks_uri(s.as_bytes());
    let _ = (RegionSetting::parse(s), OnDelete::parse(s), Alg::parse(s));
    let _ = tim_onboard::crypto::hex_decode(s);
    let _ = tim_onboard::crypto::base64url_decode(s);
}

/// `iso8601_seconds`: a parsed date agrees with its own fields read as UTC (the offset moves it
/// by less than a day) and is stable.
fn date(s: &str) {
    let Some(t) = sig::iso8601_seconds(s) else {
        return;
    };
    assert_eq!(sig::iso8601_seconds(s), Some(t));
    let trimmed = s.trim();
    if let Some(head) = trimmed.get(..19) {
        let utc = format!("{head}Z");
        if let Some(u) = sig::iso8601_seconds(&utc) {
            assert!(
                (t - u).abs() < 86_400,
                "{s:?} is {t}, but its fields in UTC are {u}"
            );
        }
    }
}

fn claims(bytes: &[u8]) {
    let Ok(claims) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return;
    };
    for rules in all_rules() {
        for now in [NOW_S, 0, i64::MAX, i64::MIN] {
            let _ = login::check_claims(rules, &claims, now);
        }
    }
    let _ = login::profile(&claims);
    for required in [false, true] {
        let _ = jwt::check_exp(&claims, NOW_S, required);
        let _ = jwt::check_issued(&claims, NOW_S, required);
        let _ = jwt::check_exp(&claims, i64::MIN, required);
        let _ = jwt::check_issued(&claims, i64::MAX, required);
    }
    let _ = jwt::numeric_date(&claims, "exp");
    let _ = jwt::audience_matches(&claims, "fuzz-client");
    // The claims as a token with the magic signature: every check after the signature.
    let io = FuzzIo::default();
    let cache = jwt::KeyCache::default();
    let keys = Keys {
        cache: &cache,
        io: &io,
    };
    let t = jws("RS256", Some("test-key-1"), bytes, MAGIC_SIG);
    let _ = block_on(jwt::verify(&t, "https://keys.example/jwks", &keys));
}

fn jwks(doc: &[u8]) {
    let io = FuzzIo {
        jwks: doc.to_vec(),
        ..FuzzIo::default()
    };
    let cache = jwt::KeyCache::default();
    let keys = Keys {
        cache: &cache,
        io: &io,
    };
    let url = "https://keys.example/jwks";
    for (alg, kid) in [
        ("RS256", "test-key-1"),
        ("ES256", "ec-key"),
        ("ES384", "k"),
        ("EdDSA", "ed"),
    ] {
        let t = jws(alg, Some(kid), b"{\"sub\":\"u\"}", MAGIC_SIG);
        let _ = block_on(jwt::verify_with(
            &t,
            &ALL_ALGS,
            &KeySource::Jwks(url),
            &keys,
        ));
    }
    // A later request, past the cache's refresh interval, for a kid not seen yet.
    io.now.set(io.now.get() + jwt::KEYS_TTL_MS + 1);
    let t = jws("RS256", Some("rotated"), b"{}", MAGIC_SIG);
    let _ = block_on(jwt::verify_with(
        &t,
        &ALL_ALGS,
        &KeySource::Jwks(url),
        &keys,
    ));
}

fn token(t: &str) {
    let io = FuzzIo::default();
    let cache = jwt::KeyCache::default();
    let keys = Keys {
        cache: &cache,
        io: &io,
    };
    let sources = [
        KeySource::Jwks("https://keys.example/jwks"),
        KeySource::Static("spki:AAAA"),
        KeySource::Secret(b"supabase-jwt-fuzz-secret"),
    ];
    for source in &sources {
        let _ = block_on(jwt::verify_with(t, &ALL_ALGS, source, &keys));
    }
    let _ = login::bearer(Some(&format!("Bearer {t}")));
}
