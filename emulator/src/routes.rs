//! Which handler answers a request: one of Tencent's APIs, an unknown Tencent API, or the
//! control API.

use crate::api::{self, Api};
use crate::control;
use crate::reply::Reply;
use crate::state::State;
use crate::tencent::{fail, tencent_reply};

/// Answers one HTTP request; `url` is `path?query` as received, `now_ms` Unix milliseconds.
pub fn handle(state: &mut State, method: &str, url: &str, body: &[u8], now_ms: u64) -> Reply {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    if let Some(api) = Api::from_path(path) {
        return api::serve(state, api, method, query, body, now_ms);
    }
    // Any other Tencent API gets Tencent's own answer, so a client calling the wrong API sees
    // what it would see in production rather than the emulator's 404.
    if path == "/v4" || path.starts_with("/v4/") {
        let f = fail(60009, "unknown API");
        return tencent_reply(f.code, &f.info);
    }
    control::handle(state, method, path, query, body, now_ms)
}

#[cfg(test)]
mod tests;
