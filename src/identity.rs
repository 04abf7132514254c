//! From a provider's user to a Tencent account: the UserID rules and the profile limits.
//!
//! Tencent UserIDs are at most 32 bytes of printable ASCII (letters, digits, `_` and `-`
//! recommended); `Nick` and `FaceUrl` are at most 500 bytes each. A profile that is too long must
//! not cost the user their account, so it is trimmed or dropped; a UserID that does not fit is
//! refused, because importing a different ID would silently break the app's own login.
//!
//! Most providers' IDs do not fit, so each provider gets a deterministic, documented mapping
//! (`verbatim`, `compact`, `hash`, or `auto`), with an optional prefix per provider so that two
//! providers on one deployment can never produce the same UserID. The app's own backend must be
//! able to compute the same function, so it is spelled out in the README and pinned by tests.

use crate::crypto::{hex_encode, sha256};

/// Longest UserID Tencent accepts, in bytes.
pub const MAX_USER_ID_BYTES: usize = 32;
/// Longest profile string (`Nick`, `FaceUrl`) Tencent accepts, in bytes.
pub const MAX_PROFILE_BYTES: usize = 500;

/// Why a provider ID cannot be used as a Tencent UserID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserIdError {
    /// The provider sent an empty ID.
    #[error("the user id is empty")]
    Empty,
    /// Longer than 32 bytes.
    #[error("the user id is {len} bytes; Tencent allows at most 32")]
    TooLong {
        /// Length in bytes.
        len: usize,
    },
    /// Contains bytes outside printable ASCII.
    #[error("the user id contains characters Tencent does not accept (printable ASCII only)")]
    BadCharacters,
    /// `compact` mode was asked for, but the ID has no lossless short form.
    #[error("the user id has no lossless compact form (use hash or auto mode)")]
    NotCompactable,
}

/// Checks that `id` can be used verbatim as a Tencent UserID.
pub fn verbatim_user_id(id: &str) -> Result<String, UserIdError> {
    if id.is_empty() {
        return Err(UserIdError::Empty);
    }
    if id.len() > MAX_USER_ID_BYTES {
        return Err(UserIdError::TooLong { len: id.len() });
    }
    if !id.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        return Err(UserIdError::BadCharacters);
    }
    Ok(id.to_owned())
}

/// How a provider's ID becomes a Tencent UserID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Verbatim when it fits and uses the safe alphabet, else compact when lossless, else hash.
    Auto,
    /// The ID unchanged; refused when it does not fit.
    Verbatim,
    /// Known constant prefix dropped, UUIDs without hyphens; refused when that does not fit.
    Compact,
    /// `h` plus the leading hex digits of SHA-256 of the ID.
    Hash,
}

impl Mode {
    /// Parses a `*_USERID_MODE` value.
    pub fn parse(s: &str) -> Option<Mode> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Mode::Auto,
            "verbatim" => Mode::Verbatim,
            "compact" => Mode::Compact,
            "hash" => Mode::Hash,
            _ => return None,
        })
    }

    /// The name used in configuration and responses.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Auto => "auto",
            Mode::Verbatim => "verbatim",
            Mode::Compact => "compact",
            Mode::Hash => "hash",
        }
    }
}

/// Longest per-provider prefix: a hash must keep at least 20 hex digits (80 bits).
pub const MAX_PREFIX_BYTES: usize = 11;

/// A provider's mapping settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Chosen mode.
    pub mode: Mode,
    /// Prepended to every UserID from this provider (safe alphabet, at most 11 bytes).
    pub prefix: String,
    /// Constant prefixes every ID of this provider carries, dropped by `compact`.
    pub known_prefixes: &'static [&'static str],
}

/// A mapped UserID and the mode that produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    /// The Tencent UserID.
    pub user_id: String,
    /// Verbatim, compact or hash (never auto).
    pub mode: Mode,
}

/// True for Tencent's recommended UserID alphabet `[A-Za-z0-9_-]`.
pub fn is_safe(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// The lossless short form: a known constant prefix dropped, then a UUID without hyphens.
pub fn compact(id: &str, known_prefixes: &[&str]) -> Option<String> {
    let rest = known_prefixes
        .iter()
        .find_map(|p| id.strip_prefix(p))
        .unwrap_or(id);
    let out = if is_uuid(rest) {
        rest.replace('-', "").to_ascii_lowercase()
    } else {
        rest.to_owned()
    };
    (!out.is_empty() && is_safe(&out) && out != id).then_some(out)
}

/// `h` followed by the first `31 - prefix_len` hex digits of SHA-256 of the ID's UTF-8 bytes.
pub fn hash(id: &str, prefix_len: usize) -> String {
    let hex = hex_encode(&sha256(id.as_bytes()));
    let keep = (MAX_USER_ID_BYTES - 1)
        .saturating_sub(prefix_len)
        .min(hex.len());
    format!("h{}", hex.get(..keep).unwrap_or_default())
}

/// Maps a provider ID to a Tencent UserID under `rule`.
pub fn map_user_id(id: &str, rule: &Rule) -> Result<Mapped, UserIdError> {
    if id.is_empty() {
        return Err(UserIdError::Empty);
    }
    let p = rule.prefix.as_str();
    let fits = |m: &str| p.len() + m.len() <= MAX_USER_ID_BYTES;
    let done = |m: String, mode| Mapped {
        user_id: format!("{p}{m}"),
        mode,
    };
    match rule.mode {
        Mode::Verbatim => {
            verbatim_user_id(&format!("{p}{id}"))?;
            Ok(done(id.to_owned(), Mode::Verbatim))
        }
        Mode::Compact => match compact(id, rule.known_prefixes) {
            Some(c) if fits(&c) => Ok(done(c, Mode::Compact)),
            _ if is_safe(id) && fits(id) => Ok(done(id.to_owned(), Mode::Compact)),
            _ => Err(UserIdError::NotCompactable),
        },
        Mode::Hash => Ok(done(hash(id, p.len()), Mode::Hash)),
        Mode::Auto => {
            if is_safe(id) && fits(id) {
                return Ok(done(id.to_owned(), Mode::Verbatim));
            }
            match compact(id, rule.known_prefixes) {
                Some(c) if fits(&c) => Ok(done(c, Mode::Compact)),
                _ => Ok(done(hash(id, p.len()), Mode::Hash)),
            }
        }
    }
}

/// Cuts `s` to at most `max` bytes without splitting a UTF-8 character.
pub fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

/// A profile after applying Tencent's limits, with notes on what was changed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Profile {
    /// Nickname, at most 500 bytes, never empty.
    pub nick: Option<String>,
    /// Avatar URL, at most 500 bytes, never empty.
    pub face_url: Option<String>,
    /// What was trimmed or dropped, for the log.
    pub adjustments: Vec<&'static str>,
}

/// Applies the 500-byte limits: a long Nick is trimmed, a long FaceUrl dropped (a cut URL is useless).
pub fn fit_profile(nick: Option<String>, face_url: Option<String>) -> Profile {
    let mut adjustments = Vec::new();
    let nick = nick
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .map(|n| {
            if n.len() > MAX_PROFILE_BYTES {
                adjustments.push("Nick trimmed to 500 bytes");
                truncate_utf8(&n, MAX_PROFILE_BYTES).to_owned()
            } else {
                n
            }
        });
    let face_url = face_url
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty())
        .filter(|u| {
            let fits = u.len() <= MAX_PROFILE_BYTES;
            if !fits {
                adjustments.push("FaceUrl over 500 bytes dropped");
            }
            fits
        });
    Profile {
        nick,
        face_url,
        adjustments,
    }
}

/// The display-name fallback every provider shares: full name, else username, else the email's local part.
pub fn pick_nick(
    first: Option<&str>,
    last: Option<&str>,
    username: Option<&str>,
    email: Option<&str>,
) -> Option<String> {
    let full: Vec<&str> = [first, last]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if !full.is_empty() {
        return Some(full.join(" "));
    }
    if let Some(u) = username.map(str::trim).filter(|s| !s.is_empty()) {
        return Some(u.to_owned());
    }
    email
        .and_then(|e| e.split('@').next())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(mode: Mode, prefix: &str, known: &'static [&'static str]) -> Rule {
        Rule {
            mode,
            prefix: prefix.into(),
            known_prefixes: known,
        }
    }

    /// The README's examples; the app's backend must get the same answers.
    #[test]
    fn documented_examples() {
        let cases: [(&str, &'static [&'static str], &str, &str); 7] = [
            (
                "user_29w83sxmDNGwOuEthce5gg56FcC",
                &["user_"],
                "user_29w83sxmDNGwOuEthce5gg56FcC",
                "verbatim",
            ),
            (
                "ff7fc9ae-3b1b-4642-9241-64adb9848a03",
                &[],
                "ff7fc9ae3b1b4642924164adb9848a03",
                "compact",
            ),
            (
                "user-test-16d9ba61-97a1-4ba4-9720-b03761dc50c6",
                &["user-test-", "user-live-"],
                "16d9ba6197a14ba49720b03761dc50c6",
                "compact",
            ),
            (
                "kp_cfcb1ae5b9254ad99521214014c54f43",
                &["kp_"],
                "cfcb1ae5b9254ad99521214014c54f43",
                "compact",
            ),
            (
                "auth0|679fb1b1e809445f129bc18d",
                &["auth0|"],
                "679fb1b1e809445f129bc18d",
                "compact",
            ),
            (
                "google-oauth2|103547991597142817347",
                &["auth0|"],
                "h7c1cdf721e2c5509e6dc26516af0bd2",
                "hash",
            ),
            (
                "office365|10030000838D23AF@MicrosoftOnline.com",
                &["auth0|"],
                "",
                "hash",
            ),
        ];
        for (id, known, want, mode) in cases {
            let m = map_user_id(id, &rule(Mode::Auto, "", known)).unwrap();
            assert_eq!(m.mode.name(), mode, "{id}");
            if want.is_empty() {
                assert_eq!(m.user_id, hash(id, 0));
            } else {
                assert_eq!(m.user_id, want, "{id}");
            }
            assert!(m.user_id.len() <= 32 && is_safe(&m.user_id));
        }
    }

    #[test]
    fn hash_is_sha256_hex_prefix() {
        // Expected values computed independently with `printf %s abc | sha256sum`.
        assert_eq!(hash("abc", 0), "hba7816bf8f01cfea414140de5dae222");
        assert_eq!(hash("abc", 3), "hba7816bf8f01cfea414140de5dae");
        assert_eq!(
            hash("google-oauth2|103547991597142817347", 0),
            "h7c1cdf721e2c5509e6dc26516af0bd2"
        );
    }

    #[test]
    fn prefixes_apply_and_count_toward_the_limit() {
        let clerk = rule(Mode::Auto, "ck_", &["user_"]);
        let m = map_user_id("user_29w83sxmDNGwOuEthce5gg56FcC", &clerk).unwrap();
        assert_eq!(
            (m.user_id.as_str(), m.mode),
            ("ck_29w83sxmDNGwOuEthce5gg56FcC", Mode::Compact)
        );
        let m = map_user_id("google-oauth2|1", &rule(Mode::Auto, "a0_", &[])).unwrap();
        assert_eq!(m.user_id.len(), 32);
        assert!(m.user_id.starts_with("a0_h"));
        // Two providers with different prefixes never collide on the same raw ID.
        let a = map_user_id("same", &rule(Mode::Auto, "a_", &[])).unwrap();
        let b = map_user_id("same", &rule(Mode::Auto, "b_", &[])).unwrap();
        assert_ne!(a.user_id, b.user_id);
    }

    #[test]
    fn explicit_modes() {
        let v = rule(Mode::Verbatim, "", &[]);
        assert_eq!(map_user_id("auth0|abc", &v).unwrap().user_id, "auth0|abc");
        assert_eq!(
            map_user_id(&"a".repeat(33), &v),
            Err(UserIdError::TooLong { len: 33 })
        );
        assert_eq!(map_user_id("", &v), Err(UserIdError::Empty));
        let c = rule(Mode::Compact, "", &[]);
        assert_eq!(
            map_user_id("google-oauth2|1035", &c),
            Err(UserIdError::NotCompactable)
        );
        assert_eq!(map_user_id("plain_id", &c).unwrap().user_id, "plain_id");
        let h = rule(Mode::Hash, "", &[]);
        assert_eq!(map_user_id("x", &h).unwrap().user_id, hash("x", 0));
        assert_eq!(Mode::parse("HASH"), Some(Mode::Hash));
        assert_eq!(Mode::parse("nope"), None);
    }

    #[test]
    fn verbatim_ids() {
        assert_eq!(
            verbatim_user_id("user_29w83sxmDNGwOuEthce5gg56FcC")
                .unwrap()
                .len(),
            32
        );
        assert_eq!(verbatim_user_id(""), Err(UserIdError::Empty));
        assert_eq!(
            verbatim_user_id(&"a".repeat(33)),
            Err(UserIdError::TooLong { len: 33 })
        );
        assert_eq!(verbatim_user_id("é"), Err(UserIdError::BadCharacters));
        assert_eq!(verbatim_user_id("a\nb"), Err(UserIdError::BadCharacters));
    }

    #[test]
    fn utf8_truncation_never_splits_a_character() {
        let s = "é".repeat(300); // 600 bytes
        let t = truncate_utf8(&s, 500);
        assert_eq!(t.len(), 500);
        let s = format!("a{}", "€".repeat(200)); // 1 + 600 bytes, 3-byte chars
        let t = truncate_utf8(&s, 500);
        assert_eq!(t.len(), 499);
        assert!(t.ends_with('€'));
        assert_eq!(truncate_utf8("abc", 500), "abc");
    }

    #[test]
    fn profile_limits() {
        let p = fit_profile(
            Some("x".repeat(501)),
            Some(format!("https://{}", "a".repeat(500))),
        );
        assert_eq!(p.nick.as_deref().map(str::len), Some(500));
        assert_eq!(p.face_url, None);
        assert_eq!(p.adjustments.len(), 2);
        let p = fit_profile(Some("  ".into()), Some("".into()));
        assert_eq!(p, Profile::default());
        let p = fit_profile(Some("Ann".into()), Some("https://img/x".into()));
        assert_eq!(
            (p.nick.as_deref(), p.face_url.as_deref()),
            (Some("Ann"), Some("https://img/x"))
        );
        assert!(p.adjustments.is_empty());
    }

    #[test]
    fn nick_fallbacks() {
        assert_eq!(
            pick_nick(Some("Ann"), Some("Lee"), Some("al"), None).as_deref(),
            Some("Ann Lee")
        );
        assert_eq!(
            pick_nick(None, Some("Lee"), None, None).as_deref(),
            Some("Lee")
        );
        assert_eq!(
            pick_nick(Some(""), None, Some("al"), Some("a@b")).as_deref(),
            Some("al")
        );
        assert_eq!(
            pick_nick(None, None, None, Some("jo.doe@x.org")).as_deref(),
            Some("jo.doe")
        );
        assert_eq!(pick_nick(None, None, Some(" "), Some("@x")), None);
    }
}
