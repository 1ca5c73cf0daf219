//! `govsync-local-runner invoke-metrics-relay FILE|- [--stack-env FILE]`: invokes the real metrics-relay
//! handler once with an EventBridge event (a file, or stdin for `-`), the way an EventBridge rule's
//! asynchronous invocation would (a fresh request id, the function's 60 s deadline).
//!
//! The function's environment is the local stack's (`stack.env`) plus what the hub template sets for it
//! (`GOVSYNC_DLQ_URL` = the `govsync-async-failures` queue, created here when missing, since it is not part
//! of local/wiring.json) and, locally, `GOVSYNC_METRIC_BREACH_STATUS=Under Review`; variables already set
//! win. stdout carries one JSON document: `{"result": …}` (exit 0) or `{"error": …}` (exit 1: the error
//! Lambda would retry). Logs go to stderr as JSON lines.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};

use crate::local_env;

pub const COMMAND: &str = "invoke-metrics-relay";
/// The template's timeout for metrics-relay.
const FUNCTION_TIMEOUT: Duration = Duration::from_secs(60);

pub fn main(args: &[String]) -> ExitCode {
    let mut file = None;
    let mut stack_env = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--stack-env" => match args.next() {
                Some(path) => stack_env = Some(PathBuf::from(path)),
                None => return usage("--stack-env needs a value"),
            },
            other if file.is_none() => file = Some(other.to_owned()),
            other => return usage(&format!("unexpected argument {other:?}")),
        }
    }
    let Some(file) = file else {
        return usage("missing the event file (or - for stdin)");
    };
    let text = if file == "-" {
        let mut text = String::new();
        if let Err(error) = std::io::stdin().read_to_string(&mut text) {
            eprintln!("{COMMAND}: cannot read stdin: {error}");
            return ExitCode::from(1);
        }
        text
    } else {
        match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(error) => {
                eprintln!("{COMMAND}: cannot read {file}: {error}");
                return ExitCode::from(1);
            }
        }
    };
    let event: Value = match serde_json::from_str(&text) {
        Ok(event) => event,
        Err(error) => {
            eprintln!("{COMMAND}: {file} is not JSON: {error}");
            return ExitCode::from(1);
        }
    };
    if let Err(error) = set_environment(stack_env) {
        eprintln!("{COMMAND}: {error}");
        return ExitCode::from(1);
    }
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("{COMMAND}: cannot start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(invoke(event))
}

fn usage(problem: &str) -> ExitCode {
    eprintln!(
        "{COMMAND}: {problem}\nusage: govsync-local-runner {COMMAND} FILE|- [--stack-env FILE]"
    );
    ExitCode::from(2)
}

fn set_environment(stack_env: Option<PathBuf>) -> Result<(), crate::RunnerError> {
    let path = stack_env.or_else(|| {
        let state_dir = std::env::var_os("GOVSYNC_STATE_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(".local/stack"));
        let path = state_dir.join("stack.env");
        path.exists().then_some(path)
    });
    let stack = match path {
        Some(path) => local_env::read_stack_env(&path)?,
        None => Default::default(),
    };
    let variables = local_env::metrics_relay_env(&stack, |name| std::env::var(name).ok(), false)?;
    for (name, value) in variables {
        // SAFETY: called before the async runtime or any other thread exists.
        unsafe { std::env::set_var(name, value) };
    }
    Ok(())
}

async fn invoke(event: Value) -> ExitCode {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    // The failure queue is the template's, not wiring.json's: make sure it exists locally.
    if let Err(error) = sqs
        .create_queue()
        .queue_name(local_env::ASYNC_FAILURES_QUEUE)
        .send()
        .await
    {
        eprintln!(
            "{COMMAND}: cannot create {}: {error:?}",
            local_env::ASYNC_FAILURES_QUEUE
        );
        return ExitCode::from(1);
    }
    let function = match govsync_metrics_relay::Function::from_env().await {
        Ok(function) => function,
        Err(error) => {
            println!(
                "{}",
                json!({"error": format!("metrics-relay cannot start: {error}")})
            );
            return ExitCode::from(1);
        }
    };
    let mut context = Context::default();
    context.request_id = uuid::Uuid::new_v4().to_string();
    context.deadline = u64::try_from(
        chrono::Utc::now().timestamp_millis()
            + i64::try_from(FUNCTION_TIMEOUT.as_millis()).unwrap_or(60_000),
    )
    .unwrap_or(0);
    context.invoked_function_arn = format!(
        "arn:aws:lambda:{}:{}:function:govsync-metrics-relay",
        std::env::var("AWS_REGION").unwrap_or_else(|_| local_env::DEFAULT_REGION.to_owned()),
        std::env::var("GOVSYNC_ACCOUNT_ID")
            .unwrap_or_else(|_| local_env::DEFAULT_ACCOUNT_ID.to_owned())
    );
    match function.handle(LambdaEvent::new(event, context)).await {
        Ok(result) => {
            println!("{}", json!({ "result": result }));
            ExitCode::SUCCESS
        }
        Err(error) => {
            println!("{}", json!({ "error": error.to_string() }));
            ExitCode::from(1)
        }
    }
}
