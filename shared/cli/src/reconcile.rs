//! `govsync reconcile [--dry-run] [--deadline-seconds N]`: the reconciler's run
//! ([`govsync_reconciler::Function::reconcile_observed`], the function's own code and configuration),
//! progress on stderr, the report on stdout (the reconciler's table, or its JSON with `--json`).

use chrono::Utc;
use govsync_reconciler::{Function, ReconcileReport, RepairOutcome, RunOptions};

use crate::cli::ReconcileArgs;
use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::progress::Progress;

pub async fn run(args: &ReconcileArgs, json: bool) -> Result<Exit, CliError> {
    let function = Function::from_env().await?;
    let options = RunOptions {
        dry_run: args.dry_run,
        deadline: args
            .deadline_seconds
            .and_then(|seconds| i64::try_from(seconds).ok())
            .and_then(chrono::Duration::try_seconds)
            .and_then(|duration| Utc::now().checked_add_signed(duration)),
    };
    let progress = Progress::new(args.quiet);
    let report = function.reconcile_observed(&options, &progress).await?;
    if json {
        output::print_json(&report.to_json());
    } else {
        output::print(&report.table());
    }
    Ok(exit_of(&report))
}

/// 0 when the run compared everything and nothing is left out of step; 3 (drift) when a dry run found
/// drift, or a repair run left some: failed, needing a person, or not compared (cut off).
pub fn exit_of(report: &ReconcileReport) -> Exit {
    let left = report.drifts.iter().any(|record| match record.outcome {
        RepairOutcome::Planned
        | RepairOutcome::Reported
        | RepairOutcome::Failed { .. }
        | RepairOutcome::NeedsAttention { .. } => true,
        RepairOutcome::Repaired | RepairOutcome::Enqueued | RepairOutcome::NothingToDo => false,
    });
    if left || !report.complete {
        Exit::Drift
    } else {
        Exit::Ok
    }
}

#[cfg(test)]
mod tests {
    use govsync_core::reconcile::{Drift, DriftKind, Repair};
    use govsync_reconciler::{Counts, DriftRecord};

    use super::*;

    fn report(dry_run: bool, complete: bool, outcomes: &[RepairOutcome]) -> ReconcileReport {
        let now = Utc::now();
        ReconcileReport {
            deep: govsync_reconciler::report::DeepSlice {
                slice: 0,
                slices: 1,
            },
            registries: Vec::new(),
            dry_run,
            complete,
            started_at: now,
            finished_at: now,
            elapsed_ms: 1,
            resumed_from: None,
            stopped_at: None,
            governance_models: 0,
            counts: Counts::default(),
            total: Counts::default(),
            calls: Default::default(),
            drifts: outcomes
                .iter()
                .map(|outcome| DriftRecord {
                    pass: Default::default(),
                    drift: Drift {
                        kind: DriftKind::UnassignedGroup,
                        registry: "111111111111/eu-west-1".into(),
                        group: Some("g".into()),
                        package_arn: None,
                        governance_id: None,
                        detail: String::new(),
                        repair: Repair::ReportOnly {
                            reason: String::new(),
                        },
                    },
                    outcome: outcome.clone(),
                })
                .collect(),
        }
    }

    #[test]
    fn the_exit_code_says_whether_drift_is_left() {
        assert_eq!(exit_of(&report(true, true, &[])), Exit::Ok);
        assert_eq!(
            exit_of(&report(true, true, &[RepairOutcome::Planned])),
            Exit::Drift
        );
        assert_eq!(
            exit_of(&report(
                false,
                true,
                &[
                    RepairOutcome::Repaired,
                    RepairOutcome::Enqueued,
                    RepairOutcome::NothingToDo
                ]
            )),
            Exit::Ok
        );
        let failed = RepairOutcome::Failed {
            code: "governance".into(),
            error: "503".into(),
        };
        assert_eq!(exit_of(&report(false, true, &[failed])), Exit::Drift);
        assert_eq!(
            exit_of(&report(false, true, &[RepairOutcome::Reported])),
            Exit::Drift
        );
        assert_eq!(exit_of(&report(false, false, &[])), Exit::Drift);
        let held_not = RepairOutcome::NeedsAttention {
            reason: "re-read: links missing".into(),
        };
        assert_eq!(exit_of(&report(false, true, &[held_not])), Exit::Drift);
    }
}
