//! Replays the `cargo fuzz` corpora of `fuzz/fuzz_targets/{body_minify,timestamp,fields,
//! signature}.rs` in an ordinary `cargo test`, so inputs the fuzzer once found interesting
//! (and any crash it found) stay checked in CI without libFuzzer. Each `check_*` function
//! must match its fuzz target's body.

use std::fs;
use std::path::{Path, PathBuf};

use snapqris_protocol::{
    Amount, BodyVariant, ChannelId, ClientId, ExternalId, JakartaDate, Mcc, MerchantCity,
    MerchantId, MerchantName, PartnerReferenceNo, PostalCode, RsaPublicKey, SignatureTolerance,
    TerminalId, TransactionSigner, TransactionVerifier, XTimestamp, body_hash_candidates,
    format_jakarta_local, format_rfc3339_jakarta, minify_json, reserialize_json, sign_transaction,
    verify_transaction,
};

/// Every file of `fuzz/corpus/<target>`, sorted; panics if the directory is missing or empty
/// so the replay cannot pass vacuously.
fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let entries = fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("cannot read fuzz corpus {}: {err}", dir.display()));
    let mut inputs: Vec<(PathBuf, Vec<u8>)> = entries
        .map(|entry| entry.expect("corpus directory entry").path())
        .filter(|path| path.is_file())
        .map(|path| {
            let bytes = fs::read(&path)
                .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
            (path, bytes)
        })
        .collect();
    assert!(!inputs.is_empty(), "fuzz corpus {} is empty", dir.display());
    inputs.sort();
    inputs
}

/// Runs `check` on every input of `target`'s corpus, naming the file that fails.
fn replay(target: &str, check: fn(&[u8])) {
    for (path, bytes) in corpus(target) {
        let outcome = std::panic::catch_unwind(|| check(&bytes));
        assert!(outcome.is_ok(), "corpus input {} fails", path.display());
    }
}

/// The body of the `body_minify` fuzz target.
fn check_body_minify(data: &[u8]) {
    let minified = minify_json(data);
    assert!(minified.len() <= data.len());
    assert_eq!(minify_json(&minified), minified, "minify is not idempotent");

    let lenient: Vec<_> = body_hash_candidates(data, SignatureTolerance::Lenient).collect();
    assert!((1..=3).contains(&lenient.len()));
    for (i, (_, hash)) in lenient.iter().enumerate() {
        assert!(
            lenient[..i].iter().all(|(_, earlier)| earlier != hash),
            "a body hash repeats: {lenient:?}"
        );
    }
    let strict: Vec<_> = body_hash_candidates(data, SignatureTolerance::Strict).collect();
    assert_eq!(strict, lenient[..1]);

    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        assert!(reserialize_json(data).is_some());
        let from_minified: serde_json::Value =
            serde_json::from_slice(&minified).expect("minified JSON no longer parses");
        assert_eq!(from_minified, value);
    }
}

/// The body of the `timestamp` fuzz target.
fn check_timestamp(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(timestamp) = XTimestamp::parse(text) {
        assert_eq!(timestamp.as_str(), text);
        assert_eq!(timestamp.to_string(), text);
        assert!(JakartaDate::parse(text).is_ok());

        let instant = timestamp.instant();
        let (start, end) = JakartaDate::of_instant(instant).bounds();
        assert!(start <= instant && instant < end);
        let _ = format_jakarta_local(instant);
        let face = format_rfc3339_jakarta(instant);
        let again = XTimestamp::parse(&face)
            .unwrap_or_else(|err| panic!("{face:?} from {text:?} does not parse: {err}"));
        assert_eq!(Ok(again.instant()), instant.replace_nanosecond(0));
    }
    if let Ok(day) = JakartaDate::parse(text) {
        let (start, end) = day.bounds();
        assert_eq!(end - start, time::Duration::DAY);
        assert_eq!(JakartaDate::of_instant(start), day);
    }
}

macro_rules! check_string_fields {
    ($text:expr, $($ty:ty),+ $(,)?) => {
        $(
            if let Ok(field) = <$ty>::parse($text) {
                assert_eq!(field.as_str(), $text);
                assert!($text.len() <= <$ty>::MAX_LEN);
            }
        )+
    };
}

/// The body of the `fields` fuzz target.
fn check_fields(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_string_fields!(
        text,
        ClientId,
        MerchantId,
        ExternalId,
        ChannelId,
        PartnerReferenceNo,
        TerminalId,
        MerchantName,
        MerchantCity,
        Mcc,
        PostalCode,
    );
    if let Ok(amount) = Amount::parse(text) {
        let shown = amount.to_string();
        assert_eq!(Amount::parse(&shown), Ok(amount), "{shown:?}");
        assert_eq!(shown, text);
    }
}

const SECRET: &[u8] = b"test-client-secret-0001";
const TOKEN: &str = "test-access-token";
const PATH: &str = "/v1.0/qr/qr-generate-list";

/// The body of the `signature` fuzz target: `timestamp NUL signature NUL body`.
fn check_signature(data: &[u8]) {
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

#[test]
fn every_body_minify_corpus_input_passes_the_fuzz_checks() {
    replay("body_minify", check_body_minify);
}

#[test]
fn every_timestamp_corpus_input_passes_the_fuzz_checks() {
    replay("timestamp", check_timestamp);
}

#[test]
fn every_fields_corpus_input_passes_the_fuzz_checks() {
    replay("fields", check_fields);
}

#[test]
fn every_signature_corpus_input_passes_the_fuzz_checks() {
    replay("signature", check_signature);
}
