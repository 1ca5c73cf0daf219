"""The deployable templates declare exactly the functions under functions/, each with every variable it reads.

For every crate under functions/: the template has one function whose binary is the crate's Lambda binary
(SAM: `Metadata.BuildProperties.Binary`; a synthesized CDK template: `FunctionName` `govsync-<binary>`), and
every template function is such a crate. Every `"GOVSYNC_..."` string literal in the crate's `src/` is set
in that function's environment (the template's `Globals` plus the function's own `Environment`), unless it
is listed below with the reason it is not part of a deployment. Every `GOVSYNC_*` variable a template sets
is read by some code (the function's crate, a function crate it builds on, or `shared/`), so stale
variables are reported too.

Also a command: `python local/tests/test_functions_match_template.py TEMPLATE...` exits 1 naming every
difference (infra/validate.sh runs it on the SAM template and on the synthesized CDK one; a template other
than the SAM one must also give every function the same variables as the SAM template does).
"""

from __future__ import annotations

import copy
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_wiring_matches_template import SAM_TEMPLATE_PATH, load_template  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
FUNCTIONS_DIR = REPO / "functions"
SHARED_DIR = REPO / "shared"
# The configuration every queue function reads (govsync_lambda::config::Config): a crate that builds it
# reads each of its variables.
SHARED_CONFIG = SHARED_DIR / "lambda" / "src" / "config.rs"
USES_SHARED_CONFIG = re.compile(r"govsync_lambda::config::(?:\{[^}]*\bConfig\b|Config\b)")
VARIABLE = re.compile(r'"(GOVSYNC_[A-Z0-9_]+)"')

# Variables functions read that a deployment deliberately does not set, with the reason.
NOT_DEPLOYED = {
    "GOVSYNC_REGISTRY_MAP": "inline registries for small or local setups; a deployment sets GOVSYNC_REGISTRIES_TABLE, "
    "which the shared loader prefers",
    "GOVSYNC_MAPPING_FILE": "a file path; the deployment package holds only bootstrap, so the built-in status "
    "mapping is used",
}
# Per crate: variables its source names but never reads from the environment.
NOT_READ = {
    ("reconciler", "GOVSYNC_DLQ_URL"): "supplied internally to the shared configuration; the reconciler quarantines nothing",
}


def lambda_binary(crate: Path) -> str:
    """The crate's Lambda binary: the `[[bin]]` built from src/main.rs, else the package name."""
    manifest = tomllib.loads((crate / "Cargo.toml").read_text(encoding="utf-8"))
    for binary in manifest.get("bin", []):
        if binary.get("path", "src/main.rs") == "src/main.rs":
            return binary["name"]
    return manifest["package"]["name"]


def function_crates() -> dict[str, Path]:
    """Lambda binary name → crate directory, for every crate under functions/."""
    return {
        lambda_binary(manifest.parent): manifest.parent
        for manifest in sorted(FUNCTIONS_DIR.glob("*/Cargo.toml"))
    }


def variables_named(directory: Path) -> set[str]:
    """Every "GOVSYNC_..." string literal in the Rust sources under `directory`."""
    found: set[str] = set()
    for source in directory.rglob("*.rs"):
        found.update(VARIABLE.findall(source.read_text(encoding="utf-8")))
    return found


def reads_of(crate: Path) -> set[str]:
    """The variables a function crate reads: its own, and the shared configuration's when it builds that."""
    reads = variables_named(crate / "src")
    sources = "\n".join(path.read_text(encoding="utf-8") for path in (crate / "src").rglob("*.rs"))
    if USES_SHARED_CONFIG.search(sources):
        reads |= set(VARIABLE.findall(SHARED_CONFIG.read_text(encoding="utf-8")))
    return reads


def _function_crate_dependencies(crate: Path, crates: dict[str, Path]) -> list[Path]:
    manifest = tomllib.loads((crate / "Cargo.toml").read_text(encoding="utf-8"))
    package_names = {
        tomllib.loads((other / "Cargo.toml").read_text(encoding="utf-8"))["package"]["name"]: other
        for other in crates.values()
    }
    return [package_names[name] for name in manifest.get("dependencies", {}) if name in package_names]


def template_functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Binary name → the function's Properties, for SAM and plain Lambda functions."""
    functions: dict[str, dict[str, Any]] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        kind = resource.get("Type")
        if kind == "AWS::Serverless::Function":
            binary = (resource.get("Metadata") or {}).get("BuildProperties", {}).get("Binary")
        elif kind == "AWS::Lambda::Function":
            name = (resource.get("Properties") or {}).get("FunctionName")
            binary = name.removeprefix("govsync-") if isinstance(name, str) and name.startswith("govsync-") else None
        else:
            continue
        functions[binary or f"<{logical_id}: no binary name>"] = resource.get("Properties") or {}
    return functions


def environment_of(template: dict[str, Any], properties: dict[str, Any]) -> set[str]:
    globals_env = (
        template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}) or {}
    )
    own_env = (properties.get("Environment") or {}).get("Variables", {}) or {}
    return set(globals_env) | set(own_env)


def function_differences(template: dict[str, Any]) -> list[str]:
    """Every way the template's functions differ from functions/, one readable line each."""
    differences: list[str] = []
    crates = function_crates()
    declared = template_functions(template)
    shared_reads = variables_named(SHARED_DIR)
    for binary in sorted(set(crates) - set(declared)):
        differences.append(f"function {binary}: crate {crates[binary].relative_to(REPO)} has no function in the template")
    for binary in sorted(set(declared) - set(crates)):
        differences.append(f"function {binary}: in the template but no crate under functions/ builds that binary")
    globals_env = {
        name
        for name in template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}) or {}
        if name.startswith("GOVSYNC_")
    }
    # A synthesized CDK template has no Globals: the variables every function sets play their part.
    own_envs = [set((props.get("Environment") or {}).get("Variables", {}) or {}) for props in declared.values()]
    common = {name for name in set.intersection(*own_envs) if name.startswith("GOVSYNC_")} if own_envs else set()
    globals_env |= common
    read_anywhere = set(shared_reads)
    for crate in crates.values():
        read_anywhere |= variables_named(crate / "src")
    for name in sorted(globals_env - read_anywhere):
        differences.append(f"Globals: {name} is set but no code reads it")
    for binary in sorted(set(crates) & set(declared)):
        crate = crates[binary]
        reads = reads_of(crate)
        environment = environment_of(template, declared[binary])
        for name in sorted(reads - environment):
            if name in NOT_DEPLOYED or (crate.name, name) in NOT_READ:
                continue
            differences.append(f"function {binary}: reads {name}, which its environment does not set")
        readers = reads | shared_reads
        for dependency in _function_crate_dependencies(crate, crates):
            readers |= variables_named(dependency / "src")
        own = {
            name
            for name in ((declared[binary].get("Environment") or {}).get("Variables", {}) or {})
            if name.startswith("GOVSYNC_") and name not in common
        }
        for name in sorted(own - readers):
            differences.append(f"function {binary}: sets {name}, which nothing it runs reads")
    return differences


def equivalence_differences(sam: dict[str, Any], other: dict[str, Any]) -> list[str]:
    """Functions whose variable names differ between the SAM template and another (the synthesized CDK app)."""
    differences: list[str] = []
    sam_functions = template_functions(sam)
    other_functions = template_functions(other)
    for binary in sorted(set(sam_functions) & set(other_functions)):
        wanted = {name for name in environment_of(sam, sam_functions[binary]) if name.startswith("GOVSYNC_")}
        actual = {name for name in environment_of(other, other_functions[binary]) if name.startswith("GOVSYNC_")}
        for name in sorted(wanted - actual):
            differences.append(f"function {binary}: the SAM template sets {name}, this template does not")
        for name in sorted(actual - wanted):
            differences.append(f"function {binary}: sets {name}, the SAM template does not")
    return differences


# ------------------------------------------------------------------------------------------------- tests


def _sam() -> dict[str, Any]:
    return copy.deepcopy(load_template(SAM_TEMPLATE_PATH))


def _logical_id(template: dict[str, Any], binary: str) -> str:
    for logical_id, resource in template["Resources"].items():
        if (resource.get("Metadata") or {}).get("BuildProperties", {}).get("Binary") == binary:
            return logical_id
    raise AssertionError(f"no function builds {binary}")


def test_sam_template_declares_exactly_the_function_crates_with_their_variables():
    assert function_differences(_sam()) == []


def test_every_crate_under_functions_is_found_with_its_lambda_binary():
    crates = function_crates()
    assert len(crates) == len(list(FUNCTIONS_DIR.glob("*/Cargo.toml")))
    assert "registry-events" in crates
    # A crate with an operator CLI besides the Lambda still maps to the Lambda binary.
    assert all(not name.startswith("govsync-") for name in crates)


def test_a_crate_without_a_function_is_reported():
    template = _sam()
    del template["Resources"][_logical_id(template, "registry-events")]
    assert any("registry-events" in line and "no function in the template" in line for line in function_differences(template))


def test_a_function_without_a_crate_is_reported():
    template = _sam()
    extra = copy.deepcopy(template["Resources"][_logical_id(template, "registry-events")])
    extra["Metadata"]["BuildProperties"]["Binary"] = "model-cards"
    template["Resources"]["ModelCardsFunction"] = extra
    assert any("model-cards" in line and "no crate" in line for line in function_differences(template))


def test_a_variable_read_by_a_crate_but_not_set_is_reported():
    template = _sam()
    variables = template["Resources"][_logical_id(template, "approval-propagation")]["Properties"]["Environment"]["Variables"]
    del variables["GOVSYNC_DECOMMISSION_QUEUE_URL"]
    assert (
        "function approval-propagation: reads GOVSYNC_DECOMMISSION_QUEUE_URL, which its environment does not set"
        in function_differences(template)
    )


def test_a_variable_dropped_from_globals_is_reported_for_each_reader():
    template = _sam()
    del template["Globals"]["Function"]["Environment"]["Variables"]["GOVSYNC_GOVERNANCE_API_KEY_SECRET"]
    reported = [line for line in function_differences(template) if "GOVSYNC_GOVERNANCE_API_KEY_SECRET" in line]
    assert any(line.startswith("function governance-poller:") for line in reported), reported


def test_a_stale_function_variable_is_reported():
    template = _sam()
    variables = template["Resources"][_logical_id(template, "governance-webhook")]["Properties"]["Environment"]["Variables"]
    variables["GOVSYNC_WEBHOOK_LEGACY_SECRET"] = "x"
    assert "function governance-webhook: sets GOVSYNC_WEBHOOK_LEGACY_SECRET, which nothing it runs reads" in function_differences(
        template
    )


def test_synthesized_cdk_functions_are_recognised_by_name():
    template = {
        "Resources": {
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"FunctionName": "govsync-registry-events", "Environment": {"Variables": {}}},
            }
        }
    }
    differences = function_differences(template)
    assert not any(line.startswith("function registry-events: in the template") for line in differences)
    assert any(line.startswith("function registry-events: reads GOVSYNC_GATE_MODE") for line in differences)


def _flattened(template: dict[str, Any]) -> dict[str, Any]:
    """The SAM template as a synthesized CDK app has it: Globals' variables copied into every function."""
    flat = copy.deepcopy(template)
    common = flat.pop("Globals")["Function"]["Environment"]["Variables"]
    for resource in flat["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function":
            properties = resource.setdefault("Properties", {})
            own = properties.setdefault("Environment", {}).setdefault("Variables", {})
            properties["Environment"]["Variables"] = {**common, **own}
    return flat


def test_a_template_equivalent_to_sam_has_no_differences_and_a_dropped_variable_is_named():
    flat = _flattened(_sam())
    assert equivalence_differences(_sam(), flat) == []
    assert function_differences(flat) == []
    variables = flat["Resources"][_logical_id(flat, "reconciler")]["Properties"]["Environment"]["Variables"]
    del variables["GOVSYNC_RECONCILE_CONCURRENCY"]
    assert equivalence_differences(_sam(), flat) == [
        "function reconciler: the SAM template sets GOVSYNC_RECONCILE_CONCURRENCY, this template does not"
    ]


def main(paths: list[str]) -> int:
    failed = False
    sam = load_template(SAM_TEMPLATE_PATH)
    for path in paths or [str(SAM_TEMPLATE_PATH)]:
        template = load_template(Path(path))
        differences = function_differences(template)
        if Path(path).resolve() != SAM_TEMPLATE_PATH.resolve():
            differences += equivalence_differences(sam, template)
        for line in differences:
            print(f"{path}: {line}")
        if differences:
            failed = True
        else:
            print(f"{path}: declares exactly the {len(function_crates())} function crates with their variables")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
