//! Chaos and soak: real `setu run` processes on loopback, SIGKILLed and
//! restarted at random, their connections cut at random (`ss -K`), every
//! node publishing throughout, one node's disk filled midway and freed, and
//! two hostile peers at work all the while: one floods invalid frames, the
//! other asks for the largest bulk ranges and pushes the old records back.
//! Churn then stops, a settle deadline starts, and at its end every node
//! must hold every record any node acknowledged: zero lost.
//!
//! It needs root (a tmpfs for the full disk, `ss -K` for the cuts) and
//! about `SETU_CHAOS_SECS` + `SETU_CHAOS_SETTLE_SECS` (default 600 + 120 s),
//! so it is ignored in the plain test run:
//!
//! ```text
//! cargo test --workspace --test setu -- --ignored --exact \
//!     suite::chaos::chaos_nodes_churn_and_lose_nothing --nocapture
//! ```
//!
//! Size: `SETU_CHAOS_NODES` (10), `SETU_CHAOS_SECS` (600),
//! `SETU_CHAOS_SETTLE_SECS` (120), `SETU_CHAOS_SEED` (from the clock; printed).
//! It prints a report; RELIABILITY.md holds the figures of a full run.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use setu_core::record;
use setu_net::behaviour::{self, Behaviour, BehaviourEvent};
use setu_net::message::{Request, Response};
use setu_net::request_response::{Event as RrEvent, Message};
use setu_net::swarm::{Swarm, SwarmEvent};
use setu_net::{Multiaddr, PeerId};
use setu_store::replica::{Config, Replica};
use setu_tests::{setu_bin, test_size};

const NETWORK: &str = "test-chaos";
const COUNTRIES: [&str; 12] = [
    "BGD", "KEN", "BRA", "IDN", "RWA", "MEX", "NPL", "GHA", "PER", "LKA", "ZMB", "COL",
];
/// Longest wait for a daemon to answer after it starts.
const START_WAIT: Duration = Duration::from_secs(90);
/// Longest a CLI publish may take before it counts as failed.
const PUBLISH_WAIT: Duration = Duration::from_secs(30);
/// How long the disk of the full-disk node stays full (at most: a short
/// run keeps it full for a quarter of its churn).
const FULL_FOR: Duration = Duration::from_secs(45);
/// Size of the full-disk node's filesystem.
const FULL_DISK_SIZE: &str = "256m";
/// The quiet windows over which the hostile peers' CPU cost is measured.
const CPU_WINDOW: Duration = Duration::from_secs(30);
/// Junk frames the flooder sends on each connection.
const FLOOD_FRAMES: usize = 50;
/// Records the replayer pushes in one request.
const REPLAY_PUSH: usize = 32;
/// Records the replayer keeps to push again.
const REPLAY_POOL: usize = 4_096;

/// xorshift64*: a seeded, reproducible choice of who is killed, cut or
/// asked to publish.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into()
}

fn get_json(url: &str) -> Option<serde_json::Value> {
    let mut r = agent().get(url).call().ok()?;
    if r.status() != 200 {
        return None;
    }
    r.body_mut().read_json().ok()
}

/// Clock ticks per second, for /proc/PID/stat's CPU times.
fn clock_ticks() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100)
}

/// One honest node: a data directory, a fixed port and node key (so peers
/// can redial it after a restart), and the process while it runs.
struct Node {
    dir: PathBuf,
    port: u16,
    peer_id: PeerId,
    child: Option<Child>,
    url: Option<String>,
    log: PathBuf,
    /// Practices this node acknowledged publishing.
    acked: BTreeSet<String>,
    starts: u32,
    peak_rss_kb: u64,
    peak_fds: u64,
    /// CPU ticks of ended processes, and the last reading of this one.
    cpu_done: u64,
    cpu_now: u64,
}

impl Node {
    fn addr(&self) -> Multiaddr {
        format!("/ip4/127.0.0.1/tcp/{}/p2p/{}", self.port, self.peer_id)
            .parse()
            .expect("multiaddr")
    }

    fn up(&self) -> bool {
        self.url.is_some()
    }

    fn start(&mut self, peers: &[String]) {
        let _ = std::fs::remove_file(self.dir.join("api.url"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log");
        let mut cmd = Command::new(setu_bin());
        cmd.arg("--data-dir").arg(&self.dir).args([
            "run",
            "--listen",
            &format!("/ip4/127.0.0.1/tcp/{}", self.port),
            "--api",
            "127.0.0.1:0",
            "--no-mdns",
            "--network",
            NETWORK,
        ]);
        for p in peers {
            cmd.args(["--peer", p]);
        }
        let child = cmd
            .env("SETU_LOG", "warn,setu_net=info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("setu run starts");
        self.child = Some(child);
        self.starts += 1;
        let file = self.dir.join("api.url");
        let deadline = Instant::now() + START_WAIT;
        loop {
            if let Ok(u) = std::fs::read_to_string(&file) {
                let u = u.trim().to_string();
                if get_json(&format!("{u}/v1/status")).is_some() {
                    self.url = Some(u);
                    return;
                }
            }
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            assert!(
                exited.is_none() && Instant::now() < deadline,
                "node {} did not start ({exited:?}); log {}",
                self.dir.display(),
                self.log.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGKILL.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            self.sample();
            let _ = c.kill();
            let _ = c.wait();
            self.cpu_done += self.cpu_now;
            self.cpu_now = 0;
        }
        self.url = None;
    }

    /// Whether the process ended on its own (it never should).
    fn died(&mut self) -> Option<String> {
        let c = self.child.as_mut()?;
        match c.try_wait() {
            Ok(Some(st)) => Some(st.to_string()),
            _ => None,
        }
    }

    /// Reads peak RSS, open descriptors and CPU time from /proc.
    fn sample(&mut self) {
        let Some(pid) = self.child.as_ref().map(Child::id) else {
            return;
        };
        if let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/status"))
            && let Some(kb) = s
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        {
            self.peak_rss_kb = self.peak_rss_kb.max(kb);
        }
        if let Ok(d) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
            self.peak_fds = self.peak_fds.max(d.count() as u64);
        }
        if let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            && let Some((_, rest)) = s.rsplit_once(')')
        {
            let f: Vec<&str> = rest.split_whitespace().collect();
            // Fields 14 and 15 of stat (utime, stime) are the 12th and 13th
            // after the command name.
            let t = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            self.cpu_now = t(11) + t(12);
        }
    }

    fn status(&self) -> Option<serde_json::Value> {
        get_json(&format!("{}/v1/status", self.url.as_ref()?))
    }

    fn records(&self) -> Option<u64> {
        self.status()?["replica"]["records"].as_u64()
    }

    /// Publishes practice `pid` (its body in `file`) through the CLI, as
    /// an operator would. Ok when the node acknowledged it.
    fn publish(&mut self, file: &Path, pid: &str) -> Result<(), String> {
        let mut child = Command::new(setu_bin())
            .arg("--data-dir")
            .arg(&self.dir)
            .args(["publish", "--json"])
            .arg(file)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let deadline = Instant::now() + PUBLISH_WAIT;
        loop {
            if let Some(st) = child.try_wait().map_err(|e| e.to_string())? {
                if st.success() {
                    self.acked.insert(pid.to_string());
                    return Ok(());
                }
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                return Err(err.lines().next().unwrap_or("failed").to_string());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err("publish timed out".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The practice ids of every record the node holds, from its JSONL
    /// export over HTTP.
    fn practice_ids(&self) -> Option<BTreeSet<String>> {
        let url = format!("{}/v1/export?format=jsonl", self.url.as_ref()?);
        let mut r = agent().get(&url).call().ok()?;
        if r.status() != 200 {
            return None;
        }
        let text = r
            .body_mut()
            .with_config()
            .limit(512 * 1024 * 1024)
            .read_to_string()
            .ok()?;
        let mut ids = BTreeSet::new();
        for line in text.lines().filter(|l| !l.is_empty()) {
            let v: serde_json::Value = serde_json::from_str(line).ok()?;
            let bytes = base64::Engine::decode(
                &base64::engine::general_purpose::STANDARD,
                v["signed_record"].as_str()?,
            )
            .ok()?;
            let rec = record::check(bytes).ok()?;
            ids.insert(practice_id_of(&rec)?);
        }
        Some(ids)
    }
}

/// The practice id a signed record is about.
fn practice_id_of(rec: &record::Record) -> Option<String> {
    rec.practice().map(|p| p.practice_id.clone())
}

/// Opens a killed node's store in this process and checks it whole: every
/// chain names records that exist and verify, and every practice the node
/// acknowledged is there. Returns the problems found.
fn check_store(dir: &Path, acked: &BTreeSet<String>) -> Vec<String> {
    let replica = match Replica::open(dir, Config::default()) {
        Ok(r) => r,
        Err(e) => return vec![format!("does not reopen: {e}")],
    };
    let mut problems = Vec::new();
    let mut held = BTreeSet::new();
    let scan = replica.store().for_each_chain(&mut |_, pid, chain| {
        held.insert(pid.to_string());
        for e in &chain.entries {
            match replica.store().get(&e.id)? {
                None => problems.push(format!("{pid}: chain names a missing record")),
                Some(bytes) => match record::check(bytes) {
                    Ok(r) if r.id() == e.id => {}
                    Ok(_) => problems.push(format!("{pid}: record stored under another id")),
                    Err(err) => problems.push(format!("{pid}: stored record fails: {err}")),
                },
            }
        }
        Ok(true)
    });
    if let Err(e) = scan {
        problems.push(format!("scan: {e}"));
    }
    for pid in acked.difference(&held) {
        problems.push(format!("{pid}: acknowledged, missing after SIGKILL"));
    }
    problems
}

/// A tmpfs mounted for the full-disk node, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path) -> Tmpfs {
        std::fs::create_dir_all(at).expect("mount point");
        let st = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={FULL_DISK_SIZE}"),
                "tmpfs",
            ])
            .arg(at)
            .status()
            .expect("mount runs");
        assert!(
            st.success(),
            "mounting a tmpfs failed (this test needs root)"
        );
        Tmpfs(at.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the filesystem of `dir` with a ballast file until a write fails.
fn fill(ballast: &Path) -> u64 {
    let mut f = std::fs::File::create(ballast).expect("ballast");
    let chunk = vec![0xa5u8; 1 << 20];
    let mut written = 0u64;
    while f.write_all(&chunk).is_ok() {
        written += chunk.len() as u64;
    }
    // The last partial chunk: fill to the last byte.
    for size in [65_536usize, 4_096, 512, 1] {
        while f.write_all(&chunk[..size]).is_ok() {
            written += size as u64;
        }
    }
    let _ = f.sync_all();
    written
}

/// What the hostile peers saw and cost.
#[derive(Default, Debug)]
struct HostileStats {
    /// Flooder: connections made, closed by the target, and the time from
    /// the first junk frame to that close.
    flood_rounds: u64,
    flood_connected: u64,
    ban_ms: Vec<u64>,
    /// The flooder redialled and was refused (the ban held).
    ban_held: u64,
    /// It redialled and the connection stayed open.
    ban_not_held: u64,
    /// The target never closed the flooding connection.
    flood_not_closed: u64,
    flood_bytes_out: u64,
    flood_bytes_in: u64,
    /// Replayer.
    replay_bulk_asked: u64,
    replay_bulk_answered: u64,
    replay_bulk_refused: u64,
    replay_records_got: u64,
    replay_pushes: u64,
    replay_records_pushed: u64,
    replay_stored: u64,
    replay_refused: u64,
    replay_bytes_out: u64,
    replay_bytes_in: u64,
    replay_disconnects: u64,
    replay_refused_dials: u64,
}

fn hostile_swarm() -> Swarm<Behaviour> {
    let mut cfg = setu_net::config::Config {
        network: NETWORK.into(),
        mdns: false,
        kademlia: false,
        ..Default::default()
    };
    cfg.listen.clear();
    behaviour::swarm(&cfg, setu_net::identity::Keypair::generate_ed25519()).expect("swarm")
}

/// Waits for the next event, or `None` at `deadline`.
async fn next_event(
    swarm: &mut Swarm<Behaviour>,
    deadline: tokio::time::Instant,
) -> Option<SwarmEvent<BehaviourEvent>> {
    tokio::time::timeout_at(deadline, swarm.select_next_some())
        .await
        .ok()
}

/// One flooding round from a fresh identity against `target`.
async fn flood_once(target: Multiaddr, stats: &Mutex<HostileStats>, x: &mut u64) {
    let mut swarm = hostile_swarm();
    stats.lock().expect("stats").flood_rounds += 1;
    if swarm.dial(target.clone()).is_err() {
        return;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut t0 = None;
    let close_deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    loop {
        let until = if t0.is_some() {
            close_deadline
        } else {
            deadline
        };
        let Some(ev) = next_event(&mut swarm, until).await else {
            if t0.is_some() {
                stats.lock().expect("stats").flood_not_closed += 1;
            }
            return;
        };
        match ev {
            SwarmEvent::ConnectionEstablished { peer_id, .. } if t0.is_none() => {
                let mut out = 0u64;
                for i in 0..FLOOD_FRAMES {
                    let junk: Vec<u8> = (0..(i * 37 % 500 + 1))
                        .map(|_| {
                            *x ^= *x << 13;
                            *x ^= *x >> 7;
                            *x ^= *x << 17;
                            *x as u8
                        })
                        .collect();
                    out += junk.len() as u64;
                    swarm.behaviour_mut().sync.send_request(&peer_id, junk);
                }
                t0 = Some(Instant::now());
                let mut s = stats.lock().expect("stats");
                s.flood_connected += 1;
                s.flood_bytes_out += out;
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(RrEvent::Message {
                message: Message::Response { response, .. },
                ..
            })) => stats.lock().expect("stats").flood_bytes_in += response.len() as u64,
            SwarmEvent::ConnectionClosed {
                num_established: 0, ..
            } => {
                let Some(t0) = t0 else { return };
                stats
                    .lock()
                    .expect("stats")
                    .ban_ms
                    .push(t0.elapsed().as_millis() as u64);
                break;
            }
            SwarmEvent::OutgoingConnectionError { .. } if t0.is_none() => return,
            _ => {}
        }
    }
    // The ban holds: a redial is refused or closed at once. (A dial this
    // side cannot even start says nothing about the ban.)
    if swarm.dial(target).is_err() {
        return;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut open = false;
    loop {
        match next_event(&mut swarm, deadline).await {
            None => break,
            Some(SwarmEvent::ConnectionEstablished { .. }) => open = true,
            Some(SwarmEvent::ConnectionClosed {
                num_established: 0, ..
            }) => open = false,
            Some(SwarmEvent::OutgoingConnectionError { .. }) if !open => break,
            _ => {}
        }
    }
    let mut s = stats.lock().expect("stats");
    if open {
        s.ban_not_held += 1;
    } else {
        s.ban_held += 1;
    }
}

/// The flooder: a fresh identity every round (a banned one is no use),
/// against a random node, until `stop`.
async fn flooder(targets: Vec<Multiaddr>, stats: Arc<Mutex<HostileStats>>, stop: Arc<AtomicBool>) {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut i = 0usize;
    while !stop.load(Ordering::Relaxed) {
        i = i.wrapping_add(7);
        flood_once(targets[i % targets.len()].clone(), &stats, &mut x).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// The replayer: one identity all run long. Against a node at random it
/// asks for the widest bulk range (from the lowest bound, the most items
/// and bytes a batch may hold) and pushes back records it already got:
/// old, valid records the node has. Neither is a ban offence.
async fn replayer(targets: Vec<Multiaddr>, stats: Arc<Mutex<HostileStats>>, stop: Arc<AtomicBool>) {
    let mut swarm = hostile_swarm();
    println!("chaos: the replayer is {}", swarm.local_peer_id());
    let mut pool: Vec<Vec<u8>> = Vec::new();
    let mut i = 0usize;
    let bulk = setu_sync::bulk::Request {
        after: setu_sync::item::Bound::At {
            ts: 0,
            prefix: Vec::new(),
        },
        max_items: setu_sync::bulk::MAX_ITEMS,
        max_bytes: setu_sync::bulk::MAX_BYTES,
    };
    while !stop.load(Ordering::Relaxed) {
        i = i.wrapping_add(3);
        let target = targets[i % targets.len()].clone();
        let Some(peer) = target.iter().find_map(|p| match p {
            setu_net::multiaddr::Protocol::P2p(id) => Some(id),
            _ => None,
        }) else {
            return;
        };
        if !swarm.is_connected(&peer) {
            let _ = swarm.dial(target);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        let mut asked = false;
        let mut pushed = false;
        let mut waiting = 0usize;
        loop {
            if !asked && swarm.is_connected(&peer) {
                let req = Request::Bulk(bulk.encode()).encode();
                let mut s = stats.lock().expect("stats");
                s.replay_bulk_asked += 1;
                s.replay_bytes_out += req.len() as u64;
                drop(s);
                swarm.behaviour_mut().sync.send_request(&peer, req);
                asked = true;
                waiting += 1;
                if !pool.is_empty() {
                    let start = (i * 13) % pool.len();
                    let recs: Vec<Vec<u8>> = pool
                        .iter()
                        .cycle()
                        .skip(start)
                        .take(REPLAY_PUSH.min(pool.len()))
                        .cloned()
                        .collect();
                    let n = recs.len() as u64;
                    let req = Request::Push(recs).encode();
                    let mut s = stats.lock().expect("stats");
                    s.replay_pushes += 1;
                    s.replay_records_pushed += n;
                    s.replay_bytes_out += req.len() as u64;
                    drop(s);
                    swarm.behaviour_mut().sync.send_request(&peer, req);
                    pushed = true;
                    waiting += 1;
                }
            }
            if asked && waiting == 0 {
                break;
            }
            let Some(ev) = next_event(&mut swarm, deadline).await else {
                break;
            };
            match ev {
                SwarmEvent::Behaviour(BehaviourEvent::Sync(RrEvent::Message {
                    peer: from,
                    message: Message::Response { response, .. },
                    ..
                })) if from == peer => {
                    waiting = waiting.saturating_sub(1);
                    let mut s = stats.lock().expect("stats");
                    s.replay_bytes_in += response.len() as u64;
                    match Response::decode(&response) {
                        Ok(Response::Bulk(b)) => {
                            s.replay_bulk_answered += 1;
                            if let Ok(batch) = setu_sync::bulk::Batch::decode(&b, &bulk) {
                                s.replay_records_got += batch.records.len() as u64;
                                for r in batch.records {
                                    if pool.len() < REPLAY_POOL {
                                        pool.push(r);
                                    }
                                }
                            }
                        }
                        Ok(Response::PushAck { stored, refused }) => {
                            s.replay_stored += stored;
                            s.replay_refused += refused;
                        }
                        Ok(Response::Refused { .. }) if !pushed => s.replay_bulk_refused += 1,
                        _ => {}
                    }
                }
                SwarmEvent::Behaviour(BehaviourEvent::Sync(RrEvent::OutboundFailure {
                    ..
                })) => waiting = waiting.saturating_sub(1),
                SwarmEvent::ConnectionClosed {
                    peer_id,
                    num_established: 0,
                    ..
                } if peer_id == peer => {
                    stats.lock().expect("stats").replay_disconnects += 1;
                    break;
                }
                SwarmEvent::OutgoingConnectionError { .. } if !asked => {
                    stats.lock().expect("stats").replay_refused_dials += 1;
                    break;
                }
                _ => {}
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

fn percentile(v: &[u64], p: usize) -> u64 {
    let mut v = v.to_vec();
    v.sort_unstable();
    if v.is_empty() {
        return 0;
    }
    v[((v.len() - 1) * p).div_ceil(100)]
}

#[test]
#[ignore = "ten daemons for about 12 minutes, needs root (tmpfs, ss -K): see RELIABILITY.md"]
fn chaos_nodes_churn_and_lose_nothing() {
    let n = test_size("SETU_CHAOS_NODES", 10).max(3);
    let churn = Duration::from_secs(test_size("SETU_CHAOS_SECS", 600) as u64);
    let settle = Duration::from_secs(test_size("SETU_CHAOS_SETTLE_SECS", 120) as u64);
    let seed = std::env::var("SETU_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_nanos() as u64
                | 1
        });
    println!(
        "chaos: {n} nodes, {} of churn, {} to settle, seed {seed}",
        secs(churn),
        secs(settle)
    );
    let mut rng = Rng(seed);
    let mut tmp = tempfile::tempdir().expect("tempdir");
    if std::env::var_os("SETU_CHAOS_KEEP").is_some() {
        tmp.disable_cleanup(true);
        println!("chaos: logs and data kept in {}", tmp.path().display());
    }
    let full = n - 1;
    let _tmpfs = Tmpfs::mount(&tmp.path().join("full"));
    let bodies = tmp.path().join("bodies");
    std::fs::create_dir_all(&bodies).expect("bodies dir");

    // Data directories with fixed node keys and ports.
    let mut nodes: Vec<Node> = (0..n)
        .map(|i| {
            let dir = if i == full {
                tmp.path().join("full").join("node")
            } else {
                tmp.path().join(format!("node{i}"))
            };
            let out = Command::new(setu_bin())
                .arg("--data-dir")
                .arg(&dir)
                .args([
                    "init",
                    "--country",
                    COUNTRIES[i % COUNTRIES.len()],
                    "--agency",
                    &format!("chaos agency {i}"),
                ])
                .output()
                .expect("setu init");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let mut key = [0u8; 32];
            key.iter_mut().for_each(|b| *b = rng.next() as u8);
            std::fs::write(dir.join(setu::NODE_KEY_FILE), key).expect("node key");
            let peer_id = setu_net::identity::Keypair::ed25519_from_bytes(key)
                .expect("key")
                .public()
                .to_peer_id();
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("free port")
                .port();
            Node {
                log: tmp.path().join(format!("node{i}.log")),
                dir,
                port,
                peer_id,
                child: None,
                url: None,
                acked: BTreeSet::new(),
                starts: 0,
                peak_rss_kb: 0,
                peak_fds: 0,
                cpu_done: 0,
                cpu_now: 0,
            }
        })
        .collect();
    let addrs: Vec<Multiaddr> = nodes.iter().map(Node::addr).collect();
    let peers_of = |i: usize| -> Vec<String> {
        [1, 3]
            .iter()
            .map(|d| addrs[(i + d) % n].to_string())
            .collect()
    };
    let t_start = Instant::now();
    for (i, node) in nodes.iter_mut().enumerate() {
        node.start(&peers_of(i));
    }
    println!("chaos: {} started {n} nodes", secs(t_start.elapsed()));

    // The hostile peers, on their own runtime.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let stats = Arc::new(Mutex::new(HostileStats::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let flood = rt.spawn(flooder(addrs.clone(), stats.clone(), stop.clone()));
    let replay = rt.spawn(replayer(addrs.clone(), stats.clone(), stop.clone()));

    // Churn.
    let mut published: BTreeSet<String> = BTreeSet::new();
    let mut refusals: BTreeMap<String, u64> = BTreeMap::new();
    let mut kills = 0u64;
    let mut cuts = 0u64;
    let mut restarts_wait: Vec<(usize, Instant)> = Vec::new();
    let mut consistency_checks = 0u64;
    let mut consistency_problems: Vec<String> = Vec::new();
    let mut unexpected_exits: Vec<String> = Vec::new();
    let mut next_index = 0u64;
    let fill_at = churn.mul_f64(0.4);
    let full_for = FULL_FOR.min(churn.mul_f64(0.25));
    let mut full_since: Option<Instant> = None;
    let mut freed_at: Option<Instant> = None;
    let mut refused_while_full = 0u64;
    let mut publish_ok_after_free: Option<Duration> = None;
    let mut caught_up_after_free: Option<Duration> = None;
    let mut catch_up_target = 0u64;
    let mut ballast_bytes = 0u64;
    let ballast = tmp.path().join("full").join("ballast");
    let mut next_kill = Instant::now() + Duration::from_secs(15 + rng.below(20));
    let mut next_cut = Instant::now() + Duration::from_secs(5 + rng.below(10));
    let churn_start = Instant::now();
    let mut last_report = Instant::now();
    while churn_start.elapsed() < churn {
        let now = Instant::now();
        for (i, node) in nodes.iter_mut().enumerate() {
            if let Some(why) = node.died() {
                unexpected_exits.push(format!("node {i} exited by itself: {why}"));
                node.child = None;
                node.url = None;
                restarts_wait.push((i, now));
            }
            node.sample();
        }
        // Restarts that are due.
        let due: Vec<usize> = restarts_wait
            .iter()
            .filter(|(_, at)| *at <= now)
            .map(|(i, _)| *i)
            .collect();
        restarts_wait.retain(|(_, at)| *at > now);
        for i in due {
            // The store as SIGKILL left it, checked before the node opens it.
            let problems = check_store(&nodes[i].dir, &nodes[i].acked);
            consistency_checks += 1;
            consistency_problems.extend(problems.into_iter().map(|p| format!("node {i}: {p}")));
            nodes[i].start(&peers_of(i));
        }
        // The full disk: filled at 40 % of the churn, freed FULL_FOR later.
        if full_since.is_none() && freed_at.is_none() && churn_start.elapsed() >= fill_at {
            ballast_bytes = fill(&ballast);
            full_since = Some(Instant::now());
            println!(
                "chaos: {} node {full}'s disk filled ({ballast_bytes} bytes of ballast)",
                secs(churn_start.elapsed())
            );
        }
        if let Some(t) = full_since
            && t.elapsed() >= full_for
        {
            std::fs::remove_file(&ballast).expect("remove ballast");
            full_since = None;
            freed_at = Some(Instant::now());
            catch_up_target = nodes
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != full)
                .filter_map(|(_, nd)| nd.records())
                .max()
                .unwrap_or(0);
            println!(
                "chaos: {} node {full}'s disk freed; others hold up to {catch_up_target} records",
                secs(churn_start.elapsed())
            );
        }
        if let Some(f) = freed_at
            && caught_up_after_free.is_none()
            && nodes[full].records().is_some_and(|r| r >= catch_up_target)
        {
            caught_up_after_free = Some(f.elapsed());
        }
        // The full-disk node is not killed while full or catching up.
        let full_busy =
            full_since.is_some() || (freed_at.is_some() && caught_up_after_free.is_none());
        if now >= next_kill {
            let i = rng.below(n as u64) as usize;
            if nodes[i].up() && !(i == full && full_busy) {
                nodes[i].kill();
                kills += 1;
                restarts_wait.push((i, now + Duration::from_secs(2 + rng.below(8))));
            }
            next_kill = now + Duration::from_secs(10 + rng.below(30));
        }
        if now >= next_cut {
            let i = rng.below(n as u64) as usize;
            let p = nodes[i].port;
            let filter = format!("( sport = :{p} or dport = :{p} )");
            if Command::new("ss")
                .args(["-K", "-t", &filter])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
            {
                cuts += 1;
            }
            next_cut = now + Duration::from_secs(3 + rng.below(10));
        }
        // Every tick, a node at random publishes a new practice.
        let i = rng.below(n as u64) as usize;
        if nodes[i].up() {
            let body = setu_store::synth::body(1_000 + i as u64, next_index);
            next_index += 1;
            let pid = body["practice_id"].as_str().expect("pid").to_string();
            let file = bodies.join(format!("{pid}.json"));
            std::fs::write(&file, body.to_string()).expect("body");
            match nodes[i].publish(&file, &pid) {
                Ok(()) => {
                    published.insert(pid);
                    if i == full
                        && let Some(f) = freed_at
                        && publish_ok_after_free.is_none()
                    {
                        publish_ok_after_free = Some(f.elapsed());
                    }
                }
                Err(e) => {
                    if i == full && full_since.is_some() {
                        refused_while_full += 1;
                    }
                    let key: String = e.chars().take(100).collect();
                    *refusals.entry(format!("node {i}: {key}")).or_default() += 1;
                }
            }
        }
        if last_report.elapsed() > Duration::from_secs(60) {
            last_report = Instant::now();
            println!(
                "chaos: {} {} published, {kills} kills, {cuts} cuts",
                secs(churn_start.elapsed()),
                published.len()
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    if full_since.is_some() {
        std::fs::remove_file(&ballast).expect("remove ballast");
    }
    // Settle: everyone runs again, nobody is killed or cut.
    for (i, _) in std::mem::take(&mut restarts_wait) {
        let problems = check_store(&nodes[i].dir, &nodes[i].acked);
        consistency_checks += 1;
        consistency_problems.extend(problems.into_iter().map(|p| format!("node {i}: {p}")));
        nodes[i].start(&peers_of(i));
    }
    let want = published.len() as u64;
    println!(
        "chaos: churn over at {}: {want} practices acknowledged; settling",
        secs(t_start.elapsed())
    );
    let settle_start = Instant::now();
    let mut converged_after = None;
    let mut last_counts = Vec::new();
    while settle_start.elapsed() < settle {
        nodes.iter_mut().for_each(Node::sample);
        let counts: Vec<u64> = nodes.iter().map(|nd| nd.records().unwrap_or(0)).collect();
        if let Some(f) = freed_at
            && caught_up_after_free.is_none()
            && counts[full] >= catch_up_target
        {
            caught_up_after_free = Some(f.elapsed());
        }
        last_counts = counts.clone();
        if counts.iter().all(|c| *c >= want) {
            converged_after = Some(settle_start.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    if converged_after.is_none() {
        println!("chaos: record counts at the settle deadline: {last_counts:?} (want {want})");
    }
    // Judged at the end of the deadline (or when every count arrived).
    let mut lost: BTreeSet<String> = BTreeSet::new();
    let mut held_min = u64::MAX;
    for (i, node) in nodes.iter().enumerate() {
        let ids = node
            .practice_ids()
            .unwrap_or_else(|| panic!("node {i}: export failed"));
        let missing: Vec<&String> = published.difference(&ids).collect();
        held_min = held_min.min(published.intersection(&ids).count() as u64);
        if !missing.is_empty() {
            println!(
                "chaos: node {i} lacks {} of {want}, e.g. {:?}",
                missing.len(),
                missing.iter().take(3).collect::<Vec<_>>()
            );
        }
        lost.extend(missing.into_iter().cloned());
    }
    // What the hostile peers cost in CPU: the honest nodes' CPU over a
    // quiet window (no churn, converged) with the hostile peers at work,
    // then over as long a window once they have stopped.
    let cpu_total = |nodes: &mut [Node]| -> u64 {
        nodes.iter_mut().for_each(Node::sample);
        nodes.iter().map(|nd| nd.cpu_done + nd.cpu_now).sum()
    };
    let c0 = cpu_total(&mut nodes);
    std::thread::sleep(CPU_WINDOW);
    let c1 = cpu_total(&mut nodes);
    stop.store(true, Ordering::Relaxed);
    rt.block_on(async {
        let _ = tokio::time::timeout(Duration::from_secs(30), flood).await;
        let _ = tokio::time::timeout(Duration::from_secs(30), replay).await;
    });
    let c2 = cpu_total(&mut nodes);
    std::thread::sleep(CPU_WINDOW);
    let c3 = cpu_total(&mut nodes);
    let counters: Vec<serde_json::Value> = nodes
        .iter()
        .map(|nd| {
            nd.status()
                .map(|s| s["net"]["counters"].clone())
                .unwrap_or_default()
        })
        .collect();
    nodes.iter_mut().for_each(Node::sample);
    let ticks_per_s = clock_ticks();
    let cpu: Vec<f64> = nodes
        .iter()
        .map(|nd| (nd.cpu_done + nd.cpu_now) as f64 / ticks_per_s as f64)
        .collect();
    for node in &mut nodes {
        node.kill();
    }
    let s = stats.lock().expect("stats");

    // The report.
    let rss: Vec<u64> = nodes.iter().map(|nd| nd.peak_rss_kb).collect();
    let fds: Vec<u64> = nodes.iter().map(|nd| nd.peak_fds).collect();
    let sum = |k: &str| -> u64 { counters.iter().map(|c| c[k].as_u64().unwrap_or(0)).sum() };
    println!();
    println!(
        "| chaos run | {n} nodes, {} churn, {} settle deadline, seed {seed} |",
        secs(churn),
        secs(settle)
    );
    println!("|---|---|");
    println!("| practices acknowledged by a node | {want} |");
    println!(
        "| held by every node at the end | {} |",
        if held_min == u64::MAX { 0 } else { held_min }
    );
    println!("| lost | {} |", lost.len());
    println!(
        "| converged after churn stopped | {} |",
        converged_after.map_or("not within the deadline".into(), secs)
    );
    println!(
        "| SIGKILLs / restarts | {kills} / {} |",
        nodes.iter().map(|nd| u64::from(nd.starts)).sum::<u64>() - n as u64
    );
    println!("| connection cuts (ss -K) | {cuts} |");
    println!(
        "| stores checked after a SIGKILL / consistent | {consistency_checks} / {} |",
        consistency_checks - consistency_problems.len().min(consistency_checks as usize) as u64
    );
    println!(
        "| processes that exited by themselves | {} |",
        unexpected_exits.len()
    );
    println!(
        "| peak RSS per node (MiB): min / median / max | {:.0} / {:.0} / {:.0} |",
        percentile(&rss, 0) as f64 / 1024.0,
        percentile(&rss, 50) as f64 / 1024.0,
        percentile(&rss, 100) as f64 / 1024.0
    );
    println!(
        "| peak open descriptors per node: min / median / max | {} / {} / {} |",
        percentile(&fds, 0),
        percentile(&fds, 50),
        percentile(&fds, 100)
    );
    println!(
        "| CPU of the honest nodes (s, all incarnations): total / per node max | {:.0} / {:.0} |",
        cpu.iter().sum::<f64>(),
        cpu.iter().cloned().fold(0.0, f64::max)
    );
    let per_min = |ticks: u64| ticks as f64 / ticks_per_s as f64 * 60.0 / CPU_WINDOW.as_secs_f64();
    println!(
        "| honest nodes' CPU in a quiet {} window, s per minute: hostile peers at work / stopped | {:.1} / {:.1} |",
        secs(CPU_WINDOW),
        per_min(c1 - c0),
        per_min(c3 - c2)
    );
    println!(
        "| flooder: rounds / connected / closed by the node | {} / {} / {} |",
        s.flood_rounds,
        s.flood_connected,
        s.ban_ms.len()
    );
    println!(
        "| flooder: first junk frame to disconnection, ms: p50 / p90 / max | {} / {} / {} |",
        percentile(&s.ban_ms, 50),
        percentile(&s.ban_ms, 90),
        percentile(&s.ban_ms, 100)
    );
    println!(
        "| flooder: ban held on redial / not held / never closed | {} / {} / {} |",
        s.ban_held, s.ban_not_held, s.flood_not_closed
    );
    println!(
        "| flooder: bytes sent to / answered by honest nodes | {} / {} |",
        s.flood_bytes_out, s.flood_bytes_in
    );
    println!(
        "| replayer: widest bulk ranges asked / answered / refused | {} / {} / {} |",
        s.replay_bulk_asked, s.replay_bulk_answered, s.replay_bulk_refused
    );
    println!(
        "| replayer: records received / pushed back (stored, refused) | {} / {} ({}, {}) |",
        s.replay_records_got, s.replay_records_pushed, s.replay_stored, s.replay_refused
    );
    println!(
        "| replayer: bytes received from / sent to honest nodes | {} / {} |",
        s.replay_bytes_in, s.replay_bytes_out
    );
    println!(
        "| replayer: disconnected / dials refused (a ban would show here) | {} / {} |",
        s.replay_disconnects, s.replay_refused_dials
    );
    println!(
        "| honest nodes (counters of their last process): peers banned / duplicates received | {} / {} |",
        sum("peers_banned"),
        sum("duplicates")
    );
    println!(
        "| full disk (node {full}, {FULL_DISK_SIZE} tmpfs, full for {}): ballast / publishes refused while full | {ballast_bytes} B / {refused_while_full} |",
        secs(full_for)
    );
    println!(
        "| full disk: freed to first publish accepted / to caught up | {} / {} |",
        publish_ok_after_free.map_or("none".into(), secs),
        caught_up_after_free.map_or("not caught up".into(), secs)
    );
    println!();
    for (k, v) in &refusals {
        println!("chaos: publish failed {v}x: {k}");
    }
    for e in &unexpected_exits {
        println!("chaos: {e}");
    }
    for p in &consistency_problems {
        println!("chaos: store problem: {p}");
    }
    assert!(want > 0, "nothing was published");
    assert!(
        consistency_problems.is_empty(),
        "stores inconsistent after SIGKILL"
    );
    assert!(
        unexpected_exits.is_empty(),
        "a node exited by itself (logs in {})",
        tmp.path().display()
    );
    assert!(
        lost.is_empty(),
        "{} acknowledged practices are missing on some node",
        lost.len()
    );
    assert!(
        !s.ban_ms.is_empty() && s.ban_not_held == 0,
        "the flooder was not banned"
    );
}
