//! The Rust aws-sdk-sagemaker (what govsync's hosting adapter uses) against the emulator's hosting
//! calls, in-process: a model from a package version carrying its artifact fields, an endpoint
//! configuration, a tagged endpoint, the reads the serving report makes, and the errors it tells apart.

use std::sync::Arc;

use aws_sdk_sagemaker::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sagemaker::error::ProvideErrorMetadata;
use aws_sdk_sagemaker::types::{
    ContainerDefinition, EndpointStatus, InferenceSpecification, ModelCompressionType,
    ModelDataSource, ModelPackageContainerDefinition, OrderKey, ProductionVariant,
    ProductionVariantInstanceType, S3ModelDataSource, S3ModelDataType, Tag,
};
use govsync_registry_emulator::config::{self, Command};
use govsync_registry_emulator::server::{self, AppState};

const DIGEST: &str = "sha256:4dc8a7e4a010a19bb9e0a6b063f355393f6e623603361bd8b105f554d4f0c004";
const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud:1.4";

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
        .credentials_provider(Credentials::new(
            "AKIDHOSTING",
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

#[tokio::test]
async fn the_rust_sdk_deploys_a_package_version_and_reads_what_serves_it() {
    let endpoint = start().await;
    let sagemaker = client(&endpoint);
    sagemaker
        .create_model_package_group()
        .model_package_group_name("fraud")
        .send()
        .await
        .expect("group");
    let spec = InferenceSpecification::builder()
        .containers(
            ModelPackageContainerDefinition::builder()
                .image(IMAGE)
                .image_digest(DIGEST)
                .model_data_source(
                    ModelDataSource::builder()
                        .s3_data_source(
                            S3ModelDataSource::builder()
                                .s3_uri("s3://models/fraud/1.4/")
                                .s3_data_type(S3ModelDataType::S3Prefix)
                                .compression_type(ModelCompressionType::None)
                                .build(),
                        )
                        .build(),
                )
                .model_data_e_tag("\"e1\"")
                .build(),
        )
        .supported_content_types("text/csv")
        .supported_response_mime_types("text/csv")
        .build();
    let package = sagemaker
        .create_model_package()
        .model_package_group_name("fraud")
        .inference_specification(spec)
        .send()
        .await
        .expect("package")
        .model_package_arn()
        .map(str::to_owned)
        .expect("package ARN");
    let described = sagemaker
        .describe_model_package()
        .model_package_name(&package)
        .send()
        .await
        .expect("describe package");
    let container = &described
        .inference_specification()
        .expect("inference specification")
        .containers()[0];
    assert_eq!(container.image_digest(), Some(DIGEST));
    assert_eq!(container.model_data_e_tag(), Some("\"e1\""));
    let source = container
        .model_data_source()
        .and_then(|source| source.s3_data_source())
        .expect("model data source");
    assert_eq!(source.s3_uri(), Some("s3://models/fraud/1.4/"));
    assert_eq!(source.s3_data_type(), Some(&S3ModelDataType::S3Prefix));

    let model = sagemaker
        .create_model()
        .model_name("fraud-v1")
        .execution_role_arn("arn:aws:iam::123456789012:role/SageMakerExecution")
        .primary_container(
            ContainerDefinition::builder()
                .model_package_name(&package)
                .build(),
        )
        .send()
        .await
        .expect("model");
    assert_eq!(
        model.model_arn(),
        Some("arn:aws:sagemaker:us-east-1:123456789012:model/fraud-v1")
    );
    let described = sagemaker
        .describe_model()
        .model_name("fraud-v1")
        .send()
        .await
        .expect("describe model");
    assert_eq!(
        described
            .primary_container()
            .and_then(|c| c.model_package_name()),
        Some(package.as_str())
    );
    assert!(described.creation_time().is_some());

    sagemaker
        .create_endpoint_config()
        .endpoint_config_name("fraud-prod-1")
        .production_variants(
            ProductionVariant::builder()
                .variant_name("AllTraffic")
                .model_name("fraud-v1")
                .instance_type(ProductionVariantInstanceType::MlM5Large)
                .initial_instance_count(1)
                .build(),
        )
        .send()
        .await
        .expect("endpoint config");
    let config = sagemaker
        .describe_endpoint_config()
        .endpoint_config_name("fraud-prod-1")
        .send()
        .await
        .expect("describe endpoint config");
    assert_eq!(
        config.production_variants()[0].model_name(),
        Some("fraud-v1")
    );
    assert_eq!(
        config.production_variants()[0].initial_variant_weight(),
        Some(1.0)
    );

    for name in ["fraud-prod", "fraud-staging", "fraud-canary"] {
        sagemaker
            .create_endpoint()
            .endpoint_name(name)
            .endpoint_config_name("fraud-prod-1")
            .tags(
                Tag::builder()
                    .key("govsync:stage")
                    .value("Production")
                    .build(),
            )
            .send()
            .await
            .expect("endpoint");
    }
    let endpoint_out = sagemaker
        .describe_endpoint()
        .endpoint_name("fraud-prod")
        .send()
        .await
        .expect("describe endpoint");
    assert_eq!(
        endpoint_out.endpoint_status(),
        Some(&EndpointStatus::InService)
    );
    assert_eq!(endpoint_out.endpoint_config_name(), Some("fraud-prod-1"));
    let variant = &endpoint_out.production_variants()[0];
    assert_eq!(variant.current_weight(), Some(1.0));
    assert_eq!(variant.current_instance_count(), Some(1));
    let image = &variant.deployed_images()[0];
    assert_eq!(image.specified_image(), Some(IMAGE));
    assert_eq!(
        image.resolved_image(),
        Some(format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud@{DIGEST}").as_str())
    );
    assert!(image.resolution_time().is_some());

    let tags = sagemaker
        .list_tags()
        .resource_arn(endpoint_out.endpoint_arn().expect("endpoint ARN"))
        .send()
        .await
        .expect("tags");
    assert_eq!(tags.tags()[0].key(), Some("govsync:stage"));
    assert_eq!(tags.tags()[0].value(), Some("Production"));

    // The paginator walks pages of one; oldest first when asked.
    let names: Vec<String> = sagemaker
        .list_endpoints()
        .max_results(1)
        .sort_order(OrderKey::Ascending)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("list endpoints")
        .iter()
        .map(|summary| summary.endpoint_name().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(names, ["fraud-prod", "fraud-staging", "fraud-canary"]);

    let missing = sagemaker
        .describe_endpoint()
        .endpoint_name("gone")
        .send()
        .await
        .expect_err("a missing endpoint");
    assert_eq!(missing.code(), Some("ValidationException"));
    assert_eq!(
        missing.message(),
        Some("Could not find endpoint \"arn:aws:sagemaker:us-east-1:123456789012:endpoint/gone\".")
    );
    let duplicate = sagemaker
        .create_model()
        .model_name("fraud-v1")
        .primary_container(
            ContainerDefinition::builder()
                .model_package_name(&package)
                .build(),
        )
        .send()
        .await
        .expect_err("a second model of the name");
    assert_eq!(duplicate.code(), Some("ValidationException"));
    assert!(
        duplicate
            .message()
            .is_some_and(|m| m.starts_with("Cannot create already existing model"))
    );
}
