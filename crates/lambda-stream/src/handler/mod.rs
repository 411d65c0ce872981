//! The handler: one source, several named pipelines, a fault publisher. It decodes the batch
//! once, runs every pipeline over every unit concurrently, settles each record, publishes the
//! faults, and answers Lambda with the records to retry.
//!
//! The same handler runs under `lambda_runtime` ([`StreamHandler::run`]) and is called
//! directly in tests ([`StreamHandler::handle`], [`StreamHandler::process`]).
//!
//! | concern | module |
//! |---|---|
//! | decoding records as the pipelines need them (decompressing as they are read) | `decode` |
//! | claim checks and decryption, in that order (see its docs for the whole order) | `prepare` |
//! | running one pipeline | `run` |
//! | settling records | `settle` |
//! | what an invocation did: record states, the report | `report` |
//! | fault events | `faults` |
//! | the Lambda service | `service` |

use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::Instrument;

use crate::claimcheck::Redeemer;
use crate::config::Config;
use crate::deadline::{Deadline, margin_for};
use crate::encryption::Keyring;
use crate::envelope::now_millis;
use crate::error::{FailureMode, HandlerError};
use crate::pipeline::{Delivered, Pipeline};
use crate::publisher::Publisher;
use crate::source::Source;
use crate::uow::Invocation;

mod decode;
mod faults;
mod prepare;
mod report;
mod run;
mod service;
mod settle;

use decode::{Decoder, Entered, units};
pub use prepare::EventReaders;
use prepare::{Prepared, prepare_units};
pub use report::{RecordReport, RecordState, Report};
use run::{RunPipeline, run_pipeline};
pub use service::StreamService;

/// A stream processor for one event source. Build it once per process (in `main`), then
/// [`run`](StreamHandler::run) it.
///
/// ```no_run
/// use std::sync::Arc;
/// use lambda_stream::{KinesisSource, Pipeline, StreamHandler, InMemoryPublisher};
///
/// # async fn doc() -> Result<(), lambda_runtime::Error> {
/// let faults = Arc::new(InMemoryPublisher::new()); // the EventBridge sink in production
/// StreamHandler::new(KinesisSource::new())
///     .pipeline(Pipeline::new("p1").on_type("thing-*").delivered())
///     .faults_to(faults)
///     .run()
///     .await
/// # }
/// ```
pub struct StreamHandler<S: Source> {
    source: Arc<S>,
    pipelines: Vec<Arc<dyn RunPipeline>>,
    faults: Option<Arc<dyn Publisher>>,
    config: Config,
    decode_failure: FailureMode,
    include_skipped: bool,
    readers: EventReaders,
}

impl<S: Source> std::fmt::Debug for StreamHandler<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamHandler")
            .field("source", &self.source.name())
            .field("pipelines", &self.pipeline_names())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<S: Source> StreamHandler<S> {
    /// A handler for `source`, configured from the environment ([`Config::from_env`]).
    pub fn new(source: S) -> Self {
        Self::with_config(source, Config::from_env())
    }

    /// A handler with explicit configuration (tests).
    pub fn with_config(source: S, config: Config) -> Self {
        Self {
            source: Arc::new(source),
            pipelines: Vec::new(),
            faults: None,
            config,
            decode_failure: FailureMode::Fault,
            include_skipped: false,
            readers: EventReaders::default(),
        }
    }

    /// Registers a pipeline. Every unit of every batch flows through every enabled pipeline;
    /// the pipelines run concurrently. Pipelines disabled by `ENABLED_PIPELINES` or
    /// `DISABLED_PIPELINES` are left out here.
    ///
    /// The pipeline must end in a step that delivers ([`Delivered`]): `publish`, `send`, a
    /// step of your own returning `Delivered`, or an explicit `.delivered()`.
    #[must_use]
    pub fn pipeline(mut self, pipeline: Pipeline<Delivered>) -> Self {
        if self.config.is_enabled(pipeline.name()) {
            self.pipelines.push(Arc::new(pipeline));
        } else {
            tracing::info!(
                pipeline = pipeline.name(),
                "pipeline disabled by configuration"
            );
        }
        self
    }

    /// Where fault events go. Without a fault publisher, records that would fault are
    /// retried instead, so nothing is lost.
    #[must_use]
    pub fn faults_to(mut self, publisher: Arc<dyn Publisher>) -> Self {
        self.faults = Some(publisher);
        self
    }

    /// What happens to a record that cannot be decoded: a fault event (default) or a retry.
    #[must_use]
    pub fn on_decode_failure(mut self, mode: FailureMode) -> Self {
        self.decode_failure = mode;
        self
    }

    /// Swaps claim-checked envelopes (with an `s3` pointer) for the events they point at,
    /// fetched from `redeemer`, before the pipelines see them (see [`crate::claimcheck`]). A
    /// unit whose event cannot be fetched fails (retryable when the store was unavailable).
    /// Without a redeemer, a claim-checked event fails: a stub never reaches a step.
    #[must_use]
    pub fn redeem_claim_checks(mut self, redeemer: Arc<dyn Redeemer>) -> Self {
        self.readers.claim_checks = Some(redeemer);
        self
    }

    /// Decrypts the fields an event's `eem` names (the Node library's field-level
    /// encryption) with `keyring` before the pipelines see it (see [`crate::encryption`]). An
    /// event that cannot be decrypted fails (a fault, or a retry when KMS was unavailable).
    /// Without a keyring, an encrypted event fails: ciphertext never reaches a step.
    #[must_use]
    pub fn decrypt_with(mut self, keyring: Arc<Keyring>) -> Self {
        self.readers.keyring = Some(keyring);
        self
    }

    /// Both: [`redeem_claim_checks`](Self::redeem_claim_checks) and
    /// [`decrypt_with`](Self::decrypt_with) with what `readers` holds (what it does not hold
    /// stays as it was).
    #[must_use]
    pub fn read_with(mut self, readers: EventReaders) -> Self {
        if let Some(claim_checks) = readers.claim_checks {
            self.readers.claim_checks = Some(claim_checks);
        }
        if let Some(keyring) = readers.keyring {
            self.readers.keyring = Some(keyring);
        }
        self
    }

    /// How long before the invocation's deadline the pipelines stop (default 1 s, or
    /// `LAMBDA_STREAM_DEADLINE_MARGIN_MS`; never more than a quarter of the time an invocation
    /// has). Units still running then are settled as failures with `DeadlineExceeded` (a retry
    /// or a fault, per the pipeline's failure mode), records not reached yet are retried, and
    /// the faults are published and the response sent within the margin.
    #[must_use]
    pub fn deadline_margin(mut self, margin: Duration) -> Self {
        self.config.deadline_margin = margin;
        self
    }

    /// Lets test events (`tags.skip: true`) through instead of dropping them.
    #[must_use]
    pub fn include_skipped(mut self) -> Self {
        self.include_skipped = true;
        self
    }

    /// The names of the enabled pipelines.
    pub fn pipeline_names(&self) -> Vec<&str> {
        self.pipelines.iter().map(|p| p.name()).collect()
    }

    /// Handles one Lambda event and returns the response for Lambda.
    pub async fn handle(&self, event: S::Event) -> Result<S::Response, HandlerError> {
        self.process(event, Invocation::local()).await.response
    }

    /// Handles one Lambda event and reports everything it did.
    pub async fn process(&self, event: S::Event, invocation: Invocation) -> Report<S::Response> {
        let started = Instant::now();
        let mut invocation = invocation;
        invocation.tags.merge_defaults(&self.config.tags);
        if invocation.compression.is_none() {
            invocation.compression = self.config.compression.clone().map(Arc::new);
        }
        // The pipelines stop one margin before Lambda's deadline; fault publishing may use
        // three quarters of the margin; the rest is for the response.
        let (pipelines_stop, faults_stop) = match invocation.deadline {
            Some(deadline) => {
                let lambda = Deadline::at(deadline);
                let margin = margin_for(
                    self.config.deadline_margin,
                    deadline.saturating_duration_since(crate::deadline::now()),
                );
                (lambda.earlier_by(margin), lambda.earlier_by(margin / 4))
            }
            None => (Deadline::NONE, Deadline::NONE),
        };
        let invocation = Arc::new(invocation);

        let records = Arc::new(self.source.records(event));
        let type_filters = self
            .pipelines
            .iter()
            .map(|p| p.type_filters().to_vec())
            .collect();
        let decoder = Arc::new(Decoder::new(
            Arc::clone(&self.source),
            Arc::clone(&records),
            type_filters,
            self.include_skipped,
        ));
        let prepared = Prepared::new(self.readers.clone(), records.len());
        let runs =
            futures::future::join_all(self.pipelines.iter().enumerate().map(|(p, pipeline)| {
                let entered = Entered::new(records.len());
                let units = prepare_units(
                    units(&decoder, p, pipeline.name(), &invocation, &entered),
                    Arc::clone(&prepared),
                );
                let span = tracing::info_span!("pipeline", name = pipeline.name());
                run_pipeline(
                    Arc::clone(pipeline),
                    units,
                    entered,
                    records.len(),
                    pipelines_stop,
                )
                .instrument(span)
            }))
            .await;

        let settle = settle::Settle {
            source: self.source.as_ref(),
            faults_to: self.faults.as_deref(),
            decode_failure: self.decode_failure,
            stop: faults_stop,
        };
        let mut report = settle.settle(&records, &decoder, runs, &invocation).await;
        report.summary.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        report.summary.log();
        if let Some(namespace) = &self.config.emf_namespace {
            let function = self
                .config
                .tags
                .get_str("functionname")
                .unwrap_or("unknown");
            for doc in report
                .summary
                .emf_documents(namespace, function, now_millis())
            {
                // EMF documents must be bare JSON lines on stdout.
                println!("{doc}");
            }
        }
        report
    }
}
