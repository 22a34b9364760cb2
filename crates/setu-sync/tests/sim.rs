//! The simulator at 100 nodes: lossy links, churn, a three-way partition
//! that heals. Replays from its seed.

use setu_sync::sim::{Config, partition_heal};

#[test]
fn a_hundred_nodes_converge_after_a_partition_heals() {
    // More seeds with SETU_SIM_SEEDS=n.
    let seeds: u64 = std::env::var("SETU_SIM_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    for seed in 1..=seeds {
        let cfg = Config {
            nodes: 100,
            degree: 4,
            loss: 0.05,
            churn: 0.01,
            seed,
            ..Config::default()
        };
        let r = partition_heal(cfg, 200, 3, 5, 20_000);
        assert!(r.converged, "seed {seed}: {r:?}");
        assert_eq!(r.items, 200 + 100 * 5, "seed {seed}: nothing lost");
        // Each node sends a bounded number of sessions' worth of messages.
        assert!(r.messages_per_node < 10_000.0, "seed {seed}: {r:?}");
    }
}
