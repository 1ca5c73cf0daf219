//! Wires flags → listener → server; logic lives in the library.

use std::io::Write as _;
use std::process::ExitCode;

use govsync_governance_emulator::{Command, EmulatorConfig, bind, serve};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    let config = match EmulatorConfig::from_args(std::env::args().skip(1), |name| {
        std::env::var(name).ok()
    }) {
        Ok(Command::Run(config)) => *config,
        Ok(Command::Help) => {
            print!("{}", govsync_governance_emulator::config::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("governance-emulator: {error}");
            return ExitCode::from(2);
        }
    };
    let (listener, address) = match bind(&config).await {
        Ok(bound) => bound,
        Err(error) => {
            eprintln!(
                "governance-emulator: cannot bind {}:{}: {error}",
                config.host, config.port
            );
            return ExitCode::FAILURE;
        }
    };
    println!("governance-emulator listening on http://{address}");
    let _ = std::io::stdout().flush();

    match serve(listener, config, shutdown_signal()).await {
        Ok(()) => {
            tracing::info!("governance-emulator stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("governance-emulator: server error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}
