//! A dead-letter queue in memory.

use super::*;

/// A dead-letter queue in memory: keeps what was quarantined, in order.
#[derive(Debug, Default)]
pub struct FakeQuarantine {
    messages: Mutex<Vec<QuarantinedMessage>>,
    recorder: Recorder<QuarantineError>,
}

impl FakeQuarantine {
    pub fn new() -> Self {
        Self::default()
    }

    recorder_methods!(QuarantineError);

    pub fn messages(&self) -> Vec<QuarantinedMessage> {
        lock(&self.messages).clone()
    }

    /// Removes and returns the messages `wanted` picks, as an operator's redrive takes them.
    pub fn take_where(
        &self,
        wanted: impl Fn(&QuarantinedMessage) -> bool,
    ) -> Vec<QuarantinedMessage> {
        let mut messages = lock(&self.messages);
        let (taken, kept) = std::mem::take(&mut *messages)
            .into_iter()
            .partition(|message| wanted(message));
        *messages = kept;
        taken
    }
}

impl Quarantine for FakeQuarantine {
    async fn quarantine(&self, message: &QuarantinedMessage) -> Result<(), QuarantineError> {
        self.recorder.enter("quarantine").await?;
        lock(&self.messages).push(message.clone());
        self.recorder.leave("quarantine")
    }
}
