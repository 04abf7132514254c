//! Firebase Auth / Identity Platform blocking `beforeCreate`: an RS256 JWT from Google
//! (<https://cloud.google.com/identity-platform/docs/blocking-functions>).
//!
//! Google POSTs `{"data":{"jwt":"<JWT>"}}` and waits for the answer before it creates the user
//! (7 s at most, no retries). The token is signed with the `securetoken@system` keys; we check
//! its signature, `iss` (the project), `aud` (this endpoint's URL, which only the operator
//! knows, so it must be configured), `exp`/`iat`, and that `sub` is the new user's uid.
//! UserID is `user_record.uid`; Nick is the display name, else the email's local part; FaceUrl
//! is `user_record.photo_url`. The token's `event_id` is unique per event and signed, so it is
//! both the de-duplication key and the replay key; its `iat` is the event time.
//! Blocking functions never report profile changes or deletions (Firebase has no update
//! trigger); a v1 `functions.auth.user().onDelete` function posting to the `standard` route is
//! the way to report deletions.

use super::{jwt, Delivery, Keys, Lifecycle, Received, Spec, WebhookError};
use crate::event::{Event, User};
use crate::identity::pick_nick;
use crate::ports::KeyIo;
use crate::settings::{ConfigError, Settings};
use serde::Deserialize;

/// Firebase blocking functions: 7 s in all, and the body must be `{}`.
pub const SPEC: Spec = Spec {
    name: "firebase",
    prefix: "FIREBASE",
    switch: "FIREBASE_PROJECT_ID and FIREBASE_AUDIENCE",
    id_prefixes: &[],
    budget_ms: 5_500,
    success_body: Some("{}"),
    challenge: None,
    lifecycle: Lifecycle {
        created: &["beforeCreate"],
        updated: &[],
        deleted: &[],
    },
};

/// Setting that switches this provider on: the Firebase / Google Cloud project ID.
pub const PROJECT: &str = "FIREBASE_PROJECT_ID";
/// Setting: the exact `aud` Google puts in the token, i.e. this endpoint's public URL.
pub const AUDIENCE: &str = "FIREBASE_AUDIENCE";
/// Setting: where Google's signing keys are published (tests point it elsewhere).
pub const JWKS_URL: &str = "FIREBASE_JWKS_URL";
/// Google's JWKS for the keys that sign blocking-function tokens (and Firebase ID tokens).
pub const DEFAULT_JWKS_URL: &str =
    "https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com";
/// The event type that means "a user is being created".
pub const SIGNUP_EVENT: &str = "beforeCreate";
/// Longest uid Firebase allows (the Admin SDK's verifier refuses longer `sub`s).
const MAX_UID_BYTES: usize = 128;

/// Firebase's settings (none of them secret: the keys are public, the checks are what matter).
#[derive(Debug)]
pub struct Config {
    issuer: String,
    audience: String,
    jwks_url: String,
}

/// Reads Firebase's settings; `None` when `FIREBASE_PROJECT_ID` is unset.
pub fn config(get: &dyn Settings) -> Result<Option<Config>, ConfigError> {
    let Some(project) = get.get(PROJECT) else {
        return Ok(None);
    };
    // A project ID goes verbatim into the issuer URL, so refuse anything that is not one
    // (a pasted URL or console link would otherwise make every token fail `iss` silently).
    if project.len() > 100
        || !project
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
    {
        return Err(ConfigError::invalid(
            PROJECT,
            "expected the Firebase project ID (e.g. my-app-1a2b3), not a URL or name",
        ));
    }
    let audience = get.get(AUDIENCE).ok_or(ConfigError::missing(AUDIENCE))?;
    if !audience.starts_with("https://") && !audience.starts_with("http://") {
        return Err(ConfigError::invalid(
            AUDIENCE,
            "expected this endpoint's public URL, e.g. https://<worker>/webhooks/firebase",
        ));
    }
    Ok(Some(Config {
        issuer: format!("https://securetoken.google.com/{project}"),
        audience,
        jwks_url: jwt::jwks_url_setting(get, JWKS_URL, DEFAULT_JWKS_URL.to_owned())?,
    }))
}

#[derive(Deserialize)]
struct Envelope {
    data: Data,
}

#[derive(Deserialize)]
struct Data {
    jwt: String,
}

/// Verifies a blocking-function request and reads it.
pub async fn receive<K: KeyIo>(
    cfg: &Config,
    d: &Delivery<'_>,
    keys: &Keys<'_, K>,
) -> Result<Received, WebhookError> {
    // Without a token there is nothing to authenticate: that is a signature failure, not a
    // malformed (but authentic) payload.
    let token = super::from_json::<Envelope>(d.body)
        .map_err(|_| WebhookError::BadSignature)?
        .data
        .jwt;
    let claims = jwt::verify(&token, &cfg.jwks_url, keys).await?;
    // A Google-signed token for another project or another endpoint is not for us.
    if super::text_at(&claims, &["/iss"]) != Some(cfg.issuer.as_str())
        || !jwt::audience_matches(&claims, &cfg.audience)
    {
        return Err(WebhookError::BadSignature);
    }
    jwt::check_exp(&claims, d.now, true)?;
    jwt::check_issued(&claims, d.now, true)?;
    let event_type = super::text_at(&claims, &["/event_type"])
        .ok_or_else(|| super::malformed("the token has no event_type"))?;
    if event_type != SIGNUP_EVENT {
        // beforeSignIn and friends: not a signup, and no replay key either, so frequent
        // sign-ins do not crowd the replay memory.
        return Ok(Received::one(Event::Ignored(event_type.to_owned())));
    }
    let sub = super::text_at(&claims, &["/sub"])
        .filter(|s| s.len() <= MAX_UID_BYTES)
        .ok_or_else(|| super::malformed("sub is empty or longer than 128 bytes"))?;
    let uid = super::text_at(&claims, &["/user_record/uid"])
        .ok_or_else(|| super::malformed("user_record.uid is missing"))?;
    if uid != sub {
        return Err(super::malformed("user_record.uid differs from sub"));
    }
    // Unique per event and covered by the signature: without it a captured token could be replayed.
    let event_id = super::text_at(&claims, &["/event_id"])
        .ok_or_else(|| super::malformed("beforeCreate without event_id"))?;
    let nick = pick_nick(
        None,
        None,
        super::text_at(&claims, &["/user_record/display_name"]),
        super::text_at(&claims, &["/user_record/email"]),
    );
    let face_url = super::text_at(&claims, &["/user_record/photo_url"]).map(str::to_owned);
    Ok(Received::one(Event::Created(User {
        at: claims.get("iat").and_then(serde_json::Value::as_i64),
        user_id: uid.to_owned(),
        nick,
        face_url,
        event_id: Some(event_id.to_owned()),
    }))
    .with_replay_key(event_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::TransportError;
    use crate::webhook::jwt::testing::{block_on, FakeKeys, IAT, JWKS};
    use crate::webhook::jwt::KeyCache;

    /// The decoded `beforeCreate` payload from the Firebase SDK's tests ("should parse a
    /// beforeCreate event" in
    /// <https://github.com/firebase/firebase-functions/blob/HEAD/spec/common/providers/identity.spec.ts>);
    /// the tokens below carry it with `iss`/`aud` set to the test project (tests/fixtures/jwt/).
    const DOCUMENTED: &str = include_str!("../../tests/fixtures/firebase_before_create.json");
    const TOKEN: &str = include_str!("../../tests/fixtures/jwt/firebase_before_create.jwt");
    const SIGN_IN: &str = include_str!("../../tests/fixtures/jwt/firebase_before_sign_in.jwt");
    const WRONG_KEY: &str = include_str!("../../tests/fixtures/jwt/firebase_wrong_key.jwt");
    const NONE: &str = include_str!("../../tests/fixtures/jwt/firebase_alg_none.jwt");
    const HS256: &str = include_str!("../../tests/fixtures/jwt/firebase_hs256.jwt");
    const MISMATCH: &str = include_str!("../../tests/fixtures/jwt/firebase_uid_mismatch.jwt");
    const ROTATED: &str = include_str!("../../tests/fixtures/jwt/firebase_rotated.jwt");
    const AUD: &str = "https://tim-onboard.example.workers.dev/webhooks/firebase";
    const TEST_JWKS: &str = "https://keys.test/firebase";

    fn settings(project: &str, audience: &str) -> impl Fn(&str) -> Option<String> {
        let (project, audience) = (project.to_owned(), audience.to_owned());
        move |k: &str| match k {
            PROJECT => Some(project.clone()),
            AUDIENCE => Some(audience.clone()),
            JWKS_URL => Some(TEST_JWKS.to_owned()),
            _ => None,
        }
    }

    fn cfg() -> Config {
        config(&settings("tim-onboard-test", AUD)).unwrap().unwrap()
    }

    fn body(token: &str) -> Vec<u8> {
        serde_json::json!({"data": {"jwt": token.trim()}})
            .to_string()
            .into_bytes()
    }

    fn deliver_at(
        cfg: &Config,
        body: &[u8],
        now: i64,
        cache: &KeyCache,
        io: &FakeKeys,
    ) -> Result<Received, WebhookError> {
        let h: &[(&str, &str)] = &[("content-type", "application/json")];
        let d = Delivery {
            headers: &h,
            body,
            now,
        };
        block_on(receive(cfg, &d, &Keys { cache, io }))
    }

    fn deliver(token: &str) -> Result<Received, WebhookError> {
        let io = FakeKeys::new(JWKS);
        deliver_at(&cfg(), &body(token), IAT + 5, &KeyCache::default(), &io)
    }

    #[test]
    fn documented_before_create() {
        let r = deliver(TOKEN).unwrap();
        assert_eq!(r.replay_key.as_deref(), Some("EVENT_ID"));
        let want = User {
            at: Some(IAT),
            user_id: "abcdefghijklmnopqrstuvwxyz".into(),
            nick: Some("John Doe".into()),
            face_url: Some("https://lh3.googleusercontent.com/1234567890/photo.jpg".into()),
            event_id: Some("EVENT_ID".into()),
        };
        assert_eq!(r.events, [Event::Created(want)]);
        // The token carries exactly the documented payload, apart from the adjusted claims.
        let (io, cache) = (FakeKeys::new(JWKS), KeyCache::default());
        let mut claims = block_on(jwt::verify(
            TOKEN,
            TEST_JWKS,
            &Keys {
                cache: &cache,
                io: &io,
            },
        ))
        .unwrap();
        let mut doc: serde_json::Value = serde_json::from_str(DOCUMENTED).unwrap();
        for k in ["iss", "aud", "iat", "exp"] {
            claims.as_object_mut().unwrap().remove(k);
            doc.as_object_mut().unwrap().remove(k);
        }
        assert_eq!(claims, doc);
        assert_eq!(*io.gets.borrow(), [TEST_JWKS]);
    }

    #[test]
    fn other_event_types_are_ignored() {
        let r = deliver(SIGN_IN).unwrap();
        assert_eq!(r.events, [Event::Ignored("beforeSignIn".into())]);
        assert_eq!(r.replay_key, None);
    }

    #[test]
    fn forged_tokens_are_refused() {
        for t in [WRONG_KEY, NONE, HS256] {
            assert_eq!(deliver(t), Err(WebhookError::BadSignature));
        }
        let (io, cache) = (FakeKeys::new(JWKS), KeyCache::default());
        for b in [
            &b""[..],
            b"not json",
            b"{}",
            br#"{"data":{}}"#,
            br#"{"data":{"jwt":7}}"#,
            br#"{"jwt":"a.b.c"}"#,
        ] {
            assert_eq!(
                deliver_at(&cfg(), b, IAT, &cache, &io),
                Err(WebhookError::BadSignature)
            );
        }
        assert_eq!(io.fetches(), 0);
        // Signed by Google but not with a Google-shaped user: malformed, not forged.
        assert!(matches!(deliver(MISMATCH), Err(WebhookError::Malformed(_))));
    }

    #[test]
    fn wrong_issuer_or_audience_is_refused() {
        let (io, cache) = (FakeKeys::new(JWKS), KeyCache::default());
        for (project, aud) in [
            ("another-project", AUD),
            (
                "tim-onboard-test",
                "https://tim-onboard.example.workers.dev/webhooks/firebase/",
            ),
            (
                "tim-onboard-test",
                "https://us-east1-project_id.cloudfunctions.net/beforeCreate",
            ),
        ] {
            let cfg = config(&settings(project, aud)).unwrap().unwrap();
            assert_eq!(
                deliver_at(&cfg, &body(TOKEN), IAT, &cache, &io),
                Err(WebhookError::BadSignature),
                "{project} {aud}"
            );
        }
    }

    #[test]
    fn expired_or_future_tokens_are_refused() {
        let (io, cache) = (FakeKeys::new(JWKS), KeyCache::default());
        let exp = IAT + 3600;
        let at = |now| deliver_at(&cfg(), &body(TOKEN), now, &cache, &io);
        assert!(at(exp + 59).is_ok());
        assert_eq!(at(exp + 60), Err(WebhookError::StaleTimestamp(60)));
        assert_eq!(at(exp + 86_400), Err(WebhookError::StaleTimestamp(86_400)));
        assert!(at(IAT - 60).is_ok());
        assert_eq!(at(IAT - 61), Err(WebhookError::StaleTimestamp(-61)));
    }

    #[test]
    fn key_rotation_and_outages() {
        // The token's kid is unknown: exactly one refetch, then it verifies.
        let io = FakeKeys::new(JWKS);
        let cache = KeyCache::default();
        deliver_at(&cfg(), &body(TOKEN), IAT, &cache, &io).unwrap();
        *io.jwks.borrow_mut() = Ok((200, crate::webhook::jwt::testing::JWKS_ROTATED.to_owned()));
        io.now_ms.set(io.now_ms.get() + jwt::MIN_REFRESH_MS);
        assert!(deliver_at(&cfg(), &body(ROTATED), IAT, &cache, &io).is_ok());
        assert_eq!(io.fetches(), 2);
        // Google unreachable and nothing cached: 503-class, so the failure is visible as such.
        let io = FakeKeys::new(JWKS);
        *io.jwks.borrow_mut() = Err(TransportError::Timeout);
        assert!(matches!(
            deliver_at(&cfg(), &body(TOKEN), IAT, &KeyCache::default(), &io),
            Err(WebhookError::KeysUnavailable(_))
        ));
    }

    #[test]
    fn config_names_the_variable() {
        assert!(config(&|_: &str| None).unwrap().is_none());
        let only_project = |k: &str| (k == PROJECT).then(|| "p-1".to_owned());
        assert_eq!(
            config(&only_project).unwrap_err(),
            ConfigError::missing(AUDIENCE)
        );
        for (project, aud, var) in [
            (
                "https://console.firebase.google.com/project/x",
                AUD,
                PROJECT,
            ),
            ("my project", AUD, PROJECT),
            (
                "p-1",
                "tim-onboard.example.workers.dev/webhooks/firebase",
                AUDIENCE,
            ),
        ] {
            let get = |k: &str| match k {
                PROJECT => Some(project.to_owned()),
                AUDIENCE => Some(aud.to_owned()),
                _ => None,
            };
            assert_eq!(config(&get).unwrap_err().var(), var, "{project} {aud}");
        }
        let bad_jwks = |k: &str| match k {
            PROJECT => Some("p-1".to_owned()),
            AUDIENCE => Some(AUD.to_owned()),
            JWKS_URL => Some("http://keys.example/jwks".to_owned()),
            _ => None,
        };
        assert_eq!(config(&bad_jwks).unwrap_err().var(), JWKS_URL);
        let defaults = |k: &str| match k {
            PROJECT => Some(" p-1 ".to_owned()),
            AUDIENCE => Some(AUD.to_owned()),
            _ => None,
        };
        let c = config(&defaults).unwrap().unwrap();
        assert_eq!(
            (c.issuer.as_str(), c.jwks_url.as_str()),
            ("https://securetoken.google.com/p-1", DEFAULT_JWKS_URL)
        );
    }
}
