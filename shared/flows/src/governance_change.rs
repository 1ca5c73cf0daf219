//! Apply a governance change to the registry (F1, F4, the F6 hand-off): what approval-propagation does
//! with one governance event. Generic over the ports, so tests run it on in-memory fakes.
//!
//! The event is a hint: the object is re-read from governance, and the work is claimed under the
//! business key *object id + the object's revision* (`Last Modification Date`), so a webhook delivery
//! and a poll of the same change are one piece of work. Then: an approved use case (F1) gets its
//! model package group, governance model group and one email; a model status change (F4) sets
//! `ModelApprovalStatus` and `ModelLifeCycle` per the mapping, unless stale or govsync's own echo; a
//! decommissioned model or use case (F6) becomes a request on `decommission.fifo`.

mod error;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use govsync_core::artifact::ArtifactFingerprint;
use govsync_core::batch_report::{BatchOutcome, Disposition, MessageOutcome};
use govsync_core::clock::{Clock, SystemClock};
use govsync_core::decision_event::{ArtifactRef, DecisionDetail};
use govsync_core::decommission_request::DecommissionRequest;
use govsync_core::field_mapping::Fact;
use govsync_core::governance_event::GovernanceEvent;
use govsync_core::ports::DecisionPublisher;
use govsync_core::ports::{
    ApprovedArtifact, ExternalIdLookup, Field, FieldValue, Governance, GovernanceError,
    GovernanceKind, GovernanceObject, IdempotencyStore, Link, LinkEnd, LinkKind, LinksTable,
    MessageQueue, ModelRegistry, Notifier, OutgoingMessage, PendingDecision, PublishError, TypeIds,
};
use govsync_core::sync::governance::{
    ModelChange, ModelDecision, Provisioned, Provisioning, UseCaseChange, UseCaseDecision,
    decide_model, decide_use_case, decision_of, object_revision, status_write,
};
use govsync_core::sync::registry::{described_version, use_case_tag};
use govsync_core::sync::{ConsoleLinks, fields};
use govsync_core::{
    AccountId, GovernanceId, IdempotencyKey, MappingSpec, ModelPackageArn, ModelPackageGroupArn,
    Region, Registry, RegistryArn, RegistryMap, Revision,
};
use serde_json::json;

pub use self::error::MessageError;
use crate::artifacts::ArtifactReaders;
use crate::creation::create_once;
use crate::echo;
use crate::idempotency::{self, Claim};
use crate::registry_clients::RegistryClients;

/// Attempts at recording an email's receipt once the email is out.
const RECEIPT_ATTEMPTS: u32 = 4;

/// What the handler decides with (the parts of the configuration that are not clients).
#[derive(Debug, Clone)]
pub struct Settings {
    pub registries: RegistryMap,
    pub mapping: MappingSpec,
    pub console: ConsoleLinks,
    /// `GOVSYNC_NOTIFICATION_SENDER`; `None`: no email (reported).
    pub sender: Option<String>,
    pub type_ids: TypeIds,
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// F1: what was missing of the use case's group, model group and email was provisioned.
    Provisioned {
        group_arn: ModelPackageGroupArn,
        findings: Vec<&'static str>,
    },
    /// F1: everything was provisioned before.
    AlreadyProvisioned,
    /// F1: an approved use case under no mapped business entity (reported, not synced).
    Unmapped,
    /// F4: the package was updated to the model's status.
    Updated,
    /// F4: the package already held what the status maps to.
    InSync,
    /// F4: no package is linked to the model.
    Unlinked,
    /// F6: handed to the decommission function.
    DecommissionRequested,
    /// The idempotency table holds a completed record for the change's business key.
    Duplicate,
    /// No newer than the revision already applied.
    Stale,
    /// govsync's own write coming back.
    Echo,
    /// Not this flow's business (`reason`).
    Ignored(&'static str),
    /// Permanently failed and sent to the DLQ with `code`.
    Quarantined(&'static str),
    /// Reported as a batch item failure (retryable error, or after an earlier failure of its group).
    Failed(&'static str),
}

impl Outcome {
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Provisioned { .. } => "provisioned",
            Outcome::AlreadyProvisioned => "already_provisioned",
            Outcome::Unmapped => "unmapped",
            Outcome::Updated => "updated",
            Outcome::InSync => "in_sync",
            Outcome::Unlinked => "unlinked",
            Outcome::DecommissionRequested => "decommission_requested",
            Outcome::Duplicate => "duplicate",
            Outcome::Stale => "stale",
            Outcome::Echo => "echo",
            Outcome::Ignored(_) => "ignored",
            Outcome::Quarantined(_) => "quarantined",
            Outcome::Failed(_) => "failed",
        }
    }

    fn record(&self) -> serde_json::Value {
        match self {
            Outcome::Provisioned {
                group_arn,
                findings,
            } => json!({"outcome": "provisioned", "group_arn": group_arn, "findings": findings}),
            Outcome::Ignored(reason) => json!({"outcome": "ignored", "reason": reason}),
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
            Outcome::Provisioned { .. }
            | Outcome::AlreadyProvisioned
            | Outcome::Unmapped
            | Outcome::Updated
            | Outcome::InSync
            | Outcome::Unlinked
            | Outcome::DecommissionRequested
            | Outcome::Stale
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
            Outcome::Provisioned { .. } | Outcome::Updated | Outcome::DecommissionRequested
        )
    }
}

/// A [`DecisionPublisher`] behind a pointer: the flow holds one or none.
pub trait DynDecisionPublisher: Send + Sync {
    fn publish_boxed<'a>(
        &'a self,
        detail: &'a DecisionDetail,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), PublishError>> + Send + 'a>>;
}

impl<T: DecisionPublisher> DynDecisionPublisher for T {
    fn publish_boxed<'a>(
        &'a self,
        detail: &'a DecisionDetail,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), PublishError>> + Send + 'a>>
    {
        Box::pin(self.publish(detail))
    }
}

/// The longest fingerprint text written to the governance Model.
const ARTIFACT_FIELD_MAX_CHARS: usize = 4000;

/// The governance-change flow over its ports.
pub struct GovernanceChange<G, R, I, L, N, D> {
    settings: Settings,
    governance: Arc<G>,
    registries: RegistryClients<R>,
    idempotency: Arc<I>,
    links: Arc<L>,
    notifier: Arc<N>,
    decommission: Arc<D>,
    clock: Arc<dyn Clock>,
    /// Where applied governance decisions are published; `None`: not published.
    decisions: Option<Arc<dyn DynDecisionPublisher>>,
    /// Reads the artifact an approval is bound to; empty: approvals are not fingerprinted.
    artifacts: ArtifactReaders,
}

/// The ports a [`GovernanceChange`] is built from.
pub struct Ports<G, R, I, L, N, D> {
    pub governance: Arc<G>,
    /// One registry port per entry of `settings.registries`.
    pub registries: Vec<(Registry, Arc<R>)>,
    pub idempotency: Arc<I>,
    pub links: Arc<L>,
    pub notifier: Arc<N>,
    pub decommission: Arc<D>,
}

impl<G, R, I, L, N, D> GovernanceChange<G, R, I, L, N, D>
where
    G: Governance,
    R: ModelRegistry,
    I: IdempotencyStore,
    L: LinksTable,
    N: Notifier,
    D: MessageQueue,
{
    pub fn new(settings: Settings, ports: Ports<G, R, I, L, N, D>) -> Self {
        let registries = RegistryClients::new(ports.registries);
        Self {
            clock: Arc::new(SystemClock),
            settings,
            governance: ports.governance,
            registries,
            idempotency: ports.idempotency,
            links: ports.links,
            notifier: ports.notifier,
            decommission: ports.decommission,
            decisions: None,
            artifacts: ArtifactReaders::default(),
        }
    }

    /// The same flow binding each approval it applies to the artifact's fingerprint (#21).
    pub fn with_artifact_readers(mut self, readers: ArtifactReaders) -> Self {
        self.artifacts = readers;
        self
    }

    /// The same flow publishing each governance decision it applies ([`govsync_core::decision_event`]).
    pub fn with_decision_publisher(mut self, publisher: Arc<dyn DynDecisionPublisher>) -> Self {
        self.decisions = Some(publisher);
        self
    }

    /// Publishes the Model's decision left in the outbox (a crash or a failed put after the SageMaker
    /// write), then clears it.
    async fn flush_decision(&self, model: &govsync_core::GovernanceId) -> Result<(), MessageError> {
        let Some(publisher) = &self.decisions else {
            return Ok(());
        };
        let Some(pending) = self.links.pending_decision(model).await? else {
            return Ok(());
        };
        let detail: DecisionDetail =
            serde_json::from_str(&pending.detail_json).map_err(|error| PublishError {
                decision_id: pending.decision_id.clone(),
                message: format!("the outbox holds an unreadable detail: {error}"),
            })?;
        self.write_artifact_field(model, detail.artifact.as_ref())
            .await?;
        publisher.publish_boxed(&detail).await?;
        self.links
            .decision_published(model, &pending.decision_id)
            .await?;
        tracing::info!(
            decision_id = pending.decision_id,
            "governance decision published from the outbox"
        );
        Ok(())
    }

    /// Writes the approved artifact's fingerprint onto the governance Model (field mapping
    /// `artifact_fingerprint`; a tenant may turn it off). The change event it causes finds the
    /// package in step (no decision, no event).
    async fn write_artifact_field(
        &self,
        model: &govsync_core::GovernanceId,
        artifact: Option<&ArtifactRef>,
    ) -> Result<(), MessageError> {
        let (Some(artifact), Some(field)) = (
            artifact,
            self.settings
                .mapping
                .fields()
                .field(Fact::ArtifactFingerprint),
        ) else {
            return Ok(());
        };
        let fingerprint = ArtifactFingerprint {
            containers: artifact.containers.clone(),
            registered_mismatches: artifact.registered_mismatches.clone(),
        };
        let mut text = fingerprint.summary();
        if text.len() > ARTIFACT_FIELD_MAX_CHARS {
            let mut cut = ARTIFACT_FIELD_MAX_CHARS;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        self.governance
            .update_object(model, &[Field::text(field, text)], None)
            .await?;
        Ok(())
    }

    /// Reads the artifact of a package governance's decision approves, and records it as the
    /// approved artifact before the SageMaker write; `None` for other decisions or an unread registry.
    async fn bind_approval(
        &self,
        write: &govsync_core::sync::governance::ModelWrite,
        described: &govsync_core::ports::ModelPackage,
    ) -> Result<Option<ArtifactFingerprint>, MessageError> {
        let approval = write.update.approval_status.or(described.approval_status);
        if approval != Some(govsync_core::ApprovalStatus::Approved) {
            return Ok(None);
        }
        let Some(read) = self.artifacts.fingerprint(described).await else {
            return Ok(None);
        };
        let fingerprint = read?;
        if !fingerprint.is_verified() {
            tracing::warn!(
                finding = "artifact_unverified_at_approval",
                unverifiable = fingerprint.unverifiable().join("; "),
                registered_mismatches = fingerprint.registered_mismatches.join("; "),
                "the approved artifact is not fully verified: recorded as read"
            );
        }
        Ok(Some(fingerprint))
    }

    /// The same flow reading `clock` instead of the system clock (tests move time with it).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    fn kind_of(&self, object: &GovernanceObject) -> Option<GovernanceKind> {
        let type_id = object.type_definition_id.as_str();
        if type_id == self.settings.type_ids.use_case {
            Some(GovernanceKind::UseCase)
        } else if type_id == self.settings.type_ids.model {
            Some(GovernanceKind::Model)
        } else {
            None
        }
    }

    /// Re-reads the object (the event is only a hint), then runs the flow under the idempotency key
    /// of the object's current state: object id + its revision (`Last Modification Date`), so the
    /// webhook's and the poller's messages for one change are one piece of work.
    pub async fn process(
        &self,
        change: &GovernanceEvent,
        deadline: DateTime<Utc>,
    ) -> Result<Outcome, MessageError> {
        tracing::Span::current().record("object_id", change.object_id.as_str());
        let object = match self.governance.get_object(&change.object_id).await {
            Ok(object) => object,
            Err(GovernanceError::NotFound { .. }) => {
                tracing::info!("the object no longer exists in governance");
                return Ok(Outcome::Ignored("object_missing"));
            }
            Err(error) => return Err(error.into()),
        };
        let Some(kind) = self.kind_of(&object) else {
            return Ok(Outcome::Ignored("not_a_use_case_or_model"));
        };
        let revision = object_revision(&object)
            .or(Some(Revision::from_time(change.occurred_at)))
            .ok_or_else(|| MessageError::NoRevision {
                id: object.id.to_string(),
            })?;
        let key = IdempotencyKey::for_governance_change(&object.id, revision);
        let key = &key;
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
        let result = match kind {
            GovernanceKind::UseCase => self.use_case(&object, revision, deadline).await,
            _ => self.model(&object, revision).await,
        };
        // An approved use case whose entity has no registry yet keeps no record: once the registry is
        // added, the next delivery or the poller's next pass of that same revision provisions it.
        let record = result
            .as_ref()
            .ok()
            .filter(|outcome| !matches!(outcome, Outcome::Unmapped))
            .map(Outcome::record);
        idempotency::settle_claim(
            self.idempotency.as_ref(),
            key,
            record.as_ref(),
            self.clock.now(),
        )
        .await;
        result
    }

    // ---------------------------------------------------------------------------------------- F1

    async fn use_case(
        &self,
        use_case: &GovernanceObject,
        revision: Revision,
        deadline: DateTime<Utc>,
    ) -> Result<Outcome, MessageError> {
        let business_entity = self.business_entity(use_case).await?;
        let provisioned = self.provisioned(&use_case.id).await?;
        let decision = decide_use_case(&UseCaseChange {
            use_case,
            business_entity: business_entity.as_deref(),
            registries: &self.settings.registries,
            provisioned: &provisioned,
            console: &self.settings.console,
            sender: self.settings.sender.as_deref(),
        });
        match decision {
            UseCaseDecision::Ignore(reason) => Ok(Outcome::Ignored(reason)),
            UseCaseDecision::Unmapped { business_entity } => {
                tracing::warn!(
                    finding = "unmapped_business_entity",
                    business_entity = business_entity.as_deref().unwrap_or("none"),
                    "approved use case under no business entity of the registry map: not synced"
                );
                Ok(Outcome::Unmapped)
            }
            UseCaseDecision::Decommission(request) => {
                self.request_decommission(&request).await?;
                Ok(Outcome::DecommissionRequested)
            }
            UseCaseDecision::AlreadyProvisioned { group_arn } => {
                tracing::info!(%group_arn, "use case already provisioned");
                Ok(Outcome::AlreadyProvisioned)
            }
            UseCaseDecision::Provision(plan) => self.provision(*plan, revision, deadline).await,
        }
    }

    /// The name of the use case's parent business entity, if its parent is one.
    async fn business_entity(
        &self,
        use_case: &GovernanceObject,
    ) -> Result<Option<String>, MessageError> {
        let Some(parent) = &use_case.primary_parent_id else {
            return Ok(None);
        };
        match self.governance.get_object(parent).await {
            Ok(object) if object.type_definition_id == self.settings.type_ids.business_entity => {
                Ok(Some(object.name))
            }
            Ok(_) | Err(GovernanceError::NotFound { .. }) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// What the links table says is provisioned for a use case.
    async fn provisioned(&self, use_case: &GovernanceId) -> Result<Provisioned, MessageError> {
        let group_arn =
            self.links
                .link_by_governance_id(use_case)
                .await?
                .and_then(|link| match link {
                    Link {
                        kind: LinkKind::UseCase,
                        arn: RegistryArn::Group(arn),
                        ..
                    } => Some(arn),
                    _ => None,
                });
        let model_group_linked = match &group_arn {
            Some(arn) => self
                .links
                .link_by_arn(LinkKind::ModelGroup, &arn.into())
                .await?
                .is_some(),
            None => false,
        };
        let email_sent = self
            .links
            .applied_revision(&email_receipt(use_case))
            .await?
            .is_some();
        Ok(Provisioned {
            group_arn,
            model_group_linked,
            email_sent,
        })
    }

    fn registry_client(
        &self,
        account: &AccountId,
        region: &Region,
    ) -> Result<&Arc<R>, MessageError> {
        self.registries
            .get(account, region)
            .ok_or_else(|| MessageError::UnknownRegistry {
                account: account.to_string(),
                region: region.to_string(),
            })
    }

    async fn provision(
        &self,
        plan: Provisioning,
        revision: Revision,
        deadline: DateTime<Utc>,
    ) -> Result<Outcome, MessageError> {
        let client = self.registry_client(&plan.registry.account, &plan.registry.region)?;
        let group_arn = match &plan.create_group {
            None => plan.group_arn.clone(),
            Some(group) => {
                // A group of this name may exist: ours from an attempt that failed before linking it
                // (adopt it), or another use case's (never taken over).
                let arn = match client.list_tags(plan.group_arn.as_str()).await {
                    Ok(tags) => match use_case_tag(&tags) {
                        Ok(owner) if owner == plan.use_case_id => {
                            tracing::info!(
                                group_arn = %plan.group_arn,
                                "adopting the group created by an earlier attempt"
                            );
                            plan.group_arn.clone()
                        }
                        owner => {
                            return Err(MessageError::GroupNameTaken {
                                name: group.name.clone(),
                                owner: owner
                                    .map(|id| format!("use case {id}"))
                                    .unwrap_or_else(|reason| reason),
                                use_case: plan.use_case_id.to_string(),
                            });
                        }
                    },
                    Err(error) if error.is_not_found() => {
                        let arn = ModelPackageGroupArn::parse(&client.create_group(group).await?)?;
                        tracing::info!(group_arn = %arn, "model package group created");
                        arn
                    }
                    Err(error) => return Err(error.into()),
                };
                // Before the link: a failure retries the whole step, and a put replaces the policy.
                if let Some(policy) = &plan.group_policy {
                    client
                        .put_group_policy(arn.group_name().as_str(), policy)
                        .await?;
                    tracing::info!(group_arn = %arn, "group shared with the use case's development accounts");
                }
                self.links
                    .put_link(&Link {
                        kind: LinkKind::UseCase,
                        arn: arn.clone().into(),
                        governance_id: plan.use_case_id.clone(),
                    })
                    .await?;
                arn
            }
        };
        if let Some(mut model_group) = plan.model_group.clone() {
            for field in &mut model_group.fields {
                if field.name == fields::EXTERNAL_ID {
                    field.value = FieldValue::Text(group_arn.to_string());
                }
            }
            let id = match self
                .governance
                .find_by_external_id(GovernanceKind::ModelGroup, group_arn.as_str())
                .await?
            {
                ExternalIdLookup::Found(object) => object.id,
                ExternalIdLookup::Absent => create_once(
                    self.governance.as_ref(),
                    self.idempotency.as_ref(),
                    self.clock.now(),
                    deadline,
                    "model-group",
                    &model_group,
                )
                .await?
                .id()
                .clone(),
                ExternalIdLookup::Ambiguous(ids) => {
                    return Err(MessageError::AmbiguousExternalId {
                        kind: GovernanceKind::ModelGroup,
                        external_id: group_arn.to_string(),
                        ids: ids
                            .iter()
                            .map(|id| id.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    });
                }
            };
            self.links
                .put_link(&Link {
                    kind: LinkKind::ModelGroup,
                    arn: group_arn.clone().into(),
                    governance_id: id,
                })
                .await?;
        }
        let mut findings = plan.findings.clone();
        if let Some(email) = &plan.email {
            self.send_email_once(&plan.use_case_id, revision, email)
                .await?;
            findings.push("email_sent");
        }
        for finding in &plan.findings {
            tracing::warn!(finding, use_case = %plan.use_case_id, "approval email not sent");
        }
        Ok(Outcome::Provisioned {
            group_arn,
            findings,
        })
    }

    /// Sends the approval email at most once per use case. The receipt (links table) is checked
    /// before sending and written, with retries, after SES accepted the email and before the message
    /// is acknowledged: an SES error sends nothing and leaves no receipt, so the retry sends it; a
    /// redelivery after the receipt sends nothing.
    async fn send_email_once(
        &self,
        use_case: &GovernanceId,
        revision: Revision,
        email: &govsync_core::ports::Email,
    ) -> Result<(), MessageError> {
        let receipt = email_receipt(use_case);
        if self.links.applied_revision(&receipt).await?.is_some() {
            return Ok(());
        }
        let message_id = self.notifier.send(email).await?;
        tracing::info!(
            message_id,
            recipients = email.to.len(),
            "approval email sent"
        );
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self
                .links
                .advance_applied_revision(&receipt, revision.value().max(1))
                .await
            {
                Ok(_) => return Ok(()),
                Err(error) if attempt < RECEIPT_ATTEMPTS => {
                    tracing::warn!(error = %error, attempt, "recording the email receipt failed; retrying");
                    tokio::time::sleep(StdDuration::from_millis(50 << attempt)).await;
                }
                Err(error) => return Err(MessageError::EmailReceipt(error)),
            }
        }
    }

    async fn request_decommission(
        &self,
        request: &DecommissionRequest,
    ) -> Result<(), MessageError> {
        self.decommission
            .send(&OutgoingMessage {
                body: request.to_json(),
                message_group_id: request.message_group_id(),
                deduplication_id: request.deduplication_id(),
            })
            .await?;
        tracing::info!(
            kind = request.kind.as_str(),
            governance_id = %request.governance_id,
            "decommission requested"
        );
        Ok(())
    }

    // ---------------------------------------------------------------------------------------- F4

    async fn model(
        &self,
        model: &GovernanceObject,
        revision: Revision,
    ) -> Result<Outcome, MessageError> {
        let end = LinkEnd::Governance(model.id.clone());
        self.flush_decision(&model.id).await?;
        let applied = self.links.applied_revision(&end).await?;
        if let Some(applied) = applied
            && revision.value() <= applied
        {
            tracing::info!(
                revision = revision.value(),
                applied,
                "stale: a newer revision is already applied"
            );
            return Ok(Outcome::Stale);
        }
        let status = model
            .field(fields::MODEL_STATUS)
            .and_then(FieldValue::as_text)
            .filter(|status| !status.trim().is_empty());
        let our_write = match &status {
            Some(status) => {
                self.links
                    .consume_our_write(
                        &status_write(&model.id, status).produced(revision.value()),
                        self.clock.now(),
                    )
                    .await?
            }
            None => false,
        };
        let linked = if our_write {
            None
        } else {
            self.linked_package(model).await?
        };
        let package = match &linked {
            Some((_, described)) => Some(described_version(described)?),
            None => None,
        };
        let decision = decide_model(&ModelChange {
            model,
            revision,
            applied,
            our_write,
            package: package.as_ref(),
            mapping: &self.settings.mapping,
        });
        let outcome = match decision {
            ModelDecision::Stale { .. } => return Ok(Outcome::Stale),
            ModelDecision::NoStatus => return Ok(Outcome::Ignored("no_status")),
            ModelDecision::UnknownStatus { status } => {
                tracing::warn!(
                    finding = "unknown_governance_status",
                    status,
                    "governance model status not in the mapping"
                );
                return Err(MessageError::UnknownStatus {
                    model: model.id.to_string(),
                    status,
                });
            }
            ModelDecision::Unlinked => {
                tracing::warn!(
                    finding = "unlinked_model",
                    "no package is linked to the governance model"
                );
                return Ok(Outcome::Unlinked);
            }
            ModelDecision::Echo => {
                // An echo applies nothing, so it never advances the applied revision.
                tracing::info!("echo of govsync's own status write dropped (ledger)");
                return Ok(Outcome::Echo);
            }
            ModelDecision::Decommission(request) => {
                self.request_decommission(&request).await?;
                Outcome::DecommissionRequested
            }
            ModelDecision::InSync => Outcome::InSync,
            ModelDecision::Update(write) => {
                let Some((client, described)) = &linked else {
                    return Ok(Outcome::Unlinked);
                };
                echo::record_before_registry_write(
                    self.links.as_ref(),
                    std::slice::from_ref(&write.ledger),
                    self.clock.now(),
                )
                .await?;
                let fingerprint = self.bind_approval(&write, described).await?;
                let detail = package.as_ref().map(|package| {
                    decision_of(
                        model,
                        revision,
                        package,
                        &write,
                        &self.settings.console,
                        fingerprint.as_ref(),
                    )
                });
                if let (Some(fingerprint), Some(detail)) = (&fingerprint, &detail) {
                    self.links
                        .record_approved_artifact(&ApprovedArtifact {
                            package_arn: write.update.arn.clone(),
                            model: model.id.clone(),
                            decision_id: detail.decision_id.clone(),
                            fingerprint: fingerprint.clone(),
                            approved_at: self.clock.now(),
                        })
                        .await?;
                }
                // The decision goes to the outbox before the write, so a crash between the write and
                // the put still publishes it (on the next delivery, `flush_decision`).
                let decision = match (&self.decisions, detail) {
                    (Some(_), Some(detail)) => {
                        self.links
                            .save_decision(&PendingDecision {
                                model: model.id.clone(),
                                decision_id: detail.decision_id.clone(),
                                detail_json: serde_json::to_string(&detail)
                                    .expect("a decision detail serializes"),
                            })
                            .await?;
                        Some(detail)
                    }
                    _ => None,
                };
                client.update_package(&write.update).await?;
                tracing::info!(
                    package_arn = write.update.arn.as_str(),
                    status = %write.status,
                    approval = write.update.approval_status.map(|a| a.as_str()).unwrap_or(""),
                    "package updated to the governance status"
                );
                if let Some(fingerprint) = &fingerprint {
                    self.write_artifact_field(&model.id, Some(&ArtifactRef::of(fingerprint)))
                        .await?;
                }
                if let (Some(publisher), Some(detail)) = (&self.decisions, decision) {
                    publisher.publish_boxed(&detail).await?;
                    self.links
                        .decision_published(&model.id, &detail.decision_id)
                        .await?;
                    tracing::info!(
                        decision_id = detail.decision_id,
                        "governance decision published"
                    );
                }
                Outcome::Updated
            }
        };
        self.links
            .advance_applied_revision(&end, revision.value())
            .await?;
        Ok(outcome)
    }

    /// The package linked to a model (links table, else the model's External ID), described now.
    async fn linked_package(
        &self,
        model: &GovernanceObject,
    ) -> Result<Option<(Arc<R>, govsync_core::ports::ModelPackage)>, MessageError> {
        let arn = match self.links.link_by_governance_id(&model.id).await? {
            Some(Link {
                kind: LinkKind::Model,
                arn: RegistryArn::Package(arn),
                ..
            }) => arn,
            _ => match model
                .field(fields::EXTERNAL_ID)
                .and_then(FieldValue::as_text)
                .filter(|text| text.starts_with("arn:"))
            {
                Some(text) => ModelPackageArn::parse(&text)?,
                None => return Ok(None),
            },
        };
        let client = self.registry_client(arn.account(), arn.region())?.clone();
        match client.describe_package(&arn).await {
            Ok(package) => Ok(Some((client, package))),
            Err(error) if error.is_not_found() => {
                tracing::warn!(
                    package_arn = arn.as_str(),
                    "the linked package no longer exists"
                );
                Ok(None)
            }
            Err(error) => Err(error.into()),
        }
    }
}

/// Where the approval email's receipt is kept: an applied-revision item of its own in the links
/// table, written once (conditional), never expiring.
fn email_receipt(use_case: &GovernanceId) -> LinkEnd {
    LinkEnd::ApprovalEmailSent(use_case.clone())
}
