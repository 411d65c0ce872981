//! Building the hub's resources from the deployment: a stream per Kinesis stream (its shard
//! count) and per table stream, a queue per SQS queue (visibility timeout, redrive policy), a
//! table per DynamoDB table, the topics' subscriptions, a cursor per mapping and shard.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use lambda_stream::encryption::Keyring;
use lambda_stream::testing::{InMemoryClaimChecks, InMemoryDataKeys};
use serde_json::Value;

use super::resources::{Queue, Stream, Table};
use super::{Core, Cursor, HubError, State, Stats};
use crate::model::{HubModel, Subscription};

fn number(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

impl Core {
    /// The hub's resources for `model`.
    pub fn new(model: HubModel) -> Result<Arc<Self>, HubError> {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let mut streams = BTreeMap::new();
        let mut queues = BTreeMap::new();
        let mut tables = BTreeMap::new();
        for stack in &model.deployment.stacks {
            for (id, resource) in &stack.resources {
                let props = &resource.properties;
                let arn = resource
                    .physical
                    .attributes
                    .get("Arn")
                    .cloned()
                    .unwrap_or_default();
                match resource.kind.as_str() {
                    "AWS::Kinesis::Stream" => {
                        let shards = number(props.get("ShardCount")).unwrap_or(1).max(1) as usize;
                        streams.insert(arn.clone(), Stream::new(&arn, shards));
                    }
                    "AWS::SQS::Queue" => {
                        let redrive = match props.get("RedrivePolicy") {
                            Some(policy) => {
                                let target = policy
                                    .get("deadLetterTargetArn")
                                    .and_then(Value::as_str)
                                    .ok_or_else(|| {
                                        HubError(format!(
                                            "{}/{id}: RedrivePolicy without deadLetterTargetArn",
                                            stack.name
                                        ))
                                    })?;
                                let max = number(policy.get("maxReceiveCount")).unwrap_or(1).max(1);
                                Some((target.to_string(), max as u32))
                            }
                            None => None,
                        };
                        queues.insert(
                            arn.clone(),
                            Queue {
                                arn: arn.clone(),
                                messages: VecDeque::new(),
                                visibility_timeout_s: number(props.get("VisibilityTimeout"))
                                    .unwrap_or(30),
                                retention_s: number(props.get("MessageRetentionPeriod"))
                                    .unwrap_or(345_600),
                                redrive,
                            },
                        );
                    }
                    "AWS::DynamoDB::Table" => {
                        let stream_arn = props
                            .get("StreamSpecification")
                            .and_then(|_| resource.physical.attributes.get("StreamArn"))
                            .cloned();
                        if let Some(stream_arn) = &stream_arn {
                            streams.insert(stream_arn.clone(), Stream::new(stream_arn, 1));
                        }
                        let ttl = props.get("TimeToLiveSpecification");
                        let ttl_attribute = ttl
                            .filter(|ttl| ttl.get("Enabled") == Some(&Value::Bool(true)))
                            .and_then(|ttl| ttl.get("AttributeName"))
                            .and_then(Value::as_str)
                            .map(str::to_string);
                        let name = resource.physical.reference.clone();
                        tables.insert(
                            name.clone(),
                            Table {
                                name,
                                store: Arc::default(),
                                stream_arn,
                                ttl_attribute,
                            },
                        );
                    }
                    _ => {}
                }
            }
        }
        let mut topics: BTreeMap<String, Vec<Subscription>> = BTreeMap::new();
        for subscription in &model.subscriptions {
            topics
                .entry(subscription.topic.clone())
                .or_default()
                .push(subscription.clone());
        }
        for source in &model.sources {
            let known = streams.contains_key(&source.arn) || queues.contains_key(&source.arn);
            if !known {
                return Err(HubError(format!(
                    "{}: its event source {} is not a stream or queue of the deployment",
                    source.function, source.arn
                )));
            }
        }
        let cursors = model
            .sources
            .iter()
            .map(|source| {
                let shards = streams.get(&source.arn).map_or(1, |s| s.shards.len());
                vec![Cursor::default(); shards]
            })
            .collect();
        let buses = crate::routes::compile(&model);
        let keys = InMemoryDataKeys::new(model.deployment.region.clone());
        Ok(Arc::new(Self {
            keyring: Arc::new(Keyring::new(Arc::new(keys))),
            claim_checks: InMemoryClaimChecks::new(),
            model,
            buses,
            topics,
            tables,
            state: Mutex::new(State {
                clock_ms: now_ms,
                next_sequence: 49_000_000_000,
                streams,
                queues,
                sinks: BTreeMap::new(),
                sink_counts: BTreeMap::new(),
                keep_sinks: true,
                cursors,
                stats: Stats::default(),
                log: None,
            }),
        }))
    }
}
