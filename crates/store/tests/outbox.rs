//! The notification outbox (CONTRACT §6.2) on each backend: a payment writes its notification
//! in its own transaction, held until the partner can receive, leased to one worker at a time
//! however many race, recorded attempt by attempt, resent by operators.

use snapqris_protocol::{ClientId, ExternalId, JakartaDate, MerchantId, NotificationBody};
use snapqris_store::{
    AttemptOutcome, ClaimedWork, Entity, ExternalIdKey, FinishedAttempt, NewMerchant, NewQr,
    NotificationAttempt, NotificationBacklog, NotificationCounts, NotificationEvent,
    NotificationFilter, NotificationStatus, PartnerChange, PayerDetails, PaymentOutcome, QrKind,
    RecordPayment, Store, StoreError, StoreOptions,
};
use snapqris_test_support::{Backend, TestDatabase, new_merchant, new_partner, on_each_backend};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-11-25 08:00 UTC);
const LEASE: time::Duration = time::Duration::seconds(15);

/// Partners `P1` (merchant `M1`, with a callback URL) and `PAYER`; a dynamic QR 1 and a static
/// QR 2 of `M1`.
async fn store_with_qrs(database: &TestDatabase) -> Arc<dyn Store> {
    let store = snapqris_store::connect(database.url(), &StoreOptions::default())
        .await
        .unwrap();
    for client_id in ["P1", "PAYER"] {
        store
            .add_partner(&new_partner(client_id), NOW)
            .await
            .unwrap();
    }
    set_callback(&*store, Some("https://p1.example/hooks")).await;
    add_merchant(&*store, "M1", "P1", "ID1234567890123").await;
    for (id_qr, kind, amount_sen) in [
        (1, QrKind::Dynamic, Some(900_000)),
        (2, QrKind::Static, None),
    ] {
        let qr = NewQr {
            id_qr,
            merchant_id: MerchantId::parse("M1").unwrap(),
            client_id: ClientId::parse("P1").unwrap(),
            partner_reference_no: format!("ref-{id_qr}"),
            kind,
            amount_sen,
            terminal_id: Some("T01".into()),
            generated_at: NOW,
            expires_at: amount_sen.map(|_| NOW + time::Duration::hours(1)),
            qr_content: format!("payload-{id_qr}"),
        };
        store.insert_qr(&qr).await.unwrap();
    }
    store
}

/// Merchant `merchant_id` of partner `client_id`, with its own NMID.
async fn add_merchant(store: &dyn Store, merchant_id: &str, client_id: &str, nmid: &str) {
    let merchant = NewMerchant {
        name: format!("Warung {merchant_id}"),
        nmid: nmid.into(),
        ..new_merchant(merchant_id, client_id)
    };
    store.add_merchant(&merchant, NOW).await.unwrap();
}

async fn set_callback(store: &dyn Store, url: Option<&str>) {
    let change = PartnerChange::CallbackUrl(url.map(str::to_owned));
    store.update_partner("P1", change, NOW).await.unwrap();
}

/// `PAYER` pays QR `id_qr` as payment `payment_id` (its notification: `payment_id + 1000`).
async fn pay(store: &dyn Store, id_qr: i64, amount_sen: Option<i64>, payment_id: i64) {
    let job = RecordPayment {
        payer: ClientId::parse("PAYER").unwrap(),
        partner_reference_no: format!("pay-{payment_id}"),
        id_qr,
        qr_content: format!("payload-{id_qr}"),
        amount_sen,
        payment_id,
        notification_id: payment_id + 1000,
        at: NOW,
        details: PayerDetails {
            issuer_name: Some("Bank Payer".into()),
            customer_name: None,
            rrn: Some("123456789012".into()),
        },
    };
    let key = ExternalIdKey {
        client_id: job.payer.clone(),
        day: JakartaDate::of_instant(NOW),
        external_id: ExternalId::parse(&format!("EXT-{payment_id}")).unwrap(),
    };
    match store.claim_then(&key, NOW, job).await.unwrap() {
        ClaimedWork::Claimed(Ok(PaymentOutcome::Paid(_))) => {}
        other => panic!("not paid: {other:?}"),
    }
}

fn attempt(number: u32, http_status: Option<u16>) -> NotificationAttempt {
    NotificationAttempt {
        attempt: number,
        started_at: NOW,
        latency: Duration::from_millis(12),
        http_status,
        response_code: http_status.map(|status| format!("{status}5200")),
        error: None,
    }
}

fn finished(notification_id: i64, holder: &str, outcome: AttemptOutcome) -> FinishedAttempt {
    let status = match outcome {
        AttemptOutcome::Delivered => 200,
        _ => 500,
    };
    FinishedAttempt {
        notification_id,
        holder: holder.to_owned(),
        record: attempt(1, Some(status)),
        outcome,
    }
}

async fn lease(store: &dyn Store, holder: &str, now: OffsetDateTime) -> Vec<i64> {
    let leased = store.lease_notifications(holder, now, now + LEASE, 100);
    let leased = leased.await.unwrap();
    leased.iter().map(|n| n.notification_id).collect()
}

async fn a_payment_writes_its_notification_with_the_contract_body(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let store = store_with_qrs(&database).await;

    pay(&*store, 1, None, 100).await;

    let detail = store.notification(1100).await.unwrap().unwrap();
    assert_eq!(detail.summary.event, NotificationEvent::Payment);
    assert_eq!(detail.summary.status, NotificationStatus::Pending);
    assert_eq!(
        (detail.summary.client_id.as_str(), detail.summary.id_qr),
        ("P1", 1)
    );
    assert_eq!(detail.summary.payment_id, 100);
    assert_eq!(detail.summary.next_attempt, Some(NOW));
    let body: NotificationBody = serde_json::from_str(&detail.body).unwrap();
    assert_eq!(body.original_reference_no, "1");
    assert_eq!(body.original_partner_reference_no, "ref-1");
    assert_eq!(body.latest_transaction_status, "00");
    assert_eq!(body.amount.value, "9000.00");
    let info = &body.additional_info;
    assert_eq!(
        (info.notification_id.as_str(), info.payment_id.as_str()),
        ("1100", "100")
    );
    assert_eq!(info.event_type, "payment");
    assert_eq!(info.terminal_id.as_deref(), Some("T01"));
    assert_eq!(info.paid_time, "2026-11-25T15:00:00+07:00");
    assert_eq!(info.rrn.as_deref(), Some("123456789012"));
    // Compact JSON: what is hashed raw and minified is the same.
    assert!(!detail.body.contains(": ") && !detail.body.contains('\n'));
}

async fn a_payment_whose_notification_cannot_be_written_is_not_made(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let store = store_with_qrs(&database).await;
    pay(&*store, 2, Some(5_000), 100).await;

    // A second payment whose notification id is taken (by the first payment's, 1100): the
    // payment must not stand without its notification.
    let job = RecordPayment {
        payer: ClientId::parse("PAYER").unwrap(),
        partner_reference_no: "collides".into(),
        id_qr: 2,
        qr_content: "payload-2".into(),
        amount_sen: Some(7_000),
        payment_id: 101,
        notification_id: 1100,
        at: NOW,
        details: PayerDetails::default(),
    };
    let key = ExternalIdKey {
        client_id: job.payer.clone(),
        day: JakartaDate::of_instant(NOW),
        external_id: ExternalId::parse("EXT-collides").unwrap(),
    };
    let done = store.claim_then(&key, NOW, job).await.unwrap();
    assert!(matches!(done, ClaimedWork::Claimed(Err(_))), "{done:?}");

    let qr = store.qr(2).await.unwrap().unwrap();
    assert_eq!((qr.payment_count, qr.paid_amount_sen), (1, Some(5_000)));
    let all = store.notifications(&NotificationFilter::default()).await;
    assert_eq!(all.unwrap().len(), 1);
}

async fn notifications_are_held_until_the_partner_can_receive_them(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let store = store_with_qrs(&database).await;
    set_callback(&*store, None).await;
    pay(&*store, 2, Some(5_000), 100).await;

    let held = NotificationCounts {
        held: 1,
        ..NotificationCounts::default()
    };
    assert_eq!(store.notification_counts(None).await.unwrap(), held);
    assert!(lease(&*store, "node-a", NOW).await.is_empty());
    set_callback(&*store, Some("https://p1.example")).await;
    store.set_partner_enabled("P1", false, NOW).await.unwrap();
    assert!(lease(&*store, "node-a", NOW).await.is_empty());
    let filter = NotificationFilter {
        status: Some(NotificationStatus::Held),
        ..NotificationFilter::default()
    };
    assert_eq!(store.notifications(&filter).await.unwrap().len(), 1);

    store.set_partner_enabled("P1", true, NOW).await.unwrap();
    let leased = store.lease_notifications("node-a", NOW, NOW + LEASE, 10);
    let leased = leased.await.unwrap();
    assert_eq!(leased.len(), 1);
    assert_eq!(leased[0].callback_url, "https://p1.example");
    assert_eq!((leased[0].attempt, leased[0].round_attempts), (1, 0));
    let counts = store.notification_counts(Some("P1")).await.unwrap();
    assert_eq!((counts.held, counts.pending), (0, 1));
    assert_eq!(
        store.notification_counts(Some("PAYER")).await.unwrap(),
        NotificationCounts::default()
    );
}

async fn a_held_backlog_never_hides_another_partners_due_notifications(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let store = store_with_qrs(&database).await;
    // `PAYER` owns merchant M2 and its static QR 3 too, but has no callback URL: held.
    add_merchant(&*store, "M2", "PAYER", "ID1234567890124").await;
    let qr = NewQr {
        id_qr: 3,
        merchant_id: MerchantId::parse("M2").unwrap(),
        client_id: ClientId::parse("PAYER").unwrap(),
        partner_reference_no: "ref-3".into(),
        kind: QrKind::Static,
        amount_sen: None,
        terminal_id: None,
        generated_at: NOW,
        expires_at: None,
        qr_content: "payload-3".into(),
    };
    store.insert_qr(&qr).await.unwrap();
    for n in 0..30 {
        pay(&*store, 3, Some(1_000 + n), 100 + n).await;
    }
    for n in 0..5 {
        pay(&*store, 2, Some(2_000 + n), 200 + n).await;
    }
    let backlog = NotificationBacklog {
        pending: 5,
        held: 30,
        oldest_due: Some(NOW),
    };
    assert_eq!(store.notification_backlog(NOW).await.unwrap(), backlog);
    let none_due = NotificationBacklog {
        oldest_due: None,
        ..backlog
    };
    let a_second_early = NOW - time::Duration::seconds(1);
    assert_eq!(
        store.notification_backlog(a_second_early).await.unwrap(),
        none_due
    );

    // Older held rows of another partner come first in due order; they are passed over.
    let first = store.lease_notifications("node-a", NOW, NOW + LEASE, 3);
    let first: Vec<i64> = first
        .await
        .unwrap()
        .iter()
        .map(|n| n.notification_id)
        .collect();
    let second = lease(&*store, "node-a", NOW).await;
    assert_eq!((first.len(), second.len()), (3, 2));
    let both: HashSet<i64> = first.into_iter().chain(second).collect();
    assert_eq!(both, (1200..1205).collect());
    assert!(lease(&*store, "node-b", NOW).await.is_empty());
    // Leased and held rows are not waiting for an attempt.
    assert_eq!(store.notification_backlog(NOW).await.unwrap(), none_due);

    // Once `PAYER` can receive, its thirty go out, oldest due first across partners.
    let change = PartnerChange::CallbackUrl(Some("https://payer.example".into()));
    store.update_partner("PAYER", change, NOW).await.unwrap();
    let leased = lease(&*store, "node-b", NOW).await;
    assert_eq!(leased.len(), 30);
    assert!(leased.iter().all(|id| (1100..1130).contains(id)));
    let backlog = NotificationBacklog {
        pending: 35,
        held: 0,
        oldest_due: None,
    };
    assert_eq!(store.notification_backlog(NOW).await.unwrap(), backlog);
    // Leases run out (their node died): due since NOW, and waiting.
    let later = NOW + LEASE;
    assert_eq!(
        store.notification_backlog(later).await.unwrap(),
        NotificationBacklog {
            oldest_due: Some(NOW),
            ..backlog
        }
    );
}

async fn a_lease_is_held_by_one_worker_until_it_runs_out(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let store = store_with_qrs(&database).await;
    pay(&*store, 2, Some(5_000), 100).await;

    assert_eq!(lease(&*store, "node-a", NOW).await, vec![1100]);
    assert!(lease(&*store, "node-b", NOW).await.is_empty());
    // node-a died: once its lease runs out, node-b retries, and node-a's late answer is refused.
    let later = NOW + LEASE;
    assert_eq!(lease(&*store, "node-b", later).await, vec![1100]);
    let late = finished(1100, "node-a", AttemptOutcome::Delivered);
    assert!(!store.finish_attempt(&late).await.unwrap());
    let detail = store.notification(1100).await.unwrap().unwrap();
    assert!(detail.attempts.is_empty());
    assert_eq!(detail.summary.status, NotificationStatus::Pending);
}

async fn racing_workers_lease_each_notification_once(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let store = store_with_qrs(&database).await;
    for n in 0..40 {
        pay(&*store, 2, Some(1_000 + n), 100 + n).await;
    }

    let racing = (0..8).map(|worker| {
        let store = store.clone();
        tokio::spawn(async move {
            let holder = format!("node-{worker}");
            let mut mine = Vec::new();
            for _ in 0..10 {
                let leased = store
                    .lease_notifications(&holder, NOW, NOW + LEASE, 3)
                    .await;
                mine.extend(leased.unwrap().into_iter().map(|n| n.notification_id));
            }
            mine
        })
    });
    let leased: Vec<i64> = futures_util::future::try_join_all(racing)
        .await
        .unwrap()
        .into_iter()
        .flatten()
        .collect();

    let distinct: HashSet<_> = leased.iter().copied().collect();
    assert_eq!(leased.len(), 40, "every notification leased exactly once");
    assert_eq!(distinct, (1100..1140).collect());
}

async fn attempts_are_recorded_and_decide_what_comes_next(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let store = store_with_qrs(&database).await;
    pay(&*store, 2, Some(5_000), 100).await;
    pay(&*store, 2, Some(6_000), 101).await;
    pay(&*store, 2, Some(7_000), 102).await;
    assert_eq!(lease(&*store, "w", NOW).await, vec![1100, 1101, 1102]);

    // Recorded as one batch, as the worker does; a holder without the lease records nothing.
    let retry_at = NOW + time::Duration::seconds(5);
    let batch = [
        finished(1100, "w", AttemptOutcome::Delivered),
        finished(1101, "someone-else", AttemptOutcome::Delivered),
        finished(1101, "w", AttemptOutcome::Retry { at: retry_at }),
        finished(1102, "w", AttemptOutcome::Failed),
    ];
    let recorded = store.finish_attempts(&batch).await.unwrap();
    assert_eq!(recorded, [true, false, true, true]);

    let status = |id| {
        let store = store.clone();
        async move { store.notification(id).await.unwrap().unwrap() }
    };
    let delivered = status(1100).await;
    assert_eq!(delivered.summary.status, NotificationStatus::Delivered);
    assert_eq!(delivered.summary.attempts, 1);
    assert_eq!(
        delivered.summary.last_result.as_deref(),
        Some("HTTP 200 2005200")
    );
    assert_eq!(delivered.attempts, vec![attempt(1, Some(200))]);
    let retried = status(1101).await;
    assert_eq!(retried.summary.status, NotificationStatus::Pending);
    assert_eq!(retried.summary.next_attempt, Some(retry_at));
    assert_eq!(
        status(1102).await.summary.status,
        NotificationStatus::Failed
    );
    // Only the retry comes due again, and only when it is due.
    assert!(lease(&*store, "w", NOW).await.is_empty());
    let leased = store.lease_notifications("w", retry_at, retry_at + LEASE, 10);
    let leased = leased.await.unwrap();
    assert_eq!(leased.len(), 1);
    assert_eq!((leased[0].attempt, leased[0].round_attempts), (2, 1));
    let counts = store.notification_counts(None).await.unwrap();
    let expected = NotificationCounts {
        held: 0,
        pending: 1,
        delivered: 1,
        failed: 1,
    };
    assert_eq!(counts, expected);
}

async fn a_resend_queues_a_notification_again_with_a_fresh_schedule(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let store = store_with_qrs(&database).await;
    pay(&*store, 1, None, 100).await;
    assert_eq!(lease(&*store, "w", NOW).await, vec![1100]);
    let delivered = finished(1100, "w", AttemptOutcome::Delivered);
    assert!(store.finish_attempt(&delivered).await.unwrap());
    // Acknowledged: never leased again...
    let much_later = NOW + time::Duration::days(1);
    assert!(lease(&*store, "w", much_later).await.is_empty());

    // ...unless an operator resends it.
    store.resend_notification(1100, much_later).await.unwrap();
    let leased = store.lease_notifications("w", much_later, much_later + LEASE, 10);
    let leased = leased.await.unwrap();
    assert_eq!(leased.len(), 1);
    assert_eq!((leased[0].attempt, leased[0].round_attempts), (2, 0));
    // A pending one is left alone; an unknown one is an error.
    store.resend_notification(1100, much_later).await.unwrap();
    assert!(matches!(
        store.resend_notification(999, NOW).await,
        Err(StoreError::NotFound(Entity::Notification))
    ));
}

async fn the_list_filters_by_partner_status_and_page(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let store = store_with_qrs(&database).await;
    for n in 0..5 {
        pay(&*store, 2, Some(1_000 + n), 100 + n).await;
    }
    assert_eq!(lease(&*store, "w", NOW).await.len(), 5);
    let delivered = finished(1102, "w", AttemptOutcome::Delivered);
    assert!(store.finish_attempt(&delivered).await.unwrap());

    let ids = |filter: NotificationFilter| {
        let store = store.clone();
        async move {
            let listed = store.notifications(&filter).await.unwrap();
            listed.iter().map(|n| n.notification_id).collect::<Vec<_>>()
        }
    };
    let all = NotificationFilter::default();
    assert_eq!(ids(all.clone()).await, vec![1104, 1103, 1102, 1101, 1100]);
    let page = NotificationFilter {
        limit: 2,
        before: Some(1103),
        ..all.clone()
    };
    assert_eq!(ids(page).await, vec![1102, 1101]);
    let delivered = NotificationFilter {
        status: Some(NotificationStatus::Delivered),
        ..all.clone()
    };
    assert_eq!(ids(delivered).await, vec![1102]);
    let pending = NotificationFilter {
        status: Some(NotificationStatus::Pending),
        client_id: Some("P1".into()),
        ..all.clone()
    };
    assert_eq!(ids(pending).await, vec![1104, 1103, 1101, 1100]);
    let others = NotificationFilter {
        client_id: Some("PAYER".into()),
        ..all
    };
    assert!(ids(others).await.is_empty());
}

on_each_backend!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    a_payment_writes_its_notification_with_the_contract_body,
    a_payment_whose_notification_cannot_be_written_is_not_made,
    notifications_are_held_until_the_partner_can_receive_them,
    a_held_backlog_never_hides_another_partners_due_notifications,
    a_lease_is_held_by_one_worker_until_it_runs_out,
    racing_workers_lease_each_notification_once,
    attempts_are_recorded_and_decide_what_comes_next,
    a_resend_queues_a_notification_again_with_a_fresh_schedule,
    the_list_filters_by_partner_status_and_page,
);
