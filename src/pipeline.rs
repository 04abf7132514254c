//! The webhook pipeline: verify -> events -> jobs -> executor -> answer. Every path that changes
//! Tencent (this Worker's webhooks today; a queue consumer and native tools later) goes through
//! the same `job` and `executor` decisions; this module only strings them together for one
//! delivery and turns the results into the sender's answer.

use crate::config::TimConfig;
use crate::deadletter;
use crate::drive::{self, Tencent};
use crate::error::AppError;
use crate::event::Event;
use crate::executor::{Executor, JobResult, Policy};
use crate::http::{Location, Request, Response, MAX_BODY_BYTES};
use crate::job::{self, Job, Op};
use crate::lifecycle;
use crate::ports::Io;
use crate::region::{self, EdgeLocation, RegionSetting};
use crate::settings::Settings;
use crate::state::IsolateState;
use crate::tim::{ImportError, RetryPolicy};
use crate::webhook::{Delivery, Keys, Provider, Received, WebhookError};
use std::collections::{HashMap, HashSet};

/// What a request is handled with: settings, the isolate's state and the runtime.
pub struct Ctx<'a, I: Io> {
    /// Settings (already memoised per isolate).
    pub settings: &'a dyn Settings,
    /// The isolate's caches and memories.
    pub state: &'a IsolateState,
    /// The runtime.
    pub io: &'a I,
}

/// How one event of the delivery is answered.
enum Slot {
    Ignored(String),
    Duplicate(String),
    /// Index into the jobs handed to the executor.
    Job(usize),
    /// An event of a batch that can never be imported as sent (the others go on).
    Rejected(AppError),
}

/// `POST /webhooks/<provider>`.
///
/// A signed attempt that fails with a 5xx is forgotten as a replay, so the sender's quick
/// re-signed retry (even within the same second) is never refused as one; a captured copy of a
/// successful request stays refused.
pub async fn webhook<I: Io>(
    provider: Provider,
    req: &Request<'_>,
    cx: &Ctx<'_, I>,
) -> Result<Response, AppError> {
    let started_ms = cx.io.now_ms();
    let received = verify(provider, req, cx).await?;
    let replay = refuse_replay(provider, &received, cx)?;
    log_dropped(provider, &received, cx.io);
    let result = answer(provider, received.events, started_ms, req, cx).await;
    if let (Err(e), Some(key)) = (&result, replay) {
        if e.status() >= 500 {
            cx.state.recent.borrow_mut().forget(&key);
        }
    }
    result
}

/// Plans, delivers and answers the events of one verified delivery.
async fn answer<I: Io>(
    provider: Provider,
    events: Vec<Event>,
    started_ms: u64,
    req: &Request<'_>,
    cx: &Ctx<'_, I>,
) -> Result<Response, AppError> {
    // Read first: a bad value is refused before anything reaches Tencent.
    let log_every = cx.state.log_every_delivery(cx.settings)?;
    let single = events.len() == 1;
    let (slots, jobs) = plan(provider, events, single, cx)?;
    let budget = (provider.name, provider.budget_ms);
    let (results, done) = deliver(budget, jobs, started_ms, &req.location, cx).await?;
    // Anything that may succeed later fails the delivery, so the sender retries it; what was
    // done meanwhile is answered `duplicate` then. A single event refused for good keeps its 4xx.
    let retry_later = results.iter().find_map(|(_, a)| match a {
        Applied::Failed(e @ ImportError::Rejected { .. }) if single => Some(e),
        Applied::Failed(ImportError::Rejected { .. }) => None,
        Applied::Failed(e) => Some(e),
        _ => None,
    });
    if let Some(e) = retry_later {
        return Err(e.clone().into());
    }
    let answers: Vec<SlotAnswer> = slots
        .iter()
        .map(|slot| slot_answer(slot, &results, done))
        .collect();
    if log_every || answers.iter().any(|a| a.error.is_some()) {
        cx.io.log(&json_line(&DeliveryLog {
            ms: cx.io.now_ms().saturating_sub(started_ms),
            provider: provider.name,
            results: &answers,
            status: 200,
            tim: "delivery",
        }));
    }
    if let Some(fixed) = provider.success_body {
        return Ok(Response {
            status: 200,
            body: fixed.to_owned(),
            headers: Vec::new(),
        });
    }
    Ok(match &answers[..] {
        [one] => Response::json(200, one),
        _ => Response::json(
            200,
            Processed {
                results: &answers,
                status: "processed",
            },
        ),
    })
}

/// One event's entry in the answer and in the delivery's log line. Typed rather than a
/// `serde_json::Value`: no map to build per answer. Fields are in alphabetical order, the
/// order a JSON object of them has always been written in.
#[derive(Debug, Default, serde::Serialize)]
struct SlotAnswer<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<&'a str>,
}

/// The answer to a delivery of several events.
#[derive(serde::Serialize)]
struct Processed<'a> {
    results: &'a [SlotAnswer<'a>],
    status: &'static str,
}

/// The delivery's one log line.
#[derive(serde::Serialize)]
struct DeliveryLog<'a> {
    ms: u64,
    provider: &'a str,
    results: &'a [SlotAnswer<'a>],
    status: u16,
    tim: &'static str,
}

/// `line` as one line of JSON.
fn json_line(line: &impl serde::Serialize) -> String {
    serde_json::to_string(line).unwrap_or_default()
}

/// One event's entry in the answer.
fn slot_answer<'a>(slot: &'a Slot, results: &'a [Outcome], done: &str) -> SlotAnswer<'a> {
    match slot {
        Slot::Ignored(kind) => SlotAnswer {
            status: "ignored",
            event: Some(kind),
            ..SlotAnswer::default()
        },
        Slot::Duplicate(user_id) => SlotAnswer {
            status: "duplicate",
            user_id: Some(user_id),
            ..SlotAnswer::default()
        },
        Slot::Rejected(e) => SlotAnswer {
            status: "rejected",
            error: Some(e.code()),
            message: Some(e.log_message()),
            ..SlotAnswer::default()
        },
        Slot::Job(i) => {
            let Some((job, applied)) = results.get(*i) else {
                return SlotAnswer {
                    status: "ignored",
                    ..SlotAnswer::default()
                };
            };
            let user_id = Some(job.user_id.as_str());
            let status = match (applied, done, job.op) {
                (Applied::Stale(reason), _, _) => {
                    return SlotAnswer {
                        status: "stale",
                        user_id,
                        reason: Some(reason),
                        ..SlotAnswer::default()
                    };
                }
                (Applied::Failed(e), _, _) => {
                    let e = AppError::from(e.clone());
                    return SlotAnswer {
                        status: "rejected",
                        user_id,
                        error: Some(e.code()),
                        message: Some(e.log_message()),
                        ..SlotAnswer::default()
                    };
                }
                (_, "queued", _) => "queued",
                (_, _, Op::SetProfile) => "updated",
                (_, _, Op::Kick) => "kicked",
                (_, _, Op::Delete) => "deleted",
                _ => "imported",
            };
            SlotAnswer {
                status,
                user_id,
                ..SlotAnswer::default()
            }
        }
    }
}

/// Names the cosmetic fields a delivery's users were imported without (names only, never the
/// values), so the operator can see what the provider sent that we could not read.
fn log_dropped(provider: Provider, received: &Received, io: &impl Io) {
    if received.dropped.is_empty() {
        return;
    }
    let users: Vec<&str> = received
        .events
        .iter()
        .filter_map(Event::user)
        .map(|u| u.user_id.as_str())
        .collect();
    io.log(
        &serde_json::json!({
            "tim": "dropped_fields",
            "provider": provider.name,
            "user_ids": users,
            "fields": received.dropped,
            "why": "an unexpected type; the user is imported without them",
        })
        .to_string(),
    );
}

/// Reads the provider's settings and the body, then verifies and parses the delivery.
async fn verify<I: Io>(
    provider: Provider,
    req: &Request<'_>,
    cx: &Ctx<'_, I>,
) -> Result<Received, AppError> {
    let cfg = cx
        .state
        .provider(provider, cx.settings)?
        .ok_or(AppError::ProviderNotConfigured {
            provider: provider.name,
            var: provider.switch,
        })?;
    let body = req.body.ok_or(AppError::PayloadTooLarge(MAX_BODY_BYTES))?;
    let delivery = Delivery {
        headers: req.headers,
        body,
        now: i64::try_from(cx.io.now_ms() / 1000).unwrap_or(i64::MAX),
    };
    let keys = Keys {
        cache: &cx.state.keys,
        io: cx.io,
    };
    Ok(cfg.receive(&delivery, &keys).await?)
}

/// Refuses a signed attempt seen before. Checked and recorded with no await in between, so a
/// replay racing the original request in this isolate is refused too.
fn refuse_replay<I: Io>(
    provider: Provider,
    received: &Received,
    cx: &Ctx<'_, I>,
) -> Result<Option<String>, AppError> {
    let Some(key) = &received.replay_key else {
        return Ok(None);
    };
    let key = format!("replay:{}:{key}", provider.name);
    let now = cx.io.now_ms();
    let mut recent = cx.state.recent.borrow_mut();
    if recent.seen(&key, now) {
        return Err(WebhookError::Replayed.into());
    }
    recent.remember(key.clone(), now);
    Ok(Some(key))
}

/// Maps each event to its answer slot and the jobs to run; redeliveries of imported events are
/// answered as duplicates without a job.
fn plan<I: Io>(
    provider: Provider,
    events: Vec<Event>,
    single: bool,
    cx: &Ctx<'_, I>,
) -> Result<(Vec<Slot>, Vec<Job>), AppError> {
    let mut rule = None;
    let mut slots = Vec::with_capacity(events.len());
    let mut jobs = Vec::new();
    let mut keys = HashSet::new();
    for event in events {
        let name = match &event {
            Event::Ignored(kind) => {
                slots.push(Slot::Ignored(kind.clone()));
                continue;
            }
            Event::Invalid(why) if single => {
                return Err(WebhookError::Malformed(why.clone()).into())
            }
            Event::Invalid(why) => {
                slots.push(Slot::Rejected(WebhookError::Malformed(why.clone()).into()));
                continue;
            }
            Event::Created(_) => "user.created",
            Event::Updated(_) => "user.updated",
            Event::Deleted(_) => "user.deleted",
        };
        let (rule, on_delete) = &**match &rule {
            Some(r) => r,
            None => rule.insert(cx.state.rules(
                cx.settings,
                provider.prefix,
                provider.id_prefixes,
            )?),
        };
        let rules = job::Rules {
            provider: provider.name,
            rule,
            on_delete: *on_delete,
        };
        let planned = match job::plan(rules, &event) {
            Ok(p) => p,
            Err(e) if single => return Err(e.into()),
            // One user whose ID cannot be mapped must not cost the others their import.
            Err(e) => {
                slots.push(Slot::Rejected(e.into()));
                continue;
            }
        };
        let Some(planned) = planned else {
            slots.push(Slot::Ignored(name.to_owned()));
            continue;
        };
        let job = planned.job;
        if let Some(key) = job.dedupe_key() {
            // `keys` only matters within a batch: a single event skips the hashing.
            if cx.state.recent.borrow().seen(&key, cx.io.now_ms()) || (!single && !keys.insert(key))
            {
                slots.push(Slot::Duplicate(job.user_id));
                continue;
            }
        }
        for note in planned.notes {
            cx.io
                .log(&format!("tim-onboard: user {}: {note}", job.user_id));
        }
        slots.push(Slot::Job(jobs.len()));
        jobs.push(job);
    }
    Ok((slots, jobs))
}

/// Queue mode (`budget` names who asks and how long a direct import may take): hands the jobs to the queue and answers at once, so a slow or failing Tencent
/// never fails or delays the sender. When the queue refuses them (throttled, unavailable), the
/// jobs are imported directly within the sender's budget instead, so nothing is acknowledged
/// that is neither imported nor durably queued. Returns the jobs and what became of them.
pub async fn deliver<I: Io>(
    budget: (&str, u64),
    jobs: Vec<Job>,
    started_ms: u64,
    location: &Location<'_>,
    cx: &Ctx<'_, I>,
) -> Result<(Vec<Outcome>, &'static str), AppError> {
    if jobs.is_empty() || !cx.io.has_queue() {
        return Ok((
            run(budget, jobs, started_ms, location, cx).await?,
            "imported",
        ));
    }
    let bodies: Vec<String> = jobs.iter().map(Job::to_json).collect();
    match cx.io.enqueue(&bodies).await {
        Ok(()) => {
            let now = cx.io.now_ms();
            let mut recent = cx.state.recent.borrow_mut();
            for key in jobs.iter().filter_map(Job::dedupe_key) {
                recent.remember(key, now);
            }
            Ok((
                jobs.into_iter().map(|j| (j, Applied::Done)).collect(),
                "queued",
            ))
        }
        Err(why) => {
            cx.io.log(
                &serde_json::json!({
                    "tim": "enqueue_failed",
                    "provider": budget.0,
                    "error": why,
                    "fallback": "direct import",
                })
                .to_string(),
            );
            Ok((
                run(budget, jobs, started_ms, location, cx).await?,
                "imported",
            ))
        }
    }
}

/// The endpoints to try for this request's Tencent calls.
pub fn endpoints_for(
    cfg: &TimConfig,
    location: &Location<'_>,
    state: &IsolateState,
) -> Vec<region::Endpoint> {
    // Only `auto` without an origin override looks at where the request entered the edge.
    let loc = match (cfg.region, &cfg.base_url) {
        (RegionSetting::Auto, None) => location.get(),
        _ => EdgeLocation::default(),
    };
    let remembered = state
        .remembered
        .get()
        .filter(|(app, _)| *app == cfg.sdkappid)
        .map(|(_, r)| r);
    region::endpoints(cfg.region, cfg.base_url.as_deref(), &loc, remembered)
}

/// What became of one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Done (or queued).
    Done,
    /// Not run: a newer event or a deletion was already applied (why).
    Stale(&'static str),
    /// Tencent refused it or could not be reached.
    Failed(ImportError),
}

/// A job and what became of it.
pub type Outcome = (Job, Applied);

/// Runs the jobs that are not stale, all of them even when one fails, importing several in
/// `multiaccount_import` batches so a large delivery finishes inside the sender's budget.
///
/// The retry budget runs from `started_ms`, the request's arrival, so key fetches count against
/// the sender's timeout too.
async fn run<I: Io>(
    budget: (&str, u64),
    jobs: Vec<Job>,
    started_ms: u64,
    location: &Location<'_>,
    cx: &Ctx<'_, I>,
) -> Result<Vec<Outcome>, AppError> {
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let cfg = cx.state.tim_config(cx.settings)?;
    let known = user_states(&jobs, cx).await;
    let now_s = i64::try_from(cx.io.now_ms() / 1000).unwrap_or(i64::MAX);
    let stale = lifecycle::order(&jobs, &known, now_s);
    let runnable: Vec<Job> = jobs
        .iter()
        .zip(&stale)
        .filter(|(_, s)| s.is_none())
        .map(|(j, _)| j.clone())
        .collect();
    let endpoints = endpoints_for(&cfg, location, cx.state);
    let nearest = endpoints.first().and_then(|e| e.region);
    let policy = Policy {
        retry: RetryPolicy {
            budget_ms: budget.1,
            ..RetryPolicy::default()
        },
        stop_at_first_failure: false,
        batch: runnable.len() > 1,
    };
    let mut exec = Executor::new(runnable, endpoints, policy, started_ms);
    drive::drive(&mut exec, &tencent(&cfg, cx.state, false), cx.io).await;
    let mut done = Vec::new();
    let mut ran = exec.finish().into_iter();
    let mut outcomes = Vec::with_capacity(jobs.len());
    for (job, stale) in jobs.into_iter().zip(stale) {
        // Only jobs that ran have an executor result, in the same order.
        let result = if stale.is_none() { ran.next() } else { None };
        let applied = match (stale, result) {
            (Some(why), _) => Applied::Stale(why),
            (None, Some((_, JobResult::Done { region }))) => {
                if let Some(key) = job.dedupe_key() {
                    cx.state.recent.borrow_mut().remember(key, cx.io.now_ms());
                }
                remember_region(&cfg, region, nearest, cx);
                done.push(job.clone());
                Applied::Done
            }
            (None, Some((_, JobResult::Failed(e)))) => Applied::Failed(e),
            (None, _) => Applied::Failed(ImportError::Unavailable {
                last: "not started".into(),
                retry_after_s: 30,
                rate_limited: false,
            }),
        };
        outcomes.push((job, applied));
    }
    record_applied(&done, &known, cx).await;
    Ok(outcomes)
}

/// What was last applied to these jobs' users: from D1 when bound (the durable record), else
/// from this isolate's memory (best effort: another isolate does not see it).
pub async fn user_states<I: Io>(
    jobs: &[Job],
    cx: &Ctx<'_, I>,
) -> HashMap<String, lifecycle::UserState> {
    let mut known: HashMap<String, lifecycle::UserState> = {
        let users = cx.state.users.borrow();
        jobs.iter()
            .filter_map(|j| users.get(&j.user_id).map(|s| (j.user_id.clone(), *s)))
            .collect()
    };
    if cx.io.has_db() {
        crate::ports::apart(load_user_states(jobs, &mut known, cx)).await;
    }
    known
}

/// [`user_states`] from D1, in chunks of 100 users.
async fn load_user_states<I: Io>(
    jobs: &[Job],
    known: &mut HashMap<String, lifecycle::UserState>,
    cx: &Ctx<'_, I>,
) {
    let ids: Vec<&str> = jobs.iter().map(|j| j.user_id.as_str()).collect();
    for chunk in ids.chunks(100) {
        let (sql, params) = lifecycle::load(chunk);
        match cx.io.sql(&sql, &params).await {
            Ok(rows) => known.extend(lifecycle::from_rows(&rows)),
            Err(e) => cx.io.log(&format!("tim-onboard: reading user_state: {e}")),
        }
    }
}

/// Records what was applied. A deletion also drops the user's dead letters: they hold the
/// personal data of someone who asked to be forgotten.
pub async fn record_applied<I: Io>(
    done: &[Job],
    known: &HashMap<String, lifecycle::UserState>,
    cx: &Ctx<'_, I>,
) {
    let now_s = i64::try_from(cx.io.now_ms() / 1000).unwrap_or(i64::MAX);
    let states: Vec<lifecycle::UserState> = done
        .iter()
        .map(|job| {
            let s = lifecycle::applied(job, known.get(&job.user_id), now_s);
            cx.state.remember_user(&job.user_id, s);
            s
        })
        .collect();
    if cx.io.has_db() {
        crate::ports::apart(save_user_states(done, &states, cx)).await;
    }
}

/// [`record_applied`] into D1.
async fn save_user_states<I: Io>(done: &[Job], states: &[lifecycle::UserState], cx: &Ctx<'_, I>) {
    for (job, s) in done.iter().zip(states) {
        let mut statements = vec![lifecycle::save(&job.user_id, s)];
        if matches!(job.op, Op::Kick | Op::Delete) {
            statements.push(deadletter::forget_user(&job.user_id));
        }
        for (sql, params) in statements {
            if let Err(e) = cx.io.sql(&sql, &params).await {
                cx.io.log(&format!("tim-onboard: writing user_state: {e}"));
            }
        }
    }
}

/// The Tencent side of a drive: settings and the isolate's caches; `paced` for the queue
/// consumer, whose calls must hold Tencent's quotas however many signups wait.
pub fn tencent<'a>(cfg: &'a TimConfig, state: &'a IsolateState, paced: bool) -> Tencent<'a> {
    Tencent {
        cfg,
        sig: &state.sig,
        reach: &state.reach,
        pacer: paced.then_some(&state.pacer),
    }
}

/// Under `auto`, remembers the data centre that answered and suggests pinning it.
pub fn remember_region<I: Io>(
    cfg: &TimConfig,
    used: Option<region::Region>,
    nearest: Option<region::Region>,
    cx: &Ctx<'_, I>,
) {
    let (RegionSetting::Auto, None, Some(r)) = (cfg.region, &cfg.base_url, used) else {
        return;
    };
    let before = cx.state.remembered.replace(Some((cfg.sdkappid, r)));
    if before != Some((cfg.sdkappid, r)) && nearest != Some(r) {
        cx.io.log(&format!(
            "tim-onboard: SDKAppID {} answered from {}; set TIM_REGION={} to skip the search",
            cfg.sdkappid,
            r.name(),
            r.name()
        ));
    }
}
