//! The systems outside the subsystem, played locally: the payment processor (an HTTP endpoint
//! taking the egress gateway's charges, then calling the webhook back, signed, until it
//! answers 2xx), and helpers for what the other systems send (the Restaurant subsystem's
//! feed, the delivery system's status messages).

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use futures::FutureExt;
use futures::future::BoxFuture;
use local_hub::hub::{HttpFunction, Hub, HubError};
use local_hub::local::Outside;

use lambda_stream_aws::testing::http::{LocalEndpoint, Reply};
use payment_egress_gateway::ChargeRequest;
use payment_ingress_webhook_gateway::{Secret, signed_callback};
use serde_json::{Value, json};

/// The card tokens the processor declines.
pub const DECLINED_CARD: &str = payment_egress_gateway::DECLINED_TEST_CARD;
/// How many times the processor posts a callback before it gives up.
pub const CALLBACK_ATTEMPTS: usize = 5;

/// The local payment processor: a handle, cloned to share it (the demo refuses calls through
/// one while the hub's [`Callbacks`] posts through another).
#[derive(Debug, Clone)]
pub struct Processor {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    endpoint: LocalEndpoint,
    secret: String,
    /// Charges taken (answered 201) and not yet called back, with their idempotency keys.
    accepted: Arc<Mutex<Vec<(String, ChargeRequest)>>>,
    /// Charges made, by idempotency key (a repeated key charges nothing).
    charged: Mutex<HashSet<String>>,
    /// Callbacks the webhook took.
    callbacks: AtomicUsize,
    /// Callbacks given up after [`CALLBACK_ATTEMPTS`].
    callbacks_failed: AtomicUsize,
    /// How many more calls the processor answers 503 to, charging nothing (an outage).
    outage: Arc<AtomicUsize>,
}

impl Processor {
    /// Starts the processor on 127.0.0.1; it signs callbacks with `secret`.
    pub async fn start(secret: &str) -> Self {
        let outage = Arc::new(AtomicUsize::new(0));
        let refusing = Arc::clone(&outage);
        let accepted: Arc<Mutex<Vec<(String, ChargeRequest)>>> = Arc::default();
        let taking = Arc::clone(&accepted);
        let endpoint = LocalEndpoint::start(move |request, _| {
            let down = refusing
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
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
            lock(&taking).push((key.to_string(), charge));
            Reply::status(201).body(r#"{"status":"pending"}"#)
        })
        .await;
        Self {
            inner: Arc::new(Inner {
                endpoint,
                secret: secret.to_string(),
                accepted,
                charged: Mutex::default(),
                callbacks: AtomicUsize::new(0),
                callbacks_failed: AtomicUsize::new(0),
                outage,
            }),
        }
    }

    /// The processor's base URL.
    pub fn url(&self) -> &str {
        self.inner.endpoint.url()
    }

    /// An outage: the next `calls` calls are answered 503 and charge nothing.
    pub fn refuse_next(&self, calls: usize) {
        self.inner.outage.store(calls, Ordering::SeqCst);
    }

    /// Charges received so far (each call, repeats included).
    pub fn calls(&self) -> usize {
        self.inner.endpoint.requests().len()
    }

    /// Callbacks the webhook took.
    pub fn callbacks(&self) -> usize {
        self.inner.callbacks.load(Ordering::SeqCst)
    }

    /// Callbacks given up after [`CALLBACK_ATTEMPTS`] refusals.
    pub fn callbacks_failed(&self) -> usize {
        self.inner.callbacks_failed.load(Ordering::SeqCst)
    }

    /// Posts the outcome of every new charge to `webhook`, signed; returns how many were
    /// posted.
    pub async fn deliver_callbacks(&self, webhook: &dyn HttpFunction) -> usize {
        let taken: Vec<(String, ChargeRequest)> = std::mem::take(&mut *lock(&self.inner.accepted));
        let mut posted = 0;
        for (key, charge) in taken {
            // A repeated key charges nothing the second time: no second callback.
            if !lock(&self.inner.charged).insert(key) {
                continue;
            }
            let body = charge.processor_callback(now_seconds()).to_string();
            let mut delivered = false;
            for _ in 0..CALLBACK_ATTEMPTS {
                let callback = signed_callback(
                    &Secret::new(self.inner.secret.as_str()),
                    &body,
                    now_seconds(),
                );
                if webhook.call(callback).await.status().is_success() {
                    delivered = true;
                    break;
                }
            }
            let counter = if delivered {
                &self.inner.callbacks
            } else {
                &self.inner.callbacks_failed
            };
            counter.fetch_add(1, Ordering::SeqCst);
            posted += 1;
        }
        posted
    }
}

/// The processor's part in the hub: after every batch, its callbacks posted to the webhook.
pub struct Callbacks {
    /// The processor.
    pub processor: Processor,
    /// The webhook gateway, as its API calls it.
    pub webhook: Arc<dyn HttpFunction>,
}

impl Outside for Callbacks {
    fn run<'a>(&'a mut self, _hub: &'a Hub) -> BoxFuture<'a, Result<usize, HubError>> {
        async move {
            Ok(self
                .processor
                .deliver_callbacks(self.webhook.as_ref())
                .await)
        }
        .boxed()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
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
