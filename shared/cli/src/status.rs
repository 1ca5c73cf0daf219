//! `govsync status [--group NAME]`: per registry and use case, each model package group with its
//! packages — SageMaker `ModelApprovalStatus` and `ModelLifeCycle` next to the governance Model's status,
//! when govsync last synced it (the links table) and its drift; then what is really serving: per
//! registry, the endpoints read and each finding about them (a version serving without governance's
//! approval for the endpoint's stage, a decommissioned one, another artifact than the approved one), and
//! the Models whose `Deployments` field is out of step.
//!
//! Nothing is compared here: the reconciler's own run, as a dry run that also keeps away from the
//! checkpoints ([`govsync_reconciler::RunObserver::checkpoints`] = false, so nothing is written
//! anywhere), lists both sides and finds the drift; [`StatusCollector`] keeps what it read.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use govsync_adapters::dynamodb::DynamoLinkStore;
use govsync_core::governance::GovernanceId;
use govsync_core::ports::LinkEnd;
use govsync_core::reconcile::{GovernanceInventory, GroupSnapshot};
use govsync_core::sync::registry::use_case_tag;
use govsync_core::{ModelPackageArn, Registry};
use govsync_reconciler::{
    Config, DriftRecord, Function, RegistryServing, RunObserver, RunOptions, ServingRecord,
};
use serde::Serialize;

use crate::cli::StatusArgs;
use crate::error::CliError;
use crate::exit::Exit;
use crate::output::{self, or_dash};
use crate::progress::Progress;

/// One drift as status shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriftLine {
    pub kind: String,
    pub detail: String,
    /// The repair a `govsync reconcile` would make.
    pub repair: String,
}

impl DriftLine {
    fn of(record: &DriftRecord) -> Self {
        Self {
            kind: record.drift.kind.as_str().to_owned(),
            detail: record.drift.detail.clone(),
            repair: record.drift.repair.action().to_owned(),
        }
    }
}

/// One model package and its governance model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageStatus {
    pub arn: String,
    pub version: Option<i32>,
    /// `ModelPackageStatus`.
    pub package_status: Option<String>,
    /// `ModelApprovalStatus`.
    pub approval: Option<String>,
    /// `ModelLifeCycle`.
    pub stage: Option<String>,
    pub stage_status: Option<String>,
    pub governance_model_id: Option<String>,
    pub governance_model: Option<String>,
    pub governance_status: Option<String>,
    pub last_sync: Option<DateTime<Utc>>,
    pub drifts: Vec<DriftLine>,
}

/// One model package group, under its use case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupStatus {
    pub group: String,
    pub arn: String,
    /// The use case the group is tagged with (`govsync:use-case-id`); `None`: unassigned.
    pub use_case_id: Option<String>,
    pub use_case: Option<String>,
    pub packages: Vec<PackageStatus>,
    /// Drift of the group itself (unassigned, a tag naming a missing use case, …).
    pub drifts: Vec<DriftLine>,
}

/// One registry of the map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegistryStatus {
    /// `account/region`.
    pub registry: String,
    pub business_entity: String,
    pub groups: Vec<GroupStatus>,
    /// Drift of models whose whole group is gone.
    pub drifts: Vec<DriftLine>,
}

/// One finding about an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointFinding {
    pub endpoint: String,
    pub endpoint_arn: String,
    /// The endpoint's `govsync:stage` tag.
    pub stage: Option<String>,
    /// The version served (`None`: a package that is no versioned package of a registry).
    pub package_arn: Option<String>,
    pub governance_model_id: Option<String>,
    pub kind: String,
    pub detail: String,
    pub repair: String,
}

/// A Model whose `Deployments` field is not what the endpoints say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeploymentsFinding {
    pub governance_model_id: Option<String>,
    pub package_arn: Option<String>,
    pub detail: String,
    pub repair: String,
}

/// What one registry's endpoints serve (read-only: govsync never changes an endpoint).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServingStatus {
    /// `account/region`.
    pub registry: String,
    /// Endpoints read and judged.
    pub endpoints: usize,
    /// Why its endpoints, or some, could not be read (they are not judged).
    pub unread: Option<String>,
    pub findings: Vec<EndpointFinding>,
    /// Models of this registry's versions whose `Deployments` field is out of step.
    pub deployments: Vec<DeploymentsFinding>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusReport {
    pub generated_at: DateTime<Utc>,
    pub governance_models: usize,
    pub registries: Vec<RegistryStatus>,
    /// What is really serving, per registry.
    pub serving: Vec<ServingStatus>,
    /// Drifts shown (all of them, or those of `--group`), serving findings included.
    pub drifts: usize,
}

/// What the reconciler's run read and found, kept for the report; progress goes to stderr.
pub struct StatusCollector {
    progress: Progress,
    inventory: Mutex<Option<GovernanceInventory>>,
    registries: Mutex<Vec<Registry>>,
    groups: Mutex<Vec<(String, GroupSnapshot, Vec<DriftRecord>)>>,
    gone: Mutex<Vec<(String, Vec<DriftRecord>)>>,
    serving: Mutex<Vec<(String, RegistryServing, Vec<ServingRecord>)>>,
    deployments: Mutex<Vec<DriftRecord>>,
}

fn label(registry: &Registry) -> String {
    format!("{}/{}", registry.account, registry.region)
}

impl StatusCollector {
    pub fn new(progress: Progress) -> Self {
        Self {
            progress,
            inventory: Mutex::new(None),
            registries: Mutex::new(Vec::new()),
            groups: Mutex::new(Vec::new()),
            gone: Mutex::new(Vec::new()),
            serving: Mutex::new(Vec::new()),
            deployments: Mutex::new(Vec::new()),
        }
    }

    /// What was collected: the inventory, the registries in map order, each group and the drift of
    /// groups that are gone.
    pub fn into_parts(self) -> Collected {
        Collected {
            inventory: take(self.inventory).unwrap_or_default(),
            registries: take(self.registries),
            groups: take(self.groups),
            gone: take(self.gone),
            serving: take(self.serving),
            deployments: take(self.deployments),
        }
    }
}

fn take<T>(mutex: Mutex<T>) -> T {
    mutex
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl RunObserver for StatusCollector {
    fn checkpoints(&self) -> bool {
        false
    }

    fn inventory_read(&self, inventory: &GovernanceInventory) {
        self.progress.inventory_read(inventory);
        *lock(&self.inventory) = Some(inventory.clone());
    }

    fn registry_listed(&self, index: usize, registries: usize, registry: &Registry, groups: usize) {
        self.progress
            .registry_listed(index, registries, registry, groups);
        lock(&self.registries).push(registry.clone());
    }

    fn group_compared(&self, registry: &Registry, group: &GroupSnapshot, records: &[DriftRecord]) {
        self.progress.group_compared(registry, group, records);
        lock(&self.groups).push((label(registry), group.clone(), records.to_vec()));
    }

    fn registry_done(&self, registry: &Registry, records: &[DriftRecord]) {
        self.progress.registry_done(registry, records);
        lock(&self.gone).push((label(registry), records.to_vec()));
    }

    fn endpoints_judged(
        &self,
        registry: &Registry,
        serving: &RegistryServing,
        records: &[ServingRecord],
    ) {
        self.progress.endpoints_judged(registry, serving, records);
        lock(&self.serving).push((label(registry), serving.clone(), records.to_vec()));
    }

    fn deployments_judged(&self, records: &[DriftRecord]) {
        self.progress.deployments_judged(records);
        lock(&self.deployments).extend(records.iter().cloned());
    }
}

/// What one survey read.
#[derive(Debug, Default)]
pub struct Collected {
    pub inventory: GovernanceInventory,
    pub registries: Vec<Registry>,
    pub groups: Vec<(String, GroupSnapshot, Vec<DriftRecord>)>,
    pub gone: Vec<(String, Vec<DriftRecord>)>,
    /// Per registry: its endpoints as read, and the findings about them.
    pub serving: Vec<(String, RegistryServing, Vec<ServingRecord>)>,
    /// Models whose `Deployments` field is out of step.
    pub deployments: Vec<DriftRecord>,
}

impl Collected {
    /// Package ARNs shown (all, or those of `group`), with their governance model's id when linked.
    pub fn packages(&self, group: Option<&str>) -> Vec<(ModelPackageArn, Option<GovernanceId>)> {
        self.groups
            .iter()
            .filter(|(_, snapshot, _)| group.is_none_or(|name| snapshot.name == name))
            .flat_map(|(_, snapshot, _)| snapshot.packages.iter())
            .map(|package| {
                let model = self
                    .inventory
                    .models_for(package.arn.as_str())
                    .first()
                    .map(|model| model.id.clone());
                (package.arn.clone(), model)
            })
            .collect()
    }
}

/// The report from what a survey read and the last sync time of each package (by ARN).
pub fn build(
    collected: &Collected,
    last_sync: &BTreeMap<String, DateTime<Utc>>,
    group_filter: Option<&str>,
    now: DateTime<Utc>,
) -> StatusReport {
    let inventory = &collected.inventory;
    let mut registries = Vec::new();
    let mut drift_total = 0;
    for registry in &collected.registries {
        let name = label(registry);
        let mut groups: Vec<GroupStatus> = collected
            .groups
            .iter()
            .filter(|(of, snapshot, _)| {
                *of == name && group_filter.is_none_or(|wanted| snapshot.name == wanted)
            })
            .map(|(_, snapshot, records)| {
                let use_case_id = use_case_tag(&snapshot.tags).ok();
                let packages = snapshot
                    .packages
                    .iter()
                    .map(|package| {
                        let model = inventory.models_for(package.arn.as_str()).first();
                        PackageStatus {
                            arn: package.arn.to_string(),
                            version: package.version,
                            package_status: package.status.map(|status| status.as_str().to_owned()),
                            approval: package.approval_status.map(|a| a.as_str().to_owned()),
                            stage: package.lifecycle.as_ref().map(|l| l.stage.to_string()),
                            stage_status: package
                                .lifecycle
                                .as_ref()
                                .map(|l| l.stage_status.to_string()),
                            governance_model_id: model.map(|m| m.id.to_string()),
                            governance_model: model.map(|m| m.name.clone()),
                            governance_status: model.and_then(|m| m.status.clone()),
                            last_sync: last_sync.get(package.arn.as_str()).copied(),
                            drifts: records
                                .iter()
                                .filter(|r| r.drift.package_arn.as_ref() == Some(&package.arn))
                                .map(DriftLine::of)
                                .collect(),
                        }
                    })
                    .collect();
                let group_drifts = records
                    .iter()
                    .filter(|r| {
                        r.drift
                            .package_arn
                            .as_ref()
                            .is_none_or(|arn| !snapshot.packages.iter().any(|p| &p.arn == arn))
                    })
                    .map(DriftLine::of)
                    .collect();
                GroupStatus {
                    group: snapshot.name.clone(),
                    arn: snapshot.arn.clone(),
                    use_case: use_case_id
                        .as_ref()
                        .and_then(|id| inventory.use_case_name(id))
                        .map(str::to_owned),
                    use_case_id: use_case_id.map(|id| id.to_string()),
                    packages,
                    drifts: group_drifts,
                }
            })
            .collect();
        groups.sort_by(|a, b| {
            (a.use_case_id.is_none(), &a.use_case_id, &a.group).cmp(&(
                b.use_case_id.is_none(),
                &b.use_case_id,
                &b.group,
            ))
        });
        let gone: Vec<DriftLine> = if group_filter.is_some() {
            Vec::new()
        } else {
            collected
                .gone
                .iter()
                .filter(|(of, _)| *of == name)
                .flat_map(|(_, records)| records.iter().map(DriftLine::of))
                .collect()
        };
        drift_total += gone.len()
            + groups
                .iter()
                .map(|g| g.drifts.len() + g.packages.iter().map(|p| p.drifts.len()).sum::<usize>())
                .sum::<usize>();
        registries.push(RegistryStatus {
            registry: name,
            business_entity: registry.business_entity.to_string(),
            groups,
            drifts: gone,
        });
    }
    let serving = serving_status(collected, group_filter);
    drift_total += serving
        .iter()
        .map(|registry| registry.findings.len() + registry.deployments.len())
        .sum::<usize>();
    StatusReport {
        generated_at: now,
        governance_models: inventory.model_count(),
        registries,
        serving,
        drifts: drift_total,
    }
}

/// Whether a drift is about a package of `group` (every drift when there is no filter).
fn of_group(record: &DriftRecord, group_filter: Option<&str>) -> bool {
    group_filter.is_none_or(|wanted| {
        record
            .drift
            .group
            .as_deref()
            .is_some_and(|group| group.eq_ignore_ascii_case(wanted))
    })
}

/// The serving section: per registry read, its endpoint findings and its Models' `Deployments` drift.
fn serving_status(collected: &Collected, group_filter: Option<&str>) -> Vec<ServingStatus> {
    collected
        .serving
        .iter()
        .map(|(registry, serving, records)| ServingStatus {
            registry: registry.clone(),
            endpoints: serving.endpoints.len(),
            unread: serving.unread.clone(),
            findings: records
                .iter()
                .filter(|finding| of_group(&finding.record, group_filter))
                .map(|finding| {
                    let drift = &finding.record.drift;
                    EndpointFinding {
                        endpoint: finding.endpoint.clone(),
                        endpoint_arn: finding.endpoint_arn.clone(),
                        stage: finding.stage.clone(),
                        package_arn: drift.package_arn.as_ref().map(ToString::to_string),
                        governance_model_id: drift.governance_id.as_ref().map(ToString::to_string),
                        kind: drift.kind.as_str().to_owned(),
                        detail: drift.detail.clone(),
                        repair: drift.repair.action().to_owned(),
                    }
                })
                .collect(),
            deployments: collected
                .deployments
                .iter()
                .filter(|record| record.drift.registry == *registry)
                .filter(|record| of_group(record, group_filter))
                .map(|record| DeploymentsFinding {
                    governance_model_id: record
                        .drift
                        .governance_id
                        .as_ref()
                        .map(ToString::to_string),
                    package_arn: record.drift.package_arn.as_ref().map(ToString::to_string),
                    detail: record.drift.detail.clone(),
                    repair: record.drift.repair.action().to_owned(),
                })
                .collect(),
        })
        .collect()
}

/// `v3` for a versioned package ARN.
fn version_label(arn: Option<&str>) -> String {
    arn.and_then(|arn| arn.rsplit_once('/'))
        .map(|(_, version)| format!("v{version}"))
        .unwrap_or_else(|| "-".to_owned())
}

/// The serving section of the readable report.
fn render_serving(serving: &[ServingStatus]) -> String {
    let mut out = String::new();
    if serving.is_empty() {
        return out;
    }
    out.push_str("serving (read-only: govsync never stops or changes an endpoint)\n");
    for registry in serving {
        out.push_str(&format!(
            "  registry {}: {} endpoint{} read",
            registry.registry,
            registry.endpoints,
            if registry.endpoints == 1 { "" } else { "s" }
        ));
        match &registry.unread {
            Some(reason) => out.push_str(&format!("; not read: {reason}\n")),
            None => out.push('\n'),
        }
        if !registry.findings.is_empty() {
            let rows: Vec<Vec<String>> = registry
                .findings
                .iter()
                .map(|finding| {
                    vec![
                        finding.endpoint.clone(),
                        or_dash(finding.stage.as_ref()),
                        version_label(finding.package_arn.as_deref()),
                        or_dash(finding.governance_model_id.as_ref()),
                        finding.kind.clone(),
                        finding.detail.clone(),
                    ]
                })
                .collect();
            let table = output::table(
                &[
                    "endpoint",
                    "stage",
                    "version",
                    "governance model",
                    "finding",
                    "detail",
                ],
                &rows,
            );
            for line in table.lines() {
                out.push_str("    ");
                out.push_str(line);
                out.push('\n');
            }
        }
        for deployments in &registry.deployments {
            out.push_str(&format!(
                "    deployments_out_of_step: model {} ({}) → {}: {}\n",
                or_dash(deployments.governance_model_id.as_ref()),
                version_label(deployments.package_arn.as_deref()),
                deployments.repair,
                deployments.detail
            ));
        }
    }
    out.push('\n');
    out
}

fn drift_cell(drifts: &[DriftLine]) -> String {
    if drifts.is_empty() {
        "in sync".to_owned()
    } else {
        drifts
            .iter()
            .map(|d| format!("{} → {}", d.kind, d.repair))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The readable report.
pub fn render(report: &StatusReport) -> String {
    let mut out = String::new();
    for registry in &report.registries {
        let packages: usize = registry.groups.iter().map(|g| g.packages.len()).sum();
        out.push_str(&format!(
            "registry {} ({}): {} group{}, {} package{}\n",
            registry.registry,
            registry.business_entity,
            registry.groups.len(),
            if registry.groups.len() == 1 { "" } else { "s" },
            packages,
            if packages == 1 { "" } else { "s" },
        ));
        for group in &registry.groups {
            let use_case = match (&group.use_case_id, &group.use_case) {
                (Some(id), Some(name)) => format!("use case {id} {name:?}"),
                (Some(id), None) => format!("use case {id} (not in governance)"),
                (None, _) => "no use case (unassigned)".to_owned(),
            };
            out.push_str(&format!("\n  {use_case} · group {}\n", group.group));
            for drift in &group.drifts {
                out.push_str(&format!(
                    "    group drift: {} → {}: {}\n",
                    drift.kind, drift.repair, drift.detail
                ));
            }
            if group.packages.is_empty() {
                out.push_str("    (no registered packages)\n");
                continue;
            }
            let rows: Vec<Vec<String>> = group
                .packages
                .iter()
                .map(|p| {
                    vec![
                        or_dash(p.version.map(|v| v.to_string())),
                        or_dash(p.approval.as_ref()),
                        match (&p.stage, &p.stage_status) {
                            (Some(stage), Some(status)) => format!("{stage}/{status}"),
                            _ => "-".to_owned(),
                        },
                        or_dash(p.governance_model_id.as_ref()),
                        or_dash(p.governance_status.as_ref()),
                        or_dash(
                            p.last_sync
                                .map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string()),
                        ),
                        drift_cell(&p.drifts),
                    ]
                })
                .collect();
            let table = output::table(
                &[
                    "version",
                    "sagemaker approval",
                    "lifecycle",
                    "governance model",
                    "governance status",
                    "last sync",
                    "drift",
                ],
                &rows,
            );
            for line in table.lines() {
                out.push_str("    ");
                out.push_str(line);
                out.push('\n');
            }
        }
        for drift in &registry.drifts {
            out.push_str(&format!(
                "  drift (group gone): {} → {}: {}\n",
                drift.kind, drift.repair, drift.detail
            ));
        }
        out.push('\n');
    }
    out.push_str(&render_serving(&report.serving));
    let about_endpoints: usize = report
        .serving
        .iter()
        .map(|registry| registry.findings.len())
        .sum();
    out.push_str(&format!(
        "{} governance models; {}{}\n",
        report.governance_models,
        match report.drifts {
            0 => "no drift".to_owned(),
            1 if about_endpoints == 0 => "1 drift (govsync reconcile repairs it)".to_owned(),
            n if about_endpoints == 0 => format!("{n} drifts (govsync reconcile repairs them)"),
            1 => "1 drift".to_owned(),
            n => format!("{n} drifts"),
        },
        match about_endpoints {
            0 => String::new(),
            1 => "; 1 is about an endpoint, which govsync only reports".to_owned(),
            n => format!("; {n} are about endpoints, which govsync only reports"),
        }
    ));
    out
}

pub async fn run(args: &StatusArgs, json: bool) -> Result<Exit, CliError> {
    let sdk = govsync_adapters::aws::load_sdk_config().await;
    let lookup = govsync_lambda::config::process_env_with_registries(&sdk)
        .await
        .map_err(|error| CliError::Config(error.to_string()))?;
    let config = Config::from_lookup(lookup)?;
    let links = DynamoLinkStore::new(
        govsync_adapters::aws::dynamodb_client(&sdk),
        config.base.links_table.clone(),
    );
    let function = Function::new(config, &sdk).await?;
    let collector = StatusCollector::new(Progress::new(args.quiet || json));
    function
        .reconcile_observed(
            &RunOptions {
                dry_run: true,
                deadline: None,
            },
            &collector,
        )
        .await?;
    let collected = collector.into_parts();
    let last_sync = last_sync_times(&links, collected.packages(args.group.as_deref())).await?;
    let report = build(&collected, &last_sync, args.group.as_deref(), Utc::now());
    if json {
        output::print_json(&serde_json::to_value(&report).unwrap_or_default());
    } else {
        output::print(&render(&report));
    }
    Ok(if report.drifts == 0 {
        Exit::Ok
    } else {
        Exit::Drift
    })
}

/// A package ARN and when it was last synced.
type PackageSync = (String, Option<DateTime<Utc>>);

/// The latest sync time of each package: its own entries in the links table and its model's.
async fn last_sync_times(
    links: &DynamoLinkStore,
    packages: Vec<(ModelPackageArn, Option<GovernanceId>)>,
) -> Result<BTreeMap<String, DateTime<Utc>>, CliError> {
    let times: Vec<Result<PackageSync, CliError>> = stream::iter(packages)
        .map(|(arn, model)| async move {
            let registry_side = links
                .last_synced_at(&LinkEnd::Registry((&arn).into()))
                .await?;
            let governance_side = match model {
                Some(id) => links.last_synced_at(&LinkEnd::Governance(id)).await?,
                None => None,
            };
            Ok((arn.to_string(), registry_side.max(governance_side)))
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let mut out = BTreeMap::new();
    for time in times {
        if let (arn, Some(at)) = time? {
            out.insert(arn, at);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
