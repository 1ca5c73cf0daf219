"""The workspace's layering holds (README, Layout): no crate under functions/ depends on another crate
under functions/, and no crate outside local/ depends on one under local/ — normal, dev and build
dependencies alike, as `cargo metadata` reports them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def workspace_edges() -> list[tuple[str, str, str]]:
    """(crate dir, dependency crate dir, kind) for every path dependency between workspace crates."""
    output = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps", "--offline"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    packages = json.loads(output)["packages"]
    directory = {p["name"]: str(Path(p["manifest_path"]).parent.relative_to(REPO)) for p in packages}
    return [
        (directory[p["name"]], directory[d["name"]], d.get("kind") or "normal")
        for p in packages
        for d in p["dependencies"]
        if d["name"] in directory
    ]


def layering_violations(edges: list[tuple[str, str, str]]) -> list[str]:
    violations = []
    for crate, dependency, kind in edges:
        if crate.startswith("functions/") and dependency.startswith("functions/"):
            violations.append(f"{crate} depends on {dependency} ({kind}): functions share code through shared/")
        if not crate.startswith("local/") and dependency.startswith("local/"):
            violations.append(f"{crate} depends on {dependency} ({kind}): nothing outside local/ may")
    return violations


def test_no_function_depends_on_another_and_nothing_outside_local_depends_on_local():
    edges = workspace_edges()
    assert any(crate.startswith("functions/") for crate, _, _ in edges), "cargo metadata listed no function crate"
    assert layering_violations(edges) == []


def test_the_check_names_both_kinds_of_violation():
    edges = [
        ("functions/decommission", "functions/registry-events", "dev"),
        ("shared/cli", "local/runner", "normal"),
        ("local/runner", "functions/registry-events", "normal"),
    ]
    violations = layering_violations(edges)
    assert len(violations) == 2
    assert violations[0].startswith("functions/decommission depends on functions/registry-events (dev)")
    assert violations[1].startswith("shared/cli depends on local/runner (normal)")
