//! `demo`: the whole story on a throw-away SQLite store, every request and answer printed.

use crate::cli::admin::fresh_secret;
use crate::cli::show;
use crate::cli::show::say;
use anyhow::{Context, bail};
use serde_json::{Value, json};
use snapqris_client::{PartnerSession, PreparedRequest, Response, TransactionAuth};
use snapqris_protocol::{ClientId, JakartaDate, MerchantId, RsaPrivateKey, ServiceCode};
use snapqris_qris::derive_sandbox_nmid;
use snapqris_server::{AppState, ServerConfig, SystemClock};
use snapqris_store::{NewMerchant, NewPartner, PartnerChange, SignatureMode, Store};
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

const CLIENT_ID: &str = "demo-partner";
const MERCHANT_ID: &str = "DEMO0001";
const PAYER_ID: &str = "demo-bank";

/// Runs the demo; the store lives in a temporary directory removed on exit.
pub(crate) async fn run() -> anyhow::Result<ExitCode> {
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let url = format!("sqlite://{}", dir.path().join("demo.db").display());
    let store = snapqris_store::connect(&url, &Default::default())
        .await
        .context("cannot create the demo database")?;
    // The partner's receiver listens on loopback, which only this setting lets attempts reach.
    let config = ServerConfig {
        notify_allow_private_networks: true,
        ..ServerConfig::default()
    };
    let state = AppState::new(config, store.clone(), Arc::new(SystemClock))
        .await
        .context("cannot prepare the server state")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot listen on 127.0.0.1")?;
    let address = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(snapqris_server::serve(listener, state, async {
        let _ = stopped.await;
    }));
    let base_url = format!("http://{address}");
    heading(&format!(
        "1. The server listens on {base_url} (store: {url})"
    ))?;

    let key = RsaPrivateKey::generate().context("cannot generate an RSA key")?;
    let secret = fresh_secret()?;
    let now = OffsetDateTime::now_utc();
    store
        .add_partner(
            &NewPartner {
                client_id: ClientId::parse(CLIENT_ID)?,
                public_key_pem: key.public_key().to_spki_pem(),
                client_secret: secret.clone(),
                signature_mode: SignatureMode::Hmac,
                services: crate::cli::args::DEFAULT_SERVICES.to_vec(),
            },
            now,
        )
        .await
        .context("cannot register the demo partner")?;
    store
        .add_merchant(
            &NewMerchant {
                merchant_id: MerchantId::parse(MERCHANT_ID)?,
                client_id: ClientId::parse(CLIENT_ID)?,
                name: "Warung Demo".into(),
                city: "Jakarta".into(),
                mcc: "5812".into(),
                postal_code: "10110".into(),
                nmid: derive_sandbox_nmid(MERCHANT_ID),
                criteria: "UMI".into(),
            },
            now,
        )
        .await
        .context("cannot register the demo merchant")?;
    heading("2. An operator registers a partner (fresh RSA-2048 key pair, hmac) and a merchant")?;
    say!("partner {CLIENT_ID}: signature hmac, services 47,51,77,78,90,93")?;
    say!("client-secret: {secret}")?;
    say!("merchant {MERCHANT_ID}: Warung Demo, Jakarta, MCC 5812, criteria UMI")?;

    let mut session = PartnerSession::new(
        &base_url,
        CLIENT_ID,
        key,
        TransactionAuth::Hmac {
            client_secret: secret,
        },
    )?;
    heading("3. The partner takes a B2B access token (service 73)")?;
    let (request, response) = session.take_token().await?;
    exchange(&request, &response)?;

    heading("4. A static QR (service 47, no amount)")?;
    let static_qr = call(
        &session,
        ServiceCode::GenerateQr.path(),
        &json!({"partnerReferenceNo": "demo-static-1", "merchantId": MERCHANT_ID, "terminalId": "A01"}),
    )
    .await?;
    let mut dynamic_qrs = Vec::new();
    for (n, amount) in [(1, "9000.00"), (2, "25500.00")] {
        heading(&format!(
            "{}. A dynamic QR of IDR {amount} (service 47)",
            4 + n
        ))?;
        let answer = call(
            &session,
            ServiceCode::GenerateQr.path(),
            &json!({
                "partnerReferenceNo": format!("demo-dynamic-{n}"),
                "merchantId": MERCHANT_ID,
                "amount": {"value": amount, "currency": "IDR"},
                "terminalId": "A01",
            }),
        )
        .await?;
        dynamic_qrs.push(answer);
    }
    let today = JakartaDate::of_instant(OffsetDateTime::now_utc());
    heading(&format!("7. Today's QRs of {MERCHANT_ID} (service 90)"))?;
    call(
        &session,
        ServiceCode::GenerateList.path(),
        &json!({"dateGenerate": today.to_string(), "additionalInfo": {"merchantId": MERCHANT_ID}}),
    )
    .await?;

    heading("8. The static QR, as a payer's app would scan it")?;
    let content = static_qr
        .get("qrContent")
        .and_then(Value::as_str)
        .context("the static QR answer carries no qrContent")?;
    say!("{content}")?;
    say!("{}", snapqris_qrimage::render_terminal(content)?)?;

    let mut notifications = receive_notifications(&*store).await?;
    let payer = register_payer(&*store, &base_url).await?;
    heading("10. A payer's bank reports a payment of the first dynamic QR (service 50)")?;
    let qr_content = dynamic_qrs[0]["qrContent"]
        .as_str()
        .context("the dynamic QR answer carries no qrContent")?;
    call(
        &payer,
        ServiceCode::Payment.path(),
        &json!({
            "partnerReferenceNo": "demo-payment-1",
            "qrContent": qr_content,
            "additionalInfo": {"issuerName": "Bank Demo", "customerName": "Budi"},
        }),
    )
    .await?;
    heading("11. The partner's receiver gets the signed payment notification (service 52)")?;
    notifications.next("payment").await?;
    heading("12. The partner refunds IDR 4000.00 of that payment (service 78)")?;
    call(
        &session,
        ServiceCode::Refund.path(),
        &json!({
            "merchantId": MERCHANT_ID,
            "originalReferenceNo": dynamic_qrs[0]["referenceNo"],
            "partnerRefundNo": "demo-refund-1",
            "refundAmount": {"value": "4000.00", "currency": "IDR"},
            "reason": "One item returned",
        }),
    )
    .await?;
    heading(
        "13. The receiver gets the refund's notification (after the payment's: order per payment)",
    )?;
    notifications.next("refund").await?;

    let _ = stop.send(());
    server
        .await
        .context("the demo server panicked")?
        .context("the demo server failed")?;
    drop(dir);
    Ok(ExitCode::SUCCESS)
}

/// Sends a transaction, prints both sides, and insists on a 2xx.
async fn call(session: &PartnerSession, path: &str, body: &Value) -> anyhow::Result<Value> {
    let (request, response) = session.call(path, body).await?;
    exchange(&request, &response)?;
    response.json().context("the answer is not JSON")
}

/// Prints a request and its answer; a non-2xx ends the demo.
fn exchange(request: &PreparedRequest, response: &Response) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    show::request(&mut out, request)?;
    writeln!(out)?;
    show::response(&mut out, response)?;
    if !(200..300).contains(&response.status) {
        bail!("the demo expected a 2xx, got HTTP {}", response.status);
    }
    Ok(())
}

/// Starts the partner's receiver (what `snapqris notify listen` runs), trusting the
/// deployment's notification key, and points the partner's callback URL at it.
async fn receive_notifications(store: &dyn Store) -> anyhow::Result<Notifications> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot listen on 127.0.0.1 for the receiver")?;
    let url = format!("http://{}", listener.local_addr()?);
    let key = snapqris_server::notification_key(store).await?.public_key();
    let (sender, received) = tokio::sync::mpsc::unbounded_channel();
    let receiver = tokio::spawn(crate::cli::notify::receive_on(
        listener,
        Arc::from(vec![key]),
        Some(sender),
    ));
    let change = PartnerChange::CallbackUrl(Some(url.clone()));
    store
        .update_partner(CLIENT_ID, change, OffsetDateTime::now_utc())
        .await
        .context("cannot set the partner's callback URL")?;
    heading(
        "9. The partner runs its notification receiver; the operator points the partner at it",
    )?;
    say!(
        "$ snapqris notify listen --public-key notification-public.pem   (key: admin notify key)"
    )?;
    say!("listening on {url}")?;
    say!("$ snapqris admin partner set-callback {CLIENT_ID} --url {url}")?;
    Ok(Notifications { received, receiver })
}

/// The verified notifications the demo's receiver printed.
struct Notifications {
    received: tokio::sync::mpsc::UnboundedReceiver<Value>,
    receiver: tokio::task::JoinHandle<anyhow::Result<ExitCode>>,
}

impl Notifications {
    /// Waits for the next notification, prints the receiver's line for it and insists that it
    /// verified and tells of `event`.
    async fn next(&mut self, event: &str) -> anyhow::Result<Value> {
        let line = tokio::time::timeout(Duration::from_secs(15), self.received.recv())
            .await
            .context("no notification arrived within 15 s")?
            .context("the receiver stopped")?;
        say!("{line}")?;
        if let Some(why) = line.get("refused") {
            bail!("the receiver refused the notification: {why}");
        }
        let body = &line["body"];
        if body["additionalInfo"]["eventType"] != event {
            bail!("expected a {event} notification, got {body}");
        }
        say!("\n(verified: X-SIGNATURE over the raw body, with the key of `admin notify key`)")?;
        say!("{}", serde_json::to_string_pretty(body)?)?;
        Ok(body.clone())
    }
}

impl Drop for Notifications {
    fn drop(&mut self) {
        self.receiver.abort();
    }
}

/// Registers the payer institution `demo-bank` (granted service 50 only) and takes its token.
async fn register_payer(store: &dyn Store, base_url: &str) -> anyhow::Result<PartnerSession> {
    let key = RsaPrivateKey::generate().context("cannot generate an RSA key")?;
    let secret = fresh_secret()?;
    store
        .add_partner(
            &NewPartner {
                client_id: ClientId::parse(PAYER_ID)?,
                public_key_pem: key.public_key().to_spki_pem(),
                client_secret: secret.clone(),
                signature_mode: SignatureMode::Hmac,
                services: vec![ServiceCode::Payment],
            },
            OffsetDateTime::now_utc(),
        )
        .await
        .context("cannot register the payer")?;
    let mut session = PartnerSession::new(
        base_url,
        PAYER_ID,
        key,
        TransactionAuth::Hmac {
            client_secret: secret,
        },
    )?;
    let (_, response) = session.take_token().await?;
    if session.token().is_none() {
        bail!("the payer got no token: HTTP {}", response.status);
    }
    say!("\n(an operator registered the payer {PAYER_ID}, granted service 50 only)")?;
    Ok(session)
}

/// A step's title.
fn heading(text: &str) -> std::io::Result<()> {
    say!("\n== {text}\n")
}
