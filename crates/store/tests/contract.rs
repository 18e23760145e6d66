//! The `Store` contract, checked once per backend (ripgrep's `rgtest!` idea): every test runs
//! as `name::sqlite` on a temporary file and as `name::postgres` on a fresh database of the
//! server named by `SNAPQRIS_TEST_DATABASE_URL` (skipped, with a line saying so, when unset).

use futures_util::TryStreamExt;
use snapqris_protocol::{ClientId, ExternalId, JakartaDate, MerchantId, ServiceCode};
use snapqris_store::{
    Claim, ClaimedWork, Constraint, Entity, ExpireOutcome, ExpireQr, ExternalIdKey, FirstListPage,
    InsertQr, NewQr, PartnerChange, QrKind, QrSummary, Store, StoreError, StoreOptions,
};
use snapqris_test_support::{Backend, TestDatabase, new_merchant, new_partner, on_each_backend};
use std::collections::HashSet;
use std::sync::Arc;
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-11-25 08:00 UTC);

/// Opening the store of a test database.
trait Open {
    async fn store(&self) -> Arc<dyn Store>;
}

impl Open for TestDatabase {
    async fn store(&self) -> Arc<dyn Store> {
        snapqris_store::connect(self.url(), &StoreOptions::default())
            .await
            .unwrap()
    }
}

/// How many migration files the backend of `database` has.
fn migration_count(database: &TestDatabase) -> usize {
    let folder = if database.is_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(folder);
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|entry| {
            entry
                .as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|ext| ext == "sql")
        })
        .count()
}

/// A store with partner `P1` owning merchants `M1` and `M2`.
async fn store_with_merchants(database: &TestDatabase) -> Arc<dyn Store> {
    let store = database.store().await;
    store.add_partner(&new_partner("P1"), NOW).await.unwrap();
    for merchant_id in ["M1", "M2"] {
        store
            .add_merchant(&new_merchant(merchant_id, "P1"), NOW)
            .await
            .unwrap();
    }
    store
}

fn claim_key(client_id: &str, day: Date, external_id: &str) -> ExternalIdKey {
    ExternalIdKey {
        client_id: ClientId::parse(client_id).unwrap(),
        day: JakartaDate::from_date(day),
        external_id: ExternalId::parse(external_id).unwrap(),
    }
}

fn qr(id_qr: i64, merchant_id: &str, generated_at: OffsetDateTime) -> NewQr {
    NewQr {
        id_qr,
        merchant_id: MerchantId::parse(merchant_id).unwrap(),
        client_id: ClientId::parse("P1").unwrap(),
        partner_reference_no: format!("ref-{id_qr}"),
        kind: QrKind::Static,
        amount_sen: None,
        terminal_id: None,
        generated_at,
        expires_at: None,
        qr_content: format!("payload-{id_qr}"),
    }
}

async fn list(store: &dyn Store, merchant_id: &str, day: Date) -> Vec<QrSummary> {
    store
        .list_day(merchant_id, JakartaDate::from_date(day))
        .try_collect()
        .await
        .unwrap()
}

async fn a_duplicate_client_id_or_merchant_id_is_a_conflict(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let store = store_with_merchants(&database).await;

    let partner = store.add_partner(&new_partner("P1"), NOW).await;
    let merchant = store.add_merchant(&new_merchant("M1", "P1"), NOW).await;

    assert!(
        matches!(partner, Err(StoreError::Conflict(Constraint::ClientId))),
        "{partner:?}"
    );
    assert!(
        matches!(merchant, Err(StoreError::Conflict(Constraint::MerchantId))),
        "{merchant:?}"
    );
    // A merchant id is unique across the deployment, not per partner.
    store.add_partner(&new_partner("P2"), NOW).await.unwrap();
    let other_owner = store.add_merchant(&new_merchant("M1", "P2"), NOW).await;
    assert!(
        matches!(
            other_owner,
            Err(StoreError::Conflict(Constraint::MerchantId))
        ),
        "{other_owner:?}"
    );
    assert_eq!(store.merchant("M1").await.unwrap().unwrap().client_id, "P1");
}

async fn a_merchant_of_an_unknown_partner_is_partner_not_found(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let store = database.store().await;

    let result = store.add_merchant(&new_merchant("M1", "nobody"), NOW).await;

    assert!(
        matches!(result, Err(StoreError::NotFound(Entity::Partner))),
        "{result:?}"
    );
    assert!(store.merchant("M1").await.unwrap().is_none());
}

async fn a_duplicate_partner_reference_is_a_conflict_and_an_unknown_merchant_not_found(
    backend: Backend,
) {
    let database = TestDatabase::new(&backend).await;
    let store = store_with_merchants(&database).await;
    store.insert_qr(&qr(1, "M1", NOW)).await.unwrap();

    let again = store
        .insert_qr(&NewQr {
            id_qr: 2,
            ..qr(1, "M1", NOW)
        })
        .await;
    let unknown = store.insert_qr(&qr(3, "M9", NOW)).await;
    // The same reference at another merchant is a different QR.
    store
        .insert_qr(&NewQr {
            id_qr: 4,
            ..qr(1, "M2", NOW)
        })
        .await
        .unwrap();

    assert!(
        matches!(
            again,
            Err(StoreError::Conflict(Constraint::PartnerReferenceNo))
        ),
        "{again:?}"
    );
    assert!(
        matches!(unknown, Err(StoreError::NotFound(Entity::Merchant))),
        "{unknown:?}"
    );
    assert!(store.qr(2).await.unwrap().is_none());
    assert_eq!(store.qr(4).await.unwrap().unwrap().merchant_id, "M2");
}

async fn an_external_id_claimed_twice_is_already_used_until_released(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let store = database.store().await;
    let key = claim_key("P1", date!(2026 - 11 - 25), "EXT-1");

    let first = store.claim_external_id(&key, NOW).await.unwrap();
    let second = store.claim_external_id(&key, NOW).await.unwrap();
    store.release_external_id(&key).await.unwrap();
    let after_release = store.claim_external_id(&key, NOW).await.unwrap();
    let after_reclaim = store.claim_external_id(&key, NOW).await.unwrap();

    assert_eq!(first, Claim::Claimed);
    assert_eq!(second, Claim::AlreadyUsed);
    assert_eq!(after_release, Claim::Claimed);
    assert_eq!(after_reclaim, Claim::AlreadyUsed);
    // The key is partner, day and id together.
    for other in [
        claim_key("P2", date!(2026 - 11 - 25), "EXT-1"),
        claim_key("P1", date!(2026 - 11 - 26), "EXT-1"),
        claim_key("P1", date!(2026 - 11 - 25), "EXT-2"),
    ] {
        assert_eq!(
            store.claim_external_id(&other, NOW).await.unwrap(),
            Claim::Claimed,
            "{other:?}"
        );
    }
}

async fn purging_external_ids_removes_only_the_days_before(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let store = database.store().await;
    let days = [
        date!(2026 - 11 - 23),
        date!(2026 - 11 - 24),
        date!(2026 - 11 - 25),
        date!(2026 - 11 - 26),
    ];
    for day in days {
        let claimed = store
            .claim_external_id(&claim_key("P1", day, "EXT-1"), NOW)
            .await
            .unwrap();
        assert_eq!(claimed, Claim::Claimed);
    }

    let purged = store
        .purge_external_ids(JakartaDate::from_date(date!(2026 - 11 - 25)))
        .await
        .unwrap();

    assert_eq!(purged, 2);
    let expected = [
        Claim::Claimed,
        Claim::Claimed,
        Claim::AlreadyUsed,
        Claim::AlreadyUsed,
    ];
    for (day, expected) in days.into_iter().zip(expected) {
        let again = store
            .claim_external_id(&claim_key("P1", day, "EXT-1"), NOW)
            .await
            .unwrap();
        assert_eq!(again, expected, "{day}");
    }
}

async fn a_day_is_listed_newest_first_ties_by_higher_id_and_nothing_else(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let store = store_with_merchants(&database).await;
    // Jakarta is UTC+7: the 25th runs from 24th 17:00 UTC to 25th 16:59:59.999 UTC.
    let rows = [
        (30, "M1", datetime!(2026-11-25 08:00 UTC)),
        (10, "M1", datetime!(2026-11-25 08:00 UTC)),
        (20, "M1", datetime!(2026-11-25 08:05 UTC)),
        (40, "M1", datetime!(2026-11-25 16:59:59.999 UTC)),
        (50, "M1", datetime!(2026-11-25 17:00 UTC)),
        (60, "M2", datetime!(2026-11-25 09:00 UTC)),
        (70, "M1", datetime!(2026-11-24 17:00 UTC)),
        (80, "M1", datetime!(2026-11-24 16:59:59.999 UTC)),
    ];
    for (id_qr, merchant_id, generated_at) in rows {
        store
            .insert_qr(&qr(id_qr, merchant_id, generated_at))
            .await
            .unwrap();
    }
    store
        .insert_qr(&NewQr {
            kind: QrKind::Dynamic,
            amount_sen: Some(900_000),
            expires_at: Some(datetime!(2026-11-25 08:31 UTC)),
            ..qr(90, "M1", datetime!(2026-11-25 08:01 UTC))
        })
        .await
        .unwrap();

    let day = list(&*store, "M1", date!(2026 - 11 - 25)).await;

    let ids: Vec<i64> = day.iter().map(|item| item.id_qr).collect();
    assert_eq!(ids, [40, 20, 90, 30, 10, 70]);
    assert_eq!(
        day[2],
        QrSummary {
            id_qr: 90,
            kind: QrKind::Dynamic,
            generated_at: datetime!(2026-11-25 08:01 UTC),
            expires_at: Some(datetime!(2026-11-25 08:31 UTC)),
            amount_sen: Some(900_000),
        }
    );
    assert_eq!(day[0].generated_at, datetime!(2026-11-25 16:59:59.999 UTC));
    let ids_of = |items: Vec<QrSummary>| items.iter().map(|i| i.id_qr).collect::<Vec<_>>();
    assert_eq!(
        ids_of(list(&*store, "M1", date!(2026 - 11 - 26)).await),
        [50]
    );
    assert_eq!(
        ids_of(list(&*store, "M1", date!(2026 - 11 - 24)).await),
        [80]
    );
    assert_eq!(
        ids_of(list(&*store, "M2", date!(2026 - 11 - 25)).await),
        [60]
    );
    assert!(list(&*store, "M1", date!(2026 - 11 - 27)).await.is_empty());
}

async fn two_stores_connecting_at_once_to_an_empty_database_apply_each_migration_once(
    backend: Backend,
) {
    let database = TestDatabase::new(&backend).await;
    let options = StoreOptions::default();

    let (a, b) = tokio::join!(
        snapqris_store::connect(database.url(), &options),
        snapqris_store::connect(database.url(), &options),
    );

    let (a, b) = (a.unwrap(), b.unwrap());
    a.ping().await.unwrap();
    b.add_partner(&new_partner("P1"), NOW).await.unwrap();
    assert_eq!(a.partners().await.unwrap().len(), 1);
    let (rows, versions) = database.migration_rows().await;
    assert_eq!(rows, versions, "a migration recorded twice");
    assert_eq!(rows as usize, migration_count(&database));
}

async fn ids_from_two_stores_on_one_database_never_collide(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let a = database.store().await;
    let b = database.store().await;
    let _lease_a = snapqris_store::lease_node(a.clone()).await.unwrap();
    let _lease_b = snapqris_store::lease_node(b.clone()).await.unwrap();

    // The same instant for both: only the node part can tell their ids apart.
    let mut from_a = Vec::new();
    let mut from_b = Vec::new();
    for _ in 0..1000 {
        from_a.push(a.next_qr_id(NOW).unwrap());
        from_b.push(b.next_qr_id(NOW).unwrap());
    }

    for ids in [&from_a, &from_b] {
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase");
        assert!(ids.iter().all(|id| *id > 0 && id.to_string().len() <= 20));
    }
    let a_set: HashSet<i64> = from_a.into_iter().collect();
    let shared = from_b.iter().filter(|id| a_set.contains(id)).count();
    assert_eq!(shared, 0, "ids handed out by both stores");
}

async fn node_numbers_are_leased_to_serving_stores_only_and_never_shared(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    // Many processes that never serve (admin commands) open the store: they take no number.
    for _ in 0..20 {
        let admin = database.store().await;
        assert!(admin.next_qr_id(NOW).is_err(), "no lease, no ids");
    }
    let stores = [
        database.store().await,
        database.store().await,
        database.store().await,
    ];
    let mut leases = Vec::new();
    for store in &stores {
        leases.push(snapqris_store::lease_node(store.clone()).await.unwrap());
    }
    let nodes: Vec<i64> = leases.iter().map(|lease| lease.node()).collect();
    assert_eq!(nodes, [0, 1, 2], "the lowest free numbers, each once");

    // A released number is free again from the millisecond after its last id; a live one is
    // never handed out twice.
    let before_release = stores[1].next_qr_id(NOW).unwrap();
    let released = leases.remove(1);
    released.release().await.unwrap();
    assert!(
        stores[1].next_qr_id(NOW).is_err(),
        "a released lease makes no ids"
    );
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let again = snapqris_store::lease_node(stores[1].clone()).await.unwrap();
    assert_eq!(again.node(), 1);
    // Its next holder's ids are later than all of the last holder's, even from a stale clock
    // (two `admin qr pay` processes one after the other once made the same payment id).
    assert!(stores[1].next_qr_id(NOW).unwrap() > before_release);
    let fourth = snapqris_store::lease_node(database.store().await)
        .await
        .unwrap();
    assert_eq!(fourth.node(), 3);

    // A lease nobody renews (its process was killed) is taken over once it expires.
    let later = OffsetDateTime::now_utc() + snapqris_store::LEASE_TTL + time::Duration::SECOND;
    let taken = stores[0]
        .lease_node("someone-else", later, later + snapqris_store::LEASE_TTL)
        .await
        .unwrap();
    assert_eq!(taken, Some(0), "the expired number 0 goes first");
}

async fn two_stores_racing_for_the_same_external_ids_claim_each_once(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let (a, b) = (database.store().await, database.store().await);
    // Each store has claimed before: what it knows must not stop it seeing the other's claims.
    for (store, id) in [(&a, "WARM-A"), (&b, "WARM-B")] {
        let key = claim_key("P1", date!(2026 - 11 - 25), id);
        assert_eq!(
            store.claim_external_id(&key, NOW).await.unwrap(),
            Claim::Claimed
        );
    }
    // 20 ids, each asked for 10 times, half through each store, all at once (on SQLite two
    // stores on one file are two writers, as two processes would be).
    let claims = (0..200).map(|n| {
        let store = if n % 2 == 0 { a.clone() } else { b.clone() };
        let key = claim_key("P1", date!(2026 - 11 - 25), &format!("EXT-{}", n / 10));
        async move { store.claim_external_id(&key, NOW).await.unwrap() }
    });
    let outcomes = futures_util::future::join_all(claims).await;
    let claimed = outcomes.iter().filter(|c| **c == Claim::Claimed).count();
    assert_eq!(claimed, 20, "one claim per id: {outcomes:?}");
    // A third store, opened afterwards (a restart), sees every claim.
    let c = database.store().await;
    for n in 0..20 {
        let key = claim_key("P1", date!(2026 - 11 - 25), &format!("EXT-{n}"));
        assert_eq!(
            c.claim_external_id(&key, NOW).await.unwrap(),
            Claim::AlreadyUsed
        );
    }
}

// Two worker threads, so that racing futures really run at the same time.
on_each_backend!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    node_numbers_are_leased_to_serving_stores_only_and_never_shared,
    two_stores_racing_for_the_same_external_ids_claim_each_once,
    a_duplicate_client_id_or_merchant_id_is_a_conflict,
    a_merchant_of_an_unknown_partner_is_partner_not_found,
    a_duplicate_partner_reference_is_a_conflict_and_an_unknown_merchant_not_found,
    an_external_id_claimed_twice_is_already_used_until_released,
    purging_external_ids_removes_only_the_days_before,
    a_day_is_listed_newest_first_ties_by_higher_id_and_nothing_else,
    two_stores_connecting_at_once_to_an_empty_database_apply_each_migration_once,
    ids_from_two_stores_on_one_database_never_collide,
);

// Units of work (work.rs): a claim and the writes it guards commit together.

fn claimed<T: std::fmt::Debug>(done: ClaimedWork<T>) -> Result<T, StoreError> {
    match done {
        ClaimedWork::Claimed(outcome) => outcome,
        ClaimedWork::AlreadyUsed => panic!("the claim was refused"),
    }
}

async fn a_job_runs_only_when_its_claim_is_new(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let store = store_with_merchants(&database).await;
    let key = claim_key("P1", date!(2026 - 11 - 25), "EXT-1");

    let first = store
        .claim_then(&key, NOW, InsertQr(qr(1, "M1", NOW)))
        .await
        .unwrap();
    let again = store
        .claim_then(&key, NOW, InsertQr(qr(2, "M1", NOW)))
        .await
        .unwrap();

    assert!(matches!(first, ClaimedWork::Claimed(Ok(()))), "{first:?}");
    assert!(matches!(again, ClaimedWork::AlreadyUsed), "{again:?}");
    assert!(store.qr(1).await.unwrap().is_some());
    assert!(
        store.qr(2).await.unwrap().is_none(),
        "the refused claim's work did not run"
    );
}

async fn a_refused_job_writes_nothing_and_its_claim_stands(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let store = store_with_merchants(&database).await;
    let day = date!(2026 - 11 - 25);
    store.insert_qr(&qr(1, "M1", NOW)).await.unwrap();

    let same_reference = NewQr {
        id_qr: 2,
        ..qr(1, "M1", NOW)
    };
    let same_id = NewQr {
        partner_reference_no: "other".into(),
        ..qr(1, "M1", NOW)
    };
    let unknown_merchant = qr(3, "M9", NOW);
    let cases = [
        ("EXT-REF", same_reference, "reference"),
        ("EXT-ID", same_id, "id"),
        ("EXT-MERCHANT", unknown_merchant, "merchant"),
    ];
    for (external_id, qr, case) in cases {
        let key = claim_key("P1", day, external_id);
        let outcome = claimed(store.claim_then(&key, NOW, InsertQr(qr)).await.unwrap());
        match case {
            "reference" => assert!(
                matches!(
                    outcome,
                    Err(StoreError::Conflict(Constraint::PartnerReferenceNo))
                ),
                "{case}: {outcome:?}"
            ),
            "id" => assert!(
                matches!(outcome, Err(StoreError::Conflict(Constraint::QrId))),
                "{case}: {outcome:?}"
            ),
            _ => assert!(
                matches!(outcome, Err(StoreError::NotFound(Entity::Merchant))),
                "{case}: {outcome:?}"
            ),
        }
        assert_eq!(
            store.claim_external_id(&key, NOW).await.unwrap(),
            Claim::AlreadyUsed,
            "{case}: the claim stands"
        );
    }
    assert_eq!(
        list(&*store, "M1", day).await.len(),
        1,
        "nothing else was stored"
    );
    let other = store.qr_by_partner_reference("M1", "other").await.unwrap();
    assert!(
        other.is_none(),
        "the QR with the clashing id was not stored"
    );
    assert!(store.qr(2).await.unwrap().is_none() && store.qr(3).await.unwrap().is_none());
}

async fn a_first_list_page_comes_with_the_claim_and_the_rest_follows(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let store = store_with_merchants(&database).await;
    let day = date!(2026 - 11 - 25);
    for n in 0..300_i64 {
        let at = NOW + time::Duration::seconds(n / 2);
        store.insert_qr(&qr(1_000 + n, "M1", at)).await.unwrap();
    }
    let job = || FirstListPage {
        merchant_id: MerchantId::parse("M1").unwrap(),
        day: JakartaDate::from_date(day),
    };
    let key = claim_key("P1", day, "EXT-LIST");

    let first = claimed(store.claim_then(&key, NOW, job()).await.unwrap()).unwrap();
    let again = store.claim_then(&key, NOW, job()).await.unwrap();
    let empty_day = FirstListPage {
        merchant_id: MerchantId::parse("M2").unwrap(),
        day: JakartaDate::from_date(day),
    };
    let empty = store
        .claim_then(&claim_key("P1", day, "EXT-EMPTY"), NOW, empty_day)
        .await
        .unwrap();

    assert_eq!(first.len(), 256, "a whole first page");
    assert!(matches!(again, ClaimedWork::AlreadyUsed));
    assert!(matches!(empty, ClaimedWork::Claimed(Ok(ref page)) if page.is_empty()));
    let whole: Vec<QrSummary> = store
        .list_day_after("M1", JakartaDate::from_date(day), first)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        whole,
        list(&*store, "M1", day).await,
        "the same items, in the same order"
    );
    assert_eq!(whole.len(), 300);
}

/// An unpaid dynamic QR of merchant `M1` for 9,000.00, valid for an hour from `NOW`.
fn dynamic_qr(id_qr: i64) -> NewQr {
    NewQr {
        kind: QrKind::Dynamic,
        amount_sen: Some(900_000),
        expires_at: Some(NOW + time::Duration::hours(1)),
        ..qr(id_qr, "M1", NOW)
    }
}

async fn racing_expiries_of_one_qr_expire_it_once(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let store = store_with_merchants(&database).await;
    let day = date!(2026 - 11 - 25);
    store.insert_qr(&dynamic_qr(1)).await.unwrap();
    let expire = |id_qr| ExpireQr {
        merchant_id: MerchantId::parse("M1").unwrap(),
        id_qr,
        at: NOW,
    };

    let racing = (0..10).map(|n| {
        let store = store.clone();
        let job = expire(1);
        tokio::spawn(async move {
            let key = claim_key("P1", day, &format!("EXT-{n}"));
            claimed(store.claim_then(&key, NOW, job).await.unwrap()).unwrap()
        })
    });
    let outcomes: Vec<ExpireOutcome> = futures_util::future::try_join_all(racing).await.unwrap();
    let unknown = store
        .claim_then(&claim_key("P1", day, "EXT-UNKNOWN"), NOW, expire(99))
        .await
        .unwrap();

    let expired = outcomes
        .iter()
        .filter(|o| **o == ExpireOutcome::Expired)
        .count();
    assert_eq!(expired, 1, "{outcomes:?}");
    assert!(outcomes.iter().all(|o| *o != ExpireOutcome::NotFound));
    assert!(matches!(
        unknown,
        ClaimedWork::Claimed(Ok(ExpireOutcome::NotFound))
    ));
    assert_eq!(store.qr(1).await.unwrap().unwrap().expires_at, Some(NOW));
}

async fn twenty_concurrent_payments_of_one_dynamic_qr_pay_it_once(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let store = store_with_merchants(&database).await;
    store.insert_qr(&dynamic_qr(1)).await.unwrap();

    let racing = (0..20).map(|n| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .record_payment(snapqris_store::SandboxPayment {
                    id_qr: 1,
                    amount_sen: None,
                    payment_id: 100 + n,
                    notification_id: 200 + n,
                    at: NOW,
                })
                .await
                .unwrap()
        })
    });
    let outcomes = futures_util::future::try_join_all(racing).await.unwrap();

    assert_eq!(
        outcomes.iter().filter(|o| o.is_ok()).count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(store.qr(1).await.unwrap().unwrap().payment_count, 1);
}

async fn claims_are_counted_up_to_the_daily_limit_even_when_racing(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let store = store_with_merchants(&database).await;
    let partner = ClientId::parse("P1").unwrap();
    let today = JakartaDate::from_date(date!(2026 - 11 - 25));
    let tomorrow = JakartaDate::from_date(date!(2026 - 11 - 26));

    let racing = (0..20).map(|_| {
        let (store, partner) = (store.clone(), partner.clone());
        tokio::spawn(async move { store.count_claim(&partner, today, 5).await.unwrap() })
    });
    let counted = futures_util::future::try_join_all(racing).await.unwrap();
    let other_partner = ClientId::parse("P2").unwrap();

    assert_eq!(counted.iter().filter(|c| **c).count(), 5, "{counted:?}");
    assert!(
        store.count_claim(&partner, tomorrow, 5).await.unwrap(),
        "a new day"
    );
    assert!(
        store.count_claim(&other_partner, today, 5).await.unwrap(),
        "another partner"
    );
    // The purge of old days takes their counts along.
    store.purge_external_ids(tomorrow).await.unwrap();
    assert!(
        store.count_claim(&partner, today, 1).await.unwrap(),
        "counted afresh"
    );
}

/// The methods no other test needs: records read back as written, and every change to them.
async fn partners_merchants_and_qrs_read_back_as_written_and_changed(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let store = store_with_merchants(&database).await;
    store.ping().await.unwrap();
    assert!(!store.pool_usage().is_empty());
    store.add_partner(&new_partner("P2"), NOW).await.unwrap();
    store
        .add_merchant(&new_merchant("M3", "P2"), NOW)
        .await
        .unwrap();

    let p1 = store.partner("P1").await.unwrap().unwrap();
    assert_eq!(
        (p1.client_secret.as_str(), p1.enabled, p1.created_at),
        ("secret-of-P1", true, NOW)
    );
    assert_eq!(p1.services, ServiceCode::ALL.to_vec());
    let later = NOW + time::Duration::minutes(1);
    store.set_partner_enabled("P1", false, later).await.unwrap();
    store.set_partner_key("P1", "KEY", later).await.unwrap();
    store
        .set_partner_secret("P1", "new-secret", later)
        .await
        .unwrap();
    let changed = store.partner("P1").await.unwrap().unwrap();
    assert_eq!(
        (
            changed.enabled,
            changed.public_key_pem.as_str(),
            changed.client_secret.as_str()
        ),
        (false, "KEY", "new-secret")
    );
    let services = vec![ServiceCode::GenerateQr, ServiceCode::GenerateList];
    let url = Some("https://partner.example/snap".to_owned());
    for change in [
        PartnerChange::Services(services.clone()),
        PartnerChange::CallbackUrl(url.clone()),
    ] {
        store.update_partner("P1", change, later).await.unwrap();
    }
    let changed = store.partner("P1").await.unwrap().unwrap();
    assert_eq!((changed.services, changed.callback_url), (services, url));
    let removed = PartnerChange::CallbackUrl(None);
    store.update_partner("P1", removed, later).await.unwrap();
    assert_eq!(
        store.partner("P1").await.unwrap().unwrap().callback_url,
        None
    );
    let unknown = store.set_partner_enabled("nobody", true, later).await;
    assert!(
        matches!(unknown, Err(StoreError::NotFound(Entity::Partner))),
        "{unknown:?}"
    );
    let ids: Vec<String> = store
        .partners()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.client_id)
        .collect();
    assert_eq!(ids, ["P1", "P2"]);

    let of_p1: Vec<String> = store
        .merchants(Some("P1"))
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.merchant_id)
        .collect();
    assert_eq!(of_p1, ["M1", "M2"]);
    assert_eq!(store.merchants(None).await.unwrap().len(), 3);
    store
        .set_merchant_blacklist("M1", Some(Some("fraud")), later)
        .await
        .unwrap();
    let blacklisted = store
        .merchant("M1")
        .await
        .unwrap()
        .unwrap()
        .blacklisted
        .unwrap();
    assert_eq!(
        (blacklisted.reason.as_deref(), blacklisted.since),
        (Some("fraud"), later)
    );
    store
        .set_merchant_blacklist("M1", None, later)
        .await
        .unwrap();
    assert!(
        store
            .merchant("M1")
            .await
            .unwrap()
            .unwrap()
            .blacklisted
            .is_none()
    );
    let unknown = store.set_merchant_blacklist("M9", None, later).await;
    assert!(
        matches!(unknown, Err(StoreError::NotFound(Entity::Merchant))),
        "{unknown:?}"
    );

    store.insert_qr(&dynamic_qr(7)).await.unwrap();
    let by_id = store.qr_by_id("M1", 7).await.unwrap().unwrap();
    assert_eq!((by_id.amount_sen, by_id.payment_count), (Some(900_000), 0));
    assert_eq!(
        store.qr_by_partner_reference("M1", "ref-7").await.unwrap(),
        Some(by_id)
    );
    assert!(
        store.qr_by_id("M2", 7).await.unwrap().is_none(),
        "another merchant's"
    );
    assert!(
        store
            .qr_by_partner_reference("M1", "ref-8")
            .await
            .unwrap()
            .is_none()
    );
}

on_each_backend!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    partners_merchants_and_qrs_read_back_as_written_and_changed,
    claims_are_counted_up_to_the_daily_limit_even_when_racing,
    a_job_runs_only_when_its_claim_is_new,
    a_refused_job_writes_nothing_and_its_claim_stands,
    a_first_list_page_comes_with_the_claim_and_the_rest_follows,
    racing_expiries_of_one_qr_expire_it_once,
    twenty_concurrent_payments_of_one_dynamic_qr_pay_it_once,
);

// Merchant PANs (CONTRACT §8): allocated account numbers, unique by a constraint.

/// Two merchant ids whose PANs, as earlier versions derived them, were the same (found by
/// brute force over `M0`, `M1`, …: qris's `merchant.rs` tests).
const COLLIDING: (&str, &str) = ("M90479", "M321856");

async fn two_merchants_whose_derived_pans_collided_get_different_pans(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let store = database.store().await;
    store.add_partner(&new_partner("P1"), NOW).await.unwrap();
    let (a, b) = COLLIDING;
    let derived = snapqris_qris::legacy_account_number;
    assert_eq!(derived(a), derived(b), "the pair collided before");
    let mut pans = Vec::new();
    for merchant_id in [a, b] {
        store
            .add_merchant(&new_merchant(merchant_id, "P1"), NOW)
            .await
            .unwrap();
        let merchant = store.merchant(merchant_id).await.unwrap().unwrap();
        pans.push(snapqris_qris::merchant_pan(
            "93600999",
            merchant.pan_account,
        ));
    }
    assert_ne!(pans[0], pans[1]);
    assert_eq!(pans, ["936009990000000016", "936009990000000024"]);
}

async fn two_thousand_merchants_added_at_once_get_distinct_pan_accounts(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    // Two stores (on SQLite two writers, as two processes would be), four tasks each.
    let stores = [database.store().await, database.store().await];
    stores[0]
        .add_partner(&new_partner("P1"), NOW)
        .await
        .unwrap();
    let tasks = (0..8).map(|task| {
        let store = stores[task % 2].clone();
        tokio::spawn(async move {
            for n in 0..250 {
                let merchant_id = format!("T{task}N{n}");
                store
                    .add_merchant(&new_merchant(&merchant_id, "P1"), NOW)
                    .await
                    .unwrap();
            }
        })
    });
    for task in futures_util::future::join_all(tasks).await {
        task.unwrap();
    }
    let merchants = stores[1].merchants(None).await.unwrap();
    assert_eq!(merchants.len(), 2000);
    let accounts: HashSet<u32> = merchants.iter().map(|m| m.pan_account).collect();
    assert_eq!(accounts.len(), 2000, "a PAN account number given twice");
    assert!(accounts.iter().all(|a| (1..=2000).contains(a)), "from 1 on");
    let pans: HashSet<String> = accounts
        .iter()
        .map(|a| snapqris_qris::merchant_pan("93600999", *a))
        .collect();
    assert_eq!(pans.len(), 2000);

    // The database itself refuses a second merchant with a number already held.
    let taken = merchants[0].pan_account;
    let duplicate = format!(
        "INSERT INTO merchants (merchant_id, client_id, name, city, mcc, postal_code, nmid, \
         criteria, created_at, updated_at, pan_account) \
         VALUES ('DUP', 'P1', 'W', 'J', '5999', '10110', 'ID1', 'UMI', 0, 0, {taken})"
    );
    let refused = database.execute(&duplicate).await.unwrap_err();
    assert!(refused.contains("pan_account"), "{refused}");
    // And one with none (an older snapqris, which derived PANs).
    let without = duplicate
        .replace(", pan_account)", ")")
        .replace(&format!(", {taken})"), ")");
    let refused = database.execute(&without).await.unwrap_err();
    assert!(refused.contains("pan_account"), "{refused}");
    assert!(stores[0].merchant("DUP").await.unwrap().is_none());
}

async fn a_pan_account_already_held_is_skipped_not_shared(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let store = store_with_merchants(&database).await;
    let held = |id| {
        let store = store.clone();
        async move { store.merchant(id).await.unwrap().unwrap().pan_account }
    };
    assert_eq!((held("M1").await, held("M2").await), (1, 2));
    // As after an upgrade: a merchant from before keeps number 3, its derived one.
    database
        .execute("UPDATE merchants SET pan_account = 3 WHERE merchant_id = 'M1'")
        .await
        .unwrap();
    store
        .add_merchant(&new_merchant("M3", "P1"), NOW)
        .await
        .unwrap();
    assert_eq!(held("M3").await, 4, "3 is held: the next number");
    // A merchant id taken is still a merchant-id conflict.
    let again = store.add_merchant(&new_merchant("M3", "P1"), NOW).await;
    assert!(
        matches!(again, Err(StoreError::Conflict(Constraint::MerchantId))),
        "{again:?}"
    );
}

on_each_backend!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    two_merchants_whose_derived_pans_collided_get_different_pans,
    two_thousand_merchants_added_at_once_get_distinct_pan_accounts,
    a_pan_account_already_held_is_skipped_not_shared,
);
