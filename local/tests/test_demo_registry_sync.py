"""End to end, on every test run: the README's main command (`local/demo.sh`) and the runner's
`replay-event` command, each on a private stack with its own ports and state directory.

The path asserted: boto3 → registry emulator → moto EventBridge → registry-events.fifo → local runner →
registry-events function → governance emulator, and the write-back into the registry. The runner runs only
inside these tests (and is stopped by them), so it never consumes the queue of the shared test stack.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
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
TIMELINE_LINE = re.compile(r"^\s*(\d+)\. \[([a-z]+)\] \+\s*[\d.]+s  (.*)$")


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
    runner_log = state_dir / "logs" / "runner.log"
    log_tail = runner_log.read_text()[-4000:] if runner_log.exists() else "(no runner log)"
    return f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr[-4000:]}\nrunner log:\n{log_tail}"


def timeline(stdout: str) -> list[tuple[str, str]]:
    return [(match[2], match[3]) for line in stdout.splitlines() if (match := TIMELINE_LINE.match(line))]


def runner_pid(events: list[tuple[str, str]]) -> int:
    for side, text in events:
        if side == "runner" and (match := re.search(r"\(pid (\d+)\)", text)):
            return int(match[1])
    raise AssertionError(f"the timeline never names the runner's pid: {events}")


def test_demo_syncs_two_versions_catches_the_shadow_approval_and_leaves_no_process(tmp_path: pathlib.Path) -> None:
    state_dir = tmp_path / "demo-stack"
    env = private_stack_env(state_dir)

    result = run_demo(env)

    assert result.returncode == 0, explain(result, state_dir)
    events = timeline(result.stdout)
    numbers = [int(match[1]) for line in result.stdout.splitlines() if (match := TIMELINE_LINE.match(line))]
    # Each part of the demo numbers its own timeline from 1.
    parts: list[list[int]] = []
    for number in numbers:
        if number == 1:
            parts.append([])
        assert parts, "the timeline starts at 1"
        parts[-1].append(number)
    assert len(parts) >= 2, f"parts 1 and 2 (and any later part), each with its timeline: {numbers}"
    for part in parts:
        assert part == list(range(1, len(part) + 1)), "each timeline is numbered in order"
    texts = [f"[{side}] {text}" for side, text in events]
    for expected in (
        r"^\[governance\] use case .* created \(id \d+\)",
        r"^\[registry\] model package group .* created",
        r"^\[registry\] version 1 registered",
        r"^\[governance\] Model .* created \(id \d+\) .* version 1",
        r"^\[registry\] version 1 written back by govsync: govsync:model-id=\d+",
        r"^\[registry\] version 2 registered",
        r"^\[governance\] Model .* created \(id \d+\) .* version 2",
        r"^\[registry\] version 2 written back by govsync",
        r"^\[registry\] govsync's gate reverted version 2 to PendingManualApproval",
        # Part 2: governance → registry (F1, F4).
        r"^\[governance\] use case \d+ approved for development",
        r"^\[registry\] govsync created model package group \S+-\d+ \(arn:aws:sagemaker:",
        r"^\[governance\] model group \d+ created under use case \d+",
        r"^\[email\] to \S+@example.com from govsync@example.com",
        r"^\[governance\] Model \d+ approved for deployment",
        r"^\[registry\] version 1 is Approved, lifecycle PreProduction / Approved",
        r"^\[both\] .* neither side changed again",
        # Part 3: decommissioning both ways and metrics (F5, F6, F7).
        r"^\[governance\] Model \d+ is Decommissioned",
        r"^\[governance\] Metric AUC .* breach status Red",
        r"^\[registry\] version \d archived by govsync: Archived / Retired, Rejected",
        r"^\[both\] .* the archive's echoes were dropped",
        # Part 4: lost events found and repaired by the reconciler (F8).
        r"^\[reconciler\] run 1 found 3 packages missing from governance",
        r"^\[reconciler\] model_package_gone on version 1: decommission_model → repaired",
    ):
        assert any(re.search(expected, text) for text in texts), f"no timeline entry matches {expected!r}:\n" + "\n".join(texts)
    assert "All expectations held" in result.stdout
    assert "the next run found none" in result.stdout

    # Nothing left behind: the runner, moto and both emulators are gone, and the stack is down.
    assert not pid_is_alive(runner_pid(events))
    for name in ("GOVSYNC_MOTO_PORT", "GOVSYNC_REGISTRY_PORT", "GOVSYNC_GOVERNANCE_PORT"):
        assert not port_is_listening(env[name]), f"{name} {env[name]} still has a listener"
    assert not (state_dir / "stack.env").exists()
    assert list((state_dir / "pids").glob("*")) == []


@pytest.fixture(scope="module")
def detached_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], pathlib.Path, str]]:
    """The demo run with --detach: its stack (with the demo's use case, group and versions) stays up
    for this module's replay tests, and is stopped after them."""
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


def test_replaying_a_registered_version_event_shows_its_governance_objects_and_creates_no_duplicate(
    detached_demo: tuple[dict[str, str], pathlib.Path, str], tmp_path: pathlib.Path
) -> None:
    base_env, state_dir, _ = detached_demo
    env = stack_env_of(state_dir, base_env)
    state_changes = [
        event
        for event in registry_events_log(env["GOVSYNC_REGISTRY_URL"])
        if event["detail-type"] == "SageMaker Model Package State Change"
        and event["detail"].get("ModelPackageVersion") == 1
    ]
    assert state_changes, "the demo registered version 1, so the registry published its state change"
    event_file = tmp_path / "version-1-created.json"
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
    assert replay["message_group_id"] == "registry-events"
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

    replay = json.loads(result.stdout)
    assert result.returncode != 0, "a quarantined event is not a success"
    assert replay["outcome"] == "quarantined", replay
    assert replay["dead_letter"] is not None
    assert replay["governance"]["model"] is None
    assert "quarantined" in replay["note"]
