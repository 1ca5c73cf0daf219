//! The function's configuration, read from the environment exactly as Lambda sets it. It is
//! registry-events' configuration (governance, registries, tables, mapping, DLQ: the same variables,
//! the same rules; see `govsync_registry_events::config`) plus:
//!
//! | Variable | Required | Meaning |
//! |---|---|---|
//! | `GOVSYNC_NOTIFICATION_SENDER` | no | the From address of the data-science team's email (F1), of a verified SES identity (the templates' `NotificationSenderIdentity`); empty = no email, reported |
//! | `GOVSYNC_DECOMMISSION_QUEUE_URL` | yes | `decommission.fifo`, where governance decommissions (F6) are handed on |
//! | `GOVSYNC_DECISION_BUS` | no | govsync's EventBridge bus (name or ARN) where each applied governance decision is published (`govsync_core::decision_event`); empty = none published |
//!
//! Anything that matters has no default: a missing or malformed variable fails the cold start with a
//! message naming it.

use govsync_core::EmailAddress;
pub use govsync_lambda::config::{Config as BaseConfig, ConfigError};

/// The typed configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub base: BaseConfig,
    pub sender: Option<String>,
    pub decommission_queue_url: String,
    pub decision_bus: Option<String>,
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
        let base = BaseConfig::from_lookup(&lookup)?;
        let sender = match optional("GOVSYNC_NOTIFICATION_SENDER") {
            None => None,
            Some(sender) => Some(
                EmailAddress::parse(&sender)
                    .map_err(|error| ConfigError::Invalid {
                        name: "GOVSYNC_NOTIFICATION_SENDER",
                        problem: error.to_string(),
                    })?
                    .to_string(),
            ),
        };
        let decommission_queue_url =
            optional("GOVSYNC_DECOMMISSION_QUEUE_URL").ok_or(ConfigError::Missing {
                name: "GOVSYNC_DECOMMISSION_QUEUE_URL",
                meaning: "the decommission.fifo queue URL, where governance decommissions are handed on",
            })?;
        Ok(Self {
            base,
            sender,
            decommission_queue_url,
            decision_bus: optional("GOVSYNC_DECISION_BUS"),
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
                "GOVSYNC_GOVERNANCE_URL",
                "https://grc.example.com".to_owned(),
            ),
            ("GOVSYNC_GOVERNANCE_AUTH_MODE", "basic".to_owned()),
            ("GOVSYNC_GOVERNANCE_USERNAME", "govsync".to_owned()),
            (
                "GOVSYNC_GOVERNANCE_API_KEY_SECRET",
                "govsync/key".to_owned(),
            ),
            (
                "GOVSYNC_REGISTRY_MAP",
                r#"[{"account":"111111111111","region":"eu-west-1","business_entity":"Retail"}]"#
                    .to_owned(),
            ),
            (
                "GOVSYNC_SPOKE_ROLE_NAME",
                "govsync-registry-access".to_owned(),
            ),
            (
                "GOVSYNC_SPOKE_EXTERNAL_ID",
                "0123456789abcdef0123".to_owned(),
            ),
            ("GOVSYNC_GATE_MODE", "enforce".to_owned()),
            (
                "GOVSYNC_IDEMPOTENCY_TABLE",
                "govsync-idempotency".to_owned(),
            ),
            ("GOVSYNC_LINKS_TABLE", "govsync-links".to_owned()),
            (
                "GOVSYNC_DLQ_URL",
                "https://sqs.eu-west-1.amazonaws.com/1/governance-events-dlq.fifo".to_owned(),
            ),
            (
                "GOVSYNC_DECOMMISSION_QUEUE_URL",
                "https://sqs.eu-west-1.amazonaws.com/1/decommission.fifo".to_owned(),
            ),
            (
                "GOVSYNC_NOTIFICATION_SENDER",
                "govsync@example.com".to_owned(),
            ),
        ])
    }

    fn read(env: &HashMap<&'static str, String>) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| env.get(name).cloned())
    }

    #[test]
    fn full_environment_reads_sender_and_decommission_queue() {
        let config = read(&base()).unwrap();
        assert_eq!(config.sender.as_deref(), Some("govsync@example.com"));
        assert!(config.decommission_queue_url.ends_with("decommission.fifo"));
    }

    #[test]
    fn missing_or_bad_settings_fail_naming_the_variable() {
        let mut env = base();
        env.remove("GOVSYNC_DECOMMISSION_QUEUE_URL");
        let error = read(&env).unwrap_err().to_string();
        assert!(error.contains("GOVSYNC_DECOMMISSION_QUEUE_URL"), "{error}");

        let mut env = base();
        env.insert("GOVSYNC_NOTIFICATION_SENDER", "not an address".to_owned());
        let error = read(&env).unwrap_err().to_string();
        assert!(error.contains("GOVSYNC_NOTIFICATION_SENDER"), "{error}");

        let mut env = base();
        env.insert("GOVSYNC_NOTIFICATION_SENDER", "  ".to_owned());
        assert_eq!(read(&env).unwrap().sender, None);
    }
}
