//! Data the message-queue port passes: one message for an SQS FIFO queue govsync feeds itself
//! (`governance-events.fifo` from the webhook and the poller, `decommission.fifo` from
//! approval-propagation).

/// One FIFO message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub body: String,
    /// Messages of one group are delivered in order (1–128 characters).
    pub message_group_id: String,
    /// Sends with the same id within SQS's 5-minute window are accepted once (1–128 characters).
    pub deduplication_id: String,
}

/// Why a message could not be enqueued.
#[derive(Debug, Clone, thiserror::Error)]
pub enum QueueError {
    #[error("enqueue failed ({code}): {message}")]
    Send {
        code: String,
        message: String,
        retryable: bool,
    },
    #[error("enqueue transport error: {message}")]
    Transport { message: String },
    #[error("message cannot be enqueued: {message}")]
    Invalid { message: String },
}

impl QueueError {
    pub fn is_retryable(&self) -> bool {
        match self {
            QueueError::Send { retryable, .. } => *retryable,
            QueueError::Transport { .. } => true,
            QueueError::Invalid { .. } => false,
        }
    }
}
