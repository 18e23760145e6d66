//! The runtime attempts run on: threads of their own at the idle scheduling policy.
//!
//! Every attempt costs one RSA-2048 signature (about a millisecond of a core, far more than a
//! payment costs the API), a TCP connection and an HTTP exchange. Run on the API's runtime, a
//! busy node's deliveries would take the CPU from the requests that make the payments (and
//! their latency with it). On threads that the kernel runs only when no other thread wants the
//! CPU (Linux `SCHED_IDLE`), deliveries use what the API leaves and catch up when load falls;
//! they wait in the table meanwhile, and the worker bounds how many are in flight. Store calls
//! stay on the API's runtime: nothing registered with this runtime is shared with it. Where
//! the policy cannot be set, the threads run at normal priority (and say so in the log).

use std::sync::atomic::{AtomicBool, Ordering};
use tokio::runtime::{Handle, Runtime};

/// A runtime for attempts, shut down (without waiting for its tasks) when dropped.
pub(crate) struct BackgroundRuntime(Option<Runtime>);

impl BackgroundRuntime {
    /// Starts `threads` worker threads (at least one) at the idle policy.
    pub(crate) fn start(threads: usize) -> std::io::Result<BackgroundRuntime> {
        let warned = std::sync::Arc::new(AtomicBool::new(false));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("snapqris-notify")
            .enable_all()
            .on_thread_start(move || lower_priority(&warned))
            .build()?;
        Ok(BackgroundRuntime(Some(runtime)))
    }

    /// Where to spawn attempts.
    pub(crate) fn handle(&self) -> Handle {
        self.0
            .as_ref()
            .expect("the runtime is only taken when dropped")
            .handle()
            .clone()
    }
}

impl Drop for BackgroundRuntime {
    fn drop(&mut self) {
        // Dropped from async code (a stopping `serve`): a plain drop would block there.
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// Puts the calling thread on the idle policy (lowest priority elsewhere).
fn lower_priority(warned: &AtomicBool) {
    use thread_priority::{
        NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy,
        set_thread_priority_and_policy, thread_native_id,
    };
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let policy = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let policy = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other);
    let lowered = set_thread_priority_and_policy(thread_native_id(), ThreadPriority::Min, policy);
    if let Err(error) = lowered
        && !warned.swap(true, Ordering::Relaxed)
    {
        tracing::warn!(
            error = ?error,
            "notification attempts run at normal priority: deliveries compete with requests for CPU"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn attempts_run_on_threads_of_their_own() {
        let background = BackgroundRuntime::start(1).unwrap();
        let name = background
            .handle()
            .spawn(async { std::thread::current().name().map(str::to_owned) })
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("snapqris-notify"));
        // Dropped here, inside a runtime: shut down without blocking.
    }
}
