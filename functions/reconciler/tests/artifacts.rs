//! The reconciler's deep check of approved packages' artifacts against what governance approved
//! (issue #21), on the in-memory fakes.

mod support;

use govsync_core::artifact::{ContainerArtifact, ModelData, fingerprint};
use govsync_core::ports::{ApprovalStatus, ApprovedArtifact, ApprovedArtifacts as _};
use govsync_core::reconcile::DriftKind;
use govsync_core::sync::GateMode;
use support::*;

const DATA: &str = "s3://models/fraud/1/model.tar.gz";
const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud:1";
const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

/// A synced version that governance approved and govsync bound to its artifact.
async fn approved_version(gate: GateMode) -> (World, String) {
    let world = World::new(gate);
    world.add_assigned_group(0, "fraud");
    let mut package = world.register(0, "fraud", 1);
    package.containers = vec![ContainerArtifact {
        image: Some(IMAGE.into()),
        model_data: Some(ModelData::Object(DATA.into())),
        ..Default::default()
    }];
    world.registry().put_package(package.clone());
    world.artifacts.put_object(DATA, "etag-reviewed");
    world.artifacts.tag_image("fraud", "1", DIGEST);
    world.run(false).await;
    let model = world.model_of(package.arn.as_str()).expect("synced");
    world.set_status(&model.id, "Approved for Deployment");
    let mut approved = world.registry().package(&package.arn).unwrap();
    approved.approval_status = Some(ApprovalStatus::Approved);
    approved.lifecycle = Some(lifecycle("PreProduction", "Approved"));
    world.registry().put_package(approved.clone());
    world
        .links
        .record_approved_artifact(&ApprovedArtifact {
            package_arn: package.arn.clone(),
            model: model.id.clone(),
            decision_id: "gd-00000000000000000000000000000001".into(),
            fingerprint: fingerprint(
                &approved.containers,
                world.artifacts.as_ref(),
                world.artifacts.as_ref(),
            )
            .await
            .unwrap(),
            approved_at: chrono::Utc::now(),
        })
        .await
        .unwrap();
    // The card's governance status entry catches up (F4 writes it with the approval).
    world.run(false).await;
    (world, package.arn.to_string())
}

fn kinds(report: &govsync_reconciler::ReconcileReport) -> Vec<(DriftKind, &'static str)> {
    report
        .drifts
        .iter()
        .map(|record| (record.drift.kind, record.drift.repair.action()))
        .collect()
}

#[tokio::test]
async fn an_approved_artifact_in_step_is_no_drift() {
    let (world, _) = approved_version(GateMode::Enforce).await;
    let report = world.run(true).await;
    assert!(kinds(&report).is_empty(), "{:#?}", report.drifts);
}

#[tokio::test]
async fn an_artifact_changed_since_approval_is_found_and_its_approval_revoked_by_the_repair() {
    let (world, arn) = approved_version(GateMode::Enforce).await;
    world.artifacts.put_object(DATA, "etag-overwritten");
    let planned = world.run(true).await;
    assert_eq!(
        kinds(&planned),
        vec![(DriftKind::ArtifactChangedSinceApproval, "sync_package")]
    );
    assert!(planned.drifts[0].drift.detail.contains("etag-overwritten"));
    assert_eq!(
        world.registry().package(&arn).unwrap().approval_status,
        Some(ApprovalStatus::Approved),
        "a dry run changes nothing"
    );
    world.run(false).await;
    let package = world.registry().package(&arn).unwrap();
    assert_eq!(
        package.approval_status,
        Some(ApprovalStatus::PendingManualApproval)
    );
    assert!(
        package
            .approval_description
            .unwrap_or_default()
            .contains("artifact changed since governance approved it")
    );
    assert_eq!(
        world.status_of(&arn).as_deref(),
        Some("Candidate for Validation")
    );
    // Revoked: the next run finds nothing to check.
    let next = world.run(true).await;
    assert!(kinds(&next).is_empty(), "{:#?}", next.drifts);
}

#[tokio::test]
async fn under_alert_a_changed_artifact_is_reported_only() {
    let (world, arn) = approved_version(GateMode::Alert).await;
    world
        .artifacts
        .tag_image("fraud", "1", &DIGEST.replace('1', "2"));
    let report = world.run(false).await;
    assert_eq!(
        kinds(&report),
        vec![(DriftKind::ArtifactChangedSinceApproval, "report_only")]
    );
    assert_eq!(
        world.registry().package(&arn).unwrap().approval_status,
        Some(ApprovalStatus::Approved)
    );
}

#[tokio::test]
async fn an_unreadable_artifact_is_reported_never_a_match() {
    let (world, arn) = approved_version(GateMode::Enforce).await;
    world.artifacts.deny("models");
    let report = world.run(false).await;
    assert_eq!(
        kinds(&report),
        vec![(DriftKind::ArtifactUnverifiable, "report_only")]
    );
    assert!(report.drifts[0].drift.detail.contains("access denied"));
    assert_eq!(
        world.registry().package(&arn).unwrap().approval_status,
        Some(ApprovalStatus::Approved)
    );
}
