//! Why one message failed, and whether it is worth retrying.

use govsync_core::ValidationError;
use govsync_core::batch_report::MessageFailure;
use govsync_core::ports::{
    GovernanceError, GovernanceKind, NotifyError, QueueError, RegistryError, StoreError,
};

/// One message's failure. Retryable ones become batch item failures (the queue retries them, then
/// its redrive policy); permanent ones are quarantined with [`MessageError::code`] and acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("undecodable governance event: {0}")]
    Decode(String),
    #[error("the SQS record has no body")]
    NoBody,
    #[error("another invocation is processing {key}")]
    InProgress { key: String },
    #[error(transparent)]
    Governance(#[from] GovernanceError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Notify(#[from] NotifyError),
    #[error("decommission request: {0}")]
    Queue(#[from] QueueError),
    #[error("account {account} in {region} is not in the registry map")]
    UnknownRegistry { account: String, region: String },
    #[error(
        "governance status {status:?} of model {model} is not in the mapping spec: not applied (add it to the spec, then replay)"
    )]
    UnknownStatus { model: String, status: String },
    #[error("governance object {id} has no Last Modification Date and the event no time")]
    NoRevision { id: String },
    #[error(
        "model package group {name} exists but belongs to {owner}, not use case {use_case}: rename one of them"
    )]
    GroupNameTaken {
        name: String,
        owner: String,
        use_case: String,
    },
    #[error("{kind:?} external id {external_id} is carried by several objects: {ids}")]
    AmbiguousExternalId {
        kind: GovernanceKind,
        external_id: String,
        ids: String,
    },
    #[error("invalid data: {0}")]
    Invalid(#[from] ValidationError),
    #[error("the email went out but its receipt could not be recorded: {0}")]
    EmailReceipt(StoreError),
    #[error(transparent)]
    Publish(#[from] govsync_core::ports::PublishError),
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
            MessageError::Store(error) | MessageError::EmailReceipt(error) => error.is_retryable(),
            MessageError::Notify(error) => error.is_retryable(),
            MessageError::Queue(error) => error.is_retryable(),
            // The decision stays in the outbox: the next delivery publishes it.
            MessageError::Publish(_) => true,
            MessageError::ArtifactRead(error) => error.is_retryable(),
            MessageError::Decode(_)
            | MessageError::NoBody
            | MessageError::UnknownRegistry { .. }
            | MessageError::UnknownStatus { .. }
            | MessageError::NoRevision { .. }
            | MessageError::GroupNameTaken { .. }
            | MessageError::AmbiguousExternalId { .. }
            | MessageError::Invalid(_) => false,
        }
    }

    /// A short stable code for logs, metrics and the DLQ's `govsync-error-code` attribute.
    pub fn code(&self) -> &'static str {
        match self {
            MessageError::Decode(_) => "undecodable",
            MessageError::NoBody => "no_body",
            MessageError::InProgress { .. } => "in_progress",
            MessageError::Governance(error) => error.code(),
            MessageError::Registry(_) => "registry",
            MessageError::Store(_) => "store",
            MessageError::ArtifactRead(_) => "artifact_read",
            MessageError::Notify(_) => "email",
            MessageError::Queue(_) => "decommission_queue",
            MessageError::UnknownRegistry { .. } => "unknown_registry",
            MessageError::UnknownStatus { .. } => "unknown_governance_status",
            MessageError::NoRevision { .. } => "no_revision",
            MessageError::GroupNameTaken { .. } => "group_name_taken",
            MessageError::AmbiguousExternalId { .. } => "ambiguous_external_id",
            MessageError::Invalid(_) => "invalid",
            MessageError::EmailReceipt(_) => "email_receipt",
            MessageError::Publish(_) => "decision_publish",
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
