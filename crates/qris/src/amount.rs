use crate::error::{Error, ErrorKind};

/// The most characters tag 54 may hold.
const MAX_AMOUNT_CHARS: usize = 13;

/// The tag 54 text for an amount in sen (hundredths of a rupiah): whole rupiah when there are
/// no cents (`900000` → `"9000"`), otherwise two decimals (`900050` → `"9000.50"`).
///
/// Errors when `sen` is not positive or the text would exceed 13 characters.
///
/// ```
/// assert_eq!(snapqris_qris::format_amount(900_000).unwrap(), "9000");
/// assert_eq!(snapqris_qris::format_amount(900_050).unwrap(), "9000.50");
/// ```
pub fn format_amount(sen: i64) -> Result<String, Error> {
    if sen <= 0 {
        return Err(ErrorKind::AmountNotPositive.into());
    }
    let (rupiah, cents) = (sen / 100, sen % 100);
    let text = if cents == 0 {
        rupiah.to_string()
    } else {
        format!("{rupiah}.{cents:02}")
    };
    if text.len() > MAX_AMOUNT_CHARS {
        return Err(ErrorKind::AmountTooLong.into());
    }
    Ok(text)
}

/// Checks a tag 54 text and returns the amount in sen.
///
/// Digits with at most one `.` (not first or last) and at most two decimals, no sign, comma or
/// space, no leading zero (`0.50` is fine), non-zero, at most 13 characters.
pub(crate) fn parse_amount(text: &str) -> Result<i64, Error> {
    if !text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(ErrorKind::AmountCharacter.into());
    }
    let (whole, decimals) = match text.split_once('.') {
        None => (text, ""),
        Some((whole, decimals)) => {
            if whole.is_empty() || decimals.is_empty() || decimals.contains('.') {
                return Err(ErrorKind::AmountDot.into());
            }
            (whole, decimals)
        }
    };
    if whole.is_empty() {
        return Err(ErrorKind::AmountNotPositive.into());
    }
    if text.len() > MAX_AMOUNT_CHARS {
        return Err(ErrorKind::AmountTooLong.into());
    }
    if whole.len() > 1 && whole.starts_with('0') {
        return Err(ErrorKind::AmountLeadingZero.into());
    }
    if decimals.len() > 2 {
        return Err(ErrorKind::AmountDecimals.into());
    }
    // At most 13 digits of rupiah, so the sen fit an i64 comfortably.
    let rupiah: i64 = whole.parse().map_err(|_| ErrorKind::AmountTooLong)?;
    let cents: i64 = match decimals.len() {
        0 => 0,
        1 => i64::from(decimals.as_bytes()[0] - b'0') * 10,
        _ => decimals.parse().map_err(|_| ErrorKind::AmountCharacter)?,
    };
    let sen = rupiah * 100 + cents;
    if sen == 0 {
        return Err(ErrorKind::AmountNotPositive.into());
    }
    Ok(sen)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> ErrorKind {
        parse_amount(text).unwrap_err().kind().clone()
    }

    #[test]
    fn whole_rupiah_are_written_without_decimals() {
        assert_eq!(format_amount(900_000).unwrap(), "9000");
        assert_eq!(format_amount(100).unwrap(), "1");
    }

    #[test]
    fn cents_are_written_with_two_decimals() {
        assert_eq!(format_amount(900_050).unwrap(), "9000.50");
        assert_eq!(format_amount(1).unwrap(), "0.01");
        assert_eq!(format_amount(99).unwrap(), "0.99");
    }

    #[test]
    fn zero_and_negative_amounts_are_not_formatted() {
        assert_eq!(
            format_amount(0).unwrap_err().kind(),
            &ErrorKind::AmountNotPositive
        );
        assert_eq!(
            format_amount(-5).unwrap_err().kind(),
            &ErrorKind::AmountNotPositive
        );
    }

    #[test]
    fn an_amount_over_13_characters_is_not_formatted() {
        assert_eq!(format_amount(999_999_999_999_900).unwrap(), "9999999999999");
        assert_eq!(
            format_amount(1_000_000_000_000_000).unwrap_err().kind(),
            &ErrorKind::AmountTooLong
        );
        assert_eq!(format_amount(999_999_999_999).unwrap(), "9999999999.99");
        assert_eq!(
            format_amount(1_000_000_000_001).unwrap_err().kind(),
            &ErrorKind::AmountTooLong
        );
    }

    #[test]
    fn valid_amounts_parse_to_sen() {
        assert_eq!(parse_amount("9000").unwrap(), 900_000);
        assert_eq!(parse_amount("39000.00").unwrap(), 3_900_000);
        assert_eq!(parse_amount("9000.5").unwrap(), 900_050);
        assert_eq!(parse_amount("0.50").unwrap(), 50);
        assert_eq!(parse_amount("9999999999999").unwrap(), 999_999_999_999_900);
    }

    #[test]
    fn zero_is_rejected() {
        assert_eq!(kind("0"), ErrorKind::AmountNotPositive);
        assert_eq!(kind("0.00"), ErrorKind::AmountNotPositive);
    }

    #[test]
    fn a_leading_zero_is_rejected() {
        assert_eq!(kind("01000"), ErrorKind::AmountLeadingZero);
        assert_eq!(kind("00.5"), ErrorKind::AmountLeadingZero);
    }

    #[test]
    fn signs_commas_and_spaces_are_rejected() {
        assert_eq!(kind("1,000"), ErrorKind::AmountCharacter);
        assert_eq!(kind("-5"), ErrorKind::AmountCharacter);
        assert_eq!(kind("+5"), ErrorKind::AmountCharacter);
        assert_eq!(kind("1 000"), ErrorKind::AmountCharacter);
    }

    #[test]
    fn misplaced_or_repeated_dots_are_rejected() {
        assert_eq!(kind("1.2.3"), ErrorKind::AmountDot);
        assert_eq!(kind(".5"), ErrorKind::AmountDot);
        assert_eq!(kind("5."), ErrorKind::AmountDot);
    }

    #[test]
    fn more_than_two_decimals_are_rejected() {
        assert_eq!(kind("1.005"), ErrorKind::AmountDecimals);
    }

    #[test]
    fn fourteen_characters_are_rejected() {
        assert_eq!(kind("12345678901234"), ErrorKind::AmountTooLong);
        assert_eq!(kind("1234567890.123"), ErrorKind::AmountTooLong);
    }

    #[test]
    fn an_empty_amount_is_not_positive() {
        assert_eq!(kind(""), ErrorKind::AmountNotPositive);
    }
}
