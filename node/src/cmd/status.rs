//! `setu status`, `setu reindex`

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::datadir::DataDir;

pub fn status(dir: &Path, json: bool) -> Result<ExitCode> {
    let data = DataDir::open(dir)?;
    let replica = data.replica()?;
    let s = replica.status()?;
    let author = data.key().ok().map(|k| k.author());
    if json {
        crate::cmd::print_json(&serde_json::json!({"status": s, "publisher": author,
            "agency": data.config.publisher.agency, "country": data.config.publisher.country}))?;
    } else {
        println!("data dir      {}", dir.display());
        if let Some(a) = author {
            println!(
                "publisher     {a} ({}, {})",
                data.config.publisher.agency, data.config.publisher.country
            );
        }
        println!("records       {}", s.records);
        println!("practices     {} current (active)", s.practices);
        println!("index docs    {}", s.indexed_documents);
        println!(
            "index lag     {} store changes (store at {}, index at {})",
            s.index_lag, s.store_change, s.index_change
        );
        println!("disk          {:.1} MiB", s.disk_bytes as f64 / 1_048_576.0);
        if s.flagged_authors > 0 {
            println!("flagged       {} authors equivocated", s.flagged_authors);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn reindex(dir: &Path, json: bool) -> Result<ExitCode> {
    let data = DataDir::open(dir)?;
    let mut replica = data.replica()?;
    let n = replica.reindex()?;
    if json {
        crate::cmd::print_json(&serde_json::json!({"practices": n}))?;
    } else {
        println!("reindexed {n} practices");
    }
    Ok(ExitCode::SUCCESS)
}
