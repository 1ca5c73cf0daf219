//! Step 1: an event's origin, whether govsync made it, and which package (at which revision) it names.

use super::super::{Ownership, WriterIdentities};
use crate::aws_identity::{AccountId, Region};
use crate::governance::Revision;
use crate::model_package::{ModelPackageArn, ModelVersion};
use crate::registry_event::RegistryEvent;
use crate::registry_map::{Registry, RegistryMap};

/// What to do with one decoded event.
#[derive(Debug, Clone, PartialEq)]
pub enum Triage<'a> {
    /// From an account and region not in the registry map, and naming no package a mapped registry
    /// owns: quarantined, never acted on.
    UnknownRegistry { account: AccountId, region: Region },
    /// A call govsync made itself (CloudTrail `userIdentity`): dropped.
    Echo { caller: String },
    /// Not this flow's business, or a call that changed nothing: acknowledged.
    Ignore(IgnoreReason),
    /// Sync this package from its current (re-described) state.
    Package {
        registry: &'a Registry,
        arn: &'a ModelPackageArn,
        /// The event's source revision (a state change's `LastModifiedTime`, in milliseconds), for the
        /// stale check before describing; `None` otherwise (a call record's time is whole seconds):
        /// such an event is judged by the described package (see `is_stale_described`).
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
    /// The package's owner (the account and region in its ARN) is not in the registry map: govsync
    /// reads only mapped registries, so the event has no effect. A record in one account about a
    /// package another account owns is normal in a central registry; it is never quarantined for that.
    UnmappedOwner { account: AccountId, region: Region },
}

impl IgnoreReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            IgnoreReason::FailedCall { .. } => "failed_call",
            IgnoreReason::GroupCreated => "group_created",
            IgnoreReason::Deletion => "deletion",
            IgnoreReason::GroupPolicy => "group_policy",
            IgnoreReason::UnmappedOwner { .. } => "unmapped_owner",
        }
    }
}

/// Step 1: where the event comes from, whether govsync made it, and which package it concerns.
pub fn triage<'a>(
    event: &'a RegistryEvent,
    registries: &'a RegistryMap,
    writers: &WriterIdentities,
) -> Triage<'a> {
    let registry = match super::super::ownership(event, registries) {
        Ownership::Governed(registry) => registry,
        Ownership::UnmappedOwner { account, region } => {
            return Triage::Ignore(IgnoreReason::UnmappedOwner { account, region });
        }
        Ownership::UnknownOrigin { account, region } => {
            return Triage::UnknownRegistry { account, region };
        }
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
            revision: change.package.last_modified_time.map(Revision::from_time),
            snapshot: Some(&change.package),
        },
        // CloudTrail times are whole seconds: two changes in one second share one. A call record is
        // judged stale only by the package's millisecond `LastModifiedTime`, once described.
        RegistryEvent::PackageCreated(created) => Triage::Package {
            registry,
            arn: &created.package_arn,
            revision: None,
            snapshot: None,
        },
        RegistryEvent::PackageUpdated(updated) => Triage::Package {
            registry,
            arn: &updated.package_arn,
            revision: None,
            snapshot: None,
        },
    }
}

/// Whether an event's revision is no newer than the one already applied.
pub fn is_stale(event_revision: Option<Revision>, applied: Option<u64>) -> bool {
    match (event_revision, applied) {
        (Some(revision), Some(applied)) => revision.value() <= applied,
        _ => false,
    }
}

/// Whether the package as described now is a state already applied: its millisecond
/// `LastModifiedTime` is no newer than the applied revision. How a call record (whole-second time) is
/// judged, so a second change within the same second is still synced.
pub fn is_stale_described(last_modified: Option<Revision>, applied: Option<u64>) -> bool {
    is_stale(last_modified, applied)
}
