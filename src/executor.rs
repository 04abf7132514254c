//! Carrying out a list of jobs against Tencent, as a pure state machine: it is given the jobs,
//! the endpoints and the retry policy, says which HTTP call to make next ([`Call`]), is fed each
//! answer with the clock, and ends with a [`JobResult`] per job.
//!
//! It owns no socket, timer or clock, so every retry, fail-over and budget decision is tested
//! natively by feeding it answers ([`crate::drive`] runs it over the runtime's ports). Jobs go out
//! one per call (`account_import`) or, with [`Policy::batch`], up to 100 per `multiaccount_import`
//! call. Each call's retries and data-centre walk are a [`tim::ImportRun`]; all calls share the
//! time budget that started when the work began, because the sender's timeout (or the queue
//! consumer's) covers all of it.

use crate::job::{Job, Op};
use crate::region::{Endpoint, Region};
use crate::tim::{self, ImportError, ImportRequest, ImportRun, RetryPolicy, Step};
use std::collections::VecDeque;

/// How one job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobResult {
    /// Tencent accepted it.
    Done {
        /// The data centre that answered (`None` for an origin override such as the emulator).
        region: Option<Region>,
    },
    /// Tencent refused it or could not be reached: permanent (`Rejected`), operator problem
    /// (`Operator`, `WrongRegion`) or retry later (`Unavailable`, with its delay).
    Failed(ImportError),
    /// Not attempted, because an earlier job failed and the policy stops at the first failure.
    NotStarted,
}

/// The next HTTP call to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Index into [`Executor::endpoints`].
    pub endpoint: usize,
    /// REST path of the API to call.
    pub path: &'static str,
    /// Wait this long before calling (backoff).
    pub delay_ms: u64,
    /// Client timeout for the call.
    pub timeout_ms: u64,
    /// Sign a new admin UserSig first (the cached one expired).
    pub fresh_sig: bool,
}

/// What the driver should do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Make this call, then [`Executor::feed`] its reply.
    Call(Call),
    /// Every job has a result ([`Executor::results`]).
    Done,
}

/// How to carry the jobs out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Retries, timeouts and the time budget (shared by all jobs).
    pub retry: RetryPolicy,
    /// Leave later jobs [`JobResult::NotStarted`] once one fails (the webhook path answers the
    /// first failure, and the sender retries the whole delivery).
    pub stop_at_first_failure: bool,
    /// Import up to 100 accounts per `multiaccount_import` call (10,000 accounts/s at Tencent's
    /// quota instead of 200); accounts it lists in `FailAccounts` are retried one by one with
    /// `account_import`, whose answer says why.
    pub batch: bool,
}

/// One call's worth of jobs: a single import, or a batch of distinct UserIDs.
#[derive(Debug)]
struct Unit {
    jobs: Vec<usize>,
    path: &'static str,
    body: String,
}

/// The state of a list of jobs being carried out.
#[derive(Debug)]
pub struct Executor {
    jobs: Vec<Job>,
    results: Vec<JobResult>,
    endpoints: Vec<Endpoint>,
    policy: Policy,
    started_ms: u64,
    pending: VecDeque<Unit>,
    current: Option<(Unit, ImportRun)>,
}

fn request(job: &Job) -> ImportRequest {
    ImportRequest {
        user_id: job.user_id.clone(),
        nick: job.nick.clone(),
        face_url: job.face_url.clone(),
    }
}

/// The single-job unit for `op` (a job's own op, or `Import` after an update found no account).
fn single_as(jobs: &[Job], i: usize, op: Op) -> Unit {
    let (path, body) = match jobs.get(i) {
        None => (tim::ACCOUNT_IMPORT_PATH, String::new()),
        Some(job) => match op {
            Op::Import => (tim::ACCOUNT_IMPORT_PATH, request(job).to_json()),
            Op::SetProfile => (
                tim::PORTRAIT_SET_PATH,
                tim::portrait_set_body(&job.user_id, job.nick.as_deref(), job.face_url.as_deref()),
            ),
            Op::Kick => (tim::KICK_PATH, tim::kick_body(&job.user_id)),
            Op::Delete => (
                tim::ACCOUNT_DELETE_PATH,
                tim::account_delete_body(&[job.user_id.as_str()]),
            ),
        },
    };
    Unit {
        jobs: vec![i],
        path,
        body,
    }
}

fn single(jobs: &[Job], i: usize) -> Unit {
    single_as(jobs, i, jobs.get(i).map_or(Op::Import, |j| j.op))
}

/// Imports and deletions go out in batches of at most [`tim::MAX_BATCH`] distinct UserIDs;
/// profile writes and kicks have no batch API and go one by one.
fn batches(jobs: &[Job]) -> Vec<Unit> {
    let mut groups: Vec<(Op, Vec<usize>)> = Vec::new();
    let mut units = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        if !matches!(job.op, Op::Import | Op::Delete) {
            units.push(single(jobs, i));
            continue;
        }
        let fits = |(op, g): &(Op, Vec<usize>)| {
            *op == job.op
                && g.len() < tim::MAX_BATCH
                && !g
                    .iter()
                    .any(|&k| jobs.get(k).is_some_and(|o| o.user_id == job.user_id))
        };
        match groups.iter_mut().find(|g| fits(g)) {
            Some((_, g)) => g.push(i),
            None => groups.push((job.op, vec![i])),
        }
    }
    let batched = groups.into_iter().map(|(op, g)| {
        let members = g.iter().filter_map(|&i| jobs.get(i));
        let (path, body) = match op {
            Op::Delete => {
                let ids: Vec<&str> = members.map(|j| j.user_id.as_str()).collect();
                (tim::ACCOUNT_DELETE_PATH, tim::account_delete_body(&ids))
            }
            _ => {
                let accounts: Vec<ImportRequest> = members.map(request).collect();
                let body = tim::multiaccount_import_body(&accounts);
                (tim::MULTIACCOUNT_IMPORT_PATH, body)
            }
        };
        Unit {
            jobs: g,
            path,
            body,
        }
    });
    batched.chain(units).collect()
}

impl Executor {
    /// Prepares `jobs` over `endpoints`; the budget counts from `started_ms`.
    pub fn new(jobs: Vec<Job>, endpoints: Vec<Endpoint>, policy: Policy, started_ms: u64) -> Self {
        let pending = if policy.batch && jobs.len() > 1 {
            batches(&jobs).into()
        } else {
            (0..jobs.len()).map(|i| single(&jobs, i)).collect()
        };
        let results = vec![JobResult::NotStarted; jobs.len()];
        Executor {
            jobs,
            results,
            endpoints,
            policy,
            started_ms,
            pending,
            current: None,
        }
    }

    /// The jobs, in the order given.
    pub fn jobs(&self) -> &[Job] {
        &self.jobs
    }

    /// The endpoints that [`Call::endpoint`] indexes (the data centre that last answered first).
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// The body of the call in flight.
    pub fn body(&self) -> &str {
        self.current.as_ref().map_or("", |(u, _)| u.body.as_str())
    }

    /// Who the call in flight is for, for log lines: a UserID, or how many accounts.
    pub fn subject(&self) -> String {
        match self.current.as_ref().map(|(u, _)| u.jobs.as_slice()) {
            Some([one]) => self
                .jobs
                .get(*one)
                .map_or_else(String::new, |j| format!("user {}", j.user_id)),
            Some(many) => format!("{} accounts", many.len()),
            None => String::new(),
        }
    }

    /// One result per job (`NotStarted` for those not reached yet).
    pub fn results(&self) -> &[JobResult] {
        &self.results
    }

    /// Consumes the executor into its jobs and their results.
    pub fn finish(self) -> Vec<(Job, JobResult)> {
        self.jobs.into_iter().zip(self.results).collect()
    }

    /// The first call, or `Done` when there is nothing to do.
    pub fn start(&mut self, now_ms: u64) -> Next {
        self.begin_next(now_ms)
    }

    /// Decides what to do after the call in flight produced `reply`.
    pub fn feed(&mut self, reply: &tim::Reply, now_ms: u64, random: u32) -> Next {
        let Some((unit, mut run)) = self.current.take() else {
            return Next::Done;
        };
        let step = run.next(&reply.outcome, now_ms, random);
        self.advance(unit, run, step, (now_ms, &reply.fail_accounts))
    }

    /// Turns a unit's step into the next call, or settles the unit and moves on.
    fn advance(&mut self, unit: Unit, run: ImportRun, step: Step, at: (u64, &[String])) -> Next {
        let (now_ms, fail_accounts) = at;
        match step {
            Step::Send {
                endpoint,
                delay_ms,
                timeout_ms,
                fresh_sig,
            } => {
                let call = Call {
                    endpoint,
                    path: unit.path,
                    delay_ms,
                    timeout_ms,
                    fresh_sig,
                };
                self.current = Some((unit, run));
                Next::Call(call)
            }
            Step::Done(done) => {
                let failed = self.settle(&unit, done, fail_accounts);
                if failed && self.policy.stop_at_first_failure {
                    self.pending.clear();
                    return Next::Done;
                }
                self.begin_next(now_ms)
            }
        }
    }

    /// Records a finished unit; accounts a batch could not import get a call of their own.
    /// Returns whether the unit failed.
    fn settle(&mut self, unit: &Unit, done: Result<usize, ImportError>, failed: &[String]) -> bool {
        let endpoint = match done {
            Ok(endpoint) => endpoint,
            Err(ImportError::Operator { code, .. }) if tim::NO_SUCH_ACCOUNT.contains(&code) => {
                return self.no_such_account(unit);
            }
            // A batch refused as a whole does not say which account is bad: try each alone, so
            // one bad account never parks up to 99 good ones.
            Err(ImportError::Rejected { .. }) if unit.jobs.len() > 1 => {
                for &i in &unit.jobs {
                    self.pending.push_back(single(&self.jobs, i));
                }
                return false;
            }
            Err(e) => {
                for &i in &unit.jobs {
                    if let Some(slot) = self.results.get_mut(i) {
                        *slot = JobResult::Failed(e.clone());
                    }
                }
                return true;
            }
        };
        let region = self.endpoints.get(endpoint).and_then(|e| e.region);
        self.prefer(region);
        let is_batch = unit.jobs.len() > 1
            || matches!(
                unit.path,
                tim::MULTIACCOUNT_IMPORT_PATH | tim::ACCOUNT_DELETE_PATH
            );
        for &i in &unit.jobs {
            let listed = self
                .jobs
                .get(i)
                .is_some_and(|j| failed.contains(&j.user_id));
            if is_batch && listed {
                self.pending.push_back(single(&self.jobs, i));
            } else if let Some(slot) = self.results.get_mut(i) {
                *slot = JobResult::Done { region };
            }
        }
        false
    }

    /// Tencent does not know the account: an update imports it instead (a user who signed up
    /// before tim-onboard was deployed); a kick or a deletion has nothing left to do.
    fn no_such_account(&mut self, unit: &Unit) -> bool {
        for &i in &unit.jobs {
            match self.jobs.get(i).map(|j| j.op) {
                Some(Op::SetProfile) if unit.path == tim::PORTRAIT_SET_PATH => {
                    self.pending.push_back(single_as(&self.jobs, i, Op::Import));
                }
                _ => {
                    if let Some(slot) = self.results.get_mut(i) {
                        *slot = JobResult::Done { region: None };
                    }
                }
            }
        }
        false
    }

    /// Later calls start at the data centre that just answered, as later requests do.
    fn prefer(&mut self, region: Option<Region>) {
        if region.is_some() {
            crate::small::sort_by_key(&mut self.endpoints, |e| e.region != region);
        }
    }

    fn begin_next(&mut self, now_ms: u64) -> Next {
        let Some(unit) = self.pending.pop_front() else {
            return Next::Done;
        };
        let mut run = ImportRun::new(self.policy.retry, self.endpoints.clone(), self.started_ms);
        let step = run.start(now_ms);
        self.advance(unit, run, step, (now_ms, &[]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::JOB_VERSION;
    use crate::ports::TransportError;
    use crate::region::{endpoints, EdgeLocation, Region, RegionSetting};
    use crate::tim::Answer;

    fn job(id: &str) -> Job {
        Job {
            version: JOB_VERSION,
            op: Op::Import,
            provider: "clerk".into(),
            user_id: id.into(),
            nick: Some("Nick".into()),
            face_url: None,
            event_id: None,
            at: None,
        }
    }

    fn policy(stop: bool) -> Policy {
        Policy {
            retry: RetryPolicy::default(),
            stop_at_first_failure: stop,
            batch: false,
        }
    }

    fn ok() -> tim::Outcome {
        Ok(Answer::Ok)
    }

    fn fail(code: i64) -> tim::Outcome {
        Ok(Answer::Fail {
            code,
            info: "x".into(),
        })
    }

    fn local() -> Vec<Endpoint> {
        endpoints(
            RegionSetting::Auto,
            Some("http://127.0.0.1:1"),
            &EdgeLocation::default(),
            None,
        )
    }

    /// The native driver: feeds scripted replies, 10 ms per call plus each delay; returns the
    /// calls made (subject, endpoint, delay).
    fn drive_replies(exec: &mut Executor, script: Vec<tim::Reply>) -> Vec<(String, usize, u64)> {
        let mut now = 0;
        let mut calls = Vec::new();
        let mut script = script.into_iter();
        let mut next = exec.start(now);
        while let Next::Call(c) = next {
            now += c.delay_ms + 10;
            calls.push((exec.subject(), c.endpoint, c.delay_ms));
            let reply = script
                .next()
                .unwrap_or(Err(TransportError::Network("script exhausted".into())).into());
            next = exec.feed(&reply, now, 0);
        }
        calls
    }

    fn drive(exec: &mut Executor, script: Vec<tim::Outcome>) -> Vec<(usize, usize, u64)> {
        let subjects: Vec<String> = exec
            .jobs()
            .iter()
            .map(|j| format!("user {}", j.user_id))
            .collect();
        drive_replies(exec, script.into_iter().map(Into::into).collect())
            .into_iter()
            .map(|(who, e, d)| {
                (
                    subjects
                        .iter()
                        .position(|s| *s == who)
                        .unwrap_or(usize::MAX),
                    e,
                    d,
                )
            })
            .collect()
    }

    #[test]
    fn every_job_is_imported_in_order_with_its_own_body() {
        let mut exec = Executor::new(vec![job("a"), job("b"), job("c")], local(), policy(true), 0);
        let calls = drive(&mut exec, vec![ok(), ok(), ok()]);
        assert_eq!(calls, vec![(0, 0, 0), (1, 0, 0), (2, 0, 0)]);
        assert!(exec
            .results()
            .iter()
            .all(|r| *r == JobResult::Done { region: None }));
        let mut exec = Executor::new(vec![job("a"), job("b")], local(), policy(true), 0);
        exec.start(0);
        exec.feed(&ok().into(), 10, 0);
        assert_eq!(exec.body(), r#"{"UserID":"b","Nick":"Nick"}"#);
    }

    #[test]
    fn a_transient_fault_on_one_call_is_retried_with_backoff() {
        let mut exec = Executor::new(vec![job("a"), job("b")], local(), policy(true), 0);
        let calls = drive(
            &mut exec,
            vec![ok(), fail(70169), Err(TransportError::Status(502)), ok()],
        );
        assert_eq!(calls, vec![(0, 0, 0), (1, 0, 0), (1, 0, 50), (1, 0, 100)]);
        assert_eq!(exec.results()[1], JobResult::Done { region: None });
    }

    #[test]
    fn a_permanent_failure_stops_or_continues_per_policy() {
        let mut exec = Executor::new(vec![job("a"), job("b"), job("c")], local(), policy(true), 0);
        drive(&mut exec, vec![ok(), fail(40601), ok()]);
        assert_eq!(exec.results()[0], JobResult::Done { region: None });
        assert!(matches!(
            exec.results()[1],
            JobResult::Failed(ImportError::Rejected { code: 40601, .. })
        ));
        assert_eq!(exec.results()[2], JobResult::NotStarted);

        let mut exec = Executor::new(
            vec![job("a"), job("b"), job("c")],
            local(),
            policy(false),
            0,
        );
        drive(&mut exec, vec![ok(), fail(40601), ok()]);
        assert_eq!(exec.results()[2], JobResult::Done { region: None });
    }

    #[test]
    fn an_operator_error_is_not_retried() {
        let mut exec = Executor::new(vec![job("a")], local(), policy(true), 0);
        let calls = drive(&mut exec, vec![fail(70009)]);
        assert_eq!(calls.len(), 1);
        assert!(matches!(
            exec.results()[0],
            JobResult::Failed(ImportError::Operator { code: 70009, .. })
        ));
    }

    #[test]
    fn wrong_region_fails_over_and_later_jobs_start_where_the_last_succeeded() {
        let berlin = EdgeLocation {
            latitude: Some(52.5),
            longitude: Some(13.4),
            ..Default::default()
        };
        let eps = endpoints(RegionSetting::Auto, None, &berlin, None);
        assert_eq!(eps[0].region, Some(Region::Frankfurt));
        let mut exec = Executor::new(vec![job("a"), job("b")], eps, policy(true), 0);
        let calls = drive(&mut exec, vec![fail(70020), ok(), ok()]);
        let JobResult::Done {
            region: Some(answered),
        } = exec.results()[0]
        else {
            panic!("{:?}", exec.results());
        };
        assert_ne!(answered, Region::Frankfurt);
        assert_eq!(calls.len(), 3);
        assert_eq!((calls[0].1, calls[2].1), (0, 0));
        // The second job went straight to the data centre that answered the first.
        assert_eq!(exec.endpoints()[0].region, Some(answered));
        assert_eq!(
            exec.results()[1],
            JobResult::Done {
                region: Some(answered)
            }
        );
    }

    #[test]
    fn the_budget_is_shared_by_all_jobs() {
        let mut exec = Executor::new(vec![job("a"), job("b")], local(), policy(true), 0);
        let next = exec.start(0);
        let Next::Call(_) = next else { panic!() };
        // The first job's answer arrives after 9.5 s of a 10 s budget.
        let next = exec.feed(&ok().into(), 9_500, 0);
        assert_eq!(next, Next::Done);
        assert!(matches!(
            exec.results()[1],
            JobResult::Failed(ImportError::Unavailable { .. })
        ));
    }

    #[test]
    fn no_jobs_is_done_at_once() {
        let mut exec = Executor::new(vec![], local(), policy(true), 0);
        assert_eq!(exec.start(0), Next::Done);
        assert!(exec.finish().is_empty());
    }

    fn batched() -> Policy {
        Policy {
            batch: true,
            ..policy(false)
        }
    }

    #[test]
    fn batches_hold_at_most_100_distinct_users_and_fail_accounts_go_one_by_one() {
        let mut jobs: Vec<Job> = (0..150).map(|i| job(&format!("u{i}"))).collect();
        jobs.push(job("u3"));
        let mut exec = Executor::new(jobs, local(), batched(), 0);
        let mut next = exec.start(0);
        let mut paths = Vec::new();
        let mut sizes = Vec::new();
        let mut now = 0;
        while let Next::Call(c) = next {
            paths.push(c.path);
            let body: serde_json::Value = serde_json::from_str(exec.body()).unwrap();
            let size = body["AccountList"].as_array().map_or(1, Vec::len);
            sizes.push(size);
            let users: Vec<&str> = body["AccountList"]
                .as_array()
                .map(|l| l.iter().filter_map(|a| a["UserID"].as_str()).collect())
                .unwrap_or_default();
            let unique: std::collections::HashSet<&&str> = users.iter().collect();
            assert_eq!(unique.len(), users.len(), "one job per UserID per call");
            // The first batch reports two accounts it could not import.
            let fail = if paths.len() == 1 {
                vec!["u1".to_owned(), "u7".to_owned()]
            } else {
                vec![]
            };
            let reply = tim::Reply {
                outcome: ok(),
                fail_accounts: fail,
            };
            now += 10;
            next = exec.feed(&reply, now, 0);
        }
        assert_eq!(sizes[..2], [100, 51]);
        assert_eq!(&paths[2..], [tim::ACCOUNT_IMPORT_PATH; 2]);
        assert!(exec
            .results()
            .iter()
            .all(|r| matches!(r, JobResult::Done { .. })));
    }

    #[test]
    fn a_batch_failure_fails_each_of_its_jobs_and_follow_ups_report_their_own_reason() {
        let jobs = vec![job("a"), job("b"), job("c")];
        let mut exec = Executor::new(jobs.clone(), local(), batched(), 0);
        drive_replies(&mut exec, vec![fail(70403).into()]);
        assert!(exec.results().iter().all(|r| matches!(
            r,
            JobResult::Failed(ImportError::Operator { code: 70403, .. })
        )));

        let mut exec = Executor::new(jobs, local(), batched(), 0);
        let calls = drive_replies(
            &mut exec,
            vec![
                tim::Reply {
                    outcome: ok(),
                    fail_accounts: vec!["b".into()],
                },
                fail(40601).into(),
            ],
        );
        assert_eq!(
            calls.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(),
            ["3 accounts", "user b"]
        );
        assert_eq!(exec.results()[0], JobResult::Done { region: None });
        assert!(matches!(
            exec.results()[1],
            JobResult::Failed(ImportError::Rejected { code: 40601, .. })
        ));
        assert_eq!(exec.results()[2], JobResult::Done { region: None });
    }

    fn with_op(user: &str, op: Op) -> Job {
        Job { op, ..job(user) }
    }

    #[test]
    fn an_update_of_an_unknown_account_imports_it_and_kicks_of_unknown_accounts_are_done() {
        let mut exec = Executor::new(vec![with_op("a", Op::SetProfile)], local(), policy(true), 0);
        drive_replies(&mut exec, vec![fail(40003).into(), ok().into()]);
        assert_eq!(exec.results()[0], JobResult::Done { region: None });
        let mut exec = Executor::new(vec![with_op("a", Op::SetProfile)], local(), policy(true), 0);
        let mut next = exec.start(0);
        let mut paths = Vec::new();
        let mut replies = vec![ok().into(), fail(40003).into()];
        while let Next::Call(c) = next {
            paths.push(c.path);
            let body = exec.body().to_owned();
            if c.path == tim::ACCOUNT_IMPORT_PATH {
                assert_eq!(body, r#"{"UserID":"a","Nick":"Nick"}"#);
            } else {
                assert!(body.contains("Tag_Profile_IM_Nick"));
            }
            next = exec.feed(&replies.pop().unwrap(), 10, 0);
        }
        assert_eq!(paths, [tim::PORTRAIT_SET_PATH, tim::ACCOUNT_IMPORT_PATH]);
        let mut exec = Executor::new(vec![with_op("a", Op::Kick)], local(), policy(true), 0);
        let calls = drive_replies(&mut exec, vec![fail(70107).into()]);
        assert_eq!(calls.len(), 1);
        assert_eq!(exec.results()[0], JobResult::Done { region: None });
    }

    #[test]
    fn deletions_batch_and_a_failed_item_is_retried_alone() {
        let jobs = vec![
            with_op("a", Op::Delete),
            with_op("b", Op::Delete),
            with_op("c", Op::Kick),
        ];
        let mut exec = Executor::new(jobs, local(), batched(), 0);
        let mut seen = Vec::new();
        let mut next = exec.start(0);
        while let Next::Call(c) = next {
            seen.push((c.path, exec.body().to_owned()));
            let reply = if seen.len() == 1 {
                tim::parse_reply(200, br#"{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","ResultItem":[{"ResultCode":0,"UserID":"a"},{"ResultCode":70500,"UserID":"b"}]}"#)
            } else {
                ok().into()
            };
            next = exec.feed(&reply, 10, 0);
        }
        assert_eq!(
            seen[0],
            (
                tim::ACCOUNT_DELETE_PATH,
                r#"{"DeleteItem":[{"UserID":"a"},{"UserID":"b"}]}"#.to_owned()
            )
        );
        assert_eq!(seen[1].0, tim::KICK_PATH);
        assert_eq!(
            seen[2],
            (
                tim::ACCOUNT_DELETE_PATH,
                r#"{"DeleteItem":[{"UserID":"b"}]}"#.to_owned()
            )
        );
        assert!(exec
            .results()
            .iter()
            .all(|r| matches!(r, JobResult::Done { .. })));
    }

    #[test]
    fn a_batch_refused_as_a_whole_is_split_into_single_imports() {
        let jobs = vec![job("a"), job("b"), job("c")];
        let mut exec = Executor::new(jobs, local(), batched(), 0);
        let calls = drive_replies(
            &mut exec,
            vec![
                fail(70402).into(),
                ok().into(),
                fail(70402).into(),
                ok().into(),
            ],
        );
        let who: Vec<&str> = calls.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(who, ["3 accounts", "user a", "user b", "user c"]);
        assert_eq!(exec.results()[0], JobResult::Done { region: None });
        assert!(matches!(
            exec.results()[1],
            JobResult::Failed(ImportError::Rejected { code: 70402, .. })
        ));
        assert_eq!(exec.results()[2], JobResult::Done { region: None });
    }
}
