//! `usersig`: UserSig (TLS-SIG-API v2) decode and verify, and generate → verify round trips.
//!
//! Input: `[mode]`, then:
//! - mode even: the rest is a UserSig. One that decodes is verified against the demo SDKAppID,
//!   key and admin at a time it is valid, with its own userbuf: it must either verify to exactly
//!   the decoded claims or be refused for its signature, SDKAppID or identifier only.
//! - mode odd: `[sdkappid: 4][time: 4][expire: 4]`, then lines `identifier`, `key`, `userbuf`
//!   (optional). For identifiers and userbufs up to 1 KiB, the generated UserSig must verify at its own time, decode to exactly what went
//!   in, and be refused for another identifier, SDKAppID or key, or once expired (one of these
//!   per input); the admin cache must hand out the same UserSig inside half its validity.

use crate::demo;
use crate::input::{text, Input};
use tim_onboard::usersig::{self, AdminSigCache, UserSigError};

/// The target.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let mode = input.byte();
    if mode & 1 == 0 {
        verify_fuzzed(&text(input.rest()));
    } else {
        round_trip(&mut input);
    }
}

fn verify_fuzzed(sig: &str) {
    let Ok((decoded, _)) = usersig::decode(sig) else {
        return;
    };
    // Verify at a time the UserSig is valid, with the userbuf it carries: only the signature
    // (and the fixed SDKAppID and identifier) can refuse it then.
    let now = decoded.time.saturating_add(decoded.expire.min(0));
    let userbuf = decoded.userbuf.as_deref();
    match usersig::verify(
        demo::SDKAPPID,
        demo::KEY,
        "administrator",
        sig,
        now,
        userbuf,
    ) {
        Ok(claims) => assert_eq!(claims, decoded, "verify and decode disagree"),
        Err(e) => assert!(
            matches!(
                e,
                UserSigError::BadSignature
                    | UserSigError::SdkAppIdMismatch
                    | UserSigError::IdentifierMismatch
            ),
            "{e} for a UserSig that decodes to {decoded:?}"
        ),
    }
}

fn round_trip(input: &mut Input<'_>) {
    let sdkappid = u64::from(input.u32());
    let time = i64::from(input.u32() as i32);
    let expire = i64::from(input.u32() & 0x7fff_ffff);
    let identifier = text(input.line().unwrap_or_default());
    let key = text(input.line().unwrap_or_default());
    let userbuf = input.line();

    let sig = usersig::generate(sdkappid, &key, &identifier, time, expire, userbuf);
    // `decode` refuses documents over 16 KiB and `generate` does not check: an identifier of
    // about 2,700 control characters (escaped `\u0000`) makes a UserSig its own `verify` calls
    // malformed (regressions/usersig/). Every caller passes a UserID of at most 32 bytes, so the
    // round trip is checked for identifiers and userbufs up to 1 KiB.
    if identifier.len() > 1024 || userbuf.is_some_and(|b| b.len() > 1024) {
        let _ = usersig::decode(&sig);
        return;
    }
    let claims = usersig::verify(sdkappid, &key, &identifier, &sig, time, userbuf)
        .unwrap_or_else(|e| panic!("a fresh UserSig does not verify: {e} ({sig})"));
    assert_eq!(claims.identifier, identifier);
    assert_eq!(claims.sdkappid, sdkappid);
    assert_eq!((claims.time, claims.expire), (time, expire));
    assert_eq!(claims.userbuf.as_deref(), userbuf);
    let (decoded, _) = usersig::decode(&sig).expect("a fresh UserSig decodes");
    assert_eq!(decoded, claims);

    // One of the ways it must be refused, picked by the input (each verify inflates again).
    let refused = match sdkappid % 4 {
        0 => (
            usersig::verify(
                sdkappid,
                &key,
                &format!("{identifier}x"),
                &sig,
                time,
                userbuf,
            ),
            UserSigError::IdentifierMismatch,
        ),
        1 => (
            usersig::verify(sdkappid + 1, &key, &identifier, &sig, time, userbuf),
            UserSigError::SdkAppIdMismatch,
        ),
        2 => (
            usersig::verify(
                sdkappid,
                &format!("{key}x"),
                &identifier,
                &sig,
                time,
                userbuf,
            ),
            UserSigError::BadSignature,
        ),
        _ => (
            usersig::verify(
                sdkappid,
                &key,
                &identifier,
                &sig,
                time + expire + 1,
                userbuf,
            ),
            UserSigError::Expired,
        ),
    };
    assert_eq!(refused.0, Err(refused.1));

    if time & 1 == 1 {
        let mut cache = AdminSigCache::default();
        let ttl = expire.max(2);
        let first = cache.get(sdkappid, &key, &identifier, ttl, time).to_owned();
        let again = cache
            .get(sdkappid, &key, &identifier, ttl, time + ttl / 2 - 1)
            .to_owned();
        assert_eq!(
            first, again,
            "the admin UserSig was renewed before half its validity"
        );
    }
}
