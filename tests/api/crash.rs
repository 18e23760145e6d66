//! Crashes and stops (issue 5, CONTRACT §2–3): a `kill -9` under load loses no acknowledged
//! QR and duplicates none; SIGTERM lets an in-flight request finish, then exits 0.
//!
//! These run the real binary on SQLite and, when configured, PostgreSQL.

use crate::support::*;
use serde_json::json;
use snapqris_client::{PartnerSession, fresh_external_id};
use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Tasks generating at once.
const LOAD_TASKS: usize = 8;
/// How long the load runs before the kill.
const LOAD_BEFORE_KILL: Duration = Duration::from_millis(1500);
/// Kill, restart and load again this many times per test.
const CRASHES: usize = 2;

/// What the load saw: every `referenceNo` answered `2004700`, other answers by code, and
/// whether each task stopped because the server went away (rather than at its deadline).
#[derive(Default)]
struct LoadOutcome {
    acknowledged: Vec<String>,
    other_codes: BTreeMap<String, usize>,
    cut_off_tasks: usize,
}

/// Generates dynamic QRs from `LOAD_TASKS` tasks until the server stops answering (or a
/// safety deadline passes).
async fn generate_until_the_server_dies(
    session: &PartnerSession,
    round: usize,
) -> Vec<tokio::task::JoinHandle<LoadOutcome>> {
    let deadline = Instant::now() + Duration::from_secs(8);
    (0..LOAD_TASKS)
        .map(|task| {
            let session = session.clone();
            tokio::spawn(async move {
                let mut outcome = LoadOutcome::default();
                for n in 0.. {
                    if Instant::now() >= deadline {
                        break;
                    }
                    let body = json!({
                        "partnerReferenceNo": format!("crash-{round}-{task}-{n}"),
                        "merchantId": MERCHANT,
                        "amount": {"value": "25000.00", "currency": "IDR"}
                    });
                    let request = session.prepare_with(
                        GENERATE,
                        body.to_string().as_bytes(),
                        &fresh_external_id(),
                        &real_timestamp(),
                    );
                    let Ok(response) = session.client().send(&request).await else {
                        outcome.cut_off_tasks += 1;
                        break;
                    };
                    match response.response_code().as_deref() {
                        Some("2004700") => outcome.acknowledged.push(
                            response.json().unwrap()["referenceNo"]
                                .as_str()
                                .unwrap()
                                .to_owned(),
                        ),
                        _ => {
                            *outcome
                                .other_codes
                                .entry(format!("{} {}", response.status, response.text()))
                                .or_insert(0) += 1
                        }
                    }
                }
                outcome
            })
        })
        .collect()
}

/// Every `id_qr` listed for `MERCHANT` on any of `days`, in answer order.
async fn listed_ids(session: &PartnerSession, days: &HashSet<String>) -> Vec<String> {
    let mut ids = Vec::new();
    for day in days {
        let (_, response) = session.call(LIST, &list_body(day, MERCHANT)).await.unwrap();
        if response.response_code().as_deref() == Some("4049001") {
            continue;
        }
        assert_code(&response, "2009000");
        ids.extend(
            response.json().unwrap()["dataDetail"]
                .as_array()
                .unwrap()
                .iter()
                .map(|item| item["id_qr"].as_str().unwrap().to_owned()),
        );
    }
    ids
}

async fn every_acknowledged_qr_survives_kill_9_exactly_once(backend: Backend) {
    let database = ProcessDatabase::new(&backend).await;
    database.register_partner_and_merchant();
    let mut server = database.serve();
    let mut acknowledged = Vec::new();
    // The Jakarta day may turn during the test; every day it touched is listed.
    let mut days = HashSet::from([real_today()]);

    for round in 0..CRASHES {
        let session = session_on(&server).await;
        let load = generate_until_the_server_dies(&session, round).await;
        tokio::time::sleep(LOAD_BEFORE_KILL).await;
        server.kill();
        let mut cut_off_tasks = 0;
        let mut acknowledged_this_round = 0;
        for task in load {
            let outcome = task.await.unwrap();
            assert!(outcome.other_codes.is_empty(), "{:?}", outcome.other_codes);
            cut_off_tasks += outcome.cut_off_tasks;
            acknowledged_this_round += outcome.acknowledged.len();
            acknowledged.extend(outcome.acknowledged);
        }
        assert_eq!(
            cut_off_tasks, LOAD_TASKS,
            "the kill came while the load ran"
        );
        assert!(
            acknowledged_this_round > 0,
            "no QR generated in round {round}"
        );
        days.insert(real_today());
        server = database.serve();
    }

    let listed = listed_ids(&session_on(&server).await, &days).await;
    let listed_once: HashSet<&String> = listed.iter().collect();
    assert_eq!(listed_once.len(), listed.len(), "a QR listed twice");
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|id| !listed_once.contains(id))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged QRs lost: {lost:?}",
        lost.len(),
        acknowledged.len()
    );
    let unique_acknowledged: HashSet<&String> = acknowledged.iter().collect();
    assert_eq!(unique_acknowledged.len(), acknowledged.len());
    let store = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres(_) => "postgres",
    };
    eprintln!(
        "{store}: {CRASHES} kills, {} acknowledged QRs all listed once ({} listed in all)",
        acknowledged.len(),
        listed.len()
    );
}

/// Undoes HTTP/1.1 chunked transfer coding.
fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n").unwrap();
        let size_text = std::str::from_utf8(&body[..line_end]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        body = &body[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

async fn sigterm_lets_an_in_flight_request_finish_then_exits_0(backend: Backend) {
    let database = ProcessDatabase::new(&backend).await;
    database.register_partner_and_merchant();
    let mut server = database.serve();
    let session = session_on(&server).await;
    let (_, generated) = session
        .call(
            GENERATE,
            &json!({"partnerReferenceNo": "before-sigterm", "merchantId": MERCHANT}),
        )
        .await
        .unwrap();
    assert_code(&generated, "2004700");
    let body = list_body(&real_today(), MERCHANT).to_string();
    let request = session.prepare_with(
        LIST,
        body.as_bytes(),
        &fresh_external_id(),
        &real_timestamp(),
    );
    let mut head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        request.path,
        server.address(),
        request.body.len()
    );
    for (name, value) in &request.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let (first_half, second_half) = request.body.split_at(request.body.len() / 2);

    // A slow client: headers and half the body, then a pause in which the server is told to stop.
    let mut connection = tokio::net::TcpStream::connect(server.address())
        .await
        .unwrap();
    connection.write_all(head.as_bytes()).await.unwrap();
    connection.write_all(first_half).await.unwrap();
    connection.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.terminate();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        server.try_wait().is_none(),
        "serve exited with a request in flight: {}",
        server.stderr()
    );
    connection.write_all(second_half).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), connection.read_to_end(&mut answer))
        .await
        .expect("the answer within 10 s")
        .unwrap();
    let status = server.wait_exit(Duration::from_secs(10));

    let text = String::from_utf8_lossy(&answer);
    let (head, payload) = text.split_once("\r\n\r\n").expect("a complete HTTP answer");
    assert!(head.starts_with("HTTP/1.1 200 "), "{text}");
    let payload = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(payload.as_bytes())
    } else {
        payload.as_bytes().to_vec()
    };
    let json: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(json["responseCode"], "2009000", "{json}");
    assert_eq!(
        json["dataDetail"][0]["id_qr"],
        generated.json().unwrap()["referenceNo"]
    );
    let status = status.unwrap_or_else(|| panic!("serve still running: {}", server.stderr()));
    assert!(status.success(), "{status:?}: {}", server.stderr());
}

crate::on_each_backend!(
    every_acknowledged_qr_survives_kill_9_exactly_once,
    sigterm_lets_an_in_flight_request_finish_then_exits_0,
);
