//! Delivering a queue's messages to a function as Lambda's SQS event source does, and reading queues.

use super::*;

/// Moves what the rules put on `ingest` onto `fifo` as the registry-relay does: the body unchanged, in
/// its object's message group ([`govsync_core::relay::relay_group`]).
pub async fn relay_ingest(sqs: &aws_sdk_sqs::Client, stack: &Stack, ingest: &str, fifo: &str) {
    let (ingest, fifo) = (stack.queue_url(ingest), stack.queue_url(fifo));
    loop {
        let received = sqs
            .receive_message()
            .queue_url(&ingest)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .send()
            .await
            .unwrap();
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            return;
        }
        for message in messages {
            let body = message.body().unwrap_or_default();
            let id = message.message_id().unwrap_or_default();
            sqs.send_message()
                .queue_url(&fifo)
                .message_body(body)
                .message_group_id(govsync_core::relay::relay_group(body, id))
                .message_deduplication_id(id)
                .send()
                .await
                .unwrap();
            sqs.delete_message()
                .queue_url(&ingest)
                .receipt_handle(message.receipt_handle().unwrap_or_default())
                .send()
                .await
                .unwrap();
        }
    }
}

/// Receives from registry-events.fifo (relaying its ingest queue first, as the registry-relay would)
/// and hands each batch to the function as Lambda would, deleting what succeeded, until `done` holds
/// or the time is up.
pub async fn deliver_until<F, Fut>(
    stack: &Stack,
    function: &impl SqsFunction,
    sqs: &aws_sdk_sqs::Client,
    mut done: F,
) -> usize
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let queue = stack.queue_url("registry-events.fifo");
    let started = Instant::now();
    let mut handled = 0;
    while started.elapsed() < Duration::from_secs(60) {
        if done().await {
            return handled;
        }
        relay_ingest(sqs, stack, "registry-events-ingest", "registry-events.fifo").await;
        let received = sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .visibility_timeout(30)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            continue;
        }
        let payload = sqs_event(&messages, &stack.region, None);
        let failed = invoke(function, payload).await;
        for message in &messages {
            let id = message.message_id().unwrap_or_default().to_owned();
            if failed.contains(&id) {
                sqs.change_message_visibility()
                    .queue_url(&queue)
                    .receipt_handle(message.receipt_handle().unwrap_or_default())
                    .visibility_timeout(0)
                    .send()
                    .await
                    .unwrap();
            } else {
                sqs.delete_message()
                    .queue_url(&queue)
                    .receipt_handle(message.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .unwrap();
                handled += 1;
            }
        }
    }
    panic!("the expected state did not appear within 60 s ({handled} messages handled)");
}

/// The Lambda SQS event for received messages (system attributes kept, as the event source does).
pub fn sqs_event(
    messages: &[aws_sdk_sqs::types::Message],
    region: &str,
    queue_arn: Option<&str>,
) -> SqsEvent {
    let records: Vec<Value> = messages
        .iter()
        .map(|message| {
            let attributes: HashMap<String, String> = message
                .attributes()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
                        .collect()
                })
                .unwrap_or_default();
            let mut record = json!({
                "messageId": message.message_id(),
                "receiptHandle": message.receipt_handle(),
                "body": message.body(),
                "attributes": attributes,
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "awsRegion": region,
            });
            if let Some(arn) = queue_arn {
                record["eventSourceARN"] = json!(arn);
            }
            record
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

/// Invokes the function with one batch (60 s deadline); returns the ids it reported as failed.
pub async fn invoke(function: &impl SqsFunction, payload: SqsEvent) -> Vec<String> {
    let mut context = Context::default();
    context.deadline = u64::try_from(chrono::Utc::now().timestamp_millis() + 60_000).unwrap();
    let response = function
        .handle(LambdaEvent::new(payload, context))
        .await
        .unwrap();
    response
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect()
}

/// One FIFO queue in moto.
#[derive(Debug, Clone)]
pub struct Queue {
    pub url: String,
    pub arn: String,
}

/// A message read from a queue (received and deleted).
#[derive(Debug, Clone)]
pub struct Received {
    pub message_id: String,
    pub body: String,
    pub attributes: HashMap<String, String>,
}

impl Received {
    pub fn envelope(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// What a delivery run did.
#[derive(Debug, Clone, Default)]
pub struct Delivery {
    pub batches: usize,
    /// Messages handled and deleted.
    pub deleted: usize,
    /// Batch item failures the function reported (each returned to the queue).
    pub reported_failures: usize,
    /// The highest `ApproximateReceiveCount` seen: above 1 means redeliveries happened.
    pub max_receive_count: u32,
    pub elapsed: Duration,
    /// Of `elapsed`, the time spent inside `Function::handle`.
    pub in_function: Duration,
}

/// A FIFO queue with `extra` attributes (content-based deduplication on unless given).
pub async fn fifo_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    extra: &[(QueueAttributeName, String)],
) -> Queue {
    let mut attributes = HashMap::from([
        (QueueAttributeName::FifoQueue, "true".to_owned()),
        (
            QueueAttributeName::ContentBasedDeduplication,
            "true".to_owned(),
        ),
    ]);
    for (name, value) in extra {
        attributes.insert(name.clone(), value.clone());
    }
    let url = sqs
        .create_queue()
        .queue_name(name)
        .set_attributes(Some(attributes))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .unwrap();
    Queue { url, arn }
}

/// Receives and deletes everything visible in a queue now, in order.
pub async fn drain(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<Received> {
    let mut out = Vec::new();
    loop {
        let received = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .visibility_timeout(30)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .unwrap();
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            return out;
        }
        for message in messages {
            let mut attributes: HashMap<String, String> = message
                .attributes()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
                        .collect()
                })
                .unwrap_or_default();
            if let Some(custom) = message.message_attributes() {
                for (name, value) in custom {
                    if let Some(text) = value.string_value() {
                        attributes.insert(name.clone(), text.to_owned());
                    }
                }
            }
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(message.receipt_handle().unwrap_or_default())
                .send()
                .await
                .unwrap();
            out.push(Received {
                message_id: message.message_id().unwrap_or_default().to_owned(),
                body: message.body().unwrap_or_default().to_owned(),
                attributes,
            });
        }
    }
}
