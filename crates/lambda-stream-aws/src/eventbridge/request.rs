//! PutEvents entries and the exact size rule.
//!
//! An entry's size is the UTF-8 bytes of its `Source`, `DetailType` and `Detail` (plus each
//! `Resources` string, and 14 bytes when `Time` is set; this sink sets neither). A request
//! carries at most 10 entries and 256 KB (262,144 bytes) in all; one entry alone may weigh
//! the whole 256 KB.

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use lambda_stream::{PublishEntry, StepError};

/// The most entries one PutEvents request carries.
pub const MAX_ENTRIES: usize = 10;

/// The most bytes one PutEvents request (and so one entry) may weigh.
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;

/// The size PutEvents counts for an entry published with `source`.
pub fn entry_size(source: &str, entry: &PublishEntry) -> usize {
    source.len() + entry.event_type().len() + entry.json().len()
}

/// Why an entry cannot be sent at all, checked before calling the service.
pub fn check_entry(source: &str, entry: &PublishEntry) -> Result<(), StepError> {
    if entry.event_type().is_empty() {
        return Err(
            StepError::permanent("the event has no type to use as DetailType")
                .with_name("InvalidEntry"),
        );
    }
    let size = entry_size(source, entry);
    if size > MAX_REQUEST_BYTES {
        return Err(StepError::permanent(format!(
            "the event `{}` weighs {size} bytes as a PutEvents entry, over the {MAX_REQUEST_BYTES}-byte limit",
            entry.event_type()
        ))
        .with_name("EntryTooLarge"));
    }
    Ok(())
}

/// The SDK's request entries for `entries`.
pub fn sdk_entries(
    bus_name: &str,
    source: &str,
    entries: &[&PublishEntry],
) -> Vec<PutEventsRequestEntry> {
    entries
        .iter()
        .map(|entry| {
            PutEventsRequestEntry::builder()
                .event_bus_name(bus_name)
                .source(source)
                .detail_type(entry.event_type())
                .detail(entry.json())
                .build()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(event_type: &str, json: &str) -> PublishEntry {
        PublishEntry::message(event_type, json)
    }

    #[test]
    fn size_counts_utf8_bytes_of_source_type_and_detail() {
        assert_eq!(entry_size("custom", &entry("a-b", "{}")), 6 + 3 + 2);
        // "é" is two bytes, "😀" four.
        assert_eq!(
            entry_size("custom", &entry("é", r#"{"x":"😀"}"#)),
            6 + 2 + 12
        );
    }

    #[test]
    fn an_entry_exactly_at_the_limit_passes_and_one_byte_over_fails() {
        let overhead = entry_size("custom", &entry("t", r#"{"p":""}"#));
        let fill = "x".repeat(MAX_REQUEST_BYTES - overhead);
        let at_limit = entry("t", &format!(r#"{{"p":"{fill}"}}"#));
        assert_eq!(entry_size("custom", &at_limit), MAX_REQUEST_BYTES);
        assert!(check_entry("custom", &at_limit).is_ok());
        let over = entry("t", &format!(r#"{{"p":"{fill}x"}}"#));
        let err = check_entry("custom", &over).expect_err("one byte over");
        assert_eq!(err.name(), "EntryTooLarge");
        assert!(
            err.message()
                .contains(&format!("{} bytes", MAX_REQUEST_BYTES + 1))
        );
        // Multi-byte characters count as their bytes, not as one.
        let multibyte_fill = "é".repeat((MAX_REQUEST_BYTES - overhead) / 2 + 1);
        let multibyte = entry("t", &format!(r#"{{"p":"{multibyte_fill}"}}"#));
        assert!(check_entry("custom", &multibyte).is_err());
    }

    #[test]
    fn an_entry_without_a_type_is_rejected() {
        assert!(check_entry("custom", &entry("", "{}")).is_err());
    }
}
