//! `setu members`, `setu member endorse | rotate | retire | recover |
//! revoke | delegate | undelegate | amend` (`spec/membership.md`).
//!
//! With the node running, both go through its API (`/v1/members`); with it
//! stopped, they open the replica. Either way the member set is computed
//! from the membership records the replica holds.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, bail};
use serde_json::{Value as Json, json};
use setu_core::ids::AuthorKey;
use setu_member::charter::Sealed;

use crate::cli::{MemberCommand, MembersArgs};
use crate::datadir::{DataDir, now_ms};
use crate::target::Target;
use crate::views::{resigned_json, view_json};

/// How a citation names the member whose key (or delegate key) `author`
/// is, from a member set as [`view_json`] gives it: "agency (COUNTRY)".
pub fn cite_name(v: &Json, author: &AuthorKey) -> Option<String> {
    let hex = author.to_hex();
    let member_id = v["members"]
        .as_array()?
        .iter()
        .find(|m| {
            m["keys"]
                .as_array()
                .is_some_and(|ks| ks.iter().any(|k| k["key"].as_str() == Some(&hex)))
        })
        .and_then(|m| m["id"].as_str())
        .or_else(|| {
            v["delegates"]
                .as_array()?
                .iter()
                .find(|d| d["key"].as_str() == Some(&hex))
                .and_then(|d| d["member"].as_str())
        })?;
    let m = v["members"]
        .as_array()?
        .iter()
        .find(|m| m["id"].as_str() == Some(member_id))?;
    let place = m["country"].as_str().or(m["org"].as_str()).unwrap_or("");
    Some(format!(
        "{} ({place}), member {member_id}",
        m["agency"].as_str().unwrap_or(member_id)
    ))
}

/// The member set of a data directory whose replica is open here, if it
/// has a charter.
pub fn of_replica(data: &DataDir, replica: &setu_store::replica::Replica) -> Result<Option<Json>> {
    match data.charter()? {
        None => Ok(None),
        Some(c) => {
            let view = replica.members(&c)?;
            Ok(Some(view_json(&c, &view, data.author())))
        }
    }
}

fn charter_of(data: &DataDir) -> Result<Sealed> {
    match data.charter()? {
        Some(c) => Ok(c),
        None => bail!(
            "{} runs an open network, with no charter: membership needs `setu init --charter FILE`",
            data.path.display()
        ),
    }
}

/// The member set: from the running node, or from the replica.
fn fetch(dir: &Path) -> Result<Json> {
    let data = match Target::of(dir)? {
        Target::Daemon(c) => return c.get("/v1/members"),
        Target::Local(data) => data,
    };
    let charter = charter_of(&data)?;
    let me = data.author();
    let view = data.replica()?.members(&charter)?;
    Ok(view_json(&charter, &view, me))
}

/// The ids a `--valid-file` lists: the first word of each line, blank
/// lines and `#` lines skipped; each must be a record id.
fn valid_ids(file: &Path) -> Result<Vec<String>> {
    // 1,500 ids of 64 hex digits, with room for the listing's other columns.
    const MAX_BYTES: u64 = 4 * 1024 * 1024;
    let bytes = crate::io::read_small(file, MAX_BYTES, "--valid-file")?;
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("--valid-file {}: not UTF-8", file.display()))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let Some(word) = line.split_whitespace().next() else {
            continue;
        };
        if word.starts_with('#') {
            continue;
        }
        word.parse::<setu_core::ids::RecordId>().map_err(|e| {
            anyhow::anyhow!(
                "--valid-file {} line {}: {word:?} is not a record id: {e}",
                file.display(),
                n + 1
            )
        })?;
        out.push(word.to_string());
        if out.len() > setu_member::op::MAX_VALID_IDS {
            bail!(
                "--valid-file {}: more than {} ids; a revocation keeps at most that many",
                file.display(),
                setu_member::op::MAX_VALID_IDS
            );
        }
    }
    Ok(out)
}

/// The records a key signed, as `GET /v1/keys/KEY/records` serves them:
/// from the running node, or from the replica.
fn key_records(dir: &Path, key: &str, what: &str) -> Result<Json> {
    let k: AuthorKey = key
        .parse()
        .map_err(|e| anyhow::anyhow!("{what}: {key:?} is not a key (64 hex digits): {e}"))?;
    Ok(match Target::of(dir)? {
        Target::Daemon(c) => c.get(&format!("/v1/keys/{}/records", k.to_hex()))?,
        Target::Local(data) => {
            let (records, truncated) = data.replica()?.key_records(&k)?;
            json!({"key": k.to_hex(), "records": records, "truncated": truncated})
        }
    })
}

/// The highest seq of `key`'s records this node shows (0 if none): the
/// default `--last` of a recovery.
fn last_shown(dir: &Path, key: &str) -> Result<u64> {
    let v = key_records(dir, key, "--old")?;
    if v["truncated"].as_bool() == Some(true) {
        bail!("--last: the old key signed too many records to find the last one here; give --last");
    }
    Ok(v["records"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["place"].as_str() == Some("shown"))
        .filter_map(|r| r["seq"].as_u64())
        .max()
        .unwrap_or(0))
}

/// A JSON string as one safe terminal line; empty if not a string.
fn text(j: &Json) -> String {
    j.as_str()
        .map(|x| crate::term::line(x).into_owned())
        .unwrap_or_default()
}

/// `setu members --signed-by KEY`.
fn signed_by(dir: &Path, key: &str, as_json: bool) -> Result<ExitCode> {
    let v = key_records(dir, key, "--signed-by")?;
    if as_json {
        crate::cmd::print_json(&v)?;
        return Ok(ExitCode::SUCCESS);
    }
    let s = text;
    println!("# record id{}  seq  kind  what  here", " ".repeat(55));
    for r in v["records"].as_array().into_iter().flatten() {
        let what = match r["op"].as_str() {
            Some(op) => op.to_string(),
            None if r["withdrawal"].as_bool() == Some(true) => {
                format!(
                    "WITHDRAWAL of {} (rev {})",
                    s(&r["practice_id"]),
                    r["revision"]
                )
            }
            None => format!("{} rev {}", s(&r["practice_id"]), r["revision"]),
        };
        println!(
            "{}  {}  {}  {}  {}{}",
            s(&r["id"]),
            r["seq"],
            s(&r["kind"]),
            what,
            s(&r["place"]),
            if r["same_seq"].as_bool() == Some(true) {
                "  [another record has this seq]"
            } else {
                ""
            }
        );
    }
    if v["truncated"].as_bool() == Some(true) {
        println!("# (truncated: the key signed more records than listed)");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn members(dir: &Path, args: MembersArgs) -> Result<ExitCode> {
    if let Some(key) = &args.signed_by {
        return signed_by(dir, key, args.json);
    }
    let v = fetch(dir)?;
    if args.json {
        crate::cmd::print_json(&v)?;
        return Ok(ExitCode::SUCCESS);
    }
    let s = text;
    println!(
        "{} — {} members voting, epoch {} (height {}), admit {}, recover {}",
        s(&v["name"]),
        v["voters"],
        &s(&v["epoch"])[..12],
        v["height"],
        s(&v["admit"]),
        s(&v["recover"]),
    );
    for m in v["members"].as_array().into_iter().flatten() {
        let place = if m["country"].is_string() {
            s(&m["country"])
        } else {
            s(&m["org"])
        };
        let key = m["key"]
            .as_str()
            .map_or("(no key)".to_string(), |k| k[..12].to_string());
        let mut flags = Vec::new();
        if m["removed"].as_bool() == Some(true) {
            flags.push("removed");
        }
        if m["forked"].as_bool() == Some(true) {
            flags.push("FORKED: needs a recovery");
        }
        if v["you"] == m["id"] {
            flags.push("this node");
        }
        println!(
            "  {:<16} {:<8} {:<5} {:<13} {}{}",
            s(&m["id"]),
            s(&m["role"]),
            place,
            key,
            s(&m["agency"]),
            if flags.is_empty() {
                String::new()
            } else {
                format!("  [{}]", flags.join(", "))
            }
        );
        if args.history {
            for k in m["keys"].as_array().into_iter().flatten() {
                println!(
                    "      key {}  {}{}",
                    &s(&k["key"])[..12],
                    k["ended"].as_str().unwrap_or("current"),
                    k["seal"]
                        .as_u64()
                        .map_or(String::new(), |n| format!(", valid up to seq {n}"))
                );
            }
        }
    }
    for d in v["delegates"].as_array().into_iter().flatten() {
        println!(
            "  delegate {} of {} for {}",
            &s(&d["key"])[..12],
            s(&d["member"]),
            d["scope"]
        );
    }
    for p in v["pending"].as_array().into_iter().flatten() {
        println!(
            "  pending {}: signed by {} of {} needed ({})",
            s(&p["op"]),
            p["signers"].as_array().map_or(0, Vec::len),
            p["required"],
            p["signers"]
        );
    }
    for p in v["stale"].as_array().into_iter().flatten() {
        println!(
            "  stale {}: signed by {} against an old epoch; each signer re-signs it with `setu member resign`",
            s(&p["op"]),
            p["signers"]
        );
    }
    if args.history {
        for h in v["history"].as_array().into_iter().flatten() {
            println!(
                "  epoch {}: {} by {}  {}",
                h["height"],
                s(&h["op"]),
                h["signers"],
                h["body"]
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The JSON request form of a command (`setu_member::op::from_json`).
fn request(cmd: &MemberCommand) -> Result<(Json, bool)> {
    Ok(match cmd {
        MemberCommand::Endorse {
            id,
            country,
            org,
            agency,
            role,
            key,
            json,
        } => {
            let mut m = json!({"id": id, "agency": agency, "role": role, "key": key});
            match (country, org) {
                (Some(c), None) => m["country"] = json!(c.to_ascii_uppercase()),
                (None, Some(o)) => m["org"] = json!(o),
                _ => bail!("give --country (ISO 3166-1 alpha-3) or --org, not both"),
            }
            (json!({"op": "endorse", "member": m}), *json)
        }
        MemberCommand::Rotate { to, json } => (json!({"op": "rotate", "key": to}), *json),
        MemberCommand::Retire { json } => (json!({"op": "retire"}), *json),
        MemberCommand::Recover {
            member,
            old,
            last,
            to,
            json,
        } => (
            json!({"op": "recover", "member": member, "old": old, "last": last, "key": to}),
            *json,
        ),
        MemberCommand::Revoke {
            member,
            key,
            valid,
            valid_file,
            json,
        } => {
            let mut v = valid.clone();
            if let Some(f) = valid_file {
                v.extend(valid_ids(f)?);
            }
            v.sort();
            v.dedup();
            (
                json!({"op": "revoke", "member": member, "key": key, "valid": v}),
                *json,
            )
        }
        MemberCommand::Delegate {
            to,
            scope,
            expires,
            json,
        } => {
            let mut r = json!({"op": "delegate", "key": to, "scope": scope});
            if let Some(t) = expires {
                r["expires"] = json!(t);
            }
            (r, *json)
        }
        MemberCommand::Undelegate { key, last, json } => {
            (json!({"op": "undelegate", "key": key, "last": last}), *json)
        }
        MemberCommand::Resign { .. } => bail!("resign has no request form"),
        MemberCommand::Amend {
            admit,
            recover,
            remove,
            last,
            json,
        } => {
            let mut r = json!({"op": "amend"});
            if let Some(t) = admit {
                r["admit"] = json!(t);
            }
            if let Some(t) = recover {
                r["recover"] = json!(t);
            }
            if let Some(m) = remove {
                r["remove"] = json!({"member": m, "last": last.unwrap_or(0)});
            }
            (r, *json)
        }
    })
}

pub fn operate(dir: &Path, cmd: MemberCommand) -> Result<ExitCode> {
    if let MemberCommand::Resign { json } = cmd {
        return resign(dir, json);
    }
    let (mut req, as_json) = request(&cmd)?;
    if let MemberCommand::Recover {
        old, last: None, ..
    } = &cmd
    {
        req["last"] = json!(last_shown(dir, old)?);
    }
    let out = sign(dir, &req)?;
    if as_json {
        crate::cmd::print_json(&out)?;
    } else {
        print_signed(&out);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_signed(out: &Json) {
    println!(
        "signed {} {} (seq {})",
        out["body"]["op"].as_str().unwrap_or("operation"),
        out["id"].as_str().unwrap_or(""),
        out["seq"]
    );
    println!("  members now: {}", out["members"]);
}

/// `setu member resign`: signs again, against the current epoch, every
/// stale operation this node's member signed (`spec/membership.md` §5.3).
fn resign(dir: &Path, as_json: bool) -> Result<ExitCode> {
    let out: Json = match Target::of(dir)? {
        Target::Daemon(c) => c.post_json("/v1/members/resign", &json!({}))?,
        Target::Local(data) => {
            let charter = charter_of(&data)?;
            let key = data.key()?;
            let mut replica = data.replica()?;
            let done = replica.resign(&key, &charter, now_ms())?;
            let after = replica.members(&charter)?;
            resigned_json(&charter, &done, &after)
        }
    };
    if as_json {
        crate::cmd::print_json(&out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let signed = out["signed"].as_array().cloned().unwrap_or_default();
    if signed.is_empty() {
        println!("nothing to re-sign: this node's member has no stale operation");
    }
    for s in &signed {
        println!(
            "signed again {} {} (seq {})",
            s["body"]["op"].as_str().unwrap_or("operation"),
            s["id"].as_str().unwrap_or(""),
            s["seq"]
        );
    }
    println!("  members now: {}", out["members"]);
    Ok(ExitCode::SUCCESS)
}

/// Signs one operation, given in its JSON request form, with this node's
/// key: through the running node's API, or on the replica.
fn sign(dir: &Path, req: &Json) -> Result<Json> {
    let req = req.clone();
    let out: Json = match Target::of(dir)? {
        Target::Daemon(c) => c.post_json("/v1/members/operations", &req)?,
        Target::Local(data) => {
            let charter = charter_of(&data)?;
            let key = data.key()?;
            let mut replica = data.replica()?;
            let view = replica.members(&charter)?;
            let body = setu_member::op::from_json(
                &req,
                charter.network_id(),
                view.epoch(),
                view.owner(&key.author()),
            )?;
            let own = replica.sign_operation(&key, &charter, body.op.clone(), now_ms())?;
            let after = replica.members(&charter)?;
            json!({
                "id": own.id.to_hex(),
                "seq": own.seq,
                "body": body.to_json(),
                "epoch": after.epoch().to_hex(),
                "members": after.member_ids(),
            })
        }
    };
    Ok(out)
}
