//! SageMaker hosting in memory, on the fake registry: endpoints, their configurations and models, as
//! `DescribeEndpoint`, `DescribeEndpointConfig` and `DescribeModel` answer them. Tests seed them; the
//! hosting port only reads.

use govsync_core::ports::hosting::{
    ConfigVariant, DeployedImage, Endpoint, EndpointConfig, EndpointSummary, HostedContainer,
    HostedModel, Hosting, VariantSummary,
};

use super::*;

/// What the fake registry hosts.
#[derive(Debug, Default)]
pub struct HostingState {
    endpoints: BTreeMap<String, Endpoint>,
    configs: BTreeMap<String, EndpointConfig>,
    models: BTreeMap<String, HostedModel>,
}

impl FakeRegistry {
    pub fn endpoint_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:sagemaker:{}:{}:endpoint/{name}",
            self.region, self.account_id
        )
    }

    /// Seeds (or replaces) a SageMaker model without recording a call.
    pub fn put_model(&self, model: HostedModel) {
        lock(&self.hosting).models.insert(model.name.clone(), model);
    }

    /// Seeds (or replaces) an endpoint configuration without recording a call.
    pub fn put_endpoint_config(&self, config: EndpointConfig) {
        lock(&self.hosting)
            .configs
            .insert(config.name.clone(), config);
    }

    /// Seeds (or replaces) an endpoint without recording a call.
    pub fn put_endpoint(&self, endpoint: Endpoint) {
        lock(&self.hosting)
            .endpoints
            .insert(endpoint.name.clone(), endpoint);
    }

    pub fn remove_endpoint(&self, name: &str) {
        lock(&self.hosting).endpoints.remove(name);
    }

    /// An endpoint `name` serving `package_arn` in one variant `AllTraffic` (model `{name}-model`,
    /// configuration `{name}-config`), created now, `InService`, its image resolved to
    /// `resolved_image`, tagged `govsync:stage` = `stage` when given. Returns its ARN.
    pub fn serve(
        &self,
        name: &str,
        package_arn: &str,
        resolved_image: Option<&str>,
        stage: Option<&str>,
    ) -> String {
        let model = format!("{name}-model");
        let config = format!("{name}-config");
        self.put_model(HostedModel {
            name: model.clone(),
            arn: Some(format!(
                "arn:aws:sagemaker:{}:{}:model/{model}",
                self.region, self.account_id
            )),
            containers: vec![HostedContainer {
                model_package_name: Some(package_arn.to_owned()),
                image: None,
                model_data_url: None,
            }],
        });
        self.put_endpoint_config(EndpointConfig {
            name: config.clone(),
            variants: vec![ConfigVariant {
                name: "AllTraffic".to_owned(),
                model_name: Some(model),
                shadow: false,
            }],
        });
        let arn = self.endpoint_arn(name);
        let now = self.clock.now();
        self.put_endpoint(Endpoint {
            name: name.to_owned(),
            arn: arn.clone(),
            config_name: Some(config),
            status: Some("InService".to_owned()),
            creation_time: Some(now),
            last_modified_time: Some(now),
            variants: vec![VariantSummary {
                name: "AllTraffic".to_owned(),
                shadow: false,
                deployed_images: resolved_image
                    .map(|image| DeployedImage {
                        specified_image: None,
                        resolved_image: Some(image.to_owned()),
                    })
                    .into_iter()
                    .collect(),
            }],
        });
        let tags = stage
            .map(|stage| {
                BTreeMap::from([(
                    govsync_core::serving::STAGE_TAG.to_owned(),
                    stage.to_owned(),
                )])
            })
            .unwrap_or_default();
        self.tag_resource(&arn, tags);
        arn
    }

    fn hosted<T: Clone>(
        found: Option<&T>,
        resource: impl FnOnce() -> String,
    ) -> Result<T, RegistryError> {
        found.cloned().ok_or_else(|| RegistryError::NotFound {
            resource: resource(),
        })
    }
}

impl Hosting for FakeRegistry {
    async fn list_endpoints(&self) -> Result<Vec<EndpointSummary>, RegistryError> {
        self.recorder.enter("list_endpoints").await?;
        Ok(lock(&self.hosting)
            .endpoints
            .values()
            .map(|endpoint| EndpointSummary {
                name: endpoint.name.clone(),
                arn: endpoint.arn.clone(),
                status: endpoint.status.clone(),
                creation_time: endpoint.creation_time,
            })
            .collect())
    }

    async fn describe_endpoint(&self, name: &str) -> Result<Endpoint, RegistryError> {
        self.recorder.enter("describe_endpoint").await?;
        Self::hosted(lock(&self.hosting).endpoints.get(name), || {
            format!("endpoint {name}")
        })
    }

    async fn describe_endpoint_config(&self, name: &str) -> Result<EndpointConfig, RegistryError> {
        self.recorder.enter("describe_endpoint_config").await?;
        Self::hosted(lock(&self.hosting).configs.get(name), || {
            format!("endpoint configuration {name}")
        })
    }

    async fn describe_model(&self, name: &str) -> Result<HostedModel, RegistryError> {
        self.recorder.enter("describe_model").await?;
        Self::hosted(lock(&self.hosting).models.get(name), || {
            format!("model {name}")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_served_package_reads_back_through_the_hosting_port_and_its_stage_tag() {
        let registry = FakeRegistry::new("123456789012", "us-east-1");
        let package = registry.package_arn("fraud", 3);
        let arn = registry.serve(
            "fraud-prod",
            &package,
            Some("r/fraud@sha256:aaaa"),
            Some("Production"),
        );
        let listed = registry.list_endpoints().await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].arn, arn);
        let endpoint = registry.describe_endpoint("fraud-prod").await.unwrap();
        let config = registry
            .describe_endpoint_config(endpoint.config_name.as_deref().unwrap())
            .await
            .unwrap();
        let model = registry
            .describe_model(config.variants[0].model_name.as_deref().unwrap())
            .await
            .unwrap();
        assert_eq!(
            model.containers[0].model_package_name.as_deref(),
            Some(package.as_str())
        );
        assert_eq!(
            registry.list_tags(&arn).await.unwrap(),
            [("govsync:stage".to_owned(), "Production".to_owned())]
        );
        registry.remove_endpoint("fraud-prod");
        assert!(
            registry
                .describe_endpoint("fraud-prod")
                .await
                .unwrap_err()
                .is_not_found()
        );
        assert_eq!(
            registry.calls(),
            [
                "list_endpoints",
                "describe_endpoint",
                "describe_endpoint_config",
                "describe_model",
                "list_tags",
                "describe_endpoint"
            ]
        );
    }
}
