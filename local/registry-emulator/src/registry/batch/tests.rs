use serde_json::{Value, json};

use super::*;
use crate::events::Caller;
use crate::registry::RamOperation;

const OWNER: &str = "123456789012";
const DEV: &str = "111111111111";
const THIRD: &str = "333333333333";

fn ctx_of(account: &str, region: &str) -> CallContext {
    CallContext {
        caller: Caller {
            arn: format!("arn:aws:sts::{account}:assumed-role/ml/alice"),
            account: account.into(),
            access_key_id: format!("AKID{account}"),
            studio: None,
        },
        region: region.into(),
        user_agent: "test".into(),
        request_id: "req-1".into(),
    }
}

fn owner() -> CallContext {
    ctx_of(OWNER, "us-east-1")
}

fn call(
    registries: &mut Registries,
    ctx: &CallContext,
    operation: Operation,
    body: Value,
) -> Result<Outcome, ApiError> {
    registries.call(ctx, operation, body.to_string().as_bytes())
}

fn ok(registries: &mut Registries, operation: Operation, body: Value) -> Value {
    call(registries, &owner(), operation, body)
        .unwrap_or_else(|error| panic!("{} failed: {error:?}", operation.name()))
        .response
}

fn batch(registries: &mut Registries, ctx: &CallContext, arns: &[&str]) -> Value {
    let outcome = call(
        registries,
        ctx,
        Operation::BatchDescribeModelPackage,
        json!({ "ModelPackageArnList": arns }),
    )
    .unwrap_or_else(|error| panic!("BatchDescribeModelPackage failed: {error:?}"));
    assert!(outcome.events.is_empty(), "a read publishes nothing");
    outcome.response
}

fn refused(registries: &mut Registries, body: Value) -> ApiError {
    match call(
        registries,
        &owner(),
        Operation::BatchDescribeModelPackage,
        body,
    ) {
        Ok(outcome) => panic!("unexpectedly answered {}", outcome.response),
        Err(error) => error,
    }
}

fn arn(group: &str, version: u32) -> String {
    format!("arn:aws:sagemaker:us-east-1:{OWNER}:model-package/{group}/{version}")
}

/// Group `credit` with two versions: 1 bare, 2 with every member a summary could carry and the ones
/// it must leave out.
fn registry() -> Registries {
    let mut registries = Registries::default();
    ok(
        &mut registries,
        Operation::CreateModelPackageGroup,
        json!({"ModelPackageGroupName": "Credit"}),
    );
    ok(
        &mut registries,
        Operation::CreateModelPackage,
        json!({"ModelPackageGroupName": "Credit"}),
    );
    ok(
        &mut registries,
        Operation::CreateModelPackage,
        json!({
            "ModelPackageGroupName": "Credit",
            "ModelPackageDescription": "gradient boosting",
            "ModelApprovalStatus": "Approved",
            "ModelPackageRegistrationType": "Registered",
            "InferenceSpecification": {
                "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/credit:2"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            "CustomerMetadataProperties": {"govsync:model-id": "42"},
            "ModelLifeCycle": {"Stage": "Development", "StageStatus": "InProgress"},
            "ModelCard": {"ModelCardStatus": "Draft", "ModelCardContent": "{}"},
            "ModelMetrics": {"ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": "s3://b/stats.json"}}},
        }),
    );
    registries
}

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .map(|object| object.keys().map(String::as_str).collect())
        .unwrap_or_default();
    keys.sort_unstable();
    keys
}

#[test]
fn summaries_carry_the_documented_members_and_nothing_else() {
    let mut registries = registry();
    let missing = arn("credit", 9);
    let answer = batch(
        &mut registries,
        &owner(),
        &[&arn("credit", 2), &arn("credit", 1), &missing],
    );
    let summaries = &answer["ModelPackageSummaries"];
    assert_eq!(keys(summaries), [arn("credit", 1), arn("credit", 2)]);
    let full = &summaries[arn("credit", 2)];
    assert_eq!(
        keys(full),
        [
            "CreationTime",
            "InferenceSpecification",
            "ModelApprovalStatus",
            "ModelPackageArn",
            "ModelPackageDescription",
            "ModelPackageGroupName",
            "ModelPackageRegistrationType",
            "ModelPackageStatus",
            "ModelPackageVersion",
        ]
    );
    assert_eq!(full["ModelPackageGroupName"], "Credit");
    assert_eq!(full["ModelPackageVersion"], 2);
    assert_eq!(full["ModelPackageArn"], arn("credit", 2));
    assert_eq!(full["ModelPackageDescription"], "gradient boosting");
    assert_eq!(full["ModelPackageStatus"], "Completed");
    assert_eq!(full["ModelApprovalStatus"], "Approved");
    assert_eq!(full["ModelPackageRegistrationType"], "Registered");
    assert_eq!(
        full["InferenceSpecification"]["Containers"][0]["Image"],
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/credit:2"
    );
    // The same creation time DescribeModelPackage answers, as epoch seconds.
    let described = ok(
        &mut registries,
        Operation::DescribeModelPackage,
        json!({"ModelPackageName": arn("credit", 2)}),
    );
    assert!(full["CreationTime"].is_number());
    assert_eq!(full["CreationTime"], described["CreationTime"]);
    // What only DescribeModelPackage has (why a deep pass stays necessary).
    for member in [
        "LastModifiedTime",
        "ModelLifeCycle",
        "CustomerMetadataProperties",
        "ModelCard",
        "ModelMetrics",
        "CreatedBy",
    ] {
        assert!(described.get(member).is_some(), "describe has {member}");
        assert!(
            full.get(member).is_none(),
            "the summary must not have {member}"
        );
    }
    let bare = &summaries[arn("credit", 1)];
    assert_eq!(bare["ModelApprovalStatus"], "PendingManualApproval");
    assert!(bare.get("InferenceSpecification").is_none());
    assert!(bare.get("ModelPackageDescription").is_none());
    assert_eq!(
        answer["BatchDescribeModelPackageErrorMap"],
        json!({ missing.clone(): {
            "ErrorCode": "ValidationException",
            "ErrorResponse": format!("Model package {missing} does not exist."),
        }})
    );
}

#[test]
fn both_maps_are_answered_even_when_empty() {
    let mut registries = registry();
    let answer = batch(&mut registries, &owner(), &[&arn("credit", 1)]);
    assert_eq!(answer["BatchDescribeModelPackageErrorMap"], json!({}));
    let answer = batch(&mut registries, &owner(), &[&arn("credit", 5)]);
    assert_eq!(answer["ModelPackageSummaries"], json!({}));
}

#[test]
fn keys_are_the_arns_as_sent_and_a_repeat_is_answered_once() {
    let mut registries = registry();
    let upper = format!("arn:aws:sagemaker:us-east-1:{OWNER}:model-package/Credit/2");
    let answer = batch(
        &mut registries,
        &owner(),
        &[&upper, &upper, &arn("credit", 2)],
    );
    let summaries = &answer["ModelPackageSummaries"];
    assert_eq!(keys(summaries), [upper.clone(), arn("credit", 2)]);
    assert_eq!(summaries[&upper]["ModelPackageArn"], arn("credit", 2));
}

#[test]
fn another_region_or_a_path_naming_no_version_is_a_missing_package() {
    let mut registries = registry();
    let elsewhere = format!("arn:aws:sagemaker:eu-west-1:{OWNER}:model-package/credit/1");
    let unversioned = format!("arn:aws:sagemaker:us-east-1:{OWNER}:model-package/credit");
    let odd = format!("arn:aws:sagemaker:us-east-1:{OWNER}:model-package/cr_edit/1");
    let zero = format!("arn:aws:sagemaker:us-east-1:{OWNER}:model-package/credit/0");
    let answer = batch(
        &mut registries,
        &owner(),
        &[&elsewhere, &unversioned, &odd, &zero],
    );
    assert_eq!(answer["ModelPackageSummaries"], json!({}));
    for arn in [elsewhere, unversioned, odd, zero] {
        assert_eq!(
            answer["BatchDescribeModelPackageErrorMap"][&arn],
            json!({"ErrorCode": "ValidationException", "ErrorResponse": format!("Model package {arn} does not exist.")}),
            "{arn}"
        );
    }
    // A version of that region is found when read from there.
    let ireland = ctx_of(OWNER, "eu-west-1");
    for (operation, body) in [
        (
            Operation::CreateModelPackageGroup,
            json!({"ModelPackageGroupName": "credit"}),
        ),
        (
            Operation::CreateModelPackage,
            json!({"ModelPackageGroupName": "credit"}),
        ),
    ] {
        call(&mut registries, &ireland, operation, body).expect("created in eu-west-1");
    }
    let in_ireland = format!("arn:aws:sagemaker:eu-west-1:{OWNER}:model-package/credit/1");
    let answer = batch(&mut registries, &ireland, &[&in_ireland]);
    assert_eq!(
        keys(&answer["ModelPackageSummaries"]),
        [in_ireland.as_str()]
    );
}

#[test]
fn the_list_needs_one_to_a_hundred_arns() {
    let mut registries = registry();
    let message = refused(&mut registries, json!({})).to_string();
    assert!(
        message.contains("at 'modelPackageArnList'") && message.contains("must not be null"),
        "{message}"
    );
    let empty = refused(&mut registries, json!({"ModelPackageArnList": []}));
    assert_eq!(empty.code(), "ValidationException");
    assert!(
        empty
            .to_string()
            .contains("Member must have length greater than or equal to 1"),
        "{empty}"
    );
    let hundred: Vec<String> = (1..=100).map(|v| arn("credit", v)).collect();
    let answer = call(
        &mut registries,
        &owner(),
        Operation::BatchDescribeModelPackage,
        json!({ "ModelPackageArnList": hundred }),
    )
    .expect("100 ARNs are allowed");
    assert_eq!(keys(&answer.response["ModelPackageSummaries"]).len(), 2);
    assert_eq!(
        keys(&answer.response["BatchDescribeModelPackageErrorMap"]).len(),
        98
    );
    let too_many: Vec<String> = (1..=101).map(|v| arn("credit", v)).collect();
    let error = refused(&mut registries, json!({ "ModelPackageArnList": too_many }));
    assert!(
        error
            .to_string()
            .contains("Member must have length less than or equal to 100"),
        "{error}"
    );
}

#[test]
fn each_arn_must_match_the_model_package_arn_pattern() {
    let mut registries = registry();
    let long = format!(
        "arn:aws:sagemaker:us-east-1:{OWNER}:model-package/credit/{}",
        "1".repeat(2049)
    );
    for bad in [
        "",
        "credit/1",
        "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/credit",
        "arn:aws:sagemaker:us-east-1:12345:model-package/credit/1",
        "arn:aws:sagemaker:east:123456789012:model-package/credit/1",
        "arn:aws:sagemaker:US-EAST-1:123456789012:model-package/credit/1",
        "arn:aws:s3:us-east-1:123456789012:model-package/credit/1",
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/",
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/credit 1",
        "arn:azure:sagemaker:us-east-1:123456789012:model-package/credit/1",
        long.as_str(),
    ] {
        let error = refused(
            &mut registries,
            json!({"ModelPackageArnList": [arn("credit", 1), bad]}),
        );
        assert_eq!(error.code(), "ValidationException", "{bad}");
        let message = error.to_string();
        assert!(
            message.contains("at 'modelPackageArnList'")
                && message.contains("Member must satisfy constraint: [Member must"),
            "{bad}: {message}"
        );
    }
    // Other partitions match the pattern.
    assert!(is_model_package_arn(
        "arn:aws-cn:sagemaker:cn-north-1:123456789012:model-package/credit/1"
    ));
    assert!(is_model_package_arn(
        "arn:aws-us-gov:sagemaker:us-gov-west-1:123456789012:model-package/credit/1"
    ));
}

#[test]
fn members_of_the_wrong_type_are_serialization_errors() {
    let mut registries = registry();
    for body in [
        json!({"ModelPackageArnList": arn("credit", 1)}),
        json!({"ModelPackageArnList": [1]}),
        json!({"ModelPackageArnList": {"a": "b"}}),
    ] {
        let error = refused(&mut registries, body.clone());
        assert_eq!(error.code(), "SerializationException", "{body}");
    }
}

fn share_with(registries: &mut Registries, principal: &str, actions: &[&str]) {
    let policy = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{principal}:root")},
        "Action": actions,
        "Resource": [
            format!("arn:aws:sagemaker:us-east-1:{OWNER}:model-package-group/credit"),
            format!("arn:aws:sagemaker:us-east-1:{OWNER}:model-package/credit/*"),
        ],
    }]});
    ok(
        registries,
        Operation::PutModelPackageGroupPolicy,
        json!({"ModelPackageGroupName": "Credit", "ResourcePolicy": policy.to_string()}),
    );
}

fn denied_entry(answer: &Value, arn: &str, caller_account: &str) {
    let entry = &answer["BatchDescribeModelPackageErrorMap"][arn];
    assert_eq!(entry["ErrorCode"], "AccessDeniedException", "{answer}");
    let message = entry["ErrorResponse"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!("arn:aws:sts::{caller_account}:"))
            && message.contains("sagemaker:BatchDescribeModelPackage"),
        "{message}"
    );
}

#[test]
fn another_account_reads_only_what_the_group_policy_allows_for_the_batch_action() {
    let mut registries = registry();
    let (one, missing) = (arn("credit", 1), arn("credit", 7));
    let absent_group = format!("arn:aws:sagemaker:us-east-1:{OWNER}:model-package/absent/1");
    // Without a policy: refused per ARN, the call itself answers.
    let answer = batch(&mut registries, &ctx_of(DEV, "us-east-1"), &[&one]);
    denied_entry(&answer, &one, DEV);
    // A policy granting only DescribeModelPackage does not grant the batch action.
    share_with(&mut registries, DEV, &["sagemaker:DescribeModelPackage"]);
    let answer = batch(&mut registries, &ctx_of(DEV, "us-east-1"), &[&one]);
    denied_entry(&answer, &one, DEV);
    share_with(
        &mut registries,
        DEV,
        &[
            "sagemaker:DescribeModelPackage",
            "sagemaker:BatchDescribeModelPackage",
        ],
    );
    let answer = batch(
        &mut registries,
        &ctx_of(DEV, "us-east-1"),
        &[&one, &missing, &absent_group],
    );
    assert_eq!(
        answer["ModelPackageSummaries"][&one]["ModelPackageArn"],
        one.as_str()
    );
    assert_eq!(
        answer["BatchDescribeModelPackageErrorMap"][&missing]["ErrorCode"],
        "ValidationException"
    );
    // A group the owner does not have is refused, not reported missing: no probing of names.
    denied_entry(&answer, &absent_group, DEV);
    // A third account is not named by the policy.
    let answer = batch(&mut registries, &ctx_of(THIRD, "us-east-1"), &[&one]);
    denied_entry(&answer, &one, THIRD);
    assert_eq!(answer["ModelPackageSummaries"], json!({}));
}

#[test]
fn a_ram_share_allows_the_batch_read() {
    let mut registries = registry();
    let one = arn("credit", 1);
    registries
        .ram_call(
            &owner(),
            RamOperation::CreateResourceShare,
            json!({
                "name": "central",
                "resourceArns": [format!("arn:aws:sagemaker:us-east-1:{OWNER}:model-package-group/credit")],
                "principals": [DEV],
            })
            .to_string()
            .as_bytes(),
            None,
        )
        .expect("the owner shares its group");
    let answer = batch(&mut registries, &ctx_of(DEV, "us-east-1"), &[&one]);
    assert_eq!(keys(&answer["ModelPackageSummaries"]), [one.as_str()]);
    let answer = batch(&mut registries, &ctx_of(THIRD, "us-east-1"), &[&one]);
    denied_entry(&answer, &one, THIRD);
}

#[test]
fn the_operation_is_dispatched_from_its_target() {
    assert_eq!(
        Operation::from_target("SageMaker.BatchDescribeModelPackage"),
        Ok(Operation::BatchDescribeModelPackage)
    );
    assert!(!Operation::BatchDescribeModelPackage.recorded_by_cloudtrail());
}
