//! Why one message failed, and whether it is worth retrying.

use govsync_core::ValidationError;
use govsync_core::batch_report::MessageFailure;
use govsync_core::ports::{GovernanceError, GovernanceKind, RegistryError, StoreError};
use govsync_core::registry_event::DecodeError;
use govsync_core::sync::registry::WriteBackError;

/// One message's failure. Retryable ones become batch item failures (the queue retries them, then
/// its redrive policy); permanent ones are quarantined with [`MessageError::code`] and acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("undecodable registry event: {0}")]
    Decode(#[from] DecodeError),
    #[error("the SQS record has no body")]
    NoBody,
    #[error("account {account} in {region} is not in the registry map")]
    UnknownRegistry { account: String, region: String },
    #[error("another invocation is processing {key}")]
    InProgress { key: String },
    #[error(transparent)]
    Governance(#[from] GovernanceError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the described package is not valid: {0}")]
    Invalid(#[from] ValidationError),
    #[error("{kind:?} external id {external_id} is carried by several objects: {ids}")]
    AmbiguousExternalId {
        kind: GovernanceKind,
        external_id: String,
        ids: String,
    },
    #[error("write-back: {0}")]
    WriteBack(WriteBackError),
    /// A retryable S3 or ECR read of the artifact fingerprint (anything else is an unverifiable part).
    #[error("reading the artifact: {0}")]
    ArtifactRead(#[from] govsync_core::ports::ArtifactReadError),
}

impl MessageError {
    pub fn is_retryable(&self) -> bool {
        match self {
            MessageError::InProgress { .. } => true,
            MessageError::Governance(error) => error.is_retryable(),
            MessageError::Registry(error) => error.is_retryable(),
            MessageError::Store(error) => error.is_retryable(),
            MessageError::ArtifactRead(error) => error.is_retryable(),
            MessageError::Decode(_)
            | MessageError::NoBody
            | MessageError::UnknownRegistry { .. }
            | MessageError::Invalid(_)
            | MessageError::AmbiguousExternalId { .. }
            | MessageError::WriteBack(_) => false,
        }
    }

    /// A short stable code for logs, metrics and the DLQ's `govsync-error-code` attribute.
    pub fn code(&self) -> &'static str {
        match self {
            MessageError::Decode(error) => error.code(),
            MessageError::NoBody => "no_body",
            MessageError::UnknownRegistry { .. } => "unknown_registry",
            MessageError::InProgress { .. } => "in_progress",
            MessageError::Governance(error) => error.code(),
            MessageError::Registry(_) => "registry",
            MessageError::Store(_) => "store",
            MessageError::ArtifactRead(_) => "artifact_read",
            MessageError::Invalid(_) => "invalid_package",
            MessageError::AmbiguousExternalId { .. } => "ambiguous_external_id",
            MessageError::WriteBack(_) => "write_back",
        }
    }
}

impl MessageFailure for MessageError {
    fn is_retryable(&self) -> bool {
        MessageError::is_retryable(self)
    }
    fn code(&self) -> &'static str {
        MessageError::code(self)
    }
}

impl From<crate::creation::CreationError> for MessageError {
    fn from(error: crate::creation::CreationError) -> Self {
        match error {
            crate::creation::CreationError::Governance(error) => error.into(),
            crate::creation::CreationError::Store(error) => error.into(),
            crate::creation::CreationError::InProgress { key } => MessageError::InProgress { key },
        }
    }
}

impl From<crate::artifacts::ArtifactCheckError> for MessageError {
    fn from(error: crate::artifacts::ArtifactCheckError) -> Self {
        match error {
            crate::artifacts::ArtifactCheckError::Store(error) => error.into(),
            crate::artifacts::ArtifactCheckError::Read(error) => error.into(),
        }
    }
}
