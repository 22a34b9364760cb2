//! One module per verb. `run` dispatches.

pub mod attach;
pub mod charter;
mod demo;
mod export;
mod import;
pub mod init;
pub mod keys;
mod matching;
pub mod member;
mod peers;
mod publish;
pub mod query;
mod record;
mod run;
mod scaling;
pub mod show;
mod status;

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{Cli, Command};

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let dir = cli.data_dir;
    match cli.command {
        Command::Keys(c) => keys::run(c),
        Command::Record(c) => record::run(c),
        Command::Init(a) => init::run(&dir, a),
        Command::Charter(c) => charter::run(c),
        Command::Members(a) => member::members(&dir, a),
        Command::Member(c) => member::operate(&dir, c),
        Command::Publish(a) => publish::publish(&dir, a),
        Command::Withdraw(a) => publish::withdraw(&dir, a),
        Command::Import(a) => import::run(&dir, a),
        Command::Query(a) => query::run(&dir, a),
        Command::Show(a) => show::run(&dir, a),
        Command::Export(a) => export::run(&dir, a),
        Command::Reindex(a) => status::reindex(&dir, a.json),
        Command::Status(a) => status::status(&dir, a.json),
        Command::Run(a) => run::run(&dir, a),
        Command::Peers(a) => peers::run(&dir, a.json),
        Command::Demo(a) => demo::run(a),
        Command::Scaling(a) => scaling::run(&dir, a),
        Command::Match(a) => matching::run(&dir, a),
        Command::Attach(a) => attach::attach(&dir, a),
        Command::Fetch(a) => attach::fetch(&dir, a),
        Command::Pin(a) => attach::pin(&dir, a, false),
        Command::Deny(a) => attach::pin(&dir, a, true),
    }
}

/// Prints `value` as pretty JSON, safe for a terminal ([`crate::term`]).
/// A closed pipe (`| head`) is not an error.
pub fn print_json(value: &impl serde::Serialize) -> Result<()> {
    use std::io::Write;
    let text = crate::term::json_pretty(value)?;
    match writeln!(std::io::stdout().lock(), "{text}") {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
