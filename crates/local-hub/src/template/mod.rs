//! The subsystem's templates, deployed on paper: each stack's parameters (defaults, or the
//! local values given), conditions, resources with their properties resolved, and outputs
//! exported to the stacks deployed after it, as CloudFormation would do it.

mod intrinsics;
mod yaml;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

pub use intrinsics::Physical;
use intrinsics::Scope;

/// Why a template could not be read: which file, which resource (when one), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// The template file.
    pub template: PathBuf,
    /// The resource (or `Parameters.X`, `Outputs.X`, `Conditions.X`) at fault, if one.
    pub at: Option<String>,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.at {
            Some(at) => write!(f, "{}: {at}: {}", self.template.display(), self.reason),
            None => write!(f, "{}: {}", self.template.display(), self.reason),
        }
    }
}

impl std::error::Error for TemplateError {}

/// One stack to deploy: its name, its template and the parameter values given to it.
#[derive(Debug, Clone)]
pub struct StackSpec {
    /// The stack's name (`AWS::StackName`).
    pub name: String,
    /// The template file.
    pub template: PathBuf,
    /// Parameter values; parameters not named here take their defaults.
    pub parameters: BTreeMap<String, String>,
}

/// A resource as deployed: its type, its properties with every intrinsic evaluated, and what
/// it answers to `Ref` and `Fn::GetAtt`.
#[derive(Debug, Clone)]
pub struct Resource {
    /// `AWS::Kinesis::Stream`, `AWS::Serverless::Function`, ...
    pub kind: String,
    /// The properties, resolved.
    pub properties: Value,
    /// Its name, ARN and attributes.
    pub physical: Physical,
    /// The template's `Metadata`, as written.
    pub metadata: Value,
}

/// One deployed stack.
#[derive(Debug, Clone)]
pub struct Stack {
    /// The stack's name.
    pub name: String,
    /// The template it came from.
    pub template: PathBuf,
    /// Its resources by logical id (those whose condition is false are left out).
    pub resources: BTreeMap<String, Resource>,
    /// What it exports (`Outputs.*.Export.Name` → value).
    pub exports: BTreeMap<String, String>,
    /// Its parameters' values (given or default; list types as lists).
    pub parameters: BTreeMap<String, Value>,
}

/// Stacks deployed in order into one account and region.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// The account id the stacks see as `AWS::AccountId`.
    pub account: String,
    /// The region.
    pub region: String,
    /// The stacks, in the order deployed.
    pub stacks: Vec<Stack>,
}

impl Deployment {
    /// Deploys `specs` in order; each stack may import what those before it export.
    pub fn new(account: &str, region: &str, specs: &[StackSpec]) -> Result<Self, TemplateError> {
        let mut exports = BTreeMap::new();
        let mut stacks = Vec::with_capacity(specs.len());
        for spec in specs {
            let stack = deploy(account, region, spec, &exports)?;
            for (name, value) in &stack.exports {
                if exports.insert(name.clone(), value.clone()).is_some() {
                    return Err(TemplateError {
                        template: spec.template.clone(),
                        at: None,
                        reason: format!("the export {name} is already exported by another stack"),
                    });
                }
            }
            stacks.push(stack);
        }
        Ok(Self {
            account: account.to_string(),
            region: region.to_string(),
            stacks,
        })
    }

    /// Every resource of type `kind`, with its stack and logical id.
    pub fn resources_of<'a>(
        &'a self,
        kind: &'a str,
    ) -> impl Iterator<Item = (&'a Stack, &'a str, &'a Resource)> + 'a {
        self.stacks.iter().flat_map(move |stack| {
            stack
                .resources
                .iter()
                .filter(move |(_, r)| r.kind == kind)
                .map(move |(id, r)| (stack, id.as_str(), r))
        })
    }

    /// The resource whose ARN (or `Ref`) is `arn`, with its stack and logical id.
    pub fn find(&self, arn: &str) -> Option<(&Stack, &str, &Resource)> {
        self.stacks.iter().find_map(|stack| {
            stack.resources.iter().find_map(|(id, r)| {
                let named =
                    r.physical.reference == arn || r.physical.attributes.values().any(|a| a == arn);
                named.then_some((stack, id.as_str(), r))
            })
        })
    }
}

fn deploy(
    account: &str,
    region: &str,
    spec: &StackSpec,
    exports: &BTreeMap<String, String>,
) -> Result<Stack, TemplateError> {
    let error = |at: Option<String>, reason: String| TemplateError {
        template: spec.template.clone(),
        at,
        reason,
    };
    let text = std::fs::read_to_string(&spec.template).map_err(|e| error(None, e.to_string()))?;
    let document = yaml::parse(&text).map_err(|e| error(None, e))?;
    let section = |name: &str| match document.get(name) {
        Some(Value::Object(map)) => Ok(map.clone()),
        None => Ok(Map::new()),
        Some(_) => Err(error(Some(name.to_string()), "not a mapping".to_string())),
    };
    let parameters =
        parameters(&section("Parameters")?, spec).map_err(|(at, e)| error(Some(at), e))?;
    let conditions = section("Conditions")?;
    let declared = section("Resources")?;

    // Names first (a resource's name may use parameters and pseudo parameters, not other
    // resources), so that every Ref and GetAtt below can be answered.
    let no_resources = BTreeMap::new();
    let mut scope = Scope {
        stack: &spec.name,
        account,
        region,
        parameters: &parameters,
        conditions: &conditions,
        resources: &no_resources,
        exports,
    };
    let mut physical = BTreeMap::new();
    let mut kept = Vec::new();
    for (id, resource) in &declared {
        let at = || Some(format!("Resources.{id}"));
        let kind = resource
            .get("Type")
            .and_then(Value::as_str)
            .ok_or_else(|| error(at(), "no Type".to_string()))?;
        if let Some(condition) = resource.get("Condition") {
            let name = condition
                .as_str()
                .ok_or_else(|| error(at(), "Condition is not a name".to_string()))?;
            if !scope.condition(name).map_err(|e| error(at(), e))? {
                continue;
            }
        }
        let name = name_property(kind)
            .and_then(|key| resource.get("Properties")?.get(key))
            .and_then(|name| scope.resolve(name).ok().flatten())
            .and_then(|name| name.as_str().map(str::to_string))
            .unwrap_or_else(|| format!("{}-{id}", spec.name));
        physical.insert(id.clone(), physical_of(kind, &name, account, region));
        kept.push((id, kind, resource));
    }
    scope.resources = &physical;

    let mut resources = BTreeMap::new();
    for (id, kind, resource) in kept {
        let at = || Some(format!("Resources.{id}"));
        let properties = match resource.get("Properties") {
            Some(properties) => scope
                .resolve(properties)
                .map_err(|e| error(at(), e))?
                .unwrap_or(Value::Null),
            None => Value::Null,
        };
        resources.insert(
            id.clone(),
            Resource {
                kind: kind.to_string(),
                properties,
                physical: physical[id].clone(),
                metadata: resource.get("Metadata").cloned().unwrap_or(Value::Null),
            },
        );
    }

    let mut stack_exports = BTreeMap::new();
    for (id, output) in section("Outputs")? {
        let at = || Some(format!("Outputs.{id}"));
        if let Some(condition) = output.get("Condition").and_then(Value::as_str)
            && !scope.condition(condition).map_err(|e| error(at(), e))?
        {
            continue;
        }
        let Some(export) = output.get("Export").and_then(|e| e.get("Name")) else {
            continue;
        };
        let resolve_text = |value: &Value| -> Result<String, TemplateError> {
            match scope.resolve(value).map_err(|e| error(at(), e))? {
                Some(Value::String(text)) => Ok(text),
                other => Err(error(at(), format!("expected text, found {other:?}"))),
            }
        };
        let name = resolve_text(export)?;
        let value = resolve_text(output.get("Value").unwrap_or(&Value::Null))?;
        stack_exports.insert(name, value);
    }

    Ok(Stack {
        name: spec.name.clone(),
        template: spec.template.clone(),
        resources,
        exports: stack_exports,
        parameters,
    })
}

/// Each parameter's value: the one given, else its default. List types become lists.
fn parameters(
    declared: &Map<String, Value>,
    spec: &StackSpec,
) -> Result<BTreeMap<String, Value>, (String, String)> {
    if let Some(unknown) = spec.parameters.keys().find(|k| !declared.contains_key(*k)) {
        return Err((
            format!("Parameters.{unknown}"),
            "given a value but the template declares no such parameter".to_string(),
        ));
    }
    let mut values = BTreeMap::new();
    for (name, declaration) in declared {
        let at = format!("Parameters.{name}");
        let text = match spec.parameters.get(name) {
            Some(given) => given.clone(),
            None => match declaration.get("Default") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                Some(Value::Bool(b)) => b.to_string(),
                Some(other) => return Err((at, format!("a default that is not text: {other}"))),
                None => return Err((at, "no default and no value given".to_string())),
            },
        };
        let kind = declaration
            .get("Type")
            .and_then(Value::as_str)
            .unwrap_or("String");
        let value = if kind == "CommaDelimitedList" || kind.starts_with("List<") {
            Value::from(text.split(',').map(str::trim).collect::<Vec<_>>())
        } else {
            Value::String(text)
        };
        values.insert(name.clone(), value);
    }
    Ok(values)
}

/// The property that names a resource of `kind`, when the template may set it.
fn name_property(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "AWS::Kinesis::Stream" | "AWS::Events::EventBus" | "AWS::Events::Rule" => "Name",
        "AWS::SQS::Queue" => "QueueName",
        "AWS::SNS::Topic" => "TopicName",
        "AWS::DynamoDB::Table" => "TableName",
        "AWS::Logs::LogGroup" => "LogGroupName",
        "AWS::Serverless::Function" | "AWS::Lambda::Function" => "FunctionName",
        "AWS::S3::Bucket" => "BucketName",
        "AWS::KinesisFirehose::DeliveryStream" => "DeliveryStreamName",
        "AWS::Events::Archive" => "ArchiveName",
        "AWS::IAM::Role" => "RoleName",
        "AWS::KMS::Alias" => "AliasName",
        _ => return None,
    })
}

/// What a resource of `kind` named `name` answers to `Ref` and `Fn::GetAtt`, with ARNs in the
/// shapes AWS gives them (so that an ARN written by hand in a parameter finds the resource).
fn physical_of(kind: &str, name: &str, account: &str, region: &str) -> Physical {
    let arn =
        |service: &str, resource: &str| format!("arn:aws:{service}:{region}:{account}:{resource}");
    let (reference, attributes): (String, Vec<(&str, String)>) = match kind {
        "AWS::Kinesis::Stream" => (
            name.into(),
            vec![("Arn", arn("kinesis", &format!("stream/{name}")))],
        ),
        "AWS::SQS::Queue" => {
            let url = format!("https://sqs.{region}.amazonaws.com/{account}/{name}");
            (
                url.clone(),
                vec![
                    ("Arn", arn("sqs", name)),
                    ("QueueName", name.into()),
                    ("QueueUrl", url),
                ],
            )
        }
        "AWS::SNS::Topic" => {
            let topic = arn("sns", name);
            (
                topic.clone(),
                vec![("TopicArn", topic), ("TopicName", name.into())],
            )
        }
        "AWS::Events::EventBus" => (
            name.into(),
            vec![
                ("Arn", arn("events", &format!("event-bus/{name}"))),
                ("Name", name.into()),
            ],
        ),
        "AWS::Events::Rule" => (
            name.into(),
            vec![("Arn", arn("events", &format!("rule/{name}")))],
        ),
        "AWS::Events::Archive" => (
            name.into(),
            vec![
                ("Arn", arn("events", &format!("archive/{name}"))),
                ("ArchiveName", name.into()),
            ],
        ),
        "AWS::DynamoDB::Table" => {
            let table = arn("dynamodb", &format!("table/{name}"));
            let stream = format!("{table}/stream/local");
            (name.into(), vec![("Arn", table), ("StreamArn", stream)])
        }
        "AWS::Logs::LogGroup" => (
            name.into(),
            vec![("Arn", arn("logs", &format!("log-group:{name}:*")))],
        ),
        "AWS::Serverless::Function" | "AWS::Lambda::Function" => (
            name.into(),
            vec![("Arn", arn("lambda", &format!("function:{name}")))],
        ),
        "AWS::S3::Bucket" => (name.into(), vec![("Arn", format!("arn:aws:s3:::{name}"))]),
        "AWS::KinesisFirehose::DeliveryStream" => (
            name.into(),
            vec![("Arn", arn("firehose", &format!("deliverystream/{name}")))],
        ),
        "AWS::IAM::Role" => (
            name.into(),
            vec![("Arn", format!("arn:aws:iam::{account}:role/{name}"))],
        ),
        // A key is referred to by its id; the hub names it after its logical id.
        "AWS::KMS::Key" => (
            name.into(),
            vec![
                ("Arn", arn("kms", &format!("key/{name}"))),
                ("KeyId", name.into()),
            ],
        ),
        "AWS::KMS::Alias" => (name.into(), vec![]),
        other => {
            let service = other.split("::").nth(1).unwrap_or("local").to_lowercase();
            (name.into(), vec![("Arn", arn(&service, name))])
        }
    };
    Physical {
        reference,
        attributes: attributes
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    }
}

/// The stacks of the Customer subsystem, read from `dir/local-hub.json`: which template each
/// stack deploys, under which name and with which parameter values, in deployment order.
pub fn stack_specs(dir: &Path) -> Result<(String, String, Vec<StackSpec>), TemplateError> {
    let file = dir.join("local-hub.json");
    let error = |reason: String| TemplateError {
        template: file.clone(),
        at: None,
        reason,
    };
    let text = std::fs::read_to_string(&file).map_err(|e| error(e.to_string()))?;
    let config: Value = serde_json::from_str(&text).map_err(|e| error(e.to_string()))?;
    let field = |name: &str| {
        config
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| error(format!("`{name}` (text) is required")))
    };
    let account = field("account")?;
    let region = field("region")?;
    let stacks = config
        .get("stacks")
        .and_then(Value::as_array)
        .ok_or_else(|| error("`stacks` (a list) is required".to_string()))?;
    let mut specs = Vec::with_capacity(stacks.len());
    for stack in stacks {
        let text_of = |name: &str| {
            stack
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| error(format!("each stack needs `{name}`: {stack}")))
        };
        let mut parameters = BTreeMap::new();
        if let Some(given) = stack.get("parameters").and_then(Value::as_object) {
            for (name, value) in given {
                let value = value
                    .as_str()
                    .ok_or_else(|| error(format!("parameter {name}: values are text")))?;
                parameters.insert(name.clone(), value.to_string());
            }
        }
        specs.push(StackSpec {
            name: text_of("name")?.to_string(),
            template: dir.join(text_of("template")?),
            parameters,
        });
    }
    Ok((account, region, specs))
}
