//! Seed inputs for every target, built from `tests/fixtures/` (read at run time, so a new
//! fixture seeds the fuzzers and the replay test without touching this crate) plus a few
//! hand-written cases for what the fixtures do not show (admin routes, logins, Tencent errors).

use crate::sign::{self, Variant};
use crate::{demo, demo_env, NOW_S};
use std::path::{Path, PathBuf};
use tim_onboard::webhook::ALL;

/// The repository's `tests/fixtures/`.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

/// `(file name, content)` of every file directly in `dir` with one of `exts`, sorted.
fn files(dir: &Path, exts: &[&str]) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.extension()
                        .and_then(|e| e.to_str())
                        .is_some_and(|e| exts.contains(&e))
                })
                .filter_map(|p| {
                    let name = p.file_name()?.to_str()?.to_owned();
                    Some((name, std::fs::read(&p).ok()?))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// The provider a fixture file belongs to, by its name (`supabase_db_...` before `supabase_...`).
fn provider_of(file: &str) -> Option<&'static str> {
    let mut names: Vec<&'static str> = ALL.iter().map(|p| p.name).collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    names
        .into_iter()
        .find(|n| file.starts_with(&format!("{}_", n.replace('-', "_"))))
}

/// `(provider, body)` of every webhook fixture; Logto's `createdAt` moved to the fake clock (it
/// must be within an hour of now); Firebase and Kinde `.json` files are token claims.
pub fn webhook_bodies() -> Vec<(&'static str, Vec<u8>)> {
    let dir = fixtures_dir();
    let mut out = Vec::new();
    for sub in [dir.clone(), dir.join("e2e")] {
        for (name, body) in files(&sub, &["json", "jsonl"]) {
            let Some(p) = provider_of(&name) else {
                continue;
            };
            let body = if p == "logto" {
                match serde_json::from_slice::<serde_json::Value>(&body) {
                    Ok(serde_json::Value::Object(mut m)) => {
                        m.insert("createdAt".into(), "2026-01-01T00:06:40.000Z".into());
                        serde_json::Value::Object(m).to_string().into_bytes()
                    }
                    _ => body,
                }
            } else {
                body
            };
            out.push((p, body));
        }
    }
    out
}

/// The RS256 token fixtures: `(file name, token)`.
pub fn jwt_fixtures() -> Vec<(String, Vec<u8>)> {
    files(&fixtures_dir().join("jwt"), &["jwt"])
        .into_iter()
        .map(|(n, t)| (n, t.trim_ascii().to_vec()))
        .collect()
}

fn index_of(name: &str) -> u8 {
    ALL.iter().position(|p| p.name == name).unwrap_or(0) as u8
}

fn header_block(headers: &[(String, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in headers {
        out.extend_from_slice(format!("{k}: {v}\n").as_bytes());
    }
    out.push(b'\n');
    out
}

/// The signing variants worth seeding per provider (`mode >> 1`).
fn variants(p: &str) -> &'static [u8] {
    match p {
        "standard" | "auth0" => &[0, 1, 2, 3],
        "stytch" | "logto" | "supabase" => &[0, 1],
        "firebase" => &[4],
        _ => &[0],
    }
}

/// Seeds of `webhooks`: each fixture signed (every scheme), the same already signed as raw
/// headers, and the raw token fixtures.
pub fn webhooks() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (p, body) in webhook_bodies() {
        for &v in variants(p) {
            let mut signed = vec![index_of(p), 1 | (v << 1), b'\n'];
            signed.extend_from_slice(&body);
            out.push(signed);
            let (h, b) = sign::webhook(p, Variant(v), Vec::new(), &body, NOW_S);
            let mut raw = vec![index_of(p), 0];
            raw.extend(header_block(&h));
            raw.extend_from_slice(&b);
            out.push(raw);
        }
    }
    for (name, token) in jwt_fixtures() {
        let p = if name.starts_with("kinde") {
            "kinde"
        } else {
            "firebase"
        };
        let body = if p == "kinde" {
            token
        } else {
            let t = String::from_utf8_lossy(&token).into_owned();
            serde_json::json!({ "data": { "jwt": t } })
                .to_string()
                .into_bytes()
        };
        let mut raw = vec![index_of(p), 0, b'\n'];
        raw.extend_from_slice(&body);
        out.push(raw);
    }
    // Okta's one-time GET challenge, and an unsigned Okta delivery with the wrong secret.
    out.push(
        [
            &[index_of("okta"), 0][..],
            b"x-okta-verification-challenge: abc\n\n{}",
        ]
        .concat(),
    );
    out
}

const OK: &str = r#"200 {"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}"#;

fn request(
    flags: u8,
    variant: u8,
    script: &[&str],
    line: &str,
    headers: &[&str],
    body: &[u8],
) -> Vec<u8> {
    let mut out = vec![flags, variant];
    for s in script {
        out.extend_from_slice(s.as_bytes());
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(line.as_bytes());
    out.push(b'\n');
    for h in headers {
        out.extend_from_slice(h.as_bytes());
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(body);
    out
}

/// Seeds of `pipeline`: every webhook fixture signed and delivered (direct, queued, twice,
/// against failing Tencents), and the other routes.
pub fn pipeline() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let scripts: [&[&str]; 4] = [
        &[OK],
        &[
            r#"200 {"ActionStatus":"FAIL","ErrorInfo":"busy","ErrorCode":70169}"#,
            "T",
            OK,
        ],
        &[r#"200 {"ActionStatus":"FAIL","ErrorInfo":"bad","ErrorCode":40601}"#],
        &[
            r#"200 {"ActionStatus":"OK","ErrorCode":0,"FailAccounts":["x"]}"#,
            "502 bad gateway",
            OK,
            OK,
        ],
    ];
    for (k, (p, body)) in webhook_bodies().into_iter().enumerate() {
        let v = variants(p)[k % variants(p).len()];
        let flags = 0x20 | [0, 0x40, 0x01, 0x05 | 0x08][k % 4];
        let line = format!("POST /webhooks/{p}");
        out.push(request(flags, v, scripts[k % 4], &line, &[], &body));
    }
    let admin = format!("authorization: Bearer {}", demo::ADMIN_TOKEN);
    let row = r#"R [{"id":"m1","job":"{\"v\":1,\"op\":\"import\",\"provider\":\"clerk\",\"user_id\":\"u1\"}","code":40601,"reason":"bad","attempts":3,"first_seen":1,"last_seen":2}]"#;
    out.push(request(0, 0, &[], "GET /health", &[], b""));
    out.push(request(0x08, 0x20, &[], "HEAD /health", &[], b""));
    out.push(request(
        0,
        0,
        &[],
        "GET /userid?provider=clerk&id=user_29w83sxmDNGwOuEthce5gg56FcC",
        &[&admin],
        b"",
    ));
    out.push(request(
        0,
        0,
        &[],
        "GET /userid?provider=auth0&id=auth0%7C5f7c8ec7c33c6c004bbafe82",
        &[&admin],
        b"",
    ));
    out.push(request(
        0x05,
        0,
        &[r#"R [{"n":1}]"#, row],
        "GET /admin/dead-letters?provider=clerk&code=40601&limit=5",
        &[&admin],
        b"",
    ));
    out.push(request(
        0x05,
        0,
        &[row, OK],
        "POST /admin/dead-letters/retry",
        &[&admin],
        br#"{"ids":["m1"]}"#,
    ));
    out.push(request(
        0x05,
        0,
        &[],
        "DELETE /admin/dead-letters/m1",
        &[&admin],
        b"",
    ));
    out.push(request(
        0,
        0,
        &[],
        "GET /webhooks/okta",
        &["x-okta-verification-challenge: abc"],
        b"",
    ));
    out.push(request(
        0,
        0,
        &[],
        "OPTIONS /login/clerk",
        &["origin: https://app.example"],
        b"",
    ));
    let claims = br#"{"sub":"user_2abc","email":"jo@example.com","name":"Jo","picture":"https://img.example/jo.png","role":"authenticated","uid":"00u1"}"#;
    for (k, p) in [
        "supabase", "clerk", "oidc", "okta", "auth0", "firebase", "zitadel", "logto",
    ]
    .into_iter()
    .enumerate()
    {
        let v = if p == "supabase" { 5 } else { 4 };
        let flags = 0x20 | [0, 0x04, 0x01, 0x40][k % 4];
        let origin = "origin: https://app.example";
        out.push(request(
            flags,
            v,
            &[OK],
            &format!("POST /login/{p}"),
            &[origin],
            claims,
        ));
    }
    out
}

/// Seeds of `tencent`: job lists against Tencent's documented answers and failures.
pub fn tencent() -> Vec<Vec<u8>> {
    let jobs = "iuser_1\niuser_2\ndgone_3\nsuser_4\nkuser_5\niuser_1\n\n";
    let answers: &[&str] = &[
        OK,
        r#"200 {"ActionStatus":"OK","ErrorCode":0,"FailAccounts":["user_2"]}"#,
        r#"200 {"ActionStatus":"OK","ErrorCode":0,"ResultItem":[{"ResultCode":70107,"UserID":"gone_3"},{"ResultCode":1,"UserID":"user_2"}]}"#,
        r#"200 {"ActionStatus":"FAIL","ErrorInfo":"busy","ErrorCode":70169}"#,
        r#"200 {"ActionStatus":"FAIL","ErrorInfo":"rate","ErrorCode":60007}"#,
        r#"200 {"ActionStatus":"FAIL","ErrorInfo":"expired","ErrorCode":70001}"#,
        r#"200 {"ActionStatus":"FAIL","ErrorInfo":"wrong dc","ErrorCode":70020}"#,
        r#"200 {"ActionStatus":"FAIL","ErrorInfo":"bad","ErrorCode":40601}"#,
        r#"200 {"ActionStatus":"FAIL","ErrorInfo":"no such","ErrorCode":70107}"#,
        r#"200 {"ActionStatus":"FAIL","ErrorInfo":"key","ErrorCode":70003}"#,
        r#"200 {"ActionStatus":"FAIL","ErrorInfo":"","ErrorCode":0}"#,
        "502 Bad Gateway",
        "200 not json",
        "T",
        "Nconnection refused",
    ];
    let mut out = Vec::new();
    for flags in [0u8, 1, 2, 3, 5, 9, 13, 0x10, 0x21] {
        for (k, a) in answers.iter().enumerate() {
            if (k + usize::from(flags)) % 3 != 0 {
                continue;
            }
            let mut s = vec![flags, 7 + k as u8, 100];
            s.extend_from_slice(jobs.as_bytes());
            for a in [a, &OK] {
                s.extend_from_slice(a.as_bytes());
                s.push(b'\n');
            }
            out.push(s);
        }
    }
    out
}

/// Seeds of `identity`: the providers' documented IDs under every mode.
pub fn identity() -> Vec<Vec<u8>> {
    let ids: &[(&str, &str)] = &[
        ("clerk", "user_29w83sxmDNGwOuEthce5gg56FcC"),
        ("auth0", "auth0|5f7c8ec7c33c6c004bbafe82"),
        ("auth0", "google-oauth2|123456789012345678901"),
        ("stytch", "user-test-16d9ba61-97a1-4ba4-9720-b03761dc50c6"),
        ("supabase", "5e3b8a1c-2f4d-4c6e-9a7b-1d2e3f4a5b6c"),
        ("kinde", "kp_1234567890"),
        ("okta", "00u1abcd2EFGH3ijk4l5"),
        ("firebase", "abcdefghijklmnopqrstuvwxyz"),
        ("standard", "12345"),
        ("zitadel", "69629026806489455"),
        ("workos", "user_01E4ZCR3C56J083X43JQXF3JK5"),
        ("logto", "fake-id"),
    ];
    let modes = ["auto", "verbatim", "compact", "hash", "Hash ", "bogus"];
    let mut out = Vec::new();
    for (k, (p, id)) in ids.iter().enumerate() {
        for (m, mode) in modes.iter().enumerate() {
            if (k + m) % 2 == 1 {
                continue;
            }
            let prefix = ["", "a0-", "tooLongPrefix_", "x y"][(k + m) % 4];
            let flags = (k * 7 + m * 13) as u8;
            let mut s = vec![index_of(p), flags];
            let nick = ["Jo Doe", "", "\u{00e9}t\u{00e9} \u{1f600}", "  "][m % 4];
            s.extend_from_slice(
                format!("{mode}\n{prefix}\n{id}\n{nick}\nhttps://img.example/{id}.png\n")
                    .as_bytes(),
            );
            out.push(s);
        }
    }
    out
}

/// Seeds of `parsers`: dates, signature headers, tokens, claims and JWKS from the fixtures.
pub fn parsers() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = [
        "2024-05-01T12:00:00.000Z",
        "2026-02-03T12:00:00+08:00",
        "2024-05-01 12:00:00.5-0130",
        "2024-02-29t23:59:60,123z",
        "1999-12-31T23:59:59-23:59",
        "t=1767226000000, v1=5f1e0d, v1=abc",
        "t=1767226000,v1=00",
        "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln",
        "provider=clerk&id=user%20x+y&limit=5",
        "https://example.com/webhooks/clerk?x=1#frag",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "singapore",
    ]
    .iter()
    .map(|s| [&[0u8][..], s.as_bytes()].concat())
    .collect();
    for (p, body) in webhook_bodies() {
        if p == "firebase" || p == "kinde" {
            out.push([&[1u8][..], &body].concat());
        }
    }
    out.push([&[1u8][..], br#"{"iss":"https://issuer.example","aud":["fuzz-client"],"exp":1767229600.5,"iat":1767226000,"nbf":1767225000,"sub":"u1","azp":"https://app.example","role":"authenticated"}"#].concat());
    for (_, doc) in files(&fixtures_dir().join("jwt"), &["json"]) {
        out.push([&[2u8][..], &doc].concat());
    }
    out.push([&[2u8][..], crate::JWKS.as_bytes()].concat());
    for (_, t) in jwt_fixtures() {
        out.push([&[3u8][..], &t].concat());
    }
    let env = demo_env();
    let claims = br#"{"sub":"u1","role":"authenticated","aud":"authenticated","iss":"https://project.supabase.co/auth/v1","exp":1767229600}"#;
    if let Some(t) = sign::login_token("supabase", Variant(1), claims, &env, NOW_S) {
        out.push([&[3u8][..], t.as_bytes()].concat());
    }
    out
}

/// Seeds of `usersig`: UserSigs for the demo admin (with and without userbuf) and round trips.
pub fn usersig() -> Vec<Vec<u8>> {
    use tim_onboard::usersig::generate;
    let mut out = Vec::new();
    for (ttl, buf) in [
        (86_400, None),
        (180 * 86_400, Some(&b"buf"[..])),
        (-1, None),
    ] {
        let s = generate(demo::SDKAPPID, demo::KEY, "administrator", NOW_S, ttl, buf);
        out.push([&[0u8][..], s.as_bytes()].concat());
    }
    for (id, key, buf) in [
        ("administrator", "tencent-key", ""),
        (
            "user_29w83sxmDNGwOuEthce5gg56FcC",
            "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e",
            "\nabc",
        ),
        ("\u{00e9}\"\\", "", ""),
    ] {
        let mut s = vec![1u8];
        s.extend_from_slice(&1_400_000_000u32.to_le_bytes());
        s.extend_from_slice(&(NOW_S as u32).to_le_bytes());
        s.extend_from_slice(&86_400u32.to_le_bytes());
        s.extend_from_slice(format!("{id}\n{key}{buf}\n").as_bytes());
        out.push(s);
    }
    out
}

/// Seeds of `jobs`: queue messages of every operation, old and unreadable ones, for the plan and
/// the queue handlers.
pub fn jobs() -> Vec<Vec<u8>> {
    let messages = [
        r#"{"v":1,"op":"import","provider":"clerk","user_id":"u1","nick":"Jo","face_url":"https://img.example/u1.png","event_id":"msg_1","at":1767225000}"#,
        r#"{"v":1,"op":"import","provider":"clerk","user_id":"u1","nick":"Jo Newer","event_id":"msg_2","at":1767225600}"#,
        r#"{"v":1,"op":"set_profile","provider":"workos","user_id":"u2","nick":"Al"}"#,
        r#"{"v":1,"op":"kick","provider":"auth0","user_id":"a0-u3","at":1}"#,
        r#"{"v":1,"op":"delete","provider":"okta","user_id":"h0123456789abcdef"}"#,
        r#"{"v":2,"op":"import","provider":"clerk","user_id":"u4"}"#,
        r#"{"v":1,"op":"teleport","provider":"clerk","user_id":"u5"}"#,
        "not json",
    ];
    let mut out = Vec::new();
    for flags in [0u8, 1, 3, 5, 7] {
        let mut s = vec![flags, 3 + flags];
        for m in &messages {
            s.extend_from_slice(m.as_bytes());
            s.push(b'\n');
        }
        s.push(b'\n');
        for a in [
            OK,
            r#"200 {"ActionStatus":"OK","ErrorCode":0,"FailAccounts":["u1"]}"#,
            OK,
            "T",
            OK,
        ] {
            s.extend_from_slice(a.as_bytes());
            s.push(b'\n');
        }
        out.push(s);
    }
    out
}

/// The seeds of target `name`.
pub fn seeds(name: &str) -> Vec<Vec<u8>> {
    match name {
        "webhooks" => webhooks(),
        "pipeline" => pipeline(),
        "usersig" => usersig(),
        "tencent" => tencent(),
        "identity" => identity(),
        "parsers" => parsers(),
        "jobs" => jobs(),
        _ => Vec::new(),
    }
}
