use serde_json::{Value, json};

use super::super::{CallContext, Operation, Outcome, Registries};
use crate::error::ApiError;
use crate::events::{CLOUDTRAIL, Caller};

const ACCOUNT: &str = "123456789012";
const ROLE: &str = "arn:aws:iam::123456789012:role/SageMakerExecution";
const DIGEST: &str = "sha256:4dc8a7e4a010a19bb9e0a6b063f355393f6e623603361bd8b105f554d4f0c004";
const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud:1.4";

fn ctx_as(account: &str, region: &str) -> CallContext {
    CallContext {
        caller: Caller {
            arn: format!("arn:aws:sts::{account}:assumed-role/deployer/pipeline"),
            account: account.into(),
            access_key_id: format!("AKID{account}"),
            studio: None,
        },
        region: region.into(),
        user_agent: "Boto3/1.44.8".into(),
        request_id: "req-1".into(),
    }
}

fn ctx() -> CallContext {
    ctx_as(ACCOUNT, "us-east-1")
}

fn call(
    registries: &mut Registries,
    operation: Operation,
    body: Value,
) -> Result<Outcome, ApiError> {
    registries.call(&ctx(), operation, body.to_string().as_bytes())
}

fn ok(registries: &mut Registries, operation: Operation, body: Value) -> Outcome {
    match call(registries, operation, body) {
        Ok(outcome) => outcome,
        Err(error) => panic!("{} failed: {error:?}", operation.name()),
    }
}

fn refused(registries: &mut Registries, operation: Operation, body: Value) -> String {
    match call(registries, operation, body.clone()) {
        Ok(outcome) => panic!(
            "{} {body} unexpectedly succeeded: {:?}",
            operation.name(),
            outcome.response
        ),
        Err(ApiError::Validation(message)) => message,
        Err(other) => panic!(
            "{} {body}: expected a ValidationException, got {other:?}",
            operation.name()
        ),
    }
}

/// A registry with group `fraud` and its version 1 (image by tag, digest recorded).
fn with_package() -> (Registries, String) {
    let mut registries = Registries::default();
    ok(
        &mut registries,
        Operation::CreateModelPackageGroup,
        json!({"ModelPackageGroupName": "Fraud"}),
    );
    let arn = ok(
        &mut registries,
        Operation::CreateModelPackage,
        json!({
            "ModelPackageGroupName": "Fraud",
            "InferenceSpecification": {
                "Containers": [{"Image": IMAGE, "ImageDigest": DIGEST, "ModelDataUrl": "s3://models/fraud/1/model.tar.gz", "ModelDataETag": "\"e1\""}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"]
            }
        }),
    )
    .response["ModelPackageArn"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (registries, arn)
}

fn model_from(registries: &mut Registries, name: &str, package: &str) -> Outcome {
    ok(
        registries,
        Operation::CreateModel,
        json!({"ModelName": name, "ExecutionRoleArn": ROLE, "PrimaryContainer": {"ModelPackageName": package}}),
    )
}

fn config(registries: &mut Registries, name: &str, model: &str) -> Outcome {
    ok(
        registries,
        Operation::CreateEndpointConfig,
        json!({"EndpointConfigName": name, "ProductionVariants": [
            {"VariantName": "AllTraffic", "ModelName": model, "InstanceType": "ml.m5.large", "InitialInstanceCount": 2}
        ]}),
    )
}

/// Package, model `fraud-v1`, config `fraud-config`, endpoint `fraud-prod` tagged with its stage.
fn serving() -> (Registries, String) {
    let (mut registries, package) = with_package();
    model_from(&mut registries, "fraud-v1", &package);
    config(&mut registries, "fraud-config", "fraud-v1");
    ok(
        &mut registries,
        Operation::CreateEndpoint,
        json!({"EndpointName": "fraud-prod", "EndpointConfigName": "fraud-config", "Tags": [{"Key": "govsync:stage", "Value": "Production"}]}),
    );
    (registries, package)
}

#[test]
fn a_model_is_created_from_a_package_version_and_described_as_given() {
    let (mut registries, package) = with_package();
    let outcome = model_from(&mut registries, "Fraud-V1", &package);
    let arn = "arn:aws:sagemaker:us-east-1:123456789012:model/fraud-v1";
    assert_eq!(outcome.response, json!({"ModelArn": arn}));
    assert_eq!(outcome.events.len(), 1);
    assert_eq!(outcome.events[0].detail_type, CLOUDTRAIL);
    assert_eq!(outcome.events[0].detail["eventName"], "CreateModel");
    assert_eq!(
        outcome.events[0].detail["responseElements"],
        json!({"modelArn": arn})
    );
    assert_eq!(
        outcome.events[0].detail["requestParameters"]["primaryContainer"],
        json!({"modelPackageName": package})
    );
    // Names are case-insensitive, as the lowercase ARN implies; the name keeps its case.
    let described = ok(
        &mut registries,
        Operation::DescribeModel,
        json!({"ModelName": "fraud-v1"}),
    )
    .response;
    assert_eq!(described["ModelName"], "Fraud-V1");
    assert_eq!(described["ModelArn"], arn);
    assert_eq!(
        described["PrimaryContainer"],
        json!({"ModelPackageName": package})
    );
    assert_eq!(described["ExecutionRoleArn"], ROLE);
    assert_eq!(described["EnableNetworkIsolation"], false);
    assert!(described["CreationTime"].is_number());
    assert!(described.get("Containers").is_none());
    // Reads publish nothing.
    assert!(
        ok(
            &mut registries,
            Operation::DescribeModel,
            json!({"ModelName": "Fraud-V1"})
        )
        .events
        .is_empty()
    );
}

#[test]
fn a_model_names_its_package_by_arn_or_group_and_version_and_it_must_exist() {
    let (mut registries, _) = with_package();
    model_from(&mut registries, "by-name", "Fraud/1");
    let message = refused(
        &mut registries,
        Operation::CreateModel,
        json!({"ModelName": "m2", "PrimaryContainer": {"ModelPackageName": "arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud/7"}}),
    );
    assert_eq!(
        message,
        "Model package arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud/7 does not exist."
    );
    // An unversioned package name: the emulator holds none.
    let message = refused(
        &mut registries,
        Operation::CreateModel,
        json!({"ModelName": "m3", "PrimaryContainer": {"ModelPackageName": "fraud"}}),
    );
    assert!(message.contains("does not exist"), "{message}");
    // Another region's package does not exist here.
    let message = refused(
        &mut registries,
        Operation::CreateModel,
        json!({"ModelName": "m4", "PrimaryContainer": {"ModelPackageName": "arn:aws:sagemaker:eu-west-1:123456789012:model-package/fraud/1"}}),
    );
    assert!(message.contains("does not exist"), "{message}");
    // Nothing was created by the refusals.
    assert!(
        call(
            &mut registries,
            Operation::DescribeModel,
            json!({"ModelName": "m2"})
        )
        .is_err()
    );
}

#[test]
fn create_model_checks_its_members_as_documented() {
    let (mut registries, package) = with_package();
    let cases = [
        (json!({"PrimaryContainer": {"Image": IMAGE}}), "'modelName'"),
        (
            json!({"ModelName": "bad_name", "PrimaryContainer": {"Image": IMAGE}}),
            "'modelName'",
        ),
        (
            json!({"ModelName": "m"}),
            "Either PrimaryContainer or Containers",
        ),
        (
            json!({"ModelName": "m", "PrimaryContainer": {"Image": IMAGE}, "Containers": [{"Image": IMAGE}]}),
            "cannot both be specified",
        ),
        (json!({"ModelName": "m", "Containers": []}), "'containers'"),
        (
            json!({"ModelName": "m", "PrimaryContainer": {"ModelPackageName": package, "Image": IMAGE}}),
            "cannot be combined",
        ),
        (
            json!({"ModelName": "m", "PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": "ftp://b/m.tar.gz"}}),
            "'primaryContainer.modelDataUrl'",
        ),
        (
            json!({"ModelName": "m", "Containers": [{"Image": IMAGE}, {"ModelDataUrl": "s3://b/m.tar.gz"}]}),
            "'containers.2.member'",
        ),
        (
            json!({"ModelName": "m", "PrimaryContainer": {"Image": IMAGE}, "ExecutionRoleArn": "arn:aws:iam::123456789012:user/alice"}),
            "'executionRoleArn'",
        ),
        (
            json!({"ModelName": "m", "PrimaryContainer": {"Image": IMAGE}, "InferenceExecutionConfig": {"Mode": "Parallel"}}),
            "inferenceExecutionConfig.mode",
        ),
        (
            json!({"ModelName": "m", "PrimaryContainer": {"Image": IMAGE}, "Tags": [{"Key": "aws:x", "Value": "y"}]}),
            "aws:",
        ),
    ];
    for (body, needle) in cases {
        let message = refused(&mut registries, Operation::CreateModel, body.clone());
        assert!(message.contains(needle), "{body} → {message}");
    }
    assert!(matches!(
        call(
            &mut registries,
            Operation::CreateModel,
            json!({"ModelName": "m", "PrimaryContainer": "repo:1"})
        ),
        Err(ApiError::Serialization(_))
    ));
    // ExecutionRoleArn is optional (CreateModel requires only ModelName); an image model needs no package.
    let outcome = ok(
        &mut registries,
        Operation::CreateModel,
        json!({"ModelName": "own-image", "Containers": [{"Image": IMAGE, "ModelDataUrl": "s3://b/m.tar.gz"}, {"Image": "repo:2"}]}),
    );
    assert_eq!(
        outcome.response["ModelArn"],
        "arn:aws:sagemaker:us-east-1:123456789012:model/own-image"
    );
    let described = ok(
        &mut registries,
        Operation::DescribeModel,
        json!({"ModelName": "own-image"}),
    )
    .response;
    assert_eq!(
        described["Containers"],
        json!([{"Image": IMAGE, "ModelDataUrl": "s3://b/m.tar.gz"}, {"Image": "repo:2"}])
    );
    assert!(described.get("ExecutionRoleArn").is_none());
}

#[test]
fn duplicates_and_missing_resources_answer_as_sagemaker_does() {
    let (mut registries, package) = serving();
    assert_eq!(
        refused(
            &mut registries,
            Operation::CreateModel,
            json!({"ModelName": "FRAUD-v1", "PrimaryContainer": {"ModelPackageName": package}})
        ),
        "Cannot create already existing model \"arn:aws:sagemaker:us-east-1:123456789012:model/fraud-v1\"."
    );
    assert_eq!(
        refused(
            &mut registries,
            Operation::CreateEndpointConfig,
            json!({"EndpointConfigName": "Fraud-Config", "ProductionVariants": [
            {"VariantName": "a", "ModelName": "fraud-v1", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}]})
        ),
        "Cannot create already existing endpoint configuration \"arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/fraud-config\"."
    );
    assert_eq!(
        refused(
            &mut registries,
            Operation::CreateEndpoint,
            json!({"EndpointName": "fraud-PROD", "EndpointConfigName": "fraud-config"})
        ),
        "Cannot create already existing endpoint \"arn:aws:sagemaker:us-east-1:123456789012:endpoint/fraud-prod\"."
    );
    for (operation, body, message) in [
        (
            Operation::DescribeModel,
            json!({"ModelName": "Nope"}),
            "Could not find model \"arn:aws:sagemaker:us-east-1:123456789012:model/nope\".",
        ),
        (
            Operation::DeleteModel,
            json!({"ModelName": "nope"}),
            "Could not find model \"arn:aws:sagemaker:us-east-1:123456789012:model/nope\".",
        ),
        (
            Operation::DescribeEndpointConfig,
            json!({"EndpointConfigName": "nope"}),
            "Could not find endpoint configuration \"arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/nope\".",
        ),
        (
            Operation::DeleteEndpointConfig,
            json!({"EndpointConfigName": "nope"}),
            "Could not find endpoint configuration \"arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/nope\".",
        ),
        (
            Operation::DescribeEndpoint,
            json!({"EndpointName": "nope"}),
            "Could not find endpoint \"arn:aws:sagemaker:us-east-1:123456789012:endpoint/nope\".",
        ),
        (
            Operation::DeleteEndpoint,
            json!({"EndpointName": "nope"}),
            "Could not find endpoint \"arn:aws:sagemaker:us-east-1:123456789012:endpoint/nope\".",
        ),
        (
            Operation::CreateEndpoint,
            json!({"EndpointName": "e2", "EndpointConfigName": "nope"}),
            "Could not find endpoint configuration \"arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/nope\".",
        ),
        (
            Operation::CreateEndpointConfig,
            json!({"EndpointConfigName": "c2", "ProductionVariants": [
            {"VariantName": "a", "ModelName": "nope", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}]}),
            "Could not find model \"arn:aws:sagemaker:us-east-1:123456789012:model/nope\".",
        ),
    ] {
        assert_eq!(
            refused(&mut registries, operation, body),
            message,
            "{}",
            operation.name()
        );
    }
    for (operation, body) in [
        (Operation::DescribeModel, json!({})),
        (Operation::DescribeEndpoint, json!({"EndpointName": "-x"})),
        (Operation::CreateEndpoint, json!({"EndpointName": "x"})),
    ] {
        let message = refused(&mut registries, operation, body);
        assert!(
            message.starts_with("1 validation error detected"),
            "{message}"
        );
    }
}

#[test]
fn endpoint_configs_check_their_production_variants() {
    let (mut registries, package) = with_package();
    model_from(&mut registries, "m", &package);
    let variant = |extra: Value| {
        let mut base = json!({"VariantName": "v", "ModelName": "m"});
        if let (Value::Object(base), Value::Object(extra)) = (&mut base, extra) {
            base.extend(extra);
        }
        base
    };
    let instance = json!({"InstanceType": "ml.m5.large", "InitialInstanceCount": 1});
    let eleven: Vec<Value> = (0..11)
        .map(|i| json!({"VariantName": format!("v{i}"), "ModelName": "m", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}))
        .collect();
    let cases = [
        (json!({"EndpointConfigName": "c"}), "'productionVariants'"),
        (
            json!({"EndpointConfigName": "c", "ProductionVariants": []}),
            "between 1 and 10",
        ),
        (
            json!({"EndpointConfigName": "c", "ProductionVariants": eleven}),
            "between 1 and 10",
        ),
        (
            json!({"EndpointConfigName": "c", "ProductionVariants": [variant(json!({"InstanceType": "ml.m5.large"}))]}),
            "initialInstanceCount",
        ),
        (
            json!({"EndpointConfigName": "c", "ProductionVariants": [variant(json!({"InstanceType": "ml.m5.large", "InitialInstanceCount": 0}))]}),
            "greater than or equal to 1",
        ),
        (
            json!({"EndpointConfigName": "c", "ProductionVariants": [variant(json!({"InstanceType": "m5.large", "InitialInstanceCount": 1}))]}),
            "instanceType",
        ),
        (
            json!({"EndpointConfigName": "c", "ProductionVariants": [variant(json!({}))]}),
            "either InstanceType",
        ),
        (
            json!({"EndpointConfigName": "c", "ProductionVariants": [variant(json!({"InstanceType": "ml.m5.large", "InitialInstanceCount": 1, "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}}))]}),
            "both InstanceType and ServerlessConfig",
        ),
        (
            json!({"EndpointConfigName": "c", "ProductionVariants": [variant(json!({"ServerlessConfig": {"MemorySizeInMB": 1500, "MaxConcurrency": 5}}))]}),
            "memorySizeInMB",
        ),
        (
            json!({"EndpointConfigName": "c", "ProductionVariants": [variant(json!({"ServerlessConfig": {"MemorySizeInMB": 8192, "MaxConcurrency": 5}}))]}),
            "memorySizeInMB",
        ),
        (
            json!({"EndpointConfigName": "c", "ProductionVariants": [variant(json!({"ServerlessConfig": {"MemorySizeInMB": 2048}}))]}),
            "maxConcurrency",
        ),
        (
            json!({"EndpointConfigName": "c", "ProductionVariants": [variant(json!({"ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5, "ProvisionedConcurrency": 6}}))]}),
            "provisionedConcurrency",
        ),
        (
            json!({"EndpointConfigName": "c", "ProductionVariants": [variant(json!({"ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}, "InitialInstanceCount": 1}))]}),
            "serverless",
        ),
        (
            json!({"EndpointConfigName": "c", "ProductionVariants": [variant(instance.clone()), variant(instance.clone())]}),
            "more than once",
        ),
        (
            json!({"EndpointConfigName": "c", "ProductionVariants": [{"ModelName": "m", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}]}),
            "variantName",
        ),
        (
            json!({"EndpointConfigName": "c", "ProductionVariants": [{"VariantName": "v", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}]}),
            "inference components",
        ),
        (
            json!({"EndpointConfigName": "c", "ProductionVariants": [variant(json!({"InstanceType": "ml.m5.large", "InitialInstanceCount": 1, "InitialVariantWeight": -1}))]}),
            "initialVariantWeight",
        ),
        (
            json!({"EndpointConfigName": "c", "ProductionVariants": [variant(instance.clone())], "KmsKeyId": "key id"}),
            "kmsKeyId",
        ),
        (
            json!({"EndpointConfigName": "c", "ProductionVariants": [variant(instance.clone()), {"VariantName": "w", "ModelName": "m", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}],
            "ShadowProductionVariants": [{"VariantName": "s", "ModelName": "m", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}]}),
            "only one variant each",
        ),
    ];
    for (body, needle) in cases {
        let message = refused(
            &mut registries,
            Operation::CreateEndpointConfig,
            body.clone(),
        );
        assert!(message.contains(needle), "{body} → {message}");
    }
    assert!(matches!(
        call(
            &mut registries,
            Operation::CreateEndpointConfig,
            json!({"EndpointConfigName": "c", "ProductionVariants": [variant(json!({"InstanceType": "ml.m5.large", "InitialInstanceCount": 1.5}))]})
        ),
        Err(ApiError::Serialization(_))
    ));
    // Nothing was kept by the refusals.
    assert!(
        call(
            &mut registries,
            Operation::DescribeEndpointConfig,
            json!({"EndpointConfigName": "c"})
        )
        .is_err()
    );

    let outcome = ok(
        &mut registries,
        Operation::CreateEndpointConfig,
        json!({"EndpointConfigName": "Mixed", "ProductionVariants": [
            variant(instance.clone()),
            {"VariantName": "small", "ModelName": "m", "InitialVariantWeight": 0.25, "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5, "ProvisionedConcurrency": 5}}
        ], "Tags": [{"Key": "team", "Value": "ds"}]}),
    );
    let arn = "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/mixed";
    assert_eq!(outcome.response, json!({"EndpointConfigArn": arn}));
    assert_eq!(
        outcome.events[0].detail["responseElements"],
        json!({"endpointConfigArn": arn})
    );
    let described = ok(
        &mut registries,
        Operation::DescribeEndpointConfig,
        json!({"EndpointConfigName": "mixed"}),
    )
    .response;
    assert_eq!(described["EndpointConfigName"], "Mixed");
    assert_eq!(described["EndpointConfigArn"], arn);
    assert!(described["CreationTime"].is_number());
    // "If unspecified, it defaults to 1.0."
    assert_eq!(
        described["ProductionVariants"],
        json!([
            {"VariantName": "v", "ModelName": "m", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1, "InitialVariantWeight": 1.0},
            {"VariantName": "small", "ModelName": "m", "InitialVariantWeight": 0.25, "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5, "ProvisionedConcurrency": 5}}
        ])
    );
}

#[test]
fn an_endpoint_is_in_service_at_once_and_describes_what_it_serves() {
    let (mut registries, _) = serving();
    let described = ok(
        &mut registries,
        Operation::DescribeEndpoint,
        json!({"EndpointName": "Fraud-Prod"}),
    )
    .response;
    assert_eq!(described["EndpointName"], "fraud-prod");
    assert_eq!(
        described["EndpointArn"],
        "arn:aws:sagemaker:us-east-1:123456789012:endpoint/fraud-prod"
    );
    assert_eq!(described["EndpointConfigName"], "fraud-config");
    assert_eq!(described["EndpointStatus"], "InService");
    assert_eq!(described["LastModifiedTime"], described["CreationTime"]);
    let variants = described["ProductionVariants"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(variants.len(), 1);
    let variant = &variants[0];
    assert_eq!(variant["VariantName"], "AllTraffic");
    assert_eq!(variant["CurrentWeight"], 1.0);
    assert_eq!(variant["DesiredWeight"], 1.0);
    assert_eq!(variant["CurrentInstanceCount"], 2);
    assert_eq!(variant["DesiredInstanceCount"], 2);
    // The package recorded the digest of its tagged image: the endpoint resolves the tag to it.
    assert_eq!(
        variant["DeployedImages"],
        json!([{
            "SpecifiedImage": IMAGE,
            "ResolvedImage": format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud@{DIGEST}"),
            "ResolutionTime": described["CreationTime"],
        }])
    );
}

#[test]
fn images_resolve_only_when_their_digest_is_known() {
    use super::resolved_image;
    let digest = Some(DIGEST);
    assert_eq!(
        resolved_image("localhost:5000/team/fraud:1.4", digest).as_deref(),
        Some(format!("localhost:5000/team/fraud@{DIGEST}").as_str())
    );
    assert_eq!(
        resolved_image("localhost:5000/team/fraud", digest).as_deref(),
        Some(format!("localhost:5000/team/fraud@{DIGEST}").as_str())
    );
    let pinned = format!("repo/fraud@{DIGEST}");
    assert_eq!(
        resolved_image(&pinned, None).as_deref(),
        Some(pinned.as_str())
    );
    assert_eq!(resolved_image("repo/fraud:1.4", None), None);
    assert_eq!(resolved_image("repo/fraud:1.4", Some("sha256:short")), None);

    // An image model by tag deploys unresolved; one pinned by digest resolves to itself.
    let mut registries = Registries::default();
    ok(
        &mut registries,
        Operation::CreateModel,
        json!({"ModelName": "tagged", "PrimaryContainer": {"Image": "repo/fraud:1.4"}}),
    );
    ok(
        &mut registries,
        Operation::CreateModel,
        json!({"ModelName": "pinned", "PrimaryContainer": {"Image": pinned}}),
    );
    ok(
        &mut registries,
        Operation::CreateEndpointConfig,
        json!({"EndpointConfigName": "two", "ProductionVariants": [
            {"VariantName": "a", "ModelName": "tagged", "ServerlessConfig": {"MemorySizeInMB": 1024, "MaxConcurrency": 1}},
            {"VariantName": "b", "ModelName": "pinned", "InstanceType": "ml.c5.xlarge", "InitialInstanceCount": 1, "InitialVariantWeight": 3}
        ]}),
    );
    ok(
        &mut registries,
        Operation::CreateEndpoint,
        json!({"EndpointName": "two", "EndpointConfigName": "two"}),
    );
    let described = ok(
        &mut registries,
        Operation::DescribeEndpoint,
        json!({"EndpointName": "two"}),
    )
    .response;
    let serverless = &described["ProductionVariants"][0];
    assert_eq!(
        serverless["DeployedImages"][0]["SpecifiedImage"],
        "repo/fraud:1.4"
    );
    assert!(
        serverless["DeployedImages"][0]
            .get("ResolvedImage")
            .is_none()
    );
    assert_eq!(
        serverless["CurrentServerlessConfig"],
        json!({"MemorySizeInMB": 1024, "MaxConcurrency": 1})
    );
    assert_eq!(
        serverless["DesiredServerlessConfig"],
        serverless["CurrentServerlessConfig"]
    );
    assert!(serverless.get("CurrentInstanceCount").is_none());
    let pinned_variant = &described["ProductionVariants"][1];
    assert_eq!(pinned_variant["DeployedImages"][0]["ResolvedImage"], pinned);
    assert_eq!(pinned_variant["CurrentWeight"], 3.0);
}

#[test]
fn an_endpoint_outlives_its_configuration_and_model_and_is_deleted_at_once() {
    let (mut registries, _) = serving();
    let before = ok(
        &mut registries,
        Operation::DescribeEndpoint,
        json!({"EndpointName": "fraud-prod"}),
    )
    .response;
    let deleted = ok(
        &mut registries,
        Operation::DeleteEndpointConfig,
        json!({"EndpointConfigName": "fraud-config"}),
    );
    assert_eq!(deleted.response, json!({}));
    assert_eq!(
        deleted.events[0].detail["eventName"],
        "DeleteEndpointConfig"
    );
    assert_eq!(deleted.events[0].detail["responseElements"], Value::Null);
    ok(
        &mut registries,
        Operation::DeleteModel,
        json!({"ModelName": "fraud-v1"}),
    );
    let after = ok(
        &mut registries,
        Operation::DescribeEndpoint,
        json!({"EndpointName": "fraud-prod"}),
    )
    .response;
    assert_eq!(before, after);
    // A new endpoint cannot be made from the deleted configuration; a config naming a deleted model
    // cannot be deployed either.
    assert!(
        refused(
            &mut registries,
            Operation::CreateEndpoint,
            json!({"EndpointName": "again", "EndpointConfigName": "fraud-config"})
        )
        .contains("Could not find endpoint configuration")
    );

    let deleted = ok(
        &mut registries,
        Operation::DeleteEndpoint,
        json!({"EndpointName": "FRAUD-prod"}),
    );
    assert_eq!(deleted.events[0].detail["eventName"], "DeleteEndpoint");
    assert!(
        refused(
            &mut registries,
            Operation::DescribeEndpoint,
            json!({"EndpointName": "fraud-prod"})
        )
        .starts_with("Could not find endpoint")
    );
    let listed = ok(&mut registries, Operation::ListEndpoints, json!({})).response;
    assert_eq!(listed, json!({"Endpoints": []}));
}

#[test]
fn an_endpoint_is_refused_when_its_configured_model_was_deleted() {
    let (mut registries, package) = with_package();
    model_from(&mut registries, "m", &package);
    config(&mut registries, "c", "m");
    ok(
        &mut registries,
        Operation::DeleteModel,
        json!({"ModelName": "m"}),
    );
    assert_eq!(
        refused(
            &mut registries,
            Operation::CreateEndpoint,
            json!({"EndpointName": "e", "EndpointConfigName": "c"})
        ),
        "Could not find model \"arn:aws:sagemaker:us-east-1:123456789012:model/m\"."
    );
}

fn endpoints(registries: &mut Registries, body: Value) -> (Vec<String>, Option<String>) {
    let response = ok(registries, Operation::ListEndpoints, body).response;
    let names = response["Endpoints"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| item["EndpointName"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default();
    (names, response["NextToken"].as_str().map(str::to_owned))
}

#[test]
fn list_endpoints_pages_sorts_and_filters() {
    let (mut registries, package) = with_package();
    model_from(&mut registries, "m", &package);
    config(&mut registries, "c", "m");
    for name in ["delta", "alpha", "echo", "charlie", "bravo"] {
        ok(
            &mut registries,
            Operation::CreateEndpoint,
            json!({"EndpointName": name, "EndpointConfigName": "c"}),
        );
    }
    // Default: CreationTime, Descending (ListEndpoints reference), 10 a page.
    assert_eq!(
        endpoints(&mut registries, json!({})).0,
        ["bravo", "charlie", "echo", "alpha", "delta"]
    );
    // Pages of two, walking every endpoint once.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut body = json!({"MaxResults": 2, "SortBy": "Name", "SortOrder": "Ascending"});
        if let (Some(token), Value::Object(fields)) = (&token, &mut body) {
            fields.insert("NextToken".into(), json!(token));
        }
        let (page, next) = endpoints(&mut registries, body);
        assert!(page.len() <= 2);
        seen.extend(page);
        match next {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ["alpha", "bravo", "charlie", "delta", "echo"]);
    assert_eq!(
        endpoints(&mut registries, json!({"SortBy": "Name"})).0,
        ["echo", "delta", "charlie", "bravo", "alpha"]
    );
    assert_eq!(
        endpoints(&mut registries, json!({"NameContains": "HA"})).0,
        ["charlie", "alpha"]
    );
    assert_eq!(
        endpoints(
            &mut registries,
            json!({"StatusEquals": "InService", "SortOrder": "Ascending"})
        )
        .0
        .len(),
        5
    );
    assert!(
        endpoints(&mut registries, json!({"StatusEquals": "Creating"}))
            .0
            .is_empty()
    );
    // CreationTimeAfter is inclusive ("greater than or equal to"), CreationTimeBefore strict.
    let echo = ok(
        &mut registries,
        Operation::DescribeEndpoint,
        json!({"EndpointName": "echo"}),
    )
    .response;
    let created = echo["CreationTime"].clone();
    assert_eq!(
        endpoints(
            &mut registries,
            json!({"CreationTimeAfter": created, "SortOrder": "Ascending"})
        )
        .0,
        ["echo", "charlie", "bravo"]
    );
    assert_eq!(
        endpoints(
            &mut registries,
            json!({"CreationTimeBefore": created, "SortOrder": "Ascending"})
        )
        .0,
        ["delta", "alpha"]
    );
    assert_eq!(
        endpoints(
            &mut registries,
            json!({"LastModifiedTimeAfter": created, "SortOrder": "Ascending"})
        )
        .0,
        ["charlie", "bravo"]
    );
    let summary = &ok(
        &mut registries,
        Operation::ListEndpoints,
        json!({"MaxResults": 1}),
    )
    .response["Endpoints"][0];
    assert_eq!(
        summary
            .as_object()
            .map(|fields| {
                // Sorted: serde_json keeps insertion order when another crate of the build enables it.
                let mut keys = fields.keys().cloned().collect::<Vec<_>>();
                keys.sort();
                keys
            })
            .unwrap_or_default(),
        [
            "CreationTime",
            "EndpointArn",
            "EndpointName",
            "EndpointStatus",
            "LastModifiedTime"
        ]
    );
    for (body, needle) in [
        (json!({"MaxResults": 0}), "maxResults"),
        (json!({"MaxResults": 101}), "maxResults"),
        (json!({"SortBy": "Size"}), "sortBy"),
        (json!({"SortOrder": "Up"}), "sortOrder"),
        (json!({"StatusEquals": "Ready"}), "statusEquals"),
        (json!({"NameContains": "a_b"}), "nameContains"),
        (json!({"NextToken": "zz"}), "pagination token"),
    ] {
        let message = refused(&mut registries, Operation::ListEndpoints, body.clone());
        assert!(message.contains(needle), "{body} → {message}");
    }
    assert!(matches!(
        call(
            &mut registries,
            Operation::ListEndpoints,
            json!({"CreationTimeAfter": "yesterday"})
        ),
        Err(ApiError::Serialization(_))
    ));
}

#[test]
fn hosting_resources_take_tags_by_arn() {
    let (mut registries, _) = serving();
    let endpoint = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/fraud-prod";
    let listed = ok(
        &mut registries,
        Operation::ListTags,
        json!({"ResourceArn": endpoint}),
    )
    .response;
    assert_eq!(
        listed,
        json!({"Tags": [{"Key": "govsync:stage", "Value": "Production"}]})
    );
    ok(
        &mut registries,
        Operation::AddTags,
        json!({"ResourceArn": endpoint, "Tags": [{"Key": "govsync:stage", "Value": "PreProduction"}, {"Key": "team", "Value": "ds"}]}),
    );
    let listed = ok(
        &mut registries,
        Operation::ListTags,
        json!({"ResourceArn": endpoint}),
    )
    .response;
    assert_eq!(
        listed["Tags"],
        json!([{"Key": "govsync:stage", "Value": "PreProduction"}, {"Key": "team", "Value": "ds"}])
    );
    ok(
        &mut registries,
        Operation::DeleteTags,
        json!({"ResourceArn": endpoint, "TagKeys": ["team"]}),
    );
    for arn in [
        "arn:aws:sagemaker:us-east-1:123456789012:model/fraud-v1",
        "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/fraud-config",
    ] {
        ok(
            &mut registries,
            Operation::AddTags,
            json!({"ResourceArn": arn, "Tags": [{"Key": "k", "Value": "v"}]}),
        );
        assert_eq!(
            ok(
                &mut registries,
                Operation::ListTags,
                json!({"ResourceArn": arn})
            )
            .response["Tags"],
            json!([{"Key": "k", "Value": "v"}])
        );
    }
    // Tag calls publish nothing.
    assert!(
        ok(
            &mut registries,
            Operation::ListTags,
            json!({"ResourceArn": endpoint})
        )
        .events
        .is_empty()
    );
    for arn in [
        "arn:aws:sagemaker:us-east-1:123456789012:endpoint/nope",
        "arn:aws:sagemaker:eu-west-1:123456789012:endpoint/fraud-prod",
        "arn:aws:sagemaker:us-east-1:123456789012:training-job/fraud",
    ] {
        assert!(
            matches!(
                call(
                    &mut registries,
                    Operation::ListTags,
                    json!({"ResourceArn": arn})
                ),
                Err(ApiError::ResourceNotFound(_))
            ),
            "{arn}"
        );
    }
    assert!(matches!(
        call(
            &mut registries,
            Operation::ListTags,
            json!({"ResourceArn": "arn:aws:sagemaker:us-east-1:999999999999:endpoint/fraud-prod"})
        ),
        Err(ApiError::AccessDenied(_))
    ));
}

#[test]
fn hosting_is_separate_per_account_and_region() {
    let (mut registries, _) = serving();
    for context in [
        ctx_as(ACCOUNT, "eu-west-1"),
        ctx_as("111111111111", "us-east-1"),
    ] {
        let answer = registries.call(
            &context,
            Operation::DescribeEndpoint,
            br#"{"EndpointName": "fraud-prod"}"#,
        );
        assert!(
            matches!(answer, Err(ApiError::Validation(ref m)) if m.starts_with("Could not find endpoint")),
            "{answer:?}"
        );
        let listed = registries
            .call(&context, Operation::ListEndpoints, b"{}")
            .map(|o| o.response);
        assert_eq!(listed, Ok(json!({"Endpoints": []})));
    }
}

#[test]
fn another_accounts_package_deploys_only_where_its_group_policy_allows() {
    let (mut registries, package) = with_package();
    let dev = ctx_as("111111111111", "us-east-1");
    let body =
        json!({"ModelName": "m", "PrimaryContainer": {"ModelPackageName": package}}).to_string();
    assert!(matches!(
        registries.call(&dev, Operation::CreateModel, body.as_bytes()),
        Err(ApiError::AccessDenied(_))
    ));
    let policy = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
        "Action": ["sagemaker:DescribeModelPackage"],
        "Resource": ["arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud/*"],
    }]})
    .to_string();
    ok(
        &mut registries,
        Operation::PutModelPackageGroupPolicy,
        json!({"ModelPackageGroupName": "Fraud", "ResourcePolicy": policy}),
    );
    let created = registries
        .call(&dev, Operation::CreateModel, body.as_bytes())
        .map(|o| o.response);
    assert_eq!(
        created,
        Ok(json!({"ModelArn": "arn:aws:sagemaker:us-east-1:111111111111:model/m"}))
    );
}

#[test]
fn a_model_from_a_named_additional_specification_serves_its_images() {
    let (mut registries, _) = with_package();
    let arn = ok(
        &mut registries,
        Operation::CreateModelPackage,
        json!({
            "ModelPackageGroupName": "Fraud",
            "InferenceSpecification": {"Containers": [{"Image": "repo/cpu:1"}]},
            "AdditionalInferenceSpecifications": [{"Name": "gpu", "Containers": [{"Image": "repo/gpu:1"}]}]
        }),
    )
    .response["ModelPackageArn"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    ok(
        &mut registries,
        Operation::CreateModel,
        json!({"ModelName": "gpu", "PrimaryContainer": {"ModelPackageName": arn, "InferenceSpecificationName": "gpu"}}),
    );
    assert!(refused(
        &mut registries,
        Operation::CreateModel,
        json!({"ModelName": "tpu", "PrimaryContainer": {"ModelPackageName": arn, "InferenceSpecificationName": "tpu"}})
    )
    .contains("no inference specification named tpu"));
    config(&mut registries, "gpu", "gpu");
    ok(
        &mut registries,
        Operation::CreateEndpoint,
        json!({"EndpointName": "gpu", "EndpointConfigName": "gpu"}),
    );
    let described = ok(
        &mut registries,
        Operation::DescribeEndpoint,
        json!({"EndpointName": "gpu"}),
    )
    .response;
    assert_eq!(
        described["ProductionVariants"][0]["DeployedImages"][0]["SpecifiedImage"],
        "repo/gpu:1"
    );
}
