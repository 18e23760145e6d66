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
    /// Tag 26 sub 01: the merchant PAN, 16 to 19 digits (see [`merchant_pan`]).
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

/// Merchant account numbers are below this: 9 digits in the PAN.
pub const PAN_ACCOUNTS: u32 = 1_000_000_000;

/// The merchant PAN for tag 26 sub 01: the NNS, the merchant's account number zero-padded to 9
/// digits and a Luhn check digit; 18 digits for an 8-digit NNS.
///
/// The store allocates account numbers, one per merchant and never two alike (CONTRACT §8), so
/// under one NNS no two merchants share a PAN. The NNS is used as given; [`build`](crate::build)
/// rejects a PAN that is not 16 to 19 digits (an account of [`PAN_ACCOUNTS`] or more, which the
/// store never allocates, would give a longer PAN).
///
/// ```
/// let pan = snapqris_qris::merchant_pan("93600999", 7);
/// assert_eq!(pan, "936009990000000073");
/// ```
pub fn merchant_pan(acquirer_nns: &str, account: u32) -> String {
    let body = format!("{acquirer_nns}{account:09}");
    let check = luhn_check_digit(&body);
    let mut pan = body;
    pan.push(check);
    pan
}

/// The account number earlier versions derived from the merchant id (64-bit FNV-1a of its
/// bytes, mod 10⁹), so that [`merchant_pan`] gives a merchant registered then the PAN it
/// always had.
///
/// Only the upgrade of an old database uses it: two ids can share a derived number (by the
/// birthday bound, likely among 50,000 merchants), and the store then gives the later merchant
/// a fresh number.
///
/// ```
/// let account = snapqris_qris::legacy_account_number("M001");
/// assert_eq!(snapqris_qris::merchant_pan("93600999", account), "936009996867232113");
/// ```
pub fn legacy_account_number(merchant_id: &str) -> u32 {
    (fnv1a(merchant_id.as_bytes()) % u64::from(PAN_ACCOUNTS)) as u32
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
    fn a_pan_is_the_nns_the_zero_padded_account_and_a_luhn_digit() {
        for account in [0, 1, 7, 42, 128_333_851, PAN_ACCOUNTS - 1] {
            let pan = merchant_pan("93600999", account);
            assert_eq!(pan.len(), 18, "{pan}");
            assert!(pan.bytes().all(|b| b.is_ascii_digit()), "{pan}");
            assert!(pan.starts_with("93600999"), "{pan}");
            assert_eq!(pan[8..17].parse::<u32>().unwrap(), account, "{pan}");
            assert!(passes_luhn(&pan), "{pan}");
        }
        assert_eq!(merchant_pan("93600999", 1), "936009990000000016");
        assert_eq!(merchant_pan("12345678", 1), "123456780000000014");
    }

    #[test]
    fn different_accounts_give_different_pans() {
        let pans: std::collections::HashSet<String> = (0..10_000)
            .map(|account| merchant_pan("93600999", account))
            .collect();
        assert_eq!(pans.len(), 10_000);
    }

    #[test]
    fn a_legacy_account_gives_the_pan_earlier_versions_derived() {
        // Stored merchants keep these PANs: a change here would move them.
        assert_eq!(legacy_account_number("M001"), 686_723_211);
        assert_eq!(
            merchant_pan("93600999", legacy_account_number("M001")),
            PAN_M001
        );
        for id in ["M001", "121xxxx", "", "MERCHANT0000001", "x"] {
            assert!(legacy_account_number(id) < PAN_ACCOUNTS);
        }
    }

    #[test]
    fn two_merchant_ids_with_one_legacy_account_are_found_by_brute_force() {
        // Why PANs are allocated now: derived ones collide (issue 13).
        let mut seen = std::collections::HashMap::new();
        let pair = (0..2_000_000_u32)
            .map(|n| format!("M{n}"))
            .find_map(|id| {
                let account = legacy_account_number(&id);
                seen.insert(account, id.clone())
                    .map(|earlier| (earlier, id))
            })
            .expect("a collision among two million ids");
        assert_eq!(pair, (COLLIDING.0.to_owned(), COLLIDING.1.to_owned()));
        assert_eq!(
            legacy_account_number(COLLIDING.0),
            legacy_account_number(COLLIDING.1)
        );
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
    /// The first two ids `M0`, `M1`, … with one legacy account number (128333851).
    const COLLIDING: (&str, &str) = ("M90479", "M321856");
    const NMID_M001: &str = "ID9956686723211";
    const NMID_121XXXX: &str = "ID9939153167473";
}
