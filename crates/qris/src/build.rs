use crate::amount::format_amount;
use crate::error::{Error, ErrorKind};
use crate::merchant::MerchantProfile;
use crate::parse::{MAX_PAYLOAD_CHARS, QRIS_NATIONAL_ID, parse};
use crate::payload::{Initiation, seal};
use crate::tlv::{Field, encode_tlv};

/// Builds a QRIS payload for a merchant.
///
/// Fields, in ascending tag order: 00 `01`; 01 `11` (static) or `12` (dynamic); 26 (00
/// acquirer domain, 01 merchant PAN, 02 merchant id, 03 criteria); 51 (00 `ID.CO.QRIS.WWW`,
/// 02 NMID, 03 criteria); 52 MCC; 53 `360`; 54 amount (dynamic only, see [`format_amount`]);
/// 58 `ID`; 59 name; 60 city; 61 postal code; 62 (01 bill number, 07 terminal label when
/// given and not empty); 63 CRC.
///
/// Every value is checked (see [`MerchantProfile`]; the bill number and terminal label are 1
/// to 25 printable ASCII characters) and the payload must stay under 512 characters; the
/// first problem is returned naming its tag. The result always passes [`parse`].
///
/// [`format_amount`]: crate::format_amount
pub fn build(
    profile: &MerchantProfile,
    initiation: &Initiation,
    bill_number: &str,
    terminal_label: Option<&str>,
) -> Result<String, Error> {
    let p = profile;
    check_domain(&p.acquirer_domain)?;
    // The NNS only reaches the payload inside the PAN, so its errors name tag 26 sub 01.
    check(
        26,
        Some(1),
        &p.acquirer_nns,
        8,
        8,
        "an 8-digit NNS",
        is_digit,
    )?;
    check(
        26,
        Some(1),
        &p.merchant_pan,
        16,
        19,
        "16 to 19 digits",
        is_digit,
    )?;
    check(
        26,
        Some(2),
        &p.merchant_id,
        1,
        15,
        "ASCII letters and digits",
        is_alnum,
    )?;
    check_nmid(&p.nmid)?;
    check(52, None, &p.mcc, 4, 4, "four digits", is_digit)?;
    check(59, None, &p.name, 1, 25, "printable ASCII", is_printable)?;
    check(60, None, &p.city, 1, 15, "printable ASCII", is_printable)?;
    check(
        61,
        None,
        &p.postal_code,
        1,
        10,
        "printable ASCII",
        is_printable,
    )?;
    check(
        62,
        Some(1),
        bill_number,
        1,
        25,
        "printable ASCII",
        is_printable,
    )?;
    let terminal_label = terminal_label.filter(|t| !t.is_empty());
    if let Some(label) = terminal_label {
        check(62, Some(7), label, 1, 25, "printable ASCII", is_printable)?;
    }

    let criteria = p.criteria.as_str();
    let mut fields = vec![
        Field::new(0, "01"),
        Field::new(
            1,
            match initiation {
                Initiation::Static => "11",
                Initiation::Dynamic { .. } => "12",
            },
        ),
        Field::template(
            26,
            vec![
                Field::new(0, p.acquirer_domain.as_str()),
                Field::new(1, p.merchant_pan.as_str()),
                Field::new(2, p.merchant_id.as_str()),
                Field::new(3, criteria),
            ],
        ),
        Field::template(
            51,
            vec![
                Field::new(0, QRIS_NATIONAL_ID),
                Field::new(2, p.nmid.as_str()),
                Field::new(3, criteria),
            ],
        ),
        Field::new(52, p.mcc.as_str()),
        Field::new(53, "360"),
    ];
    if let Initiation::Dynamic { amount_sen } = *initiation {
        fields.push(Field::new(54, format_amount(amount_sen)?));
    }
    fields.extend([
        Field::new(58, "ID"),
        Field::new(59, p.name.as_str()),
        Field::new(60, p.city.as_str()),
        Field::new(61, p.postal_code.as_str()),
    ]);
    let mut additional = vec![Field::new(1, bill_number)];
    if let Some(label) = terminal_label {
        additional.push(Field::new(7, label));
    }
    fields.push(Field::template(62, additional));

    let payload = seal(encode_tlv(&fields));
    if payload.len() >= MAX_PAYLOAD_CHARS {
        return Err(ErrorKind::PayloadTooLong {
            chars: payload.len(),
        }
        .into());
    }
    // Cheap insurance that what we hand out is what we accept.
    parse(&payload)?;
    Ok(payload)
}

fn is_digit(b: u8) -> bool {
    b.is_ascii_digit()
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

fn is_printable(b: u8) -> bool {
    (b' '..=b'~').contains(&b)
}

/// Checks a value's length (in characters) and that every byte satisfies `ok`; `ok` only
/// accepts ASCII, so bytes are characters.
fn check(
    tag: u8,
    sub: Option<u8>,
    value: &str,
    min: usize,
    max: usize,
    expected: &'static str,
    ok: fn(u8) -> bool,
) -> Result<(), Error> {
    // Errors name the sub-field as `tag 26 sub 01`: the sub-tag first, its template as parent.
    let (tag, parent) = match sub {
        Some(sub) => (sub, Some(tag)),
        None => (tag, None),
    };
    if value.is_empty() && min > 0 {
        return Err(ErrorKind::EmptyValue { tag, parent }.into());
    }
    if !value.bytes().all(ok) || value.len() < min {
        return Err(ErrorKind::InvalidValue {
            tag,
            parent,
            expected,
        }
        .into());
    }
    if value.len() > max {
        return Err(ErrorKind::ValueTooLong {
            tag,
            parent,
            max,
            chars: value.len(),
        }
        .into());
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<(), Error> {
    check(
        26,
        Some(0),
        domain,
        1,
        32,
        "a reverse domain name (A-Z 0-9 . - _)",
        |b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'),
    )
}

fn check_nmid(nmid: &str) -> Result<(), Error> {
    let expected = "ID followed by digits";
    check(51, Some(2), nmid, 3, 15, expected, |b| {
        b.is_ascii_digit() || b == b'I' || b == b'D'
    })?;
    if !nmid.starts_with("ID") || !nmid[2..].bytes().all(is_digit) {
        return Err(ErrorKind::InvalidValue {
            tag: 2,
            parent: Some(51),
            expected,
        }
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merchant::{Criteria, derive_sandbox_nmid, legacy_account_number, merchant_pan};
    use crate::tlv::decode_tlv;
    use crate::{crc_text, crc16};
    use proptest::prelude::*;

    fn profile() -> MerchantProfile {
        MerchantProfile {
            acquirer_domain: "ID.CO.SNAPQRIS.WWW".into(),
            acquirer_nns: "93600999".into(),
            merchant_pan: merchant_pan("93600999", legacy_account_number("M001")),
            merchant_id: "M001".into(),
            criteria: Criteria::Umi,
            nmid: derive_sandbox_nmid("M001"),
            mcc: "5812".into(),
            name: "Warung Budi".into(),
            city: "Jakarta".into(),
            postal_code: "10110".into(),
        }
    }

    fn tags(payload: &str) -> Vec<u8> {
        decode_tlv(payload).unwrap().iter().map(|f| f.tag).collect()
    }

    fn kind(result: Result<String, Error>) -> ErrorKind {
        result.unwrap_err().kind().clone()
    }

    #[test]
    fn a_static_code_has_every_field_in_order_and_no_amount() {
        let qr = build(&profile(), &Initiation::Static, "10092081", Some("A01")).unwrap();
        assert_eq!(tags(&qr), [0, 1, 26, 51, 52, 53, 58, 59, 60, 61, 62, 63]);
        let payload = parse(&qr).unwrap();
        let value = |tag| payload.field(tag).unwrap().value.as_str();
        assert_eq!(value(0), "01");
        assert_eq!(value(1), "11");
        let account = payload.field(26).unwrap();
        assert_eq!(account.child(0).unwrap().value, "ID.CO.SNAPQRIS.WWW");
        assert_eq!(account.child(1).unwrap().value, "936009996867232113");
        assert_eq!(account.child(2).unwrap().value, "M001");
        assert_eq!(account.child(3).unwrap().value, "UMI");
        let national = payload.field(51).unwrap();
        assert_eq!(national.child(0).unwrap().value, "ID.CO.QRIS.WWW");
        assert_eq!(national.child(3).unwrap().value, "UMI");
        assert_eq!(payload.nmid(), Some("ID9956686723211"));
        assert_eq!(value(52), "5812");
        assert_eq!(value(53), "360");
        assert_eq!(value(58), "ID");
        assert_eq!(payload.merchant_name(), "Warung Budi");
        assert_eq!(payload.merchant_city(), "Jakarta");
        assert_eq!(payload.postal_code(), Some("10110"));
        assert_eq!(payload.bill_number(), Some("10092081"));
        assert_eq!(payload.terminal_label(), Some("A01"));
        assert_eq!(payload.amount(), None);
        assert_eq!(payload.initiation(), Initiation::Static);
        assert_eq!(payload.field(62).unwrap().value, "0108100920810703A01");
        let crc = crc16(&qr.as_bytes()[..qr.len() - 4]);
        assert!(qr.ends_with(&format!("6304{}", crc_text(crc))));
        assert_eq!(payload.crc(), crc);
        assert_eq!(payload.to_payload_string(), qr);
    }

    #[test]
    fn a_dynamic_code_carries_12_and_the_amount() {
        let dynamic = Initiation::Dynamic {
            amount_sen: 900_000,
        };
        let qr = build(&profile(), &dynamic, "10092082", None).unwrap();
        assert_eq!(
            tags(&qr),
            [0, 1, 26, 51, 52, 53, 54, 58, 59, 60, 61, 62, 63]
        );
        let payload = parse(&qr).unwrap();
        assert_eq!(payload.field(1).unwrap().value, "12");
        assert_eq!(payload.amount(), Some("9000"));
        assert_eq!(payload.initiation(), dynamic);
        assert_eq!(payload.bill_number(), Some("10092082"));
        assert_eq!(payload.terminal_label(), None);
        assert_eq!(payload.field(62).unwrap().children.len(), 1);
    }

    #[test]
    fn an_amount_with_cents_keeps_two_decimals() {
        let dynamic = Initiation::Dynamic {
            amount_sen: 900_050,
        };
        let payload = parse(&build(&profile(), &dynamic, "1", None).unwrap()).unwrap();
        assert_eq!(payload.amount(), Some("9000.50"));
        assert_eq!(payload.initiation(), dynamic);
    }

    #[test]
    fn a_bill_number_of_11_is_not_disturbed() {
        let dynamic = Initiation::Dynamic {
            amount_sen: 500_000,
        };
        let qr = build(&profile(), &dynamic, "11", Some("11")).unwrap();
        let payload = parse(&qr).unwrap();
        assert_eq!(payload.field(1).unwrap().value, "12");
        assert_eq!(payload.bill_number(), Some("11"));
        assert_eq!(payload.terminal_label(), Some("11"));
        let fixed = build(&profile(), &Initiation::Static, "11", Some("11")).unwrap();
        assert_eq!(parse(&fixed).unwrap().bill_number(), Some("11"));
    }

    #[test]
    fn an_empty_terminal_label_is_left_out() {
        let qr = build(&profile(), &Initiation::Static, "7", Some("")).unwrap();
        assert_eq!(parse(&qr).unwrap().terminal_label(), None);
    }

    #[test]
    fn a_crc_under_0x1000_keeps_its_leading_zero() {
        let qr = (0..10_000)
            .map(|n| build(&profile(), &Initiation::Static, &n.to_string(), None).unwrap())
            .find(|qr| parse(qr).unwrap().crc() < 0x1000)
            .expect("one in sixteen CRCs is under 0x1000");
        let text = &qr[qr.len() - 4..];
        assert!(text.starts_with('0'), "{text}");
        assert_eq!(text, crc_text(parse(&qr).unwrap().crc()));
    }

    #[test]
    fn a_merchant_name_containing_6304_does_not_confuse_the_crc() {
        let mut p = profile();
        p.name = "6304ABCD".into();
        p.city = "6304".into();
        let qr = build(&p, &Initiation::Static, "6304", Some("6304ABCD")).unwrap();
        let payload = parse(&qr).unwrap();
        assert_eq!(payload.merchant_name(), "6304ABCD");
        assert_eq!(payload.bill_number(), Some("6304"));
    }

    #[test]
    fn bad_profile_values_are_rejected_naming_the_tag() {
        let mut p = profile();
        p.name = "N".repeat(26);
        let err = build(&p, &Initiation::Static, "1", None).unwrap_err();
        assert_eq!(err.to_string(), "tag 59: 26 characters, at most 25 allowed");

        let mut p = profile();
        p.mcc = "581".into();
        assert!(matches!(
            kind(build(&p, &Initiation::Static, "1", None)),
            ErrorKind::InvalidValue { tag: 52, .. }
        ));

        let mut p = profile();
        p.nmid = "XX123".into();
        assert!(matches!(
            kind(build(&p, &Initiation::Static, "1", None)),
            ErrorKind::InvalidValue {
                tag: 2,
                parent: Some(51),
                ..
            }
        ));

        let mut p = profile();
        p.acquirer_nns = "9360099".into();
        assert_eq!(
            build(&p, &Initiation::Static, "1", None)
                .unwrap_err()
                .to_string(),
            "tag 26 sub 01: must be an 8-digit NNS"
        );

        let mut p = profile();
        p.merchant_pan = "123".into();
        assert!(matches!(
            kind(build(&p, &Initiation::Static, "1", None)),
            ErrorKind::InvalidValue {
                tag: 1,
                parent: Some(26),
                ..
            }
        ));

        let mut p = profile();
        p.city = "Café".into();
        assert!(matches!(
            kind(build(&p, &Initiation::Static, "1", None)),
            ErrorKind::InvalidValue { tag: 60, .. }
        ));

        let mut p = profile();
        p.postal_code = String::new();
        assert_eq!(
            kind(build(&p, &Initiation::Static, "1", None)),
            ErrorKind::EmptyValue {
                tag: 61,
                parent: None
            }
        );
    }

    #[test]
    fn a_bad_bill_number_or_amount_is_rejected() {
        assert_eq!(
            kind(build(&profile(), &Initiation::Static, "", None)),
            ErrorKind::EmptyValue {
                tag: 1,
                parent: Some(62)
            }
        );
        assert!(matches!(
            kind(build(
                &profile(),
                &Initiation::Static,
                &"9".repeat(26),
                None
            )),
            ErrorKind::ValueTooLong {
                tag: 1,
                parent: Some(62),
                ..
            }
        ));
        assert_eq!(
            kind(build(
                &profile(),
                &Initiation::Dynamic { amount_sen: 0 },
                "1",
                None
            )),
            ErrorKind::AmountNotPositive
        );
    }

    fn profiles() -> impl Strategy<Value = MerchantProfile> {
        (
            "[A-Za-z0-9]{1,15}",
            prop::sample::select(Criteria::ALL.to_vec()),
            "[0-9]{4}",
            "[ -~]{1,25}",
            "[ -~]{1,15}",
            "[0-9]{5}",
        )
            .prop_map(|(merchant_id, criteria, mcc, name, city, postal_code)| {
                MerchantProfile {
                    acquirer_domain: "ID.CO.SNAPQRIS.WWW".into(),
                    acquirer_nns: "93600999".into(),
                    merchant_pan: merchant_pan("93600999", legacy_account_number(&merchant_id)),
                    nmid: derive_sandbox_nmid(&merchant_id),
                    merchant_id,
                    criteria,
                    mcc,
                    name,
                    city,
                    postal_code,
                }
            })
    }

    fn initiations() -> impl Strategy<Value = Initiation> {
        prop_oneof![
            Just(Initiation::Static),
            (1..1_000_000_000_000i64).prop_map(|amount_sen| Initiation::Dynamic { amount_sen }),
        ]
    }

    proptest! {
        #[test]
        fn built_payloads_parse_back_to_the_same_values(
            p in profiles(),
            initiation in initiations(),
            bill in "[0-9]{1,20}",
            terminal in proptest::option::of("[ -~]{1,16}"),
        ) {
            let qr = build(&p, &initiation, &bill, terminal.as_deref()).unwrap();
            let payload = parse(&qr).unwrap();
            prop_assert_eq!(payload.merchant_name(), p.name.as_str());
            prop_assert_eq!(payload.merchant_city(), p.city.as_str());
            prop_assert_eq!(payload.postal_code(), Some(p.postal_code.as_str()));
            prop_assert_eq!(payload.mcc(), p.mcc.as_str());
            prop_assert_eq!(payload.nmid(), Some(p.nmid.as_str()));
            prop_assert_eq!(payload.bill_number(), Some(bill.as_str()));
            prop_assert_eq!(payload.terminal_label(), terminal.as_deref());
            prop_assert_eq!(payload.initiation(), initiation);
            prop_assert_eq!(payload.to_payload_string(), qr.clone());
            prop_assert_eq!(encode_tlv(&decode_tlv(&qr).unwrap()), qr);
        }

        #[test]
        fn any_single_character_change_before_the_crc_is_rejected(
            p in profiles(),
            initiation in initiations(),
            bill in "[0-9]{1,20}",
            position in any::<prop::sample::Index>(),
            replacement in b' '..=b'~',
        ) {
            let qr = build(&p, &initiation, &bill, None).unwrap();
            let at = position.index(qr.len() - 4);
            prop_assume!(qr.as_bytes()[at] != replacement);
            let mut changed = qr.into_bytes();
            changed[at] = replacement;
            let changed = String::from_utf8(changed).unwrap();
            prop_assert!(parse(&changed).is_err(), "accepted {}", changed);
        }
    }
}
