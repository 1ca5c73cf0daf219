//! govsync's governance emulator: the OpenPages REST API v2 subset of
//! `contracts/openpages-v2.md`, in memory, with signed webhooks out, fault injection, an admin
//! API and an HTML view of the inventory. `main.rs` only wires; tests build the router from here.

pub mod auth;
pub mod catalog;
pub mod config;
pub mod http;
pub mod query;
pub mod state;
pub mod store;
pub mod webhooks;

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpListener;

pub use config::{Command, ConfigError, EmulatorConfig};
pub use state::AppState;

/// Builds the router with fresh state. Must be called inside a tokio runtime (it starts the
/// webhook delivery task).
pub fn app(config: EmulatorConfig) -> axum::Router {
    http::router(AppState::new(config))
}

/// Serves on an already bound listener until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    config: EmulatorConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(config))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Binds `config.host:config.port` (port 0 = any free port).
pub async fn bind(config: &EmulatorConfig) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(SocketAddr::new(config.host, config.port)).await?;
    let address = listener.local_addr()?;
    Ok((listener, address))
}
