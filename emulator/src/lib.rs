//! A strict local stand-in for Tencent Cloud Chat's account and profile REST APIs:
//! `v4/im_open_login_svc/{account_import, multiaccount_import, account_check, account_delete,
//! kick}` and `v4/profile/{portrait_set, portrait_get}`.
//!
//! tim-onboard's integration tests and developers point the Worker at this emulator instead of
//! Tencent: it checks requests the way the real service documents them (query parameters, admin
//! UserSig, body fields, the per-API calls/s limits, the 100-account cap of the free edition),
//! keeps the accounts, kicks, deletions, per-API counts and a call log in memory, and can inject
//! the faults a client must survive (HTTP 502, error codes such as 70169, truncated JSON,
//! latency, accounts in multiaccount_import's FailAccounts).
//!
//! The emulator is an independent oracle: it shares no code with tim-onboard, so a mistake in the
//! Worker's UserSig generator cannot be mirrored by the checker that is meant to catch it.
//!
//! Everything here is pure: [`handle`] maps one HTTP request onto a [`Reply`] given a [`State`]
//! and the current time, so it is unit-tested without sockets. `main.rs` only adds the server.
//! The UserSig is never stored, logged or echoed.

mod account_batch;
mod account_import;
mod api;
mod body;
mod cli;
mod config;
mod control;
mod faults;
mod kick;
mod login;
mod multiaccount_import;
mod profile;
mod query;
mod reply;
mod rng;
mod routes;
mod state;
mod tencent;
pub mod usersig;

#[cfg(test)]
mod test_support;

pub use account_import::{
    ACCOUNT_IMPORT_PATH, MAX_BODY_BYTES, MAX_PROFILE_BYTES, MAX_USER_ID_BYTES,
};
pub use api::Api;
pub use body::MAX_BATCH;
pub use cli::{parse_args, Command};
pub use config::{
    Config, DEFAULT_ADMIN, DEFAULT_BATCH_RATE_LIMIT, DEFAULT_LISTEN, DEFAULT_RATE_LIMIT,
    DEFAULT_SDKAPPID, DEFAULT_SECRET_KEY, MAX_ADMINS,
};
pub use faults::{FaultAction, FaultConfig, MAX_LATENCY_MS, MAX_SCRIPT_LEN};
pub use reply::Reply;
pub use rng::Rng;
pub use routes::handle;
pub use state::{Account, ApiCounts, CallRecord, Kick, State, MAX_CALL_LOG, REIMPORT_BLOCK_MS};
