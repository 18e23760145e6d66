//! The `snapqris` binary as scripts use it (CONTRACT §3): exit codes, the one stderr line,
//! secrets shown once, settings precedence, `serve`, `demo` and `client`.
//!
//! Command lines are written as one string split on whitespace, with `{dir}` standing for the
//! test's temporary directory and `{testdata}` for the repository's `testdata/`.

use crate::support::{fails_with_one_line, snapqris_in};
use snapqris_test_support::{Serve, testdata};
use std::process::Stdio;
use std::process::{Command, Output};

/// A temporary directory with its own database, and the binary to run in it.
pub(crate) struct Cli {
    dir: tempfile::TempDir,
}

impl Cli {
    pub(crate) fn new() -> Self {
        Cli {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub(crate) fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// The binary in the temporary directory, with no `SNAPQRIS_*` variable inherited.
    fn bare(&self) -> Command {
        snapqris_in(self.dir.path())
    }

    /// `snapqris --database sqlite://<dir>/t.db LINE`.
    pub(crate) fn command(&self, line: &str) -> Command {
        let testdata = testdata("").display().to_string();
        let line = line
            .replace("{dir}", &self.path(""))
            .replace("{testdata}", testdata.trim_end_matches('/'));
        let mut command = self.bare();
        command
            .arg("--database")
            .arg(format!("sqlite://{}", self.path("t.db")))
            .args(line.split_whitespace());
        command
    }

    /// `serve --listen 127.0.0.1:0` on this directory's database, announced and listening.
    pub(crate) fn serve(&self) -> Serve {
        Serve::start(self.command("serve --listen 127.0.0.1:0"))
    }

    pub(crate) fn run(&self, line: &str) -> Output {
        self.command(line).output().unwrap()
    }

    /// Runs and insists on success; returns stdout.
    pub(crate) fn ok(&self, line: &str) -> String {
        let output = self.run(line);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{line} failed: {stderr}");
        String::from_utf8(output.stdout).unwrap()
    }

    /// Registers `client_id` with the key pair in `{dir}/keys` (made on first use); returns
    /// the generated secret.
    pub(crate) fn add_partner(&self, client_id: &str) -> String {
        if !self.dir.path().join("keys/public.pem").exists() {
            self.ok("keygen --out {dir}/keys");
        }
        secret_of(&self.ok(&format!(
            "admin partner add --client-id {client_id} --public-key {{dir}}/keys/public.pem"
        )))
    }

    pub(crate) fn add_merchant(&self, merchant_id: &str, client_id: &str) {
        self.ok(&format!(
            "admin merchant add --merchant-id {merchant_id} --client-id {client_id} \
             --name Warung-Test --city Jakarta"
        ));
    }
}

/// The secret of the one `client-secret: …` line.
fn secret_of(stdout: &str) -> String {
    let lines: Vec<&str> = stdout
        .lines()
        .filter_map(|line| line.strip_prefix("client-secret: "))
        .collect();
    assert_eq!(lines.len(), 1, "one client-secret line in {stdout:?}");
    lines[0].to_owned()
}

#[test]
fn keygen_writes_a_key_pair_and_refuses_to_overwrite_it() {
    let cli = Cli::new();
    cli.ok("keygen --out {dir}/new/keys");
    let private = std::fs::read_to_string(cli.path("new/keys/private.pem")).unwrap();
    let public = std::fs::read_to_string(cli.path("new/keys/public.pem")).unwrap();
    assert!(private.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"));
    fails_with_one_line(&cli.run("keygen --out {dir}/new/keys"));
    let unchanged = std::fs::read_to_string(cli.path("new/keys/private.pem")).unwrap();
    assert_eq!(unchanged, private);
}

#[test]
fn a_generated_secret_is_printed_once_and_never_listed() {
    let cli = Cli::new();
    let secret = cli.add_partner("partner-1");
    assert_eq!(secret.len(), 64);
    let list = cli.ok("admin partner list");
    let mut lines = list.lines();
    assert!(lines.next().unwrap().starts_with("client_id\t"));
    let row = lines.next().unwrap();
    assert!(
        row.starts_with("partner-1\thmac\t47,51,77,78,90,93\ttrue\t"),
        "{row}"
    );
    assert!(!list.contains(&secret));
}

#[test]
fn a_given_secret_is_not_printed() {
    let cli = Cli::new();
    cli.ok("keygen --out {dir}/keys");
    let out = cli.ok(
        "admin partner add --client-id p2 --public-key {dir}/keys/public.pem \
         --client-secret s3cret-given --signature rsa --services 90,47",
    );
    assert!(!out.contains("s3cret-given") && !out.contains("client-secret"));
    let list = cli.ok("admin partner list");
    assert!(list.contains("p2\trsa\t47,90\ttrue"), "{list}");
}

/// Runs `line` with `input` on stdin.
fn run_with_stdin(cli: &Cli, line: &str, input: &str) -> Output {
    use std::io::Write;
    let mut child = cli
        .command(line)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command refused at once (a usage error) may exit before it reads stdin: a broken pipe
    // here is its answer, not the test's failure.
    let written = child.stdin.take().unwrap().write_all(input.as_bytes());
    if let Err(error) = written {
        assert_eq!(error.kind(), std::io::ErrorKind::BrokenPipe, "{error}");
    }
    child.wait_with_output().unwrap()
}

/// The client secret stored for `client_id`.
fn stored_secret(cli: &Cli, client_id: &str) -> String {
    let url = format!("sqlite://{}", cli.path("t.db"));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = snapqris_store::connect(&url, &Default::default())
            .await
            .unwrap();
        store
            .partner(client_id)
            .await
            .unwrap()
            .unwrap()
            .client_secret
    })
}

#[test]
fn a_secret_can_come_from_stdin_instead_of_the_command_line() {
    let cli = Cli::new();
    cli.ok("keygen --out {dir}/keys");
    let add = "admin partner add --client-id p --public-key {dir}/keys/public.pem \
               --client-secret-stdin";
    let output = run_with_stdin(&cli, add, "s3cret-piped\n");
    assert!(output.status.success(), "{output:?}");
    assert!(!String::from_utf8_lossy(&output.stdout).contains("s3cret"));
    assert_eq!(stored_secret(&cli, "p"), "s3cret-piped");

    let rotate = "admin partner rotate-secret p --client-secret-stdin";
    let output = run_with_stdin(&cli, rotate, "rotated\r\n");
    assert!(output.status.success(), "{output:?}");
    assert_eq!(stored_secret(&cli, "p"), "rotated");

    // An empty line (or none) is refused; both sources at once are a usage error.
    fails_with_one_line(&run_with_stdin(&cli, rotate, "\n"));
    fails_with_one_line(&run_with_stdin(&cli, rotate, ""));
    let both = format!("{rotate} --client-secret x");
    assert_eq!(run_with_stdin(&cli, &both, "y\n").status.code(), Some(2));
    let add_both = add.replace("--client-id p", "--client-id q") + " --client-secret x";
    assert_eq!(
        run_with_stdin(&cli, &add_both, "y\n").status.code(),
        Some(2)
    );
    assert_eq!(stored_secret(&cli, "p"), "rotated");
}

#[test]
fn a_duplicate_client_id_fails_with_one_line() {
    let cli = Cli::new();
    cli.add_partner("dup");
    let output = cli.run("admin partner add --client-id dup --public-key {dir}/keys/public.pem");
    let line = fails_with_one_line(&output);
    assert!(line.contains("\"dup\" already exists"), "{line}");
}

#[test]
fn unknown_ids_fail_with_one_line() {
    let cli = Cli::new();
    for line in [
        "admin partner disable nobody",
        "admin partner enable nobody",
        "admin partner rotate-secret nobody",
        "admin partner set-key nobody --public-key {testdata}/partner-public.pem",
        "admin merchant blacklist NOBODY",
        "admin merchant unblacklist NOBODY",
    ] {
        fails_with_one_line(&cli.run(line));
    }
}

#[test]
fn partners_can_be_disabled_enabled_rekeyed_and_given_a_new_secret() {
    let cli = Cli::new();
    let old = cli.add_partner("p");
    cli.ok("admin partner disable p");
    assert!(
        cli.ok("admin partner list")
            .contains("p\thmac\t47,51,77,78,90,93\tfalse")
    );
    cli.ok("admin partner enable p");
    cli.ok("admin partner set-key p --public-key {testdata}/partner-public-pkcs1.pem");
    let new = secret_of(&cli.ok("admin partner rotate-secret p"));
    assert_ne!(old, new);
    let given = cli.ok("admin partner rotate-secret p --client-secret x");
    assert!(!given.contains("client-secret"));
}

/// CONTRACT §3 and §6.2: `set-services` replaces the grant, `set-callback` sets the notification
/// base URL (a trailing `/` dropped; `''` removes it) and `partner list` shows it.
#[test]
fn a_partner_s_services_and_notification_url_can_be_set_and_listed() {
    let cli = Cli::new();
    cli.add_partner("p");
    assert!(
        cli.ok("admin partner set-services p --services 90,47")
            .contains("47,90")
    );
    let set = cli.ok("admin partner set-callback p --url https://partner.example/snap/");
    assert!(set.contains("https://partner.example/snap"), "{set}");
    let list = cli.ok("admin partner list");
    let mut lines = list.lines();
    assert_eq!(
        lines.next().unwrap(),
        "client_id\tsignature\tservices\tenabled\tcallback_url\tcreated_at"
    );
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("p\thmac\t47,90\ttrue\thttps://partner.example/snap\t"),
        "{list}"
    );
    for bad in [
        "ftp://partner.example",
        "https://user@partner.example",
        "https://partner.example/?q=1",
        "https://partner.example/#f",
    ] {
        let output = cli.run(&format!("admin partner set-callback p --url {bad}"));
        fails_with_one_line(&output);
    }
    fails_with_one_line(&cli.run("admin partner set-callback nobody --url https://p.example"));
    assert_eq!(
        cli.run("admin partner set-services p --services 99")
            .status
            .code(),
        Some(2)
    );
    assert!(
        cli.ok("admin partner list")
            .contains("\thttps://partner.example/snap\t")
    );
    let removed = cli
        .command("admin partner set-callback p")
        .arg("--url")
        .arg("")
        .output()
        .unwrap();
    assert!(removed.status.success(), "{removed:?}");
    assert!(
        cli.ok("admin partner list").contains("\ttrue\t\t"),
        "the URL is gone"
    );
}

#[test]
fn a_1024_bit_key_is_refused() {
    let cli = Cli::new();
    let output =
        cli.run("admin partner add --client-id weak --public-key {testdata}/weak-1024-public.pem");
    let line = fails_with_one_line(&output);
    assert!(line.contains("1024"), "{line}");
}

#[test]
fn an_unreadable_key_file_or_a_malformed_client_id_fails_with_one_line() {
    let cli = Cli::new();
    fails_with_one_line(&cli.run("admin partner add --client-id p --public-key {dir}/none.pem"));
    let private_as_public = "--public-key {testdata}/partner-private.pem";
    fails_with_one_line(&cli.run(&format!(
        "admin partner add --client-id p {private_as_public}"
    )));
    fails_with_one_line(
        &cli.run("admin partner add --client-id bad/id --public-key {testdata}/partner-public.pem"),
    );
}

#[test]
fn what_the_parser_rejects_exits_with_status_2() {
    let cli = Cli::new();
    let partner = "admin partner add --client-id p --public-key {testdata}/partner-public.pem";
    let merchant = "admin merchant add --merchant-id M1 --client-id p --name N --city C";
    for line in [
        format!("{partner} --signature xyz"),
        format!("{partner} --services 47,12"),
        format!("{merchant} --criteria XYZ"),
        format!("{merchant} --mcc abc"),
        "admin partner list --frobnicate".to_owned(),
        "serve --signature-tolerance loose --print-config".to_owned(),
    ] {
        assert_eq!(cli.run(&line).status.code(), Some(2), "{line}");
    }
}

#[test]
fn a_merchant_for_an_unknown_partner_is_refused() {
    let cli = Cli::new();
    let output = cli.run("admin merchant add --merchant-id M1 --client-id ghost --name W --city J");
    let line = fails_with_one_line(&output);
    assert!(line.contains("ghost"), "{line}");
}

#[test]
fn a_name_of_26_characters_a_city_of_16_or_a_short_mcc_is_refused() {
    let cli = Cli::new();
    cli.add_partner("p");
    let add = "admin merchant add --merchant-id M1 --client-id p";
    let name = "N".repeat(26);
    let city = "C".repeat(16);
    for rest in [
        format!("--name {name} --city Jakarta"),
        format!("--name Warung --city {city}"),
        "--name Warung-é --city Jakarta".to_owned(),
        "--name W --city J --mcc 599".to_owned(),
        "--name W --city J --nmid XX123".to_owned(),
    ] {
        fails_with_one_line(&cli.run(&format!("{add} {rest}")));
    }
    assert!(cli.ok("admin merchant list").lines().nth(1).is_none());
}

#[test]
fn merchants_are_listed_blacklisted_and_unblacklisted() {
    let cli = Cli::new();
    cli.add_partner("p");
    cli.add_merchant("M1", "p");
    let name_with_spaces = cli
        .command("admin merchant add --merchant-id M2 --client-id p --city Bandung")
        .args(["--name", "Warung Bu Sri"])
        .output()
        .unwrap();
    assert!(name_with_spaces.status.success());
    fails_with_one_line(
        &cli.run("admin merchant add --merchant-id M1 --client-id p --name W --city J"),
    );
    cli.ok("admin merchant blacklist M1 --reason fraud");
    let list = cli.ok("admin merchant list --client-id p");
    assert!(list.starts_with("merchant_id\tclient_id\t"));
    assert!(
        list.contains("M1\tp\tWarung-Test\tJakarta\t5999\t10110\tID99"),
        "{list}"
    );
    assert!(list.contains("M2\tp\tWarung Bu Sri\tBandung\t"), "{list}");
    assert!(list.contains("(fraud)"), "{list}");
    cli.ok("admin merchant unblacklist M1");
    assert_eq!(
        cli.ok("admin merchant list").matches("\tUMI\tno\t").count(),
        2
    );
}

#[test]
fn print_config_masks_the_database_password_and_keeps_the_rest() {
    let cli = Cli::new();
    let output = cli
        .bare()
        .args([
            "serve",
            "--print-config",
            "--database",
            "postgres://u:pw@h/db",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.contains("database_url = \"postgres://u:***@h/db\""),
        "{stdout}"
    );
    assert!(!stdout.contains("pw"), "{stdout}");
    assert!(stdout.contains("listen = \"127.0.0.1:8080\""), "{stdout}");
    assert!(stdout.contains("max_amount = \"10000000.00\""), "{stdout}");
}

#[test]
fn a_flag_beats_a_variable_which_beats_the_file() {
    let cli = Cli::new();
    let file = "token_ttl = 111\ntimestamp_window = 222\nrate_limit = 7\nlog_format = \"json\"\n";
    std::fs::write(cli.path("snapqris.toml"), file).unwrap();
    let output = cli
        .command("serve --print-config --config {dir}/snapqris.toml --token-ttl 333")
        .env("SNAPQRIS_TOKEN_TTL", "444")
        .env("SNAPQRIS_TIMESTAMP_WINDOW", "555")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("token_ttl = 333\n"),
        "flag beats variable: {stdout}"
    );
    assert!(
        stdout.contains("timestamp_window = 555\n"),
        "variable beats file: {stdout}"
    );
    assert!(
        stdout.contains("rate_limit = 7\n"),
        "file beats default: {stdout}"
    );
    assert!(stdout.contains("log_format = \"json\"\n"), "{stdout}");
    assert!(stdout.contains("body_limit = 65536\n"), "default: {stdout}");
}

#[test]
fn the_refund_window_comes_from_a_flag_a_variable_or_the_file_and_is_checked() {
    let cli = Cli::new();
    let print = |output: std::process::Output| {
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    assert!(print(cli.run("serve --print-config")).contains("refund_window = 2592000\n"));
    std::fs::write(cli.path("refund.toml"), "refund_window = 60\n").unwrap();
    let from_file = cli.run("serve --print-config --config {dir}/refund.toml");
    assert!(print(from_file).contains("refund_window = 60\n"));
    let from_variable = cli
        .command("serve --print-config --config {dir}/refund.toml")
        .env("SNAPQRIS_REFUND_WINDOW", "70")
        .output()
        .unwrap();
    assert!(print(from_variable).contains("refund_window = 70\n"));
    let from_flag = cli
        .command("serve --print-config --config {dir}/refund.toml --refund-window 80")
        .env("SNAPQRIS_REFUND_WINDOW", "70")
        .output()
        .unwrap();
    assert!(print(from_flag).contains("refund_window = 80\n"));
    for flags in ["--refund-window 0", "--refund-window 315576001"] {
        let line = fails_with_one_line(&cli.run(&format!("serve --print-config {flags}")));
        assert!(line.contains("refund-window"), "{flags}: {line}");
    }
    assert_eq!(
        cli.run("serve --print-config --refund-window soon")
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn an_unknown_key_in_the_config_file_fails_with_one_line() {
    let cli = Cli::new();
    std::fs::write(cli.path("bad.toml"), "token_tll = 5\n").unwrap();
    fails_with_one_line(&cli.run("serve --print-config --config {dir}/bad.toml"));
}

#[test]
fn an_out_of_range_setting_fails_with_one_line_from_a_flag_a_variable_or_the_file() {
    let cli = Cli::new();
    // CONTRACT §8: beyond ten years, a max-amount tag 54 cannot carry, zero where it means nothing.
    for (flags, setting) in [
        ("--token-ttl 315576001", "token-ttl"),
        (
            "--dynamic-validity 18446744073709551615",
            "dynamic-validity",
        ),
        ("--timestamp-window 0", "timestamp-window"),
        ("--body-limit 0", "body-limit"),
        ("--max-amount 10000000000.00", "max-amount"),
        ("--max-amount 0.00", "max-amount"),
    ] {
        let line = fails_with_one_line(&cli.run(&format!("serve --print-config {flags}")));
        assert!(line.contains(setting), "{flags}: {line}");
    }
    let output = cli
        .command("serve --print-config")
        .env("SNAPQRIS_REQUEST_TIMEOUT", "999999999999")
        .output()
        .unwrap();
    assert!(fails_with_one_line(&output).contains("request-timeout"));
    std::fs::write(cli.path("big.toml"), "max_amount = \"99999999999999.99\"\n").unwrap();
    let line = fails_with_one_line(&cli.run("serve --print-config --config {dir}/big.toml"));
    assert!(line.contains("max-amount"), "{line}");
    // Text that does not parse at all stays a usage error (CONTRACT §3).
    let output = cli.run("serve --print-config --token-ttl soon");
    assert_eq!(output.status.code(), Some(2));
    // The largest values in range still start.
    cli.ok("serve --print-config --token-ttl 315576000 --max-amount 9999999999.99");
}

#[test]
fn serve_announces_its_port_answers_health_and_stops_on_sigterm() {
    let cli = Cli::new();
    let mut served = cli.serve();
    let port = served
        .base_url()
        .strip_prefix("http://127.0.0.1:")
        .expect("listening on http://127.0.0.1:PORT");
    assert!(port.parse::<u16>().unwrap() > 0);
    let client = snapqris_client::SnapClient::new(served.base_url()).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let health = runtime.block_on(client.get("/health")).unwrap();
    assert_eq!(health.status, 200);
    let status = served.terminate_and_wait();
    assert!(status.success(), "{status:?}");
}

#[test]
fn demo_runs_the_whole_story_and_exits_0() {
    let cli = Cli::new();
    let output = cli.bare().arg("demo").output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for expected in [
        "2007300",
        "2004700",
        "2009000",
        "string-to-sign: ",
        "body sha256",
    ] {
        assert!(
            stdout.contains(expected),
            "{expected} missing from the demo"
        );
    }
    // Two generate answers, then the same two QRs in the list.
    assert_eq!(stdout.matches("\"type\": \"dynamic\"").count(), 4);
    assert!(
        stdout.contains('▀') || stdout.contains('█'),
        "a QR drawn in the terminal"
    );
    let secret = secret_of(&stdout);
    assert_eq!(
        stdout.matches(&secret).count(),
        1,
        "the secret is printed once"
    );
    assert!(
        !cli.dir.path().join("snapqris.db").exists(),
        "no database left behind"
    );
}

#[test]
fn client_token_generate_and_list_work_against_a_served_instance() {
    let cli = Cli::new();
    let secret = cli.add_partner("p1");
    cli.add_merchant("M1", "p1");
    let mut served = cli.serve();
    let client = |line: &str| {
        cli.run(&format!(
            "client {line} --base-url {} --client-id p1 --private-key {{dir}}/keys/private.pem \
             --client-secret {secret}",
            served.base_url()
        ))
    };
    let succeeds = |output: &Output| {
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };

    assert!(succeeds(&client("token")).contains("2007300"));

    let generated = client("generate --merchant-id M1 --amount 9000.00 --explain");
    let json: serde_json::Value = serde_json::from_str(&succeeds(&generated)).unwrap();
    assert_eq!(json["responseCode"], "2004700");
    let explained = String::from_utf8_lossy(&generated.stderr);
    assert!(
        explained.contains("string-to-sign: POST:/v1.0/qr/qr-mpm-generate:"),
        "{explained}"
    );
    assert!(explained.contains("body sha256"), "{explained}");
    assert!(succeeds(&client("generate --merchant-id M1")).contains("\"static\""));

    let listed = succeeds(&client("list --merchant-id M1"));
    assert!(listed.contains("2009000"), "{listed}");

    let refused = client("list --merchant-id M404");
    assert!(String::from_utf8_lossy(&refused.stdout).contains("4049000"));
    fails_with_one_line(&refused);

    assert!(served.terminate_and_wait().success());
}
