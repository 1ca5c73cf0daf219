//! A dead-letter queue in memory.

use super::*;

/// A dead-letter queue in memory: keeps what was quarantined, in order.
#[derive(Debug, Default)]
pub struct FakeQuarantine {
    messages: Mutex<Vec<QuarantinedMessage>>,
    delays: Mutex<Vec<(String, u32)>>,
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

    /// The backoffs asked for: `(receipt handle, delay in seconds)`, in call order.
    pub fn delays(&self) -> Vec<(String, u32)> {
        lock(&self.delays).clone()
    }
}

impl Quarantine for FakeQuarantine {
    async fn quarantine(&self, message: &QuarantinedMessage) -> Result<(), QuarantineError> {
        self.recorder.enter("quarantine").await?;
        lock(&self.messages).push(message.clone());
        self.recorder.leave("quarantine")
    }

    async fn retry_later(
        &self,
        _queue_arn: &str,
        receipt_handle: &str,
        delay_seconds: u32,
    ) -> Result<(), QuarantineError> {
        lock(&self.delays).push((receipt_handle.to_owned(), delay_seconds));
        Ok(())
    }
}
