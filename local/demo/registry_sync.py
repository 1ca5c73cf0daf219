"""The first part of govsync's demo (flows F2 and F3) on a running local stack.

1. In governance (the OpenPages v2 API of the governance emulator): a business entity and an approved use case.
2. In the registry (boto3 on the registry emulator): the use case's model package group, tagged
   `govsync:use-case-id` / `govsync:business-entity`, as a data scientist would find it.
3. The local runner runs the registry-events function on registry-events.fifo (fed by moto's EventBridge).
4. boto3 registers two versions; each must appear in governance as a Model under the use case's model group
   with its metadata, and the write-back (governance ids and links) must appear on each package.
5. A data scientist approves version 2 directly in SageMaker; the gate (enforce) must revert it to
   PendingManualApproval.

It prints a numbered timeline of both sides and exits 0 when every expectation holds, 1 (with the reason)
when one does not. The runner it starts is always stopped before it returns.

Needs the stack's environment (`source .local/stack/stack.env`): GOVSYNC_REGISTRY_URL, GOVSYNC_GOVERNANCE_URL,
GOVSYNC_MOTO_URL, GOVSYNC_ROLE_ARN, AWS_REGION; and the runner binary (--runner, default
$CARGO_TARGET_DIR/debug/govsync-local-runner).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

BUSINESS_ENTITY = "Retail Banking"
# The identity a data scientist uses in SageMaker: anything but govsync's own key.
DATA_SCIENTIST_KEY = "AKIADATASCIENTIST001"
GOVERNANCE_USER = ("admin", "admin")
WRITE_BACK_KEYS = (
    "govsync:use-case-id",
    "govsync:model-group-id",
    "govsync:model-id",
    "govsync:use-case-url",
    "govsync:model-group-url",
    "govsync:model-url",
    "govsync:rev",
)


class ExpectationFailed(Exception):
    """One of the demo's expectations did not hold."""


class Timeline:
    def __init__(self) -> None:
        self.started = time.monotonic()
        self.count = 0

    def event(self, side: str, text: str) -> None:
        self.count += 1
        elapsed = time.monotonic() - self.started
        print(f"{self.count:2d}. [{side}] +{elapsed:6.2f}s  {text}", flush=True)


class Governance:
    """The governance emulator's OpenPages v2 API, with basic auth (as a governance user, not govsync)."""

    def __init__(self, base_url: str) -> None:
        self.api = base_url.rstrip("/") + "/opgrc/api/v2"
        token = base64.b64encode(f"{GOVERNANCE_USER[0]}:{GOVERNANCE_USER[1]}".encode()).decode()
        self.auth = f"Basic {token}"

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.api + path, data=data, method=method)
        request.add_header("Authorization", self.auth)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                text = response.read().decode()
        except urllib.error.HTTPError as error:
            raise ExpectationFailed(
                f"governance {method} {path} answered {error.code}: {error.read().decode(errors='replace')}"
            ) from error
        return json.loads(text) if text else None

    def create(self, type_id: str, name: str, parent: str | None, fields: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": name,
            "type_definition_id": type_id,
            "fields": [{"name": key, "value": value} for key, value in fields.items()],
        }
        if parent is not None:
            body["primary_parent_id"] = parent
        return self.call("POST", "/contents", body)

    def get(self, object_id: str) -> dict[str, Any]:
        return self.call("GET", f"/contents/{object_id}")

    def find_by_external_id(self, type_id: str, external_id: str) -> str | None:
        statement = (
            f"SELECT [Resource ID] FROM [{type_id}] WHERE [Integration:External ID] = "
            + "'" + external_id.replace("'", "''") + "'"
        )
        rows = self.call("POST", "/query", {"statement": statement})["rows"]
        if not rows:
            return None
        for field in rows[0]["fields"]:
            if field["name"] == "Resource ID":
                return str(field["value"])
        return None


def field(obj: dict[str, Any], name: str) -> Any:
    for item in obj.get("fields", []):
        if item["name"] == name:
            value = item["value"]
            return value.get("name") if isinstance(value, dict) and "name" in value else value
    return None


def wait_until(what: str, probe, timeout: float, interval: float = 0.2):
    """Calls `probe` until it returns something truthy; fails with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise ExpectationFailed(f"{what} within {timeout:.0f} s (last seen: {last!r})")


class Runner:
    """The local runner as a child process: started in its own process group, always stopped."""

    def __init__(
        self,
        binary: str,
        log_path: pathlib.Path,
        pid_file: pathlib.Path | None,
        arguments: list[str] | None = None,
    ) -> None:
        self.binary = binary
        # The runner's command line after the binary (part 2 of the demo runs other functions with it).
        self.arguments = arguments or ["run", "registry-events", "--poll-wait", "1"]
        self.log_path = log_path
        # `local/stack.sh down` stops whatever has a pid file there, should this script die unexpectedly.
        self.pid_file = pid_file
        self.process: subprocess.Popen[str] | None = None
        self.batches: list[dict[str, Any]] = []
        self._reader: threading.Thread | None = None

    def start(self, timeout: float = 60.0) -> None:
        if not os.access(self.binary, os.X_OK):
            raise ExpectationFailed(f"runner binary {self.binary} not found (build it: cargo build -p govsync-local-runner)")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "w")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [self.binary, *self.arguments],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            start_new_session=True,
        )
        if self.pid_file is not None:
            self.pid_file.write_text(f"{self.process.pid}\n")
        ready = threading.Event()

        def read() -> None:
            assert self.process is not None and self.process.stdout is not None
            for line in self.process.stdout:
                if line.startswith("govsync-local-runner ready"):
                    ready.set()
                elif line.startswith("{"):
                    # Batch reports; the function's own stdout lines (embedded metrics) are not.
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError:
                        continue
                    if isinstance(record, dict) and "request_id" in record and "outcome" in record:
                        self.batches.append(record)

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while not ready.wait(0.1):
            if self.process.poll() is not None:
                raise ExpectationFailed(
                    f"the runner exited with {self.process.returncode} before it was ready; see {self.log_path}:\n"
                    + self.log_path.read_text()[-2000:]
                )
            if time.monotonic() > deadline:
                raise ExpectationFailed(f"the runner was not ready within {timeout:.0f} s; see {self.log_path}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            # SIGTERM: the runner finishes the batch in flight and exits; the group catches any child.
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        if self.pid_file is not None:
            self.pid_file.unlink(missing_ok=True)


def sagemaker_client(registry_url: str, region: str, access_key: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "sagemaker",
        endpoint_url=registry_url,
        region_name=region,
        aws_access_key_id=access_key,
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}),
    )


def register_version(sagemaker: Any, group: str, version: int) -> str:
    answer = sagemaker.create_model_package(
        ModelPackageGroupName=group,
        ModelPackageDescription=f"credit risk scorer, training run {version}",
        InferenceSpecification={
            "Containers": [
                {
                    "Image": f"123456789012.dkr.ecr.us-east-1.amazonaws.com/credit-risk:{version}.0",
                    "ModelDataUrl": f"s3://models-123456789012/credit-risk/run-{version}/model.tar.gz",
                }
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        ModelMetrics={
            "ModelQuality": {
                "Statistics": {
                    "ContentType": "application/json",
                    "S3Uri": f"s3://models-123456789012/credit-risk/run-{version}/evaluation.json",
                }
            }
        },
        ModelApprovalStatus="PendingManualApproval",
    )
    return answer["ModelPackageArn"]


def check_model(
    timeline: Timeline,
    governance: Governance,
    sagemaker: Any,
    package_arn: str,
    version: int,
    use_case_id: str,
    timeout: float,
) -> dict[str, Any]:
    """The package's Model exists under the use case with its metadata, and the write-back is on the package."""
    model_id = wait_until(
        f"governance shows no Model with External ID {package_arn}",
        lambda: governance.find_by_external_id("Model", package_arn),
        timeout,
    )
    model = governance.get(model_id)
    group = governance.get(str(model["primary_parent_id"]))
    if str(group.get("primary_parent_id")) != use_case_id:
        raise ExpectationFailed(
            f"Model {model_id}'s model group {group['id']} is under {group.get('primary_parent_id')}, "
            f"not the use case {use_case_id}"
        )
    version_field = field(model, "MRG-Model:Model Version")
    image = field(model, "MRG-Model:Inference Image")
    data_url = field(model, "MRG-Model:Model Data URL")
    if str(version_field) != str(version) or not image or not data_url:
        raise ExpectationFailed(
            f"Model {model_id} lacks the package's metadata (version {version_field!r}, image {image!r}, "
            f"model data URL {data_url!r})"
        )
    timeline.event(
        "governance",
        f'Model "{model["name"]}" created (id {model_id}) in model group {group["id"]} under use case '
        f"{use_case_id}: version {version_field}, image {image}, status {field(model, 'MRG-Model:Status') or '(unset)'}",
    )

    def write_back() -> dict[str, str] | None:
        metadata = sagemaker.describe_model_package(ModelPackageName=package_arn).get(
            "CustomerMetadataProperties", {}
        )
        return metadata if all(key in metadata for key in WRITE_BACK_KEYS) else None

    metadata = wait_until(
        f"the write-back ({', '.join(WRITE_BACK_KEYS)}) did not appear on {package_arn}", write_back, timeout
    )
    if metadata["govsync:model-id"] != model_id or metadata["govsync:use-case-id"] != use_case_id:
        raise ExpectationFailed(
            f"the write-back on {package_arn} names model {metadata['govsync:model-id']} and use case "
            f"{metadata['govsync:use-case-id']}, not {model_id} and {use_case_id}"
        )
    timeline.event(
        "registry",
        f"version {version} written back by govsync: govsync:model-id={metadata['govsync:model-id']}, "
        f"govsync:model-url={metadata['govsync:model-url']}, govsync:rev={metadata['govsync:rev']}",
    )
    return model


def scenario(args: argparse.Namespace) -> None:
    env = os.environ
    missing = [
        name
        for name in ("GOVSYNC_REGISTRY_URL", "GOVSYNC_GOVERNANCE_URL", "GOVSYNC_MOTO_URL", "GOVSYNC_ROLE_ARN")
        if not env.get(name)
    ]
    if missing:
        raise ExpectationFailed(
            "the local stack's environment is missing " + ", ".join(missing) + " (source .local/stack/stack.env)"
        )
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
    governance = Governance(env["GOVSYNC_GOVERNANCE_URL"])
    data_scientist = sagemaker_client(env["GOVSYNC_REGISTRY_URL"], region, DATA_SCIENTIST_KEY)
    timeline = Timeline()
    suffix = uuid.uuid4().hex[:6]

    entity = governance.create("SOXBusEntity", BUSINESS_ENTITY, None, {})
    timeline.event("governance", f'business entity "{BUSINESS_ENTITY}" created (id {entity["id"]})')
    use_case_name = f"Credit risk scoring {suffix}"
    use_case = governance.create(
        "ModelUseCase",
        use_case_name,
        entity["id"],
        {
            "MRG-AIFacts-ModelUseCase:Status": "Approved for Development",
            "MRG-AIFacts-ModelUseCase:Risk Level": "High",
            "MRG-ModelUseCase:Owner": "Risk Analytics",
            "MRG-ModelUseCase:Data Science Team Email": "risk-ds@example.com",
        },
    )
    use_case_id = str(use_case["id"])
    timeline.event(
        "governance",
        f'use case "{use_case_name}" created (id {use_case_id}), status Approved for Development, risk High',
    )

    group_name = f"credit-risk-scoring-{use_case_id}-{suffix}"
    group_arn = data_scientist.create_model_package_group(
        ModelPackageGroupName=group_name,
        ModelPackageGroupDescription=f"Model versions for the use case {use_case_name}",
        Tags=[
            {"Key": "govsync:use-case-id", "Value": use_case_id},
            {"Key": "govsync:business-entity", "Value": BUSINESS_ENTITY},
        ],
    )["ModelPackageGroupArn"]
    timeline.event("registry", f"model package group {group_name} created for the use case ({group_arn})")

    runner = Runner(args.runner, pathlib.Path(args.runner_log), pathlib.Path(args.pid_file) if args.pid_file else None)
    try:
        runner.start()
        assert runner.process is not None
        timeline.event(
            "runner",
            f"registry-events function running on registry-events.fifo, as Lambda would (pid {runner.process.pid})",
        )

        models = []
        arns = []
        for version in (1, 2):
            arn = register_version(data_scientist, group_name, version)
            arns.append(arn)
            timeline.event("registry", f"version {version} registered by a data scientist ({arn})")
            models.append(check_model(timeline, governance, data_scientist, arn, version, use_case_id, args.timeout))
        if models[0]["primary_parent_id"] != models[1]["primary_parent_id"]:
            raise ExpectationFailed("the two versions' Models are in different model groups")

        # F3: an approval made in SageMaker without a governance approval.
        data_scientist.update_model_package(ModelPackageArn=arns[1], ModelApprovalStatus="Approved")
        timeline.event("registry", f"version 2 approved directly in SageMaker by a data scientist ({DATA_SCIENTIST_KEY})")

        def reverted() -> dict[str, Any] | None:
            package = data_scientist.describe_model_package(ModelPackageName=arns[1])
            return package if package["ModelApprovalStatus"] == "PendingManualApproval" else None

        package = wait_until("the gate did not revert the shadow approval of version 2", reverted, args.timeout)
        by = (package.get("LastModifiedBy") or {}).get("IamIdentity", {}).get("Arn")
        if by != env["GOVSYNC_ROLE_ARN"]:
            raise ExpectationFailed(f"version 2 was reverted by {by!r}, not by govsync ({env['GOVSYNC_ROLE_ARN']})")
        timeline.event(
            "registry",
            f"govsync's gate reverted version 2 to PendingManualApproval (enforce): "
            f"{package.get('ApprovalDescription', '')!s} (last modified by {by})",
        )
        model_2 = governance.get(str(models[1]["id"]))
        status = field(model_2, "MRG-Model:Status")
        if status and "Approved" in str(status) and "Not" not in str(status):
            raise ExpectationFailed(f"governance shows version 2 as {status!r} after a shadow approval")
        timeline.event(
            "governance",
            f"Model {models[1]['id']} status stays {status or '(unset)'}: approving is governance's decision",
        )
    finally:
        runner.stop()
    failed_batches = [batch for batch in runner.batches if "completed" not in batch.get("outcome", {})]
    timeline.event(
        "runner",
        f"stopped after {len(runner.batches)} batches ({len(failed_batches)} failed invocations); log {args.runner_log}",
    )


def main() -> int:
    target = os.environ.get("CARGO_TARGET_DIR", "/var/tmp/govsync-target")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runner", default=os.path.join(target, "debug", "govsync-local-runner"))
    parser.add_argument("--runner-log", default=".local/stack/logs/runner.log")
    parser.add_argument("--pid-file", help="where to record the runner's pid while it runs")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for each expectation")
    args = parser.parse_args()
    try:
        scenario(args)
    except ExpectationFailed as failure:
        print(f"\nFAILED: {failure}", file=sys.stderr, flush=True)
        return 1
    print("\nAll expectations held: registry → governance sync (F2) and the approval gate (F3).", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
