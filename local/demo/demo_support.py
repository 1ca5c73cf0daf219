"""What govsync's demo scripts share: the governance and registry clients as people use them, the local
runner as a child process, the metrics-relay invocation, the reconciler's local environment, email read-back
from moto's SES, and the timeline helpers.

Used by local/demo/lifecycle.py (the README's demo), local/demo/decommission_and_metrics.py and
local/demo/reconcile.py. Nothing here starts or stops the stack.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import pathlib
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from typing import Any

# The business entity the local stack's registry is mapped to (local/runner/src/local_env.rs).
BUSINESS_ENTITY = "Retail Banking"
# The identity a data scientist uses in SageMaker: anything but govsync's own key.
DATA_SCIENTIST_KEY = "AKIADATASCIENTIST001"
GOVERNANCE_USER = ("admin", "admin")
# govsync's packed write-back (issue 19): the links in one entry, the revision, the model's page.
WRITE_BACK_KEYS = (
    "govsync:links",
    "govsync:model-url",
    "govsync:rev",
)


def packed_links(metadata: dict) -> dict:
    """The ids in `govsync:links` ("model=1 model-group=2 use-case=3 ..."), by name."""
    words = metadata.get("govsync:links", "").split(" ")[:3]
    return dict(word.split("=", 1) for word in words if "=" in word)
# The local stack's webhook signing secret (local/wiring.json, govsync/webhook-signing-secrets "current").
WEBHOOK_SECRET = "whsec_bG9jYWwtd2ViaG9vay1zZWNyZXQtY3VycmVudA=="


class ExpectationFailed(Exception):
    """One of the demo's expectations did not hold."""


def require_stack_env(*names: str) -> None:
    missing = [name for name in names if not os.environ.get(name)]
    if missing:
        raise ExpectationFailed(
            "the local stack's environment is missing " + ", ".join(missing) + " (source .local/stack/stack.env)"
        )


class Timeline:
    """One-line timeline entries: `N. [side] +elapsed  text`."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.count = 0

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def event(self, side: str, text: str) -> None:
        self.count += 1
        print(f"{self.count:2d}. [{side}] +{self.elapsed():6.2f}s  {text}", flush=True)


# The enumeration fields of the catalog: OpenPages takes their values only as {"name": …}.
ENUM_FIELDS = frozenset(
    {
        "MRG-AIFacts-ModelUseCase:Status",
        "MRG-AIFacts-ModelUseCase:Risk Level",
        "MRG-Model:Status",
        "MRG-Metric-Shared:Breach Status",
    }
)


def field_value(name: str, value: Any) -> Any:
    """A field's value as OpenPages takes it: an enumeration's as {"name": …}."""
    return {"name": value} if name in ENUM_FIELDS and isinstance(value, str) else value


class Governance:
    """The governance emulator's OpenPages v2 API, with basic auth (as a governance user, not govsync)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.api = self.base_url + "/opgrc/api/v2"
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
            "fields": [{"name": key, "value": field_value(key, value)} for key, value in fields.items()],
        }
        if parent is not None:
            body["primary_parent_id"] = parent
        return self.call("POST", "/contents", body)

    def get(self, object_id: str) -> dict[str, Any]:
        return self.call("GET", f"/contents/{object_id}")

    def set_status(self, object_id: str, field_name: str, status: str) -> dict[str, Any]:
        """An approver changes an enum status field (as the governance console would)."""
        return self.call("PUT", f"/contents/{object_id}", {"fields": [{"name": field_name, "value": {"name": status}}]})

    def find_by_external_id(self, type_id: str, external_id: str) -> str | None:
        statement = (
            f"SELECT [Resource ID] FROM [{type_id}] WHERE [Integration:External ID] = "
            + "'" + external_id.replace("'", "''") + "'"
        )
        rows = self.call("POST", "/query", {"statement": statement})["rows"]
        if not rows:
            return None
        for field_ in rows[0]["fields"]:
            if field_["name"] == "Resource ID":
                return str(field_["value"])
        return None

    def children(self, type_id: str, parent_id: str) -> list[dict[str, Any]]:
        # OpenPages has no parent column: join the child type on the parent (FROM parent JOIN child).
        parent_type = self.get(parent_id)["type_definition_id"]
        statement = (
            f"SELECT [{type_id}].[Resource ID], [{type_id}].[Name] FROM [{parent_type}] "
            f"JOIN [{type_id}] ON PARENT([{parent_type}]) WHERE [{parent_type}].[Resource ID] = {int(parent_id)}"
        )
        rows = self.call("POST", "/query", {"statement": statement})["rows"]
        ids = [str(f["value"]) for row in rows for f in row["fields"] if f["name"] == "Resource ID"]
        return [self.get(object_id) for object_id in ids]

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        """The emulator's admin API (`/_emulator`, not OpenPages)."""
        return admin(self.base_url, method, path, body)


def children(governance: Governance, type_id: str, parent_id: str) -> list[dict[str, Any]]:
    return governance.children(type_id, parent_id)


def admin(governance_url: str, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(governance_url.rstrip("/") + "/_emulator" + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    return json.loads(text) if text else None


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


def now_rfc3339() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# The secret holding the keys Models' govsync links are signed with (local/wiring.json).
MODEL_LINK_KEYS_SECRET = "govsync/model-link-keys"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def http_get_no_redirect(url: str) -> tuple[int, str, str]:
    """GET without following redirects: (status, Location, body)."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(url, timeout=15) as response:
            return response.status, response.headers.get("Location", ""), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Location", ""), error.read().decode()


def model_card(sagemaker: Any, package_arn: str) -> tuple[dict[str, Any], str | None]:
    """A package's Model Card: its content as JSON, and its status."""
    card = sagemaker.describe_model_package(ModelPackageName=package_arn).get("ModelCard") or {}
    content = card.get("ModelCardContent") or "{}"
    return json.loads(content), card.get("ModelCardStatus")


def http_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read().decode())


def sent_emails(moto_url: str, recipient: str) -> list[dict[str, Any]]:
    """The mail moto's SES accepted for `recipient` (moto keeps it at /moto-api/data.json)."""
    data = http_json(moto_url.rstrip("/") + "/moto-api/data.json")
    messages = data.get("ses", {}).get("Message", [])
    return [m for m in messages if recipient in (m.get("destinations") or {}).get("ToAddresses", [])]


def has_serve_webhook(runner: str) -> bool:
    try:
        usage = subprocess.run([runner, "--help"], capture_output=True, text=True, timeout=10)
    except OSError:
        return False
    return "serve-webhook" in usage.stdout + usage.stderr


class Runner:
    """The local runner as a child process: started in its own process group, always stopped."""

    def __init__(
        self,
        binary: str,
        log_path: pathlib.Path,
        pid_file: pathlib.Path | None,
        arguments: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.binary = binary
        # Variables added to the runner's environment (e.g. where Models' govsync links point).
        self.env = env or {}
        # The runner's command line after the binary.
        self.arguments = arguments or ["run", "registry-events", "--poll-wait", "1"]
        self.log_path = log_path
        # `local/stack.sh down` stops whatever has a pid file there, should the demo die unexpectedly.
        self.pid_file = pid_file
        self.process: subprocess.Popen[str] | None = None
        self.batches: list[dict[str, Any]] = []
        # The function's CloudWatch embedded-metric lines (one per invocation), as Lambda would log them.
        self.metrics: list[dict[str, Any]] = []
        self._reader: threading.Thread | None = None

    def start(self, timeout: float = 60.0) -> None:
        if not os.access(self.binary, os.X_OK):
            raise ExpectationFailed(f"runner binary {self.binary} not found (build it: cargo build --workspace)")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "w")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [self.binary, *self.arguments],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            start_new_session=True,
            env={**os.environ, **self.env},
        )
        if self.pid_file is not None:
            self.pid_file.parent.mkdir(parents=True, exist_ok=True)
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
                    elif isinstance(record, dict) and "_aws" in record:
                        self.metrics.append(record)

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

    def metric_total(self, name: str) -> int:
        """The sum of one embedded metric (e.g. `EchoesDropped`) over the invocations so far."""
        return sum(int(record.get(name, 0) or 0) for record in self.metrics)

    def failed_batches(self) -> list[dict[str, Any]]:
        return [batch for batch in self.batches if "completed" not in batch.get("outcome", {})]

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


class DecisionListener:
    """An audit subscription to govsync's decision bus (`govsync-decisions`): a rule putting every
    governance decision event (whatever its stage or status) on a queue of the run's own, removed when
    the run ends. The stand-in deployment pipeline (local/pipeline/standin.py) has rules of its own."""

    def __init__(self, moto_url: str, region: str, suffix: str) -> None:
        import boto3

        self.events = boto3.client(
            "events", endpoint_url=moto_url, region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        self.sqs = sqs_client(moto_url, region)
        self.rule = f"demo-decisions-{suffix}"
        self.queue_url = self.sqs.create_queue(QueueName=f"demo-decisions-{suffix}")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        pattern = {"source": ["govsync"], "detail-type": ["govsync Governance Decision Applied"]}
        self.events.put_rule(Name=self.rule, EventBusName=DECISION_BUS, EventPattern=json.dumps(pattern))
        self.events.put_targets(Rule=self.rule, EventBusName=DECISION_BUS, Targets=[{"Id": "audit", "Arn": arn}])

    def received(self) -> list[dict[str, Any]]:
        found = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
                "Messages", []
            )
            if not messages:
                return found
            for message in messages:
                found.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.events.remove_targets(Rule=self.rule, EventBusName=DECISION_BUS, Ids=["audit"])
            self.events.delete_rule(Name=self.rule, EventBusName=DECISION_BUS)
            self.sqs.delete_queue(QueueUrl=self.queue_url)


# govsync's bus for governance decision events (local/wiring.json `decision_bus`).
DECISION_BUS = "govsync-decisions"


def sqs_client(moto_url: str, region: str) -> Any:
    import boto3

    return boto3.client(
        "sqs",
        endpoint_url=moto_url,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


# Where the demo's training runs leave their artifacts (the URIs register_version* name).
MODEL_BUCKET = "models-123456789012"
IMAGE_REPOSITORY = "credit-risk"


def stage_artifacts(moto_url: str, region: str, version: int, run_id: str) -> dict[str, str]:
    """What training run `version` leaves behind, on moto: its model data in S3 (a versioned bucket) and
    its image in ECR under the tag the package names, so govsync can fingerprint what governance
    approves. `run_id` makes the bytes (and so the ETag and the image digest) the run's own."""
    import boto3

    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name=region, **credentials)
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        if region == "us-east-1":
            s3.create_bucket(Bucket=MODEL_BUCKET)
        else:
            s3.create_bucket(Bucket=MODEL_BUCKET, CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_bucket_versioning(Bucket=MODEL_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    key = f"credit-risk/run-{version}/model.tar.gz"
    put = s3.put_object(Bucket=MODEL_BUCKET, Key=key, Body=f"credit risk scorer, run {version} ({run_id})".encode())

    ecr = boto3.client("ecr", endpoint_url=moto_url, region_name=region, **credentials)
    with contextlib.suppress(ecr.exceptions.RepositoryAlreadyExistsException):
        ecr.create_repository(repositoryName=IMAGE_REPOSITORY)
    layer = hashlib.sha256(f"{run_id}/{version}".encode()).hexdigest()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1, "digest": f"sha256:{layer}"},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 1, "digest": f"sha256:{layer}"}],
    }
    tag = f"{version}.0"
    try:
        image = ecr.put_image(repositoryName=IMAGE_REPOSITORY, imageManifest=json.dumps(manifest), imageTag=tag)["image"]
        digest = image["imageId"]["imageDigest"]
    except ecr.exceptions.ImageAlreadyExistsException:
        digest = ecr.describe_images(repositoryName=IMAGE_REPOSITORY, imageIds=[{"imageTag": tag}])["imageDetails"][0]["imageDigest"]
    return {
        "model_data": f"s3://{MODEL_BUCKET}/{key}",
        "etag": put["ETag"].strip('"'),
        "version_id": put.get("VersionId", ""),
        "image": f"123456789012.dkr.ecr.{region}.amazonaws.com/{IMAGE_REPOSITORY}:{tag}",
        "image_digest": digest,
    }


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


def register_version_with_sdk(registry_url: str, region: str, access_key: str, group: str, version: int) -> str:
    """Registers a version as a data scientist does in a notebook: the SageMaker Python SDK's
    `Model.register()` (no upload: the model data is already in S3), with the facts governance maps."""
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    # The SDK's defaults files: an empty one of the demo's own, never the machine's.
    defaults = pathlib.Path(__file__).resolve().parents[2] / ".local" / "sagemaker-sdk-defaults.yaml"
    defaults.parent.mkdir(parents=True, exist_ok=True)
    defaults.touch()
    for name in ("SAGEMAKER_ADMIN_CONFIG_OVERRIDE", "SAGEMAKER_USER_CONFIG_OVERRIDE"):
        os.environ.setdefault(name, str(defaults))
    import boto3
    from sagemaker.metadata_properties import MetadataProperties
    from sagemaker.model import Model
    from sagemaker.model_card import ModelPackageModelCard
    from sagemaker.model_life_cycle import ModelLifeCycle
    from sagemaker.model_metrics import MetricsSource, ModelMetrics
    from sagemaker.session import Session

    boto = boto3.Session(aws_access_key_id=access_key, aws_secret_access_key="testing", region_name=region)
    session = Session(
        boto_session=boto,
        sagemaker_client=boto.client("sagemaker", endpoint_url=registry_url),
        default_bucket="models-123456789012",
    )
    run = f"s3://models-123456789012/credit-risk/run-{version}"
    model = Model(
        image_uri=f"123456789012.dkr.ecr.us-east-1.amazonaws.com/credit-risk:{version}.0",
        model_data=f"{run}/model.tar.gz",
        role="arn:aws:iam::123456789012:role/SageMakerExecution",
        sagemaker_session=session,
    )
    package = model.register(
        content_types=["text/csv"],
        response_types=["text/csv"],
        inference_instances=["ml.m5.large"],
        transform_instances=["ml.m5.large"],
        model_package_group_name=group,
        approval_status="PendingManualApproval",
        description=f"credit risk scorer, training run {version}",
        model_metrics=ModelMetrics(
            model_statistics=MetricsSource(content_type="application/json", s3_uri=f"{run}/evaluation.json")
        ),
        metadata_properties=MetadataProperties(
            generated_by=f"arn:aws:sagemaker:us-east-1:123456789012:pipeline/credit-risk/execution/run-{version}"
        ),
        domain="MACHINE_LEARNING",
        task="CLASSIFICATION",
        sample_payload_url=f"{run}/payload.tar.gz",
        model_card=ModelPackageModelCard(
            model_card_status="Draft",
            model_card_content={"intended_uses": {"purpose_of_model": "score retail credit applications"}},
        ),
        model_life_cycle=ModelLifeCycle(stage="Development", stage_status="InProgress"),
    )
    return package.model_package_arn


def metric_event(account: str, region: str, package_arn: str, metric: str, value: float, thresholds: dict[str, float]) -> dict[str, Any]:
    """A monitoring result as a metrics producer puts it on EventBridge (design F7)."""
    at = now_rfc3339()
    return {
        "version": "0",
        "id": f"demo-{metric}-{time.time_ns()}",
        "detail-type": "Model Metric Recorded",
        "source": "govsync.metrics",
        "account": account,
        "time": at,
        "region": region,
        "resources": [],
        "detail": {
            "model_package_arn": package_arn,
            "metric": metric,
            "value": value,
            "timestamp": at,
            "thresholds": thresholds,
            "source": "nightly-evaluation",
        },
    }


def invoke_metrics_relay(runner: str, event: dict[str, Any], log: pathlib.Path) -> dict[str, Any]:
    """Invokes metrics-relay once, as the EventBridge rule would (the runner's invoke-metrics-relay)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as stderr:
        completed = subprocess.run(
            [runner, "invoke-metrics-relay", "-"],
            input=json.dumps(event),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            timeout=120,
            check=False,
        )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if completed.returncode != 0 or not lines:
        raise ExpectationFailed(
            f"metrics-relay failed (exit {completed.returncode}): {completed.stdout.strip()} (log: {log})"
        )
    answer = json.loads(lines[-1])
    if "result" not in answer:
        raise ExpectationFailed(f"metrics-relay answered {answer!r}")
    return answer["result"]


def reconciler_env(env: os._Environ[str] | dict[str, str], region: str, business_entity: str) -> dict[str, str]:
    """The reconciler's environment, as the hub template sets it for the Lambda (local values), governing
    the one registry `region` of the stack's account, mapped to `business_entity`."""
    moto = env["GOVSYNC_MOTO_URL"].rstrip("/")
    governance = env["GOVSYNC_GOVERNANCE_URL"].rstrip("/")
    account = env.get("GOVSYNC_ACCOUNT_ID", "123456789012")
    return {
        **{k: v for k, v in env.items() if not k.startswith("GOVSYNC_RECONCILE")},
        # Every AWS client on moto, SageMaker on the registry emulator, as govsync's own identity.
        "AWS_ENDPOINT_URL": moto,
        "AWS_ENDPOINT_URL_SAGEMAKER": env["GOVSYNC_REGISTRY_URL"],
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": env["GOVSYNC_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": "testing",
        "GOVSYNC_GOVERNANCE_URL": governance,
        "GOVSYNC_GOVERNANCE_AUTH_MODE": "mcsp",
        "GOVSYNC_GOVERNANCE_TOKEN_URL": f"{governance}/api/2.0/services/local/apikeys/token",
        "GOVSYNC_GOVERNANCE_API_KEY_SECRET": "govsync/governance-api-key",
        "GOVSYNC_REGISTRY_MAP": json.dumps([{"account": account, "region": region, "business_entity": business_entity}]),
        "GOVSYNC_WRITER_ROLE_ARNS": env["GOVSYNC_ROLE_ARN"],
        "GOVSYNC_GATE_MODE": "enforce",
        "GOVSYNC_IDEMPOTENCY_TABLE": "govsync-idempotency",
        "GOVSYNC_LINKS_TABLE": "govsync-links",
        "GOVSYNC_CURSORS_TABLE": "govsync-cursors",
        "GOVSYNC_DECOMMISSION_QUEUE_URL": f"{moto}/{account}/decommission.fifo",
        "RUST_LOG": "warn",
    }


def run_reconciler(binary: str, env: dict[str, str], *flags: str) -> tuple[int, str]:
    """`govsync-reconcile FLAGS` with `env`: its exit code (0 or 1) and stdout; anything else fails."""
    if not os.access(binary, os.X_OK):
        raise ExpectationFailed(f"reconciler binary {binary} not found (build it: cargo build --workspace)")
    done = subprocess.run([binary, *flags], env=env, capture_output=True, text=True, timeout=300)
    if done.returncode not in (0, 1) or not done.stdout.strip():
        raise ExpectationFailed(
            f"govsync-reconcile {' '.join(flags)} exited {done.returncode}: {done.stderr[-2000:]}"
        )
    return done.returncode, done.stdout


def drift_set(report: dict[str, Any]) -> set[tuple[str, str]]:
    return {(d["kind"], d.get("package_arn") or d.get("group") or "") for d in report["drifts"]}
