//! Clerk: Svix-signed `user.created`, `user.updated` and `user.deleted` events
//! (<https://clerk.com/docs/guides/development/webhooks/overview>,
//! <https://clerk.com/docs/guides/development/webhooks/syncing>).
//!
//! UserID is `data.id`; Nick is first + last name, else username, else the primary email's local
//! part; FaceUrl is `data.image_url` (the older `profile_image_url` when that is absent).
//! `user.updated` carries the whole user, so its profile is read the same way; `user.deleted`
//! carries only `{deleted, id, object}`. The event time is the envelope's `timestamp` (ms).

use super::{
    standard, Change, Delivery, Lenient, Lifecycle, Loose, Received, Spec, WebhookError,
    DEFAULT_BUDGET_MS,
};
use crate::event::{Event, User};
use crate::identity::pick_nick;
use crate::settings::{ConfigError, Settings};
use serde::de::{IgnoredAny, MapAccess};
use serde::Deserialize;

/// Clerk (Svix-signed).
pub const SPEC: Spec = Spec {
    name: "clerk",
    prefix: "CLERK",
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

/// Setting: Clerk's `whsec_` signing secret(s), space-separated during a rotation.
pub const SECRET: &str = "CLERK_WEBHOOK_SECRET";

/// Clerk's settings: its signing secret(s).
pub type Config = standard::Signed;

/// Reads Clerk's settings; `None` when `CLERK_WEBHOOK_SECRET` is unset.
pub fn config(get: &dyn Settings) -> Result<Option<Config>, ConfigError> {
    standard::Signed::from_setting(
        get,
        SECRET,
        "expected the whsec_ signing secret from the Clerk dashboard",
    )
}

/// One pass over the body: `data` is read as a user whatever the event type (a type we ignore
/// may carry any `data`: one that is not an object is dropped, not fatal).
#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    data: Lenient<RawUser>,
    // Milliseconds; kept loose so that an odd value costs the time, not the event.
    #[serde(default)]
    timestamp: Lenient<i64>,
}

/// Clerk's `UserJSON`, and its `DeletedObjectJSON` (which has only the `id` of these). Every
/// field but `id` is cosmetic: one of an unexpected type is left out, not fatal.
#[derive(Deserialize)]
struct RawUser {
    #[serde(default)]
    id: Lenient<String>,
    #[serde(default)]
    first_name: Lenient<String>,
    #[serde(default)]
    last_name: Lenient<String>,
    #[serde(default)]
    username: Lenient<String>,
    #[serde(default)]
    image_url: Lenient<String>,
    #[serde(default)]
    profile_image_url: Lenient<String>,
    #[serde(default)]
    primary_email_address_id: Lenient<String>,
    #[serde(default)]
    email_addresses: Lenient<Vec<Lenient<Email>>>,
}

impl Loose for RawUser {
    fn from_map<'de, A: MapAccess<'de>>(map: A) -> Result<Option<Self>, A::Error> {
        RawUser::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Some)
    }
}

#[derive(Default)]
struct Email {
    id: Lenient<String>,
    email_address: Lenient<String>,
}

/// The fields of [`Email`] we read.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum EmailField {
    Id,
    EmailAddress,
    #[serde(other)]
    Other,
}

impl Loose for Email {
    // By hand, not derived: a repeated key in one entry of the list must cost that entry at
    // most, and a derived struct would fail the whole body on it.
    fn from_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        let mut email = Email::default();
        while let Some(field) = map.next_key::<EmailField>()? {
            match field {
                EmailField::Id => email.id = map.next_value()?,
                EmailField::EmailAddress => email.email_address = map.next_value()?,
                EmailField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Some(email))
    }
}

/// The user's id and profile (Nick and FaceUrl by the rules above), and the names of the
/// cosmetic fields left out.
fn read_user(user: RawUser) -> Result<(User, Vec<&'static str>), WebhookError> {
    let user_id = match user.id {
        Lenient::Valid(id) if !id.is_empty() => id,
        Lenient::Dropped => return Err(super::malformed("data.id is not a string")),
        _ => return Err(super::malformed("data.id is missing")),
    };
    let mut dropped = Vec::new();
    user.first_name.note("first_name", &mut dropped);
    user.last_name.note("last_name", &mut dropped);
    user.username.note("username", &mut dropped);
    user.image_url.note("image_url", &mut dropped);
    user.profile_image_url
        .note("profile_image_url", &mut dropped);
    user.primary_email_address_id
        .note("primary_email_address_id", &mut dropped);
    user.email_addresses.note("email_addresses", &mut dropped);
    let emails: Vec<&Email> = user
        .email_addresses
        .as_valid()
        .map(|list| list.iter().filter_map(Lenient::as_valid).collect())
        .unwrap_or_default();
    if let Some(list) = user.email_addresses.as_valid() {
        if list.iter().any(|e| matches!(e, Lenient::Dropped))
            || emails.iter().any(|e| {
                matches!(e.id, Lenient::Dropped) || matches!(e.email_address, Lenient::Dropped)
            })
        {
            dropped.push("email_addresses[]");
        }
    }
    let primary = user.primary_email_address_id.as_valid();
    let email = emails
        .iter()
        .find(|e| e.id.as_valid().is_some() && e.id.as_valid() == primary)
        .or(emails.first())
        .and_then(|e| e.email_address.as_valid())
        .map(String::as_str);
    let nick = pick_nick(
        user.first_name.as_valid().map(String::as_str),
        user.last_name.as_valid().map(String::as_str),
        user.username.as_valid().map(String::as_str),
        email,
    );
    let face_url = user
        .image_url
        .valid()
        .filter(|u| !u.is_empty())
        .or(user.profile_image_url.valid().filter(|u| !u.is_empty()));
    let user = User {
        user_id,
        nick,
        face_url,
        ..User::default()
    };
    Ok((user, dropped))
}

/// Reads a Clerk event body (already verified); `event_id` is the Svix message id.
pub fn parse(body: &[u8], event_id: Option<String>) -> Result<Event, WebhookError> {
    read(body, event_id).map(|(event, _)| event)
}

/// [`parse`], with the cosmetic fields left out.
fn read(body: &[u8], event_id: Option<String>) -> Result<(Event, Vec<&'static str>), WebhookError> {
    let env: Envelope =
        super::from_json(body).map_err(|e| super::malformed(format!("not a Clerk event: {e}")))?;
    let kind = env.kind.ok_or_else(|| super::malformed("no event type"))?;
    let Some(change) = Change::of(&kind, &super::USER_EVENTS) else {
        return Ok((Event::Ignored(kind), Vec::new()));
    };
    let raw = match env.data {
        Lenient::Valid(raw) => raw,
        Lenient::Absent => return Err(super::malformed(format!("{kind} without data"))),
        Lenient::Dropped => return Err(super::malformed("data is not a Clerk user")),
    };
    let (user, dropped) = read_user(raw)?;
    let user = User {
        event_id,
        at: env.timestamp.valid().map(|ms| ms.div_euclid(1000)),
        ..user
    };
    Ok((change.event(user), dropped))
}

/// Verifies a Clerk delivery and reads it.
pub fn receive(cfg: &Config, d: &Delivery<'_>) -> Result<Received, WebhookError> {
    let parts = cfg.verify(d)?;
    let (event, dropped) = read(d.body, Some(parts.id.clone()))?;
    Ok(Received::one(event)
        .with_replay_key(parts.replay_key())
        .with_dropped(dropped))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented `user.created` example from Clerk's "Webhooks overview"
    /// (<https://clerk.com/docs/guides/development/webhooks/overview>).
    pub const DOCUMENTED: &str = include_str!("../../tests/fixtures/clerk_user_created.json");
    /// Constructed: the `user.created` example above as a `user.updated` (new first name and
    /// image, later `updated_at` / `timestamp`); `data` is the same `UserJSON`.
    const UPDATED: &str = include_str!("../../tests/fixtures/clerk_user_updated.json");
    /// Clerk's `user.deleted` event-catalog example.
    const DELETED: &str = include_str!("../../tests/fixtures/clerk_user_deleted.json");

    fn signup(body: &str) -> User {
        match parse(body.as_bytes(), None).unwrap() {
            Event::Created(s) => s,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn documented_payload() {
        let s = signup(DOCUMENTED);
        assert_eq!(s.user_id, "user_29w83sxmDNGwOuEthce5gg56FcC");
        assert_eq!(s.nick.as_deref(), Some("Example Example"));
        assert_eq!(s.face_url.as_deref(), Some("https://img.clerk.com/xxxxxx"));
        assert_eq!(s.at, Some(1_654_012_591));
    }

    #[test]
    fn documented_update_and_delete() {
        let updated = User {
            user_id: "user_29w83sxmDNGwOuEthce5gg56FcC".into(),
            nick: Some("Ada Example".into()),
            face_url: Some("https://img.clerk.com/yyyyyy".into()),
            event_id: Some("msg_2".into()),
            at: Some(1_654_012_824),
        };
        assert_eq!(
            parse(UPDATED.as_bytes(), Some("msg_2".into())),
            Ok(Event::Updated(updated))
        );
        let deleted = User {
            user_id: "user_29wBMCtzATuFJut8jO2VNTVekS4".into(),
            event_id: Some("msg_3".into()),
            at: Some(1_661_861_640),
            ..User::default()
        };
        assert_eq!(
            parse(DELETED.as_bytes(), Some("msg_3".into())),
            Ok(Event::Deleted(deleted))
        );
        // A 33-byte id is read as sent; fitting it to Tencent's 32 bytes is the mapping's job.
        let long = format!("user_{}", "x".repeat(28));
        let body = DELETED.replace("user_29wBMCtzATuFJut8jO2VNTVekS4", &long);
        assert!(
            matches!(parse(body.as_bytes(), None), Ok(Event::Deleted(u)) if u.user_id == long && long.len() == 33)
        );
        // The deleted object's `id` is optional in Clerk's types: without it there is no one to delete.
        assert!(matches!(
            parse(br#"{"type":"user.deleted","data":{"deleted":true}}"#, None),
            Err(WebhookError::Malformed(_))
        ));
        // An odd timestamp costs the time only: a string, a fraction, one beyond i64, an object.
        for odd in [
            "\"soon\"",
            "1661861640000.5",
            "18446744073709551615",
            "{\"ms\":1}",
        ] {
            let body = DELETED.replace("1661861640000", odd);
            assert!(
                matches!(parse(body.as_bytes(), None), Ok(Event::Deleted(ref u)) if u.at.is_none()),
                "{odd}"
            );
        }
        // A negative one is still a time (before 1970), read as sent.
        let early = DELETED.replace("1661861640000", "-1500");
        assert!(matches!(parse(early.as_bytes(), None), Ok(Event::Deleted(u)) if u.at == Some(-2)));
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
        for ignored in [
            &br#"{"type":"session.created","data":[1,2]}"#[..],
            br#"{"type":"session.created","data":{"id":7,"email_addresses":{}}}"#,
            br#"{"data":"x","type":"session.created"}"#,
        ] {
            assert_eq!(
                parse(ignored, None).unwrap(),
                Event::Ignored("session.created".into())
            );
        }
        // A repeated key inside one e-mail entry costs nothing (the last one is read).
        let s = signup(
            r#"{"type":"user.created","data":{"id":"u1","email_addresses":[{"id":"e1","email_address":"a@x.io","email_address":"neo@x.io"}]}}"#,
        );
        assert_eq!(s.nick.as_deref(), Some("neo"));
        for bad in [
            &b"not json"[..],
            b"{}",
            b"[]",
            br#"{"type":"user.created"}"#,
            br#"{"type":"user.created","data":{"first_name":"x"}}"#,
            br#"{"type":"user.created","data":{"id":7}}"#,
            br#"{"type":"user.created","data":[{"id":"u1"}]}"#,
            br#"{"type":"user.created","data":{"id":"u1","id":"u2"}}"#,
            br#"{"type":"user.created","data":{"id":""}}"#,
            br#"{"type":"user.updated","data":null}"#,
            br#"{"type":"user.deleted","data":{"id":""}}"#,
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
            headers: &h,
            body: DOCUMENTED.as_bytes(),
            now: 1000,
        };
        let r = receive(&cfg, &d).unwrap();
        assert_eq!(r.replay_key.as_deref(), Some("msg_1.1000"));
        match &r.events[..] {
            [Event::Created(s)] => assert_eq!(s.event_id.as_deref(), Some("msg_1")),
            other => panic!("{other:?}"),
        }
        // A forged body that is not even JSON is a signature failure, not a parse failure.
        let d = Delivery {
            headers: &h,
            body: b"garbage",
            now: 1000,
        };
        assert_eq!(receive(&cfg, &d), Err(WebhookError::BadSignature));
        let bad = |_: &str| Some("not-a-secret!".to_owned());
        assert_eq!(config(&bad).unwrap_err().var(), SECRET);
    }

    #[test]
    fn cosmetic_fields_of_unexpected_types_are_dropped_not_fatal() {
        let body = DOCUMENTED
            .replace("\"first_name\": \"Example\"", "\"first_name\": {\"x\": 1}")
            .replace(
                "\"image_url\": \"https://img.clerk.com/xxxxxx\"",
                "\"image_url\": 7",
            );
        let mut v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["data"]["email_addresses"] = serde_json::Value::Null;
        let u = signup(&v.to_string());
        assert_eq!(u.user_id, "user_29w83sxmDNGwOuEthce5gg56FcC");
        assert_eq!(
            u.nick.as_deref(),
            Some("Example"),
            "last_name is still used"
        );
        assert_eq!(
            u.face_url.as_deref(),
            Some("https://www.gravatar.com/avatar?d=mp"),
            "profile_image_url backs image_url"
        );
        // What was left out is named (never its value), for the delivery's log.
        let (_, dropped) = read(v.to_string().as_bytes(), None).unwrap();
        assert_eq!(dropped, ["first_name", "image_url"]);
        v["data"]["email_addresses"] = serde_json::json!([7, {"id": 1, "email_address": "a@b.c"}]);
        let (event, dropped) = read(v.to_string().as_bytes(), None).unwrap();
        assert_eq!(dropped, ["first_name", "image_url", "email_addresses[]"]);
        assert_eq!(
            event.user().and_then(|u| u.nick.as_deref()),
            Some("Example")
        );
        v["data"]["last_name"] = serde_json::Value::Null;
        let (event, _) = read(v.to_string().as_bytes(), None).unwrap();
        assert_eq!(
            event.user().and_then(|u| u.nick.as_deref()),
            Some("a"),
            "the valid address of a list with a bad entry is still used"
        );
        // The id is not cosmetic: of the wrong type, the delivery is refused.
        v["data"]["id"] = serde_json::json!(5);
        assert!(parse(v.to_string().as_bytes(), None).is_err());
    }

    #[test]
    fn a_lone_surrogate_in_a_name_costs_only_that_character() {
        let body = DOCUMENTED.replace(
            "\"first_name\": \"Example\"",
            "\"first_name\": \"Ex\\ud83d\"",
        );
        assert_ne!(body, DOCUMENTED);
        let u = signup(&body);
        assert_eq!(u.nick.as_deref(), Some("Ex\u{fffd} Example"));
    }
}
