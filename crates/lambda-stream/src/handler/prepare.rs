//! The handler's decode, after the source has read a record: the stages that make a Node
//! event the plain event its steps expect, in the order Node's readers run them.
//!
//! | order | stage | module | when |
//! |---|---|---|---|
//! | 1 | decompress `COMPRESSED` values | [`crate::compression`] | while the record is read (`decode`), for every source that carries JSON |
//! | 2 | redeem a claim check, decompressing the stored event | [`crate::claimcheck`] | the event has `s3: {bucket, key}` |
//! | 3 | decrypt the fields `eem` names | [`crate::encryption`] | the event has an `eem` naming fields |
//!
//! Stages 2 and 3 are async (S3, KMS); they run once per record, whichever pipeline reaches it
//! first, up to [`CONCURRENCY`] records at a time in each pipeline, and keep the order. A unit
//! whose event needs neither passes straight through, so a batch of plain events costs a
//! look at two fields per unit. An event that needs a stage the handler was given no store
//! for (a stub without a [`Redeemer`], an `eem` without a [`Keyring`]) fails: neither a stub
//! nor ciphertext ever reaches a step.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::FutureExt;
use futures::future::BoxFuture;
use futures::stream::{FuturesOrdered, Stream, StreamExt};
use tokio::sync::OnceCell;

use crate::claimcheck::{self, Redeemer};
use crate::encryption::{self, Keyring};
use crate::envelope::Envelope;
use crate::error::StepError;
use crate::pipeline::{Flow, Item, Settled, guarded_async};

/// How many records a pipeline prepares at a time.
pub(super) const CONCURRENCY: usize = 16;

/// The stores the handler reads the Node library's events with: claim checks (stage 2) and
/// data keys (stage 3). A function gets both from its environment
/// (`lambda_stream_aws::event_readers_from_env`), a test or the local hub in memory.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct EventReaders {
    /// Where claim-checked events are fetched from.
    pub claim_checks: Option<Arc<dyn Redeemer>>,
    /// The data keys of encrypted events.
    pub keyring: Option<Arc<Keyring>>,
}

impl EventReaders {
    /// Readers of claim checks and encrypted events.
    pub fn new(claim_checks: Arc<dyn Redeemer>, keyring: Arc<Keyring>) -> Self {
        Self {
            claim_checks: Some(claim_checks),
            keyring: Some(keyring),
        }
    }
}

impl std::fmt::Debug for EventReaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventReaders")
            .field("claim_checks", &self.claim_checks.is_some())
            .field("keyring", &self.keyring)
            .finish()
    }
}

/// One batch's prepared events, each made once for every pipeline.
pub(super) struct Prepared {
    readers: EventReaders,
    cells: Vec<OnceCell<Result<Arc<Envelope>, Arc<StepError>>>>,
}

/// True when the event needs stage 2 or 3.
fn needs_preparing(event: &Envelope) -> bool {
    event.s3().is_some() || encryption::is_encrypted(event)
}

impl Prepared {
    pub(super) fn new(readers: EventReaders, records: usize) -> Arc<Self> {
        Arc::new(Self {
            readers,
            cells: (0..records).map(|_| OnceCell::new()).collect(),
        })
    }

    async fn prepare(
        &self,
        position: usize,
        event: &Arc<Envelope>,
    ) -> Result<Arc<Envelope>, StepError> {
        let make = || async {
            let event = Arc::clone(event);
            let event = match event.s3() {
                None => event,
                Some(pointer) => {
                    let Some(redeemer) = &self.readers.claim_checks else {
                        return Err(Arc::new(
                            StepError::permanent(format!(
                                "the event is a claim check (s3://{}/{}) and the handler has no claim-check store to redeem it (StreamHandler::redeem_claim_checks)",
                                pointer.bucket, pointer.key
                            ))
                            .with_name("InvalidClaimCheck")
                            .in_step("redeem"),
                        ));
                    };
                    guarded_async("redeem", || claimcheck::redeem(redeemer.as_ref(), &event))
                        .await
                        .map(Arc::new)
                        .map_err(Arc::new)?
                }
            };
            if !encryption::is_encrypted(&event) {
                return Ok(event);
            }
            let Some(keyring) = &self.readers.keyring else {
                return Err(Arc::new(
                    StepError::permanent(format!(
                        "the event is encrypted (its `eem` names {:?}) and the handler has no keyring to decrypt it (StreamHandler::decrypt_with)",
                        event.encrypted_fields()
                    ))
                    .with_name("DecryptionError")
                    .in_step("decrypt"),
                ));
            };
            match guarded_async("decrypt", || encryption::decrypt_event(&event, keyring)).await {
                Ok(Some(plain)) => Ok(Arc::new(plain)),
                Ok(None) => Ok(event),
                Err(error) => Err(Arc::new(error)),
            }
        };
        let result = match self.cells.get(position) {
            Some(cell) => cell.get_or_init(make).await.clone(),
            None => make().await,
        };
        result.map_err(|error| {
            let mut copy = StepError::new(error.message().to_string())
                .with_name(error.name().to_string())
                .with_class(error.class());
            if let Some(step) = error.step() {
                copy = copy.in_step(step);
            }
            copy
        })
    }
}

/// The pipeline's units with their events prepared, in order.
pub(super) fn prepare_units(units: Flow<()>, prepared: Arc<Prepared>) -> Flow<()> {
    PrepareUnits {
        units,
        prepared,
        in_flight: FuturesOrdered::new(),
        units_done: false,
    }
    .boxed()
}

/// `units`, with the units that need a stage run [`CONCURRENCY`] at a time and the rest passed
/// straight on (behind any that are still being prepared, to keep the order).
struct PrepareUnits {
    units: Flow<()>,
    prepared: Arc<Prepared>,
    in_flight: FuturesOrdered<BoxFuture<'static, Item<()>>>,
    units_done: bool,
}

impl PrepareUnits {
    fn start(&self, item: Item<()>) -> BoxFuture<'static, Item<()>> {
        let prepared = Arc::clone(&self.prepared);
        async move {
            let mut uow = item?;
            match prepared.prepare(uow.position as usize, &uow.event).await {
                Ok(event) => {
                    uow.event = event;
                    Ok(uow)
                }
                Err(error) => Err(Settled::failed(uow.members, error)),
            }
        }
        .boxed()
    }
}

impl Stream for PrepareUnits {
    type Item = Item<()>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Item<()>>> {
        let this = self.get_mut();
        // Units that need nothing go on at once while nothing is in flight before them;
        // otherwise they queue behind it (as ready futures, so the order is kept).
        while !this.units_done && this.in_flight.len() < CONCURRENCY {
            match this.units.poll_next_unpin(cx) {
                Poll::Ready(Some(item)) => {
                    let needs = matches!(&item, Ok(uow) if needs_preparing(&uow.event));
                    if !needs && this.in_flight.is_empty() {
                        return Poll::Ready(Some(item));
                    }
                    if needs {
                        let future = this.start(item);
                        this.in_flight.push_back(future);
                    } else {
                        this.in_flight
                            .push_back(futures::future::ready(item).boxed());
                    }
                }
                Poll::Ready(None) => this.units_done = true,
                Poll::Pending => break,
            }
        }
        match this.in_flight.poll_next_unpin(cx) {
            Poll::Ready(Some(item)) => Poll::Ready(Some(item)),
            Poll::Ready(None) if this.units_done => Poll::Ready(None),
            Poll::Ready(None) | Poll::Pending => Poll::Pending,
        }
    }
}
