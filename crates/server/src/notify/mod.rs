//! Notification delivery (service 52, CONTRACT §6.2): the worker that takes due notifications
//! from the store's outbox and sends each, signed, to its partner's callback URL.
//!
//! - `schedule`: when a failed attempt is tried again ([`RetrySchedule`], pure).
//! - `address`: which addresses an attempt may reach (SSRF).
//! - `tls`: rustls with bundled roots plus `notify-ca-file` ([`read_ca_file`]).
//! - `background`: the idle-priority runtime attempts run on, so they never take the API's CPU.
//! - `client`: one attempt over HTTP/1.
//! - `pool`: connections kept for the next attempt to the same receiver.
//! - `worker`: the lease → attempt → record loop `serve` runs.

mod address;
mod background;
mod client;
mod key;
mod pool;
mod schedule;
mod tls;
mod worker;

use crate::state::AppState;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

pub use client::NOTIFY_PATH;
pub use schedule::{
    DEFAULT_RETRY_SCHEDULE, NextAttempt, RetrySchedule, RetryScheduleError, parse_retry_after,
};
pub use tls::{CaFileError, read_ca_file};

/// How much longer than `notify-timeout` a stopping `serve` waits for its worker.
const STOP_MARGIN: Duration = Duration::from_secs(1);

/// The running worker of one `serve`.
pub(crate) struct Worker {
    stop: Arc<watch::Sender<bool>>,
    task: tokio::task::JoinHandle<()>,
    /// Where attempts run; shut down when the worker is dropped, after it stopped.
    _attempts: background::BackgroundRuntime,
}

impl Worker {
    /// Starts the worker on `state`'s store and settings.
    pub(crate) fn start(state: &AppState) -> std::io::Result<Worker> {
        let config = state.config();
        let tls = tls::client_config(&config.notify_ca_certificates)
            .map_err(|e| std::io::Error::other(format!("notification TLS set-up: {e}")))?;
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let attempts = background::BackgroundRuntime::start(threads)?;
        let client = client::DeliveryClient::new(
            tls,
            attempts.handle(),
            config.notify_allow_private_networks,
            config.notify_timeout,
        );
        let (stop, stopped) = watch::channel(false);
        let stop = Arc::new(stop);
        let task = tokio::spawn(worker::run(state.clone(), client, stopped));
        Ok(Worker {
            stop,
            task,
            _attempts: attempts,
        })
    }

    /// A way to tell the worker to stop leasing (from the shutdown signal), apart from
    /// waiting for it.
    pub(crate) fn stop_signal(&self) -> impl FnOnce() + Send + 'static {
        let stop = self.stop.clone();
        move || {
            let _ = stop.send(true);
        }
    }

    /// Tells the worker to stop leasing and waits for it to end: in-flight attempts finish
    /// within `notify-timeout` or are abandoned to their leases (another node retries them).
    pub(crate) async fn stop(self, notify_timeout: Duration) {
        let _ = self.stop.send(true);
        let mut task = self.task;
        let limit = notify_timeout + STOP_MARGIN;
        if tokio::time::timeout(limit, &mut task).await.is_err() {
            task.abort();
        }
    }
}
