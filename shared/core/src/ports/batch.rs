//! `BatchDescribeModelPackage`'s answer as the registry port passes it: summaries of up to 100
//! versions a call (issue #17's fast reconcile pass).
//!
//! A summary (API reference, BatchDescribeModelPackageSummary) carries only ModelPackageGroupName,
//! ModelPackageVersion, ModelPackageArn, ModelPackageDescription, CreationTime, InferenceSpecification,
//! ModelPackageStatus, ModelApprovalStatus and ModelPackageRegistrationType: lifecycle, customer
//! metadata, model card and last-modified time are only in a full `DescribeModelPackage`.

use std::collections::HashSet;

use crate::model_package::ModelPackageArn;
use crate::ports::registry::ModelPackage;

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

/// The answer to [`ModelRegistry::batch_describe_packages`](crate::ports::ModelRegistry::batch_describe_packages), over every call it took.
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
pub fn distinct(arns: &[ModelPackageArn]) -> Vec<&ModelPackageArn> {
    let mut seen = HashSet::new();
    arns.iter()
        .filter(|arn| seen.insert(arn.as_str()))
        .collect()
}
