//! `BatchDescribeModelPackage`: summaries of up to 100 versions a call, for a reconcile pass that cannot
//! afford one DescribeModelPackage per package under SageMaker's rate limits (issue #17).
//!
//! A summary (API reference, BatchDescribeModelPackageSummary) carries only ModelPackageGroupName,
//! ModelPackageVersion, ModelPackageArn, ModelPackageDescription, CreationTime, InferenceSpecification,
//! ModelPackageStatus, ModelApprovalStatus and ModelPackageRegistrationType. DescribeModelPackage also has
//! LastModifiedTime/By, CreatedBy, ApprovalDescription, CustomerMetadataProperties, ModelLifeCycle,
//! ModelCard, ModelMetrics, MetadataProperties, DriftCheckBaselines, Domain, Task and SamplePayloadUrl:
//! drift in those is invisible here, hence a deep pass with full describes.
//!
//! ARNs SageMaker cannot describe come back per ARN in `BatchDescribeModelPackageErrorMap`
//! (`{ErrorCode, ErrorResponse}`); a failed call (throttling, access to the operation) fails the whole
//! batch, classified as every other registry call.

use std::collections::{HashMap, HashSet};

use aws_sdk_sagemaker::types::BatchDescribeModelPackageSummary;
use govsync_core::ports::{ModelPackage, RegistryError};
use govsync_core::{ModelPackageArn, ModelPackageGroupName, ModelPackageStatus};

use super::{
    SageMakerRegistry, approval_from_sdk, container_artifact, decoded, registry_error, to_chrono,
};

const OP: &str = "BatchDescribeModelPackage";

/// Most ARNs one call takes (`ModelPackageArnList`: 1–100 items).
pub const MAX_BATCH_ARNS: usize = 100;

/// A package as a batch summary describes it. `package` holds the summary's members; every other field
/// of [`ModelPackage`] is empty because the summary does not carry it, not because the package has none
/// (see the module documentation): never compare those fields with a full description.
#[derive(Debug, Clone, PartialEq)]
pub struct SummarizedPackage {
    /// The ARN as it was asked for (the answer's key); `package.arn` is the one SageMaker wrote.
    pub requested: ModelPackageArn,
    pub package: ModelPackage,
    /// `ModelPackageRegistrationType` (`Logged` or `Registered`), when SageMaker gave one.
    pub registration_type: Option<String>,
}

impl SummarizedPackage {
    /// What a batch summary would say of a fully described package: the members a summary lacks are
    /// cleared (the fake registry answers batches this way).
    pub fn of_description(package: &ModelPackage) -> Self {
        let summary = ModelPackage {
            group_name: package.group_name.clone(),
            version: package.version,
            description: package.description.clone(),
            status: package.status,
            approval_status: package.approval_status,
            creation_time: package.creation_time,
            inference_images: package.inference_images.clone(),
            model_data_urls: package.model_data_urls.clone(),
            containers: package.containers.clone(),
            ..ModelPackage::new(package.arn.clone())
        };
        Self {
            requested: package.arn.clone(),
            package: summary,
            registration_type: None,
        }
    }
}

/// An ARN SageMaker answered in `BatchDescribeModelPackageErrorMap`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchDescribeFailure {
    pub arn: ModelPackageArn,
    /// `ErrorCode`, e.g. `ValidationException` or `AccessDeniedException`.
    pub code: String,
    /// `ErrorResponse`.
    pub message: String,
}

impl BatchDescribeFailure {
    /// The version does not exist (SageMaker answers a missing version with `ValidationException`
    /// "… does not exist.", as DescribeModelPackage does).
    pub fn is_not_found(&self) -> bool {
        self.code == "ResourceNotFound"
            || (self.code == "ValidationException" && self.message.contains("does not exist"))
    }

    /// The caller may not read it (another account's group whose policy does not allow the batch read).
    pub fn is_access_denied(&self) -> bool {
        self.code == "AccessDeniedException" || self.code == "AccessDenied"
    }
}

/// The answer to [`SageMakerRegistry::batch_describe_packages`], over every call it took.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchDescribed {
    /// One per ARN SageMaker summarised, in the order asked.
    pub packages: Vec<SummarizedPackage>,
    /// One per ARN in the error map, in the order asked.
    pub failures: Vec<BatchDescribeFailure>,
    /// ARNs in neither map (not expected from SageMaker; a caller describes them one by one).
    pub unanswered: Vec<ModelPackageArn>,
    /// `BatchDescribeModelPackage` calls made (each ≤ 100 ARNs), for rate accounting.
    pub calls: usize,
}

/// `arns` without repeats, in first-seen order (the answer is keyed by ARN, so a repeat adds nothing).
pub(crate) fn distinct(arns: &[ModelPackageArn]) -> Vec<&ModelPackageArn> {
    let mut seen = HashSet::new();
    arns.iter()
        .filter(|arn| seen.insert(arn.as_str()))
        .collect()
}

/// A key SageMaker answered that was not asked as such (not expected: keys are the ARNs sent).
fn unasked_key(key: &str) -> Result<ModelPackageArn, RegistryError> {
    decoded(OP, "answer key", ModelPackageArn::parse(key))
}

fn summarized(
    requested: ModelPackageArn,
    summary: &BatchDescribeModelPackageSummary,
) -> Result<SummarizedPackage, RegistryError> {
    let arn = match summary.model_package_arn() {
        Some(arn) => decoded(OP, "ModelPackageArn", ModelPackageArn::parse(arn))?,
        None => requested.clone(),
    };
    let containers = summary
        .inference_specification()
        .map(|spec| spec.containers())
        .unwrap_or_default();
    let package = ModelPackage {
        group_name: summary
            .model_package_group_name()
            .map(|name| {
                decoded(
                    OP,
                    "ModelPackageGroupName",
                    ModelPackageGroupName::parse(name),
                )
            })
            .transpose()?,
        version: summary.model_package_version(),
        description: summary.model_package_description().map(str::to_owned),
        status: summary
            .model_package_status()
            .map(|status| {
                decoded(
                    OP,
                    "ModelPackageStatus",
                    ModelPackageStatus::parse(status.as_str()),
                )
            })
            .transpose()?,
        approval_status: approval_from_sdk(OP, summary.model_approval_status())?,
        creation_time: to_chrono(summary.creation_time()),
        inference_images: containers
            .iter()
            .filter_map(|container| container.image().map(str::to_owned))
            .collect(),
        model_data_urls: containers
            .iter()
            .filter_map(|container| container.model_data_url().map(str::to_owned))
            .collect(),
        containers: containers.iter().map(container_artifact).collect(),
        ..ModelPackage::new(arn)
    };
    Ok(SummarizedPackage {
        requested,
        package,
        registration_type: summary
            .model_package_registration_type()
            .map(|kind| kind.as_str().to_owned()),
    })
}

impl SageMakerRegistry {
    /// Summaries of `arns` through `BatchDescribeModelPackage`, in calls of at most 100 distinct ARNs,
    /// one after the other (the caller paces them). No ARN: no call. A failed call fails the whole batch
    /// (throttling is [`RegistryError::Throttled`], retryable); an ARN SageMaker could not describe is
    /// a [`BatchDescribeFailure`].
    pub async fn batch_describe_packages(
        &self,
        arns: &[ModelPackageArn],
    ) -> Result<BatchDescribed, RegistryError> {
        let mut described = BatchDescribed::default();
        for chunk in distinct(arns).chunks(MAX_BATCH_ARNS) {
            let output = self
                .client
                .batch_describe_model_package()
                .set_model_package_arn_list(Some(
                    chunk.iter().map(|arn| arn.as_str().to_owned()).collect(),
                ))
                .send()
                .await
                .map_err(|error| registry_error(OP, &error))?;
            described.calls += 1;
            let asked: HashMap<&str, &ModelPackageArn> =
                chunk.iter().map(|arn| (arn.as_str(), *arn)).collect();
            let summaries = output.model_package_summaries();
            let errors = output.batch_describe_model_package_error_map();
            // In the order asked (the maps are unordered), then any key not asked as such; an ARN
            // answered under no key of its own is `unanswered`.
            let mut answered = HashSet::new();
            for arn in chunk {
                let key = arn.as_str();
                if let Some(summary) = summaries.and_then(|map| map.get(key)) {
                    described
                        .packages
                        .push(summarized((*arn).clone(), summary)?);
                    answered.insert(key);
                } else if let Some(error) = errors.and_then(|map| map.get(key)) {
                    described.failures.push(BatchDescribeFailure {
                        arn: (*arn).clone(),
                        code: error.error_code().unwrap_or_default().to_owned(),
                        message: error.error_response().unwrap_or_default().to_owned(),
                    });
                    answered.insert(key);
                }
            }
            let mut extra_summaries: Vec<_> = summaries
                .into_iter()
                .flatten()
                .filter(|(key, _)| !asked.contains_key(key.as_str()))
                .collect();
            extra_summaries.sort_by(|a, b| a.0.cmp(b.0));
            for (key, summary) in extra_summaries {
                described
                    .packages
                    .push(summarized(unasked_key(key)?, summary)?);
            }
            let mut extra_errors: Vec<_> = errors
                .into_iter()
                .flatten()
                .filter(|(key, _)| !asked.contains_key(key.as_str()))
                .collect();
            extra_errors.sort_by(|a, b| a.0.cmp(b.0));
            for (key, error) in extra_errors {
                described.failures.push(BatchDescribeFailure {
                    arn: unasked_key(key)?,
                    code: error.error_code().unwrap_or_default().to_owned(),
                    message: error.error_response().unwrap_or_default().to_owned(),
                });
            }
            described.unanswered.extend(
                chunk
                    .iter()
                    .filter(|arn| !answered.contains(arn.as_str()))
                    .map(|arn| (*arn).clone()),
            );
        }
        Ok(described)
    }
}

#[cfg(test)]
mod tests;
