//! `setu record sign | verify | inspect`.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use serde_json::json;
use setu_core::practice::{self, Practice};
use setu_core::record::{self, Body, Record, RecordError};

use crate::cli::{RecordCommand, SignArgs};
use crate::io;
use crate::term;

pub fn run(cmd: RecordCommand) -> Result<ExitCode> {
    match cmd {
        RecordCommand::Sign(args) => sign(args),
        RecordCommand::Verify { file, json } => {
            let (raw, over) = io::read_limited(&file, io::MAX_RECORD_FILE_BYTES)?;
            let result = if over {
                Err(too_big())
            } else {
                record::check(io::record_bytes(raw))
            };
            verify_report(&result, json);
            Ok(if result.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        RecordCommand::Inspect { file } => {
            let (raw, over) = io::read_limited(&file, io::MAX_RECORD_FILE_BYTES)?;
            let bytes = io::record_bytes(raw);
            let result = if over {
                Err(too_big())
            } else {
                record::check(bytes.clone())
            };
            let out = match &result {
                Ok(rec) => inspect_json(rec),
                Err(e) => {
                    // Show what can be read, and why it is refused.
                    let envelope = record::parse(bytes)
                        .ok()
                        .map(|p| setu_core::json::to_json(&p.envelope().to_value()));
                    json!({"valid": false, "reason": e.reason, "problems": e.problems, "envelope": envelope})
                }
            };
            println!("{}", term::json_pretty(&out)?);
            Ok(if result.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

fn too_big() -> RecordError {
    RecordError {
        reason: record::Reason::Size,
        problems: vec![practice::Problem {
            path: "record".into(),
            message: format!(
                "the file is larger than any record of at most {} bytes",
                record::MAX_RECORD_BYTES
            ),
        }],
    }
}

fn sign(args: SignArgs) -> Result<ExitCode> {
    let inputs = [args.key.as_path(), args.body.as_path()];
    if let Some(out) = &args.out {
        // Before any work: a refused --out should not cost a signature.
        io::check_output(out, &inputs, args.force)?;
    }
    let key = super::keys::load(&args.key)?;
    let text = io::read_small(&args.body, io::MAX_BODY_FILE_BYTES, "a body file")?;
    let ts = args.ts.unwrap_or_else(crate::datadir::now_ms);
    let result = if args.kind == practice::KIND {
        let body: Practice = parse_practice(&text)
            .with_context(|| format!("{} is not a practice body", args.body.display()))?;
        record::sign_practice(&key, args.seq, ts, &body)
    } else {
        let json: serde_json::Value = serde_json::from_slice(&text)
            .with_context(|| format!("{} is not JSON", args.body.display()))?;
        let body = setu_core::json::from_json(&json)
            .with_context(|| format!("{}: body", args.body.display()))?;
        record::sign(&key, &args.kind, args.seq, ts, body)
    };
    let rec = match result {
        Ok(rec) => rec,
        Err(e) => {
            eprintln!("cannot sign {}: the body is not valid", args.body.display());
            print_problems(&e);
            return Ok(ExitCode::from(1));
        }
    };
    let bytes = if args.hex {
        let mut h = hex::encode(rec.bytes()).into_bytes();
        h.push(b'\n');
        h
    } else {
        rec.bytes().to_vec()
    };
    match &args.out {
        Some(path) => {
            io::write_output(path, &bytes, &inputs, args.force, 0o644)?;
            eprintln!(
                "signed {} ({} bytes) -> {}",
                rec.id(),
                rec.bytes().len(),
                path.display()
            );
        }
        None => {
            let mut stdout = std::io::stdout();
            if stdout.is_terminal() && !args.hex {
                bail!("refusing to write binary to a terminal; use --out FILE or --hex");
            }
            stdout.write_all(&bytes)?;
            stdout.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads a practice body from JSON, naming the path of the first problem.
fn parse_practice(text: &[u8]) -> Result<Practice> {
    let de = &mut serde_json::Deserializer::from_slice(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." || path.is_empty() {
            anyhow::anyhow!("{inner}")
        } else {
            anyhow::anyhow!("body.{path}: {inner}")
        }
    })
}

fn print_problems(e: &RecordError) {
    for p in &e.problems {
        eprintln!("  [{}] {}", e.reason, term::line(&p.to_string()));
    }
}

/// One line about a valid record; the author's text goes through [`term`].
fn summary(rec: &Record) -> String {
    let env = rec.envelope();
    match rec.body() {
        Body::Practice(p) => {
            let title = p.title.as_ref().map(|t| t.best("en").to_string());
            format!(
                "valid: practice {} rev {}{}{} | id {} | author {} | seq {} | ts {}",
                p.practice_id,
                p.revision,
                if p.is_withdrawal() {
                    " (withdrawal)"
                } else {
                    ""
                },
                title
                    .map(|t| format!(" \"{}\"", term::line(&t)))
                    .unwrap_or_default(),
                rec.id(),
                env.author,
                env.seq,
                env.ts
            )
        }
        _ => format!(
            "valid: record of unknown kind \"{}\" | id {} | author {} | seq {} | ts {} | only the envelope and signature were checked",
            term::line(&env.kind),
            rec.id(),
            env.author,
            env.seq,
            env.ts
        ),
    }
}

fn verify_report(result: &Result<Record, RecordError>, as_json: bool) {
    match (result, as_json) {
        (Ok(rec), false) => println!("{}", summary(rec)),
        (Ok(rec), true) => println!(
            "{}",
            term::json_line(
                &json!({"valid": true, "id": rec.id(), "kind": rec.envelope().kind,
                       "known_kind": matches!(rec.body(), Body::Practice(_))})
            )
            .unwrap_or_default()
        ),
        (Err(e), false) => {
            println!("invalid: {}", e.reason);
            for p in &e.problems {
                println!("  [{}] {}", e.reason, term::line(&p.to_string()));
            }
        }
        (Err(e), true) => println!(
            "{}",
            term::json_line(&json!({"valid": false, "reason": e.reason, "problems": e.problems}))
                .unwrap_or_default()
        ),
    }
}

fn inspect_json(rec: &Record) -> serde_json::Value {
    let env = rec.envelope();
    json!({
        "valid": true,
        "id": rec.id(),
        "kind": env.kind,
        "known_kind": matches!(rec.body(), Body::Practice(_)),
        "author": env.author,
        "seq": env.seq,
        "ts": env.ts,
        "signature": hex::encode(rec.signature()),
        "size": rec.bytes().len(),
        "envelope": rec.envelope_json(),
    })
}
