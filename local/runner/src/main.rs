//! `govsync-local-runner`: runs govsync's queue-driven functions in-process on the local stack.
//!
//! ```text
//! govsync-local-runner run registry-events [--queue NAME|URL] [--stop-when-idle SECS]
//!                                          [--function-timeout SECS] [--poll-wait SECS] [--stack-env FILE]
//! govsync-local-runner run approval-propagation [the same options; queue governance-events.fifo]
//! govsync-local-runner run governance-poller [--every SECS] [--stack-env FILE]
//! govsync-local-runner replay-event FILE [--queue NAME|URL] [--timeout SECS]
//!                                        [--function-timeout SECS] [--stack-env FILE]
//! govsync-local-runner serve-webhook [--port N] [--stack-env FILE]
//! govsync-local-runner run decommission [the same options as registry-events; queue decommission.fifo]
//! govsync-local-runner invoke-metrics-relay FILE|- [--stack-env FILE]
//! ```
//! The function's environment is the local stack's (`$GOVSYNC_STATE_DIR/stack.env`, default
//! `.local/stack/stack.env`) plus local defaults; variables already set win. Logs are JSON lines on
//! stderr; stdout carries a ready line, then one JSON line per batch (`run`) or the replay's result.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::SqsEvent;
use govsync_local_runner::lambda_invoke::{
    HandlerFuture, function_identity, region, registry_events_handler, report_json, sqs_client,
};
use govsync_local_runner::{
    PollSettings, RunnerError, SqsEventSource, local_env, replay, sqs_function_handler,
};
use lambda_runtime::LambdaEvent;
use serde_json::json;

const USAGE: &str = "usage:
  govsync-local-runner run registry-events [--queue NAME|URL] [--stop-when-idle SECS]
                                           [--function-timeout SECS] [--poll-wait SECS] [--stack-env FILE]
  govsync-local-runner run approval-propagation [the same options; queue governance-events.fifo]
  govsync-local-runner run governance-poller [--every SECS] [--stack-env FILE]
  govsync-local-runner replay-event FILE [--queue NAME|URL] [--timeout SECS]
                                         [--function-timeout SECS] [--stack-env FILE]
  govsync-local-runner serve-webhook [--port N] [--stack-env FILE]
  govsync-local-runner run decommission [the same options as registry-events; queue decommission.fifo]
  govsync-local-runner invoke-metrics-relay FILE|- [--stack-env FILE]
  govsync-local-runner function-env FUNCTION [--stack-env FILE]   print its local environment";

/// The functions this runner can drive, with the queue each consumes and its configured timeout.
const REGISTRY_EVENTS: &str = "registry-events";
const REGISTRY_EVENTS_QUEUE: &str = "registry-events.fifo";
const REGISTRY_EVENTS_TIMEOUT: Duration = Duration::from_secs(60);
const APPROVAL_PROPAGATION: &str = "approval-propagation";
const APPROVAL_PROPAGATION_QUEUE: &str = "governance-events.fifo";
const DECOMMISSION: &str = "decommission";
const DECOMMISSION_QUEUE: &str = "decommission.fifo";
/// The registry-relay's timeout (infra/template.yaml).
const RELAY_TIMEOUT: Duration = Duration::from_secs(10);
/// The poller is fired on a timer, as EventBridge Scheduler would (default every 60 s locally).
const GOVERNANCE_POLLER: &str = "governance-poller";
const GOVERNANCE_POLLER_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug)]
enum Command {
    Run {
        function: String,
        common: Common,
        stop_when_idle: Option<Duration>,
        poll_wait: Duration,
        every: Duration,
    },
    Replay {
        file: PathBuf,
        common: Common,
        wait: Duration,
    },
}

#[derive(Debug)]
struct Common {
    queue: String,
    function_timeout: Duration,
    stack_env: Option<PathBuf>,
}

fn main() -> ExitCode {
    // serve-webhook has its own options and environment (src/serve_webhook.rs).
    let raw_args: Vec<String> = std::env::args().skip(1).collect();
    if raw_args.first().map(String::as_str) == Some(govsync_local_runner::serve_webhook::COMMAND) {
        return govsync_local_runner::serve_webhook::main(&raw_args[1..]);
    }
    // function-env prints a function's local environment as a file of `export NAME=value` lines (the
    // operator CLI reads it with --env-file; local/stack.sh writes the reconciler's at start).
    if raw_args.first().map(String::as_str) == Some("function-env") {
        return print_function_env(&raw_args[1..]);
    }
    // invoke-metrics-relay has its own options and environment (src/invoke_metrics_relay.rs).
    if raw_args.first().map(String::as_str)
        == Some(govsync_local_runner::invoke_metrics_relay::COMMAND)
    {
        return govsync_local_runner::invoke_metrics_relay::main(&raw_args[1..]);
    }
    let command = match parse_args(std::env::args().skip(1).collect()) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("govsync-local-runner: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    init_tracing();
    let common = match &command {
        Command::Run { common, .. } | Command::Replay { common, .. } => common,
    };
    // replay-event's stdout is one JSON document, so the function's metric lines are off there.
    let metrics = matches!(command, Command::Run { .. });
    let function = match &command {
        Command::Run { function, .. } => function.as_str(),
        Command::Replay { .. } => REGISTRY_EVENTS,
    };
    if let Err(error) = set_function_environment(function, common.stack_env.as_deref(), metrics) {
        eprintln!("govsync-local-runner: {error}");
        return ExitCode::from(1);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("govsync-local-runner: cannot start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async {
        let outcome = match command {
            Command::Run {
                function,
                common,
                stop_when_idle: _,
                poll_wait: _,
                every,
            } if function == GOVERNANCE_POLLER => run_poller(&function, &common, every).await,
            Command::Run {
                function,
                common,
                stop_when_idle,
                poll_wait,
                every: _,
            } => run(&function, &common, stop_when_idle, poll_wait).await,
            Command::Replay { file, common, wait } => replay_event(&file, &common, wait).await,
        };
        match outcome {
            Ok(code) => code,
            Err(error) => {
                eprintln!("govsync-local-runner: {error}");
                ExitCode::from(1)
            }
        }
    })
}

fn parse_args(args: Vec<String>) -> Result<Command, String> {
    let mut args = args.into_iter();
    let subcommand = args.next().ok_or("no command given")?;
    let positional = args
        .next()
        .ok_or(format!("{subcommand}: missing argument"))?;
    let mut common = Common {
        queue: REGISTRY_EVENTS_QUEUE.to_owned(),
        function_timeout: REGISTRY_EVENTS_TIMEOUT,
        stack_env: None,
    };
    let mut stop_when_idle = None;
    let mut poll_wait = PollSettings::default().wait;
    let mut wait = Duration::from_secs(30);
    let mut every = GOVERNANCE_POLLER_EVERY;
    let mut queue_given = false;
    while let Some(flag) = args.next() {
        let (name, inline) = match flag.split_once('=') {
            Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
            None => (flag.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or(format!("{name} needs a value"))
        };
        match (subcommand.as_str(), name.as_str()) {
            (_, "--queue") => {
                common.queue = value()?;
                queue_given = true;
            }
            (_, "--stack-env") => common.stack_env = Some(PathBuf::from(value()?)),
            (_, "--function-timeout") => common.function_timeout = seconds(&name, &value()?)?,
            ("run", "--stop-when-idle") => stop_when_idle = Some(seconds(&name, &value()?)?),
            ("run", "--poll-wait") => poll_wait = seconds(&name, &value()?)?,
            ("run", "--every") => every = seconds(&name, &value()?)?,
            ("replay-event", "--timeout") => wait = seconds(&name, &value()?)?,
            _ => return Err(format!("{subcommand}: unknown option {name}")),
        }
    }
    match subcommand.as_str() {
        "run"
            if [
                REGISTRY_EVENTS,
                APPROVAL_PROPAGATION,
                GOVERNANCE_POLLER,
                DECOMMISSION,
            ]
            .contains(&positional.as_str()) =>
        {
            if positional == APPROVAL_PROPAGATION && !queue_given {
                common.queue = APPROVAL_PROPAGATION_QUEUE.to_owned();
            }
            if positional == DECOMMISSION && !queue_given {
                common.queue = DECOMMISSION_QUEUE.to_owned();
            }
            Ok(Command::Run {
                function: positional,
                common,
                stop_when_idle,
                poll_wait,
                every,
            })
        }
        "run" => Err(format!(
            "run: unknown function {positional:?} (this runner drives: {REGISTRY_EVENTS}, {APPROVAL_PROPAGATION}, {GOVERNANCE_POLLER}, {DECOMMISSION})"
        )),
        "replay-event" => Ok(Command::Replay {
            file: PathBuf::from(positional),
            common,
            wait,
        }),
        other => Err(format!("unknown command {other:?}")),
    }
}

/// One line on stdout; a reader that went away (a closed pipe) is not the runner's failure.
fn emit(line: String) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
}

fn seconds(flag: &str, value: &str) -> Result<Duration, String> {
    value
        .parse::<f64>()
        .ok()
        .filter(|secs| secs.is_finite() && *secs >= 0.0)
        .map(Duration::from_secs_f64)
        .ok_or(format!("{flag}: {value:?} is not a number of seconds"))
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_current_span(true)
        .init();
}

/// Sets the function's environment before any thread starts (the function reads it as in Lambda).
fn set_function_environment(
    function: &str,
    stack_env: Option<&std::path::Path>,
    metrics: bool,
) -> Result<(), RunnerError> {
    local_env::set_function_environment(function, stack_env, metrics)
}

/// Fires the governance poller every `every`, as EventBridge Scheduler would, until stopped; one JSON
/// line per run on stdout.
async fn run_poller(
    function: &str,
    common: &Common,
    every: Duration,
) -> Result<ExitCode, RunnerError> {
    let poller = govsync_governance_poller::Function::from_env()
        .await
        .map_err(|error| RunnerError::Setting {
            name: "governance-poller configuration".into(),
            problem: error.to_string(),
        })?;
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        wait_for_stop_signal().await;
        let _ = stop_tx.send(true);
    });
    emit(format!(
        "govsync-local-runner ready: {function} every {} s",
        every.as_secs_f64()
    ));
    let mut runs = 0u64;
    loop {
        runs += 1;
        let started = Instant::now();
        let mut context = lambda_runtime::Context::default();
        context.request_id = format!("poll-{runs}");
        let invocation = tokio::time::timeout(
            common.function_timeout,
            poller.handle(LambdaEvent::new(json!({}), context)),
        )
        .await;
        let outcome = match invocation {
            Ok(Ok(result)) => json!({"completed": result}),
            Ok(Err(error)) => json!({"function_error": error.to_string()}),
            Err(_) => json!({"timed_out_after_ms": common.function_timeout.as_millis()}),
        };
        emit(
            json!({"run": runs, "outcome": outcome, "elapsed_ms": started.elapsed().as_millis()})
                .to_string(),
        );
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop_rx.changed() => break,
        }
    }
    tracing::info!(runs, "poller stopped");
    Ok(ExitCode::SUCCESS)
}

async fn run(
    function: &str,
    common: &Common,
    stop_when_idle: Option<Duration>,
    poll_wait: Duration,
) -> Result<ExitCode, RunnerError> {
    let handler: Box<dyn Fn(LambdaEvent<SqsEvent>) -> HandlerFuture> = if function
        == APPROVAL_PROPAGATION
    {
        Box::new(sqs_function_handler!(govsync_approval_propagation, "approval-propagation").await?)
    } else if function == DECOMMISSION {
        Box::new(sqs_function_handler!(govsync_decommission, "decommission").await?)
    } else {
        Box::new(registry_events_handler().await?)
    };
    let settings = PollSettings {
        wait: poll_wait,
        ..PollSettings::default()
    };
    let mut source = SqsEventSource::connect(
        sqs_client().await,
        &common.queue,
        &region(),
        function_identity(function, common.function_timeout),
        settings,
    )
    .await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        wait_for_stop_signal().await;
        tracing::info!("stop requested; finishing the batch in flight");
        let _ = stop_tx.send(true);
    });
    let relay = match ingest_queue_of(function, &common.queue) {
        Some(ingest) => Some(
            spawn_relay(
                ingest,
                source.queue().url.clone(),
                stop_rx.clone(),
                poll_wait,
            )
            .await?,
        ),
        None => None,
    };
    emit(format!(
        "govsync-local-runner ready: {function} consuming {}",
        source.queue().url
    ));
    let summary = source
        .run(&handler, stop_rx, stop_when_idle, |report| {
            emit(report_json(report).to_string());
        })
        .await;
    if let Some((relay, stop_relay)) = relay {
        let _ = stop_relay.send(true);
        let _ = relay.await;
    }
    let summary = summary?;
    tracing::info!(
        batches = summary.batches,
        delivered = summary.delivered,
        deleted = summary.deleted,
        left = summary.left,
        stopped = ?summary.stopped,
        "runner stopped"
    );
    Ok(ExitCode::SUCCESS)
}

/// The ingest queue the registry-relay empties into `queue` (wiring.json `ingest_queues`), when the
/// function consumes the stack's own queue. moto has no relay: the runner plays it beside the consumer.
fn ingest_queue_of(function: &str, queue: &str) -> Option<&'static str> {
    match (function, queue) {
        (REGISTRY_EVENTS, REGISTRY_EVENTS_QUEUE) => Some("registry-events-ingest"),
        (DECOMMISSION, DECOMMISSION_QUEUE) => Some("decommission-ingest"),
        _ => None,
    }
}

/// Runs the registry-relay on `ingest` into `fifo_url` until the consumer stops (or a stop signal).
async fn spawn_relay(
    ingest: &'static str,
    fifo_url: String,
    mut stop: tokio::sync::watch::Receiver<bool>,
    poll_wait: Duration,
) -> Result<
    (
        tokio::task::JoinHandle<()>,
        tokio::sync::watch::Sender<bool>,
    ),
    RunnerError,
> {
    let client = sqs_client().await;
    // The ingest queue's DLQ, named as local/wiring.json and the templates name it.
    let dead_letter_queue = format!("{ingest}-dlq");
    let dead_letter_url = client
        .get_queue_url()
        .queue_name(&dead_letter_queue)
        .send()
        .await
        .map_err(|error| RunnerError::sqs("GetQueueUrl", &dead_letter_queue, &error))?
        .queue_url
        .unwrap_or_default();
    let relay = std::sync::Arc::new(govsync_registry_relay::Relay::new(vec![
        govsync_registry_relay::Route {
            ingest_queue: ingest.to_owned(),
            fifo: govsync_adapters::queue::SqsMessageQueue::new(client.clone(), fifo_url),
            dead_letters: govsync_adapters::sqs::SqsQuarantine::new(
                client.clone(),
                dead_letter_url,
            ),
        },
    ]));
    let handler = move |event: LambdaEvent<SqsEvent>| -> HandlerFuture {
        let relay = relay.clone();
        Box::pin(async move { relay.handle(event).await.map_err(Into::into) })
    };
    let mut source = SqsEventSource::connect(
        client,
        ingest,
        &region(),
        function_identity("registry-relay", RELAY_TIMEOUT),
        PollSettings {
            wait: poll_wait,
            ..PollSettings::default()
        },
    )
    .await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let forward = stop_tx.clone();
    tokio::spawn(async move {
        if stop.changed().await.is_ok() && *stop.borrow() {
            let _ = forward.send(true);
        }
    });
    let task = tokio::spawn(async move {
        if let Err(error) = source.run(&handler, stop_rx, None, |_| {}).await {
            tracing::error!(error = %error, "the relay stopped");
        }
    });
    Ok((task, stop_tx))
}

async fn wait_for_stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut interrupt), Ok(mut terminate)) => {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        }
        _ => {
            // Without signal handlers, Ctrl-C handling through tokio is the fallback.
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

async fn replay_event(
    file: &std::path::Path,
    common: &Common,
    wait: Duration,
) -> Result<ExitCode, RunnerError> {
    let report = replay::replay_event(&replay::ReplayRequest {
        file: file.to_path_buf(),
        queue: common.queue.clone(),
        function_timeout: common.function_timeout,
        wait,
    })
    .await?;
    emit(serde_json::to_string_pretty(&report.json).unwrap_or_else(|_| report.json.to_string()));
    Ok(if report.outcome == replay::ReplayOutcome::Processed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

/// `function-env FUNCTION [--stack-env FILE]`: every variable the function needs on the local stack.
fn print_function_env(args: &[String]) -> ExitCode {
    let (function, stack_env) = match args {
        [function] => (function.as_str(), None),
        [function, flag, path] if flag == "--stack-env" => {
            (function.as_str(), Some(PathBuf::from(path)))
        }
        _ => {
            eprintln!("govsync-local-runner: usage: function-env FUNCTION [--stack-env FILE]");
            return ExitCode::from(2);
        }
    };
    match local_env::function_environment(function, stack_env.as_deref(), false, |_| None) {
        Ok(variables) => {
            for (name, value) in variables {
                println!("export {name}='{}'", value.replace('\'', "'\\''"));
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("govsync-local-runner: {error}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn run_takes_its_options() {
        let Ok(Command::Run {
            function,
            common,
            stop_when_idle,
            ..
        }) = parse_args(args(
            "run registry-events --queue q.fifo --stop-when-idle 5",
        ))
        else {
            panic!("valid run command")
        };
        assert_eq!(function, "registry-events");
        assert_eq!(common.queue, "q.fifo");
        assert_eq!(stop_when_idle, Some(Duration::from_secs(5)));
    }

    #[test]
    fn approval_propagation_consumes_governance_events_and_the_poller_takes_an_interval() {
        let Ok(Command::Run {
            function, common, ..
        }) = parse_args(args("run approval-propagation"))
        else {
            panic!("valid run command")
        };
        assert_eq!(function, "approval-propagation");
        assert_eq!(common.queue, "governance-events.fifo");
        let Ok(Command::Run { every, .. }) = parse_args(args("run governance-poller --every 2"))
        else {
            panic!("valid run command")
        };
        assert_eq!(every, Duration::from_secs(2));
    }

    #[test]
    fn replay_takes_a_file_and_a_timeout() {
        let Ok(Command::Replay { file, wait, .. }) =
            parse_args(args("replay-event e.json --timeout=12"))
        else {
            panic!("valid replay command")
        };
        assert_eq!(file, PathBuf::from("e.json"));
        assert_eq!(wait, Duration::from_secs(12));
    }

    #[test]
    fn decommission_consumes_the_decommission_queue() {
        let Ok(Command::Run {
            function, common, ..
        }) = parse_args(args("run decommission --poll-wait 1"))
        else {
            panic!("valid run command")
        };
        assert_eq!(function, "decommission");
        assert_eq!(common.queue, "decommission.fifo");
    }

    #[test]
    fn unknown_function_option_and_command_are_refused() {
        assert!(parse_args(args("run no-such-function")).is_err());
        assert!(parse_args(args("run registry-events --timeout 3")).is_err());
        assert!(parse_args(args("replay-event e.json --stop-when-idle 3")).is_err());
        assert!(parse_args(args("serve x")).is_err());
        assert!(parse_args(args("run registry-events --stop-when-idle soon")).is_err());
    }
}
