//! `Function::handle` against the real local stack (moto, the registry emulator, the governance
//! emulator): a version registered with boto3-equivalent calls appears in governance under its use
//! case, is written back, and an out-of-band approval is reverted by the gate. `local/test.sh` runs
//! these with the stack's environment; without it they fail rather than skip.

mod support;

use aws_sdk_sagemaker::types::{
    InferenceSpecification, ModelApprovalStatus, ModelPackageContainerDefinition, Tag,
};
use govsync_adapters::governance::{GovernanceAuth, GovernanceClient, GovernanceConfig};
use govsync_core::customer_metadata::keys;
use govsync_core::ports::{
    ExternalIdLookup, Field, FieldValue, Governance, GovernanceKind, NewGovernanceObject,
};
use govsync_core::secret::Secret;
use govsync_core::sync::fields;
use govsync_registry_events::Function;
use govsync_testkit::stack::{Stack, deliver_until};

#[tokio::test]
#[ignore = "needs the local stack: local/test.sh runs it"]
async fn registered_versions_appear_in_governance_written_back_and_gated() {
    govsync_lambda::logging::init();
    let stack = Stack::from_env();
    let function = Function::new(stack.config(), &stack.sdk(&stack.access_key).await)
        .await
        .unwrap();

    // Governance: a business entity and an approved use case.
    let governance = GovernanceClient::new(GovernanceConfig::new(
        stack.governance_url.clone(),
        GovernanceAuth::Mcsp {
            token_url: stack.token_url(),
            api_key: Secret::new("local-api-key"),
        },
    ))
    .unwrap();
    let suffix = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let entity = governance
        .create_object(&NewGovernanceObject {
            kind: GovernanceKind::BusinessEntity,
            name: format!("Retail Banking {suffix}"),
            description: None,
            parent_id: None,
            fields: vec![],
        })
        .await
        .unwrap();
    let use_case = governance
        .create_object(&NewGovernanceObject {
            kind: GovernanceKind::UseCase,
            name: format!("Card fraud {suffix}"),
            description: Some("Detect card fraud".into()),
            parent_id: Some(entity.id.clone()),
            fields: vec![
                Field::choice(fields::USE_CASE_STATUS, "Approved for Development"),
                Field::choice(fields::USE_CASE_RISK_LEVEL, "High"),
            ],
        })
        .await
        .unwrap();

    // A data scientist (another identity) creates the group and registers a version.
    let person = aws_sdk_sagemaker::Client::new(&stack.sdk("testing").await);
    let group = format!("card-fraud-{suffix}");
    person
        .create_model_package_group()
        .model_package_group_name(&group)
        .tags(
            Tag::builder()
                .key(keys::USE_CASE_ID)
                .value(use_case.id.as_str())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let container = ModelPackageContainerDefinition::builder()
        .image("123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1")
        .model_data_url(format!("s3://models/{group}/1/model.tar.gz"))
        .build();
    let created = person
        .create_model_package()
        .model_package_group_name(&group)
        .model_package_description("first version")
        .inference_specification(
            InferenceSpecification::builder()
                .containers(container)
                .supported_content_types("text/csv")
                .supported_response_mime_types("text/csv")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let package_arn = created.model_package_arn().unwrap().to_owned();

    let sqs = aws_sdk_sqs::Client::new(&stack.sdk("testing").await);
    let describe = || async {
        person
            .describe_model_package()
            .model_package_name(&package_arn)
            .send()
            .await
            .unwrap()
    };
    deliver_until(&stack, &function, &sqs, || async {
        describe()
            .await
            .customer_metadata_properties()
            .is_some_and(|m| m.contains_key(keys::LINKS))
    })
    .await;

    let ExternalIdLookup::Found(model) = governance
        .find_by_external_id(GovernanceKind::Model, &package_arn)
        .await
        .unwrap()
    else {
        panic!("no governance model for {package_arn}")
    };
    let text = |name: &str| model.field(name).and_then(FieldValue::as_text);
    assert_eq!(text(fields::MODEL_VERSION).as_deref(), Some("1"));
    assert_eq!(
        text(fields::MODEL_PROVIDER).as_deref(),
        Some("Amazon SageMaker")
    );
    assert_eq!(
        text(fields::INFERENCE_IMAGE).as_deref(),
        Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1")
    );
    let model_group = governance
        .get_object(model.primary_parent_id.as_ref().unwrap())
        .await
        .unwrap();
    assert_eq!(model_group.primary_parent_id.as_ref(), Some(&use_case.id));

    let described = describe().await;
    let metadata = described.customer_metadata_properties().unwrap();
    let links = metadata.get(keys::LINKS).expect("links written back");
    let packed = govsync_core::sync::registry::PackedLinks::parse(links).expect("packed links");
    assert_eq!(packed.model, model.id);
    assert_eq!(packed.model_group, model_group.id);
    assert_eq!(packed.use_case, use_case.id);
    assert!(links.contains(" risk=High "), "{links}");

    // Out-of-band approval in SageMaker: the gate reverts it.
    person
        .update_model_package()
        .model_package_arn(&package_arn)
        .model_approval_status(ModelApprovalStatus::Approved)
        .send()
        .await
        .unwrap();
    deliver_until(&stack, &function, &sqs, || async {
        describe().await.model_approval_status()
            == Some(&ModelApprovalStatus::PendingManualApproval)
    })
    .await;
    let reverted = describe().await;
    assert!(
        reverted
            .approval_description()
            .is_some_and(|d| d.contains("without a governance approval"))
    );

    // The echoes of govsync's writes change nothing: still one model for the package.
    let ExternalIdLookup::Found(_) = governance
        .find_by_external_id(GovernanceKind::Model, &package_arn)
        .await
        .unwrap()
    else {
        panic!("the model must still be there, once")
    };
}
