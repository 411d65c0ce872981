//! The handler under the Lambda runtime: a tower `Service` of Lambda events.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::StreamHandler;
use crate::envelope::now_millis;
use crate::error::HandlerError;
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
