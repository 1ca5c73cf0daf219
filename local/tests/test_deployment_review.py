"""What a review before a real deploy checks that the linters do not (issue 18): no EventBridge rule target can
drop an event silently (each has a dead-letter queue and a retry policy), every alarm that sums metrics counts
a silent source as 0 (FILL), a spoke's named roles carry the region (one account, several regions) and it can create the CloudTrail trail
govsync needs, and build
and deploy cannot disagree on the Lambda architecture, and the email sender is an address whose verified
identity (domain or address) is its own parameter, the one SES is granted on, no role is granted an action
no crate calls (save those AWS calls on its behalf, listed with their reason), and a hub redeployed after
`sam delete` reuses its retained, fixed-name tables and secrets (ReuseRetainedData) instead of failing on them (a committed infra/samconfig.toml, with SAM's build
output ignored by git), and a spoke lets govsync presign a SageMaker Studio URL (model links, issue 16) only
when given a Studio domain and user profile, and then only for that one user profile, and the model-link route
(`GET /models/link`) requires a JWT of the configured issuer exactly when HasModelLinkAuthorizer holds (both
ModelLinkJwtIssuer and ModelLinkJwtAudience given) and no authorization otherwise, without mixing an OpenAPI
body with route or authorizer resources (which API Gateway does not support), and the two functions that write
the Models' links (registry-events, the reconciler) build them on one base, ModelLinkBaseUrl when given and the
API's own GET /models/link otherwise (a link on another base is rewritten, so two bases would flap), and the
optional deployment pipeline rule exists only when DeploymentPipelineKind and DeploymentPipelineArn are given,
reads only govsync-decisions, targets only the pipeline (retry policy, govsync-event-delivery-dlq admitting it)
and its role may only start that pipeline, and it is off by default and gives a SageMaker Pipeline the package
ARN (ModelPackageArn) and a CodePipeline no parameters. A grant whose action is named otherwise than the call
it authorizes (s3:GetObject for HeadObject, s3:ListBucket for ListObjectsV2) counts as used by that call.

Run by pytest on infra/template.yaml, infra/spoke.yaml and, when `cdk synth` has written it, the CDK template;
also runnable as `python test_deployment_review.py TEMPLATE...` (infra/validate.sh), exiting 1 naming every
problem.
"""

from __future__ import annotations

import copy
import fnmatch
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
    "sagemaker:StartPipelineExecution": "EventBridge starting the deployment pipeline (DeploymentPipelineRule)",
    "codepipeline:StartPipelineExecution": "EventBridge starting the deployment pipeline (DeploymentPipelineRule)",
}
# Actions named otherwise than the calls they authorize: action → the SDK operations it lets a crate call
# (S3 API Reference: HeadObject needs s3:GetObject, and s3:GetObjectVersion with a versionId; ListObjectsV2
# needs s3:ListBucket).
AUTHORIZES = {
    "s3:GetObject": ("get_object", "head_object"),
    "s3:GetObjectVersion": ("get_object", "head_object"),
    "s3:ListBucket": ("list_objects_v2", "list_objects"),
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


STUDIO_ACTION = "sagemaker:CreatePresignedDomainUrl"
STUDIO_CONDITION = "HasStudio"
STUDIO_USER_PROFILE = (
    "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:user-profile/${StudioDomainId}/${StudioUserProfileName}"
)


def _grants_studio(statement: Any) -> bool:
    return isinstance(statement, dict) and any(
        isinstance(action, str) and fnmatch.fnmatchcase(STUDIO_ACTION.lower(), action.lower())
        for action in as_list(statement.get("Action", []))
    )


def studio_problems(template: dict[str, Any]) -> list[str]:
    """In a spoke, `sagemaker:CreatePresignedDomainUrl` (model links opening Studio) is granted only under the
    HasStudio condition (a Studio domain and a user profile given), by one statement of that action alone on
    the one user-profile ARN those parameters name: never on every profile or domain, never unconditionally."""
    if "HubAccountId" not in template.get("Parameters", {}):
        return []
    found = []
    condition = template.get("Conditions", {}).get(STUDIO_CONDITION)
    if condition is None:
        found.append(f"no {STUDIO_CONDITION} condition: a Studio grant cannot depend on the Studio parameters")
    else:
        named = set(re.findall(r"'Ref': '(\w+)'", repr(condition)))
        for parameter in ("StudioDomainId", "StudioUserProfileName"):
            if parameter not in template.get("Parameters", {}):
                found.append(f"no {parameter} parameter")
            elif parameter not in named:
                found.append(f"{STUDIO_CONDITION} does not require {parameter}")
    granted = 0
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") not in ("AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            continue
        properties = resource.get("Properties", {})
        documents = [policy.get("PolicyDocument", {}) for policy in properties.get("Policies", [])]
        if "PolicyDocument" in properties:
            documents.append(properties["PolicyDocument"])
        for document in documents:
            for statement in as_list(document.get("Statement", [])):
                if isinstance(statement, dict) and "Fn::If" in statement:
                    name, when_true, when_false = statement["Fn::If"]
                    if _grants_studio(when_false):
                        found.append(f"{logical_id}: {STUDIO_ACTION} is granted when {name} is false")
                    if not _grants_studio(when_true):
                        continue
                    if name != STUDIO_CONDITION:
                        found.append(f"{logical_id}: {STUDIO_ACTION} is granted under {name}, not {STUDIO_CONDITION}")
                    statement = when_true
                elif _grants_studio(statement):
                    found.append(f"{logical_id}: {STUDIO_ACTION} is granted without the {STUDIO_CONDITION} condition")
                else:
                    continue
                granted += 1
                if statement.get("Effect") != "Allow":
                    continue
                actions = as_list(statement.get("Action", []))
                if actions != [STUDIO_ACTION]:
                    found.append(f"{logical_id}: the Studio statement grants {actions}, not {STUDIO_ACTION} alone")
                resources = [flatten(item) for item in as_list(statement.get("Resource", []))]
                if resources != [STUDIO_USER_PROFILE]:
                    found.append(f"{logical_id}: {STUDIO_ACTION} on {resources}, not the one user profile {STUDIO_USER_PROFILE}")
    if condition is not None and granted == 0:
        found.append(f"{STUDIO_ACTION} is granted nowhere: model links cannot open Studio")
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
        source = TABLE_ADAPTERS[name].read_text(encoding="utf-8")
        operations.update(re.findall(r"\.([a-z][a-z0-9_]*)\(\)", source))
        # A transaction's condition check is authorized as its own action, ConditionCheckItem.
        if "transact_write_items" in operations and "ConditionCheck::builder()" in source:
            operations.add("condition_check_item")
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
            elif action in AUTHORIZES:
                if not called & set(AUTHORIZES[action]):
                    found.add(f"{owner}: {action} is granted but no crate calls {' or '.join(AUTHORIZES[action])}")
            elif operation not in called:
                found.add(f"{owner}: {action} is granted but no crate calls {operation}")
    return sorted(found)


MODEL_LINK_ROUTE_KEY = "GET /models/link"
MODEL_LINK_CONDITION = "HasModelLinkAuthorizer"
MODEL_LINK_ISSUER = "ModelLinkJwtIssuer"
MODEL_LINK_AUDIENCE = "ModelLinkJwtAudience"
MODEL_LINK_IDENTITY_SOURCE = "$request.header.Authorization"
_NO_VALUE = object()


def _when(value: Any, holds: bool, condition: str = MODEL_LINK_CONDITION) -> Any:
    """The value as deployed when `condition` holds (or not): each Fn::If on it replaced by its branch and
    AWS::NoValue dropped; conditionals on other conditions are left as they are."""
    if isinstance(value, dict):
        if value == {"Ref": "AWS::NoValue"}:
            return _NO_VALUE
        branches = value.get("Fn::If")
        if len(value) == 1 and isinstance(branches, list) and len(branches) == 3 and branches[0] == condition:
            return _when(branches[1] if holds else branches[2], holds, condition)
        resolved = {key: _when(inner, holds, condition) for key, inner in value.items()}
        return {key: inner for key, inner in resolved.items() if inner is not _NO_VALUE}
    if isinstance(value, list):
        return [inner for inner in (_when(item, holds, condition) for item in value) if inner is not _NO_VALUE]
    return value


def _condition_value(template: dict[str, Any], expression: Any, parameters: dict[str, str]) -> Any:
    """A condition expression evaluated with the given parameter values (others at their defaults)."""
    if isinstance(expression, dict) and len(expression) == 1:
        ((function, argument),) = expression.items()
        if function == "Ref":
            if argument in parameters:
                return parameters[argument]
            return str(template.get("Parameters", {}).get(argument, {}).get("Default", ""))
        if function in ("Condition", "Fn::Condition"):  # the YAML loader reads !Condition as Fn::Condition
            return _condition_value(template, template["Conditions"][argument], parameters)
        values = [_condition_value(template, item, parameters) for item in as_list(argument)]
        if function == "Fn::Equals":
            return values[0] == values[1]
        if function == "Fn::Not":
            return not values[0]
        if function == "Fn::And":
            return all(values)
        if function == "Fn::Or":
            return any(values)
        if function == "Fn::Join":
            return str(values[0]).join(str(item) for item in as_list(values[1]))
    return expression


def _exists(resource: dict[str, Any], holds: bool) -> bool:
    """Whether a resource is created when the model-link condition holds (or not); other conditions count as met."""
    return resource.get("Condition") != MODEL_LINK_CONDITION or holds


def _jwt_problems(where: str, issuer: Any, audience: Any, identity_source: Any) -> list[str]:
    """An authorizer's issuer and audiences are the parameters', its token the Authorization header."""
    found = []
    if issuer != {"Ref": MODEL_LINK_ISSUER}:
        found.append(f"{where}: issuer {issuer!r}, not the {MODEL_LINK_ISSUER} parameter")
    if MODEL_LINK_AUDIENCE not in _references(audience):
        found.append(f"{where}: audience {audience!r}, not from the {MODEL_LINK_AUDIENCE} parameter")
    if as_list(identity_source) != [MODEL_LINK_IDENTITY_SOURCE]:
        found.append(f"{where}: identity source {identity_source!r}, not {MODEL_LINK_IDENTITY_SOURCE}")
    return found


def _route_authorization(template: dict[str, Any], holds: bool) -> tuple[list[str], list[str]]:
    """How GET /models/link is authorized when the model-link condition holds (or not): every route found
    (`JWT`, `NONE`, `AWS_IAM`, ...) and the problems of its authorizer. Routes are AWS::ApiGatewayV2::Route
    resources (the CDK) or a SAM function's HttpApi event, authorized by its API's Auth or by the `security`
    of the API's OpenAPI body (DefinitionBody)."""
    resources = template.get("Resources", {})
    found: list[str] = []
    kinds: list[str] = []
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::ApiGatewayV2::Route" or not _exists(resource, holds):
            continue
        properties = _when(resource.get("Properties", {}), holds)
        if properties.get("RouteKey") != MODEL_LINK_ROUTE_KEY:
            continue
        kind = properties.get("AuthorizationType", "NONE")
        kinds.append(kind)
        if kind != "JWT":
            continue
        authorizer_id = properties.get("AuthorizerId")
        target = authorizer_id.get("Ref") if isinstance(authorizer_id, dict) else None
        authorizer = resources.get(target) if isinstance(target, str) else None
        if authorizer is None or authorizer.get("Type") != "AWS::ApiGatewayV2::Authorizer" or not _exists(authorizer, holds):
            found.append(f"{logical_id}: JWT with no authorizer of this template ({authorizer_id!r})")
            continue
        settings = _when(authorizer.get("Properties", {}), holds)
        if settings.get("AuthorizerType") != "JWT":
            found.append(f"{target}: AuthorizerType {settings.get('AuthorizerType')!r}, not JWT")
        jwt = settings.get("JwtConfiguration", {})
        found += _jwt_problems(target, jwt.get("Issuer"), jwt.get("Audience"), settings.get("IdentitySource"))
    path, method = MODEL_LINK_ROUTE_KEY.split(" ")[1], MODEL_LINK_ROUTE_KEY.split(" ")[0]
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function" or not _exists(resource, holds):
            continue
        for name, event in resource.get("Properties", {}).get("Events", {}).items():
            event_properties = _when(event.get("Properties", {}), holds)
            if (
                event.get("Type") != "HttpApi"
                or event_properties.get("Path") != path
                or str(event_properties.get("Method", "")).upper() != method
            ):
                continue
            api_ref = event_properties.get("ApiId", {"Ref": "ServerlessHttpApi"})
            api = resources.get(api_ref.get("Ref", "") if isinstance(api_ref, dict) else "", {})
            api_properties = _when(api.get("Properties", {}), holds)
            auth = api_properties.get("Auth", {})
            chosen = event_properties.get("Auth", {}).get("Authorizer", auth.get("DefaultAuthorizer"))
            where = f"{logical_id} event {name}"
            if chosen and chosen != "NONE":
                named = auth.get("Authorizers", {}).get(chosen, {})
                if "JwtConfiguration" in named:
                    kinds.append("JWT")
                    jwt = named["JwtConfiguration"]
                    found += _jwt_problems(where, jwt.get("issuer"), jwt.get("audience"), named.get("IdentitySource"))
                else:
                    kinds.append("AWS_IAM" if chosen == "AWS_IAM" else "CUSTOM")
                continue
            body = api_properties.get("DefinitionBody", {})
            operation = body.get("paths", {}).get(path, {}).get(method.lower(), {})
            security = [entry for entry in as_list(operation.get("security", [])) if entry]
            if not security:
                kinds.append("NONE")
                continue
            schemes = body.get("components", {}).get("securitySchemes", {})
            for scheme_name in sorted({name for entry in security for name in entry}):
                scheme = schemes.get(scheme_name)
                if scheme is None:
                    found.append(f"{where}: security names {scheme_name}, which the OpenAPI body does not define")
                    kinds.append("UNDEFINED")
                    continue
                extension = scheme.get("x-amazon-apigateway-authorizer", {})
                if extension.get("type") == "jwt":
                    kinds.append("JWT")
                    jwt = extension.get("jwtConfiguration", {})
                    found += _jwt_problems(
                        f"{where} scheme {scheme_name}", jwt.get("issuer"), jwt.get("audience"), extension.get("identitySource")
                    )
                else:
                    kinds.append("AWS_IAM" if scheme.get("x-amazon-apigateway-authtype") == "awsSigv4" else "CUSTOM")
    return kinds, found


def _openapi_mixed_with_resources(template: dict[str, Any]) -> list[str]:
    """Route or authorizer resources on an API defined by an OpenAPI body (a SAM HttpApi, whose events SAM writes
    into one, or an API with Body / BodyS3Location): API Gateway does not support the combination, and a
    reimport of the body drops them."""
    resources = template.get("Resources", {})
    with_body = {
        logical_id
        for logical_id, resource in resources.items()
        if resource.get("Type") == "AWS::Serverless::HttpApi"
        or (
            resource.get("Type") == "AWS::ApiGatewayV2::Api"
            and {"Body", "BodyS3Location"} & set(resource.get("Properties", {}))
        )
    }
    return [
        f"{logical_id}: an {resource['Type']} on {api}, whose routes an OpenAPI body defines"
        for logical_id, resource in resources.items()
        if resource.get("Type") in ("AWS::ApiGatewayV2::Route", "AWS::ApiGatewayV2::Authorizer")
        for api in sorted(_references(resource.get("Properties", {}).get("ApiId")) & with_body)
    ]


def model_link_authorizer_problems(template: dict[str, Any]) -> list[str]:
    """GET /models/link requires a JWT of the ModelLinkJwtIssuer issuer for the ModelLinkJwtAudience audiences
    (Authorization header) exactly when HasModelLinkAuthorizer holds, which it does exactly when both are
    given; otherwise it has no authorization at all (the signed link is the capability, as before)."""
    parameters = template.get("Parameters", {})
    routes = {holds: _route_authorization(template, holds) for holds in (True, False)}
    if not routes[True][0] and not routes[False][0] and MODEL_LINK_ISSUER not in parameters:
        return []
    found = _openapi_mixed_with_resources(template)
    for name in (MODEL_LINK_ISSUER, MODEL_LINK_AUDIENCE):
        if name not in parameters:
            found.append(f"no {name} parameter")
        elif parameters[name].get("Default") != "":
            found.append(f"{name}: default {parameters[name].get('Default')!r}, not empty (no authorizer)")
    condition = template.get("Conditions", {}).get(MODEL_LINK_CONDITION)
    if condition is None:
        found.append(f"no {MODEL_LINK_CONDITION} condition: the authorizer cannot depend on its parameters")
    else:
        idp = "https://idp.example.com"
        for issuer, audience in (("", ""), (idp, ""), ("", "govsync"), (idp, "govsync")):
            given = {MODEL_LINK_ISSUER: issuer, MODEL_LINK_AUDIENCE: audience}
            if _condition_value(template, condition, given) is not bool(issuer and audience):
                found.append(
                    f"{MODEL_LINK_CONDITION} is not (both {MODEL_LINK_ISSUER} and {MODEL_LINK_AUDIENCE} given) for {given}"
                )
    for holds, (kinds, route_problems) in routes.items():
        expected = "JWT" if holds else "NONE"
        state = "holds" if holds else "does not hold"
        if not kinds:
            found.append(f"no {MODEL_LINK_ROUTE_KEY} route when {MODEL_LINK_CONDITION} {state}")
        for kind in kinds:
            if kind != expected:
                found.append(
                    f"{MODEL_LINK_ROUTE_KEY} is authorized by {kind} when {MODEL_LINK_CONDITION} {state}, not {expected}"
                )
        if holds:
            found += route_problems
    return found


MODEL_LINK_URL_VARIABLE = "GOVSYNC_MODEL_LINK_URL"
MODEL_LINK_BASE_URL = "ModelLinkBaseUrl"
MODEL_LINK_BASE_CONDITION = "HasModelLinkBaseUrl"
MODEL_LINK_WRITERS = ("govsync-registry-events", "govsync-reconciler")
MODEL_LINK_OUTPUT = "ModelLinkUrl"
_FRONT = "https://links.example.com/govsync/models/link"


def _resolved(template: dict[str, Any], value: Any, parameters: dict[str, str]) -> Any:
    """A template value as deployed with the given parameter values (others at their defaults): each Fn::If on a
    condition of the template replaced by its branch, each Ref to a parameter by its value."""
    if isinstance(value, dict):
        branches = value.get("Fn::If")
        if len(value) == 1 and isinstance(branches, list) and len(branches) == 3:
            condition = template.get("Conditions", {}).get(branches[0])
            if condition is not None:
                holds = _condition_value(template, condition, parameters) is True
                return _resolved(template, branches[1] if holds else branches[2], parameters)
        reference = value.get("Ref")
        if len(value) == 1 and isinstance(reference, str) and reference in template.get("Parameters", {}):
            return _condition_value(template, value, parameters)
        return {key: _resolved(template, inner, parameters) for key, inner in value.items()}
    if isinstance(value, list):
        return [_resolved(template, item, parameters) for item in value]
    return value


def _model_link_apis(template: dict[str, Any]) -> set[str]:
    """The APIs (logical ids) that serve GET /models/link: a route resource's ApiId (the CDK), or a SAM function's
    HttpApi event's ApiId."""
    method, path = MODEL_LINK_ROUTE_KEY.split(" ")
    found: set[str] = set()
    for resource in template.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        if resource.get("Type") == "AWS::ApiGatewayV2::Route" and properties.get("RouteKey") == MODEL_LINK_ROUTE_KEY:
            found |= _references(properties.get("ApiId"))
        if resource.get("Type") == "AWS::Serverless::Function":
            for event in properties.get("Events", {}).values():
                event_properties = event.get("Properties", {})
                if (
                    event.get("Type") == "HttpApi"
                    and event_properties.get("Path") == path
                    and str(event_properties.get("Method", "")).upper() == method
                ):
                    found |= _references(event_properties.get("ApiId", {"Ref": "ServerlessHttpApi"}))
    return found


def _is_api_model_link(template: dict[str, Any], text: str) -> bool:
    """Whether a flattened URL is the execute-api URL of GET /models/link on an API of this template serving it."""
    match = re.fullmatch(r"https://\$\{(\w+)\}\.execute-api\.\$\{AWS::Region\}\.\$\{AWS::URLSuffix\}/models/link", text)
    return match is not None and match.group(1) in _model_link_apis(template)


def model_link_url_problems(template: dict[str, Any]) -> list[str]:
    """registry-events and the reconciler receive GOVSYNC_MODEL_LINK_URL as one expression (each rewrites a Model's
    link made on another base, so two values would rewrite each other's links): the ModelLinkBaseUrl parameter
    when it is given (HasModelLinkBaseUrl), the API's own GET /models/link otherwise; the ModelLinkUrl output
    reports the same base. ModelLinkBaseUrl defaults to empty and accepts only an https URL without a query or
    fragment (the link's query is appended to it)."""
    resources = template.get("Resources", {})
    writers: dict[str, Any] = {}
    for resource in resources.values():
        properties = resource.get("Properties", {})
        if resource.get("Type") in ("AWS::Serverless::Function", "AWS::Lambda::Function") and (
            properties.get("FunctionName") in MODEL_LINK_WRITERS
        ):
            variables = (properties.get("Environment") or {}).get("Variables") or {}
            writers[properties["FunctionName"]] = variables.get(MODEL_LINK_URL_VARIABLE)
    if not writers:
        return []
    found = []
    for name in MODEL_LINK_WRITERS:
        if writers.get(name) is None:
            found.append(f"{name}: no {MODEL_LINK_URL_VARIABLE}")
    values = [writers[name] for name in MODEL_LINK_WRITERS if writers.get(name) is not None]
    if len(values) == 2 and values[0] != values[1]:
        found.append(
            f"{MODEL_LINK_URL_VARIABLE} differs between {' and '.join(MODEL_LINK_WRITERS)}: "
            f"{values[0]!r} / {values[1]!r} (each rewrites the other's links)"
        )
    parameter = template.get("Parameters", {}).get(MODEL_LINK_BASE_URL)
    if parameter is None:
        found.append(f"no {MODEL_LINK_BASE_URL} parameter: the links cannot point at the organisation's front")
    else:
        if parameter.get("Default") != "":
            found.append(f"{MODEL_LINK_BASE_URL}: default {parameter.get('Default')!r}, not empty (the API's own URL)")
        if int(parameter.get("MaxLength", 0) or 0) != 512:
            found.append(f"{MODEL_LINK_BASE_URL}: MaxLength {parameter.get('MaxLength')!r}, not 512 (what the functions accept)")
        pattern = re.compile(str(parameter.get("AllowedPattern", ".*")))
        for text, allowed in (
            ("", True),
            (_FRONT, True),
            ("https://govsync.example.com", True),
            ("http://links.example.com/models/link", False),
            (_FRONT + "?v=1", False),
            (_FRONT + "#top", False),
            ("https://links.example.com/models link", False),
        ):
            if bool(pattern.fullmatch(text)) is not allowed:
                verb = "refuses" if allowed else "accepts"
                found.append(f"{MODEL_LINK_BASE_URL}: AllowedPattern {verb} {text!r}")
    if MODEL_LINK_BASE_CONDITION not in template.get("Conditions", {}):
        found.append(f"no {MODEL_LINK_BASE_CONDITION} condition")
    outputs = template.get("Outputs", {})
    checked = [(name, writers[name]) for name in MODEL_LINK_WRITERS if writers.get(name) is not None]
    if MODEL_LINK_OUTPUT in outputs:
        checked.append((f"output {MODEL_LINK_OUTPUT}", outputs[MODEL_LINK_OUTPUT].get("Value")))
    else:
        found.append(f"no {MODEL_LINK_OUTPUT} output: the link base is not reported")
    for where, value in checked:
        given = _resolved(template, value, {MODEL_LINK_BASE_URL: _FRONT})
        if given != _FRONT:
            found.append(f"{where}: {given!r} when {MODEL_LINK_BASE_URL} is {_FRONT!r}, not the parameter")
        default = flatten(_resolved(template, value, {MODEL_LINK_BASE_URL: ""}))
        if not _is_api_model_link(template, default):
            found.append(f"{where}: {default!r} when {MODEL_LINK_BASE_URL} is empty, not the API's own {MODEL_LINK_ROUTE_KEY}")
    return found


DEPLOYMENT_PIPELINE_ARN = "DeploymentPipelineArn"
DEPLOYMENT_PIPELINE_KIND = "DeploymentPipelineKind"
DEPLOYMENT_PIPELINE_STAGE = "DeploymentPipelineStage"
DEPLOYMENT_PIPELINE_STARTS = {
    "HasSageMakerPipeline": "sagemaker:StartPipelineExecution",
    "HasCodePipeline": "codepipeline:StartPipelineExecution",
}
DECISIONS_BUS_NAME = "govsync-decisions"
EVENT_DELIVERY_DLQ = "govsync-event-delivery-dlq"
_SOME_PIPELINE = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/deploy"


def _logical_id(value: Any) -> str | None:
    """The logical id a Ref or Fn::GetAtt names."""
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        return str(target[0] if isinstance(target, list) else str(target).split(".", 1)[0])
    return None


def _named(template: dict[str, Any], value: Any, resource_type: str, name_key: str) -> Any:
    """The literal name of the resource a Ref/GetAtt names (or the literal itself)."""
    logical_id = _logical_id(value)
    if logical_id is None:
        return value
    resource = template.get("Resources", {}).get(logical_id, {})
    return resource.get("Properties", {}).get(name_key) if resource.get("Type") == resource_type else None


def _created_when(template: dict[str, Any], resource: dict[str, Any], parameters: dict[str, str]) -> bool:
    condition = resource.get("Condition")
    return condition is None or bool(_condition_value(template, {"Condition": condition}, parameters))


def _dlq_admits(template: dict[str, Any], queue: str, rule_id: str, rule_arn: str) -> bool:
    """Whether a policy of the queue lets EventBridge send for the rule (its GetAtt, or an ARN pattern of it)."""
    for resource in template.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        if resource.get("Type") != "AWS::SQS::QueuePolicy" or queue not in {_logical_id(q) for q in as_list(properties.get("Queues", []))}:
            continue
        for statement in as_list(properties.get("PolicyDocument", {}).get("Statement", [])):
            principal = (statement.get("Principal") or {}) if isinstance(statement, dict) else {}
            if statement.get("Effect") != "Allow" or not isinstance(principal, dict) or principal.get("Service") != "events.amazonaws.com":
                continue
            if "sqs:SendMessage" not in as_list(statement.get("Action", [])):
                continue
            condition = statement.get("Condition") or {}
            for operator in ("ArnEquals", "ArnLike"):
                for source in as_list((condition.get(operator) or {}).get("aws:SourceArn", [])):
                    if _logical_id(source) == rule_id:
                        return True
                    pattern = flatten(source)
                    if pattern == rule_arn or (operator == "ArnLike" and fnmatch.fnmatchcase(rule_arn, pattern)):
                        return True
    return False


def _when_deployed(template: dict[str, Any], value: Any, parameters: dict[str, str]) -> Any:
    """A value with each Fn::If on a template condition replaced by its branch for these parameters, and
    AWS::NoValue dropped."""
    if isinstance(value, dict):
        if value == {"Ref": "AWS::NoValue"}:
            return _NO_VALUE
        branches = value.get("Fn::If")
        if len(value) == 1 and isinstance(branches, list) and len(branches) == 3 and branches[0] in template.get("Conditions", {}):
            holds = _condition_value(template, {"Condition": branches[0]}, parameters) is True
            return _when_deployed(template, branches[1] if holds else branches[2], parameters)
        resolved = {key: _when_deployed(template, inner, parameters) for key, inner in value.items()}
        return {key: inner for key, inner in resolved.items() if inner is not _NO_VALUE}
    if isinstance(value, list):
        return [inner for inner in (_when_deployed(template, item, parameters) for item in value) if inner is not _NO_VALUE]
    return value


def deployment_pipeline_problems(template: dict[str, Any]) -> list[str]:
    """The optional deployment pipeline rule: created only when DeploymentPipelineKind names a kind and
    DeploymentPipelineArn is given; on the govsync-decisions bus alone, for approvals into
    DeploymentPipelineStage; off by default (DeploymentPipelineKind none) and enabled when created; one target,
    the pipeline, with a retry policy and govsync-event-delivery-dlq (whose policy admits the rule), started for
    a SageMaker Pipeline with ModelPackageArn = the event's package ARN (SageMakerPipelineParameters) and for a
    CodePipeline with no parameters; its role, under the same condition, assumable by EventBridge only and
    granted only the kind's start action on the parameter's ARN."""
    if DEPLOYMENT_PIPELINE_ARN not in template.get("Parameters", {}):
        return []
    resources = template.get("Resources", {})
    rules = {
        logical_id: resource
        for logical_id, resource in resources.items()
        if resource.get("Type") == "AWS::Events::Rule"
        and any(
            target.get("Arn") == {"Ref": DEPLOYMENT_PIPELINE_ARN}
            for target in resource.get("Properties", {}).get("Targets", [])
        )
    }
    if len(rules) != 1:
        return [f"{len(rules)} rules target {DEPLOYMENT_PIPELINE_ARN}, want one (DeploymentPipelineRule)"]
    found: list[str] = []
    ((rule_id, rule),) = rules.items()
    properties = rule.get("Properties", {})
    kinds = template["Parameters"].get(DEPLOYMENT_PIPELINE_KIND, {}).get("AllowedValues", [])
    if set(kinds) != {"none", "sagemaker-pipeline", "codepipeline"}:
        found.append(f"{DEPLOYMENT_PIPELINE_KIND}: allowed values {kinds}, not none, sagemaker-pipeline, codepipeline")
    role_id = _logical_id(properties.get("Targets", [{}])[0].get("RoleArn"))
    role = resources.get(role_id or "", {})
    for kind in kinds:
        for arn in ("", _SOME_PIPELINE):
            given = {DEPLOYMENT_PIPELINE_KIND: kind, DEPLOYMENT_PIPELINE_ARN: arn}
            wanted = kind != "none" and arn != ""
            for where, resource in ((rule_id, rule), (role_id, role)):
                if resource and _created_when(template, resource, given) != wanted:
                    found.append(
                        f"{where}: {'created' if not wanted else 'not created'} with {DEPLOYMENT_PIPELINE_KIND}={kind!r}"
                        f" and {DEPLOYMENT_PIPELINE_ARN}={arn!r}"
                    )
    if template["Parameters"].get(DEPLOYMENT_PIPELINE_KIND, {}).get("Default") != "none":
        found.append(f"{DEPLOYMENT_PIPELINE_KIND}: default {template['Parameters'].get(DEPLOYMENT_PIPELINE_KIND, {}).get('Default')!r}, not none (off by default)")
    if properties.get("State", "ENABLED") != "ENABLED":
        found.append(f"{rule_id}: State {properties.get('State')!r}: created only when asked for, then it must start the pipeline")
    # Per kind (with an ARN), the target as deployed: a SageMaker Pipeline gets the package ARN as its
    # ModelPackageArn parameter; a CodePipeline gets no pipeline parameters (EventBridge refuses them there).
    for kind, wanted_parameters in (
        ("sagemaker-pipeline", {"PipelineParameterList": [{"Name": "ModelPackageArn", "Value": "$.detail.package_arn"}]}),
        ("codepipeline", None),
    ):
        given = {DEPLOYMENT_PIPELINE_KIND: kind, DEPLOYMENT_PIPELINE_ARN: _SOME_PIPELINE}
        for target in _when_deployed(template, properties.get("Targets", []), given):
            parameters = target.get("SageMakerPipelineParameters")
            if parameters != wanted_parameters:
                found.append(f"{rule_id} target {target.get('Id')}: SageMakerPipelineParameters {parameters!r} for {kind}, not {wanted_parameters!r}")
            for key in ("Input", "InputPath", "InputTransformer"):
                if key in target:
                    found.append(f"{rule_id} target {target.get('Id')}: {key} for {kind}; the pipeline is started with the event's package ARN alone")
    bus = _named(template, properties.get("EventBusName", "default"), "AWS::Events::EventBus", "Name")
    if bus != DECISIONS_BUS_NAME:
        found.append(f"{rule_id}: reads bus {bus!r}, not {DECISIONS_BUS_NAME}")
    wanted_pattern = {
        "source": ["govsync"],
        "detail-type": ["govsync Governance Decision Applied"],
        "detail": {"approval_status": ["Approved"], "lifecycle": {"stage": [{"Ref": DEPLOYMENT_PIPELINE_STAGE}]}},
    }
    if properties.get("EventPattern") != wanted_pattern:
        found.append(f"{rule_id}: event pattern {properties.get('EventPattern')!r}, not {wanted_pattern!r}")
    targets = properties.get("Targets", [])
    if len(targets) != 1:
        found.append(f"{rule_id}: {len(targets)} targets, want the pipeline alone")
    for target in targets:
        where = f"{rule_id} target {target.get('Id')}"
        if target.get("Arn") != {"Ref": DEPLOYMENT_PIPELINE_ARN}:
            found.append(f"{where}: targets {flatten(target.get('Arn'))}, not {DEPLOYMENT_PIPELINE_ARN}")
        if not target.get("RetryPolicy"):
            found.append(f"{where}: no RetryPolicy")
        dlq = _logical_id((target.get("DeadLetterConfig") or {}).get("Arn"))
        if dlq is None or _named(template, {"Ref": dlq}, "AWS::SQS::Queue", "QueueName") != EVENT_DELIVERY_DLQ:
            found.append(f"{where}: no DeadLetterConfig on {EVENT_DELIVERY_DLQ}")
        else:
            rule_arn = f"arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:rule/{bus}/{properties.get('Name')}"
            if not _dlq_admits(template, dlq, rule_id, rule_arn):
                found.append(f"{where}: the policy of {EVENT_DELIVERY_DLQ} does not let EventBridge send for {rule_arn}")
    if role.get("Type") != "AWS::IAM::Role":
        return found + [f"{rule_id}: its target's RoleArn names no role of the template"]
    trust = as_list(role.get("Properties", {}).get("AssumeRolePolicyDocument", {}).get("Statement", []))
    principals = [statement.get("Principal") for statement in trust if statement.get("Effect") == "Allow"]
    if principals != [{"Service": "events.amazonaws.com"}]:
        found.append(f"{role_id}: assumable by {principals}, not events.amazonaws.com alone")
    statements = [statement for owner, statement in role_statements(template) if owner == role_id]
    for statement in statements:
        if isinstance(statement, dict) and "Fn::If" in statement:
            condition, when_true, when_false = statement["Fn::If"]
            other = next((c for c in DEPLOYMENT_PIPELINE_STARTS if c != condition), None)
            pairs = [(condition, when_true), (other, when_false)] if condition in DEPLOYMENT_PIPELINE_STARTS else [(None, when_true), (None, when_false)]
        else:
            pairs = [(None, statement)]
        for condition, branch in pairs:
            if not isinstance(branch, dict) or branch.get("Effect") != "Allow":
                continue
            actions = as_list(branch.get("Action", []))
            wanted = DEPLOYMENT_PIPELINE_STARTS.get(condition or "")
            if wanted is None or actions != [wanted]:
                found.append(f"{role_id}: allows {actions}, not the start action of the pipeline kind alone")
            if as_list(branch.get("Resource", [])) != [{"Ref": DEPLOYMENT_PIPELINE_ARN}]:
                found.append(f"{role_id}: grants on {[flatten(r) for r in as_list(branch.get('Resource', []))]}, not {DEPLOYMENT_PIPELINE_ARN} alone")
    if not statements:
        found.append(f"{role_id}: grants nothing, the pipeline cannot be started")
    return found


def problems(template: dict[str, Any]) -> list[str]:
    return (
        undeliverable_drops(template)
        + unfilled_sums(template)
        + account_wide_names(template)
        + sender_problems(template)
        + trail_problems(template)
        + redeploy_problems(template)
        + unused_permissions(template)
        + studio_problems(template)
        + model_link_authorizer_problems(template)
        + model_link_url_problems(template)
        + deployment_pipeline_problems(template)
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
    assert sum("FunctionErrorsAlarm" in problem for problem in found) == 9, found
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
    statements.append({"Effect": "Allow", "Action": ["sagemaker:DescribeMonitoringSchedule", "s3:PutObject"], "Resource": "*"})
    unused = unused_permissions(spoke)
    assert any("DescribeMonitoringSchedule" in problem for problem in unused), unused
    assert any("s3:PutObject" in problem for problem in unused), unused
    # An action that authorizes a differently named call counts as used only when a crate makes that call.
    assert unused_permissions(spoke, called={"head_object"}) == unused_permissions(spoke, called={"get_object"})
    assert any(
        "s3:ListBucket is granted but no crate calls list_objects_v2 or list_objects" in problem
        for problem in unused_permissions(_with_artifact_buckets(spoke), called=set())
    )
    assert not any("s3:ListBucket" in p for p in unused_permissions(_with_artifact_buckets(spoke), called={"list_objects_v2"}))


def _with_artifact_buckets(spoke: dict[str, Any]) -> dict[str, Any]:
    """The spoke with its conditional S3 statements made unconditional (as with ArtifactBuckets given)."""
    spoke = copy.deepcopy(spoke)
    statements = spoke["Resources"]["RegistryAccessRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    statements[:] = [
        s["Fn::If"][1] if isinstance(s, dict) and "Fn::If" in s and s["Fn::If"][0] == "HasArtifactBuckets" else s
        for s in statements
    ]
    return spoke


def _studio_statement(spoke: dict[str, Any]) -> list[Any]:
    """The spoke role's policy statements (the Studio one is the one conditional on HasStudio)."""
    return spoke["Resources"]["RegistryAccessRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]


def test_the_spoke_grants_studio_only_under_has_studio_on_one_user_profile() -> None:
    spoke = load_template(SPOKE_TEMPLATE)
    assert studio_problems(spoke) == []
    conditional = [s for s in _studio_statement(spoke) if isinstance(s, dict) and "Fn::If" in s and _grants_studio(s["Fn::If"][1])]
    assert [s["Fn::If"][0] for s in conditional] == [STUDIO_CONDITION]
    name, granted, otherwise = conditional[0]["Fn::If"]
    assert granted["Action"] == STUDIO_ACTION and flatten(granted["Resource"]) == STUDIO_USER_PROFILE
    assert otherwise == {"Ref": "AWS::NoValue"}
    parameters = spoke["Parameters"]
    assert parameters["StudioDomainId"]["Default"] == "" and parameters["StudioUserProfileName"]["Default"] == ""
    pattern = re.compile(parameters["StudioDomainId"]["AllowedPattern"])
    assert pattern.fullmatch("") and pattern.fullmatch("d-abc123xyz") and not pattern.fullmatch("*")


def test_the_studio_check_finds_a_wide_or_unconditional_grant() -> None:
    spoke = copy.deepcopy(load_template(SPOKE_TEMPLATE))
    statements = _studio_statement(spoke)
    index = next(i for i, s in enumerate(statements) if isinstance(s, dict) and "Fn::If" in s and _grants_studio(s["Fn::If"][1]))
    granted = statements[index]["Fn::If"][1]

    wide = copy.deepcopy(spoke)
    wide_granted = _studio_statement(wide)[index]["Fn::If"][1]
    wide_granted["Resource"] = {
        "Fn::Sub": "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:user-profile/${StudioDomainId}/*"
    }
    wide_granted["Action"] = [STUDIO_ACTION, "sagemaker:CreatePresignedNotebookInstanceUrl"]
    found = studio_problems(wide)
    assert any("not the one user profile" in problem for problem in found), found
    assert any("not sagemaker:CreatePresignedDomainUrl alone" in problem for problem in found), found

    unconditional = copy.deepcopy(spoke)
    _studio_statement(unconditional)[index] = copy.deepcopy(granted)
    found = studio_problems(unconditional)
    assert any("without the HasStudio condition" in problem for problem in found), found

    wildcard = copy.deepcopy(spoke)
    _studio_statement(wildcard).append({"Effect": "Allow", "Action": "sagemaker:CreatePresigned*", "Resource": "*"})
    found = studio_problems(wildcard)
    assert any("without the HasStudio condition" in problem for problem in found), found

    loose = copy.deepcopy(spoke)
    loose["Conditions"][STUDIO_CONDITION] = {"Fn::Not": [{"Fn::Equals": [{"Ref": "StudioDomainId"}, ""]}]}
    assert any("does not require StudioUserProfileName" in problem for problem in studio_problems(loose))

    missing = copy.deepcopy(spoke)
    del _studio_statement(missing)[index]
    assert any("granted nowhere" in problem for problem in studio_problems(missing))


def _model_link_operation(template: dict[str, Any]) -> dict[str, Any]:
    """GET /models/link in the SAM template's OpenAPI body (where its conditional `security` is)."""
    return template["Resources"]["WebhookApi"]["Properties"]["DefinitionBody"]["paths"]["/models/link"]["get"]


def test_the_model_link_route_requires_a_jwt_exactly_when_has_model_link_authorizer() -> None:
    for path in (SAM_TEMPLATE, *([CDK_TEMPLATE] if CDK_TEMPLATE.exists() else [])):
        template = load_template(path)
        assert model_link_authorizer_problems(template) == [], path.name
        assert _route_authorization(template, True)[0] == ["JWT"], path.name
        assert _route_authorization(template, False)[0] == ["NONE"], path.name
        for name in (MODEL_LINK_ISSUER, MODEL_LINK_AUDIENCE):
            assert template["Parameters"][name]["Default"] == "", (path.name, name)
    sam = load_template(SAM_TEMPLATE)
    groups = sam["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    grouped = [name for group in groups for name in group["Parameters"]]
    assert MODEL_LINK_ISSUER in grouped and MODEL_LINK_AUDIENCE in grouped
    issuer = re.compile(sam["Parameters"][MODEL_LINK_ISSUER]["AllowedPattern"])
    assert issuer.fullmatch("") and issuer.fullmatch("https://verify.example.com/oidc/endpoint/default")
    assert not issuer.fullmatch("http://idp.example.com") and not issuer.fullmatch("https://a, https://b")
    audience = re.compile(sam["Parameters"][MODEL_LINK_AUDIENCE]["AllowedPattern"])
    assert audience.fullmatch("") and audience.fullmatch("govsync") and audience.fullmatch("govsync,api://govsync")
    assert not audience.fullmatch("govsync, other") and not audience.fullmatch("govsync,")
    # Only the model-link route: the webhook route stays as it was.
    webhook = sam["Resources"]["GovernanceWebhookFunction"]["Properties"]["Events"]["Webhook"]["Properties"]
    assert "Auth" not in webhook and "Auth" not in sam["Resources"]["WebhookApi"]["Properties"]
    assert "/webhooks/governance" not in sam["Resources"]["WebhookApi"]["Properties"]["DefinitionBody"]["paths"]


def test_the_model_link_check_finds_an_unconditional_or_missing_authorizer() -> None:
    sam = load_template(SAM_TEMPLATE)

    unconditional = copy.deepcopy(sam)
    body = unconditional["Resources"]["WebhookApi"]["Properties"]["DefinitionBody"]
    _model_link_operation(unconditional)["security"] = _model_link_operation(unconditional)["security"]["Fn::If"][1]
    body["components"] = body["components"]["Fn::If"][1]
    found = model_link_authorizer_problems(unconditional)
    assert f"{MODEL_LINK_ROUTE_KEY} is authorized by JWT when {MODEL_LINK_CONDITION} does not hold, not NONE" in found, found

    missing = copy.deepcopy(sam)
    del _model_link_operation(missing)["security"]
    found = model_link_authorizer_problems(missing)
    assert f"{MODEL_LINK_ROUTE_KEY} is authorized by NONE when {MODEL_LINK_CONDITION} holds, not JWT" in found, found

    no_scheme = copy.deepcopy(sam)
    del no_scheme["Resources"]["WebhookApi"]["Properties"]["DefinitionBody"]["components"]
    assert any("does not define" in problem for problem in model_link_authorizer_problems(no_scheme))

    wrong_issuer = copy.deepcopy(sam)
    scheme = wrong_issuer["Resources"]["WebhookApi"]["Properties"]["DefinitionBody"]["components"]["Fn::If"][1]
    jwt = scheme["securitySchemes"]["ModelLinkJwt"]["x-amazon-apigateway-authorizer"]["jwtConfiguration"]
    jwt["issuer"] = "https://idp.example.com"
    assert any("not the ModelLinkJwtIssuer parameter" in problem for problem in model_link_authorizer_problems(wrong_issuer))

    loose = copy.deepcopy(sam)
    loose["Conditions"][MODEL_LINK_CONDITION] = {"Fn::Not": [{"Fn::Equals": [{"Ref": MODEL_LINK_ISSUER}, ""]}]}
    assert any("is not (both" in problem for problem in model_link_authorizer_problems(loose))

    # A route resource beside SAM's OpenAPI body: API Gateway does not support the mix.
    mixed = copy.deepcopy(sam)
    mixed["Resources"]["ModelLinkRoute"] = {
        "Type": "AWS::ApiGatewayV2::Route",
        "Properties": {"ApiId": {"Ref": "WebhookApi"}, "RouteKey": "GET /other", "AuthorizationType": "NONE"},
    }
    assert any("whose routes an OpenAPI body defines" in problem for problem in model_link_authorizer_problems(mixed))

    defaulted = copy.deepcopy(sam)
    defaulted["Resources"]["WebhookApi"]["Properties"]["Auth"] = {
        "DefaultAuthorizer": "Always",
        "Authorizers": {
            "Always": {"IdentitySource": MODEL_LINK_IDENTITY_SOURCE, "JwtConfiguration": {"issuer": "x", "audience": ["y"]}}
        },
    }
    found = model_link_authorizer_problems(defaulted)
    assert any("by JWT when HasModelLinkAuthorizer does not hold" in problem for problem in found), found

    if not CDK_TEMPLATE.exists():
        return
    cdk = load_template(CDK_TEMPLATE)
    route_id = next(
        logical_id
        for logical_id, resource in cdk["Resources"].items()
        if resource["Type"] == "AWS::ApiGatewayV2::Route" and resource["Properties"]["RouteKey"] == MODEL_LINK_ROUTE_KEY
    )
    authorizer_id = cdk["Resources"][route_id]["Properties"]["AuthorizerId"]["Fn::If"][1]["Ref"]

    unconditional = copy.deepcopy(cdk)
    route = unconditional["Resources"][route_id]["Properties"]
    route["AuthorizationType"] = "JWT"
    route["AuthorizerId"] = {"Ref": authorizer_id}
    del unconditional["Resources"][authorizer_id]["Condition"]
    found = model_link_authorizer_problems(unconditional)
    assert f"{MODEL_LINK_ROUTE_KEY} is authorized by JWT when {MODEL_LINK_CONDITION} does not hold, not NONE" in found, found

    missing = copy.deepcopy(cdk)
    missing["Resources"][route_id]["Properties"]["AuthorizationType"] = "NONE"
    del missing["Resources"][route_id]["Properties"]["AuthorizerId"]
    del missing["Resources"][authorizer_id]
    found = model_link_authorizer_problems(missing)
    assert f"{MODEL_LINK_ROUTE_KEY} is authorized by NONE when {MODEL_LINK_CONDITION} holds, not JWT" in found, found

    dangling = copy.deepcopy(cdk)
    del dangling["Resources"][authorizer_id]
    assert any("no authorizer of this template" in problem for problem in model_link_authorizer_problems(dangling))


def _writer_variables(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The environment variables of registry-events and the reconciler, by function name."""
    return {
        resource["Properties"]["FunctionName"]: resource["Properties"]["Environment"]["Variables"]
        for resource in template["Resources"].values()
        if resource.get("Type") in ("AWS::Serverless::Function", "AWS::Lambda::Function")
        and resource.get("Properties", {}).get("FunctionName") in MODEL_LINK_WRITERS
    }


def test_both_link_writers_point_at_model_link_base_url_or_else_the_api() -> None:
    for path in (SAM_TEMPLATE, *([CDK_TEMPLATE] if CDK_TEMPLATE.exists() else [])):
        template = load_template(path)
        assert model_link_url_problems(template) == [], path.name
        variables = _writer_variables(template)
        assert sorted(variables) == sorted(MODEL_LINK_WRITERS), path.name
        values = [variables[name][MODEL_LINK_URL_VARIABLE] for name in MODEL_LINK_WRITERS]
        assert values[0] == values[1] == template["Outputs"][MODEL_LINK_OUTPUT]["Value"], path.name
        assert _resolved(template, values[0], {MODEL_LINK_BASE_URL: _FRONT}) == _FRONT, path.name
        api = flatten(_resolved(template, values[0], {}))
        assert api == "https://${WebhookApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/models/link", path.name
        assert _model_link_apis(template) == {"WebhookApi"}, path.name
    sam = load_template(SAM_TEMPLATE)
    groups = sam["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    assert any(
        MODEL_LINK_BASE_URL in group["Parameters"] and MODEL_LINK_ISSUER in group["Parameters"] for group in groups
    ), groups
    if CDK_TEMPLATE.exists():
        cdk = load_template(CDK_TEMPLATE)
        for key in ("Default", "MaxLength", "AllowedPattern"):
            assert str(cdk["Parameters"][MODEL_LINK_BASE_URL][key]) == str(sam["Parameters"][MODEL_LINK_BASE_URL][key]), key


def test_the_model_link_url_check_finds_two_bases_or_a_default_that_is_not_the_api() -> None:
    for path in (SAM_TEMPLATE, *([CDK_TEMPLATE] if CDK_TEMPLATE.exists() else [])):
        template = load_template(path)
        api = copy.deepcopy(_writer_variables(template)["govsync-registry-events"][MODEL_LINK_URL_VARIABLE]["Fn::If"][2])

        differ = copy.deepcopy(template)
        _writer_variables(differ)["govsync-reconciler"][MODEL_LINK_URL_VARIABLE] = copy.deepcopy(api)
        found = model_link_url_problems(differ)
        assert any(f"{MODEL_LINK_URL_VARIABLE} differs" in problem for problem in found), (path.name, found)
        assert any(
            problem.startswith("govsync-reconciler:") and "not the parameter" in problem for problem in found
        ), (path.name, found)

        elsewhere = copy.deepcopy(template)
        for variables in _writer_variables(elsewhere).values():
            variables[MODEL_LINK_URL_VARIABLE]["Fn::If"][2] = "https://old-front.example.com/models/link"
        found = model_link_url_problems(elsewhere)
        assert any(
            problem.startswith("govsync-registry-events:") and "not the API's own" in problem for problem in found
        ), (path.name, found)
        assert not any("differs" in problem for problem in found), (path.name, found)

        other_route = copy.deepcopy(template)
        for variables in _writer_variables(other_route).values():
            variables[MODEL_LINK_URL_VARIABLE]["Fn::If"][2] = {
                "Fn::Sub": "https://${WebhookApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/webhooks/governance"
            }
        assert any("not the API's own" in problem for problem in model_link_url_problems(other_route)), path.name

        swapped = copy.deepcopy(template)
        for variables in _writer_variables(swapped).values():
            name, when_given, otherwise = variables[MODEL_LINK_URL_VARIABLE]["Fn::If"]
            variables[MODEL_LINK_URL_VARIABLE]["Fn::If"] = [name, otherwise, when_given]
        found = model_link_url_problems(swapped)
        assert any("not the parameter" in problem for problem in found), (path.name, found)
        assert any("not the API's own" in problem for problem in found), (path.name, found)

        always = copy.deepcopy(template)
        always["Parameters"][MODEL_LINK_BASE_URL]["Default"] = _FRONT
        always["Parameters"][MODEL_LINK_BASE_URL]["AllowedPattern"] = "^https://.*$"
        found = model_link_url_problems(always)
        assert any("not empty" in problem for problem in found), (path.name, found)
        assert any("AllowedPattern refuses ''" in problem for problem in found), (path.name, found)
        assert any("AllowedPattern accepts" in problem and "?v=1" in problem for problem in found), (path.name, found)

        stale_output = copy.deepcopy(template)
        stale_output["Outputs"][MODEL_LINK_OUTPUT]["Value"] = copy.deepcopy(api)
        found = model_link_url_problems(stale_output)
        assert any(problem.startswith(f"output {MODEL_LINK_OUTPUT}:") for problem in found), (path.name, found)

        unset = copy.deepcopy(template)
        del _writer_variables(unset)["govsync-registry-events"][MODEL_LINK_URL_VARIABLE]
        assert f"govsync-registry-events: no {MODEL_LINK_URL_VARIABLE}" in model_link_url_problems(unset), path.name
    assert model_link_url_problems(load_template(SPOKE_TEMPLATE)) == []


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



def test_the_deployment_pipeline_rule_starts_only_the_pipeline_and_only_when_asked() -> None:
    templates = [load_template(SAM_TEMPLATE)] + ([load_template(CDK_TEMPLATE)] if CDK_TEMPLATE.exists() else [])
    for template in templates:
        assert deployment_pipeline_problems(template) == []
        assert template["Resources"]["DeploymentPipelineRule"]["Condition"] == "HasDeploymentPipeline"
    assert deployment_pipeline_problems(load_template(SPOKE_TEMPLATE)) == []


def test_the_deployment_pipeline_check_finds_an_unconditional_rule_no_dlq_or_a_wide_role() -> None:
    templates = [load_template(SAM_TEMPLATE)] + ([load_template(CDK_TEMPLATE)] if CDK_TEMPLATE.exists() else [])
    for template in templates:
        unconditional = copy.deepcopy(template)
        unconditional["Resources"]["DeploymentPipelineRule"].pop("Condition")
        found = deployment_pipeline_problems(unconditional)
        assert any(p.startswith("DeploymentPipelineRule: created with DeploymentPipelineKind='none'") for p in found), found

        no_dlq = copy.deepcopy(template)
        no_dlq["Resources"]["DeploymentPipelineRule"]["Properties"]["Targets"][0].pop("DeadLetterConfig")
        found = deployment_pipeline_problems(no_dlq)
        assert any("no DeadLetterConfig on govsync-event-delivery-dlq" in p for p in found), found
        assert any("DeploymentPipelineRule target deployment-pipeline: no DeadLetterConfig" in p for p in problems(no_dlq))

        refused = copy.deepcopy(template)
        for resource in refused["Resources"].values():
            if resource["Type"] == "AWS::SQS::QueuePolicy":
                for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                    if statement.get("Effect") == "Allow":
                        statement["Condition"] = {"ArnEquals": {"aws:SourceArn": "arn:aws:events:us-east-1:123456789012:rule/other"}}
        found = deployment_pipeline_problems(refused)
        assert any("does not let EventBridge send" in p for p in found), found

        wide = copy.deepcopy(template)
        policy = wide["Resources"]["DeploymentPipelineRuleRole"]["Properties"]["Policies"][0]["PolicyDocument"]
        policy["Statement"] = [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
        found = deployment_pipeline_problems(wide)
        assert any("DeploymentPipelineRuleRole: allows ['*']" in p for p in found), found
        assert any("DeploymentPipelineRuleRole: grants on ['*']" in p for p in found), found

        other_bus = copy.deepcopy(template)
        other_bus["Resources"]["DeploymentPipelineRule"]["Properties"]["EventBusName"] = "default"
        assert any("reads bus 'default'" in p for p in deployment_pipeline_problems(other_bus))

        off_by_default = copy.deepcopy(template)
        off_by_default["Parameters"]["DeploymentPipelineKind"]["Default"] = "sagemaker-pipeline"
        off_by_default["Resources"]["DeploymentPipelineRule"]["Properties"]["State"] = "DISABLED"
        found = deployment_pipeline_problems(off_by_default)
        assert any("default 'sagemaker-pipeline', not none" in p for p in found), found
        assert any("State 'DISABLED'" in p for p in found), found

        unconditional_parameters = copy.deepcopy(template)
        target = unconditional_parameters["Resources"]["DeploymentPipelineRule"]["Properties"]["Targets"][0]
        target["SageMakerPipelineParameters"] = target["SageMakerPipelineParameters"]["Fn::If"][1]
        found = deployment_pipeline_problems(unconditional_parameters)
        assert any("SageMakerPipelineParameters" in p and "for codepipeline, not None" in p for p in found), found

        no_parameters = copy.deepcopy(template)
        no_parameters["Resources"]["DeploymentPipelineRule"]["Properties"]["Targets"][0].pop("SageMakerPipelineParameters")
        no_parameters["Resources"]["DeploymentPipelineRule"]["Properties"]["Targets"][0]["Input"] = "{}"
        found = deployment_pipeline_problems(no_parameters)
        assert any("SageMakerPipelineParameters None for sagemaker-pipeline" in p for p in found), found
        assert any("Input for codepipeline" in p for p in found), found

        second_target = copy.deepcopy(template)
        targets = second_target["Resources"]["DeploymentPipelineRule"]["Properties"]["Targets"]
        targets.append({**targets[0], "Id": "other", "Arn": "arn:aws:sqs:us-east-1:123456789012:elsewhere"})
        assert any("2 targets" in p for p in deployment_pipeline_problems(second_target))


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


# Issue 17: the package sync reads a package's state with BatchGetItem and commits its writes in one
# TransactWriteItems (items authorized as Put/Update/Delete/ConditionCheckItem). Each role that runs the
# package sync must be granted every one of them on the tables, or F2 fails with AccessDenied.
PACKAGE_SYNC_ROLES = ("RegistryEventsRole", "ReconcilerRole")
PACKAGE_SYNC_TABLE_ACTIONS = {
    "RegistryEventsRole": {
        "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
        "dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem",
    },
    # The reconciler's package sync commits call by call (no idempotency table on its link store).
    "ReconcilerRole": {
        "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchGetItem",
    },
}


def package_sync_grant_problems(template: dict[str, Any]) -> list[str]:
    """Each package-sync role missing a DynamoDB action it needs on govsync-links."""
    granted: dict[str, set[str]] = {}
    for owner, statement in _statements(template):
        if statement.get("Effect") != "Allow" or "govsync-links" not in flatten(statement.get("Resource", [])) and not any(
            "LinksTable" in flatten(resource) or "Links" in flatten(resource) for resource in as_list(statement.get("Resource", []))
        ):
            continue
        granted.setdefault(owner, set()).update(a for a in as_list(statement.get("Action", [])) if isinstance(a, str))
    found = []
    for owner, needed in PACKAGE_SYNC_TABLE_ACTIONS.items():
        roles = [role for role in granted if role == owner or role.startswith(owner.removesuffix("Role"))]
        actions = set().union(*(granted[role] for role in roles)) if roles else set()
        for action in sorted(needed - actions):
            found.append(f"{owner}: {action} is not granted on govsync-links")
    return found


def test_the_package_sync_roles_may_make_every_table_call_it_makes() -> None:
    assert package_sync_grant_problems(load_template(SAM_TEMPLATE)) == []
    if CDK_TEMPLATE.exists():
        assert package_sync_grant_problems(load_template(CDK_TEMPLATE)) == []
    narrowed = copy.deepcopy(load_template(SAM_TEMPLATE))
    for statement in narrowed["Resources"]["RegistryEventsRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]:
        if statement.get("Sid") == "Tables":
            statement["Action"] = [a for a in statement["Action"] if a != "dynamodb:BatchGetItem"]
    assert package_sync_grant_problems(narrowed) == ["RegistryEventsRole: dynamodb:BatchGetItem is not granted on govsync-links"]
