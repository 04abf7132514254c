//! Supabase Database Webhook on `auth.users` INSERT, UPDATE and DELETE
//! (<https://supabase.com/docs/guides/database/webhooks>).
//!
//! pg_net sends the trigger's static headers and no signature, so the only proof of origin is a
//! shared secret in a header we choose (`x-webhook-secret` unless configured otherwise). The body
//! is the raw `auth.users` row (`record`, and `old_record` for UPDATE and DELETE): profile data
//! sits in `raw_user_meta_data`, not `user_metadata`. The row also holds `encrypted_password`
//! and tokens, so only `id`, `email`, `raw_user_meta_data`, `updated_at` and `deleted_at` are
//! ever read, and no error message quotes the row.
//!
//! Every sign-in rewrites `last_sign_in_at`, so an UPDATE is a profile change only when the Nick
//! or FaceUrl read from `record` differs from the one read from `old_record`; any other UPDATE
//! is ignored. An UPDATE that sets `deleted_at` is Supabase's soft delete, read as a deletion;
//! a DELETE is a hard delete (user in `old_record`). There is no timestamp header and retries
//! are byte-identical, so there is no replay key; the row id (with `updated_at` for updates)
//! de-duplicates, and `updated_at` is the event time.

use super::{sig, Change, Delivery, Lifecycle, Received, Spec, WebhookError, DEFAULT_BUDGET_MS};
use crate::event::{Event, User};
use crate::identity::pick_nick;
use crate::ports::HeaderMap;
use crate::settings::{ConfigError, Settings};
use serde::Deserialize;
use serde_json::Value;

/// Supabase Database Webhook on `auth.users`.
pub const SPEC: Spec = Spec {
    name: "supabase-db",
    prefix: "SUPABASE_DB",
    switch: SECRET,
    id_prefixes: &[],
    budget_ms: DEFAULT_BUDGET_MS,
    success_body: None,
    challenge: None,
    lifecycle: Lifecycle {
        created: &["INSERT auth.users"],
        updated: &["UPDATE auth.users"],
        deleted: &["DELETE auth.users", "UPDATE auth.users setting deleted_at"],
    },
};

/// Setting: the shared secret the trigger sends in its header.
pub const SECRET: &str = "SUPABASE_DB_WEBHOOK_SECRET";
/// Setting: the header that carries the secret (default [`DEFAULT_HEADER`]).
pub const HEADER: &str = "SUPABASE_DB_WEBHOOK_HEADER";
/// The header the secret is expected in unless [`HEADER`] says otherwise.
pub const DEFAULT_HEADER: &str = "x-webhook-secret";

/// This provider's settings.
#[derive(Debug)]
pub struct Config {
    secret: sig::RawSecret,
    header: String,
}

/// Reads this provider's settings; `None` when `SUPABASE_DB_WEBHOOK_SECRET` is unset.
pub fn config(get: &dyn Settings) -> Result<Option<Config>, ConfigError> {
    let Some(secret) = sig::RawSecret::setting(get, SECRET) else {
        return Ok(None);
    };
    let header = get
        .get(HEADER)
        .unwrap_or_else(|| DEFAULT_HEADER.to_owned())
        .to_ascii_lowercase();
    // RFC 9110 token characters: anything else could never arrive as a header name.
    let is_token = header
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !is_token {
        return Err(ConfigError::invalid(
            HEADER,
            "expected an HTTP header name such as x-webhook-secret",
        ));
    }
    Ok(Some(Config { secret, header }))
}

/// Nick and FaceUrl from Supabase user metadata: full name, else username, else the email's local
/// part; avatar, else picture. The row's `raw_user_meta_data` has the same keys as the Auth hooks'
/// `user_metadata` (the Auth hook in `supabase.rs` uses this too). Apps can put anything in this metadata at
/// signup (`options.data`), so a value that is not a string counts as absent rather than failing
/// the delivery and losing the user.
pub fn profile(meta: &Value, email: Option<&str>) -> (Option<String>, Option<String>) {
    let nick = pick_nick(
        super::text_at(meta, &["/full_name", "/name"]),
        None,
        super::text_at(meta, &["/preferred_username", "/user_name"]),
        email,
    );
    let face = super::text_at(meta, &["/avatar_url", "/picture"]).map(str::to_owned);
    (nick, face)
}

#[derive(Deserialize)]
struct Payload {
    #[serde(rename = "type")]
    kind: Option<String>,
    schema: Option<String>,
    table: Option<String>,
    // Read only through `text_at` and friends: never deserialised as a whole, never quoted.
    #[serde(default)]
    record: Value,
    #[serde(default)]
    old_record: Value,
}

/// The row's user id and profile (Nick, FaceUrl), `what` naming the row in errors.
fn read_row(row: &Value, what: &str) -> Result<User, WebhookError> {
    let user_id = super::text_at(row, &["/id"])
        .ok_or_else(|| super::malformed(format!("{what}.id is missing")))?;
    let meta = row.get("raw_user_meta_data").unwrap_or(&Value::Null);
    let (nick, face_url) = profile(meta, super::text_at(row, &["/email"]));
    Ok(User {
        user_id: user_id.to_owned(),
        nick,
        face_url,
        event_id: None,
        at: super::time_at(row, &["/updated_at"]),
    })
}

/// INSERT: a signup; the row id de-duplicates (a row is inserted once).
fn inserted(record: &Value) -> Result<Event, WebhookError> {
    let user = read_row(record, "record")?;
    Ok(Event::Created(User {
        event_id: Some(user.user_id.clone()),
        ..user
    }))
}

/// UPDATE: a soft delete, a profile change, or (e.g. a sign-in) nothing we act on.
fn updated(record: &Value, old_record: &Value) -> Result<Event, WebhookError> {
    let user = read_row(record, "record")?;
    let deleted_at = super::time_at(record, &["/deleted_at"]);
    if deleted_at.is_some() && super::time_at(old_record, &["/deleted_at"]).is_none() {
        return Ok(Change::Deleted.event(User {
            event_id: Some(user.user_id.clone()),
            at: deleted_at,
            ..user
        }));
    }
    // Without the old row (a custom trigger may leave it out) every UPDATE counts as a change.
    let unchanged = old_record.is_object()
        && read_row(old_record, "old_record")
            .is_ok_and(|old| (&old.nick, &old.face_url) == (&user.nick, &user.face_url));
    if unchanged {
        return Ok(Event::Ignored(
            "UPDATE auth.users (no profile change)".into(),
        ));
    }
    let version = super::text_at(record, &["/updated_at"]);
    Ok(Event::Updated(User {
        event_id: version.map(|v| format!("{}@{v}", user.user_id)),
        ..user
    }))
}

/// DELETE: a hard delete; the row is `old_record`. Nothing in it dates the deletion.
fn deleted(old_record: &Value) -> Result<Event, WebhookError> {
    let user = read_row(old_record, "old_record")?;
    Ok(Change::Deleted.event(User {
        event_id: Some(user.user_id.clone()),
        at: None,
        ..user
    }))
}

/// Reads a Database Webhook body (already authenticated).
pub fn parse(body: &[u8]) -> Result<Event, WebhookError> {
    let p: Payload = super::from_json(body)
        .map_err(|e| super::malformed(format!("not a Supabase database webhook: {e}")))?;
    let (kind, schema, table) = (
        p.kind.unwrap_or_default(),
        p.schema.unwrap_or_default(),
        p.table.unwrap_or_default(),
    );
    if kind.is_empty() {
        return Err(super::malformed("no type"));
    }
    match (kind.as_str(), (schema.as_str(), table.as_str())) {
        ("INSERT", ("auth", "users")) => inserted(&p.record),
        ("UPDATE", ("auth", "users")) => updated(&p.record, &p.old_record),
        ("DELETE", ("auth", "users")) => deleted(&p.old_record),
        _ => Ok(Event::Ignored(format!("{kind} {schema}.{table}"))),
    }
}

/// Presents the configured header under the fixed name `sig::shared_secret` reports when it is
/// missing (that name must be `'static`; the configured one is not).
struct Renamed<'a> {
    headers: &'a dyn HeaderMap,
    name: &'a str,
}

impl HeaderMap for Renamed<'_> {
    fn get(&self, _: &str) -> Option<String> {
        self.headers.get(self.name)
    }
}

/// Checks the shared secret header, then reads the row.
pub fn receive(cfg: &Config, d: &Delivery<'_>) -> Result<Received, WebhookError> {
    // A custom header is reported by the setting that names it.
    let label = [DEFAULT_HEADER, "authorization"]
        .into_iter()
        .find(|h| *h == cfg.header)
        .unwrap_or(HEADER);
    let bearer = format!("Bearer {}", cfg.secret.as_str());
    let mut accepted = vec![cfg.secret.as_str()];
    if cfg.header == "authorization" {
        accepted.push(&bearer);
    }
    let headers = Renamed {
        headers: d.headers,
        name: &cfg.header,
    };
    sig::shared_secret(&headers, (label, SECRET), &accepted)?;
    Ok(Received::one(parse(d.body)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Constructed from the payload the trigger's SQL builds and the `auth.users` columns; not a
    /// vendor sample.
    const DOCUMENTED: &str = include_str!("../../tests/fixtures/supabase_db_insert.json");
    /// Constructed likewise: an UPDATE whose `raw_user_meta_data` gets a new full name (the
    /// whole row, password hash and tokens included, as the generated trigger sends it).
    const UPDATED: &str = include_str!("../../tests/fixtures/supabase_db_update.json");
    /// The same row after a sign-in: only `last_sign_in_at` and `updated_at` differ.
    const SIGN_IN: &str = include_str!("../../tests/fixtures/supabase_db_update_sign_in.json");
    /// A hard delete: `record` null, the row in `old_record`.
    const DELETED: &str = include_str!("../../tests/fixtures/supabase_db_delete.json");
    const ID: &str = "ff7fc9ae-3b1b-4642-9241-64adb9848a03";

    fn cfg(header: Option<&str>) -> Config {
        let get = |k: &str| match k {
            SECRET => Some("s3cret".to_owned()),
            HEADER => header.map(str::to_owned),
            _ => None,
        };
        config(&get).unwrap().unwrap()
    }

    fn run(cfg: &Config, headers: &[(&str, &str)], body: &str) -> Result<Received, WebhookError> {
        sig::deliver(headers.iter().copied(), body, 0, |d| receive(cfg, d))
    }

    #[test]
    fn documented_payload() {
        let r = run(&cfg(None), &[("X-Webhook-Secret", "s3cret")], DOCUMENTED).unwrap();
        assert_eq!(r.replay_key, None);
        let expected = User {
            at: Some(1_745_957_604),
            user_id: "ff7fc9ae-3b1b-4642-9241-64adb9848a03".into(),
            nick: Some("Jane Doe".into()),
            face_url: Some("https://lh3.googleusercontent.com/a/XYZ".into()),
            event_id: Some("ff7fc9ae-3b1b-4642-9241-64adb9848a03".into()),
        };
        assert_eq!(r.events, vec![Event::Created(expected)]);
    }

    #[test]
    fn name_change_is_an_update_and_a_sign_in_is_not() {
        let expected = User {
            user_id: ID.into(),
            nick: Some("Jane Smith".into()),
            face_url: Some("https://lh3.googleusercontent.com/a/XYZ".into()),
            event_id: Some(format!("{ID}@2025-05-08T11:02:45.087311+00:00")),
            at: Some(1_746_702_165),
        };
        assert_eq!(parse(UPDATED.as_bytes()), Ok(Event::Updated(expected)));
        assert_eq!(
            parse(SIGN_IN.as_bytes()),
            Ok(Event::Ignored(
                "UPDATE auth.users (no profile change)".into()
            ))
        );
        // A new avatar alone, or an email change that moves the email-derived Nick, count too.
        let avatar = SIGN_IN.replacen("a/XYZ", "a/NEW", 2);
        assert!(matches!(parse(avatar.as_bytes()), Ok(Event::Updated(u))
            if u.face_url.as_deref() == Some("https://lh3.googleusercontent.com/a/NEW")));
        let update = |old: &str, new: &str| {
            let body = format!(
                r#"{{"type":"UPDATE","table":"users","schema":"auth","record":{new},"old_record":{old}}}"#
            );
            parse(body.as_bytes())
        };
        let (a, b) = (
            r#"{"id":"u","email":"a@x.io"}"#,
            r#"{"id":"u","email":"b@x.io"}"#,
        );
        assert!(matches!(update(a, b), Ok(Event::Updated(u)) if u.nick.as_deref() == Some("b")));
        let named = r#"{"id":"u","email":"b@x.io","raw_user_meta_data":{"name":"Neo"}}"#;
        let renamed = r#"{"id":"u","email":"a@x.io","raw_user_meta_data":{"name":"Neo"}}"#;
        assert!(matches!(update(named, renamed), Ok(Event::Ignored(_))));
        // Without the old row, every UPDATE is passed on.
        assert!(matches!(update("null", a), Ok(Event::Updated(u)) if u.event_id.is_none()));
    }

    #[test]
    fn hard_and_soft_deletes() {
        let gone = User {
            user_id: ID.into(),
            event_id: Some(ID.into()),
            ..User::default()
        };
        assert_eq!(parse(DELETED.as_bytes()), Ok(Event::Deleted(gone.clone())));
        // Soft delete: an UPDATE that sets deleted_at (Supabase also scrambles the email then).
        let soft = SIGN_IN.replacen(
            r#""deleted_at": null"#,
            r#""deleted_at": "2025-05-09T00:00:00+00:00""#,
            1,
        );
        let soft_gone = User {
            at: Some(1_746_748_800),
            ..gone
        };
        assert_eq!(parse(soft.as_bytes()), Ok(Event::Deleted(soft_gone)));
        // Once soft-deleted, later UPDATEs are not deletions again.
        let both = r#"{"id":"u","deleted_at":"2025-05-09T00:00:00Z"}"#;
        let body = format!(
            r#"{{"type":"UPDATE","table":"users","schema":"auth","record":{both},"old_record":{both}}}"#
        );
        assert!(matches!(parse(body.as_bytes()), Ok(Event::Ignored(_))));
        // A 33-byte id is read as sent: fitting it to Tencent is the mapping's job.
        let long = "x".repeat(33);
        let body = DELETED.replace(ID, &long);
        assert!(matches!(parse(body.as_bytes()), Ok(Event::Deleted(u)) if u.user_id == long));
    }

    #[test]
    fn secrets_in_the_row_never_leave_it() {
        let secrets = ["$2a$10$FAKE", "fake-recovery-token", "last_sign_in_at"];
        for body in [UPDATED, SIGN_IN, DELETED] {
            let shown = format!("{:?}", parse(body.as_bytes()));
            assert!(secrets.iter().all(|s| !shown.contains(s)), "{shown}");
        }
        // Nor in errors about an authentic but unusable row.
        let no_id = UPDATED.replacen(&format!(r#""id": "{ID}","#), "", 1);
        let err = parse(no_id.as_bytes()).unwrap_err().to_string();
        assert!(secrets.iter().all(|s| !err.contains(s)), "{err}");
        for bad in [
            r#"{"type":"UPDATE","table":"users","schema":"auth","record":null,"old_record":{"id":"u"}}"#,
            r#"{"type":"DELETE","table":"users","schema":"auth","record":null,"old_record":null}"#,
            r#"{"type":"DELETE","table":"users","schema":"auth","old_record":{"id":7}}"#,
        ] {
            assert!(
                matches!(parse(bad.as_bytes()), Err(WebhookError::Malformed(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn secret_header_checks() {
        let c = cfg(None);
        assert_eq!(
            run(&c, &[("x-webhook-secret", "s3cre")], DOCUMENTED),
            Err(WebhookError::WrongSecret {
                header: "x-webhook-secret",
                setting: SECRET
            })
        );
        assert_eq!(
            run(&c, &[("authorization", "Bearer s3cret")], DOCUMENTED),
            Err(WebhookError::MissingHeader(DEFAULT_HEADER))
        );
        // Authentication comes before parsing: junk with a wrong secret is a 401, not a 400.
        assert_eq!(
            run(&c, &[("x-webhook-secret", "nope")], "junk"),
            Err(WebhookError::WrongSecret {
                header: "x-webhook-secret",
                setting: SECRET
            })
        );
        let auth = cfg(Some("Authorization"));
        for value in ["Bearer s3cret", "s3cret"] {
            assert!(run(&auth, &[("authorization", value)], DOCUMENTED).is_ok());
        }
        assert_eq!(
            run(&auth, &[("authorization", "Bearer s3cre")], DOCUMENTED),
            Err(WebhookError::WrongSecret {
                header: "authorization",
                setting: SECRET
            })
        );
        let custom = cfg(Some("x-tim-key"));
        assert!(run(&custom, &[("X-Tim-Key", "s3cret")], DOCUMENTED).is_ok());
        // Bearer is only meaningful in Authorization.
        assert_eq!(
            run(&custom, &[("x-tim-key", "Bearer s3cret")], DOCUMENTED),
            Err(WebhookError::WrongSecret {
                header: HEADER,
                setting: SECRET
            })
        );
        assert_eq!(
            run(&custom, &[("x-webhook-secret", "s3cret")], DOCUMENTED),
            Err(WebhookError::MissingHeader(HEADER))
        );
    }

    #[test]
    fn other_rows_are_ignored_and_bad_bodies_refused() {
        assert_eq!(
            parse(br#"{"type":"TRUNCATE","table":"users","schema":"auth","record":null}"#).unwrap(),
            Event::Ignored("TRUNCATE auth.users".into())
        );
        assert_eq!(
            parse(br#"{"type":"INSERT","table":"profiles","schema":"public","record":{"id":"x"}}"#)
                .unwrap(),
            Event::Ignored("INSERT public.profiles".into())
        );
        for bad in [
            &b"not json"[..],
            b"{}",
            b"[]",
            br#"{"type":"INSERT","table":"users","schema":"auth","record":null}"#,
            br#"{"type":"INSERT","table":"users","schema":"auth","record":{"email":"a@b"}}"#,
            br#"{"type":"INSERT","table":"users","schema":"auth","record":{"id":""}}"#,
        ] {
            assert!(
                matches!(parse(bad), Err(WebhookError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn profile_fallbacks() {
        let one = |meta: &str| {
            match parse(
            format!(r#"{{"type":"INSERT","table":"users","schema":"auth","record":{{"id":"u","email":"neo@x.io","raw_user_meta_data":{meta}}}}}"#)
                .as_bytes(),
        )
        .unwrap()
        {
            Event::Created(s) => (s.nick, s.face_url),
            other => panic!("{other:?}"),
        }
        };
        assert_eq!(
            one(r#"{"name":"Neo A","picture":"https://p/1"}"#),
            (Some("Neo A".into()), Some("https://p/1".into()))
        );
        assert_eq!(
            one(r#"{"full_name":"","user_name":"neo","avatar_url":""}"#),
            (Some("neo".into()), None)
        );
        assert_eq!(one("{}"), (Some("neo".into()), None));
        assert_eq!(one("null"), (Some("neo".into()), None));
        assert_eq!(
            one(r#"{"name":42,"full_name":["x"],"picture":{"u":1}}"#),
            (Some("neo".into()), None)
        );
    }

    #[test]
    fn config_names_the_variable_and_hides_the_secret() {
        assert!(config(&|_: &str| None).unwrap().is_none());
        let bad = |k: &str| match k {
            SECRET => Some("s3cret".to_owned()),
            HEADER => Some("x bad:".to_owned()),
            _ => None,
        };
        assert_eq!(config(&bad).unwrap_err().var(), HEADER);
        assert!(!format!("{:?}", cfg(None)).contains("s3cret"));
    }
}
