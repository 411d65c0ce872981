//! Claim checks on the publishing side: [`ClaimCheckPublisher`] wraps any publisher; an event
//! too large for it is stored in a [`ClaimCheckStore`] (S3 in `lambda-stream-aws`, memory in
//! tests and the local hub) and published as the Node library's stub, the event's `id`,
//! `type`, `timestamp`, `partitionKey` and `tags` with `s3: {bucket, key}`. Everything else
//! passes through untouched.

use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;

use super::Redeemer;
use crate::envelope::{Envelope, S3Pointer};
use crate::error::StepError;
use crate::publisher::{PublishEntry, Publisher};
use crate::step::batch::BatchLimits;

/// Where claim-checked events are kept: stored by the publishing side, fetched by the
/// consuming side ([`Redeemer`]).
pub trait ClaimCheckStore: Redeemer {
    /// Where `event` is stored (its bucket, and a key made with [`object_key`]).
    fn pointer_for(&self, event: &Envelope) -> S3Pointer;

    /// Stores `json` (the event as it would have been published) at `pointer`.
    fn store<'a>(
        &'a self,
        pointer: &'a S3Pointer,
        json: &'a str,
    ) -> BoxFuture<'a, Result<(), StepError>>;
}

/// The object key of an event: `<prefix><type>/<id>.json`, each part with anything but
/// letters, digits, `-`, `_` and `.` replaced by `_`.
pub fn object_key(prefix: &str, event: &Envelope) -> String {
    let safe = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!(
        "{prefix}{}/{}.json",
        safe(event.event_type()),
        safe(event.id())
    )
}

/// The stub that travels in place of `event`, stored at `pointer`: Node's shape (the header,
/// no entity, `raw` or `eem`).
pub fn stub_for(event: &Envelope, pointer: S3Pointer) -> Envelope {
    let mut small = event.clone();
    for name in event
        .fields()
        .map(|(n, _)| n.to_string())
        .collect::<Vec<_>>()
    {
        small.remove_field(&name);
    }
    small.remove_raw();
    small.remove_eem();
    small.set_s3(Some(pointer));
    small
}

/// The entry for a stub, keeping the original entry's type and key.
fn stub_entry(original: &PublishEntry, stub: &Envelope) -> PublishEntry {
    let mut entry = PublishEntry::message(original.event_type(), stub.to_json());
    if let Some(id) = original.id() {
        entry = entry.with_id(id);
    }
    if let Some(key) = original.partition_key() {
        entry = entry.with_partition_key(key);
    }
    entry
}

/// A publisher that claim-checks the events too large for the publisher it wraps.
#[derive(Clone)]
pub struct ClaimCheckPublisher {
    inner: Arc<dyn Publisher>,
    store: Arc<dyn ClaimCheckStore>,
}

impl std::fmt::Debug for ClaimCheckPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaimCheckPublisher")
            .finish_non_exhaustive()
    }
}

impl ClaimCheckPublisher {
    /// Wraps `inner`, storing oversized events in `store`.
    pub fn new(inner: Arc<dyn Publisher>, store: Arc<dyn ClaimCheckStore>) -> Self {
        Self { inner, store }
    }

    fn too_large(&self, entry: &PublishEntry) -> bool {
        self.inner.entry_size(entry) > self.inner.limits().max_bytes
    }

    /// The event and the stub that would travel for an oversized entry (`None` when the
    /// entry is not an envelope, and so cannot be claim-checked).
    fn stub(&self, entry: &PublishEntry) -> Option<(Envelope, Envelope)> {
        let event = Envelope::from_slice(entry.json().as_bytes()).ok()?;
        let stub = stub_for(&event, self.store.pointer_for(&event));
        Some((event, stub))
    }
}

impl Publisher for ClaimCheckPublisher {
    fn limits(&self) -> BatchLimits {
        self.inner.limits()
    }

    fn entry_size(&self, entry: &PublishEntry) -> usize {
        if !self.too_large(entry) {
            return self.inner.entry_size(entry);
        }
        // What will travel is the stub; parsing here is fine, oversized events are rare.
        match self.stub(entry) {
            Some((_, stub)) => self.inner.entry_size(&stub_entry(entry, &stub)),
            None => self.inner.entry_size(entry),
        }
    }

    fn publish<'a>(
        &'a self,
        entries: &'a [PublishEntry],
    ) -> BoxFuture<'a, Vec<Result<(), StepError>>> {
        async move {
            let mut results: Vec<Option<Result<(), StepError>>> =
                entries.iter().map(|_| None).collect();
            let mut outgoing: Vec<(usize, PublishEntry)> = Vec::with_capacity(entries.len());
            for (i, entry) in entries.iter().enumerate() {
                if !self.too_large(entry) {
                    outgoing.push((i, entry.clone()));
                    continue;
                }
                let Some((_, stub)) = self.stub(entry) else {
                    // Not an envelope: the wrapped publisher reports the size.
                    outgoing.push((i, entry.clone()));
                    continue;
                };
                let Some(pointer) = stub.s3() else {
                    continue; // a stub always has its pointer
                };
                match self.store.store(pointer, entry.json()).await {
                    Ok(()) => outgoing.push((i, stub_entry(entry, &stub))),
                    Err(error) => results[i] = Some(Err(error)),
                }
            }
            let (positions, batch): (Vec<usize>, Vec<PublishEntry>) = outgoing.into_iter().unzip();
            let sent = self.inner.publish(&batch).await;
            for (i, result) in positions.into_iter().zip(sent) {
                results[i] = Some(result);
            }
            results
                .into_iter()
                .map(|r| r.unwrap_or_else(|| Err(StepError::new("no result was recorded"))))
                .collect()
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stub_keeps_the_header_and_drops_the_payload() {
        let event = Envelope::builder("thing-created")
            .id("e/1")
            .timestamp(5)
            .partition_key("t1")
            .tag("source", "svc")
            .entity("thing", &serde_json::json!({"blob": "x".repeat(1000)}))
            .raw(&serde_json::json!({"new": {}}))
            .build()
            .expect("valid");
        assert_eq!(
            object_key("claims/", &event),
            "claims/thing-created/e_1.json"
        );
        let small = stub_for(
            &event,
            S3Pointer {
                bucket: "b".into(),
                key: "k".into(),
            },
        );
        assert_eq!(
            small.to_json(),
            r#"{"id":"e/1","type":"thing-created","timestamp":5,"partitionKey":"t1","tags":{"source":"svc"},"s3":{"bucket":"b","key":"k"}}"#
        );
    }
}
