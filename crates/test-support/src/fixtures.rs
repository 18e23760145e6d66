//! The records most store tests start from: a partner and a merchant whose details do not
//! matter to the test (change a field with struct update syntax when one does).

use snapqris_protocol::{ClientId, MerchantId, ServiceCode};
use snapqris_store::{NewMerchant, NewPartner, SignatureMode};

/// Partner `client_id` with every service, HMAC signing, secret `secret-of-CLIENT_ID` and a
/// placeholder public key.
///
/// # Panics
///
/// When `client_id` is not a valid client id.
pub fn new_partner(client_id: &str) -> NewPartner {
    NewPartner {
        client_id: ClientId::parse(client_id).expect("a valid client id"),
        public_key_pem: "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n".into(),
        client_secret: format!("secret-of-{client_id}"),
        signature_mode: SignatureMode::Hmac,
        services: ServiceCode::ALL.to_vec(),
    }
}

/// Merchant `merchant_id` of partner `client_id`: "Warung Test" in Jakarta, MCC 5999, UMI.
///
/// # Panics
///
/// When either id is not valid.
pub fn new_merchant(merchant_id: &str, client_id: &str) -> NewMerchant {
    NewMerchant {
        merchant_id: MerchantId::parse(merchant_id).expect("a valid merchant id"),
        client_id: ClientId::parse(client_id).expect("a valid client id"),
        name: "Warung Test".into(),
        city: "Jakarta".into(),
        mcc: "5999".into(),
        postal_code: "10110".into(),
        nmid: "ID1234567890123".into(),
        criteria: "UMI".into(),
    }
}
