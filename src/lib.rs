//! tim-onboard: a Cloudflare Worker that turns auth-provider signup webhooks into Tencent Cloud
//! Chat accounts.
//!
//! Read the data path top to bottom: [`service`] routes a request, [`webhook`] verifies and reads
//! the delivery, [`identity`] fits the user to Tencent's rules, [`usersig`] signs the admin
//! ticket, [`region`] picks the data centre, [`tim`] builds the call and decides on retries, and
//! [`error`] turns failures into HTTP statuses. Only `worker` (wasm32 only) touches the runtime.

pub mod config;
pub mod dedupe;
pub mod error;
pub mod identity;
pub mod region;
pub mod service;
pub mod tim;
pub mod usersig;
pub mod webhook;

#[cfg(target_arch = "wasm32")]
mod worker;
