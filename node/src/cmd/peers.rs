//! `setu peers`: the running node's peers (through its API).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use setu::PeerInfo;

use crate::term::line;

/// What `setu peers` says when no node runs on the data directory.
const NOT_RUNNING: &str = "the node is not running (start it with `setu run`); no peers";

pub fn run(dir: &Path, json: bool) -> Result<ExitCode> {
    let Some(c) = crate::target::running(dir) else {
        if json {
            // Standard output stays JSON; the explanation goes to stderr.
            eprintln!("{NOT_RUNNING}");
            println!("[]");
        } else {
            println!("{NOT_RUNNING}");
        }
        return Ok(ExitCode::SUCCESS);
    };
    let peers: Vec<PeerInfo> = c.get("/v1/peers")?;
    if json {
        crate::cmd::print_json(&peers)?;
    } else {
        table(&peers);
    }
    Ok(ExitCode::SUCCESS)
}

/// The table. Agents and addresses are what peers said of themselves:
/// through [`line`] before their widths are measured.
fn table(peers: &[PeerInfo]) {
    if peers.is_empty() {
        println!("no peers connected");
        return;
    }
    let agent_of = |p: &PeerInfo| -> String {
        line(p.agent.as_deref().unwrap_or("-"))
            .chars()
            .take(32)
            .collect()
    };
    let id_w = peers
        .iter()
        .map(|p| line(&p.peer_id).chars().count())
        .max()
        .unwrap_or(0)
        .max("PEER".len());
    let agent_w = peers
        .iter()
        .map(|p| agent_of(p).chars().count())
        .max()
        .unwrap_or(0)
        .clamp("AGENT".len(), 32)
        + if peers.iter().any(|p| p.relayed) {
            10
        } else {
            0
        };
    println!("{:<id_w$}  {:<agent_w$}  ADDRESSES", "PEER", "AGENT");
    for p in peers {
        let mut agent = agent_of(p);
        if p.relayed {
            agent.push_str(" (relayed)");
        }
        let mut addrs = p.addresses.iter();
        println!(
            "{:<id_w$}  {:<agent_w$}  {}",
            line(&p.peer_id),
            agent,
            line(addrs.next().map_or("-", String::as_str))
        );
        for a in addrs {
            println!("{:<id_w$}  {:<agent_w$}  {}", "", "", line(a));
        }
    }
    println!(
        "{} peer{} connected",
        peers.len(),
        if peers.len() == 1 { "" } else { "s" }
    );
}
