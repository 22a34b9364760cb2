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

/// jemalloc instead of glibc's allocator. Decoding a record makes many
/// small allocations, and in a process whose heap has seen an ingest or an
/// index build glibc's slow path dominated: a JSONL export of 100k records
/// took 5.3 s with glibc and 1.3 s with jemalloc, a `setu import` of 100k
/// bodies ran 3x faster (BENCHMARKS.md §1).
#[cfg(not(feature = "system-alloc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's settings, read when it starts: one arena (a node's threads
/// allocate little in parallel; more arenas each keep their own free
/// pages), and freed pages returned to the system after 250 ms, not 10 s.
/// The peak RSS of a 100k import: 272 MiB with jemalloc's defaults, 245
/// MiB with a 1 s decay (glibc, before: 247 MiB). Once sled's histograms
/// and tantivy's queued deletes were gone, by hand: decay 1 s, 187–191 MiB;
/// 250 ms, 181–185 MiB at the same speed; 0, 177 MiB but 20% slower.
#[cfg(not(feature = "system-alloc"))]
#[allow(unsafe_code)] // the symbol jemalloc reads its settings from
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static MALLOC_CONF: &[u8; 46] = b"narenas:1,dirty_decay_ms:250,muzzy_decay_ms:0\0";

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
