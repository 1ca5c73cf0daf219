//! registry-events: SageMaker Model Registry changes into governance (flows F2 and F3), as an SQS FIFO
//! batch Lambda (`LambdaEvent<SqsEvent>` → `SqsBatchResponse`).
//!
//! Per message: decode the EventBridge envelope (core), then the package sync flow
//! ([`govsync_flows::package_sync`]) does the rest: triage, idempotency, re-describe, decide, execute,
//! write back. CloudTrail deletions go to the decommission function. The batch rules are the shared
//! driver's ([`govsync_lambda::sqs_batch`]); this crate says only how to decode and order a record.
//!
//! # Order within a batch
//!
//! EventBridge can only give an SQS FIFO target a fixed `MessageGroupId` per rule, so SQS's own
//! groups are coarse. Order is kept per *logical group* = (SQS `MessageGroupId`, model package
//! group name): messages of one logical group run one after the other, in batch order; a logical
//! group stops at its first failure, and that message and every later one of the same logical group
//! are reported as batch item failures (they return to the queue in order); other logical groups go
//! on. Independent logical groups run concurrently (futures joined on one task), so a batch costs
//! about its longest group's calls, not the sum. A message that cannot be decoded is its own group:
//! it is quarantined and blocks nothing.
//!
//! # Errors
//!
//! [`MessageError::is_retryable`] (throttling, 5xx, 429, conflicts, in-progress claims, transport)
//! → batch item failure. Permanent (undecodable, unknown account, invalid data) → sent to the DLQ
//! (`GOVSYNC_DLQ_URL`) with `govsync-reason`, `govsync-error-code`, `govsync-source-message-id`
//! and acknowledged; if that send fails, the message is reported as failed, never dropped.

mod handler;
mod metrics;

use std::sync::Arc;

use aws_config::SdkConfig;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use govsync_adapters::aws::{dynamodb_client, sqs_client};
use govsync_adapters::dynamodb::{DynamoIdempotencyStore, DynamoLinkStore};
use govsync_adapters::governance::GovernanceClient;
use govsync_adapters::sagemaker::SageMakerRegistry;
use govsync_adapters::sqs::SqsQuarantine;
use govsync_lambda::{RuntimeError, clients, sqs_batch};
use lambda_runtime::LambdaEvent;

pub use govsync_flows::package_sync::{MessageError, Outcome, Settings};
pub use govsync_lambda::config::{AuthSettings, Config, ConfigError};
pub use govsync_lambda::sqs_batch::claim_until;
pub use handler::Handler;
pub use metrics::{BatchReport, FunctionReport};

/// The model-link function's URL, where each Model's govsync link points.
pub const MODEL_LINK_URL_VAR: &str = "GOVSYNC_MODEL_LINK_URL";
/// The Secrets Manager id of the keys that sign the links.
pub const MODEL_LINK_KEYS_VAR: &str = "GOVSYNC_MODEL_LINK_KEYS_SECRET";

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
        let config =
            Config::from_lookup(govsync_lambda::config::process_env_with_registries(&sdk).await?)?;
        let model_links =
            govsync_lambda::model_links::from_env(&sdk, MODEL_LINK_URL_VAR, MODEL_LINK_KEYS_VAR)
                .await?;
        Self::with_model_links(config, model_links, &sdk).await
    }

    /// Builds the function from an explicit configuration and SDK configuration (the local runner and
    /// tests use this to choose credentials and endpoints without touching the process environment).
    pub async fn new(config: Config, sdk: &SdkConfig) -> Result<Function, ConfigError> {
        Self::with_model_links(config, None, sdk).await
    }

    /// [`Function::new`], writing the signed govsync link on each Model (`None`: the console link).
    pub async fn with_model_links(
        config: Config,
        model_links: Option<govsync_core::model_link::ModelLinks>,
        sdk: &SdkConfig,
    ) -> Result<Function, ConfigError> {
        let governance = clients::governance_client(&config, sdk).await?;
        let registry_clients = clients::registry_clients(&config, sdk).await?;
        let dynamodb = dynamodb_client(sdk);
        let handler = Handler::new(
            Settings {
                registries: config.registries.clone(),
                writers: config.writers.clone(),
                gate: config.gate,
                mapping: config.mapping.clone(),
                console: config.console.clone(),
                model_links,
            },
            Arc::new(governance),
            registry_clients,
            Arc::new(DynamoIdempotencyStore::new(
                dynamodb.clone(),
                config.idempotency_table.clone(),
            )),
            // Completes claims in the same transactions as the links they record (one table
            // client, one account and Region).
            Arc::new(
                DynamoLinkStore::new(dynamodb, config.links_table.clone()).with_idempotency_table(
                    config.idempotency_table.clone(),
                    govsync_adapters::dynamodb::DEFAULT_RECORD_TTL,
                ),
            ),
            Arc::new(SqsQuarantine::new(sqs_client(sdk), config.dlq_url.clone())),
        )
        .with_artifact_readers(govsync_flows::artifacts::ArtifactReaders::from_clients(
            clients::artifact_clients(&config, sdk).await?,
        ));
        tracing::info!(
            registries = config.registries.len(),
            gate = config.gate.as_str(),
            mapping = config.mapping_source,
            auth_mode = config.auth.mode(),
            "registry-events ready"
        );
        Ok(Function {
            handler,
            metrics_namespace: config.metrics_namespace,
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

/// [`Function::handle`] for any handler (tests and benchmarks pass one on fakes).
pub async fn handle_with<G, R, I, L, Q>(
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
