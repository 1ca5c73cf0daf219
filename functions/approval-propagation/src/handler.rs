//! approval-propagation as a queue function: a record's body is a governance event (from the webhook
//! or the poller), ordered by its governance object, processed by the governance-change flow.

use std::sync::Arc;

use aws_lambda_events::sqs::SqsMessage;
use chrono::{DateTime, Utc};
use govsync_core::Registry;
use govsync_core::emf::Metric;
use govsync_core::governance_event::GovernanceEvent;
use govsync_core::ports::{
    Governance, IdempotencyStore, LinksTable, MessageQueue, ModelRegistry, Notifier, Quarantine,
};
use govsync_flows::governance_change::{self, GovernanceChange, MessageError, Outcome, Settings};
use govsync_lambda::sqs_batch::{self, QueueFunction};

use crate::metrics::FunctionReport;
use govsync_core::batch_report::BatchReport;

/// The approval-propagation handler: the governance-change flow and the DLQ it quarantines to.
pub struct Handler<G, R, I, L, Q, N, D> {
    change: GovernanceChange<G, R, I, L, N, D>,
    quarantine: Arc<Q>,
}

/// The ports a [`Handler`] is built from.
pub struct Ports<G, R, I, L, Q, N, D> {
    pub governance: Arc<G>,
    /// One registry port per entry of `settings.registries`.
    pub registries: Vec<(Registry, Arc<R>)>,
    pub idempotency: Arc<I>,
    pub links: Arc<L>,
    pub quarantine: Arc<Q>,
    pub notifier: Arc<N>,
    pub decommission: Arc<D>,
}

impl<G, R, I, L, Q, N, D> Handler<G, R, I, L, Q, N, D>
where
    G: Governance,
    R: ModelRegistry,
    I: IdempotencyStore,
    L: LinksTable,
    Q: Quarantine,
    N: Notifier,
    D: MessageQueue,
{
    pub fn new(settings: Settings, ports: Ports<G, R, I, L, Q, N, D>) -> Self {
        Self {
            change: GovernanceChange::new(
                settings,
                governance_change::Ports {
                    governance: ports.governance,
                    registries: ports.registries,
                    idempotency: ports.idempotency,
                    links: ports.links,
                    notifier: ports.notifier,
                    decommission: ports.decommission,
                },
            ),
            quarantine: ports.quarantine,
        }
    }

    pub fn settings(&self) -> &Settings {
        self.change.settings()
    }

    /// The same handler publishing each governance decision it applies on `publisher`.
    /// The same handler binding each approval to the artifact's fingerprint.
    pub fn with_artifact_readers(
        mut self,
        readers: govsync_flows::artifacts::ArtifactReaders,
    ) -> Self {
        self.change = self.change.with_artifact_readers(readers);
        self
    }

    pub fn with_decision_publisher(
        mut self,
        publisher: Arc<dyn govsync_flows::governance_change::DynDecisionPublisher>,
    ) -> Self {
        self.change = self.change.with_decision_publisher(publisher);
        self
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

impl<G, R, I, L, Q, N, D> QueueFunction for Handler<G, R, I, L, Q, N, D>
where
    G: Governance,
    R: ModelRegistry,
    I: IdempotencyStore,
    L: LinksTable,
    Q: Quarantine,
    N: Notifier,
    D: MessageQueue,
{
    type Message = GovernanceEvent;
    type Error = MessageError;
    type Outcome = Outcome;
    type Quarantine = Q;

    fn decode(&self, record: &SqsMessage) -> Result<GovernanceEvent, MessageError> {
        match &record.body {
            None => Err(MessageError::NoBody),
            Some(body) => GovernanceEvent::from_json(body)
                .map_err(|error| MessageError::Decode(error.to_string())),
        }
    }

    fn order_key(&self, change: &GovernanceEvent) -> Option<String> {
        Some(change.object_id.to_string())
    }

    async fn process(
        &self,
        change: &GovernanceEvent,
        deadline: DateTime<Utc>,
    ) -> Result<Outcome, MessageError> {
        self.change.process(change, deadline).await
    }

    fn quarantine_port(&self) -> &Q {
        &self.quarantine
    }

    fn source_time(&self, change: &GovernanceEvent) -> Option<DateTime<Utc>> {
        Some(change.occurred_at)
    }

    fn function_name(&self) -> &'static str {
        crate::metrics::FUNCTION
    }

    fn metrics(&self, report: &BatchReport<Outcome>) -> Vec<Metric> {
        FunctionReport::metrics(report)
    }
}
