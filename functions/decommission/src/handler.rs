//! decommission as a queue function: a record's body is a registry deletion or archive event, or a
//! governance decommission request from approval-propagation; ordered by its package group or
//! governance object; processed by the decommission flow.

use std::sync::Arc;

use aws_lambda_events::sqs::SqsMessage;
use chrono::{DateTime, Utc};
use govsync_core::Registry;
use govsync_core::batch_report::BatchReport;
use govsync_core::emf::Metric;
use govsync_core::ports::{Governance, IdempotencyStore, LinksTable, ModelRegistry, Quarantine};
use govsync_core::sync::decommission::{self, DecommissionMessage};
use govsync_flows::decommission::{Decommission, MessageError, Outcome, Settings};
use govsync_lambda::sqs_batch::{self, QueueFunction};

/// The decommission handler: the decommission flow and the DLQ it quarantines to.
pub struct Handler<G, R, I, L, Q> {
    decommission: Decommission<G, R, I, L>,
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
            decommission: Decommission::new(
                settings,
                governance,
                registry_clients,
                idempotency,
                links,
            ),
            quarantine,
        }
    }

    pub fn settings(&self) -> &Settings {
        self.decommission.settings()
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
    type Message = DecommissionMessage;
    type Error = MessageError;
    type Outcome = Outcome;
    type Quarantine = Q;

    fn decode(&self, record: &SqsMessage) -> Result<DecommissionMessage, MessageError> {
        match &record.body {
            None => Err(MessageError::NoBody),
            Some(body) => decommission::decode_message(body).map_err(MessageError::Decode),
        }
    }

    /// The package group for registry events, the governance object for requests.
    fn order_key(&self, message: &DecommissionMessage) -> Option<String> {
        match message {
            DecommissionMessage::Registry(event) => event
                .group_name()
                .map(|group| format!("group:{}", group.as_str().to_ascii_lowercase())),
            DecommissionMessage::Governance(request) => {
                Some(format!("{}:{}", request.kind, request.governance_id))
            }
        }
    }

    async fn process(
        &self,
        message: &DecommissionMessage,
        deadline: DateTime<Utc>,
    ) -> Result<Outcome, MessageError> {
        self.decommission.process(message, deadline).await
    }

    fn quarantine_port(&self) -> &Q {
        &self.quarantine
    }

    fn source_time(&self, message: &DecommissionMessage) -> Option<DateTime<Utc>> {
        match message {
            DecommissionMessage::Registry(event) => event.origin().time,
            DecommissionMessage::Governance(request) => Some(request.requested_at),
        }
    }

    fn function_name(&self) -> &'static str {
        crate::metrics::FUNCTION
    }

    fn metrics(&self, report: &BatchReport<Outcome>) -> Vec<Metric> {
        crate::metrics::metrics(&report.outcomes, &report.sync_lags_ms)
    }
}
