//! IDR amounts as integer sen.

use std::fmt;

use crate::fields::FieldError;

/// An IDR amount in integer sen (1/100 rupiah), never a float.
///
/// Parsed from SNAP's `amount.value`, which must carry exactly two decimals: `"9000.00"` is
/// 900 000 sen. `"0.00"` parses; refusing a zero amount is a business rule for the caller.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct Amount(i64);

impl Amount {
    /// The field name used in errors from [`Amount::parse`].
    pub const FIELD: &'static str = "amount.value";
    /// The most integer (rupiah) digits accepted.
    pub const MAX_INTEGER_DIGITS: usize = 15;
    /// [`Amount::parse`]'s rules as an ECMA-262 regular expression, for the API documentation.
    pub const PATTERN: &'static str = r"^(0|[1-9][0-9]{0,14})\.[0-9]{2}$";

    /// Parses `digits.dd`: no sign, no spaces, no separators, no exponent, no leading zero
    /// (except `0.dd`), at most 15 integer digits, exactly two decimals. Empty is `Missing`,
    /// anything else wrong is `InvalidFormat`; both name `amount.value`.
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        if value.is_empty() {
            return Err(FieldError::missing(Self::FIELD));
        }
        let invalid = || FieldError::invalid(Self::FIELD);
        let (int, frac) = value.split_once('.').ok_or_else(invalid)?;
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(int)
            || int.len() > Self::MAX_INTEGER_DIGITS
            || (int.len() > 1 && int.starts_with('0'))
            || frac.len() != 2
            || !all_digits(frac)
        {
            return Err(invalid());
        }
        let rupiah: i64 = int.parse().map_err(|_| invalid())?;
        let sen: i64 = frac.parse().map_err(|_| invalid())?;
        Ok(Self(rupiah * 100 + sen))
    }

    /// An amount of `sen` sen.
    pub fn from_sen(sen: i64) -> Self {
        Self(sen)
    }

    /// The amount in sen.
    pub fn sen(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Amount {
    /// `9000.00`: rupiah, a dot, two digits of sen.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl TryFrom<String> for Amount {
    type Error = FieldError;

    fn try_from(value: String) -> Result<Self, FieldError> {
        Self::parse(&value)
    }
}

impl serde::Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::FieldErrorKind;
    use proptest::prelude::*;

    #[test]
    fn a_two_decimal_amount_parses_to_sen() {
        assert_eq!(Amount::parse("9000.00").unwrap().sen(), 900_000);
        assert_eq!(Amount::parse("0.01").unwrap().sen(), 1);
        assert_eq!(Amount::parse("0.00").unwrap().sen(), 0);
        assert_eq!(Amount::parse("10000000.50").unwrap().sen(), 1_000_000_050);
        assert_eq!(
            Amount::parse("999999999999999.99").unwrap().sen(),
            99_999_999_999_999_999
        );
    }

    #[test]
    fn anything_but_digits_dot_two_digits_is_an_invalid_format() {
        for bad in [
            "9000",
            "9000.0",
            "9000.000",
            "-1.00",
            "+1.00",
            " 1.00",
            "1.00 ",
            "1,000.00",
            "01.00",
            "00.00",
            "1e3",
            "1e3.00",
            ".50",
            "1.",
            "1..00",
            "1.0a",
            "Rp1.00",
            "1000000000000000.00",
            "1.-1",
        ] {
            let err = Amount::parse(bad).unwrap_err();
            assert_eq!(err.kind(), FieldErrorKind::InvalidFormat, "{bad:?}");
            assert_eq!(err.field(), "amount.value");
        }
    }

    #[test]
    fn an_empty_amount_is_missing() {
        assert_eq!(
            Amount::parse("").unwrap_err().kind(),
            FieldErrorKind::Missing
        );
    }

    #[test]
    fn an_amount_displays_with_two_decimals() {
        assert_eq!(Amount::from_sen(900_000).to_string(), "9000.00");
        assert_eq!(Amount::from_sen(5).to_string(), "0.05");
        assert_eq!(Amount::from_sen(-150).to_string(), "-1.50");
        assert_eq!(
            serde_json::to_string(&Amount::from_sen(900_000)).unwrap(),
            "\"9000.00\""
        );
    }

    proptest! {
        #[test]
        fn any_amount_round_trips_through_its_display(sen in 0i64..100_000_000_000_000_000) {
            let shown = Amount::from_sen(sen).to_string();
            prop_assert_eq!(Amount::parse(&shown).unwrap().sen(), sen);
        }
    }
}
