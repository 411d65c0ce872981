//! The JSON Lambda sends a function for each event source, and the batch item failures it
//! reads back.

use base64::Engine;
use serde_json::{Value, json};

use super::resources::{Message, StreamRecord};

/// A Kinesis batch from one shard.
pub fn kinesis(records: &[StreamRecord], shard: usize, stream_arn: &str, region: &str) -> Vec<u8> {
    let records: Vec<Value> = records
        .iter()
        .map(|r| {
            json!({
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": r.partition_key,
                    "sequenceNumber": r.sequence.to_string(),
                    "data": base64::engine::general_purpose::STANDARD.encode(&r.data),
                    "approximateArrivalTimestamp": r.arrived_ms as f64 / 1_000.0,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": format!("shardId-{shard:012}:{}", r.sequence),
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::000000000000:role/local-hub",
                "awsRegion": region,
                "eventSourceARN": stream_arn,
            })
        })
        .collect();
    json!({ "Records": records }).to_string().into_bytes()
}

/// A DynamoDB stream batch (the records are the stream's JSON already).
pub fn dynamodb(records: &[StreamRecord]) -> Vec<u8> {
    let mut out = br#"{"Records":["#.to_vec();
    for (i, record) in records.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&record.data);
    }
    out.extend_from_slice(b"]}");
    out
}

/// An SQS batch.
pub fn sqs(messages: &[Message], queue_arn: &str, region: &str) -> Vec<u8> {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            json!({
                "messageId": m.id,
                "receiptHandle": format!("{}#{}", m.id, m.receive_count),
                "body": m.body,
                "attributes": {
                    "ApproximateReceiveCount": m.receive_count.to_string(),
                    "SentTimestamp": m.sent_ms.to_string(),
                    "SenderId": "local-hub",
                    "ApproximateFirstReceiveTimestamp": m.sent_ms.to_string(),
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            })
        })
        .collect();
    json!({ "Records": records }).to_string().into_bytes()
}

/// The item identifiers a response reports as failed (`batchItemFailures`); `Err` when the
/// response is not one Lambda can read, which Lambda treats as the whole batch failing.
pub fn failed_items(response: &Value) -> Result<Vec<String>, String> {
    let failures = match response.get("batchItemFailures") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(other) => return Err(format!("batchItemFailures is not a list: {other}")),
    };
    failures
        .iter()
        .map(|item| match item.get("itemIdentifier") {
            Some(Value::String(id)) if !id.is_empty() => Ok(id.clone()),
            _ => Err(format!(
                "a batch item failure without an itemIdentifier: {item}"
            )),
        })
        .collect()
}
