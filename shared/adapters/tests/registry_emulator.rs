//! The SageMaker registry adapter against the registry emulator (SageMaker's semantics).

mod common;

use std::collections::BTreeMap;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_sagemaker::config::Credentials;
use aws_smithy_types::retry::RetryConfig;
use govsync_adapters::sagemaker::SageMakerRegistry;
use govsync_core::ports::{
    ApprovalStatus, ModelLifecycle, ModelRegistry, NewPackageGroup, PackageUpdate, RegistryError,
};
use govsync_core::{ModelPackageArn, ModelPackageGroupName};

async fn sagemaker() -> aws_sdk_sagemaker::Client {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(common::required_env("GOVSYNC_REGISTRY_URL"))
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "govsync-tests",
        ))
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    aws_sdk_sagemaker::Client::new(&config)
}

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn package_lifecycle_through_the_adapter_keeps_sagemaker_semantics() {
    let client = sagemaker().await;
    let registry = SageMakerRegistry::new(client.clone());
    let group = common::unique("adapter-test");
    let group_arn = registry
        .create_group(&NewPackageGroup {
            name: group.clone(),
            description: Some("created by the adapter tests".to_owned()),
            tags: BTreeMap::from([("govsync:use-case-id".to_owned(), "42".to_owned())]),
        })
        .await
        .unwrap();
    assert!(
        group_arn.ends_with(&format!("model-package-group/{group}")),
        "{group_arn}"
    );
    assert!(
        registry
            .list_groups()
            .await
            .unwrap()
            .iter()
            .any(|summary| summary.name.as_str() == group)
    );
    let tags = registry.list_tags(&group_arn).await.unwrap();
    assert!(
        tags.contains(&("govsync:use-case-id".to_owned(), "42".to_owned())),
        "{tags:?}"
    );

    let created = client
        .create_model_package()
        .model_package_group_name(&group)
        .customer_metadata_properties("keep", "1")
        .customer_metadata_properties("drop", "2")
        .send()
        .await
        .unwrap_or_else(|error| {
            panic!(
                "{}",
                aws_smithy_types::error::display::DisplayErrorContext(error)
            )
        });
    let arn = ModelPackageArn::parse(created.model_package_arn().unwrap_or_default()).unwrap();
    let package = registry.describe_package(&arn).await.unwrap();
    assert_eq!(
        package.approval_status,
        Some(ApprovalStatus::PendingManualApproval)
    );

    registry
        .update_package(&PackageUpdate {
            arn: arn.clone(),
            approval_status: Some(ApprovalStatus::Approved),
            approval_description: Some("approved in governance".to_owned()),
            metadata_to_set: BTreeMap::from([("govsync:model-id".to_owned(), "4711".to_owned())]),
            metadata_to_remove: vec!["drop".to_owned()],
            lifecycle: Some(
                ModelLifecycle::parse("Production", "Approved", Some("approved for production"))
                    .unwrap(),
            ),
            model_card: Some(govsync_core::model_card::CardWrite {
                content: r#"{"intended_uses":{"risk_rating":"High"},"additional_information":{"custom_details":{"govsync_use_case_id":"7"}}}"#.to_owned(),
                status: "Draft".to_owned(),
            }),
            client_token: Some("govsync-adapter-test-1".to_owned()),
        })
        .await
        .unwrap();
    let updated = registry.describe_package(&arn).await.unwrap();
    let keys: Vec<_> = updated
        .customer_metadata
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["govsync:model-id", "keep"],
        "merged, omitted keys kept, removed key gone"
    );
    assert_eq!(updated.approval_status, Some(ApprovalStatus::Approved));
    assert_eq!(
        updated.lifecycle.map(|l| l.stage.to_string()),
        Some("Production".to_owned())
    );
    let card = updated.facts.model_card.expect("the card is described");
    assert_eq!(card.status.as_deref(), Some("Draft"));
    assert!(card.content.unwrap().contains("govsync_use_case_id"));
    let listed = registry
        .list_packages(&ModelPackageGroupName::parse(&group).unwrap())
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);

    assert_eq!(registry.get_group_policy(&group).await.unwrap(), None);
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Sid":"share","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::210987654321:root"},"Action":"sagemaker:DescribeModelPackage","Resource":"*"}]}"#;
    registry.put_group_policy(&group, policy).await.unwrap();
    assert!(registry.get_group_policy(&group).await.unwrap().is_some());
    registry.delete_group_policy(&group).await.unwrap();
    assert_eq!(registry.get_group_policy(&group).await.unwrap(), None);

    let busy = registry.delete_group(&group).await.unwrap_err();
    assert!(matches!(busy, RegistryError::Conflict { .. }), "{busy:?}");
    registry.delete_package(arn.as_str()).await.unwrap();
    let gone = registry.describe_package(&arn).await.unwrap_err();
    assert!(gone.is_not_found(), "{gone:?}");
    registry.delete_group(&group).await.unwrap();
}
