//! `setu attach PRACTICE_ID FILE --title ... --category ...`, the files a
//! body given to `setu publish` names in `attachments`, `setu fetch HASH`,
//! `setu pin` and `setu deny` (`spec/attachments.md`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use setu_store::replica::Published;

use super::publish::{Refused, remote, report};
use crate::cli::{AttachArgs, ContentArgs, FetchArgs, Kind};
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

/// Files a body given to `setu publish` may name in `attachments`, at most.
pub const MAX_BODY_ATTACHMENTS: usize = 16;
/// The fields of an entry of a body's `attachments`.
const ENTRY_FIELDS: &[&str] = &[
    "file",
    "title",
    "category",
    "language",
    "media_type",
    "licence",
    "description",
];

/// What a reference says of its file besides the hash and size.
pub(super) struct Meta {
    /// A `LangText` object.
    title: Value,
    category: String,
    language: String,
    media_type: Option<String>,
    licence: Option<String>,
    description: Option<Value>,
}

/// A file kept in the content folder: its hash and size.
pub(super) struct Kept {
    file: PathBuf,
    added: setu_blob::content::Added,
    meta: Meta,
}

/// Hashes `file` into the node's content folder, with a progress bar.
fn keep(dir: &Path, file: &Path, meta: Meta) -> Result<Kept> {
    let size = std::fs::metadata(file)
        .with_context(|| format!("{}", file.display()))?
        .len();
    let max = crate::datadir::DataDir::open(dir)?
        .config
        .network
        .attachment_max_bytes;
    if size > max {
        bail!(
            "{}: {size} bytes, more than this node's limit of {max} (network.attachment_max_bytes in setu.toml)",
            file.display()
        );
    }
    let content = setu_blob::content::Dir::open(dir.join(setu::attachments::CONTENT_DIR))?;
    let progress = bar(size, "hashed");
    let p = progress.clone();
    let added = content
        .add_file(file, max, move |n| p.set_position(n))
        .with_context(|| format!("{}", file.display()))?;
    progress.finish_and_clear();
    Ok(Kept {
        file: file.to_path_buf(),
        added,
        meta,
    })
}

/// The body of the attachment record for `kept`, naming `owner` (a
/// `{"practice": …}` or `{"adoption": …}` object).
fn reference_body(kept: &Kept, owner: Value) -> Value {
    let m = &kept.meta;
    let mut body = json!({
        "attachment_id": format!("ATT-{}", &kept.added.hash.to_hex()[..16]),
        "hash": kept.added.hash.to_hex(),
        "size": kept.added.size,
        "media_type": m.media_type.clone().unwrap_or_else(|| setu::attachments::media_type_of(&kept.file).to_string()),
        "title": m.title,
        "language": m.language,
        "category": m.category,
    });
    if let (Some(o), Value::Object(owner)) = (body.as_object_mut(), owner) {
        o.extend(owner);
    }
    if let Some(name) = kept.file.file_name().and_then(|n| n.to_str()) {
        body["file_name"] = json!(name);
    }
    if let Some(l) = &m.licence {
        body["licence"] = json!(l);
    }
    if let Some(d) = &m.description {
        body["description"] = d.clone();
    }
    body
}

/// This node's publishing key, hex.
fn publisher(target: &Target) -> Result<String> {
    Ok(match target {
        Target::Local(d) => d.key()?.author().to_hex(),
        Target::Daemon(c) => {
            let st: Value = c.get("/v1/status")?;
            match st["publisher"].as_str() {
                Some(k) => k.to_string(),
                None => bail!("this node has no publishing key; give --publisher"),
            }
        }
    })
}

/// Publishes one attachment record, through the daemon or locally.
fn publish_reference(target: Target, body: Value) -> Result<Result<Published, Refused>> {
    Ok(match target {
        Target::Daemon(c) => remote(c.post_json("/v1/attachments", &body))?,
        Target::Local(data) => {
            let key = data.key()?;
            let mut replica = data.replica()?;
            replica
                .publish_kind(&key, setu_core::attachment::KIND, body, now_ms())
                .map_err(Refused::from)
        }
    })
}

pub fn attach(dir: &Path, args: AttachArgs) -> Result<ExitCode> {
    let meta = Meta {
        title: json!({"original": args.title_lang, "text": {args.title_lang.clone(): args.title}}),
        category: args.category,
        language: args.language,
        media_type: args.media_type,
        licence: args.licence,
        description: None,
    };
    let kept = keep(dir, &args.file, meta)?;
    let target = Target::of(dir)?;
    let publisher = match &args.publisher {
        Some(k) => k.clone(),
        None => publisher(&target)?,
    };
    let owner = if args.adoption {
        json!({"adoption": {"key": publisher, "adoption_id": args.practice_id}})
    } else {
        json!({"practice": {"key": publisher, "practice_id": args.practice_id}})
    };
    let body = reference_body(&kept, owner);
    let result = publish_reference(target, body)?;
    match (&result, args.json) {
        (Ok(p), true) => {
            crate::cmd::print_json(&json!({
                "hash": kept.added.hash.to_hex(),
                "size": kept.added.size,
                "attachment_id": p.practice_id,
                "id": p.id,
                "revision": p.revision,
                "seq": p.seq,
            }))?;
            Ok(ExitCode::SUCCESS)
        }
        (Ok(_), false) => {
            println!("hash {} | {} bytes", kept.added.hash, kept.added.size);
            report(result, false, "attached")
        }
        (Err(_), json) => report(result, json, "attached"),
    }
}

/// `setu publish` of a practice or adoption body with `attachments`: a list
/// of `{"file": PATH, "title": …, "category": …}` (and optionally
/// `language`, `media_type`, `licence`, `description`), paths relative to
/// the body file. The list is taken out of the body (it is not a field of
/// the record), every file is hashed into the content folder and every
/// reference checked before anything is published; after the body is
/// published, one attachment record per file names it. Errors name the
/// entry and field, as `attachments[1].file`.
pub(super) struct Attaching {
    kept: Vec<Kept>,
    /// `practice` or `adoption`.
    owner_key: &'static str,
    /// Its `practice_id` or `adoption_id`.
    owner_id: String,
}

impl Attaching {
    /// Takes `attachments` out of `body` and keeps every file; `None` when
    /// the body names none.
    pub(super) fn take(
        dir: &Path,
        kind: Kind,
        body: &mut Value,
        base: &Path,
    ) -> Result<Option<Attaching>> {
        let Some(list) = body.as_object_mut().and_then(|o| o.remove("attachments")) else {
            return Ok(None);
        };
        let (owner_key, id_field) = match kind {
            Kind::Practice => ("practice", "practice_id"),
            Kind::Adoption => ("adoption", "adoption_id"),
            Kind::Seeking => bail!("attachments: a seeking body cannot carry attachments"),
        };
        let owner_id = body[id_field]
            .as_str()
            .with_context(|| format!("{id_field}: missing, needed to attach files"))?
            .to_string();
        let Value::Array(entries) = list else {
            bail!(
                "attachments: must be a list of {{\"file\": PATH, \"title\": …, \"category\": …}}"
            );
        };
        if entries.len() > MAX_BODY_ATTACHMENTS {
            bail!(
                "attachments: {} files; at most {MAX_BODY_ATTACHMENTS}",
                entries.len()
            );
        }
        let mut kept = Vec::with_capacity(entries.len());
        for (i, e) in entries.into_iter().enumerate() {
            let at = format!("attachments[{i}]");
            let Value::Object(e) = e else {
                bail!("{at}: must be an object");
            };
            if let Some(k) = e.keys().find(|k| !ENTRY_FIELDS.contains(&k.as_str())) {
                bail!(
                    "{at}.{k}: unknown field; known: {}",
                    ENTRY_FIELDS.join(", ")
                );
            }
            let text = |k: &str| -> Result<Option<String>> {
                match e.get(k) {
                    None => Ok(None),
                    Some(Value::String(s)) => Ok(Some(s.clone())),
                    Some(_) => bail!("{at}.{k}: must be a string"),
                }
            };
            let file = text("file")?.with_context(|| format!("{at}.file: missing"))?;
            let path = base.join(&file);
            if !path.is_file() {
                bail!("{at}.file: {} is not a file", path.display());
            }
            let title = match e.get("title") {
                Some(Value::String(t)) => json!({"original": "en", "text": {"en": t}}),
                Some(t @ Value::Object(_)) => t.clone(),
                Some(_) => bail!(
                    "{at}.title: a string, or {{\"original\": LANG, \"text\": {{LANG: TEXT}}}}"
                ),
                None => bail!("{at}.title: missing"),
            };
            let meta = Meta {
                title,
                category: text("category")?.with_context(|| format!("{at}.category: missing"))?,
                language: text("language")?.unwrap_or_else(|| "en".into()),
                media_type: text("media_type")?,
                licence: text("licence")?,
                description: e.get("description").cloned(),
            };
            kept.push(keep(dir, &path, meta).with_context(|| format!("{at}.file"))?);
        }
        let a = Attaching {
            kept,
            owner_key,
            owner_id,
        };
        // Every reference is checked now, so a bad one publishes nothing.
        for (i, k) in a.kept.iter().enumerate() {
            let mut b = reference_body(k, a.owner("0".repeat(64)));
            b["revision"] = json!(1);
            b["state"] = json!("active");
            let typed: setu_core::attachment::Attachment =
                serde_json::from_value(b).map_err(|e| anyhow::anyhow!("attachments[{i}]: {e}"))?;
            if let Some(p) = setu_core::attachment::validate(&typed).first() {
                let field = p.path.trim_start_matches("body").trim_start_matches('.');
                bail!("attachments[{i}].{field}: {}", p.message);
            }
        }
        Ok(Some(a))
    }

    fn owner(&self, publisher: String) -> Value {
        let id_field = if self.owner_key == "practice" {
            "practice_id"
        } else {
            "adoption_id"
        };
        json!({self.owner_key: {"key": publisher, id_field: self.owner_id}})
    }

    /// After the body was published: one attachment record per file.
    pub(super) fn publish(self, dir: &Path, json_out: bool) -> Result<ExitCode> {
        let publisher = publisher(&Target::of(dir)?)?;
        let mut code = ExitCode::SUCCESS;
        for k in &self.kept {
            let body = reference_body(k, self.owner(publisher.clone()));
            let result = publish_reference(Target::of(dir)?, body)?;
            if !json_out && result.is_ok() {
                println!(
                    "hash {} | {} bytes | {}",
                    k.added.hash,
                    k.added.size,
                    k.file.display()
                );
            }
            let ok = result.is_ok();
            report(result, json_out, "attached")?;
            if !ok {
                code = ExitCode::from(1);
            }
        }
        Ok(code)
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
