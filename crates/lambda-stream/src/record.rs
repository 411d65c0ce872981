//! The source records, kept verbatim so a fault event can be resubmitted as it arrived.
//!
//! A batch keeps the records in the vector Lambda's event came in ([`Records`]), never copied;
//! a [`SourceRecord`] is a view of one of them.

use aws_lambda_events::event::dynamodb::EventRecord as DynamoDbRecord;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::kinesis::KinesisEventRecord;
use aws_lambda_events::event::sns::SnsRecord;
use aws_lambda_events::event::sqs::SqsMessage;
use serde::{Deserialize, Serialize};

/// The records of one Lambda event, as Lambda delivered them.
#[derive(Debug, Clone)]
pub enum Records {
    /// Kinesis stream records.
    Kinesis(Vec<KinesisEventRecord>),
    /// SQS messages.
    Sqs(Vec<SqsMessage>),
    /// SNS notifications delivered to Lambda directly.
    Sns(Vec<SnsRecord>),
    /// DynamoDB stream records.
    DynamoDb(Vec<DynamoDbRecord>),
    /// EventBridge events delivered to Lambda directly.
    EventBridge(Vec<EventBridgeEvent<serde_json::Value>>),
    /// Payloads that arrived some other way.
    Raw(Vec<RawRecord>),
}

impl Records {
    /// How many records there are.
    pub fn len(&self) -> usize {
        match self {
            Self::Kinesis(v) => v.len(),
            Self::Sqs(v) => v.len(),
            Self::Sns(v) => v.len(),
            Self::DynamoDb(v) => v.len(),
            Self::EventBridge(v) => v.len(),
            Self::Raw(v) => v.len(),
        }
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The record at `index`.
    pub fn get(&self, index: usize) -> Option<SourceRecord<'_>> {
        Some(match self {
            Self::Kinesis(v) => SourceRecord::Kinesis(v.get(index)?),
            Self::Sqs(v) => SourceRecord::Sqs(v.get(index)?),
            Self::Sns(v) => SourceRecord::Sns(v.get(index)?),
            Self::DynamoDb(v) => SourceRecord::DynamoDb(v.get(index)?),
            Self::EventBridge(v) => SourceRecord::EventBridge(v.get(index)?),
            Self::Raw(v) => SourceRecord::Raw(v.get(index)?),
        })
    }

    /// Every record, in order.
    pub fn iter(&self) -> impl Iterator<Item = SourceRecord<'_>> {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

/// One record of a Lambda event, exactly as Lambda delivered it.
///
/// It serializes back to the JSON Lambda sent, which is what fault events carry in
/// `uow.record` so tooling can replay it.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(untagged)]
pub enum SourceRecord<'a> {
    /// A Kinesis stream record.
    Kinesis(&'a KinesisEventRecord),
    /// An SQS message.
    Sqs(&'a SqsMessage),
    /// An SNS notification delivered to Lambda directly.
    Sns(&'a SnsRecord),
    /// A DynamoDB stream record.
    DynamoDb(&'a DynamoDbRecord),
    /// An EventBridge event delivered to Lambda directly.
    EventBridge(&'a EventBridgeEvent<serde_json::Value>),
    /// A payload that arrived some other way (a webhook body, for example).
    Raw(&'a RawRecord),
}

/// A payload that did not come from a Lambda event source mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawRecord {
    /// An id for the payload (a request id, for example).
    pub id: String,
    /// When it arrived, in epoch milliseconds.
    pub timestamp: i64,
    /// The payload as it arrived.
    pub body: String,
}

impl<'a> SourceRecord<'a> {
    /// The record's own id: Kinesis eventID, SQS messageId, SNS MessageId, DynamoDB eventID,
    /// EventBridge id, raw id.
    pub fn record_id(&self) -> Option<&'a str> {
        match *self {
            Self::Kinesis(r) => r.event_id.as_deref(),
            Self::Sqs(r) => r.message_id.as_deref(),
            Self::Sns(r) => Some(&r.sns.message_id),
            Self::DynamoDb(r) => Some(&r.event_id),
            Self::EventBridge(r) => r.id.as_deref(),
            Self::Raw(r) => Some(&r.id),
        }
    }

    /// The Kinesis record, if this is one.
    pub fn as_kinesis(&self) -> Option<&'a KinesisEventRecord> {
        match *self {
            Self::Kinesis(r) => Some(r),
            _ => None,
        }
    }

    /// The SQS message, if this is one.
    pub fn as_sqs(&self) -> Option<&'a SqsMessage> {
        match *self {
            Self::Sqs(r) => Some(r),
            _ => None,
        }
    }

    /// The SNS record, if this is one.
    pub fn as_sns(&self) -> Option<&'a SnsRecord> {
        match *self {
            Self::Sns(r) => Some(r),
            _ => None,
        }
    }

    /// The DynamoDB stream record, if this is one.
    pub fn as_dynamodb(&self) -> Option<&'a DynamoDbRecord> {
        match *self {
            Self::DynamoDb(r) => Some(r),
            _ => None,
        }
    }

    /// The EventBridge event, if this is one.
    pub fn as_eventbridge(&self) -> Option<&'a EventBridgeEvent<serde_json::Value>> {
        match *self {
            Self::EventBridge(r) => Some(r),
            _ => None,
        }
    }

    /// The raw record, if this is one.
    pub fn as_raw(&self) -> Option<&'a RawRecord> {
        match *self {
            Self::Raw(r) => Some(r),
            _ => None,
        }
    }
}
