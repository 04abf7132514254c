//! The imperative shell: the only module that touches the Workers runtime.
//!
//! It turns the runtime's request into an [`http::Request`], implements [`Io`] with
//! `fetch`, timers, `Date.now()` and `crypto.getRandomValues`, and turns the answer back into a
//! `Response`. Every runtime call is fallible and handled: a panic here would reset the isolate
//! and lose its caches. `request.cf` is read through `Reflect`, because worker 0.8.7 panics when
//! it is absent (plain workerd, service bindings).
//!
//! The fetch path has no wasm-bindgen futures: `src/entry.js` (the Worker's entry module) calls
//! [`begin`] and [`resume`], two synchronous exports that poll the request's future once each.
//! When the core waits on the runtime (a `fetch`, a timer, WebCrypto, a Queue or D1 call), the
//! poll hands the runtime's promise back to JS, which awaits it and resumes the request with the
//! result. Measured, the promise, closure and microtask plumbing of an async export cost more CPU
//! than our Rust code itself; this way a signup is two wasm calls. The queue consumer, rare and
//! batched, keeps the async export.

use crate::background;
use crate::consumer::{Message, Verdict};
use crate::http::{self, MAX_BODY_BYTES};
use crate::ports::{HeaderMap, Io, KeyIo, TransportError};
use crate::region::EdgeLocation;
use crate::routes;
use crate::settings::Settings;
use crate::state::IsolateState;
use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::{js_sys, web_sys};

/// A request being handled, suspended between two calls from `src/entry.js`.
type Task = Pin<Box<dyn Future<Output = http::Response>>>;

/// A backstop to [`forget`]: requests suspended at once past this many are taken as abandoned
/// and the oldest are dropped, so memory stays bounded whatever the runtime does.
const MAX_SUSPENDED: usize = 4096;

thread_local! {
    /// Lives as long as the wasm instance; leaked once so requests can hold it across awaits.
    static STATE: &'static IsolateState = Box::leak(Box::default());
    /// The state of [`RuntimeIo::random_u32`]'s generator; 0 until seeded.
    static RANDOM: Cell<u64> = const { Cell::new(0) };
    /// Whether the Queue producer is bound, once known (bindings are fixed for a Worker version,
    /// like vars and secrets; looking one up on `env` costs a few microseconds per request).
    static BOUND_QUEUE: Cell<Option<bool>> = const { Cell::new(None) };
    /// Whether the D1 database is bound, once known.
    static BOUND_DB: Cell<Option<bool>> = const { Cell::new(None) };
    /// Suspended requests by the id JS gave them.
    static TASKS: RefCell<BTreeMap<u32, Task>> = const { RefCell::new(BTreeMap::new()) };
    /// The promise the request being polled now waits on (set by [`Suspend`]).
    static OUTBOX: RefCell<Option<Promise>> = const { RefCell::new(None) };
    /// What that promise settled to, for the request being resumed: `Err` when it rejected.
    static INBOX: RefCell<Option<Result<JsValue, JsValue>>> = const { RefCell::new(None) };
    /// `Date.now()` read once per step of a driven request: the Workers clock only moves on
    /// I/O, so a second read in the same step gives the same value, for another JS call.
    static NOW_MS: Cell<Option<u64>> = const { Cell::new(None) };
}

struct Headers(web_sys::Headers);

impl HeaderMap for Headers {
    fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).ok().flatten()
    }
}

struct EnvSettings<'a>(&'a JsValue);

impl Settings for EnvSettings<'_> {
    fn raw(&self, name: &str) -> Option<String> {
        js_sys::Reflect::get(self.0, &JsValue::from_str(name))
            .ok()
            .and_then(|v| v.as_string())
    }
}

/// `request.cf` fields, each optional; `cf` itself may be missing.
fn edge_location(req: &web_sys::Request) -> EdgeLocation {
    let cf = js_sys::Reflect::get(req, &JsValue::from_str("cf")).unwrap_or(JsValue::UNDEFINED);
    if !cf.is_object() {
        return EdgeLocation::default();
    }
    let field = |name: &str| js_sys::Reflect::get(&cf, &JsValue::from_str(name)).ok();
    let number = |name: &str| {
        field(name).and_then(|v| {
            v.as_f64()
                .or_else(|| v.as_string().and_then(|s| s.trim().parse().ok()))
        })
    };
    EdgeLocation {
        latitude: number("latitude"),
        longitude: number("longitude"),
        country: field("country").and_then(|v| v.as_string()),
        continent: field("continent").and_then(|v| v.as_string()),
    }
}

#[wasm_bindgen(module = "/src/shim.js")]
extern "C" {
    /// A promise that resolves after `ms` milliseconds.
    #[wasm_bindgen(js_name = sleep)]
    fn shim_sleep(ms: f64) -> Promise;
    /// `[status, bytes]` or `[0, name, message]`.
    #[wasm_bindgen(js_name = postJson)]
    fn shim_post_json(url: &str, body: &str, timeout_ms: u32) -> Promise;
    /// `[status, bytes]` or `[0, name, message]`.
    #[wasm_bindgen(js_name = getBytes)]
    fn shim_get_bytes(url: &str, timeout_ms: u32) -> Promise;
    /// A JSON `Response` with extra "name: value" header lines.
    #[wasm_bindgen(js_name = respond)]
    fn shim_respond(status: u16, body: &str, extra: &str) -> web_sys::Response;
    /// Verifies a JWS signature with WebCrypto; resolves to a boolean, never rejects.
    #[wasm_bindgen(js_name = verifyJwk)]
    fn shim_verify_jwk(alg: &str, key: &str, message: &[u8], signature: &[u8]) -> Promise;
    /// Whether `env[name]` is bound.
    #[wasm_bindgen(js_name = hasBinding)]
    fn shim_has_binding(env: &JsValue, name: &str) -> bool;
    /// Sends a JSON list of bodies to a queue; resolves to "" or the error.
    #[wasm_bindgen(js_name = enqueue)]
    fn shim_enqueue(env: &JsValue, name: &str, bodies: &str) -> Promise;
    /// Runs one D1 statement; resolves to `{"ok","rows"|"error"}` as JSON.
    #[wasm_bindgen(js_name = sql)]
    fn shim_sql(env: &JsValue, name: &str, query: &str, params: &str) -> Promise;
    /// A queue batch as `{"queue", "messages": [[id, attempts, body]]}` JSON.
    #[wasm_bindgen(js_name = batchMessages)]
    fn shim_batch_messages(batch: &JsValue) -> String;
    /// Applies `[[id, "ack"|"retry", delaySeconds]]` to a batch, each in its own try.
    #[wasm_bindgen(js_name = settle)]
    fn shim_settle(batch: &JsValue, verdicts: &str);
}

#[wasm_bindgen]
extern "C" {
    /// `console.log` of one line, passed as UTF-8: no `format!` copy and no `JsValue` per line.
    #[wasm_bindgen(js_namespace = console, js_name = log)]
    fn console_log_line(line: &str);
}

/// Waits for a runtime promise by handing it to the JS driver (see the module comment): the
/// first poll puts the promise in [`OUTBOX`] and suspends; the poll after JS resumed the request
/// takes the result from [`INBOX`].
struct Suspend(Option<Promise>);

impl Future for Suspend {
    type Output = Result<JsValue, JsValue>;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(p) = self.0.take() {
            OUTBOX.with(|o| *o.borrow_mut() = Some(p));
            return Poll::Pending;
        }
        match INBOX.with(|i| i.borrow_mut().take()) {
            Some(v) => Poll::Ready(v),
            None => Poll::Pending,
        }
    }
}

/// How a promise is awaited: handed to the JS driver (fetch path) or through
/// wasm-bindgen-futures (the queue consumer's async export).
#[derive(Clone, Copy)]
enum Wait {
    Driver,
    Futures,
}

/// The runtime, with the Worker's `env` for its Queue and D1 bindings.
struct RuntimeIo<'a> {
    env: &'a JsValue,
    wait: Wait,
}

impl RuntimeIo<'_> {
    /// Awaits a runtime promise the way this request is driven.
    async fn settle(&self, p: Promise) -> Result<JsValue, JsValue> {
        match self.wait {
            Wait::Driver => Suspend(Some(p)).await,
            Wait::Futures => JsFuture::from(p).await,
        }
    }
}

/// The Queue producer binding of the job queue.
const QUEUE_BINDING: &str = "TIM_QUEUE";
/// The D1 binding of the dead-letter table.
const DB_BINDING: &str = "DB";

/// Whether binding `name` is on `env`, looked up once per isolate.
fn bound(
    memo: &'static std::thread::LocalKey<Cell<Option<bool>>>,
    env: &JsValue,
    name: &str,
) -> bool {
    memo.with(|m| {
        m.get().unwrap_or_else(|| {
            let b = shim_has_binding(env, name);
            m.set(Some(b));
            b
        })
    })
}

/// Keeps the admin UserSig out of anything we log: fetch errors may echo the URL.
fn redact(s: &str) -> String {
    match s.find("usersig=") {
        Some(i) => format!("{}usersig=<redacted>", s.get(..i).unwrap_or_default()),
        None => s.to_owned(),
    }
}

fn js_error_text(e: &JsValue) -> (String, String) {
    let get = |k: &str| {
        js_sys::Reflect::get(e, &JsValue::from_str(k))
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default()
    };
    (get("name"), redact(&get("message")))
}

fn timeout_error(e: JsValue) -> TransportError {
    let (name, message) = js_error_text(&e);
    if name == "TimeoutError" || name == "AbortError" {
        TransportError::Timeout
    } else {
        TransportError::Network(format!("{name}: {message}"))
    }
}

/// Reads a shim fetch result: `[status, bytes]`, or `[0, name, message]` when nothing came back.
async fn shim_result(io: &RuntimeIo<'_>, p: Promise) -> Result<(u16, Vec<u8>), TransportError> {
    let v: Array = io.settle(p).await.map_err(timeout_error)?.unchecked_into();
    let status = v.get(0).as_f64().unwrap_or(0.0) as u16;
    if status == 0 {
        let name = v.get(1).as_string().unwrap_or_default();
        let message = redact(&v.get(2).as_string().unwrap_or_default());
        return Err(if name == "TimeoutError" || name == "AbortError" {
            TransportError::Timeout
        } else {
            TransportError::Network(format!("{name}: {message}"))
        });
    }
    Ok((status, Uint8Array::new(&v.get(1)).to_vec()))
}

fn ms(timeout_ms: u64) -> u32 {
    u32::try_from(timeout_ms).unwrap_or(u32::MAX)
}

/// Calls `crypto.subtle[method](...args)` and awaits it.
async fn subtle(io: &RuntimeIo<'_>, method: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let crypto = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))?;
    let subtle = Reflect::get(&crypto, &JsValue::from_str("subtle"))?;
    let f: Function = Reflect::get(&subtle, &JsValue::from_str(method))?.dyn_into()?;
    let promise: Promise = f
        .apply(&subtle, &args.iter().collect::<Array>())?
        .dyn_into()?;
    io.settle(promise).await
}

fn object(pairs: &[(&str, JsValue)]) -> Result<JsValue, JsValue> {
    let o = Object::new();
    for (k, v) in pairs {
        Reflect::set(&o, &JsValue::from_str(k), v)?;
    }
    Ok(o.into())
}

/// Imports a key and verifies one signature with WebCrypto; any failure is "not verified".
async fn webcrypto_verify(
    io: &RuntimeIo<'_>,
    format: &str,
    key: JsValue,
    algorithm: JsValue,
    message: &[u8],
    signature: &[u8],
) -> bool {
    let run = async {
        let usages: Array = [JsValue::from_str("verify")].into_iter().collect();
        let key = subtle(
            io,
            "importKey",
            &[
                JsValue::from_str(format),
                key,
                algorithm.clone(),
                JsValue::FALSE,
                usages.into(),
            ],
        )
        .await?;
        subtle(
            io,
            "verify",
            &[
                algorithm,
                key,
                Uint8Array::from(signature).into(),
                Uint8Array::from(message).into(),
            ],
        )
        .await
    };
    run.await.ok().and_then(|v| v.as_bool()).unwrap_or(false)
}

impl KeyIo for RuntimeIo<'_> {
    fn now_ms(&self) -> u64 {
        if matches!(self.wait, Wait::Futures) {
            return js_sys::Date::now() as u64;
        }
        NOW_MS.with(|n| {
            n.get().unwrap_or_else(|| {
                let now = js_sys::Date::now() as u64;
                n.set(Some(now));
                now
            })
        })
    }

    async fn sleep(&self, ms: u64) {
        // A timer cannot fail; an error here would only mean the runtime is going away.
        let _ = self.settle(shim_sleep(ms as f64)).await;
    }

    async fn get(&self, url: &str, timeout_ms: u64) -> Result<(u16, Vec<u8>), TransportError> {
        shim_result(self, shim_get_bytes(url, ms(timeout_ms))).await
    }

    async fn verify_jwk(&self, alg: &str, key: &str, message: &[u8], signature: &[u8]) -> bool {
        self.settle(shim_verify_jwk(alg, key, message, signature))
            .await
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    }

    async fn verify_ed25519(&self, public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
        match object(&[("name", "Ed25519".into())]) {
            Ok(alg) => {
                webcrypto_verify(
                    self,
                    "raw",
                    Uint8Array::from(public_key).into(),
                    alg,
                    message,
                    signature,
                )
                .await
            }
            Err(_) => false,
        }
    }
}

impl Io for RuntimeIo<'_> {
    /// Tencent's `random` request parameter and retry jitter need no secrecy, so a generator
    /// seeded once from the runtime's CSPRNG serves them without a JS call per request.
    fn random_u32(&self) -> u32 {
        RANDOM.with(|r| {
            let mut x = r.get();
            if x == 0 {
                let mut b = [0u8; 8];
                x = match getrandom::fill(&mut b) {
                    Ok(()) => u64::from_le_bytes(b),
                    Err(_) => (js_sys::Math::random() * 2f64.powi(53)) as u64,
                } | 1;
            }
            // xorshift64* (Vigna): full period over non-zero states.
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            r.set(x);
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as u32
        })
    }

    async fn post_json(
        &self,
        url: &str,
        body: &str,
        timeout_ms: u64,
    ) -> Result<(u16, Vec<u8>), TransportError> {
        shim_result(self, shim_post_json(url, body, ms(timeout_ms))).await
    }

    fn log(&self, line: &str) {
        console_log_line(line);
    }

    fn has_queue(&self) -> bool {
        bound(&BOUND_QUEUE, self.env, QUEUE_BINDING)
    }

    async fn enqueue(&self, bodies: &[String]) -> Result<(), String> {
        let list = serde_json::to_string(bodies).unwrap_or_default();
        let err = self
            .settle(shim_enqueue(self.env, QUEUE_BINDING, &list))
            .await
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_else(|| "the queue call failed".into());
        if err.is_empty() {
            Ok(())
        } else {
            Err(err)
        }
    }

    fn has_db(&self) -> bool {
        bound(&BOUND_DB, self.env, DB_BINDING)
    }

    async fn sql(
        &self,
        query: &str,
        params: &[serde_json::Value],
    ) -> Result<Vec<serde_json::Value>, String> {
        let params = serde_json::Value::from(params.to_vec()).to_string();
        let text = self
            .settle(shim_sql(self.env, DB_BINDING, query, &params))
            .await
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default();
        #[derive(serde::Deserialize)]
        struct Answer {
            ok: bool,
            #[serde(default)]
            rows: Vec<serde_json::Value>,
            #[serde(default)]
            error: String,
        }
        match serde_json::from_str::<Answer>(&text) {
            Ok(a) if a.ok => Ok(a.rows),
            Ok(a) => Err(a.error),
            Err(_) => Err("D1 gave no answer".into()),
        }
    }
}

fn to_response(r: http::Response) -> web_sys::Response {
    let extra: String = r
        .headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\n"))
        .collect();
    shim_respond(r.status, &r.body, &extra)
}

/// A 500 for a request the driver lost (never expected; the sender retries a 5xx).
fn internal_error(message: &str) -> JsValue {
    let body = serde_json::json!({ "error": "internal", "message": message }).to_string();
    shim_respond(500, &body, "").into()
}

/// Polls a request once: its response when done, else the promise it waits on (the request is
/// kept under `id` until JS resumes it).
fn step(id: u32, mut task: Task) -> JsValue {
    NOW_MS.with(|n| n.set(None));
    let mut cx = Context::from_waker(Waker::noop());
    let polled = task.as_mut().poll(&mut cx);
    // A result the request did not take is stale by its next poll.
    INBOX.with(|i| i.borrow_mut().take());
    match polled {
        Poll::Ready(r) => to_response(r).into(),
        Poll::Pending => match OUTBOX.with(|o| o.borrow_mut().take()) {
            Some(p) => {
                TASKS.with(|t| {
                    let mut t = t.borrow_mut();
                    while t.len() >= MAX_SUSPENDED {
                        t.pop_first();
                    }
                    t.insert(id, task);
                });
                p.into()
            }
            // Every wait goes through `Suspend`, so this cannot happen; answer rather than hang.
            None => internal_error("request suspended without a promise"),
        },
    }
}

/// The largest body `src/entry.js` reads before it gives up (the 413 is the core's decision).
#[wasm_bindgen(js_name = maxBodyBytes)]
pub fn max_body_bytes() -> u32 {
    u32::try_from(MAX_BODY_BYTES).unwrap_or(u32::MAX)
}

/// Starts handling a request (called by `src/entry.js`): `body` is what JS read, `None` when it
/// exceeded [`max_body_bytes`]. Returns the `Response`, or a promise to await and pass to
/// [`resume`] with the same `id`.
#[wasm_bindgen]
pub fn begin(id: u32, req: web_sys::Request, env: JsValue, body: Option<Vec<u8>>) -> JsValue {
    let state = STATE.with(|s| *s);
    let task: Task = Box::pin(async move {
        let method = req.method();
        let url = req.url();
        let (path, query) = http::path_and_query(&url);
        let headers = Headers(req.headers());
        let lazy_location = || edge_location(&req);
        let request = http::Request {
            method: &method,
            path,
            query,
            headers: &headers,
            body: body.as_deref(),
            location: http::Location::Lazy(&lazy_location),
        };
        let io = RuntimeIo {
            env: &env,
            wait: Wait::Driver,
        };
        routes::handle(&request, &EnvSettings(&env), state, &io).await
    });
    step(id, task)
}

/// Drops suspended request `id`: `src/entry.js` calls it when the request's JS side was
/// garbage-collected without resuming it (the client went away and the runtime cancelled it).
#[wasm_bindgen]
pub fn forget(id: u32) {
    TASKS.with(|t| t.borrow_mut().remove(&id));
}

/// Resumes request `id` with what its promise settled to (`ok` false: it rejected with `value`).
/// Returns like [`begin`].
#[wasm_bindgen]
pub fn resume(id: u32, value: JsValue, ok: bool) -> JsValue {
    let Some(task) = TASKS.with(|t| t.borrow_mut().remove(&id)) else {
        return internal_error("request was dropped while it waited");
    };
    INBOX.with(|i| *i.borrow_mut() = Some(if ok { Ok(value) } else { Err(value) }));
    step(id, task)
}

/// The queue handler (worker-build wires an export named `queue`): the job queue's and the
/// dead-letter queue's batches. Hand-written instead of `#[event(queue)]` because that wrapper
/// panics on `Err` and its `ack`/`retry` unwrap; here every message gets its own verdict, applied
/// in JS one by one, and nothing can throw.
#[wasm_bindgen]
pub async fn queue(batch: JsValue, env: JsValue, _ctx: JsValue) -> JsValue {
    #[derive(serde::Deserialize)]
    struct Batch {
        queue: String,
        messages: Vec<(String, u32, String)>,
    }
    let state = STATE.with(|s| *s);
    let Ok(b) = serde_json::from_str::<Batch>(&shim_batch_messages(&batch)) else {
        return JsValue::UNDEFINED;
    };
    let messages = b
        .messages
        .into_iter()
        .map(|(id, attempts, body)| Message { id, attempts, body })
        .collect();
    let io = RuntimeIo {
        env: &env,
        wait: Wait::Futures,
    };
    let verdicts = background::consume(&b.queue, messages, &EnvSettings(&env), state, &io).await;
    let list: Vec<(String, &str, u32)> = verdicts
        .into_iter()
        .map(|(id, v)| match v {
            Verdict::Retry { delay_s } => (id, "retry", delay_s),
            Verdict::Ack | Verdict::DeadLetter { .. } => (id, "ack", 0),
        })
        .collect();
    shim_settle(&batch, &serde_json::to_string(&list).unwrap_or_default());
    JsValue::UNDEFINED
}
