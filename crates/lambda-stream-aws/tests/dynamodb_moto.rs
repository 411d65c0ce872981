//! The DynamoDB store against `moto_server` (started by `scripts/test`): put and update with
//! aliased names, write-only-if-newer (an older write rejected, a newer one accepted), batch
//! get of more keys than one request takes, and a query that follows its pages. Each test
//! makes its own table.

use lambda_stream_aws::WriteOutcome;
use lambda_stream_aws::testing::{moto_endpoint, new_table, sdk_config};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct OrderView {
    pk: String,
    sk: String,
    status: String,
    name: String,
    timestamp: i64,
    #[serde(default)]
    note: Option<String>,
}

#[tokio::test]
#[ignore = "needs moto_server: scripts/test starts one and runs it"]
async fn write_only_if_newer_keeps_the_latest_whatever_the_arrival_order() {
    let endpoint = moto_endpoint();
    let store = new_table(&sdk_config(&endpoint).await).await;
    let key = json!({"pk": "o1", "sk": "order"});
    let placed = json!({"status": "placed", "name": "Order 1", "note": "ring twice"});
    assert_eq!(
        store
            .update_if_newer(&key, &placed, "timestamp", 2)
            .await
            .expect("first write"),
        WriteOutcome::Written
    );
    // An older event arriving late is rejected...
    let stale = json!({"status": "created", "name": "Order 1"});
    assert_eq!(
        store
            .update_if_newer(&key, &stale, "timestamp", 1)
            .await
            .expect("older"),
        WriteOutcome::Skipped
    );
    // ...and so is the same event delivered again.
    assert_eq!(
        store
            .update_if_newer(&key, &placed, "timestamp", 2)
            .await
            .expect("again"),
        WriteOutcome::Skipped
    );
    let view: OrderView = store.get(&key).await.expect("read").expect("stored");
    assert_eq!((view.status.as_str(), view.timestamp), ("placed", 2));
    // A newer one is accepted, and its null removes the note.
    let delivered = json!({"status": "delivered", "name": "Order 1", "note": null});
    assert_eq!(
        store
            .update_if_newer(&key, &delivered, "timestamp", 3)
            .await
            .expect("newer"),
        WriteOutcome::Written
    );
    let view: OrderView = store.get(&key).await.expect("read").expect("stored");
    assert_eq!((view.status.as_str(), view.timestamp), ("delivered", 3));
    assert_eq!(view.note, None);
}

#[tokio::test]
#[ignore = "needs moto_server: scripts/test starts one and runs it"]
async fn put_update_and_conditional_put() {
    let endpoint = moto_endpoint();
    let store = new_table(&sdk_config(&endpoint).await).await;
    let view = OrderView {
        pk: "o2".into(),
        sk: "order".into(),
        status: "placed".into(),
        name: "Order 2".into(),
        timestamp: 1,
        note: None,
    };
    store.put(&view).await.expect("put");
    store
        .update(
            &json!({"pk": "o2", "sk": "order"}),
            &json!({"status": "paid"}),
        )
        .await
        .expect("update");
    let read: OrderView = store
        .get(&json!({"pk": "o2", "sk": "order"}))
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(read.status, "paid");
    let mut aliases = lambda_stream_aws::UpdateExpression::default();
    let pk = aliases.alias_name("pk");
    let condition = format!("attribute_not_exists({pk})");
    assert_eq!(
        store
            .put_if(&view, &condition, &aliases)
            .await
            .expect("conditional"),
        WriteOutcome::Skipped,
        "the item exists"
    );
    let missing: Option<OrderView> = store
        .get(&json!({"pk": "nope", "sk": "order"}))
        .await
        .expect("read");
    assert_eq!(missing, None);
}

#[tokio::test]
#[ignore = "needs moto_server: scripts/test starts one and runs it"]
async fn batch_get_reads_more_keys_than_one_request_takes_and_query_follows_pages() {
    let endpoint = moto_endpoint();
    let store = new_table(&sdk_config(&endpoint).await).await;
    for n in 0..130 {
        store
            .put(&json!({"pk": format!("c{}", n % 2), "sk": format!("item-{n:03}"), "n": n}))
            .await
            .expect("put");
    }
    let keys: Vec<_> = (0..130)
        .map(|n| json!({"pk": format!("c{}", n % 2), "sk": format!("item-{n:03}")}))
        .chain(std::iter::once(json!({"pk": "c0", "sk": "missing"})))
        .collect();
    let items: Vec<serde_json::Value> = store.batch_get(&keys).await.expect("batch get");
    assert_eq!(items.len(), 130);
    let mut ns: Vec<i64> = items.iter().filter_map(|i| i["n"].as_i64()).collect();
    ns.sort_unstable();
    assert_eq!(ns, (0..130).collect::<Vec<_>>());

    let c0: Vec<serde_json::Value> = store
        .query_partition("pk", "c0", Some(7))
        .await
        .expect("query");
    assert_eq!(c0.len(), 65);
    let sks: Vec<&str> = c0.iter().filter_map(|i| i["sk"].as_str()).collect();
    let mut sorted = sks.clone();
    sorted.sort_unstable();
    assert_eq!(sks, sorted, "in sort-key order across pages");
}

mod idempotency {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    use lambda_stream::{ErrorClass, StepError};
    use lambda_stream_aws::store::memory::InMemoryStore;
    use lambda_stream_aws::{Idempotency, Once};

    use super::{moto_endpoint, new_table, sdk_config};

    /// The claims in a table of moto's DynamoDB.
    async fn in_dynamodb() -> Arc<Idempotency> {
        let endpoint = moto_endpoint();
        Arc::new(Idempotency::new(
            new_table(&sdk_config(&endpoint).await).await,
            Duration::from_secs(3600),
        ))
    }

    /// The claims in a table in memory (what the local hub gives the payment gateway): the
    /// same behaviour, asked of the same tests.
    fn in_memory() -> Arc<Idempotency> {
        Arc::new(Idempotency::with_store(
            Arc::new(InMemoryStore::new()),
            Duration::from_secs(3600),
        ))
    }

    #[tokio::test]
    #[ignore = "needs moto_server: scripts/test starts one and runs it"]
    async fn an_effect_runs_once_per_event_and_a_failure_releases_the_claim() {
        runs_once_and_a_failure_releases(in_dynamodb().await).await;
    }

    #[tokio::test]
    async fn an_effect_runs_once_per_event_and_a_failure_releases_the_claim_in_memory() {
        runs_once_and_a_failure_releases(in_memory()).await;
    }

    async fn runs_once_and_a_failure_releases(idempotency: Arc<Idempotency>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let charge = |calls: Arc<AtomicUsize>| async move {
            Ok::<_, StepError>(calls.fetch_add(1, Ordering::SeqCst) + 1)
        };
        let deadline = Some(Instant::now() + Duration::from_secs(60));
        let first = idempotency
            .once("payments", "e1", deadline, || charge(Arc::clone(&calls)))
            .await
            .expect("first");
        assert_eq!(first, Once::Done(1));
        let again = idempotency
            .once("payments", "e1", deadline, || charge(Arc::clone(&calls)))
            .await
            .expect("redelivered");
        assert_eq!(again, Once::AlreadyDone);
        assert_eq!(calls.load(Ordering::SeqCst), 1, "charged once");
        // Another pipeline keeps its own records.
        let other = idempotency
            .once("receipts", "e1", deadline, || charge(Arc::clone(&calls)))
            .await
            .expect("other pipeline");
        assert_eq!(other, Once::Done(2));

        // A failed effect releases its claim, so the retry runs it.
        let failed = idempotency
            .once("payments", "e2", deadline, || async {
                Err::<usize, _>(StepError::retryable("processor unavailable"))
            })
            .await
            .expect_err("failed");
        assert_eq!(failed.message(), "processor unavailable");
        let retried = idempotency
            .once("payments", "e2", deadline, || charge(Arc::clone(&calls)))
            .await
            .expect("retried");
        assert_eq!(retried, Once::Done(3));
    }

    #[tokio::test]
    #[ignore = "needs moto_server: scripts/test starts one and runs it"]
    async fn an_event_in_progress_elsewhere_is_retried_and_an_expired_claim_is_taken_over() {
        in_progress_elsewhere_then_taken_over(in_dynamodb().await).await;
    }

    #[tokio::test]
    async fn an_event_in_progress_elsewhere_is_retried_and_an_expired_claim_is_taken_over_in_memory()
     {
        in_progress_elsewhere_then_taken_over(in_memory()).await;
    }

    async fn in_progress_elsewhere_then_taken_over(idempotency: Arc<Idempotency>) {
        let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
        let (finish_tx, finish_rx) = tokio::sync::oneshot::channel::<()>();
        let holder = Arc::clone(&idempotency);
        let first = tokio::spawn(async move {
            holder
                .once(
                    "payments",
                    "e3",
                    Some(Instant::now() + Duration::from_secs(60)),
                    || async {
                        let _ = started_tx.send(());
                        let _ = finish_rx.await;
                        Ok::<_, StepError>("charged")
                    },
                )
                .await
        });
        started_rx.await.expect("first invocation started");
        let second = idempotency
            .once(
                "payments",
                "e3",
                Some(Instant::now() + Duration::from_secs(60)),
                || async { Ok::<_, StepError>("charged twice") },
            )
            .await
            .expect_err("in progress elsewhere");
        assert_eq!(second.class(), ErrorClass::Retryable);
        assert_eq!(second.name(), "InProgressElsewhere");
        let _ = finish_tx.send(());
        assert_eq!(
            first.await.expect("task").expect("first"),
            Once::Done("charged")
        );

        // A claim whose invocation's deadline has passed (it crashed) is taken over.
        let crashed = idempotency.once("payments", "e4", Some(Instant::now()), || async {
            std::future::pending::<Result<(), StepError>>().await
        });
        let _ = tokio::time::timeout(Duration::from_millis(300), crashed).await;
        // Claims expire on whole seconds (the unit of DynamoDB TTL).
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let taken_over = idempotency
            .once(
                "payments",
                "e4",
                Some(Instant::now() + Duration::from_secs(60)),
                || async { Ok::<_, StepError>(()) },
            )
            .await
            .expect("expired claim taken over");
        assert_eq!(taken_over, Once::Done(()));
    }

    #[tokio::test]
    #[ignore = "needs moto_server: scripts/test starts one and runs it"]
    async fn a_failed_effect_releases_only_its_own_claim() {
        releases_only_its_own_claim(in_dynamodb().await).await;
    }

    #[tokio::test]
    async fn a_failed_effect_releases_only_its_own_claim_in_memory() {
        releases_only_its_own_claim(in_memory()).await;
    }

    async fn releases_only_its_own_claim(idempotency: Arc<Idempotency>) {
        // A claims e5 with a deadline now: its claim expires within a second or two.
        let (fail_tx, fail_rx) = tokio::sync::oneshot::channel::<()>();
        let holder = Arc::clone(&idempotency);
        let first = tokio::spawn(async move {
            holder
                .once("payments", "e5", Some(Instant::now()), || async {
                    let _ = fail_rx.await;
                    Err::<(), _>(StepError::retryable("processor unavailable"))
                })
                .await
        });
        tokio::time::sleep(Duration::from_millis(2100)).await;
        // B takes the expired claim over; while B's effect runs, A fails and releases.
        let taker = Arc::clone(&idempotency);
        let second = idempotency
            .once(
                "payments",
                "e5",
                Some(Instant::now() + Duration::from_secs(60)),
                || async move {
                    let _ = fail_tx.send(());
                    let released = first.await.expect("task");
                    assert!(released.is_err());
                    // B's claim must still be there: a third delivery is held back.
                    let third = taker
                        .once(
                            "payments",
                            "e5",
                            Some(Instant::now() + Duration::from_secs(60)),
                            || async { Ok::<_, StepError>(()) },
                        )
                        .await
                        .expect_err("B still holds the claim");
                    assert_eq!(third.name(), "InProgressElsewhere");
                    Ok::<_, StepError>("charged by B")
                },
            )
            .await
            .expect("B");
        assert_eq!(second, Once::Done("charged by B"));
    }

    #[tokio::test]
    #[ignore = "needs moto_server: scripts/test starts one and runs it"]
    async fn an_effect_that_ran_succeeds_even_when_completion_cannot_be_recorded() {
        let endpoint = moto_endpoint();
        let sdk = sdk_config(&endpoint).await;
        let store = new_table(&sdk)
            .await
            .with_retry(lambda_stream_aws::RetryPolicy {
                base_delay: Duration::from_millis(5),
                ..lambda_stream_aws::RetryPolicy::default()
            });
        let table = store.table().to_string();
        let client = aws_sdk_dynamodb::Client::new(&sdk);
        let idempotency = Idempotency::new(store, Duration::from_secs(3600));
        let calls = Arc::new(AtomicUsize::new(0));
        let c = Arc::clone(&calls);
        let outcome = idempotency
            .once(
                "payments",
                "e6",
                Some(Instant::now() + Duration::from_secs(60)),
                || async move {
                    c.fetch_add(1, Ordering::SeqCst);
                    // The table goes away after the effect: `completed` cannot be written.
                    client
                        .delete_table()
                        .table_name(table)
                        .send()
                        .await
                        .map_err(|e| StepError::new(e.to_string()))?;
                    Ok::<_, StepError>("charged")
                },
            )
            .await
            .expect("the effect ran: the unit succeeds");
        assert_eq!(outcome, Once::Done("charged"));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}

mod idempotent_pipeline {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use lambda_stream::testing;
    use lambda_stream::{
        Config, Envelope, Invocation, Pipeline, SqsSource, StepError, StreamHandler,
    };
    use lambda_stream_aws::Idempotency;
    use serde_json::json;

    use super::{moto_endpoint, new_table, sdk_config};

    #[tokio::test]
    #[ignore = "needs moto_server: scripts/test starts one and runs it"]
    async fn a_redelivered_batch_does_not_repeat_the_effect() {
        let endpoint = moto_endpoint();
        let idempotency = Arc::new(Idempotency::new(
            new_table(&sdk_config(&endpoint).await).await,
            Duration::from_secs(3600),
        ));
        let charges = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&charges);
        let pipeline = Pipeline::new("charge-payments").then(
            4,
            idempotency.guard(move |_uow| {
                let counter = Arc::clone(&counter);
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, StepError>(())
                }
            }),
        );
        let handler = StreamHandler::with_config(SqsSource::new(), Config::default())
            .pipeline(pipeline.delivered());
        let events: Vec<Envelope> = (0..6)
            .map(|n| {
                Envelope::builder("payment-requested")
                    .id(format!("pay-{n}"))
                    .entity("payment", &json!({"n": n}))
                    .build()
                    .expect("valid")
            })
            .collect();
        for _ in 0..2 {
            let report = handler
                .process(testing::sqs_event(&events), Invocation::local())
                .await;
            assert_eq!(report.summary.pipelines[0].delivered, 6);
        }
        assert_eq!(
            charges.load(Ordering::SeqCst),
            6,
            "each payment charged once"
        );
    }
}
