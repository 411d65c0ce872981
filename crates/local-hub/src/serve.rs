//! The served mode: the hub listens on 127.0.0.1 and speaks EventBridge's `PutEvents` (the AWS
//! JSON 1.1 protocol), so a service in any language (the AWS SDK with `AWS_ENDPOINT_URL` set to
//! the hub) publishes onto the local bus and its events reach the subsystem's functions.
//! Requests are not authenticated: the hub is for one laptop.

use std::net::SocketAddr;
use std::sync::Arc;

use lambda_stream_aws::testing::http::read_request;
use serde_json::{Value, json};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::hub::{BusEntry, Core};

/// `PutEvents` takes at most this many entries.
const MAX_ENTRIES: usize = 10;
/// The largest request body read.
const MAX_BODY: usize = 1024 * 1024;

/// Listens on `address` (`127.0.0.1:0` for any free port); returns the address bound. The
/// server runs until the runtime ends.
pub async fn start(core: Arc<Core>, address: &str) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(address).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(connection(stream, Arc::clone(&core)));
        }
    });
    Ok(bound)
}

/// Serves one connection (keep-alive) until the client closes it or sends nonsense.
async fn connection(stream: TcpStream, core: Arc<Core>) {
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader, MAX_BODY).await {
        let target = request.header("x-amz-target");
        let (status, response) = answer(&core, target, &request.body);
        let body = response.to_string();
        let head = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/x-amz-json-1.1\r\nx-amzn-requestid: {}\r\ncontent-length: {}\r\n\r\n",
            uuid::Uuid::new_v4(),
            body.len()
        );
        let stream = reader.get_mut();
        if stream.write_all(head.as_bytes()).await.is_err()
            || stream.write_all(body.as_bytes()).await.is_err()
        {
            return;
        }
    }
}

fn error(kind: &str, message: &str) -> (&'static str, Value) {
    (
        "400 Bad Request",
        json!({"__type": kind, "message": message}),
    )
}

/// The answer to one request.
fn answer(core: &Core, target: Option<&str>, body: &[u8]) -> (&'static str, Value) {
    match target {
        Some("AWSEvents.PutEvents") => put_events(core, body),
        Some(other) => error(
            "UnknownOperationException",
            &format!("the local hub speaks AWSEvents.PutEvents only, not {other}"),
        ),
        None => error("MissingAction", "no X-Amz-Target header"),
    }
}

fn put_events(core: &Core, body: &[u8]) -> (&'static str, Value) {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return error("SerializationException", "the body is not JSON");
    };
    let Some(entries) = request.get("Entries").and_then(Value::as_array) else {
        return error("ValidationException", "Entries is required");
    };
    if entries.is_empty() || entries.len() > MAX_ENTRIES {
        return error(
            "ValidationException",
            &format!(
                "Entries must hold 1 to {MAX_ENTRIES} entries, not {}",
                entries.len()
            ),
        );
    }
    let text = |entry: &Value, field: &str| {
        entry
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let mut results = Vec::with_capacity(entries.len());
    let mut failed = 0;
    for entry in entries {
        let bus = match text(entry, "EventBusName") {
            name if name.is_empty() => "default".to_string(),
            name => name
                .rsplit_once(":event-bus/")
                .map_or(name.clone(), |(_, n)| n.to_string()),
        };
        let put = BusEntry {
            source: text(entry, "Source"),
            detail_type: text(entry, "DetailType"),
            detail: text(entry, "Detail"),
            resources: entry
                .get("Resources")
                .and_then(Value::as_array)
                .map(|r| {
                    r.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            account: None,
        };
        match core.put_events(&bus, std::slice::from_ref(&put)).remove(0) {
            Ok(id) => results.push(json!({"EventId": id})),
            Err(message) => {
                failed += 1;
                let code = if message.starts_with("ResourceNotFound") {
                    "ResourceNotFoundException"
                } else {
                    "MalformedDetail"
                };
                results.push(json!({"ErrorCode": code, "ErrorMessage": message}));
            }
        }
    }
    (
        "200 OK",
        json!({"FailedEntryCount": failed, "Entries": results}),
    )
}
