"""boto3 against the registry emulator: SageMaker Model Registry semantics govsync relies on
(contracts/sagemaker.md), and the events a change puts on EventBridge arriving on registry-events-ingest.

Needs the local stack (see conftest.py); fails, never skips, without it.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.usefixtures("stack")

INFERENCE_SPECIFICATION = {
    "Containers": [
        {
            "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud:1.4",
            "ModelDataUrl": "s3://models-bucket/fraud/1.4/model.tar.gz",
        }
    ],
    "SupportedContentTypes": ["text/csv"],
    "SupportedResponseMIMETypes": ["text/csv"],
}
MODEL_METRICS = {
    "ModelQuality": {
        "Statistics": {"ContentType": "application/json", "S3Uri": "s3://models-bucket/fraud/1.4/evaluation.json"}
    }
}


def error_code(error: ClientError) -> str:
    return error.response["Error"]["Code"]


def create_group(sagemaker: Any, name: str, **kwargs: Any) -> str:
    return sagemaker.create_model_package_group(ModelPackageGroupName=name, **kwargs)["ModelPackageGroupArn"]


def create_package(sagemaker: Any, group: str, **kwargs: Any) -> str:
    return sagemaker.create_model_package(ModelPackageGroupName=group, **kwargs)["ModelPackageArn"]


def rfc3339(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def about_group(name: str):
    """Matches the envelopes of one test's group: state changes and CloudTrail records naming it."""

    def matches(envelope: dict[str, Any]) -> bool:
        detail = envelope.get("detail", {})
        if detail.get("ModelPackageGroupName") == name:
            return True
        params = detail.get("requestParameters") or {}
        named = str(params.get("modelPackageGroupName") or params.get("modelPackageName") or params.get("modelPackageArn"))
        return name in named or name.lower() in named

    return matches


# --- API semantics ---------------------------------------------------------------------------------------


def test_group_versions_count_up_and_default_to_pending_manual_approval(stack, sagemaker, group_name):
    group_arn = create_group(sagemaker, group_name, ModelPackageGroupDescription="fraud detection")
    assert group_arn == f"arn:aws:sagemaker:{stack.region}:{stack.account_id}:model-package-group/{group_name}"

    first = create_package(sagemaker, group_name, InferenceSpecification=INFERENCE_SPECIFICATION)
    second = create_package(sagemaker, group_name)
    assert first == f"arn:aws:sagemaker:{stack.region}:{stack.account_id}:model-package/{group_name}/1"
    assert second.endswith(f"model-package/{group_name}/2")

    described = sagemaker.describe_model_package(ModelPackageName=first)
    assert described["ModelPackageGroupName"] == group_name
    assert described["ModelPackageVersion"] == 1
    assert described["ModelApprovalStatus"] == "PendingManualApproval"
    assert described["ModelPackageStatus"] == "Completed"
    assert described["InferenceSpecification"] == INFERENCE_SPECIFICATION
    # awsJson1.1 epoch-second timestamps parse into aware datetimes.
    assert isinstance(described["CreationTime"], datetime)
    assert described["CreationTime"].tzinfo is not None
    assert abs((datetime.now(timezone.utc) - described["CreationTime"]).total_seconds()) < 60

    group = sagemaker.describe_model_package_group(ModelPackageGroupName=group_name)
    assert group["ModelPackageGroupArn"] == group_arn
    assert group["ModelPackageGroupStatus"] == "Completed"
    assert group["ModelPackageGroupDescription"] == "fraud detection"


def test_mixed_case_group_names_get_lowercase_arns(sagemaker):
    name = f"Fraud-{uuid.uuid4().hex[:8]}"
    group_arn = create_group(sagemaker, name)
    assert group_arn.endswith(f":model-package-group/{name.lower()}")
    package_arn = create_package(sagemaker, name)
    assert package_arn.endswith(f":model-package/{name.lower()}/1")
    assert sagemaker.describe_model_package(ModelPackageName=package_arn)["ModelPackageGroupName"] == name


def test_duplicate_group_name_is_validation_exception(sagemaker, group_name):
    create_group(sagemaker, group_name)
    with pytest.raises(ClientError) as raised:
        create_group(sagemaker, group_name)
    assert error_code(raised.value) == "ValidationException"


def test_update_merges_customer_metadata_and_removes_listed_keys(sagemaker, group_name):
    create_group(sagemaker, group_name)
    arn = create_package(
        sagemaker,
        group_name,
        CustomerMetadataProperties={"team": "risk", "owner": "alice", "ticket": "RISK-1"},
    )
    sagemaker.update_model_package(
        ModelPackageArn=arn,
        CustomerMetadataProperties={"govsync:model-id": "MOD-42", "owner": "bob"},
    )
    assert sagemaker.describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"] == {
        "team": "risk",
        "owner": "bob",
        "ticket": "RISK-1",
        "govsync:model-id": "MOD-42",
    }
    sagemaker.update_model_package(ModelPackageArn=arn, CustomerMetadataPropertiesToRemove=["ticket", "never-set"])
    assert sagemaker.describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"] == {
        "team": "risk",
        "owner": "bob",
        "govsync:model-id": "MOD-42",
    }


def test_update_changes_only_the_fields_given(sagemaker, group_name):
    create_group(sagemaker, group_name)
    arn = create_package(
        sagemaker,
        group_name,
        ModelPackageDescription="v1",
        InferenceSpecification=INFERENCE_SPECIFICATION,
        ModelMetrics=MODEL_METRICS,
        ModelLifeCycle={"Stage": "Development", "StageStatus": "InProgress"},
        CustomerMetadataProperties={"keep": "me"},
    )
    before = sagemaker.describe_model_package(ModelPackageName=arn)
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    after = sagemaker.describe_model_package(ModelPackageName=arn)
    assert after["ModelApprovalStatus"] == "Approved"
    for field in (
        "ModelPackageDescription",
        "InferenceSpecification",
        "ModelMetrics",
        "ModelLifeCycle",
        "CustomerMetadataProperties",
        "CreationTime",
    ):
        assert after[field] == before[field], field
    assert after["LastModifiedTime"] > before["LastModifiedTime"]


def test_model_life_cycle_round_trips(sagemaker, group_name):
    create_group(sagemaker, group_name)
    arn = create_package(sagemaker, group_name)
    life_cycle = {
        "Stage": "Production",
        "StageStatus": "Approved",
        "StageDescription": "Approved in governance by carol: validation report MRM-7 accepted",
    }
    sagemaker.update_model_package(ModelPackageArn=arn, ModelLifeCycle=life_cycle)
    assert sagemaker.describe_model_package(ModelPackageName=arn)["ModelLifeCycle"] == life_cycle
    summaries = sagemaker.list_model_packages(ModelPackageGroupName=group_name)["ModelPackageSummaryList"]
    assert summaries[0]["ModelLifeCycle"] == life_cycle

    with pytest.raises(ClientError) as raised:
        sagemaker.update_model_package(
            ModelPackageArn=arn,
            ModelLifeCycle={"Stage": "Production", "StageStatus": "Approved", "StageDescription": "x" * 1025},
        )
    assert error_code(raised.value) == "ValidationException"
    assert sagemaker.describe_model_package(ModelPackageName=arn)["ModelLifeCycle"] == life_cycle


def test_approval_description_is_kept_and_limited(sagemaker, group_name):
    create_group(sagemaker, group_name)
    arn = create_package(sagemaker, group_name)
    sagemaker.update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus="Rejected", ApprovalDescription="Rejected in governance by dave"
    )
    described = sagemaker.describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "Rejected"
    assert described["ApprovalDescription"] == "Rejected in governance by dave"
    with pytest.raises(ClientError) as raised:
        sagemaker.update_model_package(ModelPackageArn=arn, ApprovalDescription="x" * 1025)
    assert error_code(raised.value) == "ValidationException"


def test_client_token_makes_update_idempotent(sagemaker, group_name, registry_events):
    create_group(sagemaker, group_name)
    arn = create_package(sagemaker, group_name)
    first = sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved", ClientToken="tok-1")
    after_first = sagemaker.describe_model_package(ModelPackageName=arn)
    replay = sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved", ClientToken="tok-1")
    assert replay["ModelPackageArn"] == first["ModelPackageArn"] == arn
    after_replay = sagemaker.describe_model_package(ModelPackageName=arn)
    assert after_replay["LastModifiedTime"] == after_first["LastModifiedTime"]

    # A sentinel change marks the end of this test's events: the replay must have added none.
    sagemaker.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties={"sentinel": "done"})
    updates = registry_events.wait_for(
        lambda e: e["detail-type"] == "AWS API Call via CloudTrail"
        and e["detail"]["eventName"] == "UpdateModelPackage"
        and e["detail"]["requestParameters"].get("modelPackageArn") == arn,
        count=3,
        timeout=3,
    )
    tokens = [update["detail"]["requestParameters"].get("clientToken") for update in updates]
    assert tokens == ["tok-1", None]


def test_describing_a_missing_package_is_validation_exception(stack, sagemaker, group_name):
    create_group(sagemaker, group_name)
    missing = f"arn:aws:sagemaker:{stack.region}:{stack.account_id}:model-package/{group_name}/7"
    with pytest.raises(ClientError) as raised:
        sagemaker.describe_model_package(ModelPackageName=missing)
    assert error_code(raised.value) == "ValidationException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "does not exist" in raised.value.response["Error"]["Message"]


def test_deleting_a_non_empty_group_is_conflict(sagemaker, group_name):
    create_group(sagemaker, group_name)
    arn = create_package(sagemaker, group_name)
    with pytest.raises(ClientError) as raised:
        sagemaker.delete_model_package_group(ModelPackageGroupName=group_name)
    assert error_code(raised.value) == "ConflictException"
    sagemaker.delete_model_package(ModelPackageName=arn)
    sagemaker.delete_model_package_group(ModelPackageGroupName=group_name)
    with pytest.raises(ClientError) as raised:
        sagemaker.describe_model_package_group(ModelPackageGroupName=group_name)
    assert error_code(raised.value) == "ValidationException"


OVER_LIMIT_METADATA = {
    "51 entries": {f"key-{i}": "v" for i in range(51)},
    "129-character key": {"k" * 129: "v"},
    "257-character value": {"long-value": "v" * 257},
    "brace in value": {"json-blob": '{"a": 1}'},
}


@pytest.mark.parametrize("metadata", OVER_LIMIT_METADATA.values(), ids=OVER_LIMIT_METADATA.keys())
def test_over_limit_customer_metadata_is_validation_exception(sagemaker, group_name, metadata):
    create_group(sagemaker, group_name)
    with pytest.raises(ClientError) as raised:
        create_package(sagemaker, group_name, CustomerMetadataProperties=metadata)
    assert error_code(raised.value) == "ValidationException"

    arn = create_package(sagemaker, group_name, CustomerMetadataProperties={"before": "update"})
    with pytest.raises(ClientError) as raised:
        sagemaker.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties=metadata)
    assert error_code(raised.value) == "ValidationException"
    if len(metadata) == 1:
        # The message names the offending key.
        assert next(iter(metadata))[:40] in raised.value.response["Error"]["Message"]
    assert sagemaker.describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"] == {"before": "update"}


def test_metadata_limit_counts_entries_after_the_merge(sagemaker, group_name):
    create_group(sagemaker, group_name)
    arn = create_package(sagemaker, group_name, CustomerMetadataProperties={f"old-{i}": "v" for i in range(30)})
    with pytest.raises(ClientError) as raised:
        sagemaker.update_model_package(
            ModelPackageArn=arn, CustomerMetadataProperties={f"new-{i}": "v" for i in range(21)}
        )
    assert error_code(raised.value) == "ValidationException"
    sagemaker.update_model_package(
        ModelPackageArn=arn,
        CustomerMetadataProperties={f"new-{i}": "v" for i in range(21)},
        CustomerMetadataPropertiesToRemove=["old-0"],
    )
    assert len(sagemaker.describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"]) == 50


def test_list_model_packages_pages_with_max_results(sagemaker, group_name):
    create_group(sagemaker, group_name)
    arns = [create_package(sagemaker, group_name) for _ in range(5)]
    sagemaker.update_model_package(ModelPackageArn=arns[3], ModelApprovalStatus="Approved")

    seen, pages, token = [], 0, None
    while True:
        kwargs = {"ModelPackageGroupName": group_name, "MaxResults": 2}
        if token:
            kwargs["NextToken"] = token
        page = sagemaker.list_model_packages(**kwargs)
        pages += 1
        assert len(page["ModelPackageSummaryList"]) <= 2
        seen += [summary["ModelPackageArn"] for summary in page["ModelPackageSummaryList"]]
        token = page.get("NextToken")
        if not token:
            break
    assert (seen, pages) == (arns, 3)

    paginated = [
        summary["ModelPackageArn"]
        for page in sagemaker.get_paginator("list_model_packages").paginate(
            ModelPackageGroupName=group_name, PaginationConfig={"PageSize": 3}
        )
        for summary in page["ModelPackageSummaryList"]
    ]
    assert paginated == arns

    approved = sagemaker.list_model_packages(ModelPackageGroupName=group_name, ModelApprovalStatus="Approved")
    assert [s["ModelPackageArn"] for s in approved["ModelPackageSummaryList"]] == [arns[3]]
    summary = approved["ModelPackageSummaryList"][0]
    assert summary["ModelPackageGroupName"] == group_name
    assert summary["ModelPackageVersion"] == 4
    assert summary["ModelPackageStatus"] == "Completed"
    assert isinstance(summary["CreationTime"], datetime)

    with pytest.raises(ClientError) as raised:
        sagemaker.list_model_packages(ModelPackageGroupName=group_name, MaxResults=101)
    assert error_code(raised.value) == "ValidationException"


def test_list_model_package_groups_pages_and_filters(sagemaker):
    prefix = f"lst-{uuid.uuid4().hex[:10]}"
    names = [f"{prefix}-{i}" for i in range(5)]
    for name in names:
        create_group(sagemaker, name)
    listed = [
        group["ModelPackageGroupName"]
        for page in sagemaker.get_paginator("list_model_package_groups").paginate(
            NameContains=prefix, PaginationConfig={"PageSize": 2}
        )
        for group in page["ModelPackageGroupSummaryList"]
    ]
    assert listed == names
    newest_first = sagemaker.list_model_package_groups(
        NameContains=prefix, SortBy="CreationTime", SortOrder="Descending", MaxResults=1
    )
    assert [g["ModelPackageGroupName"] for g in newest_first["ModelPackageGroupSummaryList"]] == [names[-1]]
    assert "NextToken" in newest_first


def test_group_policy_put_get_delete(stack, sagemaker, group_name):
    group_arn = create_group(sagemaker, group_name)
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ShareWithGovernance",
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
                    "Action": ["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"],
                    "Resource": f"arn:aws:sagemaker:{stack.region}:{stack.account_id}:model-package/{group_name}/*",
                }
            ],
        }
    )
    with pytest.raises(ClientError) as raised:
        sagemaker.get_model_package_group_policy(ModelPackageGroupName=group_name)
    assert error_code(raised.value) == "ValidationException"

    put = sagemaker.put_model_package_group_policy(ModelPackageGroupName=group_name, ResourcePolicy=policy)
    assert put["ModelPackageGroupArn"] == group_arn
    assert sagemaker.get_model_package_group_policy(ModelPackageGroupName=group_name)["ResourcePolicy"] == policy

    for bad in ("not json", "x" * 20481):
        with pytest.raises(ClientError) as raised:
            sagemaker.put_model_package_group_policy(ModelPackageGroupName=group_name, ResourcePolicy=bad)
        assert error_code(raised.value) == "ValidationException"

    sagemaker.delete_model_package_group_policy(ModelPackageGroupName=group_name)
    with pytest.raises(ClientError) as raised:
        sagemaker.get_model_package_group_policy(ModelPackageGroupName=group_name)
    assert error_code(raised.value) == "ValidationException"


def test_tags_are_read_and_changed_by_resource_arn(sagemaker, group_name):
    group_arn = create_group(
        sagemaker,
        group_name,
        Tags=[{"Key": "govsync:use-case-id", "Value": "UC-1001"}, {"Key": "govsync:business-entity", "Value": "BE-7"}],
    )
    tags = sagemaker.list_tags(ResourceArn=group_arn)["Tags"]
    assert {tag["Key"]: tag["Value"] for tag in tags} == {
        "govsync:use-case-id": "UC-1001",
        "govsync:business-entity": "BE-7",
    }
    sagemaker.add_tags(ResourceArn=group_arn, Tags=[{"Key": "risk", "Value": "high"}])
    sagemaker.delete_tags(ResourceArn=group_arn, TagKeys=["govsync:business-entity"])
    tags = sagemaker.list_tags(ResourceArn=group_arn)["Tags"]
    assert {tag["Key"]: tag["Value"] for tag in tags} == {"govsync:use-case-id": "UC-1001", "risk": "high"}

    package_arn = create_package(sagemaker, group_name, Tags=[{"Key": "team", "Value": "fraud"}])
    assert sagemaker.list_tags(ResourceArn=package_arn)["Tags"] == [{"Key": "team", "Value": "fraud"}]


def test_region_comes_from_the_request_signature(stack, make_sagemaker, group_name):
    other_region = "eu-west-1" if stack.region != "eu-west-1" else "eu-central-1"
    elsewhere = make_sagemaker(region=other_region)
    arn = create_group(elsewhere, group_name)
    assert arn.startswith(f"arn:aws:sagemaker:{other_region}:")
    with pytest.raises(ClientError) as raised:
        make_sagemaker().describe_model_package_group(ModelPackageGroupName=group_name)
    assert error_code(raised.value) == "ValidationException"


def test_unsupported_operation_and_malformed_json(stack, sagemaker):
    with pytest.raises(ClientError) as raised:
        sagemaker.list_training_jobs()
    assert error_code(raised.value) == "UnknownOperationException"

    request = urllib.request.Request(
        stack.registry_url + "/",
        data=b"{not json",
        method="POST",
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "SageMaker.ListModelPackageGroups"},
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=10)
    assert raised.value.code == 400
    assert json.loads(raised.value.read())["__type"] == "SerializationException"


def test_admin_health_and_event_log(stack, sagemaker, group_name):
    with urllib.request.urlopen(stack.registry_url + "/_emulator/health", timeout=10) as answer:
        assert answer.status == 200
    create_group(sagemaker, group_name)
    with urllib.request.urlopen(stack.registry_url + "/_emulator/events", timeout=10) as answer:
        log = json.loads(answer.read())["events"]
    mine = [record for record in log if about_group(group_name)(record["event"])]
    assert [record["event"]["detail"]["eventName"] for record in mine] == ["CreateModelPackageGroup"]
    assert mine[0]["delivery"] == "published"


# --- events on EventBridge → registry-events-ingest -------------------------------------------------------


def test_registering_a_model_package_delivers_its_events_to_the_registry_queue(
    stack, sagemaker, group_name, registry_events
):
    group_arn = create_group(sagemaker, group_name, Tags=[{"Key": "govsync:use-case-id", "Value": "UC-1001"}])
    package_arn = sagemaker.create_model_package(
        ModelPackageGroupName=group_name,
        ModelPackageDescription="gradient boosted trees, 2026-01 retrain",
        InferenceSpecification=INFERENCE_SPECIFICATION,
        ModelMetrics=MODEL_METRICS,
        MetadataProperties={"GeneratedBy": "arn:aws:sagemaker:us-east-1:123456789012:pipeline/fraud/execution/x1"},
        CustomerMetadataProperties={"team": "risk"},
    )["ModelPackageArn"]
    described = sagemaker.describe_model_package(ModelPackageName=package_arn)

    events = registry_events.wait_for(about_group(group_name), count=3)
    kinds = [(e["detail-type"], e["detail"].get("eventName")) for e in events]
    # In the order the changes happened in (the registry publishes them in that order).
    assert kinds == [
        ("AWS API Call via CloudTrail", "CreateModelPackageGroup"),
        ("SageMaker Model Package State Change", None),
        ("AWS API Call via CloudTrail", "CreateModelPackage"),
    ]
    for envelope in events:
        assert envelope["source"] == "aws.sagemaker"
        assert envelope["version"] == "0"
        assert envelope["region"] == stack.region
        # moto's default SQS delivery drops the envelope's `account` (real EventBridge keeps it); a target
        # InputTransformer with InputTemplate "<aws.events.event.json>" restores it.
        assert envelope.get("account", stack.account_id) == stack.account_id
        # The rule sets no group: the registry-relay gives each event its object's (issue 14).
        assert "MessageGroupId" not in envelope["_sqs_attributes"]

    group_call, state_change, package_call = events

    detail = state_change["detail"]
    assert state_change["resources"] == [package_arn]
    assert detail["ModelPackageArn"] == package_arn
    assert detail["ModelPackageGroupName"] == group_name
    assert detail["ModelPackageVersion"] == 1
    assert detail["ModelPackageStatus"] == "Completed"
    assert detail["ModelApprovalStatus"] == "PendingManualApproval"
    assert detail["InferenceSpecification"] == INFERENCE_SPECIFICATION
    assert detail["ModelMetrics"] == MODEL_METRICS
    assert detail["MetadataProperties"] == described["MetadataProperties"]
    assert detail["CustomerMetadataProperties"] == {"team": "risk"}
    assert rfc3339(detail["CreationTime"]) == described["CreationTime"]
    assert rfc3339(detail["LastModifiedTime"]) == described["LastModifiedTime"]

    trail = group_call["detail"]
    assert trail["eventSource"] == "sagemaker.amazonaws.com"
    assert trail["requestParameters"]["modelPackageGroupName"] == group_name
    assert trail["requestParameters"]["tags"] == [{"key": "govsync:use-case-id", "value": "UC-1001"}]
    assert trail["responseElements"] == {"modelPackageGroupArn": group_arn}

    trail = package_call["detail"]
    assert trail["eventVersion"]
    assert trail["eventSource"] == "sagemaker.amazonaws.com"
    assert trail["awsRegion"] == stack.region
    assert trail["recipientAccountId"] == stack.account_id
    assert trail["userIdentity"]["arn"] == described["CreatedBy"]["IamIdentity"]["Arn"]
    assert trail["userIdentity"]["accountId"] == stack.account_id
    assert trail["userIdentity"]["type"] in {"IAMUser", "AssumedRole", "Root"}
    assert "Boto3" in trail["userAgent"] or "botocore" in trail["userAgent"]
    assert trail["requestParameters"]["modelPackageGroupName"] == group_name
    assert trail["requestParameters"]["customerMetadataProperties"] == {"team": "risk"}
    assert trail["requestParameters"]["inferenceSpecification"]["containers"][0]["modelDataUrl"] == (
        INFERENCE_SPECIFICATION["Containers"][0]["ModelDataUrl"]
    )
    assert trail["responseElements"] == {"modelPackageArn": package_arn}
    assert trail["readOnly"] is False
    assert trail["eventType"] == "AwsApiCall"
    assert trail["managementEvent"] is True
    assert trail["eventCategory"] == "Management"
    assert "errorCode" not in trail
    assert group_call["detail"]["eventID"] != trail["eventID"]
    assert rfc3339(trail["eventTime"]) <= datetime.now(timezone.utc)


def test_updates_and_deletes_publish_state_changes(sagemaker, group_name, registry_events, drain_queue):
    create_group(sagemaker, group_name)
    arn = create_package(sagemaker, group_name)
    registry_events.wait_for(about_group(group_name), count=3)

    sagemaker.update_model_package(
        ModelPackageArn=arn,
        ModelApprovalStatus="Approved",
        ModelLifeCycle={"Stage": "Staging", "StageStatus": "Approved"},
    )
    update_events = registry_events.wait_for(about_group(group_name), count=2)
    assert [e["detail-type"] for e in update_events] == [
        "SageMaker Model Package State Change",
        "AWS API Call via CloudTrail",
    ]
    changed, call = update_events
    assert changed["detail"]["ModelApprovalStatus"] == "Approved"
    assert changed["detail"]["ModelLifeCycle"] == {"Stage": "Staging", "StageStatus": "Approved"}
    assert rfc3339(changed["detail"]["LastModifiedTime"]) > rfc3339(changed["detail"]["CreationTime"])
    assert call["detail"]["eventName"] == "UpdateModelPackage"
    assert call["detail"]["requestParameters"]["modelApprovalStatus"] == "Approved"
    assert call["detail"]["responseElements"] == {"modelPackageArn": arn}

    sagemaker.delete_model_package(ModelPackageName=arn)
    sagemaker.delete_model_package_group(ModelPackageGroupName=group_name)
    # Where the deletions' CloudTrail records go is the bootstrap's choice (registry-events-ingest or
    # decommission-ingest); they must reach one of govsync's queues.
    after_delete = registry_events.wait_for(about_group(group_name), count=3, timeout=2)
    after_delete += drain_queue("decommission-ingest").wait_for(about_group(group_name), count=2, timeout=2)
    deleting = [e for e in after_delete if e["detail-type"] == "SageMaker Model Package State Change"]
    assert len(deleting) == 1
    assert deleting[0]["detail"]["ModelPackageStatus"] == "Deleting"
    assert deleting[0]["resources"] == [arn]
    records = [e for e in after_delete if e["detail-type"] == "AWS API Call via CloudTrail"]
    assert sorted(record["detail"]["eventName"] for record in records) == ["DeleteModelPackage", "DeleteModelPackageGroup"]
    assert all(record["detail"]["responseElements"] is None for record in records)


def test_cloudtrail_names_govsync_own_identity(stack, make_sagemaker, group_name, registry_events):
    access_key, role_arn = os.environ.get("GOVSYNC_ACCESS_KEY_ID"), os.environ.get("GOVSYNC_ROLE_ARN")
    if not (access_key and role_arn):
        pytest.fail("GOVSYNC_ACCESS_KEY_ID and GOVSYNC_ROLE_ARN (written by local/stack.sh) are not set", pytrace=False)
    govsync = make_sagemaker(access_key_id=access_key)
    create_group(govsync, group_name)
    events = registry_events.wait_for(about_group(group_name), count=1)
    identity = events[0]["detail"]["userIdentity"]
    assert identity["arn"] == role_arn
    assert identity["accountId"] == role_arn.split(":")[4]
    assert identity["type"] == "AssumedRole"
    assert govsync.describe_model_package_group(ModelPackageGroupName=group_name)["CreatedBy"]["IamIdentity"][
        "Arn"
    ] == role_arn
