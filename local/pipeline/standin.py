"""A stand-in for a deployment pipeline on the local stack: what a team's pipeline does with govsync's
governance decision events (issue 21, part 3; the event contract is
shared/core/schemas/governance-decision.v1.schema.json).

Wiring, as the templates' optional pipeline rule does it: one EventBridge rule per target stage on
govsync's bus `govsync-decisions`, matching source `govsync`, detail-type `govsync Governance Decision
Applied`, `approval_status` Approved and `lifecycle` = that stage / `Approved` (mapping rows 11 and 13:
"Approved for Deployment" and "Approved for Production"), optionally only for one model package group;
every rule targets one SQS queue of the pipeline's own. Any other decision (a rejection, a lifecycle
such as Production/Deployed, another group's package) never reaches the queue.

What it does with each event on the queue ("deploys"), as SageMaker hosting is driven:
  1. re-reads the package: a decision since revoked (the package no longer Approved) deploys nothing;
  2. CreateModel (PrimaryContainer {ModelPackageName: the package ARN}, an execution role),
     CreateEndpointConfig (one variant), CreateEndpoint tagged `govsync:stage` = the stage (and the
     decision id and package), all named `<group>-v<N>-preprod|prod`, then waits for InService;
  3. for PreProduction only, moves the package's lifecycle to PreProduction/Deployed, its
     StageDescription naming the endpoint and the decision.

Why Production/Deployed is not set here: the status mapping (shared/contracts/status-mapping.md) lets a
lifecycle set in SageMaker move governance only on `both` rows. Row 12 ("Deployed for Validation",
PreProduction/Deployed) is `both`: a pipeline's pre-production deployment is a fact SageMaker may report,
and registry-events carries it into governance. Row 14 ("In Production", Production/Deployed) is
`to_registry`: only governance says a version is in production. Set from here, it would be drift in
SageMaker that govsync reports (a claim of deployment governance never made). So the production
deployment only creates the endpoint; governance sees it in the reconciler's serving report (the Model's
Deployments) and the governance user sets "In Production", which govsync applies to SageMaker. Nor does it
go on to a "Validated" stage status: no row of the default mapping has one, and a state no row describes
is reported by govsync as unmapped rather than carried into governance.

Once per decision: a decision id already handled is acknowledged and nothing is done again (ids are
kept in memory and in a file across runs: --state, by default $GOVSYNC_STATE_DIR/<name>.json for the command); an event redelivered to a fresh process finds
its endpoint (same name) and reuses it, and a lifecycle already moved is not set again. A message whose
deployment fails stays on the queue and is retried after its visibility timeout.

As a library (the demo, the tests):
    pipeline = StandinPipeline(moto_url, registry_url, region)
    pipeline.ensure_wiring()
    for outcome in pipeline.poll(): ...
As a command, with the stack's environment (source .local/stack/stack.env):
    python local/pipeline/standin.py --once      one receive (waits up to --wait-seconds), handle, exit
    python local/pipeline/standin.py --follow    keep polling until interrupted
    python local/pipeline/standin.py --remove    delete the rules and the queue
Each received event is printed (with --json, one JSON line per event and outcome).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import json
import os
import pathlib
import re
import signal
import sys
import time
from typing import Any

# govsync's decision bus and event (local/wiring.json `decision_bus`; shared/core/src/decision_event.rs).
DECISION_BUS = "govsync-decisions"
SOURCE = "govsync"
DETAIL_TYPE = "govsync Governance Decision Applied"
# Target stages and the short names in resource and rule names.
STAGES = {"PreProduction": "preprod", "Production": "prod"}
# The stage whose deployment SageMaker may report to governance (mapping row 12 is `both`).
REPORTED_STAGE = "PreProduction"
DEPLOYED = "Deployed"
# The pipeline's own identity on the registry: not govsync's, so its lifecycle change is not an echo.
PIPELINE_ACCESS_KEY = "AKIASTANDINPIPELINE1"
STAGE_TAG = "govsync:stage"
DECISION_TAG = "govsync:decision-id"
PACKAGE_TAG = "govsync:package-arn"
VARIANT = "AllTraffic"
DEFAULT_INSTANCE_TYPE = "ml.m5.large"
# SageMaker's name rule for models, endpoint configs and endpoints (API reference: EndpointName).
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
PACKAGE_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):sagemaker:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):"
    r"model-package/(?P<group>[^/]+)/(?P<version>[0-9]+)$"
)


class PipelineError(Exception):
    """A deployment that could not be made (the message stays on the queue)."""


@dataclasses.dataclass
class Outcome:
    """One received event and what the stand-in did with it."""

    event: dict[str, Any]
    # deployed | already-deployed | duplicate | ignored | refused | failed
    action: str
    decision_id: str | None = None
    stage: str | None = None
    package_arn: str | None = None
    endpoint_name: str | None = None
    endpoint_arn: str | None = None
    endpoint_status: str | None = None
    model_name: str | None = None
    endpoint_config_name: str | None = None
    # The lifecycle the stand-in set ("PreProduction/Deployed"), if any.
    lifecycle_set: str | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def line(self) -> str:
        what = f"{self.action}"
        if self.endpoint_name:
            what += f" endpoint {self.endpoint_name} ({self.endpoint_status})"
        if self.lifecycle_set:
            what += f", lifecycle {self.lifecycle_set}"
        if self.reason:
            what += f": {self.reason}"
        return f"decision {self.decision_id or '?'} [{self.stage or '-'}] {self.package_arn or '?'}: {what}"


def rule_pattern(stage: str, group: str | None = None) -> dict[str, Any]:
    """The event pattern of one stage's rule (optionally one model package group's packages only)."""
    detail: dict[str, Any] = {
        "approval_status": ["Approved"],
        "lifecycle": {"stage": [stage], "stage_status": ["Approved"]},
    }
    if group is not None:
        # Package ARNs carry the group name lowercased.
        detail["package_arn"] = [{"wildcard": f"arn:*:sagemaker:*:*:model-package/{group.lower()}/*"}]
    return {"source": [SOURCE], "detail-type": [DETAIL_TYPE], "detail": detail}


def parse_package_arn(arn: str) -> dict[str, str] | None:
    match = PACKAGE_ARN.match(arn) if isinstance(arn, str) else None
    return match.groupdict() if match else None


def resource_name(package_arn: str, stage: str) -> str:
    """`<group>-v<N>-<stage>`, within SageMaker's 63 characters: a long group name is cut and given a
    short digest of the whole, so two groups never share a name."""
    parts = parse_package_arn(package_arn)
    if parts is None or stage not in STAGES:
        raise ValueError(f"no resource name for {package_arn!r} at {stage!r}")
    suffix = f"-v{parts['version']}-{STAGES[stage]}"
    group = re.sub(r"[^a-zA-Z0-9-]", "-", parts["group"]).strip("-")
    name = group + suffix
    if len(name) > 63 or not NAME_PATTERN.match(name):
        digest = hashlib.sha256(parts["group"].encode()).hexdigest()[:8]
        keep = 63 - len(suffix) - len(digest) - 1
        name = f"{group[:keep].strip('-')}-{digest}{suffix}"
    return re.sub(r"-{2,}", "-", name)


def matching_stage(event: dict[str, Any]) -> tuple[str | None, str | None]:
    """The target stage a decision event asks to deploy to, or why it asks for none. Checked again here,
    beside the rule: a queue may carry what its rules did not put there."""
    if not isinstance(event, dict):
        return None, "not an EventBridge event"
    if event.get("source") != SOURCE or event.get("detail-type") != DETAIL_TYPE:
        return None, f"not a govsync decision ({event.get('source')!r}, {event.get('detail-type')!r})"
    detail = event.get("detail")
    if not isinstance(detail, dict):
        return None, "the event has no detail"
    if not isinstance(detail.get("decision_id"), str) or parse_package_arn(detail.get("package_arn", "")) is None:
        return None, "the detail has no decision id or no versioned package ARN"
    if detail.get("approval_status") != "Approved":
        return None, f"approval_status is {detail.get('approval_status')!r}, not Approved"
    lifecycle = detail.get("lifecycle")
    if not isinstance(lifecycle, dict):
        return None, "the decision sets no lifecycle stage"
    stage, status = lifecycle.get("stage"), lifecycle.get("stage_status")
    if stage not in STAGES or status != "Approved":
        return None, f"lifecycle {stage}/{status} is no approval for a stage this pipeline deploys to"
    return stage, None


def error_code(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def already_exists(error: Exception) -> bool:
    # SageMaker refuses a second Create* of a name with ValidationException "Cannot create already
    # existing model|endpoint configuration|endpoint ...".
    message = str(getattr(error, "response", {}).get("Error", {}).get("Message", "")).lower()
    return error_code(error) == "ValidationException" and "already exist" in message


def not_found(error: Exception) -> bool:
    # DescribeEndpoint of a missing endpoint: ValidationException "Could not find endpoint ...".
    message = str(getattr(error, "response", {}).get("Error", {}).get("Message", "")).lower()
    return error_code(error) == "ValidationException" and ("could not find" in message or "does not exist" in message)


def _client(service: str, endpoint: str, region: str, access_key: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=access_key,
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5, read_timeout=30),
    )


class StandinPipeline:
    """The stand-in: its rules and queue on moto, its deployments on the registry emulator."""

    def __init__(
        self,
        moto_url: str,
        registry_url: str,
        region: str,
        *,
        name: str = "govsync-standin-pipeline",
        bus: str = DECISION_BUS,
        group: str | None = None,
        access_key: str = PIPELINE_ACCESS_KEY,
        execution_role: str = "SageMakerExecution",
        state_file: pathlib.Path | None = None,
        in_service_timeout: float = 60.0,
    ) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,56}", name):
            raise ValueError(f"pipeline name {name!r}: 1-56 letters, digits, - or _ (rule and queue names)")
        self.name = name
        self.bus = bus
        self.group = group
        self.region = region
        self.execution_role = execution_role
        self.in_service_timeout = in_service_timeout
        self.events = _client("events", moto_url, region, "testing")
        self.sqs = _client("sqs", moto_url, region, "testing")
        self.sagemaker = _client("sagemaker", registry_url, region, access_key)
        self.queue_url: str | None = None
        self.state_file = state_file
        self.seen: set[str] = set()
        if state_file is not None and state_file.exists():
            self.seen = set(json.loads(state_file.read_text()).get("decisions", []))
        # Every event received so far, with its outcome, in order.
        self.history: list[Outcome] = []

    def rule_name(self, stage: str) -> str:
        return f"{self.name}-{STAGES[stage]}"

    # ----- wiring -------------------------------------------------------------------------------------

    def ensure_wiring(self) -> str:
        """Creates (or updates) the queue and one rule per target stage; returns the queue URL."""
        self.queue_url = self.sqs.create_queue(QueueName=self.name)["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        rule_arns = []
        for stage in STAGES:
            rule = self.rule_name(stage)
            answer = self.events.put_rule(
                Name=rule,
                EventBusName=self.bus,
                EventPattern=json.dumps(rule_pattern(stage, self.group)),
                State="ENABLED",
                Description=f"govsync decisions approving a package for {stage}: the stand-in pipeline deploys it",
            )
            rule_arns.append(answer["RuleArn"])
            self.events.put_targets(Rule=rule, EventBusName=self.bus, Targets=[{"Id": "standin-queue", "Arn": queue_arn}])
        # As in AWS: EventBridge may send to the queue only for these rules (SQS access policy).
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "govsync-decisions-to-standin",
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": rule_arns}},
                }
            ],
        }
        self.sqs.set_queue_attributes(QueueUrl=self.queue_url, Attributes={"Policy": json.dumps(policy)})
        return self.queue_url

    def remove_wiring(self) -> None:
        for stage in STAGES:
            with contextlib.suppress(Exception):
                self.events.remove_targets(Rule=self.rule_name(stage), EventBusName=self.bus, Ids=["standin-queue"])
                self.events.delete_rule(Name=self.rule_name(stage), EventBusName=self.bus)
        with contextlib.suppress(Exception):
            url = self.queue_url or self.sqs.get_queue_url(QueueName=self.name)["QueueUrl"]
            self.sqs.delete_queue(QueueUrl=url)
        self.queue_url = None

    # ----- the queue ----------------------------------------------------------------------------------

    def poll(self, wait_seconds: int = 1) -> list[Outcome]:
        """Receives what is on the queue now (waiting up to `wait_seconds` for the first message) and
        handles each event. A handled event's message is deleted; a failed one stays for redelivery."""
        if self.queue_url is None:
            self.queue_url = self.sqs.get_queue_url(QueueName=self.name)["QueueUrl"]
        outcomes: list[Outcome] = []
        wait = wait_seconds
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait, VisibilityTimeout=60
            ).get("Messages", [])
            if not messages:
                return outcomes
            wait = 0
            for message in messages:
                try:
                    event = json.loads(message["Body"])
                except json.JSONDecodeError as error:
                    outcome = Outcome(event={"body": message["Body"]}, action="ignored", reason=f"not JSON: {error}")
                else:
                    # Whatever a sender put there: handled as an event only when it is a JSON object.
                    outcome = self.handle(event if isinstance(event, dict) else {"body": event})
                if outcome.action != "failed":
                    self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
                outcomes.append(outcome)
                self.history.append(outcome)

    def wait_for(self, count: int, timeout: float) -> list[Outcome]:
        """Polls until `count` more events were received (or `timeout` seconds passed); returns them."""
        found: list[Outcome] = []
        deadline = time.monotonic() + timeout
        while len(found) < count and time.monotonic() < deadline:
            found.extend(self.poll(wait_seconds=1))
        return found

    # ----- one event ----------------------------------------------------------------------------------

    def handle(self, event: dict[str, Any]) -> Outcome:
        stage, why_not = matching_stage(event)
        detail = event.get("detail") if isinstance(event, dict) and isinstance(event.get("detail"), dict) else {}
        outcome = Outcome(
            event=event,
            action="ignored",
            decision_id=detail.get("decision_id") if isinstance(detail.get("decision_id"), str) else None,
            stage=stage,
            package_arn=detail.get("package_arn") if isinstance(detail.get("package_arn"), str) else None,
        )
        if stage is None:
            outcome.reason = why_not
            return outcome
        assert outcome.decision_id is not None and outcome.package_arn is not None
        if outcome.decision_id in self.seen:
            outcome.action = "duplicate"
            outcome.reason = "this decision was handled already"
            return outcome
        try:
            self.deploy(outcome, stage)
        except Exception as error:  # noqa: BLE001 - any failure leaves the message for a retry
            outcome.action = "failed"
            outcome.reason = f"{type(error).__name__}: {error}"
            return outcome
        if outcome.action in ("deployed", "already-deployed", "refused"):
            self.remember(outcome.decision_id)
        return outcome

    def remember(self, decision_id: str) -> None:
        self.seen.add(decision_id)
        if self.state_file is not None:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            self.state_file.write_text(json.dumps({"decisions": sorted(self.seen)}, indent=1) + "\n")

    def deploy(self, outcome: Outcome, stage: str) -> None:
        arn = outcome.package_arn
        assert arn is not None and outcome.decision_id is not None
        parts = parse_package_arn(arn)
        assert parts is not None
        try:
            package = self.sagemaker.describe_model_package(ModelPackageName=arn)
        except Exception as error:
            if error_code(error) == "ValidationException":
                outcome.action = "refused"
                outcome.reason = f"the package cannot be read any more: {error}"
                return
            raise
        if package.get("ModelApprovalStatus") != "Approved":
            outcome.action = "refused"
            outcome.reason = f"the package is {package.get('ModelApprovalStatus')} now, no longer Approved"
            return
        name = resource_name(arn, stage)
        outcome.model_name = outcome.endpoint_config_name = outcome.endpoint_name = name
        tags = [
            {"Key": STAGE_TAG, "Value": stage},
            {"Key": DECISION_TAG, "Value": outcome.decision_id},
            {"Key": PACKAGE_TAG, "Value": arn},
        ]
        existing = self.describe_endpoint(name)
        if existing is None:
            self.create_once(
                lambda: self.sagemaker.create_model(
                    ModelName=name,
                    PrimaryContainer={"ModelPackageName": arn},
                    ExecutionRoleArn=f"arn:{parts['partition']}:iam::{parts['account']}:role/{self.execution_role}",
                    Tags=tags,
                )
            )
            instance_types = (package.get("InferenceSpecification") or {}).get("SupportedRealtimeInferenceInstanceTypes") or []
            self.create_once(
                lambda: self.sagemaker.create_endpoint_config(
                    EndpointConfigName=name,
                    ProductionVariants=[
                        {
                            "VariantName": VARIANT,
                            "ModelName": name,
                            "InitialInstanceCount": 1,
                            "InstanceType": instance_types[0] if instance_types else DEFAULT_INSTANCE_TYPE,
                            "InitialVariantWeight": 1.0,
                        }
                    ],
                    Tags=tags,
                )
            )
            self.create_once(lambda: self.sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name, Tags=tags))
            outcome.action = "deployed"
        else:
            outcome.action = "already-deployed"
            outcome.reason = f"endpoint {name} exists already (created {existing.get('CreationTime')})"
        described = self.wait_in_service(name)
        outcome.endpoint_arn = described.get("EndpointArn")
        outcome.endpoint_status = described.get("EndpointStatus")
        if stage == REPORTED_STAGE:
            outcome.lifecycle_set = self.report_deployment(arn, package, outcome)

    def create_once(self, create) -> None:
        try:
            create()
        except Exception as error:
            # Made by an earlier attempt at this decision (the names are the decision's): reused.
            if not already_exists(error):
                raise

    def describe_endpoint(self, name: str) -> dict[str, Any] | None:
        try:
            return self.sagemaker.describe_endpoint(EndpointName=name)
        except Exception as error:
            if not_found(error):
                return None
            raise

    def wait_in_service(self, name: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.in_service_timeout
        while True:
            described = self.sagemaker.describe_endpoint(EndpointName=name)
            status = described.get("EndpointStatus")
            if status == "InService":
                return described
            if status in ("Failed", "OutOfService", "Deleting", "UpdateRollbackFailed"):
                raise PipelineError(f"endpoint {name} is {status}: {described.get('FailureReason', '')}")
            if time.monotonic() > deadline:
                raise PipelineError(f"endpoint {name} not InService within {self.in_service_timeout:.0f} s ({status})")
            time.sleep(0.5)

    def report_deployment(self, arn: str, package: dict[str, Any], outcome: Outcome) -> str | None:
        """PreProduction/Approved → PreProduction/Deployed (mapping row 12, `both`). Only from the
        approved state the decision set: a package that has moved on since is left as it is."""
        lifecycle = package.get("ModelLifeCycle") or {}
        here = (lifecycle.get("Stage"), lifecycle.get("StageStatus"))
        if here != (REPORTED_STAGE, "Approved"):
            if here == (REPORTED_STAGE, DEPLOYED):
                return None
            outcome.reason = f"lifecycle left at {here[0]}/{here[1]} (moved on since the decision)"
            return None
        description = (
            f"Deployed to endpoint {outcome.endpoint_name} ({outcome.endpoint_arn}) by the stand-in pipeline "
            f"for govsync decision {outcome.decision_id}"
        )[:1024]
        self.sagemaker.update_model_package(
            ModelPackageArn=arn,
            ModelLifeCycle={"Stage": REPORTED_STAGE, "StageStatus": DEPLOYED, "StageDescription": description},
            # The decision id (gd- and 32 hex digits, 35 characters) fits ClientToken's 36: a retried
            # update is applied once.
            ClientToken=str(outcome.decision_id),
        )
        return f"{REPORTED_STAGE}/{DEPLOYED}"

    def undeploy(self, package_arn: str, stage: str) -> bool:
        """Deletes the stage's endpoint for a package (a team taking a version out of service); False
        when there was none."""
        name = resource_name(package_arn, stage)
        if self.describe_endpoint(name) is None:
            return False
        self.sagemaker.delete_endpoint(EndpointName=name)
        return True


def describe(outcome: Outcome) -> str:
    """The received event and the outcome, for a person."""
    detail = outcome.event.get("detail") if isinstance(outcome.event.get("detail"), dict) else {}
    governance = detail.get("governance") or {}
    lifecycle = detail.get("lifecycle") or {}
    head = (
        f"received {outcome.event.get('detail-type')} {outcome.event.get('id')} at {outcome.event.get('time')}: "
        f"{detail.get('approval_status')} {lifecycle.get('stage')}/{lifecycle.get('stage_status')} "
        f'("{governance.get("status")}", decided by {governance.get("decided_by")} at {governance.get("decided_at")})'
    )
    return head + "\n  " + outcome.line()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--once", action="store_true", help="receive once, handle what came, exit")
    mode.add_argument("--follow", action="store_true", help="keep receiving until interrupted")
    mode.add_argument("--remove", action="store_true", help="delete the stand-in's rules and queue")
    parser.add_argument("--name", default="govsync-standin-pipeline", help="queue name and rule name prefix")
    parser.add_argument("--group", help="deploy only this model package group's versions")
    parser.add_argument("--bus", default=DECISION_BUS)
    parser.add_argument("--wait-seconds", type=int, default=5, help="long-poll wait of each receive (0-20)")
    parser.add_argument("--state", type=pathlib.Path, help="file keeping the decision ids handled (across runs)")
    parser.add_argument("--json", action="store_true", help="one JSON line per received event and its outcome")
    args = parser.parse_args(argv)

    env = os.environ
    moto_url = env.get("GOVSYNC_MOTO_URL") or env.get("AWS_ENDPOINT_URL")
    registry_url = env.get("AWS_ENDPOINT_URL_SAGEMAKER") or env.get("GOVSYNC_REGISTRY_URL")
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if not (moto_url and registry_url and region):
        print("the local stack's environment is missing (source .local/stack/stack.env)", file=sys.stderr)
        return 2
    if not 0 <= args.wait_seconds <= 20:
        print("--wait-seconds: 0 to 20 (SQS long polling)", file=sys.stderr)
        return 2
    state = args.state
    if state is None and env.get("GOVSYNC_STATE_DIR"):
        state = pathlib.Path(env["GOVSYNC_STATE_DIR"]) / f"{args.name}.json"
    pipeline = StandinPipeline(moto_url, registry_url, region, name=args.name, bus=args.bus, group=args.group, state_file=state)
    if args.remove:
        pipeline.remove_wiring()
        print(f"removed {args.name}'s rules and queue")
        return 0
    pipeline.ensure_wiring()
    if not args.json:
        stages = ", ".join(pipeline.rule_name(stage) for stage in STAGES)
        print(f"stand-in pipeline: rules {stages} on {args.bus} → {pipeline.queue_url}", flush=True)

    stop = False

    def interrupted(*_: Any) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    failed = 0
    while True:
        for outcome in pipeline.poll(wait_seconds=args.wait_seconds):
            failed += outcome.action == "failed"
            if args.json:
                print(json.dumps(outcome.as_dict(), default=str), flush=True)
            else:
                print(describe(outcome), flush=True)
                print("  event: " + json.dumps(outcome.event, default=str), flush=True)
        if args.once or stop:
            return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
