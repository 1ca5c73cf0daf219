//! What the drill and the throughput bench share: the outcome of a step that applies a change, or fails.

use govsync_core::batch_report::{BatchOutcome, Disposition, MessageOutcome};

/// A step's outcome: applied, returned to the queue, or quarantined.
#[derive(Debug)]
pub enum Done {
    Applied,
    Failed,
    Quarantined,
}

impl MessageOutcome for Done {
    fn label(&self) -> &'static str {
        match self {
            Done::Applied => "applied",
            Done::Failed => "failed",
            Done::Quarantined => "quarantined",
        }
    }
    fn disposition(&self) -> Disposition {
        match self {
            Done::Applied => Disposition::Done,
            Done::Failed => Disposition::Failed,
            Done::Quarantined => Disposition::Quarantined,
        }
    }
}

impl BatchOutcome for Done {
    fn failed(_: &'static str) -> Self {
        Done::Failed
    }
    fn quarantined(_: &'static str) -> Self {
        Done::Quarantined
    }
    fn is_applied(&self) -> bool {
        matches!(self, Done::Applied)
    }
}
