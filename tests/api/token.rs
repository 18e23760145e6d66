use crate::support::*;
use snapqris_protocol::{RsaPrivateKey, sign_token_request};

async fn a_signed_request_gets_a_bearer_token_in_the_standard_shape(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.send(&app.token_request()).await;
    assert_code(&response, "2007300");
    let body = response.json().unwrap();
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "responseCode",
            "responseMessage",
            "accessToken",
            "tokenType",
            "expiresIn"
        ]
    );
    assert_eq!(body["responseMessage"], "Successful");
    assert_eq!(body["tokenType"], "Bearer");
    assert_eq!(body["expiresIn"], "900");
}

async fn the_same_signed_request_twice_gives_two_fresh_tokens(backend: Backend) {
    let app = spawn_app(backend).await;
    let request = app.token_request();
    let first = app.send(&request).await.json().unwrap();
    let second = app.send(&request).await.json().unwrap();
    assert_ne!(first["accessToken"], second["accessToken"]);
}

async fn grant_type_in_snake_case_is_accepted(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut request = app.token_request();
    request.body = br#"{"grant_type":"client_credentials","additionalInfo":[1]}"#.to_vec();
    assert_code(&app.send(&request).await, "2007300");
}

async fn unknown_disabled_or_mis_signing_clients_get_4017300(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut unknown = app.token_request();
    unknown.set_header("X-CLIENT-KEY", "nobody");
    assert_code(&app.send(&unknown).await, "4017300");

    let mut forged = app.token_request();
    let other_key = RsaPrivateKey::generate().unwrap();
    let signed = sign_token_request(&other_key, PARTNER, app.timestamp().as_str());
    forged.set_header("X-SIGNATURE", &signed.signature);
    assert_code(&app.send(&forged).await, "4017300");

    let stale = app.token_request();
    app.clock.set(START + time::Duration::seconds(400));
    assert_code(&app.send(&stale).await, "4017300");

    app.store
        .set_partner_enabled(PARTNER, false, START)
        .await
        .unwrap();
    // CONTRACT §4: operator changes apply within 5 s (the server's caches follow its clock).
    app.clock.set(START + time::Duration::seconds(405));
    assert_code(&app.send(&app.token_request()).await, "4017300");
}

async fn header_and_body_errors_use_the_standard_codes(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut missing = app.token_request();
    missing.remove_header("X-TIMESTAMP");
    assert_code(&app.send(&missing).await, "4007302");
    let mut malformed = app.token_request();
    malformed.set_header("X-TIMESTAMP", "yesterday");
    assert_code(&app.send(&malformed).await, "4007301");

    for (body, code) in [
        (&b"{}"[..], "4007302"),
        (br#"{"grantType":"password"}"#, "4007301"),
        (b"nope", "4007300"),
    ] {
        let mut request = app.token_request();
        request.body = body.to_vec();
        assert_code(&app.send(&request).await, code);
    }
}

async fn a_stale_timestamp_gets_one_answer_for_known_and_unknown_clients(backend: Backend) {
    let app = spawn_app(backend).await;
    let known = app.token_request();
    let mut unknown = app.token_request();
    unknown.set_header("X-CLIENT-KEY", "nobody");
    app.clock.set(START + time::Duration::seconds(400));
    let known = app.send(&known).await;
    assert_code(&known, "4017300");
    assert_eq!(known.text(), app.send(&unknown).await.text());
}

async fn mis_signed_token_requests_do_not_spend_the_partners_rate_limit(backend: Backend) {
    let app = spawn_rate_limited(backend, 2).await;
    let other_key = RsaPrivateKey::generate().unwrap();
    for _ in 0..10 {
        let mut forged = app.token_request();
        let signed = sign_token_request(&other_key, PARTNER, app.timestamp().as_str());
        forged.set_header("X-SIGNATURE", &signed.signature);
        assert_code(&app.send(&forged).await, "4017300");
    }
    assert_code(&app.send(&app.token_request()).await, "2007300");
}

crate::on_each_backend!(
    a_signed_request_gets_a_bearer_token_in_the_standard_shape,
    the_same_signed_request_twice_gives_two_fresh_tokens,
    grant_type_in_snake_case_is_accepted,
    unknown_disabled_or_mis_signing_clients_get_4017300,
    header_and_body_errors_use_the_standard_codes,
    mis_signed_token_requests_do_not_spend_the_partners_rate_limit,
    a_stale_timestamp_gets_one_answer_for_known_and_unknown_clients,
);
