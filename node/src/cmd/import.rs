//! `setu import FILE [--dry-run] [--json]`

use std::io::{BufReader, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use setu_store::replica::{ImportProgress, Row};

use crate::cli::ImportArgs;
use crate::datadir::{DataDir, now_ms};

/// Rejected rows listed in the human summary (all are in `--json`).
const MAX_REJECTED_SHOWN: usize = 50;

pub fn run(dir: &Path, args: ImportArgs) -> Result<ExitCode> {
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
    let mut rejected: Vec<Row> = Vec::new();
    let mut stdout = std::io::stdout();
    let mut on_batch = |p: &ImportProgress, rows: &[Row]| {
        bar.set_position(p.bytes);
        bar.set_message(format!(
            "{} imported, {} skipped, {} rejected",
            p.imported, p.skipped, p.rejected
        ));
        for r in rows {
            if matches!(r, Row::Rejected { .. }) {
                if args.json {
                    let _ = writeln!(stdout, "{}", serde_json::to_string(r).unwrap_or_default());
                } else if rejected.len() < MAX_REJECTED_SHOWN {
                    rejected.push(r.clone());
                }
            }
        }
        if args.json {
            // Each line is written only after its batch is durable.
            let _ = writeln!(stdout, "{}", serde_json::json!({"progress": p}));
            let _ = stdout.flush();
        }
    };
    let done = replica.import(&mut input, &key, now_ms(), args.dry_run, &mut on_batch)?;
    bar.finish_and_clear();
    if args.json {
        println!(
            "{}",
            serde_json::json!({"summary": done, "dry_run": args.dry_run})
        );
    } else {
        let verb = if args.dry_run {
            "valid (dry run, nothing stored)"
        } else {
            "imported"
        };
        println!(
            "{} rows: {} {verb}, {} skipped (unchanged), {} rejected",
            done.rows, done.imported, done.skipped, done.rejected
        );
        for r in &rejected {
            if let Row::Rejected { line, problems } = r {
                println!("  line {line}:");
                for p in problems {
                    println!("    {p}");
                }
            }
        }
        if done.rejected > rejected.len() {
            println!(
                "  ... and {} more rejected rows (use --json to see all)",
                done.rejected - rejected.len()
            );
        }
    }
    Ok(if done.rejected == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
