//! What one SQS batch came to, shared by the queue-driven functions: each message's outcome, the batch
//! item failures to report, and the embedded metrics every function emits under the shared names.

use crate::emf::{Metric, SharedCounts};

/// The end a message came to, as every function means it: what the shared metrics count and what the
/// batch response reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Processed: a change applied, or nothing to do (the label says which).
    Done,
    /// The business key was completed before.
    Duplicate,
    /// govsync's own write coming back.
    Echo,
    /// Sent to the DLQ with its reason.
    Quarantined,
    /// A batch item failure: it returns to the queue.
    Failed,
}

/// A per-message outcome of a queue-driven function: a stable label (for logs and the function's own
/// metrics) and its [`Disposition`].
pub trait MessageOutcome {
    fn label(&self) -> &'static str;
    fn disposition(&self) -> Disposition;
}

/// What the batch driver needs of an outcome beyond its label.
pub trait BatchOutcome: MessageOutcome + Sized {
    /// A batch item failure: a retryable error, a failed DLQ send, or a message held behind its group's
    /// failure (`code` says which).
    fn failed(code: &'static str) -> Self;
    /// Sent to the DLQ with `code`.
    fn quarantined(code: &'static str) -> Self;
    fn is_failed(&self) -> bool {
        self.disposition() == Disposition::Failed
    }
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
            .filter(|(_, outcome)| outcome.disposition() == Disposition::Failed)
            .filter_map(|(id, _)| id.clone())
            .collect()
    }

    /// Failed messages without an id cannot be reported one by one: the whole batch must fail.
    pub fn unidentified_failures(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|(id, outcome)| id.is_none() && outcome.disposition() == Disposition::Failed)
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
    let with = |disposition: Disposition| {
        outcomes
            .iter()
            .filter(|(_, outcome)| outcome.disposition() == disposition)
            .count()
    };
    SharedCounts {
        events_processed: outcomes.len(),
        duplicates: Some(with(Disposition::Duplicate)),
        echoes_dropped: Some(with(Disposition::Echo)),
        quarantined: Some(with(Disposition::Quarantined)),
        failures: with(Disposition::Failed),
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
        fn disposition(&self) -> Disposition {
            match self.0 {
                "failed" => Disposition::Failed,
                "quarantined" => Disposition::Quarantined,
                _ => Disposition::Done,
            }
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
