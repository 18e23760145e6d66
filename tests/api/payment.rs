//! Service 50, QR MPM payment (CONTRACT §6.1): a payer partner reports a payment of one of our
//! QRs by its payload as scanned.

use crate::support::*;
use serde_json::{Value, json};
use snapqris_client::{PartnerSession, Response, TransactionAuth};
use snapqris_protocol::ServiceCode;
use snapqris_store::SignatureMode;

fn content_of(generated: &Response) -> String {
    let body = generated.json().unwrap();
    assert_eq!(body["responseCode"], "2004700", "{body}");
    body["qrContent"].as_str().unwrap().to_owned()
}

fn id_of(generated: &Response) -> String {
    generated.json().unwrap()["referenceNo"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn payment(reference: &str, qr_content: &str, amount: Option<&str>) -> Value {
    let mut body = json!({
        "partnerReferenceNo": reference,
        "qrContent": qr_content,
        "additionalInfo": {"issuerName": "Bank Payer", "rrn": "123456789012"}
    });
    if let Some(value) = amount {
        body["amount"] = json!({"value": value, "currency": "IDR"});
    }
    body
}

/// A partner granted `services`, with a token: not the merchant's owner.
async fn payer(app: &TestApp, client_id: &str, services: &[ServiceCode]) -> PartnerSession {
    let secret = format!("secret-of-{client_id}");
    add_partner(
        &*app.store,
        client_id,
        &secret,
        SignatureMode::Hmac,
        services,
    )
    .await;
    let mut session = PartnerSession::new(
        &app.base_url,
        client_id,
        partner_key(),
        TransactionAuth::Hmac {
            client_secret: secret,
        },
    )
    .unwrap();
    let token_request = session
        .client()
        .token_request(client_id, &partner_key(), &app.timestamp());
    let token = app.send(&token_request).await.json().unwrap()["accessToken"]
        .as_str()
        .map(str::to_owned);
    session.set_token(token);
    session
}

async fn pay(app: &TestApp, session: &PartnerSession, body: &Value) -> Response {
    let request = session.prepare_with(
        PAYMENT,
        body.to_string().as_bytes(),
        &snapqris_client::fresh_external_id(),
        &app.timestamp(),
    );
    app.send(&request).await
}

/// The payload with one character of the merchant name changed and its CRC made right again.
fn altered(qr_content: &str) -> String {
    let changed = qr_content.replacen("Kopi Kenangan", "Kopi Kenangam", 1);
    assert_ne!(changed, qr_content);
    let data = &changed[..changed.len() - 4];
    format!(
        "{data}{}",
        snapqris_qris::crc_text(snapqris_qris::crc16(data.as_bytes()))
    )
}

async fn a_dynamic_qr_is_paid_once_and_a_retry_is_answered_the_same(backend: Backend) {
    let app = spawn_app(backend).await;
    let generated = app.generate_dynamic("INV-1", "12500.00").await;
    let (content, id) = (content_of(&generated), id_of(&generated));
    let session = payer(&app, "payer-bank", &[ServiceCode::Payment]).await;

    let paid = pay(&app, &session, &payment("PAY-1", &content, None)).await;
    let again = pay(
        &app,
        &session,
        &payment("PAY-1", &content, Some("12500.00")),
    )
    .await;
    let other = pay(&app, &session, &payment("PAY-2", &content, None)).await;
    let inconsistent = pay(&app, &session, &payment("PAY-1", &content, Some("1.00"))).await;

    assert_code(&paid, "2005000");
    let body = paid.json().unwrap();
    assert_eq!(body["partnerReferenceNo"], "PAY-1");
    assert_eq!(body["paidTime"], "2026-11-25T15:00:00+07:00");
    assert_eq!(
        body["amount"],
        json!({"value": "12500.00", "currency": "IDR"})
    );
    assert_eq!(
        body["additionalInfo"],
        json!({"qrId": id, "merchantId": MERCHANT})
    );
    let payment_id = body["referenceNo"].as_str().unwrap();
    assert!(
        payment_id.parse::<i64>().is_ok() && payment_id != id,
        "{body}"
    );
    assert_code(&again, "2005000");
    assert_eq!(again.json().unwrap(), body);
    assert_code(&other, "4045000");
    assert_code(&inconsistent, "4045018");
    let qr = app.store.qr(id.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(qr.payment_count, 1);
    let query = json!({"originalReferenceNo": id, "serviceCode": "47", "merchantId": MERCHANT});
    let queried = app.post(QUERY, &query).await.json().unwrap();
    assert_eq!(queried["latestTransactionStatus"], "00");
    assert_eq!(queried["paidTime"], "2026-11-25T15:00:00+07:00");
    assert_eq!(queried["additionalInfo"]["paymentId"], payment_id);
}

async fn a_static_qr_is_paid_the_amount_given_each_time(backend: Backend) {
    let app = spawn_app(backend).await;
    let generated = app.generate_static("STATIC-1").await;
    let content = content_of(&generated);

    let no_amount = app.post(PAYMENT, &payment("S-0", &content, None)).await;
    let first = app
        .post(PAYMENT, &payment("S-1", &content, Some("1000.00")))
        .await;
    let second = app
        .post(PAYMENT, &payment("S-2", &content, Some("2500.50")))
        .await;

    assert_code(&no_amount, "4045013");
    assert_code(&first, "2005000");
    assert_code(&second, "2005000");
    let (first, second) = (first.json().unwrap(), second.json().unwrap());
    assert_ne!(first["referenceNo"], second["referenceNo"]);
    assert_eq!(second["amount"]["value"], "2500.50");
    let query = json!({"originalReferenceNo": id_of(&generated), "serviceCode": "47",
        "merchantId": MERCHANT});
    let queried = app.post(QUERY, &query).await.json().unwrap();
    assert_eq!(
        queried["additionalInfo"]["paymentId"],
        second["referenceNo"]
    );
    assert_eq!(
        queried["additionalInfo"]["paidAmount"],
        json!({"value": "2500.50", "currency": "IDR"})
    );
    let qr = app.store.qr(id_of(&generated).parse().unwrap()).await;
    assert_eq!(qr.unwrap().unwrap().payment_count, 2);
}

async fn payments_are_refused_with_their_codes(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let dynamic = content_of(&app.generate_dynamic("INV-1", "12500.00").await);
    let mut broken_crc = dynamic.clone();
    broken_crc.replace_range(dynamic.len() - 4.., "0000");
    if broken_crc == dynamic {
        broken_crc.replace_range(dynamic.len() - 4.., "1111");
    }

    let refused = [
        (payment("R-1", "not a QRIS payload", None), "4005001"),
        (payment("R-2", &broken_crc, None), "4005001"),
        (payment("R-3", &altered(&dynamic), None), "4045001"),
        (payment("R-4", &dynamic, Some("12000.00")), "4045013"),
        (payment("R-5", &dynamic, Some("12500")), "4005001"),
        (json!({"qrContent": dynamic}), "4005002"),
        (json!({"partnerReferenceNo": "R-6"}), "4005002"),
    ];
    for (body, code) in refused {
        assert_code(&app.post(PAYMENT, &body).await, code);
    }
    let long_name = json!({"partnerReferenceNo": "R-7", "qrContent": dynamic,
        "additionalInfo": {"customerName": "x".repeat(65)}});
    let message = app.post(PAYMENT, &long_name).await.json().unwrap();
    assert_eq!(
        message["responseMessage"],
        "Invalid Field Format additionalInfo.customerName"
    );

    app.store
        .set_merchant_blacklist(MERCHANT, Some(None), START)
        .await
        .unwrap();
    let blacklisted = app.post(PAYMENT, &payment("R-8", &dynamic, None)).await;
    assert_code(&blacklisted, "4035019");
    app.store
        .set_merchant_blacklist(MERCHANT, None, START)
        .await
        .unwrap();

    app.travel_to(START + time::Duration::days(2)).await;
    assert_code(
        &app.post(PAYMENT, &payment("R-9", &dynamic, None)).await,
        "4045000",
    );
}

async fn a_partner_not_granted_50_is_refused_and_the_owner_may_be_disabled(backend: Backend) {
    let app = spawn_app(backend).await;
    let content = content_of(&app.generate_dynamic("INV-1", "12500.00").await);
    let not_granted = payer(&app, "partner-q", &[ServiceCode::Query]).await;
    let granted = payer(&app, "payer-bank", &[ServiceCode::Payment]).await;

    let refused = pay(&app, &not_granted, &payment("P-1", &content, None)).await;
    app.store
        .set_partner_enabled(PARTNER, false, START)
        .await
        .unwrap();
    let paid = pay(&app, &granted, &payment("P-1", &content, None)).await;

    assert_code(&refused, "4015000");
    assert_code(&paid, "2005000");
}

async fn twenty_concurrent_payments_of_one_dynamic_qr_make_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let content = content_of(&app.generate_dynamic("INV-1", "12500.00").await);
    let requests: Vec<_> = (0..20)
        .map(|n| app.request(PAYMENT, &payment(&format!("RACE-{n}"), &content, None)))
        .collect();

    let racing = requests.iter().map(|request| app.send(request));
    let answers = futures_util::future::join_all(racing).await;

    let codes: Vec<_> = answers.iter().map(Response::response_code).collect();
    let paid = codes.iter().filter(|c| c.as_deref() == Some("2005000"));
    assert_eq!(paid.count(), 1, "{codes:?}");
    let refused = codes.iter().filter(|c| c.as_deref() == Some("4045000"));
    assert_eq!(refused.count(), 19, "{codes:?}");
}

crate::on_each_backend!(
    a_dynamic_qr_is_paid_once_and_a_retry_is_answered_the_same,
    a_static_qr_is_paid_the_amount_given_each_time,
    payments_are_refused_with_their_codes,
    a_partner_not_granted_50_is_refused_and_the_owner_may_be_disabled,
    twenty_concurrent_payments_of_one_dynamic_qr_make_one,
);
