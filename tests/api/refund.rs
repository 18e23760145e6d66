//! Services 78 (refund) and 77 (cancel), CONTRACT §6.3 and §6.4: every code of their tables,
//! the query statuses they lead to, the twenty-way refund race over HTTP, and a blacklisted
//! merchant's money going back.

use crate::support::*;
use serde_json::{Value, json};
use snapqris_client::Response;
use snapqris_protocol::ServiceCode;
use snapqris_store::SignatureMode;

/// The `(id_qr, qrContent)` of a generate answer.
fn generated(answer: &Response) -> (String, String) {
    let body = answer.json().unwrap();
    assert_eq!(body["responseCode"], "2004700", "{body}");
    let id = body["referenceNo"].as_str().unwrap().to_owned();
    (id, body["qrContent"].as_str().unwrap().to_owned())
}

/// Pays `qr_content` (service 50, by the default partner); the `paymentId`.
async fn pay(app: &TestApp, qr_content: &str, amount: Option<&str>) -> String {
    let mut body = json!({"partnerReferenceNo": snapqris_client::fresh_external_id(),
        "qrContent": qr_content});
    if let Some(value) = amount {
        body["amount"] = json!({"value": value, "currency": "IDR"});
    }
    let paid = app.post(PAYMENT, &body).await;
    assert_code(&paid, "2005000");
    paid.json().unwrap()["referenceNo"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A dynamic QR `INV-1` of 12,500.00, paid: its id and payment id.
async fn paid_dynamic(app: &TestApp) -> (String, String) {
    let (id, content) = generated(&app.generate_dynamic("INV-1", "12500.00").await);
    let payment_id = pay(app, &content, None).await;
    (id, payment_id)
}

/// A partner granted only service 51, with a token.
async fn query_only_partner(app: &TestApp) -> snapqris_client::PartnerSession {
    let secret = "secret-of-partner-q".to_owned();
    add_partner(
        &*app.store,
        "partner-q",
        &secret,
        SignatureMode::Hmac,
        &[ServiceCode::Query],
    )
    .await;
    let mut session = snapqris_client::PartnerSession::new(
        &app.base_url,
        "partner-q",
        partner_key(),
        snapqris_client::TransactionAuth::Hmac {
            client_secret: secret,
        },
    )
    .unwrap();
    let token_request =
        session
            .client()
            .token_request("partner-q", &partner_key(), &app.timestamp());
    let token = app.send(&token_request).await.json().unwrap()["accessToken"]
        .as_str()
        .map(str::to_owned);
    session.set_token(token);
    session
}

fn refund_body(id_qr: &str, partner_refund_no: &str, value: &str) -> Value {
    json!({
        "merchantId": MERCHANT,
        "originalReferenceNo": id_qr,
        "partnerRefundNo": partner_refund_no,
        "refundAmount": {"value": value, "currency": "IDR"},
        "reason": "Item returned",
    })
}

fn cancel_body(id_qr: &str) -> Value {
    json!({"merchantId": MERCHANT, "originalReferenceNo": id_qr, "reason": "Order withdrawn"})
}

async fn query(app: &TestApp, id_qr: &str) -> Value {
    let body = json!({"originalReferenceNo": id_qr, "serviceCode": "47", "merchantId": MERCHANT});
    let answer = app.post(QUERY, &body).await;
    assert_code(&answer, "2005100");
    answer.json().unwrap()
}

fn idr(value: &str) -> Value {
    json!({"value": value, "currency": "IDR"})
}

async fn a_payment_is_refunded_in_parts_then_in_full(backend: Backend) {
    let app = spawn_app(backend).await;
    let (id, payment_id) = paid_dynamic(&app).await;

    let first = app.post(REFUND, &refund_body(&id, "RF-1", "2500.00")).await;
    assert_code(&first, "2007800");
    let first = first.json().unwrap();
    assert_eq!(first["originalReferenceNo"], id.as_str());
    assert_eq!(first["originalPartnerReferenceNo"], "INV-1");
    assert_eq!(first["partnerRefundNo"], "RF-1");
    assert_eq!(first["refundAmount"], idr("2500.00"));
    assert_eq!(first["refundTime"], "2026-11-25T15:00:00+07:00");
    assert_eq!(first["additionalInfo"]["paymentId"], payment_id.as_str());
    let refund_no = first["refundNo"].as_str().unwrap();
    assert!(
        refund_no.parse::<i64>().is_ok() && refund_no != id,
        "{first}"
    );

    let partly = query(&app, &id).await;
    assert_eq!(partly["latestTransactionStatus"], "00");
    assert_eq!(partly["additionalInfo"]["refundedAmount"], idr("2500.00"));

    // A retry is the first answer again; the same reference for another amount is not.
    let again = app.post(REFUND, &refund_body(&id, "RF-1", "2500.00")).await;
    assert_eq!(again.json().unwrap(), first);
    let other = app.post(REFUND, &refund_body(&id, "RF-1", "2000.00")).await;
    assert_code(&other, "4047818");
    // Past what is left, then exactly what is left (by the generate reference).
    let over = app
        .post(REFUND, &refund_body(&id, "RF-2", "10000.01"))
        .await;
    assert_code(&over, "4037802");
    let mut rest = refund_body(&id, "RF-3", "10000.00");
    rest.as_object_mut().unwrap().remove("originalReferenceNo");
    rest["originalPartnerReferenceNo"] = json!("INV-1");
    assert_code(&app.post(REFUND, &rest).await, "2007800");

    let full = query(&app, &id).await;
    assert_eq!(full["latestTransactionStatus"], "04");
    assert_eq!(full["transactionStatusDesc"], "Refunded");
    assert_eq!(full["additionalInfo"]["refundedAmount"], idr("12500.00"));
    let nothing_left = app.post(REFUND, &refund_body(&id, "RF-4", "0.01")).await;
    assert_code(&nothing_left, "4037802");
}

async fn a_static_qr_paid_twice_refunds_the_payment_named(backend: Backend) {
    let app = spawn_app(backend).await;
    let (id, content) = generated(&app.generate_static("STATIC-1").await);
    let first = pay(&app, &content, Some("1000.00")).await;
    let only = app.post(REFUND, &refund_body(&id, "RF-0", "100.00")).await;
    assert_code(&only, "2007800");
    let second = pay(&app, &content, Some("2000.00")).await;

    let unnamed = app.post(REFUND, &refund_body(&id, "RF-1", "100.00")).await;
    assert_code(&unnamed, "4007802");
    let mut named = refund_body(&id, "RF-2", "2000.00");
    named["additionalInfo"] = json!({"paymentId": second});
    assert_code(&app.post(REFUND, &named).await, "2007800");
    let mut unknown = refund_body(&id, "RF-3", "1.00");
    unknown["additionalInfo"] = json!({"paymentId": "999999999"});
    assert_code(&app.post(REFUND, &unknown).await, "4047801");

    // The latest payment is refunded in full: query says so; the first still has 900.00.
    let queried = query(&app, &id).await;
    assert_eq!(queried["latestTransactionStatus"], "04");
    assert_eq!(queried["additionalInfo"]["refundedAmount"], idr("2000.00"));
    let mut of_first = refund_body(&id, "RF-4", "900.00");
    of_first["additionalInfo"] = json!({"paymentId": first});
    assert_code(&app.post(REFUND, &of_first).await, "2007800");
}

async fn refunds_are_refused_with_every_code_of_the_contract(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let (id, _) = paid_dynamic(&app).await;
    let (unpaid, _) = generated(&app.generate_dynamic("INV-2", "100.00").await);
    app.add_partner_with_merchant("partner-b", "secret-b", SignatureMode::Hmac, "M0002")
        .await;
    let of_m2 = {
        let mut body = refund_body(&id, "RF-M2", "1.00");
        body["merchantId"] = json!("M0002");
        body
    };
    let unknown_merchant = {
        let mut body = refund_body(&id, "RF-MX", "1.00");
        body["merchantId"] = json!("NOBODY");
        body
    };
    let no_amount = {
        let mut body = refund_body(&id, "RF-NA", "1.00");
        body.as_object_mut().unwrap().remove("refundAmount");
        body
    };
    assert_code(
        &app.post(REFUND, &refund_body(&id, "RF-1", "1.00")).await,
        "2007800",
    );

    let cases = [
        (refund_body(&id, "RF-1", "2.00"), "4047818"),
        (refund_body(&unpaid, "RF-U", "1.00"), "4047800"),
        (refund_body("999999999", "RF-X", "1.00"), "4047801"),
        (of_m2, "4047808"),
        (unknown_merchant, "4047808"),
        (refund_body(&id, "RF-Z", "0.00"), "4047813"),
        (refund_body(&id, "RF-B", "99999999.00"), "4047813"),
        (refund_body(&id, "RF-E", "12499.01"), "4037802"),
        (refund_body(&id, "RF F", "1.00"), "4007801"),
        (refund_body(&id, "RF-D", "1"), "4007801"),
        (refund_body(&id, "", "1.00"), "4007802"),
        (no_amount, "4007802"),
        (
            json!({"merchantId": MERCHANT, "partnerRefundNo": "RF-Q",
            "refundAmount": idr("1.00")}),
            "4007802",
        ),
    ];
    for (body, code) in cases {
        assert_code(&app.post(REFUND, &body).await, code);
    }
    let bad_json = app
        .send(&app.request_raw(REFUND, b"{\"merchantId\":"))
        .await;
    assert_code(&bad_json, "4007800");
    let reused = app.request(REFUND, &refund_body(&id, "RF-R", "1.00"));
    assert_code(&app.send(&reused).await, "2007800");
    assert_code(&app.send(&reused).await, "4097800");

    // A partner not granted 78.
    let not_granted = query_only_partner(&app).await;
    let request = not_granted.prepare_with(
        REFUND,
        refund_body(&id, "RF-G", "1.00").to_string().as_bytes(),
        &snapqris_client::fresh_external_id(),
        &app.timestamp(),
    );
    assert_code(&app.send(&request).await, "4017800");

    // A paid QR stays refundable after its validity, until refund-window ends.
    app.travel_to(START + time::Duration::days(29)).await;
    assert_code(
        &app.post(REFUND, &refund_body(&id, "RF-L", "1.00")).await,
        "2007800",
    );
    app.travel_to(START + time::Duration::days(30) + time::Duration::seconds(1))
        .await;
    let late = app.post(REFUND, &refund_body(&id, "RF-T", "1.00")).await;
    assert_code(&late, "4037815");
}

async fn a_cancelled_qr_is_canceled_unpayable_and_listed_as_expired_then(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let (id, content) = generated(&app.generate_dynamic("INV-1", "12500.00").await);
    app.travel_to(START + time::Duration::minutes(3)).await;

    let cancelled = app.post(CANCEL, &cancel_body(&id)).await;
    assert_code(&cancelled, "2007700");
    assert_eq!(
        cancelled.json().unwrap(),
        json!({"responseCode": "2007700", "responseMessage": "Successful",
            "originalReferenceNo": id, "originalPartnerReferenceNo": "INV-1",
            "cancelTime": "2026-11-25T15:03:00+07:00"})
    );
    let queried = query(&app, &id).await;
    assert_eq!(
        (
            &queried["latestTransactionStatus"],
            &queried["transactionStatusDesc"]
        ),
        (&json!("05"), &json!("Canceled"))
    );
    let listed = app.list_today().await.json().unwrap();
    assert_eq!(
        listed["dataDetail"][0]["expired_date"],
        "2026-11-25 15:03:00"
    );
    let paid = app
        .post(
            PAYMENT,
            &json!({"partnerReferenceNo": "P-1", "qrContent": content}),
        )
        .await;
    assert_code(&paid, "4045000");
    assert_code(
        &app.post(REFUND, &refund_body(&id, "RF-1", "1.00")).await,
        "4047800",
    );

    // Cancelled, static, paid, expired: 4047700; unknown 4047701; not ours 4047708.
    let (static_id, _) = generated(&app.generate_static("STATIC-1").await);
    let (paid_id, paid_content) = generated(&app.generate_dynamic("INV-2", "10.00").await);
    pay(&app, &paid_content, None).await;
    let (expired_id, _) = generated(&app.generate_dynamic("INV-3", "10.00").await);
    let (expired_by_93, _) = generated(&app.generate_dynamic("INV-4", "10.00").await);
    let expire = json!({"billnumber": expired_by_93, "additionalInfo": {"merchantId": MERCHANT}});
    assert_code(&app.post(EXPIRE, &expire).await, "2009300");
    assert_eq!(
        query(&app, &expired_by_93).await["transactionStatusDesc"],
        "Expired"
    );
    app.add_partner_with_merchant("partner-b", "secret-b", SignatureMode::Hmac, "M0002")
        .await;
    let mut of_m2 = cancel_body(&static_id);
    of_m2["merchantId"] = json!("M0002");
    let mut no_reason = cancel_body(&paid_id);
    no_reason["reason"] = json!("");
    let mut long_reason = cancel_body(&paid_id);
    long_reason["reason"] = json!("r".repeat(257));
    let cases = [
        (cancel_body(&id), "4047700"),
        (cancel_body(&static_id), "4047700"),
        (cancel_body(&paid_id), "4047700"),
        (cancel_body(&expired_by_93), "4047700"),
        (cancel_body("999999999"), "4047701"),
        (of_m2, "4047708"),
        (no_reason, "4007702"),
        (long_reason, "4007701"),
        (json!({"merchantId": MERCHANT, "reason": "x"}), "4007702"),
    ];
    for (body, code) in cases {
        assert_code(&app.post(CANCEL, &body).await, code);
    }
    app.travel_to(START + time::Duration::hours(2)).await;
    assert_code(
        &app.post(CANCEL, &cancel_body(&expired_id)).await,
        "4047700",
    );
}

async fn a_blacklisted_merchant_can_still_refund_and_cancel(backend: Backend) {
    let app = spawn_app(backend).await;
    let (id, _) = paid_dynamic(&app).await;
    let (unpaid, _) = generated(&app.generate_dynamic("INV-2", "10.00").await);
    app.store
        .set_merchant_blacklist(MERCHANT, Some(Some("fraud")), START)
        .await
        .unwrap();
    // Operator changes reach the server's directory within 5 s of its clock.
    app.clock.set(START + time::Duration::seconds(5));

    let refunded = app
        .post(REFUND, &refund_body(&id, "RF-1", "12500.00"))
        .await;
    let cancelled = app.post(CANCEL, &cancel_body(&unpaid)).await;
    let generate = app.generate_static("STATIC-1").await;

    assert_code(&refunded, "2007800");
    assert_code(&cancelled, "2007700");
    assert_code(&generate, "4034719");
}

async fn twenty_racing_refunds_over_http_never_pass_the_paid_amount(backend: Backend) {
    let app = spawn_app(backend).await;
    let (id, _) = paid_dynamic(&app).await;
    // 1,000.00 to 2,900.00 each: 39,000.00 asked of 12,500.00 paid.
    let requests: Vec<_> = (0..20)
        .map(|n| {
            let value = format!("{}.00", 1000 + n * 100);
            app.request(REFUND, &refund_body(&id, &format!("RACE-{n}"), &value))
        })
        .collect();

    let racing = requests.iter().map(|request| app.send(request));
    let answers = futures_util::future::join_all(racing).await;

    let mut refunded_sen = 0;
    let mut codes = Vec::new();
    for answer in &answers {
        let code = answer.response_code().unwrap_or_default();
        if code == "2007800" {
            let value = answer.json().unwrap()["refundAmount"]["value"]
                .as_str()
                .unwrap()
                .replace('.', "");
            refunded_sen += value.parse::<i64>().unwrap();
        } else {
            assert_eq!(code, "4037802", "{}", answer.text());
        }
        codes.push(code);
    }
    assert!(
        refunded_sen <= 1_250_000,
        "{refunded_sen} sen of 1250000: {codes:?}"
    );
    let queried = query(&app, &id).await;
    let value = format!("{}.{:02}", refunded_sen / 100, refunded_sen % 100);
    assert_eq!(queried["additionalInfo"]["refundedAmount"], idr(&value));
}

crate::on_each_backend!(
    a_payment_is_refunded_in_parts_then_in_full,
    a_static_qr_paid_twice_refunds_the_payment_named,
    refunds_are_refused_with_every_code_of_the_contract,
    a_cancelled_qr_is_canceled_unpayable_and_listed_as_expired_then,
    a_blacklisted_merchant_can_still_refund_and_cancel,
    twenty_racing_refunds_over_http_never_pass_the_paid_amount,
);

#[test]
fn client_refund_and_cancel_work_against_a_served_instance() {
    let cli = crate::cli::Cli::new();
    let secret = cli.add_partner("p1");
    cli.add_merchant("M1", "p1");
    let mut served = cli.serve();
    let client = |line: &str| {
        cli.run(&format!(
            "client {line} --base-url {} --client-id p1 --private-key {{dir}}/keys/private.pem \
             --client-secret {secret}",
            served.base_url()
        ))
    };
    let answer = |output: &std::process::Output| -> Value {
        serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
            panic!("{}", String::from_utf8_lossy(&output.stderr));
        })
    };
    let generate = |reference: &str| {
        let generated = answer(&client(&format!(
            "generate --merchant-id M1 --amount 9000.00 --partner-reference-no {reference}"
        )));
        generated["referenceNo"].as_str().unwrap().to_owned()
    };
    let paid = generate("INV-1");
    cli.ok(&format!("admin qr pay {paid}"));

    let refund = client(&format!(
        "refund --merchant-id M1 --reference-no {paid} --amount 1000.00 \
         --partner-refund-no RF-1 --reason returned"
    ));
    assert!(refund.status.success());
    let refunded = answer(&refund);
    assert_eq!(refunded["responseCode"], "2007800", "{refunded}");
    assert_eq!(refunded["partnerRefundNo"], "RF-1");
    let over = client("refund --merchant-id M1 --partner-reference-no INV-1 --amount 8000.01");
    assert_eq!(answer(&over)["responseCode"], "4037802");
    fails_with_one_line(&over);

    let unpaid = generate("INV-2");
    let cancel = client(&format!(
        "cancel --merchant-id M1 --reference-no {unpaid} --reason withdrawn"
    ));
    assert!(cancel.status.success());
    assert_eq!(answer(&cancel)["responseCode"], "2007700");
    let again = client("cancel --merchant-id M1 --partner-reference-no INV-2 --reason again");
    assert_eq!(answer(&again)["responseCode"], "4047700");
    fails_with_one_line(&again);
    // Naming no QR is a usage error.
    assert_eq!(
        client("cancel --merchant-id M1 --reason x").status.code(),
        Some(2)
    );
    assert!(served.terminate_and_wait().success());
}
