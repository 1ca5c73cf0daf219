//! govsync's operator CLI (`govsync`): one binary for the local stack and, with AWS credentials, a
//! deployment. Every command reuses the code the functions run:
//!
//! | Command | What it calls |
//! |---|---|
//! | `status` | the reconciler's run as a read-only dry-run survey ([`govsync_reconciler::Function::reconcile_observed`]) plus the links table's sync times |
//! | `reconcile [--dry-run]` | [`govsync_reconciler::Function::reconcile_observed`], progress on stderr |
//! | `dlq list` / `dlq replay` | SQS: the functions' DLQs (names from `infra/template.yaml`), quarantine reasons from `govsync_core::ports::quarantine::attributes` |
//! | `mapping validate` / `mapping show` | [`govsync_core::MappingSpec`] |
//! | `webhook sign` | [`govsync_core::webhook::sign`], secrets parsed as the webhook function parses them |
//!
//! Configuration is the functions' environment (their `config.rs`), optionally completed from an env
//! file (`--env-file FILE` or `GOVSYNC_ENV_FILE`; the local stack writes one and points
//! `.local/stack/stack.env` at it) ([`environment`]). Replaying one event through a function is the
//! local runner's job (`govsync-local-runner replay-event`), not this product binary's. Exit codes:
//! [`Exit`].

pub mod cli;
pub mod dlq;
pub mod environment;
pub mod error;
pub mod exit;
pub mod logging;
pub mod mapping;
pub mod output;
pub mod progress;
pub mod reconcile;
pub mod status;
pub mod webhook;

pub use cli::{Cli, Command};
pub use error::CliError;
pub use exit::Exit;

/// Runs the parsed command; what it prints goes to stdout, progress and logs to stderr.
pub async fn run(cli: &Cli) -> Result<Exit, CliError> {
    let json = cli.json;
    match &cli.command {
        Command::Status(args) => status::run(args, json).await,
        Command::Reconcile(args) => reconcile::run(args, json).await,
        Command::Dlq(command) => dlq::run(command, json).await,
        Command::Mapping(command) => mapping::run(command, json),
        Command::Webhook(command) => webhook::run(command, json),
    }
}
