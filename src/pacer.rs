//! Spacing Tencent calls so that no API's documented rate is ever exceeded by this isolate:
//! 100 calls/s for the batch APIs, 200 calls/s for the single-account ones. Sans-IO: it only
//! says how long to wait; the driver sleeps.
//!
//! With the queue consumer limited to one invocation at a time (`max_concurrency = 1`), all of a
//! deployment's background Tencent calls pass through one pacer, so its spacing is the
//! deployment's rate, however many signups arrive.

use crate::tim::Quota;

/// The earliest time each quota may be used again.
#[derive(Debug, Default)]
pub struct Pacer {
    /// One slot per quota ([`Quota::Single`], [`Quota::Batch`]): two fixed fields, where a map
    /// would add its own hash-table code to the wasm.
    next_free_us: [u64; 2],
}

impl Pacer {
    /// Reserves the next slot of `quota` for a call wanted at `now_ms`; returns the wait in ms.
    pub fn reserve(&mut self, quota: Quota, now_ms: u64) -> u64 {
        let interval_us = 1_000_000 / quota.calls_per_second().max(1);
        let now_us = now_ms.saturating_mul(1000);
        let next = match quota {
            Quota::Single => &mut self.next_free_us[0],
            Quota::Batch => &mut self.next_free_us[1],
        };
        let slot = (*next).max(now_us);
        *next = slot.saturating_add(interval_us);
        // Round the wait up: a call a fraction of a millisecond early would still be early.
        (slot - now_us).div_ceil(1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_spaced_by_the_quota_and_idle_time_is_not_banked() {
        let mut p = Pacer::default();
        let waits: Vec<u64> = (0..5).map(|_| p.reserve(Quota::Batch, 1_000)).collect();
        assert_eq!(waits, [0, 10, 20, 30, 40]);
        // Single-account calls have their own, faster quota.
        assert_eq!(p.reserve(Quota::Single, 1_000), 0);
        assert_eq!(p.reserve(Quota::Single, 1_000), 5);
        // After a pause the next call goes at once, and a burst is spaced again.
        assert_eq!(p.reserve(Quota::Batch, 5_000), 0);
        assert_eq!(p.reserve(Quota::Batch, 5_000), 10);
    }

    #[test]
    fn a_burst_never_exceeds_the_rate_in_any_second() {
        let mut p = Pacer::default();
        let mut at: Vec<u64> = Vec::new();
        for i in 0..1_000u64 {
            let now = i / 3; // 3,000 calls wanted per second
            at.push(now + p.reserve(Quota::Batch, now));
        }
        for w in at.windows(101) {
            assert!(w[100] - w[0] >= 1_000, "101 calls within one second");
        }
    }
}
