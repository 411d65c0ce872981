//! Request batching at EventBridge's exact limits, through the real `publish` step: entries
//! summing to exactly 256 KB go in one request, one byte more splits it, and never more than
//! 10 entries a request. The service is scripted (no network).

use std::sync::{Arc, Mutex};

use futures::FutureExt;
use futures::future::BoxFuture;
use lambda_stream::testing;
use lambda_stream::{Config, Envelope, Invocation, KinesisSource, Pipeline, StreamHandler};
use lambda_stream_aws::eventbridge::request::{MAX_REQUEST_BYTES, entry_size};
use lambda_stream_aws::eventbridge::service::{
    CallError, EntryOutcome, PutEventsApi, PutEventsRequest,
};
use lambda_stream_aws::{EventBridgeConfig, EventBridgePublisher};
use serde_json::json;

/// Accepts everything and records each request's entry count and total size.
#[derive(Default)]
struct Recording(Mutex<Vec<(usize, usize)>>);

impl PutEventsApi for Recording {
    fn put_events<'a>(
        &'a self,
        request: PutEventsRequest<'a>,
    ) -> BoxFuture<'a, Result<Vec<EntryOutcome>, CallError>> {
        let total: usize = request
            .entries
            .iter()
            .map(|e| entry_size(request.source, e))
            .sum();
        self.0
            .lock()
            .expect("lock")
            .push((request.entries.len(), total));
        let accepted = vec![EntryOutcome::Accepted; request.entries.len()];
        async move { Ok(accepted) }.boxed()
    }
}

/// An event whose published entry weighs exactly `size` bytes (with its standard tags).
fn event_weighing(n: usize, size: usize) -> Envelope {
    let make = |fill: usize| {
        Envelope::builder("thing-created")
            .id(format!("e{n}"))
            .timestamp(1)
            .partition_key("k")
            .entity("thing", &json!({"fill": "x".repeat(fill)}))
            .build()
            .expect("valid")
    };
    let probe = make(0);
    let base = published_size(&probe);
    make(size - base)
}

/// What the publish step will send for an event: its JSON with the `pipeline` tag.
fn published_size(event: &Envelope) -> usize {
    let mut tagged = event.clone();
    tagged.tags_mut().insert("pipeline", "p");
    "custom".len() + tagged.event_type().len() + tagged.to_json().len()
}

async fn requests_for(events: &[Envelope]) -> Vec<(usize, usize)> {
    let api = Arc::new(Recording::default());
    let publisher = Arc::new(EventBridgePublisher::with_api(
        api.clone(),
        EventBridgeConfig::new("bus"),
    ));
    let handler = StreamHandler::with_config(KinesisSource::new(), Config::default()).pipeline(
        Pipeline::new("p")
            .map(|uow| Ok(uow.event.as_ref().clone()))
            .publish(publisher, 1),
    );
    let report = handler
        .process(testing::kinesis_event(events), Invocation::local())
        .await;
    assert_eq!(report.summary.pipelines[0].delivered, events.len());
    api.0.lock().expect("lock").clone()
}

#[tokio::test]
async fn entries_summing_to_exactly_the_limit_share_a_request_and_one_byte_more_splits_it() {
    let half = MAX_REQUEST_BYTES / 2;
    let exact = vec![event_weighing(0, half), event_weighing(1, half)];
    assert_eq!(
        published_size(&exact[0]) + published_size(&exact[1]),
        MAX_REQUEST_BYTES
    );
    assert_eq!(requests_for(&exact).await, vec![(2, MAX_REQUEST_BYTES)]);

    let over = vec![event_weighing(0, half), event_weighing(1, half + 1)];
    assert_eq!(
        requests_for(&over).await,
        vec![(1, half), (1, half + 1)],
        "one byte over the limit goes in a second request"
    );
}

#[tokio::test]
async fn never_more_than_ten_entries_a_request() {
    let events: Vec<Envelope> = (0..25).map(|n| event_weighing(n, 1000)).collect();
    let counts: Vec<usize> = requests_for(&events)
        .await
        .iter()
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(counts, vec![10, 10, 5]);
}
