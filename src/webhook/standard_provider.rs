//! Any Standard Webhooks sender: configurable event types and field paths; `v1` HMAC and, with a `whpk_` key, `v1a` Ed25519.
//!
//! For senders we have no dedicated module for (your own backend, Better Auth database hooks,
//! anything that signs with a Standard Webhooks library). The delivery passes when any `v1`
//! signature matches a `whsec_` secret or any `v1a` signature verifies under a `whpk_` public key
//! (Ed25519 runs in the runtime's WebCrypto through [`KeyIo`], keeping it out of the wasm). Where
//! the event type and the user's fields sit in the body is set by dot-path settings whose
//! defaults fit the spec's recommended `{"type":"user.created","timestamp":...,"data":{...}}`
//! shape. Which types mean signup, profile change and deletion is set by three lists (defaults
//! `user.created`, `user.updated`, `user.deleted`); an update is read like a signup (fields the
//! body lacks stay unchanged), a deletion needs only the user id. The event time is the body's
//! ISO 8601 `timestamp`, as the spec recommends.

use super::{
    standard, Change, Delivery, Lifecycle, Received, Spec, WebhookError, DEFAULT_BUDGET_MS,
};
use crate::event::{Event, User};
use crate::identity::pick_nick;
use crate::ports::KeyIo;
use crate::settings::{ConfigError, Settings};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;

/// Any Standard Webhooks sender.
pub const SPEC: Spec = Spec {
    name: "standard",
    prefix: "STANDARD",
    switch: "STANDARD_WEBHOOK_SECRET or STANDARD_WEBHOOK_PUBLIC_KEY",
    id_prefixes: &[],
    budget_ms: DEFAULT_BUDGET_MS,
    success_body: None,
    challenge: None,
    lifecycle: Lifecycle {
        created: &["STANDARD_EVENT_TYPES (user.created)"],
        updated: &["STANDARD_UPDATE_EVENT_TYPES (user.updated)"],
        deleted: &["STANDARD_DELETE_EVENT_TYPES (user.deleted)"],
    },
};

/// Setting: `whsec_` secret(s) for `v1` (HMAC-SHA256) signatures, space- or `|`-separated.
pub const SECRET: &str = "STANDARD_WEBHOOK_SECRET";
/// Setting: `whpk_` Ed25519 public key(s) for `v1a` signatures, space- or `|`-separated.
pub const PUBLIC_KEY: &str = "STANDARD_WEBHOOK_PUBLIC_KEY";
/// Setting: comma-separated event types that mean "a user signed up" (default `user.created`).
pub const EVENT_TYPES: &str = "STANDARD_EVENT_TYPES";
/// Setting: comma-separated event types that mean "a user's profile changed" (default `user.updated`).
pub const UPDATE_EVENT_TYPES: &str = "STANDARD_UPDATE_EVENT_TYPES";
/// Setting: comma-separated event types that mean "a user was deleted" (default `user.deleted`).
pub const DELETE_EVENT_TYPES: &str = "STANDARD_DELETE_EVENT_TYPES";
/// Setting: dot path of the event type (default `type`).
pub const TYPE_PATH: &str = "STANDARD_TYPE_PATH";
/// Setting: dot path of the user ID (default `data.id`).
pub const USER_ID_PATH: &str = "STANDARD_USER_ID_PATH";
/// Setting: dot path of the display name (default `data.name`).
pub const NAME_PATH: &str = "STANDARD_NAME_PATH";
/// Setting: dot path of the username, the Nick when the name is empty (default `data.username`).
pub const USERNAME_PATH: &str = "STANDARD_USERNAME_PATH";
/// Setting: dot path of the email, whose local part is the last Nick fallback (default `data.email`).
pub const EMAIL_PATH: &str = "STANDARD_EMAIL_PATH";
/// Setting: dot path of the avatar URL (default `data.image_url`).
pub const FACE_URL_PATH: &str = "STANDARD_FACE_URL_PATH";

/// Default of [`EVENT_TYPES`]: `user.created`, the event name the Standard Webhooks spec uses as its example.
pub const DEFAULT_EVENT_TYPE: &str = super::USER_EVENTS[0].0;
/// Default of [`UPDATE_EVENT_TYPES`]: `user.updated`.
pub const DEFAULT_UPDATE_EVENT_TYPE: &str = super::USER_EVENTS[1].0;
/// Default of [`DELETE_EVENT_TYPES`]: `user.deleted`.
pub const DEFAULT_DELETE_EVENT_TYPE: &str = super::USER_EVENTS[2].0;
/// Where the spec's recommended body keeps the event time (ISO 8601).
const TIMESTAMP_POINTER: &str = "/timestamp";

/// Most `v1a` signatures we try per delivery. Ed25519 keys are public, so a forger can pad the
/// header with junk entries for free; each costs a WebCrypto call. Senders rotating keys send two.
const MAX_V1A: usize = 8;

/// A `whpk_` Ed25519 public key (not secret, so Debug shows it).
#[derive(Clone, PartialEq, Eq)]
struct PublicKey([u8; 32]);

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "whpk_{}", STANDARD.encode(self.0))
    }
}

impl PublicKey {
    /// Parses `whpk_<base64 of 32 bytes>`; the prefix and Supabase-style `v1a,` are optional.
    fn parse(s: &str) -> Option<PublicKey> {
        let s = s.trim();
        let s = s.strip_prefix("v1a,").unwrap_or(s);
        let b64 = s.strip_prefix("whpk_").unwrap_or(s);
        let bytes = STANDARD.decode(b64).ok()?;
        <[u8; 32]>::try_from(bytes).ok().map(PublicKey)
    }
}

/// A dot path into the JSON body; numeric segments also index arrays (`data.emails.0.address`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Path(Vec<String>);

impl Path {
    fn parse(s: &str) -> Option<Path> {
        let segments: Vec<String> = s.split('.').map(str::to_owned).collect();
        segments
            .iter()
            .all(|seg| !seg.is_empty())
            .then_some(Path(segments))
    }

    fn lookup<'a>(&self, root: &'a Value) -> Option<&'a Value> {
        self.0.iter().try_fold(root, |v, seg| match v {
            Value::Object(m) => m.get(seg),
            Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        })
    }

    /// The non-empty string (or number, for senders with numeric IDs) at this path.
    fn text(&self, root: &Value) -> Option<String> {
        match self.lookup(root)? {
            Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    fn display(&self) -> String {
        self.0.join(".")
    }
}

/// Where the fields are in the body.
#[derive(Debug)]
struct Fields {
    /// Every configured event type and what it means.
    event_types: Vec<(String, Change)>,
    kind: Path,
    user_id: Path,
    name: Path,
    username: Path,
    email: Path,
    face_url: Path,
}

/// Settings of the generic Standard Webhooks receiver.
#[derive(Debug)]
pub struct Config {
    secrets: Vec<standard::Secret>,
    public_keys: Vec<PublicKey>,
    fields: Fields,
}

fn public_keys(get: &dyn Settings) -> Result<Option<Vec<PublicKey>>, ConfigError> {
    let invalid = ConfigError::invalid(
        PUBLIC_KEY,
        "expected whpk_ followed by the base64 of a 32-byte Ed25519 public key",
    );
    let Some(raw) = get.get(PUBLIC_KEY) else {
        return Ok(None);
    };
    let keys = raw
        .split(|c: char| c == '|' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(PublicKey::parse)
        .collect::<Option<Vec<_>>>()
        .filter(|keys| !keys.is_empty())
        .ok_or(invalid)?;
    Ok(Some(keys))
}

fn path(get: &dyn Settings, var: &'static str, default: &str) -> Result<Path, ConfigError> {
    let raw = get.get(var).unwrap_or_else(|| default.to_owned());
    Path::parse(&raw).ok_or(ConfigError::invalid(
        var,
        "expected a dot path such as data.id (numbers index arrays)",
    ))
}

/// One comma-separated list of event types, tagged with what they mean.
fn event_types(
    get: &dyn Settings,
    var: &'static str,
    default: &str,
    change: Change,
) -> Result<Vec<(String, Change)>, ConfigError> {
    let types: Vec<(String, Change)> = get
        .get(var)
        .unwrap_or_else(|| default.to_owned())
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(|t| (t.to_owned(), change))
        .collect();
    if types.is_empty() {
        return Err(ConfigError::invalid(
            var,
            "expected a comma-separated list of event types such as user.created",
        ));
    }
    Ok(types)
}

/// The three event type lists. A type set in two of them is refused (its meaning would be a
/// guess); a default that another list names yields to it, so a deployment that already imports
/// `user.updated` as a signup keeps doing so.
fn all_event_types(get: &dyn Settings) -> Result<Vec<(String, Change)>, ConfigError> {
    let mut all = event_types(get, EVENT_TYPES, DEFAULT_EVENT_TYPE, Change::Created)?;
    for (var, default, change) in [
        (
            UPDATE_EVENT_TYPES,
            DEFAULT_UPDATE_EVENT_TYPE,
            Change::Updated,
        ),
        (
            DELETE_EVENT_TYPES,
            DEFAULT_DELETE_EVENT_TYPE,
            Change::Deleted,
        ),
    ] {
        let explicit = get.get(var).is_some();
        for (kind, change) in event_types(get, var, default, change)? {
            match Change::of(&kind, &all) {
                None => all.push((kind, change)),
                Some(_) if !explicit => {}
                Some(_) => {
                    return Err(ConfigError::invalid(
                        var,
                        "lists an event type that another STANDARD_*EVENT_TYPES setting lists",
                    ))
                }
            }
        }
    }
    Ok(all)
}

fn fields(get: &dyn Settings) -> Result<Fields, ConfigError> {
    Ok(Fields {
        event_types: all_event_types(get)?,
        kind: path(get, TYPE_PATH, "type")?,
        user_id: path(get, USER_ID_PATH, "data.id")?,
        name: path(get, NAME_PATH, "data.name")?,
        username: path(get, USERNAME_PATH, "data.username")?,
        email: path(get, EMAIL_PATH, "data.email")?,
        face_url: path(get, FACE_URL_PATH, "data.image_url")?,
    })
}

/// Reads the settings; `None` when neither `STANDARD_WEBHOOK_SECRET` nor `STANDARD_WEBHOOK_PUBLIC_KEY` is set.
pub fn config(get: &dyn Settings) -> Result<Option<Config>, ConfigError> {
    let secrets = standard::secrets_setting(
        get,
        SECRET,
        "expected whsec_ followed by the base64 signing secret (several separated by spaces or |)",
    )?;
    let public_keys = public_keys(get)?;
    if secrets.is_none() && public_keys.is_none() {
        return Ok(None);
    }
    Ok(Some(Config {
        secrets: secrets.unwrap_or_default(),
        public_keys: public_keys.unwrap_or_default(),
        fields: fields(get)?,
    }))
}

/// Reads a body (already verified) with the configured paths; `msg_id` becomes the event_id.
fn parse(fields: &Fields, body: &[u8], msg_id: &str) -> Result<Event, WebhookError> {
    let root: Value =
        super::from_json(body).map_err(|e| super::malformed(format!("body is not JSON: {e}")))?;
    let kind = fields
        .kind
        .text(&root)
        .ok_or_else(|| super::malformed(format!("no event type at {}", fields.kind.display())))?;
    let Some(change) = Change::of(&kind, &fields.event_types) else {
        return Ok(Event::Ignored(kind));
    };
    let user_id = fields
        .user_id
        .text(&root)
        .ok_or_else(|| super::malformed(format!("no user id at {}", fields.user_id.display())))?;
    let nick = pick_nick(
        fields.name.text(&root).as_deref(),
        None,
        fields.username.text(&root).as_deref(),
        fields.email.text(&root).as_deref(),
    );
    Ok(change.event(User {
        at: super::time_at(&root, &[TIMESTAMP_POINTER]),
        user_id,
        nick,
        face_url: fields.face_url.text(&root),
        // Standard Webhooks keeps webhook-id across retries ("webhook-id" in
        // https://github.com/standard-webhooks/standard-webhooks/blob/HEAD/spec/standard-webhooks.md).
        event_id: Some(msg_id.to_owned()),
    }))
}

/// True when a `v1a` signature verifies under any of `keys` (WebCrypto Ed25519 through `io`).
async fn v1a_matches<K: KeyIo>(
    parts: &standard::Parts,
    keys: &[PublicKey],
    body: &[u8],
    io: &K,
) -> bool {
    if keys.is_empty() {
        return false;
    }
    let message = parts.signed_content(body);
    // Ed25519 signatures are exactly 64 bytes; anything else cannot verify.
    for sig in parts
        .of_version("v1a")
        .filter(|s| s.len() == 64)
        .take(MAX_V1A)
    {
        for key in keys {
            if io.verify_ed25519(&key.0, &message, sig).await {
                return true;
            }
        }
    }
    false
}

/// Checks the headers and window, then `v1` against the secrets, then `v1a` against the keys.
async fn verify<K: KeyIo>(
    cfg: &Config,
    d: &Delivery<'_>,
    io: &K,
) -> Result<standard::Parts, WebhookError> {
    let parts = standard::read(d.headers, d.now)?;
    // HMAC first: it is local and cheap, and most senders only sign v1.
    if parts.v1_matches(&cfg.secrets, d.body)
        || v1a_matches(&parts, &cfg.public_keys, d.body, io).await
    {
        Ok(parts)
    } else {
        Err(WebhookError::BadSignature)
    }
}

/// Verifies a Standard Webhooks delivery (`v1` and/or `v1a`) and reads it with the configured paths.
pub async fn receive<K: KeyIo>(
    cfg: &Config,
    d: &Delivery<'_>,
    io: &K,
) -> Result<Received, WebhookError> {
    let parts = verify(cfg, d, io).await?;
    Ok(Received::one(parse(&cfg.fields, d.body, &parts.id)?).with_replay_key(parts.replay_key()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::TransportError;
    use crate::testing::block_on;
    use ed25519_dalek::{Signer, SigningKey};
    use std::cell::Cell;

    // Vector D: seed, message and signature of `TestAsymmetricWebhookSign` in standard-webhooks
    // PR #253 (Go, unmerged: https://github.com/standard-webhooks/standard-webhooks/pull/253);
    // the public key is derived from the seed.
    const SEED_B64: &str = "VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk=";
    const WHPK: &str = "whpk_ZlN4eg7dSSqi0moX9hQUk3orrOouK3QVQSlJa248c/g=";
    const D_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const D_TS: i64 = 1614265330;
    const D_BODY: &str = r#"{"test": 2432232314}"#;
    const D_SIG: &str = "v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag==";
    const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const BODY: &str = r#"{"type":"user.created","timestamp":"2026-08-01T00:00:00Z","data":{"id":"usr_1","name":"Ada Lovelace","username":"ada","email":"ada@x.io","image_url":"https://p/ada.png"}}"#;
    /// Constructed from the spec's recommended `{type, timestamp, data}` body, default paths.
    const UPDATED: &str = include_str!("../../tests/fixtures/standard_user_updated.json");
    /// Constructed likewise: a deletion carries only the user id.
    const DELETED: &str = include_str!("../../tests/fixtures/standard_user_deleted.json");

    /// Ed25519 in native code standing in for WebCrypto; counts calls.
    #[derive(Default)]
    struct Dalek {
        calls: Cell<usize>,
    }

    impl KeyIo for Dalek {
        async fn get(&self, _url: &str, _ms: u64) -> Result<(u16, Vec<u8>), TransportError> {
            Err(TransportError::Network("no fetches in these tests".into()))
        }
        async fn verify_jwk(&self, _a: &str, _k: &str, _m: &[u8], _s: &[u8]) -> bool {
            false
        }
        async fn verify_ed25519(&self, key: &[u8], message: &[u8], signature: &[u8]) -> bool {
            self.calls.set(self.calls.get() + 1);
            let (Ok(key), Ok(sig)) = (
                <[u8; 32]>::try_from(key),
                ed25519_dalek::Signature::from_slice(signature),
            ) else {
                return false;
            };
            ed25519_dalek::VerifyingKey::from_bytes(&key)
                .and_then(|k| k.verify_strict(message, &sig))
                .is_ok()
        }
        fn now_ms(&self) -> u64 {
            0
        }
        async fn sleep(&self, _ms: u64) {}
    }

    fn cfg(settings: &[(&str, &str)]) -> Result<Option<Config>, ConfigError> {
        let get = |k: &str| {
            settings
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        };
        config(&get)
    }

    fn signing_key() -> SigningKey {
        let seed: [u8; 32] = STANDARD.decode(SEED_B64).unwrap().try_into().unwrap();
        SigningKey::from_bytes(&seed)
    }

    fn v1a(key: &SigningKey, id: &str, ts: i64, body: &str) -> String {
        let msg = format!("{id}.{ts}.{body}");
        format!(
            "v1a,{}",
            STANDARD.encode(key.sign(msg.as_bytes()).to_bytes())
        )
    }

    fn run(
        cfg: &Config,
        id: &str,
        ts: i64,
        sig: &str,
        body: &str,
        now: i64,
        io: &Dalek,
    ) -> Result<Received, WebhookError> {
        let t = ts.to_string();
        let h: &[(&str, &str)] = &[
            ("webhook-id", id),
            ("webhook-timestamp", &t),
            ("webhook-signature", sig),
        ];
        let d = Delivery {
            headers: &h,
            body: body.as_bytes(),
            now,
        };
        block_on(receive(cfg, &d, io))
    }

    #[test]
    fn vector_d_verifies_through_v1a() {
        assert_eq!(
            PublicKey::parse(WHPK),
            Some(PublicKey(signing_key().verifying_key().to_bytes()))
        );
        assert_eq!(v1a(&signing_key(), D_ID, D_TS, D_BODY), D_SIG);
        let c = cfg(&[(PUBLIC_KEY, WHPK)]).unwrap().unwrap();
        let io = Dalek::default();
        let h: &[(&str, &str)] = &[
            ("webhook-id", D_ID),
            ("webhook-timestamp", "1614265330"),
            ("webhook-signature", D_SIG),
        ];
        let d = Delivery {
            headers: &h,
            body: D_BODY.as_bytes(),
            now: D_TS,
        };
        assert_eq!(block_on(verify(&c, &d, &io)).unwrap().id, D_ID);
        // Verified, then refused for its shape (no `type`): proves the signature passed first.
        assert!(matches!(
            run(&c, D_ID, D_TS, D_SIG, D_BODY, D_TS, &io),
            Err(WebhookError::Malformed(_))
        ));
    }

    #[test]
    fn v1a_refuses_tampering_and_wrong_keys() {
        let c = cfg(&[(PUBLIC_KEY, WHPK)]).unwrap().unwrap();
        let io = Dalek::default();
        let bad = |id: &str, sig: &str, body: &str| {
            assert_eq!(
                run(&c, id, D_TS, sig, body, D_TS, &io),
                Err(WebhookError::BadSignature),
                "{id} {sig} {body}"
            );
        };
        bad(D_ID, D_SIG, r#"{"test": 2432232315}"#);
        bad("msg_other", D_SIG, D_BODY);
        // Same bytes under the v1 label are not an Ed25519 signature.
        bad(D_ID, &D_SIG.replace("v1a,", "v1,"), D_BODY);
        bad(D_ID, "v1a,AAAA", D_BODY);
        let stranger = SigningKey::from_bytes(&[7; 32]);
        bad(D_ID, &v1a(&stranger, D_ID, D_TS, D_BODY), D_BODY);
        // The right signature under a key we were not given.
        let other = format!(
            "whpk_{}",
            STANDARD.encode(stranger.verifying_key().to_bytes())
        );
        let c2 = cfg(&[(PUBLIC_KEY, &other)]).unwrap().unwrap();
        assert_eq!(
            run(&c2, D_ID, D_TS, D_SIG, D_BODY, D_TS, &io),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            run(&c, D_ID, D_TS, D_SIG, D_BODY, D_TS + 301, &io),
            Err(WebhookError::StaleTimestamp(301))
        );
        // Junk padding is capped.
        let calls = io.calls.get();
        let junk = vec![D_SIG.replace("tQ9", "AQ9"); 50].join(" ");
        bad(D_ID, &junk, D_BODY);
        assert_eq!(io.calls.get() - calls, MAX_V1A);
    }

    #[test]
    fn signup_through_v1a_or_v1() {
        let key = signing_key();
        let c = cfg(&[(PUBLIC_KEY, WHPK), (SECRET, WHSEC)])
            .unwrap()
            .unwrap();
        let io = Dalek::default();
        let r = run(
            &c,
            "msg_9",
            5000,
            &v1a(&key, "msg_9", 5000, BODY),
            BODY,
            5000,
            &io,
        )
        .unwrap();
        assert_eq!(r.replay_key.as_deref(), Some("msg_9.5000"));
        assert_eq!(
            r.events,
            vec![Event::Created(User {
                at: Some(1_785_542_400),
                user_id: "usr_1".into(),
                nick: Some("Ada Lovelace".into()),
                face_url: Some("https://p/ada.png".into()),
                event_id: Some("msg_9".into()),
            })]
        );
        // v1 under the secret: accepted without any Ed25519 call.
        let hmac = standard::Secret::parse(WHSEC).unwrap();
        let calls = io.calls.get();
        let sig = format!(
            "{} {}",
            v1a(&SigningKey::from_bytes(&[7; 32]), "msg_9", 5000, BODY),
            hmac.sign("msg_9", 5000, BODY.as_bytes())
        );
        assert!(run(&c, "msg_9", 5000, &sig, BODY, 5000, &io).is_ok());
        assert_eq!(io.calls.get(), calls);
        // Secret only: v1a is not consulted, and a wrong secret fails.
        let only = cfg(&[(SECRET, WHSEC)]).unwrap().unwrap();
        assert_eq!(
            run(
                &only,
                "msg_9",
                5000,
                &v1a(&key, "msg_9", 5000, BODY),
                BODY,
                5000,
                &io
            ),
            Err(WebhookError::BadSignature)
        );
        let h: &[(&str, &str)] = &[("webhook-id", "m"), ("webhook-timestamp", "5000")];
        let d = Delivery {
            headers: &h,
            body: BODY.as_bytes(),
            now: 5000,
        };
        assert_eq!(
            block_on(receive(&only, &d, &io)),
            Err(WebhookError::MissingHeader("webhook-signature"))
        );
    }

    #[test]
    fn paths_event_types_and_fallbacks() {
        let f = |s: &[(&str, &str)]| cfg(&[&[(SECRET, WHSEC)], s].concat()).unwrap().unwrap();
        let default = f(&[]);
        let p = |c: &Config, body: &str| parse(&c.fields, body.as_bytes(), "m");
        assert_eq!(
            p(&default, r#"{"type":"user.banned","data":{"id":"u"}}"#),
            Ok(Event::Ignored("user.banned".into()))
        );
        let only_email = p(
            &default,
            r#"{"type":"user.created","data":{"id":42,"name":"","username":null,"email":"neo@x.io"}}"#,
        );
        assert!(matches!(only_email, Ok(Event::Created(s))
            if s.user_id == "42" && s.nick.as_deref() == Some("neo") && s.face_url.is_none()));
        // A Clerk-shaped body, read through custom paths with an array index.
        let custom = f(&[
            (EVENT_TYPES, "user.created, user.signup"),
            (TYPE_PATH, "event.kind"),
            (USER_ID_PATH, "user.uid"),
            (NAME_PATH, "user.profile.first"),
            (USERNAME_PATH, "user.handle"),
            (EMAIL_PATH, "user.emails.1.address"),
            (FACE_URL_PATH, "user.avatar"),
        ]);
        let body = r#"{"event":{"kind":"user.signup"},"user":{"uid":"u7","profile":{},"handle":" ",
            "emails":[{"address":"a@x.io"},{"address":"trin@x.io"}],"avatar":"https://p/7"}}"#;
        assert_eq!(
            p(&custom, body),
            Ok(Event::Created(User {
                at: None,
                user_id: "u7".into(),
                nick: Some("trin".into()),
                face_url: Some("https://p/7".into()),
                event_id: Some("m".into()),
            }))
        );
        for bad in [
            "not json",
            "[]",
            r#"{"data":{"id":"u"}}"#,
            r#"{"type":{"x":1},"data":{"id":"u"}}"#,
            r#"{"type":"user.created","data":{"name":"x"}}"#,
            r#"{"type":"user.created","data":{"id":""}}"#,
            r#"{"type":"user.created","data":[{"id":"u"}]}"#,
        ] {
            assert!(
                matches!(p(&default, bad), Err(WebhookError::Malformed(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn updates_and_deletions_by_type() {
        let f = |s: &[(&str, &str)]| cfg(&[&[(SECRET, WHSEC)], s].concat()).unwrap().unwrap();
        let default = f(&[]);
        let updated = User {
            user_id: "usr_2KWPBgLlAfxdpx2AI54pPJ85f4W".into(),
            nick: Some("Grace Brewster Hopper".into()),
            face_url: Some("https://example.com/avatars/grace-2.png".into()),
            event_id: Some("m".into()),
            at: Some(1_770_197_400),
        };
        assert_eq!(
            parse(&default.fields, UPDATED.as_bytes(), "m"),
            Ok(Event::Updated(updated))
        );
        let deleted = User {
            user_id: "usr_2KWPBgLlAfxdpx2AI54pPJ85f4W".into(),
            event_id: Some("m".into()),
            at: Some(1_770_314_400),
            ..User::default()
        };
        assert_eq!(
            parse(&default.fields, DELETED.as_bytes(), "m"),
            Ok(Event::Deleted(deleted))
        );
        // The sender's own names; an update without profile fields changes nothing.
        let custom = f(&[
            (UPDATE_EVENT_TYPES, "member.renamed, member.avatar"),
            (DELETE_EVENT_TYPES, "member.closed"),
        ]);
        let long = "u".repeat(33);
        let renamed = format!(r#"{{"type":"member.avatar","data":{{"id":"{long}"}}}}"#);
        assert_eq!(
            parse(&custom.fields, renamed.as_bytes(), "m"),
            Ok(Event::Updated(User {
                user_id: long.clone(),
                event_id: Some("m".into()),
                ..User::default()
            }))
        );
        let closed = DELETED.replace("user.deleted", "member.closed");
        assert!(matches!(
            parse(&custom.fields, closed.as_bytes(), "m"),
            Ok(Event::Deleted(_))
        ));
        // Under custom lists the defaults mean nothing.
        assert_eq!(
            parse(&custom.fields, DELETED.as_bytes(), "m"),
            Ok(Event::Ignored("user.deleted".into()))
        );
        assert!(matches!(
            parse(
                &default.fields,
                br#"{"type":"user.deleted","data":{}}"#,
                "m"
            ),
            Err(WebhookError::Malformed(_))
        ));
    }

    #[test]
    fn config_switches_names_variables_and_hides_secrets() {
        assert!(cfg(&[]).unwrap().is_none());
        // Unrelated field settings alone do not switch the provider on.
        assert!(cfg(&[(TYPE_PATH, "kind")]).unwrap().is_none());
        let c = cfg(&[(PUBLIC_KEY, &format!("v1a,{WHPK} |{WHPK}"))])
            .unwrap()
            .unwrap();
        assert_eq!((c.secrets.len(), c.public_keys.len()), (0, 2));
        assert!(format!("{c:?}").contains(WHPK));
        let c = cfg(&[(SECRET, WHSEC)]).unwrap().unwrap();
        assert!(!format!("{c:?}").contains("MfKQ"));
        let defaults = [
            (DEFAULT_EVENT_TYPE, Change::Created),
            (DEFAULT_UPDATE_EVENT_TYPE, Change::Updated),
            (DEFAULT_DELETE_EVENT_TYPE, Change::Deleted),
        ]
        .map(|(t, c)| (t.to_owned(), c));
        assert_eq!(c.fields.event_types, defaults);
        let err = |s: &[(&str, &str)]| cfg(s).unwrap_err().var().to_owned();
        assert_eq!(err(&[(SECRET, "whsec_!!")]), SECRET);
        assert_eq!(err(&[(PUBLIC_KEY, "whpk_AAAA")]), PUBLIC_KEY);
        assert_eq!(err(&[(PUBLIC_KEY, "whpk_!!")]), PUBLIC_KEY);
        assert_eq!(err(&[(SECRET, WHSEC), (EVENT_TYPES, " , ")]), EVENT_TYPES);
        assert_eq!(
            err(&[(SECRET, WHSEC), (DELETE_EVENT_TYPES, ",")]),
            DELETE_EVENT_TYPES
        );
        // One type, two meanings: refused rather than guessed.
        assert_eq!(
            err(&[(SECRET, WHSEC), (UPDATE_EVENT_TYPES, "user.created")]),
            UPDATE_EVENT_TYPES
        );
        assert_eq!(
            err(&[
                (SECRET, WHSEC),
                (DELETE_EVENT_TYPES, "user.gone,user.updated")
            ]),
            DELETE_EVENT_TYPES
        );
        // A default yields to a list that names its type.
        let c = cfg(&[(SECRET, WHSEC), (EVENT_TYPES, "user.created,user.updated")])
            .unwrap()
            .unwrap();
        assert_eq!(
            Change::of("user.updated", &c.fields.event_types),
            Some(Change::Created)
        );
        for var in [
            TYPE_PATH,
            USER_ID_PATH,
            NAME_PATH,
            USERNAME_PATH,
            EMAIL_PATH,
            FACE_URL_PATH,
        ] {
            assert_eq!(err(&[(SECRET, WHSEC), (var, "data..id")]), var);
            assert_eq!(err(&[(PUBLIC_KEY, WHPK), (var, "data.")]), var);
        }
    }
}
