//! The command line (clap derive). Everything that prints data takes `--json` (global).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::exit::EXIT_CODES_HELP;

/// govsync's operator CLI: the local stack, or a deployment with AWS credentials.
///
/// Configuration is the functions' environment (GOVSYNC_* variables, AWS_REGION, credentials), completed
/// from an env file (`--env-file`, else GOVSYNC_ENV_FILE). On the local stack,
/// `source .local/stack/stack.env` is enough: it points GOVSYNC_ENV_FILE at the stack's function
/// environment.
#[derive(Debug, Parser)]
#[command(name = "govsync", version, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// Print machine-readable JSON on stdout instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// A file of `NAME=value` lines (`export` and shell quoting allowed) filling in variables the
    /// environment does not set; default: GOVSYNC_ENV_FILE.
    #[arg(long, global = true, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
    /// More logs on stderr (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Per registry and use case: groups, packages, status on both sides, last sync, drift.
    #[command(after_help = EXIT_CODES_HELP)]
    Status(StatusArgs),
    /// Compare every registry with governance and repair the drift (or only report it).
    #[command(after_help = EXIT_CODES_HELP)]
    Reconcile(ReconcileArgs),
    /// The functions' dead-letter queues: list quarantined messages, replay them.
    #[command(subcommand)]
    Dlq(DlqCommand),
    /// The status mapping spec.
    #[command(subcommand)]
    Mapping(MappingCommand),
    /// Governance webhook helpers.
    #[command(subcommand)]
    Webhook(WebhookCommand),
}

#[derive(Debug, Clone, Args, PartialEq, Eq)]
pub struct StatusArgs {
    /// Only this model package group (by name).
    #[arg(long, value_name = "NAME")]
    pub group: Option<String>,
    /// No progress lines on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Args, PartialEq, Eq)]
pub struct ReconcileArgs {
    /// Report the drift only: change nothing on either side.
    #[arg(long)]
    pub dry_run: bool,
    /// Stop starting groups after this many seconds (the next run resumes from the checkpoint).
    #[arg(long, value_name = "SECONDS")]
    pub deadline_seconds: Option<u64>,
    /// No progress lines on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// List quarantined messages with their reasons (nothing is removed).
    List(DlqListArgs),
    /// Move messages back to their source queue (FIFO group kept), deleting each only once sent.
    Replay(DlqReplayArgs),
}

#[derive(Debug, Clone, Args, PartialEq, Eq)]
pub struct DlqListArgs {
    /// A DLQ (name or URL); default: every DLQ of the template that exists.
    #[arg(long, value_name = "NAME|URL")]
    pub queue: Option<String>,
    /// At most this many messages per queue.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub limit: u32,
    /// How long listed messages stay hidden while the list is read (they are made visible again
    /// right after; if the CLI dies, they reappear after this).
    #[arg(long, default_value_t = 30, value_name = "SECONDS", value_parser = clap::value_parser!(i32).range(1..=43_200))]
    pub visibility_timeout: i32,
}

#[derive(Debug, Clone, Args, PartialEq, Eq)]
pub struct DlqReplayArgs {
    /// The DLQ (name or URL).
    #[arg(long, value_name = "NAME|URL")]
    pub queue: String,
    /// The queue to move the messages to; default: the DLQ's source queue (its redrive source, else
    /// the name without `-dlq`).
    #[arg(long, value_name = "NAME|URL")]
    pub to: Option<String>,
    /// Show what would move; move nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// At most this many messages.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: Option<u32>,
    /// How long a received message stays hidden while it is moved (a message not moved reappears).
    #[arg(long, default_value_t = 60, value_name = "SECONDS", value_parser = clap::value_parser!(i32).range(1..=43_200))]
    pub visibility_timeout: i32,
}

#[derive(Debug, Subcommand)]
pub enum MappingCommand {
    /// Check a mapping spec file (TOML or JSON); exit 1 with the offending row when it is refused.
    Validate {
        /// The spec file.
        file: PathBuf,
    },
    /// Print the effective mapping (`--file`, else GOVSYNC_MAPPING_FILE, else the built-in spec).
    Show {
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Sign a body as the governance platform would (Standard Webhooks), for testing a tenant's setup.
    Sign(WebhookSignArgs),
}

#[derive(Debug, Clone, Args, PartialEq, Eq)]
#[command(group = clap::ArgGroup::new("secret").required(true).args(["secret_env", "secret_file"]))]
pub struct WebhookSignArgs {
    /// The body file; `-` (the default) reads stdin.
    #[arg(default_value = "-")]
    pub body: PathBuf,
    /// The environment variable holding the signing secret (`whsec_…`, plain text, or the function's
    /// JSON `{"current","previous"}`: `current` signs).
    #[arg(long, value_name = "VAR")]
    pub secret_env: Option<String>,
    /// A file holding the signing secret (same forms).
    #[arg(long, value_name = "FILE")]
    pub secret_file: Option<PathBuf>,
    /// The delivery id (`webhook-id`); default a fresh `msg_<uuid>`.
    #[arg(long)]
    pub id: Option<String>,
    /// The signing time (unix seconds); default now.
    #[arg(long)]
    pub timestamp: Option<i64>,
    /// Print a ready curl command posting the body to this URL.
    #[arg(long, value_name = "URL")]
    pub curl: Option<String>,
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    fn parse(line: &str) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("govsync").chain(line.split_whitespace()))
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_go_anywhere_and_subcommands_take_theirs() {
        let Ok(cli) = parse("reconcile --dry-run --json") else {
            panic!("valid")
        };
        assert!(cli.json);
        assert!(matches!(
            cli.command,
            Command::Reconcile(ReconcileArgs { dry_run: true, .. })
        ));
        let Ok(cli) = parse("--json dlq replay --queue q-dlq.fifo --limit 5 --to q.fifo") else {
            panic!("valid")
        };
        assert!(cli.json);
        let Command::Dlq(DlqCommand::Replay(replay)) = cli.command else {
            panic!("dlq replay")
        };
        assert_eq!(replay.limit, Some(5));
        assert_eq!(replay.to.as_deref(), Some("q.fifo"));
        assert!(!replay.dry_run);
        let Ok(cli) = parse("webhook sign --secret-env S") else {
            panic!("valid")
        };
        let Command::Webhook(WebhookCommand::Sign(sign)) = cli.command else {
            panic!("webhook sign")
        };
        assert_eq!(sign.body, PathBuf::from("-"));
    }

    #[test]
    fn usage_errors_are_clap_errors_on_stderr() {
        for line in [
            "",
            "reconcile --dryrun",
            "dlq list --limit 0",
            "dlq replay",
            "webhook sign",
            "webhook sign --secret-env A --secret-file B",
            "webhook sign --secret plain",
            "replay-event",
        ] {
            match parse(line) {
                Err(error) => assert!(error.use_stderr(), "{line}"),
                Ok(cli) => panic!("{line:?} parsed: {cli:?}"),
            }
        }
    }
}
