//! The source record, kept verbatim so a fault event can be resubmitted as it arrived.

use aws_lambda_events::event::dynamodb::EventRecord as DynamoDbRecord;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::kinesis::KinesisEventRecord;
use aws_lambda_events::event::sns::SnsRecord;
use aws_lambda_events::event::sqs::SqsMessage;
use serde::{Deserialize, Serialize};

/// One record of a Lambda event, exactly as Lambda delivered it.
///
/// It serializes back to the JSON Lambda sent, which is what fault events carry in
/// `uow.record` so tooling can replay it.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum SourceRecord {
    /// A Kinesis stream record.
    Kinesis(KinesisEventRecord),
    /// An SQS message.
    Sqs(SqsMessage),
    /// An SNS notification delivered to Lambda directly.
    Sns(SnsRecord),
    /// A DynamoDB stream record.
    DynamoDb(DynamoDbRecord),
    /// An EventBridge event delivered to Lambda directly.
    EventBridge(EventBridgeEvent<serde_json::Value>),
    /// A payload that arrived some other way (a webhook body, for example).
    Raw(RawRecord),
}

/// A payload that did not come from a Lambda event source mapping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawRecord {
    /// An id for the payload (a request id, for example).
    pub id: String,
    /// When it arrived, in epoch milliseconds.
    pub timestamp: i64,
    /// The payload as it arrived.
    pub body: String,
}

impl SourceRecord {
    /// The record's own id: Kinesis eventID, SQS messageId, SNS MessageId, DynamoDB eventID,
    /// EventBridge id, raw id.
    pub fn record_id(&self) -> Option<&str> {
        match self {
            Self::Kinesis(r) => r.event_id.as_deref(),
            Self::Sqs(r) => r.message_id.as_deref(),
            Self::Sns(r) => Some(&r.sns.message_id),
            Self::DynamoDb(r) => Some(&r.event_id),
            Self::EventBridge(r) => r.id.as_deref(),
            Self::Raw(r) => Some(&r.id),
        }
    }

    /// The Kinesis record, if this is one.
    pub fn as_kinesis(&self) -> Option<&KinesisEventRecord> {
        match self {
            Self::Kinesis(r) => Some(r),
            _ => None,
        }
    }

    /// The SQS message, if this is one.
    pub fn as_sqs(&self) -> Option<&SqsMessage> {
        match self {
            Self::Sqs(r) => Some(r),
            _ => None,
        }
    }

    /// The SNS record, if this is one.
    pub fn as_sns(&self) -> Option<&SnsRecord> {
        match self {
            Self::Sns(r) => Some(r),
            _ => None,
        }
    }

    /// The DynamoDB stream record, if this is one.
    pub fn as_dynamodb(&self) -> Option<&DynamoDbRecord> {
        match self {
            Self::DynamoDb(r) => Some(r),
            _ => None,
        }
    }

    /// The EventBridge event, if this is one.
    pub fn as_eventbridge(&self) -> Option<&EventBridgeEvent<serde_json::Value>> {
        match self {
            Self::EventBridge(r) => Some(r),
            _ => None,
        }
    }

    /// The raw record, if this is one.
    pub fn as_raw(&self) -> Option<&RawRecord> {
        match self {
            Self::Raw(r) => Some(r),
            _ => None,
        }
    }
}
