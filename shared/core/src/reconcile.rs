//! F8 reconciliation: compare what a registry holds with what governance holds, name every drift, and
//! choose the repair for each. Pure: the reconciler lists both sides (paged) and hands the snapshots in.
//!
//! The comparison is compositional per model package group ([`compare_group`]) plus one step per registry
//! for the groups that are gone ([`compare_missing_groups`]), so a run cut off by its deadline can resume
//! from the last completed group without re-reading what it already compared.
//!
//! Drift kinds ([`DriftKind`]) and their repairs ([`Repair`]):
//!
//! | Kind | Repair (the code path the events use) |
//! |---|---|
//! | `package_not_in_governance` | `sync_package`: registry-events' per-package sync (F2) |
//! | `model_package_gone` (package deleted, deleting, or archived; group gone) | `decommission_model`: F5 |
//! | `status_out_of_step`, governance newer or `to_registry` row | `propagate_status`: F4 |
//! | `status_out_of_step`, registry newer on a `both` row | `sync_package` (F3) |
//! | `status_out_of_step`, model decommissioned in governance | `archive_package`: F6 via decommission.fifo |
//! | `shadow_approval` | `sync_package` (the gate, F3) with `enforce`; reported with `alert` |
//! | `dangling_link` (write-back missing or pointing at the wrong / no object) | `sync_package` (write-back) |
//! | `dangling_link` (group tag naming a use case that does not exist) | report only |
//! | `unassigned_group` | report only (a person tags the group) |
//! | `duplicate_models`, `unknown_governance_status` | report only (never guessed) |
//!
//! Which side wins a status disagreement: the newer side (package `LastModifiedTime` against the model's
//! `Last Modification Date`), but SageMaker only on a `both` row; ties, unknown times and every other row
//! go to governance, the system of record.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::customer_metadata::keys;
use crate::governance::{GovernanceId, GovernanceStatus};
use crate::mapping::{MappingRow, MappingSpec, ReverseMapping, StageTarget};
use crate::model_package::{ApprovalStatus, ModelPackageArn, SageMakerName};
use crate::ports::registry::ModelPackage;
use crate::ports::{FieldValue, QueryRow};
use crate::registry_map::Registry;
use crate::sync::registry::use_case_tag;
use crate::sync::{GateMode, fields};

pub use crate::sync::decommission::{ARCHIVED_STAGE, DECOMMISSIONED_STATUS};
/// The governance system field of an object's last change.
pub const LAST_MODIFICATION_DATE: &str = fields::LAST_MODIFICATION_DATE;

/// The governance columns the reconciler queries, per kind.
pub mod columns {
    use super::{LAST_MODIFICATION_DATE, fields};

    pub const USE_CASE: &[&str] = &["Name", fields::USE_CASE_STATUS];
    pub const MODEL_GROUP: &[&str] = &["Name", fields::EXTERNAL_ID];
    pub const MODEL: &[&str] = &[
        "Name",
        fields::EXTERNAL_ID,
        fields::MODEL_STATUS,
        LAST_MODIFICATION_DATE,
    ];
}

// ---------------------------------------------------------------------------------------------
// Snapshots

/// One governance model as the inventory query returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelEntry {
    pub id: GovernanceId,
    pub name: String,
    pub external_id: String,
    pub status: Option<String>,
    pub last_modified: Option<DateTime<Utc>>,
}

impl ModelEntry {
    pub fn is_decommissioned(&self) -> bool {
        self.status.as_deref() == Some(DECOMMISSIONED_STATUS)
    }
}

/// The governance side, indexed for the comparison.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GovernanceInventory {
    use_cases: BTreeMap<GovernanceId, String>,
    model_groups: BTreeMap<String, Vec<GovernanceId>>,
    model_group_ids: BTreeSet<GovernanceId>,
    models_by_arn: BTreeMap<String, Vec<ModelEntry>>,
    /// (account, region, lower-case group name) → package ARNs carried by models.
    models_by_group: BTreeMap<(String, String, String), BTreeSet<String>>,
    model_ids: BTreeSet<GovernanceId>,
}

fn text_of(row: &QueryRow, name: &str) -> Option<String> {
    row.field(name)
        .and_then(FieldValue::as_text)
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
}

fn group_key(arn: &ModelPackageArn) -> (String, String, String) {
    (
        arn.account().to_string(),
        arn.region().to_string(),
        arn.group_name().as_str().to_ascii_lowercase(),
    )
}

impl GovernanceInventory {
    /// Builds the inventory from the three queries (rows without a `Resource ID` are skipped).
    pub fn from_rows(
        use_cases: &[QueryRow],
        model_groups: &[QueryRow],
        models: &[QueryRow],
    ) -> Self {
        let mut inventory = Self::default();
        for row in use_cases {
            if let Some(id) = &row.id {
                inventory
                    .use_cases
                    .insert(id.clone(), text_of(row, "Name").unwrap_or_default());
            }
        }
        for row in model_groups {
            let Some(id) = &row.id else { continue };
            inventory.model_group_ids.insert(id.clone());
            if let Some(external_id) = text_of(row, fields::EXTERNAL_ID) {
                inventory
                    .model_groups
                    .entry(external_id)
                    .or_default()
                    .push(id.clone());
            }
        }
        for row in models {
            let Some(id) = &row.id else { continue };
            inventory.model_ids.insert(id.clone());
            let Some(external_id) = text_of(row, fields::EXTERNAL_ID) else {
                continue;
            };
            let Ok(arn) = ModelPackageArn::parse(&external_id) else {
                continue;
            };
            inventory
                .models_by_group
                .entry(group_key(&arn))
                .or_default()
                .insert(external_id.clone());
            inventory
                .models_by_arn
                .entry(external_id.clone())
                .or_default()
                .push(ModelEntry {
                    id: id.clone(),
                    name: text_of(row, "Name").unwrap_or_default(),
                    external_id,
                    status: text_of(row, fields::MODEL_STATUS),
                    last_modified: text_of(row, LAST_MODIFICATION_DATE)
                        .and_then(|text| DateTime::parse_from_rfc3339(&text).ok())
                        .map(|time| time.with_timezone(&Utc)),
                });
        }
        inventory
    }

    pub fn models_for(&self, package_arn: &str) -> &[ModelEntry] {
        self.models_by_arn
            .get(package_arn)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    pub fn has_use_case(&self, id: &GovernanceId) -> bool {
        self.use_cases.contains_key(id)
    }

    /// The name of a use case of the inventory.
    pub fn use_case_name(&self, id: &GovernanceId) -> Option<&str> {
        self.use_cases.get(id).map(String::as_str)
    }

    pub fn model_groups_for(&self, group_arn: &str) -> &[GovernanceId] {
        self.model_groups
            .get(group_arn)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    pub fn model_count(&self) -> usize {
        self.model_ids.len()
    }

    /// Package ARNs carried by models of one group of `registry`.
    fn model_arns_in_group(&self, registry: &Registry, group_name: &str) -> Vec<&str> {
        let key = (
            registry.account.to_string(),
            registry.region.to_string(),
            group_name.to_ascii_lowercase(),
        );
        self.models_by_group
            .get(&key)
            .map(|arns| arns.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// Lower-case group names of `registry` that models point into.
    fn model_group_names(&self, registry: &Registry) -> Vec<(&str, &BTreeSet<String>)> {
        let (account, region) = (registry.account.as_str(), registry.region.as_str());
        self.models_by_group
            .iter()
            .filter(|((a, r, _), _)| a == account && r == region)
            .map(|((_, _, group), arns)| (group.as_str(), arns))
            .collect()
    }
}

/// One model package group as listed, with its tags and its packages as described.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GroupSnapshot {
    pub name: String,
    pub arn: String,
    pub tags: Vec<(String, String)>,
    pub packages: Vec<ModelPackage>,
}

// ---------------------------------------------------------------------------------------------
// Drift

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
    UnknownGovernanceStatus,
}

impl DriftKind {
    pub const ALL: [DriftKind; 8] = [
        DriftKind::PackageNotInGovernance,
        DriftKind::ModelPackageGone,
        DriftKind::StatusOutOfStep,
        DriftKind::ShadowApproval,
        DriftKind::UnassignedGroup,
        DriftKind::DanglingLink,
        DriftKind::DuplicateModels,
        DriftKind::UnknownGovernanceStatus,
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
            DriftKind::UnknownGovernanceStatus => "unknown_governance_status",
        }
    }
}

/// How a drift is repaired. Every variant but `ReportOnly` is the code path an event would take.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Repair {
    /// registry-events' per-package sync (F2/F3: create or update the model, the gate, the write-back).
    SyncPackage { package_arn: String },
    /// Governance drives: set the package's approval and lifecycle from the model status (F4).
    PropagateStatus {
        model_id: GovernanceId,
        package_arn: String,
    },
    /// The package is gone or archived: decommission the governance model (F5).
    DecommissionModel {
        model_id: GovernanceId,
        package_arn: String,
        /// Archived in SageMaker (rather than deleted or vanished).
        archived: bool,
    },
    /// The model is decommissioned in governance: archive its package (F6, a request on decommission.fifo).
    ArchivePackage {
        model_id: GovernanceId,
        package_arn: String,
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
    pub package_arn: Option<String>,
    pub governance_id: Option<GovernanceId>,
    pub detail: String,
    pub repair: Repair,
}

/// What the comparison decides with.
#[derive(Debug, Clone, Copy)]
pub struct CompareSettings<'a> {
    pub mapping: &'a MappingSpec,
    pub gate: GateMode,
}

fn registry_label(registry: &Registry) -> String {
    format!("{}/{}", registry.account, registry.region)
}

/// Whether SageMaker has let go of a package: deleting, or archived.
fn is_retired(package: &ModelPackage) -> bool {
    package.status.as_deref() == Some("Deleting")
        || package
            .lifecycle
            .as_ref()
            .is_some_and(|lifecycle| lifecycle.stage == ARCHIVED_STAGE)
}

/// Whether a package is registered (not pending, in progress or failed).
fn is_registered(package: &ModelPackage) -> bool {
    matches!(package.status.as_deref(), None | Some("Completed"))
}

/// What a mapping row wants the registry to hold, given the package's current stage.
fn expected_state(
    row: &MappingRow,
    package: &ModelPackage,
) -> (Option<String>, String, ApprovalStatus) {
    let stage = match &row.target.stage {
        StageTarget::Set(stage) => Some(stage.to_string()),
        StageTarget::Unchanged => package.lifecycle.as_ref().map(|l| l.stage.clone()),
    };
    (
        stage,
        row.target.stage_status.to_string(),
        row.target.approval,
    )
}

fn approval_of(package: &ModelPackage) -> ApprovalStatus {
    package
        .approval_status
        .unwrap_or(ApprovalStatus::PendingManualApproval)
}

fn state_label(package: &ModelPackage) -> String {
    match &package.lifecycle {
        Some(l) => format!("{}/{} {}", l.stage, l.stage_status, approval_of(package)),
        None => format!("no lifecycle, {}", approval_of(package)),
    }
}

/// Whether SageMaker drives a disagreement: its state is on a `both` row and it changed last.
fn registry_drives(package: &ModelPackage, model: &ModelEntry, mapping: &MappingSpec) -> bool {
    let Some(lifecycle) = &package.lifecycle else {
        return false;
    };
    let (Ok(stage), Ok(status)) = (
        SageMakerName::parse(&lifecycle.stage),
        SageMakerName::parse(&lifecycle.stage_status),
    ) else {
        return false;
    };
    let governs = matches!(
        mapping.from_registry(&stage, &status, approval_of(package)),
        ReverseMapping::Governs(_)
    );
    governs
        && matches!(
            (package.last_modified_time, model.last_modified),
            (Some(registry), Some(governance)) if registry > governance
        )
}

/// Compares one group of `registry` with governance.
pub fn compare_group(
    registry: &Registry,
    group: &GroupSnapshot,
    inventory: &GovernanceInventory,
    settings: CompareSettings<'_>,
) -> Vec<Drift> {
    let label = registry_label(registry);
    let mut out = Vec::new();
    let drift =
        |kind, package_arn: Option<&str>, id: Option<&GovernanceId>, detail: String, repair| {
            Drift {
                kind,
                registry: label.clone(),
                group: Some(group.name.clone()),
                package_arn: package_arn.map(str::to_owned),
                governance_id: id.cloned(),
                detail,
                repair,
            }
        };
    let report_only = |reason: &str| Repair::ReportOnly {
        reason: reason.to_owned(),
    };

    // The group's use case.
    let use_case = match use_case_tag(&group.tags) {
        Err(reason) => {
            out.push(drift(
                DriftKind::UnassignedGroup,
                None,
                None,
                reason,
                report_only("tag the group with govsync:use-case-id"),
            ));
            None
        }
        Ok(id) if !inventory.has_use_case(&id) => {
            out.push(drift(
                DriftKind::DanglingLink,
                None,
                Some(&id),
                format!(
                    "the group's {} tag names use case {id}, which governance does not hold",
                    keys::USE_CASE_ID
                ),
                report_only("fix the group's use-case tag or restore the use case"),
            ));
            None
        }
        Ok(id) => Some(id),
    };
    let model_groups = inventory.model_groups_for(&group.arn);

    let mut listed: BTreeSet<&str> = BTreeSet::new();
    for package in &group.packages {
        listed.insert(package.arn.as_str());
        let arn = package.arn.as_str();
        let models = inventory.models_for(arn);
        let sync = || Repair::SyncPackage {
            package_arn: arn.to_owned(),
        };
        if is_retired(package) {
            for model in models.iter().filter(|m| !m.is_decommissioned()) {
                out.push(drift(
                    DriftKind::ModelPackageGone,
                    Some(arn),
                    Some(&model.id),
                    format!(
                        "package is {} but model {} is {}",
                        if package.status.as_deref() == Some("Deleting") {
                            "being deleted"
                        } else {
                            "archived"
                        },
                        model.id,
                        model.status.as_deref().unwrap_or("without status")
                    ),
                    Repair::DecommissionModel {
                        model_id: model.id.clone(),
                        package_arn: arn.to_owned(),
                        archived: package.status.as_deref() != Some("Deleting"),
                    },
                ));
            }
            continue;
        }
        if !is_registered(package) {
            continue;
        }
        let model = match models {
            [] => None,
            [model] => Some(model),
            several => {
                out.push(drift(
                    DriftKind::DuplicateModels,
                    Some(arn),
                    None,
                    format!(
                        "{} governance models carry this package's external id: {}",
                        several.len(),
                        several
                            .iter()
                            .map(|m| m.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    report_only("merge or retire the duplicate models"),
                ));
                continue;
            }
        };
        // What governance approves, for the gate.
        let status = model.and_then(|m| m.status.as_deref());
        let row = match status {
            None => None,
            Some(status) => match GovernanceStatus::parse(status)
                .ok()
                .and_then(|parsed| settings.mapping.registry_target(&parsed).ok())
            {
                Some(row) => Some(row),
                None => {
                    out.push(drift(
                        DriftKind::UnknownGovernanceStatus,
                        Some(arn),
                        model.map(|m| &m.id),
                        format!("model status {status:?} is not in the mapping spec"),
                        report_only("add the status to the mapping spec"),
                    ));
                    None
                }
            },
        };
        let shadow = approval_of(package) == ApprovalStatus::Approved
            && row.is_none_or(|row| row.target.approval != ApprovalStatus::Approved)
            && settings.gate != GateMode::Off;
        if shadow {
            out.push(drift(
                DriftKind::ShadowApproval,
                Some(arn),
                model.map(|m| &m.id),
                format!(
                    "approved in SageMaker while governance status is {}",
                    status.unwrap_or("none")
                ),
                match settings.gate {
                    GateMode::Enforce => sync(),
                    GateMode::Alert | GateMode::Off => report_only("gate mode is alert"),
                },
            ));
        }
        let Some(use_case) = &use_case else {
            continue;
        };
        let Some(model) = model else {
            out.push(drift(
                DriftKind::PackageNotInGovernance,
                Some(arn),
                None,
                format!("no governance model carries external id {arn}"),
                sync(),
            ));
            continue;
        };
        // Status and lifecycle against the mapping.
        if model.is_decommissioned() {
            out.push(drift(
                DriftKind::StatusOutOfStep,
                Some(arn),
                Some(&model.id),
                format!(
                    "model is {DECOMMISSIONED_STATUS} but the package is {}",
                    state_label(package)
                ),
                Repair::ArchivePackage {
                    model_id: model.id.clone(),
                    package_arn: arn.to_owned(),
                },
            ));
        } else if let Some(row) = row {
            let (stage, stage_status, approval) = expected_state(row, package);
            let approval_differs = approval_of(package) != approval && !shadow;
            let lifecycle_differs = match (&stage, &package.lifecycle) {
                (Some(stage), Some(current)) => {
                    current.stage != *stage || current.stage_status != stage_status
                }
                (Some(_), None) => true,
                // The row keeps the stage and the package has none: only the approval can be set.
                (None, _) => false,
            };
            if approval_differs || lifecycle_differs {
                let detail = format!(
                    "model status {} wants {}/{} {} but the package is {}",
                    row.governance_status,
                    stage.as_deref().unwrap_or("(stage unchanged)"),
                    stage_status,
                    approval,
                    state_label(package)
                );
                let repair = if registry_drives(package, model, settings.mapping) {
                    sync()
                } else {
                    Repair::PropagateStatus {
                        model_id: model.id.clone(),
                        package_arn: arn.to_owned(),
                    }
                };
                out.push(drift(
                    DriftKind::StatusOutOfStep,
                    Some(arn),
                    Some(&model.id),
                    detail,
                    repair,
                ));
            }
        }
        // The write-back: the package's links must name the objects that exist.
        let metadata = &package.customer_metadata;
        let mut wrong = Vec::new();
        match metadata.get(keys::MODEL_ID) {
            Some(id) if id == model.id.as_str() => {}
            Some(id) => wrong.push(format!("{} = {id} (model is {})", keys::MODEL_ID, model.id)),
            None => wrong.push(format!("{} missing", keys::MODEL_ID)),
        }
        match metadata.get(keys::USE_CASE_ID) {
            Some(id) if id == use_case.as_str() => {}
            Some(id) => wrong.push(format!(
                "{} = {id} (use case is {use_case})",
                keys::USE_CASE_ID
            )),
            None => wrong.push(format!("{} missing", keys::USE_CASE_ID)),
        }
        match metadata.get(keys::MODEL_GROUP_ID) {
            Some(id) if model_groups.iter().any(|g| g.as_str() == id) => {}
            Some(id) => wrong.push(format!(
                "{} = {id}, which is not the group's model group",
                keys::MODEL_GROUP_ID
            )),
            None => wrong.push(format!("{} missing", keys::MODEL_GROUP_ID)),
        }
        if !wrong.is_empty() {
            out.push(drift(
                DriftKind::DanglingLink,
                Some(arn),
                Some(&model.id),
                format!("write-back: {}", wrong.join("; ")),
                sync(),
            ));
        }
    }

    // Models pointing into this group at packages it no longer has.
    for model_arn in inventory.model_arns_in_group(registry, &group.name) {
        if listed.contains(model_arn) {
            continue;
        }
        for model in inventory
            .models_for(model_arn)
            .iter()
            .filter(|m| !m.is_decommissioned())
        {
            out.push(Drift {
                kind: DriftKind::ModelPackageGone,
                registry: label.clone(),
                group: Some(group.name.clone()),
                package_arn: Some(model_arn.to_owned()),
                governance_id: Some(model.id.clone()),
                detail: format!("the package of model {} no longer exists", model.id),
                repair: Repair::DecommissionModel {
                    model_id: model.id.clone(),
                    package_arn: model_arn.to_owned(),
                    archived: false,
                },
            });
        }
    }
    out
}

/// Models of `registry` whose whole group is gone (`listed_groups`: every group name the registry lists).
pub fn compare_missing_groups(
    registry: &Registry,
    listed_groups: &BTreeSet<String>,
    inventory: &GovernanceInventory,
) -> Vec<Drift> {
    let listed: BTreeSet<String> = listed_groups
        .iter()
        .map(|g| g.to_ascii_lowercase())
        .collect();
    let mut out = Vec::new();
    for (group, arns) in inventory.model_group_names(registry) {
        if listed.contains(group) {
            continue;
        }
        for arn in arns {
            for model in inventory
                .models_for(arn)
                .iter()
                .filter(|m| !m.is_decommissioned())
            {
                out.push(Drift {
                    kind: DriftKind::ModelPackageGone,
                    registry: registry_label(registry),
                    group: Some(group.to_owned()),
                    package_arn: Some(arn.clone()),
                    governance_id: Some(model.id.clone()),
                    detail: format!("the group {group} of model {} no longer exists", model.id),
                    repair: Repair::DecommissionModel {
                        model_id: model.id.clone(),
                        package_arn: arn.clone(),
                        archived: false,
                    },
                });
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The readable table

/// Plain-text columns: kind, registry, group, package (version), governance id, repair, outcome, detail.
pub fn drift_table<'a>(rows: impl IntoIterator<Item = (&'a Drift, &'a str)>) -> String {
    let header = [
        "KIND", "REGISTRY", "GROUP", "PACKAGE", "GOV ID", "REPAIR", "OUTCOME", "DETAIL",
    ];
    let mut lines: Vec<[String; 8]> = Vec::new();
    for (drift, outcome) in rows {
        let package = drift
            .package_arn
            .as_deref()
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

#[cfg(test)]
mod tests;
