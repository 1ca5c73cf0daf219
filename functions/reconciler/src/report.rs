//! What a run found and did: the drift report as JSON (serde) and as a readable table, and the
//! checkpoint a run cut off by its deadline leaves for the next one.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use govsync_core::reconcile::{Drift, Pass, drift_table};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::limiter::CallStats;

/// What became of one drift's repair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RepairOutcome {
    /// `--dry-run`: nothing was changed.
    Planned,
    /// Brought in line now.
    Repaired,
    /// Handed to the function that owns the flow (a request on its queue).
    Enqueued,
    /// Already in line when the repair looked again (e.g. another drift's repair fixed it).
    NothingToDo,
    /// Needs a person; reported only.
    Reported,
    /// The repair was made but re-reading shows it did not hold (`reason`): a person must look.
    NeedsAttention {
        reason: String,
    },
    Failed {
        code: String,
        error: String,
    },
}

impl RepairOutcome {
    pub fn label(&self) -> &'static str {
        match self {
            RepairOutcome::Planned => "planned",
            RepairOutcome::Repaired => "repaired",
            RepairOutcome::Enqueued => "enqueued",
            RepairOutcome::NothingToDo => "nothing_to_do",
            RepairOutcome::Reported => "reported",
            RepairOutcome::NeedsAttention { .. } => "needs_attention",
            RepairOutcome::Failed { .. } => "failed",
        }
    }
}

/// One drift and its repair's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftRecord {
    #[serde(flatten)]
    pub drift: Drift,
    pub outcome: RepairOutcome,
    /// Which pass found it (`fast` or `deep`).
    #[serde(default)]
    pub pass: Pass,
}

/// Counts of a run (carried across a resume).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub registries: usize,
    pub groups: usize,
    pub packages: usize,
    pub drifts: usize,
    pub repaired: usize,
    pub enqueued: usize,
    pub failed: usize,
    /// Repairs that did not hold when re-read.
    #[serde(default)]
    pub needs_attention: usize,
    /// Packages the fast pass found in step from their batch summary alone (not described).
    #[serde(default)]
    pub summarized: usize,
    /// Packages described in full because their summary called for it (fast pass).
    #[serde(default)]
    pub described_fast: usize,
    /// Packages described in full as the deep pass's slice (every package, with one slice).
    #[serde(default)]
    pub described_deep: usize,
}

impl Counts {
    pub fn add(&mut self, other: &Counts) {
        self.registries += other.registries;
        self.groups += other.groups;
        self.packages += other.packages;
        self.drifts += other.drifts;
        self.repaired += other.repaired;
        self.enqueued += other.enqueued;
        self.failed += other.failed;
        self.needs_attention += other.needs_attention;
        self.summarized += other.summarized;
        self.described_fast += other.described_fast;
        self.described_deep += other.described_deep;
    }

    /// What was counted since `before` (counts only grow during a run).
    pub fn since(&self, before: &Counts) -> Counts {
        Counts {
            registries: self.registries - before.registries,
            groups: self.groups - before.groups,
            packages: self.packages - before.packages,
            drifts: self.drifts - before.drifts,
            repaired: self.repaired - before.repaired,
            enqueued: self.enqueued - before.enqueued,
            failed: self.failed - before.failed,
            needs_attention: self.needs_attention - before.needs_attention,
            summarized: self.summarized - before.summarized,
            described_fast: self.described_fast - before.described_fast,
            described_deep: self.described_deep - before.described_deep,
        }
    }

    pub fn record(&mut self, outcome: &RepairOutcome) {
        self.drifts += 1;
        match outcome {
            RepairOutcome::Repaired => self.repaired += 1,
            RepairOutcome::Enqueued => self.enqueued += 1,
            RepairOutcome::Failed { .. } => self.failed += 1,
            RepairOutcome::NeedsAttention { .. } => self.needs_attention += 1,
            RepairOutcome::Planned | RepairOutcome::NothingToDo | RepairOutcome::Reported => {}
        }
    }
}

/// One registry's share of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryCounts {
    /// `account/region`.
    pub registry: String,
    pub business_entity: String,
    /// Every group of it was compared in this run (false: the deadline cut it short).
    pub complete: bool,
    pub groups: usize,
    pub packages: usize,
    pub drifts: usize,
    pub repaired: usize,
    pub failed: usize,
    /// Endpoints read in this registry (the serving report).
    #[serde(default)]
    pub endpoints: usize,
    /// Why its endpoints (all, or some) could not be read (e.g. `AccessDenied` on `ListEndpoints`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints_unread: Option<String>,
}

/// One finding of the serving report: the endpoint it is about and its drift record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServingRecord {
    pub endpoint: String,
    pub endpoint_arn: String,
    /// The endpoint's `govsync:stage` tag.
    pub stage: Option<String>,
    #[serde(flatten)]
    pub record: DriftRecord,
}

/// Where a run stopped (and the next resumes): the registry (index in the map) and the last group
/// completed in it (groups are compared in name order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumePoint {
    pub registry_index: usize,
    pub registry: String,
    pub group_cursor: Option<String>,
    /// When the run that this one continues started.
    pub run_started_at: DateTime<Utc>,
}

/// Where one registry of the map stands in a run under way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryCursor {
    /// `account/region`.
    pub registry: String,
    /// Every group, its endpoints and its gone groups are done.
    pub done: bool,
    /// The last group completed (groups are compared in name order).
    pub group_cursor: Option<String>,
}

/// The document saved in the cursors table while a run is under way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub version: u32,
    /// The first registry not done, for the report (`registries` is what a resumed run reads).
    pub at: ResumePoint,
    /// One per registry of the map, in map order (registries are reconciled concurrently).
    pub registries: Vec<RegistryCursor>,
    /// Counts of the runs so far (the resumed run adds its own).
    pub counts: Counts,
    pub saved_at: DateTime<Utc>,
    /// The deep-pass slice of the run, kept by the run that resumes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deep_slice: Option<u32>,
}

/// The deep pass's place, kept in the cursors table across complete runs: the slice the next run
/// describes in full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeepCursor {
    pub version: u32,
    pub next_slice: u32,
    /// The slice count it was counted in: another count starts over at slice 0.
    pub slices: u32,
    pub saved_at: DateTime<Utc>,
}

impl DeepCursor {
    /// 2: a cursor per registry (issue 17's concurrent registries).
    pub const VERSION: u32 = 2;

    /// Its cursors-table id, beside the checkpoint's.
    pub fn id_for(checkpoint_id: &str) -> String {
        format!("{checkpoint_id}-deep-pass")
    }
}

/// The deep pass of a run: which slice it described in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeepSlice {
    pub slice: u32,
    pub slices: u32,
}

impl Checkpoint {
    pub const VERSION: u32 = 1;

    /// The cursors-table id of the checkpoint for a registry map (`registries`: its `account/region`
    /// labels in map order): one per map, so reconcilers of different maps never resume each other's
    /// runs, and dry runs keep theirs apart from repair runs.
    pub fn id_for(registries: &[String], dry_run: bool) -> String {
        let hash = govsync_core::stable_hash::fnv1a64(&registries.join(","));
        let kind = if dry_run {
            "reconciler-dry-run"
        } else {
            "reconciler"
        };
        format!("{kind}-{hash:016x}")
    }
}

/// The report of one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReconcileReport {
    pub dry_run: bool,
    /// Per registry of the map compared in this run, in map order: what it held and what was found.
    #[serde(default)]
    pub registries: Vec<RegistryCounts>,
    /// Every registry was compared (false: cut off by the deadline; `stopped_at` says where).
    pub complete: bool,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub elapsed_ms: u64,
    pub resumed_from: Option<ResumePoint>,
    pub stopped_at: Option<ResumePoint>,
    pub governance_models: usize,
    /// This run's counts.
    pub counts: Counts,
    /// Counts of the whole reconciliation, across resumed runs.
    pub total: Counts,
    pub calls: CallStats,
    /// The deep pass's slice this run (every package is deep-checked within `slices` complete runs).
    pub deep: DeepSlice,
    pub drifts: Vec<DriftRecord>,
}

impl ReconcileReport {
    /// Drifts per pass that found them: (fast, deep).
    pub fn by_pass(&self) -> (usize, usize) {
        let deep = self
            .drifts
            .iter()
            .filter(|record| record.pass == Pass::Deep)
            .count();
        (self.drifts.len() - deep, deep)
    }

    /// Drifts per kind.
    pub fn by_kind(&self) -> BTreeMap<&'static str, usize> {
        let mut out = BTreeMap::new();
        for record in &self.drifts {
            *out.entry(record.drift.kind.as_str()).or_insert(0) += 1;
        }
        out
    }

    pub fn to_json(&self) -> Value {
        let mut value = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Value::Object(object) = &mut value {
            object.insert("by_kind".into(), json!(self.by_kind()));
            let (fast, deep) = self.by_pass();
            object.insert("by_pass".into(), json!({"fast": fast, "deep": deep}));
        }
        value
    }

    /// [`Self::to_json`] with at most `max_drifts` drifts (and `drifts_left_out` saying how many were
    /// not listed): what the Lambda returns, well under the invocation response limit. Logs and the
    /// CLI carry the full report.
    pub fn summary_json(&self, max_drifts: usize) -> Value {
        let mut value = self.to_json();
        if let Some(Value::Array(drifts)) = value.get_mut("drifts") {
            let left_out = drifts.len().saturating_sub(max_drifts);
            drifts.truncate(max_drifts);
            if let Value::Object(object) = &mut value {
                object.insert("drifts_left_out".into(), json!(left_out));
            }
        }
        value
    }

    /// The readable report: a summary line, then one line per drift.
    pub fn table(&self) -> String {
        let mut out = format!(
            "reconcile {}{}: {} registries, {} groups, {} packages, {} governance models; {} drifts ({} repaired, {} enqueued, {} failed, {} need attention); {} calls ({} throttled); {} ms\n",
            if self.dry_run { "(dry run) " } else { "" },
            if self.complete { "complete" } else { "cut off" },
            self.counts.registries,
            self.counts.groups,
            self.counts.packages,
            self.governance_models,
            self.counts.drifts,
            self.counts.repaired,
            self.counts.enqueued,
            self.counts.failed,
            self.counts.needs_attention,
            self.calls.calls,
            self.calls.throttled,
            self.elapsed_ms,
        );
        for registry in &self.registries {
            out.push_str(&format!(
                "  {} ({}){}: {} groups, {} packages, {} endpoints, {} drifts ({} repaired, {} failed)\n",
                registry.registry,
                registry.business_entity,
                if registry.complete { "" } else { " cut off" },
                registry.groups,
                registry.packages,
                registry.endpoints,
                registry.drifts,
                registry.repaired,
                registry.failed,
            ));
            if let Some(reason) = &registry.endpoints_unread {
                out.push_str(&format!("    endpoints not read (not judged): {reason}\n"));
            }
        }
        let (fast, deep) = self.by_pass();
        out.push_str(&format!(
            "  fast pass: {} packages in step by their summary, {} described, {fast} drifts; deep pass: slice {} of {} ({} packages described), {deep} drifts\n",
            self.counts.summarized,
            self.counts.described_fast,
            self.deep.slice + 1,
            self.deep.slices,
            self.counts.described_deep,
        ));
        if let Some(from) = &self.resumed_from {
            out.push_str(&format!(
                "resumed from registry {} after group {}\n",
                from.registry,
                from.group_cursor.as_deref().unwrap_or("(start)")
            ));
        }
        if let Some(at) = &self.stopped_at {
            out.push_str(&format!(
                "stopped at registry {} after group {}: the next run resumes there\n",
                at.registry,
                at.group_cursor.as_deref().unwrap_or("(start)")
            ));
        }
        if self.drifts.is_empty() {
            out.push_str("no drift\n");
        } else {
            out.push_str(&drift_table(
                self.drifts
                    .iter()
                    .map(|record| (&record.drift, record.outcome.label())),
            ));
        }
        out
    }
}
