//! QRIS payloads: the EMVCo merchant-presented QR code in its Indonesian profile.
//!
//! A payload is a run of TLV fields (two-digit tag, two-digit length in characters, value)
//! sealed by a CRC-16/CCITT-FALSE in tag 63. This crate is pure, with no I/O:
//!
//! - [`build`] makes a static or dynamic payload from a [`MerchantProfile`];
//! - [`parse`] validates one into a [`Payload`], or says which tag is wrong in an [`Error`];
//! - [`decode_tlv`] / [`encode_tlv`] and [`crc16`] are the low-level pieces;
//! - [`describe`] and [`tag_name`] explain a payload field by field for a decoder command;
//! - [`merchant_pan`] (from the account number the store allocates), [`derive_sandbox_nmid`]
//!   and [`format_amount`] make values; [`legacy_account_number`] is what earlier versions
//!   derived.
//!
//! # Example
//!
//! ```
//! use snapqris_qris::{Criteria, Initiation, MerchantProfile, build, parse};
//!
//! let profile = MerchantProfile {
//!     acquirer_domain: "ID.CO.SNAPQRIS.WWW".into(),
//!     acquirer_nns: "93600999".into(),
//!     merchant_pan: snapqris_qris::merchant_pan("93600999", 1),
//!     merchant_id: "M001".into(),
//!     criteria: Criteria::Umi,
//!     nmid: snapqris_qris::derive_sandbox_nmid("M001"),
//!     mcc: "5812".into(),
//!     name: "Warung Budi".into(),
//!     city: "Jakarta".into(),
//!     postal_code: "10110".into(),
//! };
//! let dynamic = Initiation::Dynamic { amount_sen: 900_000 };
//! let qr = build(&profile, &dynamic, "10092081", Some("A01"))?;
//!
//! let payload = parse(&qr)?;
//! assert_eq!(payload.amount(), Some("9000"));
//! assert_eq!(payload.initiation(), dynamic);
//! assert_eq!(payload.bill_number(), Some("10092081"));
//!
//! let err = parse(&qr.replace("Warung", "Warong")).unwrap_err();
//! assert!(err.to_string().starts_with("tag 63: crc is"));
//! # Ok::<(), snapqris_qris::Error>(())
//! ```
#![deny(missing_docs)]

mod amount;
mod build;
mod crc;
mod describe;
mod error;
mod merchant;
mod parse;
mod payload;
mod tlv;

pub use crate::{
    amount::format_amount,
    build::build,
    crc::{crc_text, crc16},
    describe::{describe, tag_name},
    error::{Error, ErrorKind},
    merchant::{
        Criteria, MerchantProfile, PAN_ACCOUNTS, derive_sandbox_nmid, legacy_account_number,
        merchant_pan,
    },
    parse::parse,
    payload::{Initiation, Payload},
    tlv::{Field, decode_tlv, encode_tlv, is_template},
};
