//! WorkOS: `user.created` events signed `WorkOS-Signature: t=<ms>, v1=<hex>` (auth-webhooks.md §6.1).
//!
//! The MAC is hex HMAC-SHA256 over `"{t}.{body}"`, keyed with the secret's UTF-8 bytes (no base64).
//! `t` is in milliseconds; we allow 180 s of skew both ways (the SDKs' default, but two-sided:
//! a timestamp from the future is as suspicious as an old one). WorkOS re-signs every retry, so the
//! signed attempt is a replay key and the body's event `id` de-duplicates.

use super::{sig, Delivery, Event, Get, HeaderMap, Received, Signup, WebhookError};
use crate::config::ConfigError;
use crate::identity::pick_nick;
use serde::Deserialize;
use serde_json::value::RawValue;

/// Setting: the webhook's signing secret from the WorkOS dashboard, used as raw UTF-8.
pub const SECRET: &str = "WORKOS_WEBHOOK_SECRET";
/// The event that means "a new user registered".
pub const SIGNUP_EVENT: &str = "user.created";

/// How WorkOS signs: milliseconds, 3 minutes.
const SCHEME: sig::TimestampedHmac = sig::TimestampedHmac {
    header: "workos-signature",
    units_per_second: 1000,
    tolerance_s: 180,
};

/// This provider's settings.
#[derive(Debug)]
pub struct Config {
    secret: sig::RawSecret,
}

/// Reads this provider's settings; `None` when `WORKOS_WEBHOOK_SECRET` is unset.
pub fn config(get: Get<'_>) -> Result<Option<Config>, ConfigError> {
    Ok(sig::RawSecret::setting(get, SECRET).map(|secret| Config { secret }))
}

#[derive(Deserialize)]
struct Envelope<'a> {
    id: Option<String>,
    event: Option<String>,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct User {
    id: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    name: Option<String>,
    email: Option<String>,
    profile_picture_url: Option<String>,
}

/// Reads a WorkOS event body (already verified).
pub fn parse(body: &[u8]) -> Result<Event, WebhookError> {
    let env: Envelope = serde_json::from_slice(body)
        .map_err(|e| super::malformed(format!("not a WorkOS event: {e}")))?;
    let kind = env.event.ok_or_else(|| super::malformed("no event type"))?;
    if kind != SIGNUP_EVENT {
        return Ok(Event::Ignored(kind));
    }
    let data = env
        .data
        .ok_or_else(|| super::malformed("user.created without data"))?;
    let user: User = serde_json::from_str(data.get())
        .map_err(|e| super::malformed(format!("data is not a WorkOS user: {e}")))?;
    let user_id = user
        .id
        .filter(|id| !id.is_empty())
        .ok_or_else(|| super::malformed("data.id is missing"))?;
    // `name` is the full name newer APIs send when first/last are not split; it ranks after them.
    let nick = pick_nick(
        user.first_name.as_deref(),
        user.last_name.as_deref(),
        user.name.as_deref(),
        user.email.as_deref(),
    );
    Ok(Event::Signup(Signup {
        user_id,
        nick,
        face_url: user.profile_picture_url.filter(|u| !u.is_empty()),
        event_id: env.id.filter(|id| !id.is_empty()),
    }))
}

/// Verifies a WorkOS delivery and reads it.
pub fn receive<H: HeaderMap + ?Sized>(
    cfg: &Config,
    d: &Delivery<'_, H>,
) -> Result<Received, WebhookError> {
    let replay_key = SCHEME.verify(d.headers, cfg.secret.as_str().as_bytes(), d.body, d.now)?;
    Ok(Received::one(parse(d.body)?).with_replay_key(replay_key))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Constructed from the envelope and `UserResponse` fields in auth-webhooks.md §6.1 (WorkOS
    /// publishes no verbatim `user.created` sample).
    const DOCUMENTED: &str = include_str!("../../tests/fixtures/workos_user_created.json");
    const KEY: &str = "sk_test_webhook_secret";

    fn cfg() -> Config {
        config(&|k: &str| (k == SECRET).then(|| KEY.to_owned()))
            .unwrap()
            .unwrap()
    }

    /// What WorkOS sends: `t=<ms>, v1=<hex>`.
    fn signed(t_ms: i64, body: &str, key: &str) -> String {
        let t = t_ms.to_string();
        let mac = sig::hmac_sha256(key.as_bytes(), &[t.as_bytes(), b".", body.as_bytes()]);
        format!("t={t}, v1={}", sig::hex_encode(&mac))
    }

    fn run(header: Option<&str>, body: &str, now: i64) -> Result<Received, WebhookError> {
        let h = header.map(|v| ("WorkOS-Signature", v));
        sig::deliver(h, body, now, |d| receive(&cfg(), d))
    }

    #[test]
    fn documented_payload() {
        let header = signed(1_626_125_972_272, DOCUMENTED, KEY);
        let r = run(Some(&header), DOCUMENTED, 1_626_125_972).unwrap();
        let expected = Signup {
            user_id: "user_01E4ZCR3C56J083X43JQXF3JK5".into(),
            nick: Some("Marcelina Davis".into()),
            face_url: Some("https://workoscdn.com/images/v1/123abc".into()),
            event_id: Some("event_01K2RZ3N7V8M1QF5C6TD4XJ9WB".into()),
        };
        assert_eq!(r.events, vec![Event::Signup(expected)]);
        let v1 = header.split("v1=").nth(1).unwrap();
        assert_eq!(r.replay_key, Some(format!("1626125972272.{v1}")));
    }

    #[test]
    fn forged_stale_and_missing() {
        let t = 1_626_125_972_272;
        let now = t / 1000;
        let header = signed(t, DOCUMENTED, KEY);
        let forged = DOCUMENTED.replace("Marcelina", "Mallory");
        assert_eq!(
            run(Some(&header), &forged, now),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            run(Some(&signed(t, DOCUMENTED, "other")), DOCUMENTED, now),
            Err(WebhookError::BadSignature)
        );
        assert!(run(Some(&header), DOCUMENTED, now + 180).is_ok());
        assert_eq!(
            run(Some(&header), DOCUMENTED, now + 181),
            Err(WebhookError::StaleTimestamp(181))
        );
        assert_eq!(
            run(Some(&header), DOCUMENTED, now - 181),
            Err(WebhookError::StaleTimestamp(-181))
        );
        // A seconds timestamp is 1000x too small for WorkOS: stale, never accepted.
        assert!(matches!(
            run(Some(&signed(now, DOCUMENTED, KEY)), DOCUMENTED, now),
            Err(WebhookError::StaleTimestamp(_))
        ));
        assert_eq!(
            run(None, DOCUMENTED, now),
            Err(WebhookError::MissingHeader("workos-signature"))
        );
        // Verification comes first: a signed non-JSON body is Malformed, an unsigned one is not read.
        assert_eq!(
            run(Some(&header), "junk", now),
            Err(WebhookError::BadSignature)
        );
        assert!(matches!(
            run(Some(&signed(t, "junk", KEY)), "junk", now),
            Err(WebhookError::Malformed(_))
        ));
    }

    #[test]
    fn other_events_and_fallbacks() {
        assert_eq!(
            parse(br#"{"id":"event_1","event":"user.updated","data":{"id":"user_1"}}"#).unwrap(),
            Event::Ignored("user.updated".into())
        );
        let s = match parse(
            br#"{"id":"event_2","event":"user.created","data":{"id":"user_2","name":"Ada L","email":"ada@x.io","profile_picture_url":null}}"#,
        )
        .unwrap()
        {
            Event::Signup(s) => s,
            other => panic!("{other:?}"),
        };
        assert_eq!((s.nick.as_deref(), s.face_url), (Some("Ada L"), None));
        for bad in [
            &b"{}"[..],
            br#"{"event":"user.created"}"#,
            br#"{"event":"user.created","data":{"email":"a@b"}}"#,
            br#"{"event":"user.created","data":{"id":""}}"#,
        ] {
            assert!(
                matches!(parse(bad), Err(WebhookError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn config_hides_the_secret() {
        assert!(config(&|_: &str| None).unwrap().is_none());
        assert!(!format!("{:?}", cfg()).contains(KEY));
    }
}
