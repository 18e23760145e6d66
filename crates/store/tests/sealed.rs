//! Secrets sealed at rest (CONTRACT §8), as the `Store` interface shows them, on each backend:
//! callers see clear values; the database holds none of them in clear.

use snapqris_store::{MasterKey, NewPartner, Store, StoreError, StoreOptions};
use std::sync::Arc;
use time::macros::datetime;

const NOW: time::OffsetDateTime = datetime!(2026-11-25 08:00 UTC);

/// A fresh database URL for one test (SQLite in `dir`, or a new PostgreSQL database), or
/// `None` when PostgreSQL is asked for and not configured.
async fn fresh_url(postgres: bool, dir: &tempfile::TempDir) -> Option<String> {
    if !postgres {
        return Some(format!("sqlite://{}", dir.path().join("s.db").display()));
    }
    let Ok(server) = std::env::var("SNAPQRIS_TEST_DATABASE_URL") else {
        eprintln!("skipped: SNAPQRIS_TEST_DATABASE_URL is not set, no PostgreSQL run");
        return None;
    };
    use sqlx::Connection;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let name = format!("snapqris_sealed_test_{}_{nanos}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(&server).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let (base, _) = server.rsplit_once('/').unwrap();
    Some(format!("{base}/{name}"))
}

/// Drops a PostgreSQL test database (nothing to do for SQLite: its directory goes).
async fn drop_database(url: &str) {
    let Ok(server) = std::env::var("SNAPQRIS_TEST_DATABASE_URL") else {
        return;
    };
    let Some((_, name)) = url.rsplit_once('/').filter(|_| url.starts_with("postgres")) else {
        return;
    };
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(&server).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
}

async fn connect(url: &str, key: Option<&MasterKey>) -> Result<Arc<dyn Store>, StoreError> {
    let options = StoreOptions {
        master_key: key.cloned(),
        ..StoreOptions::default()
    };
    snapqris_store::connect(url, &options).await
}

fn partner(client_id: &str, secret: &str) -> NewPartner {
    NewPartner {
        client_secret: secret.into(),
        ..snapqris_test_support::new_partner(client_id)
    }
}

async fn sealed_secrets_read_back_clear_and_are_stored_sealed(postgres: bool) {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = fresh_url(postgres, &dir).await else {
        return;
    };
    let key = MasterKey::from_bytes(&[9; 32]).unwrap();
    let store = connect(&url, Some(&key)).await.unwrap();
    store
        .add_partner(&partner("P1", "first-secret"), NOW)
        .await
        .unwrap();
    let token_key = store
        .shared_secret("token", b"token-key-bytes")
        .await
        .unwrap();
    assert_eq!(token_key, b"token-key-bytes");
    assert_eq!(
        store.shared_secret("token", b"another").await.unwrap(),
        b"token-key-bytes",
        "the first value stays"
    );
    assert_eq!(
        store.partner("P1").await.unwrap().unwrap().client_secret,
        "first-secret"
    );
    store
        .set_partner_secret("P1", "second-secret", NOW)
        .await
        .unwrap();
    assert_eq!(
        store.partners().await.unwrap()[0].client_secret,
        "second-secret"
    );
    // Compared in clear although stored sealed (under a fresh nonce each time).
    for (current, replaced) in [("first-secret", false), ("second-secret", true)] {
        let done = store
            .replace_client_secret("P1", current, "third-secret", NOW)
            .await
            .unwrap();
        assert_eq!(done, replaced, "{current}");
    }
    assert!(
        !store
            .replace_client_secret("P2", "second-secret", "x", NOW)
            .await
            .unwrap(),
        "no such partner"
    );
    assert_eq!(
        store.partner("P1").await.unwrap().unwrap().client_secret,
        "third-secret"
    );
    assert!(
        !store
            .replace_shared_secret("token", b"not-the-value", b"x")
            .await
            .unwrap()
    );
    assert!(
        store
            .replace_shared_secret("token", b"token-key-bytes", b"rotated")
            .await
            .unwrap()
    );
    assert_eq!(
        store.shared_secrets().await.unwrap(),
        vec![("token".to_owned(), b"rotated".to_vec())]
    );
    for value in snapqris_test_support::stored_secrets(&url).await {
        assert!(value.starts_with(b"sealed:"), "{value:?}");
        for clear in [&b"third-secret"[..], b"rotated", b"token-key-bytes"] {
            assert!(!value.windows(clear.len()).any(|w| w == clear));
        }
    }
    drop(store);
    let refused = connect(&url, None).await.err().expect("no key: refused");
    assert!(matches!(refused, StoreError::Secret(_)), "{refused}");
    drop_database(&url).await;
}

async fn without_a_key_a_clear_secret_that_looks_sealed_is_refused(postgres: bool) {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = fresh_url(postgres, &dir).await else {
        return;
    };
    let store = connect(&url, None).await.unwrap();
    let refused = store
        .add_partner(&partner("P1", "sealed:abc"), NOW)
        .await
        .unwrap_err();
    assert!(matches!(refused, StoreError::Secret(_)), "{refused}");
    store
        .add_partner(&partner("P1", "plain"), NOW)
        .await
        .unwrap();
    assert_eq!(
        snapqris_test_support::stored_secrets(&url).await,
        vec![b"plain".to_vec()]
    );
    drop(store);
    drop_database(&url).await;
}

macro_rules! on_each_backend {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name(false).await;
            }

            #[tokio::test]
            async fn postgres() {
                super::$name(true).await;
            }
        }
    )*};
}

on_each_backend!(
    sealed_secrets_read_back_clear_and_are_stored_sealed,
    without_a_key_a_clear_secret_that_looks_sealed_is_refused,
);
