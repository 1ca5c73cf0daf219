//! Data the state-store ports pass: idempotency records, links between the two sides with
//! their applied revisions, the our-write ledger, and poll watermarks.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::governance::GovernanceId;
use crate::model_package::{ModelPackageArn, RegistryArn};

/// What `begin` found for an idempotency key (the Powertools protocol).
#[derive(Debug, Clone, PartialEq)]
pub enum IdempotencyBegin {
    /// The caller owns the key now: do the work, then `complete` or `release`.
    Started,
    /// The work was done before; this is its stored result.
    AlreadyCompleted(serde_json::Value),
    /// Another invocation holds the key and its deadline has not passed: retry later.
    InProgress,
}

/// What a link connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// Model package group ARN ⇄ governance use case.
    UseCase,
    /// Model package group ARN ⇄ governance model group.
    ModelGroup,
    /// Model package ARN ⇄ governance model.
    Model,
}

impl LinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::UseCase => "use_case",
            LinkKind::ModelGroup => "model_group",
            LinkKind::Model => "model",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "use_case" => Some(LinkKind::UseCase),
            "model_group" => Some(LinkKind::ModelGroup),
            "model" => Some(LinkKind::Model),
            _ => None,
        }
    }
}

/// One registry resource linked to one governance object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub kind: LinkKind,
    pub arn: RegistryArn,
    pub governance_id: GovernanceId,
}

/// One side of a link; revisions are tracked per side because each side has its own clock.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LinkEnd {
    Registry(RegistryArn),
    Governance(GovernanceId),
    /// The approval email of a use case: a receipt written once so the email is sent once.
    ApprovalEmailSent(GovernanceId),
}

/// What the package sync reads about one package from the links table before deciding, in one
/// read where the store can (one round trip instead of four).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PackageState {
    /// The package's applied registry revision.
    pub applied_revision: Option<u64>,
    /// Package ARN → governance model.
    pub model: Option<Link>,
    /// The package's group ARN → governance model group.
    pub model_group: Option<Link>,
    /// What governance approved for the package, if govsync applied an approval.
    pub approved_artifact: Option<ApprovedArtifact>,
}

/// What [`crate::ports::EchoLedger::package_state_unless_echo`] found for a change that may be govsync's own write.
#[derive(Debug, Clone, PartialEq)]
pub enum EchoCheck {
    /// A live ledger entry matched and is consumed already: the change is an echo.
    Consumed,
    /// A live ledger entry matches and is still stored: consume it with [`StoreWrite::ConsumeOurWrite`]
    /// (an echo only if that succeeds). The package's state, for when it does not.
    Live(PackageState),
    /// No live entry: not an echo.
    NotEcho(PackageState),
}

/// One write of a store transaction ([`crate::ports::RevisionStore::commit`]).
#[derive(Debug, Clone, PartialEq)]
pub enum StoreWrite {
    /// Completes an idempotency claim with its result (the idempotency table).
    CompleteClaim {
        key: crate::idempotency::IdempotencyKey,
        result: serde_json::Value,
        now: chrono::DateTime<chrono::Utc>,
    },
    /// Records an our-write ledger entry.
    RecordOurWrite {
        write: OurWrite,
        expires_at: chrono::DateTime<chrono::Utc>,
    },
    /// Records a link both ways.
    PutLink(Link),
    /// Advances the applied revision; a revision at least as new cancels the transaction.
    AdvanceRevision { end: LinkEnd, revision: u64 },
    /// Holds only while the package has no tombstone; one cancels the transaction.
    NoTombstone(ModelPackageArn),
    /// Removes a live ledger entry; a missing or expired one cancels the transaction.
    ConsumeOurWrite {
        write: OurWrite,
        now: chrono::DateTime<chrono::Utc>,
    },
}

/// What became of a store transaction. Anything but `Committed` wrote nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitOutcome {
    Committed,
    /// A [`StoreWrite::NoTombstone`] found the tombstone.
    Tombstoned,
    /// A [`StoreWrite::AdvanceRevision`] found a revision at least as new (`None`: not reported).
    RevisionStale {
        applied: Option<u64>,
    },
    /// A [`StoreWrite::ConsumeOurWrite`] found no live entry (another change consumed it).
    EchoGone,
}

/// The result of trying to advance the applied revision of a link end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevisionOutcome {
    /// The revision was newer and is now recorded: apply the change.
    Advanced,
    /// A revision at least as new was already applied: drop the change.
    Stale { applied: u64 },
}

/// The side a write goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WriteSide {
    Registry,
    Governance,
}

impl WriteSide {
    pub fn as_str(self) -> &'static str {
        match self {
            WriteSide::Registry => "registry",
            WriteSide::Governance => "governance",
        }
    }
}

/// A write govsync makes, remembered so the change event it causes is recognised as its echo, once.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OurWrite {
    pub side: WriteSide,
    /// The ARN or governance id written to.
    pub object: String,
    pub field: String,
    /// Hex SHA-256 of the value written: the ledger never stores values.
    pub value_hash: String,
    /// The object's revision the write produced, where the other side reports it (governance's
    /// `Last Modification Date`): only the object at exactly this revision is the echo, so a person
    /// who later sets the same value again is a new change.
    pub revision: Option<u64>,
}

impl OurWrite {
    pub fn new(
        side: WriteSide,
        object: impl Into<String>,
        field: impl Into<String>,
        value: &str,
    ) -> Self {
        Self {
            side,
            object: object.into(),
            field: field.into(),
            value_hash: hash_value(value),
            revision: None,
        }
    }

    /// The same write, bound to the revision it produced.
    pub fn produced(mut self, revision: u64) -> Self {
        self.revision = Some(revision);
        self
    }
}

/// Hex SHA-256 of a value, as the our-write ledger stores it.
pub fn hash_value(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    let mut hex = String::with_capacity(digest.len() * 2);
    for byte in digest {
        hex.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
        hex.push(char::from_digit(u32::from(byte & 0x0f), 16).unwrap_or('0'));
    }
    hex
}

/// A registry resource seen deleted before governance had an object for it (design F5): kept in the
/// links table so an object created for it later is decommissioned at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    pub arn: ModelPackageArn,
    pub deleted_at: chrono::DateTime<chrono::Utc>,
    /// What happened, by whom and when, as written to governance.
    pub note: String,
}

/// Errors of the state stores (DynamoDB).
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("store {operation} throttled: {message}")]
    Throttled {
        operation: &'static str,
        message: String,
    },
    #[error("store {operation} failed ({code}): {message}")]
    Service {
        operation: &'static str,
        code: String,
        message: String,
        retryable: bool,
    },
    #[error("store {operation} transport error: {message}")]
    Transport {
        operation: &'static str,
        message: String,
    },
    #[error("store {operation}: undecodable item: {message}")]
    Decode {
        operation: &'static str,
        message: String,
    },
}

impl StoreError {
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Throttled { .. } | StoreError::Transport { .. } => true,
            StoreError::Service { retryable, .. } => *retryable,
            StoreError::Decode { .. } => false,
        }
    }
}

impl fmt::Display for LinkEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkEnd::Registry(arn) => write!(f, "registry {arn}"),
            LinkEnd::Governance(id) => write!(f, "governance {id}"),
            LinkEnd::ApprovalEmailSent(id) => write!(f, "approval email of use case {id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_write_stores_a_hash_not_the_value() {
        let write = OurWrite::new(
            WriteSide::Registry,
            "arn:x",
            "ModelApprovalStatus",
            "Approved",
        );
        assert_eq!(write.value_hash.len(), 64);
        assert_ne!(write.value_hash, "Approved");
        assert_eq!(
            hash_value("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn link_kinds_round_trip_through_their_names() {
        for kind in [LinkKind::UseCase, LinkKind::ModelGroup, LinkKind::Model] {
            assert_eq!(LinkKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(LinkKind::parse("other"), None);
    }
}

/// The artifact a governance approval was applied to (links table: `pk` the package's registry end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovedArtifact {
    pub package_arn: ModelPackageArn,
    pub model: GovernanceId,
    /// The decision that approved it (the decision event's `decision_id`).
    pub decision_id: String,
    pub fingerprint: crate::artifact::ArtifactFingerprint,
    pub approved_at: chrono::DateTime<chrono::Utc>,
}

/// A governance decision waiting in the outbox: its id and the event detail, as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingDecision {
    pub model: GovernanceId,
    pub decision_id: String,
    pub detail_json: String,
}
