//! The central registries govsync governs, each mapped to one governance business entity.
//!
//! Config file (TOML; the same shape in JSON as `{"registries": [...]}`):
//! ```toml
//! [[registries]]
//! account_id = "123456789012"
//! region = "us-east-1"
//! business_entity = "Retail Banking"
//! role_arn = "arn:aws:iam::123456789012:role/govsync-registry"   # optional: role to assume
//! # optional: where a governance user lands from a Model's govsync link (model-link function)
//! studio_domain_id = "d-abc123def456"
//! studio_user_profile = "governance-reviewer"
//! studio_space_name = "reviews"          # optional
//! studio_url_expires_seconds = 60        # optional, 5–300 (default 60)
//! studio_session_seconds = 43200         # optional, 1800–43200 (default 43200)
//! ```
//! The deployment's `RegistryMap` parameter (`GOVSYNC_REGISTRY_MAP`) is the bare JSON array, with
//! `account` for `account_id`: `[{"account": "123456789012", "region": "us-east-1", "business_entity": "…"}]`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::aws_identity::{AccountId, Region, RoleArn};
use crate::error::ValidationError;
use crate::newtype::validated_string;

/// The name of a governance business entity (a root-level `SOXBusEntity`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BusinessEntity(String);

impl BusinessEntity {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        if value.trim().is_empty() {
            Err(ValidationError::Empty {
                what: "business entity",
            })
        } else {
            Ok(Self(value.to_owned()))
        }
    }
}
validated_string!(BusinessEntity);

/// One central model registry: a SageMaker account and region.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Registry {
    pub account: AccountId,
    pub region: Region,
    pub business_entity: BusinessEntity,
    /// The role govsync assumes to reach the registry; `None` means govsync's own credentials.
    pub role_arn: Option<RoleArn>,
    /// Where a Model's govsync link lands; `None`: the console link, with a note.
    pub studio: Option<StudioSettings>,
}

/// The Studio domain and user profile a governance user is signed in as when following a Model's
/// govsync link (`CreatePresignedDomainUrl`; constraints from SageMaker's API reference).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StudioSettings {
    /// `d-…`, at most 63 characters.
    pub domain_id: String,
    pub user_profile: String,
    pub space_name: Option<String>,
    /// The presigned URL's life (`ExpiresInSeconds`, 5–300): it is used at once, so short.
    pub url_expires_seconds: u32,
    /// The Studio session's life (`SessionExpirationDurationInSeconds`, 1800–43200).
    pub session_seconds: u32,
}

impl StudioSettings {
    pub const DEFAULT_URL_EXPIRES_SECONDS: u32 = 60;
    pub const DEFAULT_SESSION_SECONDS: u32 = 43_200;

    pub fn new(
        domain_id: &str,
        user_profile: &str,
        space_name: Option<&str>,
        url_expires_seconds: Option<u32>,
        session_seconds: Option<u32>,
    ) -> Result<Self, ValidationError> {
        let invalid = |reason: String| ValidationError::Invalid {
            what: "studio settings",
            reason,
        };
        let domain_ok = domain_id.len() <= 63
            && domain_id.strip_prefix("d-").is_some_and(|rest| {
                !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric())
            });
        if !domain_ok {
            return Err(invalid(format!(
                "studio_domain_id {domain_id:?} is not a domain id (d- and up to 61 letters or digits)"
            )));
        }
        for (what, name) in [
            ("studio_user_profile", Some(user_profile)),
            ("studio_space_name", space_name),
        ] {
            if let Some(name) = name
                && !sagemaker_name(name)
            {
                return Err(invalid(format!(
                    "{what} {name:?} must be 1-63 letters, digits and single hyphens inside"
                )));
            }
        }
        let url_expires_seconds = url_expires_seconds.unwrap_or(Self::DEFAULT_URL_EXPIRES_SECONDS);
        if !(5..=300).contains(&url_expires_seconds) {
            return Err(invalid(format!(
                "studio_url_expires_seconds {url_expires_seconds} is outside 5-300"
            )));
        }
        let session_seconds = session_seconds.unwrap_or(Self::DEFAULT_SESSION_SECONDS);
        if !(1800..=43_200).contains(&session_seconds) {
            return Err(invalid(format!(
                "studio_session_seconds {session_seconds} is outside 1800-43200"
            )));
        }
        Ok(Self {
            domain_id: domain_id.to_owned(),
            user_profile: user_profile.to_owned(),
            space_name: space_name.map(str::to_owned),
            url_expires_seconds,
            session_seconds,
        })
    }
}

/// `[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`: SageMaker's pattern for profile and space names.
fn sagemaker_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
}

/// Why a registry map config is refused. Entries are numbered from 1 in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryMapError {
    #[error("registry map is not valid {format}: {message}")]
    Syntax {
        format: &'static str,
        message: String,
    },
    #[error("registry map entry {entry}: {source}")]
    InvalidEntry {
        entry: usize,
        #[source]
        source: ValidationError,
    },
    #[error(
        "registry map entry {entry} repeats account {account} in {region} (first listed as entry {first})"
    )]
    DuplicateRegistry {
        entry: usize,
        first: usize,
        account: String,
        region: String,
    },
    #[error(
        "registry map entry {entry} maps business entity {business_entity:?} again (first listed as entry {first}); each entity has one central registry"
    )]
    DuplicateBusinessEntity {
        entry: usize,
        first: usize,
        business_entity: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegistryMap {
    registries: Vec<RawRegistry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegistry {
    /// `account` in the deployment's array form.
    #[serde(alias = "account")]
    account_id: String,
    region: String,
    business_entity: String,
    #[serde(default)]
    role_arn: Option<String>,
    #[serde(default)]
    studio_domain_id: Option<String>,
    #[serde(default)]
    studio_user_profile: Option<String>,
    #[serde(default)]
    studio_space_name: Option<String>,
    #[serde(default)]
    studio_url_expires_seconds: Option<u32>,
    #[serde(default)]
    studio_session_seconds: Option<u32>,
}

/// Studio settings from an entry's optional members: none, or a domain with its user profile.
pub fn studio_settings(
    domain_id: Option<&str>,
    user_profile: Option<&str>,
    space_name: Option<&str>,
    url_expires_seconds: Option<u32>,
    session_seconds: Option<u32>,
) -> Result<Option<StudioSettings>, ValidationError> {
    fn blank(value: Option<&str>) -> Option<&str> {
        value.map(str::trim).filter(|value| !value.is_empty())
    }
    match (blank(domain_id), blank(user_profile)) {
        (None, None) => Ok(None),
        (Some(domain_id), Some(user_profile)) => StudioSettings::new(
            domain_id,
            user_profile,
            blank(space_name),
            url_expires_seconds,
            session_seconds,
        )
        .map(Some),
        _ => Err(ValidationError::Invalid {
            what: "studio settings",
            reason: "studio_domain_id and studio_user_profile go together".to_owned(),
        }),
    }
}

/// Every central registry, looked up by (account, region). No fixed limit on their number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryMap {
    registries: Vec<Registry>,
    by_location: BTreeMap<(AccountId, Region), usize>,
}

impl RegistryMap {
    /// Builds a map, refusing duplicates of a location or of a business entity. An empty map is a
    /// deployment before its first registry: the functions start and skip registry events (counted).
    pub fn new(registries: Vec<Registry>) -> Result<Self, RegistryMapError> {
        let mut by_location = BTreeMap::new();
        let mut by_entity: BTreeMap<&BusinessEntity, usize> = BTreeMap::new();
        for (index, registry) in registries.iter().enumerate() {
            let location = (registry.account.clone(), registry.region.clone());
            if let Some(first) = by_location.insert(location, index) {
                return Err(RegistryMapError::DuplicateRegistry {
                    entry: index + 1,
                    first: first + 1,
                    account: registry.account.to_string(),
                    region: registry.region.to_string(),
                });
            }
            if let Some(first) = by_entity.insert(&registry.business_entity, index) {
                return Err(RegistryMapError::DuplicateBusinessEntity {
                    entry: index + 1,
                    first: first + 1,
                    business_entity: registry.business_entity.to_string(),
                });
            }
        }
        Ok(Self {
            registries,
            by_location,
        })
    }

    pub fn from_toml_str(text: &str) -> Result<Self, RegistryMapError> {
        let raw: RawRegistryMap = toml::from_str(text).map_err(|e| RegistryMapError::Syntax {
            format: "TOML",
            message: e.to_string(),
        })?;
        Self::from_raw(raw)
    }

    /// `{"registries": [...]}` or a bare `[...]`; entries name the account `account_id` or `account`.
    pub fn from_json_str(text: &str) -> Result<Self, RegistryMapError> {
        let syntax = |message: String| RegistryMapError::Syntax {
            format: "JSON",
            message,
        };
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| syntax(e.to_string()))?;
        // The deployment's `RegistryMap` parameter is a bare array; config files wrap it.
        let raw = if value.is_array() {
            RawRegistryMap {
                registries: serde_json::from_value(value).map_err(|e| syntax(e.to_string()))?,
            }
        } else {
            serde_json::from_value(value).map_err(|e| syntax(e.to_string()))?
        };
        Self::from_raw(raw)
    }

    /// JSON when the text starts with `{` or `[`, TOML otherwise.
    pub fn parse(text: &str) -> Result<Self, RegistryMapError> {
        // TOML starts with `[[registries]]`; a JSON array with `[{` or `[]`.
        let start = text.trim_start();
        let json_array = start
            .strip_prefix('[')
            .is_some_and(|rest| rest.trim_start().starts_with(['{', ']']));
        if start.starts_with('{') || json_array {
            Self::from_json_str(text)
        } else {
            Self::from_toml_str(text)
        }
    }

    fn from_raw(raw: RawRegistryMap) -> Result<Self, RegistryMapError> {
        let registries = raw
            .registries
            .into_iter()
            .enumerate()
            .map(|(index, entry)| {
                let invalid = |source| RegistryMapError::InvalidEntry {
                    entry: index + 1,
                    source,
                };
                Ok(Registry {
                    account: AccountId::parse(&entry.account_id).map_err(invalid)?,
                    region: Region::parse(&entry.region).map_err(invalid)?,
                    business_entity: BusinessEntity::parse(&entry.business_entity)
                        .map_err(invalid)?,
                    role_arn: entry
                        .role_arn
                        .as_deref()
                        .map(RoleArn::parse)
                        .transpose()
                        .map_err(invalid)?,
                    studio: studio_settings(
                        entry.studio_domain_id.as_deref(),
                        entry.studio_user_profile.as_deref(),
                        entry.studio_space_name.as_deref(),
                        entry.studio_url_expires_seconds,
                        entry.studio_session_seconds,
                    )
                    .map_err(invalid)?,
                })
            })
            .collect::<Result<Vec<_>, RegistryMapError>>()?;
        Self::new(registries)
    }

    /// The registry at (account, region): only events from these are accepted.
    pub fn get(&self, account: &AccountId, region: &Region) -> Option<&Registry> {
        self.by_location
            .get(&(account.clone(), region.clone()))
            .and_then(|index| self.registries.get(*index))
    }

    /// The central registry of a business entity (F1: where a use case's group is created).
    pub fn for_business_entity(&self, entity: &BusinessEntity) -> Option<&Registry> {
        self.registries
            .iter()
            .find(|registry| &registry.business_entity == entity)
    }

    pub fn registries(&self) -> &[Registry] {
        &self.registries
    }

    pub fn len(&self) -> usize {
        self.registries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.registries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_REGISTRIES: &str = r#"
        [[registries]]
        account_id = "123456789012"
        region = "us-east-1"
        business_entity = "Retail Banking"

        [[registries]]
        account_id = "210987654321"
        region = "eu-west-1"
        business_entity = "Insurance"
        role_arn = "arn:aws:iam::210987654321:role/govsync-registry"
    "#;

    fn account(value: &str) -> AccountId {
        AccountId::parse(value).unwrap()
    }
    fn region(value: &str) -> Region {
        Region::parse(value).unwrap()
    }

    #[test]
    fn lookup_by_account_and_region_finds_only_listed_registries() {
        let map = RegistryMap::from_toml_str(TWO_REGISTRIES).unwrap();
        let cases = [
            ("123456789012", "us-east-1", Some("Retail Banking")),
            ("210987654321", "eu-west-1", Some("Insurance")),
            ("123456789012", "eu-west-1", None),
            ("999999999999", "us-east-1", None),
        ];
        for (acct, reg, expected) in cases {
            let found = map.get(&account(acct), &region(reg));
            assert_eq!(
                found.map(|r| r.business_entity.as_str()),
                expected,
                "{acct} {reg}"
            );
        }
        let insurance = map
            .for_business_entity(&BusinessEntity::parse("Insurance").unwrap())
            .unwrap();
        assert_eq!(
            insurance.role_arn.as_ref().unwrap().role_name(),
            "govsync-registry"
        );
    }

    #[test]
    fn json_and_toml_configs_give_the_same_map() {
        let json = r#"{"registries": [
            {"account_id": "123456789012", "region": "us-east-1", "business_entity": "Retail Banking"},
            {"account_id": "210987654321", "region": "eu-west-1", "business_entity": "Insurance",
             "role_arn": "arn:aws:iam::210987654321:role/govsync-registry"}
        ]}"#;
        assert_eq!(
            RegistryMap::parse(json).unwrap(),
            RegistryMap::parse(TWO_REGISTRIES).unwrap()
        );
    }

    #[test]
    fn the_deployment_array_form_gives_the_same_map() {
        let deployment = r#"[
            {"account": "123456789012", "region": "us-east-1", "business_entity": "Retail Banking"},
            {"account": "210987654321", "region": "eu-west-1", "business_entity": "Insurance",
             "role_arn": "arn:aws:iam::210987654321:role/govsync-registry"}
        ]"#;
        assert_eq!(
            RegistryMap::parse(deployment).unwrap(),
            RegistryMap::parse(TWO_REGISTRIES).unwrap()
        );
        // Issue 18, 8: before the first registry is added, the map is empty and the functions start.
        assert!(RegistryMap::parse("[]").unwrap().is_empty());
        let typo = r#"[{"acount": "123456789012", "region": "us-east-1", "business_entity": "A"}]"#;
        assert!(matches!(
            RegistryMap::parse(typo),
            Err(RegistryMapError::Syntax { format: "JSON", ref message }) if message.contains("acount")
        ));
    }

    #[test]
    fn there_is_no_fixed_limit_on_registries() {
        let mut toml = String::new();
        for i in 0..250 {
            toml.push_str(&format!(
                "[[registries]]\naccount_id = \"{:012}\"\nregion = \"us-east-1\"\nbusiness_entity = \"Entity {i}\"\n",
                i
            ));
        }
        let map = RegistryMap::from_toml_str(&toml).unwrap();
        assert_eq!(map.len(), 250);
        assert!(
            map.get(&account("000000000249"), &region("us-east-1"))
                .is_some()
        );
    }

    #[test]
    fn invalid_configs_are_refused_naming_the_entry() {
        let entry = |acct: &str, reg: &str, entity: &str| {
            format!(
                "[[registries]]\naccount_id = \"{acct}\"\nregion = \"{reg}\"\nbusiness_entity = \"{entity}\"\n"
            )
        };
        type Check = fn(&RegistryMapError) -> bool;
        let cases: Vec<(String, Check)> = vec![
            (entry("12345", "us-east-1", "A"), |e| {
                matches!(
                    e,
                    RegistryMapError::InvalidEntry {
                        entry: 1,
                        source: ValidationError::AccountId { .. }
                    }
                )
            }),
            (
                entry("123456789012", "us-east-1", "A") + &entry("123456789012", "useast", "B"),
                |e| {
                    matches!(
                        e,
                        RegistryMapError::InvalidEntry {
                            entry: 2,
                            source: ValidationError::Region { .. }
                        }
                    )
                },
            ),
            (entry("123456789012", "us-east-1", " "), |e| {
                matches!(
                    e,
                    RegistryMapError::InvalidEntry {
                        entry: 1,
                        source: ValidationError::Empty { .. }
                    }
                )
            }),
            (
                entry("123456789012", "us-east-1", "A") + &entry("123456789012", "us-east-1", "B"),
                |e| {
                    matches!(
                        e,
                        RegistryMapError::DuplicateRegistry {
                            entry: 2,
                            first: 1,
                            ..
                        }
                    )
                },
            ),
            (
                entry("123456789012", "us-east-1", "A") + &entry("123456789012", "us-west-2", "A"),
                |e| {
                    matches!(
                        e,
                        RegistryMapError::DuplicateBusinessEntity {
                            entry: 2,
                            first: 1,
                            ..
                        }
                    )
                },
            ),
            (
                entry("123456789012", "us-east-1", "A")
                    + "role_arn = \"arn:aws:iam::123456789012:user/x\"\n",
                |e| {
                    matches!(
                        e,
                        RegistryMapError::InvalidEntry {
                            entry: 1,
                            source: ValidationError::Arn(_)
                        }
                    )
                },
            ),
            (
                entry("123456789012", "us-east-1", "A") + "acount = \"typo\"\n",
                |e| matches!(e, RegistryMapError::Syntax { .. }),
            ),
            ("not toml at all [".into(), |e| {
                matches!(e, RegistryMapError::Syntax { .. })
            }),
        ];
        for (config, expected) in cases {
            match RegistryMap::from_toml_str(&config) {
                Err(err) => assert!(expected(&err), "{config}\n=> {err:?}"),
                Ok(map) => panic!("{config}\n=> accepted {map:?}"),
            }
        }
    }
}
