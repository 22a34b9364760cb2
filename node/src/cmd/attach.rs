//! `setu attach PRACTICE_ID FILE --title ... --category ...` and
//! `setu fetch HASH` (`spec/attachments.md`).

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::publish::{Refused, remote, report};
use crate::cli::{AttachArgs, ContentArgs, FetchArgs};
use crate::datadir::now_ms;
use crate::target::Target;

/// How often `setu fetch` asks the daemon how far it got.
const POLL: Duration = Duration::from_millis(250);

fn bar(len: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "  {{bar:40}} {{bytes}}/{{total_bytes}} {what}"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

pub fn attach(dir: &Path, args: AttachArgs) -> Result<ExitCode> {
    let size = std::fs::metadata(&args.file)
        .with_context(|| format!("{}", args.file.display()))?
        .len();
    let content = setu_blob::content::Dir::open(dir.join(setu::attachments::CONTENT_DIR))?;
    let progress = bar(size, "hashed");
    let p = progress.clone();
    let added = content
        .add_file(
            &args.file,
            setu::attachments::MAX_ATTACHMENT_BYTES,
            move |n| p.set_position(n),
        )
        .with_context(|| format!("{}", args.file.display()))?;
    progress.finish_and_clear();
    let target = Target::of(dir)?;
    let publisher = match (&args.publisher, &target) {
        (Some(k), _) => k.clone(),
        (None, Target::Local(d)) => d.key()?.author().to_hex(),
        (None, Target::Daemon(c)) => {
            let st: Value = c.get("/v1/status")?;
            match st["publisher"].as_str() {
                Some(k) => k.to_string(),
                None => bail!("this node has no publishing key; give --publisher"),
            }
        }
    };
    let mut body = json!({
        "attachment_id": format!("ATT-{}", &added.hash.to_hex()[..16]),
        "practice": {"key": publisher, "practice_id": args.practice_id},
        "hash": added.hash.to_hex(),
        "size": added.size,
        "media_type": args.media_type.clone().unwrap_or_else(|| setu::attachments::media_type_of(&args.file).to_string()),
        "title": {"original": args.title_lang, "text": {args.title_lang.clone(): args.title}},
        "language": args.language,
        "category": args.category,
    });
    if let Some(name) = args.file.file_name().and_then(|n| n.to_str()) {
        body["file_name"] = json!(name);
    }
    if let Some(l) = &args.licence {
        body["licence"] = json!(l);
    }
    let result = match target {
        Target::Daemon(c) => remote(c.post_json("/v1/attachments", &body))?,
        Target::Local(data) => {
            let key = data.key()?;
            let mut replica = data.replica()?;
            replica
                .publish_kind(&key, setu_core::attachment::KIND, body, now_ms())
                .map_err(Refused::from)
        }
    };
    match (&result, args.json) {
        (Ok(p), true) => {
            crate::cmd::print_json(&json!({
                "hash": added.hash.to_hex(),
                "size": added.size,
                "attachment_id": p.practice_id,
                "id": p.id,
                "revision": p.revision,
                "seq": p.seq,
            }))?;
            Ok(ExitCode::SUCCESS)
        }
        (Ok(_), false) => {
            println!("hash {} | {} bytes", added.hash, added.size);
            report(result, false, "attached")
        }
        (Err(_), json) => report(result, json, "attached"),
    }
}

pub fn fetch(dir: &Path, args: FetchArgs) -> Result<ExitCode> {
    let hash: setu_blob::Hash = args.hash.parse()?;
    let Some(client) = crate::target::running(dir) else {
        bail!("setu fetch goes through the running node: start it with `setu run`");
    };
    let view: Value = client.post_json(&format!("/v1/attachments/{hash}/fetch"), &json!({}))?;
    let size = view["attachment"]["size"].as_u64().unwrap_or(0);
    let progress = bar(size, "verified");
    loop {
        let v: Value = client.get(&format!("/v1/attachments/{hash}/status"))?;
        let (held, blocks) = (
            v["blocks_held"].as_u64().unwrap_or(0),
            v["blocks"].as_u64().unwrap_or(1).max(1),
        );
        if !args.json {
            progress.set_position(size * held / blocks);
        }
        if v["availability"] == "complete" {
            progress.finish_and_clear();
            let path = dir
                .join(setu::attachments::CONTENT_DIR)
                .join("blobs")
                .join(hash.to_hex());
            if args.json {
                crate::cmd::print_json(
                    &json!({"hash": hash.to_hex(), "size": size, "path": path}),
                )?;
            } else {
                println!("fetched {hash} | {size} bytes | {}", path.display());
            }
            return Ok(ExitCode::SUCCESS);
        }
        std::thread::sleep(POLL);
    }
}

/// `setu pin HASH [--off]`, `setu deny HASH [--off]`: the lists are files
/// in the content folder, read by the running node on each use, so this
/// works with the node running or stopped.
pub fn pin(dir: &Path, args: ContentArgs, deny: bool) -> Result<ExitCode> {
    let hash: setu_blob::Hash = args.hash.parse()?;
    let content = setu_blob::content::Dir::open(dir.join(setu::attachments::CONTENT_DIR))?;
    let on = !args.off;
    if deny {
        content.deny(&hash, on)?;
        println!(
            "{} {hash}",
            if on {
                "refused (and removed)"
            } else {
                "no longer refused:"
            }
        );
    } else {
        content.pin(&hash, on)?;
        println!("{} {hash}", if on { "pinned" } else { "unpinned" });
    }
    Ok(ExitCode::SUCCESS)
}
