//! Local fake provider APIs, each paging the way its vendor documents (see
//! `src/source/api.rs` for the links): offsets (Clerk, ZITADEL), page numbers with `Link` and
//! totals (Auth0, Supabase, Logto), opaque cursors (WorkOS, Stytch, Kinde), the `Link: rel="next"`
//! URL (Okta), and Auth0's export job. Every server checks the credentials the vendor's way
//! (401 otherwise) and answers its second list request once with 429 and `Retry-After: 1`
//! (Kinde: `RateLimit-Reset: 1`).

#![allow(dead_code)]

use serde_json::{json, Value};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// One request the fake answered: when, method, URL, status.
pub type Hit = (Instant, String, String, u16);

/// A running fake provider.
pub struct Fake {
    /// `http://127.0.0.1:<port>`.
    pub origin: String,
    /// Every request answered.
    pub hits: Arc<Mutex<Vec<Hit>>>,
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn query(url: &str) -> Vec<(String, String)> {
    url.split_once('?')
        .map(|(_, q)| q)
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.replace("%2B", "+").replace("%3A", ":")))
        .collect()
}

fn param(url: &str, name: &str) -> Option<String> {
    query(url)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn num(url: &str, name: &str, default: usize) -> usize {
    param(url, name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What the server answers: status, headers, body.
type Answer = (u16, Vec<(String, String)>, Vec<u8>);

fn json_answer(v: Value, headers: Vec<(String, String)>) -> Answer {
    (200, headers, v.to_string().into_bytes())
}

/// The credentials header each vendor expects for `key`.
pub fn auth_ok(provider: &str, key: &str, headers: &[(String, String)]) -> bool {
    let h = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.as_str())
    };
    match provider {
        "okta" => h("authorization") == Some(&format!("SSWS {key}")),
        "stytch" => {
            h("authorization")
                == Some(&format!(
                    "Basic {}",
                    tim_onboard::crypto::base64_encode(key.as_bytes())
                ))
        }
        "supabase" => {
            h("apikey") == Some(key) && h("authorization") == Some(&format!("Bearer {key}"))
        }
        _ => h("authorization") == Some(&format!("Bearer {key}")),
    }
}

fn unauthorized(provider: &str) -> Answer {
    let body = match provider {
        "clerk" => {
            json!({"errors": [{"message": "Unauthorized", "long_message": "The provided secret key is invalid", "code": "authentication_invalid"}]})
        }
        "auth0" => json!({"statusCode": 401, "error": "Unauthorized", "message": "Invalid token"}),
        "okta" => json!({"errorCode": "E0000011", "errorSummary": "Invalid token provided"}),
        _ => json!({"message": "invalid credentials"}),
    };
    (401, vec![], body.to_string().into_bytes())
}

/// Starts a fake `provider` listing `users`, requiring `key`; `export_after` makes Auth0 report
/// more users than its listing cap so that the export job is used.
pub fn start(provider: &str, users: Vec<Value>, key: &str) -> Fake {
    let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind"));
    let origin = format!("http://{}", server.server_addr());
    let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
    let (p, k, o, s, h) = (
        provider.to_owned(),
        key.to_owned(),
        origin.clone(),
        server.clone(),
        hits.clone(),
    );
    let thread = std::thread::spawn(move || {
        let mut list_requests = 0u32;
        let mut job_polls = 0u32;
        for mut req in s.incoming_requests() {
            let method = req.method().as_str().to_owned();
            let url = req.url().to_owned();
            let headers: Vec<(String, String)> = req
                .headers()
                .iter()
                .map(|hd| (hd.field.to_string(), hd.value.to_string()))
                .collect();
            let mut body = String::new();
            let _ = req.as_reader().read_to_string(&mut body);
            let answer = if url.starts_with("/download/") {
                let ndjson: String = users.iter().map(|u| format!("{u}\n")).collect();
                let mut gz =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                let _ = gz.write_all(ndjson.as_bytes());
                (200, vec![], gz.finish().unwrap_or_default())
            } else if !auth_ok(&p, &k, &headers) {
                unauthorized(&p)
            } else if url.starts_with("/api/v2/jobs") {
                if method == "POST" {
                    json_answer(
                        json!({"type": "users_export", "status": "pending", "format": "json", "id": "job_coRQCC3MHztpuTlo"}),
                        vec![],
                    )
                } else {
                    job_polls += 1;
                    if job_polls < 2 {
                        json_answer(
                            json!({"type": "users_export", "status": "processing", "id": "job_coRQCC3MHztpuTlo"}),
                            vec![],
                        )
                    } else {
                        json_answer(
                            json!({"type": "users_export", "status": "completed", "id": "job_coRQCC3MHztpuTlo",
                            "location": format!("{o}/download/tenant.json.gz")}),
                            vec![],
                        )
                    }
                }
            } else {
                list_requests += 1;
                if list_requests == 2 {
                    let header = if p == "kinde" {
                        "RateLimit-Reset"
                    } else {
                        "Retry-After"
                    };
                    (
                        429,
                        vec![(header.into(), "1".into())],
                        br#"{"message":"Too Many Requests"}"#.to_vec(),
                    )
                } else {
                    page(&p, &users, &method, &url, &body, &o)
                }
            };
            let status = answer.0;
            h.lock()
                .map(|mut v| v.push((Instant::now(), method, url, status)))
                .ok();
            let mut resp = tiny_http::Response::from_data(answer.2).with_status_code(status);
            for (k, v) in answer.1 {
                if let Ok(hd) = tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()) {
                    resp.add_header(hd);
                }
            }
            let _ = req.respond(resp);
        }
    });
    Fake {
        origin,
        hits,
        server,
        thread: Some(thread),
    }
}

fn slice(users: &[Value], from: usize, n: usize) -> Vec<Value> {
    users.iter().skip(from).take(n).cloned().collect()
}

/// One page of the list, the vendor's way.
fn page(
    provider: &str,
    users: &[Value],
    method: &str,
    url: &str,
    body: &str,
    origin: &str,
) -> Answer {
    let total = users.len();
    let b: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    match provider {
        "clerk" => {
            let (limit, offset) = (num(url, "limit", 10).min(500), num(url, "offset", 0));
            assert_eq!(param(url, "order_by").as_deref(), Some("+created_at"));
            json_answer(Value::Array(slice(users, offset, limit)), vec![])
        }
        "auth0" => {
            let (per, page) = (num(url, "per_page", 50).min(50), num(url, "page", 0));
            // The listing never goes past 1,000 users.
            let listed = if page * per >= 1000 {
                vec![]
            } else {
                slice(users, page * per, per)
            };
            json_answer(
                json!({"start": page * per, "limit": per, "length": listed.len(), "total": total, "users": listed}),
                vec![],
            )
        }
        "supabase" => {
            let (per, page) = (num(url, "per_page", 50), num(url, "page", 1).max(1));
            let last = total.div_ceil(per).max(1);
            let mut link = vec![format!(
                "<{origin}/auth/v1/admin/users?page={last}&per_page={per}>; rel=\"last\""
            )];
            if page < last {
                link.insert(
                    0,
                    format!(
                        "<{origin}/auth/v1/admin/users?page={}&per_page={per}>; rel=\"next\"",
                        page + 1
                    ),
                );
            }
            json_answer(
                json!({"aud": "authenticated", "users": slice(users, (page - 1) * per, per)}),
                vec![
                    ("X-Total-Count".into(), total.to_string()),
                    ("Link".into(), link.join(", ")),
                ],
            )
        }
        "workos" => {
            assert_eq!(param(url, "order").as_deref(), Some("asc"));
            let limit = num(url, "limit", 10).min(100);
            let from = match param(url, "after") {
                Some(after) => users
                    .iter()
                    .position(|u| u["id"] == after.as_str())
                    .map_or(total, |i| i + 1),
                None => 0,
            };
            let data = slice(users, from, limit);
            let after = (from + data.len() < total)
                .then(|| data.last().map(|u| u["id"].clone()))
                .flatten();
            json_answer(
                json!({"object": "list", "data": data, "list_metadata": {"before": null, "after": after}}),
                vec![],
            )
        }
        "stytch" => {
            assert_eq!(method, "POST");
            let limit = b["limit"].as_u64().unwrap_or(100).min(1000) as usize;
            let from = b["cursor"]
                .as_str()
                .and_then(|c| c.strip_prefix("cur-"))
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            let results = slice(users, from, limit);
            let next =
                (from + results.len() < total).then(|| format!("cur-{}", from + results.len()));
            json_answer(
                json!({"status_code": 200, "results": results, "results_metadata": {"total": total, "next_cursor": next}}),
                vec![],
            )
        }
        "kinde" => {
            let size = num(url, "page_size", 10).min(500);
            let from = param(url, "next_token")
                .and_then(|t| t.strip_prefix("tok").and_then(|n| n.parse().ok()))
                .unwrap_or(0);
            let list = slice(users, from, size);
            let next = (from + list.len() < total).then(|| format!("tok{}", from + list.len()));
            json_answer(
                json!({"code": "OK", "message": "Success", "users": list, "next_token": next}),
                vec![],
            )
        }
        "okta" => {
            let limit = num(url, "limit", 200).min(200);
            let from = match param(url, "after") {
                Some(after) => users
                    .iter()
                    .position(|u| u["id"] == after.as_str())
                    .map_or(total, |i| i + 1),
                None => 0,
            };
            let list = slice(users, from, limit);
            let mut link = vec![format!("<{origin}{url}>; rel=\"self\"")];
            if from + list.len() < total {
                if let Some(last) = list.last().and_then(|u| u["id"].as_str()) {
                    link.push(format!(
                        "<{origin}/api/v1/users?after={last}&limit={limit}>; rel=\"next\""
                    ));
                }
            }
            json_answer(Value::Array(list), vec![("Link".into(), link.join(", "))])
        }
        "logto" => {
            let (size, page) = (
                num(url, "page_size", 20).min(100),
                num(url, "page", 1).max(1),
            );
            let list = slice(users, (page - 1) * size, size);
            let mut headers = vec![("Total-Number".into(), total.to_string())];
            if page * size < total {
                headers.push((
                    "Link".into(),
                    format!(
                        "<{origin}/api/users?page={}&page_size={size}>; rel=\"next\"",
                        page + 1
                    ),
                ));
            }
            json_answer(Value::Array(list), headers)
        }
        "zitadel" => {
            assert_eq!(method, "POST");
            let q = &b["query"];
            let offset = q["offset"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .or(q["offset"].as_u64())
                .unwrap_or(0) as usize;
            let limit = q["limit"].as_u64().unwrap_or(100) as usize;
            json_answer(
                json!({"details": {"totalResult": total.to_string(), "timestamp": "2024-01-01T00:00:00Z"}, "result": slice(users, offset, limit)}),
                vec![],
            )
        }
        _ => (404, vec![], b"{}".to_vec()),
    }
}

fn hex(i: usize, width: usize) -> String {
    let digest =
        tim_onboard::crypto::hex_encode(&tim_onboard::crypto::sha256(i.to_string().as_bytes()));
    digest[..width].to_owned()
}

fn alnum(i: usize, width: usize) -> String {
    let h = tim_onboard::crypto::sha256(format!("a{i}").as_bytes());
    const A: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..width)
        .map(|k| A[h[k % 32] as usize % A.len()] as char)
        .collect()
}

fn uuid(i: usize) -> String {
    let h = hex(i, 32);
    format!(
        "{}-{}-4{}-8{}-{}",
        &h[..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// `n` users in `provider`'s documented API shape, and what Nick each should get.
pub fn users(provider: &str, n: usize) -> Vec<(Value, Option<String>)> {
    (0..n)
        .map(|i| {
            let first = format!("First{i}");
            let last = format!("Last{i}");
            let full = format!("{first} {last}");
            let email = format!("user{i}@example.com");
            match provider {
                "clerk" => (json!({"id": format!("user_{}", alnum(i, 27)), "object": "user", "first_name": first, "last_name": last,
                    "image_url": format!("https://img.clerk.com/{i}"), "primary_email_address_id": "idn_1",
                    "email_addresses": [{"id": "idn_1", "email_address": email}], "created_at": 1_700_000_000_000u64 + i as u64}), Some(full)),
                "auth0" => {
                    // Every third user signed in with Google: not compactable, hashed.
                    let id = if i % 3 == 0 { format!("google-oauth2|{}", 100_000_000_000_000_000_000u128 + i as u128) } else { format!("auth0|{}", hex(i, 24)) };
                    (json!({"user_id": id, "email": email, "name": email, "nickname": format!("nick{i}"), "picture": format!("https://s.gravatar.com/avatar/{i}.png")}), Some(format!("nick{i}")))
                }
                "supabase" => (json!({"id": uuid(i), "aud": "authenticated", "role": "authenticated", "email": email,
                    "user_metadata": {"full_name": full, "avatar_url": format!("https://lh3.googleusercontent.com/a/{i}")}}), Some(full)),
                "workos" => (json!({"object": "user", "id": format!("user_01{}", alnum(i, 24).to_ascii_uppercase()), "email": email,
                    "first_name": first, "last_name": last, "profile_picture_url": null}), Some(full)),
                "stytch" => (json!({"user_id": format!("user-test-{}", uuid(i)), "name": {"first_name": first, "last_name": last},
                    "emails": [{"email": email}], "status": "active"}), Some(full)),
                "kinde" => (json!({"id": format!("kp_{}", hex(i, 32)), "email": email, "first_name": first, "last_name": last, "is_suspended": false}), Some(full)),
                "okta" => (json!({"id": format!("00u{}", alnum(i, 17)), "status": "ACTIVE",
                    "profile": {"firstName": first, "lastName": last, "email": email, "login": email}}), Some(full)),
                "logto" => (json!({"id": alnum(i, 12).to_ascii_lowercase(), "username": format!("user{i}"), "primaryEmail": email, "name": full, "avatar": null}), Some(full)),
                "zitadel" => (json!({"userId": format!("{}", 270_000_000_000_000_000u64 + i as u64), "username": format!("user{i}"), "state": "USER_STATE_ACTIVE",
                    "human": {"profile": {"givenName": first, "familyName": last, "displayName": full}, "email": {"email": email}}}), Some(full)),
                _ => (json!({"id": format!("u{i}"), "name": full, "email": email}), Some(full)),
            }
        })
        .collect()
}
