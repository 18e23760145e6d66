//! Request fields that parse: identifiers and merchant details, each a newtype whose value
//! is known valid, and the [`FieldError`] that names the offending field.

use std::fmt;

/// What is wrong with a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldErrorKind {
    /// Absent or empty: `400xx02 Invalid Mandatory Field {field}`.
    Missing,
    /// Present but not acceptable: `400xx01 Invalid Field Format {field}`.
    InvalidFormat,
}

/// A request field that is missing or malformed, with the field's name as the client
/// knows it (e.g. `partnerReferenceNo`, `amount.value`, `X-EXTERNAL-ID`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    field: String,
    kind: FieldErrorKind,
}

impl FieldError {
    /// `field` is absent or empty.
    pub fn missing(field: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            kind: FieldErrorKind::Missing,
        }
    }

    /// `field` is present but malformed.
    pub fn invalid(field: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            kind: FieldErrorKind::InvalidFormat,
        }
    }

    /// The field's name.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// Missing or malformed.
    pub fn kind(&self) -> FieldErrorKind {
        self.kind
    }

    /// The same error about a differently named field (e.g. a [`ClientId`] read from
    /// `X-PARTNER-ID`).
    pub fn with_field(self, field: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            kind: self.kind,
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            FieldErrorKind::Missing => write!(f, "missing mandatory field: {}", self.field),
            FieldErrorKind::InvalidFormat => write!(f, "invalid format: {}", self.field),
        }
    }
}

impl std::error::Error for FieldError {}

/// Declares a string newtype: private field, `parse`, `as_str`, `Display`, `AsRef<str>`,
/// serde as a plain string (deserialising validates).
macro_rules! string_field {
    (
        $(#[$meta:meta])*
        $name:ident, field = $field:literal, max = $max:literal, allowed = $allowed:expr,
        pattern = $pattern:literal
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize)]
        #[serde(try_from = "String")]
        pub struct $name(String);

        impl $name {
            /// The field name used in errors from [`Self::parse`].
            pub const FIELD: &'static str = $field;
            /// The longest accepted value, in characters.
            pub const MAX_LEN: usize = $max;
            /// [`Self::parse`]'s rules as an ECMA-262 regular expression, for the API
            /// documentation (the OpenAPI schemas use it, so they cannot drift).
            pub const PATTERN: &'static str = $pattern;

            /// Validates `value`: empty is `Missing`, anything else outside the rules is
            /// `InvalidFormat`, both naming [`Self::FIELD`].
            pub fn parse(value: &str) -> Result<Self, FieldError> {
                if value.is_empty() {
                    return Err(FieldError::missing(Self::FIELD));
                }
                let allowed: fn(&str) -> bool = $allowed;
                if value.len() > Self::MAX_LEN || !allowed(value) {
                    return Err(FieldError::invalid(Self::FIELD));
                }
                Ok(Self(value.to_owned()))
            }

            /// The value.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The value, owned.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = FieldError;

            fn try_from(value: String) -> Result<Self, FieldError> {
                Self::parse(&value)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }
    };
}

fn each_byte(value: &str, ok: fn(u8) -> bool) -> bool {
    value.bytes().all(ok)
}

fn id_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')
}

fn printable(b: u8) -> bool {
    (0x20..=0x7e).contains(&b)
}

fn printable_not_blank(value: &str) -> bool {
    each_byte(value, printable) && value.bytes().any(|b| b != b' ')
}

string_field! {
    /// A partner's client id: 1–36 of `A-Za-z0-9._-` (`X-CLIENT-KEY`, `X-PARTNER-ID`).
    ClientId, field = "clientId", max = 36, allowed = |v| each_byte(v, id_byte),
    pattern = "^[A-Za-z0-9._-]{1,36}$"
}

string_field! {
    /// A merchant id: 1–15 of `A-Za-z0-9` (it is written into the QR's tag 26).
    MerchantId, field = "merchantId", max = 15,
    allowed = |v| each_byte(v, |b| b.is_ascii_alphanumeric()),
    pattern = "^[A-Za-z0-9]{1,15}$"
}

string_field! {
    /// `X-EXTERNAL-ID`: 1–36 of `A-Za-z0-9._:-`, unique per partner per Jakarta day.
    ExternalId, field = "X-EXTERNAL-ID", max = 36,
    allowed = |v| each_byte(v, |b| id_byte(b) || b == b':'),
    pattern = "^[A-Za-z0-9._:-]{1,36}$"
}

string_field! {
    /// `X-CHANNEL-ID` / `CHANNEL-ID`: 1–64 printable ASCII characters, no space.
    ChannelId, field = "X-CHANNEL-ID", max = 64,
    allowed = |v| each_byte(v, |b| b.is_ascii_graphic()),
    pattern = "^[!-~]{1,64}$"
}

string_field! {
    /// `partnerReferenceNo`: 1–64 of `A-Za-z0-9._-`, unique per merchant.
    PartnerReferenceNo, field = "partnerReferenceNo", max = 64,
    allowed = |v| each_byte(v, id_byte), pattern = "^[A-Za-z0-9._-]{1,64}$"
}

string_field! {
    /// `terminalId`: 1–16 of `A-Za-z0-9._-`.
    TerminalId, field = "terminalId", max = 16, allowed = |v| each_byte(v, id_byte),
    pattern = "^[A-Za-z0-9._-]{1,16}$"
}

string_field! {
    /// A merchant's name (QR tag 59): 1–25 printable ASCII characters, not all spaces.
    MerchantName, field = "name", max = 25, allowed = printable_not_blank,
    pattern = "^(?! *$)[ -~]{1,25}$"
}

string_field! {
    /// A merchant's city (QR tag 60): 1–15 printable ASCII characters, not all spaces.
    MerchantCity, field = "city", max = 15, allowed = printable_not_blank,
    pattern = "^(?! *$)[ -~]{1,15}$"
}

string_field! {
    /// A merchant category code (QR tag 52): exactly 4 digits.
    Mcc, field = "mcc", max = 4,
    allowed = |v| v.len() == 4 && each_byte(v, |b| b.is_ascii_digit()),
    pattern = "^[0-9]{4}$"
}

string_field! {
    /// A postal code (QR tag 61): 1–10 of `A-Za-z0-9`.
    PostalCode, field = "postalCode", max = 10,
    allowed = |v| each_byte(v, |b| b.is_ascii_alphanumeric()), pattern = "^[A-Za-z0-9]{1,10}$"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind<T>(r: Result<T, FieldError>) -> Option<FieldErrorKind> {
        r.err().map(|e| e.kind())
    }

    #[test]
    fn each_identifier_accepts_its_maximum_length_and_refuses_one_more() {
        let at = |n: usize| "a".repeat(n);
        assert!(ClientId::parse(&at(36)).is_ok());
        assert_eq!(
            kind(ClientId::parse(&at(37))),
            Some(FieldErrorKind::InvalidFormat)
        );
        assert!(MerchantId::parse(&at(15)).is_ok());
        assert!(MerchantId::parse(&at(16)).is_err());
        assert!(ExternalId::parse(&at(36)).is_ok());
        assert!(ExternalId::parse(&at(37)).is_err());
        assert!(ChannelId::parse(&at(64)).is_ok());
        assert!(ChannelId::parse(&at(65)).is_err());
        assert!(PartnerReferenceNo::parse(&at(64)).is_ok());
        assert!(PartnerReferenceNo::parse(&at(65)).is_err());
        assert!(TerminalId::parse(&at(16)).is_ok());
        assert!(TerminalId::parse(&at(17)).is_err());
        assert!(MerchantName::parse(&at(25)).is_ok());
        assert!(MerchantName::parse(&at(26)).is_err());
        assert!(MerchantCity::parse(&at(15)).is_ok());
        assert!(MerchantCity::parse(&at(16)).is_err());
        assert!(PostalCode::parse(&at(10)).is_ok());
        assert!(PostalCode::parse(&at(11)).is_err());
    }

    #[test]
    fn an_empty_value_is_missing_and_names_its_field() {
        let err = PartnerReferenceNo::parse("").unwrap_err();
        assert_eq!(err.kind(), FieldErrorKind::Missing);
        assert_eq!(err.field(), "partnerReferenceNo");
        assert_eq!(
            err.to_string(),
            "missing mandatory field: partnerReferenceNo"
        );
        assert_eq!(kind(MerchantId::parse("")), Some(FieldErrorKind::Missing));
        assert_eq!(kind(Mcc::parse("")), Some(FieldErrorKind::Missing));
    }

    #[test]
    fn identifiers_refuse_characters_outside_their_alphabet() {
        assert!(ClientId::parse("partner-01.test_x").is_ok());
        assert!(ClientId::parse("partner 01").is_err());
        assert!(ClientId::parse("partner:01").is_err());
        assert!(ExternalId::parse("2024:03:15-0001").is_ok());
        assert!(ExternalId::parse("ext/1").is_err());
        assert!(MerchantId::parse("M0001").is_ok());
        assert!(MerchantId::parse("M-0001").is_err());
        assert!(ChannelId::parse("95221").is_ok());
        assert!(ChannelId::parse("web app").is_err());
        assert!(TerminalId::parse("T01").is_ok());
        assert!(PartnerReferenceNo::parse("INV-2024-0001").is_ok());
        assert!(PartnerReferenceNo::parse("INV#1").is_err());
        assert!(ClientId::parse("kafé").is_err());
    }

    #[test]
    fn names_and_cities_are_printable_ascii_and_not_blank() {
        assert!(MerchantName::parse("Kopi Susu & Co.").is_ok());
        assert!(MerchantName::parse("   ").is_err());
        assert!(MerchantName::parse("Caf\u{e9}").is_err());
        assert!(MerchantName::parse("tab\there").is_err());
        assert!(MerchantCity::parse("Jakarta Pusat").is_ok());
        assert!(MerchantCity::parse(" ").is_err());
    }

    #[test]
    fn an_mcc_is_exactly_four_digits() {
        assert!(Mcc::parse("5999").is_ok());
        assert!(Mcc::parse("599").is_err());
        assert!(Mcc::parse("59990").is_err());
        assert!(Mcc::parse("59a9").is_err());
    }

    #[test]
    fn a_field_error_can_be_renamed_keeping_its_kind() {
        let err = ClientId::parse("bad id")
            .unwrap_err()
            .with_field("X-PARTNER-ID");
        assert_eq!(err.field(), "X-PARTNER-ID");
        assert_eq!(err.kind(), FieldErrorKind::InvalidFormat);
        assert_eq!(err.to_string(), "invalid format: X-PARTNER-ID");
    }

    /// Whether a parser accepts a text.
    type Accepts = fn(&str) -> bool;

    /// Whether `pattern` and `parse` agree on `text`.
    fn agree(pattern: &str, parse: Accepts, text: &str) -> Result<(), String> {
        let matched = regex::Regex::new(pattern).unwrap().is_match(text);
        match matched == parse(text) {
            true => Ok(()),
            false => Err(format!(
                "{pattern} matches {text:?}: {matched}, parse disagrees"
            )),
        }
    }

    /// The `(pattern, parse)` of every newtype whose pattern the `regex` crate can run (the
    /// name and city patterns use a look-ahead, which it lacks).
    fn patterns() -> Vec<(&'static str, Accepts)> {
        vec![
            (ClientId::PATTERN, |t| ClientId::parse(t).is_ok()),
            (MerchantId::PATTERN, |t| MerchantId::parse(t).is_ok()),
            (ExternalId::PATTERN, |t| ExternalId::parse(t).is_ok()),
            (ChannelId::PATTERN, |t| ChannelId::parse(t).is_ok()),
            (PartnerReferenceNo::PATTERN, |t| {
                PartnerReferenceNo::parse(t).is_ok()
            }),
            (TerminalId::PATTERN, |t| TerminalId::parse(t).is_ok()),
            (Mcc::PATTERN, |t| Mcc::parse(t).is_ok()),
            (PostalCode::PATTERN, |t| PostalCode::parse(t).is_ok()),
            (crate::Amount::PATTERN, |t| crate::Amount::parse(t).is_ok()),
        ]
    }

    #[test]
    fn each_pattern_accepts_every_character_and_length_that_parse_accepts() {
        for (pattern, parse) in patterns() {
            for byte in 0u8..=0x7f {
                let c = char::from(byte);
                for n in [1, 4, 10, 15, 16, 17, 25, 36, 37, 64, 65] {
                    agree(pattern, parse, &c.to_string().repeat(n)).unwrap();
                }
                agree(pattern, parse, &format!("1{c}00")).unwrap();
            }
            for text in ["", "é", "a b", "9000.00", "0.00", "01.00", "1.0", "M0001\n"] {
                agree(pattern, parse, text).unwrap();
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn each_pattern_agrees_with_parse_on_any_ascii_text(text in "[ -~]{0,70}") {
            for (pattern, parse) in patterns() {
                proptest::prop_assert!(agree(pattern, parse, &text).is_ok(), "{pattern} {text:?}");
            }
        }
    }

    #[test]
    fn newtypes_serialise_as_strings_and_validate_when_deserialised() {
        let id = MerchantId::parse("M0001").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"M0001\"");
        let back: MerchantId = serde_json::from_str("\"M0001\"").unwrap();
        assert_eq!(back, id);
        assert!(serde_json::from_str::<MerchantId>("\"M-1\"").is_err());
    }
}
