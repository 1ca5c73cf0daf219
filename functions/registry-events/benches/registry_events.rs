//! registry-events benchmark (design.md §6), run by hand: `cargo bench -p govsync-registry-events`.
//!
//! Prints (1) govsync's own CPU per event with every port faked at zero latency (median), (2) the
//! wall time of a 10-message batch over k logical groups with every remote call faked at 20 ms, as a
//! ratio to the critical path (the longest group's calls × 20 ms), and (3) remote calls per event
//! by flow.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use chrono::Utc;
use govsync_core::sync::GateMode;
use govsync_testkit::cost::{self, Usage};
use support::*;

const LATENCY: Duration = Duration::from_millis(20);

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn deadline() -> chrono::DateTime<Utc> {
    Utc::now() + chrono::Duration::seconds(60)
}

/// Every remote call the world's fakes saw, in total.
fn calls(world: &World) -> usize {
    world.governance.calls().len()
        + world.registry.calls().len()
        + world.idempotency.calls().len()
        + world.links.calls().len()
        + world.quarantine.calls().len()
}

fn set_latency(world: &World, latency: Duration) {
    world.governance.set_latency(latency);
    world.registry.set_latency(latency);
    world.idempotency.set_latency(latency);
    world.links.set_latency(latency);
    world.quarantine.set_latency(latency);
}

async fn cpu_per_event() {
    const RUNS: usize = 2000;
    // F3 steady state: a metadata change on a synced package (decode, triage, decide, encode).
    let world = World::new(GateMode::Enforce);
    world.add_assigned_group("fraud");
    let mut package = world.register("fraud", 1);
    world
        .run(vec![record("warm", &state_change(&package))])
        .await;
    let mut samples = Vec::with_capacity(RUNS);
    for run in 0..RUNS {
        package = world.registry.package(&package.arn).unwrap_or(package);
        package.model_data_urls = vec![format!("s3://models/fraud/1/model-{run}.tar.gz")];
        package.last_modified_time = package
            .last_modified_time
            .map(|t| t + chrono::Duration::milliseconds(10));
        world.registry.put_package(package.clone());
        let records = vec![record(&format!("m{run}"), &state_change(&package))];
        let started = Instant::now();
        let report = world.handler.handle_batch(&records, deadline()).await;
        samples.push(started.elapsed());
        assert_eq!(report.count("synced"), 1, "{report:?}");
    }
    println!(
        "cpu per event (F3 metadata change, zero-latency fakes): median {:?} over {RUNS} events (budget 100 µs)",
        median(samples)
    );

    // F2: a new version in a known group.
    let world = World::new(GateMode::Enforce);
    world.add_assigned_group("fraud");
    let first = world.register("fraud", 1);
    world.run(vec![record("warm", &state_change(&first))]).await;
    let mut samples = Vec::with_capacity(RUNS);
    for version in 2..(RUNS as i32 + 2) {
        let package = world.register("fraud", version);
        let records = vec![record(&format!("v{version}"), &state_change(&package))];
        let started = Instant::now();
        world.handler.handle_batch(&records, deadline()).await;
        samples.push(started.elapsed());
    }
    println!(
        "cpu per event (F2 new version, zero-latency fakes): median {:?} over {RUNS} events",
        median(samples)
    );
}

async fn batch_over_groups(k: usize) {
    // Calls per group, counted alone at zero latency, give the critical path.
    let build = |world: &World| -> Vec<aws_lambda_events::sqs::SqsMessage> {
        let mut records = Vec::new();
        for index in 0..10 {
            let group = format!("group-{}", index % k);
            if index < k {
                world.add_assigned_group(&group);
            }
            let package = world.register(&group, (index / k + 1) as i32);
            records.push(record(&format!("m{index}"), &state_change(&package)));
        }
        records
    };
    let mut longest_group_calls = 0;
    for group in 0..k {
        let world = World::new(GateMode::Enforce);
        let records = build(&world);
        let own: Vec<_> = records
            .iter()
            .enumerate()
            .filter(|(index, _)| index % k == group)
            .map(|(_, record)| record.clone())
            .collect();
        let before = calls(&world);
        world.handler.handle_batch(&own, deadline()).await;
        longest_group_calls = longest_group_calls.max(calls(&world) - before);
    }
    let world = World::new(GateMode::Enforce);
    let records = build(&world);
    set_latency(&world, LATENCY);
    let started = Instant::now();
    let report = world.handler.handle_batch(&records, deadline()).await;
    let wall = started.elapsed();
    assert_eq!(report.count("synced"), 10, "{report:?}");
    let critical = LATENCY * u32::try_from(longest_group_calls).unwrap_or(u32::MAX);
    println!(
        "10-message batch over k={k:>2} groups, calls at 20 ms: wall {wall:>8.1?}, critical path {critical:>8.1?} ({longest_group_calls} calls), ratio {:.2} (budget 1.2)",
        wall.as_secs_f64() / critical.as_secs_f64()
    );
}

async fn calls_per_flow() {
    async fn measure(label: &str, world: &World, body: String) -> Usage {
        let before_items = world.links.transaction_items();
        let before_gov = world.governance.calls().len();
        let before_reg = world.registry.calls().len();
        let before_idem = world.idempotency.calls().len();
        let before_links = world.links.calls().len();
        let before_quarantine = world.quarantine.calls().len();
        world
            .handler
            .handle_batch(&[record(label, &body)], deadline())
            .await;
        let governance = world.governance.calls()[before_gov..].join(",");
        let registry = world.registry.calls()[before_reg..].join(",");
        // Table and queue calls by name, counted: idempotency table, links table, DLQ.
        let mut by_name: Vec<(String, usize)> = Vec::new();
        let (idem, links, queue) = (
            world.idempotency.calls(),
            world.links.calls(),
            world.quarantine.calls(),
        );
        let named = idem[before_idem..]
            .iter()
            .map(|call| format!("idem.{call}"))
            .chain(
                links[before_links..]
                    .iter()
                    .map(|call| format!("links.{call}")),
            )
            .chain(
                queue[before_quarantine..]
                    .iter()
                    .map(|call| format!("queue.{call}")),
            );
        for name in named {
            match by_name.iter_mut().find(|(seen, _)| *seen == name) {
                Some((_, count)) => *count += 1,
                None => by_name.push((name, 1)),
            }
        }
        let total: usize = by_name.iter().map(|(_, count)| count).sum();
        let breakdown = by_name
            .iter()
            .map(|(name, count)| format!("{name}×{count}"))
            .collect::<Vec<_>>()
            .join(",");
        let governance_calls = world.governance.calls().len() - before_gov;
        let registry_calls = world.registry.calls().len() - before_reg;
        println!(
            "  {label:<34} governance {governance_calls} [{governance}]  registry {registry_calls} [{registry}]  tables+queue {total} [{breakdown}]",
        );
        // The cost model (issue 17): the table units (a transaction's items at two units each), the
        // function at its template memory for the calls' faked latencies one after the other
        // (governance 40 ms, SageMaker 30 ms, DynamoDB/SQS 5 ms), and the event's way in: the spoke's
        // rule delivering it to the hub's bus (a cross-account event), the ingest queue and the relay
        // (128 MB, one send), registry-events.fifo; queues polled one message a batch.
        let table_calls: Vec<&str> = idem[before_idem..]
            .iter()
            .chain(&links[before_links..])
            .copied()
            .collect();
        let (read_units, write_units) = cost::table_units(&table_calls);
        let transaction_units = 2.0 * (world.links.transaction_items() - before_items) as f64;
        let seconds =
            governance_calls as f64 * 0.040 + registry_calls as f64 * 0.030 + total as f64 * 0.005;
        Usage {
            read_units,
            write_units: write_units + transaction_units,
            sqs_standard_requests: cost::queued_message_requests(1.0),
            sqs_fifo_requests: cost::queued_message_requests(1.0),
            eventbridge_events: 1.0,
            ..Usage::lambda(256, seconds)
        }
        .plus(Usage::lambda(128, 0.005))
    }
    println!("remote calls per event by flow:");
    let world = World::new(GateMode::Enforce);
    world.add_assigned_group("fraud");
    let first = world.register("fraud", 1);
    let new_group = measure("F2 new version, new group", &world, state_change(&first)).await;
    let second = world.register("fraud", 2);
    let known_group = measure("F2 new version, known group", &world, state_change(&second)).await;
    let duplicate = measure("duplicate delivery", &world, state_change(&second)).await;
    let echoed = world
        .registry
        .package(&second.arn)
        .unwrap_or(second.clone());
    let echo = measure(
        "echo of the write-back (ledger)",
        &world,
        state_change(&echoed),
    )
    .await;
    measure(
        "echo of govsync's call (CloudTrail)",
        &world,
        update_call(&second.arn, GOVSYNC_CALLER, "ev-bench-1"),
    )
    .await;
    let mut changed = echoed.clone();
    changed.model_data_urls = vec!["s3://models/fraud/2/retrained.tar.gz".into()];
    changed.last_modified_time = changed
        .last_modified_time
        .map(|t| t + chrono::Duration::seconds(5));
    world.registry.put_package(changed.clone());
    let metadata = measure("F3 metadata change", &world, state_change(&changed)).await;
    measure("stale (older revision)", &world, state_change(&first)).await;
    let mut approved = world.registry.package(&changed.arn).unwrap_or(changed);
    approved.approval_status = Some(govsync_core::ports::ApprovalStatus::Approved);
    approved.last_modified_time = approved
        .last_modified_time
        .map(|t| t + chrono::Duration::seconds(5));
    world.registry.put_package(approved.clone());
    let shadow = measure(
        "F3 shadow approval (enforce)",
        &world,
        state_change(&approved),
    )
    .await;
    let rows: Vec<(String, Usage)> = [
        ("F2 new version, known group", known_group),
        ("F2 new version, new group", new_group),
        ("F3 metadata change", metadata),
        ("F3 shadow approval reverted", shadow),
        ("echo of govsync's write-back", echo),
        ("duplicate delivery", duplicate),
    ]
    .into_iter()
    .map(|(label, usage)| (format!("{label}, per million"), usage.times(1e6)))
    .collect();
    print!("{}", cost::table(&cost::US_EAST_1, &rows));
}

fn main() {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start a runtime: {error}");
            std::process::exit(1);
        }
    };
    // `-- calls`: only the calls per flow (they do not depend on the build profile).
    let calls_only = std::env::args().skip(1).any(|arg| arg == "calls");
    runtime.block_on(async {
        if calls_only {
            calls_per_flow().await;
            return;
        }
        cpu_per_event().await;
        for k in [1, 2, 5, 10] {
            batch_over_groups(k).await;
        }
        calls_per_flow().await;
    });
}
