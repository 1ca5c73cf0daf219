//! Entry point of govsync-registry-emulator: flags → publisher → listener → serve until SIGTERM/SIGINT.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use govsync_registry_emulator::config::{self, Command};
use govsync_registry_emulator::publisher::Publisher;
use govsync_registry_emulator::server::{self, AppState};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let config = match config::parse(std::env::args().skip(1), |name| std::env::var(name).ok()) {
        Ok(Command::Run(config)) => config,
        Ok(Command::Help) => {
            print!("{}", config::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("registry-emulator: {error}");
            return ExitCode::from(2);
        }
    };
    let publisher = match config.events_endpoint.as_deref() {
        None => None,
        Some(endpoint) => match Publisher::new(endpoint, &config.event_bus) {
            Ok(publisher) => Some(publisher),
            Err(error) => {
                eprintln!("registry-emulator: {error}");
                return ExitCode::from(2);
            }
        },
    };
    let address = SocketAddr::new(config.host, config.port);
    let listener = match tokio::net::TcpListener::bind(address).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("registry-emulator: cannot bind {address}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let bound = match listener.local_addr() {
        Ok(bound) => bound,
        Err(error) => {
            eprintln!("registry-emulator: cannot read the bound address: {error}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        address = %bound,
        events_endpoint = config.events_endpoint.as_deref().unwrap_or("(memory only)"),
        event_bus = %config.event_bus,
        account_id = %config.account_id,
        "starting"
    );
    let app = server::router(Arc::new(AppState::new(config, publisher)));
    println!("registry-emulator listening on http://{bound}");
    // Scripts wait for this line; do not leave it in a buffer.
    let _ = std::io::stdout().flush();

    match axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
    {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("registry-emulator: server error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %error, "cannot listen for SIGINT");
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
                tracing::error!(error = %error, "cannot listen for SIGTERM");
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
    tracing::info!("shutting down");
}
