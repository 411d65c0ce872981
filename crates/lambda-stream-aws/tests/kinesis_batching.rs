//! Request batching at Kinesis's exact limits, through the real `send` step: five records of
//! exactly 1 MiB (data plus key) fill one 5 MiB request, a sixth goes in the next, and never
//! more than 500 records a request. The service is scripted (no network).

use std::sync::{Arc, Mutex};

use futures::FutureExt;
use futures::future::BoxFuture;
use lambda_stream::testing;
use lambda_stream::{
    Config, Envelope, Invocation, KinesisSource, Pipeline, PublishEntry, StreamHandler,
};
use lambda_stream_aws::kinesis::request::{
    MAX_RECORD_BYTES, MAX_RECORDS, MAX_REQUEST_BYTES, entry_size,
};
use lambda_stream_aws::kinesis::service::{
    CallError, EntryOutcome, PutRecordsApi, PutRecordsRequest,
};
use lambda_stream_aws::{KinesisConfig, KinesisPublisher};
use serde_json::json;

#[derive(Default)]
struct Recording(Mutex<Vec<(usize, usize)>>);

impl PutRecordsApi for Recording {
    fn put_records<'a>(
        &'a self,
        request: PutRecordsRequest<'a>,
    ) -> BoxFuture<'a, Result<Vec<EntryOutcome>, CallError>> {
        let total: usize = request.entries.iter().map(|e| entry_size(e)).sum();
        self.0
            .lock()
            .expect("lock")
            .push((request.entries.len(), total));
        let accepted = vec![EntryOutcome::Accepted; request.entries.len()];
        async move { Ok(accepted) }.boxed()
    }
}

async fn requests_for(count: usize, record_bytes: usize) -> Vec<(usize, usize)> {
    let api = Arc::new(Recording::default());
    let publisher = Arc::new(KinesisPublisher::with_api(
        api.clone(),
        KinesisConfig::new("s"),
    ));
    let handler = StreamHandler::with_config(KinesisSource::new(), Config::default()).pipeline(
        Pipeline::new("p")
            .map(move |uow| {
                let key = format!("key-{:04}", uow.event.id().trim_start_matches('e'));
                Ok(
                    PublishEntry::message("t", "x".repeat(record_bytes - key.len()))
                        .with_partition_key(key),
                )
            })
            .send(publisher, 1),
    );
    let events: Vec<Envelope> = (0..count)
        .map(|n| {
            Envelope::builder("t")
                .id(format!("e{n:04}"))
                .timestamp(1)
                .entity("t", &json!({}))
                .build()
                .expect("valid")
        })
        .collect();
    let report = handler
        .process(testing::kinesis_event(&events), Invocation::local())
        .await;
    assert_eq!(report.summary.pipelines[0].delivered, count);
    api.0.lock().expect("lock").clone()
}

#[tokio::test]
async fn five_records_of_one_mib_fill_a_request_exactly_and_a_sixth_starts_the_next() {
    assert_eq!(MAX_REQUEST_BYTES, 5 * MAX_RECORD_BYTES);
    assert_eq!(
        requests_for(6, MAX_RECORD_BYTES).await,
        vec![(5, MAX_REQUEST_BYTES), (1, MAX_RECORD_BYTES)]
    );
}

#[tokio::test]
async fn never_more_than_five_hundred_records_a_request() {
    let counts: Vec<usize> = requests_for(1001, 100)
        .await
        .iter()
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(counts, vec![MAX_RECORDS, MAX_RECORDS, 1]);
}
