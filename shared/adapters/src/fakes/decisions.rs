//! govsync's decision bus in memory: every event put, in order (repeats kept, so a test sees them).

use super::*;

/// Collects published decision events.
#[derive(Debug, Default)]
pub struct FakeDecisionBus {
    published: Mutex<Vec<govsync_core::decision_event::DecisionDetail>>,
    recorder: Recorder<govsync_core::ports::PublishError>,
}

impl FakeDecisionBus {
    pub fn new() -> Self {
        Self::default()
    }

    recorder_methods!(govsync_core::ports::PublishError);

    /// The events put so far, in order.
    pub fn published(&self) -> Vec<govsync_core::decision_event::DecisionDetail> {
        lock(&self.published).clone()
    }
}

impl govsync_core::ports::DecisionPublisher for FakeDecisionBus {
    async fn publish(
        &self,
        detail: &govsync_core::decision_event::DecisionDetail,
    ) -> Result<(), govsync_core::ports::PublishError> {
        self.recorder.enter("publish").await?;
        lock(&self.published).push(detail.clone());
        self.recorder.leave("publish")
    }
}
