//! The server's settings (CONTRACT §3 "Settings"), independent of how the CLI gathers them.

use snapqris_protocol::SignatureTolerance;
use std::time::Duration;

/// Everything that shapes how the API answers.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Allowed distance of `X-TIMESTAMP` from the server clock.
    pub timestamp_window: Duration,
    /// Access-token lifetime.
    pub token_ttl: Duration,
    /// Which body variants a transaction signature may cover.
    pub signature_tolerance: SignatureTolerance,
    /// Whether `X-CHANNEL-ID` / `CHANNEL-ID` is mandatory.
    pub require_channel_id: bool,
    /// A prefix the API is served under (`/snap`), part of the signed path; empty for none.
    pub path_prefix: String,
    /// Largest accepted request body in bytes.
    pub body_limit: usize,
    /// Longest a request may take before it is answered `504xx00`.
    pub request_timeout: Duration,
    /// Requests per second per partner; 0 turns the limit off.
    pub rate_limit: u32,
    /// Default life of a dynamic QR.
    pub dynamic_validity: Duration,
    /// Largest amount a QR may carry, in sen.
    pub max_amount_sen: i64,
    /// Tag 26 sub-tag 00 of generated payloads.
    pub acquirer_domain: String,
    /// The acquirer's NNS, the first 8 digits of merchant PANs.
    pub acquirer_nns: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            timestamp_window: Duration::from_secs(300),
            token_ttl: Duration::from_secs(900),
            signature_tolerance: SignatureTolerance::Lenient,
            require_channel_id: false,
            path_prefix: String::new(),
            body_limit: 65_536,
            request_timeout: Duration::from_secs(10),
            rate_limit: 0,
            dynamic_validity: Duration::from_secs(1800),
            max_amount_sen: 1_000_000_000,
            acquirer_domain: "ID.CO.SNAPQRIS.WWW".to_owned(),
            acquirer_nns: "93600999".to_owned(),
        }
    }
}
