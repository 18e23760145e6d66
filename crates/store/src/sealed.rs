//! Sealing secrets at rest under a master key (CONTRACT §8): AES-256-GCM, pure, no I/O.
//!
//! A sealed value is `version (1 byte) ‖ nonce (12 random bytes) ‖ ciphertext ‖ tag (16)`,
//! stored as the ASCII text `sealed:` followed by its standard Base64, so that it fits the text
//! column of client secrets and the byte column of shared secrets alike, and so that a clear
//! value (stored before a master key was set) and a sealed one are told apart by their first
//! bytes. The associated data is the version byte followed by a label naming what the value
//! is (`client_secret:<client id>`, `secret:<name>`): a sealed value copied to another row does
//! not open there.
//!
//! Version 1 is the only format. The version byte lets a later format (another cipher, a key
//! id) be added while values sealed as version 1 stay readable. Rotation to a new master key
//! needs no key id: AES-GCM's tag tells whether a value opens under a key, so `admin rekey`
//! tries the new key, then the previous one, and re-seals what only the previous one opens.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::sync::Arc;

/// What every sealed value starts with, in its stored form.
pub(crate) const MARKER: &[u8] = b"sealed:";

/// The one format: AES-256-GCM, a 12-byte random nonce, associated data `version ‖ label`.
const VERSION_1: u8 = 1;

/// Length of an AES-256-GCM tag.
const TAG_LEN: usize = 16;

/// Length of a master key in bytes.
pub const MASTER_KEY_LEN: usize = 32;

/// The deployment's master key: 32 random bytes that seal and open stored secrets.
#[derive(Clone)]
pub struct MasterKey {
    key: Arc<LessSafeKey>,
}

/// Why a master key could not be made, or a sealed value could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// A master key must be exactly 32 bytes.
    #[error("a master key is {MASTER_KEY_LEN} bytes, not {0}")]
    KeyLength(usize),
    /// The value starts like a sealed one but is not one (bad Base64, too short).
    #[error("it is not a well-formed sealed value")]
    Malformed,
    /// The value was sealed in a format this version does not know.
    #[error("it is sealed in format version {0}, which this snapqris does not know")]
    UnknownVersion(u8),
    /// The tag does not verify: another master key sealed it, it was altered, or it was moved
    /// from another row.
    #[error("it does not open under this master key (sealed under another key, or altered)")]
    DoesNotOpen,
}

impl MasterKey {
    /// A master key from its 32 raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<MasterKey, SealError> {
        if bytes.len() != MASTER_KEY_LEN {
            return Err(SealError::KeyLength(bytes.len()));
        }
        let key =
            UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| SealError::KeyLength(bytes.len()))?;
        Ok(MasterKey {
            key: Arc::new(LessSafeKey::new(key)),
        })
    }

    /// 32 fresh random bytes for a new master key.
    pub fn generate_bytes() -> [u8; MASTER_KEY_LEN] {
        let mut bytes = [0_u8; MASTER_KEY_LEN];
        aws_lc_rs::rand::fill(&mut bytes).expect("the system random generator failed");
        bytes
    }

    /// Seals `clear` as the value named `label`; returns the stored form (`sealed:…`).
    pub fn seal(&self, label: &str, clear: &[u8]) -> Vec<u8> {
        let mut nonce = [0_u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).expect("the system random generator failed");
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + clear.len() + TAG_LEN);
        sealed.push(VERSION_1);
        sealed.extend_from_slice(&nonce);
        let mut in_out = clear.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(associated_data(VERSION_1, label)),
                &mut in_out,
            )
            .expect("AES-GCM seals any value this small");
        sealed.extend_from_slice(&in_out);
        let mut stored = MARKER.to_vec();
        stored.extend_from_slice(STANDARD.encode(&sealed).as_bytes());
        stored
    }

    /// Opens the stored form `stored` of the value named `label`.
    pub fn open(&self, label: &str, stored: &[u8]) -> Result<Vec<u8>, SealError> {
        let encoded = stored.strip_prefix(MARKER).ok_or(SealError::Malformed)?;
        let mut sealed = STANDARD.decode(encoded).map_err(|_| SealError::Malformed)?;
        let (&version, rest) = sealed.split_first().ok_or(SealError::Malformed)?;
        if version != VERSION_1 {
            return Err(SealError::UnknownVersion(version));
        }
        if rest.len() < NONCE_LEN + TAG_LEN {
            return Err(SealError::Malformed);
        }
        let nonce: [u8; NONCE_LEN] = rest[..NONCE_LEN].try_into().expect("length checked");
        let in_out = &mut sealed[1 + NONCE_LEN..];
        let clear = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(associated_data(version, label)),
                in_out,
            )
            .map_err(|_| SealError::DoesNotOpen)?;
        Ok(clear.to_vec())
    }
}

/// Whether a stored value is sealed (rather than a clear value stored without a master key).
pub(crate) fn is_sealed(stored: &[u8]) -> bool {
    stored.starts_with(MARKER)
}

/// The associated data: the format version, then what the value is.
fn associated_data(version: u8, label: &str) -> Vec<u8> {
    let mut data = Vec::with_capacity(1 + label.len());
    data.push(version);
    data.extend_from_slice(label.as_bytes());
    data
}

// Hand-written so that no log line or panic message can print the key.
impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> MasterKey {
        MasterKey::from_bytes(&[byte; MASTER_KEY_LEN]).unwrap()
    }

    /// The raw bytes of a stored value: version, nonce, ciphertext, tag.
    fn raw(stored: &[u8]) -> Vec<u8> {
        STANDARD.decode(&stored[MARKER.len()..]).unwrap()
    }

    fn stored(raw: &[u8]) -> Vec<u8> {
        [MARKER, STANDARD.encode(raw).as_bytes()].concat()
    }

    #[test]
    fn a_sealed_value_opens_to_what_was_sealed() {
        let sealed = key(1).seal("client_secret:P1", b"very-secret");
        assert!(is_sealed(&sealed));
        assert_eq!(
            key(1).open("client_secret:P1", &sealed).unwrap(),
            b"very-secret"
        );
        assert_eq!(
            key(1)
                .open("secret:empty", &key(1).seal("secret:empty", b""))
                .unwrap(),
            b""
        );
    }

    #[test]
    fn the_clear_value_is_nowhere_in_the_sealed_one_and_each_sealing_differs() {
        let first = key(1).seal("client_secret:P1", b"very-secret");
        let second = key(1).seal("client_secret:P1", b"very-secret");
        assert_ne!(first, second, "a fresh nonce each time");
        for sealed in [&first, &second] {
            assert!(!sealed.windows(11).any(|w| w == b"very-secret"));
            assert!(!raw(sealed).windows(11).any(|w| w == b"very-secret"));
        }
    }

    #[test]
    fn a_flipped_byte_anywhere_is_refused() {
        let sealed = raw(&key(1).seal("secret:token", b"0123456789abcdef"));
        for i in 1..sealed.len() {
            let mut altered = sealed.clone();
            altered[i] ^= 0x01;
            assert_eq!(
                key(1).open("secret:token", &stored(&altered)),
                Err(SealError::DoesNotOpen),
                "byte {i}"
            );
        }
    }

    #[test]
    fn another_key_does_not_open_it() {
        let sealed = key(1).seal("secret:token", b"value");
        assert_eq!(
            key(2).open("secret:token", &sealed),
            Err(SealError::DoesNotOpen)
        );
    }

    #[test]
    fn a_value_moved_to_another_row_does_not_open() {
        let sealed = key(1).seal("client_secret:P1", b"value");
        assert_eq!(
            key(1).open("client_secret:P2", &sealed),
            Err(SealError::DoesNotOpen)
        );
        assert_eq!(
            key(1).open("secret:P1", &sealed),
            Err(SealError::DoesNotOpen)
        );
    }

    #[test]
    fn an_unknown_version_is_refused_as_such() {
        let mut sealed = raw(&key(1).seal("secret:token", b"value"));
        sealed[0] = 2;
        assert_eq!(
            key(1).open("secret:token", &stored(&sealed)),
            Err(SealError::UnknownVersion(2))
        );
    }

    #[test]
    fn truncated_or_garbled_values_are_malformed() {
        let sealed = raw(&key(1).seal("secret:token", b"value"));
        for bad in [
            b"sealed:".to_vec(),
            b"sealed:!!!".to_vec(),
            stored(&sealed[..1 + NONCE_LEN + TAG_LEN - 1]),
            b"clear value".to_vec(),
        ] {
            assert_eq!(
                key(1).open("secret:token", &bad),
                Err(SealError::Malformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_master_key_is_exactly_32_bytes() {
        for length in [0, 16, 31, 33, 64] {
            assert_eq!(
                MasterKey::from_bytes(&vec![7; length]).unwrap_err(),
                SealError::KeyLength(length)
            );
        }
        assert_ne!(MasterKey::generate_bytes(), MasterKey::generate_bytes());
    }

    #[test]
    fn a_debug_print_hides_the_key() {
        assert_eq!(format!("{:?}", key(1)), "MasterKey(***)");
    }
}
