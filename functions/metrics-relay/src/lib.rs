//! metrics-relay: monitoring results into governance (flow F7), invoked by EventBridge rules directly
//! (`LambdaEvent<serde_json::Value>`, asynchronous): `govsync-metrics` (`source: govsync.metrics`,
//! `detail-type: Model Metric Recorded`) and `govsync-monitoring-results` (SageMaker Processing Job State
//! Change of a completed monitoring execution). The accepted shapes, the Model Monitor / Clarify
//! mapping and the breach status are documented in `govsync_core::metrics`.
//!
//! Per event: decode (core); find the model package (the event's, or the monitoring schedule's
//! `govsync:model-package-arn` tag, read only when the schedule is the envelope's own); refuse an event
//! whose envelope `account`/`region` are not the package's (`foreign_metrics`: another account speaking
//! for a registry it does not own), and registries outside the registry map; find the governance
//! model (links table, else `Integration:External ID`); per value, claim the business key
//! (model package, metric, timestamp) in the idempotency table, find or create the model's `Metric`
//! (External ID `<package ARN>#metric/<name>`, created with its thresholds on first use; thresholds and
//! breach status updated), and create the `MetricValue` (value, date, thresholds, breach status) unless
//! one already exists at that timestamp. With `GOVSYNC_METRIC_BREACH_STATUS` set, a `Red` value moves
//! the model to that status (not into the our-write ledger: F4 carries it to SageMaker); a
//! decommissioned model is never moved.
//!
//! # Errors
//!
//! Permanent (undecodable, foreign origin, unknown registry, unknown model, schedule without the tag)
//! → the event goes to `GOVSYNC_DLQ_URL` (the template's `govsync-async-failures` queue) with
//! `govsync-reason` and `govsync-error-code`, and the invocation succeeds. Retryable (throttling, 5xx,
//! transport, a claim in progress, credentials governance still refuses after a token refresh and a
//! key re-read: `governance_unauthorized`) → the invocation fails, so Lambda's asynchronous retries
//! (and the rule's retry policy) run it again, then the function's dead-letter queue keeps it.
//!
//! With `GOVSYNC_METRICS_NAMESPACE` set, each invocation prints one CloudWatch embedded-metric line
//! ([`metrics`]), also when it fails.

pub mod config;
mod error;
pub mod metrics;
mod relay;

use std::sync::Arc;

use aws_config::SdkConfig;
use chrono::Utc;
use govsync_adapters::aws::{dynamodb_client, sqs_client};
use govsync_adapters::dynamodb::{DynamoIdempotencyStore, DynamoLinkStore};
use govsync_adapters::governance::GovernanceClient;
use govsync_adapters::sagemaker::SageMakerRegistry;
use govsync_adapters::sqs::SqsQuarantine;
use govsync_lambda::sqs_batch::claim_until;
use lambda_runtime::LambdaEvent;

pub use config::{Config, ConfigError};
pub use error::RelayError;
pub use relay::{Outcome, Relay, Settings};

pub type LiveRelay = Relay<
    GovernanceClient,
    SageMakerRegistry,
    DynamoIdempotencyStore,
    DynamoLinkStore,
    SqsQuarantine,
>;

/// The deployed function: configuration read and clients built once, at cold start.
pub struct Function {
    relay: LiveRelay,
    metrics_namespace: Option<String>,
}

impl Function {
    pub async fn from_env() -> Result<Function, ConfigError> {
        let sdk = govsync_adapters::aws::load_sdk_config().await;
        // The registries come from the govsync-registries table when GOVSYNC_REGISTRIES_TABLE is set.
        let config =
            Config::from_lookup(govsync_lambda::config::process_env_with_registries(&sdk).await?)?;
        Self::new(config, &sdk).await
    }

    pub async fn new(config: Config, sdk: &SdkConfig) -> Result<Function, ConfigError> {
        let shared = &config.shared;
        let governance = govsync_lambda::clients::governance_client(shared, sdk).await?;
        let registry_clients = govsync_lambda::clients::registry_clients(shared, sdk).await?;
        let dynamodb = dynamodb_client(sdk);
        let relay = Relay::new(
            config.settings.clone(),
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
            breach_status = config
                .settings
                .breach_status
                .as_ref()
                .map(|status| status.as_str())
                .unwrap_or("(none)"),
            "metrics-relay ready"
        );
        Ok(Function {
            relay,
            metrics_namespace: shared.metrics_namespace.clone(),
        })
    }

    pub async fn handle(
        &self,
        event: LambdaEvent<serde_json::Value>,
    ) -> Result<serde_json::Value, lambda_runtime::Error> {
        handle_with_metrics(&self.relay, event, self.metrics_namespace.as_deref()).await
    }
}

/// [`Function::handle`] for any relay (tests pass one on fakes), without metric lines.
pub async fn handle_with<G, R, I, L, Q>(
    relay: &Relay<G, R, I, L, Q>,
    event: LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, lambda_runtime::Error>
where
    G: govsync_core::ports::Governance,
    R: govsync_core::ports::ModelRegistry,
    I: govsync_core::ports::IdempotencyStore,
    L: govsync_core::ports::LinksTable,
    Q: govsync_core::ports::Quarantine,
{
    handle_with_metrics(relay, event, None).await
}

/// [`handle_with`], printing one embedded-metric line per invocation when `metrics_namespace` is set.
pub async fn handle_with_metrics<G, R, I, L, Q>(
    relay: &Relay<G, R, I, L, Q>,
    event: LambdaEvent<serde_json::Value>,
    metrics_namespace: Option<&str>,
) -> Result<serde_json::Value, lambda_runtime::Error>
where
    G: govsync_core::ports::Governance,
    R: govsync_core::ports::ModelRegistry,
    I: govsync_core::ports::IdempotencyStore,
    L: govsync_core::ports::LinksTable,
    Q: govsync_core::ports::Quarantine,
{
    let deadline = claim_until(event.context.deadline, Utc::now());
    let result = relay
        .handle(&event.payload, &event.context.request_id, deadline)
        .await;
    if let Some(namespace) = metrics_namespace {
        println!(
            "{}",
            metrics::embedded_metrics(&result, namespace, Utc::now())
        );
    }
    Ok(result?.to_json())
}
