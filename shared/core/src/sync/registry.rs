//! Registry changes into governance: F2 (a version is registered) and F3 (its metadata, lifecycle or
//! approval changes), in two pure steps.
//!
//! 1. [`triage`](fn@triage) an event: refuse unknown registries, drop govsync's own calls
//!    (CloudTrail identity), ignore what this flow does not handle, and otherwise name the package to
//!    sync and the event's revision (for the stale check against the links table).
//! 2. Having re-described the package and looked up the governance side, [`decide`](fn@decide)
//!    returns the [`Action`]s that bring governance (and the package's write-back) in line, and the
//!    [`Finding`]s to report (unassigned group, shadow approval, drift).
//!
//! Decisions compare desired with current state, so a change already applied decides to nothing:
//! that, with the our-write ledger, is why bidirectional sync cannot ping-pong.

mod decide;
mod direction;
mod triage;
mod write_back;

pub use decide::{
    ARTIFACT_REVIEW_STATUS, Action, Assignment, Finding, Found, ObjectRef, PackageSync, Plan,
    UseCaseView, console_url, decide,
};
pub use direction::{
    Rejection, lifecycle_claims_deployment, registry_rejection, reverted_lifecycle, status_approves,
};
pub use triage::{IgnoreReason, Triage, is_stale, is_stale_described, triage};
pub use write_back::{
    LinksWriteBack, PACKAGE_STATE_FIELD, PackageWrite, PackedLinks, ResolvedWrite, UNPACKED_KEYS,
    WRITE_BACK_ORDER, WriteBackError, WriteBackRoom, WrittenLinks, package_state_fingerprint,
    snapshot_write,
};

use crate::customer_metadata::keys;
use crate::error::ValidationError;
use crate::governance::GovernanceId;
use crate::model_package::{ModelVersion, TechnicalMetadata};
use crate::ports::registry::ModelPackage;

/// `DescribeModelPackage`'s answer as the domain's [`ModelVersion`]. A package SageMaker describes
/// always validates; a failure means a foreign shape and is permanent.
pub fn described_version(package: &ModelPackage) -> Result<ModelVersion, ValidationError> {
    let arn = package.arn.clone();
    let group_name = match &package.group_name {
        Some(name) => name.clone(),
        None => arn.group_name().clone(),
    };
    let lifecycle = package.lifecycle.clone();
    Ok(ModelVersion {
        group_name,
        package_status: package.status,
        approval: package.approval_status,
        approval_description: package.approval_description.clone(),
        lifecycle,
        customer_metadata: package.customer_metadata.clone(),
        technical: TechnicalMetadata {
            description: package.description.clone(),
            inference_images: package.inference_images.clone(),
            model_data_urls: package.model_data_urls.clone(),
            metrics_uris: package.metrics.iter().map(|m| m.s3_uri.clone()).collect(),
            generated_by: package
                .facts
                .lineage
                .iter()
                .find(|(key, _)| key == "GeneratedBy")
                .map(|(_, value)| value.clone()),
            created_by: package.created_by.clone(),
            facts: package.facts.clone(),
        },
        creation_time: package.creation_time,
        last_modified_time: package.last_modified_time,
        arn,
    })
}

/// Reads the group's tags: `govsync:use-case-id` names the use case.
pub fn use_case_tag(tags: &[(String, String)]) -> Result<GovernanceId, String> {
    match tags.iter().find(|(key, _)| key == keys::USE_CASE_ID) {
        None => Err(format!("the group has no {} tag", keys::USE_CASE_ID)),
        Some((_, value)) => GovernanceId::parse(value)
            .map_err(|error| format!("the group's {} tag is invalid: {error}", keys::USE_CASE_ID)),
    }
}

#[cfg(test)]
mod tests;
