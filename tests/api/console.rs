//! The operator console (CONTRACT §7) end to end: `serve --console-listen` on a real database,
//! driven in Debian's Chromium by `tests/console/console.test.mjs` (playwright-core), which
//! compares each page with what the CLI prints and what the API answered here.
//!
//! Needs `node`, Chromium (`/usr/bin/chromium`, or `CHROMIUM`), `zbarimg` and the npm packages
//! of `tests/console` (`npm ci` there); without them the test says `skipped: …` and passes.
//! Screenshots of every page land in `target/console-screenshots/<backend>/`.

use crate::on_each_backend;
use crate::support::{
    EXPIRE, GENERATE, LIST, MERCHANT, PARTNER, ProcessDatabase, QUERY, SECRET, assert_code,
    list_body, real_today, session_on,
};
use serde_json::{Value, json};
use snapqris_test_support::Backend;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const OPERATOR: &str = "ana.operator";
const PASSWORD: &str = "correct horse battery staple";

/// What the browser test needs that may be missing on this machine; `Err` says which.
fn browser_tools() -> Result<(PathBuf, PathBuf), String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script_dir = root.join("tests/console");
    let chromium =
        PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned()));
    let found = |program: &str| {
        Command::new(program)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !found("node") {
        return Err("node is not installed".into());
    }
    if !chromium.exists() {
        return Err(format!("no Chromium at {}", chromium.display()));
    }
    if !found("zbarimg") {
        return Err("zbarimg (zbar-tools) is not installed".into());
    }
    if !script_dir.join("node_modules/playwright-core").exists() {
        return Err("playwright-core is not installed (npm ci in tests/console)".into());
    }
    Ok((script_dir, chromium))
}

/// Generates four QRs of `MERCHANT` today (static; dynamic paid; dynamic open; dynamic
/// expired by service 93) and returns them as service 90 lists them, each with service 51's
/// status and payload, and how many API requests it made.
async fn qrs_of_today(
    database: &ProcessDatabase,
    api: &snapqris_test_support::Serve,
) -> (Vec<Value>, u64) {
    let session = session_on(api).await;
    let mut requests = 1;
    let generate = async |body: Value| -> String {
        let (_, response) = session.call(GENERATE, &body).await.unwrap();
        assert_code(&response, "2004700");
        response.json().unwrap()["referenceNo"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let dynamic = |reference: &str, value: &str| {
        json!({"partnerReferenceNo": reference, "merchantId": MERCHANT,
               "amount": {"value": value, "currency": "IDR"}})
    };
    generate(json!({"partnerReferenceNo": "counter", "merchantId": MERCHANT})).await;
    let paid = generate(dynamic("paid", "1000.00")).await;
    generate(dynamic("open", "500.00")).await;
    let expired = generate(dynamic("expired", "250.00")).await;
    requests += 4;
    database.run_ok(&["admin", "qr", "pay", &paid]);
    let body = json!({"billnumber": expired, "additionalInfo": {"merchantId": MERCHANT}});
    let (_, response) = session.call(EXPIRE, &body).await.unwrap();
    assert_code(&response, "2009300");
    let (_, listed) = session
        .call(LIST, &list_body(&real_today(), MERCHANT))
        .await
        .unwrap();
    assert_code(&listed, "2009000");
    requests += 2;
    let mut qrs = Vec::new();
    for item in listed.json().unwrap()["dataDetail"].as_array().unwrap() {
        let id_qr = item["id_qr"].as_str().unwrap().to_owned();
        let body =
            json!({"originalReferenceNo": id_qr, "serviceCode": "47", "merchantId": MERCHANT});
        let (_, queried) = session.call(QUERY, &body).await.unwrap();
        assert_code(&queried, "2005100");
        requests += 1;
        let answer = queried.json().unwrap();
        let status = answer["latestTransactionStatus"]
            .as_str()
            .unwrap()
            .to_owned();
        qrs.push(json!({
            "id_qr": id_qr,
            "status": status,
            "payments": if status == "00" { 1 } else { 0 },
            "payload": answer["qrContent"],
        }));
    }
    (qrs, requests)
}

async fn the_console_works_in_a_real_browser(backend: Backend) {
    let (script_dir, chromium) = match browser_tools() {
        Ok(found) => found,
        Err(missing) => {
            eprintln!("skipped: the console's browser test needs what is missing here: {missing}");
            return;
        }
    };
    let database = ProcessDatabase::new(&backend).await;
    database.register_partner_and_merchant();
    let mut add = database.snapqris();
    add.args([
        "admin",
        "operator",
        "add",
        "--name",
        OPERATOR,
        "--password-stdin",
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::piped());
    let mut child = add.spawn().unwrap();
    writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    let added = child.wait_with_output().unwrap();
    assert!(added.status.success());
    assert_eq!(
        String::from_utf8(added.stdout).unwrap(),
        format!("operator {OPERATOR} added\n")
    );

    let mut server = snapqris_test_support::Serve::start(
        database.serve_command(&["--console-listen", "127.0.0.1:0"]),
    );
    let console_url = server.wait_line("console on ");
    let (qrs, api_requests) = qrs_of_today(&database, &server).await;
    assert_eq!(qrs.len(), 4);
    let statuses: Vec<&str> = qrs.iter().map(|q| q["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["05", "01", "00", "01"], "newest first");

    let label = if database.url().starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    };
    let shots = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/console-screenshots")
        .join(label);
    let expected_file = database.dir().join("expected.json");
    let expected = json!({
        "partner": PARTNER,
        "merchant": MERCHANT,
        "secret": SECRET,
        "api_requests": api_requests,
        "qrs": qrs,
    });
    std::fs::write(&expected_file, expected.to_string()).unwrap();
    let output = Command::new("node")
        .arg(script_dir.join("console.test.mjs"))
        .current_dir(&script_dir)
        .env("CONSOLE_URL", &console_url)
        .env("SNAPQRIS_BIN", env!("CARGO_BIN_EXE_snapqris"))
        .env("SNAPQRIS_DATABASE", database.url())
        .env("OPERATOR", OPERATOR)
        .env("PASSWORD", PASSWORD)
        .env("EXPECTED", &expected_file)
        .env("SCREENSHOTS", &shots)
        .env("CHROMIUM", &chromium)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "browser test failed\nstdout:\n{stdout}\nstderr:\n{}\nserver:\n{}",
        String::from_utf8_lossy(&output.stderr),
        server.stderr()
    );
    assert!(
        stdout.contains("console: all browser checks passed"),
        "{stdout}"
    );
    for page in [
        "login",
        "overview",
        "partners",
        "merchants",
        "merchant-day",
        "notifications",
        "notification",
        "audit",
    ] {
        assert!(
            shots.join(format!("{page}.png")).exists(),
            "no screenshot of {page}"
        );
    }
    server.terminate_and_wait();
}

/// Without `--console-listen` nothing listens for the console; with it, an unknown operator
/// cannot be removed (exit 1, one line).
async fn operator_commands_refuse_what_they_cannot_do(backend: Backend) {
    let database = ProcessDatabase::new(&backend).await;
    let out = database.run_ok(&["admin", "operator", "add", "--name", "bo"]);
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("operator bo added"));
    let password = lines.next().unwrap().strip_prefix("password: ").unwrap();
    assert_eq!(password.len(), 24);
    let again = database
        .snapqris()
        .args(["admin", "operator", "add", "--name", "bo"])
        .output()
        .unwrap();
    crate::support::fails_with_one_line(&again);
    let bad_name = database
        .snapqris()
        .args(["admin", "operator", "add", "--name", "no spaces"])
        .output()
        .unwrap();
    crate::support::fails_with_one_line(&bad_name);
    let short = database
        .snapqris()
        .args([
            "admin",
            "operator",
            "add",
            "--name",
            "cy",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            writeln!(child.stdin.take().unwrap(), "short")?;
            child.wait_with_output()
        })
        .unwrap();
    crate::support::fails_with_one_line(&short);
    assert_eq!(
        database.run_ok(&["admin", "operator", "remove", "bo"]),
        "operator bo removed\n"
    );
    let unknown = database
        .snapqris()
        .args(["admin", "operator", "remove", "bo"])
        .output()
        .unwrap();
    crate::support::fails_with_one_line(&unknown);
    assert_eq!(
        database.run_ok(&["admin", "audit", "list"]),
        "id\ttime\toperator\taction\ttarget\tdetail\n"
    );
    let config = database.run_ok(&["serve", "--print-config", "--console-listen", "127.0.0.1:9"]);
    assert!(
        config.contains("console_listen = \"127.0.0.1:9\"\n"),
        "{config}"
    );
    let config = database.run_ok(&["serve", "--print-config"]);
    assert!(config.contains("console_listen = \"\"\n"), "{config}");
}

on_each_backend!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    the_console_works_in_a_real_browser,
    operator_commands_refuse_what_they_cannot_do,
);
