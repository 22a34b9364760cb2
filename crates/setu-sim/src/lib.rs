//! # setu-sim
//!
//! A deterministic simulator of a setu network that runs the node that
//! ships: each simulated node is the state machine of `setu-proto`
//! ([`setu_proto::state::State`]) over the real store and ingest rules of
//! `setu-store` on its in-memory backend ([`store::SimStore`]; no search
//! index, one verification per record shared by all nodes). The network
//! ([`net::Sim`]) has a virtual clock, per-message latency and loss,
//! partitions and churn; everything random comes from one seed, so a
//! failing run replays exactly from its `SEED`.
//!
//! ```
//! use setu_sim::net::{Config, Sim};
//!
//! let recs = setu_sim::records(7, 30);
//! let mut sim = Sim::new(Config { nodes: 6, seed: 7, ..Config::default() });
//! sim.preload(0, &recs[..20]);
//! sim.publish(3, &recs[20..]);
//! assert!(sim.run_until(60_000, &|s| s.converged()), "SEED=7");
//! assert_eq!(sim.store(5).len(), 30);
//! ```

#![deny(missing_docs)]

pub mod blob;
pub mod net;
pub mod store;

use setu_core::keys::SecretKey;

/// The simulator's one source of randomness (SplitMix64).
pub use setu_store::synth::Rng;

/// True with probability `p`, from `rng`.
pub fn chance(rng: &mut Rng, p: f64) -> bool {
    p > 0.0 && ((rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
}

/// The seed of a test: `SEED` from the environment, else `default`.
pub fn seed_or(default: u64) -> u64 {
    std::env::var("SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Authors of the synthetic records.
pub const AUTHORS: u64 = 8;

/// `n` signed practice records of the synthetic catalogue `seed`, by
/// [`AUTHORS`] authors, with timestamps just before [`net::EPOCH_MS`].
pub fn records(seed: u64, n: usize) -> Vec<Vec<u8>> {
    let keys: Vec<SecretKey> = (0..AUTHORS)
        .map(|a| {
            let mut s = [0u8; 32];
            s[..8].copy_from_slice(&seed.to_le_bytes());
            s[8..16].copy_from_slice(&a.to_le_bytes());
            SecretKey::from_seed(&s)
        })
        .collect();
    (0..n as u64)
        .map(|i| {
            let body = setu_store::synth::body(seed, i);
            let practice = setu_store::replica::parse_practice(body)
                .unwrap_or_else(|e| panic!("synthetic body {i}: {e}"));
            let key = &keys[(i % AUTHORS) as usize];
            let ts = net::EPOCH_MS - 3_600_000 + i;
            setu_core::record::sign_practice(key, i / AUTHORS + 1, ts, &practice)
                .unwrap_or_else(|e| panic!("signing synthetic record {i}: {e}"))
                .into_bytes()
        })
        .collect()
}

/// What a partition-and-heal run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct HealReport {
    /// Nodes.
    pub nodes: usize,
    /// Records each node should end with.
    pub records: usize,
    /// Whether every node converged.
    pub converged: bool,
    /// Virtual ms from the heal to convergence.
    pub heal_to_converged_ms: u64,
    /// Sync intervals from the heal to convergence.
    pub rounds: u64,
    /// Records missing, over all nodes, at the heal.
    pub missing: u64,
    /// Record bodies received after the heal, over all nodes.
    pub bodies: u64,
    /// Requests and responses per node after the heal.
    pub messages_per_node: f64,
    /// Their bytes per node.
    pub bytes_per_node: f64,
}

impl HealReport {
    /// Bodies received per record that was missing.
    pub fn bodies_per_missing(&self) -> f64 {
        self.bodies as f64 / self.missing.max(1) as f64
    }
}

/// The scenario of the tests and the benchmark: every node starts with
/// `base` records; the network splits into `groups` partitions; `fresh`
/// records are published, each at a random node, while split (gossip
/// spreads them within the partition); after `partition_ms` the network
/// heals and runs to convergence (at most 600 sync intervals).
pub fn partition_heal(
    cfg: net::Config,
    base: usize,
    groups: usize,
    fresh: usize,
    partition_ms: u64,
) -> HealReport {
    let all = records(cfg.seed, base + fresh);
    let (shared, new) = all.split_at(base);
    let interval = cfg.sync_interval_ms;
    let mut sim = net::Sim::new(cfg.clone());
    let n = sim.len() as u32;
    for node in 0..n {
        sim.preload(node, shared);
    }
    let groups = groups.max(1);
    sim.partition(|i| i as usize % groups);
    let mut rng = Rng::new(cfg.seed ^ 0xfe5);
    for r in new {
        let at = rng.below(u64::from(n)) as u32;
        sim.publish(at, std::slice::from_ref(r));
    }
    sim.run_for(partition_ms);
    sim.set_churn(0.0);
    sim.all_online();
    let missing = sim.missing();
    let bodies_before = sim.total(|c| c.bodies_received);
    let traffic_before = sim.traffic;
    sim.heal();
    let healed_at = sim.now();
    let converged = sim.run_until(healed_at + 600 * interval, &|s| s.converged());
    let took = sim.now() - healed_at;
    let nodes = sim.len() as f64;
    HealReport {
        nodes: sim.len(),
        records: sim.expected(),
        converged,
        heal_to_converged_ms: took,
        rounds: took.div_ceil(interval.max(1)),
        missing,
        bodies: sim.total(|c| c.bodies_received) - bodies_before,
        messages_per_node: (sim.traffic.messages - traffic_before.messages) as f64 / nodes,
        bytes_per_node: (sim.traffic.bytes - traffic_before.bytes) as f64 / nodes,
    }
}
