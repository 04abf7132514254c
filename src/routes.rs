//! Routing: which handler answers a request, and the small handlers that are not the webhook
//! pipeline (`/health`, `/userid`, a provider's verification handshake). The one place errors
//! become responses.

use crate::admin;
use crate::config::{self, TimConfig};
use crate::error::AppError;
use crate::http::{query_param, Request, Response};
use crate::identity;
use crate::login;
use crate::pipeline::{self, Ctx};
use crate::ports::{apart, Io};
use crate::region::{Region, RegionSetting};
use crate::session;
use crate::settings::Settings;
use crate::state::IsolateState;
use crate::webhook::{self, Provider};

/// Handles one request.
pub async fn handle<I: Io>(
    req: &Request<'_>,
    settings: &dyn Settings,
    state: &IsolateState,
    io: &I,
) -> Response {
    let memo = state.settings(settings);
    let cx = Ctx {
        settings: &memo,
        state,
        io,
    };
    let started_ms = io.now_ms();
    if let Some(name) = req.path.strip_prefix("/login/") {
        return apart(login_route(name, req, &cx, started_ms)).await;
    }
    match route(req, &cx).await {
        Ok(r) => r,
        // One line per refused request, 4xx included, so `wrangler tail` says why.
        Err(e) => refused(req, &e, io, started_ms),
    }
}

/// `/login/<provider>`: CORS first (preflight, origin check), then the login; every answer to an
/// allowed origin carries its CORS headers so the page can read errors too.
async fn login_route<I: Io>(
    name: &str,
    req: &Request<'_>,
    cx: &Ctx<'_, I>,
    started_ms: u64,
) -> Response {
    let origin = req.headers.get("origin");
    let result = async {
        let allowed = session::allowed_origin(cx.settings, origin.as_deref())?;
        let spec =
            login::provider(name).ok_or_else(|| AppError::no_provider(name, login::NAMES))?;
        let response = match req.method {
            "OPTIONS" => Response {
                status: 204,
                body: String::new(),
                headers: Vec::new(),
            },
            "POST" => session::login(spec, req, cx).await?,
            _ => return Err(AppError::MethodNotAllowed("POST, OPTIONS")),
        };
        Ok((allowed, response))
    }
    .await;
    match result {
        Ok((allowed, mut r)) => {
            if let Some(o) = allowed {
                r.headers
                    .extend(session::cors_headers(&o, req.method == "OPTIONS"));
            }
            r
        }
        Err(e) => {
            let mut r = refused(req, &e, cx.io, started_ms);
            if let (Some(o), false) = (origin, matches!(e, AppError::OriginNotAllowed)) {
                if session::allowed_origin(cx.settings, Some(&o)).is_ok() {
                    r.headers.extend(session::cors_headers(&o, false));
                }
            }
            r
        }
    }
}

/// The answer to a refused request, and its log line.
// Two callers (every route and the login route): kept as one function.
#[inline(never)]
fn refused<I: Io>(req: &Request<'_>, e: &AppError, io: &I, started_ms: u64) -> Response {
    let provider = req
        .path
        .strip_prefix("/webhooks/")
        .or_else(|| req.path.strip_prefix("/login/"));
    io.log(
        &serde_json::json!({
            "tim": "refused",
            "method": req.method,
            "path": req.path,
            "provider": provider,
            "status": e.status(),
            "error": e.code(),
            "message": e.log_message(),
            "ms": io.now_ms().saturating_sub(started_ms),
        })
        .to_string(),
    );
    Response::from_error(e)
}

async fn route<I: Io>(req: &Request<'_>, cx: &Ctx<'_, I>) -> Result<Response, AppError> {
    match (req.path, req.method) {
        ("/health", "GET" | "HEAD") => health(req, cx),
        ("/health", _) => Err(AppError::MethodNotAllowed("GET")),
        ("/userid", "GET") => userid(req, cx.settings),
        ("/userid", _) => Err(AppError::MethodNotAllowed("GET")),
        (path, _) if path.starts_with(admin::PREFIX) => {
            require_admin(req, cx.settings)?;
            apart(admin::dead_letters(req, cx)).await
        }
        (path, method) => {
            let provider = path
                .strip_prefix("/webhooks/")
                .and_then(webhook::provider)
                .ok_or_else(|| {
                    let name = path.strip_prefix("/webhooks/").unwrap_or_default();
                    AppError::no_provider(name, webhook::NAMES)
                })?;
            match (method, provider.challenge) {
                ("POST", _) => pipeline::webhook(provider, req, cx).await,
                ("GET", Some(answer)) => challenge(provider, answer, req, cx),
                (_, Some(_)) => Err(AppError::MethodNotAllowed("GET, POST")),
                (_, None) => Err(AppError::MethodNotAllowed("POST")),
            }
        }
    }
}

/// Per-provider state for `/health`: "off" (not set up), "ready", or "invalid" (naming nothing secret).
fn provider_readiness<I: Io>(cx: &Ctx<'_, I>) -> Vec<(&'static str, &'static str)> {
    webhook::ALL
        .iter()
        .map(|p| {
            let rule = config::userid_rule(cx.settings, p.prefix, p.id_prefixes);
            let state = match (cx.state.provider(p, cx.settings), rule) {
                (Ok(None), _) => "off",
                (Ok(Some(_)), Ok(_)) => "ready",
                _ => "invalid",
            };
            (p.name, state)
        })
        .collect()
}

/// `GET /health`: readiness for anyone (a load balancer, an uptime check), as the status and
/// `{"ready"}`; the detail (which providers are on, the data centre, the last Tencent call) only
/// with `Authorization: Bearer <TIM_ADMIN_TOKEN>`, because it tells a stranger what to attack.
fn health<I: Io>(req: &Request<'_>, cx: &Ctx<'_, I>) -> Result<Response, AppError> {
    let get = cx.settings;
    let items = config::readiness(get);
    let providers = provider_readiness(cx);
    let ready = items.iter().all(|(_, ok)| *ok)
        && providers.iter().any(|(_, s)| *s == "ready")
        && providers.iter().all(|(_, s)| *s != "invalid");
    let status = if ready { 200 } else { 503 };
    let has_token = get.get(config::TIM_ADMIN_TOKEN).is_some();
    // A presented token must be right (a wrong one is the operator's mistake, worth a 401);
    // without one, or with no admin token configured, only readiness is shown.
    if !has_token || req.headers.get("authorization").is_none() {
        let detail = if has_token {
            "send Authorization: Bearer <TIM_ADMIN_TOKEN> for the detail"
        } else {
            "set TIM_ADMIN_TOKEN and send it as a bearer token for the detail"
        };
        return Ok(Response::json(
            status,
            serde_json::json!({ "ready": ready, "detail": detail }),
        ));
    }
    require_admin(req, get)?;
    let config: serde_json::Map<String, serde_json::Value> = items
        .into_iter()
        .map(|(k, ok)| (k.to_owned(), ok.into()))
        .collect();
    let providers: serde_json::Map<String, serde_json::Value> = providers
        .into_iter()
        .map(|(k, s)| (k.to_owned(), s.into()))
        .collect();
    // Region and domain need only the region settings, so show them even when secrets are missing.
    let setting = config::region(get).unwrap_or(RegionSetting::Auto);
    let cfg = TimConfig {
        sdkappid: config::sdkappid(get).unwrap_or(0),
        admin: String::new(),
        region: setting,
        base_url: config::base_url(get).ok().flatten(),
        usersig_ttl: 0,
        secret_key: String::new(),
    };
    let first = pipeline::endpoints_for(&cfg, &req.location, cx.state)
        .into_iter()
        .next();
    let mode = match setting {
        RegionSetting::Auto => "auto",
        RegionSetting::Fixed(_) => "fixed",
    };
    let lifecycle: serde_json::Map<String, serde_json::Value> = webhook::ALL
        .iter()
        .map(|p| {
            let l = p.lifecycle;
            let events =
                serde_json::json!({ "signup": l.created, "update": l.updated, "delete": l.deleted });
            (p.name.to_owned(), events)
        })
        .collect();
    let upstream = cx.state.reach.borrow().as_ref().map(
        |r| serde_json::json!({ "origin": r.origin, "reachable": r.reachable, "at_ms": r.at_ms }),
    );
    Ok(Response::json(
        status,
        serde_json::json!({
            "ready": ready,
            "config": config,
            "providers": providers,
            "region_mode": mode,
            "region": first.as_ref().and_then(|e| e.region).map(Region::name),
            "origin": first.map(|e| e.origin),
            "last_tencent_call": upstream,
            "lifecycle": lifecycle,
        }),
    ))
}

/// `GET /userid?provider=&id=`: the UserID the app's backend should expect (admin token required).
fn userid(req: &Request<'_>, settings: &dyn Settings) -> Result<Response, AppError> {
    require_admin(req, settings)?;
    let name = query_param(req.query, "provider")?
        .ok_or_else(|| AppError::BadRequest("provider is required".into()))?;
    let provider = webhook::provider(&name)
        .ok_or_else(|| AppError::BadRequest(format!("unknown provider {name}")))?;
    let id = query_param(req.query, "id")?
        .ok_or_else(|| AppError::BadRequest("id is required".into()))?;
    let rule = config::userid_rule(settings, provider.prefix, provider.id_prefixes)?;
    let mapped = identity::map_user_id(&id, &rule)?;
    Ok(Response::json(
        200,
        serde_json::json!({ "provider": provider.name, "id": id, "user_id": mapped.user_id, "mode": mapped.mode.name() }),
    ))
}

/// The operator endpoints exist only with `TIM_ADMIN_TOKEN` set, and need it as a bearer token.
fn require_admin(req: &Request<'_>, settings: &dyn Settings) -> Result<(), AppError> {
    let Some(token) = settings.get(config::TIM_ADMIN_TOKEN) else {
        return Err(AppError::NotFound);
    };
    let presented = req.headers.get("authorization").unwrap_or_default();
    let presented = presented.strip_prefix("Bearer ").unwrap_or("");
    if crate::crypto::ct_eq(presented.trim().as_bytes(), token.as_bytes()) {
        Ok(())
    } else {
        Err(AppError::Unauthorized)
    }
}

/// A provider's one-time GET verification handshake (Okta's challenge echo).
fn challenge<I: Io>(
    provider: Provider,
    answer: webhook::Challenge,
    req: &Request<'_>,
    cx: &Ctx<'_, I>,
) -> Result<Response, AppError> {
    if cx.state.provider(provider, cx.settings)?.is_none() {
        return Err(AppError::ProviderNotConfigured {
            provider: provider.name,
            var: provider.switch,
        });
    }
    Ok(Response {
        status: 200,
        body: answer(req.headers)?,
        headers: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::path_and_query;
    use crate::ports::TransportError;
    use crate::region::EdgeLocation;
    use crate::testing::*;
    use std::cell::Cell;

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
        let r = fresh(DOC, &env(&[]), &io);
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(io.calls.borrow().len(), 4);
    }

    #[test]
    fn persistent_trouble_is_503_with_retry_after() {
        let io = FakeIo::new(vec![fail(70500); 10]);
        let r = fresh(DOC, &env(&[]), &io);
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
        let r = fresh(DOC, &env(&[]), &io);
        assert_eq!(
            (r.status, json(&r)["error"].as_str()),
            (422, Some("tencent_rejected_account"))
        );
        let io = FakeIo::new(vec![fail(70398)]);
        let r = fresh(DOC, &env(&[]), &io);
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
        let r = fresh(&long_id, &env(&[]), &io);
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
        let r = fresh(&long, &env(&[]), &io);
        assert_eq!(r.status, 200, "{}", r.body);
        let sent: serde_json::Value = serde_json::from_str(&io.calls.borrow()[0].1).unwrap();
        assert_eq!(sent["Nick"].as_str().unwrap().len(), 500);
        assert!(sent.get("FaceUrl").is_none());
        let logs = io.logs.borrow();
        assert_eq!(
            logs.len(),
            3,
            "two adjustments and the delivery line: {logs:?}"
        );
        let line: serde_json::Value = serde_json::from_str(&logs[2]).unwrap();
        assert_eq!(line["tim"], "delivery");
        assert_eq!(line["provider"], "clerk");
        assert_eq!(line["results"][0]["status"], "imported");
        assert_eq!(
            line["results"][0]["user_id"],
            "user_29w83sxmDNGwOuEthce5gg56FcC"
        );
    }

    #[test]
    fn every_refusal_is_logged_with_its_reason_and_no_secret() {
        let io = FakeIo::new(vec![]);
        let state = IsolateState::default();
        let e = env(&[("OKTA_WEBHOOK_SECRET", "okta-s3cret"), ("TIM_SDKAPPID", "")]);
        let h: &[(&str, &str)] = &[("authorization", "wrong-value")];
        let req = Request {
            method: "POST",
            path: "/webhooks/okta",
            query: "",
            headers: &h,
            body: Some(b"{}"),
            location: EdgeLocation::default().into(),
        };
        let r = block_on(handle(&req, &e, &state, &io));
        assert_eq!(r.status, 401);
        assert_eq!(
            json(&r)["message"],
            "the authorization header does not match OKTA_WEBHOOK_SECRET"
        );
        let line: serde_json::Value = serde_json::from_str(&io.logs.borrow()[0]).unwrap();
        assert_eq!(
            (line["status"].as_u64(), line["error"].as_str()),
            (Some(401), Some("invalid_signature"))
        );
        assert_eq!(line["provider"], "okta");
        // A missing var says where vars go.
        let r = deliver(DOC, &e, &state, &io, EdgeLocation::default());
        assert_eq!(r.status, 500);
        assert!(json(&r)["message"].as_str().unwrap().contains("[vars]"));
        let logs = io.logs.borrow().join("\n");
        for secret in ["okta-s3cret", "wrong-value", SECRET, KEY] {
            assert!(!logs.contains(secret), "{secret} logged");
        }
    }

    #[test]
    fn health_names_invalid_providers_and_the_last_tencent_call() {
        let io = FakeIo::new(vec![Err(TransportError::Network("refused".into())), OK]);
        let state = IsolateState::default();
        let e = env(&[
            ("CLERK_USERID_PREFIX", "a prefix!"),
            ("TIM_ADMIN_TOKEN", ADMIN_TOKEN),
        ]);
        let health = json(&block_on(handle(
            &admin_get_req("/health", EdgeLocation::default()),
            &e,
            &state,
            &io,
        )));
        assert_eq!(health["providers"]["clerk"], "invalid");
        assert_eq!(health["providers"]["stytch"], "off");
        assert_eq!(health["lifecycle"]["clerk"]["delete"][0], "user.deleted");
        assert_eq!(
            health["lifecycle"]["firebase"]["update"],
            serde_json::json!([])
        );
        assert_eq!(health["ready"], false);
        assert!(health["last_tencent_call"].is_null());
        let e = env(&[("TIM_ADMIN_TOKEN", ADMIN_TOKEN)]);
        let state = IsolateState::default();
        deliver(DOC, &e, &state, &io, EdgeLocation::default());
        let health = json(&block_on(handle(
            &admin_get_req("/health", EdgeLocation::default()),
            &e,
            &state,
            &io,
        )));
        assert_eq!(
            health["last_tencent_call"]["origin"],
            "http://127.0.0.1:8790"
        );
        assert_eq!(health["last_tencent_call"]["reachable"], true);
        assert!(io
            .logs
            .borrow()
            .iter()
            .any(|l| l.contains("attempt at http://127.0.0.1:8790 failed")));
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
                headers: &h.as_slice(),
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
            fn raw(&self, name: &str) -> Option<String> {
                self.1.set(self.1.get() + 1);
                self.0.raw(name)
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
            headers: &h,
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
            headers: &headers,
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
            headers: &h,
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
        let req = admin_get_req("/health", berlin);
        let e = Env(e
            .0
            .into_iter()
            .chain([("TIM_ADMIN_TOKEN", ADMIN_TOKEN.into())])
            .collect());
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
        let at = |headers: &'static [(&'static str, &'static str)]| Request {
            method: "GET",
            path: "/health",
            query: "",
            headers: &*Box::leak(Box::new(headers)),
            body: Some(b""),
            location: loc.clone().into(),
        };
        let req = at(h);
        let e = env(&[
            ("TIM_SECRET_KEY", ""),
            ("TIM_BASE_URL", ""),
            ("TIM_ADMIN_TOKEN", ADMIN_TOKEN),
        ]);
        // Without the operator's token: readiness only, nothing about providers or region.
        let r = block_on(handle(&req, &e, &IsolateState::default(), &io));
        assert_eq!(r.status, 503);
        assert_eq!(json(&r)["ready"], false);
        assert!(
            !r.body.contains("clerk") && !r.body.contains("tokyo"),
            "{}",
            r.body
        );
        let wrong: &[(&str, &str)] = &[("authorization", "Bearer nope")];
        let r = block_on(handle(&at(wrong), &e, &IsolateState::default(), &io));
        assert_eq!(r.status, 401);
        let r = block_on(handle(
            &at(ADMIN_HEADERS),
            &e,
            &IsolateState::default(),
            &io,
        ));
        assert_eq!(r.status, 503);
        let v = json(&r);
        assert_eq!(v["config"]["TIM_SECRET_KEY"], false);
        assert_eq!(v["config"]["TIM_SDKAPPID"], true);
        assert_eq!(v["region"], "tokyo");
        assert_eq!(v["origin"], "https://adminapijpn.im.qcloud.com");
        assert!(!r.body.contains(SECRET) && !r.body.contains("1400000000"));
    }

    #[test]
    fn queue_mode_answers_queued_without_calling_tencent() {
        let io = FakeIo::new(vec![OK]);
        *io.queue.borrow_mut() = Some(Vec::new());
        let state = IsolateState::default();
        let r = deliver(DOC, &env(&[]), &state, &io, EdgeLocation::default());
        assert_eq!(
            json(&r),
            serde_json::json!({"status": "queued", "user_id": "user_29w83sxmDNGwOuEthce5gg56FcC"})
        );
        assert!(io.calls.borrow().is_empty());
        let queued = io.queue.borrow().clone().unwrap();
        let job = crate::job::Job::from_json(&queued[0]).unwrap();
        assert_eq!(job.user_id, "user_29w83sxmDNGwOuEthce5gg56FcC");
        assert_eq!(job.nick.as_deref(), Some("Example Example"));
        // The sender's retry of the same event is a duplicate, not a second job.
        io.now.set(io.now.get() + 1_000);
        let id = "msg_queued";
        deliver_as(id, DOC, &env(&[]), &state, &io, EdgeLocation::default());
        io.now.set(io.now.get() + 1_000);
        let again = deliver_as(id, DOC, &env(&[]), &state, &io, EdgeLocation::default());
        assert_eq!(json(&again)["status"], "duplicate");
        assert_eq!(io.queue.borrow().as_ref().unwrap().len(), 2);
    }

    #[test]
    fn a_refused_enqueue_falls_back_to_a_direct_import() {
        let io = FakeIo::new(vec![OK]);
        *io.queue.borrow_mut() = Some(Vec::new());
        io.queue_down.set(true);
        let r = fresh(DOC, &env(&[]), &io);
        assert_eq!(json(&r)["status"], "imported");
        assert_eq!(io.calls.borrow().len(), 1);
        assert!(io
            .logs
            .borrow()
            .iter()
            .any(|l| l.contains("enqueue_failed")));
        // Queue refused and Tencent down: only then a 503, so the sender keeps it.
        let io = FakeIo::new(vec![]);
        *io.queue.borrow_mut() = Some(Vec::new());
        io.queue_down.set(true);
        assert_eq!(fresh(DOC, &env(&[]), &io).status, 503);
    }

    fn okta(events: serde_json::Value, io: &FakeIo, state: &IsolateState) -> Response {
        okta_with(events, io, state, &[])
    }

    fn okta_with(
        events: serde_json::Value,
        io: &FakeIo,
        state: &IsolateState,
        extra: &[(&'static str, &str)],
    ) -> Response {
        let h: &[(&str, &str)] = &[("authorization", "okta-s3cret")];
        let body = serde_json::json!({ "data": { "events": events } }).to_string();
        let req = Request {
            method: "POST",
            path: "/webhooks/okta",
            query: "",
            headers: &h,
            body: Some(body.as_bytes()),
            location: EdgeLocation::default().into(),
        };
        let mut vars = vec![("OKTA_WEBHOOK_SECRET", "okta-s3cret")];
        vars.extend_from_slice(extra);
        block_on(handle(&req, &env(&vars), state, io))
    }

    fn created(id: &str) -> serde_json::Value {
        serde_json::json!({
            "uuid": format!("ev-{id}"), "eventType": "user.lifecycle.create",
            "target": [{ "type": "User", "id": id, "displayName": format!("User {id}") }],
        })
    }

    #[test]
    fn one_bad_event_does_not_cost_the_others_and_a_batch_is_one_call() {
        let io = FakeIo::new(vec![Ok((
            200,
            r#"{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","FailAccounts":[]}"#,
        ))]);
        let bad = serde_json::json!({ "uuid": "ev-x", "eventType": "user.lifecycle.create", "target": [] });
        let r = okta(
            serde_json::json!([created("00ua"), bad, created("00uc")]),
            &io,
            &IsolateState::default(),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let v = json(&r);
        let statuses: Vec<&str> = v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, ["imported", "rejected", "imported"]);
        assert_eq!(v["results"][1]["error"], "malformed_payload");
        let calls = io.calls.borrow();
        assert_eq!(
            calls.len(),
            1,
            "20 signups are one multiaccount_import, not 20 calls"
        );
        assert!(calls[0].0.contains("multiaccount_import"));
    }

    #[test]
    fn tim_log_deliveries_errors_keeps_only_the_lines_of_deliveries_with_an_error() {
        let delivery_lines = |io: &FakeIo| {
            io.logs
                .borrow()
                .iter()
                .filter(|l| l.contains(r#""tim":"delivery""#))
                .count()
        };
        // A clean import: its line by default and with `all`, none with `errors`.
        for (value, lines) in [(None, 1), (Some("all"), 1), (Some("errors"), 0)] {
            let io = FakeIo::new(vec![OK]);
            let vars: Vec<(&'static str, &str)> = value
                .map(|v| ("TIM_LOG_DELIVERIES", v))
                .into_iter()
                .collect();
            let r = fresh(DOC, &env(&vars), &io);
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(io.calls.borrow().len(), 1);
            assert_eq!(
                delivery_lines(&io),
                lines,
                "{value:?}: {:?}",
                io.logs.borrow()
            );
        }
        // A batch with an event refused for good keeps its line under `errors`.
        let io = FakeIo::new(vec![Ok((
            200,
            r#"{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","FailAccounts":[]}"#,
        ))]);
        let bad = serde_json::json!({ "uuid": "ev-x", "eventType": "user.lifecycle.create", "target": [] });
        let r = okta_with(
            serde_json::json!([created("00ua"), bad]),
            &io,
            &IsolateState::default(),
            &[("TIM_LOG_DELIVERIES", "errors")],
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(delivery_lines(&io), 1, "{:?}", io.logs.borrow());
        // Anything else is refused before Tencent is called, naming the setting.
        let io = FakeIo::new(vec![OK]);
        let r = fresh(DOC, &env(&[("TIM_LOG_DELIVERIES", "none")]), &io);
        assert_eq!(
            (r.status, json(&r)["error"].as_str()),
            (500, Some("config_invalid"))
        );
        assert!(json(&r)["message"]
            .as_str()
            .unwrap()
            .contains("TIM_LOG_DELIVERIES"));
        assert!(io.calls.borrow().is_empty());
    }

    #[test]
    fn a_permanently_refused_user_is_reported_and_the_rest_imported() {
        let io = FakeIo::new(vec![
            Ok((
                200,
                r#"{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","FailAccounts":["00ub"]}"#,
            )),
            fail(40601),
        ]);
        let r = okta(
            serde_json::json!([created("00ua"), created("00ub"), created("00uc")]),
            &io,
            &IsolateState::default(),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let v = json(&r);
        assert_eq!(v["results"][1]["status"], "rejected");
        assert_eq!(v["results"][1]["error"], "tencent_rejected_account");
        assert_eq!(
            (
                v["results"][0]["status"].as_str(),
                v["results"][2]["status"].as_str()
            ),
            (Some("imported"), Some("imported"))
        );
        // Something that may succeed later still fails the delivery, so the sender retries it;
        // what was imported meanwhile is then a duplicate.
        let io = FakeIo::new(vec![fail(70403)]);
        let state = IsolateState::default();
        let r = okta(
            serde_json::json!([created("00ua"), created("00ub")]),
            &io,
            &state,
        );
        assert_eq!(r.status, 502);
    }

    #[test]
    fn a_quick_retry_of_a_failed_attempt_is_not_a_replay_but_a_copy_of_a_success_is() {
        let mut script = vec![Err(TransportError::Status(502)); 6];
        script.push(OK);
        let io = FakeIo::new(script);
        let state = IsolateState::default();
        let e = env(&[("CLERK_USERID_PREFIX", "")]);
        // The first attempt exhausts its retries: 503.
        let start = io.now.get();
        let first = deliver_as("msg_retry", DOC, &e, &state, &io, EdgeLocation::default());
        assert_eq!(first.status, 503, "{}", first.body);
        // The same signed bytes again (signed in the same second): the sender's retry, accepted.
        io.now.set(start);
        let retry = deliver_as("msg_retry", DOC, &e, &state, &io, EdgeLocation::default());
        assert_eq!(json(&retry)["status"], "imported", "{}", retry.body);
        // A captured copy of that successful request stays refused.
        io.now.set(start);
        let copy = deliver_as("msg_retry", DOC, &e, &state, &io, EdgeLocation::default());
        assert_eq!(
            (copy.status, json(&copy)["error"].as_str()),
            (401, Some("replayed"))
        );
    }
}
