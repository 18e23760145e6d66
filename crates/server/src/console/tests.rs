//! The console over HTTP on each backend (routers driven in place): login and its cookie, the
//! CSRF refusal, session expiry and logout, the wrong-password lock, actions and their audit
//! entries, and the merchant day's paging.

use super::day::PAGE_SIZE;
use crate::listener::PeerAddress;
use crate::{AppState, ManualClock, ServerConfig};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use snapqris_protocol::{ClientId, MerchantId};
use snapqris_store::{NewMerchant, NewPartner, NewQr, Operator, QrKind, Store, StoreOptions};
use snapqris_test_support::{Backend, TestDatabase, new_merchant, new_partner, on_each_backend};
use std::sync::Arc;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use tower::ServiceExt;

const NOW: OffsetDateTime = datetime!(2026-12-07 03:00 UTC);
const PASSWORD: &str = "a long enough password";

pub(super) struct Console {
    router: Router,
    pub(super) store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    _database: TestDatabase,
}

/// One answer: status, `Set-Cookie`, `Location`, body.
pub(super) struct Answer {
    pub(super) status: StatusCode,
    cookie: Option<String>,
    location: Option<String>,
    pub(super) body: String,
}

impl Console {
    /// A console on a fresh database with partner `P1`, its merchant `M1` and operator `ana`.
    pub(super) async fn new(backend: &Backend) -> Console {
        let database = TestDatabase::new(backend).await;
        let store = snapqris_store::connect(database.url(), &StoreOptions::default())
            .await
            .unwrap();
        let partner = NewPartner {
            public_key_pem: "-----BEGIN PUBLIC KEY-----\nMFk=\n-----END PUBLIC KEY-----\n".into(),
            client_secret: "the-secret-of-P1".into(),
            ..new_partner("P1")
        };
        store.add_partner(&partner, NOW).await.unwrap();
        let merchant = NewMerchant {
            name: "Warung Console".into(),
            ..new_merchant("M1", "P1")
        };
        store.add_merchant(&merchant, NOW).await.unwrap();
        let operator = Operator {
            name: "ana".into(),
            password_hash: super::hash_password(PASSWORD).unwrap(),
            created_at: NOW,
        };
        store.add_operator(&operator).await.unwrap();
        let clock = Arc::new(ManualClock::new(NOW));
        let state = AppState::new(ServerConfig::default(), store.clone(), clock.clone())
            .await
            .unwrap();
        let peer = PeerAddress("192.0.2.1:40000".parse().unwrap());
        Console {
            router: super::router(state).layer(axum::Extension(peer)),
            store,
            clock,
            _database: database,
        }
    }

    pub(super) async fn send(
        &self,
        method: &str,
        path: &str,
        cookie: Option<&str>,
        form: Option<&str>,
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        let request = match form {
            Some(form) => request
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form.to_owned())),
            None => request.body(Body::empty()),
        }
        .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let text = |name| {
            response
                .headers()
                .get(name)
                .map(|v: &header::HeaderValue| v.to_str().unwrap().to_owned())
        };
        let (cookie, location) = (text(header::SET_COOKIE), text(header::LOCATION));
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            cookie,
            location,
            body: String::from_utf8(body.to_vec()).unwrap(),
        }
    }

    pub(super) async fn login(&self, password: &str) -> Answer {
        let form = format!("name=ana&password={}", password.replace(' ', "+"));
        self.send("POST", "/login", None, Some(&form)).await
    }

    /// Logs `ana` in; returns the `Cookie` header value and the page's CSRF token.
    pub(super) async fn logged_in(&self) -> (String, String) {
        let answer = self.login(PASSWORD).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        let set_cookie = answer.cookie.unwrap();
        let cookie = set_cookie.split(';').next().unwrap().to_owned();
        let page = self.send("GET", "/partners", Some(&cookie), None).await;
        assert_eq!(page.status, StatusCode::OK);
        (cookie, csrf_of(&page.body))
    }

    async fn actions(&self) -> Vec<(String, String, String)> {
        let log = self.store.audit_log(100, None).await.unwrap();
        log.into_iter()
            .map(|e| (e.entry.action, e.entry.target, e.entry.detail))
            .collect()
    }
}

fn csrf_of(page: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = page.find(marker).expect("a CSRF field") + marker.len();
    page[start..start + page[start..].find('"').unwrap()].to_owned()
}

async fn login_sets_a_strict_session_cookie_and_a_wrong_password_does_not(backend: Backend) {
    let console = Console::new(&backend).await;
    let refused = console.send("GET", "/partners", None, None).await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    assert_eq!(refused.location.as_deref(), Some("/login"));
    let wrong = console.login("not it").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.cookie.is_none());
    assert!(wrong.body.contains("Wrong name or password"));
    let right = console.login(PASSWORD).await;
    assert_eq!(right.status, StatusCode::SEE_OTHER);
    let cookie = right.cookie.unwrap();
    assert!(cookie.starts_with("snapqris_console="), "{cookie}");
    assert!(
        cookie.ends_with("; HttpOnly; SameSite=Strict; Path=/"),
        "{cookie}"
    );
    let (cookie, _) = console.logged_in().await;
    let page = console.send("GET", "/partners", Some(&cookie), None).await;
    assert!(page.body.contains("P1"));
    assert!(
        !page.body.contains("the-secret-of-P1"),
        "no page shows a client secret"
    );
    assert!(!page.body.contains("PUBLIC KEY"));
}

async fn an_action_without_its_sessions_csrf_token_is_refused_and_changes_nothing(
    backend: Backend,
) {
    let console = Console::new(&backend).await;
    let (cookie, csrf) = console.logged_in().await;
    let (_, other_csrf) = console.logged_in().await;
    assert_ne!(csrf, other_csrf, "each session has its own token");
    let before = console.actions().await;
    for form in [
        "".to_owned(),
        "csrf=forged".to_owned(),
        format!("csrf={other_csrf}"),
    ] {
        let answer = console
            .send("POST", "/partners/P1/disable", Some(&cookie), Some(&form))
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{form}");
    }
    assert!(console.store.partner("P1").await.unwrap().unwrap().enabled);
    assert_eq!(console.actions().await, before);

    let form = format!("csrf={csrf}");
    let done = console
        .send("POST", "/partners/P1/disable", Some(&cookie), Some(&form))
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert!(!console.store.partner("P1").await.unwrap().unwrap().enabled);
    let form = format!("csrf={csrf}&reason=fraud+suspected");
    let done = console
        .send(
            "POST",
            "/merchants/M1/blacklist",
            Some(&cookie),
            Some(&form),
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let merchant = console.store.merchant("M1").await.unwrap().unwrap();
    assert_eq!(
        merchant.blacklisted.unwrap().reason.as_deref(),
        Some("fraud suspected")
    );
    let unknown = console
        .send(
            "POST",
            "/merchants/M9/blacklist",
            Some(&cookie),
            Some(&form),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let actions = console.actions().await;
    assert_eq!(
        actions[..2],
        [
            (
                "merchant.blacklist".into(),
                "M1".into(),
                "fraud suspected".into()
            ),
            ("partner.disable".into(), "P1".into(), String::new()),
        ]
    );
    assert_eq!(actions.len(), before.len() + 2);
}

async fn a_session_ends_when_idle_at_twelve_hours_and_at_logout(backend: Backend) {
    let console = Console::new(&backend).await;
    let (cookie, csrf) = console.logged_in().await;
    let console = &console;
    let page = |cookie: String| async move {
        console
            .send("GET", "/audit", Some(&cookie), None)
            .await
            .status
    };
    console.clock.set(NOW + Duration::minutes(29));
    assert_eq!(page(cookie.clone()).await, StatusCode::OK);
    console.clock.set(NOW + Duration::minutes(29 + 30));
    assert_eq!(
        page(cookie.clone()).await,
        StatusCode::SEE_OTHER,
        "30 idle minutes"
    );

    console.clock.set(NOW);
    let (cookie, _) = console.logged_in().await;
    let mut at = NOW;
    while at + Duration::minutes(20) < NOW + Duration::hours(12) {
        at += Duration::minutes(20);
        console.clock.set(at);
        assert_eq!(page(cookie.clone()).await, StatusCode::OK, "at {at}");
    }
    console.clock.set(NOW + Duration::hours(12));
    assert_eq!(
        page(cookie.clone()).await,
        StatusCode::SEE_OTHER,
        "12 hours"
    );

    console.clock.set(NOW);
    let (cookie, csrf_now) = console.logged_in().await;
    assert_ne!(csrf, csrf_now);
    let refused = console
        .send("POST", "/logout", Some(&cookie), Some("csrf=x"))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let form = format!("csrf={csrf_now}");
    let out = console
        .send("POST", "/logout", Some(&cookie), Some(&form))
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(out.cookie.unwrap().contains("Max-Age=0"));
    assert_eq!(page(cookie).await, StatusCode::SEE_OTHER, "logged out");
    assert_eq!(console.actions().await[0].0, "logout");
}

async fn five_wrong_passwords_lock_the_name_for_fifteen_minutes(backend: Backend) {
    let console = Console::new(&backend).await;
    for _ in 0..5 {
        assert_eq!(
            console.login("wrong").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let locked = console.login(PASSWORD).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.cookie.is_none());
    console
        .clock
        .set(NOW + Duration::minutes(15) + Duration::seconds(1));
    assert_eq!(console.login(PASSWORD).await.status, StatusCode::SEE_OTHER);
}

async fn a_big_merchant_day_pages_with_service_51s_statuses(backend: Backend) {
    let console = Console::new(&backend).await;
    let total = PAGE_SIZE as i64 + 1;
    for id_qr in 1..=total {
        let dynamic = id_qr % 2 == 0;
        let qr = NewQr {
            id_qr,
            merchant_id: MerchantId::parse("M1").unwrap(),
            client_id: ClientId::parse("P1").unwrap(),
            partner_reference_no: format!("ref-{id_qr}"),
            kind: if dynamic {
                QrKind::Dynamic
            } else {
                QrKind::Static
            },
            amount_sen: dynamic.then_some(100_000),
            terminal_id: None,
            generated_at: NOW + Duration::milliseconds(id_qr),
            expires_at: dynamic.then_some(NOW + Duration::hours(1)),
            qr_content: format!("000201-payload-{id_qr}"),
        };
        console.store.insert_qr(&qr).await.unwrap();
    }
    let (cookie, _) = console.logged_in().await;
    let first = console
        .send(
            "GET",
            "/merchants/M1/day?date=2026-12-07",
            Some(&cookie),
            None,
        )
        .await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.body.matches("<tr data-id-qr=").count(), PAGE_SIZE);
    // Newest first, as service 90.
    let newest = first
        .body
        .find(&format!(r#"data-id-qr="{total}""#))
        .unwrap();
    let older = first.body.find(r#"data-id-qr="2""#).unwrap();
    assert!(newest < older);
    assert!(first.body.contains(r#"rel="next""#));
    assert!(first.body.contains("status-01"));
    // An hour later the dynamic ones have expired (05); the static ones stay initiated (01).
    console.clock.set(NOW + Duration::hours(2));
    let (cookie, _) = console.logged_in().await;
    let second = console
        .send(
            "GET",
            "/merchants/M1/day?date=2026-12-07&page=1",
            Some(&cookie),
            None,
        )
        .await;
    assert_eq!(second.body.matches("<tr data-id-qr=").count(), 1);
    assert!(second.body.contains(r#"data-id-qr="1""#));
    assert!(!second.body.contains(r#"rel="next""#));
    let later = console
        .send(
            "GET",
            "/merchants/M1/day?date=2026-12-07",
            Some(&cookie),
            None,
        )
        .await;
    assert!(later.body.contains("status-05"));
    let bad = console
        .send(
            "GET",
            "/merchants/M1/day?date=07-12-2026",
            Some(&cookie),
            None,
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let image = console
        .send("GET", "/merchants/M1/qr/3", Some(&cookie), None)
        .await;
    assert_eq!(image.status, StatusCode::OK);
    assert!(image.body.contains("<svg"));
    let missing = console
        .send("GET", "/merchants/M1/qr/99999", Some(&cookie), None)
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

/// A paid QR of `M1` whose notification (id 9001) failed its one attempt at `NOW`.
async fn a_failed_notification(console: &Console) {
    console
        .store
        .update_partner(
            "P1",
            snapqris_store::PartnerChange::CallbackUrl(Some("http://127.0.0.1:9/cb".into())),
            NOW,
        )
        .await
        .unwrap();
    let qr = NewQr {
        id_qr: 77,
        merchant_id: MerchantId::parse("M1").unwrap(),
        client_id: ClientId::parse("P1").unwrap(),
        partner_reference_no: "paid".into(),
        kind: QrKind::Static,
        amount_sen: None,
        terminal_id: None,
        generated_at: NOW,
        expires_at: None,
        qr_content: "000201-paid".into(),
    };
    console.store.insert_qr(&qr).await.unwrap();
    let payment = snapqris_store::SandboxPayment {
        id_qr: 77,
        amount_sen: Some(50_000),
        payment_id: 8001,
        notification_id: 9001,
        at: NOW,
    };
    console
        .store
        .record_payment(payment)
        .await
        .unwrap()
        .unwrap();
    let until = NOW + Duration::minutes(1);
    let leased = console
        .store
        .lease_notifications("test", NOW, until, 10)
        .await
        .unwrap();
    assert_eq!(leased.len(), 1);
    let done = snapqris_store::FinishedAttempt {
        notification_id: 9001,
        holder: "test".into(),
        record: snapqris_store::NotificationAttempt {
            attempt: 1,
            started_at: NOW,
            latency: std::time::Duration::from_millis(12),
            http_status: Some(500),
            response_code: None,
            error: Some("HTTP 500".into()),
        },
        outcome: snapqris_store::AttemptOutcome::Failed,
    };
    assert!(console.store.finish_attempt(&done).await.unwrap());
}

async fn a_failed_notification_shows_its_attempts_and_is_resent_once_audited(backend: Backend) {
    let console = Console::new(&backend).await;
    a_failed_notification(&console).await;
    let (cookie, csrf) = console.logged_in().await;
    let partners = console.send("GET", "/partners", Some(&cookie), None).await;
    assert!(
        partners.body.contains(r#"<td class="num failed">1</td>"#),
        "{}",
        partners.body
    );
    let list = console
        .send("GET", "/notifications", Some(&cookie), None)
        .await;
    assert_eq!(list.status, StatusCode::OK);
    let failed = list.body.find("Failed (1)").unwrap();
    let pending = list.body.find("Pending (0)").unwrap();
    assert!(failed < pending, "failed first");
    assert!(list.body.contains(r#"data-notification-id="9001""#));
    let detail = console
        .send("GET", "/notifications/9001", Some(&cookie), None)
        .await;
    assert!(detail.body.contains("HTTP 500"), "{}", detail.body);
    assert!(detail.body.contains("12.0 ms"));
    let overview = console.send("GET", "/", Some(&cookie), None).await;
    assert!(overview.body.contains("Notifications waiting, by partner"));

    let refused = console
        .send(
            "POST",
            "/notifications/9001/resend",
            Some(&cookie),
            Some("csrf=no"),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let status = |console: &Console| {
        let store = console.store.clone();
        async move {
            store
                .notification(9001)
                .await
                .unwrap()
                .unwrap()
                .summary
                .status
        }
    };
    assert_eq!(
        status(&console).await,
        snapqris_store::NotificationStatus::Failed
    );
    let form = format!("csrf={csrf}");
    let resent = console
        .send(
            "POST",
            "/notifications/9001/resend",
            Some(&cookie),
            Some(&form),
        )
        .await;
    assert_eq!(resent.status, StatusCode::SEE_OTHER);
    assert_eq!(
        status(&console).await,
        snapqris_store::NotificationStatus::Pending
    );
    assert_eq!(
        console.actions().await[0],
        ("notification.resend".into(), "9001".into(), String::new())
    );
    let unknown = console
        .send(
            "POST",
            "/notifications/404/resend",
            Some(&cookie),
            Some(&form),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

on_each_backend!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    login_sets_a_strict_session_cookie_and_a_wrong_password_does_not,
    an_action_without_its_sessions_csrf_token_is_refused_and_changes_nothing,
    a_session_ends_when_idle_at_twelve_hours_and_at_logout,
    five_wrong_passwords_lock_the_name_for_fifteen_minutes,
    a_big_merchant_day_pages_with_service_51s_statuses,
    a_failed_notification_shows_its_attempts_and_is_resent_once_audited,
);
