//! The rate-limit model of the reconcile benchmark: a token bucket (rate per second, burst) per
//! SageMaker operation family and account, per governance tenant, per table (reads and writes) and
//! for the decommission queue. A call waits for its token (tokio time, so a paused clock models the
//! wait without spending it) and never fails; each bucket counts its calls, its waits and the time
//! waited. The ports' wrappers that take the tokens are in [`ports`].
//!
//! Defaults, and why (README "Performance" has the same table):
//! - SageMaker, per account and Region. AWS throttles every API "per account and per AWS Region"
//!   (Knowledge Center, sagemaker-python-throttlingexception) but publishes no per-operation rate for
//!   the model-registry, hosting or tagging APIs (General Reference "Amazon SageMaker AI endpoints and
//!   quotas" lists resource quotas only; the SageMaker guide says management API throttling limits
//!   are not adjustable). The figures are therefore **assumed**, at the low end of what control-plane
//!   APIs allow: List 2/s (burst 4), Describe 10/s (burst 20), Update 2/s (burst 4), tags 2/s (burst 4).
//! - Governance, per tenant: IBM documents no OpenPages REST API v2 rate; the API answers 429 with
//!   `Retry-After` (shared/contracts/openpages-v2.md), so one exists. **Assumed** 10/s (burst 10).
//! - DynamoDB, per table: "each partition … can serve up to 3,000 read request units or 1,000 write
//!   request units" (DynamoDB guide, warm-throughput-scenarios; Knowledge Center
//!   on-demand-table-throttling-dynamodb). govsync's tables are small (one partition) and every item
//!   read or written is under 1 KB, so one call = one unit: reads 3,000/s, writes 1,000/s (burst = 1 s).
//! - SQS FIFO (decommission queue): "FIFO queues support 300 transactions per second, per API action"
//!   (SQS guide, troubleshooting-fifo-throttling-issues): 300/s (burst = 1 s).
pub mod ports;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// A rate (tokens per second) and a burst (tokens held at most).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    pub per_second: f64,
    pub burst: f64,
}

impl Limit {
    pub const fn new(per_second: f64, burst: f64) -> Self {
        Self { per_second, burst }
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct BucketStats {
    /// Tokens taken: one per call (one per page of a listing).
    pub calls: u64,
    /// Calls that found the bucket empty and waited.
    pub waits: u64,
    /// Time waited, summed over the calls (concurrent waits add up).
    pub waited: Duration,
    pub longest_wait: Duration,
}

#[derive(Debug)]
struct State {
    /// Below zero: tokens already promised to calls still waiting.
    tokens: f64,
    at: Instant,
    stats: BucketStats,
}

/// One token bucket; `limit: None` never waits (it still counts calls).
#[derive(Debug)]
pub struct Bucket {
    pub name: String,
    pub limit: Option<Limit>,
    state: Mutex<State>,
}

impl Bucket {
    pub fn new(name: impl Into<String>, limit: Option<Limit>) -> Self {
        Self {
            name: name.into(),
            limit,
            state: Mutex::new(State {
                tokens: limit.map_or(0.0, |limit| limit.burst),
                at: Instant::now(),
                stats: BucketStats::default(),
            }),
        }
    }

    /// Takes one token, waiting until it is there. A token is reserved at once (the count may go
    /// below zero), so waiting calls are served in arrival order and the rate is never exceeded.
    pub async fn take(&self) {
        let wait = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.stats.calls += 1;
            let Some(limit) = self.limit else {
                return;
            };
            let now = Instant::now();
            let elapsed = now.saturating_duration_since(state.at).as_secs_f64();
            state.tokens = (state.tokens + elapsed * limit.per_second).min(limit.burst);
            state.at = now;
            state.tokens -= 1.0;
            if state.tokens >= 0.0 {
                Duration::ZERO
            } else {
                let wait = Duration::from_secs_f64(-state.tokens / limit.per_second);
                state.stats.waits += 1;
                state.stats.waited += wait;
                state.stats.longest_wait = state.stats.longest_wait.max(wait);
                wait
            }
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Takes `tokens` tokens one after another (the further pages of a listing).
    pub async fn take_n(&self, tokens: usize) {
        for _ in 0..tokens {
            self.take().await;
        }
    }

    pub fn stats(&self) -> BucketStats {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .stats
    }

    /// Starts counting again (between runs); the tokens stay as they are.
    pub fn reset_stats(&self) {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .stats = BucketStats::default();
    }
}

/// Checks the bucket before the benchmark trusts it: at 100/s with a burst of 2, twelve calls at once
/// are two served at once and ten waiting 10 ms more each (0.1 s in all); no limit never waits.
pub async fn self_check() {
    let bucket = Bucket::new("self-check", Some(Limit::new(100.0, 2.0)));
    let started = Instant::now();
    futures::future::join_all((0..12).map(|_| bucket.take())).await;
    let elapsed = started.elapsed();
    let stats = bucket.stats();
    assert_eq!((stats.calls, stats.waits), (12, 10), "{stats:?}");
    assert!(
        elapsed >= Duration::from_millis(100) && elapsed < Duration::from_millis(500),
        "twelve tokens at 100/s, burst 2, took {elapsed:?}"
    );
    // Each waiting call waits one more interval than the one before: 10 + 20 + … + 100 ms (a little
    // less on the real clock, which moves on between the calls).
    assert!(
        (stats.longest_wait.as_secs_f64() - 0.1).abs() < 0.002,
        "{stats:?}"
    );
    assert!(
        (stats.waited.as_secs_f64() - 0.55).abs() < 0.01,
        "{stats:?}"
    );
    let unlimited = Bucket::new("unlimited", None);
    let started = Instant::now();
    futures::future::join_all((0..1000).map(|_| unlimited.take())).await;
    assert!(started.elapsed() < Duration::from_millis(100));
    assert_eq!(unlimited.stats().waits, 0);
}

/// SageMaker's operation families, each its own bucket per account and Region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    /// ListModelPackageGroups, ListModelPackages, ListEndpoints (one token per page).
    List,
    /// DescribeModelPackage, BatchDescribeModelPackage (per call of ≤ 100 ARNs), DescribeEndpoint,
    /// DescribeEndpointConfig, DescribeModel, GetModelPackageGroupPolicy.
    Describe,
    /// UpdateModelPackage, CreateModelPackageGroup, Put/DeleteModelPackageGroupPolicy.
    Update,
    /// ListTags (and AddTags/DeleteTags, which the reconciler does not call).
    Tags,
}

impl Family {
    pub const ALL: [Family; 4] = [Family::List, Family::Describe, Family::Update, Family::Tags];

    pub fn name(self) -> &'static str {
        match self {
            Family::List => "List",
            Family::Describe => "Describe",
            Family::Update => "Update",
            Family::Tags => "tags",
        }
    }

    fn env(self) -> &'static str {
        match self {
            Family::List => "LIST",
            Family::Describe => "DESCRIBE",
            Family::Update => "UPDATE",
            Family::Tags => "TAGS",
        }
    }

    /// Assumed (see the module's comment): AWS publishes no per-operation rate for these APIs.
    fn default_limit(self) -> Limit {
        match self {
            Family::List => Limit::new(2.0, 4.0),
            Family::Describe => Limit::new(10.0, 20.0),
            Family::Update => Limit::new(2.0, 4.0),
            Family::Tags => Limit::new(2.0, 4.0),
        }
    }
}

/// Assumed: no published OpenPages rate (see the module's comment).
pub const GOVERNANCE: Limit = Limit::new(10.0, 10.0);
/// DynamoDB's per-partition maximum, one unit per call of an item under 1 KB.
pub const TABLE_READS: Limit = Limit::new(3000.0, 3000.0);
pub const TABLE_WRITES: Limit = Limit::new(1000.0, 1000.0);
/// SQS FIFO, per API action, without batching.
pub const QUEUE: Limit = Limit::new(300.0, 300.0);

/// The limits of one benchmark run, from the defaults and the environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Every bucket off (`RECONCILE_BENCH_RATE_LIMITS=off`): the old, unlimited benchmark.
    pub enabled: bool,
    pub sagemaker: Vec<(Family, Option<Limit>)>,
    pub governance: Option<Limit>,
    pub table_reads: Option<Limit>,
    pub table_writes: Option<Limit>,
    pub queue: Option<Limit>,
}

impl Limits {
    /// `RECONCILE_BENCH_<NAME>_TPS` sets a rate (`0` or `off`: unlimited) and `…_BURST` its burst
    /// (default: the default burst, or one second of a changed rate, at least 1).
    pub fn from_env() -> Self {
        let enabled = !matches!(
            std::env::var("RECONCILE_BENCH_RATE_LIMITS").ok().as_deref(),
            Some("off" | "0" | "false")
        );
        let read = |name: &str, default: Limit| -> Option<Limit> {
            if !enabled {
                return None;
            }
            let rate = std::env::var(format!("RECONCILE_BENCH_{name}_TPS")).ok();
            let burst = std::env::var(format!("RECONCILE_BENCH_{name}_BURST"))
                .ok()
                .and_then(|value| value.trim().parse::<f64>().ok())
                .filter(|burst| burst.is_finite() && *burst >= 1.0);
            let limit = match rate.as_deref().map(str::trim) {
                None => default,
                Some("off") => return None,
                Some(value) => match value.parse::<f64>() {
                    Ok(rate) if rate.is_finite() && rate > 0.0 => Limit::new(rate, rate.max(1.0)),
                    Ok(_) => return None,
                    Err(_) => {
                        eprintln!("ignoring RECONCILE_BENCH_{name}_TPS={value}: not a number");
                        default
                    }
                },
            };
            Some(Limit {
                burst: burst.unwrap_or(limit.burst),
                ..limit
            })
        };
        Self {
            enabled,
            sagemaker: Family::ALL
                .iter()
                .map(|family| {
                    (
                        *family,
                        read(
                            &format!("SAGEMAKER_{}", family.env()),
                            family.default_limit(),
                        ),
                    )
                })
                .collect(),
            governance: read("GOVERNANCE", GOVERNANCE),
            table_reads: read("TABLE_READ", TABLE_READS),
            table_writes: read("TABLE_WRITE", TABLE_WRITES),
            queue: read("QUEUE", QUEUE),
        }
    }

    fn sagemaker(&self, family: Family) -> Option<Limit> {
        self.sagemaker
            .iter()
            .find(|(f, _)| *f == family)
            .and_then(|(_, limit)| *limit)
    }

    /// One line per limit, for the report.
    pub fn describe(&self) -> String {
        let show = |limit: Option<Limit>| match limit {
            Some(limit) => format!("{}/s (burst {})", limit.per_second, limit.burst),
            None => "unlimited".to_owned(),
        };
        let mut out = String::new();
        for (family, limit) in &self.sagemaker {
            let _ = write!(out, "SageMaker {} {}; ", family.name(), show(*limit));
        }
        let _ = write!(
            out,
            "per account. Governance {} per tenant. Tables: reads {}, writes {} each. Queue {}.",
            show(self.governance),
            show(self.table_reads),
            show(self.table_writes),
            show(self.queue)
        );
        out
    }
}

/// A SageMaker account's buckets, one per family.
#[derive(Debug, Clone)]
pub struct SageMakerBuckets {
    pub list: Arc<Bucket>,
    pub describe: Arc<Bucket>,
    pub update: Arc<Bucket>,
    pub tags: Arc<Bucket>,
}

impl SageMakerBuckets {
    pub fn new(account: &str, limits: &Limits) -> Self {
        let bucket = |family: Family| {
            Arc::new(Bucket::new(
                format!("SageMaker {} ({account})", family.name()),
                limits.sagemaker(family),
            ))
        };
        Self {
            list: bucket(Family::List),
            describe: bucket(Family::Describe),
            update: bucket(Family::Update),
            tags: bucket(Family::Tags),
        }
    }

    pub fn of(&self, family: Family) -> &Arc<Bucket> {
        match family {
            Family::List => &self.list,
            Family::Describe => &self.describe,
            Family::Update => &self.update,
            Family::Tags => &self.tags,
        }
    }
}

/// A DynamoDB table's buckets: reads and writes.
#[derive(Debug, Clone)]
pub struct TableBuckets {
    pub read: Arc<Bucket>,
    pub write: Arc<Bucket>,
}

impl TableBuckets {
    pub fn new(table: &str, limits: &Limits) -> Self {
        Self {
            read: Arc::new(Bucket::new(format!("{table} reads"), limits.table_reads)),
            write: Arc::new(Bucket::new(format!("{table} writes"), limits.table_writes)),
        }
    }
}

/// Every bucket of a run, in report order.
#[derive(Debug, Clone)]
pub struct Buckets {
    pub sagemaker: Vec<SageMakerBuckets>,
    pub governance: Arc<Bucket>,
    pub links: TableBuckets,
    pub idempotency: TableBuckets,
    pub cursors: TableBuckets,
    pub queue: Arc<Bucket>,
}

impl Buckets {
    pub fn new(accounts: &[String], limits: &Limits) -> Self {
        Self {
            sagemaker: accounts
                .iter()
                .map(|account| SageMakerBuckets::new(account, limits))
                .collect(),
            governance: Arc::new(Bucket::new("governance tenant", limits.governance)),
            links: TableBuckets::new("govsync-links", limits),
            idempotency: TableBuckets::new("govsync-idempotency", limits),
            cursors: TableBuckets::new("govsync-cursors", limits),
            queue: Arc::new(Bucket::new("decommission.fifo SendMessage", limits.queue)),
        }
    }

    pub fn all(&self) -> Vec<&Arc<Bucket>> {
        let mut all: Vec<&Arc<Bucket>> = Vec::new();
        for account in &self.sagemaker {
            all.extend(Family::ALL.iter().map(|family| account.of(*family)));
        }
        all.push(&self.governance);
        for table in [&self.links, &self.idempotency, &self.cursors] {
            all.push(&table.read);
            all.push(&table.write);
        }
        all.push(&self.queue);
        all
    }

    pub fn reset_stats(&self) {
        for bucket in self.all() {
            bucket.reset_stats();
        }
    }

    /// One family's figures summed over the accounts.
    pub fn family_total(&self, family: Family) -> BucketStats {
        self.sagemaker
            .iter()
            .map(|account| account.of(family).stats())
            .fold(BucketStats::default(), |sum, stats| BucketStats {
                calls: sum.calls + stats.calls,
                waits: sum.waits + stats.waits,
                waited: sum.waited + stats.waited,
                longest_wait: sum.longest_wait.max(stats.longest_wait),
            })
    }

    /// The per-bucket table of the report (buckets no call touched are left out).
    pub fn table(&self) -> String {
        let mut out = format!(
            "  {:<44} {:>16} {:>8} {:>8} {:>12} {:>10}\n",
            "bucket", "limit", "calls", "waits", "waited", "longest"
        );
        let row = |out: &mut String, name: &str, limit: Option<Limit>, stats: BucketStats| {
            let limit = limit.map_or("unlimited".to_owned(), |limit| {
                format!("{}/s b{}", limit.per_second, limit.burst)
            });
            let _ = writeln!(
                out,
                "  {:<44} {:>16} {:>8} {:>8} {:>11.1}s {:>9.2}s",
                name,
                limit,
                stats.calls,
                stats.waits,
                stats.waited.as_secs_f64(),
                stats.longest_wait.as_secs_f64()
            );
        };
        for bucket in self.all() {
            let stats = bucket.stats();
            if stats.calls > 0 {
                row(&mut out, &bucket.name, bucket.limit, stats);
            }
        }
        for family in Family::ALL {
            let stats = self.family_total(family);
            if stats.calls > 0 {
                let limit = self.sagemaker.first().and_then(|b| b.of(family).limit);
                row(
                    &mut out,
                    &format!("SageMaker {} (all accounts)", family.name()),
                    limit,
                    stats,
                );
            }
        }
        out
    }
}
