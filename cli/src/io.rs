//! The native [`Io`]: blocking HTTP with `ureq` (rustls), `std::thread::sleep`, the system clock.
//! Every future it returns is complete when first polled, so [`block_on`] runs the core's async
//! [`tim_onboard::drive::drive`] without an async runtime.
//!
//! It also holds the `--rate` cap: calls of one Tencent API are sent at least `1/rate` seconds
//! apart, measured on the actual send times (the core's pacer spaces reservations; this spaces
//! sends, so a late wake-up can never put two calls closer than the cap). It counts the calls.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tim_onboard::ports::{Io, KeyIo, TransportError};
use tim_onboard::tim::Quota;

pub use tim_onboard::ports::block_on;

/// Unix milliseconds now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Tencent's documented limit for the batch APIs, the default and maximum `--rate`.
pub const MAX_RATE: u32 = 100;

/// Spaces the sends of each API path by `1/rate` seconds (plus a small margin, so that a
/// receiver counting calls in whole-second windows never sees one call too many).
#[derive(Debug)]
pub struct RateCap {
    rate: u32,
    last: BTreeMap<String, Instant>,
}

/// Added to every interval: covers clock granularity between our send and the server's count.
const MARGIN_US: u64 = 50;

impl RateCap {
    /// A cap of `rate` calls/s per API (clamped to 1..=the API's own quota).
    pub fn new(rate: u32) -> RateCap {
        RateCap {
            rate: rate.max(1),
            last: BTreeMap::new(),
        }
    }

    /// The spacing for calls to `path`.
    pub fn interval(&self, path: &str) -> Duration {
        let quota = match path {
            tim_onboard::tim::MULTIACCOUNT_IMPORT_PATH
            | tim_onboard::tim::ACCOUNT_DELETE_PATH
            | crate::tencent::ACCOUNT_CHECK_PATH => Quota::Batch,
            _ => Quota::Single,
        };
        let rate = u64::from(self.rate).min(quota.calls_per_second()).max(1);
        Duration::from_micros(1_000_000u64.div_ceil(rate) + MARGIN_US)
    }

    /// How long to wait at `now` before the next send to `path`.
    pub fn wait(&self, path: &str, now: Instant) -> Duration {
        match self.last.get(path) {
            Some(prev) => (*prev + self.interval(path)).saturating_duration_since(now),
            None => Duration::ZERO,
        }
    }

    /// Records a send to `path` at `at` (the actual time, after any late wake-up).
    pub fn sent(&mut self, path: &str, at: Instant) {
        self.last.insert(path.to_owned(), at);
    }

    /// Waits (with `sleep`) until a send to `path` is allowed, records it and returns its time.
    pub fn acquire(&mut self, path: &str, mut sleep: impl FnMut(Duration) -> Instant) -> Instant {
        let mut now = sleep(Duration::ZERO);
        loop {
            let wait = self.wait(path, now);
            if wait.is_zero() {
                self.sent(path, now);
                return now;
            }
            now = sleep(wait);
        }
    }
}

/// The path of a URL (`scheme://host/path?query` → `/path`).
pub fn url_path(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.find('/').and_then(|i| rest.get(i..)).unwrap_or("/");
    path.split('?').next().unwrap_or(path)
}

/// Where log lines go.
pub type LogSink = Box<dyn FnMut(&str)>;

/// The native runtime.
pub struct NativeIo {
    agent: ureq::Agent,
    cap: RefCell<RateCap>,
    calls: RefCell<BTreeMap<String, u64>>,
    rng: Cell<u64>,
    sink: RefCell<LogSink>,
    sends: RefCell<Option<Vec<(String, Instant)>>>,
}

/// The HTTP agent every call uses: rustls, no status-as-error, a user agent.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .user_agent(concat!("tim-onboard/", env!("CARGO_PKG_VERSION")))
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// Maps a ureq failure onto the core's transport errors.
pub fn transport_error(e: ureq::Error) -> TransportError {
    match e {
        ureq::Error::Timeout(_) => TransportError::Timeout,
        other => TransportError::Network(other.to_string()),
    }
}

impl NativeIo {
    /// A runtime capping each Tencent API at `rate` calls/s; log lines go to stderr.
    pub fn new(rate: u32) -> NativeIo {
        let seed = now_ms() ^ (u64::from(std::process::id()) << 32) | 1;
        NativeIo {
            agent: agent(),
            cap: RefCell::new(RateCap::new(rate)),
            calls: RefCell::new(BTreeMap::new()),
            rng: Cell::new(seed),
            sink: RefCell::new(Box::new(|l| eprintln!("{l}"))),
            sends: RefCell::new(None),
        }
    }

    /// Sends log lines to `sink` instead of stderr (e.g. above a progress bar).
    pub fn set_log_sink(&self, sink: LogSink) {
        *self.sink.borrow_mut() = sink;
    }

    /// Starts recording the time of every Tencent call (benchmarks).
    pub fn record_sends(&self) {
        *self.sends.borrow_mut() = Some(Vec::new());
    }

    /// The recorded calls: API path and send time.
    pub fn sends(&self) -> Vec<(String, Instant)> {
        self.sends.borrow().clone().unwrap_or_default()
    }

    /// Calls made so far, per API path.
    pub fn calls(&self) -> BTreeMap<String, u64> {
        self.calls.borrow().clone()
    }

    /// Calls made so far, all APIs.
    pub fn total_calls(&self) -> u64 {
        self.calls.borrow().values().sum()
    }

    /// The shared HTTP agent (provider APIs use it too).
    pub fn agent(&self) -> &ureq::Agent {
        &self.agent
    }

    /// POSTs `body` to `url` with the rate cap, counting the call; the blocking core of `post_json`.
    pub fn post_blocking(
        &self,
        url: &str,
        body: &str,
        timeout_ms: u64,
    ) -> Result<(u16, Vec<u8>), TransportError> {
        let path = url_path(url).to_owned();
        let at = self.cap.borrow_mut().acquire(&path, |d| {
            if !d.is_zero() {
                std::thread::sleep(d);
            }
            Instant::now()
        });
        if let Some(sends) = self.sends.borrow_mut().as_mut() {
            sends.push((path.clone(), at));
        }
        *self.calls.borrow_mut().entry(path).or_insert(0) += 1;
        let timeout = Duration::from_millis(timeout_ms.max(1));
        let sent = self
            .agent
            .post(url)
            .header("content-type", "application/json")
            .config()
            .timeout_global(Some(timeout))
            .build()
            .send(body);
        let mut resp = sent.map_err(transport_error)?;
        let status = resp.status().as_u16();
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(16 * 1024 * 1024)
            .read_to_vec()
            .map_err(transport_error)?;
        Ok((status, bytes))
    }
}

impl KeyIo for NativeIo {
    async fn get(&self, url: &str, timeout_ms: u64) -> Result<(u16, Vec<u8>), TransportError> {
        let mut resp = self
            .agent
            .get(url)
            .config()
            .timeout_global(Some(Duration::from_millis(timeout_ms.max(1))))
            .build()
            .call()
            .map_err(transport_error)?;
        let status = resp.status().as_u16();
        let body = resp.body_mut().read_to_vec().map_err(transport_error)?;
        Ok((status, body))
    }
    async fn verify_jwk(&self, _alg: &str, _key: &str, _m: &[u8], _s: &[u8]) -> bool {
        false
    }
    async fn verify_ed25519(&self, _k: &[u8], _m: &[u8], _s: &[u8]) -> bool {
        false
    }
    fn now_ms(&self) -> u64 {
        now_ms()
    }
    async fn sleep(&self, ms: u64) {
        std::thread::sleep(Duration::from_millis(ms));
    }
}

impl Io for NativeIo {
    fn random_u32(&self) -> u32 {
        // xorshift64*: backoff jitter and Tencent's `random` need no cryptographic quality.
        let mut x = self.rng.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng.set(x);
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as u32
    }
    async fn post_json(
        &self,
        url: &str,
        body: &str,
        timeout_ms: u64,
    ) -> Result<(u16, Vec<u8>), TransportError> {
        self.post_blocking(url, body, timeout_ms)
    }
    fn log(&self, line: &str) {
        (self.sink.borrow_mut())(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_spaces_each_api_on_its_own() {
        let mut cap = RateCap::new(100);
        let t0 = Instant::now();
        let path = tim_onboard::tim::MULTIACCOUNT_IMPORT_PATH;
        assert_eq!(cap.wait(path, t0), Duration::ZERO);
        cap.sent(path, t0);
        assert_eq!(cap.wait(path, t0), Duration::from_micros(10_050));
        assert_eq!(
            cap.wait(path, t0 + Duration::from_millis(4)),
            Duration::from_micros(6_050)
        );
        // Another API has its own spacing (account_import: 200/s, capped by --rate 100 here).
        assert_eq!(
            cap.wait("/v4/im_open_login_svc/account_import", t0),
            Duration::ZERO
        );
        // Idle time is not banked: after a pause the next call waits nothing, the one after the interval.
        let later = t0 + Duration::from_secs(5);
        assert_eq!(cap.wait(path, later), Duration::ZERO);
        cap.sent(path, later);
        assert_eq!(cap.wait(path, later), Duration::from_micros(10_050));
    }

    #[test]
    fn a_lower_rate_and_the_single_quota() {
        let cap = RateCap::new(10);
        assert_eq!(
            cap.interval(tim_onboard::tim::MULTIACCOUNT_IMPORT_PATH),
            Duration::from_micros(100_050)
        );
        let cap = RateCap::new(1000);
        assert_eq!(
            cap.interval(tim_onboard::tim::MULTIACCOUNT_IMPORT_PATH),
            Duration::from_micros(10_050)
        );
        assert_eq!(
            cap.interval(tim_onboard::tim::ACCOUNT_IMPORT_PATH),
            Duration::from_micros(5_050)
        );
    }

    #[test]
    fn no_second_window_ever_holds_more_than_the_rate() {
        // Sends after sleeps that wake up late: any whole-second
        // window (as the emulator and Tencent count) holds at most `rate` sends.
        let mut cap = RateCap::new(100);
        let t0 = Instant::now();
        let mut now = t0;
        let mut sent = Vec::new();
        let mut x: u64 = 12345;
        for _ in 0..1_000 {
            let at = cap.acquire(tim_onboard::tim::MULTIACCOUNT_IMPORT_PATH, |d| {
                // Every sleep wakes up late by up to 20 ms.
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                now += d + Duration::from_micros((x >> 33) % 20_000);
                now
            });
            sent.push((at - t0).as_micros() as u64);
        }
        for w in sent.windows(101) {
            assert!(w[100] - w[0] >= 1_000_000, "101 sends within one second");
        }
    }

    #[test]
    fn url_paths() {
        assert_eq!(url_path("http://127.0.0.1:8790/v4/a/b?x=1"), "/v4/a/b");
        assert_eq!(url_path("https://h"), "/");
    }
}
