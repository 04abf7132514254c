use super::testgen::{generate, seal};
use super::vectors::*;
use super::*;
use serde_json::json;

/// The JSON document inside a UserSig, so tests can change one field and seal it again.
fn open(usersig: &str) -> Value {
    let zipped = tencent_base64_decode(usersig).expect("base64");
    let json = miniz_oxide::inflate::decompress_to_vec_zlib(&zipped).expect("zlib");
    serde_json::from_slice(&json).expect("json")
}

fn reseal(doc: &Value) -> String {
    seal(doc.to_string().as_bytes())
}

fn with(usersig: &str, field: &str, value: Value) -> String {
    let mut doc = open(usersig);
    doc[field] = value;
    reseal(&doc)
}

fn without(usersig: &str, field: &str) -> String {
    let mut doc = open(usersig);
    doc.as_object_mut().map(|o| o.remove(field));
    reseal(&doc)
}

#[test]
fn official_vectors_decode_to_their_fields() {
    for usersig in [NODE_XIAOJUN, PY_XIAOJUN] {
        let ticket = decode(usersig).expect("decodes");
        assert_eq!(ticket.identifier, "xiaojun");
        assert_eq!(
            (ticket.sdkappid, ticket.time, ticket.expire),
            (APP, T, HALF_YEAR)
        );
        assert_eq!(ticket.userbuf, None);
        assert_eq!(ticket.sig, STANDARD.decode(XIAOJUN_SIG).expect("b64"));
    }
}

#[test]
fn official_vectors_verify_until_time_plus_expire() {
    for usersig in [NODE_XIAOJUN, PY_XIAOJUN] {
        assert_eq!(verify(APP, KEY, "xiaojun", usersig, T), Ok(()));
        assert_eq!(verify(APP, KEY, "xiaojun", usersig, T + HALF_YEAR), Ok(()));
        let late = verify(APP, KEY, "xiaojun", usersig, T + HALF_YEAR + 1);
        assert_eq!(late, Err(Refusal::Expired));
    }
    for usersig in [NODE_ADMIN, PY_ADMIN] {
        assert_eq!(
            verify(APP, KEY, "administrator", usersig, T + 86_400),
            Ok(())
        );
        let late = verify(APP, KEY, "administrator", usersig, T + 86_401);
        assert_eq!(late, Err(Refusal::Expired));
    }
}

#[test]
fn official_vectors_for_other_app_user_or_key() {
    let other_app = verify(APP + 1, KEY, "administrator", NODE_ADMIN, T);
    assert_eq!(other_app, Err(Refusal::SdkAppIdMismatch));
    let other_user = verify(APP, KEY, "xiaojun", NODE_ADMIN, T);
    assert_eq!(other_user, Err(Refusal::IdentifierMismatch));
    let other_key = verify(APP, KEY, "administrator", NODE_ADMIN_OTHER_KEY, T);
    assert_eq!(other_key, Err(Refusal::BadSignature));
    assert_eq!(
        verify(APP, "not-the-key", "administrator", NODE_ADMIN_OTHER_KEY, T),
        Ok(())
    );
    // Field refusals come before the HMAC, and expiry after the identity checks.
    let late = T + 86_401;
    assert_eq!(
        verify(APP + 1, "k", "x", NODE_ADMIN, late),
        Err(Refusal::SdkAppIdMismatch)
    );
    assert_eq!(
        verify(APP, "k", "x", NODE_ADMIN, late),
        Err(Refusal::IdentifierMismatch)
    );
    assert_eq!(
        verify(APP, "k", "administrator", NODE_ADMIN, late),
        Err(Refusal::Expired)
    );
}

#[test]
fn official_userbuf_vectors_sign_the_fifth_line_but_are_refused() {
    // Refused for the userbuf only after the HMAC over five lines matched ...
    let py = verify(APP, KEY, "xiaojun", PY_XIAOJUN_USERBUF, T);
    assert_eq!(py, Err(Refusal::UnexpectedUserBuf));
    let node = verify(APP, KEY, "administrator", NODE_ADMIN_USERBUF, T);
    assert_eq!(node, Err(Refusal::UnexpectedUserBuf));
    assert_eq!(
        decode(PY_XIAOJUN_USERBUF).map(|t| t.userbuf),
        Ok(Some(b"abc".to_vec()))
    );
    // ... which a changed userbuf or key breaks.
    let changed = with(PY_XIAOJUN_USERBUF, "TLS.userbuf", json!("YWJk"));
    assert_eq!(
        verify(APP, KEY, "xiaojun", &changed, T),
        Err(Refusal::BadSignature)
    );
    let other_key = verify(APP, "k", "xiaojun", PY_XIAOJUN_USERBUF, T);
    assert_eq!(other_key, Err(Refusal::BadSignature));
    // Dropping the userbuf changes the signed text too.
    let dropped = without(PY_XIAOJUN_USERBUF, "TLS.userbuf");
    assert_eq!(
        verify(APP, KEY, "xiaojun", &dropped, T),
        Err(Refusal::BadSignature)
    );
}

#[test]
fn test_generator_agrees_with_the_official_libraries() {
    let ours = decode(&generate(APP, KEY, "xiaojun", T, HALF_YEAR, None));
    assert_eq!(ours, decode(NODE_XIAOJUN));
    let ours = decode(&generate(APP, KEY, "xiaojun", T, HALF_YEAR, Some(b"abc")));
    assert_eq!(ours, decode(PY_XIAOJUN_USERBUF));
}

#[test]
fn changed_fields_break_the_signature() {
    let id = "administrator";
    for (field, value) in [
        ("TLS.time", json!(T + 1)),
        ("TLS.expire", json!(86_401)),
        ("TLS.sig", json!(STANDARD.encode([0u8; 32]))),
        // A digest of the wrong length, whether short or long.
        ("TLS.sig", json!(STANDARD.encode([0u8; 31]))),
        ("TLS.sig", json!("")),
        ("TLS.sig", json!(STANDARD.encode([0u8; 64]))),
    ] {
        let forged = with(NODE_ADMIN, field, value);
        assert_eq!(
            verify(APP, KEY, id, &forged, T),
            Err(Refusal::BadSignature),
            "{field}"
        );
    }
}

#[test]
fn layout_differences_between_libraries_are_accepted() {
    let id = "administrator";
    let doc = open(NODE_ADMIN);
    let text = doc.to_string();
    // Go's encoder ends the document with a newline and stores it uncompressed (level 0);
    // PHP escapes '/' in the signature as "\/"; nobody needs TLS.ver.
    let go = miniz_oxide::deflate::compress_to_vec_zlib(format!("{text}\n").as_bytes(), 0);
    let go = super::testgen::seal_raw(&go);
    let php = seal(text.replace('/', "\\/").as_bytes());
    let no_ver = without(NODE_ADMIN, "TLS.ver");
    let unpadded_sig = with(
        NODE_ADMIN,
        "TLS.sig",
        json!(doc["TLS.sig"].as_str().unwrap_or("").trim_end_matches('=')),
    );
    // Standard base64 characters, no padding, surrounding whitespace.
    let standard: String = NODE_ADMIN
        .chars()
        .map(|c| match c {
            '*' => '+',
            '-' => '/',
            '_' => '=',
            c => c,
        })
        .collect();
    let unpadded = NODE_ADMIN.trim_end_matches('_').to_owned();
    let spaced = format!(" {NODE_ADMIN}\n");
    for usersig in [go, php, no_ver, unpadded_sig, standard, unpadded, spaced] {
        assert_eq!(verify(APP, KEY, id, &usersig, T), Ok(()), "{usersig}");
    }
}

#[test]
fn broken_wrapping_is_malformed() {
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(MAX_DOC_BYTES));
    let cases: Vec<(String, Refusal)> = vec![
        (String::new(), Refusal::Empty),
        ("a".into(), Refusal::Malformed("base64")),
        ("%%%%".into(), Refusal::Malformed("base64")),
        ("abc".into(), Refusal::Malformed("zlib")),
        ("eJyrVg__".into(), Refusal::Malformed("zlib")),
        // Inflating past the limit is refused, whatever the document holds.
        (seal(big.as_bytes()), Refusal::Malformed("zlib")),
        (seal(b"not json"), Refusal::Malformed("json")),
        (seal(b"[]"), Refusal::Malformed("TLS.identifier")),
    ];
    for (usersig, refusal) in cases {
        let result = verify(APP, KEY, "administrator", &usersig, T);
        assert_eq!(result, Err(refusal), "{usersig}");
    }
}

#[test]
fn missing_or_mistyped_fields_are_malformed() {
    // `None` removes the field.
    let cases = [
        ("TLS.identifier", None),
        ("TLS.identifier", Some(json!(7))),
        ("TLS.sdkappid", None),
        ("TLS.sdkappid", Some(json!("1400000000"))),
        ("TLS.sdkappid", Some(json!(-1))),
        ("TLS.time", Some(json!(1.5))),
        ("TLS.expire", None),
        ("TLS.sig", None),
        ("TLS.sig", Some(json!("***"))),
        ("TLS.userbuf", Some(json!(5))),
        ("TLS.userbuf", Some(json!("!"))),
    ];
    for (field, value) in cases {
        let usersig = match &value {
            None => without(NODE_ADMIN, field),
            Some(v) => with(NODE_ADMIN, field, v.clone()),
        };
        let result = verify(APP, KEY, "administrator", &usersig, T);
        assert_eq!(result, Err(Refusal::Malformed(field)), "{field} {value:?}");
    }
}

#[test]
fn refusals_map_to_tencent_codes() {
    let codes = [
        (Refusal::Empty, 70002),
        (Refusal::Malformed("json"), 70003),
        (Refusal::SdkAppIdMismatch, 70014),
        (Refusal::IdentifierMismatch, 70013),
        (Refusal::Expired, 70001),
        (Refusal::BadSignature, 70009),
        (Refusal::UnexpectedUserBuf, 70009),
    ];
    for (refusal, code) in codes {
        assert_eq!(refusal.error_code(), code, "{refusal:?}");
    }
}
