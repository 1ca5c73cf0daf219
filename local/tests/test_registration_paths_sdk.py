"""Registration paths: the SageMaker Python SDK (`sagemaker` 2.x, pinned in local/requirements.txt) used as
data scientists use it, against the local stack with govsync's registry-events function running (the local
runner), and governance checked after each step.

Paths: a full `Model.register()` from SageMaker Studio (a user profile on the domain's shared role) and a
minimal one from outside Studio; an approval the gate reverts; a lifecycle change; metadata and Model Card
updates; a version carrying 45 of the data scientist's own keys; a version registered and then updated.
The runner runs with a tenant field mapping (`GOVSYNC_MAPPING_FILE`) that selects two of the data
scientist's keys, so those reach governance too.

The SDK talks only to the stack (the registry emulator through `sagemaker_client`, no S3 upload: model data
is an `s3://` URI); its config-file look-ups and boto's are pointed at empty files the test writes, so
nothing outside the repository and the test's temporary directory is read. The module starts and stops
its own runner; the shared test stack must be up (`local/test.sh` does it).
"""

from __future__ import annotations

import json
import os
import pathlib
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "local" / "demo"))

from demo_support import (  # noqa: E402
    DATA_SCIENTIST_KEY,
    Governance,
    Runner,
    field,
    packed_links,
    sagemaker_client,
    wait_until,
)

pytestmark = pytest.mark.usefixtures("stack")

TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", "/var/tmp/govsync-target"))
BUSINESS_ENTITY = "Retail Banking"
ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"
TIMEOUT = 60.0
MODEL_STATUS = "MRG-Model:Status"
# The two keys of the data scientist's own metadata the tenant sends to governance.
TENANT_FIELDS = {"user_metadata_keys": ["team", "dataset-*"]}


def tenant_mapping(path: pathlib.Path) -> pathlib.Path:
    """The built-in status rows with a `[fields]` table selecting the tenant's keys (JSON spec)."""
    import tomllib

    document = tomllib.loads((REPO / "shared" / "core" / "src" / "default_mapping.toml").read_text())
    rows = document["rows"]
    fields = {**document["fields"], **TENANT_FIELDS}
    path.write_text(json.dumps({"version": document["version"], "fields": fields, "rows": rows}))
    return path


class World:
    def __init__(self, tmp: pathlib.Path) -> None:
        self.registry_url = os.environ["GOVSYNC_REGISTRY_URL"]
        self.region = os.environ.get("AWS_REGION") or os.environ["AWS_DEFAULT_REGION"]
        self.governance = Governance(os.environ["GOVSYNC_GOVERNANCE_URL"])
        self.tmp = tmp
        self.suffix = uuid.uuid4().hex[:8]
        self.studio_key = os.environ.get("GOVSYNC_STUDIO_ACCESS_KEY_ID", "")
        assert self.studio_key, "the stack's environment has no GOVSYNC_STUDIO_ACCESS_KEY_ID (local/stack.sh up)"
        # Nothing outside the repository and this test's directory: the SDK's and boto's config files.
        empty = tmp / "empty.yaml"
        empty.write_text("")
        self.settings = {
            **{
                name: str(empty)
                for name in (
                    "SAGEMAKER_ADMIN_CONFIG_OVERRIDE",
                    "SAGEMAKER_USER_CONFIG_OVERRIDE",
                    "AWS_CONFIG_FILE",
                    "AWS_SHARED_CREDENTIALS_FILE",
                )
            },
            "AWS_EC2_METADATA_DISABLED": "true",
            "SAGEMAKER_SUPPRESS_V2_WARNING": "1",
        }

    def session(self, access_key: str) -> Any:
        """A SageMaker SDK session as a data scientist's notebook holds one, on the registry emulator."""
        import boto3
        from sagemaker.session import Session

        boto = boto3.Session(aws_access_key_id=access_key, aws_secret_access_key="testing", region_name=self.region)
        client = boto.client("sagemaker", endpoint_url=self.registry_url)
        return Session(boto_session=boto, sagemaker_client=client, default_bucket="models-123456789012")

    def model_of(self, package_arn: str) -> dict[str, Any] | None:
        model_id = self.governance.find_by_external_id("Model", package_arn)
        return self.governance.get(model_id) if model_id else None

    def models_of(self, package_arn: str) -> int:
        statement = (
            "SELECT [Resource ID] FROM [Model] WHERE [Integration:External ID] = '" + package_arn.replace("'", "''") + "'"
        )
        return len(self.governance.call("POST", "/query", {"statement": statement})["rows"])

    def wait_model(self, package_arn: str, what: str, holds) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            model = self.model_of(package_arn)
            return model if model is not None and holds(model) else None

        return wait_until(f"governance never showed {what} for {package_arn}", probe, TIMEOUT)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("registration-paths")
    world = World(tmp)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in world.settings.items():
            patch.setenv(name, value)
        patch.setenv("GOVSYNC_MAPPING_FILE", str(tenant_mapping(tmp / "mapping.json")))
        yield from provisioned(world, tmp)


def provisioned(world: World, tmp: pathlib.Path) -> Iterator[World]:
    """The use case and its group as F1 leaves them, and the runner, for the module's tests."""
    governance = world.governance
    rows = governance.call(
        "POST", "/query", {"statement": f"SELECT [Resource ID] FROM [SOXBusEntity] WHERE [Name] = '{BUSINESS_ENTITY}'"}
    )["rows"]
    entity = next((str(f["value"]) for row in rows for f in row["fields"] if f["name"] == "Resource ID"), None)
    if entity is None:
        entity = str(governance.create("SOXBusEntity", BUSINESS_ENTITY, None, {})["id"])
    use_case = governance.create(
        "ModelUseCase",
        f"Credit scoring {world.suffix}",
        entity,
        {"MRG-AIFacts-ModelUseCase:Status": "Approved for Development", "MRG-AIFacts-ModelUseCase:Risk Level": "Medium"},
    )
    world.use_case_id = str(use_case["id"])
    # The group as F1 leaves it: tagged with the use case.
    world.group = f"credit-sdk-{world.suffix}"
    sagemaker_client(world.registry_url, world.region, DATA_SCIENTIST_KEY).create_model_package_group(
        ModelPackageGroupName=world.group,
        Tags=[{"Key": "govsync:use-case-id", "Value": world.use_case_id}],
    )
    runner = Runner(str(TARGET / "debug" / "govsync-local-runner"), tmp / "runner.log", None)
    try:
        runner.start()
        yield world
    finally:
        runner.stop()


def register_full(world: World, access_key: str, extra_keys: dict[str, str] | None = None) -> str:
    from sagemaker.drift_check_baselines import DriftCheckBaselines
    from sagemaker.metadata_properties import MetadataProperties
    from sagemaker.model import Model
    from sagemaker.model_card import ModelPackageModelCard
    from sagemaker.model_life_cycle import ModelLifeCycle
    from sagemaker.model_metrics import MetricsSource, ModelMetrics

    base = f"s3://models-123456789012/credit/{world.suffix}"
    model = Model(
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/credit:1.0",
        model_data=f"{base}/model.tar.gz",
        role=ROLE,
        sagemaker_session=world.session(access_key),
    )
    package = model.register(
        content_types=["text/csv"],
        response_types=["text/csv"],
        inference_instances=["ml.m5.large"],
        transform_instances=["ml.m5.large"],
        model_package_group_name=world.group,
        approval_status="PendingManualApproval",
        description="credit scorer, gradient boosting",
        model_metrics=ModelMetrics(
            model_statistics=MetricsSource(content_type="application/json", s3_uri=f"{base}/evaluation.json")
        ),
        drift_check_baselines=DriftCheckBaselines(
            model_statistics=MetricsSource(content_type="application/json", s3_uri=f"{base}/baseline-statistics.json"),
            model_constraints=MetricsSource(content_type="application/json", s3_uri=f"{base}/baseline-constraints.json"),
        ),
        metadata_properties=MetadataProperties(
            generated_by="arn:aws:sagemaker:us-east-1:123456789012:pipeline/credit/execution/x1",
            repository="https://git.example.com/credit",
            commit_id="4f2a9c1",
        ),
        customer_metadata_properties={"team": "risk-analytics", "dataset-version": "2026-11", "notes": "baseline", **(extra_keys or {})},
        domain="MACHINE_LEARNING",
        task="CLASSIFICATION",
        sample_payload_url=f"{base}/payload.tar.gz",
        framework="XGBOOST",
        framework_version="1.7",
        nearest_model_name="xgboost",
        source_uri=f"{base}/source.tar.gz",
        model_card=ModelPackageModelCard(
            model_card_status="Draft",
            model_card_content={"intended_uses": {"purpose_of_model": "score retail credit applications"}},
        ),
        model_life_cycle=ModelLifeCycle(stage="Development", stage_status="InProgress", stage_description="first fit"),
    )
    return package.model_package_arn


def register_minimal(world: World, access_key: str) -> str:
    from sagemaker.model import Model

    model = Model(
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/credit:0.9",
        model_data=f"s3://models-123456789012/credit/{world.suffix}/minimal.tar.gz",
        role=ROLE,
        sagemaker_session=world.session(access_key),
    )
    package = model.register(
        content_types=["text/csv"],
        response_types=["text/csv"],
        inference_instances=["ml.m5.large"],
        model_package_group_name=world.group,
    )
    return package.model_package_arn


def package_handle(world: World, arn: str, access_key: str) -> Any:
    from sagemaker.model import ModelPackage

    return ModelPackage(role=ROLE, model_package_arn=arn, sagemaker_session=world.session(access_key))


def describe(world: World, arn: str) -> dict[str, Any]:
    return sagemaker_client(world.registry_url, world.region, DATA_SCIENTIST_KEY).describe_model_package(ModelPackageName=arn)


def test_a_full_register_from_studio_reaches_governance_with_its_creator_and_every_mapped_fact(world: World) -> None:
    arn = register_full(world, world.studio_key)
    model = world.wait_model(arn, "the model with its metadata", lambda m: field(m, "MRG-Model:Domain") is not None)
    assert field(model, "MRG-Model:Model Creator") == "alice", "the Studio user profile, not the shared role"
    assert field(model, "MRG-Model:Domain") == "MACHINE_LEARNING"
    assert field(model, "MRG-Model:Task") == "CLASSIFICATION"
    assert field(model, "MRG-Model:Sample Payload URL").endswith("/payload.tar.gz")
    baselines = field(model, "MRG-Model:Drift Baselines").split("\n")
    assert [uri.rsplit("/", 1)[1] for uri in baselines] == ["baseline-statistics.json", "baseline-constraints.json"]
    assert field(model, "MRG-Model:Metrics URIs").endswith("/evaluation.json")
    lineage = field(model, "MRG-Model:Lineage")
    assert "GeneratedBy=arn:aws:sagemaker:us-east-1:123456789012:pipeline/credit/execution/x1" in lineage
    assert "CommitId=4f2a9c1" in lineage
    assert field(model, "MRG-Model:Model Card Summary") == "Draft: score retail credit applications"
    assert field(model, "MRG-Model:Registry Metadata") == "dataset-version=2026-11\nteam=risk-analytics", "only the keys the tenant selected"
    assert field(model, MODEL_STATUS) == "Under Development", "the lifecycle's both-way row"
    links = packed_links(wait_until("no write-back", lambda: describe(world, arn).get("CustomerMetadataProperties", {}).get("govsync:links") and describe(world, arn)["CustomerMetadataProperties"], TIMEOUT))
    assert links["model"] == str(model["id"])


def test_a_minimal_register_outside_studio_names_the_iam_identity(world: World) -> None:
    arn = register_minimal(world, DATA_SCIENTIST_KEY)
    model = world.wait_model(arn, "the model", lambda m: True)
    assert field(model, "MRG-Model:Model Creator") == f"arn:aws:iam::123456789012:user/{DATA_SCIENTIST_KEY}"
    for absent in ("MRG-Model:Domain", "MRG-Model:Task", "MRG-Model:Lineage", "MRG-Model:Model Card Summary", "MRG-Model:Registry Metadata"):
        assert field(model, absent) is None, absent


def test_an_approval_in_the_sdk_is_reverted_by_the_gate_and_governance_keeps_its_status(world: World) -> None:
    arn = register_minimal(world, world.studio_key)
    world.wait_model(arn, "the model", lambda m: True)
    package_handle(world, arn, world.studio_key).update_approval_status("Approved", approval_description="looks good")
    reverted = wait_until(
        "the shadow approval was not reverted",
        lambda: describe(world, arn)["ModelApprovalStatus"] == "PendingManualApproval"
        and "govsync:rev" in describe(world, arn).get("CustomerMetadataProperties", {}),
        TIMEOUT,
    )
    assert reverted
    model = world.model_of(arn)
    assert model is not None and field(model, MODEL_STATUS) not in ("Approved for Deployment", "In Production")


def test_lifecycle_metadata_and_card_updates_through_the_sdk_reach_governance(world: World) -> None:
    from sagemaker.model_card import ModelPackageModelCard
    from sagemaker.model_life_cycle import ModelLifeCycle

    arn = register_full(world, world.studio_key)
    world.wait_model(arn, "the model", lambda m: field(m, "MRG-Model:Domain") is not None)
    package = package_handle(world, arn, world.studio_key)
    package.update_customer_metadata({"team": "credit-risk", "dataset-version": "2026-12"})
    world.wait_model(
        arn,
        "the updated metadata",
        lambda m: field(m, "MRG-Model:Registry Metadata") == "dataset-version=2026-12\nteam=credit-risk",
    )
    # The SDK's update_model_card sends only the status when both status and content change (it drops
    # the content from the request it reuses), so a data scientist changes them one at a time.
    package.update_model_card(
        ModelPackageModelCard(
            model_card_status="PendingReview",
            model_card_content={"intended_uses": {"purpose_of_model": "score retail credit applications"}},
        )
    )
    world.wait_model(
        arn,
        "the card's new status",
        lambda m: field(m, "MRG-Model:Model Card Summary") == "PendingReview: score retail credit applications",
    )
    package.update_model_card(
        ModelPackageModelCard(
            model_card_status="PendingReview",
            model_card_content={"intended_uses": {"purpose_of_model": "score retail and SME credit"}},
        )
    )
    world.wait_model(
        arn, "the card's new content", lambda m: field(m, "MRG-Model:Model Card Summary") == "PendingReview: score retail and SME credit"
    )
    # update_model_life_cycle hands its argument to boto3 as it is: the SDK's own ModelLifeCycle object is
    # refused by boto3's validation, so a data scientist passes its request form.
    package.update_model_life_cycle(
        ModelLifeCycle(stage="Development", stage_status="Review", stage_description="ready for review")._to_request_dict()
    )
    changed = describe(world, arn)["ModelLifeCycle"]
    assert changed["StageStatus"] == "Review"
    # Development/Review is a to_registry row: SageMaker does not drive governance there.
    model = world.wait_model(arn, "the model after the lifecycle change", lambda m: True)
    assert field(model, MODEL_STATUS) == "Under Development"
    assert world.models_of(arn) == 1


def test_a_version_with_45_own_keys_gets_its_model_and_a_packed_write_back(world: World) -> None:
    own = {f"feature-{n:02d}": f"v{n}" for n in range(42)}
    arn = register_full(world, world.studio_key, own)  # 3 keys of register_full + 42 = 45
    model = world.wait_model(arn, "the model", lambda m: True)
    metadata = wait_until(
        "the links were not written back",
        lambda: (m := describe(world, arn).get("CustomerMetadataProperties", {})).get("govsync:links") and m,
        TIMEOUT,
    )
    assert len(metadata) <= 50
    assert sum(1 for key in metadata if not key.startswith("govsync:")) == 45
    assert packed_links(metadata)["model"] == str(model["id"])


def test_a_version_registered_then_updated_stays_one_model_and_follows_the_update(world: World) -> None:
    arn = register_minimal(world, DATA_SCIENTIST_KEY)
    world.wait_model(arn, "the model", lambda m: True)
    sagemaker_client(world.registry_url, world.region, DATA_SCIENTIST_KEY).update_model_package(
        ModelPackageArn=arn,
        CustomerMetadataProperties={"team": "fraud"},
    )
    package_handle(world, arn, DATA_SCIENTIST_KEY).update_source_uri(f"s3://models-123456789012/credit/{world.suffix}/src2.tar.gz")
    world.wait_model(arn, "the metadata update", lambda m: field(m, "MRG-Model:Registry Metadata") == "team=fraud")
    assert world.models_of(arn) == 1
