//! `setu demo`: three nodes on loopback.

use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::cli::DemoArgs;

pub fn run(_args: DemoArgs) -> Result<ExitCode> {
    bail!("setu demo: not written yet")
}
