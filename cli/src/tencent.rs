//! Calling Tencent with the core's own machinery: the executor and `drive` for imports (batches
//! of 100 through `multiaccount_import`, `FailAccounts` followed up one by one, retries, rate-limit
//! backoff, the data-centre walk), the admin UserSig cache and the pacer; plus `account_check`,
//! which the core has no job for, run through the core's [`ImportRun`] retry machine.

use crate::io::{block_on, NativeIo};
use std::cell::{Cell, RefCell};
use tim_onboard::config::TimConfig;
use tim_onboard::drive::{drive, Reach, Tencent as DriveTencent};
use tim_onboard::executor::{Executor, JobResult, Policy};
use tim_onboard::job::Job;
use tim_onboard::pacer::Pacer;
use tim_onboard::ports::{Io, KeyIo};
use tim_onboard::region::{self, EdgeLocation, Endpoint, Region};
use tim_onboard::tim::{self, Caller, ImportError, ImportRun, RetryPolicy, Step};
use tim_onboard::usersig::AdminSigCache;

/// REST path of `account_check` (up to 100 UserIDs per call, 100 calls/s).
pub const ACCOUNT_CHECK_PATH: &str = "/v4/im_open_login_svc/account_check";

/// Retries for a backfill: nobody waits on the other end, so one batch may take up to two minutes
/// of backoff (a webhook has 10 s) before the run stops and says to `--resume` later.
pub fn backfill_retry() -> RetryPolicy {
    RetryPolicy {
        budget_ms: 120_000,
        attempt_timeout_ms: 10_000,
        min_attempt_ms: 2_000,
        base_delay_ms: 200,
        max_delay_ms: 10_000,
        max_attempts: 12,
    }
}

/// A Tencent client for one command run: settings, admin UserSig cache, pacer, data centre.
pub struct Tencent {
    cfg: TimConfig,
    sig: RefCell<AdminSigCache>,
    reach: RefCell<Option<Reach>>,
    pacer: RefCell<Pacer>,
    remembered: Cell<Option<Region>>,
    near: EdgeLocation,
}

impl Tencent {
    /// A client for `cfg`; with `TIM_REGION=auto` data centres are tried nearest to `near` first
    /// (no location: from Singapore, as the Worker does without `request.cf`).
    pub fn new(cfg: TimConfig, near: EdgeLocation) -> Tencent {
        Tencent {
            cfg,
            sig: RefCell::default(),
            reach: RefCell::default(),
            pacer: RefCell::default(),
            remembered: Cell::new(None),
            near,
        }
    }

    /// The settings.
    pub fn config(&self) -> &TimConfig {
        &self.cfg
    }

    /// The data centre that answered last (`auto`), if any.
    pub fn region(&self) -> Option<Region> {
        self.remembered.get()
    }

    /// The endpoints to try, the data centre that answered before first.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        region::endpoints(
            self.cfg.region,
            self.cfg.base_url.as_deref(),
            &self.near,
            self.remembered.get(),
        )
    }

    /// Runs `jobs` through the core executor and driver; one result per job, in order.
    pub fn run(&self, io: &NativeIo, jobs: Vec<Job>, policy: Policy) -> Vec<(Job, JobResult)> {
        let mut exec = Executor::new(jobs, self.endpoints(), policy, io.now_ms());
        let t = DriveTencent {
            cfg: &self.cfg,
            sig: &self.sig,
            reach: &self.reach,
            pacer: Some(&self.pacer),
        };
        block_on(drive(&mut exec, &t, io));
        let results = exec.finish();
        if let Some(r) = results.iter().find_map(|(_, r)| match r {
            JobResult::Done { region } => *region,
            _ => None,
        }) {
            self.remembered.set(Some(r));
        }
        results
    }

    /// `account_check` for up to 100 UserIDs: whether each is imported, in request order.
    pub fn account_check(
        &self,
        io: &NativeIo,
        ids: &[&str],
        retry: RetryPolicy,
    ) -> Result<Vec<(String, bool)>, ImportError> {
        let items: Vec<_> = ids
            .iter()
            .map(|u| serde_json::json!({ "UserID": u }))
            .collect();
        let body = serde_json::json!({ "CheckItem": items }).to_string();
        let endpoints = self.endpoints();
        let mut run = ImportRun::new(retry, endpoints.clone(), io.now_ms());
        let mut step = run.start(io.now_ms());
        let mut last_body = Vec::new();
        loop {
            match step {
                Step::Done(Ok(at)) => {
                    if let Some(r) = endpoints.get(at).and_then(|e| e.region) {
                        self.remembered.set(Some(r));
                    }
                    return Ok(check_statuses(&last_body));
                }
                Step::Done(Err(e)) => return Err(e),
                Step::Send {
                    endpoint,
                    delay_ms,
                    timeout_ms,
                    fresh_sig,
                } => {
                    if delay_ms > 0 {
                        block_on(io.sleep(delay_ms));
                    }
                    let wait = self
                        .pacer
                        .borrow_mut()
                        .reserve(tim::Quota::Batch, io.now_ms());
                    if wait > 0 {
                        block_on(io.sleep(wait));
                    }
                    let origin = endpoints.get(endpoint).map_or("", |e| e.origin.as_str());
                    let url = {
                        let mut sig = self.sig.borrow_mut();
                        if fresh_sig {
                            sig.invalidate();
                        }
                        let now_s = i64::try_from(io.now_ms() / 1000).unwrap_or(i64::MAX);
                        let c = &self.cfg;
                        let usersig =
                            sig.get(c.sdkappid, &c.secret_key, &c.admin, c.usersig_ttl, now_s);
                        let caller = Caller {
                            sdkappid: c.sdkappid,
                            admin: &c.admin,
                            usersig,
                        };
                        tim::api_url(origin, ACCOUNT_CHECK_PATH, caller, io.random_u32())
                    };
                    let reply = match io.post_blocking(&url, &body, timeout_ms) {
                        Ok((status, bytes)) => {
                            let r = tim::parse_response(status, &bytes);
                            last_body = bytes;
                            r
                        }
                        Err(e) => Err(e),
                    };
                    step = run.next(&reply, io.now_ms(), io.random_u32());
                }
            }
        }
    }
}

/// `ResultItem[].AccountStatus` of an `account_check` answer: `Imported` is true.
pub fn check_statuses(body: &[u8]) -> Vec<(String, bool)> {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    v.get("ResultItem")
        .and_then(serde_json::Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| {
                    let id = i.get("UserID")?.as_str()?.to_owned();
                    let imported =
                        i.get("AccountStatus").and_then(|s| s.as_str()) == Some("Imported");
                    Some((id, imported))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What an operator should do about a Tencent code (`check` and fatal backfill errors).
pub fn advice(code: i64) -> Option<&'static str> {
    Some(match code {
        70001 => "the admin UserSig has expired on arrival: this machine's clock is probably wrong (check it with `date -u`)",
        70003 | 70005 => "Tencent could not read the UserSig: TIM_SECRET_KEY is probably truncated or has extra characters",
        70009 => "the UserSig does not verify: TIM_SECRET_KEY is not the secret key of this SDKAppID (Chat console -> your app -> Basic Config)",
        70013 => "the UserSig was made for another identifier than TIM_ADMIN",
        70014 => "the UserSig was made for another SDKAppID: check TIM_SDKAPPID",
        70016 | 70020 | 60006 => "this data centre does not know TIM_SDKAPPID: check the SDKAppID, and set TIM_REGION to the data centre your app was created in (or auto)",
        70403 | 60010 => "TIM_ADMIN is not an app admin: use the account shown under Chat console -> your app -> admin accounts (default `administrator`)",
        70398 => "the free edition allows 100 accounts: upgrade the app to import more",
        60020 => "the Pro Edition plan has expired",
        60021 => "Tencent refuses calls from this IP (an IP allow-list is set in the console)",
        _ => return None,
    })
}

/// A one-line explanation of an import error, with advice when there is some.
pub fn explain(e: &ImportError) -> String {
    let code = match e {
        ImportError::Rejected { code, .. }
        | ImportError::Operator { code, .. }
        | ImportError::WrongRegion { code, .. } => Some(*code),
        ImportError::Unavailable { .. } => None,
    };
    match code.and_then(advice) {
        Some(a) => format!("{e}: {a}"),
        None => e.to_string(),
    }
}

/// The Tencent code of an import error, if it has one.
pub fn code_of(e: &ImportError) -> Option<i64> {
    match e {
        ImportError::Rejected { code, .. }
        | ImportError::Operator { code, .. }
        | ImportError::WrongRegion { code, .. } => Some(*code),
        ImportError::Unavailable { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_answers_are_read_per_user() {
        let body = br#"{"ActionStatus":"OK","ErrorCode":0,"ResultItem":[{"UserID":"a","ResultCode":0,"AccountStatus":"Imported"},{"UserID":"b","ResultCode":0,"AccountStatus":"NotImported"}]}"#;
        assert_eq!(
            check_statuses(body),
            vec![("a".to_owned(), true), ("b".to_owned(), false)]
        );
        assert!(check_statuses(b"garbage").is_empty());
    }

    #[test]
    fn operator_codes_have_advice() {
        for code in [70001, 70009, 70013, 70016, 70020] {
            assert!(advice(code).is_some(), "{code}");
        }
        let e = ImportError::Operator {
            code: 70009,
            info: "x".into(),
        };
        assert!(explain(&e).contains("TIM_SECRET_KEY"));
        assert_eq!(advice(12345), None);
    }
}
