//! What is really serving (issue #21, part 4): the endpoints of a registry and the model versions they
//! serve, judged against governance. Pure: the reconciler reads the endpoints through
//! [`crate::ports::hosting::Hosting`] and hands them in ([`serving_endpoint`] assembles one).
//!
//! Per endpoint and model version it serves ([`judge_endpoint`]):
//! - `endpoint_serving_decommissioned`: the version's Model has the decommission status (the mapping's
//!   status for the `Archived` stage), or SageMaker archived or lost the package.
//! - `endpoint_serving_unapproved`: otherwise, no Model carries the version, or the Model's status does
//!   not map to `ModelApprovalStatus` `Approved`, or approves only a stage earlier than the endpoint's
//!   [`STAGE_TAG`] tag (stages ranked by their first appearance in the mapping's rows; an endpoint without
//!   the tag needs any approving status; a tag naming no stage of the mapping is unapproved).
//! - `endpoint_serving_other_artifact`: the digest an image was resolved to at deployment
//!   (`DeployedImages[].ResolvedImage`) is none of the digests of the artifact govsync recorded at
//!   approval, or the SageMaker model names an `Image` or `ModelDataUrl` of its own that the approved
//!   artifact does not. A version without a recorded approval is not judged.
//!
//! These three are reported only: govsync never stops or changes an endpoint. Per governance Model
//! ([`judge_deployments`]): `deployments_out_of_step` when its `Deployments` field is not the text
//! govsync writes ([`deployments_text`]: one line per endpoint serving the version), repaired by
//! rewriting the field.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, SecondsFormat, Utc};

use crate::artifact::{ArtifactFingerprint, Part};
use crate::governance::GovernanceStatus;
use crate::mapping::{MappingRow, MappingSpec, StageTarget};
use crate::model_package::{ApprovalStatus, ModelPackageArn, SageMakerName};
use crate::ports::hosting::{Endpoint, EndpointConfig, HostedModel};
use crate::reconcile::{Drift, DriftKind, GovernanceInventory, ModelEntry, Repair};

/// The endpoint tag naming the stage it serves (a stage of the mapping, e.g. `Production`).
pub const STAGE_TAG: &str = "govsync:stage";

/// Longest `Deployments` text written: a longer one keeps its first lines and says how many were left.
pub const MAX_DEPLOYMENTS_CHARS: usize = 4000;

/// The package a SageMaker model was created from (its container's `ModelPackageName`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServedPackage {
    /// A versioned package of a registry (the name is its ARN).
    Version(ModelPackageArn),
    /// Any other name (an unversioned package): no governance Model carries it.
    Other(String),
}

impl ServedPackage {
    /// SageMaker writes package ARNs in lowercase, and the inventory holds them as SageMaker wrote them.
    pub fn from_name(name: &str) -> Self {
        let name = name.trim();
        match ModelPackageArn::parse(&name.to_ascii_lowercase()) {
            Ok(arn) => ServedPackage::Version(arn),
            Err(_) => ServedPackage::Other(name.to_owned()),
        }
    }

    pub fn label(&self) -> &str {
        match self {
            ServedPackage::Version(arn) => arn.as_str(),
            ServedPackage::Other(name) => name,
        }
    }
}

/// One package served by one variant of an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedModel {
    pub variant: String,
    pub shadow: bool,
    /// The SageMaker model the variant runs.
    pub model_name: String,
    pub package: ServedPackage,
    /// `ResolvedImage` of the images deployed for this package's containers.
    pub resolved_images: Vec<String>,
    /// `Image` the model's container names itself, beside the package.
    pub container_images: Vec<String>,
    /// `ModelDataUrl` the model's container names itself, beside the package.
    pub container_model_data: Vec<String>,
}

/// An endpoint and what it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServingEndpoint {
    pub name: String,
    pub arn: String,
    pub account: String,
    pub region: String,
    pub status: Option<String>,
    /// The endpoint's creation time.
    pub since: Option<DateTime<Utc>>,
    /// The endpoint's [`STAGE_TAG`] tag.
    pub stage: Option<String>,
    pub served: Vec<ServedModel>,
}

impl ServingEndpoint {
    /// `account/region`, as drifts name registries.
    pub fn registry_label(&self) -> String {
        format!("{}/{}", self.account, self.region)
    }

    /// The distinct packages it serves.
    pub fn packages(&self) -> BTreeSet<&ServedPackage> {
        self.served.iter().map(|served| &served.package).collect()
    }

    /// The distinct model versions (versioned packages) it serves.
    pub fn versions(&self) -> BTreeSet<&ModelPackageArn> {
        self.served
            .iter()
            .filter_map(|served| match &served.package {
                ServedPackage::Version(arn) => Some(arn),
                ServedPackage::Other(_) => None,
            })
            .collect()
    }

    fn stage_label(&self) -> &str {
        self.stage.as_deref().unwrap_or("no stage")
    }
}

/// The stage tag's value, when the tags carry a non-blank one.
pub fn stage_tag(tags: &[(String, String)]) -> Option<String> {
    tags.iter()
        .find(|(key, _)| key == STAGE_TAG)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// Assembles what an endpoint serves from `DescribeEndpoint`, `DescribeEndpointConfig`, the models'
/// `DescribeModel` and the endpoint's tags. A container that names no package serves no model version
/// and is left out. Deployed images are matched to containers by position when there is one per
/// container, else every image of the variant counts for each of its packages.
pub fn serving_endpoint(
    endpoint: &Endpoint,
    config: &EndpointConfig,
    models: &[HostedModel],
    tags: &[(String, String)],
    account: &str,
    region: &str,
) -> ServingEndpoint {
    let mut served = Vec::new();
    for variant in &config.variants {
        let Some(model) = variant
            .model_name
            .as_deref()
            .and_then(|name| models.iter().find(|model| model.name == name))
        else {
            continue;
        };
        let images: Vec<String> = endpoint
            .variants
            .iter()
            .find(|running| running.name == variant.name && running.shadow == variant.shadow)
            .map(|running| {
                running
                    .deployed_images
                    .iter()
                    .filter_map(|image| image.resolved_image.clone())
                    .collect()
            })
            .unwrap_or_default();
        let by_position = images.len() == model.containers.len();
        for (index, container) in model.containers.iter().enumerate() {
            let Some(package) = container
                .model_package_name
                .as_deref()
                .filter(|name| !name.trim().is_empty())
            else {
                continue;
            };
            let resolved_images = if by_position {
                vec![images[index].clone()]
            } else {
                images.clone()
            };
            served.push(ServedModel {
                variant: variant.name.clone(),
                shadow: variant.shadow,
                model_name: model.name.clone(),
                package: ServedPackage::from_name(package),
                resolved_images,
                container_images: container.image.iter().cloned().collect(),
                container_model_data: container.model_data_url.iter().cloned().collect(),
            });
        }
    }
    ServingEndpoint {
        name: endpoint.name.clone(),
        arn: endpoint.arn.clone(),
        account: account.to_owned(),
        region: region.to_owned(),
        status: endpoint.status.clone(),
        since: endpoint.creation_time,
        stage: stage_tag(tags),
        served,
    }
}

/// What the registry says of a served version now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackageState {
    /// Registered and not archived; its lifecycle stage, if it has one.
    Live { stage: Option<SageMakerName> },
    /// Archived (lifecycle stage `Archived`) or being deleted.
    Archived,
    /// SageMaker does not know it.
    Gone,
    /// Not read (a registry outside the map, or a refused read).
    Unknown,
}

/// What the judgement needs of one served version besides governance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionFacts {
    pub state: PackageState,
    /// The artifact govsync recorded when it applied the approval.
    pub approved: Option<ArtifactFingerprint>,
}

/// What the judgement decides with.
#[derive(Debug, Clone, Copy)]
pub struct ServingPolicy<'a> {
    pub mapping: &'a MappingSpec,
    /// The decommission status (`DecommissionPolicy::from_mapping`).
    pub decommissioned: &'a GovernanceStatus,
}

/// One finding about an endpoint, with the drift the report records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServingFinding {
    pub endpoint: String,
    pub endpoint_arn: String,
    pub stage: Option<String>,
    pub drift: Drift,
}

const HANDS_OFF: &str = "govsync never stops or changes an endpoint";

fn report_only(what: &str) -> Repair {
    Repair::ReportOnly {
        reason: format!("{HANDS_OFF}: {what}"),
    }
}

/// Judges every version `endpoint` serves (once per version, whichever variants serve it).
/// `facts` holds, by package ARN, what the registry and the approval record say of each version.
pub fn judge_endpoint(
    endpoint: &ServingEndpoint,
    inventory: &GovernanceInventory,
    facts: &BTreeMap<String, VersionFacts>,
    policy: ServingPolicy<'_>,
) -> Vec<ServingFinding> {
    let mut findings = Vec::new();
    for package in endpoint.packages() {
        let served: Vec<&ServedModel> = endpoint
            .served
            .iter()
            .filter(|served| &served.package == package)
            .collect();
        let arn = match package {
            ServedPackage::Version(arn) => arn,
            ServedPackage::Other(name) => {
                findings.push(finding(
                    endpoint,
                    DriftKind::EndpointServingUnapproved,
                    None,
                    None,
                    format!(
                        "serves model package {name:?}, which is not a versioned package of a registry: no governance Model carries it"
                    ),
                    report_only("register the model as a version of a model package group and have governance approve it"),
                ));
                continue;
            }
        };
        let model = inventory.models_for(arn.as_str()).first();
        let unknown = VersionFacts {
            state: PackageState::Unknown,
            approved: None,
        };
        let version = facts.get(arn.as_str()).unwrap_or(&unknown);
        let (kind, detail, repair) = match status_verdict(endpoint, model, version, policy) {
            Verdict::Approved => (None, String::new(), None),
            Verdict::Decommissioned(why) => (
                Some(DriftKind::EndpointServingDecommissioned),
                why,
                Some(report_only(
                    "take the decommissioned version off the endpoint",
                )),
            ),
            Verdict::Unapproved(why) => (
                Some(DriftKind::EndpointServingUnapproved),
                why,
                Some(report_only(
                    "approve the version for the endpoint's stage in governance, or take it off the endpoint",
                )),
            ),
        };
        if let (Some(kind), Some(repair)) = (kind, repair) {
            findings.push(finding(endpoint, kind, Some(arn), model, detail, repair));
        }
        if let Some(approved) = &version.approved {
            let differences = artifact_differences(&served, approved);
            if !differences.is_empty() {
                findings.push(finding(
                    endpoint,
                    DriftKind::EndpointServingOtherArtifact,
                    Some(arn),
                    model,
                    format!(
                        "serves an artifact other than the one approved: {}",
                        differences.join("; ")
                    ),
                    report_only(
                        "redeploy the approved artifact, or have governance review the one serving",
                    ),
                ));
            }
        }
    }
    findings
}

fn finding(
    endpoint: &ServingEndpoint,
    kind: DriftKind,
    arn: Option<&ModelPackageArn>,
    model: Option<&ModelEntry>,
    detail: String,
    repair: Repair,
) -> ServingFinding {
    ServingFinding {
        endpoint: endpoint.name.clone(),
        endpoint_arn: endpoint.arn.clone(),
        stage: endpoint.stage.clone(),
        drift: Drift {
            kind,
            registry: endpoint.registry_label(),
            group: arn.map(|arn| arn.group_name().to_string()),
            package_arn: arn.cloned(),
            governance_id: model.map(|model| model.id.clone()),
            detail: format!(
                "endpoint {} ({}) {detail}",
                endpoint.name,
                endpoint.stage_label()
            ),
            repair,
        },
    }
}

enum Verdict {
    Approved,
    Decommissioned(String),
    Unapproved(String),
}

/// Decides whether governance lets the version serve at the endpoint's stage.
fn status_verdict(
    endpoint: &ServingEndpoint,
    model: Option<&ModelEntry>,
    version: &VersionFacts,
    policy: ServingPolicy<'_>,
) -> Verdict {
    let status = model.and_then(|model| model.status.as_deref());
    if status == Some(policy.decommissioned.as_str()) {
        return Verdict::Decommissioned(format!(
            "serves a version governance decommissioned (status {status:?})",
            status = policy.decommissioned.as_str()
        ));
    }
    match version.state {
        PackageState::Archived => {
            return Verdict::Decommissioned(
                "serves a version SageMaker archived (its package is archived or being deleted)"
                    .to_owned(),
            );
        }
        PackageState::Gone => {
            return Verdict::Decommissioned(
                "serves a version whose package no longer exists in SageMaker".to_owned(),
            );
        }
        PackageState::Live { .. } | PackageState::Unknown => {}
    }
    let Some(model) = model else {
        return Verdict::Unapproved(
            "serves a version no governance Model carries: governance never approved it".to_owned(),
        );
    };
    let Some(status) = status else {
        return Verdict::Unapproved(format!(
            "serves a version whose governance Model {} has no status",
            model.id
        ));
    };
    let row = GovernanceStatus::parse(status)
        .ok()
        .and_then(|parsed| policy.mapping.registry_target(&parsed).ok());
    let Some(row) = row else {
        return Verdict::Unapproved(format!(
            "serves a version whose governance status {status:?} is not in the mapping spec"
        ));
    };
    if row.target.approval != ApprovalStatus::Approved {
        return Verdict::Unapproved(format!(
            "serves a version governance has not approved (status {status:?} maps to {})",
            row.target.approval
        ));
    }
    stage_verdict(endpoint, row, version, policy.mapping)
}

/// Decides whether an approving row covers the endpoint's stage tag.
fn stage_verdict(
    endpoint: &ServingEndpoint,
    row: &MappingRow,
    version: &VersionFacts,
    mapping: &MappingSpec,
) -> Verdict {
    let Some(tag) = endpoint.stage.as_deref() else {
        return Verdict::Approved;
    };
    let ranks = stage_ranks(mapping);
    let Some(wanted) = rank_of(&ranks, tag) else {
        return Verdict::Unapproved(format!(
            "is tagged {STAGE_TAG}={tag:?}, which names no stage of the mapping ({})",
            ranks
                .iter()
                .map(|stage| stage.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    };
    let approved_stage = match (&row.target.stage, &version.state) {
        (StageTarget::Set(stage), _) => Some(stage.clone()),
        (StageTarget::Unchanged, PackageState::Live { stage }) => stage.clone(),
        (StageTarget::Unchanged, _) => None,
    };
    let Some(approved_stage) = approved_stage else {
        return Verdict::Unapproved(format!(
            "serves a version whose status {:?} approves the package's current stage, which is not known",
            row.governance_status.as_str()
        ));
    };
    match rank_of(&ranks, approved_stage.as_str()) {
        Some(approved) if approved >= wanted => Verdict::Approved,
        _ => Verdict::Unapproved(format!(
            "serves a version governance approved for {} only (status {:?})",
            approved_stage,
            row.governance_status.as_str()
        )),
    }
}

/// The mapping's stages in the order they first appear in its rows: a later stage ranks higher.
pub fn stage_ranks(mapping: &MappingSpec) -> Vec<&SageMakerName> {
    let mut ranks: Vec<&SageMakerName> = Vec::new();
    for row in mapping.rows() {
        if let StageTarget::Set(stage) = &row.target.stage
            && !ranks.contains(&stage)
        {
            ranks.push(stage);
        }
    }
    ranks
}

/// A stage's rank; tags are compared without regard to case.
fn rank_of(ranks: &[&SageMakerName], stage: &str) -> Option<usize> {
    ranks
        .iter()
        .position(|known| known.as_str().eq_ignore_ascii_case(stage.trim()))
}

fn digest_of(image: &str) -> Option<&str> {
    image
        .rsplit_once('@')
        .map(|(_, digest)| digest.trim())
        .filter(|digest| !digest.is_empty())
}

/// What the served artifact has that the approved one does not.
fn artifact_differences(served: &[&ServedModel], approved: &ArtifactFingerprint) -> Vec<String> {
    let mut image_uris = BTreeSet::new();
    let mut digests = BTreeSet::new();
    let mut model_data = BTreeSet::new();
    for container in &approved.containers {
        if let Some(part) = &container.image {
            image_uris.insert(part.uri().to_owned());
            if let Part::Image { digest, .. } = part {
                digests.insert(digest.clone());
            }
        }
        if let Some(part) = &container.model_data {
            model_data.insert(part.uri().to_owned());
        }
    }
    let approved_digests = || {
        digests
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = BTreeSet::new();
    for served in served {
        // Without a digest read at approval there is nothing to compare a resolved image with.
        if !digests.is_empty() {
            for image in &served.resolved_images {
                if let Some(digest) = digest_of(image)
                    && !digests.contains(digest)
                {
                    out.insert(format!(
                        "variant {} runs {image}; approved digest {}",
                        served.variant,
                        approved_digests()
                    ));
                }
            }
        }
        for image in &served.container_images {
            let same = match digest_of(image) {
                Some(digest) => digests.contains(digest),
                None => image_uris.contains(image),
            };
            if !same {
                out.insert(format!(
                    "model {} names image {image}, not the approved {}",
                    served.model_name,
                    image_uris.iter().cloned().collect::<Vec<_>>().join(", ")
                ));
            }
        }
        for data in &served.container_model_data {
            if !model_data.contains(data) {
                out.insert(format!(
                    "model {} names model data {data}, not the approved {}",
                    served.model_name,
                    if model_data.is_empty() {
                        "(none)".to_owned()
                    } else {
                        model_data.iter().cloned().collect::<Vec<_>>().join(", ")
                    }
                ));
            }
        }
    }
    out.into_iter().collect()
}

/// One line of the `Deployments` text: `endpoint <name> (<stage or no stage>) in <account>/<region>
/// since <RFC 3339>`.
pub fn deployment_line(endpoint: &ServingEndpoint) -> String {
    format!(
        "endpoint {} ({}) in {} since {}",
        endpoint.name,
        endpoint.stage_label(),
        endpoint.registry_label(),
        endpoint
            .since
            .map(|since| since.to_rfc3339_opts(SecondsFormat::Secs, true))
            .unwrap_or_else(|| "an unknown time".to_owned())
    )
}

/// The `Deployments` text of a set of lines: sorted, one per line, empty when none, at most
/// [`MAX_DEPLOYMENTS_CHARS`].
pub fn deployments_text(lines: impl IntoIterator<Item = String>) -> String {
    let lines: BTreeSet<String> = lines
        .into_iter()
        .map(|line| line.trim().to_owned())
        .filter(|line| !line.is_empty())
        .collect();
    // Room kept for the closing line while more lines follow.
    const TAIL_ROOM: usize = 40;
    let mut out = String::new();
    for (index, line) in lines.iter().enumerate() {
        let more_after = index + 1 < lines.len();
        let room = if more_after { TAIL_ROOM } else { 0 };
        if out.len() + 1 + line.len() + room > MAX_DEPLOYMENTS_CHARS {
            let left = lines.len() - index;
            out.push_str(&format!("\n… and {left} more endpoints"));
            return out.trim_start().to_owned();
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(line);
    }
    out
}

/// The field's text as govsync compares it: lines trimmed, blank ones dropped (governance may change
/// line endings).
fn normalized(text: Option<&str>) -> Vec<&str> {
    text.unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect()
}

/// Decides, for every Model of a package of `registries` (labels `account/region`), whether its
/// `Deployments` field holds the text govsync writes from `endpoints` (those of every registry read).
/// Lines the field holds about registries in `unread` (whose endpoints could not be listed) are kept
/// as they are: govsync never drops what it cannot see.
pub fn judge_deployments(
    endpoints: &[ServingEndpoint],
    inventory: &GovernanceInventory,
    registries: &[String],
    unread: &[String],
) -> Vec<Drift> {
    let mut lines: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for endpoint in endpoints {
        let line = deployment_line(endpoint);
        for arn in endpoint.versions() {
            lines.entry(arn.as_str()).or_default().push(line.clone());
        }
    }
    let mut drifts = Vec::new();
    for model in inventory.models() {
        let Ok(arn) = ModelPackageArn::parse(&model.external_id) else {
            continue;
        };
        let label = format!("{}/{}", arn.account(), arn.region());
        if !registries.contains(&label) {
            continue;
        }
        let current = normalized(model.deployments.as_deref());
        let kept = current.iter().filter(|line| {
            unread
                .iter()
                .any(|registry| line.contains(&format!(" in {registry} since ")))
        });
        let wanted = deployments_text(
            lines
                .get(model.external_id.as_str())
                .into_iter()
                .flatten()
                .cloned()
                .chain(kept.map(|line| (*line).to_owned())),
        );
        if normalized(Some(&wanted)) == current {
            continue;
        }
        let count = |text: &[&str]| match text.len() {
            1 => "1 endpoint".to_owned(),
            n => format!("{n} endpoints"),
        };
        drifts.push(Drift {
            kind: DriftKind::DeploymentsOutOfStep,
            registry: label,
            group: Some(arn.group_name().to_string()),
            package_arn: Some(arn.clone()),
            governance_id: Some(model.id.clone()),
            detail: format!(
                "the Model's Deployments field names {}; {} serve the version{}",
                count(&current),
                count(&normalized(Some(&wanted))),
                if wanted.is_empty() {
                    String::new()
                } else {
                    format!(": {}", wanted.replace('\n', "; "))
                }
            ),
            repair: Repair::RecordDeployments {
                model_id: model.id.clone(),
                text: wanted,
            },
        });
    }
    drifts
}

#[cfg(test)]
mod tests;
