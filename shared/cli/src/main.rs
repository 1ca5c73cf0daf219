//! `govsync`: the operator CLI. Wires only: arguments → logging → the environment (local stack
//! defaults) → the async runtime → the command → the exit code. See `govsync --help` and `lib.rs`.

use std::process::ExitCode;

use clap::Parser;
use govsync_cli::{Cli, Exit};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help / --version print and exit 0; a usage error exits 2 (Exit::Usage).
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() {
                Exit::Usage.code()
            } else {
                Exit::Ok.code()
            });
        }
    };
    govsync_cli::logging::init(cli.verbose);
    // Before any thread exists: it may set variables (the local stack's function environment).
    if let Err(error) = govsync_cli::environment::prepare(&cli) {
        eprintln!("govsync: {error}");
        return ExitCode::from(error.exit().code());
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("govsync: cannot start the async runtime: {error}");
            return ExitCode::from(Exit::Error.code());
        }
    };
    match runtime.block_on(govsync_cli::run(&cli)) {
        Ok(exit) => ExitCode::from(exit.code()),
        Err(error) => {
            eprintln!("govsync: {error}");
            ExitCode::from(error.exit().code())
        }
    }
}
