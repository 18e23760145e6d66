//! A deadline on writes that make no progress: a client that stops reading its answer (a big
//! Generate List day, say) is cut off after the limit instead of holding its connection and
//! the answer's buffers for ever (issue 13 item 5). Reads are left alone; the header read has
//! its own timeout in hyper.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// An I/O stream whose writes fail with `TimedOut` once one has waited `limit` for the peer.
pub(crate) struct StallDeadline<S> {
    inner: S,
    limit: Duration,
    /// Running while a write or flush is pending; cleared when one makes progress.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<S> StallDeadline<S> {
    /// Wraps `inner`: a write pending for longer than `limit` fails.
    pub(crate) fn new(inner: S, limit: Duration) -> Self {
        StallDeadline {
            inner,
            limit,
            stalled: None,
        }
    }

    /// Turns a pending write into an error once the deadline passes; progress resets it.
    fn watch<T>(
        &mut self,
        cx: &mut Context<'_>,
        outcome: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if outcome.is_ready() {
            self.stalled = None;
            return outcome;
        }
        let limit = self.limit;
        let deadline = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        ready!(deadline.as_mut().poll(cx));
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the client stopped reading its answer",
        )))
    }
}

use std::future::Future;

impl<S: AsyncRead + Unpin> AsyncRead for StallDeadline<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for StallDeadline<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let outcome = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.watch(cx, outcome)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let outcome = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.watch(cx, outcome)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let outcome = Pin::new(&mut self.inner).poll_flush(cx);
        self.watch(cx, outcome)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(start_paused = true)]
    async fn a_write_the_peer_never_reads_fails_after_the_limit() {
        let (ours, _theirs) = tokio::io::duplex(1024);
        let mut guarded = StallDeadline::new(ours, Duration::from_secs(10));
        let started = tokio::time::Instant::now();
        let error = guarded.write_all(&[0; 4096]).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_but_steady_reader_is_served_whole() {
        let (ours, mut theirs) = tokio::io::duplex(1024);
        let mut guarded = StallDeadline::new(ours, Duration::from_secs(10));
        let reader = tokio::spawn(async move {
            let mut received = 0;
            let mut chunk = [0; 512];
            while received < 8192 {
                // Slower than the buffer fills, but never stalled for the whole limit.
                tokio::time::sleep(Duration::from_secs(5)).await;
                received += theirs.read(&mut chunk).await.unwrap();
            }
            received
        });
        guarded.write_all(&[1; 8192]).await.unwrap();
        assert_eq!(reader.await.unwrap(), 8192);
    }
}
