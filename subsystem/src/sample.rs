//! `sample FILE`: a file of the subsystem's events to replay (orders placed, paid, accepted, on
//! their way, delivered), the same for the same seed.

use std::io::Write;

use serde_json::{Value, json};

/// Writes `events` of the subsystem's events (about five per order: placed, paid, accepted,
/// on its way, delivered) to `out`, one envelope per line, the same for the same seed.
pub fn sample(out: &mut dyn Write, events: usize, seed: u64) -> std::io::Result<()> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let origin: i64 = 1_764_547_200_000;
    let mut written = 0;
    let mut order = 0;
    while written < events {
        order += 1;
        let id = format!("o-{seed}-{order}");
        let customer = format!("c{}", rng.u32(1..5_000));
        let restaurant = format!("r{}", rng.u32(1..50));
        let total = i64::from(rng.u32(500..9_000));
        let at = origin + order * 1_000;
        let envelope = |n: i64, kind: &str, field: &str, entity: Value| {
            json!({
                "id": format!("{id}-{n}"),
                "type": kind,
                "timestamp": at + n,
                "partitionKey": id,
                "tags": {"source": "replay", "stage": "dev"},
                field: entity,
            })
        };
        let lines = [
            envelope(
                0,
                "order-placed",
                "order",
                json!({
                "id": id, "customerId": customer, "restaurantId": restaurant,
                "items": [{"menuItemId": "m1", "quantity": 1, "price": total}],
                "total": total, "currency": "EUR", "status": "placed"}),
            ),
            envelope(
                1,
                "payment-authorized",
                "payment",
                json!({
                "id": format!("pay-{id}"), "orderId": id, "customerId": customer,
                "amount": total, "currency": "EUR", "processorEventId": format!("evt_{id}")}),
            ),
            envelope(
                2,
                "order-accepted",
                "acceptance",
                json!({"orderId": id, "restaurantId": restaurant}),
            ),
            envelope(
                3,
                "delivery-out-for-delivery",
                "delivery",
                json!({"orderId": id, "status": "out-for-delivery"}),
            ),
            envelope(
                4,
                "delivery-delivered",
                "delivery",
                json!({"orderId": id, "status": "delivered"}),
            ),
        ];
        for line in lines.iter().take(events - written) {
            writeln!(out, "{line}")?;
            written += 1;
        }
    }
    Ok(())
}
