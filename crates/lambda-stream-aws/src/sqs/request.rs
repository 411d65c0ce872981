//! SendMessageBatch entries and the exact limits: 10 messages and 1 MiB per request, 1 MiB per
//! message; a message's size is its body plus its attributes (name, type and value). Each
//! message carries its event type as the `type` attribute; on a FIFO queue the partition key
//! is the message group and the event id the deduplication id.

use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
use lambda_stream::PublishEntry;

/// The most messages one SendMessageBatch request carries.
pub const MAX_ENTRIES: usize = 10;

/// The most bytes one request (and one message) weighs.
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;

pub use crate::message::{DEFAULT_GROUP, TYPE_ATTRIBUTE, entry_size, is_fifo};

/// The SDK's request entries for `entries`, with ids `"0"`, `"1"`, ...
pub fn sdk_entries(
    entries: &[&PublishEntry],
    fifo: bool,
) -> Result<Vec<SendMessageBatchRequestEntry>, String> {
    entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let mut builder = SendMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .message_body(entry.json());
            if !entry.event_type().is_empty() {
                let attribute = MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(entry.event_type())
                    .build()
                    .map_err(|e| e.to_string())?;
                builder = builder.message_attributes(TYPE_ATTRIBUTE, attribute);
            }
            if fifo {
                builder = builder
                    .message_group_id(crate::message::group_id(entry))
                    .set_message_deduplication_id(entry.id().map(str::to_string));
            }
            builder.build().map_err(|e| e.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_messages_get_a_group_and_a_deduplication_id() {
        let entry = PublishEntry::message("t", "{}")
            .with_id("e1")
            .with_partition_key("order-1");
        let built = sdk_entries(&[&entry], true).expect("built");
        assert_eq!(built[0].id(), "0");
        assert_eq!(built[0].message_group_id(), Some("order-1"));
        assert_eq!(built[0].message_deduplication_id(), Some("e1"));
        let plain = sdk_entries(&[&entry], false).expect("built");
        assert_eq!(plain[0].message_group_id(), None);
        assert!(is_fifo("https://sqs.us-east-1.amazonaws.com/1/q.fifo"));
        assert!(!is_fifo("https://sqs.us-east-1.amazonaws.com/1/q"));
    }
}
