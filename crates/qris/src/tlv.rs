use crate::error::{Error, ErrorKind};

/// One decoded TLV field.
///
/// `value` is the raw text. For a template (tags 26 to 51, 62, 64 and 80 to 99) that [`parse`]
/// returned, `children` holds the decoded sub-fields; otherwise it is empty.
///
/// [`parse`]: crate::parse
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The two-digit tag, 0 to 99.
    pub tag: u8,
    /// The value as written.
    pub value: String,
    /// Sub-fields of a template, in the order they appeared.
    pub children: Vec<Field>,
}

impl Field {
    /// A primitive field.
    pub fn new(tag: u8, value: impl Into<String>) -> Field {
        Field {
            tag,
            value: value.into(),
            children: Vec::new(),
        }
    }

    /// A template whose value is the TLV encoding of `children`, in their order.
    pub fn template(tag: u8, children: Vec<Field>) -> Field {
        Field {
            tag,
            value: encode_tlv(&children),
            children,
        }
    }

    /// The sub-field `tag` of this template.
    pub fn child(&self, tag: u8) -> Option<&Field> {
        self.children.iter().find(|f| f.tag == tag)
    }
}

/// Whether EMVCo defines `tag` as a template: merchant account information (26 to 51), the
/// additional data field template (62), the language template (64) and the unreserved
/// templates (80 to 99).
pub fn is_template(tag: u8) -> bool {
    matches!(tag, 26..=51 | 62 | 64 | 80..=99)
}

/// Splits a whole string into TLV fields: a two-digit tag, a two-digit length counted in
/// characters, then the value. `children` are left empty.
///
/// Errors when a tag or length is not two ASCII digits or the text ends inside a field.
///
/// ```
/// let fields = snapqris_qris::decode_tlv("000201010211").unwrap();
/// assert_eq!(fields[1].tag, 1);
/// assert_eq!(fields[1].value, "11");
/// ```
pub fn decode_tlv(input: &str) -> Result<Vec<Field>, Error> {
    decode_in(input, None)
}

/// [`decode_tlv`] with the template the text came from, for error messages.
pub(crate) fn decode_in(input: &str, parent: Option<u8>) -> Result<Vec<Field>, Error> {
    match decode_prefix(input, parent) {
        (fields, None) => Ok(fields),
        (_, Some(err)) => Err(err),
    }
}

/// Decodes as many fields as possible, returning them with the error that stopped decoding.
pub(crate) fn decode_prefix(input: &str, parent: Option<u8>) -> (Vec<Field>, Option<Error>) {
    let mut fields = Vec::new();
    let mut rest = input;
    let mut offset = 0;
    while !rest.is_empty() {
        match next_field(rest, parent, offset) {
            Ok((field, consumed, tail)) => {
                fields.push(field);
                offset += consumed;
                rest = tail;
            }
            Err(err) => return (fields, Some(err)),
        }
    }
    (fields, None)
}

/// Reads one field from the start of `rest`; returns it, the characters consumed and the rest.
fn next_field(
    rest: &str,
    parent: Option<u8>,
    offset: usize,
) -> Result<(Field, usize, &str), Error> {
    let head = rest.as_bytes();
    if head.len() < 2 {
        return Err(ErrorKind::Truncated { tag: None, parent }.into());
    }
    let tag = two_digits(head[0], head[1]).ok_or(ErrorKind::BadTag { parent, offset })?;
    if head.len() < 4 {
        return Err(ErrorKind::Truncated { tag: None, parent }.into());
    }
    let len = two_digits(head[2], head[3]).ok_or(ErrorKind::BadLength { tag, parent })?;
    // The four header bytes are ASCII digits, so index 4 is a character boundary.
    let body = &rest[4..];
    let end = match body.char_indices().nth(usize::from(len)) {
        Some((end, _)) => end,
        None if body.chars().count() == usize::from(len) => body.len(),
        None => {
            return Err(ErrorKind::Truncated {
                tag: Some(tag),
                parent,
            }
            .into());
        }
    };
    let field = Field::new(tag, &body[..end]);
    Ok((field, 4 + usize::from(len), &body[end..]))
}

fn two_digits(a: u8, b: u8) -> Option<u8> {
    if a.is_ascii_digit() && b.is_ascii_digit() {
        Some((a - b'0') * 10 + (b - b'0'))
    } else {
        None
    }
}

/// Encodes fields in the given order, each as tag, length in characters and `value`; no CRC
/// handling. `children` are not read: a template's `value` already holds them (see
/// [`Field::template`]).
///
/// Values must be at most 99 characters; a longer one gives text that [`decode_tlv`] rejects.
///
/// ```
/// use snapqris_qris::{encode_tlv, Field};
/// let text = encode_tlv(&[Field::new(0, "01"), Field::new(59, "Toko Budi")]);
/// assert_eq!(text, "0002015909Toko Budi");
/// ```
pub fn encode_tlv(fields: &[Field]) -> String {
    let mut out = String::new();
    for field in fields {
        push_field(&mut out, field.tag, &field.value);
    }
    out
}

pub(crate) fn push_field(out: &mut String, tag: u8, value: &str) {
    use std::fmt::Write;
    // Writing to a String cannot fail.
    let _ = write!(out, "{tag:02}{:02}{value}", value.chars().count());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_splits_tags_lengths_and_values() {
        let fields = decode_tlv("0002015909Toko Budi6304ABCD").unwrap();
        let tags: Vec<u8> = fields.iter().map(|f| f.tag).collect();
        assert_eq!(tags, [0, 59, 63]);
        assert_eq!(fields[1].value, "Toko Budi");
        assert_eq!(fields[2].value, "ABCD");
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        let fields = decode_tlv("5905Café!6002ok").unwrap();
        assert_eq!(fields[0].value, "Café!");
        assert_eq!(fields[1].value, "ok");
        assert_eq!(encode_tlv(&fields), "5905Café!6002ok");
    }

    #[test]
    fn a_value_running_past_the_end_is_truncated() {
        let err = decode_tlv("0002015910Toko").unwrap_err();
        assert_eq!(
            err.kind(),
            &ErrorKind::Truncated {
                tag: Some(59),
                parent: None
            }
        );
    }

    #[test]
    fn a_dangling_tag_is_truncated() {
        let err = decode_tlv("0002015").unwrap_err();
        assert_eq!(
            err.kind(),
            &ErrorKind::Truncated {
                tag: None,
                parent: None
            }
        );
    }

    #[test]
    fn a_non_digit_length_is_rejected() {
        let err = decode_tlv("00020159A9Toko").unwrap_err();
        assert_eq!(
            err.kind(),
            &ErrorKind::BadLength {
                tag: 59,
                parent: None
            }
        );
        assert_eq!(err.to_string(), "tag 59: length is not two digits");
    }

    #[test]
    fn a_non_digit_tag_is_rejected_with_its_offset() {
        let err = decode_in("0002015A02ok", Some(62)).unwrap_err();
        assert_eq!(
            err.kind(),
            &ErrorKind::BadTag {
                parent: Some(62),
                offset: 6
            }
        );
    }

    #[test]
    fn decode_prefix_keeps_the_fields_before_the_error() {
        let (fields, err) = decode_prefix("0002015910Toko", None);
        assert_eq!(fields, [Field::new(0, "01")]);
        assert!(err.is_some());
    }

    #[test]
    fn an_empty_value_decodes_and_encodes() {
        let fields = decode_tlv("0700").unwrap();
        assert_eq!(fields, [Field::new(7, "")]);
        assert_eq!(encode_tlv(&fields), "0700");
    }

    #[test]
    fn a_template_value_is_the_encoding_of_its_children() {
        let field = Field::template(62, vec![Field::new(1, "11"), Field::new(7, "A01")]);
        assert_eq!(field.value, "0102110703A01");
        assert_eq!(field.child(7).map(|f| f.value.as_str()), Some("A01"));
    }

    #[test]
    fn templates_are_the_emvco_template_tags() {
        assert!(is_template(26) && is_template(51) && is_template(62) && is_template(99));
        assert!(!is_template(25) && !is_template(52) && !is_template(63));
    }
}
