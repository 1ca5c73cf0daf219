//! Which registry facts reach which fields of the governance `Model`.
//!
//! OpenPages field sets differ between tenants, so every fact that has no field in IBM's published
//! model (contracts/openpages-v2.md) is sent to a field the tenant names, or to none. The mapping is
//! the `[fields]` table of the mapping spec (see `default_mapping.toml`); a fact left out keeps its
//! default field, and `""` turns it off. The data scientist's own `CustomerMetadataProperties` reach
//! governance only for the keys the tenant selects.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::customer_metadata::keys::PREFIX as GOVSYNC_PREFIX;
use crate::model_package::RegistryFacts;

/// One registry fact that can reach a governance field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fact {
    InferenceImages,
    ModelDataUrls,
    MetricsReports,
    Creator,
    Domain,
    Task,
    SamplePayload,
    DriftBaselines,
    Lineage,
    ModelCardSummary,
    UserMetadata,
    /// The artifact fingerprint of the approval govsync applied (approval-propagation).
    ArtifactFingerprint,
    /// Where the version is deployed (the reconciler's serving report).
    Deployments,
}

impl Fact {
    pub const ALL: [Fact; 13] = [
        Fact::InferenceImages,
        Fact::ModelDataUrls,
        Fact::MetricsReports,
        Fact::Creator,
        Fact::Domain,
        Fact::Task,
        Fact::SamplePayload,
        Fact::DriftBaselines,
        Fact::Lineage,
        Fact::ModelCardSummary,
        Fact::UserMetadata,
        Fact::ArtifactFingerprint,
        Fact::Deployments,
    ];

    /// The key naming this fact in the spec's `[fields]` table.
    pub fn key(self) -> &'static str {
        match self {
            Fact::InferenceImages => "inference_images",
            Fact::ModelDataUrls => "model_data_urls",
            Fact::MetricsReports => "metrics_reports",
            Fact::Creator => "creator",
            Fact::Domain => "domain",
            Fact::Task => "task",
            Fact::SamplePayload => "sample_payload_url",
            Fact::DriftBaselines => "drift_baselines",
            Fact::Lineage => "lineage",
            Fact::ModelCardSummary => "model_card_summary",
            Fact::UserMetadata => "user_metadata",
            Fact::ArtifactFingerprint => "artifact_fingerprint",
            Fact::Deployments => "deployments",
        }
    }

    /// The field it reaches unless the tenant says otherwise (govsync's names: IBM publishes none).
    pub fn default_field(self) -> &'static str {
        match self {
            Fact::InferenceImages => "MRG-Model:Inference Image",
            Fact::ModelDataUrls => "MRG-Model:Model Data URL",
            Fact::MetricsReports => "MRG-Model:Metrics URIs",
            Fact::Creator => "MRG-Model:Model Creator",
            Fact::Domain => "MRG-Model:Domain",
            Fact::Task => "MRG-Model:Task",
            Fact::SamplePayload => "MRG-Model:Sample Payload URL",
            Fact::DriftBaselines => "MRG-Model:Drift Baselines",
            Fact::Lineage => "MRG-Model:Lineage",
            Fact::ModelCardSummary => "MRG-Model:Model Card Summary",
            Fact::UserMetadata => "MRG-Model:Registry Metadata",
            Fact::ArtifactFingerprint => "MRG-Model:Artifact Fingerprint",
            Fact::Deployments => "MRG-Model:Deployments",
        }
    }
}

/// Why a `[fields]` table is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldMappingError {
    #[error("`fields` must be a table")]
    NotATable,
    #[error("`fields.{0}` is not a registry fact govsync sends (known: {1})")]
    UnknownFact(String, String),
    #[error("`fields.{key}` must be a field name (a string; \"\" turns it off)")]
    NotAString { key: String },
    #[error(
        "`fields.{key}` = {name:?} is not a usable field name (no `[`, `]` or control characters)"
    )]
    BadName { key: String, name: String },
    #[error(
        "`fields.user_metadata_keys` must be a list of keys (a key ending in `*` selects a prefix)"
    )]
    BadKeys,
    #[error(
        "`fields.user_metadata_keys` may not select govsync's own `{GOVSYNC_PREFIX}` entries: {0:?}"
    )]
    GovsyncKey(String),
    #[error("fields `{first}` and `{second}` both name the governance field {name:?}")]
    SharedField {
        first: &'static str,
        second: &'static str,
        name: String,
    },
}

/// The tenant's field mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldMapping {
    fields: BTreeMap<Fact, Option<String>>,
    user_metadata_keys: Vec<String>,
}

impl Default for FieldMapping {
    fn default() -> Self {
        Self {
            fields: Fact::ALL
                .iter()
                .map(|fact| (*fact, Some(fact.default_field().to_owned())))
                .collect(),
            user_metadata_keys: Vec::new(),
        }
    }
}

impl FieldMapping {
    /// The governance field `fact` reaches; `None` when the tenant turned it off.
    pub fn field(&self, fact: Fact) -> Option<&str> {
        self.fields.get(&fact).and_then(|name| name.as_deref())
    }

    /// The data scientist's keys the tenant selected (exact, or a prefix ending in `*`).
    pub fn user_metadata_keys(&self) -> &[String] {
        &self.user_metadata_keys
    }

    /// Reads a spec's `[fields]` table over the defaults.
    pub fn from_value(value: &Value) -> Result<Self, FieldMappingError> {
        let Value::Object(table) = value else {
            return Err(FieldMappingError::NotATable);
        };
        let mut mapping = Self::default();
        for (key, raw) in table {
            if key == "user_metadata_keys" {
                let Value::Array(items) = raw else {
                    return Err(FieldMappingError::BadKeys);
                };
                let mut keys = Vec::with_capacity(items.len());
                for item in items {
                    let key = item.as_str().filter(|k| !k.trim().is_empty());
                    let Some(key) = key else {
                        return Err(FieldMappingError::BadKeys);
                    };
                    if key.starts_with(GOVSYNC_PREFIX) {
                        return Err(FieldMappingError::GovsyncKey(key.to_owned()));
                    }
                    keys.push(key.to_owned());
                }
                mapping.user_metadata_keys = keys;
                continue;
            }
            let Some(fact) = Fact::ALL.iter().copied().find(|fact| fact.key() == key) else {
                let known: Vec<&str> = Fact::ALL.iter().map(|fact| fact.key()).collect();
                return Err(FieldMappingError::UnknownFact(
                    key.clone(),
                    format!("{}, user_metadata_keys", known.join(", ")),
                ));
            };
            let Value::String(name) = raw else {
                return Err(FieldMappingError::NotAString { key: key.clone() });
            };
            let name = name.trim();
            if name.contains(['[', ']']) || name.chars().any(char::is_control) {
                return Err(FieldMappingError::BadName {
                    key: key.clone(),
                    name: name.to_owned(),
                });
            }
            mapping
                .fields
                .insert(fact, (!name.is_empty()).then(|| name.to_owned()));
        }
        mapping.distinct()?;
        Ok(mapping)
    }

    /// Two facts written to one field would overwrite each other on every sync.
    fn distinct(&self) -> Result<(), FieldMappingError> {
        let mut seen: BTreeMap<&str, Fact> = BTreeMap::new();
        for (fact, name) in &self.fields {
            if let Some(name) = name
                && let Some(first) = seen.insert(name, *fact)
            {
                return Err(FieldMappingError::SharedField {
                    first: first.key(),
                    second: fact.key(),
                    name: name.clone(),
                });
            }
        }
        Ok(())
    }

    /// The data scientist's entries the tenant selected, as `key=value` lines in key order; never
    /// govsync's own entries.
    pub fn selected_user_metadata(&self, metadata: &BTreeMap<String, String>) -> Option<String> {
        let selected: Vec<String> = metadata
            .iter()
            .filter(|(key, _)| !key.starts_with(GOVSYNC_PREFIX))
            .filter(|(key, _)| {
                self.user_metadata_keys
                    .iter()
                    .any(|wanted| match wanted.strip_suffix('*') {
                        Some(prefix) => key.starts_with(prefix),
                        None => *key == wanted,
                    })
            })
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        (!selected.is_empty()).then(|| selected.join("\n"))
    }

    /// The `(field, text)` pairs of a version's facts under this mapping, facts in a fixed order;
    /// a fact the version does not have is left out (governance keeps what it holds).
    pub fn facts_text(
        &self,
        facts: &RegistryFacts,
        metadata: &BTreeMap<String, String>,
    ) -> Vec<(String, String)> {
        let lineage: Vec<String> = facts
            .lineage
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        let values = [
            (Fact::Domain, facts.domain.clone()),
            (Fact::Task, facts.task.clone()),
            (Fact::SamplePayload, facts.sample_payload_url.clone()),
            (
                Fact::DriftBaselines,
                (!facts.drift_baseline_uris.is_empty())
                    .then(|| facts.drift_baseline_uris.join("\n")),
            ),
            (
                Fact::Lineage,
                (!lineage.is_empty()).then(|| lineage.join("\n")),
            ),
            (Fact::ModelCardSummary, facts.model_card_summary.clone()),
            (Fact::UserMetadata, self.selected_user_metadata(metadata)),
        ];
        values
            .into_iter()
            .filter_map(|(fact, value)| {
                let value = value.filter(|text| !text.trim().is_empty())?;
                Some((self.field(fact)?.to_owned(), value))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn defaults_name_a_field_for_every_fact_and_select_no_user_keys() {
        let mapping = FieldMapping::default();
        for fact in Fact::ALL {
            assert_eq!(mapping.field(fact), Some(fact.default_field()));
        }
        assert!(mapping.user_metadata_keys().is_empty());
    }

    #[test]
    fn a_tenant_renames_a_field_turns_one_off_and_selects_its_keys() {
        let mapping = FieldMapping::from_value(&json!({
            "domain": "Tenant:Business Domain",
            "lineage": "",
            "user_metadata_keys": ["team", "dataset-*"],
        }))
        .unwrap();
        assert_eq!(mapping.field(Fact::Domain), Some("Tenant:Business Domain"));
        assert_eq!(mapping.field(Fact::Lineage), None);
        assert_eq!(mapping.field(Fact::Task), Some("MRG-Model:Task"));
        let metadata: BTreeMap<String, String> = [
            ("team", "risk"),
            ("dataset-version", "7"),
            ("notes", "not selected"),
            ("govsync:links", "model=1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(
            mapping.selected_user_metadata(&metadata).as_deref(),
            Some("dataset-version=7\nteam=risk")
        );
        let facts = RegistryFacts {
            domain: Some("MACHINE_LEARNING".into()),
            lineage: vec![("GeneratedBy".into(), "arn:pipeline".into())],
            ..RegistryFacts::default()
        };
        assert_eq!(
            mapping.facts_text(&facts, &metadata),
            [
                (
                    "Tenant:Business Domain".to_owned(),
                    "MACHINE_LEARNING".to_owned()
                ),
                (
                    "MRG-Model:Registry Metadata".to_owned(),
                    "dataset-version=7\nteam=risk".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn unknown_facts_bad_names_govsync_keys_and_shared_fields_are_refused() {
        for bad in [
            json!({"colour": "X"}),
            json!({"domain": 3}),
            json!({"domain": "A] OR [B"}),
            json!({"user_metadata_keys": "team"}),
            json!({"user_metadata_keys": ["govsync:links"]}),
            json!({"domain": "X", "task": "X"}),
            json!(["domain"]),
        ] {
            assert!(FieldMapping::from_value(&bad).is_err(), "{bad}");
        }
    }
}
