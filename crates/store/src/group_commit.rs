//! Group commit for SQLite: many requests' writes share one transaction.
//!
//! SQLite takes one writer at a time and every commit pays for its journal write (and, with
//! `durability = power`, an fsync). Under load, each request's `X-EXTERNAL-ID` claim and QR
//! insert would queue for the lock one commit at a time. Here one task owns a write
//! connection: it takes every write waiting in its queue (up to [`MAX_BATCH`]), runs them in
//! one `BEGIN IMMEDIATE … COMMIT`, and only then answers each caller, so a 2xx still means
//! "committed". A statement that fails (a unique violation) is undone by SQLite alone and
//! does not disturb the others in its batch.

use sqlx::any::AnyArguments;
use sqlx::{AnyConnection, Connection};
use tokio::sync::{mpsc, oneshot};

/// Most writes committed together.
const MAX_BATCH: usize = 256;

/// A value bound to a statement.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Int(i64),
    OptInt(Option<i64>),
    Text(String),
    OptText(Option<String>),
}

/// A query with `args` bound in order.
pub(crate) fn bind_all(
    sql: &'static str,
    args: Vec<Arg>,
) -> sqlx::query::Query<'static, sqlx::Any, AnyArguments> {
    args.into_iter()
        .fold(sqlx::query(sql), |query, arg| match arg {
            Arg::Int(value) => query.bind(value),
            Arg::OptInt(value) => query.bind(value),
            Arg::Text(value) => query.bind(value),
            Arg::OptText(value) => query.bind(value),
        })
}

/// One write and where its outcome goes: rows affected, or the statement's error.
struct Job {
    sql: &'static str,
    args: Vec<Arg>,
    reply: oneshot::Sender<Result<u64, sqlx::Error>>,
}

/// The handle requests submit writes through.
#[derive(Debug, Clone)]
pub(crate) struct GroupCommitter {
    jobs: mpsc::Sender<Job>,
}

impl GroupCommitter {
    /// Starts the committing task on its own connection.
    pub(crate) fn start(connection: AnyConnection) -> Self {
        let (jobs, queue) = mpsc::channel(MAX_BATCH * 4);
        tokio::spawn(commit_loop(connection, queue));
        GroupCommitter { jobs }
    }

    /// Runs `sql` with `args` in the next batch; returns the rows it changed once that batch
    /// has committed.
    pub(crate) async fn execute(
        &self,
        sql: &'static str,
        args: Vec<Arg>,
    ) -> Result<u64, sqlx::Error> {
        let (reply, outcome) = oneshot::channel();
        self.jobs
            .send(Job { sql, args, reply })
            .await
            .map_err(|_| sqlx::Error::PoolClosed)?;
        outcome.await.map_err(|_| sqlx::Error::PoolClosed)?
    }
}

async fn commit_loop(mut connection: AnyConnection, mut queue: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let outcomes = commit_batch(&mut connection, &batch).await;
        for (job, outcome) in batch.drain(..).zip(outcomes) {
            // A caller that gave up (timeout) no longer listens; its write stands.
            let _ = job.reply.send(outcome);
        }
    }
    let _ = connection.close().await;
}

/// Runs every job in one transaction; if the transaction itself fails, every job fails.
async fn commit_batch(
    connection: &mut AnyConnection,
    batch: &[Job],
) -> Vec<Result<u64, sqlx::Error>> {
    if let Err(e) = sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut *connection)
        .await
    {
        return batch.iter().map(|_| Err(clone_error(&e))).collect();
    }
    let mut outcomes = Vec::with_capacity(batch.len());
    for job in batch {
        let outcome = bind_all(job.sql, job.args.clone())
            .execute(&mut *connection)
            .await
            .map(|done| done.rows_affected());
        outcomes.push(outcome);
    }
    match sqlx::raw_sql("COMMIT").execute(&mut *connection).await {
        Ok(_) => outcomes,
        Err(e) => {
            let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *connection).await;
            batch.iter().map(|_| Err(clone_error(&e))).collect()
        }
    }
}

/// `sqlx::Error` is not `Clone`; a failed BEGIN or COMMIT is reported to every job as text.
fn clone_error(error: &sqlx::Error) -> sqlx::Error {
    sqlx::Error::Protocol(format!("group commit failed: {error}"))
}
