//! Errors of each layer: the SageMaker API errors the emulator answers with, configuration errors at
//! start-up, and EventBridge publishing errors (logged, never returned to the API caller).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub const AMZ_JSON_1_1: &str = "application/x-amz-json-1.1";

/// An error the SageMaker API answers with (awsJson1.1: HTTP 400, `__type` + `message`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    UnknownOperation(String),
    #[error("{0}")]
    Serialization(String),
    /// IAM refused the call (a cross-account call the group's resource policy does not allow).
    #[error("{0}")]
    AccessDenied(String),
    /// An AWS RAM error (restJson1: the code travels in `x-amzn-ErrorType`).
    #[error("{message}")]
    Ram { code: &'static str, message: String },
}

impl ApiError {
    /// The `__type` code, as SageMaker spells it.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Validation(_) => "ValidationException",
            ApiError::Conflict(_) => "ConflictException",
            ApiError::ResourceNotFound(_) => "ResourceNotFound",
            ApiError::UnknownOperation(_) => "UnknownOperationException",
            ApiError::Serialization(_) => "SerializationException",
            ApiError::AccessDenied(_) => "AccessDeniedException",
            ApiError::Ram { code, .. } => code,
        }
    }

    /// Conflicts are the only errors a client may retry unchanged (after a pause).
    pub fn is_retryable(&self) -> bool {
        matches!(self, ApiError::Conflict(_))
    }

    pub fn body(&self) -> serde_json::Value {
        json!({ "__type": self.code(), "message": self.to_string() })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (StatusCode::BAD_REQUEST, self.body().to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(AMZ_JSON_1_1));
        headers.insert("x-amzn-errortype", HeaderValue::from_static(self.code()));
        response
    }
}

/// A configuration problem found at start-up; the process exits with the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("unknown flag {0} (see --help)")]
    UnknownFlag(String),
    #[error("flag {0} needs a value")]
    MissingValue(String),
    #[error("{name}: invalid value {value:?}: {reason}")]
    InvalidValue {
        name: String,
        value: String,
        reason: &'static str,
    },
}

/// Publishing to EventBridge failed; the API call that caused the events still succeeds.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("events endpoint unreachable: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("events endpoint answered HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("PutEvents rejected {failed} of the entries: {body}")]
    FailedEntries { failed: u64, body: String },
    #[error("events endpoint URL is invalid: {0}")]
    Endpoint(String),
}

impl PublishError {
    pub fn is_retryable(&self) -> bool {
        match self {
            PublishError::Transport(_) => true,
            PublishError::Status { status, .. } => *status >= 500 || *status == 429,
            PublishError::FailedEntries { .. } | PublishError::Endpoint(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_carries_aws_type_and_message() {
        let error = ApiError::Conflict("group not empty".into());
        assert_eq!(
            error.body(),
            json!({"__type": "ConflictException", "message": "group not empty"})
        );
        assert!(error.is_retryable());
        assert!(!ApiError::Validation("x".into()).is_retryable());
    }
}
