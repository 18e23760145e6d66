//! The request log (issue 12): every line logged while serving a request carries the id of its
//! request line, in both log formats, and an unexpected failure is logged once, with its whole
//! chain of causes, while the answer says nothing about it.
//!
//! These run the real binary: the logs are what `serve` writes to stderr.

use crate::support::*;
use serde_json::{Value, json};
use std::time::Duration;

/// A line of a `serve` log: the request id of its span, if it has one, and its message.
#[derive(Debug)]
struct Line {
    request_id: Option<u64>,
    message: String,
    text: String,
}

/// A `--log-format text` line: `TIME LEVEL request{request_id=N}: TARGET: MESSAGE FIELDS`.
fn text_line(text: &str) -> Line {
    let spanned = text
        .split_once("request{request_id=")
        .and_then(|(_, rest)| rest.split_once("}: "));
    let request_id = spanned.and_then(|(id, _)| id.parse().ok());
    // After the target, the message runs up to the first `name=value` field.
    let message = spanned
        .and_then(|(_, rest)| rest.split_once(": "))
        .map(|(_, rest)| {
            rest.split(' ')
                .take_while(|word| !word.contains('='))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    Line {
        request_id,
        message,
        text: text.to_owned(),
    }
}

/// A `--log-format json` line: the id is the span's field, the message the event's.
fn json_line(text: &str) -> Line {
    let value: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"));
    Line {
        request_id: value["span"]["request_id"].as_u64(),
        message: value["fields"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        text: text.to_owned(),
    }
}

/// The only line with `message` (and, if given, containing `containing`).
#[track_caller]
fn only<'a>(lines: &'a [Line], message: &str, containing: &str) -> &'a Line {
    let found: Vec<&Line> = lines
        .iter()
        .filter(|line| line.message == message && line.text.contains(containing))
        .collect();
    assert_eq!(found.len(), 1, "one {message:?} line expected: {lines:#?}");
    found[0]
}

/// A generate that fails inside (the stored merchant's criteria is not one QRIS knows), on a
/// `serve` logging in `format` at debug level for the server crate.
async fn a_failure_and_a_debug_line_carry_the_id_of_their_request_line(format: &str) {
    let database = ProcessDatabase::new(&Backend::Sqlite).await;
    database.register_partner_and_merchant();
    let path = database.url().strip_prefix("sqlite://").unwrap();
    rusqlite::Connection::open(path)
        .unwrap()
        .execute("UPDATE merchants SET criteria = 'BOGUS'", [])
        .unwrap();
    let mut command = database.serve_command(&["--log-format", format]);
    command.env("RUST_LOG", "info,snapqris_server=debug");
    let server = snapqris_test_support::Serve::start(command);

    let session = session_on(&server).await;
    let body = json!({"partnerReferenceNo": "fails-inside", "merchantId": MERCHANT});
    let (_, response) = session.call(GENERATE, &body).await.unwrap();
    assert_code(&response, "5004700");
    assert_eq!(response.json().unwrap()["responseMessage"], "General Error");

    let logs = server.wait_for_stderr(Duration::from_secs(10), |logs| logs.contains("5004700"));
    let lines: Vec<Line> = logs
        .lines()
        .map(|text| match format {
            "json" => json_line(text),
            _ => text_line(text),
        })
        .collect();
    let request = only(&lines, "request", "5004700");
    let token = only(&lines, "request", "2007300");
    let failure = only(&lines, "request failed", "");
    let verified = only(&lines, "signature verified", "");
    assert!(request.request_id.is_some(), "{request:?}");
    assert_ne!(token.request_id, request.request_id, "{lines:#?}");
    assert_eq!(failure.request_id, request.request_id, "{lines:#?}");
    assert_eq!(verified.request_id, request.request_id, "{lines:#?}");
    // The whole chain: what was being done, then the cause.
    assert!(
        failure
            .text
            .contains("merchant M0001: merchant criteria must be UMI, UKE, UME, UBE or URE"),
        "{failure:?}"
    );
    assert!(!response.text().contains("criteria"), "{}", response.text());
}

#[tokio::test]
async fn in_text_logs_a_failure_and_a_debug_line_carry_the_id_of_their_request_line() {
    a_failure_and_a_debug_line_carry_the_id_of_their_request_line("text").await;
}

#[tokio::test]
async fn in_json_logs_a_failure_and_a_debug_line_carry_the_id_of_their_request_line() {
    a_failure_and_a_debug_line_carry_the_id_of_their_request_line("json").await;
}
