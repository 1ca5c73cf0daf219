//! The package's write-back: the `CustomerMetadataProperties` govsync maintains (links, use case name
//! and risk level) and the gate's revert, as one `UpdateModelPackage` whose resulting state is known
//! before the call, so its echo can be recognised by fingerprint in the our-write ledger.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::super::ConsoleLinks;
use super::{ObjectRef, UseCaseView};
use crate::customer_metadata::{self, CustomerMetadata, MetadataError, keys};
use crate::governance::{GovernanceId, Revision};
use crate::model_package::{ApprovalStatus, Description, ModelVersion, TechnicalMetadata};
use crate::ports::registry::PackageUpdate;
use crate::ports::{OurWrite, WriteSide};

/// The our-write ledger field for a package's whole relevant state (approval, lifecycle, metadata).
pub const PACKAGE_STATE_FIELD: &str = "package-state";

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
            arn: self.package.arn.clone(),
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
