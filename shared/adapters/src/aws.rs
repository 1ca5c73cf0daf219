//! Builds AWS SDK clients from the environment.
//!
//! `aws-config` already honours `AWS_ENDPOINT_URL` and the per-service `AWS_ENDPOINT_URL_<SERVICE>`
//! (e.g. `AWS_ENDPOINT_URL_SAGEMAKER`, `AWS_ENDPOINT_URL_DYNAMODB`): each service config built with
//! `From<&SdkConfig>` looks its own key up first. That is how the local stack points the same
//! binaries at moto and the registry emulator.

use aws_config::sts::AssumeRoleProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;

/// Reads region, credentials and endpoint overrides from the environment (Lambda's role in AWS).
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// Where a central registry lives and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryTarget {
    pub account_id: String,
    pub region: String,
    /// A role to assume in the registry's account; `None` uses the function's own credentials
    /// (a registry in the function's account).
    pub role_arn: Option<String>,
    pub external_id: Option<String>,
}

/// The role session name govsync uses, so CloudTrail events of its own calls can be recognised.
pub const ROLE_SESSION_NAME: &str = "govsync";

/// The assumed role's credentials for a registry with a role; `None` keeps the function's own.
async fn registry_credentials(
    base: &SdkConfig,
    target: &RegistryTarget,
) -> Option<SharedCredentialsProvider> {
    let role_arn = target.role_arn.as_ref()?;
    let mut provider = AssumeRoleProvider::builder(role_arn)
        .session_name(ROLE_SESSION_NAME)
        .region(Region::new(target.region.clone()))
        .configure(base);
    if let Some(external_id) = &target.external_id {
        provider = provider.external_id(external_id);
    }
    Some(SharedCredentialsProvider::new(provider.build().await))
}

/// A SageMaker client for one registry: its region, and the assumed role's credentials when a
/// role is configured. Endpoint overrides from the environment are kept.
pub async fn sagemaker_client(
    base: &SdkConfig,
    target: &RegistryTarget,
) -> aws_sdk_sagemaker::Client {
    let mut builder =
        aws_sdk_sagemaker::config::Builder::from(base).region(Region::new(target.region.clone()));
    if let Some(credentials) = registry_credentials(base, target).await {
        builder = builder.credentials_provider(credentials);
    }
    aws_sdk_sagemaker::Client::from_conf(builder.build())
}

/// The S3 and ECR clients that read a registry's artifacts, in its account (same role as its
/// SageMaker client). S3 is addressed path-style when an endpoint override is set (a local S3
/// answers on one host, not one host per bucket).
pub async fn artifact_clients(
    base: &SdkConfig,
    target: &RegistryTarget,
) -> (aws_sdk_s3::Client, aws_sdk_ecr::Client) {
    let region = Region::new(target.region.clone());
    let credentials = registry_credentials(base, target).await;
    let mut s3 = aws_sdk_s3::config::Builder::from(base).region(region.clone());
    let overridden = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
        .iter()
        .any(|key| std::env::var_os(key).is_some_and(|value| !value.is_empty()));
    if overridden {
        s3 = s3.force_path_style(true);
    }
    let mut ecr = aws_sdk_ecr::config::Builder::from(base).region(region);
    if let Some(credentials) = credentials {
        s3 = s3.credentials_provider(credentials.clone());
        ecr = ecr.credentials_provider(credentials);
    }
    (
        aws_sdk_s3::Client::from_conf(s3.build()),
        aws_sdk_ecr::Client::from_conf(ecr.build()),
    )
}

pub fn dynamodb_client(base: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(base)
}

pub fn sesv2_client(base: &SdkConfig) -> aws_sdk_sesv2::Client {
    aws_sdk_sesv2::Client::new(base)
}

pub fn sqs_client(base: &SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(base)
}

pub fn secretsmanager_client(base: &SdkConfig) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(base)
}

pub fn eventbridge_client(base: &SdkConfig) -> aws_sdk_eventbridge::Client {
    aws_sdk_eventbridge::Client::new(base)
}
