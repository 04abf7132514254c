//! Signing a fuzzed delivery the way each provider does, with the demo secrets, so that fuzzed
//! bodies get past verification and into the parsers. RS256/ES256/EdDSA signatures are
//! [`MAGIC_SIG`](crate::MAGIC_SIG), the one [`FuzzIo`](crate::FuzzIo) accepts.

use crate::{demo, Env, MAGIC_SIG};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::Value;
use tim_onboard::crypto::{hex_encode, hmac_sha256};
use tim_onboard::login;
use tim_onboard::webhook::jwt::Alg;
use tim_onboard::webhook::standard;

/// Headers as owned pairs (names lower-case).
pub type Headers = Vec<(String, String)>;

/// How a signed delivery is varied, from one fuzzed byte.
#[derive(Debug, Clone, Copy)]
pub struct Variant(pub u8);

impl Variant {
    /// Which of a provider's schemes or header spellings (0..=3).
    pub fn scheme(self) -> u8 {
        self.0 & 3
    }
    /// Rewrite a token's `iss`/`aud`/`iat`/`exp` to the valid ones, so claim checks pass.
    pub fn fix_claims(self) -> bool {
        self.0 & 4 != 0
    }
    /// Seconds added to the signature timestamp: inside the window, at its edges, or outside.
    pub fn skew_s(self) -> i64 {
        match (self.0 >> 3) & 3 {
            0 => 0,
            1 => -299,
            2 => 179,
            _ => -100_000,
        }
    }
}

/// `headers` without the ones named, and the value of the first of them that was there.
fn take(headers: &mut Headers, names: &[&str]) -> Option<String> {
    let found = headers
        .iter()
        .find(|(k, _)| names.contains(&k.as_str()))
        .map(|(_, v)| v.clone());
    headers.retain(|(k, _)| !names.contains(&k.as_str()));
    found
}

/// Puts `ours` in front of what was fuzzed (lookups find the first header of a name).
fn prepend(headers: Headers, ours: Vec<(&str, String)>) -> Headers {
    ours.into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .chain(headers)
        .collect()
}

/// Standard Webhooks (Svix) headers over `body` with `secret`; `webhook` picks the
/// `webhook-*` spelling, `v1a` adds an Ed25519 signature.
fn svix(
    secret: &str,
    webhook: bool,
    v1a: bool,
    mut headers: Headers,
    body: &[u8],
    ts: i64,
) -> Headers {
    let (id_h, ts_h, sig_h) = if webhook {
        ("webhook-id", "webhook-timestamp", "webhook-signature")
    } else {
        ("svix-id", "svix-timestamp", "svix-signature")
    };
    let all = [
        "svix-id",
        "svix-timestamp",
        "svix-signature",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    ];
    let id = headers
        .iter()
        .find(|(k, _)| k == "svix-id" || k == "webhook-id")
        .map(|(_, v)| v.clone())
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "msg_fuzz".to_owned());
    let fuzzed_sig = headers
        .iter()
        .find(|(k, _)| k == "svix-signature" || k == "webhook-signature")
        .map(|(_, v)| v.clone());
    take(&mut headers, &all);
    let key = standard::parse_secrets(secret)
        .ok()
        .and_then(|s| s.into_iter().next());
    let mut sig = key.map(|k| k.sign(id.trim(), ts, body)).unwrap_or_default();
    if v1a {
        sig = format!("v1a,{} {sig}", STANDARD.encode(MAGIC_SIG));
    }
    if let Some(f) = fuzzed_sig {
        sig = format!("{sig} {f}");
    }
    prepend(
        headers,
        vec![
            (id_h, id.trim().to_owned()),
            (ts_h, ts.to_string()),
            (sig_h, sig),
        ],
    )
}

/// A compact JWS: `{"alg","kid"}` header, `claims` as given, `signature`.
pub fn jws(alg: &str, kid: Option<&str>, claims: &[u8], signature: &[u8]) -> String {
    let mut header = serde_json::json!({ "alg": alg, "typ": "JWT" });
    if let Some(k) = kid {
        header["kid"] = k.into();
    }
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

/// An HS256 JWS keyed with `secret`.
pub fn hs256(secret: &[u8], claims: &[u8]) -> String {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims);
    let input = format!("{header}.{payload}");
    let mac = hmac_sha256(secret, &[input.as_bytes()]);
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac))
}

/// `claims` with `iss`, `aud`, `iat` and `exp` made valid at `now` (when they are a JSON object).
pub fn fix_claims(claims: &[u8], iss: &str, aud: Option<&str>, now: i64) -> Vec<u8> {
    match serde_json::from_slice::<Value>(claims) {
        Ok(Value::Object(mut m)) => {
            m.insert("iss".into(), iss.into());
            if let Some(a) = aud {
                m.insert("aud".into(), a.into());
            }
            m.insert("iat".into(), now.into());
            m.insert("exp".into(), (now + 3600).into());
            Value::Object(m).to_string().into_bytes()
        }
        _ => claims.to_vec(),
    }
}

/// Signs a delivery to provider `name` (route name) as its sender would, at `now` (Unix
/// seconds). For Firebase and Kinde the body is the token's claims; the result is what is POSTed.
pub fn webhook(
    name: &str,
    v: Variant,
    headers: Headers,
    body: &[u8],
    now: i64,
) -> (Headers, Vec<u8>) {
    let ts = now + v.skew_s();
    let hex = |key: &str, parts: &[&[u8]]| hex_encode(&hmac_sha256(key.as_bytes(), parts));
    let mut headers = headers;
    match name {
        "clerk" => (
            svix(demo::CLERK, false, false, headers, body, ts),
            body.to_vec(),
        ),
        "stytch" => (
            svix(demo::STYTCH, v.scheme() & 1 == 1, false, headers, body, ts),
            body.to_vec(),
        ),
        "supabase" => (
            svix(
                demo::SUPABASE,
                v.scheme() & 1 == 0,
                false,
                headers,
                body,
                ts,
            ),
            body.to_vec(),
        ),
        "standard" => {
            let s = v.scheme();
            let h = svix(demo::STANDARD, s & 1 == 1, s & 2 == 2, headers, body, ts);
            (h, body.to_vec())
        }
        "auth0" => {
            let auth = match v.scheme() {
                0 => format!("Bearer {}", demo::AUTH0_TOKEN),
                1 => demo::AUTH0_TOKEN.to_owned(),
                2 => format!("Basic {}", STANDARD.encode(demo::AUTH0_BASIC)),
                _ => {
                    return (
                        svix(demo::AUTH0_ACTION, true, false, headers, body, ts),
                        body.to_vec(),
                    )
                }
            };
            take(&mut headers, &["authorization", "webhook-signature"]);
            (
                prepend(headers, vec![("authorization", auth)]),
                body.to_vec(),
            )
        }
        "supabase-db" => {
            take(&mut headers, &["x-webhook-secret"]);
            let h = prepend(
                headers,
                vec![("x-webhook-secret", demo::SUPABASE_DB.to_owned())],
            );
            (h, body.to_vec())
        }
        "okta" => {
            take(&mut headers, &["authorization"]);
            (
                prepend(headers, vec![("authorization", demo::OKTA.to_owned())]),
                body.to_vec(),
            )
        }
        "workos" | "zitadel" => {
            let (header, key, t) = if name == "workos" {
                ("workos-signature", demo::WORKOS, (ts * 1000).to_string())
            } else {
                ("zitadel-signature", demo::ZITADEL, ts.to_string())
            };
            let mac = hex(key, &[t.as_bytes(), b".", body]);
            let mut value = format!("t={t}, v1={mac}");
            if let Some(f) = take(&mut headers, &[header]) {
                value = format!("{value}, {f}");
            }
            (prepend(headers, vec![(header, value)]), body.to_vec())
        }
        "logto" => {
            take(&mut headers, &["logto-signature-sha-256"]);
            let mac = hex(demo::LOGTO, &[body]);
            let value = if v.scheme() & 1 == 1 {
                format!("sha256={mac}")
            } else {
                mac
            };
            (
                prepend(headers, vec![("logto-signature-sha-256", value)]),
                body.to_vec(),
            )
        }
        "firebase" | "kinde" => {
            let claims = match (name, v.fix_claims()) {
                ("firebase", true) => {
                    let iss = format!("https://securetoken.google.com/{}", demo::FIREBASE_PROJECT);
                    fix_claims(body, &iss, Some(demo::FIREBASE_AUDIENCE), now)
                }
                _ => body.to_vec(),
            };
            let token = jws("RS256", Some("test-key-1"), &claims, MAGIC_SIG);
            if name == "kinde" {
                (headers, token.into_bytes())
            } else {
                let env = serde_json::json!({ "data": { "jwt": token } });
                (headers, env.to_string().into_bytes())
            }
        }
        _ => (headers, body.to_vec()),
    }
}

/// The key id [`FuzzIo`](crate::FuzzIo)'s JWKS holds for `alg`.
fn kid(alg: Alg) -> &'static str {
    match alg {
        Alg::Rs256 | Alg::Hs256 => "test-key-1",
        Alg::Es256 => "ec-key",
        Alg::Es384 => "ec384-key",
        Alg::EdDsa => "ed-key",
    }
}

/// A session token for login provider `name` carrying `claims`: HS256 with the configured
/// secret (scheme 1, Supabase), else the provider's first pinned algorithm with the magic
/// signature; `fix_claims` makes `iss`/`aud`/`azp`/`exp` pass the provider's rules.
pub fn login_token(name: &str, v: Variant, claims: &[u8], env: &Env, now: i64) -> Option<String> {
    let spec = login::provider(name)?;
    let rules = (spec.rules)(env).ok().flatten()?;
    let claims = if v.fix_claims() {
        let iss = rules
            .issuers
            .first()
            .map(String::as_str)
            .unwrap_or_default();
        let aud = if rules.authenticated_only {
            Some("authenticated")
        } else {
            rules.audience.as_deref()
        };
        let mut fixed = fix_claims(claims, iss, aud, now);
        if let (Some(p), Ok(Value::Object(mut m))) = (
            rules.parties.first(),
            serde_json::from_slice::<Value>(&fixed),
        ) {
            m.insert("azp".into(), p.as_str().into());
            fixed = Value::Object(m).to_string().into_bytes();
        }
        fixed
    } else {
        claims.to_vec()
    };
    if v.scheme() & 1 == 1 {
        if let Some(secret) = &rules.secret {
            return Some(hs256(secret.as_bytes(), &claims));
        }
    }
    let alg = rules.algs.iter().copied().find(|a| *a != Alg::Hs256)?;
    Some(jws(alg.name(), Some(kid(alg)), &claims, MAGIC_SIG))
}
