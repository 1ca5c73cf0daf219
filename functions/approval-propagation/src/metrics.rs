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
    /// Milliseconds from each applied change's `occurred_at` to when it was applied.
    pub sync_lags_ms: Vec<u64>,
}

impl BatchReport {
    pub fn from_outcomes(outcomes: Vec<(Option<String>, Outcome)>) -> Self {
        Self {
            outcomes,
            sync_lags_ms: Vec::new(),
        }
    }

    /// The report with the sync lags of its applied changes.
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

    /// The metrics of the batch: the shared names ([`govsync_core::emf`]) first, then this function's own.
    pub fn metrics(&self) -> Vec<Metric> {
        vec![
            Metric::count(emf::EVENTS_PROCESSED, self.outcomes.len()),
            Metric::count(emf::DUPLICATES, self.count("duplicate")),
            Metric::count(emf::ECHOES_DROPPED, self.count("echo")),
            Metric::count(emf::QUARANTINED, self.count("quarantined")),
            Metric::count(emf::FAILURES, self.count("failed")),
            Metric::millis(emf::SYNC_LAG_MS, &self.sync_lags_ms),
            Metric::count("UseCasesProvisioned", self.count("provisioned")),
            Metric::count("PackagesUpdated", self.count("updated")),
            Metric::count(
                "DecommissionsRequested",
                self.count("decommission_requested"),
            ),
            Metric::count("UnmappedUseCases", self.count("unmapped")),
            Metric::count("UnlinkedModels", self.count("unlinked")),
            Metric::count("StaleDropped", self.count("stale")),
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

/// Whether an outcome applied a change (its sync lag is measured).
pub fn applied(outcome: &Outcome) -> bool {
    matches!(
        outcome,
        Outcome::Provisioned { .. } | Outcome::Updated | Outcome::DecommissionRequested
    )
}

/// The `Function` dimension value of this function's metrics.
pub const FUNCTION: &str = "approval-propagation";

#[cfg(test)]
mod tests {
    use super::*;
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
        assert!(applied(&Outcome::Updated));
        assert!(applied(&Outcome::DecommissionRequested));
        assert!(!applied(&Outcome::InSync));
        assert!(!applied(&Outcome::Duplicate));
        assert!(!applied(&Outcome::Failed("x")));
    }
}
