//! One module per verb. `run` dispatches.

mod keys;
mod record;

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{Cli, Command};

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Keys(c) => keys::run(c),
        Command::Record(c) => record::run(c),
    }
}
