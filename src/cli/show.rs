//! Printing requests and responses for people: what was sent, what was signed, what came back.

use snapqris_client::{PreparedRequest, Response};
use std::io::{self, Write};

/// Writes a request: method, path, headers, body, then what the signature covers.
pub(crate) fn request(out: &mut impl Write, request: &PreparedRequest) -> io::Result<()> {
    writeln!(out, "> {} {}", request.method, request.path)?;
    for (name, value) in &request.headers {
        writeln!(out, "> {name}: {value}")?;
    }
    writeln!(out, ">")?;
    writeln!(out, "> {}", String::from_utf8_lossy(&request.body))?;
    explain(out, request)
}

/// Writes only what the signature covers: the string-to-sign and (transactions) the body hash.
pub(crate) fn explain(out: &mut impl Write, request: &PreparedRequest) -> io::Result<()> {
    if !request.body_sha256_hex.is_empty() {
        writeln!(out, "  body sha256 (minified): {}", request.body_sha256_hex)?;
    }
    writeln!(out, "  string-to-sign: {}", request.string_to_sign)
}

/// Writes a response: status line, then the body as pretty JSON (or as text if not JSON).
pub(crate) fn response(out: &mut impl Write, response: &Response) -> io::Result<()> {
    writeln!(out, "< HTTP {}", response.status)?;
    writeln!(out, "{}", body(response))
}

/// The body as pretty JSON, or as text when it is not JSON.
pub(crate) fn body(response: &Response) -> String {
    response
        .json()
        .and_then(|json| serde_json::to_string_pretty(&json).ok())
        .unwrap_or_else(|| response.text())
}

/// `println!` that returns an error when stdout is closed (`snapqris demo | head`) instead of
/// panicking; `main` turns a broken pipe into a quiet exit.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*)
    }};
}
pub(crate) use say;
