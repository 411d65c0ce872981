//! The bus: events put on it are matched against its rules (the compiled patterns) and sent
//! to each matching rule's targets, shaped by the target's `InputPath` or
//! `InputTransformer`, keyed by its `KinesisParameters.PartitionKeyPath`.

use serde_json::{Map, Value, json};

use crate::model::Target;

/// One entry of a `PutEvents` call.
#[derive(Debug, Clone)]
pub struct BusEntry {
    /// `Source`.
    pub source: String,
    /// `DetailType`.
    pub detail_type: String,
    /// `Detail`: JSON text of an object.
    pub detail: String,
    /// `Resources`.
    pub resources: Vec<String>,
    /// The account the event comes from (another subsystem's, for events forwarded from its
    /// bus); the hub's own when `None`.
    pub account: Option<String>,
}

/// The event EventBridge builds from an entry, as rules and targets see it.
pub fn event(
    entry: &BusEntry,
    id: &str,
    account: &str,
    region: &str,
    time: &str,
) -> Result<Value, String> {
    let detail: Value = serde_json::from_str(&entry.detail)
        .map_err(|e| format!("Detail is not valid JSON: {e}"))?;
    if !detail.is_object() {
        return Err("Detail is not a JSON object".to_string());
    }
    if entry.source.is_empty() || entry.detail_type.is_empty() {
        return Err("Source and DetailType are required".to_string());
    }
    Ok(json!({
        "version": "0",
        "id": id,
        "detail-type": entry.detail_type,
        "source": entry.source,
        "account": entry.account.as_deref().unwrap_or(account),
        "time": time,
        "region": region,
        "resources": entry.resources,
        "detail": detail,
    }))
}

/// The value at a JSON path of the simple form targets use (`$`, `$.detail`,
/// `$.detail.partitionKey`).
pub fn at_path<'a>(event: &'a Value, path: &str) -> Result<Option<&'a Value>, String> {
    let rest = path
        .strip_prefix('$')
        .ok_or_else(|| format!("the path {path} does not start with $"))?;
    let mut at = event;
    for key in rest.split('.').skip(1) {
        if key.is_empty() || key.contains(['[', ']', '*']) {
            return Err(format!(
                "the path {path}: only $.field.field paths are supported"
            ));
        }
        match at.get(key) {
            Some(next) => at = next,
            None => return Ok(None),
        }
    }
    Ok(Some(at))
}

/// What a target receives of `event`: the whole event, the part `InputPath` names, or the
/// `InputTransformer`'s template filled in.
pub fn input(target: &Target, event: &Value) -> Result<String, String> {
    if let Some(transformer) = &target.input_transformer {
        return transform(transformer, event);
    }
    match &target.input_path {
        Some(path) => match at_path(event, path)? {
            Some(value) => Ok(value.to_string()),
            None => Err(format!("InputPath {path} is not in the event")),
        },
        None => Ok(event.to_string()),
    }
}

/// `InputTransformer`: each `<name>` of `InputTemplate` replaced by the value of
/// `InputPathsMap.name` (a string as its text, which the template quotes if it wants a JSON
/// string; anything else as JSON), `<aws.events.event>` by the whole event.
fn transform(transformer: &Value, event: &Value) -> Result<String, String> {
    let template = transformer
        .get("InputTemplate")
        .and_then(Value::as_str)
        .ok_or("InputTransformer needs an InputTemplate")?;
    let empty = Map::new();
    let paths = transformer
        .get("InputPathsMap")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('>') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let name = &after[..end];
        let value = if name == "aws.events.event" || name == "aws.events.event.json" {
            Some(event.clone())
        } else if let Some(path) = paths.get(name).and_then(Value::as_str) {
            Some(at_path(event, path)?.cloned().unwrap_or(Value::Null))
        } else {
            None
        };
        match value {
            Some(Value::String(text)) => out.push_str(&text),
            Some(other) => out.push_str(&other.to_string()),
            // Not a placeholder: the text stays.
            None => {
                out.push('<');
                out.push_str(name);
                out.push('>');
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The partition key a Kinesis target uses: the value at `PartitionKeyPath`, or the event id
/// when there is none (EventBridge then picks a random key).
pub fn partition_key(target: &Target, event: &Value) -> Result<String, String> {
    match &target.partition_key_path {
        Some(path) => match at_path(event, path)? {
            Some(Value::String(key)) if !key.is_empty() => Ok(key.clone()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            _ => Err(format!(
                "PartitionKeyPath {path} gives no key for this event"
            )),
        },
        None => Ok(event["id"].as_str().unwrap_or_default().to_string()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{BusEntry, at_path, event, input, partition_key};
    use crate::model::Target;

    fn target() -> Target {
        Target {
            id: "t".into(),
            arn: "arn".into(),
            input_path: None,
            input_transformer: None,
            partition_key_path: None,
        }
    }

    #[test]
    fn an_entry_becomes_the_event_rules_see() {
        let entry = BusEntry {
            source: "custom".into(),
            detail_type: "order-placed".into(),
            detail: r#"{"id":"e1","partitionKey":"o-1"}"#.into(),
            resources: vec![],
            account: None,
        };
        let event = event(
            &entry,
            "id-1",
            "123456789012",
            "eu-west-1",
            "2026-01-01T00:00:00Z",
        )
        .expect("valid");
        assert_eq!(event["detail-type"], "order-placed");
        assert_eq!(event["account"], "123456789012");
        assert_eq!(event["detail"]["partitionKey"], "o-1");
        for (detail, reason) in [("[1]", "not a JSON object"), ("{", "not valid JSON")] {
            let bad = BusEntry {
                detail: detail.into(),
                ..entry.clone()
            };
            let error = super::event(&bad, "i", "a", "r", "t").expect_err("refused");
            assert!(error.contains(reason), "{error}");
        }
    }

    #[test]
    fn targets_take_their_part_of_the_event() {
        let event = json!({"id": "e", "detail": {"partitionKey": "o-1", "n": 3, "s": "x"}});
        let path = Target {
            input_path: Some("$.detail".into()),
            partition_key_path: Some("$.detail.partitionKey".into()),
            ..target()
        };
        assert_eq!(
            input(&path, &event).expect("input"),
            event["detail"].to_string()
        );
        assert_eq!(partition_key(&path, &event).expect("key"), "o-1");
        assert_eq!(partition_key(&target(), &event).expect("key"), "e");
        let transformed = Target {
            input_transformer: Some(json!({
                "InputPathsMap": {"n": "$.detail.n", "s": "$.detail.s"},
                "InputTemplate": "{\"count\": <n>, \"name\": \"<s>\", \"keep\": \"<other>\"}",
            })),
            ..target()
        };
        assert_eq!(
            input(&transformed, &event).expect("input"),
            r#"{"count": 3, "name": "x", "keep": "<other>"}"#
        );
        assert!(at_path(&event, "$.detail[0]").is_err());
        assert!(at_path(&event, "detail").is_err());
        let missing = Target {
            partition_key_path: Some("$.detail.nope".into()),
            ..target()
        };
        assert!(partition_key(&missing, &event).is_err());
    }
}
