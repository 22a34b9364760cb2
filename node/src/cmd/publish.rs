//! `setu publish BODY.json`, `setu withdraw PRACTICE_ID --reason TEXT`

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use setu_core::practice::Problem;
use setu_store::replica::{PublishError, Published};

use crate::cli::{Kind, PublishArgs, WithdrawArgs};
use crate::client;
use crate::datadir::now_ms;
use crate::io;
use crate::target::Target;
use crate::term;

/// Why a publish or withdrawal did not happen, from either path.
pub(super) enum Refused {
    /// The body is not valid: every problem.
    Invalid(Vec<Problem>),
    /// Anything else, for a person.
    Other(String),
}

impl From<PublishError> for Refused {
    fn from(e: PublishError) -> Refused {
        match e {
            PublishError::Invalid(problems) => Refused::Invalid(problems),
            e => Refused::Other(e.to_string()),
        }
    }
}

/// The node's refusals become [`Refused`]; failing to reach it stays an error.
pub(super) fn remote(result: Result<Published>) -> Result<Result<Published, Refused>> {
    match result {
        Ok(p) => Ok(Ok(p)),
        Err(e) => match client::api_error(&e) {
            Some(a) if a.code() == "invalid-body" || (a.status == 422 && !a.errors.is_empty()) => {
                Ok(Err(Refused::Invalid(
                    a.errors
                        .iter()
                        .map(|s| match s.split_once(": ") {
                            Some((path, message)) => Problem {
                                path: path.to_string(),
                                message: message.to_string(),
                            },
                            None => Problem {
                                path: "body".to_string(),
                                message: s.clone(),
                            },
                        })
                        .collect(),
                )))
            }
            // Authorization and server failures are not refusals of the body.
            Some(a) if a.status != 401 && a.status < 500 => Ok(Err(Refused::Other(a.to_string()))),
            _ => Err(e),
        },
    }
}

pub fn publish(dir: &Path, args: PublishArgs) -> Result<ExitCode> {
    let text = io::read_small(&args.body, io::MAX_BODY_FILE_BYTES, "a body file")?;
    let mut body: serde_json::Value = serde_json::from_slice(&text)
        .with_context(|| format!("{} is not JSON", args.body.display()))?;
    let kind = args.kind.name();
    // Files named in `attachments`, relative to the body file: hashed and
    // checked before anything is published.
    let base = args.body.parent().unwrap_or(Path::new("."));
    let attaching = super::attach::Attaching::take(dir, args.kind, &mut body, base)?;
    let result = match Target::of(dir)? {
        Target::Daemon(c) => remote(c.post_json(collection(args.kind), &body))?,
        Target::Local(data) => {
            let key = data.key()?;
            let mut replica = data.replica()?;
            replica
                .publish_kind(&key, kind, body, now_ms())
                .map_err(Refused::from)
        }
    };
    let published = result.is_ok();
    let code = report(result, args.json, "published")?;
    match attaching {
        Some(a) if published => a.publish(dir, args.json),
        _ => Ok(code),
    }
}

pub fn withdraw(dir: &Path, args: WithdrawArgs) -> Result<ExitCode> {
    // The local text rule of publishing applies to the reason too.
    let problems =
        setu_core::practice::text::check(&mut serde_json::json!({"reason": args.reason}));
    let result = if !problems.is_empty() {
        Err(Refused::Invalid(problems))
    } else {
        match Target::of(dir)? {
            Target::Daemon(c) => remote(c.post_json(
                &format!(
                    "{}/{}/withdraw",
                    collection(args.kind),
                    client::encode(&args.practice_id)
                ),
                &serde_json::json!({"reason": args.reason}),
            ))?,
            Target::Local(data) => {
                let key = data.key()?;
                let mut replica = data.replica()?;
                replica
                    .withdraw_kind(
                        &key,
                        args.kind.name(),
                        &args.practice_id,
                        &args.reason,
                        now_ms(),
                    )
                    .map_err(Refused::from)
            }
        }
    };
    report(result, args.json, "withdrew")
}

/// The API's collection of a kind.
fn collection(kind: Kind) -> &'static str {
    match kind {
        Kind::Practice => "/v1/practices",
        Kind::Adoption => "/v1/adoptions",
        Kind::Seeking => "/v1/seekings",
    }
}

pub(super) fn report(
    result: Result<Published, Refused>,
    json: bool,
    verb: &str,
) -> Result<ExitCode> {
    match result {
        Ok(p) => {
            if json {
                crate::cmd::print_json(&p)?;
            } else {
                println!(
                    "{verb} {} revision {} | id {} | seq {}",
                    term::line(&p.practice_id),
                    p.revision,
                    p.id,
                    p.seq
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(Refused::Invalid(problems)) => {
            if json {
                crate::cmd::print_json(
                    &serde_json::json!({"error": "invalid", "problems": problems}),
                )?;
            } else {
                eprintln!("not {verb}: the body is not valid");
                for p in problems {
                    eprintln!("  {}", term::line(&p.to_string()));
                }
            }
            Ok(ExitCode::from(1))
        }
        Err(Refused::Other(e)) => {
            if json {
                crate::cmd::print_json(&serde_json::json!({"error": e}))?;
            } else {
                eprintln!("not {verb}: {}", term::block(&e));
            }
            Ok(ExitCode::from(1))
        }
    }
}
