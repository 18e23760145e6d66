use crate::support::*;
use base64::Engine;
use serde_json::json;

fn reference_of(response: &snapqris_client::Response) -> String {
    response.json().unwrap()["referenceNo"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn query(app: &TestApp, body: serde_json::Value) -> snapqris_client::Response {
    app.post(QUERY, &body).await
}

async fn a_dynamic_qr_is_initiated_then_expired_by_service_93(backend: Backend) {
    let app = spawn_app(backend).await;
    let generated = app.generate_dynamic("INV-9", "12500.00").await;
    let id = reference_of(&generated);

    let response = query(
        &app,
        json!({"originalReferenceNo": id, "serviceCode": "47", "merchantId": MERCHANT}),
    )
    .await;
    assert_code(&response, "2005100");
    let body = response.json().unwrap();
    assert_eq!(body["latestTransactionStatus"], "01");
    assert_eq!(body["transactionStatusDesc"], "Initiated");
    assert_eq!(body["originalPartnerReferenceNo"], "INV-9");
    assert_eq!(
        body["amount"],
        json!({"value": "12500.00", "currency": "IDR"})
    );
    assert_eq!(body["qrContent"], generated.json().unwrap()["qrContent"]);
    assert_eq!(body["paidTime"], json!(null));

    app.clock.set(START + time::Duration::seconds(60));
    let expired = app
        .post(
            EXPIRE,
            &json!({"billnumber": id, "additionalInfo": {"merchantId": MERCHANT}}),
        )
        .await;
    assert_code(&expired, "2009300");
    assert_eq!(
        expired.json().unwrap()["expiredTime"],
        "2026-11-25T15:01:00+07:00"
    );

    let by_partner_reference = query(
        &app,
        json!({"originalPartnerReferenceNo": "INV-9", "serviceCode": "47", "merchantId": MERCHANT}),
    )
    .await;
    let body = by_partner_reference.json().unwrap();
    assert_eq!(body["latestTransactionStatus"], "05");
    assert_eq!(body["transactionStatusDesc"], "Expired");

    let list = app.list_today().await.json().unwrap();
    assert_eq!(list["dataDetail"][0]["expired_date"], "2026-11-25 15:01:00");

    let again = app
        .post(
            EXPIRE,
            &json!({"billnumber": id, "additionalInfo": {"merchantId": MERCHANT}}),
        )
        .await;
    assert_code(&again, "4049300");
    assert_eq!(
        again.json().unwrap()["responseMessage"],
        "Invalid Transaction Status"
    );
}

async fn a_static_or_unknown_qr_cannot_be_expired(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = reference_of(&app.generate_static("S-1").await);
    let body = json!({"billnumber": id, "additionalInfo": {"merchantId": MERCHANT}});
    assert_code(&app.post(EXPIRE, &body).await, "4049300");
    let unknown = json!({"billnumber": "123", "additionalInfo": {"merchantId": MERCHANT}});
    assert_code(&app.post(EXPIRE, &unknown).await, "4049301");
    let bad = json!({"billnumber": "12x", "additionalInfo": {"merchantId": MERCHANT}});
    assert_code(&app.post(EXPIRE, &bad).await, "4009301");
    let missing = json!({"additionalInfo": {"merchantId": MERCHANT}});
    assert_code(&app.post(EXPIRE, &missing).await, "4009302");
    let other = json!({"billnumber": id, "additionalInfo": {"merchantId": "NOPE"}});
    assert_code(&app.post(EXPIRE, &other).await, "4049308");
}

async fn a_time_expired_qr_queries_as_05_and_unknown_ones_as_not_found(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let id = reference_of(&app.generate_dynamic("D-1", "1.00").await);
    app.travel_to(START + time::Duration::seconds(1800)).await;
    let body = json!({"originalReferenceNo": id, "serviceCode": "47", "merchantId": MERCHANT});
    assert_eq!(
        query(&app, body).await.json().unwrap()["latestTransactionStatus"],
        "05"
    );
    let unknown = json!({"originalReferenceNo": "42", "serviceCode": "47", "merchantId": MERCHANT});
    assert_code(&query(&app, unknown).await, "4045101");
    let wrong_service =
        json!({"originalReferenceNo": id, "serviceCode": "48", "merchantId": MERCHANT});
    assert_code(&query(&app, wrong_service).await, "4005101");
    let other = json!({"originalReferenceNo": id, "serviceCode": "47", "merchantId": "NOPE"});
    assert_code(&query(&app, other).await, "4045108");
}

async fn a_paid_qr_queries_as_success_with_its_paid_time(backend: Backend) {
    let app = spawn_app(backend).await;
    let id: i64 = reference_of(&app.generate_dynamic("P-1", "5000.00").await)
        .parse()
        .unwrap();
    let paid_at = START + time::Duration::seconds(30);
    let payment_id = app.store.next_qr_id(paid_at).unwrap();
    let sandbox = |payment_id| snapqris_store::SandboxPayment {
        id_qr: id,
        amount_sen: None,
        payment_id,
        notification_id: payment_id + 1,
        at: paid_at,
    };
    let paid = app.store.record_payment(sandbox(payment_id));
    assert!(paid.await.unwrap().is_ok());
    assert_eq!(
        app.store
            .record_payment(sandbox(payment_id + 1))
            .await
            .unwrap()
            .err(),
        Some(snapqris_store::PaymentRefusal::AlreadyPaid)
    );
    let body =
        json!({"originalReferenceNo": id.to_string(), "serviceCode": "47", "merchantId": MERCHANT});
    let answer = query(&app, body).await.json().unwrap();
    assert_eq!(answer["latestTransactionStatus"], "00");
    assert_eq!(answer["transactionStatusDesc"], "Success");
    assert_eq!(answer["paidTime"], "2026-11-25T15:00:30+07:00");
    let expire = json!({"billnumber": id.to_string(), "additionalInfo": {"merchantId": MERCHANT}});
    assert_code(&app.post(EXPIRE, &expire).await, "4049300");
}

async fn a_generate_asking_for_an_image_gets_a_scannable_png(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .post(
            GENERATE,
            &json!({"partnerReferenceNo": "IMG-1", "merchantId": MERCHANT, "additionalInfo": {"qrImage": true}}),
        )
        .await;
    assert_code(&response, "2004700");
    let body = response.json().unwrap();
    let png = base64::engine::general_purpose::STANDARD
        .decode(body["qrImage"].as_str().unwrap())
        .unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    let plain = app.generate_static("IMG-2").await.json().unwrap();
    assert!(plain.get("qrImage").is_none());
}

crate::on_each_backend!(
    a_dynamic_qr_is_initiated_then_expired_by_service_93,
    a_static_or_unknown_qr_cannot_be_expired,
    a_time_expired_qr_queries_as_05_and_unknown_ones_as_not_found,
    a_paid_qr_queries_as_success_with_its_paid_time,
    a_generate_asking_for_an_image_gets_a_scannable_png,
);
