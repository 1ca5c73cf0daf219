"""boto3 against the registry emulator's BatchDescribeModelPackage (issue #17: the reconciler's fast pass).

Sources (local/registry-emulator/README.md, src/registry/batch.rs): the API reference pages of
BatchDescribeModelPackage, BatchDescribeModelPackageSummary and BatchDescribeModelPackageError, and botocore's
service model (ModelPackageArnList 1-100 ARNs, each 1-2048 characters matching the model package ARN pattern).
Which ErrorCode a missing or refused ARN gets is not documented: the emulator answers what DescribeModelPackage
would (ValidationException "... does not exist." / AccessDeniedException).

This file starts its own emulator (the built binary, `cargo build -p govsync-registry-emulator`, found under
CARGO_TARGET_DIR), so it needs no local stack. It fails, never skips, when the binary is missing.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import _client

ACCOUNT = "123456789012"
DEV_ACCOUNT = "111111111111"
THIRD_ACCOUNT = "333333333333"
REGION = "us-east-1"
BINARY = Path(os.environ.get("CARGO_TARGET_DIR", "/var/tmp/govsync-target")) / "debug" / "govsync-registry-emulator"
SUMMARY_MEMBERS = {
    "ModelPackageGroupName",
    "ModelPackageVersion",
    "ModelPackageArn",
    "ModelPackageDescription",
    "CreationTime",
    "InferenceSpecification",
    "ModelPackageStatus",
    "ModelApprovalStatus",
    "ModelPackageRegistrationType",
}


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    """A fresh emulator with callers of two other accounts (AKIDDEV, AKIDTHIRD); stopped afterwards."""
    if not BINARY.is_file():
        pytest.fail(
            f"{BINARY} is missing: build it with `cargo build -p govsync-registry-emulator` "
            "(with the CARGO_TARGET_DIR this test is run with).",
            pytrace=False,
        )
    env = {key: value for key, value in os.environ.items() if not key.startswith("REGISTRY_EMULATOR_")}
    env["RUST_LOG"] = "warn"
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [
                str(BINARY),
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--account-id",
                ACCOUNT,
                "--default-region",
                REGION,
                "--identity",
                f"AKIDDEV=arn:aws:iam::{DEV_ACCOUNT}:user/dev",
                "--identity",
                f"AKIDTHIRD=arn:aws:iam::{THIRD_ACCOUNT}:user/third",
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            env=env,
            text=True,
        )
        try:
            ready, _, _ = select.select([process.stdout], [], [], 30)
            line = process.stdout.readline() if ready and process.stdout else ""
            prefix = "registry-emulator listening on "
            if not line.startswith(prefix):
                log.seek(0)
                pytest.fail(f"the emulator did not start: {line!r} {log.read().decode(errors='replace')}", pytrace=False)
            yield line[len(prefix) :].strip()
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def client_as(url: str, access_key_id: str, service: str = "sagemaker") -> Any:
    return _client(service, url, REGION, aws_access_key_id=access_key_id, aws_secret_access_key="testing")


@pytest.fixture(scope="module")
def sagemaker(emulator_url: str) -> Any:
    return client_as(emulator_url, "AKIDOWNER")


@pytest.fixture(scope="module")
def unchecked(emulator_url: str) -> Any:
    """A client that sends what botocore itself would refuse (an empty list), so the emulator answers it."""
    return boto3.client(
        "sagemaker",
        endpoint_url=emulator_url,
        region_name=REGION,
        aws_access_key_id="AKIDOWNER",
        aws_secret_access_key="testing",
        config=Config(parameter_validation=False, retries={"max_attempts": 1, "mode": "standard"}),
    )


@pytest.fixture
def group(sagemaker: Any) -> str:
    name = f"b{uuid.uuid4().hex[:12]}"
    sagemaker.create_model_package_group(ModelPackageGroupName=name)
    return name


def package_arn(group: str, version: int, account: str = ACCOUNT, region: str = REGION) -> str:
    return f"arn:aws:sagemaker:{region}:{account}:model-package/{group}/{version}"


def refused(call: Any, **members: Any) -> str:
    """The message of the ValidationException the whole call must answer with."""
    with pytest.raises(ClientError) as raised:
        call(**members)
    error = raised.value.response["Error"]
    assert error["Code"] == "ValidationException", error
    return error.get("Message", "")


def test_summaries_hold_the_documented_members_and_missing_versions_go_to_the_error_map(sagemaker, group):
    full = sagemaker.create_model_package(
        ModelPackageGroupName=group,
        ModelPackageDescription="gradient boosting",
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [{"Image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/credit:2"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        CustomerMetadataProperties={"govsync:model-id": "42"},
        ModelLifeCycle={"Stage": "Development", "StageStatus": "InProgress"},
        ModelCard={"ModelCardStatus": "Draft", "ModelCardContent": "{}"},
    )["ModelPackageArn"]
    bare = sagemaker.create_model_package(ModelPackageGroupName=group)["ModelPackageArn"]
    missing = package_arn(group, 9)
    answer = sagemaker.batch_describe_model_package(ModelPackageArnList=[full, bare, missing])

    summaries = answer["ModelPackageSummaries"]
    assert set(summaries) == {full, bare}
    summary = summaries[full]
    assert set(summary) == SUMMARY_MEMBERS - {"ModelPackageRegistrationType"}
    assert summary["ModelPackageGroupName"] == group
    assert summary["ModelPackageVersion"] == 1
    assert summary["ModelPackageArn"] == full
    assert summary["ModelPackageDescription"] == "gradient boosting"
    assert summary["ModelPackageStatus"] == "Completed"
    assert summary["ModelApprovalStatus"] == "Approved"
    assert summary["InferenceSpecification"]["Containers"][0]["Image"].endswith("/credit:2")
    described = sagemaker.describe_model_package(ModelPackageName=full)
    assert summary["CreationTime"] == described["CreationTime"]
    # DescribeModelPackage alone carries these: the reconciler's deep pass still needs it.
    for member in ("LastModifiedTime", "ModelLifeCycle", "CustomerMetadataProperties", "ModelCard", "CreatedBy"):
        assert member in described, member
        assert member not in summary, member
    assert summaries[bare]["ModelApprovalStatus"] == "PendingManualApproval"
    assert "InferenceSpecification" not in summaries[bare]

    assert answer["BatchDescribeModelPackageErrorMap"] == {
        missing: {"ErrorCode": "ValidationException", "ErrorResponse": f"Model package {missing} does not exist."}
    }


def test_the_registration_type_and_another_region_answer_as_documented(sagemaker, group):
    logged = sagemaker.create_model_package(ModelPackageGroupName=group, ModelPackageRegistrationType="Logged")[
        "ModelPackageArn"
    ]
    elsewhere = package_arn(group, 1, region="eu-west-1")
    answer = sagemaker.batch_describe_model_package(ModelPackageArnList=[logged, elsewhere])
    assert answer["ModelPackageSummaries"][logged]["ModelPackageRegistrationType"] == "Logged"
    assert answer["BatchDescribeModelPackageErrorMap"][elsewhere]["ErrorCode"] == "ValidationException"


def test_the_list_takes_one_to_a_hundred_model_package_arns(sagemaker, unchecked, group):
    sagemaker.create_model_package(ModelPackageGroupName=group)
    hundred = [package_arn(group, version) for version in range(1, 101)]
    answer = sagemaker.batch_describe_model_package(ModelPackageArnList=hundred)
    assert list(answer["ModelPackageSummaries"]) == [hundred[0]]
    assert len(answer["BatchDescribeModelPackageErrorMap"]) == 99

    message = refused(sagemaker.batch_describe_model_package, ModelPackageArnList=[*hundred, package_arn(group, 101)])
    assert "'modelPackageArnList'" in message and "less than or equal to 100" in message
    message = refused(unchecked.batch_describe_model_package, ModelPackageArnList=[])
    assert "greater than or equal to 1" in message
    message = refused(unchecked.batch_describe_model_package)
    assert "must not be null" in message

    for bad in (
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package-group/{group}",
        f"{group}/1",
        f"arn:aws:sagemaker:{REGION}:12345:model-package/{group}/1",
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{group} 1",
        package_arn(group, 1) + "1" * 2048,
    ):
        message = refused(sagemaker.batch_describe_model_package, ModelPackageArnList=[package_arn(group, 1), bad])
        assert "'modelPackageArnList'" in message and "Member must satisfy constraint" in message, (bad, message)


def sharing_policy(group: str, principal: str, actions: list[str]) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{principal}:root"},
                    "Action": actions,
                    "Resource": [
                        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package-group/{group}",
                        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{group}/*",
                    ],
                }
            ],
        }
    )


def assert_denied(answer: dict[str, Any], arn: str, account: str) -> None:
    entry = answer["BatchDescribeModelPackageErrorMap"][arn]
    assert entry["ErrorCode"] == "AccessDeniedException", entry
    assert f"arn:aws:iam::{account}:" in entry["ErrorResponse"]
    assert "sagemaker:BatchDescribeModelPackage" in entry["ErrorResponse"]


def test_another_account_reads_what_the_group_policy_grants_the_batch_action(emulator_url, sagemaker, group):
    arn = sagemaker.create_model_package(ModelPackageGroupName=group)["ModelPackageArn"]
    dev = client_as(emulator_url, "AKIDDEV")
    third = client_as(emulator_url, "AKIDTHIRD")

    assert_denied(dev.batch_describe_model_package(ModelPackageArnList=[arn]), arn, DEV_ACCOUNT)
    # Its own IAM action: DescribeModelPackage alone does not grant the batch read.
    sagemaker.put_model_package_group_policy(
        ModelPackageGroupName=group, ResourcePolicy=sharing_policy(group, DEV_ACCOUNT, ["sagemaker:DescribeModelPackage"])
    )
    assert dev.describe_model_package(ModelPackageName=arn)["ModelPackageArn"] == arn
    assert_denied(dev.batch_describe_model_package(ModelPackageArnList=[arn]), arn, DEV_ACCOUNT)

    sagemaker.put_model_package_group_policy(
        ModelPackageGroupName=group,
        ResourcePolicy=sharing_policy(
            group, DEV_ACCOUNT, ["sagemaker:DescribeModelPackage", "sagemaker:BatchDescribeModelPackage"]
        ),
    )
    missing = package_arn(group, 5)
    answer = dev.batch_describe_model_package(ModelPackageArnList=[arn, missing])
    assert answer["ModelPackageSummaries"][arn]["ModelPackageGroupName"] == group
    assert answer["BatchDescribeModelPackageErrorMap"][missing]["ErrorCode"] == "ValidationException"

    answer = third.batch_describe_model_package(ModelPackageArnList=[arn])
    assert answer["ModelPackageSummaries"] == {}
    assert_denied(answer, arn, THIRD_ACCOUNT)


def test_a_ram_share_opens_the_batch_read(emulator_url, sagemaker, group):
    arn = sagemaker.create_model_package(ModelPackageGroupName=group)["ModelPackageArn"]
    group_arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package-group/{group}"
    ram = client_as(emulator_url, "AKIDOWNER", "ram")
    share = ram.create_resource_share(name=f"{group}-share", resourceArns=[group_arn], principals=[DEV_ACCOUNT])[
        "resourceShare"
    ]["resourceShareArn"]
    dev = client_as(emulator_url, "AKIDDEV")
    assert list(dev.batch_describe_model_package(ModelPackageArnList=[arn])["ModelPackageSummaries"]) == [arn]
    ram.delete_resource_share(resourceShareArn=share)
    assert_denied(dev.batch_describe_model_package(ModelPackageArnList=[arn]), arn, DEV_ACCOUNT)
