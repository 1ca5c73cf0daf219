use std::sync::{Arc, Mutex};

use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::operation::batch_describe_model_package::{
    BatchDescribeModelPackageError, BatchDescribeModelPackageOutput,
};
use aws_sdk_sagemaker::types::{
    BatchDescribeModelPackageError as SdkEntryError, InferenceSpecification, ModelApprovalStatus,
    ModelPackageContainerDefinition, ModelPackageRegistrationType, ModelPackageStatus as SdkStatus,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use govsync_core::ports::{ApprovalStatus, ModelRegistry};

use super::*;

fn arn_text(version: u32) -> String {
    format!("arn:aws:sagemaker:us-east-1:123456789012:model-package/credit-risk/{version}")
}

fn arn(version: u32) -> ModelPackageArn {
    ModelPackageArn::parse(&arn_text(version)).expect("valid ARN")
}

fn summary(arn: &str, version: i32) -> BatchDescribeModelPackageSummary {
    BatchDescribeModelPackageSummary::builder()
        .model_package_arn(arn)
        .model_package_group_name("credit-risk")
        .model_package_version(version)
        .model_package_status(SdkStatus::Completed)
        .model_approval_status(ModelApprovalStatus::Approved)
        .creation_time(aws_smithy_types::DateTime::from_secs(1_700_000_000))
        .build()
}

fn version_of(arn: &str) -> i32 {
    arn.rsplit('/')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn two_hundred_fifty_arns_go_out_in_three_calls_of_at_most_a_hundred() {
    let sizes = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&sizes);
    // Odd versions exist; even ones are missing.
    let batch = mock!(Client::batch_describe_model_package).then_compute_output(move |request| {
        let list = request.model_package_arn_list();
        seen.lock().expect("sizes").push(list.len());
        let mut output = BatchDescribeModelPackageOutput::builder();
        for arn in list {
            let version = version_of(arn);
            if version % 2 == 1 {
                output = output.model_package_summaries(arn, summary(arn, version));
            } else {
                output = output.batch_describe_model_package_error_map(
                    arn,
                    SdkEntryError::builder()
                        .error_code("ValidationException")
                        .error_response(format!("Model package {arn} does not exist."))
                        .build(),
                );
            }
        }
        output.build()
    });
    let client = mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, [&batch]);
    let mut arns: Vec<ModelPackageArn> = (1..=250).map(arn).collect();
    // Repeats are asked once.
    arns.push(arn(7));
    arns.push(arn(250));
    let described = SageMakerRegistry::new(client)
        .batch_describe_packages(&arns)
        .await
        .expect("batch");
    assert_eq!(batch.num_calls(), 3);
    assert_eq!(*sizes.lock().expect("sizes"), [100, 100, 50]);
    assert_eq!(described.calls, 3);
    assert_eq!(described.packages.len(), 125);
    assert_eq!(described.failures.len(), 125);
    assert!(described.unanswered.is_empty());
    // In the order asked.
    let versions: Vec<_> = described
        .packages
        .iter()
        .map(|p| p.package.version)
        .take(3)
        .collect();
    assert_eq!(versions, [Some(1), Some(3), Some(5)]);
    assert_eq!(described.failures[0].arn, arn(2));
    assert!(
        described
            .failures
            .iter()
            .all(BatchDescribeFailure::is_not_found)
    );
}

#[tokio::test]
async fn a_summary_maps_to_a_package_with_only_the_summary_members() {
    let full = arn_text(3);
    let denied = "arn:aws:sagemaker:us-east-1:210987654321:model-package/shared/1";
    let missing = arn_text(9);
    let (full_key, missing_key) = (full.clone(), missing.clone());
    let batch = mock!(Client::batch_describe_model_package)
        .match_requests(|request| request.model_package_arn_list().len() == 3)
        .then_output(move || {
            BatchDescribeModelPackageOutput::builder()
                .model_package_summaries(
                    &full_key,
                    BatchDescribeModelPackageSummary::builder()
                        .model_package_arn(&full_key)
                        .model_package_group_name("credit-risk")
                        .model_package_version(3)
                        .model_package_description("gradient boosting")
                        .model_package_status(SdkStatus::Completed)
                        .model_approval_status(ModelApprovalStatus::PendingManualApproval)
                        .model_package_registration_type(ModelPackageRegistrationType::Registered)
                        .creation_time(aws_smithy_types::DateTime::from_secs(1_700_000_000))
                        .inference_specification(
                            InferenceSpecification::builder()
                                .containers(
                                    ModelPackageContainerDefinition::builder()
                                        .image("123456789012.dkr.ecr.us-east-1.amazonaws.com/credit:3")
                                        .image_digest("sha256:4dc8a7e4a010a19bb9e0a6b063f355393f6e623603361bd8b105f554d4f0c004")
                                        .model_data_url("s3://models/credit/3/model.tar.gz")
                                        .build(),
                                )
                                .build(),
                        )
                        .build(),
                )
                .batch_describe_model_package_error_map(
                    denied,
                    SdkEntryError::builder()
                        .error_code("AccessDeniedException")
                        .error_response("User: arn:aws:iam::123456789012:user/govsync is not authorized to perform: sagemaker:BatchDescribeModelPackage")
                        .build(),
                )
                .batch_describe_model_package_error_map(
                    &missing_key,
                    SdkEntryError::builder()
                        .error_code("ValidationException")
                        .error_response(format!("Model package {missing_key} does not exist."))
                        .build(),
                )
                .build()
        });
    let client = mock_client!(aws_sdk_sagemaker, RuleMode::Sequential, [&batch]);
    let asked = [
        arn(3),
        ModelPackageArn::parse(denied).expect("valid"),
        arn(9),
    ];
    let described = SageMakerRegistry::new(client)
        .batch_describe_packages(&asked)
        .await
        .expect("batch");
    assert_eq!(described.calls, 1);
    let [summarized] = described.packages.as_slice() else {
        panic!("one summary: {described:?}");
    };
    assert_eq!(summarized.requested, arn(3));
    assert_eq!(summarized.registration_type.as_deref(), Some("Registered"));
    let package = &summarized.package;
    assert_eq!(package.arn, arn(3));
    assert_eq!(
        package.group_name.as_ref().map(|g| g.as_str()),
        Some("credit-risk")
    );
    assert_eq!(package.version, Some(3));
    assert_eq!(package.description.as_deref(), Some("gradient boosting"));
    assert_eq!(package.status, Some(ModelPackageStatus::Completed));
    assert_eq!(
        package.approval_status,
        Some(ApprovalStatus::PendingManualApproval)
    );
    assert_eq!(
        package.creation_time.map(|t| t.timestamp()),
        Some(1_700_000_000)
    );
    assert_eq!(
        package.inference_images,
        ["123456789012.dkr.ecr.us-east-1.amazonaws.com/credit:3"]
    );
    assert_eq!(
        package.model_data_urls,
        ["s3://models/credit/3/model.tar.gz"]
    );
    assert_eq!(package.containers.len(), 1);
    assert!(package.containers[0].image_digest.is_some());
    // What the summary does not carry is left empty.
    assert_eq!(package.last_modified_time, None);
    assert!(package.customer_metadata.is_empty());
    assert_eq!(package.lifecycle, None);
    assert_eq!(package.approval_description, None);
    assert_eq!(package.created_by, None);
    assert!(package.metrics.is_empty());
    assert_eq!(
        package.facts,
        govsync_core::model_package::RegistryFacts::default()
    );

    let [access, not_found] = described.failures.as_slice() else {
        panic!("two failures: {described:?}");
    };
    assert_eq!(access.arn.as_str(), denied);
    assert_eq!(access.code, "AccessDeniedException");
    assert!(access.is_access_denied() && !access.is_not_found());
    assert_eq!(not_found.arn, arn(9));
    assert!(not_found.is_not_found() && !not_found.is_access_denied());
    assert!(not_found.message.contains("does not exist"));
}

#[tokio::test]
async fn throttling_fails_the_batch_as_retryable() {
    let batch = mock!(Client::batch_describe_model_package)
        .sequence()
        .output(|| BatchDescribeModelPackageOutput::builder().build())
        .error(|| {
            BatchDescribeModelPackageError::generic(
                ErrorMetadata::builder()
                    .code("ThrottlingException")
                    .message("Rate exceeded")
                    .build(),
            )
        })
        .build();
    let client = mock_client!(
        aws_sdk_sagemaker,
        RuleMode::Sequential,
        [&batch],
        |config| { config.retry_config(RetryConfig::disabled()) }
    );
    let arns: Vec<_> = (1..=150).map(arn).collect();
    let error = SageMakerRegistry::new(client)
        .batch_describe_packages(&arns)
        .await
        .expect_err("the second call is throttled");
    assert!(
        matches!(
            error,
            RegistryError::Throttled {
                operation: "BatchDescribeModelPackage",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.is_retryable());
    assert_eq!(batch.num_calls(), 2);
}

#[tokio::test]
async fn a_refused_call_is_a_permanent_rejection() {
    let batch = mock!(Client::batch_describe_model_package).then_error(|| {
        BatchDescribeModelPackageError::generic(
            ErrorMetadata::builder()
                .code("AccessDeniedException")
                .message("not authorized to perform: sagemaker:BatchDescribeModelPackage")
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_sagemaker, RuleMode::Sequential, [&batch]);
    let error = SageMakerRegistry::new(client)
        .batch_describe_packages(&[arn(1)])
        .await
        .expect_err("refused");
    assert!(
        matches!(&error, RegistryError::Rejected { code, .. } if code == "AccessDeniedException"),
        "{error:?}"
    );
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn no_arns_make_no_call_and_arns_in_neither_map_are_unanswered() {
    let batch = mock!(Client::batch_describe_model_package).then_compute_output(|request| {
        // Answers only the first ARN of the list.
        let first = request.model_package_arn_list()[0].clone();
        BatchDescribeModelPackageOutput::builder()
            .model_package_summaries(&first, summary(&first, version_of(&first)))
            .build()
    });
    let client = mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, [&batch]);
    let registry = SageMakerRegistry::new(client);
    let none = registry.batch_describe_packages(&[]).await.expect("empty");
    assert_eq!(none, BatchDescribed::default());
    assert_eq!(batch.num_calls(), 0);
    let described = registry
        .batch_describe_packages(&[arn(1), arn(2)])
        .await
        .expect("batch");
    assert_eq!(described.packages.len(), 1);
    assert_eq!(described.unanswered, [arn(2)]);
}

#[tokio::test]
async fn an_answer_sagemaker_would_not_give_is_a_decode_error() {
    let batch = mock!(Client::batch_describe_model_package).then_output(|| {
        BatchDescribeModelPackageOutput::builder()
            .model_package_summaries(
                arn_text(1),
                BatchDescribeModelPackageSummary::builder()
                    .model_package_arn(arn_text(1))
                    .model_approval_status(ModelApprovalStatus::from("Maybe"))
                    .build(),
            )
            .build()
    });
    let client = mock_client!(aws_sdk_sagemaker, RuleMode::Sequential, [&batch]);
    let error = SageMakerRegistry::new(client)
        .batch_describe_packages(&[arn(1)])
        .await
        .expect_err("unknown approval status");
    assert!(matches!(error, RegistryError::Decode { .. }), "{error:?}");
}

#[test]
fn a_full_description_reduces_to_what_a_summary_carries() {
    let mut full = ModelPackage::new(arn(4));
    full.version = Some(4);
    full.approval_status = Some(ApprovalStatus::Approved);
    full.last_modified_time = Some(chrono::Utc::now());
    full.customer_metadata
        .insert("govsync:model-id".to_owned(), "42".to_owned());
    full.approval_description = Some("approved".to_owned());
    let summary = SummarizedPackage::of_description(&full);
    assert_eq!(summary.requested, arn(4));
    assert_eq!(summary.package.version, Some(4));
    assert_eq!(
        summary.package.approval_status,
        Some(ApprovalStatus::Approved)
    );
    assert_eq!(summary.package.last_modified_time, None);
    assert!(summary.package.customer_metadata.is_empty());
    assert_eq!(summary.package.approval_description, None);
}
