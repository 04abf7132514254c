//! Okta Event Hooks: one-time verification challenge, then a shared `Authorization` secret
//! (<https://developer.okta.com/docs/concepts/event-hooks/>).
//!
//! Okta signs nothing: every POST carries the static value registered with the hook in
//! `Authorization`, compared exactly and in constant time. One delivery batches System Log
//! events under `data.events`; each names the user concerned as its `target` of type `User`
//! (the `actor` is whoever acted, e.g. an admin). Read: `user.lifecycle.create` (signup),
//! `user.account.update_profile` (Nick from the target's current `displayName`; the event has
//! no profile diff), and `user.lifecycle.deactivate`, `user.lifecycle.delete.initiated`,
//! `user.lifecycle.delete.completed` (deletion: Okta deactivates a user before deleting them,
//! and a deactivated user can no longer sign in) — names as in Okta's event type catalog
//! (<https://developer.okta.com/docs/reference/api/event-types/>). There is no avatar. The event
//! time is `published`. Retries are byte-identical, so there is no replay key; each event's
//! `uuid` de-duplicates.

use super::{sig, Change, Delivery, Lifecycle, Received, Spec, WebhookError};
use crate::event::{Event, User};
use crate::identity::pick_nick;
use crate::ports::HeaderMap;
use crate::settings::{ConfigError, Settings};
use serde_json::Value;

/// Okta Event Hooks: 3 s per delivery, and a one-time GET challenge.
pub const SPEC: Spec = Spec {
    name: "okta",
    prefix: "OKTA",
    switch: SECRET,
    id_prefixes: &[],
    budget_ms: 2_200,
    success_body: None,
    challenge: Some(challenge),
    lifecycle: Lifecycle {
        created: &["user.lifecycle.create"],
        updated: &["user.account.update_profile"],
        deleted: &[
            "user.lifecycle.deactivate",
            "user.lifecycle.delete.initiated",
            "user.lifecycle.delete.completed",
        ],
    },
};

/// Setting: the Authorization header value registered with the Event Hook.
pub const SECRET: &str = "OKTA_WEBHOOK_SECRET";
/// The System Log event that means "a user was created".
pub const SIGNUP_EVENT: &str = "user.lifecycle.create";
/// The System Log event that means "a user's profile was updated".
pub const UPDATE_EVENT: &str = "user.account.update_profile";
/// The System Log events that end a user's access: deactivation, then deletion.
pub const DELETE_EVENTS: [&str; 3] = [
    "user.lifecycle.deactivate",
    "user.lifecycle.delete.initiated",
    "user.lifecycle.delete.completed",
];

/// The user events we act on, and what each means.
const EVENTS: [(&str, Change); 5] = [
    (SIGNUP_EVENT, Change::Created),
    (UPDATE_EVENT, Change::Updated),
    (DELETE_EVENTS[0], Change::Deleted),
    (DELETE_EVENTS[1], Change::Deleted),
    (DELETE_EVENTS[2], Change::Deleted),
];

/// This provider's settings.
#[derive(Debug)]
pub struct Config {
    secret: sig::RawSecret,
}

/// Reads this provider's settings; `None` when `OKTA_WEBHOOK_SECRET` is unset.
pub fn config(get: &dyn Settings) -> Result<Option<Config>, ConfigError> {
    Ok(sig::RawSecret::setting(get, SECRET).map(|secret| Config { secret }))
}

/// Reads one System Log event.
fn event(e: &Value) -> Result<Event, WebhookError> {
    let kind = super::text_at(e, &["/eventType"])
        .ok_or_else(|| super::malformed("an event without eventType"))?;
    let Some(change) = Change::of(kind, &EVENTS) else {
        return Ok(Event::Ignored(kind.to_owned()));
    };
    let user = e
        .get("target")
        .and_then(Value::as_array)
        .and_then(|targets| {
            targets
                .iter()
                .find(|t| super::text_at(t, &["/type"]) == Some("User"))
        })
        .ok_or_else(|| super::malformed(format!("{kind} without a User target")))?;
    let user_id = super::text_at(user, &["/id"])
        .ok_or_else(|| super::malformed("the User target has no id"))?;
    Ok(change.event(User {
        at: super::time_at(e, &["/published"]),
        user_id: user_id.to_owned(),
        nick: pick_nick(
            None,
            None,
            super::text_at(user, &["/displayName"]),
            super::text_at(user, &["/alternateId"]),
        ),
        face_url: None,
        event_id: super::text_at(e, &["/uuid"]).map(str::to_owned),
    }))
}

/// Reads an Event Hook body (already authenticated): one event per System Log entry.
pub fn parse(body: &[u8]) -> Result<Vec<Event>, WebhookError> {
    let hook: Value = super::from_json(body)
        .map_err(|e| super::malformed(format!("not an Okta event hook: {e}")))?;
    hook.pointer("/data/events")
        .and_then(Value::as_array)
        .ok_or_else(|| super::malformed("no data.events"))?
        .iter()
        .map(|e| Ok(super::or_invalid(event(e))))
        .collect()
}

/// Verifies an Okta delivery and reads it.
pub fn receive(cfg: &Config, d: &Delivery<'_>) -> Result<Received, WebhookError> {
    sig::shared_secret(d.headers, ("authorization", SECRET), &[cfg.secret.as_str()])?;
    Ok(Received {
        events: parse(d.body)?,
        ..Received::default()
    })
}

/// Answers Okta's one-time GET verification: `{"verification": <X-Okta-Verification-Challenge>}`.
pub fn challenge(headers: &dyn HeaderMap) -> Result<String, WebhookError> {
    let value = sig::required(headers, "x-okta-verification-challenge")?;
    Ok(serde_json::json!({ "verification": value }).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body refused whole, or an event of it marked invalid (the batch's others go on).
    fn refused(r: Result<Vec<Event>, WebhookError>) -> bool {
        match r {
            Err(WebhookError::Malformed(_)) => true,
            Ok(events) => events.iter().any(|e| matches!(e, Event::Invalid(_))),
            Err(_) => false,
        }
    }

    /// Constructed from the envelope and LogEvent fields of Okta's "Event hooks" page (the
    /// target structure follows the System Log API): a create and an activate in one batch.
    const DOCUMENTED: &str = include_str!("../../tests/fixtures/okta_user_lifecycle_create.json");
    /// Constructed the same way: one `user.account.update_profile` (the user renamed).
    const UPDATED: &str =
        include_str!("../../tests/fixtures/okta_user_account_update_profile.json");
    /// Constructed the same way: `user.lifecycle.deactivate` then `user.lifecycle.delete.initiated`.
    const DELETED: &str =
        include_str!("../../tests/fixtures/okta_user_lifecycle_deactivate_delete.json");

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
        let created = User {
            at: Some(1_714_564_800),
            user_id: "00u1qw6mqitPHM8AJ0g7".into(),
            nick: Some("Jane Doe".into()),
            face_url: None,
            event_id: Some("c2e8ad2c-07b4-11ef-9f6f-9b1f2ed0b7a1".into()),
        };
        assert_eq!(
            r.events,
            vec![
                Event::Created(created),
                Event::Ignored("user.lifecycle.activate".into())
            ]
        );
        assert_eq!(r.replay_key, None);
    }

    #[test]
    fn documented_update_deactivation_and_deletion() {
        let updated = User {
            user_id: "00u1qw6mqitPHM8AJ0g7".into(),
            nick: Some("Jane Smith".into()),
            face_url: None,
            event_id: Some("5a1c7e20-0858-11ef-8a41-3b6d9c2e4f10".into()),
            at: Some(1_714_638_600),
        };
        assert_eq!(parse(UPDATED.as_bytes()), Ok(vec![Event::Updated(updated)]));
        let gone = |uuid: &str, at: i64| {
            Event::Deleted(User {
                user_id: "00u1qw6mqitPHM8AJ0g7".into(),
                event_id: Some(uuid.into()),
                at: Some(at),
                ..User::default()
            })
        };
        let r = run(Some("okta-s3cret"), DELETED).unwrap();
        assert_eq!(
            r.events,
            vec![
                gone("7e4d9a60-0946-11ef-b3c2-5f8a1d6e2c30", 1_714_754_700),
                gone("7e4d9a61-0946-11ef-b3c2-5f8a1d6e2c30", 1_714_754_702),
            ]
        );
        // delete.completed too; a 33-byte id is read as sent (the mapping fits it to Tencent).
        let long = format!("00u{}", "9".repeat(30));
        let body = DELETED
            .replace(
                "user.lifecycle.deactivate",
                "user.lifecycle.delete.completed",
            )
            .replace("00u1qw6mqitPHM8AJ0g7", &long);
        let events = parse(body.as_bytes()).unwrap();
        assert!(events
            .iter()
            .all(|e| matches!(e, Event::Deleted(u) if u.user_id == long && long.len() == 33)));
        // Suspension is temporary: not a deletion.
        let suspended = UPDATED.replace("user.account.update_profile", "user.lifecycle.suspend");
        assert_eq!(
            parse(suspended.as_bytes()),
            Ok(vec![Event::Ignored("user.lifecycle.suspend".into())])
        );
    }

    #[test]
    fn authorization_must_match_exactly() {
        for wrong in ["okta-s3cre", "Bearer okta-s3cret", "okta-s3cret2"] {
            assert_eq!(
                run(Some(wrong), DOCUMENTED),
                Err(WebhookError::WrongSecret {
                    header: "authorization",
                    setting: SECRET
                }),
                "{wrong}"
            );
        }
        assert_eq!(
            run(None, DOCUMENTED),
            Err(WebhookError::MissingHeader("authorization"))
        );
        assert!(run(Some("nope"), "junk").is_err_and(|e| e.is_auth()));
    }

    #[test]
    fn fallbacks_and_bad_bodies() {
        let events = parse(
            br#"{"data":{"events":[{"eventType":"user.lifecycle.create","uuid":"e1","target":[{"type":"AppInstance","id":"0oa1"},{"type":"User","id":"00u2","alternateId":"neo@x.io","displayName":""}]}]}}"#,
        )
        .unwrap();
        let expected = User {
            at: None,
            user_id: "00u2".into(),
            nick: Some("neo".into()),
            face_url: None,
            event_id: Some("e1".into()),
        };
        assert_eq!(events, vec![Event::Created(expected)]);
        assert_eq!(parse(br#"{"data":{"events":[]}}"#).unwrap(), vec![]);
        for bad in [
            &b"junk"[..],
            b"{}",
            br#"{"data":{"events":{}}}"#,
            br#"{"data":{"events":[{"uuid":"e1"}]}}"#,
            br#"{"data":{"events":[{"eventType":"user.lifecycle.create","target":null}]}}"#,
            br#"{"data":{"events":[{"eventType":"user.lifecycle.create","target":[{"type":"User"}]}]}}"#,
            br#"{"data":{"events":[{"eventType":"user.lifecycle.deactivate","target":[]}]}}"#,
        ] {
            assert!(
                refused(parse(bad)),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn challenge_echoes_the_header() {
        let h: &[(&str, &str)] = &[("X-Okta-Verification-Challenge", "abc")];
        assert_eq!(challenge(&h).unwrap(), r#"{"verification":"abc"}"#);
        assert!(challenge(&&[][..]).is_err());
    }

    #[test]
    fn config_hides_the_secret() {
        assert!(config(&|_: &str| None).unwrap().is_none());
        assert!(!format!("{:?}", cfg()).contains("okta-s3cret"));
    }
}
