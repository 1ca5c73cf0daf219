use std::collections::BTreeMap;

use aws_sdk_sagemaker::operation::describe_model_package::{
    DescribeModelPackageError, DescribeModelPackageOutput,
};
use aws_sdk_sagemaker::operation::list_model_packages::ListModelPackagesOutput;
use aws_sdk_sagemaker::operation::update_model_package::{
    UpdateModelPackageError, UpdateModelPackageOutput,
};
use aws_sdk_sagemaker::types::ModelPackageSummary;
use aws_sdk_sagemaker::types::error::ConflictException;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::retry::RetryConfig;

use super::*;

const ARN: &str = "arn:aws:sagemaker:us-east-1:123456789012:model-package/credit-risk/3";

fn service_error(code: &str, message: &str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).message(message).build()
}

#[tokio::test]
async fn missing_package_answered_with_validation_exception_is_not_found() {
    let describe = mock!(Client::describe_model_package).then_error(|| {
        DescribeModelPackageError::generic(service_error(
            "ValidationException",
            "Model Package arn:aws:sagemaker:us-east-1:123456789012:model-package/credit-risk/3 does not exist.",
        ))
    });
    let client = mock_client!(aws_sdk_sagemaker, RuleMode::Sequential, [&describe]);
    let error = SageMakerRegistry::new(client)
        .describe_package(&ModelPackageArn::parse(ARN).unwrap())
        .await
        .unwrap_err();
    assert!(error.is_not_found(), "{error:?}");
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn describe_maps_the_snapshot_govsync_uses() {
    let describe = mock!(Client::describe_model_package)
        .match_requests(|request| request.model_package_name() == Some(ARN))
        .then_output(|| {
            DescribeModelPackageOutput::builder()
                .model_package_arn(ARN)
                .model_package_group_name("credit-risk")
                .model_package_version(3)
                .model_approval_status(ModelApprovalStatus::PendingManualApproval)
                .customer_metadata_properties("govsync:model-id", "42")
                .model_life_cycle(
                    SdkLifecycle::builder()
                        .stage("Development")
                        .stage_status("InProgress")
                        .build(),
                )
                .last_modified_time(aws_smithy_types::DateTime::from_secs(1_700_000_000))
                .build()
        });
    let client = mock_client!(aws_sdk_sagemaker, RuleMode::Sequential, [&describe]);
    let package = SageMakerRegistry::new(client)
        .describe_package(&ModelPackageArn::parse(ARN).unwrap())
        .await
        .unwrap();
    assert_eq!(package.version, Some(3));
    assert_eq!(
        package.approval_status,
        Some(ApprovalStatus::PendingManualApproval)
    );
    assert_eq!(
        package
            .customer_metadata
            .get("govsync:model-id")
            .map(String::as_str),
        Some("42")
    );
    assert_eq!(
        package.lifecycle.map(|l| l.stage.to_string()),
        Some("Development".to_owned())
    );
    assert_eq!(
        package.last_modified_time.map(|t| t.timestamp()),
        Some(1_700_000_000)
    );
}

fn full_update() -> PackageUpdate {
    PackageUpdate {
        arn: ModelPackageArn::parse(ARN).unwrap(),
        approval_status: Some(ApprovalStatus::Approved),
        approval_description: Some("Approved in governance by jane@example.com".to_owned()),
        metadata_to_set: BTreeMap::from([
            ("govsync:model-id".to_owned(), "42".to_owned()),
            ("govsync:rev".to_owned(), "1700000000123".to_owned()),
        ]),
        metadata_to_remove: vec!["govsync:stale".to_owned()],
        lifecycle: Some(
            ModelLifecycle::parse("Production", "Approved", Some("approved for production"))
                .unwrap(),
        ),
        model_card: Some(govsync_core::model_card::CardWrite {
            content: r#"{"intended_uses":{"risk_rating":"High"}}"#.to_owned(),
            status: "Draft".to_owned(),
        }),
        client_token: Some("govsync-7f3a".to_owned()),
    }
}

#[tokio::test]
async fn update_sends_merge_remove_lifecycle_and_client_token() {
    let update = mock!(Client::update_model_package)
        .match_requests(|request| {
            let metadata = request.customer_metadata_properties();
            request.model_package_arn() == Some(ARN)
                && request.client_token() == Some("govsync-7f3a")
                && request.model_approval_status() == Some(&ModelApprovalStatus::Approved)
                && metadata.map(|m| m.len()) == Some(2)
                && metadata
                    .and_then(|m| m.get("govsync:model-id"))
                    .map(String::as_str)
                    == Some("42")
                && request.customer_metadata_properties_to_remove() == ["govsync:stale".to_owned()]
                && request.model_life_cycle().and_then(|l| l.stage()) == Some("Production")
                && request
                    .model_life_cycle()
                    .and_then(|l| l.stage_description())
                    == Some("approved for production")
                && request.model_card().and_then(|c| c.model_card_content())
                    == Some(r#"{"intended_uses":{"risk_rating":"High"}}"#)
                && request.model_card().and_then(|c| c.model_card_status())
                    == Some(&aws_sdk_sagemaker::types::ModelCardStatus::Draft)
        })
        .then_output(|| {
            UpdateModelPackageOutput::builder()
                .model_package_arn(ARN)
                .build()
        });
    let client = mock_client!(aws_sdk_sagemaker, RuleMode::Sequential, [&update]);
    SageMakerRegistry::new(client)
        .update_package(&full_update())
        .await
        .unwrap();
    assert_eq!(update.num_calls(), 1);
}

#[tokio::test]
async fn invalid_metadata_is_refused_before_any_call() {
    let update = mock!(Client::update_model_package)
        .then_output(|| UpdateModelPackageOutput::builder().build());
    let client = mock_client!(aws_sdk_sagemaker, RuleMode::Sequential, [&update]);
    let mut bad = full_update();
    bad.metadata_to_set
        .insert("govsync:use-case".to_owned(), "{\"json\": true}".to_owned());
    let error = SageMakerRegistry::new(client)
        .update_package(&bad)
        .await
        .unwrap_err();
    match error {
        RegistryError::Invalid(invalid) => assert_eq!(invalid.key, "govsync:use-case"),
        other => panic!("expected a validation error, got {other:?}"),
    }
    assert_eq!(update.num_calls(), 0);
}

#[tokio::test]
async fn conflict_and_throttling_are_retryable_validation_is_not() {
    let update = mock!(Client::update_model_package)
        .sequence()
        .error(|| {
            UpdateModelPackageError::ConflictException(
                ConflictException::builder().message("busy").build(),
            )
        })
        .error(|| {
            UpdateModelPackageError::generic(service_error("ThrottlingException", "Rate exceeded"))
        })
        .error(|| {
            UpdateModelPackageError::generic(service_error(
                "ValidationException",
                "Stage is invalid",
            ))
        })
        .build();
    let client = mock_client!(
        aws_sdk_sagemaker,
        RuleMode::Sequential,
        [&update],
        |config| { config.retry_config(RetryConfig::disabled()) }
    );
    let registry = SageMakerRegistry::new(client);
    let conflict = registry.update_package(&full_update()).await.unwrap_err();
    assert!(
        matches!(conflict, RegistryError::Conflict { .. }),
        "{conflict:?}"
    );
    assert!(conflict.is_retryable());
    let throttled = registry.update_package(&full_update()).await.unwrap_err();
    assert!(
        matches!(throttled, RegistryError::Throttled { .. }),
        "{throttled:?}"
    );
    assert!(throttled.is_retryable());
    let invalid = registry.update_package(&full_update()).await.unwrap_err();
    assert!(
        matches!(invalid, RegistryError::Rejected { .. }),
        "{invalid:?}"
    );
    assert!(!invalid.is_retryable());
}

#[tokio::test]
async fn list_packages_follows_next_token_across_pages() {
    let summary = |version: i32| {
        ModelPackageSummary::builder()
            .model_package_arn(format!(
                "arn:aws:sagemaker:us-east-1:123456789012:model-package/credit-risk/{version}"
            ))
            .model_package_version(version)
            .model_approval_status(ModelApprovalStatus::Approved)
            .build()
    };
    let first = mock!(Client::list_model_packages)
        .match_requests(|request| {
            request.next_token().is_none() && request.max_results() == Some(100)
        })
        .then_output(move || {
            ListModelPackagesOutput::builder()
                .model_package_summary_list(summary(1))
                .model_package_summary_list(summary(2))
                .next_token("page-2")
                .build()
        });
    let second = mock!(Client::list_model_packages)
        .match_requests(|request| request.next_token() == Some("page-2"))
        .then_output(move || {
            ListModelPackagesOutput::builder()
                .model_package_summary_list(summary(3))
                .build()
        });
    let client = mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, [&first, &second]);
    let packages = SageMakerRegistry::new(client)
        .list_packages(&ModelPackageGroupName::parse("credit-risk").unwrap())
        .await
        .unwrap();
    let versions: Vec<_> = packages.iter().map(|p| p.version).collect();
    assert_eq!(versions, vec![Some(1), Some(2), Some(3)]);
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
}
