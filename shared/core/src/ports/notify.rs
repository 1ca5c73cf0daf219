//! Data the notifier port passes.

/// One email: sent as a single message to every recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub text_body: String,
    pub html_body: Option<String>,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum NotifyError {
    #[error("email is not sendable: {0}")]
    Invalid(String),
    #[error("email sending throttled: {message}")]
    Throttled { message: String },
    /// A permanent refusal (unverified sender, rejected message, suspended account).
    #[error("email rejected ({code}): {message}")]
    Rejected { code: String, message: String },
    #[error("email service error ({code}): {message}")]
    Service {
        code: String,
        message: String,
        retryable: bool,
    },
    #[error("email transport error: {message}")]
    Transport { message: String },
}

impl NotifyError {
    pub fn is_retryable(&self) -> bool {
        match self {
            NotifyError::Throttled { .. } | NotifyError::Transport { .. } => true,
            NotifyError::Service { retryable, .. } => *retryable,
            NotifyError::Invalid(_) | NotifyError::Rejected { .. } => false,
        }
    }
}
