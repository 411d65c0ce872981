//! Faults injected into a function, for tests and the demo's fault mode: a wrapper that fails
//! one record twice (reported in `batchItemFailures`) before letting the function have it, as
//! a function whose downstream refuses a write twice would.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::{Value, json};

use super::function::{Invoked, LocalFunction};

/// Fails the first record it is given twice, then passes everything to the function.
pub struct FailFirstRecordTwice {
    inner: Arc<dyn LocalFunction>,
    /// The record chosen (its item identifier) and how many times it was failed.
    chosen: Mutex<Option<(String, usize)>>,
}

impl FailFirstRecordTwice {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn LocalFunction>) -> Self {
        Self {
            inner,
            chosen: Mutex::new(None),
        }
    }
}

/// A record's item identifier, as Lambda reads it back from `batchItemFailures`.
fn identifier(record: &Value) -> Option<String> {
    record["kinesis"]["sequenceNumber"]
        .as_str()
        .or_else(|| record["dynamodb"]["SequenceNumber"].as_str())
        .or_else(|| record["messageId"].as_str())
        .map(str::to_string)
}

impl LocalFunction for FailFirstRecordTwice {
    fn invoke<'a>(&'a self, event: &'a [u8], timeout: Duration) -> BoxFuture<'a, Invoked> {
        async move {
            let first = serde_json::from_slice::<Value>(event)
                .ok()
                .and_then(|e| e["Records"].get(0).and_then(identifier));
            let fail = {
                let mut chosen = self.chosen.lock().unwrap_or_else(PoisonError::into_inner);
                if chosen.is_none() {
                    *chosen = first.clone().map(|id| (id, 0));
                }
                match (&mut *chosen, &first) {
                    (Some((id, times)), Some(first)) if id == first && *times < 2 => {
                        *times += 1;
                        Some(id.clone())
                    }
                    _ => None,
                }
            };
            match fail {
                Some(id) => Invoked {
                    response: Ok(json!({"batchItemFailures": [{"itemIdentifier": id}]})),
                    summary: None,
                },
                None => self.inner.invoke(event, timeout).await,
            }
        }
        .boxed()
    }
}

/// Fails every invocation (as a function whose dependency is down, or that panics at once):
/// Lambda's retries, bisection and on-failure destinations take over.
#[derive(Debug, Default)]
pub struct AlwaysFail;

impl LocalFunction for AlwaysFail {
    fn invoke<'a>(&'a self, _event: &'a [u8], _timeout: Duration) -> BoxFuture<'a, Invoked> {
        async move {
            Invoked {
                response: Err("injected: the function fails every invocation".to_string()),
                summary: None,
            }
        }
        .boxed()
    }
}
