//! Order and duplicates across a user's life: deliveries arrive late and more than once, so a
//! create or update older than what was already applied must not overwrite it, and nothing may
//! bring back a user whose deletion was applied. Sans-IO decisions on a per-user [`UserState`];
//! the state lives in D1 (`migrations/0002_user_state.sql`) when bound, else in the isolate.

use crate::job::{Job, Op};
use serde_json::{json, Value};
use std::collections::HashMap;

/// What was last applied to one UserID.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserState {
    /// Provider time (Unix s) of the newest applied event.
    pub last_at: Option<i64>,
    /// When a deletion was applied (the tombstone).
    pub deleted_at: Option<i64>,
}

/// Whether `job` may run given what was applied; `Err` says why it is stale.
pub fn admit(job: &Job, state: Option<&UserState>) -> Result<(), &'static str> {
    let Some(s) = state else {
        return Ok(());
    };
    let writes_profile = matches!(job.op, Op::Import | Op::SetProfile);
    if let (true, Some(deleted)) = (writes_profile, s.deleted_at) {
        // Only an event provably newer than the deletion (a re-created user) may write again.
        if job.at.is_none_or(|at| at <= deleted) {
            return Err("the user's deletion was already applied");
        }
    }
    if let (true, Some(last), Some(at)) = (writes_profile, s.last_at, job.at) {
        if at < last {
            return Err("a newer event for this user was already applied");
        }
    }
    Ok(())
}

/// The state after `job` was applied at `now_s` (deletions without a time count from now).
pub fn applied(job: &Job, state: Option<&UserState>, now_s: i64) -> UserState {
    let mut s = state.copied().unwrap_or_default();
    let at = job.at.unwrap_or(now_s);
    s.last_at = Some(s.last_at.map_or(at, |l| l.max(at)));
    match job.op {
        Op::Kick | Op::Delete => s.deleted_at = Some(at),
        Op::Import | Op::SetProfile => {
            if s.deleted_at.is_some_and(|d| job.at.is_some_and(|a| a > d)) {
                s.deleted_at = None;
            }
        }
    }
    s
}

/// Why each of `jobs` must not run (`None`: run it), deciding a delivery or batch as a whole:
/// a user's jobs are taken in event order (position breaks ties and orders untimed events), each
/// checked against the state the earlier ones leave, and of those that may run only the newest
/// runs, since it supersedes the others (an update followed by a deletion is just the deletion;
/// a deletion with an older create in the same batch is just the deletion).
pub fn order(
    jobs: &[Job],
    known: &std::collections::HashMap<String, UserState>,
    now_s: i64,
) -> Vec<Option<&'static str>> {
    let mut verdict: Vec<Option<&'static str>> = vec![None; jobs.len()];
    // The jobs by user, then event time, then position; each user's run is contiguous. (Sorting
    // indexes instead of grouping them in a map keeps a map instantiation out of the wasm.)
    let mut idx: Vec<usize> = (0..jobs.len()).collect();
    crate::small::sort_by_key(&mut idx, |&i| {
        let job = jobs.get(i);
        (
            job.map(|j| j.user_id.as_str()),
            job.and_then(|j| j.at).unwrap_or(i64::MIN),
            i,
        )
    });
    let mut user: Option<&str> = None;
    let mut state = None;
    let mut last_ok = None;
    for i in idx {
        let Some(job) = jobs.get(i) else { continue };
        if user != Some(job.user_id.as_str()) {
            user = Some(job.user_id.as_str());
            state = known.get(job.user_id.as_str()).copied();
            last_ok = None;
        }
        let mut mark = |k: usize, why: &'static str| {
            if let Some(v) = verdict.get_mut(k) {
                *v = Some(why);
            }
        };
        match admit(job, state.as_ref()) {
            Err(why) => mark(i, why),
            Ok(()) => {
                if let Some(prev) = last_ok.replace(i) {
                    mark(prev, "superseded by a newer event for this user");
                }
                state = Some(applied(job, state.as_ref(), now_s));
            }
        }
    }
    verdict
}

/// Reads the states of these users (at most 100 per statement, D1's parameter limit).
pub fn load(user_ids: &[&str]) -> (String, Vec<Value>) {
    let ids: Vec<&&str> = user_ids.iter().take(100).collect();
    let marks: Vec<String> = (1..=ids.len()).map(|k| format!("?{k}")).collect();
    (
        format!(
            "SELECT user_id, last_at, deleted_at FROM user_state WHERE user_id IN ({})",
            marks.join(", ")
        ),
        ids.into_iter().map(|i| json!(i)).collect(),
    )
}

/// Stores one user's state.
pub fn save(user_id: &str, s: &UserState) -> (String, Vec<Value>) {
    (
        "INSERT INTO user_state (user_id, last_at, deleted_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT(user_id) DO UPDATE SET last_at = excluded.last_at, deleted_at = excluded.deleted_at"
            .into(),
        vec![json!(user_id), json!(s.last_at), json!(s.deleted_at)],
    )
}

/// Reads [`load`]'s rows.
pub fn from_rows(rows: &[Value]) -> HashMap<String, UserState> {
    rows.iter()
        .filter_map(|r| {
            let id = r.get("user_id")?.as_str()?.to_owned();
            let s = UserState {
                last_at: r.get("last_at").and_then(Value::as_i64),
                deleted_at: r.get("deleted_at").and_then(Value::as_i64),
            };
            Some((id, s))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::JOB_VERSION;

    fn job(op: Op, at: Option<i64>) -> Job {
        Job {
            version: JOB_VERSION,
            op,
            provider: "clerk".into(),
            user_id: "u".into(),
            nick: None,
            face_url: None,
            event_id: None,
            at,
        }
    }

    #[test]
    fn a_late_create_after_a_delete_is_stale_in_both_modes_of_timekeeping() {
        let gone = applied(&job(Op::Kick, Some(100)), None, 0);
        assert_eq!(gone.deleted_at, Some(100));
        assert!(admit(&job(Op::Import, Some(50)), Some(&gone)).is_err());
        assert!(admit(&job(Op::Import, None), Some(&gone)).is_err());
        assert!(admit(&job(Op::SetProfile, Some(100)), Some(&gone)).is_err());
        // A deletion without a time counts from when it was applied.
        let gone = applied(&job(Op::Delete, None), None, 777);
        assert_eq!(gone.deleted_at, Some(777));
        // A provably newer create brings the user back, and clears the tombstone.
        let back = job(Op::Import, Some(800));
        assert!(admit(&back, Some(&gone)).is_ok());
        assert_eq!(applied(&back, Some(&gone), 0).deleted_at, None);
        // Deleting twice is fine.
        assert!(admit(&job(Op::Kick, Some(10)), Some(&gone)).is_ok());
    }

    #[test]
    fn an_older_update_never_overwrites_a_newer_one() {
        let s = applied(&job(Op::SetProfile, Some(200)), None, 0);
        assert!(admit(&job(Op::SetProfile, Some(150)), Some(&s)).is_err());
        assert!(admit(&job(Op::SetProfile, Some(200)), Some(&s)).is_ok());
        assert!(admit(&job(Op::SetProfile, None), Some(&s)).is_ok());
        assert_eq!(
            applied(&job(Op::SetProfile, Some(100)), Some(&s), 0).last_at,
            Some(200)
        );
    }

    #[test]
    fn statements_and_rows() {
        let (sql, p) = load(&["a", "b"]);
        assert_eq!(
            sql,
            "SELECT user_id, last_at, deleted_at FROM user_state WHERE user_id IN (?1, ?2)"
        );
        assert_eq!(p.len(), 2);
        let rows = vec![json!({"user_id": "a", "last_at": 5, "deleted_at": null})];
        assert_eq!(
            from_rows(&rows)["a"],
            UserState {
                last_at: Some(5),
                deleted_at: None
            }
        );
        assert_eq!(
            save("a", &UserState::default()).1,
            vec![json!("a"), Value::Null, Value::Null]
        );
    }

    #[test]
    fn a_batch_is_decided_in_event_order_and_only_the_newest_runs() {
        let mut jobs = vec![
            job(Op::SetProfile, Some(10)),
            job(Op::Delete, Some(20)),
            job(Op::Import, Some(5)),
        ];
        let none = std::collections::HashMap::new();
        let v = order(&jobs, &none, 0);
        assert_eq!(v[1], None, "the deletion runs");
        assert!(
            v[0].is_some() && v[2].is_some(),
            "the update and the older create do not: {v:?}"
        );
        // A deletion arriving before an older create in the same batch still wins.
        jobs = vec![job(Op::Delete, Some(100)), job(Op::Import, Some(50))];
        let v = order(&jobs, &none, 0);
        assert_eq!((v[0], v[1].is_some()), (None, true));
        // Other users are decided on their own.
        let mut other = job(Op::Import, Some(1));
        other.user_id = "v".into();
        jobs.push(other);
        assert_eq!(order(&jobs, &none, 0)[2], None);
        // Against a recorded tombstone, a later create is stale too.
        let gone = std::collections::HashMap::from([(
            "u".to_owned(),
            UserState {
                last_at: Some(100),
                deleted_at: Some(100),
            },
        )]);
        assert!(order(&[job(Op::Import, Some(50))], &gone, 0)[0].is_some());
    }
}
