"""Least privilege in the hub templates (issue 13): the webhook's role reaches only its own idempotency keys,
sts:AssumeRole reaches only the listed spoke accounts, and govsync's own spoke bus (never the default one) admits
only the spokes' forwarding roles (whose fixed name spoke.yaml gives them) and only the event types govsync's
rules read (issue 18, 3). The model-link role (issue 16) is granted exactly what opening a link needs (its log
group, tracing, the link keys, GetItem on the links table, the registries scan and the spoke roles), and only
the functions that sign or verify model links may read their keys. The approval-propagation role may put
events only on govsync's governance decision bus (local/wiring.json "decision_bus"), only as source `govsync`
(`events:PutEvents` with an `events:source` condition), and no other role may put events on that bus.

Issue 21: the spoke role (infra/spoke.yaml) is granted exactly the reads that bind an approval to its artifact
(`s3:GetObject`/`s3:GetObjectVersion` on the objects and `s3:ListBucket` on the buckets ArtifactBuckets names,
none when it is empty; `ecr:DescribeImages` on this account's repositories ArtifactImageRepositories names)
and that report what is serving (`sagemaker:ListEndpoints`, and `DescribeEndpoint`, `ListTags`,
`DescribeEndpointConfig`, `DescribeModel` on their own resource types); the hub's roles hold none of these
(they reach every registry through the spoke role), and no role of any template may write to SageMaker
hosting (create, update, delete or stop an endpoint, its config or a model) or hold an S3 or ECR action
beyond those reads.

Run by pytest on infra/template.yaml, infra/spoke.yaml and, when `cdk synth` has written it, the CDK template;
also runnable as `python test_least_privilege_template.py TEMPLATE...` (infra/validate.sh; a template with a
HubAccountId parameter is checked as a spoke), exiting 1 naming every problem.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import re
import sys
from pathlib import Path
from typing import Any, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_wiring_matches_template import load_template, load_wiring  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SAM_TEMPLATE = REPO / "infra" / "template.yaml"
CDK_TEMPLATE = REPO / "infra" / "cdk" / "cdk.out" / "Govsync.template.json"
SPOKE_TEMPLATE = REPO / "infra" / "spoke.yaml"
IDEMPOTENCY_SOURCE = REPO / "shared" / "core" / "src" / "idempotency.rs"
WEBHOOK_FUNCTION = "govsync-governance-webhook"
MODEL_LINK_FUNCTION = "govsync-model-link"
_ARN = "arn:${AWS::Partition}"
_REGIONAL = "${AWS::Region}:${AWS::AccountId}"
MODEL_LINK_KEYS_ARN = f"{_ARN}:secretsmanager:{_REGIONAL}:secret:govsync/model-link-keys-??????"
# What the model-link role may do, as (action, resource); "<log group>" is the function's own log group.
MODEL_LINK_GRANTS = {
    ("logs:CreateLogStream", "<log group>"),
    ("logs:PutLogEvents", "<log group>"),
    ("xray:PutTraceSegments", "*"),
    ("xray:PutTelemetryRecords", "*"),
    ("secretsmanager:GetSecretValue", MODEL_LINK_KEYS_ARN),
    ("dynamodb:GetItem", f"{_ARN}:dynamodb:{_REGIONAL}:table/govsync-links"),
    ("dynamodb:Scan", f"{_ARN}:dynamodb:{_REGIONAL}:table/govsync-registries"),
    ("sts:AssumeRole", f"{_ARN}:iam::*:role/govsync/${{SpokeRoleName}}-*"),
}
# The functions that sign (registry-events, reconciler) or verify (model-link) model links: only their roles
# may read the keys.
MODEL_LINK_KEY_READERS = {"govsync-registry-events", "govsync-reconciler", MODEL_LINK_FUNCTION}
# The one publisher of governance decision events, the bus it publishes on and the source it publishes as
# (govsync_core::decision_event::SOURCE).
DECISION_PUBLISHER = "govsync-approval-propagation"
DECISION_BUS = load_wiring()["decision_bus"]
DECISION_SOURCE = "govsync"
PUT_EVENTS = "events:PutEvents"
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


def function_role(template: dict[str, Any], function_name: str) -> str:
    """The logical id of the role the function named `function_name` runs as."""
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        if properties.get("FunctionName") == function_name:
            return properties["Role"]["Fn::GetAtt"][0]
    raise AssertionError(f"no function named {function_name}")


def webhook_role(template: dict[str, Any]) -> str:
    return function_role(template, WEBHOOK_FUNCTION)


def _log_group_of(template: dict[str, Any], function_name: str) -> str | None:
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        if properties.get("FunctionName") == function_name:
            group = (properties.get("LoggingConfig") or {}).get("LogGroup")
            return group.get("Ref") if isinstance(group, dict) else None
    return None


def _grant_resource(resource: Any, log_group: str | None) -> str:
    """A statement resource as MODEL_LINK_GRANTS writes it: the function's log group ARN as "<log group>"."""
    if log_group is not None:
        if isinstance(resource, dict) and resource.get("Fn::GetAtt") == [log_group, "Arn"]:
            return "<log group>"
        if flatten(resource) == f"${{{log_group}.Arn}}":
            return "<log group>"
    return flatten(resource)


def role_grants(template: dict[str, Any], role: str, log_group: str | None = None) -> dict[tuple[str, str], list[Any]]:
    """(action, resource) → the conditions of the statements granting it, for every Allow of `role`
    (a conditional statement's branches included)."""
    grants: dict[tuple[str, str], list[Any]] = {}
    for owner, statement in role_statements(template):
        if owner != role:
            continue
        branches_of = statement["Fn::If"][1:] if isinstance(statement, dict) and "Fn::If" in statement else [statement]
        for branch in branches_of:
            if not isinstance(branch, dict) or branch.get("Effect") != "Allow":
                continue
            for action in as_list(branch.get("Action", [])):
                for resource in as_list(branch.get("Resource", [])):
                    grants.setdefault((action, _grant_resource(resource, log_group)), []).append(branch.get("Condition"))
    return grants


def model_link_problems(template: dict[str, Any]) -> list[str]:
    """The model-link role is granted exactly MODEL_LINK_GRANTS, with sts:AssumeRole pinned to the spoke
    accounts; the model-link keys are readable only by MODEL_LINK_KEY_READERS' roles."""
    found: list[str] = []
    function_names = {
        resource.get("Properties", {}).get("FunctionName")
        for resource in template["Resources"].values()
        if resource.get("Type") in ("AWS::Serverless::Function", "AWS::Lambda::Function")
    }
    if MODEL_LINK_FUNCTION not in function_names:
        return [f"no function named {MODEL_LINK_FUNCTION}"]
    role = function_role(template, MODEL_LINK_FUNCTION)
    grants = role_grants(template, role, _log_group_of(template, MODEL_LINK_FUNCTION))
    for action, resource in sorted(set(grants) - MODEL_LINK_GRANTS):
        found.append(f"{role}: {action} on {resource} is more than opening a model link needs")
    for action, resource in sorted(MODEL_LINK_GRANTS - set(grants)):
        found.append(f"{role}: lacks {action} on {resource}, which opening a model link needs")
    for (action, resource), conditions in sorted(grants.items()):
        if action == "sts:AssumeRole":
            for condition in conditions:
                if (condition or {}).get("StringEquals", {}).get("aws:ResourceAccount") != {"Ref": "SpokeAccountIds"}:
                    found.append(f"{role}: sts:AssumeRole on {resource} is not pinned to SpokeAccountIds")
        elif any(condition for condition in conditions):
            found.append(f"{role}: {action} on {resource} carries an unexpected condition")

    readers = {
        function_name
        for function_name in function_names
        if isinstance(function_name, str)
        and ("secretsmanager:GetSecretValue", MODEL_LINK_KEYS_ARN) in role_grants(template, function_role(template, function_name))
    }
    for function_name in sorted(readers - MODEL_LINK_KEY_READERS):
        found.append(f"{function_name}: may read the model-link keys, but neither signs nor verifies model links")
    for function_name in sorted(MODEL_LINK_KEY_READERS - readers):
        found.append(f"{function_name}: cannot read the model-link keys ({MODEL_LINK_KEYS_ARN})")
    return found


def _allows(action: Any, wanted: str) -> bool:
    """Whether a statement's action (possibly a wildcard, `events:*`, `*`) allows `wanted`."""
    return isinstance(action, str) and fnmatch.fnmatchcase(wanted.lower(), action.lower())


def _is_decision_bus(template: dict[str, Any], resource: Any) -> bool:
    """A statement resource naming the decision bus: Fn::GetAtt/Ref of the template's bus of that name, or
    an ARN ending in event-bus/<name>."""
    if isinstance(resource, dict) and ("Fn::GetAtt" in resource or "Ref" in resource):
        target = resource.get("Fn::GetAtt", [resource.get("Ref")])
        logical_id = target[0] if isinstance(target, list) else str(target).split(".", 1)[0]
        bus = template["Resources"].get(logical_id, {})
        return bus.get("Type") == "AWS::Events::EventBus" and bus.get("Properties", {}).get("Name") == DECISION_BUS
    return flatten(resource).endswith(f":event-bus/{DECISION_BUS}")


def decision_event_problems(template: dict[str, Any]) -> list[str]:
    """The approval-propagation role has exactly one grant to put events: events:PutEvents alone, on the
    decision bus alone, under StringEquals events:source govsync and no other condition; no other role may put
    events on the decision bus (or on every bus)."""
    found: list[str] = []
    buses = [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") == "AWS::Events::EventBus" and resource.get("Properties", {}).get("Name") == DECISION_BUS
    ]
    if len(buses) != 1:
        return [f"{len(buses)} event buses named {DECISION_BUS}, want one"]
    publisher = function_role(template, DECISION_PUBLISHER)
    granted = 0
    for owner, statement in role_statements(template):
        branches_of = statement["Fn::If"][1:] if isinstance(statement, dict) and "Fn::If" in statement else [statement]
        for branch in branches_of:
            if not isinstance(branch, dict) or branch.get("Effect") != "Allow":
                continue
            actions = as_list(branch.get("Action", []))
            if not any(_allows(action, PUT_EVENTS) for action in actions):
                continue
            resources = as_list(branch.get("Resource", []))
            on_decision_bus = any(resource == "*" or _is_decision_bus(template, resource) for resource in resources)
            if owner != publisher:
                if on_decision_bus:
                    found.append(f"{owner}: may put events on {DECISION_BUS}, where only {DECISION_PUBLISHER} publishes")
                continue
            granted += 1
            where = f"{owner} statement {branch.get('Sid', '(no Sid)')}"
            if actions != [PUT_EVENTS]:
                found.append(f"{where}: actions {actions}, not {PUT_EVENTS} alone")
            if len(resources) != 1 or not _is_decision_bus(template, resources[0]):
                found.append(f"{where}: {PUT_EVENTS} on {[flatten(r) for r in resources]}, not the {DECISION_BUS} bus alone")
            condition = branch.get("Condition") or {}
            source = (condition.get("StringEquals") or {}).get("events:source")
            if as_list(source) != [DECISION_SOURCE] or set(condition) != {"StringEquals"} or set(condition["StringEquals"]) != {
                "events:source"
            }:
                found.append(f"{where}: condition {condition!r}, not StringEquals events:source {DECISION_SOURCE} alone")
    if granted == 0:
        found.append(f"{publisher}: lacks {PUT_EVENTS} on the {DECISION_BUS} bus: no governance decision event can be published")
    elif granted > 1:
        found.append(f"{publisher}: {granted} statements allow {PUT_EVENTS}, want one")
    return found


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
    return found + model_link_problems(template) + decision_event_problems(template)


# ------------------------------------------------------------------ issue 21: artifact and serving reads
SPOKE_ROLE = "RegistryAccessRole"
ARTIFACT_BUCKETS = "ArtifactBuckets"
ARTIFACT_IMAGE_REPOSITORIES = "ArtifactImageRepositories"
_SAGEMAKER = "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}"
# What the serving report reads (the reconciler's deep pass), whatever the parameters: (action, resource).
SERVING_READS = {
    ("sagemaker:ListEndpoints", "*"),
    ("sagemaker:DescribeEndpoint", f"{_SAGEMAKER}:endpoint/*"),
    ("sagemaker:ListTags", f"{_SAGEMAKER}:endpoint/*"),
    ("sagemaker:DescribeEndpointConfig", f"{_SAGEMAKER}:endpoint-config/*"),
    ("sagemaker:DescribeModel", f"{_SAGEMAKER}:model/*"),
}
# The only S3 and ECR actions any govsync role may hold: HeadObject (with and without VersionId),
# ListObjectsV2 and DescribeImages (S3 API Reference, HeadObject / ListObjectsV2 "Permissions"; ECR API
# Reference, DescribeImages).
ARTIFACT_READ_ACTIONS = {"s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "ecr:DescribeImages"}
# SageMaker hosting writes govsync never makes (it reports what serves, never changes it); wildcard grants
# are matched against these, other granted names against HOSTING_WRITE.
HOSTING_WRITE_SAMPLES = (
    "sagemaker:CreateEndpoint",
    "sagemaker:CreateEndpointConfig",
    "sagemaker:UpdateEndpoint",
    "sagemaker:UpdateEndpointWeightsAndCapacities",
    "sagemaker:DeleteEndpoint",
    "sagemaker:DeleteEndpointConfig",
    "sagemaker:CreateModel",
    "sagemaker:DeleteModel",
)
HOSTING_WRITE = re.compile(r"^sagemaker:((Create|Update|Delete|Stop)\w*Endpoint\w*|CreateModel|DeleteModel)$", re.IGNORECASE)
_OMITTED = object()


def _parameter_value(template: dict[str, Any], name: str, given: dict[str, Any]) -> Any:
    """A parameter's value as deployed: given, else its default; a CommaDelimitedList as a list."""
    if name in given:
        value = given[name]
    else:
        value = template["Parameters"][name].get("Default", "")
    if template["Parameters"][name].get("Type") == "CommaDelimitedList" and isinstance(value, str):
        return value.split(",")
    return value


def condition_holds(template: dict[str, Any], name: str, given: dict[str, Any]) -> bool:
    return deployed(template, template["Conditions"][name], given) is True


def deployed(template: dict[str, Any], value: Any, given: dict[str, Any]) -> Any:
    """A template value as CloudFormation deploys it with the `given` parameter values (others at their
    defaults): Fn::If, Ref, Fn::Join, Fn::Split, Fn::Select, Fn::Sub and the condition functions evaluated,
    AWS::NoValue dropped; pseudo parameters and attributes stay as `${Name}`."""
    if isinstance(value, list):
        items = [deployed(template, item, given) for item in value]
        return [item for item in items if item is not _OMITTED]
    if not isinstance(value, dict):
        return value
    if len(value) != 1:
        items = {key: deployed(template, item, given) for key, item in value.items()}
        return {key: item for key, item in items.items() if item is not _OMITTED}
    ((function, argument),) = value.items()
    if function == "Ref":
        if argument == "AWS::NoValue":
            return _OMITTED
        if argument in template.get("Parameters", {}):
            return _parameter_value(template, argument, given)
        return "${" + argument + "}"
    if function == "Fn::GetAtt":
        return "${" + ".".join(as_list(argument)) + "}"
    if function in ("Condition", "Fn::Condition"):
        return condition_holds(template, argument, given)
    if function == "Fn::If":
        name, when_true, when_false = argument
        return deployed(template, when_true if condition_holds(template, name, given) else when_false, given)
    if function in ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or"):
        values = [deployed(template, item, given) for item in argument]
        if function == "Fn::Equals":
            return values[0] == values[1]
        if function == "Fn::Not":
            return values[0] is not True
        return all(v is True for v in values) if function == "Fn::And" else any(v is True for v in values)
    if function == "Fn::Join":
        delimiter, items = argument
        return delimiter.join(str(item) for item in as_list(deployed(template, items, given)))
    if function == "Fn::Split":
        delimiter, text = argument
        return str(deployed(template, text, given)).split(delimiter)
    if function == "Fn::Select":
        index, items = argument
        return as_list(deployed(template, items, given))[int(deployed(template, index, given))]
    if function == "Fn::Sub":
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        values = {key: deployed(template, item, given) for key, item in variables.items()}

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in values:
                return str(values[name])
            if name in template.get("Parameters", {}):
                return ",".join(as_list(_parameter_value(template, name, given)))
            return match.group(0)

        return re.sub(r"\$\{([^}!]+)\}", substitute, text)
    return {function: deployed(template, argument, given)}


def deployed_grants(template: dict[str, Any], role: str, given: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(action, resource, condition as JSON) for every Allow of `role` as deployed with `given`."""
    grants: set[tuple[str, str, str]] = set()
    for owner, statement in role_statements(template):
        if owner != role:
            continue
        statement = deployed(template, statement, given)
        if statement is _OMITTED or not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        condition = json.dumps(statement.get("Condition") or {}, sort_keys=True)
        for action in as_list(statement.get("Action", [])):
            for resource in as_list(statement.get("Resource", [])):
                grants.add((action, resource, condition))
    return grants


_OWN_ACCOUNT = json.dumps({"StringEquals": {"aws:ResourceAccount": "${AWS::AccountId}"}}, sort_keys=True)


def _normalised(action: str, resource: str, condition: str) -> tuple[str, str, str]:
    """One grant with this partition written `${AWS::Partition}` however the template wrote it (`*`, `aws*`: a
    role's credentials reach no other partition), and an ARN's `*` account pinned to this account by
    `aws:ResourceAccount` written as that account, the condition then dropped."""
    parts = resource.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn":
        if parts[1] in ("*", "aws*"):
            parts[1] = "${AWS::Partition}"
        if parts[4] == "*" and condition == _OWN_ACCOUNT:
            parts[4], condition = "${AWS::AccountId}", "{}"
        resource = ":".join(parts)
    return action, resource, condition


def _in_issue_21_scope(action: str, resource: str) -> bool:
    """An S3 or ECR grant, a SageMaker hosting action, or any grant on a hosting resource."""
    hosting = ":sagemaker:" in resource and re.search(r":(endpoint|endpoint-config|model)/[^:]*$", resource)
    service = action.split(":", 1)[0]
    serving = {read for read, _ in SERVING_READS} - {"sagemaker:ListTags"}
    return fnmatch.fnmatchcase("s3", service) or fnmatch.fnmatchcase("ecr", service) or action in serving or bool(hosting)


def expected_artifact_and_serving_grants(buckets: list[str], repositories: list[str]) -> set[tuple[str, str, str]]:
    """What the spoke role must be granted of issue 21's reads, normalised, for these parameter values."""
    wanted = {(action, resource, "{}") for action, resource in SERVING_READS}
    for bucket in [b for b in buckets if b]:
        wanted |= {
            ("s3:GetObject", f"arn:${{AWS::Partition}}:s3:::{bucket}/*", "{}"),
            ("s3:GetObjectVersion", f"arn:${{AWS::Partition}}:s3:::{bucket}/*", "{}"),
            ("s3:ListBucket", f"arn:${{AWS::Partition}}:s3:::{bucket}", "{}"),
        }
    for repository in repositories:
        wanted.add(("ecr:DescribeImages", f"arn:${{AWS::Partition}}:ecr:*:${{AWS::AccountId}}:repository/{repository}", "{}"))
    return wanted


# Parameter values the spoke is checked with: the defaults, and buckets and repositories named.
SPOKE_SCENARIOS = (
    {},
    {ARTIFACT_BUCKETS: "models-a,models-b.eu-west-1", ARTIFACT_IMAGE_REPOSITORIES: "fraud-scorer,team-a/*"},
    {ARTIFACT_BUCKETS: "models-a"},
)


def spoke_artifact_and_serving_problems(spoke: dict[str, Any]) -> list[str]:
    """The spoke role's S3, ECR and SageMaker hosting grants are exactly issue 21's reads for each scenario:
    none of S3 when ArtifactBuckets is empty, and the parameters typed and defaulted as documented."""
    found: list[str] = []
    parameters = spoke.get("Parameters", {})
    for name, default in ((ARTIFACT_BUCKETS, ""), (ARTIFACT_IMAGE_REPOSITORIES, "*")):
        parameter = parameters.get(name)
        if parameter is None:
            found.append(f"no {name} parameter")
        elif parameter.get("Type") != "CommaDelimitedList" or parameter.get("Default") != default:
            found.append(f"{name}: {parameter.get('Type')} defaulting to {parameter.get('Default')!r}, not a CommaDelimitedList defaulting to {default!r}")
    if found:
        return found
    for given in SPOKE_SCENARIOS:
        buckets = [b for b in _parameter_value(spoke, ARTIFACT_BUCKETS, given) if b]
        repositories = _parameter_value(spoke, ARTIFACT_IMAGE_REPOSITORIES, given)
        granted = {
            _normalised(*grant) for grant in deployed_grants(spoke, SPOKE_ROLE, given) if _in_issue_21_scope(grant[0], grant[1])
        }
        wanted = expected_artifact_and_serving_grants(buckets, repositories)
        where = f"{SPOKE_ROLE} with {given or 'the defaults'}"
        for action, resource, condition in sorted(granted - wanted):
            found.append(f"{where}: {action} on {resource} (condition {condition}) is more than the artifact and serving reads")
        for action, resource, condition in sorted(wanted - granted):
            found.append(f"{where}: lacks {action} on {resource}, which the artifact and serving reads need")
    return found


def _allow_branches(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for owner, statement in role_statements(template):
        branches_of = statement["Fn::If"][1:] if isinstance(statement, dict) and "Fn::If" in statement else [statement]
        for branch in branches_of:
            if isinstance(branch, dict) and branch.get("Effect") == "Allow":
                yield owner, branch


def hosting_and_artifact_write_problems(template: dict[str, Any]) -> list[str]:
    """No role may write to SageMaker hosting, hold an S3 or ECR action other than ARTIFACT_READ_ACTIONS, or
    allow by NotAction (everything but a list)."""
    found: set[str] = set()
    for owner, branch in _allow_branches(template):
        if "NotAction" in branch:
            found.add(f"{owner}: allows by NotAction, which grants every action not listed")
        for action in as_list(branch.get("Action", [])):
            if not isinstance(action, str):
                continue
            service = action.split(":", 1)[0]
            if (fnmatch.fnmatchcase("s3", service.lower()) or fnmatch.fnmatchcase("ecr", service.lower())) and action not in ARTIFACT_READ_ACTIONS:
                found.add(f"{owner}: {action} reaches S3 or ECR beyond the artifact reads {sorted(ARTIFACT_READ_ACTIONS)}")
            if HOSTING_WRITE.match(action) or any(_allows(action, write) for write in HOSTING_WRITE_SAMPLES):
                found.add(f"{owner}: {action} writes to SageMaker hosting; govsync only reports what is serving")
    return sorted(found)


def hub_registry_read_problems(template: dict[str, Any]) -> list[str]:
    """The hub's roles reach registries only through the spoke role: none holds an artifact or serving read
    itself (it would go unused, and would reach the hub account's artifacts without the spoke's parameters)."""
    serving = {action for action, _ in SERVING_READS}
    found: set[str] = set()
    for owner, branch in _allow_branches(template):
        for action in as_list(branch.get("Action", [])):
            if action in ARTIFACT_READ_ACTIONS or (action in serving and action != "sagemaker:ListTags"):
                found.add(f"{owner}: {action} in the hub; artifact and serving reads belong to the spoke role")
            if action == "sagemaker:ListTags":
                found.add(f"{owner}: {action} in the hub; registry reads belong to the spoke role")
    return sorted(found)


def spoke_problems(spoke: dict[str, Any]) -> list[str]:
    return spoke_artifact_and_serving_problems(spoke) + hosting_and_artifact_write_problems(spoke)


def template_problems(template: dict[str, Any]) -> list[str]:
    """Every problem of a hub template, or of a spoke (a template with a HubAccountId parameter)."""
    if "HubAccountId" in template.get("Parameters", {}):
        return spoke_problems(template)
    return problems(template) + hosting_and_artifact_write_problems(template) + hub_registry_read_problems(template)


def spoke_forwarder_name() -> str:
    spoke = load_template(SPOKE_TEMPLATE)
    role = spoke["Resources"]["ForwardRole"]["Properties"]
    return f"{role.get('Path', '/')}{flatten(role.get('RoleName'))}"


def test_sam_template_grants_least_privilege() -> None:
    assert template_problems(load_template(SAM_TEMPLATE)) == []


def test_cdk_template_grants_least_privilege() -> None:
    # Only once `cdk synth` has run (infra/validate.sh runs this file on its output in any case).
    if CDK_TEMPLATE.exists():
        assert template_problems(load_template(CDK_TEMPLATE)) == []


def test_spoke_template_grants_least_privilege() -> None:
    assert template_problems(load_template(SPOKE_TEMPLATE)) == []


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
    # The six roles that assume spoke roles, the model-link role's own check counting it once more.
    assert sum("not pinned to SpokeAccountIds" in problem for problem in found) == 7, found
    assert any("admits any principal" in problem for problem in found), found
    assert any("other than the forwarding roles" in problem for problem in found), found
    assert any("admits events:source any" in problem for problem in found), found
    resources["SpokeAccountsBusPolicy"]["Properties"]["EventBusName"] = "default"
    assert any("opens the default bus" in problem for problem in problems(template))


def _policy_statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return template["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]


def test_model_link_role_is_granted_exactly_what_opening_a_link_needs() -> None:
    template = load_template(SAM_TEMPLATE)
    assert function_role(template, MODEL_LINK_FUNCTION) == "ModelLinkRole"
    assert model_link_problems(template) == []
    assert set(role_grants(template, "ModelLinkRole", "ModelLinkLogs")) == MODEL_LINK_GRANTS


def test_model_link_check_reports_a_wider_or_narrower_grant() -> None:
    """The check itself: a write on the links table, a lost grant and a key reader too many are each reported."""
    template = load_template(SAM_TEMPLATE)
    statements = _policy_statements(template, "ModelLinkRole")
    for statement in statements:
        if statement.get("Sid") == "Links":
            statement["Action"] = ["dynamodb:GetItem", "dynamodb:PutItem"]
    template["Resources"]["ModelLinkRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"] = [
        statement for statement in statements if statement.get("Sid") != "Registries"
    ]
    _policy_statements(template, "GovernancePollerRole").append(
        {
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": {"Fn::Sub": MODEL_LINK_KEYS_ARN},
        }
    )
    _policy_statements(template, "ReconcilerRole")[:] = [
        statement for statement in _policy_statements(template, "ReconcilerRole") if statement.get("Sid") != "ModelLinkKeys"
    ]
    found = model_link_problems(template)
    assert any("dynamodb:PutItem" in problem and "more than" in problem for problem in found), found
    assert any("lacks dynamodb:Scan" in problem for problem in found), found
    assert any(problem.startswith("govsync-governance-poller: may read the model-link keys") for problem in found), found
    assert any(problem.startswith("govsync-reconciler: cannot read the model-link keys") for problem in found), found


def _decision_statement(template: dict[str, Any]) -> dict[str, Any]:
    (statement,) = [s for s in _policy_statements(template, "ApprovalPropagationRole") if s.get("Sid") == "DecisionEvents"]
    return statement


def test_approval_propagation_puts_only_govsync_events_on_the_decision_bus() -> None:
    template = load_template(SAM_TEMPLATE)
    assert function_role(template, DECISION_PUBLISHER) == "ApprovalPropagationRole"
    assert decision_event_problems(template) == []
    assert _decision_statement(template) == {
        "Sid": "DecisionEvents",
        "Effect": "Allow",
        "Action": PUT_EVENTS,
        "Resource": {"Fn::GetAtt": ["DecisionBus", "Arn"]},
        "Condition": {"StringEquals": {"events:source": DECISION_SOURCE}},
    }
    assert template["Resources"]["DecisionBus"]["Properties"]["Name"] == DECISION_BUS
    # The function publishes on that bus.
    variables = template["Resources"]["ApprovalPropagationFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["GOVSYNC_DECISION_BUS"] == {"Ref": "DecisionBus"}


def test_cdk_approval_propagation_puts_only_govsync_events_on_the_decision_bus() -> None:
    # Only once `cdk synth` has run (infra/validate.sh runs this file on its output in any case).
    if not CDK_TEMPLATE.exists():
        return
    template = load_template(CDK_TEMPLATE)
    assert decision_event_problems(template) == []
    role = function_role(template, DECISION_PUBLISHER)
    (bus,) = [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Events::EventBus" and resource["Properties"].get("Name") == DECISION_BUS
    ]
    put = [
        statement
        for owner, statement in role_statements(template)
        if owner == role and PUT_EVENTS in as_list(statement.get("Action", []))
    ]
    assert put == [
        {
            "Sid": "DecisionEvents",
            "Effect": "Allow",
            "Action": PUT_EVENTS,
            "Resource": {"Fn::GetAtt": [bus, "Arn"]},
            "Condition": {"StringEquals": {"events:source": DECISION_SOURCE}},
        }
    ]


def test_decision_event_check_reports_a_wider_or_missing_grant() -> None:
    """The check itself: no source condition, another bus or every bus, another action, another publisher and
    a lost grant are each reported."""
    template = load_template(SAM_TEMPLATE)
    statement = _decision_statement(template)
    statement.pop("Condition")
    statement["Resource"] = [statement["Resource"], {"Fn::GetAtt": ["SpokeEventBus", "Arn"]}]
    statement["Action"] = [PUT_EVENTS, "events:PutRule"]
    _policy_statements(template, "ReconcilerRole").append(
        {"Effect": "Allow", "Action": "events:*", "Resource": {"Fn::GetAtt": ["DecisionBus", "Arn"]}}
    )
    found = decision_event_problems(template)
    assert any("not StringEquals events:source govsync" in problem for problem in found), found
    assert any("not the govsync-decisions bus alone" in problem for problem in found), found
    assert any("not events:PutEvents alone" in problem for problem in found), found
    assert any(problem.startswith("ReconcilerRole: may put events on govsync-decisions") for problem in found), found

    template = load_template(SAM_TEMPLATE)
    _decision_statement(template)["Resource"] = "*"
    _decision_statement(template)["Condition"] = {"StringEquals": {"events:source": ["govsync", "aws.sagemaker"]}}
    found = decision_event_problems(template)
    assert any("not the govsync-decisions bus alone" in problem for problem in found), found
    assert any("not StringEquals events:source govsync" in problem for problem in found), found

    template = load_template(SAM_TEMPLATE)
    _policy_statements(template, "ApprovalPropagationRole")[:] = [
        s for s in _policy_statements(template, "ApprovalPropagationRole") if s.get("Sid") != "DecisionEvents"
    ]
    assert decision_event_problems(template) == [
        "ApprovalPropagationRole: lacks events:PutEvents on the govsync-decisions bus: no governance decision event can be published"
    ]


def _spoke_statements(spoke: dict[str, Any]) -> list[Any]:
    return spoke["Resources"][SPOKE_ROLE]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]


def _spoke_statement(spoke: dict[str, Any], sid: str) -> dict[str, Any]:
    for statement in _spoke_statements(spoke):
        branch = statement["Fn::If"][1] if "Fn::If" in statement else statement
        if branch.get("Sid") == sid:
            return branch
    raise AssertionError(f"no statement {sid}")


def test_the_deployed_value_of_a_list_parameter_prefixed_into_arns() -> None:
    """The evaluator the spoke checks rely on: Fn::Split of Fn::Join over a CommaDelimitedList, Fn::If on a
    condition of the template, AWS::NoValue dropped."""
    spoke = load_template(SPOKE_TEMPLATE)
    resource = _spoke_statement(spoke, "ListArtifactPrefixes")["Resource"]
    assert deployed(spoke, resource, {ARTIFACT_BUCKETS: "a,b"}) == ["arn:*:s3:::a", "arn:*:s3:::b"]
    assert condition_holds(spoke, "HasArtifactBuckets", {ARTIFACT_BUCKETS: "a"})
    assert not condition_holds(spoke, "HasArtifactBuckets", {})
    statements = deployed(spoke, _spoke_statements(spoke), {})
    assert not any(statement.get("Sid") == "ReadArtifactObjects" for statement in statements)


def test_the_spoke_role_is_granted_exactly_the_artifact_and_serving_reads() -> None:
    spoke = load_template(SPOKE_TEMPLATE)
    assert spoke_artifact_and_serving_problems(spoke) == []
    assert hosting_and_artifact_write_problems(spoke) == []
    # Empty ArtifactBuckets: no S3 grant at all (the artifacts are reported unverifiable).
    by_default = deployed_grants(spoke, SPOKE_ROLE, {})
    assert not [grant for grant in by_default if grant[0].startswith("s3:")]
    own_account = json.dumps({"StringEquals": {"aws:ResourceAccount": "${AWS::AccountId}"}}, sort_keys=True)
    assert ("ecr:DescribeImages", "arn:*:ecr:*:*:repository/*", own_account) in by_default
    named = deployed_grants(spoke, SPOKE_ROLE, {ARTIFACT_BUCKETS: "models-a", ARTIFACT_IMAGE_REPOSITORIES: "fraud"})
    assert {grant for grant in named if grant[0].startswith(("s3:", "ecr:"))} == {
        ("s3:GetObject", "arn:*:s3:::models-a/*", "{}"),
        ("s3:GetObjectVersion", "arn:*:s3:::models-a/*", "{}"),
        ("s3:ListBucket", "arn:*:s3:::models-a", "{}"),
        ("ecr:DescribeImages", "arn:*:ecr:*:*:repository/fraud", own_account),
    }
    # The functions that read artifacts and endpoints may assume the role.
    trust = spoke["Resources"][SPOKE_ROLE]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    principals = {flatten(arn).rsplit("/", 1)[1] for arn in trust["Condition"]["ArnEquals"]["aws:PrincipalArn"]}
    assert {"govsync-approval-propagation", "govsync-registry-events", "govsync-reconciler"} <= principals


def test_the_artifact_check_reports_a_wider_narrower_or_unpinned_grant() -> None:
    """The check itself: an unconditional S3 grant, an ECR grant on every account, a hosting write, a lost
    serving read and an S3 write are each reported."""
    spoke = copy.deepcopy(load_template(SPOKE_TEMPLATE))
    statements = _spoke_statements(spoke)
    for index, statement in enumerate(statements):
        if "Fn::If" in statement and statement["Fn::If"][1].get("Sid") == "ReadArtifactObjects":
            statements[index] = statement["Fn::If"][1]
            statements[index]["Action"] = [*statements[index]["Action"], "s3:PutObject"]
    _spoke_statement(spoke, "ReadImageDigests").pop("Condition")
    _spoke_statement(spoke, "ReadEndpoints")["Action"] = ["sagemaker:DescribeEndpoint", "sagemaker:ListTags", "sagemaker:UpdateEndpoint"]
    statements[:] = [s for s in statements if s.get("Sid") != "ReadServedModels"]
    found = spoke_artifact_and_serving_problems(spoke)
    assert any("with the defaults: s3:GetObject on arn:${AWS::Partition}:s3:::/*" in p and "more than" in p for p in found), found
    assert any("ecr:DescribeImages on arn:${AWS::Partition}:ecr:*:*:repository/*" in p and "more than" in p for p in found), found
    assert any("sagemaker:UpdateEndpoint on" in p and "more than" in p for p in found), found
    assert any("lacks sagemaker:DescribeModel" in p for p in found), found
    writes = hosting_and_artifact_write_problems(spoke)
    assert any("s3:PutObject reaches S3 or ECR beyond" in p for p in writes), writes
    assert any("sagemaker:UpdateEndpoint writes to SageMaker hosting" in p for p in writes), writes

    missing = copy.deepcopy(load_template(SPOKE_TEMPLATE))
    del missing["Parameters"][ARTIFACT_BUCKETS]
    missing["Parameters"][ARTIFACT_IMAGE_REPOSITORIES]["Default"] = ""
    found = spoke_artifact_and_serving_problems(missing)
    assert f"no {ARTIFACT_BUCKETS} parameter" in found, found
    assert any(p.startswith(f"{ARTIFACT_IMAGE_REPOSITORIES}: ") for p in found), found


def test_no_template_lets_govsync_write_to_hosting_s3_or_ecr() -> None:
    templates = [load_template(SAM_TEMPLATE), load_template(SPOKE_TEMPLATE)]
    if CDK_TEMPLATE.exists():
        templates.append(load_template(CDK_TEMPLATE))
    for template in templates:
        assert hosting_and_artifact_write_problems(template) == []
        assert "HubAccountId" in template["Parameters"] or hub_registry_read_problems(template) == []


def test_the_write_check_reports_wildcards_and_hub_reads() -> None:
    template = load_template(SAM_TEMPLATE)
    _policy_statements(template, "ReconcilerRole").extend(
        [
            {"Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"},
            {"Effect": "Allow", "Action": ["s3:Get*", "ecr:DescribeImages"], "Resource": "*"},
            {"Effect": "Allow", "Action": "sagemaker:DeleteEndpointConfig", "Resource": "*"},
            {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
        ]
    )
    _policy_statements(template, "DecommissionRole").append(
        {"Effect": "Allow", "Action": "sagemaker:ListEndpoints", "Resource": "*"}
    )
    found = hosting_and_artifact_write_problems(template)
    assert "ReconcilerRole: sagemaker:* writes to SageMaker hosting; govsync only reports what is serving" in found, found
    assert any(p.startswith("ReconcilerRole: s3:Get* reaches S3 or ECR") for p in found), found
    assert any(p.startswith("ReconcilerRole: sagemaker:DeleteEndpointConfig writes") for p in found), found
    assert any("NotAction" in p for p in found), found
    hub = hub_registry_read_problems(template)
    assert any(p.startswith("ReconcilerRole: ecr:DescribeImages in the hub") for p in hub), hub
    assert any(p.startswith("DecommissionRole: sagemaker:ListEndpoints in the hub") for p in hub), hub


if __name__ == "__main__":
    paths = [Path(arg) for arg in sys.argv[1:]] or [SAM_TEMPLATE]
    failed = False
    for template_path in paths:
        for problem in template_problems(load_template(template_path)):
            print(f"{template_path.name}: {problem}")
            failed = True
    sys.exit(1 if failed else 0)


def test_the_spoke_role_may_batch_describe_exactly_the_versions_it_may_describe() -> None:
    # Issue 17: the reconciler's fast pass reads summaries with BatchDescribeModelPackage; the spoke grants it
    # on the same versions as DescribeModelPackage, in its own account and Region only.
    spoke = load_template(SPOKE_TEMPLATE)
    grants = deployed_grants(spoke, SPOKE_ROLE, {})
    resources = lambda action: {resource for granted, resource, _ in grants if granted == action}  # noqa: E731
    batch = resources("sagemaker:BatchDescribeModelPackage")
    assert batch, "the spoke role does not grant sagemaker:BatchDescribeModelPackage"
    assert batch == resources("sagemaker:DescribeModelPackage")
    assert all(":model-package/" in resource or ":model-package-group/" in resource for resource in batch), batch
    assert not any(resource.endswith(":*") or resource == "*" for resource in batch), batch
