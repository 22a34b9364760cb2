//! Attachments: a fetch by many simulated nodes over lossy, cut links with
//! corrupting peers (the shipped rules of `setu_blob::fetch`, real bao
//! encodings), and fetches between real nodes over libp2p.

use setu_sim::blob::{Config, Sim};
use setu_tests::test_size;

/// 50 nodes, 100 MB of content generated from the seed (sized by
/// `SETU_SIM_BLOB_MB`), 2% loss, cuts of 20 s that restart a node's fetch
/// from what it verified, and two nodes that flip a byte in every response.
#[test]
fn fifty_nodes_fetch_a_hundred_megabytes_through_loss_cuts_and_corrupting_peers() {
    let seed = setu_sim::seed_or(11);
    let mb = test_size("SETU_SIM_BLOB_MB", 100) as u64;
    let cfg = Config {
        nodes: 50,
        size: mb << 20,
        seed,
        ..Config::default()
    };
    let corrupt = cfg.corrupt;
    let mut sim = Sim::new(cfg).expect("content generated");
    let r = sim.run(3_600_000);
    eprintln!("SEED={seed}: {r:?}");
    assert!(r.wanted >= 30, "SEED={seed}: {} nodes wanted it", r.wanted);
    assert_eq!(
        r.complete, r.wanted,
        "SEED={seed}: every node that wants it ends with all of it"
    );
    assert_eq!(
        r.wrong_blocks, 0,
        "SEED={seed}: every block is the published bytes"
    );
    assert_eq!(
        r.refetched_blocks, 0,
        "SEED={seed}: no verified block is asked for again"
    );
    assert!(
        r.restarts > 0,
        "SEED={seed}: some fetch was cut and resumed"
    );
    assert!(r.lost > 0, "SEED={seed}: the links lost messages");
    // Every penalty falls on a corrupting node, and each was caught.
    assert!(
        r.penalties
            .iter()
            .all(|(bad, _)| (1..=corrupt).contains(bad)),
        "SEED={seed}: an honest node was penalised: {:?}",
        r.penalties
    );
    for bad in 1..=corrupt {
        assert!(
            r.penalties.iter().any(|(p, _)| *p == bad),
            "SEED={seed}: corrupting node {bad} was never caught"
        );
    }
}
