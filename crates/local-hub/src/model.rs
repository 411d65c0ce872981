//! The hub model: what the deployed templates say about routing. Bus rules (and SAM
//! `EventBridgeRule` event sources) with their compiled patterns and targets, the functions
//! and their event source mappings, SNS subscriptions and queues.

use event_pattern::Pattern;
use serde_json::Value;

use crate::template::{Deployment, Resource, Stack, TemplateError};

/// A rule on a bus: its pattern and where it sends what matches.
#[derive(Debug, Clone)]
pub struct Rule {
    /// `stack/LogicalId`.
    pub name: String,
    /// The bus's name (`default` when the rule names none).
    pub bus: String,
    /// The compiled pattern.
    pub pattern: Pattern,
    /// Where matching events go.
    pub targets: Vec<Target>,
}

/// One target of a rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// The target's `Id`.
    pub id: String,
    /// Its ARN (a stream, a bus, a function, a log group, ...).
    pub arn: String,
    /// `InputPath`: the part of the event sent.
    pub input_path: Option<String>,
    /// `InputTransformer`, as written.
    pub input_transformer: Option<Value>,
    /// `KinesisParameters.PartitionKeyPath`.
    pub partition_key_path: Option<String>,
}

/// A function the templates deploy.
#[derive(Debug, Clone)]
pub struct Function {
    /// `stack/LogicalId`.
    pub name: String,
    /// The deployed function name.
    pub function_name: String,
    /// The binary it runs (`Metadata.BuildProperties.Binary`).
    pub binary: String,
    /// Its environment variables.
    pub environment: Vec<(String, String)>,
}

/// Which service an event source mapping reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// A Kinesis stream.
    Kinesis,
    /// A DynamoDB table's stream.
    DynamoDb,
    /// An SQS queue.
    Sqs,
}

/// An event source mapping: a function reading a stream or a queue, with Lambda's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct EventSource {
    /// The function (`stack/LogicalId`).
    pub function: String,
    /// What it reads.
    pub kind: SourceKind,
    /// The stream's or queue's ARN.
    pub arn: String,
    /// `BatchSize` (Lambda's default: 100 for streams, 10 for queues).
    pub batch_size: usize,
    /// `MaximumBatchingWindowInSeconds`.
    pub batching_window_seconds: u64,
    /// `FunctionResponseTypes` has `ReportBatchItemFailures`.
    pub report_batch_item_failures: bool,
    /// `MaximumRetryAttempts` (streams; `None`: until the record expires).
    pub maximum_retry_attempts: Option<u64>,
    /// `BisectBatchOnFunctionError`.
    pub bisect_on_error: bool,
    /// `MaximumRecordAgeInSeconds`.
    pub maximum_record_age_seconds: Option<u64>,
    /// `DestinationConfig.OnFailure.Destination`.
    pub on_failure: Option<String>,
}

/// An SNS subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    /// The topic's ARN.
    pub topic: String,
    /// `sqs`, `lambda`, ...
    pub protocol: String,
    /// The queue's (or function's) ARN.
    pub endpoint: String,
    /// `RawMessageDelivery`.
    pub raw: bool,
}

/// Everything routing-related in a deployment.
#[derive(Debug, Clone)]
pub struct HubModel {
    /// The deployment it was read from.
    pub deployment: Deployment,
    /// Every rule on every bus.
    pub rules: Vec<Rule>,
    /// Every function.
    pub functions: Vec<Function>,
    /// Every event source mapping.
    pub sources: Vec<EventSource>,
    /// Every SNS subscription.
    pub subscriptions: Vec<Subscription>,
}

impl HubModel {
    /// Reads the model out of `deployment`.
    pub fn new(deployment: Deployment) -> Result<Self, TemplateError> {
        let mut rules = Vec::new();
        let mut functions = Vec::new();
        let mut sources = Vec::new();
        let mut subscriptions = Vec::new();
        for stack in &deployment.stacks {
            for (id, resource) in &stack.resources {
                let error = |reason: String| TemplateError {
                    template: stack.template.clone(),
                    at: Some(format!("Resources.{id}")),
                    reason,
                };
                let props = &resource.properties;
                match resource.kind.as_str() {
                    "AWS::Events::Rule" => rules.push(bus_rule(stack, id, props).map_err(error)?),
                    "AWS::Serverless::Function" => {
                        let function = function(stack, id, resource).map_err(error)?;
                        for (event, source) in props
                            .get("Events")
                            .and_then(Value::as_object)
                            .into_iter()
                            .flatten()
                        {
                            let at = |e: String| error(format!("Events.{event}: {e}"));
                            match source.get("Type").and_then(Value::as_str) {
                                Some("Kinesis" | "DynamoDB" | "SQS") => {
                                    sources.push(event_source(&function, source).map_err(at)?)
                                }
                                Some("EventBridgeRule") => rules.push(
                                    function_rule(&function, resource, event, source)
                                        .map_err(at)?,
                                ),
                                Some("Api" | "HttpApi") => {}
                                other => {
                                    return Err(at(format!(
                                        "the event source type {other:?} is not supported by the local hub"
                                    )));
                                }
                            }
                        }
                        functions.push(function);
                    }
                    "AWS::SNS::Subscription" => subscriptions.push(Subscription {
                        topic: text(props, "TopicArn").map_err(error)?,
                        protocol: text(props, "Protocol").map_err(error)?,
                        endpoint: text(props, "Endpoint").map_err(error)?,
                        raw: flag(props.get("RawMessageDelivery")),
                    }),
                    _ => {}
                }
            }
        }
        Ok(Self {
            deployment,
            rules,
            functions,
            sources,
            subscriptions,
        })
    }

    /// What the resource with `arn` is, in words: `stack/LogicalId (kind)`, or the ARN itself
    /// for something outside the deployment.
    pub fn describe(&self, arn: &str) -> String {
        match self.deployment.find(arn) {
            Some((stack, id, resource)) => {
                let kind = resource.kind.rsplit("::").next().unwrap_or(&resource.kind);
                format!("{}/{id} ({kind})", stack.name)
            }
            None => arn.to_string(),
        }
    }

    /// The functions reading the stream or queue `arn`.
    pub fn consumers<'a>(&'a self, arn: &'a str) -> impl Iterator<Item = &'a EventSource> + 'a {
        self.sources.iter().filter(move |s| s.arn == arn)
    }
}

fn text(value: &Value, key: &str) -> Result<String, String> {
    match value.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(format!("{key} is not text: {other}")),
        None => Err(format!("{key} is required")),
    }
}

fn optional_text(value: &Value, key: &str) -> Result<Option<String>, String> {
    match value.get(key) {
        None => Ok(None),
        Some(_) => text(value, key).map(Some),
    }
}

fn flag(value: Option<&Value>) -> bool {
    matches!(value, Some(Value::Bool(true)))
        || matches!(value, Some(Value::String(s)) if s == "true")
}

fn number(value: &Value, key: &str) -> Result<Option<u64>, String> {
    match value.get(key) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("{key}: {n} is not a count")),
        Some(Value::String(s)) => s
            .parse()
            .map(Some)
            .map_err(|_| format!("{key}: {s} is not a count")),
        Some(other) => Err(format!("{key}: {other} is not a count")),
    }
}

/// A pattern as templates write it: YAML (an object) or a JSON string.
fn pattern(value: Option<&Value>) -> Result<Pattern, String> {
    let pattern = match value {
        Some(Value::String(json)) => Pattern::parse(json),
        Some(object @ Value::Object(_)) => Pattern::parse(&object.to_string()),
        Some(other) => {
            return Err(format!(
                "EventPattern is neither an object nor JSON text: {other}"
            ));
        }
        None => {
            return Err(
                "EventPattern is required (the local hub runs no scheduled rules)".to_string(),
            );
        }
    };
    pattern.map_err(|e| e.to_string())
}

/// A bus's name from its name or ARN.
fn bus_name(value: Option<String>) -> String {
    match value {
        None => "default".to_string(),
        Some(name) => match name.split_once(":event-bus/") {
            Some((_, name)) => name.to_string(),
            None => name,
        },
    }
}

fn bus_rule(stack: &Stack, id: &str, props: &Value) -> Result<Rule, String> {
    let mut targets = Vec::new();
    for target in props
        .get("Targets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        targets.push(Target {
            id: text(target, "Id")?,
            arn: text(target, "Arn")?,
            input_path: optional_text(target, "InputPath")?,
            input_transformer: target.get("InputTransformer").cloned(),
            partition_key_path: match target.get("KinesisParameters") {
                Some(kinesis) => Some(text(kinesis, "PartitionKeyPath")?),
                None => None,
            },
        });
    }
    // A disabled rule matches nothing.
    if matches!(props.get("State").and_then(Value::as_str), Some("DISABLED")) {
        targets.clear();
    }
    Ok(Rule {
        name: format!("{}/{id}", stack.name),
        bus: bus_name(optional_text(props, "EventBusName")?),
        pattern: pattern(props.get("EventPattern"))?,
        targets,
    })
}

fn function(stack: &Stack, id: &str, resource: &Resource) -> Result<Function, String> {
    let props = &resource.properties;
    let binary = resource
        .metadata
        .get("BuildProperties")
        .and_then(|p| p.get("Binary"))
        .and_then(Value::as_str)
        .ok_or("Metadata.BuildProperties.Binary is required: it names the binary the hub runs")?;
    let environment = props
        .get("Environment")
        .and_then(|e| e.get("Variables"))
        .and_then(Value::as_object)
        .map(|variables| {
            variables
                .iter()
                .map(|(k, v)| {
                    let value = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), value)
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Function {
        name: format!("{}/{id}", stack.name),
        function_name: resource.physical.reference.clone(),
        binary: binary.to_string(),
        environment,
    })
}

fn event_source(function: &Function, source: &Value) -> Result<EventSource, String> {
    let props = source.get("Properties").ok_or("Properties are required")?;
    let (kind, arn) = match source.get("Type").and_then(Value::as_str) {
        Some("Kinesis") => (SourceKind::Kinesis, text(props, "Stream")?),
        Some("DynamoDB") => (SourceKind::DynamoDb, text(props, "Stream")?),
        _ => (SourceKind::Sqs, text(props, "Queue")?),
    };
    let report = props
        .get("FunctionResponseTypes")
        .and_then(Value::as_array)
        .is_some_and(|types| types.iter().any(|t| t == "ReportBatchItemFailures"));
    let default_batch = if kind == SourceKind::Sqs { 10 } else { 100 };
    Ok(EventSource {
        function: function.name.clone(),
        kind,
        arn,
        batch_size: number(props, "BatchSize")?.map_or(default_batch, |n| n as usize),
        batching_window_seconds: number(props, "MaximumBatchingWindowInSeconds")?.unwrap_or(0),
        report_batch_item_failures: report,
        maximum_retry_attempts: number(props, "MaximumRetryAttempts")?,
        bisect_on_error: flag(props.get("BisectBatchOnFunctionError")),
        maximum_record_age_seconds: number(props, "MaximumRecordAgeInSeconds")?,
        on_failure: props
            .get("DestinationConfig")
            .and_then(|d| d.get("OnFailure"))
            .map(|d| text(d, "Destination"))
            .transpose()?,
    })
}

fn function_rule(
    function: &Function,
    resource: &Resource,
    event: &str,
    source: &Value,
) -> Result<Rule, String> {
    let props = source.get("Properties").ok_or("Properties are required")?;
    let arn = resource
        .physical
        .attributes
        .get("Arn")
        .cloned()
        .ok_or("the function has no ARN")?;
    Ok(Rule {
        name: format!("{}.{event}", function.name),
        bus: bus_name(optional_text(props, "EventBusName")?),
        pattern: pattern(props.get("Pattern"))?,
        targets: vec![Target {
            id: event.to_string(),
            arn,
            input_path: optional_text(props, "InputPath")?,
            input_transformer: None,
            partition_key_path: None,
        }],
    })
}
