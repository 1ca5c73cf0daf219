//! Data the quarantine port passes: a message that can never succeed, with the reason it is set aside.

/// A message sent to the function's dead-letter queue instead of being retried (design §4: permanent
/// errors are quarantined with their reason and acknowledged, so they never block their group).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantinedMessage {
    /// The original body, unchanged, so the message can be replayed once the cause is fixed.
    pub body: String,
    /// The FIFO message group to use in the DLQ (the source message's, so a replay keeps its order).
    pub message_group_id: String,
    /// The FIFO deduplication id (derived from the source message id: a re-quarantine is a no-op).
    pub deduplication_id: String,
    /// Human-readable reason (`govsync-reason`).
    pub reason: String,
    /// Short stable code (`govsync-error-code`), e.g. `unknown_registry`, `not_json`.
    pub error_code: String,
    /// The source queue's message id (`govsync-source-message-id`).
    pub source_message_id: String,
}

/// SQS message attribute names of a quarantined message.
pub mod attributes {
    pub const REASON: &str = "govsync-reason";
    pub const ERROR_CODE: &str = "govsync-error-code";
    pub const SOURCE_MESSAGE_ID: &str = "govsync-source-message-id";
}

/// Why a message could not be quarantined. The caller then reports the message as failed: it is
/// never dropped.
#[derive(Debug, Clone, thiserror::Error)]
pub enum QuarantineError {
    #[error("quarantine send failed ({code}): {message}")]
    Send {
        code: String,
        message: String,
        retryable: bool,
    },
    #[error("quarantine transport error: {message}")]
    Transport { message: String },
    #[error("message cannot be quarantined: {message}")]
    Invalid { message: String },
}

impl QuarantineError {
    pub fn is_retryable(&self) -> bool {
        match self {
            QuarantineError::Send { retryable, .. } => *retryable,
            QuarantineError::Transport { .. } => true,
            QuarantineError::Invalid { .. } => false,
        }
    }
}
