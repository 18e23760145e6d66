//! Per-operation cost of what the server does for every signed request, each next to the raw
//! aws-lc primitive it wraps, so the overhead of our code is visible:
//! `cargo bench -p snapqris-protocol --bench signatures`.
#![allow(missing_docs)]

use aws_lc_rs::{hmac, signature};
use criterion::{Criterion, criterion_group, criterion_main};
use snapqris_protocol::{
    RsaPrivateKey, SignatureTolerance, TransactionSigner, TransactionVerifier,
    body_hash_candidates, minify_json, sha256_hex, sign_token_request, sign_transaction,
    verify_token_request, verify_transaction,
};
use std::hint::black_box;

const PATH: &str = "/v1.0/qr/qr-generate-list";
const TIMESTAMP: &str = "2024-03-15T10:20:30+07:00";
/// A service-47 body as SDKs send it: pretty-printed, so minifying has work to do.
const BODY: &[u8] = br#"{
  "partnerReferenceNo": "2020102900000000000001",
  "merchantId": "000000000000001",
  "amount": { "value": "12345678.00", "currency": "IDR" },
  "terminalId": "A1234",
  "validityPeriod": "2024-03-15T11:20:30+07:00",
  "additionalInfo": { "qrImage": false, "note": "Warung Bu Sri, Jl. Sudirman 1" }
}"#;

fn rsa(c: &mut Criterion) {
    let key = RsaPrivateKey::generate().unwrap();
    let public = key.public_key();
    let raw_key = signature::UnparsedPublicKey::new(
        &signature::RSA_PKCS1_2048_8192_SHA256,
        public.spki_der(),
    );
    let signed = sign_token_request(&key, "partner-1", TIMESTAMP);
    let message = signed.string_to_sign.clone();
    let raw_signature = key.sign_raw(message.as_bytes());

    let mut group = c.benchmark_group("rsa2048");
    group.bench_function("raw aws-lc verify (parsed each time)", |b| {
        b.iter(|| raw_key.verify(black_box(message.as_bytes()), black_box(&raw_signature)))
    });
    group.bench_function("RsaPublicKey::verify_raw (pre-parsed key)", |b| {
        b.iter(|| public.verify_raw(black_box(message.as_bytes()), black_box(&raw_signature)))
    });
    group.bench_function("verify_token_request (base64 + string-to-sign)", |b| {
        b.iter(|| {
            verify_token_request(
                black_box(&public),
                "partner-1",
                TIMESTAMP,
                black_box(&signed.signature),
            )
        })
    });
    let transaction =
        sign_transaction(&TransactionSigner::Rsa(&key), "POST", PATH, BODY, TIMESTAMP);
    group.bench_function("verify_transaction rsa lenient", |b| {
        b.iter(|| {
            verify_transaction(
                &TransactionVerifier::Rsa(&public),
                "POST",
                PATH,
                black_box(BODY),
                TIMESTAMP,
                black_box(&transaction.signature),
                SignatureTolerance::Lenient,
            )
        })
    });
    group.bench_function("sign (client side, for scale)", |b| {
        b.iter(|| key.sign_raw(black_box(message.as_bytes())))
    });
    group.finish();
}

fn hmac_verify(c: &mut Criterion) {
    let secret = b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let token = "tok_4f9d3c2b1a0e9f8d7c6b5a4f3e2d1c0b4f9d3c2b1a0e9f8d";
    let signer = TransactionSigner::Hmac {
        client_secret: secret,
        access_token: token,
    };
    let verifier = TransactionVerifier::Hmac {
        client_secret: secret,
        access_token: token,
    };
    let signed = sign_transaction(&signer, "POST", PATH, BODY, TIMESTAMP);
    let key = hmac::Key::new(hmac::HMAC_SHA512, secret);
    let message = signed.string_to_sign.clone();
    let tag = hmac::sign(&key, message.as_bytes());

    let mut group = c.benchmark_group("hmac_sha512");
    group.bench_function("raw aws-lc verify (key prepared)", |b| {
        b.iter(|| hmac::verify(&key, black_box(message.as_bytes()), black_box(tag.as_ref())))
    });
    group.bench_function("raw aws-lc key + verify", |b| {
        b.iter(|| {
            let key = hmac::Key::new(hmac::HMAC_SHA512, black_box(secret));
            hmac::verify(&key, black_box(message.as_bytes()), black_box(tag.as_ref()))
        })
    });
    let verify = |signature: &str| {
        verify_transaction(
            &verifier,
            "POST",
            PATH,
            black_box(BODY),
            TIMESTAMP,
            black_box(signature),
            SignatureTolerance::Lenient,
        )
    };
    group.bench_function("verify_transaction hmac lenient (first candidate)", |b| {
        b.iter(|| verify(&signed.signature))
    });
    let wrong = hmac_wrong_signature(&signed.signature);
    group.bench_function(
        "verify_transaction hmac lenient, mismatch (all candidates)",
        |b| b.iter(|| verify(&wrong)),
    );
    group.finish();
}

/// A valid Base64 signature of the right length that does not verify.
fn hmac_wrong_signature(signature: &str) -> String {
    let mut bytes = signature.as_bytes().to_vec();
    bytes[0] = if bytes[0] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

fn body(c: &mut Criterion) {
    let mut group = c.benchmark_group("body");
    group.bench_function("raw sha256_hex of the body", |b| {
        b.iter(|| sha256_hex(black_box(BODY)))
    });
    group.bench_function("minify_json", |b| b.iter(|| minify_json(black_box(BODY))));
    group.bench_function("raw serde_json parse + to_vec (re-serialise)", |b| {
        b.iter(|| {
            let value: serde_json::Value = serde_json::from_slice(black_box(BODY)).unwrap();
            serde_json::to_vec(&value).unwrap()
        })
    });
    group.bench_function("body_hash_candidates: first (strict)", |b| {
        b.iter(|| body_hash_candidates(black_box(BODY), SignatureTolerance::Strict).count())
    });
    group.bench_function("body_hash_candidates: all three (lenient)", |b| {
        b.iter(|| body_hash_candidates(black_box(BODY), SignatureTolerance::Lenient).count())
    });
    group.finish();
}

criterion_group!(benches, rsa, hmac_verify, body);
criterion_main!(benches);
