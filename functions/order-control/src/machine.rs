//! The order's state machine, as rules over the events an order has gathered:
//!
//! ```text
//! placed ──payment-authorized──▶ paid ──order-accepted──▶ confirmed ──delivery-out-for-delivery──▶
//!   │                                                        out for delivery ──delivery-delivered──▶ delivered
//!   ├──payment-declined──▶ cancelled
//!   └──(no payment before the deadline: order-placed-expired)──▶ expired, unless the customer
//!      cancelled it (their `order-cancelled`)
//! ```
//!
//! The rules read *which* events an order has, never the order they came in: events arrive in
//! any order and any number of times, and each transition fires once per order (its id is
//! `<order id>.<transition>`), the first time its events are all there.

use lambda_stream::Envelope;
use lambda_stream_aws::event_store::Emit;

/// The events the control service collects.
pub const COLLECTED_TYPES: [&str; 7] = [
    "order-placed",
    "order-cancelled",
    "payment-authorized",
    "payment-declined",
    "order-accepted",
    "delivery-out-for-delivery",
    "delivery-delivered",
];

/// What an order's events say about it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Facts {
    /// `order-placed`.
    pub placed: bool,
    /// `payment-authorized`.
    pub paid: bool,
    /// `payment-declined`.
    pub declined: bool,
    /// `order-accepted` (the restaurant took it).
    pub accepted: bool,
    /// `delivery-delivered`.
    pub delivered: bool,
    /// `order-cancelled` by the customer (the service's own are not collected).
    pub cancelled: bool,
    /// `order-placed-expired`: the payment deadline passed.
    pub payment_deadline_passed: bool,
}

impl Facts {
    /// The facts of `events`.
    pub fn of<'a>(events: impl IntoIterator<Item = &'a Envelope>) -> Self {
        let mut facts = Self::default();
        for event in events {
            match event.event_type() {
                "order-placed" => facts.placed = true,
                "payment-authorized" => facts.paid = true,
                "payment-declined" => facts.declined = true,
                "order-accepted" => facts.accepted = true,
                "delivery-delivered" => facts.delivered = true,
                "order-cancelled" => facts.cancelled = true,
                "order-placed-expired" => {
                    facts.placed = true;
                    facts.payment_deadline_passed = true;
                }
                _ => {}
            }
        }
        facts
    }

    /// The transitions that hold, by name.
    pub fn transitions(&self) -> Vec<&'static str> {
        let confirmed = self.placed && self.paid && self.accepted && !self.declined;
        [
            ("confirmed", confirmed),
            ("cancelled", self.placed && self.declined && !self.paid),
            ("delivered", confirmed && self.delivered),
            (
                "expired",
                self.payment_deadline_passed && !self.paid && !self.declined && !self.cancelled,
            ),
        ]
        .into_iter()
        .filter(|(_, holds)| *holds)
        .map(|(name, _)| name)
        .collect()
    }
}

/// The higher-order events that follow when `trigger` arrives among `correlated` (the
/// order's events so far): one per transition that holds, each once per order.
pub fn transitions(trigger: &Envelope, correlated: &[Envelope]) -> Vec<Emit> {
    let Some(order) = trigger.partition_key().map(str::to_string) else {
        return Vec::new();
    };
    let facts = Facts::of(correlated.iter().chain(std::iter::once(trigger)));
    // The whole order as placed, so that consumers of `order-cancelled` (the egress gateway
    // shares it with the Order subsystem) read the same entity whoever published it.
    let entity = correlated
        .iter()
        .chain(std::iter::once(trigger))
        .filter(|e| matches!(e.event_type(), "order-placed" | "order-placed-expired"))
        .find_map(|e| e.field::<serde_json::Value>("order").ok())
        .filter(serde_json::Value::is_object)
        .unwrap_or_else(|| serde_json::json!({ "id": order }));
    facts
        .transitions()
        .into_iter()
        .filter_map(|transition| {
            let event = Envelope::builder(format!("order-{transition}"))
                .timestamp(trigger.timestamp())
                .partition_key(&order)
                .entity("order", &entity)
                .build()
                .ok()?;
            Some(Emit::new(transition, event).once_per(order.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_transition_needs_all_its_events_and_excludes_the_others() {
        let facts = |f: fn(&mut Facts)| {
            let mut facts = Facts::default();
            f(&mut facts);
            facts.transitions()
        };
        assert!(facts(|f| f.placed = true).is_empty());
        assert_eq!(
            facts(|f| {
                f.placed = true;
                f.paid = true;
                f.accepted = true
            }),
            vec!["confirmed"]
        );
        assert_eq!(
            facts(|f| {
                f.placed = true;
                f.declined = true
            }),
            vec!["cancelled"]
        );
        assert_eq!(
            facts(|f| {
                f.placed = true;
                f.paid = true;
                f.accepted = true;
                f.delivered = true
            }),
            vec!["confirmed", "delivered"]
        );
        assert_eq!(
            facts(|f| {
                f.placed = true;
                f.payment_deadline_passed = true
            }),
            vec!["expired"]
        );
        assert!(
            facts(|f| {
                f.placed = true;
                f.paid = true;
                f.payment_deadline_passed = true
            })
            .is_empty()
        );
        // An order the customer cancelled does not expire.
        assert!(
            facts(|f| {
                f.placed = true;
                f.cancelled = true;
                f.payment_deadline_passed = true
            })
            .is_empty()
        );
        // Delivered without being confirmed (no payment) is not a transition.
        assert!(
            facts(|f| {
                f.placed = true;
                f.accepted = true;
                f.delivered = true
            })
            .is_empty()
        );
    }
}
