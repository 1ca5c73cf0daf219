//! The registry-relay Lambda: moves registry events from the ingest queues, where EventBridge rules put
//! them, onto their SQS FIFO queues under one message group per object (design §4: order per object, not
//! per deployment). EventBridge rule targets can set only a fixed `MessageGroupId`; the group of an event
//! is computed by core ([`govsync_core::relay`]) from the same decoding the consumers use.
//!
//! | Variable | Required | Meaning |
//! |---|---|---|
//! | `GOVSYNC_RELAY_ROUTES` | yes | `ingest-queue-name=fifo-queue-url`, comma separated: where each ingest queue's messages go |
//!
//! Bodies are forwarded unchanged, deduplicated by their SHA-256 (what content-based deduplication
//! would do), so a relay retried after a partial failure adds nothing twice. Messages of one group are
//! sent one after the other, groups concurrently; a failed send is a batch item failure (the ingest
//! queue redelivers it), and nothing is dropped: a message from a queue without a route fails too.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use govsync_adapters::queue::SqsMessageQueue;
use govsync_core::ports::{MessageQueue, OutgoingMessage, QueueError};
use govsync_lambda::RuntimeError;
use govsync_lambda::sqs_batch::run_in_groups;
use lambda_runtime::LambdaEvent;
use sha2::{Digest, Sha256};

/// The variable naming each ingest queue's FIFO queue.
pub const ROUTES_VARIABLE: &str = "GOVSYNC_RELAY_ROUTES";

/// Why the function cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {ROUTES_VARIABLE} is not set")]
    MissingRoutes,
    #[error(
        "environment variable {ROUTES_VARIABLE}: {0:?} is not `ingest-queue-name=fifo-queue-url`"
    )]
    BadRoute(String),
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

/// The relay over any queue port (tests pass fakes).
pub struct Relay<Q> {
    routes: Vec<(String, Q)>,
}

impl Relay<SqsMessageQueue> {
    /// Builds the relay from the process environment and the default AWS configuration.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let routes =
            parse_routes(&std::env::var(ROUTES_VARIABLE).map_err(|_| ConfigError::MissingRoutes)?)?;
        let sdk = govsync_adapters::aws::load_sdk_config().await;
        let client = govsync_adapters::aws::sqs_client(&sdk);
        Ok(Relay::new(
            routes
                .into_iter()
                .map(|(name, url)| (name, SqsMessageQueue::new(client.clone(), url)))
                .collect(),
        ))
    }
}

/// Why one message was not relayed.
#[derive(Debug, thiserror::Error)]
enum RelayError {
    #[error("no route for ingest queue {0:?} in {ROUTES_VARIABLE}")]
    NoRoute(String),
    #[error(transparent)]
    Send(#[from] QueueError),
}

impl<Q: MessageQueue> Relay<Q> {
    pub fn new(routes: Vec<(String, Q)>) -> Self {
        Self { routes }
    }

    fn route(&self, record: &SqsMessage) -> Result<&Q, RelayError> {
        let source = record.event_source_arn.as_deref().unwrap_or_default();
        let name = source.rsplit(':').next().unwrap_or_default();
        self.routes
            .iter()
            .find(|(ingest, _)| ingest == name)
            .map(|(_, queue)| queue)
            .ok_or_else(|| RelayError::NoRoute(name.to_owned()))
    }

    async fn relay_one(&self, record: &SqsMessage, group: &str) -> Result<(), RelayError> {
        let queue = self.route(record)?;
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
                result.is_ok()
            },
            |relayed| !relayed,
            |_| false,
        )
        .await;
        let mut response = SqsBatchResponse::default();
        for (record, relayed) in records.iter().zip(results) {
            if relayed {
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

impl<Q: MessageQueue> govsync_lambda::SqsFunction for Relay<Q> {
    async fn handle(&self, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, RuntimeError> {
        Relay::handle(self, event).await
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use govsync_adapters::fakes::FakeMessageQueue;
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
        let relay = Relay::new(vec![(
            "registry-events-ingest".to_owned(),
            FakeMessageQueue::new(),
        )]);
        let records = vec![
            record("m1", &state_change("churn", 1), INGEST_ARN),
            record("m2", &state_change("fraud", 1), INGEST_ARN),
            record("m3", &state_change("churn", 2), INGEST_ARN),
            record("m4", "not json", INGEST_ARN),
        ];
        let response = relay.handle(event(records)).await.unwrap();
        assert!(response.batch_item_failures.is_empty());
        let sent = relay.routes[0].1.messages();
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
        let relay = Relay::new(vec![(
            "registry-events-ingest".to_owned(),
            FakeMessageQueue::new(),
        )]);
        relay.routes[0].1.fail_next(
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
        assert!(relay.routes[0].1.messages().is_empty());
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
