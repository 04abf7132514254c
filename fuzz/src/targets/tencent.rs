//! `tencent`: Tencent's answer parser (`tim::parse_reply`) and the executor (with its
//! `tim::ImportRun` retries and data-centre walk) fed fuzzed answers.
//!
//! Input: `[flags][seed][budget]`, then one job per line up to an empty line (`i`, `s`, `k` or
//! `d` for import, set profile, kick, delete, then the UserID), then Tencent's answers one per
//! line (`200 {"ActionStatus":...}`, `T` timeout, `N` network error; see [`answer`]).
//! `flags`: bit 0 batch, bit 1 stop at the first failure, bits 2-3 the endpoints (emulator URL,
//! a fixed region, `auto` from an edge location, none), bits 4-5 the per-attempt timeout.
//!
//! Checks: no panic; each call names an existing endpoint and fits the budget; the executor
//! ends within 10,000 calls with one result per job, and (unless it stops at the first failure)
//! none left unstarted.

use crate::input::{answer, text, Input};
use tim_onboard::executor::{Executor, JobResult, Next, Policy};
use tim_onboard::job::{Job, Op, JOB_VERSION};
use tim_onboard::region::{self, EdgeLocation, Region, RegionSetting};
use tim_onboard::tim::{self, Reply, RetryPolicy};

/// The target.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let flags = input.byte();
    let mut rng = u32::from(input.byte()) | 1;
    let budget_ms = u64::from(input.byte()) * 100;
    let jobs: Vec<Job> = input
        .block()
        .into_iter()
        .take(300)
        .map(|l| {
            let (op, id) = l.split_first().unwrap_or((&b'i', b""));
            Job {
                version: JOB_VERSION,
                op: match op {
                    b's' => Op::SetProfile,
                    b'k' => Op::Kick,
                    b'd' => Op::Delete,
                    _ => Op::Import,
                },
                provider: "fuzz".into(),
                user_id: text(id),
                nick: (op % 2 == 0).then(|| "Nick".to_owned()),
                face_url: None,
                event_id: None,
                at: None,
            }
        })
        .collect();
    let mut replies: Vec<Reply> = Vec::new();
    while let Some(line) = input.line() {
        let r = match answer(line) {
            Ok((status, body)) => tim::parse_reply(status, &body),
            Err(e) => Err(e).into(),
        };
        if let Ok(tim::Answer::Fail { code, .. }) = &r.outcome {
            let _ = tim::classify(*code);
        }
        replies.push(r);
    }

    let endpoints = match (flags >> 2) & 3 {
        0 => region::endpoints(
            RegionSetting::Auto,
            Some("http://127.0.0.1:8790"),
            &EdgeLocation::default(),
            None,
        ),
        1 => region::endpoints(
            RegionSetting::Fixed(Region::Singapore),
            None,
            &EdgeLocation::default(),
            None,
        ),
        2 => region::endpoints(
            RegionSetting::Auto,
            None,
            &EdgeLocation {
                country: Some("JP".into()),
                ..EdgeLocation::default()
            },
            Some(Region::Frankfurt),
        ),
        _ => Vec::new(),
    };
    let retry = RetryPolicy {
        budget_ms: if budget_ms == 0 { 10_000 } else { budget_ms },
        attempt_timeout_ms: [4_000, 1, 500, 60_000][usize::from((flags >> 4) & 3)],
        ..RetryPolicy::default()
    };
    let policy = Policy {
        retry,
        stop_at_first_failure: flags & 2 == 2,
        batch: flags & 1 == 1,
    };
    let started = 1_000_000;
    let mut now = started;
    let n_jobs = jobs.len();
    let mut exec = Executor::new(jobs, endpoints, policy, started);
    let mut next = exec.start(now);
    let mut replies = replies.into_iter();
    let mut calls = 0;
    while let Next::Call(call) = next {
        calls += 1;
        assert!(calls <= 10_000, "the executor made over 10,000 calls");
        assert!(
            call.endpoint < exec.endpoints().len(),
            "call to a missing endpoint"
        );
        let _ = (exec.body(), exec.subject());
        now += call.delay_ms;
        assert!(
            now - started <= retry.budget_ms,
            "call at {} ms, past the {} ms budget",
            now - started,
            retry.budget_ms
        );
        now += 5;
        let reply = replies
            .next()
            .unwrap_or_else(|| Err(tim_onboard::ports::TransportError::Timeout).into());
        rng ^= rng << 13;
        rng ^= rng >> 17;
        rng ^= rng << 5;
        next = exec.feed(&reply, now, rng);
    }
    assert_eq!(exec.results().len(), n_jobs, "one result per job");
    if !policy.stop_at_first_failure {
        assert!(
            !exec.results().contains(&JobResult::NotStarted),
            "a job was never started: {:?}",
            exec.results()
        );
    }
    let _ = exec.finish();
}
