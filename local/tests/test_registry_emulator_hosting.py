"""boto3 against the registry emulator's SageMaker hosting (issue #21: what is really serving) and a model
package container's artifact fields (ImageDigest, ModelDataUrl, ModelDataSource, ModelDataETag).

Sources (local/registry-emulator/README.md, "Hosting"): the API reference pages of CreateModel,
CreateEndpointConfig, CreateEndpoint, DescribeEndpoint, ListEndpoints, ContainerDefinition, ProductionVariant,
ModelPackageContainerDefinition and S3ModelDataSource, with botocore's service model for lengths, patterns and
defaults; the duplicate and not-found messages are SageMaker's ("Cannot create already existing endpoint
"<arn>".", "Could not find model "<arn>".").

This file starts its own emulator (the built binary, `cargo build -p govsync-registry-emulator`, found under
CARGO_TARGET_DIR), so it needs no local stack. It fails, never skips, when the binary is missing.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import tempfile
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from conftest import _client

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "111111111111"
REGION = "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/SageMakerExecution"
DIGEST = "sha256:4dc8a7e4a010a19bb9e0a6b063f355393f6e623603361bd8b105f554d4f0c004"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/credit-risk:1.0"
REPOSITORY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/credit-risk"
BINARY = Path(os.environ.get("CARGO_TARGET_DIR", "/var/tmp/govsync-target")) / "debug" / "govsync-registry-emulator"


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    """A fresh emulator with a caller of another account (access key AKIDOTHER); stopped afterwards."""
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
                f"AKIDOTHER=arn:aws:iam::{OTHER_ACCOUNT}:user/other",
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


@pytest.fixture(scope="module")
def sagemaker(emulator_url: str) -> Any:
    return _client("sagemaker", emulator_url, REGION, aws_access_key_id="AKIDHOSTING", aws_secret_access_key="testing")


@pytest.fixture
def name() -> str:
    """A prefix no other test uses."""
    return f"h{uuid.uuid4().hex[:12]}"


def error_of(raised: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = raised.value.response["Error"]
    return error["Code"], error.get("Message", "")


def refused(call: Any, **members: Any) -> str:
    """The message of the ValidationException a call must answer with."""
    with pytest.raises(ClientError) as raised:
        call(**members)
    code, message = error_of(raised)
    assert code == "ValidationException", (code, message)
    return message


def package(sagemaker: Any, group: str, container: dict[str, Any] | None = None) -> str:
    """A version of `group` (created when missing) with one container (by default: image by tag, its
    recorded digest, model data by URL and its ETag)."""
    try:
        sagemaker.create_model_package_group(ModelPackageGroupName=group)
    except ClientError as error:
        assert "already exists" in error.response["Error"]["Message"]
    container = container or {
        "Image": IMAGE,
        "ImageDigest": DIGEST,
        "ModelDataUrl": "s3://models-123456789012/credit-risk/run-1/model.tar.gz",
        "ModelDataETag": '"9b2cf535f27731c974343645a3985328"',
    }
    return sagemaker.create_model_package(
        ModelPackageGroupName=group,
        InferenceSpecification={
            "Containers": [container],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
            "SupportedRealtimeInferenceInstanceTypes": ["ml.m5.xlarge"],
        },
    )["ModelPackageArn"]


def deploy(sagemaker: Any, name: str, package_arn: str, stage: str = "PreProduction") -> str:
    """Model, endpoint configuration and endpoint `name` (tagged with the stage) for a version."""
    sagemaker.create_model(ModelName=name, PrimaryContainer={"ModelPackageName": package_arn}, ExecutionRoleArn=ROLE)
    sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": name, "InstanceType": "ml.m5.xlarge", "InitialInstanceCount": 1}
        ],
    )
    return sagemaker.create_endpoint(
        EndpointName=name, EndpointConfigName=name, Tags=[{"Key": "govsync:stage", "Value": stage}]
    )["EndpointArn"]


def emulator_events(emulator_url: str) -> list[dict[str, Any]]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{emulator_url}/_emulator/events", timeout=10) as response:
        return [entry["event"] for entry in json.loads(response.read())["events"]]


# --- a package version deployed, read back as the serving report reads it --------------------------------


def test_a_package_version_is_deployed_and_described_as_sagemaker_describes_it(sagemaker, name):
    arn = package(sagemaker, name)
    container = sagemaker.describe_model_package(ModelPackageName=arn)["InferenceSpecification"]["Containers"][0]
    assert container["ImageDigest"] == DIGEST
    assert container["ModelDataETag"] == '"9b2cf535f27731c974343645a3985328"'

    model_arn = sagemaker.create_model(
        ModelName=name.upper(), PrimaryContainer={"ModelPackageName": arn}, ExecutionRoleArn=ROLE
    )["ModelArn"]
    assert model_arn == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/{name}"
    model = sagemaker.describe_model(ModelName=name)
    assert model["ModelName"] == name.upper()
    assert model["PrimaryContainer"] == {"ModelPackageName": arn}
    assert model["ExecutionRoleArn"] == ROLE
    assert model["ModelArn"] == model_arn

    config_arn = sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": name, "InstanceType": "ml.m5.xlarge", "InitialInstanceCount": 2}
        ],
    )["EndpointConfigArn"]
    assert config_arn == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint-config/{name}"
    config = sagemaker.describe_endpoint_config(EndpointConfigName=name)
    assert config["ProductionVariants"] == [
        {
            "VariantName": "AllTraffic",
            "ModelName": name,
            "InstanceType": "ml.m5.xlarge",
            "InitialInstanceCount": 2,
            "InitialVariantWeight": 1.0,
        }
    ]

    endpoint_arn = sagemaker.create_endpoint(
        EndpointName=name, EndpointConfigName=name, Tags=[{"Key": "govsync:stage", "Value": "Production"}]
    )["EndpointArn"]
    assert endpoint_arn == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{name}"
    endpoint = sagemaker.describe_endpoint(EndpointName=name)
    # No real hosting: InService at once, so boto3's waiter returns on its first poll.
    sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 2})
    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["EndpointConfigName"] == name
    assert endpoint["CreationTime"] == endpoint["LastModifiedTime"]
    [variant] = endpoint["ProductionVariants"]
    assert variant["VariantName"] == "AllTraffic"
    assert (variant["CurrentWeight"], variant["DesiredWeight"]) == (1.0, 1.0)
    assert (variant["CurrentInstanceCount"], variant["DesiredInstanceCount"]) == (2, 2)
    [image] = variant["DeployedImages"]
    assert image["SpecifiedImage"] == IMAGE
    # The tag resolves to the digest the package recorded.
    assert image["ResolvedImage"] == f"{REPOSITORY}@{DIGEST}"
    assert image["ResolutionTime"] == endpoint["CreationTime"]

    assert sagemaker.list_tags(ResourceArn=endpoint_arn)["Tags"] == [{"Key": "govsync:stage", "Value": "Production"}]
    sagemaker.add_tags(ResourceArn=endpoint_arn, Tags=[{"Key": "govsync:stage", "Value": "PreProduction"}])
    assert sagemaker.list_tags(ResourceArn=endpoint_arn)["Tags"] == [{"Key": "govsync:stage", "Value": "PreProduction"}]
    sagemaker.delete_tags(ResourceArn=endpoint_arn, TagKeys=["govsync:stage"])
    assert sagemaker.list_tags(ResourceArn=endpoint_arn)["Tags"] == []


def test_an_endpoint_keeps_describing_what_it_serves_after_its_configuration_and_model_go(sagemaker, name):
    deploy(sagemaker, name, package(sagemaker, name))
    before = sagemaker.describe_endpoint(EndpointName=name)
    sagemaker.delete_endpoint_config(EndpointConfigName=name)
    sagemaker.delete_model(ModelName=name)
    after = sagemaker.describe_endpoint(EndpointName=name)
    assert after["ProductionVariants"] == before["ProductionVariants"]
    assert after["EndpointConfigName"] == name

    sagemaker.delete_endpoint(EndpointName=name)
    message = refused(sagemaker.describe_endpoint, EndpointName=name)
    assert message == f'Could not find endpoint "arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{name}".'


def test_a_tag_only_image_is_not_resolved_and_a_pinned_one_resolves_to_itself(sagemaker, name):
    tagged = package(sagemaker, name, {"Image": IMAGE, "ModelDataUrl": "s3://models/m.tar.gz"})
    deploy(sagemaker, f"{name}-tag", tagged)
    [image] = sagemaker.describe_endpoint(EndpointName=f"{name}-tag")["ProductionVariants"][0]["DeployedImages"]
    assert image["SpecifiedImage"] == IMAGE
    assert "ResolvedImage" not in image, "the emulator has no registry to ask for a tag's digest"

    sagemaker.create_model(ModelName=f"{name}-pin", PrimaryContainer={"Image": f"{REPOSITORY}@{DIGEST}"})
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{name}-pin",
        ProductionVariants=[
            {"VariantName": "Serverless", "ModelName": f"{name}-pin", "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}}
        ],
    )
    sagemaker.create_endpoint(EndpointName=f"{name}-pin", EndpointConfigName=f"{name}-pin")
    [variant] = sagemaker.describe_endpoint(EndpointName=f"{name}-pin")["ProductionVariants"]
    assert variant["DeployedImages"][0]["ResolvedImage"] == f"{REPOSITORY}@{DIGEST}"
    assert variant["CurrentServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
    assert "CurrentInstanceCount" not in variant


# --- ListEndpoints --------------------------------------------------------------------------------------------


def test_list_endpoints_pages_sorts_and_filters(sagemaker, name):
    arn = package(sagemaker, name)
    sagemaker.create_model(ModelName=name, PrimaryContainer={"ModelPackageName": arn})
    sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[{"VariantName": "v", "ModelName": name, "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}],
    )
    names = [f"{name}-{suffix}" for suffix in ("d", "a", "e", "c", "b")]
    for endpoint in names:
        sagemaker.create_endpoint(EndpointName=endpoint, EndpointConfigName=name)

    # Default: newest first (SortBy CreationTime, SortOrder Descending).
    listed = sagemaker.list_endpoints(NameContains=name)["Endpoints"]
    assert [e["EndpointName"] for e in listed] == list(reversed(names))
    assert set(listed[0]) == {"EndpointName", "EndpointArn", "CreationTime", "LastModifiedTime", "EndpointStatus"}

    # Pages of two by hand, then with boto3's paginator: every endpoint once, in name order.
    seen: list[str] = []
    token = None
    while True:
        members: dict[str, Any] = {"NameContains": name, "MaxResults": 2, "SortBy": "Name", "SortOrder": "Ascending"}
        if token:
            members["NextToken"] = token
        page = sagemaker.list_endpoints(**members)
        assert len(page["Endpoints"]) <= 2
        seen += [e["EndpointName"] for e in page["Endpoints"]]
        token = page.get("NextToken")
        if not token:
            break
    assert seen == sorted(names)
    paged = [
        e["EndpointName"]
        for page in sagemaker.get_paginator("list_endpoints").paginate(
            NameContains=name, SortBy="Name", PaginationConfig={"PageSize": 2}
        )
        for e in page["Endpoints"]
    ]
    assert paged == sorted(names, reverse=True)

    assert len(sagemaker.list_endpoints(NameContains=name, StatusEquals="InService")["Endpoints"]) == 5
    assert sagemaker.list_endpoints(NameContains=name, StatusEquals="Creating")["Endpoints"] == []
    third = sagemaker.describe_endpoint(EndpointName=names[2])["CreationTime"]
    after = sagemaker.list_endpoints(NameContains=name, CreationTimeAfter=third, SortOrder="Ascending")["Endpoints"]
    assert [e["EndpointName"] for e in after] == names[2:], "CreationTimeAfter is inclusive"
    before = sagemaker.list_endpoints(NameContains=name, CreationTimeBefore=third, SortOrder="Ascending")["Endpoints"]
    assert [e["EndpointName"] for e in before] == names[:2]

    assert "maxResults" in refused(sagemaker.list_endpoints, MaxResults=101)
    assert "pagination token" in refused(sagemaker.list_endpoints, NextToken="not-a-token")
    assert "sortBy" in refused(sagemaker.list_endpoints, SortBy="Size")
    assert "nameContains" in refused(sagemaker.list_endpoints, NameContains="a_b")


# --- refusals -------------------------------------------------------------------------------------------------


def test_duplicates_and_missing_resources_are_refused_as_sagemaker_refuses_them(sagemaker, name):
    arn = package(sagemaker, name)
    deploy(sagemaker, name, arn)
    base = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
    assert refused(
        sagemaker.create_model, ModelName=name.upper(), PrimaryContainer={"ModelPackageName": arn}
    ) == f'Cannot create already existing model "{base}:model/{name}".'
    assert refused(
        sagemaker.create_endpoint_config,
        EndpointConfigName=name,
        ProductionVariants=[{"VariantName": "v", "ModelName": name, "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}],
    ) == f'Cannot create already existing endpoint configuration "{base}:endpoint-config/{name}".'
    assert refused(
        sagemaker.create_endpoint, EndpointName=name, EndpointConfigName=name
    ) == f'Cannot create already existing endpoint "{base}:endpoint/{name}".'

    missing = f"{name}-missing"
    assert refused(sagemaker.describe_model, ModelName=missing) == f'Could not find model "{base}:model/{missing}".'
    assert refused(
        sagemaker.describe_endpoint_config, EndpointConfigName=missing
    ) == f'Could not find endpoint configuration "{base}:endpoint-config/{missing}".'
    assert refused(sagemaker.delete_endpoint, EndpointName=missing) == f'Could not find endpoint "{base}:endpoint/{missing}".'
    assert refused(
        sagemaker.create_endpoint, EndpointName=missing, EndpointConfigName=missing
    ) == f'Could not find endpoint configuration "{base}:endpoint-config/{missing}".'
    assert refused(
        sagemaker.create_endpoint_config,
        EndpointConfigName=missing,
        ProductionVariants=[{"VariantName": "v", "ModelName": missing, "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}],
    ) == f'Could not find model "{base}:model/{missing}".'


@pytest.mark.parametrize(
    ("members", "needle"),
    [
        ({"PrimaryContainer": {"ModelPackageName": "PACKAGE"}, "Containers": [{"Image": IMAGE}]}, "cannot both be specified"),
        ({}, "Either PrimaryContainer or Containers"),
        ({"PrimaryContainer": {"ModelPackageName": "PACKAGE", "Image": IMAGE}}, "cannot be combined"),
        ({"PrimaryContainer": {"ModelPackageName": "PACKAGE/7"}}, "does not exist"),
        ({"PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": "gs://models/m.tar.gz"}}, "primaryContainer.modelDataUrl"),
        ({"PrimaryContainer": {"Image": IMAGE}, "ExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:user/alice"}, "executionRoleArn"),
    ],
    ids=["primary-and-pipeline", "no-container", "package-and-image", "unknown-version", "not-s3", "not-a-role"],
)
def test_create_model_refusals(sagemaker, name, members, needle):
    arn = package(sagemaker, name)
    members = json.loads(json.dumps(members).replace("PACKAGE/7", arn.rsplit("/", 1)[0] + "/7").replace("PACKAGE", arn))
    assert needle in refused(sagemaker.create_model, ModelName=name, **members)
    assert "Could not find model" in refused(sagemaker.describe_model, ModelName=name)


@pytest.mark.parametrize(
    ("variant", "needle"),
    [
        ({"InstanceType": "ml.m5.large"}, "initialInstanceCount"),
        ({"InstanceType": "ml.m5.large", "InitialInstanceCount": 1, "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 1}}, "both"),
        ({}, "either InstanceType"),
        ({"ServerlessConfig": {"MemorySizeInMB": 1500, "MaxConcurrency": 1}}, "memorySizeInMB"),
        ({"InstanceType": "m5.large", "InitialInstanceCount": 1}, "instanceType"),
    ],
    ids=["no-count", "instance-and-serverless", "neither", "memory-not-whole-gb", "not-an-ml-type"],
)
def test_create_endpoint_config_refusals(sagemaker, name, variant, needle):
    sagemaker.create_model(ModelName=name, PrimaryContainer={"Image": IMAGE})
    production = {"VariantName": "v", "ModelName": name, **variant}
    assert needle in refused(sagemaker.create_endpoint_config, EndpointConfigName=name, ProductionVariants=[production])
    eleven = [{"VariantName": f"v{i}", "ModelName": name, "InstanceType": "ml.m5.large", "InitialInstanceCount": 1} for i in range(11)]
    assert "between 1 and 10" in refused(sagemaker.create_endpoint_config, EndpointConfigName=name, ProductionVariants=eleven)


@pytest.mark.parametrize(
    ("container", "needle"),
    [
        ({"Image": IMAGE, "ImageDigest": "sha256:1234"}, "inferenceSpecification.containers.1.member.imageDigest"),
        ({"Image": IMAGE, "ImageDigest": DIGEST.replace("sha256", "md5")}, "imageDigest"),
        ({"Image": IMAGE, "ModelDataUrl": "models/credit-risk/model.tar.gz"}, "inferenceSpecification.containers.1.member.modelDataUrl"),
        (
            {
                "Image": IMAGE,
                "ModelDataUrl": "s3://models/m.tar.gz",
                "ModelDataSource": {"S3DataSource": {"S3Uri": "s3://models/m.tar.gz", "S3DataType": "S3Object", "CompressionType": "Gzip"}},
            },
            "cannot both be specified",
        ),
        (
            {"Image": IMAGE, "ModelDataSource": {"S3DataSource": {"S3Uri": "s3://models/run-1", "S3DataType": "S3Prefix", "CompressionType": "None"}}},
            "forward slash",
        ),
        (
            {"Image": IMAGE, "ModelDataSource": {"S3DataSource": {"S3Uri": "s3://models/run-1/", "S3DataType": "S3Prefix", "CompressionType": "Gzip"}}},
            "compressionType",
        ),
        (
            {"Image": IMAGE, "ModelDataSource": {"S3DataSource": {"S3Uri": "file:///models/m.tar.gz", "S3DataType": "S3Object", "CompressionType": "Gzip"}}},
            "s3DataSource.s3Uri",
        ),
    ],
    ids=["short-digest", "not-sha256", "not-a-url", "url-and-source", "prefix-without-slash", "gzip-prefix", "source-not-s3"],
)
def test_a_package_container_with_malformed_artifact_fields_is_refused(sagemaker, name, container, needle):
    sagemaker.create_model_package_group(ModelPackageGroupName=name)
    message = refused(
        sagemaker.create_model_package, ModelPackageGroupName=name, InferenceSpecification={"Containers": [container]}
    )
    assert needle in message, message
    assert sagemaker.list_model_packages(ModelPackageGroupName=name)["ModelPackageSummaryList"] == []


def test_model_data_source_comes_back_in_describe_and_in_the_state_change(emulator_url, sagemaker, name):
    container = {
        "Image": f"{REPOSITORY}@{DIGEST}",
        "ModelDataSource": {
            "S3DataSource": {
                "S3Uri": "s3://models-123456789012/credit-risk/run-2/",
                "S3DataType": "S3Prefix",
                "CompressionType": "None",
                "ETag": "e-prefix",
            }
        },
        "ModelDataETag": "e-prefix",
    }
    arn = package(sagemaker, name, container)
    assert sagemaker.describe_model_package(ModelPackageName=arn)["InferenceSpecification"]["Containers"] == [container]
    [event] = [
        e
        for e in emulator_events(emulator_url)
        if e["detail-type"] == "SageMaker Model Package State Change" and e["resources"] == [arn]
    ]
    assert event["detail"]["InferenceSpecification"]["Containers"] == [container]

    # The hosting calls leave CloudTrail records, as every management write does.
    deploy(sagemaker, name, arn)
    trail = [
        e["detail"]["eventName"]
        for e in emulator_events(emulator_url)
        if e["detail-type"] == "AWS API Call via CloudTrail" and name in json.dumps(e["detail"]["requestParameters"])
    ]
    assert trail[-3:] == ["CreateModel", "CreateEndpointConfig", "CreateEndpoint"]


def test_another_accounts_endpoint_is_not_reachable(emulator_url, sagemaker, name):
    arn = deploy(sagemaker, name, package(sagemaker, name))
    other = _client("sagemaker", emulator_url, REGION, aws_access_key_id="AKIDOTHER", aws_secret_access_key="testing")
    with pytest.raises(ClientError) as raised:
        other.list_tags(ResourceArn=arn)
    assert error_of(raised)[0] == "AccessDeniedException"
    assert "Could not find endpoint" in refused(other.describe_endpoint, EndpointName=name)
    assert name not in [e["EndpointName"] for e in other.list_endpoints(MaxResults=100)["Endpoints"]]
