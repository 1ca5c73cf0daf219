//! reconciler: the backstop of every flow (design F8). On a schedule (EventBridge Scheduler) and on demand
//! (`govsync-reconcile`, or the operator CLI `govsync` through [`Function::reconcile_observed`]), it
//! lists every registry of the map (groups, packages, one `DescribeModelPackage` per registered
//! package) and the governance inventory (paged queries), compares them in core
//! (`govsync_core::reconcile`), reports every drift as JSON and as a table, and repairs each through the
//! code path its event would have taken:
//!
//! - a package missing from governance, a shadow approval, a write-back pointing nowhere, a registry-side
//!   status change on a `both` row: the package sync flow ([`RegistrySync::sync_package`]);
//! - a governance status SageMaker does not hold: approval-propagation's decision
//!   (`sync::governance::decide_model`), executed directly (ledger first, then `UpdateModelPackage`);
//! - a model decommissioned in governance whose package is live: the decommission request
//!   approval-propagation would send, on decommission.fifo (F6, executed by the decommission function);
//! - a model whose package is gone or archived: the decommission function's decision
//!   (`sync::decommission::decommission_model`), executed directly (F5);
//! - unassigned groups, tags naming missing use cases, duplicate models, unknown statuses: reported only.
//!
//! Then what is really serving ([`reconciler`]'s serving step): each registry's endpoints, judged in core
//! (`govsync_core::serving`): an endpoint serving a version governance has not approved for its
//! `govsync:stage`, a decommissioned version, or another artifact than the approved one is reported (govsync
//! never changes an endpoint); each Model's `Deployments` field is rewritten where it is out of step.
//!
//! `dry_run` changes nothing on either side. Remote calls go through an adaptive limiter (bounded
//! concurrency, halved on throttling); a run that nears its deadline saves a checkpoint in the cursors
//! table and stops, and the next run resumes there (`resumed_from` in its report).
//!
//! [`RegistrySync::sync_package`]: govsync_flows::package_sync::RegistrySync::sync_package

pub mod config;
mod error;
pub mod limiter;
pub mod metrics;
pub mod reconciler;
pub mod report;

use std::sync::Arc;

use aws_config::SdkConfig;
use chrono::{DateTime, Utc};
use govsync_adapters::aws::{dynamodb_client, sqs_client};
use govsync_adapters::dynamodb::{DynamoCursorStore, DynamoIdempotencyStore, DynamoLinkStore};
use govsync_adapters::governance::GovernanceClient;
use govsync_adapters::queue::SqsMessageQueue;
use govsync_adapters::sagemaker::SageMakerRegistry;
use govsync_flows::package_sync::Settings;
use govsync_lambda::clients::{governance_client, registry_clients};
use serde_json::Value;

pub use config::{Config, ConfigError};
pub use error::{ReconcileError, Throttling};
pub use reconciler::{NoObserver, Reconciler, RegistryServing, RunObserver, RunOptions, Tuning};
pub use report::{
    Checkpoint, Counts, DriftRecord, ReconcileReport, RegistryCounts, RepairOutcome, ResumePoint,
    ServingRecord,
};

/// Drifts listed in the Lambda's response (the full report is in the logs, one table line each).
pub const RESPONSE_DRIFTS: usize = 200;

/// The reconciler on the real adapters.
pub type LiveReconciler = Reconciler<
    GovernanceClient,
    SageMakerRegistry,
    DynamoIdempotencyStore,
    DynamoLinkStore,
    DynamoCursorStore,
    SqsMessageQueue,
>;

/// The deployed function: configuration read and clients built once, at cold start.
pub struct Function {
    reconciler: LiveReconciler,
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
        let model_links = match &config.model_links {
            Some(settings) => Some(settings.load(sdk).await?),
            None => None,
        };
        let base = &config.base;
        let governance = governance_client(base, sdk).await?;
        let registries = registry_clients(base, sdk).await?;
        let dynamodb = dynamodb_client(sdk);
        let reconciler = Reconciler::new(
            Settings {
                registries: base.registries.clone(),
                writers: base.writers.clone(),
                gate: base.gate,
                mapping: base.mapping.clone(),
                console: base.console.clone(),
                model_links,
            },
            Arc::new(governance),
            registries,
            Arc::new(DynamoIdempotencyStore::new(
                dynamodb.clone(),
                base.idempotency_table.clone(),
            )),
            Arc::new(DynamoLinkStore::new(
                dynamodb.clone(),
                base.links_table.clone(),
            )),
            Arc::new(DynamoCursorStore::new(
                dynamodb,
                config.cursors_table.clone(),
            )),
            Arc::new(SqsMessageQueue::new(
                sqs_client(sdk),
                config.decommission_queue_url.clone(),
            )),
            config.tuning.clone(),
        )
        .with_artifact_readers(govsync_flows::artifacts::ArtifactReaders::from_clients(
            govsync_lambda::clients::artifact_clients(base, sdk).await?,
        ));
        tracing::info!(
            registries = base.registries.len(),
            gate = base.gate.as_str(),
            mapping = base.mapping_source,
            concurrency = config.tuning.concurrency,
            "reconciler ready"
        );
        Ok(Function {
            reconciler,
            metrics_namespace: base.metrics_namespace.clone(),
        })
    }

    /// The library entry point (`govsync-reconcile` calls this; the operator CLI the observed form).
    pub async fn reconcile(&self, options: &RunOptions) -> Result<ReconcileReport, ReconcileError> {
        self.reconciler.run(options).await
    }

    /// [`Self::reconcile`], telling `observer` what the run reads and finds as it goes (the operator
    /// CLI's progress lines and its `status` view).
    pub async fn reconcile_observed(
        &self,
        options: &RunOptions,
        observer: &dyn RunObserver,
    ) -> Result<ReconcileReport, ReconcileError> {
        self.reconciler.run_observed(options, observer).await
    }

    /// One scheduled invocation: `payload` is the schedule's input (`{"mode":"repair"}`, or
    /// `{"dry_run":true}` / `{"mode":"dry-run"}`); the deadline is the invocation's.
    pub async fn handle(
        &self,
        payload: &Value,
        deadline: Option<DateTime<Utc>>,
    ) -> Result<Value, lambda_runtime::Error> {
        let dry_run = dry_run_requested(payload).map_err(lambda_runtime::Error::from)?;
        let report = match self.reconcile(&RunOptions { dry_run, deadline }).await {
            Ok(report) => report,
            Err(error) => {
                tracing::error!(error = %error, code = error.code(), "reconcile run failed; the next run resumes from the checkpoint");
                if let Some(namespace) = &self.metrics_namespace {
                    println!("{}", metrics::failed_run(namespace, Utc::now()));
                }
                return Err(lambda_runtime::Error::from(error.to_string()));
            }
        };
        for line in report.table().lines() {
            tracing::info!(report = line);
        }
        if let Some(namespace) = &self.metrics_namespace {
            for line in metrics::embedded_metrics(&report, namespace) {
                println!("{line}");
            }
        }
        Ok(report.summary_json(RESPONSE_DRIFTS))
    }
}

/// Reads the invocation input: `dry_run` (bool) or `mode` (`repair`, `dry-run`/`report`). Anything else
/// is refused, so a typo never repairs when a dry run was meant.
pub fn dry_run_requested(payload: &Value) -> Result<bool, String> {
    let flag = match payload.get("dry_run") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(flag)) => Some(*flag),
        Some(other) => return Err(format!("`dry_run` must be true or false, got {other}")),
    };
    let mode = match payload.get("mode").and_then(Value::as_str) {
        None => None,
        Some("repair") => Some(false),
        Some("dry-run" | "dry_run" | "report") => Some(true),
        Some(other) => return Err(format!("`mode` {other:?} is not repair or dry-run")),
    };
    match (flag, mode) {
        (Some(a), Some(b)) if a != b => Err("`dry_run` and `mode` disagree".to_owned()),
        (flag, mode) => Ok(flag.or(mode).unwrap_or(false)),
    }
}

/// The Lambda context's deadline (epoch milliseconds) as a time; `None` when it is not one.
pub fn deadline_of(deadline_ms: u64) -> Option<DateTime<Utc>> {
    i64::try_from(deadline_ms)
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .filter(|deadline| *deadline > Utc::now())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn schedule_inputs_choose_repair_or_dry_run_and_typos_are_refused() {
        assert_eq!(dry_run_requested(&json!({"mode": "repair"})), Ok(false));
        assert_eq!(dry_run_requested(&json!({})), Ok(false));
        assert_eq!(dry_run_requested(&json!({"dry_run": true})), Ok(true));
        assert_eq!(dry_run_requested(&json!({"mode": "dry-run"})), Ok(true));
        assert!(dry_run_requested(&json!({"mode": "repiar"})).is_err());
        assert!(dry_run_requested(&json!({"dry_run": "yes"})).is_err());
        assert!(dry_run_requested(&json!({"dry_run": false, "mode": "report"})).is_err());
    }
}

#[cfg(test)]
mod sample_events {
    use std::path::Path;

    use super::dry_run_requested;

    /// Every file in `events/reconciler` is an invocation input the function accepts.
    #[test]
    fn every_sample_input_decodes() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/reconciler");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let value: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            let dry_run = dry_run_requested(&value).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            assert_eq!(dry_run, name.contains("dry-run"), "{name}");
            seen += 1;
        }
        assert!(seen >= 2);
    }
}
