//! Standard Webhooks interop with the official `standardwebhooks` PyPI library, both ways:
//! what it signs, we accept (and reject when anything changes); what we sign, it accepts.
//! Run through `make test`, which installs the library into `.venv`.

mod support;

use serde_json::{json, Value};
use std::time::{SystemTime, UNIX_EPOCH};
use tim_onboard::webhook::{standard, WebhookError};

fn oracle(input: &Value) -> Value {
    support::oracle::python("standardwebhooks_py.py", input)
}

const SECRETS: [&str; 3] = [
    "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "whsec_plJ3nmyCDGBKInavdOK15jsl",
];

fn verify(
    secret: &str,
    id: &str,
    ts: i64,
    body: &str,
    sig: &str,
    now: i64,
) -> Result<String, WebhookError> {
    let ts = ts.to_string();
    let h: &[(&str, &str)] = &[
        ("webhook-id", id),
        ("webhook-timestamp", &ts),
        ("webhook-signature", sig),
    ];
    standard::verify(
        &[standard::Secret::parse(secret).unwrap()],
        &h,
        body.as_bytes(),
        now,
    )
    .map(|p| p.id)
}

#[test]
fn both_directions_agree_with_the_official_library() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let bodies = [
        r#"{"type":"user.created","data":{"id":"user_1"}}"#.to_owned(),
        "{\"name\":\"Zoë 🚀\",\"n\":1}".to_owned(),
        format!("{{\"pad\":\"{}\"}}", "x".repeat(2048)),
    ];
    let mut sign = Vec::new();
    for (i, s) in SECRETS.iter().enumerate() {
        for (j, b) in bodies.iter().enumerate() {
            sign.push(
                json!({"secret": s, "id": format!("msg_{i}{j}"), "timestamp": now - 10, "body": b}),
            );
        }
    }
    let ours: Vec<Value> = sign
        .iter()
        .map(|c| {
            let secret = standard::Secret::parse(c["secret"].as_str().unwrap()).unwrap();
            let sig = secret.sign(
                c["id"].as_str().unwrap(),
                now - 10,
                c["body"].as_str().unwrap().as_bytes(),
            );
            let mut c = c.clone();
            c["signature"] = json!(sig);
            c
        })
        .collect();
    // A corrupted copy of each of ours, which the oracle must refuse.
    let corrupted: Vec<Value> = ours
        .iter()
        .map(|c| {
            let mut c = c.clone();
            c["body"] = json!(format!("{} ", c["body"].as_str().unwrap()));
            c
        })
        .collect();
    let out =
        oracle(&json!({"sign": sign, "verify": ours.iter().chain(&corrupted).collect::<Vec<_>>()}));
    let verified: Vec<bool> = serde_json::from_value(out["verified"].clone()).unwrap();
    assert_eq!(
        verified,
        [vec![true; ours.len()], vec![false; corrupted.len()]].concat()
    );

    let signed = out["signed"].as_array().unwrap();
    for (c, sig) in sign.iter().zip(signed) {
        let (secret, id, body) = (
            c["secret"].as_str().unwrap(),
            c["id"].as_str().unwrap(),
            c["body"].as_str().unwrap(),
        );
        let sig = sig.as_str().unwrap();
        assert_eq!(verify(secret, id, now - 10, body, sig, now).unwrap(), id);
        let other = SECRETS.iter().find(|s| **s != secret).unwrap();
        assert_eq!(
            verify(other, id, now - 10, body, sig, now),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify(secret, id, now - 10, &body.replace('1', "2"), sig, now).is_err(),
            body.contains('1')
        );
        assert!(matches!(
            verify(secret, id, now - 10, body, sig, now + 400),
            Err(WebhookError::StaleTimestamp(_))
        ));
    }
}
