use crate::amount::parse_amount;
use crate::crc::crc16;
use crate::error::{Error, ErrorKind};
use crate::payload::Payload;
use crate::tlv::{Field, decode_in, decode_tlv, is_template};

/// A payload has fewer characters than this.
pub(crate) const MAX_PAYLOAD_CHARS: usize = 512;
/// Tag 51 sub 00 of the QRIS national template.
pub(crate) const QRIS_NATIONAL_ID: &str = "ID.CO.QRIS.WWW";

/// Parses and validates a QRIS payload.
///
/// Checks, each failure a distinct [`ErrorKind`] naming the tag: under 512 characters;
/// well-formed TLV, templates included; tag 63 last with four hex digits (either case) that
/// match the CRC; no duplicate tag at the top level or within a template; no empty value;
/// 00 first and `01`; 01 (if present) `11` or `12`; 52 four digits; 53 three digits; 54 a
/// valid amount; 58 two upper-case letters; 59 present, at most 25; 60 present, at most 15;
/// 61 at most 10 and present when 58 is `ID`; a merchant account template (26 to 51); 51,
/// with sub 00 `ID.CO.QRIS.WWW` and sub 02, on static codes (and well-formed wherever it
/// appears); 62 subs 01 to 08 at most 25. Other tags may come in any order.
///
/// A dynamic code may lack tag 54, and a static one may carry it.
///
/// ```
/// let qr = "00020101021126570011ID.DANA.WWW011893600915302259148102090225914810303UMI\
///           51440014ID.CO.QRIS.WWW0215ID10200176114730303UMI5204581253033605802ID\
///           5922Warung Sayur Bu Sugeng6010Kab. Demak610559567630458C7";
/// let payload = snapqris_qris::parse(qr).unwrap();
/// assert_eq!(payload.merchant_name(), "Warung Sayur Bu Sugeng");
/// assert_eq!(payload.nmid(), Some("ID1020017611473"));
/// ```
pub fn parse(payload: &str) -> Result<Payload, Error> {
    let chars = payload.chars().count();
    if chars >= MAX_PAYLOAD_CHARS {
        return Err(ErrorKind::PayloadTooLong { chars }.into());
    }
    let mut fields = decode_tlv(payload)?;
    let crc = check_crc(payload, &fields)?;
    check_tags(&fields, None)?;
    for field in fields.iter_mut().filter(|f| is_template(f.tag)) {
        field.children = decode_in(&field.value, Some(field.tag))?;
        check_tags(&field.children, Some(field.tag))?;
    }
    check_fields(&fields)?;
    Ok(Payload { fields, crc })
}

/// The CRC field is the last one, so it sits at a fixed offset from the end: `6304` and four
/// hex digits. Searching for `6304` instead would trip over values that contain it.
fn check_crc(payload: &str, fields: &[Field]) -> Result<u16, Error> {
    let last = match fields.last() {
        Some(last) if last.tag == 63 => last,
        _ if fields.iter().any(|f| f.tag == 63) => return Err(ErrorKind::CrcNotLast.into()),
        _ => return Err(ErrorKind::MissingCrc.into()),
    };
    let value = last.value.as_str();
    if value.len() != 4 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ErrorKind::CrcFormat.into());
    }
    let found = u16::from_str_radix(value, 16).map_err(|_| ErrorKind::CrcFormat)?;
    // The value is four ASCII bytes at the very end.
    let computed = crc16(&payload.as_bytes()[..payload.len() - 4]);
    if found != computed {
        return Err(ErrorKind::CrcMismatch { found, computed }.into());
    }
    Ok(found)
}

fn check_tags(fields: &[Field], parent: Option<u8>) -> Result<(), Error> {
    let mut seen = [false; 100];
    for field in fields {
        let slot = &mut seen[usize::from(field.tag)];
        if *slot {
            return Err(ErrorKind::DuplicateTag {
                tag: field.tag,
                parent,
            }
            .into());
        }
        *slot = true;
        if field.value.is_empty() {
            return Err(ErrorKind::EmptyValue {
                tag: field.tag,
                parent,
            }
            .into());
        }
    }
    Ok(())
}

fn invalid(tag: u8, parent: Option<u8>, expected: &'static str) -> Error {
    ErrorKind::InvalidValue {
        tag,
        parent,
        expected,
    }
    .into()
}

fn at_most(field: &Field, parent: Option<u8>, max: usize) -> Result<(), Error> {
    let chars = field.value.chars().count();
    if chars > max {
        return Err(ErrorKind::ValueTooLong {
            tag: field.tag,
            parent,
            max,
            chars,
        }
        .into());
    }
    Ok(())
}

fn all_digits(value: &str, len: usize) -> bool {
    value.len() == len && value.bytes().all(|b| b.is_ascii_digit())
}

fn check_fields(fields: &[Field]) -> Result<(), Error> {
    let find = |tag: u8| fields.iter().find(|f| f.tag == tag);
    match fields.first() {
        Some(first) if first.tag == 0 => {
            if first.value != "01" {
                return Err(ErrorKind::FormatIndicatorValue.into());
            }
        }
        _ => return Err(ErrorKind::FormatIndicatorNotFirst.into()),
    }
    let is_static = match find(1).map(|f| f.value.as_str()) {
        None | Some("11") => true,
        Some("12") => false,
        Some(_) => return Err(ErrorKind::InitiationValue.into()),
    };
    for field in fields {
        check_field(field)?;
    }
    if !fields.iter().any(|f| (26..=51).contains(&f.tag)) {
        return Err(ErrorKind::MissingMerchantAccount.into());
    }
    if is_static && find(51).is_none() {
        return Err(ErrorKind::StaticWithoutNationalTemplate.into());
    }
    for tag in [52, 53, 58, 59, 60] {
        if find(tag).is_none() {
            return Err(ErrorKind::Missing { tag, parent: None }.into());
        }
    }
    if find(58).is_some_and(|f| f.value == "ID") && find(61).is_none() {
        return Err(ErrorKind::MissingPostalCode.into());
    }
    Ok(())
}

fn check_field(field: &Field) -> Result<(), Error> {
    let value = field.value.as_str();
    match field.tag {
        51 => check_national_template(field)?,
        52 if !all_digits(value, 4) => return Err(invalid(52, None, "four digits")),
        53 if !all_digits(value, 3) => return Err(invalid(53, None, "three digits")),
        54 => {
            parse_amount(value)?;
        }
        58 if !(value.len() == 2 && value.bytes().all(|b| b.is_ascii_uppercase())) => {
            return Err(invalid(58, None, "two upper-case letters"));
        }
        59 => at_most(field, None, 25)?,
        60 => at_most(field, None, 15)?,
        61 => at_most(field, None, 10)?,
        62 => {
            for child in field.children.iter().filter(|c| (1..=8).contains(&c.tag)) {
                at_most(child, Some(62), 25)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn check_national_template(field: &Field) -> Result<(), Error> {
    match field.child(0) {
        Some(id) if id.value == QRIS_NATIONAL_ID => {}
        Some(_) => return Err(invalid(0, Some(51), "ID.CO.QRIS.WWW")),
        None => {
            return Err(ErrorKind::Missing {
                tag: 0,
                parent: Some(51),
            }
            .into());
        }
    }
    if field.child(2).is_none() {
        return Err(ErrorKind::Missing {
            tag: 2,
            parent: Some(51),
        }
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::{Initiation, seal};

    const SAMPLES: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/qris-samples.txt"
    ));

    fn samples() -> impl Iterator<Item = (&'static str, &'static str)> {
        SAMPLES
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| l.split_once(' ').expect("label and payload"))
    }

    fn sample(label: &str) -> &'static str {
        samples().find(|(l, _)| *l == label).expect("sample").1
    }

    /// Re-seals a payload whose last 8 characters are `6304` and a CRC, so a test can change
    /// one thing and still get past the CRC check.
    fn reseal(body: &str) -> String {
        seal(body.to_string())
    }

    fn body_of(payload: &str) -> &str {
        &payload[..payload.len() - 8]
    }

    fn kind(payload: &str) -> ErrorKind {
        parse(payload).unwrap_err().kind().clone()
    }

    fn sorted(fields: &[Field]) -> Vec<Field> {
        let mut fields = fields.to_vec();
        fields.retain(|f| f.tag != 63);
        fields.sort_by_key(|f| f.tag);
        fields
    }

    const DANA: &str = "dana-static";

    #[test]
    fn every_sample_parses_and_re_encodes_to_the_same_fields() {
        let mut count = 0;
        for (label, text) in samples() {
            let payload = parse(text).unwrap_or_else(|e| panic!("{label}: {e}"));
            let again = parse(&payload.to_payload_string())
                .unwrap_or_else(|e| panic!("{label} re-encoded: {e}"));
            assert_eq!(sorted(payload.fields()), sorted(again.fields()), "{label}");
            count += 1;
        }
        assert!(count >= 5);
    }

    #[test]
    fn the_dana_sample_reads_as_a_static_code() {
        let payload = parse(sample(DANA)).unwrap();
        assert_eq!(payload.initiation(), Initiation::Static);
        assert_eq!(payload.merchant_name(), "Warung Sayur Bu Sugeng");
        assert_eq!(payload.merchant_city(), "Kab. Demak");
        assert_eq!(payload.postal_code(), Some("59567"));
        assert_eq!(payload.mcc(), "5812");
        assert_eq!(payload.nmid(), Some("ID1020017611473"));
        assert_eq!(payload.amount(), None);
        assert_eq!(payload.crc(), 0x58C7);
        assert_eq!(payload.to_payload_string(), sample(DANA));
    }

    #[test]
    fn the_gopay_sample_with_54_after_61_has_its_amount() {
        let payload = parse(sample("gopay-dynamic-54-after-61")).unwrap();
        assert_eq!(payload.amount(), Some("39000.00"));
        assert_eq!(
            payload.initiation(),
            Initiation::Dynamic {
                amount_sen: 3_900_000
            }
        );
        assert_eq!(payload.terminal_label(), Some("A03"));
        let tags: Vec<u8> = payload.fields().iter().map(|f| f.tag).collect();
        assert!(tags.iter().position(|&t| t == 54) > tags.iter().position(|&t| t == 61));
        let sorted_tags: Vec<u8> = parse(&payload.to_payload_string())
            .unwrap()
            .fields()
            .iter()
            .map(|f| f.tag)
            .collect();
        assert!(sorted_tags.is_sorted());
    }

    #[test]
    fn the_doku_dynamic_sample_has_its_amount_and_fee() {
        let payload = parse(sample("doku-dynamic-fee")).unwrap();
        assert_eq!(
            payload.initiation(),
            Initiation::Dynamic {
                amount_sen: 100_000
            }
        );
        assert_eq!(payload.field(56).map(|f| f.value.as_str()), Some("500"));
    }

    #[test]
    fn a_lower_case_crc_is_accepted() {
        let upper = sample("doku-static");
        let lower = format!(
            "{}{}",
            &upper[..upper.len() - 4],
            upper[upper.len() - 4..].to_lowercase()
        );
        assert_ne!(upper, lower);
        assert_eq!(parse(&lower).unwrap().crc(), 0x455C);
    }

    #[test]
    fn a_wrong_crc_is_rejected() {
        let good = sample(DANA);
        let bad = format!("{}58C8", &good[..good.len() - 4]);
        assert_eq!(
            kind(&bad),
            ErrorKind::CrcMismatch {
                found: 0x58C8,
                computed: 0x58C7
            }
        );
    }

    #[test]
    fn a_crc_that_is_not_hex_is_rejected() {
        let good = sample(DANA);
        let bad = format!("{}58CG", &good[..good.len() - 4]);
        assert_eq!(kind(&bad), ErrorKind::CrcFormat);
    }

    #[test]
    fn a_payload_without_crc_is_rejected() {
        assert_eq!(kind(body_of(sample(DANA))), ErrorKind::MissingCrc);
    }

    #[test]
    fn a_crc_that_is_not_last_is_rejected() {
        let good = sample(DANA);
        let bad = format!("{good}0703A01");
        assert_eq!(kind(&bad), ErrorKind::CrcNotLast);
    }

    #[test]
    fn a_duplicate_tag_is_rejected() {
        let bad = reseal(&format!("{}5802ID", body_of(sample(DANA))));
        assert_eq!(
            kind(&bad),
            ErrorKind::DuplicateTag {
                tag: 58,
                parent: None
            }
        );
    }

    #[test]
    fn a_duplicate_sub_tag_is_rejected() {
        let bad = reseal(&format!("{}62140703A010703A02", body_of(sample(DANA))));
        assert_eq!(
            kind(&bad),
            ErrorKind::DuplicateTag {
                tag: 7,
                parent: Some(62)
            }
        );
    }

    #[test]
    fn tag_00_not_first_is_rejected() {
        let body = body_of(sample(DANA));
        let bad = reseal(&format!("{}000201{}", &body[6..12], &body[12..]));
        assert!(bad.starts_with("010211000201"));
        assert_eq!(kind(&bad), ErrorKind::FormatIndicatorNotFirst);
    }

    #[test]
    fn tag_00_other_than_01_is_rejected() {
        let bad = reseal(&format!("000202{}", &body_of(sample(DANA))[6..]));
        assert_eq!(kind(&bad), ErrorKind::FormatIndicatorValue);
    }

    #[test]
    fn an_unknown_point_of_initiation_is_rejected() {
        let bad = reseal(&body_of(sample(DANA)).replacen("010211", "010213", 1));
        assert_eq!(kind(&bad), ErrorKind::InitiationValue);
    }

    #[test]
    fn a_missing_postal_code_is_rejected() {
        let bad = reseal(body_of(sample(DANA)).strip_suffix("610559567").unwrap());
        assert_eq!(kind(&bad), ErrorKind::MissingPostalCode);
    }

    #[test]
    fn a_static_code_without_tag_51_is_rejected() {
        let body = body_of(sample(DANA));
        let start = body.find("5144").unwrap();
        let bad = reseal(&format!("{}{}", &body[..start], &body[start + 48..]));
        assert_eq!(kind(&bad), ErrorKind::StaticWithoutNationalTemplate);
    }

    #[test]
    fn a_dynamic_code_without_tag_51_is_accepted() {
        let body = body_of(sample(DANA)).replacen("010211", "010212", 1);
        let start = body.find("5144").unwrap();
        let ok = reseal(&format!("{}{}", &body[..start], &body[start + 48..]));
        let payload = parse(&ok).unwrap();
        assert_eq!(payload.initiation(), Initiation::Dynamic { amount_sen: 0 });
        assert_eq!(payload.nmid(), None);
    }

    #[test]
    fn a_code_without_a_merchant_account_template_is_rejected() {
        let bad = reseal("0002010102125204581253033605802ID5904Toko6007Jakarta610512345");
        assert_eq!(kind(&bad), ErrorKind::MissingMerchantAccount);
    }

    #[test]
    fn a_bad_amount_is_rejected_with_the_amount_rule() {
        let body = body_of(sample(DANA)).replacen("010211", "010212", 1);
        for (amount, expected) in [
            ("0", ErrorKind::AmountNotPositive),
            ("01000", ErrorKind::AmountLeadingZero),
            ("1,000", ErrorKind::AmountCharacter),
            ("-5", ErrorKind::AmountCharacter),
            ("12345678901234", ErrorKind::AmountTooLong),
        ] {
            let bad = reseal(&format!("{body}54{:02}{amount}", amount.len()));
            assert_eq!(kind(&bad), expected, "{amount}");
        }
    }

    #[test]
    fn truncated_tlv_is_rejected() {
        let good = sample(DANA);
        let bad = reseal(&format!("{}5930Toko", body_of(good)));
        assert_eq!(
            kind(&bad),
            ErrorKind::Truncated {
                tag: Some(59),
                parent: None
            }
        );
    }

    #[test]
    fn a_non_digit_length_is_rejected() {
        let bad = reseal(&body_of(sample(DANA)).replacen("5204", "52X4", 1));
        assert_eq!(
            kind(&bad),
            ErrorKind::BadLength {
                tag: 52,
                parent: None
            }
        );
    }

    #[test]
    fn a_malformed_template_is_rejected_naming_the_template() {
        let bad = reseal(&format!("{}62050709A", body_of(sample(DANA))));
        assert_eq!(
            kind(&bad),
            ErrorKind::Truncated {
                tag: Some(7),
                parent: Some(62)
            }
        );
    }

    #[test]
    fn a_payload_of_512_characters_is_rejected() {
        let mut body = body_of(sample(DANA)).to_string();
        while body.len() < 512 - 8 {
            body.push_str("9905ABCDE");
        }
        let bad = reseal(&body);
        assert!(bad.len() >= 512);
        assert!(matches!(kind(&bad), ErrorKind::PayloadTooLong { .. }));
    }

    #[test]
    fn field_limits_are_enforced() {
        let body = body_of(sample(DANA));
        let long_city = reseal(&body.replacen("6010Kab. Demak", "6016Kabupaten Demak!", 1));
        assert_eq!(
            kind(&long_city),
            ErrorKind::ValueTooLong {
                tag: 60,
                parent: None,
                max: 15,
                chars: 16
            }
        );
        let bad_mcc = reseal(&body.replacen("52045812", "520458A2", 1));
        assert!(matches!(
            kind(&bad_mcc),
            ErrorKind::InvalidValue { tag: 52, .. }
        ));
        let bad_country = reseal(&body.replacen("5802ID", "5802id", 1));
        assert!(matches!(
            kind(&bad_country),
            ErrorKind::InvalidValue { tag: 58, .. }
        ));
        let long_bill = reseal(&format!("{body}62300126{}", "1".repeat(26)));
        assert!(matches!(
            kind(&long_bill),
            ErrorKind::ValueTooLong {
                tag: 1,
                parent: Some(62),
                ..
            }
        ));
    }

    #[test]
    fn a_wrong_national_template_id_is_rejected() {
        let bad = reseal(&body_of(sample(DANA)).replacen("ID.CO.QRIS.WWW", "ID.CO.QRIZ.WWW", 1));
        assert!(matches!(
            kind(&bad),
            ErrorKind::InvalidValue {
                tag: 0,
                parent: Some(51),
                ..
            }
        ));
    }

    #[test]
    fn an_empty_value_is_rejected() {
        let bad = reseal(&format!("{}5500", body_of(sample(DANA))));
        assert_eq!(
            kind(&bad),
            ErrorKind::EmptyValue {
                tag: 55,
                parent: None
            }
        );
    }
}
