//! Running one pipeline over its units and recording where each record ended.

use std::sync::Arc;

use futures::StreamExt;
use futures::stream::BoxStream;

use super::decode::Entered;
use super::settle::RecordState;
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
    /// True when the pipeline was stopped at the deadline: records it had not reached yet
    /// are retried.
    pub(super) timed_out: bool,
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
        timed_out: false,
    };
    let mut settled = pipeline.start(input);
    loop {
        let Ok(next) = stop.scope(stop.run(settled.next())).await else {
            run.timed_out = true;
            break;
        };
        let Some(Settled { members, end }) = next else {
            break;
        };
        let state = match &end {
            End::Delivered => RecordState::Delivered,
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
    if run.timed_out {
        if !unsettled.is_empty() {
            let error = StepError::new(
                "the unit had not settled when the pipeline stopped, one deadline margin before the invocation's deadline",
            )
            .with_name("DeadlineExceeded");
            let state = match error.disposition(mode) {
                FailureMode::Fault => RecordState::Fault,
                FailureMode::Retry => RecordState::Retry,
            };
            tracing::error!(pipeline = %run.name, records = unsettled.len(), ?state, "units not settled by the deadline");
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
