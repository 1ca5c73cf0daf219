//! Secrets from Secrets Manager, read at cold start (and the governance API key again when governance
//! refuses it: [`SecretsManagerKey`]). Values are wrapped in [`Secret`] at once, so they never reach a
//! log line.

use aws_sdk_secretsmanager::Client;
use futures::future::BoxFuture;
use govsync_core::secret::Secret;

use crate::governance::{ApiKeySource, KeySourceError};
use crate::sdk_error::{FailureClass, classify};

/// The governance API key's secret, read again by the governance client when the key in use is refused
/// (a rotation), so a warm instance follows the rotation.
#[derive(Debug, Clone)]
pub struct SecretsManagerKey {
    client: Client,
    secret_id: String,
}

impl SecretsManagerKey {
    pub fn new(client: Client, secret_id: impl Into<String>) -> Self {
        Self {
            client,
            secret_id: secret_id.into(),
        }
    }
}

impl ApiKeySource for SecretsManagerKey {
    fn current_key(&self) -> BoxFuture<'_, Result<Secret, KeySourceError>> {
        Box::pin(async move {
            read_secret(&self.client, &self.secret_id)
                .await
                .map_err(|error| KeySourceError(error.to_string()))
        })
    }
}

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
