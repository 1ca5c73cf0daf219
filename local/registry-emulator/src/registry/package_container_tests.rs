//! A model package's container artifact members (`Image`, `ImageDigest`, `ModelDataUrl`,
//! `ModelDataSource`, `ModelDataETag`) through CreateModelPackage, UpdateModelPackage,
//! DescribeModelPackage and the state-change event (rules: `crate::container`).

use serde_json::{Value, json};

use super::*;
use crate::events::STATE_CHANGE;

const DIGEST: &str = "sha256:4dc8a7e4a010a19bb9e0a6b063f355393f6e623603361bd8b105f554d4f0c004";

fn ctx() -> CallContext {
    CallContext {
        caller: Caller {
            arn: "arn:aws:sts::123456789012:assumed-role/ml-admin/alice".into(),
            account: "123456789012".into(),
            access_key_id: "AKIDEXAMPLE".into(),
            studio: None,
        },
        region: "us-east-1".into(),
        user_agent: "Boto3/1.44.8".into(),
        request_id: "req-1".into(),
    }
}

fn call(
    registries: &mut Registries,
    operation: Operation,
    body: Value,
) -> Result<Outcome, ApiError> {
    registries.call(&ctx(), operation, body.to_string().as_bytes())
}

fn with_group() -> Registries {
    let mut registries = Registries::default();
    call(
        &mut registries,
        Operation::CreateModelPackageGroup,
        json!({"ModelPackageGroupName": "fraud"}),
    )
    .expect("group");
    registries
}

fn artifacts() -> Value {
    json!({
        "Containers": [
            {
                "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud:1.4",
                "ImageDigest": DIGEST,
                "ModelDataUrl": "s3://models/fraud/1.4/model.tar.gz",
                "ModelDataETag": "\"9b2cf535f27731c974343645a3985328\""
            },
            {
                "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/postprocess@sha256:8b7a8e5c1f1f0c0c6ab6a6f8e8b1d0a2c3f4e5d6c7b8a9f0e1d2c3b4a5f6e7d8",
                "ModelDataSource": {"S3DataSource": {
                    "S3Uri": "s3://models/fraud/1.4/postprocess/",
                    "S3DataType": "S3Prefix",
                    "CompressionType": "None"
                }}
            }
        ],
        "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["text/csv"]
    })
}

#[test]
fn artifact_fields_come_back_in_describe_and_in_the_state_change() {
    let mut registries = with_group();
    let outcome = call(
        &mut registries,
        Operation::CreateModelPackage,
        json!({"ModelPackageGroupName": "fraud", "InferenceSpecification": artifacts()}),
    )
    .expect("create");
    let state = &outcome.events[0];
    assert_eq!(state.detail_type, STATE_CHANGE);
    assert_eq!(state.detail["InferenceSpecification"], artifacts());
    let arn = outcome.response["ModelPackageArn"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let described = call(
        &mut registries,
        Operation::DescribeModelPackage,
        json!({"ModelPackageName": arn}),
    )
    .expect("describe")
    .response;
    assert_eq!(described["InferenceSpecification"], artifacts());
    // CloudTrail keeps the request in its own casing.
    let trail = &outcome.events[1];
    assert_eq!(
        trail.detail["requestParameters"]["inferenceSpecification"]["containers"][0]["modelDataETag"],
        "\"9b2cf535f27731c974343645a3985328\""
    );
    assert_eq!(
        trail.detail["requestParameters"]["inferenceSpecification"]["containers"][1]["modelDataSource"]
            ["s3DataSource"]["s3DataType"],
        "S3Prefix"
    );
}

#[test]
fn malformed_artifact_fields_are_refused_and_create_nothing() {
    let mut registries = with_group();
    let with = |container: Value| json!({"ModelPackageGroupName": "fraud", "InferenceSpecification": {"Containers": [container]}});
    let refused = [
        (
            with(json!({"Image": "repo:1", "ImageDigest": "sha256:1234"})),
            "inferenceSpecification.containers.1.member.imageDigest",
        ),
        (
            with(json!({"Image": "repo:1", "ModelDataUrl": "models/fraud.tar.gz"})),
            "inferenceSpecification.containers.1.member.modelDataUrl",
        ),
        (
            with(
                json!({"Image": "repo:1", "ModelDataUrl": "s3://b/m.tar.gz", "ModelDataSource": {"S3DataSource": {"S3Uri": "s3://b/m.tar.gz", "S3DataType": "S3Object", "CompressionType": "Gzip"}}}),
            ),
            "cannot both be specified",
        ),
        (
            with(
                json!({"Image": "repo:1", "ModelDataSource": {"S3DataSource": {"S3Uri": "s3://b/prefix", "S3DataType": "S3Prefix", "CompressionType": "None"}}}),
            ),
            "forward slash",
        ),
        (
            with(
                json!({"Image": "repo:1", "ModelDataSource": {"S3DataSource": {"S3Uri": "gs://b/m.tar.gz", "S3DataType": "S3Object", "CompressionType": "Gzip"}}}),
            ),
            "s3DataSource.s3Uri",
        ),
        (
            with(json!({"Image": ""})),
            "inferenceSpecification.containers.1.member.image",
        ),
        (
            json!({"ModelPackageGroupName": "fraud", "InferenceSpecification": {"Containers": []}}),
            "inferenceSpecification.containers",
        ),
        (
            json!({"ModelPackageGroupName": "fraud", "InferenceSpecification": {"SupportedContentTypes": ["text/csv"]}}),
            "inferenceSpecification.containers",
        ),
        (
            json!({"ModelPackageGroupName": "fraud", "InferenceSpecification": {"Containers": [{"Image": "repo:1"}]},
            "AdditionalInferenceSpecifications": [{"Name": "gpu", "Containers": [{"Image": "repo:2", "ImageDigest": "nope"}]}]}),
            "additionalInferenceSpecifications.1.member.containers.1.member.imageDigest",
        ),
    ];
    for (body, needle) in refused {
        match call(&mut registries, Operation::CreateModelPackage, body.clone()) {
            Err(ApiError::Validation(message)) => {
                assert!(message.contains(needle), "{body} → {message}")
            }
            other => panic!("{body}: expected a ValidationException, got {other:?}"),
        }
    }
    assert!(matches!(
        call(
            &mut registries,
            Operation::CreateModelPackage,
            with(json!({"Image": "repo:1", "ModelDataETag": {"etag": "x"}}))
        ),
        Err(ApiError::Serialization(_))
    ));
    // No version was used up by the refusals.
    let arn = call(
        &mut registries,
        Operation::CreateModelPackage,
        json!({"ModelPackageGroupName": "fraud", "InferenceSpecification": artifacts()}),
    )
    .expect("create")
    .response["ModelPackageArn"]
        .clone();
    assert_eq!(
        arn,
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud/1"
    );
}

#[test]
fn an_update_checks_the_inference_specification_it_replaces() {
    let mut registries = with_group();
    let arn = call(
        &mut registries,
        Operation::CreateModelPackage,
        json!({"ModelPackageGroupName": "fraud", "InferenceSpecification": artifacts()}),
    )
    .expect("create")
    .response["ModelPackageArn"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let refused = call(
        &mut registries,
        Operation::UpdateModelPackage,
        json!({"ModelPackageArn": arn, "InferenceSpecification": {"Containers": [{"Image": "repo:2", "ImageDigest": "sha256:zz"}]}}),
    );
    assert!(
        matches!(refused, Err(ApiError::Validation(ref m)) if m.contains("imageDigest")),
        "{refused:?}"
    );
    let refused = call(
        &mut registries,
        Operation::UpdateModelPackage,
        json!({"ModelPackageArn": arn, "AdditionalInferenceSpecificationsToAdd": [{"Name": "gpu", "Containers": [{"Image": "repo:2", "ModelDataUrl": "ftp://x/y"}]}]}),
    );
    assert!(
        matches!(refused, Err(ApiError::Validation(ref m)) if m.contains("additionalInferenceSpecificationsToAdd.1.member.containers.1.member.modelDataUrl")),
        "{refused:?}"
    );
    // A refused update changes nothing; an accepted one is described and published.
    let described = call(
        &mut registries,
        Operation::DescribeModelPackage,
        json!({"ModelPackageName": arn}),
    )
    .expect("describe")
    .response;
    assert_eq!(described["InferenceSpecification"], artifacts());
    let retrained = json!({"Containers": [{"Image": "repo/fraud:1.5", "ImageDigest": DIGEST, "ModelDataUrl": "s3://models/fraud/1.5/model.tar.gz", "ModelDataETag": "e2"}]});
    let outcome = call(
        &mut registries,
        Operation::UpdateModelPackage,
        json!({"ModelPackageArn": arn, "InferenceSpecification": retrained}),
    )
    .expect("update");
    assert_eq!(
        outcome.events[0].detail["InferenceSpecification"],
        retrained
    );
}
