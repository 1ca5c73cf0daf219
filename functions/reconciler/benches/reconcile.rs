//! The reconciler at scale, run by hand (not in CI):
//!
//! ```sh
//! CARGO_TARGET_DIR=/var/tmp/govsync-target cargo bench --workspace --bench reconcile
//! ```
//!
//! 10 000 packages across 3 registries (34 groups of ~100 versions each per registry), already in
//! governance, of which 1 % lost their event (missing from governance) and 1 % were approved behind
//! governance's back, and the first version of 20 groups per registry approved and served by an endpoint
//! whose Model does not yet record it (`Deployments`); reconciled against the in-memory fakes with every remote call faked at a
//! realistic latency (SageMaker 30 ms, governance 40 ms, DynamoDB / SQS 5 ms) and listings answered in
//! pages of 100, as SageMaker and the query API page them. Prints wall time against Lambda's 15-minute
//! limit, calls made per service, throttling, and peak RSS. `RECONCILE_BENCH_PACKAGES` and
//! `GOVSYNC_RECONCILE_CONCURRENCY` change the size and the concurrency.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use govsync_core::customer_metadata::keys;
use govsync_core::model_card::{self, CardDecision, CardFacts, PackageCard};
use govsync_core::ports::{ApprovalStatus, Field, GovernanceKind, NewGovernanceObject};
use govsync_core::reconcile::DriftKind;
use govsync_core::sync::{GateMode, fields};
use support::World;

const REGISTRIES: usize = 3;
const GROUPS_PER_REGISTRY: usize = 34;
/// Groups per registry whose first version an endpoint serves.
const SERVED_GROUPS: usize = 20;
const LAMBDA_LIMIT: Duration = Duration::from_secs(15 * 60);

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|value| value.parse().ok())
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let packages = env_number("RECONCILE_BENCH_PACKAGES", 10_000);
    let concurrency = env_number("GOVSYNC_RECONCILE_CONCURRENCY", 16);
    let tuning = govsync_reconciler::Tuning {
        concurrency,
        ..govsync_reconciler::Tuning::default()
    };
    let world = World::with(REGISTRIES, GateMode::Enforce, tuning);
    let per_group = packages.div_ceil(REGISTRIES * GROUPS_PER_REGISTRY);

    // Seed both sides in step, without calls: groups, packages, model groups, models, write-backs.
    let seeding = Instant::now();
    let mut seeded = 0;
    let mut missing = 0;
    let mut shadow = 0;
    let mut served = 0;
    'seed: for (index, registry) in world.registries.iter().enumerate() {
        for group in 0..GROUPS_PER_REGISTRY {
            let name = format!("model-{index}-{group:03}");
            let group_arn = world.add_assigned_group(index, &name);
            let model_group = world.governance.insert(&NewGovernanceObject {
                kind: GovernanceKind::ModelGroup,
                name: name.clone(),
                description: None,
                parent_id: Some(world.use_case.id.clone()),
                fields: vec![Field::text(fields::EXTERNAL_ID, group_arn)],
            });
            for version in 1..=per_group {
                if seeded == packages {
                    break 'seed;
                }
                seeded += 1;
                let mut package = world.register(index, &name, version as i32);
                if seeded % 100 == 7 {
                    // Its registration event was lost: governance has no model.
                    missing += 1;
                    continue;
                }
                // Approved for pre-production and serving there (not a shadow approval).
                let serving = version == 1 && group < SERVED_GROUPS && seeded % 100 != 42;
                let status = if serving {
                    "Approved for Deployment"
                } else {
                    "Under Development"
                };
                let model = world.governance.insert(&NewGovernanceObject {
                    kind: GovernanceKind::Model,
                    name: format!("{name} version {version}"),
                    description: None,
                    parent_id: Some(model_group.id.clone()),
                    fields: vec![
                        Field::text(fields::EXTERNAL_ID, package.arn.clone()),
                        Field::choice(fields::MODEL_STATUS, status),
                    ],
                });
                // The Model Card as govsync's sync leaves it, so the card is in step too.
                if let CardDecision::Write(card) = model_card::merge(
                    None,
                    &CardFacts {
                        use_case_id: world.use_case.id.to_string(),
                        use_case_name: world.use_case.name.clone(),
                        business_entity: format!("Entity {index}"),
                        governance_status: Some(status.to_owned()),
                        model_group_id: Some(model_group.id.to_string()),
                        model_id: Some(model.id.to_string()),
                        ..CardFacts::default()
                    },
                ) {
                    package.facts.model_card = Some(PackageCard {
                        content: Some(card.content),
                        status: Some(card.status),
                    });
                }
                package.customer_metadata = BTreeMap::from([
                    (keys::USE_CASE_ID.to_owned(), world.use_case.id.to_string()),
                    (keys::MODEL_GROUP_ID.to_owned(), model_group.id.to_string()),
                    (keys::MODEL_ID.to_owned(), model.id.to_string()),
                ]);
                if seeded % 100 == 42 {
                    // Approved in SageMaker behind governance's back.
                    shadow += 1;
                    package.approval_status = Some(ApprovalStatus::Approved);
                }
                if serving {
                    served += 1;
                    package.approval_status = Some(ApprovalStatus::Approved);
                    package.lifecycle = Some(support::lifecycle("PreProduction", "Approved"));
                    registry.serve(
                        &format!("{name}-pre"),
                        package.arn.as_str(),
                        Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/model@sha256:aaaa"),
                        Some("PreProduction"),
                    );
                }
                registry.put_package(package);
            }
        }
    }
    let seeding = seeding.elapsed();

    for registry in &world.registries {
        registry.set_latency(Duration::from_millis(30));
        registry.set_page_size(Some(100));
    }
    world.governance.set_latency(Duration::from_millis(40));
    world.governance.set_page_size(Some(100));
    world.links.set_latency(Duration::from_millis(5));
    world.cursors.set_latency(Duration::from_millis(5));
    world.queue.set_latency(Duration::from_millis(5));

    let started = Instant::now();
    let report = world.run(false).await;
    let wall = started.elapsed();
    let rss_after_repair = peak_rss_kib();

    let count = |calls: Vec<&'static str>| -> BTreeMap<&'static str, usize> {
        let mut out = BTreeMap::new();
        for call in calls {
            *out.entry(call).or_insert(0) += 1;
        }
        out
    };
    let mut registry_calls: BTreeMap<&str, usize> = BTreeMap::new();
    for registry in &world.registries {
        for (call, n) in count(registry.calls()) {
            *registry_calls.entry(call).or_insert(0) += n;
        }
    }
    let governance_calls = count(world.governance.calls());
    let store_calls = count(world.links.calls());

    println!(
        "reconcile benchmark: {seeded} packages, {REGISTRIES} registries, {} groups ({per_group} versions each), seeded in {seeding:.2?}",
        REGISTRIES * GROUPS_PER_REGISTRY
    );
    println!(
        "latency: SageMaker 30 ms, governance 40 ms, DynamoDB/SQS 5 ms per call; listings in pages of 100; concurrency {concurrency}"
    );
    println!(
        "seeded drift: {missing} packages missing from governance, {shadow} shadow approvals, {served} served versions whose Model does not record the endpoint"
    );
    println!(
        "run 1 (repair): wall {:.2?} = {:.1} % of the 15-minute Lambda limit; complete: {}",
        wall,
        wall.as_secs_f64() * 100.0 / LAMBDA_LIMIT.as_secs_f64(),
        report.complete
    );
    println!(
        "  drifts {} (not in governance {}, shadow approvals {}), repaired {}, failed {}",
        report.counts.drifts,
        report
            .drifts
            .iter()
            .filter(|r| r.drift.kind == DriftKind::PackageNotInGovernance)
            .count(),
        report
            .drifts
            .iter()
            .filter(|r| r.drift.kind == DriftKind::ShadowApproval)
            .count(),
        report.counts.repaired,
        report.counts.failed
    );
    println!(
        "  SageMaker calls: {registry_calls:?} (total {})",
        registry_calls.values().sum::<usize>()
    );
    println!(
        "  governance calls: {governance_calls:?} (total {})",
        governance_calls.values().sum::<usize>()
    );
    println!("  links-table calls: {store_calls:?}");
    println!("  limiter: {:?}", report.calls);
    if let Some(rss) = rss_after_repair {
        println!("  peak RSS so far: {:.1} MiB", rss as f64 / 1024.0);
    }

    let started = Instant::now();
    let second = world.run(false).await;
    let wall2 = started.elapsed();
    println!(
        "run 2 (after repair): wall {:.2?} = {:.1} % of the limit; drifts {} (expected 0)",
        wall2,
        wall2.as_secs_f64() * 100.0 / LAMBDA_LIMIT.as_secs_f64(),
        second.counts.drifts
    );
    if let Some(rss) = peak_rss_kib() {
        println!(
            "peak RSS (whole process, seeding included): {:.1} MiB",
            rss as f64 / 1024.0
        );
    }
    assert!(report.complete && second.complete);
    assert_eq!(
        report.counts.drifts,
        missing + shadow + served,
        "{}",
        report.table()
    );
    assert_eq!(
        report
            .drifts
            .iter()
            .filter(|r| r.drift.kind == DriftKind::DeploymentsOutOfStep)
            .count(),
        served
    );
    assert_eq!(second.counts.drifts, 0, "{}", second.table());
    assert!(wall < LAMBDA_LIMIT);
}
