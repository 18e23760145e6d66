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
pub(crate) const TOKEN: &str = "/v1.0/access-token/b2b";
pub(crate) const GENERATE: &str = "/v1.0/qr/qr-mpm-generate";
pub(crate) const LIST: &str = "/v1.0/qr/qr-generate-list";

/// The partner every app starts with.
pub(crate) const PARTNER: &str = "partner-a";
pub(crate) const SECRET: &str = "secret-of-partner-a";
/// A merchant of `PARTNER`.
pub(crate) const MERCHANT: &str = "M0001";

/// A moment in Jakarta's afternoon (2026-11-25 15:00 +07:00).
pub(crate) const START: OffsetDateTime = datetime!(2026-11-25 08:00 UTC);

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/testdata")
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
            // Drop runs inside the test's runtime, so the clean-up gets a thread of its own.
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
