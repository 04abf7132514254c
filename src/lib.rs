//! tim-onboard: a Cloudflare Worker that turns auth-provider webhooks into Tencent Cloud Chat
//! accounts, and the same core for native tools.
//!
//! Layers, each importing only from the ones below it (docs/architecture.md):
//! 1. leaves: [`settings`], [`ports`], [`crypto`], [`small`];
//! 2. rules: [`identity`], [`region`], [`event`], [`dedupe`], [`usersig`], [`tim`], [`pacer`];
//! 3. [`config`] (typed Tencent settings), [`webhook`] (providers), [`job`] (events -> jobs);
//! 4. [`executor`] (jobs -> Tencent calls, sans-IO), [`drive`] (runs it over the ports), [`error`];
//! 5. [`http`], [`state`], [`pipeline`], [`routes`]; the shell `worker` (wasm32 only).

pub mod admin;
pub mod background;
pub mod config;
pub mod consumer;
pub mod crypto;
pub mod deadletter;
pub mod dedupe;
pub mod drive;
pub mod error;
pub mod event;
pub mod executor;
pub mod http;
pub mod identity;
pub mod job;
pub mod lifecycle;
pub mod login;
pub mod pacer;
pub mod pipeline;
pub mod ports;
pub mod region;
pub mod routes;
pub mod session;
pub mod settings;
pub mod small;
pub mod state;
pub mod tim;
pub mod usersig;
pub mod webhook;

#[cfg(target_arch = "wasm32")]
mod worker;

/// The wasm's allocator: talc instead of the default dlmalloc, measured faster per request and
/// smaller (bench/RESULTS.md, "Wasm size"). Workers are single-threaded, so no lock.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

#[cfg(test)]
pub(crate) mod testing;
