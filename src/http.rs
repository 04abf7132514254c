//! The HTTP model the core answers in: a request as far as routing and verification care, a
//! response with its status and headers, and the small URL helpers (no URL parser: the `url`
//! crate's IDNA tables would add ~80 KB gzipped for a job this small).

use crate::error::AppError;
use crate::ports::HeaderMap;
use crate::region::EdgeLocation;

/// Largest webhook body we read (256 KiB); larger ones get 413 before the rest is read.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// An incoming request, as far as the pipeline cares.
pub struct Request<'a> {
    /// HTTP method, upper case.
    pub method: &'a str,
    /// URL path.
    pub path: &'a str,
    /// Raw query string, without `?`.
    pub query: &'a str,
    /// Headers.
    pub headers: &'a dyn HeaderMap,
    /// The body, or `None` when it exceeded [`MAX_BODY_BYTES`].
    pub body: Option<&'a [u8]>,
    /// Where the request entered the edge (from `request.cf`; all optional).
    pub location: Location<'a>,
}

/// The edge location, read only when a decision needs it (reading `request.cf` costs a few JS calls).
pub enum Location<'a> {
    /// Already known.
    Known(EdgeLocation),
    /// Read on demand.
    Lazy(&'a dyn Fn() -> EdgeLocation),
}

impl Location<'_> {
    /// The location.
    pub fn get(&self) -> EdgeLocation {
        match self {
            Location::Known(l) => l.clone(),
            Location::Lazy(f) => f(),
        }
    }
}

impl From<EdgeLocation> for Location<'_> {
    fn from(l: EdgeLocation) -> Self {
        Location::Known(l)
    }
}

/// A response to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: String,
    /// Extra headers (`Retry-After`, `Allow`).
    pub headers: Vec<(&'static str, String)>,
}

impl Response {
    /// A JSON response.
    pub fn json(status: u16, body: impl serde::Serialize) -> Response {
        Response {
            status,
            // Cannot fail: every body has string keys and no custom serializer that errs.
            body: serde_json::to_string(&body).unwrap_or_default(),
            headers: Vec::new(),
        }
    }

    /// The response for an error: the one place statuses and headers are chosen.
    pub fn from_error(e: &AppError) -> Response {
        let mut headers = Vec::new();
        if let Some(s) = e.retry_after() {
            headers.push(("Retry-After", s.to_string()));
        }
        if let AppError::MethodNotAllowed(m) = e {
            headers.push(("Allow", (*m).to_owned()));
        }
        Response {
            status: e.status(),
            body: e.body(),
            headers,
        }
    }
}

/// Splits a request URL into path and query without a URL parser (the `url` crate's IDNA
/// tables would add ~80 KB gzipped for a job this small).
pub fn path_and_query(url: &str) -> (&str, &str) {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let from_path = after_scheme
        .find('/')
        .map_or("/", |i| after_scheme.get(i..).unwrap_or("/"));
    let no_fragment = from_path.split('#').next().unwrap_or_default();
    no_fragment.split_once('?').unwrap_or((no_fragment, ""))
}

/// Decodes one `application/x-www-form-urlencoded` value; `None` when it is not UTF-8 or a `%` escape is cut.
pub fn url_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = (bytes.next()? as char).to_digit(16)?;
                let lo = (bytes.next()? as char).to_digit(16)?;
                out.push((hi * 16 + lo) as u8);
            }
            other => out.push(other),
        }
    }
    String::from_utf8(out).ok()
}

/// The one value of query parameter `name`; given twice or not UTF-8 is a 400.
pub fn query_param(query: &str, name: &str) -> Result<Option<String>, AppError> {
    let mut found = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if url_decode(k).as_deref() == Some(name) {
            if found.is_some() {
                return Err(AppError::BadRequest(format!("{name} given twice")));
            }
            found = Some(
                url_decode(v)
                    .ok_or_else(|| AppError::BadRequest(format!("{name} is not valid UTF-8")))?,
            );
        }
    }
    Ok(found)
}
