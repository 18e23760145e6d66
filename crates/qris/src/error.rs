use std::fmt;

/// An error from building, decoding or validating a QRIS payload.
///
/// [`Error::kind`] says what went wrong; the `Display` text is short, lower-case and names the
/// tag (`tag 54: amount has a leading zero`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct Error {
    kind: ErrorKind,
}

impl Error {
    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Error {
        Error { kind }
    }
}

/// The kinds of [`Error`].
///
/// `tag` is a two-digit EMV tag; `parent` is the enclosing template's tag when the field is a
/// sub-field (`tag: 1, parent: Some(62)` is the bill number).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The payload has 512 characters or more.
    PayloadTooLong {
        /// Its length in characters.
        chars: usize,
    },
    /// A tag is not two ASCII digits.
    BadTag {
        /// Enclosing template, if any.
        parent: Option<u8>,
        /// Character offset of the tag within the payload or template value.
        offset: usize,
    },
    /// A length is not two ASCII digits.
    BadLength {
        /// The tag whose length is bad.
        tag: u8,
        /// Enclosing template, if any.
        parent: Option<u8>,
    },
    /// The text ends inside a field: its tag or length is cut short or its value runs past the
    /// end.
    Truncated {
        /// The tag whose field is cut short (`None` when even the tag is incomplete).
        tag: Option<u8>,
        /// Enclosing template, if any.
        parent: Option<u8>,
    },
    /// A field has a zero-length value (EMV lengths run from 01 to 99).
    EmptyValue {
        /// The empty field.
        tag: u8,
        /// Enclosing template, if any.
        parent: Option<u8>,
    },
    /// A value is longer than its tag allows.
    ValueTooLong {
        /// The field.
        tag: u8,
        /// Enclosing template, if any.
        parent: Option<u8>,
        /// The most characters allowed.
        max: usize,
        /// The characters found.
        chars: usize,
    },
    /// A value has the wrong format; `expected` describes the right one.
    InvalidValue {
        /// The field.
        tag: u8,
        /// Enclosing template, if any.
        parent: Option<u8>,
        /// What the value should look like.
        expected: &'static str,
    },
    /// A tag occurs twice at the top level or within one template.
    DuplicateTag {
        /// The repeated tag.
        tag: u8,
        /// Enclosing template, if any.
        parent: Option<u8>,
    },
    /// A mandatory field is absent.
    Missing {
        /// The missing field.
        tag: u8,
        /// Enclosing template, if any.
        parent: Option<u8>,
    },
    /// Tag 00 (payload format indicator) is not the first field.
    FormatIndicatorNotFirst,
    /// Tag 00 is not `01`.
    FormatIndicatorValue,
    /// Tag 01 (point of initiation) is neither `11` nor `12`.
    InitiationValue,
    /// No merchant account information template (tags 26 to 51) is present.
    MissingMerchantAccount,
    /// Tag 51 (the QRIS national template) is absent from a static code.
    StaticWithoutNationalTemplate,
    /// Tag 61 (postal code) is absent though tag 58 is `ID`.
    MissingPostalCode,
    /// The payload has no tag 63 (CRC).
    MissingCrc,
    /// Tag 63 (CRC) is not the last field.
    CrcNotLast,
    /// Tag 63 is not four hexadecimal digits.
    CrcFormat,
    /// Tag 63 does not match the CRC computed over the payload.
    CrcMismatch {
        /// The CRC written in the payload.
        found: u16,
        /// The CRC computed over everything before the CRC value.
        computed: u16,
    },
    /// Tag 54: the amount holds a character other than digits and `.` (a sign, comma, space).
    AmountCharacter,
    /// Tag 54: the amount has more than one `.`, or one at its start or end.
    AmountDot,
    /// Tag 54: the amount has more than two decimals.
    AmountDecimals,
    /// Tag 54: the amount has a leading zero (`0100`; `0.50` is fine).
    AmountLeadingZero,
    /// Tag 54: the amount is zero or negative.
    AmountNotPositive,
    /// Tag 54: the amount takes more than 13 characters.
    AmountTooLong,
    /// A merchant criteria is not one of `UMI`, `UKE`, `UME`, `UBE`, `URE`.
    Criteria,
}

/// Formats a tag, or a sub-tag with its template, as `tag 62 sub 01`.
struct TagPath(u8, Option<u8>);

impl fmt::Display for TagPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            None => write!(f, "tag {:02}", self.0),
            Some(parent) => write!(f, "tag {parent:02} sub {:02}", self.0),
        }
    }
}

/// Names the template a TLV error occurred in, or the payload itself.
struct Scope(Option<u8>);

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => f.write_str("payload"),
            Some(parent) => write!(f, "tag {parent:02}"),
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ErrorKind::*;
        match *self {
            PayloadTooLong { chars } => {
                write!(f, "payload: {chars} characters, must be under 512")
            }
            BadTag { parent, offset } => {
                write!(
                    f,
                    "{}: tag at offset {offset} is not two digits",
                    Scope(parent)
                )
            }
            BadLength { tag, parent } => {
                write!(f, "{}: length is not two digits", TagPath(tag, parent))
            }
            Truncated {
                tag: Some(tag),
                parent,
            } => {
                write!(f, "{}: value runs past the end", TagPath(tag, parent))
            }
            Truncated { tag: None, parent } => {
                write!(f, "{}: ends inside a tag or length", Scope(parent))
            }
            EmptyValue { tag, parent } => write!(f, "{}: empty value", TagPath(tag, parent)),
            ValueTooLong {
                tag,
                parent,
                max,
                chars,
            } => write!(
                f,
                "{}: {chars} characters, at most {max} allowed",
                TagPath(tag, parent)
            ),
            InvalidValue {
                tag,
                parent,
                expected,
            } => {
                write!(f, "{}: must be {expected}", TagPath(tag, parent))
            }
            DuplicateTag { tag, parent } => write!(f, "{}: duplicated", TagPath(tag, parent)),
            Missing { tag, parent } => write!(f, "{}: missing", TagPath(tag, parent)),
            FormatIndicatorNotFirst => f.write_str("tag 00: not the first field"),
            FormatIndicatorValue => f.write_str("tag 00: payload format indicator must be 01"),
            InitiationValue => f.write_str("tag 01: point of initiation must be 11 or 12"),
            MissingMerchantAccount => {
                f.write_str("tags 26-51: no merchant account information template")
            }
            StaticWithoutNationalTemplate => {
                f.write_str("tag 51: missing, mandatory on static codes")
            }
            MissingPostalCode => f.write_str("tag 61: missing, mandatory when tag 58 is ID"),
            MissingCrc => f.write_str("tag 63: missing"),
            CrcNotLast => f.write_str("tag 63: not the last field"),
            CrcFormat => f.write_str("tag 63: crc is not four hex digits"),
            CrcMismatch { found, computed } => {
                write!(f, "tag 63: crc is {found:04X}, computed {computed:04X}")
            }
            AmountCharacter => {
                f.write_str("tag 54: amount has a character other than digits and '.'")
            }
            AmountDot => f.write_str("tag 54: amount has a misplaced or repeated '.'"),
            AmountDecimals => f.write_str("tag 54: amount has more than two decimals"),
            AmountLeadingZero => f.write_str("tag 54: amount has a leading zero"),
            AmountNotPositive => f.write_str("tag 54: amount is not positive"),
            AmountTooLong => f.write_str("tag 54: amount exceeds 13 characters"),
            Criteria => f.write_str("merchant criteria must be UMI, UKE, UME, UBE or URE"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_tag_and_the_template() {
        let err = Error::from(ErrorKind::ValueTooLong {
            tag: 1,
            parent: Some(62),
            max: 25,
            chars: 30,
        });
        assert_eq!(
            err.to_string(),
            "tag 62 sub 01: 30 characters, at most 25 allowed"
        );
        assert_eq!(
            Error::from(ErrorKind::AmountLeadingZero).to_string(),
            "tag 54: amount has a leading zero"
        );
    }

    #[test]
    fn crc_mismatch_shows_four_upper_case_hex_digits() {
        let err = Error::from(ErrorKind::CrcMismatch {
            found: 0x7b,
            computed: 0xabcd,
        });
        assert_eq!(err.to_string(), "tag 63: crc is 007B, computed ABCD");
    }
}
