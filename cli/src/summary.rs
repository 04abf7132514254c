//! The counts a backfill reports at the end, and how they are printed.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// What happened to every record read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Records read from the source.
    pub read: u64,
    /// Accounts Tencent accepted (`multiaccount_import`, or `account_import` for a follow-up).
    pub imported: u64,
    /// Records whose UserID was already handled: earlier in this run (the source lists it twice,
    /// or two IDs map to one UserID), or already in Tencent (`--skip-existing`).
    pub already_present: u64,
    /// Records not imported on purpose, by reason (deleted users, no ID).
    pub skipped: BTreeMap<String, u64>,
    /// Records that could not be imported, by reason (written to the failures file).
    pub failed: BTreeMap<String, u64>,
    /// Tencent calls made.
    pub calls: u64,
}

impl Summary {
    /// Counts one skipped record.
    pub fn skip(&mut self, reason: &str) {
        *self.skipped.entry(reason.to_owned()).or_insert(0) += 1;
    }

    /// Counts one failed record.
    pub fn fail(&mut self, reason: &str) {
        *self.failed.entry(reason.to_owned()).or_insert(0) += 1;
    }

    /// All skipped records.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }

    /// All failed records.
    pub fn failed_total(&self) -> u64 {
        self.failed.values().sum()
    }

    /// Records with an outcome (everything read that is not still in flight).
    pub fn settled(&self) -> u64 {
        self.imported + self.already_present + self.skipped_total() + self.failed_total()
    }

    /// Adds `other`'s counts to these (a resumed run adds to the earlier runs' totals).
    pub fn add(&mut self, other: &Summary) {
        self.read += other.read;
        self.imported += other.imported;
        self.already_present += other.already_present;
        self.calls += other.calls;
        for (k, v) in &other.skipped {
            *self.skipped.entry(k.clone()).or_insert(0) += v;
        }
        for (k, v) in &other.failed {
            *self.failed.entry(k.clone()).or_insert(0) += v;
        }
    }
}

/// Thousands separators: 100000 → `100,000`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "read             {:>10}", thousands(self.read))?;
        writeln!(f, "imported         {:>10}", thousands(self.imported))?;
        writeln!(
            f,
            "already present  {:>10}",
            thousands(self.already_present)
        )?;
        writeln!(
            f,
            "skipped          {:>10}",
            thousands(self.skipped_total())
        )?;
        for (reason, n) in &self.skipped {
            writeln!(f, "  {:>10}  {reason}", thousands(*n))?;
        }
        writeln!(f, "failed           {:>10}", thousands(self.failed_total()))?;
        for (reason, n) in &self.failed {
            writeln!(f, "  {:>10}  {reason}", thousands(*n))?;
        }
        write!(f, "Tencent calls    {:>10}", thousands(self.calls))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_and_print_with_reasons() {
        let mut s = Summary {
            read: 1_234_567,
            imported: 1_234_000,
            already_present: 3,
            calls: 12_346,
            ..Summary::default()
        };
        s.skip("deleted (deleted_at is set)");
        s.skip("deleted (deleted_at is set)");
        s.fail("Tencent rejected the account (40601: Nick too long)");
        assert_eq!(
            (s.skipped_total(), s.failed_total(), s.settled()),
            (2, 1, 1_234_006)
        );
        let text = s.to_string();
        assert!(text.contains("read              1,234,567"), "{text}");
        assert!(
            text.contains("         2  deleted (deleted_at is set)"),
            "{text}"
        );
        assert!(text.contains("failed                    1"), "{text}");
        let mut total = Summary::default();
        total.add(&s);
        total.add(&s);
        assert_eq!(total.read, 2_469_134);
        assert_eq!(total.skipped["deleted (deleted_at is set)"], 4);
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
    }
}
