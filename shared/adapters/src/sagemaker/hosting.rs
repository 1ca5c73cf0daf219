//! The hosting port on the SageMaker SDK: endpoints, endpoint configurations and models, read-only.

use aws_sdk_sagemaker::types::{ContainerDefinition, ProductionVariant, ProductionVariantSummary};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use govsync_core::ports::RegistryError;
use govsync_core::ports::hosting::{
    ConfigVariant, DeployedImage, Endpoint, EndpointConfig, EndpointSummary, HostedContainer,
    HostedModel, Hosting, VariantSummary,
};

use super::{PAGE_SIZE, SageMakerRegistry, registry_error, to_chrono};

/// SageMaker answers a missing endpoint, endpoint configuration or model with `ValidationException`
/// "Could not find …" (API reference, DescribeEndpoint / DescribeEndpointConfig / DescribeModel).
fn not_found_or<E>(
    operation: &'static str,
    what: &str,
    error: &SdkError<E, HttpResponse>,
) -> RegistryError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let missing = error.as_service_error().is_some_and(|service| {
        service.code() == Some("ValidationException")
            && service
                .message()
                .is_some_and(|message| message.contains("Could not find"))
    });
    if missing {
        RegistryError::NotFound {
            resource: what.to_owned(),
        }
    } else {
        registry_error(operation, error)
    }
}

fn text(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
}

fn variant_summary(variant: &ProductionVariantSummary, shadow: bool) -> VariantSummary {
    VariantSummary {
        name: variant.variant_name().unwrap_or_default().to_owned(),
        shadow,
        deployed_images: variant
            .deployed_images()
            .iter()
            .map(|image| DeployedImage {
                specified_image: text(image.specified_image()),
                resolved_image: text(image.resolved_image()),
            })
            .collect(),
    }
}

fn config_variant(variant: &ProductionVariant, shadow: bool) -> ConfigVariant {
    ConfigVariant {
        name: variant.variant_name().unwrap_or_default().to_owned(),
        model_name: text(variant.model_name()),
        shadow,
    }
}

fn hosted_container(container: &ContainerDefinition) -> HostedContainer {
    let source_uri = container
        .model_data_source()
        .and_then(|source| source.s3_data_source())
        .and_then(|source| source.s3_uri());
    HostedContainer {
        model_package_name: text(container.model_package_name()),
        image: text(container.image()),
        model_data_url: text(container.model_data_url()).or_else(|| text(source_uri)),
    }
}

impl Hosting for SageMakerRegistry {
    async fn list_endpoints(&self) -> Result<Vec<EndpointSummary>, RegistryError> {
        const OP: &str = "ListEndpoints";
        let mut endpoints = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_endpoints()
                .max_results(PAGE_SIZE)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|error| registry_error(OP, &error))?;
            for summary in page.endpoints() {
                let (Some(name), Some(arn)) = (summary.endpoint_name(), summary.endpoint_arn())
                else {
                    return Err(RegistryError::Decode {
                        operation: OP,
                        message: "endpoint summary without a name or ARN".to_owned(),
                    });
                };
                endpoints.push(EndpointSummary {
                    name: name.to_owned(),
                    arn: arn.to_owned(),
                    status: summary
                        .endpoint_status()
                        .map(|status| status.as_str().to_owned()),
                    creation_time: to_chrono(summary.creation_time()),
                });
            }
            match page.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => return Ok(endpoints),
            }
        }
    }

    async fn describe_endpoint(&self, name: &str) -> Result<Endpoint, RegistryError> {
        const OP: &str = "DescribeEndpoint";
        let output = self
            .client
            .describe_endpoint()
            .endpoint_name(name)
            .send()
            .await
            .map_err(|error| not_found_or(OP, &format!("endpoint {name}"), &error))?;
        let Some(arn) = output.endpoint_arn() else {
            return Err(RegistryError::Decode {
                operation: OP,
                message: format!("endpoint {name} without an ARN"),
            });
        };
        let variants = output
            .production_variants()
            .iter()
            .map(|variant| variant_summary(variant, false))
            .chain(
                output
                    .shadow_production_variants()
                    .iter()
                    .map(|variant| variant_summary(variant, true)),
            )
            .collect();
        Ok(Endpoint {
            name: output.endpoint_name().unwrap_or(name).to_owned(),
            arn: arn.to_owned(),
            config_name: text(output.endpoint_config_name()),
            status: output
                .endpoint_status()
                .map(|status| status.as_str().to_owned()),
            creation_time: to_chrono(output.creation_time()),
            last_modified_time: to_chrono(output.last_modified_time()),
            variants,
        })
    }

    async fn describe_endpoint_config(&self, name: &str) -> Result<EndpointConfig, RegistryError> {
        const OP: &str = "DescribeEndpointConfig";
        let output = self
            .client
            .describe_endpoint_config()
            .endpoint_config_name(name)
            .send()
            .await
            .map_err(|error| not_found_or(OP, &format!("endpoint configuration {name}"), &error))?;
        Ok(EndpointConfig {
            name: output.endpoint_config_name().unwrap_or(name).to_owned(),
            variants: output
                .production_variants()
                .iter()
                .map(|variant| config_variant(variant, false))
                .chain(
                    output
                        .shadow_production_variants()
                        .iter()
                        .map(|variant| config_variant(variant, true)),
                )
                .collect(),
        })
    }

    async fn describe_model(&self, name: &str) -> Result<HostedModel, RegistryError> {
        const OP: &str = "DescribeModel";
        let output = self
            .client
            .describe_model()
            .model_name(name)
            .send()
            .await
            .map_err(|error| not_found_or(OP, &format!("model {name}"), &error))?;
        Ok(HostedModel {
            name: output.model_name().unwrap_or(name).to_owned(),
            arn: text(output.model_arn()),
            containers: output
                .primary_container()
                .into_iter()
                .chain(output.containers())
                .map(hosted_container)
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_sagemaker::Client;
    use aws_sdk_sagemaker::operation::describe_endpoint::{
        DescribeEndpointError, DescribeEndpointOutput,
    };
    use aws_sdk_sagemaker::operation::describe_endpoint_config::DescribeEndpointConfigOutput;
    use aws_sdk_sagemaker::operation::describe_model::{DescribeModelError, DescribeModelOutput};
    use aws_sdk_sagemaker::operation::list_endpoints::{ListEndpointsError, ListEndpointsOutput};
    use aws_sdk_sagemaker::types::{
        ContainerDefinition, DeployedImage as SdkDeployedImage, EndpointStatus,
        EndpointSummary as SdkEndpointSummary, ModelDataSource, ProductionVariant,
        ProductionVariantSummary, S3ModelDataSource, S3ModelDataType,
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;

    const ARN: &str = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/fraud-prod";
    const PACKAGE: &str = "arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud/3";

    fn service_error(code: &str, message: &str) -> ErrorMetadata {
        ErrorMetadata::builder().code(code).message(message).build()
    }

    fn summary(name: &str) -> SdkEndpointSummary {
        SdkEndpointSummary::builder()
            .endpoint_name(name)
            .endpoint_arn(format!(
                "arn:aws:sagemaker:us-east-1:123456789012:endpoint/{name}"
            ))
            .endpoint_status(EndpointStatus::InService)
            .creation_time(aws_smithy_types::DateTime::from_secs(1_767_225_600))
            .last_modified_time(aws_smithy_types::DateTime::from_secs(1_767_225_600))
            .build()
    }

    #[tokio::test]
    async fn every_page_of_endpoints_is_listed() {
        let first = mock!(Client::list_endpoints)
            .match_requests(|request| request.next_token().is_none())
            .then_output(|| {
                ListEndpointsOutput::builder()
                    .endpoints(summary("a"))
                    .endpoints(summary("b"))
                    .next_token("page-2")
                    .build()
            });
        let second = mock!(Client::list_endpoints)
            .match_requests(|request| request.next_token() == Some("page-2"))
            .then_output(|| {
                ListEndpointsOutput::builder()
                    .endpoints(summary("c"))
                    .build()
            });
        let client = mock_client!(aws_sdk_sagemaker, RuleMode::Sequential, [&first, &second]);
        let endpoints = SageMakerRegistry::new(client)
            .list_endpoints()
            .await
            .unwrap();
        let names: Vec<&str> = endpoints.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(endpoints[0].status.as_deref(), Some("InService"));
        assert_eq!(
            endpoints[0].creation_time.map(|t| t.timestamp()),
            Some(1_767_225_600)
        );
    }

    #[tokio::test]
    async fn endpoints_that_cannot_be_listed_are_a_permanent_refusal() {
        let denied = mock!(Client::list_endpoints).then_error(|| {
            ListEndpointsError::generic(service_error(
                "AccessDeniedException",
                "not authorized to perform: sagemaker:ListEndpoints",
            ))
        });
        let client = mock_client!(aws_sdk_sagemaker, RuleMode::Sequential, [&denied]);
        let error = SageMakerRegistry::new(client)
            .list_endpoints()
            .await
            .unwrap_err();
        assert!(
            matches!(&error, RegistryError::Rejected { code, .. } if code == "AccessDeniedException"),
            "{error:?}"
        );
        assert!(!error.is_retryable());
    }

    #[tokio::test]
    async fn describe_endpoint_reads_its_config_and_the_resolved_images_of_every_variant() {
        let describe = mock!(Client::describe_endpoint)
            .match_requests(|request| request.endpoint_name() == Some("fraud-prod"))
            .then_output(|| {
                DescribeEndpointOutput::builder()
                    .endpoint_name("fraud-prod")
                    .endpoint_arn(ARN)
                    .endpoint_config_name("fraud-prod-2")
                    .endpoint_status(EndpointStatus::Updating)
                    .creation_time(aws_smithy_types::DateTime::from_secs(1_767_225_600))
                    .last_modified_time(aws_smithy_types::DateTime::from_secs(1_767_230_000))
                    .production_variants(
                        ProductionVariantSummary::builder()
                            .variant_name("AllTraffic")
                            .deployed_images(
                                SdkDeployedImage::builder()
                                    .specified_image("123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud:1")
                                    .resolved_image("123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud@sha256:aaaa")
                                    .build(),
                            )
                            .build(),
                    )
                    .shadow_production_variants(
                        ProductionVariantSummary::builder()
                            .variant_name("Shadow")
                            .build(),
                    )
                    .build()
            });
        let client = mock_client!(aws_sdk_sagemaker, RuleMode::Sequential, [&describe]);
        let endpoint = SageMakerRegistry::new(client)
            .describe_endpoint("fraud-prod")
            .await
            .unwrap();
        assert_eq!(endpoint.arn, ARN);
        assert_eq!(endpoint.config_name.as_deref(), Some("fraud-prod-2"));
        assert_eq!(endpoint.status.as_deref(), Some("Updating"));
        assert_eq!(
            endpoint.last_modified_time.map(|t| t.timestamp()),
            Some(1_767_230_000)
        );
        assert_eq!(endpoint.variants.len(), 2);
        assert!(!endpoint.variants[0].shadow && endpoint.variants[1].shadow);
        assert_eq!(
            endpoint.variants[0].deployed_images[0].resolved_digest(),
            Some("sha256:aaaa")
        );
    }

    #[tokio::test]
    async fn a_missing_endpoint_or_model_is_not_found() {
        let endpoint = mock!(Client::describe_endpoint).then_error(|| {
            DescribeEndpointError::generic(service_error(
                "ValidationException",
                "Could not find endpoint \"gone\".",
            ))
        });
        let model = mock!(Client::describe_model).then_error(|| {
            DescribeModelError::generic(service_error(
                "ValidationException",
                "Could not find model \"arn:aws:sagemaker:us-east-1:123456789012:model/gone\".",
            ))
        });
        let other = mock!(Client::describe_model).then_error(|| {
            DescribeModelError::generic(service_error(
                "ValidationException",
                "1 validation error detected: Value at 'modelName' failed to satisfy constraint",
            ))
        });
        let client = mock_client!(
            aws_sdk_sagemaker,
            RuleMode::Sequential,
            [&endpoint, &model, &other]
        );
        let registry = SageMakerRegistry::new(client);
        assert!(
            registry
                .describe_endpoint("gone")
                .await
                .unwrap_err()
                .is_not_found()
        );
        assert!(
            registry
                .describe_model("gone")
                .await
                .unwrap_err()
                .is_not_found()
        );
        let refused = registry.describe_model("bad name").await.unwrap_err();
        assert!(
            matches!(refused, RegistryError::Rejected { .. }),
            "{refused:?}"
        );
    }

    #[tokio::test]
    async fn describe_config_and_model_name_the_models_and_their_packages() {
        let config = mock!(Client::describe_endpoint_config)
            .match_requests(|request| request.endpoint_config_name() == Some("fraud-prod-2"))
            .then_output(|| {
                DescribeEndpointConfigOutput::builder()
                    .endpoint_config_name("fraud-prod-2")
                    .production_variants(
                        ProductionVariant::builder()
                            .variant_name("AllTraffic")
                            .model_name("fraud-v3")
                            .build(),
                    )
                    .build()
            });
        let model = mock!(Client::describe_model)
            .match_requests(|request| request.model_name() == Some("fraud-v3"))
            .then_output(|| {
                DescribeModelOutput::builder()
                    .model_name("fraud-v3")
                    .model_arn("arn:aws:sagemaker:us-east-1:123456789012:model/fraud-v3")
                    .primary_container(
                        ContainerDefinition::builder()
                            .model_package_name(PACKAGE)
                            .build(),
                    )
                    .containers(
                        ContainerDefinition::builder()
                            .image("123456789012.dkr.ecr.us-east-1.amazonaws.com/post:2")
                            .model_data_source(
                                ModelDataSource::builder()
                                    .s3_data_source(
                                        S3ModelDataSource::builder()
                                            .s3_uri("s3://models/post/")
                                            .s3_data_type(S3ModelDataType::S3Prefix)
                                            .build(),
                                    )
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
            });
        let client = mock_client!(aws_sdk_sagemaker, RuleMode::Sequential, [&config, &model]);
        let registry = SageMakerRegistry::new(client);
        let config = registry
            .describe_endpoint_config("fraud-prod-2")
            .await
            .unwrap();
        assert_eq!(config.variants[0].model_name.as_deref(), Some("fraud-v3"));
        let model = registry.describe_model("fraud-v3").await.unwrap();
        assert_eq!(model.containers.len(), 2);
        assert_eq!(
            model.containers[0].model_package_name.as_deref(),
            Some(PACKAGE)
        );
        assert_eq!(model.containers[0].image, None);
        assert_eq!(
            model.containers[1].model_data_url.as_deref(),
            Some("s3://models/post/")
        );
    }
}
