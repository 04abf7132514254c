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

/// Helpers shared by the unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    /// Runs a future whose awaits all complete at once (test fakes never wait on anything real).
    pub fn block_on<F: Future>(f: F) -> F::Output {
        let mut f = pin!(f);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }
}
