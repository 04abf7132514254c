//! `webhooks`: every provider's verify + parse, `Configured::receive`, with the demo settings.
//!
//! Input: `[provider][mode]`, then `Name: value` header lines, an empty line, and the body.
//! `provider` indexes `webhook::ALL` (12 providers). With `mode & 1` the delivery is first signed
//! as the provider's sender would ([`sign::webhook`], `mode >> 1` picking the scheme, the claim
//! fix and the timestamp skew), so fuzzed bodies reach the parsers; for Firebase and Kinde the
//! body is then the token's claims. Without it, headers and body go in exactly as fuzzed.
//! Every event that comes out is planned into jobs (`job::plan`) under the provider's rule.
//!
//! Checks: no panic; a planned job's UserID fits Tencent (at most 32 bytes) and its JSON reads
//! back as the same job.

use crate::input::{header_refs, Input};
use crate::sign::{self, Variant};
use crate::{block_on, demo_env, Env, FuzzIo, NOW_S};
use std::sync::OnceLock;
use tim_onboard::config;
use tim_onboard::job::{self, Job, OnDelete};
use tim_onboard::webhook::{
    jwt, Configured, Delivery, Keys, Provider, Received, WebhookError, ALL,
};

/// Each provider's configuration from the demo settings, read once (like an isolate does).
fn configured(i: usize) -> &'static (Provider, Configured) {
    static ALL_CONFIGURED: OnceLock<Vec<(Provider, Configured)>> = OnceLock::new();
    let all = ALL_CONFIGURED.get_or_init(|| {
        let env = demo_env();
        ALL.iter()
            .map(|p| match Configured::load(p, &env) {
                Ok(Some(c)) => (*p, c),
                other => panic!("demo settings do not configure {}: {other:?}", p.name),
            })
            .collect()
    });
    &all[i % all.len()]
}

/// The target.
pub fn run(data: &[u8]) {
    let _ = receive(data);
}

/// What the provider made of the delivery `data` describes (planned as the target does).
pub fn receive(data: &[u8]) -> Result<Received, WebhookError> {
    let mut input = Input::new(data);
    let (provider, cfg) = configured(usize::from(input.byte()));
    let mode = input.byte();
    let headers = input.headers();
    let body = input.rest();
    let (headers, body) = if mode & 1 == 1 {
        sign::webhook(provider.name, Variant(mode >> 1), headers, body, NOW_S)
    } else {
        (headers, body.to_vec())
    };
    let refs = header_refs(&headers);
    let hs: &[(&str, &str)] = &refs;
    let io = FuzzIo::default();
    let cache = jwt::KeyCache::default();
    let keys = Keys {
        cache: &cache,
        io: &io,
    };
    let delivery = Delivery {
        headers: &hs,
        body: &body,
        now: NOW_S,
    };
    let received = block_on(cfg.receive(&delivery, &keys));
    match &received {
        Ok(r) => plan_all(provider, r),
        Err(e) => {
            let _ = (e.to_string(), e.is_auth());
        }
    }
    if let Some(challenge) = provider.challenge {
        let _ = challenge(&hs);
    }
    received
}

/// Plans every event under the provider's rule and each deletion policy.
pub fn plan_all(provider: Provider, received: &Received) {
    static ENV: OnceLock<Env> = OnceLock::new();
    let env = ENV.get_or_init(demo_env);
    let rule = config::userid_rule(env, provider.prefix, provider.id_prefixes)
        .expect("demo mapping settings are valid");
    for event in &received.events {
        let _ = event.user();
        for on_delete in [OnDelete::Kick, OnDelete::Delete, OnDelete::Ignore] {
            let rules = job::Rules {
                provider: provider.name,
                rule: &rule,
                on_delete,
            };
            if let Ok(Some(planned)) = job::plan(rules, event) {
                check_job(&planned.job);
            }
        }
    }
}

/// A planned job fits Tencent and survives the queue.
pub fn check_job(job: &Job) {
    assert!(
        !job.user_id.is_empty() && job.user_id.len() <= 32,
        "planned UserID {:?} does not fit Tencent",
        job.user_id
    );
    assert!(
        job.nick.as_ref().is_none_or(|n| n.len() <= 500),
        "Nick over 500 bytes"
    );
    assert!(
        job.face_url.as_ref().is_none_or(|n| n.len() <= 500),
        "FaceUrl over 500 bytes"
    );
    let json = job.to_json();
    assert_eq!(
        Job::from_json(&json).as_ref(),
        Some(job),
        "job JSON {json} does not read back"
    );
}
