//! Signed payment notifications (service 52, CONTRACT §6.2): what snapqris signs when it tells
//! a partner about a payment or refund, and how the partner checks it.
//!
//! The string to sign is `POST:<path>:hex(sha256(body)):X-TIMESTAMP`, `<path>` being the URL's
//! path as sent (the partner's base path included) and the body the exact bytes sent (compact
//! JSON, so hashing them raw or minified gives the same hex); the signature is
//! SHA256withRSA under snapqris's notification key, Base64. A partner verifies with the public
//! key it was handed (`snapqris admin notify key`), and may hold two during a key rotation.

use crate::keys::{RsaPrivateKey, RsaPublicKey};
use crate::signature::sha256_hex;
use crate::timestamp::XTimestamp;
use time::{Duration, OffsetDateTime};

/// `POST:<path>:hex(sha256(body)):X-TIMESTAMP`, the bytes a notification's signature covers.
pub fn notification_string_to_sign(path: &str, body: &[u8], timestamp: &str) -> String {
    format!("POST:{path}:{}:{timestamp}", sha256_hex(body))
}

/// The `X-SIGNATURE` of a notification of `body` to `path` at `timestamp`.
pub fn sign_notification(key: &RsaPrivateKey, path: &str, body: &[u8], timestamp: &str) -> String {
    key.sign_base64(notification_string_to_sign(path, body, timestamp).as_bytes())
}

/// Why a received notification is not to be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotificationError {
    /// `X-TIMESTAMP` is not RFC 3339.
    #[error("X-TIMESTAMP is not an RFC 3339 date-time")]
    BadTimestamp,
    /// `X-TIMESTAMP` lies outside the allowed window of the receiver's clock.
    #[error("X-TIMESTAMP is outside the allowed window")]
    StaleTimestamp,
    /// The signature is missing, not Base64, or verifies under none of the keys.
    #[error("the signature does not verify")]
    BadSignature,
}

/// Checks a received notification: its timestamp within `window` of `now`, and its signature
/// over the raw `body` under one of `keys` (the current key and, during a rotation, the
/// previous one).
pub fn verify_notification(
    keys: &[RsaPublicKey],
    path: &str,
    body: &[u8],
    timestamp: &str,
    signature: &str,
    now: OffsetDateTime,
    window: Duration,
) -> Result<(), NotificationError> {
    let parsed = XTimestamp::parse(timestamp).map_err(|_| NotificationError::BadTimestamp)?;
    parsed
        .check_window(now, window)
        .map_err(|_| NotificationError::StaleTimestamp)?;
    let message = notification_string_to_sign(path, body, timestamp);
    if keys
        .iter()
        .any(|key| key.verify(message.as_bytes(), signature).is_ok())
    {
        Ok(())
    } else {
        Err(NotificationError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const PATH: &str = "/partner/v1.0/qr/qr-mpm-notify";
    const BODY: &[u8] = br#"{"originalReferenceNo":"1","additionalInfo":{"notificationId":"7"}}"#;
    const NOW: OffsetDateTime = datetime!(2026-11-25 08:00 UTC);

    fn testdata_key() -> RsaPrivateKey {
        let path = format!(
            "{}/../../testdata/partner-private.pem",
            env!("CARGO_MANIFEST_DIR")
        );
        RsaPrivateKey::parse_pem(&std::fs::read(&path).unwrap()).unwrap()
    }

    fn timestamp() -> String {
        XTimestamp::from_instant_jakarta(NOW).as_str().to_owned()
    }

    #[test]
    fn the_string_to_sign_hashes_the_raw_body_with_the_full_path() {
        let text = notification_string_to_sign(PATH, b"", "2026-11-25T15:00:00+07:00");
        assert_eq!(
            text,
            "POST:/partner/v1.0/qr/qr-mpm-notify:\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855:\
             2026-11-25T15:00:00+07:00"
        );
    }

    #[test]
    fn a_signed_notification_verifies_under_its_key_among_others() {
        let key = testdata_key();
        let other = RsaPrivateKey::generate().unwrap().public_key();
        let ts = timestamp();
        let signature = sign_notification(&key, PATH, BODY, &ts);
        let keys = [other, key.public_key()];
        let window = Duration::minutes(5);
        assert_eq!(
            verify_notification(&keys, PATH, BODY, &ts, &signature, NOW, window),
            Ok(())
        );
    }

    #[test]
    fn a_changed_body_path_timestamp_or_key_is_refused() {
        let key = testdata_key();
        let ts = timestamp();
        let signature = sign_notification(&key, PATH, BODY, &ts);
        let keys = [key.public_key()];
        let window = Duration::minutes(5);
        let check = |path: &str, body: &[u8], ts: &str, signature: &str, now| {
            verify_notification(&keys, path, body, ts, signature, now, window)
        };
        let bad = Err(NotificationError::BadSignature);
        assert_eq!(check(PATH, b"{}", &ts, &signature, NOW), bad);
        assert_eq!(
            check("/v1.0/qr/qr-mpm-notify", BODY, &ts, &signature, NOW),
            bad
        );
        assert_eq!(check(PATH, BODY, &ts, "not base64!", NOW), bad);
        let later = XTimestamp::from_instant_jakarta(NOW + Duration::SECOND);
        assert_eq!(check(PATH, BODY, later.as_str(), &signature, NOW), bad);
        let stale = Err(NotificationError::StaleTimestamp);
        assert_eq!(
            check(PATH, BODY, &ts, &signature, NOW + Duration::minutes(6)),
            stale
        );
        let garbled = Err(NotificationError::BadTimestamp);
        assert_eq!(check(PATH, BODY, "yesterday", &signature, NOW), garbled);
        let stranger = [RsaPrivateKey::generate().unwrap().public_key()];
        assert_eq!(
            verify_notification(&stranger, PATH, BODY, &ts, &signature, NOW, window),
            bad
        );
    }
}
