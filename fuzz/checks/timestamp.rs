//! Time fields: `XTimestamp::parse` and `JakartaDate::parse` never panic, and neither do the
//! conversions callers make next (Jakarta day, Jakarta clock faces, day bounds). A parsed
//! `X-TIMESTAMP` keeps the header bytes exactly as sent (they go into the string to sign),
//! and its Jakarta RFC 3339 face parses back to the same instant, to the second.
//!
//! Shared by the fuzz target `fuzz/fuzz_targets/timestamp.rs` and the corpus replay in `cargo test`
//! (included with `#[path]` by both), so the two can never check different things.

use snapqris_protocol::{JakartaDate, XTimestamp, format_jakarta_local, format_rfc3339_jakarta};

/// Panics if `data` breaks a property of this target.
pub(crate) fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(timestamp) = XTimestamp::parse(text) {
        assert_eq!(timestamp.as_str(), text);
        assert_eq!(timestamp.to_string(), text);
        // An X-TIMESTAMP is also an acceptable dateGenerate.
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
