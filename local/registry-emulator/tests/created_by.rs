//! `CreatedBy` and `LastModifiedBy` as DescribeModelPackage reports them: a Studio user profile (with
//! the domain's shared execution role as the IAM identity) for a call from Studio, the IAM identity
//! alone for any other caller; the package's creator stays, its last modifier follows each update.

use std::sync::Arc;

use aws_sdk_sagemaker::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sagemaker::types::{
    InferenceSpecification, ModelApprovalStatus, ModelPackageContainerDefinition, UserContext,
};
use govsync_registry_emulator::config::{self, Command};
use govsync_registry_emulator::server::{self, AppState};

const STUDIO_ROLE: &str = "arn:aws:sts::123456789012:assumed-role/StudioExecutionRole/SageMaker";
const PIPELINE_ROLE: &str = "arn:aws:sts::123456789012:assumed-role/ml-pipeline/ci";

async fn start() -> String {
    let config = match config::parse(
        [
            "--identity".to_owned(),
            format!("ASIAALICE={STUDIO_ROLE}"),
            "--identity".to_owned(),
            format!("ASIABOB={STUDIO_ROLE}"),
            "--identity".to_owned(),
            format!("ASIACI={PIPELINE_ROLE}"),
        ],
        |name| {
            (name == "REGISTRY_EMULATOR_STUDIO_USERS")
                .then(|| "ASIAALICE=d-abc123/alice,ASIABOB=d-abc123/bob".to_owned())
        },
    ) {
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

fn client(endpoint: &str, access_key_id: &str) -> aws_sdk_sagemaker::Client {
    let config = aws_sdk_sagemaker::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new(
            access_key_id,
            "testing",
            None,
            None,
            "test",
        ))
        .endpoint_url(endpoint)
        .retry_config(aws_sdk_sagemaker::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_sagemaker::Client::from_conf(config)
}

async fn register(sagemaker: &aws_sdk_sagemaker::Client, group: &str) -> String {
    sagemaker
        .create_model_package()
        .model_package_group_name(group)
        .inference_specification(
            InferenceSpecification::builder()
                .containers(
                    ModelPackageContainerDefinition::builder()
                        .image("123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn:1")
                        .build(),
                )
                .supported_content_types("text/csv")
                .supported_response_mime_types("text/csv")
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|error| panic!("register: {error:?}"))
        .model_package_arn()
        .map(str::to_owned)
        .unwrap_or_default()
}

fn iam_arn(context: Option<&UserContext>) -> Option<&str> {
    context
        .and_then(UserContext::iam_identity)
        .and_then(|identity| identity.arn())
}

#[tokio::test]
async fn a_studio_user_is_recorded_by_profile_and_other_callers_by_iam_identity() {
    let endpoint = start().await;
    let alice = client(&endpoint, "ASIAALICE");
    let bob = client(&endpoint, "ASIABOB");
    let pipeline = client(&endpoint, "ASIACI");
    alice
        .create_model_package_group()
        .model_package_group_name("churn")
        .send()
        .await
        .unwrap_or_else(|error| panic!("group: {error:?}"));
    let group = alice
        .describe_model_package_group()
        .model_package_group_name("churn")
        .send()
        .await
        .unwrap_or_else(|error| panic!("describe group: {error:?}"));
    assert_eq!(
        group.created_by().and_then(UserContext::user_profile_name),
        Some("alice")
    );

    let by_alice = register(&alice, "churn").await;
    let by_pipeline = register(&pipeline, "churn").await;
    // Bob approves Alice's version from Studio: the creator stays Alice, the last modifier is Bob.
    bob.update_model_package()
        .model_package_arn(&by_alice)
        .model_approval_status(ModelApprovalStatus::Approved)
        .send()
        .await
        .unwrap_or_else(|error| panic!("approve: {error:?}"));

    let described = alice
        .describe_model_package()
        .model_package_name(&by_alice)
        .send()
        .await
        .unwrap_or_else(|error| panic!("describe: {error:?}"));
    let created = described.created_by();
    assert_eq!(
        created.and_then(UserContext::user_profile_name),
        Some("alice")
    );
    assert_eq!(created.and_then(UserContext::domain_id), Some("d-abc123"));
    assert_eq!(
        created.and_then(UserContext::user_profile_arn),
        Some("arn:aws:sagemaker:eu-west-1:123456789012:user-profile/d-abc123/alice")
    );
    assert_eq!(iam_arn(created), Some(STUDIO_ROLE), "the shared role");
    assert_eq!(
        described
            .last_modified_by()
            .and_then(UserContext::user_profile_name),
        Some("bob")
    );

    let outside = pipeline
        .describe_model_package()
        .model_package_name(&by_pipeline)
        .send()
        .await
        .unwrap_or_else(|error| panic!("describe: {error:?}"));
    let created = outside.created_by();
    assert_eq!(created.and_then(UserContext::user_profile_name), None);
    assert_eq!(created.and_then(UserContext::domain_id), None);
    assert_eq!(iam_arn(created), Some(PIPELINE_ROLE));
    assert_eq!(iam_arn(outside.last_modified_by()), Some(PIPELINE_ROLE));
}
