//! Times the workload pipeline cut at each step, to see what each step costs:
//! `cargo run --release -p lambda-stream-bench --example stages`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lambda_stream::{
    Config, Envelope, Invocation, KinesisSource, Pipeline, StepError, StreamHandler,
};
use lambda_stream_bench::{CountingPublisher, ExternalThing, RECORDS, Thing, kinesis_event_json};

fn time_pipeline<T: Send + 'static>(label: &str, pipeline: Pipeline<T>, json: &[u8]) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let handler =
        StreamHandler::with_config(KinesisSource::new(), Config::default()).pipeline(pipeline);
    let mut best = Duration::MAX;
    for _ in 0..9 {
        let event = serde_json::from_slice(json).unwrap_or_default();
        let start = Instant::now();
        let report = runtime.block_on(handler.process(event, Invocation::local()));
        best = best.min(start.elapsed());
        drop(report);
    }
    println!("{label:<40} {:>8.2} ms", best.as_secs_f64() * 1e3);
}

fn mapped() -> Pipeline<Envelope> {
    Pipeline::new("p").on_type("thing-*").map(|uow| {
        let thing: Thing<'_> = uow.event.entity_ref()?;
        Envelope::builder("thing-shared")
            .id(uow.event.id().to_string())
            .timestamp(uow.event.timestamp())
            .partition_key(uow.partition_key())
            .entity("thing", &ExternalThing::from(&thing))
            .build()
            .map_err(StepError::from)
    })
}

fn main() {
    let json = kinesis_event_json(RECORDS);
    time_pipeline("decode only (empty pipeline)", Pipeline::new("p"), &json);
    time_pipeline("+ filter", Pipeline::new("p").on_type("thing-*"), &json);
    time_pipeline("+ map (entity_ref + build)", mapped(), &json);
    time_pipeline(
        "+ publish",
        mapped().publish(Arc::new(CountingPublisher::default()), 4),
        &json,
    );
}
