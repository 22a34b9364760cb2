//! `setu status`, `setu reindex`

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, bail};
use setu::NetStatus;
use setu_core::ids::AuthorKey;
use setu_store::replica;

use crate::datadir::DataDir;
use crate::target::Target;
use crate::term::line;

pub fn status(dir: &Path, json: bool) -> Result<ExitCode> {
    match Target::of(dir)? {
        Target::Daemon(c) => {
            let data = DataDir::open(dir)?;
            let s: setu::Status = c.get("/v1/status")?;
            let members = match data.charter()? {
                Some(_) => Some(c.get("/v1/members")?),
                None => None,
            };
            render(
                dir,
                &data,
                &s.replica,
                s.publisher,
                Some((&s.net, c.base())),
                members.as_ref(),
                json,
            )?;
        }
        Target::Local(data) => {
            let replica = data.replica()?;
            let s = replica.status()?;
            let author = data.author();
            let members = crate::cmd::member::of_replica(&data, &replica)?;
            render(dir, &data, &s, author, None, members.as_ref(), json)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints the status: the replica, and the network when the node runs
/// (with its API's base URL).
fn render(
    dir: &Path,
    data: &DataDir,
    s: &replica::Status,
    author: Option<AuthorKey>,
    net: Option<(&NetStatus, &str)>,
    members: Option<&serde_json::Value>,
    json: bool,
) -> Result<()> {
    if json {
        let mut v = serde_json::json!({"status": s, "publisher": author,
            "agency": data.config.publisher.agency, "country": data.config.publisher.country});
        if let Some(m) = members {
            v["members"] = m.clone();
        }
        if let Some((n, api)) = net {
            v["net"] = serde_json::to_value(n)?;
            v["api"] = serde_json::json!(api);
        }
        crate::cmd::print_json(&v)?;
        return Ok(());
    }
    // Addresses and names come from peers or from files: all through
    // `term::line`.
    println!("data dir      {}", line(&dir.display().to_string()));
    if let Some(a) = author {
        println!(
            "publisher     {a} ({}, {})",
            line(&data.config.publisher.agency),
            line(&data.config.publisher.country)
        );
    }
    if s.invalid > 0 {
        println!(
            "records       {} ({} invalid under the network's membership, kept for audit)",
            s.records, s.invalid
        );
    } else {
        println!("records       {}", s.records);
    }
    println!("practices     {} current (active)", s.practices);
    println!("index docs    {}", s.indexed_documents);
    println!(
        "index lag     {} store changes (store at {}, index at {})",
        s.index_lag, s.store_change, s.index_change
    );
    println!("disk          {:.1} MiB", s.disk_bytes as f64 / 1_048_576.0);
    if let Some(e) = &s.store_error {
        println!(
            "store error   {} (writes fail until one succeeds; free disk space, no restart needed)",
            line(e)
        );
    }
    if let Some(e) = &s.index_error {
        println!(
            "index error   {} (search is behind by the lag above; retried every few seconds)",
            line(e)
        );
    }
    if s.flagged_authors > 0 {
        println!("flagged       {} authors equivocated", s.flagged_authors);
    }
    if let Some(m) = members {
        let you = m["you"]
            .as_str()
            .map_or("this key is no member's".to_string(), |y| {
                format!("this node is {}", line(y))
            });
        println!(
            "members       {} voting, epoch {} ({you})",
            m["voters"], m["height"]
        );
        for p in m["pending"].as_array().into_iter().flatten() {
            let what = p["body"]["member"]["id"]
                .as_str()
                .or(p["body"]["member"].as_str())
                .unwrap_or("");
            println!(
                "  pending     {} {} — {} of {} signatures ({})",
                line(p["op"].as_str().unwrap_or("")),
                line(what),
                p["signers"].as_array().map_or(0, Vec::len),
                p["required"],
                line(&p["signers"].to_string())
            );
        }
        for p in m["stale"].as_array().into_iter().flatten() {
            println!(
                "  stale       {} signed by {} against an old epoch: each signer runs `setu member resign`",
                line(p["op"].as_str().unwrap_or("")),
                line(&p["signers"].to_string())
            );
        }
    }
    if let Some((n, api)) = net {
        let c = &n.counters;
        println!();
        println!(
            "network       {} (running, API at {})",
            line(&n.network),
            line(api)
        );
        println!("peer id       {}", line(&n.peer_id));
        match n.listen.split_first() {
            None => println!("listening     -"),
            Some((first, rest)) => {
                println!("listening     {}", line(first));
                for a in rest {
                    println!("              {}", line(a));
                }
            }
        }
        let trimmed = match c.peers_trimmed {
            0 => String::new(),
            t => format!("; {t} connections of Kademlia's lookups closed"),
        };
        println!("peers         {} connected{trimmed}", n.peers);
        println!(
            "reach         {} (AutoNAT), kademlia {}",
            serde_json::to_value(n.reachability)?
                .as_str()
                .unwrap_or("unknown"),
            line(&n.kad_mode)
        );
        for a in &n.external {
            println!("  reachable at {}", line(a));
        }
        for r in &n.relays {
            println!("  relay slot   {}", line(r));
        }
        if n.providing + n.provider_keys_kept > 0 || c.provider_lookups > 0 {
            println!(
                "providers     announcing {} attachments ({} not yet taken), keeping {} others' records; {} lookups found {} holders",
                n.providing,
                n.providing_unheard,
                n.provider_keys_kept,
                c.provider_lookups,
                c.providers_found
            );
        }
        if c.relayed_connections + c.circuits_relayed + c.holepunch_succeeded + c.holepunch_failed
            > 0
        {
            println!(
                "relaying      {} relayed connections, {} circuits relayed for others, hole punching {} ok / {} failed",
                c.relayed_connections,
                c.circuits_relayed,
                c.holepunch_succeeded,
                c.holepunch_failed
            );
        }
        println!(
            "received      {} by gossip, {} by sync, {} by bulk",
            c.via_gossip, c.via_sync, c.via_bulk
        );
        println!(
            "refused       {} invalid, {} by a rule another version may not share (no offence), {} by admission, {} from the future (ts ahead of this clock), {} other",
            c.refused_invalid,
            c.refused_rule,
            c.refused_admission,
            c.refused_future,
            c.refused_other
        );
        println!(
            "sent          {} gossiped, {} pushed",
            c.gossip_published, c.records_pushed
        );
        println!(
            "sessions      {} started, {} done, {} failed, {} answered, {} bulk",
            c.sessions_started,
            c.sessions_done,
            c.sessions_failed,
            c.sessions_answered,
            c.bulk_done
        );
        if c.peers_banned > 0 || c.requests_refused > 0 {
            println!(
                "defence       {} peers banned, {} requests refused",
                c.peers_banned, c.requests_refused
            );
        }
    }
    Ok(())
}

pub fn reindex(dir: &Path, json: bool) -> Result<ExitCode> {
    if let Some(c) = crate::target::running(dir) {
        bail!(
            "the node is running (API at {}); stop it first: `setu reindex` needs the store to itself",
            c.base()
        );
    }
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
