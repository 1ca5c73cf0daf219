//! What one SQS batch came to, shared by the queue-driven functions: each message's outcome, the batch
//! item failures to report, and the embedded metrics every function emits under the shared names.

use crate::emf::{Metric, SharedCounts};

/// A per-message outcome of a queue-driven function, known by a stable label. The labels `duplicate`,
/// `echo`, `quarantined` and `failed` (reported as a batch item failure) mean the same in every function.
pub trait MessageOutcome {
    fn label(&self) -> &'static str;
}

/// What the batch driver needs of an outcome beyond its label.
pub trait BatchOutcome: MessageOutcome + Sized {
    /// A batch item failure: a retryable error, a failed DLQ send, or a message held behind its group's
    /// failure (`code` says which).
    fn failed(code: &'static str) -> Self;
    /// Sent to the DLQ with `code`.
    fn quarantined(code: &'static str) -> Self;
    fn is_failed(&self) -> bool;
    /// A change was applied: its sync lag is measured from the source event's time.
    fn is_applied(&self) -> bool;
}

/// A message's error: retried, or quarantined with a short stable code.
pub trait MessageFailure: std::fmt::Display {
    fn is_retryable(&self) -> bool;
    /// For logs, metrics and the DLQ's `govsync-error-code` attribute.
    fn code(&self) -> &'static str;
}

/// The result of one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchReport<O> {
    /// `(message id, outcome)` in batch order.
    pub outcomes: Vec<(Option<String>, O)>,
    /// Milliseconds from each applied change's source time to when it was applied.
    pub sync_lags_ms: Vec<u64>,
}

impl<O> Default for BatchReport<O> {
    fn default() -> Self {
        Self {
            outcomes: Vec::new(),
            sync_lags_ms: Vec::new(),
        }
    }
}

impl<O: MessageOutcome> BatchReport<O> {
    pub fn from_outcomes(outcomes: Vec<(Option<String>, O)>) -> Self {
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
            .filter(|(_, outcome)| outcome.label() == "failed")
            .filter_map(|(id, _)| id.clone())
            .collect()
    }

    /// Failed messages without an id cannot be reported one by one: the whole batch must fail.
    pub fn unidentified_failures(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|(id, outcome)| id.is_none() && outcome.label() == "failed")
            .count()
    }

    /// How many messages had each outcome label.
    pub fn count(&self, label: &str) -> usize {
        count(&self.outcomes, label)
    }

    /// The metrics under the shared names of [`crate::emf`]; a function appends its own after them.
    pub fn shared_metrics(&self) -> Vec<Metric> {
        shared_metrics(&self.outcomes, &self.sync_lags_ms)
    }
}

/// How many of `outcomes` have `label`.
pub fn count<O: MessageOutcome>(outcomes: &[(Option<String>, O)], label: &str) -> usize {
    outcomes
        .iter()
        .filter(|(_, outcome)| outcome.label() == label)
        .count()
}

/// The metrics of a batch under the shared names of [`crate::emf`].
pub fn shared_metrics<O: MessageOutcome>(
    outcomes: &[(Option<String>, O)],
    sync_lags_ms: &[u64],
) -> Vec<Metric> {
    SharedCounts {
        events_processed: outcomes.len(),
        duplicates: Some(count(outcomes, "duplicate")),
        echoes_dropped: Some(count(outcomes, "echo")),
        quarantined: Some(count(outcomes, "quarantined")),
        failures: count(outcomes, "failed"),
        sync_lags_ms: sync_lags_ms.to_vec(),
    }
    .metrics()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Labelled(&'static str);

    impl MessageOutcome for Labelled {
        fn label(&self) -> &'static str {
            self.0
        }
    }

    #[test]
    fn only_failed_messages_are_reported_and_those_without_an_id_are_counted_apart() {
        let report = BatchReport::from_outcomes(vec![
            (Some("m1".to_owned()), Labelled("synced")),
            (Some("m2".to_owned()), Labelled("failed")),
            (None, Labelled("failed")),
            (Some("m4".to_owned()), Labelled("quarantined")),
        ]);
        assert_eq!(report.failures(), vec!["m2".to_owned()]);
        assert_eq!(report.unidentified_failures(), 1);
        assert_eq!(report.count("quarantined"), 1);
    }
}
