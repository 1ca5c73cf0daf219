//! Email in memory.

use super::*;

/// Collects sent emails.
#[derive(Debug, Default)]
pub struct FakeNotifier {
    sent: Mutex<Vec<Email>>,
    recorder: Recorder<NotifyError>,
}

impl FakeNotifier {
    pub fn new() -> Self {
        Self::default()
    }

    recorder_methods!(NotifyError);

    pub fn sent(&self) -> Vec<Email> {
        lock(&self.sent).clone()
    }
}

impl Notifier for FakeNotifier {
    async fn send(&self, email: &Email) -> Result<String, NotifyError> {
        self.recorder.enter("send").await?;
        if email.to.is_empty() {
            return Err(NotifyError::Invalid("no recipients".to_owned()));
        }
        let mut sent = lock(&self.sent);
        sent.push(email.clone());
        Ok(format!("fake-message-{}", sent.len()))
    }
}
