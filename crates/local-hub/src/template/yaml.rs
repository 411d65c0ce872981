//! A CloudFormation template's YAML as JSON, the short-form intrinsics (`!Ref x`,
//! `!GetAtt A.B`, `!Sub ...`) rewritten in their long form (`{"Ref": "x"}`,
//! `{"Fn::GetAtt": ["A", "B"]}`, `{"Fn::Sub": ...}`), so the rest reads one shape.

use serde_json::{Map, Value};
use serde_norway::Value as Yaml;

/// Parses a template (YAML, which includes JSON).
pub(crate) fn parse(text: &str) -> Result<Value, String> {
    let yaml: Yaml = serde_norway::from_str(text).map_err(|e| format!("not valid YAML: {e}"))?;
    to_json(yaml)
}

fn to_json(yaml: Yaml) -> Result<Value, String> {
    Ok(match yaml {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .ok_or_else(|| format!("the number {n} has no JSON form"))?
            }
        }
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(items) => {
            Value::Array(items.into_iter().map(to_json).collect::<Result<_, _>>()?)
        }
        Yaml::Mapping(mapping) => {
            let mut map = Map::new();
            for (key, value) in mapping {
                let key = match key {
                    Yaml::String(s) => s,
                    Yaml::Number(n) => n.to_string(),
                    Yaml::Bool(b) => b.to_string(),
                    other => return Err(format!("a mapping key that is not a string: {other:?}")),
                };
                map.insert(key, to_json(value)?);
            }
            Value::Object(map)
        }
        Yaml::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let value = to_json(tagged.value)?;
            let (key, value) = match name {
                "Ref" => ("Ref".to_string(), value),
                "Condition" => ("Condition".to_string(), value),
                "GetAtt" => ("Fn::GetAtt".to_string(), get_att(value)?),
                other => (format!("Fn::{other}"), value),
            };
            Value::Object(Map::from_iter([(key, value)]))
        }
    })
}

/// `!GetAtt Resource.Attribute` is one string; the long form is a pair.
fn get_att(value: Value) -> Result<Value, String> {
    match value {
        Value::String(text) => match text.split_once('.') {
            Some((resource, attribute)) => Ok(Value::from(vec![resource, attribute])),
            None => Err(format!("!GetAtt {text}: expected Resource.Attribute")),
        },
        pair @ Value::Array(_) => Ok(pair),
        other => Err(format!("!GetAtt {other}: expected Resource.Attribute")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::parse;

    #[test]
    fn short_forms_become_long_forms() {
        let template = parse(
            "A: !Ref Bus\nB: !GetAtt Stream.Arn\nC: !Sub ${AWS::StackName}-x\nD: !If [Cond, 1, !Ref AWS::NoValue]\nE: !Condition Other\nF: !ImportValue\n  Fn::Sub: ${Hub}-Arn\n",
        )
        .expect("parses");
        assert_eq!(
            template,
            json!({
                "A": {"Ref": "Bus"},
                "B": {"Fn::GetAtt": ["Stream", "Arn"]},
                "C": {"Fn::Sub": "${AWS::StackName}-x"},
                "D": {"Fn::If": ["Cond", 1, {"Ref": "AWS::NoValue"}]},
                "E": {"Condition": "Other"},
                "F": {"Fn::ImportValue": {"Fn::Sub": "${Hub}-Arn"}},
            })
        );
    }

    #[test]
    fn bad_yaml_and_bad_get_att_are_errors() {
        assert!(parse("a: [1, 2").is_err());
        let err = parse("a: !GetAtt NoDot").expect_err("no attribute");
        assert!(err.contains("Resource.Attribute"), "{err}");
    }
}
