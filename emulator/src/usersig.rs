//! UserSig (TLS-SIG-API v2) verification, written for the emulator alone.
//!
//! The format is Tencent's (<https://www.tencentcloud.com/document/product/1047/34385>; the
//! official verifier is `VerifyUserSig` in <https://github.com/tencentyun/tls-sig-api-v2-golang>):
//! Tencent's base64 variant (`*`, `-`, `_` for `+`, `/`, `=`) of a zlib stream holding a JSON
//! document whose `TLS.sig` is the standard-base64 HMAC-SHA256, keyed with the secret key's bytes,
//! of four `TLS.<field>:<value>\n` lines (five with a userbuf).
//!
//! It deliberately shares no code with tim-onboard's generator: a checker built from the code it
//! checks would agree with that code's mistakes. Pinned vectors of the official libraries keep
//! both honest.

use base64::alphabet::STANDARD as STANDARD_ALPHABET;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// A real UserSig document is a few hundred bytes; refusing more bounds the work a zip bomb causes.
const MAX_DOC_BYTES: usize = 16 * 1024;

/// Standard base64, padding optional: the emulator has always taken both forms, and Tencent does
/// not document which one its server requires.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &STANDARD_ALPHABET,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a UserSig was refused; [`Refusal::error_code`] is the ErrorCode Tencent answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The UserSig is the empty string.
    Empty,
    /// Not Tencent base64, not zlib, not JSON, or a field missing or of the wrong type.
    Malformed(&'static str),
    /// Made for another SDKAppID.
    SdkAppIdMismatch,
    /// Made for another identifier.
    IdentifierMismatch,
    /// `TLS.time + TLS.expire` is before now.
    Expired,
    /// The HMAC does not match: the wrong secret key, or a field changed after signing.
    BadSignature,
    /// Carries a userbuf, which TRTC room keys have and an admin UserSig for the REST API never does.
    UnexpectedUserBuf,
}

impl Refusal {
    /// Tencent's ErrorCode for this refusal.
    pub fn error_code(self) -> u32 {
        match self {
            Refusal::Empty => 70002,
            Refusal::Malformed(_) => 70003,
            Refusal::SdkAppIdMismatch => 70014,
            Refusal::IdentifierMismatch => 70013,
            Refusal::Expired => 70001,
            Refusal::BadSignature | Refusal::UnexpectedUserBuf => 70009,
        }
    }
}

/// A decoded UserSig: the signed fields and the signature over them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ticket {
    identifier: String,
    sdkappid: u64,
    time: i64,
    expire: i64,
    userbuf: Option<Vec<u8>>,
    sig: Vec<u8>,
}

/// Checks an admin UserSig for `identifier` against the app's SDKAppID and key at `now` (Unix s).
pub fn verify(
    sdkappid: u64,
    key: &str,
    identifier: &str,
    usersig: &str,
    now: i64,
) -> Result<(), Refusal> {
    verify_issued_at(sdkappid, key, identifier, usersig, now).map(|_| ())
}

/// Like [`verify`] (for a user's UserSig as much as an admin's), and answers the UserSig's
/// `TLS.time`: when it was issued, in Unix seconds, which a kick compares against.
pub fn verify_issued_at(
    sdkappid: u64,
    key: &str,
    identifier: &str,
    usersig: &str,
    now: i64,
) -> Result<i64, Refusal> {
    let ticket = decode(usersig)?;
    // Field checks before the HMAC, in the order of the official Go verifier, so a UserSig made
    // for another app or user is named as such rather than as a bad signature.
    if ticket.sdkappid != sdkappid {
        return Err(Refusal::SdkAppIdMismatch);
    }
    if ticket.identifier != identifier {
        return Err(Refusal::IdentifierMismatch);
    }
    // Valid up to and including time + expire.
    if now > ticket.time.saturating_add(ticket.expire) {
        return Err(Refusal::Expired);
    }
    // The Go verifier refuses a userbuf before the HMAC; both are 70009, and checking the HMAC
    // first lets the pinned userbuf vector prove that the fifth signed line is built right.
    check_signature(key, &ticket)?;
    if ticket.userbuf.is_some() {
        return Err(Refusal::UnexpectedUserBuf);
    }
    Ok(ticket.time)
}

/// Tencent base64, then zlib, then the JSON document.
fn decode(usersig: &str) -> Result<Ticket, Refusal> {
    if usersig.is_empty() {
        return Err(Refusal::Empty);
    }
    let zipped = tencent_base64_decode(usersig).ok_or(Refusal::Malformed("base64"))?;
    let json = miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(&zipped, MAX_DOC_BYTES)
        .map_err(|_| Refusal::Malformed("zlib"))?;
    let doc: Value = serde_json::from_slice(&json).map_err(|_| Refusal::Malformed("json"))?;
    ticket_from_doc(&doc)
}

/// Undoes Tencent's character swap; standard characters pass through, as in the Go library.
fn tencent_base64_decode(s: &str) -> Option<Vec<u8>> {
    let standard: String = s
        .chars()
        .map(|c| match c {
            '*' => '+',
            '-' => '/',
            '_' => '=',
            other => other,
        })
        .collect();
    LENIENT.decode(standard.trim()).ok()
}

/// The fields by name, since key order differs between the official libraries. `TLS.ver` is not
/// checked, as the official Go verifier does not check it either.
fn ticket_from_doc(doc: &Value) -> Result<Ticket, Refusal> {
    let field = |name: &'static str| doc.get(name).ok_or(Refusal::Malformed(name));
    let text = |name: &'static str| field(name)?.as_str().ok_or(Refusal::Malformed(name));
    let int = |name: &'static str| field(name)?.as_i64().ok_or(Refusal::Malformed(name));
    let identifier = text("TLS.identifier")?.to_owned();
    let sdkappid = field("TLS.sdkappid")?
        .as_u64()
        .ok_or(Refusal::Malformed("TLS.sdkappid"))?;
    let time = int("TLS.time")?;
    let expire = int("TLS.expire")?;
    let sig = LENIENT
        .decode(text("TLS.sig")?)
        .map_err(|_| Refusal::Malformed("TLS.sig"))?;
    let userbuf = match doc.get("TLS.userbuf") {
        None => None,
        Some(_) => Some(
            LENIENT
                .decode(text("TLS.userbuf")?)
                .map_err(|_| Refusal::Malformed("TLS.userbuf"))?,
        ),
    };
    Ok(Ticket {
        identifier,
        sdkappid,
        time,
        expire,
        userbuf,
        sig,
    })
}

/// The exact text Tencent signs, rebuilt from the decoded fields rather than taken from the wire.
fn signed_string(ticket: &Ticket) -> String {
    let mut s = format!(
        "TLS.identifier:{}\nTLS.sdkappid:{}\nTLS.time:{}\nTLS.expire:{}\n",
        ticket.identifier, ticket.sdkappid, ticket.time, ticket.expire
    );
    if let Some(buf) = &ticket.userbuf {
        s.push_str("TLS.userbuf:");
        s.push_str(&STANDARD.encode(buf));
        s.push('\n');
    }
    s
}

/// HMAC-SHA256 of the signed string, keyed with the key's text bytes (never hex-decoded).
fn mac(key: &str, ticket: &Ticket) -> Hmac<Sha256> {
    // HMAC takes a key of any length, so this never falls back; the fallback keeps it panic-free.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes())
        .unwrap_or_else(|_| <Hmac<Sha256> as Mac>::new(&Default::default()));
    mac.update(signed_string(ticket).as_bytes());
    mac
}

/// Compares digests in constant time, so response timing does not reveal how much of a forged
/// signature was right. The bytes are compared rather than the base64 text, which keeps an
/// undecodable `TLS.sig` a malformed UserSig and treats padded and unpadded forms alike.
fn check_signature(key: &str, ticket: &Ticket) -> Result<(), Refusal> {
    mac(key, ticket)
        .verify_slice(&ticket.sig)
        .map_err(|_| Refusal::BadSignature)
}

/// A UserSig generator for tests only: the emulator never issues UserSigs.
#[cfg(test)]
pub(crate) mod testgen {
    use super::{mac, Ticket, STANDARD};
    use base64::Engine;

    /// Wraps any document the way Tencent does, so tests can hand-craft broken ones.
    pub(crate) fn seal(doc: &[u8]) -> String {
        // Level 6 is zlib's default, which the official Python and Node libraries use.
        seal_raw(&miniz_oxide::deflate::compress_to_vec_zlib(doc, 6))
    }

    /// Tencent's base64 variant of already compressed bytes.
    pub(crate) fn seal_raw(zipped: &[u8]) -> String {
        STANDARD
            .encode(zipped)
            .chars()
            .map(|c| match c {
                '+' => '*',
                '/' => '-',
                '=' => '_',
                other => other,
            })
            .collect()
    }

    /// A UserSig valid from `time` for `expire` seconds.
    pub(crate) fn generate(
        sdkappid: u64,
        key: &str,
        identifier: &str,
        time: i64,
        expire: i64,
        userbuf: Option<&[u8]>,
    ) -> String {
        let mut ticket = Ticket {
            identifier: identifier.to_owned(),
            sdkappid,
            time,
            expire,
            userbuf: userbuf.map(<[u8]>::to_vec),
            sig: Vec::new(),
        };
        ticket.sig = hmac::Mac::finalize(mac(key, &ticket)).into_bytes().to_vec();
        let mut doc = serde_json::json!({
            "TLS.ver": "2.0",
            "TLS.identifier": identifier,
            "TLS.sdkappid": sdkappid,
            "TLS.time": time,
            "TLS.expire": expire,
            "TLS.sig": STANDARD.encode(&ticket.sig),
        });
        if let (Some(buf), Some(obj)) = (userbuf, doc.as_object_mut()) {
            obj.insert("TLS.userbuf".to_owned(), STANDARD.encode(buf).into());
        }
        seal(doc.to_string().as_bytes())
    }
}

#[cfg(test)]
pub(crate) mod vectors;

#[cfg(test)]
mod tests;
