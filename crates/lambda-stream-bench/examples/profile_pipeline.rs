//! Runs only the egress pipeline, many times, for a profiler:
//! `perf record -g target/profiling/examples/profile_pipeline`.

use std::sync::Arc;

use lambda_stream_bench::{CountingPublisher, RECORDS, handler, kinesis_event, run_pipeline};

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let handler = handler(Arc::new(CountingPublisher::default()));
    let rounds: u32 = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(15);
    let events: Vec<_> = (0..rounds).map(|_| kinesis_event(RECORDS)).collect();
    let start = std::time::Instant::now();
    for event in events {
        std::hint::black_box(runtime.block_on(run_pipeline(&handler, event)));
    }
    eprintln!("{:?} per batch", start.elapsed() / rounds.max(1));
}
