//! What a batch came to: per-message outcomes, the batch item failures, and counts written as one
//! CloudWatch embedded-metric line per batch (no API calls).

use chrono::Utc;
use serde_json::{Map, Value, json};

use crate::handler::Outcome;

/// The result of one batch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BatchReport {
    /// `(message id, outcome)` in batch order.
    pub outcomes: Vec<(Option<String>, Outcome)>,
}

impl BatchReport {
    pub fn from_outcomes(outcomes: Vec<(Option<String>, Outcome)>) -> Self {
        Self { outcomes }
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

    /// One CloudWatch embedded-metric-format line (namespace `namespace`, dimension `Function`).
    pub fn embedded_metrics(&self, namespace: &str) -> String {
        let metrics: [(&str, usize); 11] = [
            ("EventsProcessed", self.outcomes.len()),
            ("UseCasesProvisioned", self.count("provisioned")),
            ("PackagesUpdated", self.count("updated")),
            (
                "DecommissionsRequested",
                self.count("decommission_requested"),
            ),
            ("UnmappedUseCases", self.count("unmapped")),
            ("UnlinkedModels", self.count("unlinked")),
            ("DuplicatesSuppressed", self.count("duplicate")),
            ("StaleDropped", self.count("stale")),
            ("EchoesDropped", self.count("echo")),
            ("Quarantined", self.count("quarantined")),
            ("BatchItemFailures", self.count("failed")),
        ];
        let mut line = Map::new();
        line.insert(
            "_aws".into(),
            json!({
                "Timestamp": Utc::now().timestamp_millis(),
                "CloudWatchMetrics": [{
                    "Namespace": namespace,
                    "Dimensions": [["Function"]],
                    "Metrics": metrics.iter().map(|(name, _)| json!({"Name": name, "Unit": "Count"})).collect::<Vec<_>>(),
                }],
            }),
        );
        line.insert("Function".into(), json!("approval-propagation"));
        for (name, value) in metrics {
            line.insert(name.into(), json!(value));
        }
        Value::Object(line).to_string()
    }
}
