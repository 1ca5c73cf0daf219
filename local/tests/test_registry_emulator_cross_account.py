"""boto3 against the registry emulator: a central registry shared across accounts, as SageMaker enforces it.

Callers in other accounts are roles assumed through the local STS (moto), as a development account's data
scientist would be; the emulator asks STS who is behind each temporary key (local/registry-emulator/README.md).

Sources: SageMaker Developer Guide, "Register a Model Version from a Different Account" (CreateModelPackage with
the group's ARN; the version belongs to the group's owner) and "Set up discoverability" (a group is shared by
PutModelPackageGroupPolicy or an AWS RAM share); IAM User Guide, "Cross-account policy evaluation logic"
(without a resource policy allowing the principal and action, another account gets AccessDeniedException).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from conftest import _client

DEV_ACCOUNT = "111111111111"
THIRD_ACCOUNT = "333333333333"


def error_code(error: ClientError) -> str:
    return error.response["Error"]["Code"]


def sagemaker_as(stack: Any, account: str, session: str) -> Any:
    """A SageMaker client for a data scientist's role in `account`, through STS as in AWS."""
    sts = _client("sts", stack.moto_url, stack.region, aws_access_key_id="testing", aws_secret_access_key="testing")
    credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/data-science", RoleSessionName=session)[
        "Credentials"
    ]
    assert credentials["AccessKeyId"].startswith("ASIA")
    return _client(
        "sagemaker",
        stack.registry_url,
        stack.region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def sharing_policy(stack: Any, group_name: str, account: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DevelopmentAccountRegisters",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                    "Action": [
                        "sagemaker:CreateModelPackage",
                        "sagemaker:DescribeModelPackage",
                        "sagemaker:ListModelPackages",
                        "sagemaker:UpdateModelPackage",
                        "sagemaker:DescribeModelPackageGroup",
                    ],
                    "Resource": [
                        f"arn:aws:sagemaker:{stack.region}:{stack.account_id}:model-package-group/{group_name}",
                        f"arn:aws:sagemaker:{stack.region}:{stack.account_id}:model-package/{group_name}/*",
                    ],
                }
            ],
        }
    )


@pytest.fixture
def shared_group(stack, sagemaker, group_name) -> str:
    arn = sagemaker.create_model_package_group(ModelPackageGroupName=group_name)["ModelPackageGroupArn"]
    sagemaker.put_model_package_group_policy(
        ModelPackageGroupName=group_name, ResourcePolicy=sharing_policy(stack, group_name, DEV_ACCOUNT)
    )
    return arn


def test_the_named_development_account_registers_a_version_the_owner_holds(stack, sagemaker, shared_group):
    dev = sagemaker_as(stack, DEV_ACCOUNT, "dana")
    arn = dev.create_model_package(ModelPackageGroupName=shared_group, ModelPackageDescription="from dev")[
        "ModelPackageArn"
    ]
    assert arn.startswith(f"arn:aws:sagemaker:{stack.region}:{stack.account_id}:model-package/")
    described = dev.describe_model_package(ModelPackageName=arn)
    assert described["CreatedBy"]["IamIdentity"]["Arn"] == (
        f"arn:aws:sts::{DEV_ACCOUNT}:assumed-role/data-science/dana"
    )
    listed = dev.list_model_packages(ModelPackageGroupName=shared_group)["ModelPackageSummaryList"]
    assert [summary["ModelPackageArn"] for summary in listed] == [arn]
    dev.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties={"team": "risk"})
    # The owner sees the development account's version in its own registry.
    assert sagemaker.describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"] == {"team": "risk"}
    with pytest.raises(ClientError) as raised:
        dev.delete_model_package(ModelPackageName=arn)
    assert error_code(raised.value) == "AccessDeniedException"


def test_a_third_account_is_refused(stack, sagemaker, shared_group, group_name):
    arn = sagemaker.create_model_package(ModelPackageGroupName=group_name)["ModelPackageArn"]
    third = sagemaker_as(stack, THIRD_ACCOUNT, "mallory")
    for call in (
        lambda: third.create_model_package(ModelPackageGroupName=shared_group),
        lambda: third.describe_model_package(ModelPackageName=arn),
        lambda: third.list_model_packages(ModelPackageGroupName=shared_group),
        lambda: third.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved"),
    ):
        with pytest.raises(ClientError) as raised:
            call()
        assert error_code(raised.value) == "AccessDeniedException"
    assert sagemaker.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == "PendingManualApproval"


def test_a_group_without_a_policy_refuses_other_accounts(stack, sagemaker, group_name):
    arn = sagemaker.create_model_package_group(ModelPackageGroupName=group_name)["ModelPackageGroupArn"]
    dev = sagemaker_as(stack, DEV_ACCOUNT, "dana")
    with pytest.raises(ClientError) as raised:
        dev.create_model_package(ModelPackageGroupName=arn)
    assert error_code(raised.value) == "AccessDeniedException"


def test_a_deleted_policy_refuses_the_account_it_used_to_allow(stack, sagemaker, shared_group, group_name):
    dev = sagemaker_as(stack, DEV_ACCOUNT, "dana")
    dev.create_model_package(ModelPackageGroupName=shared_group)
    sagemaker.delete_model_package_group_policy(ModelPackageGroupName=group_name)
    with pytest.raises(ClientError) as raised:
        dev.create_model_package(ModelPackageGroupName=shared_group)
    assert error_code(raised.value) == "AccessDeniedException"


def test_a_ram_share_behaves_as_the_policy(stack, sagemaker, group_name):
    arn = sagemaker.create_model_package_group(ModelPackageGroupName=group_name)["ModelPackageGroupArn"]
    ram = _client("ram", stack.registry_url, stack.region)
    share = ram.create_resource_share(name=f"{group_name}-share", resourceArns=[arn], principals=[DEV_ACCOUNT])[
        "resourceShare"
    ]["resourceShareArn"]
    dev = sagemaker_as(stack, DEV_ACCOUNT, "dana")
    version = dev.create_model_package(ModelPackageGroupName=arn)["ModelPackageArn"]
    assert f":{stack.account_id}:model-package/" in version
    with pytest.raises(ClientError) as raised:
        sagemaker_as(stack, THIRD_ACCOUNT, "mallory").create_model_package(ModelPackageGroupName=arn)
    assert error_code(raised.value) == "AccessDeniedException"
    ram.delete_resource_share(resourceShareArn=share)
    with pytest.raises(ClientError) as raised:
        dev.create_model_package(ModelPackageGroupName=arn)
    assert error_code(raised.value) == "AccessDeniedException"


def test_the_state_change_goes_to_the_owner_and_the_call_record_to_the_caller(
    stack, sagemaker, shared_group, group_name
):
    dev = sagemaker_as(stack, DEV_ACCOUNT, "dana")
    arn = dev.create_model_package(ModelPackageGroupName=shared_group)["ModelPackageArn"]
    import urllib.request

    with urllib.request.urlopen(f"{stack.registry_url}/_emulator/events", timeout=10) as answer:
        logged = [entry["event"] for entry in json.load(answer)["events"]]
    state = [e for e in logged if e["detail-type"] == "SageMaker Model Package State Change" and e["resources"] == [arn]]
    trail = [
        e
        for e in logged
        if e["detail-type"] == "AWS API Call via CloudTrail"
        and (e["detail"].get("responseElements") or {}).get("modelPackageArn") == arn
    ]
    assert [e["account"] for e in state] == [stack.account_id]
    assert [e["account"] for e in trail] == [DEV_ACCOUNT]
    assert trail[0]["detail"]["recipientAccountId"] == DEV_ACCOUNT
    assert trail[0]["detail"]["userIdentity"]["accountId"] == DEV_ACCOUNT
