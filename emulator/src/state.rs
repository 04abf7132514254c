//! Everything the emulator remembers between requests: accounts, kicks, deletions, call log,
//! per-API call and breach counts, faults, rate windows.

use crate::api::Api;
use crate::config::Config;
use crate::faults::{FaultAction, FaultConfig};
use crate::rng::Rng;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, VecDeque};

/// Call-log entries kept (oldest dropped first); `total` still counts every call.
pub const MAX_CALL_LOG: usize = 1_000_000;
/// How long `--reimport-block` refuses a deleted UserID: "three months", taken as 90 days.
pub const REIMPORT_BLOCK_MS: u64 = 90 * 86_400 * 1000;

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
    /// How many successful imports (account_import, or an entry of multiaccount_import) named
    /// this UserID.
    pub imports: u64,
}

/// One call of a Tencent API, as `GET /_emulator/calls` lists it (never holds the UserSig).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallRecord {
    /// Which API was called.
    pub api: Api,
    /// The account the call is about when the body parsed as a JSON object with it as a string:
    /// `UserID` of account_import and kick, `From_Account` of portrait_set; else none.
    pub user_id: Option<String>,
    /// The ErrorCode the call resolved to (also for `malformed`); `None` for an HTTP 502.
    pub error_code: Option<u32>,
    /// HTTP status sent: 200 or 502.
    pub http_status: u16,
    /// Name of the injected fault, if any (see [`FaultAction::name`]).
    pub fault: Option<String>,
    /// multiaccount_import's `FailAccounts` when it answered them (omitted for other APIs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fail_accounts: Option<Vec<String>>,
}

/// The last kick of one UserID, as `GET /_emulator/kicks` lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Kick {
    /// Unix seconds of the last kick: UserSigs issued (`TLS.time`) before it no longer log in.
    pub kicked_at: u64,
    /// How many kicks named this UserID.
    pub kicks: u64,
}

/// Calls and rate-limit breaches of one API since start or the last reset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApiCounts {
    /// Every call routed to the API, whatever its outcome.
    pub calls: u64,
    /// Calls answered 60007 because they were over the API's per-second limit.
    pub breaches: u64,
}

/// Why an otherwise valid import was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ImportRefusal {
    /// A new UserID would exceed `--account-cap`.
    CapReached,
    /// The UserID was deleted less than 90 days ago and `--reimport-block` is on.
    ReimportBlocked,
    /// The UserID index points past the account list (a bug, reported rather than panicking).
    IndexOutOfSync,
}

/// A fixed one-second window of one API's calls.
#[derive(Debug, Clone, Copy, Default)]
struct Window {
    second: u64,
    calls: u64,
}

/// The emulator's whole mutable state: configuration, accounts, call log, faults, rate windows.
#[derive(Debug, Clone)]
pub struct State {
    config: Config,
    accounts: Vec<Account>,
    index: HashMap<String, usize>,
    kicks: BTreeMap<String, Kick>,
    /// Unix milliseconds of each UserID's last deletion.
    deleted: BTreeMap<String, u64>,
    calls: VecDeque<CallRecord>,
    total_calls: u64,
    counts: BTreeMap<Api, ApiCounts>,
    faults: FaultConfig,
    windows: BTreeMap<Api, Window>,
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
            kicks: BTreeMap::new(),
            deleted: BTreeMap::new(),
            calls: VecDeque::new(),
            total_calls: 0,
            counts: BTreeMap::new(),
            windows: BTreeMap::new(),
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

    /// Number of Tencent API calls since start or the last reset.
    pub fn total_calls(&self) -> u64 {
        self.total_calls
    }

    /// The account with this UserID, if imported.
    pub fn account(&self, user_id: &str) -> Option<&Account> {
        self.index.get(user_id).and_then(|&i| self.accounts.get(i))
    }

    /// Last kick per UserID, sorted by UserID.
    pub fn kicks(&self) -> &BTreeMap<String, Kick> {
        &self.kicks
    }

    /// Unix milliseconds of each deleted UserID's last deletion, sorted by UserID.
    pub fn deleted(&self) -> &BTreeMap<String, u64> {
        &self.deleted
    }

    /// Calls and breaches of `api` since start or the last reset.
    pub fn counts(&self, api: Api) -> ApiCounts {
        self.counts.get(&api).copied().unwrap_or_default()
    }

    /// The fault configuration in force (including what is left of the script).
    pub fn faults(&self) -> &FaultConfig {
        &self.faults
    }

    /// Replaces the fault configuration until the next reset.
    pub(crate) fn set_faults(&mut self, faults: FaultConfig) {
        self.faults = faults;
    }

    /// Clears accounts, kicks, deletions, call log, counts and rate windows, and restores the
    /// flags' fault configuration.
    pub fn reset(&mut self) {
        self.accounts.clear();
        self.index.clear();
        self.kicks.clear();
        self.deleted.clear();
        self.calls.clear();
        self.total_calls = 0;
        self.counts.clear();
        self.faults = self.config.faults.clone();
        self.windows.clear();
    }

    /// The fault for the next authenticated call of `api`.
    pub(crate) fn next_fault(&mut self, api: Api) -> FaultAction {
        self.faults.pick(api, &mut self.rng)
    }

    /// One draw against `fail_accounts_rate`: true when this account is to land in FailAccounts.
    pub(crate) fn draw_fail_account(&mut self) -> bool {
        let rate = self.faults.fail_accounts_rate;
        // No draw without a rate, so a fault-free run leaves the generator where a seed put it.
        rate > 0.0 && self.rng.next_f64() < rate
    }

    /// Calls per second allowed for `api`: `--batch-rate-limit` or `--rate-limit`; 0 = no limit.
    pub(crate) fn rate_limit(&self, api: Api) -> u32 {
        if api.is_batch() {
            self.config.batch_rate_limit
        } else {
            self.config.rate_limit
        }
    }

    /// Counts one call of `api` in its own one-second window; true when that window is over the
    /// API's limit.
    pub(crate) fn over_rate_limit(&mut self, api: Api, now_ms: u64) -> bool {
        let limit = u64::from(self.rate_limit(api));
        // Fixed windows aligned on whole seconds, like a per-second quota.
        let second = now_ms / 1000;
        let window = self.windows.entry(api).or_default();
        if window.second != second {
            *window = Window { second, calls: 0 };
        }
        window.calls = window.calls.saturating_add(1);
        limit > 0 && window.calls > limit
    }

    /// Counts one call of `api`, whatever becomes of it.
    pub(crate) fn count_call(&mut self, api: Api) {
        let counts = self.counts.entry(api).or_default();
        counts.calls = counts.calls.saturating_add(1);
    }

    /// Counts one call of `api` refused with 60007.
    pub(crate) fn count_breach(&mut self, api: Api) {
        let counts = self.counts.entry(api).or_default();
        counts.breaches = counts.breaches.saturating_add(1);
    }

    /// Appends to the call log, dropping the oldest entry so memory stays bounded.
    pub(crate) fn record(&mut self, call: CallRecord) {
        if self.calls.len() >= MAX_CALL_LOG {
            self.calls.pop_front();
        }
        self.calls.push_back(call);
        self.total_calls = self.total_calls.saturating_add(1);
    }

    /// Inserts a new account or updates the given fields of an existing one (re-import is idempotent).
    pub(crate) fn import_account(
        &mut self,
        user_id: String,
        nick: Option<&str>,
        face_url: Option<&str>,
        now_ms: u64,
    ) -> Result<(), ImportRefusal> {
        if let Some(i) = self.index.get(&user_id).copied() {
            let account = self
                .accounts
                .get_mut(i)
                .ok_or(ImportRefusal::IndexOutOfSync)?;
            // A re-import without Nick or FaceUrl must not erase what an earlier import set.
            if let Some(n) = nick {
                account.nick = Some(n.to_owned());
            }
            if let Some(f) = face_url {
                account.face_url = Some(f.to_owned());
            }
            account.imports = account.imports.saturating_add(1);
            return Ok(());
        }
        if let Some(&deleted_ms) = self.deleted.get(&user_id) {
            if self.config.reimport_block && now_ms.saturating_sub(deleted_ms) < REIMPORT_BLOCK_MS {
                return Err(ImportRefusal::ReimportBlocked);
            }
        }
        // The cap counts the accounts that exist now: a deletion frees a place.
        let cap = self.config.account_cap;
        if cap > 0 && self.accounts.len() >= cap {
            return Err(ImportRefusal::CapReached);
        }
        self.deleted.remove(&user_id);
        self.index.insert(user_id.clone(), self.accounts.len());
        self.accounts.push(Account {
            user_id,
            nick: nick.map(str::to_owned),
            face_url: face_url.map(str::to_owned),
            imports: 1,
        });
        Ok(())
    }

    /// Sets Nick and/or FaceUrl of an existing account (portrait_set); false if there is none.
    pub(crate) fn set_profile(
        &mut self,
        user_id: &str,
        nick: Option<&str>,
        face_url: Option<&str>,
    ) -> bool {
        let Some(account) = self
            .index
            .get(user_id)
            .copied()
            .and_then(|i| self.accounts.get_mut(i))
        else {
            return false;
        };
        if let Some(n) = nick {
            account.nick = Some(n.to_owned());
        }
        if let Some(f) = face_url {
            account.face_url = Some(f.to_owned());
        }
        true
    }

    /// Deletes an account with its profile (account_delete); false if there is none. The
    /// deletion time is kept for `--reimport-block`; a kick record stays.
    pub(crate) fn delete_account(&mut self, user_id: &str, now_ms: u64) -> bool {
        let Some(i) = self.index.remove(user_id) else {
            return false;
        };
        if i >= self.accounts.len() {
            return false;
        }
        self.accounts.remove(i);
        // Later accounts moved down by one; the list keeps insertion order.
        for (j, account) in self.accounts.iter().enumerate().skip(i) {
            self.index.insert(account.user_id.clone(), j);
        }
        self.deleted.insert(user_id.to_owned(), now_ms);
        true
    }

    /// Records a kick (kick): UserSigs issued before this second stop logging in.
    pub(crate) fn kick(&mut self, user_id: &str, now_ms: u64) {
        let kick = self.kicks.entry(user_id.to_owned()).or_insert(Kick {
            kicked_at: 0,
            kicks: 0,
        });
        kick.kicked_at = now_ms / 1000;
        kick.kicks = kick.kicks.saturating_add(1);
    }
}
