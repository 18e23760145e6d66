//! Strings to sign, HMAC-SHA512 and SHA256withRSA signatures, server-side verification and
//! client-side signing (CONTRACT §4.1–4.2).

use std::fmt;

use aws_lc_rs::{digest, hmac};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::body::{BodyVariant, SignatureTolerance, body_hash_candidates, minify_json};
use crate::keys::{RsaPrivateKey, RsaPublicKey};

/// Why a signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// `X-SIGNATURE` is not standard, padded Base64.
    #[error("signature is not Base64")]
    NotBase64,
    /// The signature does not verify.
    #[error("signature does not match")]
    Mismatch,
}

/// Lower-case hex of SHA-256 over `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, bytes).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// The B2B token string to sign: `clientId|X-TIMESTAMP`.
pub fn token_string_to_sign(client_id: &str, timestamp: &str) -> String {
    format!("{client_id}|{timestamp}")
}

/// The symmetric transaction string to sign: `METHOD:path:accessToken:bodyHex:X-TIMESTAMP`.
pub fn hmac_string_to_sign(
    method: &str,
    path: &str,
    access_token: &str,
    body_sha256_hex: &str,
    timestamp: &str,
) -> String {
    format!("{method}:{path}:{access_token}:{body_sha256_hex}:{timestamp}")
}

/// The asymmetric transaction string to sign: `METHOD:path:bodyHex:X-TIMESTAMP`.
pub fn rsa_string_to_sign(
    method: &str,
    path: &str,
    body_sha256_hex: &str,
    timestamp: &str,
) -> String {
    format!("{method}:{path}:{body_sha256_hex}:{timestamp}")
}

/// Base64 of HMAC-SHA512(`secret`, `message`): 88 characters.
pub fn hmac_sha512_base64(secret: &[u8], message: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA512, secret);
    STANDARD.encode(hmac::sign(&key, message).as_ref())
}

/// Checks a Base64 HMAC-SHA512 in constant time.
pub fn verify_hmac_sha512(
    secret: &[u8],
    message: &[u8],
    signature_b64: &str,
) -> Result<(), SignatureError> {
    let signature = decode_signature(signature_b64)?;
    let key = hmac::Key::new(hmac::HMAC_SHA512, secret);
    hmac::verify(&key, message, &signature).map_err(|_| SignatureError::Mismatch)
}

/// Decodes `X-SIGNATURE`: the standard alphabet with padding, nothing else.
pub(crate) fn decode_signature(signature_b64: &str) -> Result<Vec<u8>, SignatureError> {
    STANDARD
        .decode(signature_b64)
        .map_err(|_| SignatureError::NotBase64)
}

/// What the server checks a transaction's `X-SIGNATURE` with, per the partner's mode.
#[derive(Clone, Copy)]
pub enum TransactionVerifier<'a> {
    /// Mode `hmac`: HMAC-SHA512 keyed with the client secret, over a string that includes
    /// the access token.
    Hmac {
        /// The client secret's UTF-8 bytes.
        client_secret: &'a [u8],
        /// The bearer token without `Bearer `.
        access_token: &'a str,
    },
    /// Mode `rsa`: SHA256withRSA with the partner's registered public key.
    Rsa(&'a RsaPublicKey),
}

impl fmt::Debug for TransactionVerifier<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransactionVerifier::Hmac { .. } => f.write_str("TransactionVerifier::Hmac"),
            TransactionVerifier::Rsa(key) => write!(f, "TransactionVerifier::Rsa({key:?})"),
        }
    }
}

/// Verifies a transaction's `X-SIGNATURE` against each body candidate the tolerance allows
/// (see [`body_hash_candidates`]), decoding the Base64 once. Returns the variant that matched.
///
/// `path` is the request path as received (prefix included, query excluded); `timestamp`
/// the `X-TIMESTAMP` bytes as sent.
pub fn verify_transaction(
    verifier: &TransactionVerifier<'_>,
    method: &str,
    path: &str,
    body: &[u8],
    timestamp: &str,
    signature_b64: &str,
    tolerance: SignatureTolerance,
) -> Result<BodyVariant, SignatureError> {
    let signature = decode_signature(signature_b64)?;
    let hmac_key = match verifier {
        TransactionVerifier::Hmac { client_secret, .. } => {
            Some(hmac::Key::new(hmac::HMAC_SHA512, client_secret))
        }
        TransactionVerifier::Rsa(_) => None,
    };
    for (variant, body_hex) in body_hash_candidates(body, tolerance) {
        let verified = match (verifier, &hmac_key) {
            (TransactionVerifier::Hmac { access_token, .. }, Some(key)) => {
                let message = hmac_string_to_sign(method, path, access_token, &body_hex, timestamp);
                hmac::verify(key, message.as_bytes(), &signature).is_ok()
            }
            (TransactionVerifier::Rsa(public_key), _) => {
                let message = rsa_string_to_sign(method, path, &body_hex, timestamp);
                public_key
                    .verify_raw(message.as_bytes(), &signature)
                    .is_ok()
            }
            (TransactionVerifier::Hmac { .. }, None) => false,
        };
        if verified {
            return Ok(variant);
        }
    }
    Err(SignatureError::Mismatch)
}

/// Verifies a B2B token request's `X-SIGNATURE` over `clientId|X-TIMESTAMP`.
pub fn verify_token_request(
    key: &RsaPublicKey,
    client_id: &str,
    timestamp: &str,
    signature_b64: &str,
) -> Result<(), SignatureError> {
    key.verify(
        token_string_to_sign(client_id, timestamp).as_bytes(),
        signature_b64,
    )
}

/// What a partner signs a transaction with, per its mode.
#[derive(Clone, Copy)]
pub enum TransactionSigner<'a> {
    /// Mode `hmac`: the client secret and the access token from the token call.
    Hmac {
        /// The client secret's UTF-8 bytes.
        client_secret: &'a [u8],
        /// The access token without `Bearer `.
        access_token: &'a str,
    },
    /// Mode `rsa`: the partner's private key.
    Rsa(&'a RsaPrivateKey),
}

impl fmt::Debug for TransactionSigner<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransactionSigner::Hmac { .. } => f.write_str("TransactionSigner::Hmac"),
            TransactionSigner::Rsa(key) => write!(f, "TransactionSigner::Rsa({key:?})"),
        }
    }
}

/// A signature and what went into it (for `X-SIGNATURE`, and for showing the work).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    /// The exact string that was signed.
    pub string_to_sign: String,
    /// Lower-case hex SHA-256 of the minified body; empty for a token request.
    pub body_sha256_hex: String,
    /// The Base64 signature, the `X-SIGNATURE` value.
    pub signature: String,
}

/// Signs a transaction the standard way: the body hash is over [`minify_json`]`(body)`.
pub fn sign_transaction(
    signer: &TransactionSigner<'_>,
    method: &str,
    path: &str,
    body: &[u8],
    timestamp: &str,
) -> SignedRequest {
    let body_sha256_hex = sha256_hex(&minify_json(body));
    let (string_to_sign, signature) = match signer {
        TransactionSigner::Hmac {
            client_secret,
            access_token,
        } => {
            let s = hmac_string_to_sign(method, path, access_token, &body_sha256_hex, timestamp);
            let signature = hmac_sha512_base64(client_secret, s.as_bytes());
            (s, signature)
        }
        TransactionSigner::Rsa(key) => {
            let s = rsa_string_to_sign(method, path, &body_sha256_hex, timestamp);
            let signature = key.sign_base64(s.as_bytes());
            (s, signature)
        }
    };
    SignedRequest {
        string_to_sign,
        body_sha256_hex,
        signature,
    }
}

/// Signs a B2B token request: SHA256withRSA over `clientId|X-TIMESTAMP`.
pub fn sign_token_request(key: &RsaPrivateKey, client_id: &str, timestamp: &str) -> SignedRequest {
    let string_to_sign = token_string_to_sign(client_id, timestamp);
    let signature = key.sign_base64(string_to_sign.as_bytes());
    SignedRequest {
        string_to_sign,
        body_sha256_hex: String::new(),
        signature,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn testdata(name: &str) -> Vec<u8> {
        let path = format!("{}/../../testdata/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn vectors() -> Value {
        serde_json::from_slice(&testdata("signature-vectors.json")).unwrap()
    }

    fn text<'v>(v: &'v Value, key: &str) -> &'v str {
        v[key]
            .as_str()
            .unwrap_or_else(|| panic!("vector field {key}"))
    }

    fn private_key(name: &str) -> RsaPrivateKey {
        RsaPrivateKey::parse_pem(&testdata(name)).unwrap()
    }

    fn public_key() -> RsaPublicKey {
        RsaPublicKey::parse(&testdata("partner-public.pem")).unwrap()
    }

    #[test]
    fn the_token_vector_is_reproduced_from_both_private_key_encodings() {
        let v = &vectors()["token"];
        for name in ["partner-private.pem", "partner-private-pkcs1.pem"] {
            let signed = sign_token_request(
                &private_key(name),
                text(v, "clientId"),
                text(v, "X-TIMESTAMP"),
            );
            assert_eq!(signed.string_to_sign, text(v, "stringToSign"));
            assert_eq!(signed.signature, text(v, "X-SIGNATURE"), "{name}");
            assert_eq!(signed.body_sha256_hex, "");
        }
    }

    #[test]
    fn the_token_vector_verifies_and_a_changed_client_id_does_not() {
        let v = &vectors()["token"];
        let key = public_key();
        let (ts, sig) = (text(v, "X-TIMESTAMP"), text(v, "X-SIGNATURE"));
        assert_eq!(
            verify_token_request(&key, text(v, "clientId"), ts, sig),
            Ok(())
        );
        assert_eq!(
            verify_token_request(&key, "another-partner", ts, sig),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn the_hmac_vector_is_reproduced_exactly() {
        let v = &vectors()["hmac"];
        let signer = TransactionSigner::Hmac {
            client_secret: text(v, "clientSecret").as_bytes(),
            access_token: text(v, "accessToken"),
        };
        let signed = sign_transaction(
            &signer,
            text(v, "method"),
            text(v, "path"),
            text(v, "body").as_bytes(),
            text(v, "X-TIMESTAMP"),
        );
        assert_eq!(signed.body_sha256_hex, text(v, "bodySha256Hex"));
        assert_eq!(signed.string_to_sign, text(v, "stringToSign"));
        assert_eq!(signed.signature, text(v, "X-SIGNATURE"));
        assert_eq!(signed.signature.len(), 88);
    }

    #[test]
    fn the_hmac_vector_verifies_and_a_wrong_secret_does_not() {
        let v = &vectors()["hmac"];
        let check = |secret: &str, token: &str| {
            verify_transaction(
                &TransactionVerifier::Hmac {
                    client_secret: secret.as_bytes(),
                    access_token: token,
                },
                text(v, "method"),
                text(v, "path"),
                text(v, "body").as_bytes(),
                text(v, "X-TIMESTAMP"),
                text(v, "X-SIGNATURE"),
                SignatureTolerance::Strict,
            )
        };
        let secret = text(v, "clientSecret");
        let token = text(v, "accessToken");
        assert_eq!(check(secret, token), Ok(BodyVariant::WhitespaceStripped));
        assert_eq!(check("wrong", token), Err(SignatureError::Mismatch));
        assert_eq!(check(secret, "other-token"), Err(SignatureError::Mismatch));
        let message = text(v, "stringToSign").as_bytes();
        assert_eq!(
            verify_hmac_sha512(secret.as_bytes(), message, text(v, "X-SIGNATURE")),
            Ok(())
        );
    }

    #[test]
    fn the_rsa_transaction_vector_is_reproduced_and_verifies() {
        let v = &vectors()["rsa_transaction"];
        let key = private_key("partner-private.pem");
        let (method, path, body, ts) = (
            text(v, "method"),
            text(v, "path"),
            text(v, "body").as_bytes(),
            text(v, "X-TIMESTAMP"),
        );
        let signed = sign_transaction(&TransactionSigner::Rsa(&key), method, path, body, ts);
        assert_eq!(signed.body_sha256_hex, text(v, "bodySha256Hex"));
        assert_eq!(signed.string_to_sign, text(v, "stringToSign"));
        assert_eq!(signed.signature, text(v, "X-SIGNATURE"));
        let public = public_key();
        let verifier = TransactionVerifier::Rsa(&public);
        let verify = |path: &str| {
            verify_transaction(
                &verifier,
                method,
                path,
                body,
                ts,
                &signed.signature,
                SignatureTolerance::Lenient,
            )
        };
        assert_eq!(verify(path), Ok(BodyVariant::WhitespaceStripped));
        assert_eq!(
            verify("/snap/v1.0/qr/qr-mpm-generate"),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn the_three_body_variants_hash_as_in_the_vectors() {
        let v = &vectors()["body_variants"];
        let raw = text(v, "raw").as_bytes();
        assert_eq!(minify_json(raw), text(v, "whitespace_stripped").as_bytes());
        assert_eq!(
            crate::body::reserialize_json(raw).unwrap(),
            text(v, "reserialized_unescaped").as_bytes()
        );
        let candidates: Vec<_> = body_hash_candidates(raw, SignatureTolerance::Lenient).collect();
        assert_eq!(
            candidates,
            [
                (
                    BodyVariant::WhitespaceStripped,
                    text(v, "whitespace_stripped_sha256").to_owned()
                ),
                (BodyVariant::Raw, text(v, "raw_sha256").to_owned()),
                (
                    BodyVariant::Reserialized,
                    text(v, "reserialized_unescaped_sha256").to_owned()
                ),
            ]
        );
    }

    #[test]
    fn a_signature_over_any_variant_verifies_when_lenient_and_only_stripped_when_strict() {
        let v = &vectors()["body_variants"];
        let raw = text(v, "raw").as_bytes();
        let (method, path, ts) = (
            "POST",
            "/v1.0/qr/qr-generate-list",
            "2024-03-15T10:21:00+07:00",
        );
        let (secret, token) = (b"test-client-secret-0001".as_slice(), "test-access-token");
        let rsa_private = private_key("partner-private.pem");
        let rsa_public = public_key();
        for (variant, hash_key) in [
            (
                BodyVariant::WhitespaceStripped,
                "whitespace_stripped_sha256",
            ),
            (BodyVariant::Raw, "raw_sha256"),
            (BodyVariant::Reserialized, "reserialized_unescaped_sha256"),
        ] {
            let hash = text(v, hash_key);
            let hmac_signature = hmac_sha512_base64(
                secret,
                hmac_string_to_sign(method, path, token, hash, ts).as_bytes(),
            );
            let rsa_signature =
                rsa_private.sign_base64(rsa_string_to_sign(method, path, hash, ts).as_bytes());
            let hmac = TransactionVerifier::Hmac {
                client_secret: secret,
                access_token: token,
            };
            let rsa = TransactionVerifier::Rsa(&rsa_public);
            for (verifier, signature) in [(hmac, &hmac_signature), (rsa, &rsa_signature)] {
                let check = |tolerance| {
                    verify_transaction(&verifier, method, path, raw, ts, signature, tolerance)
                };
                assert_eq!(
                    check(SignatureTolerance::Lenient),
                    Ok(variant),
                    "{verifier:?}"
                );
                let strict = check(SignatureTolerance::Strict);
                if variant == BodyVariant::WhitespaceStripped {
                    assert_eq!(strict, Ok(variant));
                } else {
                    assert_eq!(strict, Err(SignatureError::Mismatch), "{variant}");
                }
            }
        }
    }

    #[test]
    fn an_empty_body_hashes_the_empty_string() {
        let v = vectors();
        let expected = v["empty_body_sha256"].as_str().unwrap();
        assert_eq!(sha256_hex(b""), expected);
        let candidates: Vec<_> = body_hash_candidates(b"", SignatureTolerance::Lenient).collect();
        assert_eq!(
            candidates,
            [(BodyVariant::WhitespaceStripped, expected.to_owned())]
        );
    }

    #[test]
    fn a_signature_that_is_not_padded_standard_base64_is_not_base64() {
        let key = public_key();
        let verifier = TransactionVerifier::Hmac {
            client_secret: b"s",
            access_token: "t",
        };
        for bad in ["abc", "ab-_", "YWJj ", "YWI", "not base64!"] {
            assert_eq!(
                verify_token_request(&key, "c", "t", bad),
                Err(SignatureError::NotBase64),
                "{bad}"
            );
            assert_eq!(
                verify_transaction(
                    &verifier,
                    "POST",
                    "/",
                    b"{}",
                    "t",
                    bad,
                    SignatureTolerance::Lenient
                ),
                Err(SignatureError::NotBase64)
            );
        }
        assert_eq!(
            verify_token_request(&key, "c", "t", "YWJj"),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn strings_to_sign_join_their_parts_with_ascii_separators() {
        assert_eq!(token_string_to_sign("c", "ts"), "c|ts");
        assert_eq!(
            hmac_string_to_sign("POST", "/p", "tok", "ab", "ts"),
            "POST:/p:tok:ab:ts"
        );
        assert_eq!(
            rsa_string_to_sign("POST", "/p", "ab", "ts"),
            "POST:/p:ab:ts"
        );
    }
}
