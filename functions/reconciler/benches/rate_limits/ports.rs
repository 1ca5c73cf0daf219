//! The adapters' in-memory fakes behind token buckets: each wrapper takes its call's token, then
//! lets the fake answer (with the fake's own latency). A listing of n items takes one token per page
//! of `page_size`, as the fake records one call per page: the first before the call, the others once
//! the first page is known to be followed by more.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use govsync_adapters::fakes::{
    FakeCursorStore, FakeGovernance, FakeIdempotencyStore, FakeLinkStore, FakeMessageQueue,
    FakeRegistry,
};
use govsync_adapters::sagemaker::{BatchDescribed, MAX_BATCH_ARNS};
use govsync_core::ports::hosting::{
    Endpoint, EndpointConfig, EndpointSummary, HostedModel, Hosting,
};
use govsync_core::ports::{
    ApprovedArtifact, ApprovedArtifacts, CheckpointStore, DecisionOutbox, EchoLedger,
    ExternalIdLookup, Field, Governance, GovernanceError, GovernanceId, GovernanceKind,
    GovernanceObject, GovernanceQuery, IdempotencyBegin, IdempotencyStore, Link, LinkEnd, LinkKind,
    LinkStore, MessageQueue, ModelPackage, ModelRegistry, NewGovernanceObject, NewPackageGroup,
    OurWrite, OutgoingMessage, PackageGroupSummary, PackageSummary, PackageUpdate, PendingDecision,
    QueryRow, QueueError, RegistryError, RevisionOutcome, RevisionStore, StoreError, Tombstone,
    TombstoneStore,
};
use govsync_core::{IdempotencyKey, ModelPackageArn, ModelPackageGroupName, RegistryArn};

use super::{Bucket, SageMakerBuckets, TableBuckets};

/// Pages of a listing of `items` (an empty listing is still one call).
fn pages(items: usize, page_size: usize) -> usize {
    items.div_ceil(page_size.max(1)).max(1)
}

/// One SageMaker account and Region.
pub struct LimitedRegistry {
    pub inner: Arc<FakeRegistry>,
    buckets: SageMakerBuckets,
    page_size: usize,
}

impl LimitedRegistry {
    pub fn new(inner: Arc<FakeRegistry>, buckets: SageMakerBuckets, page_size: usize) -> Self {
        Self {
            inner,
            buckets,
            page_size,
        }
    }

    async fn listed<T>(
        &self,
        listing: Result<Vec<T>, RegistryError>,
    ) -> Result<Vec<T>, RegistryError> {
        if let Ok(items) = &listing {
            self.buckets
                .list
                .take_n(pages(items.len(), self.page_size) - 1)
                .await;
        }
        listing
    }
}

impl ModelRegistry for LimitedRegistry {
    /// `BatchDescribeModelPackage` (Describe family): a token per call of up to 100 distinct ARNs,
    /// as the fake makes them.
    async fn batch_describe_packages(
        &self,
        arns: &[ModelPackageArn],
    ) -> Result<BatchDescribed, RegistryError> {
        let distinct: HashSet<&str> = arns.iter().map(ModelPackageArn::as_str).collect();
        self.buckets
            .describe
            .take_n(distinct.len().div_ceil(MAX_BATCH_ARNS))
            .await;
        self.inner.batch_describe_packages(arns).await
    }

    async fn describe_package(&self, arn: &ModelPackageArn) -> Result<ModelPackage, RegistryError> {
        self.buckets.describe.take().await;
        self.inner.describe_package(arn).await
    }

    async fn list_groups(&self) -> Result<Vec<PackageGroupSummary>, RegistryError> {
        self.buckets.list.take().await;
        let listing = self.inner.list_groups().await;
        self.listed(listing).await
    }

    async fn list_packages(
        &self,
        group_name: &ModelPackageGroupName,
    ) -> Result<Vec<PackageSummary>, RegistryError> {
        self.buckets.list.take().await;
        let listing = self.inner.list_packages(group_name).await;
        self.listed(listing).await
    }

    async fn update_package(&self, update: &PackageUpdate) -> Result<(), RegistryError> {
        self.buckets.update.take().await;
        self.inner.update_package(update).await
    }

    async fn create_group(&self, group: &NewPackageGroup) -> Result<String, RegistryError> {
        self.buckets.update.take().await;
        self.inner.create_group(group).await
    }

    async fn list_tags(&self, arn: &str) -> Result<Vec<(String, String)>, RegistryError> {
        self.buckets.tags.take().await;
        self.inner.list_tags(arn).await
    }

    async fn put_group_policy(&self, group_name: &str, policy: &str) -> Result<(), RegistryError> {
        self.buckets.update.take().await;
        self.inner.put_group_policy(group_name, policy).await
    }

    async fn get_group_policy(&self, group_name: &str) -> Result<Option<String>, RegistryError> {
        self.buckets.describe.take().await;
        self.inner.get_group_policy(group_name).await
    }

    async fn delete_group_policy(&self, group_name: &str) -> Result<(), RegistryError> {
        self.buckets.update.take().await;
        self.inner.delete_group_policy(group_name).await
    }
}

impl Hosting for LimitedRegistry {
    async fn list_endpoints(&self) -> Result<Vec<EndpointSummary>, RegistryError> {
        self.buckets.list.take().await;
        let listing = self.inner.list_endpoints().await;
        self.listed(listing).await
    }

    async fn describe_endpoint(&self, name: &str) -> Result<Endpoint, RegistryError> {
        self.buckets.describe.take().await;
        self.inner.describe_endpoint(name).await
    }

    async fn describe_endpoint_config(&self, name: &str) -> Result<EndpointConfig, RegistryError> {
        self.buckets.describe.take().await;
        self.inner.describe_endpoint_config(name).await
    }

    async fn describe_model(&self, name: &str) -> Result<HostedModel, RegistryError> {
        self.buckets.describe.take().await;
        self.inner.describe_model(name).await
    }
}

/// The governance tenant: every OpenPages call takes the tenant's token (a query, one per page).
pub struct LimitedGovernance {
    pub inner: Arc<FakeGovernance>,
    bucket: Arc<Bucket>,
    page_size: usize,
}

impl LimitedGovernance {
    pub fn new(inner: Arc<FakeGovernance>, bucket: Arc<Bucket>, page_size: usize) -> Self {
        Self {
            inner,
            bucket,
            page_size,
        }
    }
}

impl Governance for LimitedGovernance {
    async fn get_object(&self, id: &GovernanceId) -> Result<GovernanceObject, GovernanceError> {
        self.bucket.take().await;
        self.inner.get_object(id).await
    }

    async fn create_object(
        &self,
        object: &NewGovernanceObject,
    ) -> Result<GovernanceObject, GovernanceError> {
        self.bucket.take().await;
        self.inner.create_object(object).await
    }

    async fn update_object(
        &self,
        id: &GovernanceId,
        fields: &[Field],
        description: Option<&str>,
    ) -> Result<GovernanceObject, GovernanceError> {
        self.bucket.take().await;
        self.inner.update_object(id, fields, description).await
    }

    async fn query(&self, query: &GovernanceQuery) -> Result<Vec<QueryRow>, GovernanceError> {
        self.bucket.take().await;
        let rows = self.inner.query(query).await;
        if let Ok(rows) = &rows {
            self.bucket
                .take_n(pages(rows.len(), self.page_size) - 1)
                .await;
        }
        rows
    }

    async fn find_by_external_id(
        &self,
        kind: GovernanceKind,
        external_id: &str,
    ) -> Result<ExternalIdLookup, GovernanceError> {
        self.bucket.take().await;
        self.inner.find_by_external_id(kind, external_id).await
    }
}

/// The links table (`govsync-links`): links, revisions, ledger, tombstones, outbox, approvals.
pub struct LimitedLinks {
    pub inner: Arc<FakeLinkStore>,
    buckets: TableBuckets,
}

impl LimitedLinks {
    pub fn new(inner: Arc<FakeLinkStore>, buckets: TableBuckets) -> Self {
        Self { inner, buckets }
    }
}

impl LinkStore for LimitedLinks {
    async fn put_link(&self, link: &Link) -> Result<(), StoreError> {
        self.buckets.write.take().await;
        self.inner.put_link(link).await
    }

    async fn link_by_arn(
        &self,
        kind: LinkKind,
        arn: &RegistryArn,
    ) -> Result<Option<Link>, StoreError> {
        self.buckets.read.take().await;
        self.inner.link_by_arn(kind, arn).await
    }

    async fn link_by_governance_id(&self, id: &GovernanceId) -> Result<Option<Link>, StoreError> {
        self.buckets.read.take().await;
        self.inner.link_by_governance_id(id).await
    }
}

impl RevisionStore for LimitedLinks {
    async fn advance_applied_revision(
        &self,
        end: &LinkEnd,
        revision: u64,
    ) -> Result<RevisionOutcome, StoreError> {
        // A conditional update: a write.
        self.buckets.write.take().await;
        self.inner.advance_applied_revision(end, revision).await
    }

    async fn applied_revision(&self, end: &LinkEnd) -> Result<Option<u64>, StoreError> {
        self.buckets.read.take().await;
        self.inner.applied_revision(end).await
    }
}

impl EchoLedger for LimitedLinks {
    async fn record_our_write(
        &self,
        write: &OurWrite,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.buckets.write.take().await;
        self.inner.record_our_write(write, expires_at).await
    }

    async fn consume_our_write(
        &self,
        write: &OurWrite,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        // A conditional delete: a write.
        self.buckets.write.take().await;
        self.inner.consume_our_write(write, now).await
    }
}

impl TombstoneStore for LimitedLinks {
    async fn put_tombstone(&self, tombstone: &Tombstone) -> Result<(), StoreError> {
        self.buckets.write.take().await;
        self.inner.put_tombstone(tombstone).await
    }

    async fn tombstone(&self, arn: &ModelPackageArn) -> Result<Option<Tombstone>, StoreError> {
        self.buckets.read.take().await;
        self.inner.tombstone(arn).await
    }
}

impl DecisionOutbox for LimitedLinks {
    async fn save_decision(&self, decision: &PendingDecision) -> Result<(), StoreError> {
        self.buckets.write.take().await;
        self.inner.save_decision(decision).await
    }

    async fn pending_decision(
        &self,
        model: &GovernanceId,
    ) -> Result<Option<PendingDecision>, StoreError> {
        self.buckets.read.take().await;
        self.inner.pending_decision(model).await
    }

    async fn decision_published(
        &self,
        model: &GovernanceId,
        decision_id: &str,
    ) -> Result<(), StoreError> {
        self.buckets.write.take().await;
        self.inner.decision_published(model, decision_id).await
    }
}

impl ApprovedArtifacts for LimitedLinks {
    async fn record_approved_artifact(
        &self,
        approved: &ApprovedArtifact,
    ) -> Result<(), StoreError> {
        self.buckets.write.take().await;
        self.inner.record_approved_artifact(approved).await
    }

    async fn approved_artifact(
        &self,
        package: &ModelPackageArn,
    ) -> Result<Option<ApprovedArtifact>, StoreError> {
        self.buckets.read.take().await;
        self.inner.approved_artifact(package).await
    }
}

/// The idempotency table (`govsync-idempotency`): every call is a (conditional) write.
pub struct LimitedIdempotency {
    pub inner: Arc<FakeIdempotencyStore>,
    buckets: TableBuckets,
}

impl LimitedIdempotency {
    pub fn new(inner: Arc<FakeIdempotencyStore>, buckets: TableBuckets) -> Self {
        Self { inner, buckets }
    }
}

impl IdempotencyStore for LimitedIdempotency {
    async fn begin(
        &self,
        key: &IdempotencyKey,
        now: DateTime<Utc>,
        in_progress_until: DateTime<Utc>,
    ) -> Result<IdempotencyBegin, StoreError> {
        self.buckets.write.take().await;
        self.inner.begin(key, now, in_progress_until).await
    }

    async fn complete(
        &self,
        key: &IdempotencyKey,
        result: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.buckets.write.take().await;
        self.inner.complete(key, result, now).await
    }

    async fn release(&self, key: &IdempotencyKey) -> Result<(), StoreError> {
        self.buckets.write.take().await;
        self.inner.release(key).await
    }
}

/// The cursors table (`govsync-cursors`): the reconciler's checkpoints.
pub struct LimitedCursors {
    pub inner: Arc<FakeCursorStore>,
    buckets: TableBuckets,
}

impl LimitedCursors {
    pub fn new(inner: Arc<FakeCursorStore>, buckets: TableBuckets) -> Self {
        Self { inner, buckets }
    }
}

impl CheckpointStore for LimitedCursors {
    async fn get_checkpoint(&self, id: &str) -> Result<Option<String>, StoreError> {
        self.buckets.read.take().await;
        self.inner.get_checkpoint(id).await
    }

    async fn put_checkpoint(&self, id: &str, document: &str) -> Result<(), StoreError> {
        self.buckets.write.take().await;
        self.inner.put_checkpoint(id, document).await
    }

    async fn delete_checkpoint(&self, id: &str) -> Result<(), StoreError> {
        self.buckets.write.take().await;
        self.inner.delete_checkpoint(id).await
    }
}

/// The decommission queue (`decommission.fifo`).
pub struct LimitedQueue {
    pub inner: Arc<FakeMessageQueue>,
    bucket: Arc<Bucket>,
}

impl LimitedQueue {
    pub fn new(inner: Arc<FakeMessageQueue>, bucket: Arc<Bucket>) -> Self {
        Self { inner, bucket }
    }
}

impl MessageQueue for LimitedQueue {
    async fn send(&self, message: &OutgoingMessage) -> Result<(), QueueError> {
        self.bucket.take().await;
        self.inner.send(message).await
    }
}
