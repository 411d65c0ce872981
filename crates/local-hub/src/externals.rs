//! The systems outside the subsystem, played locally: the payment processor (an HTTP endpoint
//! taking the egress gateway's charges, then calling the webhook back, signed, until it
//! answers 2xx), and helpers for what the other systems send (the Restaurant subsystem's
//! feed, the delivery system's status messages).

use std::collections::HashSet;
use std::time::{SystemTime, UNIX_EPOCH};

use lambda_stream_aws::testing::http::{LocalEndpoint, Reply};
use payment_egress_gateway::ChargeRequest;
use payment_ingress_webhook_gateway::{Secret, signed_callback};
use serde_json::{Value, json};

use crate::hub::HttpFunction;

/// The card tokens the processor declines.
pub const DECLINED_CARD: &str = payment_egress_gateway::DECLINED_TEST_CARD;
/// How many times the processor posts a callback before it gives up.
pub const CALLBACK_ATTEMPTS: usize = 5;

/// The local payment processor.
#[derive(Debug)]
pub struct Processor {
    endpoint: LocalEndpoint,
    secret: String,
    /// Charges taken (answered 201) and not yet called back, with their idempotency keys.
    accepted: std::sync::Arc<std::sync::Mutex<Vec<(String, ChargeRequest)>>>,
    /// Charges made, by idempotency key (a repeated key charges nothing).
    charged: HashSet<String>,
    /// Callbacks the webhook took, and those it never took.
    pub callbacks: usize,
    /// Callbacks given up after [`CALLBACK_ATTEMPTS`].
    pub callbacks_failed: usize,
    /// How many more calls the processor answers 503 to, charging nothing (an outage).
    outage: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Processor {
    /// Starts the processor on 127.0.0.1; it signs callbacks with `secret`.
    pub async fn start(secret: &str) -> Self {
        let outage = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let refusing = std::sync::Arc::clone(&outage);
        let accepted: std::sync::Arc<std::sync::Mutex<Vec<(String, ChargeRequest)>>> =
            std::sync::Arc::default();
        let taking = std::sync::Arc::clone(&accepted);
        let endpoint = LocalEndpoint::start(move |request, _| {
            let down = refusing
                .fetch_update(
                    std::sync::atomic::Ordering::SeqCst,
                    std::sync::atomic::Ordering::SeqCst,
                    |n| n.checked_sub(1),
                )
                .is_ok();
            if down {
                return Reply::status(503).body(r#"{"error":"unavailable"}"#);
            }
            let Some(key) = request.header("idempotency-key") else {
                return Reply::status(400).body(r#"{"error":"Idempotency-Key is required"}"#);
            };
            let Ok(charge) = serde_json::from_slice::<ChargeRequest>(&request.body) else {
                return Reply::status(400).body(r#"{"error":"not a charge"}"#);
            };
            taking
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push((key.to_string(), charge));
            Reply::status(201).body(r#"{"status":"pending"}"#)
        })
        .await;
        Self {
            endpoint,
            secret: secret.to_string(),
            accepted,
            charged: HashSet::new(),
            callbacks: 0,
            callbacks_failed: 0,
            outage,
        }
    }

    /// The processor's base URL.
    pub fn url(&self) -> &str {
        self.endpoint.url()
    }

    /// An outage: the next `calls` calls are answered 503 and charge nothing.
    pub fn refuse_next(&self, calls: usize) {
        self.outage
            .store(calls, std::sync::atomic::Ordering::SeqCst);
    }

    /// Charges received so far (each call, repeats included).
    pub fn calls(&self) -> usize {
        self.endpoint.requests().len()
    }

    /// Posts the outcome of every new charge to `webhook`, signed; returns how many were
    /// posted.
    pub async fn deliver_callbacks(&mut self, webhook: &dyn HttpFunction) -> usize {
        let taken: Vec<(String, ChargeRequest)> = std::mem::take(
            &mut *self
                .accepted
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let mut posted = 0;
        for (key, charge) in taken {
            // A repeated key charges nothing the second time: no second callback.
            if !self.charged.insert(key) {
                continue;
            }
            let body = charge.processor_callback(now_seconds()).to_string();
            let mut delivered = false;
            for _ in 0..CALLBACK_ATTEMPTS {
                if webhook
                    .call(signed_callback(
                        &Secret::new(self.secret.as_str()),
                        &body,
                        now_seconds(),
                    ))
                    .await
                    .status()
                    .is_success()
                {
                    delivered = true;
                    break;
                }
            }
            if delivered {
                self.callbacks += 1;
            } else {
                self.callbacks_failed += 1;
            }
            posted += 1;
        }
        posted
    }
}

fn now_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The Restaurant subsystem's `restaurant-menu-published` (its external event, version 1).
pub fn menu_published(
    restaurant: &str,
    name: &str,
    items: &[(&str, &str, i64)],
    timestamp: i64,
) -> Value {
    json!({
        "id": format!("evt-menu-{restaurant}-{timestamp}"),
        "type": "restaurant-menu-published",
        "timestamp": timestamp,
        "partitionKey": restaurant,
        "tags": {"source": "restaurant-menu-egress-gateway", "version": 1},
        "restaurant": {
            "id": restaurant,
            "name": name,
            "cuisine": "italian",
            "menu": items.iter().map(|(id, name, price)| json!({"id": id, "name": name, "price": price})).collect::<Vec<_>>(),
        }
    })
}

/// The delivery system's status message.
pub fn delivery_status(order: &str, status: &str, courier: &str) -> Value {
    json!({"orderId": order, "status": status, "courier": courier})
}
