use crate::support::*;
use serde_json::json;
use snapqris_protocol::{ServiceCode, XTimestamp};
use snapqris_store::SignatureMode;
use time::macros::datetime;

async fn a_static_and_a_dynamic_qr_are_listed_newest_first_with_jakarta_times(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_code(&app.generate_static("ref-static").await, "2004700");
    app.clock.set(START + time::Duration::seconds(90));
    let dynamic = app.generate_dynamic("ref-dynamic", "9000.00").await;
    assert_code(&dynamic, "2004700");

    let response = app
        .post_generate_list("2026-11-25T00:00:00+07:00", MERCHANT)
        .await;
    assert_code(&response, "2009000");
    let body = response.json().unwrap();
    assert_eq!(body["responseMessage"], "Successful");
    let items = body["dataDetail"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(
        items[0],
        json!({
            "id_qr": dynamic.json().unwrap()["referenceNo"],
            "type": "dynamic",
            "generate_time": "2026-11-25 15:01:30",
            "expired_date": "2026-11-25 15:31:30",
            "amount": "9000.00"
        })
    );
    assert_eq!(items[1]["type"], "static");
    assert_eq!(items[1]["generate_time"], "2026-11-25 15:00:00");
    assert_eq!(items[1]["expired_date"], json!(null));
    assert_eq!(items[1]["amount"], json!(null));
    // Field order as in the seed's example.
    let text = response.text();
    let order: Vec<usize> = ["id_qr", "type", "generate_time", "expired_date", "amount"]
        .iter()
        .map(|key| text.find(key).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
}

async fn a_plain_date_names_the_same_day(backend: Backend) {
    let app = spawn_app(backend).await;
    app.generate_static("ref-1").await;
    assert_code(&app.list_today().await, "2009000");
}

async fn ties_in_generate_time_put_the_higher_id_first(backend: Backend) {
    let app = spawn_app(backend).await;
    for n in 0..3 {
        assert_code(&app.generate_static(&format!("ref-{n}")).await, "2004700");
    }
    let body = app.list_today().await.json().unwrap();
    let ids: Vec<u64> = body["dataDetail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id_qr"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
}

async fn a_qr_generated_at_23_59_59_jakarta_belongs_to_that_day(backend: Backend) {
    let mut app = spawn_app(backend).await;
    // 23:59:59 +07:00 on the 25th is 16:59:59 UTC.
    app.travel_to(datetime!(2026-11-25 16:59:59 UTC)).await;
    assert_code(&app.generate_static("late").await, "2004700");
    app.clock.set(datetime!(2026-11-25 17:00:00 UTC));
    assert_code(&app.generate_static("early").await, "2004700");

    let day = app.list_today().await.json().unwrap();
    let items = day["dataDetail"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["generate_time"], "2026-11-25 23:59:59");
    let next = app
        .post_generate_list("2026-11-26", MERCHANT)
        .await
        .json()
        .unwrap();
    let items = next["dataDetail"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["generate_time"], "2026-11-26 00:00:00");
}

async fn a_day_without_qrs_is_transaction_not_found(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.post_generate_list("2026-11-24", MERCHANT).await;
    assert_code(&response, "4049001");
    assert_eq!(
        response.json().unwrap()["responseMessage"],
        "Transaction Not Found"
    );
}

async fn body_errors_get_400_codes(backend: Backend) {
    let app = spawn_app(backend).await;
    let cases: [(&[u8], &str); 7] = [
        (b"[1,2]", "4009000"),
        (b"not json", "4009000"),
        (
            br#"{"dateGenerate":"2026-13-01","additionalInfo":{"merchantId":"M0001"}}"#,
            "4009001",
        ),
        (
            br#"{"dateGenerate":"2026-11-25","additionalInfo":{"merchantId":12}}"#,
            "4009001",
        ),
        (br#"{"additionalInfo":{"merchantId":"M0001"}}"#, "4009002"),
        (
            br#"{"dateGenerate":"","additionalInfo":{"merchantId":"M0001"}}"#,
            "4009002",
        ),
        (
            br#"{"dateGenerate":"2026-11-25","additionalInfo":{}}"#,
            "4009002",
        ),
    ];
    for (body, code) in cases {
        let response = app.send(&app.request_raw(LIST, body)).await;
        assert_code(&response, code);
    }
}

async fn a_bad_signature_or_stale_timestamp_is_4019000(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut request = app.request(LIST, &list_body("2026-11-25", MERCHANT));
    request.set_header("X-SIGNATURE", "AAAA");
    assert_code(&app.send(&request).await, "4019000");
    let mut request = app.request(LIST, &list_body("2026-11-25", MERCHANT));
    request.remove_header("X-SIGNATURE");
    assert_code(&app.send(&request).await, "4019000");
    let mut request = app.request(LIST, &list_body("2026-11-25", MERCHANT));
    request.body =
        br#"{"dateGenerate":"2026-11-24","additionalInfo":{"merchantId":"M0001"}}"#.to_vec();
    assert_code(&app.send(&request).await, "4019000");

    let signed_now = app.request(LIST, &list_body("2026-11-25", MERCHANT));
    app.clock.set(START + time::Duration::seconds(301));
    assert_code(&app.send(&signed_now).await, "4019000");
}

async fn token_trouble_is_4019001(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = list_body("2026-11-25", MERCHANT);
    let mut missing = app.request(LIST, &body);
    missing.remove_header("Authorization");
    assert_code(&app.send(&missing).await, "4019001");
    let mut basic = app.request(LIST, &body);
    basic.set_header("Authorization", "Basic abc");
    assert_code(&app.send(&basic).await, "4019001");
    let mut unknown = app.request(LIST, &body);
    unknown.set_header("Authorization", "Bearer not-a-token");
    assert_code(&app.send(&unknown).await, "4019001");

    // Expired: the token lives 900 s; the request itself is freshly stamped.
    app.clock.set(START + time::Duration::seconds(901));
    assert_code(&app.post(LIST, &body).await, "4019001");
}

async fn another_partners_token_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    add_partner(
        &*app.store,
        "partner-b",
        "secret-b",
        SignatureMode::Hmac,
        &ServiceCode::ALL,
    )
    .await;
    // partner-b's token, presented by partner-a.
    let mut b = snapqris_client::PartnerSession::new(
        &app.base_url,
        "partner-b",
        partner_key(),
        snapqris_client::TransactionAuth::Hmac {
            client_secret: "secret-b".into(),
        },
    )
    .unwrap();
    let token_b = {
        let request = b
            .client()
            .token_request("partner-b", &partner_key(), &app.timestamp());
        app.send(&request).await.json().unwrap()["accessToken"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    b.set_token(Some(token_b.clone()));
    let mut session = app.session.clone();
    session.set_token(Some(token_b));
    let request = app.list_today_by(&session, "ext-1");
    assert_code(&app.send(&request).await, "4019001");
}

async fn a_disabled_partner_loses_its_tokens(backend: Backend) {
    let app = spawn_app(backend).await;
    app.store
        .set_partner_enabled(PARTNER, false, START)
        .await
        .unwrap();
    app.clock.set(after_operator_change(1));
    assert_code(&app.list_today().await, "4019001");
}

/// CONTRACT §4: operator changes apply within 5 s (the server's caches follow its clock): the
/// moment `n` times those 5 s after `START`.
fn after_operator_change(n: i64) -> time::OffsetDateTime {
    START + time::Duration::seconds(5 * n)
}

async fn header_trouble_is_4049001(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = list_body("2026-11-25", MERCHANT);
    for header in ["X-TIMESTAMP", "X-PARTNER-ID", "X-EXTERNAL-ID"] {
        let mut request = app.request(LIST, &body);
        request.remove_header(header);
        let response = app.send(&request).await;
        assert_code(&response, "4049001");
        let message = response.json().unwrap()["responseMessage"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(message.starts_with("Bad Request"), "{message}");
        assert!(message.contains(header), "{message}");
    }
    let malformed = [
        ("X-TIMESTAMP", "2026-11-25 15:00:00+07:00"),
        ("X-TIMESTAMP", "2026-11-25T15:00:00+0700"),
        ("X-PARTNER-ID", "partner a"),
        ("X-EXTERNAL-ID", "has space"),
        ("X-EXTERNAL-ID", "0123456789012345678901234567890123456"),
    ];
    for (header, value) in malformed {
        let mut request = app.request(LIST, &body);
        request.set_header(header, value);
        assert_code(&app.send(&request).await, "4049001");
    }
    let mut twice = app.request(LIST, &body);
    twice
        .headers
        .push(("X-EXTERNAL-ID".into(), "second".into()));
    assert_code(&app.send(&twice).await, "4049001");
}

async fn a_partner_without_service_90_or_with_anothers_merchant_is_4049000(backend: Backend) {
    let app = spawn_app(backend).await;
    app.add_partner_with_merchant("partner-b", "secret-b", SignatureMode::Hmac, "MB0001")
        .await;
    let response = app.post_generate_list("2026-11-25", "MB0001").await;
    assert_code(&response, "4049000");
    assert_eq!(
        response.json().unwrap()["responseMessage"],
        "Unauthorized. Client Forbidden Access API"
    );
    assert_code(
        &app.post_generate_list("2026-11-25", "NOSUCH").await,
        "4049000",
    );

    add_partner(
        &*app.store,
        "partner-c",
        "secret-c",
        SignatureMode::Rsa,
        &[ServiceCode::GenerateQr],
    )
    .await;
    let session = snapqris_client::PartnerSession::new(
        &app.base_url,
        "partner-c",
        partner_key(),
        snapqris_client::TransactionAuth::Rsa,
    )
    .unwrap();
    let request = app.list_today_by(&session, "ext-c");
    assert_code(&app.send(&request).await, "4049000");
}

async fn a_blacklisted_merchant_is_refused_until_unblacklisted(backend: Backend) {
    let app = spawn_app(backend).await;
    app.generate_static("ref-1").await;
    app.store
        .set_merchant_blacklist(MERCHANT, Some(Some("fraud")), START)
        .await
        .unwrap();
    app.clock.set(after_operator_change(1));
    let response = app.list_today().await;
    assert_code(&response, "4039019");
    assert_eq!(
        response.json().unwrap()["responseMessage"],
        "Merchant Blacklisted"
    );
    assert_code(&app.generate_static("ref-2").await, "4034719");

    app.store
        .set_merchant_blacklist(MERCHANT, None, START)
        .await
        .unwrap();
    app.clock.set(after_operator_change(2));
    assert_code(&app.list_today().await, "2009000");
}

async fn the_same_external_id_twice_a_day_is_4099000_and_fine_the_next_day(backend: Backend) {
    let app = spawn_app(backend).await;
    app.generate_static("ref-1").await;
    let body = list_body("2026-11-25", MERCHANT).to_string();
    let first = app
        .session
        .prepare_with(LIST, body.as_bytes(), "EXT-1", &app.timestamp());
    assert_code(&app.send(&first).await, "2009000");
    let again = app
        .session
        .prepare_with(LIST, body.as_bytes(), "EXT-1", &app.timestamp());
    let response = app.send(&again).await;
    assert_code(&response, "4099000");
    assert_eq!(
        response.json().unwrap()["responseMessage"],
        "Cannot use same X-EXTERNAL-ID in same day"
    );
    // An identical resend (same signature) is refused the same way.
    assert_code(&app.send(&first).await, "4099000");

    // Jakarta midnight: 17:00 UTC. The token has expired by then, so take a new one.
    let mut app = app;
    app.travel_to(datetime!(2026-11-25 17:00:01 UTC)).await;
    let next_day = app
        .session
        .prepare_with(LIST, body.as_bytes(), "EXT-1", &app.timestamp());
    assert_code(&app.send(&next_day).await, "2009000");
}

async fn a_refused_body_still_claims_the_external_id(backend: Backend) {
    let app = spawn_app(backend).await;
    let bad = app
        .session
        .prepare_with(LIST, b"[]", "EXT-9", &app.timestamp());
    assert_code(&app.send(&bad).await, "4009000");
    let good = app.list_today_by(&app.session, "EXT-9");
    assert_code(&app.send(&good).await, "4099000");
}

async fn an_rsa_partner_may_omit_the_token(backend: Backend) {
    let app = spawn_app(backend).await;
    app.add_partner_with_merchant("partner-r", "unused", SignatureMode::Rsa, "MR0001")
        .await;
    let session = snapqris_client::PartnerSession::new(
        &app.base_url,
        "partner-r",
        partner_key(),
        snapqris_client::TransactionAuth::Rsa,
    )
    .unwrap();
    let request = session.prepare_with(
        LIST,
        list_body("2026-11-25", "MR0001").to_string().as_bytes(),
        "ext-r",
        &app.timestamp(),
    );
    assert!(request.header("Authorization").is_none());
    assert_code(&app.send(&request).await, "4049001");
}

async fn without_a_token_only_a_valid_signature_tells_an_rsa_partner_from_an_unknown_id(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    app.add_partner_with_merchant("partner-r", "unused", SignatureMode::Rsa, "MR0001")
        .await;
    let body = list_body("2026-11-25", "MR0001").to_string();
    let request = |client_id: &str, timestamp: &XTimestamp| {
        let session = snapqris_client::PartnerSession::new(
            &app.base_url,
            client_id,
            partner_key(),
            snapqris_client::TransactionAuth::Rsa,
        )
        .unwrap();
        session.prepare_with(LIST, body.as_bytes(), "ext-r", timestamp)
    };
    let stale = XTimestamp::from_instant_jakarta(START - time::Duration::seconds(400));
    for timestamp in [app.timestamp(), stale.clone()] {
        for signature in [Some("AAAA"), None] {
            let mut known = request("partner-r", &timestamp);
            let mut unknown = request("nobody", &timestamp);
            for request in [&mut known, &mut unknown] {
                match signature {
                    Some(signature) => request.set_header("X-SIGNATURE", signature),
                    None => request.remove_header("X-SIGNATURE"),
                }
            }
            let known = app.send(&known).await;
            assert_code(&known, "4019001");
            assert_eq!(known.text(), app.send(&unknown).await.text());
        }
    }
    // The partner itself, signing correctly, still learns that its clock is off.
    assert_code(&app.send(&request("partner-r", &stale)).await, "4019000");
}

async fn a_partner_over_its_rate_limit_gets_4299000_before_any_claim(backend: Backend) {
    let app = spawn_rate_limited(backend, 2).await;
    let body = list_body("2026-11-25", MERCHANT).to_string();
    let mut limited = None;
    for n in 0..6 {
        let external_id = format!("RL-{n}");
        let request =
            app.session
                .prepare_with(LIST, body.as_bytes(), &external_id, &app.timestamp());
        let response = app.send(&request).await;
        if response.response_code().as_deref() == Some("4299000") {
            assert_code(&response, "4299000");
            limited = Some(external_id);
            break;
        }
    }
    let external_id = limited.expect("six requests at once exceed 2 per second");
    app.clock.set(START + time::Duration::seconds(1));
    // The refused request claimed nothing: its X-EXTERNAL-ID is still free.
    let retry = app
        .session
        .prepare_with(LIST, body.as_bytes(), &external_id, &app.timestamp());
    assert_code(&app.send(&retry).await, "4049001");
}

async fn requests_that_cannot_sign_as_a_partner_do_not_spend_its_rate_limit(backend: Backend) {
    let app = spawn_rate_limited(backend, 2).await;
    let body = list_body("2026-11-25", MERCHANT).to_string();
    // CONTRACT §8: a flood in the partner's name, with a bad signature or without its token.
    for n in 0..10 {
        let mut forged =
            app.session
                .prepare_with(LIST, body.as_bytes(), &format!("F-{n}"), &app.timestamp());
        forged.set_header("X-SIGNATURE", "AAAA");
        assert_code(&app.send(&forged).await, "4019000");
        forged.remove_header("Authorization");
        assert_code(&app.send(&forged).await, "4019001");
    }
    let genuine = app
        .session
        .prepare_with(LIST, body.as_bytes(), "GENUINE", &app.timestamp());
    assert_code(&app.send(&genuine).await, "4049001");
}

#[tokio::test]
async fn a_store_failure_is_5009000_and_gives_the_external_id_back() {
    let app = spawn_app(Backend::Sqlite).await;
    app.generate_static("ref-1").await;
    let path = app.database_url.strip_prefix("sqlite://").unwrap();
    let connection = rusqlite::Connection::open(path).unwrap();
    connection
        .execute_batch("ALTER TABLE qr_codes RENAME TO qr_codes_away")
        .unwrap();
    let body = list_body("2026-11-25", MERCHANT).to_string();
    let request = app
        .session
        .prepare_with(LIST, body.as_bytes(), "EXT-500", &app.timestamp());
    let response = app.send(&request).await;
    assert_code(&response, "5009000");
    assert_eq!(
        response.text(),
        r#"{"responseCode":"5009000","responseMessage":"General Error"}"#
    );

    connection
        .execute_batch("ALTER TABLE qr_codes_away RENAME TO qr_codes")
        .unwrap();
    let retry = app
        .session
        .prepare_with(LIST, body.as_bytes(), "EXT-500", &app.timestamp());
    assert_code(&app.send(&retry).await, "2009000");
}

/// CONTRACT §6.5: `daily-claim-limit` claims per partner per Jakarta day, then `429xx00` with
/// nothing claimed; a new day starts a new count.
async fn a_partner_over_its_daily_claim_limit_is_refused_until_the_next_day(backend: Backend) {
    let mut app = spawn_app_on(
        backend,
        snapqris_server::ServerConfig {
            daily_claim_limit: 3,
            ..Default::default()
        },
    )
    .await;
    let body = list_body("2026-11-25", MERCHANT).to_string();
    let send = async |app: &TestApp, external_id: &str| {
        let request =
            app.session
                .prepare_with(LIST, body.as_bytes(), external_id, &app.timestamp());
        app.send(&request).await
    };
    for n in 0..3 {
        // No QR that day: each is a claim answered "not found".
        assert_code(&send(&app, &format!("DAY-{n}")).await, "4049001");
    }
    assert_code(&send(&app, "DAY-3").await, "4299000");
    assert_code(&send(&app, "DAY-4").await, "4299000");

    // The next Jakarta day counts afresh, and the refused id was never claimed.
    app.travel_to(START + time::Duration::days(1)).await;
    let next_day = list_body("2026-11-26", MERCHANT).to_string();
    let request = app
        .session
        .prepare_with(LIST, next_day.as_bytes(), "DAY-3", &app.timestamp());
    assert_code(&app.send(&request).await, "4049001");
}

crate::on_each_backend!(
    a_partner_over_its_daily_claim_limit_is_refused_until_the_next_day,
    a_static_and_a_dynamic_qr_are_listed_newest_first_with_jakarta_times,
    a_plain_date_names_the_same_day,
    ties_in_generate_time_put_the_higher_id_first,
    a_qr_generated_at_23_59_59_jakarta_belongs_to_that_day,
    a_day_without_qrs_is_transaction_not_found,
    body_errors_get_400_codes,
    a_bad_signature_or_stale_timestamp_is_4019000,
    token_trouble_is_4019001,
    another_partners_token_is_refused,
    a_disabled_partner_loses_its_tokens,
    header_trouble_is_4049001,
    a_partner_without_service_90_or_with_anothers_merchant_is_4049000,
    a_blacklisted_merchant_is_refused_until_unblacklisted,
    the_same_external_id_twice_a_day_is_4099000_and_fine_the_next_day,
    a_refused_body_still_claims_the_external_id,
    an_rsa_partner_may_omit_the_token,
    without_a_token_only_a_valid_signature_tells_an_rsa_partner_from_an_unknown_id,
    a_partner_over_its_rate_limit_gets_4299000_before_any_claim,
    requests_that_cannot_sign_as_a_partner_do_not_spend_its_rate_limit,
);
