//! `govsync-reconcile [--dry-run] [--json] [--deadline-seconds N]`: the reconciler's run from a shell,
//! with the function's environment (the same variables as the Lambda). Prints the table (or, with
//! `--json`, the JSON report) on stdout; logs go to stderr. Exit status 0 when the run completed with
//! no failed repair, 1 otherwise.

use std::process::ExitCode;
use std::time::Duration;

use chrono::Utc;
use govsync_reconciler::{Function, RunOptions};

struct Args {
    dry_run: bool,
    json: bool,
    deadline: Option<Duration>,
}

fn parse(args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        dry_run: false,
        json: false,
        deadline: None,
    };
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--dry-run" => parsed.dry_run = true,
            "--json" => parsed.json = true,
            "--deadline-seconds" => {
                let value = args.next().ok_or("--deadline-seconds needs a number")?;
                let seconds: u64 = value
                    .parse()
                    .map_err(|_| format!("--deadline-seconds: {value:?} is not a number"))?;
                parsed.deadline = Some(Duration::from_secs(seconds));
            }
            "-h" | "--help" => {
                return Err(
                    "usage: govsync-reconcile [--dry-run] [--json] [--deadline-seconds N]".into(),
                );
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(parsed)
}

fn init_logging() {
    let filter = tracing_subscriber_filter();
    let _ = tracing::subscriber::set_global_default(filter);
}

fn tracing_subscriber_filter() -> impl tracing::Subscriber + Send + Sync {
    // Logs on stderr, so stdout holds only the report.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_target(false)
        .finish()
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    init_logging();
    let function = match Function::from_env().await {
        Ok(function) => function,
        Err(error) => {
            eprintln!("govsync-reconcile cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    let options = RunOptions {
        dry_run: args.dry_run,
        deadline: args
            .deadline
            .and_then(|d| chrono::Duration::from_std(d).ok())
            .map(|d| Utc::now() + d),
    };
    match function.reconcile(&options).await {
        Ok(report) => {
            if args.json {
                println!("{}", report.to_json());
            } else {
                print!("{}", report.table());
            }
            if report.complete && report.counts.failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("reconcile failed: {error}");
            ExitCode::FAILURE
        }
    }
}
