//! Okta Event Hooks: one-time verification challenge, then a shared `Authorization` secret (auth-webhooks.md §6.5).
//!
//! Okta signs nothing: every POST carries the static value registered with the hook in
//! `Authorization`, compared exactly and in constant time. One delivery batches System Log
//! events under `data.events`; each `user.lifecycle.create` names the new user as its `target`
//! of type `User` (the `actor` is whoever created them). There is no avatar. Retries are
//! byte-identical, so there is no replay key; each event's `uuid` de-duplicates.

use super::{sig, Delivery, Event, Get, HeaderMap, Received, Signup, WebhookError};
use crate::config::ConfigError;
use crate::identity::pick_nick;
use serde_json::Value;

/// Setting: the Authorization header value registered with the Event Hook.
pub const SECRET: &str = "OKTA_WEBHOOK_SECRET";
/// The System Log event that means "a user was created".
pub const SIGNUP_EVENT: &str = "user.lifecycle.create";

/// This provider's settings.
#[derive(Debug)]
pub struct Config {
    secret: sig::RawSecret,
}

/// Reads this provider's settings; `None` when `OKTA_WEBHOOK_SECRET` is unset.
pub fn config(get: Get<'_>) -> Result<Option<Config>, ConfigError> {
    Ok(sig::RawSecret::setting(get, SECRET).map(|secret| Config { secret }))
}

/// Reads one System Log event.
fn event(e: &Value) -> Result<Event, WebhookError> {
    let kind = sig::text_at(e, &["/eventType"])
        .ok_or_else(|| super::malformed("an event without eventType"))?;
    if kind != SIGNUP_EVENT {
        return Ok(Event::Ignored(kind.to_owned()));
    }
    let user = e
        .get("target")
        .and_then(Value::as_array)
        .and_then(|targets| {
            targets
                .iter()
                .find(|t| sig::text_at(t, &["/type"]) == Some("User"))
        })
        .ok_or_else(|| super::malformed("user.lifecycle.create without a User target"))?;
    let user_id = sig::text_at(user, &["/id"])
        .ok_or_else(|| super::malformed("the User target has no id"))?;
    Ok(Event::Signup(Signup {
        user_id: user_id.to_owned(),
        nick: pick_nick(
            None,
            None,
            sig::text_at(user, &["/displayName"]),
            sig::text_at(user, &["/alternateId"]),
        ),
        face_url: None,
        event_id: sig::text_at(e, &["/uuid"]).map(str::to_owned),
    }))
}

/// Reads an Event Hook body (already authenticated): one event per System Log entry.
pub fn parse(body: &[u8]) -> Result<Vec<Event>, WebhookError> {
    let hook: Value = serde_json::from_slice(body)
        .map_err(|e| super::malformed(format!("not an Okta event hook: {e}")))?;
    hook.pointer("/data/events")
        .and_then(Value::as_array)
        .ok_or_else(|| super::malformed("no data.events"))?
        .iter()
        .map(event)
        .collect()
}

/// Verifies an Okta delivery and reads it.
pub fn receive<H: HeaderMap + ?Sized>(
    cfg: &Config,
    d: &Delivery<'_, H>,
) -> Result<Received, WebhookError> {
    sig::shared_secret(d.headers, "authorization", &[cfg.secret.as_str()])?;
    Ok(Received {
        events: parse(d.body)?,
        replay_key: None,
    })
}

/// Answers Okta's one-time GET verification: `{"verification": <X-Okta-Verification-Challenge>}`.
pub fn challenge<H: HeaderMap + ?Sized>(headers: &H) -> Result<String, WebhookError> {
    let value = sig::required(headers, "x-okta-verification-challenge")?;
    Ok(serde_json::json!({ "verification": value }).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Constructed from the abridged envelope and LogEvent fields in auth-webhooks.md §6.5 (the
    /// target structure follows the System Log API): a create and an activate in one batch.
    const DOCUMENTED: &str = include_str!("../../tests/fixtures/okta_user_lifecycle_create.json");

    fn cfg() -> Config {
        config(&|k: &str| (k == SECRET).then(|| "okta-s3cret".to_owned()))
            .unwrap()
            .unwrap()
    }

    fn run(auth: Option<&str>, body: &str) -> Result<Received, WebhookError> {
        let h = auth.map(|v| ("Authorization", v));
        sig::deliver(h, body, 0, |d| receive(&cfg(), d))
    }

    #[test]
    fn documented_batch() {
        let r = run(Some("okta-s3cret"), DOCUMENTED).unwrap();
        let created = Signup {
            user_id: "00u1qw6mqitPHM8AJ0g7".into(),
            nick: Some("Jane Doe".into()),
            face_url: None,
            event_id: Some("c2e8ad2c-07b4-11ef-9f6f-9b1f2ed0b7a1".into()),
        };
        assert_eq!(
            r.events,
            vec![
                Event::Signup(created),
                Event::Ignored("user.lifecycle.activate".into())
            ]
        );
        assert_eq!(r.replay_key, None);
    }

    #[test]
    fn authorization_must_match_exactly() {
        for wrong in ["okta-s3cre", "Bearer okta-s3cret", "okta-s3cret2"] {
            assert_eq!(
                run(Some(wrong), DOCUMENTED),
                Err(WebhookError::BadSignature),
                "{wrong}"
            );
        }
        assert_eq!(
            run(None, DOCUMENTED),
            Err(WebhookError::MissingHeader("authorization"))
        );
        assert_eq!(run(Some("nope"), "junk"), Err(WebhookError::BadSignature));
    }

    #[test]
    fn fallbacks_and_bad_bodies() {
        let events = parse(
            br#"{"data":{"events":[{"eventType":"user.lifecycle.create","uuid":"e1","target":[{"type":"AppInstance","id":"0oa1"},{"type":"User","id":"00u2","alternateId":"neo@x.io","displayName":""}]}]}}"#,
        )
        .unwrap();
        let expected = Signup {
            user_id: "00u2".into(),
            nick: Some("neo".into()),
            face_url: None,
            event_id: Some("e1".into()),
        };
        assert_eq!(events, vec![Event::Signup(expected)]);
        assert_eq!(parse(br#"{"data":{"events":[]}}"#).unwrap(), vec![]);
        for bad in [
            &b"junk"[..],
            b"{}",
            br#"{"data":{"events":{}}}"#,
            br#"{"data":{"events":[{"uuid":"e1"}]}}"#,
            br#"{"data":{"events":[{"eventType":"user.lifecycle.create","target":null}]}}"#,
            br#"{"data":{"events":[{"eventType":"user.lifecycle.create","target":[{"type":"User"}]}]}}"#,
        ] {
            assert!(
                matches!(parse(bad), Err(WebhookError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn challenge_echoes_the_header() {
        let h: &[(&str, &str)] = &[("X-Okta-Verification-Challenge", "abc")];
        assert_eq!(challenge(h).unwrap(), r#"{"verification":"abc"}"#);
        assert!(challenge(&[][..]).is_err());
    }

    #[test]
    fn config_hides_the_secret() {
        assert!(config(&|_: &str| None).unwrap().is_none());
        assert!(!format!("{:?}", cfg()).contains("okta-s3cret"));
    }
}
