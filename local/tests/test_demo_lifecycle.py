"""End to end, on every test run: the README's main command (`local/demo.sh`, the lifecycle demo
local/demo/lifecycle.py) and the runner's `replay-event` command, each on a private stack with its own ports
and state directory.

The path asserted: one use case and one model through F1–F8 — the governance emulator's signed webhooks →
governance-webhook → governance-events.fifo → approval-propagation → registry emulator and SES; boto3 →
registry emulator → moto EventBridge → registry-events.fifo / decommission.fifo → registry-events /
decommission → governance emulator; govsync-decisions → the stand-in deployment pipeline's rules and queue →
its deployments on the registry emulator's hosting API; metrics-relay invoked as EventBridge would; the
reconciler's binary (its serving report included) —
read back from the run's JSON report, its saved governance page, and what is left running afterwards. The
runner runs only inside these tests (and is stopped by them), so it never consumes the queues of the shared
test stack.
"""

from __future__ import annotations

import json
import os
import pathlib
import socket
import subprocess
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", "/var/tmp/govsync-target"))
RUNNER = TARGET / "debug" / "govsync-local-runner"
# The shared test stack's variables; a private stack writes its own.
STACK_VARIABLES = (
    "GOVSYNC_MOTO_URL",
    "GOVSYNC_REGISTRY_URL",
    "GOVSYNC_GOVERNANCE_URL",
    "GOVSYNC_ROLE_ARN",
    "GOVSYNC_ACCESS_KEY_ID",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_SAGEMAKER",
)
STEP_FLOWS = {
    1: "governance", 2: "F1", 3: "registry", 4: "F2", 5: "model-link", 6: "F7", 7: "governance",
    8: "F4", 9: "pipeline", 10: "F3", 11: "governance", 12: "F4", 13: "pipeline", 14: "F8",
    15: "governance", 16: "F3", 17: "registry", 18: "F5", 19: "F8", 20: "F8",
}
STEPS = len(STEP_FLOWS)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def private_stack_env(state_dir: pathlib.Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in STACK_VARIABLES}
    env.update(
        GOVSYNC_STATE_DIR=str(state_dir),
        GOVSYNC_MOTO_PORT=str(free_port()),
        GOVSYNC_REGISTRY_PORT=str(free_port()),
        GOVSYNC_GOVERNANCE_PORT=str(free_port()),
        CARGO_TARGET_DIR=str(TARGET),
    )
    return env


def port_is_listening(port: str) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", int(port))) == 0


def pid_is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def run_demo(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REPO / "local" / "demo.sh"), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def explain(result: subprocess.CompletedProcess[str], state_dir: pathlib.Path) -> str:
    logs = sorted((state_dir / "logs").glob("runner-*.log"))
    tails = "\n".join(f"--- {log.name}:\n{log.read_text()[-1500:]}" for log in logs) or "(no runner logs)"
    return f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr[-4000:]}\nrunner logs:\n{tails}"


def load_report(state_dir: pathlib.Path) -> dict[str, Any]:
    return json.loads((state_dir / "demo" / "report.json").read_text())


def test_demo_runs_the_whole_lifecycle_and_leaves_its_report_page_and_no_process(tmp_path: pathlib.Path) -> None:
    state_dir = tmp_path / "demo-stack"
    env = private_stack_env(state_dir)

    result = run_demo(env)

    assert result.returncode == 0, explain(result, state_dir)
    report = load_report(state_dir)
    assert report["ok"] is True and report["failure"] is None
    steps = report["steps"]
    assert [step["number"] for step in steps] == list(range(1, STEPS + 1)), [s["title"] for s in steps]
    for step in steps:
        assert step["passed"], step
        assert step["checks"] and all(check["passed"] for check in step["checks"]), step
        assert STEP_FLOWS[step["number"]] in step["flows"], step
        assert step["governance"]["use_case"] is not None and "packages" in step["sagemaker"], step
    elapsed = [step["elapsed_seconds"] for step in steps]
    assert elapsed == sorted(elapsed)

    objects = report["objects"]
    use_case_id, group_name = objects["use_case"]["id"], objects["model_package_group"]["name"]
    # F1: the group, tagged with the use case, and one email.
    assert steps[1]["sagemaker"]["group"]["tags"]["govsync:use-case-id"] == use_case_id
    assert report["counts"]["emails_to_team"] == 1
    # F2: the links on version 1 name its Model.
    version_1 = steps[3]["sagemaker"]["packages"][0]
    assert version_1["links"]["govsync:links"].startswith(f'model={objects["models"]["1"]} ')
    # The Model's govsync link opened a Studio sign-in; an altered one was refused (the step's checks).
    assert [c["passed"] for c in steps[4]["checks"]] == [True] * 4, steps[4]["checks"]
    # F7: the metrics with their breach status.
    metrics = {m["name"]: m["breach_status"] for m in steps[5]["governance"]["models"][0]["metrics"]}
    assert metrics == {"AUC": "Green", "Feature drift PSI": "Amber"}
    # F4: approved and staged in SageMaker.
    version_1 = steps[7]["sagemaker"]["packages"][0]
    assert (version_1["approval"], version_1["lifecycle"]) == ("Approved", "PreProduction/Approved")
    # One decision event per governance decision applied to SageMaker, and none for what SageMaker
    # reported (the pre-production deployment), the shadow approval, the deletion or the reconciler.
    decisions = report["decisions"]
    assert [d["status"] for d in decisions] == ["Approved for Deployment", "Approved for Production", "In Production"]
    assert [d["lifecycle"] for d in decisions] == [
        {"stage": "PreProduction", "stage_status": "Approved"},
        {"stage": "Production", "stage_status": "Approved"},
        {"stage": "Production", "stage_status": "Deployed"},
    ]
    assert len({d["decision_id"] for d in decisions}) == 3 and report["counts"]["decision_events"] == 3
    # The stand-in pipeline received exactly one event per approval for a stage, and deployed each.
    received = report["pipeline"]["received"]
    assert [(r["stage"], r["action"], r["decision_id"]) for r in received] == [
        ("PreProduction", "deployed", decisions[0]["decision_id"]),
        ("Production", "deployed", decisions[1]["decision_id"]),
    ], received
    assert report["counts"]["pipeline_events"] == {"deployed": 2}
    group = group_name.lower()
    assert [r["endpoint_name"] for r in received] == [f"{group}-v1-preprod", f"{group}-v1-prod"]
    # The event it received is printed whole under step 9 (and kept in the report).
    exhibit = json.loads(steps[8]["exhibits"][0]["text"])
    assert exhibit["detail"]["decision_id"] == decisions[0]["decision_id"] and exhibit["source"] == "govsync"
    assert '"detail-type": "govsync Governance Decision Applied"' in result.stdout

    def model_1(step: dict[str, Any]) -> dict[str, Any]:
        return step["governance"]["models"][0]

    def package_1(step: dict[str, Any]) -> dict[str, Any]:
        return step["sagemaker"]["packages"][0]

    def endpoints(step: dict[str, Any]) -> dict[str, str | None]:
        return {e["name"]: e["tags"].get("govsync:stage") for e in step["sagemaker"]["endpoints"] if e["status"] == "InService"}

    # Pre-production: deployed by the pipeline, which set the lifecycle (row 12); governance follows (F3).
    assert endpoints(steps[8]) == {f"{group}-v1-preprod": "PreProduction"}
    assert (package_1(steps[8])["approval"], package_1(steps[8])["lifecycle"]) == ("Approved", "PreProduction/Deployed")
    assert model_1(steps[9])["status"] == "Deployed for Validation"
    # Production: approved in governance, staged by govsync, deployed by the pipeline (lifecycle untouched).
    assert [model_1(steps[n])["status"] for n in (10, 11, 12)] == ["Approved for Production"] * 3
    assert [package_1(steps[n])["lifecycle"] for n in (11, 12)] == ["Production/Approved"] * 2
    assert endpoints(steps[12]) == {f"{group}-v1-preprod": "PreProduction", f"{group}-v1-prod": "Production"}
    # The serving report: governance sees where version 1 serves.
    deployments = str(model_1(steps[13])["deployments"])
    assert f"{group}-v1-preprod" in deployments and f"{group}-v1-prod" in deployments, deployments
    # "In Production" is governance's; govsync applies it.
    assert model_1(steps[14])["status"] == "In Production"
    assert (package_1(steps[14])["approval"], package_1(steps[14])["lifecycle"]) == ("Approved", "Production/Deployed")
    # F3: version 2's shadow approval reverted, and never deployed.
    assert steps[15]["sagemaker"]["packages"][1]["approval"] == "PendingManualApproval"
    assert not any(e["version"] == 2 for e in steps[15]["sagemaker"]["endpoints"])
    # Deleted and decommissioned while serving: govsync reports it, stops nothing (steps 18 and 19).
    assert set(endpoints(steps[18])) == {f"{group}-v1-preprod", f"{group}-v1-prod"}
    assert steps[-1]["sagemaker"]["endpoints"] == []
    # Final states on both sides.
    final_governance, final_sagemaker = steps[-1]["governance"], steps[-1]["sagemaker"]
    assert final_governance["use_case"]["status"] == "Approved for Development"
    models = {m["version"]: m for m in final_governance["models"]}
    assert models[1]["status"] == "Decommissioned"
    assert "Approved" not in str(models[2]["status"])
    packages = {p["version"]: p for p in final_sagemaker["packages"]}
    assert packages[1]["deleted"] is True
    assert (packages[2]["deleted"], packages[2]["approval"]) == (False, "PendingManualApproval")
    # F8: the reconciler's report is empty.
    assert report["reconciler"]["drifts"] == [] and report["reconciler"]["complete"] is True
    assert report["reconciler"]["counts"]["packages"] >= 1
    assert sum(report["counts"]["failed_batches"].values()) == 0

    # The saved page and the printed summary.
    page = (state_dir / "demo" / "governance.html").read_text()
    assert objects["use_case"]["name"] in page and group_name in page and "Decommissioned" in page
    assert f"all {STEPS} steps and their checks held" in result.stdout
    assert str(state_dir / "demo" / "report.json") in result.stdout
    assert str(state_dir / "demo" / "governance.html") in result.stdout

    # Nothing left behind: the runner processes, moto and both emulators are gone, and the stack is down.
    for process in report["processes"]:
        assert not pid_is_alive(process["pid"]), process
    for name in ("GOVSYNC_MOTO_PORT", "GOVSYNC_REGISTRY_PORT", "GOVSYNC_GOVERNANCE_PORT"):
        assert not port_is_listening(env[name]), f"{name} {env[name]} still has a listener"
    assert not (state_dir / "stack.env").exists()
    assert list((state_dir / "pids").glob("*")) == []


@pytest.fixture(scope="module")
def detached_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], pathlib.Path, str]]:
    """The demo run with --detach: its stack (with the demo's use case, group and versions) stays up
    for this module's detached and replay tests, and is stopped after them."""
    state_dir = tmp_path_factory.mktemp("replay") / "stack"
    env = private_stack_env(state_dir)
    try:
        result = run_demo(env, "--detach")
        assert result.returncode == 0, explain(result, state_dir)
        yield env, state_dir, result.stdout
    finally:
        subprocess.run([str(REPO / "local" / "stack.sh"), "down"], cwd=REPO, env=env, check=False, capture_output=True)


def stack_env_of(state_dir: pathlib.Path, base: dict[str, str]) -> dict[str, str]:
    env = dict(base)
    for line in (state_dir / "stack.env").read_text().splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        env[name] = value
    return env


def registry_events_log(registry_url: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{registry_url}/_emulator/events", timeout=10) as response:
        return [entry["event"] for entry in json.load(response)["events"]]


def test_a_detached_demo_leaves_the_stack_up_with_the_live_governance_page(
    detached_demo: tuple[dict[str, str], pathlib.Path, str],
) -> None:
    base_env, state_dir, stdout = detached_demo
    env = stack_env_of(state_dir, base_env)
    report = load_report(state_dir)
    assert report["ok"] is True
    with urllib.request.urlopen(f"{env['GOVSYNC_GOVERNANCE_URL']}/", timeout=10) as response:
        page = response.read().decode()
    assert report["objects"]["use_case"]["name"] in page
    assert "The stack is left running" in stdout
    # The demo's runner processes are stopped even when the stack stays up.
    for process in report["processes"]:
        assert not pid_is_alive(process["pid"]), process


def test_replaying_a_registered_version_event_shows_its_governance_objects_and_creates_no_duplicate(
    detached_demo: tuple[dict[str, str], pathlib.Path, str], tmp_path: pathlib.Path
) -> None:
    base_env, state_dir, _ = detached_demo
    env = stack_env_of(state_dir, base_env)
    # Version 2 is the demo's version still in the registry (version 1 was deleted and decommissioned).
    state_changes = [
        event
        for event in registry_events_log(env["GOVSYNC_REGISTRY_URL"])
        if event["detail-type"] == "SageMaker Model Package State Change"
        and event["detail"].get("ModelPackageVersion") == 2
    ]
    assert state_changes, "the demo registered version 2, so the registry published its state change"
    event_file = tmp_path / "version-2-created.json"
    event_file.write_text(json.dumps(state_changes[0]))
    package_arn = state_changes[0]["detail"]["ModelPackageArn"]

    result = subprocess.run(
        [str(RUNNER), "replay-event", str(event_file), "--timeout", "60"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr[-4000:]}"
    replay = json.loads(result.stdout)
    assert replay["outcome"] == "processed"
    # Replayed in the group the registry-relay gives it: its package group's.
    assert replay["message_group_id"].startswith("group:")
    governance = replay["governance"]
    assert governance["model"] is not None, replay["note"]
    external_ids = {field["name"]: field["value"] for field in governance["model"]["fields"]}
    assert external_ids["Integration:External ID"] == package_arn
    assert str(governance["model"]["primary_parent_id"]) == str(governance["model_group"]["id"])
    assert str(governance["model_group"]["primary_parent_id"]) == str(governance["use_case"]["id"])
    assert governance["use_case"]["type_definition_id"] == "ModelUseCase"

    # The replayed event is a duplicate: still exactly one Model for the package.
    with urllib.request.urlopen(f"{env['GOVSYNC_GOVERNANCE_URL']}/_emulator/state", timeout=10) as response:
        objects = json.load(response)["objects"]
    models_for_package = [
        obj
        for obj in objects
        if obj["type_definition_id"] == "Model"
        and any(f["name"] == "Integration:External ID" and f["value"] == package_arn for f in obj["fields"])
    ]
    assert len(models_for_package) == 1


def test_replaying_an_event_from_an_unmapped_account_reports_why_nothing_was_created(
    detached_demo: tuple[dict[str, str], pathlib.Path, str], tmp_path: pathlib.Path
) -> None:
    base_env, state_dir, _ = detached_demo
    env = stack_env_of(state_dir, base_env)
    event = next(
        event
        for event in registry_events_log(env["GOVSYNC_REGISTRY_URL"])
        if event["detail-type"] == "SageMaker Model Package State Change"
    )
    foreign = json.loads(json.dumps(event).replace(env.get("GOVSYNC_ACCOUNT_ID", "123456789012"), "999999999999"))
    event_file = tmp_path / "foreign-account.json"
    event_file.write_text(json.dumps(foreign))

    result = subprocess.run(
        [str(RUNNER), "replay-event", str(event_file), "--timeout", "30"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    # Design §4: an event about a package no mapped registry owns has no effect; it is skipped with its
    # reason (unmapped_owner), never dead-lettered for that alone.
    replay = json.loads(result.stdout)
    assert result.returncode == 0, result.stderr
    assert replay["outcome"] == "processed", replay
    assert replay["dead_letter"] is None
    assert replay["governance"]["model"] is None
    assert "not in the registry map" in replay["note"]
