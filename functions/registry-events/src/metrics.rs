//! What a batch came to: per-message outcomes, the batch item failures, and counts written as one
//! CloudWatch embedded-metric line per batch (no API calls).

use chrono::Utc;
use govsync_core::emf::{self, Metric};
use govsync_flows::package_sync::Outcome;

/// The result of one batch.
pub type BatchReport = govsync_core::batch_report::BatchReport<Outcome>;

/// This function's view of a batch report: its own counts beside the shared ones.
pub trait FunctionReport {
    /// How many synced messages reported `finding`.
    fn findings(&self, finding: &str) -> usize;

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
    fn findings(&self, finding: &str) -> usize {
        self.outcomes
            .iter()
            .filter(|(_, outcome)| {
                matches!(outcome, Outcome::Synced { findings, .. } if findings.contains(&finding))
            })
            .count()
    }

    fn metrics(&self) -> Vec<Metric> {
        let mut metrics = self.shared_metrics();
        metrics.extend([
            Metric::count("Synced", self.count("synced")),
            Metric::count("StaleDropped", self.count("stale")),
            Metric::count("PackagesMissing", self.count("package_missing")),
            Metric::count("Unassigned", self.findings("unassigned")),
            Metric::count("ShadowApprovals", self.findings("shadow_approval")),
            Metric::count(
                "ArtifactChanges",
                self.findings("artifact_changed_since_approval"),
            ),
            Metric::count(
                "ArtifactsUnverifiable",
                self.findings("artifact_unverifiable"),
            ),
            Metric::count("ForeignPackagesSkipped", foreign_skipped(&self.outcomes)),
        ]);
        metrics
    }
}

/// Events about a package whose owner is not a governed registry: skipped, never quarantined.
fn foreign_skipped(outcomes: &[(Option<String>, Outcome)]) -> usize {
    outcomes
        .iter()
        .filter(|(_, outcome)| matches!(outcome, Outcome::Ignored("unmapped_owner")))
        .count()
}

/// The `Function` dimension value of this function's metrics.
pub const FUNCTION: &str = "registry-events";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn a_batch_becomes_one_line_with_the_shared_metric_names() {
        let report = BatchReport::from_outcomes(vec![
            (
                Some("m1".into()),
                Outcome::Synced {
                    actions: 1,
                    findings: vec![],
                },
            ),
            (Some("m2".into()), Outcome::Duplicate),
            (Some("m3".into()), Outcome::Echo),
            (Some("m4".into()), Outcome::Quarantined("decode")),
            (Some("m5".into()), Outcome::Failed("throttled")),
            (Some("m6".into()), Outcome::Ignored("unmapped_owner")),
        ])
        .with_sync_lags(vec![1_500]);
        let line: Value = serde_json::from_str(&report.embedded_metrics("govsync")).unwrap();
        assert_eq!(line["Function"], "registry-events");
        assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Namespace"], "govsync");
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            serde_json::json!([["Function"]])
        );
        for (name, value) in [
            ("EventsProcessed", 6),
            ("ForeignPackagesSkipped", 1),
            ("Duplicates", 1),
            ("EchoesDropped", 1),
            ("Quarantined", 1),
            ("Failures", 1),
            ("Synced", 1),
        ] {
            assert_eq!(line[name], value, "{name}");
        }
        assert_eq!(line["SyncLagMs"], serde_json::json!([1500.0]));
        let names: Vec<&str> = line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|metric| metric["Name"].as_str())
            .collect();
        assert!(names.contains(&"SyncLagMs"));
    }
}
