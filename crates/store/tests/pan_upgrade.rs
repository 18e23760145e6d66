//! A database made before merchant PANs were allocated (SQLite schema 5, PostgreSQL schema 4)
//! is upgraded: each merchant keeps the PAN it had, unless an earlier merchant had it too.

use snapqris_qris::{Criteria, Initiation, MerchantProfile, legacy_account_number, merchant_pan};
use snapqris_store::StoreOptions;
use snapqris_test_support::{Backend, TestDatabase, on_each_backend};

/// Two merchant ids whose derived PANs were the same (qris's `merchant.rs` tests found them).
const COLLIDING: (&str, &str) = ("M90479", "M321856");

const SQLITE_BEFORE: &[&str] = &[
    include_str!("../migrations/sqlite/0001_init.sql"),
    include_str!("../migrations/sqlite/0002_tighter_hot_tables.sql"),
    include_str!("../migrations/sqlite/0003_covering_list_index.sql"),
    include_str!("../migrations/sqlite/0004_claims_in_arrival_order.sql"),
    include_str!("../migrations/sqlite/0005_node_leases.sql"),
];

const POSTGRES_BEFORE: &[&str] = &[
    include_str!("../migrations/postgres/0001_init.sql"),
    include_str!("../migrations/postgres/0002_covering_list_index.sql"),
    include_str!("../migrations/postgres/0003_native_types.sql"),
    include_str!("../migrations/postgres/0004_node_leases.sql"),
];

/// Builds the schema of the version before PAN allocation, with three merchants: the later of
/// the colliding pair (by id) registered first, then the other, then one of its own.
async fn old_database(database: &TestDatabase) {
    let before = if database.is_postgres() {
        POSTGRES_BEFORE
    } else {
        SQLITE_BEFORE
    };
    let mut sql = snapqris_test_support::schema_of(before);
    sql.push_str(
        "INSERT INTO partners (client_id, public_key_pem, client_secret, signature_mode, \
         services, created_at, updated_at) VALUES ('P1', 'pem', 'secret', 'hmac', '47', 0, 0);\n",
    );
    for (merchant_id, created_at) in [(COLLIDING.1, 1), (COLLIDING.0, 2), ("M001", 3)] {
        sql.push_str(&format!(
            "INSERT INTO merchants (merchant_id, client_id, name, city, mcc, postal_code, nmid, \
             criteria, created_at, updated_at) VALUES ('{merchant_id}', 'P1', 'Warung', \
             'Jakarta', '5812', '10110', 'ID1', 'UMI', {created_at}, {created_at});\n"
        ));
    }
    database.execute(&sql).await.unwrap();
}

async fn merchants_keep_their_pans_unless_an_earlier_one_had_it(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    old_database(&database).await;
    let (later, earlier) = COLLIDING;
    let shared = legacy_account_number(earlier);
    assert_eq!(legacy_account_number(later), shared);

    // Two processes starting at once: the numbering happens once.
    let options = StoreOptions::default();
    let (a, b) = tokio::join!(
        snapqris_store::connect(database.url(), &options),
        snapqris_store::connect(database.url(), &options),
    );
    let (store, _other) = (a.unwrap(), b.unwrap());
    let account = |id: &'static str| {
        let store = store.clone();
        async move { store.merchant(id).await.unwrap().unwrap().pan_account }
    };
    assert_eq!(account(earlier).await, shared, "registered first: keeps it");
    assert_eq!(
        account(later).await,
        1,
        "registered later: the first number"
    );
    assert_eq!(account("M001").await, legacy_account_number("M001"));

    // Its QR carries the new PAN; the others' the ones they always had.
    let nns = "93600999";
    let payload = qr_of(&store.merchant(later).await.unwrap().unwrap(), nns);
    let pan_tag = format!("0118{}", merchant_pan(nns, 1));
    assert!(payload.contains(&pan_tag), "{payload}");
    let old_pan = merchant_pan(nns, shared);
    assert!(!payload.contains(&old_pan), "{payload}");
    let kept = qr_of(&store.merchant("M001").await.unwrap().unwrap(), nns);
    assert!(
        kept.contains("936009996867232113"),
        "M001's PAN since 0.1: {kept}"
    );

    // A merchant added now takes the next number, and the old ones are left alone.
    store
        .add_merchant(
            &snapqris_store::NewMerchant {
                merchant_id: snapqris_protocol::MerchantId::parse("M4").unwrap(),
                client_id: snapqris_protocol::ClientId::parse("P1").unwrap(),
                name: "W".into(),
                city: "J".into(),
                mcc: "5999".into(),
                postal_code: "10110".into(),
                nmid: "ID1".into(),
                criteria: "UMI".into(),
            },
            time::OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    assert_eq!(account("M4").await, 2);
    drop(store);
    let reopened = snapqris_store::connect(database.url(), &options)
        .await
        .unwrap();
    let again = reopened.merchant(earlier).await.unwrap().unwrap();
    assert_eq!(
        again.pan_account, shared,
        "numbered once, not at every start"
    );
}

/// The QRIS payload the server would build for `merchant` (static).
fn qr_of(merchant: &snapqris_store::Merchant, nns: &str) -> String {
    let profile = MerchantProfile {
        acquirer_domain: "ID.CO.SNAPQRIS.WWW".into(),
        acquirer_nns: nns.into(),
        merchant_pan: merchant_pan(nns, merchant.pan_account),
        merchant_id: merchant.merchant_id.clone(),
        criteria: Criteria::Umi,
        nmid: "ID1234".into(),
        mcc: merchant.mcc.clone(),
        name: merchant.name.clone(),
        city: merchant.city.clone(),
        postal_code: merchant.postal_code.clone(),
    };
    snapqris_qris::build(&profile, &Initiation::Static, "1", None).unwrap()
}

on_each_backend!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    merchants_keep_their_pans_unless_an_earlier_one_had_it,
);
