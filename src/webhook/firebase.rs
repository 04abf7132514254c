//! Firebase Auth / Identity Platform blocking `beforeCreate`: an RS256 JWT from Google (§5.1).
//!
//! NOT YET IMPLEMENTED: placeholder so the provider table compiles; `config` reports "not configured".

use super::{Delivery, Get, HeaderMap, KeyIo, Received, WebhookError};
use crate::config::ConfigError;

/// Setting that switches this provider on.
pub const PROJECT: &str = "FIREBASE_PROJECT_ID";

/// This provider's settings.
#[derive(Debug)]
pub struct Config;

/// Reads this provider's settings; `None` when it is not set up.
pub fn config(_get: Get<'_>) -> Result<Option<Config>, ConfigError> {
    Ok(None)
}

/// Verifies and reads a delivery.
pub async fn receive<H: HeaderMap + ?Sized, K: KeyIo>(
    _cfg: &Config,
    _d: &Delivery<'_, H>,
    _keys: &super::jwt::KeyCache,
    _io: &K,
) -> Result<Received, WebhookError> {
    Err(WebhookError::BadSignature)
}
