//! Body variants: `minify_json` never panics and is idempotent; on text serde_json accepts,
//! minifying keeps the same JSON value, `reserialize_json` succeeds, and
//! `body_hash_candidates` yields one to three distinct hashes.
//!
//! Shared by the fuzz target `fuzz/fuzz_targets/body_minify.rs` and the corpus replay in `cargo test`
//! (included with `#[path]` by both), so the two can never check different things.

use snapqris_protocol::{SignatureTolerance, body_hash_candidates, minify_json, reserialize_json};

/// Panics if `data` breaks a property of this target.
pub(crate) fn check(data: &[u8]) {
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
