//! The registries govsync governs, read once at cold start.
//!
//! Deployed, they live in the DynamoDB table named by `GOVSYNC_REGISTRIES_TABLE` (`govsync-registries`),
//! one item per registry, so their number has no limit (a Lambda environment holds 4 KB in all):
//!
//! | Attribute | Type | Meaning |
//! |---|---|---|
//! | `account` | S, partition key | the registry's 12-digit AWS account id |
//! | `region` | S, sort key | the registry's region |
//! | `business_entity` | S | the governance business entity whose models live there |
//! | `role_arn` | S, optional | a role to assume instead of the spoke role `…:role/govsync/<GOVSYNC_SPOKE_ROLE_NAME>` |
//! | `studio_domain_id`, `studio_user_profile` | S, optional, together | the Studio domain and user profile a Model's govsync link signs in as |
//! | `studio_space_name` | S, optional | the Studio space to open |
//! | `studio_url_expires_seconds` | N, optional | the presigned URL's life, 5–300 (default 60) |
//! | `studio_session_seconds` | N, optional | the Studio session's life, 1800–43200 (default 43200) |
//!
//! The external id is deployment-wide (`GOVSYNC_SPOKE_EXTERNAL_ID`); an item with any other attribute is
//! refused, naming the item, so a typo never silently drops a setting. Without the table (small or local
//! setups), `GOVSYNC_REGISTRY_MAP` holds the same rows as a JSON array (see `govsync_core::registry_map`).

use std::collections::HashMap;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use govsync_core::{
    AccountId, BusinessEntity, Region, Registry, RegistryMap, RegistryMapError, RoleArn,
};

use crate::sdk_error::{FailureClass, classify};

/// The variable naming the registries table.
pub const REGISTRIES_TABLE_VAR: &str = "GOVSYNC_REGISTRIES_TABLE";
/// The variable holding the registries inline, when there is no table.
pub const REGISTRY_MAP_VAR: &str = "GOVSYNC_REGISTRY_MAP";
/// The table infra/ creates.
pub const DEFAULT_REGISTRIES_TABLE: &str = "govsync-registries";

const ATTRIBUTES: [&str; 9] = [
    "account",
    "region",
    "business_entity",
    "role_arn",
    "studio_domain_id",
    "studio_user_profile",
    "studio_space_name",
    "studio_url_expires_seconds",
    "studio_session_seconds",
];

type Item = HashMap<String, AttributeValue>;

/// Why the registries could not be read. Messages name the variable, table and item at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryLoadError {
    #[error(
        "neither GOVSYNC_REGISTRIES_TABLE nor GOVSYNC_REGISTRY_MAP is set: govsync needs the registries it governs"
    )]
    NotConfigured,
    #[error("GOVSYNC_REGISTRY_MAP: {0}")]
    Inline(#[source] RegistryMapError),
    #[error("scanning the registries table {table}: {code}: {message}")]
    Scan {
        table: String,
        code: String,
        message: String,
        retryable: bool,
    },
    #[error("registries table {table}, item {item}: {problem}")]
    InvalidItem {
        table: String,
        item: String,
        problem: String,
    },
}

impl RegistryLoadError {
    /// Only a throttled, transient or interrupted scan can succeed when tried again.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            RegistryLoadError::Scan {
                retryable: true,
                ..
            }
        )
    }
}

/// Where the registries come from, as the environment says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrySource {
    /// `GOVSYNC_REGISTRIES_TABLE`: takes precedence when set.
    Table(String),
    /// `GOVSYNC_REGISTRY_MAP`: the JSON (or TOML) text.
    Inline(String),
}

impl RegistrySource {
    /// Reads the two variables through `lookup`; blank counts as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, RegistryLoadError> {
        let set = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        if let Some(table) = set(REGISTRIES_TABLE_VAR) {
            Ok(RegistrySource::Table(table.trim().to_owned()))
        } else if let Some(map) = set(REGISTRY_MAP_VAR) {
            Ok(RegistrySource::Inline(map))
        } else {
            Err(RegistryLoadError::NotConfigured)
        }
    }

    /// The registry map: the table scanned (every page) or the inline text parsed.
    pub async fn load(&self, dynamodb: &Client) -> Result<RegistryMap, RegistryLoadError> {
        match self {
            RegistrySource::Table(table) => {
                RegistriesTable::new(dynamodb.clone(), table).load().await
            }
            RegistrySource::Inline(text) => {
                RegistryMap::parse(text).map_err(RegistryLoadError::Inline)
            }
        }
    }
}

/// The registries of the process environment, read at cold start (the table when
/// `GOVSYNC_REGISTRIES_TABLE` is set, else `GOVSYNC_REGISTRY_MAP`).
pub async fn load(sdk: &SdkConfig) -> Result<RegistryMap, RegistryLoadError> {
    RegistrySource::from_lookup(|name| std::env::var(name).ok())?
        .load(&crate::aws::dynamodb_client(sdk))
        .await
}

/// The map in the `GOVSYNC_REGISTRY_MAP` array form, for configuration read from variables.
pub fn to_registry_map_json(map: &RegistryMap) -> String {
    let rows: Vec<serde_json::Value> = map
        .registries()
        .iter()
        .map(|registry| {
            let mut row = serde_json::json!({
                "account": registry.account.as_str(),
                "region": registry.region.as_str(),
                "business_entity": registry.business_entity.as_str(),
            });
            if let (Some(role), Some(object)) = (&registry.role_arn, row.as_object_mut()) {
                object.insert("role_arn".to_owned(), role.as_str().into());
            }
            if let (Some(studio), Some(object)) = (&registry.studio, row.as_object_mut()) {
                object.insert(
                    "studio_domain_id".to_owned(),
                    studio.domain_id.clone().into(),
                );
                object.insert(
                    "studio_user_profile".to_owned(),
                    studio.user_profile.clone().into(),
                );
                if let Some(space) = &studio.space_name {
                    object.insert("studio_space_name".to_owned(), space.clone().into());
                }
                object.insert(
                    "studio_url_expires_seconds".to_owned(),
                    studio.url_expires_seconds.into(),
                );
                object.insert(
                    "studio_session_seconds".to_owned(),
                    studio.session_seconds.into(),
                );
            }
            row
        })
        .collect();
    serde_json::Value::Array(rows).to_string()
}

/// The `govsync-registries` table.
#[derive(Debug, Clone)]
pub struct RegistriesTable {
    client: Client,
    table: String,
    page_limit: Option<i32>,
}

impl RegistriesTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            page_limit: None,
        }
    }

    /// Items per scan page (DynamoDB's 1 MB pages otherwise); tests use it to force paging.
    pub fn with_page_limit(mut self, limit: i32) -> Self {
        self.page_limit = Some(limit);
        self
    }

    /// Every item, every page, validated; duplicates of a business entity are refused naming both items.
    pub async fn load(&self) -> Result<RegistryMap, RegistryLoadError> {
        let mut rows: Vec<(String, Registry)> = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .set_limit(self.page_limit)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|error| {
                    let failure = classify("scan registries", &error);
                    RegistryLoadError::Scan {
                        table: self.table.clone(),
                        code: failure.code,
                        message: failure.message,
                        retryable: !matches!(failure.class, FailureClass::Permanent),
                    }
                })?;
            for item in page.items() {
                let name = item_name(item);
                let registry =
                    registry_from_item(item).map_err(|problem| RegistryLoadError::InvalidItem {
                        table: self.table.clone(),
                        item: name.clone(),
                        problem,
                    })?;
                rows.push((name, registry));
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        if rows.is_empty() {
            // A first deploy: the functions start and skip registry events until a registry is added.
            tracing::warn!(
                table = self.table,
                "the registries table holds no registry yet: registry events are skipped until one is added (infra/DEPLOYMENT.md)"
            );
        }
        let names: Vec<String> = rows.iter().map(|(name, _)| name.clone()).collect();
        RegistryMap::new(rows.into_iter().map(|(_, registry)| registry).collect()).map_err(|error| {
            let name = |entry: usize| names.get(entry.wrapping_sub(1)).cloned().unwrap_or_default();
            let (item, problem) = match error {
                RegistryMapError::DuplicateBusinessEntity {
                    entry,
                    first,
                    business_entity,
                } => (
                    name(entry),
                    format!(
                        "maps business entity {business_entity:?} again (first mapped by item {}); each entity has one central registry",
                        name(first)
                    ),
                ),
                RegistryMapError::DuplicateRegistry { entry, first, .. } => (
                    name(entry),
                    format!("repeats the registry of item {}", name(first)),
                ),
                other => (String::from("(all)"), other.to_string()),
            };
            RegistryLoadError::InvalidItem {
                table: self.table.clone(),
                item,
                problem,
            }
        })
    }
}

/// `account/region` as far as the item says, for messages.
fn item_name(item: &Item) -> String {
    let part = |name: &str| match item.get(name) {
        Some(AttributeValue::S(value)) => value.clone(),
        _ => "?".to_owned(),
    };
    format!("{}/{}", part("account"), part("region"))
}

fn registry_from_item(item: &Item) -> Result<Registry, String> {
    if let Some(unknown) = item.keys().find(|key| !ATTRIBUTES.contains(&key.as_str())) {
        return Err(format!(
            "unknown attribute `{unknown}` (expected {})",
            ATTRIBUTES.join(", ")
        ));
    }
    let text = |name: &str| -> Result<Option<&str>, String> {
        match item.get(name) {
            Some(AttributeValue::S(value)) => Ok(Some(value)),
            Some(_) => Err(format!("attribute `{name}` is not a string (S)")),
            None => Ok(None),
        }
    };
    let required = |name: &str| -> Result<&str, String> {
        text(name)?.ok_or_else(|| format!("attribute `{name}` is missing"))
    };
    let field = |name: &str, error: govsync_core::ValidationError| format!("`{name}`: {error}");
    let seconds = |name: &str| -> Result<Option<u32>, String> {
        match item.get(name) {
            Some(AttributeValue::N(value)) => value
                .parse::<u32>()
                .map(Some)
                .map_err(|_| format!("attribute `{name}` is not a whole number of seconds")),
            Some(_) => Err(format!("attribute `{name}` is not a number (N)")),
            None => Ok(None),
        }
    };
    let studio = govsync_core::registry_map::studio_settings(
        text("studio_domain_id")?,
        text("studio_user_profile")?,
        text("studio_space_name")?,
        seconds("studio_url_expires_seconds")?,
        seconds("studio_session_seconds")?,
    )
    .map_err(|e| field("studio", e))?;
    Ok(Registry {
        account: AccountId::parse(required("account")?).map_err(|e| field("account", e))?,
        region: Region::parse(required("region")?).map_err(|e| field("region", e))?,
        business_entity: BusinessEntity::parse(required("business_entity")?)
            .map_err(|e| field("business_entity", e))?,
        role_arn: text("role_arn")?
            .map(RoleArn::parse)
            .transpose()
            .map_err(|e| field("role_arn", e))?,
        studio,
    })
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::operation::scan::{ScanError, ScanOutput};
    use aws_sdk_dynamodb::types::error::ResourceNotFoundException;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;

    fn s(value: &str) -> AttributeValue {
        AttributeValue::S(value.to_owned())
    }

    fn item(account: &str, region: &str, entity: &str) -> Item {
        HashMap::from([
            ("account".to_owned(), s(account)),
            ("region".to_owned(), s(region)),
            ("business_entity".to_owned(), s(entity)),
        ])
    }

    fn key(account: &str, region: &str) -> Item {
        HashMap::from([
            ("account".to_owned(), s(account)),
            ("region".to_owned(), s(region)),
        ])
    }

    fn page(items: Vec<Item>, last: Option<Item>) -> ScanOutput {
        ScanOutput::builder()
            .set_items(Some(items))
            .set_last_evaluated_key(last)
            .build()
    }

    async fn load_pages(pages: Vec<ScanOutput>) -> Result<RegistryMap, RegistryLoadError> {
        let mut rule = mock!(aws_sdk_dynamodb::Client::scan).sequence();
        for output in pages {
            rule = rule.output(move || output.clone());
        }
        let rule = rule.build();
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
        RegistriesTable::new(client, "govsync-registries")
            .load()
            .await
    }

    #[tokio::test]
    async fn every_page_is_read_continuing_from_the_last_evaluated_key() {
        let first = mock!(aws_sdk_dynamodb::Client::scan)
            .match_requests(|request| {
                request.table_name() == Some("govsync-registries")
                    && request.exclusive_start_key().is_none()
                    && request.consistent_read() == Some(true)
            })
            .then_output(|| {
                page(
                    vec![item("111111111111", "eu-west-1", "Retail")],
                    Some(key("111111111111", "eu-west-1")),
                )
            });
        let second = mock!(aws_sdk_dynamodb::Client::scan)
            .match_requests(|request| {
                request.exclusive_start_key() == Some(&key("111111111111", "eu-west-1"))
            })
            .then_output(|| {
                page(
                    vec![
                        item("222222222222", "us-east-1", "Cards"),
                        item("333333333333", "us-east-1", "Wealth"),
                    ],
                    None,
                )
            });
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&first, &second]);
        let map = RegistriesTable::new(client, "govsync-registries")
            .load()
            .await
            .unwrap();
        assert_eq!(map.len(), 3);
        assert_eq!(first.num_calls(), 1);
        assert_eq!(second.num_calls(), 1);
        let cards = BusinessEntity::parse("Cards").unwrap();
        assert_eq!(
            map.for_business_entity(&cards).unwrap().account.as_str(),
            "222222222222"
        );
    }

    #[tokio::test]
    async fn an_optional_role_is_read_and_survives_the_inline_form() {
        let mut with_role = item("111111111111", "eu-west-1", "Retail");
        with_role.insert(
            "role_arn".to_owned(),
            s("arn:aws:iam::111111111111:role/custom/govsync"),
        );
        let map = load_pages(vec![page(vec![with_role], None)]).await.unwrap();
        let registry = &map.registries()[0];
        assert_eq!(
            registry.role_arn.as_ref().unwrap().as_str(),
            "arn:aws:iam::111111111111:role/custom/govsync"
        );
        assert_eq!(
            RegistryMap::parse(&to_registry_map_json(&map)).unwrap(),
            map
        );
    }

    #[tokio::test]
    async fn an_invalid_item_is_refused_naming_the_item_and_attribute() {
        let cases = [
            (
                item("12345", "eu-west-1", "Retail"),
                "12345/eu-west-1",
                "`account`",
            ),
            (
                item("111111111111", "eu-west-1", " "),
                "111111111111/eu-west-1",
                "`business_entity`",
            ),
            (
                HashMap::from([("account".to_owned(), s("111111111111"))]),
                "111111111111/?",
                "`region` is missing",
            ),
            (
                {
                    let mut i = item("111111111111", "eu-west-1", "Retail");
                    i.insert("business_entity".to_owned(), AttributeValue::N("7".into()));
                    i
                },
                "111111111111/eu-west-1",
                "not a string",
            ),
            (
                {
                    let mut i = item("111111111111", "eu-west-1", "Retail");
                    i.insert("external_id".to_owned(), s("x"));
                    i
                },
                "111111111111/eu-west-1",
                "unknown attribute `external_id`",
            ),
        ];
        for (bad, name, problem_part) in cases {
            let good = item("222222222222", "us-east-1", "Cards");
            match load_pages(vec![page(vec![good, bad], None)]).await {
                Err(RegistryLoadError::InvalidItem {
                    table,
                    item,
                    problem,
                }) => {
                    assert_eq!(table, "govsync-registries");
                    assert_eq!(item, name);
                    assert!(problem.contains(problem_part), "{problem}");
                }
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn a_business_entity_mapped_twice_names_both_items_across_pages() {
        let error = load_pages(vec![
            page(
                vec![item("111111111111", "eu-west-1", "Retail")],
                Some(key("111111111111", "eu-west-1")),
            ),
            page(vec![item("222222222222", "us-east-1", "Retail")], None),
        ])
        .await
        .unwrap_err();
        let text = error.to_string();
        assert!(text.contains("item 222222222222/us-east-1"), "{text}");
        assert!(text.contains("111111111111/eu-west-1"), "{text}");
        assert!(!error.is_retryable());
    }

    /// Issue 18, 8: a first deploy, before any registry is added, starts with an empty map.
    #[tokio::test]
    async fn an_empty_table_is_an_empty_map() {
        assert!(
            load_pages(vec![page(vec![], None)])
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn throttling_is_retryable_and_a_missing_table_is_not() {
        let throttled = mock!(aws_sdk_dynamodb::Client::scan).then_error(|| {
            ScanError::generic(ErrorMetadata::builder().code("ThrottlingException").build())
        });
        let client = mock_client!(
            aws_sdk_dynamodb,
            RuleMode::Sequential,
            [&throttled],
            |config| { config.retry_config(aws_smithy_types::retry::RetryConfig::disabled()) }
        );
        let error = RegistriesTable::new(client, "govsync-registries")
            .load()
            .await
            .unwrap_err();
        assert!(error.is_retryable(), "{error}");

        let missing = mock!(aws_sdk_dynamodb::Client::scan).then_error(|| {
            ScanError::ResourceNotFoundException(
                ResourceNotFoundException::builder()
                    .message("Requested resource not found")
                    .meta(
                        ErrorMetadata::builder()
                            .code("ResourceNotFoundException")
                            .build(),
                    )
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&missing]);
        let error = RegistriesTable::new(client, "govsync-registries")
            .load()
            .await
            .unwrap_err();
        assert!(!error.is_retryable(), "{error}");
        assert!(
            error.to_string().contains("ResourceNotFoundException"),
            "{error}"
        );
    }

    #[test]
    fn the_table_takes_precedence_and_blank_counts_as_unset() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| (*value).to_owned())
            }
        };
        assert_eq!(
            RegistrySource::from_lookup(env(&[
                ("GOVSYNC_REGISTRIES_TABLE", "govsync-registries"),
                ("GOVSYNC_REGISTRY_MAP", "[]"),
            ])),
            Ok(RegistrySource::Table("govsync-registries".into()))
        );
        assert_eq!(
            RegistrySource::from_lookup(env(&[
                ("GOVSYNC_REGISTRIES_TABLE", " "),
                ("GOVSYNC_REGISTRY_MAP", "[]"),
            ])),
            Ok(RegistrySource::Inline("[]".into()))
        );
        assert_eq!(
            RegistrySource::from_lookup(env(&[])),
            Err(RegistryLoadError::NotConfigured)
        );
    }

    #[tokio::test]
    async fn the_inline_map_is_parsed_without_calling_dynamodb() {
        let scan = mock!(aws_sdk_dynamodb::Client::scan).then_output(|| page(vec![], None));
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&scan]);
        let map = RegistrySource::Inline(
            r#"[{"account":"111111111111","region":"eu-west-1","business_entity":"Retail"}]"#
                .into(),
        )
        .load(&client)
        .await
        .unwrap();
        assert_eq!(map.len(), 1);
        assert_eq!(scan.num_calls(), 0);
        assert!(
            RegistrySource::Inline("[]".into())
                .load(&client)
                .await
                .unwrap()
                .is_empty()
        );
    }
}
