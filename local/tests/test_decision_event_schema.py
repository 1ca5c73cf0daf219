"""The governance decision event's public schema (shared/core/schemas/) is a valid JSON Schema 2020-12,
the sample in events/decision-event/ holds to it, and it refuses what a pipeline must never receive."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "shared/core/schemas/governance-decision.v1.schema.json").read_text())
SAMPLES = sorted((REPO / "events/decision-event").glob("*.json"))


def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def test_the_schema_is_a_valid_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda path: path.name)
def test_every_sample_detail_holds_to_the_schema(sample: Path) -> None:
    event = json.loads(sample.read_text())
    assert event["source"] == "govsync" and event["detail-type"] == "govsync Governance Decision Applied"
    validator().validate(event["detail"])


def mutated(change) -> dict:
    detail = copy.deepcopy(json.loads(SAMPLES[0].read_text())["detail"])
    change(detail)
    return detail


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(extra="x"),
        lambda d: d.update(decision_id="not-an-id"),
        lambda d: d.update(approval_status="Maybe"),
        lambda d: d.pop("governance"),
        lambda d: d["registry"].update(account="12345"),
        lambda d: d.update(package_arn="arn:aws:sagemaker:us-east-1:123456789012:model-package-group/g"),
        lambda d: d["governance"].update(decided_at="yesterday"),
    ],
    ids=["unknown member", "bad decision id", "unknown approval", "no governance", "bad account", "a group ARN", "bad time"],
)
def test_the_schema_refuses_what_a_pipeline_must_never_receive(change) -> None:
    with pytest.raises(jsonschema.ValidationError):
        validator().validate(mutated(change))
