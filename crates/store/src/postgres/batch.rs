//! Claims of concurrent requests, and the QRs they guard, committed together on PostgreSQL.
//!
//! A request alone costs PostgreSQL a statement and a commit; under load most of a node's
//! database time went there (BENCHMARKS.md: a transaction per request ran at 0.7-0.9x of
//! pgbench's own naive loop). As the SQLite writer does, a few batching tasks take every claim
//! waiting (up to [`MAX_BATCH`]) and write them, with their QRs, in one statement
//! (`CLAIM_BATCH`, arrays unnested): one round trip and one commit for all. Within one batch a
//! claim refused by the key or a QR refused by a constraint affects no other; an id claimed
//! twice in one batch is claimed once (the later ones are answered "already used"). When the
//! statement fails as a whole (an unknown merchant's foreign key), each request of the batch is
//! run alone, so one bad request never fails its neighbours.

use super::jobs;
use super::sql as q;
use crate::model::{ExternalIdKey, NewQr};
use crate::rows::to_ms;
use crate::work::{ClaimedWork, InsertQr, NoWork};
use crate::{Constraint, StoreError};
use snapqris_protocol::JakartaDate;
use sqlx::PgPool;
use std::collections::HashSet;
use std::sync::Arc;
use time::OffsetDateTime;
use tokio::sync::{Mutex, mpsc, oneshot};

/// Most claims written by one statement.
const MAX_BATCH: usize = 256;

/// Batching tasks: while one waits for its statement, the next batch gathers and goes.
const WORKERS: usize = 4;

/// Claims waiting for a batch; beyond this the caller is refused at once (CONTRACT §8).
const QUEUE_LIMIT: usize = 4096;

/// One request's claim, its QR if it stores one, and where its outcome goes.
struct Pending {
    claim: ExternalIdKey,
    now: OffsetDateTime,
    qr: Option<NewQr>,
    reply: oneshot::Sender<Result<ClaimedWork<()>, StoreError>>,
}

/// The handle claims are batched through.
#[derive(Debug, Clone)]
pub(crate) struct ClaimBatcher {
    queue: mpsc::Sender<Pending>,
}

impl ClaimBatcher {
    /// Starts the batching tasks on `pool`; they end when every handle is dropped.
    pub(crate) fn start(pool: PgPool) -> ClaimBatcher {
        let (queue, waiting) = mpsc::channel(QUEUE_LIMIT);
        let waiting = Arc::new(Mutex::new(waiting));
        for _ in 0..WORKERS {
            tokio::spawn(batch_forever(pool.clone(), waiting.clone()));
        }
        ClaimBatcher { queue }
    }

    /// Claims `claim` and, when the claim is new, stores `qr`, in the next batch; a refused QR
    /// leaves the claim standing.
    pub(crate) async fn claim(
        &self,
        claim: &ExternalIdKey,
        now: OffsetDateTime,
        qr: Option<NewQr>,
    ) -> Result<ClaimedWork<()>, StoreError> {
        let (reply, outcome) = oneshot::channel();
        let pending = Pending {
            claim: claim.clone(),
            now,
            qr,
            reply,
        };
        self.queue
            .try_send(pending)
            .map_err(|refused| match refused {
                mpsc::error::TrySendError::Full(_) => StoreError::Overloaded,
                mpsc::error::TrySendError::Closed(_) => {
                    StoreError::backend("the claim batcher has stopped".to_owned())
                }
            })?;
        outcome
            .await
            .map_err(|_| StoreError::backend("the claim batcher has stopped".to_owned()))?
    }
}

async fn batch_forever(pool: PgPool, waiting: Arc<Mutex<mpsc::Receiver<Pending>>>) {
    loop {
        let mut batch = Vec::new();
        {
            let mut waiting = waiting.lock().await;
            let Some(first) = waiting.recv().await else {
                return;
            };
            batch.push(first);
            while batch.len() < MAX_BATCH {
                match waiting.try_recv() {
                    Ok(pending) => batch.push(pending),
                    Err(_) => break,
                }
            }
        }
        // CONTRACT §8: work whose caller has gone is not done.
        batch.retain(|pending| !pending.reply.is_closed());
        if !batch.is_empty() {
            write_batch(&pool, batch).await;
        }
    }
}

/// Writes one batch and answers each of its requests.
async fn write_batch(pool: &PgPool, batch: Vec<Pending>) {
    // Within the batch an id is claimed by its first request only.
    let mut seen = HashSet::new();
    let (first, repeated): (Vec<Pending>, Vec<Pending>) = batch.into_iter().partition(|p| {
        seen.insert((
            p.claim.client_id.clone(),
            p.claim.day,
            p.claim.external_id.clone(),
        ))
    });
    for pending in repeated {
        let _ = pending.reply.send(Ok(ClaimedWork::AlreadyUsed));
    }
    match run_statement(pool, &first).await {
        Ok(outcomes) => {
            for (pending, outcome) in first.into_iter().zip(outcomes) {
                let _ = pending.reply.send(outcome);
            }
        }
        Err(_) => {
            // The statement failed as a whole: run each request alone, so that only the
            // request at fault fails.
            for pending in first {
                let outcome = alone(pool, &pending).await;
                let _ = pending.reply.send(outcome);
            }
        }
    }
}

/// One request on its own connection, as an unbatched store would run it.
async fn alone(pool: &PgPool, pending: &Pending) -> Result<ClaimedWork<()>, StoreError> {
    let mut conn = pool.acquire().await?;
    match &pending.qr {
        Some(qr) => {
            let job = InsertQr(qr.clone());
            jobs::insert_qr_alone(&mut conn, &pending.claim, pending.now, job).await
        }
        None => jobs::claim_alone(&mut conn, &pending.claim, pending.now, NoWork).await,
    }
}

/// The batch's statement; each request's outcome, in order.
async fn run_statement(
    pool: &PgPool,
    batch: &[Pending],
) -> Result<Vec<Result<ClaimedWork<()>, StoreError>>, StoreError> {
    let ords: Vec<i32> = (0..batch.len() as i32).collect();
    let claims = batch.iter().map(|p| &p.claim);
    let qrs: Vec<(i32, &NewQr)> = batch
        .iter()
        .enumerate()
        .filter_map(|(n, p)| p.qr.as_ref().map(|qr| (n as i32, qr)))
        .collect();
    let rows: Vec<(i32, bool, bool)> = sqlx::query_as(q::CLAIM_BATCH)
        .bind(&ords)
        .bind(
            claims
                .clone()
                .map(|c| c.client_id.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(claims.clone().map(|c| c.day.date()).collect::<Vec<_>>())
        .bind(claims.map(|c| c.external_id.as_str()).collect::<Vec<_>>())
        .bind(batch.iter().map(|p| to_ms(p.now)).collect::<Vec<_>>())
        .bind(qrs.iter().map(|(n, _)| *n).collect::<Vec<_>>())
        .bind(qrs.iter().map(|(_, qr)| qr.id_qr).collect::<Vec<_>>())
        .bind(
            qrs.iter()
                .map(|(_, qr)| qr.merchant_id.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            qrs.iter()
                .map(|(_, qr)| qr.client_id.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            qrs.iter()
                .map(|(_, qr)| qr.partner_reference_no.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            qrs.iter()
                .map(|(_, qr)| qr.kind.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(qrs.iter().map(|(_, qr)| qr.amount_sen).collect::<Vec<_>>())
        .bind(
            qrs.iter()
                .map(|(_, qr)| qr.terminal_id.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(
            qrs.iter()
                .map(|(_, qr)| to_ms(qr.generated_at))
                .collect::<Vec<_>>(),
        )
        .bind(
            qrs.iter()
                .map(|(_, qr)| JakartaDate::of_instant(qr.generated_at).date())
                .collect::<Vec<_>>(),
        )
        .bind(
            qrs.iter()
                .map(|(_, qr)| qr.expires_at.map(to_ms))
                .collect::<Vec<_>>(),
        )
        .bind(
            qrs.iter()
                .map(|(_, qr)| qr.qr_content.as_str())
                .collect::<Vec<_>>(),
        )
        .fetch_all(pool)
        .await?;
    let mut outcomes: Vec<Option<(bool, bool)>> = vec![None; batch.len()];
    for (ord, claimed, stored) in rows {
        if let Some(slot) = usize::try_from(ord).ok().and_then(|n| outcomes.get_mut(n)) {
            *slot = Some((claimed, stored));
        }
    }
    let mut answers = Vec::with_capacity(batch.len());
    for (pending, outcome) in batch.iter().zip(outcomes) {
        answers.push(match outcome {
            None => Err(StoreError::backend(
                "a claim missing from its batch".to_owned(),
            )),
            Some((false, _)) => Ok(ClaimedWork::AlreadyUsed),
            // The statement has committed: from here on a failure is this request's alone
            // (never `?`, which would run the whole batch again, claims included).
            Some((true, stored)) => match &pending.qr {
                Some(qr) if !stored => Ok(ClaimedWork::Claimed(
                    refused_qr(pool, qr)
                        .await
                        .and_then(|c| Err(StoreError::Conflict(c))),
                )),
                _ => Ok(ClaimedWork::Claimed(Ok(()))),
            },
        });
    }
    Ok(answers)
}

/// Which constraint refused a QR of the batch: its id, or its reference.
async fn refused_qr(pool: &PgPool, qr: &NewQr) -> Result<Constraint, StoreError> {
    let id_taken: bool = sqlx::query_scalar(q::QR_ID_TAKEN)
        .bind(qr.id_qr)
        .fetch_one(pool)
        .await?;
    Ok(if id_taken {
        Constraint::QrId
    } else {
        Constraint::PartnerReferenceNo
    })
}
