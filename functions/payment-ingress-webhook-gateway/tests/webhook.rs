//! The webhook as the processor (and an attacker) calls it: valid, wrongly signed, replayed,
//! malformed and oversized requests, a bus that fails, Lambda-shaped API Gateway events, and
//! the published event read back from a bus in moto.

use std::sync::Arc;

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use lambda_stream::{Envelope, InMemoryPublisher, StepError, Tags};
use lambda_stream_aws::testing::{bus_to_queue, moto_endpoint, receive_bodies, sdk_config};
use lambda_stream_aws::{EventBridgeConfig, EventBridgePublisher};
use payment_ingress_webhook_gateway::{PaymentOutcome, Secret, Settings, WebhookGateway};
use serde_json::{Value, json};

const SECRET: &str = "whsec_test";
const NOW: i64 = 1_764_000_000;

fn settings() -> Settings {
    let mut tags = Tags::new();
    tags.insert("functionname", "payment-ingress-webhook-gateway");
    Settings {
        tags,
        ..Settings::new(Secret::new(SECRET))
    }
}

fn gateway(bus: &Arc<InMemoryPublisher>) -> WebhookGateway {
    WebhookGateway::new(settings(), Arc::clone(bus) as _)
}

fn callback(id: &str, kind: &str) -> String {
    json!({"id": id, "type": kind, "created": NOW - 2,
           "data": {"reference": "pay-1", "amount": 2350, "currency": "EUR",
                    "metadata": {"orderId": "o-1"}, "failure_code": "card_declined"}})
    .to_string()
}

fn request(body: &str, signed_at: i64, secret: &str) -> Request {
    lambda_http::http::Request::builder()
        .method(Method::POST)
        .uri("/webhooks/payments")
        .header("content-type", "application/json")
        .header("payment-timestamp", signed_at.to_string())
        .header(
            "payment-signature",
            Secret::new(secret).sign(signed_at, body.as_bytes()),
        )
        .body(Body::Text(body.to_string()))
        .expect("a request")
}

fn body_json(response: &Response<Body>) -> Value {
    serde_json::from_slice(response.body().as_ref()).expect("a JSON body")
}

#[tokio::test]
async fn a_signed_callback_is_published_before_the_2xx() {
    let bus = Arc::new(InMemoryPublisher::new());
    let response = gateway(&bus)
        .handle_at(
            request(&callback("evt_1", "charge.succeeded"), NOW, SECRET),
            NOW,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_json(&response)["published"], "payment-authorized");
    let published = bus.envelopes();
    assert_eq!(published.len(), 1);
    let event = &published[0];
    assert_eq!(event.event_type(), "payment-authorized");
    assert_eq!(event.id(), "evt_1");
    assert_eq!(event.partition_key(), Some("o-1"));
    assert_eq!(
        event.tags().get_str("functionname"),
        Some("payment-ingress-webhook-gateway")
    );
    assert_eq!(event.tags().get_str("pipeline"), Some("payment-webhook"));
    let payment: PaymentOutcome = event.entity().expect("payment");
    assert_eq!(payment.order_id, "o-1");
    assert_eq!(payment.reason, None);
}

#[tokio::test]
async fn a_failed_charge_publishes_payment_declined() {
    let bus = Arc::new(InMemoryPublisher::new());
    let response = gateway(&bus)
        .handle_at(
            request(&callback("evt_2", "charge.failed"), NOW, SECRET),
            NOW,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let payment: PaymentOutcome = bus.envelopes()[0].entity().expect("payment");
    assert_eq!(payment.reason.as_deref(), Some("card_declined"));
}

/// Each refused request: its status, and that nothing reached the bus.
async fn assert_refused(request: Request, status: StatusCode, message: &str) {
    let bus = Arc::new(InMemoryPublisher::new());
    let response = gateway(&bus).handle_at(request, NOW).await;
    assert_eq!(response.status(), status);
    let error = body_json(&response)["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(error.contains(message), "{error:?} should say {message:?}");
    assert!(bus.published().is_empty(), "nothing reaches the bus");
}

#[tokio::test]
async fn a_wrong_signature_is_401() {
    let body = callback("evt_1", "charge.succeeded");
    assert_refused(
        request(&body, NOW, "whsec_guessed"),
        StatusCode::UNAUTHORIZED,
        "invalid signature",
    )
    .await;

    // Signed correctly, then the amount was changed on the way.
    let mut tampered = request(&body, NOW, SECRET);
    *tampered.body_mut() = Body::Text(body.replace("2350", "1"));
    assert_refused(tampered, StatusCode::UNAUTHORIZED, "invalid signature").await;

    let mut unsigned = request(&body, NOW, SECRET);
    unsigned.headers_mut().remove("payment-signature");
    assert_refused(unsigned, StatusCode::UNAUTHORIZED, "payment-signature").await;
}

#[tokio::test]
async fn a_replayed_request_is_401() {
    let body = callback("evt_1", "charge.succeeded");
    // Captured six minutes ago and sent again, signature intact.
    assert_refused(
        request(&body, NOW - 360, SECRET),
        StatusCode::UNAUTHORIZED,
        "outside the allowed window",
    )
    .await;
    // Or from too far in the future.
    assert_refused(
        request(&body, NOW + 360, SECRET),
        StatusCode::UNAUTHORIZED,
        "outside the allowed window",
    )
    .await;
    // A replay that moves the timestamp breaks the signature instead.
    let mut moved = request(&body, NOW - 360, SECRET);
    moved.headers_mut().insert(
        "payment-timestamp",
        NOW.to_string().parse().expect("a header"),
    );
    assert_refused(moved, StatusCode::UNAUTHORIZED, "invalid signature").await;
}

#[tokio::test]
async fn a_malformed_signed_body_is_400() {
    assert_refused(
        request("{not json", NOW, SECRET),
        StatusCode::BAD_REQUEST,
        "not a payment callback",
    )
    .await;
    let no_order = json!({"id": "evt_1", "type": "charge.succeeded",
                          "data": {"reference": "pay-1", "amount": 1, "currency": "EUR", "metadata": {}}});
    assert_refused(
        request(&no_order.to_string(), NOW, SECRET),
        StatusCode::BAD_REQUEST,
        "orderId",
    )
    .await;
}

/// Collects what the gateway logs.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl Captured {
    /// Captures this thread's log lines until the guard is dropped.
    fn logs() -> (Self, tracing::subscriber::DefaultGuard) {
        let captured = Self::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        (captured, tracing::subscriber::set_default(subscriber))
    }

    fn text(&self) -> String {
        String::from_utf8(self.0.lock().expect("lock").clone()).expect("UTF-8")
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_signed_body_that_cannot_be_read_is_kept_in_the_log_and_an_unsigned_one_is_not() {
    let (captured, _guard) = Captured::logs();
    let bus = Arc::new(InMemoryPublisher::new());
    let signed = r#"{"id":"evt_1","type":"charge.succeeded","data":{"reference":"pay-77"}}"#;
    let response = gateway(&bus)
        .handle_at(request(signed, NOW, SECRET), NOW)
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let unsigned = r#"{"id":"evt_2","secretive":"pay-88"}"#;
    let response = gateway(&bus)
        .handle_at(request(unsigned, NOW, "whsec_guessed"), NOW)
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let log = captured.text();
    assert!(log.contains("pay-77"), "the signed body is logged: {log}");
    assert!(!log.contains("pay-88"), "an unsigned body is not: {log}");
}

#[tokio::test]
async fn an_oversized_body_is_413_before_any_other_check() {
    let big = format!(
        r#"{{"id":"evt_1","type":"charge.succeeded","padding":"{}"}}"#,
        "x".repeat(70 * 1024)
    );
    // Not even signed: the size is refused first.
    let mut unsigned = request(&big, NOW, SECRET);
    unsigned.headers_mut().remove("payment-signature");
    assert_refused(unsigned, StatusCode::PAYLOAD_TOO_LARGE, "larger than 65536").await;
}

#[tokio::test]
async fn only_post_is_accepted() {
    let mut get = request("{}", NOW, SECRET);
    *get.method_mut() = Method::GET;
    assert_refused(get, StatusCode::METHOD_NOT_ALLOWED, "only POST").await;
}

#[tokio::test]
async fn a_bus_that_fails_is_503_so_the_processor_retries() {
    let failing =
        Arc::new(InMemoryPublisher::new().failing(|| StepError::retryable("ThrottlingException")));
    let response = gateway(&failing)
        .handle_at(
            request(&callback("evt_1", "charge.succeeded"), NOW, SECRET),
            NOW,
        )
        .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(failing.published().is_empty());

    // Unclassified (retries exhausted) is still worth another try.
    let exhausted = Arc::new(
        InMemoryPublisher::new()
            .rejecting(|_| Some(StepError::new("not accepted after 4 attempts"))),
    );
    let response = gateway(&exhausted)
        .handle_at(
            request(&callback("evt_1", "charge.succeeded"), NOW, SECRET),
            NOW,
        )
        .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn a_permanent_refusal_is_422_so_the_processor_stops_and_the_event_is_logged() {
    let (captured, _guard) = Captured::logs();
    let rejecting = Arc::new(
        InMemoryPublisher::new().rejecting(|_| Some(StepError::permanent("MalformedDetail"))),
    );
    let response = gateway(&rejecting)
        .handle_at(
            request(&callback("evt_9", "charge.succeeded"), NOW, SECRET),
            NOW,
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let log = captured.text();
    assert!(
        log.contains("refused the callback's event for good"),
        "{log}"
    );
    assert!(log.contains("payment-"), "the event is in the log: {log}");
}

#[tokio::test]
async fn callback_types_we_do_not_act_on_are_acknowledged_and_not_published() {
    let bus = Arc::new(InMemoryPublisher::new());
    let body = json!({"id": "evt_9", "type": "payout.paid", "data": {"payout": 1}}).to_string();
    let response = gateway(&bus)
        .handle_at(request(&body, NOW, SECRET), NOW)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_json(&response)["ignored"], "payout.paid");
    assert!(bus.published().is_empty());
}

#[tokio::test]
async fn the_sample_api_gateway_event_is_accepted_when_fresh() {
    let path = format!(
        "{}/events/apigw-charge-succeeded-signed.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let event = std::fs::read_to_string(path).expect("the sample event");
    let bus = Arc::new(InMemoryPublisher::new());
    let gateway = WebhookGateway::new(
        Settings::new(Secret::new("local-webhook-secret")),
        Arc::clone(&bus) as _,
    );
    // The sample was signed at 1764000005.
    let request = lambda_http::request::from_str(&event).expect("an HTTP API event");
    let response = gateway.handle_at(request, 1_764_000_005 + 60).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{:?}",
        body_json(&response)
    );
    assert_eq!(bus.envelopes()[0].event_type(), "payment-authorized");

    // The same event an hour later is a replay.
    let request = lambda_http::request::from_str(&event).expect("an HTTP API event");
    let response = gateway.handle_at(request, 1_764_000_005 + 3600).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(bus.envelopes().len(), 1);
}

#[tokio::test]
async fn a_base64_encoded_body_is_verified_on_its_decoded_bytes() {
    use base64::Engine as _;
    let body = callback("evt_5", "charge.succeeded");
    let signature = Secret::new(SECRET).sign(NOW, body.as_bytes());
    let event = json!({
        "version": "2.0",
        "routeKey": "POST /webhooks/payments",
        "rawPath": "/webhooks/payments",
        "rawQueryString": "",
        "headers": {"payment-timestamp": NOW.to_string(), "payment-signature": signature},
        "requestContext": {"accountId": "123456789012", "apiId": "api", "domainName": "d",
                           "domainPrefix": "d", "requestId": "r", "routeKey": "POST /webhooks/payments",
                           "stage": "$default", "time": "t", "timeEpoch": 0,
                           "http": {"method": "POST", "path": "/webhooks/payments",
                                    "protocol": "HTTP/1.1", "sourceIp": "1.2.3.4", "userAgent": "p"}},
        "body": base64::engine::general_purpose::STANDARD.encode(&body),
        "isBase64Encoded": true
    });
    let bus = Arc::new(InMemoryPublisher::new());
    let request = lambda_http::request::from_str(&event.to_string()).expect("an HTTP API event");
    let response = gateway(&bus).handle_at(request, NOW).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{:?}",
        body_json(&response)
    );
    assert_eq!(bus.envelopes()[0].id(), "evt_5");
}

#[test]
fn settings_come_from_the_environment_with_clear_errors() {
    let lookup = |vars: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_string())
        }
    };
    let missing = Settings::from_lookup(lookup(&[])).expect_err("no secret");
    assert!(missing.contains("PAYMENT_WEBHOOK_SECRET"), "{missing}");
    let bad = Settings::from_lookup(lookup(&[
        ("PAYMENT_WEBHOOK_SECRET", "s"),
        ("PAYMENT_WEBHOOK_MAX_BODY_BYTES", "lots"),
    ]))
    .expect_err("not a number");
    assert!(bad.contains("PAYMENT_WEBHOOK_MAX_BODY_BYTES"), "{bad}");
    let settings = Settings::from_lookup(lookup(&[
        ("PAYMENT_WEBHOOK_SECRET", "s"),
        ("PAYMENT_WEBHOOK_MAX_BODY_BYTES", "1024"),
        ("STAGE", "dev"),
    ]))
    .expect("valid");
    assert_eq!(settings.max_body_bytes, 1024);
    assert_eq!(settings.tags.get_str("stage"), Some("dev"));
}

#[tokio::test]
#[ignore = "needs moto_server: scripts/test starts one and runs it"]
async fn the_event_reaches_a_bus_in_moto() {
    let endpoint = moto_endpoint();
    let config = sdk_config(&endpoint).await;
    let (bus_name, queue_url) =
        bus_to_queue(&config, r#"{"detail-type": [{"prefix": "payment-"}]}"#).await;
    let bus = Arc::new(EventBridgePublisher::new(
        aws_sdk_eventbridge::Client::new(&config),
        EventBridgeConfig::new(&bus_name),
    ));
    let gateway = WebhookGateway::new(settings(), bus);
    let response = gateway
        .handle_at(
            request(&callback("evt_7", "charge.failed"), NOW, SECRET),
            NOW,
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{:?}",
        body_json(&response)
    );

    let sqs = aws_sdk_sqs::Client::new(&config);
    let bodies = receive_bodies(&sqs, &queue_url, 1).await;
    assert_eq!(bodies.len(), 1);
    let delivered: Value = serde_json::from_str(&bodies[0]).expect("an EventBridge event");
    assert_eq!(delivered["detail-type"], "payment-declined");
    let event = Envelope::from_slice(delivered["detail"].to_string().as_bytes()).expect("envelope");
    assert_eq!(event.id(), "evt_7");
    let payment: PaymentOutcome = event.entity().expect("payment");
    assert_eq!(payment.reason.as_deref(), Some("card_declined"));

    // A bus that does not exist is a refusal that retries would not change: 422, the event
    // kept in the log.
    let missing = Arc::new(EventBridgePublisher::new(
        aws_sdk_eventbridge::Client::new(&config),
        EventBridgeConfig::new("no-such-bus"),
    ));
    let response = WebhookGateway::new(settings(), missing)
        .handle_at(
            request(&callback("evt_8", "charge.failed"), NOW, SECRET),
            NOW,
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
