//! Where every module reads a deployment setting (a Worker var or secret) and how a bad one is
//! reported. A leaf: it imports nothing from the crate.
//!
//! Values are trimmed and blank counts as unset, in one place, so `FOO=" "` can never switch a
//! provider on with an empty secret. Errors name the variable and never carry its value.

use std::borrow::Cow;

/// A source of settings: Worker vars and secrets, a `.dev.vars` file, or a test table.
pub trait Settings {
    /// The value of `name` exactly as bound, if bound.
    fn raw(&self, name: &str) -> Option<String>;

    /// The trimmed value of `name`; unset, empty and whitespace-only are all `None`.
    fn get(&self, name: &str) -> Option<String> {
        self.raw(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }
}

impl<F: Fn(&str) -> Option<String>> Settings for F {
    fn raw(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// A missing or unusable setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Not set (or blank).
    #[error("{0} is not set")]
    Missing(Cow<'static, str>),
    /// Set, but unusable; the reason never contains the value.
    #[error("{var} is invalid: {reason}")]
    Invalid {
        /// The variable's name.
        var: Cow<'static, str>,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl ConfigError {
    /// A missing setting.
    pub fn missing(var: impl Into<Cow<'static, str>>) -> ConfigError {
        ConfigError::Missing(var.into())
    }

    /// An unusable setting, with why (never its value).
    pub fn invalid(var: impl Into<Cow<'static, str>>, reason: &'static str) -> ConfigError {
        ConfigError::Invalid {
            var: var.into(),
            reason,
        }
    }

    /// The variable this error is about.
    pub fn var(&self) -> &str {
        match self {
            ConfigError::Missing(v) | ConfigError::Invalid { var: v, .. } => v,
        }
    }
}

/// True for `http://` URLs whose host is this machine (127.0.0.1, localhost, [::1]), compared
/// exactly: no userinfo (`http://localhost:@evil`), no look-alike (`http://127.0.0.1.evil`).
pub fn is_loopback_http(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return false;
    }
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if !h.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    };
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

/// Test helper: settings from a `(name, value)` table.
#[cfg(test)]
pub fn table<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |k| {
        pairs
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| (*v).to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_trimmed_and_blank_is_unset() {
        let s = table(&[("A", "  x "), ("B", "   "), ("C", "")]);
        assert_eq!(s.get("A").as_deref(), Some("x"));
        assert_eq!(s.get("B"), None);
        assert_eq!(s.get("C"), None);
        assert_eq!(s.get("D"), None);
        assert_eq!(s.raw("A").as_deref(), Some("  x "));
    }

    #[test]
    fn errors_name_the_variable() {
        assert_eq!(ConfigError::missing("X").to_string(), "X is not set");
        let e = ConfigError::invalid(format!("{}_MODE", "P"), "expected auto");
        assert_eq!(e.var(), "P_MODE");
        assert_eq!(e.to_string(), "P_MODE is invalid: expected auto");
    }

    #[test]
    fn only_this_machine_may_be_plain_http() {
        for ok in [
            "http://127.0.0.1:8790/jwks",
            "http://localhost",
            "http://[::1]:9/x",
        ] {
            assert!(is_loopback_http(ok), "{ok}");
        }
        for bad in [
            "http://localhost:@192.0.2.2:80/jwks",
            "http://127.0.0.1@192.0.2.2/jwks",
            "http://127.0.0.1.evil.example/jwks",
            "http://evil.example/127.0.0.1",
            "https://127.0.0.1",
            "http://",
        ] {
            assert!(!is_loopback_http(bad), "{bad}");
        }
    }
}
