"""End to end on a private stack: the demo part local/demo/decommission_and_metrics.py (F5, F6, F7).

The path asserted: boto3 deletes a package → registry emulator's CloudTrail event → moto EventBridge
(`govsync-decommission`) → decommission.fifo → local runner → decommission function → governance emulator;
a decommission request on decommission.fifo → the packages archived in the registry emulator, their echoes
dropped by registry-events; a metric event → the runner's invoke-metrics-relay → Metric and MetricValue in
the governance emulator. The stack is private (own ports and state directory) and always stopped.
"""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from test_demo_lifecycle import REPO, TARGET, private_stack_env  # noqa: E402

PYTHON = REPO / ".venv" / "bin" / "python"
LINE = re.compile(r"^\s*\d+\. \[(\w+)\] \+\s*[\d.]+s  (.*)$")


def test_deletion_decommissions_decommission_archives_and_a_breach_lands(tmp_path: pathlib.Path) -> None:
    state_dir = tmp_path / "decommission-stack"
    env = private_stack_env(state_dir)
    up = subprocess.run([str(REPO / "local" / "stack.sh"), "up"], cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert up.returncode == 0, up.stderr[-4000:]
    try:
        for line in (state_dir / "stack.env").read_text().splitlines():
            name, _, value = line.removeprefix("export ").partition("=")
            if name:
                env[name] = value.strip('"')
        result = subprocess.run(
            [
                str(PYTHON),
                str(REPO / "local" / "demo" / "decommission_and_metrics.py"),
                "--runner",
                str(TARGET / "debug" / "govsync-local-runner"),
                "--log-dir",
                str(state_dir / "logs"),
                "--pid-dir",
                str(state_dir / "pids"),
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    finally:
        subprocess.run([str(REPO / "local" / "stack.sh"), "down"], cwd=REPO, env=env, capture_output=True, timeout=120)
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr[-4000:]}"
    texts = [f"[{m[1]}] {m[2]}" for line in result.stdout.splitlines() if (m := LINE.match(line))]
    for expected in (
        r"^\[registry\] version 1 deleted in SageMaker",
        r"^\[governance\] Model \d+ is Decommissioned",
        r"^\[governance\] Metric AUC .* breach status Red",
        r"^\[governance\] the breach moved Model \d+ to Under Review",
        r"^\[registry\] version 2 archived by govsync: Archived / Retired, Rejected",
        r"^\[registry\] version 3 archived by govsync: Archived / Retired, Rejected",
        r"^\[both\] .* the archive's echoes were dropped",
        r"^\[registry\] both archived packages are still in the registry",
    ):
        assert any(re.search(expected, text) for text in texts), f"no timeline entry matches {expected!r}:\n" + "\n".join(texts)
