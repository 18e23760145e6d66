use crate::support::*;
use snapqris_protocol::{
    SignatureTolerance, XTimestamp, hmac_sha512_base64, hmac_string_to_sign, minify_json,
    reserialize_json, sha256_hex,
};
use snapqris_server::ServerConfig;

/// A pretty-printed list body with escapes: its raw, stripped and re-serialised forms differ.
const PRETTY: &str = "{\n  \"dateGenerate\": \"2026-11-25\",\n  \"additionalInfo\": { \"merchantId\": \"M0001\", \"note\": \"caf\\u00e9 \\/ kopi\" }\n}";

/// A list request whose signature covers `signed_bytes` instead of the minified body.
fn signed_over(app: &TestApp, signed_bytes: &[u8]) -> snapqris_client::PreparedRequest {
    let mut request = app.request_raw(LIST, PRETTY.as_bytes());
    let token = app.session.token().unwrap();
    let timestamp = request.header("X-TIMESTAMP").unwrap().to_owned();
    let message = hmac_string_to_sign("POST", LIST, token, &sha256_hex(signed_bytes), &timestamp);
    request.set_header(
        "X-SIGNATURE",
        &hmac_sha512_base64(SECRET.as_bytes(), message.as_bytes()),
    );
    request
}

fn variants() -> [(&'static str, Vec<u8>); 3] {
    let raw = PRETTY.as_bytes().to_vec();
    [
        ("raw", raw.clone()),
        ("whitespace-stripped", minify_json(&raw)),
        ("reserialized", reserialize_json(&raw).unwrap()),
    ]
}

async fn signatures_over_each_body_variant_are_accepted_when_lenient(backend: Backend) {
    let app = spawn_app(backend).await;
    app.generate_static("ref-1").await;
    let hashes: std::collections::HashSet<String> = variants()
        .iter()
        .map(|(_, bytes)| sha256_hex(bytes))
        .collect();
    assert_eq!(
        hashes.len(),
        3,
        "the three variants must differ for this test to mean anything"
    );
    for (name, bytes) in variants() {
        let response = app.send(&signed_over(&app, &bytes)).await;
        assert_eq!(
            response.response_code().as_deref(),
            Some("2009000"),
            "{name}"
        );
    }
}

async fn strict_tolerance_accepts_only_the_whitespace_stripped_hash(backend: Backend) {
    let config = ServerConfig {
        signature_tolerance: SignatureTolerance::Strict,
        ..Default::default()
    };
    let app = spawn_app_on(backend, config).await;
    app.generate_static("ref-1").await;
    for (name, bytes) in variants() {
        let expected = if name == "whitespace-stripped" {
            "2009000"
        } else {
            "4019000"
        };
        let response = app.send(&signed_over(&app, &bytes)).await;
        assert_eq!(
            response.response_code().as_deref(),
            Some(expected),
            "{name}"
        );
    }
}

async fn timestamps_in_utc_or_jakarta_with_or_without_fractions_are_accepted(backend: Backend) {
    let app = spawn_app(backend).await;
    app.generate_static("ref-1").await;
    let body = list_body("2026-11-25", MERCHANT).to_string();
    for stamp in [
        "2026-11-25T15:00:00+07:00",
        "2026-11-25T15:00:00.123+07:00",
        "2026-11-25T08:00:00Z",
        "2026-11-25T08:00:00.123Z",
        "2026-11-25T08:00:00.123456789Z",
        "2026-11-25T10:00:00+02:00",
    ] {
        let timestamp = XTimestamp::parse(stamp).unwrap();
        let request = app.session.prepare_with(
            LIST,
            body.as_bytes(),
            &snapqris_client::fresh_external_id(),
            &timestamp,
        );
        assert_code(&app.send(&request).await, "2009000");
    }
}

async fn header_names_in_any_case_and_every_channel_spelling_are_accepted(backend: Backend) {
    let app = spawn_app(backend).await;
    app.generate_static("ref-1").await;
    let body = list_body("2026-11-25", MERCHANT);
    let mut lower = app.request(LIST, &body);
    for (name, _) in lower.headers.iter_mut() {
        *name = name.to_lowercase();
    }
    assert_code(&app.send(&lower).await, "2009000");
    for channel in ["CHANNEL-ID", "X-CHANNEL-ID", "channel-id"] {
        let mut request = app.request(LIST, &body);
        request.remove_header("CHANNEL-ID");
        request.set_header(channel, "95221-a-long-channel-id-from-a-real-sdk");
        assert_code(&app.send(&request).await, "2009000");
    }
    let mut without = app.request(LIST, &body);
    without.remove_header("CHANNEL-ID");
    assert_code(&app.send(&without).await, "2009000");
}

async fn a_required_channel_is_a_mandatory_header(backend: Backend) {
    let config = ServerConfig {
        require_channel_id: true,
        ..Default::default()
    };
    let app = spawn_app_on(backend, config).await;
    let mut request = app.request(
        GENERATE,
        &serde_json::json!({"partnerReferenceNo": "R", "merchantId": MERCHANT}),
    );
    request.remove_header("CHANNEL-ID");
    assert_code(&app.send(&request).await, "4004702");
}

async fn a_path_prefix_is_served_and_signed(backend: Backend) {
    let config = ServerConfig {
        path_prefix: "/snap".into(),
        ..Default::default()
    };
    // spawn_app_on took its token through the prefixed path already.
    let app = spawn_app_on(backend, config).await;
    let generated = app.generate_static("ref-1").await;
    assert_code(&generated, "2004700");
    let request = app.request(LIST, &list_body("2026-11-25", MERCHANT));
    assert_eq!(request.path, "/snap/v1.0/qr/qr-generate-list");
    assert!(
        request
            .string_to_sign
            .starts_with("POST:/snap/v1.0/qr/qr-generate-list:")
    );
    assert_code(&app.send(&request).await, "2009000");

    let mut unprefixed = app.request(LIST, &list_body("2026-11-25", MERCHANT));
    unprefixed.path = LIST.into();
    let response = app.send(&unprefixed).await;
    assert_eq!(response.status, 404);
}

crate::on_each_backend!(
    signatures_over_each_body_variant_are_accepted_when_lenient,
    strict_tolerance_accepts_only_the_whitespace_stripped_hash,
    timestamps_in_utc_or_jakarta_with_or_without_fractions_are_accepted,
    header_names_in_any_case_and_every_channel_spelling_are_accepted,
    a_required_channel_is_a_mandatory_header,
    a_path_prefix_is_served_and_signed,
);
