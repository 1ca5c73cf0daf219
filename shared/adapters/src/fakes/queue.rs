//! An SQS FIFO queue in memory.

use super::*;

/// Collects enqueued messages, with SQS FIFO's deduplication: a second send with a deduplication id
/// already accepted is acknowledged and dropped (the fake's window never closes).
#[derive(Debug, Default)]
pub struct FakeMessageQueue {
    accepted: Mutex<Vec<govsync_core::ports::OutgoingMessage>>,
    recorder: Recorder<govsync_core::ports::QueueError>,
}

impl FakeMessageQueue {
    pub fn new() -> Self {
        Self::default()
    }

    recorder_methods!(govsync_core::ports::QueueError);

    /// The messages the queue holds, in send order (duplicates dropped).
    pub fn messages(&self) -> Vec<govsync_core::ports::OutgoingMessage> {
        lock(&self.accepted).clone()
    }
}

impl govsync_core::ports::MessageQueue for FakeMessageQueue {
    async fn send(
        &self,
        message: &govsync_core::ports::OutgoingMessage,
    ) -> Result<(), govsync_core::ports::QueueError> {
        self.recorder.enter("send").await?;
        let mut accepted = lock(&self.accepted);
        if !accepted
            .iter()
            .any(|held| held.deduplication_id == message.deduplication_id)
        {
            accepted.push(message.clone());
        }
        drop(accepted);
        self.recorder.leave("send")
    }
}
