//! `setu-bench net`: the network over real libp2p on loopback. Bulk
//! catch-up against the replica's ingest ceiling; gossip payload copies and
//! delivery times, announcements against plain gossipsub; reconciliation
//! over the wire against the same sets in memory. Bytes are counted on the
//! sockets (noise, yamux and every protocol included).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use setu::{Config, Event, Node, SecretKey};
use setu_net::config::Gossip;
use setu_store::replica::{self, Replica};
use setu_sync::item::Item;

use crate::replica::{Signed, ceiling, generate};
use crate::table::{self, per_sec, percentile_ms, rate};

const WAIT: Duration = Duration::from_secs(900);
/// Long enough that no periodic round runs during a measurement.
const QUIET_SYNC: Duration = Duration::from_secs(3600);

fn config(dir: &Path, network: &str, gossip: Gossip) -> Config {
    let mut cfg = Config::new(dir);
    cfg.net.network = network.into();
    cfg.net.mdns = false;
    cfg.net.gossip = gossip;
    cfg.net.sync_interval = QUIET_SYNC;
    cfg.net.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().expect("addr")];
    cfg
}

/// Loads records straight into a new data directory with the replica's
/// own ingest (store rules and search index).
fn preload(dir: &Path, records: &[&Signed]) {
    Replica::create(dir).expect("create");
    let mut r = Replica::open(dir, replica::Config::default()).expect("open");
    for chunk in records.chunks(setu_store::ingest::MAX_BATCH) {
        r.ingest(
            chunk.iter().map(|s| s.bytes.clone()).collect(),
            u64::MAX / 2,
        )
        .expect("ingest");
    }
    r.flush_index().expect("index");
}

async fn held(n: &Node) -> u64 {
    n.status().await.expect("status").replica.records
}

async fn wait_held(n: &Node, want: u64) {
    let deadline = Instant::now() + WAIT;
    while held(n).await < want {
        assert!(Instant::now() < deadline, "timed out");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Adds a node's payload bytes by protocol to `into`.
async fn add_protocols(into: &mut BTreeMap<String, u64>, n: &Node) {
    for (p, v) in n.status().await.expect("status").net.wire_by_protocol {
        *into.entry(p).or_default() += v;
    }
}

async fn wire(n: &Node) -> u64 {
    let c = n.status().await.expect("status").net.counters;
    c.wire_in + c.wire_out
}

async fn addr(n: &Node) -> setu::Multiaddr {
    n.status().await.expect("status").net.listen[0]
        .parse()
        .expect("addr")
}

pub fn run(records: usize, nodes: usize, gossip_records: usize, only: Option<String>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let on = |part: &str| only.as_deref().is_none_or(|o| o == part);
    rt.block_on(async {
        if on("bulk") {
            bulk(records).await;
        }
        if on("gossip") {
            gossip(nodes, gossip_records).await;
        }
        if on("reconcile") {
            reconcile(records).await;
        }
    });
}

async fn bulk(n: usize) {
    eprintln!("generating {n} signed records...");
    let recs = generate(n);
    let bytes: u64 = recs.iter().map(|r| r.bytes.len() as u64).sum();
    let ceil = ceiling(&recs);
    // The replica's own ingest of the same records (store and index), and
    // the serving node's data: the same work, timed once.
    let (da, db) = (
        tempfile::tempdir().expect("tmp"),
        tempfile::tempdir().expect("tmp"),
    );
    let start = Instant::now();
    preload(da.path(), &recs.iter().collect::<Vec<_>>());
    let local = start.elapsed();
    let a = Node::start(config(da.path(), "bench-bulk", Gossip::Announce))
        .await
        .expect("a");
    let mut cb = config(db.path(), "bench-bulk", Gossip::Announce);
    cb.net.bootstrap = vec![addr(&a).await];
    let start = Instant::now();
    let b = Node::start(cb).await.expect("b");
    // Progress, every 5 s, on stderr.
    let watch = {
        let b = b.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(5)).await;
                if let Ok(s) = b.status().await {
                    let c = s.net.counters;
                    eprintln!(
                        "  held {} bulk {} sync {} sessions {}/{}/{} refused {}",
                        s.replica.records,
                        c.via_bulk,
                        c.via_sync,
                        c.sessions_started,
                        c.sessions_done,
                        c.sessions_failed,
                        c.requests_refused
                    );
                }
            }
        })
    };
    wait_held(&b, n as u64).await;
    watch.abort();
    let took = start.elapsed();
    let w = wire(&b).await;
    let c = b.status().await.expect("status").net.counters;
    table::print(
        &format!("Bulk catch-up: an empty node syncs {n} records from one peer (loopback)"),
        &["path", "time", "records/s", "vs ceiling"],
        &[
            vec![
                "ceiling: batch verify + SHA-256 + raw sled insert".into(),
                format!("{:.2} s", ceil.as_secs_f64()),
                per_sec(rate(n, ceil)),
                "100%".into(),
            ],
            vec![
                "local Replica::ingest (store + index)".into(),
                format!("{:.2} s", local.as_secs_f64()),
                per_sec(rate(n, local)),
                format!("{:.0}%", 100.0 * ceil.as_secs_f64() / local.as_secs_f64()),
            ],
            vec![
                format!("over libp2p (bulk {} + sync {})", c.via_bulk, c.via_sync),
                format!("{:.2} s", took.as_secs_f64()),
                per_sec(rate(n, took)),
                format!("{:.0}%", 100.0 * ceil.as_secs_f64() / took.as_secs_f64()),
            ],
        ],
    );
    println!(
        "\nwire bytes (both directions, at the new node) / record bytes = {} / {} = {:.3}",
        w,
        bytes,
        w as f64 / bytes as f64
    );
    a.shutdown().await.expect("a");
    b.shutdown().await.expect("b");
}

async fn gossip(nodes: usize, count: usize) {
    let mut rows = Vec::new();
    // First on the fixed topology alone (each node dials three earlier
    // ones), then with Kademlia on, as a node runs by default: it dials
    // more peers (up to 8), so the mesh is denser and discovery and AutoNAT
    // traffic is counted too.
    for kad in [false, true] {
        for mode in [Gossip::Announce, Gossip::Full] {
            let (row, p50, p99) = timed_gossip(nodes, count, mode, kad).await;
            let mut row = row;
            row.insert(2, format!("{p50:.1} / {p99:.1} ms"));
            if kad {
                row[0].push_str(", with Kademlia (default)");
            }
            rows.push(row);
        }
    }
    table::print(
        &format!("Gossip: {nodes} nodes, {count} records published round-robin (loopback)"),
        &[
            "mode",
            "wire bytes per delivery, in record sizes",
            "delivery p50 / p99",
            "records that came by sync instead",
        ],
        &rows,
    );
}

/// Runs one gossip measurement with delivery times taken as events arrive.
async fn timed_gossip(
    nodes: usize,
    count: usize,
    mode: Gossip,
    kad: bool,
) -> (Vec<String>, f64, f64) {
    let times = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Duration>::new()));
    let row = {
        let t = times.clone();
        gossip_with_timer(nodes, count, mode, kad, t).await
    };
    let mut d = times.lock().expect("lock").clone();
    d.sort();
    let p50 = percentile_ms(&d, 50);
    let p99 = percentile_ms(&d, 99);
    (row, p50, p99)
}

async fn gossip_with_timer(
    nodes: usize,
    count: usize,
    mode: Gossip,
    kad: bool,
    times: std::sync::Arc<std::sync::Mutex<Vec<Duration>>>,
) -> Vec<String> {
    // Delivery times: a listener per node stamps each arrival against the
    // publish instant, shared through a map filled as records are published.
    let published: std::sync::Arc<std::sync::Mutex<HashMap<setu_core::ids::RecordId, Instant>>> =
        Default::default();
    let (tx, mut rx) =
        tokio::sync::mpsc::unbounded_channel::<(setu_core::ids::RecordId, Instant)>();
    let listener = {
        let published = published.clone();
        let times = times.clone();
        tokio::spawn(async move {
            let mut pending: Vec<(setu_core::ids::RecordId, Instant)> = Vec::new();
            while let Some((id, at)) = rx.recv().await {
                pending.push((id, at));
            }
            // Every arrival, against its publish instant.
            let p = published.lock().expect("lock");
            let mut t = times.lock().expect("lock");
            for (id, at) in pending {
                if let Some(t0) = p.get(&id) {
                    t.push(at.saturating_duration_since(*t0));
                }
            }
        })
    };
    let row = gossip_run_with(nodes, count, mode, kad, published, tx).await;
    let _ = listener.await;
    row
}

/// How long the gossip runs measure idle traffic before publishing.
const IDLE_SPAN: Duration = Duration::from_secs(30);
/// The network has settled once nothing started or closed for this long:
/// longer than a connection a lookup opened lives before it is trimmed
/// (`TRIM_LINGER_MS` and one `TRIM_INTERVAL_MS`), so a lull between a
/// lookup and its trims does not count.
const QUIET: Duration = Duration::from_millis(
    setu_proto::state::TRIM_LINGER_MS + 2 * setu_proto::state::TRIM_INTERVAL_MS,
);

async fn gossip_run_with(
    nodes: usize,
    count: usize,
    mode: Gossip,
    kad: bool,
    published: std::sync::Arc<std::sync::Mutex<HashMap<setu_core::ids::RecordId, Instant>>>,
    tx: tokio::sync::mpsc::UnboundedSender<(setu_core::ids::RecordId, Instant)>,
) -> Vec<String> {
    let dirs: Vec<_> = (0..nodes)
        .map(|_| tempfile::tempdir().expect("tmp"))
        .collect();
    let net = match mode {
        Gossip::Announce => "bench-announce",
        Gossip::Full => "bench-full",
    };
    let mut ns: Vec<Node> = Vec::new();
    let mut addrs: Vec<setu::Multiaddr> = Vec::new();
    for (i, d) in dirs.iter().enumerate() {
        let mut cfg = config(d.path(), net, mode);
        cfg.net.kademlia = kad;
        cfg.key = Some(SecretKey::generate());
        for j in [1usize, 3, 7] {
            if i >= j {
                cfg.net.bootstrap.push(addrs[i - j].clone());
            }
        }
        let n = Node::start(cfg).await.expect("node");
        addrs.push(addr(&n).await);
        ns.push(n);
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    // Start-up is over once no node has started a session or closed a
    // connection it did not keep (a Kademlia lookup's) for `QUIET`: the
    // network as it runs after start-up, which is what the window
    // measures. How long that took is printed.
    let settling = Instant::now();
    let mut last = (u64::MAX, u64::MAX);
    let mut since = Instant::now();
    loop {
        let (mut sessions, mut trimmed) = (0, 0);
        for n in &ns {
            let c = n.status().await.expect("status").net.counters;
            sessions += c.sessions_started;
            trimmed += c.peers_trimmed;
        }
        if (sessions, trimmed) != last {
            last = (sessions, trimmed);
            since = Instant::now();
        } else if since.elapsed() >= QUIET {
            break;
        }
        assert!(settling.elapsed() < WAIT, "the network never settled");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let settled_after = settling.elapsed() + Duration::from_secs(5);
    let mut watchers = Vec::new();
    for n in &ns {
        let mut events = n.subscribe();
        let tx = tx.clone();
        watchers.push(tokio::spawn(async move {
            while let Ok(e) = events.recv().await {
                if let Event::RecordReceived { id, .. } = e {
                    let _ = tx.send((id, Instant::now()));
                }
            }
        }));
    }
    drop(tx);
    let mut idle0 = 0;
    for n in &ns {
        idle0 += wire(n).await;
    }
    // Background traffic (pings, discovery, AutoNAT), measured idle over
    // two ping intervals before anything is published, and printed beside
    // the run: the measured window carries it too.
    tokio::time::sleep(IDLE_SPAN).await;
    let mut before = 0;
    let mut sessions_before = 0;
    let mut protocols_before: BTreeMap<String, u64> = BTreeMap::new();
    for n in &ns {
        before += wire(n).await;
        add_protocols(&mut protocols_before, n).await;
        sessions_before += n
            .status()
            .await
            .expect("status")
            .net
            .counters
            .sessions_started;
    }
    let idle_rate = (before - idle0) as f64 / 2.0 / IDLE_SPAN.as_secs_f64();
    let mut links = 0;
    for n in &ns {
        links += n.peers().await.expect("peers").len();
    }
    let window = Instant::now();
    let mut record_bytes = 0u64;
    let bodies: Vec<_> = setu_store::synth::bodies(4242, count as u64).collect();
    for (i, b) in bodies.into_iter().enumerate() {
        let n = &ns[i % nodes];
        let t0 = Instant::now();
        let p = n.publish(b).await.expect("publish");
        published.lock().expect("lock").insert(p.id, t0);
        record_bytes += n
            .record(p.id)
            .await
            .expect("get")
            .map_or(0, |r| r.len() as u64);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let deadline = Instant::now() + WAIT;
    for n in &ns {
        while held(n).await < count as u64 {
            assert!(Instant::now() < deadline, "gossip did not converge");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let mut after = 0;
    let mut via_sync = 0;
    let (mut fetched, mut refetches, mut dups, mut bodies, mut sessions) = (0, 0, 0, 0, 0);
    let mut trimmed = 0;
    let mut protocols_after: BTreeMap<String, u64> = BTreeMap::new();
    for n in &ns {
        after += wire(n).await;
        add_protocols(&mut protocols_after, n).await;
        let c = n.status().await.expect("status").net.counters;
        via_sync += c.via_sync + c.via_bulk;
        fetched += c.fetched;
        refetches += c.refetches;
        dups += c.duplicates;
        bodies += c.bodies_received;
        sessions += c.sessions_started;
        trimmed += c.peers_trimmed;
    }
    eprintln!(
        "  {mode:?} kad={kad}: bodies received {bodies}, fetched {fetched}, refetches {refetches}, \
         duplicates {dups}, sessions {sessions} ({} during the measured window); settled {:.0} s after start; peers per node when the window opened {:.1}, connections trimmed {trimmed}; idle traffic before it {:.0} B/s, measured window {:.1} s and {} bytes",
        sessions - sessions_before,
        settled_after.as_secs_f64(),
        links as f64 / nodes as f64,
        idle_rate,
        window.elapsed().as_secs_f64(),
        (after - before) / 2
    );
    // Each byte is counted at both ends, as for the total.
    let mut by: Vec<(u64, String)> = protocols_after
        .iter()
        .map(|(p, v)| {
            (
                v.saturating_sub(protocols_before.get(p).copied().unwrap_or(0)) / 2,
                p.clone(),
            )
        })
        .collect();
    by.sort_unstable_by(|a, b| b.cmp(a));
    let framing = ((after - before) / 2).saturating_sub(by.iter().map(|(v, _)| v).sum::<u64>());
    eprintln!(
        "  {mode:?} kad={kad}: window bytes by protocol: {}; noise and yamux framing {framing}",
        by.iter()
            .map(|(v, p)| format!("{p} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let wire_delta = (after - before) / 2;
    let deliveries = (count * (nodes - 1)) as f64;
    let copies = wire_delta as f64 / (record_bytes as f64 / count as f64) / deliveries;
    for n in ns {
        n.shutdown().await.expect("shutdown");
    }
    for w in watchers {
        w.abort();
    }
    vec![
        match mode {
            Gossip::Announce => "announce, fetch once".into(),
            Gossip::Full => "plain gossipsub (whole records)".into(),
        },
        format!("{copies:.2}"),
        via_sync.to_string(),
    ]
}

async fn reconcile(n: usize) {
    let diff = 100;
    eprintln!("generating {} records for reconciliation...", n + diff);
    let recs = generate(n + diff);
    let (common, extra) = recs.split_at(n);
    let (only_a, only_b) = extra.split_at(diff / 2);
    let (da, db) = (
        tempfile::tempdir().expect("tmp"),
        tempfile::tempdir().expect("tmp"),
    );
    let set_a: Vec<&Signed> = common.iter().chain(only_a).collect();
    let set_b: Vec<&Signed> = common.iter().chain(only_b).collect();
    preload(da.path(), &set_a);
    preload(db.path(), &set_b);
    // The same sets in memory.
    let items = |set: &[&Signed]| -> Vec<Item> {
        let mut v: Vec<Item> = set
            .iter()
            .map(|s| {
                let r = setu_core::record::check_trusted(s.bytes.clone()).expect("valid");
                Item {
                    ts: r.envelope().ts,
                    id: r.id().0,
                }
            })
            .collect();
        v.sort();
        v
    };
    let (ia, ib) = (items(&set_a), items(&set_b));
    let t0 = Instant::now();
    let t = setu_sync::reconcile::run_pair(ia, ib, Default::default(), Default::default())
        .expect("pair");
    let mem = t0.elapsed();
    let a = Node::start(config(da.path(), "bench-rec", Gossip::Announce))
        .await
        .expect("a");
    let b = Node::start(config(db.path(), "bench-rec", Gossip::Announce))
        .await
        .expect("b");
    let (wa, wb) = (wire(&a).await, wire(&b).await);
    let start = Instant::now();
    b.dial(addr(&a).await).await.expect("dial");
    let total = (n + diff) as u64;
    wait_held(&a, total).await;
    wait_held(&b, total).await;
    let took = start.elapsed();
    let w = (wire(&a).await - wa + wire(&b).await - wb) / 2;
    let c = b.status().await.expect("status").net.counters;
    let moved: u64 = extra.iter().map(|s| s.bytes.len() as u64).sum();
    // A later round on the open connection, as every sync interval runs
    // one: no set-up, the item lists already in memory, equal sets.
    let (wa, wb) = (wire(&a).await, wire(&b).await);
    let done = c.sessions_done;
    let start = Instant::now();
    b.sync_now().await.expect("sync");
    let deadline = Instant::now() + WAIT;
    while b.status().await.expect("status").net.counters.sessions_done <= done {
        assert!(Instant::now() < deadline, "timed out");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let again = start.elapsed();
    let w2 = (wire(&a).await - wa + wire(&b).await - wb) / 2;
    let all: Vec<&Signed> = recs.iter().collect();
    let t2 = setu_sync::reconcile::run_pair(
        items(&all),
        items(&all),
        Default::default(),
        Default::default(),
    )
    .expect("pair");
    table::print(
        &format!("Reconciliation: two nodes of {n} records each, differing by {diff}"),
        &["path", "time", "bytes", "of which records", "round trips"],
        &[
            vec![
                "in memory (run_pair, ids only)".into(),
                format!("{:.0} ms", mem.as_secs_f64() * 1e3),
                (t.bytes_up + t.bytes_down).to_string(),
                "0".into(),
                t.round_trips.to_string(),
            ],
            vec![
                format!(
                    "over libp2p (connect, reconcile, push; sessions done {})",
                    c.sessions_done
                ),
                format!("{:.0} ms", took.as_secs_f64() * 1e3),
                w.to_string(),
                moved.to_string(),
                "-".into(),
            ],
            vec![
                "in memory, equal sets (run_pair)".into(),
                "-".into(),
                (t2.bytes_up + t2.bytes_down).to_string(),
                "0".into(),
                t2.round_trips.to_string(),
            ],
            vec![
                "over libp2p, a later round on the open connection (equal sets)".into(),
                format!("{:.1} ms", again.as_secs_f64() * 1e3),
                w2.to_string(),
                "0".into(),
                "-".into(),
            ],
        ],
    );
    a.shutdown().await.expect("a");
    b.shutdown().await.expect("b");
    // What each round paid before the item list was kept in memory:
    // listing every item from the store (timed on a's store, reopened).
    let listing = {
        let r = setu_store::replica::Replica::open(da.path(), Default::default()).expect("open");
        let t = Instant::now();
        let mut after = None;
        let mut n = 0;
        loop {
            let chunk = r.store().ts_range(after, 50_000).expect("range");
            n += chunk.len();
            after = chunk.last().copied();
            if chunk.len() < 50_000 {
                break;
            }
        }
        (t.elapsed(), n)
    };
    table::print(
        "Reconciliation baseline: what every round paid before the item list was kept in memory",
        &["path", "time"],
        &[vec![
            format!("listing the {} items from sled", listing.1),
            format!("{:.1} ms", listing.0.as_secs_f64() * 1e3),
        ]],
    );
}
