//! The unit of work: what flows through a pipeline.

use std::sync::Arc;
use std::time::Instant;

use crate::compression::Compression;
use crate::envelope::{Envelope, Tags};
use crate::record::{Records, SourceRecord};

/// One unit of work: the source record (verbatim), its decoded envelope, the pipeline it is
/// in, and `value`, what the steps so far produced (typed: `Uow<()>` enters a pipeline, a
/// `map` to `Ext` gives `Uow<Ext>`).
///
/// The record and envelope are shared by every pipeline of the function and never copied.
///
/// Its `Debug` shows the pipeline, the records it accounts for and the event with the fields
/// its `eem` names redacted; never the value (a step's value may hold decrypted data) nor the
/// record.
pub struct Uow<T = ()> {
    /// The batch's records, shared by every unit; `position` is this unit's.
    pub(crate) records: Arc<Records>,
    pub(crate) position: u32,
    /// The decoded event.
    pub event: Arc<Envelope>,
    /// The pipeline's name.
    pub pipeline: Arc<str>,
    /// The invocation this unit belongs to.
    pub invocation: Arc<Invocation>,
    /// What the previous steps produced.
    pub value: T,
    pub(crate) members: Members,
    /// The record's own partition key (a Kinesis record's), for events that carry none.
    pub(crate) record_key: Option<Arc<str>>,
}

impl<T> std::fmt::Debug for Uow<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uow")
            .field("pipeline", &self.pipeline)
            .field("records", &self.members.iter().collect::<Vec<_>>())
            .field("event", &self.event)
            .finish_non_exhaustive()
    }
}

impl<T> Uow<T> {
    /// The record as Lambda delivered it (for a batch unit, its first record's).
    pub fn record(&self) -> SourceRecord<'_> {
        // `position` always indexes `records`: both are set together by the handler.
        match self.records.get(self.position as usize) {
            Some(record) => record,
            None => unreachable!("a unit's position is within its batch"),
        }
    }

    /// The same unit with another value (the step's result).
    pub fn with_value<U>(self, value: U) -> Uow<U> {
        self.replace(value).0
    }

    /// The same unit with another value, and the old value.
    pub fn replace<U>(self, value: U) -> (Uow<U>, T) {
        (
            Uow {
                records: self.records,
                position: self.position,
                event: self.event,
                pipeline: self.pipeline,
                invocation: self.invocation,
                value,
                members: self.members,
                record_key: self.record_key,
            },
            self.value,
        )
    }

    /// A unit with the same identity and another value, leaving this one as it is.
    pub(crate) fn sibling<U>(&self, value: U) -> Uow<U> {
        Uow {
            records: Arc::clone(&self.records),
            position: self.position,
            event: Arc::clone(&self.event),
            pipeline: Arc::clone(&self.pipeline),
            invocation: Arc::clone(&self.invocation),
            value,
            members: self.members.clone(),
            record_key: self.record_key.clone(),
        }
    }

    /// The partition key used for ordering: the event's, else the record's own key, else the
    /// event id.
    pub fn partition_key(&self) -> &str {
        if let Some(key) = self.event.partition_key() {
            return key;
        }
        if let Some(key) = self.record_key.as_deref() {
            return key;
        }
        self.event.id()
    }

    /// How many records this unit accounts for (more than one after `batch` or `compact`).
    pub fn record_count(&self) -> usize {
        self.members.len()
    }
}

/// A batch of units made by the `batch` step; it settles as one.
pub type Batch<T> = Vec<Uow<T>>;

/// The positions in the Lambda batch of the records a unit accounts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Members {
    One(u32),
    Many(Vec<u32>),
}

impl Members {
    pub(crate) fn len(&self) -> usize {
        match self {
            Self::One(_) => 1,
            Self::Many(v) => v.len(),
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        let slice: &[u32] = match self {
            Self::One(i) => std::slice::from_ref(i),
            Self::Many(v) => v,
        };
        slice.iter().map(|i| *i as usize)
    }

    pub(crate) fn absorb(&mut self, other: &Members) {
        let mut all: Vec<u32> = match std::mem::replace(self, Self::Many(Vec::new())) {
            Self::One(i) => vec![i],
            Self::Many(v) => v,
        };
        all.extend(other.iter().map(|i| i as u32));
        *self = Self::Many(all);
    }
}

/// Facts about the Lambda invocation that steps may need (the deadline, for example, bounds
/// how long an in-progress marker may live).
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The Lambda request id (empty when called directly in tests).
    pub request_id: String,
    /// When Lambda will stop the invocation, if known.
    pub deadline: Option<Instant>,
    /// The standard tags (`account`, `region`, `stage`, `source`, `functionname`) that
    /// published events carry, from the function's configuration.
    pub tags: Tags,
    /// How `publish` compresses when its pipeline does not say (`COMPRESSION_THRESHOLD`).
    pub compression: Option<Arc<Compression>>,
}

impl Invocation {
    /// An invocation with no request id and no deadline (tests, local runs).
    pub fn local() -> Self {
        Self {
            request_id: String::new(),
            deadline: None,
            tags: Tags::new(),
            compression: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_absorb_and_iterate() {
        let mut m = Members::One(3);
        m.absorb(&Members::Many(vec![1, 2]));
        assert_eq!(m.iter().collect::<Vec<_>>(), vec![3, 1, 2]);
        assert_eq!(m.len(), 3);
    }
}
