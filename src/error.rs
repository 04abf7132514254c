//! Every way a request can fail, and the one place that turns each into an HTTP status.
//!
//! The status is a retry signal to the webhook sender: 4xx says "this delivery can never
//! succeed", 5xx says "keep it and try again" (bad config, Tencent trouble, wrong region).
//! Bodies are `{"error": <stable code>, "message": <text>}` and never carry a secret.

use crate::config::ConfigError;
use crate::identity::UserIdError;
use crate::tim::ImportError;
use crate::webhook::WebhookError;

/// A failed request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    /// No such route.
    #[error("no route for this path")]
    NotFound,
    /// Route exists, method does not.
    #[error("method not allowed; use {0}")]
    MethodNotAllowed(&'static str),
    /// The provider exists but is not set up on this deployment.
    #[error("the {provider} webhook is not configured on this deployment: set {var}")]
    ProviderNotConfigured {
        /// Route name of the provider.
        provider: &'static str,
        /// The setting that switches it on.
        var: &'static str,
    },
    /// A provider tim-onboard knows, left out of this build (Cargo features, `PROVIDERS=`).
    #[error("the {0} provider is not built into this Worker: rebuild with it in PROVIDERS (docs/development.md)")]
    ProviderNotBuiltIn(&'static str),
    /// Missing or wrong admin token (`GET /userid`).
    #[error("missing or wrong bearer token")]
    Unauthorized,
    /// A query parameter is missing or invalid.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Body over the limit.
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// No usable bearer token (login); the reason is logged, never sent.
    #[error("the login needs Authorization: Bearer <session token>")]
    TokenMissing(&'static str),
    /// The session token was refused (login); the reason is logged, never sent.
    #[error("the session token was not accepted")]
    Token(&'static str),
    /// The user's deletion was applied: no UserSig, no re-created account.
    #[error("this user was deleted")]
    UserDeleted,
    /// A browser request from an origin not in `TIM_ALLOWED_ORIGINS`.
    #[error("this origin may not call the login endpoint (TIM_ALLOWED_ORIGINS)")]
    OriginNotAllowed,
    /// The queue or the database this request needs is not bound or failed.
    #[error("{0}")]
    Storage(String),
    /// A setting is missing or invalid.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// The delivery failed verification or parsing.
    #[error("{0}")]
    Webhook(#[from] WebhookError),
    /// The provider's user ID cannot be a Tencent UserID.
    #[error("{0}")]
    UserId(#[from] UserIdError),
    /// The import failed.
    #[error("{0}")]
    Import(#[from] ImportError),
}

impl AppError {
    /// The 404 for a provider route `name` that found nothing: [`AppError::ProviderNotBuiltIn`]
    /// when `known` (every provider of that kind, built in or not) lists it, else `NotFound`.
    pub fn no_provider(name: &str, known: &'static [&'static str]) -> AppError {
        match known.iter().find(|k| **k == name) {
            Some(k) => AppError::ProviderNotBuiltIn(k),
            None => AppError::NotFound,
        }
    }

    /// The HTTP status for this error.
    pub fn status(&self) -> u16 {
        match self {
            AppError::NotFound
            | AppError::ProviderNotConfigured { .. }
            | AppError::ProviderNotBuiltIn(_) => 404,
            AppError::Unauthorized => 401,
            AppError::BadRequest(_) => 400,
            AppError::Webhook(WebhookError::KeysUnavailable(_)) => 503,
            AppError::MethodNotAllowed(_) => 405,
            AppError::PayloadTooLarge(_) => 413,
            AppError::Storage(_) => 503,
            AppError::TokenMissing(_) | AppError::Token(_) => 401,
            AppError::UserDeleted | AppError::OriginNotAllowed => 403,
            AppError::Config(_) => 500,
            AppError::Webhook(e) if e.is_auth() => 401,
            AppError::Webhook(_) | AppError::UserId(_) => 400,
            AppError::Import(ImportError::Rejected { .. }) => 422,
            AppError::Import(ImportError::Operator { .. } | ImportError::WrongRegion { .. }) => 502,
            AppError::Import(ImportError::Unavailable { .. }) => 503,
        }
    }

    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::NotFound => "not_found",
            AppError::ProviderNotConfigured { .. } => "provider_not_configured",
            AppError::ProviderNotBuiltIn(_) => "provider_not_built_in",
            AppError::Unauthorized => "unauthorized",
            AppError::BadRequest(_) => "bad_request",
            AppError::Webhook(WebhookError::KeysUnavailable(_)) => "signing_keys_unavailable",
            AppError::MethodNotAllowed(_) => "method_not_allowed",
            AppError::PayloadTooLarge(_) => "payload_too_large",
            AppError::Storage(_) => "storage_unavailable",
            AppError::TokenMissing(_) => "token_missing",
            AppError::Token(_) => "invalid_token",
            AppError::UserDeleted => "user_deleted",
            AppError::OriginNotAllowed => "origin_not_allowed",
            AppError::Config(ConfigError::Missing(_)) => "config_missing",
            AppError::Config(ConfigError::Invalid { .. }) => "config_invalid",
            AppError::Webhook(WebhookError::MissingHeader(_)) => "signature_missing",
            AppError::Webhook(WebhookError::BadTimestamp | WebhookError::StaleTimestamp(_)) => {
                "timestamp_out_of_tolerance"
            }
            AppError::Webhook(WebhookError::BadSignature | WebhookError::WrongSecret { .. }) => {
                "invalid_signature"
            }
            AppError::Webhook(WebhookError::Replayed) => "replayed",
            AppError::Webhook(WebhookError::Malformed(_)) => "malformed_payload",
            AppError::UserId(UserIdError::TooLong { .. }) => "user_id_too_long",
            AppError::UserId(UserIdError::NotCompactable) => "user_id_not_compactable",
            AppError::UserId(_) => "user_id_invalid",
            AppError::Import(ImportError::Rejected { .. }) => "tencent_rejected_account",
            AppError::Import(ImportError::Operator { .. }) => "tencent_refused",
            AppError::Import(ImportError::WrongRegion { .. }) => "tencent_wrong_region",
            AppError::Import(ImportError::Unavailable { .. }) => "tencent_unavailable",
        }
    }

    /// Seconds for a `Retry-After` header, where waiting is the cure.
    pub fn retry_after(&self) -> Option<u32> {
        match self {
            AppError::Import(ImportError::Unavailable { retry_after_s, .. }) => {
                Some(*retry_after_s)
            }
            AppError::Import(ImportError::Operator { .. } | ImportError::WrongRegion { .. }) => {
                Some(300)
            }
            AppError::Webhook(WebhookError::KeysUnavailable(_)) => Some(30),
            AppError::Storage(_) => Some(30),
            _ => None,
        }
    }

    /// The human message, with a hint where the operator has something to do.
    pub fn message(&self) -> String {
        match self {
            AppError::Import(ImportError::WrongRegion { tried, .. }) => format!(
                "{self}; tried {}. Check TIM_SDKAPPID and set TIM_REGION to the data centre chosen when the app was created",
                tried.iter().map(|r| r.name()).collect::<Vec<_>>().join(", ")
            ),
            AppError::Config(e) => format!("{self}; {}", where_to_set(e.var())),
            _ => self.to_string(),
        }
    }

    /// The message that may be logged: the same, except for payload errors, whose parser
    /// detail can quote the body (personal data stays out of logs).
    pub fn log_message(&self) -> String {
        match self {
            AppError::Webhook(WebhookError::Malformed(_)) => {
                "the body is not the JSON this provider documents".to_owned()
            }
            AppError::TokenMissing(why) | AppError::Token(why) => format!("{self}: {why}"),
            _ => self.message(),
        }
    }

    /// The JSON body.
    pub fn body(&self) -> String {
        serde_json::json!({ "error": self.code(), "message": self.message() }).to_string()
    }
}

/// Where an operator sets `var`: secrets with `wrangler secret put`, the rest under `[vars]`,
/// and locally both in `.dev.vars`.
pub fn where_to_set(var: &str) -> String {
    let secret = ["_SECRET", "_SECRET_KEY", "_TOKEN", "_BASIC", "_SIGNING_KEY"]
        .iter()
        .any(|s| var.ends_with(s));
    if secret {
        format!("run `npx wrangler secret put {var}` (locally: add {var}=... to .dev.vars, then restart)")
    } else {
        format!("set {var} under [vars] in wrangler.toml (locally: add {var}=... to .dev.vars, then restart)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::region::Region;

    #[test]
    fn statuses_follow_the_retry_contract() {
        let off = AppError::ProviderNotConfigured {
            provider: "okta",
            var: "OKTA_WEBHOOK_SECRET",
        };
        assert_eq!((off.status(), off.code()), (404, "provider_not_configured"));
        assert!(off.message().contains("OKTA_WEBHOOK_SECRET"));
        let known: &[&str] = &["clerk", "okta"];
        let left_out = AppError::no_provider("okta", known);
        assert_eq!(
            (left_out.status(), left_out.code()),
            (404, "provider_not_built_in")
        );
        assert!(left_out.message().contains("PROVIDERS"));
        assert_eq!(AppError::no_provider("github", known), AppError::NotFound);
        let keys = AppError::Webhook(WebhookError::KeysUnavailable("x".into()));
        assert_eq!((keys.status(), keys.retry_after()), (503, Some(30)));
        assert_eq!(AppError::Webhook(WebhookError::BadSignature).status(), 401);
        assert_eq!(
            AppError::Webhook(WebhookError::StaleTimestamp(999)).status(),
            401
        );
        assert_eq!(
            AppError::Webhook(WebhookError::MissingHeader("webhook-id")).status(),
            401
        );
        assert_eq!(
            AppError::Webhook(WebhookError::Malformed("x".into())).status(),
            400
        );
        assert_eq!(
            AppError::UserId(UserIdError::TooLong { len: 40 }).status(),
            400
        );
        assert_eq!(AppError::PayloadTooLarge(1).status(), 413);
        assert_eq!(
            AppError::Config(ConfigError::missing("TIM_SECRET_KEY")).status(),
            500
        );
        let rej = AppError::Import(ImportError::Rejected {
            code: 40601,
            info: String::new(),
        });
        assert_eq!((rej.status(), rej.retry_after()), (422, None));
        let op = AppError::Import(ImportError::Operator {
            code: 70398,
            info: String::new(),
        });
        assert_eq!((op.status(), op.retry_after()), (502, Some(300)));
        let un = AppError::Import(ImportError::Unavailable {
            last: "x".into(),
            retry_after_s: 30,
            rate_limited: false,
        });
        assert_eq!((un.status(), un.retry_after()), (503, Some(30)));
    }

    #[test]
    fn bodies_are_json_with_code_and_hint() {
        let e = AppError::Import(ImportError::WrongRegion {
            code: 70020,
            tried: vec![Region::Frankfurt],
        });
        let v: serde_json::Value = serde_json::from_str(&e.body()).unwrap();
        assert_eq!(v["error"], "tencent_wrong_region");
        assert!(v["message"].as_str().unwrap().contains("frankfurt"));
        let e = AppError::Config(ConfigError::missing("CLERK_WEBHOOK_SECRET"));
        let v: serde_json::Value = serde_json::from_str(&e.body()).unwrap();
        let m = v["message"].as_str().unwrap();
        assert!(m.contains("wrangler secret put CLERK_WEBHOOK_SECRET") && m.contains(".dev.vars"));
        let e = AppError::Config(ConfigError::missing("TIM_SDKAPPID"));
        let m = e.message();
        assert!(m.contains("[vars]") && !m.contains("secret put"), "{m}");
        let e = AppError::Webhook(WebhookError::Malformed(
            "invalid type: string \"Ada\"".into(),
        ));
        assert!(!e.log_message().contains("Ada"));
    }
}
