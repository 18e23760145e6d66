//! `snapqris notify listen` (CONTRACT §6.2), the partner's development receiver, and the
//! notification signature checked by an independent implementation (OpenSSL).

use crate::support::*;
use base64::Engine;
use snapqris_client::{PreparedRequest, SnapClient};
use snapqris_protocol::{
    RsaPrivateKey, XTimestamp, notification_string_to_sign, sign_notification,
};
use snapqris_test_support::testdata;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const PATH: &str = "/partner-base/v1.0/qr/qr-mpm-notify";
const BODY: &str = r#"{"originalReferenceNo":"101","latestTransactionStatus":"00","additionalInfo":{"notificationId":"9001","eventType":"payment"}}"#;

/// A running `notify listen`, killed when dropped; its stdout lines arrive on `lines`.
struct Listener {
    child: Child,
    base_url: String,
    lines: mpsc::Receiver<String>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Listener {
    fn start() -> Listener {
        let mut child = Command::new(env!("CARGO_BIN_EXE_snapqris"))
            .args([
                "notify",
                "listen",
                "--listen",
                "127.0.0.1:0",
                "--public-key",
            ])
            .arg(testdata("partner-public.pem"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (sender, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    return;
                }
            }
        });
        let mut listener = Listener {
            child,
            base_url: String::new(),
            lines,
        };
        let first = listener.next_line();
        listener.base_url = first.strip_prefix("listening on ").unwrap().to_owned();
        listener
    }

    fn next_line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(10))
            .expect("a line from notify listen within 10 s")
    }

    /// Posts `body` to `PATH` with the notification headers, signed as given.
    async fn post(
        &self,
        body: &str,
        timestamp: &str,
        signature: &str,
    ) -> snapqris_client::Response {
        let request = PreparedRequest {
            method: "POST".into(),
            path: PATH.into(),
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("X-TIMESTAMP".into(), timestamp.into()),
                ("X-PARTNER-ID".into(), "partner-1".into()),
                ("X-EXTERNAL-ID".into(), "attempt-1".into()),
                ("X-SIGNATURE".into(), signature.into()),
            ],
            body: body.as_bytes().to_vec(),
            string_to_sign: String::new(),
            body_sha256_hex: String::new(),
        };
        SnapClient::new(&self.base_url)
            .unwrap()
            .send(&request)
            .await
            .unwrap()
    }
}

fn snapqris_key() -> RsaPrivateKey {
    RsaPrivateKey::parse_pem(&std::fs::read(testdata("partner-private.pem")).unwrap()).unwrap()
}

fn now() -> String {
    XTimestamp::from_instant_jakarta(time::OffsetDateTime::now_utc())
        .as_str()
        .to_owned()
}

#[tokio::test]
async fn a_signed_notification_is_printed_whole_and_acknowledged() {
    let listener = Listener::start();
    let timestamp = now();
    let signature = sign_notification(&snapqris_key(), PATH, BODY.as_bytes(), &timestamp);

    let response = listener.post(BODY, &timestamp, &signature).await;

    assert_eq!(response.status, 200);
    assert_eq!(response.json().unwrap()["responseCode"], "2005200");
    let line: serde_json::Value = serde_json::from_str(&listener.next_line()).unwrap();
    assert_eq!(line["path"], PATH);
    assert_eq!(
        line["body"],
        serde_json::from_str::<serde_json::Value>(BODY).unwrap()
    );
    assert_eq!(line["headers"]["x-signature"], signature.as_str());
    assert!(line.get("refused").is_none(), "{line}");
}

#[tokio::test]
async fn a_changed_body_a_stale_timestamp_or_another_key_gets_4015200() {
    let listener = Listener::start();
    let timestamp = now();
    let key = snapqris_key();
    let signature = sign_notification(&key, PATH, BODY.as_bytes(), &timestamp);
    let stale = XTimestamp::from_instant_jakarta(
        time::OffsetDateTime::now_utc() - time::Duration::minutes(10),
    );
    let stale_signature = sign_notification(&key, PATH, BODY.as_bytes(), stale.as_str());
    let stranger = RsaPrivateKey::generate().unwrap();
    let forged = sign_notification(&stranger, PATH, BODY.as_bytes(), &timestamp);
    let changed = BODY.replace("9001", "9002");

    for (body, timestamp, signature) in [
        (changed.as_str(), timestamp.as_str(), signature.as_str()),
        (BODY, stale.as_str(), stale_signature.as_str()),
        (BODY, timestamp.as_str(), forged.as_str()),
    ] {
        let response = listener.post(body, timestamp, signature).await;
        assert_eq!(response.status, 401, "{body} {timestamp}");
        assert_eq!(response.json().unwrap()["responseCode"], "4015200");
        let line: serde_json::Value = serde_json::from_str(&listener.next_line()).unwrap();
        assert!(line["refused"].is_string(), "{line}");
    }
}

/// CONTRACT §6.2: partners verify in their own language; OpenSSL checks what we sign.
#[test]
fn openssl_verifies_a_notification_signature() {
    let dir = tempfile::tempdir().unwrap();
    let timestamp = "2026-11-25T15:00:00+07:00";
    let signature = sign_notification(&snapqris_key(), PATH, BODY.as_bytes(), timestamp);
    let message = dir.path().join("message");
    let raw_signature = dir.path().join("signature");
    std::fs::write(
        &message,
        notification_string_to_sign(PATH, BODY.as_bytes(), timestamp),
    )
    .unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(signature)
        .unwrap();
    std::fs::write(&raw_signature, decoded).unwrap();
    let Ok(output) = Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(testdata("partner-public.pem"))
        .arg("-signature")
        .arg(&raw_signature)
        .arg(&message)
        .output()
    else {
        eprintln!("skipped: no openssl on this machine");
        return;
    };
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("Verified OK"),
        "{output:?}"
    );
    // And the string to sign is OpenSSL's own SHA-256 of the raw body.
    let body_file = dir.path().join("body");
    std::fs::write(&body_file, BODY).unwrap();
    let digest = Command::new("openssl")
        .args(["dgst", "-sha256", "-r"])
        .arg(&body_file)
        .output()
        .unwrap();
    let hex = String::from_utf8_lossy(&digest.stdout);
    let hex = hex.split_whitespace().next().unwrap();
    assert_eq!(
        notification_string_to_sign(PATH, BODY.as_bytes(), timestamp),
        format!("POST:{PATH}:{hex}:{timestamp}")
    );
}

/// CONTRACT §6.2: one notification key per deployment, made on first use, its public half
/// printed for partners; `rotate-key` replaces it (fresh, or the PEM given).
async fn the_notification_key_is_made_once_and_rotated_on_demand(backend: Backend) {
    let mut database = ProcessDatabase::new(&backend).await;
    let key = database.dir().join("master.key");
    let made = database
        .snapqris()
        .args(["keygen", "--master-key"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    database.master_key_file = Some(key);

    let first = database.run_ok(&["admin", "notify", "key"]);
    assert!(first.starts_with("-----BEGIN PUBLIC KEY-----"), "{first}");
    assert_eq!(
        database.run_ok(&["admin", "notify", "key"]),
        first,
        "the same key"
    );
    let rotated = database.run_ok(&["admin", "notify", "rotate-key"]);
    assert_ne!(rotated, first);
    assert_eq!(database.run_ok(&["admin", "notify", "key"]), rotated);
    let given = testdata("partner-private.pem").display().to_string();
    let chosen = database.run_ok(&["admin", "notify", "rotate-key", "--private-key", &given]);
    assert_eq!(
        chosen,
        std::fs::read_to_string(testdata("partner-public.pem")).unwrap()
    );
    // Sealed under the master key like every secret (CONTRACT §8).
    for value in snapqris_test_support::stored_secrets(database.url()).await {
        assert!(!String::from_utf8_lossy(&value).contains("PRIVATE KEY"));
    }
    let weak = testdata("weak-1024-private.pem").display().to_string();
    let refused = database
        .snapqris()
        .args(["admin", "notify", "rotate-key", "--private-key", &weak])
        .output()
        .unwrap();
    let line = fails_with_one_line(&refused);
    assert!(line.contains("2048"), "{line}");
    assert_eq!(
        database.run_ok(&["admin", "notify", "key"]),
        chosen,
        "unchanged"
    );
}

crate::on_each_backend!(the_notification_key_is_made_once_and_rotated_on_demand);
