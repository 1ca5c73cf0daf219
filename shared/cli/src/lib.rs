//! govsync's operator CLI (`govsync`): one binary for the local stack and, with AWS credentials, a
//! deployment. Every command reuses the code the functions run:
//!
//! | Command | What it calls |
//! |---|---|
//! | `status` | the reconciler's run as a read-only dry-run survey ([`govsync_reconciler::Function::reconcile_observed`]) plus the links table's sync times |
//! | `reconcile [--dry-run]` | [`govsync_reconciler::Function::reconcile_observed`], progress on stderr |
//! | `dlq list` / `dlq replay` | SQS: the functions' DLQs (names from `infra/template.yaml`), quarantine reasons from `govsync_core::ports::quarantine::attributes` |
//! | `replay-event FILE` | the local runner's [`govsync_local_runner::replay::replay_event`] |
//! | `mapping validate` / `mapping show` | [`govsync_core::MappingSpec`] |
//! | `webhook sign` | [`govsync_core::webhook::sign`], secrets parsed as the webhook function parses them |
//!
//! Configuration is the functions' environment (their `config.rs`); on the local stack (`GOVSYNC_MOTO_URL`
//! set, e.g. by `source .local/stack/stack.env`, or `--stack-env FILE`) the local runner's defaults fill
//! in the rest ([`environment`]). Exit codes: [`Exit`].

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
pub mod replay_event;
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
        Command::ReplayEvent(args) => replay_event::run(args, json).await,
        Command::Mapping(command) => mapping::run(command, json),
        Command::Webhook(command) => webhook::run(command, json),
    }
}
