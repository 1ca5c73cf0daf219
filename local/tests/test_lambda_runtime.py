"""Every function binary runs under the real Lambda runtime API emulation (cargo-lambda's).

`cargo lambda watch --only-lambda-apis` (cargo-lambda pinned in infra/requirements.txt, from the
`.venv-infra` venv that infra/build.sh and infra/validate.sh create the same way) serves the Lambda
Runtime API and the Invoke API on one 127.0.0.1 port in 9100-9199; it compiles nothing. Each function
is the binary the workspace build already made (`$CARGO_TARGET_DIR/debug/<function>`, from
`cargo build --workspace --all-targets` in local/setup.sh), started here as Lambda starts a function:
with `AWS_LAMBDA_RUNTIME_API` pointing at the emulator (`http://127.0.0.1:P/.rt/<binary>`: cargo-lambda
routes `cargo lambda invoke <binary>` there) and the environment infra/template.yaml gives it, aimed at
the local stack. Every sample in `events/<function>/` is then sent with
`cargo lambda invoke <binary> --data-file`, and the answer (and, where cheap, the effect on the stack)
is checked. Samples name resources this stack does not hold (`fraud-detection-4711`, governance ids
4711/5121), so each is sent as it is (and answered as such), and again about resources the test creates
(the group renamed, the object id replaced, webhook deliveries re-signed now, event ids renewed).

Isolation: each function sends to queues made for this module (DLQs, governance events, decommission
requests), the poller and the reconciler keep cursors in a table made for this module, the reconciler
governs a registry region of its own, and governance faults are scoped to this module's objects.
Every process started here is stopped when the module ends, and dies with the test process however it
ends. The whole module takes about 15-20 s once the workspace is built.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.usefixtures("stack")

REPO = Path(__file__).resolve().parents[2]
EVENTS = REPO / "events"
WIRING = json.loads((REPO / "local" / "wiring.json").read_text())
INFRA_REQUIREMENTS = REPO / "infra" / "requirements.txt"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", "/var/tmp/govsync-target"))
PORTS = range(9100, 9200)
START_TIMEOUT_S = 90
START_ATTEMPTS = 5
INVOKE_TIMEOUT_S = 60
WEBHOOK_SECRETS = json.loads(next(s for s in WIRING["secrets"] if s["name"] == "govsync/webhook-signing-secrets")["local_value"])


def infra_venv() -> Path:
    """The infrastructure tools' venv, created or refreshed exactly as infra/build.sh does."""
    venv = Path(os.environ.get("GOVSYNC_INFRA_VENV", REPO / ".venv-infra"))
    stamp = venv / ".requirements.sha256"
    wanted = hashlib.sha256(INFRA_REQUIREMENTS.read_bytes()).hexdigest()
    current = stamp.read_text().strip() if stamp.is_file() else ""
    if not (venv / "bin" / "python").exists() or current != wanted:
        subprocess.run(["python3", "-m", "venv", str(venv)], check=True, timeout=300)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", "-r", str(INFRA_REQUIREMENTS)],
            check=True,
            timeout=1800,
        )
        stamp.write_text(wanted + "\n")
    assert (venv / "bin" / "cargo-lambda").exists(), f"{venv}/bin/cargo-lambda is missing after installing {INFRA_REQUIREMENTS}"
    return venv


def free_ports() -> Iterator[int]:
    for port in PORTS:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        yield port


def holds_port(pid: int, port: int) -> bool:
    """Whether process `pid` listens on 127.0.0.1:`port` (its socket's inode among its descriptors)."""
    inodes = set()
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            columns = line.split()
            if columns[3] == "0A" and int(columns[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(f"socket:[{columns[9]}]")
    if not inodes:
        return False
    try:
        descriptors = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for descriptor in descriptors:
        try:
            if os.readlink(f"/proc/{pid}/fd/{descriptor}") in inodes:
                return True
        except OSError:
            continue
    return False


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Stops a process started in its own session, with everything it started."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(5)


def die_with_parent() -> None:
    """In the child before exec: SIGTERM when this test process dies, however it dies (Linux
    PR_SET_PDEATHSIG; kept across exec, and `cargo lambda` execs cargo-lambda in place)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def tail(path: Path, limit: int = 6000) -> str:
    text = path.read_text(errors="replace") if path.exists() else "(no log)"
    return text[-limit:]


class InvokeFailed(AssertionError):
    pass


class LambdaFunction:
    """One built function binary polling the emulator's Runtime API under its function name."""

    def __init__(self, runtime: Runtime, binary: str, env: dict[str, str]) -> None:
        self.runtime = runtime
        # cargo-lambda routes an invocation by the binary's name (it refuses names the workspace has no
        # binary for) to the runtime polling `/.rt/<that name>`.
        self.name = binary
        path = TARGET / "debug" / binary
        assert path.is_file(), f"{path} is missing: build the workspace first (cargo build --workspace --all-targets)"
        self.log_path = runtime.log_dir / f"{binary}.log"
        full_env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
        full_env.update(env)
        full_env.update(
            {
                "AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{runtime.port}/.rt/{binary}",
                # The deployed function's name (infra/template.yaml FunctionName).
                "AWS_LAMBDA_FUNCTION_NAME": f"govsync-{binary}",
                "AWS_LAMBDA_FUNCTION_VERSION": "1",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/govsync-{binary}",
                "AWS_LAMBDA_LOG_STREAM_NAME": "local",
                "NO_COLOR": "1",
                "RUST_LOG": os.environ.get("GOVSYNC_LAMBDA_TEST_LOG", "info"),
            }
        )
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [str(path)],
            env=full_env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent,  # noqa: PLW1509 - no threads run at this point in the child
        )

    def logs(self) -> str:
        self._log.flush()
        return tail(self.log_path)

    def invoke(self, payload: Any, label: str) -> Any:
        """Sends `payload` (a sample path or JSON) with `cargo lambda invoke`; returns the decoded answer."""
        if isinstance(payload, Path):
            data_file = payload
        else:
            data_file = self.runtime.log_dir / f"{self.name}-{uuid.uuid4().hex[:8]}.json"
            data_file.write_text(json.dumps(payload))
        if self.process.poll() is not None:
            raise InvokeFailed(f"{self.name} exited with {self.process.returncode} before {label}; its log:\n{self.logs()}")
        command = [
            "cargo", "lambda", "invoke", self.name,
            "--invoke-address", "127.0.0.1", "--invoke-port", str(self.runtime.port),
            "--data-file", str(data_file), "--output-format", "json",
        ]  # fmt: skip
        invoke = subprocess.Popen(command, env=self.runtime.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
        try:
            deadline = time.monotonic() + INVOKE_TIMEOUT_S
            while True:
                try:
                    stdout, stderr = invoke.communicate(timeout=0.5)
                    break
                except subprocess.TimeoutExpired:
                    pass
                # A function that dies mid-invocation never answers: say so now, not at the timeout.
                if self.process.poll() is not None:
                    raise InvokeFailed(
                        f"{self.name} exited with {self.process.returncode} during {label}; its log:\n{self.logs()}"
                    )
                if time.monotonic() > deadline:
                    raise InvokeFailed(
                        f"cargo lambda invoke {self.name} ({label}) got no answer in {INVOKE_TIMEOUT_S} s; the function's "
                        f"log:\n{self.logs()}\nthe emulator's log:\n{tail(self.runtime.log_path)}"
                    )
        finally:
            if invoke.poll() is None:
                invoke.kill()
                invoke.communicate()
        if invoke.returncode != 0:
            raise InvokeFailed(
                f"cargo lambda invoke {self.name} ({label}) failed (exit {invoke.returncode}):\n"
                f"{stdout.decode(errors='replace')}{stderr.decode(errors='replace')}\nthe function's log:\n{self.logs()}"
            )
        try:
            return json.loads(stdout)
        except ValueError:
            raise InvokeFailed(f"{self.name} ({label}) answered no JSON: {stdout!r}\nits log:\n{self.logs()}") from None

    def stop(self) -> None:
        stop_process(self.process)
        self._log.close()


class Runtime:
    """`cargo lambda watch --only-lambda-apis`: cargo-lambda's Runtime API and Invoke API, no build."""

    def __init__(self, log_dir: Path) -> None:
        venv = infra_venv()
        self.log_dir = log_dir
        self.env = dict(os.environ)
        self.env["PATH"] = f"{venv / 'bin'}{os.pathsep}{self.env.get('PATH', '')}"
        self.env["CARGO_TARGET_DIR"] = str(TARGET)
        self.env["NO_COLOR"] = "1"
        assert shutil.which("cargo", path=self.env["PATH"]), "cargo is not on PATH"
        self.log_path = log_dir / "cargo-lambda-watch.log"
        self.functions: list[LambdaFunction] = []
        # Another run may take the port between the probe and the bind (cargo-lambda then exits): the
        # next free port is tried, and the emulator counts as up only once its own process holds the port.
        for _, port in zip(range(START_ATTEMPTS), free_ports()):
            self.port = port
            self._log = self.log_path.open("wb")
            self.process = subprocess.Popen(
                [
                    "cargo", "lambda", "watch", "--only-lambda-apis", "--ignore-changes",
                    "--invoke-address", "127.0.0.1", "--invoke-port", str(port),
                ],  # fmt: skip
                cwd=REPO,
                env=self.env,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=die_with_parent,  # noqa: PLW1509
            )
            deadline = time.monotonic() + START_TIMEOUT_S
            while not holds_port(self.process.pid, port) and self.process.poll() is None:
                if time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"cargo lambda watch did not listen within {START_TIMEOUT_S} s:\n{tail(self.log_path)}", pytrace=False)
                time.sleep(0.1)
            if self.process.poll() is None:
                return
            self._log.close()
        pytest.fail(f"cargo lambda watch exited {START_ATTEMPTS} times before serving; its last log:\n{tail(self.log_path)}", pytrace=False)

    def start(self, binary: str, env: dict[str, str]) -> LambdaFunction:
        function = LambdaFunction(self, binary, env)
        self.functions.append(function)
        return function

    def stop(self) -> None:
        for function in self.functions:
            function.stop()
        stop_process(self.process)
        self._log.close()


# Without a configured stack every fixture here gives None, and conftest fails each test with what to do.


@pytest.fixture(scope="module")
def runtime(stack: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime | None]:
    if stack is None:
        yield None
        return
    emulator = Runtime(tmp_path_factory.mktemp("lambda-runtime"))
    try:
        yield emulator
    finally:
        emulator.stop()
    # The emulator ran the workspace's binaries: it must not have compiled anything itself.
    log = emulator.log_path.read_text(errors="replace")
    assert "only_lambda_apis is active" in log and "Compiling" not in log, log


def sample(function: str, name: str) -> Path:
    path = EVENTS / function / name
    assert path.is_file(), path
    return path


def samples(function: str) -> list[str]:
    return sorted(p.name for p in (EVENTS / function).glob("*.json"))


def stack_var(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    assert value, f"{name} is not set: start the local stack (local/stack.sh up, source its stack.env)"
    return value


def base_env() -> dict[str, str]:
    """What every function gets on the local stack (local/runner/src/local_env.rs, registry-events' set)."""
    moto = stack_var("GOVSYNC_MOTO_URL").rstrip("/")
    governance = stack_var("GOVSYNC_GOVERNANCE_URL").rstrip("/")
    account = stack_var("GOVSYNC_ACCOUNT_ID", "123456789012")
    region = os.environ.get("AWS_REGION") or stack_var("AWS_DEFAULT_REGION", "us-east-1")
    registry = next(r for r in WIRING["registries"] if r["account"] == account)
    return {
        "GOVSYNC_MOTO_URL": moto,
        "GOVSYNC_REGISTRY_URL": stack_var("GOVSYNC_REGISTRY_URL"),
        "GOVSYNC_ACCOUNT_ID": account,
        "AWS_ENDPOINT_URL": moto,
        "AWS_ENDPOINT_URL_SAGEMAKER": stack_var("GOVSYNC_REGISTRY_URL"),
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        # govsync's own identity on the stack: the registry emulator records it as the writer role.
        "AWS_ACCESS_KEY_ID": stack_var("GOVSYNC_ACCESS_KEY_ID"),
        "AWS_SECRET_ACCESS_KEY": "testing",
        "GOVSYNC_GOVERNANCE_URL": governance,
        "GOVSYNC_GOVERNANCE_AUTH_MODE": "mcsp",
        "GOVSYNC_GOVERNANCE_TOKEN_URL": f"{governance}/api/2.0/services/local/apikeys/token",
        "GOVSYNC_GOVERNANCE_API_KEY_SECRET": "govsync/governance-api-key",
        "GOVSYNC_REGISTRY_MAP": json.dumps(
            [{"account": account, "region": region, "business_entity": registry["business_entity"]}]
        ),
        "GOVSYNC_GATE_MODE": "enforce",
        "GOVSYNC_WRITER_ROLE_ARNS": stack_var("GOVSYNC_ROLE_ARN"),
        "GOVSYNC_IDEMPOTENCY_TABLE": "govsync-idempotency",
        "GOVSYNC_LINKS_TABLE": "govsync-links",
        "GOVSYNC_CURSORS_TABLE": "govsync-cursors",
        "GOVSYNC_METRICS_NAMESPACE": "govsync",
    }


class PrivateQueues:
    """Queues made for this module (so no other test sees what the functions send), deleted after."""

    def __init__(self, sqs: Any) -> None:
        self.sqs = sqs
        self.urls: list[str] = []

    def make(self, stem: str, fifo: bool) -> str:
        name = f"rt-{stem}-{uuid.uuid4().hex[:12]}" + (".fifo" if fifo else "")
        attributes = {"VisibilityTimeout": "30"}
        if fifo:
            attributes.update({"FifoQueue": "true", "ContentBasedDeduplication": "true"})
        url = self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        self.urls.append(url)
        return url

    def bodies(self, url: str, wait_s: float = 0.0) -> list[str]:
        found: list[str] = []
        deadline = time.monotonic() + wait_s
        while True:
            messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            found.extend(message["Body"] for message in messages)
            if messages:
                entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
                self.sqs.delete_message_batch(QueueUrl=url, Entries=entries)
            if not messages and (found or time.monotonic() >= deadline):
                return found
            if not messages:
                time.sleep(0.2)

    def delete_all(self) -> None:
        for url in self.urls:
            try:
                self.sqs.delete_queue(QueueUrl=url)
            except Exception:  # noqa: BLE001 - best effort clean-up of a private queue
                pass


@pytest.fixture(scope="module")
def queues(stack: Any, sqs: Any) -> Iterator[PrivateQueues | None]:
    if stack is None:
        yield None
        return
    made = PrivateQueues(sqs)
    try:
        yield made
    finally:
        made.delete_all()


class Functions:
    """Starts each function once (on first use) with its template environment and private queues."""

    def __init__(self, runtime: Runtime, queues: PrivateQueues, cursors_table: str) -> None:
        self.runtime = runtime
        self.queues = queues
        self.cursors_table = cursors_table
        self.started: dict[str, LambdaFunction] = {}
        self.queue_of: dict[tuple[str, str], str] = {}

    def queue(self, function: str, role: str, fifo: bool = True) -> str:
        key = (function, role)
        if key not in self.queue_of:
            self.queue_of[key] = self.queues.make(f"{function}-{role}", fifo)
        return self.queue_of[key]

    def own_env(self, function: str) -> dict[str, str]:
        q = lambda role, fifo=True: self.queue(function, role, fifo)  # noqa: E731
        if function == "registry-events":
            return {"GOVSYNC_DLQ_URL": q("dlq")}
        if function == "approval-propagation":
            return {
                "GOVSYNC_DLQ_URL": q("dlq"),
                "GOVSYNC_DECOMMISSION_QUEUE_URL": q("decommission"),
                "GOVSYNC_NOTIFICATION_SENDER": "govsync@example.com",
            }
        if function == "governance-poller":
            # A private cursors table too: its first poll starts from no watermark, and moves no one else's.
            return {"GOVSYNC_GOVERNANCE_EVENTS_QUEUE_URL": q("governance-events"), "GOVSYNC_CURSORS_TABLE": self.cursors_table}
        if function == "governance-webhook":
            return {
                "GOVSYNC_WEBHOOK_SECRETS_SECRET": "govsync/webhook-signing-secrets",
                "GOVSYNC_GOVERNANCE_EVENTS_QUEUE_URL": q("governance-events"),
            }
        if function == "decommission":
            return {"GOVSYNC_DLQ_URL": q("dlq"), "GOVSYNC_DECOMMISSION_NOTE_FIELD": "MRG-Model:Decommission Note"}
        if function == "metrics-relay":
            return {
                "GOVSYNC_DLQ_URL": q("dlq", False),
                "GOVSYNC_METRIC_BREACH_STATUS": "Under Review",
                "GOVSYNC_METRIC_AMBER_MARGIN": "0.05",
            }
        if function == "reconciler":
            # Its own registry (a region no other test or EventBridge rule uses) and checkpoints: a
            # reconciliation repairs every drift in its registries, so it must see only this module's.
            registry_map = [{"account": stack_var("GOVSYNC_ACCOUNT_ID", "123456789012"), "region": RECONCILE_REGION, "business_entity": "Reconciled"}]
            return {
                "GOVSYNC_REGISTRY_MAP": json.dumps(registry_map),
                "GOVSYNC_CURSORS_TABLE": self.cursors_table,
                "GOVSYNC_DECOMMISSION_QUEUE_URL": q("decommission"),
                "GOVSYNC_RECONCILE_CONCURRENCY": "16",
                "GOVSYNC_RECONCILE_GROUP_CONCURRENCY": "8",
                "GOVSYNC_RECONCILE_DEADLINE_MARGIN_SECONDS": "60",
                # The template's: batch summaries from the registry emulator, a 24th described in full.
                "GOVSYNC_RECONCILE_DEEP_SLICES": "24",
                "GOVSYNC_RECONCILE_REGISTRY_CONCURRENCY": "10",
                "GOVSYNC_RECONCILE_DEEP_DESCRIBES_PER_SECOND": "5",
            }
        if function == "model-link":
            # The stack's registry with its Studio domain and reviewer profile (local/stack.sh).
            account = stack_var("GOVSYNC_ACCOUNT_ID", "123456789012")
            region = os.environ.get("AWS_REGION") or stack_var("AWS_DEFAULT_REGION", "us-east-1")
            registry = next(r for r in WIRING["registries"] if r["account"] == account)
            registry_map = [{
                "account": account, "region": region, "business_entity": registry["business_entity"],
                "studio_domain_id": "d-local000001", "studio_user_profile": "governance-reviewer",
            }]  # fmt: skip
            return {"GOVSYNC_MODEL_LINK_KEYS_SECRET": "govsync/model-link-keys", "GOVSYNC_REGISTRY_MAP": json.dumps(registry_map)}
        raise AssertionError(f"unknown function {function}")

    def __getitem__(self, function: str) -> LambdaFunction:
        if function not in self.started:
            env = base_env() | self.own_env(function)
            self.started[function] = self.runtime.start(function, env)
        return self.started[function]


@pytest.fixture(scope="module")
def cursors_table(stack: Any) -> Iterator[str | None]:
    from conftest import _client

    if stack is None:
        yield None
        return
    dynamodb = _client("dynamodb", stack.moto_url, stack.region)
    name = f"rt-cursors-{uuid.uuid4().hex[:12]}"
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    try:
        yield name
    finally:
        dynamodb.delete_table(TableName=name)


@pytest.fixture(scope="module")
def functions(runtime: Runtime | None, queues: PrivateQueues | None, cursors_table: str | None) -> Functions | None:
    if runtime is None or queues is None or cursors_table is None:
        return None
    return Functions(runtime, queues, cursors_table)




# ---------------------------------------------------------------------------------------------------
# The stack state samples need: governance objects (OpenPages v2 on the governance emulator, basic
# auth as its admin) and registry resources (boto3 on the registry emulator, as a data scientist).


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
    def __init__(self, url: str) -> None:
        self.api = url.rstrip("/") + "/opgrc/api/v2"
        self.auth = "Basic " + base64.b64encode(b"admin:admin").decode()

    def call(self, method: str, path: str, body: Any = None) -> Any:
        import urllib.request

        request = urllib.request.Request(
            self.api + path,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"content-type": "application/json", "authorization": self.auth},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read() or b"null")

    def create(self, type_id: str, name: str, parent: str | None = None, **fields: str) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name, "type_definition_id": type_id}
        if parent:
            body["primary_parent_id"] = parent
        if fields:
            body["fields"] = [{"name": key, "value": field_value(key, value)} for key, value in fields.items()]
        return self.call("POST", "/contents", body)

    def get(self, object_id: str) -> dict[str, Any]:
        return self.call("GET", f"/contents/{object_id}")

    def children(self, object_id: str) -> list[dict[str, Any]]:
        links = self.call("GET", f"/contents/{object_id}/associations")["associations"]
        return [link for link in links if link["type"] == "child"]

    def fault_calls_to(self, object_id: str, status: int, count: int) -> ScopedFaults:
        return ScopedFaults(self, object_id, status, count)

    def models_with_external_id(self, external_id: str) -> list[str]:
        quoted = external_id.replace("'", "''")
        rows = self.call(
            "POST",
            "/query",
            {"statement": f"SELECT [Resource ID] FROM [Model] WHERE [Integration:External ID] = '{quoted}'"},
        )["rows"]
        return [str(field["value"]) for row in rows for field in row["fields"] if field["name"] == "Resource ID"]


FAULTS = 40


class ScopedFaults:
    """Faults the governance emulator serves to `GET /contents/<id>` calls only; `drain` uses up what the
    function did not (so no later call is faulted)."""

    def __init__(self, governance: Governance, object_id: str, status: int, count: int) -> None:
        self.governance = governance
        self.object_id = object_id
        self.status = status
        admin = governance.api.removesuffix("/opgrc/api/v2") + "/_emulator/faults"
        self.admin = admin
        spec = {"status": status, "count": count, "method": "GET", "path_prefix": f"/contents/{object_id}"}
        import urllib.request

        request = urllib.request.Request(admin, data=json.dumps(spec).encode(), method="POST", headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=10):
            pass

    def drain(self) -> None:
        import urllib.error

        for _ in range(FAULTS + 1):
            try:
                self.governance.get(self.object_id)
                return
            except urllib.error.HTTPError as error:
                if error.code != self.status:
                    raise


def field(obj: dict[str, Any], name: str) -> Any:
    value = next((f["value"] for f in obj["fields"] if f["name"] == name), None)
    return value.get("name") if isinstance(value, dict) else value


@pytest.fixture(scope="module")
def governance(stack: Any) -> Governance | None:
    if stack is None:
        return None
    return Governance(stack_var("GOVSYNC_GOVERNANCE_URL"))


SAMPLE_GROUP = "fraud-detection-4711"


@dataclass
class Scene:
    """An approved use case in governance and, in the registry, its group holding versions 1 and 2
    (the samples speak of `fraud-detection-4711/2`; here the group has a name of its own)."""

    suffix: str
    entity: str
    use_case: dict[str, Any]
    group: str
    package_arns: list[str]
    recipient: str

    def rename(self, text: str) -> str:
        return text.replace(SAMPLE_GROUP, self.group)


@pytest.fixture(scope="module")
def scene(stack: Any, governance: Governance, make_sagemaker: Any) -> Scene | None:
    if stack is None:
        return None
    suffix = uuid.uuid4().hex[:10]
    registry = next(r for r in WIRING["registries"] if r["account"] == stack.account_id)
    entity = governance.create("SOXBusEntity", registry["business_entity"])
    recipient = f"team-{suffix}@example.com"
    use_case = governance.create(
        "ModelUseCase",
        f"rt {suffix} fraud detection",
        entity["id"],
        **{
            "MRG-AIFacts-ModelUseCase:Status": "Approved for Development",
            "MRG-AIFacts-ModelUseCase:Risk Level": "High",
            "MRG-ModelUseCase:Data Science Team Email": recipient,
        },
    )
    person = make_sagemaker(access_key_id="testing")
    group = f"rt-{suffix}-fraud-detection"
    person.create_model_package_group(
        ModelPackageGroupName=group, Tags=[{"Key": "govsync:use-case-id", "Value": use_case["id"]}]
    )
    arns = []
    for version in (1, 2):
        created = person.create_model_package(
            ModelPackageGroupName=group,
            ModelPackageDescription=f"version {version}",
            InferenceSpecification={
                "Containers": [
                    {
                        "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                        "ModelDataUrl": f"s3://ml-artifacts/{group}/{version}/model.tar.gz",
                    }
                ],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        )
        arns.append(created["ModelPackageArn"])
    assert arns[1].endswith(f"/{group}/2"), arns
    return Scene(suffix, entity["id"], use_case, group, arns, recipient)


SAMPLE_GOVERNANCE_IDS = ("4711", "5121")


def unused_id(governance: Governance, object_id: str) -> str:
    """`object_id` when no governance object has it (the samples' ids 4711 and 5121 on a fresh stack),
    else an id none has: a busy stack may have counted up to a sample's id (ids start at 1001), and a
    sample sent as it is must change no other test's objects."""
    import urllib.error

    for candidate in (object_id, f"9{object_id}9999"):
        try:
            governance.get(candidate)
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return candidate
            raise
    pytest.fail(f"governance holds objects {object_id} and 9{object_id}9999", pytrace=False)


def as_is(function: str, name: str, governance: Governance) -> Any:
    """The sample as it is (its governance ids swapped only if this stack holds objects with them)."""
    original = sample(function, name).read_text()
    text = original
    for object_id in SAMPLE_GOVERNANCE_IDS:
        text = text.replace(f'\\"{object_id}\\"', f'\\"{unused_id(governance, object_id)}\\"')
    return sample(function, name) if text == original else json.loads(text)


def fresh_ids(event: dict[str, Any]) -> dict[str, Any]:
    """An EventBridge envelope with new event ids, so a re-run on the same stack is not a duplicate."""
    event = json.loads(json.dumps(event))
    event["id"] = str(uuid.uuid4())
    if isinstance(event.get("detail"), dict) and "eventID" in event["detail"]:
        event["detail"]["eventID"] = str(uuid.uuid4())
    return event


def sqs_batch(bodies: list[str], queue: str) -> dict[str, Any]:
    """An SQS event as Lambda's event source mapping hands a FIFO queue's batch to a function."""
    now = str(int(time.time() * 1000))
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": f"AQEB{uuid.uuid4().hex}==",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": now,
                    "SequenceNumber": "18880001234567890123",
                    "MessageGroupId": queue.removesuffix(".fifo"),
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "MessageDeduplicationId": uuid.uuid4().hex,
                    "ApproximateFirstReceiveTimestamp": now,
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 - SQS's own checksum
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{queue}",
                "awsRegion": "us-east-1",
            }
            for body in bodies
        ]
    }


def batch_failures(answer: Any) -> list[str]:
    assert isinstance(answer, dict) and set(answer) == {"batchItemFailures"}, answer
    return [failure["itemIdentifier"] for failure in answer["batchItemFailures"]]


def wait_until(check: Any, what: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not seen within {timeout} s", pytrace=False)
        time.sleep(0.2)


# ---------------------------------------------------------------------------------------------------
# registry-events (SQS batches from registry-events.fifo; partial batch responses)

REGISTRY_QUEUE = "registry-events.fifo"


@pytest.fixture(scope="module")
def registered(functions: Functions, scene: Scene, governance: Governance) -> str | None:
    """The registry-events SQS batch sample, run on the scene's group: version 2 is in governance.

    Returns the governance Model's id."""
    if functions is None:
        return None
    batch = json.loads(sample("registry-events", "sqs-event-batch.json").read_text())
    for record in batch["Records"]:
        record["body"] = json.dumps(fresh_ids(json.loads(scene.rename(record["body"]))))
    answer = functions["registry-events"].invoke(batch, "sqs-event-batch.json")
    assert batch_failures(answer) == [], functions["registry-events"].logs()
    models = governance.models_with_external_id(scene.package_arns[1])
    assert len(models) == 1, (models, functions["registry-events"].logs())
    return models[0]


def test_registry_events_batch_sample_registers_the_version_in_governance_and_writes_back(
    registered: str, scene: Scene, governance: Governance, make_sagemaker: Any
) -> None:
    model = governance.get(registered)
    assert field(model, "MRG-Model:Model Version") == "2"
    model_group = governance.get(model["primary_parent_id"])
    assert str(model_group["primary_parent_id"]) == scene.use_case["id"]
    described = make_sagemaker(access_key_id="testing").describe_model_package(ModelPackageName=scene.package_arns[1])
    metadata = described.get("CustomerMetadataProperties", {})
    ids = dict(word.split("=", 1) for word in metadata.get("govsync:links", "").split(" ")[:3] if "=" in word)
    assert ids.get("model") == registered, metadata
    assert ids.get("use-case") == scene.use_case["id"], metadata


REGISTRY_SQS_SAMPLES = ["sqs-event-batch.json", "sqs-record-model-package-state-change.json"]
REGISTRY_BARE_SAMPLES = [name for name in samples("registry-events") if name not in REGISTRY_SQS_SAMPLES]


def test_registry_events_every_sample_is_answered_as_a_partial_batch_response(
    functions: Functions, scene: Scene, queues: PrivateQueues, registered: str, governance: Governance, make_sagemaker: Any
) -> None:
    """Each bare EventBridge sample delivered as SQS delivers it (one record), and the single-record sample
    in a batch of one: every answer is a partial batch response."""
    assert set(REGISTRY_SQS_SAMPLES) <= set(samples("registry-events"))
    answers = {}
    for name in REGISTRY_BARE_SAMPLES:
        body = json.dumps(fresh_ids(json.loads(scene.rename(sample("registry-events", name).read_text()))))
        event = sqs_batch([body], REGISTRY_QUEUE)
        answers[name] = (event["Records"][0]["messageId"], functions["registry-events"].invoke(event, name))
    record = json.loads(scene.rename(sample("registry-events", "sqs-record-model-package-state-change.json").read_text()))
    record["body"] = json.dumps(fresh_ids(json.loads(record["body"])))
    answers["sqs-record"] = (record["messageId"], functions["registry-events"].invoke({"Records": [record]}, "sqs-record"))
    failed = {name: batch_failures(answer) for name, (_, answer) in answers.items()}
    assert failed == {name: [] for name in answers}, failed
    # Nothing valid was quarantined.
    dlq = functions.queue("registry-events", "dlq")
    assert queues.bodies(dlq) == []

    # An undecodable message and a record naming no package from an account outside the registry map are
    # quarantined with their reasons (not retried); an event about a package no mapped registry owns has
    # no effect and is skipped with its reason, not dead-lettered (design §4). The answer names no failure.
    unmapped_group = fresh_ids(
        json.loads(scene.rename(sample("registry-events", "cloudtrail-create-model-package-group.json").read_text()))
    )
    unmapped_group["account"] = "999999999999"
    unmapped_group["detail"]["recipientAccountId"] = "999999999999"
    foreign_package = fresh_ids(json.loads(scene.rename(sample("registry-events", "cloudtrail-create-model-package.json").read_text())))
    foreign_package["account"] = "999999999999"
    foreign_package["detail"]["recipientAccountId"] = "999999999999"
    foreign_package["detail"]["responseElements"]["modelPackageArn"] = foreign_package["detail"]["responseElements"][
        "modelPackageArn"
    ].replace("123456789012", "999999999999")
    event = sqs_batch(["{not json", json.dumps(unmapped_group), json.dumps(foreign_package)], REGISTRY_QUEUE)
    answer = functions["registry-events"].invoke(event, "undecodable, unmapped and foreign")
    assert batch_failures(answer) == []
    quarantined = queues.bodies(dlq, wait_s=5)
    assert sorted(quarantined) == sorted(["{not json", json.dumps(unmapped_group)]), quarantined

    # A message that cannot be handled now (governance answers 503 for its use case, and keeps doing so
    # through the client's retries) is reported back by its message id, for SQS to deliver again; the
    # messages before it in the batch are done.
    use_case = governance.create(
        "ModelUseCase",
        f"rt {scene.suffix} unavailable",
        scene.entity,
        **{"MRG-AIFacts-ModelUseCase:Status": "Approved for Development", "MRG-AIFacts-ModelUseCase:Risk Level": "Low"},
    )
    group = f"rt-{scene.suffix}-unavailable"
    person = make_sagemaker(access_key_id="testing")
    person.create_model_package_group(ModelPackageGroupName=group, Tags=[{"Key": "govsync:use-case-id", "Value": use_case["id"]}])
    for _ in (1, 2):
        person.create_model_package(
            ModelPackageGroupName=group,
            InferenceSpecification={
                "Containers": [{"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        )
    created = sample("registry-events", "cloudtrail-create-model-package.json").read_text()
    fine = json.dumps(fresh_ids(json.loads(scene.rename(created))))
    failing = json.dumps(fresh_ids(json.loads(created.replace(SAMPLE_GROUP, group))))
    faults = governance.fault_calls_to(use_case["id"], status=503, count=FAULTS)
    try:
        event = sqs_batch([fine, failing], REGISTRY_QUEUE)
        answer = functions["registry-events"].invoke(event, "governance unavailable for one use case")
        assert batch_failures(answer) == [event["Records"][1]["messageId"]], functions["registry-events"].logs()
    finally:
        faults.drain()
    assert queues.bodies(dlq) == []


# ---------------------------------------------------------------------------------------------------
# governance-webhook (API Gateway HTTP API v2 requests; the answer is the HTTP response)

# What each sample is answered once re-signed now (events/governance-webhook/README.md).
WEBHOOK_ANSWERS = {
    "valid-object-updated.json": ("resign", 0, 202, "accepted"),
    "valid-object-created-base64.json": ("resign", 0, 202, "accepted"),
    "unhandled-event-type.json": ("resign", 0, 202, "skipped"),
    "bad-signature.json": ("timestamp-now", 0, 401, "invalid_signature"),
    "missing-signature.json": ("timestamp-now", 0, 401, "missing_signature_header"),
    "stale-timestamp.json": ("resign", -600, 401, "stale_timestamp"),
    "malformed-json.json": ("resign", 0, 400, "malformed_json"),
    "missing-object-id.json": ("resign", 0, 400, "missing_object_id"),
}


def webhook_body(request: dict[str, Any]) -> bytes:
    body = request.get("body") or ""
    return base64.b64decode(body) if request.get("isBase64Encoded") else body.encode()


def prepared_webhook(name: str, delivery_id: str) -> dict[str, Any]:
    """The sample with a new delivery id, signed now with the stack's current secret (as
    functions/governance-webhook/tests/events.rs does), or only its timestamp set to now."""
    how, offset, _, _ = WEBHOOK_ANSWERS[name]
    request = json.loads(sample("governance-webhook", name).read_text())
    headers = request["headers"]
    timestamp = str(int(time.time()) + offset)
    headers["webhook-timestamp"] = timestamp
    if "webhook-id" in headers:
        headers["webhook-id"] = delivery_id
    if how == "resign":
        key = base64.b64decode(WEBHOOK_SECRETS["current"].removeprefix("whsec_"))
        tag = hmac.new(key, f"{delivery_id}.{timestamp}.".encode() + webhook_body(request), hashlib.sha256)
        headers["webhook-signature"] = "v1," + base64.b64encode(tag.digest()).decode()
    return request


def test_governance_webhook_answers_every_sample_and_queues_only_accepted_deliveries(
    functions: Functions, queues: PrivateQueues
) -> None:
    assert sorted(WEBHOOK_ANSWERS) == samples("governance-webhook"), "a webhook sample without an expected answer"
    webhook = functions["governance-webhook"]
    accepted = {}
    for name, (_, _, status, code) in WEBHOOK_ANSWERS.items():
        delivery_id = f"msg_{uuid.uuid4().hex}"
        answer = webhook.invoke(prepared_webhook(name, delivery_id), name)
        assert answer["statusCode"] == status, (name, answer)
        body = json.loads(answer["body"])
        assert code in (body.get("status"), body.get("error")), (name, body)
        if code == "accepted":
            request = json.loads(sample("governance-webhook", name).read_text())
            accepted[delivery_id] = json.loads(webhook_body(request))["object"]["id"]
            # The same delivery again (a retry after a lost 202) is acknowledged and not queued again.
            again = webhook.invoke(prepared_webhook(name, delivery_id), f"{name} repeated")
            assert again["statusCode"] == 200 and json.loads(again["body"])["status"] == "duplicate", again

    queued = [json.loads(body) for body in queues.bodies(functions.queue("governance-webhook", "governance-events"), 5)]
    assert sorted((event["delivery_id"], event["object_id"]) for event in queued) == sorted(accepted.items()), queued
    assert all(event["schema"] == "govsync.governance-event/v1" and event["source"] == "webhook" for event in queued)


# ---------------------------------------------------------------------------------------------------
# model-link (API Gateway HTTP API requests for GET /models/link)

# The local stack's model link key (local/wiring.json), and each sample's answer as it is.
MODEL_LINK_KEY = "local-model-link-key-0123456789abcdef0123456789abcdef"
MODEL_LINK_ANSWERS = {
    "valid-link.json": 410,
    "altered-link.json": 403,
    "other-deployment.json": 403,
    "foreign-account.json": 403,
    "missing-signature.json": 403,
    "post-method.json": 403,
}


def model_link_query(package_arn: str) -> str:
    """The link's query as govsync signs it (govsync_core::model_link), for `package_arn`."""
    from urllib.parse import quote

    key_id = hashlib.sha256(b"govsync-model-link-key-id\n" + MODEL_LINK_KEY.encode()).hexdigest()[:16]
    mac = hmac.new(MODEL_LINK_KEY.encode(), f"govsync-model-link\nv1\n{key_id}\n{package_arn}".encode(), hashlib.sha256)
    signature = base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")
    return f"v=1&package={quote(package_arn, safe='-_.~')}&kid={key_id}&sig={signature}"


def test_model_link_answers_every_sample_and_opens_studio_for_a_synced_version(
    functions: Functions, scene: Scene, registered: str
) -> None:
    assert sorted(MODEL_LINK_ANSWERS) == samples("model-link"), "a model-link sample without an expected answer"
    link = functions["model-link"]
    for name, status in MODEL_LINK_ANSWERS.items():
        answer = link.invoke(sample("model-link", name), name)
        assert answer["statusCode"] == status, (name, answer)
        assert answer["headers"]["cache-control"] == "no-store", answer
    request = json.loads(sample("model-link", "valid-link.json").read_text())
    request["rawQueryString"] = model_link_query(scene.package_arns[1])
    answer = link.invoke(request, "the link of the synced version 2")
    assert answer["statusCode"] == 302, (answer, link.logs())
    location = answer["headers"]["location"]
    import urllib.request

    with urllib.request.urlopen(location, timeout=10) as page:
        text = page.read().decode()
    assert f"studio::models/registered-models/{scene.group}/versions/2" in text, text


# ---------------------------------------------------------------------------------------------------
# approval-propagation (SQS batches from governance-events.fifo)


def moto_emails_to(recipient: str) -> list[dict[str, Any]]:
    import urllib.request

    for _ in range(10):
        try:
            # The dump holds every service's state: after the whole cargo suite has used this moto it can take
            # well over 10 s to write, so it gets a minute.
            with urllib.request.urlopen(f"{stack_var('GOVSYNC_MOTO_URL')}/moto-api/data.json", timeout=60) as answer:
                data = json.loads(answer.read())
            break
        except (ValueError, TimeoutError):  # a dump that failed while others wrote, or timed out: try again
            time.sleep(0.2)
    else:
        pytest.fail("moto's /moto-api/data.json never answered JSON", pytrace=False)
    messages = data.get("ses", {}).get("Message", [])
    return [m for m in messages if recipient in (m.get("destinations", {}).get("ToAddresses") or [])]


def governance_event_batch(name: str, object_id: str) -> dict[str, Any]:
    """A governance-events sample about `object_id`, with fresh delivery ids."""
    batch = json.loads(sample("approval-propagation", name).read_text())
    for record in batch["Records"]:
        body = json.loads(record["body"])
        body["object_id"] = object_id
        body["delivery_id"] = f"msg_{uuid.uuid4().hex}"
        record["body"] = json.dumps(body)
        record["messageId"] = str(uuid.uuid4())
        record["attributes"]["MessageGroupId"] = object_id
    return batch


def test_approval_propagation_samples_are_answered_and_an_approved_use_case_is_provisioned(
    functions: Functions, queues: PrivateQueues, scene: Scene, governance: Governance, make_sagemaker: Any
) -> None:
    approval = functions["approval-propagation"]
    # As they are, the samples speak of objects this stack does not hold (4711, 5121): answered, nothing failed.
    for name in samples("approval-propagation"):
        answer = approval.invoke(as_is("approval-propagation", name, governance), name)
        assert batch_failures(answer) == [], (name, approval.logs())

    # F1: the use-case-approved sample, about a use case approved on this stack, provisions its group and
    # sends one email to its team.
    recipient = f"team2-{scene.suffix}@example.com"
    use_case = governance.create(
        "ModelUseCase",
        f"rt {scene.suffix} credit risk",
        scene.entity,
        **{
            "MRG-AIFacts-ModelUseCase:Status": "Approved for Development",
            "MRG-AIFacts-ModelUseCase:Risk Level": "Medium",
            "MRG-ModelUseCase:Data Science Team Email": recipient,
        },
    )
    event = governance_event_batch("sqs-record-use-case-approved.json", use_case["id"])
    assert batch_failures(approval.invoke(event, "use case approved")) == [], approval.logs()
    group = f"rt-{scene.suffix}-credit-risk-{use_case['id']}"
    person = make_sagemaker(access_key_id="testing")
    groups = person.list_model_package_groups(NameContains=f"rt-{scene.suffix}-credit-risk")["ModelPackageGroupSummaryList"]
    assert [g["ModelPackageGroupName"] for g in groups] == [group], (groups, approval.logs())
    emails = wait_until(lambda: moto_emails_to(recipient), f"the email to {recipient}")
    assert len(emails) == 1 and group in emails[0]["subject"], emails


def test_approval_propagation_model_status_sample_reaches_the_package(
    functions: Functions, scene: Scene, governance: Governance, registered: str, make_sagemaker: Any
) -> None:
    """F4: the model-status-changed sample, about the model registry-events made for version 2, after that
    model is approved for deployment in governance."""
    governance.call("PUT", f"/contents/{registered}", {"fields": [{"name": "MRG-Model:Status", "value": {"name": "Approved for Deployment"}}]})
    event = governance_event_batch("sqs-record-model-status-changed.json", registered)
    approval = functions["approval-propagation"]
    assert batch_failures(approval.invoke(event, "model approved")) == [], approval.logs()
    described = make_sagemaker(access_key_id="testing").describe_model_package(ModelPackageName=scene.package_arns[1])
    assert described["ModelApprovalStatus"] == "Approved", described
    assert described["ModelLifeCycle"]["Stage"] == "PreProduction", described


# ---------------------------------------------------------------------------------------------------
# governance-poller (EventBridge Scheduler invocations; private cursors table and queue)


def test_governance_poller_samples_poll_governance_and_enqueue_each_change_once(
    functions: Functions, queues: PrivateQueues, scene: Scene, governance: Governance
) -> None:
    from conftest import _client

    assert samples("governance-poller") == ["scheduler-event-with-input.json", "scheduler-event.json"]
    poller = functions["governance-poller"]
    queue = functions.queue("governance-poller", "governance-events")
    changed = governance.create("ModelUseCase", f"rt {scene.suffix} polled", scene.entity)
    # Earlier polls left their watermarks at this change (in this module's own cursors table), so the
    # poll reads only the last minute (its overlap), not the whole inventory of a busy stack.
    watermark = field(changed, "Last Modification Date")
    dynamodb = _client("dynamodb", stack_var("GOVSYNC_MOTO_URL"), os.environ.get("AWS_REGION") or "us-east-1")
    for type_id in ("Model", "ModelUseCase"):
        dynamodb.put_item(
            TableName=functions.cursors_table,
            Item={"id": {"S": f"governance-poller/{type_id}"}, "watermark": {"S": watermark}},
        )

    first = poller.invoke(sample("governance-poller", "scheduler-event.json"), "scheduler-event.json")
    assert set(first["types"]) == {"Model", "ModelUseCase"}, first
    assert first["types"]["ModelUseCase"]["from"].startswith(watermark.removesuffix("Z")), first
    assert first["enqueued"] == sum(t["enqueued"] for t in first["types"].values()) >= 1, first
    events = [json.loads(body) for body in queues.bodies(queue, 5)]
    assert len(events) == first["enqueued"], (first, len(events))
    mine = [e for e in events if e["object_id"] == changed["id"]]
    assert len(mine) == 1 and mine[0]["source"] == "poller" and mine[0]["object_type"] == "ModelUseCase", mine

    # The next run starts from the saved watermark (less the overlap it re-reads on purpose): a change it
    # sees again keeps its delivery id, which SQS deduplicates.
    second = poller.invoke(sample("governance-poller", "scheduler-event-with-input.json"), "scheduler-event-with-input.json")
    assert second["types"]["ModelUseCase"]["from"] == first["types"]["ModelUseCase"]["watermark"], (first, second)
    again = [json.loads(body) for body in queues.bodies(queue)]
    assert {e["delivery_id"] for e in again if e["object_id"] == changed["id"]} <= {mine[0]["delivery_id"]}, again


# ---------------------------------------------------------------------------------------------------
# metrics-relay (EventBridge events, asynchronous invocations)

METRICS_AS_IS = {
    "govsync-clarify-bias-drift-violations.json": "unknown_model",
    "govsync-model-metric-recorded.json": "unknown_model",
    "govsync-model-metric-without-thresholds.json": "unknown_model",
    "govsync-model-monitor-model-quality-violations.json": "unknown_model",
    "model-monitor-processing-job-completed-with-violations.json": "unlinked_schedule",
}


def test_metrics_relay_samples_of_unknown_models_are_quarantined_with_their_reason(
    functions: Functions, queues: PrivateQueues
) -> None:
    assert sorted(METRICS_AS_IS) == samples("metrics-relay"), "a metrics-relay sample without an expected answer"
    relay = functions["metrics-relay"]
    for name, code in METRICS_AS_IS.items():
        answer = relay.invoke(sample("metrics-relay", name), name)
        assert answer == {"outcome": "quarantined", "code": code}, (name, answer)
    quarantined = queues.bodies(functions.queue("metrics-relay", "dlq", fifo=False), 5)
    assert len(quarantined) == len(METRICS_AS_IS), quarantined


def test_metrics_relay_metric_sample_lands_in_governance_for_a_synced_version(
    functions: Functions, scene: Scene, governance: Governance, registered: str
) -> None:
    event = fresh_ids(json.loads(scene.rename(sample("metrics-relay", "govsync-model-metric-recorded.json").read_text())))
    relay = functions["metrics-relay"]
    answer = relay.invoke(event, "metric recorded for version 2")
    # AUC 0.78 under its lower threshold 0.8: a Red value, and the model moved to review.
    assert answer == {"outcome": "recorded", "recorded": 1, "duplicates": 0, "red": 1, "status_moved": True}, answer
    metrics = [governance.get(child["id"]) for child in governance.children(registered)]
    metric = next(m for m in metrics if m["type_definition_id"] == "Metric" and m["name"] == "AUC")
    assert field(metric, "MRG-Metric-Shared:Breach Status") == "Red", metric
    values = [governance.get(child["id"]) for child in governance.children(metric["id"])]
    assert [field(v, "MRG-MetricVal:Value") for v in values] == [0.78], values
    assert field(governance.get(registered), "MRG-Model:Status") == "Under Review"


# ---------------------------------------------------------------------------------------------------
# decommission (SQS batches from decommission.fifo)


def test_decommission_samples_are_answered_and_a_deleted_version_is_decommissioned_in_governance(
    functions: Functions, scene: Scene, governance: Governance, registered: str, make_sagemaker: Any
) -> None:
    decommission = functions["decommission"]
    # As they are, the samples name objects this stack does not hold: answered, nothing failed.
    request = sample("decommission", "decommission-request-use-case.json").read_text()
    unchanged = {
        "sqs-batch-cloudtrail-deletions.json": sample("decommission", "sqs-batch-cloudtrail-deletions.json"),
        "sqs-batch-governance-decommission-requests.json": as_is(
            "decommission", "sqs-batch-governance-decommission-requests.json", governance
        ),
        "decommission-request-use-case.json": sqs_batch(
            [json.dumps(json.loads(request) | {"governance_id": unused_id(governance, "4711")})], "decommission.fifo"
        ),
    }
    assert sorted(unchanged) == samples("decommission")
    for name, event in unchanged.items():
        assert batch_failures(decommission.invoke(event, name)) == [], (name, decommission.logs())

    # F5: version 2 deleted in SageMaker; the CloudTrail deletions sample, about this group.
    person = make_sagemaker(access_key_id="testing")
    person.delete_model_package(ModelPackageName=scene.package_arns[1])
    batch = json.loads(scene.rename(sample("decommission", "sqs-batch-cloudtrail-deletions.json").read_text()))
    for record in batch["Records"]:
        record["body"] = json.dumps(fresh_ids(json.loads(record["body"])))
    assert batch_failures(decommission.invoke(batch, "version 2 deleted")) == [], decommission.logs()
    model = governance.get(registered)
    assert field(model, "MRG-Model:Status") == "Decommissioned", model
    assert "DeleteModelPackage" in field(model, "MRG-Model:Decommission Note"), model

    # F6: the use case decommissioned in governance; the use-case request sample, about it, archives the
    # group's remaining version (never deleted).
    governance.call(
        "PUT",
        f"/contents/{scene.use_case['id']}",
        {"fields": [{"name": "MRG-AIFacts-ModelUseCase:Status", "value": {"name": "Decommissioned"}}]},
    )
    body = json.loads(request)
    body["governance_id"] = scene.use_case["id"]
    body["requested_at"] = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    answer = decommission.invoke(sqs_batch([json.dumps(body)], "decommission.fifo"), "use case retired")
    assert batch_failures(answer) == [], decommission.logs()
    archived = person.describe_model_package(ModelPackageName=scene.package_arns[0])
    assert archived["ModelLifeCycle"]["Stage"] == "Archived", archived
    assert archived["ModelLifeCycle"]["StageStatus"] == "Retired", archived
    assert archived["ModelApprovalStatus"] == "Rejected", archived


# ---------------------------------------------------------------------------------------------------
# reconciler (EventBridge Scheduler and on-demand invocations; the answer is the drift report)

RECONCILE_REGION = "ap-south-2"
REPORT_COUNTS = {
    "registries", "groups", "packages", "drifts", "repaired", "enqueued", "failed", "needs_attention",
    # Issue 17: how the packages were read (batch summaries, fast-pass describes, the deep slice).
    "summarized", "described_fast", "described_deep",
}


def test_reconciler_samples_report_a_missed_version_dry_then_repair_it(
    functions: Functions, scene: Scene, governance: Governance, make_sagemaker: Any
) -> None:
    """A version registered while its events were lost (none is delivered here; its region has no rule):
    the dry-run sample reports it, the scheduled repair sample syncs it into governance."""
    use_case = governance.create(
        "ModelUseCase",
        f"rt {scene.suffix} missed",
        scene.entity,
        **{"MRG-AIFacts-ModelUseCase:Status": "Approved for Development", "MRG-AIFacts-ModelUseCase:Risk Level": "Low"},
    )
    group = f"rt-{scene.suffix}-missed"
    person = make_sagemaker(region=RECONCILE_REGION, access_key_id="testing")
    person.create_model_package_group(ModelPackageGroupName=group, Tags=[{"Key": "govsync:use-case-id", "Value": use_case["id"]}])
    arn = person.create_model_package(
        ModelPackageGroupName=group,
        InferenceSpecification={
            "Containers": [{"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]

    reconciler = functions["reconciler"]
    assert samples("reconciler") == ["on-demand-dry-run.json", "schedule-repair.json"]
    dry = reconciler.invoke(sample("reconciler", "on-demand-dry-run.json"), "on-demand-dry-run.json")
    assert governance.models_with_external_id(arn) == [], "the dry run changed governance"
    repair = reconciler.invoke(sample("reconciler", "schedule-repair.json"), "schedule-repair.json")
    assert len(governance.models_with_external_id(arn)) == 1, reconciler.logs()
    for report, dry_run in ((dry, True), (repair, False)):
        assert report["dry_run"] is dry_run, report
        assert report["complete"] is True and report["stopped_at"] is None, report
        assert set(report["counts"]) == REPORT_COUNTS and set(report["total"]) == REPORT_COUNTS, report
        assert report["counts"]["registries"] == 1 and report["counts"]["packages"] >= 1, report
        assert sum(report["by_kind"].values()) == report["counts"]["drifts"] >= 1, report
    assert dry["counts"]["repaired"] == 0 and dry["counts"]["enqueued"] == 0, dry
    assert repair["counts"]["repaired"] >= 1, repair
    # The template's two passes ran on the emulator's BatchDescribeModelPackage: every registered version
    # read once, the missed one described by the fast pass, the deep slice one of 24.
    for report in (dry, repair):
        counts = report["counts"]
        assert counts["summarized"] + counts["described_fast"] + counts["described_deep"] == counts["packages"], report
        assert counts["described_fast"] >= 1 and report["deep"]["slices"] == 24, report
        assert report["by_pass"]["fast"] >= 1, report

    # The report lists at most 200 drifts; on a busy stack this one may be among those left out.
    def drift_of(report: dict[str, Any]) -> dict[str, Any] | None:
        found = [d for d in report["drifts"] if d.get("package_arn") == arn]
        assert len(found) == 1 or (not found and report["drifts_left_out"] > 0), (arn, report)
        return found[0] if found else None

    if planned := drift_of(dry):
        assert planned["kind"] == "package_not_in_governance" and planned["outcome"]["status"] == "planned", planned
        assert planned["repair"]["action"] == "sync_package", planned
    if repaired := drift_of(repair):
        assert repaired["outcome"]["status"] == "repaired", repaired


def cold_start_log(functions: Functions, binary: str, extra: dict[str, str]) -> str:
    """What `binary` logs from process start until it reaches for a Runtime API that is not there (it then
    exits): the cold start alone, as Lambda's log controls shape it."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env |= base_env() | functions.own_env(binary)
    port = next(free_ports())
    env |= {"AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{port}", "NO_COLOR": "1"} | extra
    finished = subprocess.run(
        [str(TARGET / "debug" / binary)], env=env, capture_output=True, timeout=60, stdin=subprocess.DEVNULL
    )
    assert finished.returncode != 0, "with no Runtime API the function must end with an error"
    return finished.stdout.decode(errors="replace") + finished.stderr.decode(errors="replace")


def test_lambdas_application_log_level_wins_over_rust_log(functions: Functions) -> None:
    """The template's ApplicationLogLevel reaches the function as AWS_LAMBDA_LOG_LEVEL and decides, whatever
    RUST_LOG says; JSON lines when Lambda's log format is JSON."""
    quiet = cold_start_log(
        functions,
        "registry-events",
        {"AWS_LAMBDA_LOG_LEVEL": "ERROR", "RUST_LOG": "info", "AWS_LAMBDA_LOG_FORMAT": "JSON"},
    )
    assert "registry-events ready" not in quiet, quiet
    loud = cold_start_log(
        functions,
        "registry-events",
        {"AWS_LAMBDA_LOG_LEVEL": "DEBUG", "RUST_LOG": "error", "AWS_LAMBDA_LOG_FORMAT": "JSON"},
    )
    ready = [json.loads(line) for line in loud.splitlines() if "registry-events ready" in line]
    assert len(ready) == 1, loud
    assert ready[0]["level"] == "INFO"
    # Without Lambda's level, RUST_LOG decides.
    assert "registry-events ready" not in cold_start_log(functions, "registry-events", {"RUST_LOG": "warn"})
