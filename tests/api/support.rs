#![allow(dead_code)] // each test module uses a different part of the helpers

use serde_json::{Value, json};
use snapqris_client::{
    PartnerSession, PreparedRequest, Response, TransactionAuth, fresh_external_id,
};
use snapqris_protocol::{ClientId, MerchantId, RsaPrivateKey, ServiceCode, XTimestamp};
use snapqris_server::{AppState, ManualClock, ServerConfig};
use snapqris_store::{NewMerchant, NewPartner, SignatureMode, Store};
use std::path::PathBuf;
use std::sync::Arc;
use time::OffsetDateTime;
use time::macros::datetime;

/// Paths of the services.
pub(crate) const TOKEN: &str = ServiceCode::AccessToken.path();
pub(crate) const GENERATE: &str = ServiceCode::GenerateQr.path();
pub(crate) const LIST: &str = ServiceCode::GenerateList.path();
pub(crate) const QUERY: &str = ServiceCode::Query.path();
pub(crate) const EXPIRE: &str = ServiceCode::ExpireBillNumber.path();

/// The partner every app starts with.
pub(crate) const PARTNER: &str = "partner-a";
pub(crate) const SECRET: &str = "secret-of-partner-a";
/// A merchant of `PARTNER`.
pub(crate) const MERCHANT: &str = "M0001";

/// A moment in Jakarta's afternoon (2026-11-25 15:00 +07:00).
pub(crate) const START: OffsetDateTime = datetime!(2026-11-25 08:00 UTC);

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

/// The independent test key pair's private half.
pub(crate) fn partner_key() -> RsaPrivateKey {
    RsaPrivateKey::parse_pem(&std::fs::read(testdata("partner-private.pem")).unwrap()).unwrap()
}

/// Where a test's store lives.
#[derive(Debug, Clone)]
pub(crate) enum Backend {
    Sqlite,
    Postgres(String),
}

impl Backend {
    /// PostgreSQL at `SNAPQRIS_TEST_DATABASE_URL`, or `None` (and a line saying the test is
    /// skipped) when the variable is unset.
    pub(crate) fn postgres() -> Option<Backend> {
        match std::env::var("SNAPQRIS_TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => Some(Backend::Postgres(url)),
            _ => {
                eprintln!("skipped: SNAPQRIS_TEST_DATABASE_URL is not set, no PostgreSQL run");
                None
            }
        }
    }
}

/// Runs `async fn $name(backend: Backend)` once per store, as the tests `$name::sqlite` and
/// `$name::postgres` (ripgrep's `rgtest!` idea: one body, every engine).
#[macro_export]
macro_rules! on_each_backend {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name($crate::support::Backend::Sqlite).await;
            }

            #[tokio::test]
            async fn postgres() {
                if let Some(backend) = $crate::support::Backend::postgres() {
                    super::$name(backend).await;
                }
            }
        }
    )*};
}

/// A running server with one partner (hmac, all services) and one merchant.
pub(crate) struct TestApp {
    pub(crate) base_url: String,
    pub(crate) database_url: String,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) session: PartnerSession,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// The PostgreSQL server and test database to drop afterwards.
    postgres_database: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some((server_url, name)) = self.postgres_database.take() {
            drop_postgres_database(server_url, name);
        }
    }
}

/// A fresh PostgreSQL database for one test, named uniquely; returns its URL and name.
async fn fresh_postgres_database(url: &str) -> (String, String) {
    use sqlx::Connection;
    let name = format!("snapqris_test_{}", fresh_external_id());
    let mut admin = sqlx::PgConnection::connect(url)
        .await
        .expect("connect to PostgreSQL");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create a test database");
    let (base, _) = url.rsplit_once('/').expect("a database URL with a path");
    (format!("{base}/{name}"), name)
}

pub(crate) async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_on(backend, ServerConfig::default()).await
}

pub(crate) async fn spawn_app_on(backend: Backend, config: ServerConfig) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let (url, postgres_database) = match &backend {
        Backend::Sqlite => (
            format!("sqlite://{}", dir.path().join("test.db").display()),
            None,
        ),
        Backend::Postgres(server_url) => {
            let (url, name) = fresh_postgres_database(server_url).await;
            (url, Some((server_url.clone(), name)))
        }
    };
    let store = snapqris_store::connect(&url, &Default::default())
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new(START));
    let state = AppState::new(config, store.clone(), clock.clone())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(snapqris_server::serve(listener, state.clone(), async {
        let _ = stopped.await;
    }));
    let base_url = format!("http://{address}{}", state.config().path_prefix);
    add_partner(
        &*store,
        PARTNER,
        SECRET,
        SignatureMode::Hmac,
        &ServiceCode::ALL,
    )
    .await;
    add_merchant(&*store, MERCHANT, PARTNER).await;
    let session = PartnerSession::new(
        &base_url,
        PARTNER,
        partner_key(),
        TransactionAuth::Hmac {
            client_secret: SECRET.into(),
        },
    )
    .unwrap();
    let mut app = TestApp {
        base_url,
        database_url: url,
        clock,
        store,
        session,
        shutdown: Some(shutdown),
        postgres_database,
        _dir: dir,
    };
    let token = app.take_token().await;
    app.session.set_token(Some(token));
    app
}

pub(crate) async fn add_partner(
    store: &dyn Store,
    client_id: &str,
    secret: &str,
    mode: SignatureMode,
    services: &[ServiceCode],
) {
    let public_key_pem = partner_key().public_key().to_spki_pem();
    store
        .add_partner(
            &NewPartner {
                client_id: ClientId::parse(client_id).unwrap(),
                public_key_pem,
                client_secret: secret.into(),
                signature_mode: mode,
                services: services.to_vec(),
            },
            START,
        )
        .await
        .unwrap();
}

pub(crate) async fn add_merchant(store: &dyn Store, merchant_id: &str, client_id: &str) {
    store
        .add_merchant(
            &NewMerchant {
                merchant_id: MerchantId::parse(merchant_id).unwrap(),
                client_id: ClientId::parse(client_id).unwrap(),
                name: "Kopi Kenangan".into(),
                city: "Jakarta".into(),
                mcc: "5814".into(),
                postal_code: "10110".into(),
                nmid: snapqris_qris::derive_sandbox_nmid(merchant_id),
                criteria: "UMI".into(),
            },
            START,
        )
        .await
        .unwrap();
}

impl TestApp {
    /// Drops the session's pooled connections and keeps its token. For tests that configure a
    /// header timeout of a second: the server closes a connection idle that long, and a
    /// request racing that close fails on the client's side.
    pub(crate) fn reconnect(&mut self) {
        let mut session = PartnerSession::new(
            &self.base_url,
            PARTNER,
            partner_key(),
            TransactionAuth::Hmac {
                client_secret: SECRET.into(),
            },
        )
        .unwrap();
        session.set_token(self.session.token().map(str::to_owned));
        self.session = session;
    }

    /// Moves the server clock and takes a token valid at that moment.
    pub(crate) async fn travel_to(&mut self, now: OffsetDateTime) {
        self.clock.set(now);
        let token = self.take_token().await;
        self.session.set_token(Some(token));
    }

    /// `X-TIMESTAMP` for the server clock's now.
    pub(crate) fn timestamp(&self) -> XTimestamp {
        XTimestamp::from_instant_jakarta(self.clock.now_for_test())
    }

    /// Takes a token for the default partner at the server clock's now.
    pub(crate) async fn take_token(&self) -> String {
        let response = self.send(&self.token_request()).await;
        assert_eq!(response.status, 200, "{}", response.text());
        response.json().unwrap()["accessToken"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub(crate) fn token_request(&self) -> PreparedRequest {
        self.session
            .client()
            .token_request(PARTNER, &partner_key(), &self.timestamp())
    }

    /// A correctly signed transaction request by the default partner.
    pub(crate) fn request(&self, path: &str, body: &Value) -> PreparedRequest {
        self.request_raw(path, body.to_string().as_bytes())
    }

    pub(crate) fn request_raw(&self, path: &str, body: &[u8]) -> PreparedRequest {
        self.session
            .prepare_with(path, body, &fresh_external_id(), &self.timestamp())
    }

    pub(crate) async fn send(&self, request: &PreparedRequest) -> Response {
        self.session.client().send(request).await.unwrap()
    }

    pub(crate) async fn post(&self, path: &str, body: &Value) -> Response {
        self.send(&self.request(path, body)).await
    }

    pub(crate) async fn generate_static(&self, reference: &str) -> Response {
        self.post(
            GENERATE,
            &json!({"partnerReferenceNo": reference, "merchantId": MERCHANT}),
        )
        .await
    }

    pub(crate) async fn generate_dynamic(&self, reference: &str, value: &str) -> Response {
        self.post(
            GENERATE,
            &json!({
                "partnerReferenceNo": reference,
                "merchantId": MERCHANT,
                "amount": {"value": value, "currency": "IDR"},
                "terminalId": "T01"
            }),
        )
        .await
    }

    pub(crate) async fn post_generate_list(&self, date: &str, merchant_id: &str) -> Response {
        self.post(LIST, &list_body(date, merchant_id)).await
    }
}

pub(crate) fn list_body(date: &str, merchant_id: &str) -> Value {
    json!({"dateGenerate": date, "additionalInfo": {"merchantId": merchant_id}})
}

/// Asserts the HTTP status and `responseCode` (and that the status is the code's prefix).
#[track_caller]
pub(crate) fn assert_code(response: &Response, code: &str) {
    assert_eq!(
        response.response_code().as_deref(),
        Some(code),
        "body: {}",
        response.text()
    );
    assert_eq!(
        response.status.to_string(),
        code[..3],
        "status vs code {code}"
    );
}

/// What `ManualClock` shows (a trait method; named so tests read plainly).
pub(crate) trait ClockExt {
    fn now_for_test(&self) -> OffsetDateTime;
}

impl ClockExt for ManualClock {
    fn now_for_test(&self) -> OffsetDateTime {
        snapqris_server::Clock::now(self)
    }
}

/// A database for `snapqris` processes: a file in a temporary directory, or a fresh
/// PostgreSQL database dropped afterwards. Unlike `spawn_app`, nothing is registered in it.
pub(crate) struct ProcessDatabase {
    pub(crate) url: String,
    /// The PostgreSQL server and test database to drop afterwards.
    postgres_database: Option<(String, String)>,
    pub(crate) dir: tempfile::TempDir,
}

impl ProcessDatabase {
    pub(crate) async fn new(backend: &Backend) -> ProcessDatabase {
        let dir = tempfile::tempdir().unwrap();
        let (url, postgres_database) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}", dir.path().join("test.db").display()),
                None,
            ),
            Backend::Postgres(server_url) => {
                let (url, name) = fresh_postgres_database(server_url).await;
                (url, Some((server_url.clone(), name)))
            }
        };
        ProcessDatabase {
            url,
            postgres_database,
            dir,
        }
    }

    /// `snapqris --database <url>`, run in the temporary directory with no `SNAPQRIS_*`
    /// variable or `RUST_LOG` inherited.
    pub(crate) fn snapqris(&self) -> std::process::Command {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_snapqris"));
        command.current_dir(self.dir.path()).env_remove("RUST_LOG");
        for (name, _) in std::env::vars() {
            if name.starts_with("SNAPQRIS_") {
                command.env_remove(name);
            }
        }
        command.arg("--database").arg(&self.url);
        command
    }

    /// Runs `snapqris --database <url> ARGS` and insists on exit status 0; returns stdout.
    pub(crate) fn run_ok(&self, args: &[&str]) -> String {
        let output = self.snapqris().args(args).output().unwrap();
        assert!(
            output.status.success(),
            "snapqris {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// Registers `PARTNER` (secret `SECRET`, the test key, hmac) and its merchant `MERCHANT`
    /// with the `admin` commands.
    pub(crate) fn register_partner_and_merchant(&self) {
        let public_key = testdata("partner-public.pem").display().to_string();
        self.run_ok(&[
            "admin",
            "partner",
            "add",
            "--client-id",
            PARTNER,
            "--public-key",
            &public_key,
            "--client-secret",
            SECRET,
        ]);
        self.run_ok(&[
            "admin",
            "merchant",
            "add",
            "--merchant-id",
            MERCHANT,
            "--client-id",
            PARTNER,
            "--name",
            "Kopi Kenangan",
            "--city",
            "Jakarta",
        ]);
    }

    /// Starts `snapqris serve --listen 127.0.0.1:0` on this database; see [`ServeProcess`].
    pub(crate) fn spawn_serve(&self) -> ServeProcess {
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let stderr_path = self.dir.path().join(format!("serve-{n}.stderr"));
        let child = self
            .snapqris()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::create(&stderr_path).unwrap())
            .spawn()
            .unwrap();
        ServeProcess {
            child,
            base_url: String::new(),
            stderr_path,
        }
    }

    /// Starts `serve` and waits until it announces its address.
    pub(crate) fn serve(&self) -> ServeProcess {
        let mut server = self.spawn_serve();
        server.wait_listening();
        server
    }
}

impl Drop for ProcessDatabase {
    fn drop(&mut self) {
        if let Some((server_url, name)) = self.postgres_database.take() {
            drop_postgres_database(server_url, name);
        }
    }
}

/// Drops a test database from a thread of its own (callers run inside a runtime).
fn drop_postgres_database(server_url: String, name: String) {
    let dropped = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            use sqlx::Connection;
            let mut admin = sqlx::PgConnection::connect(&server_url).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await
            .map(drop)
        })
    });
    if let Ok(Err(e)) = dropped.join() {
        eprintln!("could not drop test database: {e}");
    }
}

/// A `snapqris serve` child process, killed with SIGKILL when dropped.
pub(crate) struct ServeProcess {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT`, known once [`ServeProcess::wait_listening`] returned.
    pub(crate) base_url: String,
    stderr_path: PathBuf,
}

impl ServeProcess {
    /// Waits (at most 20 s) for the `listening on http://…` line on stdout.
    pub(crate) fn wait_listening(&mut self) {
        use std::io::BufRead;
        let stdout = self.child.stdout.take().expect("stdout not read yet");
        let (line_sender, first_line) = std::sync::mpsc::channel();
        // The reader keeps draining stdout so the server never writes into a closed pipe.
        std::thread::spawn(move || {
            let mut lines = std::io::BufReader::new(stdout).lines();
            let _ = line_sender.send(lines.next());
            lines.for_each(drop);
        });
        let line = match first_line.recv_timeout(std::time::Duration::from_secs(20)) {
            Ok(Some(Ok(line))) => line,
            other => panic!(
                "serve did not announce itself ({other:?}); stderr: {}",
                self.stderr()
            ),
        };
        self.base_url = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
    }

    /// `127.0.0.1:PORT`.
    pub(crate) fn address(&self) -> &str {
        self.base_url.strip_prefix("http://").unwrap()
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the server logged so far.
    pub(crate) fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// A session of `PARTNER` against this server, holding a fresh token.
    pub(crate) async fn session(&self) -> PartnerSession {
        let mut session = PartnerSession::new(
            &self.base_url,
            PARTNER,
            partner_key(),
            TransactionAuth::Hmac {
                client_secret: SECRET.into(),
            },
        )
        .unwrap();
        let (_, response) = session.take_token().await.unwrap();
        assert_code(&response, "2007300");
        session
    }

    /// SIGKILL (`kill -9`), then reaps the process.
    pub(crate) fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Sends SIGTERM.
    pub(crate) fn terminate(&self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// The exit status, if the process has exited.
    pub(crate) fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().unwrap()
    }

    /// Waits at most `limit` for the process to exit.
    pub(crate) async fn wait_exit(
        &mut self,
        limit: std::time::Duration,
    ) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.try_wait() {
                return Some(status);
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `X-TIMESTAMP` for the real clock's now (what a `serve` process checks against).
pub(crate) fn real_timestamp() -> XTimestamp {
    XTimestamp::from_instant_jakarta(OffsetDateTime::now_utc())
}

/// Today's Jakarta date by the real clock, as `dateGenerate`.
pub(crate) fn real_today() -> String {
    snapqris_protocol::JakartaDate::of_instant(OffsetDateTime::now_utc()).to_string()
}
