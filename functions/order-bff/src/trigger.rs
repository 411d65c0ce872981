//! The trigger: the API's changes to the table become events (latched changes, the
//! listener's view writes, do not). Each event's id is the change's, so a redelivered batch
//! publishes the same ids.
//!
//! | change | event |
//! |---|---|
//! | an order created | `order-placed` (entity `order`) |
//! | an order's status becoming `cancelled` | `order-cancelled` |
//! | a payment request created | `payment-requested` (entity `payment`: what the payment egress gateway charges) |

use std::sync::Arc;

use lambda_stream::{Delivered, Envelope, Pipeline, Publisher, StepError, Uow};
use serde_json::{Value, json};

/// The events of the API's changes, published to `bus`.
pub fn changes_to_events(bus: Arc<dyn Publisher>) -> Pipeline<Delivered> {
    Pipeline::cdc(
        "changes-to-events",
        ["order-created", "order-updated", "payment-request-created"],
    )
    .map(to_event)
    // An update that is not a cancellation is no event: the change ends filtered.
    .split(|uow| Ok::<_, StepError>(uow.value.clone().into_iter().collect()))
    .publish(bus, 4)
}

fn image<T>(uow: &Uow<T>, which: &str) -> Option<Value> {
    let raw: Value = uow.event.raw_as().ok()?;
    raw.get(which).cloned()
}

/// The event for one change, or none (an update that is not a cancellation).
pub fn to_event(uow: &Uow<()>) -> Result<Option<Envelope>, StepError> {
    let new = image(uow, "new").unwrap_or(Value::Null);
    let old = image(uow, "old").unwrap_or(Value::Null);
    let id = new["pk"].as_str().unwrap_or_default().to_string();
    let builder = match uow.event.event_type() {
        "order-created" => Envelope::builder("order-placed").entity("order", &order(&new)),
        "order-updated" if new["status"] == "cancelled" && old["status"] != "cancelled" => {
            Envelope::builder("order-cancelled").entity("order", &order(&new))
        }
        "payment-request-created" => Envelope::builder("payment-requested").entity(
            "payment",
            &json!({
                "id": id,
                "orderId": new["orderId"],
                "customerId": new["customerId"],
                "amount": new["amount"],
                "currency": new["currency"],
                "paymentMethodToken": new["paymentMethodToken"],
            }),
        ),
        _ => return Ok(None),
    };
    let key = match uow.event.event_type() {
        "payment-request-created" => new["orderId"].as_str().unwrap_or(&id).to_string(),
        _ => id,
    };
    builder
        .id(uow.event.id())
        .timestamp(uow.event.timestamp())
        .partition_key(key)
        .build()
        .map(Some)
        .map_err(StepError::from)
}

fn order(item: &Value) -> Value {
    json!({
        "id": item["pk"],
        "customerId": item["customerId"],
        "restaurantId": item["restaurantId"],
        "items": item["items"],
        "total": item["total"],
        "currency": item["currency"],
        "status": item["status"],
    })
}
