//! The hub's streams, queues and table streams: in memory, with the behaviour the functions'
//! event source mappings depend on (Kinesis shards chosen by the partition key's MD5 hash and
//! sequence numbers in order; SQS visibility timeouts, receive counts and redrive to a
//! dead-letter queue; a table's changes in order, with TTL removals).

use std::collections::VecDeque;
use std::sync::Arc;

use lambda_stream_aws::store::memory::InMemoryStore;
use md5::{Digest, Md5};
use serde_json::{Value, json};

/// A record on a shard.
#[derive(Debug, Clone)]
pub struct StreamRecord {
    /// Increasing along the shard (and across the stream).
    pub sequence: u64,
    /// Kinesis: the partition key; a table stream: empty.
    pub partition_key: String,
    /// Kinesis: the data; a table stream: the stream record's JSON.
    pub data: Vec<u8>,
    /// When it arrived (hub clock, epoch milliseconds).
    pub arrived_ms: i64,
}

/// A Kinesis stream, or a table's stream (one shard).
#[derive(Debug)]
pub struct Stream {
    /// Its ARN.
    pub arn: String,
    /// Its shards, each a log of records.
    pub shards: Vec<Vec<StreamRecord>>,
}

impl Stream {
    /// A stream of `shards` shards (at least one).
    pub fn new(arn: &str, shards: usize) -> Self {
        Self {
            arn: arn.to_string(),
            shards: vec![Vec::new(); shards.max(1)],
        }
    }

    /// The shard a partition key goes to: Kinesis splits the 128-bit MD5 hash range evenly
    /// among the shards.
    pub fn shard_for(&self, partition_key: &str) -> usize {
        let hash = u128::from_be_bytes(Md5::digest(partition_key.as_bytes()).into());
        let count = self.shards.len() as u128;
        let width = (u128::MAX / count).saturating_add(1);
        ((hash / width) as usize).min(self.shards.len() - 1)
    }

    /// Appends a record; returns its shard and sequence number.
    pub fn put(&mut self, partition_key: &str, data: Vec<u8>, sequence: u64, now_ms: i64) -> usize {
        let shard = self.shard_for(partition_key);
        self.shards[shard].push(StreamRecord {
            sequence,
            partition_key: partition_key.to_string(),
            data,
            arrived_ms: now_ms,
        });
        shard
    }
}

/// A message on a queue.
#[derive(Debug, Clone)]
pub struct Message {
    /// `messageId`.
    pub id: String,
    /// The body.
    pub body: String,
    /// How many times it was received.
    pub receive_count: u32,
    /// Hidden until then (hub clock, epoch milliseconds).
    pub visible_at_ms: i64,
    /// When it was sent.
    pub sent_ms: i64,
}

/// An SQS queue.
#[derive(Debug)]
pub struct Queue {
    /// Its ARN.
    pub arn: String,
    /// Its messages, oldest first.
    pub messages: VecDeque<Message>,
    /// `VisibilityTimeout` in seconds (SQS's default: 30).
    pub visibility_timeout_s: i64,
    /// `MessageRetentionPeriod` in seconds (SQS's default: 4 days): older messages are deleted
    /// by the service, read or not.
    pub retention_s: i64,
    /// `RedrivePolicy`: the dead-letter queue's ARN and `maxReceiveCount`.
    pub redrive: Option<(String, u32)>,
}

impl Queue {
    /// Takes up to `count` visible messages, making them invisible for the visibility
    /// timeout and counting the receive.
    pub fn receive(&mut self, count: usize, now_ms: i64) -> Vec<Message> {
        let mut taken = Vec::new();
        for message in self.messages.iter_mut() {
            if taken.len() == count {
                break;
            }
            if message.visible_at_ms <= now_ms {
                message.receive_count += 1;
                message.visible_at_ms = now_ms + self.visibility_timeout_s * 1_000;
                taken.push(message.clone());
            }
        }
        taken
    }

    /// Deletes a received message.
    pub fn delete(&mut self, id: &str) {
        self.messages.retain(|m| m.id != id);
    }

    /// Deletes the messages older than the retention period, as SQS does; returns how many.
    pub fn expire(&mut self, now_ms: i64) -> usize {
        let before = self.messages.len();
        let retention_ms = self.retention_s * 1_000;
        self.messages.retain(|m| now_ms - m.sent_ms < retention_ms);
        before - self.messages.len()
    }

    /// Messages received `maxReceiveCount` times and visible again: moved out (to the
    /// dead-letter queue, by the caller).
    pub fn take_redriven(&mut self, now_ms: i64) -> Vec<Message> {
        let Some((_, max)) = &self.redrive else {
            return Vec::new();
        };
        let max = *max;
        let (out, kept): (Vec<Message>, Vec<Message>) = self
            .messages
            .drain(..)
            .partition(|m| m.receive_count >= max && m.visible_at_ms <= now_ms);
        self.messages = kept.into();
        out
    }

    /// How many messages are visible, and since when the oldest of them has been (its sending,
    /// or its return after a visibility timeout).
    pub fn visible(&self, now_ms: i64) -> (usize, Option<i64>) {
        self.messages
            .iter()
            .filter(|m| m.visible_at_ms <= now_ms)
            .fold((0, None), |(count, oldest), m| {
                let since = oldest.map_or(m.visible_at_ms, |o: i64| o.min(m.visible_at_ms));
                (count + 1, Some(since))
            })
    }

    /// The earliest time a hidden message becomes visible again, if any is hidden.
    pub fn next_visible_ms(&self, now_ms: i64) -> Option<i64> {
        self.messages
            .iter()
            .map(|m| m.visible_at_ms)
            .filter(|at| *at > now_ms)
            .min()
    }
}

/// A DynamoDB table: its items (the functions' store) and, with a stream, the changes as
/// stream records.
#[derive(Debug)]
pub struct Table {
    /// The table's name.
    pub name: String,
    /// The items, as the functions read and write them.
    pub store: Arc<InMemoryStore>,
    /// The stream's ARN, when the table has one.
    pub stream_arn: Option<String>,
    /// The attribute TTL reads (`TimeToLiveSpecification`), when enabled.
    pub ttl_attribute: Option<String>,
}

impl Table {
    /// The changes made since the last call, as stream records (JSON, in order).
    pub fn take_changes(&self) -> Vec<Value> {
        let event = self.store.take_stream_event();
        match serde_json::to_value(event) {
            Ok(Value::Object(mut object)) => match object.remove("Records") {
                Some(Value::Array(records)) => records,
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }
}

/// A stream record of a table change, with its place in the hub's stream, an `eventID` of
/// its own (functions use it as the id of the event they derive from the change) and the
/// hub's clock as the time of the change (`at_ms`: change data capture makes it the event's
/// timestamp).
pub fn table_record(mut record: Value, stream_arn: &str, sequence: u64, at_ms: i64) -> Value {
    record["eventSourceARN"] = json!(stream_arn);
    record["eventID"] = json!(format!("{sequence:032x}"));
    if let Some(dynamodb) = record.get_mut("dynamodb") {
        dynamodb["SequenceNumber"] = json!(sequence.to_string());
        // Whole seconds, as DynamoDB streams give it.
        dynamodb["ApproximateCreationDateTime"] = json!(at_ms.div_euclid(1000));
    }
    record
}

#[cfg(test)]
mod tests {
    use super::{Queue, Stream};

    #[test]
    fn shards_split_the_hash_range_evenly() {
        let mut counts = [0_usize; 4];
        let stream = Stream::new("arn", 4);
        for n in 0..4_000 {
            counts[stream.shard_for(&format!("order-{n}"))] += 1;
        }
        assert!(
            counts.iter().all(|c| (800..1_200).contains(c)),
            "{counts:?}"
        );
        // One key, one shard, always.
        assert_eq!(stream.shard_for("o-1"), stream.shard_for("o-1"));
        assert_eq!(Stream::new("arn", 1).shard_for("anything"), 0);
    }

    #[test]
    fn a_queue_hides_what_it_gives_and_redrives_after_the_receive_count() {
        let mut queue = Queue {
            arn: "q".into(),
            messages: Default::default(),
            visibility_timeout_s: 30,
            retention_s: 345_600,
            redrive: Some(("dlq".into(), 2)),
        };
        queue.messages.push_back(super::Message {
            id: "m1".into(),
            body: "{}".into(),
            receive_count: 0,
            visible_at_ms: 0,
            sent_ms: 0,
        });
        assert_eq!(queue.receive(10, 0).len(), 1);
        assert!(queue.receive(10, 1_000).is_empty(), "hidden");
        assert_eq!(queue.next_visible_ms(1_000), Some(30_000));
        assert_eq!(queue.receive(10, 30_000).len(), 1, "visible again");
        assert!(queue.take_redriven(30_000).is_empty(), "still hidden");
        let out = queue.take_redriven(60_000);
        assert_eq!((out.len(), out[0].receive_count), (1, 2));
        assert!(queue.messages.is_empty());

        queue.messages.push_back(super::Message {
            id: "m2".into(),
            body: "{}".into(),
            receive_count: 0,
            visible_at_ms: 0,
            sent_ms: 0,
        });
        assert_eq!(queue.expire(345_599_999), 0);
        assert_eq!(
            queue.expire(345_600_000),
            1,
            "gone after four days, read or not"
        );
    }
}
