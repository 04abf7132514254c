//! Provider list-users APIs, each paged the way its vendor documents:
//!
//! | provider | request | paging |
//! | --- | --- | --- |
//! | Clerk | `GET /v1/users?limit=500&offset=N&order_by=+created_at`, `Bearer CLERK_SECRET_KEY` | offset |
//! | Auth0 | `GET /api/v2/users?page=N&per_page=50&include_totals=true`, `Bearer AUTH0_MANAGEMENT_TOKEN` (`read:users`); over the 1,000-user listing cap, the export job `POST /api/v2/jobs/users-exports` | page, then one export file |
//! | Supabase | `GET /auth/v1/admin/users?page=N&per_page=1000`, `apikey` + `Bearer SUPABASE_SERVICE_ROLE_KEY` | page, `Link: rel="next"` |
//! | WorkOS | `GET /user_management/users?limit=100&order=asc&after=C`, `Bearer WORKOS_API_KEY` | `list_metadata.after` |
//! | Stytch | `POST /v1/users/search {limit: 1000, cursor}`, Basic `STYTCH_PROJECT_ID:STYTCH_SECRET` | `results_metadata.next_cursor` |
//! | Kinde | `GET /api/v1/users?page_size=500&next_token=T`, `Bearer KINDE_API_TOKEN` | `next_token` |
//! | Okta | `GET /api/v1/users?limit=200`, `SSWS OKTA_API_TOKEN` | the `Link: rel="next"` URL |
//! | Logto | `GET /api/users?page=N&page_size=100`, `Bearer LOGTO_API_TOKEN` | page, `Link`/`Total-Number` |
//! | ZITADEL | `POST /v2/users {query: {offset, limit: 1000, asc: true}}`, `Bearer ZITADEL_PAT` | offset, `details.totalResult` |
//!
//! Sources: Clerk <https://clerk.com/docs/reference/backend-api/tag/users/get/users>; Auth0
//! <https://auth0.com/docs/manage-users/user-search/retrieve-users-with-get-users-endpoint> and
//! <https://auth0.com/docs/manage-users/user-migration/bulk-user-exports>; Supabase
//! <https://supabase.com/docs/reference/javascript/auth-admin-listusers>; WorkOS
//! <https://workos.com/docs/reference/user-management/user/list>; Stytch
//! <https://stytch.com/docs/api/search-users>; Kinde <https://docs.kinde.com/kinde-apis/management/#tag/users/get/api/v1/users>;
//! Okta <https://developer.okta.com/docs/api/openapi/okta-management/management/tag/User/#tag/User/operation/listUsers>
//! and <https://developer.okta.com/docs/api/#pagination>; Logto <https://openapi.logto.io/operation/operation-listusers>;
//! ZITADEL <https://zitadel.com/docs/apis/resources/user_service_v2/user-service-list-users>.
//!
//! Every call retries 429 after `Retry-After` (seconds or an HTTP date; Kinde's `RateLimit-Reset`),
//! and 5xx or network failures with backoff; 401 and 403 stop at once with what to fix.

use super::{file, Page, Source, SourceError};
use crate::profile::{self, Parsed, Shape};
use crate::vars::Vars;
use serde_json::{json, Value};
use std::time::{Duration, SystemTime};
use tim_onboard::settings::Settings;

/// One HTTP answer: status, the headers we read, body.
#[derive(Debug, Clone)]
pub struct Resp {
    /// HTTP status.
    pub status: u16,
    /// Response headers (lower-case names).
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Resp {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> Result<Value, SourceError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| SourceError::Other(format!("the answer is not JSON: {e}")))
    }
}

/// How long a 429 asks to wait: `Retry-After` in seconds or as an HTTP date, else Kinde's
/// `RateLimit-Reset` seconds; capped at 5 minutes.
pub fn retry_after(resp: &Resp, now: SystemTime) -> Option<Duration> {
    let cap = Duration::from_secs(300);
    let parse = |v: &str| -> Option<Duration> {
        let v = v.trim();
        if let Ok(s) = v.parse::<f64>() {
            return (s.is_finite() && s >= 0.0).then(|| Duration::from_secs_f64(s.min(300.0)));
        }
        let at = httpdate::parse_http_date(v).ok()?;
        Some(at.duration_since(now).unwrap_or(Duration::ZERO))
    };
    resp.header("retry-after")
        .and_then(parse)
        .or_else(|| resp.header("ratelimit-reset").and_then(parse))
        .map(|d| d.min(cap))
}

/// The `rel="next"` URL of a `Link` header.
pub fn link_next(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"" || p.trim() == "rel=next");
        is_next.then(|| {
            url.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        })
    })
}

/// The most useful text of a provider's error body (never a header, never the key).
pub fn error_message(body: &[u8]) -> String {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let found = tim_onboard::webhook::text_at(
        &v,
        &[
            "/errors/0/long_message",
            "/errors/0/message",
            "/error_description",
            "/message",
            "/error_message",
            "/errorSummary",
            "/msg",
            "/error/message",
            "/error",
            "/code",
        ],
    );
    let text = match found {
        Some(t) => t.to_owned(),
        None => String::from_utf8_lossy(body).trim().to_owned(),
    };
    tim_onboard::identity::truncate_utf8(&text, 300).to_owned()
}

/// A provider API client: base URL, credentials (as headers), and the retrying HTTP call.
pub struct Client {
    agent: ureq::Agent,
    /// The provider's route name.
    pub provider: &'static str,
    /// Origin (and base path) of the API.
    pub base: String,
    auth: Vec<(&'static str, String)>,
    /// The settings holding the credentials, for messages.
    pub key_vars: &'static str,
    /// The permission a list needs, for 403 messages.
    pub scope: &'static str,
    /// Retries of 429, 5xx and network failures.
    pub max_retries: u32,
}

impl Client {
    /// Sends one request with retries; `Ok` only for a 2xx answer.
    pub fn send(&self, method: &str, url: &str, body: Option<&Value>) -> Result<Resp, SourceError> {
        let mut backoff = Duration::from_millis(500);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = self.once(method, url, body);
            let wait = match &outcome {
                Ok(r) if (200..300).contains(&r.status) => {
                    return outcome.map_err(SourceError::Other)
                }
                Ok(r) if r.status == 401 => {
                    return Err(SourceError::Auth(format!(
                        "{} refused the credentials in {} (HTTP 401): {}",
                        self.provider,
                        self.key_vars,
                        error_message(&r.body)
                    )))
                }
                Ok(r) if r.status == 403 => {
                    return Err(SourceError::Scope(format!(
                        "{} says the credentials in {} lack a permission (HTTP 403; needs {}): {}",
                        self.provider,
                        self.key_vars,
                        self.scope,
                        error_message(&r.body)
                    )))
                }
                Ok(r) if r.status == 429 => retry_after(r, SystemTime::now()).unwrap_or(backoff),
                Ok(r) if r.status >= 500 => backoff,
                Ok(r) => {
                    return Err(SourceError::Other(format!(
                        "{} answered HTTP {} to {method} {}: {}",
                        self.provider,
                        r.status,
                        strip_query(url),
                        error_message(&r.body)
                    )))
                }
                Err(_) => backoff,
            };
            if attempt > self.max_retries {
                return Err(SourceError::Other(match outcome {
                    Ok(r) => format!(
                        "{} still answers HTTP {} after {attempt} attempts: {}",
                        self.provider,
                        r.status,
                        error_message(&r.body)
                    ),
                    Err(e) => format!(
                        "{} cannot be reached after {attempt} attempts: {e}",
                        self.provider
                    ),
                }));
            }
            std::thread::sleep(wait);
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    }

    fn once(&self, method: &str, url: &str, body: Option<&Value>) -> Result<Resp, String> {
        let read = |mut resp: ureq::http::Response<ureq::Body>| -> Result<Resp, String> {
            let status = resp.status().as_u16();
            let headers = resp
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        v.to_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect();
            let body = resp
                .body_mut()
                .with_config()
                .limit(1 << 30)
                .read_to_vec()
                .map_err(|e| e.to_string())?;
            Ok(Resp {
                status,
                headers,
                body,
            })
        };
        let sent = if method == "POST" {
            let mut req = self.agent.post(url).header("accept", "application/json");
            for (k, v) in &self.auth {
                req = req.header(*k, v);
            }
            req.header("content-type", "application/json")
                .send(body.map(Value::to_string).unwrap_or_default())
        } else {
            let mut req = self.agent.get(url).header("accept", "application/json");
            for (k, v) in &self.auth {
                req = req.header(*k, v);
            }
            req.call()
        };
        read(sent.map_err(|e| e.to_string())?)
    }

    /// GETs a URL that carries its own authorisation (Auth0's export download): no credentials.
    pub fn download(&self, url: &str) -> Result<Vec<u8>, SourceError> {
        let mut resp = self
            .agent
            .get(url)
            .call()
            .map_err(|e| SourceError::Other(format!("cannot download the export: {e}")))?;
        if resp.status().as_u16() != 200 {
            return Err(SourceError::Other(format!(
                "the export download answered HTTP {}",
                resp.status().as_u16()
            )));
        }
        resp.body_mut()
            .with_config()
            .limit(1 << 34)
            .read_to_vec()
            .map_err(|e| SourceError::Other(format!("cannot download the export: {e}")))
    }
}

fn strip_query(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

/// Percent-encodes a query value.
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Providers that have a list API here.
pub const PROVIDERS: [&str; 10] = [
    "clerk",
    "auth0",
    "supabase",
    "supabase-db",
    "workos",
    "stytch",
    "kinde",
    "okta",
    "logto",
    "zitadel",
];

fn need(vars: &Vars, name: &'static str) -> Result<String, String> {
    vars.get(name)
        .ok_or_else(|| format!("{name} is not set (environment, .dev.vars)"))
}

fn origin_of(s: &str, var: &str) -> Result<String, String> {
    let s = s.trim().trim_end_matches('/');
    let s = if s.contains("://") {
        s.to_owned()
    } else {
        format!("https://{s}")
    };
    if s.starts_with("https://") || s.starts_with("http://") {
        Ok(s)
    } else {
        Err(format!("{var} is not a URL"))
    }
}

/// Builds the client for `provider` from its settings; `api_url` overrides the base URL
/// (so does `<PREFIX>_API_URL`, e.g. `CLERK_API_URL`).
pub fn client(
    provider: &'static str,
    vars: &Vars,
    api_url: Option<&str>,
) -> Result<Client, String> {
    let over = |var: &'static str| api_url.map(str::to_owned).or_else(|| vars.get(var));
    let bearer = |t: String| vec![("authorization", format!("Bearer {t}"))];
    let (base, auth, key_vars, scope) = match provider {
        "clerk" => (
            over("CLERK_API_URL").unwrap_or_else(|| "https://api.clerk.com".into()),
            bearer(need(vars, "CLERK_SECRET_KEY")?),
            "CLERK_SECRET_KEY",
            "a secret key (sk_...) of this instance",
        ),
        "auth0" => {
            let base = match over("AUTH0_API_URL") {
                Some(b) => b,
                None => need(vars, "AUTH0_DOMAIN")?,
            };
            (base, bearer(need(vars, "AUTH0_MANAGEMENT_TOKEN")?), "AUTH0_MANAGEMENT_TOKEN", "the read:users scope")
        }
        "supabase" | "supabase-db" => {
            let base = match over("SUPABASE_API_URL") {
                Some(b) => b,
                None => need(vars, "SUPABASE_URL")?,
            };
            let key = need(vars, "SUPABASE_SERVICE_ROLE_KEY")?;
            let auth = vec![("apikey", key.clone()), ("authorization", format!("Bearer {key}"))];
            (base, auth, "SUPABASE_SERVICE_ROLE_KEY", "the service_role (secret) key, not the anon key")
        }
        "workos" => (
            over("WORKOS_API_URL").unwrap_or_else(|| "https://api.workos.com".into()),
            bearer(need(vars, "WORKOS_API_KEY")?),
            "WORKOS_API_KEY",
            "a secret API key (sk_...) of this environment",
        ),
        "stytch" => {
            let project = need(vars, "STYTCH_PROJECT_ID")?;
            let secret = need(vars, "STYTCH_SECRET")?;
            let default = if project.starts_with("project-live-") {
                "https://api.stytch.com"
            } else {
                "https://test.stytch.com"
            };
            let basic = tim_onboard::crypto::base64_encode(format!("{project}:{secret}").as_bytes());
            (
                over("STYTCH_API_URL").unwrap_or_else(|| default.into()),
                vec![("authorization", format!("Basic {basic}"))],
                "STYTCH_PROJECT_ID and STYTCH_SECRET",
                "a secret of this project",
            )
        }
        "kinde" => {
            let base = match over("KINDE_API_URL") {
                Some(b) => b,
                None => need(vars, "KINDE_DOMAIN")?,
            };
            (base, bearer(need(vars, "KINDE_API_TOKEN")?), "KINDE_API_TOKEN", "the read:users scope for the Kinde Management API")
        }
        "okta" => {
            let base = match over("OKTA_API_URL") {
                Some(b) => b,
                None => need(vars, "OKTA_ORG_URL")?,
            };
            let token = need(vars, "OKTA_API_TOKEN")?;
            (base, vec![("authorization", format!("SSWS {token}"))], "OKTA_API_TOKEN", "a token of an admin allowed to read users (okta.users.read)")
        }
        "logto" => {
            let base = match over("LOGTO_API_URL") {
                Some(b) => b,
                None => need(vars, "LOGTO_ENDPOINT")?,
            };
            (base, bearer(need(vars, "LOGTO_API_TOKEN")?), "LOGTO_API_TOKEN", "a Management API token (machine-to-machine role with all)")
        }
        "zitadel" => {
            let base = match over("ZITADEL_API_URL") {
                Some(b) => b,
                None => need(vars, "ZITADEL_URL")?,
            };
            (base, bearer(need(vars, "ZITADEL_PAT")?), "ZITADEL_PAT", "a service user with the Org User Manager (user.read) role")
        }
        other => {
            return Err(format!(
                "{other} has no list API here: export the users and use --file (see `tim-onboard backfill --help`)"
            ))
        }
    };
    Ok(Client {
        agent: crate::io::agent(),
        provider,
        base: origin_of(&base, "the API URL")?,
        auth,
        key_vars,
        scope,
        max_retries: 8,
    })
}

/// Auth0's Management API lists at most 1,000 users; beyond that the export job is the way.
pub const AUTH0_LIST_CAP: u64 = 1000;
const AUTH0_PER_PAGE: u64 = 50;
/// The cursor of Auth0's export file (one page holding every user).
pub const AUTH0_EXPORT: &str = "export";

/// A provider's list API as a [`Source`].
pub struct ApiSource {
    client: Client,
    shape: Shape,
    total: Option<u64>,
    now: i64,
    /// How long to wait between polls of Auth0's export job.
    pub poll: Duration,
}

fn items(v: &Value, pointer: &str) -> Result<Vec<Value>, SourceError> {
    let list = if pointer.is_empty() {
        Some(v)
    } else {
        v.pointer(pointer)
    };
    list.and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| SourceError::Other(format!("the answer has no user list at `{pointer}`")))
}

fn num(c: Option<&str>, default: u64) -> Result<u64, SourceError> {
    match c {
        None => Ok(default),
        Some(s) => s
            .parse()
            .map_err(|_| SourceError::Other(format!("bad cursor {s:?} for this provider"))),
    }
}

impl ApiSource {
    /// A source over `client`; `now` is Unix seconds.
    pub fn new(client: Client, now: i64) -> ApiSource {
        let shape = Shape::of_provider(client.provider);
        ApiSource {
            client,
            shape,
            total: None,
            now,
            poll: Duration::from_secs(2),
        }
    }

    fn parse_all(&self, list: Vec<Value>) -> Vec<Parsed> {
        list.iter()
            .map(|v| profile::parse(self.shape, v, self.now))
            .collect()
    }

    fn get(&self, path_and_query: &str) -> Result<Resp, SourceError> {
        self.client.send(
            "GET",
            &format!("{}{path_and_query}", self.client.base),
            None,
        )
    }

    fn post(&self, path: &str, body: &Value) -> Result<Resp, SourceError> {
        self.client
            .send("POST", &format!("{}{path}", self.client.base), Some(body))
    }

    /// Runs Auth0's export job and reads its file.
    fn auth0_export(&mut self) -> Result<Page, SourceError> {
        let fields: Vec<Value> = [
            "user_id",
            "email",
            "name",
            "given_name",
            "family_name",
            "nickname",
            "picture",
            "username",
        ]
        .iter()
        .map(|f| json!({ "name": f }))
        .collect();
        let job = self
            .post(
                "/api/v2/jobs/users-exports",
                &json!({"format": "json", "fields": fields}),
            )?
            .json()?;
        let id = job
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| SourceError::Other("the export job has no id".into()))?
            .to_owned();
        // Large tenants take minutes; give up after an hour.
        let deadline = std::time::Instant::now() + Duration::from_secs(3600);
        let location = loop {
            let state = self.get(&format!("/api/v2/jobs/{}", enc(&id)))?.json()?;
            match state.get("status").and_then(Value::as_str) {
                Some("completed") => {
                    break state
                        .get("location")
                        .and_then(Value::as_str)
                        .ok_or_else(|| {
                            SourceError::Other("the completed export has no location".into())
                        })?
                        .to_owned()
                }
                Some("failed") => {
                    return Err(SourceError::Other(format!(
                        "the Auth0 export job {id} failed"
                    )))
                }
                _ if std::time::Instant::now() > deadline => {
                    return Err(SourceError::Other(format!(
                        "the Auth0 export job {id} did not finish within an hour"
                    )))
                }
                _ => std::thread::sleep(self.poll),
            }
        };
        let text =
            file::read_maybe_gzip(self.client.download(&location)?).map_err(SourceError::Other)?;
        let list = file::parse_text(
            &text,
            file::Format::Auth0Ndjson,
            &file::Fields::default(),
            self.now,
        )
        .map_err(SourceError::Other)?;
        self.total = Some(list.len() as u64);
        Ok(Page {
            items: list,
            next: None,
        })
    }
}

impl Source for ApiSource {
    fn key(&self) -> String {
        format!("api:{}:{}", self.client.provider, self.client.base)
    }

    fn total(&self) -> Option<u64> {
        self.total
    }

    fn fetch(&mut self, cursor: Option<&str>) -> Result<Page, SourceError> {
        let (list, next) = match self.client.provider {
            "clerk" => {
                const LIMIT: u64 = 500;
                let offset = num(cursor, 0)?;
                let v = self
                    .get(&format!(
                        "/v1/users?limit={LIMIT}&offset={offset}&order_by=%2Bcreated_at"
                    ))?
                    .json()?;
                let list = items(&v, "")?;
                let n = list.len() as u64;
                (list, (n == LIMIT).then(|| (offset + n).to_string()))
            }
            "auth0" => {
                if cursor == Some(AUTH0_EXPORT) {
                    return self.auth0_export();
                }
                let page = num(cursor, 0)?;
                let v = self
                    .get(&format!("/api/v2/users?page={page}&per_page={AUTH0_PER_PAGE}&include_totals=true&sort=created_at%3A1"))?
                    .json()?;
                let total = v.get("total").and_then(Value::as_u64).unwrap_or(0);
                if total > AUTH0_LIST_CAP && page == 0 {
                    return self.auth0_export();
                }
                self.total = Some(total);
                let list = items(&v, "/users")?;
                let seen = (page + 1) * AUTH0_PER_PAGE;
                let more = !list.is_empty() && seen < total.min(AUTH0_LIST_CAP);
                (list, more.then(|| (page + 1).to_string()))
            }
            "supabase" | "supabase-db" => {
                const PER_PAGE: u64 = 1000;
                let page = num(cursor, 1)?;
                let r = self.get(&format!(
                    "/auth/v1/admin/users?page={page}&per_page={PER_PAGE}"
                ))?;
                if let Some(t) = r
                    .header("x-total-count")
                    .and_then(|t| t.trim().parse().ok())
                {
                    self.total = Some(t);
                }
                let list = items(&r.json()?, "/users")?;
                let more = match r.header("link") {
                    Some(link) => link_next(link).is_some(),
                    None => list.len() as u64 == PER_PAGE,
                };
                let more = more && !list.is_empty();
                (list, more.then(|| (page + 1).to_string()))
            }
            "workos" => {
                let after = cursor
                    .map(|c| format!("&after={}", enc(c)))
                    .unwrap_or_default();
                let v = self
                    .get(&format!(
                        "/user_management/users?limit=100&order=asc{after}"
                    ))?
                    .json()?;
                let next = webhook_text(&v, "/list_metadata/after");
                (items(&v, "/data")?, next)
            }
            "stytch" => {
                let mut body = json!({"limit": 1000});
                if let Some(c) = cursor {
                    body["cursor"] = Value::String(c.to_owned());
                }
                let v = self.post("/v1/users/search", &body)?.json()?;
                if let Some(t) = v.pointer("/results_metadata/total").and_then(Value::as_u64) {
                    self.total = Some(t);
                }
                (
                    items(&v, "/results")?,
                    webhook_text(&v, "/results_metadata/next_cursor"),
                )
            }
            "kinde" => {
                let token = cursor
                    .map(|c| format!("&next_token={}", enc(c)))
                    .unwrap_or_default();
                let v = self
                    .get(&format!("/api/v1/users?page_size=500{token}"))?
                    .json()?;
                // An empty list is answered without `users`.
                let list = match v.get("users") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(_) => items(&v, "/users")?,
                };
                let next = webhook_text(&v, "/next_token").filter(|_| !list.is_empty());
                (list, next)
            }
            "okta" => {
                let url = match cursor {
                    Some(u) if u.starts_with(&self.client.base) => u.to_owned(),
                    Some(u) => {
                        return Err(SourceError::Other(format!(
                            "Okta's next link {u} is not on {}; set OKTA_ORG_URL to your org's URL",
                            self.client.base
                        )))
                    }
                    None => format!("{}/api/v1/users?limit=200", self.client.base),
                };
                let r = self.client.send("GET", &url, None)?;
                let next = r.header("link").and_then(link_next);
                (items(&r.json()?, "")?, next)
            }
            "logto" => {
                const PAGE_SIZE: u64 = 100;
                let page = num(cursor, 1)?;
                let r = self.get(&format!("/api/users?page={page}&page_size={PAGE_SIZE}"))?;
                let total: Option<u64> =
                    r.header("total-number").and_then(|t| t.trim().parse().ok());
                if total.is_some() {
                    self.total = total;
                }
                let list = items(&r.json()?, "")?;
                let more = match (r.header("link").and_then(link_next), total) {
                    (Some(_), _) => true,
                    (None, Some(t)) => page * PAGE_SIZE < t,
                    (None, None) => list.len() as u64 == PAGE_SIZE,
                };
                (list, more.then(|| (page + 1).to_string()))
            }
            "zitadel" => {
                const LIMIT: u64 = 1000;
                let offset = num(cursor, 0)?;
                let v = self
                    .post("/v2/users", &json!({"query": {"offset": offset.to_string(), "limit": LIMIT, "asc": true}}))?
                    .json()?;
                let total = v.pointer("/details/totalResult").and_then(|t| {
                    t.as_u64()
                        .or_else(|| t.as_str().and_then(|s| s.parse().ok()))
                });
                if total.is_some() {
                    self.total = total;
                }
                let list = match v.get("result") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(_) => items(&v, "/result")?,
                };
                let seen = offset + list.len() as u64;
                let more = !list.is_empty() && total.is_none_or(|t| seen < t);
                (list, more.then(|| seen.to_string()))
            }
            other => return Err(SourceError::Other(format!("{other} has no list API here"))),
        };
        Ok(Page {
            items: self.parse_all(list),
            next,
        })
    }
}

fn webhook_text(v: &Value, pointer: &str) -> Option<String> {
    tim_onboard::webhook::text_at(v, &[pointer]).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(headers: &[(&str, &str)]) -> Resp {
        Resp {
            status: 429,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            body: Vec::new(),
        }
    }

    #[test]
    fn retry_after_in_seconds_dates_and_kinde_reset() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        assert_eq!(
            retry_after(&resp(&[("Retry-After", "2")]), now),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            retry_after(
                &resp(&[("retry-after", "Wed, 21 Oct 2015 07:28:10 GMT")]),
                now
            ),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            retry_after(&resp(&[("RateLimit-Reset", "3")]), now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_after(&resp(&[("retry-after", "99999")]), now),
            Some(Duration::from_secs(300))
        );
        assert_eq!(retry_after(&resp(&[]), now), None);
    }

    #[test]
    fn link_headers() {
        let okta = "<https://x.okta.com/api/v1/users?limit=200>; rel=\"self\", <https://x.okta.com/api/v1/users?after=00u1&limit=200>; rel=\"next\"";
        assert_eq!(
            link_next(okta).as_deref(),
            Some("https://x.okta.com/api/v1/users?after=00u1&limit=200")
        );
        assert_eq!(link_next("<https://a/b?page=1>; rel=\"last\""), None);
    }

    #[test]
    fn error_messages_come_from_the_body() {
        assert_eq!(
            error_message(
                br#"{"errors":[{"message":"Unauthorized","long_message":"Invalid key"}]}"#
            ),
            "Invalid key"
        );
        assert_eq!(error_message(br#"{"statusCode":403,"error":"Forbidden","message":"Insufficient scope, expected any of: read:users"}"#), "Insufficient scope, expected any of: read:users");
        assert_eq!(error_message(b"plain text"), "plain text");
        assert_eq!(enc("a b/c"), "a%20b%2Fc");
    }
}
