//! Registry event decoding, table by table: each row an input and what it must decode to.

use std::fs;
use std::path::Path;

use chrono::{DateTime, Utc};
use govsync_core::registry_event::{
    self, ApiCallName, DecodeError, DecodedInput, RegistryEvent, SqsMessage,
};
use govsync_core::{
    ApprovalStatus, ArnError, IdempotencyKey, ModelPackageStatus, RoleArn, ValidationError,
};
use serde_json::{Value, json};

fn sample(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../events/registry-events")
        .join(name);
    let text = fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("sample {} missing: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("sample {name} is not JSON: {e}"))
}

fn decode(value: &Value) -> Result<RegistryEvent, DecodeError> {
    registry_event::decode_envelope(value.to_string().as_bytes())
}

fn time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// Sets (or with `None` removes) the value at a JSON pointer.
fn with(mut value: Value, pointer: &str, new: Option<Value>) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let target = value.pointer_mut(parent).unwrap().as_object_mut().unwrap();
    match new {
        Some(new) => target.insert(key.to_string(), new),
        None => target.remove(key),
    };
    value
}

const PACKAGE_ARN: &str =
    "arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud-detection-4711/2";
const GROUP: &str = "fraud-detection-4711";

#[test]
fn native_state_change_decodes_its_snapshot() {
    let RegistryEvent::PackageStateChange(event) = decode(&sample(
        "model-package-state-change-lifecycle-epoch-millis.json",
    ))
    .unwrap() else {
        panic!("not a state change");
    };
    assert_eq!(event.origin.account.as_str(), "123456789012");
    assert_eq!(event.origin.region.as_str(), "us-east-1");
    assert_eq!(event.origin.time, Some(time("2026-01-02T09:18:26Z")));
    let package = &event.package;
    assert_eq!(package.arn.as_str(), PACKAGE_ARN);
    assert_eq!(package.version(), 2);
    assert_eq!(package.group_name.as_str(), GROUP);
    assert_eq!(package.package_status, Some(ModelPackageStatus::Completed));
    assert_eq!(
        package.approval,
        Some(ApprovalStatus::PendingManualApproval)
    );
    let lifecycle = package.lifecycle.as_ref().unwrap();
    assert_eq!(
        (lifecycle.stage.as_str(), lifecycle.stage_status.as_str()),
        ("Development", "InProgress")
    );
    assert_eq!(
        lifecycle.stage_description.as_ref().map(|d| d.as_str()),
        Some("Training iteration 2")
    );
    assert_eq!(
        package
            .customer_metadata
            .get("govsync:model-id")
            .map(String::as_str),
        Some("5121")
    );
    assert_eq!(package.customer_metadata.len(), 6);
    assert_eq!(
        package.creation_time,
        DateTime::from_timestamp_millis(1_767_344_400_000)
    );
    assert_eq!(
        package.last_modified_time,
        DateTime::from_timestamp_millis(1_767_345_506_123)
    );
    let technical = &package.technical;
    assert_eq!(technical.inference_images.len(), 1);
    assert!(technical.model_data_urls[0].ends_with("model.tar.gz"));
    assert_eq!(technical.metrics_uris.len(), 2);
    assert_eq!(technical.created_by.as_deref(), Some("alice"));
    assert!(
        technical
            .generated_by
            .as_deref()
            .unwrap()
            .contains(":pipeline/")
    );
}

#[test]
fn each_cloudtrail_sample_decodes_to_its_kind_with_its_subject() {
    // (file, kind, package ARN, group name, eventID, caller is govsync's role)
    let cases = [
        (
            "cloudtrail-create-model-package-group.json",
            "CreateModelPackageGroup",
            None,
            GROUP,
            "0b3c1f7e-3c9a-4d2b-9e51-7a1f0c2d4e01",
            true,
        ),
        (
            "cloudtrail-delete-model-package-group.json",
            "DeleteModelPackageGroup",
            None,
            GROUP,
            "1c4d2a8f-4dab-4e3c-8f62-8b2a1d3e5f02",
            false,
        ),
        (
            "cloudtrail-create-model-package.json",
            "CreateModelPackage",
            Some(PACKAGE_ARN),
            GROUP,
            "2d5e3b9a-5ebc-4f4d-9a73-9c3b2e4f6a03",
            false,
        ),
        (
            "cloudtrail-update-model-package.json",
            "UpdateModelPackage",
            Some(PACKAGE_ARN),
            GROUP,
            "3e6f4cab-6fcd-405e-ab84-ad4c3f5a7b04",
            true,
        ),
        (
            "cloudtrail-delete-model-package.json",
            "DeleteModelPackage",
            Some(PACKAGE_ARN),
            GROUP,
            "4f7a5dbc-7ade-416f-bc95-be5d4a6b8c05",
            false,
        ),
        (
            "cloudtrail-put-model-package-group-policy.json",
            "PutModelPackageGroupPolicy",
            None,
            GROUP,
            "5a8b6ecd-8bef-4270-8da6-cf6e5b7c9d06",
            false,
        ),
        (
            "cloudtrail-delete-model-package-group-policy.json",
            "DeleteModelPackageGroupPolicy",
            None,
            GROUP,
            "6b9c7fde-9cf0-4381-9ef7-d07f6c8d0e07",
            false,
        ),
    ];
    let govsync_role = RoleArn::parse("arn:aws:iam::123456789012:role/govsync-registry").unwrap();
    for (file, kind, package_arn, group, event_id, by_govsync) in cases {
        let event = decode(&sample(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(event.kind(), kind, "{file}");
        assert_eq!(
            event.package_arn().map(|a| a.as_str()),
            package_arn,
            "{file}"
        );
        assert_eq!(
            event.group_name().map(|g| g.as_str()),
            Some(group),
            "{file}"
        );
        let call = event.api_call().unwrap();
        assert_eq!(call.event_id, event_id, "{file}");
        assert_eq!(call.name.as_str(), kind, "{file}");
        assert!(call.event_time.is_some(), "{file}");
        assert!(call.caller_arn.is_some(), "{file}");
        assert_eq!(event.is_made_by(&govsync_role), by_govsync, "{file}");
        assert_eq!(
            event.idempotency_key(),
            IdempotencyKey::for_cloudtrail_event(event_id),
            "{file}"
        );
    }
}

#[test]
fn cloudtrail_parameters_are_typed() {
    let RegistryEvent::PackageUpdated(update) =
        decode(&sample("cloudtrail-update-model-package.json")).unwrap()
    else {
        panic!("not an update");
    };
    assert_eq!(update.approval, Some(ApprovalStatus::Approved));
    assert!(
        update
            .approval_description
            .as_deref()
            .unwrap()
            .contains("carol")
    );
    let lifecycle = update.lifecycle.unwrap();
    assert_eq!(
        (lifecycle.stage.as_str(), lifecycle.stage_status.as_str()),
        ("PreProduction", "Approved")
    );
    assert_eq!(
        update
            .customer_metadata
            .get("govsync:rev")
            .map(String::as_str),
        Some("1767345600000")
    );
    assert_eq!(
        update.customer_metadata_to_remove,
        vec!["training-job".to_string()]
    );

    let RegistryEvent::PackageCreated(created) =
        decode(&sample("cloudtrail-create-model-package.json")).unwrap()
    else {
        panic!("not a create");
    };
    assert_eq!(
        created.approval,
        Some(ApprovalStatus::PendingManualApproval)
    );
    assert_eq!(created.lifecycle.unwrap().stage.as_str(), "Development");
    assert_eq!(created.customer_metadata.len(), 1);

    let RegistryEvent::GroupCreated(group) =
        decode(&sample("cloudtrail-create-model-package-group.json")).unwrap()
    else {
        panic!("not a group create");
    };
    assert_eq!(
        group.group_arn.unwrap().as_str(),
        "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/fraud-detection-4711"
    );
    assert_eq!(
        group.description.as_deref(),
        Some("Fraud Detection (use case 4711)")
    );

    let RegistryEvent::GroupPolicyPut(policy) =
        decode(&sample("cloudtrail-put-model-package-group-policy.json")).unwrap()
    else {
        panic!("not a policy put");
    };
    assert!(
        policy
            .resource_policy
            .unwrap()
            .contains("sagemaker:DescribeModelPackage")
    );
}

#[test]
fn failed_calls_decode_as_ignored_not_as_errors() {
    let RegistryEvent::IgnoredFailedCall(failed) =
        decode(&sample("cloudtrail-update-model-package-failed-call.json")).unwrap()
    else {
        panic!("a failed call must decode as IgnoredFailedCall");
    };
    assert_eq!(failed.error_code, "AccessDenied");
    assert!(failed.error_message.unwrap().contains("not authorized"));
    assert_eq!(failed.call.name, ApiCallName::UpdateModelPackage);
    assert_eq!(failed.call.event_id, "7cad80ef-ad01-4492-af08-e18a7d9e1f08");

    // A failed call is ignored even when its parameters would not decode (nothing happened).
    let no_parameters = with(
        sample("cloudtrail-update-model-package-failed-call.json"),
        "/detail/requestParameters",
        Some(json!({"modelPackageArn": "not-an-arn"})),
    );
    assert!(matches!(
        decode(&no_parameters),
        Ok(RegistryEvent::IgnoredFailedCall(_))
    ));
}

#[test]
fn times_decode_as_text_or_epoch_milliseconds_wherever_they_appear() {
    let state_change = sample("model-package-state-change-lifecycle-epoch-millis.json");
    let update = sample("cloudtrail-update-model-package.json");
    let at = time("2026-01-02T09:18:24.500Z");
    let forms = [
        json!("2026-01-02T09:18:24.500Z"),
        json!(1_767_345_504_500_i64),
        json!("2026-01-02T10:18:24.5+01:00"),
    ];
    for form in forms {
        let event = decode(&with(
            state_change.clone(),
            "/detail/LastModifiedTime",
            Some(form.clone()),
        ))
        .unwrap();
        let RegistryEvent::PackageStateChange(e) = &event else {
            panic!()
        };
        assert_eq!(
            e.package.last_modified_time,
            Some(at),
            "LastModifiedTime {form}"
        );

        let event = decode(&with(
            state_change.clone(),
            "/detail/CreationTime",
            Some(form.clone()),
        ))
        .unwrap();
        let RegistryEvent::PackageStateChange(e) = &event else {
            panic!()
        };
        assert_eq!(e.package.creation_time, Some(at), "CreationTime {form}");

        let event = decode(&with(state_change.clone(), "/time", Some(form.clone()))).unwrap();
        assert_eq!(event.origin().time, Some(at), "time {form}");

        let event = decode(&with(
            update.clone(),
            "/detail/eventTime",
            Some(form.clone()),
        ))
        .unwrap();
        assert_eq!(
            event.api_call().unwrap().event_time,
            Some(at),
            "eventTime {form}"
        );
    }
}

#[test]
fn missing_optional_fields_and_unknown_fields_are_fine() {
    let minimal = json!({
        "source": "aws.sagemaker",
        "detail-type": "SageMaker Model Package State Change",
        "account": "123456789012",
        "region": "us-east-1",
        "detail": {"ModelPackageArn": PACKAGE_ARN, "SomethingNew": {"Nested": [1, 2, 3]}},
        "future-envelope-field": true
    });
    let RegistryEvent::PackageStateChange(event) = decode(&minimal).unwrap() else {
        panic!()
    };
    assert_eq!(
        event.package.group_name.as_str(),
        GROUP,
        "group name falls back to the ARN's"
    );
    assert_eq!(event.package.approval, None);
    assert_eq!(event.package.lifecycle, None);
    assert!(event.package.customer_metadata.is_empty());
    assert_eq!(event.origin.envelope_id, None);

    let nulls = with(
        with(minimal.clone(), "/detail/ModelLifeCycle", Some(Value::Null)),
        "/detail/CustomerMetadataProperties",
        Some(Value::Null),
    );
    assert!(decode(&nulls).is_ok(), "null reads as absent");

    // CloudTrail: the group name comes from the response ARN when the request omits it.
    let group = with(
        sample("cloudtrail-create-model-package-group.json"),
        "/detail/requestParameters",
        None,
    );
    assert_eq!(
        decode(&group).unwrap().group_name().unwrap().as_str(),
        GROUP
    );

    // CloudTrail: a group named by ARN (SageMaker accepts both).
    let by_arn = with(
        sample("cloudtrail-delete-model-package-group.json"),
        "/detail/requestParameters/modelPackageGroupName",
        Some(json!(
            "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/fraud-detection-4711"
        )),
    );
    assert_eq!(
        decode(&by_arn).unwrap().group_name().unwrap().as_str(),
        GROUP
    );

    // CloudTrail: an update whose request lost the ARN still names it in the response.
    let response_only = with(
        sample("cloudtrail-update-model-package.json"),
        "/detail/requestParameters",
        Some(json!({"modelApprovalStatus": "Rejected"})),
    );
    assert_eq!(
        decode(&response_only)
            .unwrap()
            .package_arn()
            .unwrap()
            .as_str(),
        PACKAGE_ARN
    );

    // Service calls have no userIdentity.arn.
    let service_call = with(
        sample("cloudtrail-create-model-package.json"),
        "/detail/userIdentity",
        Some(json!({"type": "AWSService", "invokedBy": "sagemaker.amazonaws.com"})),
    );
    assert_eq!(
        decode(&service_call)
            .unwrap()
            .api_call()
            .unwrap()
            .caller_arn,
        None
    );
}

#[test]
fn malformed_events_are_refused_saying_what_is_wrong() {
    let state_change = sample("model-package-state-change-lifecycle-epoch-millis.json");
    let update = sample("cloudtrail-update-model-package.json");
    let missing = |field: &str| DecodeError::MissingField {
        field: field.into(),
    };
    let wrong_type = |field: &str, expected| DecodeError::WrongType {
        field: field.into(),
        expected,
    };
    let bad_time = |field: &str, value: &str| DecodeError::BadTimestamp {
        field: field.into(),
        value: value.into(),
    };
    let sc = |pointer: &str, value: Option<Value>| with(state_change.clone(), pointer, value);
    let ct = |pointer: &str, value: Option<Value>| with(update.clone(), pointer, value);

    let cases: Vec<(&str, Value, DecodeError)> = vec![
        (
            "array input",
            json!([]),
            DecodeError::NotAnObject {
                what: "event envelope",
            },
        ),
        (
            "other source",
            sc("/source", Some(json!("aws.s3"))),
            DecodeError::WrongSource {
                found: "aws.s3".into(),
            },
        ),
        ("no source", sc("/source", None), missing("source")),
        (
            "source not text",
            sc("/source", Some(json!(1))),
            wrong_type("source", "a string"),
        ),
        (
            "other detail-type",
            sc(
                "/detail-type",
                Some(json!("SageMaker Endpoint State Change")),
            ),
            DecodeError::UnsupportedDetailType {
                found: "SageMaker Endpoint State Change".into(),
            },
        ),
        (
            "no account anywhere",
            with(ct("/account", None), "/detail/recipientAccountId", None),
            missing("account"),
        ),
        ("no region", sc("/region", None), missing("region")),
        ("no detail", sc("/detail", None), missing("detail")),
        (
            "detail not an object",
            sc("/detail", Some(json!("{}"))),
            wrong_type("detail", "an object"),
        ),
        (
            "no package ARN",
            sc("/detail/ModelPackageArn", None),
            missing("detail.ModelPackageArn"),
        ),
        (
            "bad envelope time",
            sc("/time", Some(json!("soon"))),
            bad_time("time", "\"soon\""),
        ),
        (
            "bad LastModifiedTime",
            sc("/detail/LastModifiedTime", Some(json!("yesterday"))),
            bad_time("detail.LastModifiedTime", "\"yesterday\""),
        ),
        (
            "CreationTime as bool",
            sc("/detail/CreationTime", Some(json!(true))),
            bad_time("detail.CreationTime", "true"),
        ),
        (
            "metadata value not text",
            sc("/detail/CustomerMetadataProperties", Some(json!({"k": 1}))),
            wrong_type("detail.CustomerMetadataProperties.k", "a string"),
        ),
        (
            "lifecycle without status",
            sc(
                "/detail/ModelLifeCycle",
                Some(json!({"Stage": "Development"})),
            ),
            missing("detail.ModelLifeCycle.StageStatus"),
        ),
        (
            "CloudTrail from another service",
            ct("/detail/eventSource", Some(json!("s3.amazonaws.com"))),
            DecodeError::WrongEventSource {
                found: "s3.amazonaws.com".into(),
            },
        ),
        (
            "unsupported call",
            ct("/detail/eventName", Some(json!("CreateEndpoint"))),
            DecodeError::UnsupportedEventName {
                found: "CreateEndpoint".into(),
            },
        ),
        (
            "no eventID",
            ct("/detail/eventID", None),
            missing("detail.eventID"),
        ),
        (
            "no eventName",
            ct("/detail/eventName", None),
            missing("detail.eventName"),
        ),
        (
            "update without its ARN in request or response",
            with(
                ct("/detail/requestParameters", Some(Value::Null)),
                "/detail/responseElements",
                None,
            ),
            missing("detail.requestParameters.modelPackageArn"),
        ),
        (
            "userIdentity.arn not text",
            ct("/detail/userIdentity/arn", Some(json!(["x"]))),
            wrong_type("detail.userIdentity.arn", "a string"),
        ),
        (
            "metadata removals not a list",
            ct(
                "/detail/requestParameters/customerMetadataPropertiesToRemove",
                Some(json!("training-job")),
            ),
            wrong_type(
                "detail.requestParameters.customerMetadataPropertiesToRemove",
                "a list of strings",
            ),
        ),
        (
            "group delete without its name",
            with(
                sample("cloudtrail-delete-model-package-group.json"),
                "/detail/requestParameters",
                None,
            ),
            missing("detail.requestParameters.modelPackageGroupName"),
        ),
        (
            "package create without its ARN",
            with(
                sample("cloudtrail-create-model-package.json"),
                "/detail/responseElements",
                Some(Value::Null),
            ),
            missing("detail.responseElements.modelPackageArn"),
        ),
    ];
    for (name, input, expected) in cases {
        assert_eq!(decode(&input), Err(expected), "{name}");
    }
}

#[test]
fn invalid_values_name_the_field_and_the_reason() {
    let state_change = sample("model-package-state-change-lifecycle-epoch-millis.json");
    let sc = |pointer: &str, value: Value| with(state_change.clone(), pointer, Some(value));
    type Check = fn(&ValidationError) -> bool;
    let cases: Vec<(Value, &str, &str, Check)> = vec![
        (
            sc("/account", json!("1234")),
            "account",
            "invalid_value",
            |e| matches!(e, ValidationError::AccountId { .. }),
        ),
        (
            sc("/region", json!("Mars")),
            "region",
            "invalid_value",
            |e| matches!(e, ValidationError::Region { .. }),
        ),
        (
            sc(
                "/detail/ModelPackageArn",
                json!("arn:aws:sagemaker:us-east-1:123456789012:model-package/unversioned"),
            ),
            "detail.ModelPackageArn",
            "bad_arn",
            |e| matches!(e, ValidationError::Arn(ArnError::MissingVersion { .. })),
        ),
        (
            sc("/detail/ModelPackageArn", json!("arn:aws:s3:::bucket")),
            "detail.ModelPackageArn",
            "bad_arn",
            |e| matches!(e, ValidationError::Arn(ArnError::Service { .. })),
        ),
        (
            sc("/detail/ModelApprovalStatus", json!("Maybe")),
            "detail.ModelApprovalStatus",
            "invalid_value",
            |e| matches!(e, ValidationError::NotInEnum { .. }),
        ),
        (
            sc("/detail/ModelPackageStatus", json!("Done")),
            "detail.ModelPackageStatus",
            "invalid_value",
            |e| matches!(e, ValidationError::NotInEnum { .. }),
        ),
        (
            sc(
                "/detail/ModelLifeCycle",
                json!({"Stage": "Pre Production", "StageStatus": "Approved"}),
            ),
            "detail.ModelLifeCycle.Stage",
            "invalid_value",
            |e| matches!(e, ValidationError::SageMakerName { .. }),
        ),
        (
            sc(
                "/detail/ModelLifeCycle",
                json!({"Stage": "Dev", "StageStatus": "Ok", "StageDescription": "x".repeat(1025)}),
            ),
            "detail.ModelLifeCycle.StageDescription",
            "invalid_value",
            |e| matches!(e, ValidationError::TooLong { .. }),
        ),
        (
            with(
                sample("cloudtrail-delete-model-package.json"),
                "/detail/requestParameters/modelPackageName",
                Some(json!("fraud-detection-4711")),
            ),
            "detail.requestParameters.modelPackageName",
            "bad_arn",
            |e| matches!(e, ValidationError::Arn(ArnError::NotAnArn { .. })),
        ),
    ];
    for (input, expected_field, expected_code, check) in cases {
        match decode(&input) {
            Err(error @ DecodeError::InvalidValue { .. }) => {
                let DecodeError::InvalidValue { field, source } = &error else {
                    unreachable!()
                };
                assert_eq!(field, expected_field);
                assert!(check(source), "{expected_field}: {source:?}");
                assert_eq!(error.code(), expected_code, "{expected_field}");
                assert!(error.to_string().contains(expected_field), "{error}");
                assert!(!error.is_retryable());
            }
            other => panic!("{expected_field}: expected InvalidValue, got {other:?}"),
        }
    }
}

#[test]
fn non_json_input_is_a_typed_error() {
    for input in [&b"not json"[..], b"", b"{\"source\":", &[0xff, 0xfe, 0x00]] {
        let error = registry_event::decode_envelope(input).unwrap_err();
        assert_eq!(error.code(), "not_json", "{input:?}");
        assert!(registry_event::decode_input(input).is_err());
        assert!(registry_event::decode_sqs_event(input).is_err());
    }
}

#[test]
fn the_three_input_forms_give_the_same_event() {
    let envelope = sample("model-package-state-change-lifecycle-epoch-millis.json");
    let expected = decode(&envelope).unwrap();
    let record = json!({
        "messageId": "m-1",
        "receiptHandle": "r",
        "body": envelope.to_string(),
        "attributes": {"MessageGroupId": PACKAGE_ARN, "ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "eventSource": "aws:sqs"
    });
    let batch = json!({"Records": [
        record,
        {"messageId": "m-2", "body": "definitely not json"},
        {"messageId": "m-3", "body": sample("cloudtrail-delete-model-package.json").to_string()},
        {"messageId": "m-4"},
        "not a record"
    ]});

    /// (message id, event kind or error code) per message.
    type Outcomes<'a> = Vec<(Option<&'a str>, Result<&'a str, &'a str>)>;
    let cases: Vec<(&str, Value, Outcomes)> = vec![
        (
            "envelope",
            envelope.clone(),
            vec![(None, Ok("PackageStateChange"))],
        ),
        (
            "record",
            record.clone(),
            vec![(Some("m-1"), Ok("PackageStateChange"))],
        ),
        (
            "event",
            batch.clone(),
            vec![
                (Some("m-1"), Ok("PackageStateChange")),
                (Some("m-2"), Err("not_json")),
                (Some("m-3"), Ok("DeleteModelPackage")),
                (Some("m-4"), Err("missing_field")),
                (None, Err("not_an_object")),
            ],
        ),
    ];
    for (form, input, expected) in cases {
        let decoded = registry_event::decode_input(input.to_string().as_bytes()).unwrap();
        let messages: Vec<SqsMessage> = match decoded {
            DecodedInput::Envelope(event) => vec![SqsMessage {
                message_id: None,
                message_group_id: None,
                event: Ok(event),
            }],
            DecodedInput::SqsRecord(message) => vec![message],
            DecodedInput::SqsEvent(messages) => messages,
        };
        let got: Outcomes = messages
            .iter()
            .map(|m| {
                (
                    m.message_id.as_deref(),
                    m.event
                        .as_ref()
                        .map(RegistryEvent::kind)
                        .map_err(DecodeError::code),
                )
            })
            .collect();
        assert_eq!(got, expected, "{form}");
    }

    let record_event = registry_event::decode_sqs_record(record.to_string().as_bytes()).unwrap();
    assert_eq!(record_event.event, Ok(expected.clone()));
    assert_eq!(record_event.message_group_id.as_deref(), Some(PACKAGE_ARN));
    assert_eq!(
        registry_event::decode_sqs_record(
            json!({"messageId": "x", "body": {"a": 1}})
                .to_string()
                .as_bytes()
        ),
        Err(DecodeError::WrongType {
            field: "body".into(),
            expected: "a string"
        })
    );
    assert_eq!(
        registry_event::decode_sqs_event(json!({"Records": {}}).to_string().as_bytes()),
        Err(DecodeError::WrongType {
            field: "Records".into(),
            expected: "a list"
        })
    );
}

#[test]
fn repeated_state_change_deliveries_share_one_idempotency_key() {
    let first = sample("model-package-state-change-lifecycle-epoch-millis.json");
    // EventBridge redelivery: new envelope id and time, same package state.
    let repeat = with(
        with(first.clone(), "/id", Some(json!("another-envelope-id"))),
        "/time",
        Some(json!("2026-01-02T09:18:59Z")),
    );
    let approved = with(
        first.clone(),
        "/detail/ModelApprovalStatus",
        Some(json!("Approved")),
    );
    let newer = with(
        first.clone(),
        "/detail/LastModifiedTime",
        Some(json!(1_767_345_999_000_i64)),
    );
    let key = |v: &Value| decode(v).unwrap().idempotency_key();
    assert_eq!(key(&first), key(&repeat));
    assert_ne!(key(&first), key(&approved));
    assert_ne!(key(&first), key(&newer));
    assert!(key(&first).as_str().starts_with("state-change:"));
}

#[test]
fn an_envelope_without_account_takes_the_registry_account_from_the_detail() {
    // moto's default EventBridge delivery drops the envelope's `account`.
    let state_change = with(
        sample("model-package-state-change-lifecycle-epoch-millis.json"),
        "/account",
        None,
    );
    assert_eq!(
        decode(&state_change).unwrap().origin().account.as_str(),
        "123456789012",
        "from the package ARN"
    );
    let call = with(
        with(
            sample("cloudtrail-update-model-package.json"),
            "/account",
            None,
        ),
        "/detail/recipientAccountId",
        Some(json!("210987654321")),
    );
    assert_eq!(
        decode(&call).unwrap().origin().account.as_str(),
        "210987654321",
        "from recipientAccountId, not the caller's account"
    );
    let bad = with(
        with(
            sample("cloudtrail-update-model-package.json"),
            "/account",
            None,
        ),
        "/detail/recipientAccountId",
        Some(json!("12")),
    );
    assert!(matches!(
        decode(&bad),
        Err(DecodeError::InvalidValue { ref field, .. }) if field == "detail.recipientAccountId"
    ));
}

/// Issue 13, 3: the logical group is the ARN's. A detail naming another group neither renames the
/// package's group nor moves its events to that group's order.
#[test]
fn a_state_change_naming_another_group_keeps_the_arns_group() {
    let base = sample("model-package-state-change-lifecycle-epoch-millis.json");
    for (stated, expected) in [
        ("other-group", GROUP),
        ("Fraud-Detection-4711", "Fraud-Detection-4711"),
        (
            "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/other-group",
            GROUP,
        ),
    ] {
        let event = decode(&with(
            base.clone(),
            "/detail/ModelPackageGroupName",
            Some(json!(stated)),
        ))
        .unwrap();
        let RegistryEvent::PackageStateChange(change) = &event else {
            panic!("not a state change");
        };
        assert_eq!(change.package.group_name.as_str(), expected, "{stated}");
        assert_eq!(
            event.group_name().map(|g| g.as_str()),
            Some(GROUP),
            "{stated}"
        );
    }
}

fn technical_of(event: Value) -> govsync_core::model_package::TechnicalMetadata {
    match decode(&event) {
        Ok(RegistryEvent::PackageStateChange(event)) => event.package.technical,
        other => panic!("not a state change: {other:?}"),
    }
}

#[test]
fn without_a_studio_profile_the_creator_is_the_iam_identity() {
    let base = sample("model-package-state-change-lifecycle-epoch-millis.json");
    let role = "arn:aws:sts::123456789012:assumed-role/ml-pipeline/ci";
    let outside_studio = with(
        base.clone(),
        "/detail/CreatedBy",
        Some(json!({"IamIdentity": {"Arn": role, "PrincipalId": "AROAEXAMPLE:ci"}})),
    );
    assert_eq!(
        technical_of(outside_studio).created_by.as_deref(),
        Some(role)
    );
    let studio = with(
        base.clone(),
        "/detail/CreatedBy",
        Some(json!({"UserProfileName": "alice", "DomainId": "d-1",
                    "IamIdentity": {"Arn": "arn:aws:sts::123456789012:assumed-role/Studio/SageMaker"}})),
    );
    assert_eq!(technical_of(studio).created_by.as_deref(), Some("alice"));
    let nobody = with(base, "/detail/CreatedBy", None);
    assert_eq!(technical_of(nobody).created_by, None);
}

#[test]
fn the_facts_the_sdk_records_are_decoded_for_the_field_mapping() {
    let mut event = sample("model-package-state-change-lifecycle-epoch-millis.json");
    for (key, value) in [
        ("Domain", json!("MACHINE_LEARNING")),
        ("Task", json!("CLASSIFICATION")),
        ("SamplePayloadUrl", json!("s3://b/payload.tar.gz")),
        (
            "DriftCheckBaselines",
            json!({"ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": "s3://b/baseline.json"}}}),
        ),
        (
            "MetadataProperties",
            json!({"GeneratedBy": "arn:pipeline", "Repository": "https://git.example/r", "CommitId": "abc"}),
        ),
        (
            "ModelCard",
            json!({"ModelCardStatus": "Draft", "ModelCardContent": "{\"intended_uses\": {\"purpose_of_model\": \"score credit\"}}"}),
        ),
    ] {
        event = with(event, &format!("/detail/{key}"), Some(value));
    }
    let facts = technical_of(event).facts;
    assert_eq!(facts.domain.as_deref(), Some("MACHINE_LEARNING"));
    assert_eq!(facts.task.as_deref(), Some("CLASSIFICATION"));
    assert_eq!(
        facts.sample_payload_url.as_deref(),
        Some("s3://b/payload.tar.gz")
    );
    assert_eq!(facts.drift_baseline_uris, ["s3://b/baseline.json"]);
    assert_eq!(
        facts.lineage,
        [
            ("GeneratedBy".to_owned(), "arn:pipeline".to_owned()),
            ("Repository".to_owned(), "https://git.example/r".to_owned()),
            ("CommitId".to_owned(), "abc".to_owned()),
        ]
    );
    assert_eq!(
        facts.model_card_summary.as_deref(),
        Some("Draft: score credit")
    );
}
