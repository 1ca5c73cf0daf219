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
use govsync_core::ports::batch::MAX_BATCH_ARNS;
use govsync_core::ports::hosting::Hosting;
use govsync_core::ports::{
    CheckpointStore, Governance, GovernanceError, GovernanceKind, GovernanceQuery,
    IdempotencyStore, LinksTable, MessageQueue, ModelPackage, ModelRegistry, OutgoingMessage,
    PackageGroupSummary,
};
use govsync_core::reconcile::{
    CompareSettings, Drift, DriftKind, GovernanceInventory, GroupSnapshot, Pass, Repair,
    assigned_use_case, columns, compare_group, compare_missing_groups, deep_slice_of,
    summary_suspect,
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
    Checkpoint, Counts, DeepCursor, DeepSlice, DriftRecord, ReconcileReport, RegistryCounts,
    RegistryCursor, RepairOutcome, ResumePoint, ServingRecord,
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
    /// Groups compared at once (in each registry).
    pub group_concurrency: usize,
    /// Registries reconciled at once: SageMaker's rate limits are per account and Region, so each
    /// registry's reads wait only for its own budget.
    pub registry_concurrency: usize,
    /// Stop starting groups this long before the deadline.
    pub deadline_margin: Duration,
    /// Save the checkpoint at least this often.
    pub checkpoint_every: Duration,
    /// Retries of a call still throttled after the adapters' own retries.
    pub throttle_retries: u32,
    pub throttle_backoff: Duration,
    /// The deep pass's slices: each complete run describes one slice of the packages in full, so
    /// every package is deep-checked within this many runs; the rest are read from batch summaries
    /// (the fast pass). 1: every package described every run, and no batch summaries.
    pub deep_slices: u32,
    /// Deep-pass describes a second per registry at most: its share of SageMaker's Describe rate,
    /// the rest left to the fast pass and the event functions. 0: not paced.
    pub deep_describes_per_second: u32,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            concurrency: 16,
            group_concurrency: 8,
            registry_concurrency: 1,
            deadline_margin: Duration::from_secs(60),
            checkpoint_every: Duration::from_secs(10),
            throttle_retries: 5,
            throttle_backoff: Duration::from_millis(200),
            deep_slices: 1,
            deep_describes_per_second: 0,
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

/// What the registries of one run share.
struct RegistryRun<'a> {
    inventory: &'a GovernanceInventory,
    limiter: &'a Limiter,
    dry_run: bool,
    stop_at: Option<DateTime<Utc>>,
    deep: &'a DeepPass,
    progress: &'a SharedProgress,
    /// Held while a checkpoint is saved.
    saving: &'a tokio::sync::Mutex<()>,
    observer: &'a dyn RunObserver,
}

/// What one group came to.
struct GroupDone {
    name: String,
    packages: usize,
    records: Vec<DriftRecord>,
    reads: PackageReads,
}

/// How a group's packages were read.
#[derive(Debug, Default, Clone, Copy)]
struct PackageReads {
    summarized: usize,
    described_fast: usize,
    described_deep: usize,
}

/// The deep pass of one run: the slice it describes in full, and its pace per registry.
struct DeepPass {
    slice: u32,
    slices: u32,
    pace: Option<Duration>,
}

impl DeepPass {
    fn is_due(&self, arn: &ModelPackageArn) -> bool {
        self.slices <= 1 || deep_slice_of(arn, self.slices) == self.slice
    }
}

/// Spaces one registry's deep-pass describes `interval` apart (SageMaker's rate is per account).
struct Pacer {
    interval: Option<Duration>,
    next: std::sync::Mutex<Option<tokio::time::Instant>>,
}

impl Pacer {
    fn new(interval: Option<Duration>) -> Self {
        Self {
            interval,
            next: std::sync::Mutex::new(None),
        }
    }

    async fn wait(&self) {
        let Some(interval) = self.interval else {
            return;
        };
        let at = {
            let mut next = self
                .next
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let now = tokio::time::Instant::now();
            let at = next.map_or(now, |next| next.max(now));
            *next = Some(at + interval);
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

enum RegistryEnd {
    Done,
    OutOfTime,
}

/// Progress of a run, for checkpoints and the report; shared by the registries reconciled at once.
struct Progress {
    /// One per registry of the map: where it stands.
    cursors: Vec<RegistryCursor>,
    run_started_at: DateTime<Utc>,
    counts: Counts,
    /// Per registry (by index in the map): this run's counts.
    registry_counts: BTreeMap<usize, Counts>,
    carried: Counts,
    records: Vec<DriftRecord>,
    per_registry: Vec<(usize, RegistryCounts)>,
    last_saved: Instant,
    /// Each registry's endpoints as this run read them (by index in the map), for the `Deployments` step.
    serving: BTreeMap<usize, RegistryServing>,
    deep_slice: u32,
}

impl Progress {
    /// A drift of registry `index` recorded with its repair's outcome.
    fn record(&mut self, index: usize, record: DriftRecord) {
        self.counts.record(&record.outcome);
        self.registry_counts
            .entry(index)
            .or_default()
            .record(&record.outcome);
        self.records.push(record);
    }

    /// Where the run stands, as one point: the first registry not done (or the last one, when every
    /// registry is done and only the closing step is left).
    fn resume_point(&self) -> ResumePoint {
        let index = self
            .cursors
            .iter()
            .position(|cursor| !cursor.done)
            .unwrap_or(self.cursors.len().saturating_sub(1));
        let cursor = self.cursors.get(index);
        ResumePoint {
            registry_index: index,
            registry: cursor.map(|c| c.registry.clone()).unwrap_or_default(),
            group_cursor: cursor.and_then(|c| c.group_cursor.clone()),
            run_started_at: self.run_started_at,
        }
    }
}

type SharedProgress = std::sync::Mutex<Progress>;

fn lock(progress: &SharedProgress) -> std::sync::MutexGuard<'_, Progress> {
    progress
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
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
        // Boxed: the run's future (registries, groups, repairs) is too large for a thread's stack.
        Box::pin(self.run_on_heap(options, observer)).await
    }

    async fn run_on_heap(
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

        let deep = self
            .deep_pass(checkpoint_id, previous.as_ref(), &limiter)
            .await?;
        let inventory = Box::pin(self.inventory(&limiter)).await?;
        observer.inventory_read(&inventory);
        let cursors = match &previous {
            Some(checkpoint) => checkpoint.registries.clone(),
            None => (0..self.registries.len())
                .map(|index| RegistryCursor {
                    registry: self.registry_label(index),
                    done: false,
                    group_cursor: None,
                })
                .collect(),
        };
        let todo: Vec<usize> = (0..self.registries.len())
            .filter(|index| cursors.get(*index).is_none_or(|cursor| !cursor.done))
            .collect();
        let progress = SharedProgress::new(Progress {
            cursors,
            run_started_at,
            counts: Counts::default(),
            registry_counts: BTreeMap::new(),
            carried: previous
                .map(|checkpoint| checkpoint.counts)
                .unwrap_or_default(),
            records: Vec::new(),
            per_registry: Vec::new(),
            last_saved: Instant::now(),
            serving: BTreeMap::new(),
            deep_slice: deep.slice,
        });
        let saving = tokio::sync::Mutex::new(());
        let run = RegistryRun {
            inventory: &inventory,
            limiter: &limiter,
            dry_run: options.dry_run,
            stop_at,
            deep: &deep,
            progress: &progress,
            saving: &saving,
            observer,
        };
        let ends: Vec<(usize, Result<RegistryEnd, ReconcileError>)> = stream::iter(todo)
            .map(|index| {
                let run = &run;
                // Boxed: a registry's future holds its groups' futures, too large for a test thread's stack.
                async move { (index, Box::pin(self.reconcile_registry(index, run)).await) }
            })
            .buffer_unordered(self.tuning.registry_concurrency.max(1))
            .collect()
            .await;
        let mut progress = progress
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut complete = true;
        let mut failure = None;
        for (index, end) in ends {
            let Some((registry, _)) = self.registries.get(index) else {
                continue;
            };
            match end {
                Ok(end) => {
                    let counted = progress
                        .registry_counts
                        .get(&index)
                        .copied()
                        .unwrap_or_default();
                    let serving = progress.serving.get(&index);
                    let counts = RegistryCounts {
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
                    };
                    progress.per_registry.push((index, counts));
                    match end {
                        RegistryEnd::Done => progress.counts.registries += 1,
                        RegistryEnd::OutOfTime => complete = false,
                    }
                }
                Err(error) => {
                    failure.get_or_insert(error);
                }
            }
        }
        progress.per_registry.sort_by_key(|(index, _)| *index);
        if let Some(error) = failure {
            return Err(self
                .keep_progress(error, checkpoint_id, &progress, checkpoints)
                .await);
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
            self.advance_deep_pass(checkpoint_id, &deep, &limiter)
                .await?;
        } else {
            self.save_checkpoint(checkpoint_id, &progress).await?;
            let at = progress.resume_point();
            tracing::warn!(
                registry = at.registry,
                group = at.group_cursor.as_deref().unwrap_or(""),
                "deadline near: stopped; the next run resumes here"
            );
        }
        let mut total = progress.carried;
        total.add(&progress.counts);
        let finished_at = Utc::now();
        let stopped_at = (!complete).then(|| progress.resume_point());
        Ok(ReconcileReport {
            dry_run: options.dry_run,
            registries: progress
                .per_registry
                .into_iter()
                .map(|(_, counts)| counts)
                .collect(),
            complete,
            started_at,
            finished_at,
            elapsed_ms: u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX),
            resumed_from,
            stopped_at,
            governance_models: inventory.model_count(),
            counts: progress.counts,
            total,
            calls: limiter.stats(),
            deep: DeepSlice {
                slice: deep.slice,
                slices: deep.slices,
            },
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
                    && checkpoint.registries.len() == self.registries.len()
                    && checkpoint
                        .registries
                        .iter()
                        .enumerate()
                        .all(|(index, cursor)| cursor.registry == self.registry_label(index)) =>
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
        let document = self.checkpoint_document(progress)?;
        self.checkpoints.put_checkpoint(id, &document).await?;
        Ok(())
    }

    fn checkpoint_document(&self, progress: &Progress) -> Result<String, ReconcileError> {
        let mut counts = progress.carried;
        counts.add(&progress.counts);
        let checkpoint = Checkpoint {
            version: Checkpoint::VERSION,
            at: progress.resume_point(),
            registries: progress.cursors.clone(),
            counts,
            saved_at: Utc::now(),
            deep_slice: Some(progress.deep_slice),
        };
        serde_json::to_string(&checkpoint).map_err(|error| ReconcileError::Invalid {
            what: "checkpoint",
            reason: error.to_string(),
        })
    }

    /// The deep pass of this run: a resumed run keeps its slice; a new one takes the slice the last
    /// complete run left in the cursors table.
    async fn deep_pass(
        &self,
        checkpoint_id: &str,
        resumed: Option<&Checkpoint>,
        limiter: &Limiter,
    ) -> Result<DeepPass, ReconcileError> {
        let slices = self.tuning.deep_slices.max(1);
        let pace = (self.tuning.deep_describes_per_second > 0).then(|| {
            Duration::from_secs_f64(1.0 / f64::from(self.tuning.deep_describes_per_second))
        });
        let slice = if slices == 1 {
            0
        } else if let Some(slice) = resumed.and_then(|checkpoint| checkpoint.deep_slice) {
            slice % slices
        } else {
            let id = DeepCursor::id_for(checkpoint_id);
            match limiter
                .call(|| self.checkpoints.get_checkpoint(&id))
                .await?
            {
                None => 0,
                Some(document) => match serde_json::from_str::<DeepCursor>(&document) {
                    Ok(cursor)
                        if cursor.version == DeepCursor::VERSION && cursor.slices == slices =>
                    {
                        cursor.next_slice % slices
                    }
                    Ok(_) => 0,
                    Err(error) => {
                        tracing::warn!(error = %error, "the deep-pass cursor cannot be read: starting at slice 0");
                        0
                    }
                },
            }
        };
        Ok(DeepPass {
            slice,
            slices,
            pace,
        })
    }

    /// After a complete run, the next run deep-checks the next slice.
    async fn advance_deep_pass(
        &self,
        checkpoint_id: &str,
        deep: &DeepPass,
        limiter: &Limiter,
    ) -> Result<(), ReconcileError> {
        if deep.slices <= 1 {
            return Ok(());
        }
        let cursor = DeepCursor {
            version: DeepCursor::VERSION,
            next_slice: (deep.slice + 1) % deep.slices,
            slices: deep.slices,
            saved_at: Utc::now(),
        };
        let document = serde_json::to_string(&cursor).map_err(|error| ReconcileError::Invalid {
            what: "deep-pass cursor",
            reason: error.to_string(),
        })?;
        let id = DeepCursor::id_for(checkpoint_id);
        limiter
            .call(|| self.checkpoints.put_checkpoint(&id, &document))
            .await?;
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

    /// Reconciles registry `index` from its cursor: its groups in name order, `group_concurrency` at
    /// once, each recorded (and the checkpoint saved every `checkpoint_every`) as it completes; then
    /// its endpoints and the models whose whole group is gone.
    async fn reconcile_registry(
        &self,
        index: usize,
        run: &RegistryRun<'_>,
    ) -> Result<RegistryEnd, ReconcileError> {
        let Some((registry, client)) = self.registries.get(index) else {
            return Ok(RegistryEnd::Done);
        };
        let out_of_time = || run.stop_at.is_some_and(|stop| Utc::now() >= stop);
        let limiter = run.limiter;
        let mut groups: Vec<PackageGroupSummary> = limiter.call(|| client.list_groups()).await?;
        groups.sort_by(|a, b| a.name.cmp(&b.name));
        let listed: BTreeSet<String> = groups.iter().map(|group| group.name.to_string()).collect();
        let cursor = lock(run.progress)
            .cursors
            .get(index)
            .and_then(|cursor| cursor.group_cursor.clone());
        let todo: Vec<PackageGroupSummary> = groups
            .into_iter()
            .filter(|group| {
                cursor
                    .as_ref()
                    .is_none_or(|done| group.name.as_str() > done.as_str())
            })
            .collect();
        run.observer
            .registry_listed(index, self.registries.len(), registry, todo.len());
        let pacer = &Pacer::new(run.deep.pace);
        let mut results = stream::iter(todo)
            .map(|group| async move {
                if out_of_time() {
                    return Ok(None);
                }
                Box::pin(self.reconcile_group(
                    registry,
                    client.as_ref(),
                    group,
                    run.inventory,
                    limiter,
                    run.dry_run,
                    (run.deep, pacer),
                    run.observer,
                ))
                .await
                .map(Some)
            })
            .buffered(self.tuning.group_concurrency.max(1));
        while let Some(result) = results.next().await {
            let Some(done) = result? else {
                return Ok(RegistryEnd::OutOfTime);
            };
            let save = {
                let mut guard = lock(run.progress);
                let progress = &mut *guard;
                for counts in [
                    &mut progress.counts,
                    progress.registry_counts.entry(index).or_default(),
                ] {
                    counts.groups += 1;
                    counts.packages += done.packages;
                    counts.summarized += done.reads.summarized;
                    counts.described_fast += done.reads.described_fast;
                    counts.described_deep += done.reads.described_deep;
                }
                for record in done.records {
                    progress.record(index, record);
                }
                if let Some(cursor) = progress.cursors.get_mut(index) {
                    cursor.group_cursor = Some(done.name);
                }
                run.observer.checkpoints()
                    && progress.last_saved.elapsed() >= self.tuning.checkpoint_every
            };
            if save {
                self.save_shared(run).await?;
            }
        }
        drop(results);
        if out_of_time() {
            return Ok(RegistryEnd::OutOfTime);
        }
        self.serving_step(index, registry, client, run).await?;
        let drifts = compare_missing_groups(registry, &listed, run.inventory);
        let records = self
            .repair_all(registry, client.as_ref(), drifts, limiter, run.dry_run)
            .await;
        run.observer.registry_done(registry, &records);
        let mut progress = lock(run.progress);
        for record in records {
            progress.record(index, record);
        }
        if let Some(cursor) = progress.cursors.get_mut(index) {
            cursor.done = true;
        }
        Ok(RegistryEnd::Done)
    }

    /// Saves the checkpoint of a run in progress, one save at a time, so an older state never
    /// overwrites a newer one.
    async fn save_shared(&self, run: &RegistryRun<'_>) -> Result<(), ReconcileError> {
        let _one_at_a_time = run.saving.lock().await;
        let document = {
            let mut progress = lock(run.progress);
            progress.last_saved = Instant::now();
            self.checkpoint_document(&progress)?
        };
        self.checkpoints
            .put_checkpoint(&self.checkpoint_id(run.dry_run), &document)
            .await?;
        Ok(())
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
        (deep, pacer): (&DeepPass, &Pacer),
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
                    reads: PackageReads::default(),
                });
            }
            Err(error) => return Err(error.into()),
        };
        let summaries = limiter.call(|| client.list_packages(&group.name)).await?;
        // Packages still being registered (or failed) are not compared: reading them is waste.
        let registered: Vec<ModelPackageArn> = summaries
            .into_iter()
            .filter(|summary| {
                !matches!(
                    summary.status,
                    Some(
                        ModelPackageStatus::Pending
                            | ModelPackageStatus::InProgress
                            | ModelPackageStatus::Failed
                    )
                )
            })
            .map(|summary| summary.arn)
            .collect();
        let settings = CompareSettings {
            mapping: &self.mapping,
            gate: self.gate,
            model_links: self.model_links.as_ref(),
        };
        let read = self
            .read_packages(
                client,
                registered,
                &tags,
                inventory,
                settings,
                limiter,
                (deep, pacer),
            )
            .await?;
        let snapshot = GroupSnapshot {
            name: group.name.to_string(),
            arn: group.arn.to_string(),
            tags,
            packages: read.packages,
            summarized: read.summarized,
        };
        let mut drifts = compare_group(registry, &snapshot, inventory, settings);
        let artifact_drifts = self
            .artifact_drifts(registry, &snapshot, inventory, &drifts, &read.deep)
            .await?;
        drifts.extend(artifact_drifts);
        let mut records = self
            .repair_all(registry, client, drifts, limiter, dry_run)
            .await;
        for record in &mut records {
            if record
                .drift
                .package_arn
                .as_ref()
                .is_some_and(|arn| read.deep.contains(arn))
            {
                record.pass = Pass::Deep;
            }
        }
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
            reads: read.reads,
        })
    }

    /// Reads a group's registered packages: with one deep slice, each described in full; otherwise
    /// batch summaries for all (the fast pass), then in full those whose summary calls for it and
    /// those of this run's deep slice, the latter paced. An ARN the batch could not summarise
    /// (other than a package gone) is described in full.
    #[allow(clippy::too_many_arguments)]
    async fn read_packages(
        &self,
        client: &R,
        registered: Vec<ModelPackageArn>,
        tags: &[(String, String)],
        inventory: &GovernanceInventory,
        settings: CompareSettings<'_>,
        limiter: &Limiter,
        (deep, pacer): (&DeepPass, &Pacer),
    ) -> Result<GroupRead, ReconcileError> {
        let mut read = GroupRead::default();
        // (arn, found by the deep slice rather than by its summary)
        let mut to_describe: Vec<(ModelPackageArn, bool)> = Vec::new();
        if deep.slices <= 1 {
            to_describe = registered.into_iter().map(|arn| (arn, true)).collect();
        } else {
            let use_case = assigned_use_case(tags, inventory);
            for chunk in registered.chunks(MAX_BATCH_ARNS) {
                let answer = limiter
                    .call(|| client.batch_describe_packages(chunk))
                    .await?;
                for summary in answer.packages {
                    let package = summary.package;
                    if summary_suspect(&package, use_case.as_ref(), inventory, settings).is_some() {
                        to_describe.push((package.arn, false));
                    } else if deep.is_due(&package.arn) {
                        to_describe.push((package.arn, true));
                    } else {
                        read.summarized.insert(package.arn.clone());
                        read.packages.push(package);
                    }
                }
                for failure in answer.failures {
                    if !failure.is_not_found() {
                        tracing::warn!(
                            package_arn = failure.arn.as_str(),
                            code = failure.code,
                            "no batch summary: described in full"
                        );
                        to_describe.push((failure.arn, false));
                    }
                }
                to_describe.extend(answer.unanswered.into_iter().map(|arn| (arn, false)));
            }
        }
        let described: Vec<Result<Option<(ModelPackage, bool)>, ReconcileError>> =
            stream::iter(to_describe)
                .map(|(arn, by_deep)| async move {
                    if by_deep && deep.slices > 1 {
                        pacer.wait().await;
                    }
                    match limiter.call(|| client.describe_package(&arn)).await {
                        Ok(package) => Ok(Some((package, by_deep))),
                        Err(error) if error.is_not_found() => Ok(None),
                        Err(error) => Err(ReconcileError::from(error)),
                    }
                })
                .buffer_unordered(self.tuning.concurrency.max(1))
                .collect()
                .await;
        read.reads.summarized = read.packages.len();
        for package in described {
            let Some((package, by_deep)) = package? else {
                continue;
            };
            if by_deep {
                read.reads.described_deep += 1;
                read.deep.insert(package.arn.clone());
            } else {
                read.reads.described_fast += 1;
            }
            read.packages.push(package);
        }
        read.packages
            .sort_by_key(|package| package.version.unwrap_or_default());
        Ok(read)
    }
}

/// A group's packages as [`Reconciler::read_packages`] read them.
#[derive(Default)]
struct GroupRead {
    packages: Vec<ModelPackage>,
    /// Known by their summary only.
    summarized: BTreeSet<ModelPackageArn>,
    /// Described in full as the deep slice.
    deep: BTreeSet<ModelPackageArn>,
    reads: PackageReads,
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
    /// The deep check of each approved package of the deep slice (`deep`): its artifact against the fingerprint recorded when
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
        deep: &BTreeSet<ModelPackageArn>,
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
                && deep.contains(&package.arn)
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
