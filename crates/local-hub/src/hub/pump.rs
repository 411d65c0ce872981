//! The event source mappings: batches from streams and queues to functions, and Lambda's
//! behaviour on the response. Streams: a batch from each shard in order; reported failures
//! resume at the lowest failed sequence number; a failed invocation retries the batch
//! (halved first, with `BisectBatchOnFunctionError`); after `MaximumRetryAttempts` (and past
//! `MaximumRecordAgeInSeconds`) the records go to the on-failure destination. Queues: the
//! messages a function reports failed (or all, when it fails) come back after the visibility
//! timeout, and move to the dead-letter queue after `maxReceiveCount` receives.

use std::collections::HashSet;

use serde_json::json;

use super::events;
use super::resources::{Queue, StreamRecord};
use super::{Core, Hub, HubError, Invoked, State, lock};
use crate::model::{EventSource, SourceKind};

/// A run that delivers this many batches without going idle is stuck in a loop.
const MAX_BATCHES: usize = 10_000_000;

/// What Lambda makes of a response.
enum Outcome {
    /// These item identifiers failed (none: the batch succeeded).
    Items(Vec<String>),
    /// The invocation failed as a whole.
    Failed,
}

fn outcome(source: &EventSource, invoked: &Invoked) -> Outcome {
    match &invoked.response {
        // Without ReportBatchItemFailures, Lambda ignores what a successful invocation says.
        Ok(_) if !source.report_batch_item_failures => Outcome::Items(Vec::new()),
        Ok(response) => match events::failed_items(response) {
            Ok(items) => Outcome::Items(items),
            Err(_) => Outcome::Failed,
        },
        Err(_) => Outcome::Failed,
    }
}

pub(super) async fn run_until_idle(hub: &Hub) -> Result<(), HubError> {
    let mut batches = 0;
    loop {
        hub.core.collect_table_changes();
        let mut delivered = false;
        for index in 0..hub.core.sources().len() {
            if step(hub, index).await? {
                delivered = true;
                batches += 1;
                hub.core.collect_table_changes();
            }
        }
        if batches > MAX_BATCHES {
            return Err(HubError(format!(
                "{MAX_BATCHES} batches without the subsystem going idle: a loop between functions?"
            )));
        }
        if delivered {
            continue;
        }
        if !wake(&hub.core) {
            compact(&hub.core);
            return Ok(());
        }
    }
}

/// When nothing is deliverable: moves the clock to the next moment something is (a hidden
/// message's visibility timeout, a stream's or a queue's batching window's end). False when
/// nothing waits.
fn wake(core: &Core) -> bool {
    let mut state = lock(&core.state);
    let now = state.clock_ms;
    let hidden = state
        .queues
        .values()
        .filter(|q| core.sources().iter().any(|s| s.arn == q.arn))
        .filter_map(|q| q.next_visible_ms(now))
        .min();
    let windows = core
        .sources()
        .iter()
        .enumerate()
        .filter(|(_, s)| s.kind != SourceKind::Sqs)
        .flat_map(|(index, source)| {
            let stream = state.streams.get(&source.arn);
            state.cursors[index]
                .iter()
                .enumerate()
                .filter_map(move |(shard, cursor)| {
                    let oldest = stream?.shards[shard].get(cursor.next)?;
                    Some(oldest.arrived_ms + source.batching_window_seconds as i64 * 1_000)
                })
        })
        .filter(|at| *at > now)
        .min();
    let queue_windows = core
        .sources()
        .iter()
        .filter(|s| s.kind == SourceKind::Sqs)
        .filter_map(|source| queue_window_ends(state.queues.get(&source.arn)?, source, now))
        .min();
    let next = [hidden, windows, queue_windows].into_iter().flatten().min();
    match next {
        Some(at) => {
            state.clock_ms = at;
            true
        }
        None => false,
    }
}

/// One batch for mapping `index`, if it has one: true when a function was invoked.
async fn step(hub: &Hub, index: usize) -> Result<bool, HubError> {
    let source = &hub.core.sources()[index];
    let Some(super::Runnable::Events(function)) = hub.functions.get(&source.function) else {
        return Err(HubError(format!(
            "{} takes no event batches",
            source.function
        )));
    };
    match source.kind {
        SourceKind::Kinesis | SourceKind::DynamoDb => {
            let shards = lock(&hub.core.state).cursors[index].len();
            let mut any = false;
            for shard in 0..shards {
                let Some((batch, event)) = stream_batch(&hub.core, index, shard) else {
                    continue;
                };
                let invoked = function.invoke(&event, hub.timeout).await;
                after_stream_batch(&hub.core, index, shard, &batch, &invoked);
                any = true;
            }
            Ok(any)
        }
        SourceKind::Sqs => {
            let Some((ids, event)) = queue_batch(&hub.core, index) else {
                return Ok(false);
            };
            let invoked = function.invoke(&event, hub.timeout).await;
            after_queue_batch(&hub.core, index, &ids, &invoked);
            Ok(true)
        }
    }
}

fn stream_batch(core: &Core, index: usize, shard: usize) -> Option<(Vec<StreamRecord>, Vec<u8>)> {
    let source = &core.sources()[index];
    let mut state = lock(&core.state);
    let state = &mut *state;
    let now = state.clock_ms;
    let stream = state.streams.get(&source.arn)?;
    let records = &stream.shards[shard];
    let mut cursor = std::mem::take(&mut state.cursors[index][shard]);
    // Records past their maximum age go to the on-failure destination unprocessed.
    let mut expired = Vec::new();
    if let Some(max_age) = source.maximum_record_age_seconds {
        while let Some(record) = records.get(cursor.next) {
            if now - record.arrived_ms <= max_age as i64 * 1_000 {
                break;
            }
            expired.push(record.clone());
            cursor.next += 1;
        }
    }
    let available = records.len().saturating_sub(cursor.next);
    // `MaximumBatchingWindowInSeconds`: a batch short of the batch size waits until its
    // oldest record has waited that long (a retry or a bisected half does not wait).
    let waiting = available > 0
        && available < source.batch_size
        && cursor.halves.is_empty()
        && cursor.attempts == 0
        && records.get(cursor.next).is_some_and(|oldest| {
            now - oldest.arrived_ms < source.batching_window_seconds as i64 * 1_000
        });
    let batch: Vec<StreamRecord> = if available == 0 || waiting {
        Vec::new()
    } else {
        let size = cursor
            .halves
            .last()
            .copied()
            .unwrap_or(source.batch_size)
            .max(1)
            .min(available);
        records[cursor.next..cursor.next + size].to_vec()
    };
    let arn = stream.arn.clone();
    state.cursors[index][shard] = cursor;
    if !expired.is_empty() {
        on_failure(state, source, &arn, shard, &expired, "RecordAgeExceeded");
    }
    if batch.is_empty() {
        return None;
    }
    let event = match source.kind {
        SourceKind::DynamoDb => events::dynamodb(&batch),
        _ => events::kinesis(&batch, shard, &arn, &core.model.deployment.region),
    };
    Some((batch, event))
}

fn after_stream_batch(
    core: &Core,
    index: usize,
    shard: usize,
    batch: &[StreamRecord],
    invoked: &Invoked,
) {
    let source = &core.sources()[index];
    let mut state = lock(&core.state);
    let state = &mut *state;
    count(state, source, batch.len(), invoked);
    let max_retries = source.maximum_retry_attempts.unwrap_or(10_000);
    let mut cursor = std::mem::take(&mut state.cursors[index][shard]);
    let stats = state
        .stats
        .functions
        .entry(source.function.clone())
        .or_default();
    // Where the batch resumes: its end (success), the first failed record, or its start.
    let resume = match outcome(source, invoked) {
        Outcome::Items(items) if items.is_empty() => None,
        Outcome::Items(items) => {
            stats.batch_item_failures += items.len();
            let failed: HashSet<&str> = items.iter().map(String::as_str).collect();
            // Kinesis reports the sequence number, a table stream its SequenceNumber: both are
            // the record's sequence here.
            let key = |r: &StreamRecord| r.sequence.to_string();
            // An identifier that is not in the batch fails the whole batch, as in Lambda.
            let first = batch.iter().position(|r| failed.contains(key(r).as_str()));
            let known = failed.iter().all(|id| batch.iter().any(|r| key(r) == *id));
            Some(if known { first.unwrap_or(0) } else { 0 })
        }
        Outcome::Failed => {
            stats.failed_invocations += 1;
            if source.bisect_on_error && batch.len() > 1 {
                // Split in two, each half tried on its own (the first half first), without
                // counting an attempt.
                cursor.halves.pop();
                cursor.halves.push(batch.len() - batch.len() / 2);
                cursor.halves.push(batch.len() / 2);
                cursor.attempts = 0;
                stats.retried_records += batch.len();
                state.cursors[index][shard] = cursor;
                return;
            }
            Some(0)
        }
    };
    let mut exhausted = None;
    match resume {
        None => {
            cursor.next += batch.len();
            cursor.attempts = 0;
            cursor.halves.pop();
        }
        Some(first) => {
            cursor.next += first;
            cursor.attempts += 1;
            let rest = &batch[first..];
            if let Some(half) = cursor.halves.last_mut() {
                *half = rest.len();
            }
            if cursor.attempts > max_retries {
                cursor.next += rest.len();
                cursor.attempts = 0;
                cursor.halves.pop();
                exhausted = Some(rest);
            } else {
                stats.retried_records += rest.len();
            }
        }
    }
    state.cursors[index][shard] = cursor;
    if let Some(rest) = exhausted {
        let arn = source.arn.clone();
        on_failure(state, source, &arn, shard, rest, "RetryAttemptsExhausted");
    }
}

/// Records a mapping gives up on: a message on its on-failure queue saying which (as Lambda
/// writes it), or dropped when it has none.
fn on_failure(
    state: &mut State,
    source: &EventSource,
    stream_arn: &str,
    shard: usize,
    records: &[StreamRecord],
    condition: &str,
) {
    let (Some(first), Some(last)) = (records.first(), records.last()) else {
        return;
    };
    match &source.on_failure {
        Some(destination) if state.queues.contains_key(destination) => {
            let info = json!({
                "requestContext": {
                    "requestId": uuid::Uuid::new_v4().to_string(),
                    "functionArn": source.function,
                    "condition": condition,
                    "approximateInvokeCount": source.maximum_retry_attempts.unwrap_or(0) + 1,
                },
                "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
                "version": "1.0",
                "timestamp": super::rfc3339(state.clock_ms),
                "KinesisBatchInfo": {
                    "shardId": format!("shardId-{shard:012}"),
                    "startSequenceNumber": first.sequence.to_string(),
                    "endSequenceNumber": last.sequence.to_string(),
                    "batchSize": records.len(),
                    "streamArn": stream_arn,
                },
            });
            Core::send(state, destination, info.to_string());
            *state
                .stats
                .to_on_failure
                .entry(source.function.clone())
                .or_default() += records.len();
        }
        _ => {
            *state
                .stats
                .discarded
                .entry(source.function.clone())
                .or_default() += records.len();
        }
    }
}

fn queue_batch(core: &Core, index: usize) -> Option<(Vec<String>, Vec<u8>)> {
    let source = &core.sources()[index];
    let mut state = lock(&core.state);
    let state = &mut *state;
    let now = state.clock_ms;
    let queue = state.queues.get_mut(&source.arn)?;
    let expired = queue.expire(now);
    let redriven = queue.take_redriven(now);
    let dead_letter = queue.redrive.as_ref().map(|(arn, _)| arn.clone());
    // `MaximumBatchingWindowInSeconds`: fewer messages than the batch size wait until the
    // oldest of them has been visible that long.
    let messages = match queue_window_ends(queue, source, now) {
        Some(_) => Vec::new(),
        None => queue.receive(source.batch_size, now),
    };
    if expired > 0 {
        // Deleted by SQS unread: what Lambda would never see.
        *state
            .stats
            .discarded
            .entry(source.function.clone())
            .or_default() += expired;
    }
    if let Some(dead_letter) = dead_letter {
        for message in redriven {
            *state
                .stats
                .dead_lettered
                .entry(source.arn.clone())
                .or_default() += 1;
            Core::send(state, &dead_letter, message.body);
        }
    }
    if messages.is_empty() {
        return None;
    }
    let ids = messages.iter().map(|m| m.id.clone()).collect();
    Some((
        ids,
        events::sqs(&messages, &source.arn, &core.model.deployment.region),
    ))
}

/// When the batching window of `source` on `queue` ends, if its visible messages wait for it
/// at `now`: fewer than the batch size, the oldest visible for less than the window.
fn queue_window_ends(queue: &Queue, source: &EventSource, now: i64) -> Option<i64> {
    let (visible, since) = queue.visible(now);
    let ends = since? + source.batching_window_seconds as i64 * 1_000;
    (visible > 0 && visible < source.batch_size && ends > now).then_some(ends)
}

fn after_queue_batch(core: &Core, index: usize, ids: &[String], invoked: &Invoked) {
    let source = &core.sources()[index];
    let mut state = lock(&core.state);
    let state = &mut *state;
    count(state, source, ids.len(), invoked);
    let failed: Vec<String> = match outcome(source, invoked) {
        Outcome::Items(items) => {
            let stats = state
                .stats
                .functions
                .entry(source.function.clone())
                .or_default();
            stats.batch_item_failures += items.len();
            stats.retried_records += items.len();
            items
        }
        Outcome::Failed => {
            let stats = state
                .stats
                .functions
                .entry(source.function.clone())
                .or_default();
            stats.failed_invocations += 1;
            stats.retried_records += ids.len();
            ids.to_vec()
        }
    };
    if let Some(queue) = state.queues.get_mut(&source.arn) {
        for id in ids.iter().filter(|id| !failed.contains(id)) {
            queue.delete(id);
        }
    }
}

fn count(state: &mut State, source: &EventSource, records: usize, invoked: &Invoked) {
    let stats = state
        .stats
        .functions
        .entry(source.function.clone())
        .or_default();
    stats.invocations += 1;
    stats.records += records;
    if let Some(summary) = &invoked.summary {
        stats.faults += summary.faults_published;
        stats.delivered += summary.pipelines.iter().map(|p| p.delivered).sum::<usize>();
    }
}

pub(super) fn pending(hub: &Hub) -> Vec<(String, usize)> {
    let state = lock(&hub.core.state);
    hub.core
        .sources()
        .iter()
        .enumerate()
        .map(|(index, source)| {
            let waiting = match source.kind {
                SourceKind::Sqs => state
                    .queues
                    .get(&source.arn)
                    .map_or(0, |q| q.messages.len()),
                _ => state.streams.get(&source.arn).map_or(0, |stream| {
                    stream
                        .shards
                        .iter()
                        .zip(&state.cursors[index])
                        .map(|(records, cursor)| records.len().saturating_sub(cursor.next))
                        .sum()
                }),
            };
            (source.function.clone(), waiting)
        })
        .collect()
}

/// Drops the stream records every mapping reading them has passed (as Kinesis's retention
/// would, sooner), so a long run holds only what is still to be read.
fn compact(core: &Core) {
    let mut state = lock(&core.state);
    let state = &mut *state;
    let arns: Vec<String> = state.streams.keys().cloned().collect();
    for arn in arns {
        let readers: Vec<usize> = core
            .sources()
            .iter()
            .enumerate()
            .filter(|(_, s)| s.arn == arn)
            .map(|(i, _)| i)
            .collect();
        let Some(stream) = state.streams.get_mut(&arn) else {
            continue;
        };
        for (shard, records) in stream.shards.iter_mut().enumerate() {
            let done = readers
                .iter()
                .map(|i| state.cursors[*i][shard].next)
                .min()
                .unwrap_or(records.len())
                .min(records.len());
            if done == 0 {
                continue;
            }
            records.drain(..done);
            for i in &readers {
                state.cursors[*i][shard].next -= done;
            }
        }
    }
}
