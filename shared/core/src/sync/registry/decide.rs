//! Step 2: from the re-described package and the governance side, the [`Plan`] that brings governance
//! and the package's write-back in line, as a sequence of named sub-decisions.

use chrono::{DateTime, Utc};

use super::super::decommission::{DecommissionPolicy, archived_governance_status};
use super::super::{ConsoleLinks, GateMode, fields};
use super::direction::{
    Rejection, lifecycle_claims_deployment, registry_rejection, reverted_lifecycle, status_approves,
};
use super::{LinksWriteBack, PackageWrite, WriteBackError, WriteBackRoom};
use crate::artifact::ArtifactCheck;
use crate::aws_identity::Region;
use crate::field_mapping::{Fact, FieldMapping};
use crate::governance::{GovernanceId, GovernanceStatus, Revision};
use crate::mapping::{MappingSpec, ReverseMapping};
use crate::model_card::{self, CardDecision, CardFacts};
use crate::model_link::ModelLinks;
use crate::model_package::{
    ApprovalStatus, Description, Lifecycle, ModelPackageArn, ModelPackageGroupArn,
    ModelPackageGroupName, ModelVersion,
};
use crate::ports::{
    Field, FieldValue, GovernanceKind, GovernanceObject, NewGovernanceObject, OurWrite, WriteSide,
};
use crate::registry_map::Registry;

/// The use case a package's group is assigned to (group tag `govsync:use-case-id`), as governance
/// holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UseCaseView {
    pub id: GovernanceId,
    pub name: String,
    pub risk_level: Option<String>,
    /// `MRG-ModelUseCase:Owner`, for the Model Card's stakeholders.
    pub owner: Option<String>,
}

impl UseCaseView {
    pub fn from_object(object: &GovernanceObject) -> Self {
        Self {
            id: object.id.clone(),
            name: object.name.clone(),
            risk_level: object
                .field(fields::USE_CASE_RISK_LEVEL)
                .and_then(FieldValue::as_text)
                .filter(|text| !text.trim().is_empty()),
            owner: object
                .field(fields::USE_CASE_OWNER)
                .and_then(FieldValue::as_text)
                .filter(|text| !text.trim().is_empty()),
        }
    }
}

/// Which use case the package belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assignment {
    UseCase(UseCaseView),
    /// The group has no (valid) use-case tag: recorded and reported, never dropped.
    Unassigned {
        reason: String,
    },
}

/// A governance object found for a registry ARN, and whether the links table already records it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Found<'a> {
    pub object: &'a GovernanceObject,
    pub linked: bool,
}

/// Everything [`decide`] looks at.
#[derive(Debug, Clone)]
pub struct PackageSync<'a> {
    /// The package as re-described now.
    pub package: &'a ModelVersion,
    pub registry: &'a Registry,
    pub assignment: &'a Assignment,
    pub model_group: Option<Found<'a>>,
    pub model: Option<Found<'a>>,
    pub mapping: &'a MappingSpec,
    pub gate: GateMode,
    pub console: &'a ConsoleLinks,
    /// Signs the Model's govsync link (model-link function); `None`: the plain console link.
    pub model_links: Option<&'a ModelLinks>,
    /// The approved package's artifact read now against what governance approved; `None`: not
    /// checked (not approved, no approval recorded by govsync, or no reader for the registry).
    pub artifact: Option<&'a ArtifactCheck>,
    pub now: DateTime<Utc>,
}

/// A governance object of the plan: one that exists, or the one an earlier action of the plan creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectRef {
    Existing(GovernanceId),
    Created,
}

impl ObjectRef {
    /// The id, taking a created object's from `created`.
    pub fn resolve<'a>(&'a self, created: Option<&'a GovernanceId>) -> Option<&'a GovernanceId> {
        match self {
            ObjectRef::Existing(id) => Some(id),
            ObjectRef::Created => created,
        }
    }
}

/// One step for the adapters, in plan order.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Create the model group under the use case (`parent_id` set).
    CreateModelGroup(NewGovernanceObject),
    /// Record group ARN ⇄ model group id in the links table.
    LinkModelGroup {
        group_arn: ModelPackageGroupArn,
        id: ObjectRef,
    },
    /// Create the model under `parent` (the model group).
    CreateModel {
        parent: ObjectRef,
        object: NewGovernanceObject,
    },
    /// Change only these fields of the model (and its description when `Some`); record `ledger`
    /// first.
    UpdateModel {
        id: GovernanceId,
        fields: Vec<Field>,
        description: Option<String>,
        ledger: Vec<OurWrite>,
    },
    /// Record package ARN ⇄ model id in the links table.
    LinkModel {
        package_arn: ModelPackageArn,
        id: ObjectRef,
    },
    /// One `UpdateModelPackage`: the write-back and/or the gate's revert (see [`PackageWrite::resolve`]).
    UpdatePackage(Box<PackageWrite>),
}

/// What to report (log and metric); none of these fails the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    Unassigned {
        reason: String,
    },
    /// `Approved` in SageMaker while governance does not approve.
    ShadowApproval {
        governance_status: Option<String>,
        gate: GateMode,
    },
    /// A registry state that only `to_registry` rows describe, set outside govsync.
    Drift {
        stage: String,
        stage_status: String,
        approval: String,
    },
    /// A registry state no mapping row describes.
    UnmappedRegistryState {
        stage: String,
        stage_status: String,
        approval: String,
    },
    /// A governance model status the mapping does not know (reported, never guessed).
    UnknownGovernanceStatus {
        status: String,
    },
    /// A lifecycle that claims deployment (a row that approves describes it) while governance does
    /// not approve: handled by the gate like a shadow approval.
    ShadowDeployment {
        stage: String,
        stage_status: String,
        governance_status: Option<String>,
        gate: GateMode,
    },
    /// Rejected in SageMaker while governance does not reject, and no `both` row lets SageMaker
    /// drive that: drift, reported.
    RejectedInRegistry {
        governance_status: Option<String>,
    },
    /// Not even the packed links fit beside the package's own entries (SageMaker allows 50): the
    /// package carries no link to governance.
    WriteBackNoRoom {
        other_entries: usize,
    },
    /// Only the first entries of the write-back fit; these were left out.
    WriteBackTrimmed {
        left_out: Vec<&'static str>,
    },
    /// The package's Model Card cannot take governance's facts (archived, or not a JSON object).
    ModelCardSkipped {
        reason: &'static str,
    },
    /// The approved artifact's bytes are no longer those governance approved: handled by the gate
    /// like a shadow approval.
    ArtifactChangedSinceApproval {
        changed: Vec<String>,
        gate: GateMode,
    },
    /// Part of the approved artifact cannot be read now (or could not be when approved): reported,
    /// never taken as a match.
    ArtifactUnverifiable {
        reasons: Vec<String>,
    },
}

impl Finding {
    pub fn code(&self) -> &'static str {
        match self {
            Finding::Unassigned { .. } => "unassigned",
            Finding::ShadowApproval { .. } => "shadow_approval",
            Finding::Drift { .. } => "drift",
            Finding::UnmappedRegistryState { .. } => "unmapped_registry_state",
            Finding::UnknownGovernanceStatus { .. } => "unknown_governance_status",
            Finding::ShadowDeployment { .. } => "shadow_deployment",
            Finding::RejectedInRegistry { .. } => "rejected_in_registry",
            Finding::WriteBackNoRoom { .. } => "write_back_no_room",
            Finding::WriteBackTrimmed { .. } => "write_back_trimmed",
            Finding::ModelCardSkipped { .. } => "model_card_skipped",
            Finding::ArtifactChangedSinceApproval { .. } => "artifact_changed_since_approval",
            Finding::ArtifactUnverifiable { .. } => "artifact_unverifiable",
        }
    }
}

/// [`decide`]'s answer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    pub actions: Vec<Action>,
    pub findings: Vec<Finding>,
}

/// The SageMaker console page of a group or version (for `Integration:Third Party Link`).
pub fn console_url(region: &Region, group: &ModelPackageGroupName, version: Option<u32>) -> String {
    let base = format!(
        "https://{region}.console.aws.amazon.com/sagemaker/home?region={region}#/model-registry/{group}"
    );
    match version {
        Some(version) => format!("{base}/versions/{version}"),
        None => base,
    }
}

/// The model group object for a package group.
fn new_model_group(
    package: &ModelVersion,
    group_arn: &ModelPackageGroupArn,
    use_case: &UseCaseView,
) -> NewGovernanceObject {
    NewGovernanceObject {
        kind: GovernanceKind::ModelGroup,
        name: package.group_name.to_string(),
        description: Some(format!(
            "SageMaker model package group {}",
            group_arn.as_str()
        )),
        parent_id: Some(use_case.id.clone()),
        fields: vec![
            Field::text(fields::EXTERNAL_ID, group_arn.as_str()),
            Field::text(
                fields::THIRD_PARTY_LINK,
                console_url(group_arn.region(), &package.group_name, None),
            ),
        ],
    }
}

/// The model's technical metadata fields, as governance should hold them (`Integration:Last Update`
/// is not compared: it changes with every registry write, govsync's own included). Facts beyond the
/// contract's fields go where the tenant's field mapping sends them, or nowhere.
pub(super) fn technical_fields(
    package: &ModelVersion,
    mapping: &FieldMapping,
    model_links: Option<&ModelLinks>,
) -> Vec<Field> {
    let technical = &package.technical;
    let link = match model_links {
        Some(links) => links.link_for(&package.arn),
        None => console_url(
            package.arn.region(),
            &package.group_name,
            Some(package.version()),
        ),
    };
    let mut out = vec![
        Field::text(fields::EXTERNAL_ID, package.arn.as_str()),
        Field::text(fields::MODEL_VERSION, package.version().to_string()),
        Field::text(fields::MODEL_PROVIDER, fields::SAGEMAKER_PROVIDER),
        Field::text(fields::THIRD_PARTY_LINK, link),
    ];
    let joined = [
        (Fact::InferenceImages, &technical.inference_images),
        (Fact::ModelDataUrls, &technical.model_data_urls),
        (Fact::MetricsReports, &technical.metrics_uris),
    ];
    for (fact, values) in joined {
        if let Some(name) = mapping.field(fact)
            && !values.is_empty()
        {
            out.push(Field::text(name, values.join("\n")));
        }
    }
    if let (Some(name), Some(creator)) = (mapping.field(Fact::Creator), &technical.created_by) {
        out.push(Field::text(name, creator.clone()));
    }
    for (name, text) in mapping.facts_text(&technical.facts, &package.customer_metadata) {
        out.push(Field::text(name, text));
    }
    out
}

fn field_differs(object: &GovernanceObject, field: &Field) -> bool {
    object.field(&field.name).and_then(FieldValue::as_text) != field.value.as_text()
}

/// The description to give the model when the package's `ModelPackageDescription` differs from it
/// (F3). A package without a description (absent or blank) leaves governance's as it is: an
/// absent description says nothing to sync, and a description written in governance is not blanked.
fn description_change(object: &GovernanceObject, package: &ModelVersion) -> Option<String> {
    let wanted = package
        .technical
        .description
        .as_deref()
        .filter(|text| !text.trim().is_empty())?;
    (object.description.as_deref() != Some(wanted)).then(|| wanted.to_owned())
}

/// The governance status of a model, if it has one.
fn model_status(model: Option<Found<'_>>) -> Option<String> {
    model
        .and_then(|found| found.object.field(fields::MODEL_STATUS))
        .and_then(FieldValue::as_text)
        .filter(|text| !text.trim().is_empty())
}

/// Step 2: the actions that bring governance and the package's write-back in line with the package.
pub fn decide(input: &PackageSync<'_>) -> Plan {
    let mut plan = Plan::default();
    let current_status = model_status(input.model);
    let gate = approval_gate(input, current_status.as_deref(), &mut plan.findings);
    let use_case = match input.assignment {
        Assignment::UseCase(use_case) => use_case,
        Assignment::Unassigned { reason } => {
            plan.findings.push(Finding::Unassigned {
                reason: reason.clone(),
            });
            plan.actions.extend(revert_only_write(input, gate));
            return plan;
        }
    };
    let mut desired_status =
        desired_model_status(input, current_status.as_deref(), &gate, &mut plan.findings);
    let mut initial_lifecycle = None;
    if input.model.is_none()
        && desired_status.is_none()
        && let Some((status, lifecycle)) = initial_status(input, &gate)
    {
        desired_status = Some(status);
        initial_lifecycle = Some(lifecycle);
    }
    let model_group = model_group(input, use_case, &mut plan.actions);
    let governance_status = desired_status.clone().or_else(|| current_status.clone());
    let model = match input.model {
        None => create_model(input, &model_group, desired_status, &mut plan.actions),
        Some(found) => update_model(
            input,
            found,
            desired_status,
            current_status.as_deref(),
            review_note_field(input, &gate),
            &mut plan.actions,
        ),
    };
    room_findings(input.package, &mut plan.findings);
    let card = card_facts(input, use_case, governance_status.as_deref());
    if let CardDecision::Skip(skip) =
        model_card::merge(input.package.technical.facts.model_card.as_ref(), &card)
    {
        plan.findings.push(Finding::ModelCardSkipped {
            reason: skip.reason(),
        });
    }
    plan.actions.extend(write_back(
        input,
        use_case,
        model_group,
        model,
        gate,
        initial_lifecycle,
        card,
    ));
    plan
}

/// What governance knows for the package's Model Card; the plan's ids and links are added when the
/// write is resolved.
fn card_facts(
    input: &PackageSync<'_>,
    use_case: &UseCaseView,
    governance_status: Option<&str>,
) -> CardFacts {
    CardFacts {
        use_case_id: use_case.id.to_string(),
        use_case_name: use_case.name.clone(),
        risk_level: use_case.risk_level.clone(),
        business_entity: input.registry.business_entity.to_string(),
        owners: use_case.owner.clone(),
        governance_status: governance_status.map(str::to_owned),
        ..CardFacts::default()
    }
}

/// A new version registered with no lifecycle and pending approval (once the gate's revert is
/// made): the mapping's initial status for its Model, and that row's lifecycle for the package, so
/// the two sides agree from creation on.
fn initial_status(input: &PackageSync<'_>, gate: &GateVerdict) -> Option<(String, Lifecycle)> {
    let package = input.package;
    let pending = gate.revert_approval.is_some()
        || package
            .approval
            .unwrap_or(ApprovalStatus::PendingManualApproval)
            == ApprovalStatus::PendingManualApproval;
    if package.lifecycle.is_some() || gate.revert_lifecycle.is_some() || !pending {
        return None;
    }
    let row = input.mapping.initial_row()?;
    if row.target.approval != ApprovalStatus::PendingManualApproval {
        return None;
    }
    let lifecycle = Lifecycle {
        stage: row.target.resolve_stage(None)?,
        stage_status: row.target.stage_status.clone(),
        stage_description: Some(Description::truncating(&format!(
            "govsync: the governance model's initial status, {}",
            row.governance_status
        ))),
    };
    Some((row.governance_status.to_string(), lifecycle))
}

/// Reports a write-back cut short by the package's own entries.
fn room_findings(package: &ModelVersion, findings: &mut Vec<Finding>) {
    match WriteBackRoom::of(&package.customer_metadata) {
        WriteBackRoom::Full => {}
        WriteBackRoom::NoRoom { other_entries } => {
            findings.push(Finding::WriteBackNoRoom { other_entries })
        }
        room @ WriteBackRoom::Trimmed { .. } => findings.push(Finding::WriteBackTrimmed {
            left_out: room.left_out().to_vec(),
        }),
    }
}

/// What the approval gate concluded about the package's approval and lifecycle.
#[derive(Default)]
struct GateVerdict {
    /// A shadow approval or deployment claim the gate acts on (`alert` or `enforce`): no lifecycle
    /// change moves governance past it.
    holds: bool,
    /// The lifecycle itself claims deployment: it says nothing governance may follow.
    holds_lifecycle: bool,
    /// With `enforce`: the `ApprovalDescription` of the revert to `PendingManualApproval`.
    revert_approval: Option<Description>,
    /// With `enforce`: the lifecycle a deployment claim is reverted to.
    revert_lifecycle: Option<Lifecycle>,
    /// With `enforce` on a changed artifact: the governance status the Model goes back to.
    review_status: Option<String>,
    /// With `enforce` on a changed artifact: why, for the Model's artifact field.
    review_note: Option<String>,
}

/// Decides the gate: does governance approve what SageMaker says is approved, or deployed? A shadow
/// approval, and a lifecycle that claims deployment, are reported unless the gate is off, and
/// reverted when it enforces.
fn approval_gate(
    input: &PackageSync<'_>,
    current_status: Option<&str>,
    findings: &mut Vec<Finding>,
) -> GateVerdict {
    let approves = governance_approves(current_status, input.mapping, findings);
    let package = input.package;
    let shadow = package.approval == Some(ApprovalStatus::Approved) && !approves;
    if !shadow
        && package.approval == Some(ApprovalStatus::Approved)
        && let Some(check) = input.artifact
    {
        if !check.unverifiable.is_empty() {
            findings.push(Finding::ArtifactUnverifiable {
                reasons: check.unverifiable.clone(),
            });
        }
        if !check.changed.is_empty() && input.gate != GateMode::Off {
            return artifact_gate(input, check, current_status, findings);
        }
    }
    let claim = package
        .lifecycle
        .as_ref()
        .filter(|lifecycle| !approves && lifecycle_claims_deployment(lifecycle, input.mapping));
    if (!shadow && claim.is_none()) || input.gate == GateMode::Off {
        return GateVerdict::default();
    }
    let enforce = input.gate == GateMode::Enforce;
    let mut verdict = GateVerdict {
        holds: true,
        ..GateVerdict::default()
    };
    if shadow {
        findings.push(Finding::ShadowApproval {
            governance_status: current_status.map(str::to_owned),
            gate: input.gate,
        });
        verdict.revert_approval = enforce.then(|| {
            Description::truncating(&format!(
                "govsync: approved in SageMaker without a governance approval (model status: {}); reverted to PendingManualApproval until governance approves",
                current_status.unwrap_or("none")
            ))
        });
    }
    if let Some(lifecycle) = claim {
        findings.push(Finding::ShadowDeployment {
            stage: lifecycle.stage.to_string(),
            stage_status: lifecycle.stage_status.to_string(),
            governance_status: current_status.map(str::to_owned),
            gate: input.gate,
        });
        verdict.holds_lifecycle = true;
        verdict.revert_lifecycle = enforce
            .then(|| reverted_lifecycle(lifecycle, current_status, input.mapping))
            .flatten();
    }
    verdict
}

/// The governance status a Model returns to when the artifact it approved has changed: the version
/// needs a new review before it may be approved again.
pub const ARTIFACT_REVIEW_STATUS: &str = "Candidate for Validation";

/// Decides the gate for an approved artifact that changed: reported, and with `enforce` the
/// approval revoked in SageMaker with the reason, and the Model sent back for review per the
/// mapping's [`ARTIFACT_REVIEW_STATUS`] row (a mapping without it revokes only the approval).
fn artifact_gate(
    input: &PackageSync<'_>,
    check: &ArtifactCheck,
    current_status: Option<&str>,
    findings: &mut Vec<Finding>,
) -> GateVerdict {
    findings.push(Finding::ArtifactChangedSinceApproval {
        changed: check.changed.clone(),
        gate: input.gate,
    });
    let mut verdict = GateVerdict {
        holds: true,
        holds_lifecycle: true,
        ..GateVerdict::default()
    };
    if input.gate != GateMode::Enforce {
        return verdict;
    }
    verdict.revert_approval = Some(Description::truncating(&format!(
        "govsync: the artifact changed since governance approved it (model status: {}): {}; approval revoked until governance approves again",
        current_status.unwrap_or("none"),
        check.changed.join("; ")
    )));
    let review = GovernanceStatus::parse(ARTIFACT_REVIEW_STATUS)
        .ok()
        .and_then(|status| input.mapping.registry_target(&status).ok())
        .map(|row| &row.target)
        .filter(|target| target.approval != ApprovalStatus::Approved);
    if let Some(target) = review {
        let current_stage = input.package.lifecycle.as_ref().map(|l| &l.stage);
        if let Some(stage) = target.resolve_stage(current_stage) {
            verdict.revert_lifecycle = Some(Lifecycle {
                stage,
                stage_status: target.stage_status.clone(),
                stage_description: Some(Description::truncating(
                    "govsync: the approved artifact changed; back to review",
                )),
            });
            verdict.review_status = Some(ARTIFACT_REVIEW_STATUS.to_owned());
        }
    }
    verdict.review_note = Some(format!(
        "govsync revoked the approval in SageMaker at {}: the artifact changed since governance approved it:\n{}",
        input.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        check.changed.join("\n")
    ));
    verdict
}

/// The reason a changed artifact's approval was revoked, for the Model's artifact field (a tenant
/// may turn that field off).
fn review_note_field(input: &PackageSync<'_>, gate: &GateVerdict) -> Option<Field> {
    let note = gate.review_note.as_ref()?;
    let name = input.mapping.fields().field(Fact::ArtifactFingerprint)?;
    Some(Field::text(name, note.clone()))
}

/// Decides whether the model's governance status maps to an approval. A status the mapping does not
/// know is reported and approves nothing.
fn governance_approves(
    current_status: Option<&str>,
    mapping: &MappingSpec,
    findings: &mut Vec<Finding>,
) -> bool {
    let Some(status) = current_status else {
        return false;
    };
    match GovernanceStatus::parse(status)
        .ok()
        .and_then(|status| mapping.registry_target(&status).ok())
    {
        Some(_) => status_approves(Some(status), mapping),
        None => {
            findings.push(Finding::UnknownGovernanceStatus {
                status: status.to_owned(),
            });
            false
        }
    }
}

/// Decides the write-back of an unassigned package: nothing to link, so only the gate's revert.
fn revert_only_write(input: &PackageSync<'_>, gate: GateVerdict) -> Option<Action> {
    if gate.revert_approval.is_none() && gate.revert_lifecycle.is_none() {
        return None;
    }
    Some(Action::UpdatePackage(Box::new(PackageWrite {
        package: input.package.clone(),
        links: None,
        card: None,
        revert_approval: gate.revert_approval,
        lifecycle_to_set: gate.revert_lifecycle,
        revision: revision_of(input.package, input.now),
    })))
}

/// Whether governance changed the model after the package last changed. Then the approver's decision
/// stands (F4 carries it to the package) and the registry's older state never drives over it, even on
/// a `both` row: an echo that was not recognised must not undo a later governance decision.
fn governance_changed_last(input: &PackageSync<'_>) -> bool {
    let Some(found) = &input.model else {
        return false;
    };
    match (
        crate::sync::governance::object_modified_at(found.object),
        input.package.last_modified_time,
    ) {
        (Some(governance), Some(registry)) => governance > registry,
        _ => false,
    }
}

/// Decides the model status the package's state asks for. An archived package decommissions its model
/// (F5: not drift, see `decommission`), which overrides whatever its lifecycle row would say.
fn desired_model_status(
    input: &PackageSync<'_>,
    current_status: Option<&str>,
    gate: &GateVerdict,
    findings: &mut Vec<Finding>,
) -> Option<String> {
    let policy = DecommissionPolicy::from_mapping(input.mapping, None);
    if let Some(status) = archived_governance_status(&policy, input.package.lifecycle.as_ref()) {
        return Some(status.to_string());
    }
    if let Some(status) = &gate.review_status {
        return (current_status != Some(status.as_str())).then(|| status.clone());
    }
    lifecycle_status(input, current_status, gate, findings)
}

/// Decides F3: a lifecycle change on a `both` row moves the governance status, never past the gate.
/// A state that only `to_registry` rows describe is drift, unless governance already holds one of
/// their statuses; a state no row describes is reported. A rejection set without its row's stage
/// status is judged by the rows that reject (see [`registry_rejection`]).
fn lifecycle_status(
    input: &PackageSync<'_>,
    current_status: Option<&str>,
    gate: &GateVerdict,
    findings: &mut Vec<Finding>,
) -> Option<String> {
    if gate.holds_lifecycle {
        return None;
    }
    let package = input.package;
    // A shadow approval the gate reverts is judged as the package will be once reverted: the data
    // scientist's lifecycle still counts, and is not left for govsync's own revert to hide.
    let reverted = gate.revert_approval.is_some();
    let approval = if reverted {
        ApprovalStatus::PendingManualApproval
    } else {
        package
            .approval
            .unwrap_or(ApprovalStatus::PendingManualApproval)
    };
    let exact = package.lifecycle.as_ref().map(|lifecycle| {
        input
            .mapping
            .from_registry(&lifecycle.stage, &lifecycle.stage_status, approval)
    });
    let unmapped = |findings: &mut Vec<Finding>| {
        if let Some(lifecycle) = &package.lifecycle {
            findings.push(Finding::UnmappedRegistryState {
                stage: lifecycle.stage.to_string(),
                stage_status: lifecycle.stage_status.to_string(),
                approval: approval.to_string(),
            });
        }
    };
    match exact {
        Some(ReverseMapping::Governs(row)) => {
            let held = gate.holds && !reverted;
            return (!held && !governance_changed_last(input))
                .then(|| row.governance_status.to_string());
        }
        Some(ReverseMapping::ToRegistryOnly(rows)) => {
            let already = rows
                .iter()
                .any(|row| current_status == Some(row.governance_status.as_str()));
            if !already && let Some(lifecycle) = &package.lifecycle {
                findings.push(Finding::Drift {
                    stage: lifecycle.stage.to_string(),
                    stage_status: lifecycle.stage_status.to_string(),
                    approval: approval.to_string(),
                });
            }
            return None;
        }
        Some(ReverseMapping::Unmapped) | None => {}
    }
    match registry_rejection(
        package.approval,
        package.lifecycle.as_ref(),
        current_status,
        input.mapping,
    ) {
        Rejection::Governs(row) => {
            return (!governance_changed_last(input)).then(|| row.governance_status.to_string());
        }
        Rejection::ToRegistryOnly | Rejection::Unmapped => {
            findings.push(Finding::RejectedInRegistry {
                governance_status: current_status.map(str::to_owned),
            });
            return None;
        }
        Rejection::None => {}
    }
    if exact.is_some() {
        unmapped(findings);
    }
    None
}

/// Decides the package group's model group: the one governance holds (linked when the links table
/// lacks it), or a new one under the use case.
fn model_group(
    input: &PackageSync<'_>,
    use_case: &UseCaseView,
    actions: &mut Vec<Action>,
) -> ObjectRef {
    let group_arn = input.package.arn.group_arn();
    match input.model_group {
        Some(found) => {
            if !found.linked {
                actions.push(Action::LinkModelGroup {
                    group_arn: group_arn.clone(),
                    id: ObjectRef::Existing(found.object.id.clone()),
                });
            }
            ObjectRef::Existing(found.object.id.clone())
        }
        None => {
            actions.push(Action::CreateModelGroup(new_model_group(
                input.package,
                &group_arn,
                use_case,
            )));
            actions.push(Action::LinkModelGroup {
                group_arn: group_arn.clone(),
                id: ObjectRef::Created,
            });
            ObjectRef::Created
        }
    }
}

/// Decides a new version's model (F2): created under the model group with its technical fields, the
/// desired status and the last update, and linked.
fn create_model(
    input: &PackageSync<'_>,
    model_group: &ObjectRef,
    desired_status: Option<String>,
    actions: &mut Vec<Action>,
) -> ObjectRef {
    let package = input.package;
    let mut wanted = technical_fields(package, input.mapping.fields(), input.model_links);
    if let Some(status) = desired_status {
        wanted.push(Field::choice(fields::MODEL_STATUS, status));
    }
    if let Some(time) = package.last_modified_time {
        wanted.push(Field::date(fields::LAST_UPDATE, time));
    }
    actions.push(Action::CreateModel {
        parent: model_group.clone(),
        object: NewGovernanceObject {
            kind: GovernanceKind::Model,
            name: format!("{} version {}", package.group_name, package.version()),
            description: package.technical.description.clone(),
            parent_id: None,
            fields: wanted,
        },
    });
    actions.push(Action::LinkModel {
        package_arn: package.arn.clone(),
        id: ObjectRef::Created,
    });
    ObjectRef::Created
}

/// Decides a known model's update (F3): only the fields and description that differ, a status change
/// recorded in the ledger first; linked when the links table lacks it.
fn update_model(
    input: &PackageSync<'_>,
    found: Found<'_>,
    desired_status: Option<String>,
    current_status: Option<&str>,
    note: Option<Field>,
    actions: &mut Vec<Action>,
) -> ObjectRef {
    let package = input.package;
    let id = found.object.id.clone();
    let mut changed: Vec<Field> =
        technical_fields(package, input.mapping.fields(), input.model_links)
            .into_iter()
            .chain(note)
            .filter(|field| field_differs(found.object, field))
            .collect();
    let mut ledger = Vec::new();
    if let Some(status) = desired_status.filter(|s| current_status != Some(s.as_str())) {
        ledger.push(OurWrite::new(
            WriteSide::Governance,
            id.as_str(),
            fields::MODEL_STATUS,
            &status,
        ));
        changed.push(Field::choice(fields::MODEL_STATUS, status));
    }
    let description = description_change(found.object, package);
    if !changed.is_empty() || description.is_some() {
        changed.push(Field::date(
            fields::LAST_UPDATE,
            package.last_modified_time.unwrap_or(input.now),
        ));
        actions.push(Action::UpdateModel {
            id: id.clone(),
            fields: changed,
            description,
            ledger,
        });
    }
    if !found.linked {
        actions.push(Action::LinkModel {
            package_arn: package.arn.clone(),
            id: ObjectRef::Existing(id.clone()),
        });
    }
    ObjectRef::Existing(id)
}

/// Decides the package's write-back of links (with the gate's revert, if any). With both objects
/// known, a write-back that changes nothing is left out; one naming an object the plan creates stays.
fn write_back(
    input: &PackageSync<'_>,
    use_case: &UseCaseView,
    model_group: ObjectRef,
    model: ObjectRef,
    gate: GateVerdict,
    initial_lifecycle: Option<Lifecycle>,
    card: CardFacts,
) -> Option<Action> {
    let write = PackageWrite {
        card: Some(card),
        package: input.package.clone(),
        links: Some(LinksWriteBack {
            use_case: use_case.clone(),
            model_group,
            model,
        }),
        revert_approval: gate.revert_approval,
        lifecycle_to_set: gate.revert_lifecycle.or(initial_lifecycle),
        revision: revision_of(input.package, input.now),
    };
    let needed = match write.resolve(None, None, input.console) {
        Ok(resolved) => resolved.is_some(),
        Err(WriteBackError::UnresolvedObject(_)) => true,
        Err(WriteBackError::Metadata(_)) => true,
    };
    needed.then(|| Action::UpdatePackage(Box::new(write)))
}

/// The registry revision a write is decided from: the package's `LastModifiedTime`.
fn revision_of(package: &ModelVersion, now: DateTime<Utc>) -> Revision {
    Revision::from_time(package.last_modified_time.unwrap_or(now))
}
