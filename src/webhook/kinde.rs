//! Kinde: the body is an RS256 JWT checked against the domain's JWKS
//! (<https://docs.kinde.com/integrate/webhooks/add-manage-webhooks>).
//!
//! Kinde POSTs the event itself as a token (`Content-Type: application/jwt`), signed with the
//! business's own keys published at `https://<domain>/.well-known/jwks`; the keys are per
//! business, so a valid signature already says "this Kinde business". `user.created` and
//! `user.updated` carry the user: UserID `data.user.id`, Nick first + last name, else username,
//! else the email's local part; Kinde sends no avatar. `user.deleted` carries only
//! `data.user.id` (event shapes: <https://github.com/kinde-oss/webhook/blob/main/lib/types.ts>).
//! The event time is the `timestamp` claim. Retries resend the same event, so the
//! de-duplication key is the signed `event_id` claim (the unsigned `webhook-id` header only when
//! the claim is missing: a replayer could change the header, not the claim) and there is no
//! replay key.

use super::{
    jwt, Change, Delivery, Keys, Lifecycle, Received, Spec, WebhookError, DEFAULT_BUDGET_MS,
};
use crate::event::{Event, User};
use crate::identity::pick_nick;
use crate::ports::KeyIo;
use crate::settings::{ConfigError, Settings};
use serde_json::Value;

/// Kinde.
pub const SPEC: Spec = Spec {
    name: "kinde",
    prefix: "KINDE",
    switch: DOMAIN,
    id_prefixes: &["kp_"],
    budget_ms: DEFAULT_BUDGET_MS,
    success_body: None,
    challenge: None,
    lifecycle: Lifecycle {
        created: &["user.created"],
        updated: &["user.updated"],
        deleted: &["user.deleted"],
    },
};

/// Setting that switches this provider on: the Kinde domain, e.g. `myapp.kinde.com`.
pub const DOMAIN: &str = "KINDE_DOMAIN";
/// Setting: overrides the JWKS URL derived from the domain (tests, unusual setups).
pub const JWKS_URL: &str = "KINDE_JWKS_URL";

/// Kinde's settings (nothing secret: the keys are public).
#[derive(Debug)]
pub struct Config {
    jwks_url: String,
    issuer: String,
}

/// How old a token without `exp` may be: Kinde redelivers failed webhooks for up to three days.
pub const MAX_AGE_S: i64 = 3 * 86_400;

/// Reads Kinde's settings; `None` when `KINDE_DOMAIN` is unset.
pub fn config(get: &dyn Settings) -> Result<Option<Config>, ConfigError> {
    let Some(domain) = get.get(DOMAIN) else {
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
        return Err(ConfigError::invalid(
            DOMAIN,
            "expected your Kinde domain, e.g. myapp.kinde.com",
        ));
    }
    let default = format!("https://{}/.well-known/jwks", host.to_ascii_lowercase());
    Ok(Some(Config {
        jwks_url: jwt::jwks_url_setting(get, JWKS_URL, default)?,
        issuer: format!("https://{}", host.to_ascii_lowercase()),
    }))
}

/// Reads the verified claims of a Kinde token; `webhook_id` is the (unsigned) header, the
/// de-duplication key only when the token has no `event_id`.
pub fn parse(claims: &Value, webhook_id: Option<String>) -> Result<Event, WebhookError> {
    let kind = super::text_at(claims, &["/type"])
        .ok_or_else(|| super::malformed("the token has no event type"))?;
    let Some(change) = Change::of(kind, &super::USER_EVENTS) else {
        return Ok(Event::Ignored(kind.to_owned()));
    };
    let user_id = super::text_at(claims, &["/data/user/id"])
        .ok_or_else(|| super::malformed("data.user.id is missing"))?;
    let field = |name: &str| super::text_at(claims, &[&format!("/data/user/{name}")]);
    let nick = pick_nick(
        field("first_name"),
        field("last_name"),
        field("username"),
        field("email"),
    );
    Ok(change.event(User {
        user_id: user_id.to_owned(),
        nick,
        face_url: None,
        event_id: super::text_at(claims, &["/event_id"])
            .map(str::to_owned)
            .or(webhook_id),
        at: super::time_at(claims, &["/timestamp", "/event_timestamp"]),
    }))
}

/// A token signed for another Kinde business is not ours, even with a key we trust; and without
/// `exp` a captured token would be valid forever, so one issued before Kinde's redelivery window
/// is stale.
fn check_origin_and_age(claims: &Value, issuer: &str, now: i64) -> Result<(), WebhookError> {
    if super::text_at(claims, &["/iss"]).is_some_and(|iss| iss.trim_end_matches('/') != issuer) {
        return Err(WebhookError::BadSignature);
    }
    if jwt::numeric_date(claims, "exp")?.is_none() {
        let issued = jwt::numeric_date(claims, "iat")?
            .or_else(|| super::time_at(claims, &["/timestamp", "/event_timestamp"]));
        // With no time at all there is no age to bound: such a token would never expire.
        let issued = issued.ok_or(WebhookError::BadTimestamp)?;
        if now.saturating_sub(issued) > MAX_AGE_S {
            return Err(WebhookError::StaleTimestamp(now.saturating_sub(issued)));
        }
    }
    Ok(())
}

/// Verifies a Kinde delivery (the body is the token) and reads it.
pub async fn receive<K: KeyIo>(
    cfg: &Config,
    d: &Delivery<'_>,
    keys: &Keys<'_, K>,
) -> Result<Received, WebhookError> {
    let token = std::str::from_utf8(d.body).map_err(|_| WebhookError::BadSignature)?;
    let claims = jwt::verify(token, &cfg.jwks_url, keys).await?;
    // Kinde's examples carry no `exp`; when a token has one (or `iat`/`nbf`), it is honoured.
    jwt::check_exp(&claims, d.now, false)?;
    jwt::check_issued(&claims, d.now, false)?;
    check_origin_and_age(&claims, &cfg.issuer, d.now)?;
    let webhook_id = d
        .headers
        .get("webhook-id")
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty());
    Ok(Received::one(parse(&claims, webhook_id)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::TransportError;
    use crate::webhook::jwt::testing::{block_on, FakeKeys, IAT, JWKS, JWKS_ROTATED};
    use crate::webhook::jwt::KeyCache;

    /// The documented `user.created` example
    /// (<https://docs.kinde.com/integrate/webhooks/about-webhooks>); `kinde_user_created.jwt`
    /// carries it verbatim (tests/fixtures/jwt/).
    const DOCUMENTED: &str = include_str!("../../tests/fixtures/kinde_user_created.json");
    const TOKEN: &str = include_str!("../../tests/fixtures/jwt/kinde_user_created.jwt");
    /// Constructed: the documented envelope with the `user.updated` data of the `@kinde/webhooks`
    /// types (<https://github.com/kinde-oss/webhook/blob/main/lib/types.ts>), a changed name.
    const UPDATED_CLAIMS: &str = include_str!("../../tests/fixtures/kinde_user_updated.json");
    /// Constructed likewise: `user.deleted`, whose `data.user` is only `{id}`.
    const DELETED_CLAIMS: &str = include_str!("../../tests/fixtures/kinde_user_deleted.json");
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
            headers: &headers,
            body: body.as_bytes(),
            now,
        };
        block_on(receive(&cfg(), &d, &Keys { cache, io }))
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
        let want = User {
            at: Some(1_770_120_000),
            user_id: "kp_1234567890".into(),
            nick: Some("Test".into()),
            face_url: None,
            event_id: Some("event_1234567890".into()),
        };
        assert_eq!(r, Received::one(Event::Created(want)));
        assert_eq!(*io.gets.borrow(), [TEST_JWKS]);
        // The signed claim wins over the header, so a replayer cannot dodge de-duplication.
        match &deliver(TOKEN).unwrap().events[..] {
            [Event::Created(s)] => assert_eq!(s.event_id.as_deref(), Some("event_1234567890")),
            other => panic!("{other:?}"),
        }
        // The token carries the documented payload verbatim.
        let claims = block_on(jwt::verify(
            TOKEN,
            TEST_JWKS,
            &Keys {
                cache: &KeyCache::default(),
                io: &FakeKeys::new(JWKS),
            },
        ))
        .unwrap();
        assert_eq!(
            claims,
            serde_json::from_str::<serde_json::Value>(DOCUMENTED).unwrap()
        );
    }

    fn claims(json: &str) -> serde_json::Value {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn documented_update_and_delete() {
        let updated = User {
            user_id: "kp_1234567890".into(),
            nick: Some("Test User".into()),
            face_url: None,
            event_id: Some("event_2345678901".into()),
            at: Some(1_770_197_400),
        };
        assert_eq!(
            parse(&claims(UPDATED_CLAIMS), None),
            Ok(Event::Updated(updated))
        );
        let deleted = User {
            user_id: "kp_1234567890".into(),
            event_id: Some("event_3456789012".into()),
            at: Some(1_770_314_400),
            ..User::default()
        };
        assert_eq!(
            parse(&claims(DELETED_CLAIMS), None),
            Ok(Event::Deleted(deleted))
        );
        // A 33-byte id is read as sent; the header names the event when the claim does not.
        let long = format!("kp_{}", "1".repeat(30));
        let mut c = claims(DELETED_CLAIMS);
        c["data"]["user"]["id"] = long.clone().into();
        c["event_id"] = serde_json::Value::Null;
        let e = parse(&c, Some("whk_1".into()));
        assert!(matches!(e, Ok(Event::Deleted(u))
            if u.user_id == long && long.len() == 33 && u.event_id.as_deref() == Some("whk_1")));
        c["data"]["user"] = serde_json::json!({});
        assert!(matches!(parse(&c, None), Err(WebhookError::Malformed(_))));
        assert_eq!(
            parse(&serde_json::json!({"type": "user.authenticated"}), None),
            Ok(Event::Ignored("user.authenticated".into()))
        );
    }

    #[test]
    fn signed_updates_and_exp_is_honoured() {
        // The signed token carries the created user under `user.updated`.
        match &deliver(UPDATED).unwrap().events[..] {
            [Event::Updated(u)] => assert_eq!(u.nick.as_deref(), Some("Test")),
            other => panic!("{other:?}"),
        }
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
            headers: &no_headers,
            body: &[0xff, 0xfe],
            now: IAT,
        };
        assert_eq!(
            block_on(receive(
                &cfg(),
                &d,
                &Keys {
                    cache: &cache,
                    io: &io
                }
            )),
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
        // (a Firebase-shaped payload: verified with the new key, then refused for its foreign iss)
        assert!(matches!(
            deliver_with(FIREBASE_ROTATED, &[], IAT, &cache, &io),
            Err(WebhookError::BadSignature)
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
        assert!(config(&|_: &str| None).unwrap().is_none());
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

    #[test]
    fn foreign_issuers_and_old_tokens_without_exp_are_refused() {
        let iss = "https://myapp.kinde.com";
        let now = 1_800_000_000;
        let ok = serde_json::json!({ "iss": iss, "iat": now - 60 });
        assert_eq!(check_origin_and_age(&ok, iss, now), Ok(()));
        let foreign = serde_json::json!({ "iss": "https://other.kinde.com", "iat": now });
        assert_eq!(
            check_origin_and_age(&foreign, iss, now),
            Err(WebhookError::BadSignature)
        );
        let old = serde_json::json!({ "iat": now - MAX_AGE_S - 1 });
        assert!(matches!(
            check_origin_and_age(&old, iss, now),
            Err(WebhookError::StaleTimestamp(_))
        ));
        let timeless = serde_json::json!({ "iss": iss });
        assert_eq!(
            check_origin_and_age(&timeless, iss, now),
            Err(WebhookError::BadTimestamp)
        );
        let old_with_exp = serde_json::json!({ "iat": now - MAX_AGE_S - 1, "exp": now + 60 });
        assert_eq!(check_origin_and_age(&old_with_exp, iss, now), Ok(()));
        // The documented event carries its time in `timestamp`: fine then, stale years later.
        let documented: serde_json::Value = serde_json::from_str(DOCUMENTED).unwrap();
        let at = super::super::time_at(&documented, &["/timestamp"]).unwrap();
        assert_eq!(check_origin_and_age(&documented, iss, at + 60), Ok(()));
        assert!(check_origin_and_age(&documented, iss, at + MAX_AGE_S + 1).is_err());
    }
}
