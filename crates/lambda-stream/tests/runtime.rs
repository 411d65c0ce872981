//! `StreamHandler::run` under the real `lambda_runtime`, against a small stand-in for the
//! Lambda Runtime API on 127.0.0.1: the runtime fetches an SQS event, the handler processes it,
//! and the partial batch response (or the error) is what the runtime posts back.
//!
//! The runtime reads its endpoint from the environment, so the handler runs in a child
//! process: this test binary again, running only `runtime_child` with the variables set.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use lambda_stream::testing;
use lambda_stream::{
    Envelope, FailureMode, InMemoryPublisher, Pipeline, SqsSource, StepError, StreamHandler,
};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

const CHILD: &str = "LAMBDA_STREAM_RUNTIME_CHILD";

fn event(n: usize, event_type: &str) -> Envelope {
    Envelope::builder(event_type)
        .id(format!("e{n}"))
        .timestamp(1)
        .entity("thing", &json!({"n": n}))
        .build()
        .expect("valid")
}

/// The function the child process runs: retries `order-*` events, delivers the rest.
#[tokio::test]
async fn runtime_child() {
    if std::env::var(CHILD).is_err() {
        return; // Only meaningful inside the child process.
    }
    let pipeline = Pipeline::new("p")
        .on_failure(FailureMode::Retry)
        .map(|uow| {
            if uow.event.event_type().starts_with("order-") {
                Err(StepError::new("orders are retried"))
            } else {
                Ok(())
            }
        });
    let result = StreamHandler::new(SqsSource::new())
        .pipeline(pipeline.delivered())
        .faults_to(Arc::new(InMemoryPublisher::new()))
        .run()
        .await;
    panic!("the runtime stopped: {result:?}");
}

/// What the runtime posted for an invocation.
#[derive(Debug)]
struct Posted {
    path: String,
    body: Value,
}

struct Request {
    method: String,
    path: String,
    body: Vec<u8>,
}

async fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).await.ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.ok()?;
    Some(Request { method, path, body })
}

/// Serves one connection: the first `next` gets the event, later ones wait forever; posts of
/// responses and errors are reported.
async fn serve(stream: TcpStream, event: Arc<String>, posted: mpsc::UnboundedSender<Posted>) {
    let mut reader = BufReader::new(stream);
    let mut served = false;
    while let Some(request) = read_request(&mut reader).await {
        let stream = reader.get_mut();
        if request.method == "GET" && request.path.ends_with("/invocation/next") {
            if served {
                // The runtime asks for the next event; the test is over by then.
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return;
            }
            served = true;
            let deadline = chrono::Utc::now().timestamp_millis() + 60_000;
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Lambda-Runtime-Aws-Request-Id: req-1\r\nLambda-Runtime-Deadline-Ms: {deadline}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:test\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700\r\n\r\n",
                event.len()
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(event.as_bytes()).await;
        } else {
            let body = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
            let _ = posted.send(Posted {
                path: request.path,
                body,
            });
            let _ = stream
                .write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}")
                .await;
        }
    }
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn invoke(event: Value) -> Posted {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let event = Arc::new(event.to_string());
    let (posted_tx, mut posted_rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, Arc::clone(&event), posted_tx.clone()));
        }
    });
    let exe = std::env::current_exe().expect("test binary");
    let _child = KillOnDrop(
        Command::new(exe)
            .args(["runtime_child", "--exact", "--nocapture"])
            .env(CHILD, "1")
            .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "test")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_REGION", "us-east-1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("child starts"),
    );
    tokio::time::timeout(Duration::from_secs(60), posted_rx.recv())
        .await
        .expect("the runtime posted a result in time")
        .expect("a result")
}

#[tokio::test]
async fn run_answers_lambda_with_the_partial_batch_response() {
    let sqs = testing::sqs_event(&[
        event(0, "thing-created"),
        event(1, "order-placed"),
        event(2, "thing-updated"),
    ]);
    let posted = invoke(serde_json::to_value(&sqs).expect("json")).await;
    assert_eq!(posted.path, "/2018-06-01/runtime/invocation/req-1/response");
    assert_eq!(
        posted.body,
        json!({"batchItemFailures": [{"itemIdentifier": "059f36b4-87a3-44ab-83d2-661975830a01"}]})
    );
}

#[tokio::test]
async fn run_reports_an_event_it_cannot_read_as_an_invocation_error() {
    let posted = invoke(json!({"Records": "not a list"})).await;
    assert_eq!(posted.path, "/2018-06-01/runtime/invocation/req-1/error");
    assert!(posted.body["errorMessage"].is_string(), "{:?}", posted.body);
}
