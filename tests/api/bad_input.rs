use crate::support::*;
use futures_util::StreamExt;
use serde_json::{Value, json};
use snapqris_protocol::JakartaDate;

/// What a client can see of the store: partners, merchants and the day's QRs with their
/// payments.
async fn snapshot(app: &TestApp) -> String {
    let partners: Vec<String> = app
        .store
        .partners()
        .await
        .unwrap()
        .iter()
        .map(|p| format!("{} {} {}", p.client_id, p.enabled, p.public_key_pem.len()))
        .collect();
    let merchants: Vec<String> = app
        .store
        .merchants(None)
        .await
        .unwrap()
        .iter()
        .map(|m| format!("{} {} {:?}", m.merchant_id, m.client_id, m.blacklisted))
        .collect();
    let day = JakartaDate::of_instant(START);
    let listed: Vec<_> = app
        .store
        .list_day(MERCHANT, day)
        .map(|item| item.unwrap().id_qr)
        .collect()
        .await;
    let mut qrs = Vec::new();
    for id_qr in listed {
        qrs.push(format!("{:?}", app.store.qr(id_qr).await.unwrap()));
    }
    format!("{partners:?}\n{merchants:?}\n{qrs:?}")
}

fn bodies() -> Vec<Vec<u8>> {
    let mut bodies: Vec<Vec<u8>> = [
        "", "{", "}", "[]", "null", "1", "\"x\"", "{\"a\":}", "{\"partnerReferenceNo\":1}",
        "{\"merchantId\":[]}", "{\"dateGenerate\":null}", "{\"dateGenerate\":\"2024-02-30\"}",
        "{\"dateGenerate\":\"2024-03-15T25:00:00+07:00\",\"additionalInfo\":{\"merchantId\":\"M0001\"}}",
        "{\"dateGenerate\":\"2024-03-15\",\"additionalInfo\":{\"merchantId\":\"' OR 1=1 --\"}}",
        "{\"dateGenerate\":\"2024-03-15\",\"additionalInfo\":{\"merchantId\":\"<script>\"}}",
        "{\"partnerReferenceNo\":\"R\",\"merchantId\":\"M0001\",\"amount\":{\"value\":9000,\"currency\":\"IDR\"}}",
        "{\"partnerReferenceNo\":\"R\",\"merchantId\":\"M0001\",\"amount\":{\"value\":\"1e9\",\"currency\":\"IDR\"}}",
        "{\"partnerReferenceNo\":\"R\",\"merchantId\":\"M0001\",\"amount\":{\"value\":\"99999999999999999999.00\",\"currency\":\"IDR\"}}",
        "{\"partnerReferenceNo\":\"R\",\"merchantId\":\"M0001\",\"amount\":{\"value\":\"-1.00\",\"currency\":\"IDR\"}}",
        "{\"partnerReferenceNo\":\"R\",\"merchantId\":\"M0001\",\"terminalId\":\"12345678901234567\"}",
        "{\"partnerReferenceNo\":\"R\",\"merchantId\":\"M0001\",\"validityPeriod\":\"soon\"}",
        "{\"grantType\":null}",
    ]
    .iter()
    .map(|b| b.as_bytes().to_vec())
    .collect();
    bodies.push(vec![0xff, 0xfe, b'{', b'}']);
    bodies.push(format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes());
    bodies.push(vec![b' '; 70_000]);
    bodies
}

/// A valid body per path, to truncate and to break field by field.
fn valid_body(path: &str) -> Value {
    match path {
        TOKEN => json!({"grantType": "client_credentials"}),
        GENERATE => json!({"partnerReferenceNo": "NEW-1", "merchantId": MERCHANT,
            "amount": {"value": "9000.00", "currency": "IDR"}, "terminalId": "T1",
            "validityPeriod": "2026-11-25T16:00:00+07:00"}),
        LIST => list_body("2026-11-25", MERCHANT),
        QUERY => json!({"originalReferenceNo": "1", "serviceCode": "47", "merchantId": MERCHANT}),
        // A valid QRIS payload, but none of ours: even its valid variants pay nothing.
        PAYMENT => json!({"partnerReferenceNo": "PAY-1", "qrContent": foreign_payload(),
            "amount": {"value": "9000.00", "currency": "IDR"},
            "additionalInfo": {"issuerName": "Bank Payer", "customerName": "Budi", "rrn": "1"}}),
        // The unpaid static QR `ref-1`: even a valid variant refunds nothing (4047800) and
        // cancels nothing (4047700).
        REFUND => json!({"merchantId": MERCHANT, "originalPartnerReferenceNo": "ref-1",
            "partnerRefundNo": "RF-1", "refundAmount": {"value": "10.00", "currency": "IDR"},
            "reason": "returned", "additionalInfo": {"paymentId": "1"}}),
        CANCEL => json!({"merchantId": MERCHANT, "originalPartnerReferenceNo": "ref-1",
            "reason": "withdrawn"}),
        _ => json!({"billnumber": "1", "additionalInfo": {"merchantId": MERCHANT}}),
    }
}

/// A real-world static QRIS payload of another acquirer (`testdata/qris-samples.txt`).
fn foreign_payload() -> String {
    let samples = std::fs::read_to_string(snapqris_test_support::testdata("qris-samples.txt"));
    let samples = samples.unwrap();
    let line = samples
        .lines()
        .find(|line| line.starts_with("doku-static "));
    line.unwrap()["doku-static ".len()..].to_owned()
}

/// Every body this path must refuse: generic garbage, each truncation of a valid body, and the
/// valid body with one field replaced by a wrong type, a wrong length or a hostile string.
fn bad_bodies(path: &str) -> Vec<Vec<u8>> {
    let mut bodies = bodies();
    let valid = valid_body(path).to_string();
    for cut in (1..valid.len()).step_by(valid.len().div_ceil(12)) {
        bodies.push(valid.as_bytes()[..cut].to_vec());
    }
    let wrong_values = [
        json!(12345),
        json!(null),
        json!(true),
        json!([]),
        json!({}),
        json!(""),
        json!("x".repeat(300)),
        json!("' OR '1'='1"),
        json!("<script>alert(1)</script>"),
        json!("\u{0}"),
    ];
    let is_date = |key: &str| key == "dateGenerate" || key == "validityPeriod";
    let is_optional = |key: &str| {
        (path == GENERATE && matches!(key, "amount" | "terminalId" | "validityPeriod"))
            || (path == PAYMENT && matches!(key, "amount" | "additionalInfo"))
            || (path == REFUND && matches!(key, "reason" | "additionalInfo"))
    };
    let Value::Object(fields) = valid_body(path) else {
        unreachable!()
    };
    for key in fields.keys() {
        let impossible_date = json!("2024-02-30");
        let extra = is_date(key).then_some(&impossible_date);
        for value in wrong_values.iter().chain(extra) {
            let mut body = fields.clone();
            if is_optional(key) && (value.is_null() || value == "") {
                continue; // an optional field left out: a valid request
            }
            body.insert(key.clone(), value.clone());
            bodies.push(Value::Object(body).to_string().into_bytes());
        }
        let mut without = fields.clone();
        without.remove(key);
        if !is_optional(key) {
            bodies.push(Value::Object(without).to_string().into_bytes());
        }
    }
    if path == PAYMENT {
        let info = [
            json!({"issuerName": "x".repeat(65)}),
            json!({"customerName": "x".repeat(65)}),
            json!({"rrn": "1".repeat(33)}),
            json!({"rrn": 12}),
        ];
        for value in info.into_iter().chain([
            json!({"issuerName": "Bank\u{0}"}),
            json!({"customerName": "\n"}),
        ]) {
            let mut body = fields.clone();
            body.insert("additionalInfo".into(), value);
            bodies.push(Value::Object(body).to_string().into_bytes());
        }
        let payload = foreign_payload();
        let broken_crc = format!("{}FFFF", &payload[..payload.len() - 4]);
        for content in [broken_crc, format!("{payload}00"), payload[..40].to_owned()] {
            let mut body = fields.clone();
            body.insert("qrContent".into(), json!(content));
            bodies.push(Value::Object(body).to_string().into_bytes());
        }
    }
    if path == REFUND {
        let info = [
            json!({"paymentId": 1}),
            json!({"paymentId": "-1"}),
            json!({"paymentId": "1".repeat(20)}),
            json!({"paymentId": "1 OR 1=1"}),
            json!([{"paymentId": "1"}]),
        ];
        for value in info {
            let mut body = fields.clone();
            body.insert("additionalInfo".into(), value);
            bodies.push(Value::Object(body).to_string().into_bytes());
        }
        for value in [
            "0.00",
            "-5.00",
            "99999999999999999.00",
            "1e3",
            "9,000.00",
            "9000.1",
        ] {
            let mut body = fields.clone();
            body.insert(
                "refundAmount".into(),
                json!({"value": value, "currency": "IDR"}),
            );
            bodies.push(Value::Object(body).to_string().into_bytes());
        }
        for currency in [json!("USD"), json!(""), json!(360)] {
            let mut body = fields.clone();
            body.insert(
                "refundAmount".into(),
                json!({"value": "1.00", "currency": currency}),
            );
            bodies.push(Value::Object(body).to_string().into_bytes());
        }
    }
    if path == REFUND || path == CANCEL {
        for (key, value) in [
            ("reason", json!("r".repeat(257))),
            ("originalReferenceNo", json!("12a")),
            ("originalReferenceNo", json!("99999999999999999999")),
            ("originalPartnerReferenceNo", json!("ref 1")),
        ] {
            let mut body = fields.clone();
            body.insert(key.into(), value);
            bodies.push(Value::Object(body).to_string().into_bytes());
        }
    }
    if path == GENERATE || path == PAYMENT {
        for value in [
            "0.00",
            "-5.00",
            "99999999999999999.00",
            "1e3",
            "9,000.00",
            "9000.1",
        ] {
            let mut body = fields.clone();
            body.insert("amount".into(), json!({"value": value, "currency": "IDR"}));
            bodies.push(Value::Object(body).to_string().into_bytes());
        }
    }
    bodies
}

/// Header damage that must be refused before anything is stored.
fn header_damage() -> Vec<(&'static str, Option<String>)> {
    let mut damage: Vec<(&'static str, Option<String>)> = vec![];
    for name in [
        "X-TIMESTAMP",
        "X-PARTNER-ID",
        "X-EXTERNAL-ID",
        "X-SIGNATURE",
        "Authorization",
    ] {
        damage.push((name, None));
        damage.push((name, Some(String::new())));
        damage.push((name, Some("é".into())));
        damage.push((name, Some("x".repeat(300))));
    }
    damage.extend([
        ("X-TIMESTAMP", Some("2026-11-25 15:00:00+07:00".into())),
        ("X-TIMESTAMP", Some("2026-11-25T15:00:00+0700".into())),
        ("X-TIMESTAMP", Some("2026-02-30T15:00:00+07:00".into())),
        ("X-TIMESTAMP", Some("2020-01-01T00:00:00Z".into())),
        ("X-PARTNER-ID", Some("partner a".into())),
        ("X-PARTNER-ID", Some("p".repeat(37))),
        ("X-PARTNER-ID", Some("nobody".into())),
        ("X-EXTERNAL-ID", Some("e".repeat(37))),
        ("X-EXTERNAL-ID", Some("has/slash".into())),
        ("X-SIGNATURE", Some("not base64!".into())),
        ("X-SIGNATURE", Some("AAAA".into())),
        ("Authorization", Some("Basic dXNlcjpwYXNz".into())),
        ("Authorization", Some("Bearer forged.token".into())),
        ("CHANNEL-ID", Some("c".repeat(65))),
        ("X-CHANNEL-ID", Some("é".into())),
    ]);
    damage
}

fn assert_documented(path: &str, response: &snapqris_client::Response) {
    let json: Value = response
        .json()
        .unwrap_or_else(|| panic!("{path}: not JSON: {}", response.text()));
    let code = json["responseCode"].as_str().unwrap();
    assert!(response.status < 500, "{path} {code}");
    assert_eq!(response.status.to_string(), code[..3], "{path}");
    assert_eq!(
        json.as_object().unwrap().len(),
        2,
        "{path}: errors carry only code and message: {json}"
    );
}

async fn malformed_requests_never_answer_5xx_nor_change_the_store(backend: Backend) {
    let app = spawn_app(backend).await;
    app.generate_static("ref-1").await;
    let before = snapshot(&app).await;
    let mut tried = 0;
    let mut tried_on_lifecycle = 0;
    for path in [
        TOKEN, GENERATE, LIST, QUERY, EXPIRE, PAYMENT, REFUND, CANCEL,
    ] {
        let tried_before = tried;
        for body in bad_bodies(path) {
            let request = if path == TOKEN {
                let mut request = app.token_request();
                request.body = body;
                request
            } else {
                app.request_raw(path, &body)
            };
            assert_documented(path, &app.send(&request).await);
            tried += 1;
        }
        if path == TOKEN {
            continue;
        }
        let body = valid_body(path).to_string();
        for (name, value) in header_damage() {
            let mut request = app.request_raw(path, body.as_bytes());
            match &value {
                None => request.remove_header(name),
                Some(value) => request.set_header(name, value),
            }
            assert_documented(path, &app.send(&request).await);
            let mut twice = app.request_raw(path, body.as_bytes());
            let current = twice.header(name).map(str::to_owned);
            if let Some(current) = current {
                twice.headers.push((name.to_owned(), current));
                assert_documented(path, &app.send(&twice).await);
                tried += 1;
            }
            tried += 1;
        }
        if [PAYMENT, REFUND, CANCEL].contains(&path) {
            tried_on_lifecycle += tried - tried_before;
        }
    }
    eprintln!("{tried} malformed requests tried, {tried_on_lifecycle} of them on 50, 77 and 78");
    assert!(tried >= 300, "{tried}");
    assert!(tried_on_lifecycle >= 100, "{tried_on_lifecycle}");
    assert_eq!(snapshot(&app).await, before);
    assert_eq!(
        app.session.client().get("/health").await.unwrap().status,
        200
    );
}

async fn unknown_paths_and_methods_get_snap_json(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.session.client();
    let response = client.get("/nope").await.unwrap();
    assert_eq!(response.status, 404);
    assert_eq!(
        response.text(),
        r#"{"responseCode":"4040000","responseMessage":"Not Found"}"#
    );
    let response = client.get(LIST).await.unwrap();
    assert_eq!(response.status, 405);
    assert_eq!(response.response_code().as_deref(), Some("4050000"));
}

async fn an_oversized_body_is_a_snap_bad_request(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = format!("{{\"pad\":\"{}\"}}", "x".repeat(70_000));
    let response = app.send(&app.request_raw(LIST, body.as_bytes())).await;
    assert_code(&response, "4009000");
}

crate::on_each_backend!(
    malformed_requests_never_answer_5xx_nor_change_the_store,
    unknown_paths_and_methods_get_snap_json,
    an_oversized_body_is_a_snap_bad_request,
);
