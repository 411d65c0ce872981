//! The message-batch sink SNS and SQS share: the same entries, sizes and rules, one
//! [`Publisher`] ([`MessagePublisher`]) over either service. A message's size is its body plus
//! its attributes (name, type and value); each message carries its event type as the `type`
//! attribute; FIFO targets (named `*.fifo`) take the partition key as the message group and
//! the event id as the deduplication id. Each service brings its limits, its retryable error
//! codes and its SDK call ([`MessageService`], [`MessageBatchApi`]): see [`crate::sns`] and
//! [`crate::sqs`].

use std::marker::PhantomData;
use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use lambda_stream::{BatchLimits, PublishEntry, Publisher, StepError};

use crate::retry::{BatchCall, RetryPolicy, send_with_retry};
pub use crate::retry::{CallError, EntryOutcome};

/// What tells one message service from the other: its name, its batch call and limits, and
/// which of its error codes are worth retrying.
pub trait MessageService: Send + Sync + 'static {
    /// `SNS` or `SQS`, in messages.
    const NAME: &'static str;
    /// The batch call (`PublishBatch`, `SendMessageBatch`), in messages.
    const OPERATION: &'static str;
    /// The most messages one request carries.
    const MAX_ENTRIES: usize;
    /// The most bytes one request (and one message) weighs.
    const MAX_REQUEST_BYTES: usize;
    /// Message and request error codes worth retrying: the service failed, not the message.
    const RETRYABLE_CODES: &'static [&'static str];

    /// True for a request error code worth retrying.
    fn is_retryable_code(code: &str) -> bool {
        Self::RETRYABLE_CODES.contains(&code)
    }
}

/// The batch call of a message service, to a target (a topic ARN, a queue URL). Implemented
/// for the SDK clients; tests implement it to script the service's answers.
pub trait MessageBatchApi: Send + Sync + 'static {
    /// Sends one request; on success, one outcome per message, in order.
    fn send_batch<'a>(
        &'a self,
        target: &'a str,
        entries: Vec<&'a PublishEntry>,
    ) -> BoxFuture<'a, Result<Vec<EntryOutcome>, CallError>>;
}

/// Sends messages to a topic or queue; a [`Publisher`] for the `publish` and `send` steps.
/// [`SnsPublisher`](crate::SnsPublisher) and [`SqsPublisher`](crate::SqsPublisher) are this
/// over each service.
pub struct MessagePublisher<S> {
    api: Arc<dyn MessageBatchApi>,
    target: String,
    retry: RetryPolicy,
    service: PhantomData<fn() -> S>,
}

impl<S> Clone for MessagePublisher<S> {
    fn clone(&self) -> Self {
        Self {
            api: Arc::clone(&self.api),
            target: self.target.clone(),
            retry: self.retry,
            service: PhantomData,
        }
    }
}

impl<S: MessageService> std::fmt::Debug for MessagePublisher<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessagePublisher")
            .field("service", &S::NAME)
            .field("target", &self.target)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl<S: MessageService> MessagePublisher<S> {
    /// A publisher over any [`MessageBatchApi`] (tests script the service this way).
    /// ```
    /// use std::sync::{Arc, Mutex};
    ///
    /// use futures::FutureExt;
    /// use futures::future::BoxFuture;
    /// use lambda_stream::{Envelope, Pipeline, PublishEntry, RecordState, testing};
    /// use lambda_stream_aws::message::MessageBatchApi;
    /// use lambda_stream_aws::retry::{CallError, EntryOutcome};
    /// use lambda_stream_aws::{RetryPolicy, SqsPublisher};
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// /// A queue that takes everything and counts the messages of each request.
    /// #[derive(Default)]
    /// struct Counting(Mutex<Vec<usize>>);
    ///
    /// impl MessageBatchApi for Counting {
    ///     fn send_batch<'a>(
    ///         &'a self,
    ///         _queue_url: &'a str,
    ///         entries: Vec<&'a PublishEntry>,
    ///     ) -> BoxFuture<'a, Result<Vec<EntryOutcome>, CallError>> {
    ///         self.0.lock().unwrap().push(entries.len());
    ///         let outcomes = entries.iter().map(|_| EntryOutcome::Accepted).collect();
    ///         async move { Ok(outcomes) }.boxed()
    ///     }
    /// }
    ///
    /// let api = Arc::new(Counting::default());
    /// let queue = SqsPublisher::with_api(api.clone(), "https://sqs.us-west-2.amazonaws.com/123456789012/work", RetryPolicy::default());
    /// let enqueue = Pipeline::new("enqueue")
    ///     .map(|uow| Ok(PublishEntry::message("work", format!(r#"{{"thing":"{}"}}"#, uow.event.id()))))
    ///     .send(Arc::new(queue), 2);
    /// let events: Vec<Envelope> = (0..12).map(|_| Envelope::builder("thing-created").build()).collect::<Result<_, _>>()?;
    /// let report = testing::run_pipeline(enqueue, &events).await;
    ///
    /// // SendMessageBatch takes 10 messages a request.
    /// let mut sizes = api.0.lock().unwrap().clone();
    /// sizes.sort();
    /// assert_eq!(sizes, [2, 10]);
    /// assert!(report.records.iter().all(|r| r.pipelines == [RecordState::Delivered]));
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_api(
        api: Arc<dyn MessageBatchApi>,
        target: impl Into<String>,
        retry: RetryPolicy,
    ) -> Self {
        Self {
            api,
            target: target.into(),
            retry,
            service: PhantomData,
        }
    }

    /// The topic ARN or queue URL.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Why a message cannot be sent to this service at all.
    pub fn check_entry(entry: &PublishEntry) -> Result<(), StepError> {
        check_entry(entry, S::NAME, S::MAX_REQUEST_BYTES)
    }
}

impl<S: MessageService> Publisher for MessagePublisher<S> {
    fn limits(&self) -> BatchLimits {
        BatchLimits {
            max_count: S::MAX_ENTRIES,
            max_bytes: S::MAX_REQUEST_BYTES,
        }
    }

    fn entry_size(&self, entry: &PublishEntry) -> usize {
        entry_size(entry)
    }

    fn publish<'a>(
        &'a self,
        entries: &'a [PublishEntry],
    ) -> BoxFuture<'a, Vec<Result<(), StepError>>> {
        let how = BatchCall {
            operation: S::OPERATION,
            retryable_codes: S::RETRYABLE_CODES,
        };
        async move {
            send_with_retry(&self.retry, &how, entries, Self::check_entry, |batch| {
                self.api.send_batch(&self.target, batch)
            })
            .await
        }
        .boxed()
    }
}

/// The attribute that carries the event type.
pub const TYPE_ATTRIBUTE: &str = "type";

/// The message group of FIFO messages without a partition key.
pub const DEFAULT_GROUP: &str = "default";

/// The size SNS and SQS count for a message: its body and its `type` attribute.
pub fn entry_size(entry: &PublishEntry) -> usize {
    let attribute = if entry.event_type().is_empty() {
        0
    } else {
        TYPE_ATTRIBUTE.len() + "String".len() + entry.event_type().len()
    };
    entry.json().len() + attribute
}

/// True for a FIFO topic or queue (its name ends in `.fifo`).
pub fn is_fifo(target: &str) -> bool {
    target.ends_with(".fifo")
}

/// The message group of a FIFO message.
pub fn group_id(entry: &PublishEntry) -> &str {
    entry.partition_key().unwrap_or(DEFAULT_GROUP)
}

/// Why a message cannot be sent to `service` (limit `max_bytes`) at all.
pub fn check_entry(entry: &PublishEntry, service: &str, max_bytes: usize) -> Result<(), StepError> {
    if entry.json().is_empty() {
        return Err(StepError::permanent("the message is empty").with_name("InvalidEntry"));
    }
    let size = entry_size(entry);
    if size > max_bytes {
        return Err(StepError::permanent(format!(
            "the message `{}` weighs {size} bytes, over {service}'s {max_bytes}-byte limit",
            entry.event_type()
        ))
        .with_name("MessageTooLarge"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct Service;

    impl MessageService for Service {
        const NAME: &'static str = "TestQ";
        const OPERATION: &'static str = "SendBatch";
        const MAX_ENTRIES: usize = 10;
        const MAX_REQUEST_BYTES: usize = 64;
        const RETRYABLE_CODES: &'static [&'static str] = &["Throttled"];
    }

    /// Answers each call with the next scripted outcomes, and records the bodies it got.
    struct Scripted {
        answers: Mutex<Vec<Vec<EntryOutcome>>>,
        calls: Mutex<Vec<Vec<String>>>,
    }

    impl MessageBatchApi for Scripted {
        fn send_batch<'a>(
            &'a self,
            target: &'a str,
            entries: Vec<&'a PublishEntry>,
        ) -> BoxFuture<'a, Result<Vec<EntryOutcome>, CallError>> {
            assert_eq!(target, "queue-1");
            self.calls
                .lock()
                .expect("lock")
                .push(entries.iter().map(|e| e.json().to_string()).collect());
            let answer = self.answers.lock().expect("lock").remove(0);
            async move { Ok(answer) }.boxed()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn one_publisher_retries_what_the_service_throttled_and_never_sends_what_cannot_go() {
        let api = Arc::new(Scripted {
            answers: Mutex::new(vec![
                vec![
                    EntryOutcome::Accepted,
                    EntryOutcome::Rejected {
                        code: "Throttled".into(),
                        message: "slow down".into(),
                    },
                ],
                vec![EntryOutcome::Accepted],
            ]),
            calls: Mutex::new(Vec::new()),
        });
        let publisher: MessagePublisher<Service> =
            MessagePublisher::with_api(api.clone(), "queue-1", RetryPolicy::default());
        assert_eq!(publisher.limits().max_count, 10);
        assert_eq!(publisher.target(), "queue-1");
        let entries = [
            PublishEntry::message("t", "{\"a\":1}"),
            PublishEntry::message("t", "{\"b\":2}"),
            PublishEntry::message("t", format!("{{\"c\":\"{}\"}}", "x".repeat(80))),
        ];
        let results = publisher.publish(&entries).await;
        assert!(results[0].is_ok() && results[1].is_ok());
        let too_large = results[2].as_ref().expect_err("over the limit");
        assert!(
            too_large.message().contains("TestQ's 64-byte limit"),
            "{too_large}"
        );
        let calls = api.calls.lock().expect("lock").clone();
        assert_eq!(
            calls,
            vec![
                vec!["{\"a\":1}".to_string(), "{\"b\":2}".into()],
                vec!["{\"b\":2}".into()]
            ]
        );
    }

    #[test]
    fn size_counts_body_and_type_attribute() {
        let entry = PublishEntry::message("thing-created", "{\"é\":1}");
        assert_eq!(entry_size(&entry), 8 + 4 + 6 + 13);
        assert_eq!(entry_size(&PublishEntry::message("", "{}")), 2);
    }

    #[test]
    fn a_message_exactly_at_the_limit_passes_and_one_byte_over_fails() {
        let max = 1000;
        let overhead = entry_size(&PublishEntry::message("t", ""));
        let at_limit = PublishEntry::message("t", "x".repeat(max - overhead));
        assert!(check_entry(&at_limit, "SQS", max).is_ok());
        let over = PublishEntry::message("t", "é".repeat((max - overhead) / 2 + 1));
        let err = check_entry(&over, "SQS", max).expect_err("over");
        assert_eq!(err.name(), "MessageTooLarge");
        assert!(err.message().contains("SQS's 1000-byte limit"));
        assert!(check_entry(&PublishEntry::message("t", ""), "SQS", max).is_err());
    }

    #[test]
    fn fifo_targets_and_groups() {
        assert!(is_fifo("https://sqs.us-east-1.amazonaws.com/1/q.fifo"));
        assert!(is_fifo("arn:aws:sns:us-east-1:1:t.fifo"));
        assert!(!is_fifo("https://sqs.us-east-1.amazonaws.com/1/q"));
        let entry = PublishEntry::message("t", "{}");
        assert_eq!(group_id(&entry), DEFAULT_GROUP);
        assert_eq!(group_id(&entry.with_partition_key("order-1")), "order-1");
    }
}
