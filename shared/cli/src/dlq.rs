//! `govsync dlq list` / `govsync dlq replay`: the functions' dead-letter queues.
//!
//! The DLQs are the ones `infra/template.yaml` declares (and `local/wiring.json` creates locally), found
//! by name in the configured account and region, or any queue given with `--queue NAME|URL`. A message a
//! function quarantined carries its reason as message attributes
//! (`govsync_core::ports::quarantine::attributes`: `govsync-reason`, `govsync-error-code`,
//! `govsync-source-message-id`); one moved by a queue's redrive policy has none (it failed
//! `maxReceiveCount` times).
//!
//! Nothing is lost: `list` receives with a visibility timeout (so paging does not see the same
//! messages again) and makes every listed message visible again right after; if the CLI dies, they
//! reappear after that timeout. `replay` sends each message to its source queue — the same body, the
//! same FIFO `MessageGroupId`, a deduplication id derived from the DLQ message id (fresh for the source
//! queue; the same on a retry, so a crash between send and delete does not enqueue it twice within
//! SQS's five-minute window) — and deletes it from the DLQ only after the send succeeded. A message whose
//! send fails stops its group (later messages of the group stay, keeping their order) and is made
//! visible again.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, Message, MessageSystemAttributeName,
    QueueAttributeName,
};
use chrono::{DateTime, Utc};
use govsync_core::ports::quarantine::attributes;
use serde::Serialize;

use crate::cli::{DlqCommand, DlqListArgs, DlqReplayArgs};
use crate::error::CliError;
use crate::exit::Exit;
use crate::output::{self, or_dash, shorten};

/// The functions' DLQs, as `infra/template.yaml` names them: registry-events, approval-propagation,
/// decommission (FIFO), the registry-relay's ingest queues' (standard), the asynchronous-failure
/// queue of the metrics relay, reconciler and poller, and the rules' undelivered events.
pub const FUNCTION_DLQS: [&str; 7] = [
    "registry-events-dlq.fifo",
    "governance-events-dlq.fifo",
    "decommission-dlq.fifo",
    "registry-events-ingest-dlq",
    "decommission-ingest-dlq",
    "govsync-async-failures",
    "govsync-event-delivery-dlq",
];

/// The attributes EventBridge sets on an event it could not deliver to a rule's target.
const EVENTBRIDGE_ERROR_CODE: &str = "ERROR_CODE";
const EVENTBRIDGE_ERROR_MESSAGE: &str = "ERROR_MESSAGE";
const EVENTBRIDGE_RULE_ARN: &str = "RULE_ARN";

/// The `MessageGroupId` a message without one gets on a FIFO queue.
const DEFAULT_GROUP: &str = "govsync-replay";

/// One message in a DLQ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuarantinedMessage {
    pub message_id: String,
    pub message_group_id: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub receive_count: Option<u32>,
    /// `govsync-reason`; `None` for a message the redrive policy moved.
    pub reason: Option<String>,
    /// `govsync-error-code`.
    pub error_code: Option<String>,
    /// `govsync-source-message-id`.
    pub source_message_id: Option<String>,
    pub body: String,
}

impl QuarantinedMessage {
    pub fn from_sqs(message: &Message) -> Self {
        let system = |name: MessageSystemAttributeName| {
            message
                .attributes()
                .and_then(|attributes| attributes.get(&name))
                .cloned()
        };
        let attribute = |name: &str| {
            message
                .message_attributes()
                .and_then(|attributes| attributes.get(name))
                .and_then(|value| value.string_value())
                .map(str::to_owned)
        };
        Self {
            message_id: message.message_id().unwrap_or_default().to_owned(),
            message_group_id: system(MessageSystemAttributeName::MessageGroupId),
            sent_at: system(MessageSystemAttributeName::SentTimestamp)
                .and_then(|ms| ms.parse::<i64>().ok())
                .and_then(DateTime::from_timestamp_millis),
            receive_count: system(MessageSystemAttributeName::ApproximateReceiveCount)
                .and_then(|count| count.parse().ok()),
            // A rule target's DLQ holds EventBridge's own attributes instead of govsync's.
            reason: attribute(attributes::REASON).or_else(|| {
                attribute(EVENTBRIDGE_ERROR_MESSAGE).map(|message| {
                    match attribute(EVENTBRIDGE_RULE_ARN) {
                        Some(rule) => format!("{message} (rule {rule})"),
                        None => message,
                    }
                })
            }),
            error_code: attribute(attributes::ERROR_CODE)
                .or_else(|| attribute(EVENTBRIDGE_ERROR_CODE)),
            source_message_id: attribute(attributes::SOURCE_MESSAGE_ID),
            body: message.body().unwrap_or_default().to_owned(),
        }
    }

    /// The reason as a line: the quarantine's, or what a message without one means.
    pub fn reason_line(&self) -> String {
        match (&self.error_code, &self.reason) {
            (Some(code), Some(reason)) => format!("{code}: {reason}"),
            (None, Some(reason)) => reason.clone(),
            (Some(code), None) => code.clone(),
            (None, None) => {
                "(no reason: moved by the redrive policy after maxReceiveCount receives)".to_owned()
            }
        }
    }
}

/// One listed queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueListing {
    pub queue: String,
    pub url: String,
    /// `ApproximateNumberOfMessages` (what SQS counts; the list may hold fewer, e.g. FIFO groups
    /// with messages in flight, or `--limit`).
    pub approximate_messages: Option<u64>,
    pub messages: Vec<QuarantinedMessage>,
}

/// A queue's name and URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRef {
    pub name: String,
    pub url: String,
}

impl QueueRef {
    pub fn is_fifo(&self) -> bool {
        self.name.ends_with(".fifo")
    }
}

/// The queue name of a URL (its last path segment), or the name itself.
pub fn queue_name(name_or_url: &str) -> &str {
    name_or_url
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(name_or_url)
}

/// The source queue name a DLQ's name implies (`registry-events-dlq.fifo` → `registry-events.fifo`).
pub fn source_name_of(dlq_name: &str) -> Option<String> {
    let (stem, fifo) = match dlq_name.strip_suffix(".fifo") {
        Some(stem) => (stem, ".fifo"),
        None => (dlq_name, ""),
    };
    stem.strip_suffix("-dlq")
        .filter(|source| !source.is_empty())
        .map(|source| format!("{source}{fifo}"))
}

/// The deduplication id a replayed message gets: derived from its DLQ message id, FIFO-safe.
pub fn replay_deduplication_id(dlq_message_id: &str) -> String {
    let cleaned: String = dlq_message_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".contains(*c))
        .take(120)
        .collect();
    format!("replay-{cleaned}")
}

pub async fn run(command: &DlqCommand, json: bool) -> Result<Exit, CliError> {
    let sdk = govsync_adapters::aws::load_sdk_config().await;
    let client = govsync_adapters::aws::sqs_client(&sdk);
    match command {
        DlqCommand::List(args) => list(&client, args, json).await,
        DlqCommand::Replay(args) => replay(&client, args, json).await,
    }
}

/// A queue by name or URL; `Ok(None)` when a name is not found.
async fn resolve(client: &Client, name_or_url: &str) -> Result<Option<QueueRef>, CliError> {
    if name_or_url.starts_with("http://") || name_or_url.starts_with("https://") {
        return Ok(Some(QueueRef {
            name: queue_name(name_or_url).to_owned(),
            url: name_or_url.to_owned(),
        }));
    }
    match client.get_queue_url().queue_name(name_or_url).send().await {
        Ok(answer) => Ok(answer.queue_url.map(|url| QueueRef {
            name: name_or_url.to_owned(),
            url,
        })),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_queue_does_not_exist()) =>
        {
            Ok(None)
        }
        Err(error) => Err(CliError::sqs("GetQueueUrl", name_or_url, &error)),
    }
}

async fn resolve_required(client: &Client, name_or_url: &str) -> Result<QueueRef, CliError> {
    resolve(client, name_or_url)
        .await?
        .ok_or_else(|| CliError::Queue {
            queue: name_or_url.to_owned(),
            problem: "no such queue in this account and region".to_owned(),
        })
}

async fn approximate_messages(client: &Client, queue: &QueueRef) -> Result<Option<u64>, CliError> {
    let answer = client
        .get_queue_attributes()
        .queue_url(&queue.url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .map_err(|error| CliError::sqs("GetQueueAttributes", &queue.name, &error))?;
    Ok(answer
        .attributes
        .and_then(|a| {
            a.get(&QueueAttributeName::ApproximateNumberOfMessages)
                .cloned()
        })
        .and_then(|count| count.parse().ok()))
}

async fn receive(
    client: &Client,
    queue: &QueueRef,
    max: i32,
    visibility_timeout: i32,
) -> Result<Vec<Message>, CliError> {
    let answer = client
        .receive_message()
        .queue_url(&queue.url)
        .max_number_of_messages(max.clamp(1, 10))
        .visibility_timeout(visibility_timeout)
        .wait_time_seconds(0)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .message_attribute_names("All")
        .send()
        .await
        .map_err(|error| CliError::sqs("ReceiveMessage", &queue.name, &error))?;
    Ok(answer.messages.unwrap_or_default())
}

/// Makes received messages visible again (visibility timeout 0). Failures are warnings: the messages
/// reappear by themselves once their visibility timeout ends.
async fn release(client: &Client, queue: &QueueRef, receipts: &[String]) {
    for chunk in receipts.chunks(10) {
        let entries: Vec<ChangeMessageVisibilityBatchRequestEntry> = chunk
            .iter()
            .enumerate()
            .filter_map(|(index, receipt)| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(format!("m{index}"))
                    .receipt_handle(receipt)
                    .visibility_timeout(0)
                    .build()
                    .ok()
            })
            .collect();
        if entries.is_empty() {
            continue;
        }
        let result = client
            .change_message_visibility_batch()
            .queue_url(&queue.url)
            .set_entries(Some(entries))
            .send()
            .await;
        match result {
            Ok(answer) if !answer.failed().is_empty() => tracing::warn!(
                queue = queue.name,
                failed = answer.failed().len(),
                "some messages could not be made visible again; they reappear after their visibility timeout"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(
                queue = queue.name,
                error = %aws_sdk_sqs::error::DisplayErrorContext(&error),
                "messages could not be made visible again; they reappear after their visibility timeout"
            ),
        }
    }
}

/// Reads up to `limit` messages of a queue, then makes them visible again.
async fn read_queue(
    client: &Client,
    queue: &QueueRef,
    limit: u32,
    visibility_timeout: i32,
) -> Result<QueueListing, CliError> {
    let approximate = approximate_messages(client, queue).await?;
    let mut messages = Vec::new();
    let mut receipts = Vec::new();
    let mut seen = BTreeSet::new();
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let outcome: Result<(), CliError> = async {
        while messages.len() < limit {
            let want = i32::try_from(limit - messages.len()).unwrap_or(10);
            let batch = receive(client, queue, want, visibility_timeout).await?;
            let mut new = 0;
            for message in batch {
                if let Some(receipt) = message.receipt_handle() {
                    receipts.push(receipt.to_owned());
                }
                let listed = QuarantinedMessage::from_sqs(&message);
                if seen.insert(listed.message_id.clone()) && messages.len() < limit {
                    messages.push(listed);
                    new += 1;
                }
            }
            if new == 0 {
                break;
            }
        }
        Ok(())
    }
    .await;
    release(client, queue, &receipts).await;
    outcome?;
    Ok(QueueListing {
        queue: queue.name.clone(),
        url: queue.url.clone(),
        approximate_messages: approximate,
        messages,
    })
}

async fn list(client: &Client, args: &DlqListArgs, json: bool) -> Result<Exit, CliError> {
    let queues = match &args.queue {
        Some(queue) => vec![resolve_required(client, queue).await?],
        None => {
            let mut found = Vec::new();
            for name in FUNCTION_DLQS {
                match resolve(client, name).await? {
                    Some(queue) => found.push(queue),
                    None => tracing::info!(queue = name, "no such DLQ here: skipped"),
                }
            }
            found
        }
    };
    let mut listings = Vec::new();
    for queue in &queues {
        listings.push(read_queue(client, queue, args.limit, args.visibility_timeout).await?);
    }
    if json {
        output::print_json(&serde_json::json!({ "queues": listings }));
    } else {
        output::print(&render_listings(&listings));
    }
    Ok(Exit::Ok)
}

/// The readable list: per queue, one row per message with its reason.
pub fn render_listings(listings: &[QueueListing]) -> String {
    let mut out = String::new();
    if listings.is_empty() {
        out.push_str("no DLQ found (give --queue NAME|URL)\n");
    }
    for listing in listings {
        out.push_str(&format!(
            "{}: {} message{} listed (SQS counts {})\n",
            listing.queue,
            listing.messages.len(),
            if listing.messages.len() == 1 { "" } else { "s" },
            or_dash(listing.approximate_messages.map(|n| n.to_string())),
        ));
        if listing.messages.is_empty() {
            out.push('\n');
            continue;
        }
        let rows: Vec<Vec<String>> = listing
            .messages
            .iter()
            .map(|m| {
                vec![
                    m.message_id.clone(),
                    or_dash(m.message_group_id.as_ref()),
                    or_dash(
                        m.sent_at
                            .map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string()),
                    ),
                    or_dash(m.receive_count.map(|c| c.to_string())),
                    shorten(&m.reason_line(), 100),
                    shorten(&m.body, 60),
                ]
            })
            .collect();
        out.push_str(&output::table(
            &["message id", "group", "sent", "receives", "reason", "body"],
            &rows,
        ));
        out.push('\n');
    }
    out
}

/// What became of one message in a replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplayStatus {
    /// Sent to the source queue and deleted from the DLQ.
    Moved,
    /// `--dry-run`: would be moved.
    WouldMove,
    /// Sent, but the delete failed: it is still in the DLQ (a later replay sends it with the same
    /// deduplication id).
    SentNotDeleted,
    /// The send failed: left in the DLQ.
    Failed,
    /// An earlier message of its FIFO group was not moved: left in the DLQ to keep the group's order.
    HeldForOrder,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplayedMessage {
    pub message_id: String,
    pub message_group_id: Option<String>,
    pub reason: Option<String>,
    pub error_code: Option<String>,
    pub status: ReplayStatus,
    /// The message id in the source queue.
    pub new_message_id: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplayReport {
    pub queue: String,
    pub to: String,
    pub dry_run: bool,
    pub messages: Vec<ReplayedMessage>,
}

impl ReplayReport {
    pub fn count(&self, status: &ReplayStatus) -> usize {
        self.messages.iter().filter(|m| m.status == *status).count()
    }

    /// 0 when every message was moved (or would be); 1 otherwise.
    pub fn exit(&self) -> Exit {
        if self
            .messages
            .iter()
            .all(|m| matches!(m.status, ReplayStatus::Moved | ReplayStatus::WouldMove))
        {
            Exit::Ok
        } else {
            Exit::Error
        }
    }
}

/// The queue a DLQ's messages go back to: `--to`, else the queue whose redrive policy names the DLQ,
/// else the name without `-dlq`.
async fn source_queue(
    client: &Client,
    dlq: &QueueRef,
    to: Option<&str>,
) -> Result<QueueRef, CliError> {
    if let Some(to) = to {
        return resolve_required(client, to).await;
    }
    match client
        .list_dead_letter_source_queues()
        .queue_url(&dlq.url)
        .send()
        .await
    {
        Ok(answer) => match answer.queue_urls() {
            [one] => {
                return Ok(QueueRef {
                    name: queue_name(one).to_owned(),
                    url: one.clone(),
                });
            }
            [] => {}
            several => {
                return Err(CliError::Queue {
                    queue: dlq.name.clone(),
                    problem: format!(
                        "it is the DLQ of {} queues ({}): choose one with --to",
                        several.len(),
                        several.join(", ")
                    ),
                });
            }
        },
        Err(error) => tracing::info!(
            queue = dlq.name,
            error = %aws_sdk_sqs::error::DisplayErrorContext(&error),
            "ListDeadLetterSourceQueues failed: using the name convention"
        ),
    }
    let no_source = || CliError::Queue {
        queue: dlq.name.clone(),
        problem:
            "no queue names it as its DLQ and its name does not end in -dlq: give --to NAME|URL"
                .to_owned(),
    };
    let name = source_name_of(&dlq.name).ok_or_else(no_source)?;
    resolve(client, &name).await?.ok_or_else(no_source)
}

async fn replay(client: &Client, args: &DlqReplayArgs, json: bool) -> Result<Exit, CliError> {
    let dlq = resolve_required(client, &args.queue).await?;
    let target = source_queue(client, &dlq, args.to.as_deref()).await?;
    if target.url == dlq.url {
        return Err(CliError::Queue {
            queue: dlq.name.clone(),
            problem: "the target is the DLQ itself".to_owned(),
        });
    }
    let limit = args
        .limit
        .map(|l| usize::try_from(l).unwrap_or(usize::MAX))
        .unwrap_or(usize::MAX);
    let approximate = approximate_messages(client, &dlq).await?;
    if !json {
        eprintln!(
            "{} {} → {} (SQS counts {} message{})",
            if args.dry_run {
                "would replay"
            } else {
                "replaying"
            },
            dlq.name,
            target.name,
            or_dash(approximate.map(|n| n.to_string())),
            if approximate == Some(1) { "" } else { "s" }
        );
    }
    let mut report = ReplayReport {
        queue: dlq.name.clone(),
        to: target.name.clone(),
        dry_run: args.dry_run,
        messages: Vec::new(),
    };
    // Messages left in the DLQ (held, failed, dry run): made visible again at the end.
    let mut to_release: Vec<String> = Vec::new();
    let mut blocked_groups: BTreeSet<String> = BTreeSet::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let outcome: Result<(), CliError> = async {
        while report.messages.len() < limit {
            let want = i32::try_from(limit - report.messages.len()).unwrap_or(10);
            let batch = receive(client, &dlq, want, args.visibility_timeout).await?;
            let mut new = 0;
            for message in batch {
                let receipt = message.receipt_handle().unwrap_or_default().to_owned();
                let listed = QuarantinedMessage::from_sqs(&message);
                if !seen.insert(listed.message_id.clone()) || report.messages.len() >= limit {
                    to_release.push(receipt);
                    continue;
                }
                new += 1;
                let group_key = listed.message_group_id.clone().unwrap_or_default();
                let mut entry = ReplayedMessage {
                    message_id: listed.message_id.clone(),
                    message_group_id: listed.message_group_id.clone(),
                    reason: listed.reason.clone(),
                    error_code: listed.error_code.clone(),
                    status: ReplayStatus::WouldMove,
                    new_message_id: None,
                    error: None,
                };
                if args.dry_run {
                    to_release.push(receipt);
                } else if dlq.is_fifo() && blocked_groups.contains(&group_key) {
                    entry.status = ReplayStatus::HeldForOrder;
                    to_release.push(receipt);
                } else {
                    match send_back(client, &target, &listed).await {
                        Ok(new_id) => {
                            entry.new_message_id = new_id;
                            match client
                                .delete_message()
                                .queue_url(&dlq.url)
                                .receipt_handle(&receipt)
                                .send()
                                .await
                            {
                                Ok(_) => entry.status = ReplayStatus::Moved,
                                Err(error) => {
                                    entry.status = ReplayStatus::SentNotDeleted;
                                    entry.error = Some(
                                        aws_sdk_sqs::error::DisplayErrorContext(&error).to_string(),
                                    );
                                    to_release.push(receipt);
                                }
                            }
                        }
                        Err(error) => {
                            entry.status = ReplayStatus::Failed;
                            entry.error = Some(error.to_string());
                            blocked_groups.insert(group_key);
                            to_release.push(receipt);
                        }
                    }
                }
                if !json {
                    eprintln!(
                        "[{}] {} {} (group {}): {}",
                        report.messages.len() + 1,
                        match entry.status {
                            ReplayStatus::Moved => "moved",
                            ReplayStatus::WouldMove => "would move",
                            ReplayStatus::SentNotDeleted => "sent, NOT deleted",
                            ReplayStatus::Failed => "NOT moved",
                            ReplayStatus::HeldForOrder =>
                                "held (an earlier message of its group was not moved)",
                        },
                        entry.message_id,
                        or_dash(entry.message_group_id.as_ref()),
                        entry.error.clone().unwrap_or_else(|| listed.reason_line()),
                    );
                }
                report.messages.push(entry);
            }
            if new == 0 {
                break;
            }
        }
        Ok(())
    }
    .await;
    release(client, &dlq, &to_release).await;
    outcome?;
    if json {
        output::print_json(&serde_json::to_value(&report).unwrap_or_default());
    } else {
        output::print(&render_replay(&report));
    }
    Ok(report.exit())
}

/// Sends one DLQ message back: same body; on a FIFO target its group and a replay deduplication id.
async fn send_back(
    client: &Client,
    target: &QueueRef,
    message: &QuarantinedMessage,
) -> Result<Option<String>, CliError> {
    let mut request = client
        .send_message()
        .queue_url(&target.url)
        .message_body(&message.body);
    if target.is_fifo() {
        request = request
            .message_group_id(
                message
                    .message_group_id
                    .clone()
                    .unwrap_or_else(|| DEFAULT_GROUP.to_owned()),
            )
            .message_deduplication_id(replay_deduplication_id(&message.message_id));
    }
    let answer = request
        .send()
        .await
        .map_err(|error| CliError::sqs("SendMessage", &target.name, &error))?;
    Ok(answer.message_id)
}

/// The readable replay summary.
pub fn render_replay(report: &ReplayReport) -> String {
    let counts: BTreeMap<&str, usize> = [
        ("moved", report.count(&ReplayStatus::Moved)),
        ("would move", report.count(&ReplayStatus::WouldMove)),
        (
            "sent but not deleted",
            report.count(&ReplayStatus::SentNotDeleted),
        ),
        ("failed", report.count(&ReplayStatus::Failed)),
        ("held for order", report.count(&ReplayStatus::HeldForOrder)),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .collect();
    let summary: Vec<String> = counts
        .iter()
        .map(|(what, n)| format!("{n} {what}"))
        .collect();
    format!(
        "{}{} → {}: {}\n",
        if report.dry_run { "(dry run) " } else { "" },
        report.queue,
        report.to,
        if summary.is_empty() {
            "the DLQ is empty".to_owned()
        } else {
            summary.join(", ")
        }
    )
}

#[cfg(test)]
mod tests;
