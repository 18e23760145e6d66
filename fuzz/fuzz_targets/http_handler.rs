//! The request handler as a whole: any request in (method, path, headers and body derived
//! from the input by `http_input.rs`), a SNAP JSON answer out. Checks: no panic, the body is
//! JSON with a 7-digit `responseCode` whose first three digits are the HTTP status, and never
//! a 5xx.
//!
//! The app runs once per process on a temporary SQLite store with one partner (`hmac`, every
//! service) and one merchant; the server clock stands still, so the token taken at start-up
//! and the `X-TIMESTAMP` the input can ask for stay valid for the whole run.

#![no_main]

#[path = "../http_input.rs"]
mod http_input;

use http_input::{Context, FuzzRequest, check_answer, request_from_input};
use libfuzzer_sys::fuzz_target;
use snapqris_protocol::{ClientId, MerchantId, RsaPrivateKey, ServiceCode, XTimestamp};
use snapqris_server::{AppState, ManualClock, ServerConfig};
use snapqris_store::{NewMerchant, NewPartner, SignatureMode};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use time::OffsetDateTime;
use tower::ServiceExt;

const PARTNER: &str = "partner-a";
const SECRET: &str = "secret-of-partner-a";
const MERCHANT: &str = "M0001";
/// 2026-11-25 08:00 UTC, 15:00 in Jakarta (the API tests' start).
const START_UNIX: i64 = 1_795_593_600;

struct Harness {
    runtime: tokio::runtime::Runtime,
    app: axum::Router,
    key: RsaPrivateKey,
    token: String,
    timestamp: String,
    _dir: tempfile::TempDir,
}

static HARNESS: OnceLock<Harness> = OnceLock::new();
static EXTERNAL_IDS: AtomicU64 = AtomicU64::new(0);

impl Harness {
    fn context(&self) -> Context<'_> {
        Context {
            partner: PARTNER,
            client_secret: SECRET,
            token: &self.token,
            private_key: &self.key,
            timestamp: &self.timestamp,
            external_id: format!("fz{}", EXTERNAL_IDS.fetch_add(1, Ordering::Relaxed)),
        }
    }

    /// Sends `request` through the router; the status and the whole body.
    fn call(&self, request: FuzzRequest) -> (u16, Vec<u8>) {
        let mut builder = axum::http::Request::builder()
            .method(request.method)
            .uri(request.path);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_slice());
        }
        let request = builder
            .body(axum::body::Body::from(request.body))
            .expect("http_input makes valid requests");
        self.runtime.block_on(async {
            let response = self.app.clone().oneshot(request).await.unwrap();
            let status = response.status().as_u16();
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("the answer body is readable");
            (status, body.to_vec())
        })
    }
}

fn harness() -> &'static Harness {
    HARNESS.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        // On tmpfs when there is one: the store commits (claims, QRs) on most valid inputs.
        let dir = tempfile::tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .unwrap();
        let key = RsaPrivateKey::generate().unwrap();
        let start = OffsetDateTime::from_unix_timestamp(START_UNIX).unwrap();
        let app = runtime.block_on(async {
            let url = format!("sqlite://{}", dir.path().join("fuzz.db").display());
            let store = snapqris_store::connect(&url, &Default::default())
                .await
                .unwrap();
            store
                .add_partner(
                    &NewPartner {
                        client_id: ClientId::parse(PARTNER).unwrap(),
                        public_key_pem: key.public_key().to_spki_pem(),
                        client_secret: SECRET.into(),
                        signature_mode: SignatureMode::Hmac,
                        services: ServiceCode::ALL.to_vec(),
                    },
                    start,
                )
                .await
                .unwrap();
            store
                .add_merchant(
                    &NewMerchant {
                        merchant_id: MerchantId::parse(MERCHANT).unwrap(),
                        client_id: ClientId::parse(PARTNER).unwrap(),
                        name: "Kopi Kenangan".into(),
                        city: "Jakarta".into(),
                        mcc: "5814".into(),
                        postal_code: "10110".into(),
                        nmid: snapqris_qris::derive_sandbox_nmid(MERCHANT),
                        criteria: "UMI".into(),
                    },
                    start,
                )
                .await
                .unwrap();
            let clock = Arc::new(ManualClock::new(start));
            let state = AppState::new(ServerConfig::default(), store, clock)
                .await
                .unwrap();
            snapqris_server::app(state)
        });
        let mut harness = Harness {
            runtime,
            app,
            key,
            token: String::new(),
            timestamp: XTimestamp::from_instant_jakarta(start).as_str().to_owned(),
            _dir: dir,
        };
        // The token, taken the way an input asks for one: POST, token path, signed.
        let mut input = vec![
            0,
            0,
            http_input::TIMESTAMP | http_input::PARTNER_ID | http_input::SIGNATURE,
        ];
        input.extend_from_slice(br#"{"grantType":"client_credentials"}"#);
        let (status, body) = harness.call(request_from_input(&input, &harness.context()));
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
        harness.token = answer["accessToken"].as_str().unwrap().to_owned();
        harness
    })
}

fuzz_target!(|data: &[u8]| {
    let harness = harness();
    let request = request_from_input(data, &harness.context());
    let shown = format!("{request:?}");
    let (status, body) = harness.call(request);
    if let Err(problem) = check_answer(status, &body) {
        panic!("{problem}\nrequest: {shown}");
    }
});
