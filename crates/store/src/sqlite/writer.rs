//! The one writer thread: every write of the process, committed in groups.
//!
//! SQLite takes one writer at a time and every commit pays for its WAL write (and, with
//! `durability = power`, an fsync). The thread owns the only write connection and the claim
//! index ([`WriterState`]); it takes every job waiting in its queue (up to [`MAX_BATCH`]), runs
//! them in one `BEGIN IMMEDIATE … COMMIT`, and only then answers each caller, so `Ok` still
//! means "committed". Each job runs inside a savepoint: a job that fails (a unique violation
//! half-way through several writes) has all of its writes undone and does not disturb the
//! others in its batch. When a batch does not commit, every job in it fails and the claim index
//! is rebuilt from the table, which is the truth.
//!
//! The queue is bounded (CONTRACT §8: overload is refused, not queued without bound): a job
//! that finds it full fails at once with [`StoreError::Overloaded`], and a job whose caller has
//! stopped waiting (a timed-out request) is dropped unrun.

use super::claims::ClaimIndex;
use crate::StoreError;
use rusqlite::Connection;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{mpsc, oneshot};

/// Most jobs committed together.
const MAX_BATCH: usize = 256;

/// Most jobs waiting for the writer. At the writer's rate (BENCHMARKS.md: ~20,000 jobs/s) a
/// full queue is a fraction of a second of work, well inside `request-timeout`; beyond it,
/// waiting longer would only turn refusals into timeouts.
pub(crate) const QUEUE_LIMIT: usize = 4096;

/// What the writer thread owns: the write connection and the claim index, touched by no
/// other thread, so neither needs a lock.
#[derive(Debug)]
pub(crate) struct WriterState {
    /// The only connection that writes.
    pub(crate) connection: Connection,
    /// Which `X-EXTERNAL-ID`s are taken (`claims.rs`).
    pub(crate) claims: ClaimIndex,
}

/// A unit of work for the writer thread, type-erased.
trait Job: Send {
    /// Whether the caller still waits for the outcome.
    fn wanted(&self) -> bool;
    /// Runs the work inside the open transaction, keeping its outcome; `false` when it failed
    /// (its writes are then rolled back to the savepoint taken before it).
    fn run(&mut self, state: &mut WriterState) -> bool;
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
    F: FnOnce(&mut WriterState) -> Result<T, StoreError> + Send,
{
    fn wanted(&self) -> bool {
        !self.reply.is_closed()
    }

    fn run(&mut self, state: &mut WriterState) -> bool {
        let Some(work) = self.work.take() else {
            return true;
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| work(&mut *state))).unwrap_or_else(|_| {
            // The job may have left the index half-changed: read it again from the table.
            state.claims.forget_all();
            Err(StoreError::backend("a write panicked".to_owned()))
        });
        let ok = outcome.is_ok();
        self.outcome = Some(outcome);
        ok
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
    jobs: mpsc::Sender<Box<dyn Job>>,
    /// Jobs submitted and not yet answered.
    queued: Arc<AtomicUsize>,
}

impl Writer {
    /// Starts the writer thread owning `state`; it ends when every handle is dropped.
    pub(crate) fn start(state: WriterState) -> Result<Writer, StoreError> {
        Writer::with_capacity(state, QUEUE_LIMIT)
    }

    fn with_capacity(state: WriterState, capacity: usize) -> Result<Writer, StoreError> {
        let (jobs, queue) = mpsc::channel(capacity);
        let queued = Arc::new(AtomicUsize::new(0));
        let answered = queued.clone();
        std::thread::Builder::new()
            .name("snapqris-sqlite-writer".to_owned())
            .spawn(move || write_loop(state, queue, &answered))
            .map_err(|e| StoreError::backend(format!("cannot start the writer thread: {e}")))?;
        Ok(Writer { jobs, queued })
    }

    /// Runs `work` on the writer's state in the next batch; its outcome arrives once that
    /// batch has committed (or failed). [`StoreError::Overloaded`] at once when the queue is
    /// full.
    pub(crate) async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriterState) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, outcome) = oneshot::channel();
        let job = Pending {
            work: Some(work),
            outcome: None,
            reply,
        };
        self.queued.fetch_add(1, Ordering::Relaxed);
        if let Err(refused) = self.jobs.try_send(Box::new(job)) {
            self.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(match refused {
                mpsc::error::TrySendError::Full(_) => StoreError::Overloaded,
                mpsc::error::TrySendError::Closed(_) => {
                    StoreError::backend("the writer thread has stopped".to_owned())
                }
            });
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
    mut state: WriterState,
    mut queue: mpsc::Receiver<Box<dyn Job>>,
    queued: &AtomicUsize,
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
        let taken = batch.len();
        // CONTRACT §8: work whose caller has gone is not done.
        batch.retain(|job| job.wanted());
        let committed = if batch.is_empty() {
            Ok(())
        } else {
            commit_batch(&mut state, &mut batch)
        };
        if committed.is_err() {
            state.claims.forget_all();
        }
        let committed = match &committed {
            Ok(()) => Ok(()),
            Err(why) => Err(why.as_str()),
        };
        queued.fetch_sub(taken, Ordering::Relaxed);
        for job in batch.drain(..) {
            job.answer(committed);
        }
    }
}

/// Runs every job of the batch in one transaction, each inside its own savepoint, and commits.
fn commit_batch(state: &mut WriterState, batch: &mut [Box<dyn Job>]) -> Result<(), String> {
    state
        .connection
        .execute_batch("BEGIN IMMEDIATE")
        .map_err(|e| format!("cannot begin a write transaction: {e}"))?;
    for job in batch.iter_mut() {
        savepoint(&state.connection, "SAVEPOINT job")?;
        let ok = job.run(state);
        // Some failures (disk full, I/O error) make SQLite roll the whole transaction back;
        // the jobs after it must not run outside a transaction.
        if state.connection.is_autocommit() {
            return Err("SQLite rolled the write transaction back".to_owned());
        }
        if !ok {
            savepoint(&state.connection, "ROLLBACK TO job")?;
        }
        savepoint(&state.connection, "RELEASE job")?;
    }
    state.connection.execute_batch("COMMIT").map_err(|e| {
        let _ = state.connection.execute_batch("ROLLBACK");
        format!("commit failed: {e}")
    })
}

/// Runs one savepoint statement (prepared once per connection).
fn savepoint(connection: &Connection, sql: &str) -> Result<(), String> {
    connection
        .prepare_cached(sql)
        .and_then(|mut statement| statement.execute([]))
        .map(drop)
        .map_err(|e| {
            let _ = connection.execute_batch("ROLLBACK");
            format!("{sql} failed: {e}")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> WriterState {
        let connection = Connection::open_in_memory().unwrap();
        connection
            .execute_batch("CREATE TABLE t (k TEXT PRIMARY KEY)")
            .unwrap();
        WriterState {
            connection,
            claims: ClaimIndex::default(),
        }
    }

    /// A writer on a fresh in-memory table `t`.
    fn writer() -> Writer {
        Writer::start(state()).unwrap()
    }

    fn insert(key: &'static str) -> impl FnOnce(&mut WriterState) -> Result<usize, StoreError> {
        move |w| {
            Ok(w.connection
                .execute("INSERT INTO t (k) VALUES ($1)", [key])?)
        }
    }

    fn count(w: &mut WriterState) -> Result<i64, StoreError> {
        Ok(w.connection
            .query_row("SELECT COUNT(*) FROM t", [], |row| row.get::<_, i64>(0))?)
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
        assert_eq!(writer.run(count).await.unwrap(), 2);
    }

    #[tokio::test]
    async fn a_failed_job_has_every_one_of_its_writes_undone() {
        let writer = writer();
        let failed = writer
            .run(|w| {
                w.connection
                    .execute("INSERT INTO t (k) VALUES ('first')", [])?;
                w.connection
                    .execute("INSERT INTO t (k) VALUES ('first')", [])?;
                Ok(())
            })
            .await;
        assert!(failed.is_err());
        assert_eq!(
            writer.run(count).await.unwrap(),
            0,
            "the first insert is gone too"
        );
    }

    #[tokio::test]
    async fn a_batch_that_does_not_commit_fails_every_job() {
        let writer = writer();
        let rolled_back = writer
            .run(|w| {
                Ok(w.connection
                    .execute_batch("INSERT INTO t VALUES ('x'); ROLLBACK")?)
            })
            .await;
        assert!(
            rolled_back.is_err(),
            "a job of a rolled-back batch is not Ok"
        );
        assert_eq!(
            writer.run(insert("x")).await.unwrap(),
            1,
            "the insert was undone"
        );
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

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_and_a_gone_caller_s_job_is_not_run() {
        let writer = Writer::with_capacity(state(), 2).unwrap();
        // Hold the thread inside a job until told to go on, so the queue fills up behind it.
        let (go_on, wait) = std::sync::mpsc::channel::<()>();
        let holding = tokio::spawn({
            let writer = writer.clone();
            async move {
                writer
                    .run(move |_| {
                        let _ = wait.recv();
                        Ok(())
                    })
                    .await
            }
        });
        while writer.queued() == 0 {
            tokio::task::yield_now().await;
        }
        // Time for the thread to take the holding job off the queue and wait inside it.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        // Two queued: one whose caller goes away, one that stays.
        let gone = tokio::spawn({
            let writer = writer.clone();
            async move { writer.run(insert("gone")).await }
        });
        let stays = tokio::spawn({
            let writer = writer.clone();
            async move { writer.run(insert("stays")).await }
        });
        while writer.queued() < 3 {
            tokio::task::yield_now().await;
        }
        let refused = writer.run(insert("refused")).await;
        assert!(
            matches!(refused, Err(StoreError::Overloaded)),
            "{refused:?}"
        );
        gone.abort();
        let _ = gone.await;
        go_on.send(()).unwrap();
        holding.await.unwrap().unwrap();
        assert_eq!(stays.await.unwrap().unwrap(), 1);
        let kept: Vec<String> = writer
            .run(|w| {
                let mut statement = w.connection.prepare("SELECT k FROM t ORDER BY k")?;
                let rows = statement.query_map([], |row| row.get(0))?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .await
            .unwrap();
        assert_eq!(kept, ["stays"], "the gone caller's insert was not run");
    }
}
