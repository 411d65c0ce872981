//! The HTTP sender against a local server playing the third party: retries on 429 honouring
//! `Retry-After`, 5xx until exhausted, refusals with the status and body, timeouts, headers,
//! and the rate limit.

use std::time::{Duration, Instant};

use lambda_stream::ErrorClass;
use lambda_stream_aws::testing::http::{LocalEndpoint, Reply};
use lambda_stream_aws::{HttpConfig, HttpRequest, HttpSender, RetryPolicy};

/// A local API answering the `script` in order, then 200 with `{"status":"accepted"}`.
async fn api(script: Vec<Reply>) -> LocalEndpoint {
    LocalEndpoint::start(move |_, number| {
        script.get(number - 1).cloned().unwrap_or_else(|| {
            Reply::status(200)
                .header("Content-Type", "application/json")
                .body(r#"{"status":"accepted"}"#)
        })
    })
    .await
}

fn fast_retries(attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts: attempts,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        ..RetryPolicy::default()
    }
}

fn payment() -> HttpRequest {
    HttpRequest::post_json(
        "/payments",
        &serde_json::json!({"orderId": "o1", "amount": 23.5}),
    )
    .expect("json")
    .header("Idempotency-Key", "evt-1")
}

#[tokio::test]
async fn a_429_is_retried_after_the_time_it_asks_for_then_succeeds() {
    let server = api(vec![
        Reply::status(429)
            .header("Retry-After", "1")
            .body(r#"{"error":"slow down"}"#),
    ])
    .await;
    let sender = HttpSender::new(
        HttpConfig::new(server.url())
            .header("Authorization", "Bearer secret-token")
            .retry(fast_retries(3)),
    )
    .expect("sender");
    let started = Instant::now();
    let response = sender
        .send(payment())
        .await
        .expect("accepted on the second call");
    assert_eq!(response.status, 200);
    assert_eq!(
        response.json::<serde_json::Value>().expect("json")["status"],
        "accepted"
    );
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert!(
        seen[1].at - seen[0].at >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert!(started.elapsed() >= Duration::from_secs(1));
    for call in &seen {
        assert_eq!(call.method, "POST");
        assert_eq!(call.path, "/payments");
        let body: serde_json::Value = serde_json::from_slice(&call.body).expect("json body");
        assert_eq!(body, serde_json::json!({"orderId": "o1", "amount": 23.5}));
        assert_eq!(call.header("authorization"), Some("Bearer secret-token"));
        assert_eq!(call.header("idempotency-key"), Some("evt-1"));
        assert_eq!(call.header("content-type"), Some("application/json"));
    }
}

#[tokio::test]
async fn server_errors_are_retried_until_exhausted_then_left_to_the_pipeline() {
    let error = || Reply::status(503).body("down for maintenance");
    let server = api(vec![error(), error(), error(), error()]).await;
    let sender =
        HttpSender::new(HttpConfig::new(server.url()).retry(fast_retries(3))).expect("sender");
    let err = sender.send(payment()).await.expect_err("exhausted");
    assert_eq!(
        err.class(),
        ErrorClass::Unclassified,
        "the pipeline's failure mode decides"
    );
    assert_eq!(err.name(), "HttpStatus503");
    assert!(
        err.message()
            .contains("POST /payments answered 503: down for maintenance"),
        "{err}"
    );
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn a_refusal_fails_at_once_with_the_status_and_the_start_of_the_body() {
    let server = api(vec![
        Reply::status(402).body(r#"{"error":"card declined"}"#),
    ])
    .await;
    let sender =
        HttpSender::new(HttpConfig::new(server.url()).retry(fast_retries(3))).expect("sender");
    let err = sender.send(payment()).await.expect_err("refused");
    assert_eq!(err.class(), ErrorClass::Permanent);
    assert_eq!(err.name(), "HttpStatus402");
    assert!(err.message().contains("card declined"), "{err}");
    assert_eq!(server.requests().len(), 1, "no retry of a refusal");
}

#[tokio::test]
async fn a_retry_after_longer_than_allowed_hands_the_unit_back_to_lambda() {
    let server = api(vec![Reply::status(429).header("Retry-After", "120")]).await;
    let sender =
        HttpSender::new(HttpConfig::new(server.url()).retry(fast_retries(3))).expect("sender");
    let err = sender.send(payment()).await.expect_err("too long to wait");
    assert_eq!(err.class(), ErrorClass::Retryable);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_call_that_times_out_is_retried_and_then_left_to_the_pipeline() {
    let server = api(vec![Reply::hang(), Reply::hang()]).await;
    let sender = HttpSender::new(
        HttpConfig::new(server.url())
            .timeout(Duration::from_millis(200))
            .retry(fast_retries(2)),
    )
    .expect("sender");
    let err = sender.send(payment()).await.expect_err("timed out");
    assert_eq!(err.class(), ErrorClass::Unclassified);
    assert_eq!(err.name(), "HttpTimeout");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn the_rate_limit_spaces_calls_across_concurrent_senders() {
    let server = api(Vec::new()).await;
    let sender =
        HttpSender::new(HttpConfig::new(server.url()).rate_limit(2, Duration::from_millis(500)))
            .expect("sender");
    let started = Instant::now();
    let calls = (0..5).map(|_| {
        let sender = sender.clone();
        tokio::spawn(async move { sender.send(payment()).await })
    });
    for call in calls {
        call.await.expect("task").expect("accepted");
    }
    // Five calls at two per half second need at least two full intervals.
    assert!(
        started.elapsed() >= Duration::from_millis(1000),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.requests().len(), 5);
}

#[tokio::test]
async fn nothing_listening_fails_after_the_retries() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let sender = HttpSender::new(HttpConfig::new(&url).retry(fast_retries(2))).expect("sender");
    let err = sender
        .send(payment())
        .await
        .expect_err("connection refused");
    assert_eq!(err.class(), ErrorClass::Unclassified);
    assert_eq!(err.name(), "HttpError");
}

#[tokio::test]
async fn a_post_without_an_idempotency_key_is_not_retried_when_the_server_may_have_acted() {
    let unkeyed =
        || HttpRequest::post_json("/payments", &serde_json::json!({"amount": 1})).expect("json");
    // A timeout: the payment may have been taken.
    let server = api(vec![Reply::hang(), Reply::hang()]).await;
    let sender = HttpSender::new(
        HttpConfig::new(server.url())
            .timeout(Duration::from_millis(200))
            .retry(fast_retries(3)),
    )
    .expect("sender");
    let err = sender.send(unkeyed()).await.expect_err("timed out");
    assert_eq!(server.requests().len(), 1, "called once");
    assert!(err.message().contains("not retried"), "{err}");
    // A 500: the same.
    let server = api(vec![
        Reply::status(500).body("oops"),
        Reply::status(201).body("{}"),
    ])
    .await;
    let sender =
        HttpSender::new(HttpConfig::new(server.url()).retry(fast_retries(3))).expect("sender");
    sender.send(unkeyed()).await.expect_err("not retried");
    assert_eq!(server.requests().len(), 1);
    // A 503 or a 429 was not acted on: retried even without a key.
    let server = api(vec![
        Reply::status(503).body("busy"),
        Reply::status(201).body("{}"),
    ])
    .await;
    let sender =
        HttpSender::new(HttpConfig::new(server.url()).retry(fast_retries(3))).expect("sender");
    sender.send(unkeyed()).await.expect("retried and accepted");
    assert_eq!(server.requests().len(), 2);
    // With a key, a timeout is retried.
    let server = api(vec![Reply::hang(), Reply::status(201).body("{}")]).await;
    let sender = HttpSender::new(
        HttpConfig::new(server.url())
            .timeout(Duration::from_millis(200))
            .retry(fast_retries(3)),
    )
    .expect("sender");
    sender.send(payment()).await.expect("retried with the key");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn retries_stop_before_the_invocations_deadline_and_hand_the_unit_back() {
    // The server asks to come back in 3 s, within what the policy allows, but the deadline
    // is 1 s away: no wait is started, the unit is retried by Lambda.
    let server = api(vec![
        Reply::status(429)
            .body("slow down")
            .header("Retry-After", "3"),
    ])
    .await;
    let sender =
        HttpSender::new(HttpConfig::new(server.url()).retry(fast_retries(4))).expect("sender");
    let started = Instant::now();
    let err = lambda_stream::Deadline::after(Duration::from_secs(1))
        .scope(sender.send(payment()))
        .await
        .expect_err("cut");
    assert_eq!(err.class(), ErrorClass::Retryable);
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.requests().len(), 1);
    // A call that hangs past the deadline is cut there, whatever the client timeout.
    let server = api(vec![Reply::hang()]).await;
    let sender = HttpSender::new(
        HttpConfig::new(server.url())
            .timeout(Duration::from_secs(30))
            .retry(fast_retries(4)),
    )
    .expect("sender");
    let started = Instant::now();
    let err = lambda_stream::Deadline::after(Duration::from_millis(300))
        .scope(sender.send(payment()))
        .await
        .expect_err("cut");
    assert_eq!(err.class(), ErrorClass::Retryable);
    assert_eq!(err.name(), "HttpDeadlineExceeded");
    assert!(started.elapsed() < Duration::from_secs(2));
}
