//! What lives as long as the isolate: caches and memories that make later requests cheaper and
//! safer. Each part has its own cell and no borrow is held across an `await`, because requests in
//! one isolate run concurrently.

use crate::config::{self, TimConfig};
use crate::dedupe::Recent;
use crate::drive::Reach;
use crate::identity::Rule;
use crate::job::{self, OnDelete};
use crate::lifecycle::UserState;
use crate::pacer::Pacer;
use crate::region::Region;
use crate::settings::{ConfigError, Settings};
use crate::usersig::AdminSigCache;
use crate::webhook::{jwt, Configured, Provider};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

/// A provider's settings as read once: off (`None`), usable, or the error naming the setting.
pub type ProviderConfig = Result<Option<Rc<Configured>>, ConfigError>;

/// The isolate's state.
#[derive(Debug, Default)]
pub struct IsolateState {
    /// The admin UserSig.
    pub sig: RefCell<AdminSigCache>,
    /// (SDKAppID, data centre) that last accepted a call under `TIM_REGION=auto`.
    pub remembered: Cell<Option<(u64, Region)>>,
    /// Replay keys and imported events seen lately.
    pub recent: RefCell<Recent>,
    /// JWKS documents fetched.
    pub keys: jwt::KeyCache,
    /// Where the last Tencent call went and whether it got through.
    pub reach: RefCell<Option<Reach>>,
    /// Spaces this isolate's Tencent calls to the per-API rates.
    pub pacer: RefCell<Pacer>,
    /// What was last applied per user, when no D1 database keeps it (best effort, bounded).
    pub users: RefCell<HashMap<String, UserState>>,
    /// UserIDs known to exist in Tencent (a login imports each at most once per isolate).
    known: RefCell<std::collections::HashSet<String>>,
    /// JWKS URLs found through OpenID discovery, by discovery URL.
    pub discovered: RefCell<HashMap<String, String>>,
    /// Settings read so far. Vars and secrets are fixed for a Worker version (changing one
    /// deploys a new version, in new isolates), so each is read from the runtime once.
    settings: RefCell<HashMap<Box<str>, Option<String>>>,
    /// Providers' parsed settings (secrets decoded once per isolate, for the same reason).
    providers: RefCell<HashMap<&'static str, ProviderConfig>>,
    /// The Tencent settings, parsed once per isolate (same reason).
    tim: RefCell<Option<Result<Rc<TimConfig>, ConfigError>>>,
    /// `TIM_LOG_DELIVERIES`, parsed once per isolate (same reason).
    log_every: RefCell<Option<Result<bool, ConfigError>>>,
    /// Per provider settings prefix: its UserID rule and `TIM_ON_DELETE`, parsed once.
    rules: RefCell<HashMap<&'static str, RulesMemo>>,
}

/// The value in `cell`, made by `make` on first use and kept (an error too: settings cannot change
/// before the next deploy).
fn once<T: Clone>(cell: &RefCell<Option<T>>, make: impl FnOnce() -> T) -> T {
    if let Some(v) = cell.borrow().as_ref() {
        return v.clone();
    }
    let v = make();
    *cell.borrow_mut() = Some(v.clone());
    v
}

/// A provider's UserID rule and `TIM_ON_DELETE`, or why its settings are wrong.
type RulesMemo = Result<Rc<(Rule, OnDelete)>, ConfigError>;

/// Settings read through the isolate's memo.
pub struct Memo<'a> {
    inner: &'a dyn Settings,
    memo: &'a RefCell<HashMap<Box<str>, Option<String>>>,
}

impl Settings for Memo<'_> {
    fn raw(&self, name: &str) -> Option<String> {
        if let Some(v) = self.memo.borrow().get(name) {
            return v.clone();
        }
        let v = self.inner.raw(name);
        self.memo.borrow_mut().insert(name.into(), v.clone());
        v
    }
}

impl IsolateState {
    /// `inner`, read at most once per name for the isolate's life.
    pub fn settings<'a>(&'a self, inner: &'a dyn Settings) -> Memo<'a> {
        Memo {
            inner,
            memo: &self.settings,
        }
    }

    /// Remembers what was applied to a user; the memory is bounded, oldest forgotten wholesale.
    pub fn remember_user(&self, user_id: &str, s: UserState) {
        let mut users = self.users.borrow_mut();
        if users.len() >= crate::dedupe::CAPACITY && !users.contains_key(user_id) {
            users.clear();
        }
        users.insert(user_id.to_owned(), s);
    }

    /// Whether this UserID is known to exist in Tencent.
    pub fn known_user(&self, user_id: &str) -> bool {
        self.known.borrow().contains(user_id)
    }

    /// Remembers that this UserID exists; the memory is bounded, forgotten wholesale.
    pub fn remember_known(&self, user_id: &str) {
        let mut known = self.known.borrow_mut();
        if known.len() >= crate::dedupe::CAPACITY {
            known.clear();
        }
        known.insert(user_id.to_owned());
    }

    /// The Tencent settings, read and validated once per isolate (an error is kept too: it
    /// cannot change before the next deploy).
    pub fn tim_config(&self, settings: &dyn Settings) -> Result<Rc<TimConfig>, ConfigError> {
        once(&self.tim, || TimConfig::load(settings).map(Rc::new))
    }

    /// Whether every answered delivery is logged (`TIM_LOG_DELIVERIES`), read once per isolate.
    pub fn log_every_delivery(&self, settings: &dyn Settings) -> Result<bool, ConfigError> {
        once(&self.log_every, || config::log_every_delivery(settings))
    }

    /// The UserID rule of the provider whose settings start with `prefix`, with
    /// `TIM_ON_DELETE`; read once per isolate.
    pub fn rules(
        &self,
        settings: &dyn Settings,
        prefix: &'static str,
        known: &'static [&'static str],
    ) -> Result<Rc<(Rule, OnDelete)>, ConfigError> {
        if let Some(r) = self.rules.borrow().get(prefix) {
            return r.clone();
        }
        let r = config::userid_rule(settings, prefix, known)
            .and_then(|rule| Ok(Rc::new((rule, job::on_delete(settings)?))));
        self.rules.borrow_mut().insert(prefix, r.clone());
        r
    }

    /// `provider`'s parsed settings, read once per isolate.
    pub fn provider(&self, provider: Provider, settings: &dyn Settings) -> ProviderConfig {
        if let Some(c) = self.providers.borrow().get(provider.name) {
            return c.clone();
        }
        let c = provider.configure(settings).map(|c| c.map(Rc::new));
        self.providers.borrow_mut().insert(provider.name, c.clone());
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setting_is_parsed_once_and_so_is_its_error() {
        let reads = Cell::new(0);
        let value = Cell::new("errors");
        let settings = |name: &str| {
            reads.set(reads.get() + 1);
            (name == config::TIM_LOG_DELIVERIES).then(|| value.get().to_owned())
        };
        let state = IsolateState::default();
        assert_eq!(state.log_every_delivery(&settings), Ok(false));
        value.set("loud");
        assert_eq!(state.log_every_delivery(&settings), Ok(false));
        assert_eq!(reads.get(), 1);
        let state = IsolateState::default();
        let e = state.log_every_delivery(&settings).unwrap_err();
        assert!(e.to_string().contains(config::TIM_LOG_DELIVERIES), "{e}");
        assert_eq!(state.log_every_delivery(&settings), Err(e));
        assert_eq!(reads.get(), 2);
    }
}
