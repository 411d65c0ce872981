//! The harness of the Node interop tests: the Node library run as a Node service runs it
//! ([`node`], over `node/interop.js`), the shipped functions run as Lambda runs them
//! ([`invoke`]: the function's own `from_env` under a local Lambda Runtime API), and
//! `moto_server` for what both call (KMS, S3, EventBridge, SQS, SNS, DynamoDB).
//!
//! The tests are `#[ignore]`d for a plain `cargo test` (they need `node` with the pinned
//! packages installed by `npm ci` in `node/`, and moto); `scripts/test` runs them whenever
//! `node` and `npm` are there, and says so when they are not.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use lambda_stream_aws::testing::http::{LocalEndpoint, Reply};
use lambda_stream_aws::testing::{moto_endpoint, sdk_config};
use serde_json::Value;

/// The region every test runs in.
pub const REGION: &str = "us-east-1";

/// The repository's root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The environment the AWS SDKs (Rust and JavaScript) need to call moto.
pub fn aws_env() -> Vec<(String, String)> {
    [
        ("AWS_ENDPOINT_URL", moto_endpoint()),
        ("AWS_REGION", REGION.to_string()),
        ("AWS_ACCESS_KEY_ID", "test".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// SDK configuration for moto.
pub async fn moto() -> SdkConfig {
    sdk_config(&moto_endpoint()).await
}

/// Runs `node/interop.js COMMAND` with `input` on stdin (see the script for the commands) and
/// reads its JSON answer. `env` is added to the moto environment.
///
/// # Panics
/// When Node is not installed, the packages are missing, or the script fails (with its
/// stderr): the test cannot go on.
pub fn node(command: &str, input: &Value, env: &[(&str, &str)]) -> Value {
    let dir = repo_root().join("node");
    assert!(
        dir.join("node_modules/aws-lambda-stream").exists(),
        "the Node library is not installed: run `npm ci` in {} (scripts/test does)",
        dir.display()
    );
    let mut child = Command::new("node")
        .arg("--no-warnings")
        .arg(dir.join("interop.js"))
        .arg(command)
        .envs(aws_env())
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run node ({e}): these tests need node and npm; scripts/test runs them only when both are installed")
        });
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.to_string().as_bytes())
            .expect("node's stdin");
    }
    let output = child.wait_with_output().expect("node ran");
    assert!(
        output.status.success(),
        "node interop.js {command} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "node interop.js {command} did not answer JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// What a function answered for one invocation.
#[derive(Debug, Clone)]
pub struct Answer {
    /// True for a response, false for an invocation error.
    pub ok: bool,
    /// The response (or the error) it posted.
    pub body: Value,
}

const NEXT: &str = "/2018-06-01/runtime/invocation/next";

fn far_deadline() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (now.as_millis() + 900_000).to_string()
}

/// Starts the shipped function `function` (`binary` is the test crate's `interop-function`)
/// with `env` under a local Lambda Runtime API, hands it `events` one invocation each, and
/// returns what it answered, in order.
///
/// # Panics
/// When the function fails to start or does not answer within 60 s, with its stderr.
pub async fn invoke(
    binary: &str,
    function: &str,
    env: &[(String, String)],
    events: &[Value],
) -> Vec<Answer> {
    let events: Arc<Vec<String>> = Arc::new(events.iter().map(Value::to_string).collect());
    let handed = Arc::new(AtomicUsize::new(0));
    let (queue, given) = (Arc::clone(&events), Arc::clone(&handed));
    let api = LocalEndpoint::start(move |request, _| {
        if request.path == NEXT {
            let n = given.fetch_add(1, Ordering::SeqCst);
            return match queue.get(n) {
                Some(event) => Reply::status(200)
                    .header("Lambda-Runtime-Aws-Request-Id", format!("invocation-{n}"))
                    .header("Lambda-Runtime-Deadline-Ms", far_deadline())
                    .header(
                        "Lambda-Runtime-Invoked-Function-Arn",
                        format!(
                            "arn:aws:lambda:{REGION}:123456789012:function:{function_name}",
                            function_name = "interop"
                        ),
                    )
                    .header(
                        "Lambda-Runtime-Trace-Id",
                        "Root=1-00000000-000000000000000000000000",
                    )
                    .body(event.clone()),
                // No more invocations: the function waits until it is stopped.
                None => Reply::hang(),
            };
        }
        Reply::status(202).body("{}")
    })
    .await;
    let mut child = Command::new(binary)
        .arg(function)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(
            "AWS_LAMBDA_RUNTIME_API",
            api.url().trim_start_matches("http://"),
        )
        .env("AWS_LAMBDA_FUNCTION_NAME", function)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "interop")
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{function}"),
        )
        .envs(aws_env())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {binary} {function}: {e}"));
    let started = Instant::now();
    let answers = loop {
        let answers: Vec<Answer> = api
            .requests()
            .iter()
            .filter(|r| r.path.ends_with("/response") || r.path.ends_with("/error"))
            .map(|r| Answer {
                ok: r.path.ends_with("/response"),
                body: serde_json::from_slice(&r.body).unwrap_or(Value::Null),
            })
            .collect();
        let init_error = api
            .requests()
            .iter()
            .any(|r| r.path.ends_with("/init/error"));
        let exited = matches!(child.try_wait(), Ok(Some(_)));
        if answers.len() >= events.len() || init_error || exited {
            break answers;
        }
        if started.elapsed() > Duration::from_secs(60) {
            break answers;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let _ = child.kill();
    let output = child.wait_with_output().expect("the function's output");
    assert_eq!(
        answers.len(),
        events.len(),
        "{function} answered {} of {} invocations; its log:\n{}",
        answers.len(),
        events.len(),
        String::from_utf8_lossy(&output.stderr)
    );
    answers
}

/// Every item of a table, as plain JSON, in key order.
pub async fn scan(config: &SdkConfig, table: &str) -> Vec<Value> {
    let client = aws_sdk_dynamodb::Client::new(config);
    let out = client
        .scan()
        .table_name(table)
        .send()
        .await
        .expect("scan the table");
    let mut items: Vec<Value> =
        serde_dynamo::from_items(out.items().to_vec()).expect("plain items");
    items.sort_by_key(|item| (item["pk"].to_string(), item["sk"].to_string()));
    items
}

/// A Lambda Kinesis event carrying `payloads` (each the data of one record), as a hub rule
/// delivers what is put on the bus (`InputPath: $.detail`: the bare envelope).
pub fn kinesis_event(payloads: &[String]) -> Value {
    let payloads: Vec<(String, Vec<u8>)> = payloads
        .iter()
        .enumerate()
        .map(|(i, p)| (format!("k{i}"), p.as_bytes().to_vec()))
        .collect();
    serde_json::to_value(lambda_stream::testing::kinesis_event_from_payloads(
        &payloads,
    ))
    .expect("a Lambda event")
}
