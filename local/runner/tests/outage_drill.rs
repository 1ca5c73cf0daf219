//! Issue 14's outage drill, on the local stack in scaled time: the governance emulator answers 503 for
//! the equivalent of 6 hours while 1,000 events arrive across 50 objects in both directions (registry
//! events through an ingest queue and the registry-relay, governance events straight onto their FIFO
//! queue). The queue functions are the real batch driver (backoff, group rules, `retries_exhausted`)
//! around a drill step that makes one governance call per event; the queues are moto's, with the
//! wiring's `maxReceiveCount`. After recovery every change is applied, each object's changes in order,
//! nothing is dead-lettered, and the drain time is printed.
//!
//! Scale: one hour is 15 s (backoff base 1 s, cap 15 s = govsync's 60 s and 1 h), so the outage lasts
//! 90 s. The drill's own queues and fault scope have unique names: the stack's queues are untouched.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::types::QueueAttributeName;
use chrono::{DateTime, Utc};
use govsync_adapters::queue::SqsMessageQueue;
use govsync_adapters::sqs::SqsQuarantine;
use govsync_core::batch_report::{BatchReport, MessageFailure};
use govsync_lambda::sqs_batch::{QueueFunction, REDRIVE_MAX_RECEIVE_COUNT, handle_event};
use govsync_local_runner::lambda_invoke::HandlerFuture;
use govsync_local_runner::{FunctionIdentity, PollSettings, SqsEventSource};
use govsync_registry_relay::{Relay, Route};
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};
use support::Done;

/// One hour of govsync's backoff, scaled.
const HOUR: Duration = Duration::from_secs(15);
const OUTAGE: Duration = Duration::from_secs(6 * 15);
const GROUPS_PER_DIRECTION: usize = 25;
const EVENTS_PER_GROUP: u32 = 20;
/// Concurrent batches per FIFO queue (Lambda's MaximumConcurrency is 5; fewer keep moto, one Python
/// process, responsive on a loaded machine). They take turns to receive (`sharing_receives`).
const CONSUMERS: usize = 2;
const DRAIN_BUDGET: Duration = Duration::from_secs(300);

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: start the local stack and source its stack.env, or run local/test.sh")
    })
}

async fn sqs() -> aws_sdk_sqs::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(env("GOVSYNC_MOTO_URL"))
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "testing", "testing", None, None, "drill",
        ))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
    aws_sdk_sqs::Client::new(&config)
}

async fn queue_arn(client: &aws_sdk_sqs::Client, url: &str) -> String {
    client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue ARN")
        .attributes
        .and_then(|mut attributes| attributes.remove(&QueueAttributeName::QueueArn))
        .unwrap_or_default()
}

/// A queue with a DLQ (its redrive backstop) as wiring.json declares them; returns (url, dlq url).
async fn queue_pair(
    client: &aws_sdk_sqs::Client,
    name: &str,
    fifo: bool,
    visibility: u64,
) -> (String, String) {
    let suffix = if fifo { ".fifo" } else { "" };
    let mut dlq = client
        .create_queue()
        .queue_name(format!("{name}-dlq{suffix}"));
    if fifo {
        dlq = dlq.attributes(QueueAttributeName::FifoQueue, "true");
    }
    let dlq_url = dlq
        .send()
        .await
        .expect("create DLQ")
        .queue_url
        .unwrap_or_default();
    let redrive = json!({
        "deadLetterTargetArn": queue_arn(client, &dlq_url).await,
        "maxReceiveCount": REDRIVE_MAX_RECEIVE_COUNT,
    });
    let mut queue = client
        .create_queue()
        .queue_name(format!("{name}{suffix}"))
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            visibility.to_string(),
        )
        .attributes(QueueAttributeName::MessageRetentionPeriod, "1209600")
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string());
    if fifo {
        queue = queue
            .attributes(QueueAttributeName::FifoQueue, "true")
            .attributes(QueueAttributeName::ContentBasedDeduplication, "true");
    }
    let url = queue
        .send()
        .await
        .expect("create queue")
        .queue_url
        .unwrap_or_default();
    (url, dlq_url)
}

async fn depth(client: &aws_sdk_sqs::Client, url: &str) -> usize {
    let attributes = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .expect("queue depth")
        .attributes
        .unwrap_or_default();
    [
        QueueAttributeName::ApproximateNumberOfMessages,
        QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
    ]
    .iter()
    .filter_map(|name| attributes.get(name)?.parse::<usize>().ok())
    .sum()
}

// ------------------------------------------------------------------------------------ the drill step

#[derive(Debug, thiserror::Error)]
enum StepError {
    #[error("governance answered {0}")]
    Unavailable(u16),
    #[error("governance unreachable: {0}")]
    Transport(String),
    #[error("not a drill message: {0}")]
    Undecodable(String),
}

impl MessageFailure for StepError {
    fn is_retryable(&self) -> bool {
        !matches!(self, StepError::Undecodable(_))
    }
    fn code(&self) -> &'static str {
        match self {
            StepError::Unavailable(_) => "governance_unavailable",
            StepError::Transport(_) => "transport",
            StepError::Undecodable(_) => "undecodable",
        }
    }
}

/// One object's change: its object and its sequence number.
struct Change {
    object: String,
    seq: u32,
}

/// Makes one governance call per change (the emulator's fault switch decides its answer) and records
/// what was applied, in order.
struct DrillStep {
    quarantine: SqsQuarantine,
    http: reqwest::Client,
    governance_url: String,
    applied: Arc<Mutex<HashMap<String, Vec<u32>>>>,
}

impl QueueFunction for DrillStep {
    type Message = Change;
    type Error = StepError;
    type Outcome = Done;
    type Quarantine = SqsQuarantine;

    fn decode(&self, record: &SqsMessage) -> Result<Change, StepError> {
        let body: Value = serde_json::from_str(record.body.as_deref().unwrap_or_default())
            .map_err(|error| StepError::Undecodable(error.to_string()))?;
        // A registry event names its package group; a governance event its object.
        let (object, seq) = match body.get("detail") {
            Some(detail) => (
                detail["ModelPackageGroupName"].as_str(),
                detail["ModelPackageVersion"].as_u64(),
            ),
            None => (body["object"].as_str(), body["seq"].as_u64()),
        };
        match (object, seq.and_then(|seq| u32::try_from(seq).ok())) {
            (Some(object), Some(seq)) => Ok(Change {
                object: object.to_owned(),
                seq,
            }),
            _ => Err(StepError::Undecodable(body.to_string())),
        }
    }

    fn order_key(&self, change: &Change) -> Option<String> {
        Some(change.object.clone())
    }

    async fn process(&self, change: &Change, _: DateTime<Utc>) -> Result<Done, StepError> {
        let status = self
            .http
            .get(format!(
                "{}/contents/{}",
                self.governance_url, change.object
            ))
            .send()
            .await
            .map_err(|error| StepError::Transport(error.to_string()))?
            .status()
            .as_u16();
        if status == 503 {
            return Err(StepError::Unavailable(status));
        }
        self.applied
            .lock()
            .unwrap()
            .entry(change.object.clone())
            .or_default()
            .push(change.seq);
        Ok(Done::Applied)
    }

    fn quarantine_port(&self) -> &SqsQuarantine {
        &self.quarantine
    }

    fn source_time(&self, _: &Change) -> Option<DateTime<Utc>> {
        None
    }

    fn function_name(&self) -> &'static str {
        "outage-drill"
    }

    fn metrics(&self, report: &BatchReport<Done>) -> Vec<govsync_core::emf::Metric> {
        report.shared_metrics()
    }
}

fn registry_event(group: &str, version: u32) -> String {
    json!({
        "version": "0", "id": format!("drill-{group}-{version}"),
        "detail-type": "SageMaker Model Package State Change", "source": "aws.sagemaker",
        "account": "123456789012", "time": "2026-01-01T00:00:00Z", "region": "us-east-1",
        "resources": [],
        "detail": {
            "ModelPackageGroupName": group, "ModelPackageVersion": version,
            "ModelPackageArn": format!("arn:aws:sagemaker:us-east-1:123456789012:model-package/{group}/{version}"),
            "ModelPackageStatus": "Completed", "ModelApprovalStatus": "PendingManualApproval",
            "CreationTime": 1767225600000_i64, "LastModifiedTime": 1767225600000_i64
        }
    })
    .to_string()
}

/// Polls `queue` with `handler` until `stop` (one poller is one concurrent Lambda invocation).
async fn poll<H>(
    client: aws_sdk_sqs::Client,
    queue: String,
    name: &str,
    handler: H,
    stop: tokio::sync::watch::Receiver<bool>,
    receives: Arc<tokio::sync::Mutex<()>>,
) -> tokio::task::JoinHandle<()>
where
    H: Fn(LambdaEvent<SqsEvent>) -> HandlerFuture + Send + Sync + 'static,
{
    let mut source = SqsEventSource::connect(
        client,
        &queue,
        "us-east-1",
        FunctionIdentity::new(name, "123456789012", "us-east-1", Duration::from_secs(60)),
        PollSettings {
            batch_size: 10,
            wait: Duration::from_secs(1),
        },
    )
    .await
    .expect("event source")
    .sharing_receives(receives);
    tokio::spawn(async move {
        source
            .run(&handler, stop, None, |_| {})
            .await
            .expect("poller");
    })
}

async fn fault(http: &reqwest::Client, admin: &str, scope: &str) {
    let response = http
        .post(format!("{admin}/faults"))
        .json(&json!({"status": 503, "count": 100_000, "path_prefix": scope}))
        .send()
        .await
        .expect("fault switch");
    assert_eq!(
        response.status().as_u16(),
        201,
        "the emulator took the fault"
    );
}

async fn clear_faults(http: &reqwest::Client, admin: &str) {
    let response = http
        .delete(format!("{admin}/faults"))
        .send()
        .await
        .expect("fault switch");
    assert!(response.status().is_success());
}

#[test]
#[ignore = "needs the local stack (local/test.sh runs it): minutes of scaled outage"]
fn a_six_hour_governance_outage_applies_every_change_in_order_and_dead_letters_nothing() {
    // SAFETY: set before the runtime and any other thread starts; the driver reads them per batch.
    unsafe {
        std::env::set_var("GOVSYNC_RETRY_BASE_SECONDS", "1");
        std::env::set_var("GOVSYNC_RETRY_CAP_SECONDS", HOUR.as_secs().to_string());
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(drill());
}

async fn drill() {
    let client = sqs().await;
    let http = reqwest::Client::builder().no_proxy().build().expect("http");
    let governance = env("GOVSYNC_GOVERNANCE_URL");
    let prefix = std::env::var("GOVSYNC_GOVERNANCE_API_PREFIX")
        .ok()
        .filter(|prefix| !prefix.is_empty())
        .unwrap_or_else(|| "/opgrc/api/v2".to_owned());
    let admin = format!("{governance}/_emulator");
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let name = format!("drill{run}");

    let (ingest_url, ingest_dlq) = queue_pair(&client, &format!("{name}-ingest"), false, 6).await;
    let (registry_url, registry_dlq) =
        queue_pair(&client, &format!("{name}-registry"), true, 36).await;
    let (governance_url, governance_dlq) =
        queue_pair(&client, &format!("{name}-governance"), true, 36).await;
    let (quarantine_registry, quarantine_governance) =
        (registry_dlq.clone(), governance_dlq.clone());

    let applied: Arc<Mutex<HashMap<String, Vec<u32>>>> = Arc::default();
    let step = |dlq: &str| {
        Arc::new(DrillStep {
            quarantine: SqsQuarantine::new(client.clone(), dlq),
            http: http.clone(),
            governance_url: format!("{governance}{prefix}"),
            applied: applied.clone(),
        })
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut pollers = Vec::new();
    for (queue, dlq, label) in [
        (&registry_url, &quarantine_registry, "drill-registry-events"),
        (
            &governance_url,
            &quarantine_governance,
            "drill-approval-propagation",
        ),
    ] {
        let function = step(dlq);
        let receives = Arc::new(tokio::sync::Mutex::new(()));
        for _ in 0..CONSUMERS {
            let function = function.clone();
            let handler = move |event: LambdaEvent<SqsEvent>| -> HandlerFuture {
                let function = function.clone();
                Box::pin(async move {
                    handle_event(&*function, event, None)
                        .await
                        .map_err(Into::into)
                })
            };
            pollers.push(
                poll(
                    client.clone(),
                    queue.clone(),
                    label,
                    handler,
                    stop_rx.clone(),
                    receives.clone(),
                )
                .await,
            );
        }
    }
    let ingest_name = format!("{name}-ingest");
    let relay = Arc::new(Relay::new(vec![Route {
        ingest_queue: ingest_name.clone(),
        fifo: SqsMessageQueue::new(client.clone(), registry_url.clone()),
        dead_letters: SqsQuarantine::new(client.clone(), ingest_dlq.clone()),
    }]));
    let relay_handler = move |event: LambdaEvent<SqsEvent>| -> HandlerFuture {
        let relay = relay.clone();
        Box::pin(async move { relay.handle(event).await.map_err(Into::into) })
    };
    pollers.push(
        poll(
            client.clone(),
            ingest_url.clone(),
            "drill-relay",
            relay_handler,
            stop_rx.clone(),
            Arc::default(),
        )
        .await,
    );

    // The outage starts; the events arrive during its first third, interleaved across objects.
    let scope = format!("/contents/{name}");
    fault(&http, &admin, &scope).await;
    let outage_started = Instant::now();
    let objects: Vec<(bool, String)> = (0..GROUPS_PER_DIRECTION)
        .flat_map(|index| {
            [
                (true, format!("{name}-group-{index:02}")),
                (false, format!("{name}-object-{index:02}")),
            ]
        })
        .collect();
    let spacing = OUTAGE / 3 / EVENTS_PER_GROUP;
    for seq in 1..=EVENTS_PER_GROUP {
        let (registry, governance): (Vec<_>, Vec<_>) =
            objects.iter().partition(|(registry, _)| *registry);
        for chunk in registry.chunks(10) {
            let mut batch = client.send_message_batch().queue_url(&ingest_url);
            for (index, (_, object)) in chunk.iter().enumerate() {
                batch = batch.entries(
                    aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                        .id(index.to_string())
                        .message_body(registry_event(object, seq))
                        .build()
                        .expect("entry"),
                );
            }
            batch.send().await.expect("registry events arrive");
        }
        for chunk in governance.chunks(10) {
            let mut batch = client.send_message_batch().queue_url(&governance_url);
            for (index, (_, object)) in chunk.iter().enumerate() {
                batch = batch.entries(
                    aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                        .id(index.to_string())
                        .message_body(json!({"object": object, "seq": seq}).to_string())
                        .message_group_id(object)
                        .build()
                        .expect("entry"),
                );
            }
            batch.send().await.expect("governance events arrive");
        }
        tokio::time::sleep(spacing).await;
    }
    let total = objects.len() * EVENTS_PER_GROUP as usize;
    assert_eq!(total, 1_000);
    let during: usize = applied.lock().unwrap().values().map(Vec::len).sum();
    assert_eq!(during, 0, "nothing is applied while governance answers 503");
    tokio::time::sleep(OUTAGE.saturating_sub(outage_started.elapsed())).await;

    // Recovery.
    clear_faults(&http, &admin).await;
    let recovered = Instant::now();
    let mut last_change = recovered;
    let mut seen = 0;
    let mut last_report = Instant::now();
    loop {
        let done: usize = {
            let applied = applied.lock().unwrap();
            applied
                .values()
                .map(|seqs| seqs.iter().collect::<std::collections::BTreeSet<_>>().len())
                .sum()
        };
        if done != seen {
            seen = done;
            last_change = Instant::now();
        }
        if done == total || recovered.elapsed() > DRAIN_BUDGET {
            break;
        }
        if last_report.elapsed() > Duration::from_secs(10) {
            last_report = Instant::now();
            eprintln!(
                "outage drill: {done}/{total} applied {:.0} s after recovery; queued: ingest {}, registry {}, governance {}",
                recovered.elapsed().as_secs_f64(),
                depth(&client, &ingest_url).await,
                depth(&client, &registry_url).await,
                depth(&client, &governance_url).await,
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let drain = last_change.duration_since(recovered);
    let _ = stop_tx.send(true);
    for poller in pollers {
        let _ = poller.await;
    }

    let dead: Vec<(String, usize)> = {
        let mut dead = Vec::new();
        for url in [&ingest_dlq, &registry_dlq, &governance_dlq] {
            dead.push((url.clone(), depth(&client, url).await));
        }
        dead
    };
    for url in [
        &ingest_url,
        &ingest_dlq,
        &registry_url,
        &registry_dlq,
        &governance_url,
        &governance_dlq,
    ] {
        let _ = client.delete_queue().queue_url(url).send().await;
    }
    let applied = applied.lock().unwrap().clone();
    println!(
        "outage drill: {total} events over {} objects, outage {:?} (6 h scaled), drained {seen}/{total} in {:.1} s after recovery (≈ {:.1} h of govsync time); dead-lettered {:?}",
        objects.len(),
        OUTAGE,
        drain.as_secs_f64(),
        drain.as_secs_f64() / HOUR.as_secs_f64(),
        dead.iter().map(|(_, count)| count).collect::<Vec<_>>()
    );
    assert_eq!(seen, total, "every change is applied after recovery");
    for (_, object) in &objects {
        let seqs = applied.get(object).cloned().unwrap_or_default();
        let mut distinct = seqs.clone();
        distinct.dedup();
        assert_eq!(
            distinct,
            (1..=EVENTS_PER_GROUP).collect::<Vec<_>>(),
            "{object}: changes applied in order ({seqs:?})"
        );
    }
    assert!(
        dead.iter().all(|(_, count)| *count == 0),
        "nothing healthy is dead-lettered: {dead:?}"
    );
}
