//! UserSig interop, proven against independent code rather than assumed:
//! (a) UserSigs made by Tencent's official `tls-sig-api-v2` libraries (PyPI and npm) at fixed
//!     clocks verify with our code, and fail with the right error when any input differs;
//! (b) UserSigs we make verify with an independent Python implementation (zlib + hmac from the
//!     standard library), which also rejects tampered ones.
//! Run through `make test`, which installs the libraries (`.venv`, `node_modules`).

mod support;

use serde_json::{json, Value};
use support::oracle;
use tim_onboard::usersig::{self, UserSigError};

const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";

fn cases() -> Value {
    json!([
        {"sdkappid": 1400000000u64, "key": KEY, "identifier": "xiaojun", "expire": 15552000, "time": 1700000000},
        {"sdkappid": 1400000000u64, "key": KEY, "identifier": "administrator", "expire": 86400, "time": 1764170000},
        {"sdkappid": 1, "key": "2", "identifier": "3", "expire": 4, "time": 1700000000},
        {"sdkappid": 20000123, "key": "k with spaces", "identifier": "user_29w83sxmDNGwOuEthce5gg56FcC", "expire": 300, "time": 1600000000},
        {"sdkappid": 1400000000u64, "key": KEY, "identifier": "xiaojun", "expire": 15552000, "time": 1700000000, "userbuf": "abc"},
    ])
}

fn check_official(generated: Value, source: &str) {
    let list = generated.as_array().expect("a list");
    assert_eq!(list.len(), 5);
    for c in list {
        let app = c["sdkappid"].as_u64().unwrap();
        let key = c["key"].as_str().unwrap();
        let id = c["identifier"].as_str().unwrap();
        let t = c["time"].as_i64().unwrap();
        let exp = c["expire"].as_i64().unwrap();
        let sig = c["usersig"].as_str().unwrap();
        let buf = c.get("userbuf").and_then(Value::as_str).map(str::as_bytes);
        let claims = usersig::verify(app, key, id, sig, t, buf)
            .unwrap_or_else(|e| panic!("{source} sig for {id} rejected: {e}"));
        assert_eq!((claims.time, claims.expire), (t, exp), "{source}");
        assert!(
            usersig::verify(app, key, id, sig, t + exp, buf).is_ok(),
            "valid through time+expire"
        );
        assert_eq!(
            usersig::verify(app, key, id, sig, t + exp + 1, buf),
            Err(UserSigError::Expired)
        );
        assert_eq!(
            usersig::verify(app, "wrong-key", id, sig, t, buf),
            Err(UserSigError::BadSignature)
        );
        assert_eq!(
            usersig::verify(app, key, "someone-else", sig, t, buf),
            Err(UserSigError::IdentifierMismatch)
        );
        assert_eq!(
            usersig::verify(app + 1, key, id, sig, t, buf),
            Err(UserSigError::SdkAppIdMismatch)
        );
        assert!(matches!(
            usersig::verify(app, key, id, &sig[..sig.len() - 12], t, buf),
            Err(UserSigError::Malformed(_))
        ));
        // Our own sig for the same inputs carries the identical HMAC.
        let ours = usersig::generate(app, key, id, t, exp, buf);
        assert_eq!(
            usersig::decode(&ours).unwrap().1,
            usersig::decode(sig).unwrap().1,
            "{source} HMAC differs for {id}"
        );
    }
}

#[test]
fn official_python_library_sigs_verify() {
    let out = oracle::python("official_py.py", &cases());
    check_official(out, "PyPI tls-sig-api-v2");
}

#[test]
fn official_npm_library_sigs_verify() {
    let out = oracle::node("official_node.cjs", &cases());
    check_official(out, "npm tls-sig-api-v2");
}

#[test]
fn our_sigs_verify_with_an_independent_implementation() {
    let now = 1_764_170_000;
    let mut input = Vec::new();
    let mut expected = Vec::new();
    for (app, key, id, exp) in [
        (1_400_000_000u64, KEY, "administrator", 86_400i64),
        (1, "2", "3", 4),
        (88_888_888, "ключ", "admin-ü", 600),
        (1_400_000_000, KEY, "a\"quoted\\id", 180 * 86_400),
    ] {
        let sig = usersig::generate(app, key, id, now, exp, None);
        input.push(
            json!({"sdkappid": app, "key": key, "identifier": id, "now": now, "usersig": sig}),
        );
        expected.push("ok");
        // The oracle must be able to say no: wrong key, wrong id, expired, tampered.
        input.push(json!({"sdkappid": app, "key": "not-the-key", "identifier": id, "now": now, "usersig": sig}));
        expected.push("signature");
        input.push(
            json!({"sdkappid": app, "key": key, "identifier": "other", "now": now, "usersig": sig}),
        );
        expected.push("identifier");
        input.push(json!({"sdkappid": app, "key": key, "identifier": id, "now": now + exp + 1, "usersig": sig}));
        expected.push("expired");
        input.push(json!({"sdkappid": app, "key": key, "identifier": id, "now": now, "usersig": &sig[..sig.len() / 2]}));
        expected.push("malformed");
    }
    let verdicts = oracle::python("independent_verify.py", &Value::Array(input));
    assert_eq!(verdicts, json!(expected));
}
