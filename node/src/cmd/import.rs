//! `setu import FILE [--dry-run] [--json]`

use std::io::{BufReader, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;
use setu_store::replica::{ImportProgress, Row};

use crate::cli::ImportArgs;
use crate::client::Client;
use crate::datadir::{DataDir, now_ms};

/// Rejected rows listed in the human summary (all are in `--json`).
const MAX_REJECTED_SHOWN: usize = 50;
/// Largest file sent to the running node in one request (its API's limit).
const MAX_REMOTE_IMPORT_BYTES: u64 = 64 * 1024 * 1024;

pub fn run(dir: &Path, args: ImportArgs) -> Result<ExitCode> {
    match Client::discover(dir) {
        Some(c) => remote(&c, &args),
        None => local(dir, &args),
    }
}

/// The answer of `POST /v1/import`.
#[derive(Debug, Deserialize)]
struct Imported {
    progress: ImportProgress,
    rows: Vec<Row>,
}

/// Through the running node: the whole file in one request.
fn remote(c: &Client, args: &ImportArgs) -> Result<ExitCode> {
    let (body, over) = crate::io::read_limited(&args.file, MAX_REMOTE_IMPORT_BYTES)?;
    if over {
        bail!(
            "{} is larger than {} MiB, the most `setu import` sends to the running node ({}); split it, or stop the node and import it directly",
            args.file.display(),
            MAX_REMOTE_IMPORT_BYTES / (1024 * 1024),
            c.base()
        );
    }
    let done: Imported = c.post_body(
        &format!("/v1/import?dry_run={}", args.dry_run),
        &body,
        "application/x-ndjson",
    )?;
    let mut report = Report::new(args);
    report.rows(&done.rows);
    report.progress(&done.progress);
    report.finish(&done.progress)
}

/// Straight into the store, with a progress bar.
fn local(dir: &Path, args: &ImportArgs) -> Result<ExitCode> {
    let data = DataDir::open(dir)?;
    let key = data.key()?;
    let (mut input, size): (Box<dyn std::io::BufRead>, Option<u64>) = if args.file == Path::new("-")
    {
        (Box::new(BufReader::new(std::io::stdin())), None)
    } else {
        let f = std::fs::File::open(&args.file)
            .with_context(|| format!("cannot open {}", args.file.display()))?;
        let size = f.metadata().ok().map(|m| m.len());
        (Box::new(BufReader::new(f)), size)
    };
    let mut replica = data.replica()?;
    let bar = if args.json {
        ProgressBar::hidden()
    } else {
        let bar = size.map_or_else(ProgressBar::new_spinner, ProgressBar::new);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    };
    let mut report = Report::new(args);
    let mut on_batch = |p: &ImportProgress, rows: &[Row]| {
        bar.set_position(p.bytes);
        bar.set_message(format!(
            "{} imported, {} skipped, {} rejected",
            p.imported, p.skipped, p.rejected
        ));
        report.rows(rows);
        // Each line is written only after its batch is durable.
        report.progress(p);
    };
    let done = replica.import(&mut input, &key, now_ms(), args.dry_run, &mut on_batch)?;
    bar.finish_and_clear();
    report.finish(&done)
}

/// What the user sees of an import, from either path.
struct Report {
    json: bool,
    dry_run: bool,
    /// The first rejected rows, for the human summary.
    rejected: Vec<Row>,
    stdout: std::io::Stdout,
}

impl Report {
    fn new(args: &ImportArgs) -> Report {
        Report {
            json: args.json,
            dry_run: args.dry_run,
            rejected: Vec::new(),
            stdout: std::io::stdout(),
        }
    }

    /// A batch of rows: `--json` prints the rejected ones now; the human
    /// summary keeps the first few.
    fn rows(&mut self, rows: &[Row]) {
        for r in rows {
            if matches!(r, Row::Rejected { .. }) {
                if self.json {
                    let _ = writeln!(
                        self.stdout,
                        "{}",
                        serde_json::to_string(r).unwrap_or_default()
                    );
                } else if self.rejected.len() < MAX_REJECTED_SHOWN {
                    self.rejected.push(r.clone());
                }
            }
        }
    }

    /// A stored batch (`--json` only).
    fn progress(&mut self, p: &ImportProgress) {
        if self.json {
            let _ = writeln!(self.stdout, "{}", serde_json::json!({"progress": p}));
            let _ = self.stdout.flush();
        }
    }

    /// The summary, and the exit code.
    fn finish(self, done: &ImportProgress) -> Result<ExitCode> {
        if self.json {
            println!(
                "{}",
                serde_json::json!({"summary": done, "dry_run": self.dry_run})
            );
        } else {
            let verb = if self.dry_run {
                "valid (dry run, nothing stored)"
            } else {
                "imported"
            };
            println!(
                "{} rows: {} {verb}, {} skipped (unchanged), {} rejected",
                done.rows, done.imported, done.skipped, done.rejected
            );
            for r in &self.rejected {
                if let Row::Rejected { line, problems } = r {
                    println!("  line {line}:");
                    for p in problems {
                        println!("    {p}");
                    }
                }
            }
            if done.rejected > self.rejected.len() {
                println!(
                    "  ... and {} more rejected rows (use --json to see all)",
                    done.rejected - self.rejected.len()
                );
            }
        }
        Ok(if done.rejected == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    }
}
