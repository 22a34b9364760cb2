//! Attachments: a fetch by many simulated nodes over lossy, cut links with
//! corrupting peers (the shipped rules of `setu_blob::fetch`, real bao
//! encodings), and fetches between real nodes over libp2p.

use setu_sim::blob::{Config, Sim};
use setu_tests::test_size;

/// Bytes a node moved on the attachment protocol, both ways (payload, by
/// `NetStatus::wire_by_protocol`).
fn blob_bytes(st: setu::Status) -> u64 {
    st.net
        .wire_by_protocol
        .iter()
        .filter(|(p, _)| p.contains("/blob/"))
        .map(|(_, n)| *n)
        .sum()
}

/// `len` bytes of a repeating pattern, different for each `salt`.
fn pattern(len: usize, salt: u8) -> Vec<u8> {
    (0..len).map(|i| (i % 241) as u8 ^ salt).collect()
}

/// A new practice of `node` (the synthetic body of `seed`), with `files`
/// attached to it: each `(file name, bytes, category)`, written under
/// `dir` and titled by its name. Returns the practice id and each file's
/// hash.
async fn practice_with_files(
    node: &setu::Node,
    key: &setu::SecretKey,
    seed: u64,
    dir: &std::path::Path,
    files: &[(&str, &[u8], &str)],
) -> (String, Vec<setu_blob::Hash>) {
    let body = setu_store::synth::body(seed, 0);
    let pid = body["practice_id"]
        .as_str()
        .expect("practice_id")
        .to_string();
    node.publish(body).await.expect("practice");
    let mut hashes = Vec::new();
    for (name, bytes, category) in files {
        let file = dir.join(name);
        std::fs::write(&file, bytes).expect("write file");
        let published = node
            .attach(
                &file,
                serde_json::json!({
                    "practice": {"key": key.author().to_hex(), "practice_id": pid},
                    "title": {"original": "en", "text": {"en": name}},
                    "category": category,
                    "language": "en",
                }),
                |_| {},
            )
            .await
            .expect("attach");
        assert_eq!(published.revision, 1);
        hashes.push(setu_blob::Hash(*blake3::hash(bytes).as_bytes()));
    }
    (pid, hashes)
}

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

/// Nodes that know no peer at all find the holders only by the fetch
/// rules' provider lookups (`spec/net.md` §7.5 rule 2): with lookups
/// answered, every node that wants the content gets all of it, from the
/// publisher and then from each other; with lookups answered by nobody, the
/// same network gets nothing. Both runs have the same seed.
#[test]
fn nodes_that_know_no_holder_find_them_by_provider_lookups() {
    let seed = setu_sim::seed_or(12);
    let cfg = |providers| Config {
        nodes: 20,
        size: 8 << 20,
        seed,
        candidates: 0,
        know_holders: false,
        providers,
        ..Config::default()
    };
    let r = Sim::new(cfg(20)).expect("content").run(3_600_000);
    eprintln!("SEED={seed}, lookups answered: {r:?}");
    assert!(r.wanted >= 10, "SEED={seed}: {} nodes wanted it", r.wanted);
    assert_eq!(r.complete, r.wanted, "SEED={seed}: every node found it");
    assert_eq!(r.wrong_blocks, 0, "SEED={seed}");
    assert!(
        r.lookups >= r.wanted as u64,
        "SEED={seed}: each fetch looked"
    );
    let silent = Sim::new(cfg(0)).expect("content").run(600_000);
    eprintln!("SEED={seed}, lookups unanswered: {silent:?}");
    assert_eq!(silent.wanted, r.wanted, "SEED={seed}: the same network");
    assert_eq!(silent.complete, 0, "SEED={seed}: no lookup, no holder");
    assert!(
        silent.lookups > silent.wanted as u64,
        "SEED={seed}: stalled fetches looked again"
    );
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
        let files = [("empathy-training.webm", bytes, "video")];
        super::practice_with_files(node, key, 21, dir.path(), &files)
            .await
            .1[0]
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

    /// Provider records over real Kademlia (`spec/net.md` §7.6): A
    /// announces the file it holds, B (a Kademlia server that does not
    /// fetch it) keeps A's record, and C, which knows only B and never
    /// looks for peers by itself, finds A by a lookup and gets the bytes
    /// A signed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_fetch_finds_the_holder_through_provider_records() {
        let bytes = file_bytes(9, 3 << 20);
        let dirs: Vec<TempDir> = (0..4).map(|_| TempDir::new().expect("tempdir")).collect();
        let key = SecretKey::generate();
        let on_demand = setu::attachments::Policy {
            auto_fetch_bytes: 0,
            ..Default::default()
        };
        let mut ca = config(dirs[0].path(), "test-prov", Some(key.clone()), vec![]);
        ca.net.target_peers = 0;
        let a = Node::start(ca).await.expect("a");
        let mut cb = config(dirs[1].path(), "test-prov", None, vec![addr(&a).await]);
        cb.attachments = on_demand;
        let b = Node::start(cb).await.expect("b");
        let mut cc = config(dirs[2].path(), "test-prov", None, vec![addr(&b).await]);
        cc.attachments = on_demand;
        cc.net.target_peers = 0;
        let c = Node::start(cc).await.expect("c");
        let hash = publish_with_file(&a, &key, &dirs[3], &bytes).await;
        wait_records(&[&a, &b, &c], 2, "the practice and its attachment").await;
        wait_until(WAIT, "B to keep A's provider record", || async {
            let (sa, sb) = (
                a.status().await.expect("a").net,
                b.status().await.expect("b").net,
            );
            sa.providing == 1 && sa.providing_unheard == 0 && sb.provider_keys_kept >= 1
        })
        .await;
        let on_b = b.attachment(hash).await.expect("lookup").expect("B's ref");
        assert_eq!(on_b.availability, "absent", "B never fetched it");

        let path = tokio::time::timeout(WAIT, c.fetch_attachment(hash))
            .await
            .expect("C's fetch ends in time")
            .expect("C fetches from A");
        assert!(std::fs::read(&path).expect("read") == bytes, "A's bytes");
        let net = c.status().await.expect("c").net;
        assert!(net.counters.provider_lookups >= 1, "{:?}", net.counters);
        assert!(net.counters.providers_found >= 1, "{:?}", net.counters);
        // Having it whole, C announces it too.
        wait_until(WAIT, "C to announce what it fetched", || async {
            c.status().await.expect("c").net.providing == 1
        })
        .await;
        for n in [a, b, c] {
            n.shutdown().await.expect("shutdown");
        }
    }

    /// Anyone may publish a reference to someone else's hash with a wrong
    /// size. Mallory does, with a key that sorts first so her reference is
    /// the one read first; C still fetches the content, at its real size,
    /// and nobody honest is penalised.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_reference_with_a_wrong_size_does_not_block_the_fetch() {
        let bytes = file_bytes(8, 3 << 20);
        let alice = SecretKey::generate();
        let mallory = loop {
            let k = SecretKey::generate();
            if k.author().0 < alice.author().0 {
                break k;
            }
        };
        let dirs: Vec<TempDir> = (0..4).map(|_| TempDir::new().expect("tempdir")).collect();
        let a = Node::start(config(
            dirs[0].path(),
            "test-size",
            Some(alice.clone()),
            vec![],
        ))
        .await
        .expect("a");
        let m = Node::start(config(
            dirs[1].path(),
            "test-size",
            Some(mallory.clone()),
            vec![addr(&a).await],
        ))
        .await
        .expect("m");
        let c = Node::start(config(
            dirs[2].path(),
            "test-size",
            None,
            vec![addr(&a).await, addr(&m).await],
        ))
        .await
        .expect("c");
        let hash = publish_with_file(&a, &alice, &dirs[3], &bytes).await;
        wait_records(&[&m], 2, "Alice's records on Mallory's node").await;
        // Mallory's practice, and a reference to Alice's hash with a size
        // one block short.
        let body = setu_store::synth::body(22, 0);
        let pid = body["practice_id"].as_str().expect("id").to_string();
        m.publish(body).await.expect("practice");
        m.publish_kind(
            "attachment",
            json!({
                "attachment_id": "ATT-STOLEN",
                "practice": {"key": mallory.author().to_hex(), "practice_id": pid},
                "hash": hash.to_hex(),
                "size": bytes.len() - 16_384,
                "media_type": "video/webm",
                "title": {"original": "en", "text": {"en": "Not what it says"}},
                "language": "en",
                "category": "video",
            }),
        )
        .await
        .expect("the stolen reference");
        wait_records(&[&c], 4, "both practices and both references on C").await;
        let first = c
            .attachment(hash)
            .await
            .expect("lookup")
            .expect("a reference");
        assert_eq!(
            first.attachment.size,
            Some(bytes.len() as u64 - 16_384),
            "the wrong size is the one read first"
        );
        let path = c.fetch_attachment(hash).await.expect("C fetches anyway");
        assert!(
            std::fs::read(path).expect("read") == bytes,
            "C holds Alice's bytes"
        );
        let banned = c.status().await.expect("status").net.counters.peers_banned;
        assert_eq!(banned, 0, "nobody honest is penalised");
        for n in [a, m, c] {
            n.shutdown().await.expect("stop");
        }
    }

    /// A fetch from three peers at once: A, B and C hold the file, each
    /// serving a peer 1 MiB/s, and D fetches it with all three connected.
    /// D gets exactly A's bytes, and each of the three served it at least
    /// one request's worth (1 MiB): the blocks came from all of them. (On a
    /// 2-core loopback this shows correctness, not a speed-up.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_fetch_from_three_peers_at_once_gets_blocks_from_each() {
        let bytes = file_bytes(8, 6 << 20);
        let dirs: Vec<TempDir> = (0..5).map(|_| TempDir::new().expect("tempdir")).collect();
        let key = SecretKey::generate();
        let slow = |i: usize, k: Option<SecretKey>, boot| {
            let mut c = config(dirs[i].path(), "test-three", k, boot);
            c.net.blob_rate = 1 << 20;
            c.attachments.auto_fetch_bytes = 0;
            c
        };
        let a = Node::start(slow(0, Some(key.clone()), vec![]))
            .await
            .expect("a");
        let b = Node::start(slow(1, None, vec![addr(&a).await]))
            .await
            .expect("b");
        let c = Node::start(slow(2, None, vec![addr(&a).await]))
            .await
            .expect("c");
        let hash = publish_with_file(&a, &key, &dirs[4], &bytes).await;
        wait_records(&[&a, &b, &c], 2, "the attachment on B and C").await;
        let (gb, gc) = tokio::join!(b.fetch_attachment(hash), c.fetch_attachment(hash));
        gb.expect("B holds it");
        gc.expect("C holds it");
        let boot = vec![addr(&a).await, addr(&b).await, addr(&c).await];
        let d = Node::start(slow(3, None, boot)).await.expect("d");
        wait_records(&[&d], 2, "the attachment on D").await;
        wait_until(WAIT, "D connected to all three", || async {
            d.peers().await.expect("peers").len() >= 3
        })
        .await;
        let served = super::blob_bytes;
        let mut before = Vec::new();
        for n in [&a, &b, &c] {
            before.push(served(n.status().await.expect("status")));
        }
        let path = d.fetch_attachment(hash).await.expect("D fetches");
        assert!(std::fs::read(path).expect("read") == bytes, "A's bytes");
        for (i, n) in [&a, &b, &c].into_iter().enumerate() {
            let sent = served(n.status().await.expect("status")) - before[i];
            assert!(
                sent >= 1 << 20,
                "holder {i} served D only {sent} bytes: the fetch did not use all three"
            );
        }
        for n in [a, b, c, d] {
            n.shutdown().await.expect("stop");
        }
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
        // The fetch, asked again, starts from the blocks that verify on disk.
        let fetching = {
            let b = b.clone();
            tokio::spawn(async move { b.fetch_attachment(hash).await })
        };
        // A fetch whose partial file is still being opened and verified is
        // listed with nothing held and nothing in flight; wait until it
        // runs (it then holds what verified, or has asked for a block).
        let first = std::sync::Arc::new(std::sync::Mutex::new(None));
        wait_until(
            Duration::from_secs(60),
            "the resumed fetch to start",
            || {
                let (b, first) = (b.clone(), first.clone());
                async move {
                    let f = b.fetches().await.expect("fetches").first().cloned();
                    let running = f
                        .as_ref()
                        .is_some_and(|f| f.blocks_held > 0 || f.in_flight > 0);
                    *first.lock().expect("lock") = f;
                    running
                }
            },
        )
        .await;
        let first = first.lock().expect("lock").clone().expect("a fetch");
        assert!(
            first.blocks_held >= held && first.blocks_held < first.blocks,
            "resumed from {} verified blocks (held {held} of {} before the cut)",
            first.blocks_held,
            first.blocks
        );
        let path = fetching.await.expect("task").expect("the rest");
        assert!(std::fs::read(path).expect("read") == bytes);
        a.shutdown().await.expect("stop a");
        b.shutdown().await.expect("stop b");
    }
}

mod hostile {
    use futures::StreamExt;
    use setu::{Node, SecretKey};
    use setu_blob::wire::{Request, Response};
    use setu_net::behaviour::{self, Behaviour, BehaviourEvent};
    use setu_net::request_response::{Event as RrEvent, Message};
    use setu_net::swarm::SwarmEvent;
    use setu_tests::net::{WAIT, addr, config, wait_records, wait_until};
    use tempfile::TempDir;

    /// A bare libp2p swarm of network `network` (no node behind it), to
    /// play a peer by hand.
    fn bare_swarm(network: &str) -> setu_net::swarm::Swarm<Behaviour> {
        let mut cfg = setu_net::config::Config {
            network: network.into(),
            mdns: false,
            kademlia: false,
            ..Default::default()
        };
        cfg.listen.clear();
        behaviour::swarm(&cfg, setu_net::identity::Keypair::generate_ed25519()).expect("swarm")
    }

    /// A peer that holds the content and answers every blocks request
    /// with a correct encoding in which one byte is flipped. Returns how
    /// many such answers it sent, once its victim has closed the
    /// connection.
    async fn corrupting_peer(network: &str, target: setu_net::Multiaddr, bytes: Vec<u8>) -> u32 {
        let mut swarm = bare_swarm(network);
        swarm.dial(target).expect("dial");
        let tree = setu_blob::verify::Tree::build(&bytes[..], bytes.len() as u64).expect("tree");
        let mut corrupted = 0;
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let ev = tokio::time::timeout_at(deadline, swarm.select_next_some())
                .await
                .expect("the victim should close the connection in time");
            match ev {
                SwarmEvent::Behaviour(BehaviourEvent::Blob(RrEvent::Message {
                    message:
                        Message::Request {
                            request, channel, ..
                        },
                    ..
                })) => {
                    let resp = match Request::decode(&request).expect("a valid request") {
                        Request::Have(_) => Response::Have {
                            size: tree.size(),
                            ranges: setu_blob::blocks::Set::full(setu_blob::blocks::count(
                                tree.size(),
                            ))
                            .ranges(),
                        },
                        Request::Blocks { range, .. } => {
                            let mut enc = tree.encode(&bytes, &range).expect("encode");
                            let at = enc.len() - 100;
                            enc[at] ^= 0x01;
                            corrupted += 1;
                            Response::Blocks(enc)
                        }
                    };
                    let _ = swarm
                        .behaviour_mut()
                        .blob
                        .send_response(channel, resp.encode());
                }
                SwarmEvent::ConnectionClosed {
                    num_established: 0, ..
                } if corrupted > 0 => {
                    return corrupted;
                }
                _ => {}
            }
        }
    }

    /// A peer that flips bytes in its blocks is caught, banned (its
    /// connection closed), and the file still arrives intact from the
    /// honest peer.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_corrupting_peer_is_banned_and_the_file_arrives_intact() {
        let mut bytes = vec![0u8; 6 << 20];
        blake3::Hasher::new().finalize_xof().fill(&mut bytes);
        let dirs: Vec<TempDir> = (0..3).map(|_| TempDir::new().expect("tempdir")).collect();
        let key = SecretKey::generate();
        // The honest peer serves slowly, so the corrupting one is asked too.
        let mut cb = config(dirs[0].path(), "test-corrupt", Some(key.clone()), vec![]);
        cb.net.blob_rate = 1 << 20;
        let b = Node::start(cb).await.expect("b");
        let c = Node::start(config(
            dirs[1].path(),
            "test-corrupt",
            None,
            vec![addr(&b).await],
        ))
        .await
        .expect("c");
        let files = [("infographic.png", &bytes[..], "infographic")];
        super::practice_with_files(&b, &key, 31, dirs[2].path(), &files).await;
        wait_records(&[&b, &c], 2, "the attachment on C").await;
        let hostile = tokio::spawn(corrupting_peer(
            "test-corrupt",
            addr(&c).await,
            bytes.clone(),
        ));
        wait_until(
            WAIT,
            "C to be connected to B and the corrupting peer",
            || async { c.peers().await.expect("peers").len() == 2 },
        )
        .await;
        let hash = setu_blob::Hash(*blake3::hash(&bytes).as_bytes());
        let path = c.fetch_attachment(hash).await.expect("fetched from B");
        assert!(
            std::fs::read(path).expect("read") == bytes,
            "the file is intact"
        );
        let corrupted = tokio::time::timeout(WAIT, hostile)
            .await
            .expect("the corrupting peer was cut off")
            .expect("task");
        assert!(corrupted >= 1);
        let st = c.status().await.expect("status");
        assert!(
            st.net.counters.peers_banned >= 1,
            "C banned the corrupting peer: {:?}",
            st.net.counters
        );
        b.shutdown().await.expect("stop b");
        c.shutdown().await.expect("stop c");
    }

    /// One peer cannot take every serving slot (`spec/net.md` §7.5,
    /// serving rule 3): eight one-block requests sent at once to a node
    /// serving 16 KiB/s get at most `MAX_SERVING_PER_PEER` responses under
    /// way (each waits a second more than the last) and `busy` for the rest,
    /// where the rate alone (`MAX_RATE_WAIT` = 10 s) would have held them
    /// all. Every block sent is the content's.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_peer_gets_a_few_serving_slots_and_busy_for_the_rest() {
        const ASKED: u64 = 8;
        let bytes: Vec<u8> = (0..(ASKED as usize) << 14)
            .map(|i| (i % 253) as u8)
            .collect();
        let dirs: Vec<TempDir> = (0..2).map(|_| TempDir::new().expect("tempdir")).collect();
        let key = SecretKey::generate();
        let mut ca = config(dirs[0].path(), "test-slots", Some(key.clone()), vec![]);
        ca.net.blob_rate = setu_net::config::MIN_BLOB_RATE;
        let a = Node::start(ca).await.expect("a");
        let files = [("photo.jpg", &bytes[..], "other")];
        let hash = super::practice_with_files(&a, &key, 51, dirs[1].path(), &files)
            .await
            .1[0];
        let tree = setu_blob::verify::Tree::build(&bytes[..], bytes.len() as u64).expect("tree");

        let mut swarm = bare_swarm("test-slots");
        let target = addr(&a).await;
        let peer = match target.iter().last() {
            Some(setu_net::multiaddr::Protocol::P2p(p)) => p,
            _ => panic!("{target} names its peer"),
        };
        swarm.dial(target).expect("dial");
        let deadline = tokio::time::Instant::now() + WAIT;
        let (mut blocks, mut busy, mut asked) = (0, 0, false);
        while blocks + busy < ASKED {
            let ev = tokio::time::timeout_at(deadline, swarm.select_next_some())
                .await
                .expect("every request answered in time");
            match ev {
                SwarmEvent::ConnectionEstablished { .. } if !asked => {
                    asked = true;
                    for i in 0..ASKED {
                        let req = Request::Blocks {
                            hash,
                            range: i..i + 1,
                        };
                        swarm.behaviour_mut().blob.send_request(&peer, req.encode());
                    }
                }
                SwarmEvent::Behaviour(BehaviourEvent::Blob(RrEvent::Message {
                    message: Message::Response { response, .. },
                    ..
                })) => match Response::decode(&response).expect("a response") {
                    Response::Blocks(enc) => {
                        let expect = (0..ASKED)
                            .any(|i| tree.encode(&bytes, &(i..i + 1)).expect("encode") == enc);
                        assert!(expect, "a block of the content");
                        blocks += 1;
                    }
                    Response::Refused {
                        code: setu_blob::wire::Code::Busy,
                        ..
                    } => busy += 1,
                    other => panic!("unexpected answer: {other:?}"),
                },
                SwarmEvent::Behaviour(BehaviourEvent::Blob(RrEvent::OutboundFailure {
                    error,
                    ..
                })) => panic!("a request failed: {error}"),
                _ => {}
            }
        }
        let cap = setu_net::driver::MAX_SERVING_PER_PEER as u64;
        assert!(
            (cap..=cap + 1).contains(&blocks),
            "{blocks} served: the cap is {cap} under way (one more if the first left first)"
        );
        assert_eq!(busy, ASKED - blocks, "the rest refused as busy");
        a.shutdown().await.expect("stop a");
    }
}

mod policy {
    use std::time::Duration;

    use serde_json::json;
    use setu::{Node, SecretKey};
    use setu_tests::net::{WAIT, addr, config, wait_records, wait_until};
    use tempfile::TempDir;

    /// A publisher A (default policy) and a node B that knows it, with
    /// `policy`; their three folders (A's, B's, files) live in `dirs`.
    async fn publisher_and_reader(
        network: &str,
        policy: setu::attachments::Policy,
    ) -> (Vec<TempDir>, SecretKey, Node, Node) {
        let dirs: Vec<TempDir> = (0..3).map(|_| TempDir::new().expect("tempdir")).collect();
        let key = SecretKey::generate();
        let ca = config(dirs[0].path(), network, Some(key.clone()), vec![]);
        let a = Node::start(ca).await.expect("a");
        let mut cb = config(dirs[1].path(), network, None, vec![addr(&a).await]);
        cb.attachments = policy;
        let b = Node::start(cb).await.expect("b");
        (dirs, key, a, b)
    }

    /// A small attachment is fetched by itself as its record arrives; a
    /// large one waits to be asked for; a denied one is neither stored nor
    /// served; collection keeps what is pinned.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn small_files_come_by_themselves_large_ones_on_demand_and_pins_survive_collection() {
        let dirs: Vec<TempDir> = (0..3).map(|_| TempDir::new().expect("tempdir")).collect();
        let key = SecretKey::generate();
        let policy = setu::attachments::Policy {
            auto_fetch_bytes: 1 << 20,
            quota_bytes: 1 << 30,
            every: Duration::from_millis(500),
            ..Default::default()
        };
        let mut ca = config(dirs[0].path(), "test-policy", Some(key.clone()), vec![]);
        ca.attachments = policy;
        let a = Node::start(ca).await.expect("a");
        let mut cb = config(dirs[1].path(), "test-policy", None, vec![addr(&a).await]);
        cb.attachments = policy;
        let b = Node::start(cb).await.expect("b");
        let (photo, report) = (super::pattern(300_000, 9), super::pattern(3_000_000, 10));
        let files = [
            ("photo.jpg", &photo[..], "other"),
            ("report.pdf", &report[..], "other"),
        ];
        let (_, hashes) = super::practice_with_files(&a, &key, 41, dirs[2].path(), &files).await;
        let (small, large) = (hashes[0], hashes[1]);
        wait_records(&[&a, &b], 3, "the practice and both attachments on B").await;
        wait_until(WAIT, "B to fetch the small file by itself", || async {
            b.attachment(small)
                .await
                .expect("lookup")
                .is_some_and(|v| v.availability == "complete")
        })
        .await;
        // Two more rounds: each saw the large one's reference, and left it.
        let rounds = b.policy_rounds();
        wait_until(WAIT, "two more policy rounds on B", || async {
            b.policy_rounds() >= rounds + 2
        })
        .await;
        let v = b
            .attachment(large)
            .await
            .expect("lookup")
            .expect("reference");
        assert_eq!(
            v.availability, "absent",
            "above the auto-fetch size: on demand only"
        );

        // Pinned content survives a collection whose quota is zero.
        b.pin(small, true).await.expect("pin");
        let held = b.content().expect("content");
        let c = held
            .collect(
                &Default::default(),
                &Default::default(),
                0,
                std::time::SystemTime::now() + 2 * setu_blob::content::COLLECT_GRACE,
            )
            .expect("collect");
        assert!(c.removed.is_empty(), "{c:?}");
        assert!(held.path(&small).is_some());

        // A takedown: removed, and fetching it again is refused.
        b.deny(small, true).await.expect("deny");
        assert!(held.path(&small).is_none());
        assert!(b.fetch_attachment(small).await.is_err());
        a.shutdown().await.expect("stop a");
        b.shutdown().await.expect("stop b");
    }

    /// A node neither adds nor fetches content over its
    /// `attachment_max_bytes`; the error names the setting. The record
    /// is still stored there (A, with the default limit, added the file).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn content_over_a_nodes_limit_is_neither_added_nor_fetched_there() {
        let policy = setu::attachments::Policy {
            max_bytes: 100_000,
            auto_fetch_bytes: 0,
            ..Default::default()
        };
        let (dirs, key, a, b) = publisher_and_reader("test-max", policy).await;
        let bytes = super::pattern(300_000, 0);
        let files = [("report.pdf", &bytes[..], "report")];
        let (pid, hashes) = super::practice_with_files(&a, &key, 71, dirs[2].path(), &files).await;
        let hash = hashes[0];
        wait_records(&[&a, &b], 2, "the reference on B").await;
        let file = dirs[2].path().join("report.pdf");
        let reference = json!({
            "practice": {"key": key.author().to_hex(), "practice_id": pid},
            "title": {"original": "en", "text": {"en": "A report"}},
            "category": "report",
            "language": "en",
        });
        let e = b.fetch_attachment(hash).await.expect_err("over B's limit");
        assert!(e.to_string().contains("attachment_max_bytes"), "{e}");
        let e = b.attach(&file, reference, |_| {}).await.expect_err("over");
        assert!(e.to_string().contains("300000"), "{e}");
        assert!(b.content().expect("content").path(&hash).is_none());
        a.shutdown().await.expect("stop a");
        b.shutdown().await.expect("stop b");
    }

    /// Automatic fetches stay within the quota: two small files whose sum
    /// is over B's quota. B fetches one, skips the other, and does not
    /// fetch and collect again round after round: A serves no more
    /// attachment bytes once B holds the first.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn automatic_fetches_stay_within_the_quota_round_after_round() {
        let policy = setu::attachments::Policy {
            auto_fetch_bytes: 1 << 20,
            quota_bytes: 400_000,
            every: Duration::from_millis(300),
            ..Default::default()
        };
        let (dirs, key, a, b) = publisher_and_reader("test-quota", policy).await;
        let (first, second) = (super::pattern(300_000, 0), super::pattern(300_001, 1));
        let files = [
            ("photo-0.jpg", &first[..], "other"),
            ("photo-1.jpg", &second[..], "other"),
        ];
        let (_, hashes) = super::practice_with_files(&a, &key, 61, dirs[2].path(), &files).await;
        wait_records(&[&a, &b], 3, "the practice and both references on B").await;
        let held = |b: &Node| {
            let dir = b.content().expect("content");
            hashes.iter().filter(|h| dir.path(h).is_some()).count()
        };
        wait_until(WAIT, "B to fetch one of them", || async { held(&b) == 1 }).await;
        let served = super::blob_bytes;
        let rounds = b.policy_rounds();
        wait_until(WAIT, "one more round on B", || async {
            b.policy_rounds() > rounds
        })
        .await;
        let before = served(a.status().await.expect("status"));
        let rounds = b.policy_rounds();
        wait_until(WAIT, "four more rounds on B", || async {
            b.policy_rounds() >= rounds + 4
        })
        .await;
        assert_eq!(held(&b), 1, "still one held, under the quota");
        let after = served(a.status().await.expect("status"));
        assert!(
            after - before < 100_000,
            "A served {} more attachment bytes: B fetched again what it collected",
            after - before
        );
        a.shutdown().await.expect("stop a");
        b.shutdown().await.expect("stop b");
    }
}
