//! The webhook signing secrets as stored in Secrets Manager: JSON `{"current": "…", "previous": "…"}`
//! (`infra/template.yaml` `WebhookSigningSecrets`, `local/wiring.json`). During a rotation the
//! platform may sign with either, so both verify; `previous` may be empty or absent outside a rotation.
//! Each value is `whsec_<base64>` or plain text ([`govsync_core::webhook::WebhookSecret::parse`]).
//!
//! Errors name the field and the problem, never a value.
//!
//! Where the secrets come from is a [`SigningSecretSource`]: Secrets Manager in Lambda
//! ([`SecretsManagerSigningSecrets`]), a fixed list in tests and tools ([`StaticSigningSecrets`]).

use std::future::Future;

use govsync_adapters::secrets::{SecretError, read_secret};
use govsync_core::secret::Secret;
use govsync_core::webhook::{WebhookSecret, WebhookSecretError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningSecretsError {
    #[error("the secret is not a JSON object {{\"current\", \"previous\"}}")]
    NotJson,
    #[error("the secret has no non-empty `current` string")]
    MissingCurrent,
    #[error("`{field}` is not a string")]
    NotAString { field: &'static str },
    #[error("`{field}` is not a usable signing secret: {error}")]
    Unusable {
        field: &'static str,
        error: WebhookSecretError,
    },
}

/// Parses the secret's JSON into the keys to verify with: `current` first, then `previous` if set.
pub fn parse(secret: &Secret) -> Result<Vec<WebhookSecret>, SigningSecretsError> {
    let value: serde_json::Value =
        serde_json::from_str(secret.expose()).map_err(|_| SigningSecretsError::NotJson)?;
    let object = value.as_object().ok_or(SigningSecretsError::NotJson)?;
    let text = |field: &'static str| -> Result<Option<&str>, SigningSecretsError> {
        match object.get(field) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(SigningSecretsError::NotAString { field }),
        }
    };
    let parse_field = |field: &'static str, value: &str| {
        WebhookSecret::parse(value).map_err(|error| SigningSecretsError::Unusable { field, error })
    };
    let current = text("current")?.ok_or(SigningSecretsError::MissingCurrent)?;
    let mut secrets = vec![parse_field("current", current)?];
    if let Some(previous) = text("previous")? {
        secrets.push(parse_field("previous", previous)?);
    }
    Ok(secrets)
}

/// Why the signing secrets could not be (re-)read.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SecretSourceError {
    #[error("reading the webhook signing secrets: {0}")]
    Read(#[from] SecretError),
    #[error("the webhook signing secrets: {0}")]
    Unusable(#[from] SigningSecretsError),
}

/// Reads the signing secrets, `current` first. Called at cold start and again whenever the handler
/// decides they may have rotated ([`crate::secret_cache`]).
pub trait SigningSecretSource: Send + Sync {
    fn read(&self) -> impl Future<Output = Result<Vec<WebhookSecret>, SecretSourceError>> + Send;
}

/// A fixed list: the secrets never change (tests, the CLI's checks).
#[derive(Debug, Clone)]
pub struct StaticSigningSecrets(pub Vec<WebhookSecret>);

impl SigningSecretSource for StaticSigningSecrets {
    async fn read(&self) -> Result<Vec<WebhookSecret>, SecretSourceError> {
        Ok(self.0.clone())
    }
}

/// The deployed source: `GetSecretValue` of the secret's current version, JSON `{"current","previous"}`.
pub struct SecretsManagerSigningSecrets {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
}

impl SecretsManagerSigningSecrets {
    pub fn new(client: aws_sdk_secretsmanager::Client, secret_id: impl Into<String>) -> Self {
        Self {
            client,
            secret_id: secret_id.into(),
        }
    }
}

impl SigningSecretSource for SecretsManagerSigningSecrets {
    async fn read(&self) -> Result<Vec<WebhookSecret>, SecretSourceError> {
        let secret = read_secret(&self.client, &self.secret_id).await?;
        Ok(parse(&secret)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(json: &str) -> Result<Vec<WebhookSecret>, SigningSecretsError> {
        parse(&Secret::new(json))
    }

    #[test]
    fn secret_json_table() {
        let cases: &[(&str, Result<usize, SigningSecretsError>)] = &[
            (r#"{"current":"whsec_aGVsbG8=","previous":"old"}"#, Ok(2)),
            (r#"{"current":"whsec_aGVsbG8=","previous":""}"#, Ok(1)),
            (r#"{"current":"whsec_aGVsbG8="}"#, Ok(1)),
            (r#"{"current":"plain","previous":null}"#, Ok(1)),
            (
                r#"{"previous":"old"}"#,
                Err(SigningSecretsError::MissingCurrent),
            ),
            (
                r#"{"current":"  "}"#,
                Err(SigningSecretsError::MissingCurrent),
            ),
            ("whsec_aGVsbG8=", Err(SigningSecretsError::NotJson)),
            (r#"["a","b"]"#, Err(SigningSecretsError::NotJson)),
            (
                r#"{"current":5}"#,
                Err(SigningSecretsError::NotAString { field: "current" }),
            ),
            (
                r#"{"current":"ok","previous":"whsec_!!"}"#,
                Err(SigningSecretsError::Unusable {
                    field: "previous",
                    error: WebhookSecretError::InvalidBase64,
                }),
            ),
        ];
        for (json, expected) in cases {
            assert_eq!(&secrets(json).map(|s| s.len()), expected, "{json}");
        }
    }

    #[test]
    fn the_current_secret_comes_first() {
        let parsed = secrets(r#"{"current":"new","previous":"old"}"#).unwrap();
        assert_eq!(parsed[0], WebhookSecret::parse("new").unwrap());
        assert_eq!(parsed[1], WebhookSecret::parse("old").unwrap());
    }

    #[test]
    fn errors_never_carry_the_secret_value() {
        let error = secrets(r#"{"current":"whsec_hunter2!!"}"#).unwrap_err();
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }
}
