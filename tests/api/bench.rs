//! `snapqris bench` against a real `snapqris serve` process: every request signed, answered,
//! and counted per `responseCode`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

/// A temporary directory with its own SQLite database and a running server on it.
struct Served {
    dir: tempfile::TempDir,
    child: Child,
    base_url: String,
}

impl Served {
    fn start() -> Served {
        let dir = tempfile::tempdir().unwrap();
        let mut child = command(&dir, "serve --listen 127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base_url = line
            .trim_end()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Served {
            dir,
            child,
            base_url,
        }
    }

    /// Runs `snapqris LINE` (`{dir}` is the temporary directory, `{url}` the server) and
    /// insists on success; returns stdout.
    fn ok(&self, line: &str) -> String {
        let line = line
            .replace("{dir}", &self.dir.path().display().to_string())
            .replace("{url}", &self.base_url);
        let output: Output = command(&self.dir, &line).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{line} failed: {stderr}");
        String::from_utf8(output.stdout).unwrap()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `snapqris --database sqlite://<dir>/t.db LINE`, with no `SNAPQRIS_*` variable inherited.
fn command(dir: &tempfile::TempDir, line: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_snapqris"));
    command.current_dir(dir.path()).env_remove("RUST_LOG");
    for (name, _) in std::env::vars() {
        if name.starts_with("SNAPQRIS_") {
            command.env_remove(name);
        }
    }
    command
        .arg("--database")
        .arg(format!("sqlite://{}", dir.path().join("t.db").display()))
        .args(line.split_whitespace());
    command
}

#[test]
fn bench_list_sends_every_signed_request_and_counts_the_codes() {
    let served = Served::start();
    served.ok("keygen --out {dir}/keys");
    let added =
        served.ok("admin partner add --client-id bench-1 --public-key {dir}/keys/public.pem");
    let secret = added
        .lines()
        .find_map(|line| line.strip_prefix("client-secret: "))
        .unwrap()
        .to_owned();
    served
        .ok("admin merchant add --merchant-id M1 --client-id bench-1 --name Warung --city Jakarta");
    let credentials = format!(
        "--base-url {{url}} --client-id bench-1 --private-key {{dir}}/keys/private.pem \
         --client-secret {secret} --merchant-id M1"
    );
    // One QR today, so the list answers 2009000.
    let generated = served.ok(&format!(
        "bench --endpoint generate --requests 1 --concurrency 1 --json {credentials}"
    ));
    let generated: serde_json::Value = serde_json::from_str(&generated).unwrap();
    assert_eq!(generated["codes"]["2004700"], 1, "{generated}");

    let out = served.ok(&format!(
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
    let out = served.ok("bench --base-url {url} --endpoint health --requests 20 --concurrency 2");
    assert!(out.contains("requests/s"), "{out}");
    assert!(out.contains("code 200  20"), "{out}");
}

#[test]
fn bench_refuses_a_duration_beyond_the_timestamp_window() {
    let dir = tempfile::tempdir().unwrap();
    let output = command(
        &dir,
        "bench --base-url http://127.0.0.1:9 --endpoint health --duration 400",
    )
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--duration"), "{stderr}");
}
