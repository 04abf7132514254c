//! Auth0: Event Streams (CloudEvents `user.created`, `user.updated`, `user.deleted`), Log Streams
//! (`ss` signups, `sdu` deletions) and our Post-User-Registration Action. Auth0's docs:
//! <https://auth0.com/docs/customize/events/create-an-event-stream>,
//! <https://auth0.com/docs/events/user/user.updated>, <https://auth0.com/docs/events/user/user.deleted>,
//! <https://auth0.com/docs/customize/log-streams/custom-log-streams>,
//! <https://auth0.com/docs/deploy-monitor/logs/log-event-type-codes>,
//! <https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/post-user-registration-trigger>.
//!
//! Auth0 signs none of its own deliveries. Event and Log Streams send a static `Authorization`
//! value (bearer token or HTTP Basic), compared in constant time; their retries are byte-identical,
//! so there is no replay key and the event `id` / `log_id` de-duplicates. The Action is code the
//! customer pastes (README), which signs with Standard Webhooks: that path is verified with
//! [`standard::verify`] and gets the usual replay key.
//!
//! Bodies come as one JSON object, an array, or JSON lines (Log Streams' default), so one
//! delivery may carry many events; each is recognised by its shape. An Event Streams update
//! carries the whole user at `data.object` (its `previous_object` is not needed); the event time
//! is the envelope's `time`, a log's `data.date`. Logs of profile changes (`sapi`, `sce`, `scu`,
//! `scpn`) carry no profile, so they are ignored.

use super::{
    sig, standard, Change, Delivery, Lifecycle, Received, Spec, WebhookError, DEFAULT_BUDGET_MS,
};
use crate::event::{Event, User};
use crate::identity::pick_nick;
use crate::settings::{ConfigError, Settings};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;

/// Auth0 streams and the Post-User-Registration Action.
pub const SPEC: Spec = Spec {
    name: "auth0",
    prefix: "AUTH0",
    switch: "AUTH0_WEBHOOK_TOKEN, AUTH0_WEBHOOK_BASIC or AUTH0_ACTION_SECRET",
    id_prefixes: &["auth0|"],
    budget_ms: DEFAULT_BUDGET_MS,
    success_body: None,
    challenge: None,
    lifecycle: Lifecycle {
        created: &["user.created", "log ss", "Post-User-Registration Action"],
        updated: &["user.updated"],
        deleted: &["user.deleted", "log sdu"],
    },
};

/// Setting: the bearer token an Event Stream or Log Stream sends (`Authorization: Bearer <token>`).
pub const SECRET: &str = "AUTH0_WEBHOOK_TOKEN";
/// Setting: `user:password` for a stream using HTTP Basic authorization.
pub const BASIC: &str = "AUTH0_WEBHOOK_BASIC";
/// Setting: the `whsec_` secret our Post-User-Registration Action signs with.
pub const ACTION_SECRET: &str = "AUTH0_ACTION_SECRET";
/// The `type` our Action puts in its body.
pub const ACTION_EVENT: &str = "auth0.post_user_registration";
/// The Event Streams type that means "a user was created".
pub const SIGNUP_EVENT: &str = "user.created";
/// The Event Streams type that means "a user was updated" (the whole user at `data.object`).
pub const UPDATE_EVENT: &str = "user.updated";
/// The Event Streams type that means "a user was deleted".
pub const DELETE_EVENT: &str = "user.deleted";
/// The log event code for "Success Signup".
pub const SIGNUP_LOG: &str = "ss";
/// The log event code for "Success User Deletion".
pub const DELETE_LOG: &str = "sdu";

/// The Event Streams user events and what each means.
const STREAM_EVENTS: [(&str, Change); 3] = [
    (SIGNUP_EVENT, Change::Created),
    (UPDATE_EVENT, Change::Updated),
    (DELETE_EVENT, Change::Deleted),
];
/// What our Action sends.
const ACTION_EVENTS: [(&str, Change); 1] = [(ACTION_EVENT, Change::Created)];
/// The log codes we act on.
const LOG_EVENTS: [(&str, Change); 2] =
    [(SIGNUP_LOG, Change::Created), (DELETE_LOG, Change::Deleted)];

/// This provider's settings.
#[derive(Debug)]
pub struct Config {
    token: Option<sig::RawSecret>,
    basic: Option<sig::RawSecret>,
    action: Option<Vec<standard::Secret>>,
}

/// Reads this provider's settings; `None` when none of the three secrets is set.
pub fn config(get: &dyn Settings) -> Result<Option<Config>, ConfigError> {
    let token = sig::RawSecret::setting(get, SECRET);
    let basic = sig::RawSecret::setting(get, BASIC);
    if basic.as_ref().is_some_and(|b| !b.as_str().contains(':')) {
        return Err(ConfigError::invalid(
            BASIC,
            "expected user:password, as entered for the stream's Basic authorization",
        ));
    }
    let action = standard::secrets_setting(
        get,
        ACTION_SECRET,
        "expected a whsec_ secret (base64 after the prefix), the one the Action signs with",
    )?;
    if token.is_none() && basic.is_none() && action.is_none() {
        return Ok(None);
    }
    Ok(Some(Config {
        token,
        basic,
        action,
    }))
}

/// The `Authorization` values the streams may send.
fn accepted_authorizations(cfg: &Config) -> Vec<String> {
    let mut accepted = Vec::new();
    if let Some(token) = &cfg.token {
        // Event Streams send `Bearer <token>`; a Log Stream sends whatever was typed as its
        // "Authorization Token", with or without the scheme.
        let bare = token
            .as_str()
            .strip_prefix("Bearer ")
            .unwrap_or(token.as_str());
        accepted.push(format!("Bearer {bare}"));
        accepted.push(bare.to_owned());
    }
    if let Some(basic) = &cfg.basic {
        accepted.push(format!("Basic {}", STANDARD.encode(basic.as_str())));
    }
    accepted
}

/// The id and profile of an Auth0 user object (Event Streams `data.object`, the Action's `event.user`).
fn read_user(user: &Value) -> Result<User, WebhookError> {
    let user_id = super::text_at(user, &["/user_id"])
        .ok_or_else(|| super::malformed("the user has no user_id"))?;
    let text = |field: &str| super::text_at(user, &[field]);
    // `name` is often just the email for database users, so it is the last resort.
    let nick = pick_nick(
        text("/given_name"),
        text("/family_name"),
        text("/nickname"),
        text("/email"),
    )
    .or_else(|| text("/name").map(str::to_owned));
    Ok(User {
        user_id: user_id.to_owned(),
        nick,
        face_url: text("/picture").map(str::to_owned),
        ..User::default()
    })
}

/// One Log Streams entry: `{log_id, data: {type, date, user_id, user_name, ..}}`.
fn log_event(v: &Value) -> Result<Event, WebhookError> {
    let kind = super::text_at(v, &["/data/type"])
        .ok_or_else(|| super::malformed("a log without data.type"))?;
    let Some(change) = Change::of(kind, &LOG_EVENTS) else {
        return Ok(Event::Ignored(kind.to_owned()));
    };
    let user_id = super::text_at(v, &["/data/user_id"])
        .ok_or_else(|| super::malformed(format!("an {kind} log without data.user_id")))?;
    // Signup logs carry only `user_name`: an email for most connections, else a username.
    let name = super::text_at(v, &["/data/user_name"]);
    let (username, email) = match name {
        Some(n) if n.contains('@') => (None, Some(n)),
        other => (other, None),
    };
    Ok(change.event(User {
        at: super::time_at(v, &["/data/date"]),
        user_id: user_id.to_owned(),
        nick: pick_nick(None, None, username, email),
        face_url: None,
        event_id: super::text_at(v, &["/log_id"]).map(str::to_owned),
    }))
}

/// One item of a delivery, recognised by shape.
fn item(v: &Value, action_id: Option<&str>) -> Result<Event, WebhookError> {
    if v.get("log_id").is_some() {
        return log_event(v);
    }
    // Event Streams (CloudEvents) carry the user at `data.object` under their own event id and
    // time; our Action sends it at `user`, keyed by the signed message id. A registration happens
    // once per user, so when the Action call is unsigned its user id is the stable key, and the
    // user's `created_at` is the time.
    let (table, user_at, event_id, time) = if v.get("specversion").is_some() {
        let id = super::text_at(v, &["/id"]);
        (&STREAM_EVENTS[..], "/data/object", id, "/time")
    } else {
        let id = action_id.or_else(|| super::text_at(v, &["/user/user_id"]));
        (&ACTION_EVENTS[..], "/user", id, "/user/created_at")
    };
    let kind = super::text_at(v, &["/type"])
        .ok_or_else(|| super::malformed("neither a CloudEvent, a log nor an Action call"))?;
    let Some(change) = Change::of(kind, table) else {
        return Ok(Event::Ignored(kind.to_owned()));
    };
    let user = v
        .pointer(user_at)
        .ok_or_else(|| super::malformed(format!("{kind} without {user_at}")))?;
    Ok(change.event(User {
        event_id: event_id.map(str::to_owned),
        at: super::time_at(v, &[time]),
        ..read_user(user)?
    }))
}

/// Reads a delivery (already authenticated): an object, an array, or JSON lines.
/// `action_id` is the Standard Webhooks message id when the Action signed it.
pub fn parse(body: &[u8], action_id: Option<&str>) -> Result<Vec<Event>, WebhookError> {
    let fixed = super::replace_lone_surrogates(body);
    let body = fixed.as_deref().unwrap_or(body);
    let mut events = Vec::new();
    // JSON lines with a broken line: each line on its own, so the broken one costs only itself.
    // (A body that reads as a stream of values, pretty-printed ones included, is read whole.)
    let whole_ok = serde_json::Deserializer::from_slice(body)
        .into_iter::<serde::de::IgnoredAny>()
        .all(|v| v.is_ok());
    let lines: Vec<&[u8]> = body
        .split(|b| *b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .collect();
    if !whole_ok && lines.len() > 1 {
        for line in lines {
            match serde_json::from_slice::<Value>(line) {
                Ok(Value::Array(list)) => {
                    events.extend(list.iter().map(|v| super::or_invalid(item(v, action_id))))
                }
                Ok(v) => events.push(super::or_invalid(item(&v, action_id))),
                Err(_) => events.push(Event::Invalid("a line that is not JSON".into())),
            }
        }
        return Ok(events);
    }
    // Consecutive JSON values separated by whitespace: covers a single value and odd spacing.
    for value in serde_json::Deserializer::from_slice(body).into_iter::<Value>() {
        let value = value.map_err(|e| super::malformed(format!("not Auth0 JSON: {e}")))?;
        match &value {
            Value::Array(list) => {
                for v in list {
                    events.push(super::or_invalid(item(v, action_id)));
                }
            }
            v => events.push(super::or_invalid(item(v, action_id))),
        }
    }
    if events.is_empty() {
        return Err(super::malformed("no events"));
    }
    Ok(events)
}

/// Verifies an Auth0 delivery and reads it.
pub fn receive(cfg: &Config, d: &Delivery<'_>) -> Result<Received, WebhookError> {
    if let Some(secrets) = &cfg.action {
        if d.headers.get("webhook-signature").is_some() {
            let parts = standard::verify(secrets, d.headers, d.body, d.now)?;
            return Ok(Received {
                events: parse(d.body, Some(&parts.id))?,
                replay_key: Some(parts.replay_key()),
                ..Received::default()
            });
        }
    }
    let accepted = accepted_authorizations(cfg);
    if accepted.is_empty() {
        // Only the Action secret is set, and this delivery is not signed.
        return Err(WebhookError::MissingHeader("webhook-signature"));
    }
    let accepted: Vec<&str> = accepted.iter().map(String::as_str).collect();
    sig::shared_secret(
        d.headers,
        (
            "authorization",
            "AUTH0_WEBHOOK_TOKEN or AUTH0_WEBHOOK_BASIC",
        ),
        &accepted,
    )?;
    Ok(Received {
        events: parse(d.body, None)?,
        ..Received::default()
    })
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

    /// Verbatim: the documented Event Streams test delivery
    /// (<https://auth0.com/docs/customize/events/event-testing-observability-and-failure-recovery>).
    const DOCUMENTED: &str =
        include_str!("../../tests/fixtures/auth0_event_stream_user_created.json");
    /// Constructed from the fields of Auth0's log events (no verbatim `ss` sample exists;
    /// <https://auth0.com/docs/deploy-monitor/logs/log-event-type-codes>):
    /// an `ss` and an `fs` log as JSON lines.
    const LOGS: &str = include_str!("../../tests/fixtures/auth0_log_stream_ss.jsonl");
    /// Constructed from the `user.updated` schema of Auth0's event catalog
    /// (<https://auth0.com/docs/events/user/user.updated>): the documented test user, now with a
    /// name and picture, and the `previous_object`.
    const UPDATED: &str = include_str!("../../tests/fixtures/auth0_event_stream_user_updated.json");
    /// Constructed from the `user.deleted` schema (<https://auth0.com/docs/events/user/user.deleted>).
    const DELETED: &str = include_str!("../../tests/fixtures/auth0_event_stream_user_deleted.json");
    /// Constructed like `LOGS`: the `sapi` log of a Management API delete, then its `sdu`.
    const DELETE_LOGS: &str = include_str!("../../tests/fixtures/auth0_log_stream_sdu.jsonl");
    const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn cfg(token: bool, basic: bool, action: bool) -> Config {
        let get = move |k: &str| match k {
            SECRET if token => Some("tok3n".to_owned()),
            BASIC if basic => Some("tim:pa55".to_owned()),
            ACTION_SECRET if action => Some(WHSEC.to_owned()),
            _ => None,
        };
        config(&get).unwrap().unwrap()
    }

    fn run(cfg: &Config, headers: &[(&str, &str)], body: &str) -> Result<Received, WebhookError> {
        sig::deliver(headers.iter().copied(), body, 1000, |d| receive(cfg, d))
    }

    #[test]
    fn documented_event_stream() {
        let r = run(
            &cfg(true, false, false),
            &[("Authorization", "Bearer tok3n")],
            DOCUMENTED,
        )
        .unwrap();
        let expected = User {
            at: Some(1_738_518_961),
            user_id: "auth0|679fb1b1e809445f129bc18d".into(),
            nick: Some("nick-testing-21".into()),
            face_url: Some("test.png".into()),
            event_id: Some("evt_6SfwXrtm8nVcjzzNCFFH1L".into()),
        };
        assert_eq!(r.events, vec![Event::Created(expected)]);
        assert_eq!(r.replay_key, None);
    }

    #[test]
    fn log_stream_in_every_format() {
        let ss = User {
            at: Some(1_714_564_800),
            user_id: "auth0|6632f1d7e4b0a1b2c3d4e5f6".into(),
            nick: Some("jane.doe".into()),
            face_url: None,
            event_id: Some("90020240501120000123000000000000000000000000000001".into()),
        };
        let expected = vec![Event::Created(ss), Event::Ignored("fs".into())];
        let lines: Vec<&str> = LOGS.lines().collect();
        let array = format!("[{}]", lines.join(","));
        let c = cfg(true, false, false);
        for body in [LOGS, array.as_str()] {
            let r = run(&c, &[("authorization", "tok3n")], body).unwrap();
            assert_eq!(r.events, expected);
        }
        let one = run(&c, &[("authorization", "tok3n")], lines[0]).unwrap();
        assert_eq!(one.events[..], expected[..1]);
        let username = parse(
            br#"{"log_id":"l2","data":{"type":"ss","user_id":"sms|1","user_name":"neo"}}"#,
            None,
        )
        .unwrap();
        assert!(matches!(&username[..], [Event::Created(s)] if s.nick.as_deref() == Some("neo")));
    }

    #[test]
    fn documented_updates_and_deletions() {
        let updated = User {
            user_id: "auth0|679fb1b1e809445f129bc18d".into(),
            nick: Some("Nick Testing".into()),
            face_url: Some("https://s.gravatar.com/avatar/nick-testing-21.png".into()),
            event_id: Some("evt_8Hk2QmZp4Tn7Wx1c".into()),
            at: Some(1_738_573_960),
        };
        assert_eq!(
            parse(UPDATED.as_bytes(), None),
            Ok(vec![Event::Updated(updated)])
        );
        let deleted = User {
            user_id: "auth0|679fb1b1e809445f129bc18d".into(),
            event_id: Some("evt_3Rb9YtLw6Vc2Nq8e".into()),
            at: Some(1_738_677_607),
            ..User::default()
        };
        assert_eq!(
            parse(DELETED.as_bytes(), None),
            Ok(vec![Event::Deleted(deleted)])
        );
        let sdu = User {
            user_id: "auth0|6632f1d7e4b0a1b2c3d4e5f6".into(),
            event_id: Some("90020240502093000789000000000000000000000000000004".into()),
            at: Some(1_714_642_200),
            ..User::default()
        };
        let r = run(
            &cfg(true, false, false),
            &[("authorization", "tok3n")],
            DELETE_LOGS,
        );
        assert_eq!(
            r.map(|r| r.events),
            Ok(vec![Event::Ignored("sapi".into()), Event::Deleted(sdu)])
        );
        // A 33-byte id is read as sent; the mapping fits it to Tencent.
        let long = format!("auth0|{}", "a".repeat(27));
        let body = DELETED.replace("auth0|679fb1b1e809445f129bc18d", &long);
        assert!(matches!(&parse(body.as_bytes(), None).unwrap()[..],
            [Event::Deleted(u)] if u.user_id == long && long.len() == 33));
        for bad in [
            &br#"{"specversion":"1.0","type":"user.deleted","data":{"object":{}}}"#[..],
            br#"{"specversion":"1.0","type":"user.updated","data":{}}"#,
            br#"{"log_id":"l3","data":{"type":"sdu","user_id":""}}"#,
        ] {
            assert!(
                refused(parse(bad, None)),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn stream_authorization() {
        let c = cfg(true, true, false);
        let basic = format!("Basic {}", STANDARD.encode("tim:pa55"));
        for ok in ["Bearer tok3n", "tok3n", basic.as_str()] {
            assert!(
                run(&c, &[("Authorization", ok)], DOCUMENTED).is_ok(),
                "{ok}"
            );
        }
        let wrong_basic = format!("Basic {}", STANDARD.encode("tim:pa56"));
        for bad in [
            "Bearer tok3",
            "Bearer tok3nn",
            "Basic tok3n",
            wrong_basic.as_str(),
        ] {
            assert_eq!(
                run(&c, &[("Authorization", bad)], DOCUMENTED),
                Err(WebhookError::WrongSecret {
                    header: "authorization",
                    setting: "AUTH0_WEBHOOK_TOKEN or AUTH0_WEBHOOK_BASIC"
                }),
                "{bad}"
            );
        }
        assert_eq!(
            run(&c, &[], DOCUMENTED),
            Err(WebhookError::MissingHeader("authorization"))
        );
        assert_eq!(
            run(&c, &[("Authorization", "nope")], "junk").map_err(|e| e.is_auth()),
            Err(true)
        );
        // A token configured with its scheme works the same.
        let with_scheme = config(&|k: &str| (k == SECRET).then(|| "Bearer tok3n".to_owned()))
            .unwrap()
            .unwrap();
        assert!(run(
            &with_scheme,
            &[("authorization", "Bearer tok3n")],
            DOCUMENTED
        )
        .is_ok());
    }

    fn action_body() -> String {
        serde_json::json!({
            "type": ACTION_EVENT,
            "user": {
                "user_id": "auth0|6632f1d7e4b0a1b2c3d4e5f6",
                "email": "jane@example.com",
                "given_name": "Jane",
                "family_name": "Doe",
                "name": "jane@example.com",
                "picture": "https://s.gravatar.com/avatar/x.png"
            }
        })
        .to_string()
    }

    fn signed(secret: &str, id: &str, ts: i64, body: &str) -> [(&'static str, String); 3] {
        let sig = standard::Secret::parse(secret)
            .unwrap()
            .sign(id, ts, body.as_bytes());
        [
            ("webhook-id", id.to_owned()),
            ("webhook-timestamp", ts.to_string()),
            ("webhook-signature", sig),
        ]
    }

    fn run_signed(
        cfg: &Config,
        h: &[(&'static str, String)],
        body: &str,
    ) -> Result<Received, WebhookError> {
        let h = h.iter().map(|(k, v)| (*k, v.as_str()));
        sig::deliver(h, body, 1000, |d| receive(cfg, d))
    }

    #[test]
    fn action_is_standard_webhooks_signed() {
        let body = action_body();
        let c = cfg(true, false, true);
        let r = run_signed(&c, &signed(WHSEC, "msg_1", 1000, &body), &body).unwrap();
        let expected = User {
            at: None,
            user_id: "auth0|6632f1d7e4b0a1b2c3d4e5f6".into(),
            nick: Some("Jane Doe".into()),
            face_url: Some("https://s.gravatar.com/avatar/x.png".into()),
            event_id: Some("msg_1".into()),
        };
        assert_eq!(r.events, vec![Event::Created(expected)]);
        assert_eq!(r.replay_key.as_deref(), Some("msg_1.1000"));
        let other = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
        assert_eq!(
            run_signed(&c, &signed(other, "msg_1", 1000, &body), &body),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            run_signed(
                &c,
                &signed(WHSEC, "msg_1", 1000, &body),
                &body.replace("Jane", "Eve")
            ),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            run_signed(&c, &signed(WHSEC, "msg_1", 1301, &body), &body),
            Err(WebhookError::StaleTimestamp(-301))
        );
        let [id, _, sig] = signed(WHSEC, "msg_1", 1000, &body);
        assert_eq!(
            run_signed(&c, &[id, sig], &body),
            Err(WebhookError::MissingHeader("webhook-timestamp"))
        );
        // Only the Action is set up: an unsigned delivery names the missing signature.
        assert_eq!(
            run(
                &cfg(false, false, true),
                &[("authorization", "Bearer tok3n")],
                &body
            ),
            Err(WebhookError::MissingHeader("webhook-signature"))
        );
        // No Action secret: a signature header is not a way around the stream token.
        let stream_only = cfg(true, false, false);
        assert_eq!(
            run_signed(&stream_only, &signed(WHSEC, "msg_1", 1000, &body), &body),
            Err(WebhookError::MissingHeader("authorization"))
        );
    }

    #[test]
    fn nick_fallbacks_other_events_and_bad_bodies() {
        let only_name = parse(
            br#"{"type":"auth0.post_user_registration","user":{"user_id":"u1","name":"Full Name"}}"#,
            None,
        )
        .unwrap();
        let expected = User {
            at: None,
            user_id: "u1".into(),
            nick: Some("Full Name".into()),
            face_url: None,
            event_id: Some("u1".into()),
        };
        assert_eq!(only_name, vec![Event::Created(expected)]);
        assert_eq!(
            parse(
                br#"{"specversion":"1.0","id":"evt_1","type":"organization.deleted","data":{"object":{}}}"#,
                None
            )
            .unwrap(),
            vec![Event::Ignored("organization.deleted".into())]
        );
        let created_at = parse(
            br#"{"type":"auth0.post_user_registration","user":{"user_id":"u2","created_at":"2024-05-01T12:00:00Z"}}"#,
            None,
        )
        .unwrap();
        assert!(matches!(&created_at[..], [Event::Created(u)] if u.at == Some(1_714_564_800)));
        assert_eq!(
            parse(br#"{"type":"something.else"}"#, None).unwrap(),
            vec![Event::Ignored("something.else".into())]
        );
        for bad in [
            &b""[..],
            b"[]",
            b"junk",
            b"{}",
            br#"{"a":1} {"#,
            br#"{"specversion":"1.0","type":"user.created","data":{}}"#,
            br#"{"specversion":"1.0","type":"user.created","data":{"object":{"email":"a@b"}}}"#,
            br#"{"log_id":"l1","data":{"type":"ss"}}"#,
            br#"{"log_id":"l1","data":{}}"#,
            br#"{"type":"auth0.post_user_registration"}"#,
        ] {
            assert!(
                refused(parse(bad, None)),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn config_names_the_variable_and_hides_secrets() {
        assert!(config(&|_: &str| None).unwrap().is_none());
        let no_colon = |k: &str| (k == BASIC).then(|| "justapassword".to_owned());
        assert_eq!(config(&no_colon).unwrap_err().var(), BASIC);
        let bad_whsec = |k: &str| (k == ACTION_SECRET).then(|| "not base64!".to_owned());
        assert_eq!(config(&bad_whsec).unwrap_err().var(), ACTION_SECRET);
        let shown = format!("{:?}", cfg(true, true, true));
        assert!(
            !shown.contains("tok3n") && !shown.contains("pa55"),
            "{shown}"
        );
    }

    #[test]
    fn a_broken_json_line_costs_only_itself() {
        let good =
            r#"{"log_id":"l1","data":{"type":"ss","user_id":"auth0|abc","user_name":"a@b.c"}}"#;
        let body = format!("{good}\n{{\"log_id\": \"9002\", \"data\": {{\n");
        let events = parse(body.as_bytes(), None).unwrap();
        assert!(
            matches!(&events[..], [Event::Created(u), Event::Invalid(_)] if u.user_id == "auth0|abc")
        );
        // A pretty-printed single object still reads whole.
        let pretty =
            serde_json::to_string_pretty(&serde_json::from_str::<Value>(good).unwrap()).unwrap();
        assert!(matches!(
            &parse(pretty.as_bytes(), None).unwrap()[..],
            [Event::Created(_)]
        ));
    }
}
