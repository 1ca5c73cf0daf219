//! The reconciler's configuration, read from the environment exactly as Lambda sets it. Everything
//! registry-events reads (governance, registry map, spoke roles, writers, gate, tables, mapping) is read
//! the same way, by the same code; on top:
//!
//! | Variable | Required | Meaning |
//! |---|---|---|
//! | `GOVSYNC_CURSORS_TABLE` | yes | DynamoDB table of the run checkpoint |
//! | `GOVSYNC_DECOMMISSION_QUEUE_URL` | yes | decommission.fifo: decommissions found in governance go there (F6) |
//! | `GOVSYNC_RECONCILE_CONCURRENCY` | no (16) | remote calls in flight at most (lowered while throttled) |
//! | `GOVSYNC_RECONCILE_GROUP_CONCURRENCY` | no (8) | model package groups compared at once |
//! | `GOVSYNC_RECONCILE_DEADLINE_MARGIN_SECONDS` | no (60) | stop starting groups this long before the Lambda deadline |
//!
//! `GOVSYNC_DLQ_URL` is not read: the reconciler quarantines nothing (a failed repair is reported and
//! retried by the next run).

use std::time::Duration;

use govsync_lambda::config::ConfigError as BaseConfigError;

use crate::reconciler::Tuning;

/// Why the reconciler cannot start. Messages name the variable and never hold a secret.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Base(#[from] BaseConfigError),
    #[error("environment variable {name} is not set: {meaning}")]
    Missing {
        name: &'static str,
        meaning: &'static str,
    },
    #[error("environment variable {name}: {problem}")]
    Invalid { name: &'static str, problem: String },
}

/// The value registry-events' configuration gets for `GOVSYNC_DLQ_URL`, which the reconciler never uses.
const NO_DLQ: &str = "unused:the-reconciler-quarantines-nothing";

#[derive(Debug)]
pub struct Config {
    /// What registry-events reads, read by its code.
    pub base: govsync_lambda::config::Config,
    pub cursors_table: String,
    pub decommission_queue_url: String,
    pub tuning: Tuning,
    /// The signed govsync link the repairs write on Models (as registry-events does).
    pub model_links: Option<govsync_lambda::model_links::ModelLinkSettings>,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let lookup = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let base = govsync_lambda::config::Config::from_lookup(|name| match name {
            "GOVSYNC_DLQ_URL" => Some(NO_DLQ.to_owned()),
            other => lookup(other),
        })?;
        let required = |name: &'static str, meaning: &'static str| {
            lookup(name).ok_or(ConfigError::Missing { name, meaning })
        };
        let number =
            |name: &'static str, default: u64, range: std::ops::RangeInclusive<u64>| match lookup(
                name,
            ) {
                None => Ok(default),
                Some(text) => match text.trim().parse::<u64>() {
                    Ok(value) if range.contains(&value) => Ok(value),
                    _ => Err(ConfigError::Invalid {
                        name,
                        problem: format!(
                            "{text:?} is not a whole number from {} to {}",
                            range.start(),
                            range.end()
                        ),
                    }),
                },
            };
        let defaults = Tuning::default();
        let tuning = Tuning {
            concurrency: number(
                "GOVSYNC_RECONCILE_CONCURRENCY",
                defaults.concurrency as u64,
                1..=256,
            )? as usize,
            group_concurrency: number(
                "GOVSYNC_RECONCILE_GROUP_CONCURRENCY",
                defaults.group_concurrency as u64,
                1..=64,
            )? as usize,
            deadline_margin: Duration::from_secs(number(
                "GOVSYNC_RECONCILE_DEADLINE_MARGIN_SECONDS",
                defaults.deadline_margin.as_secs(),
                0..=600,
            )?),
            registry_concurrency: number(
                "GOVSYNC_RECONCILE_REGISTRY_CONCURRENCY",
                defaults.registry_concurrency as u64,
                1..=64,
            )? as usize,
            deep_slices: number(
                "GOVSYNC_RECONCILE_DEEP_SLICES",
                u64::from(defaults.deep_slices),
                1..=10_000,
            )? as u32,
            deep_describes_per_second: number(
                "GOVSYNC_RECONCILE_DEEP_DESCRIBES_PER_SECOND",
                u64::from(defaults.deep_describes_per_second),
                0..=1_000,
            )? as u32,
            ..defaults
        };
        let model_links = govsync_lambda::model_links::ModelLinkSettings::from_lookup(
            lookup,
            "GOVSYNC_MODEL_LINK_URL",
            "GOVSYNC_MODEL_LINK_KEYS_SECRET",
        )?;
        Ok(Self {
            model_links,
            base,
            cursors_table: required(
                "GOVSYNC_CURSORS_TABLE",
                "the DynamoDB cursors table (run checkpoints)",
            )?,
            decommission_queue_url: required(
                "GOVSYNC_DECOMMISSION_QUEUE_URL",
                "the decommission.fifo queue URL (decommissions found in governance)",
            )?,
            tuning,
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
                "GOVSYNC_WRITER_ROLE_ARNS",
                "arn:aws:sts::111111111111:assumed-role/govsync-sync/govsync".to_owned(),
            ),
            ("GOVSYNC_GATE_MODE", "enforce".to_owned()),
            (
                "GOVSYNC_IDEMPOTENCY_TABLE",
                "govsync-idempotency".to_owned(),
            ),
            ("GOVSYNC_LINKS_TABLE", "govsync-links".to_owned()),
            ("GOVSYNC_CURSORS_TABLE", "govsync-cursors".to_owned()),
            (
                "GOVSYNC_DECOMMISSION_QUEUE_URL",
                "https://sqs.us-east-1.amazonaws.com/123456789012/decommission.fifo".to_owned(),
            ),
        ])
    }

    fn load(vars: &HashMap<&'static str, String>) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn the_deployment_environment_gives_a_complete_config_without_a_dlq() {
        let config = load(&base()).unwrap();
        assert_eq!(config.cursors_table, "govsync-cursors");
        assert_eq!(config.tuning, Tuning::default());
        assert_eq!(config.base.registries.len(), 1);
    }

    #[test]
    fn each_required_variable_is_named_when_missing() {
        for name in ["GOVSYNC_CURSORS_TABLE", "GOVSYNC_DECOMMISSION_QUEUE_URL"] {
            let mut vars = base();
            vars.remove(name);
            match load(&vars) {
                Err(ConfigError::Missing { name: missing, .. }) => assert_eq!(missing, name),
                other => panic!("{name}: {other:?}"),
            }
        }
        let mut vars = base();
        vars.remove("GOVSYNC_GATE_MODE");
        assert!(matches!(load(&vars), Err(ConfigError::Base(_))));
    }

    #[test]
    fn tuning_values_are_checked() {
        let mut vars = base();
        vars.insert("GOVSYNC_RECONCILE_CONCURRENCY", "0".into());
        assert!(matches!(
            load(&vars),
            Err(ConfigError::Invalid {
                name: "GOVSYNC_RECONCILE_CONCURRENCY",
                ..
            })
        ));
        vars.insert("GOVSYNC_RECONCILE_CONCURRENCY", "32".into());
        vars.insert("GOVSYNC_RECONCILE_DEADLINE_MARGIN_SECONDS", "5".into());
        let config = load(&vars).unwrap();
        assert_eq!(config.tuning.concurrency, 32);
        assert_eq!(config.tuning.deadline_margin, Duration::from_secs(5));
    }
}
