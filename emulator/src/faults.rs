//! Injected faults: what a client of Tencent must survive, chosen per Tencent API call.

use crate::api::Api;
use crate::query::parse_decimal_u64;
use crate::rng::Rng;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Largest injectable latency (10 minutes).
pub const MAX_LATENCY_MS: u64 = 600_000;
/// Longest fault script accepted.
pub const MAX_SCRIPT_LEN: usize = 100_000;

/// One injected behaviour for one Tencent API call.
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
    /// multiaccount_import: every account of the call lands in FailAccounts and is not
    /// imported. Other APIs process the call normally.
    FailAccounts,
}

impl FaultAction {
    /// Parses a script entry: `ok`, `502`, `malformed`, `fail_accounts`, `latency:MS` or a
    /// non-zero error code.
    pub fn parse(entry: &str) -> Result<Self, String> {
        match entry {
            "ok" => Ok(Self::Ok),
            "502" => Ok(Self::Http502),
            "malformed" => Ok(Self::Malformed),
            "fail_accounts" => Ok(Self::FailAccounts),
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
            Self::FailAccounts => "fail_accounts".to_owned(),
        }
    }
}

/// An injectable error code: decimal, non-zero (0 is success), not 502 (that is the HTTP fault).
pub(crate) fn parse_error_code(s: &str) -> Result<u32, String> {
    let code = parse_decimal_u64(s)
        .and_then(|c| u32::try_from(c).ok())
        .ok_or_else(|| {
            format!(
                "bad fault {s:?}: expected ok, 502, malformed, fail_accounts, latency:MS or an error code"
            )
        })?;
    match code {
        0 => Err("error code 0 means success; use \"ok\"".to_owned()),
        502 => Err("502 is the HTTP 502 fault, not an ErrorCode".to_owned()),
        code => Ok(code),
    }
}

/// A probability: finite and within 0..=1.
pub(crate) fn check_rate(what: &str, rate: f64) -> Result<f64, String> {
    if rate.is_finite() && (0.0..=1.0).contains(&rate) {
        Ok(rate)
    } else {
        Err(format!("{what} must be a number within 0..=1"))
    }
}

/// The fault configuration: a base latency, per-call probabilities, a per-account probability
/// for multiaccount_import, a FIFO script, and the APIs all of it applies to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultConfig {
    /// Delay applied to every reply of an API the faults apply to, in milliseconds.
    pub latency_ms: u64,
    /// Probability of an HTTP 502.
    pub http502_rate: f64,
    /// Probability of a truncated JSON reply (the import still happens).
    pub malformed_rate: f64,
    /// Probability of each injected ErrorCode.
    pub codes: BTreeMap<u32, f64>,
    /// Entries consumed one per call that passes authentication; wins over rates.
    pub script: VecDeque<FaultAction>,
    /// Probability that one account of a multiaccount_import call lands in FailAccounts (drawn
    /// per account, independently of the per-call faults above).
    pub fail_accounts_rate: f64,
    /// The APIs the faults (latency included) apply to; `None` = every API.
    pub apis: Option<BTreeSet<Api>>,
}

/// JSON view of a [`FaultConfig`], in the shape `POST /_emulator/faults` accepts.
#[derive(Serialize)]
pub(crate) struct FaultConfigView {
    latency_ms: u64,
    http502_rate: f64,
    malformed_rate: f64,
    codes: BTreeMap<String, f64>,
    script: Vec<String>,
    fail_accounts_rate: f64,
    apis: Option<Vec<&'static str>>,
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
                "codes" => cfg.codes = json_codes(value)?,
                "script" => cfg.script = json_script(value)?,
                "fail_accounts_rate" => {
                    cfg.fail_accounts_rate = json_rate("fail_accounts_rate", value)?;
                }
                "apis" => cfg.apis = json_apis(value)?,
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
        // Per account, not per call: not part of the sum below.
        check_rate("the fail_accounts rate", self.fail_accounts_rate)?;
        let mut total = check_rate("the 502 rate", self.http502_rate)?
            + check_rate("the malformed rate", self.malformed_rate)?;
        for (code, rate) in &self.codes {
            parse_error_code(&code.to_string())?;
            total += check_rate("a code rate", *rate)?;
        }
        // Tolerance for rates such as 0.1 + 0.2 + 0.7 that add up to a hair above 1 in binary.
        if total > 1.0 + 1e-9 {
            return Err(format!("fault rates add up to {total}, more than 1"));
        }
        Ok(())
    }

    /// The configuration as JSON, in the shape `POST /_emulator/faults` accepts.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self.view()).unwrap_or(Value::Null)
    }

    /// The serialisable view, so that codes become JSON object keys and the script names.
    pub(crate) fn view(&self) -> FaultConfigView {
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
            fail_accounts_rate: self.fail_accounts_rate,
            apis: self
                .apis
                .as_ref()
                .map(|apis| apis.iter().map(|api| api.name()).collect()),
        }
    }

    /// Whether the faults apply to calls of `api`.
    pub(crate) fn applies_to(&self, api: Api) -> bool {
        self.apis.as_ref().is_none_or(|apis| apis.contains(&api))
    }

    /// The fault for the next call of `api`: none if the faults do not apply to it, else the
    /// script's head, else one draw against the rates.
    pub(crate) fn pick(&mut self, api: Api, rng: &mut Rng) -> FaultAction {
        if !self.applies_to(api) {
            return FaultAction::Ok;
        }
        if let Some(action) = self.script.pop_front() {
            return action;
        }
        let any = self.http502_rate > 0.0
            || self.malformed_rate > 0.0
            || self.codes.values().any(|&r| r > 0.0);
        // No draw without rates, so a fault-free run leaves the generator where a seed put it.
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

/// `"codes": {"70169": 0.5}`: JSON object keys are strings, so codes arrive as text.
fn json_codes(value: &Value) -> Result<BTreeMap<u32, f64>, String> {
    let codes = value
        .as_object()
        .ok_or_else(|| "codes must be an object {\"CODE\": rate}".to_owned())?;
    let mut out = BTreeMap::new();
    for (code, rate) in codes {
        let code = parse_error_code(code)?;
        out.insert(code, json_rate("a code rate", rate)?);
    }
    Ok(out)
}

/// `"apis": ["account_import", ...]`: a non-empty list of API names; `null` = every API.
fn json_apis(value: &Value) -> Result<Option<BTreeSet<Api>>, String> {
    let entries = match value {
        Value::Null => return Ok(None),
        Value::Array(entries) if !entries.is_empty() => entries,
        _ => return Err("apis must be a non-empty array of API names, or null".to_owned()),
    };
    let names: Vec<&str> = Api::ALL.iter().map(|api| api.name()).collect();
    let mut apis = BTreeSet::new();
    for entry in entries {
        let api = entry.as_str().and_then(Api::from_name).ok_or_else(|| {
            format!(
                "unknown API {entry} in apis: expected one of {}",
                names.join(", ")
            )
        })?;
        apis.insert(api);
    }
    Ok(Some(apis))
}

/// `"script": ["502", 70169, ...]`: bare numbers are accepted because codes are numbers elsewhere.
fn json_script(value: &Value) -> Result<VecDeque<FaultAction>, String> {
    let entries = value
        .as_array()
        .ok_or_else(|| "script must be an array of strings".to_owned())?;
    let mut script = VecDeque::with_capacity(entries.len().min(MAX_SCRIPT_LEN));
    for entry in entries {
        let action = match entry {
            Value::String(s) => FaultAction::parse(s)?,
            Value::Number(n) => FaultAction::parse(&n.to_string())?,
            _ => return Err("script entries must be strings".to_owned()),
        };
        script.push_back(action);
    }
    Ok(script)
}

#[cfg(test)]
mod tests;
