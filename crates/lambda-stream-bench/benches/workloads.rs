//! Criterion benchmark of both workloads, the library beside the hand-written floor, from the
//! Lambda JSON bytes (`cargo bench -p lambda-stream-bench --bench workloads`).

use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lambda_stream_bench::workload::{
    CountingPublisher, RECORDS, Workload, handler, invoke, kinesis_event_json,
};

fn workloads(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let tags = lambda_stream_bench::floor::tags_json();
    for workload in Workload::ALL {
        let json = kinesis_event_json(workload, RECORDS);
        let publisher = Arc::new(CountingPublisher::default());
        let handler = handler(workload, Arc::clone(&publisher));
        let mut group = c.benchmark_group(format!("{}_10k", workload.name()));
        group.throughput(Throughput::Elements(RECORDS as u64));
        group.sample_size(20);
        group.bench_function("library", |b| {
            b.iter(|| runtime.block_on(invoke(&handler, &publisher, &json)).ok());
        });
        group.bench_function("floor", |b| {
            b.iter(|| lambda_stream_bench::floor::run(workload, &json, &tags));
        });
        group.finish();
    }
}

criterion_group!(benches, workloads);
criterion_main!(benches);
