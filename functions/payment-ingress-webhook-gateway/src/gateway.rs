//! The webhook endpoint: checks a request in the order that costs least to refuse (size,
//! signature, body), publishes the internal event, and answers 2xx only once the bus has
//! accepted it. Every refusal is a typed [`Rejection`] with its status code; none of them
//! reaches the bus.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use lambda_http::http::{Method, StatusCode, header};
use lambda_http::{Body, Request, Response};
use lambda_stream::{PublishEntry, Publisher, Tags};

use crate::callback::{MalformedCallback, Mapped, to_internal};
use crate::signature::{
    DEFAULT_TOLERANCE_SECONDS, SIGNATURE_HEADER, Secret, SignatureCheck, SignatureError,
    TIMESTAMP_HEADER,
};

/// The `pipeline` tag on the events this gateway publishes.
pub const PIPELINE: &str = "payment-webhook";
/// The largest body accepted by default (the processor's callbacks are about 1 KB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
/// How much of a signed body that cannot be read goes into the log.
const LOGGED_BODY_BYTES: usize = 8 * 1024;

/// Why a request was refused.
#[derive(Debug)]
pub enum Rejection {
    /// Not a `POST` (405).
    MethodNotAllowed,
    /// The body is larger than allowed (413).
    TooLarge {
        /// The body's size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The signature is missing, wrong or outside the replay window (401).
    Unauthorized(SignatureError),
    /// A correctly signed body that is not a callback we understand (400).
    Malformed(MalformedCallback),
    /// The bus did not take the event for a reason that may pass (503): the processor
    /// retries later.
    Unavailable(String),
    /// The bus refused the event for good (422): retrying would not help, so the processor
    /// is told to stop. The event is logged whole, so nothing is lost.
    Refused(String),
}

impl Rejection {
    /// The status code the processor sees.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Malformed(_) => StatusCode::BAD_REQUEST,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Refused(_) => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    /// What the response body says: enough for the processor's logs, nothing about our
    /// secrets or which check matched.
    fn public_message(&self) -> String {
        match self {
            Self::MethodNotAllowed => "only POST is accepted".into(),
            Self::TooLarge { limit, .. } => format!("the body is larger than {limit} bytes"),
            Self::Unauthorized(SignatureError::Mismatch) => "invalid signature".into(),
            Self::Unauthorized(error) => error.to_string(),
            Self::Malformed(error) => error.to_string(),
            Self::Unavailable(_) => "temporarily unavailable, retry later".into(),
            Self::Refused(_) => "the callback cannot be processed; do not retry".into(),
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::MethodNotAllowed => f.write_str("method not allowed"),
            Self::TooLarge { size, limit } => {
                write!(
                    f,
                    "the body has {size} bytes, more than the {limit} allowed"
                )
            }
            Self::Unauthorized(error) => write!(f, "unauthorized: {error}"),
            Self::Malformed(error) => write!(f, "malformed: {error}"),
            Self::Unavailable(reason) => write!(f, "the bus did not take the event: {reason}"),
            Self::Refused(reason) => write!(f, "the bus refused the event for good: {reason}"),
        }
    }
}

/// What an accepted request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// The internal event of this type and id is on the bus.
    Published {
        /// The event type.
        event_type: String,
        /// The event id.
        id: String,
    },
    /// A callback type the gateway does not act on.
    Ignored {
        /// The callback's type.
        kind: String,
    },
}

/// The gateway's configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The signature check.
    pub signature: SignatureCheck,
    /// The largest body accepted.
    pub max_body_bytes: usize,
    /// The standard tags of published events.
    pub tags: Tags,
}

impl Settings {
    /// Settings with one secret and the defaults.
    pub fn new(secret: Secret) -> Self {
        Self {
            signature: SignatureCheck::new(secret),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            tags: Tags::new(),
        }
    }

    /// Reads the environment:
    ///
    /// | variable | meaning |
    /// |---|---|
    /// | `PAYMENT_WEBHOOK_SECRET` | the shared signing secret (required) |
    /// | `PAYMENT_WEBHOOK_PREVIOUS_SECRET` | also accepted while rotating (optional) |
    /// | `PAYMENT_WEBHOOK_TOLERANCE_SECONDS` | the replay window either way (default 300) |
    /// | `PAYMENT_WEBHOOK_MAX_BODY_BYTES` | the largest body (default 65536) |
    ///
    /// plus the standard tag variables of [`lambda_stream::Config`].
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup` (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let get = |name: &str| lookup(name).filter(|v| !v.is_empty());
        let secret = get("PAYMENT_WEBHOOK_SECRET")
            .ok_or("the environment variable PAYMENT_WEBHOOK_SECRET is not set")?;
        let number = |name: &str, default: i64| -> Result<i64, String> {
            get(name).map_or(Ok(default), |v| {
                v.trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("{name} must be a positive whole number, not {v:?}"))
            })
        };
        let mut signature = SignatureCheck::new(Secret::new(secret)).tolerance_seconds(number(
            "PAYMENT_WEBHOOK_TOLERANCE_SECONDS",
            DEFAULT_TOLERANCE_SECONDS,
        )?);
        if let Some(previous) = get("PAYMENT_WEBHOOK_PREVIOUS_SECRET") {
            signature = signature.also_accepting(Secret::new(previous));
        }
        let max_body_bytes = number(
            "PAYMENT_WEBHOOK_MAX_BODY_BYTES",
            i64::try_from(DEFAULT_MAX_BODY_BYTES).unwrap_or(i64::MAX),
        )?;
        Ok(Self {
            signature,
            max_body_bytes: usize::try_from(max_body_bytes).unwrap_or(usize::MAX),
            tags: lambda_stream::Config::from_lookup(lookup).tags,
        })
    }
}

/// The webhook gateway: settings and the bus.
pub struct WebhookGateway {
    settings: Settings,
    bus: Arc<dyn Publisher>,
}

impl WebhookGateway {
    /// A gateway publishing to `bus`.
    pub fn new(settings: Settings, bus: Arc<dyn Publisher>) -> Self {
        Self { settings, bus }
    }

    /// Answers a request, at the current time.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        self.handle_at(request, now_seconds()).await
    }

    /// Answers a request as if received at `now` (seconds since the epoch).
    pub async fn handle_at(&self, request: Request, now: i64) -> Response<Body> {
        match self.accept(&request, now).await {
            Ok(accepted) => {
                tracing::info!(?accepted, "callback accepted");
                let body = match &accepted {
                    Accepted::Published { event_type, id } => {
                        serde_json::json!({"accepted": true, "published": event_type, "id": id})
                    }
                    Accepted::Ignored { kind } => {
                        serde_json::json!({"accepted": true, "ignored": kind})
                    }
                };
                json_response(StatusCode::OK, &body)
            }
            Err(rejection) => {
                tracing::warn!(status = rejection.status().as_u16(), %rejection, "callback refused");
                json_response(
                    rejection.status(),
                    &serde_json::json!({"error": rejection.public_message()}),
                )
            }
        }
    }

    /// Checks, maps and publishes one request.
    pub async fn accept(&self, request: &Request, now: i64) -> Result<Accepted, Rejection> {
        if request.method() != Method::POST {
            return Err(Rejection::MethodNotAllowed);
        }
        let body: &[u8] = request.body().as_ref();
        if body.len() > self.settings.max_body_bytes {
            return Err(Rejection::TooLarge {
                size: body.len(),
                limit: self.settings.max_body_bytes,
            });
        }
        let header_value = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
        };
        self.settings
            .signature
            .verify(
                header_value(TIMESTAMP_HEADER),
                header_value(SIGNATURE_HEADER),
                body,
                now,
            )
            .map_err(Rejection::Unauthorized)?;
        let mapped = to_internal(body, now.saturating_mul(1000)).map_err(|error| {
            // The body is authentic (the signature matched) but unreadable: keep it in the log
            // so an operator can recover the outcome it reports.
            let shown = &body[..body.len().min(LOGGED_BODY_BYTES)];
            tracing::warn!(body = %String::from_utf8_lossy(shown), %error, "signed callback not understood");
            Rejection::Malformed(error)
        })?;
        let event = match mapped {
            Mapped::Event(event) => *event,
            Mapped::Ignored { kind } => return Ok(Accepted::Ignored { kind }),
        };
        let mut entry = PublishEntry::message(
            event.event_type(),
            event.to_json_with_tags(&self.settings.tags, PIPELINE),
        )
        .with_id(event.id());
        if let Some(key) = event.partition_key() {
            entry = entry.with_partition_key(key);
        }
        let results = self.bus.publish(std::slice::from_ref(&entry)).await;
        match results.into_iter().next() {
            Some(Ok(())) => Ok(Accepted::Published {
                event_type: event.event_type().to_string(),
                id: event.id().to_string(),
            }),
            Some(Err(error)) if error.class() == lambda_stream::ErrorClass::Permanent => {
                // Kept in the log whole: the processor will not send it again.
                tracing::error!(event = %entry.json(), %error, "the bus refused the callback's event for good");
                Err(Rejection::Refused(error.to_string()))
            }
            Some(Err(error)) => Err(Rejection::Unavailable(error.to_string())),
            None => Err(Rejection::Unavailable(
                "the publisher returned no result".into(),
            )),
        }
    }
}

fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Body> {
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

fn now_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

/// The callback the processor posts for `body` at `now` (epoch seconds), signed with
/// `secret`, as the HTTP API hands it to this function: what a local processor or a test sends.
pub fn signed_callback(secret: &Secret, body: &str, now: i64) -> Request {
    let mut request = Request::new(Body::Text(body.to_string()));
    *request.method_mut() = lambda_http::http::Method::POST;
    *request.uri_mut() = lambda_http::http::Uri::from_static("/webhooks/payments");
    let headers = request.headers_mut();
    headers.insert(
        "content-type",
        lambda_http::http::HeaderValue::from_static("application/json"),
    );
    if let Ok(value) = now.to_string().parse() {
        headers.insert(TIMESTAMP_HEADER, value);
    }
    if let Ok(value) = secret.sign(now, body.as_bytes()).parse() {
        headers.insert(SIGNATURE_HEADER, value);
    }
    request
}
