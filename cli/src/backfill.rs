//! One backfill run: read pages from a source, map each user with the Worker's rules
//! (`job::plan`), import batches of 100 through the core executor, count everything, write the
//! records that failed as NDJSON that `--file` reads back, and commit a checkpoint after every
//! batch so `--resume` continues where an interrupted run stopped.
//!
//! A batch is committed (failure lines appended, then the checkpoint renamed into place) only
//! once Tencent has answered for all of it. When Tencent refuses for a reason an operator must
//! fix (wrong key, wrong data centre, not an admin, the free edition's cap) or stays unavailable
//! through every retry, the run stops without committing that batch: `--resume` retries it.

use crate::checkpoint::{Checkpoint, Position, VERSION};
use crate::io::NativeIo;
use crate::profile::Parsed;
use crate::progress::{Progress, Snapshot};
use crate::source::Source;
use crate::summary::Summary;
use crate::tencent::{self, Tencent};
use serde_json::json;
use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;
use tim_onboard::event::{Event, User};
use tim_onboard::executor::{JobResult, Policy};
use tim_onboard::identity::{self, Rule, UserIdError};
use tim_onboard::job::{self, Job, OnDelete, Rules};
use tim_onboard::tim::{ImportError, MAX_BATCH};

/// What a run is asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// The provider's route name (whose mapping rule applies).
    pub provider: &'static str,
    /// Its UserID rule, read from the settings as the Worker reads it.
    pub rule: Rule,
    /// Print the mapping and the counts; call nothing, write nothing.
    pub dry_run: bool,
    /// Continue from the checkpoint, if it belongs to this source.
    pub resume: bool,
    /// Ask `account_check` first and import only accounts Tencent does not have.
    pub skip_existing: bool,
    /// The checkpoint file.
    pub checkpoint: PathBuf,
    /// The failures file (NDJSON).
    pub failures: PathBuf,
    /// Accounts per `multiaccount_import` call (at most 100).
    pub batch: usize,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// This run's counts.
    pub run: Summary,
    /// Every run's counts (this one plus the checkpoint's, when resumed).
    pub totals: Summary,
    /// Why the run stopped early, if it did.
    pub aborted: Option<String>,
    /// Where the run started, when it resumed.
    pub resumed_at: Option<Position>,
    /// Seconds the run took.
    pub elapsed_s: f64,
}

/// A job waiting for its batch, and where it came from.
struct Pending {
    job: Job,
    provider_id: String,
}

/// The run's state between batches.
struct Run<'a> {
    opts: &'a Options,
    tencent: Option<&'a Tencent>,
    io: &'a NativeIo,
    progress: &'a mut Progress,
    out: &'a mut dyn Write,
    summary: Summary,
    before: Summary,
    seen: HashSet<String>,
    pending: Vec<Pending>,
    lines: Vec<String>,
    source_key: String,
    started: Instant,
    total: Option<u64>,
    calls_at_start: u64,
}

/// The summary key of a UserID refusal (the failure line has the full message).
pub fn userid_reason(e: &UserIdError) -> &'static str {
    match e {
        UserIdError::Empty => "no user id",
        UserIdError::TooLong { .. } => "UserID over 32 bytes (verbatim mode)",
        UserIdError::BadCharacters => "UserID has characters Tencent refuses (verbatim mode)",
        UserIdError::NotCompactable => "UserID has no compact form (compact mode)",
    }
}

/// The summary key of a Tencent failure.
pub fn tencent_reason(e: &ImportError) -> String {
    match e {
        ImportError::Rejected { code, .. } => format!("Tencent rejected the account ({code})"),
        ImportError::Operator { code, .. } => format!("Tencent refused the call ({code})"),
        ImportError::WrongRegion { code, .. } => format!("wrong data centre ({code})"),
        ImportError::Unavailable { .. } => "Tencent unavailable".into(),
    }
}

/// A failures-file line: the generic NDJSON fields `--file` reads by default (`id`, `name`,
/// `avatar`), the UserID if one was mapped, and why.
pub fn failure_line(
    user: Option<&User>,
    id: Option<&str>,
    user_id: Option<&str>,
    error: &str,
    code: Option<i64>,
) -> String {
    let mut v = json!({ "id": id.or(user.map(|u| u.user_id.as_str())) });
    if let Some(u) = user {
        if let Some(n) = &u.nick {
            v["name"] = n.clone().into();
        }
        if let Some(f) = &u.face_url {
            v["avatar"] = f.clone().into();
        }
    }
    if let Some(u) = user_id {
        v["tim_user_id"] = u.into();
    }
    v["error"] = error.into();
    if let Some(c) = code {
        v["code"] = c.into();
    }
    v.to_string()
}

impl Run<'_> {
    fn snapshot(&self) -> Snapshot {
        Snapshot {
            done: self.before.read + self.summary.read,
            total: self.total,
            imported: self.summary.imported,
            failed: self.summary.failed_total(),
            calls: self.io.total_calls() - self.calls_at_start,
            elapsed_s: self.started.elapsed().as_secs_f64(),
        }
    }

    /// Maps one record; a user joins the pending batch.
    fn take(&mut self, item: Parsed) {
        self.summary.read += 1;
        let user = match item {
            Parsed::Skip { reason, .. } => return self.summary.skip(&reason),
            Parsed::Bad { reason, id } => {
                self.summary.fail("unreadable record");
                self.lines
                    .push(failure_line(None, id.as_deref(), None, &reason, None));
                return;
            }
            Parsed::User(u) => u,
        };
        let rules = Rules {
            provider: self.opts.provider,
            rule: &self.opts.rule,
            on_delete: OnDelete::Ignore,
        };
        let planned = match job::plan(rules, &Event::Created(user.clone())) {
            Ok(Some(p)) => p,
            Ok(None) => return self.summary.skip("nothing to import"),
            Err(e) => {
                self.summary.fail(userid_reason(&e));
                self.lines
                    .push(failure_line(Some(&user), None, None, &e.to_string(), None));
                return;
            }
        };
        if !self.seen.insert(planned.job.user_id.clone()) {
            self.summary.already_present += 1;
            return;
        }
        if self.opts.dry_run {
            let mode = identity::map_user_id(&user.user_id, &self.opts.rule)
                .map_or("?", |m| m.mode.name());
            let _ = writeln!(
                self.out,
                "{} -> {} ({mode})",
                user.user_id, planned.job.user_id
            );
            self.summary.imported += 1;
            return;
        }
        self.pending.push(Pending {
            job: planned.job,
            provider_id: user.user_id,
        });
    }

    /// Imports the pending batch; `Err` stops the run (nothing of the batch is committed).
    fn flush(&mut self) -> Result<(), String> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let Some(t) = self.tencent else {
            return Err("no Tencent client".into());
        };
        let mut pending = std::mem::take(&mut self.pending);
        if self.opts.skip_existing {
            let ids: Vec<&str> = pending.iter().map(|p| p.job.user_id.as_str()).collect();
            let present: HashSet<String> = t
                .account_check(self.io, &ids, tencent::backfill_retry())
                .map_err(|e| format!("account_check failed: {}", tencent::explain(&e)))?
                .into_iter()
                .filter(|(_, imported)| *imported)
                .map(|(id, _)| id)
                .collect();
            let before = pending.len();
            pending.retain(|p| !present.contains(&p.job.user_id));
            self.summary.already_present += (before - pending.len()) as u64;
            if pending.is_empty() {
                return Ok(());
            }
        }
        let ids: Vec<String> = pending.iter().map(|p| p.provider_id.clone()).collect();
        let jobs: Vec<Job> = pending.into_iter().map(|p| p.job).collect();
        let policy = Policy {
            retry: tencent::backfill_retry(),
            stop_at_first_failure: false,
            batch: true,
        };
        let results = t.run(self.io, jobs, policy);
        let fatal = results.iter().find_map(|(_, r)| match r {
            JobResult::Failed(
                e @ (ImportError::Operator { .. } | ImportError::WrongRegion { .. }),
            ) => Some(e),
            _ => None,
        });
        if let Some(e) = fatal {
            return Err(tencent::explain(e));
        }
        let unavailable = results
            .iter()
            .filter(|(_, r)| matches!(r, JobResult::Failed(ImportError::Unavailable { .. })))
            .count();
        if unavailable == results.len() {
            if let Some((_, JobResult::Failed(e))) = results.first() {
                return Err(format!(
                    "{e}; nothing of this batch was committed, run again with --resume"
                ));
            }
        }
        for ((job, result), provider_id) in results.into_iter().zip(ids) {
            match result {
                JobResult::Done { .. } => self.summary.imported += 1,
                JobResult::Failed(e) => {
                    self.summary.fail(&tencent_reason(&e));
                    let user = User {
                        user_id: provider_id.clone(),
                        nick: job.nick.clone(),
                        face_url: job.face_url.clone(),
                        ..User::default()
                    };
                    self.lines.push(failure_line(
                        Some(&user),
                        Some(&provider_id),
                        Some(&job.user_id),
                        &tencent::explain(&e),
                        tencent::code_of(&e),
                    ));
                }
                JobResult::NotStarted => {
                    self.summary.fail("not attempted");
                }
            }
        }
        Ok(())
    }

    /// Imports the pending batch, then commits failure lines and the checkpoint at `pos`.
    fn commit(&mut self, pos: Position, complete: bool) -> Result<(), String> {
        self.flush()?;
        self.summary.calls = self.io.total_calls() - self.calls_at_start;
        if !self.opts.dry_run {
            if !self.lines.is_empty() {
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.opts.failures)
                    .map_err(|e| format!("cannot write {}: {e}", self.opts.failures.display()))?;
                let text = self.lines.join("\n") + "\n";
                f.write_all(text.as_bytes())
                    .and_then(|()| f.flush())
                    .map_err(|e| format!("cannot write {}: {e}", self.opts.failures.display()))?;
            }
            let mut totals = self.before.clone();
            totals.add(&self.summary);
            Checkpoint {
                version: VERSION,
                provider: self.opts.provider.to_owned(),
                source: self.source_key.clone(),
                position: pos,
                complete,
                totals,
            }
            .save(&self.opts.checkpoint)?;
        }
        self.lines.clear();
        let snap = self.snapshot();
        self.progress.update(&snap);
        Ok(())
    }
}

/// Runs a backfill from `source`. `tencent` is `None` only for a dry run. Mapping lines of a dry
/// run go to `out`. `Err` is a problem found before anything was imported (a checkpoint that
/// belongs to another source, an unwritable file).
pub fn run(
    source: &mut dyn Source,
    opts: &Options,
    tencent: Option<&Tencent>,
    io: &NativeIo,
    progress: &mut Progress,
    out: &mut dyn Write,
) -> Result<Report, String> {
    let key = source.key();
    let mut start = Position::default();
    let mut before = Summary::default();
    let mut resumed_at = None;
    if opts.resume {
        if let Some(cp) = Checkpoint::load(&opts.checkpoint)? {
            if !cp.matches(opts.provider, &key) {
                return Err(format!(
                    "{} belongs to {} ({}), not to {} ({key}); pass another --checkpoint or remove it",
                    opts.checkpoint.display(),
                    cp.provider,
                    cp.source,
                    opts.provider
                ));
            }
            start = cp.position.clone();
            before = cp.totals;
            resumed_at = Some(cp.position);
        }
    }
    if !opts.dry_run && !opts.resume {
        // A fresh run starts a fresh failures file.
        std::fs::write(&opts.failures, b"")
            .map_err(|e| format!("cannot write {}: {e}", opts.failures.display()))?;
    }
    let batch = opts.batch.clamp(1, MAX_BATCH);
    let mut r = Run {
        opts,
        tencent,
        io,
        progress,
        out,
        summary: Summary::default(),
        before,
        seen: HashSet::new(),
        pending: Vec::new(),
        lines: Vec::new(),
        source_key: key,
        started: Instant::now(),
        total: None,
        calls_at_start: io.total_calls(),
    };
    let mut cursor = start.cursor.clone();
    let mut skip = start.index;
    let aborted = loop {
        let page = match source.fetch(cursor.as_deref()) {
            Ok(p) => p,
            Err(e) => break Some(e.to_string()),
        };
        r.total = source.total();
        let len = page.items.len() as u64;
        let mut failed = None;
        let mut since_commit = 0u64;
        for (i, item) in (0u64..).zip(page.items) {
            if i < skip {
                continue;
            }
            r.take(item);
            since_commit += 1;
            if r.pending.len() >= batch || since_commit >= 1000 {
                since_commit = 0;
                let pos = Position {
                    cursor: cursor.clone(),
                    index: i + 1,
                };
                if let Err(e) = r.commit(pos, false) {
                    failed = Some(e);
                    break;
                }
            }
        }
        if failed.is_some() {
            break failed;
        }
        skip = 0;
        let end = Position {
            cursor: cursor.clone(),
            index: len.max(start.index),
        };
        match page.next {
            Some(next) => {
                // Commit at the page boundary: what is pending goes now, so the checkpoint can
                // name the next page.
                if let Err(e) = r.commit(
                    Position {
                        cursor: Some(next.clone()),
                        index: 0,
                    },
                    false,
                ) {
                    break Some(e);
                }
                cursor = Some(next);
            }
            None => {
                if let Err(e) = r.commit(end, true) {
                    break Some(e);
                }
                break None;
            }
        }
    };
    r.summary.calls = r.io.total_calls() - r.calls_at_start;
    let snap = r.snapshot();
    r.progress.finish(&snap);
    let mut totals = r.before.clone();
    totals.add(&r.summary);
    Ok(Report {
        run: r.summary,
        totals,
        aborted,
        resumed_at,
        elapsed_s: r.started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tim_onboard::identity::Mode;

    #[test]
    fn failure_lines_read_back_as_generic_ndjson() {
        let user = User {
            user_id: "auth0|1".into(),
            nick: Some("Ann".into()),
            face_url: Some("https://p".into()),
            ..User::default()
        };
        let line = failure_line(
            Some(&user),
            None,
            Some("1"),
            "Tencent rejected the account (40601: x)",
            Some(40601),
        );
        let items = crate::source::file::parse_text(
            &line,
            crate::source::file::Format::Ndjson,
            &crate::source::file::Fields::default(),
            0,
        )
        .unwrap();
        assert_eq!(
            items,
            vec![Parsed::User(User {
                event_id: None,
                at: None,
                ..user
            })]
        );
        // Auth0's own NDJSON has `user_id`; a failures file never does, so it reads as generic.
        assert_eq!(
            crate::source::file::Format::detect(&line, "auth0"),
            crate::source::file::Format::Ndjson
        );
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            (v["tim_user_id"].as_str(), v["code"].as_i64()),
            (Some("1"), Some(40601))
        );
    }

    #[test]
    fn reasons_are_grouped_not_per_record() {
        assert_eq!(
            userid_reason(&UserIdError::TooLong { len: 40 }),
            userid_reason(&UserIdError::TooLong { len: 41 })
        );
        let e = ImportError::Rejected {
            code: 40601,
            info: "Nick of u1".into(),
        };
        assert_eq!(tencent_reason(&e), "Tencent rejected the account (40601)");
        let _ = Rule {
            mode: Mode::Auto,
            prefix: String::new(),
            known_prefixes: &[],
        };
    }
}
