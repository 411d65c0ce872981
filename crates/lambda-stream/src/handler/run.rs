//! Running one pipeline over its units and recording where each record ended.

use std::sync::Arc;

use std::panic::AssertUnwindSafe;

use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};

use super::decode::Entered;
use super::report::RecordState;
use crate::deadline::Deadline;
use crate::error::{FailureMode, StepError};
use crate::pipeline::{End, Flow, Pipeline, Settled};
use crate::step::filter::TypeFilter;
use crate::uow::Members;

/// A pipeline with its item type erased, as the handler keeps it.
pub(super) trait RunPipeline: Send + Sync {
    fn name(&self) -> &str;
    fn failure_mode(&self) -> FailureMode;
    fn type_filters(&self) -> &[TypeFilter];
    fn start(&self, input: Flow<()>) -> BoxStream<'static, Settled>;
}

impl<T: Send + 'static> RunPipeline for Pipeline<T> {
    fn name(&self) -> &str {
        &self.name
    }

    fn failure_mode(&self) -> FailureMode {
        self.failure_mode
    }

    fn type_filters(&self) -> &[TypeFilter] {
        &self.type_filters
    }

    fn start(&self, input: Flow<()>) -> BoxStream<'static, Settled> {
        self.flow(input)
            .map(|item| match item {
                Ok(uow) => Settled {
                    members: uow.members,
                    end: End::Delivered,
                },
                Err(settled) => settled,
            })
            .boxed()
    }
}

/// Where each record ended in one pipeline.
pub(super) struct PipelineRun {
    pub(super) name: String,
    /// Per record: its state in this pipeline (`None`: it never entered).
    pub(super) states: Vec<Option<RecordState>>,
    /// The failed units that may become fault events.
    pub(super) failures: Vec<(Members, StepError)>,
    /// True when the pipeline was stopped before its end (the deadline, or a panic in a
    /// step's stream itself): records it had not reached yet are retried.
    pub(super) stopped_early: bool,
}

/// Runs the pipeline until every unit settled or `stop` came. At `stop` the work still in
/// flight is dropped (cancelled): its units fail with `DeadlineExceeded`, which the
/// pipeline's failure mode settles.
pub(super) async fn run_pipeline(
    pipeline: Arc<dyn RunPipeline>,
    input: Flow<()>,
    entered: Arc<Entered>,
    records: usize,
    stop: Deadline,
) -> PipelineRun {
    let mode = pipeline.failure_mode();
    let mut run = PipelineRun {
        name: pipeline.name().to_string(),
        states: vec![None; records],
        failures: Vec::new(),
        stopped_early: false,
    };
    // A step of one's own is a function over the stream: building the stream or polling it
    // may panic outside any unit's guard. Either stops this pipeline alone.
    let mut stopped_by: Option<StepError> = None;
    let mut settled = match std::panic::catch_unwind(AssertUnwindSafe(|| pipeline.start(input))) {
        Ok(settled) => Some(settled),
        Err(payload) => {
            stopped_by = Some(StepError::from_panic(payload.as_ref()).in_step("pipeline"));
            None
        }
    };
    // One timer for the whole run: arming one per unit would cost a timer registration each.
    let mut timer = stop.timer();
    while let Some(stream) = settled.as_mut() {
        let next = AssertUnwindSafe(stop.scope(timer.run(stream.next())))
            .catch_unwind()
            .await;
        let next = match next {
            Ok(Ok(next)) => next,
            Ok(Err(_deadline)) => {
                stopped_by = Some(
                    StepError::new(
                        "the unit had not settled when the pipeline stopped, one deadline margin before the invocation's deadline",
                    )
                    .with_name("DeadlineExceeded"),
                );
                break;
            }
            Err(payload) => {
                stopped_by = Some(StepError::from_panic(payload.as_ref()).in_step("pipeline"));
                break;
            }
        };
        let Some(Settled { members, end }) = next else {
            break;
        };
        let state = match &end {
            End::Delivered => RecordState::Delivered,
            End::Stale => RecordState::Stale,
            End::Duplicate => RecordState::Duplicate,
            End::Filtered => RecordState::Filtered,
            End::Failed(error) => match error.disposition(mode) {
                FailureMode::Fault => RecordState::Fault,
                FailureMode::Retry => RecordState::Retry,
            },
        };
        for i in members.iter() {
            if let Some(slot) = run.states.get_mut(i) {
                *slot = Some(slot.map_or(state, |s| s.max(state)));
            }
        }
        if let End::Failed(error) = end {
            tracing::warn!(pipeline = %run.name, %error, "unit failed");
            if state == RecordState::Fault {
                run.failures.push((members, error));
            }
        }
    }
    // Cancel whatever is still in flight before settling it.
    drop(settled);
    let unsettled: Vec<usize> = (0..records)
        .filter(|i| entered.get(*i) && run.states[*i].is_none())
        .collect();
    if let Some(error) = stopped_by {
        run.stopped_early = true;
        if !unsettled.is_empty() {
            let state = match error.disposition(mode) {
                FailureMode::Fault => RecordState::Fault,
                FailureMode::Retry => RecordState::Retry,
            };
            tracing::error!(pipeline = %run.name, records = unsettled.len(), ?state, %error, "the pipeline stopped before these units settled");
            for i in &unsettled {
                run.states[*i] = Some(state);
            }
            if state == RecordState::Fault {
                let members = Members::Many(
                    unsettled
                        .iter()
                        .map(|i| u32::try_from(*i).unwrap_or(u32::MAX))
                        .collect(),
                );
                run.failures.push((members, error));
            }
        }
        return run;
    }
    // A record that came in and never settled was lost by a step: retry it, loudly.
    let lost = unsettled;
    if !lost.is_empty() {
        tracing::error!(
            pipeline = %run.name,
            records = lost.len(),
            "a step dropped units without settling them; their records are retried"
        );
        for i in lost {
            run.states[i] = Some(RecordState::Retry);
        }
    }
    run
}
