//! `setu peers`: the running node's peers (through its API).

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, bail};

pub fn run(_dir: &Path, _json: bool) -> Result<ExitCode> {
    bail!("setu peers: not written yet")
}
