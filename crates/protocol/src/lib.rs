//! The SNAP BI protocol pieces of snapqris, with no I/O: what a server needs to check a
//! request and what a partner's SDK needs to sign one.
//!
//! - Signatures: [`verify_token_request`] and [`verify_transaction`] (HMAC-SHA512 or
//!   SHA256withRSA over the strings to sign, trying the body variants real clients hash,
//!   see [`body_hash_candidates`]); [`sign_token_request`] and [`sign_transaction`] for clients.
//! - Keys: [`RsaPublicKey`] (PEM SPKI, PEM PKCS#1 or bare Base64 DER; parsed once, RSA ≥ 2048
//!   bits) and [`RsaPrivateKey`].
//! - Time: [`XTimestamp`] (strict RFC 3339 and the freshness window), [`JakartaDate`] (the
//!   Asia/Jakarta business day) and the Jakarta clock formats.
//! - Codes: [`ServiceCode`] and the seven-digit [`ResponseCode`].
//! - Fields: newtypes such as [`ExternalId`], [`MerchantId`] and [`Amount`] that parse into
//!   known-valid values or a [`FieldError`] naming the field.
//!
//! ```
//! use snapqris_protocol::{
//!     BodyVariant, SignatureTolerance, TransactionSigner, TransactionVerifier, XTimestamp,
//!     sign_transaction, verify_transaction,
//! };
//!
//! let timestamp = XTimestamp::parse("2024-03-15T10:21:00.123+07:00")?;
//! let body = br#"{ "dateGenerate": "2024-03-15", "additionalInfo": { "merchantId": "M0001" } }"#;
//! let path = "/v1.0/qr/qr-generate-list";
//!
//! // The partner signs…
//! let signer = TransactionSigner::Hmac { client_secret: b"secret", access_token: "token" };
//! let signed = sign_transaction(&signer, "POST", path, body, timestamp.as_str());
//!
//! // …and the server verifies.
//! let verifier = TransactionVerifier::Hmac { client_secret: b"secret", access_token: "token" };
//! let matched = verify_transaction(
//!     &verifier,
//!     "POST",
//!     path,
//!     body,
//!     timestamp.as_str(),
//!     &signed.signature,
//!     SignatureTolerance::Strict,
//! )?;
//! assert_eq!(matched, BodyVariant::WhitespaceStripped);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

mod amount;
mod body;
mod codes;
mod der;
mod fields;
mod jakarta;
mod keys;
mod notification;
mod notification_body;
mod signature;
mod timestamp;

pub use amount::Amount;
pub use body::{
    BodyVariant, ParseToleranceError, SignatureTolerance, body_hash_candidates, minify_json,
    reserialize_json,
};
pub use codes::{ResponseCode, ServiceCode};
pub use fields::{
    ChannelId, ClientId, ExternalId, FieldError, FieldErrorKind, Mcc, MerchantCity, MerchantId,
    MerchantName, PartnerReferenceNo, PostalCode, TerminalId,
};
pub use jakarta::{
    JAKARTA, JakartaDate, format_jakarta_local, format_rfc3339_jakarta, push_jakarta_local,
};
pub use keys::{KeyError, MAX_RSA_BITS, MIN_RSA_BITS, RsaPrivateKey, RsaPublicKey};
pub use notification::{
    NotificationError, notification_string_to_sign, sign_notification, verify_notification,
};
pub use notification_body::{
    NotificationAmount, NotificationBody, NotificationInfo, notification_time, notified_status,
};
pub use signature::{
    SignatureError, SignedRequest, TransactionSigner, TransactionVerifier, hmac_sha512_base64,
    hmac_string_to_sign, rsa_string_to_sign, sha256_hex, sign_token_request, sign_transaction,
    token_string_to_sign, verify_hmac_sha512, verify_token_request, verify_transaction,
};
pub use timestamp::{TimestampError, XTimestamp};
