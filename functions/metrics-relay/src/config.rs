//! The function's configuration: the variables every govsync function shares (read by
//! `govsync_registry_events::Config`: governance URL and auth, API key secret, registry map, spoke role,
//! tables, mapping; `GOVSYNC_DLQ_URL` is the function's failure queue, `govsync-async-failures`) plus:
//!
//! | Variable | Required | Meaning |
//! |---|---|---|
//! | `GOVSYNC_METRIC_BREACH_STATUS` | no | the model status a `Red` value moves the model to (a status of the mapping, e.g. the built-in `Under Review`; then F4 carries it to SageMaker); unset = a breach moves nothing |
//! | `GOVSYNC_METRIC_AMBER_MARGIN` | no | the warning margin of the breach status, a fraction in [0, 1) (default 0.05) |

use govsync_core::GovernanceStatus;
use govsync_core::metrics::DEFAULT_AMBER_MARGIN;
use govsync_core::sync::decommission::DecommissionPolicy;
use govsync_lambda::config::{Config as SharedConfig, ConfigError as SharedConfigError};

use crate::relay::Settings;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Shared(#[from] SharedConfigError),
    #[error("environment variable {name}: {problem}")]
    Invalid { name: &'static str, problem: String },
}

#[derive(Debug, Clone)]
pub struct Config {
    pub shared: SharedConfig,
    pub settings: Settings,
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
        let breach_status = optional("GOVSYNC_METRIC_BREACH_STATUS")
            .map(|value| {
                GovernanceStatus::parse(&value).map_err(|error| ConfigError::Invalid {
                    name: "GOVSYNC_METRIC_BREACH_STATUS",
                    problem: error.to_string(),
                })
            })
            .transpose()?;
        let amber_margin = match optional("GOVSYNC_METRIC_AMBER_MARGIN") {
            None => DEFAULT_AMBER_MARGIN,
            Some(text) => text
                .parse::<f64>()
                .ok()
                .filter(|margin| (0.0..1.0).contains(margin))
                .ok_or_else(|| ConfigError::Invalid {
                    name: "GOVSYNC_METRIC_AMBER_MARGIN",
                    problem: format!("{text:?} is not a fraction in [0, 1)"),
                })?,
        };
        let shared = SharedConfig::from_lookup(&lookup)?;
        // A breach status the mapping does not know would be quarantined by F4 as unknown: refuse it
        // at start instead.
        if let Some(status) = &breach_status
            && !shared
                .mapping
                .rows()
                .iter()
                .any(|row| &row.governance_status == status)
        {
            return Err(ConfigError::Invalid {
                name: "GOVSYNC_METRIC_BREACH_STATUS",
                problem: format!(
                    "{status:?} is not a status of the mapping ({}), so F4 could not carry it to SageMaker",
                    shared.mapping_source
                ),
            });
        }
        let decommissioned = DecommissionPolicy::from_mapping(&shared.mapping, None).status;
        let settings = Settings {
            registries: shared.registries.clone(),
            breach_status,
            terminal_statuses: vec![decommissioned.to_string()],
            amber_margin,
        };
        Ok(Self { shared, settings })
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
            ("GOVSYNC_GOVERNANCE_AUTH_MODE", "mcsp".to_owned()),
            ("GOVSYNC_GOVERNANCE_INSTANCE_ID", "inst-1".to_owned()),
            (
                "GOVSYNC_GOVERNANCE_API_KEY_SECRET",
                "govsync/governance-api-key".to_owned(),
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
                "https://sqs.us-east-1.amazonaws.com/123456789012/govsync-async-failures"
                    .to_owned(),
            ),
        ])
    }

    #[test]
    fn breach_status_and_margin_are_optional_and_checked() {
        let mut vars = base();
        let config = Config::from_lookup(|name| vars.get(name).cloned()).unwrap();
        assert_eq!(config.settings.breach_status, None);
        assert_eq!(config.settings.amber_margin, DEFAULT_AMBER_MARGIN);
        assert_eq!(config.settings.terminal_statuses, ["Decommissioned"]);
        vars.insert("GOVSYNC_METRIC_BREACH_STATUS", "Under Review".into());
        vars.insert("GOVSYNC_METRIC_AMBER_MARGIN", "0.1".into());
        let config = Config::from_lookup(|name| vars.get(name).cloned()).unwrap();
        assert_eq!(
            config.settings.breach_status.as_ref().map(|s| s.as_str()),
            Some("Under Review")
        );
        assert_eq!(config.settings.amber_margin, 0.1);
        vars.insert("GOVSYNC_METRIC_BREACH_STATUS", "Under Audit".into());
        assert!(
            matches!(
                Config::from_lookup(|name| vars.get(name).cloned()),
                Err(ConfigError::Invalid {
                    name: "GOVSYNC_METRIC_BREACH_STATUS",
                    ..
                })
            ),
            "a breach status the mapping does not know is refused at start"
        );
        vars.insert("GOVSYNC_METRIC_BREACH_STATUS", "Under Review".into());
        vars.insert("GOVSYNC_METRIC_AMBER_MARGIN", "2".into());
        assert!(matches!(
            Config::from_lookup(|name| vars.get(name).cloned()),
            Err(ConfigError::Invalid {
                name: "GOVSYNC_METRIC_AMBER_MARGIN",
                ..
            })
        ));
    }
}
