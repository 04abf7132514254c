//! The emulator's settings and their defaults, independent of how they were given.

use crate::faults::FaultConfig;

/// Default `--listen` address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8790";
/// Default `--sdkappid` (the demo SDKAppID of Tencent's official libraries).
pub const DEFAULT_SDKAPPID: u64 = 1_400_000_000;
/// Default `--secret-key` (the demo key of Tencent's official libraries).
pub const DEFAULT_SECRET_KEY: &str =
    "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
/// Default `--admin` (the console's default admin account).
pub const DEFAULT_ADMIN: &str = "administrator";
/// Default `--rate-limit` in calls per second: Tencent's documented limit for account_import,
/// kick, portrait_set and portrait_get.
pub const DEFAULT_RATE_LIMIT: u32 = 200;
/// Default `--batch-rate-limit` in calls per second: Tencent's documented limit for
/// multiaccount_import, account_check and account_delete.
pub const DEFAULT_BATCH_RATE_LIMIT: u32 = 100;
/// Tencent allows at most 10 app admins.
pub const MAX_ADMINS: usize = 10;

/// Everything set by command-line flags.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Address to bind.
    pub listen: String,
    /// The app's SDKAppID.
    pub sdkappid: u64,
    /// The app's secret key, used to verify UserSigs.
    pub secret_key: String,
    /// App admin identifiers (1..=10).
    pub admins: Vec<String>,
    /// Maximum number of accounts; 0 = unlimited.
    pub account_cap: usize,
    /// Calls allowed per 1000 ms window of each single-account API; 0 = unlimited.
    pub rate_limit: u32,
    /// Calls allowed per 1000 ms window of each batch API; 0 = unlimited.
    pub batch_rate_limit: u32,
    /// A deleted UserID cannot be imported again for three months (paid editions).
    pub reimport_block: bool,
    /// Fault configuration restored by `POST /_emulator/reset`.
    pub faults: FaultConfig,
    /// Seed of the fault random generator; `None` = from the clock.
    pub seed: Option<u64>,
    /// The JWKS document served at `GET /_emulator/jwks`, read once at startup from `--jwks`.
    pub jwks: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: DEFAULT_LISTEN.to_owned(),
            sdkappid: DEFAULT_SDKAPPID,
            secret_key: DEFAULT_SECRET_KEY.to_owned(),
            admins: vec![DEFAULT_ADMIN.to_owned()],
            account_cap: 0,
            rate_limit: DEFAULT_RATE_LIMIT,
            batch_rate_limit: DEFAULT_BATCH_RATE_LIMIT,
            reimport_block: false,
            faults: FaultConfig::default(),
            seed: None,
            jwks: None,
        }
    }
}
