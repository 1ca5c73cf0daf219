//! The message on `decommission.fifo` that asks the `decommission` function to archive what a governance
//! decommission covers (F6). govsync puts it there itself (approval-propagation, the reconciler); it is
//! not an EventBridge envelope.
//!
//! Body (JSON, UTF-8):
//!
//! ```json
//! {
//!   "schema": "govsync.decommission-request/v1",
//!   "kind": "model",
//!   "governance_id": "4711",
//!   "reason": "Decommissioned in governance by jane@example.com",
//!   "requested_at": "2026-01-02T09:18:24.500Z",
//!   "source": "approval-propagation"
//! }
//! ```
//!
//! - `schema`: always `govsync.decommission-request/v1`; a consumer refuses any other value (and any
//!   body without it), which also tells this message apart from the registry envelopes on the same queue.
//! - `kind`: `model` (archive the one package linked to the governance model) or `use_case` (archive every
//!   package of every group provisioned for the use case).
//! - `governance_id`: the decommissioned object's `Resource ID`.
//! - `reason`: free text for the archive descriptions and logs (at most [`DecommissionRequest::MAX_REASON_CHARS`]).
//! - `requested_at`: when the decommission happened in governance (the object's last modification), RFC 3339.
//!   It identifies the change: the same decommission sent twice carries the same instant.
//! - `source`: which govsync component sent it (e.g. `approval-propagation`, `reconciler`).
//!
//! Unknown fields are ignored. The SQS `MessageGroupId` is [`DecommissionRequest::message_group_id`] (one
//! group per governance object) and the `MessageDeduplicationId` is
//! [`DecommissionRequest::deduplication_id`] (kind + id + `requested_at`), so a redelivered governance change
//! collapses within SQS's window; the consumer's idempotency key ([`DecommissionRequest::idempotency_key`])
//! is the same business key and is the real guarantee.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::governance::GovernanceId;
use crate::idempotency::IdempotencyKey;

/// What a decommission request covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecommissionKind {
    /// One governance model: its linked package.
    Model,
    /// A use case: every package of every group provisioned for it.
    UseCase,
}

impl DecommissionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Model => "model",
            Self::UseCase => "use_case",
        }
    }
}

impl fmt::Display for DecommissionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request to archive, in SageMaker, what a governance decommission covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecommissionRequest {
    pub kind: DecommissionKind,
    pub governance_id: GovernanceId,
    pub reason: String,
    pub requested_at: DateTime<Utc>,
    pub source: String,
}

/// Why a body is not a decommission request.
#[derive(Debug, thiserror::Error)]
pub enum DecommissionRequestError {
    #[error("decommission request is not valid JSON of the expected shape: {0}")]
    Json(#[from] serde_json::Error),
    #[error("decommission request has schema {found:?}; expected {expected:?}")]
    Schema {
        found: String,
        expected: &'static str,
    },
    #[error("decommission request field `{field}` is invalid: {reason}")]
    Field { field: &'static str, reason: String },
}

#[derive(Serialize, Deserialize)]
struct Wire {
    schema: String,
    kind: DecommissionKind,
    governance_id: String,
    reason: String,
    requested_at: String,
    source: String,
}

impl DecommissionRequest {
    /// The value of the body's `schema` field.
    pub const SCHEMA: &'static str = "govsync.decommission-request/v1";
    /// Longer reasons are cut (at a character boundary) when the request is built.
    pub const MAX_REASON_CHARS: usize = 1000;
    /// Longest `source`.
    pub const MAX_SOURCE_CHARS: usize = 64;

    /// Builds a request; the reason is cut to [`Self::MAX_REASON_CHARS`].
    pub fn new(
        kind: DecommissionKind,
        governance_id: GovernanceId,
        reason: &str,
        requested_at: DateTime<Utc>,
        source: &str,
    ) -> Result<Self, DecommissionRequestError> {
        let source = validate_source(source)?;
        Ok(Self {
            kind,
            governance_id,
            reason: reason.chars().take(Self::MAX_REASON_CHARS).collect(),
            requested_at,
            source,
        })
    }

    /// The JSON body for SQS.
    pub fn to_json(&self) -> String {
        let wire = Wire {
            schema: Self::SCHEMA.to_owned(),
            kind: self.kind,
            governance_id: self.governance_id.as_str().to_owned(),
            reason: self.reason.clone(),
            requested_at: self
                .requested_at
                .to_rfc3339_opts(SecondsFormat::Millis, true),
            source: self.source.clone(),
        };
        // A struct of strings always serialises.
        serde_json::to_string(&wire).unwrap_or_default()
    }

    /// Decodes a body; refuses other schemas, bad ids, times and sources, and over-long reasons.
    pub fn from_json(body: &str) -> Result<Self, DecommissionRequestError> {
        let value: serde_json::Value = serde_json::from_str(body)?;
        match value.get("schema").and_then(|s| s.as_str()) {
            Some(Self::SCHEMA) => {}
            other => {
                return Err(DecommissionRequestError::Schema {
                    found: other.unwrap_or("<absent>").to_owned(),
                    expected: Self::SCHEMA,
                });
            }
        }
        let wire: Wire = serde_json::from_value(value)?;
        let governance_id = GovernanceId::parse(&wire.governance_id).map_err(|e| {
            DecommissionRequestError::Field {
                field: "governance_id",
                reason: e.to_string(),
            }
        })?;
        let requested_at = DateTime::parse_from_rfc3339(&wire.requested_at)
            .map_err(|e| DecommissionRequestError::Field {
                field: "requested_at",
                reason: e.to_string(),
            })?
            .to_utc();
        let reason_chars = wire.reason.chars().count();
        if reason_chars > Self::MAX_REASON_CHARS {
            return Err(DecommissionRequestError::Field {
                field: "reason",
                reason: format!(
                    "{reason_chars} characters; the limit is {}",
                    Self::MAX_REASON_CHARS
                ),
            });
        }
        Ok(Self {
            kind: wire.kind,
            governance_id,
            reason: wire.reason,
            requested_at,
            source: validate_source(&wire.source)?,
        })
    }

    /// SQS `MessageGroupId`: one group per governance object, so its decommissions stay in order.
    pub fn message_group_id(&self) -> String {
        format!("decommission-{}", self.kind) + "-" + &sqs_safe(self.governance_id.as_str())
    }

    /// SQS `MessageDeduplicationId`: kind + governance id + `requested_at` (hashed; ≤ 128 characters).
    pub fn deduplication_id(&self) -> String {
        format!("decommission-{}", self.business_digest())
    }

    /// The consumer's idempotency key: the same business key as the deduplication id.
    pub fn idempotency_key(&self) -> IdempotencyKey {
        IdempotencyKey::for_decommission_request(&self.business_digest())
    }

    fn business_digest(&self) -> String {
        let mut hasher = Sha256::new();
        for part in [
            self.kind.as_str(),
            self.governance_id.as_str(),
            &self.requested_at.timestamp_millis().to_string(),
        ] {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part.as_bytes());
        }
        crate::hex::encode(&hasher.finalize())
    }
}

fn validate_source(source: &str) -> Result<String, DecommissionRequestError> {
    let ok = !source.is_empty()
        && source.len() <= DecommissionRequest::MAX_SOURCE_CHARS
        && source
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if ok {
        Ok(source.to_owned())
    } else {
        Err(DecommissionRequestError::Field {
            field: "source",
            reason: format!(
                "{source:?} must be 1-{} of [A-Za-z0-9-_.]",
                DecommissionRequest::MAX_SOURCE_CHARS
            ),
        })
    }
}

/// SQS group ids allow alphanumerics and punctuation; governance ids may hold spaces and are ≤ 256 chars.
fn sqs_safe(id: &str) -> String {
    let plain = id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if plain {
        id.to_owned()
    } else {
        crate::hex::encode(&Sha256::digest(id.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> DecommissionRequest {
        DecommissionRequest::new(
            DecommissionKind::Model,
            GovernanceId::parse("4711").unwrap(),
            "Decommissioned in governance by jane@example.com",
            DateTime::parse_from_rfc3339("2026-01-02T09:18:24.5Z")
                .unwrap()
                .to_utc(),
            "approval-propagation",
        )
        .unwrap()
    }

    #[test]
    fn request_round_trips_through_its_documented_json() {
        let body = request().to_json();
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "schema": "govsync.decommission-request/v1",
                "kind": "model",
                "governance_id": "4711",
                "reason": "Decommissioned in governance by jane@example.com",
                "requested_at": "2026-01-02T09:18:24.500Z",
                "source": "approval-propagation"
            })
        );
        assert_eq!(DecommissionRequest::from_json(&body).unwrap(), request());
    }

    #[test]
    fn use_case_kind_is_spelled_with_an_underscore() {
        let body = r#"{"schema":"govsync.decommission-request/v1","kind":"use_case","governance_id":"9",
            "reason":"","requested_at":"2026-01-02T09:18:24+02:00","source":"reconciler","extra":1}"#;
        let decoded = DecommissionRequest::from_json(body).unwrap();
        assert_eq!(decoded.kind, DecommissionKind::UseCase);
        assert_eq!(
            decoded.requested_at.to_rfc3339(),
            "2026-01-02T07:18:24+00:00"
        );
    }

    #[test]
    fn malformed_bodies_are_refused_with_the_reason() {
        let base = serde_json::from_str::<serde_json::Value>(&request().to_json()).unwrap();
        type Change = fn(&mut serde_json::Value);
        let cases: [(&str, Change); 8] = [
            ("no schema", |v| {
                v.as_object_mut().unwrap().remove("schema");
            }),
            ("other schema", |v| {
                v["schema"] = "govsync.decommission-request/v2".into()
            }),
            ("unknown kind", |v| v["kind"] = "group".into()),
            ("empty id", |v| v["governance_id"] = "".into()),
            ("bad time", |v| v["requested_at"] = "yesterday".into()),
            ("bad source", |v| v["source"] = "has space".into()),
            ("long reason", |v| v["reason"] = "r".repeat(1001).into()),
            ("missing reason", |v| {
                v.as_object_mut().unwrap().remove("reason");
            }),
        ];
        for (what, change) in cases {
            let mut value = base.clone();
            change(&mut value);
            assert!(
                DecommissionRequest::from_json(&value.to_string()).is_err(),
                "{what}"
            );
        }
        assert!(DecommissionRequest::from_json("not json").is_err());
        assert!(DecommissionRequest::from_json(r#"{"detail-type":"x"}"#).is_err());
    }

    #[test]
    fn the_same_change_gets_the_same_dedup_id_and_another_change_a_new_one() {
        let a = request();
        let mut later = a.clone();
        later.requested_at += chrono::Duration::milliseconds(1);
        let mut reworded = a.clone();
        reworded.reason = "another reason".into();
        let mut use_case = a.clone();
        use_case.kind = DecommissionKind::UseCase;
        assert_eq!(a.deduplication_id(), reworded.deduplication_id());
        assert_eq!(a.idempotency_key(), reworded.idempotency_key());
        assert_ne!(a.deduplication_id(), later.deduplication_id());
        assert_ne!(a.deduplication_id(), use_case.deduplication_id());
        assert!(a.deduplication_id().len() <= 128);
        assert_eq!(a.message_group_id(), "decommission-model-4711");
        let spaced = DecommissionRequest::new(
            DecommissionKind::UseCase,
            GovernanceId::parse("id with spaces").unwrap(),
            "",
            a.requested_at,
            "reconciler",
        )
        .unwrap();
        assert!(
            spaced
                .message_group_id()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
        );
    }

    #[test]
    fn long_reasons_are_cut_when_built() {
        let long = "é".repeat(2000);
        let built = DecommissionRequest::new(
            DecommissionKind::Model,
            GovernanceId::parse("1").unwrap(),
            &long,
            Utc::now(),
            "approval-propagation",
        )
        .unwrap();
        assert_eq!(
            built.reason.chars().count(),
            DecommissionRequest::MAX_REASON_CHARS
        );
        assert!(DecommissionRequest::from_json(&built.to_json()).is_ok());
    }
}
