//! approval-propagation: governance changes into the registry (flows F1 and F4, and the hand-off of
//! F6), as an SQS FIFO batch Lambda on `governance-events.fifo` (`LambdaEvent<SqsEvent>` →
//! `SqsBatchResponse`).
//!
//! Per message (a [`GovernanceEvent`](govsync_core::governance_event::GovernanceEvent) from the webhook
//! or the poller, a hint only): re-read the object from the governance API; claim the business key
//! *object id + the object's revision* (`Last Modification Date`) in the idempotency table (Powertools
//! protocol, claim until the invocation deadline, released on failure, completed on success), so a
//! webhook delivery and a poll of the same change are one piece of work whatever SQS's 5-minute
//! deduplication window saw; then:
//!
//! - a **use case** `Approved for Development` (F1), under a business entity of the registry map: in
//!   that entity's registry, find or create the model package group (name from the use case, valid and
//!   unique; tags `govsync:use-case-id`, `govsync:business-entity`, `govsync:risk-level`), link it;
//!   find or create the governance model group under the use case (External ID = group ARN), link it;
//!   email the data-science team once (SES v2; the receipt is recorded in the links table before the
//!   message is acknowledged). A use case under no mapped entity is reported, not synced. Each step
//!   is skipped when the links table says it is done, so a redelivery makes no second group or email.
//! - a **model** status change (F4): unless no newer than the governance revision applied (links
//!   table) or govsync's own status write (our-write ledger, recorded by registry-events for `both`
//!   rows), set `ModelApprovalStatus` and `ModelLifeCycle` per the mapping spec, with who/when/which
//!   object in the descriptions, a `ClientToken` from the change, `govsync:rev`, and the write recorded
//!   in the ledger first so its echo through registry-events is dropped. A status the spec does not
//!   know is quarantined with the reason, never guessed.
//! - `Decommissioned` (model or use case, F6): a
//!   [`DecommissionRequest`](govsync_core::decommission_request::DecommissionRequest) on
//!   `decommission.fifo` for the `decommission` function.
//!
//! Order, batch failures and quarantine follow registry-events: messages of one (SQS group, object)
//! run in order and stop at the first failure; retryable errors are batch item failures; permanent
//! ones go to the DLQ with `govsync-reason`/`govsync-error-code` and are acknowledged.

pub mod config;
mod handler;
mod metrics;

use std::sync::Arc;

use aws_config::SdkConfig;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use govsync_adapters::aws::{dynamodb_client, sesv2_client, sqs_client};
use govsync_adapters::dynamodb::{DynamoIdempotencyStore, DynamoLinkStore};
use govsync_adapters::governance::{GovernanceClient, TypeIds};
use govsync_adapters::queue::SqsMessageQueue;
use govsync_adapters::sagemaker::SageMakerRegistry;
use govsync_adapters::ses::SesNotifier;
use govsync_adapters::sqs::SqsQuarantine;
use govsync_lambda::{RuntimeError, sqs_batch};
use lambda_runtime::LambdaEvent;

pub use config::{Config, ConfigError};
pub use govsync_flows::governance_change::{MessageError, Outcome, Settings};
pub use govsync_lambda::sqs_batch::claim_until;
pub use handler::{Handler, Ports};
pub use metrics::{BatchReport, FunctionReport};

/// The handler on the real adapters.
pub type LiveHandler = Handler<
    GovernanceClient,
    SageMakerRegistry,
    DynamoIdempotencyStore,
    DynamoLinkStore,
    SqsQuarantine,
    SesNotifier,
    SqsMessageQueue,
>;

/// The deployed function: configuration read and clients built once, at cold start.
pub struct Function {
    handler: LiveHandler,
    metrics_namespace: Option<String>,
}

impl Function {
    /// Reads configuration and secrets from the environment exactly as in Lambda; builds clients once.
    pub async fn from_env() -> Result<Function, ConfigError> {
        let sdk = govsync_adapters::aws::load_sdk_config().await;
        // The registries come from the govsync-registries table when GOVSYNC_REGISTRIES_TABLE is set.
        let config =
            Config::from_lookup(govsync_lambda::config::process_env_with_registries(&sdk).await?)?;
        Self::new(config, &sdk).await
    }

    /// Builds the function from an explicit configuration and SDK configuration.
    pub async fn new(config: Config, sdk: &SdkConfig) -> Result<Function, ConfigError> {
        let base = &config.base;
        let governance = govsync_lambda::clients::governance_client(base, sdk).await?;
        let registries = govsync_lambda::clients::registry_clients(base, sdk).await?;
        let dynamodb = dynamodb_client(sdk);
        let handler = Handler::new(
            Settings {
                registries: base.registries.clone(),
                mapping: base.mapping.clone(),
                console: base.console.clone(),
                sender: config.sender.clone(),
                type_ids: TypeIds::default(),
            },
            Ports {
                governance: Arc::new(governance),
                registries,
                idempotency: Arc::new(DynamoIdempotencyStore::new(
                    dynamodb.clone(),
                    base.idempotency_table.clone(),
                )),
                links: Arc::new(DynamoLinkStore::new(dynamodb, base.links_table.clone())),
                quarantine: Arc::new(SqsQuarantine::new(sqs_client(sdk), base.dlq_url.clone())),
                notifier: Arc::new(SesNotifier::new(sesv2_client(sdk))),
                decommission: Arc::new(SqsMessageQueue::new(
                    sqs_client(sdk),
                    config.decommission_queue_url.clone(),
                )),
            },
        );
        let artifacts = govsync_lambda::clients::artifact_clients(base, sdk).await?;
        let handler = handler.with_artifact_readers(
            govsync_flows::artifacts::ArtifactReaders::from_clients(artifacts),
        );
        let handler = match &config.decision_bus {
            Some(bus) => handler.with_decision_publisher(Arc::new(
                govsync_adapters::eventbridge::EventBridgePublisher::new(
                    govsync_adapters::aws::eventbridge_client(sdk),
                    bus.clone(),
                ),
            )),
            None => handler,
        };
        tracing::info!(
            registries = base.registries.len(),
            mapping = base.mapping_source,
            auth_mode = base.auth.mode(),
            email = config.sender.is_some(),
            decision_bus = config.decision_bus.as_deref().unwrap_or("none"),
            "approval-propagation ready"
        );
        Ok(Function {
            handler,
            metrics_namespace: base.metrics_namespace.clone(),
        })
    }

    /// One SQS batch, as Lambda's event source mapping delivers it.
    pub async fn handle(
        &self,
        event: LambdaEvent<SqsEvent>,
    ) -> Result<SqsBatchResponse, RuntimeError> {
        handle_with(&self.handler, event, self.metrics_namespace.as_deref()).await
    }
}

/// [`Function::handle`] for any handler (tests pass one on fakes).
pub async fn handle_with<G, R, I, L, Q, N, D>(
    handler: &Handler<G, R, I, L, Q, N, D>,
    event: LambdaEvent<SqsEvent>,
    metrics_namespace: Option<&str>,
) -> Result<SqsBatchResponse, RuntimeError>
where
    G: govsync_core::ports::Governance,
    R: govsync_core::ports::ModelRegistry,
    I: govsync_core::ports::IdempotencyStore,
    L: govsync_core::ports::LinksTable,
    Q: govsync_core::ports::Quarantine,
    N: govsync_core::ports::Notifier,
    D: govsync_core::ports::MessageQueue,
{
    sqs_batch::handle_event(handler, event, metrics_namespace).await
}

impl govsync_lambda::SqsFunction for Function {
    async fn handle(&self, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, RuntimeError> {
        Function::handle(self, event).await
    }
}
