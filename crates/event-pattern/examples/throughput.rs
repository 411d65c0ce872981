//! Events per second through a `RuleSet` of 10, 100 and 1,000 rules on hub-like events
//! (`cargo run --release -p event-pattern --example throughput`). The full benchmark, beside
//! moto's matcher, is still to come (issue 12).

use std::time::Instant;

use event_pattern::{Pattern, RuleSet};
use serde_json::json;

fn main() {
    let events: Vec<serde_json::Value> = (0..1_000)
        .map(|n| {
            json!({
                "version": "0", "id": format!("id-{n}"), "source": if n % 3 == 0 { "external" } else { "custom" },
                "detail-type": format!("type-{}", n % 150), "account": "123456789012",
                "time": "2026-12-01T00:00:00Z", "region": "us-east-1", "resources": [],
                "detail": {"id": format!("e{n}"), "type": format!("type-{}", n % 150), "timestamp": n,
                           "partitionKey": format!("k{n}"), "tags": {"source": "customer", "stage": "dev"},
                           "order": {"id": format!("o{n}"), "total": n % 400}}
            })
        })
        .collect();
    for count in [10usize, 100, 1_000] {
        let rules: Vec<(String, Pattern)> = (0..count)
            .map(|r| {
                let pattern = match r % 4 {
                    0 => json!({"source": ["custom"], "detail-type": [format!("type-{}", r % 150)]}),
                    1 => json!({"detail-type": [format!("type-{}", r % 150)], "detail": {"order": {"total": [{"numeric": [">", r % 300]}]}}}),
                    2 => json!({"source": ["external"], "detail-type": [format!("type-{}", r % 150), format!("type-{}", (r + 1) % 150)]}),
                    _ => json!({"detail-type": [format!("type-{}", r % 150)], "detail": {"tags": {"source": [{"prefix": "cust"}]}}}),
                };
                (format!("rule-{r}"), Pattern::from_value(&pattern).expect("valid"))
            })
            .collect();
        let set = RuleSet::new(rules);
        let started = Instant::now();
        let mut matched = 0usize;
        let rounds = 200;
        for _ in 0..rounds {
            for event in &events {
                matched += set.matching(event).len();
            }
        }
        let elapsed = started.elapsed().as_secs_f64();
        let per_second = (rounds * events.len()) as f64 / elapsed;
        println!(
            "{count:>5} rules: {:>10.0} events/s ({matched} matches)",
            per_second
        );
    }
}
