//! registry-events: SageMaker Model Registry changes into governance (flows F2 and F3), as an SQS FIFO
//! batch Lambda (`LambdaEvent<SqsEvent>` → `SqsBatchResponse`).
//!
//! Per message: decode the EventBridge envelope (core); accept only (account, region) in the registry
//! map, else quarantine; drop govsync's own calls (CloudTrail `userIdentity` is a writer identity) and
//! writes (our-write ledger match); claim the business key in the idempotency table (Powertools
//! protocol, claim until the invocation deadline, released on failure, completed on success); skip an
//! event no newer than the revision applied in the links table; re-describe the package; decide in
//! core; execute: find or create the governance model group (External ID = group ARN) and model
//! (External ID = package ARN) under the use case named by the group's `govsync:use-case-id` tag,
//! sync metadata and `both`-row lifecycle, apply the approval gate, and write the governance ids,
//! links, use case name and risk level back into the package's `CustomerMetadataProperties`
//! (ledger first, `govsync:rev`, `ClientToken`).
//!
//! Retirement seen here (F5, with `govsync_core::sync::decommission`): a package archived in SageMaker
//! (lifecycle stage Archived) sets its model to the decommissioned status; a package that describe says is
//! gone decommissions its model, or leaves a tombstone; a model created for a tombstoned package (a sync that
//! raced the deletion) is decommissioned at once. CloudTrail deletions go to the decommission function.
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

pub mod config;
mod error;
mod handler;
pub mod logging;
mod metrics;

use std::sync::Arc;

use aws_config::SdkConfig;
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use chrono::Utc;
use govsync_adapters::aws::{
    RegistryTarget, dynamodb_client, sagemaker_client, secretsmanager_client, sqs_client,
};
use govsync_adapters::dynamodb::{DynamoIdempotencyStore, DynamoLinkStore};
use govsync_adapters::governance::{GovernanceAuth, GovernanceClient, GovernanceConfig};
use govsync_adapters::sagemaker::SageMakerRegistry;
use govsync_adapters::secrets::read_secret;
use govsync_adapters::sqs::SqsQuarantine;
use lambda_runtime::LambdaEvent;

pub use config::{AuthSettings, Config, ConfigError};
pub use error::MessageError;
pub use handler::{Handler, Outcome, Settings, claim_until};
pub use metrics::{BatchReport, FunctionReport};

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
        let config = Config::from_lookup(config::process_env_with_registries(&sdk).await?)?;
        Self::new(config, &sdk).await
    }

    /// Builds the function from an explicit configuration and SDK configuration (the local runner and
    /// tests use this to choose credentials and endpoints without touching the process environment).
    pub async fn new(config: Config, sdk: &SdkConfig) -> Result<Function, ConfigError> {
        let governance = governance_client(&config, sdk).await?;
        let registry_clients = registry_clients(&config, sdk).await?;
        let dynamodb = dynamodb_client(sdk);
        let handler = Handler::new(
            Settings {
                registries: config.registries.clone(),
                writers: config.writers.clone(),
                gate: config.gate,
                mapping: config.mapping.clone(),
                console: config.console.clone(),
            },
            Arc::new(governance),
            registry_clients,
            Arc::new(DynamoIdempotencyStore::new(
                dynamodb.clone(),
                config.idempotency_table.clone(),
            )),
            Arc::new(DynamoLinkStore::new(dynamodb, config.links_table.clone())),
            Arc::new(SqsQuarantine::new(sqs_client(sdk), config.dlq_url.clone())),
        );
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
    ) -> Result<SqsBatchResponse, lambda_runtime::Error> {
        handle_with(&self.handler, event, self.metrics_namespace.as_deref()).await
    }
}

/// The governance client of a configuration: the API key read from Secrets Manager, the auth mode's
/// token source. Shared with the other functions that read governance the same way.
pub async fn governance_client(
    config: &Config,
    sdk: &SdkConfig,
) -> Result<GovernanceClient, ConfigError> {
    let api_key = read_secret(&secretsmanager_client(sdk), &config.api_key_secret_id).await?;
    governance_client_with_key(&config.governance_url, &config.auth, api_key)
}

/// [`governance_client`] with the API key already read.
pub fn governance_client_with_key(
    governance_url: &str,
    auth: &AuthSettings,
    api_key: govsync_core::secret::Secret,
) -> Result<GovernanceClient, ConfigError> {
    let auth = match auth {
        AuthSettings::Mcsp { token_url } => GovernanceAuth::Mcsp {
            token_url: token_url.clone(),
            api_key,
        },
        AuthSettings::Iam { token_url } => match token_url {
            Some(token_url) => GovernanceAuth::Iam {
                token_url: token_url.clone(),
                api_key,
            },
            None => GovernanceAuth::iam(api_key),
        },
        AuthSettings::Cp4d {
            token_url,
            username,
        } => match token_url {
            Some(token_url) => GovernanceAuth::Cp4d {
                token_url: token_url.clone(),
                username: username.clone(),
                api_key,
            },
            None => GovernanceAuth::cp4d(governance_url, username.clone(), api_key),
        },
        AuthSettings::Basic { username } => GovernanceAuth::Basic {
            username: username.clone(),
            password: api_key,
        },
    };
    Ok(GovernanceClient::new(GovernanceConfig::new(
        governance_url.to_owned(),
        auth,
    ))?)
}

/// One SageMaker client per registry of the map, through its role when it has one.
pub async fn registry_clients(
    config: &Config,
    sdk: &SdkConfig,
) -> Result<Vec<(govsync_core::Registry, Arc<SageMakerRegistry>)>, ConfigError> {
    let mut registry_clients = Vec::with_capacity(config.registries.len());
    for registry in config.registries.registries() {
        let role = config::registry_role(registry, config.spoke_role_name.as_deref())?;
        let target = RegistryTarget {
            account_id: registry.account.to_string(),
            region: registry.region.to_string(),
            role_arn: role.map(|role| role.to_string()),
            external_id: config.spoke_external_id.clone(),
        };
        let client = sagemaker_client(sdk, &target).await;
        registry_clients.push((registry.clone(), Arc::new(SageMakerRegistry::new(client))));
    }
    Ok(registry_clients)
}

/// [`Function::handle`] for any handler (tests and benchmarks pass one on fakes).
pub async fn handle_with<G, R, I, L, Q>(
    handler: &Handler<G, R, I, L, Q>,
    event: LambdaEvent<SqsEvent>,
    metrics_namespace: Option<&str>,
) -> Result<SqsBatchResponse, lambda_runtime::Error>
where
    G: govsync_core::ports::Governance,
    R: govsync_core::ports::ModelRegistry,
    I: govsync_core::ports::IdempotencyStore,
    L: govsync_core::ports::LinkStore,
    Q: govsync_core::ports::Quarantine,
{
    let deadline = claim_until(event.context.deadline, Utc::now());
    let report = handler.handle_batch(&event.payload.records, deadline).await;
    if let Some(namespace) = metrics_namespace {
        println!("{}", report.embedded_metrics(namespace));
    }
    let unidentified = report.unidentified_failures();
    if unidentified > 0 {
        // Without a message id a failure cannot be reported alone: fail the batch so nothing is lost.
        return Err(format!(
            "{unidentified} failed message(s) have no message id; the whole batch is retried"
        )
        .into());
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
