//! QRIS decoding: `decode_tlv`, `parse` and `describe` never panic on any text, and a payload
//! that parses still parses, with the same merchant name and amount, once re-encoded by
//! `Payload::to_payload_string` (fields sorted, fresh CRC).
//!
//! Shared by the fuzz target `fuzz/fuzz_targets/qris_decode.rs` and the corpus replay in `cargo test`
//! (included with `#[path]` by both), so the two can never check different things.

/// Panics if `data` breaks a property of this target.
pub(crate) fn check(data: &[u8]) {
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
