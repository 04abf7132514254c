//! The ports: everything the core needs from the outside world, as traits the shells implement
//! (the Worker with `fetch`, timers and WebCrypto; tests and native tools with fakes or sockets).
//! A leaf: it imports nothing from the crate.

/// Read access to request headers (case-insensitive names), so the core never sees `worker::Headers`.
pub trait HeaderMap {
    /// The value of header `name`, if present.
    fn get(&self, name: &str) -> Option<String>;
}

/// A reference reads through, so `&&[..]` and `&&dyn HeaderMap` work where `&dyn` is wanted.
impl<T: HeaderMap + ?Sized> HeaderMap for &T {
    fn get(&self, name: &str) -> Option<String> {
        (**self).get(name)
    }
}

/// Headers as a list of pairs (tests and native tools).
impl HeaderMap for [(&str, &str)] {
    fn get(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| (*v).to_owned())
    }
}

/// A call that produced no HTTP answer we can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// DNS, TCP, TLS or similar: nothing came back.
    #[error("network error: {0}")]
    Network(String),
    /// No answer within our client timeout.
    #[error("timed out")]
    Timeout,
    /// An HTTP status other than 200 (Tencent only does that for gateway errors such as 502).
    #[error("HTTP status {0}")]
    Status(u16),
    /// HTTP 200 whose body is not Tencent's JSON.
    #[error("response is not Tencent JSON")]
    NotJson,
}

/// The outside world a provider may need beyond the request: fetching keys and checking
/// signatures with the runtime's WebCrypto (keeps RSA and Ed25519 out of the wasm).
#[allow(async_fn_in_trait)] // Workers are single-threaded; no `Send` bound is wanted.
pub trait KeyIo {
    /// GETs a URL (a JWKS document); returns status and body.
    async fn get(&self, url: &str, timeout_ms: u64) -> Result<(u16, Vec<u8>), TransportError>;
    /// Verifies a JWS signature with WebCrypto: `alg` is RS256, ES256, ES384 or EdDSA, `key` a
    /// public JWK as JSON or `spki:<base64 DER>`.
    async fn verify_jwk(&self, alg: &str, key: &str, message: &[u8], signature: &[u8]) -> bool;
    /// Ed25519 over `message` with a raw 32-byte public key.
    async fn verify_ed25519(&self, public_key: &[u8], message: &[u8], signature: &[u8]) -> bool;
    /// Unix milliseconds now.
    fn now_ms(&self) -> u64;
    /// Waits `ms` milliseconds (a timer of this request's own: in Workers, a request that awaits
    /// only another request's work is cancelled as hung).
    async fn sleep(&self, ms: u64);
}

/// Everything the pipeline needs from the outside world (the key functions come from [`KeyIo`]).
#[allow(async_fn_in_trait)] // Workers are single-threaded; no `Send` bound is wanted.
pub trait Io: KeyIo {
    /// A fresh random u32 (Tencent's `random` parameter, backoff jitter).
    fn random_u32(&self) -> u32;
    /// POSTs a JSON body; returns HTTP status and body, or a transport error.
    async fn post_json(
        &self,
        url: &str,
        body: &str,
        timeout_ms: u64,
    ) -> Result<(u16, Vec<u8>), TransportError>;
    /// Writes one log line (never called with secrets).
    fn log(&self, line: &str);
    // A runtime without a queue or a database (the command-line tool, benchmarks) keeps the
    // defaults below.
    /// Whether a job queue (Queue producer binding) is bound.
    fn has_queue(&self) -> bool {
        false
    }
    /// Sends each body as one message to the job queue; `Err` says why nothing may have been queued.
    async fn enqueue(&self, _bodies: &[String]) -> Result<(), String> {
        Err("no job queue is bound".into())
    }
    /// Whether a database (D1 binding) is bound.
    fn has_db(&self) -> bool {
        false
    }
    /// Runs one SQL statement with positional parameters; returns the rows as JSON objects.
    async fn sql(
        &self,
        _query: &str,
        _params: &[serde_json::Value],
    ) -> Result<Vec<serde_json::Value>, String> {
        Err("no database is bound".into())
    }
}

/// Runs a future whose awaits all complete at once: the native tools' [`Io`] (blocking sockets,
/// no event loop), the test fakes and the fuzz harness never return `Pending` for real work.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// A future of a cold path (an admin page, a login, an async provider, a D1 call) behind a `dyn`
/// pointer. Neither LLVM nor wasm-opt can then inline it into the caller's state machine, so the
/// webhook's hot function stays small: V8 runs a wasm function in its baseline tier until it is hot, then
/// compiles all of it, cold arms included (bench/RESULTS.md, "Findings").
pub fn apart<'a, T>(
    f: impl std::future::Future<Output = T> + 'a,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = T> + 'a>> {
    Box::pin(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lookup_ignores_case() {
        let h: &[(&str, &str)] = &[("Svix-Id", "msg_1")];
        assert_eq!(HeaderMap::get(&h, "svix-id").as_deref(), Some("msg_1"));
        assert_eq!(HeaderMap::get(&h, "webhook-id"), None);
    }
}
