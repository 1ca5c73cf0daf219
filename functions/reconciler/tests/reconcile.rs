//! The reconciler on the in-memory fakes: every drift kind seeded, reported exactly, repaired through
//! the events' code paths, and gone on the next run; `dry_run` changes nothing; a run cut off by its
//! deadline resumes from its checkpoint; throttling slows the run down instead of failing it.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, Utc};
use govsync_core::customer_metadata::keys;
use govsync_core::decommission_request::DecommissionRequest;
use govsync_core::governance::Revision;
use govsync_core::ports::{ApprovalStatus, ModelRegistry, RegistryError};
use govsync_core::reconcile::DriftKind;
use govsync_core::sync::GateMode;
use govsync_core::sync::decommission::{ArchiveTarget, archive_reason, archive_write};
use govsync_core::sync::registry::described_version;
use govsync_core::{GovernanceStatus, MappingSpec};
use govsync_reconciler::{ReconcileReport, RepairOutcome};
use support::{World, lifecycle, test_tuning};

const GROUP: &str = "fraud-eu";
const OTHER_GROUP: &str = "churn-eu";

fn found(report: &ReconcileReport) -> BTreeSet<(DriftKind, String, &'static str)> {
    report
        .drifts
        .iter()
        .map(|record| {
            let where_ = record
                .drift
                .package_arn
                .as_ref()
                .map(ToString::to_string)
                .or(record.drift.group.clone())
                .unwrap_or_default();
            (record.drift.kind, where_, record.drift.repair.action())
        })
        .collect()
}

/// Versions 1–8 of `fraud-eu` and version 1 of `churn-eu`, all synced by a first run.
async fn synced_world() -> World {
    let world = World::with(1, GateMode::Enforce, test_tuning());
    world.add_assigned_group(0, GROUP);
    world.add_assigned_group(0, OTHER_GROUP);
    for version in 1..=8 {
        world.register(0, GROUP, version);
    }
    world.register(0, OTHER_GROUP, 1);
    let baseline = world.run(false).await;
    assert!(baseline.complete);
    assert_eq!(baseline.counts.drifts, 9, "{}", baseline.table());
    assert!(
        baseline
            .drifts
            .iter()
            .all(|r| r.drift.kind == DriftKind::PackageNotInGovernance
                && r.outcome == RepairOutcome::Repaired),
        "{}",
        baseline.table()
    );
    let settled = world.run(false).await;
    assert!(settled.drifts.is_empty(), "{}", settled.table());
    world
}

/// One drift of every repairable kind, made behind govsync's back (no events).
fn seed_repairable_drift(world: &World) -> BTreeSet<(DriftKind, String, &'static str)> {
    let registry = world.registry();
    let arn = |version| registry.package_arn(GROUP, version);
    let other = registry.package_arn(OTHER_GROUP, 1);
    // v1 deleted; churn-eu deleted altogether.
    futures::executor::block_on(async {
        registry.delete_package(&arn(1)).await.unwrap();
        registry.delete_package(&other).await.unwrap();
        registry.delete_group(OTHER_GROUP).await.unwrap();
    });
    // v2: governance moved on (a to_registry row).
    world.set_status(
        &world.model_of(&arn(2)).unwrap().id,
        "Approved for Production",
    );
    // v3: SageMaker moved on a both row, after governance's last change.
    world.change_package(0, &arn(3), |p| {
        p.lifecycle = Some(lifecycle("Development", "Complete"))
    });
    // v4: decommissioned in governance.
    world.set_status(&world.model_of(&arn(4)).unwrap().id, "Decommissioned");
    // v5: approved in SageMaker without a governance approval.
    world.change_package(0, &arn(5), |p| {
        p.approval_status = Some(ApprovalStatus::Approved)
    });
    // v6: its write-back names a model that does not exist.
    world.change_package(0, &arn(6), |p| {
        let links = p.customer_metadata[keys::LINKS].clone();
        let (_, rest) = links.split_once(' ').unwrap();
        p.customer_metadata
            .insert(keys::LINKS.into(), format!("model=9999 {rest}"));
    });
    // v7: archived in SageMaker.
    world.change_package(0, &arn(7), |p| {
        p.lifecycle = Some(lifecycle("Archived", "Retired"))
    });
    // v9: registered, its event lost.
    world.register(0, GROUP, 9);
    BTreeSet::from([
        (DriftKind::ModelPackageGone, arn(1), "decommission_model"),
        (DriftKind::StatusOutOfStep, arn(2), "propagate_status"),
        (DriftKind::StatusOutOfStep, arn(3), "sync_package"),
        (DriftKind::StatusOutOfStep, arn(4), "archive_package"),
        (DriftKind::ShadowApproval, arn(5), "sync_package"),
        (DriftKind::DanglingLink, arn(6), "sync_package"),
        (DriftKind::ModelPackageGone, arn(7), "decommission_model"),
        (DriftKind::PackageNotInGovernance, arn(9), "sync_package"),
        (DriftKind::ModelPackageGone, other, "decommission_model"),
    ])
}

/// What the decommission function does with a request (F6): archive the package, through core.
async fn consume_decommission_requests(world: &World, package_arn: &str) -> usize {
    let messages = world.queue.messages();
    let mapping = MappingSpec::builtin().unwrap();
    let target = ArchiveTarget::from_mapping(
        &mapping,
        &GovernanceStatus::parse("Decommissioned").unwrap(),
    )
    .unwrap();
    for message in &messages {
        let request = DecommissionRequest::from_json(&message.body).unwrap();
        assert_eq!(request.source, "reconciler");
        let package = world
            .registry()
            .describe_package(&govsync_core::ModelPackageArn::parse(package_arn).unwrap())
            .await
            .unwrap();
        let version = described_version(&package).unwrap();
        let write = archive_write(
            &version,
            &target,
            &archive_reason(&request),
            Revision::from_time(Utc::now()),
        )
        .unwrap()
        .unwrap();
        world
            .registry()
            .update_package(&write.update)
            .await
            .unwrap();
    }
    messages.len()
}

#[tokio::test]
async fn every_repairable_drift_is_reported_exactly_repaired_and_gone_on_the_next_run() {
    let world = synced_world().await;
    let expected = seed_repairable_drift(&world);
    let registry = world.registry();
    let arn = |version| registry.package_arn(GROUP, version);

    let report = world.run(false).await;
    assert!(report.complete);
    assert_eq!(found(&report), expected, "{}", report.table());
    for record in &report.drifts {
        let wanted = if record.drift.repair.action() == "archive_package" {
            RepairOutcome::Enqueued
        } else {
            RepairOutcome::Repaired
        };
        assert_eq!(record.outcome, wanted, "{:?}", record.drift);
    }

    // The repairs took effect on the side each belongs to.
    assert_eq!(world.status_of(&arn(1)).as_deref(), Some("Decommissioned"));
    let v2 = registry.package(arn(2)).unwrap();
    assert_eq!(v2.approval_status, Some(ApprovalStatus::Approved));
    let v2_lifecycle = v2.lifecycle.unwrap();
    assert_eq!(
        (
            v2_lifecycle.stage.as_str(),
            v2_lifecycle.stage_status.as_str()
        ),
        ("Production", "Approved")
    );
    assert_eq!(
        world.status_of(&arn(3)).as_deref(),
        Some("Development Complete")
    );
    assert_eq!(
        registry.package(arn(5)).unwrap().approval_status,
        Some(ApprovalStatus::PendingManualApproval),
        "the gate reverted the shadow approval"
    );
    let v6_model = world.model_of(&arn(6)).unwrap();
    assert_eq!(
        registry
            .package(arn(6))
            .unwrap()
            .customer_metadata
            .get(keys::LINKS)
            .and_then(|links| govsync_core::sync::registry::PackedLinks::parse(links))
            .map(|links| links.model),
        Some(v6_model.id.clone())
    );
    assert_eq!(world.status_of(&arn(7)).as_deref(), Some("Decommissioned"));
    assert!(world.model_of(&arn(9)).is_some());
    let churn = registry.package_arn(OTHER_GROUP, 1);
    assert_eq!(world.status_of(&churn).as_deref(), Some("Decommissioned"));
    // The governance decommission went to the decommission function's queue, once.
    assert_eq!(consume_decommission_requests(&world, &arn(4)).await, 1);

    let again = world.run(false).await;
    assert!(again.complete);
    assert!(again.drifts.is_empty(), "{}", again.table());
    assert_eq!(world.queue.messages().len(), 1, "nothing more enqueued");
}

#[tokio::test]
async fn a_dry_run_reports_the_same_drift_and_changes_nothing_on_either_side() {
    let world = synced_world().await;
    let expected = seed_repairable_drift(&world);
    let before = world.snapshot();
    let report = world.run(true).await;
    assert!(report.dry_run && report.complete);
    assert_eq!(found(&report), expected, "{}", report.table());
    assert!(
        report
            .drifts
            .iter()
            .all(|record| record.outcome == RepairOutcome::Planned),
        "{}",
        report.table()
    );
    assert_eq!(world.snapshot(), before, "a dry run changes nothing");
    // And it plans the same again.
    let second = world.run(true).await;
    assert_eq!(found(&second), expected);
    assert_eq!(world.snapshot(), before);
}

#[tokio::test]
async fn drift_only_a_person_can_fix_is_reported_and_left_alone() {
    let world = synced_world().await;
    let registry = world.registry();
    // A group nobody assigned, one tagged with a use case that does not exist, a model duplicated,
    // a status the mapping does not know.
    registry.add_group("untagged", BTreeMap::new());
    world.register(0, "untagged", 1);
    registry.add_group(
        "orphan-tag",
        BTreeMap::from([(keys::USE_CASE_ID.to_owned(), "424242".to_owned())]),
    );
    let arn = |version| registry.package_arn(GROUP, version);
    let model = world.model_of(&arn(2)).unwrap();
    world
        .governance
        .insert(&govsync_core::ports::NewGovernanceObject {
            kind: govsync_core::ports::GovernanceKind::Model,
            name: "copy".into(),
            description: None,
            parent_id: None,
            fields: model.fields.clone(),
        });
    world.set_status(&world.model_of(&arn(3)).unwrap().id, "Sunsetting");
    let before = world.snapshot();

    let report = world.run(false).await;
    let kinds: BTreeSet<(DriftKind, &str)> = report
        .drifts
        .iter()
        .map(|r| (r.drift.kind, r.drift.repair.action()))
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            (DriftKind::UnassignedGroup, "report_only"),
            (DriftKind::DanglingLink, "report_only"),
            (DriftKind::DuplicateModels, "report_only"),
            (DriftKind::UnknownGovernanceStatus, "report_only"),
        ]),
        "{}",
        report.table()
    );
    assert!(
        report
            .drifts
            .iter()
            .all(|r| r.outcome == RepairOutcome::Reported)
    );
    assert_eq!(world.snapshot(), before, "nothing was changed");
    assert_eq!(world.run(false).await.drifts.len(), 4, "still reported");
}

#[tokio::test]
async fn a_run_cut_off_by_its_deadline_resumes_from_its_checkpoint() {
    let world = World::with(2, GateMode::Enforce, test_tuning());
    for index in 0..2 {
        for group in 0..10 {
            let name = format!("group-{group:02}");
            world.add_assigned_group(index, &name);
            world.register(index, &name, 1);
        }
        world.registries[index].set_latency(std::time::Duration::from_millis(10));
    }
    let first = world
        .run_until(Utc::now() + Duration::milliseconds(120))
        .await;
    assert!(!first.complete, "{}", first.table());
    let stopped = first.stopped_at.clone().expect("where it stopped");
    assert!(first.counts.groups < 20, "{}", first.table());
    assert!(first.resumed_from.is_none());

    let second = world.run(false).await;
    assert!(second.complete, "{}", second.table());
    assert_eq!(second.resumed_from.as_ref(), Some(&stopped));
    assert_eq!(
        first.counts.groups + second.counts.groups,
        20,
        "no group compared twice, none skipped: {} then {}",
        first.table(),
        second.table()
    );
    assert_eq!(second.total.groups, 20);
    assert_eq!(second.total.drifts, 20);
    for index in 0..2 {
        for group in 0..10 {
            let arn = world.registries[index].package_arn(&format!("group-{group:02}"), 1);
            assert!(world.model_of(&arn).is_some(), "{arn}");
        }
    }
    let third = world.run(false).await;
    assert!(
        third.resumed_from.is_none(),
        "a complete run clears the checkpoint"
    );
    assert!(third.drifts.is_empty(), "{}", third.table());
}

#[tokio::test]
async fn throttling_slows_the_run_down_and_does_not_fail_it() {
    let world = World::with(1, GateMode::Enforce, test_tuning());
    world.add_assigned_group(0, GROUP);
    for version in 1..=6 {
        world.register(0, GROUP, version);
    }
    for _ in 0..4 {
        world.registry().fail_next(
            "describe_package",
            RegistryError::Throttled {
                operation: "DescribeModelPackage",
                message: "Rate exceeded".into(),
            },
        );
    }
    let report = world.run(false).await;
    assert!(report.complete);
    assert_eq!(report.counts.drifts, 6, "{}", report.table());
    assert!(report.calls.throttled >= 4, "{:?}", report.calls);
    assert!(report.calls.lowest_concurrency < report.calls.max_concurrency);
}

#[tokio::test]
async fn the_report_is_json_with_counts_by_kind_and_a_table() {
    let world = World::with(1, GateMode::Enforce, test_tuning());
    world.add_assigned_group(0, GROUP);
    world.register(0, GROUP, 1);
    let report = world.run(true).await;
    let json = report.to_json();
    assert_eq!(json["dry_run"], true);
    assert_eq!(json["by_kind"]["package_not_in_governance"], 1);
    assert_eq!(json["drifts"][0]["kind"], "package_not_in_governance");
    assert_eq!(json["drifts"][0]["repair"]["action"], "sync_package");
    assert_eq!(json["drifts"][0]["outcome"]["status"], "planned");
    let table = report.table();
    assert!(
        table.contains("(dry run)") && table.contains("package_not_in_governance"),
        "{table}"
    );
}

#[tokio::test]
async fn saving_the_checkpoint_never_waits_for_the_calls_it_pauses() {
    // Every permit held by the next groups' describes while a finished group's checkpoint is saved.
    let world = World::with(
        1,
        GateMode::Enforce,
        govsync_reconciler::Tuning {
            concurrency: 2,
            group_concurrency: 3,
            ..test_tuning()
        },
    );
    for group in 0..6 {
        let name = format!("group-{group}");
        world.add_assigned_group(0, &name);
        for version in 1..=(group + 1) {
            world.register(0, &name, version);
        }
    }
    world
        .registry()
        .set_latency(std::time::Duration::from_millis(5));
    let report = tokio::time::timeout(std::time::Duration::from_secs(20), world.run(true))
        .await
        .expect("the run does not deadlock");
    assert!(report.complete);
    assert_eq!(report.counts.drifts, 21);
}

#[tokio::test]
async fn the_lambda_response_lists_a_bounded_number_of_drifts() {
    let world = World::with(1, GateMode::Enforce, test_tuning());
    world.add_assigned_group(0, GROUP);
    for version in 1..=5 {
        world.register(0, GROUP, version);
    }
    let report = world.run(true).await;
    let summary = report.summary_json(2);
    assert_eq!(summary["drifts"].as_array().unwrap().len(), 2);
    assert_eq!(summary["drifts_left_out"], 3);
    assert_eq!(summary["counts"]["drifts"], 5);
}

#[tokio::test]
async fn a_run_prints_its_counts_and_the_drift_found_and_repaired_per_kind() {
    let world = World::with(1, GateMode::Enforce, test_tuning());
    world.add_assigned_group(0, GROUP);
    world.register(0, GROUP, 1);
    world.register(0, GROUP, 2);
    let lines = |report: &ReconcileReport| -> Vec<serde_json::Value> {
        govsync_reconciler::metrics::embedded_metrics(report, "govsync")
            .iter()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    };
    let per_kind = |lines: &[serde_json::Value], kind: DriftKind| {
        let line = lines
            .iter()
            .find(|line| line["DriftKind"] == kind.as_str())
            .unwrap_or_else(|| panic!("no line for {kind:?}"));
        (line["DriftsFound"].clone(), line["DriftsRepaired"].clone())
    };

    let first = lines(&world.run(false).await);
    assert_eq!(first.len(), 1 + DriftKind::ALL.len());
    assert_eq!(first[0]["Function"], "reconciler");
    assert_eq!(first[0]["EventsProcessed"], 2, "{}", first[0]);
    assert_eq!(first[0]["DriftsFound"], 2);
    assert_eq!(first[0]["DriftsRepaired"], 2);
    assert_eq!(first[0]["Failures"], 0);
    assert_eq!(
        per_kind(&first, DriftKind::PackageNotInGovernance),
        (2.into(), 2.into())
    );
    assert_eq!(
        per_kind(&first, DriftKind::ShadowApproval),
        (0.into(), 0.into())
    );

    let second = lines(&world.run(false).await);
    assert_eq!(second[0]["EventsProcessed"], 2);
    assert_eq!(second[0]["DriftsFound"], 0);
    assert_eq!(
        per_kind(&second, DriftKind::PackageNotInGovernance),
        (0.into(), 0.into())
    );
}

fn own_keys(package: &mut govsync_core::ports::ModelPackage, count: usize) {
    for i in 0..count {
        package
            .customer_metadata
            .insert(format!("team-key-{i}"), format!("value {i}"));
    }
}

#[tokio::test]
async fn a_package_with_45_own_keys_gets_its_links_packed_and_stays_in_step() {
    let world = World::with(1, GateMode::Enforce, test_tuning());
    world.add_assigned_group(0, GROUP);
    world.register(0, GROUP, 1);
    let arn = world.registry().package_arn(GROUP, 1);
    world.change_package(0, &arn, |p| own_keys(p, 45));

    let first = world.run(false).await;
    assert!(
        first
            .drifts
            .iter()
            .all(|r| r.outcome == RepairOutcome::Repaired),
        "{}",
        first.table()
    );
    let package = world
        .registry()
        .describe_package(&govsync_core::ModelPackageArn::parse(&arn).unwrap())
        .await
        .unwrap();
    assert!(package.customer_metadata.len() <= 50);
    let model = world.model_of(&arn).unwrap();
    let links = &package.customer_metadata[keys::LINKS];
    assert!(
        links.starts_with(&format!("model={} ", model.id)),
        "{links}"
    );
    let next = world.run(false).await;
    assert!(next.drifts.is_empty(), "{}", next.table());
}

#[tokio::test]
async fn a_write_back_that_cannot_hold_is_never_reported_repaired() {
    let world = synced_world().await;
    let arn = world.registry().package_arn(GROUP, 2);
    // The data scientist filled every one of the 50 entries (the old links went with the cleanup).
    world.change_package(0, &arn, |p| {
        p.customer_metadata.clear();
        own_keys(p, 50);
    });

    for run in 1..=2 {
        let report = world.run(false).await;
        let record = report
            .drifts
            .iter()
            .find(|r| r.drift.kind == DriftKind::DanglingLink)
            .unwrap_or_else(|| panic!("run {run}: {}", report.table()));
        let RepairOutcome::NeedsAttention { reason } = &record.outcome else {
            panic!("run {run}: {:?}\n{}", record.outcome, report.table());
        };
        assert!(reason.contains("50 metadata entries"), "{reason}");
        assert_eq!(report.counts.repaired, 0, "run {run}: {}", report.table());
        assert_eq!(report.counts.needs_attention, 1);
        let metrics = govsync_reconciler::metrics::metrics(&report);
        let count = |name: &str| {
            metrics
                .iter()
                .find(|m| m.name == name)
                .map(|m| m.value.clone())
        };
        assert_eq!(
            count("DriftsRepaired"),
            Some(govsync_core::emf::MetricValue::Count(0))
        );
        assert_eq!(
            count("RepairsNeedingAttention"),
            Some(govsync_core::emf::MetricValue::Count(1))
        );
    }
}
