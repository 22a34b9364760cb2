//! A simulated fetch of one attachment by many nodes (`spec/net.md` §7.5):
//! every node runs the shipped fetch rules ([`setu_blob::fetch::Fetch`]),
//! and every response is a real bao encoding of the content, checked block
//! by block with [`setu_blob::verify::decode`]. The content is generated
//! from a seed, block by block, so it is never held once per node: a node
//! keeps which blocks it holds and the hash of each block it received, and
//! serves what it holds by generating it again.
//!
//! Links have latency and loss, uploads a bandwidth, nodes are cut off for
//! a while and come back as if restarted (their fetch resumes from the
//! blocks they hold), and some nodes flip a byte in every response they
//! send.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::ops::Range;

use setu_blob::fetch::{self, Action, Event, Fetch};
use setu_blob::{Hash, blocks, verify};

use crate::{Rng, chance};

/// The settings of one simulated fetch.
#[derive(Debug, Clone)]
pub struct Config {
    /// Nodes, the publisher (node 0) included.
    pub nodes: usize,
    /// Bytes of content.
    pub size: u64,
    /// Everything random comes from this.
    pub seed: u64,
    /// Nodes that flip a byte in every response they send, and claim to
    /// hold everything.
    pub corrupt: usize,
    /// The share of the other nodes that want the content.
    pub want: f64,
    /// Probability that a message is lost.
    pub loss: f64,
    /// Probability, per node and second, of being cut off.
    pub cut_rate: f64,
    /// How long a cut lasts, in ms.
    pub cut_ms: u64,
    /// One-way latency, drawn per message from this range, in ms.
    pub latency_ms: Range<u64>,
    /// Upload bandwidth of a node, drawn per node from this range, in bytes
    /// per second.
    pub upload: Range<u64>,
    /// Peers each node learns of at first, besides the publisher and the
    /// corrupting nodes (when `know_holders`).
    pub candidates: usize,
    /// Whether every node knows the publisher and the corrupting nodes from
    /// the start. If not, a node finds holders only through its random
    /// candidates and provider lookups.
    pub know_holders: bool,
    /// Holders one provider lookup returns at most, picked at random among
    /// the nodes up that hold the whole content or claim to (the
    /// corrupting ones), as a Kademlia lookup would (K = 20 in the node).
    /// 0: lookups find nothing.
    pub providers: usize,
    /// The fetch rules' settings.
    pub fetch: fetch::Config,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            nodes: 50,
            size: 100 << 20,
            seed: 1,
            corrupt: 2,
            want: 0.8,
            loss: 0.02,
            cut_rate: 0.002,
            cut_ms: 20_000,
            latency_ms: 20..200,
            upload: (1 << 20)..(8 << 20),
            candidates: 10,
            know_holders: true,
            providers: 20,
            fetch: fetch::Config {
                request_timeout_ms: 10_000,
                ..fetch::Config::default()
            },
        }
    }
}

/// The bytes of block `i` of the content of `seed` (`size` bytes in all):
/// BLAKE3's extendable output keyed by the seed, read from offset
/// `i × 16 KiB`. Any block can be made on its own.
pub fn block(seed: u64, size: u64, i: u64, out: &mut Vec<u8>) {
    let range = blocks::byte_range(&(i..i + 1), size);
    out.clear();
    out.resize((range.end - range.start) as usize, 0);
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    let mut xof = blake3::Hasher::new_keyed(&key).finalize_xof();
    xof.set_position(range.start);
    xof.fill(out);
}

/// The content of a seed as something bao can read at any offset.
#[derive(Debug, Clone, Copy)]
pub struct Generated {
    /// The seed.
    pub seed: u64,
    /// Bytes in all.
    pub size: u64,
}

impl verify::ReadAt for Generated {
    fn read_at(&self, pos: u64, buf: &mut [u8]) -> io::Result<usize> {
        if pos >= self.size {
            return Ok(0);
        }
        let n = buf.len().min((self.size - pos) as usize);
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&self.seed.to_le_bytes());
        let mut xof = blake3::Hasher::new_keyed(&key).finalize_xof();
        xof.set_position(pos);
        xof.fill(&mut buf[..n]);
        Ok(n)
    }
}

impl verify::Size for Generated {
    fn size(&self) -> io::Result<Option<u64>> {
        Ok(Some(self.size))
    }
}

impl io::Read for GeneratedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = verify::ReadAt::read_at(&self.0, self.1, buf)?;
        self.1 += n as u64;
        Ok(n)
    }
}

/// Reads [`Generated`] content from its start.
#[derive(Debug)]
pub struct GeneratedReader(pub Generated, pub u64);

#[derive(Debug)]
enum Msg {
    HaveReq {
        from: usize,
        to: usize,
    },
    Have {
        from: usize,
        to: usize,
        ranges: Vec<Range<u64>>,
    },
    Req {
        from: usize,
        to: usize,
        range: Range<u64>,
    },
    Resp {
        from: usize,
        to: usize,
        range: Range<u64>,
        bytes: Vec<u8>,
    },
    Tick(usize),
    Up(usize),
    Candidate {
        of: usize,
        to: usize,
    },
}

struct Node {
    have: blocks::Set,
    digests: Vec<Option<[u8; 32]>>,
    fetch: Option<Fetch<usize>>,
    wants: bool,
    corrupt: bool,
    down_until: u64,
    upload: u64,
    upload_free_at: u64,
    known: Vec<usize>,
    done_at: Option<u64>,
    restarts: u32,
}

/// What a simulated fetch did.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// Virtual time at the end, in ms.
    pub now: u64,
    /// Nodes that wanted the content.
    pub wanted: usize,
    /// Those that hold all of it.
    pub complete: usize,
    /// Blocks held whose bytes differ from the published ones (must be 0).
    pub wrong_blocks: u64,
    /// Blocks a node was sent again after it had verified them.
    pub refetched_blocks: u64,
    /// Penalties given, as (penalised, by).
    pub penalties: Vec<(usize, usize)>,
    /// Cuts, each a restart of the node's fetch from what it holds.
    pub restarts: u32,
    /// Response bytes sent in all.
    pub response_bytes: u64,
    /// Messages lost.
    pub lost: u64,
    /// The slowest node's completion time, in ms.
    pub slowest_ms: u64,
    /// Provider lookups the fetches made.
    pub lookups: u64,
}

/// The simulation.
pub struct Sim {
    cfg: Config,
    rng: Rng,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64, usize)>>,
    msgs: Vec<Option<Msg>>,
    free: Vec<usize>,
    nodes: Vec<Node>,
    tree: verify::Tree,
    digests: Vec<[u8; 32]>,
    report: Report,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim").field("now", &self.now).finish()
    }
}

impl Sim {
    /// Builds the network: generates the content's tree once (node 0
    /// publishes it), picks who wants it and who corrupts.
    pub fn new(cfg: Config) -> io::Result<Sim> {
        let content = Generated {
            seed: cfg.seed,
            size: cfg.size,
        };
        let tree = verify::Tree::build(GeneratedReader(content, 0), cfg.size)?;
        let count = blocks::count(cfg.size);
        let mut buf = Vec::new();
        let digests = (0..count)
            .map(|i| {
                block(cfg.seed, cfg.size, i, &mut buf);
                *blake3::hash(&buf).as_bytes()
            })
            .collect();
        let mut rng = Rng::new(cfg.seed);
        let mut nodes = Vec::with_capacity(cfg.nodes);
        for i in 0..cfg.nodes {
            let corrupt = i >= 1 && i <= cfg.corrupt;
            let wants = i > cfg.corrupt && chance(&mut rng, cfg.want);
            let up = cfg.upload.start + rng.below((cfg.upload.end - cfg.upload.start).max(1));
            nodes.push(Node {
                have: if i == 0 || corrupt {
                    blocks::Set::full(count)
                } else {
                    blocks::Set::new(count)
                },
                digests: Vec::new(),
                fetch: None,
                wants,
                corrupt,
                down_until: 0,
                upload: up.max(1),
                upload_free_at: 0,
                known: Vec::new(),
                done_at: None,
                restarts: 0,
            });
        }
        let mut sim = Sim {
            rng,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            msgs: Vec::new(),
            free: Vec::new(),
            nodes,
            tree,
            digests,
            report: Report::default(),
            cfg,
        };
        for i in 0..sim.nodes.len() {
            if !sim.nodes[i].wants {
                continue;
            }
            sim.report.wanted += 1;
            let mut known: Vec<usize> = if sim.cfg.know_holders {
                (0..=sim.cfg.corrupt).collect()
            } else {
                Vec::new()
            };
            for _ in 0..sim.cfg.candidates {
                let p = sim.rng.below(sim.nodes.len() as u64) as usize;
                if p != i && !known.contains(&p) {
                    known.push(p);
                }
            }
            sim.nodes[i].known = known;
            sim.nodes[i].digests = vec![None; count as usize];
            sim.start_fetch(i);
            let t = sim.rng.below(1000);
            sim.send_at(t, Msg::Tick(i));
        }
        Ok(sim)
    }

    /// The hash of the content.
    pub fn hash(&self) -> Hash {
        self.tree.hash()
    }

    /// Runs until every node that wants the content holds it, or until
    /// `limit_ms` of virtual time; returns what happened.
    pub fn run(&mut self, limit_ms: u64) -> Report {
        while let Some(Reverse((t, _, slot))) = self.queue.pop() {
            if t > limit_ms {
                break;
            }
            self.now = t;
            let Some(msg) = self.msgs[slot].take() else {
                continue;
            };
            self.free.push(slot);
            self.deliver(msg);
            if self.report.complete == self.report.wanted {
                break;
            }
        }
        self.finish()
    }

    fn finish(&mut self) -> Report {
        let mut report = self.report.clone();
        report.now = self.now;
        report.wrong_blocks = 0;
        for n in &self.nodes {
            if !n.wants {
                continue;
            }
            for (i, d) in n.digests.iter().enumerate() {
                match d {
                    Some(d) if *d == self.digests[i] => {}
                    Some(_) => report.wrong_blocks += 1,
                    None if n.have.contains(i as u64) => report.wrong_blocks += 1,
                    None => {}
                }
            }
            report.restarts += n.restarts;
            if let Some(f) = &n.fetch {
                report.refetched_blocks += f.requested_held();
            }
            report.slowest_ms = report.slowest_ms.max(n.done_at.unwrap_or(self.now));
        }
        report
    }

    fn start_fetch(&mut self, i: usize) {
        let mut f = Fetch::new(self.cfg.fetch.clone(), self.nodes[i].have.clone());
        for p in self.nodes[i].known.clone() {
            f.handle(Event::Candidate(p), self.now);
        }
        self.nodes[i].fetch = Some(f);
        self.drain(i);
    }

    fn send_at(&mut self, t: u64, msg: Msg) {
        let slot = if let Some(s) = self.free.pop() {
            self.msgs[s] = Some(msg);
            s
        } else {
            self.msgs.push(Some(msg));
            self.msgs.len() - 1
        };
        self.seq += 1;
        self.queue.push(Reverse((t, self.seq, slot)));
    }

    fn latency(&mut self) -> u64 {
        let r = &self.cfg.latency_ms;
        r.start + self.rng.below((r.end - r.start).max(1))
    }

    fn up(&self, i: usize) -> bool {
        self.nodes[i].down_until <= self.now
    }

    /// Sends over the link from `from`, unless either end is down or the
    /// message is lost; `bytes` wait for `from`'s upload.
    fn send(&mut self, from: usize, to: usize, bytes: u64, msg: Msg) {
        if !self.up(from) || !self.up(to) {
            return;
        }
        if chance(&mut self.rng, self.cfg.loss) {
            self.report.lost += 1;
            return;
        }
        let node = &mut self.nodes[from];
        let start = node.upload_free_at.max(self.now);
        node.upload_free_at = start + bytes * 1000 / node.upload;
        let at = node.upload_free_at + self.latency();
        self.send_at(at, msg);
    }

    fn drain(&mut self, i: usize) {
        while let Some(action) = self.nodes[i].fetch.as_mut().and_then(Fetch::poll_action) {
            match action {
                Action::AskHave(p) => self.send(i, p, 64, Msg::HaveReq { from: i, to: p }),
                Action::Request { peer, range } => self.send(
                    i,
                    peer,
                    64,
                    Msg::Req {
                        from: i,
                        to: peer,
                        range,
                    },
                ),
                Action::Penalise { peer, .. } => self.report.penalties.push((peer, i)),
                Action::FindProviders => self.find_providers(i),
                Action::Done => {
                    if self.nodes[i].done_at.is_none() {
                        self.nodes[i].done_at = Some(self.now);
                        self.report.complete += 1;
                    }
                }
            }
        }
    }

    fn deliver(&mut self, msg: Msg) {
        let to = match &msg {
            Msg::HaveReq { to, .. }
            | Msg::Have { to, .. }
            | Msg::Req { to, .. }
            | Msg::Resp { to, .. }
            | Msg::Candidate { to, .. } => Some(*to),
            Msg::Tick(_) | Msg::Up(_) => None,
        };
        if to.is_some_and(|to| !self.up(to)) {
            return;
        }
        match msg {
            Msg::Candidate { of, to } => {
                if let Some(f) = self.nodes[to].fetch.as_mut() {
                    f.handle(Event::Candidate(of), self.now);
                    self.drain(to);
                }
            }
            Msg::Tick(i) => {
                if self.up(i) && self.nodes[i].done_at.is_none() {
                    if chance(&mut self.rng, self.cfg.cut_rate) {
                        self.cut(i);
                    } else if let Some(f) = self.nodes[i].fetch.as_mut() {
                        f.tick(self.now);
                        self.drain(i);
                    }
                }
                if self.nodes[i].done_at.is_none() {
                    self.send_at(self.now + 1000, Msg::Tick(i));
                }
            }
            Msg::Up(i) => {
                // Back as if restarted: a new fetch from the verified blocks.
                self.nodes[i].restarts += 1;
                if let Some(old) = self.nodes[i].fetch.take() {
                    self.report.refetched_blocks += old.requested_held();
                }
                self.start_fetch(i);
            }
            Msg::HaveReq { from, to } => {
                let ranges = self.nodes[to].have.ranges();
                let bytes = 16 + 16 * ranges.len() as u64;
                self.send(
                    to,
                    from,
                    bytes,
                    Msg::Have {
                        from: to,
                        to: from,
                        ranges,
                    },
                );
            }
            Msg::Have { from, to, ranges } => {
                if let Some(f) = self.nodes[to].fetch.as_mut() {
                    f.handle(Event::Have { peer: from, ranges }, self.now);
                    self.drain(to);
                }
            }
            Msg::Req { from, to, range } => {
                let node = &self.nodes[to];
                let holds = range.clone().all(|b| node.have.contains(b));
                let mut bytes = if holds {
                    let content = Generated {
                        seed: self.cfg.seed,
                        size: self.cfg.size,
                    };
                    self.tree.encode(content, &range).unwrap_or_default()
                } else {
                    Vec::new()
                };
                if node.corrupt && !bytes.is_empty() {
                    let at = self.rng.below(bytes.len() as u64) as usize;
                    bytes[at] ^= 0x20;
                }
                self.report.response_bytes += bytes.len() as u64;
                let n = bytes.len() as u64;
                self.send(
                    to,
                    from,
                    n,
                    Msg::Resp {
                        from: to,
                        to: from,
                        range,
                        bytes,
                    },
                );
            }
            Msg::Resp {
                from,
                to,
                range,
                bytes,
            } => {
                let hash = self.tree.hash();
                let size = self.cfg.size;
                let node = &mut self.nodes[to];
                let Some(f) = node.fetch.as_mut() else { return };
                let (have, digests) = (&mut node.have, &mut node.digests);
                let got = verify::decode(&hash, size, &range, &bytes, |item| {
                    if let verify::Item::Block { index, bytes, .. } = item
                        && !have.contains(index)
                    {
                        have.insert(index);
                        digests[index as usize] = Some(*blake3::hash(bytes).as_bytes());
                    }
                    Ok(())
                });
                let Ok(got) = got else { return };
                f.handle(
                    Event::Response {
                        peer: from,
                        range,
                        verified: got.verified,
                        fault: got.fault,
                    },
                    self.now,
                );
                self.drain(to);
            }
        }
    }

    /// A provider lookup by node `i`: up to `providers` holders, each
    /// reaching `i` as a candidate after a round trip.
    fn find_providers(&mut self, i: usize) {
        self.report.lookups += 1;
        let mut holders: Vec<usize> = (0..self.nodes.len())
            .filter(|&j| j != i && self.up(j) && self.nodes[j].have.is_full())
            .collect();
        for k in (1..holders.len()).rev() {
            let r = self.rng.below(k as u64 + 1) as usize;
            holders.swap(k, r);
        }
        holders.truncate(self.cfg.providers);
        for j in holders {
            let t = self.now + 2 * self.latency();
            self.send_at(t, Msg::Candidate { of: j, to: i });
        }
    }

    fn cut(&mut self, i: usize) {
        let until = self.now + self.cfg.cut_ms;
        self.nodes[i].down_until = until;
        // Its peers see the connection close.
        for j in 0..self.nodes.len() {
            if j != i
                && let Some(f) = self.nodes[j].fetch.as_mut()
            {
                f.handle(Event::Disconnected(i), self.now);
            }
        }
        for j in 0..self.nodes.len() {
            self.drain(j);
        }
        self.send_at(until, Msg::Up(i));
        // Peers that knew it ask again once it is back.
        for j in 0..self.nodes.len() {
            if self.nodes[j].known.contains(&i) {
                let t = until + self.latency();
                self.send_at(t, Msg::Candidate { of: i, to: j });
            }
        }
    }
}
