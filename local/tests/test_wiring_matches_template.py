"""The deployable templates declare exactly the wiring the local stack is built from (local/wiring.json).

Checked: queues (names, FIFO DLQs, maxReceiveCount, content-based deduplication, visibility timeout), the
EventBridge rules that feed them (event patterns, target queues, MessageGroupIds), govsync's own event buses
(the spokes' bus and the governance decision bus, by name, and no other), tables (keys, TTL attribute) and
secrets (names, and that no value is written into the template).

Also a command: `python local/tests/test_wiring_matches_template.py TEMPLATE...` checks any CloudFormation
template (YAML with short-form tags, or the JSON `cdk synth` writes) and exits 1 naming every difference.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
WIRING_PATH = REPO / "local" / "wiring.json"
SAM_TEMPLATE_PATH = REPO / "infra" / "template.yaml"

# Queues a template may declare beyond wiring.json, with the reason. Only standard (non-FIFO) queues qualify.
EXTRA_QUEUES_ALLOWED = {
    "govsync-async-failures": "dead-letter queue for failed asynchronous invocations; Lambda cannot use a FIFO one",
    "govsync-event-delivery-dlq": "dead-letter queue of the rules' targets: events EventBridge could not deliver",
}


class CloudFormationLoader(yaml.SafeLoader):
    """A YAML loader that reads CloudFormation's short-form tags (!Ref, !GetAtt, !Sub, ...) as their long form."""


def _construct_short_form(loader: CloudFormationLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


CloudFormationLoader.add_multi_constructor("!", _construct_short_form)


def load_template(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)
    return yaml.load(text, Loader=CloudFormationLoader)  # noqa: S506 - SafeLoader subclass


def load_wiring() -> dict[str, Any]:
    return json.loads(WIRING_PATH.read_text(encoding="utf-8"))


def _resources(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource.get("Properties", {})
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("Type") == resource_type
    }


def _referenced_logical_id(value: Any) -> str | None:
    """The resource a Ref / Fn::GetAtt points at, whatever the form."""
    if isinstance(value, dict):
        if "Ref" in value:
            return value["Ref"]
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            return target[0] if isinstance(target, list) else str(target).split(".", 1)[0]
    return None


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _canonical(value: Any) -> Any:
    """Event patterns compare as sets: list order means nothing to EventBridge."""
    if isinstance(value, dict):
        return {key: _canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        return sorted((_canonical(item) for item in value), key=lambda item: json.dumps(item, sort_keys=True))
    return value


def _queue_differences(template: dict[str, Any], wiring: dict[str, Any]) -> list[str]:
    differences: list[str] = []
    queues = _resources(template, "AWS::SQS::Queue")
    name_of = {logical_id: props.get("QueueName") for logical_id, props in queues.items()}
    by_name = {name: logical_id for logical_id, name in name_of.items() if isinstance(name, str)}
    for logical_id, name in name_of.items():
        if not isinstance(name, str):
            differences.append(f"queue {logical_id}: QueueName is not a literal name ({name!r})")

    expected_names: set[str] = set()
    for queue in wiring["queues"]:
        name, dlq_name = queue["name"], queue["dead_letter_queue"]
        expected_names.update({name, dlq_name})
        if name not in by_name:
            differences.append(f"queue {name}: missing from the template")
            continue
        props = queues[by_name[name]]
        if not _truthy(props.get("FifoQueue")):
            differences.append(f"queue {name}: not FIFO")
        if _truthy(props.get("ContentBasedDeduplication")) != queue["content_based_deduplication"]:
            differences.append(
                f"queue {name}: ContentBasedDeduplication is {props.get('ContentBasedDeduplication')!r},"
                f" wiring says {queue['content_based_deduplication']}"
            )
        if str(props.get("VisibilityTimeout")) != str(queue["visibility_timeout_seconds"]):
            differences.append(
                f"queue {name}: VisibilityTimeout is {props.get('VisibilityTimeout')!r},"
                f" wiring says {queue['visibility_timeout_seconds']}"
            )
        if str(props.get("MessageRetentionPeriod")) != str(queue["message_retention_seconds"]):
            differences.append(
                f"queue {name}: MessageRetentionPeriod is {props.get('MessageRetentionPeriod')!r},"
                f" wiring says {queue['message_retention_seconds']}"
            )
        redrive = props.get("RedrivePolicy")
        if isinstance(redrive, str):
            redrive = json.loads(redrive)
        if not isinstance(redrive, dict):
            differences.append(f"queue {name}: no RedrivePolicy (wiring says DLQ {dlq_name})")
            continue
        target = _referenced_logical_id(redrive.get("deadLetterTargetArn"))
        actual_dlq = name_of.get(target) if target else None
        if actual_dlq != dlq_name:
            differences.append(f"queue {name}: dead-letter queue is {actual_dlq!r}, wiring says {dlq_name}")
        if str(redrive.get("maxReceiveCount")) != str(queue["max_receive_count"]):
            differences.append(
                f"queue {name}: maxReceiveCount is {redrive.get('maxReceiveCount')!r},"
                f" wiring says {queue['max_receive_count']}"
            )
        if dlq_name not in by_name:
            differences.append(f"queue {dlq_name}: missing from the template (DLQ of {name})")
        elif not _truthy(queues[by_name[dlq_name]].get("FifoQueue")):
            differences.append(f"queue {dlq_name}: not FIFO (a FIFO queue's DLQ must be FIFO)")

    for queue in wiring.get("ingest_queues", []):
        name, dlq_name = queue["name"], queue["dead_letter_queue"]
        expected_names.update({name, dlq_name})
        if name not in by_name:
            differences.append(f"ingest queue {name}: missing from the template")
            continue
        props = queues[by_name[name]]
        if _truthy(props.get("FifoQueue")):
            differences.append(f"ingest queue {name}: FIFO (rules feed it without a group; the relay sets one)")
        for wired, prop in (("visibility_timeout_seconds", "VisibilityTimeout"), ("message_retention_seconds", "MessageRetentionPeriod")):
            if str(props.get(prop)) != str(queue[wired]):
                differences.append(f"ingest queue {name}: {prop} is {props.get(prop)!r}, wiring says {queue[wired]}")
        redrive = props.get("RedrivePolicy")
        if isinstance(redrive, str):
            redrive = json.loads(redrive)
        target = _referenced_logical_id((redrive or {}).get("deadLetterTargetArn"))
        if (name_of.get(target) if target else None) != dlq_name:
            differences.append(f"ingest queue {name}: dead-letter queue is not {dlq_name}")
        elif str(redrive.get("maxReceiveCount")) != str(queue["max_receive_count"]):
            differences.append(
                f"ingest queue {name}: maxReceiveCount is {redrive.get('maxReceiveCount')!r}, wiring says {queue['max_receive_count']}"
            )
        if dlq_name not in by_name:
            differences.append(f"queue {dlq_name}: missing from the template (DLQ of {name})")
        if queue["relay_to"] not in {fifo["name"] for fifo in wiring["queues"]}:
            differences.append(f"ingest queue {name}: relays to {queue['relay_to']}, which wiring.json does not declare")

    for name, logical_id in sorted(by_name.items()):
        if name in expected_names:
            continue
        if name in EXTRA_QUEUES_ALLOWED and not _truthy(queues[logical_id].get("FifoQueue")):
            continue
        differences.append(f"queue {name}: in the template but not in wiring.json")
    return differences


def _rule_differences(template: dict[str, Any], wiring: dict[str, Any]) -> list[str]:
    differences: list[str] = []
    queue_names = {
        logical_id: props.get("QueueName") for logical_id, props in _resources(template, "AWS::SQS::Queue").items()
    }
    wired_queues = {queue["name"] for queue in wiring["queues"] + wiring.get("ingest_queues", [])}
    rules = _resources(template, "AWS::Events::Rule")
    buses = {
        logical_id: props.get("Name") for logical_id, props in _resources(template, "AWS::Events::EventBus").items()
    }

    def bus_of(props: dict[str, Any]) -> str:
        bus = props.get("EventBusName", "default")
        if isinstance(bus, dict):
            return str(buses.get(_referenced_logical_id(bus), bus))
        return str(bus)

    # A rule is its name on its bus: every wired rule reads the default bus and the spoke bus.
    by_name = {(bus_of(props), props.get("Name")): props for props in rules.values()}
    spoke_bus = wiring.get("spoke_bus")

    def queue_targets(props: dict[str, Any]) -> list[tuple[str, Any]]:
        found = []
        for target in props.get("Targets", []):
            logical_id = _referenced_logical_id(target.get("Arn"))
            if logical_id in queue_names:
                group = (target.get("SqsParameters") or {}).get("MessageGroupId")
                found.append((queue_names[logical_id], group))
        return found

    expected_rule_names = set()
    wired = [(bus, rule) for rule in wiring["rules"] for bus in ["default", spoke_bus] if bus]
    for bus, rule in wired:
        name = rule["name"]
        expected_rule_names.add((bus, name))
        if (bus, name) not in by_name:
            differences.append(f"rule {name} on bus {bus}: missing from the template")
            continue
        props = by_name[(bus, name)]
        pattern = props.get("EventPattern")
        if isinstance(pattern, str):
            pattern = json.loads(pattern)
        if _canonical(pattern) != _canonical(rule["event_pattern"]):
            differences.append(
                f"rule {name}: event pattern {json.dumps(pattern, sort_keys=True)}"
                f" differs from wiring's {json.dumps(rule['event_pattern'], sort_keys=True)}"
            )
        # No fixed group: the relay sets each object's (wiring.json "ingest_queues").
        expected_target = (rule["target_queue"], rule.get("message_group_id"))
        actual_targets = queue_targets(props)
        if actual_targets != [expected_target]:
            differences.append(
                f"rule {name}: queue targets (queue, MessageGroupId) are {actual_targets}, wiring says [{expected_target}]"
            )
    for (bus, name), props in sorted(by_name.items(), key=lambda item: str(item[0])):
        if (bus, name) in expected_rule_names:
            continue
        fed = sorted({queue for queue, _ in queue_targets(props) if queue in wired_queues})
        if fed:
            differences.append(f"rule {name} on bus {bus}: feeds {', '.join(fed)} but is not in wiring.json")
    return differences


def _bus_differences(template: dict[str, Any], wiring: dict[str, Any]) -> list[str]:
    """govsync's own buses: the spokes' (`spoke_bus`, read by the rules) and the governance decision bus
    (`decision_bus`, where approval-propagation publishes), each declared by its literal name, and no other."""
    differences: list[str] = []
    names = [props.get("Name") for props in _resources(template, "AWS::Events::EventBus").values()]
    expected = {wiring[key]: key for key in ("spoke_bus", "decision_bus") if wiring.get(key)}
    for name, key in expected.items():
        if name not in names:
            differences.append(f"event bus {name}: missing from the template (wiring.json {key})")
    for name in names:
        if name not in expected:
            differences.append(f"event bus {name}: in the template but not in wiring.json")
    return differences


def _table_differences(template: dict[str, Any], wiring: dict[str, Any]) -> list[str]:
    differences: list[str] = []
    tables = {props.get("TableName"): props for props in _resources(template, "AWS::DynamoDB::Table").values()}
    expected = {table["name"] for table in wiring["tables"]}
    for table in wiring["tables"]:
        name = table["name"]
        if name not in tables:
            differences.append(f"table {name}: missing from the template")
            continue
        props = tables[name]
        keys = {key["KeyType"]: key["AttributeName"] for key in props.get("KeySchema", [])}
        wanted_keys = {"HASH": table["partition_key"]}
        if "sort_key" in table:
            wanted_keys["RANGE"] = table["sort_key"]
        if keys != wanted_keys:
            differences.append(f"table {name}: key schema {keys}, wiring says {wanted_keys}")
        types = {attr["AttributeName"]: attr["AttributeType"] for attr in props.get("AttributeDefinitions", [])}
        for attribute in wanted_keys.values():
            if types.get(attribute) != "S":
                differences.append(
                    f"table {name}: key {attribute} has type {types.get(attribute)!r}, the local stack uses S"
                )
        ttl = props.get("TimeToLiveSpecification") or {}
        actual_ttl = ttl.get("AttributeName") if _truthy(ttl.get("Enabled")) else None
        if actual_ttl != table.get("ttl_attribute"):
            differences.append(f"table {name}: TTL attribute is {actual_ttl!r}, wiring says {table.get('ttl_attribute')!r}")
    for name in sorted(set(tables) - expected, key=str):
        differences.append(f"table {name}: in the template but not in wiring.json")
    return differences


def _secret_differences(template: dict[str, Any], wiring: dict[str, Any]) -> list[str]:
    differences: list[str] = []
    secrets = {props.get("Name"): props for props in _resources(template, "AWS::SecretsManager::Secret").values()}
    expected = {secret["name"] for secret in wiring["secrets"]}
    for name in sorted(expected - set(secrets)):
        differences.append(f"secret {name}: missing from the template")
    for name in sorted(set(secrets) - expected, key=str):
        differences.append(f"secret {name}: in the template but not in wiring.json")
    for name, props in secrets.items():
        if "SecretString" in props:
            differences.append(f"secret {name}: the template carries a SecretString value (put values after deploy)")
    return differences


def wiring_differences(template: dict[str, Any], wiring: dict[str, Any]) -> list[str]:
    """Every way the template's wiring differs from wiring.json, one readable line each."""
    return (
        _queue_differences(template, wiring)
        + _bus_differences(template, wiring)
        + _rule_differences(template, wiring)
        + _table_differences(template, wiring)
        + _secret_differences(template, wiring)
    )


# ------------------------------------------------------------------------------------------------- tests


# Plain helpers rather than fixtures: the module also runs as a command where pytest is not installed.
@functools.cache
def _cached_wiring() -> dict[str, Any]:
    return load_wiring()


@functools.cache
def _cached_sam_template() -> dict[str, Any]:
    return load_template(SAM_TEMPLATE_PATH)


def _wiring() -> dict[str, Any]:
    return copy.deepcopy(_cached_wiring())


def _drifted() -> dict[str, Any]:
    """A private copy of the SAM template for a test to change."""
    return copy.deepcopy(_cached_sam_template())


def _props(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return template["Resources"][logical_id]["Properties"]


def test_sam_template_declares_exactly_the_wiring():
    sam_template, wiring = _drifted(), _wiring()
    assert wiring_differences(sam_template, wiring) == []


def test_loader_reads_short_form_tags_as_long_form():
    loaded = yaml.load(
        "a: !Ref Queue\nb: !GetAtt Queue.Arn\nc: !Sub 'arn:${AWS::Partition}'\nd: !If [Cond, 1, 2]\n",
        Loader=CloudFormationLoader,
    )
    assert loaded == {
        "a": {"Ref": "Queue"},
        "b": {"Fn::GetAtt": ["Queue", "Arn"]},
        "c": {"Fn::Sub": "arn:${AWS::Partition}"},
        "d": {"Fn::If": ["Cond", 1, 2]},
    }


def test_changed_max_receive_count_is_reported():
    drifted, wiring = _drifted(), _wiring()
    _props(drifted, "RegistryEventsQueue")["RedrivePolicy"]["maxReceiveCount"] = 3
    assert wiring_differences(drifted, wiring) == [
        "queue registry-events.fifo: maxReceiveCount is 3, wiring says 35"
    ]


def test_dead_letter_queue_pointing_elsewhere_is_reported():
    drifted, wiring = _drifted(), _wiring()
    _props(drifted, "DecommissionQueue")["RedrivePolicy"]["deadLetterTargetArn"] = {
        "Fn::GetAtt": ["GovernanceEventsDlq", "Arn"]
    }
    assert "queue decommission.fifo: dead-letter queue is 'governance-events-dlq.fifo', wiring says decommission-dlq.fifo" in (
        wiring_differences(drifted, wiring)
    )


def test_disabled_content_based_deduplication_is_reported():
    drifted, wiring = _drifted(), _wiring()
    _props(drifted, "GovernanceEventsQueue")["ContentBasedDeduplication"] = False
    assert wiring_differences(drifted, wiring) == [
        "queue governance-events.fifo: ContentBasedDeduplication is False, wiring says True"
    ]


def test_undeclared_fifo_queue_is_reported():
    drifted, wiring = _drifted(), _wiring()
    drifted["Resources"]["StrayQueue"] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {"QueueName": "stray.fifo", "FifoQueue": True},
    }
    assert wiring_differences(drifted, wiring) == ["queue stray.fifo: in the template but not in wiring.json"]


def test_missing_dead_letter_queue_is_reported():
    drifted, wiring = _drifted(), _wiring()
    del drifted["Resources"]["DecommissionDlq"]
    differences = wiring_differences(drifted, wiring)
    assert "queue decommission-dlq.fifo: missing from the template (DLQ of decommission.fifo)" in differences


def test_changed_event_pattern_is_reported():
    drifted, wiring = _drifted(), _wiring()
    pattern = _props(drifted, "RegistryApiCallsRule")["EventPattern"]
    pattern["detail"]["eventName"].remove("PutModelPackageGroupPolicy")
    differences = wiring_differences(drifted, wiring)
    assert len(differences) == 1
    assert differences[0].startswith("rule govsync-registry-api-calls: event pattern")


def test_event_pattern_order_does_not_matter():
    drifted, wiring = _drifted(), _wiring()
    _props(drifted, "RegistryApiCallsRule")["EventPattern"]["detail"]["eventName"].reverse()
    assert wiring_differences(drifted, wiring) == []


def test_a_fixed_message_group_on_a_rule_is_reported():
    """Issue 14: a rule with a fixed group would put every object of the deployment in one FIFO group."""
    drifted, wiring = _drifted(), _wiring()
    _props(drifted, "DecommissionRule")["Targets"][0]["SqsParameters"] = {"MessageGroupId": "decommission"}
    assert wiring_differences(drifted, wiring) == [
        "rule govsync-decommission: queue targets (queue, MessageGroupId) are"
        " [('decommission-ingest', 'decommission')], wiring says [('decommission-ingest', None)]"
    ]


def test_rule_targeting_the_wrong_queue_is_reported():
    drifted, wiring = _drifted(), _wiring()
    _props(drifted, "DecommissionRule")["Targets"][0]["Arn"] = {"Fn::GetAtt": ["RegistryEventsIngestQueue", "Arn"]}
    differences = wiring_differences(drifted, wiring)
    assert differences == [
        "rule govsync-decommission: queue targets (queue, MessageGroupId) are"
        " [('registry-events-ingest', None)], wiring says [('decommission-ingest', None)]"
    ]


def test_a_fifo_ingest_queue_and_short_retention_are_reported():
    drifted, wiring = _drifted(), _wiring()
    _props(drifted, "RegistryEventsIngestQueue")["FifoQueue"] = True
    _props(drifted, "GovernanceEventsQueue")["MessageRetentionPeriod"] = 345600
    assert wiring_differences(drifted, wiring) == [
        "queue governance-events.fifo: MessageRetentionPeriod is 345600, wiring says 1209600",
        "ingest queue registry-events-ingest: FIFO (rules feed it without a group; the relay sets one)",
    ]


def test_unwired_rule_feeding_a_queue_is_reported():
    drifted, wiring = _drifted(), _wiring()
    extra = copy.deepcopy(drifted["Resources"]["DecommissionRule"])
    extra["Properties"]["Name"] = "govsync-extra"
    drifted["Resources"]["ExtraRule"] = extra
    assert wiring_differences(drifted, wiring) == [
        "rule govsync-extra on bus default: feeds decommission-ingest but is not in wiring.json"
    ]


def test_a_missing_decision_bus_is_reported():
    drifted, wiring = _drifted(), _wiring()
    del drifted["Resources"]["DecisionBus"]
    assert wiring_differences(drifted, wiring) == [
        "event bus govsync-decisions: missing from the template (wiring.json decision_bus)"
    ]


def test_a_renamed_spoke_bus_is_reported():
    drifted, wiring = _drifted(), _wiring()
    _props(drifted, "SpokeEventBus")["Name"] = "govsync-spokes"
    differences = wiring_differences(drifted, wiring)
    assert differences[:2] == [
        "event bus govsync-hub: missing from the template (wiring.json spoke_bus)",
        "event bus govsync-spokes: in the template but not in wiring.json",
    ]
    # The rules on it are then on another bus than wiring.json's.
    assert "rule govsync-decommission on bus govsync-hub: missing from the template" in differences


def test_an_undeclared_bus_is_reported():
    drifted, wiring = _drifted(), _wiring()
    drifted["Resources"]["StrayBus"] = {"Type": "AWS::Events::EventBus", "Properties": {"Name": "govsync-stray"}}
    assert wiring_differences(drifted, wiring) == ["event bus govsync-stray: in the template but not in wiring.json"]


def test_removed_ttl_is_reported():
    drifted, wiring = _drifted(), _wiring()
    del _props(drifted, "LinksTable")["TimeToLiveSpecification"]
    assert wiring_differences(drifted, wiring) == [
        "table govsync-links: TTL attribute is None, wiring says 'expiration'"
    ]


def test_changed_sort_key_is_reported():
    drifted, wiring = _drifted(), _wiring()
    _props(drifted, "LinksTable")["KeySchema"][1]["AttributeName"] = "rev"
    differences = wiring_differences(drifted, wiring)
    assert "table govsync-links: key schema {'HASH': 'pk', 'RANGE': 'rev'}, wiring says {'HASH': 'pk', 'RANGE': 'sk'}" in (
        differences
    )


def test_missing_secret_is_reported():
    drifted, wiring = _drifted(), _wiring()
    del drifted["Resources"]["WebhookSigningSecrets"]
    assert wiring_differences(drifted, wiring) == ["secret govsync/webhook-signing-secrets: missing from the template"]


def test_secret_value_in_the_template_is_reported():
    drifted, wiring = _drifted(), _wiring()
    _props(drifted, "GovernanceApiKeySecret")["SecretString"] = "plaintext"
    assert wiring_differences(drifted, wiring) == [
        "secret govsync/governance-api-key: the template carries a SecretString value (put values after deploy)"
    ]


def test_spoke_forwards_every_wired_event_pattern_to_the_hub():
    wiring = _wiring()
    spoke = load_template(REPO / "infra" / "spoke.yaml")
    rules = _resources(spoke, "AWS::Events::Rule").values()
    forwarded = [_canonical(props["EventPattern"]) for props in rules]
    assert [rule["name"] for rule in wiring["rules"] if _canonical(rule["event_pattern"]) not in forwarded] == []
    assert all(
        props["Targets"]
        == [
            {
                "Id": "hub",
                "Arn": {"Ref": "HubEventBusArn"},
                "RoleArn": {"Fn::GetAtt": ["ForwardRole", "Arn"]},
                "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400},
                "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["ForwardDeadLetters", "Arn"]}},
            }
        ]
        for props in rules
    )


def test_json_templates_from_cdk_synth_are_read(tmp_path):
    sam_template, wiring = _drifted(), _wiring()
    synthesized = tmp_path / "stack.template.json"
    synthesized.write_text(json.dumps(sam_template), encoding="utf-8")
    assert wiring_differences(load_template(synthesized), wiring) == []


def main(paths: list[str]) -> int:
    if not paths:
        print("usage: test_wiring_matches_template.py TEMPLATE...", file=sys.stderr)
        return 2
    wiring = load_wiring()
    failed = False
    for path in paths:
        differences = wiring_differences(load_template(Path(path)), wiring)
        for difference in differences:
            print(f"{path}: {difference}")
        failed = failed or bool(differences)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


def test_the_batch_driver_dead_letters_with_a_reason_before_the_redrive_policy_does():
    """The driver quarantines with `retries_exhausted` on its last receive, before the redrive policy
    would move a message on without a reason (issues 13, 14): the queues' maxReceiveCount is the
    driver's REDRIVE_MAX_RECEIVE_COUNT, a few receives past its MAX_RECEIVE_COUNT, so a process killed
    on its last receive still gets another chance to quarantine with a reason."""
    driver = (REPO / "shared" / "lambda" / "src" / "sqs_batch.rs").read_text()
    match = re.search(r"pub const MAX_RECEIVE_COUNT: u32 = (\d+);", driver)
    assert match, "MAX_RECEIVE_COUNT not found in the batch driver"
    margin = re.search(r"pub const REDRIVE_MAX_RECEIVE_COUNT: u32 = MAX_RECEIVE_COUNT \+ (\d+);", driver)
    assert margin and int(margin.group(1)) > 0, "REDRIVE_MAX_RECEIVE_COUNT is not past MAX_RECEIVE_COUNT"
    wiring = json.loads((REPO / "local" / "wiring.json").read_text())
    counts = {
        queue["name"]: queue["max_receive_count"]
        for queue in wiring["queues"] + wiring["ingest_queues"]
        if "max_receive_count" in queue
    }
    assert counts, "no queue with a redrive policy in wiring.json"
    assert set(counts.values()) == {int(match.group(1)) + int(margin.group(1))}, counts
