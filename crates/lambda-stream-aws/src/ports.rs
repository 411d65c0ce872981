//! Where a function's publishers, stores and readers come from: one wiring for AWS and for
//! the local hub.
//!
//! A function's crate builds its handler once, in a `build(env, ports)` of its own: `env` is
//! how it reads its settings (the environment the template gives it), `ports` where its
//! publishers, tables and readers come from. Its `main.rs` calls it with [`AwsPorts`] (the
//! official SDK clients, one SDK configuration for all) and the process environment; the
//! local hub calls the same function with its in-memory bus, topics, tables and stores. So
//! nothing of a function's wiring, and none of its defaults, exists twice.
//!
//! ```no_run
//! # async fn example() -> Result<(), lambda_stream::lambda_runtime::Error> {
//! use lambda_stream::{Config, KinesisSource, Pipeline, StreamHandler};
//! use lambda_stream_aws::ConfigError;
//! use lambda_stream_aws::ports::{AwsPorts, Env, Ports, internal_bus};
//!
//! /// The whole wiring of a function, for AWS and the hub alike.
//! fn build(env: Env<'_>, ports: &dyn Ports) -> Result<StreamHandler<KinesisSource>, ConfigError> {
//!     let bus = internal_bus(env, ports)?;
//!     Ok(StreamHandler::with_config(KinesisSource::new(), Config::from_lookup(env))
//!         .pipeline(Pipeline::new("p").delivered())
//!         .faults_to(bus)
//!         .read_with(ports.readers()?))
//! }
//!
//! let ports = AwsPorts::from_env().await;
//! build(&|name| std::env::var(name).ok(), &ports)?.run().await
//! # }
//! ```

#[cfg(any(
    feature = "eventbridge",
    feature = "sns",
    feature = "dynamodb",
    feature = "s3"
))]
use std::sync::Arc;

#[cfg(any(feature = "eventbridge", feature = "sns", feature = "s3"))]
use lambda_stream::Publisher;

#[cfg(any(feature = "dynamodb", all(feature = "eventbridge", feature = "s3")))]
use crate::ConfigError;

/// How a function reads its settings: a variable's value by name (the process environment in
/// Lambda, the template's `Environment` in the local hub).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// What a function is given to publish, store and read with (see the [module docs](self)).
pub trait Ports: Send + Sync {
    /// A bus, as `config` says (name, `Source`, global endpoint).
    #[cfg(feature = "eventbridge")]
    fn bus(
        &self,
        config: &crate::EventBridgeConfig,
    ) -> Result<Arc<dyn Publisher>, crate::ConfigError>;

    /// `publisher`, storing the events too large for it in `bucket` and publishing their
    /// claim-check stubs instead.
    #[cfg(feature = "s3")]
    fn claim_checked(
        &self,
        publisher: Arc<dyn Publisher>,
        bucket: &str,
    ) -> Result<Arc<dyn Publisher>, crate::ConfigError>;

    /// An SNS topic.
    #[cfg(feature = "sns")]
    fn topic(&self, config: &crate::SnsConfig) -> Result<Arc<dyn Publisher>, crate::ConfigError>;

    /// A table, for views, event stores and queries.
    #[cfg(feature = "dynamodb")]
    fn table(&self, name: &str) -> Result<Arc<dyn crate::store::Store>, crate::ConfigError>;

    /// A table, for an idempotency guard's claims.
    #[cfg(feature = "dynamodb")]
    fn claims(&self, name: &str) -> Result<Arc<dyn crate::ClaimStore>, crate::ConfigError>;

    /// What the handler reads the Node library's claim checks and encrypted events with.
    #[cfg(feature = "readers")]
    fn readers(&self) -> Result<lambda_stream::EventReaders, crate::ConfigError>;
}

/// The hub's bus for a function's internal events and faults: `BUS_NAME` (and `BUS_SRC`,
/// `BUS_ENDPOINT_ID`), claim-checking into `CLAIMCHECK_BUCKET_NAME` when it is set.
#[cfg(all(feature = "eventbridge", feature = "s3"))]
pub fn internal_bus(env: Env<'_>, ports: &dyn Ports) -> Result<Arc<dyn Publisher>, ConfigError> {
    let bus = ports.bus(&crate::EventBridgeConfig::from_lookup(env)?)?;
    Ok(
        match env(crate::s3::BUCKET_VARIABLE).filter(|b| !b.trim().is_empty()) {
            Some(bucket) => ports.claim_checked(bus, &bucket)?,
            None => {
                tracing::info!(
                    "no claim-check bucket ({}): events over the bus's limit fail instead of being claim-checked",
                    crate::s3::BUCKET_VARIABLE
                );
                bus
            }
        },
    )
}

/// A table named by the variable `variable`.
#[cfg(feature = "dynamodb")]
pub fn table_named(
    env: Env<'_>,
    ports: &dyn Ports,
    variable: &str,
) -> Result<Arc<dyn crate::store::Store>, ConfigError> {
    ports.table(&ConfigError::required(env, variable)?)
}

/// The ports of a function deployed on AWS: the official SDK clients, all made from one SDK
/// configuration (with the SDK's own retries off: [`crate::retry`] decides).
#[derive(Debug, Clone)]
pub struct AwsPorts {
    sdk: aws_config::SdkConfig,
}

impl AwsPorts {
    /// Ports over `sdk`.
    pub fn new(sdk: aws_config::SdkConfig) -> Self {
        Self { sdk }
    }

    /// Ports over the SDK configuration from the environment ([`crate::sdk_config_from_env`]).
    pub async fn from_env() -> Self {
        Self::new(crate::retry::sdk_config_from_env().await)
    }

    /// The SDK configuration.
    pub fn sdk(&self) -> &aws_config::SdkConfig {
        &self.sdk
    }
}

impl Ports for AwsPorts {
    #[cfg(feature = "eventbridge")]
    fn bus(
        &self,
        config: &crate::EventBridgeConfig,
    ) -> Result<Arc<dyn Publisher>, crate::ConfigError> {
        Ok(Arc::new(crate::EventBridgePublisher::new(
            aws_sdk_eventbridge::Client::new(&self.sdk),
            config.clone(),
        )))
    }

    #[cfg(feature = "s3")]
    fn claim_checked(
        &self,
        publisher: Arc<dyn Publisher>,
        bucket: &str,
    ) -> Result<Arc<dyn Publisher>, crate::ConfigError> {
        let store = crate::S3ClaimCheck::new(aws_sdk_s3::Client::new(&self.sdk), bucket);
        Ok(Arc::new(lambda_stream::ClaimCheckPublisher::new(
            publisher,
            Arc::new(store),
        )))
    }

    #[cfg(feature = "sns")]
    fn topic(&self, config: &crate::SnsConfig) -> Result<Arc<dyn Publisher>, crate::ConfigError> {
        Ok(Arc::new(crate::SnsPublisher::new(
            aws_sdk_sns::Client::new(&self.sdk),
            config.clone(),
        )))
    }

    #[cfg(feature = "dynamodb")]
    fn table(&self, name: &str) -> Result<Arc<dyn crate::store::Store>, crate::ConfigError> {
        Ok(Arc::new(crate::DynamoDbStore::new(
            aws_sdk_dynamodb::Client::new(&self.sdk),
            name,
        )))
    }

    #[cfg(feature = "dynamodb")]
    fn claims(&self, name: &str) -> Result<Arc<dyn crate::ClaimStore>, crate::ConfigError> {
        Ok(Arc::new(crate::DynamoDbStore::new(
            aws_sdk_dynamodb::Client::new(&self.sdk),
            name,
        )))
    }

    #[cfg(feature = "readers")]
    fn readers(&self) -> Result<lambda_stream::EventReaders, crate::ConfigError> {
        crate::event_readers(&self.sdk)
    }
}
