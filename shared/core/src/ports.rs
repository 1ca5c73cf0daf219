//! Ports: the narrow interfaces adapters implement (core owns the traits).
//!
//! Methods return `impl Future + Send` so core needs no async runtime and implementations can
//! use plain `async fn`. Each port has one error enum with `is_retryable()`: retryable errors go
//! back to the queue, the rest to the DLQ.

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::idempotency::IdempotencyKey;
use crate::model_package::{ModelPackageArn, ModelPackageGroupName, RegistryArn};

pub mod artifact;
pub mod batch;
pub mod governance;
pub mod hosting;
pub mod notify;
pub mod quarantine;
pub mod queue;
pub mod registry;
pub mod store;

pub use artifact::{ArtifactReadError, ImageRegistry, ObjectHead, ObjectListing, ObjectStore};
pub use governance::{
    ExternalIdLookup, Field, FieldDefinition, FieldValue, GovernanceError, GovernanceId,
    GovernanceKind, GovernanceObject, GovernanceQuery, NewGovernanceObject, QueryCondition,
    QueryRow, TypeDefinition, TypeIds,
};
pub use notify::{Email, NotifyError};
pub use quarantine::{QuarantineError, QuarantinedMessage};
pub use queue::{OutgoingMessage, QueueError};
pub use registry::{
    ApprovalStatus, MetricsReport, ModelLifecycle, ModelPackage, NewPackageGroup,
    PackageGroupSummary, PackageSummary, PackageUpdate, RegistryError, RegistryValidationError,
};
pub use store::{
    ApprovedArtifact, CommitOutcome, EchoCheck, IdempotencyBegin, Link, LinkEnd, LinkKind,
    OurWrite, PackageState, PendingDecision, RevisionOutcome, StoreError, StoreWrite, Tombstone,
    WriteSide,
};

/// The governance platform (OpenPages REST API v2).
pub trait Governance: Send + Sync {
    /// `GET /contents/{id}`; a missing object is `GovernanceError::NotFound`.
    fn get_object(
        &self,
        id: &GovernanceId,
    ) -> impl Future<Output = Result<GovernanceObject, GovernanceError>> + Send;

    /// `POST /contents`. Not idempotent: look up by external id first.
    fn create_object(
        &self,
        object: &NewGovernanceObject,
    ) -> impl Future<Output = Result<GovernanceObject, GovernanceError>> + Send;

    /// `PUT /contents/{id}` with only the fields to change; other fields keep their values.
    /// `description` replaces the object's top-level description when `Some`; `None` leaves it.
    fn update_object(
        &self,
        id: &GovernanceId,
        fields: &[Field],
        description: Option<&str>,
    ) -> impl Future<Output = Result<GovernanceObject, GovernanceError>> + Send;

    /// `POST /query`, following `next` until the last page.
    fn query(
        &self,
        query: &GovernanceQuery,
    ) -> impl Future<Output = Result<Vec<QueryRow>, GovernanceError>> + Send;

    /// Finds the object of `kind` whose `Integration:External ID` is `external_id`.
    fn find_by_external_id(
        &self,
        kind: GovernanceKind,
        external_id: &str,
    ) -> impl Future<Output = Result<ExternalIdLookup, GovernanceError>> + Send;
}

/// One SageMaker Model Registry (an account and region).
pub trait ModelRegistry: Send + Sync {
    /// A missing package is `RegistryError::NotFound`.
    fn describe_package(
        &self,
        arn: &ModelPackageArn,
    ) -> impl Future<Output = Result<ModelPackage, RegistryError>> + Send;

    fn list_groups(
        &self,
    ) -> impl Future<Output = Result<Vec<PackageGroupSummary>, RegistryError>> + Send;

    /// The versioned packages of one group.
    fn list_packages(
        &self,
        group_name: &ModelPackageGroupName,
    ) -> impl Future<Output = Result<Vec<PackageSummary>, RegistryError>> + Send;

    /// Validates the update against SageMaker's limits, then sends it.
    fn update_package(
        &self,
        update: &PackageUpdate,
    ) -> impl Future<Output = Result<(), RegistryError>> + Send;

    /// Returns the new group's ARN.
    fn create_group(
        &self,
        group: &NewPackageGroup,
    ) -> impl Future<Output = Result<String, RegistryError>> + Send;

    fn list_tags(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Vec<(String, String)>, RegistryError>> + Send;

    /// `BatchDescribeModelPackage`: summaries of `arns` in calls of at most 100 distinct ARNs; an ARN
    /// SageMaker could not describe is a failure in the answer, a failed call fails the whole batch.
    fn batch_describe_packages(
        &self,
        arns: &[ModelPackageArn],
    ) -> impl Future<Output = Result<batch::BatchDescribed, RegistryError>> + Send;

    fn put_group_policy(
        &self,
        group_name: &str,
        policy: &str,
    ) -> impl Future<Output = Result<(), RegistryError>> + Send;

    /// `None` when the group has no policy.
    fn get_group_policy(
        &self,
        group_name: &str,
    ) -> impl Future<Output = Result<Option<String>, RegistryError>> + Send;

    fn delete_group_policy(
        &self,
        group_name: &str,
    ) -> impl Future<Output = Result<(), RegistryError>> + Send;
}

/// SageMaker Studio sign-in (`CreatePresignedDomainUrl`), through the registry's role.
pub trait StudioSignIn: Send + Sync {
    /// The presigned URL (`AuthorizedUrl`); a missing domain or profile is `RegistryError::NotFound`.
    fn presigned_url(
        &self,
        request: &registry::PresignedUrlRequest,
    ) -> impl Future<Output = Result<String, RegistryError>> + Send;
}

/// The idempotency table (Powertools protocol).
pub trait IdempotencyStore: Send + Sync {
    /// Claims `key` until `in_progress_until` (the Lambda deadline), unless a live record exists.
    fn begin(
        &self,
        key: &IdempotencyKey,
        now: DateTime<Utc>,
        in_progress_until: DateTime<Utc>,
    ) -> impl Future<Output = Result<IdempotencyBegin, StoreError>> + Send;

    /// Stores the result; later `begin`s on the key return it until the record expires.
    fn complete(
        &self,
        key: &IdempotencyKey,
        result: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes the record after a failure so a retry can run.
    fn release(&self, key: &IdempotencyKey) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The links between registry resources and governance objects (ARN → id and id → ARN).
pub trait LinkStore: Send + Sync {
    /// Records the link both ways (ARN → id and id → ARN).
    fn put_link(&self, link: &Link) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn link_by_arn(
        &self,
        kind: LinkKind,
        arn: &RegistryArn,
    ) -> impl Future<Output = Result<Option<Link>, StoreError>> + Send;

    fn link_by_governance_id(
        &self,
        id: &GovernanceId,
    ) -> impl Future<Output = Result<Option<Link>, StoreError>> + Send;
}

/// The revision of each object last applied from the other side (order: older changes are stale).
pub trait RevisionStore: Send + Sync {
    /// Records `revision` as applied for `end` only if it is newer than the recorded one.
    fn advance_applied_revision(
        &self,
        end: &LinkEnd,
        revision: u64,
    ) -> impl Future<Output = Result<RevisionOutcome, StoreError>> + Send;

    fn applied_revision(
        &self,
        end: &LinkEnd,
    ) -> impl Future<Output = Result<Option<u64>, StoreError>> + Send;

    /// The package's applied revision, its model and model-group links and its approved artifact,
    /// each as strongly consistent as the single reads. The default makes the four reads; a store
    /// that can read several items in one call overrides it.
    fn package_state(
        &self,
        package: &ModelPackageArn,
    ) -> impl Future<Output = Result<PackageState, StoreError>> + Send
    where
        Self: LinkStore + ApprovedArtifacts,
    {
        async move {
            let group: RegistryArn = package.group_arn().into();
            Ok(PackageState {
                applied_revision: self
                    .applied_revision(&LinkEnd::Registry(package.into()))
                    .await?,
                model: self.link_by_arn(LinkKind::Model, &package.into()).await?,
                model_group: self.link_by_arn(LinkKind::ModelGroup, &group).await?,
                approved_artifact: self.approved_artifact(package).await?,
            })
        }
    }

    /// Applies `writes` (links table and, for [`StoreWrite::CompleteClaim`], `idempotency`) all or
    /// nothing where the store can: one DynamoDB transaction. The default makes the separate calls
    /// ([`commit_separately`]): checks first, so a failed check writes nothing; meant for at most one
    /// conditional write per call, which is how the flows use it.
    fn commit<I: IdempotencyStore>(
        &self,
        idempotency: &I,
        writes: &[StoreWrite],
    ) -> impl Future<Output = Result<CommitOutcome, StoreError>> + Send
    where
        Self: LinkStore + EchoLedger + TombstoneStore,
    {
        commit_separately(self, idempotency, writes)
    }
}

/// [`RevisionStore::commit`] as separate calls: the checks (tombstone, ledger entry, revision), then
/// the plain writes in order.
pub async fn commit_separately<S, I>(
    store: &S,
    idempotency: &I,
    writes: &[StoreWrite],
) -> Result<CommitOutcome, StoreError>
where
    S: LinkStore + RevisionStore + EchoLedger + TombstoneStore + ?Sized,
    I: IdempotencyStore,
{
    for write in writes {
        let failed = match write {
            StoreWrite::NoTombstone(arn) => store
                .tombstone(arn)
                .await?
                .map(|_| CommitOutcome::Tombstoned),
            StoreWrite::ConsumeOurWrite { write, now } => {
                let consumed = store.consume_our_write(write, *now).await?;
                (!consumed).then_some(CommitOutcome::EchoGone)
            }
            StoreWrite::AdvanceRevision { end, revision } => {
                match store.advance_applied_revision(end, *revision).await? {
                    RevisionOutcome::Stale { applied } => Some(CommitOutcome::RevisionStale {
                        applied: Some(applied),
                    }),
                    RevisionOutcome::Advanced => None,
                }
            }
            _ => None,
        };
        if let Some(outcome) = failed {
            return Ok(outcome);
        }
    }
    for write in writes {
        match write {
            StoreWrite::CompleteClaim { key, result, now } => {
                idempotency.complete(key, result, *now).await?;
            }
            StoreWrite::RecordOurWrite { write, expires_at } => {
                store.record_our_write(write, *expires_at).await?;
            }
            StoreWrite::PutLink(link) => store.put_link(link).await?,
            StoreWrite::NoTombstone(_)
            | StoreWrite::ConsumeOurWrite { .. }
            | StoreWrite::AdvanceRevision { .. } => {}
        }
    }
    Ok(CommitOutcome::Committed)
}

/// The our-write ledger: writes govsync is about to make, so their echoes are recognised.
pub trait EchoLedger: Send + Sync {
    /// Remembers a write, until `expires_at`.
    fn record_our_write(
        &self,
        write: &OurWrite,
        expires_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Whether an unexpired entry matches exactly (side, object, field, value, revision); matching
    /// removes it atomically, so one write excuses one change and a later repeat of the same value is
    /// applied.
    fn consume_our_write(
        &self,
        write: &OurWrite,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The package's state (as `package_state`) and whether `write`'s ledger entry is live. The
    /// default consumes the entry first (then nothing else is read); a store that reads the entry
    /// with the state in one call answers [`EchoCheck::Live`] and leaves it for the commit.
    fn package_state_unless_echo(
        &self,
        package: &ModelPackageArn,
        write: &OurWrite,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<EchoCheck, StoreError>> + Send
    where
        Self: RevisionStore + LinkStore + ApprovedArtifacts,
    {
        async move {
            if self.consume_our_write(write, now).await? {
                return Ok(EchoCheck::Consumed);
            }
            Ok(EchoCheck::NotEcho(self.package_state(package).await?))
        }
    }
}

/// Deletions seen before governance had an object for the resource (F5).
pub trait TombstoneStore: Send + Sync {
    /// Records that a registry resource was deleted before governance had an object for it.
    fn put_tombstone(
        &self,
        tombstone: &Tombstone,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The tombstone of a registry ARN, if its deletion was seen.
    fn tombstone(
        &self,
        arn: &ModelPackageArn,
    ) -> impl Future<Output = Result<Option<Tombstone>, StoreError>> + Send;
}

/// Governance decisions applied to a package but not yet published (the outbox of
/// [`crate::decision_event`]): one per Model, written before the SageMaker write, removed once the
/// event is on the bus.
pub trait DecisionOutbox: Send + Sync {
    /// Records (or replaces) the Model's decision to publish.
    fn save_decision(
        &self,
        decision: &PendingDecision,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The Model's decision not yet published, if any.
    fn pending_decision(
        &self,
        model: &GovernanceId,
    ) -> impl Future<Output = Result<Option<PendingDecision>, StoreError>> + Send;

    /// Removes the Model's pending decision if it is still `decision_id` (a newer one stays).
    fn decision_published(
        &self,
        model: &GovernanceId,
        decision_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The artifact fingerprint recorded when govsync applied a governance approval to a package.
pub trait ApprovedArtifacts: Send + Sync {
    /// Records (or replaces, on a later approval) the package's approved artifact.
    fn record_approved_artifact(
        &self,
        approved: &ApprovedArtifact,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn approved_artifact(
        &self,
        package: &ModelPackageArn,
    ) -> impl Future<Output = Result<Option<ApprovedArtifact>, StoreError>> + Send;
}

/// The links table as deployed: one DynamoDB table holds links, revisions, the ledger, tombstones,
/// the decision outbox and the approved artifacts. The flows take this; a component that needs one
/// concern takes that trait alone.
pub trait LinksTable:
    LinkStore + RevisionStore + EchoLedger + TombstoneStore + DecisionOutbox + ApprovedArtifacts
{
}

impl<
    T: LinkStore + RevisionStore + EchoLedger + TombstoneStore + DecisionOutbox + ApprovedArtifacts,
> LinksTable for T
{
}

/// Where decision events go (govsync's EventBridge bus).
pub trait DecisionPublisher: Send + Sync {
    fn publish(
        &self,
        detail: &crate::decision_event::DecisionDetail,
    ) -> impl Future<Output = Result<(), PublishError>> + Send;
}

/// Why a decision event was not put on the bus. Always retryable: the outbox keeps the decision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("publishing decision {decision_id}: {message}")]
pub struct PublishError {
    pub decision_id: String,
    pub message: String,
}

/// Poll watermarks (e.g. the governance query's last-modification date).
pub trait CursorStore: Send + Sync {
    fn get_watermark(
        &self,
        cursor: &str,
    ) -> impl Future<Output = Result<Option<DateTime<Utc>>, StoreError>> + Send;

    fn put_watermark(
        &self,
        cursor: &str,
        watermark: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Checkpoints of long runs (the reconciler): an opaque JSON document per id, in the cursors table.
pub trait CheckpointStore: Send + Sync {
    fn get_checkpoint(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    fn put_checkpoint(
        &self,
        id: &str,
        document: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn delete_checkpoint(&self, id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Email to people (the data-science team, approvers).
pub trait Notifier: Send + Sync {
    /// Returns the provider's message id.
    fn send(&self, email: &Email) -> impl Future<Output = Result<String, NotifyError>> + Send;
}

/// A FIFO queue govsync feeds itself (governance events, decommission requests).
pub trait MessageQueue: Send + Sync {
    fn send(
        &self,
        message: &OutgoingMessage,
    ) -> impl Future<Output = Result<(), QueueError>> + Send;
}

/// The dead-letter queue of a function: where permanently failing messages go, with their reason.
pub trait Quarantine: Send + Sync {
    fn quarantine(
        &self,
        message: &QuarantinedMessage,
    ) -> impl Future<Output = Result<(), QuarantineError>> + Send;

    /// Returns a message still in flight on its source queue (`queue_arn`) after `delay_seconds`
    /// (`ChangeMessageVisibility`): the backoff of a retryable failure. The default leaves the queue's
    /// own visibility timeout.
    fn retry_later(
        &self,
        _queue_arn: &str,
        _receipt_handle: &str,
        _delay_seconds: u32,
    ) -> impl Future<Output = Result<(), QuarantineError>> + Send {
        async { Ok(()) }
    }
}
