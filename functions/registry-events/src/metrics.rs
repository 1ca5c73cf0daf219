//! What a batch came to: per-message outcomes, the batch item failures, and counts written as one
//! CloudWatch embedded-metric line per batch (no API calls).

use chrono::Utc;
use govsync_core::emf::{self, Metric};

use crate::handler::Outcome;

/// The result of one batch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BatchReport {
    /// `(message id, outcome)` in batch order.
    pub outcomes: Vec<(Option<String>, Outcome)>,
    /// Milliseconds from each synced event's envelope `time` to when it was applied.
    pub sync_lags_ms: Vec<u64>,
}

impl BatchReport {
    pub fn from_outcomes(outcomes: Vec<(Option<String>, Outcome)>) -> Self {
        Self {
            outcomes,
            sync_lags_ms: Vec::new(),
        }
    }

    /// The report with the sync lags of its synced events.
    pub fn with_sync_lags(mut self, sync_lags_ms: Vec<u64>) -> Self {
        self.sync_lags_ms = sync_lags_ms;
        self
    }

    /// Message ids to report as `batchItemFailures`.
    pub fn failures(&self) -> Vec<String> {
        self.outcomes
            .iter()
            .filter(|(_, outcome)| matches!(outcome, Outcome::Failed(_)))
            .filter_map(|(id, _)| id.clone())
            .collect()
    }

    /// Failed messages without an id cannot be reported one by one: the whole batch must fail.
    pub fn unidentified_failures(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|(id, outcome)| id.is_none() && matches!(outcome, Outcome::Failed(_)))
            .count()
    }

    /// How many messages had each outcome label.
    pub fn count(&self, label: &str) -> usize {
        self.outcomes
            .iter()
            .filter(|(_, outcome)| outcome.label() == label)
            .count()
    }

    /// How many synced messages reported `finding`.
    pub fn findings(&self, finding: &str) -> usize {
        self.outcomes
            .iter()
            .filter(|(_, outcome)| {
                matches!(outcome, Outcome::Synced { findings, .. } if findings.contains(&finding))
            })
            .count()
    }

    /// The metrics of the batch: the shared names ([`govsync_core::emf`]) first, then this function's own.
    pub fn metrics(&self) -> Vec<Metric> {
        vec![
            Metric::count(emf::EVENTS_PROCESSED, self.outcomes.len()),
            Metric::count(emf::DUPLICATES, self.count("duplicate")),
            Metric::count(emf::ECHOES_DROPPED, self.count("echo")),
            Metric::count(emf::QUARANTINED, self.count("quarantined")),
            Metric::count(emf::FAILURES, self.count("failed")),
            Metric::millis(emf::SYNC_LAG_MS, &self.sync_lags_ms),
            Metric::count("Synced", self.count("synced")),
            Metric::count("StaleDropped", self.count("stale")),
            Metric::count("PackagesMissing", self.count("package_missing")),
            Metric::count("Unassigned", self.findings("unassigned")),
            Metric::count("ShadowApprovals", self.findings("shadow_approval")),
        ]
    }

    /// One CloudWatch embedded-metric-format line (namespace `namespace`, dimension `Function`).
    pub fn embedded_metrics(&self, namespace: &str) -> String {
        emf::line(
            namespace,
            FUNCTION,
            Utc::now().timestamp_millis(),
            &self.metrics(),
        )
    }
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
            ("EventsProcessed", 5),
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
