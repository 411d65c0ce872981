//! The processor's callback and the internal events it becomes.
//!
//! The processor reports the outcome of each `POST /payments` the egress gateway made:
//!
//! ```json
//! {"id": "evt_81", "type": "charge.succeeded", "created": 1764000000,
//!  "data": {"reference": "pay-1", "amount": 2350, "currency": "EUR",
//!           "metadata": {"orderId": "o-1"}}}
//! ```
//!
//! `charge.succeeded` becomes `payment-authorized`, `charge.failed` becomes `payment-declined`
//! (with the processor's reason). Other callback types are acknowledged and ignored: the
//! processor may add types at any time, and answering 4xx would only make it retry them.
//!
//! The internal event's id is the callback's id, so a callback delivered twice (the processor
//! retries until it sees a 2xx) produces the same event twice, which idempotent consumers
//! drop.

use lambda_stream::{Envelope, EnvelopeError};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// A callback, as the processor sends it.
#[derive(Debug, Deserialize)]
struct Callback {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    created: Option<i64>,
    /// Read only for the types we act on: others may carry anything.
    #[serde(default)]
    data: Option<Box<RawValue>>,
}

/// The charge a callback is about.
#[derive(Debug, Deserialize)]
struct Charge {
    /// Our payment id (the egress gateway sends it as `reference`).
    reference: String,
    amount: i64,
    currency: String,
    metadata: ChargeMetadata,
    #[serde(default)]
    failure_code: Option<String>,
    #[serde(default)]
    failure_message: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChargeMetadata {
    order_id: String,
    #[serde(default)]
    customer_id: Option<String>,
}

/// The internal `payment` entity of `payment-authorized` and `payment-declined`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentOutcome {
    /// The payment id.
    pub id: String,
    /// The order it pays for.
    pub order_id: String,
    /// The amount in minor units.
    pub amount: i64,
    /// ISO currency code.
    pub currency: String,
    /// The processor's id for the callback.
    pub processor_event_id: String,
    /// Why the processor declined it (declined payments only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
    /// The customer paying, when the request named them (the notification gateway tells
    /// them the outcome).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub customer_id: Option<String>,
}

/// Why a callback body was refused (answered 400).
#[derive(Debug)]
pub struct MalformedCallback(String);

impl std::fmt::Display for MalformedCallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MalformedCallback {}

impl From<EnvelopeError> for MalformedCallback {
    fn from(error: EnvelopeError) -> Self {
        Self(format!("the callback cannot become an event: {error}"))
    }
}

/// What a callback maps to.
#[derive(Debug)]
pub enum Mapped {
    /// The internal event to publish.
    Event(Box<Envelope>),
    /// A callback type we do not act on (answered 2xx, nothing published).
    Ignored {
        /// The callback's type.
        kind: String,
    },
}

/// Maps a callback body to its internal event. `now_millis` stamps events whose callback has
/// no `created` time.
pub fn to_internal(body: &[u8], now_millis: i64) -> Result<Mapped, MalformedCallback> {
    let callback: Callback = serde_json::from_slice(body).map_err(|error| {
        MalformedCallback(format!("the body is not a payment callback: {error}"))
    })?;
    let event_type = match callback.kind.as_str() {
        "charge.succeeded" => "payment-authorized",
        "charge.failed" => "payment-declined",
        _ => {
            return Ok(Mapped::Ignored {
                kind: callback.kind,
            });
        }
    };
    if callback.id.trim().is_empty() {
        return Err(MalformedCallback("the callback has an empty id".into()));
    }
    let data = callback
        .data
        .ok_or_else(|| MalformedCallback(format!("the {} callback has no data", callback.kind)))?;
    let charge: Charge = serde_json::from_str(data.get()).map_err(|error| {
        MalformedCallback(format!(
            "the {} callback's data is not a charge: {error}",
            callback.kind
        ))
    })?;
    let reason = (event_type == "payment-declined").then(|| {
        charge
            .failure_message
            .or(charge.failure_code)
            .unwrap_or_else(|| "declined".to_string())
    });
    let order_id = charge.metadata.order_id;
    let outcome = PaymentOutcome {
        id: charge.reference,
        order_id: order_id.clone(),
        amount: charge.amount,
        currency: charge.currency,
        processor_event_id: callback.id.clone(),
        reason,
        customer_id: charge.metadata.customer_id,
    };
    let timestamp = callback
        .created
        .and_then(|seconds| seconds.checked_mul(1000))
        .unwrap_or(now_millis);
    let event = Envelope::builder(event_type)
        .id(callback.id)
        .timestamp(timestamp)
        .partition_key(order_id)
        .entity("payment", &outcome)
        .build()?;
    Ok(Mapped::Event(Box::new(event)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(kind: &str, data: serde_json::Value) -> Vec<u8> {
        json!({"id": "evt_1", "type": kind, "created": 1_764_000_000, "data": data})
            .to_string()
            .into_bytes()
    }

    fn charge() -> serde_json::Value {
        json!({"reference": "pay-1", "amount": 2350, "currency": "EUR",
               "metadata": {"orderId": "o-1", "extra": true}, "livemode": false})
    }

    #[test]
    fn a_succeeded_charge_is_an_authorized_payment_keyed_by_order() {
        let Ok(Mapped::Event(event)) = to_internal(&body("charge.succeeded", charge()), 5) else {
            panic!("an event");
        };
        assert_eq!(event.event_type(), "payment-authorized");
        assert_eq!(event.id(), "evt_1");
        assert_eq!(event.timestamp(), 1_764_000_000_000);
        assert_eq!(event.partition_key(), Some("o-1"));
        let payment: PaymentOutcome = event.entity().expect("payment");
        assert_eq!(
            payment,
            PaymentOutcome {
                id: "pay-1".into(),
                order_id: "o-1".into(),
                amount: 2350,
                currency: "EUR".into(),
                processor_event_id: "evt_1".into(),
                reason: None,
                customer_id: None,
            }
        );
    }

    #[test]
    fn a_failed_charge_is_a_declined_payment_with_the_reason() {
        let mut data = charge();
        data["failure_code"] = json!("card_declined");
        data["failure_message"] = json!("Insufficient funds");
        let Ok(Mapped::Event(event)) = to_internal(&body("charge.failed", data), 5) else {
            panic!("an event");
        };
        assert_eq!(event.event_type(), "payment-declined");
        let payment: PaymentOutcome = event.entity().expect("payment");
        assert_eq!(payment.reason.as_deref(), Some("Insufficient funds"));
    }

    #[test]
    fn without_a_created_time_the_event_is_stamped_now() {
        let body = json!({"id": "evt_2", "type": "charge.succeeded", "data": charge()});
        let Ok(Mapped::Event(event)) = to_internal(body.to_string().as_bytes(), 42) else {
            panic!("an event");
        };
        assert_eq!(event.timestamp(), 42);
    }

    #[test]
    fn other_callback_types_are_ignored() {
        let mapped = to_internal(&body("charge.refund.updated", json!({"refund": 3})), 5);
        assert!(
            matches!(mapped, Ok(Mapped::Ignored { ref kind }) if kind == "charge.refund.updated"),
            "{mapped:?}"
        );
    }

    #[test]
    fn malformed_callbacks_are_refused_with_the_reason() {
        let missing_order = json!({"reference": "pay-1", "amount": 1, "currency": "EUR",
                                   "metadata": {}});
        let wrong_type = json!({"reference": "pay-1", "amount": "lots", "currency": "EUR",
                                "metadata": {"orderId": "o-1"}});
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"not json".to_vec(), "not a payment callback"),
            (b"[]".to_vec(), "not a payment callback"),
            (
                json!({"id": "evt_3", "type": "charge.failed"})
                    .to_string()
                    .into_bytes(),
                "has no data",
            ),
            (body("charge.succeeded", missing_order), "orderId"),
            (body("charge.succeeded", json!("pay-1")), "not a charge"),
            (body("charge.succeeded", wrong_type), "invalid type"),
            (
                json!({"id": " ", "type": "charge.succeeded", "data": charge()})
                    .to_string()
                    .into_bytes(),
                "empty id",
            ),
        ];
        for (body, expected) in cases {
            let error = to_internal(&body, 5).expect_err("malformed");
            assert!(error.to_string().contains(expected), "{error}");
        }
    }
}
