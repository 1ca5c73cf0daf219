//! Registry changes into governance: F2 (a version is registered) and F3 (its metadata, lifecycle or
//! approval changes), in two pure steps.
//!
//! 1. [`triage`] an event: refuse unknown registries, drop govsync's own calls (CloudTrail identity),
//!    ignore what this flow does not handle, and otherwise name the package to sync and the event's
//!    revision (for the stale check against the links table).
//! 2. Having re-described the package and looked up the governance side, [`decide`] returns the
//!    [`Action`]s that bring governance (and the package's write-back) in line, and the
//!    [`Finding`]s to report (unassigned group, shadow approval, drift).
//!
//! Decisions compare desired with current state, so a change already applied decides to nothing:
//! that, with the our-write ledger, is why bidirectional sync cannot ping-pong.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::{ConsoleLinks, GateMode, WriterIdentities, fields};
use crate::aws_identity::{AccountId, Region};
use crate::customer_metadata::{self, CustomerMetadata, MetadataError, keys};
use crate::error::ValidationError;
use crate::governance::{GovernanceId, GovernanceStatus, Revision};
use crate::mapping::{MappingSpec, ReverseMapping};
use crate::model_package::{
    ApprovalStatus, Description, Lifecycle, ModelPackageArn, ModelPackageGroupArn,
    ModelPackageGroupName, ModelPackageStatus, ModelVersion, SageMakerName, TechnicalMetadata,
};
use crate::ports::registry::{ModelPackage, PackageUpdate};
use crate::ports::{
    Field, FieldValue, GovernanceKind, GovernanceObject, NewGovernanceObject, OurWrite, WriteSide,
};
use crate::registry_event::RegistryEvent;
use crate::registry_map::{Registry, RegistryMap};

/// The our-write ledger field for a package's whole relevant state (approval, lifecycle, metadata).
pub const PACKAGE_STATE_FIELD: &str = "package-state";

/// What to do with one decoded event.
#[derive(Debug, Clone, PartialEq)]
pub enum Triage<'a> {
    /// From an account and region not in the registry map: quarantined, never acted on.
    UnknownRegistry { account: AccountId, region: Region },
    /// A call govsync made itself (CloudTrail `userIdentity`): dropped.
    Echo { caller: String },
    /// Not this flow's business, or a call that changed nothing: acknowledged.
    Ignore(IgnoreReason),
    /// Sync this package from its current (re-described) state.
    Package {
        registry: &'a Registry,
        arn: &'a ModelPackageArn,
        /// The event's source revision (`LastModifiedTime`, else the call's time), for the stale check.
        revision: Option<Revision>,
        /// SageMaker's snapshot when the event carries one (state changes), for the ledger check.
        snapshot: Option<&'a ModelVersion>,
    },
}

/// Why an event is acknowledged without work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IgnoreReason {
    /// CloudTrail recorded a call that failed.
    FailedCall { error_code: String },
    /// Group creation is F1's (govsync creates use-case groups itself).
    GroupCreated,
    /// Deletions go to the decommission function (F5).
    Deletion,
    /// Group resource policies do not change what governance holds.
    GroupPolicy,
}

impl IgnoreReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            IgnoreReason::FailedCall { .. } => "failed_call",
            IgnoreReason::GroupCreated => "group_created",
            IgnoreReason::Deletion => "deletion",
            IgnoreReason::GroupPolicy => "group_policy",
        }
    }
}

/// Step 1: where the event comes from, whether govsync made it, and which package it concerns.
pub fn triage<'a>(
    event: &'a RegistryEvent,
    registries: &'a RegistryMap,
    writers: &WriterIdentities,
) -> Triage<'a> {
    let origin = event.origin();
    let Some(registry) = registries.get(&origin.account, &origin.region) else {
        return Triage::UnknownRegistry {
            account: origin.account.clone(),
            region: origin.region.clone(),
        };
    };
    if let Some(caller) = event
        .api_call()
        .and_then(|call| call.caller_arn.as_deref())
        .filter(|caller| writers.is_writer(caller))
    {
        return Triage::Echo {
            caller: caller.to_owned(),
        };
    }
    let call_revision = || {
        event
            .api_call()
            .and_then(|call| call.event_time)
            .or(origin.time)
            .map(Revision::from_time)
    };
    match event {
        RegistryEvent::IgnoredFailedCall(failed) => Triage::Ignore(IgnoreReason::FailedCall {
            error_code: failed.error_code.clone(),
        }),
        RegistryEvent::GroupCreated(_) => Triage::Ignore(IgnoreReason::GroupCreated),
        RegistryEvent::GroupDeleted(_) | RegistryEvent::PackageDeleted(_) => {
            Triage::Ignore(IgnoreReason::Deletion)
        }
        RegistryEvent::GroupPolicyPut(_) | RegistryEvent::GroupPolicyDeleted(_) => {
            Triage::Ignore(IgnoreReason::GroupPolicy)
        }
        RegistryEvent::PackageStateChange(change) => Triage::Package {
            registry,
            arn: &change.package.arn,
            revision: change
                .package
                .last_modified_time
                .map(Revision::from_time)
                .or_else(call_revision),
            snapshot: Some(&change.package),
        },
        RegistryEvent::PackageCreated(created) => Triage::Package {
            registry,
            arn: &created.package_arn,
            revision: call_revision(),
            snapshot: None,
        },
        RegistryEvent::PackageUpdated(updated) => Triage::Package {
            registry,
            arn: &updated.package_arn,
            revision: call_revision(),
            snapshot: None,
        },
    }
}

/// Whether an event's revision is no newer than the one already applied (CloudTrail times are whole
/// seconds, so a call's record may sort at or before the state change it caused: both describe a
/// state already synced).
pub fn is_stale(event_revision: Option<Revision>, applied: Option<u64>) -> bool {
    match (event_revision, applied) {
        (Some(revision), Some(applied)) => revision.value() <= applied,
        _ => false,
    }
}

/// `DescribeModelPackage`'s answer as the domain's [`ModelVersion`]. A package SageMaker describes
/// always validates; a failure means a foreign shape and is permanent.
pub fn described_version(package: &ModelPackage) -> Result<ModelVersion, ValidationError> {
    let arn = ModelPackageArn::parse(&package.arn)?;
    let group_name = match &package.group_name {
        Some(name) => ModelPackageGroupName::parse_name_or_arn(name)?,
        None => arn.group_name().clone(),
    };
    let lifecycle = package
        .lifecycle
        .as_ref()
        .map(|lifecycle| -> Result<Lifecycle, ValidationError> {
            Ok(Lifecycle {
                stage: SageMakerName::parse(&lifecycle.stage)?,
                stage_status: SageMakerName::parse(&lifecycle.stage_status)?,
                stage_description: lifecycle
                    .stage_description
                    .as_deref()
                    .map(Description::truncating),
            })
        })
        .transpose()?;
    Ok(ModelVersion {
        group_name,
        package_status: package
            .status
            .as_deref()
            .map(ModelPackageStatus::parse)
            .transpose()?,
        approval: package.approval_status,
        approval_description: package.approval_description.clone(),
        lifecycle,
        customer_metadata: package.customer_metadata.clone(),
        technical: TechnicalMetadata {
            description: package.description.clone(),
            inference_images: package.inference_images.clone(),
            model_data_urls: package.model_data_urls.clone(),
            metrics_uris: package.metrics.iter().map(|m| m.s3_uri.clone()).collect(),
            generated_by: None,
            created_by: package.created_by.clone(),
        },
        creation_time: package.creation_time,
        last_modified_time: package.last_modified_time,
        arn,
    })
}

/// A digest of a package's state as govsync writes it and reads it back from events: approval,
/// lifecycle stage and status, the whole customer metadata, and the technical metadata (description,
/// images, model data, metrics, sorted: events and `DescribeModelPackage` list them in different
/// orders).
/// An incoming snapshot with the digest of a recorded write is that write's echo; any other change
/// (by someone else, to anything govsync syncs) gives another digest.
pub fn package_state_fingerprint(
    approval: Option<ApprovalStatus>,
    lifecycle: Option<(&str, &str)>,
    metadata: &BTreeMap<String, String>,
    technical: &TechnicalMetadata,
) -> String {
    let mut hasher = Sha256::new();
    let mut part = |text: Option<&str>| match text {
        None => hasher.update([0u8]),
        Some(text) => {
            hasher.update([1u8]);
            hasher.update((text.len() as u64).to_be_bytes());
            hasher.update(text.as_bytes());
        }
    };
    part(approval.map(ApprovalStatus::as_str));
    part(lifecycle.map(|(stage, _)| stage));
    part(lifecycle.map(|(_, status)| status));
    part(Some(&customer_metadata::stable_hash(metadata)));
    part(technical.description.as_deref());
    for list in [
        &technical.inference_images,
        &technical.model_data_urls,
        &technical.metrics_uris,
    ] {
        let mut sorted: Vec<&str> = list.iter().map(String::as_str).collect();
        sorted.sort_unstable();
        sorted.dedup();
        part(Some(&sorted.len().to_string()));
        for item in sorted {
            part(Some(item));
        }
    }
    crate::hex::encode(&hasher.finalize())
}

/// The ledger entry an event's snapshot would match if govsync wrote that state.
pub fn snapshot_write(snapshot: &ModelVersion) -> OurWrite {
    let lifecycle = snapshot
        .lifecycle
        .as_ref()
        .map(|l| (l.stage.as_str(), l.stage_status.as_str()));
    OurWrite::new(
        WriteSide::Registry,
        snapshot.arn.as_str(),
        PACKAGE_STATE_FIELD,
        &package_state_fingerprint(
            snapshot.approval,
            lifecycle,
            &snapshot.customer_metadata,
            &snapshot.technical,
        ),
    )
}

/// The use case a package's group is assigned to (group tag `govsync:use-case-id`), as governance
/// holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UseCaseView {
    pub id: GovernanceId,
    pub name: String,
    pub risk_level: Option<String>,
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

/// Reads the group's tags: `govsync:use-case-id` names the use case.
pub fn use_case_tag(tags: &[(String, String)]) -> Result<GovernanceId, String> {
    match tags.iter().find(|(key, _)| key == keys::USE_CASE_ID) {
        None => Err(format!("the group has no {} tag", keys::USE_CASE_ID)),
        Some((_, value)) => GovernanceId::parse(value)
            .map_err(|error| format!("the group's {} tag is invalid: {error}", keys::USE_CASE_ID)),
    }
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
    LinkModelGroup { group_arn: String, id: ObjectRef },
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
    LinkModel { package_arn: String, id: ObjectRef },
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
}

impl Finding {
    pub fn code(&self) -> &'static str {
        match self {
            Finding::Unassigned { .. } => "unassigned",
            Finding::ShadowApproval { .. } => "shadow_approval",
            Finding::Drift { .. } => "drift",
            Finding::UnmappedRegistryState { .. } => "unmapped_registry_state",
            Finding::UnknownGovernanceStatus { .. } => "unknown_governance_status",
        }
    }
}

/// [`decide`]'s answer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    pub actions: Vec<Action>,
    pub findings: Vec<Finding>,
}

/// The write-back of links and the use case's name and risk level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinksWriteBack {
    pub use_case: UseCaseView,
    pub model_group: ObjectRef,
    pub model: ObjectRef,
}

/// One `UpdateModelPackage` govsync makes on a package, built from the package's described state so
/// the result (and the ledger entry of its echo) is known before the call.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageWrite {
    pub package: ModelVersion,
    pub links: Option<LinksWriteBack>,
    /// Set when the gate reverts a shadow approval: the `ApprovalDescription` to write.
    pub revert_approval: Option<Description>,
    /// `govsync:rev`: the registry revision this write was decided from.
    pub revision: Revision,
}

/// A resolved [`PackageWrite`]: the call to make and the ledger entry to record first.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedWrite {
    pub update: PackageUpdate,
    pub ledger: OurWrite,
}

/// Why a write-back cannot be made within SageMaker's limits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteBackError {
    #[error("write-back needs the id of the {0} created earlier in the plan")]
    UnresolvedObject(&'static str),
    #[error(transparent)]
    Metadata(#[from] MetadataError),
}

impl PackageWrite {
    /// The entries govsync maintains on the package (without `govsync:rev`).
    fn desired_entries(
        &self,
        links: &LinksWriteBack,
        model_group_id: &GovernanceId,
        model_id: &GovernanceId,
        console: &ConsoleLinks,
    ) -> Result<CustomerMetadata, MetadataError> {
        let mut metadata = CustomerMetadata::new();
        let use_case = &links.use_case;
        metadata.insert(keys::USE_CASE_ID, use_case.id.as_str())?;
        metadata.insert(keys::MODEL_GROUP_ID, model_group_id.as_str())?;
        metadata.insert(keys::MODEL_ID, model_id.as_str())?;
        for (key, id) in [
            (keys::USE_CASE_URL, &use_case.id),
            (keys::MODEL_GROUP_URL, model_group_id),
            (keys::MODEL_URL, model_id),
        ] {
            if let Some(url) = console.object_url(id) {
                metadata.insert(key, url.as_str())?;
            }
        }
        // Free text is sanitised; text with nothing storable left is left out rather than failing.
        match metadata.insert_sanitized(keys::USE_CASE_NAME, &use_case.name) {
            Ok(()) | Err(MetadataError::EmptyAfterSanitising { .. }) => {}
            Err(error) => return Err(error),
        }
        if let Some(risk) = &use_case.risk_level {
            match metadata.insert_sanitized(keys::RISK_LEVEL, risk) {
                Ok(()) | Err(MetadataError::EmptyAfterSanitising { .. }) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(metadata)
    }

    /// The update to send, or `None` when the package already holds everything (no call, no echo).
    /// `created_group` / `created_model` are the ids of objects the plan created.
    pub fn resolve(
        &self,
        created_group: Option<&GovernanceId>,
        created_model: Option<&GovernanceId>,
        console: &ConsoleLinks,
    ) -> Result<Option<ResolvedWrite>, WriteBackError> {
        let current = &self.package.customer_metadata;
        let mut to_set = BTreeMap::new();
        if let Some(links) = &self.links {
            let group_id = links
                .model_group
                .resolve(created_group)
                .ok_or(WriteBackError::UnresolvedObject("model group"))?;
            let model_id = links
                .model
                .resolve(created_model)
                .ok_or(WriteBackError::UnresolvedObject("model"))?;
            let desired = self.desired_entries(links, group_id, model_id, console)?;
            to_set.extend(
                desired
                    .into_map()
                    .into_iter()
                    .filter(|(key, value)| current.get(key) != Some(value)),
            );
        }
        if to_set.is_empty() && self.revert_approval.is_none() {
            return Ok(None);
        }
        to_set.insert(keys::REVISION.to_owned(), self.revision.to_string());
        let to_set = CustomerMetadata::try_from(to_set)?;
        let merged = to_set.merged_into(current, &[])?;
        let approval = match self.revert_approval {
            Some(_) => Some(ApprovalStatus::PendingManualApproval),
            None => self.package.approval,
        };
        let lifecycle = self
            .package
            .lifecycle
            .as_ref()
            .map(|l| (l.stage.as_str(), l.stage_status.as_str()));
        let fingerprint =
            package_state_fingerprint(approval, lifecycle, &merged, &self.package.technical);
        let arn = self.package.arn.as_str();
        let update = PackageUpdate {
            arn: arn.to_owned(),
            approval_status: self
                .revert_approval
                .as_ref()
                .map(|_| ApprovalStatus::PendingManualApproval),
            approval_description: self
                .revert_approval
                .as_ref()
                .map(|description| description.as_str().to_owned()),
            metadata_to_set: to_set.into_map(),
            metadata_to_remove: Vec::new(),
            lifecycle: None,
            client_token: Some(client_token(arn, &fingerprint)),
        };
        Ok(Some(ResolvedWrite {
            ledger: OurWrite::new(WriteSide::Registry, arn, PACKAGE_STATE_FIELD, &fingerprint),
            update,
        }))
    }
}

/// `ClientToken` (≤ 36 of `[a-zA-Z0-9-]`) from the package and the state the write produces: a retry
/// of the same write reuses it, a different write gets another.
fn client_token(arn: &str, fingerprint: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(arn.as_bytes());
    hasher.update([0u8]);
    hasher.update(fingerprint.as_bytes());
    let hex = crate::hex::encode(&hasher.finalize());
    format!("govsync-{}", &hex[..28])
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
/// is not compared: it changes with every registry write, govsync's own included).
fn technical_fields(package: &ModelVersion) -> Vec<Field> {
    let technical = &package.technical;
    let mut out = vec![
        Field::text(fields::EXTERNAL_ID, package.arn.as_str()),
        Field::text(fields::MODEL_VERSION, package.version().to_string()),
        Field::text(fields::MODEL_PROVIDER, fields::SAGEMAKER_PROVIDER),
        Field::text(
            fields::THIRD_PARTY_LINK,
            console_url(
                package.arn.region(),
                &package.group_name,
                Some(package.version()),
            ),
        ),
    ];
    let joined = [
        (fields::INFERENCE_IMAGE, &technical.inference_images),
        (fields::MODEL_DATA_URL, &technical.model_data_urls),
        (fields::METRICS_URIS, &technical.metrics_uris),
    ];
    for (name, values) in joined {
        if !values.is_empty() {
            out.push(Field::text(name, values.join("\n")));
        }
    }
    if let Some(creator) = &technical.created_by {
        out.push(Field::text(fields::MODEL_CREATOR, creator.clone()));
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
    let package = input.package;
    let current_status = model_status(input.model);

    // The gate: does governance approve what SageMaker says is approved?
    let governance_approves = match &current_status {
        None => false,
        Some(status) => match GovernanceStatus::parse(status)
            .ok()
            .and_then(|status| input.mapping.registry_target(&status).ok())
        {
            Some(row) => row.target.approval == ApprovalStatus::Approved,
            None => {
                plan.findings.push(Finding::UnknownGovernanceStatus {
                    status: status.clone(),
                });
                false
            }
        },
    };
    let shadow = package.approval == Some(ApprovalStatus::Approved) && !governance_approves;
    let mut revert_approval = None;
    if shadow && input.gate != GateMode::Off {
        plan.findings.push(Finding::ShadowApproval {
            governance_status: current_status.clone(),
            gate: input.gate,
        });
        if input.gate == GateMode::Enforce {
            revert_approval = Some(Description::truncating(&format!(
                "govsync: approved in SageMaker without a governance approval (model status: {}); reverted to PendingManualApproval until governance approves",
                current_status.as_deref().unwrap_or("none")
            )));
        }
    }
    let gate_holds = shadow && input.gate != GateMode::Off;

    let use_case = match input.assignment {
        Assignment::UseCase(use_case) => use_case,
        Assignment::Unassigned { reason } => {
            plan.findings.push(Finding::Unassigned {
                reason: reason.clone(),
            });
            if let Some(description) = revert_approval {
                plan.actions
                    .push(Action::UpdatePackage(Box::new(PackageWrite {
                        package: package.clone(),
                        links: None,
                        revert_approval: Some(description),
                        revision: revision_of(package, input.now),
                    })));
            }
            return plan;
        }
    };

    // F3: a lifecycle change on a `both` row moves the governance status; never past the gate.
    let mut desired_status = None;
    if let Some(lifecycle) = &package.lifecycle {
        let approval = package
            .approval
            .unwrap_or(ApprovalStatus::PendingManualApproval);
        let describe = || {
            (
                lifecycle.stage.to_string(),
                lifecycle.stage_status.to_string(),
                approval.to_string(),
            )
        };
        match input
            .mapping
            .from_registry(&lifecycle.stage, &lifecycle.stage_status, approval)
        {
            ReverseMapping::Governs(row) if !gate_holds => {
                desired_status = Some(row.governance_status.to_string());
            }
            ReverseMapping::Governs(_) => {}
            ReverseMapping::ToRegistryOnly(rows) => {
                let already = rows
                    .iter()
                    .any(|row| current_status.as_deref() == Some(row.governance_status.as_str()));
                if !already {
                    let (stage, stage_status, approval) = describe();
                    plan.findings.push(Finding::Drift {
                        stage,
                        stage_status,
                        approval,
                    });
                }
            }
            ReverseMapping::Unmapped => {
                let (stage, stage_status, approval) = describe();
                plan.findings.push(Finding::UnmappedRegistryState {
                    stage,
                    stage_status,
                    approval,
                });
            }
        }
    }

    // F5: a package archived in SageMaker decommissions its model (not drift: see `decommission`).
    let policy = super::decommission::DecommissionPolicy::from_mapping(input.mapping, None);
    if let Some(status) =
        super::decommission::archived_governance_status(&policy, package.lifecycle.as_ref())
    {
        plan.findings.retain(|finding| {
            !matches!(
                finding,
                Finding::Drift { .. } | Finding::UnmappedRegistryState { .. }
            )
        });
        desired_status = Some(status.to_string());
    }

    let group_arn = package.arn.group_arn();
    let model_group_ref = match input.model_group {
        Some(found) => {
            if !found.linked {
                plan.actions.push(Action::LinkModelGroup {
                    group_arn: group_arn.as_str().to_owned(),
                    id: ObjectRef::Existing(found.object.id.clone()),
                });
            }
            ObjectRef::Existing(found.object.id.clone())
        }
        None => {
            plan.actions.push(Action::CreateModelGroup(new_model_group(
                package, &group_arn, use_case,
            )));
            plan.actions.push(Action::LinkModelGroup {
                group_arn: group_arn.as_str().to_owned(),
                id: ObjectRef::Created,
            });
            ObjectRef::Created
        }
    };

    let mut wanted = technical_fields(package);
    let model_ref = match input.model {
        None => {
            if let Some(status) = &desired_status {
                wanted.push(Field::choice(fields::MODEL_STATUS, status.clone()));
            }
            if let Some(time) = package.last_modified_time {
                wanted.push(Field::date(fields::LAST_UPDATE, time));
            }
            plan.actions.push(Action::CreateModel {
                parent: model_group_ref.clone(),
                object: NewGovernanceObject {
                    kind: GovernanceKind::Model,
                    name: format!("{} version {}", package.group_name, package.version()),
                    description: package.technical.description.clone(),
                    parent_id: None,
                    fields: wanted,
                },
            });
            plan.actions.push(Action::LinkModel {
                package_arn: package.arn.as_str().to_owned(),
                id: ObjectRef::Created,
            });
            ObjectRef::Created
        }
        Some(found) => {
            let id = found.object.id.clone();
            let mut changed: Vec<Field> = wanted
                .into_iter()
                .filter(|field| field_differs(found.object, field))
                .collect();
            let mut ledger = Vec::new();
            if let Some(status) = desired_status.filter(|s| current_status.as_deref() != Some(s)) {
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
                plan.actions.push(Action::UpdateModel {
                    id: id.clone(),
                    fields: changed,
                    description,
                    ledger,
                });
            }
            if !found.linked {
                plan.actions.push(Action::LinkModel {
                    package_arn: package.arn.as_str().to_owned(),
                    id: ObjectRef::Existing(id.clone()),
                });
            }
            ObjectRef::Existing(id)
        }
    };

    let write = PackageWrite {
        package: package.clone(),
        links: Some(LinksWriteBack {
            use_case: use_case.clone(),
            model_group: model_group_ref,
            model: model_ref,
        }),
        revert_approval,
        revision: revision_of(package, input.now),
    };
    // With both objects known, a write-back that changes nothing is left out of the plan.
    let needed = match write.resolve(None, None, input.console) {
        Ok(resolved) => resolved.is_some(),
        Err(WriteBackError::UnresolvedObject(_)) => true,
        Err(WriteBackError::Metadata(_)) => true,
    };
    if needed {
        plan.actions.push(Action::UpdatePackage(Box::new(write)));
    }
    plan
}

/// The registry revision a write is decided from: the package's `LastModifiedTime`.
fn revision_of(package: &ModelVersion, now: DateTime<Utc>) -> Revision {
    Revision::from_time(package.last_modified_time.unwrap_or(now))
}

#[cfg(test)]
mod tests;
