//! Preparing and sending requests.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use snapqris_protocol::{
    RsaPrivateKey, ServiceCode, TransactionSigner, XTimestamp, minify_json, sha256_hex,
    sign_token_request, sign_transaction,
};

/// Why a request could not be sent or answered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The base URL is not `http://host:port[/prefix]`.
    #[error("invalid base URL {0:?} (expected http://host:port[/prefix])")]
    InvalidBaseUrl(String),
    /// The request could not be built (a header value with forbidden bytes?).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The connection failed or was closed.
    #[error("HTTP request failed: {0}")]
    Http(String),
}

/// A request ready to send: everything the server will see, plus what was signed.
#[derive(Debug, Clone)]
pub struct PreparedRequest {
    /// `POST` or `GET`.
    pub method: String,
    /// The path as sent and signed, including any deployment prefix.
    pub path: String,
    /// Header names and values, in sending order.
    pub headers: Vec<(String, String)>,
    /// The body bytes exactly as sent.
    pub body: Vec<u8>,
    /// The string the signature covers.
    pub string_to_sign: String,
    /// Lower-case hex SHA-256 of the minified body (empty for token requests).
    pub body_sha256_hex: String,
}

impl PreparedRequest {
    /// Replaces (or adds) a header, matching the name case-insensitively.
    pub fn set_header(&mut self, name: &str, value: &str) {
        self.remove_header(name);
        self.headers.push((name.to_owned(), value.to_owned()));
    }

    /// Removes every header with this name (case-insensitive).
    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// The value of a header, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An answer: status and body.
#[derive(Debug, Clone)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// The body bytes.
    pub body: Bytes,
}

impl Response {
    /// The body parsed as JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The body's `responseCode`, if it is a SNAP answer.
    pub fn response_code(&self) -> Option<String> {
        self.json()?
            .get("responseCode")?
            .as_str()
            .map(str::to_owned)
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends requests to one snapqris (or any SNAP) server over keep-alive HTTP/1.1.
#[derive(Clone, Debug)]
pub struct SnapClient {
    /// `http://host:port`, without the prefix.
    origin: String,
    /// The deployment prefix (`/snap`), empty for none.
    prefix: String,
    http: Client<HttpConnector, Full<Bytes>>,
}

impl SnapClient {
    /// A client for `base_url` (`http://host:port`, optionally followed by a path prefix).
    pub fn new(base_url: &str) -> Result<Self, ClientError> {
        let invalid = || ClientError::InvalidBaseUrl(base_url.to_owned());
        let rest = base_url.strip_prefix("http://").ok_or_else(invalid)?;
        let (authority, prefix) = match rest.find('/') {
            Some(slash) => (&rest[..slash], rest[slash..].trim_end_matches('/')),
            None => (rest, ""),
        };
        if authority.is_empty() || authority.contains(['?', '#', ' ', '@']) {
            return Err(invalid());
        }
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let http = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(1024)
            .build(connector);
        Ok(SnapClient {
            origin: format!("http://{authority}"),
            prefix: prefix.to_owned(),
            http,
        })
    }

    /// The full path of an API path under this client's prefix.
    pub fn path(&self, api_path: &str) -> String {
        format!("{}{api_path}", self.prefix)
    }

    /// A signed service-73 request.
    pub fn token_request(
        &self,
        client_id: &str,
        private_key: &RsaPrivateKey,
        timestamp: &XTimestamp,
    ) -> PreparedRequest {
        let signed = sign_token_request(private_key, client_id, timestamp.as_str());
        let body = br#"{"grantType":"client_credentials"}"#.to_vec();
        PreparedRequest {
            method: "POST".into(),
            path: self.path(ServiceCode::AccessToken.path()),
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("X-TIMESTAMP".into(), timestamp.as_str().into()),
                ("X-CLIENT-KEY".into(), client_id.into()),
                ("X-SIGNATURE".into(), signed.signature),
            ],
            body,
            string_to_sign: signed.string_to_sign,
            body_sha256_hex: String::new(),
        }
    }

    /// A signed transaction request (services 47, 51, 90, 93) for `api_path`.
    #[allow(clippy::too_many_arguments)] // each is one SNAP header or signing input
    pub fn transaction_request(
        &self,
        api_path: &str,
        body: &[u8],
        signer: &TransactionSigner<'_>,
        access_token: Option<&str>,
        partner_id: &str,
        external_id: &str,
        timestamp: &XTimestamp,
    ) -> PreparedRequest {
        let path = self.path(api_path);
        let signed = sign_transaction(signer, "POST", &path, body, timestamp.as_str());
        let mut headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
        if let Some(token) = access_token {
            headers.push(("Authorization".into(), format!("Bearer {token}")));
        }
        headers.extend([
            ("X-TIMESTAMP".to_owned(), timestamp.as_str().to_owned()),
            ("X-PARTNER-ID".to_owned(), partner_id.to_owned()),
            ("X-EXTERNAL-ID".to_owned(), external_id.to_owned()),
            ("CHANNEL-ID".to_owned(), "95221".to_owned()),
            ("X-SIGNATURE".to_owned(), signed.signature),
        ]);
        debug_assert_eq!(signed.body_sha256_hex, sha256_hex(&minify_json(body)));
        PreparedRequest {
            method: "POST".into(),
            path,
            headers,
            body: body.to_vec(),
            string_to_sign: signed.string_to_sign,
            body_sha256_hex: signed.body_sha256_hex,
        }
    }

    /// Sends a prepared request and reads the whole answer.
    pub async fn send(&self, request: &PreparedRequest) -> Result<Response, ClientError> {
        let mut builder = Request::builder()
            .method(request.method.as_str())
            .uri(format!("{}{}", self.origin, request.path));
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let http_request = builder
            .body(Full::new(Bytes::from(request.body.clone())))
            .map_err(|e| ClientError::InvalidRequest(e.to_string()))?;
        self.execute(http_request).await
    }

    /// `GET` a path (not prefixed: `/health`, `/metrics`, `/openapi.json`).
    pub async fn get(&self, path: &str) -> Result<Response, ClientError> {
        let request = Request::get(format!("{}{path}", self.origin))
            .body(Full::new(Bytes::new()))
            .map_err(|e| ClientError::InvalidRequest(e.to_string()))?;
        self.execute(request).await
    }

    async fn execute(&self, request: Request<Full<Bytes>>) -> Result<Response, ClientError> {
        let response = self
            .http
            .request(request)
            .await
            .map_err(|e| ClientError::Http(format!("{e:#}")))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| ClientError::Http(e.to_string()))?
            .to_bytes();
        Ok(Response { status, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_url_may_carry_a_prefix() {
        let client = SnapClient::new("http://127.0.0.1:8080/snap/").unwrap();
        assert_eq!(client.path("/v1.0/x"), "/snap/v1.0/x");
        assert_eq!(client.origin, "http://127.0.0.1:8080");
    }

    #[test]
    fn only_plain_http_urls_are_accepted() {
        for url in ["https://x", "127.0.0.1:80", "http://", "http://a b"] {
            assert!(SnapClient::new(url).is_err(), "{url}");
        }
    }

    #[test]
    fn set_header_replaces_whatever_the_case() {
        let mut request = PreparedRequest {
            method: "POST".into(),
            path: "/".into(),
            headers: vec![("X-TIMESTAMP".into(), "a".into())],
            body: vec![],
            string_to_sign: String::new(),
            body_sha256_hex: String::new(),
        };
        request.set_header("x-timestamp", "b");
        assert_eq!(request.header("X-Timestamp"), Some("b"));
        assert_eq!(request.headers.len(), 1);
    }
}
