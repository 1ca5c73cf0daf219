use serde_json::{Map, Value, json};

use super::*;

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn validation_message(result: Result<impl std::fmt::Debug, ApiError>) -> String {
    match result {
        Err(ApiError::Validation(message)) => message,
        other => panic!("expected a ValidationException, got {other:?}"),
    }
}

const DIGEST: &str = "sha256:4dc8a7e4a010a19bb9e0a6b063f355393f6e623603361bd8b105f554d4f0c004";

#[test]
fn image_digests_are_sha256_and_64_hex_digits() {
    assert!(is_image_digest(DIGEST));
    assert!(is_image_digest(&DIGEST.replace("sha256", "SHA256")));
    assert!(is_image_digest(&DIGEST.to_ascii_uppercase()));
    assert!(!is_image_digest(&DIGEST[..DIGEST.len() - 1]));
    assert!(!is_image_digest(&format!("{DIGEST}0")));
    assert!(!is_image_digest(&DIGEST.replace("sha256", "sha512")));
    assert!(!is_image_digest(&DIGEST.replace("sha256:", "")));
    assert!(!is_image_digest(&DIGEST.replace('4', "g")));
    assert!(!is_image_digest("md5:0123456789abcdef0123456789abcdef"));
}

#[test]
fn model_urls_follow_the_s3_or_https_pattern() {
    for good in [
        "s3://bucket/model.tar.gz",
        "s3://bucket",
        "s3://bucket/",
        "s3://bucket/prefix/",
        "https://bucket.s3.us-east-1.amazonaws.com/model.tar.gz",
    ] {
        assert!(is_model_url(good), "{good}");
        assert!(model_url(good, "modelDataUrl").is_ok(), "{good}");
    }
    for bad in [
        "",
        "gs://bucket/model.tar.gz",
        "/opt/ml/model.tar.gz",
        "s3:/bucket/model.tar.gz",
        "s3://",
        "s3:///key",
        "http://bucket/model.tar.gz",
        "S3://bucket/model.tar.gz",
        "s3://bucket/a\nb",
    ] {
        assert!(!is_model_url(bad), "{bad:?}");
    }
    let message = validation_message(model_url(
        "gs://b/m",
        "inferenceSpecification.containers.1.member.modelDataUrl",
    ));
    assert!(
        message.contains("'inferenceSpecification.containers.1.member.modelDataUrl'"),
        "{message}"
    );
    assert!(message.contains("(https|s3)://"), "{message}");
    assert!(model_url(&format!("s3://b/{}", "k".repeat(1020)), "modelDataUrl").is_err());
}

#[test]
fn images_are_non_blank_and_at_most_255_characters() {
    assert!(
        image(
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud:1.4",
            "image"
        )
        .is_ok()
    );
    assert!(image(&format!("repo@{DIGEST}"), "image").is_ok());
    assert!(image("", "image").is_err());
    assert!(image("repo name", "image").is_err());
    assert!(image("repo\tname", "image").is_err());
    assert!(image(&"a".repeat(255), "image").is_ok());
    assert!(image(&"a".repeat(256), "image").is_err());
}

#[test]
fn package_containers_carry_every_artifact_field() {
    let container = object(json!({
        "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud:1.4",
        "ImageDigest": DIGEST,
        "ModelDataUrl": "s3://models/fraud/1.4/model.tar.gz",
        "ModelDataETag": "\"9b2cf535f27731c974343645a3985328\"",
        "Environment": {"SAGEMAKER_PROGRAM": "inference.py"},
        "Framework": "XGBOOST"
    }));
    assert_eq!(package_container(&container, "c"), Ok(()));
    let source = object(json!({
        "Image": "repo:1",
        "ModelDataSource": {"S3DataSource": {
            "S3Uri": "s3://models/fraud/1.4/uncompressed/",
            "S3DataType": "S3Prefix",
            "CompressionType": "None",
            "ETag": "abc",
            "ModelAccessConfig": {"AcceptEula": true}
        }}
    }));
    assert_eq!(package_container(&source, "c"), Ok(()));
    // Image is optional in the current service model.
    assert_eq!(
        package_container(&object(json!({"ModelDataUrl": "s3://b/m.tar.gz"})), "c"),
        Ok(())
    );
}

#[test]
fn a_package_container_refuses_both_model_data_members() {
    let both = object(json!({
        "Image": "repo:1",
        "ModelDataUrl": "s3://b/model.tar.gz",
        "ModelDataSource": {"S3DataSource": {"S3Uri": "s3://b/model.tar.gz", "S3DataType": "S3Object", "CompressionType": "Gzip"}}
    }));
    let message = validation_message(package_container(
        &both,
        "inferenceSpecification.containers.1.member",
    ));
    assert!(
        message.contains("modelDataUrl") && message.contains("modelDataSource"),
        "{message}"
    );
}

#[test]
fn a_package_container_refuses_a_malformed_digest_or_url() {
    let message = validation_message(package_container(
        &object(json!({"Image": "repo:1", "ImageDigest": "sha256:abc"})),
        "inferenceSpecification.containers.1.member",
    ));
    assert!(
        message.contains("'inferenceSpecification.containers.1.member.imageDigest'"),
        "{message}"
    );
    let message = validation_message(package_container(
        &object(json!({"Image": "repo:1", "ModelDataUrl": "file:///model.tar.gz"})),
        "c",
    ));
    assert!(message.contains("'c.modelDataUrl'"), "{message}");
    assert!(matches!(
        package_container(
            &object(json!({"Image": "repo:1", "ModelDataETag": 42})),
            "c"
        ),
        Err(ApiError::Serialization(_))
    ));
    assert!(matches!(
        package_container(&object(json!({"Image": ["repo:1"]})), "c"),
        Err(ApiError::Serialization(_))
    ));
}

#[test]
fn model_data_sources_follow_the_s3_model_data_source_rules() {
    let source = |s3: Value| object(json!({"S3DataSource": s3}));
    let good = [
        json!({"S3Uri": "s3://b/m.tar.gz", "S3DataType": "S3Object", "CompressionType": "Gzip"}),
        json!({"S3Uri": "s3://b/weights.bin", "S3DataType": "S3Object", "CompressionType": "None"}),
        json!({"S3Uri": "s3://b/model/", "S3DataType": "S3Prefix", "CompressionType": "None"}),
    ];
    for s3 in good {
        assert_eq!(model_data_source(&source(s3.clone()), "m"), Ok(()), "{s3}");
    }
    let refused = [
        // Required members.
        (
            json!({"S3DataType": "S3Object", "CompressionType": "Gzip"}),
            "m.s3DataSource.s3Uri",
        ),
        (
            json!({"S3Uri": "s3://b/m", "CompressionType": "Gzip"}),
            "m.s3DataSource.s3DataType",
        ),
        (
            json!({"S3Uri": "s3://b/m", "S3DataType": "S3Object"}),
            "m.s3DataSource.compressionType",
        ),
        // Enums.
        (
            json!({"S3Uri": "s3://b/m", "S3DataType": "ManifestFile", "CompressionType": "None"}),
            "m.s3DataSource.s3DataType",
        ),
        (
            json!({"S3Uri": "s3://b/m", "S3DataType": "S3Object", "CompressionType": "Zip"}),
            "m.s3DataSource.compressionType",
        ),
        // A prefix ends with a slash; Gzip only for an object; the URI pattern.
        (
            json!({"S3Uri": "s3://b/model", "S3DataType": "S3Prefix", "CompressionType": "None"}),
            "m.s3DataSource.s3Uri",
        ),
        (
            json!({"S3Uri": "s3://b/model/", "S3DataType": "S3Prefix", "CompressionType": "Gzip"}),
            "m.s3DataSource.compressionType",
        ),
        (
            json!({"S3Uri": "b/model.tar.gz", "S3DataType": "S3Object", "CompressionType": "Gzip"}),
            "m.s3DataSource.s3Uri",
        ),
        (
            json!({"S3Uri": "s3://b/m", "S3DataType": "S3Object", "CompressionType": "None", "ManifestS3Uri": "manifest.csv"}),
            "m.s3DataSource.manifestS3Uri",
        ),
        (
            json!({"S3Uri": "s3://b/m", "S3DataType": "S3Object", "CompressionType": "None", "ModelAccessConfig": {}}),
            "m.s3DataSource.modelAccessConfig.acceptEula",
        ),
    ];
    for (s3, field) in refused {
        let message = validation_message(model_data_source(&source(s3.clone()), "m"));
        assert!(message.contains(field), "{s3} → {message}");
    }
    assert!(matches!(
        model_data_source(&source(json!("s3://b/m")), "m"),
        Err(ApiError::Serialization(_))
    ));
}

#[test]
fn an_inference_specification_needs_one_to_fifteen_containers() {
    let spec = |containers: Value| {
        object(json!({"Containers": containers, "SupportedContentTypes": ["text/csv"]}))
    };
    let one = json!([{"Image": "repo:1"}]);
    assert_eq!(
        inference_specification(&spec(one), "inferenceSpecification"),
        Ok(())
    );
    let message = validation_message(inference_specification(
        &object(json!({"SupportedContentTypes": ["text/csv"]})),
        "inferenceSpecification",
    ));
    assert!(
        message.contains("'inferenceSpecification.containers'") && message.contains("null"),
        "{message}"
    );
    assert!(inference_specification(&spec(json!([])), "i").is_err());
    let sixteen: Vec<Value> = (0..16).map(|_| json!({"Image": "repo:1"})).collect();
    assert!(inference_specification(&spec(json!(sixteen)), "i").is_err());
    let fifteen: Vec<Value> = (0..15).map(|_| json!({"Image": "repo:1"})).collect();
    assert_eq!(inference_specification(&spec(json!(fifteen)), "i"), Ok(()));
    let message = validation_message(inference_specification(
        &spec(json!([{"Image": "repo:1"}, {"Image": "repo:2", "ImageDigest": "nope"}])),
        "inferenceSpecification",
    ));
    assert!(
        message.contains("inferenceSpecification.containers.2.member.imageDigest"),
        "{message}"
    );
    assert!(matches!(
        inference_specification(&spec(json!(["repo:1"])), "i"),
        Err(ApiError::Serialization(_))
    ));
    assert!(matches!(
        inference_specification(&spec(json!({"Image": "repo:1"})), "i"),
        Err(ApiError::Serialization(_))
    ));
}

#[test]
fn versioned_arns_and_names_follow_the_botocore_pattern() {
    for good in [
        "fraud",
        "fraud/1",
        "fraud/123456789",
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud/3",
        "arn:aws-cn:sagemaker:cn-north-1:123456789012:model-package/fraud/3",
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud",
    ] {
        assert!(is_versioned_arn_or_name(good), "{good}");
    }
    for bad in [
        "",
        "fraud-",
        "fraud/0123456789",
        "fraud/v1",
        "fraud/1/2",
        "arn:aws:sagemaker:us-east-1:12345:model-package/fraud/3",
        "arn:aws:s3:us-east-1:123456789012:model-package/fraud/3",
        "arn:aws:sagemaker:us-east-1:123456789012:fraud",
        "arn:aws:sagemaker:US-EAST-1:123456789012:model-package/fraud/3",
    ] {
        assert!(!is_versioned_arn_or_name(bad), "{bad}");
    }
    assert!(!is_versioned_arn_or_name(&format!("{}/1", "a".repeat(175))));
}

#[test]
fn a_model_container_names_a_package_or_an_image_never_both() {
    assert_eq!(
        model_container(
            &object(json!({"ModelPackageName": "fraud/2"})),
            "primaryContainer"
        ),
        Ok(ModelContainerSource::Package {
            name: "fraud/2".into(),
            specification: None
        })
    );
    assert_eq!(
        model_container(
            &object(
                json!({"Image": "repo:1", "ModelDataUrl": "s3://b/m.tar.gz", "Environment": {"A_1": "x"}, "Mode": "SingleModel"})
            ),
            "primaryContainer"
        ),
        Ok(ModelContainerSource::Image("repo:1".into()))
    );
    for (container, word) in [
        (
            json!({"ModelPackageName": "fraud/2", "Image": "repo:1"}),
            "modelPackageName",
        ),
        (
            json!({"ModelPackageName": "fraud/2", "ModelDataUrl": "s3://b/m.tar.gz"}),
            "modelPackageName",
        ),
        (json!({}), "either Image or ModelPackageName"),
        (
            json!({"ModelDataUrl": "s3://b/m.tar.gz"}),
            "either Image or ModelPackageName",
        ),
        (
            json!({"Image": "repo:1", "InferenceSpecificationName": "gpu"}),
            "inferenceSpecificationName",
        ),
        (
            json!({"ModelPackageName": "not a name"}),
            "primaryContainer.modelPackageName",
        ),
        (
            json!({"Image": "repo:1", "Environment": {"1BAD": "x"}}),
            "primaryContainer.environment",
        ),
        (
            json!({"Image": "repo:1", "Mode": "Many"}),
            "primaryContainer.mode",
        ),
        (
            json!({"Image": "repo:1", "ContainerHostname": "a_b"}),
            "primaryContainer.containerHostname",
        ),
        (
            json!({"Image": "repo:1", "ModelDataUrl": "s3://b/m.tar.gz", "ModelDataSource": {}}),
            "modelDataSource",
        ),
    ] {
        let message = validation_message(model_container(
            &object(container.clone()),
            "primaryContainer",
        ));
        assert!(message.contains(word), "{container} → {message}");
    }
    let big: Map<String, Value> = (0..40)
        .map(|i| (format!("K{i}"), json!("v".repeat(1000))))
        .collect();
    assert!(model_container(&object(json!({"Image": "repo:1", "Environment": big})), "c").is_err());
    let many: Map<String, Value> = (0..101).map(|i| (format!("K{i}"), json!("v"))).collect();
    assert!(
        model_container(
            &object(json!({"Image": "repo:1", "Environment": many})),
            "c"
        )
        .is_err()
    );
    assert!(matches!(
        model_container(
            &object(json!({"Image": "repo:1", "Environment": {"A": 1}})),
            "c"
        ),
        Err(ApiError::Serialization(_))
    ));
}
