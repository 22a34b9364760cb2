//! A deterministic simulator: many nodes, each running the real
//! reconciliation state machine over simulated links with latency and
//! loss, partitions and churn. Everything random comes from one seed, so a
//! failure replays exactly from its `seed`.
//!
//! Each node, every `sync_interval_ms`, starts a session with one random
//! neighbour. What a session finds missing is pushed as records (counted at
//! `record_bytes` each). A session whose message is lost times out.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};

use crate::item::Item;
use crate::reconcile::{Config as ReconConfig, Reconciler};

/// Simulation settings.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Nodes.
    pub nodes: usize,
    /// Random extra neighbours per node (on top of a ring that keeps the
    /// graph connected).
    pub degree: usize,
    /// One-way latency, uniformly in `[min, max]` ms, per message.
    pub latency_ms: (u64, u64),
    /// Probability that a message is lost.
    pub loss: f64,
    /// How often each node starts a session.
    pub sync_interval_ms: u64,
    /// A session with no progress for this long is dropped.
    pub session_timeout_ms: u64,
    /// Bytes counted per pushed record.
    pub record_bytes: usize,
    /// Probability, per node and interval, that an online node goes offline
    /// (and that an offline one comes back).
    pub churn: f64,
    /// The seed of everything random.
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            nodes: 100,
            degree: 4,
            latency_ms: (10, 200),
            loss: 0.0,
            sync_interval_ms: 1_000,
            session_timeout_ms: 5_000,
            record_bytes: 2_048,
            churn: 0.0,
            seed: 1,
        }
    }
}

/// SplitMix64.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for this seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    /// 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// In `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p && p > 0.0
    }
    /// A random item at time `ts`.
    pub fn item(&mut self, ts: u64) -> Item {
        let mut id = [0u8; 32];
        for c in id.chunks_mut(8) {
            c.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        Item { ts, id }
    }
}

/// Counters of one node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Reconciliation messages sent.
    pub messages: u64,
    /// Reconciliation bytes sent.
    pub bytes: u64,
    /// Records pushed.
    pub records: u64,
    /// Record bytes pushed.
    pub record_bytes: u64,
    /// Sessions started.
    pub sessions: u64,
}

enum Payload {
    Recon {
        session: u64,
        to_initiator: bool,
        bytes: Vec<u8>,
    },
    Push(Vec<Item>),
}

struct Event {
    at: u64,
    seq: u64,
    to: usize,
    from: usize,
    kind: Kind,
}

enum Kind {
    Tick,
    Deliver(Payload),
}

impl PartialEq for Event {
    fn eq(&self, o: &Event) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Event {}
impl PartialOrd for Event {
    fn partial_cmp(&self, o: &Event) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Event {
    fn cmp(&self, o: &Event) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

struct Node {
    items: BTreeSet<Item>,
    online: bool,
    sessions: HashMap<u64, (Reconciler, u64)>,
}

/// The simulated network.
pub struct Sim {
    cfg: Config,
    rng: Rng,
    nodes: Vec<Node>,
    links: Vec<Vec<usize>>,
    group: Vec<usize>,
    queue: BinaryHeap<Reverse<Event>>,
    now: u64,
    seq: u64,
    next_session: u64,
    /// Every item any node was given: what convergence means.
    union: BTreeSet<Item>,
    /// Per-node counters.
    pub stats: Vec<Stats>,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sim(nodes {}, t {} ms)", self.nodes.len(), self.now)
    }
}

impl Sim {
    /// A network of `cfg.nodes` empty nodes, all online and in one group.
    pub fn new(cfg: Config) -> Sim {
        let mut rng = Rng::new(cfg.seed);
        let n = cfg.nodes.max(2);
        let mut links: Vec<Vec<usize>> = vec![Vec::new(); n];
        let link = |a: usize, b: usize, links: &mut Vec<Vec<usize>>| {
            if a != b && !links[a].contains(&b) {
                links[a].push(b);
                links[b].push(a);
            }
        };
        for a in 0..n {
            link(a, (a + 1) % n, &mut links);
            for _ in 0..cfg.degree {
                let b = rng.below(n as u64) as usize;
                link(a, b, &mut links);
            }
        }
        let mut sim = Sim {
            cfg,
            rng,
            nodes: (0..n)
                .map(|_| Node {
                    items: BTreeSet::new(),
                    online: true,
                    sessions: HashMap::new(),
                })
                .collect(),
            links,
            group: vec![0; n],
            queue: BinaryHeap::new(),
            now: 0,
            seq: 0,
            next_session: 0,
            union: BTreeSet::new(),
            stats: vec![Stats::default(); n],
        };
        for a in 0..n {
            let first = sim.rng.below(cfg.sync_interval_ms.max(1));
            sim.push(first, a, a, Kind::Tick);
        }
        sim
    }

    fn push(&mut self, at: u64, to: usize, from: usize, kind: Kind) {
        self.seq += 1;
        self.queue.push(Reverse(Event {
            at,
            seq: self.seq,
            to,
            from,
            kind,
        }));
    }

    /// The current virtual time, ms.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Adds items to a node (as if it published them).
    pub fn add(&mut self, node: usize, items: impl IntoIterator<Item = Item>) {
        for i in items {
            self.union.insert(i);
            self.nodes[node].items.insert(i);
        }
    }

    /// A node's items.
    pub fn items(&self, node: usize) -> &BTreeSet<Item> {
        &self.nodes[node].items
    }

    /// Splits the nodes into groups; messages between groups are lost.
    pub fn partition(&mut self, group_of: impl Fn(usize) -> usize) {
        for (i, g) in self.group.iter_mut().enumerate() {
            *g = group_of(i);
        }
    }

    /// Ends every partition.
    pub fn heal(&mut self) {
        self.group.iter_mut().for_each(|g| *g = 0);
    }

    /// Sets the fraction of node churn per interval.
    pub fn set_churn(&mut self, churn: f64) {
        self.cfg.churn = churn;
    }

    /// Brings every node online.
    pub fn all_online(&mut self) {
        self.nodes.iter_mut().for_each(|n| n.online = true);
    }

    /// Resets the counters.
    pub fn reset_stats(&mut self) {
        self.stats.iter_mut().for_each(|s| *s = Stats::default());
    }

    /// True if every online node holds every item any node holds.
    pub fn converged(&self) -> bool {
        // Nodes only ever receive items of the union, so equal sizes mean
        // equal sets.
        self.nodes
            .iter()
            .filter(|n| n.online)
            .all(|n| n.items.len() == self.union.len())
    }

    fn send(&mut self, from: usize, to: usize, payload: Payload) {
        let (bytes, is_msg, records) = match &payload {
            Payload::Recon { bytes, .. } => (bytes.len() as u64, true, 0),
            Payload::Push(items) => (
                (items.len() * self.cfg.record_bytes) as u64,
                false,
                items.len() as u64,
            ),
        };
        let s = &mut self.stats[from];
        if is_msg {
            s.messages += 1;
            s.bytes += bytes;
        } else {
            s.records += records;
            s.record_bytes += bytes;
        }
        let lost = self.group[from] != self.group[to] || self.rng.chance(self.cfg.loss);
        if lost {
            return;
        }
        let (lo, hi) = self.cfg.latency_ms;
        let delay = lo + self.rng.below(hi.saturating_sub(lo) + 1);
        self.push(self.now + delay, to, from, Kind::Deliver(payload));
    }

    fn snapshot(&self, node: usize) -> Vec<Item> {
        self.nodes[node].items.iter().copied().collect()
    }

    /// Runs until `done(self)` holds or `until_ms` passes. Returns whether
    /// `done` held.
    pub fn run_until(&mut self, until_ms: u64, done: &dyn Fn(&Sim) -> bool) -> bool {
        let recon = ReconConfig::default();
        while let Some(Reverse(ev)) = self.queue.pop() {
            self.now = ev.at;
            match ev.kind {
                Kind::Tick => {
                    let a = ev.to;
                    let next = self.now + self.cfg.sync_interval_ms;
                    self.push(next, a, a, Kind::Tick);
                    if self.rng.chance(self.cfg.churn) {
                        let n = &mut self.nodes[a];
                        n.online = !n.online;
                        n.sessions.clear();
                    }
                    if !self.nodes[a].online {
                        continue;
                    }
                    let timeout = self.cfg.session_timeout_ms;
                    let now = self.now;
                    self.nodes[a]
                        .sessions
                        .retain(|_, (_, t)| now.saturating_sub(*t) < timeout);
                    let peers = &self.links[a];
                    let b = peers[self.rng.below(peers.len() as u64) as usize];
                    let (r, first) = Reconciler::initiate(self.snapshot(a), recon);
                    self.next_session += 1;
                    let sid = self.next_session;
                    self.nodes[a].sessions.insert(sid, (r, self.now));
                    self.stats[a].sessions += 1;
                    self.send(
                        a,
                        b,
                        Payload::Recon {
                            session: sid,
                            to_initiator: false,
                            bytes: first,
                        },
                    );
                }
                Kind::Deliver(p) => {
                    let (to, from) = (ev.to, ev.from);
                    if !self.nodes[to].online {
                        continue;
                    }
                    match p {
                        Payload::Push(items) => self.nodes[to].items.extend(items),
                        Payload::Recon {
                            session,
                            to_initiator,
                            bytes,
                        } => {
                            if !to_initiator && !self.nodes[to].sessions.contains_key(&session) {
                                let r = Reconciler::respond(self.snapshot(to), recon);
                                self.nodes[to].sessions.insert(session, (r, self.now));
                            }
                            let now = self.now;
                            let Some((r, t)) = self.nodes[to].sessions.get_mut(&session) else {
                                continue;
                            };
                            *t = now;
                            let step = r.handle(&bytes);
                            let Ok(step) = step else {
                                self.nodes[to].sessions.remove(&session);
                                continue;
                            };
                            if step.done {
                                self.nodes[to].sessions.remove(&session);
                            }
                            if !step.give.is_empty() {
                                let items: Vec<Item> = {
                                    let mine = &self.nodes[to].items;
                                    let want: std::collections::HashSet<_> =
                                        step.give.iter().collect();
                                    mine.iter()
                                        .filter(|i| want.contains(&i.id))
                                        .copied()
                                        .collect()
                                };
                                self.send(to, from, Payload::Push(items));
                            }
                            if let Some(reply) = step.reply {
                                self.send(
                                    to,
                                    from,
                                    Payload::Recon {
                                        session,
                                        to_initiator: !to_initiator,
                                        bytes: reply,
                                    },
                                );
                            }
                        }
                    }
                }
            }
            if done(self) {
                return true;
            }
            if self.now > until_ms {
                return false;
            }
        }
        false
    }
}

/// The partition-heal scenario of the tests and the benchmark.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HealReport {
    /// Nodes.
    pub nodes: usize,
    /// Items each node ends with.
    pub items: usize,
    /// Whether every node converged.
    pub converged: bool,
    /// Virtual ms from the heal to convergence.
    pub heal_to_converged_ms: u64,
    /// Sync intervals from the heal to convergence.
    pub rounds: u64,
    /// Mean reconciliation messages sent per node after the heal.
    pub messages_per_node: f64,
    /// Mean reconciliation bytes sent per node after the heal.
    pub bytes_per_node: f64,
    /// Mean records pushed per node after the heal.
    pub records_per_node: f64,
}

/// Every node starts with `base` shared items; the network splits into
/// `groups` partitions; each node publishes `fresh` items; the partition
/// lasts `partition_ms`; then it heals and runs to convergence.
pub fn partition_heal(
    cfg: Config,
    base: usize,
    groups: usize,
    fresh: usize,
    partition_ms: u64,
) -> HealReport {
    let mut sim = Sim::new(cfg);
    let mut rng = Rng::new(cfg.seed ^ 0x5e70);
    let shared: Vec<Item> = (0..base).map(|i| rng.item(1_000_000 + i as u64)).collect();
    for n in 0..sim.nodes.len() {
        sim.add(n, shared.iter().copied());
    }
    let groups = groups.max(1);
    sim.partition(|i| i % groups);
    for n in 0..sim.nodes.len() {
        let fresh_items: Vec<Item> = (0..fresh)
            .map(|k| rng.item(2_000_000 + (n * fresh + k) as u64))
            .collect();
        sim.add(n, fresh_items);
    }
    sim.run_until(partition_ms, &|_| false);
    sim.heal();
    sim.set_churn(0.0);
    sim.all_online();
    sim.reset_stats();
    let healed_at = sim.now();
    let limit = healed_at + 600 * cfg.sync_interval_ms;
    let converged = sim.run_until(limit, &|s| s.converged());
    let took = sim.now() - healed_at;
    let n = sim.nodes.len() as f64;
    let sum = |f: fn(&Stats) -> u64| sim.stats.iter().map(f).sum::<u64>() as f64 / n;
    HealReport {
        nodes: sim.nodes.len(),
        items: sim.items(0).len(),
        converged,
        heal_to_converged_ms: took,
        rounds: took.div_ceil(cfg.sync_interval_ms.max(1)),
        messages_per_node: sum(|s| s.messages),
        bytes_per_node: sum(|s| s.bytes),
        records_per_node: sum(|s| s.records),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_network_converges_and_replays_from_its_seed() {
        let cfg = Config {
            nodes: 20,
            loss: 0.05,
            churn: 0.02,
            ..Config::default()
        };
        let a = partition_heal(cfg, 50, 2, 3, 10_000);
        assert!(a.converged, "{a:?}");
        assert_eq!(a.items, 50 + 20 * 3);
        let b = partition_heal(cfg, 50, 2, 3, 10_000);
        assert_eq!(a, b, "same seed, same run");
    }
}
