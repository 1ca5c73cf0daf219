use serde_json::{Value, json};

use super::*;
use crate::events::{CLOUDTRAIL, STATE_CHANGE};

fn ctx() -> CallContext {
    ctx_in("us-east-1")
}

fn ctx_in(region: &str) -> CallContext {
    CallContext {
        caller: Caller {
            arn: "arn:aws:sts::123456789012:assumed-role/ml-admin/alice".into(),
            account: "123456789012".into(),
            access_key_id: "AKIDEXAMPLE".into(),
            studio: None,
        },
        region: region.into(),
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

fn ok(registries: &mut Registries, operation: Operation, body: Value) -> Outcome {
    match call(registries, operation, body) {
        Ok(outcome) => outcome,
        Err(error) => panic!("{} failed: {error:?}", operation.name()),
    }
}

fn err(registries: &mut Registries, operation: Operation, body: Value) -> ApiError {
    match call(registries, operation, body) {
        Ok(outcome) => panic!(
            "{} unexpectedly succeeded: {:?}",
            operation.name(),
            outcome.response
        ),
        Err(error) => error,
    }
}

fn with_group(name: &str) -> Registries {
    let mut registries = Registries::default();
    ok(
        &mut registries,
        Operation::CreateModelPackageGroup,
        json!({"ModelPackageGroupName": name}),
    );
    registries
}

fn create_package(registries: &mut Registries, group: &str, extra: Value) -> String {
    let mut body = json!({"ModelPackageGroupName": group});
    if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
        body.extend(extra);
    }
    let outcome = ok(registries, Operation::CreateModelPackage, body);
    outcome.response["ModelPackageArn"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn describe(registries: &mut Registries, arn: &str) -> Value {
    ok(
        registries,
        Operation::DescribeModelPackage,
        json!({"ModelPackageName": arn}),
    )
    .response
}

#[test]
fn operations_parse_from_the_target_header() {
    assert_eq!(
        Operation::from_target("SageMaker.UpdateModelPackage"),
        Ok(Operation::UpdateModelPackage)
    );
    assert!(matches!(
        Operation::from_target("SageMaker.CreateTrainingJob"),
        Err(ApiError::UnknownOperation(_))
    ));
    assert!(matches!(
        Operation::from_target("AWSEvents.PutEvents"),
        Err(ApiError::UnknownOperation(_))
    ));
    let recorded: Vec<&str> = Operation::ALL
        .into_iter()
        .filter(|op| op.recorded_by_cloudtrail())
        .map(Operation::name)
        .collect();
    // The registry's seven mutating calls and the hosting calls' six (reads are never recorded).
    assert_eq!(
        recorded,
        [
            "CreateModelPackageGroup",
            "DeleteModelPackageGroup",
            "CreateModelPackage",
            "UpdateModelPackage",
            "DeleteModelPackage",
            "PutModelPackageGroupPolicy",
            "DeleteModelPackageGroupPolicy",
            "CreateModel",
            "DeleteModel",
            "CreateEndpointConfig",
            "DeleteEndpointConfig",
            "CreateEndpoint",
            "DeleteEndpoint",
        ]
    );
}

#[test]
fn arns_are_lowercased_and_versioned() {
    assert_eq!(
        group_arn("us-east-1", "123456789012", "Fraud-Detector"),
        "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/fraud-detector"
    );
    assert_eq!(
        package_arn("us-east-1", "123456789012", "Fraud-Detector", 3),
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud-detector/3"
    );
}

#[test]
fn versions_count_up_per_group_and_are_not_reused_after_delete() {
    let mut registries = with_group("Fraud");
    ok(
        &mut registries,
        Operation::CreateModelPackageGroup,
        json!({"ModelPackageGroupName": "other"}),
    );
    let first = create_package(&mut registries, "Fraud", json!({}));
    let second = create_package(&mut registries, "fraud", json!({}));
    let other = create_package(&mut registries, "other", json!({}));
    assert!(first.ends_with("model-package/fraud/1"));
    assert!(second.ends_with("model-package/fraud/2"));
    assert!(other.ends_with("model-package/other/1"));
    ok(
        &mut registries,
        Operation::DeleteModelPackage,
        json!({"ModelPackageName": second}),
    );
    let third = create_package(&mut registries, "Fraud", json!({}));
    assert!(third.ends_with("model-package/fraud/3"));
    let described = describe(&mut registries, &third);
    assert_eq!(described["ModelPackageGroupName"], "Fraud");
    assert_eq!(described["ModelPackageVersion"], 3);
}

#[test]
fn new_packages_default_to_pending_manual_approval_and_completed() {
    let mut registries = with_group("g");
    let arn = create_package(&mut registries, "g", json!({}));
    let described = describe(&mut registries, &arn);
    assert_eq!(described["ModelApprovalStatus"], "PendingManualApproval");
    assert_eq!(described["ModelPackageStatus"], "Completed");
    assert_eq!(described["CreationTime"], described["LastModifiedTime"]);
    assert!(described["CreationTime"].is_number());
    assert_eq!(
        described["CreatedBy"]["IamIdentity"]["Arn"],
        "arn:aws:sts::123456789012:assumed-role/ml-admin/alice"
    );
}

#[test]
fn update_merges_metadata_and_removes_listed_keys() {
    let mut registries = with_group("g");
    let arn = create_package(
        &mut registries,
        "g",
        json!({"CustomerMetadataProperties": {"a": "1", "b": "2", "c": "3"}}),
    );
    ok(
        &mut registries,
        Operation::UpdateModelPackage,
        json!({"ModelPackageArn": arn, "CustomerMetadataProperties": {"b": "20", "d": "4"}}),
    );
    assert_eq!(
        describe(&mut registries, &arn)["CustomerMetadataProperties"],
        json!({"a": "1", "b": "20", "c": "3", "d": "4"})
    );
    ok(
        &mut registries,
        Operation::UpdateModelPackage,
        json!({"ModelPackageArn": arn, "CustomerMetadataPropertiesToRemove": ["a", "missing"]}),
    );
    assert_eq!(
        describe(&mut registries, &arn)["CustomerMetadataProperties"],
        json!({"b": "20", "c": "3", "d": "4"})
    );
}

#[test]
fn update_changes_only_the_fields_given() {
    let mut registries = with_group("g");
    let arn = create_package(
        &mut registries,
        "g",
        json!({
            "ModelPackageDescription": "first",
            "InferenceSpecification": {"Containers": [{"Image": "img"}], "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
            "ModelMetrics": {"ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": "s3://b/k"}}},
            "ModelLifeCycle": {"Stage": "Development", "StageStatus": "InProgress"},
            "CustomerMetadataProperties": {"keep": "me"}
        }),
    );
    let before = describe(&mut registries, &arn);
    ok(
        &mut registries,
        Operation::UpdateModelPackage,
        json!({"ModelPackageArn": arn, "ModelApprovalStatus": "Approved", "ApprovalDescription": "ok by bob"}),
    );
    let after = describe(&mut registries, &arn);
    assert_eq!(after["ModelApprovalStatus"], "Approved");
    assert_eq!(after["ApprovalDescription"], "ok by bob");
    for unchanged in [
        "ModelPackageDescription",
        "InferenceSpecification",
        "ModelMetrics",
        "ModelLifeCycle",
        "CustomerMetadataProperties",
        "CreationTime",
    ] {
        assert_eq!(after[unchanged], before[unchanged], "{unchanged} changed");
    }
    let before_time = wire::parse_timestamp("t", &before["LastModifiedTime"]).unwrap();
    let after_time = wire::parse_timestamp("t", &after["LastModifiedTime"]).unwrap();
    assert!(after_time > before_time);
}

#[test]
fn model_life_cycle_and_model_card_round_trip() {
    let mut registries = with_group("g");
    let arn = create_package(&mut registries, "g", json!({}));
    ok(
        &mut registries,
        Operation::UpdateModelPackage,
        json!({
            "ModelPackageArn": arn,
            "ModelLifeCycle": {"Stage": "Production", "StageStatus": "Approved", "StageDescription": "approved in governance by carol"},
            "ModelCard": {"ModelCardStatus": "Draft", "ModelCardContent": "{}"}
        }),
    );
    ok(
        &mut registries,
        Operation::UpdateModelPackage,
        json!({"ModelPackageArn": arn, "ModelCard": {"ModelCardStatus": "Approved"}}),
    );
    let described = describe(&mut registries, &arn);
    assert_eq!(
        described["ModelLifeCycle"],
        json!({"Stage": "Production", "StageStatus": "Approved", "StageDescription": "approved in governance by carol"})
    );
    assert_eq!(
        described["ModelCard"],
        json!({"ModelCardStatus": "Approved", "ModelCardContent": "{}"})
    );
    let listed = ok(
        &mut registries,
        Operation::ListModelPackages,
        json!({"ModelPackageGroupName": "g"}),
    );
    assert_eq!(
        listed.response["ModelPackageSummaryList"][0]["ModelLifeCycle"]["Stage"],
        "Production"
    );
}

#[test]
fn model_card_content_must_follow_the_package_card_schema() {
    let mut registries = with_group("g");
    let card = |content: Value| json!({"ModelCardStatus": "Draft", "ModelCardContent": content.to_string()});
    let error = err(
        &mut registries,
        Operation::CreateModelPackage,
        json!({"ModelPackageGroupName": "g", "ModelCard": card(json!({"intended_uses": {"risk_rating": "Critical"}}))}),
    );
    assert!(
        matches!(&error, ApiError::Validation(m) if m.contains("$.intended_uses.risk_rating") && m.contains("Critical")),
        "{error:?}"
    );
    let arn = create_package(
        &mut registries,
        "g",
        json!({"ModelCard": card(json!({"intended_uses": {"risk_rating": "Low"}}))}),
    );
    let before = describe(&mut registries, &arn);
    for (content, path) in [
        (
            json!({"model_package_details": {}}),
            "$.model_package_details",
        ),
        (
            json!({"business_details": {"line_of_business": "x".repeat(2049)}}),
            "$.business_details.line_of_business",
        ),
        (json!([]), "$"),
    ] {
        let error = err(
            &mut registries,
            Operation::UpdateModelPackage,
            json!({"ModelPackageArn": arn, "ModelCard": card(content)}),
        );
        assert!(
            matches!(&error, ApiError::Validation(m) if m.contains(path)),
            "{error:?}"
        );
    }
    let error = err(
        &mut registries,
        Operation::UpdateModelPackage,
        json!({"ModelPackageArn": arn, "ModelCard": {"ModelCardContent": "not json"}}),
    );
    assert!(
        matches!(&error, ApiError::Validation(m) if m.contains("not valid JSON")),
        "{error:?}"
    );
    assert_eq!(describe(&mut registries, &arn), before);
}

#[test]
fn an_archived_card_refuses_content_but_takes_status_changes() {
    let mut registries = with_group("g");
    let arn = create_package(
        &mut registries,
        "g",
        json!({"ModelCard": {"ModelCardStatus": "Archived", "ModelCardContent": "{\"intended_uses\": {\"risk_rating\": \"Low\"}}"}}),
    );
    let before = describe(&mut registries, &arn);
    for card in [
        json!({"ModelCardContent": "{}"}),
        json!({"ModelCardStatus": "Draft", "ModelCardContent": "{}"}),
        // Unchanged content is still an attempt to update it.
        json!({"ModelCardContent": "{\"intended_uses\": {\"risk_rating\": \"Low\"}}"}),
    ] {
        let error = err(
            &mut registries,
            Operation::UpdateModelPackage,
            json!({"ModelPackageArn": arn, "ModelCard": card}),
        );
        assert!(
            matches!(&error, ApiError::Validation(m) if m.starts_with("Model Card is in Archived state.")),
            "{error:?}"
        );
    }
    assert_eq!(describe(&mut registries, &arn), before);
    // Other members and the status alone still change.
    ok(
        &mut registries,
        Operation::UpdateModelPackage,
        json!({"ModelPackageArn": arn, "ModelApprovalStatus": "Approved", "ModelCard": {"ModelCardStatus": "Draft"}}),
    );
    ok(
        &mut registries,
        Operation::UpdateModelPackage,
        json!({"ModelPackageArn": arn, "ModelCard": {"ModelCardContent": "{}"}}),
    );
    assert_eq!(
        describe(&mut registries, &arn)["ModelCard"],
        json!({"ModelCardStatus": "Draft", "ModelCardContent": "{}"})
    );
    // Archiving and changing the content in one call: the card is not archived yet when it changes.
    ok(
        &mut registries,
        Operation::UpdateModelPackage,
        json!({"ModelPackageArn": arn, "ModelCard": {"ModelCardStatus": "Archived", "ModelCardContent": "{\"business_details\": {}}"}}),
    );
}

#[test]
fn client_token_makes_update_idempotent() {
    let mut registries = with_group("g");
    let arn = create_package(&mut registries, "g", json!({}));
    let update =
        json!({"ModelPackageArn": arn, "ModelApprovalStatus": "Approved", "ClientToken": "tok-1"});
    let first = ok(
        &mut registries,
        Operation::UpdateModelPackage,
        update.clone(),
    );
    assert_eq!(first.events.len(), 2);
    let after_first = describe(&mut registries, &arn);
    // A manual change in between must not be undone by the replay.
    ok(
        &mut registries,
        Operation::UpdateModelPackage,
        json!({"ModelPackageArn": arn, "ModelApprovalStatus": "Rejected"}),
    );
    let replay = ok(&mut registries, Operation::UpdateModelPackage, update);
    assert_eq!(replay.response, first.response);
    assert!(replay.events.is_empty());
    let after_replay = describe(&mut registries, &arn);
    assert_eq!(after_replay["ModelApprovalStatus"], "Rejected");
    assert_ne!(
        after_replay["LastModifiedTime"],
        after_first["LastModifiedTime"]
    );
}

#[test]
fn client_token_makes_create_idempotent() {
    let mut registries = with_group("g");
    let first = create_package(&mut registries, "g", json!({"ClientToken": "create-1"}));
    let replay = ok(
        &mut registries,
        Operation::CreateModelPackage,
        json!({"ModelPackageGroupName": "g", "ClientToken": "create-1"}),
    );
    assert_eq!(replay.response["ModelPackageArn"], json!(first));
    assert!(replay.events.is_empty());
    let second = create_package(&mut registries, "g", json!({"ClientToken": "create-2"}));
    assert!(second.ends_with("/2"));
    assert!(matches!(
        err(
            &mut registries,
            Operation::UpdateModelPackage,
            json!({"ModelPackageArn": first, "ClientToken": "bad_token"})
        ),
        ApiError::Validation(_)
    ));
}

#[test]
fn missing_package_is_a_validation_exception() {
    let mut registries = with_group("g");
    let arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/9";
    match err(
        &mut registries,
        Operation::DescribeModelPackage,
        json!({"ModelPackageName": arn}),
    ) {
        ApiError::Validation(message) => {
            assert_eq!(message, format!("Model package {arn} does not exist."));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        err(&mut registries, Operation::DescribeModelPackage, json!({"ModelPackageName": "g"})),
        ApiError::Validation(m) if m.contains("does not exist")
    ));
    assert!(matches!(
        err(&mut registries, Operation::UpdateModelPackage, json!({"ModelPackageArn": arn})),
        ApiError::Validation(m) if m.contains("does not exist")
    ));
    // The same package, asked for in another region, does not exist there.
    let real = create_package(&mut registries, "g", json!({}));
    let elsewhere = registries.call(
        &ctx_in("eu-west-1"),
        Operation::DescribeModelPackage,
        json!({"ModelPackageName": real}).to_string().as_bytes(),
    );
    assert!(matches!(elsewhere, Err(ApiError::Validation(_))));
}

#[test]
fn describe_accepts_group_slash_version() {
    let mut registries = with_group("Fraud");
    let arn = create_package(&mut registries, "Fraud", json!({}));
    let by_name = describe(&mut registries, "Fraud/1");
    assert_eq!(by_name["ModelPackageArn"], json!(arn));
}

#[test]
fn deleting_a_non_empty_group_conflicts() {
    let mut registries = with_group("g");
    let arn = create_package(&mut registries, "g", json!({}));
    assert!(matches!(
        err(
            &mut registries,
            Operation::DeleteModelPackageGroup,
            json!({"ModelPackageGroupName": "g"})
        ),
        ApiError::Conflict(_)
    ));
    ok(
        &mut registries,
        Operation::DeleteModelPackage,
        json!({"ModelPackageName": arn}),
    );
    let deleted = ok(
        &mut registries,
        Operation::DeleteModelPackageGroup,
        json!({"ModelPackageGroupName": "g"}),
    );
    assert_eq!(deleted.events.len(), 1);
    assert_eq!(
        deleted.events[0].detail["eventName"],
        "DeleteModelPackageGroup"
    );
    assert_eq!(deleted.events[0].detail["responseElements"], Value::Null);
    assert!(matches!(
        err(
            &mut registries,
            Operation::DescribeModelPackageGroup,
            json!({"ModelPackageGroupName": "g"})
        ),
        ApiError::Validation(_)
    ));
}

#[test]
fn group_names_are_validated_and_unique() {
    let mut registries = with_group("Fraud");
    for bad in ["-x", "x-", "has space", "a_b", &"a".repeat(64)] {
        assert!(matches!(
            err(
                &mut registries,
                Operation::CreateModelPackageGroup,
                json!({"ModelPackageGroupName": bad})
            ),
            ApiError::Validation(_)
        ));
    }
    assert!(matches!(
        err(&mut registries, Operation::CreateModelPackageGroup, json!({"ModelPackageGroupName": "fraud"})),
        ApiError::Validation(m) if m.contains("already exists")
    ));
    assert!(matches!(
        err(
            &mut registries,
            Operation::CreateModelPackageGroup,
            json!({"ModelPackageGroupName": "d", "ModelPackageGroupDescription": "x".repeat(1025)})
        ),
        ApiError::Validation(_)
    ));
    let tags: Vec<Value> = (0..51)
        .map(|i| json!({"Key": format!("k{i}"), "Value": "v"}))
        .collect();
    assert!(matches!(
        err(
            &mut registries,
            Operation::CreateModelPackageGroup,
            json!({"ModelPackageGroupName": "t", "Tags": tags})
        ),
        ApiError::Validation(_)
    ));
    assert!(matches!(
        err(&mut registries, Operation::CreateModelPackageGroup, json!({})),
        ApiError::Validation(m) if m.contains("must not be null")
    ));
}

#[test]
fn over_limit_metadata_is_rejected_on_create_and_update() {
    let mut registries = with_group("g");
    let arn = create_package(
        &mut registries,
        "g",
        json!({"CustomerMetadataProperties": {"k0": "v"}}),
    );
    let fifty: serde_json::Map<String, Value> =
        (1..=50).map(|i| (format!("k{i}"), json!("v"))).collect();
    // 1 existing + 50 new = 51 after the merge.
    assert!(matches!(
        err(&mut registries, Operation::UpdateModelPackage, json!({"ModelPackageArn": arn, "CustomerMetadataProperties": fifty})),
        ApiError::Validation(m) if m.contains("51")
    ));
    // Removing one in the same call brings it back to 50.
    ok(
        &mut registries,
        Operation::UpdateModelPackage,
        json!({"ModelPackageArn": arn, "CustomerMetadataProperties": fifty, "CustomerMetadataPropertiesToRemove": ["k0"]}),
    );
    let long_key = "k".repeat(129);
    let bad_bodies = [
        json!({long_key.clone(): "v"}),
        json!({"big": "v".repeat(257)}),
        json!({"json": "{\"a\": 1}"}),
        json!({"empty": ""}),
    ];
    for metadata in bad_bodies {
        assert!(matches!(
            err(
                &mut registries,
                Operation::CreateModelPackage,
                json!({"ModelPackageGroupName": "g", "CustomerMetadataProperties": metadata})
            ),
            ApiError::Validation(_)
        ));
    }
    // A rejected update leaves the package as it was.
    let before = describe(&mut registries, &arn);
    assert!(matches!(
        err(&mut registries, Operation::UpdateModelPackage, json!({"ModelPackageArn": arn, "ModelApprovalStatus": "Approved", "CustomerMetadataProperties": {"x": "{"}})),
        ApiError::Validation(m) if m.contains("customerMetadataProperties.x")
    ));
    assert_eq!(describe(&mut registries, &arn), before);
}

#[test]
fn update_validates_enums_and_lengths() {
    let mut registries = with_group("g");
    let arn = create_package(&mut registries, "g", json!({}));
    for body in [
        json!({"ModelPackageArn": arn, "ModelApprovalStatus": "Maybe"}),
        json!({"ModelPackageArn": arn, "ApprovalDescription": "x".repeat(1025)}),
        json!({"ModelPackageArn": arn, "ModelLifeCycle": {"Stage": "Production"}}),
        json!({"ModelPackageArn": arn, "ModelLifeCycle": {"Stage": "P", "StageStatus": "A", "StageDescription": "d".repeat(1025)}}),
        json!({"ModelPackageArn": arn, "ModelCard": {"ModelCardStatus": "Published"}}),
        json!({"ModelPackageArn": arn, "CustomerMetadataProperties": {"a": "1"}, "CustomerMetadataPropertiesToRemove": ["a"]}),
        json!({"ModelPackageArn": "g/1"}),
    ] {
        assert!(
            matches!(
                err(&mut registries, Operation::UpdateModelPackage, body.clone()),
                ApiError::Validation(_)
            ),
            "{body}"
        );
    }
}

#[test]
fn malformed_bodies_are_serialization_exceptions() {
    let mut registries = with_group("g");
    assert!(matches!(
        registries.call(&ctx(), Operation::CreateModelPackage, b"{not json"),
        Err(ApiError::Serialization(_))
    ));
    assert!(matches!(
        registries.call(&ctx(), Operation::CreateModelPackage, b"[1,2]"),
        Err(ApiError::Serialization(_))
    ));
    assert!(matches!(
        err(
            &mut registries,
            Operation::ListModelPackages,
            json!({"MaxResults": "ten"})
        ),
        ApiError::Serialization(_)
    ));
    assert!(matches!(
        err(
            &mut registries,
            Operation::CreateModelPackage,
            json!({"ModelPackageGroupName": "g", "CustomerMetadataProperties": {"a": 1}})
        ),
        ApiError::Serialization(_)
    ));
    assert!(
        registries
            .call(&ctx(), Operation::ListModelPackageGroups, b"")
            .is_ok()
    );
}

#[test]
fn list_packages_pages_filters_and_sorts() {
    let mut registries = with_group("g");
    let arns: Vec<String> = (0..7)
        .map(|_| create_package(&mut registries, "g", json!({})))
        .collect();
    ok(
        &mut registries,
        Operation::UpdateModelPackage,
        json!({"ModelPackageArn": arns[2], "ModelApprovalStatus": "Approved"}),
    );
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut body = json!({"ModelPackageGroupName": "g", "MaxResults": 3});
        if let (Some(token), Value::Object(fields)) = (&token, &mut body) {
            fields.insert("NextToken".into(), json!(token));
        }
        let page = ok(&mut registries, Operation::ListModelPackages, body).response;
        let items = page["ModelPackageSummaryList"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|item| {
            item["ModelPackageArn"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        }));
        match page.get("NextToken").and_then(Value::as_str) {
            Some(next) => token = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, arns);

    let approved = ok(
        &mut registries,
        Operation::ListModelPackages,
        json!({"ModelPackageGroupName": "g", "ModelApprovalStatus": "Approved"}),
    );
    assert_eq!(
        approved.response["ModelPackageSummaryList"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let summary = &approved.response["ModelPackageSummaryList"][0];
    assert_eq!(summary["ModelPackageArn"], json!(arns[2]));
    assert_eq!(summary["ModelPackageGroupName"], "g");
    assert_eq!(summary["ModelPackageVersion"], 3);
    assert_eq!(summary["ModelPackageStatus"], "Completed");
    assert!(summary["CreationTime"].is_number());

    let newest = ok(
        &mut registries,
        Operation::ListModelPackages,
        json!({"ModelPackageGroupName": "g", "SortOrder": "Descending", "MaxResults": 1}),
    );
    assert_eq!(
        newest.response["ModelPackageSummaryList"][0]["ModelPackageArn"],
        json!(arns[6])
    );

    assert!(matches!(
        err(
            &mut registries,
            Operation::ListModelPackages,
            json!({"MaxResults": 101})
        ),
        ApiError::Validation(_)
    ));
    // Without a group SageMaker lists unversioned packages, unless asked for versioned ones.
    let unversioned = ok(&mut registries, Operation::ListModelPackages, json!({}));
    assert_eq!(unversioned.response["ModelPackageSummaryList"], json!([]));
    let versioned = ok(
        &mut registries,
        Operation::ListModelPackages,
        json!({"ModelPackageType": "Versioned", "MaxResults": 100}),
    );
    assert_eq!(
        versioned.response["ModelPackageSummaryList"]
            .as_array()
            .map(Vec::len),
        Some(7)
    );
}

#[test]
fn list_groups_pages_and_filters_by_name() {
    let mut registries = Registries::default();
    for name in ["alpha", "beta", "gamma", "alphabet", "delta"] {
        ok(
            &mut registries,
            Operation::CreateModelPackageGroup,
            json!({"ModelPackageGroupName": name}),
        );
    }
    let first = ok(
        &mut registries,
        Operation::ListModelPackageGroups,
        json!({"MaxResults": 2}),
    );
    let names = |value: &Value| -> Vec<String> {
        value["ModelPackageGroupSummaryList"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|g| {
                g["ModelPackageGroupName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(names(&first.response), ["alpha", "beta"]);
    let token = first.response["NextToken"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let second = ok(
        &mut registries,
        Operation::ListModelPackageGroups,
        json!({"MaxResults": 2, "NextToken": token}),
    );
    assert_eq!(names(&second.response), ["gamma", "alphabet"]);
    let filtered = ok(
        &mut registries,
        Operation::ListModelPackageGroups,
        json!({"NameContains": "ALPHA", "SortBy": "Name", "SortOrder": "Descending"}),
    );
    assert_eq!(names(&filtered.response), ["alphabet", "alpha"]);
    assert!(matches!(
        err(
            &mut registries,
            Operation::ListModelPackageGroups,
            json!({"NextToken": "garbage"})
        ),
        ApiError::Validation(_)
    ));
}

#[test]
fn group_policy_put_get_delete() {
    let mut registries = with_group("g");
    assert!(matches!(
        err(
            &mut registries,
            Operation::GetModelPackageGroupPolicy,
            json!({"ModelPackageGroupName": "g"})
        ),
        ApiError::Validation(_)
    ));
    let policy = r#"{"Version":"2012-10-17","Statement":[]}"#;
    let put = ok(
        &mut registries,
        Operation::PutModelPackageGroupPolicy,
        json!({"ModelPackageGroupName": "g", "ResourcePolicy": policy}),
    );
    assert_eq!(
        put.response["ModelPackageGroupArn"],
        "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/g"
    );
    assert_eq!(
        put.events[0].detail["eventName"],
        "PutModelPackageGroupPolicy"
    );
    assert_eq!(
        put.events[0].detail["requestParameters"]["resourcePolicy"],
        policy
    );
    let got = ok(
        &mut registries,
        Operation::GetModelPackageGroupPolicy,
        json!({"ModelPackageGroupName": "g"}),
    );
    assert_eq!(got.response["ResourcePolicy"], policy);
    assert!(matches!(
        err(
            &mut registries,
            Operation::PutModelPackageGroupPolicy,
            json!({"ModelPackageGroupName": "g", "ResourcePolicy": "nope"})
        ),
        ApiError::Validation(_)
    ));
    let deleted = ok(
        &mut registries,
        Operation::DeleteModelPackageGroupPolicy,
        json!({"ModelPackageGroupName": "g"}),
    );
    assert_eq!(
        deleted.events[0].detail["eventName"],
        "DeleteModelPackageGroupPolicy"
    );
    assert!(matches!(
        err(
            &mut registries,
            Operation::GetModelPackageGroupPolicy,
            json!({"ModelPackageGroupName": "g"})
        ),
        ApiError::Validation(_)
    ));
    assert!(matches!(
        err(&mut registries, Operation::PutModelPackageGroupPolicy, json!({"ModelPackageGroupName": "missing", "ResourcePolicy": policy})),
        ApiError::Validation(m) if m.contains("does not exist")
    ));
}

#[test]
fn tags_are_added_listed_and_deleted_by_arn() {
    let mut registries = Registries::default();
    let group = ok(
        &mut registries,
        Operation::CreateModelPackageGroup,
        json!({"ModelPackageGroupName": "g", "Tags": [{"Key": "govsync:use-case-id", "Value": "UC-1"}]}),
    )
    .response["ModelPackageGroupArn"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    ok(
        &mut registries,
        Operation::AddTags,
        json!({"ResourceArn": group, "Tags": [{"Key": "risk", "Value": "high"}, {"Key": "govsync:use-case-id", "Value": "UC-2"}]}),
    );
    let listed = ok(
        &mut registries,
        Operation::ListTags,
        json!({"ResourceArn": group}),
    );
    assert_eq!(
        listed.response["Tags"],
        json!([{"Key": "govsync:use-case-id", "Value": "UC-2"}, {"Key": "risk", "Value": "high"}])
    );
    ok(
        &mut registries,
        Operation::DeleteTags,
        json!({"ResourceArn": group, "TagKeys": ["risk"]}),
    );
    let listed = ok(
        &mut registries,
        Operation::ListTags,
        json!({"ResourceArn": group}),
    );
    assert_eq!(
        listed.response["Tags"],
        json!([{"Key": "govsync:use-case-id", "Value": "UC-2"}])
    );

    let package = create_package(
        &mut registries,
        "g",
        json!({"Tags": [{"Key": "team", "Value": "ds"}]}),
    );
    let listed = ok(
        &mut registries,
        Operation::ListTags,
        json!({"ResourceArn": package}),
    );
    assert_eq!(
        listed.response["Tags"],
        json!([{"Key": "team", "Value": "ds"}])
    );
    assert!(matches!(
        err(
            &mut registries,
            Operation::ListTags,
            json!({"ResourceArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/nope"})
        ),
        ApiError::ResourceNotFound(_)
    ));
    assert!(matches!(
        err(
            &mut registries,
            Operation::ListTags,
            json!({"ResourceArn": group, "MaxResults": 10})
        ),
        ApiError::Validation(_)
    ));
}

#[test]
fn create_package_publishes_state_change_then_cloudtrail() {
    let mut registries = Registries::default();
    let group_events = ok(
        &mut registries,
        Operation::CreateModelPackageGroup,
        json!({"ModelPackageGroupName": "Fraud", "Tags": [{"Key": "k", "Value": "v"}]}),
    )
    .events;
    assert_eq!(group_events.len(), 1);
    assert_eq!(group_events[0].detail_type, CLOUDTRAIL);
    assert_eq!(
        group_events[0].detail["eventName"],
        "CreateModelPackageGroup"
    );
    assert_eq!(
        group_events[0].detail["requestParameters"],
        json!({"modelPackageGroupName": "Fraud", "tags": [{"key": "k", "value": "v"}]})
    );
    assert_eq!(
        group_events[0].detail["responseElements"],
        json!({"modelPackageGroupArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/fraud"})
    );

    let outcome = ok(
        &mut registries,
        Operation::CreateModelPackage,
        json!({
            "ModelPackageGroupName": "Fraud",
            "InferenceSpecification": {"Containers": [{"Image": "img", "ModelDataUrl": "s3://b/model.tar.gz"}], "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
            "CustomerMetadataProperties": {"Owner": "alice"}
        }),
    );
    let arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud/1";
    assert_eq!(outcome.events.len(), 2);
    let state = &outcome.events[0];
    assert_eq!(state.detail_type, STATE_CHANGE);
    assert_eq!(state.resources, vec![arn.to_owned()]);
    assert_eq!(state.detail["ModelPackageArn"], arn);
    assert_eq!(state.detail["ModelPackageGroupName"], "Fraud");
    assert_eq!(state.detail["ModelPackageVersion"], 1);
    assert_eq!(state.detail["ModelPackageStatus"], "Completed");
    assert_eq!(state.detail["ModelApprovalStatus"], "PendingManualApproval");
    assert_eq!(
        state.detail["CustomerMetadataProperties"],
        json!({"Owner": "alice"})
    );
    assert_eq!(
        state.detail["InferenceSpecification"]["Containers"][0]["Image"],
        "img"
    );
    let created = state.detail["CreationTime"].as_str().unwrap_or_default();
    assert!(
        chrono::DateTime::parse_from_rfc3339(created).is_ok(),
        "{created}"
    );
    assert_eq!(
        state.detail["LastModifiedTime"],
        state.detail["CreationTime"]
    );
    let trail = &outcome.events[1];
    assert_eq!(trail.detail["eventName"], "CreateModelPackage");
    assert_eq!(
        trail.detail["responseElements"],
        json!({"modelPackageArn": arn})
    );
    assert_eq!(
        trail.detail["requestParameters"]["customerMetadataProperties"],
        json!({"Owner": "alice"})
    );
    assert_eq!(
        trail.detail["requestParameters"]["inferenceSpecification"]["containers"][0]["modelDataUrl"],
        "s3://b/model.tar.gz"
    );
    assert_eq!(trail.time, state.time);
}

#[test]
fn update_and_delete_publish_state_changes() {
    let mut registries = with_group("g");
    let arn = create_package(&mut registries, "g", json!({}));
    let update = ok(
        &mut registries,
        Operation::UpdateModelPackage,
        json!({"ModelPackageArn": arn, "ModelLifeCycle": {"Stage": "Archived", "StageStatus": "Archived"}}),
    );
    assert_eq!(update.events[0].detail_type, STATE_CHANGE);
    assert_eq!(
        update.events[0].detail["ModelLifeCycle"]["Stage"],
        "Archived"
    );
    assert_ne!(
        update.events[0].detail["LastModifiedTime"],
        update.events[0].detail["CreationTime"]
    );
    assert_eq!(update.events[1].detail["eventName"], "UpdateModelPackage");
    assert_eq!(
        update.events[1].detail["requestParameters"]["modelLifeCycle"],
        json!({"stage": "Archived", "stageStatus": "Archived"})
    );
    let delete = ok(
        &mut registries,
        Operation::DeleteModelPackage,
        json!({"ModelPackageName": arn}),
    );
    assert_eq!(delete.events[0].detail["ModelPackageStatus"], "Deleting");
    assert_eq!(delete.events[0].resources, vec![arn.clone()]);
    assert_eq!(delete.events[1].detail["eventName"], "DeleteModelPackage");
    assert_eq!(delete.events[1].detail["responseElements"], Value::Null);
    assert!(matches!(
        err(
            &mut registries,
            Operation::DescribeModelPackage,
            json!({"ModelPackageName": arn})
        ),
        ApiError::Validation(_)
    ));
}

#[test]
fn read_only_calls_publish_nothing() {
    let mut registries = with_group("g");
    let arn = create_package(&mut registries, "g", json!({}));
    for (operation, body) in [
        (
            Operation::DescribeModelPackage,
            json!({"ModelPackageName": arn}),
        ),
        (
            Operation::DescribeModelPackageGroup,
            json!({"ModelPackageGroupName": "g"}),
        ),
        (
            Operation::ListModelPackages,
            json!({"ModelPackageGroupName": "g"}),
        ),
        (Operation::ListModelPackageGroups, json!({})),
        (Operation::ListTags, json!({"ResourceArn": arn})),
    ] {
        assert!(ok(&mut registries, operation, body).events.is_empty());
    }
}

#[test]
fn failed_mutating_calls_can_be_recorded_with_error_code() {
    let mut registries = with_group("g");
    create_package(&mut registries, "g", json!({}));
    let body = json!({"ModelPackageGroupName": "g"}).to_string();
    let error = err(
        &mut registries,
        Operation::DeleteModelPackageGroup,
        json!({"ModelPackageGroupName": "g"}),
    );
    let event = registries.failed_call_event(
        &ctx(),
        Operation::DeleteModelPackageGroup,
        body.as_bytes(),
        &error,
    );
    let event = event.unwrap_or_else(|| panic!("no event"));
    assert_eq!(event.detail["errorCode"], "ConflictException");
    assert_eq!(event.detail["eventName"], "DeleteModelPackageGroup");
    assert!(
        registries
            .failed_call_event(&ctx(), Operation::DescribeModelPackage, b"{}", &error)
            .is_none()
    );
}

#[test]
fn registries_are_separate_per_region_and_account() {
    let mut registries = with_group("g");
    let other_region = registries.call(
        &ctx_in("eu-west-1"),
        Operation::CreateModelPackageGroup,
        json!({"ModelPackageGroupName": "g"}).to_string().as_bytes(),
    );
    let arn = other_region.map(|o| o.response["ModelPackageGroupArn"].clone());
    assert_eq!(
        arn,
        Ok(json!(
            "arn:aws:sagemaker:eu-west-1:123456789012:model-package-group/g"
        ))
    );
    let mut other_account = ctx();
    other_account.caller.account = "210987654321".into();
    let created = registries.call(
        &other_account,
        Operation::CreateModelPackageGroup,
        json!({"ModelPackageGroupName": "g"}).to_string().as_bytes(),
    );
    assert!(created.is_ok());
}

#[test]
fn change_times_strictly_increase() {
    let mut registries = Registries::default();
    let times: Vec<_> = (0..100).map(|_| registries.tick()).collect();
    assert!(times.windows(2).all(|pair| pair[0] < pair[1]));
    assert!(
        times
            .iter()
            .all(|t| t.timestamp_subsec_micros() % 1000 == 0)
    );
}

#[test]
fn arbitrary_bodies_never_panic() {
    let mut registries = with_group("g");
    let create = create_package(&mut registries, "g", json!({}));
    let samples: Vec<Vec<u8>> = vec![
        b"null".to_vec(),
        b"\"text\"".to_vec(),
        vec![0xff, 0xfe, 0x00],
        b"{\"ModelPackageGroupName\": null}".to_vec(),
        b"{\"ModelPackageName\": \"arn:aws:sagemaker:us-east-1:123456789012:model-package/g/99999999999\"}".to_vec(),
        b"{\"ModelPackageName\": \"arn:aws:sagemaker\"}".to_vec(),
        b"{\"ModelPackageName\": \"g/0\"}".to_vec(),
        b"{\"ModelPackageName\": \"g/\"}".to_vec(),
        b"{\"ModelPackageName\": \"/1\"}".to_vec(),
        b"{\"ModelPackageArn\": \"arn:aws:sagemaker:us-east-1:123456789012:model-package/\"}".to_vec(),
        b"{\"ResourceArn\": \"arn:aws:sagemaker:us-east-1:123456789012:endpoint/x\"}".to_vec(),
        b"{\"CreationTimeAfter\": 1e400}".to_vec(),
        b"{\"CreationTimeAfter\": -1e30}".to_vec(),
        b"{\"MaxResults\": -9223372036854775808}".to_vec(),
        b"{\"NextToken\": \"\xc3\xa9\"}".to_vec(),
        format!("{{\"ModelPackageArn\": \"{create}\", \"CustomerMetadataPropertiesToRemove\": [\"\"]}}").into_bytes(),
    ];
    for operation in Operation::ALL {
        for body in &samples {
            let _ = registries.call(&ctx(), operation, body);
            let _ = registries.failed_call_event(
                &ctx(),
                operation,
                body,
                &ApiError::Validation("x".into()),
            );
        }
    }
}

// Cross-account access (SageMaker Developer Guide, "Register a Model Version from a Different Account"
// and "Set up discoverability"; IAM User Guide, "Cross-account policy evaluation logic"): another account
// reaches a group only through the group's resource policy.

const CENTRAL: &str = "123456789012";
const DEV: &str = "111111111111";
const THIRD: &str = "333333333333";
const SHARED_GROUP: &str = "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/shared";

fn as_account(account: &str) -> CallContext {
    let mut context = ctx();
    context.caller = Caller {
        arn: format!("arn:aws:sts::{account}:assumed-role/data-science/dana"),
        account: account.into(),
        access_key_id: format!("AKID{account}"),
        studio: None,
    };
    context
}

fn call_as(
    registries: &mut Registries,
    account: &str,
    operation: Operation,
    body: Value,
) -> Result<Outcome, ApiError> {
    registries.call(&as_account(account), operation, body.to_string().as_bytes())
}

fn sharing_policy(principal: &str) -> String {
    json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "DevelopmentAccountsRegister",
        "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{principal}:root")},
        "Action": [
            "sagemaker:CreateModelPackage",
            "sagemaker:DescribeModelPackage",
            "sagemaker:ListModelPackages",
            "sagemaker:UpdateModelPackage",
            "sagemaker:DescribeModelPackageGroup",
        ],
        "Resource": [SHARED_GROUP, "arn:aws:sagemaker:us-east-1:123456789012:model-package/shared/*"],
    }]})
    .to_string()
}

fn shared_with(principal: &str) -> Registries {
    let mut registries = with_group("shared");
    ok(
        &mut registries,
        Operation::PutModelPackageGroupPolicy,
        json!({"ModelPackageGroupName": "shared", "ResourcePolicy": sharing_policy(principal)}),
    );
    registries
}

fn register_into_shared(registries: &mut Registries, account: &str) -> Result<Outcome, ApiError> {
    call_as(
        registries,
        account,
        Operation::CreateModelPackage,
        json!({"ModelPackageGroupName": SHARED_GROUP}),
    )
}

#[test]
fn a_development_account_named_by_the_policy_registers_into_the_owners_group() {
    let mut registries = shared_with(DEV);
    let outcome = register_into_shared(&mut registries, DEV).expect("allowed by the policy");
    let arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/shared/1";
    assert_eq!(outcome.response["ModelPackageArn"], arn);
    // The state change is the owner's; CloudTrail records the call in the caller's account.
    let state = &outcome.events[0];
    assert_eq!(state.detail_type, STATE_CHANGE);
    assert_eq!(state.account, CENTRAL);
    let trail = &outcome.events[1];
    assert_eq!(trail.detail_type, CLOUDTRAIL);
    assert_eq!(trail.account, DEV);
    assert_eq!(trail.detail["recipientAccountId"], DEV);
    assert_eq!(trail.detail["userIdentity"]["accountId"], DEV);
    assert_eq!(trail.detail["responseElements"]["modelPackageArn"], arn);
    // The version is the owner's resource, created by the development identity.
    let described = describe(&mut registries, arn);
    assert_eq!(
        described["CreatedBy"]["IamIdentity"]["Arn"],
        "arn:aws:sts::111111111111:assumed-role/data-science/dana"
    );
    for (operation, body) in [
        (
            Operation::DescribeModelPackage,
            json!({"ModelPackageName": arn}),
        ),
        (
            Operation::ListModelPackages,
            json!({"ModelPackageGroupName": SHARED_GROUP}),
        ),
        (
            Operation::UpdateModelPackage,
            json!({"ModelPackageArn": arn, "ModelPackageDescription": "x", "CustomerMetadataProperties": {"team": "risk"}}),
        ),
        (
            Operation::DescribeModelPackageGroup,
            json!({"ModelPackageGroupName": SHARED_GROUP}),
        ),
    ] {
        let result = call_as(&mut registries, DEV, operation, body);
        assert!(result.is_ok(), "{}: {result:?}", operation.name());
    }
    // The policy grants no deletion.
    assert!(matches!(
        call_as(
            &mut registries,
            DEV,
            Operation::DeleteModelPackage,
            json!({"ModelPackageName": arn})
        ),
        Err(ApiError::AccessDenied(_))
    ));
}

#[test]
fn a_third_account_the_policy_does_not_name_is_refused_every_call() {
    let mut registries = shared_with(DEV);
    let arn = create_package(&mut registries, "shared", json!({}));
    let denied = register_into_shared(&mut registries, THIRD);
    assert!(
        matches!(&denied, Err(ApiError::AccessDenied(m)) if m.contains("sagemaker:CreateModelPackage")),
        "{denied:?}"
    );
    assert_eq!(
        denied.err().map(|e| e.code()),
        Some("AccessDeniedException")
    );
    for (operation, body) in [
        (
            Operation::DescribeModelPackage,
            json!({"ModelPackageName": arn}),
        ),
        (
            Operation::ListModelPackages,
            json!({"ModelPackageGroupName": SHARED_GROUP}),
        ),
        (
            Operation::UpdateModelPackage,
            json!({"ModelPackageArn": arn, "ModelApprovalStatus": "Approved"}),
        ),
        (
            Operation::DescribeModelPackageGroup,
            json!({"ModelPackageGroupName": SHARED_GROUP}),
        ),
        (Operation::ListTags, json!({"ResourceArn": arn})),
        (
            Operation::DeleteModelPackageGroup,
            json!({"ModelPackageGroupName": SHARED_GROUP}),
        ),
    ] {
        let result = call_as(&mut registries, THIRD, operation, body);
        assert!(
            matches!(result, Err(ApiError::AccessDenied(_))),
            "{}: {result:?}",
            operation.name()
        );
    }
    // Nothing changed: still one version, still pending.
    assert_eq!(
        describe(&mut registries, &arn)["ModelApprovalStatus"],
        "PendingManualApproval"
    );
    let listed = ok(
        &mut registries,
        Operation::ListModelPackages,
        json!({"ModelPackageGroupName": "shared"}),
    );
    assert_eq!(
        listed.response["ModelPackageSummaryList"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

#[test]
fn a_group_without_a_policy_refuses_other_accounts() {
    let mut registries = with_group("shared");
    assert!(matches!(
        register_into_shared(&mut registries, DEV),
        Err(ApiError::AccessDenied(_))
    ));
    // A group another account does not have is refused alike: no probing of names.
    assert!(matches!(
        call_as(
            &mut registries,
            DEV,
            Operation::CreateModelPackage,
            json!({"ModelPackageGroupName": "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/absent"})
        ),
        Err(ApiError::AccessDenied(_))
    ));
    // The owner itself needs no policy.
    assert!(
        registries
            .call(
                &ctx(),
                Operation::CreateModelPackage,
                json!({"ModelPackageGroupName": SHARED_GROUP})
                    .to_string()
                    .as_bytes()
            )
            .is_ok()
    );
}

#[test]
fn a_deleted_policy_shares_nothing_any_more() {
    let mut registries = shared_with(DEV);
    assert!(register_into_shared(&mut registries, DEV).is_ok());
    ok(
        &mut registries,
        Operation::DeleteModelPackageGroupPolicy,
        json!({"ModelPackageGroupName": "shared"}),
    );
    assert!(matches!(
        register_into_shared(&mut registries, DEV),
        Err(ApiError::AccessDenied(_))
    ));
    assert!(matches!(
        call_as(
            &mut registries,
            DEV,
            Operation::DescribeModelPackage,
            json!({"ModelPackageName": "arn:aws:sagemaker:us-east-1:123456789012:model-package/shared/1"})
        ),
        Err(ApiError::AccessDenied(_))
    ));
}

#[test]
fn another_account_cannot_read_or_change_the_owners_policy() {
    let mut registries = shared_with(DEV);
    // The policy calls take a name, which is always the caller's own account's group.
    assert!(matches!(
        call_as(
            &mut registries,
            DEV,
            Operation::PutModelPackageGroupPolicy,
            json!({"ModelPackageGroupName": SHARED_GROUP, "ResourcePolicy": sharing_policy(THIRD)})
        ),
        Err(ApiError::Validation(_))
    ));
    assert!(matches!(
        call_as(
            &mut registries,
            DEV,
            Operation::GetModelPackageGroupPolicy,
            json!({"ModelPackageGroupName": "shared"})
        ),
        Err(ApiError::Validation(m)) if m.contains("does not exist")
    ));
}

#[test]
fn a_ram_shared_group_behaves_as_a_policy_shared_one() {
    let mut registries = with_group("shared");
    let created = registries
        .ram_call(
            &ctx(),
            RamOperation::CreateResourceShare,
            json!({"name": "central-registry", "resourceArns": [SHARED_GROUP], "principals": [DEV]})
                .to_string()
                .as_bytes(),
            None,
        )
        .expect("the owner shares its group");
    let share = created.response["resourceShare"]["resourceShareArn"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(share.starts_with("arn:aws:ram:us-east-1:123456789012:resource-share/"));
    let registered = register_into_shared(&mut registries, DEV).expect("shared through RAM");
    assert_eq!(registered.events[0].account, CENTRAL);
    assert!(matches!(
        register_into_shared(&mut registries, THIRD),
        Err(ApiError::AccessDenied(_))
    ));
    // A share of a group the caller does not own is refused; only the owner deletes its share.
    assert!(matches!(
        registries.ram_call(
            &as_account(DEV),
            RamOperation::CreateResourceShare,
            json!({"name": "x", "resourceArns": [SHARED_GROUP], "principals": [THIRD]})
                .to_string()
                .as_bytes(),
            None,
        ),
        Err(ApiError::Ram {
            code: "UnknownResourceException",
            ..
        })
    ));
    assert!(
        registries
            .ram_call(
                &as_account(DEV),
                RamOperation::DeleteResourceShare,
                b"",
                Some(&share)
            )
            .is_err()
    );
    registries
        .ram_call(&ctx(), RamOperation::DeleteResourceShare, b"", Some(&share))
        .expect("the owner deletes its share");
    assert!(matches!(
        register_into_shared(&mut registries, DEV),
        Err(ApiError::AccessDenied(_))
    ));
}
