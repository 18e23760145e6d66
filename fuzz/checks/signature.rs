//! Signatures: `verify_transaction` with a fixed HMAC verifier never panics on any body,
//! timestamp or signature, and accepts what `sign_transaction` made for the same request;
//! `RsaPublicKey::parse` never panics on any bytes.
//!
//! Input layout: `timestamp NUL signature NUL body` (missing parts are empty); the whole
//! input is also offered to `RsaPublicKey::parse`.
//!
//! Shared by the fuzz target `fuzz/fuzz_targets/signature.rs` and the corpus replay in `cargo test`
//! (included with `#[path]` by both), so the two can never check different things.

use snapqris_protocol::{
    BodyVariant, RsaPublicKey, SignatureTolerance, TransactionSigner, TransactionVerifier,
    sign_transaction, verify_transaction,
};

const SECRET: &[u8] = b"test-client-secret-0001";
const TOKEN: &str = "test-access-token";
const PATH: &str = "/v1.0/qr/qr-generate-list";

/// Panics if `data` breaks a property of this target.
pub(crate) fn check(data: &[u8]) {
    let _ = RsaPublicKey::parse(data);

    let mut parts = data.splitn(3, |&b| b == 0);
    let timestamp = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let signature = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let body = parts.next().unwrap_or_default();

    let verifier = TransactionVerifier::Hmac {
        client_secret: SECRET,
        access_token: TOKEN,
    };
    for tolerance in [SignatureTolerance::Strict, SignatureTolerance::Lenient] {
        let _ = verify_transaction(
            &verifier, "POST", PATH, body, &timestamp, &signature, tolerance,
        );
    }

    let signer = TransactionSigner::Hmac {
        client_secret: SECRET,
        access_token: TOKEN,
    };
    let signed = sign_transaction(&signer, "POST", PATH, body, &timestamp);
    for tolerance in [SignatureTolerance::Strict, SignatureTolerance::Lenient] {
        assert_eq!(
            verify_transaction(
                &verifier,
                "POST",
                PATH,
                body,
                &timestamp,
                &signed.signature,
                tolerance
            ),
            Ok(BodyVariant::WhitespaceStripped)
        );
    }
}
