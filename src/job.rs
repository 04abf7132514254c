//! Jobs: what Tencent must be told, as small, versioned, serde records that can travel through a
//! queue message and be read back by a newer version of this code.
//!
//! An [`Event`] becomes a job once the provider's ID is mapped to a Tencent UserID and the profile
//! fitted to Tencent's limits, so the executor never needs to know which provider spoke.

use crate::event::Event;
use crate::identity::{self, Rule, UserIdError};
use crate::settings::{ConfigError, Settings};
use serde::{Deserialize, Serialize};

/// The job record format this code writes; readers accept it and anything older they know.
pub const JOB_VERSION: u32 = 1;

/// What to do in Tencent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Create the account with its profile (`account_import`, idempotent).
    Import,
    /// Write the profile fields the job carries (`portrait_set`); imports the account when
    /// Tencent does not know it yet.
    SetProfile,
    /// Invalidate every UserSig the user holds (`kick`): reversible, works on every edition.
    Kick,
    /// Delete the account (`account_delete`).
    Delete,
}

/// What a provider's deletion does in Tencent (`TIM_ON_DELETE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnDelete {
    /// Kick the user: every UserSig they hold stops working (the default).
    #[default]
    Kick,
    /// Delete the account.
    Delete,
    /// Do nothing.
    Ignore,
}

impl OnDelete {
    /// Parses `kick`, `delete` or `ignore`.
    pub fn parse(s: &str) -> Option<OnDelete> {
        match s.trim().to_ascii_lowercase().as_str() {
            "kick" => Some(OnDelete::Kick),
            "delete" => Some(OnDelete::Delete),
            "ignore" => Some(OnDelete::Ignore),
            _ => None,
        }
    }
}

/// One unit of Tencent work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// Record format version ([`JOB_VERSION`]).
    #[serde(rename = "v")]
    pub version: u32,
    /// What to do.
    pub op: Op,
    /// Route name of the provider the event came from.
    pub provider: String,
    /// The mapped Tencent UserID.
    pub user_id: String,
    /// Nickname, already within Tencent's limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nick: Option<String>,
    /// Avatar URL, already within Tencent's limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub face_url: Option<String>,
    /// The provider's de-duplication key for the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// When the provider says the event happened (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<i64>,
}

impl Job {
    /// The key under which a redelivery of this job's event is recognised, if the event has one.
    pub fn dedupe_key(&self) -> Option<String> {
        let op = match self.op {
            Op::Import => "",
            Op::SetProfile => "set:",
            Op::Kick => "kick:",
            Op::Delete => "delete:",
        };
        self.event_id
            .as_ref()
            .map(|e| format!("{}:{op}{e}:{}", self.provider, self.user_id))
    }

    /// The job as a queue message body.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a job written by this or an older version; `None` when it is not one.
    pub fn from_json(s: &str) -> Option<Job> {
        // Bytes, like every other read here: one deserializer per type in the wasm.
        serde_json::from_slice::<Job>(s.as_bytes())
            .ok()
            .filter(|j| (1..=JOB_VERSION).contains(&j.version))
    }
}

/// Setting: what a provider's deletion does (`kick`, `delete` or `ignore`; default `kick`).
pub const TIM_ON_DELETE: &str = "TIM_ON_DELETE";

/// Reads `TIM_ON_DELETE`.
pub fn on_delete(settings: &dyn Settings) -> Result<OnDelete, ConfigError> {
    match settings.get(TIM_ON_DELETE) {
        None => Ok(OnDelete::default()),
        Some(v) => OnDelete::parse(&v)
            .ok_or_else(|| ConfigError::invalid(TIM_ON_DELETE, "expected kick, delete or ignore")),
    }
}

/// A job and what was changed to fit the profile into Tencent's limits (for the log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// The job.
    pub job: Job,
    /// Profile adjustments, e.g. "Nick trimmed to 500 bytes".
    pub notes: Vec<&'static str>,
}

/// How events become jobs: the provider's UserID rule and what a deletion does.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    /// The provider's route name.
    pub provider: &'a str,
    /// Its UserID mapping.
    pub rule: &'a Rule,
    /// `TIM_ON_DELETE`.
    pub on_delete: OnDelete,
}

/// Turns one event into the job it asks for: `Ok(None)` for events that need no Tencent work
/// (ignored events, an update that carries no profile field, a deletion under `ignore`).
pub fn plan(rules: Rules<'_>, event: &Event) -> Result<Option<Planned>, UserIdError> {
    let (op, user) = match event {
        Event::Created(u) => (Op::Import, u),
        Event::Updated(u) if u.nick.is_some() || u.face_url.is_some() => (Op::SetProfile, u),
        Event::Deleted(u) => match rules.on_delete {
            OnDelete::Kick => (Op::Kick, u),
            OnDelete::Delete => (Op::Delete, u),
            OnDelete::Ignore => return Ok(None),
        },
        Event::Updated(_) | Event::Ignored(_) | Event::Invalid(_) => return Ok(None),
    };
    let user_id = identity::map_user_id(&user.user_id, rules.rule)?.user_id;
    // A deletion carries no profile, and none is kept for it.
    let (nick, face_url) = match op {
        Op::Kick | Op::Delete => (None, None),
        Op::Import | Op::SetProfile => (user.nick.clone(), user.face_url.clone()),
    };
    let profile = identity::fit_profile(nick, face_url);
    let provider = rules.provider;
    Ok(Some(Planned {
        job: Job {
            version: JOB_VERSION,
            op,
            provider: provider.to_owned(),
            user_id,
            nick: profile.nick,
            face_url: profile.face_url,
            event_id: user.event_id.clone(),
            at: user.at,
        },
        notes: profile.adjustments,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::User;
    use crate::identity::Mode;

    fn rule() -> Rule {
        Rule {
            mode: Mode::Auto,
            prefix: String::new(),
            known_prefixes: &["user_"],
        }
    }

    fn rules(rule: &Rule) -> Rules<'_> {
        Rules {
            provider: "clerk",
            rule,
            on_delete: OnDelete::Kick,
        }
    }

    fn created(id: &str) -> Event {
        Event::Created(User {
            user_id: id.into(),
            nick: Some(format!("  {}  ", "é".repeat(300))),
            face_url: Some(format!("https://x/{}", "a".repeat(600))),
            event_id: Some("msg_1".into()),
            at: Some(1_700_000_000),
        })
    }

    #[test]
    fn a_signup_becomes_an_import_with_a_fitted_profile() {
        let p = plan(rules(&rule()), &created("user_2abc"))
            .unwrap()
            .unwrap();
        assert_eq!(p.job.op, Op::Import);
        assert_eq!(p.job.user_id, "user_2abc");
        assert_eq!(p.job.nick.as_deref().map(str::len), Some(500));
        assert_eq!(p.job.face_url, None);
        assert_eq!(p.notes.len(), 2);
        assert_eq!(p.job.dedupe_key().as_deref(), Some("clerk:msg_1:user_2abc"));
    }

    #[test]
    fn other_events_need_no_job_and_bad_ids_are_refused() {
        assert_eq!(plan(rules(&rule()), &Event::Ignored("x".into())), Ok(None));
        let long = "é".repeat(40);
        let strict = Rule {
            mode: Mode::Verbatim,
            ..rule()
        };
        assert!(plan(rules(&strict), &created(&long)).is_err());
    }

    #[test]
    fn jobs_round_trip_and_tolerate_newer_fields() {
        let job = plan(rules(&rule()), &created("user_2abc"))
            .unwrap()
            .unwrap()
            .job;
        assert_eq!(Job::from_json(&job.to_json()), Some(job.clone()));
        let mut v: serde_json::Value = serde_json::from_str(&job.to_json()).unwrap();
        v["added_later"] = serde_json::json!(true);
        assert_eq!(Job::from_json(&v.to_string()), Some(job));
        assert_eq!(
            Job::from_json(r#"{"v":99,"op":"import","provider":"p","user_id":"u"}"#),
            None
        );
        assert_eq!(Job::from_json("not json"), None);
        let minimal =
            Job::from_json(r#"{"v":1,"op":"import","provider":"p","user_id":"u"}"#).unwrap();
        assert_eq!((minimal.nick, minimal.event_id), (None, None));
    }

    #[test]
    fn updates_write_what_they_carry_and_deletions_follow_on_delete() {
        let rule = rule();
        let update = |nick: Option<&str>| {
            Event::Updated(User {
                user_id: "user_x".into(),
                nick: nick.map(str::to_owned),
                ..User::default()
            })
        };
        let p = plan(rules(&rule), &update(Some("New"))).unwrap().unwrap();
        assert_eq!(
            (p.job.op, p.job.nick.as_deref()),
            (Op::SetProfile, Some("New"))
        );
        assert_eq!(plan(rules(&rule), &update(None)), Ok(None));
        let gone = Event::Deleted(User {
            user_id: "user_x".into(),
            nick: Some("leak?".into()),
            ..User::default()
        });
        let kick = plan(rules(&rule), &gone).unwrap().unwrap().job;
        assert_eq!((kick.op, kick.nick), (Op::Kick, None));
        let delete = Rules {
            on_delete: OnDelete::Delete,
            ..rules(&rule)
        };
        assert_eq!(plan(delete, &gone).unwrap().unwrap().job.op, Op::Delete);
        let ignore = Rules {
            on_delete: OnDelete::Ignore,
            ..rules(&rule)
        };
        assert_eq!(plan(ignore, &gone), Ok(None));
        assert_eq!(OnDelete::parse(" Delete "), Some(OnDelete::Delete));
        assert_eq!(OnDelete::parse("purge"), None);
    }
}
