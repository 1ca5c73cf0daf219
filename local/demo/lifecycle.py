"""govsync's demo (the README's `local/demo.sh`): ONE use case and ONE model through the whole lifecycle of
design.md (flows F1–F8) on a running local stack, as one narrated run.

govsync's functions run as Lambda would (the local runner): governance-webhook behind the governance
emulator's signed webhooks (`serve-webhook`), approval-propagation, registry-events and decommission on
their FIFO queues, metrics-relay invoked once per metrics event (`invoke-metrics-relay`) and the reconciler
as its `govsync-reconcile` binary. People act as they would: an approver on the governance emulator's
OpenPages v2 API, a data scientist with boto3 on the registry emulator.

 1. a use case is proposed in governance and approved for development;
 2. govsync (webhook → approval-propagation, F1) creates its model package group and governance model
    group, and emails the data-science team (read back from moto's SES); the team's deployment pipeline
    (the stand-in, local/pipeline/standin.py) puts its rules for the group on govsync-decisions;
 3. a data scientist registers model version 1 from SageMaker Studio with the SageMaker Python SDK, with a
    Model Card of their own (its training run left the model data in moto's S3 and the image in its ECR);
 4. registry-events (F2) creates its Model under the use case, writes govsync's links onto the package and
    governance's facts into its Model Card (the data scientist's content kept);
 5. a governance user follows the Model's govsync link: model-link verifies it and redirects to a fresh
    presigned SageMaker Studio URL on the version (an altered link is refused);
 6. monitoring metrics are pushed (metrics-relay, F7) and show in governance with their breach status;
 7. an approver approves the model for deployment in governance;
 8. approval-propagation (F4) approves the package with the mapped lifecycle stage, records the status in
    its Model Card and publishes ONE governance decision event; nothing echoes back;
 9. the stand-in pipeline receives that event (printed) and deploys version 1 to pre-production (model,
    endpoint config, endpoint tagged govsync:stage), then sets the lifecycle PreProduction/Deployed;
10. registry-events (F3) carries the deployment into governance: "Deployed for Validation";
11. after validation, an approver approves the model for production in governance;
12. approval-propagation (F4) stages the package Production/Approved and publishes one more decision;
13. the stand-in pipeline deploys version 1 to production (it leaves the lifecycle to governance);
14. the reconciler's serving report (F8) writes onto the Model where the version serves;
15. the governance user sets "In Production", which SageMaker shows as Production/Deployed (its decision
    event matches none of the pipeline's rules);
16. version 2, approved in SageMaker behind governance's back, is reverted by the gate (F3, enforce), and
    never reaches the pipeline;
17. the data scientist deletes version 1 in SageMaker while its endpoints still serve;
18. decommission (F5) marks its Model Decommissioned in governance (nothing is deleted there; govsync
    stops no endpoint);
19. the reconciler (F8) reports each endpoint still serving the decommissioned version;
20. the team takes version 1 out of service; the reconciler empties the Model's Deployments, and its next
    run finds no drift (the Model Cards included).

Each step prints a numbered timeline entry with what happened, both sides' state after it and the checks
that held. The run ends with a one-screen summary and leaves a JSON report (--report-dir/report.json) and
the governance emulator's inventory page (--report-dir/governance.html). Exit 0 when every check holds;
1 with the reason when one does not. Every process it starts is stopped before it returns.

Needs the stack's environment (`source .local/stack/stack.env`) and the runner and reconciler binaries.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pathlib
import sys
import time
import uuid
from datetime import datetime, timezone
from typing import Any

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "pipeline"))

from standin import PIPELINE_ACCESS_KEY, STAGE_TAG, STAGES, StandinPipeline, not_found, resource_name  # noqa: E402

from demo_support import (  # noqa: E402
    BUSINESS_ENTITY,
    DecisionListener,
    MODEL_LINK_KEYS_SECRET,
    http_get_no_redirect,
    model_card,
    DATA_SCIENTIST_KEY,
    WEBHOOK_SECRET,
    WRITE_BACK_KEYS,
    packed_links,
    ExpectationFailed,
    Governance,
    Runner,
    field,
    free_port,
    has_serve_webhook,
    http_json,
    invoke_metrics_relay,
    metric_event,
    reconciler_env,
    register_version,
    register_version_with_sdk,
    require_stack_env,
    run_reconciler,
    sagemaker_client,
    sent_emails,
    sqs_client,
    stage_artifacts,
    wait_until,
)

USE_CASE_STATUS = "MRG-AIFacts-ModelUseCase:Status"
MODEL_STATUS = "MRG-Model:Status"
# The field the reconciler's serving report writes on a Model (shared/core/src/default_mapping.toml).
DEPLOYMENTS = "MRG-Model:Deployments"
DLQS = ("registry-events-dlq.fifo", "governance-events-dlq.fifo", "decommission-dlq.fifo")
# The monitoring results of step 5: (metric, value, thresholds, expected breach status).
METRICS = (
    ("AUC", 0.91, {"lower": 0.8}, "Green"),
    ("Feature drift PSI", 0.195, {"upper": 0.2}, "Amber"),
)


# ---------------------------------------------------------------------------------------------------------
# The story's objects and both sides' state


class Story:
    """The objects of the run: one use case, its group, the model's versions."""

    def __init__(self, suffix: str) -> None:
        self.suffix = suffix
        self.business_entity_id: str | None = None
        self.use_case_id: str | None = None
        self.use_case_name = f"Credit risk scoring {suffix}"
        self.team = f"risk-ds-{suffix}@example.com"
        self.group_name: str | None = None
        self.group_arn: str | None = None
        self.model_group_id: str | None = None
        self.packages: dict[int, str] = {}
        self.models: dict[int, str] = {}
        # What each version's training run left in S3 and ECR (stage_artifacts).
        self.artifacts: dict[int, dict[str, str]] = {}
        self.emails: list[dict[str, Any]] = []
        self.model_link = ""

    def objects(self) -> dict[str, Any]:
        return {
            "business_entity": {"id": self.business_entity_id, "name": BUSINESS_ENTITY},
            "use_case": {"id": self.use_case_id, "name": self.use_case_name, "team_email": self.team},
            "model_package_group": {"name": self.group_name, "arn": self.group_arn},
            "model_group_id": self.model_group_id,
            "packages": {str(version): arn for version, arn in self.packages.items()},
            "models": {str(version): model for version, model in self.models.items()},
        }


def governance_state(governance: Governance, story: Story) -> dict[str, Any]:
    state: dict[str, Any] = {"use_case": None, "model_group": None, "models": []}
    if story.use_case_id is not None:
        use_case = governance.get(story.use_case_id)
        state["use_case"] = {"id": story.use_case_id, "status": field(use_case, USE_CASE_STATUS)}
    if story.model_group_id is not None:
        state["model_group"] = {"id": story.model_group_id}
    for version, model_id in sorted(story.models.items()):
        model = governance.get(model_id)
        metrics = []
        for metric in governance.children("Metric", model_id):
            values = governance.children("MetricValue", str(metric["id"]))
            latest = values[-1] if values else None
            metrics.append(
                {
                    "name": metric["name"],
                    "value": field(latest, "MRG-MetricVal:Value") if latest else None,
                    "breach_status": field(latest, "MRG-Metric-Shared:Breach Status") if latest else None,
                    "values": len(values),
                }
            )
        state["models"].append(
            {
                "version": version,
                "id": model_id,
                "status": field(model, MODEL_STATUS),
                # Where the reconciler's serving report says the version is deployed.
                "deployments": field(model, DEPLOYMENTS),
                "metrics": metrics,
            }
        )
    return state


def sagemaker_state(sagemaker: Any, story: Story) -> dict[str, Any]:
    state: dict[str, Any] = {"group": None, "packages": []}
    if story.group_arn is not None:
        tags = sagemaker.list_tags(ResourceArn=story.group_arn)["Tags"]
        state["group"] = {
            "name": story.group_name,
            "tags": {tag["Key"]: tag["Value"] for tag in tags if tag["Key"].startswith("govsync:")},
        }
    for version, arn in sorted(story.packages.items()):
        try:
            package = sagemaker.describe_model_package(ModelPackageName=arn)
        except sagemaker.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ValidationException":
                state["packages"].append({"version": version, "deleted": True})
                continue
            raise
        lifecycle = package.get("ModelLifeCycle") or {}
        metadata = package.get("CustomerMetadataProperties") or {}
        state["packages"].append(
            {
                "version": version,
                "deleted": False,
                "approval": package.get("ModelApprovalStatus"),
                "lifecycle": f"{lifecycle['Stage']}/{lifecycle['StageStatus']}" if lifecycle else None,
                "links": {key: value for key, value in sorted(metadata.items()) if key.startswith("govsync:")},
            }
        )
    state["endpoints"] = endpoints_state(sagemaker, story)
    return state


def endpoints_state(sagemaker: Any, story: Story) -> list[dict[str, Any]]:
    """The endpoints the stand-in pipeline would name for the story's versions, as SageMaker describes them."""
    found = []
    for version, arn in sorted(story.packages.items()):
        for stage in STAGES:
            name = resource_name(arn, stage)
            try:
                endpoint = sagemaker.describe_endpoint(EndpointName=name)
            except sagemaker.exceptions.ClientError as error:
                if not_found(error):
                    continue
                raise
            tags = sagemaker.list_tags(ResourceArn=endpoint["EndpointArn"])["Tags"]
            found.append(
                {
                    "version": version,
                    "name": name,
                    "arn": endpoint["EndpointArn"],
                    "status": endpoint.get("EndpointStatus"),
                    "tags": {tag["Key"]: tag["Value"] for tag in tags},
                }
            )
    return found


def describe_governance(state: dict[str, Any]) -> str:
    if state["use_case"] is None:
        return "nothing yet"
    parts = [f"use case {state['use_case']['id']} {state['use_case']['status']}"]
    parts.append(f"model group {state['model_group']['id']}" if state["model_group"] else "no model group")
    if not state["models"]:
        parts.append("no models")
    for model in state["models"]:
        text = f"Model {model['id']} (v{model['version']}) {model['status'] or '(no status)'}"
        if model["metrics"]:
            text += " [" + ", ".join(f"{m['name']} {m['value']} {m['breach_status']}" for m in model["metrics"]) + "]"
        if model.get("deployments"):
            text += f" deployed at {deployed_at(model['deployments'])}"
        parts.append(text)
    return " · ".join(parts)


def deployed_at(deployments: str) -> str:
    """The endpoints a Deployments text names ("endpoint <name> (<stage>) in … since …" per line), on one line."""
    names = []
    for line in str(deployments).splitlines():
        words = line.split(" ", 3)
        names.append(f"{words[1]} {words[2]}" if len(words) > 2 and words[0] == "endpoint" else line.strip())
    return ", ".join(name for name in names if name)


def describe_sagemaker(state: dict[str, Any]) -> str:
    if state["group"] is None:
        return "no model package group for the use case"
    parts = [f"group {state['group']['name']}"]
    if not state["packages"]:
        parts.append("no packages")
    for package in state["packages"]:
        if package["deleted"]:
            parts.append(f"v{package['version']} deleted")
            continue
        links = package["links"]
        model_id = packed_links(links).get("model")
        link_text = f"{len(links)} govsync links (model {model_id})" if model_id else "no govsync links"
        parts.append(f"v{package['version']} {package['approval']}, lifecycle {package['lifecycle'] or '-'}, {link_text}")
    for endpoint in state.get("endpoints", []):
        parts.append(
            f"endpoint {endpoint['name']} {endpoint['status']} (v{endpoint['version']}, "
            f"{STAGE_TAG}={endpoint['tags'].get(STAGE_TAG)})"
        )
    return " · ".join(parts)


# ---------------------------------------------------------------------------------------------------------
# The narrated timeline


class Step:
    def __init__(self, number: int, title: str, flows: str) -> None:
        self.number = number
        self.title = title
        self.flows = flows
        self.actions: list[str] = []
        self.govsync: list[str] = []
        self.checks: list[str] = []
        # Documents shown whole under the step (the event the stand-in pipeline received).
        self.exhibits: list[dict[str, str]] = []

    def did(self, text: str) -> None:
        """What a person did in this step."""
        self.actions.append(text)

    def saw(self, text: str) -> None:
        """What govsync did in this step."""
        self.govsync.append(text)

    def exhibit(self, label: str, text: str) -> None:
        """A document shown whole under the step, e.g. an event as it was received."""
        self.exhibits.append({"label": label, "text": text})

    def check(self, description: str, holds: bool, detail: str = "") -> None:
        if not holds:
            raise ExpectationFailed(description + (f": {detail}" if detail else ""))
        self.checks.append(description)


class Narrator:
    def __init__(self, governance: Governance, sagemaker: Any, story: Story) -> None:
        self.governance = governance
        self.sagemaker = sagemaker
        self.story = story
        self.started = time.monotonic()
        self.started_at = datetime.now(timezone.utc)
        self.steps: list[dict[str, Any]] = []
        self.failure: str | None = None

    def elapsed(self) -> float:
        return round(time.monotonic() - self.started, 2)

    @contextlib.contextmanager
    def step(self, number: int, title: str, flows: str = ""):
        step = Step(number, title, flows)
        try:
            yield step
        except Exception as error:  # noqa: BLE001 - any failure ends the run, named after its step
            reason = str(error) if isinstance(error, ExpectationFailed) else f"{type(error).__name__}: {error}"
            self.record(step, passed=False, failure=reason)
            raise ExpectationFailed(f"step {number} ({title}): {reason}") from error
        self.record(step, passed=True)

    def record(self, step: Step, passed: bool, failure: str | None = None) -> None:
        elapsed = self.elapsed()
        try:
            governance = governance_state(self.governance, self.story)
            sagemaker = sagemaker_state(self.sagemaker, self.story)
        except Exception as error:  # noqa: BLE001 - a failed snapshot must not hide the step's own outcome
            if passed:
                raise
            governance = sagemaker = {"error": str(error)}
        entry = {
            "number": step.number,
            "title": step.title,
            "flows": step.flows,
            "elapsed_seconds": elapsed,
            "passed": passed,
            "actions": step.actions,
            "govsync": step.govsync,
            "exhibits": step.exhibits,
            "governance": governance,
            "sagemaker": sagemaker,
            "checks": [{"check": check, "passed": True} for check in step.checks],
        }
        if failure is not None:
            entry["checks"].append({"check": failure, "passed": False})
        self.steps.append(entry)
        flows = f" ({step.flows})" if step.flows else ""
        print(f"{step.number:2d}. +{elapsed:6.2f}s  {step.title}{flows}", flush=True)
        for text in step.actions:
            print(f"      who did     {text}", flush=True)
        for text in step.govsync:
            print(f"      govsync     {text}", flush=True)
        for exhibit in step.exhibits:
            lines = exhibit["text"].splitlines() or [""]
            print(f"      {exhibit['label']:<11} {lines[0]}", flush=True)
            for line in lines[1:]:
                print(f"      {'':<11} {line}", flush=True)
        if "error" not in governance:
            print(f"      governance  {describe_governance(governance)}", flush=True)
            print(f"      SageMaker   {describe_sagemaker(sagemaker)}", flush=True)
        mark = "✓" if passed else "✗"
        print(f"      checks      {mark} " + "; ".join(step.checks + ([f"FAILED: {failure}"] if failure else [])), flush=True)


# ---------------------------------------------------------------------------------------------------------
# The story


def group_of_use_case(sagemaker: Any, use_case_id: str) -> dict[str, Any] | None:
    groups = sagemaker.list_model_package_groups(NameContains=use_case_id, MaxResults=100)
    for summary in groups["ModelPackageGroupSummaryList"]:
        tags = sagemaker.list_tags(ResourceArn=summary["ModelPackageGroupArn"])["Tags"]
        if {"Key": "govsync:use-case-id", "Value": use_case_id} in tags:
            return summary
    return None


def business_entity(governance: Governance) -> str:
    """The business entity the stack's registry maps to: the existing one, or a new one."""
    rows = governance.call(
        "POST", "/query", {"statement": f"SELECT [Resource ID] FROM [SOXBusEntity] WHERE [Name] = '{BUSINESS_ENTITY}'"}
    )["rows"]
    for row in rows:
        for item in row["fields"]:
            if item["name"] == "Resource ID":
                return str(item["value"])
    return str(governance.create("SOXBusEntity", BUSINESS_ENTITY, None, {})["id"])


def unchanged_for(seconds: float, read) -> tuple[bool, Any, Any]:
    before = read()
    time.sleep(seconds)
    after = read()
    return before == after, before, after


def lifecycle(args: argparse.Namespace, narrator: Narrator, processes: list[Runner], closers: list[Any]) -> dict[str, Any]:
    env = os.environ
    story = narrator.story
    governance = narrator.governance
    scientist = narrator.sagemaker
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
    logs = pathlib.Path(args.log_dir)
    pids = pathlib.Path(args.pid_dir) if args.pid_dir else None
    timeout = args.timeout

    def runner(name: str, arguments: list[str], extra_env: dict[str, str] | None = None) -> Runner:
        process = Runner(args.runner, logs / f"{name}.log", pids / name if pids else None, arguments, extra_env)
        processes.append(process)
        process.start()
        return process

    # govsync's functions, as Lambda would run them.
    if not has_serve_webhook(args.runner):
        raise ExpectationFailed(f"{args.runner} has no serve-webhook command (rebuild: cargo build --workspace)")
    port = free_port()
    webhook = runner("runner-webhook", ["serve-webhook", "--port", str(port)])
    governance.admin("PUT", "/webhook", {"url": f"http://127.0.0.1:{port}/webhooks/governance", "secret": WEBHOOK_SECRET})
    approval = runner("runner-approval", ["run", "approval-propagation", "--poll-wait", "1"])
    # Models carry the signed govsync link to model-link, served beside the webhook as on the HTTP API.
    link_base = f"http://127.0.0.1:{port}/models/link"
    link_env = {"GOVSYNC_MODEL_LINK_URL": link_base, "GOVSYNC_MODEL_LINK_KEYS_SECRET": MODEL_LINK_KEYS_SECRET}
    registry = runner("runner-registry", ["run", "registry-events", "--poll-wait", "1"], link_env)
    decommission = runner("runner-decommission", ["run", "decommission", "--poll-wait", "1"])
    functions = {
        "governance-webhook": webhook,
        "approval-propagation": approval,
        "registry-events": registry,
        "decommission": decommission,
    }
    queue_functions = {name: process for name, process in functions.items() if name != "governance-webhook"}
    print(
        f"govsync's functions running as Lambda would: governance-webhook on :{port} (the governance emulator's "
        f"signed webhooks), approval-propagation, registry-events and decommission on their queues "
        f"(pids {', '.join(str(p.process.pid) for p in processes if p.process)}); logs in {logs}\n",
        flush=True,
    )
    # On govsync's decision bus: an audit rule taking every decision, and the stand-in deployment
    # pipeline's rules (one per target stage, this run's group only) on a queue of its own.
    decisions = DecisionListener(env["GOVSYNC_MOTO_URL"], region, story.suffix)
    pipeline = StandinPipeline(
        env["GOVSYNC_MOTO_URL"], env["GOVSYNC_REGISTRY_URL"], region, name=f"demo-standin-{story.suffix}"
    )
    closers.append(decisions.close)
    closers.append(pipeline.remove_wiring)
    # Every decision event the audit rule took, in order.
    published_decisions: list[dict[str, Any]] = []
    deliveries_before = len(governance.admin("GET", "/webhooks")["deliveries"])
    api_before = governance.admin("GET", "/stats")["api_requests"]

    # 1. The use case.
    with narrator.step(1, "Use case proposed in governance and approved for development", "governance") as step:
        story.business_entity_id = business_entity(governance)
        use_case = governance.create(
            "ModelUseCase",
            story.use_case_name,
            story.business_entity_id,
            {
                USE_CASE_STATUS: "Awaiting Use Case Approval",
                "MRG-AIFacts-ModelUseCase:Risk Level": "High",
                "MRG-ModelUseCase:Owner": "Risk Analytics",
                "MRG-ModelUseCase:Data Science Team Email": story.team,
            },
        )
        story.use_case_id = str(use_case["id"])
        step.did(
            f'a risk owner proposed use case "{story.use_case_name}" (id {story.use_case_id}) under '
            f'"{BUSINESS_ENTITY}", risk High, team {story.team}'
        )
        governance.set_status(story.use_case_id, USE_CASE_STATUS, "Approved for Development")
        step.did(f"an approver approved use case {story.use_case_id} for development (OpenPages API)")
        status = field(governance.get(story.use_case_id), USE_CASE_STATUS)
        step.check("governance shows the use case Approved for Development", status == "Approved for Development", str(status))

    # 2. F1: provisioning and the team's email.
    with narrator.step(2, "govsync provisions the use case's model package group and emails the team", "F1") as step:
        group = wait_until(
            "no model package group was created for the approved use case",
            lambda: group_of_use_case(scientist, story.use_case_id),
            timeout,
        )
        story.group_name, story.group_arn = group["ModelPackageGroupName"], group["ModelPackageGroupArn"]
        tags = {t["Key"]: t["Value"] for t in scientist.list_tags(ResourceArn=story.group_arn)["Tags"]}
        step.check(
            "the group is tagged with the use case and business entity",
            tags.get("govsync:use-case-id") == story.use_case_id and tags.get("govsync:business-entity") == BUSINESS_ENTITY,
            repr(tags),
        )
        story.model_group_id = wait_until(
            f"governance has no model group with External ID {story.group_arn}",
            lambda: governance.find_by_external_id("ModelGroup", story.group_arn),
            timeout,
        )
        model_group = governance.get(story.model_group_id)
        step.check(
            "the governance model group is under the use case",
            str(model_group.get("primary_parent_id")) == story.use_case_id,
            str(model_group.get("primary_parent_id")),
        )
        story.emails = wait_until(
            f"no email reached {story.team}", lambda: sent_emails(env["GOVSYNC_MOTO_URL"], story.team), timeout
        )
        step.check(
            "exactly one email to the team, naming the group ARN",
            len(story.emails) == 1 and story.group_arn in story.emails[0].get("body", ""),
            repr(story.emails),
        )
        step.saw(
            f"created model package group {story.group_name} in SageMaker and model group {story.model_group_id} "
            f"under the use case in governance"
        )
        step.saw(f'emailed {story.team} from {story.emails[0]["source"]}: "{story.emails[0]["subject"]}"')
        # The team's deployment pipeline subscribes for its group's decisions (the stand-in).
        pipeline.group = story.group_name
        pipeline.ensure_wiring()
        step.did(
            f"the team's deployment pipeline (the stand-in, local/pipeline/standin.py) put rules "
            f"{', '.join(pipeline.rule_name(stage) for stage in STAGES)} on govsync-decisions for group "
            f"{story.group_name}: Approved decisions for PreProduction or Production, onto its queue"
        )

    # 3. A data scientist registers version 1.
    with narrator.step(3, "A data scientist registers model version 1 from SageMaker Studio with the SageMaker Python SDK", "registry") as step:
        staged = story.artifacts[1] = stage_artifacts(env["GOVSYNC_MOTO_URL"], region, 1, story.suffix)
        step.did(
            f"training run 1 left its model data at {staged['model_data']} (ETag {staged['etag']}, version "
            f"{staged['version_id']}) and its image {staged['image']} ({staged['image_digest']})"
        )
        story.packages[1] = register_version_with_sdk(
            env["GOVSYNC_REGISTRY_URL"], region, env["GOVSYNC_STUDIO_ACCESS_KEY_ID"], story.group_name, 1
        )
        step.did(
            f"Model.register() -> {story.packages[1]} (Studio user profile alice), PendingManualApproval, "
            "domain, task, lineage and a Model Card"
        )
        package = scientist.describe_model_package(ModelPackageName=story.packages[1])
        step.check(
            "SageMaker holds version 1 PendingManualApproval",
            package["ModelApprovalStatus"] == "PendingManualApproval",
            package["ModelApprovalStatus"],
        )

    # 4. F2: the Model in governance, the links on the package.
    with narrator.step(4, "registry-events syncs version 1 into governance and links it back", "F2") as step:
        arn = story.packages[1]
        story.models[1] = wait_until(
            f"governance shows no Model with External ID {arn}",
            lambda: governance.find_by_external_id("Model", arn),
            timeout,
        )
        model = governance.get(story.models[1])
        step.check(
            "the Model is in the use case's model group",
            str(model.get("primary_parent_id")) == story.model_group_id,
            str(model.get("primary_parent_id")),
        )
        step.check(
            "the Model carries the package's metadata (version, image, model data URL)",
            str(field(model, "MRG-Model:Model Version")) == "1"
            and bool(field(model, "MRG-Model:Inference Image"))
            and bool(field(model, "MRG-Model:Model Data URL")),
        )
        step.check(
            "the Model names its creator by Studio user profile and carries what the SDK recorded",
            field(model, "MRG-Model:Model Creator") == "alice"
            and field(model, "MRG-Model:Domain") == "MACHINE_LEARNING"
            and field(model, "MRG-Model:Task") == "CLASSIFICATION"
            and str(field(model, "MRG-Model:Lineage") or "").startswith("GeneratedBy=")
            and field(model, "MRG-Model:Model Card Summary") == "Draft: score retail credit applications",
            f"creator {field(model, 'MRG-Model:Model Creator')!r}, domain {field(model, 'MRG-Model:Domain')!r}",
        )

        def write_back() -> dict[str, str] | None:
            metadata = scientist.describe_model_package(ModelPackageName=arn).get("CustomerMetadataProperties", {})
            return metadata if all(key in metadata for key in WRITE_BACK_KEYS) else None

        metadata = wait_until(f"govsync's links did not appear on {arn}", write_back, timeout)
        step.check(
            "the package's links name the Model and the use case",
            packed_links(metadata).get("model") == story.models[1]
            and packed_links(metadata).get("use-case") == story.use_case_id,
            repr(metadata),
        )
        step.saw(f'created Model {story.models[1]} "{model["name"]}" under model group {story.model_group_id}')
        links = sorted(key for key in metadata if key.startswith("govsync:"))
        step.saw(f"wrote {len(links)} govsync: entries onto the package, e.g. govsync:model-url={metadata['govsync:model-url']}")

        card_content, card_status = model_card(scientist, arn)
        details = (card_content.get("additional_information") or {}).get("custom_details") or {}
        step.check(
            "the Model Card keeps the data scientist's purpose and status, and gains governance's facts",
            (card_content.get("intended_uses") or {}).get("purpose_of_model") == "score retail credit applications"
            and card_status == "Draft"
            and details.get("govsync_use_case_name") == story.use_case_name
            and details.get("govsync_model_id") == story.models[1]
            and (card_content.get("intended_uses") or {}).get("risk_rating") == "High"
            and (card_content.get("business_details") or {}).get("line_of_business") == BUSINESS_ENTITY,
            json.dumps(card_content)[:800],
        )
        step.saw(
            "merged into the Model Card: risk_rating High, line_of_business, stakeholders and "
            f"{sum(1 for key in details if key.startswith('govsync_'))} govsync_* custom details"
        )
        story.model_link = str(field(model, "Integration:Third Party Link") or "")
        step.check(
            "the Model's Third Party Link is its signed govsync link",
            story.model_link.startswith(link_base + "?v=1&package="),
            story.model_link,
        )

    # 5. The Model's link, followed from governance into SageMaker Studio.
    with narrator.step(5, "A governance user follows the Model's link into SageMaker Studio", "model-link") as step:
        issued_url = env["GOVSYNC_REGISTRY_URL"].rstrip("/") + "/_emulator/studio/issued"
        issued_before = len(http_json(issued_url)["issued"])
        status, location, _ = http_get_no_redirect(story.model_link)
        step.did(f"a reviewer opened Model {story.models[1]}'s link in governance ({story.model_link[:70]}…)")
        step.check("model-link answers 302 to a presigned Studio URL", status == 302 and "/studio/auth?token=" in location, f"{status} {location}")
        landing = f"studio::models/registered-models/{story.group_name}/versions/1"
        page_status, _, page = http_get_no_redirect(location)
        step.check(
            "the presigned URL signs in to the domain and lands on version 1",
            page_status == 200 and "governance-reviewer" in page and landing in page,
            f"{page_status} {page[:300]}",
        )
        step.saw(f"redirected to a fresh presigned URL for governance-reviewer, landing on {landing}")
        altered = story.model_link.replace("%2F1&", "%2F2&")
        bad_status, _, bad_page = http_get_no_redirect(altered)
        step.check("an altered link (another version) is refused with a 403 page", bad_status == 403 and "cannot be opened" in bad_page, str(bad_status))
        issued = http_json(issued_url)["issued"][issued_before:]
        step.check("exactly one presigned URL was issued, for the one valid opening", len(issued) == 1, repr(issued)[:400])

    # 6. F7: monitoring metrics.
    with narrator.step(6, "Validation metrics pushed and shown in governance with their breach status", "F7") as step:
        account = env.get("GOVSYNC_ACCOUNT_ID", "123456789012")
        status_before = field(governance.get(story.models[1]), MODEL_STATUS)
        for name, value, thresholds, _ in METRICS:
            bounds = ", ".join(f"{k} {v}" for k, v in thresholds.items())
            step.did(f"a nightly evaluation reported {name} = {value} for version 1 ({bounds})")
            event = metric_event(account, region, story.packages[1], name, value, thresholds)
            result = invoke_metrics_relay(args.runner, event, logs / "runner-metrics-relay.log")
            step.saw(f"metrics-relay recorded {name}: {json.dumps(result, sort_keys=True)}")
        metrics = {m["name"]: m for m in governance_state(governance, story)["models"][0]["metrics"]}
        for name, value, _, breach in METRICS:
            seen = metrics.get(name)
            step.check(
                f"{name} = {value} is in governance with breach status {breach}",
                seen is not None and seen["values"] == 1 and seen["breach_status"] == breach and float(seen["value"]) == value,
                repr(seen),
            )
        status_after = field(governance.get(story.models[1]), MODEL_STATUS)
        step.check("no breach, so the Model's status is unchanged", status_after == status_before, f"{status_before} → {status_after}")

    # 7. The approval, in governance.
    with narrator.step(7, "The model approved for deployment in governance", "governance") as step:
        governance.set_status(story.models[1], MODEL_STATUS, "Approved for Deployment")
        step.did(f"an approver set Model {story.models[1]} to Approved for Deployment (OpenPages API)")
        status = field(governance.get(story.models[1]), MODEL_STATUS)
        step.check("governance shows the Model Approved for Deployment", status == "Approved for Deployment", str(status))

    # 8. F4: the approval reaches SageMaker, and nothing bounces back.
    with narrator.step(8, "approval-propagation approves and stages the package in SageMaker", "F4") as step:
        arn = story.packages[1]

        def approved() -> dict[str, Any] | None:
            package = scientist.describe_model_package(ModelPackageName=arn)
            return package if package.get("ModelApprovalStatus") == "Approved" else None

        package = wait_until("the package was not approved in SageMaker", approved, timeout)
        lifecycle_ = package.get("ModelLifeCycle") or {}
        step.check(
            "version 1 is Approved with lifecycle PreProduction/Approved (status mapping row 11)",
            (lifecycle_.get("Stage"), lifecycle_.get("StageStatus")) == ("PreProduction", "Approved"),
            repr(lifecycle_),
        )
        by = (package.get("LastModifiedBy") or {}).get("IamIdentity", {}).get("Arn")
        step.check("the change was made by govsync's role", by == env["GOVSYNC_ROLE_ARN"], str(by))
        step.saw(f"approved version 1: {package.get('ApprovalDescription', '')}")
        card_content, _ = model_card(scientist, arn)
        card_status_entry = ((card_content.get("additional_information") or {}).get("custom_details") or {}).get(
            "govsync_governance_status"
        )
        step.check(
            "the Model Card records the governance status in the same write",
            card_status_entry == "Approved for Deployment",
            str(card_status_entry),
        )
        published = wait_until("no governance decision event reached the audit rule", decisions.received, timeout)
        published_decisions.extend(published)
        detail = published[0]["detail"]
        step.check(
            "one governance decision event on govsync-decisions, naming the package, the approval and who decided",
            len(published) == 1
            and detail["package_arn"] == arn
            and detail["approval_status"] == "Approved"
            and detail["governance"]["status"] == "Approved for Deployment"
            and detail["use_case"]["id"] == story.use_case_id,
            json.dumps(published)[:800],
        )
        step.saw(
            f"published decision {detail['decision_id']} ({detail['approval_status']}, "
            f"{detail['lifecycle']['stage']}/{detail['lifecycle']['stage_status']}, decided by "
            f"{detail['governance']['decided_by']}) on govsync-decisions"
        )
        artifact = detail.get("artifact") or {}
        container = (artifact.get("containers") or [{}])[0]
        staged = story.artifacts[1]
        step.check(
            "the decision binds the approval to the artifact read now: the model data's ETag and version, the image's digest",
            artifact.get("verified") is True
            and (container.get("model_data") or {}).get("etag") == staged["etag"]
            and (container.get("model_data") or {}).get("version_id") == staged["version_id"]
            and (container.get("image") or {}).get("digest") == staged["image_digest"],
            json.dumps(artifact)[:800],
        )
        step.saw(
            f"recorded the approved artifact: {staged['model_data']} ETag {staged['etag']}, image digest "
            f"{staged['image_digest']}"
        )

        def both_sides() -> tuple[Any, Any]:
            return (
                scientist.describe_model_package(ModelPackageName=arn)["LastModifiedTime"],
                field(governance.get(story.models[1]), "Last Modification Date"),
            )

        quiet, _, _ = unchanged_for(args.settle, both_sides)
        step.check(f"no echo: neither side changed again within {args.settle:.0f} s", quiet)
        step.saw(
            "dropped the approval's own echoes so far: "
            + ", ".join(f"{name} {process.metric_total('EchoesDropped')}" for name, process in queue_functions.items())
        )

    # The pipeline's identity on the registry (the emulator names an unmapped key's caller so).
    pipeline_caller = f"arn:aws:iam::{env.get('GOVSYNC_ACCOUNT_ID', '123456789012')}:user/{PIPELINE_ACCESS_KEY}"

    def package_state(arn: str) -> tuple[str | None, str | None, str | None]:
        """(lifecycle "Stage/StageStatus", approval, last modified by) of a package."""
        package = scientist.describe_model_package(ModelPackageName=arn)
        cycle = package.get("ModelLifeCycle") or {}
        by = (package.get("LastModifiedBy") or {}).get("IamIdentity", {}).get("Arn")
        stage = f"{cycle['Stage']}/{cycle['StageStatus']}" if cycle else None
        return stage, package.get("ModelApprovalStatus"), by

    def governance_status_becomes(model_id: str, status: str) -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            model = governance.get(model_id)
            return model if field(model, MODEL_STATUS) == status else None

        return wait_until(f"governance did not show Model {model_id} {status}", reached, timeout)

    def check_deployment(step: Step, outcome: Any, stage: str, decision: dict[str, Any]) -> dict[str, str]:
        """The stand-in's deployment of version 1 at `stage`, as SageMaker describes it: its tags."""
        step.check(
            f"the stand-in received exactly one event, decision {decision['decision_id']} for {stage}",
            outcome.decision_id == decision["decision_id"] and outcome.stage == stage,
            f"{outcome.decision_id} {outcome.stage}",
        )
        step.exhibit("event", json.dumps(outcome.event, indent=2))
        step.check(
            f"it deployed: endpoint {resource_name(story.packages[1], stage)} InService",
            outcome.action == "deployed"
            and outcome.endpoint_name == resource_name(story.packages[1], stage)
            and outcome.endpoint_status == "InService",
            outcome.line(),
        )
        endpoint = scientist.describe_endpoint(EndpointName=outcome.endpoint_name)
        tags = {t["Key"]: t["Value"] for t in scientist.list_tags(ResourceArn=endpoint["EndpointArn"])["Tags"]}
        step.check(
            f"the endpoint is tagged {STAGE_TAG}={stage} with the decision it deployed",
            tags.get(STAGE_TAG) == stage and tags.get("govsync:decision-id") == decision["decision_id"],
            repr(tags),
        )
        step.did(
            f"the stand-in pipeline created model, endpoint config and endpoint {outcome.endpoint_name} "
            f"({endpoint['EndpointArn']}) from package {story.packages[1]}, config {endpoint['EndpointConfigName']}"
        )
        return tags

    def no_decision(step: Step, what: str) -> None:
        """Nothing on govsync-decisions for `--settle` seconds."""
        late: list[dict[str, Any]] = []
        deadline = time.monotonic() + args.settle
        while time.monotonic() < deadline:
            late.extend(decisions.received())
        published_decisions.extend(late)
        step.check(f"no decision event on govsync-decisions within {args.settle:.0f} s ({what})", late == [], json.dumps(late)[:600])

    def nothing_for_the_pipeline(step: Step, what: str) -> None:
        """The stand-in's rules took nothing: polled for `--settle` seconds."""
        received = pipeline.wait_for(1, args.settle)
        step.check(f"the stand-in pipeline received nothing ({what})", received == [], repr([o.line() for o in received]))

    def reconcile(step: Step, run: str = "") -> dict[str, Any]:
        """The reconciler once govsync's queues are idle: its JSON report."""
        sqs = sqs_client(env["GOVSYNC_MOTO_URL"], region)

        def queues_idle() -> bool:
            for queue in ("registry-events.fifo", "governance-events.fifo", "decommission.fifo"):
                url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
                attributes = sqs.get_queue_attributes(
                    QueueUrl=url,
                    AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
                )["Attributes"]
                if any(int(value) for value in attributes.values()):
                    return False
            return True

        wait_until("govsync's queues did not drain", queues_idle, timeout, interval=0.5)
        run_env = {**reconciler_env(env, region, BUSINESS_ENTITY), **link_env}
        code, text = run_reconciler(args.reconciler, run_env, "--json")
        report = json.loads(text)
        counts = report.get("counts", {})
        step.did(f"the scheduled reconciler ran{run} (govsync-reconcile --json, registry {region} → {BUSINESS_ENTITY})")
        step.saw(
            f"compared {counts.get('groups')} group(s), {counts.get('packages')} package(s) and "
            f"{report.get('governance_models')} governance models{run}: {len(report['drifts'])} drift(s)"
        )
        for drift in report["drifts"]:
            step.saw(f"  {drift['kind']} ({drift['outcome']['status']}): {drift.get('detail', '')[:300]}")
        step.check("the reconciler's run completed", code == 0 and report.get("complete", True), text[-800:])
        return report

    # The endpoints the stand-in names for version 1 (one per stage), known once it is registered.
    v1_endpoints: list[str] = []

    def drift_list(report: dict[str, Any]) -> list[tuple[str, str, str]]:
        """(kind, package ARN or group, repair outcome) of every drift of a report, sorted."""
        return sorted(
            (d["kind"], d.get("package_arn") or d.get("group") or "", d["outcome"]["status"]) for d in report["drifts"]
        )

    def serving_drifts(report: dict[str, Any]) -> list[tuple[str, str, str]]:
        """(kind, endpoint, repair outcome) of the endpoint_serving_* drifts, the endpoint as the detail
        names it ("endpoint <name> (<stage>) …")."""
        found = []
        for drift in report["drifts"]:
            if drift["kind"].startswith("endpoint_serving"):
                named = drift.get("detail", "").removeprefix("endpoint ").split(" ", 1)[0]
                found.append((drift["kind"], named, drift["outcome"]["status"]))
        return sorted(found)

    # 9. The stand-in deployment pipeline deploys to pre-production.
    with narrator.step(9, "The stand-in pipeline receives the decision and deploys version 1 to pre-production", "pipeline") as step:
        preprod = published_decisions[0]["detail"]
        v1_endpoints.extend(resource_name(story.packages[1], stage) for stage in STAGES)
        received = pipeline.wait_for(1, timeout)
        step.check("the stand-in's PreProduction rule delivered one event", len(received) == 1, repr([o.line() for o in received]))
        check_deployment(step, received[0], "PreProduction", preprod)
        cycle, approval, by = package_state(story.packages[1])
        step.check(
            "the pipeline moved version 1's lifecycle to PreProduction/Deployed under its own identity (mapping row 12, both)",
            (cycle, approval, by) == ("PreProduction/Deployed", "Approved", pipeline_caller),
            f"{cycle} {approval} {by}",
        )
        step.did(f"the stand-in pipeline set version 1's lifecycle to {received[0].lifecycle_set}")

    # 10. F3: the deployment reported by SageMaker moves governance.
    with narrator.step(10, "registry-events syncs the deployment: governance shows Deployed for Validation", "F3") as step:
        governance_status_becomes(story.models[1], "Deployed for Validation")
        step.check("governance shows version 1's Model Deployed for Validation", True)
        step.saw(f"set Model {story.models[1]} to Deployed for Validation (SageMaker lifecycle PreProduction/Deployed)")
        cycle, approval, _ = package_state(story.packages[1])
        step.check("version 1 stays Approved, PreProduction/Deployed (the gate let it be)", (cycle, approval) == ("PreProduction/Deployed", "Approved"), f"{cycle} {approval}")
        no_decision(step, "a change SageMaker reported is no decision of governance's")

    # 11. Governance approves for production.
    with narrator.step(11, "After validation, the model approved for production in governance", "governance") as step:
        governance.set_status(story.models[1], MODEL_STATUS, "Approved for Production")
        step.did(f"an approver set Model {story.models[1]} to Approved for Production (OpenPages API)")
        status = field(governance.get(story.models[1]), MODEL_STATUS)
        step.check("governance shows the Model Approved for Production", status == "Approved for Production", str(status))

    # 12. F4: applied to SageMaker, one more decision event.
    with narrator.step(12, "approval-propagation stages the package for production and publishes the decision", "F4") as step:
        wait_until(
            "version 1 did not reach Production/Approved",
            lambda: package_state(story.packages[1])[0] == "Production/Approved",
            timeout,
        )
        cycle, approval, by = package_state(story.packages[1])
        step.check(
            "version 1 is Approved, Production/Approved (mapping row 13), by govsync's role",
            (cycle, approval, by) == ("Production/Approved", "Approved", env["GOVSYNC_ROLE_ARN"]),
            f"{cycle} {approval} {by}",
        )
        published = wait_until("no decision event for the production approval", decisions.received, timeout)
        published_decisions.extend(published)
        detail = published[0]["detail"]
        step.check(
            "exactly one more decision event, Approved for Production, with a decision id of its own",
            len(published) == 1
            and detail["governance"]["status"] == "Approved for Production"
            and detail["lifecycle"] == {"stage": "Production", "stage_status": "Approved"}
            and detail["decision_id"] != published_decisions[0]["detail"]["decision_id"],
            json.dumps(published)[:800],
        )
        step.saw(f"applied Approved for Production to version 1 and published decision {detail['decision_id']}")

    # 13. The production deployment.
    with narrator.step(13, "The stand-in pipeline deploys version 1 to production", "pipeline") as step:
        production = published_decisions[-1]["detail"]
        received = pipeline.wait_for(1, timeout)
        step.check("the stand-in's Production rule delivered one event", len(received) == 1, repr([o.line() for o in received]))
        check_deployment(step, received[0], "Production", production)
        cycle, _, by = package_state(story.packages[1])
        step.check(
            "the pipeline left the lifecycle at Production/Approved: In Production is governance's to set (row 14, to_registry)",
            (cycle, by) == ("Production/Approved", env["GOVSYNC_ROLE_ARN"]) and received[0].lifecycle_set is None,
            f"{cycle} {by}",
        )
        status = field(governance.get(story.models[1]), MODEL_STATUS)
        step.check("governance still shows Approved for Production", status == "Approved for Production", str(status))

    # 14. F8: the serving report.
    with narrator.step(14, "The reconciler's serving report shows governance where version 1 is deployed", "F8") as step:
        report = reconcile(step)
        deployments = str(field(governance.get(story.models[1]), DEPLOYMENTS) or "")
        step.check(
            f"version 1's Model lists where it serves ({DEPLOYMENTS}): {', '.join(v1_endpoints)}",
            all(name in deployments for name in v1_endpoints),
            deployments,
        )
        step.saw(f"wrote onto Model {story.models[1]} {DEPLOYMENTS}: " + "; ".join(deployments.splitlines()))
        step.check(
            "exactly one drift: version 1's Deployments field, repaired by writing it (no endpoint serves "
            "a version governance has not approved for its stage)",
            drift_list(report) == [("deployments_out_of_step", story.packages[1].lower(), "repaired")],
            json.dumps(report["drifts"])[:1500],
        )

    # 15. Governance records the version in production; F4 applies it.
    with narrator.step(15, "The governance user sets In Production; SageMaker shows Production/Deployed", "governance, F4") as step:
        governance.set_status(story.models[1], MODEL_STATUS, "In Production")
        step.did(f"having seen the production endpoint, a governance user set Model {story.models[1]} to In Production")
        wait_until(
            "version 1 did not reach Production/Deployed",
            lambda: package_state(story.packages[1])[0] == "Production/Deployed",
            timeout,
        )
        cycle, approval, by = package_state(story.packages[1])
        step.check(
            "version 1 is Approved, Production/Deployed (mapping row 14), by govsync's role",
            (cycle, approval, by) == ("Production/Deployed", "Approved", env["GOVSYNC_ROLE_ARN"]),
            f"{cycle} {approval} {by}",
        )
        step.saw("applied In Production to version 1: lifecycle Production/Deployed")
        published = wait_until("no decision event for In Production", decisions.received, timeout)
        published_decisions.extend(published)
        step.check(
            "one decision event, In Production (Production/Deployed)",
            len(published) == 1
            and published[0]["detail"]["governance"]["status"] == "In Production"
            and published[0]["detail"]["lifecycle"] == {"stage": "Production", "stage_status": "Deployed"},
            json.dumps(published)[:800],
        )
        nothing_for_the_pipeline(step, "its rules take approvals for a stage, not Deployed")

    # 16. F3: a shadow approval of a second version.
    with narrator.step(16, "Version 2, approved in SageMaker behind governance's back, is reverted by the gate", "F2, F3") as step:
        stage_artifacts(env["GOVSYNC_MOTO_URL"], region, 2, story.suffix)
        story.packages[2] = register_version(scientist, story.group_name, 2)
        step.did(f"the data scientist registered version 2 ({story.packages[2]})")
        arn = story.packages[2]
        story.models[2] = wait_until(
            f"governance shows no Model with External ID {arn}",
            lambda: governance.find_by_external_id("Model", arn),
            timeout,
        )
        step.saw(f"registry-events created Model {story.models[2]} for version 2")
        scientist.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
        step.did("the data scientist approved version 2 directly in SageMaker (no governance approval)")

        def reverted() -> dict[str, Any] | None:
            package = scientist.describe_model_package(ModelPackageName=arn)
            by = (package.get("LastModifiedBy") or {}).get("IamIdentity", {}).get("Arn")
            return package if package["ModelApprovalStatus"] == "PendingManualApproval" and by == env["GOVSYNC_ROLE_ARN"] else None

        package = wait_until("the gate did not revert the shadow approval of version 2", reverted, timeout)
        step.check("govsync's gate reverted version 2 to PendingManualApproval", True)
        step.saw(f"reverted version 2 (gate = enforce): {package.get('ApprovalDescription', '')}")
        status = field(governance.get(story.models[2]), MODEL_STATUS)
        step.check(
            "governance does not show version 2 approved",
            not (status and "Approved" in str(status)),
            str(status),
        )
        v1 = scientist.describe_model_package(ModelPackageName=story.packages[1])
        step.check("version 1 stays Approved", v1["ModelApprovalStatus"] == "Approved", v1["ModelApprovalStatus"])
        no_decision(step, "a shadow approval the gate reverted")
        nothing_for_the_pipeline(step, "so version 2 is never deployed")

    # 17. The deletion, in SageMaker, while version 1 still serves.
    with narrator.step(17, "Version 1 deleted in SageMaker by the data scientist (its endpoints still serve)", "registry") as step:
        scientist.delete_model_package(ModelPackageName=story.packages[1])
        step.did(f"the data scientist deleted version 1 with boto3 ({DATA_SCIENTIST_KEY})")
        gone = False
        try:
            scientist.describe_model_package(ModelPackageName=story.packages[1])
        except scientist.exceptions.ClientError as error:
            gone = error.response.get("Error", {}).get("Code") == "ValidationException"
        step.check("SageMaker no longer describes version 1", gone)

    # 18. F5: decommissioned in governance.
    with narrator.step(18, "decommission marks version 1's Model Decommissioned in governance", "F5") as step:
        model = governance_status_becomes(story.models[1], "Decommissioned")
        step.check("the Model is Decommissioned", True)
        siblings = [str(m["id"]) for m in governance.children("Model", story.model_group_id)]
        step.check("the Model is still in governance (nothing deleted there)", story.models[1] in siblings, repr(siblings))
        note = field(model, "MRG-Model:Decommission Note")
        step.saw(
            f"set Model {story.models[1]} to Decommissioned at {field(model, 'Integration:Last Update')}"
            + (f': "{note}"' if note else "")
        )
        v2 = scientist.describe_model_package(ModelPackageName=story.packages[2])
        step.check("version 2 is untouched (PendingManualApproval)", v2["ModelApprovalStatus"] == "PendingManualApproval")
        serving = [e for e in endpoints_state(scientist, story) if e["version"] == 1]
        step.check(
            "version 1's two endpoints still serve: govsync never stops an endpoint",
            sorted(e["name"] for e in serving) == sorted(v1_endpoints) and all(e["status"] == "InService" for e in serving),
            repr(serving),
        )

    # 19. F8: the serving report finds the endpoints serving a decommissioned version.
    with narrator.step(19, "The reconciler reports the endpoints still serving the decommissioned version", "F8") as step:
        report = reconcile(step)
        step.check(
            "exactly: endpoint_serving_decommissioned for each of version 1's endpoints, reported only",
            serving_drifts(report) == sorted(("endpoint_serving_decommissioned", name, "reported") for name in v1_endpoints)
            and len(report["drifts"]) == len(v1_endpoints),
            json.dumps(report["drifts"])[:1500],
        )
        step.check(
            "the endpoints are left serving (govsync never stops an endpoint)",
            all(e["status"] == "InService" for e in endpoints_state(scientist, story) if e["version"] == 1),
        )

    # 20. The team undeploys; F8 finds nothing.
    with narrator.step(20, "The team takes version 1 out of service; the reconciler clears its Deployments, then finds no drift", "pipeline, F8") as step:
        for stage in STAGES:
            step.check(f"the pipeline deleted endpoint {resource_name(story.packages[1], stage)}", pipeline.undeploy(story.packages[1], stage))
        step.did(f"the team's pipeline deleted endpoints {', '.join(v1_endpoints)} (DeleteEndpoint)")
        wait_until(
            "version 1's endpoints are still described",
            lambda: not [e for e in endpoints_state(scientist, story) if e["version"] == 1],
            timeout,
        )
        report = reconcile(step, " once the endpoints were gone")
        step.check(
            "exactly one drift: version 1's Deployments field, emptied (it serves nowhere now)",
            drift_list(report) == [("deployments_out_of_step", story.packages[1].lower(), "repaired")],
            json.dumps(report["drifts"])[:1500],
        )
        deployments = field(governance.get(story.models[1]), DEPLOYMENTS)
        step.check("version 1's Model lists no deployment", not deployments, repr(deployments))
        report = reconcile(step, " again")
        step.check(
            "the reconciler's next run reports nothing (no drift, nothing repaired)",
            report["drifts"] == [],
            json.dumps(report.get("drifts"))[:1500],
        )
        sqs = sqs_client(env["GOVSYNC_MOTO_URL"], region)
        dead = {}
        for queue in DLQS:
            url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
            dead[queue] = int(
                sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
                    "ApproximateNumberOfMessages"
                ]
            )
        step.check("no message was dead-lettered", not any(dead.values()), repr(dead))
        failed = {name: len(process.failed_batches()) for name, process in functions.items() if process.batches}
        step.check("every queue batch succeeded", not any(failed.values()), repr(failed))

    published_decisions.extend(decisions.received())
    deliveries = governance.admin("GET", "/webhooks")["deliveries"][deliveries_before:]
    events = http_json(env["GOVSYNC_REGISTRY_URL"].rstrip("/") + "/_emulator/events")["events"]
    actions: dict[str, int] = {}
    for outcome in pipeline.history:
        actions[outcome.action] = actions.get(outcome.action, 0) + 1
    return {
        "reconciler": report,
        "decisions": [
            {
                "decision_id": d["detail"]["decision_id"],
                "status": d["detail"]["governance"]["status"],
                "approval_status": d["detail"]["approval_status"],
                "lifecycle": d["detail"]["lifecycle"],
            }
            for d in published_decisions
        ],
        "pipeline": {
            "name": pipeline.name,
            "received": [
                {key: value for key, value in outcome.as_dict().items() if key != "event"} | {"event_id": outcome.event.get("id")}
                for outcome in pipeline.history
            ],
        },
        "counts": {
            "registry_events_published": sum(1 for e in events if story.group_name and story.group_name in json.dumps(e)),
            "webhook_deliveries": len(deliveries),
            "webhook_deliveries_failed": sum(1 for d in deliveries if not d.get("delivered")),
            "emails_to_team": len(story.emails),
            "metrics_relay_invocations": len(METRICS),
            # Every decision event on govsync-decisions: one per governance decision applied to SageMaker.
            "decision_events": len(published_decisions),
            # What the stand-in pipeline's rules delivered, by what it did with them.
            "pipeline_events": actions,
            "governance_api_requests": governance.admin("GET", "/stats")["api_requests"] - api_before,
            "batches": {name: len(process.batches) for name, process in queue_functions.items()},
            "failed_batches": {name: len(process.failed_batches()) for name, process in queue_functions.items()},
            # From the functions' embedded-metric lines, summed over their invocations.
            "events_processed": {name: p.metric_total("EventsProcessed") for name, p in queue_functions.items()},
            "echoes_dropped": {name: p.metric_total("EchoesDropped") for name, p in queue_functions.items()},
            "duplicates": {name: p.metric_total("Duplicates") for name, p in queue_functions.items()},
            "quarantined": {name: p.metric_total("Quarantined") for name, p in queue_functions.items()},
        },
    }


# ---------------------------------------------------------------------------------------------------------
# Summary, report, page


def summary(narrator: Narrator, outcome: dict[str, Any], report_path: pathlib.Path, page_path: pathlib.Path) -> None:
    story = narrator.story
    last = narrator.steps[-1]
    gov, sm = last["governance"], last["sagemaker"]
    counts = outcome.get("counts", {})
    models = {m["version"]: m for m in gov.get("models", [])}
    packages = {p["version"]: p for p in sm.get("packages", [])}
    reconciler = outcome["reconciler"]
    rule = "─" * 96

    def per_function(name: str) -> str:
        return ", ".join(f"{function} {count}" for function, count in counts.get(name, {}).items())

    lines = [
        "",
        rule,
        f"govsync lifecycle demo: all {len(narrator.steps)} steps and their checks held in {narrator.elapsed():.1f} s",
        f'  use case      {story.use_case_id} "{story.use_case_name}" ({BUSINESS_ENTITY}): {gov["use_case"]["status"]};'
        f" team {story.team}",
        f"  group         {story.group_name} in SageMaker ⇄ model group {story.model_group_id} in governance",
    ]
    for version in sorted(story.packages):
        model, package = models.get(version, {}), packages.get(version, {})
        side = "deleted" if package.get("deleted") else f"{package.get('approval')} ({package.get('lifecycle') or 'no stage'})"
        metrics = ", ".join(f"{m['name']} {m['breach_status']}" for m in model.get("metrics", []))
        lines.append(
            f"  version {version}     SageMaker: {side} ⇄ governance: Model {model.get('id')} "
            f"{model.get('status') or '(no status)'}" + (f"; metrics {metrics}" if metrics else "")
        )
    lines += [
        "  flows         F1 group + email · F2 model + links · F7 metrics · F4 approved · pipeline deploys · F3 deployed"
        " · F4 production · F8 serving · F3 gate · F5 decommissioned · F8 no drift",
        f"  decisions     {len(outcome.get('decisions', []))} on govsync-decisions: "
        + ", ".join(d["status"] for d in outcome.get("decisions", []))
        + f"; the stand-in pipeline received {len(outcome.get('pipeline', {}).get('received', []))}: "
        + ", ".join(f"{r['stage']} {r['action']} {r['endpoint_name']}" for r in outcome.get("pipeline", {}).get("received", [])),
        f"  traffic       {counts.get('registry_events_published')} registry events, "
        f"{counts.get('webhook_deliveries')} signed webhooks, {counts.get('emails_to_team')} email, "
        f"{counts.get('metrics_relay_invocations')} metrics-relay invocations, "
        f"{counts.get('governance_api_requests')} governance API calls (all callers)",
        f"  batches       {per_function('batches')} ({sum(counts.get('failed_batches', {}).values())} failed)",
        f"  events        processed: {per_function('events_processed')}",
        f"                echoes dropped: {per_function('echoes_dropped')}; duplicates: {per_function('duplicates')}",
        f"  reconciler    {len(reconciler['drifts'])} drifts over {reconciler.get('counts', {}).get('groups')} group(s), "
        f"{reconciler.get('counts', {}).get('packages')} package(s), {reconciler.get('governance_models')} governance models",
        f"  report        {report_path}",
        f"  governance    {page_path} (live at {os.environ['GOVSYNC_GOVERNANCE_URL'].rstrip('/')}/ while the stack is up)",
        rule,
    ]
    print("\n".join(lines), flush=True)


def save_page(governance_url: str, path: pathlib.Path) -> str | None:
    import urllib.request

    try:
        with urllib.request.urlopen(governance_url.rstrip("/") + "/", timeout=10) as response:
            path.write_bytes(response.read())
    except OSError as error:
        return str(error)
    return None


def main() -> int:
    target = os.environ.get("CARGO_TARGET_DIR", "/var/tmp/govsync-target")
    state_dir = os.environ.get("GOVSYNC_STATE_DIR", ".local/stack")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runner", default=os.path.join(target, "debug", "govsync-local-runner"))
    parser.add_argument("--reconciler", default=os.path.join(target, "debug", "govsync-reconcile"))
    parser.add_argument("--log-dir", default=os.path.join(state_dir, "logs"), help="where the runner processes log")
    parser.add_argument("--pid-dir", help="where to record the runner processes' pids while they run")
    parser.add_argument("--report-dir", default=os.path.join(state_dir, "demo"), help="where report.json and governance.html go")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for each expectation")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds to watch for an echo")
    args = parser.parse_args()

    report_dir = pathlib.Path(args.report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    report_path, page_path = report_dir / "report.json", report_dir / "governance.html"
    for stale in (report_path, page_path):
        stale.unlink(missing_ok=True)

    processes: list[Runner] = []
    # What the run put on the stack besides processes (rules, queues), removed on every exit path.
    closers: list[Any] = []
    narrator: Narrator | None = None
    outcome: dict[str, Any] = {}
    failure: str | None = None
    try:
        require_stack_env("GOVSYNC_REGISTRY_URL", "GOVSYNC_GOVERNANCE_URL", "GOVSYNC_MOTO_URL", "GOVSYNC_ROLE_ARN", "GOVSYNC_ACCESS_KEY_ID", "GOVSYNC_STUDIO_ACCESS_KEY_ID")
        env = os.environ
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
        governance = Governance(env["GOVSYNC_GOVERNANCE_URL"])
        scientist = sagemaker_client(env["GOVSYNC_REGISTRY_URL"], region, DATA_SCIENTIST_KEY)
        narrator = Narrator(governance, scientist, Story(uuid.uuid4().hex[:6]))
        outcome = lifecycle(args, narrator, processes, closers)
    except ExpectationFailed as error:
        failure = str(error)
    except Exception as error:  # noqa: BLE001 - e.g. the stack went away: still stop everything and report
        failure = f"{type(error).__name__}: {error}"
    finally:
        for process in reversed(processes):
            process.stop()
        for close in reversed(closers):
            with contextlib.suppress(Exception):
                close()
        if os.environ.get("GOVSYNC_GOVERNANCE_URL") and processes:
            with contextlib.suppress(OSError):
                Governance(os.environ["GOVSYNC_GOVERNANCE_URL"]).admin("PUT", "/webhook", {"url": None})

    page_error = save_page(os.environ["GOVSYNC_GOVERNANCE_URL"], page_path) if os.environ.get("GOVSYNC_GOVERNANCE_URL") else "no stack"
    if narrator is not None:
        report = {
            "schema": "govsync.demo-report/v1",
            "ok": failure is None,
            "failure": failure,
            "started_at": narrator.started_at.isoformat(timespec="seconds"),
            "elapsed_seconds": narrator.elapsed(),
            "stack": {
                name: os.environ.get(name)
                for name in ("GOVSYNC_GOVERNANCE_URL", "GOVSYNC_REGISTRY_URL", "GOVSYNC_MOTO_URL")
            },
            "objects": narrator.story.objects(),
            "steps": narrator.steps,
            "processes": [
                {"command": " ".join(p.arguments), "pid": p.process.pid if p.process else None, "log": str(p.log_path)}
                for p in processes
            ],
            "governance_page": None if page_error else str(page_path),
            **outcome,
        }
        report_path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    if failure is not None:
        print(f"\nFAILED: {failure}", file=sys.stderr, flush=True)
        print(f"report: {report_path}", file=sys.stderr, flush=True)
        return 1
    assert narrator is not None
    if page_error:
        print(f"\nFAILED: the governance inventory page could not be saved: {page_error}", file=sys.stderr, flush=True)
        return 1
    summary(narrator, outcome, report_path, page_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
