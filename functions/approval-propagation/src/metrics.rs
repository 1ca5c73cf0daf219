//! What a batch came to: per-message outcomes, the batch item failures, and counts written as one
//! CloudWatch embedded-metric line per batch (no API calls).

use chrono::Utc;
use govsync_core::emf::{self, Metric};

use govsync_flows::governance_change::Outcome;

/// The result of one batch.
pub type BatchReport = govsync_core::batch_report::BatchReport<Outcome>;

/// This function's view of a batch report: its own counts beside the shared ones.
pub trait FunctionReport {
    /// The metrics of the batch: the shared names ([`govsync_core::emf`]) first, then this function's own.
    fn metrics(&self) -> Vec<Metric>;

    /// One CloudWatch embedded-metric-format line (namespace `namespace`, dimension `Function`).
    fn embedded_metrics(&self, namespace: &str) -> String {
        emf::line(
            namespace,
            FUNCTION,
            Utc::now().timestamp_millis(),
            &self.metrics(),
        )
    }
}

impl FunctionReport for BatchReport {
    fn metrics(&self) -> Vec<Metric> {
        let mut metrics = self.shared_metrics();
        metrics.extend([
            Metric::count("UseCasesProvisioned", self.count("provisioned")),
            Metric::count("PackagesUpdated", self.count("updated")),
            Metric::count(
                "DecommissionsRequested",
                self.count("decommission_requested"),
            ),
            Metric::count("UnmappedUseCases", self.count("unmapped")),
            Metric::count("UnlinkedModels", self.count("unlinked")),
            Metric::count("StaleDropped", self.count("stale")),
        ]);
        metrics
    }
}

/// The `Function` dimension value of this function's metrics.
pub const FUNCTION: &str = "approval-propagation";

#[cfg(test)]
mod tests {
    use super::*;
    use govsync_core::batch_report::BatchOutcome as _;
    use serde_json::{Value, json};

    #[test]
    fn a_batch_becomes_one_line_with_the_shared_metric_names() {
        let report = BatchReport::from_outcomes(vec![
            (Some("m1".into()), Outcome::Updated),
            (Some("m2".into()), Outcome::Duplicate),
            (Some("m3".into()), Outcome::Echo),
            (Some("m4".into()), Outcome::Quarantined("decode")),
            (Some("m5".into()), Outcome::Failed("throttled")),
            (Some("m6".into()), Outcome::Stale),
        ])
        .with_sync_lags(vec![250, 4_000]);
        let line: Value = serde_json::from_str(&report.embedded_metrics("govsync")).unwrap();
        assert_eq!(line["Function"], "approval-propagation");
        assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Namespace"], "govsync");
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Function"]])
        );
        for (name, value) in [
            ("EventsProcessed", 6),
            ("Duplicates", 1),
            ("EchoesDropped", 1),
            ("Quarantined", 1),
            ("Failures", 1),
            ("PackagesUpdated", 1),
            ("StaleDropped", 1),
        ] {
            assert_eq!(line[name], value, "{name}");
        }
        assert_eq!(line["SyncLagMs"], json!([250.0, 4000.0]));
    }

    #[test]
    fn only_changes_that_were_applied_measure_a_lag() {
        assert!((Outcome::Updated).is_applied());
        assert!((Outcome::DecommissionRequested).is_applied());
        assert!(!(Outcome::InSync).is_applied());
        assert!(!(Outcome::Duplicate).is_applied());
        assert!(!(Outcome::Failed("x")).is_applied());
    }
}
