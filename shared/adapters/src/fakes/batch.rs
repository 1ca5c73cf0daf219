//! BatchDescribeModelPackage on the in-memory registry, answered from the same packages
//! `describe_package` reads, reduced to what a batch summary carries.

use std::collections::HashSet;

use govsync_core::ModelPackageArn;

use super::*;
use crate::sagemaker::{BatchDescribeFailure, BatchDescribed, MAX_BATCH_ARNS, SummarizedPackage};

impl FakeRegistry {
    /// As the SageMaker adapter's `batch_describe_packages`: one recorded call
    /// (`batch_describe_packages`, with the fake's latency and injected failures) per 100 distinct ARNs;
    /// a package the fake does not hold is a `ValidationException` "… does not exist." failure.
    pub(super) async fn batch_describe(
        &self,
        arns: &[ModelPackageArn],
    ) -> Result<BatchDescribed, RegistryError> {
        let mut seen = HashSet::new();
        let distinct: Vec<&ModelPackageArn> = arns
            .iter()
            .filter(|arn| seen.insert(arn.as_str()))
            .collect();
        let mut described = BatchDescribed::default();
        for chunk in distinct.chunks(MAX_BATCH_ARNS) {
            self.recorder.enter("batch_describe_packages").await?;
            described.calls += 1;
            for arn in chunk {
                match self.package(arn.as_str()) {
                    Some(package) => {
                        let mut summary = SummarizedPackage::of_description(&package);
                        summary.requested = (*arn).clone();
                        described.packages.push(summary);
                    }
                    None => described.failures.push(BatchDescribeFailure {
                        arn: (*arn).clone(),
                        code: "ValidationException".to_owned(),
                        message: format!("Model package {arn} does not exist."),
                    }),
                }
            }
        }
        Ok(described)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arn(registry: &FakeRegistry, version: i32) -> ModelPackageArn {
        ModelPackageArn::parse(&registry.package_arn("credit-risk", version)).expect("valid ARN")
    }

    #[tokio::test]
    async fn answers_from_the_fakes_packages_in_calls_of_a_hundred() {
        let registry = FakeRegistry::new("123456789012", "us-east-1");
        for version in [1, 2, 150] {
            let mut package = registered_package(&registry, "credit-risk", version);
            package
                .customer_metadata
                .insert("govsync:model-id".to_owned(), "42".to_owned());
            registry.put_package(package);
        }
        let mut arns: Vec<_> = (1..=205).map(|v| arn(&registry, v)).collect();
        arns.push(arn(&registry, 2));
        let described = registry
            .batch_describe_packages(&arns)
            .await
            .expect("batch");
        assert_eq!(described.calls, 3);
        assert_eq!(
            registry.calls(),
            ["batch_describe_packages"; 3],
            "one recorded call per 100 distinct ARNs"
        );
        let versions: Vec<_> = described
            .packages
            .iter()
            .map(|summary| summary.package.version)
            .collect();
        assert_eq!(versions, [Some(1), Some(2), Some(150)]);
        let summary = &described.packages[0];
        assert_eq!(summary.requested, arn(&registry, 1));
        assert_eq!(
            summary.package.approval_status,
            Some(ApprovalStatus::PendingManualApproval)
        );
        // A summary never carries what only DescribeModelPackage answers.
        assert!(summary.package.customer_metadata.is_empty());
        assert_eq!(summary.package.last_modified_time, None);
        assert_eq!(described.failures.len(), 202);
        assert!(
            described
                .failures
                .iter()
                .all(BatchDescribeFailure::is_not_found)
        );
        assert!(described.unanswered.is_empty());
    }

    #[tokio::test]
    async fn an_injected_failure_fails_the_batch() {
        let registry = FakeRegistry::new("123456789012", "us-east-1");
        registry.fail_next(
            "batch_describe_packages",
            RegistryError::Throttled {
                operation: "BatchDescribeModelPackage",
                message: "Rate exceeded".to_owned(),
            },
        );
        let error = registry
            .batch_describe_packages(&[arn(&registry, 1)])
            .await
            .expect_err("throttled");
        assert!(error.is_retryable());
        let none = registry.batch_describe_packages(&[]).await.expect("empty");
        assert_eq!(none.calls, 0);
        assert_eq!(registry.calls(), ["batch_describe_packages"]);
    }
}
