//! The event source mapping against moto's SQS: what is deleted, what comes back, when it goes to the DLQ,
//! and in which order. Each test makes its own queues (unique names), so the shared queues are untouched.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use govsync_local_runner::{
    FunctionIdentity, InvocationOutcome, PollSettings, SqsEventSource, StopReason,
};
use lambda_runtime::LambdaEvent;

const VISIBILITY_SECS: u64 = 1;
const MAX_RECEIVES: u32 = 3;

fn moto_url() -> String {
    match std::env::var("GOVSYNC_MOTO_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "GOVSYNC_MOTO_URL is not set: start the local stack (`local/stack.sh up`, then \
             `source .local/stack/stack.env`) or run `local/test.sh`"
        ),
    }
}

async fn sqs() -> aws_sdk_sqs::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto_url())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
    aws_sdk_sqs::Client::new(&config)
}

struct TestQueues {
    client: aws_sdk_sqs::Client,
    url: String,
    dlq_url: String,
}

/// A FIFO queue with a 1 s visibility timeout and a FIFO DLQ after 3 receives.
async fn fifo_queues() -> TestQueues {
    let client = sqs().await;
    let name = format!("runner-{}", uuid::Uuid::new_v4().simple());
    let fifo = |extra: &[(&str, String)]| {
        let mut attributes = std::collections::HashMap::from([
            (
                aws_sdk_sqs::types::QueueAttributeName::FifoQueue,
                "true".to_owned(),
            ),
            (
                aws_sdk_sqs::types::QueueAttributeName::ContentBasedDeduplication,
                "true".to_owned(),
            ),
        ]);
        for (name, value) in extra {
            attributes.insert(
                aws_sdk_sqs::types::QueueAttributeName::from(*name),
                value.clone(),
            );
        }
        attributes
    };
    let dlq_url = client
        .create_queue()
        .queue_name(format!("{name}-dlq.fifo"))
        .set_attributes(Some(fifo(&[])))
        .send()
        .await
        .unwrap_or_else(|error| panic!("create DLQ: {error:?}"))
        .queue_url
        .unwrap_or_default();
    let dlq_arn = client
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap_or_else(|error| panic!("DLQ ARN: {error:?}"))
        .attributes
        .and_then(|mut attributes| {
            attributes.remove(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        })
        .unwrap_or_default();
    let redrive =
        serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVES})
            .to_string();
    let url = client
        .create_queue()
        .queue_name(format!("{name}.fifo"))
        .set_attributes(Some(fifo(&[
            ("VisibilityTimeout", VISIBILITY_SECS.to_string()),
            ("RedrivePolicy", redrive),
        ])))
        .send()
        .await
        .unwrap_or_else(|error| panic!("create queue: {error:?}"))
        .queue_url
        .unwrap_or_default();
    TestQueues {
        client,
        url,
        dlq_url,
    }
}

impl TestQueues {
    async fn send(&self, group: &str, body: &str) -> String {
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_group_id(group)
            .message_body(body)
            .send()
            .await
            .unwrap_or_else(|error| panic!("send: {error:?}"))
            .message_id
            .unwrap_or_default()
    }

    async fn source(&self) -> SqsEventSource {
        let function = FunctionIdentity::new(
            "test-fn",
            "123456789012",
            "us-east-1",
            Duration::from_secs(10),
        );
        let settings = PollSettings {
            batch_size: 10,
            wait: Duration::from_secs(1),
        };
        SqsEventSource::connect(
            self.client.clone(),
            &self.url,
            "us-east-1",
            function,
            settings,
        )
        .await
        .unwrap_or_else(|error| panic!("connect: {error}"))
    }

    async fn dlq_bodies(&self) -> Vec<String> {
        let answer = self
            .client
            .receive_message()
            .queue_url(&self.dlq_url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap_or_else(|error| panic!("receive DLQ: {error:?}"));
        answer
            .messages
            .unwrap_or_default()
            .into_iter()
            .filter_map(|message| message.body)
            .collect()
    }
}

/// What the handler saw, one entry per invocation: (body, ApproximateReceiveCount) per record.
type Seen = Arc<Mutex<Vec<Vec<(String, String)>>>>;

/// A handler that records what it got and reports as failed every record whose body starts with "fail".
fn recording_handler(
    seen: Seen,
) -> impl Fn(LambdaEvent<SqsEvent>) -> std::future::Ready<Result<SqsBatchResponse, lambda_runtime::Error>>
{
    move |event: LambdaEvent<SqsEvent>| {
        let mut failures = Vec::new();
        let mut invocation = Vec::new();
        for record in &event.payload.records {
            let body = record.body.clone().unwrap_or_default();
            let count = record
                .attributes
                .get("ApproximateReceiveCount")
                .cloned()
                .unwrap_or_default();
            if body.starts_with("fail") {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = record.message_id.clone().unwrap_or_default();
                failures.push(failure);
            }
            invocation.push((body, count));
        }
        if let Ok(mut seen) = seen.lock() {
            seen.push(invocation);
        }
        let mut response = SqsBatchResponse::default();
        response.batch_item_failures = failures;
        std::future::ready(Ok(response))
    }
}

fn bodies(seen: &Seen) -> Vec<Vec<String>> {
    seen.lock()
        .map(|seen| {
            seen.iter()
                .map(|invocation| invocation.iter().map(|(body, _)| body.clone()).collect())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn only_messages_that_succeeded_are_deleted_and_failed_ones_come_back() {
    let queues = fifo_queues().await;
    let ok_1 = queues.send("g1", "ok-1").await;
    let failing = queues.send("g2", "fail-2").await;
    let ok_3 = queues.send("g3", "ok-3").await;
    let seen: Seen = Arc::default();
    let handler = recording_handler(seen.clone());
    let mut source = queues.source().await;

    let report = source
        .poll_once(&handler)
        .await
        .unwrap_or_else(|error| panic!("poll: {error}"))
        .unwrap_or_else(|| panic!("three messages were waiting"));
    assert_eq!(
        report.delivered,
        [ok_1.clone(), failing.clone(), ok_3.clone()]
    );
    assert_eq!(report.deleted, [ok_1, ok_3]);
    assert_eq!(report.left, std::slice::from_ref(&failing));

    // Not visible before its visibility timeout ends, then delivered again with a higher receive count.
    let deadline = Instant::now() + Duration::from_secs(10);
    let redelivered = loop {
        assert!(
            Instant::now() < deadline,
            "the failed message never came back"
        );
        if let Some(report) = source
            .poll_once(&handler)
            .await
            .unwrap_or_else(|error| panic!("poll: {error}"))
        {
            break report;
        }
    };
    assert_eq!(redelivered.delivered, [failing]);
    let seen = seen.lock().map(|seen| seen.clone()).unwrap_or_default();
    assert_eq!(seen[1], [("fail-2".to_owned(), "2".to_owned())]);
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn handler_error_leaves_the_whole_batch_for_redelivery() {
    let queues = fifo_queues().await;
    queues.send("g1", "a").await;
    queues.send("g2", "b").await;
    let calls = Arc::new(Mutex::new(0_u32));
    let handler = {
        let calls = calls.clone();
        move |event: LambdaEvent<SqsEvent>| {
            let first = calls
                .lock()
                .map(|mut calls| {
                    *calls += 1;
                    *calls == 1
                })
                .unwrap_or(false);
            let records = event.payload.records.len();
            async move {
                if first {
                    Err::<SqsBatchResponse, lambda_runtime::Error>("governance is down".into())
                } else {
                    assert_eq!(records, 2, "the whole batch comes back");
                    Ok(SqsBatchResponse::default())
                }
            }
        }
    };
    let mut source = queues.source().await;
    let report = source
        .poll_once(&handler)
        .await
        .unwrap_or_else(|error| panic!("poll: {error}"))
        .unwrap_or_else(|| panic!("two messages were waiting"));
    assert!(matches!(
        report.outcome,
        InvocationOutcome::FunctionError(_)
    ));
    assert!(report.deleted.is_empty());
    assert_eq!(report.left.len(), 2);

    let deadline = Instant::now() + Duration::from_secs(10);
    let mut deleted = 0;
    while deleted < 2 {
        assert!(Instant::now() < deadline, "the batch was not redelivered");
        if let Some(report) = source
            .poll_once(&handler)
            .await
            .unwrap_or_else(|error| panic!("poll: {error}"))
        {
            deleted += report.deleted.len();
        }
    }
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn message_failing_every_time_moves_to_the_dlq_after_max_receives() {
    let queues = fifo_queues().await;
    queues.send("g1", "fail-forever").await;
    let seen: Seen = Arc::default();
    let handler = recording_handler(seen.clone());
    let mut source = queues.source().await;

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(
            Instant::now() < deadline,
            "the message never reached the DLQ"
        );
        source
            .poll_once(&handler)
            .await
            .unwrap_or_else(|error| panic!("poll: {error}"));
        let dlq = queues.dlq_bodies().await;
        if !dlq.is_empty() {
            assert_eq!(dlq, ["fail-forever"]);
            break;
        }
    }
    let counts: Vec<String> = seen
        .lock()
        .map(|seen| {
            seen.iter()
                .flatten()
                .map(|(_, count)| count.clone())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        counts,
        ["1", "2", "3"],
        "delivered exactly maxReceiveCount times"
    );
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn order_within_a_message_group_is_kept_on_first_delivery_and_redelivery() {
    let queues = fifo_queues().await;
    for body in ["a", "fail-b", "c", "d"] {
        queues.send("g", body).await;
    }
    queues.send("other", "x").await;
    let seen: Seen = Arc::default();
    // FIFO handlers report the first failure of a group and everything after it in that group.
    let handler = {
        let record = recording_handler(seen.clone());
        move |event: LambdaEvent<SqsEvent>| {
            let mut failing_group = false;
            let mut failures = Vec::new();
            for message in &event.payload.records {
                let body = message.body.clone().unwrap_or_default();
                let first_time = message
                    .attributes
                    .get("ApproximateReceiveCount")
                    .map(String::as_str)
                    == Some("1");
                failing_group |= body.starts_with("fail") && first_time;
                if failing_group
                    && message.attributes.get("MessageGroupId").map(String::as_str) == Some("g")
                {
                    let mut failure = BatchItemFailure::default();
                    failure.item_identifier = message.message_id.clone().unwrap_or_default();
                    failures.push(failure);
                }
            }
            // The recording handler records as it is called; its answer is not this handler's.
            let _ = record(LambdaEvent::new(
                event.payload.clone(),
                event.context.clone(),
            ))
            .into_inner();
            let mut response = SqsBatchResponse::default();
            response.batch_item_failures = failures;
            std::future::ready(Ok::<_, lambda_runtime::Error>(response))
        }
    };
    let mut source = queues.source().await;
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut deleted = 0;
    while deleted < 5 {
        assert!(
            Instant::now() < deadline,
            "not everything was processed: saw {:?}",
            bodies(&seen)
        );
        if let Some(report) = source
            .poll_once(&handler)
            .await
            .unwrap_or_else(|error| panic!("poll: {error}"))
        {
            deleted += report.deleted.len();
        }
    }
    let seen = bodies(&seen);
    assert_eq!(seen[0], ["a", "fail-b", "c", "d", "x"]);
    let group_g_after_failure: Vec<&String> = seen[1..]
        .iter()
        .flatten()
        .filter(|body| *body != "x")
        .collect();
    assert_eq!(group_g_after_failure, ["fail-b", "c", "d"]);
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn stop_requested_during_a_batch_lets_it_finish_and_settle() {
    let queues = fifo_queues().await;
    queues.send("g1", "slow").await;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stop_tx = Arc::new(stop_tx);
    let handler = {
        let stop_tx = stop_tx.clone();
        move |_event: LambdaEvent<SqsEvent>| {
            // The stop arrives while the batch is in flight.
            let _ = stop_tx.send(true);
            async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                Ok::<_, lambda_runtime::Error>(SqsBatchResponse::default())
            }
        }
    };
    let mut source = queues.source().await;
    let summary = source
        .run(&handler, stop_rx, Some(Duration::from_secs(10)), |_| {})
        .await
        .unwrap_or_else(|error| panic!("run: {error}"));
    assert_eq!(summary.stopped, StopReason::Requested);
    assert_eq!((summary.batches, summary.deleted), (1, 1));
    let left = queues
        .client
        .get_queue_attributes()
        .queue_url(&queues.url)
        .attribute_names(
            aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
        )
        .send()
        .await
        .unwrap_or_else(|error| panic!("attributes: {error:?}"));
    assert_eq!(
        left.attributes()
            .and_then(|attributes| attributes.get(
                &aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible
            ))
            .map(String::as_str),
        Some("0"),
        "the in-flight message was deleted, not abandoned"
    );
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn run_stops_when_idle() {
    let queues = fifo_queues().await;
    let (_stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let seen: Seen = Arc::default();
    let handler = recording_handler(seen);
    let mut source = queues.source().await;
    let started = Instant::now();
    let summary = source
        .run(&handler, stop_rx, Some(Duration::from_secs(1)), |_| {})
        .await
        .unwrap_or_else(|error| panic!("run: {error}"));
    assert_eq!(summary.stopped, StopReason::Idle);
    assert_eq!(summary.batches, 0);
    assert!(started.elapsed() < Duration::from_secs(5));
}
