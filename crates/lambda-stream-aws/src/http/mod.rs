//! Call third-party REST APIs (the payment processor of the food-delivery example): JSON
//! requests with a timeout, retries on 408/425/429/5xx and connection failures honouring
//! `Retry-After`, an optional rate limit shared by every call of the sender (retries
//! included), configurable headers (authorization), and non-2xx answers as failures that
//! carry the status and the start of the body. Use it inside `then`/`then_ordered`.
//!
//! ```no_run
//! use std::time::Duration;
//! use lambda_stream::{Pipeline, StepError};
//! use lambda_stream_aws::{HttpConfig, HttpRequest, HttpSender};
//!
//! # fn doc() -> Result<(), StepError> {
//! let processor = HttpSender::new(
//!     HttpConfig::new("https://payments.example.com")
//!         .header("Authorization", "Bearer ...")
//!         .rate_limit(20, Duration::from_secs(1)),
//! )?;
//! let pipeline = Pipeline::new("request-payments")
//!     .on_type("payment-requested")
//!     .then(4, move |uow| {
//!         let processor = processor.clone();
//!         async move {
//!             let payment: serde_json::Value = uow.event.entity()?;
//!             let request = HttpRequest::post_json("/payments", &payment)?
//!                 .header("Idempotency-Key", uow.event.id());
//!             processor.send(request).await.map(|_| ())
//!         }
//!     });
//! # let _ = pipeline; Ok(()) }
//! ```

pub mod request;
pub mod service;

use std::sync::Arc;
use std::time::Duration;

use lambda_stream::{RateLimiter, StepError};
pub use request::{HttpRequest, HttpResponse};
use service::{StatusClass, classify, excerpt, retry_after};

use crate::retry::{NextAttempt, RetryPolicy};

/// The failure of a request that is not retried because the server may have acted on it.
fn not_retried(error: StepError, method: &str) -> StepError {
    let message = format!(
        "{} (not retried: a {method} without an Idempotency-Key may have been acted on)",
        error.message()
    );
    StepError::new(message).with_name(error.name().to_string())
}

/// The API and how to call it.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// The base URL, e.g. `https://payments.example.com`.
    pub base_url: String,
    /// The longest one call may take (default 10 s).
    pub timeout: Duration,
    /// Headers sent with every call (authorization, for example).
    pub headers: Vec<(String, String)>,
    /// How calls that may succeed later are retried (including the longest `Retry-After`
    /// honoured: longer ones fail the unit as retryable so Lambda retries it later).
    pub retry: RetryPolicy,
    /// At most this many calls per interval, retries included.
    pub rate_limit: Option<(usize, Duration)>,
}

impl HttpConfig {
    /// Calls to `base_url` with the defaults.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            timeout: Duration::from_secs(10),
            headers: Vec::new(),
            retry: RetryPolicy::default(),
            rate_limit: None,
        }
    }

    /// Adds a header sent with every call.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the timeout of one call.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the retry policy.
    #[must_use]
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Allows at most `calls` per `per`, retries included; callers wait their turn.
    #[must_use]
    pub fn rate_limit(mut self, calls: usize, per: Duration) -> Self {
        self.rate_limit = Some((calls, per));
        self
    }
}

/// Calls a REST API. Cheap to clone: clones share the connection pool and the rate limit.
#[derive(Debug, Clone)]
pub struct HttpSender {
    client: reqwest::Client,
    config: Arc<HttpConfig>,
    limiter: Option<Arc<RateLimiter>>,
}

impl HttpSender {
    /// A sender for `config` (rustls for TLS).
    pub fn new(config: HttpConfig) -> Result<Self, StepError> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| StepError::permanent(format!("the HTTP client cannot be built: {e}")))?;
        let limiter = config
            .rate_limit
            .map(|(calls, per)| Arc::new(RateLimiter::new(calls, per)));
        Ok(Self {
            client,
            config: Arc::new(config),
            limiter,
        })
    }

    /// Sends `request`, retrying what may succeed later. A 2xx answer is returned; anything
    /// else is a failure naming the status (`HttpStatus402`, say) with the start of the body:
    /// permanent for a refusal, unclassified when the retries ran out (the pipeline's
    /// failure mode decides), retryable when `Retry-After` asks for longer than the policy's
    /// `max_server_wait` or the invocation's deadline is near.
    ///
    /// A request the server may have acted on (a timeout, a 500) is retried only when it is
    /// idempotent: `GET`, `HEAD`, `PUT`, `DELETE`, `OPTIONS`, or any method with an
    /// `Idempotency-Key` header. A refused connection, 408, 425, 429 and 503 are retried for
    /// every method: the server did not act on them.
    /// ```
    /// use lambda_stream_aws::testing::http::{LocalEndpoint, Reply};
    /// use lambda_stream_aws::{HttpConfig, HttpRequest, HttpSender};
    /// use serde_json::json;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // A processor that is busy once (503), then takes the payment.
    /// let processor = LocalEndpoint::start(|_request, number| match number {
    ///     1 => Reply::status(503),
    ///     _ => Reply::status(201).body(r#"{"id":"ch_1"}"#),
    /// })
    /// .await;
    /// let sender = HttpSender::new(HttpConfig::new(processor.url()))?;
    /// let request = HttpRequest::post_json("/charges", &json!({ "amount": 1250 }))?;
    /// let answer: serde_json::Value = sender.send(request).await?.json()?;
    ///
    /// assert_eq!(answer["id"], "ch_1");
    /// assert_eq!(processor.requests().len(), 2);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send(&self, request: HttpRequest) -> Result<HttpResponse, StepError> {
        let url = format!("{}{}", self.config.base_url, request.path);
        let method = reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|_| {
            StepError::permanent(format!("`{}` is not an HTTP method", request.method))
        })?;
        let idempotent = request.is_idempotent();
        let policy = &self.config.retry;
        let mut attempt = 0;
        loop {
            if let Some(limiter) = &self.limiter {
                limiter.acquire().await;
            }
            let mut call = self.client.request(method.clone(), &url);
            for (name, value) in self.config.headers.iter().chain(&request.headers) {
                call = call.header(name, value);
            }
            if let Some(body) = &request.body {
                call = call
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let answer = policy
                .call(async {
                    let response = call.send().await?;
                    let status = response.status().as_u16();
                    let wait = response
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| retry_after(v, chrono::Utc::now().timestamp_millis()));
                    let body = response.text().await.unwrap_or_default();
                    Ok::<_, reqwest::Error>((status, wait, body))
                })
                .await;
            let (error, wait) = match answer {
                Err(deadline) => {
                    return Err(StepError::retryable(format!(
                        "{} {}: {deadline}",
                        request.method, request.path
                    ))
                    .with_name("HttpDeadlineExceeded"));
                }
                Ok(Ok((status, wait, body))) => {
                    let class = classify(status);
                    if class == StatusClass::Success {
                        return Ok(HttpResponse { status, body });
                    }
                    let error = StepError::new(format!(
                        "{} {} answered {status}: {}",
                        request.method,
                        request.path,
                        excerpt(&body)
                    ))
                    .with_name(format!("HttpStatus{status}"));
                    if class == StatusClass::Refused {
                        return Err(error.with_class(lambda_stream::ErrorClass::Permanent));
                    }
                    let not_acted_on = matches!(status, 408 | 425 | 429 | 503);
                    if !idempotent && !not_acted_on {
                        return Err(not_retried(error, &request.method));
                    }
                    (error, wait)
                }
                Ok(Err(error)) => {
                    let failure = StepError::new(format!(
                        "{} {} failed: {error}",
                        request.method, request.path
                    ))
                    .with_name(if error.is_timeout() {
                        "HttpTimeout"
                    } else {
                        "HttpError"
                    });
                    // A refused connection never reached the server; a timeout or a broken
                    // exchange may have been acted on.
                    let never_sent = error.is_connect() && !error.is_timeout();
                    let transient = error.is_timeout() || error.is_connect() || error.is_request();
                    if !transient {
                        return Err(failure.with_class(lambda_stream::ErrorClass::Permanent));
                    }
                    if !idempotent && !never_sent {
                        return Err(not_retried(failure, &request.method));
                    }
                    (failure, None)
                }
            };
            match policy.next(attempt, wait) {
                NextAttempt::After(wait) => tokio::time::sleep(wait).await,
                // The API asks to come back later than we may wait, or the deadline is near:
                // hand it back to Lambda.
                NextAttempt::ServerWaitTooLong(_) | NextAttempt::DeadlineNear => {
                    return Err(error.with_class(lambda_stream::ErrorClass::Retryable));
                }
                // Out of attempts: the pipeline's failure mode decides.
                _ => return Err(error),
            }
            attempt += 1;
        }
    }
}
