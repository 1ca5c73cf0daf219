//! The links table in memory: links, applied revisions, the our-write ledger, tombstones.

use govsync_core::ports::{CommitOutcome, EchoCheck, StoreWrite};
use govsync_core::{ModelPackageArn, RegistryArn};

use super::*;

#[derive(Debug, Default)]
struct LinkState {
    by_arn: HashMap<(RegistryArn, LinkKind), Link>,
    by_id: HashMap<GovernanceId, Link>,
    revisions: HashMap<LinkEnd, u64>,
    ledger: HashMap<OurWrite, i64>,
    tombstones: HashMap<ModelPackageArn, Tombstone>,
    decisions: HashMap<GovernanceId, govsync_core::ports::PendingDecision>,
    approved_artifacts: HashMap<ModelPackageArn, govsync_core::ports::ApprovedArtifact>,
}

/// Links, revisions and the our-write ledger in memory.
#[derive(Debug, Default)]
pub struct FakeLinkStore {
    state: Mutex<LinkState>,
    recorder: Recorder<StoreError>,
    /// The idempotency table its transactions write claims to (as the DynamoDB store's
    /// `with_idempotency_table`); `None`: `commit` makes the separate calls.
    idempotency: Option<std::sync::Arc<super::FakeIdempotencyStore>>,
    /// Items written by the transactions so far (a link is two items), for the cost model.
    transaction_items: std::sync::atomic::AtomicUsize,
}

impl FakeLinkStore {
    pub fn new() -> Self {
        Self::default()
    }

    recorder_methods!(StoreError);

    pub fn links(&self) -> Vec<Link> {
        lock(&self.state).by_id.values().cloned().collect()
    }

    pub fn ledger_len(&self) -> usize {
        lock(&self.state).ledger.len()
    }

    /// The same store committing with `idempotency` in one call (`commit`), and reading the ledger
    /// entry with the package state (`package_state_unless_echo`), as the DynamoDB store does once
    /// it knows the idempotency table.
    /// Items the transactions (`commit` calls) have written or checked so far: DynamoDB charges two
    /// write units an item of a transaction.
    pub fn transaction_items(&self) -> usize {
        self.transaction_items
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn with_idempotency(
        mut self,
        idempotency: std::sync::Arc<super::FakeIdempotencyStore>,
    ) -> Self {
        self.idempotency = Some(idempotency);
        self
    }
}

fn package_state_of(
    state: &LinkState,
    package: &ModelPackageArn,
) -> govsync_core::ports::PackageState {
    let arn: RegistryArn = package.into();
    let group: RegistryArn = package.group_arn().into();
    govsync_core::ports::PackageState {
        applied_revision: state
            .revisions
            .get(&LinkEnd::Registry(arn.clone()))
            .copied(),
        model: state.by_arn.get(&(arn, LinkKind::Model)).cloned(),
        model_group: state.by_arn.get(&(group, LinkKind::ModelGroup)).cloned(),
        approved_artifact: state.approved_artifacts.get(package).cloned(),
    }
}

impl LinkStore for FakeLinkStore {
    async fn put_link(&self, link: &Link) -> Result<(), StoreError> {
        self.recorder.enter("put_link").await?;
        let mut state = lock(&self.state);
        state
            .by_arn
            .insert((link.arn.clone(), link.kind), link.clone());
        state.by_id.insert(link.governance_id.clone(), link.clone());
        self.recorder.leave("put_link")
    }

    async fn link_by_arn(
        &self,
        kind: LinkKind,
        arn: &RegistryArn,
    ) -> Result<Option<Link>, StoreError> {
        self.recorder.enter("link_by_arn").await?;
        Ok(lock(&self.state).by_arn.get(&(arn.clone(), kind)).cloned())
    }

    async fn link_by_governance_id(&self, id: &GovernanceId) -> Result<Option<Link>, StoreError> {
        self.recorder.enter("link_by_governance_id").await?;
        Ok(lock(&self.state).by_id.get(id).cloned())
    }
}

impl RevisionStore for FakeLinkStore {
    async fn advance_applied_revision(
        &self,
        end: &LinkEnd,
        revision: u64,
    ) -> Result<RevisionOutcome, StoreError> {
        self.recorder.enter("advance_applied_revision").await?;
        let mut state = lock(&self.state);
        match state.revisions.get(end) {
            Some(applied) if *applied >= revision => {
                Ok(RevisionOutcome::Stale { applied: *applied })
            }
            _ => {
                state.revisions.insert(end.clone(), revision);
                self.recorder.leave("advance_applied_revision")?;
                Ok(RevisionOutcome::Advanced)
            }
        }
    }

    async fn applied_revision(&self, end: &LinkEnd) -> Result<Option<u64>, StoreError> {
        self.recorder.enter("applied_revision").await?;
        Ok(lock(&self.state).revisions.get(end).copied())
    }

    /// One call, as the DynamoDB store's one `BatchGetItem`.
    async fn package_state(
        &self,
        package: &ModelPackageArn,
    ) -> Result<govsync_core::ports::PackageState, StoreError> {
        self.recorder.enter("package_state").await?;
        Ok(package_state_of(&lock(&self.state), package))
    }

    /// One call when an idempotency store is attached, all or nothing as a DynamoDB transaction.
    async fn commit<I: IdempotencyStore>(
        &self,
        idempotency: &I,
        writes: &[StoreWrite],
    ) -> Result<CommitOutcome, StoreError> {
        let Some(claims) = self.idempotency.as_ref() else {
            return govsync_core::ports::commit_separately(self, idempotency, writes).await;
        };
        self.recorder.enter("commit").await?;
        let items: usize = writes
            .iter()
            .map(|write| match write {
                StoreWrite::PutLink(_) => 2,
                _ => 1,
            })
            .sum();
        self.transaction_items
            .fetch_add(items, std::sync::atomic::Ordering::Relaxed);
        let mut state = lock(&self.state);
        for write in writes {
            match write {
                StoreWrite::NoTombstone(arn) if state.tombstones.contains_key(arn) => {
                    return Ok(CommitOutcome::Tombstoned);
                }
                StoreWrite::ConsumeOurWrite { write, now }
                    if state
                        .ledger
                        .get(write)
                        .is_none_or(|expiration| *expiration < now.timestamp()) =>
                {
                    return Ok(CommitOutcome::EchoGone);
                }
                StoreWrite::AdvanceRevision { end, revision } => {
                    if let Some(applied) = state
                        .revisions
                        .get(end)
                        .filter(|applied| **applied >= *revision)
                    {
                        return Ok(CommitOutcome::RevisionStale {
                            applied: Some(*applied),
                        });
                    }
                }
                _ => {}
            }
        }
        for write in writes {
            match write {
                StoreWrite::CompleteClaim { key, result, now } => {
                    claims.complete_in_transaction(key, result, *now);
                }
                StoreWrite::RecordOurWrite { write, expires_at } => {
                    state.ledger.insert(write.clone(), expires_at.timestamp());
                }
                StoreWrite::PutLink(link) => {
                    state
                        .by_arn
                        .insert((link.arn.clone(), link.kind), link.clone());
                    state.by_id.insert(link.governance_id.clone(), link.clone());
                }
                StoreWrite::AdvanceRevision { end, revision } => {
                    state.revisions.insert(end.clone(), *revision);
                }
                StoreWrite::ConsumeOurWrite { write, .. } => {
                    state.ledger.remove(write);
                }
                StoreWrite::NoTombstone(_) => {}
            }
        }
        drop(state);
        self.recorder.leave("commit")?;
        Ok(CommitOutcome::Committed)
    }
}

impl EchoLedger for FakeLinkStore {
    async fn record_our_write(
        &self,
        write: &OurWrite,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.recorder.enter("record_our_write").await?;
        lock(&self.state)
            .ledger
            .insert(write.clone(), expires_at.timestamp());
        self.recorder.leave("record_our_write")
    }

    async fn consume_our_write(
        &self,
        write: &OurWrite,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.recorder.enter("consume_our_write").await?;
        let matched = lock(&self.state)
            .ledger
            .remove(write)
            .is_some_and(|expiration| expiration >= now.timestamp());
        self.recorder.leave("consume_our_write")?;
        Ok(matched)
    }

    /// With an idempotency store attached: one call reading the ledger entry with the state.
    async fn package_state_unless_echo(
        &self,
        package: &ModelPackageArn,
        write: &OurWrite,
        now: DateTime<Utc>,
    ) -> Result<EchoCheck, StoreError> {
        if self.idempotency.is_none() {
            if self.consume_our_write(write, now).await? {
                return Ok(EchoCheck::Consumed);
            }
            return Ok(EchoCheck::NotEcho(self.package_state(package).await?));
        }
        self.recorder.enter("package_state").await?;
        let state = lock(&self.state);
        let live = state
            .ledger
            .get(write)
            .is_some_and(|expiration| *expiration >= now.timestamp());
        let package_state = package_state_of(&state, package);
        Ok(if live {
            EchoCheck::Live(package_state)
        } else {
            EchoCheck::NotEcho(package_state)
        })
    }
}

impl TombstoneStore for FakeLinkStore {
    async fn put_tombstone(&self, tombstone: &Tombstone) -> Result<(), StoreError> {
        self.recorder.enter("put_tombstone").await?;
        lock(&self.state)
            .tombstones
            .insert(tombstone.arn.clone(), tombstone.clone());
        self.recorder.leave("put_tombstone")
    }

    async fn tombstone(&self, arn: &ModelPackageArn) -> Result<Option<Tombstone>, StoreError> {
        self.recorder.enter("tombstone").await?;
        Ok(lock(&self.state).tombstones.get(arn).cloned())
    }
}

impl govsync_core::ports::DecisionOutbox for FakeLinkStore {
    async fn save_decision(
        &self,
        decision: &govsync_core::ports::PendingDecision,
    ) -> Result<(), StoreError> {
        self.recorder.enter("save_decision").await?;
        lock(&self.state)
            .decisions
            .insert(decision.model.clone(), decision.clone());
        self.recorder.leave("save_decision")
    }

    async fn pending_decision(
        &self,
        model: &GovernanceId,
    ) -> Result<Option<govsync_core::ports::PendingDecision>, StoreError> {
        self.recorder.enter("pending_decision").await?;
        Ok(lock(&self.state).decisions.get(model).cloned())
    }

    async fn decision_published(
        &self,
        model: &GovernanceId,
        decision_id: &str,
    ) -> Result<(), StoreError> {
        self.recorder.enter("decision_published").await?;
        let mut state = lock(&self.state);
        if state
            .decisions
            .get(model)
            .is_some_and(|pending| pending.decision_id == decision_id)
        {
            state.decisions.remove(model);
        }
        drop(state);
        self.recorder.leave("decision_published")
    }
}

impl govsync_core::ports::ApprovedArtifacts for FakeLinkStore {
    async fn record_approved_artifact(
        &self,
        approved: &govsync_core::ports::ApprovedArtifact,
    ) -> Result<(), StoreError> {
        self.recorder.enter("record_approved_artifact").await?;
        lock(&self.state)
            .approved_artifacts
            .insert(approved.package_arn.clone(), approved.clone());
        self.recorder.leave("record_approved_artifact")
    }

    async fn approved_artifact(
        &self,
        package: &ModelPackageArn,
    ) -> Result<Option<govsync_core::ports::ApprovedArtifact>, StoreError> {
        self.recorder.enter("approved_artifact").await?;
        Ok(lock(&self.state).approved_artifacts.get(package).cloned())
    }
}
