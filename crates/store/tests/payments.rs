//! Payments (CONTRACT §6.1) on each backend: the rules, the payer's idempotent reference, the
//! race of one dynamic QR, and the migration of QRs paid before payments had rows.

use snapqris_protocol::{ClientId, ExternalId, JakartaDate, MerchantId};
use snapqris_store::{
    ClaimedWork, ExternalIdKey, NewQr, PayerDetails, Payment, PaymentOutcome, PaymentRefusal,
    QrKind, RecordPayment, Store, StoreOptions,
};
use snapqris_test_support::{Backend, TestDatabase, new_merchant, new_partner, on_each_backend};
use std::sync::Arc;
use time::OffsetDateTime;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-11-25 08:00 UTC);

/// A store with partners `P1` (owning merchant `M1`) and `PAYER`, a dynamic QR 1 for 9,000.00
/// valid for an hour and a static QR 2.
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
    store
        .add_merchant(&new_merchant("M1", "P1"), NOW)
        .await
        .unwrap();
    let qr = |id_qr: i64, kind, amount_sen, expires_at| NewQr {
        id_qr,
        merchant_id: MerchantId::parse("M1").unwrap(),
        client_id: ClientId::parse("P1").unwrap(),
        partner_reference_no: format!("ref-{id_qr}"),
        kind,
        amount_sen,
        terminal_id: None,
        generated_at: NOW,
        expires_at,
        qr_content: content(id_qr),
    };
    let in_an_hour = Some(NOW + time::Duration::hours(1));
    let dynamic = qr(1, QrKind::Dynamic, Some(900_000), in_an_hour);
    store.insert_qr(&dynamic).await.unwrap();
    store
        .insert_qr(&qr(2, QrKind::Static, None, None))
        .await
        .unwrap();
    store
}

fn content(id_qr: i64) -> String {
    format!("payload-{id_qr}")
}

/// `PAYER`'s payment of QR `id_qr` under `reference`, as payment `payment_id`.
fn payment(id_qr: i64, reference: &str, amount_sen: Option<i64>, payment_id: i64) -> RecordPayment {
    RecordPayment {
        payer: ClientId::parse("PAYER").unwrap(),
        partner_reference_no: reference.to_owned(),
        id_qr,
        qr_content: content(id_qr),
        amount_sen,
        payment_id,
        notification_id: payment_id + 1_000_000,
        at: NOW,
        details: PayerDetails {
            issuer_name: Some("Bank Payer".into()),
            customer_name: None,
            rrn: Some("123456789012".into()),
        },
    }
}

/// Runs `job` under a fresh claim of `PAYER`.
async fn pay(store: &dyn Store, job: RecordPayment) -> PaymentOutcome {
    let key = ExternalIdKey {
        client_id: job.payer.clone(),
        day: JakartaDate::of_instant(NOW),
        external_id: ExternalId::parse(&format!("EXT-{}", job.payment_id)).unwrap(),
    };
    match store.claim_then(&key, NOW, job).await.unwrap() {
        ClaimedWork::Claimed(outcome) => outcome.unwrap(),
        ClaimedWork::AlreadyUsed => panic!("the claim is new"),
    }
}

fn paid(outcome: PaymentOutcome) -> Payment {
    match outcome {
        PaymentOutcome::Paid(payment) => payment,
        other => panic!("not paid: {other:?}"),
    }
}

async fn twenty_concurrent_payments_of_one_dynamic_qr_make_one(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let store = store_with_qrs(&database).await;

    let racing = (0..20).map(|n| {
        let store = store.clone();
        let job = payment(1, &format!("race-{n}"), None, 100 + n);
        tokio::spawn(async move { pay(&*store, job).await })
    });
    let outcomes = futures_util::future::try_join_all(racing).await.unwrap();

    let made: Vec<_> = outcomes
        .iter()
        .filter(|o| matches!(o, PaymentOutcome::Paid(_)))
        .collect();
    assert_eq!(made.len(), 1, "{outcomes:?}");
    let refused = PaymentOutcome::Refused(PaymentRefusal::AlreadyPaid);
    assert_eq!(outcomes.iter().filter(|o| **o == refused).count(), 19);
    let qr = store.qr(1).await.unwrap().unwrap();
    assert_eq!((qr.payment_count, qr.paid_amount_sen), (1, Some(900_000)));
}

async fn a_reference_paid_again_is_answered_with_its_first_payment(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let store = store_with_qrs(&database).await;

    let first = paid(pay(&*store, payment(1, "R-1", Some(900_000), 100)).await);
    let again = pay(&*store, payment(1, "R-1", None, 101)).await;

    assert_eq!(again, PaymentOutcome::Repeated(first.clone()));
    assert_eq!(first.payment_id, 100);
    assert_eq!((first.id_qr, first.merchant_id.as_str()), (1, "M1"));
    assert_eq!(first.details.rrn.as_deref(), Some("123456789012"));
    assert_eq!(store.qr(1).await.unwrap().unwrap().payment_count, 1);
}

async fn racing_uses_of_one_reference_on_two_qrs_make_one_payment(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let store = store_with_qrs(&database).await;

    let racing = (0..10).map(|n| {
        let store = store.clone();
        let job = if n % 2 == 0 {
            payment(1, "SAME", None, 100 + n)
        } else {
            payment(2, "SAME", Some(900_000), 100 + n)
        };
        tokio::spawn(async move { pay(&*store, job).await })
    });
    let outcomes = futures_util::future::try_join_all(racing).await.unwrap();

    let paid: Vec<_> = outcomes
        .iter()
        .filter_map(|o| match o {
            PaymentOutcome::Paid(payment) => Some(payment.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(paid.len(), 1, "{outcomes:?}");
    let repeated = PaymentOutcome::Repeated(paid[0].clone());
    let mut others = outcomes
        .iter()
        .filter(|o| !matches!(o, PaymentOutcome::Paid(_)));
    assert!(
        others.all(|o| *o == repeated || *o == PaymentOutcome::Inconsistent),
        "{outcomes:?}"
    );
    let counts = (
        store.qr(1).await.unwrap().unwrap().payment_count,
        store.qr(2).await.unwrap().unwrap().payment_count,
    );
    assert_eq!(counts.0 + counts.1, 1);
}

async fn a_reference_reused_for_another_payload_or_amount_is_inconsistent(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let store = store_with_qrs(&database).await;
    paid(pay(&*store, payment(2, "R-1", Some(5_000), 100)).await);

    let other_qr = pay(&*store, payment(1, "R-1", None, 101)).await;
    let other_amount = pay(&*store, payment(2, "R-1", Some(6_000), 102)).await;
    let no_amount = pay(&*store, payment(2, "R-1", None, 103)).await;
    let mut altered = payment(2, "R-1", Some(5_000), 104);
    altered.qr_content.push('x');
    let altered = pay(&*store, altered).await;

    for outcome in [other_qr, other_amount, no_amount, altered] {
        assert_eq!(outcome, PaymentOutcome::Inconsistent);
    }
    assert_eq!(store.qr(1).await.unwrap().unwrap().payment_count, 0);
    assert_eq!(store.qr(2).await.unwrap().unwrap().payment_count, 1);
}

async fn a_static_qr_paid_three_times_has_three_payments(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let store = store_with_qrs(&database).await;

    let mut ids = Vec::new();
    for (n, amount_sen) in [1_000, 2_000, 3_000].into_iter().enumerate() {
        let n = n as i64;
        let made = paid(
            pay(
                &*store,
                payment(2, &format!("R-{n}"), Some(amount_sen), 100 + n),
            )
            .await,
        );
        assert_eq!(made.amount_sen, amount_sen);
        ids.push(made.payment_id);
    }

    assert_eq!(ids, [100, 101, 102]);
    let qr = store.qr(2).await.unwrap().unwrap();
    assert_eq!((qr.payment_count, qr.paid_amount_sen), (3, Some(3_000)));
}

async fn payments_are_refused_by_the_rules(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let store = store_with_qrs(&database).await;
    let refused = PaymentOutcome::Refused;

    let mut unknown_payload = payment(1, "R-1", None, 100);
    unknown_payload.qr_content = content(2);
    assert_eq!(
        pay(&*store, unknown_payload).await,
        refused(PaymentRefusal::NotFound)
    );
    let mut unknown_qr = payment(1, "R-2", None, 101);
    unknown_qr.id_qr = 99;
    assert_eq!(
        pay(&*store, unknown_qr).await,
        refused(PaymentRefusal::NotFound)
    );
    assert_eq!(
        pay(&*store, payment(2, "R-3", None, 102)).await,
        refused(PaymentRefusal::AmountRequired)
    );
    assert_eq!(
        pay(&*store, payment(1, "R-4", Some(1), 103)).await,
        refused(PaymentRefusal::AmountMismatch)
    );
    let mut late = payment(1, "R-5", None, 104);
    late.at = NOW + time::Duration::hours(2);
    assert_eq!(pay(&*store, late).await, refused(PaymentRefusal::Expired));
    // A refused reference is not remembered: it pays once the payment is right.
    paid(pay(&*store, payment(2, "R-3", Some(1_000), 105)).await);

    store
        .set_merchant_blacklist("M1", Some(Some("fraud")), NOW)
        .await
        .unwrap();
    assert_eq!(
        pay(&*store, payment(2, "R-6", Some(1_000), 106)).await,
        PaymentOutcome::MerchantBlacklisted
    );
}

/// `admin qr pay` of QR 1 under payment id `payment_id`.
fn sandbox(payment_id: i64) -> snapqris_store::SandboxPayment {
    snapqris_store::SandboxPayment {
        id_qr: 1,
        amount_sen: None,
        payment_id,
        notification_id: payment_id + 1_000_000,
        at: NOW,
    }
}

async fn a_sandbox_payment_follows_the_same_rules_and_makes_a_payment(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let store = store_with_qrs(&database).await;

    let made = store.record_payment(sandbox(100)).await.unwrap();
    let again = store.record_payment(sandbox(101)).await.unwrap();

    let made = made.unwrap();
    assert_eq!((made.payment_id, made.amount_sen), (100, 900_000));
    assert_eq!(made.payer_client_id, "P1");
    assert_eq!(made.partner_reference_no, "admin-100");
    assert_eq!(again, Err(PaymentRefusal::AlreadyPaid));
    // The sandbox payment is a payment like any other: its reference is taken.
    let mut same_reference = payment(1, "admin-100", None, 102);
    same_reference.payer = ClientId::parse("P1").unwrap();
    let repeated = pay(&*store, same_reference).await;
    assert_eq!(repeated, PaymentOutcome::Repeated(made));
}

const SQLITE_BEFORE: &[&str] = &[
    include_str!("../migrations/sqlite/0001_init.sql"),
    include_str!("../migrations/sqlite/0002_tighter_hot_tables.sql"),
    include_str!("../migrations/sqlite/0003_covering_list_index.sql"),
    include_str!("../migrations/sqlite/0004_claims_in_arrival_order.sql"),
    include_str!("../migrations/sqlite/0005_node_leases.sql"),
    include_str!("../migrations/sqlite/0006_merchant_pans.sql"),
    include_str!("../migrations/sqlite/0007_claim_counts.sql"),
];

const POSTGRES_BEFORE: &[&str] = &[
    include_str!("../migrations/postgres/0001_init.sql"),
    include_str!("../migrations/postgres/0002_covering_list_index.sql"),
    include_str!("../migrations/postgres/0003_native_types.sql"),
    include_str!("../migrations/postgres/0004_node_leases.sql"),
    include_str!("../migrations/postgres/0005_merchant_pans.sql"),
    include_str!("../migrations/postgres/0006_claim_counts.sql"),
];

/// The schema of the version before payments had rows, with a dynamic QR 7 paid, a static QR
/// 8 paid three times (the latest for 3,000 sen) and a dynamic QR 9 unpaid.
async fn database_before_payments(database: &TestDatabase) {
    let before = if database.is_postgres() {
        POSTGRES_BEFORE
    } else {
        SQLITE_BEFORE
    };
    let mut sql = snapqris_test_support::schema_of(before);
    let paid_at = NOW.unix_timestamp() * 1000;
    sql.push_str(&format!(
        "INSERT INTO partners (client_id, public_key_pem, client_secret, signature_mode, \
         services, created_at, updated_at) VALUES ('P1', 'pem', 'secret', 'hmac', '47', 0, 0);
         INSERT INTO merchants (merchant_id, client_id, name, city, mcc, postal_code, nmid, \
         criteria, created_at, updated_at, pan_account) VALUES ('M1', 'P1', 'Warung', \
         'Jakarta', '5812', '10110', 'ID1', 'UMI', 0, 0, 1);
         INSERT INTO qr_codes (id_qr, merchant_id, client_id, partner_reference_no, kind, \
         amount_sen, generated_at, jakarta_date, expires_at, qr_content, paid_at, \
         paid_amount_sen, payment_count) VALUES
         (7, 'M1', 'P1', 'ref-7', 'dynamic', 900000, 0, '2026-11-25', {paid_at}, \
          'payload-7', {paid_at}, 900000, 1),
         (8, 'M1', 'P1', 'ref-8', 'static', NULL, 0, '2026-11-25', NULL, 'payload-8', \
          {paid_at}, 3000, 3),
         (9, 'M1', 'P1', 'ref-9', 'dynamic', 5000, 0, '2026-11-25', {paid_at}, 'payload-9', \
          NULL, NULL, 0);\n"
    ));
    database.execute(&sql).await.unwrap();
}

async fn each_qr_paid_before_payments_had_rows_becomes_one_payment(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    database_before_payments(&database).await;
    let store = snapqris_store::connect(database.url(), &StoreOptions::default())
        .await
        .unwrap();
    let migrated = |id_qr: i64, amount_sen| {
        let mut job = payment(id_qr, &format!("migrated-{id_qr}"), amount_sen, 100 + id_qr);
        job.payer = ClientId::parse("P1").unwrap();
        job
    };

    let dynamic = pay(&*store, migrated(7, None)).await;
    let static_latest = pay(&*store, migrated(8, Some(3_000))).await;
    let unpaid = pay(&*store, migrated(9, None)).await;

    let PaymentOutcome::Repeated(dynamic) = dynamic else {
        panic!("QR 7 has its payment: {dynamic:?}");
    };
    assert_eq!((dynamic.payment_id, dynamic.amount_sen), (7, 900_000));
    assert_eq!(
        (dynamic.paid_at, dynamic.details),
        (NOW, PayerDetails::default())
    );
    let PaymentOutcome::Repeated(static_latest) = static_latest else {
        panic!("QR 8 has its latest payment: {static_latest:?}");
    };
    assert_eq!(
        (static_latest.payment_id, static_latest.amount_sen),
        (8, 3_000)
    );
    assert_eq!(unpaid, PaymentOutcome::Refused(PaymentRefusal::Expired));
}

on_each_backend!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    twenty_concurrent_payments_of_one_dynamic_qr_make_one,
    a_reference_paid_again_is_answered_with_its_first_payment,
    a_reference_reused_for_another_payload_or_amount_is_inconsistent,
    racing_uses_of_one_reference_on_two_qrs_make_one_payment,
    a_static_qr_paid_three_times_has_three_payments,
    payments_are_refused_by_the_rules,
    a_sandbox_payment_follows_the_same_rules_and_makes_a_payment,
    each_qr_paid_before_payments_had_rows_becomes_one_payment,
);
