//! Deployment settings: Worker vars and secrets, validated into typed values.
//!
//! Every problem names the variable and never echoes its value, because values include secrets.
//! Readiness is reported per item for `GET /health` as plain booleans.

use crate::identity::{self, Mode, Rule};
use crate::region::RegionSetting;
pub use crate::settings::ConfigError;
use crate::settings::Settings;

/// Longest admin UserSig validity we accept: Tencent's documented maximum is 10 years.
const MAX_TTL_S: i64 = 10 * 365 * 86_400;
/// Default admin UserSig validity: one day.
pub const DEFAULT_TTL_S: i64 = 86_400;

/// `TIM_SDKAPPID`: the Chat application id (required).
pub const TIM_SDKAPPID: &str = "TIM_SDKAPPID";
/// `TIM_ADMIN`: the app admin account (default `administrator`).
pub const TIM_ADMIN: &str = "TIM_ADMIN";
/// `TIM_REGION`: data centre name or `auto` (default).
pub const TIM_REGION: &str = "TIM_REGION";
/// `TIM_BASE_URL`: overrides the whole origin (local emulator, tests).
pub const TIM_BASE_URL: &str = "TIM_BASE_URL";
/// `TIM_USERSIG_TTL`: admin UserSig validity in seconds (default one day).
pub const TIM_USERSIG_TTL: &str = "TIM_USERSIG_TTL";
/// `TIM_SECRET_KEY`: the app's secret key (a Worker secret).
pub const TIM_SECRET_KEY: &str = "TIM_SECRET_KEY";
/// `TIM_ADMIN_TOKEN`: bearer token for `GET /userid` (a Worker secret; unset disables it).
pub const TIM_ADMIN_TOKEN: &str = "TIM_ADMIN_TOKEN";

/// `TIM_LOG_DELIVERIES`: which answered deliveries get a log line, `all` (default) or `errors`
/// (only those with an event refused for good); refused and failed requests are logged either way.
pub const TIM_LOG_DELIVERIES: &str = "TIM_LOG_DELIVERIES";

/// Reads `TIM_LOG_DELIVERIES`: whether every answered delivery is logged.
pub fn log_every_delivery(get: &dyn Settings) -> Result<bool, ConfigError> {
    match get.get(TIM_LOG_DELIVERIES).as_deref() {
        None | Some("all") => Ok(true),
        Some("errors") => Ok(false),
        Some(_) => Err(ConfigError::invalid(
            TIM_LOG_DELIVERIES,
            "expected all or errors",
        )),
    }
}

/// Settings for talking to Tencent.
#[derive(Clone, PartialEq, Eq)]
pub struct TimConfig {
    /// SDKAppID.
    pub sdkappid: u64,
    /// Admin identifier the UserSig is made for.
    pub admin: String,
    /// Data-centre choice.
    pub region: RegionSetting,
    /// Origin override, without trailing slash.
    pub base_url: Option<String>,
    /// Admin UserSig validity in seconds.
    pub usersig_ttl: i64,
    /// The app's secret key.
    pub secret_key: String,
}

impl std::fmt::Debug for TimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimConfig")
            .field("sdkappid", &self.sdkappid)
            .field("admin", &self.admin)
            .field("region", &self.region)
            .field("base_url", &self.base_url)
            .field("usersig_ttl", &self.usersig_ttl)
            .finish_non_exhaustive()
    }
}

/// `TIM_SDKAPPID`.
pub fn sdkappid(get: &dyn Settings) -> Result<u64, ConfigError> {
    let v = get
        .get(TIM_SDKAPPID)
        .ok_or(ConfigError::missing(TIM_SDKAPPID))?;
    v.parse::<u64>()
        .ok()
        .filter(|n| *n > 0 && *n <= u64::from(u32::MAX))
        .ok_or(ConfigError::invalid(
            TIM_SDKAPPID,
            "expected the numeric SDKAppID from the Chat console",
        ))
}

/// `TIM_ADMIN`.
pub fn admin(get: &dyn Settings) -> Result<String, ConfigError> {
    let v = get
        .get(TIM_ADMIN)
        .unwrap_or_else(|| "administrator".to_owned());
    if v.len() > 32 || !v.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(ConfigError::invalid(
            TIM_ADMIN,
            "expected a UserID of at most 32 printable ASCII bytes",
        ));
    }
    Ok(v)
}

/// `TIM_REGION`.
pub fn region(get: &dyn Settings) -> Result<RegionSetting, ConfigError> {
    match get.get(TIM_REGION) {
        None => Ok(RegionSetting::Auto),
        Some(v) => RegionSetting::parse(&v).ok_or(ConfigError::invalid(
            TIM_REGION,
            "expected china, singapore, seoul, tokyo, frankfurt, silicon-valley, jakarta or auto",
        )),
    }
}

/// `TIM_BASE_URL`.
pub fn base_url(get: &dyn Settings) -> Result<Option<String>, ConfigError> {
    let Some(v) = get.get(TIM_BASE_URL) else {
        return Ok(None);
    };
    // Plain http would send the admin UserSig in cleartext: only to this machine (the emulator).
    let rest = v.strip_prefix("https://").or_else(|| {
        crate::settings::is_loopback_http(&v)
            .then(|| v.strip_prefix("http://"))
            .flatten()
    });
    match rest {
        Some(host)
            if !host.trim_end_matches('/').is_empty()
                && !host
                    .trim_end_matches('/')
                    .contains(['/', '?', '#', ' ', '@']) =>
        {
            Ok(Some(v.trim_end_matches('/').to_owned()))
        }
        _ => Err(ConfigError::invalid(
            TIM_BASE_URL,
            "expected an origin such as https://host, or http:// only for 127.0.0.1, localhost or [::1]",
        )),
    }
}

/// `TIM_USERSIG_TTL`.
pub fn usersig_ttl(get: &dyn Settings) -> Result<i64, ConfigError> {
    match get.get(TIM_USERSIG_TTL) {
        None => Ok(DEFAULT_TTL_S),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|t| (300..=MAX_TTL_S).contains(t))
            .ok_or(ConfigError::invalid(
                TIM_USERSIG_TTL,
                "expected seconds between 300 and 315360000",
            )),
    }
}

/// `TIM_SECRET_KEY`.
pub fn secret_key(get: &dyn Settings) -> Result<String, ConfigError> {
    get.get(TIM_SECRET_KEY)
        .ok_or(ConfigError::missing(TIM_SECRET_KEY))
}

impl TimConfig {
    /// Reads and validates every Tencent setting; the first problem wins.
    pub fn load(get: &dyn Settings) -> Result<TimConfig, ConfigError> {
        Ok(TimConfig {
            sdkappid: sdkappid(get)?,
            admin: admin(get)?,
            region: region(get)?,
            base_url: base_url(get)?,
            usersig_ttl: usersig_ttl(get)?,
            secret_key: secret_key(get)?,
        })
    }
}

/// The UserID mapping rule of the provider whose settings start with `prefix`
/// (`<P>_USERID_MODE`, `<P>_USERID_PREFIX`); `known` are its constant ID prefixes.
pub fn userid_rule(
    get: &dyn Settings,
    prefix: &str,
    known: &'static [&'static str],
) -> Result<Rule, ConfigError> {
    let mode_var = format!("{prefix}_USERID_MODE");
    let mode = match get.get(&mode_var) {
        None => Mode::Auto,
        Some(v) => Mode::parse(&v).ok_or_else(|| {
            ConfigError::invalid(mode_var, "expected auto, verbatim, compact or hash")
        })?,
    };
    let prefix_var = format!("{prefix}_USERID_PREFIX");
    let user_prefix = get.get(&prefix_var).unwrap_or_default();
    if user_prefix.len() > identity::MAX_PREFIX_BYTES || !identity::is_safe(&user_prefix) {
        return Err(ConfigError::invalid(
            prefix_var,
            "expected at most 11 characters from A-Z a-z 0-9 _ -",
        ));
    }
    Ok(Rule {
        mode,
        prefix: user_prefix,
        known_prefixes: known,
    })
}

/// Per-setting readiness for `/health`: name and whether it is usable (never the value).
pub fn readiness(get: &dyn Settings) -> Vec<(&'static str, bool)> {
    vec![
        (TIM_SDKAPPID, sdkappid(get).is_ok()),
        (TIM_ADMIN, admin(get).is_ok()),
        (TIM_REGION, region(get).is_ok()),
        (TIM_BASE_URL, base_url(get).is_ok()),
        (TIM_USERSIG_TTL, usersig_ttl(get).is_ok()),
        (TIM_SECRET_KEY, secret_key(get).is_ok()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::region::Region;

    fn env<'a>(pairs: &'a [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn defaults_apply() {
        let c =
            TimConfig::load(&env(&[(TIM_SDKAPPID, "1400000000"), (TIM_SECRET_KEY, "k")])).unwrap();
        assert_eq!(
            (c.admin.as_str(), c.region, c.base_url, c.usersig_ttl),
            ("administrator", RegionSetting::Auto, None, 86_400)
        );
    }

    #[test]
    fn every_setting_is_parsed() {
        let c = TimConfig::load(&env(&[
            (TIM_SDKAPPID, " 1400000001 "),
            (TIM_SECRET_KEY, "k"),
            (TIM_ADMIN, "ops"),
            (TIM_REGION, "tokyo"),
            (TIM_BASE_URL, "http://127.0.0.1:8790/"),
            (TIM_USERSIG_TTL, "3600"),
        ]))
        .unwrap();
        assert_eq!(c.sdkappid, 1_400_000_001);
        assert_eq!(c.region, RegionSetting::Fixed(Region::Tokyo));
        assert_eq!(c.base_url.as_deref(), Some("http://127.0.0.1:8790"));
        assert_eq!(c.usersig_ttl, 3600);
    }

    #[test]
    fn errors_name_the_variable_not_the_value() {
        let e = TimConfig::load(&env(&[(TIM_SDKAPPID, "1")])).unwrap_err();
        assert_eq!(e, ConfigError::missing(TIM_SECRET_KEY));
        assert_eq!(e.to_string(), "TIM_SECRET_KEY is not set");
        for (var, bad) in [
            (TIM_SDKAPPID, "abc"),
            (TIM_SDKAPPID, "0"),
            (TIM_REGION, "mars"),
            (TIM_BASE_URL, "ftp://x"),
            (TIM_BASE_URL, "http://tencent.example.com"),
            (TIM_BASE_URL, "http://127.0.0.1.evil.com:80"),
            (TIM_BASE_URL, "https://h/path"),
            (TIM_BASE_URL, "http://user:pw@h"),
            (TIM_USERSIG_TTL, "10"),
            (TIM_ADMIN, "has space"),
        ] {
            let mut pairs = vec![(TIM_SDKAPPID, "1"), (TIM_SECRET_KEY, "supersecret")];
            pairs.retain(|(k, _)| *k != var);
            pairs.push((var, bad));
            let e = TimConfig::load(&env(&pairs)).unwrap_err();
            assert_eq!(e.var(), var);
            assert!(!e.to_string().contains(bad) || bad.len() < 2, "{e}");
            assert!(!e.to_string().contains("supersecret"));
        }
        assert_eq!(
            TimConfig::load(&env(&[(TIM_SECRET_KEY, "k")])).unwrap_err(),
            ConfigError::missing(TIM_SDKAPPID)
        );
    }

    #[test]
    fn readiness_reports_booleans() {
        let r = readiness(&env(&[(TIM_SDKAPPID, "1")]));
        let get = |k: &str| r.iter().find(|(n, _)| *n == k).map(|(_, ok)| *ok);
        assert_eq!(get(TIM_SDKAPPID), Some(true));
        assert_eq!(get(TIM_SECRET_KEY), Some(false));
        assert_eq!(get(TIM_REGION), Some(true));
    }

    #[test]
    fn userid_rules() {
        let r = userid_rule(
            &env(&[
                ("SUPABASE_USERID_MODE", "hash"),
                ("SUPABASE_USERID_PREFIX", "sb_"),
            ]),
            "SUPABASE",
            &[],
        )
        .unwrap();
        assert_eq!((r.mode, r.prefix.as_str()), (Mode::Hash, "sb_"));
        assert_eq!(
            userid_rule(&env(&[]), "CLERK", &[]).unwrap().mode,
            Mode::Auto
        );
        assert_eq!(
            userid_rule(&env(&[("CLERK_USERID_MODE", "x")]), "CLERK", &[])
                .unwrap_err()
                .var(),
            "CLERK_USERID_MODE"
        );
        assert_eq!(
            userid_rule(
                &env(&[("CLERK_USERID_PREFIX", "twelve_chars")]),
                "CLERK",
                &[]
            )
            .unwrap_err()
            .var(),
            "CLERK_USERID_PREFIX"
        );
    }
}
