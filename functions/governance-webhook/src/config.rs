//! The function's configuration, read from the environment exactly as Lambda sets it
//! (`infra/template.yaml`, `GovernanceWebhookFunction` and `Globals`). Anything that matters has no
//! default: a missing or malformed variable fails the cold start with a message naming it.
//!
//! | Variable | Required | Meaning |
//! |---|---|---|
//! | `GOVSYNC_WEBHOOK_SECRETS_SECRET` | yes | Secrets Manager id (ARN or name) of the signing secrets, JSON `{"current","previous"}` |
//! | `GOVSYNC_GOVERNANCE_EVENTS_QUEUE_URL` | yes | URL of `governance-events.fifo` |
//! | `GOVSYNC_IDEMPOTENCY_TABLE` | yes | DynamoDB idempotency table (replay rejection by delivery id) |
//! | `GOVSYNC_WEBHOOK_OBJECT_ID_POINTER` | no | JSON pointer of the object id in the notification body; default `/object/id` (contracts/openpages-v2.md) |
//! | `GOVSYNC_METRICS_NAMESPACE` | no | CloudWatch embedded-metric namespace; unset = no metric lines |

use std::fmt;

use govsync_core::governance_event::DEFAULT_OBJECT_ID_POINTER;

/// Why the function cannot start. Messages name the variable and never hold a secret.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {name} is not set: {meaning}")]
    Missing {
        name: &'static str,
        meaning: &'static str,
    },
    #[error("environment variable {name}: {problem}")]
    Invalid { name: &'static str, problem: String },
    #[error("reading the webhook signing secrets: {0}")]
    SecretRead(#[from] govsync_adapters::secrets::SecretError),
    #[error("the webhook signing secrets: {0}")]
    Secrets(#[from] crate::signing_secrets::SigningSecretsError),
}

/// The variables of the table above.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    pub signing_secrets_secret_id: String,
    pub queue_url: String,
    pub idempotency_table: String,
    pub object_id_pointer: String,
    pub metrics_namespace: Option<String>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("signing_secrets_secret_id", &self.signing_secrets_secret_id)
            .field("queue_url", &self.queue_url)
            .field("idempotency_table", &self.idempotency_table)
            .field("object_id_pointer", &self.object_id_pointer)
            .field("metrics_namespace", &self.metrics_namespace)
            .finish()
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup` (tests pass a map; `from_env` the process environment).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let optional = |name: &str| {
            lookup(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let required = |name: &'static str, meaning: &'static str| {
            optional(name).ok_or(ConfigError::Missing { name, meaning })
        };
        let queue_url = required(
            "GOVSYNC_GOVERNANCE_EVENTS_QUEUE_URL",
            "the URL of governance-events.fifo",
        )?;
        if !(queue_url.starts_with("https://") || queue_url.starts_with("http://")) {
            return Err(ConfigError::Invalid {
                name: "GOVSYNC_GOVERNANCE_EVENTS_QUEUE_URL",
                problem: format!("{queue_url:?} is not an http(s) URL"),
            });
        }
        if !queue_url.ends_with(".fifo") {
            return Err(ConfigError::Invalid {
                name: "GOVSYNC_GOVERNANCE_EVENTS_QUEUE_URL",
                problem: format!("{queue_url:?} is not a FIFO queue (its name ends in .fifo)"),
            });
        }
        let object_id_pointer = optional("GOVSYNC_WEBHOOK_OBJECT_ID_POINTER")
            .unwrap_or_else(|| DEFAULT_OBJECT_ID_POINTER.to_owned());
        if !object_id_pointer.starts_with('/') {
            return Err(ConfigError::Invalid {
                name: "GOVSYNC_WEBHOOK_OBJECT_ID_POINTER",
                problem: format!(
                    "{object_id_pointer:?} is not a JSON pointer (RFC 6901: it starts with `/`)"
                ),
            });
        }
        Ok(Self {
            signing_secrets_secret_id: required(
                "GOVSYNC_WEBHOOK_SECRETS_SECRET",
                "the Secrets Manager id of the webhook signing secrets",
            )?,
            queue_url,
            idempotency_table: required(
                "GOVSYNC_IDEMPOTENCY_TABLE",
                "the DynamoDB idempotency table (replay rejection)",
            )?,
            object_id_pointer,
            metrics_namespace: optional("GOVSYNC_METRICS_NAMESPACE"),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn base() -> HashMap<&'static str, String> {
        HashMap::from([
            (
                "GOVSYNC_WEBHOOK_SECRETS_SECRET",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:govsync/webhook-signing-secrets-AbCdEf".to_owned(),
            ),
            (
                "GOVSYNC_GOVERNANCE_EVENTS_QUEUE_URL",
                "https://sqs.us-east-1.amazonaws.com/123456789012/governance-events.fifo".to_owned(),
            ),
            ("GOVSYNC_IDEMPOTENCY_TABLE", "govsync-idempotency".to_owned()),
        ])
    }

    fn load(vars: &HashMap<&'static str, String>) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn the_deployment_environment_gives_a_complete_config() {
        let config = load(&base()).unwrap();
        assert_eq!(config.object_id_pointer, "/object/id");
        assert_eq!(config.metrics_namespace, None);
        assert!(config.queue_url.ends_with("/governance-events.fifo"));
    }

    #[test]
    fn each_required_variable_is_named_when_missing() {
        for name in [
            "GOVSYNC_WEBHOOK_SECRETS_SECRET",
            "GOVSYNC_GOVERNANCE_EVENTS_QUEUE_URL",
            "GOVSYNC_IDEMPOTENCY_TABLE",
        ] {
            let mut vars = base();
            vars.insert(name, " ".into());
            let error = load(&vars).unwrap_err();
            assert!(
                matches!(&error, ConfigError::Missing { name: missing, .. } if *missing == name),
                "{name}: {error}"
            );
        }
    }

    #[test]
    fn malformed_values_are_refused_naming_the_variable() {
        for (name, value) in [
            (
                "GOVSYNC_GOVERNANCE_EVENTS_QUEUE_URL",
                "governance-events.fifo",
            ),
            (
                "GOVSYNC_GOVERNANCE_EVENTS_QUEUE_URL",
                "https://sqs.us-east-1.amazonaws.com/123456789012/governance-events",
            ),
            ("GOVSYNC_WEBHOOK_OBJECT_ID_POINTER", "object.id"),
        ] {
            let mut vars = base();
            vars.insert(name, value.into());
            match load(&vars) {
                Err(ConfigError::Invalid { name: invalid, .. }) => assert_eq!(invalid, name),
                other => panic!("{name}={value}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_configured_object_id_pointer_is_used() {
        let mut vars = base();
        vars.insert("GOVSYNC_WEBHOOK_OBJECT_ID_POINTER", "/resource/id".into());
        assert_eq!(load(&vars).unwrap().object_id_pointer, "/resource/id");
    }
}
