//! decommission: retirement on either side (flows F5 and F6), as an SQS FIFO batch Lambda on
//! `decommission.fifo` (`LambdaEvent<SqsEvent>` → `SqsBatchResponse`).
//!
//! The queue carries two kinds of body (told apart by core's `decode_message`):
//!
//! - **Registry deletions (F5)**, from the `govsync-decommission` rule: CloudTrail `DeleteModelPackage`
//!   → the package's governance model is set to the decommissioned status (the mapping's status for the
//!   Archived stage, `Decommissioned`) with `Integration:Last Update` = when, and (if
//!   `GOVSYNC_DECOMMISSION_NOTE_FIELD` names a field) a note saying who and how; `DeleteModelPackageGroup`
//!   → every model under the group's model group likewise, and the model group's `Integration:Last
//!   Update`. Nothing is ever deleted in governance. Archives made in SageMaker (lifecycle stage
//!   Archived) and packages that describe says are gone are handled by registry-events with the same
//!   core decisions (`govsync_core::sync::decommission`).
//! - **Governance decommissions (F6)**, `govsync.decommission-request/v1` bodies put there by
//!   approval-propagation or the reconciler: the object is re-read (acted on only while decommissioned),
//!   and every package concerned (a model's linked package; a use case's groups' packages) is archived:
//!   `ModelLifeCycle` Archived / Retired, approval Rejected, descriptions saying why, `govsync:rev`; never
//!   deleted. The write is recorded in the our-write ledger first, so registry-events drops its echo.
//!
//! # Delete before create
//!
//! A deletion that finds no governance model leaves a **tombstone** in the links table
//! (`arn#<ARN>` / `tombstone`) and acknowledges the message (no retry loop blocking the FIFO group).
//! registry-events reads the tombstone right after it creates a model and decommissions it at once;
//! this function writes the tombstone, then looks for the model once more, so whichever runs second
//! sees the other.
//!
//! # Order, retries, quarantine, idempotency
//!
//! As registry-events (`govsync_adapters::fifo_batch`): logical group = (SQS group, package group or
//! governance object), in order, stopping at the first failure; other groups concurrently. Business
//! keys: CloudTrail `eventID`; a request's kind + id + `requested_at`. Retryable errors → batch item
//! failures; permanent (undecodable, unknown registry, missing governance object, …) → the DLQ
//! (`GOVSYNC_DLQ_URL`) with `govsync-reason` / `govsync-error-code`, then acknowledged.

pub mod config;
mod handler;
pub mod metrics;

use std::sync::Arc;

use aws_config::SdkConfig;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use govsync_adapters::aws::{dynamodb_client, sqs_client};
use govsync_adapters::dynamodb::{DynamoIdempotencyStore, DynamoLinkStore};
use govsync_adapters::governance::GovernanceClient;
use govsync_adapters::sagemaker::SageMakerRegistry;
use govsync_adapters::sqs::SqsQuarantine;
use govsync_lambda::RuntimeError;
use govsync_lambda::sqs_batch;
use lambda_runtime::LambdaEvent;

pub use config::{Config, ConfigError};
pub use govsync_flows::decommission::{MessageError, Outcome, Settings, USE_CASE_DECOMMISSIONED};
pub use handler::Handler;

/// The handler on the real adapters.
pub type LiveHandler = Handler<
    GovernanceClient,
    SageMakerRegistry,
    DynamoIdempotencyStore,
    DynamoLinkStore,
    SqsQuarantine,
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
        let shared = &config.shared;
        let governance = govsync_lambda::clients::governance_client(shared, sdk).await?;
        let registry_clients = govsync_lambda::clients::registry_clients(shared, sdk).await?;
        let dynamodb = dynamodb_client(sdk);
        let handler = Handler::new(
            Settings {
                registries: shared.registries.clone(),
                writers: shared.writers.clone(),
                policy: config.policy.clone(),
                archive: config.archive.clone(),
            },
            Arc::new(governance),
            registry_clients,
            Arc::new(DynamoIdempotencyStore::new(
                dynamodb.clone(),
                shared.idempotency_table.clone(),
            )),
            Arc::new(DynamoLinkStore::new(dynamodb, shared.links_table.clone())),
            Arc::new(SqsQuarantine::new(sqs_client(sdk), shared.dlq_url.clone())),
        );
        tracing::info!(
            registries = shared.registries.len(),
            status = config.policy.status.as_str(),
            note_field = config.policy.note_field.as_deref().unwrap_or("(none)"),
            mapping = shared.mapping_source,
            "decommission ready"
        );
        Ok(Function {
            handler,
            metrics_namespace: shared.metrics_namespace.clone(),
        })
    }

    /// One SQS batch, as Lambda's event source mapping delivers it.
    pub async fn handle(
        &self,
        event: LambdaEvent<SqsEvent>,
    ) -> Result<SqsBatchResponse, RuntimeError> {
        handle_with_metrics(&self.handler, event, self.metrics_namespace.as_deref()).await
    }
}

/// [`Function::handle`] for any handler (tests pass one on fakes), without metric lines.
pub async fn handle_with<G, R, I, L, Q>(
    handler: &Handler<G, R, I, L, Q>,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, RuntimeError>
where
    G: govsync_core::ports::Governance,
    R: govsync_core::ports::ModelRegistry,
    I: govsync_core::ports::IdempotencyStore,
    L: govsync_core::ports::LinksTable,
    Q: govsync_core::ports::Quarantine,
{
    handle_with_metrics(handler, event, None).await
}

/// [`handle_with`], printing one embedded-metric line per batch when `metrics_namespace` is set.
pub async fn handle_with_metrics<G, R, I, L, Q>(
    handler: &Handler<G, R, I, L, Q>,
    event: LambdaEvent<SqsEvent>,
    metrics_namespace: Option<&str>,
) -> Result<SqsBatchResponse, RuntimeError>
where
    G: govsync_core::ports::Governance,
    R: govsync_core::ports::ModelRegistry,
    I: govsync_core::ports::IdempotencyStore,
    L: govsync_core::ports::LinksTable,
    Q: govsync_core::ports::Quarantine,
{
    sqs_batch::handle_event(handler, event, metrics_namespace).await
}

impl govsync_lambda::SqsFunction for Function {
    async fn handle(&self, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, RuntimeError> {
        Function::handle(self, event).await
    }
}
