//! Clerk: Svix-signed `user.created` events (auth-webhooks.md §1).
//!
//! UserID is `data.id`; Nick is first + last name, else username, else the primary email's local
//! part; FaceUrl is `data.image_url` (the older `profile_image_url` when that is absent).

use super::{standard, Delivery, Event, Get, HeaderMap, Received, Signup, WebhookError};
use crate::config::ConfigError;
use crate::identity::pick_nick;
use serde::Deserialize;
use serde_json::value::RawValue;

/// The event that means "a new user registered".
pub const SIGNUP_EVENT: &str = "user.created";
/// Setting: Clerk's `whsec_` signing secret(s), space-separated during a rotation.
pub const SECRET: &str = "CLERK_WEBHOOK_SECRET";

/// Clerk's settings: its signing secret(s).
pub type Config = standard::Signed;

/// Reads Clerk's settings; `None` when `CLERK_WEBHOOK_SECRET` is unset.
pub fn config(get: Get<'_>) -> Result<Option<Config>, ConfigError> {
    standard::Signed::from_setting(
        get,
        SECRET,
        "expected the whsec_ signing secret from the Clerk dashboard",
    )
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct User {
    id: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    username: Option<String>,
    image_url: Option<String>,
    profile_image_url: Option<String>,
    primary_email_address_id: Option<String>,
    #[serde(default)]
    email_addresses: Vec<Email>,
}

#[derive(Deserialize)]
struct Email {
    id: Option<String>,
    email_address: Option<String>,
}

/// Reads a Clerk event body (already verified); `event_id` is the Svix message id.
pub fn parse(body: &[u8], event_id: Option<String>) -> Result<Event, WebhookError> {
    let env: Envelope = serde_json::from_slice(body)
        .map_err(|e| WebhookError::Malformed(format!("not a Clerk event: {e}")))?;
    let kind = env
        .kind
        .ok_or_else(|| WebhookError::Malformed("no event type".into()))?;
    if kind != SIGNUP_EVENT {
        return Ok(Event::Ignored(kind));
    }
    let data = env
        .data
        .ok_or_else(|| WebhookError::Malformed("user.created without data".into()))?;
    let user: User = serde_json::from_str(data.get())
        .map_err(|e| WebhookError::Malformed(format!("data is not a Clerk user: {e}")))?;
    let user_id = user
        .id
        .filter(|id| !id.is_empty())
        .ok_or_else(|| WebhookError::Malformed("data.id is missing".into()))?;
    let primary = user.primary_email_address_id.as_deref();
    let email = user
        .email_addresses
        .iter()
        .find(|e| e.id.is_some() && e.id.as_deref() == primary)
        .or(user.email_addresses.first())
        .and_then(|e| e.email_address.as_deref());
    let nick = pick_nick(
        user.first_name.as_deref(),
        user.last_name.as_deref(),
        user.username.as_deref(),
        email,
    );
    let face_url = user
        .image_url
        .filter(|u| !u.is_empty())
        .or(user.profile_image_url.filter(|u| !u.is_empty()));
    Ok(Event::Signup(Signup {
        user_id,
        nick,
        face_url,
        event_id,
    }))
}

/// Verifies a Clerk delivery and reads it.
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

    /// The documented `user.created` example from Clerk's "Webhooks overview" (auth-webhooks.md §1c).
    pub const DOCUMENTED: &str = include_str!("../../tests/fixtures/clerk_user_created.json");

    fn signup(body: &str) -> Signup {
        match parse(body.as_bytes(), None).unwrap() {
            Event::Signup(s) => s,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn documented_payload() {
        let s = signup(DOCUMENTED);
        assert_eq!(s.user_id, "user_29w83sxmDNGwOuEthce5gg56FcC");
        assert_eq!(s.nick.as_deref(), Some("Example Example"));
        assert_eq!(s.face_url.as_deref(), Some("https://img.clerk.com/xxxxxx"));
    }

    #[test]
    fn nick_falls_back_to_username_then_email() {
        let s = signup(
            r#"{"type":"user.created","data":{"id":"u1","first_name":null,"last_name":"","username":"neo","email_addresses":[]}}"#,
        );
        assert_eq!(s.nick.as_deref(), Some("neo"));
        let s = signup(
            r#"{"type":"user.created","data":{"id":"u1","primary_email_address_id":"e2","email_addresses":[{"id":"e1","email_address":"other@x.io"},{"id":"e2","email_address":"trin@x.io"}]}}"#,
        );
        assert_eq!(s.nick.as_deref(), Some("trin"));
        let s = signup(
            r#"{"type":"user.created","data":{"id":"u1","profile_image_url":"https://p/x"}}"#,
        );
        assert_eq!((s.nick, s.face_url.as_deref()), (None, Some("https://p/x")));
    }

    #[test]
    fn other_events_are_ignored_and_bad_bodies_refused() {
        assert_eq!(
            parse(br#"{"type":"user.deleted","data":{"deleted":true}}"#, None).unwrap(),
            Event::Ignored("user.deleted".into())
        );
        assert_eq!(
            parse(br#"{"type":"session.created","data":[1,2]}"#, None).unwrap(),
            Event::Ignored("session.created".into())
        );
        for bad in [
            &b"not json"[..],
            b"{}",
            b"[]",
            br#"{"type":"user.created"}"#,
            br#"{"type":"user.created","data":{"first_name":"x"}}"#,
            br#"{"type":"user.created","data":{"id":7}}"#,
            br#"{"type":"user.created","data":{"id":""}}"#,
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
        let get =
            |k: &str| (k == SECRET).then(|| "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned());
        let cfg = config(&get).unwrap().unwrap();
        let secret = standard::Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let sig = secret.sign("msg_1", 1000, DOCUMENTED.as_bytes());
        let h: &[(&str, &str)] = &[
            ("svix-id", "msg_1"),
            ("svix-timestamp", "1000"),
            ("svix-signature", &sig),
        ];
        let d = Delivery {
            headers: h,
            body: DOCUMENTED.as_bytes(),
            now: 1000,
        };
        let r = receive(&cfg, &d).unwrap();
        assert_eq!(r.replay_key.as_deref(), Some("msg_1.1000"));
        match &r.events[..] {
            [Event::Signup(s)] => assert_eq!(s.event_id.as_deref(), Some("msg_1")),
            other => panic!("{other:?}"),
        }
        // A forged body that is not even JSON is a signature failure, not a parse failure.
        let d = Delivery {
            headers: h,
            body: b"garbage",
            now: 1000,
        };
        assert_eq!(receive(&cfg, &d), Err(WebhookError::BadSignature));
        let bad = |_: &str| Some("not-a-secret!".to_owned());
        assert_eq!(config(&bad).unwrap_err().var(), SECRET);
    }
}
