//! What a drift is (its kind and its repair), and the plain-text table the reconciler reports them in.

use crate::model_package::ModelPackageArn;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::governance::GovernanceId;

/// What is out of step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    PackageNotInGovernance,
    ModelPackageGone,
    StatusOutOfStep,
    ShadowApproval,
    UnassignedGroup,
    DanglingLink,
    DuplicateModels,
    DuplicateModelGroups,
    UnknownGovernanceStatus,
    ModelCardOutOfStep,
    ModelLinkStale,
    ArtifactChangedSinceApproval,
    ArtifactUnverifiable,
    EndpointServingUnapproved,
    EndpointServingDecommissioned,
    EndpointServingOtherArtifact,
    DeploymentsOutOfStep,
}

impl DriftKind {
    pub const ALL: [DriftKind; 17] = [
        DriftKind::PackageNotInGovernance,
        DriftKind::ModelPackageGone,
        DriftKind::StatusOutOfStep,
        DriftKind::ShadowApproval,
        DriftKind::UnassignedGroup,
        DriftKind::DanglingLink,
        DriftKind::DuplicateModels,
        DriftKind::DuplicateModelGroups,
        DriftKind::UnknownGovernanceStatus,
        DriftKind::ModelCardOutOfStep,
        DriftKind::ModelLinkStale,
        DriftKind::ArtifactChangedSinceApproval,
        DriftKind::ArtifactUnverifiable,
        DriftKind::EndpointServingUnapproved,
        DriftKind::EndpointServingDecommissioned,
        DriftKind::EndpointServingOtherArtifact,
        DriftKind::DeploymentsOutOfStep,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DriftKind::PackageNotInGovernance => "package_not_in_governance",
            DriftKind::ModelPackageGone => "model_package_gone",
            DriftKind::StatusOutOfStep => "status_out_of_step",
            DriftKind::ShadowApproval => "shadow_approval",
            DriftKind::UnassignedGroup => "unassigned_group",
            DriftKind::DanglingLink => "dangling_link",
            DriftKind::DuplicateModels => "duplicate_models",
            DriftKind::DuplicateModelGroups => "duplicate_model_groups",
            DriftKind::UnknownGovernanceStatus => "unknown_governance_status",
            DriftKind::ModelCardOutOfStep => "model_card_out_of_step",
            DriftKind::ModelLinkStale => "model_link_stale",
            DriftKind::ArtifactChangedSinceApproval => "artifact_changed_since_approval",
            DriftKind::ArtifactUnverifiable => "artifact_unverifiable",
            DriftKind::EndpointServingUnapproved => "endpoint_serving_unapproved",
            DriftKind::EndpointServingDecommissioned => "endpoint_serving_decommissioned",
            DriftKind::EndpointServingOtherArtifact => "endpoint_serving_other_artifact",
            DriftKind::DeploymentsOutOfStep => "deployments_out_of_step",
        }
    }
}

/// How a drift is repaired. Every variant but `ReportOnly` is the code path an event would take.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Repair {
    /// registry-events' per-package sync (F2/F3: create or update the model, the gate, the write-back).
    SyncPackage { package_arn: ModelPackageArn },
    /// Governance drives: set the package's approval and lifecycle from the model status (F4).
    PropagateStatus {
        model_id: GovernanceId,
        package_arn: ModelPackageArn,
    },
    /// The package is gone or archived: decommission the governance model (F5).
    DecommissionModel {
        model_id: GovernanceId,
        package_arn: ModelPackageArn,
        /// Archived in SageMaker (rather than deleted or vanished).
        archived: bool,
    },
    /// The model is decommissioned in governance: archive its package (F6, a request on decommission.fifo).
    ArchivePackage {
        model_id: GovernanceId,
        package_arn: ModelPackageArn,
    },
    /// Write where the version is deployed onto its governance Model (the `Deployments` field of the
    /// mapping's `[fields]`): `text` replaces the field's value.
    RecordDeployments {
        model_id: GovernanceId,
        text: String,
    },
    /// Needs a person; nothing is changed.
    ReportOnly { reason: String },
}

impl Repair {
    pub fn action(&self) -> &'static str {
        match self {
            Repair::SyncPackage { .. } => "sync_package",
            Repair::PropagateStatus { .. } => "propagate_status",
            Repair::DecommissionModel { .. } => "decommission_model",
            Repair::ArchivePackage { .. } => "archive_package",
            Repair::RecordDeployments { .. } => "record_deployments",
            Repair::ReportOnly { .. } => "report_only",
        }
    }
}

/// One drift: where, what, and its repair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drift {
    pub kind: DriftKind,
    /// `account/region`.
    pub registry: String,
    pub group: Option<String>,
    pub package_arn: Option<ModelPackageArn>,
    pub governance_id: Option<GovernanceId>,
    pub detail: String,
    pub repair: Repair,
}

/// Plain-text columns: kind, registry, group, package (version), governance id, repair, outcome, detail.
pub fn drift_table<'a>(rows: impl IntoIterator<Item = (&'a Drift, &'a str)>) -> String {
    let header = [
        "KIND", "REGISTRY", "GROUP", "PACKAGE", "GOV ID", "REPAIR", "OUTCOME", "DETAIL",
    ];
    let mut lines: Vec<[String; 8]> = Vec::new();
    for (drift, outcome) in rows {
        let package = drift
            .package_arn
            .as_ref()
            .map(ModelPackageArn::as_str)
            .map(|arn| match arn.rsplit_once('/') {
                Some((_, version)) => format!("v{version}"),
                None => arn.to_owned(),
            })
            .unwrap_or_else(|| "-".to_owned());
        lines.push([
            drift.kind.as_str().to_owned(),
            drift.registry.clone(),
            drift.group.clone().unwrap_or_else(|| "-".to_owned()),
            package,
            drift
                .governance_id
                .as_ref()
                .map(|id| id.to_string())
                .unwrap_or_else(|| "-".to_owned()),
            drift.repair.action().to_owned(),
            outcome.to_owned(),
            drift.detail.clone(),
        ]);
    }
    let mut widths = header.map(str::len);
    for line in &lines {
        for (width, cell) in widths.iter_mut().zip(line.iter()).take(7) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut push = |cells: [&str; 8]| {
        let mut line = String::new();
        for (index, cell) in cells.iter().enumerate() {
            if index == 7 {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<width$}  ", width = widths[index]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    };
    push(header);
    for line in &lines {
        push([
            &line[0], &line[1], &line[2], &line[3], &line[4], &line[5], &line[6], &line[7],
        ]);
    }
    out
}
