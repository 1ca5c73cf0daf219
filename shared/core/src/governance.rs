//! The governance side's domain: use cases, statuses (tenant-defined strings), links between the two
//! sides, and the revision stamp govsync writes.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};

use crate::customer_metadata::{self, CustomerMetadata, MAX_VALUE_CHARS, keys};
use crate::error::ValidationError;
use crate::model_package::ModelPackageGroupName;
use crate::newtype::validated_string;

/// A governance object id (`Resource ID`), safe to store in customer metadata.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GovernanceId(String);

impl GovernanceId {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        if value.is_empty() {
            return Err(ValidationError::Empty {
                what: "governance id",
            });
        }
        let len = value.chars().count();
        if len > MAX_VALUE_CHARS {
            return Err(ValidationError::TooLong {
                what: "governance id",
                len,
                max: MAX_VALUE_CHARS,
            });
        }
        if !value.chars().all(customer_metadata::is_allowed_char) {
            return Err(ValidationError::Characters {
                what: "governance id",
                value: value.to_owned(),
            });
        }
        Ok(Self(value.to_owned()))
    }
}
validated_string!(GovernanceId);

/// A governance status such as `Under Development`. Tenants customise their enums, so this is the
/// tenant's string, compared exactly; only blank is refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GovernanceStatus(String);

impl GovernanceStatus {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        if value.trim().is_empty() {
            Err(ValidationError::Empty {
                what: "governance status",
            })
        } else {
            Ok(Self(value.to_owned()))
        }
    }
}
validated_string!(GovernanceStatus);

/// A use case's risk level (tenant-defined, e.g. `High`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RiskLevel(String);

impl RiskLevel {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        if value.trim().is_empty() {
            Err(ValidationError::Empty { what: "risk level" })
        } else {
            Ok(Self(value.to_owned()))
        }
    }
}
validated_string!(RiskLevel);

/// An email address, checked for shape only (one `@`, a dotted domain, no spaces).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let shaped = value.len() <= 254
            && value.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains("..")
            })
            && !value.chars().any(|c| c.is_whitespace() || c.is_control());
        if shaped {
            Ok(Self(value.to_owned()))
        } else {
            Err(ValidationError::Email {
                value: value.to_owned(),
            })
        }
    }
}
validated_string!(EmailAddress);

/// A plain http(s) link into the governance console, storable in customer metadata (no query string).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GovernanceUrl(String);

impl GovernanceUrl {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let rest = value
            .strip_prefix("https://")
            .or_else(|| value.strip_prefix("http://"));
        let ok = rest.is_some_and(|rest| !rest.is_empty())
            && customer_metadata::validate_value("url", value).is_ok()
            && !value.contains(' ');
        if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err(ValidationError::Url {
                value: value.to_owned(),
            })
        }
    }
}
validated_string!(GovernanceUrl);

/// An AI use case in governance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UseCase {
    pub id: GovernanceId,
    pub name: String,
    pub risk_level: Option<RiskLevel>,
    pub status: GovernanceStatus,
    pub data_science_team_email: Option<EmailAddress>,
}

impl UseCase {
    /// The model package group name govsync creates for this use case (F1).
    pub fn model_package_group_name(&self) -> Result<ModelPackageGroupName, ValidationError> {
        ModelPackageGroupName::for_use_case(&self.name, self.id.as_str())
    }
}

/// The governance objects a model package is linked to, and links to view them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Links {
    pub use_case_id: Option<GovernanceId>,
    pub model_group_id: Option<GovernanceId>,
    pub model_id: Option<GovernanceId>,
    pub use_case_url: Option<GovernanceUrl>,
    pub model_group_url: Option<GovernanceUrl>,
    pub model_url: Option<GovernanceUrl>,
}

impl Links {
    fn entries(&self) -> [(&'static str, Option<&str>); 6] {
        [
            (
                keys::USE_CASE_ID,
                self.use_case_id.as_ref().map(|v| v.as_str()),
            ),
            (
                keys::MODEL_GROUP_ID,
                self.model_group_id.as_ref().map(|v| v.as_str()),
            ),
            (keys::MODEL_ID, self.model_id.as_ref().map(|v| v.as_str())),
            (
                keys::USE_CASE_URL,
                self.use_case_url.as_ref().map(|v| v.as_str()),
            ),
            (
                keys::MODEL_GROUP_URL,
                self.model_group_url.as_ref().map(|v| v.as_str()),
            ),
            (keys::MODEL_URL, self.model_url.as_ref().map(|v| v.as_str())),
        ]
    }

    /// Adds the links that are set to `metadata` (F2 write-back).
    pub fn write_to(
        &self,
        metadata: &mut CustomerMetadata,
    ) -> Result<(), customer_metadata::MetadataError> {
        for (key, value) in self.entries() {
            if let Some(value) = value {
                metadata.insert(key, value)?;
            }
        }
        Ok(())
    }

    /// Reads links back from a package's metadata; entries that are missing or malformed are `None`.
    pub fn from_customer_metadata(map: &BTreeMap<String, String>) -> Self {
        let id = |key: &str| map.get(key).and_then(|v| GovernanceId::parse(v).ok());
        let url = |key: &str| map.get(key).and_then(|v| GovernanceUrl::parse(v).ok());
        Self {
            use_case_id: id(keys::USE_CASE_ID),
            model_group_id: id(keys::MODEL_GROUP_ID),
            model_id: id(keys::MODEL_ID),
            use_case_url: url(keys::USE_CASE_URL),
            model_group_url: url(keys::MODEL_GROUP_URL),
            model_url: url(keys::MODEL_URL),
        }
    }
}

/// The `govsync:rev` stamp: a number that only grows for one object, so a write older than the last one
/// applied can be recognised and a write govsync made itself can be recognised on the way back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Revision(u64);

impl Revision {
    pub const METADATA_KEY: &'static str = keys::REVISION;

    pub fn new(value: u64) -> Self {
        Self(value)
    }

    /// A revision from a source modification time, in epoch milliseconds; times before 1970 give 0.
    pub fn from_time(time: DateTime<Utc>) -> Self {
        Self(u64::try_from(time.timestamp_millis()).unwrap_or(0))
    }

    pub fn value(self) -> u64 {
        self.0
    }

    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let canonical = !value.is_empty()
            && value.bytes().all(|b| b.is_ascii_digit())
            && (value == "0" || !value.starts_with('0'));
        value
            .parse::<u64>()
            .ok()
            .filter(|_| canonical)
            .map(Self)
            .ok_or_else(|| ValidationError::Revision {
                value: value.to_owned(),
            })
    }

    /// Reads the stamp from a package's metadata; absent or malformed is `None`.
    pub fn from_customer_metadata(map: &BTreeMap<String, String>) -> Option<Self> {
        map.get(keys::REVISION).and_then(|v| Self::parse(v).ok())
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn governance_ids_must_fit_customer_metadata() {
        let cases = [
            ("1234", true),
            ("MOD-00042", true),
            ("", false),
            ("12,34", false),
            ("a?b", false),
        ];
        for (input, valid) in cases {
            assert_eq!(GovernanceId::parse(input).is_ok(), valid, "{input:?}");
        }
    }

    #[test]
    fn governance_status_keeps_the_tenant_string_exactly() {
        let status = GovernanceStatus::parse("Under Development").unwrap();
        assert_eq!(status.as_str(), "Under Development");
        assert_ne!(
            status,
            GovernanceStatus::parse("under development").unwrap()
        );
        assert!(GovernanceStatus::parse("   ").is_err());
    }

    #[test]
    fn email_addresses_are_checked_for_shape() {
        let cases = [
            ("ds-team@example.com", true),
            ("a.b+c@sub.example.co.uk", true),
            ("no-at.example.com", false),
            ("@example.com", false),
            ("a@example", false),
            ("a@@example.com", false),
            ("a b@example.com", false),
            ("a@example..com", false),
            ("a@.example.com", false),
        ];
        for (input, valid) in cases {
            assert_eq!(EmailAddress::parse(input).is_ok(), valid, "{input:?}");
        }
    }

    #[test]
    fn governance_urls_must_be_plain_http_links() {
        let cases = [
            (
                "https://grc.example.com/app/jspview/react/grc/task-view/1234",
                true,
            ),
            ("http://127.0.0.1:8080/view/1234", true),
            ("https://grc.example.com/view?id=1234", false),
            ("https://grc.example.com/view#1234", false),
            ("ftp://grc.example.com/1234", false),
            ("https://", false),
            ("https://grc.example.com/a b", false),
        ];
        for (input, valid) in cases {
            assert_eq!(GovernanceUrl::parse(input).is_ok(), valid, "{input:?}");
        }
    }

    #[test]
    fn links_round_trip_through_customer_metadata() {
        let links = Links {
            use_case_id: Some(GovernanceId::parse("101").unwrap()),
            model_group_id: Some(GovernanceId::parse("202").unwrap()),
            model_id: Some(GovernanceId::parse("303").unwrap()),
            use_case_url: Some(GovernanceUrl::parse("https://grc.example.com/view/101").unwrap()),
            model_group_url: None,
            model_url: Some(GovernanceUrl::parse("https://grc.example.com/view/303").unwrap()),
        };
        let mut metadata = CustomerMetadata::new();
        links.write_to(&mut metadata).unwrap();
        assert_eq!(metadata.len(), 5);
        assert_eq!(metadata.get(keys::MODEL_ID), Some("303"));
        assert_eq!(Links::from_customer_metadata(metadata.as_map()), links);
    }

    #[test]
    fn malformed_links_in_metadata_read_as_absent() {
        let mut map = BTreeMap::new();
        map.insert(keys::MODEL_ID.to_string(), String::new());
        map.insert(
            keys::MODEL_URL.to_string(),
            "javascript:alert(1)".to_string(),
        );
        assert_eq!(Links::from_customer_metadata(&map), Links::default());
    }

    #[test]
    fn revisions_parse_canonical_integers_and_order_numerically() {
        let cases = [
            ("0", Some(0)),
            ("17", Some(17)),
            ("1767345504000", Some(1_767_345_504_000)),
            ("017", None),
            ("-1", None),
            ("+1", None),
            ("", None),
            ("18446744073709551616", None),
        ];
        for (input, expected) in cases {
            assert_eq!(
                Revision::parse(input).ok().map(Revision::value),
                expected,
                "{input:?}"
            );
        }
        assert!(Revision::new(9) < Revision::new(10));
        let time = DateTime::parse_from_rfc3339("2026-01-02T09:18:24.5Z")
            .unwrap()
            .to_utc();
        assert_eq!(Revision::from_time(time).to_string(), "1767345504500");
    }

    #[test]
    fn use_case_derives_its_group_name() {
        let use_case = UseCase {
            id: GovernanceId::parse("4711").unwrap(),
            name: "Fraud Detection".into(),
            risk_level: Some(RiskLevel::parse("High").unwrap()),
            status: GovernanceStatus::parse("Approved for Development").unwrap(),
            data_science_team_email: Some(EmailAddress::parse("ds@example.com").unwrap()),
        };
        assert_eq!(
            use_case.model_package_group_name().unwrap().as_str(),
            "fraud-detection-4711"
        );
    }
}
