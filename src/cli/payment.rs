//! `admin qr pay`: payment simulation for sandboxes (a payer's bank would do this for real).

use crate::cli::args::AdminQrCommand;
use crate::cli::show::say;
use anyhow::{Context, anyhow};
use snapqris_protocol::{Amount, format_rfc3339_jakarta};
use snapqris_store::{PaymentRefusal, QrCode, Store, lease_node};
use std::sync::Arc;
use time::OffsetDateTime;

/// Runs one `admin qr …` command on an open store.
pub(crate) async fn run(store: Arc<dyn Store>, command: AdminQrCommand) -> anyhow::Result<()> {
    match command {
        AdminQrCommand::Pay { id_qr, amount } => pay(store, &id_qr, amount.as_deref()).await,
    }
}

/// Fresh payment and notification ids: from the same node-leased generator as `id_qr` (unique across every
/// node), under a lease held just long enough to draw it.
async fn new_payment_ids(
    store: &Arc<dyn Store>,
    now: OffsetDateTime,
) -> anyhow::Result<(i64, i64)> {
    let lease = lease_node(store.clone())
        .await
        .context("cannot lease a node number for the payment id")?;
    let ids = store
        .next_qr_id(now)
        .and_then(|payment| Ok((payment, store.next_qr_id(now)?)));
    lease
        .release()
        .await
        .context("cannot release the node number")?;
    ids.context("cannot draw a payment id")
}

/// Marks the QR paid now, or explains in one line why it cannot be.
async fn pay(store: Arc<dyn Store>, id_text: &str, amount: Option<&str>) -> anyhow::Result<()> {
    let id_qr = parse_id(id_text)?;
    let amount = amount.map(parse_amount).transpose()?;
    let now = OffsetDateTime::now_utc();
    let (payment_id, notification_id) = new_payment_ids(&store, now).await?;
    let outcome = store
        .record_payment(snapqris_store::SandboxPayment {
            id_qr,
            amount_sen: amount.map(Amount::sen),
            payment_id,
            notification_id,
            at: now,
        })
        .await
        .context("cannot record the payment")?;
    match outcome {
        Ok(payment) => {
            say!(
                "paid: id_qr {id_qr} payment {} amount {} at {}",
                payment.payment_id,
                Amount::from_sen(payment.amount_sen),
                format_rfc3339_jakarta(payment.paid_at)
            )?;
            Ok(())
        }
        Err(refusal) => {
            // Only for the message: the refusal itself was decided atomically by the store.
            let qr = match refusal {
                PaymentRefusal::NotFound => None,
                _ => store.qr(id_qr).await.ok().flatten(),
            };
            Err(anyhow!(refusal_message(
                id_qr,
                refusal,
                qr.as_ref(),
                amount
            )))
        }
    }
}

/// A QR id: a positive whole number.
fn parse_id(text: &str) -> anyhow::Result<i64> {
    crate::cli::parse_positive_id(text, "id_qr")
}

/// A paid amount: two decimals, more than zero.
fn parse_amount(text: &str) -> anyhow::Result<Amount> {
    let amount = Amount::parse(text)
        .map_err(|_| anyhow!("amount {text:?} must be digits with two decimals, e.g. 9000.00"))?;
    if amount.sen() <= 0 {
        return Err(anyhow!("amount {text:?} must be more than 0.00"));
    }
    Ok(amount)
}

/// The operator's one line for a refused payment.
fn refusal_message(
    id_qr: i64,
    refusal: PaymentRefusal,
    qr: Option<&QrCode>,
    amount: Option<Amount>,
) -> String {
    match refusal {
        PaymentRefusal::NotFound => format!("no QR with id_qr {id_qr}"),
        PaymentRefusal::AlreadyPaid => match qr.and_then(|qr| qr.paid_at) {
            Some(at) => format!(
                "QR {id_qr} is dynamic and already paid (at {}); it is paid once only",
                format_rfc3339_jakarta(at)
            ),
            None => format!("QR {id_qr} is dynamic and already paid; it is paid once only"),
        },
        PaymentRefusal::Expired => match qr.and_then(|qr| qr.cancelled_at.or(qr.expires_at)) {
            Some(at) => format!(
                "QR {id_qr} expired at {}; it can no longer be paid",
                format_rfc3339_jakarta(at)
            ),
            None => format!("QR {id_qr} expired; it can no longer be paid"),
        },
        PaymentRefusal::AmountRequired => format!(
            "QR {id_qr} is static: give the amount paid with --amount, e.g. --amount 9000.00"
        ),
        PaymentRefusal::AmountMismatch => {
            let given = amount.map(|a| a.to_string()).unwrap_or_default();
            match qr.and_then(|qr| qr.amount_sen) {
                Some(own) => format!(
                    "QR {id_qr} is for {}, not {given}: a dynamic QR is paid its own amount",
                    Amount::from_sen(own)
                ),
                None => format!("QR {id_qr} is not for {given}"),
            }
        }
    }
}
