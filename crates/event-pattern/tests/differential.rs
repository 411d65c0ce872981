//! Our matcher against moto's (`moto.events.models.EventPattern`, in the test virtualenv), on
//! seeded random patterns and events over the operators moto supports. Every disagreement
//! fails the test, except the ones listed in `documented_differences`, each of which names the
//! EventBridge behaviour we follow and checks that moto still answers otherwise; the random
//! cases stay clear of those areas (booleans beside numbers, arrays of objects, empty arrays
//! and objects under `exists`).
//!
//! `scripts/test` runs these (it sets `LAMBDA_STREAM_PYTHON`); without a Python that has moto
//! they fail saying so, never pass.

use std::io::Write;
use std::process::{Command, Stdio};

use event_pattern::Pattern;
use serde_json::{Map, Value, json};

/// The Python with moto: `LAMBDA_STREAM_PYTHON`, else the workspace's `.venv`.
fn python() -> String {
    if let Ok(python) = std::env::var("LAMBDA_STREAM_PYTHON") {
        return python;
    }
    let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv/bin/python");
    assert!(
        std::path::Path::new(venv).exists(),
        "needs a Python with moto: run scripts/test (it makes .venv), or set LAMBDA_STREAM_PYTHON"
    );
    venv.to_string()
}

/// moto's verdict on each (pattern, event): `Ok(true/false)`, or `Err` when it refused the
/// pattern.
fn moto(cases: &[(Value, Value)]) -> Vec<Result<bool, String>> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/moto_matcher.py");
    let mut child = Command::new(python())
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python starts");
    let mut input = String::new();
    for (pattern, event) in cases {
        input.push_str(&json!({"pattern": pattern, "event": event}).to_string());
        input.push('\n');
    }
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("python runs");
    writer.join().expect("writer").expect("cases written");
    assert!(output.status.success(), "moto_matcher.py failed");
    let text = String::from_utf8(output.stdout).expect("utf-8");
    let verdicts: Vec<Result<bool, String>> = text
        .lines()
        .map(|line| match line {
            "1" => Ok(true),
            "0" => Ok(false),
            other => Err(other.to_string()),
        })
        .collect();
    assert_eq!(verdicts.len(), cases.len(), "one verdict per case");
    verdicts
}

const STRINGS: &[&str] = &[
    "a",
    "ab",
    "abc",
    "B",
    "AbC",
    "x.txt",
    "X.TXT",
    "x.png",
    "",
    "order-placed",
    "Order-Placed",
    "10.0.0.1",
    "10.0.1.7",
    "192.168.1.1",
    "2001:db8::1",
    "a*c",
    "lib/x/y",
];
const NUMBERS: &[f64] = &[0.0, 1.0, 3.0, -1.0, 2.5, 100.0, 1000.0, 1e-3];
const NETWORKS: &[&str] = &[
    "10.0.0.0/24",
    "10.0.0.0/16",
    "192.168.0.0/16",
    "2001:db8::/32",
];
const WILDCARDS: &[&str] = &["a*", "*c", "*b*", "x.*", "*", "a\\*c", "lib/*/y"];

fn pick<'a, T>(rng: &mut fastrand::Rng, items: &'a [T]) -> &'a T {
    &items[rng.usize(..items.len())]
}

fn number(rng: &mut fastrand::Rng) -> Value {
    let n = *pick(rng, NUMBERS);
    // Integers sometimes written as such, sometimes as floats (3 and 3.0 are one number).
    if n.fract() == 0.0 && rng.bool() {
        json!(n as i64)
    } else {
        json!(n)
    }
}

fn string(rng: &mut fastrand::Rng) -> Value {
    json!(*pick(rng, STRINGS))
}

/// The kinds of field the random events have (no booleans beside numbers, no arrays of
/// objects, no empty arrays: see `documented_differences`).
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Number,
    Texts,
    Numbers,
    Flag,
    Null,
}

const FIELDS: &[(&str, Kind)] = &[
    ("s", Kind::Text),
    ("t", Kind::Text),
    ("n", Kind::Number),
    ("list", Kind::Texts),
    ("nums", Kind::Numbers),
    ("flag", Kind::Flag),
    ("nul", Kind::Null),
];

fn event(rng: &mut fastrand::Rng) -> Value {
    let mut detail = Map::new();
    for (name, kind) in FIELDS {
        if rng.u8(..5) == 0 {
            continue;
        }
        let value = match kind {
            Kind::Text => string(rng),
            Kind::Number => number(rng),
            Kind::Texts => Value::Array((0..rng.usize(1..4)).map(|_| string(rng)).collect()),
            Kind::Numbers => Value::Array((0..rng.usize(1..4)).map(|_| number(rng)).collect()),
            Kind::Flag => json!(rng.bool()),
            Kind::Null => Value::Null,
        };
        detail.insert(name.to_string(), value);
    }
    if rng.bool() {
        detail.insert("nested".into(), json!({"x": string(rng)}));
    }
    json!({
        "source": if rng.bool() { "custom" } else { "external" },
        "detail-type": string(rng),
        "detail": detail,
    })
}

fn string_matcher(rng: &mut fastrand::Rng) -> Value {
    let text = || -> String { STRINGS[fastrand::usize(..STRINGS.len())].to_string() };
    match rng.u8(..14) {
        0 | 1 => string(rng),
        2 => json!({"prefix": text()}),
        3 => json!({"prefix": {"equals-ignore-case": text()}}),
        4 => json!({"suffix": text()}),
        5 => json!({"suffix": {"equals-ignore-case": text()}}),
        6 => json!({"equals-ignore-case": text()}),
        7 => json!({"wildcard": *pick(rng, WILDCARDS)}),
        8 => json!({"anything-but": text()}),
        9 => json!({"anything-but": [text(), text()]}),
        10 => json!({"anything-but": {"prefix": text()}}),
        11 => json!({"anything-but": {"suffix": text()}}),
        12 => json!({"anything-but": {"equals-ignore-case": [text(), text()]}}),
        _ => match rng.u8(..3) {
            0 => json!({"anything-but": {"wildcard": *pick(rng, WILDCARDS)}}),
            1 => json!({"cidr": *pick(rng, NETWORKS)}),
            _ => json!({"exists": rng.bool()}),
        },
    }
}

fn number_matcher(rng: &mut fastrand::Rng) -> Value {
    let comparisons = ["<", "<=", "=", ">=", ">"];
    match rng.u8(..6) {
        0 | 1 => number(rng),
        2 => json!({"numeric": [*pick(rng, &comparisons), number(rng)]}),
        3 => json!({"numeric": [">", number(rng), "<=", number(rng)]}),
        4 => json!({"anything-but": [number(rng), number(rng)]}),
        _ => json!({"exists": rng.bool()}),
    }
}

fn field_matchers(rng: &mut fastrand::Rng, kind: Kind) -> Value {
    let count = rng.usize(1..3);
    Value::Array(
        (0..count)
            .map(|_| {
                // One matcher in five is of another type than the field's values: string
                // operators on numbers, numeric ones on strings and null (never numbers on
                // booleans: see `documented_differences`).
                let crossed = rng.u8(..5) == 0;
                match (kind, crossed) {
                    (Kind::Text | Kind::Texts, false)
                    | (Kind::Number | Kind::Numbers | Kind::Flag, true) => string_matcher(rng),
                    (Kind::Number | Kind::Numbers, false) | (Kind::Text | Kind::Texts, true) => {
                        number_matcher(rng)
                    }
                    (Kind::Flag, false) => match rng.u8(..3) {
                        0 => json!(true),
                        1 => json!(false),
                        _ => json!({"exists": rng.bool()}),
                    },
                    (Kind::Null, false) => match rng.u8(..2) {
                        0 => Value::Null,
                        _ => json!({"exists": rng.bool()}),
                    },
                    (Kind::Null, true) => {
                        if rng.bool() {
                            string_matcher(rng)
                        } else {
                            number_matcher(rng)
                        }
                    }
                }
            })
            .collect(),
    )
}

fn detail_pattern(rng: &mut fastrand::Rng) -> Map<String, Value> {
    let mut detail = Map::new();
    for _ in 0..rng.usize(1..4) {
        let (name, kind) = *pick(rng, FIELDS);
        detail.insert(name.to_string(), field_matchers(rng, kind));
    }
    if rng.u8(..4) == 0 {
        detail.insert(
            "nested".into(),
            json!({"x": field_matchers(rng, Kind::Text)}),
        );
    }
    detail
}

fn pattern(rng: &mut fastrand::Rng) -> Value {
    let mut top = Map::new();
    if rng.bool() {
        top.insert(
            "source".into(),
            json!([if rng.bool() { "custom" } else { "external" }]),
        );
    }
    if rng.u8(..3) == 0 {
        top.insert("detail-type".into(), field_matchers(rng, Kind::Text));
    }
    match rng.u8(..5) {
        0 => {
            let options: Vec<Value> = (0..rng.usize(2..4))
                .map(|_| json!({"detail": detail_pattern(rng)}))
                .collect();
            top.insert("$or".into(), Value::Array(options));
        }
        1 => {
            let mut detail = detail_pattern(rng);
            let options: Vec<Value> = (0..2).map(|_| Value::Object(detail_pattern(rng))).collect();
            detail.insert("$or".into(), Value::Array(options));
            top.insert("detail".into(), Value::Object(detail));
        }
        _ => {
            top.insert("detail".into(), Value::Object(detail_pattern(rng)));
        }
    }
    Value::Object(top)
}

#[test]
#[ignore = "needs the test virtualenv's moto (scripts/test runs it)"]
fn agrees_with_moto_on_random_patterns_and_events() {
    const CASES: usize = 20_000;
    let mut rng = fastrand::Rng::with_seed(0x0e7e_17a7);
    let cases: Vec<(Value, Value)> = (0..CASES)
        .map(|_| (pattern(&mut rng), event(&mut rng)))
        .collect();
    let theirs = moto(&cases);
    let mut disagreements = Vec::new();
    let mut matched = 0;
    for ((pattern, event), moto) in cases.iter().zip(&theirs) {
        let ours = Pattern::from_value(pattern)
            .map(|p| p.matches(event))
            .map_err(|e| e.to_string());
        if let Ok(true) = ours {
            matched += 1;
        }
        if &ours != moto {
            disagreements.push(format!(
                "pattern {pattern}\n  event {event}\n  ours {ours:?}, moto {moto:?}"
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} of {CASES} cases disagree; the first:\n{}",
        disagreements.len(),
        disagreements
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    // Both answers are exercised, not only "no match".
    assert!(
        matched > CASES / 10 && matched < CASES * 9 / 10,
        "{matched} of {CASES} matched"
    );
}

/// Where moto answers otherwise than EventBridge, each with the behaviour we follow.
#[test]
#[ignore = "needs the test virtualenv's moto (scripts/test runs it)"]
fn documented_differences() {
    // (what EventBridge does, pattern, event, EventBridge's answer and ours)
    let cases = [
        (
            "booleans are not numbers: [1] does not match true (moto: Python's True == 1)",
            json!({"a": [1]}),
            json!({"a": true}),
            false,
        ),
        (
            "numeric matches numbers only, not booleans (moto: True is an int)",
            json!({"a": [{"numeric": [">", 0]}]}),
            json!({"a": true}),
            false,
        ),
        (
            "a nested pattern matches inside an array of objects, element by element (moto does not descend into arrays)",
            json!({"a": {"b": ["x"]}}),
            json!({"a": [{"b": "y"}, {"b": "x"}]}),
            true,
        ),
        (
            "exists works on leaf values: an empty array has none, so exists: false matches it",
            json!({"a": [{"exists": false}]}),
            json!({"a": []}),
            true,
        ),
        (
            "exists works on leaf values: an empty array has none, so exists: true does not match",
            json!({"a": [{"exists": true}]}),
            json!({"a": []}),
            false,
        ),
        (
            "exists works on leaf values, not objects (moto keeps an empty object as a leaf)",
            json!({"a": [{"exists": true}]}),
            json!({"a": {}}),
            false,
        ),
    ];
    let verdicts = moto(
        &cases
            .iter()
            .map(|(_, p, e, _)| (p.clone(), e.clone()))
            .collect::<Vec<_>>(),
    );
    for ((behaviour, pattern, event, expected), moto) in cases.iter().zip(verdicts) {
        let ours = Pattern::from_value(pattern).expect("valid").matches(event);
        assert_eq!(ours, *expected, "ours: {behaviour}");
        assert_eq!(moto, Ok(!expected), "moto still differs: {behaviour}");
    }

    // EventBridge refuses an unknown operator ("InvalidEventPatternException"); moto accepts it
    // and matches anything. Both refuse a bare value where a list belongs.
    let unknown = json!({"a": [{"foo": 3}]});
    assert!(Pattern::from_value(&unknown).is_err());
    assert_eq!(moto(&[(unknown, json!({"a": "x"}))]), vec![Ok(true)]);
    let bare = json!({"a": "x"});
    assert!(Pattern::from_value(&bare).is_err());
    assert!(moto(&[(bare, json!({"a": "x"}))])[0].is_err());
}

/// The compiled rule set answers exactly as each pattern alone, on the same random patterns
/// (indexed by exact values, prefixes and `$or` options, or not at all) and events.
#[test]
fn a_rule_set_answers_as_its_patterns_one_by_one() {
    let mut rng = fastrand::Rng::with_seed(0x005e_70f4_u64);
    for round in 0..20 {
        let patterns: Vec<Pattern> = (0..50 * (round % 4 + 1))
            .map(|_| Pattern::from_value(&pattern(&mut rng)).expect("valid"))
            .collect();
        let set = event_pattern::RuleSet::new(
            patterns
                .iter()
                .enumerate()
                .map(|(i, p)| (i.to_string(), p.clone()))
                .collect(),
        );
        for _ in 0..200 {
            let event = event(&mut rng);
            let expected: Vec<String> = patterns
                .iter()
                .enumerate()
                .filter(|(_, p)| p.matches(&event))
                .map(|(i, _)| i.to_string())
                .collect();
            assert_eq!(set.matching(&event), expected, "{event}");
        }
    }
}
