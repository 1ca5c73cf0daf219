//! The registry-relay Lambda: moves registry events from the ingest queues, where EventBridge rules put
//! them, onto their SQS FIFO queues under one message group per object (design §4: order per object, not
//! per deployment). EventBridge rule targets can set only a fixed `MessageGroupId`; the group of an event
//! is computed by core ([`govsync_core::relay`]) from the same decoding the consumers use.
//!
//! | Variable | Required | Meaning |
//! |---|---|---|
//! | `GOVSYNC_RELAY_ROUTES` | yes | `ingest-queue-name=fifo-queue-url`, comma separated: where each ingest queue's messages go |
//! | `GOVSYNC_RELAY_DEAD_LETTER_QUEUES` | yes | `ingest-queue-name=dlq-url`, comma separated: each routed ingest queue's DLQ, where a message govsync gives up on goes with its reason |
//!
//! Bodies are forwarded unchanged, deduplicated by their SHA-256 (what content-based deduplication
//! would do), so a relay retried after a partial failure adds nothing twice. Messages of one group are
//! sent one after the other, groups concurrently; a failed send is a batch item failure (the ingest
//! queue redelivers it), and nothing is dropped: a message from a queue without a route fails too.
//! On govsync's last receive ([`MAX_RECEIVE_COUNT`]) a message still not relayed, or still held
//! behind one of its group that was not, goes to its ingest queue's DLQ with `retries_exhausted` and
//! the last error, before the queue's redrive policy could move it there without one.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use govsync_adapters::queue::SqsMessageQueue;
use govsync_adapters::sqs::SqsQuarantine;
use govsync_core::ports::{
    MessageQueue, OutgoingMessage, Quarantine, QuarantinedMessage, QueueError,
};
use govsync_lambda::RuntimeError;
use govsync_lambda::sqs_batch::{MAX_RECEIVE_COUNT, RETRIES_EXHAUSTED, run_in_groups};
use lambda_runtime::LambdaEvent;
use sha2::{Digest, Sha256};

/// The variable naming each ingest queue's FIFO queue.
pub const ROUTES_VARIABLE: &str = "GOVSYNC_RELAY_ROUTES";
/// The variable naming each ingest queue's dead-letter queue.
pub const DEAD_LETTER_QUEUES_VARIABLE: &str = "GOVSYNC_RELAY_DEAD_LETTER_QUEUES";

/// Why the function cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {ROUTES_VARIABLE} is not set")]
    MissingRoutes,
    #[error(
        "environment variable {ROUTES_VARIABLE}: {0:?} is not `ingest-queue-name=fifo-queue-url`"
    )]
    BadRoute(String),
    #[error(
        "environment variable {DEAD_LETTER_QUEUES_VARIABLE}: {0:?} is not `ingest-queue-name=dlq-url`"
    )]
    BadDeadLetterQueue(String),
    #[error(
        "environment variable {DEAD_LETTER_QUEUES_VARIABLE} names no dead-letter queue for ingest queue {0:?}"
    )]
    MissingDeadLetterQueue(String),
}

/// `(ingest queue name, DLQ URL)` pairs from `GOVSYNC_RELAY_DEAD_LETTER_QUEUES`.
pub fn parse_dead_letter_queues(value: &str) -> Result<Vec<(String, String)>, ConfigError> {
    value
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| match entry.split_once('=') {
            Some((name, url)) if !name.trim().is_empty() && !url.trim().is_empty() => {
                Ok((name.trim().to_owned(), url.trim().to_owned()))
            }
            _ => Err(ConfigError::BadDeadLetterQueue(entry.to_owned())),
        })
        .collect()
}

/// One ingest queue: the FIFO queue its messages go to, and its own DLQ.
pub struct Route<Q, D> {
    pub ingest_queue: String,
    pub fifo: Q,
    pub dead_letters: D,
}

/// `(ingest queue name, FIFO queue URL)` pairs from `GOVSYNC_RELAY_ROUTES`.
pub fn parse_routes(value: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let routes: Vec<(String, String)> = value
        .split(',')
        .map(str::trim)
        .filter(|route| !route.is_empty())
        .map(|route| match route.split_once('=') {
            Some((name, url)) if !name.trim().is_empty() && url.trim().ends_with(".fifo") => {
                Ok((name.trim().to_owned(), url.trim().to_owned()))
            }
            _ => Err(ConfigError::BadRoute(route.to_owned())),
        })
        .collect::<Result<_, _>>()?;
    if routes.is_empty() {
        return Err(ConfigError::MissingRoutes);
    }
    Ok(routes)
}

/// The relay over any queue and quarantine ports (tests pass fakes).
pub struct Relay<Q, D> {
    routes: Vec<Route<Q, D>>,
}

impl Relay<SqsMessageQueue, SqsQuarantine> {
    /// Builds the relay from the process environment and the default AWS configuration.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let routes =
            parse_routes(&std::env::var(ROUTES_VARIABLE).map_err(|_| ConfigError::MissingRoutes)?)?;
        let dead_letter_queues = parse_dead_letter_queues(
            &std::env::var(DEAD_LETTER_QUEUES_VARIABLE).unwrap_or_default(),
        )?;
        let sdk = govsync_adapters::aws::load_sdk_config().await;
        let client = govsync_adapters::aws::sqs_client(&sdk);
        let routes = routes
            .into_iter()
            .map(|(ingest_queue, url)| {
                let dlq = dead_letter_queues
                    .iter()
                    .find(|(name, _)| *name == ingest_queue)
                    .map(|(_, dlq)| dlq.clone())
                    .ok_or_else(|| ConfigError::MissingDeadLetterQueue(ingest_queue.clone()))?;
                Ok(Route {
                    fifo: SqsMessageQueue::new(client.clone(), url),
                    dead_letters: SqsQuarantine::new(client.clone(), dlq),
                    ingest_queue,
                })
            })
            .collect::<Result<_, ConfigError>>()?;
        Ok(Relay::new(routes))
    }
}

/// Why one message was not relayed.
#[derive(Debug, thiserror::Error)]
enum RelayError {
    #[error("no route for ingest queue {0:?} in {ROUTES_VARIABLE}")]
    NoRoute(String),
    #[error(transparent)]
    Send(#[from] QueueError),
    #[error("held behind a message of its group that was not relayed")]
    Held,
}

/// SQS's `ApproximateReceiveCount` (1 when absent).
fn receive_count(record: &SqsMessage) -> u32 {
    record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|count| count.parse().ok())
        .unwrap_or(1)
}

impl<Q: MessageQueue, D: Quarantine> Relay<Q, D> {
    pub fn new(routes: Vec<Route<Q, D>>) -> Self {
        Self { routes }
    }

    fn route(&self, record: &SqsMessage) -> Result<&Route<Q, D>, RelayError> {
        let source = record.event_source_arn.as_deref().unwrap_or_default();
        let name = source.rsplit(':').next().unwrap_or_default();
        self.routes
            .iter()
            .find(|route| route.ingest_queue == name)
            .ok_or_else(|| RelayError::NoRoute(name.to_owned()))
    }

    /// On govsync's last receive, a message not relayed goes to its ingest queue's DLQ with its
    /// reason; `true` when it is there (acknowledged), `false` when it must return to the queue.
    async fn give_up(&self, record: &SqsMessage, error: &RelayError) -> bool {
        let receives = receive_count(record);
        if receives < MAX_RECEIVE_COUNT {
            return false;
        }
        // A queue without a route has no known DLQ either: only the redrive policy is left.
        let Ok(route) = self.route(record) else {
            return false;
        };
        let message_id = record.message_id.as_deref().unwrap_or_default();
        let quarantined = route
            .dead_letters
            .quarantine(&QuarantinedMessage {
                body: record.body.clone().unwrap_or_default(),
                message_group_id: route.ingest_queue.clone(),
                deduplication_id: message_id.to_owned(),
                reason: format!(
                    "retries exhausted: not relayed after {receives} receives: {error}"
                ),
                error_code: RETRIES_EXHAUSTED.to_owned(),
                source_message_id: message_id.to_owned(),
            })
            .await;
        match quarantined {
            Ok(()) => {
                tracing::error!(message_id, error = %error, "not relayed: sent to the ingest DLQ");
                true
            }
            Err(quarantine_error) => {
                tracing::error!(message_id, error = %quarantine_error, "the ingest DLQ refused the message: it returns to the queue");
                false
            }
        }
    }

    async fn relay_one(&self, record: &SqsMessage, group: &str) -> Result<(), RelayError> {
        let queue = &self.route(record)?.fifo;
        let body = record.body.clone().unwrap_or_default();
        let deduplication_id = hex(&Sha256::digest(body.as_bytes()));
        queue
            .send(&OutgoingMessage {
                body,
                message_group_id: group.to_owned(),
                deduplication_id,
            })
            .await?;
        Ok(())
    }

    /// Relays one batch; the partial batch response names every message not relayed.
    pub async fn handle(
        &self,
        event: LambdaEvent<SqsEvent>,
    ) -> Result<SqsBatchResponse, RuntimeError> {
        let records = &event.payload.records;
        let groups: Vec<String> = records
            .iter()
            .map(|record| {
                govsync_core::relay::relay_group(
                    record.body.as_deref().unwrap_or_default(),
                    record.message_id.as_deref().unwrap_or_default(),
                )
            })
            .collect();
        let indexed: Vec<(usize, &SqsMessage)> = records.iter().enumerate().collect();
        let groups = &groups;
        let results = run_in_groups(
            &indexed,
            |_, (index, _)| groups[*index].clone(),
            |(index, record)| async move {
                let result = self.relay_one(record, &groups[*index]).await;
                match &result {
                    Ok(()) => tracing::info!(
                        message_id = record.message_id.as_deref().unwrap_or_default(),
                        group = groups[*index],
                        "relayed"
                    ),
                    Err(error) => tracing::warn!(
                        message_id = record.message_id.as_deref().unwrap_or_default(),
                        error = %error,
                        "not relayed: the message returns to the ingest queue"
                    ),
                }
                result
            },
            |result| result.is_err(),
            |_| Err(RelayError::Held),
        )
        .await;
        let mut response = SqsBatchResponse::default();
        for (record, result) in records.iter().zip(results) {
            let Err(error) = result else {
                continue;
            };
            if self.give_up(record, &error).await {
                continue;
            }
            let Some(id) = record.message_id.clone() else {
                return Err(RuntimeError::UnidentifiedFailures(1));
            };
            let mut failure = aws_lambda_events::sqs::BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
        Ok(response)
    }
}

impl<Q: MessageQueue, D: Quarantine> govsync_lambda::SqsFunction for Relay<Q, D> {
    async fn handle(&self, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, RuntimeError> {
        Relay::handle(self, event).await
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use govsync_adapters::fakes::{FakeMessageQueue, FakeQuarantine};
    use lambda_runtime::Context;

    use super::*;

    const INGEST_ARN: &str = "arn:aws:sqs:us-east-1:123456789012:registry-events-ingest";

    fn state_change(group: &str, version: u32) -> String {
        serde_json::json!({
            "version": "0", "id": format!("e-{group}-{version}"),
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

    fn relay() -> Relay<FakeMessageQueue, FakeQuarantine> {
        Relay::new(vec![Route {
            ingest_queue: "registry-events-ingest".to_owned(),
            fifo: FakeMessageQueue::new(),
            dead_letters: FakeQuarantine::new(),
        }])
    }

    fn record(id: &str, body: &str, source: &str) -> SqsMessage {
        let mut record = SqsMessage::default();
        record.message_id = Some(id.to_owned());
        record.body = Some(body.to_owned());
        record.event_source_arn = Some(source.to_owned());
        record
    }

    fn event(records: Vec<SqsMessage>) -> LambdaEvent<SqsEvent> {
        let mut payload = SqsEvent::default();
        payload.records = records;
        LambdaEvent::new(payload, Context::default())
    }

    fn failed(response: &SqsBatchResponse) -> Vec<&str> {
        response
            .batch_item_failures
            .iter()
            .map(|failure| failure.item_identifier.as_str())
            .collect()
    }

    #[tokio::test]
    async fn each_event_goes_to_its_fifo_queue_under_its_groups_id_in_order() {
        let relay = relay();
        let records = vec![
            record("m1", &state_change("churn", 1), INGEST_ARN),
            record("m2", &state_change("fraud", 1), INGEST_ARN),
            record("m3", &state_change("churn", 2), INGEST_ARN),
            record("m4", "not json", INGEST_ARN),
        ];
        let response = relay.handle(event(records)).await.unwrap();
        assert!(response.batch_item_failures.is_empty());
        let sent = relay.routes[0].fifo.messages();
        let groups: Vec<&str> = sent.iter().map(|m| m.message_group_id.as_str()).collect();
        let churn: Vec<&str> = sent
            .iter()
            .filter(|m| m.message_group_id == "group:churn")
            .map(|m| m.body.as_str())
            .collect();
        assert_eq!(churn, [state_change("churn", 1), state_change("churn", 2)]);
        assert!(groups.contains(&"group:fraud") && groups.contains(&"message:m4"));
        assert_eq!(sent.len(), 4);
    }

    #[tokio::test]
    async fn a_failed_send_and_everything_after_it_in_its_group_return_to_the_ingest_queue() {
        let relay = relay();
        relay.routes[0].fifo.fail_next(
            "send",
            QueueError::Transport {
                message: "down".into(),
            },
        );
        let records = vec![
            record("m1", &state_change("churn", 1), INGEST_ARN),
            record("m2", &state_change("churn", 2), INGEST_ARN),
            record(
                "m3",
                &state_change("fraud", 1),
                "arn:aws:sqs:us-east-1:123456789012:unknown",
            ),
        ];
        let response = relay.handle(event(records)).await.unwrap();
        assert_eq!(failed(&response), ["m1", "m2", "m3"]);
        assert!(relay.routes[0].fifo.messages().is_empty());
    }

    fn on_receive(mut record: SqsMessage, count: u32) -> SqsMessage {
        record
            .attributes
            .insert("ApproximateReceiveCount".into(), count.to_string());
        record
    }

    /// Issue 14, 2: on govsync's last receive a message still not relayed, and the one held behind it
    /// in its group, go to the ingest DLQ with `retries_exhausted` and the send's error; before that
    /// they return to the queue. A queue without a route has no DLQ to name: it stays a failure.
    #[tokio::test]
    async fn on_the_last_receive_a_message_not_relayed_goes_to_the_ingest_dlq_with_its_reason() {
        let relay = relay();
        relay.routes[0].fifo.fail_next(
            "send",
            QueueError::Transport {
                message: "connection reset".into(),
            },
        );
        let records = vec![
            on_receive(
                record("m1", &state_change("churn", 1), INGEST_ARN),
                MAX_RECEIVE_COUNT,
            ),
            on_receive(
                record("m2", &state_change("churn", 2), INGEST_ARN),
                MAX_RECEIVE_COUNT,
            ),
            on_receive(
                record(
                    "m3",
                    &state_change("fraud", 1),
                    "arn:aws:sqs:us-east-1:123456789012:unknown",
                ),
                MAX_RECEIVE_COUNT,
            ),
        ];
        let response = relay.handle(event(records)).await.unwrap();
        assert_eq!(failed(&response), ["m3"]);
        let dead = relay.routes[0].dead_letters.messages();
        assert_eq!(dead.len(), 2, "{dead:?}");
        assert!(dead.iter().all(|m| m.error_code == RETRIES_EXHAUSTED));
        assert_eq!(dead[0].source_message_id, "m1");
        assert!(
            dead[0].reason.contains("connection reset"),
            "{}",
            dead[0].reason
        );
        assert_eq!(dead[0].body, state_change("churn", 1));
        assert!(dead[1].reason.contains("held behind"), "{}", dead[1].reason);

        let relay = relay_with_failing_send();
        let early = vec![on_receive(
            record("m1", &state_change("churn", 1), INGEST_ARN),
            MAX_RECEIVE_COUNT - 1,
        )];
        let response = relay.handle(event(early)).await.unwrap();
        assert_eq!(failed(&response), ["m1"]);
        assert!(relay.routes[0].dead_letters.messages().is_empty());
    }

    fn relay_with_failing_send() -> Relay<FakeMessageQueue, FakeQuarantine> {
        let relay = relay();
        relay.routes[0].fifo.fail_next(
            "send",
            QueueError::Transport {
                message: "down".into(),
            },
        );
        relay
    }

    #[test]
    fn every_routed_ingest_queue_has_a_dead_letter_queue() {
        let dlqs =
            parse_dead_letter_queues("registry-events-ingest=http://q/registry-events-ingest-dlq")
                .unwrap();
        assert_eq!(dlqs[0].1, "http://q/registry-events-ingest-dlq");
        assert!(parse_dead_letter_queues("registry-events-ingest").is_err());
    }

    #[test]
    fn routes_name_an_ingest_queue_and_a_fifo_url() {
        let routes = parse_routes(
            "registry-events-ingest=http://q/registry-events.fifo, decommission-ingest=http://q/decommission.fifo",
        )
        .unwrap();
        assert_eq!(routes.len(), 2);
        assert_eq!(routes[1].0, "decommission-ingest");
        assert!(parse_routes("").is_err());
        assert!(parse_routes("a=http://q/standard").is_err());
    }
}
