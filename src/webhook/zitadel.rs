//! ZITADEL Actions v2 event executions, signed `ZITADEL-Signature: t=<s>,v1=<hex>`
//! (<https://zitadel.com/docs/guides/integrate/actions/testing-request-signature>,
//! <https://zitadel.com/docs/guides/integrate/actions/testing-event>).
//!
//! The MAC is hex HMAC-SHA256 over `"{t}.{body}"`, keyed with the target's signing key as UTF-8;
//! several `v1` entries appear while ZITADEL rotates keys; 300 s of skew either way. Each call is
//! signed afresh, so the signed attempt is a replay key; `{aggregateID}:{sequence}` names the event.
//!
//! New users arrive as `user.human.added` (created by an admin or the API) or
//! `user.human.selfregistered` (the hosted login's registration form); both carry the same profile.
//! Profile changes arrive as `user.human.profile.changed`, whose payload holds only the changed
//! fields (`firstName`, `lastName`, `nickName`, `displayName`, ...): humans always have both
//! names, so the Nick is first + last name and is only sent on when both changed together (a
//! change of one name alone leaves the Nick as it was). Deletions arrive as `user.removed`
//! (empty payload). Avatar events carry only a storage key, not a URL, and are ignored; so is
//! `user.human.email.changed` (an email never decides a Nick when both names exist). Event
//! types from ZITADEL's `internal/repository/user` (<https://github.com/zitadel/zitadel>).
//!
//! The user concerned is always the event's aggregate (`aggregateID`): the envelope's `userID`
//! is whoever caused the event (an admin, for `added`), so it is never used as the user's id.
//! The event time is the envelope's `created_at`.

use super::{sig, Change, Delivery, Lifecycle, Received, Spec, WebhookError, DEFAULT_BUDGET_MS};
use crate::event::{Event, User};
use crate::identity::pick_nick;
use crate::settings::{ConfigError, Settings};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Deserialize;
use serde_json::Value;

/// ZITADEL Actions v2.
pub const SPEC: Spec = Spec {
    name: "zitadel",
    prefix: "ZITADEL",
    switch: SECRET,
    id_prefixes: &[],
    budget_ms: DEFAULT_BUDGET_MS,
    success_body: None,
    challenge: None,
    lifecycle: Lifecycle {
        created: &["user.human.added", "user.human.selfregistered"],
        updated: &["user.human.profile.changed"],
        deleted: &["user.removed"],
    },
};

/// Setting: the target's `signingKey` returned when the target was created, used as raw UTF-8.
pub const SECRET: &str = "ZITADEL_SIGNING_KEY";
/// The event types that mean "a new user exists".
pub const SIGNUP_EVENTS: [&str; 2] = ["user.human.added", "user.human.selfregistered"];
/// The event type that means "a human's profile changed" (only changed fields in the payload).
pub const UPDATE_EVENT: &str = "user.human.profile.changed";
/// The event type that means "a user was removed".
pub const DELETE_EVENT: &str = "user.removed";

/// The user events we act on, and what each means.
const EVENTS: [(&str, Change); 4] = [
    (SIGNUP_EVENTS[0], Change::Created),
    (SIGNUP_EVENTS[1], Change::Created),
    (UPDATE_EVENT, Change::Updated),
    (DELETE_EVENT, Change::Deleted),
];

/// How ZITADEL signs: seconds, 5 minutes (`DefaultTolerance`).
const SCHEME: sig::TimestampedHmac = sig::TimestampedHmac {
    header: "zitadel-signature",
    units_per_second: 1,
    tolerance_s: 300,
};

/// This provider's settings.
#[derive(Debug)]
pub struct Config {
    key: sig::RawSecret,
}

/// Reads this provider's settings; `None` when `ZITADEL_SIGNING_KEY` is unset.
pub fn config(get: &dyn Settings) -> Result<Option<Config>, ConfigError> {
    Ok(sig::RawSecret::setting(get, SECRET).map(|key| Config { key }))
}

#[derive(Deserialize)]
struct Envelope {
    event_type: Option<String>,
    #[serde(rename = "aggregateID")]
    aggregate_id: Option<String>,
    sequence: Option<Value>,
    #[serde(default)]
    created_at: Value,
    #[serde(default)]
    event_payload: Value,
}

/// The event payload as an object. Versions before the April 2025 serialisation fix sent it
/// base64-encoded; a payload we cannot read costs the profile, not the user.
fn payload_object(raw: Value) -> Value {
    match raw {
        Value::String(b64) => STANDARD
            .decode(b64.trim())
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or(Value::Null),
        other => other,
    }
}

/// The Nick of a new user's profile. Events from the v2 user API nest it; the eventstore's own
/// events are flat.
fn signup_nick(p: &Value) -> Option<String> {
    pick_nick(
        super::text_at(p, &["/firstName", "/profile/givenName"]),
        super::text_at(p, &["/lastName", "/profile/familyName"]),
        super::text_at(
            p,
            &[
                "/displayName",
                "/profile/displayName",
                "/nickName",
                "/profile/nickName",
                "/userName",
                "/username",
            ],
        ),
        super::text_at(p, &["/email", "/email/email"]),
    )
}

/// The Nick a profile change sets: first + last name when both changed, else none (unchanged).
fn changed_nick(p: &Value) -> Option<String> {
    match (
        super::text_at(p, &["/firstName"]),
        super::text_at(p, &["/lastName"]),
    ) {
        (Some(first), Some(last)) => pick_nick(Some(first), Some(last), None, None),
        _ => None,
    }
}

/// Reads an event execution body (already verified).
pub fn parse(body: &[u8]) -> Result<Event, WebhookError> {
    let env: Envelope = super::from_json(body)
        .map_err(|e| super::malformed(format!("not a ZITADEL event: {e}")))?;
    let kind = env
        .event_type
        .ok_or_else(|| super::malformed("no event_type"))?;
    let Some(change) = Change::of(&kind, &EVENTS) else {
        return Ok(Event::Ignored(kind));
    };
    let user_id = env
        .aggregate_id
        .filter(|id| !id.is_empty())
        .ok_or_else(|| super::malformed("aggregateID is missing"))?;
    let p = payload_object(env.event_payload);
    let nick = match change {
        Change::Created => signup_nick(&p),
        Change::Updated | Change::Deleted => changed_nick(&p),
    };
    let sequence = match env.sequence {
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    };
    Ok(change.event(User {
        at: env.created_at.as_str().and_then(sig::iso8601_seconds),
        event_id: sequence.map(|s| format!("{user_id}:{s}")),
        user_id,
        nick,
        face_url: None,
    }))
}

/// Verifies a ZITADEL delivery and reads it.
pub fn receive(cfg: &Config, d: &Delivery<'_>) -> Result<Received, WebhookError> {
    let replay_key = SCHEME.verify(d.headers, cfg.key.as_str().as_bytes(), d.body, d.now)?;
    Ok(Received::one(parse(d.body)?).with_replay_key(replay_key))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The envelope of ZITADEL's own `user.human.added` sample (zitadel/zitadel PR #10651, whose
    /// payload was empty because of the bug it fixes), with the payload filled in from the JSON
    /// tags of `HumanAddedEvent`. Constructed: ZITADEL's docs give no verbatim sample.
    const DOCUMENTED: &str = include_str!("../../tests/fixtures/zitadel_user_human_added.json");
    /// Constructed the same way: `user.human.profile.changed` by the same admin, its payload
    /// the changed fields under the JSON tags of `HumanProfileChangedEvent`.
    const UPDATED: &str =
        include_str!("../../tests/fixtures/zitadel_user_human_profile_changed.json");
    /// Constructed the same way: `user.removed`, whose payload is empty.
    const DELETED: &str = include_str!("../../tests/fixtures/zitadel_user_removed.json");
    const KEY: &str = "somekey";
    const T: i64 = 1_757_062_536;

    fn cfg() -> Config {
        config(&|k: &str| (k == SECRET).then(|| KEY.to_owned()))
            .unwrap()
            .unwrap()
    }

    /// ZITADEL's `v1` for one key.
    fn v1(t: i64, body: &str, key: &str) -> String {
        let msg = format!("{t}.{body}");
        crate::crypto::hex_encode(&crate::crypto::hmac_sha256(
            key.as_bytes(),
            &[msg.as_bytes()],
        ))
    }

    fn run(header: Option<&str>, body: &str, now: i64) -> Result<Received, WebhookError> {
        let h = header.map(|v| ("ZITADEL-Signature", v));
        sig::deliver(h, body, now, |d| receive(&cfg(), d))
    }

    fn signup(body: &str) -> User {
        match parse(body.as_bytes()).unwrap() {
            Event::Created(s) => s,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn documented_payload() {
        let good = v1(T, DOCUMENTED, KEY);
        let r = run(Some(&format!("t={T},v1={good}")), DOCUMENTED, T).unwrap();
        let expected = User {
            at: Some(T),
            user_id: "336494809936035843".into(),
            nick: Some("Minnie Mouse".into()),
            face_url: None,
            event_id: Some("336494809936035843:1".into()),
        };
        assert_eq!(r.events, vec![Event::Created(expected)]);
        assert_eq!(r.replay_key, Some(format!("{T}.{good}")));
    }

    #[test]
    fn documented_profile_change_and_removal() {
        let updated = User {
            user_id: "336494809936035843".into(),
            nick: Some("Minerva Maus".into()),
            face_url: None,
            event_id: Some("336494809936035843:4".into()),
            at: Some(1_757_153_702),
        };
        assert_eq!(parse(UPDATED.as_bytes()), Ok(Event::Updated(updated)));
        let removed = User {
            user_id: "336494809936035843".into(),
            event_id: Some("336494809936035843:5".into()),
            at: Some(1_757_263_211),
            ..User::default()
        };
        let t = 1_757_263_212;
        let header = format!("t={t},v1={}", v1(t, DELETED, KEY));
        let r = run(Some(&header), DELETED, t).unwrap();
        assert_eq!(r.events, vec![Event::Deleted(removed)]);
        // One name alone cannot make the Nick: the update carries none (the Nick stays).
        let one = UPDATED.replace(r#""lastName": "Maus","#, "");
        assert!(matches!(parse(one.as_bytes()), Ok(Event::Updated(u)) if u.nick.is_none()));
        // Never the editor's id; a 33-byte aggregate id is read as sent.
        let long = "3".repeat(33);
        let body = DELETED.replace("336494809936035843", &long);
        assert!(matches!(parse(body.as_bytes()), Ok(Event::Deleted(u)) if u.user_id == long));
        let editor_only = DELETED.replace(r#""aggregateID": "336494809936035843","#, "");
        assert!(matches!(
            parse(editor_only.as_bytes()),
            Err(WebhookError::Malformed(_))
        ));
        for ignored in [
            "user.human.avatar.added",
            "user.human.email.changed",
            "user.locked",
        ] {
            let body = UPDATED.replace("user.human.profile.changed", ignored);
            assert_eq!(parse(body.as_bytes()), Ok(Event::Ignored(ignored.into())));
        }
    }

    #[test]
    fn rotation_forgery_staleness_and_missing_header() {
        let good = v1(T, DOCUMENTED, KEY);
        let old = v1(T, DOCUMENTED, "oldkey");
        // During a key rotation ZITADEL sends one v1 per key, ours in any position.
        let rotating = format!("t={T},v1={old},v1={good}");
        assert!(run(Some(&rotating), DOCUMENTED, T).is_ok());
        assert_eq!(
            run(Some(&format!("t={T},v1={old}")), DOCUMENTED, T),
            Err(WebhookError::BadSignature)
        );
        let forged = DOCUMENTED.replace("336494809936035843", "1");
        assert_eq!(
            run(Some(&format!("t={T},v1={good}")), &forged, T),
            Err(WebhookError::BadSignature)
        );
        // Claiming another time with the same MAC fails: `t` is signed.
        assert_eq!(
            run(Some(&format!("t={},v1={good}", T + 1)), DOCUMENTED, T),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            run(Some(&format!("t={T},v1={good}")), DOCUMENTED, T + 301),
            Err(WebhookError::StaleTimestamp(301))
        );
        assert_eq!(
            run(Some(&format!("t={T},v1={good}")), DOCUMENTED, T - 301),
            Err(WebhookError::StaleTimestamp(-301))
        );
        assert_eq!(
            run(None, DOCUMENTED, T),
            Err(WebhookError::MissingHeader("zitadel-signature"))
        );
    }

    #[test]
    fn self_registration_nested_and_base64_payloads() {
        let s = signup(
            r#"{"aggregateID":"42","sequence":"7","event_type":"user.human.selfregistered","event_payload":{"profile":{"givenName":"Ada","familyName":"L"},"email":{"email":"ada@x.io"}}}"#,
        );
        assert_eq!(
            (s.user_id.as_str(), s.nick.as_deref(), s.event_id.as_deref()),
            ("42", Some("Ada L"), Some("42:7"))
        );
        let b64 = STANDARD.encode(r#"{"userName":"neo","email":"n@x.io"}"#);
        let s = signup(&format!(
            r#"{{"aggregateID":"43","sequence":2,"event_type":"user.human.added","event_payload":"{b64}"}}"#
        ));
        assert_eq!(s.nick.as_deref(), Some("neo"));
        // ZITADEL 4.1.0 sent an empty payload; the user is still imported, without a Nick.
        let s = signup(
            r#"{"aggregateID":"44","userID":"admin","sequence":1,"event_type":"user.human.added","event_payload":{}}"#,
        );
        assert_eq!((s.user_id.as_str(), s.nick), ("44", None));
        let s =
            signup(r#"{"aggregateID":"45","event_type":"user.human.added","event_payload":"%%%"}"#);
        assert_eq!((s.nick, s.event_id), (None, None));
    }

    #[test]
    fn other_events_and_bad_bodies() {
        assert_eq!(
            parse(br#"{"aggregateID":"1","event_type":"user.human.email.code.added"}"#).unwrap(),
            Event::Ignored("user.human.email.code.added".into())
        );
        for bad in [
            &b"junk"[..],
            b"{}",
            // Not the editor's id in place of the new user's.
            br#"{"userID":"336392597046755331","event_type":"user.human.added"}"#,
            br#"{"aggregateID":"","event_type":"user.human.added"}"#,
        ] {
            assert!(
                matches!(parse(bad), Err(WebhookError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn config_hides_the_key() {
        assert!(config(&|_: &str| None).unwrap().is_none());
        assert!(!format!("{:?}", cfg()).contains(KEY));
    }
}
