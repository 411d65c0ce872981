//! Criterion: matching one hub event against 10, 100 and 1,000 compiled rules (the rules and
//! events of `lambda_stream_bench::patterns`). `cargo bench -p lambda-stream-bench --bench
//! patterns`; the bench binary's `patterns` command runs the same beside moto's matcher.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lambda_stream_bench::patterns::hub;

fn rule_sets(c: &mut Criterion) {
    let mut group = c.benchmark_group("event_pattern_rule_set");
    for rules in [10, 100, 1_000] {
        let hub = hub(rules, 1_000, 0x4ab5_0001);
        let Ok(set) = hub.compile() else {
            panic!("the generated rules are valid");
        };
        group.throughput(Throughput::Elements(hub.events.len() as u64));
        group.bench_function(format!("{rules}_rules"), |b| {
            b.iter(|| {
                hub.events
                    .iter()
                    .map(|event| set.matching(event).len())
                    .sum::<usize>()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, rule_sets);
criterion_main!(benches);
