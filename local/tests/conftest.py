"""Fixtures for the boto3 fidelity tests of the registry emulator (local/registry-emulator).

The tests run against a started local stack (`local/stack.sh up`, then `source .local/stack/stack.env`):
  GOVSYNC_REGISTRY_URL   the registry emulator
  GOVSYNC_MOTO_URL       moto (SQS, EventBridge) with govsync's queues bootstrapped
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION (or AWS_DEFAULT_REGION)
A test that needs the stack FAILS (never skips) when these are missing.

Only tests that request the `stack` fixture (directly or through another fixture here) are affected;
other tests in this directory need no stack.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

REQUIRED_ENV = (
    "GOVSYNC_REGISTRY_URL",
    "GOVSYNC_MOTO_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
)
# Rules feed the ingest queue; the registry-relay (locally: the runner) moves events on to registry-events.fifo.
REGISTRY_EVENTS_QUEUE = "registry-events-ingest"


def missing_stack_env() -> list[str]:
    missing = [name for name in REQUIRED_ENV if not os.environ.get(name)]
    if not (os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")):
        missing.append("AWS_REGION")
    return missing


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    # Fail in the call phase (a FAILED test, not a setup ERROR or a skip) with a message saying what to do.
    if "stack" in getattr(item, "fixturenames", ()):
        missing = missing_stack_env()
        if missing:
            pytest.fail(
                "the local stack is not configured: missing "
                + ", ".join(missing)
                + ". Start it with `local/stack.sh up` and `source .local/stack/stack.env` "
                "(or run everything with `local/test.sh`).",
                pytrace=False,
            )


@dataclass(frozen=True)
class Stack:
    registry_url: str
    moto_url: str
    region: str
    account_id: str


@pytest.fixture(scope="session")
def stack() -> Stack | None:
    """The stack's endpoints; None when unconfigured (the test then fails before it runs)."""
    if missing_stack_env():
        return None
    return Stack(
        registry_url=os.environ["GOVSYNC_REGISTRY_URL"].rstrip("/"),
        moto_url=os.environ["GOVSYNC_MOTO_URL"].rstrip("/"),
        region=os.environ.get("AWS_REGION") or os.environ["AWS_DEFAULT_REGION"],
        account_id=os.environ.get("GOVSYNC_ACCOUNT_ID", "123456789012"),
    )


def _client(service: str, endpoint: str, region: str, **credentials: str) -> Any:
    import boto3
    from botocore.config import Config

    # Retries off: a wrong answer must show up as the error it is, not as a retried request.
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=30),
        **credentials,
    )


@pytest.fixture(scope="session")
def make_sagemaker(stack: Stack | None) -> Callable[..., Any]:
    """Builds a SageMaker client on the emulator, optionally for another region or access key."""

    def make(region: str | None = None, access_key_id: str | None = None) -> Any:
        assert stack is not None
        credentials = {}
        if access_key_id is not None:
            credentials = {"aws_access_key_id": access_key_id, "aws_secret_access_key": "testing"}
        return _client("sagemaker", stack.registry_url, region or stack.region, **credentials)

    return make


@pytest.fixture(scope="session")
def sagemaker(stack: Stack | None, make_sagemaker: Callable[..., Any]) -> Any:
    return make_sagemaker() if stack else None


@pytest.fixture(scope="session")
def sqs(stack: Stack | None) -> Any:
    return _client("sqs", stack.moto_url, stack.region) if stack else None


@pytest.fixture
def group_name(stack: Stack | None) -> str:
    """A model package group name no other test (or earlier run) uses."""
    return f"t-{uuid.uuid4().hex[:20]}"


class QueueDrain:
    """Reads a queue on moto: receives and deletes messages, returning their EventBridge envelopes."""

    def __init__(self, sqs_client: Any, queue_name: str) -> None:
        self._sqs = sqs_client
        self.queue_name = queue_name
        self.url = sqs_client.get_queue_url(QueueName=queue_name)["QueueUrl"]

    def receive_all(self) -> list[dict[str, Any]]:
        """Everything in the queue now, in FIFO order; the queue is empty afterwards."""
        envelopes: list[dict[str, Any]] = []
        while True:
            answer = self._sqs.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=0,
                VisibilityTimeout=30,
                AttributeNames=["All"],
            )
            messages = answer.get("Messages", [])
            if not messages:
                return envelopes
            for message in messages:
                envelope = json.loads(message["Body"])
                envelope["_sqs_attributes"] = message.get("Attributes", {})
                envelopes.append(envelope)
                self._sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])

    def wait_for(
        self,
        matches: Callable[[dict[str, Any]], bool],
        count: int,
        timeout: float = 10.0,
    ) -> list[dict[str, Any]]:
        """Drains until `count` envelopes satisfy `matches` (others are dropped) or the timeout passes.

        Returns the matching envelopes in arrival order; fewer than `count` means they never came.
        """
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while True:
            found.extend(envelope for envelope in self.receive_all() if matches(envelope))
            if len(found) >= count or time.monotonic() >= deadline:
                return found
            time.sleep(0.2)


@pytest.fixture
def registry_events(stack: Stack | None, sqs: Any) -> QueueDrain | None:
    """The queue the registry rules feed (registry-events-ingest), emptied of earlier tests' events first."""
    if stack is None:
        return None
    drain = QueueDrain(sqs, REGISTRY_EVENTS_QUEUE)
    drain.receive_all()
    return drain


@pytest.fixture
def drain_queue(stack: Stack | None, sqs: Any) -> Callable[[str], QueueDrain]:
    """A drain for any queue by name (e.g. decommission.fifo)."""

    def make(queue_name: str) -> QueueDrain:
        return QueueDrain(sqs, queue_name)

    return make
