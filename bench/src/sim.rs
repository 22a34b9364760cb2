//! The simulator at scale: the shipped state machine (`setu-proto`) on
//! every node of a `setu-sim` network, a three-way partition, then heal.
//! Version 2 (offer, want, push) is measured beside version 1 (push what
//! reconciliation finds), the baseline, in the same run.

use std::time::Instant;

use setu_sim::net::{Config, Topology};
use setu_sim::partition_heal;

use crate::table;

/// Records every node holds before the partition.
const BASE: usize = 50;
/// Records published during the partition, each at a random node.
const FRESH: usize = 150;
/// How long the partition lasts (virtual ms).
const PARTITION_MS: u64 = 30_000;

pub fn run(nodes: usize) {
    eprintln!("simulating {nodes} nodes (this takes a while)...");
    let mut rows = Vec::new();
    for (loss, pull) in [(0.0, true), (0.0, false), (0.01, true), (0.01, false)] {
        let cfg = Config {
            nodes,
            topology: Topology::Random { degree: 3 },
            loss,
            pull,
            seed: 42,
            ..Config::default()
        };
        let start = Instant::now();
        let r = partition_heal(cfg, BASE, 3, FRESH, PARTITION_MS);
        let wall = start.elapsed();
        rows.push(vec![
            if pull {
                "2: offer, want, push".into()
            } else {
                "1: push (baseline)".into()
            },
            format!("{:.0}%", loss * 100.0),
            r.converged.to_string(),
            r.rounds.to_string(),
            format!("{:.1} s", r.heal_to_converged_ms as f64 / 1e3),
            format!("{:.1}", r.messages_per_node),
            format!("{:.0}", r.bytes_per_node),
            r.missing.to_string(),
            format!("{:.3}", r.bodies_per_missing()),
            format!("{:.1} s", wall.as_secs_f64()),
        ]);
    }
    table::print(
        &format!(
            "Simulation: {nodes} nodes (ring + 3 random links each, 10-200 ms links, sync every 10 s), \
             {BASE} records on every node, {FRESH} published during a 3-way partition of {} s, then heal",
            PARTITION_MS / 1000
        ),
        &[
            "protocol version",
            "loss",
            "converged",
            "rounds after heal",
            "virtual time to converge",
            "requests and responses / node",
            "bytes / node",
            "records missing at heal",
            "bodies received / missing record",
            "wall time",
        ],
        &rows,
    );
}
