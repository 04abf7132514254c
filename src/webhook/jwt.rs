//! RS256 JSON Web Tokens verified against a JWKS fetched from the issuer and cached per isolate.
//!
//! NOT YET IMPLEMENTED: placeholder for the key cache type.

/// JWKS documents fetched in this isolate, by URL.
#[derive(Debug, Default)]
pub struct KeyCache {}
