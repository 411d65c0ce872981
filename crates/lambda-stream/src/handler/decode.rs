//! Decoding for the pipelines: each record is decoded once, on demand, as the first pipeline
//! reaches it, and only as far as the pipelines need. A record's `type` is read first; when
//! no pipeline's leading type filters want it, the rest of the event is never read. The last
//! pipeline to take an event drops it, so a batch's events are not all in memory at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures::StreamExt;

use crate::envelope::Envelope;
use crate::envelope::codec::peek_type;
use crate::pipeline::Flow;
use crate::record::Records;
use crate::source::{Decoded, Source, decompressed, parse_envelope};
use crate::step::filter::TypeFilter;
use crate::uow::{Invocation, Members, Uow};

/// How a record decoded, for the report.
pub(super) enum Outcome {
    /// Decoded, and wanted by at least one pipeline (or never reached: no pipelines).
    Event,
    /// No pipeline's type filters want its type: filtered everywhere, the rest never read.
    Unwanted,
    /// A test event (`tags.skip`), dropped.
    Skipped,
    /// Not decodable, with the reason.
    Failed(String),
}

enum Slot {
    Undecoded,
    Unwanted,
    /// Decoded; `remaining` pipelines that want it have yet to take it.
    Shared {
        event: Arc<Envelope>,
        record_key: Option<Arc<str>>,
        remaining: usize,
    },
    /// Taken by every pipeline that wants it.
    Taken,
    Skipped,
    Failed(String),
}

pub(super) struct Decoder<S> {
    source: Arc<S>,
    pub(super) records: Arc<Records>,
    slots: Vec<Mutex<Slot>>,
    /// Per pipeline, the type filters it starts with (all must match).
    type_filters: Vec<Vec<TypeFilter>>,
    include_skipped: bool,
}

impl<S: Source> Decoder<S> {
    pub(super) fn new(
        source: Arc<S>,
        records: Arc<Records>,
        type_filters: Vec<Vec<TypeFilter>>,
        include_skipped: bool,
    ) -> Self {
        Self {
            source,
            slots: (0..records.len())
                .map(|_| Mutex::new(Slot::Undecoded))
                .collect(),
            records,
            type_filters,
            include_skipped,
        }
    }

    fn wants(&self, pipeline: usize, event_type: &str) -> bool {
        self.type_filters
            .get(pipeline)
            .is_none_or(|filters| filters.iter().all(|f| f.matches(event_type)))
    }

    fn wanted_by(&self, event_type: &str) -> usize {
        (0..self.type_filters.len())
            .filter(|p| self.wants(*p, event_type))
            .count()
    }

    fn decode(&self, i: usize) -> Slot {
        let Some(record) = self.records.get(i) else {
            return Slot::Failed(format!("no record at position {i}"));
        };
        let decoded = match self.source.decode(record) {
            Ok(decoded) => decoded,
            Err(error) => return self.failed(error.to_string()),
        };
        // How many pipelines want it, from the type read first when it could be.
        let (event, wanted) = match decoded {
            Decoded::NotAnEvent(reason) => {
                tracing::debug!(source = self.source.name(), %reason, "record filtered: not a domain event");
                return Slot::Unwanted;
            }
            Decoded::Envelope(event) => (event, None),
            Decoded::Json(text) => {
                // The type first, as it came: an unwanted event is not decompressed either
                // (unless its type itself was compressed).
                let peeked = peek_type(&text)
                    .filter(|t| !t.starts_with(crate::compression::COMPRESSION_PREFIX))
                    .map(|t| self.wanted_by(&t));
                if peeked == Some(0) {
                    return Slot::Unwanted;
                }
                let text = match decompressed(text, &|| self.source.facts(record)) {
                    Ok(text) => text,
                    Err(error) => return self.failed(error.to_string()),
                };
                let wanted = match peeked {
                    Some(wanted) => Some(wanted),
                    None => peek_type(&text).map(|t| self.wanted_by(&t)),
                };
                if wanted == Some(0) {
                    return Slot::Unwanted;
                }
                match parse_envelope(text, &|| self.source.facts(record)) {
                    Ok(event) => (event, wanted),
                    Err(error) => return self.failed(error.to_string()),
                }
            }
        };
        let remaining = wanted.unwrap_or_else(|| self.wanted_by(event.event_type()));
        if remaining == 0 {
            return Slot::Unwanted;
        }
        if event.is_skipped() && !self.include_skipped {
            return Slot::Skipped;
        }
        let record_key = match event.partition_key() {
            Some(_) => None,
            None => self
                .source
                .facts(record)
                .partition_key
                .map(|k| Arc::from(k.as_str())),
        };
        Slot::Shared {
            event: Arc::new(event),
            record_key,
            remaining,
        }
    }

    fn failed(&self, reason: String) -> Slot {
        tracing::warn!(source = self.source.name(), %reason, "record not decoded");
        Slot::Failed(reason)
    }

    fn lock(&self, i: usize) -> MutexGuard<'_, Slot> {
        self.slots[i].lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The record's event for one pipeline, or `None` if that pipeline does not get it.
    fn take(&self, i: usize, pipeline: usize) -> Option<(Arc<Envelope>, Option<Arc<str>>)> {
        let mut slot = self.lock(i);
        if matches!(*slot, Slot::Undecoded) {
            *slot = self.decode(i);
        }
        let Slot::Shared {
            event,
            record_key,
            remaining,
        } = &mut *slot
        else {
            return None;
        };
        if !self.wants(pipeline, event.event_type()) {
            return None;
        }
        let taken = (Arc::clone(event), record_key.clone());
        *remaining -= 1;
        if *remaining == 0 {
            *slot = Slot::Taken;
        }
        Some(taken)
    }

    /// Whether pipeline `pipeline` could still want record `i`, which it never took (it was
    /// stopped before reaching it): unknown for a record not decoded yet.
    pub(super) fn may_want(&self, i: usize, pipeline: usize) -> bool {
        match &*self.lock(i) {
            Slot::Undecoded => true,
            Slot::Shared { event, .. } => self.wants(pipeline, event.event_type()),
            // Every pipeline that wanted it took it; this one did not, so it does not want it.
            Slot::Taken | Slot::Unwanted | Slot::Skipped | Slot::Failed(_) => false,
        }
    }

    /// Decodes a record no pipeline reached (every pipeline disabled), so that one that
    /// cannot be decoded is faulted or retried, not acknowledged unseen.
    pub(super) fn check_untouched(&self, i: usize) {
        let mut slot = self.lock(i);
        if !matches!(*slot, Slot::Undecoded) {
            return;
        }
        let Some(record) = self.records.get(i) else {
            return;
        };
        let facts = || self.source.facts(record);
        *slot = match self.source.decode(record) {
            Ok(Decoded::Json(text)) => {
                match decompressed(text, &facts).and_then(|text| parse_envelope(text, &facts)) {
                    Ok(_) => Slot::Unwanted,
                    Err(error) => self.failed(error.to_string()),
                }
            }
            Ok(_) => Slot::Unwanted,
            Err(error) => self.failed(error.to_string()),
        };
    }

    /// How the record decoded.
    pub(super) fn outcome(&self, i: usize) -> Outcome {
        match &*self.lock(i) {
            Slot::Unwanted => Outcome::Unwanted,
            Slot::Skipped => Outcome::Skipped,
            Slot::Failed(reason) => Outcome::Failed(reason.clone()),
            Slot::Undecoded | Slot::Shared { .. } | Slot::Taken => Outcome::Event,
        }
    }
}

/// Which records entered a pipeline, so a unit that a step lost can be told from one that
/// never came in.
pub(super) struct Entered(Vec<AtomicBool>);

impl Entered {
    pub(super) fn new(records: usize) -> Arc<Self> {
        Arc::new(Self((0..records).map(|_| AtomicBool::new(false)).collect()))
    }

    pub(super) fn get(&self, i: usize) -> bool {
        self.0.get(i).is_some_and(|b| b.load(Ordering::Relaxed))
    }

    fn set(&self, i: usize) {
        if let Some(b) = self.0.get(i) {
            b.store(true, Ordering::Relaxed);
        }
    }
}

/// The units that enter pipeline number `pipeline`: every record it wants, decoded as the
/// pipeline pulls them.
pub(super) fn units<S: Source>(
    decoder: &Arc<Decoder<S>>,
    pipeline: usize,
    name: &str,
    invocation: &Arc<Invocation>,
    entered: &Arc<Entered>,
) -> Flow<()> {
    let name: Arc<str> = Arc::from(name);
    let decoder = Arc::clone(decoder);
    let invocation = Arc::clone(invocation);
    let entered = Arc::clone(entered);
    let count = decoder.records.len();
    let units = (0..count).filter_map(move |i| {
        let (event, record_key) = decoder.take(i, pipeline)?;
        entered.set(i);
        let position = u32::try_from(i).unwrap_or(u32::MAX);
        Some(Ok(Uow {
            records: Arc::clone(&decoder.records),
            position,
            event,
            pipeline: Arc::clone(&name),
            invocation: Arc::clone(&invocation),
            value: (),
            members: Members::One(position),
            record_key,
        }))
    });
    futures::stream::iter(units).boxed()
}
