//! The delivery worker `serve` runs beside the API (CONTRACT §6.2): it leases due
//! notifications from the store's outbox in batches, makes each attempt on its own task (at
//! most [`CONCURRENCY`] at once), and records every attempt with its outcome. The store is the
//! queue: the wake-up and the poll only say "look now", so nothing is lost when a node dies
//! (its leases expire and any node takes the notifications again).
//!
//! Stages, each a plain value: [`LeasedNotification`] → [`AttemptReport`] →
//! [`FinishedAttempt`].

use crate::error::Chain;
use crate::metrics;
use crate::notify::client::{AttemptReport, DeliveryClient, Outgoing};
use crate::notify::key::KeyCache;
use crate::notify::schedule::{NextAttempt, random_jitter};
use crate::state::AppState;
use bytes::Bytes;
use snapqris_protocol::RsaPrivateKey;
use snapqris_store::{AttemptOutcome, FinishedAttempt, LeasedNotification, NotificationAttempt};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc, oneshot, watch};
use tokio::task::JoinSet;

/// Attempts in flight at once, per node.
pub(crate) const CONCURRENCY: usize = 64;

/// The most notifications leased in one store call.
const BATCH: u32 = 64;

/// How often the outbox is looked at without a wake-up: a notification committed on another
/// node (or due for a retry) starts within this, well inside CONTRACT §6.2's 1 s.
const POLL: Duration = Duration::from_millis(250);

/// A lease outlives its attempt by this much: a node that dies mid-attempt frees the
/// notification `notify-timeout` plus this after it leased it (CONTRACT §6.2).
pub(crate) const LEASE_MARGIN: Duration = Duration::from_secs(5);

/// How long after SIGTERM in-flight attempts may still finish (beyond `notify-timeout`, which
/// bounds each of them anyway): their results are then recorded, not left to the lease.
const STOP_GRACE: Duration = Duration::from_millis(500);

/// How long the worker waits after a wake-up before it leases: a busy node commits thousands
/// of payments a second, and its leases should come in batches, not one store call per commit.
const GATHER: Duration = Duration::from_millis(5);

/// The most attempts recorded in one store call.
const RECORD_BATCH: usize = 64;

/// How often the pending gauge is refreshed from the store.
const GAUGE_EVERY: Duration = Duration::from_secs(5);

/// An attempt to record, and where to say whether it was.
/// The error is the store's, as text (it goes to one log line).
type ToRecord = (FinishedAttempt, oneshot::Sender<Result<bool, String>>);

/// What every attempt task shares.
struct Shared {
    state: AppState,
    client: DeliveryClient,
    holder: String,
    /// The recorder's queue (`record_attempts`).
    recorder: mpsc::Sender<ToRecord>,
}

/// Runs until `stop` turns true: stops leasing, lets in-flight attempts finish (within
/// `notify-timeout`), and returns. An attempt still running then is abandoned: its lease
/// expires and a node retries it.
pub(crate) async fn run(state: AppState, client: DeliveryClient, mut stop: watch::Receiver<bool>) {
    let holder = holder_id();
    tracing::info!(%holder, "notification worker started");
    let (recorder, to_record) = mpsc::channel(CONCURRENCY);
    let recording = tokio::spawn(record_attempts(state.clone(), to_record));
    let shared = Arc::new(Shared {
        state: state.clone(),
        client,
        holder,
        recorder,
    });
    let gauge = tokio::spawn(refresh_pending_gauge(state.clone()));
    let slots = Arc::new(Semaphore::new(CONCURRENCY));
    let mut keys = KeyCache::default();
    let mut in_flight = JoinSet::new();
    let wakeup = state.outbox_wakeup();
    while !*stop.borrow() {
        while in_flight.try_join_next().is_some() {}
        let free = slots.available_permits();
        if free == 0 {
            tokio::select! {
                _ = in_flight.join_next() => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        let limit = BATCH.min(u32::try_from(free).unwrap_or(BATCH));
        // A failed lease was logged; the poll below paces the next try.
        let leased = lease(&shared, &mut keys, limit).await.unwrap_or_default();
        let full = leased.len() == limit as usize;
        for (notification, key) in leased {
            let permit = slots
                .clone()
                .try_acquire_owned()
                .expect("a slot per leased notification: only this loop takes slots");
            let shared = shared.clone();
            in_flight.spawn(async move {
                deliver(&shared, &key, notification).await;
                drop(permit);
            });
        }
        if full {
            // More may be due right now: lease again without waiting.
            continue;
        }
        tokio::select! {
            () = wakeup.notified() => tokio::time::sleep(GATHER).await,
            () = tokio::time::sleep(POLL) => {}
            _ = stop.changed() => {}
        }
    }
    gauge.abort();
    let timeout = state.config().notify_timeout + STOP_GRACE;
    let drained = tokio::time::timeout(timeout, async {
        while in_flight.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            abandoned = in_flight.len(),
            "notification attempts abandoned at shutdown; their leases expire and they are retried"
        );
        in_flight.abort_all();
    }
    // The recorder ends once every attempt's handle on it is gone, after what they sent.
    drop(shared);
    while in_flight.join_next().await.is_some() {}
    if tokio::time::timeout(STOP_GRACE, recording).await.is_err() {
        tracing::warn!("recording the last notification attempts did not finish in time");
    }
    tracing::info!("notification worker stopped");
}

/// Leases up to `limit` due notifications, each paired with the key to sign it with.
async fn lease(
    shared: &Shared,
    keys: &mut KeyCache,
    limit: u32,
) -> Result<Vec<(LeasedNotification, Arc<RsaPrivateKey>)>, ()> {
    let store = &shared.state.inner.store;
    let now = shared.state.inner.clock.now();
    let lease_until = now + shared.state.config().notify_timeout + LEASE_MARGIN;
    let leased = store
        .lease_notifications(&shared.holder, now, lease_until, limit)
        .await
        .map_err(|error| {
            tracing::warn!(error = %Chain(&error), "leasing notifications failed");
        })?;
    if leased.is_empty() {
        return Ok(Vec::new());
    }
    let key = keys.current(&**store).await.map_err(|error| {
        // Nothing is sent unsigned: the leases expire and the notifications are retried.
        tracing::error!(error = %Chain(&error), "cannot read the notification key");
    })?;
    Ok(leased.into_iter().map(|n| (n, key.clone())).collect())
}

/// One attempt of one notification, recorded with its outcome.
async fn deliver(shared: &Shared, key: &Arc<RsaPrivateKey>, notification: LeasedNotification) {
    let LeasedNotification {
        notification_id,
        client_id,
        callback_url,
        body,
        attempt,
        round_attempts,
    } = notification;
    let clock = &shared.state.inner.clock;
    let started_at = clock.now();
    let report = shared
        .client
        .attempt(Outgoing {
            base_url: callback_url,
            client_id: client_id.clone(),
            body: Bytes::from(body),
            key: key.clone(),
        })
        .await;
    let outcome = outcome(shared, &report, round_attempts, clock.now());
    let label = match outcome {
        AttemptOutcome::Delivered => "delivered",
        AttemptOutcome::Retry { .. } => "retry",
        AttemptOutcome::Failed => "failed",
    };
    metrics::record_notification_attempt(label, report.latency.as_secs_f64());
    tracing::info!(
        notification_id,
        client_id = client_id.as_str(),
        attempt,
        outcome = label,
        http_status = report.http_status,
        response_code = report.response_code.as_deref(),
        error = report.error.as_deref(),
        latency_ms = report.latency.as_millis() as u64,
        "notification attempt"
    );
    let finished = FinishedAttempt {
        notification_id,
        holder: shared.holder.clone(),
        record: NotificationAttempt {
            attempt,
            started_at,
            latency: report.latency,
            http_status: report.http_status,
            response_code: report.response_code,
            error: report.error,
        },
        outcome,
    };
    let (reply, recorded) = oneshot::channel();
    let recorded = match shared.recorder.send((finished, reply)).await {
        Ok(()) => recorded
            .await
            .unwrap_or_else(|_| Err("the recorder stopped".to_owned())),
        Err(_) => Err("the recorder stopped".to_owned()),
    };
    match recorded {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            notification_id,
            attempt,
            "the lease ran out before the attempt was recorded; another node may repeat it"
        ),
        Err(error) => tracing::warn!(
            notification_id,
            attempt,
            error = %error,
            "recording a notification attempt failed; its lease expires and it is retried"
        ),
    }
}

/// Records finished attempts as they come, up to [`RECORD_BATCH`] in one store call (on
/// SQLite one writer job, not one per attempt), until every sender is gone.
async fn record_attempts(state: AppState, mut queue: mpsc::Receiver<ToRecord>) {
    let mut batch = Vec::with_capacity(RECORD_BATCH);
    while queue.recv_many(&mut batch, RECORD_BATCH).await > 0 {
        let (done, replies): (Vec<FinishedAttempt>, Vec<_>) = batch.drain(..).unzip();
        match state.inner.store.finish_attempts(&done).await {
            Ok(recorded) => {
                for (reply, recorded) in replies.into_iter().zip(recorded) {
                    let _ = reply.send(Ok(recorded));
                }
            }
            Err(error) => {
                let message = Chain(&error).to_string();
                for reply in replies {
                    let _ = reply.send(Err(message.clone()));
                }
            }
        }
    }
}

/// Delivered, retried at a time from the schedule, or failed for good.
fn outcome(
    shared: &Shared,
    report: &AttemptReport,
    round_attempts: u32,
    ended: time::OffsetDateTime,
) -> AttemptOutcome {
    if report.delivered {
        return AttemptOutcome::Delivered;
    }
    let schedule = &shared.state.config().notify_retry_schedule;
    match schedule.after_failure(round_attempts, report.retry_after, random_jitter()) {
        NextAttempt::After(delay) => AttemptOutcome::Retry { at: ended + delay },
        NextAttempt::GiveUp => AttemptOutcome::Failed,
    }
}

/// Sets the outbox's gauges (`metrics::set_notification_backlog`) from the store now and every
/// [`GAUGE_EVERY`].
async fn refresh_pending_gauge(state: AppState) {
    let mut ticks = tokio::time::interval(GAUGE_EVERY);
    loop {
        ticks.tick().await;
        let now = time::OffsetDateTime::now_utc();
        match state.inner.store.notification_backlog(now).await {
            Ok(backlog) => metrics::set_notification_backlog(&backlog, now),
            Err(error) => {
                tracing::warn!(error = %Chain(&error), "counting pending notifications failed")
            }
        }
    }
}

/// This process's name on its leases: unique per process, so a restarted node never takes
/// its predecessor's leases for its own.
fn holder_id() -> String {
    let mut bytes = [0_u8; 6];
    aws_lc_rs::rand::fill(&mut bytes).expect("the system random generator failed");
    let suffix: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("notify-{}-{suffix}", std::process::id())
}
