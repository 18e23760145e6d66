//! Races (issue 5, "Durability and concurrency"): uniqueness rules hold when many requests
//! arrive at once, because the database decides, not a read before the write.

use crate::support::*;
use futures_util::future::join_all;
use serde_json::{Value, json};
use snapqris_client::{PartnerSession, Response, fresh_external_id};
use snapqris_protocol::XTimestamp;
use std::collections::{BTreeMap, HashSet};

/// Sends `bodies` at once, each signed in its own task just before it goes out, with the
/// `X-EXTERNAL-ID` next to it; answers come back in the order given.
async fn send_at_once(
    app: &TestApp,
    path: &'static str,
    requests: Vec<(String, Value)>,
) -> Vec<Response> {
    let timestamp = app.timestamp();
    let tasks = requests.into_iter().map(|(external_id, body)| {
        let session: PartnerSession = app.session.clone();
        let timestamp: XTimestamp = timestamp.clone();
        tokio::spawn(async move {
            let request =
                session.prepare_with(path, body.to_string().as_bytes(), &external_id, &timestamp);
            session.client().send(&request).await.unwrap()
        })
    });
    join_all(tasks)
        .await
        .into_iter()
        .map(|joined| joined.unwrap())
        .collect()
}

/// How many answers carried each `responseCode`.
fn count_codes(responses: &[Response]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for response in responses {
        let code = response
            .response_code()
            .unwrap_or_else(|| format!("HTTP {} {}", response.status, response.text()));
        *counts.entry(code).or_insert(0) += 1;
    }
    counts
}

async fn one_external_id_sent_64_times_at_once_succeeds_once(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_code(&app.generate_static("listed").await, "2004700");
    let external_id = fresh_external_id();
    let requests = (0..64)
        .map(|_| (external_id.clone(), list_body("2026-11-25", MERCHANT)))
        .collect();

    let responses = send_at_once(&app, LIST, requests).await;

    let counts = count_codes(&responses);
    assert_eq!(
        counts,
        BTreeMap::from([("2009000".to_owned(), 1), ("4099000".to_owned(), 63)]),
    );
}

async fn one_partner_reference_generated_64_times_at_once_is_stored_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = json!({
        "partnerReferenceNo": "same-reference",
        "merchantId": MERCHANT,
        "amount": {"value": "15000.00", "currency": "IDR"}
    });
    let requests = (0..64)
        .map(|_| (fresh_external_id(), body.clone()))
        .collect();

    let responses = send_at_once(&app, GENERATE, requests).await;

    let counts = count_codes(&responses);
    assert_eq!(
        counts,
        BTreeMap::from([("2004700".to_owned(), 1), ("4094701".to_owned(), 63)]),
    );
    let winner = responses
        .iter()
        .find(|r| r.response_code().as_deref() == Some("2004700"))
        .unwrap();
    let listed = listed_ids(&app).await;
    assert_eq!(
        listed,
        vec![
            winner.json().unwrap()["referenceNo"]
                .as_str()
                .unwrap()
                .to_owned()
        ]
    );
}

async fn a_hundred_generates_at_once_get_a_hundred_distinct_ids_all_listed(backend: Backend) {
    let app = spawn_app(backend).await;
    let requests = (0..100)
        .map(|n| {
            let body = json!({
                "partnerReferenceNo": format!("ref-{n}"),
                "merchantId": MERCHANT,
                "amount": {"value": format!("{}.00", 1000 + n), "currency": "IDR"}
            });
            (fresh_external_id(), body)
        })
        .collect();

    let responses = send_at_once(&app, GENERATE, requests).await;

    assert_eq!(
        count_codes(&responses),
        BTreeMap::from([("2004700".to_owned(), 100)])
    );
    let answered: HashSet<String> = responses
        .iter()
        .map(|r| {
            r.json().unwrap()["referenceNo"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(answered.len(), 100, "every referenceNo distinct");
    let listed = listed_ids(&app).await;
    assert_eq!(listed.len(), 100, "no QR listed twice: {listed:?}");
    assert_eq!(listed.into_iter().collect::<HashSet<_>>(), answered);
}

/// The `id_qr` values listed for `MERCHANT` on the app's day, in answer order.
async fn listed_ids(app: &TestApp) -> Vec<String> {
    let response = app.list_today().await;
    assert_code(&response, "2009000");
    response.json().unwrap()["dataDetail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id_qr"].as_str().unwrap().to_owned())
        .collect()
}

crate::on_each_backend!(
    one_external_id_sent_64_times_at_once_succeeds_once,
    one_partner_reference_generated_64_times_at_once_is_stored_once,
    a_hundred_generates_at_once_get_a_hundred_distinct_ids_all_listed,
);
