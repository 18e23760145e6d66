//! Replays the `cargo fuzz` corpus of `fuzz/fuzz_targets/qris_decode.rs` in an ordinary
//! `cargo test`, so inputs the fuzzer once found interesting (and any crash it found) stay
//! checked in CI without libFuzzer. The check below must match the fuzz target's body.

use std::fs;
use std::path::{Path, PathBuf};

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

/// The body of the `qris_decode` fuzz target.
fn check_qris_decode(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = snapqris_qris::decode_tlv(text);
    let _ = snapqris_qris::describe(text);
    if let Ok(payload) = snapqris_qris::parse(text) {
        let again = payload.to_payload_string();
        let reparsed = snapqris_qris::parse(&again)
            .unwrap_or_else(|err| panic!("re-encoded payload {again:?} does not parse: {err}"));
        assert_eq!(reparsed.merchant_name(), payload.merchant_name());
        assert_eq!(reparsed.amount(), payload.amount());
        assert_eq!(reparsed.initiation(), payload.initiation());
    }
}

#[test]
fn every_qris_decode_corpus_input_passes_the_fuzz_checks() {
    let inputs = corpus("qris_decode");
    for (path, bytes) in &inputs {
        let outcome = std::panic::catch_unwind(|| check_qris_decode(bytes));
        assert!(outcome.is_ok(), "corpus input {} fails", path.display());
    }
    // The published sample payloads are seeds and must still be valid.
    let valid = inputs
        .iter()
        .filter_map(|(_, bytes)| std::str::from_utf8(bytes).ok())
        .filter(|text| snapqris_qris::parse(text).is_ok())
        .count();
    assert!(valid >= 5, "only {valid} corpus inputs are valid payloads");
}
