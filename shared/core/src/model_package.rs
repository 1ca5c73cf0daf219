//! The registry side's domain: model package groups and versions, their ARNs, approval and lifecycle.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};

use crate::aws_identity::{AccountId, Region, is_account_id, is_region, split_arn};
use crate::error::{ArnError, ValidationError};
use crate::newtype::validated_string;

/// SageMaker's name rule, `[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}` with length 1–63: letters, digits and inner hyphens.
pub(crate) fn is_sagemaker_name(value: &str) -> bool {
    let bytes = value.as_bytes();
    (1..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
}

/// A model package group name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModelPackageGroupName(String);

impl ModelPackageGroupName {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        if is_sagemaker_name(value) {
            Ok(Self(value.to_owned()))
        } else {
            Err(ValidationError::SageMakerName {
                what: "model package group name",
                value: value.to_owned(),
            })
        }
    }

    /// Accepts what SageMaker accepts where a group is named: a plain name or a group ARN.
    pub fn parse_name_or_arn(value: &str) -> Result<Self, ValidationError> {
        if value.starts_with("arn:") {
            Ok(ModelPackageGroupArn::parse(value)?.group_name().clone())
        } else {
            Self::parse(value)
        }
    }

    /// Derives a group name from a governance use case: its name in SageMaker's alphabet (lowercase,
    /// other characters become hyphens), suffixed with the use case id so two use cases with one name
    /// still get two groups.
    pub fn for_use_case(use_case_name: &str, use_case_id: &str) -> Result<Self, ValidationError> {
        let id = hyphenate(use_case_id, 40);
        if id.is_empty() {
            return Err(ValidationError::Empty {
                what: "use case id (letters or digits)",
            });
        }
        let base_budget = 63 - id.len() - 1;
        let base = hyphenate(use_case_name, base_budget);
        let name = if base.is_empty() {
            format!("use-case-{id}")
        } else {
            format!("{base}-{id}")
        };
        Self::parse(&name)
    }
}
validated_string!(ModelPackageGroupName);

/// Lowercase ASCII letters and digits, every other run of characters one hyphen, no hyphen at either end,
/// at most `max` characters.
fn hyphenate(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut pending_hyphen = false;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            if pending_hyphen && !out.is_empty() {
                if out.len() + 2 > max {
                    break;
                }
                out.push('-');
            }
            if out.len() + 1 > max {
                break;
            }
            pending_hyphen = false;
            out.push(c.to_ascii_lowercase());
        } else {
            pending_hyphen = true;
        }
    }
    out
}

/// A lifecycle stage or stage status name (`Development`, `InProgress`, …): SageMaker's name rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SageMakerName(String);

impl SageMakerName {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        if is_sagemaker_name(value) {
            Ok(Self(value.to_owned()))
        } else {
            Err(ValidationError::SageMakerName {
                what: "stage or stage status",
                value: value.to_owned(),
            })
        }
    }
}
validated_string!(SageMakerName);

/// `arn:<partition>:sagemaker:<region>:<account>:model-package-group/<name>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModelPackageGroupArn {
    value: String,
    partition: String,
    region: Region,
    account: AccountId,
    name: ModelPackageGroupName,
}

/// The partition, region, account and resource path of a SageMaker ARN, each checked.
fn sagemaker_arn_parts(value: &str) -> Result<(String, Region, AccountId, &str), ArnError> {
    let parts = split_arn(value, "sagemaker")?;
    if !is_region(parts.region) {
        return Err(ArnError::Region {
            value: value.to_owned(),
            region: parts.region.to_owned(),
        });
    }
    if !is_account_id(parts.account) {
        return Err(ArnError::Account {
            value: value.to_owned(),
            account: parts.account.to_owned(),
        });
    }
    Ok((
        parts.partition.to_owned(),
        Region(parts.region.to_owned()),
        AccountId(parts.account.to_owned()),
        parts.resource,
    ))
}

fn group_name_in_arn(value: &str, name: &str) -> Result<ModelPackageGroupName, ArnError> {
    if is_sagemaker_name(name) {
        Ok(ModelPackageGroupName(name.to_owned()))
    } else {
        Err(ArnError::GroupName {
            value: value.to_owned(),
            name: name.to_owned(),
        })
    }
}

impl ModelPackageGroupArn {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let (partition, region, account, resource) = sagemaker_arn_parts(value)?;
        let Some(name) = resource.strip_prefix("model-package-group/") else {
            return Err(ArnError::ResourceType {
                value: value.to_owned(),
                expected: "model package group",
            }
            .into());
        };
        let name = group_name_in_arn(value, name)?;
        Ok(Self {
            value: value.to_owned(),
            partition,
            region,
            account,
            name,
        })
    }

    /// The ARN a group of this name has in an account and region (partition from the region).
    pub fn in_registry(region: &Region, account: &AccountId, name: &ModelPackageGroupName) -> Self {
        let partition = if region.as_str().starts_with("us-gov-") {
            "aws-us-gov"
        } else if region.as_str().starts_with("cn-") {
            "aws-cn"
        } else {
            "aws"
        };
        Self {
            value: format!(
                "arn:{partition}:sagemaker:{region}:{account}:model-package-group/{name}"
            ),
            partition: partition.to_owned(),
            region: region.clone(),
            account: account.clone(),
            name: name.clone(),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.value
    }
    pub fn region(&self) -> &Region {
        &self.region
    }
    pub fn account(&self) -> &AccountId {
        &self.account
    }
    /// The name as written in the ARN (SageMaker writes ARNs in lowercase).
    pub fn group_name(&self) -> &ModelPackageGroupName {
        &self.name
    }
}

/// `arn:<partition>:sagemaker:<region>:<account>:model-package/<group>/<version>`: a versioned package.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModelPackageArn {
    value: String,
    partition: String,
    region: Region,
    account: AccountId,
    group: ModelPackageGroupName,
    version: u32,
}

impl ModelPackageArn {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let (partition, region, account, resource) = sagemaker_arn_parts(value)?;
        let Some(path) = resource.strip_prefix("model-package/") else {
            return Err(ArnError::ResourceType {
                value: value.to_owned(),
                expected: "model package",
            }
            .into());
        };
        let Some((group, version)) = path.split_once('/') else {
            return Err(ArnError::MissingVersion {
                value: value.to_owned(),
            }
            .into());
        };
        let group = group_name_in_arn(value, group)?;
        let version = parse_version(version).ok_or_else(|| ArnError::Version {
            value: value.to_owned(),
            version: version.to_owned(),
        })?;
        Ok(Self {
            value: value.to_owned(),
            partition,
            region,
            account,
            group,
            version,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.value
    }
    pub fn region(&self) -> &Region {
        &self.region
    }
    pub fn account(&self) -> &AccountId {
        &self.account
    }
    /// The group name as written in the ARN (SageMaker writes ARNs in lowercase).
    pub fn group_name(&self) -> &ModelPackageGroupName {
        &self.group
    }
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The ARN of the group this version belongs to.
    pub fn group_arn(&self) -> ModelPackageGroupArn {
        ModelPackageGroupArn {
            value: format!(
                "arn:{}:sagemaker:{}:{}:model-package-group/{}",
                self.partition, self.region, self.account, self.group
            ),
            partition: self.partition.clone(),
            region: self.region.clone(),
            account: self.account.clone(),
            name: self.group.clone(),
        }
    }
}

fn parse_version(text: &str) -> Option<u32> {
    let leading_zero = text.len() > 1 && text.starts_with('0');
    if text.is_empty() || leading_zero || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u32>().ok().filter(|v| *v > 0)
}

macro_rules! arn_traits {
    ($name:ident) => {
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.as_str().to_owned()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.value)
            }
        }
        impl std::str::FromStr for $name {
            type Err = ValidationError;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Self::parse(value)
            }
        }
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.value)
            }
        }
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <String as serde::Deserialize>::deserialize(deserializer)?;
                Self::parse(&text).map_err(<D::Error as serde::de::Error>::custom)
            }
        }
    };
}
arn_traits!(ModelPackageGroupArn);
arn_traits!(ModelPackageArn);

/// A registry resource a link, a revision or a tombstone names: a group or a versioned package.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RegistryArn {
    Group(ModelPackageGroupArn),
    Package(ModelPackageArn),
}

impl RegistryArn {
    /// A package ARN if it names a version, else a group ARN.
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        match ModelPackageArn::parse(value) {
            Ok(arn) => Ok(Self::Package(arn)),
            Err(package_error) => ModelPackageGroupArn::parse(value)
                .map(Self::Group)
                .map_err(|_| package_error),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Group(arn) => arn.as_str(),
            Self::Package(arn) => arn.as_str(),
        }
    }

    pub fn account(&self) -> &AccountId {
        match self {
            Self::Group(arn) => arn.account(),
            Self::Package(arn) => arn.account(),
        }
    }

    pub fn region(&self) -> &Region {
        match self {
            Self::Group(arn) => arn.region(),
            Self::Package(arn) => arn.region(),
        }
    }
}

impl From<ModelPackageArn> for RegistryArn {
    fn from(arn: ModelPackageArn) -> Self {
        Self::Package(arn)
    }
}

impl From<ModelPackageGroupArn> for RegistryArn {
    fn from(arn: ModelPackageGroupArn) -> Self {
        Self::Group(arn)
    }
}

impl From<&ModelPackageArn> for RegistryArn {
    fn from(arn: &ModelPackageArn) -> Self {
        Self::Package(arn.clone())
    }
}

impl From<&ModelPackageGroupArn> for RegistryArn {
    fn from(arn: &ModelPackageGroupArn) -> Self {
        Self::Group(arn.clone())
    }
}

impl AsRef<str> for RegistryArn {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for RegistryArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for RegistryArn {
    type Err = ValidationError;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::parse(value)
    }
}

impl PartialEq<ModelPackageArn> for RegistryArn {
    fn eq(&self, other: &ModelPackageArn) -> bool {
        matches!(self, Self::Package(arn) if arn == other)
    }
}

impl PartialEq<ModelPackageGroupArn> for RegistryArn {
    fn eq(&self, other: &ModelPackageGroupArn) -> bool {
        matches!(self, Self::Group(arn) if arn == other)
    }
}

/// Declares a closed enum of AWS string values with an exhaustive parse.
macro_rules! aws_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal, { $($variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => stringify!($variant)),+ }
            }

            /// Exact, case-sensitive: AWS sends these spellings and nothing else.
            pub fn parse(value: &str) -> Result<Self, ValidationError> {
                match value {
                    $(stringify!($variant) => Ok($name::$variant),)+
                    _ => Err(ValidationError::NotInEnum {
                        what: $what,
                        value: value.to_owned(),
                        allowed: concat!($(stringify!($variant), " "),+),
                    }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = ValidationError;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Self::parse(value)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <String as serde::Deserialize>::deserialize(deserializer)?;
                Self::parse(&text).map_err(<D::Error as serde::de::Error>::custom)
            }
        }
    };
}

aws_enum!(
    /// `ModelApprovalStatus`.
    ApprovalStatus, "ModelApprovalStatus", { Approved, Rejected, PendingManualApproval }
);

aws_enum!(
    /// `ModelPackageStatus`.
    ModelPackageStatus, "ModelPackageStatus", { Pending, InProgress, Completed, Failed, Deleting }
);

/// SageMaker's limit on `StageDescription`, `ApprovalDescription` and group descriptions.
pub const DESCRIPTION_MAX_CHARS: usize = 1024;

/// A description SageMaker will accept: at most 1024 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Description(String);

impl Description {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let len = value.chars().count();
        if len > DESCRIPTION_MAX_CHARS {
            return Err(ValidationError::TooLong {
                what: "description",
                len,
                max: DESCRIPTION_MAX_CHARS,
            });
        }
        Ok(Self(value.to_owned()))
    }

    /// Fits any text into the limit, marking a cut with `...` (for text govsync composes, like
    /// "approved by X at T: reason").
    pub fn truncating(text: &str) -> Self {
        if text.chars().count() <= DESCRIPTION_MAX_CHARS {
            return Self(text.to_owned());
        }
        let mut cut: String = text.chars().take(DESCRIPTION_MAX_CHARS - 3).collect();
        cut.push_str("...");
        Self(cut)
    }
}
validated_string!(Description);

/// `ModelLifeCycle`: where a version is in its life, as SageMaker records it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Lifecycle {
    pub stage: SageMakerName,
    pub stage_status: SageMakerName,
    pub stage_description: Option<Description>,
}

impl Lifecycle {
    /// A lifecycle from SageMaker's text: stage and status as names, the description at most 1024
    /// characters.
    pub fn parse(
        stage: &str,
        stage_status: &str,
        stage_description: Option<&str>,
    ) -> Result<Self, ValidationError> {
        Ok(Self {
            stage: SageMakerName::parse(stage)?,
            stage_status: SageMakerName::parse(stage_status)?,
            stage_description: stage_description.map(Description::parse).transpose()?,
        })
    }
}

/// A model package group and its ARN.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ModelGroup {
    pub name: ModelPackageGroupName,
    pub arn: ModelPackageGroupArn,
}

/// What a registry says about a model's build, for the governance `Model` record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TechnicalMetadata {
    pub description: Option<String>,
    pub inference_images: Vec<String>,
    pub model_data_urls: Vec<String>,
    pub metrics_uris: Vec<String>,
    /// `MetadataProperties.GeneratedBy` (often a pipeline execution ARN).
    pub generated_by: Option<String>,
    /// The creator as SageMaker records it: the Studio user profile, else the IAM identity.
    pub created_by: Option<String>,
    /// What else the registry knows, for the field mapping.
    pub facts: RegistryFacts,
}

/// What SageMaker records about a version beyond its build, for the tenant's field mapping
/// ([`crate::field_mapping`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistryFacts {
    /// `Domain` (e.g. `MACHINE_LEARNING`).
    pub domain: Option<String>,
    /// `Task` (e.g. `CLASSIFICATION`).
    pub task: Option<String>,
    pub sample_payload_url: Option<String>,
    /// The S3 URIs under `DriftCheckBaselines`.
    pub drift_baseline_uris: Vec<String>,
    /// `MetadataProperties` (`GeneratedBy`, `Repository`, `CommitId`, `ProjectId`), in that order.
    pub lineage: Vec<(String, String)>,
    /// A short text of the package's Model Card ([`model_card_summary`]).
    pub model_card_summary: Option<String>,
    /// The package's Model Card itself, for govsync's merge ([`crate::model_card`]).
    pub model_card: Option<crate::model_card::PackageCard>,
}

/// The `MetadataProperties` members, in the order lineage is reported.
pub const LINEAGE_KEYS: [&str; 4] = ["GeneratedBy", "Repository", "CommitId", "ProjectId"];

/// Longest Model Card summary sent to governance.
pub const MAX_CARD_SUMMARY_CHARS: usize = 1000;

/// A Model Card's summary: its status, then the first of the card's own descriptions that is
/// filled (model description, purpose, intended uses, business problem). `None` without such a
/// description: a status alone says nothing to sync, and govsync's own card writes (which fill none
/// of these) then never read as a change of the package.
pub fn model_card_summary(content: Option<&str>, status: Option<&str>) -> Option<String> {
    let card: serde_json::Value = content
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or(serde_json::Value::Null);
    let paths: [(&str, &str); 4] = [
        ("model_overview", "model_description"),
        ("intended_uses", "purpose_of_model"),
        ("intended_uses", "intended_uses"),
        ("business_details", "business_problem"),
    ];
    let text = paths.iter().find_map(|(section, member)| {
        card.get(section)
            .and_then(|s| s.get(member))
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .filter(|text| !text.is_empty())
    });
    let status = status.map(str::trim).filter(|s| !s.is_empty());
    let summary = match (status, text) {
        (_, None) => return None,
        (None, Some(text)) => text.to_owned(),
        (Some(status), Some(text)) => format!("{status}: {text}"),
    };
    Some(summary.chars().take(MAX_CARD_SUMMARY_CHARS).collect())
}

/// A model package version as the registry describes it (a state-change event or `DescribeModelPackage`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelVersion {
    pub arn: ModelPackageArn,
    /// The group's name as SageMaker spells it (the ARN may hold it lowercased).
    pub group_name: ModelPackageGroupName,
    pub package_status: Option<ModelPackageStatus>,
    pub approval: Option<ApprovalStatus>,
    pub approval_description: Option<String>,
    pub lifecycle: Option<Lifecycle>,
    /// As received; validated only when govsync writes (see `customer_metadata`).
    pub customer_metadata: BTreeMap<String, String>,
    pub technical: TechnicalMetadata,
    pub creation_time: Option<DateTime<Utc>>,
    pub last_modified_time: Option<DateTime<Utc>>,
}

impl ModelVersion {
    pub fn version(&self) -> u32 {
        self.arn.version()
    }
}

#[cfg(test)]
mod tests;
