//! Why a reconcile run (or one repair) failed, whether it is worth retrying, and whether it was
//! throttling (which slows the run down: see [`crate::limiter`]).

use govsync_core::ports::{GovernanceError, QueueError, RegistryError, StoreError};
use govsync_flows::package_sync::MessageError;

/// A failure of the run or of one repair. Listing failures stop the run (its checkpoint is kept, so the
/// next run resumes); a failed repair is recorded in the report and the run goes on.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Governance(#[from] GovernanceError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error("package sync: {0}")]
    Sync(#[from] MessageError),
    #[error("{what} is not valid: {reason}")]
    Invalid { what: &'static str, reason: String },
    #[error("no registry client for {0}")]
    UnknownRegistry(String),
}

impl ReconcileError {
    pub fn is_retryable(&self) -> bool {
        match self {
            ReconcileError::Governance(error) => error.is_retryable(),
            ReconcileError::Registry(error) => error.is_retryable(),
            ReconcileError::Store(error) => error.is_retryable(),
            ReconcileError::Queue(error) => error.is_retryable(),
            ReconcileError::Sync(error) => error.is_retryable(),
            ReconcileError::Invalid { .. } | ReconcileError::UnknownRegistry(_) => false,
        }
    }

    /// A short stable code for logs and the report.
    pub fn code(&self) -> &'static str {
        match self {
            // `governance_unauthorized` for refused credentials, so a rotated key is visible as such.
            ReconcileError::Governance(error) => error.code(),
            ReconcileError::Registry(_) => "registry",
            ReconcileError::Store(_) => "store",
            ReconcileError::Queue(_) => "queue",
            ReconcileError::Sync(error) => error.code(),
            ReconcileError::Invalid { .. } => "invalid",
            ReconcileError::UnknownRegistry(_) => "unknown_registry",
        }
    }
}

/// Whether an error says "slow down" (SageMaker `ThrottlingException`, HTTP 429, DynamoDB throttling).
pub trait Throttling {
    fn is_throttling(&self) -> bool;
}

impl Throttling for RegistryError {
    fn is_throttling(&self) -> bool {
        matches!(self, RegistryError::Throttled { .. })
    }
}

impl Throttling for GovernanceError {
    fn is_throttling(&self) -> bool {
        self.status() == Some(429)
    }
}

impl Throttling for StoreError {
    fn is_throttling(&self) -> bool {
        matches!(self, StoreError::Throttled { .. })
    }
}

impl Throttling for QueueError {
    fn is_throttling(&self) -> bool {
        matches!(self, QueueError::Send { code, .. } if code.contains("Throttl"))
    }
}

impl Throttling for MessageError {
    fn is_throttling(&self) -> bool {
        match self {
            MessageError::Governance(error) => error.is_throttling(),
            MessageError::Registry(error) => error.is_throttling(),
            MessageError::Store(error) => error.is_throttling(),
            _ => false,
        }
    }
}

impl Throttling for ReconcileError {
    fn is_throttling(&self) -> bool {
        match self {
            ReconcileError::Governance(error) => error.is_throttling(),
            ReconcileError::Registry(error) => error.is_throttling(),
            ReconcileError::Store(error) => error.is_throttling(),
            ReconcileError::Queue(error) => error.is_throttling(),
            ReconcileError::Sync(error) => error.is_throttling(),
            ReconcileError::Invalid { .. } | ReconcileError::UnknownRegistry(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn governance(error: GovernanceError) -> ReconcileError {
        ReconcileError::from(error)
    }

    #[test]
    fn refused_credentials_report_the_governance_code_of_their_own() {
        let refused = governance(GovernanceError::Unauthorized {
            operation: "list models",
            status: 401,
            body: "expired key".into(),
        });
        assert_eq!(refused.code(), "governance_unauthorized");
        assert!(refused.is_retryable());
        let forbidden = governance(GovernanceError::Status {
            operation: "update model",
            status: 403,
            body: String::new(),
        });
        assert_eq!(forbidden.code(), "governance_unauthorized");
    }

    #[test]
    fn other_governance_failures_keep_the_plain_governance_code() {
        for error in [
            GovernanceError::Status {
                operation: "list models",
                status: 503,
                body: String::new(),
            },
            GovernanceError::NotFound {
                operation: "get model",
                id: "1042".into(),
            },
            GovernanceError::Transport {
                operation: "list models",
                message: "connection reset".into(),
            },
        ] {
            assert_eq!(governance(error).code(), "governance");
        }
    }
}
