//! The simulated network: nodes running the shipped state machine, joined
//! by links with latency and loss, partitions and churn, gossip flooded
//! along connections, all in one thread on a virtual clock.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use setu_proto::admission;
use setu_proto::state::{self, Acceptance, Command, Event, Input, Output, State};
use sha2::{Digest, Sha256};

use crate::Rng;
use crate::store::{Checks, Rules, SimStore};

/// A simulated node's id (and address).
pub type NodeId = u32;

/// The wall clock of the simulation at virtual time 0 (ms since the Unix
/// epoch): 2026-01-01.
pub const EPOCH_MS: u64 = 1_767_225_600_000;

/// How the nodes are joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topology {
    /// A ring, plus `degree` random links from each node.
    Random {
        /// Random extra links per node.
        degree: usize,
    },
    /// A line: node i is linked to i + 1 only.
    Line,
}

/// Simulation settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Nodes.
    pub nodes: usize,
    /// How they are joined.
    pub topology: Topology,
    /// One-way latency, uniformly in `[min, max]` ms, per message.
    pub latency_ms: (u64, u64),
    /// Probability that a request or its answer is lost.
    pub loss: f64,
    /// The nodes' sync interval (ms).
    pub sync_interval_ms: u64,
    /// How often each node's timers run (ms).
    pub tick_ms: u64,
    /// A lost request fails after this long (ms).
    pub request_timeout_ms: u64,
    /// Probability, per node and sync interval, that an online node goes
    /// offline, or an offline one comes back (restarted: a new state over
    /// the same store).
    pub churn: f64,
    /// Nodes speak protocol version 2 (offer, want).
    pub pull: bool,
    /// Admission rules of every node.
    pub admission: admission::Config,
    /// The seed of everything random.
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            nodes: 100,
            topology: Topology::Random { degree: 3 },
            latency_ms: (10, 200),
            loss: 0.0,
            sync_interval_ms: 10_000,
            tick_ms: 100,
            request_timeout_ms: 10_000,
            churn: 0.0,
            pull: true,
            admission: admission::Config::default(),
            seed: 1,
        }
    }
}

/// Counters of the simulated network, over all nodes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Requests and responses delivered or lost.
    pub messages: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Gossip messages sent.
    pub gossip: u64,
    /// Their bytes.
    pub gossip_bytes: u64,
}

enum Ev {
    /// A dial from the first node to the second completes (if they may
    /// still connect).
    Connect(NodeId, NodeId),
    Tick(NodeId),
    Churn(NodeId),
    Input(NodeId, Input<NodeId, NodeId>),
    Gossip {
        to: NodeId,
        from: NodeId,
        data: Vec<u8>,
    },
}

struct Node {
    state: State<NodeId, NodeId>,
    store: SimStore,
    online: bool,
    /// Gossip message ids seen.
    seen: HashSet<[u8; 20]>,
    /// Gossip messages awaiting the state's verdict: payload and source.
    msgs: HashMap<u64, (Vec<u8>, NodeId)>,
    next_msg: u64,
    /// Requests this node received, awaiting the state's answer.
    channels: HashMap<u64, (NodeId, u64)>,
    next_channel: u64,
    /// Peers this node banned, until unbanned.
    blocked: HashSet<NodeId>,
    /// A scripted (hostile) node: no state runs; what it receives is kept.
    scripted: bool,
}

/// What a scripted node received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A response to a request it sent: from whom, and the frame.
    Response(NodeId, Vec<u8>),
    /// A request sent to it: from whom, and the frame.
    Request(NodeId, Vec<u8>),
}

/// The simulated network.
pub struct Sim {
    cfg: Config,
    rng: Rng,
    nodes: Vec<Node>,
    links: Vec<Vec<NodeId>>,
    group: Vec<usize>,
    connected: HashSet<(NodeId, NodeId)>,
    /// Dials under way.
    connecting: HashSet<(NodeId, NodeId)>,
    /// Per node, the (store size, expected records) at which it was last
    /// found to hold every expected record.
    complete: std::cell::RefCell<Vec<Option<(usize, usize)>>>,
    queue: BTreeMap<(u64, u64), Ev>,
    now: u64,
    seq: u64,
    checks: Checks,
    /// Every record id published or preloaded that the nodes should all
    /// end with.
    union: HashSet<[u8; 32]>,
    /// Network counters.
    pub traffic: Traffic,
    /// Bans: (by, whom, why).
    pub bans: Vec<(NodeId, NodeId, String)>,
    /// What scripted nodes received.
    pub inbox: HashMap<NodeId, Vec<Received>>,
    next_script_req: u64,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sim(nodes {}, t {} ms)", self.nodes.len(), self.now)
    }
}

fn pair(a: NodeId, b: NodeId) -> (NodeId, NodeId) {
    (a.min(b), a.max(b))
}

impl Sim {
    /// A network of `cfg.nodes` empty nodes, all online, in one group, and
    /// connected along their links.
    pub fn new(cfg: Config) -> Sim {
        let mut rng = Rng::new(cfg.seed);
        let n = cfg.nodes.max(2);
        let mut links: Vec<Vec<NodeId>> = vec![Vec::new(); n];
        let mut link = |a: usize, b: usize| {
            if a != b && !links[a].contains(&(b as NodeId)) {
                links[a].push(b as NodeId);
                links[b].push(a as NodeId);
            }
        };
        match cfg.topology {
            Topology::Line => {
                for a in 0..n - 1 {
                    link(a, a + 1);
                }
            }
            Topology::Random { degree } => {
                for a in 0..n {
                    link(a, (a + 1) % n);
                    for _ in 0..degree {
                        let b = rng.below(n as u64) as usize;
                        link(a, b);
                    }
                }
            }
        }
        let checks = Checks::default();
        let mut sim = Sim {
            nodes: (0..n)
                .map(|i| Node {
                    state: State::new(node_config(&cfg, i as NodeId)),
                    store: SimStore::new(checks.clone(), Rules::Current),
                    online: true,
                    seen: HashSet::new(),
                    msgs: HashMap::new(),
                    next_msg: 1,
                    channels: HashMap::new(),
                    next_channel: 1,
                    blocked: HashSet::new(),
                    scripted: false,
                })
                .collect(),
            cfg,
            rng,
            links,
            group: vec![0; n],
            connected: HashSet::new(),
            connecting: HashSet::new(),
            complete: Default::default(),
            queue: BTreeMap::new(),
            now: 0,
            seq: 0,
            checks,
            union: HashSet::new(),
            traffic: Traffic::default(),
            bans: Vec::new(),
            inbox: HashMap::new(),
            next_script_req: 1 << 40,
        };
        for a in 0..n as NodeId {
            let phase = sim.rng.below(sim.cfg.tick_ms.max(1));
            sim.at(phase, Ev::Tick(a));
            let churn = sim.rng.below(sim.cfg.sync_interval_ms.max(1));
            sim.at(churn, Ev::Churn(a));
        }
        sim.connect_all();
        sim
    }

    fn at(&mut self, delay: u64, ev: Ev) {
        self.seq += 1;
        self.queue.insert((self.now + delay, self.seq), ev);
    }

    fn latency(&mut self) -> u64 {
        let (lo, hi) = self.cfg.latency_ms;
        lo + self.rng.below(hi.saturating_sub(lo) + 1)
    }

    /// The current virtual time (ms).
    pub fn now(&self) -> u64 {
        self.now
    }

    /// How many nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True if there are none (never: a simulation has at least two).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// A node's state machine.
    pub fn state(&self, n: NodeId) -> &State<NodeId, NodeId> {
        &self.nodes[n as usize].state
    }

    /// A node's store.
    pub fn store(&self, n: NodeId) -> &SimStore {
        &self.nodes[n as usize].store
    }

    /// How many distinct records were verified in all (each once).
    pub fn verified(&self) -> usize {
        self.checks.len()
    }

    /// Every node accepts by membership under `charter` from now on (call
    /// it before any record is stored).
    pub fn set_charter(&mut self, charter: &setu_member::charter::Sealed) {
        for n in &mut self.nodes {
            n.store.set_charter(charter.clone());
        }
    }

    /// Gives a node other validity rules (a test-only older rule set).
    pub fn set_rules(&mut self, n: NodeId, rules: Rules) {
        self.nodes[n as usize].store.set_rules(rules);
    }

    /// Makes a node scripted: its state no longer runs, and tests speak
    /// for it with [`Sim::send_raw`], [`Sim::gossip_raw`] and
    /// [`Sim::malformed`].
    pub fn script(&mut self, n: NodeId) {
        self.nodes[n as usize].scripted = true;
    }

    /// The records every node should end with.
    pub fn expected(&self) -> usize {
        self.union.len()
    }

    /// True if every online, unscripted node holds every expected record.
    pub fn converged(&self) -> bool {
        let want = self.union.len();
        let mut complete = self.complete.borrow_mut();
        complete.resize(self.nodes.len(), None);
        self.nodes
            .iter()
            .zip(complete.iter_mut())
            .filter(|(n, _)| n.online && !n.scripted)
            .all(|(n, done)| {
                let len = n.store.len();
                if len < want {
                    return false;
                }
                // Checked record by record once per size of its store (this
                // runs after every event).
                if *done != Some((len, want)) {
                    if !self.union.iter().all(|id| n.store.holds(id)) {
                        return false;
                    }
                    *done = Some((len, want));
                }
                true
            })
    }

    /// Records stores hold short of the expected ones, over all online,
    /// unscripted nodes.
    pub fn missing(&self) -> u64 {
        self.nodes
            .iter()
            .filter(|n| n.online && !n.scripted)
            .map(|n| self.union.iter().filter(|id| !n.store.holds(id)).count() as u64)
            .sum()
    }

    /// The sum of one counter of every unscripted node's state.
    pub fn total(&self, f: impl Fn(&state::Counters) -> u64) -> u64 {
        self.nodes
            .iter()
            .filter(|n| !n.scripted)
            .map(|n| f(&n.state.counters()))
            .sum()
    }

    /// Stores records in a node as if it had published them before the
    /// simulation (no gossip); they join the expected set.
    pub fn preload(&mut self, n: NodeId, records: &[Vec<u8>]) {
        self.store_direct(n, records.to_vec(), true);
    }

    /// Stores records in a node without expecting others to get them (for
    /// records some rules refuse).
    pub fn preload_unexpected(&mut self, n: NodeId, records: &[Vec<u8>]) {
        self.store_direct(n, records.to_vec(), false);
    }

    fn store_direct(&mut self, n: NodeId, records: Vec<Vec<u8>>, expect: bool) {
        use setu_proto::store::{Store, Verdict};
        let wall = EPOCH_MS + self.now;
        // Preloaded records are the simulation's own: ones that do not
        // decode are not stored, as a store refuses them.
        let parsed = records
            .into_iter()
            .filter_map(|r| setu_core::record::parse(r).ok())
            .collect();
        let verdicts = self.nodes[n as usize]
            .store
            .ingest(parsed, wall)
            .unwrap_or_default();
        for v in verdicts {
            if let (Verdict::Stored { id, .. } | Verdict::Duplicate(id), true) = (v, expect) {
                self.union.insert(id);
            }
        }
    }

    /// A node publishes records: stored, then gossiped (as the node's
    /// owner announces what it stores).
    pub fn publish(&mut self, n: NodeId, records: &[Vec<u8>]) {
        self.store_direct(n, records.to_vec(), true);
        self.input(n, Input::Command(Command::Announce(records.to_vec())));
    }

    /// Splits the nodes into groups: connections between groups close, and
    /// nothing crosses until [`Sim::heal`].
    pub fn partition(&mut self, group_of: impl Fn(NodeId) -> usize) {
        for (i, g) in self.group.iter_mut().enumerate() {
            *g = group_of(i as NodeId);
        }
        let cut: Vec<(NodeId, NodeId)> = self
            .connected
            .iter()
            .filter(|(a, b)| self.group[*a as usize] != self.group[*b as usize])
            .copied()
            .collect();
        for (a, b) in cut {
            self.disconnect(a, b);
        }
    }

    /// Ends every partition; the nodes reconnect.
    pub fn heal(&mut self) {
        self.group.iter_mut().for_each(|g| *g = 0);
        self.connect_all();
    }

    /// Sets the churn probability.
    pub fn set_churn(&mut self, churn: f64) {
        self.cfg.churn = churn;
    }

    /// Takes a node offline, or brings it back (restarted: a new state
    /// over its store).
    pub fn set_online(&mut self, n: NodeId, online: bool) {
        let was = self.nodes[n as usize].online;
        if was == online {
            return;
        }
        if online {
            let cfg = node_config(&self.cfg, n);
            let node = &mut self.nodes[n as usize];
            node.online = true;
            node.state = State::new(cfg);
            node.channels.clear();
            node.msgs.clear();
            node.blocked.clear();
            self.connect_all();
        } else {
            let peers: Vec<NodeId> = self
                .connected
                .iter()
                .filter(|(a, b)| *a == n || *b == n)
                .map(|(a, b)| if *a == n { *b } else { *a })
                .collect();
            for p in peers {
                self.disconnect(n, p);
            }
            self.nodes[n as usize].online = false;
        }
    }

    /// Brings every node online.
    pub fn all_online(&mut self) {
        for n in 0..self.nodes.len() as NodeId {
            self.set_online(n, true);
        }
    }

    fn can_connect(&self, a: NodeId, b: NodeId) -> bool {
        let (na, nb) = (&self.nodes[a as usize], &self.nodes[b as usize]);
        na.online
            && nb.online
            && self.group[a as usize] == self.group[b as usize]
            && !na.blocked.contains(&b)
            && !nb.blocked.contains(&a)
    }

    fn connect_all(&mut self) {
        for a in 0..self.nodes.len() as NodeId {
            let links = self.links[a as usize].clone();
            for b in links {
                if a < b {
                    self.connect(a, b);
                }
            }
        }
    }

    /// `a` dials `b`, if they may connect and are neither connected nor
    /// dialling: the connection opens one latency later, if they still
    /// may connect then.
    fn connect(&mut self, a: NodeId, b: NodeId) {
        let p = pair(a, b);
        if !self.can_connect(a, b) || self.connected.contains(&p) || !self.connecting.insert(p) {
            return;
        }
        let d = self.latency();
        self.at(d, Ev::Connect(a, b));
    }

    fn connected_now(&mut self, a: NodeId, b: NodeId) {
        let p = pair(a, b);
        self.connecting.remove(&p);
        if !self.can_connect(a, b) || !self.connected.insert(p) {
            return;
        }
        self.input(
            a,
            Input::Connected {
                peer: b,
                dialer: true,
                remote: b,
            },
        );
        self.input(
            b,
            Input::Connected {
                peer: a,
                dialer: false,
                remote: a,
            },
        );
        // Identify answers one latency later.
        let d = self.latency();
        let pull = self.cfg.pull;
        self.at(d, Ev::Input(a, Input::Identified { peer: b, pull }));
        self.at(d, Ev::Input(b, Input::Identified { peer: a, pull }));
    }

    fn disconnect(&mut self, a: NodeId, b: NodeId) {
        // At once, so the states and the set of connections never disagree.
        if self.connected.remove(&pair(a, b)) {
            self.input(a, Input::Disconnected { peer: b });
            self.input(b, Input::Disconnected { peer: a });
        }
    }

    fn is_connected(&self, a: NodeId, b: NodeId) -> bool {
        self.connected.contains(&pair(a, b))
    }

    /// A scripted node sends a request frame to `to`; the answer lands in
    /// its [`Sim::inbox`].
    pub fn send_raw(&mut self, from: NodeId, to: NodeId, bytes: Vec<u8>) {
        let req = self.next_script_req;
        self.next_script_req += 1;
        self.deliver_request(from, to, req, bytes);
    }

    /// A scripted node gossips a payload to `to`.
    pub fn gossip_raw(&mut self, from: NodeId, to: NodeId, data: Vec<u8>) {
        let d = self.latency();
        self.at(d, Ev::Gossip { to, from, data });
    }

    /// A scripted node sends `to` a frame that cannot be read (oversize,
    /// cut short): the driver reports it as malformed.
    pub fn malformed(&mut self, from: NodeId, to: NodeId, why: &str) {
        let d = self.latency();
        self.at(
            d,
            Ev::Input(
                to,
                Input::Malformed {
                    peer: from,
                    why: why.into(),
                },
            ),
        );
    }

    fn deliver_request(&mut self, from: NodeId, to: NodeId, req: u64, bytes: Vec<u8>) {
        self.traffic.messages += 1;
        self.traffic.bytes += bytes.len() as u64;
        if !self.is_connected(from, to) {
            self.at(1, Ev::Input(from, Input::Failure { peer: to, req }));
            return;
        }
        if crate::chance(&mut self.rng, self.cfg.loss) {
            let t = self.cfg.request_timeout_ms;
            self.at(t, Ev::Input(from, Input::Failure { peer: to, req }));
            return;
        }
        if self.nodes[to as usize].scripted {
            // A scripted node never answers: the request times out.
            let t = self.cfg.request_timeout_ms;
            self.at(t, Ev::Input(from, Input::Failure { peer: to, req }));
        }
        let node = &mut self.nodes[to as usize];
        let channel = node.next_channel;
        node.next_channel += 1;
        node.channels.insert(channel, (from, req));
        let d = self.latency();
        self.at(
            d,
            Ev::Input(
                to,
                Input::Request {
                    peer: from,
                    channel,
                    bytes,
                },
            ),
        );
    }

    /// Hands an input to a node now, and carries out what it asks.
    pub fn input(&mut self, n: NodeId, input: Input<NodeId, NodeId>) {
        let node = &self.nodes[n as usize];
        if !node.online {
            return;
        }
        if node.scripted {
            match input {
                Input::Request { peer, bytes, .. } => {
                    self.inbox
                        .entry(n)
                        .or_default()
                        .push(Received::Request(peer, bytes));
                }
                Input::Response { peer, bytes, .. } => {
                    self.inbox
                        .entry(n)
                        .or_default()
                        .push(Received::Response(peer, bytes));
                }
                _ => {}
            }
            return;
        }
        let mut queue = VecDeque::from([input]);
        while let Some(input) = queue.pop_front() {
            let now = self.now;
            let outs = self.nodes[n as usize].state.handle(now, input);
            for out in outs {
                self.output(n, out, &mut queue);
            }
        }
    }

    fn output(
        &mut self,
        n: NodeId,
        out: Output<NodeId, NodeId>,
        queue: &mut VecDeque<Input<NodeId, NodeId>>,
    ) {
        match out {
            Output::Send { peer, req, bytes } => self.deliver_request(n, peer, req, bytes),
            Output::Respond { channel, bytes } => {
                let Some((to, req)) = self.nodes[n as usize].channels.remove(&channel) else {
                    return;
                };
                self.traffic.messages += 1;
                self.traffic.bytes += bytes.len() as u64;
                if !self.is_connected(n, to) {
                    self.at(1, Ev::Input(to, Input::Failure { peer: n, req }));
                } else if crate::chance(&mut self.rng, self.cfg.loss) {
                    let t = self.cfg.request_timeout_ms;
                    self.at(t, Ev::Input(to, Input::Failure { peer: n, req }));
                } else {
                    let d = self.latency();
                    self.at(
                        d,
                        Ev::Input(
                            to,
                            Input::Response {
                                peer: n,
                                req,
                                bytes,
                            },
                        ),
                    );
                }
            }
            Output::Verdict { msg, acceptance } => {
                let Some((data, source)) = self.nodes[n as usize].msgs.remove(&msg) else {
                    return;
                };
                if acceptance == Acceptance::Accept {
                    self.flood(n, Some(source), &data);
                }
            }
            Output::Publish(payload) => {
                let id = message_id(&payload);
                self.nodes[n as usize].seen.insert(id);
                self.flood(n, None, &payload);
            }
            Output::Ban { peer, reason } => {
                self.bans.push((n, peer, reason));
                self.nodes[n as usize].blocked.insert(peer);
                self.disconnect(n, peer);
            }
            Output::Unban(peer) => {
                self.nodes[n as usize].blocked.remove(&peer);
                if self.links[n as usize].contains(&peer) {
                    self.connect(n, peer);
                }
            }
            Output::Close(peer) => self.disconnect(n, peer),
            Output::Dial(peer) => {
                if self.links[n as usize].contains(&peer) {
                    self.connect(n, peer);
                }
            }
            Output::Store { ticket, op } => {
                let wall = EPOCH_MS + self.now;
                let done = op.run(&mut self.nodes[n as usize].store, wall);
                queue.push_back(Input::Done { ticket, done });
            }
            Output::Event(Event::PeerBanned { .. }) | Output::Event(_) => {}
        }
    }

    /// Sends a gossip payload to every connected peer but `except`.
    fn flood(&mut self, n: NodeId, except: Option<NodeId>, data: &[u8]) {
        let peers: Vec<NodeId> = self.links[n as usize]
            .iter()
            .copied()
            .filter(|p| Some(*p) != except && self.is_connected(n, *p))
            .collect();
        for p in peers {
            self.traffic.gossip += 1;
            self.traffic.gossip_bytes += data.len() as u64;
            if crate::chance(&mut self.rng, self.cfg.loss) {
                continue;
            }
            let d = self.latency();
            self.at(
                d,
                Ev::Gossip {
                    to: p,
                    from: n,
                    data: data.to_vec(),
                },
            );
        }
    }

    fn on_gossip(&mut self, to: NodeId, from: NodeId, data: Vec<u8>) {
        let node = &mut self.nodes[to as usize];
        if !node.online || !self.connected.contains(&pair(to, from)) {
            return;
        }
        if !node.seen.insert(message_id(&data)) || node.scripted {
            return;
        }
        let msg = node.next_msg;
        node.next_msg += 1;
        node.msgs.insert(msg, (data.clone(), from));
        self.input(
            to,
            Input::Gossip {
                source: from,
                msg,
                data,
            },
        );
    }

    /// Runs until `done` holds (checked after each event) or the virtual
    /// clock passes `until_ms`. Returns whether `done` held.
    pub fn run_until(&mut self, until_ms: u64, done: &dyn Fn(&Sim) -> bool) -> bool {
        while let Some(((at, seq), _)) = self.queue.first_key_value() {
            let (at, seq) = (*at, *seq);
            if at > until_ms {
                self.now = until_ms;
                return done(self);
            }
            let Some(ev) = self.queue.remove(&(at, seq)) else {
                continue;
            };
            self.now = at;
            let check = !matches!(ev, Ev::Tick(_) | Ev::Churn(_));
            match ev {
                Ev::Tick(n) => {
                    let t = self.cfg.tick_ms;
                    self.at(t, Ev::Tick(n));
                    self.input(n, Input::Tick);
                }
                Ev::Churn(n) => {
                    let t = self.cfg.sync_interval_ms;
                    self.at(t, Ev::Churn(n));
                    if self.cfg.churn > 0.0 && crate::chance(&mut self.rng, self.cfg.churn) {
                        let online = self.nodes[n as usize].online;
                        self.set_online(n, !online);
                    }
                }
                Ev::Connect(a, b) => self.connected_now(a, b),
                Ev::Input(n, input) => self.input(n, input),
                Ev::Gossip { to, from, data } => self.on_gossip(to, from, data),
            }
            if check && done(self) {
                return true;
            }
        }
        done(self)
    }

    /// Runs for `ms` more milliseconds of virtual time.
    pub fn run_for(&mut self, ms: u64) {
        let until = self.now + ms;
        self.run_until(until, &|_| false);
    }
}

fn node_config(cfg: &Config, n: NodeId) -> state::Config {
    state::Config {
        sync_interval_ms: cfg.sync_interval_ms,
        admission: cfg.admission.clone(),
        pull: cfg.pull,
        seed: cfg.seed ^ (u64::from(n) << 32) ^ 0x5e70,
        ..state::Config::default()
    }
}

/// The gossip message id of a payload: `SHA-256(data)[0..20]`
/// (`spec/net.md` §7.1).
pub fn message_id(data: &[u8]) -> [u8; 20] {
    let h = Sha256::digest(data);
    let mut id = [0u8; 20];
    id.copy_from_slice(&h[..20]);
    id
}
