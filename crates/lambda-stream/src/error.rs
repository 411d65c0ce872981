//! Errors are values: a failed unit of work carries a [`StepError`] to the ledger, it never
//! takes down the batch.

use std::borrow::Cow;
use std::fmt;

/// How a failed unit is settled at the end of the invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum FailureMode {
    /// Publish a fault event and move on: the record does not block its shard or queue.
    /// This is the default, as in the Node library.
    #[default]
    Fault,
    /// Report the record to Lambda as a batch item failure so it is delivered again.
    Retry,
}

/// What kind of failure a [`StepError`] is; it decides the record's end state together with
/// the pipeline's [`FailureMode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorClass {
    /// Transient (throttling, timeouts, unavailable dependency): always retried by Lambda,
    /// whatever the pipeline's failure mode, because a fault would lose a record that a retry
    /// would deliver.
    Retryable,
    /// Will fail again on retry (bad data, a rejected request): always a fault event.
    Permanent,
    /// Not classified by the step: the pipeline's [`FailureMode`] decides.
    Unclassified,
}

/// A unit of work's failure: which step failed, why, and whether a retry could help.
///
/// The common errors convert into a `StepError` with `?`: data that does not decode
/// (envelope, serde_json, number and UTF-8 parsing) as *permanent*, io and fmt errors
/// unclassified; any other with [`StepError::from_error`] (unclassified); use [`StepError::retryable`] or
/// [`StepError::permanent`] to classify it. `StepError` is a `std::error::Error`, so it
/// composes with `anyhow`, `Box<dyn Error>` and other crates' errors.
pub struct StepError {
    class: ErrorClass,
    name: Cow<'static, str>,
    message: String,
    step: Option<&'static str>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl StepError {
    /// An unclassified error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            class: ErrorClass::Unclassified,
            name: Cow::Borrowed("Error"),
            message: message.into(),
            step: None,
            source: None,
        }
    }

    /// A transient error: the record is handed back to Lambda to be retried.
    pub fn retryable(message: impl Into<String>) -> Self {
        Self::new(message).with_class(ErrorClass::Retryable)
    }

    /// A permanent error: the record becomes a fault event.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self::new(message).with_class(ErrorClass::Permanent)
    }

    /// Wraps any error, keeping it as the source.
    pub fn from_error(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self {
            class: ErrorClass::Unclassified,
            name: Cow::Borrowed("Error"),
            message: err.to_string(),
            step: None,
            source: Some(Box::new(err)),
        }
    }

    /// Sets the class.
    #[must_use]
    pub fn with_class(mut self, class: ErrorClass) -> Self {
        self.class = class;
        self
    }

    /// Sets the error name shown in fault events (`err.name`), e.g. `ValidationError`.
    #[must_use]
    pub fn with_name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.name = name.into();
        self
    }

    /// Records the step that failed, unless one was recorded already.
    #[must_use]
    pub(crate) fn in_step(mut self, step: &'static str) -> Self {
        if self.step.is_none() {
            self.step = Some(step);
        }
        self
    }

    /// The class.
    pub fn class(&self) -> ErrorClass {
        self.class
    }

    /// The name shown in fault events.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The step that failed, if known.
    pub fn step(&self) -> Option<&'static str> {
        self.step
    }

    /// The underlying error, if any.
    pub fn source_error(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.source.as_deref()
    }

    /// Where this failure ends under a pipeline's failure mode.
    pub fn disposition(&self, mode: FailureMode) -> FailureMode {
        match self.class {
            ErrorClass::Retryable => FailureMode::Retry,
            ErrorClass::Permanent => FailureMode::Fault,
            ErrorClass::Unclassified => mode,
        }
    }

    /// The error chain as text, the closest thing to a stack for a fault event.
    pub fn chain(&self) -> String {
        let mut out = String::new();
        if let Some(step) = self.step {
            out.push_str("at step ");
            out.push_str(step);
        }
        let mut source = self
            .source
            .as_deref()
            .and_then(|s| std::error::Error::source(s));
        while let Some(err) = source {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str("caused by: ");
            out.push_str(&err.to_string());
            source = err.source();
        }
        out
    }

    /// The error as a fault event's `err.stack`: like a Node stack, it starts with
    /// `name: message` (so it is never empty), then where it happened and its causes.
    pub fn stack(&self) -> String {
        let mut out = format!("{}: {}", self.name, self.message);
        let chain = self.chain();
        for line in chain.lines() {
            out.push_str("\n    ");
            out.push_str(line);
        }
        out
    }

    /// Builds the error for a panic caught inside a step.
    pub(crate) fn from_panic(payload: &(dyn std::any::Any + Send)) -> Self {
        let message = if let Some(s) = payload.downcast_ref::<&str>() {
            (*s).to_string()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "panic with a non-string payload".to_string()
        };
        Self::new(format!("panicked: {message}")).with_name("Panic")
    }
}

impl std::error::Error for StepError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// The errors steps meet most, converted with `?`. Any other error converts with
/// [`StepError::from_error`] (`.map_err(StepError::from_error)?`): a blanket conversion from
/// every error would stop `StepError` from being a `std::error::Error` itself.
macro_rules! step_error_from {
    ($($error:ty),* $(,)?) => {
        $(impl From<$error> for StepError {
            fn from(err: $error) -> Self {
                Self::from_error(err)
            }
        })*
    };
}

step_error_from!(std::io::Error, std::fmt::Error);

/// Data that does not decode (an entity that is not the expected shape, a number that does
/// not parse) fails the same way on every delivery: these convert as *permanent* errors, a
/// fault event whatever the pipeline's failure mode, so a bad record never blocks its shard.
macro_rules! permanent_step_error_from {
    ($($error:ty),* $(,)?) => {
        $(impl From<$error> for StepError {
            fn from(err: $error) -> Self {
                Self::from_error(err).with_class(ErrorClass::Permanent)
            }
        })*
    };
}

permanent_step_error_from!(
    crate::envelope::EnvelopeError,
    DecodeError,
    serde_json::Error,
    std::num::ParseIntError,
    std::num::ParseFloatError,
    std::str::Utf8Error,
    std::string::FromUtf8Error,
);

impl From<Box<dyn std::error::Error + Send + Sync + 'static>> for StepError {
    fn from(err: Box<dyn std::error::Error + Send + Sync + 'static>) -> Self {
        // A step error that went through a `Box<dyn Error>` comes back as it was.
        let err = match err.downcast::<StepError>() {
            Ok(step_error) => return *step_error,
            Err(other) => other,
        };
        Self {
            class: ErrorClass::Unclassified,
            name: Cow::Borrowed("Error"),
            message: err.to_string(),
            step: None,
            source: Some(err),
        }
    }
}

impl From<String> for StepError {
    fn from(message: String) -> Self {
        Self::new(message)
    }
}

impl From<&str> for StepError {
    fn from(message: &str) -> Self {
        Self::new(message)
    }
}

impl fmt::Debug for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StepError")
            .field("class", &self.class)
            .field("name", &self.name)
            .field("message", &self.message)
            .field("step", &self.step)
            .finish()
    }
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.step {
            Some(step) => write!(f, "{}: {} (step {step})", self.name, self.message),
            None => write!(f, "{}: {}", self.name, self.message),
        }
    }
}

/// Why a source record could not be turned into an envelope.
#[derive(Debug)]
pub struct DecodeError {
    reason: String,
}

impl DecodeError {
    /// A decode error with a reason.
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }

    /// The reason.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for DecodeError {}

/// Why an invocation as a whole failed (so Lambda retries the whole batch).
#[derive(Debug)]
#[non_exhaustive]
pub enum HandlerError {
    /// Records are to be retried but the source has no partial batch response (SNS,
    /// EventBridge, raw): the invocation fails so the caller or Lambda tries again.
    RetryInvocation {
        /// How many records asked for a retry.
        records: usize,
    },
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RetryInvocation { records } => write!(
                f,
                "{records} record(s) failed with a retryable error; the invocation fails so it is retried"
            ),
        }
    }
}

impl std::error::Error for HandlerError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_decide_the_disposition() {
        let unclassified = StepError::new("x");
        assert_eq!(
            unclassified.disposition(FailureMode::Fault),
            FailureMode::Fault
        );
        assert_eq!(
            unclassified.disposition(FailureMode::Retry),
            FailureMode::Retry
        );
        let retryable = StepError::retryable("throttled");
        assert_eq!(
            retryable.disposition(FailureMode::Fault),
            FailureMode::Retry
        );
        let permanent = StepError::permanent("bad");
        assert_eq!(
            permanent.disposition(FailureMode::Retry),
            FailureMode::Fault
        );
    }

    #[test]
    fn errors_convert_with_question_mark_and_keep_their_message() {
        fn parse() -> Result<u32, StepError> {
            let n: u32 = "nope".parse()?;
            Ok(n)
        }
        let err = parse().expect_err("must fail");
        assert_eq!(err.message(), "invalid digit found in string");
        assert!(err.source_error().is_some());
        assert_eq!(err.class(), ErrorClass::Permanent);
    }

    #[test]
    fn step_is_recorded_once_and_shown() {
        let err = StepError::new("boom").in_step("map").in_step("later");
        assert_eq!(err.step(), Some("map"));
        assert_eq!(err.to_string(), "Error: boom (step map)");
        assert!(err.chain().starts_with("at step map"));
    }

    #[test]
    fn step_errors_are_std_errors_with_their_source() {
        let err: StepError = "nope"
            .parse::<u32>()
            .map_err(StepError::from)
            .expect_err("fails");
        let as_std: &dyn std::error::Error = &err;
        assert!(as_std.source().is_some());
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(err);
        let back = StepError::from(boxed);
        assert_eq!(back.message(), "invalid digit found in string");
        assert_eq!(StepError::from("plain").message(), "plain");
    }

    #[test]
    fn panic_payloads_become_messages() {
        let err = StepError::from_panic(&"oops");
        assert_eq!(err.message(), "panicked: oops");
        assert_eq!(err.name(), "Panic");
        let err = StepError::from_panic(&String::from("owned"));
        assert_eq!(err.message(), "panicked: owned");
        let err = StepError::from_panic(&42_u8);
        assert!(err.message().contains("non-string"));
    }
}
