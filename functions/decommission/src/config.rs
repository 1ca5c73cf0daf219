//! The function's configuration: the variables every govsync function shares (read by
//! `govsync_registry_events::Config`, see its table: governance URL and auth, API key secret, registry
//! map, spoke role, writer identities, tables, `GOVSYNC_DLQ_URL` = decommission-dlq.fifo, mapping file,
//! metrics namespace) plus this function's own:
//!
//! | Variable | Required | Meaning |
//! |---|---|---|
//! | `GOVSYNC_DECOMMISSION_NOTE_FIELD` | no | a text field of the governance `Model` type that receives who deleted or archived the package and when (*govsync choice*; the default object model has none, so unset = not written; the local stack sets `MRG-Model:Decommission Note`) |
//!
//! The decommissioned model status is the mapping's status for the `Archived` stage (built-in:
//! `Decommissioned`), and what an archived package holds is that row's target (Archived / Retired /
//! Rejected): a mapping without such a row fails the cold start.

use govsync_core::sync::decommission::{ArchiveTarget, ArchiveTargetError, DecommissionPolicy};
use govsync_lambda::config::{Config as SharedConfig, ConfigError as SharedConfigError};

/// Why the function cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Shared(#[from] SharedConfigError),
    #[error("status mapping {source_name}: {error}")]
    Archive {
        source_name: String,
        error: ArchiveTargetError,
    },
    #[error("environment variable GOVSYNC_DECOMMISSION_NOTE_FIELD: {0}")]
    NoteField(String),
}

/// The typed configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub shared: SharedConfig,
    pub policy: DecommissionPolicy,
    pub archive: ArchiveTarget,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let note_field = lookup("GOVSYNC_DECOMMISSION_NOTE_FIELD")
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty());
        if let Some(field) = &note_field
            && !field.contains(':')
        {
            return Err(ConfigError::NoteField(format!(
                "{field:?} is not a `Group:Field` name"
            )));
        }
        let shared = SharedConfig::from_lookup(&lookup)?;
        let policy = DecommissionPolicy::from_mapping(&shared.mapping, note_field);
        let archive =
            ArchiveTarget::from_mapping(&shared.mapping, &policy.status).map_err(|error| {
                ConfigError::Archive {
                    source_name: shared.mapping_source.clone(),
                    error,
                }
            })?;
        Ok(Self {
            shared,
            policy,
            archive,
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
                "https://sqs.us-east-1.amazonaws.com/123456789012/decommission-dlq.fifo".to_owned(),
            ),
        ])
    }

    #[test]
    fn the_deployment_environment_gives_the_builtin_decommission_targets() {
        let vars = base();
        let config = Config::from_lookup(|name| vars.get(name).cloned()).unwrap();
        assert_eq!(config.policy.status.as_str(), "Decommissioned");
        assert_eq!(config.policy.note_field, None);
        assert_eq!(config.archive.stage.as_str(), "Archived");
        assert_eq!(config.archive.stage_status.as_str(), "Retired");
    }

    #[test]
    fn the_note_field_is_optional_but_must_be_a_field_name() {
        let mut vars = base();
        vars.insert(
            "GOVSYNC_DECOMMISSION_NOTE_FIELD",
            "MRG-Model:Decommission Note".into(),
        );
        let config = Config::from_lookup(|name| vars.get(name).cloned()).unwrap();
        assert_eq!(
            config.policy.note_field.as_deref(),
            Some("MRG-Model:Decommission Note")
        );
        vars.insert("GOVSYNC_DECOMMISSION_NOTE_FIELD", "note".into());
        assert!(matches!(
            Config::from_lookup(|name| vars.get(name).cloned()),
            Err(ConfigError::NoteField(_))
        ));
        vars.remove("GOVSYNC_DLQ_URL");
        vars.remove("GOVSYNC_DECOMMISSION_NOTE_FIELD");
        assert!(matches!(
            Config::from_lookup(|name| vars.get(name).cloned()),
            Err(ConfigError::Shared(SharedConfigError::Missing {
                name: "GOVSYNC_DLQ_URL",
                ..
            }))
        ));
    }
}
