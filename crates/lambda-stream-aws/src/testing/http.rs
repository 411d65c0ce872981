//! A local HTTP/1.1 endpoint playing a third-party API (features `testing` and `http`): it
//! records every request and answers each with what the test's closure says.
//!
//! ```no_run
//! # async fn example() {
//! use lambda_stream_aws::testing::http::{LocalEndpoint, Reply};
//! // Throttle the first call, accept the rest.
//! let endpoint = LocalEndpoint::start(|_request, number| match number {
//!     1 => Reply::status(429).header("Retry-After", "1"),
//!     _ => Reply::status(201).body("{}"),
//! })
//! .await;
//! // ... point the sender at endpoint.url(), run the function ...
//! assert_eq!(endpoint.requests().len(), 2);
//! # }
//! ```
//!
//! It reads bodies by `Content-Length` (what the HTTP sink sends) and keeps connections alive;
//! it is a test double, not a server for anything else. [`read_request`] is also what the local
//! hub's `serve` reads its `PutEvents` calls with.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// A request as the endpoint received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path and query.
    pub path: String,
    /// Header names in lower case, values trimmed, in the order sent.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// When it arrived.
    pub at: Instant,
}

impl RecordedRequest {
    /// The first header of that name (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the endpoint answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// Extra headers (`Content-Length` is added).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
    /// Never answer: the request is recorded and the connection left open, as an API that
    /// hangs (the client's timeout is what ends it).
    pub hang: bool,
}

impl Reply {
    /// An empty reply with this status.
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: String::new(),
            hang: false,
        }
    }

    /// No reply at all (see [`Reply::hang`](Reply#structfield.hang)).
    pub fn hang() -> Self {
        Self {
            hang: true,
            ..Self::status(0)
        }
    }

    /// Adds a header.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    #[must_use]
    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = body.into();
        self
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nContent-Length: {}\r\n",
            self.status,
            reason_phrase(self.status),
            self.body.len()
        );
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(self.body.as_bytes());
        bytes
    }
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200..=299 => "OK",
        400..=499 => "Client Error",
        500..=599 => "Server Error",
        _ => "Status",
    }
}

type Answer = dyn Fn(&RecordedRequest, usize) -> Reply + Send + Sync;

/// The endpoint: its URL and what it has received. It stops with the test's runtime.
#[derive(Clone)]
pub struct LocalEndpoint {
    url: String,
    requests: Arc<Mutex<Vec<RecordedRequest>>>,
}

impl std::fmt::Debug for LocalEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalEndpoint")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl LocalEndpoint {
    /// Listens on a free port of 127.0.0.1 and answers each request with
    /// `answer(request, its number)`, numbered from 1 in the order they arrive.
    ///
    /// # Panics
    ///
    /// When no local port can be bound (the test cannot run).
    pub async fn start(
        answer: impl Fn(&RecordedRequest, usize) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("binding a local port: {e}"));
        let url = match listener.local_addr() {
            Ok(address) => format!("http://{address}"),
            Err(e) => panic!("the local port's address: {e}"),
        };
        let endpoint = Self {
            url,
            requests: Arc::default(),
        };
        let answer: Arc<Answer> = Arc::new(answer);
        let requests = Arc::clone(&endpoint.requests);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, Arc::clone(&requests), Arc::clone(&answer)));
            }
        });
        endpoint
    }

    /// The base URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Serves one connection until the client closes it or sends something unreadable.
async fn serve(stream: TcpStream, requests: Arc<Mutex<Vec<RecordedRequest>>>, answer: Arc<Answer>) {
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader, MAX_BODY).await {
        let number = {
            let mut requests = requests.lock().unwrap_or_else(PoisonError::into_inner);
            requests.push(request.clone());
            requests.len()
        };
        let reply = answer(&request, number);
        if reply.hang {
            // Held open until the test's runtime ends.
            std::future::pending::<()>().await;
        }
        if reader.get_mut().write_all(&reply.to_bytes()).await.is_err() {
            return;
        }
    }
}

/// The largest body the endpoint reads.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// Reads the next HTTP/1.1 request on a kept-alive connection: its line, headers and
/// `Content-Length` body. `None` at the end of the connection, on anything unreadable, or for a
/// body longer than `max_body`.
pub async fn read_request(
    reader: &mut BufReader<TcpStream>,
    max_body: usize,
) -> Option<RecordedRequest> {
    let mut line = String::new();
    if reader.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).await.ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let length = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .map_or(Some(0), |(_, value)| value.parse().ok())?;
    if length > max_body {
        return None;
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.ok()?;
    Some(RecordedRequest {
        method,
        path,
        headers,
        body,
        at: Instant::now(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_requests_and_answers_each_by_its_number() {
        let endpoint = LocalEndpoint::start(|request, number| {
            Reply::status(if number == 1 { 429 } else { 201 })
                .header("X-Seen", request.path.clone())
                .body(format!("{{\"n\":{number}}}"))
        })
        .await;
        let client = reqwest::Client::new();
        let first = client
            .post(format!("{}/payments?x=1", endpoint.url()))
            .header("Idempotency-Key", "k1")
            .body("{\"a\":1}")
            .send()
            .await
            .expect("sent");
        assert_eq!(first.status().as_u16(), 429);
        assert_eq!(
            first.headers().get("x-seen").and_then(|v| v.to_str().ok()),
            Some("/payments?x=1")
        );
        let second = client
            .get(format!("{}/status", endpoint.url()))
            .send()
            .await
            .expect("sent");
        assert_eq!(second.status().as_u16(), 201);
        assert_eq!(second.text().await.expect("body"), "{\"n\":2}");

        let requests = endpoint.requests();
        assert_eq!(requests.len(), 2);
        assert_eq!(
            (requests[0].method.as_str(), requests[0].path.as_str()),
            ("POST", "/payments?x=1")
        );
        assert_eq!(requests[0].header("IDEMPOTENCY-KEY"), Some("k1"));
        assert_eq!(requests[0].body, b"{\"a\":1}");
        assert_eq!(
            (requests[1].method.as_str(), requests[1].body.len()),
            ("GET", 0)
        );
    }

    #[tokio::test]
    async fn a_hanging_reply_records_the_request_and_never_answers() {
        let endpoint = LocalEndpoint::start(|_, _| Reply::hang()).await;
        let sent = reqwest::Client::new()
            .post(format!("{}/payments", endpoint.url()))
            .timeout(std::time::Duration::from_millis(200))
            .body("{}")
            .send()
            .await;
        assert!(sent.is_err_and(|e| e.is_timeout()));
        assert_eq!(endpoint.requests().len(), 1);
    }
}
