//! The fast and deep passes (issue #17) on the in-memory fakes: batch summaries clear what is in
//! step, only what a summary shows (or hides) is described, the deep slice rolls over the runs so
//! every package is deep-checked within `deep_slices` complete runs, the report says which pass found
//! what, and a run cut off by its deadline keeps its slice.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, Utc};
use govsync_core::customer_metadata::keys;
use govsync_core::ports::ApprovalStatus;
use govsync_core::reconcile::{DriftKind, Pass};
use govsync_core::sync::GateMode;
use govsync_reconciler::{ReconcileReport, Tuning};
use support::{World, lifecycle, test_tuning};

const GROUP: &str = "fraud-eu";
const SLICES: u32 = 4;
const VERSIONS: i32 = 150;

fn sliced() -> Tuning {
    Tuning {
        deep_slices: SLICES,
        ..test_tuning()
    }
}

fn calls_named(world: &World, name: &str) -> usize {
    world
        .registry()
        .calls()
        .iter()
        .filter(|call| **call == name)
        .count()
}

/// 150 versions of one group, synced by a first run and settled by a full cycle of slices.
async fn synced_world() -> World {
    let world = World::with(1, GateMode::Enforce, sliced());
    world.add_assigned_group(0, GROUP);
    for version in 1..=VERSIONS {
        world.register(0, GROUP, version);
    }
    let first = world.run(false).await;
    assert!(first.complete, "{}", first.table());
    assert_eq!(first.counts.drifts, VERSIONS as usize, "{}", first.table());
    assert!(
        first.drifts.iter().all(|record| record.pass == Pass::Fast
            && record.drift.kind == DriftKind::PackageNotInGovernance),
        "a package without a model is the fast pass's: {}",
        first.table()
    );
    assert_eq!(first.counts.described_fast, VERSIONS as usize);
    for _ in 0..SLICES {
        let settled = world.run(false).await;
        assert!(settled.drifts.is_empty(), "{}", settled.table());
    }
    world
}

#[tokio::test]
async fn in_step_packages_are_read_from_batch_summaries_and_each_slice_is_described_once_a_cycle() {
    let world = synced_world().await;
    let mut deep_checked: BTreeMap<String, usize> = BTreeMap::new();
    let mut slices_seen = BTreeSet::new();
    for run in 0..SLICES {
        let before_describes = calls_named(&world, "describe_package");
        let before_batches = calls_named(&world, "batch_describe_packages");
        let report = world.run(false).await;
        assert!(report.drifts.is_empty(), "{}", report.table());
        assert_eq!(report.deep.slices, SLICES);
        slices_seen.insert(report.deep.slice);
        assert_eq!(
            report.counts.described_fast,
            0,
            "run {run}: {}",
            report.table()
        );
        assert_eq!(
            report.counts.summarized + report.counts.described_deep,
            VERSIONS as usize,
            "every package read once: {}",
            report.table()
        );
        assert_eq!(
            calls_named(&world, "describe_package") - before_describes,
            report.counts.described_deep,
            "a describe per deep-checked package, none for the rest"
        );
        assert_eq!(
            calls_named(&world, "batch_describe_packages") - before_batches,
            (VERSIONS as usize).div_ceil(100),
            "a batch call per 100 versions"
        );
        *deep_checked.entry(format!("run {run}")).or_default() += report.counts.described_deep;
    }
    assert_eq!(
        slices_seen.len(),
        SLICES as usize,
        "each run takes the next slice"
    );
    assert_eq!(
        deep_checked.values().sum::<usize>(),
        VERSIONS as usize,
        "every package deep-checked exactly once in {SLICES} runs: {deep_checked:?}"
    );
    // The slices are not empty or lopsided at this size.
    assert!(
        deep_checked.values().all(|count| *count >= 15),
        "{deep_checked:?}"
    );
}

#[tokio::test]
async fn the_fast_pass_finds_what_a_summary_shows_and_the_deep_pass_the_rest_within_a_cycle() {
    let world = synced_world().await;
    let registry = world.registry();
    let arn = |version| registry.package_arn(GROUP, version);
    // Visible in a summary: deleted, governance moved on, approved behind governance's back, new.
    futures::executor::block_on(registry.delete_package(&arn(1))).unwrap();
    world.set_status(
        &world.model_of(&arn(2)).unwrap().id,
        "Approved for Production",
    );
    world.change_package(0, &arn(5), |p| {
        p.approval_status = Some(ApprovalStatus::Approved)
    });
    world.register(0, GROUP, VERSIONS + 1);
    // Invisible in a summary: a write-back naming a model that does not exist, a lifecycle moved on a
    // `both` row.
    world.change_package(0, &arn(6), |p| {
        let links = p.customer_metadata[keys::LINKS].clone();
        let (_, rest) = links.split_once(' ').unwrap();
        p.customer_metadata
            .insert(keys::LINKS.into(), format!("model=9999 {rest}"));
    });
    world.change_package(0, &arn(3), |p| {
        p.lifecycle = Some(lifecycle("Development", "Complete"))
    });

    let mut found: Vec<(DriftKind, String, Pass)> = Vec::new();
    let mut reports: Vec<ReconcileReport> = Vec::new();
    for _ in 0..SLICES {
        let report = world.run(false).await;
        assert!(report.complete, "{}", report.table());
        found.extend(report.drifts.iter().map(|record| {
            (
                record.drift.kind,
                record
                    .drift
                    .package_arn
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                record.pass,
            )
        }));
        reports.push(report);
    }
    let first = &reports[0];
    let fast_in_first: BTreeSet<(DriftKind, String)> = first
        .drifts
        .iter()
        .filter(|record| record.pass == Pass::Fast)
        .map(|record| {
            (
                record.drift.kind,
                record.drift.package_arn.as_ref().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        fast_in_first,
        BTreeSet::from([
            (DriftKind::ModelPackageGone, arn(1)),
            (DriftKind::StatusOutOfStep, arn(2)),
            (DriftKind::ShadowApproval, arn(5)),
            (DriftKind::PackageNotInGovernance, arn(VERSIONS + 1)),
        ]),
        "the first run's fast pass: {}",
        first.table()
    );
    assert_eq!(
        first.counts.described_fast,
        3,
        "v2, v5 and the new version described; v1 is gone: {}",
        first.table()
    );
    for (kind, version) in [
        (DriftKind::DanglingLink, 6),
        (DriftKind::StatusOutOfStep, 3),
    ] {
        let hits: Vec<_> = found
            .iter()
            .filter(|(k, package, _)| *k == kind && *package == arn(version))
            .collect();
        assert_eq!(
            hits.len(),
            1,
            "{kind:?} on v{version} found once within {SLICES} runs: {found:?}"
        );
        assert_eq!(hits[0].2, Pass::Deep, "and by the deep pass");
    }
    assert!(
        first.table().contains("deep pass: slice"),
        "the report says what each pass read: {}",
        first.table()
    );
    let json = first.to_json();
    assert_eq!(
        json["by_pass"]["fast"].as_u64(),
        Some(first.by_pass().0 as u64)
    );
    assert!(
        json["drifts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|drift| drift["pass"] == "fast" || drift["pass"] == "deep")
    );
    let settled = world.run(false).await;
    assert!(settled.drifts.is_empty(), "{}", settled.table());
}

#[tokio::test]
async fn a_run_cut_off_by_its_deadline_keeps_its_slice_and_the_next_complete_run_moves_on() {
    let world = World::with(2, GateMode::Enforce, sliced());
    for index in 0..2 {
        for group in 0..10 {
            let name = format!("group-{group:02}");
            world.add_assigned_group(index, &name);
            world.register(index, &name, 1);
        }
    }
    let settle = world.run(false).await;
    assert!(settle.complete, "{}", settle.table());
    let next_slice = (settle.deep.slice + 1) % SLICES;
    for registry in &world.registries {
        registry.set_latency(std::time::Duration::from_millis(10));
    }
    let cut = world
        .run_until(Utc::now() + Duration::milliseconds(120))
        .await;
    assert!(!cut.complete, "{}", cut.table());
    assert_eq!(cut.deep.slice, next_slice);
    let resumed = world.run(false).await;
    assert!(resumed.complete && resumed.resumed_from.is_some());
    assert_eq!(resumed.deep.slice, next_slice, "the resumed run keeps it");
    let after = world.run(false).await;
    assert_eq!(after.deep.slice, (next_slice + 1) % SLICES);
}

#[tokio::test]
async fn with_one_slice_every_package_is_described_and_no_batch_is_asked() {
    let world = World::with(1, GateMode::Enforce, test_tuning());
    world.add_assigned_group(0, GROUP);
    for version in 1..=5 {
        world.register(0, GROUP, version);
    }
    world.run(false).await;
    let before = calls_named(&world, "describe_package");
    let report = world.run(false).await;
    assert!(report.drifts.is_empty(), "{}", report.table());
    assert_eq!(report.counts.described_deep, 5);
    assert_eq!(report.counts.summarized, 0);
    assert_eq!(calls_named(&world, "batch_describe_packages"), 0);
    assert_eq!(calls_named(&world, "describe_package") - before, 5);
}
