//! One empty database per test.

use crate::Backend;
use std::path::Path;

/// An empty database for one test: a SQLite file in a temporary directory, or a PostgreSQL
/// database created for the test and dropped (with its connections) when this is dropped.
/// The temporary directory exists for both, for whatever else the test writes.
pub struct TestDatabase {
    url: String,
    /// The PostgreSQL server URL and the database name to drop.
    postgres: Option<(String, String)>,
    dir: tempfile::TempDir,
}

impl TestDatabase {
    /// A fresh database on `backend`.
    ///
    /// # Panics
    ///
    /// When the temporary directory or the PostgreSQL database cannot be made: the test
    /// cannot run then.
    pub async fn new(backend: &Backend) -> TestDatabase {
        match backend {
            Backend::Sqlite => TestDatabase::sqlite(),
            Backend::Postgres(server_url) => {
                use sqlx::Connection;
                let name = format!("snapqris_test_{}", unique_suffix());
                let mut admin = sqlx::PgConnection::connect(server_url)
                    .await
                    .expect("connect to PostgreSQL");
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut admin)
                    .await
                    .expect("create a test database");
                let (base, _) = server_url
                    .rsplit_once('/')
                    .expect("a database URL with a path");
                TestDatabase {
                    url: format!("{base}/{name}"),
                    postgres: Some((server_url.clone(), name)),
                    dir: tempfile::tempdir().expect("a temporary directory"),
                }
            }
        }
    }

    /// A fresh SQLite database (`test.db` in a temporary directory; the file is made by
    /// whatever opens it first).
    fn sqlite() -> TestDatabase {
        let dir = tempfile::tempdir().expect("a temporary directory");
        TestDatabase {
            url: format!("sqlite://{}", dir.path().join("test.db").display()),
            postgres: None,
            dir,
        }
    }

    /// The URL to open it with (`sqlite://…` or `postgres://…`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The test's temporary directory (the SQLite file lives there).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Whether this is a PostgreSQL database.
    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// The rows of `schema_migrations` and how many distinct versions they hold (equal unless
    /// a migration was recorded twice).
    ///
    /// # Panics
    ///
    /// When the database cannot be read.
    pub async fn migration_rows(&self) -> (i64, i64) {
        const COUNT: &str = "SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations";
        match self.url.strip_prefix("sqlite://") {
            Some(path) => rusqlite::Connection::open(path)
                .expect("open the SQLite file")
                .query_row(COUNT, [], |row| Ok((row.get(0)?, row.get(1)?)))
                .expect("count the migrations"),
            None => {
                use sqlx::Connection;
                let mut connection = sqlx::PgConnection::connect(&self.url)
                    .await
                    .expect("connect to the test database");
                sqlx::query_as(COUNT)
                    .fetch_one(&mut connection)
                    .await
                    .expect("count the migrations")
            }
        }
    }

    /// The one integer `sql` selects (a count, a sum), read without the store: to check what
    /// the store wrote. A `NULL` (the sum of no rows) is 0.
    ///
    /// # Panics
    ///
    /// When the database cannot be read or `sql` selects no integer.
    pub async fn scalar(&self, sql: &str) -> i64 {
        match self.url.strip_prefix("sqlite://") {
            Some(path) => rusqlite::Connection::open(path)
                .expect("open the SQLite file")
                .query_row(sql, [], |row| row.get::<_, Option<i64>>(0))
                .expect("read the value")
                .unwrap_or(0),
            None => {
                use sqlx::Connection;
                let mut connection = sqlx::PgConnection::connect(&self.url)
                    .await
                    .expect("connect to the test database");
                sqlx::query_scalar::<_, Option<i64>>(sqlx::AssertSqlSafe(sql.to_owned()))
                    .fetch_one(&mut connection)
                    .await
                    .expect("read the value")
                    .unwrap_or(0)
            }
        }
    }

    /// Runs `sql` (one or more statements) on the database as it is, bypassing the store: to
    /// build an old schema, or to check that a constraint refuses a write. `Err` carries the
    /// database's message.
    ///
    /// # Panics
    ///
    /// When the database cannot be reached.
    pub async fn execute(&self, sql: &str) -> Result<(), String> {
        match self.url.strip_prefix("sqlite://") {
            Some(path) => rusqlite::Connection::open(path)
                .expect("open the SQLite file")
                .execute_batch(sql)
                .map_err(|e| e.to_string()),
            None => {
                use sqlx::Connection;
                let mut connection = sqlx::PgConnection::connect(&self.url)
                    .await
                    .expect("connect to the test database");
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
                    .execute(&mut connection)
                    .await
                    .map(drop)
                    .map_err(|e| match e.as_database_error() {
                        Some(db) => db.message().to_owned(),
                        None => e.to_string(),
                    })
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((server_url, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs inside the test's runtime, so the clean-up gets a thread of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                use sqlx::Connection;
                let mut admin = sqlx::PgConnection::connect(&server_url).await?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await
                .map(drop)
            })?;
            Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
        });
        if let Ok(Err(e)) = dropped.join() {
            eprintln!("could not drop test database: {e}");
        }
    }
}

/// A lower-case suffix unique among concurrently running tests (and test processes).
fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default();
    format!(
        "{}_{nanos}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Every stored client secret and shared secret of the database at `url`, read without the
/// store (to check that none is in clear).
pub async fn stored_secrets(url: &str) -> Vec<Vec<u8>> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let connection = rusqlite::Connection::open(path).unwrap();
        let mut values = Vec::new();
        for sql in [
            "SELECT CAST(client_secret AS BLOB) FROM partners",
            "SELECT value FROM server_keys",
        ] {
            let mut statement = connection.prepare(sql).unwrap();
            let rows = statement
                .query_map([], |row| row.get::<_, Vec<u8>>(0))
                .unwrap();
            values.extend(rows.map(Result::unwrap));
        }
        return values;
    }
    use sqlx::Connection;
    let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
    let secrets: Vec<String> = sqlx::query_scalar("SELECT client_secret FROM partners")
        .fetch_all(&mut connection)
        .await
        .unwrap();
    let keys: Vec<Vec<u8>> = sqlx::query_scalar("SELECT value FROM server_keys")
        .fetch_all(&mut connection)
        .await
        .unwrap();
    secrets
        .into_iter()
        .map(String::into_bytes)
        .chain(keys)
        .collect()
}

/// The SQL that builds the schema an older snapqris left: `migrations` (its migration files, in
/// order) applied and recorded in `schema_migrations` as versions 1, 2, …, for upgrade tests.
pub fn schema_of(migrations: &[&str]) -> String {
    let mut sql = String::from(
        "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, \
         applied_at BIGINT NOT NULL);\n",
    );
    for (n, migration) in migrations.iter().enumerate() {
        sql.push_str(migration);
        sql.push_str(&format!(
            "\nINSERT INTO schema_migrations VALUES ({}, 'old', 0);\n",
            n + 1
        ));
    }
    sql
}
