//! A partner's notification base URL (CONTRACT §6.2): `http://` or `https://`, at most 512
//! characters, no user info, query or fragment; a trailing `/` is dropped.

use std::fmt;

/// Longest base URL accepted.
pub const MAX_CALLBACK_URL: usize = 512;

/// A notification base URL, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackUrl(String);

/// Why a text is not a notification base URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("callback URL {text:?}: {why}")]
pub struct CallbackUrlError {
    text: String,
    why: &'static str,
}

impl CallbackUrl {
    /// Checks `text`; `Ok(None)` for the empty text (no URL: notifications are held).
    pub fn parse(text: &str) -> Result<Option<CallbackUrl>, CallbackUrlError> {
        let refuse = |why| CallbackUrlError {
            text: text.to_owned(),
            why,
        };
        if text.is_empty() {
            return Ok(None);
        }
        if text.len() > MAX_CALLBACK_URL {
            return Err(refuse("longer than 512 characters"));
        }
        if !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(refuse("only printable ASCII without spaces is allowed"));
        }
        let rest = text
            .strip_prefix("https://")
            .or_else(|| text.strip_prefix("http://"))
            .ok_or_else(|| refuse("must start with http:// or https://"))?;
        if text.contains('?') || text.contains('#') {
            return Err(refuse("a query or fragment is not allowed"));
        }
        let authority = rest.split('/').next().unwrap_or("");
        if authority.contains('@') {
            return Err(refuse("user info is not allowed"));
        }
        let (host, port) = match authority.rsplit_once(':') {
            // An IPv6 literal's colons are inside its brackets.
            Some((host, port)) if !port.contains(']') => (host, Some(port)),
            _ => (authority, None),
        };
        if host.is_empty() || host == "[]" {
            return Err(refuse("the host is missing"));
        }
        if let Some(port) = port
            && port.parse::<u16>().map_or(true, |p| p == 0)
        {
            return Err(refuse("the port is not a number from 1 to 65535"));
        }
        Ok(Some(CallbackUrl(
            text.strip_suffix('/').unwrap_or(text).to_owned(),
        )))
    }

    /// The URL as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CallbackUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Option<String> {
        CallbackUrl::parse(text).unwrap().map(|url| url.0)
    }

    #[test]
    fn http_and_https_base_urls_are_kept_without_their_trailing_slash() {
        assert_eq!(
            parsed("https://partner.example/snap/").as_deref(),
            Some("https://partner.example/snap")
        );
        assert_eq!(
            parsed("http://127.0.0.1:8090").as_deref(),
            Some("http://127.0.0.1:8090")
        );
        assert_eq!(
            parsed("https://[::1]:8443/").as_deref(),
            Some("https://[::1]:8443")
        );
        assert_eq!(parsed(""), None, "empty removes the URL");
    }

    #[test]
    fn other_schemes_user_info_queries_fragments_and_bad_ports_are_refused() {
        for text in [
            "ftp://partner.example",
            "partner.example/notify",
            "https://user:pw@partner.example",
            "https://partner.example/notify?x=1",
            "https://partner.example/#top",
            "https://partner.example:0",
            "https://partner.example:99999",
            "https://partner.example:http",
            "https:///path",
            "https://partner example",
            "https://pärtner.example",
        ] {
            assert!(CallbackUrl::parse(text).is_err(), "{text}");
        }
        let long = format!("https://p.example/{}", "a".repeat(MAX_CALLBACK_URL));
        assert!(CallbackUrl::parse(&long).is_err());
    }
}
