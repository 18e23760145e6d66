//! Field newtypes: every `parse` never panics, keeps an accepted value verbatim within its
//! length limit, and an accepted `Amount` prints back to the text it came from.
//!
//! Shared by the fuzz target `fuzz/fuzz_targets/fields.rs` and the corpus replay in `cargo test`
//! (included with `#[path]` by both), so the two can never check different things.

use snapqris_protocol::{
    Amount, ChannelId, ClientId, ExternalId, Mcc, MerchantCity, MerchantId, MerchantName,
    PartnerReferenceNo, PostalCode, TerminalId,
};

macro_rules! check_string_fields {
    ($text:expr, $($ty:ty),+ $(,)?) => {
        $(
            if let Ok(field) = <$ty>::parse($text) {
                assert_eq!(field.as_str(), $text);
                assert!($text.len() <= <$ty>::MAX_LEN);
            }
        )+
    };
}

/// Panics if `data` breaks a property of this target.
pub(crate) fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_string_fields!(
        text,
        ClientId,
        MerchantId,
        ExternalId,
        ChannelId,
        PartnerReferenceNo,
        TerminalId,
        MerchantName,
        MerchantCity,
        Mcc,
        PostalCode,
    );
    if let Ok(amount) = Amount::parse(text) {
        let shown = amount.to_string();
        assert_eq!(Amount::parse(&shown), Ok(amount), "{shown:?}");
        assert_eq!(shown, text);
    }
}
