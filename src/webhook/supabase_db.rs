//! Supabase Database Webhook on `auth.users` INSERT (auth-webhooks.md §3.2).
//!
//! pg_net sends the trigger's static headers and no signature, so the only proof of origin is a
//! shared secret in a header we choose (`x-webhook-secret` unless configured otherwise). The body
//! is the raw `auth.users` row: profile data sits in `raw_user_meta_data`, not `user_metadata`.
//! There is no timestamp and retries are byte-identical, so there is no replay key; the row id
//! de-duplicates.

use super::{sig, Delivery, Event, Get, HeaderMap, Received, Signup, WebhookError};
use crate::config::ConfigError;
use crate::identity::pick_nick;
use serde::Deserialize;
use serde_json::Value;

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
pub fn config(get: Get<'_>) -> Result<Option<Config>, ConfigError> {
    let Some(secret) = sig::RawSecret::setting(get, SECRET) else {
        return Ok(None);
    };
    let header = super::setting(get, HEADER)
        .unwrap_or_else(|| DEFAULT_HEADER.to_owned())
        .to_ascii_lowercase();
    // RFC 9110 token characters: anything else could never arrive as a header name.
    let is_token = header
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !is_token {
        return Err(ConfigError::Invalid {
            var: HEADER,
            reason: "expected an HTTP header name such as x-webhook-secret",
        });
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
        sig::text_at(meta, &["/full_name", "/name"]),
        None,
        sig::text_at(meta, &["/preferred_username", "/user_name"]),
        email,
    );
    let face = sig::text_at(meta, &["/avatar_url", "/picture"]).map(str::to_owned);
    (nick, face)
}

#[derive(Deserialize)]
struct Payload {
    #[serde(rename = "type")]
    kind: Option<String>,
    schema: Option<String>,
    table: Option<String>,
    record: Option<Record>,
}

#[derive(Deserialize)]
struct Record {
    id: Option<String>,
    email: Option<String>,
    #[serde(default)]
    raw_user_meta_data: Value,
}

/// Reads a Database Webhook body (already authenticated).
pub fn parse(body: &[u8]) -> Result<Event, WebhookError> {
    let p: Payload = serde_json::from_slice(body)
        .map_err(|e| super::malformed(format!("not a Supabase database webhook: {e}")))?;
    let (kind, schema, table) = (
        p.kind.unwrap_or_default(),
        p.schema.unwrap_or_default(),
        p.table.unwrap_or_default(),
    );
    if kind.is_empty() {
        return Err(super::malformed("no type"));
    }
    if (kind.as_str(), schema.as_str(), table.as_str()) != ("INSERT", "auth", "users") {
        return Ok(Event::Ignored(format!("{kind} {schema}.{table}")));
    }
    let record = p
        .record
        .ok_or_else(|| super::malformed("INSERT without record"))?;
    let user_id = record
        .id
        .filter(|id| !id.is_empty())
        .ok_or_else(|| super::malformed("record.id is missing"))?;
    let (nick, face_url) = profile(&record.raw_user_meta_data, record.email.as_deref());
    Ok(Event::Signup(Signup {
        event_id: Some(user_id.clone()),
        user_id,
        nick,
        face_url,
    }))
}

/// Presents the configured header under the fixed name `sig::shared_secret` reports when it is
/// missing (that name must be `'static`; the configured one is not).
struct Renamed<'a, H: ?Sized> {
    headers: &'a H,
    name: &'a str,
}

impl<H: HeaderMap + ?Sized> HeaderMap for Renamed<'_, H> {
    fn get(&self, _: &str) -> Option<String> {
        self.headers.get(self.name)
    }
}

/// Checks the shared secret header, then reads the row.
pub fn receive<H: HeaderMap + ?Sized>(
    cfg: &Config,
    d: &Delivery<'_, H>,
) -> Result<Received, WebhookError> {
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
    sig::shared_secret(&headers, label, &accepted)?;
    Ok(Received::one(parse(d.body)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Constructed from the trigger SQL and the `auth.users` columns (auth-webhooks.md §3.2 gives
    /// it as a constructed example, not a vendor sample).
    const DOCUMENTED: &str = include_str!("../../tests/fixtures/supabase_db_insert.json");

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
        let expected = Signup {
            user_id: "ff7fc9ae-3b1b-4642-9241-64adb9848a03".into(),
            nick: Some("Jane Doe".into()),
            face_url: Some("https://lh3.googleusercontent.com/a/XYZ".into()),
            event_id: Some("ff7fc9ae-3b1b-4642-9241-64adb9848a03".into()),
        };
        assert_eq!(r.events, vec![Event::Signup(expected)]);
    }

    #[test]
    fn secret_header_checks() {
        let c = cfg(None);
        assert_eq!(
            run(&c, &[("x-webhook-secret", "s3cre")], DOCUMENTED),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            run(&c, &[("authorization", "Bearer s3cret")], DOCUMENTED),
            Err(WebhookError::MissingHeader(DEFAULT_HEADER))
        );
        // Authentication comes before parsing: junk with a wrong secret is a 401, not a 400.
        assert_eq!(
            run(&c, &[("x-webhook-secret", "nope")], "junk"),
            Err(WebhookError::BadSignature)
        );
        let auth = cfg(Some("Authorization"));
        for value in ["Bearer s3cret", "s3cret"] {
            assert!(run(&auth, &[("authorization", value)], DOCUMENTED).is_ok());
        }
        assert_eq!(
            run(&auth, &[("authorization", "Bearer s3cre")], DOCUMENTED),
            Err(WebhookError::BadSignature)
        );
        let custom = cfg(Some("x-tim-key"));
        assert!(run(&custom, &[("X-Tim-Key", "s3cret")], DOCUMENTED).is_ok());
        // Bearer is only meaningful in Authorization.
        assert_eq!(
            run(&custom, &[("x-tim-key", "Bearer s3cret")], DOCUMENTED),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            run(&custom, &[("x-webhook-secret", "s3cret")], DOCUMENTED),
            Err(WebhookError::MissingHeader(HEADER))
        );
    }

    #[test]
    fn other_rows_are_ignored_and_bad_bodies_refused() {
        assert_eq!(
            parse(
                br#"{"type":"UPDATE","table":"users","schema":"auth","record":{},"old_record":{}}"#
            )
            .unwrap(),
            Event::Ignored("UPDATE auth.users".into())
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
            Event::Signup(s) => (s.nick, s.face_url),
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
