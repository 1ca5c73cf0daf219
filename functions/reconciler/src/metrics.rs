//! CloudWatch embedded-metric lines per run (no API calls), in the shared names of
//! [`govsync_core::emf`] plus this function's own counts.
//!
//! The run's line (dimension `Function` = `reconciler`): `EventsProcessed` the packages compared;
//! `Failures` the repairs that failed (the next run finds them again); then `DriftsFound`,
//! `DriftsRepaired` (repaired here, or handed to the function that owns the flow), `RepairsEnqueued`
//! (of which handed over), `RepairsNeedingAttention` (made, but re-reading showed they did not hold),
//! `Throttled` (calls answered "throttled") and `CutOff` (1 when the deadline
//! stopped the run; the next resumes). The reconciler reads no events, so it has no duplicates, echoes,
//! quarantine or sync lag. Then one line per drift kind ([`DriftKind::ALL`], zeros included, so a
//! kind's chart reads 0 rather than nothing), dimensions `Function` and [`KIND_DIMENSION`]:
//! `DriftsFound`, `DriftsRepaired`. A failed run prints one line with `Failures` = 1.

use chrono::{DateTime, Utc};
use govsync_core::emf::{self, Metric, SharedCounts};
use govsync_core::reconcile::DriftKind;

use crate::report::{ReconcileReport, RepairOutcome};

/// The `Function` dimension value of this function's metrics.
pub const FUNCTION: &str = "reconciler";
/// The second dimension of the per-kind lines, valued with [`DriftKind::as_str`].
pub const KIND_DIMENSION: &str = "DriftKind";
/// Drifts found (all kinds on the run's line; one kind on a per-kind line).
pub const DRIFTS_FOUND: &str = "DriftsFound";
/// Drifts repaired here or handed to the function that owns the flow.
pub const DRIFTS_REPAIRED: &str = "DriftsRepaired";

/// Repairs made that did not hold when re-read (never counted as repaired).
pub const REPAIRS_NEEDING_ATTENTION: &str = "RepairsNeedingAttention";

fn repaired(outcome: &RepairOutcome) -> bool {
    matches!(outcome, RepairOutcome::Repaired | RepairOutcome::Enqueued)
}

/// The metrics of the run's line: the shared names that apply first, then this function's own.
pub fn metrics(report: &ReconcileReport) -> Vec<Metric> {
    let mut metrics = SharedCounts {
        events_processed: report.counts.packages,
        failures: report.counts.failed,
        ..SharedCounts::default()
    }
    .metrics();
    metrics.extend([
        Metric::count(DRIFTS_FOUND, report.counts.drifts),
        Metric::count(
            DRIFTS_REPAIRED,
            report.counts.repaired + report.counts.enqueued,
        ),
        Metric::count("RepairsEnqueued", report.counts.enqueued),
        Metric::count(REPAIRS_NEEDING_ATTENTION, report.counts.needs_attention),
        Metric::count(
            "Throttled",
            usize::try_from(report.calls.throttled).unwrap_or(usize::MAX),
        ),
        Metric::count("CutOff", usize::from(!report.complete)),
    ]);
    metrics
}

/// The metrics of one drift kind's line.
pub fn kind_metrics(report: &ReconcileReport, kind: DriftKind) -> Vec<Metric> {
    let of_kind = || {
        report
            .drifts
            .iter()
            .filter(move |record| record.drift.kind == kind)
    };
    vec![
        Metric::count(DRIFTS_FOUND, of_kind().count()),
        Metric::count(
            DRIFTS_REPAIRED,
            of_kind().filter(|record| repaired(&record.outcome)).count(),
        ),
    ]
}

/// The run's lines (namespace `namespace`, timestamp its end): its own line, then one per drift kind.
pub fn embedded_metrics(report: &ReconcileReport, namespace: &str) -> Vec<String> {
    let at = report.finished_at.timestamp_millis();
    let mut lines = vec![emf::line(namespace, FUNCTION, at, &metrics(report))];
    for kind in DriftKind::ALL {
        lines.push(emf::line_with_dimensions(
            namespace,
            &[(emf::DIMENSION, FUNCTION), (KIND_DIMENSION, kind.as_str())],
            at,
            &kind_metrics(report, kind),
        ));
    }
    lines
}

/// The line of a run that failed at `now`.
pub fn failed_run(namespace: &str, now: DateTime<Utc>) -> String {
    emf::line(
        namespace,
        FUNCTION,
        now.timestamp_millis(),
        &[Metric::count(emf::FAILURES, 1)],
    )
}

#[cfg(test)]
mod tests {
    use govsync_core::reconcile::{Drift, Repair};
    use serde_json::{Value, json};

    use super::*;
    use crate::limiter::CallStats;
    use crate::report::{Counts, DriftRecord};

    fn record(kind: DriftKind, outcome: RepairOutcome) -> DriftRecord {
        DriftRecord {
            pass: Default::default(),
            drift: Drift {
                kind,
                registry: "123456789012/us-east-1".into(),
                group: Some("fraud-eu".into()),
                package_arn: None,
                governance_id: None,
                detail: String::new(),
                repair: Repair::ReportOnly {
                    reason: "needs a person".into(),
                },
            },
            outcome,
        }
    }

    fn report() -> ReconcileReport {
        let drifts = vec![
            record(DriftKind::PackageNotInGovernance, RepairOutcome::Repaired),
            record(DriftKind::PackageNotInGovernance, RepairOutcome::Repaired),
            record(DriftKind::ModelPackageGone, RepairOutcome::Enqueued),
            record(
                DriftKind::ShadowApproval,
                RepairOutcome::Failed {
                    code: "registry".into(),
                    error: "throttled".into(),
                },
            ),
            record(DriftKind::UnassignedGroup, RepairOutcome::Reported),
        ];
        let counts = Counts {
            registries: 1,
            groups: 3,
            packages: 40,
            drifts: 5,
            repaired: 2,
            enqueued: 1,
            failed: 1,
            needs_attention: 0,
            ..Counts::default()
        };
        let now = Utc::now();
        ReconcileReport {
            deep: crate::report::DeepSlice {
                slice: 0,
                slices: 1,
            },
            registries: Vec::new(),
            dry_run: false,
            complete: true,
            started_at: now,
            finished_at: now,
            elapsed_ms: 10,
            resumed_from: None,
            stopped_at: None,
            governance_models: 38,
            counts,
            total: counts,
            calls: CallStats {
                calls: 90,
                throttled: 4,
                lowest_concurrency: 8,
                max_concurrency: 16,
            },
            drifts,
        }
    }

    fn parsed(lines: &[String]) -> Vec<Value> {
        lines
            .iter()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    #[test]
    fn a_run_prints_its_line_then_one_line_per_drift_kind() {
        let report = report();
        let lines = parsed(&embedded_metrics(&report, "govsync"));
        assert_eq!(lines.len(), 1 + DriftKind::ALL.len());

        let run = &lines[0];
        assert_eq!(run["Function"], "reconciler");
        assert_eq!(run["_aws"]["CloudWatchMetrics"][0]["Namespace"], "govsync");
        assert_eq!(
            run["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Function"]])
        );
        assert_eq!(
            run["_aws"]["Timestamp"],
            report.finished_at.timestamp_millis()
        );
        for (name, value) in [
            ("EventsProcessed", 40),
            ("Failures", 1),
            ("DriftsFound", 5),
            ("DriftsRepaired", 3),
            ("RepairsEnqueued", 1),
            ("Throttled", 4),
            ("CutOff", 0),
        ] {
            assert_eq!(run[name], value, "{name}");
        }
        for absent in ["Duplicates", "EchoesDropped", "Quarantined", "SyncLagMs"] {
            assert!(run.get(absent).is_none(), "{absent} does not apply");
        }

        let per_kind: Vec<(String, u64, u64)> = lines[1..]
            .iter()
            .map(|line| {
                assert_eq!(line["Function"], "reconciler");
                assert_eq!(
                    line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
                    json!([["Function", "DriftKind"]])
                );
                (
                    line["DriftKind"].as_str().unwrap().to_owned(),
                    line["DriftsFound"].as_u64().unwrap(),
                    line["DriftsRepaired"].as_u64().unwrap(),
                )
            })
            .collect();
        let expected: Vec<(String, u64, u64)> = DriftKind::ALL
            .iter()
            .map(|kind| {
                let (found, repaired) = match kind {
                    DriftKind::PackageNotInGovernance => (2, 2),
                    DriftKind::ModelPackageGone => (1, 1),
                    DriftKind::ShadowApproval | DriftKind::UnassignedGroup => (1, 0),
                    _ => (0, 0),
                };
                (kind.as_str().to_owned(), found, repaired)
            })
            .collect();
        assert_eq!(per_kind, expected);
    }

    #[test]
    fn a_run_cut_off_by_its_deadline_says_so() {
        let mut report = report();
        report.complete = false;
        let lines = parsed(&embedded_metrics(&report, "govsync"));
        assert_eq!(lines[0]["CutOff"], 1);
    }

    #[test]
    fn a_failed_run_prints_one_failure() {
        let line: Value = serde_json::from_str(&failed_run("govsync", Utc::now())).unwrap();
        assert_eq!(line["Function"], "reconciler");
        assert_eq!(line["Failures"], 1);
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Metrics"],
            json!([{"Name": "Failures", "Unit": "Count"}])
        );
    }
}
