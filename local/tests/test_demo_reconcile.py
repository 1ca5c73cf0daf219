"""The reconciler's demo part (local/demo/reconcile.py) on the shared test stack: events lost on both sides
are found by a dry run that changes nothing, repaired, and the next run finds no drift.

Isolation: the part works in its own registry region (ca-central-1, where no EventBridge rule exists) under
a unique use case and group, and reconciles only that registry, so it touches nothing another test uses.
Needs the stack's environment (local/test.sh sets it) and the `govsync-reconcile` binary (built by
`cargo test --workspace`); fails, never skips, without them.
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", "/var/tmp/govsync-target"))
RECONCILER = TARGET / "debug" / "govsync-reconcile"
NEEDED = (
    "GOVSYNC_MOTO_URL",
    "GOVSYNC_REGISTRY_URL",
    "GOVSYNC_GOVERNANCE_URL",
    "GOVSYNC_ROLE_ARN",
    "GOVSYNC_ACCESS_KEY_ID",
)
TIMELINE_LINE = re.compile(r"^\s*(\d+)\. \[(governance|registry|reconciler)\] \+\s*[\d.]+s  (.*)$")


def test_the_reconcile_demo_part_repairs_lost_events_and_then_finds_no_drift() -> None:
    missing = [name for name in NEEDED if not os.environ.get(name)]
    if missing:
        pytest.fail(
            "the local stack is not configured: missing " + ", ".join(missing)
            + " (local/stack.sh up; source its stack.env, or run local/test.sh)",
            pytrace=False,
        )
    if not os.access(RECONCILER, os.X_OK):
        pytest.fail(f"{RECONCILER} is not built (cargo build --workspace)", pytrace=False)
    done = subprocess.run(
        [sys.executable, str(REPO / "local" / "demo" / "reconcile.py"), "--reconciler", str(RECONCILER)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    steps = [TIMELINE_LINE.match(line) for line in lines]
    numbers = [int(step.group(1)) for step in steps if step]
    assert numbers == list(range(1, len(numbers) + 1)), done.stdout
    assert any("--dry-run" in line for line in lines), done.stdout
    assert any("nothing changed" in line for line in lines), done.stdout
    for kind in ("shadow_approval", "status_out_of_step", "model_package_gone"):
        assert any(kind in line and "→ repaired" in line for line in lines), f"{kind}:\n{done.stdout}"
    assert lines[-2].strip().endswith("no drift"), done.stdout
    assert lines[-1].startswith("OK:"), done.stdout
