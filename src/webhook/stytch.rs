//! Stytch: Svix-signed `*.user.create`, `*.user.update` and `*.user.delete` events
//! (<https://stytch.com/docs/workspace-management/webhooks>).
//!
//! Stytch bodies carry no `type`; the event is `source.object_type.action` (`dashboard.user.create`,
//! `direct.user.update`, `scim.user.delete`, ...). A user event is `object_type == "user"`, from
//! any source, with `action` `CREATE`, `UPDATE` or `DELETE`. UserID is `user.user_id` (else the
//! top-level `id`, all a delete carries); Nick is first + last name, else the first email's local
//! part; FaceUrl is the first OAuth provider's `profile_picture_url`. Updates carry the whole
//! user. The event time is the body's `timestamp`.

use super::{
    sig, standard, Change, Delivery, Lifecycle, Received, Spec, WebhookError, DEFAULT_BUDGET_MS,
};
use crate::event::{Event, User};
use crate::identity::pick_nick;
use crate::settings::{ConfigError, Settings};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

/// Stytch (Svix-signed).
pub const SPEC: Spec = Spec {
    name: "stytch",
    prefix: "STYTCH",
    switch: SECRET,
    id_prefixes: &["user-test-", "user-live-"],
    budget_ms: DEFAULT_BUDGET_MS,
    success_body: None,
    challenge: None,
    lifecycle: Lifecycle {
        created: &["*.user.create"],
        updated: &["*.user.update"],
        deleted: &["*.user.delete"],
    },
};

/// Setting: Stytch's `whsec_` signing secret(s), space- or `|`-separated during a rotation.
pub const SECRET: &str = "STYTCH_WEBHOOK_SECRET";

/// Stytch's settings: its signing secret(s).
pub type Config = standard::Signed;

/// Reads Stytch's settings; `None` when `STYTCH_WEBHOOK_SECRET` is unset.
pub fn config(get: &dyn Settings) -> Result<Option<Config>, ConfigError> {
    standard::Signed::from_setting(
        get,
        SECRET,
        "expected the whsec_ signing secret from the Stytch dashboard's webhook endpoint",
    )
}

/// The actions Stytch documents for users (upper-case in bodies, lower-case in event names).
const ACTIONS: [(&str, Change); 3] = [
    ("CREATE", Change::Created),
    ("UPDATE", Change::Updated),
    ("DELETE", Change::Deleted),
];

#[derive(Deserialize)]
struct Envelope<'a> {
    source: Option<String>,
    object_type: Option<String>,
    action: Option<String>,
    event_id: Option<String>,
    id: Option<String>,
    // ISO 8601; kept loose so that an odd value costs the time, not the event.
    #[serde(default)]
    timestamp: Value,
    // Kept raw so that events about other objects (members, organizations) never fail to parse
    // because their `user` shape differs.
    #[serde(borrow)]
    user: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct RawUser {
    user_id: Option<String>,
    name: Option<Name>,
    emails: Option<Vec<Email>>,
    providers: Option<Vec<OAuthProvider>>,
}

#[derive(Deserialize)]
struct Name {
    first_name: Option<String>,
    last_name: Option<String>,
}

#[derive(Deserialize)]
struct Email {
    email: Option<String>,
}

#[derive(Deserialize)]
struct OAuthProvider {
    profile_picture_url: Option<String>,
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

/// The event name Stytch's docs use: `source.object_type.action`, lower-case.
fn event_name(source: Option<String>, object_type: String, action: &str) -> String {
    [
        source.map(|s| s.to_ascii_lowercase()),
        Some(object_type),
        Some(action.to_ascii_lowercase()),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(".")
}

/// The user's id (absent: use the top-level `id`) and profile from the `user` object.
fn read_user(raw: &RawValue) -> Result<User, WebhookError> {
    let u: RawUser = serde_json::from_slice(raw.get().as_bytes())
        .map_err(|e| super::malformed(format!("user is not a Stytch user: {e}")))?;
    let email = u
        .emails
        .as_deref()
        .and_then(<[Email]>::first)
        .and_then(|e| e.email.as_deref());
    let nick = pick_nick(
        u.name.as_ref().and_then(|n| n.first_name.as_deref()),
        u.name.as_ref().and_then(|n| n.last_name.as_deref()),
        None,
        email,
    );
    let face_url = u
        .providers
        .unwrap_or_default()
        .into_iter()
        .find_map(|p| non_empty(p.profile_picture_url));
    Ok(User {
        user_id: non_empty(u.user_id).unwrap_or_default(),
        nick,
        face_url,
        ..User::default()
    })
}

/// Reads a Stytch event body (already verified); `svix_id` is the fallback de-duplication key.
pub fn parse(body: &[u8], svix_id: Option<String>) -> Result<Event, WebhookError> {
    let env: Envelope = serde_json::from_slice(body)
        .map_err(|e| super::malformed(format!("not a Stytch event: {e}")))?;
    let (Some(object_type), Some(action)) = (env.object_type, env.action) else {
        return Err(super::malformed("no object_type or action"));
    };
    let change = Change::of(&action.to_ascii_uppercase(), &ACTIONS);
    let Some(change) = change.filter(|_| object_type == "user") else {
        return Ok(Event::Ignored(event_name(env.source, object_type, &action)));
    };
    let user = env.user.map(read_user).transpose()?.unwrap_or_default();
    let user_id = non_empty(Some(user.user_id))
        .or(non_empty(env.id))
        .ok_or_else(|| super::malformed("user.user_id and id are missing"))?;
    Ok(change.event(User {
        user_id,
        // The body's event_id and the Svix id are both stable across Svix retries; the body's
        // also survives a manual "replay" from the dashboard, which sends a new Svix message.
        event_id: non_empty(env.event_id).or(svix_id),
        at: env.timestamp.as_str().and_then(sig::iso8601_seconds),
        ..user
    }))
}

/// Verifies a Stytch delivery (Svix headers) and reads it.
pub fn receive(cfg: &Config, d: &Delivery<'_>) -> Result<Received, WebhookError> {
    let parts = cfg.verify(d)?;
    Ok(Received::one(parse(d.body, Some(parts.id.clone()))?).with_replay_key(parts.replay_key()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `dashboard.user.create` example in Stytch's Svix event catalog
    /// (<https://www.svix.com/event-types/us/org_2olWIePjxAFYube1xW8DoQUEnyY>).
    const DOCUMENTED: &str = include_str!("../../tests/fixtures/stytch_user_create.json");
    /// The catalog's `dashboard.user.update` example (the same user, `action: UPDATE`).
    const UPDATED: &str = include_str!("../../tests/fixtures/stytch_user_update.json");
    /// The catalog's `dashboard.user.delete` example: no `user`, only the top-level `id`.
    const DELETED: &str = include_str!("../../tests/fixtures/stytch_user_delete.json");
    /// `timestamp` of the catalog examples.
    const AT: i64 = 1_732_171_669;
    const KEY: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn signup(body: &str) -> User {
        match parse(body.as_bytes(), Some("msg_1".into())).unwrap() {
            Event::Created(s) => s,
            other => panic!("{other:?}"),
        }
    }

    fn cfg() -> Config {
        let get = |k: &str| (k == SECRET).then(|| KEY.to_owned());
        config(&get).unwrap().unwrap()
    }

    fn deliver(body: &[u8], sig: &str, ts: &str, now: i64) -> Result<Received, WebhookError> {
        let h = [
            ("svix-id", "msg_1"),
            ("svix-timestamp", ts),
            ("svix-signature", sig),
        ];
        super::super::sig::deliver(h, body, now, |d| receive(&cfg(), d))
    }

    #[test]
    fn documented_payload() {
        let s = signup(DOCUMENTED);
        assert_eq!(s.user_id, "user-test-00000000-0000-0000-0000-000000000000");
        assert_eq!(s.nick.as_deref(), Some("Ada Lovelace"));
        assert_eq!(s.face_url, None);
        assert_eq!(
            s.event_id.as_deref(),
            Some("webhook-event-test-00000000-0000-0000-0000-000000000000")
        );
        assert_eq!(s.at, Some(AT));
    }

    #[test]
    fn documented_update_and_delete() {
        let user = User {
            user_id: "user-test-00000000-0000-0000-0000-000000000000".into(),
            nick: Some("Ada Lovelace".into()),
            face_url: None,
            event_id: Some("webhook-event-test-00000000-0000-0000-0000-000000000000".into()),
            at: Some(AT),
        };
        assert_eq!(
            parse(UPDATED.as_bytes(), None),
            Ok(Event::Updated(user.clone()))
        );
        let deleted = User { nick: None, ..user };
        assert_eq!(parse(DELETED.as_bytes(), None), Ok(Event::Deleted(deleted)));
        // Any source, either case; a 33-byte id is read as sent (the mapping fits it to Tencent).
        let long = format!("user-live-{}", "0".repeat(23));
        let scim = DELETED
            .replace("DASHBOARD", "SCIM")
            .replace("\"DELETE\"", "\"delete\"")
            .replace("user-test-00000000-0000-0000-0000-000000000000", &long);
        assert!(
            matches!(parse(scim.as_bytes(), None), Ok(Event::Deleted(u)) if u.user_id == long && long.len() == 33)
        );
    }

    #[test]
    fn fallbacks_for_id_nick_avatar_and_event_id() {
        let s = signup(
            r#"{"action":"CREATE","object_type":"user","source":"DIRECT","id":"user-live-1",
                "user":{"name":null,"emails":[{"email":"grace@x.io"},{"email":"b@x.io"}],
                "providers":[{"profile_picture_url":""},{"profile_picture_url":"https://p/g.png"}]}}"#,
        );
        assert_eq!(s.user_id, "user-live-1");
        assert_eq!(s.nick.as_deref(), Some("grace"));
        assert_eq!(s.face_url.as_deref(), Some("https://p/g.png"));
        assert_eq!(s.event_id.as_deref(), Some("msg_1"));
        let s = signup(
            r#"{"action":"create","object_type":"user","user":{"user_id":"user-live-2","emails":null,"providers":null}}"#,
        );
        assert_eq!((s.user_id.as_str(), s.nick), ("user-live-2", None));
    }

    #[test]
    fn other_events_are_ignored_and_bad_bodies_refused() {
        let merge = DOCUMENTED.replace("\"CREATE\"", "\"MERGE\"");
        assert_eq!(
            parse(merge.as_bytes(), None).unwrap(),
            Event::Ignored("dashboard.user.merge".into())
        );
        assert_eq!(
            parse(
                br#"{"action":"CREATE","object_type":"member","source":"DIRECT","user":[1]}"#,
                None
            )
            .unwrap(),
            Event::Ignored("direct.member.create".into())
        );
        for bad in [
            &b"not json"[..],
            b"{}",
            b"[]",
            br#"{"action":"CREATE"}"#,
            br#"{"action":"CREATE","object_type":"user"}"#,
            br#"{"action":"CREATE","object_type":"user","id":"","user":{"user_id":""}}"#,
            br#"{"action":"CREATE","object_type":"user","user":{"user_id":7}}"#,
            br#"{"action":"CREATE","object_type":"user","user":"x"}"#,
            br#"{"action":"DELETE","object_type":"user","source":"DIRECT"}"#,
        ] {
            assert!(
                matches!(parse(bad, None), Err(WebhookError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn receive_verifies_before_parsing() {
        let secret = standard::Secret::parse(KEY).unwrap();
        let body = DOCUMENTED.as_bytes();
        let sig = secret.sign("msg_1", 1000, body);
        let r = deliver(body, &sig, "1000", 1010).unwrap();
        assert_eq!(r.replay_key.as_deref(), Some("msg_1.1000"));
        assert!(
            matches!(&r.events[..], [Event::Created(s)] if s.user_id.starts_with("user-test-"))
        );
        // Forged: not even JSON, yet the signature check runs first.
        assert_eq!(
            deliver(b"garbage", &sig, "1000", 1000),
            Err(WebhookError::BadSignature)
        );
        // Wrong key.
        let other = standard::Secret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        assert_eq!(
            deliver(body, &other.sign("msg_1", 1000, body), "1000", 1000),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            deliver(body, &sig, "1000", 1301),
            Err(WebhookError::StaleTimestamp(301))
        );
        let h: &[(&str, &str)] = &[("svix-id", "msg_1"), ("svix-signature", &sig)];
        let d = Delivery {
            headers: &h,
            body,
            now: 1000,
        };
        assert_eq!(
            receive(&cfg(), &d),
            Err(WebhookError::MissingHeader("webhook-timestamp"))
        );
        // Signed, but not JSON: the sender's problem, reported as 400.
        let sig = secret.sign("msg_1", 1000, b"[");
        assert!(matches!(
            deliver(b"[", &sig, "1000", 1000),
            Err(WebhookError::Malformed(_))
        ));
    }

    #[test]
    fn config_names_the_variable_and_hides_the_secret() {
        assert!(config(&|_: &str| None).unwrap().is_none());
        let bad = |_: &str| Some("not-a-secret!".to_owned());
        assert_eq!(config(&bad).unwrap_err().var(), SECRET);
        assert!(!format!("{:?}", cfg()).contains("MfKQ"));
    }
}
