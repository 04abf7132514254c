//! Supabase Auth hooks `before-user-created` / `after-user-created` (Standard Webhooks, §3.1).
//!
//! NOT YET IMPLEMENTED: placeholder so the provider table compiles; `config` reports "not configured".

use super::{Delivery, Get, HeaderMap, Received, WebhookError};
use crate::config::ConfigError;

/// Setting that switches this provider on.
pub const SECRET: &str = "SUPABASE_HOOK_SECRET";

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
