//! Operators' passwords, sessions and CSRF tokens (CONTRACT §7).
//!
//! A session id is 32 random bytes, sent as an `HttpOnly; SameSite=Strict` cookie; the store
//! keeps only its SHA-256, so a copy of the database logs nobody in. The CSRF token of a
//! session is an HMAC of a fixed label under the session id: tied to the session, never stored,
//! and unknowable to a page that cannot read the cookie.

use super::ConsoleError;
use crate::state::AppState;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use aws_lc_rs::{constant_time, digest, hmac, rand};
use axum::extract::FromRequestParts;
use axum::http::header::COOKIE;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use snapqris_store::Store;

/// The session cookie's name.
pub(crate) const COOKIE_NAME: &str = "snapqris_console";

/// An operator password hashed with Argon2id (the crate's recommended parameters: 19 MiB, two
/// passes), as a PHC string.
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0_u8; 16];
    rand::fill(&mut salt).map_err(|_| "the system random generator failed".to_owned())?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// Whether `password` matches the PHC string `hash` (a malformed hash matches nothing).
pub(crate) fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash no password matches, checked when the name is unknown so that a wrong name takes as
/// long as a wrong password.
pub(crate) fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy: no operator has this").unwrap_or_default())
}

/// A fresh password for `admin operator add`: 18 random bytes, 24 URL-safe characters.
pub fn generate_password() -> Result<String, String> {
    let mut bytes = [0_u8; 18];
    rand::fill(&mut bytes).map_err(|_| "the system random generator failed".to_owned())?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// A session's id as the cookie carries it.
#[derive(Clone)]
pub(crate) struct SessionId(Vec<u8>);

impl SessionId {
    /// A fresh random id.
    pub(crate) fn generate() -> Result<SessionId, ConsoleError> {
        let mut bytes = vec![0_u8; 32];
        rand::fill(&mut bytes)
            .map_err(|_| ConsoleError::internal("the system random generator failed"))?;
        Ok(SessionId(bytes))
    }

    /// The id in a cookie value; `None` unless it is 32 bytes of URL-safe base64.
    fn parse(value: &str) -> Option<SessionId> {
        let bytes = URL_SAFE_NO_PAD.decode(value).ok()?;
        (bytes.len() == 32).then_some(SessionId(bytes))
    }

    /// What the store keeps: the hex SHA-256 of the id.
    pub(crate) fn hash(&self) -> String {
        let digest = digest::digest(&digest::SHA256, &self.0);
        digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The session's CSRF token.
    pub(crate) fn csrf_token(&self) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        URL_SAFE_NO_PAD.encode(hmac::sign(&key, b"snapqris console csrf").as_ref())
    }

    /// The `Set-Cookie` value that gives the browser this session.
    pub(crate) fn cookie(&self) -> String {
        format!(
            "{COOKIE_NAME}={}; HttpOnly; SameSite=Strict; Path=/",
            URL_SAFE_NO_PAD.encode(&self.0)
        )
    }
}

/// The `Set-Cookie` value that makes the browser forget the session.
pub(crate) fn expired_cookie() -> String {
    format!("{COOKIE_NAME}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
}

/// The session id in the request's cookies, if any.
fn session_cookie(parts: &Parts) -> Option<SessionId> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .and_then(|(_, value)| SessionId::parse(value))
}

/// A request of a logged-in operator: the extractor answers a redirect to the login page
/// when the request has no live session.
pub(crate) struct Session {
    /// The operator's name.
    pub(crate) operator: String,
    /// The session's id.
    pub(crate) id: SessionId,
}

impl Session {
    /// Refuses (`403`) a form whose CSRF token is missing or not this session's.
    pub(crate) fn check_csrf(&self, token: &str) -> Result<(), ConsoleError> {
        let expected = self.id.csrf_token();
        constant_time::verify_slices_are_equal(expected.as_bytes(), token.as_bytes())
            .map_err(|_| ConsoleError::Csrf)
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = ConsoleError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Session, ConsoleError> {
        let id = session_cookie(parts).ok_or(ConsoleError::LoggedOut)?;
        let store: &dyn Store = &*state.inner.store;
        let now = state.inner.clock.now();
        match store.touch_console_session(&id.hash(), now).await? {
            Some(session) => Ok(Session {
                operator: session.operator,
                id,
            }),
            None => Err(ConsoleError::LoggedOut),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_hash_only() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("correct horsf", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
        assert!(!verify_password("", decoy_hash()));
    }

    #[test]
    fn the_csrf_token_belongs_to_one_session() {
        let (one, other) = (
            SessionId::generate().unwrap(),
            SessionId::generate().unwrap(),
        );
        assert_eq!(one.csrf_token(), one.csrf_token());
        assert_ne!(one.csrf_token(), other.csrf_token());
        assert_ne!(one.hash(), other.hash());
        let cookie = one.cookie();
        let value = cookie.split(';').next().unwrap().split_once('=').unwrap().1;
        assert_eq!(SessionId::parse(value).unwrap().hash(), one.hash());
        assert!(SessionId::parse("short").is_none());
    }
}
