"""A part of govsync's demo (flow F8, the reconciler) on a running local stack: events get lost, the
reconciler finds the drift, reports it, repairs it, and a second run finds nothing.

1. In governance: a business entity and an approved use case.
2. In a registry whose events reach no queue (region ca-central-1 of the registry emulator: no
   EventBridge rule was ever deployed for it, as when a spoke's rule or CloudTrail trail is missing), a
   data scientist creates the use case's group and registers three versions. Every event is lost.
3. `govsync-reconcile` (the reconciler's code, as the Lambda runs it on its schedule) brings the three
   versions into governance and writes the links back.
4. More changes whose events are lost: version 1 deleted and version 2 approved in SageMaker, version 3's
   model moved to "Approved for Production" in governance (no webhook receiver runs).
5. `govsync-reconcile --dry-run` prints the drift report and changes nothing (checked on both sides).
6. `govsync-reconcile --json` repairs: the shadow approval is reverted, version 3's package follows its
   governance status, version 1's model is decommissioned; each is checked on its side.
7. `govsync-reconcile` again: no drift.

It prints a numbered timeline and the reports, and exits 0 when every expectation holds, 1 (with the reason)
when one does not.

Needs the stack's environment (`source .local/stack/stack.env`): GOVSYNC_REGISTRY_URL, GOVSYNC_GOVERNANCE_URL,
GOVSYNC_MOTO_URL, GOVSYNC_ROLE_ARN, GOVSYNC_ACCESS_KEY_ID; and the reconciler binary (--reconciler, default
$CARGO_TARGET_DIR/debug/govsync-reconcile).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from typing import Any

from demo_support import (
    DATA_SCIENTIST_KEY,
    ExpectationFailed,
    Governance,
    Timeline,
    drift_set,
    field,
    register_version,
    sagemaker_client,
)
from demo_support import reconciler_env as local_reconciler_env
from demo_support import run_reconciler as reconcile

# The registry the demo reconciles: a region of the registry emulator no EventBridge rule listens to.
REGION = "ca-central-1"
BUSINESS_ENTITY = "Wealth Management"


def reconciler_env(env: os._Environ[str]) -> dict[str, str]:
    """The reconciler's environment (local values), governing only this part's registry."""
    return local_reconciler_env(env, REGION, BUSINESS_ENTITY)


def show(report: str) -> None:
    for line in report.rstrip("\n").splitlines():
        print(f"      | {line}", flush=True)


def snapshot(sagemaker: Any, governance: Governance, group: str, arns: list[str]) -> str:
    packages = sagemaker.list_model_packages(ModelPackageGroupName=group).get("ModelPackageSummaryList", [])
    described = [
        {
            key: value
            for key, value in sagemaker.describe_model_package(ModelPackageName=p["ModelPackageArn"]).items()
            if key != "ResponseMetadata"
        }
        for p in packages
    ]
    models = [governance.find_by_external_id("Model", arn) for arn in arns]
    return json.dumps([described, [governance.get(m) if m else None for m in models]], default=str, sort_keys=True)


def scenario(args: argparse.Namespace) -> None:
    env = os.environ
    missing = [
        name
        for name in (
            "GOVSYNC_REGISTRY_URL",
            "GOVSYNC_GOVERNANCE_URL",
            "GOVSYNC_MOTO_URL",
            "GOVSYNC_ROLE_ARN",
            "GOVSYNC_ACCESS_KEY_ID",
        )
        if not env.get(name)
    ]
    if missing:
        raise ExpectationFailed(
            "the local stack's environment is missing " + ", ".join(missing) + " (source .local/stack/stack.env)"
        )
    governance = Governance(env["GOVSYNC_GOVERNANCE_URL"])
    data_scientist = sagemaker_client(env["GOVSYNC_REGISTRY_URL"], REGION, DATA_SCIENTIST_KEY)
    run_env = reconciler_env(env)
    timeline = Timeline()
    suffix = uuid.uuid4().hex[:6]

    entity = governance.create("SOXBusEntity", f"{BUSINESS_ENTITY} {suffix}", None, {})
    use_case_name = f"Portfolio churn {suffix}"
    use_case = governance.create(
        "ModelUseCase",
        use_case_name,
        entity["id"],
        {"MRG-AIFacts-ModelUseCase:Status": "Approved for Development", "MRG-AIFacts-ModelUseCase:Risk Level": "Medium"},
    )
    use_case_id = str(use_case["id"])
    timeline.event("governance", f'use case "{use_case_name}" (id {use_case_id}) approved for development')

    group = f"portfolio-churn-{use_case_id}-{suffix}"
    data_scientist.create_model_package_group(
        ModelPackageGroupName=group,
        Tags=[{"Key": "govsync:use-case-id", "Value": use_case_id}],
    )
    arns = [register_version(data_scientist, group, version) for version in (1, 2, 3)]
    timeline.event(
        "registry",
        f"group {group} and versions 1-3 registered in {REGION}, a registry no EventBridge rule listens to: "
        "every event is lost",
    )
    if any(governance.find_by_external_id("Model", arn) for arn in arns):
        raise ExpectationFailed("governance already holds the versions: the events were not lost")

    code, text = reconcile(args.reconciler, run_env, "--json")
    first = json.loads(text)
    wanted = {("package_not_in_governance", arn) for arn in arns}
    if not wanted <= drift_set(first) or code != 0:
        raise ExpectationFailed(f"the first run did not bring the versions in: {text}")
    models = [governance.find_by_external_id("Model", arn) for arn in arns]
    if not all(models):
        raise ExpectationFailed(f"after the first run, governance models are {models}")
    timeline.event(
        "reconciler",
        f"run 1 found {len(first['drifts'])} packages missing from governance and synced them "
        f"(registry-events' code path): models {', '.join(str(m) for m in models)}",
    )

    # Events lost on both sides.
    data_scientist.delete_model_package(ModelPackageName=arns[0])
    timeline.event("registry", "version 1 deleted by a data scientist (event lost)")
    data_scientist.update_model_package(ModelPackageArn=arns[1], ModelApprovalStatus="Approved")
    timeline.event("registry", "version 2 approved directly in SageMaker, behind governance's back (event lost)")
    governance.call(
        "PUT",
        f"/contents/{models[2]}",
        {"fields": [{"name": "MRG-Model:Status", "value": {"name": "Approved for Production"}}]},
    )
    timeline.event("governance", f"model {models[2]} (version 3) set to Approved for Production (webhook lost)")

    before = snapshot(data_scientist, governance, group, arns)
    code, text = reconcile(args.reconciler, run_env, "--dry-run")
    timeline.event("reconciler", "run 2, --dry-run: the drift report")
    show(text)
    expected = {
        ("model_package_gone", arns[0]),
        ("shadow_approval", arns[1]),
        ("status_out_of_step", arns[2]),
    }
    for kind, arn in expected:
        if kind not in text or arn.rsplit("/", 1)[1] not in text:
            raise ExpectationFailed(f"the dry run's report lacks {kind} for {arn}")
    if snapshot(data_scientist, governance, group, arns) != before:
        raise ExpectationFailed("the dry run changed something")
    timeline.event("reconciler", "both sides compared before and after the dry run: nothing changed")

    code, text = reconcile(args.reconciler, run_env, "--json")
    repaired = json.loads(text)
    if drift_set(repaired) != expected or code != 0:
        raise ExpectationFailed(f"run 3 found {sorted(drift_set(repaired))}, expected {sorted(expected)}")
    for drift in repaired["drifts"]:
        timeline.event(
            "reconciler",
            f"{drift['kind']} on version {drift['package_arn'].rsplit('/', 1)[1]}: "
            f"{drift['repair']['action']} → {drift['outcome']['status']}",
        )
    model_1 = governance.get(str(models[0]))
    if field(model_1, "MRG-Model:Status") != "Decommissioned":
        raise ExpectationFailed(f"model {models[0]} is {field(model_1, 'MRG-Model:Status')!r}, not Decommissioned")
    timeline.event("governance", f"model {models[0]} (version 1, package deleted) is Decommissioned")
    v2 = data_scientist.describe_model_package(ModelPackageName=arns[1])
    if v2["ModelApprovalStatus"] != "PendingManualApproval":
        raise ExpectationFailed(f"version 2 is still {v2['ModelApprovalStatus']}")
    timeline.event("registry", f"version 2 reverted to PendingManualApproval by the gate: {v2.get('ApprovalDescription', '')}")
    v3 = data_scientist.describe_model_package(ModelPackageName=arns[2])
    lifecycle = v3.get("ModelLifeCycle", {})
    if v3["ModelApprovalStatus"] != "Approved" or lifecycle.get("Stage") != "Production":
        raise ExpectationFailed(f"version 3 is {v3['ModelApprovalStatus']} / {lifecycle}")
    timeline.event(
        "registry",
        f"version 3 follows its governance status: {v3['ModelApprovalStatus']}, "
        f"{lifecycle.get('Stage')}/{lifecycle.get('StageStatus')}",
    )

    code, text = reconcile(args.reconciler, run_env)
    timeline.event("reconciler", "run 4: the report after the repair")
    show(text)
    if code != 0 or "no drift" not in text:
        raise ExpectationFailed("the run after the repair still finds drift")


def main() -> int:
    target = os.environ.get("CARGO_TARGET_DIR", "/var/tmp/govsync-target")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reconciler", default=os.path.join(target, "debug", "govsync-reconcile"))
    args = parser.parse_args()
    try:
        scenario(args)
    except ExpectationFailed as failure:
        print(f"FAILED: {failure}", file=sys.stderr, flush=True)
        return 1
    print("OK: the reconciler found every lost event's drift, repaired it, and the next run found none", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
