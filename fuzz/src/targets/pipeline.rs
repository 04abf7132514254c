//! `pipeline`: the whole Worker core, `routes::handle`, with fuzzed method, path, query, headers
//! and body against a scripted Tencent (and a fake queue and D1).
//!
//! Input: `[flags][variant]`, then Tencent's answers one per line (`200 {"ActionStatus":...}`,
//! `T` timeout, `N` network error, `R [{...}]` rows the next SQL statement answers), an empty
//! line, the request line `METHOD /path?query`, `Name: value` header lines, an empty line and
//! the body.
//!
//! `flags`: bit 0 a job queue is bound, bit 1 it refuses messages, bit 2 a D1 database is bound,
//! bits 3-4 the region settings (emulator URL; `auto`; `singapore`; URL with `frankfurt`), bit 5
//! sign the request (a webhook as its provider would, [`sign::webhook`]; a login with a session
//! token made of the body's claims, [`sign::login_token`]), bit 6 send the request twice to the
//! same isolate (replays, duplicates, caches), bit 7 the body exceeded 256 KiB.
//! `variant`: bits 0-4 the signing [`Variant`], bits 5-6 the edge location, bit 7
//! `TIM_ON_DELETE=delete`.
//!
//! Checks: no panic; every answer has a status in 100..=599 and a JSON body (or none).

use crate::input::{answer, header_refs, text, Input};
use crate::sign::{self, Variant};
use crate::{block_on, demo_env, Env, FuzzIo, NOW_S};
use std::collections::VecDeque;
use std::sync::OnceLock;
use tim_onboard::http::{Location, Request, Response};
use tim_onboard::region::EdgeLocation;
use tim_onboard::routes;
use tim_onboard::state::IsolateState;
use tim_onboard::webhook;

/// The 8 settings variants: region settings (4) times `TIM_ON_DELETE` (2).
fn env(region: u8, delete: bool) -> &'static Env {
    static ENVS: OnceLock<Vec<Env>> = OnceLock::new();
    let envs = ENVS.get_or_init(|| {
        let mut v = Vec::new();
        for delete in [false, true] {
            for region in 0..4 {
                let e = demo_env().with("TIM_ON_DELETE", if delete { "delete" } else { "" });
                v.push(match region {
                    0 => e,
                    1 => e.with("TIM_BASE_URL", "").with("TIM_REGION", "auto"),
                    2 => e.with("TIM_BASE_URL", "").with("TIM_REGION", "singapore"),
                    _ => e.with("TIM_REGION", "frankfurt"),
                });
            }
        }
        v
    });
    &envs[usize::from(delete) * 4 + usize::from(region & 3)]
}

fn location(which: u8) -> EdgeLocation {
    match which & 3 {
        0 => EdgeLocation::default(),
        1 => EdgeLocation {
            latitude: Some(35.68),
            longitude: Some(139.69),
            ..EdgeLocation::default()
        },
        2 => EdgeLocation {
            country: Some("DE".into()),
            ..EdgeLocation::default()
        },
        _ => EdgeLocation {
            latitude: Some(f64::NAN),
            longitude: Some(400.0),
            continent: Some("NA".into()),
            ..EdgeLocation::default()
        },
    }
}

/// The target.
pub fn run(data: &[u8]) {
    let _ = responses(data);
}

/// The answers to the request `data` describes (one, or two when it is sent twice).
pub fn responses(data: &[u8]) -> Vec<Response> {
    let mut input = Input::new(data);
    let flags = input.byte();
    let variant = input.byte();
    let mut script = VecDeque::new();
    let mut rows = VecDeque::new();
    for line in input.block() {
        match line.strip_prefix(b"R ") {
            Some(json) => rows.push_back(match serde_json::from_slice(json) {
                Ok(serde_json::Value::Array(a)) => a,
                Ok(other) => vec![other],
                Err(_) => Vec::new(),
            }),
            None => script.push_back(answer(line)),
        }
    }
    let request_line = text(input.line().unwrap_or_default());
    let (method, target) = request_line
        .split_once(' ')
        .unwrap_or((request_line.as_str(), "/"));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers = input.headers();
    let body = input.rest();

    let env = env(flags >> 3, variant & 0x80 != 0);
    let (headers, body) = if flags & 0x20 == 0 {
        (headers, body.to_vec())
    } else if let Some(name) = path.strip_prefix("/webhooks/") {
        match webhook::provider(name) {
            Some(p) => sign::webhook(p.name, Variant(variant), headers, body, NOW_S),
            None => (headers, body.to_vec()),
        }
    } else if let Some(name) = path.strip_prefix("/login/") {
        let mut headers = headers;
        if let Some(token) = sign::login_token(name, Variant(variant), body, env, NOW_S) {
            headers.retain(|(k, _)| k != "authorization");
            headers.insert(0, ("authorization".into(), format!("Bearer {token}")));
        }
        (headers, body.to_vec())
    } else {
        (headers, body.to_vec())
    };

    let io = FuzzIo {
        script: script.into(),
        rows: rows.into(),
        queue: (flags & 1 == 1).then(Vec::new).into(),
        queue_down: flags & 2 == 2,
        db: flags & 4 == 4,
        ..FuzzIo::default()
    };
    let refs = header_refs(&headers);
    let hs: &[(&str, &str)] = &refs;
    let loc = location(variant >> 5);
    let request = Request {
        method: method.trim(),
        path,
        query,
        headers: &hs,
        body: (flags & 0x80 == 0).then_some(body.as_slice()),
        location: Location::Known(loc),
    };
    let state = IsolateState::default();
    let times = if flags & 0x40 == 0 { 1 } else { 2 };
    (0..times)
        .map(|_| {
            let r = block_on(routes::handle(&request, env, &state, &io));
            check(&r);
            r
        })
        .collect()
}

/// Every answer keeps the status contract: a real status and a JSON body (or none).
fn check(r: &Response) {
    assert!((100..=599).contains(&r.status), "status {}", r.status);
    assert!(
        r.body.is_empty() || serde_json::from_str::<serde_json::Value>(&r.body).is_ok(),
        "status {} with a body that is not JSON: {:?}",
        r.status,
        r.body
    );
}
