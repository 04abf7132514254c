//! `jobs`: queue messages: `Job::from_json`, the consumer's plan and verdicts (`consumer::plan`,
//! `verdicts`, `decide`), and, with a scripted Tencent, the whole queue handler
//! (`background::consume`) for the job queue and the dead-letter queue.
//!
//! Input: `[flags][seed]`, then one message body per line up to an empty line, then Tencent's
//! answers one per line (see [`answer`]). `flags`: bit 0 run the queue handler too, bit 1 as the
//! dead-letter queue, bit 2 a D1 database is bound; the `seed` varies attempts, results and jitter.
//!
//! Checks: a job that reads reads back from its own JSON unchanged; the plan accounts for every
//! message exactly once; there is exactly one verdict per message; retry delays stay within
//! the queue's 12-hour limit; the handler answers each message once.

use crate::input::{answer, text, Input};
use crate::{block_on, demo_env, Env, FuzzIo};
use std::collections::VecDeque;
use std::sync::OnceLock;
use tim_onboard::background;
use tim_onboard::consumer::{self, Message, Verdict};
use tim_onboard::executor::JobResult;
use tim_onboard::job::Job;
use tim_onboard::region::Region;
use tim_onboard::tim::ImportError;

/// The target.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let flags = input.byte();
    let seed = input.byte();
    let messages: Vec<Message> = input
        .block()
        .into_iter()
        .take(200)
        .enumerate()
        .map(|(i, l)| Message {
            id: format!("m{i}"),
            attempts: (u32::from(seed) + i as u32) % 12,
            body: text(l),
        })
        .collect();
    let script: VecDeque<_> = std::iter::from_fn(|| input.line()).map(answer).collect();

    for m in &messages {
        if let Some(job) = Job::from_json(&m.body) {
            let json = job.to_json();
            assert_eq!(
                Job::from_json(&json),
                Some(job.clone()),
                "{json} does not read back"
            );
            let _ = job.dedupe_key();
        }
    }

    let plan = consumer::plan(&messages);
    assert_eq!(plan.jobs.len(), plan.owners.len());
    let mut seen = vec![0u32; messages.len()];
    for i in plan
        .owners
        .iter()
        .flatten()
        .chain(plan.decided.iter().map(|(i, _)| i))
    {
        seen[*i] += 1;
    }
    assert!(
        seen.iter().all(|&n| n == 1),
        "messages not planned exactly once: {seen:?}"
    );

    let results: Vec<JobResult> = (0..plan.jobs.len())
        .map(|k| result(u32::from(seed).wrapping_mul(31).wrapping_add(k as u32)))
        .collect();
    let verdicts = consumer::verdicts(&plan, &results, &messages, u32::from(seed) << 20);
    let indices: Vec<usize> = verdicts.iter().map(|(i, _)| *i).collect();
    assert_eq!(
        indices,
        (0..messages.len()).collect::<Vec<_>>(),
        "one verdict per message"
    );
    for (_, v) in &verdicts {
        check_verdict(v);
    }
    for attempts in [0, 1, 7, 8, u32::MAX] {
        for r in &results {
            check_verdict(&consumer::decide(r, attempts, u32::MAX));
        }
        assert!(consumer::backoff_s(attempts, u32::MAX) <= consumer::MAX_DELAY_S);
    }

    if flags & 1 == 1 {
        let io = FuzzIo {
            script: script.into(),
            db: flags & 4 == 4,
            ..FuzzIo::default()
        };
        io.rng.set(u32::from(seed) | 1);
        let queue = if flags & 2 == 2 {
            background::DEFAULT_DEAD_LETTER_QUEUE
        } else {
            "tim-onboard-jobs"
        };
        let state = tim_onboard::state::IsolateState::default();
        let out = block_on(background::consume(
            queue,
            messages.clone(),
            env(),
            &state,
            &io,
        ));
        let ids: Vec<&str> = out.iter().map(|(id, _)| id.as_str()).collect();
        let expected: Vec<&str> = messages.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(
            ids, expected,
            "the queue handler answers each message once, in order"
        );
        for (_, v) in &out {
            check_verdict(v);
        }
    }
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(demo_env)
}

fn result(x: u32) -> JobResult {
    let code = i64::from(x % 100_000);
    match x % 7 {
        0 | 1 => JobResult::Done {
            region: Some(Region::Tokyo).filter(|_| x.is_multiple_of(2)),
        },
        2 => JobResult::Failed(ImportError::Rejected {
            code,
            info: "rejected".into(),
        }),
        3 => JobResult::Failed(ImportError::Operator {
            code,
            info: "operator".into(),
        }),
        4 => JobResult::Failed(ImportError::WrongRegion {
            code,
            tried: vec![Region::China],
        }),
        5 => JobResult::Failed(ImportError::Unavailable {
            last: "down".into(),
            retry_after_s: x % 100,
            rate_limited: x.is_multiple_of(3),
        }),
        _ => JobResult::NotStarted,
    }
}

fn check_verdict(v: &Verdict) {
    if let Verdict::Retry { delay_s } = v {
        assert!(*delay_s <= consumer::MAX_DELAY_S, "retry after {delay_s} s");
    }
}
