//! The Rust aws-sdk-sagemaker (what govsync's adapter uses) decoding the emulator's
//! BatchDescribeModelPackage answer in-process: both maps, the summary members, and a refused list.

use std::sync::Arc;

use aws_sdk_sagemaker::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sagemaker::error::ProvideErrorMetadata;
use aws_sdk_sagemaker::types::{
    InferenceSpecification, ModelApprovalStatus, ModelPackageContainerDefinition,
    ModelPackageStatus,
};
use govsync_registry_emulator::config::{self, Command};
use govsync_registry_emulator::server::{self, AppState};

async fn start() -> String {
    let config = match config::parse(Vec::<String>::new(), |_| None) {
        Ok(Command::Run(config)) => config,
        other => panic!("unexpected {other:?}"),
    };
    let state = Arc::new(AppState::new(config, None));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|error| panic!("bind: {error}"));
    let address = listener
        .local_addr()
        .unwrap_or_else(|error| panic!("address: {error}"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, server::router(state)).await;
    });
    format!("http://{address}")
}

fn client(endpoint: &str) -> aws_sdk_sagemaker::Client {
    let config = aws_sdk_sagemaker::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDBATCH", "testing", None, None, "test"))
        .endpoint_url(endpoint)
        .retry_config(aws_sdk_sagemaker::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_sagemaker::Client::from_conf(config)
}

#[tokio::test]
async fn the_rust_sdk_reads_summaries_and_the_error_map() {
    let endpoint = start().await;
    let sagemaker = client(&endpoint);
    sagemaker
        .create_model_package_group()
        .model_package_group_name("fraud")
        .send()
        .await
        .expect("group");
    let mut arns = Vec::new();
    for approval in [
        ModelApprovalStatus::Approved,
        ModelApprovalStatus::PendingManualApproval,
    ] {
        let created = sagemaker
            .create_model_package()
            .model_package_group_name("fraud")
            .model_package_description("xgboost")
            .model_approval_status(approval)
            .inference_specification(
                InferenceSpecification::builder()
                    .containers(
                        ModelPackageContainerDefinition::builder()
                            .image("123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud:1")
                            .build(),
                    )
                    .supported_content_types("text/csv")
                    .supported_response_mime_types("text/csv")
                    .build(),
            )
            .send()
            .await
            .expect("version");
        arns.push(created.model_package_arn().unwrap_or_default().to_owned());
    }
    let missing = "arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud/3";
    let answer = sagemaker
        .batch_describe_model_package()
        .model_package_arn_list(&arns[0])
        .model_package_arn_list(&arns[1])
        .model_package_arn_list(missing)
        .send()
        .await
        .expect("batch describe");
    let summaries = answer.model_package_summaries().expect("summaries");
    assert_eq!(summaries.len(), 2);
    let first = &summaries[&arns[0]];
    assert_eq!(first.model_package_group_name(), Some("fraud"));
    assert_eq!(first.model_package_version(), Some(1));
    assert_eq!(first.model_package_arn(), Some(arns[0].as_str()));
    assert_eq!(first.model_package_description(), Some("xgboost"));
    assert_eq!(
        first.model_package_status(),
        Some(&ModelPackageStatus::Completed)
    );
    assert_eq!(
        first.model_approval_status(),
        Some(&ModelApprovalStatus::Approved)
    );
    assert!(first.creation_time().is_some_and(|t| t.secs() > 0));
    assert_eq!(
        first
            .inference_specification()
            .map(|spec| spec.containers().len()),
        Some(1)
    );
    assert_eq!(
        summaries[&arns[1]].model_approval_status(),
        Some(&ModelApprovalStatus::PendingManualApproval)
    );
    let errors = answer
        .batch_describe_model_package_error_map()
        .expect("error map");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[missing].error_code(), Some("ValidationException"));
    assert!(
        errors[missing]
            .error_response()
            .is_some_and(|m| m.contains("does not exist"))
    );

    // 101 ARNs: the SDK does not check the list's length; the emulator refuses it as SageMaker does.
    let mut request = sagemaker.batch_describe_model_package();
    for version in 1..=101 {
        request = request.model_package_arn_list(format!(
            "arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud/{version}"
        ));
    }
    let error = request.send().await.expect_err("101 ARNs are refused");
    assert_eq!(error.code(), Some("ValidationException"));
    assert!(
        error
            .message()
            .is_some_and(|m| m.contains("less than or equal to 100")),
        "{error:?}"
    );
}
