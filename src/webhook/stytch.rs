//! Stytch: Svix-signed `*.user.create` events (auth-webhooks.md §6.2).
//!
//! Stytch bodies carry no `type`; the event is `source.object_type.action` (`dashboard.user.create`,
//! `direct.user.create`, ...). A signup is `object_type == "user"` with `action == "CREATE"` from
//! any source. UserID is `user.user_id` (else the top-level `id`); Nick is first + last name, else
//! the first email's local part; FaceUrl is the first OAuth provider's `profile_picture_url`.

use super::{standard, Delivery, Event, Get, HeaderMap, Received, Signup, WebhookError};
use crate::config::ConfigError;
use crate::identity::pick_nick;
use serde::Deserialize;
use serde_json::value::RawValue;

/// Setting: Stytch's `whsec_` signing secret(s), space- or `|`-separated during a rotation.
pub const SECRET: &str = "STYTCH_WEBHOOK_SECRET";

/// Stytch's settings: its signing secret(s).
pub type Config = standard::Signed;

/// Reads Stytch's settings; `None` when `STYTCH_WEBHOOK_SECRET` is unset.
pub fn config(get: Get<'_>) -> Result<Option<Config>, ConfigError> {
    standard::Signed::from_setting(
        get,
        SECRET,
        "expected the whsec_ signing secret from the Stytch dashboard's webhook endpoint",
    )
}

#[derive(Deserialize)]
struct Envelope<'a> {
    source: Option<String>,
    object_type: Option<String>,
    action: Option<String>,
    event_id: Option<String>,
    id: Option<String>,
    // Kept raw so that events about other objects (members, organizations) never fail to parse
    // because their `user` shape differs.
    #[serde(borrow)]
    user: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct User {
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

/// Reads a Stytch event body (already verified); `svix_id` is the fallback de-duplication key.
pub fn parse(body: &[u8], svix_id: Option<String>) -> Result<Event, WebhookError> {
    let env: Envelope = serde_json::from_slice(body)
        .map_err(|e| WebhookError::Malformed(format!("not a Stytch event: {e}")))?;
    let (Some(object_type), Some(action)) = (env.object_type, env.action) else {
        return Err(WebhookError::Malformed("no object_type or action".into()));
    };
    // Stytch writes the action upper-case in bodies and lower-case in its event names; accept both.
    if !(object_type == "user" && action.eq_ignore_ascii_case("CREATE")) {
        let kind = [
            env.source.map(|s| s.to_ascii_lowercase()),
            Some(object_type),
            Some(action.to_ascii_lowercase()),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(".");
        return Ok(Event::Ignored(kind));
    }
    let user: Option<User> = env
        .user
        .map(|raw| serde_json::from_str(raw.get()))
        .transpose()
        .map_err(|e| WebhookError::Malformed(format!("user is not a Stytch user: {e}")))?;
    let (user_id, nick, face_url) = match user {
        Some(u) => {
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
            (non_empty(u.user_id), nick, face_url)
        }
        None => (None, None, None),
    };
    let user_id = user_id
        .or(non_empty(env.id))
        .ok_or_else(|| WebhookError::Malformed("user.user_id and id are missing".into()))?;
    Ok(Event::Signup(Signup {
        user_id,
        nick,
        face_url,
        // The body's event_id and the Svix id are both stable across Svix retries; the body's
        // also survives a manual "replay" from the dashboard, which sends a new Svix message.
        event_id: non_empty(env.event_id).or(svix_id),
    }))
}

/// Verifies a Stytch delivery (Svix headers) and reads it.
pub fn receive<H: HeaderMap + ?Sized>(
    cfg: &Config,
    d: &Delivery<'_, H>,
) -> Result<Received, WebhookError> {
    let parts = cfg.verify(d)?;
    Ok(Received::one(parse(d.body, Some(parts.id.clone()))?).with_replay_key(parts.replay_key()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Svix catalog's `dashboard.user.create` example (auth-webhooks.md §6.2c).
    const DOCUMENTED: &str = include_str!("../../tests/fixtures/stytch_user_create.json");
    const KEY: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn signup(body: &str) -> Signup {
        match parse(body.as_bytes(), Some("msg_1".into())).unwrap() {
            Event::Signup(s) => s,
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
        let update = DOCUMENTED.replace("\"CREATE\"", "\"UPDATE\"");
        assert_eq!(
            parse(update.as_bytes(), None).unwrap(),
            Event::Ignored("dashboard.user.update".into())
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
        assert!(matches!(&r.events[..], [Event::Signup(s)] if s.user_id.starts_with("user-test-")));
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
            headers: h,
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
