"""Events forwarded by a spoke arrive on govsync's own bus (`spoke_bus` in local/wiring.json, `govsync-hub` in the
templates), and the hub's rules read it as they read the default bus (issue 18, 3): on moto's EventBridge, an
event put on that bus reaches the same ingest queue, and an event type no rule reads reaches nothing.
"""

from __future__ import annotations

import json
import pathlib
import uuid
from typing import Any, Callable

from conftest import QueueDrain, Stack, _client

WIRING = json.loads((pathlib.Path(__file__).resolve().parents[1] / "wiring.json").read_text(encoding="utf-8"))


def _state_change(marker: str, account: str) -> dict[str, Any]:
    arn = f"arn:aws:sagemaker:us-east-1:{account}:model-package/{marker}/1"
    return {
        "Source": "aws.sagemaker",
        "DetailType": "SageMaker Model Package State Change",
        "Detail": json.dumps(
            {
                "ModelPackageGroupName": marker,
                "ModelPackageVersion": 1,
                "ModelPackageArn": arn,
                "ModelPackageStatus": "Completed",
                "ModelApprovalStatus": "PendingManualApproval",
            }
        ),
        "Resources": [arn],
    }


def test_a_forwarded_event_on_the_spoke_bus_reaches_the_registry_ingest_queue(
    stack: Stack | None, registry_events: QueueDrain, drain_queue: Callable[[str], QueueDrain]
) -> None:
    assert stack is not None
    events = _client("events", stack.moto_url, stack.region)
    bus = WIRING["spoke_bus"]
    assert bus in {b["Name"] for b in events.list_event_buses()["EventBuses"]}
    marker = f"spoke-{uuid.uuid4().hex[:12]}"
    wanted = _state_change(marker, "111111111111")
    unread = {"Source": "aws.sagemaker", "DetailType": "SageMaker Endpoint State Change", "Detail": json.dumps({"g": marker})}
    answer = events.put_events(Entries=[{**wanted, "EventBusName": bus}, {**unread, "EventBusName": bus}])
    assert answer["FailedEntryCount"] == 0

    arrived = registry_events.wait_for(lambda e: e.get("detail", {}).get("ModelPackageGroupName") == marker, 1)
    assert len(arrived) == 1, arrived
    assert arrived[0]["detail-type"] == "SageMaker Model Package State Change"
    # Nothing reads the other type: it is in no ingest queue.
    stray = registry_events.wait_for(lambda e: marker in json.dumps(e), 1, timeout=1.0)
    stray += drain_queue("decommission-ingest").wait_for(lambda e: marker in json.dumps(e), 1, timeout=1.0)
    assert stray == []
