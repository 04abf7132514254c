//! Runs an [`Executor`] over the ports: waits, signs, POSTs and feeds answers back. The Worker's
//! fetch path and native tools use this same loop; only their [`Io`] differs.

use crate::config::TimConfig;
use crate::executor::{Executor, Next};
use crate::pacer::Pacer;
use crate::ports::{Io, TransportError};
use crate::tim::{self, Answer, Caller, Quota};
use crate::usersig::AdminSigCache;
use std::cell::RefCell;

/// Whether the last call reached a Tencent origin (for `/health`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    /// The origin called.
    pub origin: String,
    /// True when it answered over HTTP at all (even with an error code).
    pub reachable: bool,
    /// Unix milliseconds of the attempt.
    pub at_ms: u64,
}

/// What the loop needs besides the executor: the Tencent settings and the isolate's caches.
pub struct Tencent<'a> {
    /// Tencent settings.
    pub cfg: &'a TimConfig,
    /// The admin UserSig cache.
    pub sig: &'a RefCell<AdminSigCache>,
    /// Where the last call went and whether it got through.
    pub reach: &'a RefCell<Option<Reach>>,
    /// Spaces calls to Tencent's per-API rates: the queue consumer's single caller. Webhooks in
    /// direct mode do not wait on it (their senders' own pace and Tencent's 60007 retry cover them).
    pub pacer: Option<&'a RefCell<Pacer>>,
}

/// Carries out every call `exec` asks for until it is done.
pub async fn drive<I: Io>(exec: &mut Executor, t: &Tencent<'_>, io: &I) {
    let mut next = exec.start(io.now_ms());
    while let Next::Call(call) = next {
        if call.delay_ms > 0 {
            io.sleep(call.delay_ms).await;
        }
        if let Some(pacer) = t.pacer {
            let wait = pacer
                .borrow_mut()
                .reserve(Quota::of(call.path), io.now_ms());
            if wait > 0 {
                io.sleep(wait).await;
            }
        }
        let now_ms = io.now_ms();
        let origin = exec
            .endpoints()
            .get(call.endpoint)
            .map(|e| e.origin.clone())
            .unwrap_or_default();
        let url = {
            let mut sig = t.sig.borrow_mut();
            if call.fresh_sig {
                sig.invalidate();
            }
            let now_s = i64::try_from(now_ms / 1000).unwrap_or(i64::MAX);
            let c = t.cfg;
            let usersig = sig.get(c.sdkappid, &c.secret_key, &c.admin, c.usersig_ttl, now_s);
            let caller = Caller {
                sdkappid: c.sdkappid,
                admin: &c.admin,
                usersig,
            };
            tim::api_url(&origin, call.path, caller, io.random_u32())
        };
        let sent = io.post_json(&url, exec.body(), call.timeout_ms).await;
        let reply = match sent {
            Ok((status, bytes)) => tim::parse_reply(status, &bytes),
            Err(e) => Err(e).into(),
        };
        let who = exec.subject();
        match &reply.outcome {
            Ok(Answer::Ok) => {}
            Ok(Answer::Fail { code, info }) => {
                io.log(&format!("tim-onboard: {who}: Tencent error {code}: {info}"))
            }
            Err(e) => io.log(&format!(
                "tim-onboard: {who}: attempt at {origin} failed: {e}"
            )),
        }
        let reachable = !matches!(
            reply.outcome,
            Err(TransportError::Network(_) | TransportError::Timeout)
        );
        *t.reach.borrow_mut() = Some(Reach {
            origin,
            reachable,
            at_ms: now_ms,
        });
        next = exec.feed(&reply, io.now_ms(), io.random_u32());
    }
}
