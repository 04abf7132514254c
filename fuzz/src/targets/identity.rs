//! `identity`: UserID mapping (`identity::map_user_id` and its parts), the mapping settings
//! (`config::userid_rule`), profile fitting, and `job::plan` from events.
//!
//! Input: `[provider][flags]`, then lines `mode`, `prefix`, `id`, `nick`, `face_url`.
//! `provider` picks the constant ID prefixes (`webhook::ALL`); the mode and prefix go through
//! the settings (`<P>_USERID_MODE`, `<P>_USERID_PREFIX`) as an operator would set them, and also
//! straight into a `Rule` for every mode, unchecked. `flags` picks the event kind and deletion
//! policy for `job::plan`.
//!
//! Checks: with valid settings, a mapped UserID is at most 32 printable ASCII bytes, `auto`
//! maps every non-empty ID, and mapping is deterministic; a fitted profile keeps Nick and
//! FaceUrl within 500 bytes; a planned job fits Tencent and reads back from its JSON.

use crate::input::{text, Input};
use crate::targets::webhooks::check_job;
use crate::Env;
use tim_onboard::config;
use tim_onboard::event::{Event, User};
use tim_onboard::identity::{self, Mode, Rule};
use tim_onboard::job::{self, OnDelete};
use tim_onboard::webhook::ALL;

/// The target.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let provider = ALL[usize::from(input.byte()) % ALL.len()];
    let flags = input.byte();
    let mut line = || text(input.line().unwrap_or_default());
    let (mode, prefix, id, nick, face) = (line(), line(), line(), line(), line());

    // Unchecked rules: any prefix, every mode. Must not panic.
    for m in [Mode::Auto, Mode::Verbatim, Mode::Compact, Mode::Hash] {
        let rule = Rule {
            mode: m,
            prefix: prefix.clone(),
            known_prefixes: provider.id_prefixes,
        };
        let _ = identity::map_user_id(&id, &rule);
    }
    let _ = identity::compact(&id, provider.id_prefixes);
    let _ = identity::hash(&id, usize::from(flags));
    let _ = identity::verbatim_user_id(&id);
    let _ = identity::truncate_utf8(&id, usize::from(flags));
    let _ = (Mode::parse(&mode), identity::is_safe(&id));

    // As configured: the settings validate the mode and prefix first.
    let env = Env(vec![
        (provider.mode_setting(), mode),
        (provider.prefix_setting(), prefix),
    ]);
    let Ok(rule) = config::userid_rule(&env, provider.prefix, provider.id_prefixes) else {
        return fit(nick, face, flags);
    };
    let mapped = identity::map_user_id(&id, &rule);
    match &mapped {
        Ok(m) => {
            assert!(
                m.user_id.len() <= identity::MAX_USER_ID_BYTES
                    && m.user_id.bytes().all(|b| (0x20..=0x7e).contains(&b)),
                "{rule:?} maps {id:?} to {:?}, which Tencent refuses",
                m.user_id
            );
            assert!(m.user_id.starts_with(&rule.prefix));
        }
        Err(e) => {
            assert!(
                rule.mode != Mode::Auto || id.is_empty(),
                "auto mode refused {id:?}: {e}"
            );
        }
    }
    assert_eq!(
        mapped,
        identity::map_user_id(&id, &rule),
        "mapping is not deterministic"
    );

    let user = User {
        user_id: id,
        nick: Some(nick.clone()).filter(|_| flags & 4 == 0),
        face_url: Some(face.clone()).filter(|_| flags & 8 == 0),
        event_id: Some("evt".into()).filter(|_| flags & 16 == 0),
        at: Some(i64::from(flags) - 128),
    };
    let event = match flags & 3 {
        0 => Event::Created(user),
        1 => Event::Updated(user),
        2 => Event::Deleted(user),
        _ => Event::Ignored("other".into()),
    };
    let on_delete =
        [OnDelete::Kick, OnDelete::Delete, OnDelete::Ignore][usize::from(flags >> 5) % 3];
    let rules = job::Rules {
        provider: provider.name,
        rule: &rule,
        on_delete,
    };
    if let Ok(Some(planned)) = job::plan(rules, &event) {
        check_job(&planned.job);
    }
    fit(nick, face, flags);
}

fn fit(nick: String, face: String, flags: u8) {
    let words: Vec<&str> = nick.split(' ').collect();
    let picked = identity::pick_nick(
        words.first().copied(),
        words.get(1).copied(),
        words.get(2).copied(),
        Some(face.as_str()),
    );
    let p = identity::fit_profile(picked.or(Some(nick)), Some(face).filter(|_| flags & 1 == 0));
    assert!(p
        .nick
        .as_ref()
        .is_none_or(|n| n.len() <= identity::MAX_PROFILE_BYTES));
    assert!(p
        .face_url
        .as_ref()
        .is_none_or(|f| f.len() <= identity::MAX_PROFILE_BYTES));
}
