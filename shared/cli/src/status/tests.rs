use govsync_core::RegistryMap;
use govsync_core::customer_metadata::keys;
use govsync_core::model_package::ApprovalStatus;
use govsync_core::ports::registry::{ModelLifecycle, ModelPackage};
use govsync_core::ports::{Field, FieldValue, QueryRow};
use govsync_core::reconcile::{Drift, DriftKind, Repair};
use govsync_core::sync::fields;
use govsync_reconciler::RepairOutcome;

use super::*;

const ARN_1: &str = "arn:aws:sagemaker:eu-west-1:111111111111:model-package/churn/1";
const ARN_2: &str = "arn:aws:sagemaker:eu-west-1:111111111111:model-package/churn/2";

fn registry() -> Registry {
    let map = RegistryMap::parse(
        r#"[{"account":"111111111111","region":"eu-west-1","business_entity":"Retail"}]"#,
    )
    .expect("map");
    map.registries()[0].clone()
}

fn id(text: &str) -> GovernanceId {
    GovernanceId::parse(text).expect("id")
}

fn row(id_text: &str, fields: Vec<(&str, &str)>) -> QueryRow {
    QueryRow {
        id: Some(id(id_text)),
        fields: fields
            .into_iter()
            .map(|(name, value)| Field {
                name: name.to_owned(),
                value: FieldValue::Text(value.to_owned()),
            })
            .collect(),
    }
}

fn package(arn: &str, version: i32, approval: ApprovalStatus) -> ModelPackage {
    ModelPackage {
        version: Some(version),
        status: Some(govsync_core::ModelPackageStatus::Completed),
        approval_status: Some(approval),
        lifecycle: Some(ModelLifecycle::parse("Development", "InProgress", None).unwrap()),
        ..ModelPackage::new(govsync_core::ModelPackageArn::parse(&String::from(arn)).unwrap())
    }
}

fn collected() -> Collected {
    let inventory = GovernanceInventory::from_rows(
        &[row("UC-7", vec![("Name", "Churn")])],
        &[],
        &[row(
            "MOD-1",
            vec![
                ("Name", "churn v1"),
                (fields::EXTERNAL_ID, ARN_1),
                (fields::MODEL_STATUS, "Under Development"),
            ],
        )],
    );
    let registry = registry();
    let shadow = DriftRecord {
        pass: Default::default(),
        drift: Drift {
            kind: DriftKind::PackageNotInGovernance,
            registry: "111111111111/eu-west-1".to_owned(),
            group: Some("churn".to_owned()),
            package_arn: Some(govsync_core::ModelPackageArn::parse(ARN_2).unwrap()),
            governance_id: None,
            detail: "version 2 has no governance model".to_owned(),
            repair: Repair::SyncPackage {
                package_arn: govsync_core::ModelPackageArn::parse(ARN_2).unwrap(),
            },
        },
        outcome: RepairOutcome::Planned,
    };
    Collected {
        inventory,
        registries: vec![registry],
        groups: vec![(
            "111111111111/eu-west-1".to_owned(),
            GroupSnapshot {
                summarized: Default::default(),
                name: "churn".to_owned(),
                arn: "arn:aws:sagemaker:eu-west-1:111111111111:model-package-group/churn"
                    .to_owned(),
                tags: vec![(keys::USE_CASE_ID.to_owned(), "UC-7".to_owned())],
                packages: vec![
                    package(ARN_1, 1, ApprovalStatus::PendingManualApproval),
                    package(ARN_2, 2, ApprovalStatus::PendingManualApproval),
                ],
            },
            vec![shadow],
        )],
        gone: vec![],
        serving: vec![],
        deployments: vec![],
    }
}

#[test]
fn each_package_shows_both_sides_its_last_sync_and_its_drift() {
    let collected = collected();
    assert_eq!(
        collected.packages(None),
        vec![
            (ModelPackageArn::parse(ARN_1).unwrap(), Some(id("MOD-1"))),
            (ModelPackageArn::parse(ARN_2).unwrap(), None)
        ]
    );
    let synced = DateTime::from_timestamp(1_700_000_000, 0).expect("time");
    let report = build(
        &collected,
        &BTreeMap::from([(ARN_1.to_owned(), synced)]),
        None,
        synced,
    );
    assert_eq!(report.drifts, 1);
    let group = &report.registries[0].groups[0];
    assert_eq!(group.use_case_id.as_deref(), Some("UC-7"));
    assert_eq!(group.use_case.as_deref(), Some("Churn"));
    let first = &group.packages[0];
    assert_eq!(first.governance_model_id.as_deref(), Some("MOD-1"));
    assert_eq!(
        first.governance_status.as_deref(),
        Some("Under Development")
    );
    assert_eq!(first.approval.as_deref(), Some("PendingManualApproval"));
    assert_eq!(first.last_sync, Some(synced));
    assert!(first.drifts.is_empty());
    let second = &group.packages[1];
    assert_eq!(second.governance_model_id, None);
    assert_eq!(second.drifts[0].kind, "package_not_in_governance");
    assert_eq!(second.drifts[0].repair, "sync_package");

    let text = render(&report);
    assert!(text.starts_with("registry 111111111111/eu-west-1 (Retail): 1 group, 2 packages\n"));
    assert!(text.contains("use case UC-7 \"Churn\" · group churn"));
    assert!(text.contains("Development/InProgress"));
    assert!(text.contains("2023-11-14 22:13:20Z"));
    assert!(text.contains("package_not_in_governance → sync_package"));
    assert!(text.ends_with("1 drift (govsync reconcile repairs it)\n"));
}

fn serving() -> (RegistryServing, Vec<ServingRecord>) {
    let endpoint = govsync_core::serving::ServingEndpoint {
        name: "churn-prod".to_owned(),
        arn: "arn:aws:sagemaker:eu-west-1:111111111111:endpoint/churn-prod".to_owned(),
        account: "111111111111".to_owned(),
        region: "eu-west-1".to_owned(),
        status: Some("InService".to_owned()),
        since: None,
        stage: Some("Production".to_owned()),
        served: vec![],
    };
    let finding = ServingRecord {
        endpoint: endpoint.name.clone(),
        endpoint_arn: endpoint.arn.clone(),
        stage: endpoint.stage.clone(),
        record: DriftRecord {
            pass: Default::default(),
            drift: Drift {
                kind: DriftKind::EndpointServingUnapproved,
                registry: "111111111111/eu-west-1".to_owned(),
                group: Some("churn".to_owned()),
                package_arn: Some(ModelPackageArn::parse(ARN_1).unwrap()),
                governance_id: Some(id("MOD-1")),
                detail:
                    "endpoint churn-prod (Production) serves a version governance has not approved"
                        .to_owned(),
                repair: Repair::ReportOnly {
                    reason: "govsync never stops or changes an endpoint".to_owned(),
                },
            },
            outcome: RepairOutcome::Reported,
        },
    };
    (
        RegistryServing {
            endpoints: vec![endpoint],
            unread: None,
        },
        vec![finding],
    )
}

#[test]
fn the_serving_section_lists_each_endpoint_finding_and_counts_it_as_drift() {
    let mut collected = collected();
    let (serving, findings) = serving();
    collected
        .serving
        .push(("111111111111/eu-west-1".to_owned(), serving, findings));
    collected.deployments.push(DriftRecord {
        pass: Default::default(),
        drift: Drift {
            kind: DriftKind::DeploymentsOutOfStep,
            registry: "111111111111/eu-west-1".to_owned(),
            group: Some("churn".to_owned()),
            package_arn: Some(ModelPackageArn::parse(ARN_1).unwrap()),
            governance_id: Some(id("MOD-1")),
            detail: "the Model's Deployments field names 0 endpoints; 1 endpoint serve the version".to_owned(),
            repair: Repair::RecordDeployments {
                model_id: id("MOD-1"),
                text: "endpoint churn-prod (Production) in 111111111111/eu-west-1 since 2026-01-01T00:00:00Z".to_owned(),
            },
        },
        outcome: RepairOutcome::Planned,
    });
    let report = build(&collected, &BTreeMap::new(), None, Utc::now());
    assert_eq!(
        report.drifts, 3,
        "the package's, the endpoint's and the Deployments"
    );
    let serving = &report.serving[0];
    assert_eq!(serving.endpoints, 1);
    assert_eq!(serving.findings[0].endpoint, "churn-prod");
    assert_eq!(serving.findings[0].stage.as_deref(), Some("Production"));
    assert_eq!(serving.findings[0].kind, "endpoint_serving_unapproved");
    assert_eq!(serving.findings[0].package_arn.as_deref(), Some(ARN_1));
    assert_eq!(serving.deployments[0].repair, "record_deployments");
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["serving"][0]["findings"][0]["endpoint"], "churn-prod");
    let text = render(&report);
    assert!(
        text.contains("serving (read-only: govsync never stops or changes an endpoint)"),
        "{text}"
    );
    assert!(
        text.contains("registry 111111111111/eu-west-1: 1 endpoint read\n"),
        "{text}"
    );
    assert!(
        text.contains("churn-prod") && text.contains("endpoint_serving_unapproved"),
        "{text}"
    );
    assert!(
        text.contains("deployments_out_of_step: model MOD-1 (v1) → record_deployments"),
        "{text}"
    );
    // Another group's filter leaves the findings about this group's versions out.
    let filtered = build(&collected, &BTreeMap::new(), Some("other"), Utc::now());
    assert!(filtered.serving[0].findings.is_empty());
    assert_eq!(filtered.drifts, 0);
    // Endpoints that could not be read are said so.
    collected.serving[0].1.unread = Some("ListEndpoints: AccessDenied".to_owned());
    let text = render(&build(&collected, &BTreeMap::new(), None, Utc::now()));
    assert!(
        text.contains("; not read: ListEndpoints: AccessDenied"),
        "{text}"
    );
    assert!(
        text.ends_with("3 drifts; 1 is about an endpoint, which govsync only reports\n"),
        "{text}"
    );
}

#[test]
fn a_group_filter_keeps_only_that_group_and_its_drift() {
    let collected = collected();
    let report = build(&collected, &BTreeMap::new(), Some("other"), Utc::now());
    assert!(report.registries[0].groups.is_empty());
    assert_eq!(report.drifts, 0);
    assert!(collected.packages(Some("other")).is_empty());
    assert!(render(&report).ends_with("1 governance models; no drift\n"));
}
