use crate::amount::parse_amount;
use crate::crc::{crc_text, crc16};
use crate::tlv::{Field, push_field};

/// Whether a payload is static (reusable, no amount) or dynamic (one payment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Initiation {
    /// Tag 01 `11`: the payer enters the amount.
    Static,
    /// Tag 01 `12`, with tag 54 holding the amount.
    Dynamic {
        /// The amount in sen (hundredths of a rupiah).
        amount_sen: i64,
    },
}

/// A parsed, validated QRIS payload.
///
/// Made by [`parse`](crate::parse). Keeps the fields in the order they appeared, templates with their
/// sub-fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    pub(crate) fields: Vec<Field>,
    pub(crate) crc: u16,
}

impl Payload {
    /// Every top-level field in the order it appeared, tag 63 included.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// The top-level field `tag`.
    pub fn field(&self, tag: u8) -> Option<&Field> {
        self.fields.iter().find(|f| f.tag == tag)
    }

    fn value(&self, tag: u8) -> Option<&str> {
        self.field(tag).map(|f| f.value.as_str())
    }

    fn sub_value(&self, tag: u8, sub: u8) -> Option<&str> {
        self.field(tag)?.child(sub).map(|f| f.value.as_str())
    }

    /// Static when tag 01 is `11` or absent; dynamic when it is `12`, with the amount of tag 54
    /// in sen. A dynamic code without tag 54 (the payer enters the amount) gives
    /// `amount_sen: 0`.
    pub fn initiation(&self) -> Initiation {
        match self.value(1) {
            Some("12") => Initiation::Dynamic {
                amount_sen: self
                    .amount()
                    .and_then(|a| parse_amount(a).ok())
                    .unwrap_or(0),
            },
            _ => Initiation::Static,
        }
    }

    /// Tag 54, the transaction amount as written (`"9000"`, `"39000.00"`).
    pub fn amount(&self) -> Option<&str> {
        self.value(54)
    }

    /// Tag 59, the merchant name.
    pub fn merchant_name(&self) -> &str {
        self.value(59).unwrap_or_default()
    }

    /// Tag 60, the merchant city.
    pub fn merchant_city(&self) -> &str {
        self.value(60).unwrap_or_default()
    }

    /// Tag 61, the postal code.
    pub fn postal_code(&self) -> Option<&str> {
        self.value(61)
    }

    /// Tag 52, the merchant category code.
    pub fn mcc(&self) -> &str {
        self.value(52).unwrap_or_default()
    }

    /// Tag 51 sub 02, the national merchant id.
    pub fn nmid(&self) -> Option<&str> {
        self.sub_value(51, 2)
    }

    /// Tag 62 sub 01, the bill number.
    pub fn bill_number(&self) -> Option<&str> {
        self.sub_value(62, 1)
    }

    /// Tag 62 sub 07, the terminal label.
    pub fn terminal_label(&self) -> Option<&str> {
        self.sub_value(62, 7)
    }

    /// Tag 63, the CRC as written (it matched the computed one).
    pub fn crc(&self) -> u16 {
        self.crc
    }

    /// Re-encodes the payload with the top-level fields in ascending tag order (00 first, 63
    /// last) and a fresh CRC. Template values are kept as they were.
    pub fn to_payload_string(&self) -> String {
        let mut fields: Vec<&Field> = self.fields.iter().filter(|f| f.tag != 63).collect();
        fields.sort_by_key(|f| f.tag);
        let mut out = String::new();
        for field in fields {
            push_field(&mut out, field.tag, &field.value);
        }
        seal(out)
    }
}

/// Appends `6304` and the CRC over everything up to and including it.
pub(crate) fn seal(mut body: String) -> String {
    body.push_str("6304");
    let crc = crc16(body.as_bytes());
    body.push_str(&crc_text(crc));
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;

    #[test]
    fn sealing_appends_6304_and_the_crc_over_it() {
        let sealed = seal("000201".to_string());
        assert_eq!(sealed.len(), 14);
        assert!(sealed.starts_with("0002016304"));
        assert_eq!(&sealed[10..], crc_text(crc16(b"0002016304")));
    }

    #[test]
    fn re_encoding_sorts_tags_and_puts_the_crc_last() {
        let shuffled = seal(
            "0002015802ID010212520458125303360540450006105101105907Toko A16007Jakarta\
             26210011ID.CO.X.WWW0202M1"
                .to_string(),
        );
        let payload = parse(&shuffled).unwrap();
        let again = payload.to_payload_string();
        let tags: Vec<u8> = parse(&again)
            .unwrap()
            .fields()
            .iter()
            .map(|f| f.tag)
            .collect();
        assert_eq!(tags, [0, 1, 26, 52, 53, 54, 58, 59, 60, 61, 63]);
        assert_eq!(
            payload.initiation(),
            Initiation::Dynamic {
                amount_sen: 500_000
            }
        );
    }

    #[test]
    fn accessors_of_absent_fields_are_empty() {
        let payload = Payload {
            fields: Vec::new(),
            crc: 0,
        };
        assert_eq!(payload.merchant_name(), "");
        assert_eq!(payload.mcc(), "");
        assert_eq!(payload.nmid(), None);
        assert_eq!(payload.bill_number(), None);
        assert_eq!(payload.initiation(), Initiation::Static);
    }
}
