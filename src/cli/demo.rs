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
use snapqris_store::{NewMerchant, NewPartner, SignatureMode};
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use time::OffsetDateTime;

const CLIENT_ID: &str = "demo-partner";
const MERCHANT_ID: &str = "DEMO0001";

/// Runs the demo; the store lives in a temporary directory removed on exit.
pub(crate) async fn run() -> anyhow::Result<ExitCode> {
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let url = format!("sqlite://{}", dir.path().join("demo.db").display());
    let store = snapqris_store::connect(&url, &Default::default())
        .await
        .context("cannot create the demo database")?;
    let state = AppState::new(
        ServerConfig::default(),
        store.clone(),
        Arc::new(SystemClock),
    )
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
    say!("partner {CLIENT_ID}: signature hmac, services 47,51,90,93")?;
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
    for (n, amount) in [(1, "9000.00"), (2, "25500.00")] {
        heading(&format!(
            "{}. A dynamic QR of IDR {amount} (service 47)",
            4 + n
        ))?;
        call(
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

/// A step's title.
fn heading(text: &str) -> std::io::Result<()> {
    say!("\n== {text}\n")
}
