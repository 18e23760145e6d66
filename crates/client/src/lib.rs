//! A SNAP BI client: prepares signed requests and sends them.
//!
//! [`SnapClient`] knows the server's base URL and sends [`PreparedRequest`]s, which carry every
//! header, the body and the string-to-sign (so a partner can compare them with the server's
//! view, and tests can break one header on purpose). [`PartnerSession`] adds a partner's
//! credentials, its access token and fresh `X-EXTERNAL-ID`s.
//!
//! ```
//! use snapqris_client::SnapClient;
//! use snapqris_protocol::{RsaPrivateKey, XTimestamp};
//!
//! let client = SnapClient::new("http://127.0.0.1:8080/snap").unwrap();
//! let key = RsaPrivateKey::generate().unwrap();
//! let timestamp = XTimestamp::parse("2024-03-15T10:20:30+07:00").unwrap();
//! let request = client.token_request("partner-1", &key, &timestamp);
//! assert_eq!(request.path, "/snap/v1.0/access-token/b2b");
//! assert_eq!(request.string_to_sign, "partner-1|2024-03-15T10:20:30+07:00");
//! ```
#![deny(missing_docs)]

mod client;
mod session;

pub use crate::client::{ClientError, PreparedRequest, Response, SnapClient};
pub use crate::session::{PartnerSession, TransactionAuth, fresh_external_id};
