//! `setu charter new | sign | seal | show`: founding a network
//! (`spec/membership.md` §2).
//!
//! The founders agree on a members file, one drafts the charter, each
//! signs the draft with its own key (passing the file along), and anyone
//! seals it once all have signed. The sealed charter is public: every node
//! of the network starts from it (`setu init --charter`).

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use setu_member::charter::{Affiliation, Charter, Draft, Entry, Role, Sealed, Threshold};

use crate::cli::CharterCommand;
use crate::io;

/// Largest members file, in bytes.
pub const MAX_MEMBERS_FILE_BYTES: u64 = 1024 * 1024;

/// One `[[member]]` of the members file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberRow {
    id: String,
    country: Option<String>,
    org: Option<String>,
    agency: String,
    #[serde(default = "default_role")]
    role: String,
    key: String,
}

fn default_role() -> String {
    "member".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MembersFile {
    member: Vec<MemberRow>,
}

/// Reads a members file (TOML, `[[member]]` tables).
fn members_file(path: &Path) -> Result<Vec<Entry>> {
    let bytes = io::read_small(path, MAX_MEMBERS_FILE_BYTES, "a members file")?;
    let text = String::from_utf8(bytes)
        .with_context(|| format!("{} is not UTF-8 text", path.display()))?;
    let file: MembersFile = toml::from_str(&text).with_context(|| format!("{}", path.display()))?;
    file.member
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            let at = |f: &str| format!("{}: member[{i}].{f}", path.display());
            let affiliation = match (m.country, m.org) {
                (Some(c), None) => Affiliation::Country(c.to_ascii_uppercase()),
                (None, Some(o)) => Affiliation::Org(o),
                _ => bail!(
                    "{}: give country (ISO 3166-1 alpha-3) or org, not both",
                    at("country")
                ),
            };
            let role = match m.role.as_str() {
                "member" => Role::Member,
                "partner" => Role::Partner,
                other => bail!(
                    "{}: {other:?} is neither \"member\" nor \"partner\"",
                    at("role")
                ),
            };
            let key = m.key.parse().map_err(|e| {
                anyhow::anyhow!(
                    "{}: {e} (the hex that `setu keys show FILE` prints)",
                    at("key")
                )
            })?;
            Ok(Entry {
                id: m.id,
                affiliation,
                agency: m.agency,
                role,
                key,
            })
        })
        .collect()
}

/// Reads a draft or sealed charter file.
pub fn read_draft(path: &Path) -> Result<Draft> {
    let bytes = io::read_small(
        path,
        setu_member::charter::MAX_CHARTER_BYTES as u64,
        "a charter file",
    )?;
    Draft::decode(&bytes).with_context(|| format!("{} is not a valid charter", path.display()))
}

/// Reads a sealed charter file.
pub fn read_sealed(path: &Path) -> Result<Sealed> {
    read_draft(path)?
        .seal()
        .with_context(|| format!("{} is not sealed", path.display()))
}

fn threshold(flag: &str, t: &Option<String>, default: Threshold) -> Result<Threshold> {
    match t {
        None => Ok(default),
        Some(s) => s.parse().map_err(|e| anyhow::anyhow!("{flag}: {e}")),
    }
}

pub fn run(cmd: CharterCommand) -> Result<ExitCode> {
    match cmd {
        CharterCommand::New {
            name,
            members,
            threshold: both,
            admit,
            recover,
            out,
            force,
        } => {
            let both = threshold("--threshold", &both, Threshold::MAJORITY)?;
            let mut list = members_file(&members)?;
            list.sort_by(|a, b| a.id.cmp(&b.id));
            let charter = Charter {
                name,
                members: list,
                admit: threshold("--admit", &admit, both)?,
                recover: threshold("--recover", &recover, both)?,
            };
            let draft = Draft::new(charter).context("the charter")?;
            io::write_output(&out, &draft.encode()?, &[&members], force, 0o644)?;
            println!(
                "drafted {} (network id {})",
                out.display(),
                draft.network_id().to_hex()
            );
            println!("  to sign: {}", draft.missing().join(", "));
        }
        CharterCommand::Sign { file, key } => {
            let mut draft = read_draft(&file)?;
            let key = crate::cmd::keys::load(&key)?;
            let id = draft.sign(&key)?.to_string();
            io::write_output(&file, &draft.encode()?, &[], true, 0o644)?;
            println!("signed {} as {id}", file.display());
            let missing = draft.missing();
            if missing.is_empty() {
                println!("  every founder has signed: seal it with `setu charter seal`");
            } else {
                println!("  still to sign: {}", missing.join(", "));
            }
        }
        CharterCommand::Seal { file, out, force } => {
            let sealed = read_sealed(&file)?;
            io::write_output(&out, &sealed.encode()?, &[&file], force, 0o644)?;
            println!("{}", sealed.network_id().to_hex());
            eprintln!(
                "sealed {} (network {})",
                out.display(),
                setu::network_name(&sealed)
            );
        }
        CharterCommand::Show { file, json } => {
            let draft = read_draft(&file)?;
            let c = &draft.charter;
            let signed: Vec<&str> = draft.sigs.iter().map(|(m, _)| m.as_str()).collect();
            if json {
                crate::cmd::print_json(&serde_json::json!({
                    "name": c.name,
                    "network_id": draft.network_id().to_hex(),
                    "network": format!("c-{}", draft.network_id().short()),
                    "admit": c.admit.to_string(),
                    "recover": c.recover.to_string(),
                    "sealed": draft.missing().is_empty(),
                    "founders": c.members.iter().map(|e| serde_json::json!({
                        "id": e.id,
                        "country": match &e.affiliation { Affiliation::Country(x) => Some(x), _ => None },
                        "org": match &e.affiliation { Affiliation::Org(x) => Some(x), _ => None },
                        "agency": e.agency,
                        "role": e.role.as_str(),
                        "key": e.key.to_hex(),
                        "signed": signed.contains(&e.id.as_str()),
                    })).collect::<Vec<_>>(),
                }))?;
            } else {
                println!(
                    "{} — network id {}",
                    crate::term::line(&c.name),
                    draft.network_id().to_hex()
                );
                println!("  admit {}, recover {}", c.admit, c.recover);
                for e in &c.members {
                    let aff = match &e.affiliation {
                        Affiliation::Country(x) | Affiliation::Org(x) => x,
                    };
                    println!(
                        "  {:<16} {:<8} {:<4} {}  {}{}",
                        e.id,
                        e.role.as_str(),
                        crate::term::line(aff),
                        &e.key.to_hex()[..12],
                        crate::term::line(&e.agency),
                        if signed.contains(&e.id.as_str()) {
                            ""
                        } else {
                            "  (not signed)"
                        }
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
