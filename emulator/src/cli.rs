//! Command-line flags: parsed and checked by clap, then turned into a [`Config`].

use crate::account_import::MAX_USER_ID_BYTES;
use crate::config::{
    Config, DEFAULT_BATCH_RATE_LIMIT, DEFAULT_LISTEN, DEFAULT_RATE_LIMIT, DEFAULT_SDKAPPID,
    DEFAULT_SECRET_KEY, MAX_ADMINS,
};
use crate::faults::{check_rate, parse_error_code, FaultConfig, MAX_LATENCY_MS};
use crate::query::parse_decimal_u64;
use clap::error::ErrorKind;
use clap::{ArgAction, CommandFactory, Parser};
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

const CONTROL_ENDPOINTS: &str = "\
Tencent APIs: v4/im_open_login_svc/{account_import,multiaccount_import,account_check,
account_delete,kick}, v4/profile/{portrait_set,portrait_get}.

Control endpoints (no auth): GET /_emulator/accounts, GET /_emulator/calls,
GET /_emulator/stats, GET /_emulator/kicks, GET /_emulator/deleted,
GET|POST /_emulator/faults, POST /_emulator/reset, GET /_emulator/health,
GET|POST /_emulator/login?user=ID&usersig=SIG (a client login check),
GET /_emulator/jwks (with --jwks).";

// Every flag that takes a value allows a leading '-', so `--secret-key -x` is a key and
// `--latency-ms -5` is refused as a negative number rather than as an unknown flag.
/// The flags as clap sees them; [`Flags::into_config`] adds the checks that span several flags.
#[derive(Parser, Debug)]
#[command(
    name = "tim-emulator",
    about = "tim-emulator: local stand-in for Tencent Cloud Chat's account and profile REST APIs",
    // The struct's doc comment below is for readers of this file, not for --help.
    long_about = None,
    after_help = CONTROL_ENDPOINTS
)]
struct Flags {
    /// Address to bind; port 0 picks a free port
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN,
          value_parser = listen, allow_hyphen_values = true)]
    listen: String,

    /// The app's SDKAppID
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SDKAPPID,
          value_parser = unsigned, allow_hyphen_values = true)]
    sdkappid: u64,

    /// The app's secret key [default: Tencent's demo key]
    #[arg(long, value_name = "K", default_value = DEFAULT_SECRET_KEY, hide_default_value = true,
          value_parser = secret_key, allow_hyphen_values = true)]
    secret_key: String,

    /// An app admin; repeatable, up to 10 [default: administrator]
    #[arg(long, value_name = "NAME", action = ArgAction::Append,
          value_parser = admin, allow_hyphen_values = true)]
    admin: Vec<String>,

    /// Max accounts, 0 = unlimited (the free edition has 100)
    #[arg(long, value_name = "N", default_value_t = 0,
          value_parser = account_cap, allow_hyphen_values = true)]
    account_cap: usize,

    /// Calls per 1000 ms window of each single-account API (account_import, kick,
    /// portrait_set, portrait_get), 0 = unlimited
    #[arg(long, value_name = "N", default_value_t = DEFAULT_RATE_LIMIT,
          value_parser = rate_limit, allow_hyphen_values = true)]
    rate_limit: u32,

    /// Calls per 1000 ms window of each batch API (multiaccount_import, account_check,
    /// account_delete), 0 = unlimited
    #[arg(long, value_name = "N", default_value_t = DEFAULT_BATCH_RATE_LIMIT,
          value_parser = rate_limit, allow_hyphen_values = true)]
    batch_rate_limit: u32,

    /// A deleted UserID cannot be imported again for 90 days (70399), as in paid editions
    #[arg(long)]
    reimport_block: bool,

    /// Delay every Tencent API reply by N ms
    #[arg(long, value_name = "N", default_value_t = 0,
          value_parser = latency_ms, allow_hyphen_values = true)]
    latency_ms: u64,

    /// Probability of an HTTP 502
    #[arg(long = "fault-502-rate", value_name = "F", default_value_t = 0.0,
          value_parser = rate, allow_hyphen_values = true)]
    fault_502_rate: f64,

    /// Probability of a truncated JSON reply; the import is still done
    #[arg(long, value_name = "F", default_value_t = 0.0,
          value_parser = rate, allow_hyphen_values = true)]
    fault_malformed_rate: f64,

    /// Probability that one account of a multiaccount_import lands in FailAccounts
    #[arg(long, value_name = "F", default_value_t = 0.0,
          value_parser = rate, allow_hyphen_values = true)]
    fault_fail_accounts_rate: f64,

    /// Probability of answering ErrorCode CODE; repeatable
    #[arg(long, value_name = "CODE:RATE", action = ArgAction::Append,
          value_parser = fault_code, allow_hyphen_values = true)]
    fault_code: Vec<(u32, f64)>,

    /// Seed of the fault random generator [default: the clock]
    #[arg(long, value_name = "N", value_parser = unsigned, allow_hyphen_values = true)]
    seed: Option<u64>,

    /// A JWKS file served at GET /_emulator/jwks, read once at startup
    #[arg(long, value_name = "PATH", allow_hyphen_values = true)]
    jwks: Option<PathBuf>,
}

/// What the command line asks for.
// Made once at startup, so the size of the Run variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Serve with this configuration.
    Run(Config),
    /// Print this help text and exit successfully.
    Help(String),
}

/// Parses the flags (without the program name); an `Err` knows its own message and exit status.
pub fn parse_args<I, S>(args: I) -> Result<Command, clap::Error>
where
    I: IntoIterator<Item = S>,
    S: Into<OsString> + Clone,
{
    let argv =
        std::iter::once(OsString::from("tim-emulator")).chain(args.into_iter().map(Into::into));
    match Flags::try_parse_from(argv) {
        Ok(flags) => flags.into_config().map(Command::Run),
        Err(e) if e.kind() == ErrorKind::DisplayHelp => Ok(Command::Help(e.render().to_string())),
        Err(e) => Err(e),
    }
}

/// A usage error in clap's format, for checks clap cannot express per value.
fn invalid(kind: ErrorKind, message: String) -> clap::Error {
    Flags::command().error(kind, message)
}

impl Flags {
    fn into_config(self) -> Result<Config, clap::Error> {
        let mut admins: Vec<String> = Vec::new();
        // Naming an admin twice is harmless, so it does not count twice towards the limit.
        for name in self.admin {
            if !admins.contains(&name) {
                admins.push(name);
            }
        }
        if admins.len() > MAX_ADMINS {
            let message = format!("at most {MAX_ADMINS} admins");
            return Err(invalid(ErrorKind::TooManyValues, message));
        }
        if admins.is_empty() {
            admins = Config::default().admins;
        }
        let faults = FaultConfig {
            latency_ms: self.latency_ms,
            http502_rate: self.fault_502_rate,
            malformed_rate: self.fault_malformed_rate,
            // When one code is given twice, the last --fault-code for it wins.
            codes: self.fault_code.into_iter().collect::<BTreeMap<_, _>>(),
            script: VecDeque::new(),
            fail_accounts_rate: self.fault_fail_accounts_rate,
            apis: None,
        };
        faults
            .validate()
            .map_err(|e| invalid(ErrorKind::ArgumentConflict, e))?;
        let jwks = self.jwks.as_deref().map(read_jwks).transpose()?;
        Ok(Config {
            listen: self.listen,
            sdkappid: self.sdkappid,
            secret_key: self.secret_key,
            admins,
            account_cap: self.account_cap,
            rate_limit: self.rate_limit,
            batch_rate_limit: self.batch_rate_limit,
            reimport_block: self.reimport_block,
            faults,
            seed: self.seed,
            jwks,
        })
    }
}

/// Reads the `--jwks` file once, so that a typo in it fails at startup rather than at the
/// Worker's first key fetch; the text is served unchanged.
fn read_jwks(path: &Path) -> Result<String, clap::Error> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| invalid(ErrorKind::Io, format!("--jwks: cannot read {shown}: {e}")))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| {
        invalid(
            ErrorKind::InvalidValue,
            format!("--jwks: {shown} is not JSON: {e}"),
        )
    })?;
    if !doc.get("keys").is_some_and(Value::is_array) {
        let message =
            format!("--jwks: {shown} is not a JWKS (a JSON object with a \"keys\" array)");
        return Err(invalid(ErrorKind::InvalidValue, message));
    }
    Ok(text)
}

fn listen(value: &str) -> Result<String, String> {
    if value.is_empty() {
        return Err("needs an address".to_owned());
    }
    Ok(value.to_owned())
}

fn secret_key(value: &str) -> Result<String, String> {
    if value.is_empty() {
        return Err("must not be empty".to_owned());
    }
    Ok(value.to_owned())
}

fn admin(value: &str) -> Result<String, String> {
    if value.is_empty() || value.len() > MAX_USER_ID_BYTES {
        return Err(format!("must be 1..={MAX_USER_ID_BYTES} bytes"));
    }
    Ok(value.to_owned())
}

/// Digits only: clap's own integer parsers would also take a leading '+'.
fn unsigned(value: &str) -> Result<u64, String> {
    parse_decimal_u64(value).ok_or_else(|| "not an unsigned integer".to_owned())
}

fn account_cap(value: &str) -> Result<usize, String> {
    usize::try_from(unsigned(value)?).map_err(|_| "too large".to_owned())
}

fn rate_limit(value: &str) -> Result<u32, String> {
    u32::try_from(unsigned(value)?).map_err(|_| "too large".to_owned())
}

fn latency_ms(value: &str) -> Result<u64, String> {
    let ms = unsigned(value)?;
    if ms > MAX_LATENCY_MS {
        return Err(format!("must be at most {MAX_LATENCY_MS}"));
    }
    Ok(ms)
}

fn rate(value: &str) -> Result<f64, String> {
    let rate: f64 = value.parse().map_err(|_| "not a number".to_owned())?;
    check_rate("the rate", rate)
}

fn fault_code(value: &str) -> Result<(u32, f64), String> {
    let (code, rate) = value
        .split_once(':')
        .ok_or_else(|| "expected CODE:RATE".to_owned())?;
    let code = parse_error_code(code)?;
    let rate: f64 = rate
        .parse()
        .map_err(|_| format!("{rate:?} is not a number"))?;
    Ok((code, check_rate("the rate", rate)?))
}

#[cfg(test)]
mod tests;
