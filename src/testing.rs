//! Test support shared by every unit test: a `block_on` for futures whose awaits complete at
//! once, a fake runtime ([`FakeIo`]) with a scripted Tencent, and the default settings.

use crate::http::{Request, Response};
use crate::ports::{Io, KeyIo, TransportError};
use crate::region::EdgeLocation;
use crate::routes::handle;
use crate::settings::Settings;
use crate::state::IsolateState;
use crate::webhook::standard;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

pub use crate::ports::block_on;

/// The Clerk webhook secret of the default settings (Standard Webhooks test vector).
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// The Tencent secret key of the default settings.
pub const KEY: &str = "tencent-key";
/// The fake clock's start, Unix milliseconds.
pub const NOW_MS: u64 = 1_700_000_000_000;
/// Tencent's success answer.
pub const OK: Result<(u16, &str), TransportError> =
    Ok((200, r#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}"#));

/// A Tencent failure answer with `code`.
pub fn fail(code: i64) -> Result<(u16, &'static str), TransportError> {
    let body = format!(r#"{{"ActionStatus":"FAIL","ErrorInfo":"info {code}","ErrorCode":{code}}}"#);
    Ok((200, Box::leak(body.into_boxed_str())))
}

/// One SQL statement and its parameters, as the fake database recorded it.
pub type Statement = (String, Vec<serde_json::Value>);

/// A fake runtime: a clock that sleeps advance, a scripted upstream, and recorded calls and logs.
pub struct FakeIo {
    /// Unix milliseconds now.
    pub now: Cell<u64>,
    /// What each POST answers, in order; an exhausted script is a network error.
    pub script: RefCell<VecDeque<Result<(u16, String), TransportError>>>,
    /// Every POST: URL, body, timeout.
    pub calls: RefCell<Vec<(String, String, u64)>>,
    /// Every log line.
    pub logs: RefCell<Vec<String>>,
    /// The job queue: `None` when unbound; the bodies sent so far.
    pub queue: RefCell<Option<Vec<String>>>,
    /// Make every enqueue fail (a throttled or unavailable queue).
    pub queue_down: Cell<bool>,
    /// The database: `None` when unbound; every statement run so far.
    pub db: RefCell<Option<Vec<Statement>>>,
    /// Rows the next statements answer, in order (then none).
    pub rows: RefCell<VecDeque<Vec<serde_json::Value>>>,
}

impl FakeIo {
    /// A runtime whose upstream answers `script` in order.
    pub fn new(script: Vec<Result<(u16, &str), TransportError>>) -> FakeIo {
        FakeIo {
            now: Cell::new(NOW_MS),
            script: RefCell::new(
                script
                    .into_iter()
                    .map(|r| r.map(|(s, b)| (s, b.to_owned())))
                    .collect(),
            ),
            calls: RefCell::default(),
            logs: RefCell::default(),
            queue: RefCell::default(),
            queue_down: Cell::new(false),
            db: RefCell::default(),
            rows: RefCell::default(),
        }
    }
}

impl KeyIo for FakeIo {
    async fn get(&self, _url: &str, _timeout_ms: u64) -> Result<(u16, Vec<u8>), TransportError> {
        Err(TransportError::Network(
            "no key fetches in these tests".into(),
        ))
    }
    async fn verify_jwk(&self, _a: &str, _k: &str, _m: &[u8], _s: &[u8]) -> bool {
        false
    }
    async fn verify_ed25519(&self, _k: &[u8], _m: &[u8], _s: &[u8]) -> bool {
        false
    }
    fn now_ms(&self) -> u64 {
        self.now.get()
    }
    async fn sleep(&self, ms: u64) {
        self.now.set(self.now.get() + ms);
    }
}

impl Io for FakeIo {
    fn random_u32(&self) -> u32 {
        7
    }
    async fn post_json(
        &self,
        url: &str,
        body: &str,
        timeout_ms: u64,
    ) -> Result<(u16, Vec<u8>), TransportError> {
        self.calls
            .borrow_mut()
            .push((url.to_owned(), body.to_owned(), timeout_ms));
        self.now.set(self.now.get() + 5);
        match self.script.borrow_mut().pop_front() {
            Some(r) => r.map(|(s, b)| (s, b.into_bytes())),
            None => Err(TransportError::Network("script exhausted".into())),
        }
    }
    fn log(&self, line: &str) {
        self.logs.borrow_mut().push(line.to_owned());
    }
    fn has_queue(&self) -> bool {
        self.queue.borrow().is_some()
    }
    async fn enqueue(&self, bodies: &[String]) -> Result<(), String> {
        if self.queue_down.get() {
            return Err("Too Many Requests".into());
        }
        match self.queue.borrow_mut().as_mut() {
            Some(q) => {
                q.extend(bodies.iter().cloned());
                Ok(())
            }
            None => Err("no queue bound".into()),
        }
    }
    fn has_db(&self) -> bool {
        self.db.borrow().is_some()
    }
    async fn sql(
        &self,
        query: &str,
        params: &[serde_json::Value],
    ) -> Result<Vec<serde_json::Value>, String> {
        match self.db.borrow_mut().as_mut() {
            Some(log) => log.push((query.to_owned(), params.to_vec())),
            None => return Err("no database bound".into()),
        }
        Ok(self.rows.borrow_mut().pop_front().unwrap_or_default())
    }
}

/// The documented Clerk `user.created` example.
pub const DOC: &str = include_str!("../tests/fixtures/clerk_user_created.json");

/// Settings as a list of pairs.
pub struct Env(pub Vec<(&'static str, String)>);

impl Settings for Env {
    fn raw(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    }
}

/// The default settings (emulator origin, demo SDKAppID, Clerk on) with `extra` replacing or,
/// when the value is empty, removing entries.
pub fn env(extra: &[(&'static str, &str)]) -> Env {
    let mut v: Vec<(&'static str, String)> = vec![
        ("TIM_SDKAPPID", "1400000000".into()),
        ("TIM_SECRET_KEY", KEY.into()),
        ("CLERK_WEBHOOK_SECRET", SECRET.into()),
        ("TIM_BASE_URL", "http://127.0.0.1:8790".into()),
    ];
    for (k, val) in extra {
        v.retain(|(n, _)| n != k);
        if !val.is_empty() {
            v.push((k, (*val).to_owned()));
        }
    }
    Env(v)
}

/// Delivers `body` as a freshly signed Clerk webhook with a new message id.
pub fn deliver(
    body: &str,
    env: &Env,
    state: &IsolateState,
    io: &FakeIo,
    loc: EdgeLocation,
) -> Response {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let id = format!(
        "msg_{}",
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    deliver_as(&id, body, env, state, io, loc)
}

/// Delivers `body` as a freshly signed Clerk webhook to a fresh isolate, from no known location.
pub fn fresh(body: &str, env: &Env, io: &FakeIo) -> Response {
    deliver(
        body,
        env,
        &IsolateState::default(),
        io,
        EdgeLocation::default(),
    )
}

/// Delivers `body` as a Clerk webhook with message id `id`, signed at the fake clock's time.
pub fn deliver_as(
    id: &str,
    body: &str,
    env: &Env,
    state: &IsolateState,
    io: &FakeIo,
    loc: EdgeLocation,
) -> Response {
    let now_s = (io.now.get() / 1000) as i64;
    let ts = now_s.to_string();
    let sig = standard::Secret::parse(SECRET)
        .unwrap()
        .sign(id, now_s, body.as_bytes());
    let headers: Vec<(&str, &str)> = vec![
        ("svix-id", id),
        ("svix-timestamp", &ts),
        ("svix-signature", &sig),
    ];
    let req = Request {
        method: "POST",
        path: "/webhooks/clerk",
        query: "",
        headers: &headers.as_slice(),
        body: Some(body.as_bytes()),
        location: loc.into(),
    };
    block_on(handle(&req, env, state, io))
}

/// A body-less GET without headers.
pub fn get_req(path: &'static str, location: EdgeLocation) -> Request<'static> {
    Request {
        method: "GET",
        path,
        query: "",
        headers: &NO_HEADERS,
        body: Some(b""),
        location: location.into(),
    }
}

/// A response's JSON body.
pub fn json(r: &Response) -> serde_json::Value {
    serde_json::from_str(&r.body).unwrap_or_default()
}

/// A request without headers.
pub const NO_HEADERS: &[(&str, &str)] = &[];

/// The operator's token in tests that set `TIM_ADMIN_TOKEN`.
pub const ADMIN_TOKEN: &str = "admin-tok";
/// The header that presents [`ADMIN_TOKEN`].
pub const ADMIN_HEADERS: &[(&str, &str)] = &[("authorization", "Bearer admin-tok")];

/// A GET with the operator's token (see [`ADMIN_TOKEN`]).
pub fn admin_get_req(path: &'static str, location: EdgeLocation) -> Request<'static> {
    Request {
        headers: &ADMIN_HEADERS,
        ..get_req(path, location)
    }
}
