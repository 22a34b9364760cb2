//! `setu export --format jsonl|csv|parquet --out FILE [filters]`

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use setu_export::{Export, Format};

use crate::cli::{ExportArgs, ExportFormat};
use crate::datadir::DataDir;

pub fn run(dir: &Path, args: ExportArgs) -> Result<ExitCode> {
    let q = args.filters.to_query()?;
    let problems = q.problems();
    if !problems.is_empty() {
        bail!("the filters are not valid:\n  {}", problems.join("\n  "));
    }
    let format = match args.format {
        ExportFormat::Jsonl => Format::Jsonl,
        ExportFormat::Csv => Format::Csv,
        ExportFormat::Parquet => Format::Parquet,
    };
    // Never over the replica it reads; an existing file only with --force.
    // The export writes its tables (and for CSV the data package) beside it.
    for f in setu_export::export_files(format, &args.out) {
        crate::io::check_output(&f, &[dir], args.force)?;
    }
    let data = DataDir::open(dir)?;
    let replica = data.replica()?;
    if let Some(parent) = args.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", parent.display()))?;
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} records",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let summary = replica.export(&q, format, &args.out, &mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })?;
    bar.finish_and_clear();
    let files: Vec<String> = summary
        .files
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    println!(
        "exported {} practices, {} adoption reports ({} edges) and {} needs ({} bytes) to {}",
        summary.rows,
        summary.adoptions,
        summary.edges,
        summary.seekings,
        summary.bytes,
        files.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}
