//! Real nodes on loopback TCP with real sled directories: convergence in
//! a line, catching up after a stop, partitions, revisions and withdrawals.

use setu::{Node, SecretKey};
use setu_tests::net::{WAIT, addr, config, import, records, wait_records, wait_until};
use tempfile::TempDir;

/// Five nodes in a line, each knowing only its left neighbour, converge on
/// 500 records published at all five (some gossiped, most imported and
/// carried by reconciliation).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn line_of_five_converges() {
    let dirs: Vec<TempDir> = (0..5).map(|_| TempDir::new().expect("tempdir")).collect();
    let mut nodes: Vec<Node> = Vec::new();
    for (i, d) in dirs.iter().enumerate() {
        let boot = match nodes.last() {
            Some(prev) => vec![addr(prev).await],
            None => vec![],
        };
        let cfg = config(d.path(), "test-line", Some(SecretKey::generate()), boot);
        nodes.push(
            Node::start(cfg)
                .await
                .unwrap_or_else(|e| panic!("node {i}: {e}")),
        );
    }
    // Each node was told only of its left neighbour; wait until every link
    // of the line is up. Kademlia may add more links (once AutoNAT makes
    // the nodes servers, discovery dials non-neighbours), so the test asks
    // for the line's links, not for exact peer counts that may never hold.
    let ids: Vec<String> = nodes.iter().map(|n| n.peer_id().to_string()).collect();
    wait_until(WAIT, "every link of the line to be up", || async {
        for (i, n) in nodes.iter().enumerate().skip(1) {
            let peers = n.peers().await.expect("peers");
            if !peers.iter().any(|p| p.peer_id == ids[i - 1]) {
                return false;
            }
        }
        true
    })
    .await;
    for (i, n) in nodes.iter().enumerate() {
        let seed = 100 + i as u64;
        for b in setu_store::synth::bodies(seed + 1000, 10) {
            n.publish(b).await.expect("publish");
        }
        assert_eq!(import(n, seed, 90).await, 90);
    }
    let refs: Vec<&Node> = nodes.iter().collect();
    wait_records(&refs, 500, "all five nodes to hold 500 records").await;
    // The ends learned from both paths.
    let far = nodes[4].status().await.expect("status").net.counters;
    assert!(far.via_sync + far.via_bulk > 0, "{far:?}");
    for n in &nodes {
        let st = n.status().await.expect("status");
        assert_eq!(st.net.counters.refused_invalid, 0);
        assert_eq!(st.net.counters.peers_banned, 0);
        n.shutdown().await.expect("shutdown");
    }
}

/// A node stopped while 1,000 records are published catches up after its
/// restart through reconciliation (or bulk transfer), not gossip: its own
/// counters say so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_node_catches_up_by_reconciliation() {
    let (da, db) = (
        TempDir::new().expect("tempdir"),
        TempDir::new().expect("tempdir"),
    );
    let a = Node::start(config(
        da.path(),
        "test-catchup",
        Some(SecretKey::generate()),
        vec![],
    ))
    .await
    .expect("a");
    let a_addr = addr(&a).await;
    let b_cfg = config(db.path(), "test-catchup", None, vec![a_addr.clone()]);
    let b = Node::start(b_cfg.clone()).await.expect("b");
    assert_eq!(import(&a, 1, 100).await, 100);
    wait_records(&[&a, &b], 100, "b to hold the first 100").await;
    b.shutdown().await.expect("stop b");
    drop(b);
    assert_eq!(import(&a, 2, 1000).await, 1000);
    let b = Node::start(b_cfg).await.expect("restart b");
    wait_records(&[&a, &b], 1100, "b to catch up to 1,100").await;
    wait_until(WAIT, "b's follow-up reconciliation to finish", || async {
        b.status().await.expect("status").net.counters.sessions_done >= 1
    })
    .await;
    let c = b.status().await.expect("status").net.counters;
    assert_eq!(c.via_gossip, 0, "{c:?}");
    assert_eq!(c.via_sync + c.via_bulk, 1000, "{c:?}");
    a.shutdown().await.expect("a");
    b.shutdown().await.expect("b");
}

/// Three groups of two, partitioned, each publishing; then healed. All
/// converge and nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partition_heals() {
    let dirs: Vec<TempDir> = (0..6).map(|_| TempDir::new().expect("tempdir")).collect();
    let mut nodes = Vec::new();
    for g in 0..3 {
        let first = Node::start(config(
            dirs[2 * g].path(),
            "test-part",
            Some(SecretKey::generate()),
            vec![],
        ))
        .await
        .expect("node");
        let boot = vec![addr(&first).await];
        let second = Node::start(config(
            dirs[2 * g + 1].path(),
            "test-part",
            Some(SecretKey::generate()),
            boot,
        ))
        .await
        .expect("node");
        nodes.push(first);
        nodes.push(second);
    }
    for (i, n) in nodes.iter().enumerate() {
        assert_eq!(import(n, 50 + i as u64, 40).await, 40);
        n.publish(setu_store::synth::body(900 + i as u64, 0))
            .await
            .expect("publish");
    }
    for g in 0..3 {
        let pair = [&nodes[2 * g], &nodes[2 * g + 1]];
        wait_records(&pair, 82, "each group to converge inside its partition").await;
    }
    // Still partitioned: no group holds another's records.
    assert_eq!(records(&nodes[0]).await, 82);
    // Heal: group 0 meets group 1, group 1 meets group 2.
    nodes[0].dial(addr(&nodes[2]).await).await.expect("dial");
    nodes[3].dial(addr(&nodes[4]).await).await.expect("dial");
    let refs: Vec<&Node> = nodes.iter().collect();
    wait_records(&refs, 246, "all six to hold 246 records after healing").await;
    for n in &nodes {
        n.shutdown().await.expect("shutdown");
    }
}

/// Revisions and withdrawals replicate, and every node agrees on the
/// current revision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revisions_and_withdrawals_replicate() {
    let dirs: Vec<TempDir> = (0..3).map(|_| TempDir::new().expect("tempdir")).collect();
    let a = Node::start(config(
        dirs[0].path(),
        "test-rev",
        Some(SecretKey::generate()),
        vec![],
    ))
    .await
    .expect("a");
    let boot = vec![addr(&a).await];
    let b = Node::start(config(dirs[1].path(), "test-rev", None, boot.clone()))
        .await
        .expect("b");
    let c = Node::start(config(dirs[2].path(), "test-rev", None, boot))
        .await
        .expect("c");
    let mut body = setu_store::synth::body(7, 0);
    let pid = body["practice_id"]
        .as_str()
        .expect("practice_id")
        .to_string();
    let other = setu_store::synth::body(7, 1);
    let other_pid = other["practice_id"]
        .as_str()
        .expect("practice_id")
        .to_string();
    a.publish(body.clone()).await.expect("rev 1");
    a.publish(other).await.expect("other");
    body["summary"]["text"] = serde_json::json!({"en": "Second revision: fewer visits."});
    body["summary"]["original"] = serde_json::json!("en");
    a.publish(body.clone()).await.expect("rev 2");
    body["summary"]["text"] = serde_json::json!({"en": "Third revision: no visits at all."});
    let third = a.publish(body).await.expect("rev 3");
    assert_eq!(third.revision, 3);
    a.withdraw(&other_pid, "merged into another practice")
        .await
        .expect("withdraw");
    wait_records(&[&a, &b, &c], 5, "all three to hold 5 records").await;
    for n in [&a, &b, &c] {
        // Stored is not yet searchable: wait for the index to show both.
        wait_until(WAIT, "the index to show both practices", || async {
            n.get(&pid, None, false).await.expect("get").is_ok()
                && n.get(&other_pid, None, false).await.expect("get").is_ok()
        })
        .await;
        let v = n.get(&pid, None, true).await.expect("get").expect("found");
        assert_eq!(v.current, Some(third.id));
        assert_eq!(v.revision, 3);
        assert_eq!(v.history.as_ref().map(Vec::len), Some(3));
        let w = n
            .get(&other_pid, None, false)
            .await
            .expect("get")
            .expect("found");
        assert!(w.withdrawn);
    }
    let c_counters = c.status().await.expect("status").net.counters;
    assert!(c_counters.via_gossip + c_counters.via_sync + c_counters.via_bulk >= 5);
    for n in [&a, &b, &c] {
        n.shutdown().await.expect("shutdown");
    }
}

/// A node remembers its peers across a restart: started again with no
/// bootstrap list, it reconnects from its address book and catches up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn address_book_survives_a_restart() {
    let (da, db) = (
        TempDir::new().expect("tempdir"),
        TempDir::new().expect("tempdir"),
    );
    let a = Node::start(config(
        da.path(),
        "test-book",
        Some(SecretKey::generate()),
        vec![],
    ))
    .await
    .expect("a");
    let b = Node::start(config(db.path(), "test-book", None, vec![addr(&a).await]))
        .await
        .expect("b");
    wait_until(WAIT, "b to connect", || async {
        b.peers().await.expect("peers").len() == 1
    })
    .await;
    b.shutdown().await.expect("stop b");
    drop(b);
    assert!(db.path().join(setu::address_book::FILE).exists());
    a.publish(setu_store::synth::body(31, 0))
        .await
        .expect("publish");
    let b = Node::start(config(db.path(), "test-book", None, vec![]))
        .await
        .expect("restart b");
    wait_records(
        &[&a, &b],
        1,
        "b to reconnect from its address book and catch up",
    )
    .await;
    a.shutdown().await.expect("a");
    b.shutdown().await.expect("b");
}

/// An import is stored a chunk at a time (so the network task never waits
/// on a whole import), yet reports each row by its line in the whole input.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_import_keeps_line_numbers() {
    let d = TempDir::new().expect("tempdir");
    let node = Node::start(config(
        d.path(),
        "test-import",
        Some(SecretKey::generate()),
        vec![],
    ))
    .await
    .expect("node");
    let mut input = setu_tests::net::jsonl(12, 1004);
    // Line 1,003 (in the second chunk) is not a practice.
    let lines: Vec<&[u8]> = input.split(|b| *b == b'\n').collect();
    let mut edited = Vec::new();
    for (i, l) in lines.iter().enumerate().take(1004) {
        if i == 1002 {
            edited.extend_from_slice(b"{\"practice_id\": 7}");
        } else {
            edited.extend_from_slice(l);
        }
        edited.push(b'\n');
    }
    input = edited;
    let (prog, rows) = node
        .import(Box::new(std::io::Cursor::new(input)), false)
        .await
        .expect("import");
    assert_eq!((prog.rows, prog.imported, prog.rejected), (1004, 1003, 1));
    let rejected: Vec<usize> = rows
        .iter()
        .filter_map(|r| match r {
            setu_store::replica::Row::Rejected { line, .. } => Some(*line),
            _ => None,
        })
        .collect();
    assert_eq!(rejected, vec![1003]);
    node.shutdown().await.expect("shutdown");
}

/// Records that reach a node by reconciliation, not gossip, are passed on
/// to its other peers at once (`PASS_ON_DELAY`), not one hop per sync
/// interval: with an hour-long interval, they still cross two hops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_from_sync_are_passed_on() {
    let dirs: Vec<TempDir> = (0..3).map(|_| TempDir::new().expect("tempdir")).collect();
    let start = |i: usize, boot: Vec<setu::Multiaddr>| {
        let mut cfg = config(
            dirs[i].path(),
            "test-pass-on",
            Some(SecretKey::generate()),
            boot,
        );
        cfg.net.sync_interval = std::time::Duration::from_secs(3600);
        Node::start(cfg)
    };
    let b = start(1, vec![]).await.expect("b");
    let c = start(2, vec![addr(&b).await]).await.expect("c");
    wait_until(WAIT, "c to connect to b", || async {
        b.peers().await.expect("peers").len() == 1
    })
    .await;
    // a's records are stored while it has no peers, so no gossip carries
    // them: b gets them by reconciliation when it dials a.
    let a = start(0, vec![]).await.expect("a");
    assert_eq!(import(&a, 7, 20).await, 20);
    b.dial(addr(&a).await).await.expect("dial a");
    wait_records(&[&a, &b, &c], 20, "c to hold a's 20 records, two hops away").await;
    let bc = b.status().await.expect("status").net.counters;
    assert_eq!(
        (bc.via_gossip, bc.via_sync + bc.via_bulk),
        (0, 20),
        "{bc:?}"
    );
    let cc = c.status().await.expect("status").net.counters;
    assert_eq!(
        (cc.via_gossip, cc.via_sync + cc.via_bulk),
        (0, 20),
        "{cc:?}"
    );
    // The per-protocol meter puts the records' bytes under the sync
    // protocol, the largest of c's entries, and counts no more than the
    // sockets carried.
    let net = c.status().await.expect("status").net;
    let by = &net.wire_by_protocol;
    let sync = by.get("/setu/test-pass-on/sync/2").copied().unwrap_or(0);
    assert!(
        by.len() >= 2 && by.values().all(|v| *v <= sync),
        "sync is the largest of {by:?}"
    );
    assert!(
        by.values().sum::<u64>() <= net.counters.wire_in + net.counters.wire_out,
        "{by:?} against {:?}",
        net.counters
    );
    for n in [a, b, c] {
        n.shutdown().await.expect("shutdown");
    }
}

/// QUIC alongside TCP: a node that listens only on QUIC and one that dials
/// it over QUIC replicate, and their connection is a QUIC one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_replicate_over_quic() {
    let (da, db) = (
        TempDir::new().expect("tempdir"),
        TempDir::new().expect("tempdir"),
    );
    let mut ca = config(da.path(), "test-quic", Some(SecretKey::generate()), vec![]);
    ca.net.listen = vec!["/ip4/127.0.0.1/udp/0/quic-v1".parse().expect("multiaddr")];
    let a = Node::start(ca).await.expect("a");
    let a_addr = addr(&a).await;
    assert!(a_addr.to_string().contains("/quic-v1/"), "{a_addr}");
    let mut cb = config(
        db.path(),
        "test-quic",
        Some(SecretKey::generate()),
        vec![a_addr],
    );
    cb.net.listen = vec!["/ip4/127.0.0.1/udp/0/quic-v1".parse().expect("multiaddr")];
    let b = Node::start(cb).await.expect("b");
    assert_eq!(import(&a, 11, 50).await, 50);
    assert_eq!(import(&b, 12, 50).await, 50);
    wait_records(&[&a, &b], 100, "both nodes to hold 100 records over QUIC").await;
    let peers = b.peers().await.expect("peers");
    assert_eq!(peers.len(), 1);
    assert!(
        peers[0].addresses[0].contains("/quic-v1"),
        "{:?}",
        peers[0].addresses
    );
    a.shutdown().await.expect("a");
    b.shutdown().await.expect("b");
}

/// Dials reuse the listening port, so that the address a NAT maps for a
/// node's listener is the one hole punching dials (`spec/net.md` §3.4): the
/// dialled side sees the dialler's connection come from its listen port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dials_reuse_the_listening_port() {
    let (da, db) = (
        TempDir::new().expect("tempdir"),
        TempDir::new().expect("tempdir"),
    );
    let a = Node::start(config(da.path(), "test-port", None, vec![]))
        .await
        .expect("a");
    let b = Node::start(config(db.path(), "test-port", None, vec![addr(&a).await]))
        .await
        .expect("b");
    let b_listen = addr(&b).await.to_string();
    let b_port = b_listen.split('/').nth(4).expect("tcp port").to_string();
    wait_until(WAIT, "a to see b's connection", || async {
        a.peers().await.expect("peers").len() == 1
    })
    .await;
    let seen = &a.peers().await.expect("peers")[0].addresses;
    // The connection's remote address is listed first until identify adds
    // the listen addresses; with port reuse, both carry b's listen port.
    assert!(
        seen.iter()
            .all(|x| x.split('/').nth(4) == Some(b_port.as_str())),
        "b listens on {b_listen}, a sees {seen:?}"
    );
    a.shutdown().await.expect("a");
    b.shutdown().await.expect("b");
}

/// Kademlia finds peers beyond the bootstrap list: b and c know only a,
/// and end up connected to each other directly. (On loopback, AutoNAT's
/// dial-backs succeed, so each node turns Kademlia server.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kademlia_finds_peers_beyond_the_bootstrap_list() {
    let dirs: Vec<TempDir> = (0..3).map(|_| TempDir::new().expect("tempdir")).collect();
    let a = Node::start(config(dirs[0].path(), "test-kad", None, vec![]))
        .await
        .expect("a");
    let a_addr = addr(&a).await;
    let b = Node::start(config(
        dirs[1].path(),
        "test-kad",
        None,
        vec![a_addr.clone()],
    ))
    .await
    .expect("b");
    let c = Node::start(config(dirs[2].path(), "test-kad", None, vec![a_addr]))
        .await
        .expect("c");
    let c_id = c.status().await.expect("status").net.peer_id;
    wait_until(WAIT, "b to find c through a's Kademlia", || async {
        b.peers()
            .await
            .expect("peers")
            .iter()
            .any(|p| p.peer_id == c_id)
    })
    .await;
    let st = b.status().await.expect("status").net;
    assert_eq!(st.kad_mode, "server", "{st:?}");
    assert_eq!(st.reachability, setu_net::driver::Reachability::Public);
    assert!(
        st.counters.peers_discovered
            + c.status()
                .await
                .expect("status")
                .net
                .counters
                .peers_discovered
            >= 1
    );
    for n in [a, b, c] {
        n.shutdown().await.expect("shutdown");
    }
}

/// The ids of the peers a node is connected to.
async fn peer_ids(n: &Node) -> Vec<String> {
    let peers = n.peers().await.expect("peers");
    peers.into_iter().map(|p| p.peer_id).collect()
}

/// A node closes the connections its Kademlia lookups opened, beyond the
/// peers it keeps. Four nodes know only a, and never look for peers; f,
/// with a target of four peers, knows only a too. It chooses at most half
/// its target itself, a being one, so its lookup keeps one more peer; the
/// lookup connects it to all four (libp2p's lookups dial whom they ask),
/// and once the other three connections are `TRIM_LINGER_MS` old f closes
/// them. Records still reach f.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_trims_the_connections_it_did_not_keep() {
    let dirs: Vec<TempDir> = (0..6).map(|_| TempDir::new().expect("tempdir")).collect();
    let a = Node::start(config(dirs[0].path(), "test-trim", None, vec![]))
        .await
        .expect("a");
    let a_addr = addr(&a).await;
    let a_id = a.status().await.expect("status").net.peer_id;
    let mut others = Vec::new();
    for d in &dirs[1..5] {
        let mut c = config(
            d.path(),
            "test-trim",
            Some(SecretKey::generate()),
            vec![a_addr.clone()],
        );
        // They never look for peers, so what f holds is f's doing.
        c.net.target_peers = 0;
        others.push(Node::start(c).await.expect("node"));
    }
    wait_until(WAIT, "a to hold the four", || async {
        a.peers().await.expect("peers").len() == 4
    })
    .await;
    let mut cf = config(dirs[5].path(), "test-trim", None, vec![a_addr]);
    cf.net.target_peers = 4;
    let f = Node::start(cf).await.expect("f");
    // A trim counted says f held more than the two it keeps: a, and the
    // one its lookup chose.
    wait_until(
        WAIT,
        "f to trim down to the two it keeps, a among them",
        || async {
            let peers = f.peers().await.expect("peers");
            let trimmed = f.status().await.expect("status").net.counters.peers_trimmed;
            trimmed >= 1 && peers.len() == 2 && peers.iter().any(|p| p.peer_id == a_id)
        },
    )
    .await;
    // And it stays so: what f keeps is not trimmed, and nothing new is,
    // for longer than a connection lives before its trim.
    let kept = peer_ids(&f).await;
    let trimmed = f.status().await.expect("status").net.counters.peers_trimmed;
    let steady = std::time::Instant::now();
    let span = std::time::Duration::from_millis(
        setu_proto::state::TRIM_LINGER_MS + 2 * setu_proto::state::TRIM_INTERVAL_MS,
    );
    while steady.elapsed() < span {
        let now = peer_ids(&f).await;
        assert!(
            kept.iter().all(|k| now.contains(k)),
            "f lost a peer it keeps: {kept:?} → {now:?}"
        );
        let c = f.status().await.expect("status").net.counters.peers_trimmed;
        assert_eq!(c, trimmed, "f trimmed again after settling");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    // Records still reach f through what it kept.
    assert_eq!(import(&others[3], 77, 5).await, 5);
    wait_records(&[&f], 5, "f to get the records after the trim").await;
    for n in others.into_iter().chain([a, f]) {
        n.shutdown().await.expect("shutdown");
    }
}
