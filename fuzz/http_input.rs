//! How the `http_handler` fuzz target turns bytes into a request, and what it demands of the
//! answer. Shared, as this one file, by `fuzz_targets/http_handler.rs` and the corpus replay in
//! `tests/api/abuse.rs` (both include it with `#[path]`), so a corpus file means the same
//! request in both.
//!
//! Input layout:
//! - byte 0: the method ([`METHODS`], modulo its length);
//! - byte 1: the path ([`PATHS`], modulo its length): the services and some near misses;
//! - byte 2: flags, one bit per header the mapping adds with a valid-looking value
//!   ([`AUTHORIZATION`] … [`CONTENT_TYPE`]); [`SIGNATURE`] signs the request correctly
//!   (HMAC for transactions, RSA for the token path);
//! - the rest: with [`INPUT_HEADERS`], the part up to the first NUL is header lines
//!   (`name:value`, split on `\n`; lines that are not a valid header, and framing headers
//!   such as `Content-Length`, are skipped), and what follows the NUL is the body; without
//!   it, everything is the body.

use snapqris_protocol::{RsaPrivateKey, TransactionSigner, sign_token_request, sign_transaction};

/// Methods byte 0 picks from (`POST` weighted: the services only answer it).
pub(crate) const METHODS: [&str; 8] = [
    "POST", "POST", "POST", "POST", "GET", "PUT", "DELETE", "PATCH",
];

/// Paths byte 1 picks from: the five first services, near misses, then the payment lifecycle
/// (appended, so that the older corpus inputs keep the paths they had).
pub(crate) const PATHS: [&str; 15] = [
    "/v1.0/access-token/b2b",
    "/v1.0/qr/qr-mpm-generate",
    "/v1.0/qr/qr-generate-list",
    "/v1.0/qr/qr-mpm-query",
    "/v1.0/qr/qr-mpm-expire-billnumber",
    "/v1.0/qr/qr-mpm-generate?amount=1",
    "/v1.0/access-token/b2b?grant_type=x",
    "/",
    "/v1.0/qr/qr-mpm-generate/",
    "/v1.0/QR/qr-mpm-generate",
    "/snap/v1.0/qr/qr-mpm-query",
    "/v1.0/qr/%00",
    "/v1.0/qr/qr-mpm-payment",
    "/v1.0/qr/qr-mpm-refund",
    "/v1.0/qr/qr-mpm-cancel",
];

/// Flag: `Authorization: Bearer <a real token>`.
pub(crate) const AUTHORIZATION: u8 = 1;
/// Flag: `X-TIMESTAMP` of the server clock's now.
pub(crate) const TIMESTAMP: u8 = 1 << 1;
/// Flag: `X-PARTNER-ID` and `X-CLIENT-KEY` of the registered partner.
pub(crate) const PARTNER_ID: u8 = 1 << 2;
/// Flag: a fresh `X-EXTERNAL-ID`.
pub(crate) const EXTERNAL_ID: u8 = 1 << 3;
/// Flag: a correct `X-SIGNATURE` for this method, path, body and timestamp.
pub(crate) const SIGNATURE: u8 = 1 << 4;
/// Flag: `CHANNEL-ID: 95221`.
pub(crate) const CHANNEL_ID: u8 = 1 << 5;
/// Flag: header lines from the input (see the module documentation).
pub(crate) const INPUT_HEADERS: u8 = 1 << 6;
/// Flag: `Content-Type: application/json`.
pub(crate) const CONTENT_TYPE: u8 = 1 << 7;

/// Headers the input may not set: they frame the message, which the HTTP layer owns.
const FRAMING_HEADERS: [&str; 9] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "host",
    "upgrade",
    "te",
    "keep-alive",
    "expect",
    "trailer",
];

/// What a valid-looking request needs: the registered partner, its secrets, a token.
pub(crate) struct Context<'a> {
    pub(crate) partner: &'a str,
    pub(crate) client_secret: &'a str,
    pub(crate) token: &'a str,
    pub(crate) private_key: &'a RsaPrivateKey,
    /// `X-TIMESTAMP` of the server clock's now.
    pub(crate) timestamp: &'a str,
    /// A fresh `X-EXTERNAL-ID` for this request.
    pub(crate) external_id: String,
}

/// A request derived from fuzz input.
#[derive(Debug)]
pub(crate) struct FuzzRequest {
    pub(crate) method: &'static str,
    /// Path and query.
    pub(crate) path: &'static str,
    /// Names are valid HTTP tokens, values valid field values (no CR, LF, NUL, trimmed).
    pub(crate) headers: Vec<(String, Vec<u8>)>,
    pub(crate) body: Vec<u8>,
}

/// The request `data` stands for.
pub(crate) fn request_from_input(data: &[u8], context: &Context<'_>) -> FuzzRequest {
    let byte = |i: usize| data.get(i).copied().unwrap_or(0);
    let method = METHODS[usize::from(byte(0)) % METHODS.len()];
    let path = PATHS[usize::from(byte(1)) % PATHS.len()];
    let flags = byte(2);
    let rest = data.get(3..).unwrap_or_default();
    let (header_lines, body) = if flags & INPUT_HEADERS != 0 {
        match rest.iter().position(|&b| b == 0) {
            Some(nul) => (&rest[..nul], &rest[nul + 1..]),
            None => (rest, &[][..]),
        }
    } else {
        (&[][..], rest)
    };

    let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
    let mut add =
        |name: &str, value: &str| headers.push((name.to_owned(), value.as_bytes().to_vec()));
    if flags & CONTENT_TYPE != 0 {
        add("content-type", "application/json");
    }
    if flags & AUTHORIZATION != 0 {
        add("authorization", &format!("Bearer {}", context.token));
    }
    if flags & TIMESTAMP != 0 {
        add("x-timestamp", context.timestamp);
    }
    if flags & PARTNER_ID != 0 {
        add("x-partner-id", context.partner);
        add("x-client-key", context.partner);
    }
    if flags & EXTERNAL_ID != 0 {
        add("x-external-id", &context.external_id);
    }
    if flags & CHANNEL_ID != 0 {
        add("channel-id", "95221");
    }
    if flags & SIGNATURE != 0 {
        let signed_path = path.split('?').next().unwrap_or(path);
        let signature = if signed_path == PATHS[0] {
            sign_token_request(context.private_key, context.partner, context.timestamp).signature
        } else {
            let signer = TransactionSigner::Hmac {
                client_secret: context.client_secret.as_bytes(),
                access_token: context.token,
            };
            sign_transaction(&signer, method, signed_path, body, context.timestamp).signature
        };
        add("x-signature", &signature);
    }
    for line in header_lines.split(|&b| b == b'\n') {
        if let Some(header) = header_line(line) {
            headers.push(header);
        }
    }
    FuzzRequest {
        method,
        path,
        headers,
        body: body.to_vec(),
    }
}

/// `name:value` as a header, if it is a valid one the input may set.
fn header_line(line: &[u8]) -> Option<(String, Vec<u8>)> {
    let colon = line.iter().position(|&b| b == b':')?;
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    let tchar = |b: &u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b);
    if name.is_empty() || name.len() > 64 || !name.iter().all(tchar) {
        return None;
    }
    let name = String::from_utf8(name.to_ascii_lowercase()).ok()?;
    if FRAMING_HEADERS.contains(&name.as_str()) {
        return None;
    }
    let field_byte = |b: &u8| *b == b'\t' || (0x20..0x7f).contains(b) || *b >= 0x80;
    if !value.iter().all(field_byte) {
        return None;
    }
    let value = value.trim_ascii().to_vec();
    Some((name, value))
}

/// What every answer must be: JSON with a 7-digit `responseCode` whose first three digits
/// are the HTTP status, and never a 5xx.
pub(crate) fn check_answer(status: u16, body: &[u8]) -> Result<(), String> {
    let text = || String::from_utf8_lossy(body).into_owned();
    if status >= 500 {
        return Err(format!("HTTP {status}: {}", text()));
    }
    let json: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| format!("HTTP {status}, not JSON ({e}): {}", text()))?;
    let code = json
        .get("responseCode")
        .and_then(|c| c.as_str())
        .ok_or_else(|| format!("HTTP {status}, no responseCode: {}", text()))?;
    if code.len() != 7 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "HTTP {status}, responseCode {code:?} is not 7 digits"
        ));
    }
    if code[..3] != status.to_string() {
        return Err(format!("HTTP {status} but responseCode {code}"));
    }
    Ok(())
}
