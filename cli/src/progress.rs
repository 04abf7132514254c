//! Progress while a backfill runs: an `indicatif` bar with accounts/s, calls/s and ETA on a
//! terminal; plain lines every few seconds otherwise (CI logs, pipes).

use crate::summary::thousands;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// A snapshot of the run's progress.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Snapshot {
    /// Records with an outcome so far.
    pub done: u64,
    /// Records expected in all (when the source knows).
    pub total: Option<u64>,
    /// Accounts imported so far.
    pub imported: u64,
    /// Records failed so far.
    pub failed: u64,
    /// Tencent calls so far.
    pub calls: u64,
    /// Seconds since the start.
    pub elapsed_s: f64,
}

impl Snapshot {
    /// Records per second.
    pub fn accounts_per_s(&self) -> f64 {
        if self.elapsed_s > 0.0 {
            self.done as f64 / self.elapsed_s
        } else {
            0.0
        }
    }

    /// Tencent calls per second.
    pub fn calls_per_s(&self) -> f64 {
        if self.elapsed_s > 0.0 {
            self.calls as f64 / self.elapsed_s
        } else {
            0.0
        }
    }

    /// Seconds left at the current pace, when the total is known.
    pub fn eta_s(&self) -> Option<f64> {
        let total = self.total?;
        let rate = self.accounts_per_s();
        (rate > 0.0).then(|| total.saturating_sub(self.done) as f64 / rate)
    }

    /// The plain progress line.
    pub fn line(&self) -> String {
        let of = self
            .total
            .map(|t| format!("/{}", thousands(t)))
            .unwrap_or_default();
        let eta = self
            .eta_s()
            .map(|s| format!(", ETA {s:.0}s"))
            .unwrap_or_default();
        format!(
            "progress: {}{of} records, {} imported, {} failed, {:.0} accounts/s, {:.1} calls/s{eta}",
            thousands(self.done),
            thousands(self.imported),
            thousands(self.failed),
            self.accounts_per_s(),
            self.calls_per_s()
        )
    }
}

/// Where progress goes.
pub enum Progress {
    /// A terminal progress bar.
    Bar(ProgressBar),
    /// A line every `every`, on stderr.
    Plain {
        /// When the last line was printed.
        last: Option<Instant>,
        /// Interval between lines.
        every: Duration,
    },
    /// Nothing (tests, `--quiet`).
    Off,
}

impl Progress {
    /// A bar when stderr is a terminal, else plain lines every 5 s.
    pub fn auto(quiet: bool) -> Progress {
        if quiet {
            Progress::Off
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            Progress::Bar(bar)
        } else {
            Progress::Plain {
                last: None,
                every: Duration::from_secs(5),
            }
        }
    }

    /// Shows `s` (a plain line at most every interval).
    pub fn update(&mut self, s: &Snapshot) {
        match self {
            Progress::Bar(bar) => {
                if let Some(t) = s.total {
                    bar.set_length(t);
                }
                bar.set_position(s.done);
                let eta = s
                    .eta_s()
                    .map(|e| format!(" ETA {e:.0}s"))
                    .unwrap_or_default();
                bar.set_message(format!(
                    "{:.0} accounts/s {:.1} calls/s{eta}",
                    s.accounts_per_s(),
                    s.calls_per_s()
                ));
            }
            Progress::Plain { last, every } => {
                if last.is_none_or(|l| l.elapsed() >= *every) {
                    *last = Some(Instant::now());
                    eprintln!("{}", s.line());
                }
            }
            Progress::Off => {}
        }
    }

    /// Prints a line without breaking the bar.
    pub fn println(&self, line: &str) {
        match self {
            Progress::Bar(bar) => bar.println(line),
            Progress::Plain { .. } => eprintln!("{line}"),
            Progress::Off => {}
        }
    }

    /// Ends the display with a final snapshot.
    pub fn finish(&mut self, s: &Snapshot) {
        match self {
            Progress::Bar(bar) => bar.finish_and_clear(),
            Progress::Plain { .. } => eprintln!("{}", s.line()),
            Progress::Off => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_eta() {
        let s = Snapshot {
            done: 5_000,
            total: Some(100_000),
            imported: 4_990,
            failed: 10,
            calls: 50,
            elapsed_s: 0.5,
        };
        assert_eq!(s.accounts_per_s(), 10_000.0);
        assert_eq!(s.calls_per_s(), 100.0);
        assert_eq!(s.eta_s(), Some(9.5));
        assert_eq!(
            s.line(),
            "progress: 5,000/100,000 records, 4,990 imported, 10 failed, 10000 accounts/s, 100.0 calls/s, ETA 10s"
        );
        let s = Snapshot { total: None, ..s };
        assert_eq!(s.eta_s(), None);
        assert_eq!(Snapshot::default().accounts_per_s(), 0.0);
    }
}
