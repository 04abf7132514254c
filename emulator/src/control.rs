//! The emulator's own `/_emulator/*` API: what tests and developers inspect and steer.
//!
//! It has no authentication because the emulator only ever listens on a developer's machine or
//! in a test run, and it never returns a UserSig.

use crate::api::Api;
use crate::faults::FaultConfig;
use crate::login::login;
use crate::reply::{Reply, JSON};
use crate::state::{Account, CallRecord, State, REIMPORT_BLOCK_MS};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::VecDeque;

/// Answers a control request, or 404.
pub(crate) fn handle(
    state: &mut State,
    method: &str,
    path: &str,
    query: &str,
    body: &[u8],
    now_ms: u64,
) -> Reply {
    match (method, path) {
        ("GET", "/_emulator/health") => Reply::json(
            200,
            &serde_json::json!({ "ok": true, "sdkappid": state.config().sdkappid }),
        ),
        ("GET", "/_emulator/accounts") => accounts(state),
        ("GET", "/_emulator/calls") => calls(state),
        ("GET", "/_emulator/stats") => stats(state),
        ("GET", "/_emulator/kicks") => kicks(state),
        ("GET", "/_emulator/deleted") => deleted(state),
        ("GET" | "POST", "/_emulator/login") => login(state, query, now_ms),
        ("GET", "/_emulator/faults") => Reply::json(200, &state.faults().view()),
        ("POST", "/_emulator/faults") => set_faults(state, body),
        ("POST", "/_emulator/reset") => {
            state.reset();
            Reply::json(200, &serde_json::json!({ "ok": true }))
        }
        ("GET", "/_emulator/jwks") => jwks(state),
        _ => Reply::error(404, "not found"),
    }
}

fn accounts(state: &State) -> Reply {
    #[derive(Serialize)]
    struct View<'a> {
        accounts: &'a [Account],
    }
    Reply::json(
        200,
        &View {
            accounts: state.accounts(),
        },
    )
}

fn calls(state: &State) -> Reply {
    // `total` keeps counting after the log starts dropping its oldest entries.
    #[derive(Serialize)]
    struct View<'a> {
        total: u64,
        calls: &'a VecDeque<CallRecord>,
    }
    Reply::json(
        200,
        &View {
            total: state.total_calls(),
            calls: state.calls(),
        },
    )
}

/// `{"calls":{api:n},"breaches":{api:n}}` for every implemented API, zeros included.
fn stats(state: &State) -> Reply {
    let per_api = |count: fn(&State, Api) -> u64| -> Map<String, Value> {
        Api::ALL
            .into_iter()
            .map(|api| (api.name().to_owned(), Value::from(count(state, api))))
            .collect()
    };
    Reply::json(
        200,
        &json!({
            "calls": per_api(|st, api| st.counts(api).calls),
            "breaches": per_api(|st, api| st.counts(api).breaches),
        }),
    )
}

/// `{"kicks":[{"UserID","kicked_at","kicks"}]}`, sorted by UserID.
fn kicks(state: &State) -> Reply {
    let kicks: Vec<Value> = state
        .kicks()
        .iter()
        .map(|(id, k)| json!({"UserID": id, "kicked_at": k.kicked_at, "kicks": k.kicks}))
        .collect();
    Reply::json(200, &json!({ "kicks": kicks }))
}

/// `{"deleted":[{"UserID","deleted_at","blocked_until"}]}`, sorted by UserID; Unix seconds,
/// `blocked_until` null without `--reimport-block`.
fn deleted(state: &State) -> Reply {
    let block = state.config().reimport_block;
    let deleted: Vec<Value> = state
        .deleted()
        .iter()
        .map(|(id, &ms)| {
            let until = block.then(|| ms.saturating_add(REIMPORT_BLOCK_MS) / 1000);
            json!({"UserID": id, "deleted_at": ms / 1000, "blocked_until": until})
        })
        .collect();
    Reply::json(200, &json!({ "deleted": deleted }))
}

fn set_faults(state: &mut State, body: &[u8]) -> Reply {
    match FaultConfig::from_json(body) {
        Ok(cfg) => {
            state.set_faults(cfg);
            Reply::json(200, &state.faults().view())
        }
        Err(e) => Reply::error(400, &e),
    }
}

/// The `--jwks` document verbatim, so the local Worker can fetch signing keys for providers
/// whose deliveries are signed JWTs; 404 without the flag, like an unknown path.
fn jwks(state: &State) -> Reply {
    match &state.config().jwks {
        Some(doc) => Reply {
            status: 200,
            content_type: JSON,
            body: doc.as_bytes().to_vec(),
            delay_ms: 0,
        },
        None => Reply::error(404, "not found: start tim-emulator with --jwks PATH"),
    }
}

#[cfg(test)]
mod tests;
