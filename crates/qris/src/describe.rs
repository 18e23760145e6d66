use std::fmt::Write;

use crate::crc::{crc_text, crc16};
use crate::merchant::Criteria;
use crate::parse::parse;
use crate::tlv::{Field, decode_prefix, is_template};

/// A human name for a tag (`parent: None`) or a sub-tag of template `parent`, for a decoder.
///
/// ```
/// use snapqris_qris::tag_name;
/// assert_eq!(tag_name(54, None), "Transaction amount");
/// assert_eq!(tag_name(1, Some(62)), "Bill number");
/// assert_eq!(tag_name(2, Some(51)), "NMID");
/// ```
pub fn tag_name(tag: u8, parent: Option<u8>) -> &'static str {
    match parent {
        None => top_level_name(tag),
        Some(26..=50) => match tag {
            0 => "Globally unique identifier",
            1 => "Merchant PAN",
            2 => "Merchant ID",
            3 => "Merchant criteria",
            _ => "Merchant account data",
        },
        Some(51) => match tag {
            0 => "Globally unique identifier",
            1 => "Merchant PAN",
            2 => "NMID",
            3 => "Merchant criteria",
            _ => "National merchant data",
        },
        Some(62) => match tag {
            1 => "Bill number",
            2 => "Mobile number",
            3 => "Store label",
            4 => "Loyalty number",
            5 => "Reference label",
            6 => "Customer label",
            7 => "Terminal label",
            8 => "Purpose of transaction",
            9 => "Additional consumer data request",
            10 => "Merchant tax ID",
            11 => "Merchant channel",
            50..=99 => "Payment system specific template",
            _ => "Reserved for future use",
        },
        Some(64) => match tag {
            0 => "Language preference",
            1 => "Merchant name (alternate language)",
            2 => "Merchant city (alternate language)",
            _ => "Reserved for future use",
        },
        Some(80..=99) => match tag {
            0 => "Globally unique identifier",
            _ => "Context specific data",
        },
        Some(_) => "Unknown",
    }
}

fn top_level_name(tag: u8) -> &'static str {
    match tag {
        0 => "Payload format indicator",
        1 => "Point of initiation method",
        2..=3 => "Merchant account information (Visa)",
        4..=5 => "Merchant account information (Mastercard)",
        6..=8 => "Merchant account information (EMVCo)",
        9..=10 => "Merchant account information (Discover)",
        11..=12 => "Merchant account information (Amex)",
        13..=14 => "Merchant account information (JCB)",
        15..=16 => "Merchant account information (UnionPay)",
        17..=25 => "Merchant account information (EMVCo reserved)",
        26..=50 => "Merchant account information",
        51 => "QRIS national merchant information",
        52 => "Merchant category code",
        53 => "Transaction currency",
        54 => "Transaction amount",
        55 => "Tip or convenience indicator",
        56 => "Convenience fee (fixed)",
        57 => "Convenience fee (percentage)",
        58 => "Country code",
        59 => "Merchant name",
        60 => "Merchant city",
        61 => "Postal code",
        62 => "Additional data field template",
        63 => "CRC",
        64 => "Merchant information (language template)",
        65..=79 => "Reserved for future use",
        80..=99 => "Unreserved template",
        _ => "Unknown",
    }
}

/// A short gloss on a known value (`12` → `dynamic`), if any.
fn gloss(tag: u8, parent: Option<u8>, value: &str) -> Option<&'static str> {
    match (parent, tag, value) {
        (None, 1, "11") => Some("static"),
        (None, 1, "12") => Some("dynamic"),
        (None, 53, "360") => Some("IDR"),
        (None, 55, "01") => Some("payer enters a tip"),
        (None, 55, "02") => Some("fixed convenience fee"),
        (None, 55, "03") => Some("percentage convenience fee"),
        (None, 58, "ID") => Some("Indonesia"),
        (Some(26..=51), 3, _) => value.parse::<Criteria>().ok().map(Criteria::description),
        _ => None,
    }
}

/// A multi-line description of every field and sub-field with its tag, name and value, for a
/// decoder command, ending with the verdict of [`parse`](crate::parse). The CRC line carries
/// its own verdict: `63 CRC: 455C (valid)`, or `(invalid, computed 455C)`.
///
/// Works on invalid payloads too: it shows as much as TLV decoding reaches, then the error.
///
/// ```
/// let text = snapqris_qris::describe("000201010211");
/// assert!(text.contains("01 Point of initiation method: 11 (static)"));
/// assert!(text.contains("invalid"));
/// ```
pub fn describe(payload: &str) -> String {
    let mut out = String::new();
    let (fields, error) = decode_prefix(payload, None);
    for (index, field) in fields.iter().enumerate() {
        if field.tag == 63 {
            let last = index + 1 == fields.len() && error.is_none();
            let verdict = crc_verdict(payload, &field.value, last);
            let _ = writeln!(
                out,
                "63 {}: {} ({verdict})",
                tag_name(63, None),
                field.value
            );
        } else {
            describe_field(&mut out, field, None, 0);
        }
    }
    if let Some(error) = error {
        let _ = writeln!(out, "decoding stopped: {error}");
    }
    let _ = match parse(payload) {
        Ok(_) => writeln!(out, "valid QRIS payload"),
        Err(error) => writeln!(out, "invalid: {error}"),
    };
    out
}

/// Whether the CRC `value` matches the payload: it covers everything before the value, so it
/// can be judged only as the payload's last field.
fn crc_verdict(payload: &str, value: &str, last: bool) -> String {
    if !last {
        return "invalid, not the last field".to_owned();
    }
    let covered = &payload.as_bytes()[..payload.len() - value.len()];
    let computed = crc_text(crc16(covered));
    if value.eq_ignore_ascii_case(&computed) {
        "valid".to_owned()
    } else {
        format!("invalid, computed {computed}")
    }
}

fn describe_field(out: &mut String, field: &Field, parent: Option<u8>, depth: usize) {
    let indent = "  ".repeat(depth);
    let name = tag_name(field.tag, parent);
    if parent.is_some() || !is_template(field.tag) {
        let _ = write!(out, "{indent}{:02} {name}: {}", field.tag, field.value);
        if let Some(gloss) = gloss(field.tag, parent, &field.value) {
            let _ = write!(out, " ({gloss})");
        }
        out.push('\n');
        return;
    }
    let _ = writeln!(out, "{indent}{:02} {name}", field.tag);
    let (children, error) = decode_prefix(&field.value, Some(field.tag));
    for child in &children {
        describe_field(out, child, Some(field.tag), depth + 1);
    }
    if let Some(error) = error {
        let _ = writeln!(out, "{indent}  decoding stopped: {error}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOKU: &str = "00020101021126530012COM.DOKU.WWW0118936008990000002475020424750303URE51440014ID.CO.QRIS.WWW0215ID10200392934820303URE5204539953033605802ID5911GUREUM SHOP6013JAKARTA PUSAT61051064062070703A016304455C";

    #[test]
    fn tag_names_cover_top_level_and_sub_tags() {
        assert_eq!(tag_name(54, None), "Transaction amount");
        assert_eq!(tag_name(1, Some(62)), "Bill number");
        assert_eq!(tag_name(7, Some(62)), "Terminal label");
        assert_eq!(tag_name(2, Some(51)), "NMID");
        assert_eq!(tag_name(1, Some(26)), "Merchant PAN");
        assert_eq!(tag_name(63, None), "CRC");
        assert_eq!(tag_name(0, Some(99)), "Globally unique identifier");
    }

    #[test]
    fn a_valid_payload_is_described_field_by_field() {
        let text = describe(DOKU);
        let expected = "\
00 Payload format indicator: 01
01 Point of initiation method: 11 (static)
26 Merchant account information
  00 Globally unique identifier: COM.DOKU.WWW
  01 Merchant PAN: 936008990000002475
  02 Merchant ID: 2475
  03 Merchant criteria: URE (regular)
51 QRIS national merchant information
  00 Globally unique identifier: ID.CO.QRIS.WWW
  02 NMID: ID1020039293482
  03 Merchant criteria: URE (regular)
52 Merchant category code: 5399
53 Transaction currency: 360 (IDR)
58 Country code: ID (Indonesia)
59 Merchant name: GUREUM SHOP
60 Merchant city: JAKARTA PUSAT
61 Postal code: 10640
62 Additional data field template
  07 Terminal label: A01
63 CRC: 455C (valid)
valid QRIS payload
";
        assert_eq!(text, expected);
    }

    #[test]
    fn an_invalid_payload_is_described_as_far_as_decoding_gets() {
        let broken = &DOKU[..DOKU.len() - 40];
        let text = describe(broken);
        assert!(text.contains("59 Merchant name: GUREUM SHOP"), "{text}");
        assert!(
            text.contains("decoding stopped: tag 60: value runs past the end"),
            "{text}"
        );
        assert!(
            text.ends_with("invalid: tag 60: value runs past the end\n"),
            "{text}"
        );
    }

    #[test]
    fn a_bad_crc_is_reported_after_the_fields() {
        let bad = format!("{}455D", &DOKU[..DOKU.len() - 4]);
        let text = describe(&bad);
        assert!(
            text.contains("\n63 CRC: 455D (invalid, computed 455C)\n"),
            "{text}"
        );
        assert!(
            text.ends_with("invalid: tag 63: crc is 455D, computed 455C\n"),
            "{text}"
        );
    }

    #[test]
    fn a_lower_case_crc_is_valid_on_its_line() {
        let lower = format!("{}455c", &DOKU[..DOKU.len() - 4]);
        assert!(describe(&lower).contains("\n63 CRC: 455c (valid)\n"));
    }

    #[test]
    fn a_crc_before_other_fields_is_invalid_on_its_line() {
        let text = describe("6304ABCD000201");
        assert!(
            text.starts_with("63 CRC: ABCD (invalid, not the last field)\n"),
            "{text}"
        );
    }

    #[test]
    fn a_malformed_template_shows_its_readable_part() {
        let text = describe("00020126100005ABCDE07");
        assert!(text.contains("26 Merchant account information\n  00 Globally unique identifier: ABCDE\n  decoding stopped:"), "{text}");
    }
}
