//! One CloudWatch embedded-metric line per run (no API calls), in the shared names of
//! [`govsync_core::emf`] plus this function's own count.
//!
//! A query row is one event: `EventsProcessed` the rows the types polled in full returned; `Duplicates`
//! the rows re-read by the overlap (modified at or before the watermark read); `Quarantined` the rows
//! refused (no usable id or `Last Modification Date`: skipped and logged); `Failures` 1 when the run
//! failed (the watermark stays; the next run redoes it); `SyncLagMs` for every newer change, from its
//! `Last Modification Date` to its enqueueing. Echoes are not the poller's to tell (approval-propagation
//! drops them), so the line has no `EchoesDropped`. Own count: `Enqueued`.

use chrono::{DateTime, Utc};
use govsync_core::emf::{self, Metric, SharedCounts};

use crate::PollRun;

/// The `Function` dimension value of this function's metrics.
pub const FUNCTION: &str = "governance-poller";

/// The shared counts of a run.
pub fn shared_counts(run: &PollRun) -> SharedCounts {
    let sum = |count: fn(&crate::KindReport) -> usize| run.kinds.iter().map(count).sum();
    SharedCounts {
        events_processed: sum(|kind| kind.rows),
        duplicates: Some(sum(|kind| kind.reread)),
        echoes_dropped: None,
        quarantined: Some(sum(|kind| kind.skipped)),
        failures: usize::from(run.failure.is_some()),
        sync_lags_ms: run
            .kinds
            .iter()
            .flat_map(|kind| kind.sync_lags_ms.iter().copied())
            .collect(),
    }
}

/// The metrics of a run: the shared names first, then this function's own.
pub fn metrics(run: &PollRun) -> Vec<Metric> {
    let mut metrics = shared_counts(run).metrics();
    metrics.push(Metric::count(
        "Enqueued",
        run.kinds.iter().map(|kind| kind.enqueued).sum(),
    ));
    metrics
}

/// The embedded-metric line of a run that ended at `now` (namespace `namespace`, dimension `Function`).
pub fn embedded_metrics(run: &PollRun, namespace: &str, now: DateTime<Utc>) -> String {
    emf::line(namespace, FUNCTION, now.timestamp_millis(), &metrics(run))
}

#[cfg(test)]
mod tests {
    use govsync_core::ports::QueueError;
    use serde_json::{Value, json};

    use super::*;
    use crate::{KindReport, PollError};

    fn kind(type_id: &str, rows: usize, reread: usize, skipped: usize, lags: &[u64]) -> KindReport {
        KindReport {
            type_id: type_id.into(),
            from: None,
            rows,
            enqueued: rows - skipped,
            skipped,
            reread,
            sync_lags_ms: lags.to_vec(),
            watermark: None,
        }
    }

    fn line(run: &PollRun) -> Value {
        serde_json::from_str(&embedded_metrics(run, "govsync", Utc::now())).unwrap()
    }

    #[test]
    fn a_run_becomes_one_line_with_the_shared_metric_names() {
        let run = PollRun {
            kinds: vec![
                kind("ModelUseCase", 3, 1, 1, &[61_000]),
                kind("Model", 2, 0, 0, &[5_000, 9_000]),
            ],
            failure: None,
        };
        let line = line(&run);
        assert_eq!(line["Function"], "governance-poller");
        assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Namespace"], "govsync");
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Function"]])
        );
        for (name, value) in [
            ("EventsProcessed", 5),
            ("Duplicates", 1),
            ("Quarantined", 1),
            ("Failures", 0),
            ("Enqueued", 4),
        ] {
            assert_eq!(line[name], value, "{name}");
        }
        assert_eq!(line["SyncLagMs"], json!([61000.0, 5000.0, 9000.0]));
        assert!(line.get("EchoesDropped").is_none());
    }

    #[test]
    fn a_failed_run_counts_one_failure_and_what_the_types_before_it_did() {
        let run = PollRun {
            kinds: vec![kind("ModelUseCase", 2, 0, 0, &[100, 200])],
            failure: Some(PollError::Queue(QueueError::Send {
                code: "ServiceUnavailable".into(),
                message: "down".into(),
                retryable: true,
            })),
        };
        let line = line(&run);
        assert_eq!(line["Failures"], 1);
        assert_eq!(line["EventsProcessed"], 2);
        assert_eq!(line["SyncLagMs"], json!([100.0, 200.0]));
    }
}
