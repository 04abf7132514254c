//! A strict local stand-in for Tencent Cloud Chat's `v4/im_open_login_svc/account_import`.
//!
//! tim-onboard's integration tests and developers point the Worker at this emulator instead of
//! Tencent: it checks requests the way the real service documents it (query parameters, admin
//! UserSig, body fields, the 200 calls/s limit, the 100-account cap of the free edition), keeps
//! the imported accounts and a call log in memory, and can inject the faults a client must survive
//! (HTTP 502, error codes such as 70169, truncated JSON, latency).
//!
//! Everything here is pure: [`handle`] maps one HTTP request onto a [`Reply`] given a [`State`]
//! and the current time, so it is unit-tested without sockets. `main.rs` only adds the server.
//! The UserSig is never stored, logged or echoed.

use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use tim_onboard::usersig::{verify, UserSigError};

/// Path of the only Tencent API the emulator implements.
pub const ACCOUNT_IMPORT_PATH: &str = "/v4/im_open_login_svc/account_import";
/// Default `--listen` address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8790";
/// Default `--sdkappid` (the demo SDKAppID of Tencent's official libraries).
pub const DEFAULT_SDKAPPID: u64 = 1_400_000_000;
/// Default `--secret-key` (the demo key of Tencent's official libraries).
pub const DEFAULT_SECRET_KEY: &str =
    "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
/// Default `--admin` (the console's default admin account).
pub const DEFAULT_ADMIN: &str = "administrator";
/// Default `--rate-limit` in calls per second (Tencent's documented limit for account_import).
pub const DEFAULT_RATE_LIMIT: u32 = 200;
/// Tencent allows at most 10 app admins.
pub const MAX_ADMINS: usize = 10;
/// Longest UserID Tencent accepts, in bytes.
pub const MAX_USER_ID_BYTES: usize = 32;
/// Longest `Nick` / `FaceUrl` Tencent accepts, in bytes.
pub const MAX_PROFILE_BYTES: usize = 500;
/// Largest request body the emulator reads; anything longer is answered as unparseable JSON.
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// Largest injectable latency (10 minutes).
pub const MAX_LATENCY_MS: u64 = 600_000;
/// Longest fault script accepted.
pub const MAX_SCRIPT_LEN: usize = 100_000;
/// Call-log entries kept (oldest dropped first); `total` still counts every call.
pub const MAX_CALL_LOG: usize = 1_000_000;

const JSON: &str = "application/json";
const HTML: &str = "text/html";
const BAD_GATEWAY_BODY: &[u8] = b"<html>502 Bad Gateway</html>";

/// Command-line help, printed by `--help`.
pub const USAGE: &str = "\
tim-emulator: local stand-in for Tencent Cloud Chat's v4/im_open_login_svc/account_import

USAGE: tim-emulator [FLAGS]

  --listen ADDR            address to bind (default 127.0.0.1:8790; port 0 picks a free port)
  --sdkappid N             the app's SDKAppID (default 1400000000)
  --secret-key K           the app's secret key (default: Tencent's demo key)
  --admin NAME             an app admin; repeatable, up to 10 (default administrator)
  --account-cap N          max accounts, 0 = unlimited (default 0; the free edition has 100)
  --rate-limit N           account_import calls per 1000 ms window, 0 = unlimited (default 200)
  --latency-ms N           delay every account_import reply by N ms (default 0)
  --fault-502-rate F       probability of an HTTP 502 (default 0)
  --fault-malformed-rate F probability of a truncated JSON reply, import still done (default 0)
  --fault-code CODE:RATE   probability of answering ErrorCode CODE; repeatable
  --seed N                 seed of the fault random generator (default: the clock)
  --help                   print this help

Control endpoints (no auth): GET /_emulator/accounts, GET /_emulator/calls,
GET|POST /_emulator/faults, POST /_emulator/reset, GET /_emulator/health.
";

// ---------------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------------

/// One injected behaviour for one account_import call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultAction {
    /// No fault.
    Ok,
    /// HTTP 502 with an HTML body; nothing is imported.
    Http502,
    /// A FAIL body with this ErrorCode; nothing is imported.
    Code(u32),
    /// Process normally but delay the reply by this many milliseconds.
    Latency(u64),
    /// Process normally (the import happens) but truncate the JSON reply.
    Malformed,
}

impl FaultAction {
    /// Parses a script entry: `ok`, `502`, `malformed`, `latency:MS` or a non-zero error code.
    pub fn parse(entry: &str) -> Result<Self, String> {
        match entry {
            "ok" => Ok(Self::Ok),
            "502" => Ok(Self::Http502),
            "malformed" => Ok(Self::Malformed),
            _ => {
                if let Some(ms) = entry.strip_prefix("latency:") {
                    return parse_decimal_u64(ms)
                        .filter(|&ms| ms <= MAX_LATENCY_MS)
                        .map(Self::Latency)
                        .ok_or_else(|| {
                            format!("bad latency in {entry:?}: expected 0..={MAX_LATENCY_MS} ms")
                        });
                }
                parse_error_code(entry).map(Self::Code)
            }
        }
    }

    /// The entry's name as written in a script and in the call log.
    pub fn name(&self) -> String {
        match self {
            Self::Ok => "ok".to_owned(),
            Self::Http502 => "502".to_owned(),
            Self::Code(code) => code.to_string(),
            Self::Latency(ms) => format!("latency:{ms}"),
            Self::Malformed => "malformed".to_owned(),
        }
    }
}

/// An injectable error code: decimal, non-zero (0 is success), not 502 (that is the HTTP fault).
fn parse_error_code(s: &str) -> Result<u32, String> {
    let code = parse_decimal_u64(s)
        .and_then(|c| u32::try_from(c).ok())
        .ok_or_else(|| {
            format!("bad fault {s:?}: expected ok, 502, malformed, latency:MS or an error code")
        })?;
    match code {
        0 => Err("error code 0 means success; use \"ok\"".to_owned()),
        502 => Err("502 is the HTTP 502 fault, not an ErrorCode".to_owned()),
        code => Ok(code),
    }
}

/// A probability: finite and within 0..=1.
fn check_rate(what: &str, rate: f64) -> Result<f64, String> {
    if rate.is_finite() && (0.0..=1.0).contains(&rate) {
        Ok(rate)
    } else {
        Err(format!("{what} must be a number within 0..=1"))
    }
}

/// The fault configuration: a base latency, per-call probabilities and a FIFO script.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultConfig {
    /// Delay applied to every account_import reply, in milliseconds.
    pub latency_ms: u64,
    /// Probability of an HTTP 502.
    pub http502_rate: f64,
    /// Probability of a truncated JSON reply (the import still happens).
    pub malformed_rate: f64,
    /// Probability of each injected ErrorCode.
    pub codes: BTreeMap<u32, f64>,
    /// Entries consumed one per account_import call that passes authentication; wins over rates.
    pub script: VecDeque<FaultAction>,
}

/// JSON view of a [`FaultConfig`], in the shape `POST /_emulator/faults` accepts.
#[derive(Serialize)]
struct FaultConfigView {
    latency_ms: u64,
    http502_rate: f64,
    malformed_rate: f64,
    codes: BTreeMap<String, f64>,
    script: Vec<String>,
}

impl FaultConfig {
    /// Parses the body of `POST /_emulator/faults`; every key is optional, unknown keys are errors.
    pub fn from_json(body: &[u8]) -> Result<Self, String> {
        let doc: Value =
            serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
        let obj = doc
            .as_object()
            .ok_or_else(|| "body must be a JSON object".to_owned())?;
        let mut cfg = FaultConfig::default();
        for (key, value) in obj {
            match key.as_str() {
                "latency_ms" => {
                    cfg.latency_ms = value
                        .as_u64()
                        .filter(|&ms| ms <= MAX_LATENCY_MS)
                        .ok_or_else(|| {
                            format!("latency_ms must be an integer within 0..={MAX_LATENCY_MS}")
                        })?;
                }
                "http502_rate" => cfg.http502_rate = json_rate("http502_rate", value)?,
                "malformed_rate" => cfg.malformed_rate = json_rate("malformed_rate", value)?,
                "codes" => {
                    let codes = value
                        .as_object()
                        .ok_or_else(|| "codes must be an object {\"CODE\": rate}".to_owned())?;
                    for (code, rate) in codes {
                        let code = parse_error_code(code)?;
                        cfg.codes.insert(code, json_rate("a code rate", rate)?);
                    }
                }
                "script" => {
                    let entries = value
                        .as_array()
                        .ok_or_else(|| "script must be an array of strings".to_owned())?;
                    for entry in entries {
                        let action = match entry {
                            Value::String(s) => FaultAction::parse(s)?,
                            Value::Number(n) => FaultAction::parse(&n.to_string())?,
                            _ => return Err("script entries must be strings".to_owned()),
                        };
                        cfg.script.push_back(action);
                    }
                }
                other => return Err(format!("unknown key {other:?}")),
            }
        }
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks ranges: each probability within 0..=1 and their sum at most 1.
    pub fn validate(&self) -> Result<(), String> {
        if self.latency_ms > MAX_LATENCY_MS {
            return Err(format!("latency must be at most {MAX_LATENCY_MS} ms"));
        }
        if self.script.len() > MAX_SCRIPT_LEN {
            return Err(format!("script is longer than {MAX_SCRIPT_LEN} entries"));
        }
        let mut total = check_rate("the 502 rate", self.http502_rate)?
            + check_rate("the malformed rate", self.malformed_rate)?;
        for (code, rate) in &self.codes {
            parse_error_code(&code.to_string())?;
            total += check_rate("a code rate", *rate)?;
        }
        if total > 1.0 + 1e-9 {
            return Err(format!("fault rates add up to {total}, more than 1"));
        }
        Ok(())
    }

    /// The configuration as JSON, in the shape `POST /_emulator/faults` accepts.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self.view()).unwrap_or(Value::Null)
    }

    fn view(&self) -> FaultConfigView {
        FaultConfigView {
            latency_ms: self.latency_ms,
            http502_rate: self.http502_rate,
            malformed_rate: self.malformed_rate,
            codes: self
                .codes
                .iter()
                .map(|(code, rate)| (code.to_string(), *rate))
                .collect(),
            script: self.script.iter().map(FaultAction::name).collect(),
        }
    }

    /// The fault for the next call: the script's head, else one draw against the rates.
    fn pick(&mut self, rng: &mut Rng) -> FaultAction {
        if let Some(action) = self.script.pop_front() {
            return action;
        }
        let any = self.http502_rate > 0.0
            || self.malformed_rate > 0.0
            || self.codes.values().any(|&r| r > 0.0);
        if !any {
            return FaultAction::Ok;
        }
        let draw = rng.next_f64();
        let mut bound = self.http502_rate;
        if draw < bound {
            return FaultAction::Http502;
        }
        for (code, rate) in &self.codes {
            bound += rate;
            if draw < bound {
                return FaultAction::Code(*code);
            }
        }
        bound += self.malformed_rate;
        if draw < bound {
            return FaultAction::Malformed;
        }
        FaultAction::Ok
    }
}

fn json_rate(what: &str, value: &Value) -> Result<f64, String> {
    let rate = value
        .as_f64()
        .ok_or_else(|| format!("{what} must be a number within 0..=1"))?;
    check_rate(what, rate)
}

// ---------------------------------------------------------------------------------------------
// Configuration and flags
// ---------------------------------------------------------------------------------------------

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
    /// account_import calls allowed per 1000 ms window; 0 = unlimited.
    pub rate_limit: u32,
    /// Fault configuration restored by `POST /_emulator/reset`.
    pub faults: FaultConfig,
    /// Seed of the fault random generator; `None` = from the clock.
    pub seed: Option<u64>,
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
            faults: FaultConfig::default(),
            seed: None,
        }
    }
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Serve with this configuration.
    Run(Config),
    /// Print [`USAGE`] and exit successfully.
    Help,
}

/// Parses the flags (without the program name); `Err` is a message for stderr (exit status 2).
pub fn parse_args<I, S>(args: I) -> Result<Command, String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut cfg = Config::default();
    let mut admins: Vec<String> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut args = args.into_iter().map(Into::into);
    while let Some(arg) = args.next() {
        if arg == "--help" || arg == "-h" {
            return Ok(Command::Help);
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let known = [
            "--listen",
            "--sdkappid",
            "--secret-key",
            "--admin",
            "--account-cap",
            "--rate-limit",
            "--latency-ms",
            "--fault-502-rate",
            "--fault-malformed-rate",
            "--fault-code",
            "--seed",
        ];
        if !known.contains(&flag.as_str()) {
            return Err(format!("unknown flag {flag:?}"));
        }
        let repeatable = flag == "--admin" || flag == "--fault-code";
        if !repeatable && !seen.insert(flag.clone()) {
            return Err(format!("{flag} given more than once"));
        }
        let value = match inline {
            Some(v) => v,
            None => args.next().ok_or_else(|| format!("{flag} needs a value"))?,
        };
        let number = |what: &str| -> Result<u64, String> {
            parse_decimal_u64(&value).ok_or_else(|| format!("{flag}: {value:?} is not {what}"))
        };
        let rate = || -> Result<f64, String> {
            let r: f64 = value
                .parse()
                .map_err(|_| format!("{flag}: {value:?} is not a number"))?;
            check_rate(&flag, r)
        };
        match flag.as_str() {
            "--listen" => {
                if value.is_empty() {
                    return Err("--listen needs an address".to_owned());
                }
                cfg.listen = value.clone();
            }
            "--sdkappid" => cfg.sdkappid = number("an unsigned integer")?,
            "--secret-key" => {
                if value.is_empty() {
                    return Err("--secret-key must not be empty".to_owned());
                }
                cfg.secret_key = value.clone();
            }
            "--admin" => {
                if value.is_empty() || value.len() > MAX_USER_ID_BYTES {
                    return Err(format!("--admin must be 1..={MAX_USER_ID_BYTES} bytes"));
                }
                if !admins.contains(&value) {
                    admins.push(value.clone());
                }
                if admins.len() > MAX_ADMINS {
                    return Err(format!("at most {MAX_ADMINS} admins"));
                }
            }
            "--account-cap" => {
                cfg.account_cap = usize::try_from(number("an unsigned integer")?)
                    .map_err(|_| "--account-cap is too large".to_owned())?;
            }
            "--rate-limit" => {
                cfg.rate_limit = u32::try_from(number("an unsigned integer")?)
                    .map_err(|_| "--rate-limit is too large".to_owned())?;
            }
            "--latency-ms" => {
                let ms = number("an unsigned integer")?;
                if ms > MAX_LATENCY_MS {
                    return Err(format!("--latency-ms must be at most {MAX_LATENCY_MS}"));
                }
                cfg.faults.latency_ms = ms;
            }
            "--fault-502-rate" => cfg.faults.http502_rate = rate()?,
            "--fault-malformed-rate" => cfg.faults.malformed_rate = rate()?,
            "--fault-code" => {
                let (code, r) = value
                    .split_once(':')
                    .ok_or_else(|| format!("--fault-code expects CODE:RATE, got {value:?}"))?;
                let code = parse_error_code(code).map_err(|e| format!("--fault-code: {e}"))?;
                let r: f64 = r
                    .parse()
                    .map_err(|_| format!("--fault-code: {r:?} is not a number"))?;
                cfg.faults
                    .codes
                    .insert(code, check_rate("--fault-code rate", r)?);
            }
            "--seed" => cfg.seed = Some(number("an unsigned integer")?),
            _ => return Err(format!("unknown flag {flag:?}")),
        }
    }
    if !admins.is_empty() {
        cfg.admins = admins;
    }
    cfg.faults.validate()?;
    Ok(Command::Run(cfg))
}

// ---------------------------------------------------------------------------------------------
// Random numbers (xorshift64*, no dependency)
// ---------------------------------------------------------------------------------------------

/// A small deterministic generator (xorshift64*) for fault draws.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from any seed (mixed with splitmix64, so 0 and small seeds are fine).
    pub fn new(seed: u64) -> Self {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Rng(if z == 0 { 0x2545_F491_4F6C_DD1D } else { z })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A uniform number in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

/// One imported account, as `GET /_emulator/accounts` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    /// The UserID.
    #[serde(rename = "UserID")]
    pub user_id: String,
    /// Last Nick given, if any.
    #[serde(rename = "Nick")]
    pub nick: Option<String>,
    /// Last FaceUrl given, if any.
    #[serde(rename = "FaceUrl")]
    pub face_url: Option<String>,
    /// How many successful account_import calls named this UserID.
    pub imports: u64,
}

/// One account_import call, as `GET /_emulator/calls` lists it (never holds the UserSig).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallRecord {
    /// `UserID` from the body when it parsed as a JSON object with a string UserID.
    pub user_id: Option<String>,
    /// The ErrorCode the call resolved to (also for `malformed`); `None` for an HTTP 502.
    pub error_code: Option<u32>,
    /// HTTP status sent: 200 or 502.
    pub http_status: u16,
    /// Name of the injected fault, if any (see [`FaultAction::name`]).
    pub fault: Option<String>,
}

/// The emulator's whole mutable state: configuration, accounts, call log, faults, rate window.
#[derive(Debug, Clone)]
pub struct State {
    config: Config,
    accounts: Vec<Account>,
    index: HashMap<String, usize>,
    calls: VecDeque<CallRecord>,
    total_calls: u64,
    faults: FaultConfig,
    window: u64,
    window_calls: u64,
    rng: Rng,
}

impl State {
    /// Fresh state; the generator uses `config.seed`, else `clock_seed`.
    pub fn new(config: Config, clock_seed: u64) -> Self {
        let rng = Rng::new(config.seed.unwrap_or(clock_seed));
        State {
            faults: config.faults.clone(),
            config,
            accounts: Vec::new(),
            index: HashMap::new(),
            calls: VecDeque::new(),
            total_calls: 0,
            window: 0,
            window_calls: 0,
            rng,
        }
    }

    /// The configuration from the flags.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Imported accounts in insertion order.
    pub fn accounts(&self) -> &[Account] {
        &self.accounts
    }

    /// The retained call log, oldest first.
    pub fn calls(&self) -> &VecDeque<CallRecord> {
        &self.calls
    }

    /// Number of account_import calls since start or the last reset.
    pub fn total_calls(&self) -> u64 {
        self.total_calls
    }

    /// The fault configuration in force (including what is left of the script).
    pub fn faults(&self) -> &FaultConfig {
        &self.faults
    }

    /// Clears accounts, call log and rate window, and restores the flags' fault configuration.
    pub fn reset(&mut self) {
        self.accounts.clear();
        self.index.clear();
        self.calls.clear();
        self.total_calls = 0;
        self.faults = self.config.faults.clone();
        self.window = 0;
        self.window_calls = 0;
    }

    fn record(&mut self, call: CallRecord) {
        if self.calls.len() >= MAX_CALL_LOG {
            self.calls.pop_front();
        }
        self.calls.push_back(call);
        self.total_calls = self.total_calls.saturating_add(1);
    }
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/// What to send back: status, content type, body, and how long to wait before sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// `Content-Type` header value.
    pub content_type: &'static str,
    /// Response body.
    pub body: Vec<u8>,
    /// Latency to sleep before sending, outside any lock.
    pub delay_ms: u64,
}

impl Reply {
    fn json<T: Serialize>(status: u16, value: &T) -> Self {
        Reply {
            status,
            content_type: JSON,
            body: serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec()),
            delay_ms: 0,
        }
    }

    fn error(status: u16, message: &str) -> Self {
        Reply::json(status, &serde_json::json!({ "error": message }))
    }
}

/// Answers one HTTP request; `url` is `path?query` as received, `now_ms` Unix milliseconds.
pub fn handle(state: &mut State, method: &str, url: &str, body: &[u8], now_ms: u64) -> Reply {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    if path == ACCOUNT_IMPORT_PATH {
        return account_import(state, method, query, body, now_ms);
    }
    if path == "/v4" || path.starts_with("/v4/") {
        let f = fail(60009, "unknown API");
        return tencent_reply(f.code, &f.info);
    }
    match (method, path) {
        ("GET", "/_emulator/health") => Reply::json(
            200,
            &serde_json::json!({ "ok": true, "sdkappid": state.config.sdkappid }),
        ),
        ("GET", "/_emulator/accounts") => {
            #[derive(Serialize)]
            struct View<'a> {
                accounts: &'a [Account],
            }
            Reply::json(
                200,
                &View {
                    accounts: &state.accounts,
                },
            )
        }
        ("GET", "/_emulator/calls") => {
            #[derive(Serialize)]
            struct View<'a> {
                total: u64,
                calls: &'a VecDeque<CallRecord>,
            }
            Reply::json(
                200,
                &View {
                    total: state.total_calls,
                    calls: &state.calls,
                },
            )
        }
        ("GET", "/_emulator/faults") => Reply::json(200, &state.faults.view()),
        ("POST", "/_emulator/faults") => match FaultConfig::from_json(body) {
            Ok(cfg) => {
                state.faults = cfg;
                Reply::json(200, &state.faults.view())
            }
            Err(e) => Reply::error(400, &e),
        },
        ("POST", "/_emulator/reset") => {
            state.reset();
            Reply::json(200, &serde_json::json!({ "ok": true }))
        }
        _ => Reply::error(404, "not found"),
    }
}

/// A Tencent error: code plus English ErrorInfo.
#[derive(Debug)]
struct Fail {
    code: u32,
    info: String,
}

/// Tencent's documented wording for each code the emulator answers.
fn error_text(code: u32) -> &'static str {
    match code {
        40006 => "An internal server error occurred during profile setting. Try again later.",
        40601 => "The value of the profile field exceeds the length limit of 500 bytes.",
        60002 => "An error occurred when parsing the HTTP request. Check the format of the HTTP request URL.",
        60003 => "An error occurred when parsing the JSON data of the HTTP request. Check the JSON format.",
        60004 => "UserID or UserSig in the request URI or JSON packet is incorrect.",
        60006 => "Invalid SDKAppID. Check the validity of the SDKAppID.",
        60007 => "The RESTful API call exceeds the frequency limit. Please reduce the request frequency.",
        60009 => "Requested resource error. Please check the request URL.",
        60012 => "SDKAppID is required when calling the RESTful API. Check the SDKAppID in the request URL.",
        70001 => "UserSig expired. Please generate a new one.",
        70002 => "The value of UserSig is 0 bytes. Check whether the passed-in UserSig is correct.",
        70003 => "Invalid UserSig. Call the API provided on the official website to generate a UserSig.",
        70009 => "UserSig authentication failed, probably because the private key or key of another SDKAppID was mistakenly used to generate the UserSig.",
        70013 => "The UserID in the request does not match the UserID used to generate the UserSig.",
        70014 => "The SDKAppID in the request does not match the SDKAppID used to generate the UserSig.",
        70020 => "SDKAppID not found. Check the app information in the Chat console.",
        70169 => "Server timeout. Try again later.",
        70202 => "Server timeout. Try again later.",
        70398 => "The number of accounts exceeds the limit allowed. To create more than 100 accounts, upgrade your app to the Pro Edition.",
        70402 => "Invalid parameter. Check whether the required fields are all set and whether the parameter settings meet the protocol requirements.",
        70403 => "Request failed. App admin permissions are required to perform this operation.",
        70500 => "Internal server error. Try again later.",
        _ => "Error injected by tim-emulator.",
    }
}

fn fail(code: u32, detail: &str) -> Fail {
    let text = error_text(code);
    let info = if detail.is_empty() {
        text.to_owned()
    } else {
        format!("{text} ({detail})")
    };
    Fail { code, info }
}

/// The Tencent response document, fields in Tencent's order.
#[derive(Serialize)]
struct TencentBody<'a> {
    #[serde(rename = "ActionStatus")]
    action_status: &'a str,
    #[serde(rename = "ErrorInfo")]
    error_info: &'a str,
    #[serde(rename = "ErrorCode")]
    error_code: u32,
}

fn action_status(code: u32) -> &'static str {
    if code == 0 {
        "OK"
    } else {
        "FAIL"
    }
}

fn tencent_reply(code: u32, info: &str) -> Reply {
    Reply::json(
        200,
        &TencentBody {
            action_status: action_status(code),
            error_info: info,
            error_code: code,
        },
    )
}

/// `v4/im_open_login_svc/account_import`: checks, faults, import, call log.
fn account_import(state: &mut State, method: &str, query: &str, body: &[u8], now_ms: u64) -> Reply {
    let base_delay = state.faults.latency_ms;
    let user_id = logged_user_id(body);
    let (result, fault) = match check_request(state, method, query, now_ms) {
        Err(f) => (Err(f), FaultAction::Ok),
        Ok(()) => {
            let fault = state.faults.pick(&mut state.rng);
            let result = match fault {
                FaultAction::Http502 => Ok(()),
                FaultAction::Code(code) => Err(fail(code, "injected by tim-emulator")),
                FaultAction::Ok | FaultAction::Latency(_) | FaultAction::Malformed => {
                    import_body(state, body)
                }
            };
            (result, fault)
        }
    };
    let delay_ms = match fault {
        FaultAction::Latency(ms) => ms,
        _ => base_delay,
    };
    let fault_name = match fault {
        FaultAction::Ok => None,
        other => Some(other.name()),
    };
    if fault == FaultAction::Http502 {
        state.record(CallRecord {
            user_id,
            error_code: None,
            http_status: 502,
            fault: fault_name,
        });
        return Reply {
            status: 502,
            content_type: HTML,
            body: BAD_GATEWAY_BODY.to_vec(),
            delay_ms,
        };
    }
    let (code, info) = match &result {
        Ok(()) => (0, ""),
        Err(f) => (f.code, f.info.as_str()),
    };
    let mut reply = tencent_reply(code, info);
    if fault == FaultAction::Malformed {
        reply.body = format!("{{\"ActionStatus\":\"{}\",\"Err", action_status(code)).into_bytes();
    }
    reply.delay_ms = delay_ms;
    state.record(CallRecord {
        user_id,
        error_code: Some(code),
        http_status: 200,
        fault: fault_name,
    });
    reply
}

/// The body's UserID for the call log, when the body is a JSON object with a string UserID.
fn logged_user_id(body: &[u8]) -> Option<String> {
    if body.len() > MAX_BODY_BYTES {
        return None;
    }
    let doc: Value = serde_json::from_slice(body).ok()?;
    doc.get("UserID")?.as_str().map(str::to_owned)
}

/// Steps 1-6: method, query parameters, SDKAppID, rate limit, UserSig, admin.
fn check_request(state: &mut State, method: &str, query: &str, now_ms: u64) -> Result<(), Fail> {
    if method != "POST" {
        return Err(fail(60002, "the method must be POST"));
    }
    let params = parse_query(query).map_err(|d| fail(60002, &d))?;
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };

    let sdkappid = match param("sdkappid") {
        None | Some("") => return Err(fail(60012, "")),
        Some(s) => s,
    };
    let sdkappid = parse_decimal_u64(sdkappid)
        .ok_or_else(|| fail(60006, "sdkappid is not an unsigned integer"))?;
    if sdkappid != state.config.sdkappid {
        return Err(fail(70020, ""));
    }

    let window = now_ms / 1000;
    if window != state.window {
        state.window = window;
        state.window_calls = 0;
    }
    state.window_calls = state.window_calls.saturating_add(1);
    let limit = u64::from(state.config.rate_limit);
    if limit > 0 && state.window_calls > limit {
        return Err(fail(60007, ""));
    }

    let identifier = param("identifier")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| fail(60004, "identifier is missing"))?;
    let usersig = param("usersig")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| fail(70002, ""))?;
    param("random")
        .and_then(parse_decimal_u64)
        .filter(|&r| r <= u64::from(u32::MAX))
        .ok_or_else(|| fail(60002, "random must be an integer within 0..=4294967295"))?;
    if param("contenttype") != Some("json") {
        return Err(fail(60002, "contenttype must be json"));
    }

    let now_secs = i64::try_from(now_ms / 1000).unwrap_or(i64::MAX);
    verify(
        state.config.sdkappid,
        &state.config.secret_key,
        identifier,
        usersig,
        now_secs,
        None,
    )
    .map_err(|e| match e {
        UserSigError::Empty => fail(70002, ""),
        UserSigError::Malformed(_) => fail(70003, ""),
        UserSigError::SdkAppIdMismatch => fail(70014, ""),
        UserSigError::IdentifierMismatch => fail(70013, ""),
        UserSigError::Expired => fail(70001, ""),
        UserSigError::BadSignature | UserSigError::UserBufMismatch => fail(70009, ""),
    })?;

    if !state.config.admins.iter().any(|a| a == identifier) {
        return Err(fail(70403, ""));
    }
    Ok(())
}

/// Steps 8-10: body checks, account cap, insert or update.
fn import_body(state: &mut State, body: &[u8]) -> Result<(), Fail> {
    if body.len() > MAX_BODY_BYTES {
        return Err(fail(60003, "request body too large"));
    }
    let doc: Value =
        serde_json::from_slice(body).map_err(|_| fail(60003, "request body is not JSON"))?;
    let obj = doc
        .as_object()
        .ok_or_else(|| fail(60003, "request body is not a JSON object"))?;

    let user_id = match obj.get("UserID") {
        None => return Err(fail(70402, "UserID is required")),
        Some(Value::String(s)) if s.is_empty() => {
            return Err(fail(70402, "UserID is empty"));
        }
        Some(Value::String(s)) if s.len() > MAX_USER_ID_BYTES => {
            return Err(fail(70402, "UserID is longer than 32 bytes"));
        }
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(fail(70402, "UserID must be a string")),
    };
    let profile = |name: &str| -> Result<Option<&str>, Fail> {
        match obj.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(fail(70402, &format!("{name} must be a string"))),
        }
    };
    let nick = profile("Nick")?;
    let face_url = profile("FaceUrl")?;
    for (name, value) in [("Nick", nick), ("FaceUrl", face_url)] {
        if value.is_some_and(|v| v.len() > MAX_PROFILE_BYTES) {
            return Err(fail(40601, &format!("{name} is longer than 500 bytes")));
        }
    }

    match state.index.get(&user_id).copied() {
        Some(i) => {
            let account = state
                .accounts
                .get_mut(i)
                .ok_or_else(|| fail(70500, "account index out of sync"))?;
            if let Some(n) = nick {
                account.nick = Some(n.to_owned());
            }
            if let Some(f) = face_url {
                account.face_url = Some(f.to_owned());
            }
            account.imports = account.imports.saturating_add(1);
        }
        None => {
            let cap = state.config.account_cap;
            if cap > 0 && state.accounts.len() >= cap {
                return Err(fail(70398, ""));
            }
            state.index.insert(user_id.clone(), state.accounts.len());
            state.accounts.push(Account {
                user_id,
                nick: nick.map(str::to_owned),
                face_url: face_url.map(str::to_owned),
                imports: 1,
            });
        }
    }
    Ok(())
}

/// Decimal digits only (no sign, no spaces), fitting in a u64.
fn parse_decimal_u64(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Splits a query string into percent-decoded pairs; a duplicate name or bad escape is an error.
fn parse_query(query: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut names: HashSet<String> = HashSet::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = percent_decode(name)
            .ok_or_else(|| "a query parameter name is badly percent-encoded".to_owned())?;
        let value = percent_decode(value)
            .ok_or_else(|| format!("query parameter {name:?} is badly percent-encoded"))?;
        if !names.insert(name.clone()) {
            return Err(format!("duplicate query parameter {name:?}"));
        }
        pairs.push((name, value));
    }
    Ok(pairs)
}

/// `application/x-www-form-urlencoded` decoding: `%XX` escapes and `+` as space; UTF-8 result.
fn percent_decode(s: &str) -> Option<String> {
    fn hex(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = bytes.next().and_then(hex)?;
                let lo = bytes.next().and_then(hex)?;
                out.push((hi << 4) | lo);
            }
            other => out.push(other),
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tim_onboard::usersig::generate;

    const KEY: &str = DEFAULT_SECRET_KEY;
    const APP: u64 = DEFAULT_SDKAPPID;
    /// Aligned on a second so that a whole rate window starts here.
    const NOW_MS: u64 = 1_700_000_000_000;
    const NOW: i64 = 1_700_000_000;
    const ADMIN: &str = DEFAULT_ADMIN;

    fn state() -> State {
        State::new(Config::default(), 7)
    }

    fn state_with(f: impl FnOnce(&mut Config)) -> State {
        let mut cfg = Config::default();
        f(&mut cfg);
        State::new(cfg, 7)
    }

    fn sig(identifier: &str) -> String {
        generate(APP, KEY, identifier, NOW - 10, 86_400, None)
    }

    fn url_with(pairs: &[(&str, &str)]) -> String {
        let q: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{ACCOUNT_IMPORT_PATH}?{}", q.join("&"))
    }

    fn url_for(identifier: &str, usersig: &str) -> String {
        url_with(&[
            ("sdkappid", "1400000000"),
            ("identifier", identifier),
            ("usersig", usersig),
            ("random", "12345"),
            ("contenttype", "json"),
        ])
    }

    fn admin_url() -> String {
        url_for(ADMIN, &sig(ADMIN))
    }

    /// The admin URL with one parameter replaced (`None` = removed).
    fn admin_url_with(name: &str, value: Option<&str>) -> String {
        let s = sig(ADMIN);
        let mut pairs: Vec<(&str, &str)> = vec![
            ("sdkappid", "1400000000"),
            ("identifier", ADMIN),
            ("usersig", &s),
            ("random", "12345"),
            ("contenttype", "json"),
        ];
        pairs.retain(|(k, _)| *k != name);
        if let Some(v) = value {
            pairs.push((name, v));
        }
        url_with(&pairs)
    }

    fn post(st: &mut State, url: &str, body: &str) -> Reply {
        handle(st, "POST", url, body.as_bytes(), NOW_MS)
    }

    fn import(st: &mut State, body: &str) -> Reply {
        post(st, &admin_url(), body)
    }

    fn doc(reply: &Reply) -> Value {
        serde_json::from_slice(&reply.body).expect("reply is JSON")
    }

    fn code(reply: &Reply) -> u64 {
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(reply.content_type, "application/json");
        let d = doc(reply);
        let c = d["ErrorCode"].as_u64().expect("ErrorCode");
        assert_eq!(d["ActionStatus"], if c == 0 { "OK" } else { "FAIL" });
        assert!(d["ErrorInfo"].is_string());
        c
    }

    fn get(st: &mut State, path: &str) -> Value {
        let r = handle(st, "GET", path, b"", NOW_MS);
        assert_eq!(r.status, 200);
        doc(&r)
    }

    const BODY: &str = r#"{"UserID":"alice","Nick":"Alice","FaceUrl":"http://x/a.png"}"#;

    #[test]
    fn success_body_is_exact() {
        let mut st = state();
        let r = import(&mut st, BODY);
        assert_eq!(
            r.body,
            br#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}"#
        );
        assert_eq!(r.delay_ms, 0);
        let accounts = get(&mut st, "/_emulator/accounts");
        assert_eq!(
            accounts,
            serde_json::json!({"accounts":[{"UserID":"alice","Nick":"Alice","FaceUrl":"http://x/a.png","imports":1}]})
        );
    }

    #[test]
    fn e60002_method_not_post() {
        let mut st = state();
        let r = handle(&mut st, "GET", &admin_url(), BODY.as_bytes(), NOW_MS);
        assert_eq!(code(&r), 60002);
        assert!(st.accounts().is_empty());
        assert_eq!(st.total_calls(), 1);
    }

    #[test]
    fn e60009_unknown_v4_path() {
        let mut st = state();
        let r = post(
            &mut st,
            "/v4/im_open_login_svc/multiaccount_import?sdkappid=1",
            BODY,
        );
        assert_eq!(code(&r), 60009);
        assert_eq!(code(&post(&mut st, "/v4/", "")), 60009);
        // Not an account_import call: not logged.
        assert_eq!(st.total_calls(), 0);
    }

    #[test]
    fn e60002_duplicate_parameter() {
        let mut st = state();
        let url = format!("{}&random=1", admin_url());
        assert_eq!(code(&post(&mut st, &url, BODY)), 60002);
        let url = format!("{}&foo=1&foo=2", admin_url());
        assert_eq!(code(&post(&mut st, &url, BODY)), 60002);
        // Duplicates are found before the SDKAppID is looked at.
        let url = "/v4/im_open_login_svc/account_import?sdkappid=&sdkappid=";
        assert_eq!(code(&post(&mut st, url, BODY)), 60002);
    }

    #[test]
    fn e60002_bad_percent_encoding() {
        let mut st = state();
        let url = format!("{}&x=%zz", admin_url());
        assert_eq!(code(&post(&mut st, &url, BODY)), 60002);
        let url = format!("{}&x=%ff", admin_url());
        assert_eq!(code(&post(&mut st, &url, BODY)), 60002);
    }

    #[test]
    fn e60012_sdkappid_missing_or_empty() {
        let mut st = state();
        assert_eq!(
            code(&post(&mut st, &admin_url_with("sdkappid", None), BODY)),
            60012
        );
        assert_eq!(
            code(&post(&mut st, &admin_url_with("sdkappid", Some("")), BODY)),
            60012
        );
        // Parameter names are case-sensitive.
        assert_eq!(
            code(&post(
                &mut st,
                &admin_url_with("sdkappid", None).replace("?", "?SDKAppID=1400000000&"),
                BODY
            )),
            60012
        );
    }

    #[test]
    fn e60006_sdkappid_not_a_number() {
        let mut st = state();
        for bad in [
            "abc",
            "-1",
            "+1400000000",
            "14e8",
            "99999999999999999999999",
        ] {
            let r = post(&mut st, &admin_url_with("sdkappid", Some(bad)), BODY);
            assert_eq!(code(&r), 60006, "{bad}");
        }
    }

    #[test]
    fn e70020_other_sdkappid() {
        let mut st = state();
        let r = post(
            &mut st,
            &admin_url_with("sdkappid", Some("1400000001")),
            BODY,
        );
        assert_eq!(code(&r), 70020);
    }

    #[test]
    fn e60004_identifier_missing() {
        let mut st = state();
        assert_eq!(
            code(&post(&mut st, &admin_url_with("identifier", None), BODY)),
            60004
        );
        assert_eq!(
            code(&post(
                &mut st,
                &admin_url_with("identifier", Some("")),
                BODY
            )),
            60004
        );
    }

    #[test]
    fn e70002_usersig_missing_or_empty() {
        let mut st = state();
        assert_eq!(
            code(&post(&mut st, &admin_url_with("usersig", None), BODY)),
            70002
        );
        assert_eq!(
            code(&post(&mut st, &admin_url_with("usersig", Some("")), BODY)),
            70002
        );
    }

    #[test]
    fn e60002_random() {
        let mut st = state();
        for bad in [
            None,
            Some(""),
            Some("abc"),
            Some("-1"),
            Some("4294967296"),
            Some("1.5"),
        ] {
            let r = post(&mut st, &admin_url_with("random", bad), BODY);
            assert_eq!(code(&r), 60002, "{bad:?}");
        }
        for ok in ["0", "4294967295"] {
            let r = post(&mut st, &admin_url_with("random", Some(ok)), BODY);
            assert_eq!(code(&r), 0, "{ok}");
        }
    }

    #[test]
    fn e60002_contenttype() {
        let mut st = state();
        for bad in [None, Some(""), Some("JSON"), Some("xml")] {
            let r = post(&mut st, &admin_url_with("contenttype", bad), BODY);
            assert_eq!(code(&r), 60002, "{bad:?}");
        }
    }

    #[test]
    fn e70003_malformed_usersig() {
        let mut st = state();
        for bad in ["abc", "eJyrVg__", "%2A%2A%2A"] {
            let r = post(&mut st, &url_for(ADMIN, bad), BODY);
            assert_eq!(code(&r), 70003, "{bad}");
        }
    }

    #[test]
    fn e70014_usersig_for_other_sdkappid() {
        let mut st = state();
        let s = generate(APP + 1, KEY, ADMIN, NOW, 86_400, None);
        assert_eq!(code(&post(&mut st, &url_for(ADMIN, &s), BODY)), 70014);
    }

    #[test]
    fn e70013_usersig_for_other_identifier() {
        let mut st = state();
        let s = sig("someone_else");
        assert_eq!(code(&post(&mut st, &url_for(ADMIN, &s), BODY)), 70013);
    }

    #[test]
    fn e70001_expired_usersig() {
        let mut st = state();
        let s = generate(APP, KEY, ADMIN, NOW - 200, 100, None);
        assert_eq!(code(&post(&mut st, &url_for(ADMIN, &s), BODY)), 70001);
        // Valid up to and including time + expire.
        let s = generate(APP, KEY, ADMIN, NOW - 100, 100, None);
        assert_eq!(code(&post(&mut st, &url_for(ADMIN, &s), BODY)), 0);
    }

    #[test]
    fn e70009_wrong_key_or_userbuf() {
        let mut st = state();
        let s = generate(APP, "not-the-key", ADMIN, NOW, 86_400, None);
        assert_eq!(code(&post(&mut st, &url_for(ADMIN, &s), BODY)), 70009);
        let s = generate(APP, KEY, ADMIN, NOW, 86_400, Some(b"abc"));
        assert_eq!(code(&post(&mut st, &url_for(ADMIN, &s), BODY)), 70009);
    }

    #[test]
    fn e70403_not_an_admin() {
        let mut st = state();
        let r = post(&mut st, &url_for("alice", &sig("alice")), BODY);
        assert_eq!(code(&r), 70403);
        assert!(st.accounts().is_empty());
    }

    #[test]
    fn several_admins() {
        let mut st = state_with(|c| c.admins = vec!["ops".into(), "backend".into()]);
        assert_eq!(
            code(&post(&mut st, &url_for("backend", &sig("backend")), BODY)),
            0
        );
        assert_eq!(
            code(&post(&mut st, &url_for(ADMIN, &sig(ADMIN)), BODY)),
            70403
        );
    }

    #[test]
    fn e60003_body_not_a_json_object() {
        let mut st = state();
        for bad in ["", "not json", "[1,2]", "\"alice\"", "{\"UserID\":", "null"] {
            assert_eq!(code(&import(&mut st, bad)), 60003, "{bad:?}");
        }
    }

    #[test]
    fn e70402_bad_user_id() {
        let mut st = state();
        let long = "a".repeat(33);
        let bodies = [
            "{}".to_owned(),
            r#"{"Identifier":"alice"}"#.to_owned(),
            r#"{"UserID":""}"#.to_owned(),
            r#"{"UserID":42}"#.to_owned(),
            r#"{"UserID":null}"#.to_owned(),
            format!(r#"{{"UserID":"{long}"}}"#),
            // 11 three-byte characters: 11 characters but 33 bytes.
            format!(r#"{{"UserID":"{}"}}"#, "€".repeat(11)),
        ];
        for body in &bodies {
            assert_eq!(code(&import(&mut st, body)), 70402, "{body}");
        }
        let ok = format!(r#"{{"UserID":"{}"}}"#, "a".repeat(32));
        assert_eq!(code(&import(&mut st, &ok)), 0);
    }

    #[test]
    fn e70402_profile_field_not_a_string() {
        let mut st = state();
        for body in [
            r#"{"UserID":"alice","Nick":5}"#,
            r#"{"UserID":"alice","Nick":null}"#,
            r#"{"UserID":"alice","FaceUrl":["x"]}"#,
            // Type errors come before length errors.
            &format!(
                r#"{{"UserID":"alice","Nick":"{}","FaceUrl":1}}"#,
                "n".repeat(501)
            ),
        ] {
            assert_eq!(code(&import(&mut st, body)), 70402, "{body}");
        }
        assert!(st.accounts().is_empty());
    }

    #[test]
    fn e40601_profile_field_too_long() {
        let mut st = state();
        let long = "n".repeat(501);
        let body = format!(r#"{{"UserID":"alice","Nick":"{long}"}}"#);
        assert_eq!(code(&import(&mut st, &body)), 40601);
        let body = format!(r#"{{"UserID":"alice","FaceUrl":"{long}"}}"#);
        assert_eq!(code(&import(&mut st, &body)), 40601);
        assert!(st.accounts().is_empty());
        let body = format!(r#"{{"UserID":"alice","Nick":"{}"}}"#, "n".repeat(500));
        assert_eq!(code(&import(&mut st, &body)), 0);
    }

    #[test]
    fn unknown_body_fields_ignored() {
        let mut st = state();
        let r = import(&mut st, r#"{"UserID":"bob","Gender":"x","Extra":{"a":1}}"#);
        assert_eq!(code(&r), 0);
        assert_eq!(st.accounts().len(), 1);
    }

    #[test]
    fn idempotent_reimport() {
        let mut st = state();
        assert_eq!(
            code(&import(&mut st, r#"{"UserID":"alice","Nick":"A"}"#)),
            0
        );
        assert_eq!(
            code(&import(&mut st, r#"{"UserID":"alice","FaceUrl":"u"}"#)),
            0
        );
        assert_eq!(
            st.accounts(),
            &[Account {
                user_id: "alice".into(),
                nick: Some("A".into()),
                face_url: Some("u".into()),
                imports: 2,
            }]
        );
    }

    #[test]
    fn e70398_account_cap() {
        let mut st = state_with(|c| {
            c.account_cap = 100;
            c.rate_limit = 0;
        });
        for i in 0..100 {
            let r = import(&mut st, &format!(r#"{{"UserID":"u{i}"}}"#));
            assert_eq!(code(&r), 0);
        }
        assert_eq!(code(&import(&mut st, r#"{"UserID":"u100"}"#)), 70398);
        assert_eq!(
            code(&import(&mut st, r#"{"UserID":"u5","Nick":"five"}"#)),
            0
        );
        assert_eq!(st.accounts().len(), 100);
        assert_eq!(st.accounts().get(5).map(|a| a.imports), Some(2));
    }

    #[test]
    fn e60007_rate_limit() {
        let mut st = state();
        for i in 0..200 {
            let body = format!(r#"{{"UserID":"u{i}"}}"#);
            let r = handle(&mut st, "POST", &admin_url(), body.as_bytes(), NOW_MS + 999);
            assert_eq!(code(&r), 0, "call {i}");
        }
        let r = handle(&mut st, "POST", &admin_url(), BODY.as_bytes(), NOW_MS + 500);
        assert_eq!(code(&r), 60007);
        // Calls stopped at step 2 do not count.
        let r = handle(
            &mut st,
            "POST",
            &admin_url_with("sdkappid", None),
            BODY.as_bytes(),
            NOW_MS + 500,
        );
        assert_eq!(code(&r), 60012);
        // Calls that fail after step 2 do count.
        let r = handle(
            &mut st,
            "POST",
            &admin_url_with("usersig", None),
            b"",
            NOW_MS + 1,
        );
        assert_eq!(code(&r), 60007);
        let r = handle(
            &mut st,
            "POST",
            &admin_url(),
            BODY.as_bytes(),
            NOW_MS + 1000,
        );
        assert_eq!(code(&r), 0);
        assert_eq!(st.accounts().len(), 201);
    }

    #[test]
    fn percent_decoding_of_parameters() {
        let mut st = state_with(|c| c.admins = vec!["ops team+1@x".into()]);
        let id = "ops team+1@x";
        let s = sig(id);
        // Space as %20 and as '+', '+' as %2B, '@' as %40, every UserSig byte escaped.
        let enc_sig: String = s.bytes().map(|b| format!("%{b:02X}")).collect();
        for enc_id in ["ops%20team%2B1%40x", "ops+team%2B1@x"] {
            let r = post(&mut st, &url_for(enc_id, &enc_sig), BODY);
            assert_eq!(code(&r), 0, "{enc_id}");
        }
        // Unescaped '+' is a space, so this names another identifier.
        let r = post(&mut st, &url_for("ops+team+1@x", &s), BODY);
        assert_eq!(code(&r), 70013);
        let r = post(
            &mut st,
            &admin_url_with("sdkappid", Some("%31400000000")),
            BODY,
        );
        assert_eq!(code(&r), 70403);
    }

    fn set_faults(st: &mut State, json: &str) -> Reply {
        handle(st, "POST", "/_emulator/faults", json.as_bytes(), NOW_MS)
    }

    #[test]
    fn fault_502_records_nothing() {
        let mut st = state();
        assert_eq!(set_faults(&mut st, r#"{"http502_rate":1.0}"#).status, 200);
        let r = import(&mut st, BODY);
        assert_eq!(r.status, 502);
        assert_eq!(r.content_type, "text/html");
        assert_eq!(r.body, b"<html>502 Bad Gateway</html>");
        assert!(st.accounts().is_empty());
        let calls = get(&mut st, "/_emulator/calls");
        assert_eq!(
            calls,
            serde_json::json!({"total":1,"calls":[{"user_id":"alice","error_code":null,"http_status":502,"fault":"502"}]})
        );
    }

    #[test]
    fn fault_code_records_nothing() {
        let mut st = state();
        set_faults(&mut st, r#"{"codes":{"70169":1}}"#);
        assert_eq!(code(&import(&mut st, BODY)), 70169);
        assert!(st.accounts().is_empty());
        let c = st.calls().back().cloned();
        assert_eq!(
            c,
            Some(CallRecord {
                user_id: Some("alice".into()),
                error_code: Some(70169),
                http_status: 200,
                fault: Some("70169".into()),
            })
        );
    }

    #[test]
    fn fault_malformed_still_imports() {
        let mut st = state();
        set_faults(&mut st, r#"{"malformed_rate":1}"#);
        let r = import(&mut st, BODY);
        assert_eq!(r.status, 200);
        assert_eq!(r.body, br#"{"ActionStatus":"OK","Err"#);
        assert!(serde_json::from_slice::<Value>(&r.body).is_err());
        assert_eq!(st.accounts().len(), 1);
        let c = st.calls().back().cloned();
        assert_eq!(c.and_then(|c| c.fault), Some("malformed".into()));
    }

    #[test]
    fn fault_latency() {
        let mut st = state();
        set_faults(&mut st, r#"{"latency_ms":250,"script":["latency:5000"]}"#);
        let r = import(&mut st, BODY);
        assert_eq!((code(&r), r.delay_ms), (0, 5000));
        let r = import(&mut st, BODY);
        assert_eq!((code(&r), r.delay_ms), (0, 250));
        // Base latency also applies to rejected calls.
        let r = post(&mut st, &admin_url_with("usersig", None), BODY);
        assert_eq!((code(&r), r.delay_ms), (70002, 250));
        assert_eq!(st.accounts().first().map(|a| a.imports), Some(2));
        // Control endpoints are never delayed.
        assert_eq!(
            handle(&mut st, "GET", "/_emulator/calls", b"", NOW_MS).delay_ms,
            0
        );
    }

    #[test]
    fn fault_script_order() {
        let mut st = state();
        let r = set_faults(
            &mut st,
            r#"{"script":["502","70169","malformed","latency:5000","ok"],"codes":{"70500":1}}"#,
        );
        assert_eq!(r.status, 200);
        assert_eq!(
            doc(&r)["script"],
            serde_json::json!(["502", "70169", "malformed", "latency:5000", "ok"])
        );
        // Calls rejected before step 7 do not consume the script.
        assert_eq!(
            code(&post(&mut st, &admin_url_with("usersig", None), BODY)),
            70002
        );
        assert_eq!(import(&mut st, BODY).status, 502);
        assert_eq!(code(&import(&mut st, BODY)), 70169);
        assert_eq!(import(&mut st, BODY).body, br#"{"ActionStatus":"OK","Err"#);
        assert_eq!(import(&mut st, BODY).delay_ms, 5000);
        assert_eq!(code(&import(&mut st, BODY)), 0);
        // Script exhausted: the rates apply.
        assert_eq!(code(&import(&mut st, BODY)), 70500);
        let faults: Vec<Option<String>> = st.calls().iter().map(|c| c.fault.clone()).collect();
        assert_eq!(
            faults,
            vec![
                None,
                Some("502".into()),
                Some("70169".into()),
                Some("malformed".into()),
                Some("latency:5000".into()),
                None,
                Some("70500".into())
            ]
        );
        assert_eq!(st.accounts().first().map(|a| a.imports), Some(3));
    }

    #[test]
    fn fault_rates_are_roughly_right_and_seeded() {
        let run = |seed: u64| {
            let mut st = state_with(|c| {
                c.seed = Some(seed);
                c.rate_limit = 0;
                c.faults.http502_rate = 0.25;
                c.faults.codes.insert(70169, 0.25);
            });
            (0..2000)
                .map(|_| import(&mut st, BODY).status)
                .collect::<Vec<_>>()
        };
        let a = run(42);
        assert_eq!(a, run(42));
        let n502 = a.iter().filter(|&&s| s == 502).count();
        assert!((400..600).contains(&n502), "{n502}");
    }

    #[test]
    fn faults_endpoint() {
        let mut st = state_with(|c| c.faults.latency_ms = 7);
        let r = set_faults(
            &mut st,
            r#"{"latency_ms":0,"http502_rate":0.0,"malformed_rate":0.0,"codes":{"70169":0.5},"script":["502","70169","malformed","latency:5000","ok"]}"#,
        );
        assert_eq!(r.status, 200);
        assert_eq!(
            doc(&r),
            serde_json::json!({"latency_ms":0,"http502_rate":0.0,"malformed_rate":0.0,"codes":{"70169":0.5},"script":["502","70169","malformed","latency:5000","ok"]})
        );
        // An empty object replaces everything, including the flag's latency.
        let r = set_faults(&mut st, "{}");
        assert_eq!(doc(&r)["latency_ms"], 0);
        for bad in [
            "",
            "nope",
            "[]",
            r#"{"http502_rate":1.5}"#,
            r#"{"http502_rate":"0.5"}"#,
            r#"{"http502_rate":0.6,"malformed_rate":0.6}"#,
            r#"{"codes":{"abc":0.5}}"#,
            r#"{"codes":{"0":0.5}}"#,
            r#"{"codes":{"502":0.5}}"#,
            r#"{"script":["boom"]}"#,
            r#"{"script":["latency:x"]}"#,
            r#"{"script":"502"}"#,
            r#"{"latency_ms":-1}"#,
            r#"{"typo":1}"#,
        ] {
            let r = set_faults(&mut st, bad);
            assert_eq!(r.status, 400, "{bad}");
            assert!(doc(&r)["error"].is_string());
        }
        assert_eq!(get(&mut st, "/_emulator/faults")["latency_ms"], 0);
    }

    #[test]
    fn reset_restores_flag_defaults() {
        let mut st = state_with(|c| c.faults.latency_ms = 9);
        import(&mut st, BODY);
        set_faults(&mut st, r#"{"http502_rate":1}"#);
        import(&mut st, BODY);
        let r = handle(&mut st, "POST", "/_emulator/reset", b"", NOW_MS);
        assert_eq!((r.status, doc(&r)), (200, serde_json::json!({"ok":true})));
        assert!(st.accounts().is_empty());
        assert_eq!(st.total_calls(), 0);
        assert_eq!(st.faults().latency_ms, 9);
        assert_eq!(st.faults().http502_rate, 0.0);
        let r = import(&mut st, BODY);
        assert_eq!((code(&r), r.delay_ms), (0, 9));
    }

    #[test]
    fn health_and_404() {
        let mut st = state();
        assert_eq!(
            get(&mut st, "/_emulator/health"),
            serde_json::json!({"ok":true,"sdkappid":1400000000u64})
        );
        for (m, p) in [
            ("GET", "/"),
            ("GET", "/_emulator/reset"),
            ("DELETE", "/_emulator/accounts"),
            ("GET", "/v5/x"),
        ] {
            let r = handle(&mut st, m, p, b"", NOW_MS);
            assert_eq!(r.status, 404, "{m} {p}");
            assert_eq!(r.content_type, "application/json");
            assert!(doc(&r)["error"].is_string());
        }
    }

    #[test]
    fn usersig_never_in_log_or_reply() {
        let mut st = state_with(|c| c.account_cap = 1);
        let s = sig(ADMIN);
        let other = sig("alice");
        let mut replies = Vec::new();
        let bodies = [
            "",
            "x",
            "{}",
            BODY,
            r#"{"UserID":"zed"}"#,
            r#"{"UserID":"a","Nick":1}"#,
        ];
        let urls = [
            url_for(ADMIN, &s),
            url_for("alice", &other),
            url_for("bob", &other),
            format!("{}&usersig={s}", url_for(ADMIN, &s)),
            admin_url_with("random", Some("x")),
            admin_url_with("contenttype", None),
            url_for(ADMIN, &format!("{s}x")),
        ];
        for url in &urls {
            for body in bodies {
                replies.push(post(&mut st, url, body));
                replies.push(handle(&mut st, "GET", url, body.as_bytes(), NOW_MS));
            }
        }
        set_faults(
            &mut st,
            r#"{"script":["502","70169","malformed","latency:1"]}"#,
        );
        for _ in 0..4 {
            replies.push(import(&mut st, BODY));
        }
        replies.push(handle(&mut st, "GET", "/_emulator/calls", b"", NOW_MS));
        replies.push(handle(&mut st, "GET", "/_emulator/accounts", b"", NOW_MS));
        replies.push(handle(&mut st, "GET", "/_emulator/faults", b"", NOW_MS));
        for r in &replies {
            let text = String::from_utf8_lossy(&r.body);
            assert!(!text.contains(&s) && !text.contains(&other), "{text}");
            // Not even a long fragment of it.
            assert!(!text.contains(s.get(..24).unwrap_or("")), "{text}");
        }
        let log = format!("{:?}", st.calls());
        assert!(!log.contains(s.get(..24).unwrap_or("")));
        assert!(!log.contains(other.get(..24).unwrap_or("")));
    }

    #[test]
    fn never_panics_on_junk() {
        let mut st = state();
        let mut rng = Rng::new(1);
        let pieces = [
            "",
            "?",
            "&",
            "=",
            "%",
            "%4",
            "%zz",
            "%ff",
            "+",
            "sdkappid=",
            "sdkappid=1400000000",
            "identifier=administrator",
            "usersig=eJy",
            "random=1",
            "contenttype=json",
            "é",
            "\u{0}",
        ];
        for _ in 0..3000 {
            let mut url = String::from(ACCOUNT_IMPORT_PATH);
            for _ in 0..(rng.next_u64() % 8) {
                let i = (rng.next_u64() % pieces.len() as u64) as usize;
                url.push_str(pieces.get(i).copied().unwrap_or(""));
                url.push(if rng.next_u64() & 1 == 0 { '&' } else { '?' });
            }
            let len = (rng.next_u64() % 64) as usize;
            let body: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
            let method = ["POST", "GET", "", "post"][(rng.next_u64() % 4) as usize];
            let now = rng.next_u64();
            let r = handle(&mut st, method, &url, &body, now);
            assert!(r.status == 200 || r.status == 502);
            let _ = handle(&mut st, "POST", "/_emulator/faults", &body, now);
        }
        st.reset();
        let big = vec![b'['; MAX_BODY_BYTES + 1];
        assert_eq!(
            code(&import(&mut st, &String::from_utf8_lossy(&big))),
            60003
        );
        let deep = "[".repeat(100_000);
        assert_eq!(code(&import(&mut st, &deep)), 60003);
    }

    #[test]
    fn flags() {
        let run = |args: &[&str]| match parse_args(args.iter().copied()) {
            Ok(Command::Run(c)) => Ok(c),
            Ok(Command::Help) => Err("help".to_owned()),
            Err(e) => Err(e),
        };
        assert_eq!(run(&[]), Ok(Config::default()));
        assert_eq!(parse_args(["--listen", "x", "--help"]), Ok(Command::Help));
        let c = run(&[
            "--listen",
            "127.0.0.1:0",
            "--sdkappid=20000001",
            "--secret-key",
            "k",
            "--admin",
            "a",
            "--admin",
            "b",
            "--account-cap",
            "100",
            "--rate-limit",
            "5",
            "--latency-ms",
            "30",
            "--fault-502-rate",
            "0.1",
            "--fault-malformed-rate",
            "0.2",
            "--fault-code",
            "70169:0.3",
            "--fault-code",
            "70500:0.1",
            "--seed",
            "9",
        ])
        .expect("valid flags");
        assert_eq!(c.listen, "127.0.0.1:0");
        assert_eq!(c.sdkappid, 20_000_001);
        assert_eq!(c.secret_key, "k");
        assert_eq!(c.admins, vec!["a".to_owned(), "b".to_owned()]);
        assert_eq!((c.account_cap, c.rate_limit, c.seed), (100, 5, Some(9)));
        assert_eq!(c.faults.latency_ms, 30);
        assert_eq!((c.faults.http502_rate, c.faults.malformed_rate), (0.1, 0.2));
        assert_eq!(c.faults.codes.get(&70169), Some(&0.3));
        let eleven: Vec<String> = (0..11)
            .flat_map(|i| ["--admin".into(), format!("a{i}")])
            .collect();
        for bad in [
            vec!["--nope"],
            vec!["--sdkappid"],
            vec!["--sdkappid", "x"],
            vec!["--sdkappid", "1", "--sdkappid", "2"],
            vec!["--fault-502-rate", "2"],
            vec!["--fault-502-rate", "NaN"],
            vec!["--fault-code", "70169"],
            vec!["--fault-code", "0:0.1"],
            vec!["--fault-502-rate", "0.7", "--fault-code", "70169:0.7"],
            vec!["--admin", ""],
            vec!["--secret-key", ""],
            vec!["--latency-ms", "-5"],
            vec!["positional"],
        ] {
            assert!(run(&bad).is_err(), "{bad:?}");
        }
        let eleven: Vec<&str> = eleven.iter().map(String::as_str).collect();
        assert!(run(&eleven).is_err());
    }
}
