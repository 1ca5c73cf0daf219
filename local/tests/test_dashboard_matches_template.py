"""Another deployable template charts and alarms on the same govsync metrics as the SAM template.

govsync's functions print CloudWatch embedded-metric lines in the `govsync` namespace; the SAM template's
`Dashboard` and alarms read them, and `local/runner/tests/dashboard_metrics.rs` checks the SAM template
against what the functions' code emits. This check holds another template (the synthesized CDK app) to
the SAM one: per dashboard widget (by title) the same `govsync` metrics (name and dimensions), and per
alarm (by name) the same `govsync` metrics, so the two deployments cannot chart different things. Each
template must also alarm on governance refusing govsync's credentials and on refused foreign metrics
(`SUMMED_ALARMS`), and on an endpoint serving what governance did not approve (`SERVING_ALARM`, issue 21).

Also a command: `python local/tests/test_dashboard_matches_template.py TEMPLATE...` exits 1 naming every
difference (infra/validate.sh runs it on the synthesized CDK template).
"""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_wiring_matches_template import SAM_TEMPLATE_PATH, load_template  # noqa: E402

NAMESPACE = "govsync"
CDK_TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "cdk" / "cdk.out" / "Govsync.template.json"
SUBSTITUTION = re.compile(r"\$\{[^}]*\}")

# (metric name, ((dimension name, value), ...))
MetricId = tuple[str, tuple[tuple[str, str], ...]]


def _dashboard_text(body: Any) -> str:
    """The dashboard body as JSON text, CloudFormation substitutions and references replaced by a placeholder."""
    if isinstance(body, str):
        return SUBSTITUTION.sub("SUBSTITUTED", body)
    if isinstance(body, dict) and "Fn::Sub" in body:
        sub = body["Fn::Sub"]
        return _dashboard_text(sub[0] if isinstance(sub, list) else sub)
    if isinstance(body, dict) and "Fn::Join" in body:
        separator, parts = body["Fn::Join"]
        return separator.join(part if isinstance(part, str) else "SUBSTITUTED" for part in parts)
    raise ValueError(f"unexpected DashboardBody: {str(body)[:200]}")


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource.get("Properties") or {}
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("Type") == kind
    }


def dashboard_metrics(template: dict[str, Any]) -> dict[str, set[MetricId]]:
    """Widget title → the govsync metrics it charts."""
    widgets: dict[str, set[MetricId]] = {}
    for properties in _resources(template, "AWS::CloudWatch::Dashboard").values():
        body = json.loads(_dashboard_text(properties["DashboardBody"]))
        for widget in body.get("widgets", []):
            title = widget.get("properties", {}).get("title", "")
            previous: list[str] = []
            for row in widget.get("properties", {}).get("metrics", []):
                parts = [part for part in row if isinstance(part, str)]
                # CloudWatch's "." repeats the previous row's value at that position.
                parts = [previous[i] if part == "." and i < len(previous) else part for i, part in enumerate(parts)]
                previous = parts
                if not parts or parts[0] != NAMESPACE:
                    continue
                pairs = tuple(sorted(zip(parts[2::2], parts[3::2])))
                widgets.setdefault(title, set()).add((parts[1], pairs))
    return widgets


def alarm_metrics(template: dict[str, Any]) -> dict[str, set[MetricId]]:
    """Alarm name → the govsync metrics it reads."""
    alarms: dict[str, set[MetricId]] = {}
    for logical_id, properties in _resources(template, "AWS::CloudWatch::Alarm").items():
        name = properties.get("AlarmName", logical_id)
        read = [properties] if "Namespace" in properties else []
        read += [query["MetricStat"]["Metric"] for query in properties.get("Metrics", []) if "MetricStat" in query]
        for metric in read:
            if metric.get("Namespace") != NAMESPACE:
                continue
            pairs = tuple(sorted((d["Name"], d["Value"]) for d in metric.get("Dimensions", [])))
            alarms.setdefault(name, set()).add((metric["MetricName"], pairs))
    return alarms


def _compare(kind: str, wanted: dict[str, set[MetricId]], actual: dict[str, set[MetricId]]) -> list[str]:
    differences: list[str] = []
    for key in sorted(set(wanted) | set(actual)):
        for name, dimensions in sorted(wanted.get(key, set()) - actual.get(key, set())):
            differences.append(f"{kind} {key!r}: the SAM template reads {name} {dict(dimensions)}, this template does not")
        for name, dimensions in sorted(actual.get(key, set()) - wanted.get(key, set())):
            differences.append(f"{kind} {key!r}: reads {name} {dict(dimensions)}, the SAM template does not")
    return differences


def metric_differences(sam: dict[str, Any], other: dict[str, Any]) -> list[str]:
    """Every govsync metric one template's dashboard or alarms read and the other's do not."""
    return _compare("dashboard widget", dashboard_metrics(sam), dashboard_metrics(other)) + _compare(
        "alarm", alarm_metrics(sam), alarm_metrics(other)
    )


# The alarms that must sum a count over the functions that emit it (the functions' code is the truth:
# local/runner/tests/dashboard_metrics.rs); alarm name → (metric, functions).
SUMMED_ALARMS = {
    "govsync-governance-unauthorized": (
        "GovernanceUnauthorized",
        ("registry-events", "approval-propagation", "decommission", "metrics-relay"),
    ),
    "govsync-foreign-metrics-refused": ("ForeignMetricsRefused", ("metrics-relay",)),
}
# govsync never stops an endpoint, so an endpoint serving what governance did not approve for its stage, has
# decommissioned, or with another artifact is alarmed on (the reconciler's DriftsFound per DriftKind).
SERVING_ALARM = "govsync-endpoint-serving-unapproved"
SERVING_DRIFT_KINDS = ("endpoint_serving_unapproved", "endpoint_serving_decommissioned", "endpoint_serving_other_artifact")


def _wanted_alarm_metrics() -> dict[str, set[MetricId]]:
    wanted = {
        name: {(metric, (("Function", function),)) for function in functions}
        for name, (metric, functions) in SUMMED_ALARMS.items()
    }
    wanted[SERVING_ALARM] = {
        ("DriftsFound", (("DriftKind", kind), ("Function", "reconciler"))) for kind in SERVING_DRIFT_KINDS
    }
    return wanted


def summed_alarm_problems(template: dict[str, Any]) -> list[str]:
    """Each of SUMMED_ALARMS and SERVING_ALARM missing, reading other metrics, not adding every query with
    FILL(id, 0), not firing above 0, sitting in INSUFFICIENT_DATA when idle, or notifying no one."""
    by_name = {
        properties.get("AlarmName", logical_id): properties
        for logical_id, properties in _resources(template, "AWS::CloudWatch::Alarm").items()
    }
    read = alarm_metrics(template)
    problems: list[str] = []
    for name, wanted in _wanted_alarm_metrics().items():
        properties = by_name.get(name)
        if properties is None:
            problems.append(f"{name}: missing")
            continue
        if read.get(name) != wanted:
            problems.append(f"{name}: reads {sorted(read.get(name, set()))}, not {sorted(wanted)}")
        queries = properties.get("Metrics", [])
        expressions = [query["Expression"] for query in queries if "Expression" in query]
        for query in queries:
            if "MetricStat" in query and not any(f"FILL({query['Id']}, 0)" in e for e in expressions):
                problems.append(f"{name}: {query['Id']} is not added as FILL({query['Id']}, 0)")
        if properties.get("Threshold") != 0 or properties.get("ComparisonOperator") != "GreaterThanThreshold":
            problems.append(f"{name}: does not fire on a count above 0")
        if properties.get("TreatMissingData") != "notBreaching":
            problems.append(f"{name}: TreatMissingData is not notBreaching")
        if not properties.get("AlarmActions"):
            problems.append(f"{name}: no alarm action")
    return problems


# ------------------------------------------------------------------------------------------------- tests


def _sam() -> dict[str, Any]:
    return copy.deepcopy(load_template(SAM_TEMPLATE_PATH))


def test_the_sam_dashboard_charts_the_shared_metrics_of_every_function():
    widgets = dashboard_metrics(_sam())
    charted = {metric for metrics in widgets.values() for metric in metrics}
    functions = {value for _, dimensions in charted for name, value in dimensions if name == "Function"}
    assert functions == {
        "registry-events",
        "approval-propagation",
        "decommission",
        "governance-webhook",
        "governance-poller",
        "metrics-relay",
        "reconciler",
        "model-link",
    }
    assert ("EventsProcessed", (("Function", "reconciler"),)) in charted
    assert ("ModelLinkRefused", (("Function", "model-link"),)) in charted
    assert ("DriftsFound", (("DriftKind", "shadow_approval"), ("Function", "reconciler"))) in charted
    # Issue 21's drift kinds, found and repaired.
    for kind in (
        "artifact_changed_since_approval",
        "artifact_unverifiable",
        "endpoint_serving_unapproved",
        "endpoint_serving_decommissioned",
        "endpoint_serving_other_artifact",
        "deployments_out_of_step",
    ):
        for metric in ("DriftsFound", "DriftsRepaired"):
            assert (metric, (("DriftKind", kind), ("Function", "reconciler"))) in charted, (metric, kind)
    quarantined = alarm_metrics(_sam())["govsync-quarantined"]
    assert ("Quarantined", (("Function", "governance-webhook"),)) in quarantined
    assert ("Quarantined", (("Function", "model-link"),)) in quarantined


def test_the_sam_template_alarms_on_refused_credentials_and_foreign_metrics():
    assert summed_alarm_problems(_sam()) == []


def test_the_cdk_template_alarms_on_refused_credentials_and_foreign_metrics():
    # Only once `cdk synth` has run (infra/validate.sh compares its alarms with the SAM ones in any case).
    if CDK_TEMPLATE.exists():
        assert summed_alarm_problems(load_template(CDK_TEMPLATE)) == []


def test_the_serving_alarm_check_names_a_missing_kind_or_alarm():
    other = _sam()
    alarm = other["Resources"]["EndpointServingUnapprovedAlarm"]["Properties"]
    alarm["Metrics"] = [query for query in alarm["Metrics"] if query["Id"] != "s3"]
    problems = summed_alarm_problems(other)
    assert len(problems) == 1 and problems[0].startswith(f"{SERVING_ALARM}: reads "), problems
    assert "endpoint_serving_other_artifact" in problems[0].partition(", not ")[2], problems
    assert any("endpoint_serving_other_artifact" in d for d in metric_differences(_sam(), other))
    del other["Resources"]["EndpointServingUnapprovedAlarm"]
    assert summed_alarm_problems(other) == [f"{SERVING_ALARM}: missing"]


def test_the_alarm_check_names_what_is_wrong():
    other = _sam()
    resources = other["Resources"]
    del resources["ForeignMetricsRefusedAlarm"]
    unauthorized = resources["GovernanceUnauthorizedAlarm"]["Properties"]
    unauthorized["Metrics"][0]["Expression"] = "u1 + u2 + u3"
    unauthorized["Metrics"] = [query for query in unauthorized["Metrics"] if query["Id"] != "u4"]
    del unauthorized["TreatMissingData"]
    problems = summed_alarm_problems(other)
    read, _, wanted = problems[0].partition(", not ")
    assert read.startswith("govsync-governance-unauthorized: reads ") and "metrics-relay" not in read, problems
    assert "metrics-relay" in wanted, problems
    assert problems[1:] == [
        "govsync-governance-unauthorized: u1 is not added as FILL(u1, 0)",
        "govsync-governance-unauthorized: u2 is not added as FILL(u2, 0)",
        "govsync-governance-unauthorized: u3 is not added as FILL(u3, 0)",
        "govsync-governance-unauthorized: TreatMissingData is not notBreaching",
        "govsync-foreign-metrics-refused: missing",
    ], problems
    assert metric_differences(_sam(), other) != []


def test_a_template_with_the_same_metrics_has_no_differences():
    assert metric_differences(_sam(), _sam()) == []


def test_a_series_dropped_from_a_widget_is_named():
    other = _sam()
    body = other["Resources"]["Dashboard"]["Properties"]["DashboardBody"]
    text = body["Fn::Sub"][0]
    row = '["govsync", "Failures", "Function", "reconciler"]'
    assert row in text
    body["Fn::Sub"][0] = re.sub(r",\s*" + re.escape(row), "", text)
    differences = metric_differences(_sam(), other)
    assert differences == [
        "dashboard widget 'Failures (retryable, reported back)': the SAM template reads Failures "
        "{'Function': 'reconciler'}, this template does not"
    ], differences


def test_a_function_missing_from_the_quarantine_alarm_is_named():
    other = _sam()
    queries = other["Resources"]["QuarantinedAlarm"]["Properties"]["Metrics"]
    other["Resources"]["QuarantinedAlarm"]["Properties"]["Metrics"] = [
        query for query in queries if query.get("Id") != "q6"
    ]
    differences = metric_differences(_sam(), other)
    assert len(differences) == 1 and "metrics-relay" in differences[0], differences


def test_a_synthesized_join_body_is_read_like_a_sub_body():
    sam = _sam()
    text = sam["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"][0]
    head, _, tail = text.partition("${AWS::Region}")
    joined = copy.deepcopy(sam)
    joined["Resources"]["Dashboard"]["Properties"]["DashboardBody"] = {
        "Fn::Join": ["", [head, {"Ref": "AWS::Region"}, tail]]
    }
    assert dashboard_metrics(joined) == dashboard_metrics(sam)


def main(paths: list[str]) -> int:
    failed = False
    sam = load_template(SAM_TEMPLATE_PATH)
    for path in paths:
        other = load_template(Path(path))
        differences = metric_differences(sam, other) + summed_alarm_problems(other)
        for line in differences:
            print(f"{path}: {line}")
        if differences:
            failed = True
        else:
            widgets = dashboard_metrics(sam)
            print(
                f"{path}: the same govsync metrics as the SAM template on {len(widgets)} dashboard widgets "
                f"and {len(alarm_metrics(sam))} alarm(s)"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
