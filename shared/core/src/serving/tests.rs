use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::*;
use crate::artifact::ContainerFingerprint;
use crate::governance::GovernanceId;
use crate::ports::hosting::{ConfigVariant, DeployedImage, HostedContainer, VariantSummary};
use crate::ports::{Field, QueryRow};
use crate::sync::fields;

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";
const DEPLOYMENTS: &str = "MRG-Model:Deployments";
const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud:1";
const DIGEST: &str = "sha256:aaaa";
const OTHER_DIGEST: &str = "sha256:bbbb";

fn arn(version: u32) -> String {
    format!("arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/fraud-eu/{version}")
}

fn package(version: u32) -> ModelPackageArn {
    ModelPackageArn::parse(&arn(version)).unwrap()
}

fn since() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).unwrap()
}

fn mapping() -> MappingSpec {
    MappingSpec::builtin().unwrap()
}

fn decommissioned() -> GovernanceStatus {
    GovernanceStatus::parse("Decommissioned").unwrap()
}

/// Models: (id, version, status, deployments field).
fn inventory(models: &[(&str, u32, Option<&str>, Option<&str>)]) -> GovernanceInventory {
    let rows: Vec<QueryRow> = models
        .iter()
        .map(|(id, version, status, deployments)| {
            let mut fields = vec![Field::text(fields::EXTERNAL_ID, arn(*version))];
            if let Some(status) = status {
                fields.push(Field::text(fields::MODEL_STATUS, *status));
            }
            if let Some(text) = deployments {
                fields.push(Field::text(DEPLOYMENTS, *text));
            }
            QueryRow {
                id: Some(GovernanceId::parse(id).unwrap()),
                fields,
            }
        })
        .collect();
    let mut inventory = GovernanceInventory::from_rows(&[], &[], &rows);
    inventory.read_deployments(&rows, DEPLOYMENTS);
    inventory
}

fn served(version: u32, resolved: &str) -> ServedModel {
    ServedModel {
        variant: "AllTraffic".into(),
        shadow: false,
        model_name: format!("fraud-v{version}"),
        package: ServedPackage::Version(package(version)),
        resolved_images: vec![resolved.to_owned()],
        container_images: Vec::new(),
        container_model_data: Vec::new(),
    }
}

fn endpoint(name: &str, stage: Option<&str>, served: Vec<ServedModel>) -> ServingEndpoint {
    ServingEndpoint {
        name: name.into(),
        arn: format!("arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{name}"),
        account: ACCOUNT.into(),
        region: REGION.into(),
        status: Some("InService".into()),
        since: Some(since()),
        stage: stage.map(str::to_owned),
        served,
    }
}

fn live(stage: &str) -> VersionFacts {
    VersionFacts {
        state: PackageState::Live {
            stage: Some(SageMakerName::parse(stage).unwrap()),
        },
        approved: None,
    }
}

fn facts(version: u32, facts: VersionFacts) -> BTreeMap<String, VersionFacts> {
    BTreeMap::from([(arn(version), facts)])
}

fn approved_fingerprint(digest: &str) -> ArtifactFingerprint {
    ArtifactFingerprint {
        containers: vec![ContainerFingerprint {
            model_data: Some(Part::S3Object {
                uri: "s3://models/fraud/model.tar.gz".into(),
                etag: "e1".into(),
                version_id: None,
            }),
            image: Some(Part::Image {
                uri: IMAGE.into(),
                digest: digest.into(),
            }),
        }],
        registered_mismatches: Vec::new(),
    }
}

fn judged(
    endpoint: &ServingEndpoint,
    inventory: &GovernanceInventory,
    facts: &BTreeMap<String, VersionFacts>,
) -> Vec<(DriftKind, String)> {
    let mapping = mapping();
    let status = decommissioned();
    judge_endpoint(
        endpoint,
        inventory,
        facts,
        ServingPolicy {
            mapping: &mapping,
            decommissioned: &status,
        },
    )
    .into_iter()
    .map(|finding| {
        assert_eq!(finding.endpoint, endpoint.name);
        assert!(
            matches!(finding.drift.repair, Repair::ReportOnly { ref reason } if reason.starts_with("govsync never stops or changes an endpoint")),
            "{:?}",
            finding.drift.repair
        );
        (finding.drift.kind, finding.drift.detail)
    })
    .collect()
}

fn resolved(digest: &str) -> String {
    format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud@{digest}")
}

#[test]
fn a_version_approved_for_pre_production_serving_a_production_endpoint_is_unapproved() {
    let models = inventory(&[("201", 3, Some("Approved for Deployment"), None)]);
    let facts = facts(3, live("PreProduction"));
    let production = endpoint(
        "fraud-prod",
        Some("Production"),
        vec![served(3, &resolved(DIGEST))],
    );
    let found = judged(&production, &models, &facts);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, DriftKind::EndpointServingUnapproved);
    assert!(
        found[0].1.starts_with("endpoint fraud-prod (Production) ")
            && found[0].1.contains("approved for PreProduction only"),
        "{}",
        found[0].1
    );
    // The same version at the stage it is approved for, or an earlier one, is fine.
    for stage in ["PreProduction", "preproduction", "Validation"] {
        let staging = endpoint("fraud-pre", Some(stage), vec![served(3, &resolved(DIGEST))]);
        assert!(judged(&staging, &models, &facts).is_empty(), "{stage}");
    }
    // Approved for production covers both stages.
    let production_approved = inventory(&[("201", 3, Some("In Production"), None)]);
    assert!(judged(&production, &production_approved, &facts).is_empty());
}

#[test]
fn an_endpoint_without_a_stage_tag_needs_any_approving_status() {
    let untagged = endpoint("scratch", None, vec![served(3, &resolved(DIGEST))]);
    let facts = facts(3, live("PreProduction"));
    let approved = inventory(&[("201", 3, Some("Approved for Deployment"), None)]);
    assert!(judged(&untagged, &approved, &facts).is_empty());
    let pending = inventory(&[("201", 3, Some("Under Development"), None)]);
    let found = judged(&untagged, &pending, &facts);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, DriftKind::EndpointServingUnapproved);
    assert!(
        found[0].1.starts_with("endpoint scratch (no stage) ")
            && found[0].1.contains("PendingManualApproval"),
        "{}",
        found[0].1
    );
}

#[test]
fn a_stage_tag_naming_no_stage_of_the_mapping_is_unapproved_with_that_reason() {
    let models = inventory(&[("201", 3, Some("In Production"), None)]);
    let odd = endpoint("fraud", Some("Prod"), vec![served(3, &resolved(DIGEST))]);
    let found = judged(&odd, &models, &facts(3, live("Production")));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, DriftKind::EndpointServingUnapproved);
    assert!(
        found[0].1.contains("govsync:stage=\"Prod\"")
            && found[0].1.contains("names no stage of the mapping"),
        "{}",
        found[0].1
    );
}

#[test]
fn a_version_without_a_model_and_an_unversioned_package_are_unapproved() {
    let models = inventory(&[]);
    let mut serving = endpoint(
        "fraud",
        Some("Production"),
        vec![served(4, &resolved(DIGEST))],
    );
    serving.served.push(ServedModel {
        package: ServedPackage::from_name("fraud-unversioned"),
        ..served(4, &resolved(DIGEST))
    });
    let found = judged(&serving, &models, &BTreeMap::new());
    let kinds: Vec<DriftKind> = found.iter().map(|(kind, _)| *kind).collect();
    assert_eq!(
        kinds,
        [
            DriftKind::EndpointServingUnapproved,
            DriftKind::EndpointServingUnapproved
        ]
    );
    assert!(
        found[0].1.contains("no governance Model carries"),
        "{found:?}"
    );
    assert!(found[1].1.contains("\"fraud-unversioned\""), "{found:?}");
}

#[test]
fn a_decommissioned_version_is_reported_as_decommissioned_not_unapproved() {
    let serving = endpoint(
        "fraud",
        Some("Production"),
        vec![served(2, &resolved(DIGEST))],
    );
    let decommissioned = inventory(&[("202", 2, Some("Decommissioned"), None)]);
    let found = judged(&serving, &decommissioned, &facts(2, live("Archived")));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, DriftKind::EndpointServingDecommissioned);
    assert!(found[0].1.contains("\"Decommissioned\""), "{}", found[0].1);

    // Archived or deleted in SageMaker while governance still approves it.
    let approved = inventory(&[("202", 2, Some("In Production"), None)]);
    for (state, words) in [
        (PackageState::Archived, "archived"),
        (PackageState::Gone, "no longer exists"),
    ] {
        let found = judged(
            &serving,
            &approved,
            &facts(
                2,
                VersionFacts {
                    state,
                    approved: None,
                },
            ),
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, DriftKind::EndpointServingDecommissioned);
        assert!(found[0].1.contains(words), "{}", found[0].1);
    }
}

#[test]
fn an_image_resolved_to_another_digest_than_the_approved_one_is_another_artifact() {
    let models = inventory(&[("201", 3, Some("In Production"), None)]);
    let mut version = live("Production");
    version.approved = Some(approved_fingerprint(DIGEST));
    let facts = facts(3, version);

    let same = endpoint(
        "fraud",
        Some("Production"),
        vec![served(3, &resolved(DIGEST))],
    );
    assert!(judged(&same, &models, &facts).is_empty());

    let moved = endpoint(
        "fraud",
        Some("Production"),
        vec![served(3, &resolved(OTHER_DIGEST))],
    );
    let found = judged(&moved, &models, &facts);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, DriftKind::EndpointServingOtherArtifact);
    assert!(
        found[0].1.contains(OTHER_DIGEST) && found[0].1.contains(DIGEST),
        "{}",
        found[0].1
    );

    // A model that names its own model data or image beside the package.
    let mut overridden = served(3, &resolved(DIGEST));
    overridden.container_model_data = vec!["s3://elsewhere/model.tar.gz".into()];
    overridden.container_images = vec![format!(
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud@{DIGEST}"
    )];
    let found = judged(
        &endpoint("fraud", Some("Production"), vec![overridden]),
        &models,
        &facts,
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].1.contains("s3://elsewhere/model.tar.gz") && !found[0].1.contains("names image"),
        "an image pinned to the approved digest is the approved image: {}",
        found[0].1
    );
}

#[test]
fn a_version_without_a_recorded_approval_is_not_judged_for_its_artifact() {
    let models = inventory(&[("201", 3, Some("In Production"), None)]);
    let moved = endpoint(
        "fraud",
        Some("Production"),
        vec![served(3, &resolved(OTHER_DIGEST))],
    );
    assert!(judged(&moved, &models, &facts(3, live("Production"))).is_empty());
}

#[test]
fn two_variants_serving_one_version_give_one_finding() {
    let models = inventory(&[("201", 3, Some("Under Development"), None)]);
    let mut shadow = served(3, &resolved(DIGEST));
    shadow.variant = "Shadow".into();
    shadow.shadow = true;
    let serving = endpoint(
        "fraud",
        Some("Production"),
        vec![served(3, &resolved(DIGEST)), shadow],
    );
    assert_eq!(
        judged(&serving, &models, &facts(3, live("Development"))).len(),
        1
    );
}

#[test]
fn an_endpoint_is_assembled_from_its_config_models_images_and_stage_tag() {
    let described = Endpoint {
        name: "fraud-prod".into(),
        arn: "arn:aws:sagemaker:us-east-1:123456789012:endpoint/fraud-prod".into(),
        config_name: Some("fraud-prod-config".into()),
        status: Some("InService".into()),
        creation_time: Some(since()),
        last_modified_time: Some(since()),
        variants: vec![VariantSummary {
            name: "AllTraffic".into(),
            shadow: false,
            deployed_images: vec![
                DeployedImage {
                    specified_image: Some(IMAGE.into()),
                    resolved_image: Some(resolved(DIGEST)),
                },
                DeployedImage {
                    specified_image: Some("other".into()),
                    resolved_image: Some(resolved(OTHER_DIGEST)),
                },
            ],
        }],
    };
    let config = EndpointConfig {
        name: "fraud-prod-config".into(),
        variants: vec![
            ConfigVariant {
                name: "AllTraffic".into(),
                model_name: Some("fraud-v3".into()),
                shadow: false,
            },
            ConfigVariant {
                name: "Missing".into(),
                model_name: Some("not-described".into()),
                shadow: false,
            },
        ],
    };
    let models = vec![HostedModel {
        name: "fraud-v3".into(),
        arn: None,
        containers: vec![
            HostedContainer {
                // As a person typed it: SageMaker's ARNs are lowercase.
                model_package_name: Some(format!(
                    "arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/Fraud-EU/3"
                )),
                image: None,
                model_data_url: None,
            },
            // A container of its own (no package): serves no model version.
            HostedContainer {
                model_package_name: None,
                image: Some("other".into()),
                model_data_url: None,
            },
        ],
    }];
    let tags = vec![
        ("team".to_owned(), "risk".to_owned()),
        (STAGE_TAG.to_owned(), " Production ".to_owned()),
    ];
    let serving = serving_endpoint(&described, &config, &models, &tags, ACCOUNT, REGION);
    assert_eq!(serving.stage.as_deref(), Some("Production"));
    assert_eq!(serving.since, Some(since()));
    assert_eq!(serving.served.len(), 1, "{serving:?}");
    let only = &serving.served[0];
    assert_eq!(only.package, ServedPackage::Version(package(3)));
    assert_eq!(
        only.resolved_images,
        [resolved(DIGEST)],
        "one image per container: matched by position"
    );
    assert_eq!(
        serving.versions().into_iter().collect::<Vec<_>>(),
        [&package(3)]
    );
}

#[test]
fn deployments_are_one_sorted_line_per_endpoint_and_written_when_they_differ() {
    let prod = endpoint(
        "fraud-prod",
        Some("Production"),
        vec![served(3, &resolved(DIGEST))],
    );
    let scratch = endpoint("a-scratch", None, vec![served(3, &resolved(DIGEST))]);
    let expected = "endpoint a-scratch (no stage) in 123456789012/us-east-1 since 2026-01-01T00:00:00Z\n\
                    endpoint fraud-prod (Production) in 123456789012/us-east-1 since 2026-01-01T00:00:00Z";
    let registries = vec![format!("{ACCOUNT}/{REGION}")];
    let models = inventory(&[
        ("201", 3, Some("In Production"), None),
        (
            "202",
            2,
            Some("Decommissioned"),
            Some("endpoint old (Production) in 123456789012/us-east-1 since 2025-01-01T00:00:00Z"),
        ),
        ("203", 1, Some("Under Development"), None),
    ]);
    let drifts = judge_deployments(&[prod.clone(), scratch.clone()], &models, &registries, &[]);
    let written: Vec<(String, String)> = drifts
        .iter()
        .map(|drift| {
            assert_eq!(drift.kind, DriftKind::DeploymentsOutOfStep);
            assert_eq!(drift.repair.action(), "record_deployments");
            match &drift.repair {
                Repair::RecordDeployments { model_id, text } => {
                    (model_id.to_string(), text.clone())
                }
                other => panic!("{other:?}"),
            }
        })
        .collect();
    assert_eq!(
        written,
        [
            ("202".to_owned(), String::new()),
            ("201".to_owned(), expected.to_owned()),
        ],
        "version 1 is served nowhere and its field is empty: in step"
    );

    // Once written, nothing is out of step; line endings and padding do not count.
    let in_step = inventory(&[
        (
            "201",
            3,
            Some("In Production"),
            Some(&format!(" {}\r\n", expected.replace('\n', "\r\n"))),
        ),
        ("202", 2, Some("Decommissioned"), None),
    ]);
    assert!(judge_deployments(&[prod, scratch], &in_step, &registries, &[]).is_empty());
}

#[test]
fn deployments_keep_lines_of_registries_whose_endpoints_could_not_be_read() {
    let elsewhere =
        "endpoint fraud-eu (Production) in 210987654321/eu-west-1 since 2025-06-01T00:00:00Z";
    let models = inventory(&[("201", 3, Some("In Production"), Some(elsewhere))]);
    let here = endpoint(
        "fraud-prod",
        Some("Production"),
        vec![served(3, &resolved(DIGEST))],
    );
    let registries = vec![
        format!("{ACCOUNT}/{REGION}"),
        "210987654321/eu-west-1".to_owned(),
    ];
    let drifts = judge_deployments(
        std::slice::from_ref(&here),
        &models,
        &registries,
        &["210987654321/eu-west-1".to_owned()],
    );
    assert_eq!(drifts.len(), 1);
    let Repair::RecordDeployments { text, .. } = &drifts[0].repair else {
        panic!("{:?}", drifts[0].repair);
    };
    // Sorted: the kept line of the unread registry comes first here.
    assert_eq!(text, &format!("{elsewhere}\n{}", deployment_line(&here)));
    // Read this time: the line of an endpoint no longer there goes.
    let drifts = judge_deployments(std::slice::from_ref(&here), &models, &registries, &[]);
    let Repair::RecordDeployments { text, .. } = &drifts[0].repair else {
        panic!("{:?}", drifts[0].repair);
    };
    assert_eq!(text, &deployment_line(&here));
}

#[test]
fn models_of_registries_outside_the_map_are_left_alone() {
    let models = inventory(&[(
        "201",
        3,
        Some("In Production"),
        Some("endpoint x (no stage) in 1/2 since y"),
    )]);
    assert!(
        judge_deployments(&[], &models, &["999999999999/eu-west-1".to_owned()], &[]).is_empty()
    );
}

#[test]
fn a_long_deployments_text_keeps_its_first_lines_and_counts_the_rest() {
    let lines: Vec<String> = (0..200)
        .map(|index| format!("endpoint serving-{index:03} (Production) in {ACCOUNT}/{REGION} since 2026-01-01T00:00:00Z"))
        .collect();
    let text = deployments_text(lines.clone());
    assert!(text.len() <= MAX_DEPLOYMENTS_CHARS, "{}", text.len());
    assert!(text.starts_with(&lines[0]));
    let last = text.lines().last().unwrap();
    let kept = text.lines().count() - 1;
    assert_eq!(last, format!("… and {} more endpoints", 200 - kept));
    assert_eq!(deployments_text(Vec::new()), "");
    assert_eq!(
        deployments_text(vec!["b".to_owned(), "a".to_owned(), "a".to_owned()]),
        "a\nb"
    );
}
