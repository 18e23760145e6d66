//! `snapqris bench` against a real `snapqris serve` process: every request signed, answered,
//! and counted per `responseCode`.

use crate::cli::Cli;

#[test]
fn bench_list_sends_every_signed_request_and_counts_the_codes() {
    let cli = Cli::new();
    let secret = cli.add_partner("bench-1");
    cli.add_merchant("M1", "bench-1");
    let served = cli.serve();
    let credentials = format!(
        "--base-url {} --client-id bench-1 --private-key {{dir}}/keys/private.pem \
         --client-secret {secret} --merchant-id M1",
        served.base_url()
    );
    // One QR today, so the list answers 2009000.
    let generated = cli.ok(&format!(
        "bench --endpoint generate --requests 1 --concurrency 1 --json {credentials}"
    ));
    let generated: serde_json::Value = serde_json::from_str(&generated).unwrap();
    assert_eq!(generated["codes"]["2004700"], 1, "{generated}");

    let out = cli.ok(&format!(
        "bench --endpoint list --requests 50 --concurrency 4 --json {credentials}"
    ));
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["requests"], 50, "{summary}");
    assert_eq!(
        summary["codes"],
        serde_json::json!({"2009000": 50}),
        "{summary}"
    );
    assert_eq!(summary["transport_errors"], 0, "{summary}");
    assert!(summary["requests_per_second"].as_f64().unwrap() > 0.0);
    let latency = &summary["latency_ms"];
    assert!(latency["p50"].as_f64().unwrap() <= latency["p99"].as_f64().unwrap());
    assert!(latency["p99"].as_f64().unwrap() <= latency["max"].as_f64().unwrap());

    // /health counts HTTP statuses; the text summary names the figures.
    let out = cli.ok(&format!(
        "bench --base-url {} --endpoint health --requests 20 --concurrency 2",
        served.base_url()
    ));
    assert!(out.contains("requests/s"), "{out}");
    assert!(out.contains("code 200  20"), "{out}");
}

#[test]
fn bench_refuses_a_duration_beyond_the_timestamp_window() {
    let output =
        Cli::new().run("bench --base-url http://127.0.0.1:9 --endpoint health --duration 400");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--duration"), "{stderr}");
}

#[test]
fn bench_refund_refunds_one_payment_a_sen_at_a_time() {
    let cli = Cli::new();
    let secret = cli.add_partner("bench-1");
    cli.ok("admin partner set-services bench-1 --services 47,50,78");
    cli.add_merchant("M1", "bench-1");
    let served = cli.serve();
    let out = cli.ok(&format!(
        "bench --endpoint refund --requests 30 --concurrency 3 --json --base-url {} \
         --client-id bench-1 --private-key {{dir}}/keys/private.pem --client-secret {secret} \
         --merchant-id M1",
        served.base_url()
    ));
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        summary["codes"],
        serde_json::json!({"2007800": 30}),
        "{summary}"
    );
}
