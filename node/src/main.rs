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
mod target;
mod term;
mod views;

use std::process::ExitCode;

use clap::Parser;

/// What is logged when SETU_LOG is not set: warnings, but not libp2p
/// Kademlia's "Failed to trigger bootstrap: No known peers", which its
/// periodic bootstrap prints while a node has no peer yet (a first node,
/// `setu demo`): harmless, and nothing an operator can act on.
const DEFAULT_LOG: &str = "warn,libp2p_kad::behaviour=error";

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    logging(cli.log_format);
    match cmd::run(cli) {
        Ok(code) => code,
        Err(e) => {
            // Errors may quote what a peer or a file said.
            eprintln!("error: {}", term::block(&format!("{e:#}")));
            ExitCode::from(1)
        }
    }
}

/// Logs to stderr: plain text, coloured only when stderr is a terminal, or
/// JSON lines.
fn logging(format: cli::LogFormat) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("SETU_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        cli::LogFormat::Json => builder.json().init(),
        cli::LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
    }
}
