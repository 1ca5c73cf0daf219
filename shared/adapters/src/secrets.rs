//! Secrets from Secrets Manager, read once at cold start. Values are wrapped in [`Secret`] at once,
//! so they never reach a log line.

use aws_sdk_secretsmanager::Client;
use govsync_core::secret::Secret;

use crate::sdk_error::{FailureClass, classify};

/// Why a secret could not be read.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SecretError {
    #[error("secret {secret_id}: {code}: {message}")]
    Service {
        secret_id: String,
        code: String,
        message: String,
        retryable: bool,
    },
    #[error("secret {secret_id} has no string value (binary secrets are not supported)")]
    NotAString { secret_id: String },
    #[error("secret {secret_id} is empty")]
    Empty { secret_id: String },
}

impl SecretError {
    pub fn is_retryable(&self) -> bool {
        match self {
            SecretError::Service { retryable, .. } => *retryable,
            SecretError::NotAString { .. } | SecretError::Empty { .. } => false,
        }
    }
}

/// `GetSecretValue` of `secret_id` (a name or an ARN): the current version's string.
pub async fn read_secret(client: &Client, secret_id: &str) -> Result<Secret, SecretError> {
    let output = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|error| {
            let failure = classify("GetSecretValue", &error);
            SecretError::Service {
                secret_id: secret_id.to_owned(),
                code: failure.code,
                message: failure.message,
                retryable: !matches!(failure.class, FailureClass::Permanent),
            }
        })?;
    let value = output
        .secret_string()
        .ok_or_else(|| SecretError::NotAString {
            secret_id: secret_id.to_owned(),
        })?;
    if value.is_empty() {
        return Err(SecretError::Empty {
            secret_id: secret_id.to_owned(),
        });
    }
    Ok(Secret::new(value))
}
