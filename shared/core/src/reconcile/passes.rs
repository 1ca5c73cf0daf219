//! The two passes of a reconcile run (issue #17): SageMaker's control plane answers a few calls a
//! second, so a run cannot describe every package in full.
//!
//! - The **fast pass** reads every package each run through `BatchDescribeModelPackage` summaries
//!   (100 a call) and [`summary_suspect`] picks the packages whose summary shows, or may hide, a drift:
//!   new, deleting, approval out of step, a stale governance link. Only those are described in full
//!   and compared.
//! - The **deep pass** describes in full a rolling slice of the packages each run ([`deep_slice_of`]):
//!   lifecycle, write-back, model card and the artifact, which a summary does not carry. With `slices`
//!   slices, every package is deep-checked once every `slices` complete runs.

use serde::{Deserialize, Serialize};

use super::{CompareSettings, GovernanceInventory};
use crate::governance::{GovernanceId, GovernanceStatus};
use crate::model_package::{ApprovalStatus, ModelPackageArn, ModelPackageStatus};
use crate::ports::registry::ModelPackage;
use crate::sync::GateMode;
use crate::sync::registry::use_case_tag;

/// Which pass found a drift.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pass {
    /// From the listings and batch summaries (and the full describes they called for), or about a
    /// group, an endpoint or a Model rather than one package's description.
    #[default]
    Fast,
    /// From the rolling slice's full descriptions (or every package, when the run has one slice).
    Deep,
}

impl Pass {
    pub fn as_str(self) -> &'static str {
        match self {
            Pass::Fast => "fast",
            Pass::Deep => "deep",
        }
    }
}

/// The deep-pass slice of a package, `0..slices`: FNV-1a of its ARN (stable across runs, processes
/// and versions of govsync, so a package keeps its slice), spread evenly over large registries.
pub fn deep_slice_of(arn: &ModelPackageArn, slices: u32) -> u32 {
    let slices = u64::from(slices.max(1));
    let hash = crate::stable_hash::fnv1a64(&arn.as_str().to_ascii_lowercase());
    // The remainder is below `slices`, itself a u32.
    u32::try_from(hash % slices).unwrap_or(0)
}

/// The use case a group's tag assigns it, when governance holds it (as [`super::compare_group`] decides).
pub fn assigned_use_case(
    tags: &[(String, String)],
    inventory: &GovernanceInventory,
) -> Option<GovernanceId> {
    use_case_tag(tags)
        .ok()
        .filter(|id| inventory.has_use_case(id))
}

/// Why a package's batch summary is not enough to call it in step, so the fast pass describes it in
/// full; `None` when the summary agrees with governance as far as a summary shows. A summary carries
/// the status and the approval but no lifecycle, customer metadata or model card: drift in those is the
/// deep pass's.
pub fn summary_suspect(
    summary: &ModelPackage,
    use_case: Option<&GovernanceId>,
    inventory: &GovernanceInventory,
    settings: CompareSettings<'_>,
) -> Option<&'static str> {
    let models = inventory.models_for(summary.arn.as_str());
    if summary.status == Some(ModelPackageStatus::Deleting) {
        return models
            .iter()
            .any(|model| !model.is_decommissioned())
            .then_some("deleting while its model is not decommissioned");
    }
    if !matches!(summary.status, None | Some(ModelPackageStatus::Completed)) {
        return None;
    }
    let approved =
        summary.approval_status == Some(ApprovalStatus::Approved) && settings.gate != GateMode::Off;
    let model = match models {
        [] if use_case.is_some() => return Some("no governance model"),
        [] => return approved.then_some("approved without a governance model"),
        [model] => model,
        _ => return Some("several governance models"),
    };
    if let Some(links) = settings.model_links
        && model.link.as_deref() != Some(links.link_for(&summary.arn).as_str())
    {
        return Some("governance link not the current one");
    }
    let approval = summary
        .approval_status
        .unwrap_or(ApprovalStatus::PendingManualApproval);
    let Some(status) = model.status.as_deref() else {
        return (approved || approval == ApprovalStatus::Rejected)
            .then_some("approval set while the model has no status");
    };
    let row = GovernanceStatus::parse(status)
        .ok()
        .and_then(|parsed| settings.mapping.registry_target(&parsed).ok());
    match row {
        None => Some("governance status not in the mapping"),
        Some(row) if row.target.approval != approval => Some("approval out of step"),
        Some(_) => None,
    }
}
