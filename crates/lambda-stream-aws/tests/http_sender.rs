//! The HTTP sender against a local server playing the third party: retries on 429 honouring
//! `Retry-After`, 5xx until exhausted, refusals with the status and body, timeouts, headers,
//! and the rate limit.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lambda_stream::ErrorClass;
use lambda_stream_aws::{HttpConfig, HttpRequest, HttpSender, RetryPolicy};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What the server answers, in order; when the script runs out it answers 200.
#[derive(Clone)]
enum Answer {
    Status(u16, Vec<(&'static str, String)>, &'static str),
    Hang,
}

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
    at: Instant,
}

#[derive(Clone, Default)]
struct Server {
    script: Arc<Mutex<VecDeque<Answer>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    async fn start(script: Vec<Answer>) -> (Self, String) {
        let server = Self {
            script: Arc::new(Mutex::new(script.into())),
            seen: Arc::default(),
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let accepting = server.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(accepting.clone().serve(stream));
            }
        });
        (server, url)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }

    async fn serve(self, stream: TcpStream) {
        let mut reader = BufReader::new(stream);
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let mut parts = line.split_whitespace();
            let method = parts.next().unwrap_or_default().to_string();
            let path = parts.next().unwrap_or_default().to_string();
            let mut headers = Vec::new();
            let mut length = 0;
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).await.unwrap_or(0) == 0 {
                    return;
                }
                let header = header.trim_end().to_string();
                if header.is_empty() {
                    break;
                }
                if let Some((name, value)) = header.split_once(':') {
                    let (name, value) =
                        (name.trim().to_ascii_lowercase(), value.trim().to_string());
                    if name == "content-length" {
                        length = value.parse().unwrap_or(0);
                    }
                    headers.push((name, value));
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).await.is_err() {
                return;
            }
            self.seen.lock().expect("lock").push(Seen {
                method,
                path,
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
                at: Instant::now(),
            });
            let answer = self
                .script
                .lock()
                .expect("lock")
                .pop_front()
                .unwrap_or(Answer::Status(200, Vec::new(), r#"{"status":"accepted"}"#));
            match answer {
                Answer::Hang => {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    return;
                }
                Answer::Status(status, extra, body) => {
                    let mut head = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
                        body.len()
                    );
                    for (name, value) in extra {
                        head.push_str(&format!("{name}: {value}\r\n"));
                    }
                    head.push_str("\r\n");
                    let stream = reader.get_mut();
                    if stream.write_all(head.as_bytes()).await.is_err()
                        || stream.write_all(body.as_bytes()).await.is_err()
                    {
                        return;
                    }
                }
            }
        }
    }
}

fn fast_retries(attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts: attempts,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
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
    let (server, url) = Server::start(vec![Answer::Status(
        429,
        vec![("Retry-After", "1".into())],
        r#"{"error":"slow down"}"#,
    )])
    .await;
    let sender = HttpSender::new(
        HttpConfig::new(&url)
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
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert!(
        seen[1].at - seen[0].at >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert!(started.elapsed() >= Duration::from_secs(1));
    for call in &seen {
        assert_eq!(call.method, "POST");
        assert_eq!(call.path, "/payments");
        let body: serde_json::Value = serde_json::from_str(&call.body).expect("json body");
        assert_eq!(body, serde_json::json!({"orderId": "o1", "amount": 23.5}));
        let header = |n: &str| {
            call.headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(header("authorization"), Some("Bearer secret-token"));
        assert_eq!(header("idempotency-key"), Some("evt-1"));
        assert_eq!(header("content-type"), Some("application/json"));
    }
}

#[tokio::test]
async fn server_errors_are_retried_until_exhausted_then_left_to_the_pipeline() {
    let error = || Answer::Status(503, Vec::new(), "down for maintenance");
    let (server, url) = Server::start(vec![error(), error(), error(), error()]).await;
    let sender = HttpSender::new(HttpConfig::new(&url).retry(fast_retries(3))).expect("sender");
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
    assert_eq!(server.seen().len(), 3);
}

#[tokio::test]
async fn a_refusal_fails_at_once_with_the_status_and_the_start_of_the_body() {
    let (server, url) = Server::start(vec![Answer::Status(
        402,
        Vec::new(),
        r#"{"error":"card declined"}"#,
    )])
    .await;
    let sender = HttpSender::new(HttpConfig::new(&url).retry(fast_retries(3))).expect("sender");
    let err = sender.send(payment()).await.expect_err("refused");
    assert_eq!(err.class(), ErrorClass::Permanent);
    assert_eq!(err.name(), "HttpStatus402");
    assert!(err.message().contains("card declined"), "{err}");
    assert_eq!(server.seen().len(), 1, "no retry of a refusal");
}

#[tokio::test]
async fn a_retry_after_longer_than_allowed_hands_the_unit_back_to_lambda() {
    let (server, url) = Server::start(vec![Answer::Status(
        429,
        vec![("Retry-After", "120".into())],
        "",
    )])
    .await;
    let sender = HttpSender::new(HttpConfig::new(&url).retry(fast_retries(3))).expect("sender");
    let err = sender.send(payment()).await.expect_err("too long to wait");
    assert_eq!(err.class(), ErrorClass::Retryable);
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn a_call_that_times_out_is_retried_and_then_left_to_the_pipeline() {
    let (server, url) = Server::start(vec![Answer::Hang, Answer::Hang]).await;
    let sender = HttpSender::new(
        HttpConfig::new(&url)
            .timeout(Duration::from_millis(200))
            .retry(fast_retries(2)),
    )
    .expect("sender");
    let err = sender.send(payment()).await.expect_err("timed out");
    assert_eq!(err.class(), ErrorClass::Unclassified);
    assert_eq!(err.name(), "HttpTimeout");
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn the_rate_limit_spaces_calls_across_concurrent_senders() {
    let (server, url) = Server::start(Vec::new()).await;
    let sender = HttpSender::new(HttpConfig::new(&url).rate_limit(2, Duration::from_millis(500)))
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
    assert_eq!(server.seen().len(), 5);
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
