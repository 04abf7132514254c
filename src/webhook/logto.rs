//! Logto webhooks: `PostRegister`, `User.Created`, `User.Data.Updated` and `User.Deleted`, signed
//! `logto-signature-sha-256` (<https://docs.logto.io/developers/webhooks/webhooks-request>,
//! <https://docs.logto.io/developers/webhooks/webhooks-events>).
//!
//! `User.Data.Updated` carries the updated user at `data`. `User.Deleted` is documented with
//! `data: null`, the user id only in the Management API context (`params.userId` of
//! `DELETE /users/:userId`, or the last segment of `path`); current Logto also sends the deleted
//! user at `data` (`appendDataHookContext` in
//! <https://github.com/logto-io/logto/blob/HEAD/packages/core/src/libraries/hook/context-manager.ts>),
//! so both are read. The event time is `createdAt`.
//!
//! The header is the hex HMAC-SHA256 of the raw body keyed with the signing key's UTF-8 bytes
//! (with or without a `sha256=` prefix). Logto sends no timestamp or message-id header, so the
//! body's signed `createdAt` stands in for one: a delivery more than an hour away from now is
//! refused as a possible replay. Retries are byte-identical, so there is no replay key;
//! `{hookId}:{createdAt}` de-duplicates.

use super::{sig, Change, Delivery, Lifecycle, Received, Spec, WebhookError};
use crate::event::{Event, User};
use crate::identity::pick_nick;
use crate::settings::{ConfigError, Settings};
use serde::Deserialize;
use serde_json::value::RawValue;

/// Logto; it waits 10 s.
pub const SPEC: Spec = Spec {
    name: "logto",
    prefix: "LOGTO",
    switch: SECRET,
    id_prefixes: &[],
    budget_ms: 8_000,
    success_body: None,
    challenge: None,
    lifecycle: Lifecycle {
        created: &["PostRegister", "User.Created"],
        updated: &["User.Data.Updated"],
        deleted: &["User.Deleted"],
    },
};

/// Setting: the webhook's signing key from the Logto console, used as raw UTF-8.
pub const SECRET: &str = "LOGTO_SIGNING_KEY";
/// The signature header.
pub const HEADER: &str = "logto-signature-sha-256";
/// Interaction event: a user finished the registration UI.
pub const POST_REGISTER: &str = "PostRegister";
/// Data event: a user was created (UI or Management API).
pub const USER_CREATED: &str = "User.Created";
/// Data event: a user's profile data changed (the updated user at `data`).
pub const USER_UPDATED: &str = "User.Data.Updated";
/// Data event: a user was deleted.
pub const USER_DELETED: &str = "User.Deleted";

/// The user events Logto documents, and what each means.
const EVENTS: [(&str, Change); 4] = [
    (POST_REGISTER, Change::Created),
    (USER_CREATED, Change::Created),
    (USER_UPDATED, Change::Updated),
    (USER_DELETED, Change::Deleted),
];
/// How far `createdAt` may be from now, in seconds. Logto gives up after about 10 s times 4
/// attempts, so an hour only ever refuses captured requests and badly wrong clocks.
const MAX_AGE_S: i64 = 3600;

/// This provider's settings.
#[derive(Debug)]
pub struct Config {
    key: sig::RawSecret,
}

/// Reads this provider's settings; `None` when `LOGTO_SIGNING_KEY` is unset.
pub fn config(get: &dyn Settings) -> Result<Option<Config>, ConfigError> {
    Ok(sig::RawSecret::setting(get, SECRET).map(|key| Config { key }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload<'a> {
    event: Option<String>,
    hook_id: Option<String>,
    created_at: Option<String>,
    user_id: Option<String>,
    // Management API context: the koa path params and the request path.
    #[serde(default)]
    params: serde_json::Value,
    #[serde(default)]
    path: serde_json::Value,
    // Parsed only for the events we import, so odd shapes in other events cannot fail them.
    #[serde(borrow)]
    user: Option<&'a RawValue>,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawUser {
    id: Option<String>,
    username: Option<String>,
    primary_email: Option<String>,
    name: Option<String>,
    avatar: Option<String>,
}

/// The user id a Management API call names: `params.userId`, else the `/users/<id>` path.
fn api_user_id(params: &serde_json::Value, path: &serde_json::Value) -> Option<String> {
    let from_path = path
        .as_str()
        .and_then(|p| p.strip_prefix("/users/"))
        .filter(|id| !id.contains('/'));
    super::text_at(params, &["/userId"])
        .or(from_path)
        .map(str::to_owned)
}

/// Reads a Logto event body (already verified); `now` is Unix seconds, for the `createdAt` check.
pub fn parse(body: &[u8], now: i64) -> Result<Event, WebhookError> {
    let p: Payload = serde_json::from_slice(body)
        .map_err(|e| super::malformed(format!("not a Logto event: {e}")))?;
    // Without a usable createdAt nothing bounds how long a captured request stays valid.
    let created_at = p.created_at.ok_or(WebhookError::BadTimestamp)?;
    let ts = sig::iso8601_seconds(&created_at).ok_or(WebhookError::BadTimestamp)?;
    sig::check_window(ts, now, MAX_AGE_S)?;
    let kind = p.event.ok_or_else(|| super::malformed("no event"))?;
    let Some(change) = Change::of(&kind, &EVENTS) else {
        return Ok(Event::Ignored(kind));
    };
    // Interaction events carry the user at `user`; data events at `data`.
    let (raw, fallback_id) = if kind == POST_REGISTER {
        (p.user, p.user_id)
    } else {
        (p.data, api_user_id(&p.params, &p.path))
    };
    let user: RawUser = raw
        .map(|r| serde_json::from_slice(r.get().as_bytes()))
        .transpose()
        .map_err(|e| super::malformed(format!("{kind} user is not a Logto user: {e}")))?
        .unwrap_or_default();
    let user_id = user
        .id
        .or(fallback_id)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| super::malformed(format!("{kind} without a user id")))?;
    let display = user.name.filter(|n| !n.trim().is_empty()).or(user.username);
    Ok(change.event(User {
        at: Some(ts),
        nick: pick_nick(
            None,
            None,
            display.as_deref(),
            user.primary_email.as_deref(),
        ),
        face_url: user.avatar.filter(|a| !a.is_empty()),
        event_id: p.hook_id.map(|hook| format!("{hook}:{created_at}")),
        user_id,
    }))
}

/// Verifies a Logto delivery and reads it.
pub fn receive(cfg: &Config, d: &Delivery<'_>) -> Result<Received, WebhookError> {
    let header = sig::required(d.headers, HEADER)?;
    let hex = header.strip_prefix("sha256=").unwrap_or(&header);
    let expected = crate::crypto::hmac_sha256(cfg.key.as_str().as_bytes(), &[d.body]);
    if !sig::any_hex_matches([hex], &expected) {
        return Err(WebhookError::BadSignature);
    }
    Ok(Received::one(parse(d.body, d.now)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Constructed from the PostRegister fields Logto documents
    /// (<https://docs.logto.io/developers/webhooks/webhooks-request>), with the values of
    /// Logto's own `generateHookTestPayload`; no verbatim delivery is published.
    const DOCUMENTED: &str = include_str!("../../tests/fixtures/logto_post_register.json");
    /// Constructed from the data-hook fields of the same page: `User.Data.Updated` after
    /// `PATCH /users/:userId`, the updated user at `data`.
    const UPDATED: &str = include_str!("../../tests/fixtures/logto_user_data_updated.json");
    /// Constructed likewise: `User.Deleted` after `DELETE /users/:userId`, `data: null`.
    const DELETED: &str = include_str!("../../tests/fixtures/logto_user_deleted.json");
    const KEY: &str = "logto-signing-key";
    /// `createdAt` of the fixture.
    const CREATED: i64 = 1_714_564_800;

    fn cfg() -> Config {
        config(&|k: &str| (k == SECRET).then(|| KEY.to_owned()))
            .unwrap()
            .unwrap()
    }

    fn sign(body: &str, key: &str) -> String {
        crate::crypto::hex_encode(&crate::crypto::hmac_sha256(
            key.as_bytes(),
            &[body.as_bytes()],
        ))
    }

    fn run(header: Option<&str>, body: &str, now: i64) -> Result<Received, WebhookError> {
        sig::deliver(header.map(|v| (HEADER, v)), body, now, |d| {
            receive(&cfg(), d)
        })
    }

    fn signup(body: &str) -> User {
        match parse(body.as_bytes(), CREATED).unwrap() {
            Event::Created(s) => s,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn documented_payload() {
        let header = format!("sha256={}", sign(DOCUMENTED, KEY));
        let r = run(Some(&header), DOCUMENTED, CREATED + 5).unwrap();
        let expected = User {
            at: Some(CREATED),
            user_id: "fake-id".into(),
            nick: Some("Fake User".into()),
            face_url: Some("https://fake-service.com/avatars/fake-user.png".into()),
            event_id: Some("k9w2hq7x1mzp:2024-05-01T12:00:00.000Z".into()),
        };
        assert_eq!(r.events, vec![Event::Created(expected)]);
        assert_eq!(r.replay_key, None);
        // The bare hex form is accepted too.
        assert!(run(Some(&sign(DOCUMENTED, KEY)), DOCUMENTED, CREATED).is_ok());
    }

    #[test]
    fn documented_update_and_delete() {
        let (updated_at, deleted_at) = (1_714_638_600, 1_714_754_700);
        let updated = User {
            user_id: "fake-id".into(),
            nick: Some("Fake User Renamed".into()),
            face_url: Some("https://fake-service.com/avatars/fake-user-2.png".into()),
            event_id: Some("k9w2hq7x1mzp:2024-05-02T08:30:00.000Z".into()),
            at: Some(updated_at),
        };
        let header = sign(UPDATED, KEY);
        let r = run(Some(&header), UPDATED, updated_at + 2).unwrap();
        assert_eq!(r.events, vec![Event::Updated(updated)]);
        let deleted = User {
            user_id: "fake-id".into(),
            event_id: Some("k9w2hq7x1mzp:2024-05-03T16:45:00.000Z".into()),
            at: Some(deleted_at),
            ..User::default()
        };
        assert_eq!(
            parse(DELETED.as_bytes(), deleted_at),
            Ok(Event::Deleted(deleted.clone()))
        );
        // The id from the path alone, or from the user that current Logto puts at `data`.
        let path_only = DELETED.replace(r#""params": { "userId": "fake-id" },"#, "");
        assert_eq!(
            parse(path_only.as_bytes(), deleted_at),
            Ok(Event::Deleted(deleted.clone()))
        );
        let long = "l".repeat(33);
        let with_data = DELETED.replace(
            r#""data": null"#,
            &format!(r#""data": {{"id": "{long}", "name": "Gone"}}"#),
        );
        assert_eq!(
            parse(with_data.as_bytes(), deleted_at),
            Ok(Event::Deleted(User {
                user_id: long,
                ..deleted
            }))
        );
        let nameless = DELETED
            .replace(r#""params": { "userId": "fake-id" },"#, "")
            .replace(
                r#""path": "/users/fake-id","#,
                r#""path": "/users/fake-id/x","#,
            );
        assert!(matches!(
            parse(nameless.as_bytes(), deleted_at),
            Err(WebhookError::Malformed(_))
        ));
    }

    #[test]
    fn forged_wrong_key_old_and_missing() {
        let good = sign(DOCUMENTED, KEY);
        assert_eq!(
            run(
                Some(&good),
                &DOCUMENTED.replace("Fake User", "Mallory"),
                CREATED
            ),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            run(Some(&sign(DOCUMENTED, "other")), DOCUMENTED, CREATED),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            run(Some(&good[..40]), DOCUMENTED, CREATED),
            Err(WebhookError::BadSignature)
        );
        assert!(run(Some(&good), DOCUMENTED, CREATED + 3600).is_ok());
        assert_eq!(
            run(Some(&good), DOCUMENTED, CREATED + 3601),
            Err(WebhookError::StaleTimestamp(3601))
        );
        assert_eq!(
            run(None, DOCUMENTED, CREATED),
            Err(WebhookError::MissingHeader(HEADER))
        );
        // Signed, but without a usable createdAt: refused as unprotected against replay.
        for body in [
            r#"{"event":"PostRegister","userId":"u1"}"#,
            r#"{"event":"PostRegister","userId":"u1","createdAt":"yesterday"}"#,
        ] {
            assert_eq!(
                run(Some(&sign(body, KEY)), body, CREATED),
                Err(WebhookError::BadTimestamp)
            );
        }
        assert!(matches!(
            run(Some(&sign("junk", KEY)), "junk", CREATED),
            Err(WebhookError::Malformed(_))
        ));
    }

    #[test]
    fn user_created_and_other_events() {
        let s = signup(
            r#"{"hookId":"h","event":"User.Created","createdAt":"2024-05-01T12:00:00.000Z","path":"/users","method":"POST","status":200,"params":{},"data":{"id":"abc123def456","username":"neo","primaryEmail":"neo@x.io","name":"","avatar":null}}"#,
        );
        assert_eq!(
            (s.user_id.as_str(), s.nick.as_deref(), s.face_url),
            ("abc123def456", Some("neo"), None)
        );
        // PostRegister with only the top-level userId.
        let s =
            signup(r#"{"event":"PostRegister","createdAt":"2024-05-01T12:00:00Z","userId":"u9"}"#);
        assert_eq!((s.user_id.as_str(), s.nick, s.event_id), ("u9", None, None));
        assert_eq!(
            parse(
                br#"{"event":"PostSignIn","createdAt":"2024-05-01T12:00:00Z","user":[1]}"#,
                CREATED
            )
            .unwrap(),
            Event::Ignored("PostSignIn".into())
        );
        for bad in [
            // Logto's own "send test event" for User.Created carries `data: {result: "success"}`.
            r#"{"event":"User.Created","createdAt":"2024-05-01T12:00:00Z","params":{"id":"fake-id"},"data":{"result":"success"}}"#,
            r#"{"event":"PostRegister","createdAt":"2024-05-01T12:00:00Z","user":{"id":7}}"#,
            r#"{"createdAt":"2024-05-01T12:00:00Z"}"#,
        ] {
            assert!(
                matches!(
                    parse(bad.as_bytes(), CREATED),
                    Err(WebhookError::Malformed(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn config_hides_the_key() {
        assert!(config(&|_: &str| None).unwrap().is_none());
        assert!(!format!("{:?}", cfg()).contains(KEY));
    }
}
