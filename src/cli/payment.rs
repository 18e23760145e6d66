//! `admin qr pay`: payment simulation for sandboxes (a payer's bank would do this for real).

use crate::cli::args::AdminQrCommand;
use crate::cli::show::say;
use anyhow::{Context, anyhow};
use snapqris_protocol::{Amount, format_rfc3339_jakarta};
use snapqris_store::{PaymentRefusal, QrCode, Store};
use time::OffsetDateTime;

/// Runs one `admin qr …` command on an open store.
pub(crate) async fn run(store: &dyn Store, command: AdminQrCommand) -> anyhow::Result<()> {
    match command {
        AdminQrCommand::Pay { id_qr, amount } => pay(store, &id_qr, amount.as_deref()).await,
    }
}

/// Marks the QR paid now, or explains in one line why it cannot be.
async fn pay(store: &dyn Store, id_text: &str, amount: Option<&str>) -> anyhow::Result<()> {
    let id_qr = parse_id(id_text)?;
    let amount = amount.map(parse_amount).transpose()?;
    let now = OffsetDateTime::now_utc();
    let outcome = store
        .record_payment(id_qr, amount.map(Amount::sen), now)
        .await
        .context("cannot record the payment")?;
    match outcome {
        Ok(qr) => {
            let paid = qr.paid_amount_sen.or(amount.map(Amount::sen)).unwrap_or(0);
            say!(
                "paid: id_qr {id_qr} amount {} at {}",
                Amount::from_sen(paid),
                format_rfc3339_jakarta(qr.paid_at.unwrap_or(now))
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
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| anyhow!("id_qr {text:?} must be a positive whole number"))
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
