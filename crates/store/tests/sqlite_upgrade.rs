//! A SQLite file made by an earlier version (schema 1) is upgraded in place, its rows intact.

use futures_util::TryStreamExt;
use snapqris_protocol::{ClientId, ExternalId, JakartaDate};
use snapqris_store::{Claim, ExternalIdKey, StoreOptions};
use time::macros::{date, datetime};

const SCHEMA_1: &str = include_str!("../migrations/sqlite/0001_init.sql");

#[tokio::test]
async fn a_schema_1_file_keeps_its_qrs_and_claims_after_the_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let old = rusqlite::Connection::open(&path).unwrap();
        old.execute_batch(SCHEMA_1).unwrap();
        old.execute_batch(
            "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, \
             applied_at BIGINT NOT NULL);
             INSERT INTO schema_migrations VALUES (1, 'init', 0);
             INSERT INTO partners VALUES ('P1', 'pem', 'secret', 'hmac', '47,90', 1, 0, 0);
             INSERT INTO merchants (merchant_id, client_id, name, city, mcc, postal_code, nmid,
                 criteria, created_at, updated_at)
                 VALUES ('M1', 'P1', 'Warung', 'Jakarta', '5812', '10110', 'ID1', 'UMI', 0, 0);
             INSERT INTO qr_codes (id_qr, merchant_id, client_id, partner_reference_no, kind,
                 amount_sen, generated_at, jakarta_date, expires_at, qr_content)
                 VALUES (7, 'M1', 'P1', 'ref-7', 'dynamic', 900000, 1764057600000,
                         '2025-11-25', 1764061200000, 'payload');
             INSERT INTO external_ids VALUES ('P1', '2025-11-25', 'EXT-1', 1764057600000);",
        )
        .unwrap();
    }

    let url = format!("sqlite://{}", path.display());
    let store = snapqris_store::connect(&url, &StoreOptions::default())
        .await
        .unwrap();

    let qr = store.qr(7).await.unwrap().expect("the QR survives");
    assert_eq!(qr.partner_reference_no, "ref-7");
    assert_eq!(qr.amount_sen, Some(900_000));
    let day = JakartaDate::from_date(date!(2025 - 11 - 25));
    let listed: Vec<_> = store.list_day("M1", day).try_collect().await.unwrap();
    assert_eq!(listed.iter().map(|q| q.id_qr).collect::<Vec<_>>(), [7]);

    let key = |id: &str| ExternalIdKey {
        client_id: ClientId::parse("P1").unwrap(),
        day,
        external_id: ExternalId::parse(id).unwrap(),
    };
    let now = datetime!(2025-11-25 08:00 UTC);
    let reused = store.claim_external_id(&key("EXT-1"), now).await.unwrap();
    assert_eq!(reused, Claim::AlreadyUsed, "the old claim still holds");
    let fresh = store.claim_external_id(&key("EXT-2"), now).await.unwrap();
    assert_eq!(fresh, Claim::Claimed);
    // The purge still finds old days through the new key.
    let purged = store
        .purge_external_ids(JakartaDate::from_date(date!(2025 - 11 - 26)))
        .await
        .unwrap();
    assert_eq!(purged, 2);
}
