"""A part of govsync's demo (flows F5, F6 and F7) on a running local stack.

1. In governance (the governance emulator): a business entity and an approved use case; in the registry
   (boto3 on the registry emulator): the use case's tagged model package group and three versions, which
   registry-events (the runner) syncs into governance as Models.
2. F5: a data scientist deletes version 1 in SageMaker. The CloudTrail record reaches decommission.fifo
   (the `govsync-decommission` rule) and the decommission function (the runner) sets version 1's Model to
   `Decommissioned`, with when (`Integration:Last Update`) and, where the function wrote it, who
   (`MRG-Model:Decommission Note`). Nothing is deleted in governance.
3. F7: a metrics producer reports version 3's AUC below its lower threshold; the metrics-relay function
   (the runner's `invoke-metrics-relay`, as the EventBridge rule would invoke it) records the Metric and
   a `Red` MetricValue under version 3's Model, and the breach moves the Model to `Under Review`.
4. F6: an approver decommissions the use case in governance. The decommission request goes on
   decommission.fifo as approval-propagation would put it there (this part does not run
   approval-propagation), and the decommission function archives every remaining package of the use case:
   `ModelLifeCycle` Archived / Retired, approval Rejected, the reason in the descriptions; nothing deleted.
   registry-events sees the archive's echoes and drops them: governance is not changed back.

It prints a numbered timeline of both sides and exits 0 when every expectation holds, 1 (with the reason)
when one does not. Every process it starts is stopped before it returns.

Needs the stack's environment (`source .local/stack/stack.env`) and the runner binary (--runner).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time
import uuid
from typing import Any

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from demo_support import (  # noqa: E402
    BUSINESS_ENTITY,
    DATA_SCIENTIST_KEY,
    ExpectationFailed,
    Governance,
    Runner,
    Timeline,
    children,
    field,
    invoke_metrics_relay,
    now_rfc3339,
    register_version,
    sagemaker_client,
    sqs_client,
    wait_until,
)

NOTE_FIELD = "MRG-Model:Decommission Note"


def scenario(args: argparse.Namespace) -> None:
    env = os.environ
    missing = [
        name
        for name in ("GOVSYNC_REGISTRY_URL", "GOVSYNC_GOVERNANCE_URL", "GOVSYNC_MOTO_URL", "GOVSYNC_ACCOUNT_ID")
        if not env.get(name)
    ]
    if missing:
        raise ExpectationFailed(
            "the local stack's environment is missing " + ", ".join(missing) + " (source .local/stack/stack.env)"
        )
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
    governance = Governance(env["GOVSYNC_GOVERNANCE_URL"])
    data_scientist = sagemaker_client(env["GOVSYNC_REGISTRY_URL"], region, DATA_SCIENTIST_KEY)
    sqs = sqs_client(env["GOVSYNC_MOTO_URL"], region)
    timeline = Timeline()
    suffix = uuid.uuid4().hex[:6]
    logs = pathlib.Path(args.log_dir)
    logs.mkdir(parents=True, exist_ok=True)

    entity = governance.create("SOXBusEntity", BUSINESS_ENTITY, None, {})
    use_case_name = f"Churn prediction {suffix}"
    use_case = governance.create(
        "ModelUseCase",
        use_case_name,
        entity["id"],
        {
            "MRG-AIFacts-ModelUseCase:Status": "Approved for Development",
            "MRG-AIFacts-ModelUseCase:Risk Level": "Medium",
            "MRG-ModelUseCase:Owner": "Customer Analytics",
        },
    )
    use_case_id = str(use_case["id"])
    timeline.event("governance", f'use case "{use_case_name}" (id {use_case_id}) approved for development')
    group_name = f"churn-prediction-{use_case_id}-{suffix}"
    data_scientist.create_model_package_group(
        ModelPackageGroupName=group_name,
        Tags=[
            {"Key": "govsync:use-case-id", "Value": use_case_id},
            {"Key": "govsync:business-entity", "Value": BUSINESS_ENTITY},
        ],
    )
    timeline.event("registry", f"model package group {group_name} created for the use case")

    processes: list[Runner] = []

    def runner(name: str, arguments: list[str]) -> Runner:
        pid_file = pathlib.Path(args.pid_dir) / f"runner-{name}" if args.pid_dir else None
        process = Runner(args.runner, logs / f"runner-{name}.log", pid_file, arguments)
        processes.append(process)
        process.start()
        return process

    try:
        registry_events = runner("registry-events", ["run", "registry-events", "--poll-wait", "1"])
        decommission = runner("decommission", ["run", "decommission", "--poll-wait", "1"])
        timeline.event(
            "runner",
            f"registry-events (pid {registry_events.process.pid}) and decommission "
            f"(pid {decommission.process.pid}) running on their queues, as Lambda would",
        )

        arns = [register_version(data_scientist, group_name, version) for version in (1, 2, 3)]
        models = [
            wait_until(
                f"governance shows no Model with External ID {arn}",
                lambda arn=arn: governance.find_by_external_id("Model", arn),
                args.timeout,
            )
            for arn in arns
        ]
        timeline.event("governance", f"versions 1-3 synced by registry-events: Models {', '.join(models)}")

        # F5: a package deleted in SageMaker.
        data_scientist.delete_model_package(ModelPackageName=arns[0])
        timeline.event("registry", f"version 1 deleted in SageMaker by a data scientist ({DATA_SCIENTIST_KEY})")

        def decommissioned() -> dict[str, Any] | None:
            model = governance.get(models[0])
            return model if field(model, "MRG-Model:Status") == "Decommissioned" else None

        model_1 = wait_until(f"Model {models[0]} was not decommissioned", decommissioned, args.timeout)
        note = field(model_1, NOTE_FIELD)
        timeline.event(
            "governance",
            f"Model {models[0]} is Decommissioned (Integration:Last Update {field(model_1, 'Integration:Last Update')})"
            + (f': "{note}"' if note else ""),
        )
        if not any(model["id"] == models[0] for model in children(governance, "Model", str(model_1["primary_parent_id"]))):
            raise ExpectationFailed(f"Model {models[0]} is gone from governance: decommissioning must not delete")

        # F7: a metric with a breach.
        metric_time = now_rfc3339()
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Model Metric Recorded",
            "source": "govsync.metrics",
            "account": env["GOVSYNC_ACCOUNT_ID"],
            "time": metric_time,
            "region": region,
            "resources": [],
            "detail": {
                "model_package_arn": arns[2],
                "metric": "AUC",
                "value": 0.71,
                "timestamp": metric_time,
                "thresholds": {"lower": 0.8},
                "source": "nightly-evaluation",
            },
        }
        timeline.event("metrics", f"nightly evaluation reports AUC 0.71 for version 3 (lower threshold 0.8)")
        result = invoke_metrics_relay(args.runner, event, logs / "runner-metrics-relay.log")
        metrics = children(governance, "Metric", models[2])
        auc = next((metric for metric in metrics if metric["name"] == "AUC"), None)
        if auc is None:
            raise ExpectationFailed(f"Model {models[2]} has no AUC metric (metrics-relay answered {result})")
        values = children(governance, "MetricValue", str(auc["id"]))
        if len(values) != 1 or field(values[0], "MRG-Metric-Shared:Breach Status") != "Red":
            raise ExpectationFailed(f"expected one Red AUC value, found {values!r}")
        timeline.event(
            "governance",
            f"Metric AUC (id {auc['id']}, lower threshold {field(auc, 'MRG-Metric-Shared:Lower Threshold')}) "
            f"under Model {models[2]}: value {field(values[0], 'MRG-MetricVal:Value')} at "
            f"{field(values[0], 'MRG-MetricVal:Value Date')}, breach status Red",
        )
        again = invoke_metrics_relay(args.runner, event, logs / "runner-metrics-relay.log")
        if again.get("duplicates") != 1 or len(children(governance, "MetricValue", str(auc["id"]))) != 1:
            raise ExpectationFailed(f"the same metric event recorded a second value ({again})")
        status_3 = field(governance.get(models[2]), "MRG-Model:Status")
        if status_3 != "Under Review":
            raise ExpectationFailed(f"the breach did not move Model {models[2]} to Under Review (it is {status_3!r})")
        timeline.event(
            "governance",
            f"the breach moved Model {models[2]} to Under Review; the same event again recorded nothing new",
        )

        # F6: the use case decommissioned in governance.
        governance.call(
            "PUT",
            f"/contents/{use_case_id}",
            {"fields": [{"name": "MRG-AIFacts-ModelUseCase:Status", "value": {"name": "Decommissioned"}}]},
        )
        timeline.event("governance", f"use case {use_case_id} decommissioned by an approver")
        request = {
            "schema": "govsync.decommission-request/v1",
            "kind": "use_case",
            "governance_id": use_case_id,
            "reason": f"Use case {use_case_name} retired by the model risk committee",
            "requested_at": now_rfc3339(),
            "source": "approval-propagation",
        }
        queue_url = sqs.get_queue_url(QueueName="decommission.fifo")["QueueUrl"]
        sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=json.dumps(request),
            MessageGroupId=f"decommission-use_case-{use_case_id}",
            MessageDeduplicationId=f"demo-{uuid.uuid4().hex}",
        )
        timeline.event("queue", "decommission request put on decommission.fifo, as approval-propagation would")
        statuses_before = {model: field(governance.get(model), "MRG-Model:Status") for model in models[1:]}

        def archived(arn: str) -> dict[str, Any] | None:
            package = data_scientist.describe_model_package(ModelPackageName=arn)
            lifecycle = package.get("ModelLifeCycle") or {}
            return package if lifecycle.get("Stage") == "Archived" else None

        for version, arn in ((2, arns[1]), (3, arns[2])):
            package = wait_until(f"version {version} was not archived", lambda arn=arn: archived(arn), args.timeout)
            lifecycle = package["ModelLifeCycle"]
            if (lifecycle.get("StageStatus"), package.get("ModelApprovalStatus")) != ("Retired", "Rejected"):
                raise ExpectationFailed(f"version {version} is {lifecycle!r} / {package.get('ModelApprovalStatus')}")
            timeline.event(
                "registry",
                f"version {version} archived by govsync: {lifecycle['Stage']} / {lifecycle['StageStatus']}, "
                f"{package['ModelApprovalStatus']}: {lifecycle.get('StageDescription', '')}",
            )
        time.sleep(args.settle)
        statuses_after = {model: field(governance.get(model), "MRG-Model:Status") for model in models[1:]}
        if statuses_after != statuses_before:
            raise ExpectationFailed(f"governance changed after the archive (an echo): {statuses_before} → {statuses_after}")
        timeline.event(
            "both",
            f"{args.settle:.0f} s later governance still shows {statuses_after}: the archive's echoes were dropped",
        )
        packages = data_scientist.list_model_packages(ModelPackageGroupName=group_name)["ModelPackageSummaryList"]
        if len(packages) != 2:
            raise ExpectationFailed(f"expected the two archived packages to remain, found {len(packages)}")
        timeline.event("registry", "both archived packages are still in the registry: govsync never deletes")
    finally:
        for process in reversed(processes):
            process.stop()
    failed = [batch for process in processes for batch in process.batches if "completed" not in batch.get("outcome", {})]
    timeline.event("runner", f"stopped {len(processes)} runner processes ({len(failed)} failed invocations); logs in {logs}")


def main() -> int:
    target = os.environ.get("CARGO_TARGET_DIR", "/var/tmp/govsync-target")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runner", default=os.path.join(target, "debug", "govsync-local-runner"))
    parser.add_argument("--log-dir", default=".local/stack/logs", help="where the runner processes log")
    parser.add_argument("--pid-dir", help="where to record the runner processes' pids while they run")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for each expectation")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds to watch for an echo")
    args = parser.parse_args()
    try:
        scenario(args)
    except ExpectationFailed as failure:
        print(f"\nFAILED: {failure}", file=sys.stderr)
        return 1
    print("\nF5, F6 and F7 hold: deletions decommission, decommissions archive, metrics land with their breach status.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
