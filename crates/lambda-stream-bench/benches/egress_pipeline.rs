//! Criterion benchmark of the egress workload beside the codec floor
//! (`cargo bench -p lambda-stream-bench`).

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use lambda_stream_bench::{
    CountingPublisher, RECORDS, floor_typed, floor_value, handler, kinesis_event, run_pipeline,
    typed_kinesis_event,
};

fn egress(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let handler = handler(Arc::new(CountingPublisher::default()));
    let event = kinesis_event(RECORDS);
    let mut group = c.benchmark_group("egress_10k");
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.sample_size(20);
    group.bench_function("pipeline", |b| {
        b.iter_batched(
            || event.clone(),
            |event| runtime.block_on(run_pipeline(&handler, event)),
            BatchSize::LargeInput,
        );
    });
    let typed = typed_kinesis_event(RECORDS);
    group.bench_function("floor_typed", |b| b.iter(|| floor_typed(black_box(&typed))));
    group.bench_function("floor_value", |b| b.iter(|| floor_value(black_box(&typed))));
    group.finish();
}

criterion_group!(benches, egress);
criterion_main!(benches);
