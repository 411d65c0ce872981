//! PutRecords entries and the exact limits: 500 records and 5 MiB per request, partition keys
//! included; 1 MiB per record (data plus key); a partition key of 1 to 256 characters.

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use lambda_stream::{PublishEntry, StepError};

/// The most records one PutRecords request carries.
pub const MAX_RECORDS: usize = 500;

/// The most bytes one PutRecords request weighs, data and partition keys together.
pub const MAX_REQUEST_BYTES: usize = 5 * 1024 * 1024;

/// The most bytes one record weighs, data and partition key together.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// The longest partition key, in characters.
pub const MAX_PARTITION_KEY_CHARS: usize = 256;

/// The length of the key given to events without one (a random UUID).
const GENERATED_KEY_LEN: usize = 36;

/// The size Kinesis counts for a record: its data and its partition key, in bytes.
pub fn entry_size(entry: &PublishEntry) -> usize {
    entry.json().len() + entry.partition_key().map_or(GENERATED_KEY_LEN, str::len)
}

/// The partition key to send: the event's, or a random one for events without a key (they
/// have no order to keep).
pub fn partition_key(entry: &PublishEntry) -> String {
    match entry.partition_key() {
        Some(key) => key.to_string(),
        None => uuid::Uuid::new_v4().to_string(),
    }
}

/// Why a record cannot be sent at all, checked before calling the service.
pub fn check_entry(entry: &PublishEntry) -> Result<(), StepError> {
    if let Some(key) = entry.partition_key() {
        let chars = key.chars().count();
        if chars == 0 || chars > MAX_PARTITION_KEY_CHARS {
            return Err(StepError::permanent(format!(
                "the partition key has {chars} characters; Kinesis takes 1 to {MAX_PARTITION_KEY_CHARS}"
            ))
            .with_name("InvalidPartitionKey"));
        }
    }
    let size = entry_size(entry);
    if size > MAX_RECORD_BYTES {
        return Err(StepError::permanent(format!(
            "the event `{}` weighs {size} bytes as a Kinesis record, over the {MAX_RECORD_BYTES}-byte limit",
            entry.event_type()
        ))
        .with_name("RecordTooLarge"));
    }
    Ok(())
}

/// The SDK's request entries for `entries` (a record the SDK refuses to build is an error
/// for the whole request, which the sink never sends: keys are checked before).
pub fn sdk_entries(entries: &[&PublishEntry]) -> Result<Vec<PutRecordsRequestEntry>, String> {
    entries
        .iter()
        .map(|entry| {
            PutRecordsRequestEntry::builder()
                .partition_key(partition_key(entry))
                .data(Blob::new(entry.json().as_bytes()))
                .build()
                .map_err(|e| e.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: Option<&str>, json: String) -> PublishEntry {
        let entry = PublishEntry::message("t", json);
        match key {
            Some(key) => entry.with_partition_key(key),
            None => entry,
        }
    }

    #[test]
    fn size_counts_data_and_key_bytes() {
        assert_eq!(entry_size(&entry(Some("ké"), "{}".into())), 2 + 3);
        assert_eq!(entry_size(&entry(None, "{}".into())), 2 + 36);
        assert_eq!(partition_key(&entry(None, "{}".into())).len(), 36);
    }

    #[test]
    fn a_record_exactly_at_one_mib_passes_and_one_byte_over_fails() {
        let key = "k".repeat(10);
        let at_limit = entry(Some(&key), "x".repeat(MAX_RECORD_BYTES - 10));
        assert_eq!(entry_size(&at_limit), MAX_RECORD_BYTES);
        assert!(check_entry(&at_limit).is_ok());
        let over = entry(Some(&key), "x".repeat(MAX_RECORD_BYTES - 9));
        let err = check_entry(&over).expect_err("one byte over");
        assert_eq!(err.name(), "RecordTooLarge");
        assert!(
            err.message()
                .contains(&format!("{} bytes", MAX_RECORD_BYTES + 1))
        );
    }

    #[test]
    fn partition_keys_are_counted_in_characters() {
        let at_limit = "é".repeat(256);
        assert!(check_entry(&entry(Some(&at_limit), "{}".into())).is_ok());
        let over = "é".repeat(257);
        let err = check_entry(&entry(Some(&over), "{}".into())).expect_err("too long");
        assert_eq!(err.name(), "InvalidPartitionKey");
        assert!(check_entry(&entry(Some(""), "{}".into())).is_err());
    }
}
