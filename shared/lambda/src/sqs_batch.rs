//! The one SQS FIFO batch driver (design §4). A queue function says how to decode a record, which
//! object it orders by, and how to process one message ([`QueueFunction`]); the driver owns the rest:
//!
//! - order per *logical group* = (SQS `MessageGroupId`, the function's order key): messages of one
//!   logical group run one after the other in batch order, a group stops at its first failure (that
//!   message and every later one of the group are reported failed, so they return to the queue in
//!   order), and independent groups run concurrently (futures joined on one task), so a batch costs
//!   about its longest group's calls, not the sum;
//! - a message that cannot be decoded is its own group: it is quarantined and blocks nothing;
//! - one tracing span per message (`message_id`, the subject the function records, `decision`);
//! - a retryable error is a batch item failure; a permanent one is sent to the DLQ with its reason
//!   (`govsync-reason`, `govsync-error-code`) and acknowledged; if that send fails, the message is
//!   reported failed, never dropped;
//! - the [`BatchReport`], the `SqsBatchResponse`, and the embedded-metric line, which adds
//!   `GovernanceUnauthorized`: the messages returned to the queue because governance refused
//!   govsync's credentials after a token refresh and a key re-read (an alarm's source: an operator
//!   must rotate or restore the key; the messages wait, they are not dead-lettered for it);
//! - no dead letter without a reason: on govsync's last receive ([`MAX_RECEIVE_COUNT`], before the
//!   queue's redrive policy's [`REDRIVE_MAX_RECEIVE_COUNT`]), a message that still fails, or is still held behind a failing message of
//!   its group, is quarantined with `retries_exhausted` and the last error instead of being returned
//!   for SQS to move without one;
//! - backoff: a message returned for a retryable error stays invisible for [`Backoff::delay`] of its
//!   receive count (`ChangeMessageVisibility` through the quarantine port), and a message held behind
//!   it is made visible at once: SQS FIFO still delivers nothing of the group while the failed message
//!   is in flight, so the held one comes back with it, charged one receive, never a failure of its own.

use std::collections::HashMap;
use std::future::Future;

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::{DateTime, Duration, Utc};
use futures::future::join_all;
pub use govsync_core::batch_report::{
    BatchOutcome, BatchReport, Disposition, MessageFailure, MessageOutcome,
};
use govsync_core::emf::{Metric, MetricValue};
use govsync_core::ports::governance::GOVERNANCE_UNAUTHORIZED;
use govsync_core::ports::{Quarantine, QuarantinedMessage};
use lambda_runtime::LambdaEvent;
use tracing::Instrument;

use crate::backoff::Backoff;

/// govsync's last receive of a message: one that still fails then, or is still held behind a failing
/// message of its group, is quarantined with `retries_exhausted` and its last error. With
/// [`Backoff::default`] the failed receives before it span more than a day (`Backoff::survives`).
pub const MAX_RECEIVE_COUNT: u32 = 32;

/// `maxReceiveCount` of the queues' redrive policies (`infra/template.yaml`, the CDK app,
/// `local/wiring.json`; a test keeps them equal): past govsync's last receive, so SQS moves a message
/// to the DLQ without a reason only if govsync's process was killed on each receive from its last on.
pub const REDRIVE_MAX_RECEIVE_COUNT: u32 = MAX_RECEIVE_COUNT + 3;

/// The code of a message not processed because an earlier message of its group failed.
const GROUP_BLOCKED: &str = "group_blocked";

/// The code of a message held behind a failure of its group, returned with no backoff of its own.
const HELD: &str = "held";

/// The code of a message quarantined on its last allowed receive.
pub const RETRIES_EXHAUSTED: &str = "retries_exhausted";

/// The idempotency claim when the context has no deadline (Lambda's longest run).
const DEFAULT_CLAIM_SECONDS: i64 = 900;

/// What a queue-driven function implements; [`run_batch`] does the rest.
pub trait QueueFunction: Sync {
    type Message: Sync;
    type Error: MessageFailure + Sync;
    type Outcome: BatchOutcome + Send;
    type Quarantine: Quarantine;

    /// The record's body as this function's message; an error here is permanent (quarantined).
    fn decode(&self, record: &SqsMessage) -> Result<Self::Message, Self::Error>;

    /// The object whose changes must stay in order; `None` makes the message its own group.
    fn order_key(&self, message: &Self::Message) -> Option<String>;

    /// Processes one decoded message. `deadline` bounds idempotency claims.
    fn process(
        &self,
        message: &Self::Message,
        deadline: DateTime<Utc>,
    ) -> impl Future<Output = Result<Self::Outcome, Self::Error>> + Send;

    /// Where permanent failures go.
    fn quarantine_port(&self) -> &Self::Quarantine;

    /// When the change a message carries happened, for the sync lag.
    fn source_time(&self, message: &Self::Message) -> Option<DateTime<Utc>>;

    /// The `Function` dimension of its metric lines.
    fn function_name(&self) -> &'static str;

    /// The metrics of a batch: the shared names first ([`BatchReport::shared_metrics`]), then its own.
    fn metrics(&self, report: &BatchReport<Self::Outcome>) -> Vec<Metric> {
        report.shared_metrics()
    }
}

/// One record, decoded.
struct Prepared<'a, M, E> {
    record: &'a SqsMessage,
    message: Result<M, E>,
}

impl<M, E> Prepared<'_, M, E> {
    fn message_id(&self) -> &str {
        self.record.message_id.as_deref().unwrap_or("")
    }

    fn sqs_group(&self) -> Option<&str> {
        self.record
            .attributes
            .get("MessageGroupId")
            .map(String::as_str)
    }

    /// SQS's `ApproximateReceiveCount` (1 on the first delivery; 1 when absent).
    fn receive_count(&self) -> u32 {
        self.record
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|count| count.parse().ok())
            .unwrap_or(1)
    }

    /// Whether returning the message would let SQS dead-letter it without a reason.
    fn is_last_receive(&self) -> bool {
        self.receive_count() >= MAX_RECEIVE_COUNT
    }
}

/// The metric of a batch's messages returned to the queue for refused governance credentials.
pub const GOVERNANCE_UNAUTHORIZED_METRIC: &str = "GovernanceUnauthorized";

/// The metric of a batch's messages returned only because an earlier message of their group failed
/// (not counted in `Failures`).
pub const HELD_BEHIND_FAILURE_METRIC: &str = "HeldBehindFailure";

/// Processes one batch by the FIFO rules above; outcomes in batch order.
pub async fn run_batch<F: QueueFunction>(
    function: &F,
    records: &[SqsMessage],
    deadline: DateTime<Utc>,
) -> BatchReport<F::Outcome> {
    run_batch_with_codes(function, records, deadline).await.0
}

/// [`run_batch`], with the error code of each message's retryable failure (`None` for the others).
async fn run_batch_with_codes<F: QueueFunction>(
    function: &F,
    records: &[SqsMessage],
    deadline: DateTime<Utc>,
) -> (BatchReport<F::Outcome>, Vec<Option<&'static str>>) {
    let prepared: Vec<Prepared<'_, F::Message, F::Error>> = records
        .iter()
        .map(|record| Prepared {
            record,
            message: function.decode(record),
        })
        .collect();
    let outcomes = run_in_groups(
        &prepared,
        |index, message| logical_group(function, message, index),
        |message| {
            let span = tracing::info_span!(
                "message",
                message_id = message.message_id(),
                package_arn = tracing::field::Empty,
                object_id = tracing::field::Empty,
                subject = tracing::field::Empty,
                decision = tracing::field::Empty,
            );
            let settled = settle(function, message, deadline);
            async move {
                let (outcome, code) = settled.instrument(span.clone()).await;
                span.record("decision", outcome.label());
                (outcome, code)
            }
        },
        |(outcome, _)| outcome.is_failed(),
        |message| {
            tracing::warn!(
                message_id = message.message_id(),
                "not processed: an earlier message of its group failed"
            );
            (F::Outcome::failed(GROUP_BLOCKED), Some(GROUP_BLOCKED))
        },
    )
    .await;
    let mut outcomes = outcomes;
    for (message, (outcome, code)) in prepared.iter().zip(outcomes.iter_mut()) {
        if *code == Some(GROUP_BLOCKED) {
            *code = None;
            if !message.is_last_receive() {
                *code = Some(HELD);
            } else {
                let reason = format!(
                    "retries exhausted: held behind a failing message of its group through {} receives",
                    message.receive_count()
                );
                *outcome = quarantine_with(function, message, reason, RETRIES_EXHAUSTED).await;
            }
        }
    }
    back_off(function, &prepared, &outcomes, &Backoff::from_env()).await;
    let (outcomes, codes): (Vec<F::Outcome>, Vec<Option<&'static str>>) =
        outcomes.into_iter().unzip();
    let applied_at = Utc::now();
    let sync_lags_ms = prepared
        .iter()
        .zip(&outcomes)
        .filter(|(_, outcome)| outcome.is_applied())
        .filter_map(|(message, _)| message.message.as_ref().ok())
        .filter_map(|message| function.source_time(message))
        .map(|time| govsync_core::emf::sync_lag_ms(time, applied_at))
        .collect();
    let report = BatchReport::from_outcomes(
        prepared
            .iter()
            .map(|message| message.record.message_id.clone())
            .zip(outcomes)
            .collect(),
    )
    .with_sync_lags(sync_lags_ms);
    (report, codes)
}

/// Changes the visibility of the messages a batch returns: a retryable failure waits its backoff, a
/// message held behind one is visible at once (still blocked in its group). A failed change leaves the
/// queue's visibility timeout, which is safe, only slower.
async fn back_off<F: QueueFunction>(
    function: &F,
    prepared: &[Prepared<'_, F::Message, F::Error>],
    outcomes: &[(F::Outcome, Option<&'static str>)],
    backoff: &Backoff,
) {
    let changes = prepared
        .iter()
        .zip(outcomes)
        .filter_map(|(message, (_, code))| {
            let delay = match (*code)? {
                HELD => 0,
                _ => backoff.delay(message.receive_count(), rand::random::<f64>()),
            };
            let queue = message.record.event_source_arn.as_deref()?;
            let receipt = message.record.receipt_handle.as_deref()?;
            Some(async move {
                if let Err(error) = function
                    .quarantine_port()
                    .retry_later(queue, receipt, delay)
                    .await
                {
                    tracing::warn!(
                        message_id = message.message_id(),
                        error = %error,
                        "backoff not set: the queue's visibility timeout applies"
                    );
                }
            })
        });
    join_all(changes).await;
}

/// How many messages were returned to the queue because governance refused the credentials.
fn governance_unauthorized(codes: &[Option<&'static str>]) -> usize {
    codes
        .iter()
        .filter(|code| **code == Some(GOVERNANCE_UNAUTHORIZED))
        .count()
}

/// The Lambda edge of a queue function: the batch (idempotency claims last until the invocation's
/// deadline), one embedded-metric line when `metrics_namespace` is set, and the partial batch response.
pub async fn handle_event<F: QueueFunction>(
    function: &F,
    event: LambdaEvent<SqsEvent>,
    metrics_namespace: Option<&str>,
) -> Result<SqsBatchResponse, crate::RuntimeError> {
    let deadline = claim_until(event.context.deadline, Utc::now());
    let (report, codes) = run_batch_with_codes(function, &event.payload.records, deadline).await;
    if let Some(namespace) = metrics_namespace {
        println!(
            "{}",
            batch_metric_line(function, &report, &codes, namespace)
        );
    }
    batch_response(&report)
}

/// The embedded-metric line of a batch: the function's metrics, then `GovernanceUnauthorized`.
fn batch_metric_line<F: QueueFunction>(
    function: &F,
    report: &BatchReport<F::Outcome>,
    codes: &[Option<&'static str>],
    namespace: &str,
) -> String {
    let mut metrics = function.metrics(report);
    // A message returned only because an earlier one of its group failed is not a failure of its own.
    let held = codes.iter().filter(|code| **code == Some(HELD)).count();
    for metric in &mut metrics {
        if metric.name == govsync_core::emf::FAILURES
            && let MetricValue::Count(failures) = &mut metric.value
        {
            *failures = failures.saturating_sub(held as u64);
        }
    }
    metrics.push(Metric::count(HELD_BEHIND_FAILURE_METRIC, held));
    metrics.push(Metric::count(
        GOVERNANCE_UNAUTHORIZED_METRIC,
        governance_unauthorized(codes),
    ));
    govsync_core::emf::line(
        namespace,
        function.function_name(),
        Utc::now().timestamp_millis(),
        &metrics,
    )
}

/// The partial batch response: every failed message by id. A failure without a message id cannot be
/// reported alone, so the whole batch fails and nothing is lost.
pub fn batch_response<O: BatchOutcome>(
    report: &BatchReport<O>,
) -> Result<SqsBatchResponse, crate::RuntimeError> {
    let unidentified = report.unidentified_failures();
    if unidentified > 0 {
        return Err(crate::RuntimeError::UnidentifiedFailures(unidentified));
    }
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = report
        .failures()
        .into_iter()
        .map(|id| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            failure
        })
        .collect();
    Ok(response)
}

/// Processes one message and turns its error into a batch item failure or a quarantine; with a batch
/// item failure, its error code.
async fn settle<F: QueueFunction>(
    function: &F,
    message: &Prepared<'_, F::Message, F::Error>,
    deadline: DateTime<Utc>,
) -> (F::Outcome, Option<&'static str>) {
    let decoded = match &message.message {
        Ok(decoded) => decoded,
        Err(error) => return (quarantine(function, message, error).await, None),
    };
    match function.process(decoded, deadline).await {
        Ok(outcome) => {
            tracing::info!(decision = outcome.label(), "message processed");
            (outcome, None)
        }
        Err(error) if error.is_retryable() && message.is_last_receive() => {
            let reason = format!(
                "retries exhausted after {} receives; last error ({}): {error}",
                message.receive_count(),
                error.code()
            );
            (
                quarantine_with(function, message, reason, RETRIES_EXHAUSTED).await,
                None,
            )
        }
        Err(error) if error.is_retryable() => {
            tracing::warn!(error = %error, code = error.code(), "retryable failure: the message returns to the queue");
            (F::Outcome::failed(error.code()), Some(error.code()))
        }
        Err(error) => (quarantine(function, message, &error).await, None),
    }
}

async fn quarantine<F: QueueFunction>(
    function: &F,
    message: &Prepared<'_, F::Message, F::Error>,
    error: &F::Error,
) -> F::Outcome {
    quarantine_with(function, message, error.to_string(), error.code()).await
}

/// Sends the message to the DLQ with `reason` and `code`; a failed send reports the message failed.
async fn quarantine_with<F: QueueFunction>(
    function: &F,
    message: &Prepared<'_, F::Message, F::Error>,
    reason: String,
    code: &'static str,
) -> F::Outcome {
    let copy = quarantined(
        message.record.body.as_deref(),
        message.record.message_id.as_deref(),
        message.sqs_group(),
        reason,
        code,
    );
    match function.quarantine_port().quarantine(&copy).await {
        Ok(()) => {
            tracing::error!(reason = %copy.reason, code, "quarantined in the DLQ");
            F::Outcome::quarantined(code)
        }
        Err(send_error) => {
            tracing::error!(reason = %copy.reason, send_error = %send_error, "the DLQ send failed: reported as failed");
            F::Outcome::failed("quarantine_failed")
        }
    }
}

/// The order a message keeps: its SQS message group and its order key. Messages without a key
/// (undecodable, or naming no object) are their own group and never block another.
fn logical_group<F: QueueFunction>(
    function: &F,
    message: &Prepared<'_, F::Message, F::Error>,
    index: usize,
) -> String {
    let sqs_group = message.sqs_group().unwrap_or("");
    match message
        .message
        .as_ref()
        .ok()
        .and_then(|decoded| function.order_key(decoded))
    {
        Some(key) => format!("{sqs_group}\u{1f}{key}"),
        None => format!(
            "{sqs_group}\u{1f}\u{1f}{}",
            message
                .record
                .message_id
                .clone()
                .unwrap_or_else(|| index.to_string())
        ),
    }
}

/// Runs `process` over `items` grouped by `group_of`: groups concurrently, each in order, stopping a
/// group at its first failure (`is_failure`); the later items of a stopped group get `blocked()`.
/// Results come back in input order.
pub async fn run_in_groups<'a, T, O, G, P, Fut, F, B>(
    items: &'a [T],
    group_of: G,
    process: P,
    is_failure: F,
    blocked: B,
) -> Vec<O>
where
    G: Fn(usize, &'a T) -> String,
    P: Fn(&'a T) -> Fut,
    Fut: Future<Output = O>,
    F: Fn(&O) -> bool,
    B: Fn(&'a T) -> O,
{
    let mut order: Vec<String> = Vec::new();
    let mut groups: HashMap<String, Vec<(usize, &'a T)>> = HashMap::new();
    for (index, item) in items.iter().enumerate() {
        let key = group_of(index, item);
        let group = groups.entry(key.clone()).or_default();
        if group.is_empty() {
            order.push(key);
        }
        group.push((index, item));
    }
    let process = &process;
    let is_failure = &is_failure;
    let blocked = &blocked;
    let runs = order
        .iter()
        .filter_map(|key| groups.remove(key))
        .map(|group| async move {
            let mut out = Vec::with_capacity(group.len());
            let mut stopped = false;
            for (index, item) in group {
                if stopped {
                    out.push((index, blocked(item)));
                    continue;
                }
                let outcome = process(item).await;
                stopped = is_failure(&outcome);
                out.push((index, outcome));
            }
            out
        });
    let mut results: Vec<(usize, O)> = join_all(runs).await.into_iter().flatten().collect();
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, outcome)| outcome).collect()
}

/// The dead-letter copy of an SQS record: original body, the source group (a replay keeps its order),
/// a deduplication id from the source message id, and the reason.
pub fn quarantined(
    body: Option<&str>,
    message_id: Option<&str>,
    message_group_id: Option<&str>,
    reason: String,
    error_code: &str,
) -> QuarantinedMessage {
    let source_id = message_id.unwrap_or_default().to_owned();
    QuarantinedMessage {
        body: body.unwrap_or_default().to_owned(),
        message_group_id: message_group_id.unwrap_or("quarantine").to_owned(),
        deduplication_id: format!("quarantine-{source_id}"),
        reason,
        error_code: error_code.to_owned(),
        source_message_id: source_id,
    }
}

/// The idempotency claim lasts until the invocation's deadline (epoch ms), else 15 minutes.
pub fn claim_until(deadline_ms: u64, now: DateTime<Utc>) -> DateTime<Utc> {
    i64::try_from(deadline_ms)
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .filter(|deadline| *deadline > now)
        .unwrap_or_else(|| now + Duration::seconds(DEFAULT_CLAIM_SECONDS))
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use govsync_adapters::fakes::FakeQuarantine;

    use super::*;

    #[tokio::test]
    async fn a_group_stops_at_its_first_failure_and_others_go_on() {
        let items = [("a", 1), ("b", -1), ("a", -2), ("a", 3), ("b", 4)];
        let seen = Mutex::new(Vec::new());
        let outcomes = run_in_groups(
            &items,
            |_, (group, _)| (*group).to_owned(),
            |(_, value)| {
                seen.lock().unwrap().push(*value);
                async move { if *value < 0 { Err(*value) } else { Ok(*value) } }
            },
            Result::is_err,
            |_| Err(0),
        )
        .await;
        assert_eq!(outcomes, [Ok(1), Err(-1), Err(-2), Err(0), Err(0)]);
        let mut seen = seen.into_inner().unwrap();
        seen.sort_unstable();
        assert_eq!(seen, [-2, -1, 1], "nothing after a group's failure runs");
    }

    #[test]
    fn quarantined_copies_keep_body_group_and_reason() {
        let message = quarantined(Some("{}"), Some("m-1"), None, "why".into(), "code");
        assert_eq!(message.body, "{}");
        assert_eq!(message.message_group_id, "quarantine");
        assert_eq!(message.deduplication_id, "quarantine-m-1");
        assert_eq!(
            (message.reason.as_str(), message.error_code.as_str()),
            ("why", "code")
        );
    }

    #[test]
    fn claims_last_until_the_deadline_or_fifteen_minutes() {
        let now = Utc::now();
        let later = now + Duration::seconds(40);
        assert_eq!(
            claim_until(u64::try_from(later.timestamp_millis()).unwrap(), now).timestamp_millis(),
            later.timestamp_millis()
        );
        assert_eq!(claim_until(0, now), now + Duration::seconds(900));
    }

    /// A toy queue function: bodies are numbers; negative ones fail (odd: retryable, even: permanent),
    /// the order key is the number's tens.
    struct Numbers {
        quarantine: FakeQuarantine,
    }

    #[derive(Debug, PartialEq)]
    enum Done {
        Ok,
        Failed(&'static str),
        Quarantined(&'static str),
    }

    impl MessageOutcome for Done {
        fn label(&self) -> &'static str {
            match self {
                Done::Ok => "ok",
                Done::Failed(_) => "failed",
                Done::Quarantined(_) => "quarantined",
            }
        }
        fn disposition(&self) -> Disposition {
            match self {
                Done::Ok => Disposition::Done,
                Done::Failed(_) => Disposition::Failed,
                Done::Quarantined(_) => Disposition::Quarantined,
            }
        }
    }

    impl BatchOutcome for Done {
        fn failed(code: &'static str) -> Self {
            Done::Failed(code)
        }
        fn quarantined(code: &'static str) -> Self {
            Done::Quarantined(code)
        }
        fn is_applied(&self) -> bool {
            matches!(self, Done::Ok)
        }
    }

    #[derive(Debug, thiserror::Error)]
    enum NumberError {
        #[error("not a number")]
        NotANumber,
        #[error("odd failure")]
        Odd,
        #[error("even failure")]
        Even,
        #[error("credentials refused")]
        Refused,
    }

    impl MessageFailure for NumberError {
        fn is_retryable(&self) -> bool {
            matches!(self, NumberError::Odd | NumberError::Refused)
        }
        fn code(&self) -> &'static str {
            match self {
                NumberError::NotANumber => "not_a_number",
                NumberError::Odd => "odd",
                NumberError::Even => "even",
                NumberError::Refused => GOVERNANCE_UNAUTHORIZED,
            }
        }
    }

    impl QueueFunction for Numbers {
        type Message = i64;
        type Error = NumberError;
        type Outcome = Done;
        type Quarantine = FakeQuarantine;

        fn decode(&self, record: &SqsMessage) -> Result<i64, NumberError> {
            record
                .body
                .as_deref()
                .and_then(|body| body.parse().ok())
                .ok_or(NumberError::NotANumber)
        }
        fn order_key(&self, message: &i64) -> Option<String> {
            Some((message.abs() / 10).to_string())
        }
        async fn process(&self, message: &i64, _: DateTime<Utc>) -> Result<Done, NumberError> {
            match *message {
                value if value >= 0 => Ok(Done::Ok),
                -99 => Err(NumberError::Refused),
                value if value % 2 != 0 => Err(NumberError::Odd),
                _ => Err(NumberError::Even),
            }
        }
        fn quarantine_port(&self) -> &FakeQuarantine {
            &self.quarantine
        }
        fn source_time(&self, _: &i64) -> Option<DateTime<Utc>> {
            None
        }
        fn function_name(&self) -> &'static str {
            "numbers"
        }
    }

    fn record(id: &str, body: &str) -> SqsMessage {
        let mut record = SqsMessage::default();
        record.message_id = Some(id.to_owned());
        record.body = Some(body.to_owned());
        record
            .attributes
            .insert("MessageGroupId".into(), "registry-events".into());
        record
    }

    fn received(mut record: SqsMessage, times: u32) -> SqsMessage {
        record
            .attributes
            .insert("ApproximateReceiveCount".into(), times.to_string());
        record
    }

    /// Issue 14, 2: on the last receive the redrive policy allows, a message that still fails, and one
    /// still held behind it, go to the DLQ with `retries_exhausted` and the last error; before that they
    /// return to the queue.
    #[tokio::test]
    async fn on_the_last_allowed_receive_a_failing_or_held_message_is_quarantined_with_its_reason()
    {
        let function = Numbers {
            quarantine: FakeQuarantine::new(),
        };
        let records = [
            // Fails on its last receive: dead-lettered with the reason; its group goes on.
            received(record("m1", "-11"), MAX_RECEIVE_COUNT),
            received(record("m2", "12"), MAX_RECEIVE_COUNT - 1),
            // Fails before its last receive: returned; the message held behind it is on its last.
            received(record("m3", "-21"), MAX_RECEIVE_COUNT - 1),
            received(record("m4", "22"), MAX_RECEIVE_COUNT),
            received(record("m5", "23"), MAX_RECEIVE_COUNT - 1),
        ];
        let report = run_batch(&function, &records, Utc::now()).await;
        let outcomes: Vec<&Done> = report.outcomes.iter().map(|(_, outcome)| outcome).collect();
        assert_eq!(
            outcomes,
            [
                &Done::Quarantined(RETRIES_EXHAUSTED),
                &Done::Ok,
                &Done::Failed("odd"),
                &Done::Quarantined(RETRIES_EXHAUSTED),
                &Done::Failed("group_blocked"),
            ]
        );
        let dead = function.quarantine.messages();
        assert_eq!(dead.len(), 2);
        assert!(dead.iter().all(|m| m.error_code == RETRIES_EXHAUSTED));
        assert!(
            dead[0].reason.contains("odd failure") && dead[0].reason.contains("(odd)"),
            "{}",
            dead[0].reason
        );
        assert!(dead[1].reason.contains("held behind"), "{}", dead[1].reason);
        assert_eq!(dead[1].source_message_id, "m4");
        assert_eq!(
            batch_response(&report).unwrap().batch_item_failures.len(),
            2
        );
    }

    /// Issue 14, 3: a retryable failure waits a backoff that grows with its receives; the message held
    /// behind it is made visible at once (its group stays blocked by the failed one), never delayed.
    #[tokio::test]
    async fn a_retryable_failure_backs_off_by_its_receive_count_and_a_held_message_does_not() {
        let function = Numbers {
            quarantine: FakeQuarantine::new(),
        };
        let with_receipt = |mut record: SqsMessage, receipt: &str| {
            record.receipt_handle = Some(receipt.to_owned());
            record.event_source_arn =
                Some("arn:aws:sqs:us-east-1:123456789012:registry-events.fifo".to_owned());
            record
        };
        let records = [
            with_receipt(received(record("m1", "-11"), 1), "r1"),
            with_receipt(received(record("m2", "12"), 1), "r2"),
            with_receipt(received(record("m3", "-21"), 4), "r3"),
            with_receipt(received(record("m4", "31"), 1), "r4"),
        ];
        run_batch(&function, &records, Utc::now()).await;
        let delays = function.quarantine.delays();
        let backoff = Backoff::from_env();
        let delay_of = |receipt: &str| {
            delays
                .iter()
                .find(|(handle, _)| handle == receipt)
                .map(|(_, delay)| *delay)
        };
        let first = delay_of("r1").unwrap();
        assert!((backoff.floor(1)..=backoff.delay(1, 1.0)).contains(&first));
        assert_eq!(delay_of("r2"), Some(0), "held, not delayed");
        let fourth = delay_of("r3").unwrap();
        assert!((backoff.floor(4)..=backoff.delay(4, 1.0)).contains(&fourth));
        assert!(fourth > first);
        assert_eq!(delay_of("r4"), None, "a success keeps its visibility");
    }

    #[tokio::test]
    async fn retryable_failures_hold_their_group_and_permanent_ones_are_quarantined_with_a_reason()
    {
        let function = Numbers {
            quarantine: FakeQuarantine::new(),
        };
        let records = [
            record("m1", "-11"),
            record("m2", "12"),
            record("m3", "21"),
            record("m4", "-22"),
            record("m5", "23"),
            record("m6", "x"),
        ];
        let report = run_batch(&function, &records, Utc::now()).await;
        let outcomes: Vec<&Done> = report.outcomes.iter().map(|(_, outcome)| outcome).collect();
        assert_eq!(
            outcomes,
            [
                &Done::Failed("odd"),
                &Done::Failed("group_blocked"),
                &Done::Ok,
                &Done::Quarantined("even"),
                &Done::Ok,
                &Done::Quarantined("not_a_number"),
            ]
        );
        let response = batch_response(&report).unwrap();
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|failure| failure.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["m1", "m2"]);
        let dead = function.quarantine.messages();
        assert_eq!(dead.len(), 2);
        assert!(dead.iter().all(|message| !message.reason.is_empty()));
        assert_eq!(dead[0].message_group_id, "registry-events");
    }

    #[tokio::test]
    async fn a_failure_without_a_message_id_fails_the_whole_batch() {
        let function = Numbers {
            quarantine: FakeQuarantine::new(),
        };
        let mut anonymous = record("", "-1");
        anonymous.message_id = None;
        let report = run_batch(&function, &[anonymous], Utc::now()).await;
        assert!(batch_response(&report).is_err());
    }

    /// Issue 14, 3: a message returned only because its group's earlier message failed is counted
    /// apart from `Failures`, so an alarm on failures sees failing messages, not the queue behind them.
    #[tokio::test]
    async fn the_metric_line_counts_held_messages_apart_from_failures() {
        let function = Numbers {
            quarantine: FakeQuarantine::new(),
        };
        let records = [
            record("m1", "-11"),
            record("m2", "12"),
            record("m3", "13"),
            record("m4", "31"),
        ];
        let (report, codes) = run_batch_with_codes(&function, &records, Utc::now()).await;
        assert_eq!(
            batch_response(&report).unwrap().batch_item_failures.len(),
            3
        );
        let line: serde_json::Value =
            serde_json::from_str(&batch_metric_line(&function, &report, &codes, "govsync"))
                .unwrap();
        assert_eq!(line["Failures"], 1, "{line}");
        assert_eq!(line[HELD_BEHIND_FAILURE_METRIC], 2, "{line}");
        assert_eq!(line["EventsProcessed"], 4, "{line}");
    }

    #[tokio::test]
    async fn the_metric_line_counts_the_messages_held_for_refused_governance_credentials() {
        let function = Numbers {
            quarantine: FakeQuarantine::new(),
        };
        let records = [
            record("m1", "-99"),
            record("m2", "-11"),
            record("m3", "5"),
            record("m4", "-42"),
        ];
        let (report, codes) = run_batch_with_codes(&function, &records, Utc::now()).await;
        assert_eq!(
            batch_response(&report)
                .unwrap()
                .batch_item_failures
                .iter()
                .map(|failure| failure.item_identifier.as_str())
                .collect::<Vec<_>>(),
            ["m1", "m2"],
            "refused credentials return the message to the queue"
        );
        assert_eq!(function.quarantine.messages().len(), 1, "only the even one");
        let line: serde_json::Value =
            serde_json::from_str(&batch_metric_line(&function, &report, &codes, "govsync"))
                .unwrap();
        assert_eq!(line[GOVERNANCE_UNAUTHORIZED_METRIC], 1);
        assert_eq!(line["Failures"], 2);
        assert_eq!(line["Function"], "numbers");
    }
}
