use crate::support::*;
use futures_util::StreamExt;
use serde_json::Value;
use snapqris_protocol::JakartaDate;

/// What a client can see of the store: partners, merchants and the day's QRs.
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
    let qrs: Vec<String> = app
        .store
        .list_day(MERCHANT, day)
        .map(|item| format!("{:?}", item.unwrap()))
        .collect()
        .await;
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

async fn malformed_bodies_never_answer_5xx_nor_change_the_store(backend: Backend) {
    let app = spawn_app(backend).await;
    app.generate_static("ref-1").await;
    let before = snapshot(&app).await;
    let mut tried = 0;
    for path in [TOKEN, GENERATE, LIST] {
        for body in bodies() {
            let request = if path == TOKEN {
                let mut request = app.token_request();
                request.body = body;
                request
            } else {
                app.request_raw(path, &body)
            };
            let response = app.send(&request).await;
            tried += 1;
            let json: Value = response
                .json()
                .unwrap_or_else(|| panic!("not JSON: {}", response.text()));
            let code = json["responseCode"].as_str().unwrap();
            assert!(response.status < 500, "{path} {code}");
            assert_eq!(response.status.to_string(), code[..3]);
        }
    }
    assert!(tried >= 75);
    assert_eq!(snapshot(&app).await, before);
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
    malformed_bodies_never_answer_5xx_nor_change_the_store,
    unknown_paths_and_methods_get_snap_json,
    an_oversized_body_is_a_snap_bad_request,
);
