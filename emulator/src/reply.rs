//! The transport-neutral answer [`crate::handle`] returns, so handlers are tested without sockets.

use serde::Serialize;

/// `Content-Type` of every JSON answer.
pub(crate) const JSON: &str = "application/json";
/// `Content-Type` of the 502 page, which comes from a proxy rather than from Tencent.
pub(crate) const HTML: &str = "text/html";
/// What a gateway in front of Tencent sends: HTML, which a client must not parse as Tencent JSON.
const BAD_GATEWAY_BODY: &[u8] = b"<html>502 Bad Gateway</html>";

/// What to send back: status, content type, body, and how long to wait before sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// `Content-Type` header value.
    pub content_type: &'static str,
    /// Response body.
    pub body: Vec<u8>,
    /// Latency to sleep before sending, outside any lock.
    pub delay_ms: u64,
}

impl Reply {
    /// A JSON answer; serialising our own types cannot fail, but `{}` beats a panic if it did.
    pub(crate) fn json<T: Serialize>(status: u16, value: &T) -> Self {
        Reply {
            status,
            content_type: JSON,
            body: serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec()),
            delay_ms: 0,
        }
    }

    /// A control-endpoint error: `{"error": message}`.
    pub(crate) fn error(status: u16, message: &str) -> Self {
        Reply::json(status, &serde_json::json!({ "error": message }))
    }

    /// The injected HTTP 502.
    pub(crate) fn bad_gateway(delay_ms: u64) -> Self {
        Reply {
            status: 502,
            content_type: HTML,
            body: BAD_GATEWAY_BODY.to_vec(),
            delay_ms,
        }
    }
}
