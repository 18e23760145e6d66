//! The body of a payment notification (service 52, CONTRACT §6.2), as snapqris sends it and a
//! partner parses it.
//!
//! The body is fixed when the payment or refund commits (the outbox stores its bytes); every
//! attempt sends those bytes again under a fresh signature, so a receiver may dedupe on
//! `additionalInfo.notificationId`.

use crate::amount::Amount;
use crate::jakarta::format_rfc3339_jakarta;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// `{"value":"9000.00","currency":"IDR"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationAmount {
    /// Two decimals.
    pub value: String,
    /// Always `IDR`.
    pub currency: String,
}

impl NotificationAmount {
    /// The amount of `sen` in rupiah.
    pub fn idr(sen: i64) -> Self {
        NotificationAmount {
            value: Amount::from_sen(sen).to_string(),
            currency: "IDR".to_owned(),
        }
    }
}

/// What a notification tells (its `additionalInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationInfo {
    /// Stable across attempts: receivers dedupe on it.
    pub notification_id: String,
    /// `payment` or `refund`.
    pub event_type: String,
    /// The payment the event is about.
    pub payment_id: String,
    /// The QR's merchant.
    pub merchant_id: String,
    /// The QR's terminal, when it has one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub terminal_id: Option<String>,
    /// When the payment was made, `+07:00`.
    pub paid_time: String,
    /// The payer's issuer, when it said.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub issuer_name: Option<String>,
    /// The paying customer, when the payer said.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub customer_name: Option<String>,
    /// The retrieval reference number, when the payer said.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rrn: Option<String>,
    /// A refund's number (refunds only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub refund_no: Option<String>,
    /// The partner's refund reference (refunds only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub partner_refund_no: Option<String>,
    /// How much this refund gave back (refunds only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub refund_amount: Option<NotificationAmount>,
    /// When the refund was made, `+07:00` (refunds only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub refund_time: Option<String>,
}

/// A notification's body: the QR, its status as query (51) would answer right after the
/// event, the payment's amount, and what happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationBody {
    /// The QR's `id_qr`.
    pub original_reference_no: String,
    /// The partner's generate reference.
    pub original_partner_reference_no: String,
    /// `00` after a payment; `04` once refunds reach the paid amount.
    pub latest_transaction_status: String,
    /// `Success` or `Refunded`.
    pub transaction_status_desc: String,
    /// The payment's amount.
    pub amount: NotificationAmount,
    /// What happened.
    pub additional_info: NotificationInfo,
}

/// The transaction status a notification reports: `("04", "Refunded")` once `refunded_sen`
/// reaches `paid_sen`, else `("00", "Success")`.
pub fn notified_status(paid_sen: i64, refunded_sen: i64) -> (&'static str, &'static str) {
    if refunded_sen > 0 && refunded_sen >= paid_sen {
        ("04", "Refunded")
    } else {
        ("00", "Success")
    }
}

impl NotificationBody {
    /// The compact JSON bytes sent.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a notification body always serializes")
    }
}

/// `t` as the notification's times are written (`yyyy-MM-ddTHH:mm:ss+07:00`).
pub fn notification_time(t: OffsetDateTime) -> String {
    format_rfc3339_jakarta(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_compact_camel_case_json_without_absent_fields() {
        let body = NotificationBody {
            original_reference_no: "17".into(),
            original_partner_reference_no: "ref-1".into(),
            latest_transaction_status: "00".into(),
            transaction_status_desc: "Success".into(),
            amount: NotificationAmount::idr(900_000),
            additional_info: NotificationInfo {
                notification_id: "21".into(),
                event_type: "payment".into(),
                payment_id: "19".into(),
                merchant_id: "M1".into(),
                terminal_id: None,
                paid_time: notification_time(OffsetDateTime::UNIX_EPOCH),
                issuer_name: Some("Bank".into()),
                customer_name: None,
                rrn: None,
                refund_no: None,
                partner_refund_no: None,
                refund_amount: None,
                refund_time: None,
            },
        };
        let json = body.to_json();
        assert_eq!(
            json,
            r#"{"originalReferenceNo":"17","originalPartnerReferenceNo":"ref-1","latestTransactionStatus":"00","transactionStatusDesc":"Success","amount":{"value":"9000.00","currency":"IDR"},"additionalInfo":{"notificationId":"21","eventType":"payment","paymentId":"19","merchantId":"M1","paidTime":"1970-01-01T07:00:00+07:00","issuerName":"Bank"}}"#
        );
        assert_eq!(
            serde_json::from_str::<NotificationBody>(&json).unwrap(),
            body
        );
    }

    #[test]
    fn the_status_turns_refunded_only_when_refunds_reach_the_payment() {
        assert_eq!(notified_status(100, 0), ("00", "Success"));
        assert_eq!(notified_status(100, 99), ("00", "Success"));
        assert_eq!(notified_status(100, 100), ("04", "Refunded"));
    }
}
