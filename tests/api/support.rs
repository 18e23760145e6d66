use serde_json::{Value, json};
use snapqris_client::{
    PartnerSession, PreparedRequest, Response, TransactionAuth, fresh_external_id,
};
use snapqris_protocol::{ClientId, MerchantId, RsaPrivateKey, ServiceCode, XTimestamp};
use snapqris_server::{AppState, ManualClock, ServerConfig};
use snapqris_store::{NewMerchant, NewPartner, SignatureMode, Store};
pub(crate) use snapqris_test_support::Backend;
use snapqris_test_support::{Serve, TestDatabase, testdata};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use time::OffsetDateTime;
use time::macros::datetime;

/// Paths of the services.
pub(crate) const TOKEN: &str = ServiceCode::AccessToken.path();
pub(crate) const GENERATE: &str = ServiceCode::GenerateQr.path();
pub(crate) const LIST: &str = ServiceCode::GenerateList.path();
pub(crate) const QUERY: &str = ServiceCode::Query.path();
pub(crate) const PAYMENT: &str = ServiceCode::Payment.path();
pub(crate) const EXPIRE: &str = ServiceCode::ExpireBillNumber.path();
pub(crate) const REFUND: &str = ServiceCode::Refund.path();
pub(crate) const CANCEL: &str = ServiceCode::Cancel.path();

/// The partner every app starts with.
pub(crate) const PARTNER: &str = "partner-a";
pub(crate) const SECRET: &str = "secret-of-partner-a";
/// A merchant of `PARTNER`.
pub(crate) const MERCHANT: &str = "M0001";

/// A moment in Jakarta's afternoon (2026-11-25 15:00 +07:00).
pub(crate) const START: OffsetDateTime = datetime!(2026-11-25 08:00 UTC);

/// A session of `PARTNER` (hmac, the test key) against `base_url`, without a token.
pub(crate) fn partner_session(base_url: &str) -> PartnerSession {
    PartnerSession::new(
        base_url,
        PARTNER,
        partner_key(),
        TransactionAuth::Hmac {
            client_secret: SECRET.into(),
        },
    )
    .unwrap()
}

/// The independent test key pair's private half.
pub(crate) fn partner_key() -> RsaPrivateKey {
    RsaPrivateKey::parse_pem(&std::fs::read(testdata("partner-private.pem")).unwrap()).unwrap()
}

/// A running server with one partner (hmac, all services) and one merchant.
pub(crate) struct TestApp {
    pub(crate) base_url: String,
    pub(crate) database_url: String,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) session: PartnerSession,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// Dropped after the server is told to stop.
    _database: TestDatabase,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

pub(crate) async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_on(backend, ServerConfig::default()).await
}

/// [`spawn_app`] with a rate limit of `per_second` requests per partner.
pub(crate) async fn spawn_rate_limited(backend: Backend, per_second: u32) -> TestApp {
    let config = ServerConfig {
        rate_limit: per_second,
        ..Default::default()
    };
    spawn_app_on(backend, config).await
}

pub(crate) async fn spawn_app_on(backend: Backend, config: ServerConfig) -> TestApp {
    let database = TestDatabase::new(&backend).await;
    let url = database.url().to_owned();
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
    let session = partner_session(&base_url);
    let mut app = TestApp {
        base_url,
        database_url: url,
        clock,
        store,
        session,
        shutdown: Some(shutdown),
        _database: database,
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
        let mut session = partner_session(&self.base_url);
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

    /// Another partner (granted every service, signing with the test key) and its merchant.
    pub(crate) async fn add_partner_with_merchant(
        &self,
        client_id: &str,
        secret: &str,
        mode: SignatureMode,
        merchant_id: &str,
    ) {
        add_partner(&*self.store, client_id, secret, mode, &ServiceCode::ALL).await;
        add_merchant(&*self.store, merchant_id, client_id).await;
    }

    /// Service 90 for `MERCHANT` on `START`'s day, signed now by `session` with `external_id`.
    pub(crate) fn list_today_by(
        &self,
        session: &PartnerSession,
        external_id: &str,
    ) -> PreparedRequest {
        let body = list_body("2026-11-25", MERCHANT).to_string();
        session.prepare_with(LIST, body.as_bytes(), external_id, &self.timestamp())
    }

    /// Service 90 for `MERCHANT` on `START`'s day (2026-11-25).
    pub(crate) async fn list_today(&self) -> Response {
        self.post_generate_list("2026-11-25", MERCHANT).await
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

/// `snapqris` run in `dir`, with no `SNAPQRIS_*` variable or `RUST_LOG` inherited.
pub(crate) fn snapqris_in(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_snapqris"));
    command.current_dir(dir).env_remove("RUST_LOG");
    for (name, _) in std::env::vars() {
        if name.starts_with("SNAPQRIS_") {
            command.env_remove(name);
        }
    }
    command
}

/// Asserts exit status 1 and exactly one `error: …` line on stderr (CONTRACT §3); returns
/// that line.
#[track_caller]
pub(crate) fn fails_with_one_line(output: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line expected: {stderr:?}");
    assert!(stderr.starts_with("error: "), "{stderr:?}");
    stderr
}

/// A database for `snapqris` processes: a file in a temporary directory, or a fresh
/// PostgreSQL database dropped afterwards. Unlike `spawn_app`, nothing is registered in it.
pub(crate) struct ProcessDatabase {
    database: TestDatabase,
    /// Passed as `--master-key-file` to every command when set.
    pub(crate) master_key_file: Option<std::path::PathBuf>,
}

impl ProcessDatabase {
    pub(crate) async fn new(backend: &Backend) -> ProcessDatabase {
        ProcessDatabase {
            database: TestDatabase::new(backend).await,
            master_key_file: None,
        }
    }

    /// The temporary directory the commands run in.
    pub(crate) fn dir(&self) -> &std::path::Path {
        self.database.dir()
    }

    /// The URL `serve` is given.
    pub(crate) fn url(&self) -> &str {
        self.database.url()
    }

    /// The rows of `schema_migrations` and how many distinct versions they hold.
    pub(crate) async fn migration_rows(&self) -> (i64, i64) {
        self.database.migration_rows().await
    }

    /// `snapqris --database <url>`, run in the temporary directory (see [`snapqris_in`]).
    pub(crate) fn snapqris(&self) -> Command {
        let mut command = snapqris_in(self.database.dir());
        command.arg("--database").arg(self.url());
        if let Some(key) = &self.master_key_file {
            command.arg("--master-key-file").arg(key);
        }
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

    /// `snapqris --database <url> serve --listen 127.0.0.1:0 ARGS`, for [`Serve`].
    pub(crate) fn serve_command(&self, args: &[&str]) -> Command {
        let mut command = self.snapqris();
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args);
        command
    }

    /// Starts `serve` on this database without waiting for it.
    pub(crate) fn spawn_serve(&self) -> Serve {
        Serve::spawn(self.serve_command(&[]))
    }

    /// Starts `serve` and waits until it announces its address.
    pub(crate) fn serve(&self) -> Serve {
        Serve::start(self.serve_command(&[]))
    }
}

/// A session of `PARTNER` against a `serve` process, holding a fresh token.
pub(crate) async fn session_on(server: &Serve) -> PartnerSession {
    let mut session = partner_session(server.base_url());
    let (_, response) = session.take_token().await.unwrap();
    assert_code(&response, "2007300");
    session
}

/// `X-TIMESTAMP` for the real clock's now (what a `serve` process checks against).
pub(crate) fn real_timestamp() -> XTimestamp {
    XTimestamp::from_instant_jakarta(OffsetDateTime::now_utc())
}

/// Today's Jakarta date by the real clock, as `dateGenerate`.
pub(crate) fn real_today() -> String {
    snapqris_protocol::JakartaDate::of_instant(OffsetDateTime::now_utc()).to_string()
}
