//! Why one event failed, and whether it is worth retrying.

use govsync_core::ValidationError;
use govsync_core::metrics::MetricsDecodeError;
use govsync_core::ports::{
    GovernanceError, GovernanceKind, QuarantineError, RegistryError, StoreError,
};

/// One event's failure. Retryable ones are returned to Lambda (EventBridge's asynchronous invoke retries
/// them, then the function's dead-letter queue keeps them); permanent ones are quarantined with
/// [`RelayError::code`] in the dead-letter queue and acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("not a metrics event govsync accepts: {0}")]
    Decode(#[from] MetricsDecodeError),
    #[error("account {account} in {region} is not in the registry map")]
    UnknownRegistry { account: String, region: String },
    /// The envelope's origin is not the registry that owns what the event names: another account (or
    /// region) is speaking for it, so the event must not touch governance.
    #[error(
        "an event from account {envelope_account} in {envelope_region} names {subject}, owned by \
         account {owner_account} in {owner_region}: metrics are accepted only from the owning registry"
    )]
    ForeignMetrics {
        envelope_account: String,
        envelope_region: String,
        subject: String,
        owner_account: String,
        owner_region: String,
    },
    #[error("governance has no model for model package {arn} (not synced yet, or not governed)")]
    UnknownModel { arn: String },
    #[error("monitoring schedule {schedule} has no valid {tag} tag naming its model package")]
    UnlinkedSchedule { schedule: String, tag: &'static str },
    #[error("another invocation is recording {key}")]
    InProgress { key: String },
    #[error("{kind:?} external id {external_id} is carried by several objects: {ids}")]
    AmbiguousExternalId {
        kind: GovernanceKind,
        external_id: String,
        ids: String,
    },
    #[error(transparent)]
    Governance(#[from] GovernanceError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("invalid value: {0}")]
    Invalid(#[from] ValidationError),
    #[error("quarantine failed: {0}")]
    Quarantine(#[from] QuarantineError),
}

impl RelayError {
    pub fn is_retryable(&self) -> bool {
        match self {
            RelayError::InProgress { .. } => true,
            RelayError::Governance(error) => error.is_retryable(),
            RelayError::Registry(error) => error.is_retryable(),
            RelayError::Store(error) => error.is_retryable(),
            // Lambda keeps the event in its own dead-letter queue after its retries: never lost.
            RelayError::Quarantine(_) => true,
            RelayError::Decode(_)
            | RelayError::UnknownRegistry { .. }
            | RelayError::ForeignMetrics { .. }
            | RelayError::UnknownModel { .. }
            | RelayError::UnlinkedSchedule { .. }
            | RelayError::AmbiguousExternalId { .. }
            | RelayError::Invalid(_) => false,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            RelayError::Decode(error) => error.code(),
            RelayError::UnknownRegistry { .. } => "unknown_registry",
            RelayError::ForeignMetrics { .. } => "foreign_metrics",
            RelayError::UnknownModel { .. } => "unknown_model",
            RelayError::UnlinkedSchedule { .. } => "unlinked_schedule",
            RelayError::InProgress { .. } => "in_progress",
            RelayError::AmbiguousExternalId { .. } => "ambiguous_external_id",
            RelayError::Governance(error) => error.code(),
            RelayError::Registry(_) => "registry",
            RelayError::Store(_) => "store",
            RelayError::Invalid(_) => "invalid_value",
            RelayError::Quarantine(_) => "quarantine_failed",
        }
    }
}
