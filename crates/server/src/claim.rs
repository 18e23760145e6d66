//! The `X-EXTERNAL-ID` claim of a transaction request (CONTRACT §4.2).
//!
//! Once a request's token and signature verify, its id is used up for the partner's day,
//! whatever follows. Most services claim it straight away (in the pipeline); the hot ones claim
//! it together with their own work — the QR insert, the list's first page — in one trip to the
//! store, having checked the body first. Either way the observable order is the same: a reused
//! id answers `409xx00` before any body error, and a body error still uses up the id.

use crate::error::ApiError;
use crate::state::AppState;
use snapqris_store::{Claim, ClaimedWork, ExternalIdKey, StoreError};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use time::OffsetDateTime;

/// The right (and duty) to claim one request's `X-EXTERNAL-ID`.
#[derive(Debug, Clone)]
pub(crate) struct ClaimTicket {
    key: ExternalIdKey,
    at: OffsetDateTime,
    /// Set once this request holds the claim, so a server failure can give it back.
    taken: Arc<AtomicBool>,
}

impl ClaimTicket {
    /// A ticket for `key`, claimed at `at` (the request's arrival).
    pub(crate) fn new(key: ExternalIdKey, at: OffsetDateTime) -> Self {
        ClaimTicket {
            key,
            at,
            taken: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The partner, day and id claimed.
    pub(crate) fn key(&self) -> &ExternalIdKey {
        &self.key
    }

    /// When the claim is made (the request's arrival).
    pub(crate) fn at(&self) -> OffsetDateTime {
        self.at
    }

    /// Whether this request is known to hold the claim. A request that times out while its
    /// claim is on the way to the store does not know, and gives nothing back: releasing could
    /// delete another request's claim of the same id, and the claim (with its work) may still
    /// commit, which a resend then meets as `409xx00`.
    pub(crate) fn taken(&self) -> bool {
        self.taken.load(Ordering::Acquire)
    }

    /// Notes a claim's outcome: counted, remembered, and `409xx00` when the id was used.
    fn record(&self, claim: Claim) -> Result<(), ApiError> {
        match claim {
            Claim::Claimed => {
                crate::metrics::record_claim("claimed");
                self.taken.store(true, Ordering::Release);
                Ok(())
            }
            Claim::AlreadyUsed => {
                crate::metrics::record_claim("reused");
                Err(ApiError::ExternalIdReused)
            }
        }
    }

    /// Claims the id on its own.
    pub(crate) async fn claim(&self, state: &AppState) -> Result<(), ApiError> {
        let claim = state
            .inner
            .store
            .claim_external_id(&self.key, self.at)
            .await?;
        self.record(claim)
    }

    /// Passes the outcome of the checks a handler makes before claiming. A refused request
    /// still uses up its id: it is claimed, then the refusal answered (or `409xx00` if the id
    /// was used already). A server failure claims nothing: the claim would be given back at
    /// once.
    pub(crate) async fn unless_refused<T>(
        &self,
        state: &AppState,
        checked: Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let refusal = match checked {
            Ok(value) => return Ok(value),
            Err(refusal) if refusal.is_server_error() => return Err(refusal),
            Err(refusal) => refusal,
        };
        self.claim(state).await?;
        Err(refusal)
    }

    /// The outcome of a claim made together with the request's work: `409xx00` when the id was
    /// used, else the work's own outcome.
    pub(crate) fn settle<T>(
        &self,
        outcome: ClaimedWork<T>,
    ) -> Result<Result<T, StoreError>, ApiError> {
        match outcome {
            ClaimedWork::AlreadyUsed => self
                .record(Claim::AlreadyUsed)
                .and_then(|()| Err(ApiError::ExternalIdReused)),
            ClaimedWork::Claimed(work) => {
                self.record(Claim::Claimed)?;
                Ok(work)
            }
        }
    }
}
