//! The records the store keeps, as plain data.

use snapqris_protocol::{ClientId, ExternalId, JakartaDate, MerchantId, ServiceCode};
use time::OffsetDateTime;

/// How a partner signs transaction requests (CONTRACT §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureMode {
    /// HMAC-SHA512 keyed with the client secret, over a string that includes the token.
    Hmac,
    /// SHA256withRSA with the partner's private key; the token is optional.
    Rsa,
}

impl SignatureMode {
    /// The spelling used on the command line and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureMode::Hmac => "hmac",
            SignatureMode::Rsa => "rsa",
        }
    }

    /// Parses `hmac` or `rsa`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "hmac" => Some(SignatureMode::Hmac),
            "rsa" => Some(SignatureMode::Rsa),
            _ => None,
        }
    }
}

/// A partner to register.
#[derive(Clone)]
pub struct NewPartner {
    /// The partner's client id (`X-CLIENT-KEY`, `X-PARTNER-ID`).
    pub client_id: ClientId,
    /// The partner's RSA public key as SPKI PEM.
    pub public_key_pem: String,
    /// The shared secret for HMAC transaction signatures.
    pub client_secret: String,
    /// How the partner signs transactions.
    pub signature_mode: SignatureMode,
    /// The transaction services the partner may call.
    pub services: Vec<ServiceCode>,
}

/// A registered partner.
#[derive(Clone)]
pub struct Partner {
    /// The partner's client id.
    pub client_id: String,
    /// The partner's RSA public key as SPKI PEM.
    pub public_key_pem: String,
    /// The shared secret for HMAC transaction signatures.
    pub client_secret: String,
    /// How the partner signs transactions.
    pub signature_mode: SignatureMode,
    /// The transaction services the partner may call.
    pub services: Vec<ServiceCode>,
    /// Whether the partner may take tokens and call services.
    pub enabled: bool,
    /// Where its payment notifications go (CONTRACT §6.2); none: they are held.
    pub callback_url: Option<String>,
    /// When the partner was registered.
    pub created_at: OffsetDateTime,
}

/// A sandbox payment (`admin qr pay`): which QR, for how much (`None`: a dynamic QR's own
/// amount), under which new payment id, when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxPayment {
    /// The QR paid.
    pub id_qr: i64,
    /// The amount, in sen (required for a static QR; a dynamic one's own amount or `None`).
    pub amount_sen: Option<i64>,
    /// The new payment's id (from the node-leased generator).
    pub payment_id: i64,
    /// The id of its notification (from the same generator).
    pub notification_id: i64,
    /// When it is paid.
    pub at: OffsetDateTime,
}

/// One change to a partner's record.
#[derive(Clone)]
pub enum PartnerChange {
    /// Enabled (`true`) or disabled.
    Enabled(bool),
    /// A new public key (SPKI PEM).
    PublicKey(String),
    /// A new client secret.
    ClientSecret(String),
    /// The service codes the partner may call from now on.
    Services(Vec<ServiceCode>),
    /// The notification base URL (checked by the caller), or none.
    CallbackUrl(Option<String>),
}

// Hand-written so that a logged change never prints a client secret.
impl std::fmt::Debug for PartnerChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PartnerChange::Enabled(enabled) => write!(f, "Enabled({enabled})"),
            PartnerChange::PublicKey(_) => f.write_str("PublicKey(..)"),
            PartnerChange::ClientSecret(_) => f.write_str("ClientSecret(***)"),
            PartnerChange::Services(services) => write!(f, "Services({services:?})"),
            PartnerChange::CallbackUrl(url) => write!(f, "CallbackUrl({url:?})"),
        }
    }
}

/// A merchant to register.
#[derive(Debug, Clone)]
pub struct NewMerchant {
    /// The merchant id, unique across the deployment.
    pub merchant_id: MerchantId,
    /// The partner that owns the merchant.
    pub client_id: ClientId,
    /// Merchant name (QR tag 59).
    pub name: String,
    /// Merchant city (QR tag 60).
    pub city: String,
    /// Merchant category code (QR tag 52).
    pub mcc: String,
    /// Postal code (QR tag 61).
    pub postal_code: String,
    /// National merchant id (QR tag 51).
    pub nmid: String,
    /// QRIS merchant criteria (`UMI`, `UKE`, `UME`, `UBE`, `URE`).
    pub criteria: String,
}

/// Why and since when a merchant is blacklisted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blacklisting {
    /// The operator's reason, if one was given.
    pub reason: Option<String>,
    /// When the merchant was blacklisted.
    pub since: OffsetDateTime,
}

/// A registered merchant.
#[derive(Debug, Clone)]
pub struct Merchant {
    /// The merchant id.
    pub merchant_id: String,
    /// The owning partner's client id.
    pub client_id: String,
    /// Merchant name (QR tag 59).
    pub name: String,
    /// Merchant city (QR tag 60).
    pub city: String,
    /// Merchant category code (QR tag 52).
    pub mcc: String,
    /// Postal code (QR tag 61).
    pub postal_code: String,
    /// National merchant id (QR tag 51).
    pub nmid: String,
    /// QRIS merchant criteria.
    pub criteria: String,
    /// The merchant's PAN account number, below 10⁹, allocated by the store and never the same
    /// for two merchants: its PAN (tag 26.01) is `snapqris_qris::merchant_pan(nns, pan_account)`.
    pub pan_account: u32,
    /// Set while the merchant is blacklisted.
    pub blacklisted: Option<Blacklisting>,
    /// When the merchant was registered.
    pub created_at: OffsetDateTime,
}

/// Static (reusable, amount typed by the payer) or dynamic (one amount, expires).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QrKind {
    /// Tag 01 = `11`.
    Static,
    /// Tag 01 = `12`.
    Dynamic,
}

impl QrKind {
    /// `static` or `dynamic`, as listed by service 90.
    pub fn as_str(self) -> &'static str {
        match self {
            QrKind::Static => "static",
            QrKind::Dynamic => "dynamic",
        }
    }

    /// Parses `static` or `dynamic`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "static" => Some(QrKind::Static),
            "dynamic" => Some(QrKind::Dynamic),
            _ => None,
        }
    }
}

/// A generated QR to store.
#[derive(Debug, Clone)]
pub struct NewQr {
    /// The id from [`crate::Store::next_qr_id`], also written into the payload's bill number.
    pub id_qr: i64,
    /// The merchant the QR belongs to.
    pub merchant_id: MerchantId,
    /// The partner that generated it.
    pub client_id: ClientId,
    /// The partner's own reference, unique per merchant.
    pub partner_reference_no: String,
    /// Static or dynamic.
    pub kind: QrKind,
    /// The amount in sen (dynamic only).
    pub amount_sen: Option<i64>,
    /// The terminal label, if given.
    pub terminal_id: Option<String>,
    /// Server time of the generate request.
    pub generated_at: OffsetDateTime,
    /// The end of a dynamic QR's validity.
    pub expires_at: Option<OffsetDateTime>,
    /// The QRIS payload.
    pub qr_content: String,
}

/// One stored QR, as service 51 reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrCode {
    /// The QR id (`referenceNo`, `id_qr`).
    pub id_qr: i64,
    /// The merchant the QR belongs to.
    pub merchant_id: String,
    /// The partner that generated it.
    pub client_id: String,
    /// The partner's reference.
    pub partner_reference_no: String,
    /// Static or dynamic.
    pub kind: QrKind,
    /// The amount in sen (dynamic only).
    pub amount_sen: Option<i64>,
    /// The terminal label.
    pub terminal_id: Option<String>,
    /// When it was generated (server clock).
    pub generated_at: OffsetDateTime,
    /// When it stops (or stopped) being payable; dynamic only.
    pub expires_at: Option<OffsetDateTime>,
    /// Set when service 93 expired it or service 77 cancelled it.
    pub cancelled_at: Option<OffsetDateTime>,
    /// Why service 77 cancelled it (set only then: a QR expired by 93 has none).
    pub cancel_reason: Option<String>,
    /// The QRIS payload.
    pub qr_content: String,
    /// The latest payment's time.
    pub paid_at: Option<OffsetDateTime>,
    /// The latest payment's amount in sen.
    pub paid_amount_sen: Option<i64>,
    /// How many payments it received.
    pub payment_count: i64,
    /// The latest payment's id.
    pub latest_payment_id: Option<i64>,
    /// The sum refunded of the latest payment, in sen (none before the first payment).
    pub latest_refunded_sen: Option<i64>,
}

/// One item of a Generate List answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrSummary {
    /// The QR id.
    pub id_qr: i64,
    /// Static or dynamic.
    pub kind: QrKind,
    /// When it was generated.
    pub generated_at: OffsetDateTime,
    /// When it expires or expired (dynamic only).
    pub expires_at: Option<OffsetDateTime>,
    /// The amount in sen (dynamic only).
    pub amount_sen: Option<i64>,
}

/// The outcome of claiming an `X-EXTERNAL-ID`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This request is the first to use the id on that day.
    Claimed,
    /// The id was already used by the partner on that day.
    AlreadyUsed,
}

/// What identifies an `X-EXTERNAL-ID` claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalIdKey {
    /// The partner.
    pub client_id: ClientId,
    /// The Jakarta day of the request (server clock).
    pub day: JakartaDate,
    /// The id.
    pub external_id: ExternalId,
}

/// The outcome of expiring a QR by bill number (service 93).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpireOutcome {
    /// The QR now expires at the given moment.
    Expired,
    /// The merchant has no QR with that id.
    NotFound,
    /// The QR is static, paid, or already expired.
    InvalidStatus,
}

impl ExpireOutcome {
    /// The outcome of the conditional expiry: it changed the row, or the QR exists (but may not
    /// be expired) or does not.
    pub(crate) fn from_update(updated: bool, exists: bool) -> ExpireOutcome {
        match (updated, exists) {
            (true, _) => ExpireOutcome::Expired,
            (false, true) => ExpireOutcome::InvalidStatus,
            (false, false) => ExpireOutcome::NotFound,
        }
    }
}

/// Why a payment could not be recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentRefusal {
    /// No QR has that id (or, for service 50, that payload).
    NotFound,
    /// A dynamic QR is paid once only.
    AlreadyPaid,
    /// The dynamic QR expired (by time or by service 93).
    Expired,
    /// A static QR needs the amount the payer typed.
    AmountRequired,
    /// A dynamic QR is paid its own amount, no other.
    AmountMismatch,
}

/// What the payer's institution said about the payment (service 50's `additionalInfo`), kept
/// to echo into the notification.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PayerDetails {
    /// The issuer's name.
    pub issuer_name: Option<String>,
    /// The paying customer's name.
    pub customer_name: Option<String>,
    /// The retrieval reference number.
    pub rrn: Option<String>,
}

/// One payment of a QR (CONTRACT §6.1): a dynamic QR has one at most, a static QR any number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// The payment's id (`referenceNo` of service 50), from the node-leased id generator.
    pub payment_id: i64,
    /// The QR paid.
    pub id_qr: i64,
    /// The QR's merchant.
    pub merchant_id: String,
    /// The partner that reported the payment.
    pub payer_client_id: String,
    /// The payer's reference, unique per payer.
    pub partner_reference_no: String,
    /// The amount paid, in sen.
    pub amount_sen: i64,
    /// When it was paid (server clock).
    pub paid_at: OffsetDateTime,
    /// What the payer said about it.
    pub details: PayerDetails,
}

/// The outcome of [`RecordPayment`](crate::RecordPayment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// The payment is made.
    Paid(Payment),
    /// The payer's reference made this payment already, with the same payload and amount.
    Repeated(Payment),
    /// The payer's reference made a payment already, of another payload or amount.
    Inconsistent,
    /// The QR's merchant is blacklisted.
    MerchantBlacklisted,
    /// Refused by the payment rules.
    Refused(PaymentRefusal),
}

/// Which QR of a merchant a refund or a cancel names (CONTRACT §6.3, §6.4): its `id_qr`
/// (and, when also given, a `partnerReferenceNo` that must be its own), or its generate
/// reference alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QrReference {
    /// By `originalReferenceNo`, optionally checked against `originalPartnerReferenceNo`.
    Id {
        /// The QR's `id_qr`.
        id_qr: i64,
        /// The QR's generate reference, when the partner sent it too.
        partner_reference_no: Option<String>,
    },
    /// By `originalPartnerReferenceNo` alone.
    PartnerReference(String),
}

impl QrReference {
    /// Whether the QR of `id_qr` and generate reference `partner_reference_no` is the one named.
    pub fn names(&self, id_qr: i64, partner_reference_no: &str) -> bool {
        match self {
            QrReference::Id {
                id_qr: named,
                partner_reference_no: reference,
            } => {
                *named == id_qr
                    && reference
                        .as_deref()
                        .is_none_or(|reference| reference == partner_reference_no)
            }
            QrReference::PartnerReference(reference) => reference == partner_reference_no,
        }
    }
}

/// One refund of a payment (CONTRACT §6.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    /// The refund's id (`refundNo`), from the node-leased id generator.
    pub refund_no: i64,
    /// The payment refunded.
    pub payment_id: i64,
    /// The QR that payment paid.
    pub id_qr: i64,
    /// The QR's generate reference (`originalPartnerReferenceNo`).
    pub qr_partner_reference_no: String,
    /// The QR's merchant.
    pub merchant_id: String,
    /// The partner that asked for the refund (the QR's merchant's partner).
    pub client_id: String,
    /// The partner's refund reference, unique per partner.
    pub partner_refund_no: String,
    /// The amount refunded, in sen.
    pub amount_sen: i64,
    /// The partner's reason, if given.
    pub reason: Option<String>,
    /// When it was refunded (server clock).
    pub refunded_at: OffsetDateTime,
}

/// Why a refund was refused (CONTRACT §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundRefusal {
    /// The merchant has no such QR, or the QR no such payment (`4047801`).
    NotFound,
    /// The QR has no payment (`4047800`).
    NotPaid,
    /// The QR has several payments and the request named none (`4007802`).
    PaymentIdRequired,
    /// The payment is older than `refund-window` (`4037815`).
    OutsideWindow,
    /// The refund would take the payment's refunds past its amount (`4037802`).
    ExceedsAmount,
}

/// The outcome of [`RefundPayment`](crate::RefundPayment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundOutcome {
    /// The refund is made.
    Refunded(Refund),
    /// The partner's refund reference made this refund already, of the same QR, payment and
    /// amount.
    Repeated(Refund),
    /// The partner's refund reference made a refund already, of another QR, payment or amount.
    Inconsistent,
    /// Refused by the refund rules.
    Refused(RefundRefusal),
}

/// The outcome of [`CancelQr`](crate::CancelQr).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelOutcome {
    /// The QR is cancelled now; it is the QR as it was before.
    Cancelled(Box<QrCode>),
    /// The merchant has no such QR (`4047701`).
    NotFound,
    /// The QR is static, paid, expired or cancelled already (`4047700`).
    InvalidStatus,
}

// Hand-written so that a `?partner` in a log line can never print the client secret.
impl std::fmt::Debug for NewPartner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewPartner")
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .field("signature_mode", &self.signature_mode)
            .field("services", &self.services)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Partner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Partner")
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .field("signature_mode", &self.signature_mode)
            .field("services", &self.services)
            .field("enabled", &self.enabled)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partner_debug_print_hides_the_client_secret() {
        let partner = Partner {
            client_id: "p".into(),
            public_key_pem: String::new(),
            client_secret: "very-secret".into(),
            signature_mode: SignatureMode::Hmac,
            services: vec![],
            enabled: true,
            callback_url: None,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
        };
        assert!(!format!("{partner:?}").contains("very-secret"));
    }
}
