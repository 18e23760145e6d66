//! Time fields: `XTimestamp::parse` and `JakartaDate::parse` never panic, and a parsed
//! `X-TIMESTAMP` keeps the header bytes exactly as sent (they go into the string to sign).
//!
//! The same checks run over the corpus in `crates/protocol/tests/fuzz_corpus.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use snapqris_protocol::{JakartaDate, XTimestamp};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(timestamp) = XTimestamp::parse(text) {
        assert_eq!(timestamp.as_str(), text);
        assert_eq!(timestamp.to_string(), text);
        // An X-TIMESTAMP is also an acceptable dateGenerate.
        assert!(JakartaDate::parse(text).is_ok());
    }
    let _ = JakartaDate::parse(text);
});
