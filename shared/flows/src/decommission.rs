//! Decommission in governance, archive in the registry (F5, F6): what the decommission function does
//! with one registry deletion/archive event or one governance decommission request. Generic over the
//! ports, so tests run it on in-memory fakes. Nothing is ever deleted: governance models are marked
//! decommissioned, packages archived (`ModelLifeCycle` Archived, approval Rejected).

mod error;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use govsync_core::batch_report::{BatchOutcome, Disposition, MessageOutcome};
use govsync_core::clock::{Clock, SystemClock};
use govsync_core::decommission_request::{DecommissionKind, DecommissionRequest};
use govsync_core::ports::{
    ExternalIdLookup, FieldValue, Governance, GovernanceError, GovernanceKind, GovernanceObject,
    GovernanceQuery, IdempotencyStore, Link, LinkKind, LinksTable, ModelRegistry, QueryCondition,
};
use govsync_core::registry_event::RegistryEvent;
use govsync_core::sync::decommission::{
    self, ArchiveTarget, DecommissionMessage, DecommissionPolicy, Deletion, IgnoreReason, Triage,
};
use govsync_core::sync::registry::described_version;
use govsync_core::sync::{WriterIdentities, fields};
use govsync_core::{
    AccountId, IdempotencyKey, ModelPackageArn, ModelPackageGroupArn, ModelPackageStatus, Region,
    Registry, RegistryArn, RegistryMap, Revision,
};
use serde_json::json;

pub use self::error::MessageError;
use crate::echo;
use crate::idempotency::{self, Claim};
use crate::registry_clients::RegistryClients;

/// The use case status that means decommissioned (contracts/openpages-v2.md, use case workflow).
pub const USE_CASE_DECOMMISSIONED: &str = "Decommissioned";

/// What the handler decides with (the parts of the configuration that are not clients).
#[derive(Debug, Clone)]
pub struct Settings {
    pub registries: RegistryMap,
    pub writers: WriterIdentities,
    pub policy: DecommissionPolicy,
    pub archive: ArchiveTarget,
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// F5: models decommissioned (and model groups marked) in governance.
    Decommissioned { models: usize, groups: usize },
    /// F5: the deleted package has no governance model yet; its tombstone decommissions a late one.
    Tombstoned,
    /// F6: packages archived in SageMaker.
    Archived { packages: usize },
    /// Everything already held the decommissioned state (a redelivery, or both sides done).
    AlreadyDone,
    /// F6: the governance object is no longer decommissioned (re-opened since): F4 owns its state.
    Superseded,
    /// The idempotency table holds a completed record for the message's business key.
    Duplicate,
    /// A call govsync made itself.
    Echo,
    /// Not this function's business (`reason`).
    Ignored(&'static str),
    /// Permanently failed and sent to the DLQ with `code`.
    Quarantined(&'static str),
    /// Reported as a batch item failure (retryable error, or after an earlier failure of its group).
    Failed(&'static str),
}

impl Outcome {
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Decommissioned { .. } => "decommissioned",
            Outcome::Tombstoned => "tombstoned",
            Outcome::Archived { .. } => "archived",
            Outcome::AlreadyDone => "already_done",
            Outcome::Superseded => "superseded",
            Outcome::Duplicate => "duplicate",
            Outcome::Echo => "echo",
            Outcome::Ignored(_) => "ignored",
            Outcome::Quarantined(_) => "quarantined",
            Outcome::Failed(_) => "failed",
        }
    }

    fn record(&self) -> serde_json::Value {
        match self {
            Outcome::Decommissioned { models, groups } => {
                json!({"outcome": self.label(), "models": models, "groups": groups})
            }
            Outcome::Archived { packages } => {
                json!({"outcome": self.label(), "packages": packages})
            }
            other => json!({"outcome": other.label()}),
        }
    }
}

impl MessageOutcome for Outcome {
    fn label(&self) -> &'static str {
        Outcome::label(self)
    }

    fn disposition(&self) -> Disposition {
        match self {
            Outcome::Decommissioned { .. }
            | Outcome::Tombstoned
            | Outcome::Archived { .. }
            | Outcome::AlreadyDone
            | Outcome::Superseded
            | Outcome::Ignored(_) => Disposition::Done,
            Outcome::Duplicate => Disposition::Duplicate,
            Outcome::Echo => Disposition::Echo,
            Outcome::Quarantined(_) => Disposition::Quarantined,
            Outcome::Failed(_) => Disposition::Failed,
        }
    }
}

impl BatchOutcome for Outcome {
    fn failed(code: &'static str) -> Self {
        Outcome::Failed(code)
    }
    fn quarantined(code: &'static str) -> Self {
        Outcome::Quarantined(code)
    }
    fn is_applied(&self) -> bool {
        matches!(
            self,
            Outcome::Decommissioned { .. } | Outcome::Tombstoned | Outcome::Archived { .. }
        )
    }
}

/// The decommission flow over its ports.
pub struct Decommission<G, R, I, L> {
    settings: Settings,
    governance: Arc<G>,
    registries: RegistryClients<R>,
    idempotency: Arc<I>,
    links: Arc<L>,
    clock: Arc<dyn Clock>,
}

impl<G, R, I, L> Decommission<G, R, I, L>
where
    G: Governance,
    R: ModelRegistry,
    I: IdempotencyStore,
    L: LinksTable,
{
    /// `registry_clients` holds one registry port per entry of `settings.registries`.
    pub fn new(
        settings: Settings,
        governance: Arc<G>,
        registry_clients: Vec<(Registry, Arc<R>)>,
        idempotency: Arc<I>,
        links: Arc<L>,
    ) -> Self {
        let registries = RegistryClients::new(registry_clients);
        Self {
            clock: Arc::new(SystemClock),
            settings,
            governance,
            registries,
            idempotency,
            links,
        }
    }

    /// The same flow reading `clock` instead of the system clock (tests move time with it).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Processes one decoded message.
    pub async fn process(
        &self,
        message: &DecommissionMessage,
        deadline: DateTime<Utc>,
    ) -> Result<Outcome, MessageError> {
        match message {
            DecommissionMessage::Registry(event) => self.registry_event(event, deadline).await,
            DecommissionMessage::Governance(request) => {
                tracing::Span::current().record(
                    "subject",
                    format!("{} {}", request.kind, request.governance_id).as_str(),
                );
                let key = request.idempotency_key();
                self.idempotent(&key, deadline, self.archive(request)).await
            }
        }
    }

    async fn registry_event(
        &self,
        event: &RegistryEvent,
        deadline: DateTime<Utc>,
    ) -> Result<Outcome, MessageError> {
        let triage = decommission::triage(
            event,
            &self.settings.registries,
            &self.settings.writers,
            self.clock.now(),
        )?;
        match triage {
            Triage::UnknownRegistry { account, region } => Err(MessageError::UnknownRegistry {
                account: account.to_string(),
                region: region.to_string(),
            }),
            Triage::Echo { caller } => {
                tracing::info!(caller, "echo of govsync's own call dropped");
                Ok(Outcome::Echo)
            }
            Triage::Ignore(IgnoreReason::UnmappedOwner { account, region }) => {
                tracing::info!(
                    reason = "unmapped_owner",
                    kind = event.kind(),
                    owner_account = %account,
                    owner_region = %region,
                    "skipped: the package's owner is not a governed registry, so nothing is read or written for it"
                );
                Ok(Outcome::Ignored("unmapped_owner"))
            }
            Triage::Ignore(reason) => {
                tracing::info!(reason = reason.as_str(), kind = event.kind(), "ignored");
                Ok(Outcome::Ignored(reason.as_str()))
            }
            Triage::PackageDeleted { arn, deletion, .. } => {
                tracing::Span::current().record("subject", arn.as_str());
                let key = event.idempotency_key();
                self.idempotent(&key, deadline, self.package_deleted(arn, &deletion))
                    .await
            }
            Triage::GroupDeleted {
                group_arn,
                deletion,
                ..
            } => {
                tracing::Span::current().record("subject", group_arn.as_str());
                let key = event.idempotency_key();
                self.idempotent(&key, deadline, self.group_deleted(&group_arn, &deletion))
                    .await
            }
        }
    }

    /// The Powertools protocol around the work: claim, work, complete (or release on failure).
    async fn idempotent(
        &self,
        key: &IdempotencyKey,
        deadline: DateTime<Utc>,
        work: impl Future<Output = Result<Outcome, MessageError>>,
    ) -> Result<Outcome, MessageError> {
        match idempotency::claim(self.idempotency.as_ref(), key, self.clock.now(), deadline).await?
        {
            Claim::Duplicate(_) => return Ok(Outcome::Duplicate),
            Claim::InProgress => {
                return Err(MessageError::InProgress {
                    key: key.to_string(),
                });
            }
            Claim::Owned => {}
        }
        let result = work.await;
        let record = result.as_ref().ok().map(Outcome::record);
        idempotency::settle_claim(
            self.idempotency.as_ref(),
            key,
            record.as_ref(),
            self.clock.now(),
        )
        .await;
        result
    }

    // -----------------------------------------------------------------------------------------
    // F5

    async fn package_deleted(
        &self,
        arn: &ModelPackageArn,
        deletion: &Deletion,
    ) -> Result<Outcome, MessageError> {
        // A delete record is a deletion only if the owner agrees: a record of a delete that did not
        // take, or a stray one, must not decommission (or tombstone) a live package.
        let client = self.client(arn.account(), arn.region())?;
        match client.describe_package(arn).await {
            Ok(package) if package.status != Some(ModelPackageStatus::Deleting) => {
                tracing::warn!(
                    finding = "package_still_exists",
                    "a delete record names a package its registry still has: nothing decommissioned"
                );
                return Ok(Outcome::Ignored("package_still_exists"));
            }
            Ok(_) => {}
            Err(error) if error.is_not_found() => {}
            Err(error) => return Err(error.into()),
        }
        if let Some(model) = self
            .find(LinkKind::Model, GovernanceKind::Model, &arn.into())
            .await?
        {
            return Ok(match self.decommission(&model, deletion).await? {
                true => Outcome::Decommissioned {
                    models: 1,
                    groups: 0,
                },
                false => Outcome::AlreadyDone,
            });
        }
        // No model yet: leave a tombstone, then look once more. registry-events creates, then reads
        // the tombstone; this function writes the tombstone, then looks: one of the two sees the other.
        self.links
            .put_tombstone(&decommission::tombstone(arn, deletion))
            .await?;
        match self
            .find(LinkKind::Model, GovernanceKind::Model, &arn.into())
            .await?
        {
            Some(model) => Ok(match self.decommission(&model, deletion).await? {
                true => Outcome::Decommissioned {
                    models: 1,
                    groups: 0,
                },
                false => Outcome::AlreadyDone,
            }),
            None => {
                tracing::info!(
                    "governance has no model for the deleted package: tombstone recorded"
                );
                Ok(Outcome::Tombstoned)
            }
        }
    }

    async fn group_deleted(
        &self,
        group_arn: &ModelPackageGroupArn,
        deletion: &Deletion,
    ) -> Result<Outcome, MessageError> {
        let Some(group) = self
            .find(
                LinkKind::ModelGroup,
                GovernanceKind::ModelGroup,
                &group_arn.into(),
            )
            .await?
        else {
            tracing::info!("governance has no model group for the deleted group");
            return Ok(Outcome::AlreadyDone);
        };
        let rows = self
            .governance
            .query(&GovernanceQuery {
                kind: GovernanceKind::Model,
                columns: vec![
                    fields::EXTERNAL_ID.to_owned(),
                    fields::MODEL_STATUS.to_owned(),
                ],
                condition: Some(QueryCondition::ChildOf {
                    parent_kind: GovernanceKind::ModelGroup,
                    parent_id: group.id.clone(),
                }),
            })
            .await?;
        let mut models = 0;
        for id in rows.into_iter().filter_map(|row| row.id) {
            let model = match self.governance.get_object(&id).await {
                Ok(model) => model,
                Err(GovernanceError::NotFound { .. }) => continue,
                Err(error) => return Err(error.into()),
            };
            if self.decommission(&model, deletion).await? {
                models += 1;
            }
        }
        let mut groups = 0;
        if let Some(fields) = decommission::mark_model_group(&group, deletion) {
            self.governance
                .update_object(&group.id, &fields, None)
                .await?;
            groups = 1;
        }
        Ok(if models + groups == 0 {
            Outcome::AlreadyDone
        } else {
            Outcome::Decommissioned { models, groups }
        })
    }

    /// Decommissions one model (ledger first); `false` when it already was.
    async fn decommission(
        &self,
        model: &GovernanceObject,
        deletion: &Deletion,
    ) -> Result<bool, MessageError> {
        let Some(update) = decommission::decommission_model(model, deletion, &self.settings.policy)
        else {
            return Ok(false);
        };
        let updated = self
            .governance
            .update_object(&update.id, &update.fields, None)
            .await?;
        echo::record_after_governance_write(
            self.links.as_ref(),
            std::slice::from_ref(&update.ledger),
            &updated,
            self.clock.now(),
        )
        .await?;
        tracing::info!(id = %update.id, how = deletion.how, "model decommissioned");
        Ok(true)
    }

    /// The governance object for a registry ARN: by the links table, else by external id.
    async fn find(
        &self,
        link_kind: LinkKind,
        kind: GovernanceKind,
        arn: &RegistryArn,
    ) -> Result<Option<GovernanceObject>, MessageError> {
        if let Some(link) = self.links.link_by_arn(link_kind, arn).await? {
            match self.governance.get_object(&link.governance_id).await {
                Ok(object) => return Ok(Some(object)),
                Err(GovernanceError::NotFound { .. }) => {
                    tracing::warn!(id = %link.governance_id, %arn, "linked object is gone; looking it up by external id");
                }
                Err(error) => return Err(error.into()),
            }
        }
        match self
            .governance
            .find_by_external_id(kind, arn.as_str())
            .await?
        {
            ExternalIdLookup::Absent => Ok(None),
            ExternalIdLookup::Found(object) => Ok(Some(object)),
            ExternalIdLookup::Ambiguous(ids) => Err(MessageError::AmbiguousExternalId {
                kind,
                external_id: arn.to_string(),
                ids: ids
                    .iter()
                    .map(|id| id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    // -----------------------------------------------------------------------------------------
    // F6

    async fn archive(&self, request: &DecommissionRequest) -> Result<Outcome, MessageError> {
        let kind = match request.kind {
            DecommissionKind::Model => GovernanceKind::Model,
            DecommissionKind::UseCase => GovernanceKind::UseCase,
        };
        // Requests are notifications: the object is re-read, and acted on only while decommissioned.
        let object = match self.governance.get_object(&request.governance_id).await {
            Ok(object) => object,
            Err(GovernanceError::NotFound { .. }) => {
                return Err(MessageError::ObjectMissing {
                    kind,
                    id: request.governance_id.to_string(),
                });
            }
            Err(error) => return Err(error.into()),
        };
        let (status_field, decommissioned) = match request.kind {
            DecommissionKind::Model => (fields::MODEL_STATUS, self.settings.policy.status.as_str()),
            DecommissionKind::UseCase => (fields::USE_CASE_STATUS, USE_CASE_DECOMMISSIONED),
        };
        let status = object.field(status_field).and_then(FieldValue::as_text);
        if status.as_deref() != Some(decommissioned) {
            tracing::info!(
                status = status.as_deref().unwrap_or("none"),
                "the object is no longer decommissioned; nothing archived"
            );
            return Ok(Outcome::Superseded);
        }
        let packages = match request.kind {
            DecommissionKind::Model => self.model_package(&object).await?.into_iter().collect(),
            DecommissionKind::UseCase => self.use_case_packages(&object).await?,
        };
        let reason = decommission::archive_reason(request);
        let revision = Revision::from_time(request.requested_at);
        let mut archived = 0;
        for arn in &packages {
            if self.archive_package(arn, &reason, revision).await? {
                archived += 1;
            }
        }
        Ok(if archived == 0 {
            Outcome::AlreadyDone
        } else {
            Outcome::Archived { packages: archived }
        })
    }

    /// The package of a governance model: its link, else its `Integration:External ID`.
    async fn model_package(
        &self,
        model: &GovernanceObject,
    ) -> Result<Option<ModelPackageArn>, MessageError> {
        Ok(match self.links.link_by_governance_id(&model.id).await? {
            Some(Link {
                kind: LinkKind::Model,
                arn: RegistryArn::Package(arn),
                ..
            }) => Some(arn),
            _ => model
                .field(fields::EXTERNAL_ID)
                .and_then(FieldValue::as_text)
                .and_then(|arn| ModelPackageArn::parse(&arn).ok()),
        })
    }

    /// Every package of every group provisioned for a use case: its linked group and the groups whose
    /// governance model groups sit under it.
    async fn use_case_packages(
        &self,
        use_case: &GovernanceObject,
    ) -> Result<Vec<ModelPackageArn>, MessageError> {
        let mut group_arns = Vec::new();
        if let Some(link) = self.links.link_by_governance_id(&use_case.id).await?
            && link.kind == LinkKind::UseCase
        {
            group_arns.push(link.arn.to_string());
        }
        let rows = self
            .governance
            .query(&GovernanceQuery {
                kind: GovernanceKind::ModelGroup,
                columns: vec![fields::EXTERNAL_ID.to_owned()],
                condition: Some(QueryCondition::ChildOf {
                    parent_kind: GovernanceKind::UseCase,
                    parent_id: use_case.id.clone(),
                }),
            })
            .await?;
        group_arns.extend(
            rows.iter()
                .filter_map(|row| row.field(fields::EXTERNAL_ID))
                .filter_map(FieldValue::as_text),
        );
        let mut packages = Vec::new();
        for group in decommission::unique_group_arns(group_arns) {
            let client = self.client(group.account(), group.region())?;
            let summaries = match client.list_packages(group.group_name()).await {
                Ok(summaries) => summaries,
                Err(error) if error.is_not_found() => continue,
                Err(error) => return Err(error.into()),
            };
            packages.extend(summaries.into_iter().map(|summary| summary.arn));
        }
        Ok(packages)
    }

    /// Archives one package (ledger first); `false` when it is gone or already archived.
    async fn archive_package(
        &self,
        arn: &ModelPackageArn,
        reason: &str,
        revision: Revision,
    ) -> Result<bool, MessageError> {
        let client = self.client(arn.account(), arn.region())?;
        let described = match client.describe_package(arn).await {
            Ok(described) => described,
            Err(error) if error.is_not_found() => {
                tracing::info!(
                    arn = arn.as_str(),
                    "package already gone; nothing to archive"
                );
                return Ok(false);
            }
            Err(error) => return Err(error.into()),
        };
        let package = described_version(&described)?;
        let Some(write) =
            decommission::archive_write(&package, &self.settings.archive, reason, revision)?
        else {
            return Ok(false);
        };
        echo::record_before_registry_write(
            self.links.as_ref(),
            std::slice::from_ref(&write.ledger),
            self.clock.now(),
        )
        .await?;
        client.update_package(&write.update).await?;
        tracing::info!(arn = arn.as_str(), "package archived");
        Ok(true)
    }

    fn client(&self, account: &AccountId, region: &Region) -> Result<&R, MessageError> {
        self.registries
            .get(account, region)
            .map(Arc::as_ref)
            .ok_or_else(|| MessageError::UnknownRegistry {
                account: account.to_string(),
                region: region.to_string(),
            })
    }
}
