//! DynamoDB tables for tests in `moto_server`, and a table's stream read back as the Lambda
//! event a trigger receives.

use aws_config::SdkConfig;
use serde_json::json;

use super::unique_name;

/// A new table keyed `pk` (string) and `sk` (string), on demand: the layout of the entity
/// tables and of [`crate::Idempotency`].
///
/// # Panics
/// When moto refuses the table: this is test setup.
pub async fn new_table(config: &SdkConfig) -> crate::DynamoDbStore {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let client = aws_sdk_dynamodb::Client::new(config);
    let table = unique_name("entities");
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("an attribute")
    };
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .expect("a key")
    };
    client
        .create_table()
        .table_name(&table)
        .attribute_definitions(attribute("pk"))
        .attribute_definitions(attribute("sk"))
        .attribute_definitions(attribute("data"))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        // The event store's correlation index (`data`, `sk`), as its template declares it.
        .global_secondary_indexes(
            aws_sdk_dynamodb::types::GlobalSecondaryIndex::builder()
                .index_name(crate::event_store::DATA_INDEX)
                .key_schema(key("data", KeyType::Hash))
                .key_schema(key("sk", KeyType::Range))
                .projection(
                    aws_sdk_dynamodb::types::Projection::builder()
                        .projection_type(aws_sdk_dynamodb::types::ProjectionType::All)
                        .build(),
                )
                .build()
                .expect("an index"),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create the table");
    crate::DynamoDbStore::new(client, table)
}

/// The changes a DynamoDB table's stream holds (every shard, from its start), as the Lambda
/// event a trigger on the table receives: what a trigger test feeds the handler from a table
/// in `moto_server`.
pub async fn table_stream_event(config: &SdkConfig, table: &str) -> lambda_stream::RecordsEvent {
    use aws_sdk_dynamodbstreams::types::{AttributeValue, ShardIteratorType};
    let dynamodb = aws_sdk_dynamodb::Client::new(config);
    let streams = aws_sdk_dynamodbstreams::Client::new(config);
    let description = dynamodb
        .describe_table()
        .table_name(table)
        .send()
        .await
        .expect("describe the table");
    let stream_arn = description
        .table()
        .and_then(|t| t.latest_stream_arn())
        .expect("the table has a stream")
        .to_string();
    let stream = streams
        .describe_stream()
        .stream_arn(&stream_arn)
        .send()
        .await
        .expect("describe the stream");
    let shards: Vec<String> = stream
        .stream_description()
        .map(|d| {
            d.shards()
                .iter()
                .filter_map(|s| s.shard_id().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    fn attribute(value: &AttributeValue) -> serde_json::Value {
        let b64 = |b: &aws_sdk_dynamodbstreams::primitives::Blob| {
            aws_smithy_types::base64::encode(b.as_ref())
        };
        match value {
            AttributeValue::S(s) => json!({"S": s}),
            AttributeValue::N(n) => json!({"N": n}),
            AttributeValue::B(b) => json!({"B": b64(b)}),
            AttributeValue::Bool(b) => json!({"BOOL": b}),
            AttributeValue::Null(_) => json!({"NULL": true}),
            AttributeValue::Ss(v) => json!({"SS": v}),
            AttributeValue::Ns(v) => json!({"NS": v}),
            AttributeValue::Bs(v) => json!({"BS": v.iter().map(b64).collect::<Vec<_>>()}),
            AttributeValue::L(items) => {
                json!({"L": items.iter().map(attribute).collect::<Vec<_>>()})
            }
            AttributeValue::M(map) => json!({"M": item(map)}),
            _ => json!({"NULL": true}),
        }
    }
    fn item(map: &std::collections::HashMap<String, AttributeValue>) -> serde_json::Value {
        serde_json::Value::Object(map.iter().map(|(k, v)| (k.clone(), attribute(v))).collect())
    }
    let mut records = Vec::new();
    for shard in shards {
        let mut iterator = streams
            .get_shard_iterator()
            .stream_arn(&stream_arn)
            .shard_id(&shard)
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .expect("a shard iterator")
            .shard_iterator;
        while let Some(current) = iterator.take() {
            let page = streams
                .get_records()
                .shard_iterator(current)
                .send()
                .await
                .expect("the shard's records");
            if page.records().is_empty() {
                break;
            }
            for record in page.records() {
                let Some(change) = record.dynamodb() else {
                    continue;
                };
                let mut dynamodb = json!({
                    "ApproximateCreationDateTime": change.approximate_creation_date_time().map_or(0.0, |t| t.as_secs_f64()),
                    "SequenceNumber": change.sequence_number(),
                    "SizeBytes": change.size_bytes(),
                    "StreamViewType": change.stream_view_type().map(|v| v.as_str()),
                });
                if let Some(keys) = change.keys() {
                    dynamodb["Keys"] = item(keys);
                }
                if let Some(new) = change.new_image() {
                    dynamodb["NewImage"] = item(new);
                }
                if let Some(old) = change.old_image() {
                    dynamodb["OldImage"] = item(old);
                }
                let mut lambda = json!({
                    "eventID": record.event_id(),
                    "eventName": record.event_name().map(|n| n.as_str()),
                    "eventVersion": record.event_version(),
                    "eventSource": "aws:dynamodb",
                    "awsRegion": record.aws_region(),
                    "dynamodb": dynamodb,
                    "eventSourceARN": stream_arn,
                });
                if let Some(identity) = record.user_identity() {
                    lambda["userIdentity"] =
                        json!({"type": identity.r#type(), "principalId": identity.principal_id()});
                }
                records.push(lambda);
            }
            iterator = page.next_shard_iterator;
        }
    }
    serde_json::from_value(json!({ "Records": records })).expect("a DynamoDB stream event")
}

/// A new table keyed `pk`/`sk` with a `NEW_AND_OLD_IMAGES` stream and the global secondary
/// indexes given as `(name, partition key, sort key)` (string attributes).
pub async fn new_streamed_table(
    config: &SdkConfig,
    indexes: &[(&str, &str, &str)],
) -> crate::DynamoDbStore {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
        Projection, ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    };
    let client = aws_sdk_dynamodb::Client::new(config);
    let table = unique_name("bff");
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .expect("a key")
    };
    let mut attributes: Vec<&str> = vec!["pk", "sk"];
    for (_, hash, range) in indexes {
        attributes.extend([*hash, *range]);
    }
    attributes.sort_unstable();
    attributes.dedup();
    let mut request = client
        .create_table()
        .table_name(&table)
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .expect("a stream"),
        );
    for name in attributes {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("an attribute"),
        );
    }
    for (name, hash, range) in indexes {
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(*name)
                .key_schema(key(hash, KeyType::Hash))
                .key_schema(key(range, KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .expect("an index"),
        );
    }
    request.send().await.expect("create the table");
    crate::DynamoDbStore::new(client, table)
}
