//! `setu`: the command-line tool and (later) the daemon of a Setu node.
//!
//! Exit codes: 0 success (or a valid record), 1 an invalid record or a
//! failed operation, 2 a usage error.

mod api;
mod cli;
mod client;
mod cmd;
mod config;
mod datadir;
mod filters;
mod io;
mod term;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SETU_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = cli::Cli::parse();
    match cmd::run(cli) {
        Ok(code) => code,
        Err(e) => {
            // Errors may quote what a peer or a file said.
            eprintln!("error: {}", term::block(&format!("{e:#}")));
            ExitCode::from(1)
        }
    }
}
