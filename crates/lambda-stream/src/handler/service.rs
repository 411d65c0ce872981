//! The handler under the Lambda runtime: a tower `Service` of Lambda events.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::StreamHandler;
use crate::envelope::now_millis;
use crate::error::{HandlerError, StepError};
use crate::source::Source;
use crate::uow::Invocation;

impl<S: Source> StreamHandler<S>
where
    S::Response: Serialize,
{
    /// Runs the handler under the Lambda runtime, with Lambda-style logging
    /// ([`init_tracing`](crate::init_tracing)) set up by the caller.
    pub async fn run(self) -> Result<(), lambda_runtime::Error> {
        lambda_runtime::run(self.into_service()).await
    }

    /// The handler as a tower `Service` of Lambda events, to wrap in layers before giving it
    /// to `lambda_runtime::run`.
    pub fn into_service(self) -> StreamService<S> {
        StreamService(Arc::new(self))
    }
}

/// A [`StreamHandler`] as a tower `Service<LambdaEvent<_>>`; see
/// [`StreamHandler::into_service`].
pub struct StreamService<S: Source>(Arc<StreamHandler<S>>);

impl<S: Source> Clone for StreamService<S> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<S: Source> std::fmt::Debug for StreamService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<S: Source> lambda_runtime::tower::Service<lambda_runtime::LambdaEvent<S::Event>>
    for StreamService<S>
{
    type Response = S::Response;
    type Error = HandlerError;
    type Future = futures::future::BoxFuture<'static, Result<S::Response, HandlerError>>;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), HandlerError>> {
        // The handler keeps no per-call state: it is always ready.
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, event: lambda_runtime::LambdaEvent<S::Event>) -> Self::Future {
        let handler = Arc::clone(&self.0);
        Box::pin(async move {
            let invocation = invocation_from(&event.context);
            handler.process(event.payload, invocation).await.response
        })
    }
}

/// A step's error as the runtime reports a failed invocation: its name as `errorType`, its
/// message (and the step and causes) as `errorMessage`; for a function of your own that runs a
/// step's code outside a handler (`?` in a `service_fn` whose error is a `Diagnostic`).
impl From<StepError> for lambda_runtime::Diagnostic {
    fn from(error: StepError) -> Self {
        let chain = error.chain();
        lambda_runtime::Diagnostic {
            error_type: error.name().to_string(),
            error_message: if chain.is_empty() {
                error.message().to_string()
            } else {
                format!("{} ({})", error.message(), chain.replace('\n', "; "))
            },
        }
    }
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(error: HandlerError) -> Self {
        let error_type = match &error {
            HandlerError::RetryInvocation { .. } => "RetryInvocation",
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.into(),
            error_message: error.to_string(),
        }
    }
}

fn invocation_from(context: &lambda_runtime::Context) -> Invocation {
    let now = u64::try_from(now_millis()).unwrap_or(0);
    let remaining = Duration::from_millis(context.deadline.saturating_sub(now));
    Invocation {
        request_id: context.request_id.clone(),
        deadline: Some(crate::deadline::now() + remaining),
        ..Invocation::local()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A function of one's own can use `?` on a step's error where the runtime wants a
    /// `Diagnostic`.
    fn call() -> Result<(), lambda_runtime::Diagnostic> {
        Err(StepError::permanent("the order has no id").with_name("InvalidOrder"))?;
        Ok(())
    }

    #[test]
    fn a_step_error_is_the_runtime_s_diagnostic() {
        let diagnostic = call().expect_err("an error");
        assert_eq!(diagnostic.error_type, "InvalidOrder");
        assert_eq!(diagnostic.error_message, "the order has no id");
        let caused = StepError::from_error(std::io::Error::other("disk full")).in_step("map");
        let diagnostic = lambda_runtime::Diagnostic::from(caused);
        assert_eq!(diagnostic.error_type, "Error");
        assert_eq!(diagnostic.error_message, "disk full (at step map)");
    }
}
