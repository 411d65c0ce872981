//! The payment processor's ESG as one loop: `payment-requested` → the real
//! `payment-egress-gateway` → `POST /payments` to a local processor → the processor's signed
//! callback → the real `payment-ingress-webhook-gateway` → `payment-authorized` or
//! `payment-declined` on the bus; and the whole asynchronous request-response from the
//! `order-bff`'s `requestPayment` mutation to its status query.
//!
//! The processor here behaves as payment processors do: a repeated `Idempotency-Key` gets
//! the first answer again and charges nothing; the outcome arrives later, signed, and is
//! posted again until the webhook answers 2xx. What each half's own tests cannot show: the
//! egress gateway's request carries what the webhook needs to correlate the outcome, and the
//! loop as a whole turns each payment into exactly one outcome event, even when Lambda
//! redelivers the batch or the bus refuses the first callback.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_http::Request;
use lambda_http::http::StatusCode;
use lambda_stream::testing;
use lambda_stream::{Config, Envelope, InMemoryPublisher, Invocation, StepError, Tags};
use lambda_stream_aws::testing::http::{LocalEndpoint, RecordedRequest, Reply};
use lambda_stream_aws::{HttpConfig, HttpSender};
use payment_egress_gateway::ChargeRequest;
use payment_ingress_webhook_gateway::{PaymentOutcome, Secret, Settings, WebhookGateway};
use serde_json::json;
use tokio::task::JoinHandle;

/// The secret the processor signs with and the webhook checks.
const SECRET: &str = "whsec_loop";
/// The test card the processor declines.
const DECLINED_CARD: &str = payment_egress_gateway::DECLINED_TEST_CARD;
/// How many times the processor posts a callback before giving up.
const CALLBACK_ATTEMPTS: usize = 5;

/// The local payment processor and the callbacks it is delivering.
struct Processor {
    endpoint: LocalEndpoint,
    deliveries: Arc<Mutex<Vec<JoinHandle<Vec<StatusCode>>>>>,
}

impl Processor {
    /// Answers `POST /payments`, and posts each new charge's outcome to `webhook`.
    async fn start(webhook: Arc<WebhookGateway>) -> Self {
        let deliveries: Arc<Mutex<Vec<JoinHandle<Vec<StatusCode>>>>> = Arc::default();
        let charged: Arc<Mutex<HashSet<String>>> = Arc::default();
        let spawned = Arc::clone(&deliveries);
        let endpoint = LocalEndpoint::start(move |request, _| {
            let Some(key) = request.header("idempotency-key").map(str::to_string) else {
                return Reply::status(400).body(r#"{"error":"Idempotency-Key is required"}"#);
            };
            let Ok(charge) = serde_json::from_slice::<ChargeRequest>(&request.body) else {
                return Reply::status(400).body(r#"{"error":"not a charge"}"#);
            };
            let first_time = lock(&charged).insert(key);
            if first_time {
                let delivery = tokio::spawn(deliver_outcome(Arc::clone(&webhook), charge));
                lock(&spawned).push(delivery);
            }
            Reply::status(201).body(r#"{"status":"pending"}"#)
        })
        .await;
        Self {
            endpoint,
            deliveries,
        }
    }

    /// Waits for every callback under way; returns the webhook's answers to each, in the
    /// order the charges arrived.
    async fn settle(&self) -> Vec<Vec<StatusCode>> {
        let pending: Vec<_> = lock(&self.deliveries).drain(..).collect();
        let mut answers = Vec::with_capacity(pending.len());
        for delivery in pending {
            answers.push(delivery.await.expect("the callback task"));
        }
        answers
    }

    fn charges(&self) -> Vec<RecordedRequest> {
        self.endpoint.requests()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Posts the charge's outcome to the webhook, signed, until it answers 2xx.
async fn deliver_outcome(webhook: Arc<WebhookGateway>, charge: ChargeRequest) -> Vec<StatusCode> {
    let body = charge.processor_callback(now_seconds()).to_string();
    let mut answers = Vec::new();
    for _ in 0..CALLBACK_ATTEMPTS {
        let status = webhook.handle(signed_callback(&body)).await.status();
        answers.push(status);
        if status.is_success() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    answers
}

fn now_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn signed_callback(body: &str) -> Request {
    payment_ingress_webhook_gateway::signed_callback(&Secret::new(SECRET), body, now_seconds())
}

fn webhook(bus: &Arc<InMemoryPublisher>) -> Arc<WebhookGateway> {
    let mut tags = Tags::new();
    tags.insert("functionname", "payment-ingress-webhook-gateway");
    let settings = Settings {
        tags,
        ..Settings::new(Secret::new(SECRET))
    };
    Arc::new(WebhookGateway::new(settings, Arc::clone(bus) as _))
}

fn sender(url: &str) -> HttpSender {
    HttpSender::new(
        HttpConfig::new(url)
            .header("Authorization", "Bearer sk_test")
            .rate_limit(10, Duration::from_secs(1)),
    )
    .expect("sender")
}

fn payment_requested(payment: &str, order: &str, card: &str) -> Envelope {
    Envelope::builder("payment-requested")
        .id(format!("evt-{payment}"))
        .timestamp(1_764_000_000_000)
        .partition_key(order)
        .entity(
            "payment",
            &json!({"id": payment, "orderId": order, "customerId": "c1",
                    "amount": 2350, "currency": "EUR", "paymentMethodToken": card}),
        )
        .build()
        .expect("valid")
}

/// The outcome events on the bus, by payment id.
fn outcomes(bus: &InMemoryPublisher) -> Vec<(String, String, PaymentOutcome)> {
    let mut outcomes: Vec<_> = bus
        .envelopes()
        .into_iter()
        .map(|event| {
            let outcome: PaymentOutcome = event.entity().expect("a payment outcome");
            (
                event.event_type().to_string(),
                event.partition_key().unwrap_or_default().to_string(),
                outcome,
            )
        })
        .collect();
    outcomes.sort_by(|a, b| a.2.id.cmp(&b.2.id));
    outcomes
}

#[tokio::test]
async fn each_payment_requested_ends_in_one_outcome_event_even_when_lambda_redelivers() {
    let bus = Arc::new(InMemoryPublisher::new());
    let processor = Processor::start(webhook(&bus)).await;
    let faults = Arc::new(InMemoryPublisher::new());
    let events = vec![
        payment_requested("pay-1", "o-1", "tok_visa"),
        payment_requested("pay-2", "o-2", DECLINED_CARD),
        Envelope::builder("order-placed")
            .id("evt-order")
            .entity("order", &json!({"id": "o-3"}))
            .build()
            .expect("valid"),
    ];
    // Lambda delivers the batch, then delivers it again (a timeout after the calls, say).
    // Without an idempotency table the gateway calls again; the Idempotency-Key it sends is
    // what keeps the processor from charging twice.
    for delivery in 0..2 {
        let report = payment_egress_gateway::handler(
            sender(processor.endpoint.url()),
            None,
            faults.clone(),
            Config::default(),
        )
        .process(testing::kinesis_event(&events), Invocation::local())
        .await;
        let response = report.response.expect("a batch response");
        assert!(
            response.batch_item_failures.is_empty(),
            "delivery {delivery}: {:?}",
            report.summary
        );
        assert_eq!(report.summary.pipelines[0].delivered, 2);
    }
    let answers = processor.settle().await;
    assert_eq!(
        answers,
        vec![vec![StatusCode::OK], vec![StatusCode::OK]],
        "one callback per payment, each taken at once"
    );

    // Different orders are charged concurrently, so only the set of calls is fixed.
    let mut keys: Vec<_> = processor
        .charges()
        .iter()
        .map(|c| c.header("idempotency-key").unwrap_or_default().to_string())
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        vec!["evt-pay-1", "evt-pay-1", "evt-pay-2", "evt-pay-2"]
    );

    let outcomes = outcomes(&bus);
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
    let (authorized_type, authorized_key, authorized) = &outcomes[0];
    assert_eq!(authorized_type, "payment-authorized");
    assert_eq!(authorized_key, "o-1", "keyed by order, like the request");
    assert_eq!(
        authorized,
        &PaymentOutcome {
            id: "pay-1".into(),
            order_id: "o-1".into(),
            amount: 2350,
            currency: "EUR".into(),
            processor_event_id: "evt_pay-1".into(),
            reason: None,
            customer_id: Some("c1".into()),
        }
    );
    let (declined_type, declined_key, declined) = &outcomes[1];
    assert_eq!(declined_type, "payment-declined");
    assert_eq!(declined_key, "o-2");
    assert_eq!(
        (declined.id.as_str(), declined.order_id.as_str()),
        ("pay-2", "o-2")
    );
    assert_eq!(
        declined.reason.as_deref(),
        Some("Your card was declined."),
        "the processor's message"
    );
    assert!(faults.published().is_empty(), "nothing failed");
}

#[tokio::test]
async fn a_callback_the_bus_refuses_is_posted_again_and_published_once() {
    // The bus throttles the first event it is given, then takes everything.
    let refused = Arc::new(Mutex::new(false));
    let bus = Arc::new(InMemoryPublisher::new().rejecting(move |_| {
        let mut refused = lock(&refused);
        if *refused {
            None
        } else {
            *refused = true;
            Some(StepError::retryable("ThrottlingException"))
        }
    }));
    let processor = Processor::start(webhook(&bus)).await;
    let report = payment_egress_gateway::handler(
        sender(processor.endpoint.url()),
        None,
        Arc::new(InMemoryPublisher::new()),
        Config::default(),
    )
    .process(
        testing::kinesis_event(&[payment_requested("pay-7", "o-7", "tok_visa")]),
        Invocation::local(),
    )
    .await;
    assert_eq!(report.summary.pipelines[0].delivered, 1);

    assert_eq!(
        processor.settle().await,
        vec![vec![StatusCode::SERVICE_UNAVAILABLE, StatusCode::OK]],
        "the webhook answers 503 until the bus takes the event"
    );
    let outcomes = outcomes(&bus);
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    assert_eq!(outcomes[0].0, "payment-authorized");
    assert_eq!(outcomes[0].2.id, "pay-7");
}

/// The asynchronous request-response, whole: the BFF's `requestPayment` mutation → the BFF's
/// trigger → `payment-requested` → the payment egress gateway → the processor → the signed
/// webhook → `payment-authorized` → the BFF's listener → the status query answers
/// `authorized`. Every function is the real one; the bus, the table and the processor are
/// local.
#[tokio::test]
async fn a_payment_request_round_trips_from_the_mutation_to_the_status_query() {
    use lambda_stream_aws::store::memory::InMemoryStore;
    use lambda_stream_aws::view::Views;
    use order_bff::api::call;
    use order_bff::graphql::{Services, schema};

    let table = Arc::new(InMemoryStore::new());
    let hub = Arc::new(InMemoryPublisher::new());
    let faults = Arc::new(InMemoryPublisher::new());
    let api = schema(Services {
        store: table.clone(),
        now: Box::new(lambda_stream::envelope::now_millis),
    });
    let listen = |events: Vec<Envelope>| {
        let views = Views::new(table.clone());
        let faults = faults.clone();
        async move {
            order_bff::listener(&views, faults, Config::default())
                .process(testing::kinesis_event(&events), Invocation::local())
                .await
        }
    };
    // A restaurant's menu reaches the BFF.
    let menu = Envelope::builder("menu-updated")
        .id("menu-1")
        .timestamp(1)
        .partition_key("r1")
        .entity(
            "menu",
            &json!({"restaurantId": "r1", "restaurantName": "Trattoria",
                                "items": [{"id": "m1", "name": "Pizza", "price": 1175}]}),
        )
        .build()
        .expect("valid");
    listen(vec![menu]).await;

    // The customer orders and asks to pay: the answer comes at once, `requested`.
    let run = |query: &'static str, variables: serde_json::Value| {
        let api = &api;
        async move {
            let (status, body) = call(api, Some("c1"), query, variables)
                .await
                .expect("an answer");
            assert_eq!(status, StatusCode::OK);
            assert!(body.get("errors").is_none(), "{body}");
            body["data"].clone()
        }
    };
    let placed = run(
        "mutation { placeOrder(input: {restaurantId: \"r1\", items: [{menuItemId: \"m1\", quantity: 2}]}) { id total } }",
        json!({}),
    )
    .await;
    let order_id = placed["placeOrder"]["id"]
        .as_str()
        .expect("an order id")
        .to_string();
    let requested = run(
        "mutation($o: ID!) { requestPayment(orderId: $o, paymentMethodToken: \"tok_visa\") { id status } }",
        json!({"o": order_id}),
    )
    .await;
    let request_id = requested["requestPayment"]["id"]
        .as_str()
        .expect("a request id")
        .to_string();
    assert_eq!(requested["requestPayment"]["status"], "requested");

    // The BFF's trigger publishes the commands' events.
    order_bff::trigger(hub.clone(), Config::default())
        .process(table.take_stream_event(), Invocation::local())
        .await;
    let payment_requested = hub
        .envelopes()
        .into_iter()
        .find(|e| e.event_type() == "payment-requested")
        .expect("payment-requested on the bus");

    // The payment egress gateway charges; the processor calls the webhook back.
    let processor = Processor::start(webhook(&hub)).await;
    let report = payment_egress_gateway::handler(
        sender(processor.endpoint.url()),
        None,
        faults.clone(),
        Config::default(),
    )
    .process(
        testing::kinesis_event(&[payment_requested]),
        Invocation::local(),
    )
    .await;
    assert_eq!(
        report.summary.pipelines[0].delivered, 1,
        "{:?}",
        report.summary
    );
    assert_eq!(processor.settle().await, vec![vec![StatusCode::OK]]);
    let charge: ChargeRequest =
        serde_json::from_slice(&processor.charges()[0].body).expect("a charge");
    assert_eq!(
        (charge.reference.as_str(), charge.amount),
        (request_id.as_str(), 2350)
    );

    // The outcome reaches the BFF's listener; the status query answers.
    let outcome = hub
        .envelopes()
        .into_iter()
        .find(|e| e.event_type() == "payment-authorized")
        .expect("payment-authorized on the bus");
    listen(vec![outcome]).await;
    let polled = run(
        "query($id: ID!) { paymentRequest(id: $id) { status orderId amount } }",
        json!({"id": request_id}),
    )
    .await;
    assert_eq!(polled["paymentRequest"]["status"], "authorized");
    assert_eq!(polled["paymentRequest"]["orderId"], order_id.as_str());
    assert!(faults.published().is_empty(), "{:?}", faults.envelopes());
}
