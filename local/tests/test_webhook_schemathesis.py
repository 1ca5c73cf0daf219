"""Security suite: schemathesis against the governance webhook, served locally from its OpenAPI description.

`govsync-local-runner serve-webhook` serves the real governance-webhook handler over HTTP against the
local stack (moto's Secrets Manager, DynamoDB and a private FIFO queue made for this test, so concurrent
tests that read governance-events.fifo see nothing of it). Schemathesis generates requests from
functions/governance-webhook/openapi.yaml (examples, coverage and fuzzing phases, a bounded number of
examples) and checks every answer:
  - no 5xx (not_a_server_error),
  - status codes and bodies are the documented ones (status_code_conformance, response_schema_conformance,
    content_type_conformance),
  - no unsigned input is accepted: schemathesis cannot sign, so any 202 fails
    (`unsigned_input_is_never_accepted`, local/tests/schemathesis_hooks.py).
Then a correctly signed delivery is answered 202 (the server was able to accept, so the refusals meant
something), the private queue holds exactly that one message, and the server's JSON logs, captured at debug
level (govsync's crates at trace), hold none of the configured secrets in any form.

Needs the local stack (`local/test.sh` runs it); fails, never skips, without it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.usefixtures("stack")

REPO = Path(__file__).resolve().parents[2]
OPENAPI = REPO / "functions" / "governance-webhook" / "openapi.yaml"
WIRING = REPO / "local" / "wiring.json"
MAX_EXAMPLES = 200
RUN_TIMEOUT_S = 50


def runner_binary() -> Path:
    target = Path(os.environ.get("CARGO_TARGET_DIR", "/var/tmp/govsync-target"))
    binary = target / "debug" / "govsync-local-runner"
    assert binary.is_file(), f"{binary} is missing: build the workspace first (cargo build --workspace --all-targets)"
    return binary


def configured_secrets() -> dict[str, str]:
    """Every secret the local stack configures (local/wiring.json), by a name for the failure message."""
    found: dict[str, str] = {}
    for secret in json.loads(WIRING.read_text())["secrets"]:
        value = secret["local_value"]
        found[secret["name"]] = value
        try:
            inner = json.loads(value)
        except ValueError:
            continue
        if isinstance(inner, dict):
            for key, part in inner.items():
                found[f"{secret['name']}#{key}"] = part
    return found


def secret_forms(value: str) -> set[str]:
    """The value, its base64 forms, and for a `whsec_` signing secret its key bytes (raw and re-encoded)."""
    forms = {value, base64.b64encode(value.encode()).decode(), base64.urlsafe_b64encode(value.encode()).decode()}
    if value.startswith("whsec_"):
        encoded = value.removeprefix("whsec_")
        forms.add(encoded)
        forms.add(encoded.rstrip("="))
        key = base64.b64decode(encoded)
        forms.add(key.decode("latin-1"))
        forms.add(key.hex())
    return {form for form in forms if len(form) >= 8}


def webhook_secret_key(value: str) -> bytes:
    return base64.b64decode(value.removeprefix("whsec_"))


class Served:
    """The runner process, its ready URL and everything it logged (stdout and stderr, merged)."""

    def __init__(self, queue_url: str, log_path: Path) -> None:
        env = dict(os.environ)
        env.update(
            {
                # No stack.env file: the stack's variables come from this process's environment.
                "GOVSYNC_STATE_DIR": str(log_path.parent / f"no-stack-{uuid.uuid4().hex}"),
                "GOVSYNC_GOVERNANCE_EVENTS_QUEUE_URL": queue_url,
                "RUST_LOG": "debug,govsync_governance_webhook=trace,govsync_adapters=trace,"
                "govsync_core=trace,govsync_local_runner=trace",
            }
        )
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [str(runner_binary()), "serve-webhook", "--port", "0"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=self._log,
        )
        self.url = ""
        self._lines: list[bytes] = []
        ready = threading.Event()

        def read() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                self._lines.append(line)
                text = line.decode(errors="replace").strip()
                prefix = "govsync-local-runner ready: governance-webhook listening on "
                if text.startswith(prefix):
                    self.url = text.removeprefix(prefix)
                    ready.set()

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()
        if not ready.wait(30):
            self.stop()
            pytest.fail(f"serve-webhook printed no ready line within 30 s; its log:\n{self.logs()[-4000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._reader.join(5)
        self._log.close()

    def logs(self) -> str:
        if not self._log.closed:
            self._log.flush()
        stdout = b"".join(self._lines)
        return (stdout + self.log_path.read_bytes()).decode(errors="replace")


@pytest.fixture
def private_queue(sqs: Any) -> Any:
    name = f"governance-events-sec-{uuid.uuid4().hex}.fifo"
    url = sqs.create_queue(
        QueueName=name,
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true", "VisibilityTimeout": "30"},
    )["QueueUrl"]
    yield url
    sqs.delete_queue(QueueUrl=url)


@pytest.fixture
def served(private_queue: str, tmp_path: Path) -> Any:
    server = Served(private_queue, tmp_path / "serve-webhook.log")
    yield server
    server.stop()


def queue_bodies(sqs: Any, url: str) -> list[str]:
    bodies: list[str] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def signed_post(url: str, secret: str, body: bytes, delivery_id: str) -> tuple[int, str]:
    timestamp = str(int(time.time()))
    tag = hmac.new(webhook_secret_key(secret), f"{delivery_id}.{timestamp}.".encode() + body, hashlib.sha256)
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "content-type": "application/json",
            "webhook-id": delivery_id,
            "webhook-timestamp": timestamp,
            "webhook-signature": "v1," + base64.b64encode(tag.digest()).decode(),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def junit_summary(path: Path) -> dict[str, int]:
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in suites:
        for key in totals:
            totals[key] += int(suite.get(key, 0))
    return totals


def run_schemathesis(served: Served, tmp_path: Path, checks: str, sign_with: str = "") -> str:
    """Runs `st run` against the served webhook; asserts it passed; returns its output (the summary)."""
    base_url = served.url.removesuffix("/webhooks/governance")
    junit = tmp_path / "schemathesis-junit.xml"
    env = dict(os.environ)
    env["SCHEMATHESIS_HOOKS"] = "schemathesis_hooks"
    env["GOVSYNC_SCHEMATHESIS_SIGN_WITH"] = sign_with
    env["GOVSYNC_SCHEMATHESIS_RECORD"] = str(tmp_path / "answers.txt")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).parent), env.get("PYTHONPATH")]))
    command = [
        str(Path(sys.executable).with_name("st")),
        "run",
        str(OPENAPI),
        "--url",
        base_url,
        "--phases",
        "examples,coverage,fuzzing",
        "--checks",
        checks,
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        "20261127",
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--continue-on-failure",
        "--generation-database",
        "none",
        "--report",
        "junit",
        "--report-junit-path",
        str(junit),
        "--no-color",
    ]
    started = time.monotonic()
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S + 10, cwd=tmp_path)
    elapsed = time.monotonic() - started
    output = run.stdout + run.stderr
    print(output)  # the summary, for `pytest -s` and the test log
    assert run.returncode == 0, f"schemathesis found problems (exit {run.returncode}):\n{output[-8000:]}"
    assert junit.is_file(), f"schemathesis wrote no report:\n{output[-4000:]}"
    totals = junit_summary(junit)
    assert totals["tests"] >= 1 and totals["failures"] == 0 and totals["errors"] == 0, totals
    generated = re.search(r"(\d+) generated, (\d+) passed", output)
    assert generated, f"schemathesis printed no test case count:\n{output[-4000:]}"
    assert int(generated.group(1)) >= MAX_EXAMPLES and generated.group(1) == generated.group(2), generated.group(0)
    assert elapsed < RUN_TIMEOUT_S, f"schemathesis took {elapsed:.0f} s"
    return output


CHECKS = (
    "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance,"
    "answers_are_recorded"
)


def recorded_answers(tmp_path: Path) -> dict[str, int]:
    """How often each `<status> <error code>` was answered in the run."""
    counts: dict[str, int] = {}
    for line in (tmp_path / "answers.txt").read_text().splitlines():
        counts[line] = counts.get(line, 0) + 1
    return counts


def test_schemathesis_finds_no_server_error_and_no_accepted_unsigned_delivery(served, sqs, private_queue, tmp_path):
    run_schemathesis(served, tmp_path, CHECKS + ",unsigned_input_is_never_accepted")
    answers = recorded_answers(tmp_path)
    print("answers:", answers)
    # Refused every time, and never for want of resources (no 5xx; not_a_server_error checks it too).
    assert answers and all(answer[0] == "4" for answer in answers), answers
    # Nothing schemathesis sent was queued.
    assert queue_bodies(sqs, private_queue) == []

    # The server can accept: a delivery signed with the current secret is answered 202 and queued, once.
    secrets = configured_secrets()
    current = secrets["govsync/webhook-signing-secrets#current"]
    object_id = f"sec-{uuid.uuid4().hex[:12]}"
    body = json.dumps({"type": "object.updated", "object": {"id": object_id, "type_definition_id": "Model"}}).encode()
    status, answer = signed_post(served.url, current, body, f"msg_{uuid.uuid4().hex}")
    assert status == 202, answer
    deadline = time.monotonic() + 10
    queued: list[str] = []
    while not queued and time.monotonic() < deadline:
        queued = queue_bodies(sqs, private_queue)
        time.sleep(0.2)
    assert len(queued) == 1 and object_id in queued[0], queued

    # A delivery signed with a wrong secret is refused 401 and logged; the logs never hold a secret.
    wrong = "whsec_" + base64.b64encode(b"not-the-configured-secret-at-all").decode()
    status, answer = signed_post(served.url, wrong, body, f"msg_{uuid.uuid4().hex}")
    assert status == 401 and "invalid_signature" in answer, (status, answer)

    served.stop()
    logs = served.logs()
    assert "governance-webhook" in logs or "webhook" in logs, "the server logged nothing: the scan would be empty"
    leaks = [
        f"{name} (as {form[:4]}…)"
        for name, value in secrets.items()
        for form in secret_forms(value)
        if form in logs
    ]
    assert leaks == [], f"secrets appear in the webhook's logs: {leaks}"


def test_schemathesis_signed_deliveries_cause_no_server_error(served, sqs, private_queue, tmp_path):
    """Generated ids and bodies, signed with the current secret, reach the decoding behind the signature."""
    current = configured_secrets()["govsync/webhook-signing-secrets#current"]
    run_schemathesis(served, tmp_path, CHECKS, sign_with=current)
    answers = recorded_answers(tmp_path)
    print("answers:", answers)
    # The signing worked: generated deliveries got past the signature check (accepted, or refused for their
    # body or id), and whatever was answered 202 `accepted` was queued.
    past_signature = {a: n for a, n in answers.items() if not a.startswith("401 ")}
    assert past_signature, f"no signed delivery got past the signature check: {answers}"
    accepted = answers.get("202 accepted", 0)
    assert len(queue_bodies(sqs, private_queue)) == accepted, answers
    served.stop()
    logs = served.logs()
    leaks = [name for name, value in configured_secrets().items() for form in secret_forms(value) if form in logs]
    assert leaks == [], f"secrets appear in the webhook's logs: {leaks}"
