//! Sync one registry package into governance (F2, F3): what registry-events does with one event and
//! what the reconciler does to repair a package. Generic over the ports, so tests and benchmarks run it
//! on in-memory fakes.
//!
//! Per event: accept only (account, region) in the registry map; drop govsync's own calls (CloudTrail
//! `userIdentity` is a writer identity) and writes (our-write ledger match); claim the business key in
//! the idempotency table; skip an event no newer than the revision applied in the links table;
//! re-describe the package; decide in core; execute: find or create the governance model group
//! (External ID = group ARN) and model (External ID = package ARN) under the use case named by the
//! group's `govsync:use-case-id` tag, sync metadata and `both`-row lifecycle, apply the approval gate,
//! and write the governance ids, links, use case name and risk level back into the package's
//! `CustomerMetadataProperties` (ledger first, `govsync:rev`, `ClientToken`).
//!
//! Retirement seen here (F5, with `govsync_core::sync::decommission`): a package archived in SageMaker
//! sets its model to the decommissioned status; a model created for a package whose deletion record
//! left a tombstone is decommissioned at once. A package that describe cannot find is not a deletion
//! (an event may precede the registration, or name a package that never existed): nothing is done.

mod error;

use std::sync::Arc;

use crate::artifacts::{ArtifactReaders, check_known_artifact};
use chrono::{DateTime, Utc};
use govsync_core::batch_report::{BatchOutcome, Disposition, MessageOutcome};
use govsync_core::clock::{Clock, SystemClock};
use govsync_core::ports::{
    ApprovalStatus, CommitOutcome, EchoCheck, ExternalIdLookup, Governance, GovernanceError,
    GovernanceKind, GovernanceObject, IdempotencyStore, Link, LinkEnd, LinkKind, LinksTable,
    ModelRegistry, OurWrite, PackageState, StoreWrite, WriteSide,
};
use govsync_core::registry_event::RegistryEvent;
use govsync_core::sync::decommission;
use govsync_core::sync::registry::{
    Action, Assignment, Finding, Found, IgnoreReason, PackageSync, PackageWrite, Plan, Triage,
    UseCaseView, WriteBackError, decide, described_version, is_stale, is_stale_described,
    snapshot_write, triage, use_case_tag,
};
use govsync_core::sync::{ConsoleLinks, GateMode, WriterIdentities, fields};
use govsync_core::{
    IdempotencyKey, MappingSpec, ModelPackageArn, Registry, RegistryArn, RegistryMap, Revision,
};
use serde_json::json;

pub use self::error::MessageError;
use crate::creation::{Creation, create_once_deferred};
use crate::echo;
use crate::idempotency::{self, Claim};
use crate::registry_clients::RegistryClients;

/// The finding of a write-back SageMaker's limits refuse (links that cannot be stored at all).
pub const WRITE_BACK_REFUSED: &str = "write_back_refused";

/// How long a repair's creation claims hold off others (a repair runs outside any SQS invocation).
const REPAIR_CLAIM_SECONDS: i64 = 60;

/// What the handler decides with (the parts of `Config` that are not clients).
#[derive(Debug, Clone)]
pub struct Settings {
    pub registries: RegistryMap,
    pub writers: WriterIdentities,
    pub gate: GateMode,
    pub mapping: MappingSpec,
    pub console: ConsoleLinks,
    /// Signs the govsync link written on each Model; `None`: the plain console link.
    pub model_links: Option<govsync_core::model_link::ModelLinks>,
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Governance and the write-back were brought in line (possibly nothing to do).
    Synced {
        actions: usize,
        findings: Vec<&'static str>,
    },
    /// The idempotency table holds a completed record for the event's business key.
    Duplicate,
    /// No newer than the revision already applied.
    Stale,
    /// govsync's own write (CloudTrail identity or ledger match).
    Echo,
    /// Not this flow's business (`reason`).
    Ignored(&'static str),
    /// Describe finds no such package: nothing is synced, nothing decommissioned (only a delete record
    /// is a deletion).
    PackageMissing,
    /// Permanently failed and sent to the DLQ with `code`.
    Quarantined(&'static str),
    /// Reported as a batch item failure (retryable error, or after an earlier failure of its group).
    Failed(&'static str),
}

impl Outcome {
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Synced { .. } => "synced",
            Outcome::Duplicate => "duplicate",
            Outcome::Stale => "stale",
            Outcome::Echo => "echo",
            Outcome::Ignored(_) => "ignored",
            Outcome::PackageMissing => "package_missing",
            Outcome::Quarantined(_) => "quarantined",
            Outcome::Failed(_) => "failed",
        }
    }

    fn record(&self) -> serde_json::Value {
        match self {
            Outcome::Synced { actions, findings } => {
                json!({"outcome": "synced", "actions": actions, "findings": findings})
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
            Outcome::Synced { .. }
            | Outcome::Stale
            | Outcome::Ignored(_)
            | Outcome::PackageMissing => Disposition::Done,
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
        matches!(self, Outcome::Synced { .. })
    }
}

/// How a sync decides whether its change is stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Judged {
    /// By the event's own millisecond revision, before describing.
    ByEvent,
    /// By the described package's millisecond `LastModifiedTime` (a call record's time is whole
    /// seconds, too coarse to order two changes within one second).
    ByDescribedState,
    /// Never: the reconciler repairs a package from its current state whatever was applied.
    Repair,
}

/// Whether a model group link may be taken without reading the object (see `model_group`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GroupLink {
    Trusted,
    /// Read it: the trusted one failed a creation.
    Verified,
}

/// What one sync decides from, once the package is described and its use case known.
struct Decided<'a> {
    package: &'a govsync_core::ModelVersion,
    registry: &'a Registry,
    assignment: &'a Assignment,
    artifact: Option<&'a govsync_core::artifact::ArtifactCheck>,
    state: &'a PackageState,
    now: DateTime<Utc>,
}

/// A linked object known by its id alone: `decide` reads nothing but a model group's id.
fn linked_object(link: &Link) -> GovernanceObject {
    GovernanceObject {
        id: link.governance_id.clone(),
        name: String::new(),
        type_definition_id: String::new(),
        primary_parent_id: None,
        description: None,
        fields: Vec::new(),
    }
}

/// The package sync over its ports.
pub struct RegistrySync<G, R, I, L> {
    settings: Settings,
    governance: Arc<G>,
    registries: RegistryClients<R>,
    idempotency: Arc<I>,
    links: Arc<L>,
    clock: Arc<dyn Clock>,
    /// Reads approved packages' artifacts to check them against the approval; empty: not checked.
    artifacts: ArtifactReaders,
}

impl<G, R, I, L> RegistrySync<G, R, I, L>
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
            artifacts: ArtifactReaders::default(),
        }
    }

    /// The same flow checking approved packages' artifacts against what governance approved (#21).
    pub fn with_artifact_readers(mut self, readers: ArtifactReaders) -> Self {
        self.artifacts = readers;
        self
    }

    /// The same flow reading `clock` instead of the system clock (tests move time with it).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Syncs one package from its current state exactly as an event about it would (F2, F3: find or
    /// create the model, the gate, the write-back). The reconciler's repair path; no idempotency claim
    /// (the decision compares both sides' current state, so a repeat decides to nothing).
    pub async fn sync_package(
        &self,
        registry: &Registry,
        arn: &ModelPackageArn,
    ) -> Result<Outcome, MessageError> {
        // A repair has no invocation deadline of its own: its creation claims hold one repair's time.
        let deadline = self.clock.now() + chrono::Duration::seconds(REPAIR_CLAIM_SECONDS);
        self.sync(registry, arn, None, None, Judged::Repair, deadline, None)
            .await
            .map(|(outcome, _)| outcome)
    }

    /// Processes one registry event: triage, then the idempotent sync of its package.
    pub async fn process(
        &self,
        event: &RegistryEvent,
        deadline: DateTime<Utc>,
    ) -> Result<Outcome, MessageError> {
        match triage(event, &self.settings.registries, &self.settings.writers) {
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
            Triage::Package {
                registry,
                arn,
                revision,
                snapshot,
            } => {
                tracing::Span::current().record("package_arn", arn.as_str());
                self.idempotent(event, registry, arn, revision, snapshot, deadline)
                    .await
            }
        }
    }

    /// The Powertools protocol around the sync: claim, work, complete (or release on failure).
    async fn idempotent(
        &self,
        event: &RegistryEvent,
        registry: &Registry,
        arn: &ModelPackageArn,
        revision: Option<Revision>,
        snapshot: Option<&govsync_core::ModelVersion>,
        deadline: DateTime<Utc>,
    ) -> Result<Outcome, MessageError> {
        let key = event.idempotency_key();
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
        let judged = match revision {
            Some(_) => Judged::ByEvent,
            None => Judged::ByDescribedState,
        };
        let result = self
            .sync(
                registry,
                arn,
                revision,
                snapshot,
                judged,
                deadline,
                Some(key),
            )
            .await;
        let result = match result {
            // Completed with the sync's last writes, in one transaction.
            Ok((outcome, true)) => return Ok(outcome),
            Ok((outcome, false)) => Ok(outcome),
            Err(error) => Err(error),
        };
        // A package not found yet keeps no record: the same state seen once it exists is synced.
        let record = result
            .as_ref()
            .ok()
            .filter(|outcome| !matches!(outcome, Outcome::PackageMissing))
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

    /// Syncs the package; with the event's `claim`, answers also whether the claim was completed
    /// (in one transaction with the sync's last writes: never before every effect is stored).
    #[allow(clippy::too_many_arguments)]
    async fn sync(
        &self,
        registry: &Registry,
        arn: &ModelPackageArn,
        revision: Option<Revision>,
        snapshot: Option<&govsync_core::ModelVersion>,
        judged: Judged,
        deadline: DateTime<Utc>,
        claim: Option<&IdempotencyKey>,
    ) -> Result<(Outcome, bool), MessageError> {
        let now = self.clock.now();
        let end = LinkEnd::Registry(arn.into());
        // The revision, both links, the approved artifact (and the ledger entry) in one read.
        let state = match snapshot {
            None => self.links.package_state(arn).await?,
            Some(snapshot) => {
                let write = snapshot_write(snapshot);
                match self
                    .links
                    .package_state_unless_echo(arn, &write, now)
                    .await?
                {
                    EchoCheck::Consumed => {
                        tracing::info!("echo of govsync's own write dropped (ledger)");
                        return Ok((Outcome::Echo, false));
                    }
                    EchoCheck::NotEcho(state) => state,
                    EchoCheck::Live(state) => {
                        // One change consumes the entry: with the claim, so an echo is one write.
                        let mut writes = vec![StoreWrite::ConsumeOurWrite { write, now }];
                        writes.extend(claim.map(|key| StoreWrite::CompleteClaim {
                            key: key.clone(),
                            result: Outcome::Echo.record(),
                            now,
                        }));
                        match self
                            .links
                            .commit(self.idempotency.as_ref(), &writes)
                            .await?
                        {
                            CommitOutcome::Committed => {
                                tracing::info!("echo of govsync's own write dropped (ledger)");
                                return Ok((Outcome::Echo, claim.is_some()));
                            }
                            outcome => {
                                tracing::info!(
                                    ?outcome,
                                    "the ledger entry was consumed meanwhile: not an echo"
                                );
                                state
                            }
                        }
                    }
                }
            }
        };
        let applied = state.applied_revision;
        if is_stale(revision, applied) {
            tracing::info!(
                revision = revision.map(Revision::value),
                applied,
                "stale: a newer revision is already applied"
            );
            return Ok((Outcome::Stale, false));
        }
        let Some(client) = self.registries.get(&registry.account, &registry.region) else {
            return Err(MessageError::UnknownRegistry {
                account: registry.account.to_string(),
                region: registry.region.to_string(),
            });
        };
        let described = match client.describe_package(arn).await {
            Ok(described) => described,
            Err(error) if error.is_not_found() => {
                // Not a deletion: only a delete record says that (the decommission function's F5).
                // An event may precede its package's registration, or name one that never existed.
                tracing::warn!("the package does not exist (now): nothing is synced");
                return Ok((Outcome::PackageMissing, false));
            }
            Err(error) => return Err(error.into()),
        };
        let package = described_version(&described)?;
        if judged == Judged::ByDescribedState
            && is_stale_described(package.last_modified_time.map(Revision::from_time), applied)
        {
            tracing::info!(applied, "stale: the described state is already applied");
            return Ok((Outcome::Stale, false));
        }
        let group_arn = package.arn.group_arn();
        let approved = match state.approved_artifact.clone() {
            Some(approved) => Some(approved),
            // Not there when read: read again now the package is described, since an approval
            // applied between the two reads recorded it before its approval reached SageMaker.
            None if described.approval_status == Some(ApprovalStatus::Approved)
                && self
                    .artifacts
                    .get(described.arn.account(), described.arn.region())
                    .is_some() =>
            {
                self.links.approved_artifact(&described.arn).await?
            }
            None => None,
        };
        let artifact = check_known_artifact(approved, &self.artifacts, &described)
            .await?
            .map(|(_, check)| check);

        let assignment = self.assignment(client.as_ref(), group_arn.as_str()).await?;
        let context = Decided {
            package: &package,
            registry,
            assignment: &assignment,
            artifact: artifact.as_ref(),
            state: &state,
            now,
        };
        let (actions, findings) = match self
            .decide_and_execute(client.as_ref(), &context, GroupLink::Trusted, deadline)
            .await
        {
            Ok(done) => done,
            // A deleted parent refuses the creation permanently; a retryable error is retried anyway.
            Err(error @ MessageError::Governance(_))
                if !error.is_retryable() && self.trusted_group_is_gone(&context).await? =>
            {
                tracing::warn!(error = %error, "the linked model group is gone; looking it up again");
                self.decide_and_execute(client.as_ref(), &context, GroupLink::Verified, deadline)
                    .await?
            }
            Err(error) => return Err(error),
        };

        // The applied revision and the event's claim last, in one transaction: the claim is
        // completed only once every effect is stored.
        let outcome = Outcome::Synced { actions, findings };
        let described_revision = package
            .last_modified_time
            .map(|time| Revision::from_time(time).value());
        let mut writes: Vec<StoreWrite> = described_revision
            .map(|revision| StoreWrite::AdvanceRevision {
                end: end.clone(),
                revision,
            })
            .into_iter()
            .collect();
        writes.extend(claim.map(|key| StoreWrite::CompleteClaim {
            key: key.clone(),
            result: outcome.record(),
            now: self.clock.now(),
        }));
        if writes.is_empty() {
            return Ok((outcome, false));
        }
        let settled = match self
            .links
            .commit(self.idempotency.as_ref(), &writes)
            .await?
        {
            CommitOutcome::Committed => claim.is_some(),
            CommitOutcome::RevisionStale { applied } => {
                // Nothing written: the claim is completed on its own.
                tracing::info!(
                    applied,
                    described_revision,
                    "a revision at least as new was applied meanwhile"
                );
                false
            }
            other => return Err(unexpected_commit(other)),
        };
        Ok((outcome, settled))
    }

    /// The use case named by the group's `govsync:use-case-id` tag, or why there is none.
    async fn assignment(&self, client: &R, group_arn: &str) -> Result<Assignment, MessageError> {
        let tags = match client.list_tags(group_arn).await {
            Ok(tags) => tags,
            Err(error) if error.is_not_found() => {
                return Ok(Assignment::Unassigned {
                    reason: format!("the group {group_arn} does not exist"),
                });
            }
            Err(error) => return Err(error.into()),
        };
        let id = match use_case_tag(&tags) {
            Ok(id) => id,
            Err(reason) => return Ok(Assignment::Unassigned { reason }),
        };
        match self.governance.get_object(&id).await {
            Ok(object) => Ok(Assignment::UseCase(UseCaseView::from_object(&object))),
            Err(GovernanceError::NotFound { .. }) => Ok(Assignment::Unassigned {
                reason: format!("the group's use case {id} does not exist in governance"),
            }),
            Err(error) => Err(error.into()),
        }
    }

    /// Finds the governance side, decides and carries out the plan; answers (actions, findings).
    async fn decide_and_execute(
        &self,
        client: &R,
        context: &Decided<'_>,
        group_link: GroupLink,
        deadline: DateTime<Utc>,
    ) -> Result<(usize, Vec<&'static str>), MessageError> {
        let package = context.package;
        let (model_group, model) = match context.assignment {
            Assignment::UseCase(_) => {
                let model = self
                    .find(
                        context.state.model.as_ref(),
                        GovernanceKind::Model,
                        &(&package.arn).into(),
                    )
                    .await?;
                let group = self
                    .model_group(context, model.as_ref(), group_link)
                    .await?;
                (group, model)
            }
            Assignment::Unassigned { .. } => (None, None),
        };
        let plan = decide(&PackageSync {
            package,
            registry: context.registry,
            assignment: context.assignment,
            model_group: model_group.as_ref().map(|(object, linked)| Found {
                object,
                linked: *linked,
            }),
            model: model.as_ref().map(|(object, linked)| Found {
                object,
                linked: *linked,
            }),
            mapping: &self.settings.mapping,
            gate: self.settings.gate,
            console: &self.settings.console,
            model_links: self.settings.model_links.as_ref(),
            artifact: context.artifact,
            now: context.now,
        });
        let mut findings = report_findings(&plan);
        let actions = plan.actions.len();
        findings.extend(self.execute(client, plan, deadline).await?);
        Ok((actions, findings))
    }

    /// The package group's model group. A linked one is taken from the links table without reading
    /// it from governance when that is safe: the link names the object govsync created or found for
    /// this group ARN (External ID), and a group's model group never changes while it exists. What
    /// invalidates the link is the object's deletion in governance; it is caught where it matters:
    /// - the package's model is known: its `primary_parent_id` must be the linked id (else read);
    /// - a new model is created under the linked id: a deleted parent refuses the creation, and the
    ///   flow then checks the link ([`Self::trusted_group_is_gone`]) and looks the group up again.
    ///
    /// The use case is never cached: the group's tag and the use case object are read per event, so
    /// a group re-tagged to another use case writes the new one back at once.
    async fn model_group(
        &self,
        context: &Decided<'_>,
        model: Option<&(GovernanceObject, bool)>,
        group_link: GroupLink,
    ) -> Result<Option<(GovernanceObject, bool)>, MessageError> {
        let link = context.state.model_group.as_ref();
        if let Some(link) = link {
            let parent_confirms = model.is_some_and(|(object, _)| {
                object.primary_parent_id.as_ref() == Some(&link.governance_id)
            });
            let trusted = group_link == GroupLink::Trusted && model.is_none();
            if parent_confirms || trusted {
                return Ok(Some((linked_object(link), true)));
            }
        }
        let group_arn: RegistryArn = context.package.arn.group_arn().into();
        self.find(link, GovernanceKind::ModelGroup, &group_arn)
            .await
    }

    /// After a failed plan that created a model under a model group taken on trust: whether that
    /// group is gone from governance (then the plan is made again with the group looked up).
    async fn trusted_group_is_gone(&self, context: &Decided<'_>) -> Result<bool, MessageError> {
        let (Assignment::UseCase(_), None, Some(link)) = (
            context.assignment,
            context.state.model.as_ref(),
            context.state.model_group.as_ref(),
        ) else {
            return Ok(false);
        };
        match self.governance.get_object(&link.governance_id).await {
            Ok(_) => Ok(false),
            Err(GovernanceError::NotFound { .. }) => Ok(true),
            // The original error is the one to report; this check is best effort.
            Err(_) => Ok(false),
        }
    }

    /// The governance object for a registry ARN: by its link (read from the links table), else by
    /// external id.
    async fn find(
        &self,
        link: Option<&Link>,
        kind: GovernanceKind,
        arn: &RegistryArn,
    ) -> Result<Option<(GovernanceObject, bool)>, MessageError> {
        if let Some(link) = link {
            match self.governance.get_object(&link.governance_id).await {
                Ok(object) => return Ok(Some((object, true))),
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
            ExternalIdLookup::Found(object) => Ok(Some((object, false))),
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

    /// Carries out the plan; answers the findings only carrying it out can make.
    async fn execute(
        &self,
        client: &R,
        plan: Plan,
        deadline: DateTime<Utc>,
    ) -> Result<Vec<&'static str>, MessageError> {
        let mut pending = Pending::default();
        let done = self
            .execute_actions(client, plan, deadline, &mut pending)
            .await;
        // Whatever happened, what was done is recorded (a created object's claim above all).
        let flushed = self.flush(&mut pending).await;
        let findings = done?;
        flushed?;
        Ok(findings)
    }

    /// Commits the writes held back in `pending` in one transaction: before any other remote
    /// write, and at the end. A tombstone found by the commit decommissions the models just created
    /// (F5) once the rest is recorded.
    async fn flush(&self, pending: &mut Pending) -> Result<(), MessageError> {
        if pending.writes.is_empty() {
            return Ok(());
        }
        // A transaction may name an item once only ("TransactWriteItems": no two actions on one item).
        let mut writes: Vec<StoreWrite> = Vec::new();
        for write in std::mem::take(&mut pending.writes) {
            if !writes.contains(&write) {
                writes.push(write);
            }
        }
        let created = std::mem::take(&mut pending.created);
        match self
            .links
            .commit(self.idempotency.as_ref(), &writes)
            .await?
        {
            CommitOutcome::Committed => Ok(()),
            CommitOutcome::Tombstoned => {
                let unchecked: Vec<StoreWrite> = writes
                    .into_iter()
                    .filter(|write| !matches!(write, StoreWrite::NoTombstone(_)))
                    .collect();
                match self
                    .links
                    .commit(self.idempotency.as_ref(), &unchecked)
                    .await?
                {
                    CommitOutcome::Committed => {}
                    other => return Err(unexpected_commit(other)),
                }
                for (object, model) in &created {
                    self.decommission_if_tombstoned(object, model).await?;
                }
                Ok(())
            }
            other => Err(unexpected_commit(other)),
        }
    }

    async fn execute_actions(
        &self,
        client: &R,
        plan: Plan,
        deadline: DateTime<Utc>,
        pending: &mut Pending,
    ) -> Result<Vec<&'static str>, MessageError> {
        let mut findings = Vec::new();
        let mut created_group = None;
        let mut created_model = None;
        for action in plan.actions {
            match action {
                Action::CreateModelGroup(object) => {
                    self.flush(pending).await?;
                    let (created, completion) = create_once_deferred(
                        self.governance.as_ref(),
                        self.idempotency.as_ref(),
                        self.clock.now(),
                        deadline,
                        "model-group",
                        &object,
                    )
                    .await?;
                    pending.writes.extend(completion);
                    created_group = Some(created.id().clone());
                }
                Action::LinkModelGroup { group_arn, id } => {
                    let id = id
                        .resolve(created_group.as_ref())
                        .ok_or(MessageError::WriteBack(WriteBackError::UnresolvedObject(
                            "model group",
                        )))?;
                    pending.writes.push(StoreWrite::PutLink(Link {
                        kind: LinkKind::ModelGroup,
                        arn: group_arn.into(),
                        governance_id: id.clone(),
                    }));
                }
                Action::CreateModel { parent, mut object } => {
                    object.parent_id = parent.resolve(created_group.as_ref()).cloned();
                    self.flush(pending).await?;
                    let (created, completion) = create_once_deferred(
                        self.governance.as_ref(),
                        self.idempotency.as_ref(),
                        self.clock.now(),
                        deadline,
                        "model",
                        &object,
                    )
                    .await?;
                    pending.writes.extend(completion);
                    if let Creation::Created(model) = &created {
                        // A status set at creation is govsync's write too: its notification is an
                        // echo, never a governance decision to carry back to the package.
                        if let Some(status) = object
                            .fields
                            .iter()
                            .find(|field| field.name == fields::MODEL_STATUS)
                            .and_then(|field| field.value.as_text())
                        {
                            let write = OurWrite::new(
                                WriteSide::Governance,
                                model.id.as_str(),
                                fields::MODEL_STATUS,
                                &status,
                            );
                            pending.writes.extend(echo::governance_entries(
                                std::slice::from_ref(&write),
                                model,
                                self.clock.now(),
                            ));
                        }
                        // Checked as the model's records are committed (`flush`).
                        if let Some(arn) = external_package_arn(&object) {
                            pending.writes.push(StoreWrite::NoTombstone(arn));
                            pending.created.push((object.clone(), model.clone()));
                        }
                    }
                    created_model = Some(created.id().clone());
                }
                Action::UpdateModel {
                    id,
                    fields,
                    description,
                    ledger,
                } => {
                    self.flush(pending).await?;
                    let updated = self
                        .governance
                        .update_object(&id, &fields, description.as_deref())
                        .await?;
                    pending.writes.extend(echo::governance_entries(
                        &ledger,
                        &updated,
                        self.clock.now(),
                    ));
                    tracing::info!(
                        %id,
                        fields = fields.len(),
                        description = description.is_some(),
                        "model updated"
                    );
                }
                Action::LinkModel { package_arn, id } => {
                    let id = id
                        .resolve(created_model.as_ref())
                        .ok_or(MessageError::WriteBack(WriteBackError::UnresolvedObject(
                            "model",
                        )))?;
                    pending.writes.push(StoreWrite::PutLink(Link {
                        kind: LinkKind::Model,
                        arn: package_arn.into(),
                        governance_id: id.clone(),
                    }));
                }
                Action::UpdatePackage(write) => {
                    findings.extend(
                        self.write_package(
                            client,
                            *write,
                            created_group.as_ref(),
                            created_model.as_ref(),
                            pending,
                        )
                        .await?,
                    );
                }
            }
        }
        Ok(findings)
    }

    async fn write_package(
        &self,
        client: &R,
        write: PackageWrite,
        created_group: Option<&govsync_core::GovernanceId>,
        created_model: Option<&govsync_core::GovernanceId>,
        pending: &mut Pending,
    ) -> Result<Option<&'static str>, MessageError> {
        let console = &self.settings.console;
        let mut finding = None;
        let resolved = match write.resolve(created_group, created_model, console) {
            Ok(resolved) => resolved,
            Err(WriteBackError::Metadata(error)) => {
                // The links do not fit SageMaker's limits: report it and still make the gate's revert.
                tracing::warn!(finding = WRITE_BACK_REFUSED, error = %error, "write-back left out");
                finding = Some(WRITE_BACK_REFUSED);
                let revert_only = PackageWrite {
                    links: None,
                    ..write
                };
                revert_only
                    .resolve(None, None, console)
                    .map_err(MessageError::WriteBack)?
            }
            Err(error) => return Err(MessageError::WriteBack(error)),
        };
        let Some(resolved) = resolved else {
            return Ok(finding);
        };
        // The ledger entry before the call (its echo may arrive before the reply), with the
        // records held back so far.
        pending.writes.extend(echo::registry_entries(
            std::slice::from_ref(&resolved.ledger),
            self.clock.now(),
        ));
        self.flush(pending).await?;
        client.update_package(&resolved.update).await?;
        tracing::info!(
            keys = resolved.update.metadata_to_set.len(),
            removed = resolved.update.metadata_to_remove.len(),
            reverted = resolved.update.approval_status.is_some(),
            lifecycle_reverted = resolved.update.lifecycle.is_some(),
            model_card = resolved.update.model_card.is_some(),
            "package written back"
        );
        Ok(finding)
    }

    /// A model just created for a package whose deletion was already seen (a tombstone) is
    /// decommissioned at once (F5: a deletion that overtook the creation is not lost).
    async fn decommission_if_tombstoned(
        &self,
        object: &govsync_core::ports::NewGovernanceObject,
        created: &GovernanceObject,
    ) -> Result<(), MessageError> {
        let Some(arn) = external_package_arn(object) else {
            return Ok(());
        };
        let Some(tombstone) = self.links.tombstone(&arn).await? else {
            return Ok(());
        };
        let policy = decommission::DecommissionPolicy::from_mapping(&self.settings.mapping, None);
        if let Some(update) = decommission::tombstoned_model(created, &tombstone, &policy) {
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
            tracing::info!(id = %update.id, "model decommissioned at creation: its package was deleted (tombstone)");
        }
        Ok(())
    }
}

/// Store writes held back to be committed together ([`RegistrySync::flush`]), and the models created
/// whose tombstone check is among them.
#[derive(Default)]
struct Pending {
    writes: Vec<StoreWrite>,
    created: Vec<(govsync_core::ports::NewGovernanceObject, GovernanceObject)>,
}

/// The package ARN a new object's External ID names, if it names one.
fn external_package_arn(
    object: &govsync_core::ports::NewGovernanceObject,
) -> Option<ModelPackageArn> {
    object
        .fields
        .iter()
        .find(|field| field.name == govsync_core::sync::fields::EXTERNAL_ID)
        .and_then(|field| field.value.as_text())
        .and_then(|text| ModelPackageArn::parse(&text).ok())
}

/// A commit outcome a transaction without that kind of check cannot give.
fn unexpected_commit(outcome: CommitOutcome) -> MessageError {
    MessageError::Store(govsync_core::ports::StoreError::Service {
        operation: "commit",
        code: "UnexpectedOutcome".to_owned(),
        message: format!("{outcome:?} from a transaction without that check"),
        retryable: true,
    })
}

fn report_findings(plan: &Plan) -> Vec<&'static str> {
    for finding in &plan.findings {
        match finding {
            Finding::Unassigned { reason } => {
                tracing::warn!(
                    finding = finding.code(),
                    reason,
                    "package of an unassigned group"
                )
            }
            Finding::ShadowApproval {
                governance_status,
                gate,
            } => tracing::warn!(
                finding = finding.code(),
                governance_status = governance_status.as_deref().unwrap_or("none"),
                gate = gate.as_str(),
                "shadow approval: approved in SageMaker without a governance approval"
            ),
            Finding::Drift {
                stage,
                stage_status,
                approval,
            }
            | Finding::UnmappedRegistryState {
                stage,
                stage_status,
                approval,
            } => tracing::warn!(
                finding = finding.code(),
                stage,
                stage_status,
                approval,
                "registry state set outside govsync"
            ),
            Finding::UnknownGovernanceStatus { status } => tracing::warn!(
                finding = finding.code(),
                status,
                "governance model status not in the mapping"
            ),
            Finding::ShadowDeployment {
                stage,
                stage_status,
                governance_status,
                gate,
            } => tracing::warn!(
                finding = finding.code(),
                stage,
                stage_status,
                governance_status = governance_status.as_deref().unwrap_or("none"),
                gate = gate.as_str(),
                "lifecycle claims deployment without a governance approval"
            ),
            Finding::RejectedInRegistry { governance_status } => tracing::warn!(
                finding = finding.code(),
                governance_status = governance_status.as_deref().unwrap_or("none"),
                "rejected in SageMaker; the mapping lets only governance reject"
            ),
            Finding::WriteBackNoRoom { other_entries } => tracing::warn!(
                finding = finding.code(),
                other_entries,
                "no room for govsync's links among the package's 50 metadata entries"
            ),
            Finding::WriteBackTrimmed { left_out } => tracing::info!(
                finding = finding.code(),
                left_out = left_out.join(","),
                "write-back trimmed to the package's room"
            ),
            Finding::ModelCardSkipped { reason } => tracing::warn!(
                finding = finding.code(),
                reason,
                "the package's Model Card is left as it is: governance's facts are not written to it"
            ),
            Finding::ArtifactChangedSinceApproval { changed, gate } => tracing::warn!(
                finding = finding.code(),
                changed = changed.join("; "),
                gate = gate.as_str(),
                "the approved artifact changed since governance approved it"
            ),
            Finding::ArtifactUnverifiable { reasons } => tracing::warn!(
                finding = finding.code(),
                reasons = reasons.join("; "),
                "the approved artifact cannot be verified: not taken as a match"
            ),
        }
    }
    plan.findings.iter().map(Finding::code).collect()
}
