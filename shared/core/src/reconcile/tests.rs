use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::customer_metadata::keys;
use crate::governance::GovernanceId;
use crate::mapping::MappingSpec;
use crate::model_card::{CardDecision, CardFacts, PackageCard};
use crate::model_package::ApprovalStatus;
use crate::model_package::{ModelPackageArn, ModelPackageGroupName, ModelPackageStatus};
use crate::ports::registry::{ModelLifecycle, ModelPackage};
use crate::ports::{Field, QueryRow};
use crate::registry_map::{Registry, RegistryMap};
use crate::sync::GateMode;

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";
const GROUP: &str = "fraud-4711";
const GROUP_ARN: &str = "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/fraud-4711";

fn arn(version: u32) -> String {
    format!("arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{GROUP}/{version}")
}

fn id(text: &str) -> GovernanceId {
    GovernanceId::parse(text).unwrap()
}

fn registry() -> Registry {
    RegistryMap::parse(&format!(
        r#"[{{"account":"{ACCOUNT}","region":"{REGION}","business_entity":"Retail"}}]"#
    ))
    .unwrap()
    .registries()[0]
        .clone()
}

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).unwrap()
}

fn row(id_text: &str, fields: &[(&str, &str)]) -> QueryRow {
    QueryRow {
        id: Some(id(id_text)),
        fields: fields
            .iter()
            .map(|(name, value)| Field::text(*name, *value))
            .collect(),
    }
}

/// A package in step with model `100` (status `Under Development`) of model group `10`, use case `1`.
fn synced_package(version: u32) -> ModelPackage {
    ModelPackage {
        group_name: Some(ModelPackageGroupName::parse(GROUP).unwrap()),
        version: Some(version as i32),
        status: Some(ModelPackageStatus::Completed),
        approval_status: Some(ApprovalStatus::PendingManualApproval),
        last_modified_time: Some(t0()),
        lifecycle: Some(ModelLifecycle::parse("Development", "InProgress", None).unwrap()),
        customer_metadata: BTreeMap::from([
            (keys::USE_CASE_ID.into(), "1".into()),
            (keys::MODEL_GROUP_ID.into(), "10".into()),
            (keys::MODEL_ID.into(), format!("{}", 100 + version)),
        ]),
        ..ModelPackage::new(ModelPackageArn::parse(&arn(version)).unwrap())
    }
}

struct Case {
    name: &'static str,
    tags: Vec<(String, String)>,
    packages: Vec<ModelPackage>,
    /// (id, external id, status, last modified)
    models: Vec<(String, String, Option<&'static str>, DateTime<Utc>)>,
    gate: GateMode,
    expected: Vec<(DriftKind, &'static str)>,
}

fn tagged() -> Vec<(String, String)> {
    vec![(keys::USE_CASE_ID.into(), "1".into())]
}

fn model(
    version: u32,
    status: Option<&'static str>,
) -> (String, String, Option<&'static str>, DateTime<Utc>) {
    (format!("{}", 100 + version), arn(version), status, t0())
}

fn inventory(
    models: &[(String, String, Option<&'static str>, DateTime<Utc>)],
) -> GovernanceInventory {
    let use_cases = [row(
        "1",
        &[
            ("Name", "Fraud"),
            (fields::USE_CASE_STATUS, "Approved for Development"),
        ],
    )];
    let groups = [row(
        "10",
        &[("Name", GROUP), (fields::EXTERNAL_ID, GROUP_ARN)],
    )];
    let models: Vec<QueryRow> = models
        .iter()
        .map(|(model_id, external, status, modified)| {
            let modified = modified.to_rfc3339();
            let mut fields_of = vec![("Name", "m"), (fields::EXTERNAL_ID, external.as_str())];
            if let Some(status) = status {
                fields_of.push((fields::MODEL_STATUS, status));
            }
            fields_of.push((LAST_MODIFICATION_DATE, modified.as_str()));
            row(model_id, &fields_of)
        })
        .collect();
    GovernanceInventory::from_rows(&use_cases, &groups, &models)
}

/// The Model Card govsync writes for a package whose model is `model_id` with `status`.
fn synced_card(model_id: &str, status: Option<&str>) -> PackageCard {
    let facts = CardFacts {
        use_case_id: "1".into(),
        use_case_name: "Fraud".into(),
        business_entity: "Retail".into(),
        governance_status: status.map(str::to_owned),
        model_id: Some(model_id.into()),
        ..CardFacts::default()
    };
    match crate::model_card::merge(None, &facts) {
        CardDecision::Write(write) => PackageCard {
            content: Some(write.content),
            status: Some(write.status),
        },
        other => panic!("{other:?}"),
    }
}

/// Runs a case whose packages without a card hold the one govsync would have written (the card's
/// own drift is tested apart).
fn run(case: &Case) -> Vec<Drift> {
    let packages = case
        .packages
        .iter()
        .cloned()
        .map(|mut package| {
            if package.facts.model_card.is_none()
                && let Some((model_id, _, status, _)) = case
                    .models
                    .iter()
                    .find(|(_, external, _, _)| external == package.arn.as_str())
            {
                package.facts.model_card = Some(synced_card(model_id, *status));
            }
            package
        })
        .collect();
    run_exactly(case, packages)
}

fn run_exactly(case: &Case, packages: Vec<ModelPackage>) -> Vec<Drift> {
    let mapping = MappingSpec::builtin().unwrap();
    let group = GroupSnapshot {
        summarized: Default::default(),
        name: GROUP.into(),
        arn: GROUP_ARN.into(),
        tags: case.tags.clone(),
        packages,
    };
    compare_group(
        &registry(),
        &group,
        &inventory(&case.models),
        CompareSettings {
            mapping: &mapping,
            gate: case.gate,
            model_links: None,
        },
    )
}

fn with(mut package: ModelPackage, change: impl FnOnce(&mut ModelPackage)) -> ModelPackage {
    change(&mut package);
    package
}

#[test]
fn every_drift_kind_is_found_with_its_repair() {
    let cases = vec![
        Case {
            name: "in step",
            tags: tagged(),
            packages: vec![synced_package(1)],
            models: vec![model(1, Some("Under Development"))],
            gate: GateMode::Enforce,
            expected: vec![],
        },
        Case {
            name: "model card out of step with governance",
            tags: tagged(),
            packages: vec![with(synced_package(1), |p| {
                p.facts.model_card = Some(synced_card("101", Some("Approved for Development")))
            })],
            models: vec![model(1, Some("Under Development"))],
            gate: GateMode::Enforce,
            expected: vec![(DriftKind::ModelCardOutOfStep, "sync_package")],
        },
        Case {
            name: "package not in governance",
            tags: tagged(),
            packages: vec![synced_package(1), synced_package(2)],
            models: vec![model(1, Some("Under Development"))],
            gate: GateMode::Enforce,
            expected: vec![(DriftKind::PackageNotInGovernance, "sync_package")],
        },
        Case {
            name: "model whose package is gone",
            tags: tagged(),
            packages: vec![synced_package(1)],
            models: vec![
                model(1, Some("Under Development")),
                model(2, Some("In Production")),
            ],
            gate: GateMode::Enforce,
            expected: vec![(DriftKind::ModelPackageGone, "decommission_model")],
        },
        Case {
            name: "a decommissioned model whose package is gone is in step",
            tags: tagged(),
            packages: vec![synced_package(1)],
            models: vec![
                model(1, Some("Under Development")),
                model(2, Some("Decommissioned")),
            ],
            gate: GateMode::Enforce,
            expected: vec![],
        },
        Case {
            name: "archived package, active model",
            tags: tagged(),
            packages: vec![with(synced_package(1), |p| {
                p.lifecycle = Some(ModelLifecycle::parse("Archived", "Retired", None).unwrap())
            })],
            models: vec![model(1, Some("In Production"))],
            gate: GateMode::Enforce,
            expected: vec![(DriftKind::ModelPackageGone, "decommission_model")],
        },
        Case {
            name: "governance moved on (to_registry row): governance drives",
            tags: tagged(),
            packages: vec![synced_package(1)],
            models: vec![model(1, Some("Approved for Production"))],
            gate: GateMode::Enforce,
            expected: vec![(DriftKind::StatusOutOfStep, "propagate_status")],
        },
        Case {
            name: "registry moved on a both row, after governance: registry drives",
            tags: tagged(),
            packages: vec![with(synced_package(1), |p| {
                p.lifecycle = Some(ModelLifecycle::parse("Development", "Complete", None).unwrap());
                p.last_modified_time = Some(t0() + Duration::minutes(5));
            })],
            models: vec![model(1, Some("Under Development"))],
            gate: GateMode::Enforce,
            expected: vec![(DriftKind::StatusOutOfStep, "sync_package")],
        },
        Case {
            name: "registry on a both row but governance changed last: governance drives",
            tags: tagged(),
            packages: vec![with(synced_package(1), |p| {
                p.lifecycle = Some(ModelLifecycle::parse("Development", "Complete", None).unwrap());
                p.last_modified_time = Some(t0() - Duration::minutes(5));
            })],
            models: vec![model(1, Some("Under Development"))],
            gate: GateMode::Enforce,
            expected: vec![(DriftKind::StatusOutOfStep, "propagate_status")],
        },
        Case {
            name: "decommissioned in governance, package live",
            tags: tagged(),
            packages: vec![synced_package(1)],
            models: vec![model(1, Some("Decommissioned"))],
            gate: GateMode::Enforce,
            expected: vec![(DriftKind::StatusOutOfStep, "archive_package")],
        },
        Case {
            name: "shadow approval, enforce",
            tags: tagged(),
            packages: vec![with(synced_package(1), |p| {
                p.approval_status = Some(ApprovalStatus::Approved)
            })],
            models: vec![model(1, Some("Under Development"))],
            gate: GateMode::Enforce,
            expected: vec![(DriftKind::ShadowApproval, "sync_package")],
        },
        Case {
            name: "shadow approval, alert: reported only",
            tags: tagged(),
            packages: vec![with(synced_package(1), |p| {
                p.approval_status = Some(ApprovalStatus::Approved)
            })],
            models: vec![model(1, Some("Under Development"))],
            gate: GateMode::Alert,
            expected: vec![(DriftKind::ShadowApproval, "report_only")],
        },
        Case {
            name: "approval governance grants is no shadow",
            tags: tagged(),
            packages: vec![with(synced_package(1), |p| {
                p.approval_status = Some(ApprovalStatus::Approved);
                p.lifecycle = Some(ModelLifecycle::parse("Production", "Deployed", None).unwrap());
            })],
            models: vec![model(1, Some("In Production"))],
            gate: GateMode::Enforce,
            expected: vec![],
        },
        Case {
            name: "unassigned group",
            tags: vec![],
            packages: vec![synced_package(1)],
            models: vec![],
            gate: GateMode::Enforce,
            expected: vec![(DriftKind::UnassignedGroup, "report_only")],
        },
        Case {
            name: "group tag naming a missing use case",
            tags: vec![(keys::USE_CASE_ID.into(), "999".into())],
            packages: vec![synced_package(1)],
            models: vec![],
            gate: GateMode::Enforce,
            expected: vec![(DriftKind::DanglingLink, "report_only")],
        },
        Case {
            name: "write-back pointing nowhere",
            tags: tagged(),
            packages: vec![with(synced_package(1), |p| {
                p.customer_metadata
                    .insert(keys::MODEL_ID.into(), "4040".into());
            })],
            models: vec![model(1, Some("Under Development"))],
            gate: GateMode::Enforce,
            expected: vec![(DriftKind::DanglingLink, "sync_package")],
        },
        Case {
            name: "write-back missing",
            tags: tagged(),
            packages: vec![with(synced_package(1), |p| p.customer_metadata.clear())],
            models: vec![model(1, None)],
            gate: GateMode::Enforce,
            expected: vec![(DriftKind::DanglingLink, "sync_package")],
        },
        Case {
            name: "duplicate models",
            tags: tagged(),
            packages: vec![synced_package(1)],
            models: vec![
                model(1, Some("Under Development")),
                ("555".into(), arn(1), Some("Under Development"), t0()),
            ],
            gate: GateMode::Enforce,
            expected: vec![(DriftKind::DuplicateModels, "report_only")],
        },
        Case {
            name: "unknown governance status",
            tags: tagged(),
            packages: vec![synced_package(1)],
            models: vec![model(1, Some("Sunsetting"))],
            gate: GateMode::Enforce,
            expected: vec![(DriftKind::UnknownGovernanceStatus, "report_only")],
        },
        Case {
            name: "packages still being registered are left alone",
            tags: tagged(),
            packages: vec![with(synced_package(2), |p| {
                p.status = Some(ModelPackageStatus::InProgress)
            })],
            models: vec![],
            gate: GateMode::Enforce,
            expected: vec![],
        },
    ];
    let mut kinds_seen = BTreeSet::new();
    for case in &cases {
        let drifts = run(case);
        let found: Vec<(DriftKind, &str)> =
            drifts.iter().map(|d| (d.kind, d.repair.action())).collect();
        assert_eq!(found, case.expected, "{}: {drifts:#?}", case.name);
        kinds_seen.extend(found.iter().map(|(kind, _)| *kind));
    }
    // Two model groups carry the group's ARN (issue 13, 3: reported as well as duplicate models).
    let mapping = MappingSpec::builtin().unwrap();
    let groups = [
        row("10", &[("Name", GROUP), (fields::EXTERNAL_ID, GROUP_ARN)]),
        row("11", &[("Name", GROUP), (fields::EXTERNAL_ID, GROUP_ARN)]),
    ];
    let use_cases = [row(
        "1",
        &[
            ("Name", "Fraud"),
            (fields::USE_CASE_STATUS, "Approved for Development"),
        ],
    )];
    let duplicated = GovernanceInventory::from_rows(&use_cases, &groups, &[]);
    let drifts = compare_group(
        &registry(),
        &GroupSnapshot {
            summarized: Default::default(),
            name: GROUP.into(),
            arn: GROUP_ARN.into(),
            tags: tagged(),
            packages: vec![],
        },
        &duplicated,
        CompareSettings {
            mapping: &mapping,
            gate: GateMode::Enforce,
            model_links: None,
        },
    );
    let found: Vec<(DriftKind, &str)> =
        drifts.iter().map(|d| (d.kind, d.repair.action())).collect();
    assert_eq!(
        found,
        [(DriftKind::DuplicateModelGroups, "report_only")],
        "{drifts:#?}"
    );
    assert!(drifts[0].detail.contains("10") && drifts[0].detail.contains("11"));
    kinds_seen.extend(found.iter().map(|(kind, _)| *kind));
    kinds_seen.extend(
        stale_link_drifts()
            .iter()
            .map(|(kind, _)| *kind)
            .collect::<Vec<_>>(),
    );
    // Judged outside the group comparison: what endpoints serve (`crate::serving`, tested there) and
    // an artifact read against the fingerprint of its approval.
    let elsewhere = [
        DriftKind::ArtifactChangedSinceApproval,
        DriftKind::ArtifactUnverifiable,
        DriftKind::EndpointServingUnapproved,
        DriftKind::EndpointServingDecommissioned,
        DriftKind::EndpointServingOtherArtifact,
        DriftKind::DeploymentsOutOfStep,
    ];
    assert_eq!(
        kinds_seen,
        DriftKind::ALL
            .into_iter()
            .filter(|kind| !elsewhere.contains(kind))
            .collect(),
        "every kind has a case"
    );
}

#[test]
fn models_of_a_vanished_group_are_gone() {
    let inventory = inventory(&[
        model(1, Some("In Production")),
        model(2, Some("Decommissioned")),
    ]);
    let listed = BTreeSet::from(["other-group".to_owned()]);
    let drifts = compare_missing_groups(&registry(), &listed, &inventory);
    assert_eq!(drifts.len(), 1, "{drifts:#?}");
    assert_eq!(drifts[0].kind, DriftKind::ModelPackageGone);
    assert_eq!(drifts[0].governance_id, Some(id("101")));
    let listed = BTreeSet::from([GROUP.to_ascii_uppercase()]);
    assert!(compare_missing_groups(&registry(), &listed, &inventory).is_empty());
}

#[test]
fn models_of_other_registries_are_not_this_registrys_business() {
    let foreign = "arn:aws:sagemaker:eu-west-1:999999999999:model-package/x/1".to_owned();
    let inventory = inventory(&[(String::from("7"), foreign, Some("In Production"), t0())]);
    assert!(compare_missing_groups(&registry(), &BTreeSet::new(), &inventory).is_empty());
}

#[test]
fn the_table_has_a_header_and_one_line_per_drift() {
    let drifts = run(&Case {
        name: "two",
        tags: tagged(),
        packages: vec![synced_package(1), synced_package(2)],
        models: vec![model(1, Some("Approved for Production"))],
        gate: GateMode::Enforce,
        expected: vec![],
    });
    let table = drift_table(drifts.iter().map(|d| (d, "planned")));
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(lines[0].starts_with("KIND"));
    assert!(table.contains("status_out_of_step") && table.contains("package_not_in_governance"));
    assert!(table.contains("v2"));
}

#[test]
fn drifts_serialise_with_snake_case_kinds_and_tagged_repairs() {
    let drift = Drift {
        kind: DriftKind::ModelPackageGone,
        registry: "123456789012/us-east-1".into(),
        group: Some(GROUP.into()),
        package_arn: Some(ModelPackageArn::parse(&arn(2)).unwrap()),
        governance_id: Some(id("7")),
        detail: "gone".into(),
        repair: Repair::DecommissionModel {
            model_id: id("7"),
            package_arn: ModelPackageArn::parse(&arn(2)).unwrap(),
            archived: false,
        },
    };
    let value = serde_json::to_value(&drift).unwrap();
    assert_eq!(value["kind"], "model_package_gone");
    assert_eq!(value["repair"]["action"], "decommission_model");
    assert_eq!(value["repair"]["model_id"], "7");
    let back: Drift = serde_json::from_value(value).unwrap();
    assert_eq!(back, drift);
}

fn kinds_and_actions(drifts: &[Drift]) -> Vec<(DriftKind, &'static str)> {
    drifts
        .iter()
        .map(|drift| (drift.kind, drift.repair.action()))
        .collect()
}

#[test]
fn a_lifecycle_that_claims_deployment_without_governance_approval_is_never_in_sync() {
    let deployed = |approval| {
        with(synced_package(1), |p| {
            p.approval_status = Some(approval);
            p.lifecycle = Some(ModelLifecycle::parse("PreProduction", "Deployed", None).unwrap());
        })
    };
    // As the gate left it before issue 19: the approval reverted, the lifecycle not.
    for (approval, status) in [
        (ApprovalStatus::PendingManualApproval, None),
        (ApprovalStatus::Approved, None),
        (
            ApprovalStatus::PendingManualApproval,
            Some("Under Development"),
        ),
    ] {
        for (gate, action) in [
            (GateMode::Enforce, "sync_package"),
            (GateMode::Alert, "report_only"),
        ] {
            let drifts = run(&Case {
                name: "deployment claim",
                tags: tagged(),
                packages: vec![deployed(approval)],
                models: vec![model(1, status)],
                gate,
                expected: vec![],
            });
            assert!(
                kinds_and_actions(&drifts).contains(&(DriftKind::ShadowApproval, action)),
                "{approval} {status:?} {gate:?}: {drifts:?}"
            );
        }
    }
    // Governance approves: a deployment on its `both` row is no shadow.
    let drifts = run(&Case {
        name: "approved",
        tags: tagged(),
        packages: vec![deployed(ApprovalStatus::Approved)],
        models: vec![model(1, Some("Deployed for Validation"))],
        gate: GateMode::Enforce,
        expected: vec![],
    });
    assert!(drifts.is_empty(), "{drifts:?}");
}

#[test]
fn a_rejection_in_sagemaker_of_a_model_without_status_is_reported() {
    let drifts = run(&Case {
        name: "rejected",
        tags: tagged(),
        packages: vec![with(synced_package(1), |p| {
            p.approval_status = Some(ApprovalStatus::Rejected)
        })],
        models: vec![model(1, None)],
        gate: GateMode::Enforce,
        expected: vec![],
    });
    assert_eq!(
        kinds_and_actions(&drifts),
        [(DriftKind::StatusOutOfStep, "report_only")]
    );
}

#[test]
fn the_packed_write_back_is_read_and_checked() {
    let packed = |value: &str| {
        with(synced_package(1), |p| {
            p.customer_metadata = BTreeMap::from([(keys::LINKS.into(), value.into())]);
        })
    };
    let compare = |package| {
        run(&Case {
            name: "packed",
            tags: tagged(),
            packages: vec![package],
            models: vec![model(1, Some("Under Development"))],
            gate: GateMode::Enforce,
            expected: vec![],
        })
    };
    assert!(compare(packed("model=101 model-group=10 use-case=1 name=Fraud")).is_empty());
    assert_eq!(
        kinds_and_actions(&compare(packed("model=999 model-group=10 use-case=1"))),
        [(DriftKind::DanglingLink, "sync_package")]
    );
}

#[test]
fn a_card_out_of_step_with_governance_is_resynced_unless_archived() {
    let case = |packages: Vec<ModelPackage>| Case {
        name: "card",
        tags: tagged(),
        packages,
        models: vec![model(1, Some("Under Development"))],
        gate: GateMode::Enforce,
        expected: vec![],
    };
    let kinds = |drifts: Vec<Drift>| {
        drifts
            .into_iter()
            .map(|d| (d.kind, d.repair.action(), d.detail))
            .collect::<Vec<_>>()
    };
    let in_step = with(synced_package(1), |p| {
        p.facts.model_card = Some(synced_card("101", Some("Under Development")))
    });
    let c = case(vec![in_step.clone()]);
    assert_eq!(kinds(run_exactly(&c, c.packages.clone())), vec![]);
    let stale = with(synced_package(1), |p| {
        p.facts.model_card = Some(synced_card("101", Some("Approved for Development")))
    });
    let c = case(vec![stale]);
    assert_eq!(
        kinds(run_exactly(&c, c.packages.clone())),
        vec![(
            DriftKind::ModelCardOutOfStep,
            "sync_package",
            "model card differs from governance: govsync_governance_status".to_owned()
        )]
    );
    let none = synced_package(1);
    let c = case(vec![none]);
    assert_eq!(
        kinds(run_exactly(&c, c.packages.clone())),
        vec![(
            DriftKind::ModelCardOutOfStep,
            "sync_package",
            "model card differs from governance: all".to_owned()
        )]
    );
    let archived = with(synced_package(1), |p| {
        let mut card = synced_card("101", Some("Approved for Development"));
        card.status = Some("Archived".into());
        p.facts.model_card = Some(card);
    });
    let c = case(vec![archived]);
    assert_eq!(
        kinds(run_exactly(&c, c.packages.clone()))
            .into_iter()
            .map(|(kind, action, _)| (kind, action))
            .collect::<Vec<_>>(),
        vec![(DriftKind::ModelCardOutOfStep, "report_only")]
    );
}

const LINK_KEY: &str = "model-link-key-0123456789abcdef0123456789abcdef";

/// A synced package whose Model's link was signed with a key since rotated away.
fn stale_link_drifts() -> Vec<(DriftKind, &'static str)> {
    let links = crate::model_link::ModelLinks::new(
        "https://api.example.com/models/link",
        crate::model_link::LinkKeys::from_current(LINK_KEY).unwrap(),
    )
    .unwrap();
    let old = crate::model_link::ModelLinks::new(
        "https://api.example.com/models/link",
        crate::model_link::LinkKeys::from_current("retired-key-0123456789abcdef0123456789abcd")
            .unwrap(),
    )
    .unwrap();
    let mapping = MappingSpec::builtin().unwrap();
    let package = with(synced_package(1), |p| {
        p.facts.model_card = Some(synced_card("101", Some("Under Development")))
    });
    let compare = |link: String| {
        let mut inventory = inventory(&[model(1, Some("Under Development"))]);
        inventory.set_model_link(&arn(1), &link);
        compare_group(
            &registry(),
            &GroupSnapshot {
                summarized: Default::default(),
                name: GROUP.into(),
                arn: GROUP_ARN.into(),
                tags: tagged(),
                packages: vec![package.clone()],
            },
            &inventory,
            CompareSettings {
                mapping: &mapping,
                gate: GateMode::Enforce,
                model_links: Some(&links),
            },
        )
        .iter()
        .map(|d| (d.kind, d.repair.action()))
        .collect::<Vec<_>>()
    };
    let arn_of = govsync_core_arn(1);
    assert_eq!(
        compare(links.link_for(&arn_of)),
        vec![],
        "the current link is in step"
    );
    let stale = compare(old.link_for(&arn_of));
    assert_eq!(stale, vec![(DriftKind::ModelLinkStale, "sync_package")]);
    stale
}

fn govsync_core_arn(version: u32) -> crate::model_package::ModelPackageArn {
    crate::model_package::ModelPackageArn::parse(&arn(version)).unwrap()
}

/// What the fast pass asks of a package known by its batch summary alone.
fn suspect_of(
    package: &ModelPackage,
    models: &[(String, String, Option<&'static str>, DateTime<Utc>)],
    tags: &[(String, String)],
) -> Option<&'static str> {
    let mapping = MappingSpec::builtin().unwrap();
    let inventory = inventory(models);
    let summary = crate::ports::batch::SummarizedPackage::of_description(package).package;
    summary_suspect(
        &summary,
        assigned_use_case(tags, &inventory).as_ref(),
        &inventory,
        CompareSettings {
            mapping: &mapping,
            gate: GateMode::Enforce,
            model_links: None,
        },
    )
}

#[test]
fn the_fast_pass_clears_in_step_summaries_and_suspects_what_a_summary_shows() {
    let synced = synced_package(1);
    let in_step = [model(1, Some("Under Development"))];
    assert_eq!(suspect_of(&synced, &in_step, &tagged()), None);
    // New: no governance model in an assigned group; in an unassigned one only an approval matters.
    assert!(suspect_of(&synced, &[], &tagged()).is_some());
    assert_eq!(suspect_of(&synced, &[], &[]), None);
    let approved = with(synced.clone(), |p| {
        p.approval_status = Some(ApprovalStatus::Approved)
    });
    assert!(suspect_of(&approved, &[], &[]).is_some());
    // Approval changed on either side, and the shadow approval.
    assert!(suspect_of(&approved, &in_step, &tagged()).is_some());
    assert!(
        suspect_of(
            &synced,
            &[model(1, Some("Approved for Deployment"))],
            &tagged()
        )
        .is_some()
    );
    // Deleted in SageMaker while its model lives; once decommissioned, nothing to do.
    let deleting = with(synced.clone(), |p| {
        p.status = Some(ModelPackageStatus::Deleting)
    });
    assert!(suspect_of(&deleting, &in_step, &tagged()).is_some());
    assert_eq!(
        suspect_of(
            &deleting,
            &[model(1, Some(DECOMMISSIONED_STATUS))],
            &tagged()
        ),
        None
    );
    // Several models, and a status the mapping does not know.
    let duplicate = [
        model(1, Some("Under Development")),
        ("999".into(), arn(1), Some("Under Development"), t0()),
    ];
    assert!(suspect_of(&synced, &duplicate, &tagged()).is_some());
    assert!(suspect_of(&synced, &[model(1, Some("Frozen"))], &tagged()).is_some());
    // Still registering: never compared.
    let pending = with(synced.clone(), |p| {
        p.status = Some(ModelPackageStatus::InProgress)
    });
    assert_eq!(suspect_of(&pending, &[], &tagged()), None);
}

#[test]
fn drift_a_summary_cannot_show_is_left_to_the_deep_pass() {
    let in_step = [model(1, Some("Under Development"))];
    // A write-back gone, a card out of step, a lifecycle changed: all in step as far as the summary
    // shows, and all found by the full comparison.
    let carded = with(synced_package(1), |p| {
        p.facts.model_card = Some(synced_card("101", Some("Under Development")))
    });
    let unlinked = with(carded.clone(), |p| p.customer_metadata.clear());
    let staged = with(carded.clone(), |p| {
        p.lifecycle = Some(ModelLifecycle::parse("Production", "Approved", None).unwrap())
    });
    let carded = with(carded, |p| p.facts.model_card = None);
    for package in [unlinked, carded, staged] {
        assert_eq!(suspect_of(&package, &in_step, &tagged()), None);
        let case = Case {
            name: "deep only",
            tags: tagged(),
            models: in_step.to_vec(),
            packages: vec![package.clone()],
            gate: GateMode::Enforce,
            expected: Vec::new(),
        };
        assert!(
            !run_exactly(&case, vec![package.clone()]).is_empty(),
            "{package:?}"
        );
        // Summarized, the package is listed (its model is not gone) but not compared.
        let mapping = MappingSpec::builtin().unwrap();
        let summarized = compare_group(
            &registry(),
            &GroupSnapshot {
                name: GROUP.into(),
                arn: GROUP_ARN.into(),
                tags: tagged(),
                summarized: BTreeSet::from([package.arn.clone()]),
                packages: vec![package],
            },
            &inventory(&in_step),
            CompareSettings {
                mapping: &mapping,
                gate: GateMode::Enforce,
                model_links: None,
            },
        );
        assert!(summarized.is_empty(), "{summarized:?}");
    }
}

#[test]
fn deep_slices_are_stable_and_even() {
    let slices = 24;
    let mut counts = vec![0usize; slices as usize];
    for version in 1..=24_000u32 {
        let package = ModelPackageArn::parse(&arn(version)).unwrap();
        let slice = deep_slice_of(&package, slices);
        assert_eq!(slice, deep_slice_of(&package, slices));
        counts[slice as usize] += 1;
    }
    // 1 000 a slice on average; every slice within a fifth of it.
    assert!(
        counts.iter().all(|count| (800..=1200).contains(count)),
        "{counts:?}"
    );
    assert_eq!(
        deep_slice_of(&ModelPackageArn::parse(&arn(1)).unwrap(), 1),
        0
    );
    assert_eq!(
        deep_slice_of(&ModelPackageArn::parse(&arn(1)).unwrap(), 0),
        0
    );
}
