//! Data the model-registry port passes, SageMaker's input limits (checked before any call,
//! because the SDK does not check them), and the port's error.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::customer_metadata;

pub use crate::model_package::ApprovalStatus;
pub use crate::model_package::RegistryFacts;
use crate::model_package::{
    ModelPackageArn, ModelPackageGroupArn, ModelPackageGroupName, ModelPackageStatus,
};

/// `ModelLifeCycle {Stage, StageStatus, StageDescription}`: core's [`Lifecycle`], validated when built.
pub type ModelLifecycle = crate::model_package::Lifecycle;

/// A metrics report attached to a package (`ModelMetrics`), e.g. `ModelQuality.Statistics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsReport {
    pub name: String,
    pub s3_uri: String,
}

/// What `DescribeModelPackage` says about a package, reduced to what govsync uses.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelPackage {
    pub arn: ModelPackageArn,
    /// As SageMaker spells it (the ARN may hold it lowercased).
    pub group_name: Option<ModelPackageGroupName>,
    pub version: Option<i32>,
    pub description: Option<String>,
    pub status: Option<ModelPackageStatus>,
    pub approval_status: Option<ApprovalStatus>,
    pub approval_description: Option<String>,
    pub creation_time: Option<DateTime<Utc>>,
    pub last_modified_time: Option<DateTime<Utc>>,
    pub customer_metadata: BTreeMap<String, String>,
    pub lifecycle: Option<ModelLifecycle>,
    pub inference_images: Vec<String>,
    pub model_data_urls: Vec<String>,
    /// `InferenceSpecification.Containers`, for the artifact fingerprint.
    pub containers: Vec<crate::artifact::ContainerArtifact>,
    pub metrics: Vec<MetricsReport>,
    /// The IAM identity ARN or Studio user profile that registered the package.
    pub created_by: Option<String>,
    /// The IAM identity ARN or Studio user profile that changed the package last.
    pub last_modified_by: Option<String>,
    /// Domain, task, sample payload, drift baselines, lineage, Model Card summary.
    pub facts: RegistryFacts,
}

impl ModelPackage {
    /// A package known by its ARN alone; every other field empty.
    pub fn new(arn: ModelPackageArn) -> Self {
        Self {
            arn,
            group_name: None,
            version: None,
            description: None,
            status: None,
            approval_status: None,
            approval_description: None,
            creation_time: None,
            last_modified_time: None,
            customer_metadata: BTreeMap::new(),
            lifecycle: None,
            inference_images: Vec::new(),
            model_data_urls: Vec::new(),
            containers: Vec::new(),
            metrics: Vec::new(),
            created_by: None,
            last_modified_by: None,
            facts: RegistryFacts::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageGroupSummary {
    pub name: ModelPackageGroupName,
    pub arn: ModelPackageGroupArn,
    pub description: Option<String>,
    pub status: Option<String>,
    pub creation_time: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageSummary {
    pub arn: ModelPackageArn,
    pub group_name: Option<ModelPackageGroupName>,
    pub version: Option<i32>,
    pub status: Option<ModelPackageStatus>,
    pub approval_status: Option<ApprovalStatus>,
    pub creation_time: Option<DateTime<Utc>>,
}

/// A `CreatePresignedDomainUrl` call: sign a person in to a Studio user profile, landing on a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedUrlRequest {
    pub domain_id: String,
    pub user_profile: String,
    pub space_name: Option<String>,
    pub expires_in_seconds: u32,
    pub session_seconds: u32,
    /// `studio::<relative path>`.
    pub landing_uri: String,
}

/// An `UpdateModelPackage` call. Metadata is merged by SageMaker: keys not named stay.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageUpdate {
    pub arn: ModelPackageArn,
    pub approval_status: Option<ApprovalStatus>,
    pub approval_description: Option<String>,
    pub metadata_to_set: BTreeMap<String, String>,
    pub metadata_to_remove: Vec<String>,
    pub lifecycle: Option<ModelLifecycle>,
    /// `ModelCard {ModelCardContent, ModelCardStatus}`: the whole content, merged beforehand.
    pub model_card: Option<crate::model_card::CardWrite>,
    /// Makes the call idempotent; derive it from the business key so a retry reuses it.
    pub client_token: Option<String>,
}

impl PackageUpdate {
    /// An update of `arn` that changes nothing yet.
    pub fn new(arn: ModelPackageArn) -> Self {
        Self {
            arn,
            approval_status: None,
            approval_description: None,
            metadata_to_set: BTreeMap::new(),
            metadata_to_remove: Vec::new(),
            lifecycle: None,
            model_card: None,
            client_token: None,
        }
    }

    /// Checks every SageMaker limit the request touches, naming the offending key.
    pub fn validate(&self) -> Result<(), RegistryValidationError> {
        if self.metadata_to_set.len() > MAX_METADATA_ENTRIES {
            return Err(RegistryValidationError::new(
                "CustomerMetadataProperties",
                format!(
                    "{} entries, at most {MAX_METADATA_ENTRIES} allowed",
                    self.metadata_to_set.len()
                ),
            ));
        }
        for (key, value) in &self.metadata_to_set {
            validate_metadata_key(key)?;
            validate_metadata_value(key, value)?;
        }
        for key in &self.metadata_to_remove {
            validate_metadata_key(key)?;
            if self.metadata_to_set.contains_key(key) {
                return Err(RegistryValidationError::new(
                    key,
                    "is both set and removed in one update",
                ));
            }
        }
        if let Some(description) = &self.approval_description {
            validate_max_chars("ApprovalDescription", description, MAX_DESCRIPTION_CHARS)?;
        }
        // The lifecycle is core's `Lifecycle`: its names and description were checked when it was built.
        if let Some(token) = &self.client_token {
            validate_client_token(token)?;
        }
        Ok(())
    }
}

/// A `CreateModelPackageGroup` call.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewPackageGroup {
    pub name: String,
    pub description: Option<String>,
    pub tags: BTreeMap<String, String>,
}

impl NewPackageGroup {
    pub fn validate(&self) -> Result<(), RegistryValidationError> {
        validate_stage_name("ModelPackageGroupName", &self.name)?;
        if let Some(description) = &self.description {
            validate_max_chars(
                "ModelPackageGroupDescription",
                description,
                MAX_DESCRIPTION_CHARS,
            )?;
        }
        if self.tags.len() > MAX_TAGS {
            return Err(RegistryValidationError::new(
                "Tags",
                format!("{} tags, at most {MAX_TAGS} allowed", self.tags.len()),
            ));
        }
        for (key, value) in &self.tags {
            let key_chars = key.chars().count();
            if !(1..=128).contains(&key_chars) {
                return Err(RegistryValidationError::new(
                    key,
                    "tag key must be 1 to 128 characters",
                ));
            }
            validate_max_chars(key, value, 256)?;
        }
        Ok(())
    }
}

pub const MAX_METADATA_ENTRIES: usize = customer_metadata::MAX_ENTRIES;
pub const MAX_METADATA_KEY_CHARS: usize = customer_metadata::MAX_KEY_CHARS;
pub const MAX_METADATA_VALUE_CHARS: usize = customer_metadata::MAX_VALUE_CHARS;
pub const MAX_DESCRIPTION_CHARS: usize = 1024;
pub const MAX_CLIENT_TOKEN_CHARS: usize = 36;
pub const MAX_TAGS: usize = 50;
pub const MAX_GROUP_POLICY_CHARS: usize = 20_480;

/// An input SageMaker would reject, found before calling it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid registry input `{key}`: {reason}")]
pub struct RegistryValidationError {
    /// The metadata key, tag key or request parameter at fault.
    pub key: String,
    pub reason: String,
}

impl RegistryValidationError {
    fn new(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

/// One rule set for metadata, `customer_metadata`'s: what govsync writes is checked as it is built.
pub fn validate_metadata_key(key: &str) -> Result<(), RegistryValidationError> {
    customer_metadata::validate_key(key)
        .map_err(|error| RegistryValidationError::new(key, error.to_string()))
}

pub fn validate_metadata_value(key: &str, value: &str) -> Result<(), RegistryValidationError> {
    customer_metadata::validate_value(key, value)
        .map_err(|error| RegistryValidationError::new(key, error.to_string()))
}

/// `ClientToken`: 1–36 of `[a-zA-Z0-9-]`.
pub fn validate_client_token(token: &str) -> Result<(), RegistryValidationError> {
    let valid_len = (1..=MAX_CLIENT_TOKEN_CHARS).contains(&token.len());
    if !valid_len || !token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(RegistryValidationError::new(
            "ClientToken",
            format!("must be 1 to {MAX_CLIENT_TOKEN_CHARS} of [a-zA-Z0-9-], got {token:?}"),
        ));
    }
    Ok(())
}

/// Group names, stages and stage statuses: `[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`.
pub fn validate_stage_name(param: &str, value: &str) -> Result<(), RegistryValidationError> {
    let bytes = value.as_bytes();
    let alphanumeric_count = bytes.iter().filter(|b| b.is_ascii_alphanumeric()).count();
    let valid = !bytes.is_empty()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && alphanumeric_count <= 63;
    if valid {
        Ok(())
    } else {
        Err(RegistryValidationError::new(
            param,
            format!("{value:?} does not match [a-zA-Z0-9](-*[a-zA-Z0-9]){{0,62}}"),
        ))
    }
}

fn validate_max_chars(param: &str, value: &str, max: usize) -> Result<(), RegistryValidationError> {
    let chars = value.chars().count();
    if chars > max {
        return Err(RegistryValidationError::new(
            param,
            format!("{chars} characters, at most {max} allowed"),
        ));
    }
    Ok(())
}

/// Errors of the registry port.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RegistryError {
    /// The package or group does not exist (SageMaker answers `ValidationException` for a
    /// missing package, `ResourceNotFound` elsewhere).
    #[error("registry: {resource} not found")]
    NotFound { resource: String },
    #[error(transparent)]
    Invalid(#[from] RegistryValidationError),
    #[error("registry {operation} throttled: {message}")]
    Throttled {
        operation: &'static str,
        message: String,
    },
    #[error("registry {operation} conflict: {message}")]
    Conflict {
        operation: &'static str,
        message: String,
    },
    /// A permanent refusal (validation, access denied, limit exceeded).
    #[error("registry {operation} rejected ({code}): {message}")]
    Rejected {
        operation: &'static str,
        code: String,
        message: String,
    },
    #[error("registry {operation} service error ({code}): {message}")]
    Service {
        operation: &'static str,
        code: String,
        message: String,
        retryable: bool,
    },
    #[error("registry {operation} transport error: {message}")]
    Transport {
        operation: &'static str,
        message: String,
    },
    #[error("registry {operation}: unexpected response: {message}")]
    Decode {
        operation: &'static str,
        message: String,
    },
}

impl RegistryError {
    pub fn is_retryable(&self) -> bool {
        match self {
            RegistryError::Throttled { .. }
            | RegistryError::Conflict { .. }
            | RegistryError::Transport { .. } => true,
            RegistryError::Service { retryable, .. } => *retryable,
            RegistryError::NotFound { .. }
            | RegistryError::Invalid(_)
            | RegistryError::Rejected { .. }
            | RegistryError::Decode { .. } => false,
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, RegistryError::NotFound { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package_arn() -> ModelPackageArn {
        ModelPackageArn::parse("arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1")
            .unwrap()
    }

    fn update_with_metadata(key: &str, value: &str) -> PackageUpdate {
        PackageUpdate {
            metadata_to_set: BTreeMap::from([(key.to_owned(), value.to_owned())]),
            ..PackageUpdate::new(package_arn())
        }
    }

    #[test]
    fn metadata_value_with_json_characters_is_rejected_naming_the_key() {
        let error = update_with_metadata("govsync:model-id", "{\"a\":1}")
            .validate()
            .unwrap_err();
        assert_eq!(error.key, "govsync:model-id");
    }

    #[test]
    fn metadata_allows_urls_ids_and_unicode_letters() {
        update_with_metadata(
            "govsync:model-url",
            "https://gov.example.com/opgrc/model/12 Zürich @team+x=1",
        )
        .validate()
        .unwrap();
    }

    #[test]
    fn metadata_limits_on_length_and_count() {
        assert!(
            update_with_metadata(&"k".repeat(129), "v")
                .validate()
                .is_err()
        );
        assert!(
            update_with_metadata("k", &"v".repeat(257))
                .validate()
                .is_err()
        );
        assert!(update_with_metadata("k", "").validate().is_err());
        let too_many = PackageUpdate {
            metadata_to_set: (0..51).map(|i| (format!("k{i}"), "v".to_owned())).collect(),
            ..PackageUpdate::new(package_arn())
        };
        assert_eq!(
            too_many.validate().unwrap_err().key,
            "CustomerMetadataProperties"
        );
    }

    #[test]
    fn client_token_must_match_sagemaker_pattern() {
        assert!(validate_client_token("govsync-1f2e").is_ok());
        assert!(validate_client_token("").is_err());
        assert!(validate_client_token(&"a".repeat(37)).is_err());
        assert!(validate_client_token("has_underscore").is_err());
    }

    #[test]
    fn long_approval_or_stage_description_is_rejected() {
        let update = PackageUpdate {
            approval_description: Some("x".repeat(1025)),
            ..PackageUpdate::new(package_arn())
        };
        assert_eq!(update.validate().unwrap_err().key, "ApprovalDescription");
        // A lifecycle is core's type: a description over the limit cannot even be built.
        assert!(ModelLifecycle::parse("Production", "Approved", Some(&"x".repeat(1025))).is_err());
    }

    #[test]
    fn stage_names_follow_the_sagemaker_name_pattern() {
        assert!(validate_stage_name("Stage", "DataPrep-DataCollection").is_ok());
        assert!(validate_stage_name("Stage", "-Leading").is_err());
        assert!(validate_stage_name("Stage", "Trailing-").is_err());
        assert!(validate_stage_name("Stage", "has space").is_err());
        assert!(validate_stage_name("Stage", &"a".repeat(64)).is_err());
        assert!(validate_stage_name("Stage", &"a".repeat(63)).is_ok());
    }
}
