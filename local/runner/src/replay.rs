//! Putting an EventBridge event file onto a queue as the EventBridge rule would, and finding out what
//! became of it (processed, or quarantined in the DLQ with its reason).

use std::collections::BTreeMap;

use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use serde_json::Value;

use crate::error::RunnerError;
use crate::lambda_shape::QueueIdentity;

/// govsync's messaging wiring, the same file the local bootstrap and the infra templates follow.
const WIRING: &str = include_str!("../../wiring.json");

/// The `MessageGroupId` `envelope` reaches `queue_name` under, per wiring.json: a rule takes it to an
/// ingest queue that relays to `queue_name`, and the registry-relay groups it by its object
/// ([`govsync_core::relay::relay_group`]; `replay_message_id` names an event that names no object).
pub fn message_group_for(
    envelope: &Value,
    queue_name: &str,
    replay_message_id: &str,
) -> Result<String, RunnerError> {
    let wiring: Value = serde_json::from_str(WIRING).map_err(|error| RunnerError::Setting {
        name: "local/wiring.json".into(),
        problem: format!("not JSON: {error}"),
    })?;
    let relayed_to = |ingest: &Value| {
        wiring["ingest_queues"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|queue| queue["name"] == *ingest && queue["relay_to"] == queue_name)
    };
    let rules = wiring["rules"].as_array().cloned().unwrap_or_default();
    rules
        .iter()
        .filter(|rule| relayed_to(&rule["target_queue"]))
        .find(|rule| pattern_matches(&rule["event_pattern"], envelope))
        .map(|_| govsync_core::relay::relay_group(&envelope.to_string(), replay_message_id))
        .ok_or_else(|| RunnerError::EventFile {
            path: String::new(),
            problem: format!(
                "no rule in local/wiring.json takes this event (source {}, detail-type {}) to {queue_name}",
                envelope["source"], envelope["detail-type"]
            ),
        })
}

/// EventBridge pattern matching for what wiring.json uses: nested objects, and arrays of allowed
/// strings (plus `{"exists": bool}`).
fn pattern_matches(pattern: &Value, event: &Value) -> bool {
    let Some(fields) = pattern.as_object() else {
        return false;
    };
    fields.iter().all(|(name, expected)| {
        let actual = event.get(name);
        match expected {
            Value::Object(_) => actual.is_some_and(|actual| pattern_matches(expected, actual)),
            Value::Array(allowed) => allowed.iter().any(|allowed| match allowed {
                Value::Object(operator) => match operator.get("exists") {
                    Some(Value::Bool(exists)) => actual.is_some() == *exists,
                    _ => false,
                },
                literal => actual == Some(literal),
            }),
            _ => false,
        }
    })
}

/// Reads and checks an EventBridge event file: a JSON object with `source`, `detail-type` and `detail`.
pub fn read_event_file(path: &std::path::Path) -> Result<(String, Value), RunnerError> {
    let event_file_error = |problem: String| RunnerError::EventFile {
        path: path.display().to_string(),
        problem,
    };
    let text =
        std::fs::read_to_string(path).map_err(|error| event_file_error(error.to_string()))?;
    let envelope: Value = serde_json::from_str(&text)
        .map_err(|error| event_file_error(format!("not JSON: {error}")))?;
    for member in ["source", "detail-type", "detail"] {
        if envelope.get(member).is_none() {
            return Err(event_file_error(format!(
                "not an EventBridge event: no {member:?} member"
            )));
        }
    }
    // The body is the envelope as EventBridge serialises it: compact JSON.
    Ok((envelope.to_string(), envelope))
}

/// Sends `body` to the queue in `group`. The deduplication id is fresh, so replaying the same file again
/// within SQS's five-minute deduplication window is delivered (and exercises the function's idempotency)
/// instead of being dropped by the queue.
pub async fn enqueue(
    client: &aws_sdk_sqs::Client,
    queue: &QueueIdentity,
    body: &str,
    group: &str,
) -> Result<String, RunnerError> {
    let answer = client
        .send_message()
        .queue_url(&queue.url)
        .message_body(body)
        .message_group_id(group)
        .message_deduplication_id(uuid::Uuid::new_v4().simple().to_string())
        .send()
        .await
        .map_err(|error| RunnerError::sqs("SendMessage", &queue.name, &error))?;
    answer.message_id.ok_or_else(|| RunnerError::Queue {
        queue: queue.name.clone(),
        problem: "SendMessage answered without a MessageId".into(),
    })
}

/// The URL of the queue's dead-letter queue, from its redrive policy.
pub async fn dead_letter_queue_url(
    client: &aws_sdk_sqs::Client,
    queue: &QueueIdentity,
) -> Result<Option<String>, RunnerError> {
    let attributes = client
        .get_queue_attributes()
        .queue_url(&queue.url)
        .attribute_names(QueueAttributeName::RedrivePolicy)
        .send()
        .await
        .map_err(|error| RunnerError::sqs("GetQueueAttributes", &queue.name, &error))?
        .attributes
        .unwrap_or_default();
    let Some(policy) = attributes.get(&QueueAttributeName::RedrivePolicy) else {
        return Ok(None);
    };
    let policy: Value = serde_json::from_str(policy).map_err(|error| RunnerError::Queue {
        queue: queue.name.clone(),
        problem: format!("RedrivePolicy is not JSON: {error}"),
    })?;
    let Some(dlq_arn) = policy["deadLetterTargetArn"].as_str() else {
        return Ok(None);
    };
    let dlq_name = dlq_arn.rsplit(':').next().unwrap_or(dlq_arn);
    let url = client
        .get_queue_url()
        .queue_name(dlq_name)
        .send()
        .await
        .map_err(|error| RunnerError::sqs("GetQueueUrl", dlq_name, &error))?
        .queue_url;
    Ok(url)
}

/// A message found in a DLQ: its id, system attributes and message attributes (the quarantine reason).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeadLetter {
    pub message_id: String,
    pub attributes: BTreeMap<String, String>,
    pub message_attributes: BTreeMap<String, String>,
}

/// Looks in the DLQ for the message with `body` (moved there by the redrive policy, or sent there by the
/// function with the same body) or one whose attributes name `message_id`. It is received with a zero
/// visibility timeout, so it stays available to anyone else.
pub async fn find_dead_letter(
    client: &aws_sdk_sqs::Client,
    dlq_url: &str,
    body: &str,
    message_id: &str,
) -> Result<Option<DeadLetter>, RunnerError> {
    let answer = client
        .receive_message()
        .queue_url(dlq_url)
        .max_number_of_messages(10)
        .visibility_timeout(0)
        .wait_time_seconds(0)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .message_attribute_names("All")
        .send()
        .await
        .map_err(|error| RunnerError::sqs("ReceiveMessage", dlq_url, &error))?;
    for message in answer.messages.unwrap_or_default() {
        let message_attributes: BTreeMap<String, String> = message
            .message_attributes()
            .map(|attributes| {
                attributes
                    .iter()
                    .map(|(name, value)| {
                        (
                            name.clone(),
                            value.string_value().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let names_our_message = message.message_id() == Some(message_id)
            || message_attributes.values().any(|value| value == message_id);
        if message.body() == Some(body) || names_our_message {
            return Ok(Some(DeadLetter {
                message_id: message.message_id().unwrap_or_default().to_owned(),
                attributes: crate::lambda_shape::attribute_map(&message)
                    .into_iter()
                    .collect(),
                message_attributes,
            }));
        }
    }
    Ok(None)
}

/// Credentials `replay-event` reads governance with (the governance emulator's basic user), not the
/// function's.
const GOVERNANCE_READER_USER: &str = "admin";
const GOVERNANCE_READER_PASSWORD: &str = "admin";

/// What to replay, and how long to wait for it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayRequest {
    /// The EventBridge event file.
    pub file: std::path::PathBuf,
    /// The queue (name or URL) the event goes on, as its EventBridge rule would put it.
    pub queue: String,
    /// The function's configured timeout.
    pub function_timeout: std::time::Duration,
    /// How long to poll for the message to be finished.
    pub wait: std::time::Duration,
}

/// What became of a replayed event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayOutcome {
    Processed,
    Quarantined,
    NotProcessedInTime,
}

impl ReplayOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplayOutcome::Processed => "processed",
            ReplayOutcome::Quarantined => "quarantined",
            ReplayOutcome::NotProcessedInTime => "not processed in time",
        }
    }
}

/// The replay's outcome and its JSON report (the event, the batches that carried it, its dead letter
/// if quarantined, and the resulting governance objects).
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayReport {
    pub outcome: ReplayOutcome,
    pub json: Value,
}

/// `replay-event`: puts the event file on the queue in the message group its EventBridge rule gives
/// it, runs registry-events on the queue (built from the process environment, as at a cold start) until
/// the message is finished or `wait` passes, looks for it in the DLQ, and reads what governance holds
/// for its package and group. The process environment must be the function's
/// ([`crate::local_env::set_function_environment`]).
pub async fn replay_event(request: &ReplayRequest) -> Result<ReplayReport, RunnerError> {
    use std::time::Instant;

    use crate::event_source::{PollSettings, SqsEventSource};
    use crate::governance_view::GovernanceReader;
    use crate::lambda_invoke::{
        function_identity, region, registry_events_handler, report_json, sqs_client,
    };

    let file = request.file.as_path();
    let (body, envelope) = read_event_file(file)?;
    let queue_name = request.queue.rsplit('/').next().unwrap_or(&request.queue);
    let group =
        message_group_for(&envelope, queue_name, "replay").map_err(|error| match error {
            RunnerError::EventFile { problem, .. } => RunnerError::EventFile {
                path: file.display().to_string(),
                problem,
            },
            other => other,
        })?;
    let (package_arn, group_arn, decode_error) = event_subject(&envelope);

    let handler = registry_events_handler().await?;
    let client = sqs_client().await;
    let mut source = SqsEventSource::connect(
        client.clone(),
        &request.queue,
        &region(),
        function_identity("registry-events", request.function_timeout),
        PollSettings::default(),
    )
    .await?;
    let message_id = enqueue(&client, source.queue(), &body, &group).await?;
    tracing::info!(message_id = %message_id, group = %group, "event enqueued");

    let deadline = Instant::now() + request.wait;
    let mut batches = Vec::new();
    let mut handled = false;
    while Instant::now() < deadline {
        if let Some(report) = source.poll_once(&handler).await? {
            if report.delivered.contains(&message_id) {
                batches.push(report_json(&report));
            }
            if report.deleted.contains(&message_id) {
                handled = true;
                break;
            }
        }
    }
    let dead_letter = match dead_letter_queue_url(&client, source.queue()).await? {
        Some(dlq_url) => find_dead_letter(&client, &dlq_url, &body, &message_id).await?,
        None => None,
    };
    let outcome = match (&dead_letter, handled) {
        (Some(_), _) => ReplayOutcome::Quarantined,
        (None, true) => ReplayOutcome::Processed,
        (None, false) => ReplayOutcome::NotProcessedInTime,
    };
    let governance_url =
        std::env::var("GOVSYNC_GOVERNANCE_URL").map_err(|_| RunnerError::Setting {
            name: "GOVSYNC_GOVERNANCE_URL".into(),
            problem: "not set".into(),
        })?;
    let reader = GovernanceReader::new(
        &governance_url,
        GOVERNANCE_READER_USER,
        GOVERNANCE_READER_PASSWORD,
    )?;
    let governance = reader
        .view(package_arn.as_deref(), group_arn.as_deref())
        .await?;
    let note = explain(
        &governance,
        outcome,
        &dead_letter,
        decode_error.as_deref(),
        request.wait,
    );
    let json = serde_json::json!({
        "event": {
            "file": file.display().to_string(),
            "source": envelope["source"],
            "detail-type": envelope["detail-type"],
            "package_arn": package_arn,
            "group_arn": group_arn,
        },
        "message_id": message_id,
        "message_group_id": group,
        "outcome": outcome.as_str(),
        "batches": batches,
        "dead_letter": dead_letter,
        "governance": governance,
        "note": note,
    });
    Ok(ReplayReport { outcome, json })
}

/// The package ARN and group ARN the event is about, and why it does not decode (if it does not).
fn event_subject(envelope: &Value) -> (Option<String>, Option<String>, Option<String>) {
    match govsync_core::registry_event::decode_envelope_value(envelope) {
        Ok(event) => {
            let package_arn = event.package_arn().map(|arn| arn.as_str().to_owned());
            let group_arn = match event.package_arn() {
                Some(arn) => Some(arn.group_arn().as_str().to_owned()),
                None => event.group_name().map(|name| {
                    let origin = event.origin();
                    format!(
                        "arn:aws:sagemaker:{}:{}:model-package-group/{}",
                        origin.region,
                        origin.account,
                        name.as_str().to_lowercase()
                    )
                }),
            };
            (package_arn, group_arn, None)
        }
        Err(error) => (None, None, Some(error.to_string())),
    }
}

fn explain(
    governance: &Value,
    outcome: ReplayOutcome,
    dead_letter: &Option<DeadLetter>,
    decode_error: Option<&str>,
    wait: std::time::Duration,
) -> String {
    if let Some(letter) = dead_letter {
        let reason = if letter.message_attributes.is_empty() {
            "no reason attributes (moved by the queue's redrive policy after maxReceiveCount receives)"
                .to_owned()
        } else {
            format!("{:?}", letter.message_attributes)
        };
        return format!("the message was quarantined in the DLQ: {reason}");
    }
    if let Some(error) = decode_error {
        return format!("the event does not decode as a registry event: {error}");
    }
    if outcome != ReplayOutcome::Processed {
        return format!(
            "the function did not finish the message within {} s; it stays in the queue and is retried after its visibility timeout (see the batches' outcomes)",
            wait.as_secs_f64()
        );
    }
    match (
        governance["model"].is_null(),
        governance["model_group"].is_null(),
        governance["use_case"].is_null(),
    ) {
        (false, _, _) => "processed; the governance Model for the package is shown".to_owned(),
        (true, false, _) => {
            "processed; no governance Model has this package's ARN as External ID (the event creates none, e.g. a group event, or it was dropped as an echo or a stale event)".to_owned()
        }
        (true, true, _) => {
            "processed, but nothing exists in governance for it: the group has no use case (unassigned), the event was an echo, stale or a duplicate, or the registry is not in the registry map (see the runner's logs)".to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn state_change_goes_to_the_registry_group() {
        let envelope = json!({
            "source": "aws.sagemaker",
            "detail-type": "SageMaker Model Package State Change",
            "detail": {}
        });
        assert_eq!(
            message_group_for(&envelope, "registry-events.fifo", "r1")
                .ok()
                .as_deref(),
            Some("message:r1"),
            "an event naming no group is its own group"
        );
    }

    #[test]
    fn cloudtrail_call_is_matched_by_event_name() {
        let update = json!({
            "source": "aws.sagemaker",
            "detail-type": "AWS API Call via CloudTrail",
            "detail": {"eventSource": "sagemaker.amazonaws.com", "eventName": "UpdateModelPackage"}
        });
        assert!(message_group_for(&update, "registry-events.fifo", "r1").is_ok());
        let delete = json!({
            "source": "aws.sagemaker",
            "detail-type": "AWS API Call via CloudTrail",
            "detail": {"eventSource": "sagemaker.amazonaws.com", "eventName": "DeleteModelPackage"}
        });
        assert!(message_group_for(&delete, "registry-events.fifo", "r1").is_err());
        assert_eq!(
            message_group_for(&delete, "decommission.fifo", "r1")
                .ok()
                .as_deref(),
            Some("message:r1")
        );
    }

    #[test]
    fn event_of_another_source_is_refused() {
        let envelope = json!({"source": "aws.s3", "detail-type": "Object Created", "detail": {}});
        assert!(message_group_for(&envelope, "registry-events.fifo", "r1").is_err());
    }
}
