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
use govsync_core::ports::batch::distinct;
pub use govsync_core::ports::batch::{
    BatchDescribeFailure, BatchDescribed, MAX_BATCH_ARNS, SummarizedPackage,
};
use govsync_core::ports::{ModelPackage, RegistryError};
use govsync_core::{ModelPackageArn, ModelPackageGroupName, ModelPackageStatus};

use super::{
    SageMakerRegistry, approval_from_sdk, container_artifact, decoded, registry_error, to_chrono,
};

const OP: &str = "BatchDescribeModelPackage";

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
    pub(super) async fn batch_describe(
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
