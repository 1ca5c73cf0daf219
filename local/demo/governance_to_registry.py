"""The second part of govsync's demo (flows F1 and F4) on a running local stack.

1. In governance (the governance emulator): a business entity and a use case, which an approver then
   approves for development. The emulator's signed webhook reaches the governance-webhook function
   (the runner's `serve-webhook`, as API Gateway would), which enqueues it on governance-events.fifo.
2. The approval-propagation function (the runner, on governance-events.fifo) creates the use case's
   model package group in the registry, its model group in governance, and emails the data-science team
   (read back from moto's SES).
3. boto3 registers a model version into the group; registry-events (already running in part 1's way)
   syncs it into governance.
4. The approver approves the model for deployment in governance: the package shows `Approved` and the
   mapped lifecycle stage (PreProduction / Approved), and the change does not bounce back.

When the runner has no `serve-webhook` command, the governance poller (the runner, every 2 s) is the
source of governance changes instead of the webhook. It prints a numbered timeline of both sides and exits
0 when every expectation holds, 1 (with the reason) when one does not. Every process it starts is stopped
before it returns, and the emulator's webhook target is cleared.

Needs the stack's environment (`source .local/stack/stack.env`) and the runner binary (--runner).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from typing import Any

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from registry_sync import (  # noqa: E402
    BUSINESS_ENTITY,
    DATA_SCIENTIST_KEY,
    ExpectationFailed,
    Governance,
    Runner,
    Timeline,
    field,
    register_version,
    sagemaker_client,
    wait_until,
)

# The local stack's webhook signing secret (local/wiring.json, govsync/webhook-signing-secrets "current").
WEBHOOK_SECRET = "whsec_bG9jYWwtd2ViaG9vay1zZWNyZXQtY3VycmVudA=="


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def admin(governance_url: str, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(governance_url.rstrip("/") + "/_emulator" + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    return json.loads(text) if text else None


def sent_emails(moto_url: str, recipient: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(moto_url.rstrip("/") + "/moto-api/data.json", timeout=10) as response:
        data = json.loads(response.read().decode())
    messages = data.get("ses", {}).get("Message", [])
    return [m for m in messages if recipient in (m.get("destinations") or {}).get("ToAddresses", [])]


def has_serve_webhook(runner: str) -> bool:
    try:
        usage = subprocess.run([runner, "--help"], capture_output=True, text=True, timeout=10)
    except OSError:
        return False
    return "serve-webhook" in usage.stdout + usage.stderr


def scenario(args: argparse.Namespace) -> str:
    env = os.environ
    missing = [
        name
        for name in ("GOVSYNC_REGISTRY_URL", "GOVSYNC_GOVERNANCE_URL", "GOVSYNC_MOTO_URL", "GOVSYNC_ROLE_ARN")
        if not env.get(name)
    ]
    if missing:
        raise ExpectationFailed(
            "the local stack's environment is missing " + ", ".join(missing) + " (source .local/stack/stack.env)"
        )
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
    governance_url = env["GOVSYNC_GOVERNANCE_URL"]
    governance = Governance(governance_url)
    data_scientist = sagemaker_client(env["GOVSYNC_REGISTRY_URL"], region, DATA_SCIENTIST_KEY)
    timeline = Timeline()
    suffix = uuid.uuid4().hex[:6]
    logs = pathlib.Path(args.log_dir)
    pids = pathlib.Path(args.pid_dir) if args.pid_dir else None

    def runner(name: str, arguments: list[str]) -> Runner:
        return Runner(
            args.runner,
            logs / f"{name}.log",
            pids / name if pids is not None else None,
            arguments,
        )

    webhook = args.source == "webhook" or (args.source == "auto" and has_serve_webhook(args.runner))
    processes: list[Runner] = []
    try:
        if webhook:
            port = free_port()
            server = runner("runner-webhook", ["serve-webhook", "--port", str(port)])
            server.start()
            processes.append(server)
            admin(
                governance_url,
                "PUT",
                "/webhook",
                {"url": f"http://127.0.0.1:{port}/webhooks/governance", "secret": WEBHOOK_SECRET},
            )
            source = f"the governance emulator's signed webhooks → governance-webhook on :{port}"
        else:
            poller = runner("runner-poller", ["run", "governance-poller", "--every", "2"])
            poller.start()
            processes.append(poller)
            source = "the governance poller, every 2 s" + (
                "" if args.source == "poller" else " (the runner has no serve-webhook)"
            )
        timeline.event("runner", f"governance changes reach governance-events.fifo through {source}")
        for name, function in (("runner-approval", "approval-propagation"), ("runner-registry", "registry-events")):
            process = runner(name, ["run", function, "--poll-wait", "1"])
            process.start()
            processes.append(process)
        timeline.event("runner", "approval-propagation and registry-events running on their queues, as Lambda would")

        entity = governance.create("SOXBusEntity", BUSINESS_ENTITY, None, {})
        timeline.event("governance", f'business entity "{BUSINESS_ENTITY}" created (id {entity["id"]})')
        use_case_name = f"Churn prediction {suffix}"
        team = f"churn-ds-{suffix}@example.com"
        use_case = governance.create(
            "ModelUseCase",
            use_case_name,
            entity["id"],
            {
                "MRG-AIFacts-ModelUseCase:Status": "Awaiting Use Case Approval",
                "MRG-AIFacts-ModelUseCase:Risk Level": "Medium",
                "MRG-ModelUseCase:Owner": "Customer Analytics",
                "MRG-ModelUseCase:Data Science Team Email": team,
            },
        )
        use_case_id = str(use_case["id"])
        timeline.event("governance", f'use case "{use_case_name}" proposed (id {use_case_id}), team {team}')
        governance.call(
            "PUT",
            f"/contents/{use_case_id}",
            {"fields": [{"name": "MRG-AIFacts-ModelUseCase:Status", "value": {"name": "Approved for Development"}}]},
        )
        timeline.event("governance", f"use case {use_case_id} approved for development by an approver")

        # F1: the group, the governance model group, the email.
        def group_of_use_case() -> dict[str, Any] | None:
            groups = data_scientist.list_model_package_groups(NameContains=use_case_id, MaxResults=100)
            for summary in groups["ModelPackageGroupSummaryList"]:
                tags = data_scientist.list_tags(ResourceArn=summary["ModelPackageGroupArn"])["Tags"]
                if {"Key": "govsync:use-case-id", "Value": use_case_id} in tags:
                    return summary
            return None

        group = wait_until("no model package group was created for the approved use case", group_of_use_case, args.timeout)
        group_name, group_arn = group["ModelPackageGroupName"], group["ModelPackageGroupArn"]
        timeline.event("registry", f"govsync created model package group {group_name} ({group_arn})")
        model_group_id = wait_until(
            f"governance has no model group with External ID {group_arn}",
            lambda: governance.find_by_external_id("ModelGroup", group_arn),
            args.timeout,
        )
        model_group = governance.get(model_group_id)
        if str(model_group.get("primary_parent_id")) != use_case_id:
            raise ExpectationFailed(f"model group {model_group_id} is not under the use case {use_case_id}")
        timeline.event("governance", f"model group {model_group_id} created under use case {use_case_id}, External ID = the group ARN")
        emails = wait_until(f"no email reached {team}", lambda: sent_emails(env["GOVSYNC_MOTO_URL"], team), args.timeout)
        if len(emails) != 1 or group_arn not in emails[0].get("body", ""):
            raise ExpectationFailed(f"expected one email naming {group_arn} to {team}, got {emails!r}")
        timeline.event("email", f'to {team} from {emails[0]["source"]}: "{emails[0]["subject"]}"')

        # F2 (part 1's flow): a version registered with boto3 is synced into governance.
        package_arn = register_version(data_scientist, group_name, 1)
        timeline.event("registry", f"version 1 registered by a data scientist ({package_arn})")
        model_id = wait_until(
            f"governance shows no Model with External ID {package_arn}",
            lambda: governance.find_by_external_id("Model", package_arn),
            args.timeout,
        )
        timeline.event("governance", f"Model {model_id} created in model group {model_group_id} by registry-events")

        # F4: governance approves it for deployment.
        governance.call(
            "PUT",
            f"/contents/{model_id}",
            {"fields": [{"name": "MRG-Model:Status", "value": {"name": "Approved for Deployment"}}]},
        )
        timeline.event("governance", f"Model {model_id} approved for deployment by an approver")

        def approved() -> dict[str, Any] | None:
            package = data_scientist.describe_model_package(ModelPackageName=package_arn)
            return package if package.get("ModelApprovalStatus") == "Approved" else None

        package = wait_until("the package was not approved in SageMaker", approved, args.timeout)
        lifecycle = package.get("ModelLifeCycle") or {}
        if (lifecycle.get("Stage"), lifecycle.get("StageStatus")) != ("PreProduction", "Approved"):
            raise ExpectationFailed(f"the package's lifecycle is {lifecycle!r}, not PreProduction / Approved")
        timeline.event(
            "registry",
            f"version 1 is Approved, lifecycle {lifecycle['Stage']} / {lifecycle['StageStatus']}: "
            f"{package.get('ApprovalDescription', '')}",
        )

        # No bounce: the approval's own registry events change neither side again.
        package_modified = package["LastModifiedTime"]
        model_modified = field(governance.get(model_id), "Last Modification Date")
        time.sleep(args.settle)
        after_package = data_scientist.describe_model_package(ModelPackageName=package_arn)
        after_model = governance.get(model_id)
        if after_package["LastModifiedTime"] != package_modified:
            raise ExpectationFailed("the package changed again after the approval (a bounce)")
        if field(after_model, "Last Modification Date") != model_modified:
            raise ExpectationFailed("governance was written again after the approval (a bounce)")
        timeline.event(
            "both",
            f"{args.settle:.0f} s later neither side changed again: the approval's echoes were dropped "
            f"(model status {field(after_model, 'MRG-Model:Status')})",
        )
    finally:
        for process in reversed(processes):
            process.stop()
        if webhook:
            try:
                admin(governance_url, "PUT", "/webhook", {"url": None})
            except OSError:
                pass
    timeline.event("runner", f"stopped {len(processes)} runner processes; logs in {logs}")
    return source


def main() -> int:
    target = os.environ.get("CARGO_TARGET_DIR", "/var/tmp/govsync-target")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runner", default=os.path.join(target, "debug", "govsync-local-runner"))
    parser.add_argument("--log-dir", default=".local/stack/logs", help="where the runner processes log")
    parser.add_argument("--pid-dir", help="where to record the runner processes' pids while they run")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for each expectation")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds to watch for a bounce")
    parser.add_argument(
        "--source",
        choices=("auto", "webhook", "poller"),
        default="auto",
        help="where governance changes come from (auto: the webhook when the runner can serve it)",
    )
    args = parser.parse_args()
    try:
        source = scenario(args)
    except ExpectationFailed as failure:
        print(f"\nFAILED: {failure}", file=sys.stderr, flush=True)
        return 1
    print(
        f"\nAll expectations held: governance → registry (F1 provisioning and email, F4 approval), "
        f"no echo; governance changes came through {source}.",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
