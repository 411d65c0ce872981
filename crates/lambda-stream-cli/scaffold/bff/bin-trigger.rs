//! `{{name}}-trigger`: [`{{crate}}::trigger::from_env`], run by the Lambda runtime.

use lambda_stream::lambda_runtime;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_stream::init_tracing();
    {{crate}}::trigger::from_env().await?.run().await
}
