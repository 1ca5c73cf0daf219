"""Least privilege in the hub templates (issue 13): the webhook's role reaches only its own idempotency keys,
sts:AssumeRole reaches only the listed spoke accounts, and govsync's own spoke bus (never the default one) admits
only the spokes' forwarding roles (whose fixed name spoke.yaml gives them) and only the event types govsync's
rules read (issue 18, 3).

Run by pytest on infra/template.yaml and, when `cdk synth` has written it, the CDK template; also runnable as
`python test_least_privilege_template.py TEMPLATE` (infra/validate.sh), exiting 1 naming every problem.
"""

from __future__ import annotations

import fnmatch
import re
import sys
from pathlib import Path
from typing import Any, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_wiring_matches_template import load_template  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SAM_TEMPLATE = REPO / "infra" / "template.yaml"
CDK_TEMPLATE = REPO / "infra" / "cdk" / "cdk.out" / "Govsync.template.json"
SPOKE_TEMPLATE = REPO / "infra" / "spoke.yaml"
IDEMPOTENCY_SOURCE = REPO / "shared" / "core" / "src" / "idempotency.rs"
WEBHOOK_FUNCTION = "govsync-governance-webhook"
# The spokes name their forwarding role per region (one account may forward from several regions); the hub's
# bus admits the name in any region.
FORWARDER_NAME = "govsync-event-forwarder-${AWS::Region}"
HUB_ADMITS_FORWARDERS = "govsync-event-forwarder-*"
# What the hub's rules read (local/wiring.json's rules and the metrics rules): all a spoke may put.
CONSUMED_EVENTS = {
    "events:source": {"aws.sagemaker", "govsync.metrics"},
    "events:detail-type": {
        "SageMaker Model Package State Change",
        "AWS API Call via CloudTrail",
        "SageMaker Processing Job State Change",
        "Model Metric Recorded",
    },
}


def webhook_key_prefix() -> str:
    """The prefix of every key `IdempotencyKey::for_webhook_delivery` makes (`<kind>:`)."""
    source = IDEMPOTENCY_SOURCE.read_text(encoding="utf-8")
    match = re.search(r'fn for_webhook_delivery\([^)]*\)\s*->\s*Self\s*\{\s*Self::with_id\("([^"]+)"', source)
    assert match, "IdempotencyKey::for_webhook_delivery no longer reads Self::with_id(\"<kind>\", …)"
    return f"{match.group(1)}:"


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def flatten(value: Any) -> str:
    """A Fn::Sub or Fn::Join of literals and Refs as one string (`${Name}` for a Ref), for comparisons."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Ref" in value:
        return "${" + value["Ref"] + "}"
    if isinstance(value, dict) and "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
        return value["Fn::Sub"]
    if isinstance(value, dict) and "Fn::Join" in value:
        delimiter, parts = value["Fn::Join"]
        return delimiter.join(flatten(part) for part in parts)
    return repr(value)


def branches(condition: Any) -> Iterator[dict[str, Any]]:
    """Each alternative of a condition block that may be wrapped in Fn::If."""
    if isinstance(condition, dict) and "Fn::If" in condition:
        _, when_true, when_false = condition["Fn::If"]
        yield from branches(when_true)
        yield from branches(when_false)
    elif isinstance(condition, dict):
        yield condition
    else:
        yield {}


def role_statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(role logical id, statement) for every inline role policy and AWS::IAM::Policy attached to a role."""
    resources = template["Resources"]
    for logical_id, resource in resources.items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            for policy in properties.get("Policies", []):
                for statement in as_list(policy["PolicyDocument"]["Statement"]):
                    yield logical_id, statement
        elif resource["Type"] == "AWS::IAM::Policy":
            for role in properties.get("Roles", []):
                for statement in as_list(properties["PolicyDocument"]["Statement"]):
                    yield role.get("Ref", repr(role)), statement


def webhook_role(template: dict[str, Any]) -> str:
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        if properties.get("FunctionName") == WEBHOOK_FUNCTION:
            return properties["Role"]["Fn::GetAtt"][0]
    raise AssertionError(f"no function named {WEBHOOK_FUNCTION}")


def problems(template: dict[str, Any]) -> list[str]:
    found: list[str] = []
    prefix = webhook_key_prefix()

    role = webhook_role(template)
    table_statements = [
        statement
        for owner, statement in role_statements(template)
        if owner == role and any(action.startswith("dynamodb:") for action in as_list(statement.get("Action", [])))
    ]
    if not table_statements:
        found.append("the webhook role has no idempotency table statement")
    for statement in table_statements:
        leading = statement.get("Condition", {}).get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys")
        if leading != [f"{prefix}*"]:
            found.append(f"webhook table statement {statement.get('Sid')}: dynamodb:LeadingKeys is {leading!r}, want [{prefix}*]")

    assume = [
        (owner, statement)
        for owner, statement in role_statements(template)
        if "sts:AssumeRole" in as_list(statement.get("Action", [])) and statement.get("Effect") == "Allow"
    ]
    if not assume:
        found.append("no role may assume the spoke role")
    for owner, statement in assume:
        accounts = statement.get("Condition", {}).get("StringEquals", {}).get("aws:ResourceAccount")
        if accounts != {"Ref": "SpokeAccountIds"}:
            found.append(f"{owner}: sts:AssumeRole is not pinned to SpokeAccountIds (aws:ResourceAccount {accounts!r})")
        for resource in as_list(statement["Resource"]):
            if not flatten(resource).endswith(":role/govsync/${SpokeRoleName}-*"):
                found.append(f"{owner}: sts:AssumeRole on {flatten(resource)}, not the govsync spoke role")

    policies = {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::Events::EventBusPolicy"}
    for logical_id, resource in policies.items():
        statement = resource["Properties"]["Statement"]
        if statement.get("Principal") == "*" or statement.get("Principal", {}).get("AWS") == "*":
            found.append(f"{logical_id}: admits any principal")
        bus = resource["Properties"].get("EventBusName")
        if bus == "default":
            found.append(f"{logical_id}: opens the default bus to the spokes, not govsync's own bus")
        for branch in branches(statement.get("Condition")):
            arn = flatten(branch.get("ArnLike", {}).get("aws:PrincipalArn"))
            if not arn.endswith(f":role/govsync/{HUB_ADMITS_FORWARDERS}"):
                found.append(f"{logical_id}: a branch admits principals other than the forwarding roles ({arn})")
            equals = branch.get("StringEquals", {})
            for key, allowed in CONSUMED_EVENTS.items():
                admitted = set(as_list(equals.get(key, [])))
                if not admitted or not admitted <= allowed:
                    found.append(f"{logical_id}: a branch admits {key} {sorted(admitted) or 'any'}, not only {sorted(allowed)}")
    return found


def spoke_forwarder_name() -> str:
    spoke = load_template(SPOKE_TEMPLATE)
    role = spoke["Resources"]["ForwardRole"]["Properties"]
    return f"{role.get('Path', '/')}{flatten(role.get('RoleName'))}"


def test_sam_template_grants_least_privilege() -> None:
    assert problems(load_template(SAM_TEMPLATE)) == []


def test_cdk_template_grants_least_privilege() -> None:
    # Only once `cdk synth` has run (infra/validate.sh runs this file on its output in any case).
    if CDK_TEMPLATE.exists():
        assert problems(load_template(CDK_TEMPLATE)) == []


def test_template_bus_admits_the_role_name_spoke_yaml_creates() -> None:
    assert spoke_forwarder_name() == f"/govsync/{FORWARDER_NAME}"
    for region in ("us-east-1", "eu-west-1"):
        assert fnmatch.fnmatchcase(FORWARDER_NAME.replace("${AWS::Region}", region), HUB_ADMITS_FORWARDERS)


def test_the_hub_may_assume_the_spoke_role_of_every_region() -> None:
    """Issue 18, 1: the spoke role is named per region, and the hub's grant covers each."""
    spoke = load_template(SPOKE_TEMPLATE)
    name = spoke["Resources"]["RegistryAccessRole"]["Properties"]["RoleName"]
    assert flatten(name) == "${RoleName}-${AWS::Region}"


def test_template_check_reports_todays_wide_grants() -> None:
    """The check itself: the grants this issue removed are each reported."""
    template = load_template(SAM_TEMPLATE)
    resources = template["Resources"]
    webhook = resources["GovernanceWebhookRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    for statement in webhook:
        statement.pop("Condition", None)
    for resource in resources.values():
        if resource["Type"] == "AWS::IAM::Role":
            for policy in resource["Properties"].get("Policies", []):
                for statement in policy["PolicyDocument"]["Statement"]:
                    if statement.get("Sid") == "RegistryAccounts":
                        statement.pop("Condition", None)
    resources["SpokeAccountsBusPolicy"]["Properties"]["Statement"]["Principal"] = "*"
    resources["SpokeAccountsBusPolicy"]["Properties"]["Statement"]["Condition"] = {
        "StringEquals": {"aws:PrincipalOrgID": {"Ref": "SpokeOrganizationId"}}
    }
    found = problems(template)
    assert any("dynamodb:LeadingKeys" in problem for problem in found), found
    assert sum("not pinned to SpokeAccountIds" in problem for problem in found) == 5, found
    assert any("admits any principal" in problem for problem in found), found
    assert any("other than the forwarding roles" in problem for problem in found), found
    assert any("admits events:source any" in problem for problem in found), found
    resources["SpokeAccountsBusPolicy"]["Properties"]["EventBusName"] = "default"
    assert any("opens the default bus" in problem for problem in problems(template))


if __name__ == "__main__":
    paths = [Path(arg) for arg in sys.argv[1:]] or [SAM_TEMPLATE]
    failed = False
    for template_path in paths:
        for problem in problems(load_template(template_path)):
            print(f"{template_path.name}: {problem}")
            failed = True
    sys.exit(1 if failed else 0)
