//! Access tokens: self-contained and MAC-protected, so every node verifies them without a
//! database round trip, and nobody without the deployment's token key can forge one.
//!
//! `token = base64url(payload) "." base64url(HMAC-SHA256(key, base64url(payload)))`, with
//! `payload = expiry (unix ms, 8 bytes BE) || nonce (12 bytes) || client id`. The key lives in
//! the store's `server_keys`, shared by all nodes.

use aws_lc_rs::{hmac, rand};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::OffsetDateTime;

const NONCE_LEN: usize = 12;

/// Why a presented token is refused; all of them answer `401xx01`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenRejection {
    /// Not in the token format, or its MAC does not verify.
    Forged,
    /// Past its expiry.
    Expired,
}

/// What a verified token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenClaims {
    pub(crate) client_id: String,
}

/// Issues and verifies access tokens with one key.
pub(crate) struct TokenAuthority {
    key: hmac::Key,
}

impl std::fmt::Debug for TokenAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenAuthority { .. }")
    }
}

/// 32 random bytes, a candidate token key for [`snapqris_store::Store::shared_secret`].
pub(crate) fn random_key() -> Vec<u8> {
    let mut key = vec![0_u8; 32];
    rand::fill(&mut key).expect("the system random generator failed");
    key
}

impl TokenAuthority {
    /// An authority keyed with `key`.
    pub(crate) fn new(key: &[u8]) -> Self {
        TokenAuthority {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
        }
    }

    /// A fresh token for `client_id`, valid until `expires_at`.
    pub(crate) fn issue(&self, client_id: &str, expires_at: OffsetDateTime) -> String {
        let mut payload = Vec::with_capacity(8 + NONCE_LEN + client_id.len());
        let expires_ms = (expires_at.unix_timestamp_nanos() / 1_000_000) as i64;
        payload.extend_from_slice(&expires_ms.to_be_bytes());
        let mut nonce = [0_u8; NONCE_LEN];
        rand::fill(&mut nonce).expect("the system random generator failed");
        payload.extend_from_slice(&nonce);
        payload.extend_from_slice(client_id.as_bytes());
        let body = URL_SAFE_NO_PAD.encode(&payload);
        let tag = hmac::sign(&self.key, body.as_bytes());
        format!("{body}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    /// Checks the MAC (in constant time) and the expiry.
    pub(crate) fn verify(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<TokenClaims, TokenRejection> {
        let (body, tag) = token.split_once('.').ok_or(TokenRejection::Forged)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| TokenRejection::Forged)?;
        hmac::verify(&self.key, body.as_bytes(), &tag).map_err(|_| TokenRejection::Forged)?;
        let payload = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| TokenRejection::Forged)?;
        if payload.len() <= 8 + NONCE_LEN {
            return Err(TokenRejection::Forged);
        }
        let expires_ms = i64::from_be_bytes(
            payload[..8]
                .try_into()
                .map_err(|_| TokenRejection::Forged)?,
        );
        let client_id = String::from_utf8(payload[8 + NONCE_LEN..].to_vec())
            .map_err(|_| TokenRejection::Forged)?;
        let now_ms = (now.unix_timestamp_nanos() / 1_000_000) as i64;
        if now_ms >= expires_ms {
            return Err(TokenRejection::Expired);
        }
        Ok(TokenClaims { client_id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-25 08:00 UTC);

    #[test]
    fn an_issued_token_verifies_until_it_expires() {
        let authority = TokenAuthority::new(b"key");
        let token = authority.issue("partner-1", NOW + time::Duration::seconds(900));
        assert_eq!(
            authority.verify(&token, NOW).unwrap().client_id,
            "partner-1"
        );
        assert_eq!(
            authority.verify(&token, NOW + time::Duration::seconds(900)),
            Err(TokenRejection::Expired)
        );
    }

    #[test]
    fn two_tokens_for_the_same_partner_differ() {
        let authority = TokenAuthority::new(b"key");
        let expiry = NOW + time::Duration::seconds(900);
        assert_ne!(authority.issue("p", expiry), authority.issue("p", expiry));
    }

    #[test]
    fn a_token_from_another_key_is_refused() {
        let token = TokenAuthority::new(b"other").issue("p", NOW + time::Duration::hours(1));
        assert_eq!(
            TokenAuthority::new(b"key").verify(&token, NOW),
            Err(TokenRejection::Forged)
        );
    }

    #[test]
    fn a_tampered_client_id_is_refused() {
        let authority = TokenAuthority::new(b"key");
        let token = authority.issue("alice", NOW + time::Duration::hours(1));
        let (body, tag) = token.split_once('.').unwrap();
        let mut payload = URL_SAFE_NO_PAD.decode(body).unwrap();
        let last = payload.len() - 1;
        payload[last] = b'X';
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(payload));
        assert_eq!(authority.verify(&forged, NOW), Err(TokenRejection::Forged));
    }

    #[test]
    fn garbage_is_refused_without_panicking() {
        let authority = TokenAuthority::new(b"key");
        for token in ["", ".", "abc", "abc.def", "....", "é.é", "AAAA.AAAA"] {
            assert_eq!(authority.verify(token, NOW), Err(TokenRejection::Forged));
        }
    }
}
