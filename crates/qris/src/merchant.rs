use std::fmt;
use std::str::FromStr;

use crate::error::{Error, ErrorKind};

/// The QRIS merchant criteria (business size), written in tag 26 sub 03 and tag 51 sub 03.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Criteria {
    /// `UMI`: micro business.
    Umi,
    /// `UKE`: small business.
    Uke,
    /// `UME`: medium business.
    Ume,
    /// `UBE`: large business.
    Ube,
    /// `URE`: regular (non-UMKM) merchant.
    Ure,
}

impl Criteria {
    /// Every criteria, smallest business first.
    pub const ALL: [Criteria; 5] = [
        Criteria::Umi,
        Criteria::Uke,
        Criteria::Ume,
        Criteria::Ube,
        Criteria::Ure,
    ];

    /// The code as written in a payload: `"UMI"`, `"UKE"`, `"UME"`, `"UBE"` or `"URE"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Criteria::Umi => "UMI",
            Criteria::Uke => "UKE",
            Criteria::Ume => "UME",
            Criteria::Ube => "UBE",
            Criteria::Ure => "URE",
        }
    }

    /// A short English description (`"micro"`, `"small"`, ...).
    pub fn description(self) -> &'static str {
        match self {
            Criteria::Umi => "micro",
            Criteria::Uke => "small",
            Criteria::Ume => "medium",
            Criteria::Ube => "large",
            Criteria::Ure => "regular",
        }
    }
}

impl FromStr for Criteria {
    type Err = Error;

    /// Accepts exactly the upper-case codes.
    fn from_str(s: &str) -> Result<Criteria, Error> {
        Criteria::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| ErrorKind::Criteria.into())
    }
}

impl fmt::Display for Criteria {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything about the merchant and its acquirer that goes into a payload.
///
/// [`build`](crate::build) checks every value and names the tag of the first bad one.
#[derive(Debug, Clone)]
pub struct MerchantProfile {
    /// Tag 26 sub 00: the acquirer's reverse-domain id, e.g. `ID.CO.SNAPQRIS.WWW` (1 to 32 of
    /// `A-Z a-z 0-9 . - _`).
    pub acquirer_domain: String,
    /// The acquirer's NNS (national numbering system id), 8 digits, e.g. `93600999`. Not
    /// written on its own: it starts the merchant PAN.
    pub acquirer_nns: String,
    /// Tag 26 sub 01: the merchant PAN, 16 to 19 digits (see [`derive_merchant_pan`]).
    pub merchant_pan: String,
    /// Tag 26 sub 02: the merchant id, 1 to 15 ASCII letters or digits.
    pub merchant_id: String,
    /// Tag 26 sub 03 and tag 51 sub 03.
    pub criteria: Criteria,
    /// Tag 51 sub 02: the NMID, `ID` and digits, at most 15 characters (see
    /// [`derive_sandbox_nmid`]).
    pub nmid: String,
    /// Tag 52: the merchant category code, 4 digits.
    pub mcc: String,
    /// Tag 59: 1 to 25 printable ASCII characters.
    pub name: String,
    /// Tag 60: 1 to 15 printable ASCII characters.
    pub city: String,
    /// Tag 61: 1 to 10 printable ASCII characters.
    pub postal_code: String,
}

/// 64-bit FNV-1a. Its output is stored (in PANs and NMIDs), so it must never change.
fn fnv1a(data: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in data {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// The Luhn check digit for a string of ASCII digits.
fn luhn_check_digit(digits: &str) -> char {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b.wrapping_sub(b'0') % 10);
            if i % 2 == 0 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    char::from(b'0' + ((10 - sum % 10) % 10) as u8)
}

/// The merchant PAN for tag 26 sub 01: the NNS, 9 digits derived from the merchant id (64-bit
/// FNV-1a of its bytes, mod 10⁹, zero-padded) and a Luhn check digit; 18 digits for an 8-digit
/// NNS.
///
/// Deterministic and stable across versions. The NNS is used as given; [`build`](crate::build)
/// rejects a PAN that is not 16 to 19 digits.
///
/// ```
/// let pan = snapqris_qris::derive_merchant_pan("93600999", "M001");
/// assert_eq!(pan.len(), 18);
/// assert!(pan.starts_with("93600999"));
/// ```
pub fn derive_merchant_pan(acquirer_nns: &str, merchant_id: &str) -> String {
    let body = format!(
        "{acquirer_nns}{:09}",
        fnv1a(merchant_id.as_bytes()) % 1_000_000_000
    );
    let check = luhn_check_digit(&body);
    let mut pan = body;
    pan.push(check);
    pan
}

/// A sandbox NMID for a merchant the operator gave none: `ID99` and 11 digits derived from
/// the merchant id (64-bit FNV-1a of its bytes, mod 10¹¹, zero-padded); 15 characters.
///
/// Deterministic and stable across versions: it is stored.
///
/// ```
/// let nmid = snapqris_qris::derive_sandbox_nmid("M001");
/// assert!(nmid.starts_with("ID99"));
/// assert_eq!(nmid.len(), 15);
/// ```
pub fn derive_sandbox_nmid(merchant_id: &str) -> String {
    format!(
        "ID99{:011}",
        fnv1a(merchant_id.as_bytes()) % 100_000_000_000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passes_luhn(number: &str) -> bool {
        let sum: u32 = number
            .bytes()
            .rev()
            .enumerate()
            .map(|(i, b)| {
                let d = u32::from(b - b'0');
                if i % 2 == 1 {
                    let doubled = d * 2;
                    if doubled > 9 { doubled - 9 } else { doubled }
                } else {
                    d
                }
            })
            .sum();
        sum.is_multiple_of(10)
    }

    #[test]
    fn criteria_round_trip_through_their_codes() {
        for criteria in Criteria::ALL {
            assert_eq!(criteria.as_str().parse::<Criteria>().unwrap(), criteria);
            assert_eq!(criteria.to_string(), criteria.as_str());
        }
    }

    #[test]
    fn criteria_codes_are_case_sensitive() {
        let err = "umi".parse::<Criteria>().unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::Criteria);
        assert!("UMKM".parse::<Criteria>().is_err());
        assert!("".parse::<Criteria>().is_err());
    }

    #[test]
    fn fnv1a_matches_the_published_test_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn the_luhn_check_digit_of_a_known_number_is_right() {
        // 7992739871 has check digit 3 (the usual worked example).
        assert_eq!(luhn_check_digit("7992739871"), '3');
        assert!(passes_luhn("79927398713"));
    }

    #[test]
    fn a_derived_pan_has_18_digits_and_passes_luhn() {
        for id in ["M001", "121xxxx", "", "MERCHANT0000001", "x"] {
            let pan = derive_merchant_pan("93600999", id);
            assert_eq!(pan.len(), 18, "{pan}");
            assert!(pan.bytes().all(|b| b.is_ascii_digit()), "{pan}");
            assert!(pan.starts_with("93600999"));
            assert!(passes_luhn(&pan), "{pan}");
        }
    }

    #[test]
    fn derived_pans_are_stable_and_differ_between_merchants() {
        assert_eq!(
            derive_merchant_pan("93600999", "M001"),
            derive_merchant_pan("93600999", "M001")
        );
        assert_ne!(
            derive_merchant_pan("93600999", "M001"),
            derive_merchant_pan("93600999", "M002")
        );
        assert_eq!(derive_merchant_pan("93600999", "M001"), PAN_M001);
    }

    #[test]
    fn the_sandbox_nmid_is_stable() {
        // Stored by the server: a change here breaks existing merchants.
        assert_eq!(derive_sandbox_nmid("M001"), NMID_M001);
        assert_eq!(derive_sandbox_nmid("121xxxx"), NMID_121XXXX);
        let nmid = derive_sandbox_nmid("anything");
        assert_eq!(nmid.len(), 15);
        assert!(nmid.starts_with("ID99"));
        assert!(nmid[2..].bytes().all(|b| b.is_ascii_digit()));
    }

    const PAN_M001: &str = "936009996867232113";
    const NMID_M001: &str = "ID9956686723211";
    const NMID_121XXXX: &str = "ID9939153167473";
}
