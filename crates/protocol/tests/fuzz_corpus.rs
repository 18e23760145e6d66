//! Replays the `cargo fuzz` corpora of `fuzz/fuzz_targets/{body_minify,timestamp,fields,
//! signature}.rs` in an ordinary `cargo test`, so inputs the fuzzer once found interesting
//! (and any crash it found) stay checked in CI without libFuzzer. The checks are the fuzz
//! targets' own (`fuzz/checks/*.rs`, included here with `#[path]`).

#[path = "../../../fuzz/checks/replay.rs"]
mod replay;

#[path = "../../../fuzz/checks/body_minify.rs"]
mod body_minify;

#[path = "../../../fuzz/checks/timestamp.rs"]
mod timestamp;

#[path = "../../../fuzz/checks/fields.rs"]
mod fields;

#[path = "../../../fuzz/checks/signature.rs"]
mod signature;

#[test]
fn every_body_minify_corpus_input_passes_the_fuzz_checks() {
    replay::replay("body_minify", body_minify::check);
}

#[test]
fn every_timestamp_corpus_input_passes_the_fuzz_checks() {
    replay::replay("timestamp", timestamp::check);
}

#[test]
fn every_fields_corpus_input_passes_the_fuzz_checks() {
    replay::replay("fields", fields::check);
}

#[test]
fn every_signature_corpus_input_passes_the_fuzz_checks() {
    replay::replay("signature", signature::check);
}
