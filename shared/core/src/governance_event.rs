//! The message on `governance-events.fifo`: "this governance object changed, go and look".
//!
//! Producers: the `governance-webhook` function (a verified webhook delivery) and the governance poller
//! (a change found by last-modification watermark). Consumer: the `approval-propagation` function, which
//! re-reads the object from the governance API before acting, so nothing in this message is trusted for
//! state — it only says *which* object to look at, and carries what the notification said for logs and
//! triage.
//!
//! Body (JSON, UTF-8), stable once written:
//!
//! ```json
//! {
//!   "schema": "govsync.governance-event/v1",
//!   "source": "webhook",
//!   "delivery_id": "msg_2b7c0d0f4a1e4c3b9a8f6e5d4c3b2a19",
//!   "event_type": "object.updated",
//!   "object_id": "1042",
//!   "object_type": "Model",
//!   "occurred_at": "2024-05-01T12:00:00.000Z",
//!   "changed_fields": ["MRG-Model:Status"]
//! }
//! ```
//!
//! - `schema`: always `govsync.governance-event/v1`; a consumer refuses any other value (and a body
//!   without it).
//! - `source`: `webhook` (a verified webhook delivery) or `poller` (found by the watermark poll).
//! - `delivery_id`: the webhook's `webhook-id` (the same on the sender's retries); for the poller, an id
//!   it derives from the change (e.g. object id + last modification). 1–128 printable ASCII characters
//!   without spaces, so it is usable as the SQS `MessageDeduplicationId` as is.
//! - `event_type`: `object.created`, `object.updated` or `object.deleted`. Other notification types are
//!   never enqueued (the webhook answers them 202 and counts a skip), so a consumer sees only these.
//! - `object_id`: the governance object's `Resource ID` (a [`GovernanceId`]).
//! - `object_type`: the object's `type_definition_id` when the notification said (e.g. `Model`,
//!   `ModelUseCase`), else `null`. A hint only: the consumer learns the type from the re-read.
//! - `occurred_at`: when the change happened, RFC 3339 UTC with milliseconds: the notification body's
//!   `timestamp` when it has a valid one, else the signed `webhook-timestamp`; for the poller, the
//!   object's `Last Modification Date`.
//! - `changed_fields`: the field names the notification said changed (`[]` when it did not say, on
//!   delete, or from the poller). A hint only.
//!
//! Unknown fields are ignored when decoding. SQS `MessageGroupId` = [`GovernanceEvent::message_group_id`]
//! (the object id, so one object's changes stay in order); `MessageDeduplicationId` =
//! [`GovernanceEvent::deduplication_id`] (the delivery id).
//!
//! [`GovernanceEvent::from_webhook`] turns a verified webhook body into an event (or says it is a type
//! govsync does not handle, or why the body is unusable); it is pure, so the webhook function only
//! verifies, decides with it and sends.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::governance::GovernanceId;

/// Which govsync component put the event on the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GovernanceEventSource {
    /// A verified governance webhook delivery (`governance-webhook`).
    Webhook,
    /// The governance poller (watermark query), for tenants without webhooks.
    Poller,
}

impl GovernanceEventSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Poller => "poller",
        }
    }
}

impl fmt::Display for GovernanceEventSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened to the object. Only these are enqueued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GovernanceEventType {
    #[serde(rename = "object.created")]
    Created,
    #[serde(rename = "object.updated")]
    Updated,
    #[serde(rename = "object.deleted")]
    Deleted,
}

impl GovernanceEventType {
    pub const ALL: [Self; 3] = [Self::Created, Self::Updated, Self::Deleted];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "object.created",
            Self::Updated => "object.updated",
            Self::Deleted => "object.deleted",
        }
    }

    /// The type named by a notification's `type`, if govsync handles it (exact match).
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == value)
    }
}

impl fmt::Display for GovernanceEventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A change of one governance object, as carried on `governance-events.fifo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GovernanceEvent {
    pub source: GovernanceEventSource,
    pub delivery_id: DeliveryId,
    pub event_type: GovernanceEventType,
    pub object_id: GovernanceId,
    pub object_type: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub changed_fields: Vec<String>,
}

/// A delivery id: 1–128 printable ASCII characters, no spaces (SQS `MessageDeduplicationId` rules).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeliveryId(String);

impl DeliveryId {
    pub const MAX_LEN: usize = 128;

    pub fn parse(value: &str) -> Result<Self, GovernanceEventError> {
        let ok = !value.is_empty()
            && value.len() <= Self::MAX_LEN
            && value.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err(GovernanceEventError::Field {
                field: "delivery_id",
                reason: format!(
                    "must be 1-{} printable ASCII characters without spaces",
                    Self::MAX_LEN
                ),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a queue body is not a governance event.
#[derive(Debug, thiserror::Error)]
pub enum GovernanceEventError {
    #[error("governance event is not valid JSON of the expected shape: {0}")]
    Json(#[from] serde_json::Error),
    #[error("governance event has schema {found:?}; expected {expected:?}")]
    Schema {
        found: String,
        expected: &'static str,
    },
    #[error("governance event field `{field}` is invalid: {reason}")]
    Field { field: &'static str, reason: String },
}

impl GovernanceEventError {
    /// A body that does not decode never will: quarantine it.
    pub fn is_retryable(&self) -> bool {
        false
    }
}

#[derive(Serialize, Deserialize)]
struct Wire {
    schema: String,
    source: GovernanceEventSource,
    delivery_id: String,
    event_type: GovernanceEventType,
    object_id: String,
    #[serde(default)]
    object_type: Option<String>,
    occurred_at: String,
    #[serde(default)]
    changed_fields: Vec<String>,
}

impl GovernanceEvent {
    /// The value of the body's `schema` field.
    pub const SCHEMA: &'static str = "govsync.governance-event/v1";
    /// Longest `object_type` kept (longer ones are refused when decoding, cut when built from a webhook).
    pub const MAX_OBJECT_TYPE_CHARS: usize = 128;
    /// At most this many `changed_fields` are kept, each at most [`Self::MAX_FIELD_NAME_CHARS`].
    pub const MAX_CHANGED_FIELDS: usize = 100;
    pub const MAX_FIELD_NAME_CHARS: usize = 256;

    /// The JSON body for SQS.
    pub fn to_json(&self) -> String {
        let wire = Wire {
            schema: Self::SCHEMA.to_owned(),
            source: self.source,
            delivery_id: self.delivery_id.as_str().to_owned(),
            event_type: self.event_type,
            object_id: self.object_id.as_str().to_owned(),
            object_type: self.object_type.clone(),
            occurred_at: self
                .occurred_at
                .to_rfc3339_opts(SecondsFormat::Millis, true),
            changed_fields: self.changed_fields.clone(),
        };
        // A struct of strings and unit enums always serialises.
        serde_json::to_string(&wire).unwrap_or_default()
    }

    /// Decodes a queue body; refuses other schemas, unknown sources or event types, bad ids and times.
    pub fn from_json(body: &str) -> Result<Self, GovernanceEventError> {
        let value: serde_json::Value = serde_json::from_str(body)?;
        match value.get("schema").and_then(|s| s.as_str()) {
            Some(Self::SCHEMA) => {}
            other => {
                return Err(GovernanceEventError::Schema {
                    found: other.unwrap_or("<absent>").to_owned(),
                    expected: Self::SCHEMA,
                });
            }
        }
        let wire: Wire = serde_json::from_value(value)?;
        let delivery_id = DeliveryId::parse(&wire.delivery_id)?;
        let object_id =
            GovernanceId::parse(&wire.object_id).map_err(|e| GovernanceEventError::Field {
                field: "object_id",
                reason: e.to_string(),
            })?;
        let occurred_at = DateTime::parse_from_rfc3339(&wire.occurred_at)
            .map_err(|e| GovernanceEventError::Field {
                field: "occurred_at",
                reason: e.to_string(),
            })?
            .to_utc();
        if let Some(object_type) = &wire.object_type
            && (object_type.is_empty() || object_type.chars().count() > Self::MAX_OBJECT_TYPE_CHARS)
        {
            return Err(GovernanceEventError::Field {
                field: "object_type",
                reason: format!(
                    "must be 1-{} characters or null",
                    Self::MAX_OBJECT_TYPE_CHARS
                ),
            });
        }
        if wire.changed_fields.len() > Self::MAX_CHANGED_FIELDS
            || wire
                .changed_fields
                .iter()
                .any(|f| f.chars().count() > Self::MAX_FIELD_NAME_CHARS)
        {
            return Err(GovernanceEventError::Field {
                field: "changed_fields",
                reason: format!(
                    "at most {} names of at most {} characters",
                    Self::MAX_CHANGED_FIELDS,
                    Self::MAX_FIELD_NAME_CHARS
                ),
            });
        }
        Ok(Self {
            source: wire.source,
            delivery_id,
            event_type: wire.event_type,
            object_id,
            object_type: wire.object_type,
            occurred_at,
            changed_fields: wire.changed_fields,
        })
    }

    /// SQS `MessageGroupId`: the object id (one group per object keeps its changes in order); an id SQS
    /// would refuse (over 128 characters, or with spaces or non-ASCII) is replaced by its SHA-256 hex.
    pub fn message_group_id(&self) -> String {
        sqs_safe(self.object_id.as_str())
    }

    /// SQS `MessageDeduplicationId`: the delivery id (already SQS-safe by construction).
    pub fn deduplication_id(&self) -> &str {
        self.delivery_id.as_str()
    }

    /// The message for the queue port: this body, group and deduplication id.
    pub fn to_outgoing_message(&self) -> crate::ports::OutgoingMessage {
        crate::ports::OutgoingMessage {
            body: self.to_json(),
            message_group_id: self.message_group_id(),
            deduplication_id: self.deduplication_id().to_owned(),
        }
    }
}

fn sqs_safe(id: &str) -> String {
    let plain = !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic());
    if plain {
        id.to_owned()
    } else {
        crate::hex::encode(&Sha256::digest(id.as_bytes()))
    }
}

// -------------------------------------------------------------------------------------------------
// From a webhook body

/// The notification body fields govsync reads (the governance emulator's and the documented default):
/// `{"type","timestamp","object":{"id","type_definition_id"},"changed_fields"}`. The object id's JSON
/// pointer is configurable (contracts/openpages-v2.md); the rest are hints and optional.
pub const DEFAULT_OBJECT_ID_POINTER: &str = "/object/id";
const EVENT_TYPE_POINTER: &str = "/type";
const OBJECT_TYPE_POINTER: &str = "/object/type_definition_id";
const OCCURRED_AT_POINTER: &str = "/timestamp";
const CHANGED_FIELDS_POINTER: &str = "/changed_fields";
/// Longest unhandled event type echoed back in logs; longer ones are cut.
const MAX_REPORTED_TYPE_CHARS: usize = 64;

/// What a verified webhook body asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookNotification {
    /// A change to enqueue.
    Change(GovernanceEvent),
    /// A notification type govsync does not handle (answered 202 and counted, never enqueued). The type is
    /// cut to 64 characters and stripped of control characters so it is safe to log.
    Unhandled { event_type: String },
}

/// Why a verified webhook body cannot be used (the webhook answers 400 and names it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookBodyError {
    #[error("the body is not a JSON object")]
    NotJsonObject,
    #[error("the body has no event type (a string at `/type`)")]
    MissingEventType,
    #[error("the body has no object id (a string or integer at `{pointer}`)")]
    MissingObjectId { pointer: String },
    #[error("the object id at `{pointer}` is not a valid governance id")]
    InvalidObjectId { pointer: String },
    #[error("the `webhook-id` is not usable as a delivery id (1-128 printable ASCII, no spaces)")]
    InvalidDeliveryId,
}

impl WebhookBodyError {
    /// The same body never becomes valid.
    pub fn is_retryable(&self) -> bool {
        false
    }
}

impl GovernanceEvent {
    /// Reads a *verified* webhook body. `delivery_id` and `signed_at_unix` come from the verified headers;
    /// `occurred_at` falls back to `signed_at_unix` when the body has no valid `timestamp`.
    pub fn from_webhook(
        delivery_id: &str,
        signed_at_unix: i64,
        body: &[u8],
        object_id_pointer: &str,
    ) -> Result<WebhookNotification, WebhookBodyError> {
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|_| WebhookBodyError::NotJsonObject)?;
        if !value.is_object() {
            return Err(WebhookBodyError::NotJsonObject);
        }
        let event_type_text = value
            .pointer(EVENT_TYPE_POINTER)
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(WebhookBodyError::MissingEventType)?;
        let Some(event_type) = GovernanceEventType::parse(event_type_text) else {
            return Ok(WebhookNotification::Unhandled {
                event_type: loggable(event_type_text, MAX_REPORTED_TYPE_CHARS),
            });
        };
        let object_id_text = match value.pointer(object_id_pointer) {
            Some(serde_json::Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
            Some(serde_json::Value::Number(n)) if n.is_u64() || n.is_i64() => n.to_string(),
            _ => {
                return Err(WebhookBodyError::MissingObjectId {
                    pointer: object_id_pointer.to_owned(),
                });
            }
        };
        let object_id = GovernanceId::parse(&object_id_text).map_err(|_| {
            WebhookBodyError::InvalidObjectId {
                pointer: object_id_pointer.to_owned(),
            }
        })?;
        let delivery_id =
            DeliveryId::parse(delivery_id).map_err(|_| WebhookBodyError::InvalidDeliveryId)?;
        let object_type = value
            .pointer(OBJECT_TYPE_POINTER)
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| t.chars().take(Self::MAX_OBJECT_TYPE_CHARS).collect());
        let occurred_at = value
            .pointer(OCCURRED_AT_POINTER)
            .and_then(|v| v.as_str())
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.to_utc())
            .or_else(|| DateTime::from_timestamp(signed_at_unix, 0))
            .unwrap_or_default();
        let changed_fields = value
            .pointer(CHANGED_FIELDS_POINTER)
            .and_then(|v| v.as_array())
            .map(|fields| {
                fields
                    .iter()
                    .filter_map(|f| f.as_str())
                    .filter(|f| f.chars().count() <= Self::MAX_FIELD_NAME_CHARS)
                    .take(Self::MAX_CHANGED_FIELDS)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Ok(WebhookNotification::Change(GovernanceEvent {
            source: GovernanceEventSource::Webhook,
            delivery_id,
            event_type,
            object_id,
            object_type,
            occurred_at,
            changed_fields,
        }))
    }
}

fn loggable(text: &str, max_chars: usize) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(max_chars)
        .collect()
}

#[cfg(test)]
mod tests;
