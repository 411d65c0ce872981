//! CloudFormation's intrinsic functions, evaluated the way CloudFormation would on deploy:
//! `Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`, `Fn::Select`, `Fn::Split`, `Fn::If`,
//! `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`, `Condition`, `Fn::ImportValue` and the pseudo
//! parameters. Anything else is an error naming the function, never a guess.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// What a deployed resource answers to `Ref` and `Fn::GetAtt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Physical {
    /// `Ref`: a name, an ARN or a URL, as the resource type defines it.
    pub reference: String,
    /// `Fn::GetAtt`: `Arn`, `StreamArn`, `QueueUrl`, ...
    pub attributes: BTreeMap<String, String>,
}

/// Everything an expression in one stack may refer to.
pub(crate) struct Scope<'a> {
    pub(crate) stack: &'a str,
    pub(crate) account: &'a str,
    pub(crate) region: &'a str,
    pub(crate) parameters: &'a BTreeMap<String, Value>,
    /// The template's `Conditions`, unevaluated.
    pub(crate) conditions: &'a Map<String, Value>,
    pub(crate) resources: &'a BTreeMap<String, Physical>,
    /// Every export of the stacks deployed before this one.
    pub(crate) exports: &'a BTreeMap<String, String>,
}

/// Conditions nest; a cycle among them must end in an error, not a stack overflow.
const MAX_CONDITION_DEPTH: usize = 32;

impl Scope<'_> {
    /// `value` with every intrinsic evaluated; `None` where it is `AWS::NoValue` (the caller
    /// drops that key or item).
    pub(crate) fn resolve(&self, value: &Value) -> Result<Option<Value>, String> {
        match value {
            Value::Object(map) => {
                if let Some((name, argument)) = intrinsic(map) {
                    return self.call(name, argument, 0);
                }
                let mut out = Map::new();
                for (key, value) in map {
                    if let Some(value) = self.resolve(value)? {
                        out.insert(key.clone(), value);
                    }
                }
                Ok(Some(Value::Object(out)))
            }
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    if let Some(item) = self.resolve(item)? {
                        out.push(item);
                    }
                }
                Ok(Some(Value::Array(out)))
            }
            scalar => Ok(Some(scalar.clone())),
        }
    }

    /// Whether the template's condition `name` holds.
    pub(crate) fn condition(&self, name: &str) -> Result<bool, String> {
        self.named_condition(name, 0)
    }

    fn named_condition(&self, name: &str, depth: usize) -> Result<bool, String> {
        if depth > MAX_CONDITION_DEPTH {
            return Err(format!(
                "condition {name}: conditions refer to each other in a cycle"
            ));
        }
        let definition = self
            .conditions
            .get(name)
            .ok_or_else(|| format!("no condition named {name}"))?;
        self.boolean(definition, depth + 1)
            .map_err(|e| format!("condition {name}: {e}"))
    }

    fn boolean(&self, value: &Value, depth: usize) -> Result<bool, String> {
        let resolved = match value {
            Value::Object(map) => match intrinsic(map) {
                Some((name, argument)) => self.call(name, argument, depth)?,
                None => return Err(format!("expected a condition, found {value}")),
            },
            other => Some(other.clone()),
        };
        match resolved {
            Some(Value::Bool(b)) => Ok(b),
            Some(Value::String(s)) if s == "true" || s == "false" => Ok(s == "true"),
            other => Err(format!("expected true or false, found {other:?}")),
        }
    }

    fn required(&self, value: &Value) -> Result<Value, String> {
        self.resolve(value)?
            .ok_or_else(|| "AWS::NoValue where a value is required".to_string())
    }

    fn text(&self, value: &Value) -> Result<String, String> {
        text(&self.required(value)?)
    }

    fn call(&self, name: &str, argument: &Value, depth: usize) -> Result<Option<Value>, String> {
        let args = |count: usize| -> Result<&Vec<Value>, String> {
            match argument {
                Value::Array(items) if items.len() == count => Ok(items),
                _ => Err(format!("{name} takes a list of {count}, found {argument}")),
            }
        };
        let value = match name {
            "Ref" => return self.reference(&self.text(argument)?),
            "Condition" => Value::Bool(self.named_condition(&self.text(argument)?, depth + 1)?),
            "Fn::GetAtt" => {
                let pair = args(2)?;
                Value::String(self.attribute(&self.text(&pair[0])?, &self.text(&pair[1])?)?)
            }
            "Fn::Sub" => Value::String(self.substitute(argument)?),
            "Fn::Join" => {
                let pair = args(2)?;
                let delimiter = self.text(&pair[0])?;
                let items = self.list(&pair[1])?;
                let items: Vec<String> = items.iter().map(text).collect::<Result<_, _>>()?;
                Value::String(items.join(&delimiter))
            }
            "Fn::Select" => {
                let pair = args(2)?;
                let index = self.text(&pair[0])?;
                let index: usize = index
                    .parse()
                    .map_err(|_| format!("Fn::Select index {index} is not a number"))?;
                let items = self.list(&pair[1])?;
                items.get(index).cloned().ok_or_else(|| {
                    format!(
                        "Fn::Select index {index} past the end of {} items",
                        items.len()
                    )
                })?
            }
            "Fn::Split" => {
                let pair = args(2)?;
                let delimiter = self.text(&pair[0])?;
                let source = self.text(&pair[1])?;
                Value::from(source.split(delimiter.as_str()).collect::<Vec<_>>())
            }
            "Fn::If" => {
                let triple = args(3)?;
                let branch = if self.named_condition(&text(&triple[0])?, depth + 1)? {
                    &triple[1]
                } else {
                    &triple[2]
                };
                return self.resolve(branch);
            }
            "Fn::Equals" => {
                let pair = args(2)?;
                let left = self.required(&pair[0])?;
                let right = self.required(&pair[1])?;
                Value::Bool(
                    left == right
                        || matches!((text(&left), text(&right)), (Ok(l), Ok(r)) if l == r),
                )
            }
            "Fn::Not" => Value::Bool(!self.boolean(&args(1)?[0], depth + 1)?),
            "Fn::And" | "Fn::Or" => {
                let Value::Array(items) = argument else {
                    return Err(format!("{name} takes a list of conditions"));
                };
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    values.push(self.boolean(item, depth + 1)?);
                }
                Value::Bool(if name == "Fn::And" {
                    values.iter().all(|b| *b)
                } else {
                    values.iter().any(|b| *b)
                })
            }
            "Fn::ImportValue" => {
                let export = self.text(argument)?;
                Value::String(self.exports.get(&export).cloned().ok_or_else(|| {
                    format!(
                        "Fn::ImportValue {export}: no stack deployed before this one exports it"
                    )
                })?)
            }
            other => return Err(format!("the intrinsic function {other} is not supported")),
        };
        Ok(Some(value))
    }

    fn list(&self, value: &Value) -> Result<Vec<Value>, String> {
        match self.required(value)? {
            Value::Array(items) => Ok(items),
            other => Err(format!("expected a list, found {other}")),
        }
    }

    fn reference(&self, name: &str) -> Result<Option<Value>, String> {
        let pseudo = match name {
            "AWS::NoValue" => return Ok(None),
            "AWS::AccountId" => Some(self.account.to_string()),
            "AWS::Region" => Some(self.region.to_string()),
            "AWS::StackName" => Some(self.stack.to_string()),
            "AWS::StackId" => Some(format!(
                "arn:aws:cloudformation:{}:{}:stack/{}/local",
                self.region, self.account, self.stack
            )),
            "AWS::Partition" => Some("aws".to_string()),
            "AWS::URLSuffix" => Some("amazonaws.com".to_string()),
            _ => None,
        };
        if let Some(value) = pseudo {
            return Ok(Some(Value::String(value)));
        }
        if let Some(value) = self.parameters.get(name) {
            return Ok(Some(value.clone()));
        }
        match self.resources.get(name) {
            Some(physical) => Ok(Some(Value::String(physical.reference.clone()))),
            None => Err(format!("Ref {name}: no parameter or resource of that name")),
        }
    }

    fn attribute(&self, resource: &str, attribute: &str) -> Result<String, String> {
        let physical = self
            .resources
            .get(resource)
            .ok_or_else(|| format!("Fn::GetAtt {resource}.{attribute}: no resource {resource}"))?;
        physical.attributes.get(attribute).cloned().ok_or_else(|| {
            format!("Fn::GetAtt {resource}.{attribute}: the local hub does not know that attribute")
        })
    }

    fn substitute(&self, argument: &Value) -> Result<String, String> {
        let (template, variables) = match argument {
            Value::String(template) => (template.as_str(), None),
            Value::Array(pair) if pair.len() == 2 => match (&pair[0], &pair[1]) {
                (Value::String(template), Value::Object(variables)) => {
                    (template.as_str(), Some(variables))
                }
                _ => return Err("Fn::Sub takes a string, or a string and a map".to_string()),
            },
            _ => return Err("Fn::Sub takes a string, or a string and a map".to_string()),
        };
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| format!("Fn::Sub {template}: an unclosed ${{"))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                // `${!Literal}` is written out as `${Literal}`.
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(value) = variables.and_then(|v| v.get(name)) {
                out.push_str(&self.text(value)?);
            } else if let Some((resource, attribute)) = name.split_once('.')
                && !name.starts_with("AWS::")
            {
                out.push_str(&self.attribute(resource, attribute)?);
            } else {
                let value = self
                    .reference(name)?
                    .ok_or_else(|| format!("Fn::Sub {template}: ${{{name}}} has no value"))?;
                out.push_str(&text(&value)?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// `{"Ref": x}`, `{"Condition": x}` or `{"Fn::...": x}`: the function's name and argument.
fn intrinsic(map: &Map<String, Value>) -> Option<(&str, &Value)> {
    if map.len() != 1 {
        return None;
    }
    let (name, argument) = map.iter().next()?;
    (name == "Ref" || name == "Condition" || name.starts_with("Fn::"))
        .then_some((name.as_str(), argument))
}

/// A scalar as CloudFormation turns it into text.
fn text(value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(format!("expected text, found {other}")),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::{Map, Value, json};

    use super::{Physical, Scope};

    fn resolve(value: Value) -> Result<Option<Value>, String> {
        let parameters = BTreeMap::from([
            ("Stage".to_string(), json!("dev")),
            ("Downstream".to_string(), json!(["arn:a", "arn:b"])),
            ("Empty".to_string(), json!([""])),
        ]);
        let Value::Object(conditions) = json!({
            "IsDev": {"Fn::Equals": [{"Ref": "Stage"}, "dev"]},
            "NotDev": {"Fn::Not": [{"Condition": "IsDev"}]},
            "Either": {"Fn::Or": [{"Condition": "NotDev"}, {"Condition": "IsDev"}]},
            "Loop": {"Fn::Not": [{"Condition": "Loop"}]},
        }) else {
            unreachable!("an object literal")
        };
        let resources = BTreeMap::from([(
            "Stream".to_string(),
            Physical {
                reference: "hub-Stream".to_string(),
                attributes: BTreeMap::from([("Arn".to_string(), "arn:stream".to_string())]),
            },
        )]);
        let exports = BTreeMap::from([("hub-BusName".to_string(), "bus".to_string())]);
        let scope = Scope {
            stack: "hub",
            account: "123456789012",
            region: "eu-west-1",
            parameters: &parameters,
            conditions: &conditions,
            resources: &resources,
            exports: &exports,
        };
        let _: &Map<String, Value> = scope.conditions;
        scope.resolve(&value)
    }

    #[test]
    fn evaluates_what_the_templates_use() {
        let value = json!({
            "ref": {"Ref": "Stream"},
            "arn": {"Fn::GetAtt": ["Stream", "Arn"]},
            "sub": {"Fn::Sub": "${AWS::StackName}-${Stage}-${Stream.Arn}-${!Literal}"},
            "subMap": {"Fn::Sub": ["${X}/${AWS::Region}", {"X": {"Ref": "Stage"}}]},
            "second": {"Fn::Select": [1, {"Fn::Split": [",", {"Fn::Join": [",", [{"Fn::Join": [",", {"Ref": "Downstream"}]}, ",,"]]}]}]},
            "if": {"Fn::If": ["NotDev", "prod", "dev"]},
            "gone": {"Fn::If": ["IsDev", {"Ref": "AWS::NoValue"}, "kept"]},
            "list": ["a", {"Ref": "AWS::NoValue"}, {"Fn::If": ["Either", "b", "c"]}],
            "import": {"Fn::ImportValue": {"Fn::Sub": "hub-BusName"}},
        });
        assert_eq!(
            resolve(value).expect("resolves"),
            Some(json!({
                "ref": "hub-Stream",
                "arn": "arn:stream",
                "sub": "hub-dev-arn:stream-${Literal}",
                "subMap": "dev/eu-west-1",
                "second": "arn:b",
                "if": "dev",
                "list": ["a", "b"],
                "import": "bus",
            }))
        );
    }

    #[test]
    fn errors_name_what_is_missing() {
        for (value, expected) in [
            (json!({"Ref": "Nope"}), "Ref Nope"),
            (json!({"Fn::GetAtt": ["Stream", "Shards"]}), "Stream.Shards"),
            (json!({"Fn::ImportValue": "other-Arn"}), "other-Arn"),
            (
                json!({"Fn::FindInMap": ["M", "a", "b"]}),
                "Fn::FindInMap is not supported",
            ),
            (json!({"Fn::If": ["Loop", 1, 2]}), "cycle"),
            (json!({"Fn::Select": [5, {"Ref": "Empty"}]}), "past the end"),
            (json!({"Fn::Sub": "${Unclosed"}), "unclosed"),
        ] {
            let err = resolve(value.clone()).expect_err("an error");
            assert!(err.contains(expected), "{value}: {err}");
        }
    }
}
