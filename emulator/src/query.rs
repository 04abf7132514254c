//! URL query and number parsing, strict where Tencent is strict (no signs, no duplicates).

use std::collections::HashSet;

/// Decimal digits only (no sign, no spaces), fitting in a u64.
pub(crate) fn parse_decimal_u64(s: &str) -> Option<u64> {
    // `str::parse` alone would also take a leading '+', which Tencent refuses.
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Splits a query string into percent-decoded pairs; a duplicate name or bad escape is an error.
pub(crate) fn parse_query(query: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut names: HashSet<String> = HashSet::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = percent_decode(name)
            .ok_or_else(|| "a query parameter name is badly percent-encoded".to_owned())?;
        let value = percent_decode(value)
            .ok_or_else(|| format!("query parameter {name:?} is badly percent-encoded"))?;
        // Which of two values a server would use is unspecified, so a duplicate is refused.
        if !names.insert(name.clone()) {
            return Err(format!("duplicate query parameter {name:?}"));
        }
        pairs.push((name, value));
    }
    Ok(pairs)
}

/// `application/x-www-form-urlencoded` decoding: `%XX` escapes and `+` as space; UTF-8 result.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    fn hex(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = bytes.next().and_then(hex)?;
                let lo = bytes.next().and_then(hex)?;
                out.push((hi << 4) | lo);
            }
            other => out.push(other),
        }
    }
    String::from_utf8(out).ok()
}
