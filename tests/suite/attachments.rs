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

mod real {
    use std::time::Duration;

    use serde_json::json;
    use setu::{Node, SecretKey};
    use setu_tests::net::{WAIT, addr, config, wait_records, wait_until};
    use setu_tests::test_size;
    use tempfile::TempDir;

    /// Bytes of a test file: not compressible, the same for a seed.
    fn file_bytes(seed: u64, len: usize) -> Vec<u8> {
        let mut out = vec![0u8; len];
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        blake3::Hasher::new_keyed(&key)
            .finalize_xof()
            .fill(&mut out);
        out
    }

    /// A practice of `node` and an attachment of `bytes` on it; returns the
    /// content's hash.
    async fn publish_with_file(
        node: &Node,
        key: &SecretKey,
        dir: &TempDir,
        bytes: &[u8],
    ) -> setu_blob::Hash {
        let body = setu_store::synth::body(21, 0);
        let pid = body["practice_id"]
            .as_str()
            .expect("practice_id")
            .to_string();
        node.publish(body).await.expect("practice");
        let file = dir.path().join("empathy-training.webm");
        std::fs::write(&file, bytes).expect("write file");
        let published = node
            .attach(
                &file,
                json!({
                    "practice": {"key": key.author().to_hex(), "practice_id": pid},
                    "title": {"original": "en", "text": {"en": "Empathy in service design: training video"}},
                    "category": "video",
                    "language": "en",
                }),
                |_| {},
            )
            .await
            .expect("attach");
        assert_eq!(published.revision, 1);
        setu_blob::Hash(*blake3::hash(bytes).as_bytes())
    }

    /// The first case: a file on A, fetched on demand by B, then by
    /// C from B's copy while A is stopped. Every byte is what A signed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_file_on_a_reaches_c_from_b_while_a_is_stopped() {
        let mb = test_size("SETU_ATTACH_MB", 50);
        let bytes = file_bytes(5, mb << 20);
        let dirs: Vec<TempDir> = (0..4).map(|_| TempDir::new().expect("tempdir")).collect();
        let key = SecretKey::generate();
        let a = Node::start(config(
            dirs[0].path(),
            "test-att",
            Some(key.clone()),
            vec![],
        ))
        .await
        .expect("a");
        let b = Node::start(config(
            dirs[1].path(),
            "test-att",
            None,
            vec![addr(&a).await],
        ))
        .await
        .expect("b");
        let c = Node::start(config(
            dirs[2].path(),
            "test-att",
            None,
            vec![addr(&a).await, addr(&b).await],
        ))
        .await
        .expect("c");
        let hash = publish_with_file(&a, &key, &dirs[3], &bytes).await;
        wait_records(
            &[&a, &b, &c],
            2,
            "the practice and its attachment everywhere",
        )
        .await;
        let seen = c
            .attachment(hash)
            .await
            .expect("lookup")
            .expect("C holds the reference");
        assert_eq!(seen.availability, "absent", "not yet available on C");
        assert_eq!(seen.attachment.size, Some(bytes.len() as u64));

        let on_b = b.fetch_attachment(hash).await.expect("B fetches from A");
        assert!(
            std::fs::read(&on_b).expect("read") == bytes,
            "B holds A's bytes"
        );

        a.shutdown().await.expect("stop a");
        wait_until(WAIT, "C to see that A is gone", || async {
            c.peers().await.expect("peers").len() == 1
        })
        .await;
        let on_c = c.fetch_attachment(hash).await.expect("C fetches from B");
        assert!(
            std::fs::read(&on_c).expect("read") == bytes,
            "C holds A's bytes, from B"
        );
        let v = c
            .attachment(hash)
            .await
            .expect("lookup")
            .expect("reference");
        assert_eq!(
            (v.availability.as_str(), v.blocks_held),
            ("complete", v.blocks)
        );
        b.shutdown().await.expect("stop b");
        c.shutdown().await.expect("stop c");
    }

    /// A fetch cut at about half (its node stopped) resumes from the blocks
    /// it verified: after the restart it holds at least as many, and asks
    /// only for the rest.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_fetch_cut_at_half_resumes_from_what_it_verified() {
        let bytes = file_bytes(6, 12 << 20);
        let dirs: Vec<TempDir> = (0..3).map(|_| TempDir::new().expect("tempdir")).collect();
        let key = SecretKey::generate();
        // A serves slowly (1 MiB/s), so the cut lands in the middle.
        let mut ca = config(dirs[0].path(), "test-resume", Some(key.clone()), vec![]);
        ca.net.blob_rate = 1 << 20;
        let a = Node::start(ca).await.expect("a");
        let cb = config(dirs[1].path(), "test-resume", None, vec![addr(&a).await]);
        let b = Node::start(cb.clone()).await.expect("b");
        let hash = publish_with_file(&a, &key, &dirs[2], &bytes).await;
        wait_records(&[&a, &b], 2, "the attachment on B").await;

        let fetching = {
            let b = b.clone();
            tokio::spawn(async move { b.fetch_attachment(hash).await })
        };
        wait_until(Duration::from_secs(60), "B to hold about half", || async {
            let p = b.fetches().await.expect("fetches");
            p.first().is_some_and(|f| f.blocks_held * 2 >= f.blocks)
        })
        .await;
        // Held now; more may verify before the stop lands, never fewer.
        let held = b
            .fetches()
            .await
            .expect("fetches")
            .first()
            .map_or(0, |f| f.blocks_held);
        b.shutdown().await.expect("cut");
        let _ = fetching.await;
        assert!(held > 0);

        let b = Node::start(cb).await.expect("b again");
        let v = b
            .attachment(hash)
            .await
            .expect("lookup")
            .expect("reference");
        assert_eq!(v.availability, "partial");
        assert!(
            v.blocks_held >= held && v.blocks_held < v.blocks,
            "resumed from {} verified blocks (held {held} of {} before the cut)",
            v.blocks_held,
            v.blocks
        );
        let path = b.fetch_attachment(hash).await.expect("the rest");
        assert!(std::fs::read(path).expect("read") == bytes);
        a.shutdown().await.expect("stop a");
        b.shutdown().await.expect("stop b");
    }
}
