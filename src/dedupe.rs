//! Replay and duplicate protection: event ids imported and signed attempts seen in this isolate,
//! for a window.
//!
//! Senders redeliver (Svix retries, Auth0 "at least once", Okta batches) and an attacker may
//! replay a captured delivery inside the signature's tolerance. For ten minutes we remember the
//! event ids we imported, so the sender's retry is answered `200 duplicate` without a second
//! Tencent call, and the signed attempts we saw (replay keys), so the same signed request again
//! is refused with 401 `replayed`. It is per isolate (memory only): a redelivery that lands in
//! another isolate is still safe, because Tencent's import is idempotent; this only saves the
//! call.

use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

/// How long a key (imported event id or replay key) is remembered.
pub const WINDOW_MS: u64 = 10 * 60 * 1000;
/// Most keys kept; the oldest go first when full.
pub const CAPACITY: usize = 10_000;

/// Recently imported event ids and seen replay keys, with their expiry (Unix ms).
///
/// Entries expire in insertion order (the window is fixed), so a queue alongside the map makes
/// every eviction O(1): a full cache never scans itself on the request path.
#[derive(Debug, Default)]
pub struct Recent {
    expires: HashMap<Rc<str>, u64>,
    order: VecDeque<(Rc<str>, u64)>,
}

impl Recent {
    /// True when `key` was remembered less than [`WINDOW_MS`] ago.
    pub fn seen(&self, key: &str, now_ms: u64) -> bool {
        self.expires.get(key).is_some_and(|&e| e > now_ms)
    }

    /// Remembers `key` from `now_ms` for [`WINDOW_MS`].
    pub fn remember(&mut self, key: String, now_ms: u64) {
        let key: Rc<str> = key.into();
        let expiry = now_ms.saturating_add(WINDOW_MS);
        self.expires.insert(Rc::clone(&key), expiry);
        self.order.push_back((key, expiry));
        while let Some((oldest, e)) = self.order.front() {
            if *e > now_ms && self.expires.len() <= CAPACITY {
                break;
            }
            // Only drop the map entry if it was not refreshed by a later `remember`.
            if self.expires.get(oldest) == Some(e) {
                self.expires.remove(oldest);
            }
            self.order.pop_front();
        }
    }

    /// Forgets `key` (a signed attempt that failed, so its sender's retry is not a replay).
    pub fn forget(&mut self, key: &str) {
        self.expires.remove(key);
    }

    /// Number of keys held.
    pub fn len(&self) -> usize {
        self.expires.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.expires.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_for_the_window_only() {
        let mut r = Recent::default();
        assert!(!r.seen("clerk:msg_1", 0));
        r.remember("clerk:msg_1".into(), 1_000);
        assert!(r.seen("clerk:msg_1", 1_000 + WINDOW_MS - 1));
        assert!(!r.seen("clerk:msg_1", 1_000 + WINDOW_MS));
        assert!(!r.seen("clerk:msg_2", 1_000));
    }

    #[test]
    fn a_refreshed_key_survives_its_first_expiry() {
        let mut r = Recent::default();
        r.remember("k".into(), 0);
        r.remember("k".into(), WINDOW_MS - 1);
        r.remember("other".into(), WINDOW_MS + 1);
        assert!(r.seen("k", WINDOW_MS + 1));
        assert!(r.order.len() <= 3);
    }

    #[test]
    fn stays_bounded() {
        let mut r = Recent::default();
        for i in 0..CAPACITY + 5 {
            r.remember(format!("k{i}"), i as u64);
        }
        assert_eq!(r.len(), CAPACITY);
        assert_eq!(r.order.len(), CAPACITY);
        assert!(r.seen(&format!("k{}", CAPACITY + 4), CAPACITY as u64));
        assert!(!r.seen("k0", CAPACITY as u64), "oldest evicted");
        // Expired entries leave as time passes, without a full scan.
        r.remember("late".into(), 10 * WINDOW_MS);
        assert_eq!(r.len(), 1);
    }
}
