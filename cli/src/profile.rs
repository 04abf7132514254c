//! From a provider's user object (as its list API or export returns it) to the provider-neutral
//! [`User`] the Worker builds from a signup webhook: the object is wrapped in the smallest signup
//! event the provider documents and read by the Worker's own parser for that provider
//! (`tim_onboard::webhook::<provider>::parse`), so Nick and FaceUrl follow exactly the webhook's
//! rules. Firebase's rule lives inside its JWT check, so it is called at its one shared helper,
//! [`pick_nick`], with the same arguments (`displayName`, `email`; avatar `photoUrl`).

use serde_json::{json, Value};
use tim_onboard::event::{Event, User};
use tim_onboard::identity::pick_nick;
use tim_onboard::webhook;

/// Which provider's user-object shape (and profile rule) a record has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Clerk `UserJSON` (`GET /v1/users`).
    Clerk,
    /// Auth0 user (`GET /api/v2/users`, the export job).
    Auth0,
    /// Firebase account (`firebase auth:export`).
    Firebase,
    /// Supabase user (`GET /auth/v1/admin/users`) or `auth.users` row.
    Supabase,
    /// Stytch user (`POST /v1/users/search`).
    Stytch,
    /// WorkOS user (`GET /user_management/users`).
    Workos,
    /// Kinde user (`GET /api/v1/users`).
    Kinde,
    /// Okta user (`GET /api/v1/users`).
    Okta,
    /// Logto user (`GET /api/users`).
    Logto,
    /// ZITADEL user (`POST /v2/users`, or v1 `_search`).
    Zitadel,
    /// `{id, name, email, avatar}` after the field mapping of the generic formats.
    Generic,
}

impl Shape {
    /// The shape of a provider's own API objects (`standard` has none: generic).
    pub fn of_provider(name: &str) -> Shape {
        match name {
            "clerk" => Shape::Clerk,
            "auth0" => Shape::Auth0,
            "firebase" => Shape::Firebase,
            "supabase" | "supabase-db" => Shape::Supabase,
            "stytch" => Shape::Stytch,
            "workos" => Shape::Workos,
            "kinde" => Shape::Kinde,
            "okta" => Shape::Okta,
            "logto" => Shape::Logto,
            "zitadel" => Shape::Zitadel,
            _ => Shape::Generic,
        }
    }
}

/// One record read from a source: a user to import, or a record that is skipped or bad.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// A user, profile already chosen by the provider's rules.
    User(User),
    /// Deliberately not imported (e.g. a deleted user); the reason and the ID if known.
    Skip {
        /// Why.
        reason: String,
        /// The provider ID, if the record had one.
        id: Option<String>,
    },
    /// Unreadable (no ID, not the documented shape); the reason and the ID if known.
    Bad {
        /// Why.
        reason: String,
        /// The provider ID, if the record had one.
        id: Option<String>,
    },
}

fn first_created(events: Result<Vec<Event>, webhook::WebhookError>) -> Result<User, String> {
    match events.map_err(|e| e.to_string())?.into_iter().next() {
        Some(Event::Created(u)) => Ok(u),
        other => Err(format!("not a user: {other:?}")),
    }
}

fn one(event: Result<Event, webhook::WebhookError>) -> Result<User, String> {
    first_created(event.map(|e| vec![e]))
}

/// Unix seconds as an RFC 3339 UTC date-time (Logto's parser wants a recent `createdAt`).
pub fn iso8601(unix_s: i64) -> String {
    let days = unix_s.div_euclid(86_400);
    let secs = unix_s.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn text<'a>(v: &'a Value, pointers: &[&str]) -> Option<&'a str> {
    webhook::text_at(v, pointers)
}

/// The ID a record of `shape` carries, for messages about records that could not be read.
pub fn id_of(shape: Shape, v: &Value) -> Option<String> {
    let ptrs: &[&str] = match shape {
        Shape::Auth0 => &["/user_id"],
        Shape::Firebase => &["/localId", "/uid"],
        Shape::Stytch => &["/user_id"],
        Shape::Zitadel => &["/userId", "/id"],
        _ => &["/id"],
    };
    text(v, ptrs).map(str::to_owned)
}

/// Reads one user object of `shape` by the provider's webhook rules; `now` is Unix seconds.
pub fn parse(shape: Shape, v: &Value, now: i64) -> Parsed {
    let id = id_of(shape, v);
    let bad = |reason: String| Parsed::Bad {
        reason,
        id: id.clone(),
    };
    if id.is_none() {
        return bad("the record has no user id".into());
    }
    let skip = |reason: &str| Parsed::Skip {
        reason: reason.to_owned(),
        id: id.clone(),
    };
    let user = match shape {
        Shape::Clerk => one(webhook::clerk::parse(
            json!({"type": "user.created", "data": v})
                .to_string()
                .as_bytes(),
            None,
        )),
        Shape::Auth0 => first_created(webhook::auth0::parse(
            json!({"type": webhook::auth0::ACTION_EVENT, "user": v})
                .to_string()
                .as_bytes(),
            None,
        )),
        Shape::Firebase => Ok(User {
            user_id: id.clone().unwrap_or_default(),
            nick: pick_nick(None, None, text(v, &["/displayName"]), text(v, &["/email"])),
            face_url: text(v, &["/photoUrl"]).map(str::to_owned),
            ..User::default()
        }),
        Shape::Supabase => {
            if text(v, &["/deleted_at"]).is_some() {
                return skip("deleted (deleted_at is set)");
            }
            let meta = match v
                .get("raw_user_meta_data")
                .or_else(|| v.get("user_metadata"))
            {
                // A CSV export carries the JSON column as text.
                Some(Value::String(s)) => serde_json::from_str(s).unwrap_or(Value::Null),
                Some(m) => m.clone(),
                None => Value::Null,
            };
            let row = json!({"id": id, "email": v.get("email"), "raw_user_meta_data": meta});
            one(webhook::supabase_db::parse(
                json!({"type": "INSERT", "schema": "auth", "table": "users", "record": row})
                    .to_string()
                    .as_bytes(),
            ))
        }
        Shape::Stytch => one(webhook::stytch::parse(
            json!({"object_type": "user", "action": "CREATE", "id": id, "user": v})
                .to_string()
                .as_bytes(),
            None,
        )),
        Shape::Workos => one(webhook::workos::parse(
            json!({"event": "user.created", "data": v})
                .to_string()
                .as_bytes(),
        )),
        Shape::Kinde => one(webhook::kinde::parse(
            &json!({"type": "user.created", "data": {"user": v}}),
            None,
        )),
        Shape::Okta => {
            if text(v, &["/status"]) == Some("DEPROVISIONED") {
                return skip("deactivated (status DEPROVISIONED)");
            }
            // The System Log names a user target by "First Last" and the login.
            let full = [
                text(v, &["/profile/firstName"]),
                text(v, &["/profile/lastName"]),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
            let display = text(v, &["/profile/displayName"])
                .map(str::to_owned)
                .or((!full.is_empty()).then_some(full));
            let target = json!({
                "type": "User", "id": id, "displayName": display,
                "alternateId": text(v, &["/profile/login", "/profile/email"]),
            });
            let hook = json!({"data": {"events": [
                {"eventType": webhook::okta::SIGNUP_EVENT, "target": [target]}
            ]}});
            first_created(webhook::okta::parse(hook.to_string().as_bytes()))
        }
        Shape::Logto => one(webhook::logto::parse(
            json!({"event": webhook::logto::USER_CREATED, "createdAt": iso8601(now), "data": v})
                .to_string()
                .as_bytes(),
            now,
        )),
        Shape::Zitadel => {
            // v2 `profile.givenName`, v1 `profile.firstName`: the parser reads both.
            let human = v.get("human").cloned().unwrap_or(Value::Null);
            let mut payload = human.get("profile").cloned().unwrap_or(json!({}));
            if let Value::Object(p) = &mut payload {
                p.insert(
                    "profile".into(),
                    human.get("profile").cloned().unwrap_or(Value::Null),
                );
                p.insert(
                    "email".into(),
                    human.get("email").cloned().unwrap_or(Value::Null),
                );
                if let Some(u) = text(v, &["/username", "/userName"]) {
                    p.insert("username".into(), Value::String(u.to_owned()));
                }
            }
            one(webhook::zitadel::parse(
                json!({"event_type": webhook::zitadel::SIGNUP_EVENTS[0], "aggregateID": id, "event_payload": payload})
                    .to_string()
                    .as_bytes(),
            ))
        }
        Shape::Generic => Ok(User {
            user_id: id.clone().unwrap_or_default(),
            nick: pick_nick(None, None, text(v, &["/name"]), text(v, &["/email"])),
            face_url: text(v, &["/avatar"]).map(str::to_owned),
            ..User::default()
        }),
    };
    match user {
        Ok(u) => Parsed::User(User {
            event_id: None,
            at: None,
            ..u
        }),
        Err(e) => bad(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(shape: Shape, v: Value) -> User {
        match parse(shape, &v, 1_700_000_000) {
            Parsed::User(u) => u,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn each_shape_follows_its_webhook_rule() {
        let u = user(
            Shape::Clerk,
            json!({"id": "user_1", "first_name": "Ann", "last_name": "Lee", "image_url": "https://i/1",
                   "primary_email_address_id": "e1", "email_addresses": [{"id": "e1", "email_address": "a@x"}]}),
        );
        assert_eq!(
            (u.user_id.as_str(), u.nick.as_deref(), u.face_url.as_deref()),
            ("user_1", Some("Ann Lee"), Some("https://i/1"))
        );
        let u = user(
            Shape::Auth0,
            json!({"user_id": "auth0|1", "email": "bo@x", "name": "bo@x", "picture": "https://p"}),
        );
        assert_eq!(
            (u.nick.as_deref(), u.face_url.as_deref()),
            (Some("bo"), Some("https://p"))
        );
        let u = user(
            Shape::Firebase,
            json!({"localId": "f1", "displayName": "Cy", "photoUrl": "https://f"}),
        );
        assert_eq!((u.user_id.as_str(), u.nick.as_deref()), ("f1", Some("Cy")));
        let u = user(
            Shape::Supabase,
            json!({"id": "s1", "email": "d@x", "user_metadata": {"full_name": "Di"}}),
        );
        assert_eq!(u.nick.as_deref(), Some("Di"));
        let u = user(
            Shape::Supabase,
            json!({"id": "s2", "email": "d@x", "raw_user_meta_data": "{\"avatar_url\":\"https://a\"}"}),
        );
        assert_eq!(
            (u.nick.as_deref(), u.face_url.as_deref()),
            (Some("d"), Some("https://a"))
        );
        assert!(matches!(
            parse(
                Shape::Supabase,
                &json!({"id": "s3", "deleted_at": "2024-01-01"}),
                0
            ),
            Parsed::Skip { .. }
        ));
        let u = user(
            Shape::Stytch,
            json!({"user_id": "user-test-1", "name": {"first_name": "Ed"}}),
        );
        assert_eq!(u.nick.as_deref(), Some("Ed"));
        let u = user(
            Shape::Workos,
            json!({"id": "user_01", "email": "fa@x", "profile_picture_url": "https://w"}),
        );
        assert_eq!(
            (u.nick.as_deref(), u.face_url.as_deref()),
            (Some("fa"), Some("https://w"))
        );
        let u = user(
            Shape::Kinde,
            json!({"id": "kp_1", "first_name": "Gu", "picture": "https://k"}),
        );
        assert_eq!((u.nick.as_deref(), u.face_url), (Some("Gu"), None));
        let u = user(
            Shape::Okta,
            json!({"id": "00u1", "status": "ACTIVE", "profile": {"firstName": "Ha", "lastName": "Ko", "login": "h@x"}}),
        );
        assert_eq!(u.nick.as_deref(), Some("Ha Ko"));
        assert!(matches!(
            parse(
                Shape::Okta,
                &json!({"id": "00u2", "status": "DEPROVISIONED"}),
                0
            ),
            Parsed::Skip { .. }
        ));
        let u = user(
            Shape::Logto,
            json!({"id": "lg1", "username": "ivy", "avatar": "https://l"}),
        );
        assert_eq!(
            (u.nick.as_deref(), u.face_url.as_deref()),
            (Some("ivy"), Some("https://l"))
        );
        let u = user(
            Shape::Zitadel,
            json!({"userId": "123", "username": "jo", "human": {"profile": {"givenName": "Jo", "familyName": "Ng"}, "email": {"email": "jo@x"}}}),
        );
        assert_eq!(u.nick.as_deref(), Some("Jo Ng"));
        let u = user(
            Shape::Zitadel,
            json!({"id": "124", "userName": "kay", "human": {"profile": {"displayName": "Kay K"}}}),
        );
        assert_eq!(u.nick.as_deref(), Some("Kay K"));
        let u = user(
            Shape::Generic,
            json!({"id": "g1", "email": "lu@x", "avatar": "https://g"}),
        );
        assert_eq!(
            (u.nick.as_deref(), u.face_url.as_deref()),
            (Some("lu"), Some("https://g"))
        );
        assert!(matches!(
            parse(Shape::Clerk, &json!({"first_name": "x"}), 0),
            Parsed::Bad { .. }
        ));
    }
}
