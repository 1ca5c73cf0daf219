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
            ReconcileError::Governance(_) => "governance",
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
