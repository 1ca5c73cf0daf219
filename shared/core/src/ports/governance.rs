//! Data the governance port passes: objects, fields, queries, type metadata, and its error.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

pub use crate::governance::GovernanceId;

/// The kinds of governance object govsync touches. Each maps to a tenant-configurable type id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GovernanceKind {
    BusinessEntity,
    UseCase,
    ModelGroup,
    Model,
    Metric,
    MetricValue,
}

/// A field value as the OpenPages v2 API encodes it.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// A plain string (also how dates come back: the API does not tag them).
    Text(String),
    /// A single-choice enumeration, sent as `{"name": v}`.
    Enum(String),
    /// A multi-choice enumeration, sent as `"values": [{"name": v}, …]`.
    MultiEnum(Vec<String>),
    /// A date, sent as ISO-8601.
    Date(DateTime<Utc>),
    Number(f64),
    Boolean(bool),
    /// An empty field (clears the value when sent).
    Null,
}

impl FieldValue {
    /// The value as text when it is a string, an enum choice, or a date; `None` otherwise.
    pub fn as_text(&self) -> Option<String> {
        match self {
            FieldValue::Text(text) | FieldValue::Enum(text) => Some(text.clone()),
            FieldValue::Date(date) => Some(date.to_rfc3339_opts(SecondsFormat::Millis, true)),
            FieldValue::MultiEnum(_)
            | FieldValue::Number(_)
            | FieldValue::Boolean(_)
            | FieldValue::Null => None,
        }
    }
}

/// One named field, e.g. `MRG-Model:Status`.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub value: FieldValue,
}

impl Field {
    pub fn new(name: impl Into<String>, value: FieldValue) -> Self {
        Self {
            name: name.into(),
            value,
        }
    }

    pub fn text(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self::new(name, FieldValue::Text(value.into()))
    }

    pub fn choice(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self::new(name, FieldValue::Enum(value.into()))
    }

    pub fn date(name: impl Into<String>, value: DateTime<Utc>) -> Self {
        Self::new(name, FieldValue::Date(value))
    }
}

/// Finds a field by name in a list of fields.
pub fn find_field<'a>(fields: &'a [Field], name: &str) -> Option<&'a FieldValue> {
    fields
        .iter()
        .find(|field| field.name == name)
        .map(|field| &field.value)
}

/// A governance object as read back from the API.
#[derive(Debug, Clone, PartialEq)]
pub struct GovernanceObject {
    pub id: GovernanceId,
    pub name: String,
    pub type_definition_id: String,
    pub primary_parent_id: Option<GovernanceId>,
    pub description: Option<String>,
    pub fields: Vec<Field>,
}

impl GovernanceObject {
    pub fn field(&self, name: &str) -> Option<&FieldValue> {
        find_field(&self.fields, name)
    }
}

/// An object to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewGovernanceObject {
    pub kind: GovernanceKind,
    pub name: String,
    pub description: Option<String>,
    pub parent_id: Option<GovernanceId>,
    pub fields: Vec<Field>,
}

/// The result of looking an object up by `Integration:External ID`: creation is not idempotent,
/// so callers look up first and create only on `Absent`.
#[derive(Debug, Clone, PartialEq)]
pub enum ExternalIdLookup {
    Absent,
    Found(GovernanceObject),
    /// More than one object carries the id: a data problem for a human, never guessed.
    Ambiguous(Vec<GovernanceId>),
}

/// A query over one kind: `SELECT [columns] FROM [type] WHERE condition`.
/// `[Resource ID]` is always selected so every row can be re-read.
#[derive(Debug, Clone, PartialEq)]
pub struct GovernanceQuery {
    pub kind: GovernanceKind,
    pub columns: Vec<String>,
    pub condition: Option<QueryCondition>,
}

/// A WHERE clause; values are quoted and escaped by the adapter.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryCondition {
    Equals {
        field: String,
        value: String,
    },
    GreaterThan {
        field: String,
        value: String,
    },
    /// Objects of the query's kind directly under `parent_id`, an object of `parent_kind`
    /// (OpenPages has no parent column: the adapter joins on the parent).
    ChildOf {
        parent_kind: GovernanceKind,
        parent_id: GovernanceId,
    },
    /// Objects modified on or after `day` (UTC), oldest change first. OpenPages documents day
    /// literals only, so callers filter finer themselves.
    ModifiedSince {
        day: NaiveDate,
    },
}

/// One row of a query result.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryRow {
    pub id: Option<GovernanceId>,
    pub fields: Vec<Field>,
}

impl QueryRow {
    pub fn field(&self, name: &str) -> Option<&FieldValue> {
        find_field(&self.fields, name)
    }
}

/// Field definitions of a type, read at runtime because tenants customise enums.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TypeDefinition {
    pub type_id: String,
    pub fields: Vec<FieldDefinition>,
}

impl TypeDefinition {
    pub fn field(&self, name: &str) -> Option<&FieldDefinition> {
        self.fields.iter().find(|field| field.name == name)
    }

    /// The allowed values of an enum field; `None` when the field is unknown.
    pub fn enum_values(&self, field: &str) -> Option<&[String]> {
        self.field(field)
            .map(|definition| definition.enum_values.as_slice())
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct FieldDefinition {
    pub name: String,
    pub data_type: Option<String>,
    pub enum_values: Vec<String>,
}

/// The error code of refused governance credentials; metric lines count it so an alarm can fire.
pub const GOVERNANCE_UNAUTHORIZED: &str = "governance_unauthorized";

/// Errors of the governance port. Response bodies are truncated and never contain credentials.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GovernanceError {
    #[error("governance {operation}: HTTP {status}: {body}")]
    Status {
        operation: &'static str,
        status: u16,
        body: String,
    },
    #[error("governance {operation}: object {id} not found")]
    NotFound { operation: &'static str, id: String },
    #[error("governance authentication ({mode}) failed: HTTP {status}: {body}")]
    Auth {
        mode: &'static str,
        status: u16,
        body: String,
    },
    #[error("governance {operation}: transport error: {message}")]
    Transport {
        operation: &'static str,
        message: String,
    },
    #[error("governance {operation}: undecodable response: {message}")]
    Decode {
        operation: &'static str,
        message: String,
    },
    #[error("governance configuration: {0}")]
    Config(String),
    /// The credentials are still refused after a token refresh and a re-read of the API key: rotated
    /// or revoked. Retryable, so messages wait for an operator instead of being dead-lettered.
    #[error(
        "governance {operation}: HTTP {status} after refreshing the token and re-reading the API \
         key (expired, rotated or revoked credentials): {body}"
    )]
    Unauthorized {
        operation: &'static str,
        status: u16,
        body: String,
    },
}

impl GovernanceError {
    /// Throttling, server errors, timeouts, connection failures and refused credentials are worth
    /// retrying later; other 4xx, decoding and configuration problems are not.
    pub fn is_retryable(&self) -> bool {
        match self {
            GovernanceError::Status { status, .. } | GovernanceError::Auth { status, .. } => {
                matches!(status, 401 | 403 | 429) || *status >= 500
            }
            GovernanceError::Transport { .. } | GovernanceError::Unauthorized { .. } => true,
            GovernanceError::NotFound { .. }
            | GovernanceError::Decode { .. }
            | GovernanceError::Config(_) => false,
        }
    }

    /// Governance refused govsync's credentials (401/403). The HTTP adapter returns this only after
    /// refreshing its token and re-reading the key, so it needs an operator: it raises the alarm.
    pub fn is_unauthorized(&self) -> bool {
        match self {
            GovernanceError::Unauthorized { .. } => true,
            GovernanceError::Status { status, .. } | GovernanceError::Auth { status, .. } => {
                matches!(status, 401 | 403)
            }
            GovernanceError::NotFound { .. }
            | GovernanceError::Transport { .. }
            | GovernanceError::Decode { .. }
            | GovernanceError::Config(_) => false,
        }
    }

    /// A short stable code for logs, metrics and the DLQ's `govsync-error-code` attribute.
    pub fn code(&self) -> &'static str {
        if self.is_unauthorized() {
            GOVERNANCE_UNAUTHORIZED
        } else {
            "governance"
        }
    }

    /// The HTTP status, when the error came from a response.
    pub fn status(&self) -> Option<u16> {
        match self {
            GovernanceError::Status { status, .. }
            | GovernanceError::Auth { status, .. }
            | GovernanceError::Unauthorized { status, .. } => Some(*status),
            GovernanceError::NotFound { .. } => Some(404),
            GovernanceError::Transport { .. }
            | GovernanceError::Decode { .. }
            | GovernanceError::Config(_) => None,
        }
    }
}

/// Tenant-configurable type ids of the objects govsync touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeIds {
    pub business_entity: String,
    pub use_case: String,
    pub model_group: String,
    pub model: String,
    pub metric: String,
    pub metric_value: String,
}

impl Default for TypeIds {
    fn default() -> Self {
        Self {
            business_entity: "SOXBusEntity".to_owned(),
            use_case: "ModelUseCase".to_owned(),
            model_group: "ModelGroup".to_owned(),
            model: "Model".to_owned(),
            metric: "Metric".to_owned(),
            metric_value: "MetricValue".to_owned(),
        }
    }
}

impl TypeIds {
    pub fn of(&self, kind: GovernanceKind) -> &str {
        match kind {
            GovernanceKind::BusinessEntity => &self.business_entity,
            GovernanceKind::UseCase => &self.use_case,
            GovernanceKind::ModelGroup => &self.model_group,
            GovernanceKind::Model => &self.model,
            GovernanceKind::Metric => &self.metric,
            GovernanceKind::MetricValue => &self.metric_value,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_and_server_errors_are_retryable_but_client_errors_are_not() {
        let status = |status| GovernanceError::Status {
            operation: "get object",
            status,
            body: String::new(),
        };
        assert!(status(429).is_retryable());
        assert!(status(503).is_retryable());
        assert!(status(500).is_retryable());
        assert!(!status(400).is_retryable());
        assert!(!status(404).is_retryable());
        assert!(
            !GovernanceError::NotFound {
                operation: "get object",
                id: "1".into()
            }
            .is_retryable()
        );
        assert_eq!(status(503).code(), "governance");
    }

    #[test]
    fn refused_credentials_are_retryable_with_their_own_code() {
        let refused = [
            GovernanceError::Status {
                operation: "get object",
                status: 401,
                body: String::new(),
            },
            GovernanceError::Status {
                operation: "get object",
                status: 403,
                body: String::new(),
            },
            GovernanceError::Auth {
                mode: "mcsp",
                status: 401,
                body: String::new(),
            },
            GovernanceError::Unauthorized {
                operation: "query",
                status: 401,
                body: String::new(),
            },
        ];
        for error in refused {
            assert!(error.is_retryable(), "{error}");
            assert!(error.is_unauthorized(), "{error}");
            assert_eq!(error.code(), GOVERNANCE_UNAUTHORIZED);
        }
        let bad_request = GovernanceError::Auth {
            mode: "iam",
            status: 404,
            body: String::new(),
        };
        assert!(!bad_request.is_unauthorized());
        assert!(!bad_request.is_retryable());
        assert_eq!(bad_request.code(), "governance");
    }

    #[test]
    fn enum_values_of_a_type_are_found_by_field_name() {
        let definition = TypeDefinition {
            type_id: "Model".into(),
            fields: vec![FieldDefinition {
                name: "MRG-Model:Status".into(),
                data_type: Some("ENUM_TYPE".into()),
                enum_values: vec!["Proposed".into(), "In Production".into()],
            }],
        };
        assert_eq!(
            definition.enum_values("MRG-Model:Status"),
            Some(&["Proposed".to_owned(), "In Production".to_owned()][..])
        );
        assert_eq!(definition.enum_values("MRG-Model:Owner"), None);
    }
}
