//! Kinde: the body is an RS256 JWT checked against the domain's JWKS (§6.4).
//!
//! Kinde POSTs the event itself as a token (`Content-Type: application/jwt`), signed with the
//! business's own keys published at `https://<domain>/.well-known/jwks`; the keys are per
//! business, so a valid signature already says "this Kinde business". `user.created` is
//! imported: UserID `data.user.id`, Nick first + last name, else username, else the email's
//! local part; Kinde sends no avatar. Retries resend the same event, so the de-duplication key
//! is the signed `event_id` claim (the unsigned `webhook-id` header only when the claim is
//! missing: a replayer could change the header, not the claim) and there is no replay key.

use super::{jwt, setting, Delivery, Event, Get, HeaderMap, KeyIo, Received, Signup, WebhookError};
use crate::config::ConfigError;
use crate::identity::pick_nick;

/// Setting that switches this provider on: the Kinde domain, e.g. `myapp.kinde.com`.
pub const DOMAIN: &str = "KINDE_DOMAIN";
/// Setting: overrides the JWKS URL derived from the domain (tests, unusual setups).
pub const JWKS_URL: &str = "KINDE_JWKS_URL";
/// The event type that means "a new user registered".
pub const SIGNUP_EVENT: &str = "user.created";

/// Kinde's settings (nothing secret: the keys are public).
#[derive(Debug)]
pub struct Config {
    jwks_url: String,
}

/// Reads Kinde's settings; `None` when `KINDE_DOMAIN` is unset.
pub fn config(get: Get<'_>) -> Result<Option<Config>, ConfigError> {
    let Some(domain) = setting(get, DOMAIN) else {
        return Ok(None);
    };
    // Accept what people paste from the dashboard: with or without https:// and a trailing slash.
    let host = domain
        .strip_prefix("https://")
        .unwrap_or(&domain)
        .trim_end_matches('/');
    // The host goes into the key URL, so it must be a bare host name (no path, port, user@).
    let is_host = host.contains('.')
        && !host.starts_with('.')
        && !host.ends_with('.')
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if !is_host {
        return Err(ConfigError::Invalid {
            var: DOMAIN,
            reason: "expected your Kinde domain, e.g. myapp.kinde.com",
        });
    }
    let default = format!("https://{}/.well-known/jwks", host.to_ascii_lowercase());
    Ok(Some(Config {
        jwks_url: jwt::jwks_url_setting(get, JWKS_URL, default)?,
    }))
}

/// Verifies a Kinde delivery (the body is the token) and reads it.
pub async fn receive<H: HeaderMap + ?Sized, K: KeyIo>(
    cfg: &Config,
    d: &Delivery<'_, H>,
    keys: &super::jwt::KeyCache,
    io: &K,
) -> Result<Received, WebhookError> {
    let token = std::str::from_utf8(d.body).map_err(|_| WebhookError::BadSignature)?;
    let claims = jwt::verify(token, &cfg.jwks_url, keys, io).await?;
    // Kinde's examples carry no `exp`; when a token has one (or `iat`/`nbf`), it is honoured.
    jwt::check_exp(&claims, d.now, false)?;
    jwt::check_issued(&claims, d.now, false)?;
    let kind = jwt::str_at(&claims, "/type")
        .ok_or_else(|| WebhookError::Malformed("the token has no event type".into()))?;
    if kind != SIGNUP_EVENT {
        return Ok(Received::one(Event::Ignored(kind.to_owned())));
    }
    let user_id = jwt::str_at(&claims, "/data/user/id")
        .ok_or_else(|| WebhookError::Malformed("data.user.id is missing".into()))?;
    let field = |name: &str| jwt::str_at(&claims, &format!("/data/user/{name}"));
    let nick = pick_nick(
        field("first_name"),
        field("last_name"),
        field("username"),
        field("email"),
    );
    let event_id = jwt::str_at(&claims, "/event_id")
        .map(str::to_owned)
        .or_else(|| {
            d.headers
                .get("webhook-id")
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        });
    Ok(Received::one(Event::Signup(Signup {
        user_id: user_id.to_owned(),
        nick,
        face_url: None,
        event_id,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tim::TransportError;
    use crate::webhook::jwt::testing::{block_on, FakeKeys, IAT, JWKS, JWKS_ROTATED};
    use crate::webhook::jwt::KeyCache;

    /// The documented `user.created` example (auth-webhooks.md §6.4); `kinde_user_created.jwt`
    /// carries it verbatim (tests/fixtures/jwt/).
    const DOCUMENTED: &str = include_str!("../../tests/fixtures/kinde_user_created.json");
    const TOKEN: &str = include_str!("../../tests/fixtures/jwt/kinde_user_created.jwt");
    const UPDATED: &str = include_str!("../../tests/fixtures/jwt/kinde_user_updated.jwt");
    const WRONG_KEY: &str = include_str!("../../tests/fixtures/jwt/kinde_wrong_key.jwt");
    const FIREBASE_NONE: &str = include_str!("../../tests/fixtures/jwt/firebase_alg_none.jwt");
    const FIREBASE_HS256: &str = include_str!("../../tests/fixtures/jwt/firebase_hs256.jwt");
    const FIREBASE_ROTATED: &str = include_str!("../../tests/fixtures/jwt/firebase_rotated.jwt");
    const TEST_JWKS: &str = "https://keys.test/kinde";

    fn cfg() -> Config {
        let get = |k: &str| match k {
            DOMAIN => Some("myapp.kinde.com".to_owned()),
            JWKS_URL => Some(TEST_JWKS.to_owned()),
            _ => None,
        };
        config(&get).unwrap().unwrap()
    }

    fn deliver_with(
        body: &str,
        headers: &[(&str, &str)],
        now: i64,
        cache: &KeyCache,
        io: &FakeKeys,
    ) -> Result<Received, WebhookError> {
        let d = Delivery {
            headers,
            body: body.as_bytes(),
            now,
        };
        block_on(receive(&cfg(), &d, cache, io))
    }

    fn deliver(body: &str) -> Result<Received, WebhookError> {
        let headers: &[(&str, &str)] = &[("content-type", "application/jwt")];
        deliver_with(
            body,
            headers,
            IAT,
            &KeyCache::default(),
            &FakeKeys::new(JWKS),
        )
    }

    #[test]
    fn documented_user_created() {
        let io = FakeKeys::new(JWKS);
        let headers: &[(&str, &str)] = &[("webhook-id", "whk_01HXYZ")];
        // The body arrives with a trailing newline here, as the fixture file has one.
        let r = deliver_with(TOKEN, headers, IAT, &KeyCache::default(), &io).unwrap();
        let want = Signup {
            user_id: "kp_1234567890".into(),
            nick: Some("Test".into()),
            face_url: None,
            event_id: Some("event_1234567890".into()),
        };
        assert_eq!(r, Received::one(Event::Signup(want)));
        assert_eq!(*io.gets.borrow(), [TEST_JWKS]);
        // The signed claim wins over the header, so a replayer cannot dodge de-duplication.
        match &deliver(TOKEN).unwrap().events[..] {
            [Event::Signup(s)] => assert_eq!(s.event_id.as_deref(), Some("event_1234567890")),
            other => panic!("{other:?}"),
        }
        // The token carries the documented payload verbatim.
        let claims = block_on(jwt::verify(
            TOKEN,
            TEST_JWKS,
            &KeyCache::default(),
            &FakeKeys::new(JWKS),
        ))
        .unwrap();
        assert_eq!(
            claims,
            serde_json::from_str::<serde_json::Value>(DOCUMENTED).unwrap()
        );
    }

    #[test]
    fn other_events_are_ignored_and_exp_is_honoured() {
        assert_eq!(
            deliver(UPDATED).unwrap(),
            Received::one(Event::Ignored("user.updated".into()))
        );
        let (io, cache) = (FakeKeys::new(JWKS), KeyCache::default());
        assert_eq!(
            deliver_with(UPDATED, &[], IAT + 3600 + 60, &cache, &io),
            Err(WebhookError::StaleTimestamp(60))
        );
        // The documented token has no exp: accepted whenever it arrives (retries span 36 h).
        assert!(deliver_with(TOKEN, &[], IAT + 86_400 * 3, &cache, &io).is_ok());
    }

    #[test]
    fn forged_tokens_are_refused() {
        let io = FakeKeys::new(JWKS);
        let cache = KeyCache::default();
        assert_eq!(
            deliver_with(WRONG_KEY, &[], IAT, &cache, &io),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(io.fetches(), 1);
        for body in [FIREBASE_NONE, FIREBASE_HS256, "", "not a token", DOCUMENTED] {
            assert_eq!(deliver(body), Err(WebhookError::BadSignature), "{body}");
        }
        let no_headers: &[(&str, &str)] = &[];
        let d = Delivery {
            headers: no_headers,
            body: &[0xff, 0xfe],
            now: IAT,
        };
        assert_eq!(
            block_on(receive(&cfg(), &d, &cache, &io)),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn unknown_kid_triggers_one_refetch_and_outages_are_503() {
        let io = FakeKeys::new(JWKS);
        let cache = KeyCache::default();
        deliver_with(TOKEN, &[], IAT, &cache, &io).unwrap();
        // test-key-2 is not published yet: one refetch, still unknown, refused.
        io.now_ms.set(io.now_ms.get() + jwt::MIN_REFRESH_MS);
        assert_eq!(
            deliver_with(FIREBASE_ROTATED, &[], IAT, &cache, &io),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            deliver_with(FIREBASE_ROTATED, &[], IAT, &cache, &io),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(io.fetches(), 2);
        // Published a minute later: picked up on the next unknown-kid token.
        *io.jwks.borrow_mut() = Ok((200, JWKS_ROTATED.to_owned()));
        io.now_ms.set(io.now_ms.get() + jwt::MIN_REFRESH_MS);
        // (a Firebase-shaped payload: verified, then refused as having no Kinde type)
        assert!(matches!(
            deliver_with(FIREBASE_ROTATED, &[], IAT, &cache, &io),
            Err(WebhookError::Malformed(_))
        ));
        assert_eq!(io.fetches(), 3);
        let io = FakeKeys::new(JWKS);
        *io.jwks.borrow_mut() = Ok((404, "Not Found".into()));
        assert!(matches!(
            deliver_with(TOKEN, &[], IAT, &KeyCache::default(), &io),
            Err(WebhookError::KeysUnavailable(_))
        ));
        *io.jwks.borrow_mut() = Err(TransportError::Timeout);
        assert!(matches!(
            deliver_with(TOKEN, &[], IAT, &KeyCache::default(), &io),
            Err(WebhookError::KeysUnavailable(_))
        ));
    }

    #[test]
    fn config_accepts_pasted_domains_and_names_the_variable() {
        assert!(config(&|_| None).unwrap().is_none());
        for (domain, url) in [
            (
                "myapp.kinde.com",
                "https://myapp.kinde.com/.well-known/jwks",
            ),
            (
                "https://myapp.kinde.com/",
                "https://myapp.kinde.com/.well-known/jwks",
            ),
            (
                "Auth.Example.org",
                "https://auth.example.org/.well-known/jwks",
            ),
        ] {
            let get = |k: &str| (k == DOMAIN).then(|| domain.to_owned());
            assert_eq!(config(&get).unwrap().unwrap().jwks_url, url, "{domain}");
        }
        for bad in [
            "myapp",
            "http://myapp.kinde.com",
            "myapp.kinde.com/x",
            "myapp.kinde.com:443",
            "user@myapp.kinde.com",
            "https://",
            ".kinde.com",
        ] {
            let get = |k: &str| (k == DOMAIN).then(|| bad.to_owned());
            assert_eq!(config(&get).unwrap_err().var(), DOMAIN, "{bad}");
        }
        let get = |k: &str| match k {
            DOMAIN => Some("myapp.kinde.com".to_owned()),
            JWKS_URL => Some("ftp://x/jwks".to_owned()),
            _ => None,
        };
        assert_eq!(config(&get).unwrap_err().var(), JWKS_URL);
    }
}
