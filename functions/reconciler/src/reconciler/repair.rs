//! Repairs: each drift carried out through the flow a live event would take (the package sync, the
//! governance decision, a decommission request or the decommission itself), bounded by the limiter.

use super::*;
use govsync_core::reconcile::DriftKind;
use govsync_core::sync::registry::WriteBackRoom;

impl<G, R, I, L, C, M> Reconciler<G, R, I, L, C, M>
where
    G: Governance,
    R: ModelRegistry + Hosting,
    I: IdempotencyStore,
    L: LinksTable,
    C: CheckpointStore,
    M: MessageQueue,
{
    /// Repairs the drifts of one group: package after package, as registry-events orders a group's
    /// events (concurrent syncs of one group would race to create its governance model group); one
    /// package's repairs in order, each distinct repair once (two drifts with the same repair share its
    /// outcome). Groups themselves are repaired concurrently.
    pub(super) async fn repair_all(
        &self,
        registry: &Registry,
        client: &R,
        drifts: Vec<Drift>,
        limiter: &Limiter,
        dry_run: bool,
    ) -> Vec<DriftRecord> {
        let mut by_package: Vec<(Option<ModelPackageArn>, Vec<Repair>)> = Vec::new();
        for drift in &drifts {
            let key = drift.package_arn.clone();
            let slot = match by_package
                .iter_mut()
                .position(|(k, _)| *k == key && key.is_some())
            {
                Some(position) => &mut by_package[position].1,
                None => {
                    by_package.push((key, Vec::new()));
                    let last = by_package.len() - 1;
                    &mut by_package[last].1
                }
            };
            if !slot.contains(&drift.repair) {
                slot.push(drift.repair.clone());
            }
        }
        let outcomes: Vec<Vec<(Repair, RepairOutcome)>> = stream::iter(by_package)
            .then(|(_, repairs)| async move {
                let mut out = Vec::with_capacity(repairs.len());
                for repair in repairs {
                    let outcome = if dry_run {
                        match repair {
                            Repair::ReportOnly { .. } => RepairOutcome::Reported,
                            _ => RepairOutcome::Planned,
                        }
                    } else {
                        Box::pin(self.repair(registry, client, &repair, limiter)).await
                    };
                    out.push((repair, outcome));
                }
                out
            })
            .collect()
            .await;
        let outcomes: Vec<(Repair, RepairOutcome)> = outcomes.into_iter().flatten().collect();
        drifts
            .into_iter()
            .map(|drift| {
                let outcome = outcomes
                    .iter()
                    .find(|(repair, _)| *repair == drift.repair)
                    .map(|(_, outcome)| outcome.clone())
                    .unwrap_or(RepairOutcome::Reported);
                DriftRecord {
                    drift,
                    outcome,
                    pass: Default::default(),
                }
            })
            .collect()
    }

    pub(super) async fn repair(
        &self,
        registry: &Registry,
        client: &R,
        repair: &Repair,
        limiter: &Limiter,
    ) -> RepairOutcome {
        let result = match repair {
            Repair::ReportOnly { .. } => return RepairOutcome::Reported,
            Repair::SyncPackage { package_arn } => {
                self.sync_package(registry, package_arn, limiter).await
            }
            Repair::PropagateStatus {
                model_id,
                package_arn,
            }
            | Repair::ArchivePackage {
                model_id,
                package_arn,
            } => self.propagate(client, model_id, package_arn, limiter).await,
            Repair::DecommissionModel {
                model_id,
                package_arn,
                archived,
            } => {
                self.decommission(client, model_id, package_arn, *archived, limiter)
                    .await
            }
            Repair::RecordDeployments { model_id, text } => {
                self.record_deployments(model_id, text, limiter).await
            }
        };
        match result {
            Ok(outcome) => outcome,
            Err(error) => {
                tracing::warn!(error = %error, action = repair.action(), "repair failed: reported; the next run tries again");
                RepairOutcome::Failed {
                    code: error.code().to_owned(),
                    error: error.to_string(),
                }
            }
        }
    }

    /// Re-reads each package whose write-back or gate was repaired on the package itself, and
    /// compares it again: a drift of the same kind still there did not hold, so it needs attention
    /// (with the reason), never `repaired`. Other repairs change governance, which the run's
    /// inventory no longer shows, so they are not compared again here.
    pub(super) async fn verify_package_repairs(
        &self,
        registry: &Registry,
        client: &R,
        snapshot: &GroupSnapshot,
        inventory: &GovernanceInventory,
        records: &mut [DriftRecord],
        limiter: &Limiter,
    ) {
        let checked = |record: &DriftRecord| {
            matches!(
                record.drift.kind,
                DriftKind::DanglingLink | DriftKind::ShadowApproval
            ) && matches!(record.drift.repair, Repair::SyncPackage { .. })
                && matches!(
                    record.outcome,
                    RepairOutcome::Repaired | RepairOutcome::NothingToDo
                )
        };
        for record in records.iter_mut().filter(|record| checked(record)) {
            let Some(arn) = record.drift.package_arn.clone() else {
                continue;
            };
            let reread = match limiter.call(|| client.describe_package(&arn)).await {
                Ok(package) => package,
                Err(error) if error.is_not_found() => continue,
                Err(error) => {
                    record.outcome = RepairOutcome::Failed {
                        code: ReconcileError::from(error).code().to_owned(),
                        error: "the package could not be re-read after the repair".to_owned(),
                    };
                    continue;
                }
            };
            let room = WriteBackRoom::of(&reread.customer_metadata);
            let single = GroupSnapshot {
                summarized: Default::default(),
                packages: vec![reread],
                ..snapshot.clone()
            };
            let settings = CompareSettings {
                mapping: &self.mapping,
                gate: self.gate,
                model_links: self.model_links.as_ref(),
            };
            let left = compare_group(registry, &single, inventory, settings)
                .into_iter()
                .find(|drift| {
                    drift.kind == record.drift.kind && drift.package_arn.as_ref() == Some(&arn)
                });
            let Some(left) = left else {
                continue;
            };
            let reason = match (record.drift.kind, room) {
                (DriftKind::DanglingLink, WriteBackRoom::NoRoom { other_entries }) => format!(
                    "no room for govsync's links: the package holds {other_entries} metadata entries of its own (SageMaker allows 50); remove one"
                ),
                _ => format!("re-read after the repair: {}", left.detail),
            };
            tracing::warn!(
                package_arn = arn.as_str(),
                kind = record.drift.kind.as_str(),
                reason,
                "repair did not hold"
            );
            record.drift.detail = format!("{}; {reason}", record.drift.detail);
            record.outcome = RepairOutcome::NeedsAttention { reason };
        }
    }

    /// registry-events' per-package sync (F2, F3): the code path a registry event takes.
    pub(super) async fn sync_package(
        &self,
        registry: &Registry,
        package_arn: &ModelPackageArn,
        limiter: &Limiter,
    ) -> Result<RepairOutcome, ReconcileError> {
        let outcome = limiter
            .call(|| self.sync.sync_package(registry, package_arn))
            .await?;
        Ok(match outcome {
            Outcome::Synced { actions, .. } if actions > 0 => RepairOutcome::Repaired,
            _ => RepairOutcome::NothingToDo,
        })
    }

    /// Governance drives (F4 through approval-propagation's decision; a decommissioned model becomes
    /// a request on decommission.fifo, F6).
    pub(super) async fn propagate(
        &self,
        client: &R,
        model_id: &govsync_core::GovernanceId,
        package_arn: &ModelPackageArn,
        limiter: &Limiter,
    ) -> Result<RepairOutcome, ReconcileError> {
        let model = match limiter.call(|| self.governance.get_object(model_id)).await {
            Ok(model) => model,
            Err(GovernanceError::NotFound { .. }) => return Ok(RepairOutcome::NothingToDo),
            Err(error) => return Err(error.into()),
        };
        let described = match limiter.call(|| client.describe_package(package_arn)).await {
            Ok(described) => described,
            Err(error) if error.is_not_found() => return Ok(RepairOutcome::NothingToDo),
            Err(error) => return Err(error.into()),
        };
        let version = described_version(&described).map_err(|error| ReconcileError::Invalid {
            what: "described package",
            reason: error.to_string(),
        })?;
        let now = Utc::now();
        let decision = decide_model(&ModelChange {
            model: &model,
            revision: object_revision(&model).unwrap_or_else(|| Revision::from_time(now)),
            // The reconciler compares current states: an applied revision must not hide the drift.
            applied: None,
            our_write: false,
            package: Some(&version),
            mapping: &self.mapping,
        });
        match decision {
            ModelDecision::Update(write) => {
                let expires = now + chrono::Duration::seconds(LEDGER_TTL_SECONDS);
                limiter
                    .call(|| self.links.record_our_write(&write.ledger, expires))
                    .await?;
                limiter
                    .call(|| client.update_package(&write.update))
                    .await?;
                tracing::info!(package_arn = package_arn.as_str(), status = %write.status, "package brought in line with its governance status");
                Ok(RepairOutcome::Repaired)
            }
            ModelDecision::Decommission(request) => {
                let request = DecommissionRequest::new(
                    request.kind,
                    request.governance_id.clone(),
                    &request.reason,
                    request.requested_at,
                    REQUEST_SOURCE,
                )
                .map_err(|error| ReconcileError::Invalid {
                    what: "decommission request",
                    reason: error.to_string(),
                })?;
                let message = OutgoingMessage {
                    body: request.to_json(),
                    message_group_id: request.message_group_id(),
                    deduplication_id: request.deduplication_id(),
                };
                limiter
                    .call(|| self.decommission_queue.send(&message))
                    .await?;
                tracing::info!(package_arn = package_arn.as_str(), model_id = %model_id, "decommission request enqueued");
                Ok(RepairOutcome::Enqueued)
            }
            ModelDecision::UnknownStatus { status } => Err(ReconcileError::Invalid {
                what: "governance status",
                reason: format!("{status:?} is not in the mapping spec"),
            }),
            ModelDecision::InSync
            | ModelDecision::NoStatus
            | ModelDecision::Unlinked
            | ModelDecision::Echo
            | ModelDecision::Stale { .. } => Ok(RepairOutcome::NothingToDo),
        }
    }

    /// Writes where the version serves onto its Model (the mapping's `Deployments` field). Only the
    /// field changes, never the status, so approval-propagation finds the Model in step (no echo).
    pub(super) async fn record_deployments(
        &self,
        model_id: &govsync_core::GovernanceId,
        text: &str,
        limiter: &Limiter,
    ) -> Result<RepairOutcome, ReconcileError> {
        let Some(field) = self.mapping.fields().field(Fact::Deployments) else {
            return Ok(RepairOutcome::NothingToDo);
        };
        let fields = [govsync_core::ports::Field::text(field, text)];
        match limiter
            .call(|| self.governance.update_object(model_id, &fields, None))
            .await
        {
            Ok(_) => {
                tracing::info!(model_id = %model_id, "deployments recorded on the model");
                Ok(RepairOutcome::Repaired)
            }
            Err(GovernanceError::NotFound { .. }) => Ok(RepairOutcome::NothingToDo),
            Err(error) => Err(error.into()),
        }
    }

    /// The package is gone or archived: decommission the model (F5, the decommission function's
    /// decision). A package that turns out to exist after all (and is not archived) is left alone.
    pub(super) async fn decommission(
        &self,
        client: &R,
        model_id: &govsync_core::GovernanceId,
        package_arn: &ModelPackageArn,
        archived: bool,
        limiter: &Limiter,
    ) -> Result<RepairOutcome, ReconcileError> {
        if !archived {
            match limiter.call(|| client.describe_package(package_arn)).await {
                Ok(package) if package.status != Some(ModelPackageStatus::Deleting) => {
                    tracing::info!(
                        package_arn = package_arn.as_str(),
                        "package exists after all: not decommissioned"
                    );
                    return Ok(RepairOutcome::NothingToDo);
                }
                Ok(_) => {}
                Err(error) if error.is_not_found() => {}
                Err(error) => return Err(error.into()),
            }
        }
        let model = match limiter.call(|| self.governance.get_object(model_id)).await {
            Ok(model) => model,
            Err(GovernanceError::NotFound { .. }) => return Ok(RepairOutcome::NothingToDo),
            Err(error) => return Err(error.into()),
        };
        let now = Utc::now();
        let deletion = Deletion {
            how: if archived {
                Deletion::ARCHIVED
            } else {
                Deletion::GONE
            },
            at: now,
            by: None,
        };
        let Some(update) = decommission_model(&model, &deletion, &self.policy) else {
            return Ok(RepairOutcome::NothingToDo);
        };
        let expires = now + chrono::Duration::seconds(LEDGER_TTL_SECONDS);
        limiter
            .call(|| self.links.record_our_write(&update.ledger, expires))
            .await?;
        limiter
            .call(|| {
                self.governance
                    .update_object(&update.id, &update.fields, None)
            })
            .await?;
        tracing::info!(package_arn = package_arn.as_str(), model_id = %model_id, "model decommissioned: its package is gone");
        Ok(RepairOutcome::Repaired)
    }
}
