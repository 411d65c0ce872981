//! PublishBatch entries and the exact limits: 10 messages and 256 KiB per request, 256 KiB per
//! message; a message's size is its body plus its attributes (name, type and value). Each
//! message carries its event type as the `type` attribute (for subscription filter policies);
//! on a FIFO topic the partition key is the message group and the event id the deduplication
//! id.

use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};
use lambda_stream::{PublishEntry, StepError};

/// The most messages one PublishBatch request carries.
pub const MAX_ENTRIES: usize = 10;

/// The most bytes one request (and one message) weighs.
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;

/// The attribute that carries the event type.
pub const TYPE_ATTRIBUTE: &str = "type";

/// The message group of FIFO messages without a partition key.
pub const DEFAULT_GROUP: &str = "default";

/// The size SNS counts for a message: its body and its attributes.
pub fn entry_size(entry: &PublishEntry) -> usize {
    let attribute = if entry.event_type.is_empty() {
        0
    } else {
        TYPE_ATTRIBUTE.len() + "String".len() + entry.event_type.len()
    };
    entry.json.len() + attribute
}

/// True for a FIFO topic (its name ends in `.fifo`).
pub fn is_fifo(topic_arn: &str) -> bool {
    topic_arn.ends_with(".fifo")
}

/// Why a message cannot be sent at all, checked before calling the service.
pub fn check_entry(entry: &PublishEntry) -> Result<(), StepError> {
    if entry.json.is_empty() {
        return Err(StepError::permanent("the message is empty").with_name("InvalidEntry"));
    }
    let size = entry_size(entry);
    if size > MAX_REQUEST_BYTES {
        return Err(StepError::permanent(format!(
            "the message `{}` weighs {size} bytes, over SNS's {MAX_REQUEST_BYTES}-byte limit",
            entry.event_type
        ))
        .with_name("MessageTooLarge"));
    }
    Ok(())
}

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
                .message(&entry.json);
            if !entry.event_type.is_empty() {
                let attribute = MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(&entry.event_type)
                    .build()
                    .map_err(|e| e.to_string())?;
                builder = builder.message_attributes(TYPE_ATTRIBUTE, attribute);
            }
            if fifo {
                builder = builder
                    .message_group_id(entry.partition_key.as_deref().unwrap_or(DEFAULT_GROUP))
                    .set_message_deduplication_id(entry.id.clone());
            }
            builder.build().map_err(|e| e.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_exactly_at_the_limit_passes_and_one_byte_over_fails() {
        let overhead = entry_size(&PublishEntry::message("t", ""));
        assert_eq!(overhead, 4 + 6 + 1);
        let at_limit = PublishEntry::message("t", "x".repeat(MAX_REQUEST_BYTES - overhead));
        assert!(check_entry(&at_limit).is_ok());
        let over = PublishEntry::message("t", "é".repeat((MAX_REQUEST_BYTES - overhead) / 2 + 1));
        assert_eq!(
            check_entry(&over).expect_err("over").name(),
            "MessageTooLarge"
        );
    }

    #[test]
    fn fifo_messages_get_a_group_and_a_deduplication_id() {
        let entry = PublishEntry::message("t", "{}").with_id("e1");
        let built = sdk_entries(&[&entry], true).expect("built");
        assert_eq!(built[0].message_group_id(), Some(DEFAULT_GROUP));
        assert_eq!(built[0].message_deduplication_id(), Some("e1"));
        assert!(is_fifo("arn:aws:sns:us-east-1:1:t.fifo"));
    }
}
