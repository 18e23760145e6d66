//! The console's merchant day of 1,000 QRs (one whole page), served over loopback HTTP by
//! `serve_console` on SQLite: `cargo bench -p snapqris-server --bench console_day`. The figure
//! includes reading the day from the store, the statuses and the HTML (BENCHMARKS.md: the
//! target is under 300 ms).
#![allow(missing_docs)]

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use snapqris_protocol::{ClientId, MerchantId};
use snapqris_server::{AppState, ManualClock, ServerConfig};
use snapqris_store::{NewMerchant, NewQr, Operator, QrKind};
use snapqris_test_support::{new_merchant, new_partner};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-12-07 03:00 UTC);
const QRS: i64 = 1000;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

async fn console_with_a_big_day(dir: &std::path::Path) -> (String, String) {
    let url = format!("sqlite://{}", dir.join("bench.db").display());
    let store = snapqris_store::connect(&url, &Default::default())
        .await
        .unwrap();
    store.add_partner(&new_partner("P1"), NOW).await.unwrap();
    let merchant = NewMerchant {
        name: "Warung Bench".into(),
        ..new_merchant("M1", "P1")
    };
    store.add_merchant(&merchant, NOW).await.unwrap();
    for id_qr in 1..=QRS {
        let qr = NewQr {
            id_qr,
            merchant_id: MerchantId::parse("M1").unwrap(),
            client_id: ClientId::parse("P1").unwrap(),
            partner_reference_no: format!("reference-{id_qr}"),
            kind: QrKind::Dynamic,
            amount_sen: Some(125_000),
            terminal_id: Some("T01".into()),
            generated_at: NOW + time::Duration::seconds(id_qr),
            expires_at: Some(NOW + time::Duration::hours(2)),
            qr_content: format!("00020101021226{id_qr:0>40}"),
        };
        store.insert_qr(&qr).await.unwrap();
    }
    let operator = Operator {
        name: "bench".into(),
        password_hash: snapqris_server::hash_password("bench password").unwrap(),
        created_at: NOW,
    };
    store.add_operator(&operator).await.unwrap();
    let clock = Arc::new(ManualClock::new(NOW + time::Duration::minutes(30)));
    let state = AppState::new(ServerConfig::default(), store, clock)
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(snapqris_server::serve_console(
        listener,
        state,
        std::future::pending(),
    ));
    let client = http_client();
    let login = hyper::Request::post(format!("{base}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::from("name=bench&password=bench+password"))
        .unwrap();
    let answer = client.request(login).await.unwrap();
    let cookie = answer.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    (base, cookie)
}

fn http_client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

fn merchant_day(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (base, cookie) = runtime.block_on(console_with_a_big_day(dir.path()));
    let client = http_client();
    let url = format!("{base}/merchants/M1/day?date=2026-12-07");
    let fetch = || async {
        let request = hyper::Request::get(&url)
            .header("cookie", &cookie)
            .body(Full::default())
            .unwrap();
        let answer = client.request(request).await.unwrap();
        assert_eq!(answer.status(), 200);
        let body = answer.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(
            body.windows(13).filter(|w| w == b"<tr data-id-q").count(),
            QRS as usize
        );
        body.len()
    };
    let size = runtime.block_on(fetch());
    println!("merchant day page of {QRS} QRs: {size} bytes of HTML");
    let mut group = c.benchmark_group("console");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("merchant_day_1000_qrs", |b| {
        b.to_async(&runtime).iter(fetch);
    });
    group.finish();
}

criterion_group!(benches, merchant_day);
criterion_main!(benches);
