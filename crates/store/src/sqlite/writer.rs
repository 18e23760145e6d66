//! The one writer thread: every write of the process, committed in groups.
//!
//! SQLite takes one writer at a time and every commit pays for its WAL write (and, with
//! `durability = power`, an fsync). The thread owns the only write connection; it takes every
//! job waiting in its queue (up to [`MAX_BATCH`]), runs them in one `BEGIN IMMEDIATE … COMMIT`,
//! and only then answers each caller, so `Ok` still means "committed". Each job is one
//! statement that changes rows (plus reads), so a job that fails (a unique violation) is undone
//! by SQLite alone and does not disturb the others in its batch. When a batch does not commit,
//! the thread calls the `on_rollback` it was started with (state kept beside the database, like
//! the claim index, must then be rebuilt from it).

use crate::StoreError;
use rusqlite::Connection;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{mpsc, oneshot};

/// Most jobs committed together.
const MAX_BATCH: usize = 256;

/// A unit of work for the writer thread, type-erased.
trait Job: Send {
    /// Runs the work inside the open transaction, keeping its outcome.
    fn run(&mut self, connection: &Connection);
    /// Answers the caller once the batch's fate is known: `committed` is `Err` when the
    /// transaction did not commit, and then every job in it fails.
    fn answer(self: Box<Self>, committed: Result<(), &str>);
}

/// A job with its typed outcome and the caller waiting for it.
struct Pending<T, F> {
    work: Option<F>,
    outcome: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Job for Pending<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send,
{
    fn run(&mut self, connection: &Connection) {
        let Some(work) = self.work.take() else {
            return;
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| work(connection)))
            .unwrap_or_else(|_| Err(StoreError::backend("a write panicked".to_owned())));
        self.outcome = Some(outcome);
    }

    fn answer(self: Box<Self>, committed: Result<(), &str>) {
        let outcome = match (committed, self.outcome) {
            (Ok(()), Some(outcome)) => outcome,
            (Ok(()), None) => Err(StoreError::backend("the write did not run".to_owned())),
            (Err(why), _) => Err(StoreError::backend(why.to_owned())),
        };
        // A caller that gave up (timeout) no longer listens; its committed write stands.
        let _ = self.reply.send(outcome);
    }
}

/// The handle writes are submitted through; cloning it shares the one thread.
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    jobs: mpsc::UnboundedSender<Box<dyn Job>>,
    /// Jobs submitted and not yet answered.
    queued: Arc<AtomicUsize>,
}

impl Writer {
    /// Starts the writer thread on `connection`; it ends when every handle is dropped.
    /// `on_rollback` runs on that thread after every batch that did not commit.
    pub(crate) fn start(
        connection: Connection,
        on_rollback: impl Fn() + Send + 'static,
    ) -> Result<Writer, StoreError> {
        let (jobs, queue) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let answered = queued.clone();
        std::thread::Builder::new()
            .name("snapqris-sqlite-writer".to_owned())
            .spawn(move || write_loop(connection, queue, &answered, on_rollback))
            .map_err(|e| StoreError::backend(format!("cannot start the writer thread: {e}")))?;
        Ok(Writer { jobs, queued })
    }

    /// Runs `work` on the write connection in the next batch; its outcome arrives once that
    /// batch has committed (or failed).
    pub(crate) async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, outcome) = oneshot::channel();
        let job = Pending {
            work: Some(work),
            outcome: None,
            reply,
        };
        self.queued.fetch_add(1, Ordering::Relaxed);
        if self.jobs.send(Box::new(job)).is_err() {
            self.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(StoreError::backend(
                "the writer thread has stopped".to_owned(),
            ));
        }
        outcome
            .await
            .map_err(|_| StoreError::backend("the writer thread has stopped".to_owned()))?
    }

    /// Jobs submitted and not yet answered.
    pub(crate) fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }
}

fn write_loop(
    connection: Connection,
    mut queue: mpsc::UnboundedReceiver<Box<dyn Job>>,
    queued: &AtomicUsize,
    on_rollback: impl Fn(),
) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = queue.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let committed = commit_batch(&connection, &mut batch);
        if committed.is_err() {
            on_rollback();
        }
        let committed = match &committed {
            Ok(()) => Ok(()),
            Err(why) => Err(why.as_str()),
        };
        queued.fetch_sub(batch.len(), Ordering::Relaxed);
        for job in batch.drain(..) {
            job.answer(committed);
        }
    }
}

/// Runs every job of the batch in one transaction and commits it.
fn commit_batch(connection: &Connection, batch: &mut [Box<dyn Job>]) -> Result<(), String> {
    connection
        .execute_batch("BEGIN IMMEDIATE")
        .map_err(|e| format!("cannot begin a write transaction: {e}"))?;
    for job in batch.iter_mut() {
        job.run(connection);
        // Some failures (disk full, I/O error) make SQLite roll the whole transaction back;
        // the jobs after it must not run outside a transaction.
        if connection.is_autocommit() {
            return Err("SQLite rolled the write transaction back".to_owned());
        }
    }
    connection.execute_batch("COMMIT").map_err(|e| {
        let _ = connection.execute_batch("ROLLBACK");
        format!("commit failed: {e}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer on a fresh in-memory table `t`.
    fn writer_with(on_rollback: impl Fn() + Send + 'static) -> Writer {
        let connection = Connection::open_in_memory().unwrap();
        connection
            .execute_batch("CREATE TABLE t (k TEXT PRIMARY KEY)")
            .unwrap();
        Writer::start(connection, on_rollback).unwrap()
    }

    fn writer() -> Writer {
        writer_with(|| {})
    }

    fn insert(key: &'static str) -> impl FnOnce(&Connection) -> Result<usize, StoreError> {
        move |c| Ok(c.execute("INSERT INTO t (k) VALUES ($1)", [key])?)
    }

    #[tokio::test]
    async fn a_failed_job_leaves_the_rest_of_its_batch_committed() {
        let writer = writer();
        let outcomes = futures_util::future::join_all([
            writer.run(insert("a")),
            writer.run(insert("a")),
            writer.run(insert("b")),
        ])
        .await;
        assert!(outcomes[0].is_ok());
        assert!(outcomes[1].is_err(), "the duplicate is refused");
        assert!(outcomes[2].is_ok());
        let count = writer
            .run(|c| Ok(c.query_row("SELECT COUNT(*) FROM t", [], |row| row.get::<_, i64>(0))?))
            .await
            .unwrap();
        assert_eq!(count, 2);
    }

    #[tokio::test]
    async fn a_batch_that_does_not_commit_fails_every_job_and_calls_on_rollback() {
        let rollbacks = Arc::new(AtomicUsize::new(0));
        let counted = rollbacks.clone();
        let writer = writer_with(move || {
            counted.fetch_add(1, Ordering::Relaxed);
        });
        let rolled_back = writer
            .run(|c| Ok(c.execute_batch("INSERT INTO t VALUES ('x'); ROLLBACK")?))
            .await;
        assert!(
            rolled_back.is_err(),
            "a job of a rolled-back batch is not Ok"
        );
        assert_eq!(rollbacks.load(Ordering::Relaxed), 1);
        assert_eq!(
            writer.run(insert("x")).await.unwrap(),
            1,
            "the insert was undone"
        );
        assert_eq!(rollbacks.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn a_panicking_job_fails_alone_and_the_thread_lives_on() {
        let writer = writer();
        let panicked = writer
            .run(|_| -> Result<(), StoreError> { panic!("boom") })
            .await;
        assert!(panicked.is_err());
        assert_eq!(writer.run(insert("c")).await.unwrap(), 1);
    }
}
