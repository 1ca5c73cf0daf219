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
//! | `duplicate_models`, `duplicate_model_groups`, `unknown_governance_status` | report only (never guessed) |
//! | `endpoint_serving_unapproved`, `endpoint_serving_decommissioned`, `endpoint_serving_other_artifact` | report only: govsync never changes an endpoint ([`crate::serving`]) |
//! | `deployments_out_of_step` | `record_deployments`: the Model's `Deployments` field rewritten |
//!
//! Which side wins a status disagreement: the newer side (package `LastModifiedTime` against the model's
//! `Last Modification Date`), but SageMaker only on a `both` row; ties, unknown times and every other row
//! go to governance, the system of record.

mod compare;
mod drift;
mod inventory;
mod passes;

pub use compare::{CompareSettings, compare_group, compare_missing_groups};
pub use drift::{Drift, DriftKind, Repair, drift_table};
pub use inventory::{GovernanceInventory, GroupSnapshot, ModelEntry};
pub use passes::{Pass, assigned_use_case, deep_slice_of, summary_suspect};

use crate::sync::fields;

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
        fields::THIRD_PARTY_LINK,
    ];
}

#[cfg(test)]
mod tests;
