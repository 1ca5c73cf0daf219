//! The environment the commands read: the functions' own variables. On the local stack (`--stack-env
//! FILE`, or `GOVSYNC_MOTO_URL` set by `source .local/stack/stack.env`), the local runner's function
//! environment fills in what Lambda would set (registry map, tables, queues, governance auth), exactly
//! as `govsync-local-runner` does for the functions; variables already set win. Against a deployment
//! (no `GOVSYNC_MOTO_URL`), nothing is added: set the variables the functions have (`infra/template.yaml`)
//! and AWS credentials and region.

use crate::cli::{Cli, Command};
use crate::error::CliError;

/// The function whose environment a command needs on the local stack, if any.
pub fn function_environment_of(command: &Command) -> Option<&'static str> {
    match command {
        // The reconciler's environment: registry-events' plus the decommission queue (approval-propagation's
        // local environment holds both) and the cursors table.
        Command::Status(_) | Command::Reconcile(_) => Some("approval-propagation"),
        Command::ReplayEvent(_) | Command::Dlq(_) => Some("registry-events"),
        Command::Mapping(_) | Command::Webhook(_) => None,
    }
}

/// Whether the local stack's defaults apply.
pub fn is_local(cli: &Cli, lookup: impl Fn(&str) -> Option<String>) -> bool {
    cli.stack_env.is_some() || lookup("GOVSYNC_MOTO_URL").is_some_and(|url| !url.trim().is_empty())
}

/// Sets the local stack's function environment when it applies. Call before any thread exists.
pub fn prepare(cli: &Cli) -> Result<(), CliError> {
    let Some(function) = function_environment_of(&cli.command) else {
        return Ok(());
    };
    if !is_local(cli, |name| std::env::var(name).ok()) {
        return Ok(());
    }
    govsync_local_runner::local_env::set_function_environment(
        function,
        cli.stack_env.as_deref(),
        false,
    )?;
    Ok(())
}
