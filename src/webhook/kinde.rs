//! Kinde: the body is an RS256 JWT checked against the domain's JWKS (§6.4).
//!
//! NOT YET IMPLEMENTED: placeholder so the provider table compiles; `config` reports "not configured".

use super::{Delivery, Get, HeaderMap, KeyIo, Received, WebhookError};
use crate::config::ConfigError;

/// Setting that switches this provider on.
pub const DOMAIN: &str = "KINDE_DOMAIN";

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
