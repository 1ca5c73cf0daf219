//! Builds AWS SDK clients from the environment.
//!
//! `aws-config` already honours `AWS_ENDPOINT_URL` and the per-service `AWS_ENDPOINT_URL_<SERVICE>`
//! (e.g. `AWS_ENDPOINT_URL_SAGEMAKER`, `AWS_ENDPOINT_URL_DYNAMODB`): each service config built with
//! `From<&SdkConfig>` looks its own key up first. That is how the local stack points the same
//! binaries at moto and the registry emulator.

use aws_config::sts::AssumeRoleProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};

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

/// A SageMaker client for one registry: its region, and the assumed role's credentials when a
/// role is configured. Endpoint overrides from the environment are kept.
pub async fn sagemaker_client(
    base: &SdkConfig,
    target: &RegistryTarget,
) -> aws_sdk_sagemaker::Client {
    let region = Region::new(target.region.clone());
    let mut builder = aws_sdk_sagemaker::config::Builder::from(base).region(region.clone());
    if let Some(role_arn) = &target.role_arn {
        let mut provider = AssumeRoleProvider::builder(role_arn)
            .session_name(ROLE_SESSION_NAME)
            .region(region)
            .configure(base);
        if let Some(external_id) = &target.external_id {
            provider = provider.external_id(external_id);
        }
        builder = builder.credentials_provider(provider.build().await);
    }
    aws_sdk_sagemaker::Client::from_conf(builder.build())
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
