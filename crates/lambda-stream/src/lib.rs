#![doc = include_str!("../README.md")]

pub mod claimcheck;
pub mod compression;
pub mod config;
pub mod deadline;
pub mod encryption;
pub mod envelope;
pub mod error;
pub mod fault;
pub mod handler;
mod json;
pub mod pipeline;
pub mod publisher;
pub mod record;
pub mod source;
pub mod step;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod uow;

pub use claimcheck::{ClaimCheckPublisher, ClaimCheckStore, Redeemer};
pub use config::Config;
pub use deadline::{Deadline, DeadlineExceeded};
pub use envelope::{
    Envelope, EnvelopeBuilder, EnvelopeError, RecordFacts, S3Pointer, TagValue, Tags,
};
pub use error::{DecodeError, ErrorClass, FailureMode, HandlerError, StepError};
pub use fault::{FAULT_EVENT_TYPE, FaultEvent, fault_event, fault_events};
pub use handler::{EventReaders, RecordReport, RecordState, Report, StreamHandler, StreamService};
pub use pipeline::{Delivered, Flow, Item, Pipeline, Settled};
pub use publisher::{InMemoryPublisher, PublishEntry, Publisher};
pub use record::{Field, RawRecord, Records, RecordsEvent, SingleEvent, SourceRecord};
pub use source::{
    Decoded, DynamoDbSource, EventBridgeSource, KinesisSource, Payload, RawSource, SnsSource,
    Source, SqsSource,
};
pub use step::batch::BatchLimits;
pub use step::filter::TypeFilter;
pub use step::rate_limit::RateLimiter;
pub use telemetry::{PipelineSummary, Summary, init_tracing};
pub use uow::{Batch, Invocation, Uow};

// Re-exported so functions and tests use the same versions.
pub use aws_lambda_events;
pub use lambda_runtime;
