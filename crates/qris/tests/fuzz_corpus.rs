//! Replays the `cargo fuzz` corpus of `fuzz/fuzz_targets/qris_decode.rs` in an ordinary
//! `cargo test`, so inputs the fuzzer once found interesting (and any crash it found) stay
//! checked in CI without libFuzzer. The check is the fuzz target's own
//! (`fuzz/checks/qris_decode.rs`, included here with `#[path]`).

#[path = "../../../fuzz/checks/replay.rs"]
mod replay;

#[path = "../../../fuzz/checks/qris_decode.rs"]
mod qris_decode;

#[test]
fn every_qris_decode_corpus_input_passes_the_fuzz_checks() {
    replay::replay("qris_decode", qris_decode::check);
    // The published sample payloads are seeds and must still be valid.
    let valid = replay::corpus("qris_decode")
        .iter()
        .filter_map(|(_, bytes)| std::str::from_utf8(bytes).ok())
        .filter(|text| snapqris_qris::parse(text).is_ok())
        .count();
    assert!(valid >= 5, "only {valid} corpus inputs are valid payloads");
}
