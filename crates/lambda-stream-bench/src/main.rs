//! Prints the egress workload's throughput and peak memory beside the codec floor, measured
//! side by side in one run on one core. Run with
//! `cargo run --release -p lambda-stream-bench` (add `--features mimalloc` to measure under
//! mimalloc instead of the system allocator; its options come from `MIMALLOC_*` variables).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lambda_stream::RecordsEvent;
use lambda_stream_bench::{
    CountingPublisher, RECORDS, RawRecordsEvent, base64_records, floor_base64_typed, floor_typed,
    floor_value, handler, kinesis_event, kinesis_event_json, process, run_pipeline,
    typed_kinesis_event,
};

// Allocation and freeing are a third of the pipeline's time, so the allocator is a choice
// worth measuring; a function picks it the same way, in its `main.rs`.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ALLOCATOR_NAME: &str = if cfg!(feature = "mimalloc") {
    "mimalloc"
} else {
    "the system allocator"
};

const ROUNDS: usize = 15;

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn time(run: impl FnOnce()) -> Duration {
    let start = Instant::now();
    run();
    start.elapsed()
}

fn per_second(records: usize, time: Duration) -> f64 {
    records as f64 / time.as_secs_f64()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let base_rss = rss_kib("VmRSS:");

    // Peak memory first, in a process that has done nothing else yet: build the batch as
    // the runtime hands it over, run it once.
    let publisher = Arc::new(CountingPublisher::default());
    let handler = handler(Arc::clone(&publisher));
    let event = kinesis_event(RECORDS);
    // Building the event (JSON text, then parsing it, as the runtime does) has its own peak;
    // reset the high-water mark so the peak below is the batch's processing, input included.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let input_rss = rss_kib("VmRSS:");
    let delivered = runtime.block_on(run_pipeline(&handler, event));
    let peak_rss = rss_kib("VmHWM:");
    assert_eq!(
        delivered,
        RECORDS * 3 / 4,
        "3 of 4 records are thing-* events"
    );

    // The measurements take turns, round after round, so a noisy neighbour slows them alike;
    // each figure is the best of its rounds.
    let json = kinesis_event_json(RECORDS);
    let event = typed_kinesis_event(RECORDS);
    let encoded = base64_records(&event);
    let envelopes: Vec<lambda_stream::Envelope> =
        (0..RECORDS).map(lambda_stream_bench::envelope).collect();
    let mut best = [Duration::MAX; 11];
    for _ in 0..ROUNDS {
        let fresh: RecordsEvent = serde_json::from_slice(&json).unwrap_or_default();
        let mut report = None;
        let timings = [
            time(|| {
                report = Some(black_box(runtime.block_on(process(&handler, fresh))));
            }),
            time(|| drop(report.take())),
            time(|| {
                let event: RecordsEvent = serde_json::from_slice(&json).unwrap_or_default();
                black_box(runtime.block_on(run_pipeline(&handler, event)));
            }),
            time(|| {
                black_box(serde_json::from_slice::<RecordsEvent>(&json).unwrap_or_default());
            }),
            time(|| {
                black_box(floor_typed(black_box(&event)));
            }),
            time(|| {
                black_box(floor_base64_typed(black_box(&encoded)));
            }),
            time(|| {
                black_box(floor_value(black_box(&event)));
            }),
            time(|| {
                black_box(serde_json::from_slice::<RawRecordsEvent>(&json).ok());
            }),
            {
                let raw: Option<RawRecordsEvent> = serde_json::from_slice(&json).ok();
                time(|| drop(black_box(raw)))
            },
            time(|| {
                black_box(lambda_stream_bench::build_put_events(black_box(&envelopes)));
            }),
            time(|| {
                black_box(lambda_stream_bench::build_put_records(black_box(
                    &envelopes,
                )));
            }),
        ];
        for (b, t) in best.iter_mut().zip(timings) {
            *b = (*b).min(t);
        }
    }
    let [
        work,
        free_batch,
        end_to_end,
        parse_event,
        typed,
        base64_typed,
        value,
        parse_raw_records,
        free_raw_records,
        put_events_requests,
        put_records_requests,
    ] = best;
    let pipeline = work + free_batch;

    let avg_bytes = event
        .records
        .iter()
        .map(|r| r.kinesis.data.0.len())
        .sum::<usize>()
        / RECORDS;
    println!(
        "lambda-stream egress benchmark: {RECORDS} Kinesis records of {avg_bytes} bytes, one core, {ALLOCATOR_NAME}, best of {ROUNDS}"
    );
    println!(
        "  filter thing-* (3 of 4) -> map to external envelope -> publish in EventBridge batches"
    );
    let row = |label: &str, time: Duration| {
        println!(
            "  {label:<62} {:>8.2} ms {:>10.0} records/s",
            time.as_secs_f64() * 1e3,
            per_second(RECORDS, time)
        );
    };
    let ratio = |label: &str, a: Duration, b: Duration| {
        println!("  {label:<62} {:>8.2}x", a.as_secs_f64() / b.as_secs_f64());
    };
    println!();
    row(
        "pipeline (decoded Lambda event -> published batches)",
        pipeline,
    );
    row("  of which the pipeline's own work", work);
    row(
        "  of which freeing the Lambda event (aws_lambda_events)",
        free_batch,
    );
    row("end to end (Lambda JSON bytes -> published)", end_to_end);
    row(
        "  of which parsing the Lambda event (aws_lambda_events)",
        parse_event,
    );
    row(
        "  (were each record kept as raw JSON: parsing the event)",
        parse_raw_records,
    );
    row(
        "  (were each record kept as raw JSON: freeing the event)",
        free_raw_records,
    );
    row(
        "floor: serde typed borrowed envelope parse+serialize",
        typed,
    );
    row(
        "floor: base64 decode + typed parse + serialize",
        base64_typed,
    );
    row("floor: serde_json::Value parse+serialize", value);
    row(
        "sink: building PutEvents requests (serialize + SDK entries)",
        put_events_requests,
    );
    row(
        "sink: building PutRecords requests (serialize + SDK entries)",
        put_records_requests,
    );
    println!();
    ratio("pipeline / typed floor", pipeline, typed);
    ratio("pipeline's own work / typed floor", work, typed);
    ratio("pipeline / base64 + typed floor", pipeline, base64_typed);
    ratio("pipeline / Value floor", pipeline, value);
    println!();
    println!(
        "  RSS at start {:.1} MB, with the batch in memory {:.1} MB, peak while processing it {:.1} MB{}",
        base_rss as f64 / 1024.0,
        input_rss as f64 / 1024.0,
        peak_rss as f64 / 1024.0,
        if reset {
            ""
        } else {
            " (peak not reset: includes building the input)"
        }
    );
    println!(
        "  published {} entries in {} requests",
        publisher.entries.load(std::sync::atomic::Ordering::Relaxed),
        publisher
            .requests
            .load(std::sync::atomic::Ordering::Relaxed)
    );
}
