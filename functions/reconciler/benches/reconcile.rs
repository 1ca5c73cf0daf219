//! The reconciler at scale, run by hand (not in CI):
//!
//! ```sh
//! CARGO_TARGET_DIR=/var/tmp/govsync-target cargo bench -p govsync-reconciler --bench reconcile
//! ```
//!
//! (`cargo test -p govsync-reconciler --bench reconcile` runs the same in the test profile.)
//!
//! 10 000 packages across 3 registries (34 groups of ~100 versions each per registry), already in
//! governance, of which 1 % lost their event (missing from governance) and 1 % were approved behind
//! governance's back, and the first version of 20 groups per registry approved and served by an endpoint
//! whose Model does not yet record it (`Deployments`); reconciled against the in-memory fakes with every remote call faked at a
//! realistic latency (SageMaker 30 ms, governance 40 ms, DynamoDB / SQS 5 ms) and listings answered in
//! pages of 100, as SageMaker and the query API page them. Every call also takes a token from the
//! rate-limit model (`rate_limits/`): a token bucket per SageMaker operation family and account, per
//! governance tenant, per table (reads, writes) and for the decommission queue; a call waits for its
//! token, never fails. Prints the modeled wall time against Lambda's 15-minute limit, calls made per
//! service and per family, each bucket's waits and time waited, and peak RSS.
//!
//! Environment:
//! - `RECONCILE_BENCH_PACKAGES` (10 000), `GOVSYNC_RECONCILE_CONCURRENCY` (16): size and concurrency.
//! - `RECONCILE_BENCH_CLOCK`: `virtual` (default) runs on tokio's paused clock, which jumps ahead
//!   whenever every task waits, so faked latency and token waits cost no real time and the printed
//!   wall time is the modeled one (govsync's own CPU time is not in it; the real time is printed
//!   beside it); `real` runs on the real clock, as the benchmark did before the rate-limit model.
//! - `RECONCILE_BENCH_RATE_LIMITS=off`: every bucket unlimited (the benchmark before the model).
//! - `RECONCILE_BENCH_<NAME>_TPS` and `RECONCILE_BENCH_<NAME>_BURST` set one limit (`0` or `off`:
//!   unlimited; a rate without a burst gets one second's worth), NAME one of `SAGEMAKER_LIST` (2/s,
//!   burst 4), `SAGEMAKER_DESCRIBE` (10/s, 20), `SAGEMAKER_UPDATE` (2/s, 4), `SAGEMAKER_TAGS` (2/s, 4),
//!   each per account; `GOVERNANCE` (10/s, 10) per tenant; `TABLE_READ` (3 000/s) and `TABLE_WRITE`
//!   (1 000/s) per table; `QUEUE` (300/s). Sources and assumptions: `rate_limits/mod.rs` and README.

#[path = "../tests/support/mod.rs"]
mod support;

mod rate_limits;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use govsync_adapters::fakes::FakeIdempotencyStore;
use govsync_core::customer_metadata::keys;
use govsync_core::model_card::{self, CardDecision, CardFacts, PackageCard};
use govsync_core::ports::{ApprovalStatus, Field, GovernanceKind, NewGovernanceObject};
use govsync_core::reconcile::DriftKind;
use govsync_core::sync::{GateMode, fields};
use govsync_reconciler::{ReconcileReport, Reconciler, RunOptions};
use govsync_testkit::cost::{self, Usage};
use rate_limits::ports::{
    LimitedCursors, LimitedGovernance, LimitedIdempotency, LimitedLinks, LimitedQueue,
    LimitedRegistry,
};
use rate_limits::{Buckets, Family, Limits};
use support::World;

/// Groups per registry whose first version an endpoint serves.
const SERVED_GROUPS: usize = 20;
const LAMBDA_LIMIT: Duration = Duration::from_secs(15 * 60);
/// SageMaker and the governance query API answer listings in pages of 100.
const PAGE_SIZE: usize = 100;

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

/// Whether waits cost real time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Clock {
    /// tokio's paused clock, advanced whenever every task waits.
    Virtual,
    Real,
}

fn main() {
    let clock = match std::env::var("RECONCILE_BENCH_CLOCK").ok().as_deref() {
        Some("real") => Clock::Real,
        _ => Clock::Virtual,
    };
    // A paused clock needs the current-thread runtime; the real one keeps the multi-thread runtime
    // the benchmark ran on before.
    let runtime = match clock {
        Clock::Virtual => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build(),
        Clock::Real => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
    }
    .expect("a tokio runtime");
    runtime.block_on(bench(clock));
}

/// The fakes' accounts and Regions, as their ARNs carry them (World numbers the accounts).
fn registry_ids(world: &World) -> Vec<support::FakeRegistryId> {
    world
        .registries
        .iter()
        .map(|registry| {
            let arn = registry.group_arn("any");
            let parts: Vec<&str> = arn.split(':').collect();
            support::FakeRegistryId {
                account: parts[4].to_owned(),
                region: parts[3].to_owned(),
            }
        })
        .collect()
}

/// The reconciler of `world`'s fakes, each behind its buckets.
type LimitedReconciler = Reconciler<
    LimitedGovernance,
    LimitedRegistry,
    LimitedIdempotency,
    LimitedLinks,
    LimitedCursors,
    LimitedQueue,
>;

fn limited_reconciler(
    world: &World,
    buckets: &Buckets,
    tuning: govsync_reconciler::Tuning,
) -> LimitedReconciler {
    let ids = registry_ids(world);
    let settings = support::settings(&ids.iter().collect::<Vec<_>>(), GateMode::Enforce);
    let map: Vec<govsync_core::Registry> = settings.registries.registries().to_vec();
    let clients = map
        .iter()
        .cloned()
        .zip(world.registries.iter().zip(&buckets.sagemaker))
        .map(|(registry, (fake, buckets))| {
            (
                registry,
                Arc::new(LimitedRegistry::new(
                    Arc::clone(fake),
                    buckets.clone(),
                    PAGE_SIZE,
                )),
            )
        })
        .collect();
    Reconciler::new(
        settings,
        Arc::new(LimitedGovernance::new(
            Arc::clone(&world.governance),
            Arc::clone(&buckets.governance),
            PAGE_SIZE,
        )),
        clients,
        Arc::new(LimitedIdempotency::new(
            Arc::new(FakeIdempotencyStore::new()),
            buckets.idempotency.clone(),
        )),
        Arc::new(LimitedLinks::new(
            Arc::clone(&world.links),
            buckets.links.clone(),
        )),
        Arc::new(LimitedCursors::new(
            Arc::clone(&world.cursors),
            buckets.cursors.clone(),
        )),
        Arc::new(LimitedQueue::new(
            Arc::clone(&world.queue),
            Arc::clone(&buckets.queue),
        )),
        tuning,
    )
    // S3 and ECR of the first account, as World wires them (not rate-limited: no latency either).
    .with_artifact_readers(govsync_flows::artifacts::ArtifactReaders::from_clients(
        vec![(
            map[0].clone(),
            Arc::clone(&world.artifacts),
            Arc::clone(&world.artifacts),
        )],
    ))
}

/// One run: its report, the modeled wall time (tokio's clock) and the real time it took.
async fn timed_run(reconciler: &LimitedReconciler) -> (ReconcileReport, Duration, Duration) {
    let modeled = tokio::time::Instant::now();
    let real = std::time::Instant::now();
    let report = reconciler
        .run(&RunOptions {
            dry_run: false,
            deadline: None,
        })
        .await
        .expect("the run completes");
    (report, modeled.elapsed(), real.elapsed())
}

/// Against Lambda's limit: the share of 15 minutes, and how many runs (each stopping `margin` before
/// its deadline and resuming from the checkpoint) the same work would take; one run fits only within
/// the limit less the margin.
fn against_lambda(wall: Duration, margin: Duration) -> String {
    let per_run = LAMBDA_LIMIT.saturating_sub(margin).as_secs_f64().max(1.0);
    format!(
        "{:.1} % of the 15-minute Lambda limit; {}",
        wall.as_secs_f64() * 100.0 / LAMBDA_LIMIT.as_secs_f64(),
        if wall.as_secs_f64() <= per_run {
            "fits one run".to_owned()
        } else {
            format!(
                "does NOT fit one run: ~{} runs of {:.0} min",
                (wall.as_secs_f64() / per_run).ceil(),
                per_run / 60.0
            )
        }
    )
}

/// The reconciler's memory in both templates (MB).
const RECONCILER_MEMORY_MB: u32 = 1024;

/// What one reconcile costs (issue 17's cost model): the reconciler at its template memory for the
/// modeled wall time, an invocation and a schedule per Lambda run the work takes, and the table and
/// queue calls the buckets counted (an item of govsync's tables is under 1 KB: a call is one unit).
/// SageMaker and governance calls have no per-call price.
fn run_usage(buckets: &Buckets, wall: Duration, margin: Duration) -> Usage {
    let per_run = LAMBDA_LIMIT.saturating_sub(margin).as_secs_f64().max(1.0);
    let runs = (wall.as_secs_f64() / per_run).ceil().max(1.0);
    let tables = [&buckets.links, &buckets.idempotency, &buckets.cursors];
    let decommissions = buckets.queue.stats().calls as f64;
    Usage {
        lambda_invocations: runs,
        scheduler_invocations: runs,
        read_units: tables.iter().map(|t| t.read.stats().calls as f64).sum(),
        write_units: tables.iter().map(|t| t.write.stats().calls as f64).sum(),
        sqs_fifo_requests: decommissions * cost::queued_message_requests(1.0),
        ..Usage::lambda(RECONCILER_MEMORY_MB, wall.as_secs_f64())
    }
}

fn print_cost(label: &str, usage: Usage) {
    let cost = usage.cost(&cost::US_EAST_1);
    println!(
        "  cost of {label} ({}, on-demand, read {}): ${:.4} = Lambda ${:.4} ({:.0} GB-s, {} invocations), DynamoDB ${:.4} ({} read, {} write units), SQS ${:.4}, EventBridge Scheduler ${:.6}",
        cost::US_EAST_1.region,
        cost::US_EAST_1.read_on,
        cost.total(),
        cost.lambda,
        usage.lambda_gb_seconds,
        usage.lambda_invocations,
        cost.dynamodb,
        usage.read_units,
        usage.write_units,
        cost.sqs,
        cost.eventbridge
    );
}

async fn bench(clock: Clock) {
    rate_limits::self_check().await;
    let packages = env_number("RECONCILE_BENCH_PACKAGES", 10_000);
    let registries = env_number("RECONCILE_BENCH_REGISTRIES", 3).max(1);
    let groups_per_registry = env_number("RECONCILE_BENCH_GROUPS_PER_REGISTRY", 34).max(1);
    let concurrency = env_number("GOVSYNC_RECONCILE_CONCURRENCY", 16);
    // The templates' settings by default; `GOVSYNC_RECONCILE_DEEP_SLICES=1` and
    // `GOVSYNC_RECONCILE_REGISTRY_CONCURRENCY=1` are the old design (every package described every run,
    // one registry after another).
    let tuning = govsync_reconciler::Tuning {
        concurrency,
        registry_concurrency: env_number("GOVSYNC_RECONCILE_REGISTRY_CONCURRENCY", 10),
        deep_slices: env_number("GOVSYNC_RECONCILE_DEEP_SLICES", 24) as u32,
        deep_describes_per_second: env_number("GOVSYNC_RECONCILE_DEEP_DESCRIBES_PER_SECOND", 5)
            as u32,
        ..govsync_reconciler::Tuning::default()
    };
    let deep_slices = tuning.deep_slices.max(1);
    let deep_rate = tuning.deep_describes_per_second;
    let limits = Limits::from_env();
    let world = World::with(registries, GateMode::Enforce, tuning.clone());
    let accounts: Vec<String> = registry_ids(&world)
        .into_iter()
        .map(|id| id.account)
        .collect();
    let buckets = Buckets::new(&accounts, &limits);
    let margin = tuning.deadline_margin;
    let reconciler = limited_reconciler(&world, &buckets, tuning);
    let per_group = packages.div_ceil(registries * groups_per_registry);

    // Seed both sides in step, without calls: groups, packages, model groups, models, write-backs.
    let seeding = std::time::Instant::now();
    let mut seeded = 0;
    let mut missing = 0;
    let mut shadow = 0;
    let mut served = 0;
    'seed: for (index, registry) in world.registries.iter().enumerate() {
        for group in 0..groups_per_registry {
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
        registry.set_page_size(Some(PAGE_SIZE));
    }
    world.governance.set_latency(Duration::from_millis(40));
    world.governance.set_page_size(Some(PAGE_SIZE));
    world.links.set_latency(Duration::from_millis(5));
    world.cursors.set_latency(Duration::from_millis(5));
    world.queue.set_latency(Duration::from_millis(5));

    let (report, wall, real) = timed_run(&reconciler).await;
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
        "reconcile benchmark: {seeded} packages, {registries} registries, {} groups ({per_group} versions each), seeded in {seeding:.2?}",
        registries * groups_per_registry
    );
    println!(
        "passes: {}",
        if deep_slices <= 1 {
            "one (the old design: every package described in full every run)".to_owned()
        } else {
            format!(
                "fast (batch summaries) + deep slice 1/{deep_slices} a run, {} describes/s per account; every package deep-checked within {deep_slices} complete runs ({deep_slices} h at the hourly schedule)",
                if deep_rate == 0 {
                    "unpaced".to_owned()
                } else {
                    deep_rate.to_string()
                }
            )
        }
    );
    println!(
        "latency: SageMaker 30 ms, governance 40 ms, DynamoDB/SQS 5 ms per call; listings in pages of {PAGE_SIZE}; concurrency {concurrency}, registries at once {}",
        reconciler.tuning().registry_concurrency
    );
    println!(
        "rate limits: {}",
        if limits.enabled {
            limits.describe()
        } else {
            "off (RECONCILE_BENCH_RATE_LIMITS=off)".to_owned()
        }
    );
    println!(
        "clock: {}",
        match clock {
            Clock::Virtual =>
                "virtual (tokio's paused clock: wall = modeled latency and waits, no CPU time)",
            Clock::Real => "real",
        }
    );
    println!(
        "seeded drift: {missing} packages missing from governance, {shadow} shadow approvals, {served} served versions whose Model does not record the endpoint"
    );
    println!(
        "run 1 (repair): wall {:.2?} (real {:.2?}) = {}; complete: {}",
        wall,
        real,
        against_lambda(wall, margin),
        report.complete
    );
    println!(
        "  packages: {} in step by summary, {} described (fast), {} described (deep slice); drifts by pass (fast, deep): {:?}",
        report.counts.summarized,
        report.counts.described_fast,
        report.counts.described_deep,
        report.by_pass()
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
        "  SageMaker calls per family: {}",
        Family::ALL
            .iter()
            .map(|family| format!("{} {}", family.name(), buckets.family_total(*family).calls))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  governance calls: {governance_calls:?} (total {})",
        governance_calls.values().sum::<usize>()
    );
    println!("  links-table calls: {store_calls:?}");
    println!("  limiter: {:?}", report.calls);
    println!("  token buckets (waited: summed over calls; concurrent waits add up):");
    print!("{}", buckets.table());
    print_cost("run 1", run_usage(&buckets, wall, margin));
    if let Some(rss) = rss_after_repair {
        println!("  peak RSS so far: {:.1} MiB", rss as f64 / 1024.0);
    }

    buckets.reset_stats();
    let (second, wall2, real2) = timed_run(&reconciler).await;
    println!(
        "run 2 (after repair): wall {:.2?} (real {:.2?}) = {}; drifts {} (expected 0)",
        wall2,
        real2,
        against_lambda(wall2, margin),
        second.counts.drifts
    );
    println!(
        "  packages: {} in step by summary, {} described (fast), {} described (deep slice)",
        second.counts.summarized, second.counts.described_fast, second.counts.described_deep
    );
    println!(
        "  SageMaker calls per family: {}; governance calls {}",
        Family::ALL
            .iter()
            .map(|family| format!("{} {}", family.name(), buckets.family_total(*family).calls))
            .collect::<Vec<_>>()
            .join(", "),
        buckets.governance.stats().calls
    );
    println!("  token buckets:");
    print!("{}", buckets.table());
    let steady = run_usage(&buckets, wall2, margin);
    print_cost("run 2", steady);
    println!(
        "  a month of hourly runs like run 2 (720): ${:.2}",
        steady.times(720.0).cost(&cost::US_EAST_1).total()
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
    if !limits.enabled {
        // Without rate limits the old design's claim holds: one run inside Lambda's limit.
        assert!(wall < LAMBDA_LIMIT);
    }
}
