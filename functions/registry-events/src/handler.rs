//! registry-events as a queue function: a record's body is a registry event (an EventBridge envelope),
//! ordered by its model package group, processed by the package sync flow.

use std::sync::Arc;

use aws_lambda_events::sqs::SqsMessage;
use chrono::{DateTime, Utc};
use govsync_core::ModelPackageArn;
use govsync_core::Registry;
use govsync_core::emf::Metric;
use govsync_core::ports::{Governance, IdempotencyStore, LinksTable, ModelRegistry, Quarantine};
use govsync_core::registry_event::{RegistryEvent, decode_envelope};
use govsync_flows::package_sync::{MessageError, Outcome, RegistrySync, Settings};
use govsync_lambda::sqs_batch::{self, QueueFunction};

use crate::metrics::FunctionReport;
use govsync_core::batch_report::BatchReport;

/// The registry-events handler: the package sync flow and the DLQ it quarantines to.
pub struct Handler<G, R, I, L, Q> {
    sync: RegistrySync<G, R, I, L>,
    quarantine: Arc<Q>,
}

impl<G, R, I, L, Q> Handler<G, R, I, L, Q>
where
    G: Governance,
    R: ModelRegistry,
    I: IdempotencyStore,
    L: LinksTable,
    Q: Quarantine,
{
    /// `registry_clients` holds one registry port per entry of `settings.registries`.
    pub fn new(
        settings: Settings,
        governance: Arc<G>,
        registry_clients: Vec<(Registry, Arc<R>)>,
        idempotency: Arc<I>,
        links: Arc<L>,
        quarantine: Arc<Q>,
    ) -> Self {
        Self {
            sync: RegistrySync::new(settings, governance, registry_clients, idempotency, links),
            quarantine,
        }
    }

    /// The same handler checking approved packages' artifacts against the approval (#21).
    pub fn with_artifact_readers(
        mut self,
        readers: govsync_flows::artifacts::ArtifactReaders,
    ) -> Self {
        self.sync = self.sync.with_artifact_readers(readers);
        self
    }

    pub fn settings(&self) -> &Settings {
        self.sync.settings()
    }

    /// The flow itself (the reconciler's repair path calls the same).
    pub fn sync(&self) -> &RegistrySync<G, R, I, L> {
        &self.sync
    }

    /// [`RegistrySync::sync_package`].
    pub async fn sync_package(
        &self,
        registry: &Registry,
        arn: &ModelPackageArn,
    ) -> Result<Outcome, MessageError> {
        self.sync.sync_package(registry, arn).await
    }

    /// Processes one batch by the FIFO rules of [`govsync_lambda::sqs_batch`].
    pub async fn handle_batch(
        &self,
        records: &[SqsMessage],
        deadline: DateTime<Utc>,
    ) -> BatchReport<Outcome> {
        sqs_batch::run_batch(self, records, deadline).await
    }
}

impl<G, R, I, L, Q> QueueFunction for Handler<G, R, I, L, Q>
where
    G: Governance,
    R: ModelRegistry,
    I: IdempotencyStore,
    L: LinksTable,
    Q: Quarantine,
{
    type Message = RegistryEvent;
    type Error = MessageError;
    type Outcome = Outcome;
    type Quarantine = Q;

    fn decode(&self, record: &SqsMessage) -> Result<RegistryEvent, MessageError> {
        match &record.body {
            None => Err(MessageError::NoBody),
            Some(body) => decode_envelope(body.as_bytes()).map_err(MessageError::Decode),
        }
    }

    /// The model package group: the rule sets one static `MessageGroupId`, so the package group is what
    /// separates independent work.
    fn order_key(&self, event: &RegistryEvent) -> Option<String> {
        event
            .group_name()
            .map(|group| group.as_str().to_ascii_lowercase())
    }

    async fn process(
        &self,
        event: &RegistryEvent,
        deadline: DateTime<Utc>,
    ) -> Result<Outcome, MessageError> {
        self.sync.process(event, deadline).await
    }

    fn quarantine_port(&self) -> &Q {
        &self.quarantine
    }

    fn source_time(&self, event: &RegistryEvent) -> Option<DateTime<Utc>> {
        event.origin().time
    }

    fn function_name(&self) -> &'static str {
        crate::metrics::FUNCTION
    }

    fn metrics(&self, report: &BatchReport<Outcome>) -> Vec<Metric> {
        FunctionReport::metrics(report)
    }
}
