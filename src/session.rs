//! `POST /login/<provider>`: the login half. The client sends the session token its auth
//! provider gave it and gets back its Tencent UserID and a short-lived UserSig, for the same
//! UserID the provider's webhooks create. Before answering, the account is made to exist with
//! its profile (just in time), unless that user's deletion was applied.

use crate::config;
use crate::error::AppError;
use crate::event::{Event, User};
use crate::http::{Request, Response};
use crate::identity;
use crate::job::{self, OnDelete};
use crate::login::{self, Keys as KeySpec, LoginSpec, Rules};
use crate::pipeline::{self, Ctx};
use crate::ports::Io;
use crate::settings::{ConfigError, Settings};
use crate::usersig;
use crate::webhook::jwt::{self, Alg, KeySource};
use crate::webhook::Keys;

/// Setting: the login UserSig's validity in seconds (default one day, at most 30 days).
pub const TIM_LOGIN_USERSIG_TTL: &str = "TIM_LOGIN_USERSIG_TTL";
/// Setting: `false` turns the just-in-time import off.
pub const TIM_LOGIN_IMPORT: &str = "TIM_LOGIN_IMPORT";
/// Longest login UserSig validity: 30 days.
pub const MAX_LOGIN_TTL_S: i64 = 30 * 86_400;
/// Time a just-in-time import may take before the login answers anyway.
pub const IMPORT_BUDGET_MS: u64 = 3_000;

/// `TIM_LOGIN_USERSIG_TTL`.
pub fn login_ttl(s: &dyn Settings) -> Result<i64, ConfigError> {
    match s.get(TIM_LOGIN_USERSIG_TTL) {
        None => Ok(86_400),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|t| (60..=MAX_LOGIN_TTL_S).contains(t))
            .ok_or_else(|| {
                ConfigError::invalid(
                    TIM_LOGIN_USERSIG_TTL,
                    "expected seconds between 60 and 2592000",
                )
            }),
    }
}

/// Handles one login.
pub async fn login<I: Io>(
    spec: &LoginSpec,
    req: &Request<'_>,
    cx: &Ctx<'_, I>,
) -> Result<Response, AppError> {
    let rules = (spec.rules)(cx.settings)?.ok_or(AppError::ProviderNotConfigured {
        provider: spec.name,
        var: spec.switch,
    })?;
    let header = req.headers.get("authorization");
    let token = login::bearer(header.as_deref()).map_err(AppError::TokenMissing)?;
    let claims = verify(token, &rules, cx).await?;
    let now_s = i64::try_from(cx.io.now_ms() / 1000).unwrap_or(i64::MAX);
    let subject = login::check_claims(&rules, &claims, now_s).map_err(AppError::Token)?;
    let rule = config::userid_rule(cx.settings, spec.prefix, spec.id_prefixes)?;
    let user_id = identity::map_user_id(subject, &rule)?.user_id;
    let cfg = cx.state.tim_config(cx.settings)?;
    let ttl = login_ttl(cx.settings)?;
    let (nick, face_url) = login::profile(&claims);
    let user = User {
        user_id: subject.to_owned(),
        nick,
        face_url,
        ..User::default()
    };
    ensure_account(spec, &rule, user, cx).await?;
    let sig = usersig::generate(cfg.sdkappid, &cfg.secret_key, &user_id, now_s, ttl, None);
    let mut r = Response::json(
        200,
        serde_json::json!({
            "sdkAppId": cfg.sdkappid,
            "userId": user_id,
            "userSig": sig,
            "expiresAt": now_s.saturating_add(ttl),
        }),
    );
    r.headers.push(("Cache-Control", "no-store".into()));
    Ok(r)
}

/// Verifies the token's signature with the key its (pinned) algorithm calls for.
async fn verify<I: Io>(
    token: &str,
    rules: &Rules,
    cx: &Ctx<'_, I>,
) -> Result<serde_json::Value, AppError> {
    let keys = Keys {
        cache: &cx.state.keys,
        io: cx.io,
    };
    let alg = jwt::parse_as(token, &rules.algs)
        .map_err(|_| AppError::Token("algorithm not allowed or not a JWS"))?
        .alg;
    let discovered;
    let source = match (&rules.keys, alg, &rules.secret) {
        (_, Alg::Hs256, Some(secret)) => KeySource::Secret(secret.as_bytes()),
        (_, Alg::Hs256, None) => return Err(AppError::Token("HS256 without a configured secret")),
        (KeySpec::Jwks(url), _, _) => KeySource::Jwks(url),
        (KeySpec::Static(key), _, _) => KeySource::Static(key),
        (KeySpec::Discover(doc), _, _) => {
            discovered = discover(doc, cx).await?;
            KeySource::Jwks(&discovered)
        }
    };
    jwt::verify_with(token, &rules.algs, &source, &keys)
        .await
        .map_err(|e| match e {
            crate::webhook::WebhookError::KeysUnavailable(_) => AppError::from(e),
            other => AppError::Token(login::refusal(&other)),
        })
}

/// The JWKS URL named by an OpenID discovery document, fetched once per isolate.
async fn discover<I: Io>(doc_url: &str, cx: &Ctx<'_, I>) -> Result<String, AppError> {
    if let Some(u) = cx.state.discovered.borrow().get(doc_url) {
        return Ok(u.clone());
    }
    let unavailable =
        |why: String| AppError::from(crate::webhook::WebhookError::KeysUnavailable(why));
    let (status, body) = cx
        .io
        .get(doc_url, jwt::FETCH_TIMEOUT_MS)
        .await
        .map_err(|e| unavailable(format!("fetching {doc_url}: {e}")))?;
    let uri = (status == 200)
        .then(|| login::jwks_uri(&body))
        .flatten()
        .filter(|u| u.starts_with("https://") || crate::settings::is_loopback_http(u))
        .ok_or_else(|| unavailable(format!("{doc_url} names no jwks_uri")))?;
    cx.state
        .discovered
        .borrow_mut()
        .insert(doc_url.to_owned(), uri.clone());
    Ok(uri)
}

/// Makes sure the account exists with its profile: known users cost nothing; others are
/// imported once (through the queue when bound, else within a short budget). A user whose
/// deletion was applied is refused.
async fn ensure_account<I: Io>(
    spec: &LoginSpec,
    rule: &identity::Rule,
    user: User,
    cx: &Ctx<'_, I>,
) -> Result<(), AppError> {
    let rules = job::Rules {
        provider: spec.name,
        rule,
        on_delete: OnDelete::Ignore,
    };
    let Some(planned) = job::plan(rules, &Event::Created(user))? else {
        return Ok(());
    };
    let job = planned.job;
    let known = pipeline::user_states(std::slice::from_ref(&job), cx).await;
    if known
        .get(&job.user_id)
        .is_some_and(|s| s.deleted_at.is_some())
    {
        return Err(AppError::UserDeleted);
    }
    let import = cx
        .settings
        .get(TIM_LOGIN_IMPORT)
        .is_none_or(|v| v != "false");
    if !import || cx.state.known_user(&job.user_id) {
        return Ok(());
    }
    let user_id = job.user_id.clone();
    let started = cx.io.now_ms();
    let location = crate::http::Location::Known(Default::default());
    let budget = (spec.name, IMPORT_BUDGET_MS);
    let delivered = pipeline::deliver(budget, vec![job], started, &location, cx).await;
    let failure = match delivered {
        Ok((outcomes, _)) => outcomes.into_iter().find_map(|(_, a)| match a {
            pipeline::Applied::Failed(e) => Some(AppError::from(e)),
            _ => None,
        }),
        Err(e) => Some(e),
    };
    match failure {
        None => cx.state.remember_known(&user_id),
        // The SDK registers an unknown UserID at its first login anyway: the login goes on,
        // and the next one tries the import again.
        Some(e) => cx.io.log(&format!(
            "tim-onboard: login of user {user_id}: just-in-time import failed: {}",
            e.log_message()
        )),
    }
    Ok(())
}

/// Setting: the exact origins (scheme://host[:port]) whose pages may call the login endpoint.
pub const TIM_ALLOWED_ORIGINS: &str = "TIM_ALLOWED_ORIGINS";

/// The request's `Origin` when the configuration allows it; no `Origin` (a native app, a
/// server) needs no permission. An origin not listed is refused, so a page elsewhere cannot
/// trade a user's session token for a UserSig even where the browser would not stop it.
pub fn allowed_origin(s: &dyn Settings, origin: Option<&str>) -> Result<Option<String>, AppError> {
    let Some(origin) = origin.map(str::trim).filter(|o| !o.is_empty()) else {
        return Ok(None);
    };
    let listed = s.get(TIM_ALLOWED_ORIGINS).is_some_and(|v| {
        v.split([',', ' '])
            .any(|o| o.trim().trim_end_matches('/') == origin)
    });
    if listed {
        Ok(Some(origin.to_owned()))
    } else {
        Err(AppError::OriginNotAllowed)
    }
}

/// CORS headers for an allowed origin; a preflight also says what may be sent.
pub fn cors_headers(origin: &str, preflight: bool) -> Vec<(&'static str, String)> {
    let mut h = vec![
        ("Access-Control-Allow-Origin", origin.to_owned()),
        ("Vary", "Origin".to_owned()),
    ];
    if preflight {
        h.push(("Access-Control-Allow-Methods", "POST".to_owned()));
        h.push((
            "Access-Control-Allow-Headers",
            "Authorization, Content-Type".to_owned(),
        ));
        h.push(("Access-Control-Max-Age", "600".to_owned()));
    }
    h
}

#[cfg(test)]
mod tests {
    use crate::crypto::{base64_encode, hmac_sha256};
    use crate::http::{Request, Response};
    use crate::lifecycle::UserState;
    use crate::region::EdgeLocation;
    use crate::routes::handle;
    use crate::state::IsolateState;
    use crate::testing::*;
    use serde_json::json;

    const PROJECT: &str = "https://abcd.supabase.co";
    const JWT_SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters";
    const SUB: &str = "ff7fc9ae-3b1b-4642-9241-64adb9848a03";

    fn b64url(bytes: &[u8]) -> String {
        base64_encode(bytes)
            .trim_end_matches('=')
            .replace('+', "-")
            .replace('/', "_")
    }

    /// An HS256 token over `claims` (Supabase's legacy JWT secret), made independently of the
    /// verifier: the header and signature are built here by hand.
    fn hs256(claims: serde_json::Value, alg: &str) -> String {
        let head = b64url(json!({ "alg": alg, "typ": "JWT" }).to_string().as_bytes());
        let body = b64url(claims.to_string().as_bytes());
        let input = format!("{head}.{body}");
        let sig = b64url(&hmac_sha256(JWT_SECRET.as_bytes(), &[input.as_bytes()]));
        format!("{input}.{sig}")
    }

    fn claims() -> serde_json::Value {
        let now = (NOW_MS / 1000) as i64;
        json!({
            "iss": format!("{PROJECT}/auth/v1"), "aud": "authenticated", "role": "authenticated",
            "sub": SUB, "exp": now + 3600, "iat": now, "email": "ada@example.com",
            "user_metadata": {}, "name": "Ada Lovelace", "picture": "https://x/ada.png",
        })
    }

    fn settings(extra: &[(&'static str, &'static str)]) -> Env {
        let mut e = vec![
            ("SUPABASE_URL", PROJECT),
            ("SUPABASE_JWT_SECRET", JWT_SECRET),
            ("TIM_ALLOWED_ORIGINS", "https://app.example.com"),
        ];
        e.extend_from_slice(extra);
        env(&e)
    }

    fn call(
        token: Option<&str>,
        origin: Option<&str>,
        method: &'static str,
        e: &Env,
        state: &IsolateState,
        io: &FakeIo,
    ) -> Response {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut h: Vec<(&str, &str)> = Vec::new();
        if let Some(a) = &auth {
            h.push(("authorization", a));
        }
        if let Some(o) = origin {
            h.push(("origin", o));
        }
        let h = h.as_slice();
        let req = Request {
            method,
            path: "/login/supabase",
            query: "",
            headers: &h,
            body: Some(b""),
            location: EdgeLocation::default().into(),
        };
        block_on(handle(&req, e, state, io))
    }

    #[test]
    fn a_valid_token_gets_a_usersig_for_the_webhook_userid_and_one_import() {
        let io = FakeIo::new(vec![OK]);
        let state = IsolateState::default();
        let e = settings(&[]);
        let r = call(
            Some(&hs256(claims(), "HS256")),
            None,
            "POST",
            &e,
            &state,
            &io,
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let v = json(&r);
        assert_eq!(
            v["userId"], "ff7fc9ae3b1b4642924164adb9848a03",
            "the webhook path's compact mapping"
        );
        assert_eq!(v["sdkAppId"], 1_400_000_000u64);
        let now = (NOW_MS / 1000) as i64;
        assert_eq!(v["expiresAt"], now + 86_400);
        let sig = v["userSig"].as_str().unwrap();
        let checked = crate::usersig::verify(
            1_400_000_000,
            KEY,
            "ff7fc9ae3b1b4642924164adb9848a03",
            sig,
            now,
            None,
        )
        .unwrap();
        assert_eq!(checked.expire, 86_400);
        assert!(r.headers.contains(&("Cache-Control", "no-store".into())));
        // Just-in-time import, with the token's profile, once.
        let calls = io.calls.borrow().clone();
        assert_eq!(calls.len(), 1);
        assert!(calls[0].1.contains(r#""Nick":"Ada Lovelace""#) && calls[0].1.contains("ada.png"));
        let again = call(
            Some(&hs256(claims(), "HS256")),
            None,
            "POST",
            &e,
            &state,
            &io,
        );
        assert_eq!(again.status, 200);
        assert_eq!(
            io.calls.borrow().len(),
            1,
            "a known user is not imported again"
        );
        assert!(
            !io.logs.borrow().join("\n").contains(sig),
            "the UserSig reached a log"
        );
    }

    #[test]
    fn every_refusal_is_401_with_a_stable_code_and_reaches_no_upstream() {
        let io = FakeIo::new(vec![]);
        let state = IsolateState::default();
        let e = settings(&[]);
        let now = (NOW_MS / 1000) as i64;
        let with = |k: &str, v: serde_json::Value| {
            let mut c = claims();
            c[k] = v;
            hs256(c, "HS256")
        };
        let mut anon = claims();
        anon.as_object_mut().unwrap().remove("sub");
        anon["role"] = json!("anon");
        anon["aud"] = json!("anon");
        let cases = [
            (with("iss", json!("supabase")), "invalid_token"),
            (with("exp", json!(now - 120)), "invalid_token"),
            (with("nbf", json!(now + 600)), "invalid_token"),
            (with("aud", json!("anon")), "invalid_token"),
            (with("role", json!("anon")), "invalid_token"),
            (hs256(anon, "HS256"), "invalid_token"),
            (hs256(claims(), "none"), "invalid_token"),
            (hs256(claims(), "RS256"), "invalid_token"),
            (format!("{}x", hs256(claims(), "HS256")), "invalid_token"),
            ("a".repeat(9_000), "token_missing"),
        ];
        for (token, code) in cases {
            let r = call(Some(&token), None, "POST", &e, &state, &io);
            assert_eq!(
                (r.status, json(&r)["error"].as_str()),
                (401, Some(code)),
                "{token:.60}"
            );
            let fixed = [
                "the session token was not accepted",
                "the login needs Authorization: Bearer <session token>",
            ];
            assert!(
                fixed.contains(&json(&r)["message"].as_str().unwrap_or_default()),
                "no detail: {}",
                r.body
            );
        }
        let r = call(None, None, "POST", &e, &state, &io);
        assert_eq!(json(&r)["error"], "token_missing");
        assert!(io.calls.borrow().is_empty());
        // Without the secret, HS256 is not an algorithm this deployment accepts.
        let no_secret = env(&[("SUPABASE_URL", PROJECT)]);
        let r = call(
            Some(&hs256(claims(), "HS256")),
            None,
            "POST",
            &no_secret,
            &IsolateState::default(),
            &io,
        );
        assert_eq!(r.status, 401);
        let logs = io.logs.borrow().join("\n");
        assert!(!logs.contains(JWT_SECRET) && !logs.contains(&hs256(claims(), "HS256")));
    }

    #[test]
    fn cors_allows_exact_origins_only() {
        let io = FakeIo::new(vec![OK]);
        let state = IsolateState::default();
        let e = settings(&[]);
        let pre = call(
            None,
            Some("https://app.example.com"),
            "OPTIONS",
            &e,
            &state,
            &io,
        );
        assert_eq!(pre.status, 204);
        assert!(pre.headers.contains(&(
            "Access-Control-Allow-Origin",
            "https://app.example.com".into()
        )));
        assert!(pre.headers.contains(&("Vary", "Origin".into())));
        assert!(pre
            .headers
            .iter()
            .any(|(k, v)| *k == "Access-Control-Allow-Headers" && v.contains("Authorization")));
        let ok = call(
            Some(&hs256(claims(), "HS256")),
            Some("https://app.example.com"),
            "POST",
            &e,
            &state,
            &io,
        );
        assert_eq!(ok.status, 200);
        assert!(ok.headers.contains(&(
            "Access-Control-Allow-Origin",
            "https://app.example.com".into()
        )));
        let evil = call(
            Some(&hs256(claims(), "HS256")),
            Some("https://evil.example"),
            "POST",
            &e,
            &state,
            &io,
        );
        assert_eq!(
            (evil.status, json(&evil)["error"].as_str()),
            (403, Some("origin_not_allowed"))
        );
        assert!(!evil
            .headers
            .iter()
            .any(|(k, _)| *k == "Access-Control-Allow-Origin"));
        // A refusal to an allowed origin is readable by the page.
        let bad = call(
            Some("x.y.z"),
            Some("https://app.example.com"),
            "POST",
            &e,
            &state,
            &io,
        );
        assert_eq!(bad.status, 401);
        assert!(bad
            .headers
            .iter()
            .any(|(k, _)| *k == "Access-Control-Allow-Origin"));
    }

    #[test]
    fn deleted_users_get_403_and_imports_can_be_switched_off() {
        let io = FakeIo::new(vec![]);
        let state = IsolateState::default();
        state.remember_user(
            "ff7fc9ae3b1b4642924164adb9848a03",
            UserState {
                last_at: Some(1),
                deleted_at: Some(1),
            },
        );
        let r = call(
            Some(&hs256(claims(), "HS256")),
            None,
            "POST",
            &settings(&[]),
            &state,
            &io,
        );
        assert_eq!(
            (r.status, json(&r)["error"].as_str()),
            (403, Some("user_deleted"))
        );
        assert!(io.calls.borrow().is_empty());
        let r = call(
            Some(&hs256(claims(), "HS256")),
            None,
            "POST",
            &settings(&[
                ("TIM_LOGIN_IMPORT", "false"),
                ("TIM_LOGIN_USERSIG_TTL", "600"),
            ]),
            &IsolateState::default(),
            &io,
        );
        assert_eq!(r.status, 200);
        assert_eq!(json(&r)["expiresAt"], (NOW_MS / 1000) as i64 + 600);
        assert!(io.calls.borrow().is_empty());
    }

    #[test]
    fn unconfigured_and_unknown_providers_are_404() {
        let io = FakeIo::new(vec![]);
        let r = call(
            Some("t"),
            None,
            "POST",
            &env(&[]),
            &IsolateState::default(),
            &io,
        );
        assert_eq!(json(&r)["error"], "provider_not_configured");
        assert!(json(&r)["message"]
            .as_str()
            .unwrap()
            .contains("SUPABASE_URL"));
    }
}
