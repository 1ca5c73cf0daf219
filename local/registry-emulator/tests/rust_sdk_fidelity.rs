//! The Rust aws-sdk-sagemaker (what govsync's adapters use) against the emulator, in-process, and the
//! events it puts on a fake EventBridge endpoint.

use std::sync::Arc;

use aws_sdk_sagemaker::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sagemaker::error::ProvideErrorMetadata;
use aws_sdk_sagemaker::operation::delete_model_package_group::DeleteModelPackageGroupError;
use aws_sdk_sagemaker::types::{
    InferenceSpecification, ModelApprovalStatus, ModelLifeCycle, ModelPackageContainerDefinition,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use govsync_registry_emulator::config::{self, Command, Config};
use govsync_registry_emulator::publisher::Publisher;
use govsync_registry_emulator::server::{self, AppState};
use serde_json::Value;
use tokio::sync::Mutex;

type Captured = Arc<Mutex<Vec<(HeaderMap, Value)>>>;

fn emulator_config() -> Config {
    match config::parse(
        [
            "--identity".to_owned(),
            "AKIAGOVSYNC=arn:aws:sts::123456789012:assumed-role/govsync-sync/govsync".to_owned(),
        ],
        |_| None,
    ) {
        Ok(Command::Run(config)) => config,
        other => panic!("unexpected {other:?}"),
    }
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let address = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{address}")
}

/// A stand-in EventBridge that records every PutEvents call; `fail` makes it answer 500.
async fn fake_eventbridge(fail: bool) -> (String, Captured) {
    let captured: Captured = Arc::default();
    let router = Router::new()
        .route(
            "/",
            post(
                move |State(captured): State<Captured>, headers: HeaderMap, body: Bytes| async move {
                    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    captured.lock().await.push((headers, body));
                    if fail {
                        (StatusCode::INTERNAL_SERVER_ERROR, "boom".to_owned())
                    } else {
                        (
                            StatusCode::OK,
                            r#"{"FailedEntryCount":0,"Entries":[]}"#.to_owned(),
                        )
                    }
                },
            ),
        )
        .with_state(captured.clone());
    (serve(router).await, captured)
}

async fn start_emulator(events_endpoint: Option<&str>) -> String {
    let publisher =
        events_endpoint.map(|endpoint| Publisher::new(endpoint, "default").expect("publisher"));
    let state = Arc::new(AppState::new(emulator_config(), publisher));
    serve(server::router(state)).await
}

fn client(endpoint: &str, region: &str, access_key_id: &str) -> aws_sdk_sagemaker::Client {
    let config = aws_sdk_sagemaker::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new(
            access_key_id,
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
async fn rust_sdk_registers_updates_and_reads_packages() {
    let endpoint = start_emulator(None).await;
    let sagemaker = client(&endpoint, "us-east-1", "testing");

    let group = sagemaker
        .create_model_package_group()
        .model_package_group_name("Fraud-Detector")
        .send()
        .await
        .expect("create group");
    assert_eq!(
        group.model_package_group_arn(),
        Some("arn:aws:sagemaker:us-east-1:123456789012:model-package-group/fraud-detector")
    );

    let spec = InferenceSpecification::builder()
        .containers(
            ModelPackageContainerDefinition::builder()
                .image("123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud:1")
                .model_data_url("s3://bucket/model.tar.gz")
                .build(),
        )
        .supported_content_types("text/csv")
        .supported_response_mime_types("text/csv")
        .build();
    let arn = sagemaker
        .create_model_package()
        .model_package_group_name("Fraud-Detector")
        .inference_specification(spec)
        .customer_metadata_properties("team", "risk")
        .send()
        .await
        .expect("create package")
        .model_package_arn()
        .map(str::to_owned)
        .expect("package ARN");
    assert_eq!(
        arn,
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud-detector/1"
    );

    let life_cycle = ModelLifeCycle::builder()
        .stage("Production")
        .stage_status("Approved")
        .stage_description("approved in governance")
        .build();
    sagemaker
        .update_model_package()
        .model_package_arn(&arn)
        .model_approval_status(ModelApprovalStatus::Approved)
        .customer_metadata_properties("govsync:model-id", "MOD-1")
        .model_life_cycle(life_cycle)
        .client_token("tok-1")
        .send()
        .await
        .expect("update");

    let described = sagemaker
        .describe_model_package()
        .model_package_name(&arn)
        .send()
        .await
        .expect("describe");
    assert_eq!(
        described.model_approval_status(),
        Some(&ModelApprovalStatus::Approved)
    );
    assert_eq!(described.model_package_version(), Some(1));
    let metadata = described
        .customer_metadata_properties()
        .expect("customer metadata");
    assert_eq!(metadata.get("team").map(String::as_str), Some("risk"));
    assert_eq!(
        metadata.get("govsync:model-id").map(String::as_str),
        Some("MOD-1")
    );
    assert_eq!(
        described.model_life_cycle().and_then(ModelLifeCycle::stage),
        Some("Production")
    );
    let created = described.creation_time().expect("creation time");
    let modified = described.last_modified_time().expect("last modified time");
    assert!(modified > created);
    assert!(created.secs() > 1_700_000_000);
    assert_eq!(
        described
            .inference_specification()
            .and_then(|spec| spec.containers().first())
            .and_then(ModelPackageContainerDefinition::model_data_url),
        Some("s3://bucket/model.tar.gz")
    );

    for _ in 0..4 {
        sagemaker
            .create_model_package()
            .model_package_group_name("Fraud-Detector")
            .send()
            .await
            .expect("create another version");
    }
    let versions: Vec<i32> = sagemaker
        .list_model_packages()
        .model_package_group_name("Fraud-Detector")
        .max_results(2)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("list all pages")
        .iter()
        .filter_map(|summary| summary.model_package_version())
        .collect();
    assert_eq!(versions, vec![1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn rust_sdk_sees_typed_errors() {
    let endpoint = start_emulator(None).await;
    let sagemaker = client(&endpoint, "eu-west-1", "testing");
    sagemaker
        .create_model_package_group()
        .model_package_group_name("g")
        .send()
        .await
        .expect("create group");
    sagemaker
        .create_model_package()
        .model_package_group_name("g")
        .send()
        .await
        .expect("create package");

    let missing = sagemaker
        .describe_model_package()
        .model_package_name("arn:aws:sagemaker:eu-west-1:123456789012:model-package/g/9")
        .send()
        .await
        .expect_err("missing package");
    let service_error = missing.as_service_error().expect("a service error");
    assert_eq!(service_error.code(), Some("ValidationException"));
    assert!(
        service_error
            .message()
            .is_some_and(|m| m.contains("does not exist"))
    );

    let conflict = sagemaker
        .delete_model_package_group()
        .model_package_group_name("g")
        .send()
        .await
        .expect_err("non-empty group");
    assert!(matches!(
        conflict.as_service_error(),
        Some(DeleteModelPackageGroupError::ConflictException(_))
    ));

    let too_long = sagemaker
        .update_model_package()
        .model_package_arn("arn:aws:sagemaker:eu-west-1:123456789012:model-package/g/1")
        .customer_metadata_properties("note", "x".repeat(257))
        .send()
        .await
        .expect_err("value over 256 characters");
    assert_eq!(
        too_long.as_service_error().and_then(|e| e.code()),
        Some("ValidationException")
    );
}

#[tokio::test]
async fn changes_are_published_signed_and_in_order_before_the_call_returns() {
    let (events_endpoint, captured) = fake_eventbridge(false).await;
    let endpoint = start_emulator(Some(&events_endpoint)).await;
    let sagemaker = client(&endpoint, "eu-central-1", "AKIAGOVSYNC");

    sagemaker
        .create_model_package_group()
        .model_package_group_name("g")
        .send()
        .await
        .expect("create group");
    let arn = sagemaker
        .create_model_package()
        .model_package_group_name("g")
        .send()
        .await
        .expect("create package")
        .model_package_arn()
        .map(str::to_owned)
        .expect("ARN");
    // Read-only calls publish nothing.
    sagemaker
        .describe_model_package()
        .model_package_name(&arn)
        .send()
        .await
        .expect("describe");

    let calls = captured.lock().await.clone();
    assert_eq!(calls.len(), 2, "one PutEvents per mutating call");
    for (headers, _) in &calls {
        assert_eq!(
            headers.get("x-amz-target").and_then(|v| v.to_str().ok()),
            Some("AWSEvents.PutEvents")
        );
        let authorization = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            authorization.contains("Credential=testing/")
                && authorization.contains("/eu-central-1/events/aws4_request"),
            "{authorization}"
        );
    }
    let entries: Vec<&Value> = calls
        .iter()
        .flat_map(|(_, body)| body["Entries"].as_array().into_iter().flatten())
        .collect();
    let kinds: Vec<&str> = entries
        .iter()
        .map(|entry| entry["DetailType"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        kinds,
        [
            "AWS API Call via CloudTrail",
            "SageMaker Model Package State Change",
            "AWS API Call via CloudTrail"
        ]
    );
    for entry in &entries {
        assert_eq!(entry["Source"], "aws.sagemaker");
        assert_eq!(entry["EventBusName"], "default");
        assert!(entry["Time"].is_number());
    }
    let detail: Value =
        serde_json::from_str(entries[2]["Detail"].as_str().unwrap_or("null")).expect("detail");
    assert_eq!(detail["eventName"], "CreateModelPackage");
    assert_eq!(
        detail["userIdentity"]["arn"],
        "arn:aws:sts::123456789012:assumed-role/govsync-sync/govsync"
    );
    assert_eq!(detail["awsRegion"], "eu-central-1");
    assert!(
        detail["userAgent"]
            .as_str()
            .is_some_and(|agent| agent.contains("aws-sdk-rust"))
    );
    assert_eq!(entries[1]["Resources"][0], Value::from(arn));
}

#[tokio::test]
async fn a_failed_publish_is_logged_and_the_call_still_succeeds() {
    let (events_endpoint, captured) = fake_eventbridge(true).await;
    let endpoint = start_emulator(Some(&events_endpoint)).await;
    let sagemaker = client(&endpoint, "us-east-1", "testing");
    sagemaker
        .create_model_package_group()
        .model_package_group_name("g")
        .send()
        .await
        .expect("the call succeeds although EventBridge failed");
    assert_eq!(captured.lock().await.len(), 1);

    let log: Value = reqwest::get(format!("{endpoint}/_emulator/events"))
        .await
        .expect("event log")
        .json()
        .await
        .expect("event log JSON");
    let records = log["events"].as_array().cloned().unwrap_or_default();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["delivery"], "failed");
    assert!(
        records[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("500"))
    );

    let reset = reqwest::Client::new()
        .post(format!("{endpoint}/_emulator/reset"))
        .send()
        .await
        .expect("reset");
    assert!(reset.status().is_success());
    let missing = sagemaker
        .describe_model_package_group()
        .model_package_group_name("g")
        .send()
        .await;
    assert!(missing.is_err(), "reset clears the registry");
}
