//! The comparison itself: one registry group against governance ([`compare_group`], as a sequence of
//! named sub-decisions per package), and the groups that are gone ([`compare_missing_groups`]).

use crate::model_package::{ModelPackageArn, ModelPackageStatus};
use std::collections::BTreeSet;

use super::{ARCHIVED_STAGE, DECOMMISSIONED_STATUS};
use super::{Drift, DriftKind, GovernanceInventory, GroupSnapshot, ModelEntry, Repair};
use crate::customer_metadata::keys;
use crate::governance::{GovernanceId, GovernanceStatus};
use crate::mapping::{MappingRow, MappingSpec, ReverseMapping, StageTarget};
use crate::model_card::{drifted_entries, entries};
use crate::model_package::ApprovalStatus;
use crate::ports::registry::ModelPackage;
use crate::registry_map::Registry;
use crate::sync::GateMode;
use crate::sync::registry::{
    Rejection, WrittenLinks, lifecycle_claims_deployment, registry_rejection, use_case_tag,
};

/// What the comparison decides with.
#[derive(Debug, Clone, Copy)]
pub struct CompareSettings<'a> {
    pub mapping: &'a MappingSpec,
    pub gate: GateMode,
    /// The deployment's model links: a Model whose link is not the one the current key signs is
    /// re-synced (after a key rotation, or a new link base). `None`: links are not checked.
    pub model_links: Option<&'a crate::model_link::ModelLinks>,
}

fn registry_label(registry: &Registry) -> String {
    format!("{}/{}", registry.account, registry.region)
}

/// Whether SageMaker has let go of a package: deleting, or archived.
fn is_retired(package: &ModelPackage) -> bool {
    package.status == Some(ModelPackageStatus::Deleting)
        || package
            .lifecycle
            .as_ref()
            .is_some_and(|lifecycle| lifecycle.stage.as_str() == ARCHIVED_STAGE)
}

/// Whether a package is registered (not pending, in progress or failed).
fn is_registered(package: &ModelPackage) -> bool {
    matches!(package.status, None | Some(ModelPackageStatus::Completed))
}

/// What a mapping row wants the registry to hold, given the package's current stage.
fn expected_state(
    row: &MappingRow,
    package: &ModelPackage,
) -> (Option<String>, String, ApprovalStatus) {
    let stage = match &row.target.stage {
        StageTarget::Set(stage) => Some(stage.to_string()),
        StageTarget::Unchanged => package.lifecycle.as_ref().map(|l| l.stage.to_string()),
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
    let governs = matches!(
        mapping.from_registry(
            &lifecycle.stage,
            &lifecycle.stage_status,
            approval_of(package)
        ),
        ReverseMapping::Governs(_)
    );
    let rejection_governs = matches!(
        registry_rejection(
            package.approval_status,
            Some(lifecycle),
            model.status.as_deref(),
            mapping
        ),
        Rejection::Governs(_)
    );
    (governs || rejection_governs)
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
    let mut drifts = GroupDrifts {
        registry: registry_label(registry),
        group: &group.name,
        found: Vec::new(),
    };
    let use_case = group_use_case(group, inventory, &mut drifts);
    let model_groups = inventory.model_groups_for(&group.arn);
    duplicate_model_groups(model_groups, &mut drifts);
    for package in group
        .packages
        .iter()
        .filter(|package| !group.summarized.contains(&package.arn))
    {
        compare_package(
            package,
            registry.business_entity.as_str(),
            use_case.as_ref(),
            model_groups,
            inventory,
            settings,
            &mut drifts,
        );
    }
    gone_packages(registry, group, inventory, &mut drifts);
    drifts.found
}

/// The drifts found in one group; each names the registry and the group.
struct GroupDrifts<'a> {
    registry: String,
    group: &'a str,
    found: Vec<Drift>,
}

impl GroupDrifts<'_> {
    fn push(
        &mut self,
        kind: DriftKind,
        package_arn: Option<&ModelPackageArn>,
        id: Option<&GovernanceId>,
        detail: String,
        repair: Repair,
    ) {
        self.found.push(Drift {
            kind,
            registry: self.registry.clone(),
            group: Some(self.group.to_owned()),
            package_arn: package_arn.cloned(),
            governance_id: id.cloned(),
            detail,
            repair,
        });
    }
}

fn report_only(reason: &str) -> Repair {
    Repair::ReportOnly {
        reason: reason.to_owned(),
    }
}

fn sync_package(arn: &ModelPackageArn) -> Repair {
    Repair::SyncPackage {
        package_arn: arn.clone(),
    }
}

/// Decides the group's use case from its `govsync:use-case-id` tag. A missing or invalid tag leaves
/// the group unassigned; a tag naming a use case governance does not hold is a dangling link. Both
/// are reported and give no use case.
fn group_use_case(
    group: &GroupSnapshot,
    inventory: &GovernanceInventory,
    drifts: &mut GroupDrifts<'_>,
) -> Option<GovernanceId> {
    match use_case_tag(&group.tags) {
        Err(reason) => {
            drifts.push(
                DriftKind::UnassignedGroup,
                None,
                None,
                reason,
                report_only("tag the group with govsync:use-case-id"),
            );
            None
        }
        Ok(id) if !inventory.has_use_case(&id) => {
            drifts.push(
                DriftKind::DanglingLink,
                None,
                Some(&id),
                format!(
                    "the group's {} tag names use case {id}, which governance does not hold",
                    keys::USE_CASE_ID
                ),
                report_only("fix the group's use-case tag or restore the use case"),
            );
            None
        }
        Ok(id) => Some(id),
    }
}

/// Compares one package of the group. A retired package only decommissions its models, and an
/// unregistered one or one with duplicate models is compared no further; the gate applies to every
/// other package, and one of an assigned group is then checked for its model, status and write-back.
#[allow(clippy::too_many_arguments)]
fn compare_package(
    package: &ModelPackage,
    business_entity: &str,
    use_case: Option<&GovernanceId>,
    model_groups: &[GovernanceId],
    inventory: &GovernanceInventory,
    settings: CompareSettings<'_>,
    drifts: &mut GroupDrifts<'_>,
) {
    let arn = &package.arn;
    let models = inventory.models_for(arn.as_str());
    if is_retired(package) {
        retired_package(package, models, drifts);
        return;
    }
    if !is_registered(package) || duplicate_models(arn, models, drifts) {
        return;
    }
    let model = models.first();
    let status = model.and_then(|m| m.status.as_deref());
    let before = drifts.found.len();
    let row = governance_row(arn, model, status, settings.mapping, drifts);
    let shadow = shadow_approval(package, model, status, row, settings, drifts);
    let Some(use_case) = use_case else {
        return;
    };
    let Some(model) = model else {
        drifts.push(
            DriftKind::PackageNotInGovernance,
            Some(arn),
            None,
            format!("no governance model carries external id {arn}"),
            sync_package(arn),
        );
        return;
    };
    status_drift(package, model, row, shadow, settings.mapping, drifts);
    // The status repair writes the card's status entry too, and a status the mapping does not know
    // needs a person first: either way a card behind it is not a second drift.
    let status_out_of_step = drifts.found[before..].iter().any(|drift| {
        matches!(
            drift.kind,
            DriftKind::StatusOutOfStep | DriftKind::UnknownGovernanceStatus
        )
    });
    write_back_drift(package, model, use_case, model_groups, drifts);
    let status = (!status_out_of_step)
        .then_some(model.status.as_deref())
        .flatten();
    card_drift(
        package,
        model,
        use_case,
        inventory,
        business_entity,
        status,
        drifts,
    );
    link_drift(package, model, settings.model_links, drifts);
}

/// Decides whether the Model's link is the one govsync signs now: after a key rotation (or a new link
/// base) every Model gets the current link before the retired key stops being accepted.
fn link_drift(
    package: &ModelPackage,
    model: &ModelEntry,
    links: Option<&crate::model_link::ModelLinks>,
    drifts: &mut GroupDrifts<'_>,
) {
    let Some(links) = links else {
        return;
    };
    let wanted = links.link_for(&package.arn);
    if model.link.as_deref() == Some(wanted.as_str()) {
        return;
    }
    drifts.push(
        DriftKind::ModelLinkStale,
        Some(&package.arn),
        Some(&model.id),
        "the Model's link is not the one the current link key signs".to_owned(),
        sync_package(&package.arn),
    );
}

/// Decides whether the package's Model Card holds what governance knows: the use case, the business
/// entity, the Model and its status, as govsync's `custom_details` entries. A card SageMaker will not
/// let govsync change (archived) is reported for a person; any other is re-synced.
#[allow(clippy::too_many_arguments)]
fn card_drift(
    package: &ModelPackage,
    model: &ModelEntry,
    use_case: &GovernanceId,
    inventory: &GovernanceInventory,
    business_entity: &str,
    governance_status: Option<&str>,
    drifts: &mut GroupDrifts<'_>,
) {
    let card = package.facts.model_card.as_ref();
    let wrong = drifted_entries(
        card,
        &[
            (entries::USE_CASE_ID, Some(use_case.as_str())),
            (entries::USE_CASE_NAME, inventory.use_case_name(use_case)),
            (entries::BUSINESS_ENTITY, Some(business_entity)),
            (entries::MODEL_ID, Some(model.id.as_str())),
            (entries::GOVERNANCE_STATUS, governance_status),
        ],
    );
    if wrong.is_empty() {
        return;
    }
    let arn = &package.arn;
    let archived = card.is_some_and(|card| card.is_archived());
    let detail = format!("model card differs from governance: {}", wrong.join(", "));
    let repair = if archived {
        Repair::ReportOnly {
            reason: "the model card is archived; SageMaker refuses changes to it".to_owned(),
        }
    } else {
        sync_package(arn)
    };
    drifts.push(
        DriftKind::ModelCardOutOfStep,
        Some(arn),
        Some(&model.id),
        detail,
        repair,
    );
}

/// Decides the models of a package SageMaker let go of (deleting or archived): every one not yet
/// decommissioned is to be decommissioned.
fn retired_package(package: &ModelPackage, models: &[ModelEntry], drifts: &mut GroupDrifts<'_>) {
    let arn = &package.arn;
    let deleting = package.status == Some(ModelPackageStatus::Deleting);
    for model in models.iter().filter(|m| !m.is_decommissioned()) {
        drifts.push(
            DriftKind::ModelPackageGone,
            Some(arn),
            Some(&model.id),
            format!(
                "package is {} but model {} is {}",
                if deleting {
                    "being deleted"
                } else {
                    "archived"
                },
                model.id,
                model.status.as_deref().unwrap_or("without status")
            ),
            Repair::DecommissionModel {
                model_id: model.id.clone(),
                package_arn: arn.clone(),
                archived: !deleting,
            },
        );
    }
}

/// Reports several governance model groups carrying one registry group's ARN (never guessed which to
/// keep: the packages' models may hang under either).
fn duplicate_model_groups(model_groups: &[GovernanceId], drifts: &mut GroupDrifts<'_>) {
    if model_groups.len() < 2 {
        return;
    }
    drifts.push(
        DriftKind::DuplicateModelGroups,
        None,
        None,
        format!(
            "{} governance model groups carry this group's external id: {}",
            model_groups.len(),
            model_groups
                .iter()
                .map(GovernanceId::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        report_only("merge the duplicate model groups and move their models under one"),
    );
}

/// Decides whether several governance models carry the package: reported (never guessed), and the
/// package is compared no further.
fn duplicate_models(
    arn: &ModelPackageArn,
    models: &[ModelEntry],
    drifts: &mut GroupDrifts<'_>,
) -> bool {
    if models.len() < 2 {
        return false;
    }
    drifts.push(
        DriftKind::DuplicateModels,
        Some(arn),
        None,
        format!(
            "{} governance models carry this package's external id: {}",
            models.len(),
            models
                .iter()
                .map(|m| m.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        report_only("merge or retire the duplicate models"),
    );
    true
}

/// Decides the mapping row of the model's governance status: what governance approves, for the gate.
/// A status the mapping does not know is reported and gives no row.
fn governance_row<'m>(
    arn: &ModelPackageArn,
    model: Option<&ModelEntry>,
    status: Option<&str>,
    mapping: &'m MappingSpec,
    drifts: &mut GroupDrifts<'_>,
) -> Option<&'m MappingRow> {
    let status = status?;
    match GovernanceStatus::parse(status)
        .ok()
        .and_then(|parsed| mapping.registry_target(&parsed).ok())
    {
        Some(row) => Some(row),
        None => {
            drifts.push(
                DriftKind::UnknownGovernanceStatus,
                Some(arn),
                model.map(|m| &m.id),
                format!("model status {status:?} is not in the mapping spec"),
                report_only("add the status to the mapping spec"),
            );
            None
        }
    }
}

/// Decides whether the package is a shadow approval (`Approved` in SageMaker, or a lifecycle that
/// claims deployment, while governance's row does not approve, the gate on): repaired through the
/// gate with `enforce`, reported with `alert`.
fn shadow_approval(
    package: &ModelPackage,
    model: Option<&ModelEntry>,
    status: Option<&str>,
    row: Option<&MappingRow>,
    settings: CompareSettings<'_>,
    drifts: &mut GroupDrifts<'_>,
) -> bool {
    let gate = settings.gate;
    let approves = row.is_some_and(|row| row.target.approval == ApprovalStatus::Approved);
    let approved = approval_of(package) == ApprovalStatus::Approved;
    let claim = package
        .lifecycle
        .as_ref()
        .filter(|lifecycle| lifecycle_claims_deployment(lifecycle, settings.mapping));
    let shadow = (approved || claim.is_some()) && !approves && gate != GateMode::Off;
    if shadow {
        let arn = &package.arn;
        let what = match (approved, claim) {
            (true, None) => "approved in SageMaker".to_owned(),
            (_, Some(lifecycle)) => format!(
                "lifecycle {}/{} ({}) claims deployment",
                lifecycle.stage,
                lifecycle.stage_status,
                approval_of(package)
            ),
            (false, None) => String::new(),
        };
        drifts.push(
            DriftKind::ShadowApproval,
            Some(arn),
            model.map(|m| &m.id),
            format!(
                "{what} while governance status is {}",
                status.unwrap_or("none")
            ),
            match gate {
                GateMode::Enforce => sync_package(arn),
                GateMode::Alert | GateMode::Off => report_only("gate mode is alert"),
            },
        );
    }
    shadow
}

/// Decides whether the package's approval and lifecycle are out of step with its model's status. A
/// decommissioned model archives its package (F6); otherwise the side that wins the disagreement
/// (see [`registry_drives`]) repairs the other. A shadow approval's approval is the gate's business.
fn status_drift(
    package: &ModelPackage,
    model: &ModelEntry,
    row: Option<&MappingRow>,
    shadow: bool,
    mapping: &MappingSpec,
    drifts: &mut GroupDrifts<'_>,
) {
    let arn = &package.arn;
    if model.is_decommissioned() {
        drifts.push(
            DriftKind::StatusOutOfStep,
            Some(arn),
            Some(&model.id),
            format!(
                "model is {DECOMMISSIONED_STATUS} but the package is {}",
                state_label(package)
            ),
            Repair::ArchivePackage {
                model_id: model.id.clone(),
                package_arn: arn.clone(),
            },
        );
        return;
    }
    let Some(row) = row else {
        rejection_without_status(package, model, mapping, drifts);
        return;
    };
    let (stage, stage_status, approval) = expected_state(row, package);
    let approval_differs = approval_of(package) != approval && !shadow;
    if !approval_differs && !lifecycle_differs(stage.as_deref(), &stage_status, package) {
        return;
    }
    let detail = format!(
        "model status {} wants {}/{} {} but the package is {}",
        row.governance_status,
        stage.as_deref().unwrap_or("(stage unchanged)"),
        stage_status,
        approval,
        state_label(package)
    );
    let repair = if registry_drives(package, model, mapping) {
        sync_package(arn)
    } else {
        Repair::PropagateStatus {
            model_id: model.id.clone(),
            package_arn: arn.clone(),
        }
    };
    drifts.push(
        DriftKind::StatusOutOfStep,
        Some(arn),
        Some(&model.id),
        detail,
        repair,
    );
}

/// Decides a rejection made in SageMaker for a model governance gave no status: a `both` rejection
/// row syncs it (F3); otherwise it is drift a person settles.
fn rejection_without_status(
    package: &ModelPackage,
    model: &ModelEntry,
    mapping: &MappingSpec,
    drifts: &mut GroupDrifts<'_>,
) {
    let repair = match registry_rejection(
        package.approval_status,
        package.lifecycle.as_ref(),
        None,
        mapping,
    ) {
        Rejection::None => return,
        Rejection::Governs(_) => sync_package(&package.arn),
        Rejection::ToRegistryOnly | Rejection::Unmapped => report_only(
            "no both row lets SageMaker reject: reject the model in governance, or undo the rejection in SageMaker",
        ),
    };
    drifts.push(
        DriftKind::StatusOutOfStep,
        Some(&package.arn),
        Some(&model.id),
        format!(
            "rejected in SageMaker ({}) while the model has no status",
            state_label(package)
        ),
        repair,
    );
}

/// Whether the package's lifecycle differs from the expected stage and stage status.
fn lifecycle_differs(stage: Option<&str>, stage_status: &str, package: &ModelPackage) -> bool {
    match (stage, &package.lifecycle) {
        (Some(stage), Some(current)) => {
            current.stage.as_str() != stage || current.stage_status.as_str() != stage_status
        }
        (Some(_), None) => true,
        // The row keeps the stage and the package has none: only the approval can be set.
        (None, _) => false,
    }
}

/// Decides whether the package's write-back names the objects that exist: its model, its use case and
/// one of its group's model groups.
fn write_back_drift(
    package: &ModelPackage,
    model: &ModelEntry,
    use_case: &GovernanceId,
    model_groups: &[GovernanceId],
    drifts: &mut GroupDrifts<'_>,
) {
    let written = WrittenLinks::read(&package.customer_metadata);
    let mut wrong = Vec::new();
    match written.model.as_deref() {
        Some(id) if id == model.id.as_str() => {}
        Some(id) => wrong.push(format!("model = {id} (model is {})", model.id)),
        None => wrong.push("model link missing".to_owned()),
    }
    match written.use_case.as_deref() {
        Some(id) if id == use_case.as_str() => {}
        Some(id) => wrong.push(format!("use case = {id} (use case is {use_case})")),
        None => wrong.push("use case link missing".to_owned()),
    }
    match written.model_group.as_deref() {
        Some(id) if model_groups.iter().any(|g| g.as_str() == id) => {}
        Some(id) => wrong.push(format!(
            "model group = {id}, which is not the group's model group"
        )),
        None => wrong.push("model group link missing".to_owned()),
    }
    if !wrong.is_empty() {
        let arn = &package.arn;
        drifts.push(
            DriftKind::DanglingLink,
            Some(arn),
            Some(&model.id),
            format!("write-back: {}", wrong.join("; ")),
            sync_package(arn),
        );
    }
}

/// Decides the models pointing into this group at packages it no longer lists: every one not yet
/// decommissioned is to be decommissioned.
fn gone_packages(
    registry: &Registry,
    group: &GroupSnapshot,
    inventory: &GovernanceInventory,
    drifts: &mut GroupDrifts<'_>,
) {
    let listed: BTreeSet<&ModelPackageArn> = group.packages.iter().map(|p| &p.arn).collect();
    for model_arn in inventory.model_arns_in_group(registry, &group.name) {
        if listed.contains(model_arn) {
            continue;
        }
        for model in inventory
            .models_for(model_arn.as_str())
            .iter()
            .filter(|m| !m.is_decommissioned())
        {
            drifts.push(
                DriftKind::ModelPackageGone,
                Some(model_arn),
                Some(&model.id),
                format!("the package of model {} no longer exists", model.id),
                Repair::DecommissionModel {
                    model_id: model.id.clone(),
                    package_arn: model_arn.clone(),
                    archived: false,
                },
            );
        }
    }
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
                .models_for(arn.as_str())
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
