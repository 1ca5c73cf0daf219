//! CreatePresignedDomainUrl and model package cards through the Rust SDK, as govsync calls them: the
//! modelled `ResourceNotFound` arrives as the SDK's typed error, an issued link opens the emulator's
//! Studio stand-in page, and card content the package card schema refuses is a `ValidationException`.

use std::sync::Arc;

use aws_sdk_sagemaker::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sagemaker::error::ProvideErrorMetadata;
use aws_sdk_sagemaker::operation::create_presigned_domain_url::CreatePresignedDomainUrlError;
use aws_sdk_sagemaker::types::{ModelCardStatus, ModelPackageModelCard};
use govsync_registry_emulator::config::{self, Command};
use govsync_registry_emulator::server::{self, AppState};

async fn start() -> String {
    let config = match config::parse(
        ["--account-id".to_owned(), "123456789012".to_owned()],
        |name| {
            (name == "REGISTRY_EMULATOR_STUDIO_DOMAINS")
                .then(|| "123456789012:eu-west-1:d-abc123/alice+bob".to_owned())
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

fn client(endpoint: &str) -> aws_sdk_sagemaker::Client {
    let config = aws_sdk_sagemaker::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "testing", None, None, "test"))
        .endpoint_url(endpoint)
        .retry_config(aws_sdk_sagemaker::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_sagemaker::Client::from_conf(config)
}

#[tokio::test]
async fn a_presigned_link_opens_the_studio_stand_in_and_unknown_profiles_are_typed_errors() {
    let endpoint = start().await;
    let sagemaker = client(&endpoint);
    let answer = sagemaker
        .create_presigned_domain_url()
        .domain_id("d-abc123")
        .user_profile_name("alice")
        .landing_uri("studio::models/registered-models/churn/versions")
        .expires_in_seconds(60)
        .send()
        .await
        .unwrap_or_else(|error| panic!("presign: {error:?}"));
    let url = answer.authorized_url().unwrap_or_default();
    assert!(
        url.starts_with(&format!("{endpoint}/_emulator/studio/auth?token=")),
        "{url}"
    );
    let page = reqwest::get(url)
        .await
        .unwrap_or_else(|error| panic!("GET: {error}"));
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap_or_default();
    assert!(html.contains("studio::models/registered-models/churn/versions"));

    let refused = sagemaker
        .create_presigned_domain_url()
        .domain_id("d-abc123")
        .user_profile_name("mallory")
        .send()
        .await
        .map(|_| ())
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(refused, CreatePresignedDomainUrlError::ResourceNotFound(_)),
        "{refused:?}"
    );

    let refused = sagemaker
        .create_presigned_domain_url()
        .domain_id("d-abc123")
        .user_profile_name("alice")
        .landing_uri("https://console.aws.amazon.com/")
        .send()
        .await
        .map(|_| ())
        .unwrap_err()
        .into_service_error();
    assert_eq!(refused.code(), Some("ValidationException"));
}

#[tokio::test]
async fn card_content_outside_the_package_card_schema_is_a_validation_exception() {
    let endpoint = start().await;
    let sagemaker = client(&endpoint);
    sagemaker
        .create_model_package_group()
        .model_package_group_name("churn")
        .send()
        .await
        .unwrap_or_else(|error| panic!("group: {error:?}"));
    let card = |content: &str| {
        ModelPackageModelCard::builder()
            .model_card_status(ModelCardStatus::Draft)
            .model_card_content(content)
            .build()
    };
    let refused = sagemaker
        .create_model_package()
        .model_package_group_name("churn")
        .model_card(card(r#"{"intended_uses": {"risk_rating": "Critical"}}"#))
        .send()
        .await
        .map(|_| ())
        .unwrap_err()
        .into_service_error();
    assert_eq!(refused.code(), Some("ValidationException"));
    assert!(
        refused
            .message()
            .is_some_and(|m| m.contains("$.intended_uses.risk_rating")),
        "{refused:?}"
    );
    sagemaker
        .create_model_package()
        .model_package_group_name("churn")
        .model_card(card(r#"{"intended_uses": {"risk_rating": "Medium"}}"#))
        .send()
        .await
        .unwrap_or_else(|error| panic!("package: {error:?}"));
}
