//! The command line, as clap types. One subcommand per verb; each verb's
//! code lives in `cmd/<verb>.rs`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Setu: signed public-service practices, shared peer to peer between the
/// innovation agencies of the South.
#[derive(Debug, Parser)]
#[command(name = "setu", version, about, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Publisher keys: generate one, show its public key.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Signed records: sign a body, verify or inspect a record.
    #[command(subcommand)]
    Record(RecordCommand),
}

/// `setu keys ...`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Writes a new Ed25519 key as PKCS#8 v1 PEM, readable only by you (0600).
    Generate {
        /// Where to write the key.
        #[arg(long)]
        out: PathBuf,
        /// Replace the file if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Prints the public key (the author id) of a key file as hex.
    Show {
        /// A PKCS#8 PEM key file.
        file: PathBuf,
    },
}

/// `setu record ...`
#[derive(Debug, Subcommand)]
pub enum RecordCommand {
    /// Signs a JSON body; the output is reproducible when --seq and --ts are given.
    Sign(SignArgs),
    /// Checks a signed record (binary or hex); exits 0 if valid, 1 if not.
    Verify {
        /// The signed record, raw bytes or hex; `-` for standard input.
        file: PathBuf,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Prints a signed record as JSON.
    Inspect {
        /// The signed record, raw bytes or hex; `-` for standard input.
        file: PathBuf,
    },
}

/// Arguments of `setu record sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The publisher's key file (PKCS#8 PEM).
    #[arg(long)]
    pub key: PathBuf,
    /// The author's sequence number.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub seq: u64,
    /// The timestamp, in milliseconds since the Unix epoch [default: now].
    #[arg(long)]
    pub ts: Option<u64>,
    /// The record kind.
    #[arg(long, default_value = "practice")]
    pub kind: String,
    /// The body, as JSON; `-` for standard input.
    pub body: PathBuf,
    /// Where to write the signed record [default: standard output, if it is not a terminal].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write hex instead of raw bytes.
    #[arg(long)]
    pub hex: bool,
}
