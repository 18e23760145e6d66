use crate::support::*;
use serde_json::json;
use snapqris_qris::Initiation;

async fn a_dynamic_qr_carries_a_valid_payload_with_the_amount_and_bill_number(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.generate_dynamic("INV-1", "9000.00").await;
    assert_code(&response, "2004700");
    let body = response.json().unwrap();
    let id = body["referenceNo"].as_str().unwrap();
    assert!(id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(body["partnerReferenceNo"], "INV-1");
    assert_eq!(body["merchantName"], "Kopi Kenangan");
    assert_eq!(body["terminalId"], "T01");
    assert_eq!(body["additionalInfo"]["type"], "dynamic");
    assert_eq!(
        body["additionalInfo"]["expiredTime"],
        "2026-11-25T15:30:00+07:00"
    );

    let content = body["qrContent"].as_str().unwrap();
    let payload = snapqris_qris::parse(content).unwrap();
    assert_eq!(
        payload.initiation(),
        Initiation::Dynamic {
            amount_sen: 900_000
        }
    );
    assert_eq!(payload.amount(), Some("9000"));
    assert_eq!(payload.merchant_name(), "Kopi Kenangan");
    assert_eq!(payload.merchant_city(), "Jakarta");
    assert_eq!(payload.bill_number(), Some(id));
    assert_eq!(payload.terminal_label(), Some("T01"));
    assert!(content.starts_with("000201010212"));
}

async fn a_static_qr_has_no_amount_and_no_expiry(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = app.generate_static("S-1").await.json().unwrap();
    assert_eq!(
        body["additionalInfo"],
        json!({"type": "static", "expiredTime": null})
    );
    let payload = snapqris_qris::parse(body["qrContent"].as_str().unwrap()).unwrap();
    assert_eq!(payload.initiation(), Initiation::Static);
    assert_eq!(payload.amount(), None);
    assert!(payload.nmid().unwrap().starts_with("ID"));
}

async fn a_partner_reference_is_unique_per_merchant(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_code(&app.generate_static("DUP").await, "2004700");
    let again = app.generate_dynamic("DUP", "1.00").await;
    assert_code(&again, "4094701");
}

async fn amounts_outside_the_range_are_invalid_amount(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_code(&app.generate_dynamic("A1", "0.00").await, "4044713");
    assert_code(&app.generate_dynamic("A2", "10000000.01").await, "4044713");
    assert_code(&app.generate_dynamic("A3", "10000000.00").await, "2004700");
    assert_code(&app.generate_dynamic("A4", "9000").await, "4004701");
}

async fn another_partners_merchant_is_invalid_merchant(backend: Backend) {
    let app = spawn_app(backend).await;
    add_partner(
        &*app.store,
        "partner-b",
        "secret-b",
        snapqris_store::SignatureMode::Hmac,
        &snapqris_protocol::ServiceCode::ALL,
    )
    .await;
    add_merchant(&*app.store, "MB0001", "partner-b").await;
    let response = app
        .post(
            GENERATE,
            &json!({"partnerReferenceNo": "X", "merchantId": "MB0001"}),
        )
        .await;
    assert_code(&response, "4044708");
    assert_code(
        &app.post(
            GENERATE,
            &json!({"partnerReferenceNo": "X", "merchantId": "NOPE"}),
        )
        .await,
        "4044708",
    );
}

async fn a_partner_not_granted_47_is_unauthorized(backend: Backend) {
    let app = spawn_app(backend).await;
    add_partner(
        &*app.store,
        "partner-l",
        "secret-l",
        snapqris_store::SignatureMode::Rsa,
        &[snapqris_protocol::ServiceCode::GenerateList],
    )
    .await;
    let session = snapqris_client::PartnerSession::new(
        &app.base_url,
        "partner-l",
        partner_key(),
        snapqris_client::TransactionAuth::Rsa,
    )
    .unwrap();
    let request = session.prepare_with(
        GENERATE,
        br#"{"partnerReferenceNo":"X","merchantId":"M0001"}"#,
        "e1",
        &app.timestamp(),
    );
    assert_code(&app.send(&request).await, "4014700");
}

async fn the_pan_in_a_qr_is_built_from_the_merchants_allocated_account(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = app.generate_static("PAN-1").await.json().unwrap();
    let payload = snapqris_qris::parse(body["qrContent"].as_str().unwrap()).unwrap();
    let merchant = app.store.merchant(MERCHANT).await.unwrap().unwrap();
    let pan = snapqris_qris::merchant_pan("93600999", merchant.pan_account);
    let in_qr = payload.field(26).and_then(|template| template.child(1));
    assert_eq!(in_qr.map(|field| field.value.as_str()), Some(pan.as_str()));
    let derived = snapqris_qris::legacy_account_number(MERCHANT);
    assert_ne!(
        merchant.pan_account, derived,
        "allocated, not derived from the id"
    );
}

crate::on_each_backend!(
    the_pan_in_a_qr_is_built_from_the_merchants_allocated_account,
    a_dynamic_qr_carries_a_valid_payload_with_the_amount_and_bill_number,
    a_static_qr_has_no_amount_and_no_expiry,
    a_partner_reference_is_unique_per_merchant,
    amounts_outside_the_range_are_invalid_amount,
    another_partners_merchant_is_invalid_merchant,
    a_partner_not_granted_47_is_unauthorized,
);
