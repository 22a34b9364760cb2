//! `setu import FILE [--dry-run] [--json]`

use std::io::{BufReader, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;
use setu_store::replica::{ImportProgress, Row};

use crate::cli::ImportArgs;
use crate::client::{self, Client};
use crate::datadir::{DataDir, now_ms};
use crate::target::Target;
use crate::term;

/// Rejected rows listed in the human summary (all are in `--json`).
const MAX_REJECTED_SHOWN: usize = 50;
/// Largest file sent to the running node in one request (its API's limit).
const MAX_REMOTE_IMPORT_BYTES: u64 = 64 * 1024 * 1024;

pub fn run(dir: &Path, args: ImportArgs) -> Result<ExitCode> {
    match Target::of(dir)? {
        Target::Daemon(c) => remote(&c, &args),
        Target::Local(data) => local(&data, &args),
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
    // The node's record count, to say how far an import cut off got.
    let records = || {
        c.get::<setu::Status>("/v1/status")
            .ok()
            .map(|s| s.replica.records)
    };
    let before = records();
    let done: Imported = match c.post_body(
        &format!("/v1/import?dry_run={}", args.dry_run),
        &body,
        "application/x-ndjson",
    ) {
        Ok(done) => done,
        // No answer at all (the connection was cut): say what is known.
        Err(e) if client::api_error(&e).is_none() => {
            return Err(e.context(cut_off(args, before, records())));
        }
        Err(e) => return Err(e),
    };
    let mut report = Report::new(args);
    report.rows(&done.rows);
    report.progress(&done.progress);
    report.finish(&done.progress)
}

/// What to tell the operator when a remote import got no answer: what was
/// stored (as far as the node's record count tells) and that running it
/// again is safe.
fn cut_off(args: &ImportArgs, before: Option<u64>, after: Option<u64>) -> String {
    let file = file_name(&args.file);
    if args.dry_run {
        return format!(
            "the dry run of {file} was cut off before the node answered; nothing was stored"
        );
    }
    let stored = match (before, after) {
        (Some(b), Some(a)) => format!(
            "{} rows were stored before the cut (the node holds that many more records than before the import; records from peers count too)",
            a.saturating_sub(b)
        ),
        _ => "the node did not answer afterwards, so how many rows it stored is not known".into(),
    };
    format!(
        "the import of {file} was cut off before the node answered; {stored}. Rows stored stay stored, and running the same import again is safe: they are skipped as unchanged"
    )
}

/// How a file is named to the operator.
fn file_name(path: &Path) -> String {
    if path == Path::new("-") {
        "standard input".into()
    } else {
        term::line(&path.display().to_string()).into_owned()
    }
}

/// Straight into the store, with a progress bar.
fn local(data: &DataDir, args: &ImportArgs) -> Result<ExitCode> {
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
    /// The file, as named to the operator.
    file: String,
    json: bool,
    dry_run: bool,
    /// The first rejected rows, for the human summary.
    rejected: Vec<Row>,
    stdout: std::io::Stdout,
}

impl Report {
    fn new(args: &ImportArgs) -> Report {
        Report {
            file: file_name(&args.file),
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
                    let _ = writeln!(self.stdout, "{}", term::json_line(r).unwrap_or_default());
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

    /// The summary, and the exit code: 1 if a row was rejected, or if the
    /// file held no rows at all (more likely a mistake than an import).
    fn finish(self, done: &ImportProgress) -> Result<ExitCode> {
        if done.rows == 0 {
            if self.json {
                println!(
                    "{}",
                    serde_json::json!({"summary": done, "dry_run": self.dry_run})
                );
            }
            eprintln!("no rows in {}: nothing imported", self.file);
            return Ok(ExitCode::from(1));
        }
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
                        // Problems quote the file's text.
                        println!("    {}", term::line(p));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn args(dry_run: bool) -> ImportArgs {
        ImportArgs {
            file: "practices.jsonl".into(),
            dry_run,
            json: false,
        }
    }

    /// A remote import cut off says how far it got and that re-running is
    /// safe (before, only "Peer disconnected").
    #[test]
    fn a_cut_off_import_says_what_was_stored_and_that_rerunning_is_safe() {
        let m = cut_off(&args(false), Some(100), Some(1_100));
        assert!(m.contains("practices.jsonl"), "{m}");
        assert!(m.contains("1000 rows were stored"), "{m}");
        assert!(m.contains("running the same import again is safe"), "{m}");
        let m = cut_off(&args(false), Some(100), None);
        assert!(m.contains("not known"), "{m}");
        assert!(m.contains("again is safe"), "{m}");
        let m = cut_off(&args(true), Some(100), Some(100));
        assert!(m.contains("nothing was stored"), "{m}");
    }
}
