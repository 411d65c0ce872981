//! The rules: which higher-order events an item's collected events call for. They read which
//! events the item has, never the order they came in: events arrive in any order and any
//! number of times, and each rule fires once per item (its event's id is
//! `<item>.<rule>`), the first time its events are all there.

use lambda_stream::Envelope;
use lambda_stream_aws::event_store::Emit;

/// The events the listener collects.
pub const COLLECTED: [&str; 2] = ["item-requested", "item-approved"];

/// The event published when an item was requested and approved.
pub const ITEM_COMPLETED: &str = "item-completed";

/// The higher-order events that follow when `trigger` arrives among `correlated` (the item's
/// events collected before it).
pub fn evaluate(trigger: &Envelope, correlated: &[Envelope]) -> Vec<Emit> {
    let Some(item) = trigger.partition_key().map(str::to_string) else {
        return Vec::new();
    };
    let has = |kind: &str| {
        correlated
            .iter()
            .chain(std::iter::once(trigger))
            .any(|e| e.event_type() == kind)
    };
    if !(has("item-requested") && has("item-approved")) {
        return Vec::new();
    }
    Envelope::builder(ITEM_COMPLETED)
        .timestamp(trigger.timestamp())
        .partition_key(&item)
        .entity("item", &serde_json::json!({"id": item}))
        .build()
        .map(|event| vec![Emit::new("completed", event).once_per(item)])
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, key: &str) -> Envelope {
        Envelope::builder(kind)
            .id(format!("{kind}-{key}"))
            .timestamp(1)
            .partition_key(key)
            .build()
            .expect("valid")
    }

    #[test]
    fn completed_needs_both_events_in_either_order() {
        let requested = event("item-requested", "i1");
        let approved = event("item-approved", "i1");
        assert!(evaluate(&requested, &[]).is_empty());
        assert!(evaluate(&approved, &[]).is_empty());
        assert_eq!(evaluate(&approved, std::slice::from_ref(&requested)).len(), 1);
        assert_eq!(evaluate(&requested, &[approved]).len(), 1);
        assert!(evaluate(&event("item-approved", "i1"), &[event("item-approved", "i1")]).is_empty());
    }
}
