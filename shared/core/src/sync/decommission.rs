//! Retirement on either side (design F5, F6), in pure steps the `decommission` function (and
//! registry-events, for archived or vanished packages) executes.
//!
//! - [`decode_message`]: a body on `decommission.fifo` is either a registry envelope (the
//!   `govsync-decommission` rule: CloudTrail `DeleteModelPackage` / `DeleteModelPackageGroup`) or a
//!   [`DecommissionRequest`] govsync put there itself (approval-propagation, the reconciler).
//! - [`triage`]: refuse unknown registries, drop govsync's own calls, ignore failed calls and anything
//!   that is not a deletion, else name the deleted package or group and the [`Deletion`] (when, by whom).
//! - F5, registry → governance: [`decommission_model`] (status `Decommissioned` with when and by whom;
//!   nothing is ever deleted in governance) and [`mark_model_group`]. A deletion that finds no governance
//!   model leaves a [`Tombstone`] in the links table; a model created for that package later (a
//!   registry-events sync that raced the deletion) is decommissioned at once ([`tombstoned_model`]).
//! - F6, governance → registry: [`archive_write`] (`ModelLifeCycle` stage `Archived`, the mapping's
//!   status for it, approval `Rejected`, descriptions saying why; never a delete), recorded in the
//!   our-write ledger with the fingerprint registry-events computes for the echo, so the echo is dropped.
//! - [`archived_governance_status`]: a package archived in SageMaker means its model is decommissioned.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};

use super::registry::{PACKAGE_STATE_FIELD, ResolvedWrite, package_state_fingerprint};
use super::{WriterIdentities, fields};
use crate::aws_identity::{AccountId, Region};
use crate::customer_metadata::{self, CustomerMetadata, MetadataError, keys};
use crate::decommission_request::{DecommissionRequest, DecommissionRequestError};
use crate::governance::{GovernanceId, GovernanceStatus, Revision};
use crate::mapping::{MappingSpec, StageTarget};
use crate::model_package::{
    ApprovalStatus, Description, Lifecycle, ModelPackageArn, ModelPackageGroupArn, ModelVersion,
    SageMakerName,
};
use crate::ports::registry::{ModelLifecycle, PackageUpdate};
use crate::ports::{Field, FieldValue, GovernanceObject, OurWrite, Tombstone, WriteSide};
use crate::registry_event::{DecodeError, RegistryEvent, decode_envelope_value};
use crate::registry_map::{Registry, RegistryMap};

/// The governance model status of a decommissioned model (the default spec's row 16).
pub const DECOMMISSIONED_STATUS: &str = "Decommissioned";
/// The SageMaker lifecycle stage of an archived package.
pub const ARCHIVED_STAGE: &str = "Archived";

// ---------------------------------------------------------------------------------------------
// Messages

/// One body of `decommission.fifo`, decoded.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // one per message, never stored in bulk
pub enum DecommissionMessage {
    /// A registry event (the decommission rule's CloudTrail deletions).
    Registry(RegistryEvent),
    /// A governance decommission (F6), sent by govsync itself.
    Governance(DecommissionRequest),
}

/// Why a body cannot be handled: always permanent (the same bytes fail the same way).
#[derive(Debug, thiserror::Error)]
pub enum MessageDecodeError {
    #[error("undecodable registry event: {0}")]
    Registry(#[from] DecodeError),
    #[error("undecodable decommission request: {0}")]
    Request(#[from] DecommissionRequestError),
}

impl MessageDecodeError {
    pub fn code(&self) -> &'static str {
        match self {
            MessageDecodeError::Registry(error) => error.code(),
            MessageDecodeError::Request(_) => "bad_decommission_request",
        }
    }
}

/// A body with a `schema` member is a [`DecommissionRequest`]; anything else must be an EventBridge
/// registry envelope.
pub fn decode_message(body: &str) -> Result<DecommissionMessage, MessageDecodeError> {
    let value: serde_json::Value = serde_json::from_str(body)
        .map_err(|error| MessageDecodeError::Registry(DecodeError::NotJson(error.to_string())))?;
    if value.get("schema").is_some() {
        Ok(DecommissionMessage::Governance(
            DecommissionRequest::from_json(body)?,
        ))
    } else {
        Ok(DecommissionMessage::Registry(decode_envelope_value(
            &value,
        )?))
    }
}

// ---------------------------------------------------------------------------------------------
// Triage of registry events (F5)

/// When, by whom and how a registry resource went away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deletion {
    /// What happened, e.g. `DeleteModelPackage`, `archived`.
    pub how: &'static str,
    pub at: DateTime<Utc>,
    /// The caller (CloudTrail `userIdentity.arn`, or the package's `LastModifiedBy`).
    pub by: Option<String>,
}

impl Deletion {
    pub const DELETE_PACKAGE: &'static str = "DeleteModelPackage";
    pub const DELETE_GROUP: &'static str = "DeleteModelPackageGroup";
    pub const ARCHIVED: &'static str = "archived";
    pub const GONE: &'static str = "no longer exists";

    /// The note written to governance: what, who, when (at most 1000 characters).
    pub fn note(&self) -> String {
        let what = match self.how {
            Self::DELETE_PACKAGE => "model package deleted in SageMaker (DeleteModelPackage)",
            Self::DELETE_GROUP => {
                "model package group deleted in SageMaker (DeleteModelPackageGroup)"
            }
            Self::ARCHIVED => "model package archived in SageMaker (ModelLifeCycle stage Archived)",
            _ => "model package no longer exists in SageMaker",
        };
        let by = self
            .by
            .as_deref()
            .map(|by| format!(" by {by}"))
            .unwrap_or_default();
        let text = format!(
            "Decommissioned by govsync: {what}{by} at {}",
            self.at.to_rfc3339_opts(SecondsFormat::Secs, true)
        );
        text.chars().take(1000).collect()
    }
}

/// Why a registry event is acknowledged without work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IgnoreReason {
    FailedCall {
        error_code: String,
    },
    /// Not a deletion (the rule sends only deletions; a replayed other event is acknowledged).
    NotADeletion {
        kind: &'static str,
    },
    /// The deleted package's owner (its ARN's account and region) is not in the registry map: nothing
    /// of it is governed, and no tombstone is left for a foreign ARN.
    UnmappedOwner {
        account: AccountId,
        region: Region,
    },
}

impl IgnoreReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            IgnoreReason::FailedCall { .. } => "failed_call",
            IgnoreReason::NotADeletion { .. } => "not_a_deletion",
            IgnoreReason::UnmappedOwner { .. } => "unmapped_owner",
        }
    }
}

/// What to do with one registry event on `decommission.fifo`.
#[derive(Debug, Clone, PartialEq)]
pub enum Triage<'a> {
    UnknownRegistry {
        account: AccountId,
        region: Region,
    },
    /// A call govsync made itself (govsync never deletes, so this is a replay or a misconfiguration).
    Echo {
        caller: String,
    },
    Ignore(IgnoreReason),
    PackageDeleted {
        registry: &'a Registry,
        arn: &'a ModelPackageArn,
        deletion: Deletion,
    },
    GroupDeleted {
        registry: &'a Registry,
        group_arn: ModelPackageGroupArn,
        deletion: Deletion,
    },
}

/// The ARN of a group named in an event of `account`/`region` (SageMaker writes ARNs in lowercase).
pub fn group_arn_in(
    account: &AccountId,
    region: &Region,
    name: &str,
) -> Result<ModelPackageGroupArn, crate::ValidationError> {
    let partition = if region.as_str().starts_with("cn-") {
        "aws-cn"
    } else if region.as_str().starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    };
    ModelPackageGroupArn::parse(&format!(
        "arn:{partition}:sagemaker:{region}:{account}:model-package-group/{}",
        name.to_ascii_lowercase()
    ))
}

/// Step 1 for a registry event: where it comes from, whether govsync made it, what was deleted.
pub fn triage<'a>(
    event: &'a RegistryEvent,
    registries: &'a RegistryMap,
    writers: &WriterIdentities,
    now: DateTime<Utc>,
) -> Result<Triage<'a>, crate::ValidationError> {
    let origin = event.origin();
    // A deleted package is its owner's (the account and region in its ARN), wherever the record
    // comes from; a group deletion names the group of the record's own account.
    let registry = match super::ownership(event, registries) {
        super::Ownership::Governed(registry) => registry,
        super::Ownership::UnmappedOwner { account, region } => {
            return Ok(Triage::Ignore(IgnoreReason::UnmappedOwner {
                account,
                region,
            }));
        }
        super::Ownership::UnknownOrigin { account, region } => {
            return Ok(Triage::UnknownRegistry { account, region });
        }
    };
    if let Some(caller) = event
        .api_call()
        .and_then(|call| call.caller_arn.as_deref())
        .filter(|caller| writers.is_writer(caller))
    {
        return Ok(Triage::Echo {
            caller: caller.to_owned(),
        });
    }
    let deletion = |how: &'static str| Deletion {
        how,
        at: event
            .api_call()
            .and_then(|call| call.event_time)
            .or(origin.time)
            .unwrap_or(now),
        by: event.api_call().and_then(|call| call.caller_arn.clone()),
    };
    Ok(match event {
        RegistryEvent::IgnoredFailedCall(failed) => Triage::Ignore(IgnoreReason::FailedCall {
            error_code: failed.error_code.clone(),
        }),
        RegistryEvent::PackageDeleted(deleted) => Triage::PackageDeleted {
            registry,
            arn: &deleted.package_arn,
            deletion: deletion(Deletion::DELETE_PACKAGE),
        },
        RegistryEvent::GroupDeleted(deleted) => Triage::GroupDeleted {
            registry,
            group_arn: group_arn_in(&origin.account, &origin.region, deleted.group_name.as_str())?,
            deletion: deletion(Deletion::DELETE_GROUP),
        },
        other => Triage::Ignore(IgnoreReason::NotADeletion { kind: other.kind() }),
    })
}

// ---------------------------------------------------------------------------------------------
// F5: governance side

/// How a decommission is written to governance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecommissionPolicy {
    /// The model status meaning decommissioned (the mapping's status for the Archived stage).
    pub status: GovernanceStatus,
    /// A text field of `Model` that receives [`Deletion::note`] (who and when); `None` = not written
    /// (the default object model has no such field: *govsync choice*, configurable).
    pub note_field: Option<String>,
}

impl DecommissionPolicy {
    /// The status from the mapping (the status of the row that archives), else `Decommissioned`.
    pub fn from_mapping(mapping: &MappingSpec, note_field: Option<String>) -> Self {
        let status = mapping
            .rows()
            .iter()
            .find(|row| {
                matches!(&row.target.stage, StageTarget::Set(stage) if stage.as_str() == ARCHIVED_STAGE)
            })
            .map(|row| row.governance_status.clone())
            .unwrap_or_else(decommissioned_status);
        Self { status, note_field }
    }
}

/// `Decommissioned` as a status (a non-blank literal always parses).
fn decommissioned_status() -> GovernanceStatus {
    GovernanceStatus::parse(DECOMMISSIONED_STATUS).expect("a non-blank literal is a status")
}

/// The update that decommissions one model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelDecommission {
    pub id: GovernanceId,
    pub fields: Vec<Field>,
    /// Recorded before the update so approval-propagation drops the echo (no F6 round trip).
    pub ledger: OurWrite,
}

/// The model's status, if set.
pub fn model_status(model: &GovernanceObject) -> Option<String> {
    model
        .field(fields::MODEL_STATUS)
        .and_then(FieldValue::as_text)
        .filter(|text| !text.trim().is_empty())
}

/// F5 for one model: `None` when it is already decommissioned (a redelivery, or both a delete and
/// an archive of one package).
pub fn decommission_model(
    model: &GovernanceObject,
    deletion: &Deletion,
    policy: &DecommissionPolicy,
) -> Option<ModelDecommission> {
    if model_status(model).as_deref() == Some(policy.status.as_str()) {
        return None;
    }
    let mut fields = vec![
        Field::choice(fields::MODEL_STATUS, policy.status.as_str()),
        Field::date(fields::LAST_UPDATE, deletion.at),
    ];
    if let Some(note_field) = &policy.note_field {
        fields.push(Field::text(note_field.clone(), deletion.note()));
    }
    Some(ModelDecommission {
        id: model.id.clone(),
        fields,
        ledger: OurWrite::new(
            WriteSide::Governance,
            model.id.as_str(),
            fields::MODEL_STATUS,
            policy.status.as_str(),
        ),
    })
}

/// F5 for a deleted group's model group: the default `ModelGroup` type has no status, so govsync
/// records the deletion time in `Integration:Last Update`; `None` when it already holds it.
pub fn mark_model_group(group: &GovernanceObject, deletion: &Deletion) -> Option<Vec<Field>> {
    let wanted = Field::date(fields::LAST_UPDATE, deletion.at);
    let current = group
        .field(fields::LAST_UPDATE)
        .and_then(FieldValue::as_text);
    (current != wanted.value.as_text()).then(|| vec![wanted])
}

/// The tombstone a deletion leaves when governance has no model for the package yet.
pub fn tombstone(arn: &ModelPackageArn, deletion: &Deletion) -> Tombstone {
    Tombstone {
        arn: arn.clone(),
        deleted_at: deletion.at,
        note: deletion.note(),
    }
}

/// A model created after its package's deletion was seen: decommission it at once, with the
/// tombstone's when (and note).
pub fn tombstoned_model(
    model: &GovernanceObject,
    tombstone: &Tombstone,
    policy: &DecommissionPolicy,
) -> Option<ModelDecommission> {
    if model_status(model).as_deref() == Some(policy.status.as_str()) {
        return None;
    }
    let mut fields = vec![
        Field::choice(fields::MODEL_STATUS, policy.status.as_str()),
        Field::date(fields::LAST_UPDATE, tombstone.deleted_at),
    ];
    if let Some(note_field) = &policy.note_field {
        fields.push(Field::text(note_field.clone(), tombstone.note.clone()));
    }
    Some(ModelDecommission {
        id: model.id.clone(),
        fields,
        ledger: OurWrite::new(
            WriteSide::Governance,
            model.id.as_str(),
            fields::MODEL_STATUS,
            policy.status.as_str(),
        ),
    })
}

/// A package archived in SageMaker (`ModelLifeCycle` stage `Archived`) means its model is decommissioned:
/// the status governance should hold, or `None` when the package is not archived.
pub fn archived_governance_status(
    policy: &DecommissionPolicy,
    lifecycle: Option<&Lifecycle>,
) -> Option<GovernanceStatus> {
    lifecycle
        .filter(|lifecycle| lifecycle.stage.as_str() == ARCHIVED_STAGE)
        .map(|_| policy.status.clone())
}

// ---------------------------------------------------------------------------------------------
// F6: registry side

/// What an archived package holds: the mapping row of the decommissioned status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveTarget {
    pub stage: SageMakerName,
    pub stage_status: SageMakerName,
    pub approval: ApprovalStatus,
}

/// Why the mapping cannot archive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveTargetError {
    #[error("the status mapping has no row for {0:?}")]
    NoRow(String),
    #[error("the status mapping's row for {0:?} keeps the stage; archiving needs a stage")]
    KeepsStage(String),
}

impl ArchiveTarget {
    /// The row of `status` (e.g. `Decommissioned` → Archived / Retired / Rejected).
    pub fn from_mapping(
        mapping: &MappingSpec,
        status: &GovernanceStatus,
    ) -> Result<Self, ArchiveTargetError> {
        let row = mapping
            .registry_target(status)
            .map_err(|_| ArchiveTargetError::NoRow(status.to_string()))?;
        match &row.target.stage {
            StageTarget::Set(stage) => Ok(Self {
                stage: stage.clone(),
                stage_status: row.target.stage_status.clone(),
                approval: row.target.approval,
            }),
            StageTarget::Unchanged => Err(ArchiveTargetError::KeepsStage(status.to_string())),
        }
    }

    /// Whether the package already holds this state (nothing to write, nothing to echo).
    pub fn is_held_by(&self, package: &ModelVersion) -> bool {
        package.approval == Some(self.approval)
            && package.lifecycle.as_ref().is_some_and(|lifecycle| {
                lifecycle.stage == self.stage && lifecycle.stage_status == self.stage_status
            })
    }
}

/// Why the archive description says what it says.
pub fn archive_reason(request: &DecommissionRequest) -> String {
    let what = match request.kind {
        crate::decommission_request::DecommissionKind::Model => "model",
        crate::decommission_request::DecommissionKind::UseCase => "use case",
    };
    let reason = request.reason.trim();
    let text = format!(
        "govsync: governance {what} {} decommissioned at {}{}{}",
        request.governance_id,
        request
            .requested_at
            .to_rfc3339_opts(SecondsFormat::Secs, true),
        if reason.is_empty() { "" } else { ": " },
        reason
    );
    Description::truncating(&text).as_str().to_owned()
}

/// F6 for one package: the `UpdateModelPackage` that archives it (never a delete) and the ledger entry
/// of its echo, or `None` when it is already archived.
pub fn archive_write(
    package: &ModelVersion,
    target: &ArchiveTarget,
    reason: &str,
    revision: Revision,
) -> Result<Option<ResolvedWrite>, MetadataError> {
    if target.is_held_by(package) {
        return Ok(None);
    }
    let description = Description::truncating(reason).as_str().to_owned();
    let mut to_set = CustomerMetadata::new();
    // `govsync:rev` only where it fits: an archive must reach a package filled up to SageMaker's limit.
    if customer_metadata::has_room_for(&package.customer_metadata, keys::REVISION) {
        to_set.insert(keys::REVISION, &revision.to_string())?;
    }
    let merged = to_set.merged_into(&package.customer_metadata, &[])?;
    let fingerprint = package_state_fingerprint(
        Some(target.approval),
        Some((target.stage.as_str(), target.stage_status.as_str())),
        &merged,
        &package.technical,
    );
    let arn = package.arn.as_str();
    let update = PackageUpdate {
        arn: package.arn.clone(),
        approval_status: Some(target.approval),
        approval_description: Some(description.clone()),
        metadata_to_set: to_set.into_map(),
        metadata_to_remove: Vec::new(),
        lifecycle: Some(ModelLifecycle {
            stage: target.stage.clone(),
            stage_status: target.stage_status.clone(),
            stage_description: Some(Description::truncating(&description)),
        }),
        model_card: None,
        client_token: Some(client_token(arn, &fingerprint)),
    };
    Ok(Some(ResolvedWrite {
        ledger: OurWrite::new(WriteSide::Registry, arn, PACKAGE_STATE_FIELD, &fingerprint),
        update,
    }))
}

/// `ClientToken` (≤ 36 of `[a-zA-Z0-9-]`) from the package and the state the archive produces.
fn client_token(arn: &str, fingerprint: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"archive\0");
    hasher.update(arn.as_bytes());
    hasher.update([0u8]);
    hasher.update(fingerprint.as_bytes());
    let hex = crate::hex::encode(&hasher.finalize());
    format!("govsync-{}", &hex[..28])
}

/// The registry of a package or group ARN, if it is mapped.
pub fn registry_of<'a>(
    registries: &'a RegistryMap,
    account: &AccountId,
    region: &Region,
) -> Option<&'a Registry> {
    registries.get(account, region)
}

/// A map of governance ids → package ARNs found for a use case, deduplicated and sorted (stable order
/// makes the archive sequence, and its logs, deterministic).
pub fn unique_group_arns(arns: impl IntoIterator<Item = String>) -> Vec<ModelPackageGroupArn> {
    let mut out: BTreeMap<String, ModelPackageGroupArn> = BTreeMap::new();
    for arn in arns {
        if let Ok(parsed) = ModelPackageGroupArn::parse(&arn) {
            out.insert(parsed.as_str().to_owned(), parsed);
        }
    }
    out.into_values().collect()
}

#[cfg(test)]
mod tests;
