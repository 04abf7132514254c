//! Okta Event Hooks: one-time verification challenge, then a shared `Authorization` secret (§6.5).
//!
//! NOT YET IMPLEMENTED: placeholder so the provider table compiles; `config` reports "not configured".

use super::{Delivery, Get, HeaderMap, Received, WebhookError};
use crate::config::ConfigError;

/// Setting that switches this provider on.
pub const SECRET: &str = "OKTA_WEBHOOK_SECRET";

/// This provider's settings.
#[derive(Debug)]
pub struct Config;

/// Reads this provider's settings; `None` when it is not set up.
pub fn config(_get: Get<'_>) -> Result<Option<Config>, ConfigError> {
    Ok(None)
}

/// Verifies and reads a delivery.
pub fn receive<H: HeaderMap + ?Sized>(_cfg: &Config, _d: &Delivery<'_, H>) -> Result<Received, WebhookError> {
    Err(WebhookError::BadSignature)
}

/// Answers Okta's one-time GET verification: `{"verification": <X-Okta-Verification-Challenge>}`.
pub fn challenge<H: HeaderMap + ?Sized>(headers: &H) -> Result<String, WebhookError> {
    let value = super::sig::required(headers, "x-okta-verification-challenge")?;
    Ok(serde_json::json!({ "verification": value }).to_string())
}
