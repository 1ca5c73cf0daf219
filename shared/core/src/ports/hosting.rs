//! SageMaker hosting, read-only: which endpoints serve which model versions (the serving report).
//!
//! govsync only reads here: it never creates, stops or changes an endpoint. The endpoint's stage is its
//! `govsync:stage` tag, read with [`super::ModelRegistry::list_tags`].

use std::future::Future;

use chrono::{DateTime, Utc};

use super::RegistryError;

/// One endpoint as `ListEndpoints` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointSummary {
    pub name: String,
    pub arn: String,
    /// `EndpointStatus` (`InService`, `Creating`, `Updating`, `Failed`, …).
    pub status: Option<String>,
    pub creation_time: Option<DateTime<Utc>>,
}

/// An image a variant runs (`DeployedImage`): the image as specified and the digest SageMaker resolved
/// it to when the variant was deployed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeployedImage {
    pub specified_image: Option<String>,
    /// `ResolvedImage`: `registry/repository@sha256:…`.
    pub resolved_image: Option<String>,
}

impl DeployedImage {
    /// The digest part of `ResolvedImage` (after `@`), when it has one.
    pub fn resolved_digest(&self) -> Option<&str> {
        self.resolved_image
            .as_deref()
            .and_then(|image| image.rsplit_once('@'))
            .map(|(_, digest)| digest.trim())
            .filter(|digest| !digest.is_empty())
    }
}

/// A variant of a running endpoint (`ProductionVariantSummary`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VariantSummary {
    pub name: String,
    /// A shadow variant (`ShadowProductionVariants`): it gets a copy of the requests.
    pub shadow: bool,
    pub deployed_images: Vec<DeployedImage>,
}

/// What `DescribeEndpoint` says, reduced to what the serving report uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub name: String,
    pub arn: String,
    pub config_name: Option<String>,
    pub status: Option<String>,
    pub creation_time: Option<DateTime<Utc>>,
    pub last_modified_time: Option<DateTime<Utc>>,
    pub variants: Vec<VariantSummary>,
}

/// A variant of an endpoint configuration: the model it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigVariant {
    pub name: String,
    pub model_name: Option<String>,
    pub shadow: bool,
}

/// What `DescribeEndpointConfig` says: the variants and their models.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointConfig {
    pub name: String,
    pub variants: Vec<ConfigVariant>,
}

/// One container of a SageMaker model (`ContainerDefinition`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostedContainer {
    /// `ModelPackageName`: the package's ARN (a versioned package) or name.
    pub model_package_name: Option<String>,
    /// `Image`, when the container names one itself.
    pub image: Option<String>,
    /// `ModelDataUrl` (or `ModelDataSource.S3DataSource.S3Uri`), when the container names one itself.
    pub model_data_url: Option<String>,
}

/// What `DescribeModel` says: its containers (`PrimaryContainer`, then `Containers`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostedModel {
    pub name: String,
    pub arn: Option<String>,
    pub containers: Vec<HostedContainer>,
}

/// SageMaker hosting in one registry's account and region, read-only. A missing endpoint, endpoint
/// configuration or model is `RegistryError::NotFound`.
pub trait Hosting: Send + Sync {
    /// Every endpoint (`ListEndpoints`, every page).
    fn list_endpoints(
        &self,
    ) -> impl Future<Output = Result<Vec<EndpointSummary>, RegistryError>> + Send;

    fn describe_endpoint(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Endpoint, RegistryError>> + Send;

    fn describe_endpoint_config(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<EndpointConfig, RegistryError>> + Send;

    fn describe_model(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<HostedModel, RegistryError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resolved_digest_is_the_part_after_the_at_sign() {
        let image = |resolved: Option<&str>| DeployedImage {
            specified_image: None,
            resolved_image: resolved.map(str::to_owned),
        };
        assert_eq!(
            image(Some(
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgb@sha256:abc"
            ))
            .resolved_digest(),
            Some("sha256:abc")
        );
        assert_eq!(
            image(Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/xgb:1")).resolved_digest(),
            None
        );
        assert_eq!(image(Some("repo@")).resolved_digest(), None);
        assert_eq!(image(None).resolved_digest(), None);
    }
}
