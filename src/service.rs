//! The request pipeline, top to bottom: route, verify the webhook, map the user, import into
//! Tencent with retries and region fail-over, answer.
//!
//! It is plain Rust, generic over [`Io`] (clock, randomness, sleep, outbound HTTP, WebCrypto,
//! log), so the whole data path runs natively in `cargo test` with a scripted upstream. The
//! Worker adapter (`worker.rs`) only implements [`Io`] and converts requests and responses.

use crate::config::{self, TimConfig};
use crate::dedupe::Recent;
use crate::error::AppError;
use crate::identity;
use crate::region::{self, EdgeLocation, Region, RegionSetting};
use crate::tim::{self, ImportRequest, ImportRun, Step, TransportError};
use crate::usersig::AdminSigCache;
use crate::webhook::{self, jwt, okta, Delivery, Event, HeaderMap, KeyIo, Provider, Signup};
use std::cell::{Cell, RefCell};

/// Largest webhook body we read (256 KiB); larger ones get 413 before the rest is read.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Everything the pipeline needs from the outside world (the key functions come from [`KeyIo`]).
#[allow(async_fn_in_trait)] // Workers are single-threaded; no `Send` bound is wanted.
pub trait Io: KeyIo {
    /// A fresh random u32 (Tencent's `random` parameter, backoff jitter).
    fn random_u32(&self) -> u32;
    /// Waits `ms` milliseconds.
    async fn sleep(&self, ms: u64);
    /// POSTs a JSON body; returns HTTP status and body, or a transport error.
    async fn post_json(
        &self,
        url: &str,
        body: &str,
        timeout_ms: u64,
    ) -> Result<(u16, Vec<u8>), TransportError>;
    /// Writes one log line (never called with secrets).
    fn log(&self, line: &str);
}

/// Settings source: a Worker var or secret by name.
pub trait Settings {
    /// The value of `name`, if bound.
    fn get(&self, name: &str) -> Option<String>;
}

/// What lives as long as the isolate. Each part has its own cell, and no borrow is held across
/// an `await`: requests in one isolate run concurrently.
#[derive(Debug, Default)]
pub struct IsolateState {
    sig: RefCell<AdminSigCache>,
    /// (SDKAppID, data centre) that last accepted a call under `TIM_REGION=auto`.
    remembered: Cell<Option<(u64, Region)>>,
    recent: RefCell<Recent>,
    keys: jwt::KeyCache,
    /// Settings read so far. Vars and secrets are fixed for a Worker version (changing one
    /// deploys a new version, in new isolates), so each is read from the runtime once.
    settings: RefCell<std::collections::HashMap<Box<str>, Option<String>>>,
}

/// Settings read through the isolate's memo.
struct Memo<'a> {
    inner: &'a dyn Settings,
    memo: &'a RefCell<std::collections::HashMap<Box<str>, Option<String>>>,
}

impl Settings for Memo<'_> {
    fn get(&self, name: &str) -> Option<String> {
        if let Some(v) = self.memo.borrow().get(name) {
            return v.clone();
        }
        let v = self.inner.get(name);
        self.memo.borrow_mut().insert(name.into(), v.clone());
        v
    }
}

/// An incoming request, as far as the pipeline cares.
pub struct Request<'a, H: HeaderMap + ?Sized> {
    /// HTTP method, upper case.
    pub method: &'a str,
    /// URL path.
    pub path: &'a str,
    /// Raw query string, without `?`.
    pub query: &'a str,
    /// Headers.
    pub headers: &'a H,
    /// The body, or `None` when it exceeded [`MAX_BODY_BYTES`].
    pub body: Option<&'a [u8]>,
    /// Where the request entered the edge (from `request.cf`; all optional).
    pub location: Location<'a>,
}

/// The edge location, read only when a decision needs it (reading `request.cf` costs a few JS calls).
pub enum Location<'a> {
    /// Already known.
    Known(EdgeLocation),
    /// Read on demand.
    Lazy(&'a dyn Fn() -> EdgeLocation),
}

impl Location<'_> {
    /// The location.
    pub fn get(&self) -> EdgeLocation {
        match self {
            Location::Known(l) => l.clone(),
            Location::Lazy(f) => f(),
        }
    }
}

impl From<EdgeLocation> for Location<'_> {
    fn from(l: EdgeLocation) -> Self {
        Location::Known(l)
    }
}

/// A response to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: String,
    /// Extra headers (`Retry-After`, `Allow`).
    pub headers: Vec<(&'static str, String)>,
}

impl Response {
    fn json(status: u16, body: serde_json::Value) -> Response {
        Response {
            status,
            body: body.to_string(),
            headers: Vec::new(),
        }
    }

    /// The response for an error: the one place statuses and headers are chosen.
    pub fn from_error(e: &AppError) -> Response {
        let mut headers = Vec::new();
        if let Some(s) = e.retry_after() {
            headers.push(("Retry-After", s.to_string()));
        }
        if let AppError::MethodNotAllowed(m) = e {
            headers.push(("Allow", (*m).to_owned()));
        }
        Response {
            status: e.status(),
            body: e.body(),
            headers,
        }
    }
}

/// Handles one request.
pub async fn handle(
    req: &Request<'_, impl HeaderMap + ?Sized>,
    settings: &dyn Settings,
    state: &IsolateState,
    io: &impl Io,
) -> Response {
    let memo = Memo {
        inner: settings,
        memo: &state.settings,
    };
    let settings: &dyn Settings = &memo;
    let result = match (req.path, req.method) {
        ("/health", "GET" | "HEAD") => Ok(health(req, settings, state)),
        ("/health", _) => Err(AppError::MethodNotAllowed("GET")),
        ("/userid", "GET") => userid(req, settings),
        ("/userid", _) => Err(AppError::MethodNotAllowed("GET")),
        (path, method) => match path
            .strip_prefix("/webhooks/")
            .and_then(Provider::from_name)
        {
            None => Err(AppError::NotFound),
            Some(Provider::Okta) if method == "GET" => okta_challenge(req, settings),
            Some(p) if method == "POST" => webhook(p, req, settings, state, io).await,
            Some(Provider::Okta) => Err(AppError::MethodNotAllowed("GET, POST")),
            Some(_) => Err(AppError::MethodNotAllowed("POST")),
        },
    };
    match result {
        Ok(r) => r,
        Err(e) => {
            if e.status() >= 500 {
                io.log(&format!(
                    "tim-onboard: {} {}: {}",
                    req.path,
                    e.status(),
                    e.message()
                ));
            }
            Response::from_error(&e)
        }
    }
}

fn setting_fn(settings: &dyn Settings) -> impl Fn(&str) -> Option<String> + '_ {
    move |name| settings.get(name)
}

fn endpoints_for(
    cfg: &TimConfig,
    location: &Location<'_>,
    state: &IsolateState,
) -> Vec<region::Endpoint> {
    // Only `auto` without an origin override looks at where the request entered the edge.
    let loc = match (cfg.region, &cfg.base_url) {
        (RegionSetting::Auto, None) => location.get(),
        _ => EdgeLocation::default(),
    };
    let loc = &loc;
    let remembered = state
        .remembered
        .get()
        .filter(|(app, _)| *app == cfg.sdkappid)
        .map(|(_, r)| r);
    region::endpoints(cfg.region, cfg.base_url.as_deref(), loc, remembered)
}

fn health(
    req: &Request<'_, impl HeaderMap + ?Sized>,
    settings: &dyn Settings,
    state: &IsolateState,
) -> Response {
    let get = setting_fn(settings);
    let items = config::readiness(&get);
    let providers = config::provider_readiness(&get);
    let ready = items.iter().all(|(_, ok)| *ok)
        && providers.iter().any(|(_, s)| *s == "ready")
        && providers.iter().all(|(_, s)| *s != "invalid");
    let config: serde_json::Map<String, serde_json::Value> = items
        .into_iter()
        .map(|(k, ok)| (k.to_owned(), ok.into()))
        .collect();
    let providers: serde_json::Map<String, serde_json::Value> = providers
        .into_iter()
        .map(|(k, s)| (k.to_owned(), s.into()))
        .collect();
    // Region and domain need only the region settings, so show them even when secrets are missing.
    let setting = config::region(&get).unwrap_or(RegionSetting::Auto);
    let cfg = TimConfig {
        sdkappid: config::sdkappid(&get).unwrap_or(0),
        admin: String::new(),
        region: setting,
        base_url: config::base_url(&get).ok().flatten(),
        usersig_ttl: 0,
        secret_key: String::new(),
    };
    let first = endpoints_for(&cfg, &req.location, state).into_iter().next();
    let mode = match setting {
        RegionSetting::Auto => "auto",
        RegionSetting::Fixed(_) => "fixed",
    };
    Response::json(
        if ready { 200 } else { 503 },
        serde_json::json!({
            "ready": ready,
            "config": config,
            "providers": providers,
            "region_mode": mode,
            "region": first.as_ref().and_then(|e| e.region).map(Region::name),
            "origin": first.map(|e| e.origin),
        }),
    )
}

/// Splits a request URL into path and query without a URL parser (the `url` crate's IDNA
/// tables would add ~80 KB gzipped for a job this small).
pub fn path_and_query(url: &str) -> (&str, &str) {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let from_path = after_scheme
        .find('/')
        .map_or("/", |i| after_scheme.get(i..).unwrap_or("/"));
    let no_fragment = from_path.split('#').next().unwrap_or_default();
    no_fragment.split_once('?').unwrap_or((no_fragment, ""))
}

/// Decodes one `application/x-www-form-urlencoded` value.
fn url_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = (bytes.next()? as char).to_digit(16)?;
                let lo = (bytes.next()? as char).to_digit(16)?;
                out.push((hi * 16 + lo) as u8);
            }
            other => out.push(other),
        }
    }
    String::from_utf8(out).ok()
}

fn query_param(query: &str, name: &str) -> Result<Option<String>, AppError> {
    let mut found = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if url_decode(k).as_deref() == Some(name) {
            if found.is_some() {
                return Err(AppError::BadRequest(format!("{name} given twice")));
            }
            found = Some(
                url_decode(v)
                    .ok_or_else(|| AppError::BadRequest(format!("{name} is not valid UTF-8")))?,
            );
        }
    }
    Ok(found)
}

/// `GET /userid?provider=&id=`: the UserID the app's backend should expect (admin token required).
fn userid(
    req: &Request<'_, impl HeaderMap + ?Sized>,
    settings: &dyn Settings,
) -> Result<Response, AppError> {
    let get = setting_fn(settings);
    let Some(token) = webhook::setting(&get, config::TIM_ADMIN_TOKEN) else {
        return Err(AppError::NotFound);
    };
    let presented = req.headers.get("authorization").unwrap_or_default();
    let presented = presented.strip_prefix("Bearer ").unwrap_or("");
    if !webhook::ct_eq(presented.trim().as_bytes(), token.as_bytes()) {
        return Err(AppError::Unauthorized);
    }
    let name = query_param(req.query, "provider")?
        .ok_or_else(|| AppError::BadRequest("provider is required".into()))?;
    let provider = Provider::from_name(&name)
        .ok_or_else(|| AppError::BadRequest(format!("unknown provider {name}")))?;
    let id = query_param(req.query, "id")?
        .ok_or_else(|| AppError::BadRequest("id is required".into()))?;
    let rule = config::userid_rule(provider, &get)?;
    let mapped = identity::map_user_id(&id, &rule)?;
    Ok(Response::json(
        200,
        serde_json::json!({ "provider": provider.name(), "id": id, "user_id": mapped.user_id, "mode": mapped.mode.name() }),
    ))
}

/// Okta's one-time endpoint verification: echo `X-Okta-Verification-Challenge`.
fn okta_challenge(
    req: &Request<'_, impl HeaderMap + ?Sized>,
    settings: &dyn Settings,
) -> Result<Response, AppError> {
    let get = setting_fn(settings);
    if Provider::Okta.configure(&get)?.is_none() {
        return Err(AppError::ProviderNotConfigured {
            provider: "okta",
            var: Provider::Okta.key_setting(),
        });
    }
    let body = okta::challenge(req.headers)?;
    Ok(Response {
        status: 200,
        body,
        headers: Vec::new(),
    })
}

async fn webhook(
    provider: Provider,
    req: &Request<'_, impl HeaderMap + ?Sized>,
    settings: &dyn Settings,
    state: &IsolateState,
    io: &impl Io,
) -> Result<Response, AppError> {
    let started_ms = io.now_ms();
    let get = setting_fn(settings);
    let cfg = provider
        .configure(&get)?
        .ok_or(AppError::ProviderNotConfigured {
            provider: provider.name(),
            var: provider.key_setting(),
        })?;
    let body = req.body.ok_or(AppError::PayloadTooLarge(MAX_BODY_BYTES))?;
    let now_s = i64::try_from(io.now_ms() / 1000).unwrap_or(i64::MAX);
    let delivery = Delivery {
        headers: req.headers,
        body,
        now: now_s,
    };
    let received = webhook::receive(&cfg, &delivery, &state.keys, io).await?;
    let replay_key = received
        .replay_key
        .as_ref()
        .map(|k| format!("replay:{}:{k}", provider.name()));
    if let Some(key) = replay_key {
        // Checked and recorded with no await in between, so a replay racing the original
        // request in this isolate is refused too. Senders sign each retry afresh, so recording
        // before the import cannot block a legitimate retry.
        let mut recent = state.recent.borrow_mut();
        if recent.seen(&key, io.now_ms()) {
            return Err(webhook::WebhookError::Replayed.into());
        }
        recent.remember(key, io.now_ms());
    }
    let mut results = Vec::new();
    for event in received.events {
        results.push(match event {
            Event::Ignored(kind) => serde_json::json!({ "status": "ignored", "event": kind }),
            Event::Signup(signup) => {
                import(provider, signup, started_ms, req, settings, state, io).await?
            }
        });
    }
    if let Some(fixed) = provider.fixed_success_body() {
        return Ok(Response {
            status: 200,
            body: fixed.to_owned(),
            headers: Vec::new(),
        });
    }
    Ok(Response::json(
        200,
        match <[serde_json::Value; 1]>::try_from(results) {
            Ok([one]) => one,
            Err(many) => serde_json::json!({ "status": "processed", "results": many }),
        },
    ))
}

/// Maps a signup to Tencent's rules and imports it (or recognises a redelivery).
///
/// The retry budget runs from `started_ms`, the request's arrival, so key fetches and earlier
/// events of the same delivery count against the sender's timeout too.
async fn import(
    provider: Provider,
    signup: Signup,
    started_ms: u64,
    req: &Request<'_, impl HeaderMap + ?Sized>,
    settings: &dyn Settings,
    state: &IsolateState,
    io: &impl Io,
) -> Result<serde_json::Value, AppError> {
    let get = setting_fn(settings);
    let cfg = TimConfig::load(&get)?;
    let rule = config::userid_rule(provider, &get)?;
    let user_id = identity::map_user_id(&signup.user_id, &rule)?.user_id;
    let dedupe_key = signup
        .event_id
        .as_ref()
        .map(|e| format!("{}:{e}:{user_id}", provider.name()));
    if let Some(key) = &dedupe_key {
        if state.recent.borrow().seen(key, io.now_ms()) {
            return Ok(serde_json::json!({ "status": "duplicate", "user_id": user_id }));
        }
    }
    let profile = identity::fit_profile(signup.nick, signup.face_url);
    for note in &profile.adjustments {
        io.log(&format!("tim-onboard: user {user_id}: {note}"));
    }
    let body = ImportRequest {
        user_id: user_id.clone(),
        nick: profile.nick,
        face_url: profile.face_url,
    }
    .to_json();

    let endpoints = endpoints_for(&cfg, &req.location, state);
    let nearest = endpoints.first().and_then(|e| e.region);
    let policy = tim::RetryPolicy {
        budget_ms: provider.budget_ms(),
        ..Default::default()
    };
    let mut run = ImportRun::new(policy, endpoints, started_ms);
    let mut step = run.start(io.now_ms());
    let done = loop {
        match step {
            Step::Done(result) => break result,
            Step::Send {
                endpoint,
                delay_ms,
                timeout_ms,
                fresh_sig,
            } => {
                if delay_ms > 0 {
                    io.sleep(delay_ms).await;
                }
                let now_ms = io.now_ms();
                let url = {
                    let mut sig = state.sig.borrow_mut();
                    if fresh_sig {
                        sig.invalidate();
                    }
                    let now_s = i64::try_from(now_ms / 1000).unwrap_or(i64::MAX);
                    let usersig = sig.get(
                        cfg.sdkappid,
                        &cfg.secret_key,
                        &cfg.admin,
                        cfg.usersig_ttl,
                        now_s,
                    );
                    let origin = run
                        .endpoints()
                        .get(endpoint)
                        .map(|e| e.origin.as_str())
                        .unwrap_or_default();
                    tim::account_import_url(
                        origin,
                        cfg.sdkappid,
                        &cfg.admin,
                        usersig,
                        io.random_u32(),
                    )
                };
                let outcome = match io.post_json(&url, &body, timeout_ms).await {
                    Ok((status, bytes)) => tim::parse_response(status, &bytes),
                    Err(e) => Err(e),
                };
                match &outcome {
                    Ok(tim::Answer::Ok) => {}
                    Ok(tim::Answer::Fail { code, info }) => io.log(&format!(
                        "tim-onboard: user {user_id}: Tencent error {code}: {info}"
                    )),
                    Err(e) => io.log(&format!("tim-onboard: user {user_id}: attempt failed: {e}")),
                }
                step = run.next(&outcome, io.now_ms(), io.random_u32());
            }
        }
    };
    let idx = done?;
    if let Some(key) = dedupe_key {
        state.recent.borrow_mut().remember(key, io.now_ms());
    }
    let used = run.endpoints().get(idx).and_then(|e| e.region);
    if let (RegionSetting::Auto, None, Some(r)) = (cfg.region, &cfg.base_url, used) {
        let before = state.remembered.replace(Some((cfg.sdkappid, r)));
        if before != Some((cfg.sdkappid, r)) && nearest != Some(r) {
            io.log(&format!(
                "tim-onboard: SDKAppID {} answered from {}; set TIM_REGION={} to skip the search",
                cfg.sdkappid,
                r.name(),
                r.name()
            ));
        }
    }
    Ok(serde_json::json!({ "status": "imported", "user_id": user_id }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::block_on;
    use crate::webhook::standard;
    use std::cell::{Cell, RefCell};
    use std::collections::VecDeque;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const KEY: &str = "tencent-key";
    const NOW_MS: u64 = 1_700_000_000_000;
    const DOC: &str = include_str!("../tests/fixtures/clerk_user_created.json");

    struct FakeIo {
        now: Cell<u64>,
        script: RefCell<VecDeque<Result<(u16, String), TransportError>>>,
        calls: RefCell<Vec<(String, String, u64)>>,
        logs: RefCell<Vec<String>>,
    }

    impl FakeIo {
        fn new(script: Vec<Result<(u16, &str), TransportError>>) -> FakeIo {
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
            }
        }
    }

    const OK: Result<(u16, &str), TransportError> =
        Ok((200, r#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}"#));
    fn fail(code: i64) -> Result<(u16, &'static str), TransportError> {
        Ok((
            200,
            Box::leak(
                format!(r#"{{"ActionStatus":"FAIL","ErrorInfo":"e","ErrorCode":{code}}}"#)
                    .into_boxed_str(),
            ),
        ))
    }

    impl KeyIo for FakeIo {
        fn now_ms(&self) -> u64 {
            self.now.get()
        }
        async fn get(
            &self,
            _url: &str,
            _timeout_ms: u64,
        ) -> Result<(u16, Vec<u8>), TransportError> {
            Err(TransportError::Network("no keys in this test".into()))
        }
        async fn verify_rs256(&self, _n: &str, _e: &str, _m: &[u8], _s: &[u8]) -> bool {
            false
        }
        async fn verify_ed25519(&self, _k: &[u8], _m: &[u8], _s: &[u8]) -> bool {
            false
        }
    }

    impl Io for FakeIo {
        fn random_u32(&self) -> u32 {
            7
        }
        async fn sleep(&self, ms: u64) {
            self.now.set(self.now.get() + ms);
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
    }

    struct Env(Vec<(&'static str, String)>);
    impl Settings for Env {
        fn get(&self, name: &str) -> Option<String> {
            self.0
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        }
    }

    fn env(extra: &[(&'static str, &str)]) -> Env {
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

    fn deliver(
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

    fn deliver_as(
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
            headers: headers.as_slice(),
            body: Some(body.as_bytes()),
            location: loc.into(),
        };
        block_on(handle(&req, env, state, io))
    }

    /// A body-less GET without headers.
    fn get_req(
        path: &'static str,
        location: EdgeLocation,
    ) -> Request<'static, [(&'static str, &'static str)]> {
        Request {
            method: "GET",
            path,
            query: "",
            headers: &[],
            body: Some(b""),
            location: location.into(),
        }
    }

    fn json(r: &Response) -> serde_json::Value {
        serde_json::from_str(&r.body).unwrap()
    }

    #[test]
    fn documented_signup_is_imported_with_a_valid_admin_sig() {
        let io = FakeIo::new(vec![OK]);
        let state = IsolateState::default();
        let r = deliver(DOC, &env(&[]), &state, &io, EdgeLocation::default());
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(json(&r)["user_id"], "user_29w83sxmDNGwOuEthce5gg56FcC");
        let calls = io.calls.borrow();
        let (url, body, timeout) = &calls[0];
        assert_eq!(
            body,
            r#"{"UserID":"user_29w83sxmDNGwOuEthce5gg56FcC","Nick":"Example Example","FaceUrl":"https://img.clerk.com/xxxxxx"}"#
        );
        assert!(url.starts_with("http://127.0.0.1:8790/v4/im_open_login_svc/account_import?sdkappid=1400000000&identifier=administrator&usersig="));
        assert!(url.ends_with("&contenttype=json"));
        assert_eq!(*timeout, 4_000);
        let sig = url
            .split("usersig=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap()
            .replace("%2A", "*");
        crate::usersig::verify(
            1_400_000_000,
            KEY,
            "administrator",
            &sig,
            (NOW_MS / 1000) as i64,
            None,
        )
        .unwrap();
        assert!(!r.body.contains(&sig));
        assert!(io
            .logs
            .borrow()
            .iter()
            .all(|l| !l.contains(&sig) && !l.contains(KEY)));
    }

    #[test]
    fn admin_sig_is_cached_across_requests() {
        let io = FakeIo::new(vec![OK, OK]);
        let state = IsolateState::default();
        deliver(DOC, &env(&[]), &state, &io, EdgeLocation::default());
        deliver(DOC, &env(&[]), &state, &io, EdgeLocation::default());
        let calls = io.calls.borrow();
        let sig = |u: &str| {
            u.split("usersig=")
                .nth(1)
                .unwrap()
                .split('&')
                .next()
                .unwrap()
                .to_owned()
        };
        let random = |u: &str| {
            u.split("random=")
                .nth(1)
                .unwrap()
                .split('&')
                .next()
                .unwrap()
                .to_owned()
        };
        assert_eq!(sig(&calls[0].0), sig(&calls[1].0));
        assert_eq!(random(&calls[0].0), "7");
    }

    #[test]
    fn transient_faults_are_retried_within_the_request() {
        let io = FakeIo::new(vec![
            Ok((502, "<html>")),
            fail(70169),
            Ok((200, "{\"Act")),
            OK,
        ]);
        let r = deliver(
            DOC,
            &env(&[]),
            &IsolateState::default(),
            &io,
            EdgeLocation::default(),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(io.calls.borrow().len(), 4);
    }

    #[test]
    fn persistent_trouble_is_503_with_retry_after() {
        let io = FakeIo::new(vec![fail(70500); 10]);
        let r = deliver(
            DOC,
            &env(&[]),
            &IsolateState::default(),
            &io,
            EdgeLocation::default(),
        );
        assert_eq!(r.status, 503);
        assert_eq!(json(&r)["error"], "tencent_unavailable");
        assert!(r
            .headers
            .iter()
            .any(|(k, v)| *k == "Retry-After" && v == "30"));
    }

    #[test]
    fn payload_fault_is_4xx_and_operator_fault_5xx() {
        let io = FakeIo::new(vec![fail(70402)]);
        let r = deliver(
            DOC,
            &env(&[]),
            &IsolateState::default(),
            &io,
            EdgeLocation::default(),
        );
        assert_eq!(
            (r.status, json(&r)["error"].as_str()),
            (422, Some("tencent_rejected_account"))
        );
        let io = FakeIo::new(vec![fail(70398)]);
        let r = deliver(
            DOC,
            &env(&[]),
            &IsolateState::default(),
            &io,
            EdgeLocation::default(),
        );
        assert_eq!(r.status, 502);
    }

    #[test]
    fn long_ids_and_profiles() {
        let long_id = DOC.replace(
            "user_29w83sxmDNGwOuEthce5gg56FcC",
            "user_29w83sxmDNGwOuEthce5gg56FcCX",
        );
        let io = FakeIo::new(vec![OK]);
        let r = deliver(
            &long_id,
            &env(&[("CLERK_USERID_MODE", "verbatim")]),
            &IsolateState::default(),
            &io,
            EdgeLocation::default(),
        );
        assert_eq!(
            (r.status, json(&r)["error"].as_str()),
            (400, Some("user_id_too_long"))
        );
        assert!(io.calls.borrow().is_empty());
        // In the default mode the same ID is mapped (Clerk's `user_` prefix dropped).
        let r = deliver(
            &long_id,
            &env(&[]),
            &IsolateState::default(),
            &io,
            EdgeLocation::default(),
        );
        assert_eq!(
            json(&r)["user_id"],
            "29w83sxmDNGwOuEthce5gg56FcCX",
            "{}",
            r.body
        );
        assert!(io.calls.borrow()[0]
            .1
            .contains(r#""UserID":"29w83sxmDNGwOuEthce5gg56FcCX""#));

        let long = DOC
            .replace(
                "\"first_name\": \"Example\"",
                &format!("\"first_name\": \"{}\"", "é".repeat(300)),
            )
            .replace(
                "https://img.clerk.com/xxxxxx",
                &format!("https://img.clerk.com/{}", "x".repeat(500)),
            );
        let io = FakeIo::new(vec![OK]);
        let r = deliver(
            &long,
            &env(&[]),
            &IsolateState::default(),
            &io,
            EdgeLocation::default(),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let sent: serde_json::Value = serde_json::from_str(&io.calls.borrow()[0].1).unwrap();
        assert_eq!(sent["Nick"].as_str().unwrap().len(), 500);
        assert!(sent.get("FaceUrl").is_none());
        assert_eq!(io.logs.borrow().len(), 2);
    }

    #[test]
    fn redeliveries_are_answered_without_a_second_import() {
        let io = FakeIo::new(vec![OK, OK]);
        let state = IsolateState::default();
        let e = env(&[]);
        let first = deliver_as("msg_same", DOC, &e, &state, &io, EdgeLocation::default());
        assert_eq!(json(&first)["status"], "imported");
        // The identical signed request again is a replay: 401, no upstream call.
        let replay = deliver_as("msg_same", DOC, &e, &state, &io, EdgeLocation::default());
        assert_eq!(
            (replay.status, json(&replay)["error"].as_str()),
            (401, Some("replayed"))
        );
        // The sender's own retry (same message id, signed anew a second later) is a duplicate: 200.
        io.now.set(io.now.get() + 1_000);
        let retry = deliver_as("msg_same", DOC, &e, &state, &io, EdgeLocation::default());
        assert_eq!(json(&retry)["status"], "duplicate", "{}", retry.body);
        assert_eq!(io.calls.borrow().len(), 1);
        // A failed import is not remembered as imported: the sender's retry (signed anew) goes
        // through, while the byte-identical request stays a replay.
        let io = FakeIo::new(vec![fail(70402), OK]);
        let state = IsolateState::default();
        assert_eq!(
            deliver_as("msg_x", DOC, &e, &state, &io, EdgeLocation::default()).status,
            422
        );
        assert_eq!(
            deliver_as("msg_x", DOC, &e, &state, &io, EdgeLocation::default()).status,
            401
        );
        io.now.set(io.now.get() + 1_000);
        let retry = deliver_as("msg_x", DOC, &e, &state, &io, EdgeLocation::default());
        assert_eq!(
            (retry.status, json(&retry)["status"].as_str()),
            (200, Some("imported"))
        );
    }

    #[test]
    fn userid_endpoint_needs_the_admin_token() {
        let io = FakeIo::new(vec![]);
        let state = IsolateState::default();
        let call = |auth: &str, query: &str, e: &Env| {
            let h: Vec<(&str, &str)> = vec![("authorization", auth)];
            let req = Request {
                method: "GET",
                path: "/userid",
                query,
                headers: h.as_slice(),
                body: Some(b""),
                location: EdgeLocation::default().into(),
            };
            // A fresh isolate per environment: settings are read once per isolate.
            let state = if e.0.iter().any(|(k, _)| *k == "TIM_ADMIN_TOKEN") {
                &state
            } else {
                &*Box::leak(Box::default())
            };
            block_on(handle(&req, e, state, &io))
        };
        let e = env(&[("TIM_ADMIN_TOKEN", "tok"), ("CLERK_USERID_PREFIX", "ck_")]);
        let ok = call(
            "Bearer tok",
            "provider=supabase&id=ff7fc9ae-3b1b-4642-9241-64adb9848a03",
            &e,
        );
        assert_eq!(ok.status, 200, "{}", ok.body);
        assert_eq!(json(&ok)["user_id"], "ff7fc9ae3b1b4642924164adb9848a03");
        assert_eq!(json(&ok)["mode"], "compact");
        let pre = call(
            "Bearer tok",
            "provider=clerk&id=user_29w83sxmDNGwOuEthce5gg56FcC",
            &e,
        );
        assert_eq!(json(&pre)["user_id"], "ck_29w83sxmDNGwOuEthce5gg56FcC");
        let enc = call(
            "Bearer tok",
            "provider=auth0&id=google-oauth2%7C103547991597142817347",
            &e,
        );
        assert_eq!(json(&enc)["user_id"], "h7c1cdf721e2c5509e6dc26516af0bd2");
        assert_eq!(call("Bearer nope", "provider=clerk&id=x", &e).status, 401);
        assert_eq!(call("", "provider=clerk&id=x", &e).status, 401);
        assert_eq!(call("Bearer tok", "provider=github&id=x", &e).status, 400);
        assert_eq!(call("Bearer tok", "provider=clerk", &e).status, 400);
        assert_eq!(
            call("Bearer tok", "provider=clerk&id=x", &env(&[])).status,
            404,
            "disabled without a token"
        );
    }

    #[test]
    fn urls_split_into_path_and_query() {
        assert_eq!(
            path_and_query("https://w.dev/webhooks/clerk"),
            ("/webhooks/clerk", "")
        );
        assert_eq!(
            path_and_query("http://127.0.0.1:8787/userid?provider=a&id=b#x"),
            ("/userid", "provider=a&id=b")
        );
        assert_eq!(path_and_query("https://w.dev"), ("/", ""));
        assert_eq!(path_and_query("https://w.dev?x=1"), ("/", ""));
        assert_eq!(path_and_query("garbage"), ("/", ""));
    }

    #[test]
    fn settings_are_read_once_per_isolate() {
        struct Counting(Env, Cell<u32>);
        impl Settings for Counting {
            fn get(&self, name: &str) -> Option<String> {
                self.1.set(self.1.get() + 1);
                self.0.get(name)
            }
        }
        let io = FakeIo::new(vec![OK, OK]);
        let state = IsolateState::default();
        let s = Counting(env(&[]), Cell::new(0));
        deliver(DOC, &s.0, &state, &io, EdgeLocation::default());
        let req = get_req("/health", EdgeLocation::default());
        block_on(handle(&req, &s, &state, &io));
        let first = s.1.get();
        assert!(first > 0);
        block_on(handle(&req, &s, &state, &io));
        assert_eq!(
            s.1.get(),
            first,
            "second request read no setting from the runtime"
        );
    }

    #[test]
    fn unconfigured_and_unknown_providers() {
        let io = FakeIo::new(vec![]);
        let h: &[(&str, &str)] = &[];
        let req = |path| Request {
            method: "POST",
            path,
            query: "",
            headers: h,
            body: Some(b"{}"),
            location: EdgeLocation::default().into(),
        };
        let r = block_on(handle(
            &req("/webhooks/okta"),
            &env(&[]),
            &IsolateState::default(),
            &io,
        ));
        assert_eq!(r.status, 404);
        assert!(r.body.contains("OKTA_WEBHOOK_SECRET"));
        let r = block_on(handle(
            &req("/webhooks/github"),
            &env(&[]),
            &IsolateState::default(),
            &io,
        ));
        assert_eq!(
            (r.status, json(&r)["error"].as_str()),
            (404, Some("not_found"))
        );
    }

    #[test]
    fn missing_config_names_the_variable() {
        let io = FakeIo::new(vec![OK]);
        let r = deliver(
            DOC,
            &env(&[("TIM_SECRET_KEY", "")]),
            &IsolateState::default(),
            &io,
            EdgeLocation::default(),
        );
        assert_eq!(r.status, 500);
        assert!(r.body.contains("TIM_SECRET_KEY"));
        let r = deliver(
            DOC,
            &env(&[("CLERK_WEBHOOK_SECRET", "")]),
            &IsolateState::default(),
            &io,
            EdgeLocation::default(),
        );
        assert_eq!(
            (r.status, json(&r)["error"].as_str()),
            (404, Some("provider_not_configured"))
        );
        assert!(r.body.contains("CLERK_WEBHOOK_SECRET"));
        assert!(io.calls.borrow().is_empty());
    }

    #[test]
    fn bad_signatures_never_reach_upstream() {
        let io = FakeIo::new(vec![OK]);
        let state = IsolateState::default();
        let headers: &[(&str, &str)] = &[
            ("svix-id", "msg_1"),
            ("svix-timestamp", "1700000000"),
            ("svix-signature", "v1,AAAA"),
        ];
        let req = Request {
            method: "POST",
            path: "/webhooks/clerk",
            query: "",
            headers,
            body: Some(DOC.as_bytes()),
            location: EdgeLocation::default().into(),
        };
        let r = block_on(handle(&req, &env(&[]), &state, &io));
        assert_eq!(
            (r.status, json(&r)["error"].as_str()),
            (401, Some("invalid_signature"))
        );
        assert!(io.calls.borrow().is_empty());
    }

    #[test]
    fn routing_and_limits() {
        let io = FakeIo::new(vec![]);
        let state = IsolateState::default();
        let h: &[(&str, &str)] = &[];
        let mk = |method, path, body| Request {
            query: "",
            method,
            path,
            headers: h,
            body,
            location: EdgeLocation::default().into(),
        };
        assert_eq!(
            block_on(handle(
                &mk("GET", "/nope", Some(b"")),
                &env(&[]),
                &state,
                &io
            ))
            .status,
            404
        );
        let r = block_on(handle(
            &mk("GET", "/webhooks/clerk", Some(b"")),
            &env(&[]),
            &state,
            &io,
        ));
        assert_eq!(r.status, 405);
        assert!(r.headers.contains(&("Allow", "POST".into())));
        assert_eq!(
            block_on(handle(
                &mk("POST", "/webhooks/clerk", None),
                &env(&[]),
                &state,
                &io
            ))
            .status,
            413
        );
    }

    #[test]
    fn non_signup_events_are_ignored() {
        let io = FakeIo::new(vec![]);
        let r = deliver(
            r#"{"type":"user.updated","data":{"id":"u"}}"#,
            &env(&[]),
            &IsolateState::default(),
            &io,
            EdgeLocation::default(),
        );
        assert_eq!(
            (r.status, json(&r)["status"].as_str()),
            (200, Some("ignored"))
        );
        assert!(io.calls.borrow().is_empty());
    }

    #[test]
    fn auto_region_searches_remembers_and_hints() {
        let berlin = EdgeLocation {
            latitude: Some(52.5),
            longitude: Some(13.4),
            ..Default::default()
        };
        let io = FakeIo::new(vec![
            fail(70020),
            Err(TransportError::Network("dns".into())),
            OK,
            OK,
        ]);
        let state = IsolateState::default();
        let e = env(&[("TIM_BASE_URL", "")]);
        let r = deliver(DOC, &e, &state, &io, berlin.clone());
        assert_eq!(r.status, 200, "{}", r.body);
        let hosts: Vec<String> = io
            .calls
            .borrow()
            .iter()
            .map(|(u, _, _)| u.split('/').nth(2).unwrap().to_owned())
            .collect();
        assert_eq!(hosts[0], "adminapiger.im.qcloud.com");
        assert!(hosts[1].ends_with(".im.qcloud.com") && hosts[2].ends_with(".my-imcloud.com"));
        let remembered = state.remembered.get().unwrap().1;
        assert!(io
            .logs
            .borrow()
            .iter()
            .any(|l| l.contains(&format!("TIM_REGION={}", remembered.name()))));
        // The next request starts at the remembered data centre.
        deliver(DOC, &e, &state, &io, berlin.clone());
        assert_eq!(
            io.calls.borrow()[3].0.split('/').nth(2).unwrap(),
            remembered.primary_domain()
        );
        // /health reports the remembered region.
        let req = get_req("/health", berlin);
        let health = json(&block_on(handle(&req, &e, &state, &io)));
        assert_eq!(health["region"], remembered.name());
        assert_eq!(health["ready"], true);
    }

    #[test]
    fn health_reports_readiness_without_values() {
        let io = FakeIo::new(vec![]);
        let h: &[(&str, &str)] = &[];
        let loc = EdgeLocation {
            country: Some("JP".into()),
            ..Default::default()
        };
        let req = Request {
            method: "GET",
            path: "/health",
            query: "",
            headers: h,
            body: Some(b""),
            location: loc.into(),
        };
        let e = env(&[("TIM_SECRET_KEY", ""), ("TIM_BASE_URL", "")]);
        let r = block_on(handle(&req, &e, &IsolateState::default(), &io));
        assert_eq!(r.status, 503);
        let v = json(&r);
        assert_eq!(v["config"]["TIM_SECRET_KEY"], false);
        assert_eq!(v["config"]["TIM_SDKAPPID"], true);
        assert_eq!(v["region"], "tokyo");
        assert_eq!(v["origin"], "https://adminapijpn.im.qcloud.com");
        assert!(!r.body.contains(SECRET) && !r.body.contains("1400000000"));
    }
}
