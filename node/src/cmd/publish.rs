//! `setu publish BODY.json`, `setu withdraw PRACTICE_ID --reason TEXT`

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use setu_store::replica::{PublishError, Published};

use crate::cli::{PublishArgs, WithdrawArgs};
use crate::datadir::{DataDir, now_ms};
use crate::io;

pub fn publish(dir: &Path, args: PublishArgs) -> Result<ExitCode> {
    let data = DataDir::open(dir)?;
    let key = data.key()?;
    let text = io::read_small(&args.body, io::MAX_BODY_FILE_BYTES, "a body file")?;
    let body: serde_json::Value = serde_json::from_slice(&text)
        .with_context(|| format!("{} is not JSON", args.body.display()))?;
    let mut replica = data.replica()?;
    report(
        replica.publish(&key, body, now_ms()),
        args.json,
        "published",
    )
}

pub fn withdraw(dir: &Path, args: WithdrawArgs) -> Result<ExitCode> {
    let data = DataDir::open(dir)?;
    let key = data.key()?;
    let mut replica = data.replica()?;
    report(
        replica.withdraw(&key, &args.practice_id, &args.reason, now_ms()),
        args.json,
        "withdrew",
    )
}

fn report(result: Result<Published, PublishError>, json: bool, verb: &str) -> Result<ExitCode> {
    match result {
        Ok(p) => {
            if json {
                crate::cmd::print_json(&p)?;
            } else {
                println!(
                    "{verb} {} revision {} | id {} | seq {}",
                    p.practice_id, p.revision, p.id, p.seq
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(PublishError::Invalid(problems)) => {
            if json {
                crate::cmd::print_json(
                    &serde_json::json!({"error": "invalid", "problems": problems}),
                )?;
            } else {
                eprintln!("not {verb}: the body is not valid");
                for p in problems {
                    eprintln!("  {p}");
                }
            }
            Ok(ExitCode::from(1))
        }
        Err(e) => {
            if json {
                crate::cmd::print_json(&serde_json::json!({"error": e.to_string()}))?;
            } else {
                eprintln!("not {verb}: {e}");
            }
            Ok(ExitCode::from(1))
        }
    }
}
