//! PublishBatch entries and the exact limits: 10 messages and 256 KiB per request, 256 KiB per
//! message; a message's size is its body plus its attributes (name, type and value). Each
//! message carries its event type as the `type` attribute (for subscription filter policies);
//! on a FIFO topic the partition key is the message group and the event id the deduplication
//! id.

use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};
use lambda_stream::PublishEntry;

/// The most messages one PublishBatch request carries.
pub const MAX_ENTRIES: usize = 10;

/// The most bytes one request (and one message) weighs.
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;

pub use crate::message::{DEFAULT_GROUP, TYPE_ATTRIBUTE, entry_size, is_fifo};

/// The SDK's request entries for `entries`, with ids `"0"`, `"1"`, ...
pub fn sdk_entries(
    entries: &[&PublishEntry],
    fifo: bool,
) -> Result<Vec<PublishBatchRequestEntry>, String> {
    entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let mut builder = PublishBatchRequestEntry::builder()
                .id(i.to_string())
                .message(entry.json());
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
        let entry = PublishEntry::message("t", "{}").with_id("e1");
        let built = sdk_entries(&[&entry], true).expect("built");
        assert_eq!(built[0].message_group_id(), Some(DEFAULT_GROUP));
        assert_eq!(built[0].message_deduplication_id(), Some("e1"));
        assert!(is_fifo("arn:aws:sns:us-east-1:1:t.fifo"));
    }
}
