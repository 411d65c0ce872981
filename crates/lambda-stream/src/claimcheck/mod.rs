//! Claim checks: an event too large for its channel travels as a small envelope with an
//! `s3: {bucket, key}` pointer (the Node library's stub: `id`, `type`, `partitionKey`,
//! `timestamp`, `tags` and `s3`).
//!
//! - Publishing: [`ClaimCheckPublisher`] wraps any publisher and stores the events too large
//!   for it in a [`ClaimCheckStore`], sending the stub in their place.
//! - Consuming: the handler swaps in the stored event before the pipelines see it, as Node's
//!   `fromKinesis` and `fromSqsEvent` do
//!   ([`StreamHandler::redeem_claim_checks`](crate::StreamHandler::redeem_claim_checks)). The
//!   store is a [`Redeemer`] (S3 in `lambda-stream-aws`, which reads from whatever bucket the
//!   stub names).
//!
//! The stored event is read like any record: compressed values are decompressed, and an
//! `eem` is decrypted after. A stub whose object is missing or unreadable, that holds no
//! event, or whose event has another `id` or `type` than the stub is a fault naming the
//! bucket and key; an unavailable store is a retry.

mod publisher;

use futures::future::BoxFuture;

pub use publisher::{ClaimCheckPublisher, ClaimCheckStore, object_key, stub_for};

use crate::envelope::{Envelope, S3Pointer};
use crate::error::StepError;

/// Fetches the events that claim checks point at.
pub trait Redeemer: Send + Sync + 'static {
    /// The stored event's JSON. A missing object is a permanent error; an unavailable store a
    /// retryable one.
    fn fetch<'a>(&'a self, pointer: &'a S3Pointer) -> BoxFuture<'a, Result<Vec<u8>, StepError>>;
}

fn invalid(pointer: &S3Pointer, what: impl std::fmt::Display) -> StepError {
    StepError::permanent(format!(
        "the claim check s3://{}/{} {what}",
        pointer.bucket, pointer.key
    ))
    .with_name("InvalidClaimCheck")
}

/// The event `stub` points at, fetched, decompressed and checked against the stub.
pub(crate) async fn redeem(
    redeemer: &dyn Redeemer,
    stub: &Envelope,
) -> Result<Envelope, StepError> {
    let Some(pointer) = stub.s3() else {
        return Ok(stub.clone());
    };
    let bytes = redeemer.fetch(pointer).await.map_err(|error| {
        let message = format!(
            "the claim check s3://{}/{} could not be read: {}",
            pointer.bucket,
            pointer.key,
            error.message()
        );
        StepError::new(message)
            .with_name(error.name().to_string())
            .with_class(error.class())
    })?;
    let text = String::from_utf8(bytes).map_err(|_| invalid(pointer, "is not UTF-8 text"))?;
    let text = match crate::compression::decompress(&text) {
        Ok(Some(plain)) => plain,
        Ok(None) => text,
        Err(error) => return Err(invalid(pointer, format_args!("holds a bad value: {error}"))),
    };
    let event = Envelope::parse(text).map_err(|e| {
        invalid(
            pointer,
            format_args!("does not hold an event envelope: {e}"),
        )
    })?;
    if event.id() != stub.id() || event.event_type() != stub.event_type() {
        return Err(invalid(
            pointer,
            format_args!(
                "holds another event ({} `{}`) than the stub says ({} `{}`)",
                event.event_type(),
                event.id(),
                stub.event_type(),
                stub.id()
            ),
        ));
    }
    if event.s3().is_some() {
        return Err(invalid(pointer, "holds another claim check, not an event"));
    }
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::InMemoryClaimChecks;

    fn stub(id: &str, event_type: &str) -> Envelope {
        Envelope::builder(event_type)
            .id(id)
            .timestamp(1)
            .s3(S3Pointer {
                bucket: "claims".into(),
                key: "k".into(),
            })
            .build()
            .expect("valid")
    }

    #[tokio::test]
    async fn a_stub_becomes_its_stored_event_decompressed() {
        let store = InMemoryClaimChecks::new();
        let stored = serde_json::json!({"id": "e1", "type": "menu-updated", "timestamp": 1, "menu": {"items": [1, 2]}}).to_string();
        let compressed = crate::compression::Compression::threshold(5)
            .compress(&stored)
            .expect("json")
            .expect("compressed");
        store.put("claims", "k", compressed);
        let event = redeem(&store, &stub("e1", "menu-updated"))
            .await
            .expect("ok");
        assert_eq!(event.field_json("menu"), Some(r#"{"items":[1,2]}"#));
    }

    #[tokio::test]
    async fn a_bad_claim_check_is_a_fault_naming_bucket_and_key() {
        let store = InMemoryClaimChecks::new();
        let missing = redeem(&store, &stub("e1", "t")).await.expect_err("missing");
        assert!(missing.message().contains("s3://claims/k"), "{missing}");
        assert_eq!(missing.class(), crate::ErrorClass::Permanent);
        for (bytes, says) in [
            (
                br#"{"id":"e2","type":"t","timestamp":1}"#.to_vec(),
                "another event",
            ),
            (
                br#"{"id":"e1","type":"u","timestamp":1}"#.to_vec(),
                "another event",
            ),
            (b"not json".to_vec(), "does not hold an event"),
            (vec![0xff, 0xfe], "not UTF-8"),
            (
                br#"{"id":"e1","type":"t","timestamp":1,"a":"COMPRESSEDxx"}"#.to_vec(),
                "bad value",
            ),
            (
                br#"{"id":"e1","type":"t","timestamp":1,"s3":{"bucket":"b","key":"k2"}}"#.to_vec(),
                "another claim check",
            ),
        ] {
            store.put("claims", "k", bytes);
            let error = redeem(&store, &stub("e1", "t")).await.expect_err("bad");
            assert!(error.message().contains("s3://claims/k"), "{error}");
            assert!(error.message().contains(says), "{error}");
            assert_eq!(error.name(), "InvalidClaimCheck");
        }
    }
}
