//! Supabase Auth hooks `before-user-created` / `after-user-created`, signed with Standard
//! Webhooks (<https://supabase.com/docs/guides/auth/auth-hooks>).
//!
//! Supabase Auth signs with the Standard Webhooks `v1` scheme (`webhook-*` headers, secret shown
//! as `v1,whsec_...`). Its `webhook-id` is new on every attempt, so the de-duplication key is the
//! body's `metadata.uuid`, which is marshalled once per invocation. UserID is `user.id`; Nick and
//! FaceUrl come from `user.user_metadata` (what OAuth providers or `signUp({options:{data}})` put
//! there), Nick falling back to the email's local part. The event time is `metadata.time`.
//! Auth hooks cannot report profile changes or deletions: the `supabase-db` route (a Database
//! Webhook on `auth.users` UPDATE and DELETE) does.

use super::{standard, Delivery, Lifecycle, Received, Spec, WebhookError};
use crate::event::{Event, User};
use crate::settings::{ConfigError, Settings};
use serde::Deserialize;
use serde_json::Value;

/// Supabase Auth hooks; the whole hook may take 5 s and must answer `{}`.
pub const SPEC: Spec = Spec {
    name: "supabase",
    prefix: "SUPABASE",
    switch: SECRET,
    id_prefixes: &[],
    budget_ms: 3_500,
    success_body: Some("{}"),
    challenge: None,
    lifecycle: Lifecycle {
        created: &["before-user-created", "after-user-created"],
        updated: &[],
        deleted: &[],
    },
};

/// Hook names (`metadata.name`) that mean "a user is being / was created".
pub const SIGNUP_HOOKS: [&str; 2] = ["before-user-created", "after-user-created"];
/// Setting: the hook secret(s) from the Supabase dashboard, `v1,whsec_...`, `|`-separated.
pub const SECRET: &str = "SUPABASE_HOOK_SECRET";

/// Supabase's settings: its signing secret(s).
pub type Config = standard::Signed;

/// Reads the Supabase hook settings; `None` when `SUPABASE_HOOK_SECRET` is unset.
pub fn config(get: &dyn Settings) -> Result<Option<Config>, ConfigError> {
    standard::Signed::from_setting(
        get,
        SECRET,
        "expected the v1,whsec_ hook secret from the Supabase dashboard (several separated by |)",
    )
}

#[derive(Deserialize)]
struct Input {
    metadata: Option<Metadata>,
    user: Option<RawUser>,
}

#[derive(Deserialize)]
struct Metadata {
    uuid: Option<String>,
    name: Option<String>,
    // ISO 8601; kept loose so that an odd value costs the time, not the signup.
    #[serde(default)]
    time: Value,
}

#[derive(Deserialize)]
struct RawUser {
    id: Option<String>,
    email: Option<String>,
    // Free-form: clients choose these keys and value types, so a non-string `name` must not
    // turn a blocking hook into a failed signup; only string values are read.
    #[serde(default)]
    user_metadata: Value,
}

/// Reads a Supabase hook body (already verified).
pub fn parse(body: &[u8]) -> Result<Event, WebhookError> {
    let input: Input = super::from_json(body)
        .map_err(|e| super::malformed(format!("not a Supabase Auth hook payload: {e}")))?;
    let meta = input
        .metadata
        .ok_or_else(|| super::malformed("no metadata"))?;
    let name = meta
        .name
        .ok_or_else(|| super::malformed("no metadata.name"))?;
    if !SIGNUP_HOOKS.contains(&name.as_str()) {
        return Ok(Event::Ignored(name));
    }
    let user = input
        .user
        .ok_or_else(|| super::malformed(format!("{name} without user")))?;
    let user_id = user
        .id
        .filter(|id| !id.is_empty())
        .ok_or_else(|| super::malformed("user.id is missing"))?;
    // Same metadata keys as the auth.users row the Database Webhook sends.
    let (nick, face_url) = super::supabase_db::profile(&user.user_metadata, user.email.as_deref());
    // Without a uuid, the user id still de-duplicates the (identical-body) retries.
    let event_id = meta
        .uuid
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| user_id.clone());
    Ok(Event::Created(User {
        at: meta.time.as_str().and_then(super::sig::iso8601_seconds),
        user_id,
        nick,
        face_url,
        event_id: Some(event_id),
    }))
}

/// Verifies a Supabase Auth hook delivery and reads it.
pub fn receive(cfg: &Config, d: &Delivery<'_>) -> Result<Received, WebhookError> {
    let parts = cfg.verify(d)?;
    Ok(Received::one(parse(d.body)?).with_replay_key(parts.replay_key()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented `before-user-created` payload
    /// (<https://supabase.com/docs/guides/auth/auth-hooks/before-user-created-hook>).
    const DOCUMENTED: &str = include_str!("../../tests/fixtures/supabase_before_user_created.json");
    const KEY_A: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const KEY_B: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn signup(body: &str) -> User {
        match parse(body.as_bytes()).unwrap() {
            Event::Created(s) => s,
            other => panic!("{other:?}"),
        }
    }

    fn cfg() -> Config {
        // As pasted from the dashboard during a rotation: two secrets, each with its `v1,`.
        let get = |k: &str| (k == SECRET).then(|| format!("v1,{KEY_A}|v1,{KEY_B}"));
        config(&get).unwrap().unwrap()
    }

    fn deliver(body: &[u8], sig: &str, id: &str, now: i64) -> Result<Received, WebhookError> {
        let h = [
            ("webhook-id", id),
            ("webhook-timestamp", "1000"),
            ("webhook-signature", sig),
        ];
        super::super::sig::deliver(h, body, now, |d| receive(&cfg(), d))
    }

    #[test]
    fn documented_payload() {
        let s = signup(DOCUMENTED);
        assert_eq!(s.user_id, "ff7fc9ae-3b1b-4642-9241-64adb9848a03");
        assert_eq!(s.nick.as_deref(), Some("valid.email"));
        assert_eq!(s.face_url, None);
        assert_eq!(
            s.event_id.as_deref(),
            Some("8b34dcdd-9df1-4c10-850a-b3277c653040")
        );
        // 2025-04-29T13:13:24.755552-07:00
        assert_eq!(s.at, Some(1_745_957_604));
    }

    #[test]
    fn oauth_metadata_and_after_hook() {
        let s = signup(
            r#"{"metadata":{"uuid":"m1","name":"after-user-created"},"user":{"id":"u1","email":"o@x.io",
               "user_metadata":{"full_name":"","name":"Octo Cat","user_name":"octocat","picture":"https://p/1","avatar_url":"https://p/2"}}}"#,
        );
        assert_eq!(s.nick.as_deref(), Some("Octo Cat"));
        assert_eq!(s.face_url.as_deref(), Some("https://p/2"));
        let s = signup(
            r#"{"metadata":{"name":"before-user-created"},"user":{"id":"u2","email":"o@x.io",
               "user_metadata":{"name":42,"user_name":"octocat","picture":"https://p/1","avatar_url":null}}}"#,
        );
        assert_eq!(s.nick.as_deref(), Some("octocat"));
        assert_eq!(s.face_url.as_deref(), Some("https://p/1"));
        assert_eq!(s.event_id.as_deref(), Some("u2"));
        let s = signup(
            r#"{"metadata":{"uuid":"m3","name":"before-user-created"},"user":{"id":"u3","email":"","is_anonymous":true}}"#,
        );
        assert_eq!((s.nick, s.face_url), (None, None));
    }

    #[test]
    fn odd_metadata_never_fails_a_signup() {
        let e = parse(br#"{"metadata":{"name":"before-user-created"},"user":{"id":"u","email":"a@b.c","user_metadata":[]}}"#).unwrap();
        assert!(matches!(e, Event::Created(User { ref nick, .. }) if nick.as_deref() == Some("a")));
    }

    #[test]
    fn other_hooks_are_ignored_and_bad_bodies_refused() {
        assert_eq!(
            parse(br#"{"metadata":{"name":"send-email"},"user":{"id":"u"},"email_data":{}}"#)
                .unwrap(),
            Event::Ignored("send-email".into())
        );
        assert_eq!(
            parse(br#"{"metadata":{"name":"customize-access-token"},"user_id":"u","claims":{}}"#)
                .unwrap(),
            Event::Ignored("customize-access-token".into())
        );
        for bad in [
            &b"not json"[..],
            b"{}",
            b"[]",
            br#"{"metadata":{}}"#,
            br#"{"metadata":{"name":"before-user-created"}}"#,
            br#"{"metadata":{"name":"before-user-created"},"user":{"id":""}}"#,
            br#"{"metadata":{"name":"before-user-created"},"user":{"id":7}}"#,
        ] {
            assert!(
                matches!(parse(bad), Err(WebhookError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn receive_verifies_before_parsing() {
        let body = DOCUMENTED.as_bytes();
        let a = standard::Secret::parse(KEY_A).unwrap();
        let b = standard::Secret::parse(KEY_B).unwrap();
        // Supabase with two secrets joins "v1,<a>, v1,<b>".
        let both = format!(
            "{}, {}",
            a.sign("id1", 1000, body),
            b.sign("id1", 1000, body)
        );
        let r = deliver(body, &both, "id1", 1000).unwrap();
        assert_eq!(r.replay_key.as_deref(), Some("id1.1000"));
        // A retry has a new webhook-id but the same body: same event_id, different replay key.
        let retry = deliver(body, &b.sign("id2", 1000, body), "id2", 1000).unwrap();
        assert_eq!(retry.replay_key.as_deref(), Some("id2.1000"));
        assert_eq!(r.events, retry.events);
        let sig = a.sign("id1", 1000, body);
        assert_eq!(
            deliver(b"garbage", &sig, "id1", 1000),
            Err(WebhookError::BadSignature)
        );
        let wrong = standard::Secret::parse("whsec_plJ3nmyCDGBKInavdOK15jsl").unwrap();
        assert_eq!(
            deliver(body, &wrong.sign("id1", 1000, body), "id1", 1000),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            deliver(body, &sig, "id1", 699),
            Err(WebhookError::StaleTimestamp(-301))
        );
        let h: &[(&str, &str)] = &[("webhook-id", "id1"), ("webhook-timestamp", "1000")];
        let d = Delivery {
            headers: &h,
            body,
            now: 1000,
        };
        assert_eq!(
            receive(&cfg(), &d),
            Err(WebhookError::MissingHeader("webhook-signature"))
        );
        let sig = a.sign("id1", 1000, b"{}");
        assert!(matches!(
            deliver(b"{}", &sig, "id1", 1000),
            Err(WebhookError::Malformed(_))
        ));
    }

    #[test]
    fn config_names_the_variable_and_hides_the_secret() {
        assert!(config(&|_: &str| None).unwrap().is_none());
        let bad = |_: &str| Some(format!("v1,{KEY_A}|v1,whsec_!!"));
        assert_eq!(config(&bad).unwrap_err().var(), SECRET);
        assert!(!format!("{:?}", cfg()).contains("C2FV"));
    }
}
