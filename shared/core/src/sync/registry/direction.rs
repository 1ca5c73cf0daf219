//! What a state set in SageMaker means under the mapping's direction rules, beyond an exact row: a
//! lifecycle that claims deployment, and a rejection. Shared by the sync decision and the
//! reconciler's comparison, so both judge a package alike.

use crate::governance::GovernanceStatus;
use crate::mapping::{Direction, MappingRow, MappingSpec};
use crate::model_package::{ApprovalStatus, Description, Lifecycle};

/// Whether a lifecycle claims deployment: a row that approves (`ModelApprovalStatus = Approved`)
/// describes its stage and stage status, whatever the package's approval says.
pub fn lifecycle_claims_deployment(lifecycle: &Lifecycle, mapping: &MappingSpec) -> bool {
    mapping.rows().iter().any(|row| {
        row.target.approval == ApprovalStatus::Approved
            && row.target.stage_status == lifecycle.stage_status
            && row.target.stage.matches(&lifecycle.stage)
    })
}

/// Whether governance's status maps to an approval.
pub fn status_approves(status: Option<&str>, mapping: &MappingSpec) -> bool {
    governance_row(status, mapping)
        .is_some_and(|row| row.target.approval == ApprovalStatus::Approved)
}

fn governance_row<'m>(status: Option<&str>, mapping: &'m MappingSpec) -> Option<&'m MappingRow> {
    let status = GovernanceStatus::parse(status?).ok()?;
    mapping.registry_target(&status).ok()
}

/// The lifecycle the gate reverts a deployment claim to: the one governance's status maps to; for a
/// model without a (known) status, the first `both` row that does not approve (where a version in
/// development stands), else the first row that does not approve. `None` when every candidate
/// would claim deployment too.
pub fn reverted_lifecycle(
    current: &Lifecycle,
    governance_status: Option<&str>,
    mapping: &MappingSpec,
) -> Option<Lifecycle> {
    let not_approving = |row: &&MappingRow| row.target.approval != ApprovalStatus::Approved;
    let candidates = governance_row(governance_status, mapping)
        .filter(not_approving)
        .into_iter()
        .chain(
            mapping
                .rows()
                .iter()
                .filter(not_approving)
                .filter(|row| row.direction == Direction::Both),
        )
        .chain(mapping.rows().iter().filter(not_approving));
    let description = Description::truncating(&format!(
        "govsync: lifecycle {}/{} claims deployment without a governance approval (model status: {}); reverted until governance approves",
        current.stage,
        current.stage_status,
        governance_status.unwrap_or("none")
    ));
    candidates
        .filter_map(|row| {
            Some(Lifecycle {
                stage: row.target.resolve_stage(Some(&current.stage))?,
                stage_status: row.target.stage_status.clone(),
                stage_description: Some(description.clone()),
            })
        })
        .find(|lifecycle| !lifecycle_claims_deployment(lifecycle, mapping))
}

/// What a rejection made in SageMaker means: judged by the rows that reject and accept the
/// package's stage (a stage status set with it is not required: `update_approval_status` sets only
/// the approval).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection<'m> {
    /// Not a rejection governance lacks: the package is not rejected, or governance's status rejects.
    None,
    /// A `both` row: the rejection moves governance to its status.
    Governs(&'m MappingRow),
    /// Only `to_registry` rows reject: a rejection in SageMaker is drift, reported.
    ToRegistryOnly,
    /// No row rejects at this stage.
    Unmapped,
}

pub fn registry_rejection<'m>(
    approval: Option<ApprovalStatus>,
    lifecycle: Option<&Lifecycle>,
    governance_status: Option<&str>,
    mapping: &'m MappingSpec,
) -> Rejection<'m> {
    if approval != Some(ApprovalStatus::Rejected) {
        return Rejection::None;
    }
    if governance_row(governance_status, mapping)
        .is_some_and(|row| row.target.approval == ApprovalStatus::Rejected)
    {
        return Rejection::None;
    }
    let rejecting: Vec<&MappingRow> = mapping
        .rows()
        .iter()
        .filter(|row| row.target.approval == ApprovalStatus::Rejected)
        .filter(|row| match lifecycle {
            Some(lifecycle) => row.target.stage.matches(&lifecycle.stage),
            None => row.target.resolve_stage(None).is_none(),
        })
        .collect();
    match rejecting
        .iter()
        .find(|row| row.direction == Direction::Both)
    {
        Some(row) => Rejection::Governs(row),
        None if rejecting.is_empty() => Rejection::Unmapped,
        None => Rejection::ToRegistryOnly,
    }
}
