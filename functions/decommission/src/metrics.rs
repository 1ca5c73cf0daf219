//! One CloudWatch embedded-metric line per batch (no API calls), in the shared names of
//! [`govsync_core::emf`] plus this function's own counts.

use chrono::{DateTime, Utc};
use govsync_core::batch_report::{self, count};
use govsync_core::emf::{self, Metric};

use govsync_flows::decommission::Outcome;

/// The `Function` dimension value of this function's metrics.
pub const FUNCTION: &str = "decommission";

/// The metrics of a batch: `(message id, outcome)` in batch order and the applied changes' lags.
pub fn metrics(outcomes: &[(Option<String>, Outcome)], sync_lags_ms: &[u64]) -> Vec<Metric> {
    let mut metrics = batch_report::shared_metrics(outcomes, sync_lags_ms);
    metrics.extend([
        Metric::count("ModelsDecommissioned", count(outcomes, "decommissioned")),
        Metric::count("PackagesArchived", count(outcomes, "archived")),
        Metric::count("Tombstoned", count(outcomes, "tombstoned")),
        Metric::count(
            "ForeignPackagesSkipped",
            outcomes
                .iter()
                .filter(|(_, outcome)| matches!(outcome, Outcome::Ignored("unmapped_owner")))
                .count(),
        ),
    ]);
    metrics
}

/// The embedded-metric line of a batch (namespace `namespace`, dimension `Function`).
pub fn embedded_metrics(
    outcomes: &[(Option<String>, Outcome)],
    sync_lags_ms: &[u64],
    namespace: &str,
    now: DateTime<Utc>,
) -> String {
    emf::line(
        namespace,
        FUNCTION,
        now.timestamp_millis(),
        &metrics(outcomes, sync_lags_ms),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use govsync_core::batch_report::BatchOutcome as _;
    use serde_json::{Value, json};

    #[test]
    fn a_batch_becomes_one_line_with_the_shared_metric_names() {
        let outcomes = vec![
            (
                Some("m1".to_owned()),
                Outcome::Decommissioned {
                    models: 1,
                    groups: 0,
                },
            ),
            (Some("m2".to_owned()), Outcome::Archived { packages: 2 }),
            (Some("m3".to_owned()), Outcome::Duplicate),
            (Some("m4".to_owned()), Outcome::Echo),
            (Some("m5".to_owned()), Outcome::Quarantined("decode")),
            (Some("m6".to_owned()), Outcome::Failed("throttled")),
        ];
        let line: Value = serde_json::from_str(&embedded_metrics(
            &outcomes,
            &[900, 30],
            "govsync",
            Utc::now(),
        ))
        .unwrap();
        assert_eq!(line["Function"], "decommission");
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
            ("ModelsDecommissioned", 1),
            ("PackagesArchived", 1),
        ] {
            assert_eq!(line[name], value, "{name}");
        }
        assert_eq!(line["SyncLagMs"], json!([900.0, 30.0]));
    }

    #[test]
    fn only_changes_that_were_applied_measure_a_lag() {
        assert!((Outcome::Tombstoned).is_applied());
        assert!((Outcome::Archived { packages: 1 }).is_applied());
        assert!(!(Outcome::AlreadyDone).is_applied());
        assert!(!(Outcome::Duplicate).is_applied());
        assert!(!(Outcome::Failed("x")).is_applied());
    }
}
