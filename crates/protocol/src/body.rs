//! The bytes a client may have hashed: the body whitespace-stripped, raw, or re-serialised.

use std::fmt;
use std::str::FromStr;

use crate::signature::sha256_hex;

/// Which transformation of the request body a signature was computed over (SNAP-NOTES
/// "What real clients actually hash").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyVariant {
    /// The body with JSON whitespace outside strings removed: the standard's "minify", and
    /// what Go's `json.Compact` produces.
    WhitespaceStripped,
    /// The body exactly as received (SDKs that hash what they send, pretty-printed or not).
    Raw,
    /// The body parsed and printed compact with unescaped UTF-8 in original key order
    /// (`JSON.stringify(JSON.parse(body))`).
    Reserialized,
}

impl BodyVariant {
    /// `whitespace-stripped`, `raw` or `reserialized` (for logs and metrics labels).
    pub fn as_str(self) -> &'static str {
        match self {
            BodyVariant::WhitespaceStripped => "whitespace-stripped",
            BodyVariant::Raw => "raw",
            BodyVariant::Reserialized => "reserialized",
        }
    }
}

impl fmt::Display for BodyVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which body variants a transaction signature may cover (setting `signature-tolerance`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignatureTolerance {
    /// Only [`BodyVariant::WhitespaceStripped`], the standard.
    Strict,
    /// Any of the three [`BodyVariant`]s.
    #[default]
    Lenient,
}

impl SignatureTolerance {
    /// `strict` or `lenient`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureTolerance::Strict => "strict",
            SignatureTolerance::Lenient => "lenient",
        }
    }
}

impl fmt::Display for SignatureTolerance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A signature tolerance that is neither `strict` nor `lenient`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("signature tolerance must be \"strict\" or \"lenient\"")]
pub struct ParseToleranceError;

impl FromStr for SignatureTolerance {
    type Err = ParseToleranceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "strict" => Ok(SignatureTolerance::Strict),
            "lenient" => Ok(SignatureTolerance::Lenient),
            _ => Err(ParseToleranceError),
        }
    }
}

/// Drops JSON whitespace (space, tab, LF, CR) outside strings. String contents, escapes
/// and key order stay byte-identical. Works on any bytes: it neither validates nor panics.
pub fn minify_json(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut in_string = false;
    let mut escaped = false;
    for &b in raw {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            out.push(b);
        } else if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            in_string = b == b'"';
            out.push(b);
        }
    }
    out
}

/// Parses `raw` as JSON and prints it compact, unescaped UTF-8, keys in original order;
/// `None` if it is not JSON.
pub fn reserialize_json(raw: &[u8]) -> Option<Vec<u8>> {
    let value: serde_json::Value = serde_json::from_slice(raw).ok()?;
    serde_json::to_vec(&value).ok()
}

/// Lazily yields `(variant, sha256 hex)` for each distinct body variant, in the order
/// worth trying: whitespace-stripped (the standard, and what compact clients send), raw,
/// re-serialised. A variant whose bytes equal an earlier one's is skipped, so no hash
/// repeats. [`SignatureTolerance::Strict`] yields only the whitespace-stripped one.
pub fn body_hash_candidates(
    raw: &[u8],
    tolerance: SignatureTolerance,
) -> impl Iterator<Item = (BodyVariant, String)> + '_ {
    let mut stripped: Option<Vec<u8>> = None;
    let mut next = Some(BodyVariant::WhitespaceStripped);
    std::iter::from_fn(move || {
        loop {
            let variant = next?;
            next = match (variant, tolerance) {
                (_, SignatureTolerance::Strict) => None,
                (BodyVariant::WhitespaceStripped, _) => Some(BodyVariant::Raw),
                (BodyVariant::Raw, _) => Some(BodyVariant::Reserialized),
                (BodyVariant::Reserialized, _) => None,
            };
            match variant {
                BodyVariant::WhitespaceStripped => {
                    let minified = stripped.insert(minify_json(raw));
                    return Some((variant, sha256_hex(minified)));
                }
                BodyVariant::Raw => {
                    // Minifying only removes bytes: same length means same bytes.
                    if stripped.as_ref().is_some_and(|s| s.len() != raw.len()) {
                        return Some((variant, sha256_hex(raw)));
                    }
                }
                BodyVariant::Reserialized => {
                    let Some(compact) = reserialize_json(raw) else {
                        continue;
                    };
                    if compact != raw && stripped.as_deref() != Some(&compact[..]) {
                        return Some((variant, sha256_hex(&compact)));
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn minify_keeps_spaces_and_escapes_inside_strings() {
        let raw = br#"{ "a" : "x y \" }  ", "b" : [ 1 , 2 ] ,"c":"\\" , "d" : null }"#;
        assert_eq!(
            minify_json(raw),
            br#"{"a":"x y \" }  ","b":[1,2],"c":"\\","d":null}"#.to_vec()
        );
    }

    #[test]
    fn minify_tolerates_broken_input() {
        assert_eq!(minify_json(b"{ \"open"), b"{\"open".to_vec());
        assert_eq!(minify_json(b"\"\\"), b"\"\\".to_vec());
        assert_eq!(minify_json(b""), Vec::<u8>::new());
    }

    #[test]
    fn reserialize_unescapes_and_keeps_key_order() {
        let raw = br#"{ "z": "caf\u00e9 \/", "a": 1 }"#;
        assert_eq!(
            reserialize_json(raw).unwrap(),
            "{\"z\":\"caf\u{e9} /\",\"a\":1}".as_bytes()
        );
        assert_eq!(reserialize_json(b"{not json"), None);
    }

    #[test]
    fn a_compact_body_yields_a_single_candidate() {
        let body = br#"{"a":"b"}"#;
        let all: Vec<_> = body_hash_candidates(body, SignatureTolerance::Lenient).collect();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].0, BodyVariant::WhitespaceStripped);
    }

    #[test]
    fn a_non_json_body_yields_stripped_then_raw() {
        let variants: Vec<_> = body_hash_candidates(b"a b", SignatureTolerance::Lenient)
            .map(|(v, _)| v)
            .collect();
        assert_eq!(
            variants,
            [BodyVariant::WhitespaceStripped, BodyVariant::Raw]
        );
    }

    #[test]
    fn strict_tolerance_yields_only_the_stripped_hash() {
        let body = b"{ \"a\": \"\\u00e9\" }";
        let variants: Vec<_> = body_hash_candidates(body, SignatureTolerance::Strict)
            .map(|(v, _)| v)
            .collect();
        assert_eq!(variants, [BodyVariant::WhitespaceStripped]);
    }

    #[test]
    fn tolerance_reads_its_setting_spelling() {
        assert_eq!("strict".parse(), Ok(SignatureTolerance::Strict));
        assert_eq!("lenient".parse(), Ok(SignatureTolerance::Lenient));
        assert_eq!(
            "Strict".parse::<SignatureTolerance>(),
            Err(ParseToleranceError)
        );
        assert_eq!(SignatureTolerance::default(), SignatureTolerance::Lenient);
        assert_eq!(
            BodyVariant::WhitespaceStripped.as_str(),
            "whitespace-stripped"
        );
    }

    fn simple_json() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            "[a-zA-Z0-9 .:/-]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec(("[a-zA-Z0-9 _]{0,8}", inner), 0..6)
                    .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn minifying_pretty_json_gives_serde_json_compact_output(value in simple_json()) {
            let pretty = serde_json::to_vec_pretty(&value).unwrap();
            let compact = serde_json::to_vec(&value).unwrap();
            prop_assert_eq!(minify_json(&pretty), compact);
        }

        #[test]
        fn minify_never_panics_and_never_grows(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            prop_assert!(minify_json(&bytes).len() <= bytes.len());
        }
    }
}
