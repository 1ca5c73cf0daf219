"""The stand-in deployment pipeline (local/pipeline/standin.py) on moto and the registry emulator alone, no
govsync function running: decision events are put on `govsync-decisions` as approval-propagation puts them
(each checked against the public schema), and what the stand-in deploys is read back from SageMaker.

The naming and matching rules need no stack; everything else uses the `stack` fixture (conftest.py).
"""

from __future__ import annotations

import copy
import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "local" / "pipeline"))

import standin  # noqa: E402

SCHEMA = json.loads((REPO / "shared/core/schemas/governance-decision.v1.schema.json").read_text())
SAMPLE = json.loads((REPO / "events/decision-event/approved-for-production.json").read_text())
# What the emulator names an unmapped access key's caller (local/registry-emulator/README.md).
PIPELINE_CALLER = f"arn:aws:iam::123456789012:user/{standin.PIPELINE_ACCESS_KEY}"
GOVSYNC_KEY = "AKIAGOVSYNCLOCAL0001"


# ----- no stack ------------------------------------------------------------------------------------------


def test_resource_names_are_the_group_version_and_stage_within_sagemakers_rule() -> None:
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/credit-risk-1006/3"
    assert standin.resource_name(arn, "PreProduction") == "credit-risk-1006-v3-preprod"
    assert standin.resource_name(arn, "Production") == "credit-risk-1006-v3-prod"
    long_a = "arn:aws:sagemaker:us-east-1:123456789012:model-package/" + "a" * 60 + "x/12"
    long_b = "arn:aws:sagemaker:us-east-1:123456789012:model-package/" + "a" * 60 + "y/12"
    names = {standin.resource_name(long_a, "Production"), standin.resource_name(long_b, "Production")}
    assert len(names) == 2, "two long groups must not share an endpoint"
    for name in names:
        assert len(name) <= 63 and standin.NAME_PATTERN.match(name) and name.endswith("-v12-prod"), name
    with pytest.raises(ValueError):
        standin.resource_name("arn:aws:sagemaker:us-east-1:123456789012:model-package-group/g", "Production")
    with pytest.raises(ValueError):
        standin.resource_name(arn, "Staging")


def test_only_an_approval_for_a_target_stage_asks_for_a_deployment() -> None:
    assert standin.matching_stage(SAMPLE) == ("Production", None)
    preprod = copy.deepcopy(SAMPLE)
    preprod["detail"]["lifecycle"] = {"stage": "PreProduction", "stage_status": "Approved"}
    assert standin.matching_stage(preprod) == ("PreProduction", None)
    refused = {
        "deployed, not approved": lambda d: d["detail"].update(lifecycle={"stage": "Production", "stage_status": "Deployed"}),
        "rejected": lambda d: d["detail"].update(approval_status="Rejected"),
        "no lifecycle": lambda d: d["detail"].update(lifecycle=None),
        "another stage": lambda d: d["detail"].update(lifecycle={"stage": "Validation", "stage_status": "Approved"}),
        "another source": lambda d: d.update(source="aws.sagemaker"),
        "no decision id": lambda d: d["detail"].pop("decision_id"),
        "a group ARN": lambda d: d["detail"].update(package_arn="arn:aws:sagemaker:us-east-1:123456789012:model-package-group/g"),
        "detail not an object": lambda d: d.update(detail="Approved"),
    }
    for name, change in refused.items():
        event = copy.deepcopy(SAMPLE)
        change(event)
        stage, reason = standin.matching_stage(event)
        assert stage is None and reason, name
    assert standin.matching_stage("not an event")[0] is None  # type: ignore[arg-type]


def test_each_stage_rule_matches_approved_decisions_for_that_stage_only() -> None:
    pattern = standin.rule_pattern("PreProduction", "Credit-Risk-1006")
    assert pattern["source"] == ["govsync"] and pattern["detail-type"] == ["govsync Governance Decision Applied"]
    assert pattern["detail"]["approval_status"] == ["Approved"]
    assert pattern["detail"]["lifecycle"] == {"stage": ["PreProduction"], "stage_status": ["Approved"]}
    # Package ARNs carry the group lowercased.
    assert pattern["detail"]["package_arn"] == [{"wildcard": "arn:*:sagemaker:*:*:model-package/credit-risk-1006/*"}]
    assert "package_arn" not in standin.rule_pattern("Production")["detail"]


# ----- on the stack --------------------------------------------------------------------------------------


def clients(stack: Any) -> tuple[Any, Any]:
    import boto3

    events = boto3.client(
        "events", endpoint_url=stack.moto_url, region_name=stack.region, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    # As govsync: the approval the event reports is govsync's write.
    sagemaker = boto3.client(
        "sagemaker", endpoint_url=stack.registry_url, region_name=stack.region, aws_access_key_id=GOVSYNC_KEY, aws_secret_access_key="testing"
    )
    return events, sagemaker


@pytest.fixture
def endpoints_removed(stack: Any, group_name: str) -> Iterator[None]:
    """The test's endpoints (named after its group) are deleted afterwards, so no later reconciler run on
    the shared stack finds them serving."""
    yield
    _, sagemaker = clients(stack)
    for endpoint in sagemaker.list_endpoints(NameContains=group_name.lower(), MaxResults=100)["Endpoints"]:
        sagemaker.delete_endpoint(EndpointName=endpoint["EndpointName"])


@pytest.fixture
def pipeline(stack: Any, endpoints_removed: None) -> Iterator[standin.StandinPipeline]:
    """A stand-in of the test's own (its own queue and rules), removed afterwards."""
    assert stack is not None
    created = standin.StandinPipeline(stack.moto_url, stack.registry_url, stack.region, name=f"t-standin-{uuid.uuid4().hex[:10]}")
    created.ensure_wiring()
    yield created
    created.remove_wiring()


def approved_package(sagemaker: Any, group: str, stage: str) -> str:
    """A version approved and staged as govsync applies "Approved for Deployment" / "Approved for Production"."""
    sagemaker.create_model_package_group(ModelPackageGroupName=group)
    arn = sagemaker.create_model_package(
        ModelPackageGroupName=group,
        InferenceSpecification={
            "Containers": [
                {
                    "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/credit-risk:1.0",
                    "ModelDataUrl": "s3://models-123456789012/credit-risk/run-1/model.tar.gz",
                }
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
            "SupportedRealtimeInferenceInstanceTypes": ["ml.m5.xlarge"],
        },
    )["ModelPackageArn"]
    sagemaker.update_model_package(
        ModelPackageArn=arn,
        ModelApprovalStatus="Approved",
        ModelLifeCycle={"Stage": stage, "StageStatus": "Approved", "StageDescription": "govsync: approved in governance"},
    )
    return arn


def decision(arn: str, stage: str, stage_status: str = "Approved", approval: str = "Approved") -> dict[str, Any]:
    """A schema-valid decision detail for the package."""
    detail = copy.deepcopy(SAMPLE["detail"])
    detail.update(
        decision_id=f"gd-{uuid.uuid4().hex}",
        package_arn=arn,
        approval_status=approval,
        lifecycle={"stage": stage, "stage_status": stage_status},
    )
    detail["governance"]["status"] = {"PreProduction": "Approved for Deployment", "Production": "Approved for Production"}[stage]
    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER).validate(detail)
    return detail


def put(events: Any, detail: dict[str, Any]) -> None:
    answer = events.put_events(
        Entries=[
            {
                "Source": standin.SOURCE,
                "DetailType": standin.DETAIL_TYPE,
                "EventBusName": standin.DECISION_BUS,
                "Resources": [detail["package_arn"]],
                "Detail": json.dumps(detail),
            }
        ]
    )
    assert answer["FailedEntryCount"] == 0, answer


def endpoints_named(sagemaker: Any, name: str) -> list[dict[str, Any]]:
    listed = sagemaker.list_endpoints(NameContains=name, MaxResults=100)["Endpoints"]
    return [endpoint for endpoint in listed if endpoint["EndpointName"] == name]


def test_an_approval_for_pre_production_deploys_once_and_reports_the_deployment_in_the_lifecycle(
    stack: Any, pipeline: standin.StandinPipeline, group_name: str
) -> None:
    events, sagemaker = clients(stack)
    arn = approved_package(sagemaker, group_name, "PreProduction")
    detail = decision(arn, "PreProduction")

    put(events, detail)
    received = pipeline.wait_for(1, timeout=10)

    assert [(o.action, o.decision_id, o.stage) for o in received] == [("deployed", detail["decision_id"], "PreProduction")], [
        o.line() for o in received
    ]
    assert received[0].event["detail"] == detail, "the stand-in hands back the event as it received it"
    name = f"{group_name.lower()}-v1-preprod"
    endpoint = sagemaker.describe_endpoint(EndpointName=name)
    assert endpoint["EndpointStatus"] == "InService" and endpoint["EndpointConfigName"] == name
    assert received[0].endpoint_arn == endpoint["EndpointArn"]
    tags = {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=endpoint["EndpointArn"])["Tags"]}
    assert tags == {"govsync:stage": "PreProduction", "govsync:decision-id": detail["decision_id"], "govsync:package-arn": arn}
    config = sagemaker.describe_endpoint_config(EndpointConfigName=name)
    assert [(v["ModelName"], v["InstanceType"]) for v in config["ProductionVariants"]] == [(name, "ml.m5.xlarge")]
    model = sagemaker.describe_model(ModelName=name)
    assert model["PrimaryContainer"]["ModelPackageName"] == arn
    assert model["ExecutionRoleArn"] == "arn:aws:iam::123456789012:role/SageMakerExecution"
    package = sagemaker.describe_model_package(ModelPackageName=arn)
    assert (package["ModelLifeCycle"]["Stage"], package["ModelLifeCycle"]["StageStatus"]) == ("PreProduction", "Deployed")
    assert name in package["ModelLifeCycle"]["StageDescription"] and detail["decision_id"] in package["ModelLifeCycle"]["StageDescription"]
    # Its own identity, so registry-events takes the change as SageMaker's, not as govsync's echo.
    assert package["LastModifiedBy"]["IamIdentity"]["Arn"] == PIPELINE_CALLER
    assert package["ModelApprovalStatus"] == "Approved"


def test_the_same_decision_delivered_twice_or_replayed_to_a_fresh_pipeline_deploys_once(
    stack: Any, pipeline: standin.StandinPipeline, group_name: str
) -> None:
    events, sagemaker = clients(stack)
    arn = approved_package(sagemaker, group_name, "PreProduction")
    detail = decision(arn, "PreProduction")

    put(events, detail)
    put(events, detail)
    received = pipeline.wait_for(2, timeout=10)

    assert sorted(o.action for o in received) == ["deployed", "duplicate"], [o.line() for o in received]
    name = f"{group_name.lower()}-v1-preprod"
    assert len(endpoints_named(sagemaker, name)) == 1
    after_first = sagemaker.describe_model_package(ModelPackageName=arn)

    # A replay reaching a pipeline that kept no memory (a new process): the endpoint is found and
    # reused, the lifecycle not set again.
    fresh = standin.StandinPipeline(stack.moto_url, stack.registry_url, stack.region, name=pipeline.name)
    put(events, detail)
    replayed = fresh.wait_for(1, timeout=10)

    assert [o.action for o in replayed] == ["already-deployed"], [o.line() for o in replayed]
    assert replayed[0].endpoint_name == name and replayed[0].lifecycle_set is None
    assert len(endpoints_named(sagemaker, name)) == 1
    assert sagemaker.describe_model_package(ModelPackageName=arn)["LastModifiedTime"] == after_first["LastModifiedTime"]
    assert pipeline.wait_for(1, timeout=1) == [], "every delivery was acknowledged"


def test_a_deployment_cut_off_after_its_model_was_created_is_finished_by_the_redelivery(
    stack: Any, pipeline: standin.StandinPipeline, group_name: str
) -> None:
    events, sagemaker = clients(stack)
    arn = approved_package(sagemaker, group_name, "PreProduction")
    name = f"{group_name.lower()}-v1-preprod"
    # What an attempt that died after CreateModel left behind.
    sagemaker.create_model(
        ModelName=name,
        PrimaryContainer={"ModelPackageName": arn},
        ExecutionRoleArn="arn:aws:iam::123456789012:role/SageMakerExecution",
    )

    put(events, decision(arn, "PreProduction"))
    received = pipeline.wait_for(1, timeout=10)

    assert [o.action for o in received] == ["deployed"], [o.line() for o in received]
    assert sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"
    assert sagemaker.describe_endpoint_config(EndpointConfigName=name)["ProductionVariants"][0]["ModelName"] == name


def test_a_decision_without_an_approval_for_a_stage_is_not_delivered_nor_deployed(
    stack: Any, pipeline: standin.StandinPipeline, group_name: str
) -> None:
    events, sagemaker = clients(stack)
    arn = approved_package(sagemaker, group_name, "PreProduction")
    deployed = decision(arn, "PreProduction", stage_status="Deployed")
    rejected = decision(arn, "PreProduction", approval="Rejected")

    put(events, deployed)
    put(events, rejected)
    received = pipeline.wait_for(1, timeout=3)

    assert received == [], [o.line() for o in received]
    assert endpoints_named(sagemaker, f"{group_name.lower()}-v1-preprod") == []
    # Handed to it anyway (a queue may carry what its rules did not put there), it is ignored.
    envelope = {"source": standin.SOURCE, "detail-type": standin.DETAIL_TYPE, "id": "x", "detail": deployed}
    outcome = pipeline.handle(envelope)
    assert outcome.action == "ignored" and "Deployed" in (outcome.reason or "")
    assert endpoints_named(sagemaker, f"{group_name.lower()}-v1-preprod") == []


def test_a_message_that_is_no_decision_event_is_ignored_and_acknowledged(stack: Any, pipeline: standin.StandinPipeline) -> None:
    for body in ("not json", "[1, 2]", json.dumps({"source": "govsync", "detail": None})):
        pipeline.sqs.send_message(QueueUrl=pipeline.queue_url, MessageBody=body)

    received = pipeline.wait_for(3, timeout=10)

    assert [o.action for o in received] == ["ignored"] * 3 and all(o.reason for o in received), [o.line() for o in received]
    assert pipeline.wait_for(1, timeout=1) == []


def test_an_approval_for_production_deploys_a_production_endpoint_and_leaves_the_lifecycle_to_governance(
    stack: Any, pipeline: standin.StandinPipeline, group_name: str
) -> None:
    events, sagemaker = clients(stack)
    arn = approved_package(sagemaker, group_name, "Production")
    before = sagemaker.describe_model_package(ModelPackageName=arn)
    detail = decision(arn, "Production")

    put(events, detail)
    received = pipeline.wait_for(1, timeout=10)

    assert [(o.action, o.stage, o.lifecycle_set) for o in received] == [("deployed", "Production", None)]
    name = f"{group_name.lower()}-v1-prod"
    endpoint = sagemaker.describe_endpoint(EndpointName=name)
    tags = {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=endpoint["EndpointArn"])["Tags"]}
    assert tags["govsync:stage"] == "Production"
    after = sagemaker.describe_model_package(ModelPackageName=arn)
    # Production/Deployed ("In Production", mapping row 14) is governance's to set.
    assert (after["ModelLifeCycle"]["Stage"], after["ModelLifeCycle"]["StageStatus"]) == ("Production", "Approved")
    assert after["LastModifiedTime"] == before["LastModifiedTime"]


def test_a_decision_revoked_before_it_is_handled_deploys_nothing(
    stack: Any, pipeline: standin.StandinPipeline, group_name: str
) -> None:
    events, sagemaker = clients(stack)
    arn = approved_package(sagemaker, group_name, "PreProduction")
    detail = decision(arn, "PreProduction")
    put(events, detail)
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="PendingManualApproval")

    received = pipeline.wait_for(1, timeout=10)

    assert [o.action for o in received] == ["refused"] and "PendingManualApproval" in (received[0].reason or "")
    assert endpoints_named(sagemaker, f"{group_name.lower()}-v1-preprod") == []


def test_a_group_pipeline_takes_only_its_groups_decisions(stack: Any, group_name: str, endpoints_removed: None) -> None:
    events, sagemaker = clients(stack)
    mine = approved_package(sagemaker, group_name, "PreProduction")
    other_group = f"{group_name}-other"
    other = approved_package(sagemaker, other_group, "PreProduction")
    scoped = standin.StandinPipeline(
        stack.moto_url, stack.registry_url, stack.region, name=f"t-standin-{uuid.uuid4().hex[:10]}", group=group_name.upper()
    )
    scoped.ensure_wiring()
    try:
        put(events, decision(other, "PreProduction"))
        put(events, decision(mine, "PreProduction"))
        received = scoped.wait_for(2, timeout=4)
    finally:
        scoped.remove_wiring()

    assert [(o.package_arn, o.action) for o in received] == [(mine, "deployed")], [o.line() for o in received]


def test_the_command_prints_each_event_it_received_and_remembers_decisions_across_runs(
    stack: Any, group_name: str, tmp_path: Path, endpoints_removed: None
) -> None:
    import os
    import subprocess

    events, sagemaker = clients(stack)
    arn = approved_package(sagemaker, group_name, "PreProduction")
    detail = decision(arn, "PreProduction")
    name = f"t-standin-{uuid.uuid4().hex[:10]}"
    state = tmp_path / "standin.json"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GOVSYNC_"))},
        "GOVSYNC_MOTO_URL": stack.moto_url,
        "AWS_ENDPOINT_URL_SAGEMAKER": stack.registry_url,
        "AWS_REGION": stack.region,
    }

    def run(*flags: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, str(REPO / "local/pipeline/standin.py"), "--name", name, "--state", str(state), *flags]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)

    try:
        assert run("--once", "--json", "--wait-seconds", "0").returncode == 0  # wires the rules, nothing yet
        put(events, detail)
        first = run("--once", "--json", "--wait-seconds", "3")
        put(events, detail)
        second = run("--once", "--json", "--wait-seconds", "3")
        readable = run("--once", "--wait-seconds", "0")
    finally:
        assert run("--remove").returncode == 0

    assert first.returncode == 0, first.stderr
    lines = [json.loads(line) for line in first.stdout.splitlines()]
    assert [(line["action"], line["event"]["detail"]) for line in lines] == [("deployed", detail)]
    assert json.loads(state.read_text())["decisions"] == [detail["decision_id"]]
    assert [json.loads(line)["action"] for line in second.stdout.splitlines()] == ["duplicate"], second.stdout
    assert readable.returncode == 0 and "stand-in pipeline: rules" in readable.stdout
    assert endpoints_named(sagemaker, f"{group_name.lower()}-v1-preprod")[0]["EndpointStatus"] == "InService"
