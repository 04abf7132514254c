//! The queue side of the Worker: the job queue's consumer (batch the jobs into Tencent calls,
//! decide per message) and the dead-letter queue's consumer (record what Queues gave up on in D1).
//! It returns a verdict per message and never fails as a whole, because an `Err` out of a queue
//! handler retries the entire batch and resets the wasm instance.

use crate::config::{self, TimConfig};
use crate::consumer::{self, Message, Verdict};
use crate::deadletter::{self, Record};
use crate::drive;
use crate::error::where_to_set;
use crate::executor::{Executor, JobResult, Policy};
use crate::http::Location;
use crate::job::Job;
use crate::lifecycle;
use crate::pipeline::{self, Ctx};
use crate::ports::Io;
use crate::region::EdgeLocation;
use crate::settings::Settings;
use crate::state::IsolateState;
use crate::tim::RetryPolicy;

/// Setting: the dead-letter queue's name (as in wrangler.toml), so its batches are recognised.
pub const TIM_DEAD_LETTER_QUEUE: &str = "TIM_DEAD_LETTER_QUEUE";
/// The dead-letter queue's default name.
pub const DEFAULT_DEAD_LETTER_QUEUE: &str = "tim-onboard-dlq";
/// Time one consumer invocation may spend on Tencent (Queues allows 15 minutes of wall time).
pub const CONSUMER_BUDGET_MS: u64 = 60_000;

/// Handles one batch from `queue`; returns each message's id and verdict.
pub async fn consume<I: Io>(
    queue: &str,
    messages: Vec<Message>,
    settings: &dyn Settings,
    state: &IsolateState,
    io: &I,
) -> Vec<(String, Verdict)> {
    let memo = state.settings(settings);
    let cx = Ctx {
        settings: &memo,
        state,
        io,
    };
    let dlq = memo
        .get(TIM_DEAD_LETTER_QUEUE)
        .unwrap_or_else(|| DEFAULT_DEAD_LETTER_QUEUE.to_owned());
    let verdicts = if queue == dlq {
        record_given_up(&messages, &cx).await
    } else {
        import(&messages, &cx).await
    };
    verdicts
        .into_iter()
        .filter_map(|(i, v)| messages.get(i).map(|m| (m.id.clone(), v)))
        .collect()
}

/// The job queue: one batched run over every job, then a verdict per message.
async fn import<I: Io>(messages: &[Message], cx: &Ctx<'_, I>) -> Vec<(usize, Verdict)> {
    let started_ms = cx.io.now_ms();
    let plan = consumer::plan(messages);
    let cfg = match TimConfig::load(cx.settings) {
        Ok(cfg) => cfg,
        Err(e) => {
            // Nothing can be imported until an operator fixes the setting: keep every message.
            loud(cx, None, &format!("{e}; {}", where_to_set(e.var())));
            let wait = Verdict::Retry {
                delay_s: consumer::OPERATOR_DELAY_S,
            };
            return (0..messages.len()).map(|i| (i, wait.clone())).collect();
        }
    };
    let location = Location::Known(EdgeLocation::default());
    let endpoints = pipeline::endpoints_for(&cfg, &location, cx.state);
    let nearest = endpoints.first().and_then(|e| e.region);
    let policy = Policy {
        retry: RetryPolicy {
            budget_ms: CONSUMER_BUDGET_MS,
            ..RetryPolicy::default()
        },
        stop_at_first_failure: false,
        batch: true,
    };
    // Late or redelivered events that a newer one (or a deletion) already overtook are acked
    // without touching Tencent.
    let known = pipeline::user_states(&plan.jobs, cx).await;
    let now_s = i64::try_from(cx.io.now_ms() / 1000).unwrap_or(i64::MAX);
    let stale: Vec<bool> = lifecycle::order(&plan.jobs, &known, now_s)
        .iter()
        .map(Option::is_some)
        .collect();
    let runnable: Vec<Job> = plan
        .jobs
        .iter()
        .zip(&stale)
        .filter(|(_, s)| !**s)
        .map(|(j, _)| j.clone())
        .collect();
    let mut exec = Executor::new(runnable, endpoints, policy, started_ms);
    drive::drive(&mut exec, &pipeline::tencent(&cfg, cx.state, true), cx.io).await;
    let mut ran = exec.finish().into_iter();
    let mut done = Vec::new();
    let results: Vec<JobResult> = stale
        .iter()
        // Only jobs that ran have an executor result, in the same order.
        .map(|s| match (s, if *s { None } else { ran.next() }) {
            (false, Some((job, result))) => {
                if let JobResult::Done { region } = result {
                    pipeline::remember_region(&cfg, region, nearest, cx);
                    done.push(job);
                }
                result
            }
            _ => JobResult::Done { region: None },
        })
        .collect();
    pipeline::record_applied(&done, &known, cx).await;
    let mut verdicts = consumer::verdicts(&plan, &results, messages, cx.io.random_u32());
    for (i, v) in verdicts.iter_mut() {
        if let Verdict::DeadLetter { code, reason } = v {
            let (code, reason) = (*code, reason.clone());
            // Recorded: it stays a dead letter (acked); not recorded: it stays in the queue.
            if let retry @ Verdict::Retry { .. } = store(messages.get(*i), code, reason, cx).await {
                *v = retry;
            }
        }
    }
    summarise(
        cx,
        messages.len(),
        plan.jobs.len(),
        &verdicts,
        &results,
        started_ms,
    );
    verdicts
}

/// The dead-letter queue: what Queues stopped retrying goes to D1, so an operator sees it.
async fn record_given_up<I: Io>(messages: &[Message], cx: &Ctx<'_, I>) -> Vec<(usize, Verdict)> {
    let mut out = Vec::with_capacity(messages.len());
    for (i, m) in messages.iter().enumerate() {
        let reason = format!(
            "the queue stopped retrying after {} deliveries (max_retries)",
            m.attempts
        );
        out.push((i, store(Some(m), None, reason, cx).await));
    }
    out
}

/// Writes a dead letter; the message is acknowledged only once the row is stored.
async fn store<I: Io>(
    m: Option<&Message>,
    code: Option<i64>,
    reason: String,
    cx: &Ctx<'_, I>,
) -> Verdict {
    let Some(m) = m else {
        return Verdict::Ack;
    };
    let Some(job) = Job::from_json(&m.body) else {
        // Nothing readable to keep or re-drive: say so, and drop it.
        loud(
            cx,
            code,
            &format!("message {} is not a job; dropped: {reason}", m.id),
        );
        return Verdict::Ack;
    };
    if !cx.io.has_db() {
        loud(
            cx,
            code,
            "dead letter kept in the queue: bind a D1 database as DB to record it",
        );
        return Verdict::Retry {
            delay_s: consumer::MAX_DELAY_S,
        };
    }
    let now = i64::try_from(cx.io.now_ms()).unwrap_or(i64::MAX);
    let record = Record {
        id: m.id.clone(),
        job,
        code,
        reason,
        attempts: m.attempts,
        first_seen: now,
        last_seen: now,
    };
    let (sql, params) = deadletter::upsert(&record);
    match cx.io.sql(&sql, &params).await {
        Ok(_) => Verdict::Ack,
        Err(e) => {
            loud(cx, code, &format!("could not record a dead letter: {e}"));
            Verdict::Retry {
                delay_s: consumer::backoff_s(m.attempts, cx.io.random_u32()),
            }
        }
    }
}

/// A log line an operator must act on.
fn loud<I: Io>(cx: &Ctx<'_, I>, code: Option<i64>, message: &str) {
    cx.io.log(
        &serde_json::json!({ "tim": "action_needed", "level": "error", "code": code, "message": message })
            .to_string(),
    );
}

/// One line per consumer invocation, and a loud one when an operator must act.
fn summarise<I: Io>(
    cx: &Ctx<'_, I>,
    messages: usize,
    jobs: usize,
    verdicts: &[(usize, Verdict)],
    results: &[crate::executor::JobResult],
    started_ms: u64,
) {
    let count = |f: fn(&Verdict) -> bool| verdicts.iter().filter(|(_, v)| f(v)).count();
    cx.io.log(
        &serde_json::json!({
            "tim": "consumer",
            "messages": messages,
            "jobs": jobs,
            "acked": count(|v| matches!(v, Verdict::Ack)),
            "retried": count(|v| matches!(v, Verdict::Retry { .. })),
            "dead_lettered": count(|v| matches!(v, Verdict::DeadLetter { .. })),
            "ms": cx.io.now_ms().saturating_sub(started_ms),
        })
        .to_string(),
    );
    let operator = results.iter().find_map(|r| match r {
        crate::executor::JobResult::Failed(
            e @ (crate::tim::ImportError::Operator { .. }
            | crate::tim::ImportError::WrongRegion { .. }),
        ) => Some(e),
        _ => None,
    });
    if let Some(e) = operator {
        let hint = config::TIM_SECRET_KEY;
        loud(
            cx,
            consumer::error_code(e),
            &format!("{e}; jobs wait in the queue until it is fixed (check {hint}, TIM_SDKAPPID, TIM_ADMIN, TIM_REGION)"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::{Op, JOB_VERSION};
    use crate::testing::*;
    use crate::tim::MULTIACCOUNT_IMPORT_PATH;

    fn job(user: &str) -> Job {
        Job {
            version: JOB_VERSION,
            op: Op::Import,
            provider: "clerk".into(),
            user_id: user.into(),
            nick: Some(format!("Nick {user}")),
            face_url: None,
            event_id: None,
            at: None,
        }
    }

    fn messages(users: &[&str]) -> Vec<Message> {
        users
            .iter()
            .enumerate()
            .map(|(i, u)| Message {
                id: format!("m{i}"),
                attempts: 1,
                body: job(u).to_json(),
            })
            .collect()
    }

    type Statement = (String, Vec<serde_json::Value>);

    fn dead_letter_writes(log: &[Statement]) -> Vec<&Statement> {
        log.iter()
            .filter(|(sql, _)| sql.starts_with("INSERT INTO dead_letters"))
            .collect()
    }

    fn with_db(io: FakeIo) -> FakeIo {
        *io.db.borrow_mut() = Some(Vec::new());
        io
    }

    fn batch_ok(fail: &[&str]) -> Result<(u16, &'static str), crate::ports::TransportError> {
        let body = serde_json::json!({"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","FailAccounts":fail});
        Ok((200, Box::leak(body.to_string().into_boxed_str())))
    }

    #[test]
    fn a_batch_is_one_multiaccount_import_and_every_message_is_acked() {
        let io = with_db(FakeIo::new(vec![batch_ok(&[])]));
        let state = IsolateState::default();
        let v = block_on(consume(
            "tim-onboard-jobs",
            messages(&["a", "b", "c"]),
            &env(&[]),
            &state,
            &io,
        ));
        assert_eq!(v.len(), 3);
        assert!(v.iter().all(|(_, v)| *v == Verdict::Ack));
        let calls = io.calls.borrow();
        assert_eq!(calls.len(), 1);
        assert!(calls[0].0.contains(MULTIACCOUNT_IMPORT_PATH));
        let body: serde_json::Value = serde_json::from_str(&calls[0].1).unwrap();
        assert_eq!(body["AccountList"].as_array().unwrap().len(), 3);
        assert_eq!(body["AccountList"][1]["Nick"], "Nick b");
    }

    #[test]
    fn fail_accounts_are_tried_alone_and_a_permanent_refusal_becomes_a_dead_letter() {
        let io = with_db(FakeIo::new(vec![batch_ok(&["b"]), fail(40601)]));
        let state = IsolateState::default();
        let v = block_on(consume(
            "tim-onboard-jobs",
            messages(&["a", "b"]),
            &env(&[]),
            &state,
            &io,
        ));
        assert_eq!(v[0], ("m0".into(), Verdict::Ack));
        assert!(matches!(
            &v[1].1,
            Verdict::DeadLetter {
                code: Some(40601),
                ..
            }
        ));
        let db = io.db.borrow();
        let (_, params) = dead_letter_writes(db.as_ref().unwrap())[0];
        assert_eq!(
            (params[0].as_str(), params[2].as_str()),
            (Some("m1"), Some("b"))
        );
        assert!(io.calls.borrow()[1].0.contains("/account_import?"));
    }

    #[test]
    fn transient_and_operator_failures_are_retried_with_delays() {
        let io = with_db(FakeIo::new(vec![fail(70403)]));
        let state = IsolateState::default();
        let v = block_on(consume(
            "tim-onboard-jobs",
            messages(&["a"]),
            &env(&[]),
            &state,
            &io,
        ));
        assert_eq!(
            v[0].1,
            Verdict::Retry {
                delay_s: consumer::OPERATOR_DELAY_S
            }
        );
        assert!(io
            .logs
            .borrow()
            .iter()
            .any(|l| l.contains("action_needed") && l.contains("70403")));
        // Tencent down for the whole budget: retried later, nothing dead-lettered.
        let io = with_db(FakeIo::new(vec![]));
        let v = block_on(consume(
            "tim-onboard-jobs",
            messages(&["a"]),
            &env(&[]),
            &IsolateState::default(),
            &io,
        ));
        assert!(matches!(v[0].1, Verdict::Retry { .. }));
        assert!(dead_letter_writes(io.db.borrow().as_ref().unwrap()).is_empty());
    }

    #[test]
    fn a_missing_setting_keeps_every_message_and_says_where_to_set_it() {
        let io = FakeIo::new(vec![]);
        let v = block_on(consume(
            "tim-onboard-jobs",
            messages(&["a", "b"]),
            &env(&[("TIM_SECRET_KEY", "")]),
            &IsolateState::default(),
            &io,
        ));
        assert!(v.iter().all(|(_, v)| matches!(v, Verdict::Retry { .. })));
        assert!(io
            .logs
            .borrow()
            .iter()
            .any(|l| l.contains("wrangler secret put TIM_SECRET_KEY")));
        assert!(io.calls.borrow().is_empty());
    }

    #[test]
    fn the_dead_letter_queue_is_recorded_in_d1_or_kept() {
        let io = with_db(FakeIo::new(vec![]));
        let mut m = messages(&["a"]);
        m[0].attempts = 11;
        let v = block_on(consume(
            "tim-onboard-dlq",
            m.clone(),
            &env(&[]),
            &IsolateState::default(),
            &io,
        ));
        assert_eq!(v[0].1, Verdict::Ack);
        let db = io.db.borrow();
        let (_, params) = &db.as_ref().unwrap()[0];
        assert!(params[5].as_str().unwrap().contains("11 deliveries"));
        // Without a database the dead letter stays in its queue.
        let io = FakeIo::new(vec![]);
        let v = block_on(consume(
            "tim-onboard-dlq",
            m,
            &env(&[]),
            &IsolateState::default(),
            &io,
        ));
        assert!(matches!(v[0].1, Verdict::Retry { .. }));
    }

    #[test]
    fn a_late_create_after_an_applied_deletion_is_acked_without_tencent() {
        let io = with_db(FakeIo::new(vec![OK]));
        let state = IsolateState::default();
        let kick = Job {
            op: Op::Kick,
            at: Some(100),
            ..job("a")
        };
        let m = vec![Message {
            id: "k".into(),
            attempts: 1,
            body: kick.to_json(),
        }];
        block_on(consume("tim-onboard-jobs", m, &env(&[]), &state, &io));
        assert!(io.calls.borrow()[0].0.contains("/kick?"));
        let writes: Vec<_> = io
            .db
            .borrow()
            .as_ref()
            .unwrap()
            .iter()
            .map(|(s, _)| s.clone())
            .collect();
        assert!(writes
            .iter()
            .any(|s| s.starts_with("INSERT INTO user_state")));
        assert!(writes
            .iter()
            .any(|s| s.starts_with("DELETE FROM dead_letters WHERE user_id")));
        // The database now says "deleted at 100"; a create from before that is stale.
        io.rows.borrow_mut().push_back(vec![
            serde_json::json!({"user_id": "a", "last_at": 100, "deleted_at": 100}),
        ]);
        let old = Job {
            at: Some(50),
            ..job("a")
        };
        let m = vec![Message {
            id: "c".into(),
            attempts: 1,
            body: old.to_json(),
        }];
        let v = block_on(consume(
            "tim-onboard-jobs",
            m,
            &env(&[]),
            &IsolateState::default(),
            &io,
        ));
        assert_eq!(v[0].1, Verdict::Ack);
        assert_eq!(
            io.calls.borrow().len(),
            1,
            "no Tencent call for the stale create"
        );
    }
}
