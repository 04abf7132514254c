//! WorkOS: `user.created`, `user.updated` and `user.deleted` events signed
//! `WorkOS-Signature: t=<ms>, v1=<hex>` (<https://workos.com/docs/events/data-syncing/webhooks>,
//! <https://workos.com/docs/events>). All three carry the whole user in `data`; the event time is
//! the envelope's `created_at`.
//!
//! The MAC is hex HMAC-SHA256 over `"{t}.{body}"`, keyed with the secret's UTF-8 bytes (no base64).
//! `t` is in milliseconds; we allow 180 s of skew both ways (the SDKs' default, but two-sided:
//! a timestamp from the future is as suspicious as an old one). WorkOS re-signs every retry, so the
//! signed attempt is a replay key and the body's event `id` de-duplicates.

use super::{sig, Change, Delivery, Lifecycle, Received, Spec, WebhookError, DEFAULT_BUDGET_MS};
use crate::event::{Event, User};
use crate::identity::pick_nick;
use crate::settings::{ConfigError, Settings};
use serde::Deserialize;
use serde_json::value::RawValue;

/// WorkOS.
pub const SPEC: Spec = Spec {
    name: "workos",
    prefix: "WORKOS",
    switch: SECRET,
    id_prefixes: &["user_"],
    budget_ms: DEFAULT_BUDGET_MS,
    success_body: None,
    challenge: None,
    lifecycle: Lifecycle {
        created: &["user.created"],
        updated: &["user.updated"],
        deleted: &["user.deleted"],
    },
};

/// Setting: the webhook's signing secret from the WorkOS dashboard, used as raw UTF-8.
pub const SECRET: &str = "WORKOS_WEBHOOK_SECRET";

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
pub fn config(get: &dyn Settings) -> Result<Option<Config>, ConfigError> {
    Ok(sig::RawSecret::setting(get, SECRET).map(|secret| Config { secret }))
}

#[derive(Deserialize)]
struct Envelope {
    id: Option<String>,
    event: Option<String>,
    // ISO 8601; kept loose so that an odd value costs the time, not the event.
    #[serde(default)]
    created_at: serde_json::Value,
    data: Option<Box<RawValue>>,
}

#[derive(Deserialize)]
struct RawUser {
    id: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    name: Option<String>,
    email: Option<String>,
    profile_picture_url: Option<String>,
}

/// The user's id and profile: Nick from first + last name, else `name`, else the email.
fn read_user(user: RawUser) -> Result<User, WebhookError> {
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
    Ok(User {
        user_id,
        nick,
        face_url: user.profile_picture_url.filter(|u| !u.is_empty()),
        ..User::default()
    })
}

/// Reads a WorkOS event body (already verified).
pub fn parse(body: &[u8]) -> Result<Event, WebhookError> {
    let env: Envelope =
        super::from_json(body).map_err(|e| super::malformed(format!("not a WorkOS event: {e}")))?;
    let kind = env.event.ok_or_else(|| super::malformed("no event type"))?;
    let Some(change) = Change::of(&kind, &super::USER_EVENTS) else {
        return Ok(Event::Ignored(kind));
    };
    let user: RawUser = super::user_data(&kind, env.data.as_deref(), "WorkOS")?;
    Ok(change.event(User {
        event_id: env.id.filter(|id| !id.is_empty()),
        at: env.created_at.as_str().and_then(sig::iso8601_seconds),
        ..read_user(user)?
    }))
}

/// Verifies a WorkOS delivery and reads it.
pub fn receive(cfg: &Config, d: &Delivery<'_>) -> Result<Received, WebhookError> {
    let replay_key = SCHEME.verify(d.headers, cfg.secret.as_str().as_bytes(), d.body, d.now)?;
    Ok(Received::one(parse(d.body)?).with_replay_key(replay_key))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Constructed from the event envelope (<https://workos.com/docs/events/data-syncing>) and
    /// workos-node's `UserResponse` fields (WorkOS
    /// publishes no verbatim `user.created` sample).
    const DOCUMENTED: &str = include_str!("../../tests/fixtures/workos_user_created.json");
    /// Constructed the same way: the user with a new last name and picture, as `user.updated`.
    const UPDATED: &str = include_str!("../../tests/fixtures/workos_user_updated.json");
    /// Constructed the same way: `user.deleted`, which also carries the whole user.
    const DELETED: &str = include_str!("../../tests/fixtures/workos_user_deleted.json");
    const KEY: &str = "sk_test_webhook_secret";

    fn cfg() -> Config {
        config(&|k: &str| (k == SECRET).then(|| KEY.to_owned()))
            .unwrap()
            .unwrap()
    }

    /// What WorkOS sends: `t=<ms>, v1=<hex>`.
    fn signed(t_ms: i64, body: &str, key: &str) -> String {
        let t = t_ms.to_string();
        let mac =
            crate::crypto::hmac_sha256(key.as_bytes(), &[t.as_bytes(), b".", body.as_bytes()]);
        format!("t={t}, v1={}", crate::crypto::hex_encode(&mac))
    }

    fn run(header: Option<&str>, body: &str, now: i64) -> Result<Received, WebhookError> {
        let h = header.map(|v| ("WorkOS-Signature", v));
        sig::deliver(h, body, now, |d| receive(&cfg(), d))
    }

    #[test]
    fn documented_payload() {
        let header = signed(1_626_125_972_272, DOCUMENTED, KEY);
        let r = run(Some(&header), DOCUMENTED, 1_626_125_972).unwrap();
        let expected = User {
            at: Some(1_624_648_053),
            user_id: "user_01E4ZCR3C56J083X43JQXF3JK5".into(),
            nick: Some("Marcelina Davis".into()),
            face_url: Some("https://workoscdn.com/images/v1/123abc".into()),
            event_id: Some("event_01K2RZ3N7V8M1QF5C6TD4XJ9WB".into()),
        };
        assert_eq!(r.events, vec![Event::Created(expected)]);
        let v1 = header.split("v1=").nth(1).unwrap();
        assert_eq!(r.replay_key, Some(format!("1626125972272.{v1}")));
    }

    #[test]
    fn documented_update_and_delete() {
        let updated = User {
            user_id: "user_01E4ZCR3C56J083X43JQXF3JK5".into(),
            nick: Some("Marcelina Davis-Ortiz".into()),
            face_url: Some("https://workoscdn.com/images/v1/456def".into()),
            event_id: Some("event_01K2S4W8JQ3X7N5B9ZC1TR6MDE".into()),
            at: Some(1_624_695_341),
        };
        assert_eq!(parse(UPDATED.as_bytes()), Ok(Event::Updated(updated)));
        let deleted = User {
            user_id: "user_01E4ZCR3C56J083X43JQXF3JK5".into(),
            event_id: Some("event_01K2S9B4EV6H2P8R3YQ7WN0KAF".into()),
            at: Some(1_624_788_002),
            ..User::default()
        };
        assert_eq!(parse(DELETED.as_bytes()), Ok(Event::Deleted(deleted)));
        // A 33-byte id is read as sent; the mapping fits it to Tencent.
        let long = format!("user_{}", "0".repeat(28));
        let body = DELETED.replace("user_01E4ZCR3C56J083X43JQXF3JK5", &long);
        assert!(
            matches!(parse(body.as_bytes()), Ok(Event::Deleted(u)) if u.user_id == long && long.len() == 33)
        );
        // Signed like any other event.
        let header = signed(1_624_788_002_044, DELETED, KEY);
        assert!(run(Some(&header), DELETED, 1_624_788_002).is_ok());
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
            parse(br#"{"id":"event_1","event":"session.created","data":{"id":"session_1"}}"#)
                .unwrap(),
            Event::Ignored("session.created".into())
        );
        let s = match parse(
            br#"{"id":"event_2","event":"user.created","data":{"id":"user_2","name":"Ada L","email":"ada@x.io","profile_picture_url":null}}"#,
        )
        .unwrap()
        {
            Event::Created(s) => s,
            other => panic!("{other:?}"),
        };
        assert_eq!((s.nick.as_deref(), s.face_url), (Some("Ada L"), None));
        for bad in [
            &b"{}"[..],
            br#"{"event":"user.created"}"#,
            br#"{"event":"user.created","data":{"email":"a@b"}}"#,
            br#"{"event":"user.created","data":{"id":""}}"#,
            br#"{"event":"user.deleted","data":{"object":"user"}}"#,
            br#"{"event":"user.updated"}"#,
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
