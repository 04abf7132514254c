//! The queue consumer's decisions, sans-IO: which jobs a batch of messages asks for (one per
//! UserID, the latest event winning), and what becomes of each message once Tencent has answered
//! (ack, retry after a delay, or dead letter with the reason).
//!
//! Cloudflare Queues delivers at least once and in no particular order, and workers-rs 0.8.7
//! neither exposes a message's `attempts` nor survives an `Err` from the handler, so the shell
//! reads `attempts` in JS, asks this module for a verdict per message, and applies each verdict
//! on its own (<https://developers.cloudflare.com/queues/configuration/batching-retries/>).

use crate::executor::JobResult;
use crate::job::Job;
use crate::tim::ImportError;

/// Attempts after which a job that still fails is dead-lettered with its last error (the
/// queue's own `max_retries` is set higher, as a backstop for crashed invocations).
pub const MAX_ATTEMPTS: u32 = 8;
/// Longest delay Queues accepts for a retry (12 hours).
pub const MAX_DELAY_S: u32 = 43_200;
/// First retry delay for transient failures; doubles per attempt.
pub const BASE_DELAY_S: u32 = 10;
/// Retry delay per attempt for problems an operator must fix (wrong key, not admin, edition
/// cap, wrong region): long, so a misconfiguration costs few calls while it lasts.
pub const OPERATOR_DELAY_S: u32 = 600;

/// One queue message, as the shell reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The queue's message id.
    pub id: String,
    /// Delivery attempts so far, this one included (starts at 1).
    pub attempts: u32,
    /// The body, a [`Job`] as JSON.
    pub body: String,
}

/// What becomes of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Done (or superseded by a newer event for the same user): remove it.
    Ack,
    /// Try again after this many seconds.
    Retry {
        /// Delay before redelivery.
        delay_s: u32,
    },
    /// Record it as a dead letter, then remove it from the queue.
    DeadLetter {
        /// Tencent's code, when Tencent refused it.
        code: Option<i64>,
        /// Why it can never succeed as is (or why we gave up).
        reason: String,
    },
}

/// The work a batch of messages asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The jobs to run, one per UserID.
    pub jobs: Vec<Job>,
    /// For each job, the messages it answers for (the winner first).
    pub owners: Vec<Vec<usize>>,
    /// Messages decided without Tencent (unreadable bodies).
    pub decided: Vec<(usize, Verdict)>,
}

/// Reads a batch: unreadable messages are dead-lettered at once; of several jobs for one UserID
/// only the newest event (by provider time, then by position) is run, and the others follow its
/// verdict, so a late, older event can never overwrite a newer one within a batch.
pub fn plan(messages: &[Message]) -> Plan {
    let mut plan = Plan {
        jobs: Vec::new(),
        owners: Vec::new(),
        decided: Vec::new(),
    };
    for (i, m) in messages.iter().enumerate() {
        let Some(job) = Job::from_json(&m.body) else {
            plan.decided.push((
                i,
                Verdict::DeadLetter {
                    code: None,
                    reason: "the message is not a job this version can read".into(),
                },
            ));
            continue;
        };
        let same = plan
            .jobs
            .iter()
            .position(|j| j.user_id == job.user_id && j.op == job.op);
        match same {
            None => {
                plan.jobs.push(job);
                plan.owners.push(vec![i]);
            }
            Some(k) => {
                let newer = job.at >= plan.jobs.get(k).and_then(|j| j.at);
                if let (Some(slot), Some(owners)) = (plan.jobs.get_mut(k), plan.owners.get_mut(k)) {
                    if newer {
                        *slot = job;
                        owners.insert(0, i);
                    } else {
                        owners.push(i);
                    }
                }
            }
        }
    }
    plan
}

/// Exponential delay with "equal jitter" for retry `attempts` (1-based), capped at 12 hours.
pub fn backoff_s(attempts: u32, random: u32) -> u32 {
    let exp = u64::from(BASE_DELAY_S) << attempts.saturating_sub(1).min(20);
    let d = exp.min(u64::from(MAX_DELAY_S));
    let jittered = d / 2 + u64::from(random) % (d / 2 + 1);
    u32::try_from(jittered).unwrap_or(MAX_DELAY_S)
}

/// The verdict for a message whose job ended with `result` on delivery attempt `attempts`.
pub fn decide(result: &JobResult, attempts: u32, random: u32) -> Verdict {
    let give_up = attempts >= MAX_ATTEMPTS;
    match result {
        JobResult::Done { .. } => Verdict::Ack,
        JobResult::Failed(ImportError::Rejected { code, info }) => Verdict::DeadLetter {
            code: Some(*code),
            reason: format!("Tencent rejected the account: {info}"),
        },
        JobResult::Failed(e) if give_up => Verdict::DeadLetter {
            code: error_code(e),
            reason: format!("gave up after {attempts} attempts: {e}"),
        },
        JobResult::Failed(ImportError::Operator { .. } | ImportError::WrongRegion { .. }) => {
            Verdict::Retry {
                delay_s: OPERATOR_DELAY_S.saturating_mul(attempts).min(MAX_DELAY_S),
            }
        }
        // The webhook path's 30 s Retry-After is a guess for senders; only Tencent's own
        // rate-limit wait overrides the queue's schedule.
        JobResult::Failed(ImportError::Unavailable {
            retry_after_s,
            rate_limited,
            ..
        }) => Verdict::Retry {
            delay_s: if *rate_limited {
                backoff_s(attempts, random).max(*retry_after_s)
            } else {
                backoff_s(attempts, random)
            },
        },
        JobResult::NotStarted => Verdict::Retry {
            delay_s: backoff_s(attempts, random),
        },
    }
}

/// Tencent's code in an import error, if it has one.
pub fn error_code(e: &ImportError) -> Option<i64> {
    match e {
        ImportError::Rejected { code, .. }
        | ImportError::Operator { code, .. }
        | ImportError::WrongRegion { code, .. } => Some(*code),
        ImportError::Unavailable { .. } => None,
    }
}

/// The verdict for every message of a planned batch, given each job's result. Messages that lost
/// to a newer event for the same user follow the winner, except that only the winner becomes a
/// dead letter.
pub fn verdicts(
    plan: &Plan,
    results: &[JobResult],
    messages: &[Message],
    random: u32,
) -> Vec<(usize, Verdict)> {
    let mut out = plan.decided.clone();
    for (owners, result) in plan.owners.iter().zip(results) {
        for (rank, &i) in owners.iter().enumerate() {
            let attempts = messages.get(i).map_or(1, |m| m.attempts);
            let verdict = match decide(result, attempts, random) {
                Verdict::DeadLetter { .. } if rank > 0 => Verdict::Ack,
                v => v,
            };
            out.push((i, verdict));
        }
    }
    crate::small::sort_by_key(&mut out, |(i, _)| *i);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::{Op, JOB_VERSION};

    fn job(user: &str, at: Option<i64>, nick: &str) -> Job {
        Job {
            version: JOB_VERSION,
            op: Op::Import,
            provider: "clerk".into(),
            user_id: user.into(),
            nick: Some(nick.into()),
            face_url: None,
            event_id: None,
            at,
        }
    }

    fn msg(i: usize, attempts: u32, body: String) -> Message {
        Message {
            id: format!("m{i}"),
            attempts,
            body,
        }
    }

    #[test]
    fn one_job_per_user_and_the_latest_event_wins() {
        let messages = vec![
            msg(0, 1, job("a", Some(200), "new").to_json()),
            msg(1, 1, job("b", None, "b").to_json()),
            msg(2, 1, job("a", Some(100), "old").to_json()),
            msg(3, 1, "{not a job".into()),
            msg(4, 1, job("b", None, "b2").to_json()),
        ];
        let p = plan(&messages);
        assert_eq!(p.jobs.len(), 2);
        assert_eq!(p.jobs[0].nick.as_deref(), Some("new"));
        assert_eq!(p.owners[0], vec![0, 2]);
        // Equal times: the later message wins.
        assert_eq!(p.jobs[1].nick.as_deref(), Some("b2"));
        assert_eq!(p.owners[1], vec![4, 1]);
        assert!(matches!(
            p.decided[..],
            [(3, Verdict::DeadLetter { code: None, .. })]
        ));
    }

    #[test]
    fn every_error_class_gets_its_verdict() {
        let done = JobResult::Done { region: None };
        assert_eq!(decide(&done, 1, 0), Verdict::Ack);
        let bad = JobResult::Failed(ImportError::Rejected {
            code: 40601,
            info: "long".into(),
        });
        assert!(matches!(
            decide(&bad, 1, 0),
            Verdict::DeadLetter {
                code: Some(40601),
                ..
            }
        ));
        let op = JobResult::Failed(ImportError::Operator {
            code: 70009,
            info: "key".into(),
        });
        assert_eq!(decide(&op, 1, 0), Verdict::Retry { delay_s: 600 });
        assert_eq!(decide(&op, 3, 0), Verdict::Retry { delay_s: 1_800 });
        assert!(matches!(
            decide(&op, MAX_ATTEMPTS, 0),
            Verdict::DeadLetter {
                code: Some(70009),
                ..
            }
        ));
        let down = JobResult::Failed(ImportError::Unavailable {
            last: "502".into(),
            retry_after_s: 30,
            rate_limited: false,
        });
        // The first retry follows the queue's own schedule (10 s with jitter), not the 30 s
        // a webhook sender would be told.
        assert_eq!(decide(&down, 1, 0), Verdict::Retry { delay_s: 5 });
        assert_eq!(decide(&down, 4, 0), Verdict::Retry { delay_s: 40 });
        let limited = JobResult::Failed(ImportError::Unavailable {
            last: "60007".into(),
            retry_after_s: 60,
            rate_limited: true,
        });
        assert_eq!(decide(&limited, 1, 0), Verdict::Retry { delay_s: 60 });
        assert!(matches!(
            decide(&down, MAX_ATTEMPTS, 0),
            Verdict::DeadLetter { code: None, .. }
        ));
        assert!(matches!(
            decide(&JobResult::NotStarted, 1, 0),
            Verdict::Retry { .. }
        ));
    }

    #[test]
    fn delays_grow_with_jitter_and_stay_under_twelve_hours() {
        assert_eq!(backoff_s(1, 0), 5);
        assert_eq!(backoff_s(1, 5), 10);
        assert_eq!(backoff_s(3, 0), 20);
        for a in 1..=40 {
            for r in [0, 7, u32::MAX] {
                let d = backoff_s(a, r);
                assert!(d <= MAX_DELAY_S && d >= backoff_s(a, 0), "{a} {r} {d}");
            }
        }
        assert_eq!(backoff_s(40, 0), MAX_DELAY_S / 2);
    }

    #[test]
    fn losers_follow_the_winner_but_only_the_winner_is_dead_lettered() {
        let messages = vec![
            msg(0, 1, job("a", Some(1), "old").to_json()),
            msg(1, 2, job("a", Some(2), "new").to_json()),
        ];
        let p = plan(&messages);
        let bad = JobResult::Failed(ImportError::Rejected {
            code: 70402,
            info: "x".into(),
        });
        let v = verdicts(&p, &[bad], &messages, 0);
        assert!(matches!(
            v[..],
            [(0, Verdict::Ack), (1, Verdict::DeadLetter { .. })]
        ));
        let down = JobResult::Failed(ImportError::Unavailable {
            last: "x".into(),
            retry_after_s: 1,
            rate_limited: true,
        });
        let v = verdicts(&p, &[down], &messages, 0);
        assert!(v.iter().all(|(_, v)| matches!(v, Verdict::Retry { .. })));
    }
}
