//! Throughput of a FIFO queue function by message grouping (issue 14), run by hand:
//! `cargo test -p govsync-local-runner --bench fifo_group_throughput` (with a started stack's
//! `stack.env` sourced for the moto figures).
//!
//! Events through a registry-events-like queue, the real batch driver, each event one faked governance
//! call of 100 ms. *Before*: every event in the one message group `registry-events` (the old rule
//! targets); *after*: one message group per object (the relay's). First in memory (SQS FIFO's group
//! rule only) at several concurrencies, then on moto with `GOVSYNC_BENCH_CONCURRENCY` concurrent
//! batches (default 5, the templates' `MaximumConcurrency`), with 1 object and with 50. Prints events/s
//! and checks each object's order.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::types::QueueAttributeName;
use chrono::{DateTime, Utc};
use govsync_adapters::sqs::SqsQuarantine;
use govsync_core::batch_report::MessageFailure;
use govsync_lambda::sqs_batch::{QueueFunction, handle_event};
use govsync_local_runner::lambda_invoke::HandlerFuture;
use govsync_local_runner::{FunctionIdentity, PollSettings, SqsEventSource};
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};
use support::Done;

const GOVERNANCE_CALL: Duration = Duration::from_millis(100);

#[derive(Debug, thiserror::Error)]
#[error("not a bench message")]
struct Undecodable;

impl MessageFailure for Undecodable {
    fn is_retryable(&self) -> bool {
        false
    }
    fn code(&self) -> &'static str {
        "undecodable"
    }
}

struct Step {
    quarantine: SqsQuarantine,
    applied: Arc<Mutex<HashMap<String, Vec<u32>>>>,
}

impl QueueFunction for Step {
    type Message = (String, u32);
    type Error = Undecodable;
    type Outcome = Done;
    type Quarantine = SqsQuarantine;

    fn decode(&self, record: &SqsMessage) -> Result<(String, u32), Undecodable> {
        let body: Value = serde_json::from_str(record.body.as_deref().unwrap_or_default())
            .map_err(|_| Undecodable)?;
        let object = body["object"].as_str().ok_or(Undecodable)?.to_owned();
        let seq = body["seq"]
            .as_u64()
            .and_then(|seq| u32::try_from(seq).ok())
            .ok_or(Undecodable)?;
        Ok((object, seq))
    }
    fn order_key(&self, message: &(String, u32)) -> Option<String> {
        Some(message.0.clone())
    }
    async fn process(
        &self,
        message: &(String, u32),
        _: DateTime<Utc>,
    ) -> Result<Done, Undecodable> {
        tokio::time::sleep(GOVERNANCE_CALL).await;
        self.applied
            .lock()
            .unwrap()
            .entry(message.0.clone())
            .or_default()
            .push(message.1);
        Ok(Done::Applied)
    }
    fn quarantine_port(&self) -> &SqsQuarantine {
        &self.quarantine
    }
    fn source_time(&self, _: &(String, u32)) -> Option<DateTime<Utc>> {
        None
    }
    fn function_name(&self) -> &'static str {
        "bench"
    }
}

async fn sqs(endpoint: &str) -> aws_sdk_sqs::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "testing", "testing", None, None, "bench",
        ))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
    aws_sdk_sqs::Client::new(&config)
}

async fn fifo(client: &aws_sdk_sqs::Client, name: &str) -> String {
    client
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(QueueAttributeName::ContentBasedDeduplication, "true")
        .attributes(QueueAttributeName::VisibilityTimeout, "360")
        .send()
        .await
        .expect("create queue")
        .queue_url
        .unwrap_or_default()
}

/// Events per second for `events` events over `objects` objects.
async fn measure(
    client: &aws_sdk_sqs::Client,
    per_object_groups: bool,
    objects: usize,
    events: usize,
    concurrency: usize,
) -> f64 {
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let queue = fifo(client, &format!("bench{run}.fifo")).await;
    let dlq = fifo(client, &format!("bench{run}-dlq.fifo")).await;
    let per_object = events / objects;
    for seq in 1..=per_object {
        let entries: Vec<(String, String)> = (0..objects)
            .map(|index| {
                let object = format!("object-{index:02}");
                let group = if per_object_groups {
                    object.clone()
                } else {
                    "registry-events".to_owned()
                };
                (group, json!({"object": object, "seq": seq}).to_string())
            })
            .collect();
        for chunk in entries.chunks(10) {
            let mut batch = client.send_message_batch().queue_url(&queue);
            for (index, (group, body)) in chunk.iter().enumerate() {
                batch = batch.entries(
                    aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                        .id(index.to_string())
                        .message_body(body)
                        .message_group_id(group)
                        .build()
                        .expect("entry"),
                );
            }
            batch.send().await.expect("send");
        }
    }
    let applied: Arc<Mutex<HashMap<String, Vec<u32>>>> = Arc::default();
    let step = Arc::new(Step {
        quarantine: SqsQuarantine::new(client.clone(), dlq),
        applied: applied.clone(),
    });
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let receives = Arc::new(tokio::sync::Mutex::new(()));
    let mut pollers = Vec::new();
    for _ in 0..concurrency {
        let step = step.clone();
        let handler = move |event: LambdaEvent<SqsEvent>| -> HandlerFuture {
            let step = step.clone();
            Box::pin(async move { handle_event(&*step, event, None).await.map_err(Into::into) })
        };
        let mut source = SqsEventSource::connect(
            client.clone(),
            &queue,
            "us-east-1",
            FunctionIdentity::new(
                "bench",
                "123456789012",
                "us-east-1",
                Duration::from_secs(60),
            ),
            PollSettings {
                batch_size: 10,
                wait: Duration::from_secs(1),
            },
        )
        .await
        .expect("event source")
        .sharing_receives(receives.clone());
        let stop = stop_rx.clone();
        pollers.push(tokio::spawn(async move {
            source
                .run(&handler, stop, None, |_| {})
                .await
                .expect("poller");
        }));
    }
    let total = per_object * objects;
    loop {
        let done: usize = applied.lock().unwrap().values().map(Vec::len).sum();
        if done >= total {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    let _ = stop_tx.send(true);
    for poller in pollers {
        let _ = poller.await;
    }
    for (object, seqs) in applied.lock().unwrap().iter() {
        assert_eq!(
            seqs,
            &(1..=per_object as u32).collect::<Vec<_>>(),
            "{object} in order"
        );
    }
    total as f64 / elapsed.as_secs_f64()
}

/// SQS FIFO as Lambda's event source mapping sees it, in memory: a batch takes up to 10 messages in
/// queue order from groups with nothing in flight (a group's messages in order), and its groups stay
/// blocked until the batch returns. No network, so what remains is the design's own bound: how many
/// batches can be in flight at once.
#[derive(Default)]
struct InMemoryFifo {
    messages: std::collections::VecDeque<SqsMessage>,
    in_flight: std::collections::HashSet<String>,
}

impl InMemoryFifo {
    fn group(message: &SqsMessage) -> String {
        message
            .attributes
            .get("MessageGroupId")
            .cloned()
            .unwrap_or_default()
    }

    fn take_batch(&mut self) -> Vec<SqsMessage> {
        let mut batch = Vec::new();
        let mut taken_groups = std::collections::HashSet::new();
        let mut index = 0;
        while index < self.messages.len() && batch.len() < 10 {
            let group = Self::group(&self.messages[index]);
            if self.in_flight.contains(&group) && !taken_groups.contains(&group) {
                index += 1;
                continue;
            }
            taken_groups.insert(group.clone());
            self.in_flight.insert(group);
            batch.extend(self.messages.remove(index));
        }
        batch
    }
}

/// Events per second through the in-memory FIFO with the real batch driver and the faked governance call.
async fn measure_in_memory(
    step: Arc<Step>,
    per_object_groups: bool,
    objects: usize,
    events: usize,
    concurrency: usize,
) -> f64 {
    step.applied.lock().unwrap().clear();
    let per_object = events / objects;
    let mut fifo = InMemoryFifo::default();
    for seq in 1..=per_object {
        for index in 0..objects {
            let object = format!("object-{index:02}");
            let mut record = SqsMessage::default();
            record.message_id = Some(format!("{object}-{seq}"));
            record.body = Some(json!({"object": object, "seq": seq}).to_string());
            let group = if per_object_groups {
                object
            } else {
                "registry-events".to_owned()
            };
            record.attributes.insert("MessageGroupId".into(), group);
            fifo.messages.push_back(record);
        }
    }
    let fifo = Arc::new(Mutex::new(fifo));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let fifo = fifo.clone();
            let step = step.clone();
            tokio::spawn(async move {
                loop {
                    let batch = fifo.lock().unwrap().take_batch();
                    if batch.is_empty() {
                        if fifo.lock().unwrap().messages.is_empty() {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        continue;
                    }
                    let deadline = Utc::now() + chrono::Duration::seconds(60);
                    govsync_lambda::sqs_batch::run_batch(&*step, &batch, deadline).await;
                    let mut fifo = fifo.lock().unwrap();
                    for record in &batch {
                        fifo.in_flight.remove(&InMemoryFifo::group(record));
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("worker");
    }
    let elapsed = started.elapsed();
    for (object, seqs) in step.applied.lock().unwrap().iter() {
        assert_eq!(
            seqs,
            &(1..=per_object as u32).collect::<Vec<_>>(),
            "{object} in order"
        );
    }
    (per_object * objects) as f64 / elapsed.as_secs_f64()
}

/// The in-memory figures, at the templates' concurrency and at a few others.
async fn in_memory_figures(events: usize) {
    // Never called: no message fails here.
    let client = aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::Config::builder()
            .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
            .region(aws_sdk_sqs::config::Region::new("us-east-1"))
            .build(),
    );
    let step = Arc::new(Step {
        quarantine: SqsQuarantine::new(client, "http://127.0.0.1:9/unused-dlq.fifo"),
        applied: Arc::default(),
    });
    println!(
        "in memory (the driver and SQS FIFO's group rule only), {events} events over 50 objects, 100 ms per event:"
    );
    for concurrency in [1, 5, 10, 20] {
        let before = measure_in_memory(step.clone(), false, 50, events, concurrency).await;
        let after = measure_in_memory(step.clone(), true, 50, events, concurrency).await;
        println!(
            "  {concurrency:>2} concurrent batches: before {before:7.1} events/s, after {after:7.1} events/s, {:.1}×",
            after / before
        );
    }
}

fn main() {
    let events: usize = std::env::var("GOVSYNC_BENCH_EVENTS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(500);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(in_memory_figures(events));
    let Ok(endpoint) = std::env::var("GOVSYNC_MOTO_URL") else {
        eprintln!(
            "fifo_group_throughput: GOVSYNC_MOTO_URL is not set (start the local stack and source its stack.env); the moto figures are skipped"
        );
        return;
    };
    let concurrency: usize = std::env::var("GOVSYNC_BENCH_CONCURRENCY")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(5);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async {
            let client = sqs(&endpoint).await;
            println!("events through a FIFO queue, each one governance call faked at 100 ms, {concurrency} concurrent batches:");
            let mut figures = HashMap::new();
            for (label, per_object) in [("before (one group for all)", false), ("after (a group per object)", true)] {
                for objects in [1, 50] {
                    let rate = measure(&client, per_object, objects, events, concurrency).await;
                    figures.insert((per_object, objects), rate);
                    println!("  {label:28} {objects:>2} object(s): {rate:7.1} events/s (order kept)");
                }
            }
            println!(
                "  50 objects, after ÷ before: {:.1}×",
                figures[&(true, 50)] / figures[&(false, 50)]
            );
        });
}
