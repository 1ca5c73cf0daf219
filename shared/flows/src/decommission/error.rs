//! Why one message failed, and whether it is worth retrying.

use govsync_core::ValidationError;
use govsync_core::batch_report::MessageFailure;
use govsync_core::customer_metadata::MetadataError;
use govsync_core::ports::{GovernanceError, GovernanceKind, RegistryError, StoreError};
use govsync_core::sync::decommission::MessageDecodeError;

/// One message's failure. Retryable ones become batch item failures (the queue retries them, then its
/// redrive policy); permanent ones are quarantined with [`MessageError::code`] and acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error(transparent)]
    Decode(#[from] MessageDecodeError),
    #[error("the SQS record has no body")]
    NoBody,
    #[error("account {account} in {region} is not in the registry map")]
    UnknownRegistry { account: String, region: String },
    #[error("another invocation is processing {key}")]
    InProgress { key: String },
    #[error("governance {kind:?} {id} named by the decommission request does not exist")]
    ObjectMissing { kind: GovernanceKind, id: String },
    #[error(transparent)]
    Governance(#[from] GovernanceError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("invalid value: {0}")]
    Invalid(#[from] ValidationError),
    #[error("the archive write does not fit SageMaker's limits: {0}")]
    Metadata(#[from] MetadataError),
    #[error("{kind:?} external id {external_id} is carried by several objects: {ids}")]
    AmbiguousExternalId {
        kind: GovernanceKind,
        external_id: String,
        ids: String,
    },
}

impl MessageError {
    pub fn is_retryable(&self) -> bool {
        match self {
            MessageError::InProgress { .. } => true,
            MessageError::Governance(error) => error.is_retryable(),
            MessageError::Registry(error) => error.is_retryable(),
            MessageError::Store(error) => error.is_retryable(),
            MessageError::Decode(_)
            | MessageError::NoBody
            | MessageError::UnknownRegistry { .. }
            | MessageError::ObjectMissing { .. }
            | MessageError::Invalid(_)
            | MessageError::Metadata(_)
            | MessageError::AmbiguousExternalId { .. } => false,
        }
    }

    /// A short stable code for logs, metrics and the DLQ's `govsync-error-code` attribute.
    pub fn code(&self) -> &'static str {
        match self {
            MessageError::Decode(error) => error.code(),
            MessageError::NoBody => "no_body",
            MessageError::UnknownRegistry { .. } => "unknown_registry",
            MessageError::InProgress { .. } => "in_progress",
            MessageError::ObjectMissing { .. } => "governance_object_missing",
            MessageError::Governance(error) => error.code(),
            MessageError::Registry(_) => "registry",
            MessageError::Store(_) => "store",
            MessageError::Invalid(_) => "invalid_value",
            MessageError::Metadata(_) => "archive_metadata",
            MessageError::AmbiguousExternalId { .. } => "ambiguous_external_id",
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
