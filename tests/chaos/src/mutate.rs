//! A seeded, structure-aware mutator: changes JSON values (a node replaced, removed,
//! duplicated, retyped) and text (bytes flipped, inserted, cut; escapes and huge numbers
//! spliced in), so most inputs still reach deep into the decoders instead of failing at the
//! first byte.

use fastrand::Rng;
use serde_json::{Map, Value, json};

/// Awkward values to put anywhere.
fn random_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.u8(0..14) {
        0 => Value::Null,
        1 => Value::Bool(rng.bool()),
        2 => json!(rng.i64(..)),
        3 => json!(rng.f64() * 1e300),
        4 => json!(u64::MAX),
        5 => Value::String(String::new()),
        6 => Value::String(random_text(rng)),
        7 => Value::String("e".repeat(rng.usize(0..4096))),
        8 if depth < 4 => Value::Array(
            (0..rng.usize(0..4))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        9 if depth < 4 => {
            let mut map = Map::new();
            for _ in 0..rng.usize(0..4) {
                map.insert(random_key(rng), random_value(rng, depth + 1));
            }
            Value::Object(map)
        }
        10 => json!("2019-01-02T12:45:07.000Z"),
        11 => json!("\u{0}\u{1f}\"\\/😀é"),
        12 => json!(-0.0),
        _ => json!(1.5),
    }
}

fn random_key(rng: &mut Rng) -> String {
    const KEYS: &[&str] = &[
        "id",
        "type",
        "timestamp",
        "partitionKey",
        "tags",
        "raw",
        "eem",
        "s3",
        "thing",
        "data",
        "body",
        "Message",
        "detail",
        "NewImage",
        "Keys",
        "eventName",
        "S",
        "N",
        "B",
        "M",
        "L",
        "SS",
        "NS",
        "BS",
        "BOOL",
        "NULL",
        "fields",
        "skip",
        "bucket",
        "key",
        "",
    ];
    KEYS[rng.usize(0..KEYS.len())].to_string()
}

fn random_text(rng: &mut Rng) -> String {
    (0..rng.usize(0..24))
        .map(|_| match rng.u8(0..6) {
            0 => rng.char('\u{0}'..='\u{7f}'),
            1 => rng.char('\u{80}'..='\u{10ffff}'),
            _ => rng.char('a'..='z'),
        })
        .collect()
}

/// Changes one node of `value` somewhere inside it.
pub fn mutate_value(rng: &mut Rng, value: &mut Value) {
    // Walk down a random path, sometimes stopping early.
    let go_deeper = rng.u8(0..3) > 0;
    match value {
        Value::Object(map) if go_deeper && !map.is_empty() => {
            let i = rng.usize(0..map.len());
            if let Some((_, child)) = map.iter_mut().nth(i) {
                mutate_value(rng, child);
                return;
            }
        }
        Value::Array(items) if go_deeper && !items.is_empty() => {
            let i = rng.usize(0..items.len());
            mutate_value(rng, &mut items[i]);
            return;
        }
        _ => {}
    }
    change(rng, value);
}

fn change(rng: &mut Rng, node: &mut Value) {
    match (rng.u8(0..5), &mut *node) {
        (0, Value::Object(map)) if !map.is_empty() => {
            let key = map.keys().nth(rng.usize(0..map.len())).cloned();
            if let Some(key) = key {
                map.remove(&key);
            }
        }
        (1, Value::Object(map)) => {
            map.insert(random_key(rng), random_value(rng, 0));
        }
        (2, Value::Array(items)) if !items.is_empty() => {
            let i = rng.usize(0..items.len());
            let copy = items[i].clone();
            items.push(copy);
        }
        (3, Value::String(text)) => *text = mutate_text(rng, text),
        _ => *node = random_value(rng, 0),
    }
}

/// Changes a text: bytes flipped, inserted, removed or duplicated, or JSON tokens spliced in.
pub fn mutate_text(rng: &mut Rng, text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..1 + rng.usize(0..3) {
        let at = rng.usize(0..=bytes.len());
        match rng.u8(0..8) {
            0 if !bytes.is_empty() => {
                let i = rng.usize(0..bytes.len());
                bytes[i] ^= 1 << rng.u8(0..8);
            }
            1 if !bytes.is_empty() => {
                let end = (at + rng.usize(0..16)).min(bytes.len());
                bytes.drain(at.min(end)..end);
            }
            2 => {
                const TOKENS: &[&str] = &[
                    "{",
                    "}",
                    "[",
                    "]",
                    "\"",
                    ":",
                    ",",
                    "\\",
                    "\\u",
                    "\\uD800",
                    "\\ud83d\\ude00",
                    "1e400",
                    "-0",
                    "123456789012345678901234567890",
                    "null",
                    "true",
                    "\u{0}",
                    "é",
                    "😀",
                    "\"tags\":{\"a\":1e999}",
                    "\"id\":\"x\",",
                    "\"type\":",
                ];
                let token = TOKENS[rng.usize(0..TOKENS.len())];
                bytes.splice(at..at, token.bytes());
            }
            3 if !bytes.is_empty() => {
                let start = rng.usize(0..bytes.len());
                let end = (start + rng.usize(1..32)).min(bytes.len());
                let piece = bytes[start..end].to_vec();
                bytes.splice(at..at, piece);
            }
            4 => bytes.truncate(at),
            _ => bytes.insert(at, rng.u8(..)),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}
