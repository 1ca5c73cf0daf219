//! The two sides as the reconciler lists them: the governance inventory, indexed for the comparison,
//! and one registry group's snapshot.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::{DECOMMISSIONED_STATUS, LAST_MODIFICATION_DATE};
use crate::governance::GovernanceId;
use crate::model_package::ModelPackageArn;
use crate::ports::registry::ModelPackage;
use crate::ports::{FieldValue, QueryRow};
use crate::registry_map::Registry;
use crate::sync::fields;

/// One governance model as the inventory query returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelEntry {
    pub id: GovernanceId,
    pub name: String,
    pub external_id: String,
    pub status: Option<String>,
    pub last_modified: Option<DateTime<Utc>>,
    /// `Integration:Third Party Link`: the Model's govsync link (or console link).
    pub link: Option<String>,
    /// The Model's `Deployments` field (where the version serves), when the inventory read it
    /// ([`GovernanceInventory::read_deployments`]).
    pub deployments: Option<String>,
}

impl GovernanceInventory {
    /// Sets the link of the Models carrying `external_id` (tests build inventories from rows).
    #[cfg(test)]
    pub(crate) fn set_model_link(&mut self, external_id: &str, link: &str) {
        for model in self
            .models_by_arn
            .get_mut(external_id)
            .into_iter()
            .flatten()
        {
            model.link = Some(link.to_owned());
        }
    }
}

impl ModelEntry {
    pub fn is_decommissioned(&self) -> bool {
        self.status.as_deref() == Some(DECOMMISSIONED_STATUS)
    }
}

/// The governance side, indexed for the comparison.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GovernanceInventory {
    use_cases: BTreeMap<GovernanceId, String>,
    model_groups: BTreeMap<String, Vec<GovernanceId>>,
    model_group_ids: BTreeSet<GovernanceId>,
    models_by_arn: BTreeMap<String, Vec<ModelEntry>>,
    /// (account, region, lower-case group name) → package ARNs carried by models.
    models_by_group: BTreeMap<(String, String, String), BTreeSet<ModelPackageArn>>,
    model_ids: BTreeSet<GovernanceId>,
}

fn text_of(row: &QueryRow, name: &str) -> Option<String> {
    row.field(name)
        .and_then(FieldValue::as_text)
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
}

fn group_key(arn: &ModelPackageArn) -> (String, String, String) {
    (
        arn.account().to_string(),
        arn.region().to_string(),
        arn.group_name().as_str().to_ascii_lowercase(),
    )
}

impl GovernanceInventory {
    /// Builds the inventory from the three queries (rows without a `Resource ID` are skipped).
    pub fn from_rows(
        use_cases: &[QueryRow],
        model_groups: &[QueryRow],
        models: &[QueryRow],
    ) -> Self {
        let mut inventory = Self::default();
        for row in use_cases {
            if let Some(id) = &row.id {
                inventory
                    .use_cases
                    .insert(id.clone(), text_of(row, "Name").unwrap_or_default());
            }
        }
        for row in model_groups {
            let Some(id) = &row.id else { continue };
            inventory.model_group_ids.insert(id.clone());
            if let Some(external_id) = text_of(row, fields::EXTERNAL_ID) {
                inventory
                    .model_groups
                    .entry(external_id)
                    .or_default()
                    .push(id.clone());
            }
        }
        for row in models {
            let Some(id) = &row.id else { continue };
            inventory.model_ids.insert(id.clone());
            let Some(external_id) = text_of(row, fields::EXTERNAL_ID) else {
                continue;
            };
            let Ok(arn) = ModelPackageArn::parse(&external_id) else {
                continue;
            };
            inventory
                .models_by_group
                .entry(group_key(&arn))
                .or_default()
                .insert(arn.clone());
            inventory
                .models_by_arn
                .entry(external_id.clone())
                .or_default()
                .push(ModelEntry {
                    id: id.clone(),
                    name: text_of(row, "Name").unwrap_or_default(),
                    external_id,
                    status: text_of(row, fields::MODEL_STATUS),
                    last_modified: text_of(row, LAST_MODIFICATION_DATE)
                        .and_then(|text| DateTime::parse_from_rfc3339(&text).ok())
                        .map(|time| time.with_timezone(&Utc)),
                    link: text_of(row, fields::THIRD_PARTY_LINK),
                    deployments: None,
                });
        }
        inventory
    }

    /// Reads each Model's `field` (the mapping's `Deployments` field, queried as a column of the Model
    /// query) from the same rows [`Self::from_rows`] was given.
    pub fn read_deployments(&mut self, models: &[QueryRow], field: &str) {
        let by_id: BTreeMap<&GovernanceId, Option<String>> = models
            .iter()
            .filter_map(|row| Some((row.id.as_ref()?, text_of(row, field))))
            .collect();
        for model in self.models_by_arn.values_mut().flatten() {
            if let Some(text) = by_id.get(&model.id) {
                model.deployments = text.clone();
            }
        }
    }

    /// Every Model that carries a package ARN, in ARN order.
    pub fn models(&self) -> impl Iterator<Item = &ModelEntry> {
        self.models_by_arn.values().flatten()
    }

    pub fn models_for(&self, package_arn: &str) -> &[ModelEntry] {
        self.models_by_arn
            .get(package_arn)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    pub fn has_use_case(&self, id: &GovernanceId) -> bool {
        self.use_cases.contains_key(id)
    }

    /// The name of a use case of the inventory.
    pub fn use_case_name(&self, id: &GovernanceId) -> Option<&str> {
        self.use_cases.get(id).map(String::as_str)
    }

    pub fn model_groups_for(&self, group_arn: &str) -> &[GovernanceId] {
        self.model_groups
            .get(group_arn)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    pub fn model_count(&self) -> usize {
        self.model_ids.len()
    }

    /// Package ARNs carried by models of one group of `registry`.
    pub(super) fn model_arns_in_group(
        &self,
        registry: &Registry,
        group_name: &str,
    ) -> Vec<&ModelPackageArn> {
        let key = (
            registry.account.to_string(),
            registry.region.to_string(),
            group_name.to_ascii_lowercase(),
        );
        self.models_by_group
            .get(&key)
            .map(|arns| arns.iter().collect())
            .unwrap_or_default()
    }

    /// Lower-case group names of `registry` that models point into.
    pub(super) fn model_group_names(
        &self,
        registry: &Registry,
    ) -> Vec<(&str, &BTreeSet<ModelPackageArn>)> {
        let (account, region) = (registry.account.as_str(), registry.region.as_str());
        self.models_by_group
            .iter()
            .filter(|((a, r, _), _)| a == account && r == region)
            .map(|((_, _, group), arns)| (group.as_str(), arns))
            .collect()
    }
}

/// One model package group as listed, with its tags and its packages as described.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GroupSnapshot {
    pub name: String,
    pub arn: String,
    pub tags: Vec<(String, String)>,
    pub packages: Vec<ModelPackage>,
    /// Packages known only by their batch summary, found in step by the fast pass: listed (so their
    /// models are not gone) but not compared, since a summary lacks what the comparison reads.
    pub summarized: BTreeSet<ModelPackageArn>,
}
