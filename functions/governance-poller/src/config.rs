//! The poller's configuration, read from the environment exactly as Lambda sets it
//! (infra/template.yaml: the Globals plus the function's own variables). Anything that matters has no
//! default: a missing or malformed variable fails the cold start with a message naming it.
//!
//! | Variable | Required | Meaning |
//! |---|---|---|
//! | `GOVSYNC_GOVERNANCE_URL` | yes | governance console root |
//! | `GOVSYNC_GOVERNANCE_AUTH_MODE`, `…_TOKEN_URL`, `…_INSTANCE_ID`, `…_USERNAME` | as registry-events | how to authenticate |
//! | `GOVSYNC_GOVERNANCE_CP4D_INSTANCE`, `GOVSYNC_GOVERNANCE_API_PREFIX` | as registry-events | where the API sits |
//! | `GOVSYNC_GOVERNANCE_API_KEY_SECRET` | yes | Secrets Manager id of the API key |
//! | `GOVSYNC_CURSORS_TABLE` | yes | DynamoDB table of poll watermarks (`govsync-cursors`) |
//! | `GOVSYNC_GOVERNANCE_EVENTS_QUEUE_URL` | yes | `governance-events.fifo` |
//! | `GOVSYNC_METRICS_NAMESPACE` | no | CloudWatch embedded-metric namespace; unset = no metric lines |

pub use govsync_lambda::config::{AuthSettings, ConfigError};

#[derive(Debug, Clone)]
pub struct Config {
    pub governance_url: String,
    pub api_prefix: String,
    pub auth: AuthSettings,
    pub api_key_secret_id: String,
    pub cursors_table: String,
    pub queue_url: String,
    pub metrics_namespace: Option<String>,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let optional = |name: &str| {
            lookup(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let required = |name: &'static str, meaning: &'static str| {
            optional(name).ok_or(ConfigError::Missing { name, meaning })
        };
        let governance_url = required("GOVSYNC_GOVERNANCE_URL", "the governance console URL")?;
        if !(governance_url.starts_with("https://") || governance_url.starts_with("http://")) {
            return Err(ConfigError::Invalid {
                name: "GOVSYNC_GOVERNANCE_URL",
                problem: format!("{governance_url:?} is not an http(s) URL"),
            });
        }
        let auth = govsync_lambda::config::auth_settings_from_lookup(&lookup)?;
        Ok(Self {
            api_prefix: govsync_lambda::config::api_prefix_from_lookup(&lookup, &auth)?,
            auth,
            governance_url,
            api_key_secret_id: required(
                "GOVSYNC_GOVERNANCE_API_KEY_SECRET",
                "the Secrets Manager id of the governance API key",
            )?,
            cursors_table: required("GOVSYNC_CURSORS_TABLE", "the DynamoDB cursors table")?,
            queue_url: required(
                "GOVSYNC_GOVERNANCE_EVENTS_QUEUE_URL",
                "the governance-events.fifo queue URL",
            )?,
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
                "GOVSYNC_GOVERNANCE_URL",
                "https://grc.example.com".to_owned(),
            ),
            ("GOVSYNC_GOVERNANCE_AUTH_MODE", "iam".to_owned()),
            (
                "GOVSYNC_GOVERNANCE_API_KEY_SECRET",
                "govsync/key".to_owned(),
            ),
            ("GOVSYNC_CURSORS_TABLE", "govsync-cursors".to_owned()),
            (
                "GOVSYNC_GOVERNANCE_EVENTS_QUEUE_URL",
                "https://sqs.us-east-1.amazonaws.com/1/governance-events.fifo".to_owned(),
            ),
        ])
    }

    #[test]
    fn full_environment_reads_and_each_required_variable_is_named_when_missing() {
        let env = base();
        let config = Config::from_lookup(|name| env.get(name).cloned()).unwrap();
        assert_eq!(config.cursors_table, "govsync-cursors");
        assert_eq!(config.auth.mode(), "iam");
        assert_eq!(
            config.metrics_namespace, None,
            "no metric lines unless asked"
        );
        let mut with_metrics = base();
        with_metrics.insert("GOVSYNC_METRICS_NAMESPACE", "govsync".to_owned());
        let config = Config::from_lookup(|name| with_metrics.get(name).cloned()).unwrap();
        assert_eq!(config.metrics_namespace.as_deref(), Some("govsync"));
        for name in [
            "GOVSYNC_GOVERNANCE_URL",
            "GOVSYNC_GOVERNANCE_AUTH_MODE",
            "GOVSYNC_GOVERNANCE_API_KEY_SECRET",
            "GOVSYNC_CURSORS_TABLE",
            "GOVSYNC_GOVERNANCE_EVENTS_QUEUE_URL",
        ] {
            let mut env = base();
            env.remove(name);
            let error = Config::from_lookup(|n| env.get(n).cloned())
                .unwrap_err()
                .to_string();
            assert!(error.contains(name), "{name}: {error}");
        }
    }
}
