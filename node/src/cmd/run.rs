//! `setu run`: the daemon.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::cli::RunArgs;

pub fn run(_dir: &Path, _args: RunArgs) -> Result<ExitCode> {
    bail!("setu run: not written yet")
}
