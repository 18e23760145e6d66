//! Scale-out (issue 4, CONTRACT §2): several `snapqris serve` processes on one database keep
//! every guarantee, because no node holds state another node would need.
//!
//! These run the real binary. The multi-node tests need PostgreSQL and print a line saying
//! they are skipped when `SNAPQRIS_TEST_DATABASE_URL` is unset.

use crate::support::*;
use futures_util::future::join_all;
use snapqris_client::{PartnerSession, Response, fresh_external_id};
use snapqris_test_support::Serve;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// A fresh PostgreSQL database with `PARTNER` and `MERCHANT`, one QR of today, and two
/// `serve` processes on it; `None` when no PostgreSQL is configured.
async fn two_nodes() -> Option<(ProcessDatabase, Serve, Serve)> {
    let backend = Backend::postgres()?;
    let database = ProcessDatabase::new(&backend).await;
    database.register_partner_and_merchant();
    let a = database.serve();
    let b = database.serve();
    Some((database, a, b))
}

/// Service 90 for `MERCHANT` today, signed now with `external_id`.
async fn list_today(session: &PartnerSession, external_id: &str) -> Response {
    let body = list_body(&real_today(), MERCHANT).to_string();
    let request = session.prepare_with(LIST, body.as_bytes(), external_id, &real_timestamp());
    session.client().send(&request).await.unwrap()
}

/// A session of `PARTNER` against `node` that uses the token `other` took elsewhere.
fn with_token_of(node: &Serve, other: &PartnerSession) -> PartnerSession {
    let mut session = partner_session(node.base_url());
    session.set_token(other.token().map(str::to_owned));
    session
}

async fn generate_one(session: &PartnerSession) {
    let body =
        serde_json::json!({"partnerReferenceNo": fresh_external_id(), "merchantId": MERCHANT});
    let (_, response) = session.call(GENERATE, &body).await.unwrap();
    assert_code(&response, "2004700");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_from_node_a_works_on_node_b() {
    let Some((_database, a, b)) = two_nodes().await else {
        return;
    };
    let on_a = session_on(&a).await;
    generate_one(&on_a).await;
    let on_b = with_token_of(&b, &on_a);

    let response = list_today(&on_b, &fresh_external_id()).await;

    assert_code(&response, "2009000");
    assert_eq!(
        response.json().unwrap()["dataDetail"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_requests_sharing_twenty_external_ids_over_two_nodes_succeed_twenty_times() {
    let Some((_database, a, b)) = two_nodes().await else {
        return;
    };
    let on_a = session_on(&a).await;
    generate_one(&on_a).await;
    let on_b = with_token_of(&b, &on_a);
    let external_ids: Vec<String> = (0..20).map(|_| fresh_external_id()).collect();

    // Each id goes out ten times, five times to each node, all 200 at once.
    let tasks = (0..200).map(|n| {
        let session = if n % 2 == 0 {
            on_a.clone()
        } else {
            on_b.clone()
        };
        let external_id = external_ids[n / 10].clone();
        tokio::spawn(async move {
            let response = list_today(&session, &external_id).await;
            (external_id, response.response_code().unwrap_or_default())
        })
    });
    let answers: Vec<(String, String)> = join_all(tasks)
        .await
        .into_iter()
        .map(|joined| joined.unwrap())
        .collect();

    let mut codes = BTreeMap::new();
    let mut winners_per_id: BTreeMap<&str, usize> = BTreeMap::new();
    for (external_id, code) in &answers {
        *codes.entry(code.as_str()).or_insert(0) += 1;
        if code != "4099000" {
            *winners_per_id.entry(external_id).or_insert(0) += 1;
        }
    }
    assert_eq!(codes, BTreeMap::from([("2009000", 20), ("4099000", 180)]));
    assert_eq!(winners_per_id.len(), 20);
    assert!(winners_per_id.values().all(|&wins| wins == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_partner_is_refused_by_both_nodes_within_5_seconds() {
    let Some((database, a, b)) = two_nodes().await else {
        return;
    };
    let on_a = session_on(&a).await;
    let on_b = session_on(&b).await;
    generate_one(&on_a).await;
    for session in [&on_a, &on_b] {
        assert_code(&list_today(session, &fresh_external_id()).await, "2009000");
    }

    database.run_ok(&["admin", "partner", "disable", PARTNER]);
    let disabled_at = Instant::now();

    let mut refused = [false, false];
    while refused.contains(&false) && disabled_at.elapsed() < Duration::from_secs(5) {
        for (node, session) in [&on_a, &on_b].into_iter().enumerate() {
            let response = list_today(session, &fresh_external_id()).await;
            refused[node] = response.response_code().as_deref() == Some("4019001");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        refused,
        [true, true],
        "still accepted after {:?}",
        disabled_at.elapsed()
    );
    eprintln!(
        "both nodes refused the disabled partner after {:?}",
        disabled_at.elapsed()
    );
    // A refusal is not a blip: both nodes keep refusing, and no new token is issued.
    for session in [&on_a, &on_b] {
        assert_code(&list_today(session, &fresh_external_id()).await, "4019001");
        let (_, token) = session.clone().take_token().await.unwrap();
        assert_code(&token, "4017300");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_starting_at_once_on_an_empty_postgres_database_both_come_up() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let database = ProcessDatabase::new(&backend).await;
    both_come_up_on_an_empty_database(&database).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_starting_at_once_on_a_new_sqlite_file_both_come_up() {
    let database = ProcessDatabase::new(&Backend::Sqlite).await;
    both_come_up_on_an_empty_database(&database).await;
}

/// Starts two `serve` processes at the same moment on an untouched database; both must answer,
/// and each migration must be recorded once.
async fn both_come_up_on_an_empty_database(database: &ProcessDatabase) {
    let mut a = database.spawn_serve();
    let mut b = database.spawn_serve();
    a.wait_listening();
    b.wait_listening();

    database.register_partner_and_merchant();
    for node in [&a, &b] {
        let health = snapqris_client::SnapClient::new(node.base_url())
            .unwrap()
            .get("/health")
            .await
            .unwrap();
        assert_eq!(health.status, 200, "{}", node.stderr());
        generate_one(&session_on(node).await).await;
    }
    let (rows, versions) = database.migration_rows().await;
    assert!(rows >= 1);
    assert_eq!(rows, versions, "a migration recorded twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_payments_of_one_dynamic_qr_over_two_nodes_pay_it_once() {
    let Some((database, a, b)) = two_nodes().await else {
        return;
    };
    let public_key = snapqris_test_support::testdata("partner-public.pem");
    database.run_ok(&[
        "admin",
        "partner",
        "add",
        "--client-id",
        "payer-bank",
        "--public-key",
        &public_key.display().to_string(),
        "--client-secret",
        "secret-of-payer-bank",
        "--services",
        "50",
    ]);
    let on_a = session_on(&a).await;
    let body = serde_json::json!({"partnerReferenceNo": "INV-1", "merchantId": MERCHANT,
        "amount": {"value": "9000.00", "currency": "IDR"}});
    let (_, generated) = on_a.call(GENERATE, &body).await.unwrap();
    assert_code(&generated, "2004700");
    let content = generated.json().unwrap()["qrContent"].clone();
    let payer_on = |node: &Serve| {
        PartnerSession::new(
            node.base_url(),
            "payer-bank",
            partner_key(),
            snapqris_client::TransactionAuth::Hmac {
                client_secret: "secret-of-payer-bank".into(),
            },
        )
        .unwrap()
    };
    let mut payer_a = payer_on(&a);
    let (_, token) = payer_a.take_token().await.unwrap();
    assert_code(&token, "2007300");
    let mut payer_b = payer_on(&b);
    payer_b.set_token(payer_a.token().map(str::to_owned));

    let tasks = (0..20).map(|n| {
        let session = if n % 2 == 0 { &payer_a } else { &payer_b };
        let body = serde_json::json!({"partnerReferenceNo": format!("RACE-{n}"),
            "qrContent": content});
        async move { session.call(PAYMENT, &body).await.unwrap().1 }
    });
    let answers = join_all(tasks).await;

    let mut codes: BTreeMap<String, usize> = BTreeMap::new();
    for answer in &answers {
        *codes.entry(answer.response_code().unwrap()).or_default() += 1;
    }
    let expected = BTreeMap::from([("2005000".to_owned(), 1), ("4045000".to_owned(), 19)]);
    assert_eq!(codes, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_refunds_of_one_payment_over_two_nodes_never_pass_the_paid_amount() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let database = ProcessDatabase::new(&backend).await;
    database.register_partner_and_merchant();
    // Granted before the nodes start, so neither has the old grants cached.
    database.run_ok(&[
        "admin",
        "partner",
        "set-services",
        PARTNER,
        "--services",
        "47,50,51,77,78,90,93",
    ]);
    let (a, b) = (database.serve(), database.serve());
    let on_a = session_on(&a).await;
    let on_b = with_token_of(&b, &on_a);
    let body = serde_json::json!({"partnerReferenceNo": "INV-1", "merchantId": MERCHANT,
        "amount": {"value": "9000.00", "currency": "IDR"}});
    let (_, generated) = on_a.call(GENERATE, &body).await.unwrap();
    assert_code(&generated, "2004700");
    let generated = generated.json().unwrap();
    let pay = serde_json::json!({"partnerReferenceNo": "PAY-1",
        "qrContent": generated["qrContent"]});
    let (_, paid) = on_b.call(PAYMENT, &pay).await.unwrap();
    assert_code(&paid, "2005000");

    // 1,000.00 to 2,900.00 each, alternately on each node: 39,000.00 asked of 9,000.00.
    let tasks = (0..20).map(|n| {
        let session = if n % 2 == 0 { &on_a } else { &on_b };
        let body = serde_json::json!({"merchantId": MERCHANT,
            "originalReferenceNo": generated["referenceNo"],
            "partnerRefundNo": format!("RACE-{n}"),
            "refundAmount": {"value": format!("{}.00", 1000 + n * 100), "currency": "IDR"}});
        async move { session.call(REFUND, &body).await.unwrap().1 }
    });
    let answers = join_all(tasks).await;

    let mut refunded_sen = 0;
    let mut made = 0;
    for answer in &answers {
        match answer.response_code().unwrap().as_str() {
            "2007800" => {
                let value = answer.json().unwrap()["refundAmount"]["value"]
                    .as_str()
                    .unwrap()
                    .replace('.', "");
                refunded_sen += value.parse::<i64>().unwrap();
                made += 1;
            }
            code => assert_eq!(code, "4037802", "{}", answer.text()),
        }
    }
    assert!(
        refunded_sen <= 900_000,
        "{refunded_sen} sen refunded of 900000"
    );
    assert!(made >= 3, "{made}");
    let query = serde_json::json!({"originalReferenceNo": generated["referenceNo"],
        "serviceCode": "47", "merchantId": MERCHANT});
    let (_, queried) = on_a.call(QUERY, &query).await.unwrap();
    let refunded = &queried.json().unwrap()["additionalInfo"]["refundedAmount"]["value"];
    let expected = format!("{}.{:02}", refunded_sen / 100, refunded_sen % 100);
    assert_eq!(refunded.as_str(), Some(expected.as_str()));
}
