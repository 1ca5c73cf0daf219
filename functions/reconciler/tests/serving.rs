//! What is really serving, on the in-memory fakes: endpoints serving a version governance has not
//! approved for their stage, a decommissioned version, or another artifact than the approved one are
//! reported (and nothing is changed on an endpoint); each Model's `Deployments` field is written, and
//! left alone once in step; a registry whose endpoints cannot be listed is reported, not fatal; a run
//! cut off by its deadline still judges the endpoints of the registry it resumes in.

mod support;

use std::collections::BTreeSet;

use chrono::{Duration, Utc};
use govsync_core::artifact::{ArtifactFingerprint, ContainerFingerprint, Part};
use govsync_core::ports::{ApprovedArtifact, ApprovedArtifacts, RegistryError};
use govsync_core::reconcile::DriftKind;
use govsync_core::sync::GateMode;
use govsync_core::{GovernanceId, ModelPackageArn};
use govsync_reconciler::{ReconcileReport, RepairOutcome};
use support::{World, lifecycle, test_tuning};

const GROUP: &str = "fraud-eu";
const DEPLOYMENTS: &str = "MRG-Model:Deployments";
const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud";

fn resolved(digest: &str) -> String {
    format!("{IMAGE}@{digest}")
}

fn serving_found(report: &ReconcileReport) -> BTreeSet<(DriftKind, String, String)> {
    report
        .drifts
        .iter()
        .filter(|record| {
            matches!(
                record.drift.kind,
                DriftKind::EndpointServingUnapproved
                    | DriftKind::EndpointServingDecommissioned
                    | DriftKind::EndpointServingOtherArtifact
            )
        })
        .map(|record| {
            let endpoint = record
                .drift
                .detail
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_owned();
            (
                record.drift.kind,
                record
                    .drift
                    .package_arn
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                endpoint,
            )
        })
        .collect()
}

fn deployments_of(world: &World, arn: &str) -> Option<String> {
    world
        .model_of(arn)
        .and_then(|model| model.field(DEPLOYMENTS).and_then(|value| value.as_text()))
        .filter(|text| !text.is_empty())
}

fn fingerprint(digest: &str) -> ArtifactFingerprint {
    ArtifactFingerprint {
        containers: vec![ContainerFingerprint {
            model_data: None,
            image: Some(Part::Image {
                uri: format!("{IMAGE}@{digest}"),
                digest: digest.to_owned(),
            }),
        }],
        registered_mismatches: Vec::new(),
    }
}

/// Versions 1–5 of `fraud-eu`, synced, then governance's decisions: v1 approved for pre-production,
/// v2 archived in SageMaker, v3 in production with its approved artifact recorded, v4 approved for
/// pre-production; v5 never served. Endpoints: `fraud-prod` (Production) serves v1, `fraud-old` (no
/// stage) v2, `fraud-canary` (Production) v3 on another digest, `fraud-pre` (PreProduction) v4.
async fn serving_world() -> World {
    let world = World::with(1, GateMode::Enforce, test_tuning());
    world.add_assigned_group(0, GROUP);
    for version in 1..=5 {
        world.register(0, GROUP, version);
    }
    // v3's image is pinned to the digest governance approved (the artifact check finds it in step).
    world.change_package(0, &world.registry().package_arn(GROUP, 3), |p| {
        p.containers = vec![govsync_core::artifact::ContainerArtifact {
            image: Some(format!("{IMAGE}@sha256:aaaa")),
            ..Default::default()
        }]
    });
    let first = world.run(false).await;
    assert_eq!(first.counts.drifts, 5, "{}", first.table());
    let registry = world.registry();
    let arn = |version| registry.package_arn(GROUP, version);
    let id = |version| world.model_of(&arn(version)).unwrap().id;
    world.set_status(&id(1), "Approved for Deployment");
    world.change_package(0, &arn(2), |p| {
        p.lifecycle = Some(lifecycle("Archived", "Retired"))
    });
    world.set_status(&id(3), "In Production");
    world.set_status(&id(4), "Approved for Deployment");
    world
        .links
        .record_approved_artifact(&ApprovedArtifact {
            package_arn: ModelPackageArn::parse(&arn(3)).unwrap(),
            model: id(3),
            decision_id: "decision-3".into(),
            fingerprint: fingerprint("sha256:aaaa"),
            approved_at: Utc::now(),
        })
        .await
        .unwrap();
    registry.serve(
        "fraud-prod",
        &arn(1),
        Some(&resolved("sha256:1111")),
        Some("Production"),
    );
    registry.serve("fraud-old", &arn(2), Some(&resolved("sha256:2222")), None);
    registry.serve(
        "fraud-canary",
        &arn(3),
        Some(&resolved("sha256:bbbb")),
        Some("Production"),
    );
    registry.serve(
        "fraud-pre",
        &arn(4),
        Some(&resolved("sha256:4444")),
        Some("PreProduction"),
    );
    world
}

fn expected_findings(world: &World) -> BTreeSet<(DriftKind, String, String)> {
    let arn = |version| world.registry().package_arn(GROUP, version);
    BTreeSet::from([
        (
            DriftKind::EndpointServingUnapproved,
            arn(1),
            "fraud-prod".to_owned(),
        ),
        (
            DriftKind::EndpointServingDecommissioned,
            arn(2),
            "fraud-old".to_owned(),
        ),
        (
            DriftKind::EndpointServingOtherArtifact,
            arn(3),
            "fraud-canary".to_owned(),
        ),
    ])
}

#[tokio::test]
async fn endpoints_serving_unapproved_decommissioned_or_other_artifacts_are_reported_and_deployments_recorded()
 {
    let world = serving_world().await;
    let registry = world.registry();
    let arn = |version| registry.package_arn(GROUP, version);

    let report = world.run(false).await;
    assert!(report.complete, "{}", report.table());
    assert_eq!(
        serving_found(&report),
        expected_findings(&world),
        "{}",
        report.table()
    );
    for record in report
        .drifts
        .iter()
        .filter(|r| r.drift.kind.as_str().starts_with("endpoint_"))
    {
        assert_eq!(
            record.outcome,
            RepairOutcome::Reported,
            "{:?}",
            record.drift
        );
        assert_eq!(record.drift.repair.action(), "report_only");
    }
    let unapproved = report
        .drifts
        .iter()
        .find(|r| r.drift.kind == DriftKind::EndpointServingUnapproved)
        .unwrap();
    assert!(
        unapproved
            .drift
            .detail
            .contains("approved for PreProduction only"),
        "{}",
        unapproved.drift.detail
    );
    assert_eq!(report.registries[0].endpoints, 4);

    // Deployments: one line per endpoint serving the version, on its Model.
    let recorded: BTreeSet<String> = report
        .drifts
        .iter()
        .filter(|r| r.drift.kind == DriftKind::DeploymentsOutOfStep)
        .map(|r| {
            assert_eq!(r.outcome, RepairOutcome::Repaired, "{:?}", r.drift);
            r.drift.package_arn.as_ref().unwrap().to_string()
        })
        .collect();
    assert_eq!(recorded, BTreeSet::from([arn(1), arn(2), arn(3), arn(4)]));
    let line = |version, endpoint: &str, stage: &str| {
        let text = deployments_of(&world, &arn(version)).unwrap_or_default();
        assert!(
            text.starts_with(&format!(
                "endpoint {endpoint} ({stage}) in 123456789012/us-east-1 since "
            )) && text.lines().count() == 1,
            "v{version}: {text:?}"
        );
    };
    line(1, "fraud-prod", "Production");
    line(2, "fraud-old", "no stage");
    line(3, "fraud-canary", "Production");
    line(4, "fraud-pre", "PreProduction");
    assert_eq!(deployments_of(&world, &arn(5)), None, "served nowhere");

    // The DriftsFound metric per kind counts the findings.
    let lines: Vec<serde_json::Value> =
        govsync_reconciler::metrics::embedded_metrics(&report, "govsync")
            .iter()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
    for kind in [
        DriftKind::EndpointServingUnapproved,
        DriftKind::EndpointServingDecommissioned,
        DriftKind::EndpointServingOtherArtifact,
    ] {
        let line = lines
            .iter()
            .find(|line| line["DriftKind"] == kind.as_str())
            .unwrap();
        assert_eq!(line["DriftsFound"], 1, "{kind:?}");
        assert_eq!(line["DriftsRepaired"], 0, "{kind:?}");
    }

    // Next run: the same findings (nothing was changed on an endpoint), the Deployments in step.
    let before = world.snapshot();
    let again = world.run(false).await;
    assert_eq!(
        serving_found(&again),
        expected_findings(&world),
        "{}",
        again.table()
    );
    assert_eq!(
        again.drifts.len(),
        3,
        "only the endpoint findings are left: {}",
        again.table()
    );
    assert_eq!(
        world.snapshot(),
        before,
        "a run changes no endpoint and no Model"
    );
    for name in ["fraud-prod", "fraud-old", "fraud-canary", "fraud-pre"] {
        govsync_core::ports::hosting::Hosting::describe_endpoint(registry, name)
            .await
            .expect("the endpoint is still there");
    }

    // An endpoint taken down: its line goes from the Model.
    registry.remove_endpoint("fraud-prod");
    let after = world.run(false).await;
    assert!(
        after
            .drifts
            .iter()
            .any(|r| r.drift.kind == DriftKind::DeploymentsOutOfStep
                && r.drift.package_arn.as_ref().map(ToString::to_string) == Some(arn(1))),
        "{}",
        after.table()
    );
    assert_eq!(deployments_of(&world, &arn(1)), None);
}

#[tokio::test]
async fn a_dry_run_reports_the_endpoints_plans_the_deployments_and_writes_nothing() {
    let world = serving_world().await;
    // Governance's decisions reach SageMaker first, so only serving is left to find.
    world.run(false).await;
    for version in 1..=4 {
        let arn = world.registry().package_arn(GROUP, version);
        let id: GovernanceId = world.model_of(&arn).unwrap().id;
        world
            .governance
            .edit(&id, &[govsync_core::ports::Field::text(DEPLOYMENTS, "")])
            .unwrap();
    }
    let before = world.snapshot();
    let report = world.run(true).await;
    assert_eq!(
        serving_found(&report),
        expected_findings(&world),
        "{}",
        report.table()
    );
    let planned = report
        .drifts
        .iter()
        .filter(|r| r.drift.kind == DriftKind::DeploymentsOutOfStep)
        .inspect(|r| assert_eq!(r.outcome, RepairOutcome::Planned))
        .count();
    assert_eq!(planned, 4, "{}", report.table());
    assert_eq!(world.snapshot(), before, "a dry run writes nothing");
}

#[tokio::test]
async fn a_registry_whose_endpoints_cannot_be_listed_is_reported_and_the_run_goes_on() {
    let world = World::with(2, GateMode::Enforce, test_tuning());
    for index in 0..2 {
        world.add_assigned_group(index, GROUP);
        world.register(index, GROUP, 1);
    }
    world.run(false).await;
    // Both versions are served from registry 0; registry 1 serves its own version too.
    let v0 = world.registries[0].package_arn(GROUP, 1);
    let v1 = world.registries[1].package_arn(GROUP, 1);
    world.registries[0].serve("shared", &v1, None, None);
    world.registries[1].serve("own", &v1, None, None);
    world.run(false).await;
    let both = deployments_of(&world, &v1).unwrap();
    assert_eq!(both.lines().count(), 2, "{both}");

    let denied = || RegistryError::Rejected {
        operation: "ListEndpoints",
        code: "AccessDeniedException".into(),
        message: "not authorized to perform: sagemaker:ListEndpoints".into(),
    };
    world.registries[1].fail_next("list_endpoints", denied());
    world.registries[1].remove_endpoint("own");
    let report = world.run(false).await;
    assert!(report.complete, "{}", report.table());
    let unread = report.registries[1]
        .endpoints_unread
        .as_deref()
        .unwrap_or_default();
    assert!(
        unread.contains("AccessDeniedException"),
        "{}",
        report.table()
    );
    assert!(
        report.table().contains("endpoints not read"),
        "{}",
        report.table()
    );
    assert_eq!(report.registries[0].endpoints_unread, None);
    // What govsync could not see stays recorded; what it saw is judged.
    assert_eq!(deployments_of(&world, &v1).as_deref(), Some(both.as_str()));
    assert_eq!(deployments_of(&world, &v0), None);
    // Read again: the endpoint taken down leaves the Model.
    world.run(false).await;
    let now = deployments_of(&world, &v1).unwrap();
    assert!(
        now.lines().count() == 1 && now.starts_with("endpoint shared "),
        "{now}"
    );
}

#[tokio::test]
async fn a_run_cut_off_by_its_deadline_still_judges_the_endpoints_of_the_registry_it_resumes_in() {
    let world = World::with(2, GateMode::Enforce, test_tuning());
    for index in 0..2 {
        for group in 0..8 {
            let name = format!("group-{group:02}");
            world.add_assigned_group(index, &name);
            world.register(index, &name, 1);
        }
        // A version no Model carries yet is unapproved wherever it serves.
        let served = world.registries[index].package_arn("group-07", 1);
        world.registries[index].serve("unapproved", &served, None, Some("Production"));
        world.registries[index].set_latency(std::time::Duration::from_millis(10));
    }
    let first = world
        .run_until(Utc::now() + Duration::milliseconds(100))
        .await;
    assert!(!first.complete, "{}", first.table());
    let stopped = first.stopped_at.clone().expect("where it stopped");
    let second = world.run(false).await;
    assert!(second.complete, "{}", second.table());
    assert_eq!(second.resumed_from.as_ref(), Some(&stopped));
    let judged = |report: &ReconcileReport, registry: &str| {
        report.drifts.iter().any(|record| {
            record.drift.registry == registry
                && record.drift.kind == DriftKind::EndpointServingUnapproved
        })
    };
    // The registry the second run resumed in: its endpoints judged by the second run.
    assert!(judged(&second, &stopped.registry), "{}", second.table());
    // Every registry's endpoints judged by one run or the other.
    for index in 0..2 {
        let arn = world.registries[index].package_arn("g", 1);
        let account = arn.split(':').nth(4).unwrap_or_default();
        let label = format!("{account}/us-east-1");
        assert!(
            judged(&first, &label) || judged(&second, &label),
            "{label}: {}\n{}",
            first.table(),
            second.table()
        );
    }
    // The Deployments are compared once the whole map is done, never by a run cut off; the Models
    // created by the second run get theirs from the next.
    assert!(
        !first
            .drifts
            .iter()
            .any(|r| r.drift.kind == DriftKind::DeploymentsOutOfStep)
    );
    let third = world.run(false).await;
    let recorded = third
        .drifts
        .iter()
        .filter(|r| {
            r.drift.kind == DriftKind::DeploymentsOutOfStep && r.outcome == RepairOutcome::Repaired
        })
        .count();
    assert_eq!(recorded, 2, "{}", third.table());
}
