//! The small, readable input formats the targets share: a few selector bytes, then lines
//! (`Name: value` headers, Tencent answers), an empty line, then a raw body. Missing parts read
//! as zero or empty, so every byte string is a valid input.

use tim_onboard::ports::TransportError;

/// A cursor over one fuzz input.
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    /// Reads `data` from the start.
    pub fn new(data: &'a [u8]) -> Input<'a> {
        Input { data }
    }

    /// The next byte (0 at the end).
    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }

    /// The next 4 bytes, little-endian (missing bytes are 0).
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    /// The next line without its `\n` (`None` at the end of the input).
    pub fn line(&mut self) -> Option<&'a [u8]> {
        if self.data.is_empty() {
            return None;
        }
        let end = self
            .data
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(self.data.len());
        let (line, rest) = self.data.split_at(end);
        self.data = rest.get(1..).unwrap_or_default();
        Some(line)
    }

    /// Lines up to the next empty line (consumed) or the end.
    pub fn block(&mut self) -> Vec<&'a [u8]> {
        let mut lines = Vec::new();
        while let Some(l) = self.line() {
            if l.is_empty() {
                break;
            }
            lines.push(l);
        }
        lines
    }

    /// `Name: value` lines up to the next empty line; a line without `:` is a name with an
    /// empty value. Names and values are trimmed, as the runtime's `Headers` would.
    pub fn headers(&mut self) -> Vec<(String, String)> {
        self.block()
            .into_iter()
            .map(|l| {
                let l = String::from_utf8_lossy(l);
                let (k, v) = l.split_once(':').unwrap_or((&l, ""));
                (k.trim().to_ascii_lowercase(), v.trim().to_owned())
            })
            .collect()
    }

    /// Everything not read yet.
    pub fn rest(self) -> &'a [u8] {
        self.data
    }
}

/// A line as text (invalid UTF-8 replaced).
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// One Tencent answer line: `T` a timeout, `N...` a network error, else an optional HTTP
/// status (digits, default 200), one optional space, and the body.
pub fn answer(line: &[u8]) -> Result<(u16, Vec<u8>), TransportError> {
    match line.first() {
        Some(b'T') => return Err(TransportError::Timeout),
        Some(b'N') => return Err(TransportError::Network(text(line))),
        _ => {}
    }
    let digits = line
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count()
        .min(5);
    let (status, body) = line.split_at(digits);
    let status = std::str::from_utf8(status)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let body = body.strip_prefix(b" ").unwrap_or(body);
    Ok((status, body.to_vec()))
}

/// Headers as the slice form the core reads (`&[(&str, &str)]`).
pub fn header_refs(h: &[(String, String)]) -> Vec<(&str, &str)> {
    h.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}
