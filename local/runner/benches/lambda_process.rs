//! The Lambda-process part of the performance budget (design.md §6), measured on the release
//! `registry-events` binary exactly as Lambda runs it: a fresh process talking to a Runtime API.
//!
//! - cold start: process start → its first `GET /runtime/invocation/next` (configuration read, the
//!   governance API key read from Secrets Manager, every client built), median of `GOVSYNC_BENCH_COLD_STARTS`
//!   (default 20) starts;
//! - the binary's size;
//! - peak RSS (`VmHWM`) of one process handling a replay of `GOVSYNC_BENCH_EVENTS` (default 10 000)
//!   registry events: the bench registers packages (`GOVSYNC_BENCH_PACKAGES`, default 1 000; each makes
//!   a state-change and a CloudTrail event) in a registry emulator of its own that keeps its events in
//!   memory, and replays those real events to the process as SQS records in batches of 10, in order,
//!   starting over once they are used up (the repeats are the redeliveries of at-least-once delivery).
//!   Governance, the tables and secrets are the local stack's.
//!
//! Run by hand against a running local stack, never in CI:
//! ```text
//! local/stack.sh up
//! infra/build.sh                      # or: cargo build --release --bin registry-events
//! cargo bench --workspace --bench lambda_process
//! ```
//! `GOVSYNC_BOOTSTRAP` picks the binary (default: cargo-lambda's `bootstrap`, else the release binary).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::SqsBatchResponse;
use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use govsync_local_runner::local_env;
use serde_json::{Value, json};
use tokio::sync::{Mutex, mpsc, oneshot};

type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const RUNTIME_PREFIX: &str = "/2018-06-01/runtime";
const FUNCTION_TIMEOUT: Duration = Duration::from_secs(60);
const GROUPS: usize = 25;
/// The data scientist's key: anything but govsync's own, so the registry emulator records a person.
const DATA_SCIENTIST_KEY: &str = "AKIADATASCIENTIST001";

/// A fake Lambda Runtime API: hands out queued invocations and routes responses back.
struct RuntimeApi {
    invocations: Mutex<mpsc::Receiver<Invocation>>,
    pending: Mutex<HashMap<String, oneshot::Sender<Result<Value, String>>>>,
    first_poll: Mutex<Option<oneshot::Sender<Instant>>>,
}

struct Invocation {
    request_id: String,
    payload: Value,
    answer: oneshot::Sender<Result<Value, String>>,
}

async fn next_invocation(State(api): State<Arc<RuntimeApi>>) -> axum::response::Response {
    let polled_at = Instant::now();
    if let Some(signal) = api.first_poll.lock().await.take() {
        let _ = signal.send(polled_at);
    }
    let invocation = api.invocations.lock().await.recv().await;
    let Some(invocation) = invocation else {
        // The bench is over: the process is about to be killed.
        return std::future::pending().await;
    };
    api.pending
        .lock()
        .await
        .insert(invocation.request_id.clone(), invocation.answer);
    let deadline_ms = (std::time::SystemTime::now() + FUNCTION_TIMEOUT)
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis());
    let mut headers = HeaderMap::new();
    let header = |value: &str| HeaderValue::from_str(value).unwrap_or(HeaderValue::from_static(""));
    headers.insert(
        "lambda-runtime-aws-request-id",
        header(&invocation.request_id),
    );
    headers.insert(
        "lambda-runtime-deadline-ms",
        header(&deadline_ms.to_string()),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        header("arn:aws:lambda:us-east-1:123456789012:function:govsync-registry-events"),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        header("Root=1-00000000-000000000000000000000000"),
    );
    (StatusCode::OK, headers, invocation.payload.to_string()).into_response()
}

async fn invocation_response(
    State(api): State<Arc<RuntimeApi>>,
    UrlPath(request_id): UrlPath<String>,
    body: String,
) -> StatusCode {
    settle(
        &api,
        &request_id,
        serde_json::from_str(&body).map_err(|error| error.to_string()),
    )
    .await
}

async fn invocation_error(
    State(api): State<Arc<RuntimeApi>>,
    UrlPath(request_id): UrlPath<String>,
    body: String,
) -> StatusCode {
    settle(&api, &request_id, Err(body)).await
}

async fn init_error(body: String) -> StatusCode {
    eprintln!("the function failed to initialise: {body}");
    StatusCode::ACCEPTED
}

async fn settle(api: &RuntimeApi, request_id: &str, outcome: Result<Value, String>) -> StatusCode {
    match api.pending.lock().await.remove(request_id) {
        Some(answer) => {
            let _ = answer.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::NOT_FOUND,
    }
}

struct Harness {
    api: Arc<RuntimeApi>,
    invoke: mpsc::Sender<Invocation>,
    address: String,
}

async fn start_runtime_api() -> BenchResult<Harness> {
    let (invoke, invocations) = mpsc::channel(1);
    let api = Arc::new(RuntimeApi {
        invocations: Mutex::new(invocations),
        pending: Mutex::new(HashMap::new()),
        first_poll: Mutex::new(None),
    });
    let router = Router::new()
        .route(
            &format!("{RUNTIME_PREFIX}/invocation/next"),
            get(next_invocation),
        )
        .route(
            &format!("{RUNTIME_PREFIX}/invocation/{{id}}/response"),
            post(invocation_response),
        )
        .route(
            &format!("{RUNTIME_PREFIX}/invocation/{{id}}/error"),
            post(invocation_error),
        )
        .route(&format!("{RUNTIME_PREFIX}/init/error"), post(init_error))
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?.to_string();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok(Harness {
        api,
        invoke,
        address,
    })
}

fn function_environment(runtime_api: &str) -> BenchResult<Vec<(String, String)>> {
    let state_dir = std::env::var_os("GOVSYNC_STATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".local/stack"));
    let stack = local_env::read_stack_env(&state_dir.join("stack.env"))?;
    let mut variables = local_env::registry_events_env(&stack, |_| None, false)?;
    variables.extend(
        [
            ("AWS_LAMBDA_RUNTIME_API", runtime_api),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                "/aws/lambda/govsync-registry-events",
            ),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "bench"),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            (
                "RUST_LOG",
                std::env::var("GOVSYNC_BENCH_LOG")
                    .as_deref()
                    .unwrap_or("warn"),
            ),
        ]
        .map(|(name, value)| (name.to_owned(), value.to_owned())),
    );
    Ok(variables)
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn bootstrap_path() -> BenchResult<PathBuf> {
    if let Some(path) = std::env::var_os("GOVSYNC_BOOTSTRAP") {
        return Ok(PathBuf::from(path));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/govsync-target"));
    let candidates = [
        target.join("lambda/registry-events/bootstrap"),
        target.join("release/registry-events"),
    ];
    candidates
        .iter()
        .find(|path| path.exists())
        .cloned()
        .ok_or_else(|| {
            format!(
                "no release binary: build one with `cargo lambda build --release --bin registry-events` \
                 or `cargo build --release --bin registry-events`, or set GOVSYNC_BOOTSTRAP (looked at {candidates:?})"
            )
            .into()
        })
}

/// The function's process; killed when dropped.
struct FunctionProcess(std::process::Child);

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_function(
    bootstrap: &Path,
    environment: &[(String, String)],
) -> BenchResult<FunctionProcess> {
    let child = std::process::Command::new(bootstrap)
        .env_clear()
        .envs(environment.iter().map(|(name, value)| (name, value)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(if std::env::var_os("GOVSYNC_BENCH_SHOW_LOGS").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .spawn()?;
    Ok(FunctionProcess(child))
}

/// Waits for the first poll of a just-started process, failing early if it exits.
async fn first_poll(
    process: &mut FunctionProcess,
    mut polled: oneshot::Receiver<Instant>,
) -> BenchResult<Instant> {
    let give_up = Instant::now() + Duration::from_secs(20);
    loop {
        match polled.try_recv() {
            Ok(at) => return Ok(at),
            Err(oneshot::error::TryRecvError::Closed) => {
                return Err("the runtime API went away".into());
            }
            Err(oneshot::error::TryRecvError::Empty) => {}
        }
        if let Some(status) = process.0.try_wait()? {
            return Err(format!("the function exited before its first poll: {status}").into());
        }
        if Instant::now() > give_up {
            return Err("no first poll within 20 s".into());
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

async fn cold_starts(
    harness: &Harness,
    bootstrap: &Path,
    environment: &[(String, String)],
    runs: usize,
) -> BenchResult<Vec<Duration>> {
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let (signal, polled) = oneshot::channel();
        *harness.api.first_poll.lock().await = Some(signal);
        let started = Instant::now();
        let mut process = spawn_function(bootstrap, environment)?;
        let polled_at = first_poll(&mut process, polled).await?;
        samples.push(polled_at.duration_since(started));
        drop(process);
    }
    Ok(samples)
}

/// Registers `packages` model packages over `GROUPS` groups under one use case, as a data scientist.
async fn seed_registry(registry_url: &str, packages: usize) -> BenchResult<()> {
    let governance_url = std::env::var("GOVSYNC_GOVERNANCE_URL")
        .or_else(|_| stack_value("GOVSYNC_GOVERNANCE_URL"))?;
    let http = reqwest::Client::new();
    let api = format!("{}/opgrc/api/v2", governance_url.trim_end_matches('/'));
    let create = |type_id: &str, name: String, parent: Option<String>, fields: Value| {
        let mut body = json!({"name": name, "type_definition_id": type_id, "fields": fields});
        if let Some(parent) = parent {
            body["primary_parent_id"] = json!(parent);
        }
        http.post(format!("{api}/contents"))
            .basic_auth("admin", Some("admin"))
            .json(&body)
            .send()
    };
    let suffix = uuid::Uuid::new_v4().simple().to_string()[..6].to_owned();
    let entity: Value = create(
        "SOXBusEntity",
        local_env::LOCAL_BUSINESS_ENTITY.to_owned(),
        None,
        json!([]),
    )
    .await?
    .error_for_status()?
    .json()
    .await?;
    let use_case: Value = create(
        "ModelUseCase",
        format!("Bench use case {suffix}"),
        entity["id"]
            .as_str()
            .map(str::to_owned)
            .or_else(|| entity["id"].as_u64().map(|id| id.to_string())),
        json!([
            {"name": "MRG-AIFacts-ModelUseCase:Status", "value": {"name": "Approved for Development"}},
            {"name": "MRG-AIFacts-ModelUseCase:Risk Level", "value": {"name": "Medium"}}
        ]),
    )
    .await?
    .error_for_status()?
    .json()
    .await?;
    let use_case_id = use_case["id"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| use_case["id"].to_string());

    let sagemaker = |target: &'static str, body: Value| {
        http.post(registry_url)
            .header("X-Amz-Target", format!("SageMaker.{target}"))
            .header("Content-Type", "application/x-amz-json-1.1")
            .header(
                "Authorization",
                format!(
                    "AWS4-HMAC-SHA256 Credential={DATA_SCIENTIST_KEY}/20261127/us-east-1/sagemaker/aws4_request, SignedHeaders=host, Signature=00"
                ),
            )
            .body(body.to_string())
            .send()
    };
    for group in 0..GROUPS {
        sagemaker(
            "CreateModelPackageGroup",
            json!({
                "ModelPackageGroupName": format!("bench-{suffix}-{group}"),
                "Tags": [
                    {"Key": "govsync:use-case-id", "Value": use_case_id},
                    {"Key": "govsync:business-entity", "Value": local_env::LOCAL_BUSINESS_ENTITY}
                ]
            }),
        )
        .await?
        .error_for_status()?;
    }
    for package in 0..packages {
        sagemaker(
            "CreateModelPackage",
            json!({
                "ModelPackageGroupName": format!("bench-{suffix}-{}", package % GROUPS),
                "ModelPackageDescription": format!("bench package {package}"),
                "InferenceSpecification": {
                    "Containers": [{
                        "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/bench:1.0",
                        "ModelDataUrl": format!("s3://bench/{suffix}/{package}/model.tar.gz")
                    }],
                    "SupportedContentTypes": ["text/csv"],
                    "SupportedResponseMIMETypes": ["text/csv"]
                }
            }),
        )
        .await?
        .error_for_status()?;
    }
    Ok(())
}

fn stack_value(name: &str) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let state_dir = std::env::var_os("GOVSYNC_STATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".local/stack"));
    let stack = local_env::read_stack_env(&state_dir.join("stack.env"))?;
    stack
        .get(name)
        .cloned()
        .ok_or_else(|| format!("{name} is not in the stack's stack.env").into())
}

/// The events the registry emulator published, each as the SQS record registry-events.fifo would
/// deliver it (the envelope as the body, in one message group, in publication order).
async fn registry_events_as_sqs_records(registry_url: &str) -> BenchResult<Vec<Value>> {
    let log: Value = reqwest::get(format!(
        "{}/_emulator/events",
        registry_url.trim_end_matches('/')
    ))
    .await?
    .error_for_status()?
    .json()
    .await?;
    let entries = log["events"].as_array().cloned().unwrap_or_default();
    Ok(entries
        .iter()
        .enumerate()
        .map(|(sequence, entry)| {
            json!({
                "messageId": uuid::Uuid::new_v4().to_string(),
                "receiptHandle": format!("bench-{sequence}"),
                "body": entry["event"].to_string(),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "MessageGroupId": "registry-events",
                    "MessageDeduplicationId": format!("bench-{sequence}"),
                    "SequenceNumber": format!("{:020}", sequence + 1),
                    "SentTimestamp": "1764201600000",
                    "ApproximateFirstReceiveTimestamp": "1764201600000",
                    "SenderId": "AIDAEVENTBRIDGE"
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:registry-events.fifo",
                "awsRegion": "us-east-1"
            })
        })
        .collect())
}

/// A registry emulator of the bench's own that keeps its events in memory: publishing thousands of
/// registrations through moto's EventBridge into one FIFO queue slows moto down quadratically.
async fn start_private_registry(
    function_variables: &[(String, String)],
) -> BenchResult<(FunctionProcess, String)> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/govsync-target"));
    let binary = target.join("debug/govsync-registry-emulator");
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let lookup = |name: &str| {
        function_variables
            .iter()
            .find(|(variable, _)| variable == name)
            .map(|(_, value)| value.clone())
    };
    let mut command = std::process::Command::new(&binary);
    command.args(["--port", &port.to_string()]);
    if let (Some(key), Some(role)) = (
        lookup("AWS_ACCESS_KEY_ID"),
        lookup("GOVSYNC_WRITER_ROLE_ARNS"),
    ) {
        command.args(["--identity", &format!("{key}={role}")]);
    }
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|error| {
            format!(
                "cannot start {} ({error}); run local/setup.sh",
                binary.display()
            )
        })?;
    let process = FunctionProcess(child);
    let url = format!("http://127.0.0.1:{port}");
    let give_up = Instant::now() + Duration::from_secs(20);
    while reqwest::get(format!("{url}/_emulator/health"))
        .await
        .is_err()
    {
        if Instant::now() > give_up {
            return Err("the bench's registry emulator did not start".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok((process, url))
}

struct ReplayFigures {
    events: usize,
    batches: usize,
    failed: usize,
    elapsed: Duration,
    peak_rss_kib: Option<u64>,
    rss_after_start_kib: Option<u64>,
}

async fn replay(
    harness: &Harness,
    bootstrap: &Path,
    environment: &[(String, String)],
    registry_url: &str,
    events: usize,
) -> BenchResult<ReplayFigures> {
    let (signal, polled) = oneshot::channel();
    *harness.api.first_poll.lock().await = Some(signal);
    let mut process = spawn_function(bootstrap, environment)?;
    let pid = process.0.id();
    first_poll(&mut process, polled).await?;
    let rss_after_start_kib = proc_status_kib(pid, "VmRSS:");

    // The replay is in order and starts over once the distinct events are used up: the repeats are
    // the redeliveries SQS's at-least-once delivery makes.
    let collected = registry_events_as_sqs_records(registry_url).await?;
    if collected.is_empty() {
        return Err("the registry emulator logged no events to replay".into());
    }
    eprintln!(
        "  replaying {events} deliveries of {} distinct events …",
        collected.len()
    );

    let started = Instant::now();
    let mut delivered = 0;
    let mut batches = 0;
    let mut failed = 0;
    let mut next = 0;
    while delivered < events {
        let size = 10.min(events - delivered);
        let records: Vec<Value> = (0..size)
            .map(|offset| collected[(next + offset) % collected.len()].clone())
            .collect();
        next += size;
        let (answer, answered) = oneshot::channel();
        harness
            .invoke
            .send(Invocation {
                request_id: uuid::Uuid::new_v4().to_string(),
                payload: json!({ "Records": records }),
                answer,
            })
            .await
            .map_err(|_| "the runtime API is gone")?;
        let response = answered
            .await
            .map_err(|_| "no answer")?
            .map_err(|error| format!("function error: {error}"))?;
        let response: SqsBatchResponse = serde_json::from_value(response)?;
        failed += response.batch_item_failures.len();
        delivered += size;
        batches += 1;
        if batches % 100 == 0 {
            eprintln!(
                "  … {delivered} deliveries in {batches} batches, {:.0?}",
                started.elapsed()
            );
        }
    }
    let elapsed = started.elapsed();
    let peak_rss_kib = proc_status_kib(pid, "VmHWM:");
    drop(process);
    Ok(ReplayFigures {
        events: delivered,
        batches,
        failed,
        elapsed,
        peak_rss_kib,
        rss_after_start_kib,
    })
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> BenchResult<()> {
    if std::env::args().any(|arg| arg == "--list") {
        return Ok(());
    }
    let bootstrap = bootstrap_path()?;
    let size = std::fs::metadata(&bootstrap)?.len();
    let harness = start_runtime_api().await?;
    let environment = function_environment(&harness.address)?;

    println!(
        "registry-events process benchmark ({})",
        bootstrap.display()
    );
    println!(
        "  binary size                     {:.1} MB ({size} bytes; budget 15 MB)",
        size as f64 / 1e6
    );

    let runs = env_number("GOVSYNC_BENCH_COLD_STARTS", 20);
    let mut samples = cold_starts(&harness, &bootstrap, &environment, runs).await?;
    samples.sort();
    let median = samples[samples.len() / 2];
    let p90 = samples[(samples.len() * 9 / 10).min(samples.len() - 1)];
    println!(
        "  cold start (start → first poll)  median {:.1} ms, p90 {:.1} ms, min {:.1} ms over {runs} starts (budget 50 ms median)",
        median.as_secs_f64() * 1e3,
        p90.as_secs_f64() * 1e3,
        samples[0].as_secs_f64() * 1e3
    );

    let events = env_number("GOVSYNC_BENCH_EVENTS", 10_000);
    // Each registration makes a state-change and a CloudTrail event.
    let packages = env_number("GOVSYNC_BENCH_PACKAGES", events.div_ceil(2).min(1000));
    let (_registry, registry_url) = start_private_registry(&environment).await?;
    let mut environment = environment;
    environment.retain(|(name, _)| name != "AWS_ENDPOINT_URL_SAGEMAKER");
    environment.push((
        "AWS_ENDPOINT_URL_SAGEMAKER".to_owned(),
        registry_url.clone(),
    ));
    eprintln!("  seeding {packages} packages over {GROUPS} groups …");
    seed_registry(&registry_url, packages).await?;
    let figures = replay(&harness, &bootstrap, &environment, &registry_url, events).await?;
    println!(
        "  replay                          {} events in {} batches in {:.1} s ({:.0} events/s), {} reported as failed",
        figures.events,
        figures.batches,
        figures.elapsed.as_secs_f64(),
        figures.events as f64 / figures.elapsed.as_secs_f64(),
        figures.failed
    );
    let mib = |kib: Option<u64>| {
        kib.map_or("unknown".to_owned(), |kib| {
            format!("{:.1} MiB", kib as f64 / 1024.0)
        })
    };
    println!(
        "  RSS                             {} after start, peak {} during the replay (budget 64 MB)",
        mib(figures.rss_after_start_kib),
        mib(figures.peak_rss_kib)
    );
    Ok(())
}
