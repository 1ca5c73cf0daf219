//! The reconcile run, generic over the ports so tests and the benchmark run it on in-memory fakes.
//!
//! 1. Load the checkpoint a cut-off run left (cursors table); report where this run resumes.
//! 2. Read the governance inventory: use cases, model groups, models (paged queries, concurrently).
//! 3. For each registry of the map, from the checkpoint's registry on: list its groups (paged), sort them
//!    by name, skip those up to the checkpoint's group, and compare `group_concurrency` groups at once:
//!    tags, packages (paged) and a `DescribeModelPackage` per registered package, bounded by the limiter.
//!    Compare in core; repair each drift (or, with `dry_run`, only plan it); record the group as done and
//!    save the checkpoint every `checkpoint_every`. Then what is really serving (the registry's
//!    endpoints, judged against governance: [`serving`]) and the models whose whole group is gone.
//! 4. After the last registry, every Model's `Deployments` field against the endpoints of every
//!    registry (the serving step's reads; registries done by a run this one resumes are read again).
//! 5. A run that reaches its deadline (minus the margin) starts no new group, saves the checkpoint and
//!    returns a report with `complete = false` and `stopped_at`; the next run resumes there. A complete
//!    run deletes the checkpoint.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use govsync_core::decommission_request::DecommissionRequest;
use govsync_core::field_mapping::Fact;
use govsync_core::governance::Revision;
use govsync_core::ports::hosting::Hosting;
use govsync_core::ports::{
    CheckpointStore, Governance, GovernanceError, GovernanceKind, GovernanceQuery,
    IdempotencyStore, LinksTable, MessageQueue, ModelPackage, ModelRegistry, OutgoingMessage,
    PackageGroupSummary,
};
use govsync_core::reconcile::{
    CompareSettings, Drift, DriftKind, GovernanceInventory, GroupSnapshot, Repair, columns,
    compare_group, compare_missing_groups,
};
use govsync_core::serving::ServingEndpoint;
use govsync_core::sync::GateMode;
use govsync_core::sync::decommission::{DecommissionPolicy, Deletion, decommission_model};
use govsync_core::sync::governance::{ModelChange, ModelDecision, decide_model, object_revision};
use govsync_core::sync::registry::described_version;
use govsync_core::{MappingSpec, ModelPackageArn, ModelPackageStatus, Registry};
use govsync_flows::artifacts::{ArtifactCheckError, ArtifactReaders, check_approved_artifact};
use govsync_flows::package_sync::{Outcome, RegistrySync, Settings};

use crate::error::ReconcileError;
use crate::limiter::Limiter;
use crate::report::{
    Checkpoint, Counts, DriftRecord, ReconcileReport, RegistryCounts, RepairOutcome, ResumePoint,
    ServingRecord,
};

mod repair;
mod serving;

pub use serving::RegistryServing;

/// How long a ledger entry waits for the echo of the reconciler's write.
const LEDGER_TTL_SECONDS: i64 = 3600;
/// The `source` of the decommission requests the reconciler enqueues.
pub const REQUEST_SOURCE: &str = "reconciler";

/// How hard a run pushes.
#[derive(Debug, Clone, PartialEq)]
pub struct Tuning {
    /// Remote calls in flight at most (lowered while throttled).
    pub concurrency: usize,
    /// Groups compared at once.
    pub group_concurrency: usize,
    /// Stop starting groups this long before the deadline.
    pub deadline_margin: Duration,
    /// Save the checkpoint at least this often.
    pub checkpoint_every: Duration,
    /// Retries of a call still throttled after the adapters' own retries.
    pub throttle_retries: u32,
    pub throttle_backoff: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            concurrency: 16,
            group_concurrency: 8,
            deadline_margin: Duration::from_secs(60),
            checkpoint_every: Duration::from_secs(10),
            throttle_retries: 5,
            throttle_backoff: Duration::from_millis(200),
        }
    }
}

/// One run's options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Report only: change nothing on either side.
    pub dry_run: bool,
    /// The invocation's deadline (Lambda's); `None` = no limit (a run from the CLI).
    pub deadline: Option<DateTime<Utc>>,
}

/// What a run reports while it goes: the operator CLI (`govsync reconcile`, `govsync status`) shows
/// progress and builds its status view from it. Every method has a no-op default; the scheduled
/// function observes nothing ([`NoObserver`]). Methods may be called from concurrent group tasks.
pub trait RunObserver: Send + Sync {
    /// Whether the run resumes from, saves and deletes its checkpoint (true for every reconcile run).
    /// `false` makes a survey: all groups from the start, and with `dry_run` nothing written anywhere.
    fn checkpoints(&self) -> bool {
        true
    }
    /// The governance inventory the run compares with.
    fn inventory_read(&self, _inventory: &GovernanceInventory) {}
    /// Registry `index` of `registries` is listed: `groups` groups to compare in this run.
    fn registry_listed(
        &self,
        _index: usize,
        _registries: usize,
        _registry: &Registry,
        _groups: usize,
    ) {
    }
    /// One group compared (and repaired, or planned): what was read and what drifted.
    fn group_compared(
        &self,
        _registry: &Registry,
        _group: &GroupSnapshot,
        _records: &[DriftRecord],
    ) {
    }
    /// A registry is done; `records` are the drifts of models whose whole group is gone.
    fn registry_done(&self, _registry: &Registry, _records: &[DriftRecord]) {}
    /// A registry's endpoints were read (`serving`; with why some or all could not be) and judged:
    /// `records` are the findings about them.
    fn endpoints_judged(
        &self,
        _registry: &Registry,
        _serving: &RegistryServing,
        _records: &[ServingRecord],
    ) {
    }
    /// Every Model's `Deployments` field was compared with the endpoints of every registry (at the end
    /// of a complete run, when the mapping names the field): `records` are those out of step.
    fn deployments_judged(&self, _records: &[DriftRecord]) {}
}

/// Observes nothing: the scheduled run.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoObserver;

impl RunObserver for NoObserver {}

/// The reconciler over its ports. Package repairs go through the package sync flow, the code path a
/// registry event takes.
pub struct Reconciler<G, R, I, L, C, M> {
    sync: RegistrySync<G, R, I, L>,
    governance: Arc<G>,
    registries: Vec<(Registry, Arc<R>)>,
    links: Arc<L>,
    checkpoints: Arc<C>,
    decommission_queue: Arc<M>,
    mapping: MappingSpec,
    gate: GateMode,
    model_links: Option<govsync_core::model_link::ModelLinks>,
    policy: DecommissionPolicy,
    tuning: Tuning,
    /// Reads approved packages' artifacts (the deep check against the approval); empty: not checked.
    artifacts: ArtifactReaders,
}

/// What one group came to.
struct GroupDone {
    name: String,
    packages: usize,
    records: Vec<DriftRecord>,
}

enum RegistryEnd {
    Done,
    OutOfTime,
}

/// Progress of a run, for checkpoints and the report.
struct Progress {
    at: ResumePoint,
    counts: Counts,
    carried: Counts,
    records: Vec<DriftRecord>,
    per_registry: Vec<RegistryCounts>,
    last_saved: Instant,
    /// Each registry's endpoints as this run read them (by index in the map), for the `Deployments` step.
    serving: BTreeMap<usize, RegistryServing>,
}

impl<G, R, I, L, C, M> Reconciler<G, R, I, L, C, M>
where
    G: Governance,
    R: ModelRegistry + Hosting,
    I: IdempotencyStore,
    L: LinksTable,
    C: CheckpointStore,
    M: MessageQueue,
{
    /// `registry_clients` holds one registry port per entry of `settings.registries`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        settings: Settings,
        governance: Arc<G>,
        registry_clients: Vec<(Registry, Arc<R>)>,
        idempotency: Arc<I>,
        links: Arc<L>,
        checkpoints: Arc<C>,
        decommission_queue: Arc<M>,
        tuning: Tuning,
    ) -> Self {
        let registries = settings
            .registries
            .registries()
            .iter()
            .filter_map(|registry| {
                registry_clients
                    .iter()
                    .find(|(r, _)| r.account == registry.account && r.region == registry.region)
                    .map(|(_, client)| (registry.clone(), client.clone()))
            })
            .collect();
        let mapping = settings.mapping.clone();
        let gate = settings.gate;
        let model_links = settings.model_links.clone();
        let policy = DecommissionPolicy::from_mapping(&mapping, None);
        let sync = RegistrySync::new(
            settings,
            governance.clone(),
            registry_clients,
            idempotency,
            links.clone(),
        );
        Self {
            sync,
            governance,
            registries,
            links,
            checkpoints,
            decommission_queue,
            mapping,
            gate,
            model_links,
            policy,
            tuning,
            artifacts: ArtifactReaders::default(),
        }
    }

    /// The same reconciler checking each approved package's artifact against what governance
    /// approved, and its repairs going through the gate that revokes a changed one (#21).
    pub fn with_artifact_readers(mut self, readers: ArtifactReaders) -> Self {
        self.sync = self.sync.with_artifact_readers(readers.clone());
        self.artifacts = readers;
        self
    }

    pub fn tuning(&self) -> &Tuning {
        &self.tuning
    }

    /// One run: compare every registry with governance, repair (or plan) every drift.
    pub async fn run(&self, options: &RunOptions) -> Result<ReconcileReport, ReconcileError> {
        self.run_observed(options, &NoObserver).await
    }

    /// [`Self::run`], telling `observer` what it reads and finds as it goes.
    pub async fn run_observed(
        &self,
        options: &RunOptions,
        observer: &dyn RunObserver,
    ) -> Result<ReconcileReport, ReconcileError> {
        let checkpoints = observer.checkpoints();
        let started_at = Utc::now();
        let clock = Instant::now();
        let limiter = Limiter::new(
            self.tuning.concurrency,
            self.tuning.throttle_retries,
            self.tuning.throttle_backoff,
        );
        let checkpoint_id = &self.checkpoint_id(options.dry_run);
        let previous = if checkpoints {
            self.load_checkpoint(checkpoint_id, &limiter).await?
        } else {
            None
        };
        let resumed_from = previous.as_ref().map(|checkpoint| checkpoint.at.clone());
        if let Some(from) = &resumed_from {
            tracing::info!(
                registry = from.registry,
                group = from.group_cursor.as_deref().unwrap_or(""),
                "resuming a reconcile run cut off by its deadline"
            );
        }
        let run_started_at = resumed_from
            .as_ref()
            .map(|from| from.run_started_at)
            .unwrap_or(started_at);
        let stop_at = options.deadline.map(|deadline| {
            deadline
                - chrono::Duration::from_std(self.tuning.deadline_margin)
                    .unwrap_or(chrono::Duration::zero())
        });

        let inventory = self.inventory(&limiter).await?;
        observer.inventory_read(&inventory);
        let start_index = resumed_from
            .as_ref()
            .map(|from| from.registry_index)
            .unwrap_or(0);
        let mut progress = Progress {
            at: resumed_from.clone().unwrap_or_else(|| ResumePoint {
                registry_index: 0,
                registry: self.registry_label(0),
                group_cursor: None,
                run_started_at,
            }),
            counts: Counts::default(),
            carried: previous
                .map(|checkpoint| checkpoint.counts)
                .unwrap_or_default(),
            records: Vec::new(),
            per_registry: Vec::new(),
            last_saved: Instant::now(),
            serving: BTreeMap::new(),
        };

        let mut complete = true;
        for index in start_index..self.registries.len() {
            if index != start_index {
                progress.at = ResumePoint {
                    registry_index: index,
                    registry: self.registry_label(index),
                    group_cursor: None,
                    run_started_at,
                };
            }
            let before = progress.counts;
            let result = self
                .reconcile_registry(
                    index,
                    &inventory,
                    &limiter,
                    options.dry_run,
                    stop_at,
                    &mut progress,
                    observer,
                )
                .await;
            if let (Ok(end), Some((registry, _))) = (&result, self.registries.get(index)) {
                let counted = progress.counts.since(&before);
                let serving = progress.serving.get(&index);
                progress.per_registry.push(RegistryCounts {
                    registry: self.registry_label(index),
                    business_entity: registry.business_entity.to_string(),
                    complete: matches!(end, RegistryEnd::Done),
                    groups: counted.groups,
                    packages: counted.packages,
                    drifts: counted.drifts,
                    repaired: counted.repaired,
                    failed: counted.failed,
                    endpoints: serving.map_or(0, |serving| serving.endpoints.len()),
                    endpoints_unread: serving.and_then(|serving| serving.unread.clone()),
                });
            }
            match result {
                Ok(RegistryEnd::Done) => progress.counts.registries += 1,
                Ok(RegistryEnd::OutOfTime) => {
                    complete = false;
                    break;
                }
                Err(error) => {
                    return Err(self
                        .keep_progress(error, checkpoint_id, &progress, checkpoints)
                        .await);
                }
            }
        }
        if complete {
            if stop_at.is_some_and(|stop| Utc::now() >= stop) {
                // The next run resumes in the last registry and ends with this step.
                complete = false;
            } else if let Err(error) = self
                .deployments_step(
                    &inventory,
                    &limiter,
                    options.dry_run,
                    &mut progress,
                    observer,
                )
                .await
            {
                return Err(self
                    .keep_progress(error, checkpoint_id, &progress, checkpoints)
                    .await);
            }
        }
        if !checkpoints {
            // A survey leaves the checkpoints of scheduled runs alone.
        } else if complete {
            limiter
                .call(|| self.checkpoints.delete_checkpoint(checkpoint_id))
                .await?;
        } else {
            self.save_checkpoint(checkpoint_id, &progress).await?;
            tracing::warn!(
                registry = progress.at.registry,
                group = progress.at.group_cursor.as_deref().unwrap_or(""),
                "deadline near: stopped; the next run resumes here"
            );
        }
        let mut total = progress.carried;
        total.add(&progress.counts);
        let finished_at = Utc::now();
        Ok(ReconcileReport {
            dry_run: options.dry_run,
            registries: progress.per_registry,
            complete,
            started_at,
            finished_at,
            elapsed_ms: u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX),
            resumed_from,
            stopped_at: (!complete).then(|| progress.at.clone()),
            governance_models: inventory.model_count(),
            counts: progress.counts,
            total,
            calls: limiter.stats(),
            drifts: progress.records,
        })
    }

    /// Keeps what is done when a run fails: the next run resumes after the last completed group.
    async fn keep_progress(
        &self,
        error: ReconcileError,
        checkpoint_id: &str,
        progress: &Progress,
        checkpoints: bool,
    ) -> ReconcileError {
        if checkpoints && let Err(save_error) = self.save_checkpoint(checkpoint_id, progress).await
        {
            tracing::error!(error = %save_error, "could not save the checkpoint");
        }
        error
    }

    /// The cursors-table id of this registry map's checkpoint.
    pub fn checkpoint_id(&self, dry_run: bool) -> String {
        let labels: Vec<String> = (0..self.registries.len())
            .map(|index| self.registry_label(index))
            .collect();
        Checkpoint::id_for(&labels, dry_run)
    }

    fn registry_label(&self, index: usize) -> String {
        self.registries
            .get(index)
            .map(|(registry, _)| format!("{}/{}", registry.account, registry.region))
            .unwrap_or_default()
    }

    async fn load_checkpoint(
        &self,
        id: &str,
        limiter: &Limiter,
    ) -> Result<Option<Checkpoint>, ReconcileError> {
        let Some(document) = limiter.call(|| self.checkpoints.get_checkpoint(id)).await? else {
            return Ok(None);
        };
        match serde_json::from_str::<Checkpoint>(&document) {
            Ok(checkpoint)
                if checkpoint.version == Checkpoint::VERSION
                    && checkpoint.at.registry_index < self.registries.len()
                    && checkpoint.at.registry
                        == self.registry_label(checkpoint.at.registry_index) =>
            {
                Ok(Some(checkpoint))
            }
            Ok(_) => {
                tracing::warn!(
                    "the checkpoint is from another version or registry map: starting over"
                );
                Ok(None)
            }
            Err(error) => {
                tracing::warn!(error = %error, "the checkpoint cannot be read: starting over");
                Ok(None)
            }
        }
    }

    /// Not through the limiter: it is awaited while the group stream is paused, and the stream's
    /// in-flight calls may hold every permit until the stream is polled again.
    async fn save_checkpoint(&self, id: &str, progress: &Progress) -> Result<(), ReconcileError> {
        let mut counts = progress.carried;
        counts.add(&progress.counts);
        let checkpoint = Checkpoint {
            version: Checkpoint::VERSION,
            at: progress.at.clone(),
            counts,
            saved_at: Utc::now(),
        };
        let document =
            serde_json::to_string(&checkpoint).map_err(|error| ReconcileError::Invalid {
                what: "checkpoint",
                reason: error.to_string(),
            })?;
        self.checkpoints.put_checkpoint(id, &document).await?;
        Ok(())
    }

    /// The governance side: use cases, model groups and models (three paged queries, concurrently).
    async fn inventory(&self, limiter: &Limiter) -> Result<GovernanceInventory, ReconcileError> {
        let query = |kind, columns: &[&str]| GovernanceQuery {
            kind,
            columns: columns.iter().map(|column| (*column).to_owned()).collect(),
            condition: None,
        };
        let use_cases = query(GovernanceKind::UseCase, columns::USE_CASE);
        let model_groups = query(GovernanceKind::ModelGroup, columns::MODEL_GROUP);
        let mut models = query(GovernanceKind::Model, columns::MODEL);
        // Where each version is deployed, when the tenant's mapping names a field for it.
        let deployments = self.mapping.fields().field(Fact::Deployments);
        models.columns.extend(deployments.map(str::to_owned));
        let (use_cases, model_groups, models) = futures::try_join!(
            limiter.call(|| self.governance.query(&use_cases)),
            limiter.call(|| self.governance.query(&model_groups)),
            limiter.call(|| self.governance.query(&models)),
        )?;
        let mut inventory = GovernanceInventory::from_rows(&use_cases, &model_groups, &models);
        if let Some(field) = deployments {
            inventory.read_deployments(&models, field);
        }
        Ok(inventory)
    }

    #[allow(clippy::too_many_arguments)]
    async fn reconcile_registry(
        &self,
        index: usize,
        inventory: &GovernanceInventory,
        limiter: &Limiter,
        dry_run: bool,
        stop_at: Option<DateTime<Utc>>,
        progress: &mut Progress,
        observer: &dyn RunObserver,
    ) -> Result<RegistryEnd, ReconcileError> {
        let Some((registry, client)) = self.registries.get(index) else {
            return Ok(RegistryEnd::Done);
        };
        let out_of_time = || stop_at.is_some_and(|stop| Utc::now() >= stop);
        let mut groups: Vec<PackageGroupSummary> = limiter.call(|| client.list_groups()).await?;
        groups.sort_by(|a, b| a.name.cmp(&b.name));
        let listed: BTreeSet<String> = groups.iter().map(|group| group.name.to_string()).collect();
        let cursor = progress.at.group_cursor.clone();
        let todo: Vec<PackageGroupSummary> = groups
            .into_iter()
            .filter(|group| {
                cursor
                    .as_ref()
                    .is_none_or(|done| group.name.as_str() > done.as_str())
            })
            .collect();
        observer.registry_listed(index, self.registries.len(), registry, todo.len());
        let mut results = stream::iter(todo)
            .map(|group| async move {
                if out_of_time() {
                    return Ok(None);
                }
                self.reconcile_group(
                    registry,
                    client.as_ref(),
                    group,
                    inventory,
                    limiter,
                    dry_run,
                    observer,
                )
                .await
                .map(Some)
            })
            .buffered(self.tuning.group_concurrency.max(1));
        while let Some(result) = results.next().await {
            let Some(done) = result? else {
                return Ok(RegistryEnd::OutOfTime);
            };
            progress.counts.groups += 1;
            progress.counts.packages += done.packages;
            for record in &done.records {
                progress.counts.record(&record.outcome);
            }
            progress.records.extend(done.records);
            progress.at.group_cursor = Some(done.name);
            if observer.checkpoints()
                && progress.last_saved.elapsed() >= self.tuning.checkpoint_every
            {
                self.save_checkpoint(&self.checkpoint_id(dry_run), progress)
                    .await?;
                progress.last_saved = Instant::now();
            }
        }
        drop(results);
        if out_of_time() {
            return Ok(RegistryEnd::OutOfTime);
        }
        self.serving_step(
            index, registry, client, inventory, limiter, dry_run, progress, observer,
        )
        .await?;
        let drifts = compare_missing_groups(registry, &listed, inventory);
        let records = self
            .repair_all(registry, client.as_ref(), drifts, limiter, dry_run)
            .await;
        for record in &records {
            progress.counts.record(&record.outcome);
        }
        observer.registry_done(registry, &records);
        progress.records.extend(records);
        Ok(RegistryEnd::Done)
    }

    #[allow(clippy::too_many_arguments)]
    async fn reconcile_group(
        &self,
        registry: &Registry,
        client: &R,
        group: PackageGroupSummary,
        inventory: &GovernanceInventory,
        limiter: &Limiter,
        dry_run: bool,
        observer: &dyn RunObserver,
    ) -> Result<GroupDone, ReconcileError> {
        let tags = match limiter.call(|| client.list_tags(group.arn.as_str())).await {
            Ok(tags) => tags,
            Err(error) if error.is_not_found() => {
                tracing::info!(
                    group = group.name.as_str(),
                    "group deleted during the run: left to the next run"
                );
                return Ok(GroupDone {
                    name: group.name.to_string(),
                    packages: 0,
                    records: Vec::new(),
                });
            }
            Err(error) => return Err(error.into()),
        };
        let summaries = limiter.call(|| client.list_packages(&group.name)).await?;
        let described: Vec<Result<Option<ModelPackage>, ReconcileError>> = stream::iter(summaries)
            // Packages still being registered (or failed) are not compared: describing them is waste.
            .filter(|summary| {
                let skip = matches!(
                    summary.status,
                    Some(
                        ModelPackageStatus::Pending
                            | ModelPackageStatus::InProgress
                            | ModelPackageStatus::Failed
                    )
                );
                async move { !skip }
            })
            .map(|summary| async move {
                match limiter.call(|| client.describe_package(&summary.arn)).await {
                    Ok(package) => Ok(Some(package)),
                    Err(error) if error.is_not_found() => Ok(None),
                    Err(error) => Err(ReconcileError::from(error)),
                }
            })
            .buffer_unordered(self.tuning.concurrency.max(1))
            .collect()
            .await;
        let mut packages = Vec::with_capacity(described.len());
        for package in described {
            if let Some(package) = package? {
                packages.push(package);
            }
        }
        packages.sort_by_key(|package| package.version.unwrap_or_default());
        let snapshot = GroupSnapshot {
            name: group.name.to_string(),
            arn: group.arn.to_string(),
            tags,
            packages,
        };
        let mut drifts = compare_group(
            registry,
            &snapshot,
            inventory,
            CompareSettings {
                mapping: &self.mapping,
                gate: self.gate,
                model_links: self.model_links.as_ref(),
            },
        );
        let artifact_drifts = self
            .artifact_drifts(registry, &snapshot, inventory, &drifts)
            .await?;
        drifts.extend(artifact_drifts);
        let mut records = self
            .repair_all(registry, client, drifts, limiter, dry_run)
            .await;
        if !dry_run {
            self.verify_package_repairs(
                registry,
                client,
                &snapshot,
                inventory,
                &mut records,
                limiter,
            )
            .await;
        }
        observer.group_compared(registry, &snapshot, &records);
        Ok(GroupDone {
            name: snapshot.name,
            packages: snapshot.packages.len(),
            records,
        })
    }
}

impl<G, R, I, L, C, M> Reconciler<G, R, I, L, C, M>
where
    G: Governance,
    R: ModelRegistry + Hosting,
    I: IdempotencyStore,
    L: LinksTable,
    C: CheckpointStore,
    M: MessageQueue,
{
    /// The deep check of each approved package's artifact against the fingerprint recorded when
    /// governance's approval was applied: a change is `artifact_changed_since_approval` (repaired by
    /// the package sync, whose gate revokes it with `enforce`), an unreadable part
    /// `artifact_unverifiable` (reported). A package another drift already re-syncs is left to that
    /// repair; a throttled read is left to the next run.
    async fn artifact_drifts(
        &self,
        registry: &Registry,
        snapshot: &GroupSnapshot,
        inventory: &GovernanceInventory,
        drifts: &[Drift],
    ) -> Result<Vec<Drift>, ReconcileError> {
        if self
            .artifacts
            .get(&registry.account, &registry.region)
            .is_none()
        {
            return Ok(Vec::new());
        }
        let resynced: BTreeSet<&str> = drifts
            .iter()
            .filter(|drift| matches!(drift.repair, Repair::SyncPackage { .. }))
            .filter_map(|drift| drift.package_arn.as_ref().map(ModelPackageArn::as_str))
            .collect();
        let candidates = snapshot.packages.iter().filter(|package| {
            package.approval_status == Some(govsync_core::ApprovalStatus::Approved)
                && !resynced.contains(package.arn.as_str())
        });
        let checked: Vec<_> = stream::iter(candidates)
            .map(|package| async move {
                let check =
                    check_approved_artifact(self.links.as_ref(), &self.artifacts, package).await;
                (package, check)
            })
            .buffer_unordered(self.tuning.concurrency.max(1))
            .collect()
            .await;
        let mut found = Vec::new();
        for (package, check) in checked {
            let check = match check {
                Ok(Some((_, check))) => check,
                Ok(None) => continue,
                Err(ArtifactCheckError::Read(error)) => {
                    tracing::warn!(
                        package_arn = package.arn.as_str(),
                        error = %error,
                        "the artifact could not be read now: checked on the next run"
                    );
                    continue;
                }
                Err(ArtifactCheckError::Store(error)) => return Err(error.into()),
            };
            let model = inventory
                .models_for(package.arn.as_str())
                .first()
                .map(|model| model.id.clone());
            let drift = |kind, detail: String, repair| Drift {
                kind,
                registry: format!("{}/{}", registry.account, registry.region),
                group: Some(snapshot.name.clone()),
                package_arn: Some(package.arn.clone()),
                governance_id: model.clone(),
                detail,
                repair,
            };
            if !check.changed.is_empty() {
                let repair = match self.gate {
                    GateMode::Enforce => Repair::SyncPackage {
                        package_arn: package.arn.clone(),
                    },
                    GateMode::Alert | GateMode::Off => Repair::ReportOnly {
                        reason: format!("gate mode is {}", self.gate.as_str()),
                    },
                };
                found.push(drift(
                    DriftKind::ArtifactChangedSinceApproval,
                    check.changed.join("; "),
                    repair,
                ));
            }
            if !check.unverifiable.is_empty() {
                found.push(drift(
                    DriftKind::ArtifactUnverifiable,
                    check.unverifiable.join("; "),
                    Repair::ReportOnly {
                        reason: "the artifact cannot be read: never taken as a match".to_owned(),
                    },
                ));
            }
        }
        Ok(found)
    }
}
