#![doc = include_str!("../README.md")]

pub mod claimcheck;
pub mod config;
pub mod envelope;
pub mod error;
pub mod fault;
pub mod handler;
pub mod pipeline;
pub mod publish;
pub mod record;
pub mod source;
pub mod step;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod uow;

pub use claimcheck::Redeemer;
pub use config::Config;
pub use envelope::{Envelope, EnvelopeBuilder, EnvelopeError, S3Pointer, TagValue, Tags};
pub use error::{DecodeError, ErrorClass, FailureMode, HandlerError, StepError};
pub use fault::{FAULT_EVENT_TYPE, fault_event};
pub use handler::{RecordReport, RecordState, Report, StreamHandler, StreamService};
pub use pipeline::Pipeline;
pub use publish::{InMemoryPublisher, PublishEntry, Publisher};
pub use record::{RawRecord, Records, SourceRecord};
pub use source::{
    DynamoDbSource, EventBridgeSource, KinesisSource, RawSource, SnsSource, Source, SqsSource,
};
pub use step::batch::BatchLimits;
pub use step::filter::{TypeFilter, on_type, on_types};
pub use step::rate_limit::RateLimiter;
pub use telemetry::{PipelineSummary, Summary, init_tracing};
pub use uow::{Batch, Invocation, Uow};

// Re-exported so functions and tests use the same versions.
pub use aws_lambda_events;
pub use lambda_runtime;
