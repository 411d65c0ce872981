//! Event-pattern matching on a hub: events per second through `event_pattern::RuleSet` with
//! 10, 100 and 1,000 rules, and, in the same run, the same rules over the same events through
//! moto's matcher (the one the Python offline tools use), with the ratio.
//!
//! The rules are shaped like a hub's: the hub's own three (everything but faults to the
//! internal stream and the lake, faults to the log), then subscriptions of other subsystems,
//! ten per subsystem: six in ten name a producer's source and two of its types, two add content
//! filters (a numeric range, an anything-but), one takes a type prefix, one is an `$or`. The
//! shapes come in turn, not by chance, so that every hub has each of them (a hub of 10 rules
//! drawn at random lacked the prefix and the `$or`, and the comparison of 10 rules with 1,000
//! then measured the shapes, not the count). A hub with more rules has more subsystems, so an
//! event matches about as many rules with 1,000 as with 10 (the table prints how many). Both
//! matchers start from parsed events; ours is also timed from the event's JSON bytes.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use event_pattern::{Pattern, RuleSet};
use serde_json::{Value, json};

use crate::measure::Spread;

const PRODUCERS: &[&str] = &[
    "customer",
    "order",
    "restaurant",
    "delivery",
    "billing",
    "support",
    "catalog",
    "identity",
];
const ENTITIES: &[&str] = &[
    "order",
    "payment",
    "restaurant",
    "menu",
    "delivery",
    "customer",
    "driver",
    "invoice",
    "rating",
    "coupon",
    "cart",
    "refund",
];
const VERBS: &[&str] = &[
    "created",
    "updated",
    "deleted",
    "placed",
    "confirmed",
    "cancelled",
    "submitted",
    "expired",
];
/// The shapes of subscriptions, in turn (out of ten: six a source and two types, two with
/// content filters, one a type prefix, one an `$or`), so that every hub, of 10 rules or of
/// 1,000, has each shape in the same proportion.
const SHAPES: [u8; 10] = [0, 6, 8, 9, 1, 7, 2, 3, 4, 5];

/// Event types each subsystem publishes.
const TYPES_PER_SUBSYSTEM: usize = 12;

/// A hub's rules and a sample of its events.
#[derive(Debug, Clone)]
pub struct Hub {
    /// Each rule's name and pattern.
    pub rules: Vec<(String, Value)>,
    /// Whole EventBridge events.
    pub events: Vec<Value>,
}

struct Subsystem {
    source: String,
    types: Vec<String>,
}

/// One of `items`.
fn pick<'a, T>(rng: &mut fastrand::Rng, items: &'a [T]) -> &'a T {
    &items[rng.usize(..items.len())]
}

/// A hub with `rules` rules and `events` events, the same for the same seed.
pub fn hub(rules: usize, events: usize, seed: u64) -> Hub {
    let mut rng = fastrand::Rng::with_seed(seed);
    let count = rules.saturating_sub(3).div_ceil(10).max(1);
    let subsystems: Vec<Subsystem> = (0..count)
        .map(|i| {
            let source = format!("{}-{}", PRODUCERS[i % PRODUCERS.len()], i / PRODUCERS.len());
            let mut types = Vec::with_capacity(TYPES_PER_SUBSYSTEM);
            while types.len() < TYPES_PER_SUBSYSTEM {
                let kind = format!(
                    "{}-{}",
                    ENTITIES[rng.usize(..ENTITIES.len())],
                    VERBS[rng.usize(..VERBS.len())]
                );
                if !types.contains(&kind) {
                    types.push(kind);
                }
            }
            Subsystem { source, types }
        })
        .collect();

    let mut patterns = vec![
        json!({"source": [{"anything-but": ["external"]}], "detail-type": [{"anything-but": ["fault"]}]}),
        json!({"detail-type": ["fault"]}),
        json!({"detail-type": [{"anything-but": ["fault"]}]}),
    ];
    while patterns.len() < rules {
        let producer = &subsystems[rng.usize(..subsystems.len())];
        let kind =
            |rng: &mut fastrand::Rng| producer.types[rng.usize(..TYPES_PER_SUBSYSTEM)].clone();
        let pattern = match SHAPES[(patterns.len() - 3) % SHAPES.len()] {
            0..=5 => {
                json!({"source": [producer.source], "detail-type": [kind(&mut rng), kind(&mut rng)]})
            }
            6 | 7 => json!({
                "source": [producer.source],
                "detail-type": [kind(&mut rng)],
                // Content filters from a small vocabulary, as a company's rules repeat them.
                "detail": {
                    "status": [{"anything-but": if rng.bool() { json!(["test"]) } else { json!(["test", "draft"]) }}],
                    "order": {"total": [{"numeric": [">", *pick(&mut rng, &[25, 50, 100])]}]},
                },
            }),
            8 => {
                let entity = kind(&mut rng);
                let entity = entity.split('-').next().unwrap_or_default();
                json!({"source": [producer.source], "detail-type": [{"prefix": format!("{entity}-")}]})
            }
            _ => {
                let other = &subsystems[rng.usize(..subsystems.len())];
                json!({"$or": [
                    {"source": [producer.source], "detail-type": [kind(&mut rng)]},
                    {"source": [other.source], "detail": {"type": [other.types[rng.usize(..TYPES_PER_SUBSYSTEM)]]}},
                ]})
            }
        };
        patterns.push(pattern);
    }
    let rules = patterns
        .into_iter()
        .take(rules)
        .enumerate()
        .map(|(i, p)| (format!("rule-{i}"), p))
        .collect();

    let events = (0..events)
        .map(|n| {
            let producer = &subsystems[rng.usize(..subsystems.len())];
            let kind = if rng.u8(..50) == 0 {
                "fault".to_string()
            } else {
                producer.types[rng.usize(..TYPES_PER_SUBSYSTEM)].clone()
            };
            json!({
                "version": "0",
                "id": format!("6a7e8feb-b491-4cf7-a9f1-{n:012}"),
                "detail-type": kind,
                "source": producer.source,
                "account": "123456789012",
                "time": "2026-12-01T00:00:00Z",
                "region": "eu-west-1",
                "resources": [],
                "detail": {
                    "id": format!("e-{n}"),
                    "type": kind,
                    "timestamp": 1_764_547_200_000_u64 + n as u64,
                    "partitionKey": format!("o-{}", n % 997),
                    "status": if rng.u8(..10) == 0 { "test" } else { "live" },
                    "tags": {"account": "dev", "region": "eu-west-1", "stage": "dev", "source": producer.source},
                    "order": {
                        "id": format!("o-{}", n % 997),
                        "customerId": format!("c-{}", n % 101),
                        "total": rng.u32(0..200),
                        "currency": "EUR",
                        "items": [{"sku": "margherita", "quantity": 2}, {"sku": "tiramisu", "quantity": 1}],
                    },
                },
            })
        })
        .collect();
    Hub { rules, events }
}

impl Hub {
    /// The rules compiled.
    pub fn compile(&self) -> Result<RuleSet, String> {
        let rules = self
            .rules
            .iter()
            .map(|(name, p)| {
                Ok((
                    name.clone(),
                    Pattern::from_value(p).map_err(|e| e.to_string())?,
                ))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(RuleSet::new(rules))
    }
}

/// One rule count's figures.
#[derive(Debug, Clone)]
pub struct Figures {
    /// How many rules.
    pub rules: usize,
    /// Ours, from just-parsed events: events/s (median of the rounds).
    pub ours: f64,
    /// Ours, from just-parsed events: events/s in the best round (on a shared machine, the
    /// round the least disturbed).
    pub ours_best: f64,
    /// Ours, from each event's JSON bytes (parse, then match): events/s.
    pub ours_from_bytes: f64,
    /// moto's matcher, from parsed events: events/s, and how many it matched.
    pub moto: Option<(f64, usize)>,
    /// Rules matched per event, on average.
    pub matches_per_event: f64,
}

/// What reading the clock twice costs (the smallest of many tries), to take off each timed
/// match.
fn timer_overhead() -> std::time::Duration {
    (0..10_000)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(start.elapsed())
        })
        .min()
        .unwrap_or_default()
}

/// One pass of our matcher over `bytes` (the events' JSON): the seconds spent matching alone
/// (each event timed right after it is parsed, the cache as a hub has it: it parses an event,
/// then routes it; timing 2,000 events parsed beforehand would measure a walk through 3 MB of
/// JSON trees in memory instead), the timer's own cost taken off; and the seconds of a second
/// pass parsing and matching.
fn ours_once(bytes: &[String], set: &RuleSet, overhead: std::time::Duration) -> (f64, f64) {
    let mut matched = 0;
    let mut spent = std::time::Duration::ZERO;
    for text in bytes {
        let Ok(event) = serde_json::from_str::<Value>(text) else {
            continue;
        };
        let start = Instant::now();
        matched += set.matching(&event).len();
        spent += start.elapsed().saturating_sub(overhead);
    }
    let start = Instant::now();
    for text in bytes {
        if let Ok(event) = serde_json::from_str::<Value>(text) {
            matched += set.matching(&event).len();
        }
    }
    let both = start.elapsed();
    std::hint::black_box(matched);
    (spent.as_secs_f64(), both.as_secs_f64())
}

/// moto's matcher over the same rules and events, for about `seconds`: events/s and, for the
/// events it got through, how many rules each matched.
fn moto(python: &Path, hub: &Hub, seconds: f64) -> Result<(f64, Vec<usize>), String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/moto_patterns.py");
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("{}: {e}", python.display()))?;
    let input = json!({"rules": hub.rules, "events": hub.events, "seconds": seconds}).to_string();
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    writer
        .join()
        .map_err(|_| "the writer panicked".to_string())?
        .map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err("moto_patterns.py failed (is moto installed in that Python?)".to_string());
    }
    let result: Value = serde_json::from_slice(&output.stdout).map_err(|e| e.to_string())?;
    let rate = result["events_per_second"]
        .as_f64()
        .ok_or("no rate from moto")?;
    let counts = result["matches"]
        .as_array()
        .ok_or("no match counts from moto")?
        .iter()
        .filter_map(Value::as_u64)
        .map(|n| n as usize)
        .collect();
    Ok((rate, counts))
}

/// Measures each rule count, the counts taking turns round after round (so a noisy moment
/// falls on all of them): ours (medians of the rounds), then moto's (when `python` is given)
/// on the same hub, checking that moto matched every event it got through to the same number
/// of rules as ours.
pub fn measure(
    rule_counts: &[usize],
    events: usize,
    rounds: usize,
    python: Option<&Path>,
    moto_seconds: f64,
) -> Result<Vec<Figures>, String> {
    let mut hubs = Vec::new();
    for &rules in rule_counts {
        let hub = hub(rules, events, 0x4ab5_0001);
        let set = hub.compile()?;
        let bytes: Vec<String> = hub.events.iter().map(Value::to_string).collect();
        hubs.push((rules, hub, set, bytes));
    }
    let overhead = timer_overhead();
    let mut times = vec![(Vec::new(), Vec::new()); hubs.len()];
    for _ in 0..rounds {
        for ((_, _, set, bytes), (matching, both)) in hubs.iter().zip(&mut times) {
            let (m, b) = ours_once(bytes, set, overhead);
            matching.push(bytes.len() as f64 / m);
            both.push(bytes.len() as f64 / b);
        }
    }
    let mut figures = Vec::new();
    for ((rules, hub, set, _), (matching, both)) in hubs.iter().zip(&times) {
        let counts: Vec<usize> = hub.events.iter().map(|e| set.matching(e).len()).collect();
        let moto = match python {
            Some(python) => {
                let (rate, theirs) = moto(python, hub, moto_seconds)?;
                if let Some(at) = theirs.iter().zip(&counts).position(|(a, b)| a != b) {
                    return Err(format!(
                        "{rules} rules: moto matched event {at} to {} rules, ours to {}: the figures would compare unlike work",
                        theirs[at], counts[at]
                    ));
                }
                Some((rate, theirs.len()))
            }
            None => None,
        };
        figures.push(Figures {
            rules: *rules,
            ours: Spread::of(matching).median,
            ours_best: Spread::of(matching).max,
            ours_from_bytes: Spread::of(both).median,
            moto,
            matches_per_event: counts.iter().sum::<usize>() as f64 / counts.len().max(1) as f64,
        });
    }
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use super::hub;

    #[test]
    fn every_hub_has_each_shape_and_the_same_seed_gives_the_same_hub() {
        for rules in [10, 100, 1_000] {
            let generated = hub(rules, 20, 7);
            assert_eq!(generated.rules.len(), rules);
            let patterns: Vec<String> =
                generated.rules.iter().map(|(_, p)| p.to_string()).collect();
            for shape in ["\"prefix\"", "$or", "numeric", "anything-but"] {
                assert!(
                    patterns.iter().any(|p| p.contains(shape)),
                    "{rules} rules: no {shape}"
                );
            }
            let set = generated.compile().expect("the generated rules are valid");
            assert_eq!(set.len(), rules);
            assert_eq!(hub(rules, 20, 7).rules, generated.rules);
            assert_eq!(hub(rules, 20, 7).events, generated.events);
        }
    }
}
