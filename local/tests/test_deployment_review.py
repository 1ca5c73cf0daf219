"""What a review before a real deploy checks that the linters do not (issue 18): no EventBridge rule target can
drop an event silently (each has a dead-letter queue and a retry policy), every alarm that sums metrics counts
a silent source as 0 (FILL), a spoke's named roles carry the region (one account, several regions) and it can create the CloudTrail trail
govsync needs, and build
and deploy cannot disagree on the Lambda architecture, and the email sender is an address whose verified
identity (domain or address) is its own parameter, the one SES is granted on, no role is granted an action
no crate calls (save those AWS calls on its behalf, listed with their reason), and a hub redeployed after
`sam delete` reuses its retained, fixed-name tables and secrets (ReuseRetainedData) instead of failing on them (a committed infra/samconfig.toml, with SAM's build
output ignored by git).

Run by pytest on infra/template.yaml, infra/spoke.yaml and, when `cdk synth` has written it, the CDK template;
also runnable as `python test_deployment_review.py TEMPLATE...` (infra/validate.sh), exiting 1 naming every
problem.
"""

from __future__ import annotations

import copy
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_least_privilege_template import as_list, flatten, role_statements  # noqa: E402
from test_wiring_matches_template import load_template  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SAM_TEMPLATE = REPO / "infra" / "template.yaml"
SPOKE_TEMPLATE = REPO / "infra" / "spoke.yaml"
CDK_TEMPLATE = REPO / "infra" / "cdk" / "cdk.out" / "Govsync.template.json"
SAMCONFIG = REPO / "infra" / "samconfig.toml"
CODE_ROOTS = [REPO / "shared", REPO / "functions"]

# Actions a role needs that no govsync crate calls itself: AWS calls them on the role's behalf.
CALLED_BY_AWS = {
    "logs:CreateLogStream": "Lambda writes the function's log",
    "logs:PutLogEvents": "Lambda writes the function's log",
    "xray:PutTraceSegments": "Lambda's active tracing",
    "xray:PutTelemetryRecords": "Lambda's active tracing",
    "sqs:ReceiveMessage": "Lambda's SQS event source mapping",
    "sqs:DeleteMessage": "Lambda's SQS event source mapping",
    "sqs:GetQueueAttributes": "Lambda's SQS event source mapping",
    "sqs:GetQueueUrl": "Lambda's SQS event source mapping (the CDK's consume grant)",
    "events:PutEvents": "EventBridge forwarding a spoke's events with the forwarding role",
    "lambda:InvokeFunction": "EventBridge Scheduler invoking a scheduled function",
    "sagemaker:AddTags": "CreateModelPackageGroup with Tags is authorized as AddTags too",
    "sts:AssumeRole": "the SDK's AssumeRoleProvider (aws_config::sts)",
}
GITIGNORE = REPO / ".gitignore"


def _targets(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(where, target) for every rule target, SAM's function-event rules included."""
    found = []
    for logical_id, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Events::Rule":
            for target in properties.get("Targets", []):
                found.append((f"{logical_id} target {target.get('Id')}", target))
        if resource.get("Type") == "AWS::Serverless::Function":
            for name, event in properties.get("Events", {}).items():
                if event.get("Type") in ("EventBridgeRule", "CloudWatchEvent"):
                    found.append((f"{logical_id} event {name}", event.get("Properties", {})))
    return found


def undeliverable_drops(template: dict[str, Any]) -> list[str]:
    """Each rule target without a dead-letter queue or a retry policy: an event it cannot deliver vanishes."""
    problems = []
    for where, target in _targets(template):
        if not target.get("DeadLetterConfig"):
            problems.append(f"{where}: no DeadLetterConfig (an event it cannot deliver is dropped)")
        if not target.get("RetryPolicy"):
            problems.append(f"{where}: no RetryPolicy (EventBridge's defaults are implicit)")
    return problems


def unfilled_sums(template: dict[str, Any]) -> list[str]:
    """Each alarm whose math expression adds a metric query not wrapped in FILL(id, 0): a source that published
    nothing in a period empties the whole sum, and the alarm never fires."""
    problems = []
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::CloudWatch::Alarm":
            continue
        metrics = resource.get("Properties", {}).get("Metrics", [])
        query_ids = {m["Id"] for m in metrics if "MetricStat" in m}
        for metric in metrics:
            expression = metric.get("Expression")
            if not isinstance(expression, str):
                continue
            filled = set(re.findall(r"FILL\(\s*(\w+)\s*,", expression))
            for used in sorted(query_ids & set(re.findall(r"\b(\w+)\b", expression))):
                if used not in filled:
                    problems.append(f"{logical_id}: `{used}` is summed without FILL({used}, 0)")
    return problems


def _flat(value: Any) -> str:
    if isinstance(value, dict) and "Fn::Sub" in value:
        return str(value["Fn::Sub"])
    if isinstance(value, dict) and "Ref" in value:
        return "${" + str(value["Ref"]) + "}"
    return str(value)


def account_wide_names(template: dict[str, Any]) -> list[str]:
    """In a spoke (deployed once per account and region), each named IAM role without the region in its
    name: the second region's stack would fail on the duplicate, account-wide name."""
    if "HubAccountId" not in template.get("Parameters", {}):
        return []
    return [
        f"{logical_id}: role name {_flat(resource['Properties']['RoleName'])!r} does not include the region"
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("Type") == "AWS::IAM::Role"
        and "RoleName" in resource.get("Properties", {})
        and "${AWS::Region}" not in _flat(resource["Properties"]["RoleName"])
    ]


def _statements(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every role statement, each branch of a conditional (Fn::If) one included."""
    found = []
    for owner, statement in role_statements(template):
        if isinstance(statement, dict) and "Fn::If" in statement:
            found.extend((owner, branch) for branch in statement["Fn::If"][1:] if isinstance(branch, dict))
        else:
            found.append((owner, statement))
    return found


def sender_problems(template: dict[str, Any]) -> list[str]:
    """The email sender is an address (the function refuses anything else), and SES is granted on the verified
    identity it belongs to, a separate parameter: never an identity ARN built from the address."""
    parameters = template.get("Parameters", {})
    if "NotificationSender" not in parameters:
        return []
    found = []
    if "@" not in str(parameters["NotificationSender"].get("AllowedPattern", "")):
        found.append("NotificationSender: not constrained to an email address")
    if "NotificationSenderIdentity" not in parameters:
        found.append("no NotificationSenderIdentity parameter: the SES grant cannot name a verified domain")
    for owner, statement in _statements(template):
        if "ses:SendEmail" not in as_list(statement.get("Action", [])):
            continue
        for resource in as_list(statement.get("Resource", [])):
            text = flatten(resource)
            if "${NotificationSenderIdentity}" not in text:
                found.append(f"{owner}: ses:SendEmail on {text}, not the NotificationSenderIdentity identity")
    return found


def trail_problems(template: dict[str, Any]) -> list[str]:
    """A spoke can create the CloudTrail trail govsync needs (write management events) when asked."""
    if "HubAccountId" not in template.get("Parameters", {}):
        return []
    if "CreateTrail" not in template["Parameters"]:
        return ["no CreateTrail parameter: the CloudTrail govsync needs is left to a prerequisite line"]
    trails = [r for r in template["Resources"].values() if r.get("Type") == "AWS::CloudTrail::Trail"]
    if not trails:
        return ["CreateTrail creates no trail"]
    found = []
    for trail in trails:
        selectors = trail["Properties"].get("EventSelectors", [])
        if not any(
            sel.get("IncludeManagementEvents", True) and sel.get("ReadWriteType", "All") in ("All", "WriteOnly")
            for sel in selectors
        ):
            found.append("the spoke's trail records no write management events")
    return found


def _references(value: Any) -> set[str]:
    """Logical ids a template value refers to (Ref, Fn::GetAtt, ${Name} in Fn::Sub)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                target = inner[0] if isinstance(inner, list) else str(inner).split(".")[0]
                found.add(target)
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) else inner
                found.update(name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", str(text)))
                if isinstance(inner, list):
                    found |= _references(inner[1])
            else:
                found |= _references(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= _references(inner)
    return found


def redeploy_problems(template: dict[str, Any]) -> list[str]:
    """A hub redeployed after `sam delete` (ReuseRetainedData=true) finds its retained, fixed-name tables and
    secrets: each retained resource is created only when not reused, and nothing that always exists refers to
    one of them (a reference would fail, or would need the resource the stack no longer creates)."""
    resources = template.get("Resources", {})
    retained = {
        logical_id
        for logical_id, resource in resources.items()
        if resource.get("DeletionPolicy") == "Retain"
        and resource.get("Type") in ("AWS::DynamoDB::Table", "AWS::SecretsManager::Secret")
    }
    if not retained:
        return []
    found = []
    if "ReuseRetainedData" not in template.get("Parameters", {}):
        found.append("no ReuseRetainedData parameter: a redeploy after delete fails on the retained names")
    for logical_id in sorted(retained):
        if not resources[logical_id].get("Condition"):
            found.append(f"{logical_id}: retained with a fixed name but created unconditionally")
    for logical_id, resource in resources.items():
        if logical_id in retained or resource.get("Condition"):
            continue
        for target in sorted(_references(resource) & retained):
            found.append(f"{logical_id} refers to retained {target}: refer to it by its fixed name")
    for target in sorted(_references(template.get("Globals", {})) & retained):
        found.append(f"Globals refer to retained {target}: refer to it by its fixed name")
    for name, output in template.get("Outputs", {}).items():
        for target in sorted(_references(output) & retained):
            found.append(f"output {name} refers to retained {target}: give its fixed name")
    return found


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


def _called_operations() -> set[str]:
    """Every `.operation()` call in the workspace's Rust code (the SDK's fluent builders)."""
    called: set[str] = set()
    for root in CODE_ROOTS:
        for path in root.rglob("*.rs"):
            called.update(re.findall(r"\.([a-z][a-z0-9_]*)\(\)", path.read_text(encoding="utf-8")))
    return called


# Each table's one adapter: a grant on tables is needed only for the calls their adapters make.
TABLE_ADAPTERS = {
    "govsync-idempotency": REPO / "shared" / "adapters" / "src" / "dynamodb" / "idempotency.rs",
    "govsync-links": REPO / "shared" / "adapters" / "src" / "dynamodb" / "links.rs",
    "govsync-cursors": REPO / "shared" / "adapters" / "src" / "dynamodb" / "cursors.rs",
    "govsync-registries": REPO / "shared" / "adapters" / "src" / "registry_map.rs",
}


def _table_operations(resources: list[Any], template: dict[str, Any]) -> set[str] | None:
    """The DynamoDB calls the adapters of the tables a statement names (by ARN or by reference) make; None if
    it names no known table."""
    by_id = {
        logical_id: resource.get("Properties", {}).get("TableName")
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("Type") == "AWS::DynamoDB::Table"
    }
    named = {by_id.get(target) for resource in resources for target in _references(resource)}
    tables = [
        name
        for name in TABLE_ADAPTERS
        if name in named or any(name in flatten(resource) for resource in resources)
    ]
    if not tables:
        return None
    operations: set[str] = set()
    for name in tables:
        operations.update(re.findall(r"\.([a-z][a-z0-9_]*)\(\)", TABLE_ADAPTERS[name].read_text(encoding="utf-8")))
    return operations


def unused_permissions(template: dict[str, Any], called: set[str] | None = None) -> list[str]:
    """Each allowed action that no govsync crate calls and no AWS service calls on the role's behalf; for the
    tables, that none of the named tables' adapters calls."""
    called = _called_operations() if called is None else called
    found = set()
    for owner, statement in _statements(template):
        if statement.get("Effect") != "Allow":
            continue
        table_calls = _table_operations(as_list(statement.get("Resource", [])), template)
        for action in as_list(statement.get("Action", [])):
            if not isinstance(action, str) or action in CALLED_BY_AWS or "*" in action:
                continue
            operation = _snake(action.split(":", 1)[1])
            if action.startswith("dynamodb:") and table_calls is not None:
                if operation not in table_calls:
                    found.add(f"{owner}: {action} is granted on tables whose adapters never call {operation}")
            elif operation not in called:
                found.add(f"{owner}: {action} is granted but no crate calls {operation}")
    return sorted(found)


def problems(template: dict[str, Any]) -> list[str]:
    return (
        undeliverable_drops(template)
        + unfilled_sums(template)
        + account_wide_names(template)
        + sender_problems(template)
        + trail_problems(template)
        + redeploy_problems(template)
        + unused_permissions(template)
    )


def architecture_problems(samconfig: Path = SAMCONFIG, gitignore: Path = GITIGNORE) -> list[str]:
    """Build and deploy read one Architecture from the committed samconfig; SAM's output is not committed."""
    if not samconfig.exists():
        return [f"{samconfig.name} is missing: build and deploy may pick different architectures"]
    config = tomllib.loads(samconfig.read_text(encoding="utf-8"))
    found = []
    architectures = {}
    for command in ("build", "deploy"):
        overrides = (
            config.get("default", {}).get(command, {}).get("parameters", {}).get("parameter_overrides", "")
        )
        match = re.search(r"\bArchitecture=(\S+)", overrides if isinstance(overrides, str) else " ".join(overrides))
        if not match:
            found.append(f"{samconfig.name}: `sam {command}` does not set Architecture")
        else:
            architectures[command] = match.group(1).strip("\"'")
    if len(set(architectures.values())) > 1:
        found.append(f"{samconfig.name}: build and deploy set different architectures {architectures}")
    ignored = gitignore.read_text(encoding="utf-8").split() if gitignore.exists() else []
    if not any(line.strip("/") == ".aws-sam" for line in ignored):
        found.append(".gitignore does not ignore .aws-sam/ (SAM's build output)")
    return found


def test_every_template_keeps_undeliverable_events_and_fills_its_sums() -> None:
    for path in (SAM_TEMPLATE, SPOKE_TEMPLATE):
        assert problems(load_template(path)) == [], path.name
    if CDK_TEMPLATE.exists():
        assert problems(load_template(CDK_TEMPLATE)) == []


def test_build_and_deploy_share_one_architecture() -> None:
    assert architecture_problems() == []


def test_the_checks_find_what_the_review_found() -> None:
    """Each check reports the templates as they were before issue 18."""
    template = copy.deepcopy(load_template(SAM_TEMPLATE))
    resources = template["Resources"]
    for target in resources["DecommissionRule"]["Properties"]["Targets"]:
        target.pop("DeadLetterConfig")
        target.pop("RetryPolicy")
    for metric in resources["FunctionErrorsAlarm"]["Properties"]["Metrics"]:
        if "Expression" in metric:
            metric["Expression"] = re.sub(r"FILL\((\w+), 0\)", r"\1", metric["Expression"])
    parameters = template["Parameters"]
    parameters["NotificationSender"].pop("AllowedPattern")
    del parameters["NotificationSenderIdentity"]
    for statement in resources["ApprovalPropagationRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]:
        if "Fn::If" in statement and statement["Fn::If"][1].get("Action") == "ses:SendEmail":
            statement["Fn::If"][1]["Resource"] = {
                "Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${NotificationSender}"
            }
    resources["IdempotencyTable"].pop("Condition")
    resources["GovernanceWebhookRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].append(
        {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": {"Fn::GetAtt": ["LinksTable", "Arn"]}}
    )
    for statement in resources["GovernancePollerRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]:
        if statement.get("Sid") == "Watermarks":
            statement["Action"] = [*statement["Action"], "dynamodb:UpdateItem"]
    found = problems(template)
    assert any("GovernancePollerRole: dynamodb:UpdateItem" in problem for problem in found), found
    assert any("IdempotencyTable: retained with a fixed name" in problem for problem in found), found
    assert any("refers to retained LinksTable" in problem for problem in found), found
    assert any("not constrained to an email address" in problem for problem in found), found
    assert any("no NotificationSenderIdentity" in problem for problem in found), found
    assert any("ses:SendEmail on" in problem for problem in found), found
    assert sum("DecommissionRule" in problem for problem in found) == 2, found
    assert sum("FunctionErrorsAlarm" in problem for problem in found) == 8, found
    spoke = copy.deepcopy(load_template(SPOKE_TEMPLATE))
    spoke["Resources"]["ForwardMetrics"]["Properties"]["Targets"][0].pop("DeadLetterConfig")
    spoke["Resources"]["RegistryAccessRole"]["Properties"]["RoleName"] = {"Ref": "RoleName"}
    found = problems(spoke)
    assert any("ForwardMetrics" in problem for problem in found), found
    assert any("RegistryAccessRole" in problem and "region" in problem for problem in found), found
    del spoke["Parameters"]["CreateTrail"]
    assert any("CreateTrail" in problem for problem in problems(spoke))
    # Item 9: the grants the review found unused are reported.
    statements = spoke["Resources"]["RegistryAccessRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    statements.append({"Effect": "Allow", "Action": ["sagemaker:DescribeMonitoringSchedule", "s3:GetObject"], "Resource": "*"})
    unused = unused_permissions(spoke)
    assert any("DescribeMonitoringSchedule" in problem for problem in unused), unused
    assert any("s3:GetObject" in problem for problem in unused), unused


def test_the_architecture_check_finds_a_mismatch(tmp_path: Path) -> None:
    config = tmp_path / "samconfig.toml"
    config.write_text(
        'version = 0.1\n[default.build.parameters]\nparameter_overrides = "Architecture=arm64"\n'
        '[default.deploy.parameters]\nparameter_overrides = "Architecture=x86_64"\n',
        encoding="utf-8",
    )
    ignore = tmp_path / ".gitignore"
    ignore.write_text("/target/\n", encoding="utf-8")
    found = architecture_problems(config, ignore)
    assert any("different architectures" in problem for problem in found), found
    assert any(".aws-sam" in problem for problem in found), found
    assert architecture_problems(tmp_path / "missing.toml", ignore)


if __name__ == "__main__":
    paths = [Path(arg) for arg in sys.argv[1:]] or [SAM_TEMPLATE, SPOKE_TEMPLATE]
    failed = False
    for template_path in paths:
        for problem in problems(load_template(template_path)):
            print(f"{template_path.name}: {problem}")
            failed = True
    if SAM_TEMPLATE in paths:
        for problem in architecture_problems():
            print(problem)
            failed = True
    sys.exit(1 if failed else 0)
