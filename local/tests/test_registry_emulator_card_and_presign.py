"""boto3 against the registry emulator: model package cards (the package card schema, the Archived rule) and
CreatePresignedDomainUrl with the emulator's stand-in Studio page.

Sources (contracts/sagemaker.md): the package card follows the "Model package model card schema" of the
SageMaker Developer Guide (vendored in local/registry-emulator/schema/, see its README.md); "Archived: No more
updates can be made to the model card content" (API reference, ModelPackageModelCard); CreatePresignedDomainUrl's
member limits are botocore's service model, its modelled error is ResourceNotFound.

This file starts its own emulator (the built binary, `cargo build -p govsync-registry-emulator`) with a Studio
domain configured through REGISTRY_EMULATOR_STUDIO_DOMAINS, so it needs no local stack. It fails, never skips,
when the binary is missing.
"""

from __future__ import annotations

import html
import json
import os
import select
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, ParamValidationError

from conftest import _client

ACCOUNT = "123456789012"
REGION = "us-east-1"
DOMAIN = "d-cardtest0001"
BINARY = Path(os.environ.get("CARGO_TARGET_DIR", "/var/tmp/govsync-target")) / "debug" / "govsync-registry-emulator"

# A data scientist's card, every section of the package card schema filled in.
DATA_SCIENTIST_CARD: dict[str, Any] = {
    "model_overview": {
        "model_creator": "Fraud analytics team (alice)",
        "model_artifact": ["s3://models-bucket/fraud/1.4/model.tar.gz"],
    },
    "intended_uses": {
        "purpose_of_model": "Score card payments for fraud in real time",
        "intended_uses": "Behind the payments API; not for credit decisions",
        "factors_affecting_model_efficiency": "Holiday spending shifts the score distribution",
        "risk_rating": "High",
        "explanations_for_risk_rating": "A false decline blocks a customer's payment",
    },
    "business_details": {
        "business_problem": "Card fraud losses",
        "business_stakeholders": "Payments operations, Risk",
        "line_of_business": "Retail banking",
    },
    "training_details": {
        "objective_function": {"function": {"function": "Minimize", "facet": "LOSS"}, "notes": "log loss"},
        "training_observations": "Converged after 40 rounds",
        "training_job_details": {
            "training_arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/fraud-14",
            "training_datasets": ["s3://data/fraud/train/"],
            "training_environment": {"container_image": ["683313688378.dkr.ecr.us-east-1.amazonaws.com/xgboost:1.7-1"]},
            "training_metrics": [{"name": "validation:logloss", "value": 0.12}],
            "hyper_parameters": [{"name": "max_depth", "value": "6"}],
        },
    },
    "evaluation_details": [
        {
            "name": "holdout-2026-q1",
            "evaluation_observation": "AUC stable across card types",
            "datasets": ["s3://data/fraud/holdout/"],
            "metadata": {"segment": "all"},
            "metric_groups": [{"name": "quality", "metric_data": [{"name": "auc", "type": "number", "value": 0.94}]}],
        }
    ],
    "additional_information": {
        "ethical_considerations": "No protected attributes are model inputs",
        "caveats_and_recommendations": "Retrain quarterly",
        "custom_details": {"govsync_use_case": "UC-12"},
    },
}


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    """A fresh emulator knowing one Studio domain (alice, bob) in ACCOUNT/REGION; stopped afterwards."""
    if not BINARY.is_file():
        pytest.fail(
            f"{BINARY} is missing: build it with `cargo build -p govsync-registry-emulator` "
            "(CARGO_TARGET_DIR=/var/tmp/govsync-target).",
            pytrace=False,
        )
    env = {key: value for key, value in os.environ.items() if not key.startswith("REGISTRY_EMULATOR_")}
    env["REGISTRY_EMULATOR_STUDIO_DOMAINS"] = f"{ACCOUNT}:{REGION}:{DOMAIN}/alice+bob"
    env["RUST_LOG"] = "warn"
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [str(BINARY), "--host", "127.0.0.1", "--port", "0", "--account-id", ACCOUNT, "--default-region", REGION],
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
    return _client(
        "sagemaker", emulator_url, REGION, aws_access_key_id="AKIDCARDTEST", aws_secret_access_key="testing"
    )


@pytest.fixture
def group(sagemaker: Any) -> str:
    name = f"card-{uuid.uuid4().hex[:12]}"
    sagemaker.create_model_package_group(ModelPackageGroupName=name)
    return name


def error_of(raised: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = raised.value.response["Error"]
    return error["Code"], error.get("Message", "")


def fetch(url: str) -> tuple[int, str]:
    """GETs a URL directly (no proxy), returning status and body, also for error statuses."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def presign(sagemaker: Any, **members: Any) -> str:
    return sagemaker.create_presigned_domain_url(DomainId=DOMAIN, UserProfileName="alice", **members)["AuthorizedUrl"]


# --- model package cards ------------------------------------------------------------------------------------


def test_a_data_scientists_card_round_trips(sagemaker, group):
    content = json.dumps(DATA_SCIENTIST_CARD)
    arn = sagemaker.create_model_package(
        ModelPackageGroupName=group, ModelCard={"ModelCardContent": content, "ModelCardStatus": "Draft"}
    )["ModelPackageArn"]
    card = sagemaker.describe_model_package(ModelPackageName=arn)["ModelCard"]
    assert card["ModelCardStatus"] == "Draft"
    assert json.loads(card["ModelCardContent"]) == DATA_SCIENTIST_CARD

    sagemaker.update_model_package(ModelPackageArn=arn, ModelCard={"ModelCardStatus": "PendingReview"})
    card = sagemaker.describe_model_package(ModelPackageName=arn)["ModelCard"]
    assert card == {"ModelCardStatus": "PendingReview", "ModelCardContent": content}


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda card: card["intended_uses"].update(risk_rating="Critical"), "$.intended_uses.risk_rating"),
        (lambda card: card.update(model_package_details={"model_package_group_name": "x"}), "$.model_package_details"),
        (lambda card: card.update(deployment_notes={"where": "prod"}), "$.deployment_notes"),
        (lambda card: card["business_details"].update(business_problem="x" * 2049), "$.business_details.business_problem"),
        (lambda card: card["additional_information"]["custom_details"].update({"use-case": "x"}), "custom_details"),
    ],
    ids=["risk-rating-critical", "model-package-details", "unknown-section", "over-long-field", "bad-custom-key"],
)
def test_cards_outside_the_package_card_schema_are_refused(sagemaker, group, change, path):
    card = json.loads(json.dumps(DATA_SCIENTIST_CARD))
    change(card)
    with pytest.raises(ClientError) as raised:
        sagemaker.create_model_package(
            ModelPackageGroupName=group, ModelCard={"ModelCardContent": json.dumps(card), "ModelCardStatus": "Draft"}
        )
    code, message = error_of(raised)
    assert code == "ValidationException"
    assert path in message, message

    # The same content is refused on update, and the package keeps its card.
    arn = sagemaker.create_model_package(
        ModelPackageGroupName=group, ModelCard={"ModelCardContent": "{}", "ModelCardStatus": "Draft"}
    )["ModelPackageArn"]
    with pytest.raises(ClientError) as raised:
        sagemaker.update_model_package(ModelPackageArn=arn, ModelCard={"ModelCardContent": json.dumps(card)})
    assert error_of(raised)[0] == "ValidationException"
    assert sagemaker.describe_model_package(ModelPackageName=arn)["ModelCard"]["ModelCardContent"] == "{}"


def test_an_archived_card_refuses_content_changes_but_not_status_changes(sagemaker, group):
    content = json.dumps(DATA_SCIENTIST_CARD)
    arn = sagemaker.create_model_package(
        ModelPackageGroupName=group, ModelCard={"ModelCardContent": content, "ModelCardStatus": "Archived"}
    )["ModelPackageArn"]
    with pytest.raises(ClientError) as raised:
        sagemaker.update_model_package(ModelPackageArn=arn, ModelCard={"ModelCardContent": "{}"})
    code, message = error_of(raised)
    assert code == "ValidationException"
    assert "Archived" in message and "cannot be modified" in message, message

    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    sagemaker.update_model_package(ModelPackageArn=arn, ModelCard={"ModelCardStatus": "Approved"})
    described = sagemaker.describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "Approved"
    assert described["ModelCard"] == {"ModelCardStatus": "Approved", "ModelCardContent": content}


# --- CreatePresignedDomainUrl -------------------------------------------------------------------------------


def test_a_presigned_url_opens_a_page_naming_the_landing_uri(emulator_url, sagemaker):
    landing = "studio::models/registered-models/fraud-detector/versions"
    url = presign(sagemaker, LandingUri=landing, ExpiresInSeconds=60)
    assert url.startswith(f"{emulator_url}/_emulator/studio/auth?token=")

    status, page = fetch(url)
    assert status == 200
    for shown in (landing, DOMAIN, "alice", REGION):
        assert html.escape(shown) in page, shown

    _, issued = fetch(f"{emulator_url}/_emulator/studio/issued")
    entry = next(entry for entry in json.loads(issued)["issued"] if entry["url"] == url)
    assert entry["domainId"] == DOMAIN
    assert entry["userProfileName"] == "alice"
    assert entry["landingUri"] == landing
    assert entry["sessionExpirationDurationInSeconds"] == 43200
    assert entry["expired"] is False


@pytest.mark.parametrize(
    ("domain", "profile"),
    [("d-unknown0001", "alice"), (DOMAIN, "mallory")],
    ids=["unknown-domain", "unknown-profile"],
)
def test_an_unknown_domain_or_profile_is_resource_not_found(sagemaker, domain, profile):
    with pytest.raises(ClientError) as raised:
        sagemaker.create_presigned_domain_url(DomainId=domain, UserProfileName=profile)
    assert error_of(raised)[0] == "ResourceNotFound"


def test_the_domain_is_looked_up_in_the_callers_region(emulator_url):
    elsewhere = _client(
        "sagemaker", emulator_url, "eu-west-1", aws_access_key_id="AKIDCARDTEST", aws_secret_access_key="testing"
    )
    with pytest.raises(ClientError) as raised:
        presign(elsewhere)
    assert error_of(raised)[0] == "ResourceNotFound"


@pytest.mark.parametrize(
    ("members", "member"),
    [
        ({"ExpiresInSeconds": 301}, "expiresInSeconds"),
        ({"SessionExpirationDurationInSeconds": 43201}, "sessionExpirationDurationInSeconds"),
        ({"LandingUri": "https://console.aws.amazon.com/sagemaker"}, "landingUri"),
        ({"LandingUri": "app:VSCode:work"}, "landingUri"),
        ({"LandingUri": "studio::" + "a" * 1016}, "landingUri"),
        ({"SpaceName": "team_space"}, "spaceName"),
    ],
    ids=["expires-301", "session-43201", "landing-url", "landing-unknown-app", "landing-too-long", "space-underscore"],
)
def test_out_of_range_or_malformed_members_are_validation_exceptions(sagemaker, members, member):
    with pytest.raises(ClientError) as raised:
        presign(sagemaker, **members)
    code, message = error_of(raised)
    assert code == "ValidationException"
    assert f"'{member}'" in message, message


def test_botocore_itself_refuses_expiries_below_its_minimum(sagemaker):
    # botocore checks the model's minimum client-side; the emulator checks both ends (tested above).
    with pytest.raises(ParamValidationError):
        presign(sagemaker, ExpiresInSeconds=4)


def test_a_url_past_its_expiry_is_refused(sagemaker):
    url = presign(sagemaker, ExpiresInSeconds=5)
    assert fetch(url)[0] == 200
    time.sleep(6)
    status, page = fetch(url)
    assert status == 403
    assert "expired" in page
    status, page = fetch(url.split("?token=")[0] + "?token=" + "0" * 64)
    assert status == 403
    assert "unknown" in page
