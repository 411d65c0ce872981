//! A function the hub runs in-process: the same handler code Lambda runs, given the JSON
//! event Lambda would send and answering with the JSON Lambda would read.

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use lambda_stream::{Invocation, Source, StreamHandler, Summary};
use serde_json::Value;

/// What one invocation gave.
#[derive(Debug)]
pub struct Invoked {
    /// The response (the batch item failures, for a stream or a queue), or why the
    /// invocation failed (Lambda then retries the whole batch).
    pub response: Result<Value, String>,
    /// The handler's counts, when it got as far as handling the batch.
    pub summary: Option<Summary>,
}

/// A function the hub can invoke with an event source's batches.
pub trait LocalFunction: Send + Sync {
    /// Invokes the function with `event` (the JSON Lambda sends), within `timeout`.
    fn invoke<'a>(&'a self, event: &'a [u8], timeout: Duration) -> BoxFuture<'a, Invoked>;
}

impl<S> LocalFunction for StreamHandler<S>
where
    S: Source,
{
    fn invoke<'a>(&'a self, event: &'a [u8], timeout: Duration) -> BoxFuture<'a, Invoked> {
        async move {
            // Lambda's runtime reads the event first: an event the handler's type cannot read
            // fails the invocation.
            let event: S::Event = match serde_json::from_slice(event) {
                Ok(event) => event,
                Err(error) => {
                    return Invoked {
                        response: Err(format!("the runtime could not read the event: {error}")),
                        summary: None,
                    };
                }
            };
            let invocation = Invocation {
                request_id: uuid::Uuid::new_v4().to_string(),
                deadline: Some(lambda_stream::deadline::now() + timeout),
                ..Invocation::local()
            };
            // A panic that escapes the handler is a failed invocation, as a crashed runtime is.
            let report = std::panic::AssertUnwindSafe(self.process(event, invocation))
                .catch_unwind()
                .await;
            match report {
                Ok(report) => Invoked {
                    response: report
                        .response
                        .map_err(|e| e.to_string())
                        .and_then(|r| serde_json::to_value(r).map_err(|e| e.to_string())),
                    summary: Some(report.summary),
                },
                Err(_) => Invoked {
                    response: Err("the function panicked".to_string()),
                    summary: None,
                },
            }
        }
        .boxed()
    }
}

/// A function behind an HTTP API (API Gateway HTTP API, payload 2.0): the hub calls it with
/// the request Lambda would give it.
pub trait HttpFunction: Send + Sync {
    /// Handles one request.
    fn call(
        &self,
        request: lambda_http::Request,
    ) -> BoxFuture<'_, lambda_http::Response<lambda_http::Body>>;
}

/// A function as the hub runs it.
#[derive(Clone)]
pub enum Runnable {
    /// Invoked with batches from its event sources.
    Events(std::sync::Arc<dyn LocalFunction>),
    /// Called with HTTP requests.
    Http(std::sync::Arc<dyn HttpFunction>),
}

impl std::fmt::Debug for Runnable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Runnable::Events(_) => "Runnable::Events",
            Runnable::Http(_) => "Runnable::Http",
        })
    }
}
