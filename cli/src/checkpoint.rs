//! The resume checkpoint: which source a run reads, the position after the last record whose
//! outcome is committed (an API page cursor and an index within that page, or a record index in a
//! file), and the counts so far. Written atomically (a temporary file renamed over the old one)
//! after every batch, so an interrupted run continues exactly where its last batch ended.

use crate::summary::Summary;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Where reading stopped: fetch the page at `cursor` (the first page when `None`; files have
/// no pages) and skip its first `index` records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// The page cursor (offset, page number, token or URL, per provider).
    pub cursor: Option<String>,
    /// Records of that page (of the file) already handled.
    pub index: u64,
}

/// The checkpoint file's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Format version.
    pub version: u32,
    /// The provider whose mapping rule is applied.
    pub provider: String,
    /// What is read: `file:<path>` or `api:<provider>:<origin>`.
    pub source: String,
    /// Where the next run starts.
    pub position: Position,
    /// True once the source was read to its end.
    pub complete: bool,
    /// Counts of every run so far.
    pub totals: Summary,
}

/// The checkpoint format this code writes.
pub const VERSION: u32 = 1;

impl Checkpoint {
    /// Reads a checkpoint; `Ok(None)` when the file does not exist.
    pub fn load(path: &Path) -> Result<Option<Checkpoint>, String> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice::<Checkpoint>(&bytes)
                .map(Some)
                .map_err(|e| format!("{} is not a tim-onboard checkpoint: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    /// Writes the checkpoint atomically (temporary file, then rename).
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let tmp = path.with_extension("tmp");
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        std::fs::write(&tmp, text + "\n")
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    /// Whether this checkpoint belongs to `provider` reading `source`.
    pub fn matches(&self, provider: &str, source: &str) -> bool {
        self.version == VERSION && self.provider == provider && self.source == source
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_atomically_and_knows_its_source() {
        let path = std::env::temp_dir().join(format!("tim-onboard-cp-{}.json", std::process::id()));
        let _ = std::fs::remove_file(&path);
        assert_eq!(Checkpoint::load(&path), Ok(None));
        let mut cp = Checkpoint {
            version: VERSION,
            provider: "clerk".into(),
            source: "api:clerk:https://api.clerk.com".into(),
            position: Position {
                cursor: Some("500".into()),
                index: 17,
            },
            complete: false,
            totals: Summary::default(),
        };
        cp.totals.imported = 517;
        cp.save(&path).unwrap();
        assert_eq!(Checkpoint::load(&path).unwrap(), Some(cp.clone()));
        assert!(!path.with_extension("tmp").exists());
        assert!(cp.matches("clerk", "api:clerk:https://api.clerk.com"));
        assert!(!cp.matches("clerk", "file:/x.csv"));
        assert!(!cp.matches("auth0", "api:clerk:https://api.clerk.com"));
        std::fs::write(&path, "{").unwrap();
        assert!(Checkpoint::load(&path).is_err());
        let _ = std::fs::remove_file(&path);
    }
}
