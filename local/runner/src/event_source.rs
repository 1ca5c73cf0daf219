//! An SQS event source mapping, in-process: poll a queue, invoke the handler with the batch, delete what
//! succeeded. The rules are Lambda's:
//! - ReceiveMessage with every system and message attribute, up to 10 messages, long polling, the queue's
//!   own visibility timeout (Lambda passes none);
//! - the handler's `batchItemFailures` name the messages to keep; all others are deleted;
//! - a handler error, a panic, a timeout, or a `batchItemFailures` entry that names no message of the batch
//!   fails the whole batch: nothing is deleted;
//! - failed messages come back when their visibility timeout ends, and the queue's redrive policy moves them
//!   to the DLQ after `maxReceiveCount` receives (moto 5.2.5 does this on the receive that would exceed the
//!   count, as SQS does). The runner changes no visibility except to undo a moto reordering that SQS FIFO
//!   does not have (see `fifo_redelivery`).

use std::collections::HashSet;
use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName, QueueAttributeName,
};
use lambda_runtime::LambdaEvent;
use tokio::sync::watch;

use crate::error::RunnerError;
use crate::fifo_redelivery;
use crate::lambda_shape::{self, FunctionIdentity, QueueIdentity};

/// Lambda's maximum batch for SQS FIFO queues.
pub const MAX_BATCH_SIZE: i32 = 10;

/// How the mapping polls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollSettings {
    /// Messages per batch, 1–10.
    pub batch_size: i32,
    /// Long-poll wait of each ReceiveMessage (0–20 s). Lambda uses 20 s; shorter stops sooner.
    pub wait: Duration,
}

impl Default for PollSettings {
    fn default() -> Self {
        PollSettings {
            batch_size: MAX_BATCH_SIZE,
            wait: Duration::from_secs(1),
        }
    }
}

/// What became of one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvocationOutcome {
    /// The handler answered; these message ids were reported as failed.
    Completed { reported_failures: Vec<String> },
    /// The handler returned an error (or panicked): the whole batch stays in the queue.
    FunctionError(String),
    /// The handler ran past the function timeout: the whole batch stays in the queue.
    TimedOut(Duration),
    /// `batchItemFailures` named an id that is not in the batch (or an empty one): Lambda fails the batch.
    InvalidResponse(String),
}

/// One batch: what was delivered, what the handler said, what was deleted and what was left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchReport {
    pub request_id: String,
    /// Message ids in the order the handler received them.
    pub delivered: Vec<String>,
    pub outcome: InvocationOutcome,
    pub deleted: Vec<String>,
    /// Left to reappear after the visibility timeout.
    pub left: Vec<String>,
    pub elapsed: Duration,
}

/// Why `run` returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    Requested,
    Idle,
}

/// Totals over a `run`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    pub batches: usize,
    pub delivered: usize,
    pub deleted: usize,
    pub left: usize,
    pub stopped: StopReason,
}

/// One queue wired to one function.
pub struct SqsEventSource {
    client: aws_sdk_sqs::Client,
    queue: QueueIdentity,
    function: FunctionIdentity,
    settings: PollSettings,
    receive_lock: Option<std::sync::Arc<tokio::sync::Mutex<()>>>,
}

impl SqsEventSource {
    /// Resolves `queue` (a name or a URL) and its ARN.
    pub async fn connect(
        client: aws_sdk_sqs::Client,
        queue: &str,
        region: &str,
        function: FunctionIdentity,
        settings: PollSettings,
    ) -> Result<Self, RunnerError> {
        if !(1..=MAX_BATCH_SIZE).contains(&settings.batch_size) {
            return Err(RunnerError::Setting {
                name: "batch size".into(),
                problem: format!("{} is not within 1–10", settings.batch_size),
            });
        }
        if settings.wait > Duration::from_secs(20) {
            return Err(RunnerError::Setting {
                name: "poll wait".into(),
                problem: "SQS long polling waits at most 20 s".into(),
            });
        }
        let queue = resolve_queue(&client, queue, region).await?;
        Ok(SqsEventSource {
            client,
            queue,
            function,
            settings,
            receive_lock: None,
        })
    }

    /// Several sources on one queue (Lambda's concurrent pollers) take turns to receive: SQS hands out
    /// a FIFO group's messages atomically, moto's threads can split one group over two concurrent
    /// receives, which SQS never does.
    pub fn sharing_receives(mut self, lock: std::sync::Arc<tokio::sync::Mutex<()>>) -> Self {
        self.receive_lock = Some(lock);
        self
    }

    pub fn queue(&self) -> &QueueIdentity {
        &self.queue
    }

    pub fn function(&self) -> &FunctionIdentity {
        &self.function
    }

    /// One poll: receive, and if anything came, invoke the handler once and settle the batch.
    /// `Ok(None)` when the queue had nothing to deliver.
    pub async fn poll_once<H, Fut>(
        &mut self,
        handler: &H,
    ) -> Result<Option<BatchReport>, RunnerError>
    where
        H: Fn(LambdaEvent<SqsEvent>) -> Fut,
        Fut: Future<Output = Result<SqsBatchResponse, lambda_runtime::Error>> + Send + 'static,
    {
        let messages = self.receive().await?;
        if messages.is_empty() {
            return Ok(None);
        }
        self.invoke_and_settle(messages, handler).await.map(Some)
    }

    /// Polls and invokes until `stop` turns true or, with `idle`, until nothing arrived for that long;
    /// `on_batch` sees each settled batch. A batch in flight always finishes (and is settled) first.
    pub async fn run<H, Fut>(
        &mut self,
        handler: &H,
        mut stop: watch::Receiver<bool>,
        idle: Option<Duration>,
        mut on_batch: impl FnMut(&BatchReport),
    ) -> Result<RunSummary, RunnerError>
    where
        H: Fn(LambdaEvent<SqsEvent>) -> Fut,
        Fut: Future<Output = Result<SqsBatchResponse, lambda_runtime::Error>> + Send + 'static,
    {
        let mut summary = RunSummary {
            batches: 0,
            delivered: 0,
            deleted: 0,
            left: 0,
            stopped: StopReason::Requested,
        };
        let mut last_activity = Instant::now();
        loop {
            if *stop.borrow_and_update() {
                break;
            }
            if let Some(idle) = idle
                && last_activity.elapsed() >= idle
            {
                summary.stopped = StopReason::Idle;
                break;
            }
            match self.poll_once(handler).await {
                Ok(Some(report)) => {
                    last_activity = Instant::now();
                    on_batch(&report);
                    summary.batches += 1;
                    summary.delivered += report.delivered.len();
                    summary.deleted += report.deleted.len();
                    summary.left += report.left.len();
                }
                Ok(None) => {}
                Err(error) if error.is_retryable() => {
                    tracing::warn!(error = %error, "poll failed; trying again");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = stop.changed() => {}
                    }
                }
                Err(error) => return Err(error),
            }
        }
        Ok(summary)
    }

    async fn receive(&self) -> Result<Vec<Message>, RunnerError> {
        let Some(lock) = &self.receive_lock else {
            return self.receive_waiting(self.settings.wait).await;
        };
        // Short polls in turn, the long poll's wait spent outside the turn: a source waiting for
        // messages must not hold back another's receive.
        let started = std::time::Instant::now();
        loop {
            let messages = {
                let _turn = lock.lock().await;
                self.receive_waiting(Duration::ZERO).await?
            };
            if !messages.is_empty() || started.elapsed() >= self.settings.wait {
                return Ok(messages);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn receive_waiting(&self, wait: Duration) -> Result<Vec<Message>, RunnerError> {
        let wait_secs = i32::try_from(wait.as_secs()).unwrap_or(20);
        let answer = self
            .client
            .receive_message()
            .queue_url(&self.queue.url)
            .max_number_of_messages(self.settings.batch_size)
            .wait_time_seconds(wait_secs)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|error| RunnerError::sqs("ReceiveMessage", &self.queue.name, &error))?;
        Ok(answer.messages.unwrap_or_default())
    }

    async fn invoke_and_settle<H, Fut>(
        &mut self,
        messages: Vec<Message>,
        handler: &H,
    ) -> Result<BatchReport, RunnerError>
    where
        H: Fn(LambdaEvent<SqsEvent>) -> Fut,
        Fut: Future<Output = Result<SqsBatchResponse, lambda_runtime::Error>> + Send + 'static,
    {
        let started = Instant::now();
        let request_id = uuid::Uuid::new_v4().to_string();
        let delivered: Vec<String> = messages
            .iter()
            .map(|message| message.message_id().unwrap_or_default().to_owned())
            .collect();
        let event = lambda_shape::sqs_event(&messages, &self.queue)?;
        let context =
            lambda_shape::invocation_context(&self.function, &request_id, SystemTime::now());
        let span = tracing::info_span!(
            "invoke",
            function = %self.function.name,
            request_id = %request_id,
            messages = messages.len()
        );
        let outcome = {
            let _entered = span.enter();
            tracing::info!(message_ids = ?delivered, "invoking");
            invoke(
                handler,
                LambdaEvent::new(event, context),
                self.function.timeout,
            )
            .await
        };
        let outcome = check_reported_ids(outcome, &delivered);

        let keep: HashSet<&str> = match &outcome {
            InvocationOutcome::Completed { reported_failures } => {
                reported_failures.iter().map(String::as_str).collect()
            }
            _ => delivered.iter().map(String::as_str).collect(),
        };
        let (to_delete, to_leave): (Vec<&Message>, Vec<&Message>) = messages
            .iter()
            .partition(|message| !keep.contains(message.message_id().unwrap_or_default()));
        let deleted = self.delete(&to_delete).await?;
        let left: Vec<String> = to_leave
            .iter()
            .map(|message| message.message_id().unwrap_or_default().to_owned())
            .collect();
        self.unblock_later_in_group(&to_leave).await?;

        let report = BatchReport {
            request_id,
            delivered,
            outcome,
            deleted,
            left,
            elapsed: started.elapsed(),
        };
        tracing::info!(
            parent: &span,
            deleted = report.deleted.len(),
            left = report.left.len(),
            outcome = ?report.outcome,
            elapsed_ms = u64::try_from(report.elapsed.as_millis()).unwrap_or(u64::MAX),
            "batch settled"
        );
        Ok(report)
    }

    /// See `fifo_redelivery`: the later left messages of each group become visible now, still blocked
    /// behind the group's first left message.
    async fn unblock_later_in_group(&self, left: &[&Message]) -> Result<(), RunnerError> {
        let behind = fifo_redelivery::behind_earlier_in_group(left.iter().map(|message| {
            (
                message.message_id().unwrap_or_default(),
                lambda_shape::message_group(message),
            )
        }));
        for position in behind {
            let Some(receipt_handle) = left
                .get(position)
                .and_then(|message| message.receipt_handle())
            else {
                continue;
            };
            self.client
                .change_message_visibility()
                .queue_url(&self.queue.url)
                .receipt_handle(receipt_handle)
                .visibility_timeout(0)
                .send()
                .await
                .map_err(|error| {
                    RunnerError::sqs("ChangeMessageVisibility", &self.queue.name, &error)
                })?;
        }
        Ok(())
    }

    async fn delete(&self, messages: &[&Message]) -> Result<Vec<String>, RunnerError> {
        let mut deleted = Vec::new();
        for chunk in messages.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .filter_map(|(index, message)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(index.to_string())
                        .receipt_handle(message.receipt_handle().unwrap_or_default())
                        .build()
                        .ok()
                })
                .collect::<Vec<_>>();
            let answer = self
                .client
                .delete_message_batch()
                .queue_url(&self.queue.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|error| {
                    RunnerError::sqs("DeleteMessageBatch", &self.queue.name, &error)
                })?;
            if let Some(failure) = answer.failed.first() {
                return Err(RunnerError::Sqs {
                    operation: "DeleteMessageBatch",
                    queue: self.queue.name.clone(),
                    message: format!(
                        "entry {} not deleted: {} {}",
                        failure.id,
                        failure.code,
                        failure.message.as_deref().unwrap_or_default()
                    ),
                });
            }
            for entry in answer.successful {
                if let Some(message) = entry.id.parse::<usize>().ok().and_then(|i| chunk.get(i)) {
                    deleted.push(message.message_id().unwrap_or_default().to_owned());
                }
            }
        }
        Ok(deleted)
    }
}

async fn invoke<H, Fut>(
    handler: &H,
    event: LambdaEvent<SqsEvent>,
    timeout: Duration,
) -> InvocationOutcome
where
    H: Fn(LambdaEvent<SqsEvent>) -> Fut,
    Fut: Future<Output = Result<SqsBatchResponse, lambda_runtime::Error>> + Send + 'static,
{
    // A task of its own, so a panic is a failed invocation (as in Lambda) rather than a dead runner.
    let task = tokio::spawn(handler(event));
    let abort = task.abort_handle();
    match tokio::time::timeout(timeout, task).await {
        Ok(Ok(Ok(response))) => InvocationOutcome::Completed {
            reported_failures: response
                .batch_item_failures
                .into_iter()
                .map(|failure| failure.item_identifier)
                .collect(),
        },
        Ok(Ok(Err(error))) => InvocationOutcome::FunctionError(error.to_string()),
        Ok(Err(join_error)) => {
            InvocationOutcome::FunctionError(format!("handler panicked: {join_error}"))
        }
        Err(_) => {
            abort.abort();
            InvocationOutcome::TimedOut(timeout)
        }
    }
}

fn check_reported_ids(outcome: InvocationOutcome, delivered: &[String]) -> InvocationOutcome {
    if let InvocationOutcome::Completed { reported_failures } = &outcome
        && let Some(unknown) = reported_failures
            .iter()
            .find(|id| !delivered.iter().any(|delivered| delivered == *id))
    {
        return InvocationOutcome::InvalidResponse(format!(
            "batchItemFailures names {unknown:?}, which is not a message of this batch"
        ));
    }
    outcome
}

async fn resolve_queue(
    client: &aws_sdk_sqs::Client,
    queue: &str,
    region: &str,
) -> Result<QueueIdentity, RunnerError> {
    let url = if queue.starts_with("http://") || queue.starts_with("https://") {
        queue.to_owned()
    } else {
        client
            .get_queue_url()
            .queue_name(queue)
            .send()
            .await
            .map_err(|error| RunnerError::sqs("GetQueueUrl", queue, &error))?
            .queue_url
            .ok_or_else(|| RunnerError::Queue {
                queue: queue.to_owned(),
                problem: "GetQueueUrl answered without a URL".into(),
            })?
    };
    let name = url.rsplit('/').next().unwrap_or(queue).to_owned();
    let arn = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|error| RunnerError::sqs("GetQueueAttributes", &name, &error))?
        .attributes
        .and_then(|mut attributes| attributes.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| RunnerError::Queue {
            queue: name.clone(),
            problem: "GetQueueAttributes gave no QueueArn".into(),
        })?;
    Ok(QueueIdentity {
        name,
        url,
        arn,
        region: region.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_naming_a_message_outside_the_batch_fails_the_batch() {
        let outcome = InvocationOutcome::Completed {
            reported_failures: vec!["not-in-batch".into()],
        };
        assert!(matches!(
            check_reported_ids(outcome, &["m-1".to_owned()]),
            InvocationOutcome::InvalidResponse(_)
        ));
    }

    #[test]
    fn empty_failure_id_fails_the_batch() {
        let outcome = InvocationOutcome::Completed {
            reported_failures: vec![String::new()],
        };
        assert!(matches!(
            check_reported_ids(outcome, &["m-1".to_owned()]),
            InvocationOutcome::InvalidResponse(_)
        ));
    }

    #[test]
    fn failures_within_the_batch_are_kept_as_reported() {
        let outcome = InvocationOutcome::Completed {
            reported_failures: vec!["m-2".into()],
        };
        assert_eq!(
            check_reported_ids(outcome.clone(), &["m-1".to_owned(), "m-2".to_owned()]),
            outcome
        );
    }

    #[tokio::test]
    async fn handler_panic_is_a_function_error() {
        let handler = |_event: LambdaEvent<SqsEvent>| async {
            if true {
                panic!("boom");
            }
            Ok(SqsBatchResponse::default())
        };
        let event = LambdaEvent::new(SqsEvent::default(), lambda_runtime::Context::default());
        assert!(matches!(
            invoke(&handler, event, Duration::from_secs(5)).await,
            InvocationOutcome::FunctionError(_)
        ));
    }

    #[tokio::test]
    async fn handler_past_the_timeout_times_out() {
        let handler = |_event: LambdaEvent<SqsEvent>| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(SqsBatchResponse::default())
        };
        let event = LambdaEvent::new(SqsEvent::default(), lambda_runtime::Context::default());
        assert_eq!(
            invoke(&handler, event, Duration::from_millis(50)).await,
            InvocationOutcome::TimedOut(Duration::from_millis(50))
        );
    }
}
