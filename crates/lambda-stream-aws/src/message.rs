//! What SNS and SQS share: a message's size is its body plus its attributes (name, type and
//! value); each message carries its event type as the `type` attribute; FIFO targets (named
//! `*.fifo`) take the partition key as the message group and the event id as the
//! deduplication id.

use lambda_stream::{PublishEntry, StepError};

/// The attribute that carries the event type.
pub const TYPE_ATTRIBUTE: &str = "type";

/// The message group of FIFO messages without a partition key.
pub const DEFAULT_GROUP: &str = "default";

/// The size SNS and SQS count for a message: its body and its `type` attribute.
pub fn entry_size(entry: &PublishEntry) -> usize {
    let attribute = if entry.event_type().is_empty() {
        0
    } else {
        TYPE_ATTRIBUTE.len() + "String".len() + entry.event_type().len()
    };
    entry.json().len() + attribute
}

/// True for a FIFO topic or queue (its name ends in `.fifo`).
pub fn is_fifo(target: &str) -> bool {
    target.ends_with(".fifo")
}

/// The message group of a FIFO message.
pub fn group_id(entry: &PublishEntry) -> &str {
    entry.partition_key().unwrap_or(DEFAULT_GROUP)
}

/// Why a message cannot be sent to `service` (limit `max_bytes`) at all.
pub fn check_entry(entry: &PublishEntry, service: &str, max_bytes: usize) -> Result<(), StepError> {
    if entry.json().is_empty() {
        return Err(StepError::permanent("the message is empty").with_name("InvalidEntry"));
    }
    let size = entry_size(entry);
    if size > max_bytes {
        return Err(StepError::permanent(format!(
            "the message `{}` weighs {size} bytes, over {service}'s {max_bytes}-byte limit",
            entry.event_type()
        ))
        .with_name("MessageTooLarge"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_counts_body_and_type_attribute() {
        let entry = PublishEntry::message("thing-created", "{\"é\":1}");
        assert_eq!(entry_size(&entry), 8 + 4 + 6 + 13);
        assert_eq!(entry_size(&PublishEntry::message("", "{}")), 2);
    }

    #[test]
    fn a_message_exactly_at_the_limit_passes_and_one_byte_over_fails() {
        let max = 1000;
        let overhead = entry_size(&PublishEntry::message("t", ""));
        let at_limit = PublishEntry::message("t", "x".repeat(max - overhead));
        assert!(check_entry(&at_limit, "SQS", max).is_ok());
        let over = PublishEntry::message("t", "é".repeat((max - overhead) / 2 + 1));
        let err = check_entry(&over, "SQS", max).expect_err("over");
        assert_eq!(err.name(), "MessageTooLarge");
        assert!(err.message().contains("SQS's 1000-byte limit"));
        assert!(check_entry(&PublishEntry::message("t", ""), "SQS", max).is_err());
    }

    #[test]
    fn fifo_targets_and_groups() {
        assert!(is_fifo("https://sqs.us-east-1.amazonaws.com/1/q.fifo"));
        assert!(is_fifo("arn:aws:sns:us-east-1:1:t.fifo"));
        assert!(!is_fifo("https://sqs.us-east-1.amazonaws.com/1/q"));
        let entry = PublishEntry::message("t", "{}");
        assert_eq!(group_id(&entry), DEFAULT_GROUP);
        assert_eq!(group_id(&entry.with_partition_key("order-1")), "order-1");
    }
}
