//! The driver: one tokio task owns the swarm and maps its events onto the
//! replica and the sync state machines of `setu-sync`, and their outputs
//! back onto swarm calls ([`spec/net.md`](../../../spec/net.md)).
//!
//! A [`Handle`] talks to the task over a bounded queue; events go out on a
//! bounded broadcast channel (a subscriber that lags loses the oldest).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::core::ConnectedPoint;
use libp2p::gossipsub::{self, MessageAcceptance};
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, OutboundRequestId, ResponseChannel};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, Swarm, identify, identity, mdns};
use serde::{Deserialize, Serialize};
use setu_core::ids::RecordId;
use setu_store::backend::Backend;
use setu_store::ingest::{Outcome, Refusal};
use setu_store::replica::Replica;
use setu_sync::bulk::{self, Puller};
use setu_sync::item::Id;
use setu_sync::reconcile::{self, Reconciler};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::Error;
use crate::admission::Admission;
use crate::behaviour::{self, BAD_PEER_SCORE, Behaviour, BehaviourEvent};
use crate::config::{Config, Gossip};
use crate::message::{
    Announcement, MAX_FETCH_IDS, MAX_PUSH_BYTES, MAX_PUSH_RECORDS, RefusalCode, Request, Response,
};

/// A replica shared by the driver and the embedding code.
pub type Shared<B> = Arc<Mutex<Replica<B>>>;

/// Capacity of the command queue from handles to the driver.
pub const COMMAND_QUEUE: usize = 64;
/// Capacity of the event broadcast channel.
pub const EVENT_CAPACITY: usize = 4096;
/// How often timers are checked.
pub const TICK: Duration = Duration::from_millis(100);
/// Most reconciliation sessions this node answers at once.
pub const MAX_IN_SESSIONS: usize = 32;
/// Most sessions one peer may have open with this node.
pub const MAX_IN_SESSIONS_PER_PEER: usize = 2;
/// An answered session idle this long is dropped.
pub const SESSION_TTL: Duration = Duration::from_secs(60);
/// Most record ids queued to push to one peer; the rest wait for the next
/// sync round.
pub const MAX_PENDING_GIVES: usize = 100_000;
/// Most pushes in flight to one peer.
pub const MAX_PUSH_INFLIGHT: usize = 2;
/// Requests one peer may make per second, on average.
pub const PEER_REQUESTS_PER_SEC: f64 = 100.0;
/// Requests one peer may make in a burst.
pub const PEER_REQUEST_BURST: f64 = 400.0;
/// How long a misbehaving peer stays blocked.
pub const BAN_DURATION: Duration = Duration::from_secs(600);
/// First redial delay; it doubles on each failure.
pub const REDIAL_MIN: Duration = Duration::from_millis(500);
/// Longest redial delay.
pub const REDIAL_MAX: Duration = Duration::from_secs(60);
/// Most addresses redialled.
pub const MAX_REDIAL_TARGETS: usize = 256;
/// A node that stores new records from a reconciliation or bulk session
/// starts a session with each of its other peers after this long at most
/// (and at least this long after its last session with that peer), so
/// records that missed gossip still cross several hops quickly instead of
/// one hop per sync interval.
pub const PASS_ON_DELAY: Duration = Duration::from_secs(1);
/// Received records become searchable within about this long.
pub const INDEX_FLUSH_INTERVAL: Duration = Duration::from_millis(300);
/// Bulk mode is used when the peer holds more than this many times our
/// item count (`spec/sync.md` §6).
pub const BULK_RATIO: u64 = 4;
/// After a bulk transfer that stored less than half of what it received,
/// bulk mode is not used with that peer for this long.
pub const BULK_COOLDOWN: Duration = Duration::from_secs(3600);
/// Records per bulk batch asked for.
pub const BULK_ITEMS: u64 = 1024;
/// Bytes per bulk batch asked for.
pub const BULK_BYTES: u64 = 2 * 1024 * 1024;
/// Most announced records being fetched at once; further announcements
/// are ignored (reconciliation delivers them later).
pub const MAX_PENDING_FETCHES: usize = 4096;
/// A fetch unanswered this long is given up (its announcement ignored):
/// gossipsub forgets a message awaiting its verdict after a few heartbeats,
/// so a later verdict would be lost. The body may still arrive and is then
/// stored; reconciliation covers the rest.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(2);
/// Most records being fetched a second time at once, from another peer,
/// after the fetch from their announcer failed (`spec/net.md` §7.2);
/// beyond it, reconciliation delivers them.
pub const MAX_PENDING_REFETCHES: usize = 1024;
/// Most record bytes in one answer to a fetch.
pub const MAX_FETCH_ANSWER_BYTES: usize = 4 * 1024 * 1024;
/// Most listen addresses remembered per peer (from identify).
const MAX_PEER_ADDRS: usize = 8;
/// How long `start` waits for the listeners to come up.
const LISTEN_WAIT: Duration = Duration::from_secs(10);

/// How a record arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    /// Gossip.
    Gossip,
    /// Pushed after reconciliation.
    Sync,
    /// Bulk transfer.
    Bulk,
}

/// Something that happened on the network.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A record from a peer was stored.
    RecordReceived {
        /// Its id.
        id: RecordId,
        /// How it came.
        via: Via,
        /// From whom.
        peer: PeerId,
    },
    /// A peer connected (its first connection).
    PeerConnected(PeerId),
    /// A peer's last connection closed.
    PeerDisconnected(PeerId),
    /// A reconciliation session this node started ended.
    SyncDone {
        /// With whom.
        peer: PeerId,
        /// Whether it completed (false: it failed or was cut short).
        ok: bool,
        /// Records found to give the peer.
        gave: u64,
    },
    /// A peer sent invalid data and was disconnected and blocked.
    PeerBanned {
        /// Who.
        peer: PeerId,
        /// Why.
        reason: String,
    },
}

/// Counters since the node started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Records stored from gossip.
    pub via_gossip: u64,
    /// Records stored from pushes after reconciliation.
    pub via_sync: u64,
    /// Records stored from bulk transfers.
    pub via_bulk: u64,
    /// Records refused as invalid (bad signature, encoding, schema).
    pub refused_invalid: u64,
    /// Records refused by the allow-list or quota.
    pub refused_admission: u64,
    /// Records refused for a `ts` too far ahead of this node's clock; they
    /// may be accepted later, so they are not counted as other refusals.
    #[serde(default)]
    pub refused_future: u64,
    /// Records refused by other ingest rules (chain, withdrawn, full chain).
    pub refused_other: u64,
    /// Records this node published to gossip.
    pub gossip_published: u64,
    /// Records pushed to peers.
    pub records_pushed: u64,
    /// Reconciliation sessions started.
    pub sessions_started: u64,
    /// Sessions started that completed.
    pub sessions_done: u64,
    /// Sessions started that failed.
    pub sessions_failed: u64,
    /// Sessions answered for peers.
    pub sessions_answered: u64,
    /// Bulk transfers completed.
    pub bulk_done: u64,
    /// Peers banned for invalid data.
    pub peers_banned: u64,
    /// Requests refused for rate or session limits.
    pub requests_refused: u64,
    /// Gossip announcements received (first copies).
    pub announcements: u64,
    /// Records fetched after an announcement.
    pub fetched: u64,
    /// Fetches asked of a second peer after the announcer's failed.
    #[serde(default)]
    pub refetches: u64,
    /// Bytes received on every connection (TCP payload: noise, yamux and
    /// all protocols included).
    pub wire_in: u64,
    /// Bytes sent on every connection.
    pub wire_out: u64,
    /// Slots reserved on relays.
    pub relay_reservations: u64,
    /// Connections made through a relay, either way.
    pub relayed_connections: u64,
    /// Circuits this node relayed for others (as a relay).
    pub circuits_relayed: u64,
    /// Relayed connections upgraded to direct ones by hole punching.
    pub holepunch_succeeded: u64,
    /// Hole punching attempts that failed (the relayed connection stays).
    pub holepunch_failed: u64,
    /// Peers Kademlia added to its routing table.
    pub peers_discovered: u64,
}

/// A connected peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerInfo {
    /// Its peer id.
    pub peer_id: String,
    /// Its address on our connection, and the ones it listens on.
    pub addresses: Vec<String>,
    /// Its agent string, from identify.
    pub agent: Option<String>,
    /// The connection goes through a relay (no direct connection yet).
    #[serde(default)]
    pub relayed: bool,
}

/// The network side of a node's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetStatus {
    /// This node's peer id.
    pub peer_id: String,
    /// The network name.
    pub network: String,
    /// Addresses this node listens on, with its peer id.
    pub listen: Vec<String>,
    /// Connected peers.
    pub peers: usize,
    /// Whether peers can dial this node, as AutoNAT judged.
    pub reachability: reach::Reachability,
    /// Kademlia's mode: server (reachable), client, or off.
    pub kad_mode: String,
    /// Addresses confirmed reachable from outside (by AutoNAT, or a relay
    /// slot).
    pub external: Vec<String>,
    /// Relays on which this node holds a slot.
    pub relays: Vec<String>,
    /// Counters.
    pub counters: Counters,
}

enum Command {
    Announce(Vec<Vec<u8>>),
    SyncNow,
    Dial(Multiaddr, oneshot::Sender<Result<(), Error>>),
    Peers(oneshot::Sender<Vec<PeerInfo>>),
    Status(oneshot::Sender<NetStatus>),
    Shutdown(oneshot::Sender<()>),
}

/// A cloneable handle on a running driver.
#[derive(Debug, Clone)]
pub struct Handle {
    tx: mpsc::Sender<Command>,
    events: broadcast::Sender<Event>,
    peer_id: PeerId,
}

impl Handle {
    /// This node's peer id.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, Error> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(make(tx)).await.map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)
    }

    /// Gossips records this node just stored (published or imported).
    pub async fn announce(&self, records: Vec<Vec<u8>>) -> Result<(), Error> {
        self.tx
            .send(Command::Announce(records))
            .await
            .map_err(|_| Error::Stopped)
    }

    /// Starts a reconciliation round with every connected peer now.
    pub async fn sync_now(&self) -> Result<(), Error> {
        self.tx
            .send(Command::SyncNow)
            .await
            .map_err(|_| Error::Stopped)
    }

    /// Dials an address, and keeps redialling it with backoff.
    pub async fn dial(&self, addr: Multiaddr) -> Result<(), Error> {
        self.ask(|tx| Command::Dial(addr, tx)).await?
    }

    /// Connected peers.
    pub async fn peers(&self) -> Result<Vec<PeerInfo>, Error> {
        self.ask(Command::Peers).await
    }

    /// The network status.
    pub async fn status(&self) -> Result<NetStatus, Error> {
        self.ask(Command::Status).await
    }

    /// Network events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Stops the driver: closes connections and returns once the task ends.
    pub async fn shutdown(&self) -> Result<(), Error> {
        self.ask(Command::Shutdown).await
    }
}

/// Starts the driver on the current tokio runtime. Returns once every
/// listen address is bound.
pub async fn start<B: Backend + Send + 'static>(
    cfg: Config,
    key: identity::Keypair,
    replica: Shared<B>,
    own: Option<setu_core::ids::AuthorKey>,
) -> Result<(Handle, tokio::task::JoinHandle<()>), Error> {
    cfg.validate().map_err(Error::Config)?;
    let peer_id = key.public().to_peer_id();
    let (mut swarm, meter) = behaviour::metered_swarm(&cfg, key)?;
    for addr in &cfg.listen {
        swarm.listen_on(addr.clone()).map_err(|e| Error::Listen {
            addr: addr.to_string(),
            reason: e.to_string(),
        })?;
    }
    // Wait until every listener reports an address (or fails).
    let mut listening = Vec::new();
    let deadline = tokio::time::Instant::now() + LISTEN_WAIT;
    let mut up = 0;
    while up < cfg.listen.len() {
        let ev = tokio::time::timeout_at(deadline, swarm.select_next_some())
            .await
            .map_err(|_| Error::Listen {
                addr: format!("{:?}", cfg.listen),
                reason: "timed out waiting for the listener".into(),
            })?;
        match ev {
            SwarmEvent::NewListenAddr { address, .. } => {
                listening.push(address);
                up += 1;
            }
            SwarmEvent::ListenerError { error, .. }
            | SwarmEvent::ListenerClosed {
                reason: Err(error), ..
            } => {
                return Err(Error::Listen {
                    addr: format!("{:?}", cfg.listen),
                    reason: error.to_string(),
                });
            }
            _ => {}
        }
    }
    let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
    let (events, _) = broadcast::channel(EVENT_CAPACITY);
    let relays = cfg.relays.clone();
    let mut driver = Driver {
        topic: gossipsub::IdentTopic::new(cfg.topic()),
        admission: Admission::new(cfg.admission.clone(), own),
        sync_cfg: reconcile::Config::default(),
        cfg,
        swarm,
        replica,
        events: events.clone(),
        listening,
        counters: Counters::default(),
        peers: HashMap::new(),
        out: HashMap::new(),
        pending: HashMap::new(),
        inbound: HashMap::new(),
        gives: HashMap::new(),
        inflight: HashMap::new(),
        banned: HashMap::new(),
        redial: HashMap::new(),
        fetching: HashMap::new(),
        refetching: HashMap::new(),
        meter,
        no_bulk: HashMap::new(),
        next_session: 1,
        index_dirty: false,
        last_flush: Instant::now(),
        reach: reach::Reach::new(&relays),
        items: items::Cache::default(),
    };
    for addr in driver
        .cfg
        .bootstrap
        .iter()
        .chain(&driver.cfg.relays)
        .cloned()
        .collect::<Vec<_>>()
    {
        driver.add_redial(addr, true);
    }
    let task = tokio::spawn(async move { driver.run(rx).await });
    Ok((
        Handle {
            tx,
            events,
            peer_id,
        },
        task,
    ))
}

#[derive(Debug)]
struct Peer {
    agent: Option<String>,
    dialed: bool,
    addrs: Vec<Multiaddr>,
    last_sync: Option<Instant>,
    /// New records came from another peer by sync: reconcile with this one
    /// soon (`PASS_ON_DELAY`).
    pass_on: bool,
    /// Connected only through a relay.
    relayed: bool,
    tokens: f64,
    refilled: Instant,
}

enum Out {
    Reconcile {
        session: u64,
        rec: Reconciler,
        first: bool,
        after_bulk: bool,
        gave: u64,
    },
    Bulk {
        puller: Puller,
        received: u64,
        stored: u64,
    },
}

enum Pending {
    Session,
    Push,
    Fetch(Vec<Id>),
    /// A second fetch, from another peer, after the announcer's failed.
    Refetch(Vec<Id>),
}

struct Inbound {
    rec: Reconciler,
    touched: Instant,
}

struct Redial {
    delay: Duration,
    next_at: Instant,
    peer: Option<PeerId>,
}

struct Driver<B: Backend> {
    cfg: Config,
    swarm: Swarm<Behaviour>,
    replica: Shared<B>,
    topic: gossipsub::IdentTopic,
    admission: Admission,
    sync_cfg: reconcile::Config,
    events: broadcast::Sender<Event>,
    listening: Vec<Multiaddr>,
    counters: Counters,
    peers: HashMap<PeerId, Peer>,
    out: HashMap<PeerId, Out>,
    pending: HashMap<OutboundRequestId, (PeerId, Pending)>,
    inbound: HashMap<(PeerId, u64), Inbound>,
    gives: HashMap<PeerId, VecDeque<Id>>,
    inflight: HashMap<PeerId, usize>,
    banned: HashMap<PeerId, Instant>,
    redial: HashMap<Multiaddr, Redial>,
    /// Announced records being fetched: the gossip message to report once
    /// the body is stored, and who announced it.
    fetching: HashMap<Id, (gossipsub::MessageId, PeerId, Instant)>,
    /// Records asked of a second peer after the announcer's fetch failed:
    /// the peer asked.
    refetching: HashMap<Id, PeerId>,
    meter: Arc<crate::transport::Meter>,
    /// Peers whose last bulk transfer was mostly refused, and until when
    /// bulk mode is not used with them.
    no_bulk: HashMap<PeerId, Instant>,
    next_session: u64,
    index_dirty: bool,
    last_flush: Instant,
    reach: reach::Reach,
    items: items::Cache,
}

use setu_core::clock::now_ms;

mod items;
mod reach;
pub use reach::Reachability;

fn without_p2p(addr: &Multiaddr) -> Multiaddr {
    addr.iter()
        .filter(|p| !matches!(p, Protocol::P2p(_)))
        .collect()
}

/// The address with `/p2p/PEER` at its end, unless it ends in one already
/// (as a circuit address does).
fn with_peer(addr: &Multiaddr, me: PeerId) -> Multiaddr {
    match addr.iter().last() {
        Some(Protocol::P2p(_)) => addr.clone(),
        _ => addr.clone().with(Protocol::P2p(me)),
    }
}

fn peer_of(addr: &Multiaddr) -> Option<PeerId> {
    addr.iter().find_map(|p| match p {
        Protocol::P2p(id) => Some(id),
        _ => None,
    })
}

#[derive(Default)]
struct Report {
    stored: u64,
    refused: u64,
    invalid: Option<String>,
}

impl<B: Backend + Send + 'static> Driver<B> {
    async fn run(&mut self, mut rx: mpsc::Receiver<Command>) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(Command::Shutdown(done)) => {
                        self.flush_index();
                        let _ = done.send(());
                        return;
                    }
                    Some(cmd) => self.command(cmd),
                    None => {
                        self.flush_index();
                        return;
                    }
                },
                ev = self.swarm.select_next_some() => self.swarm_event(ev),
                _ = tick.tick() => self.timers(),
            }
        }
    }

    fn replica(&self) -> MutexGuard<'_, Replica<B>> {
        // A panic while holding the lock leaves the replica as sled left it:
        // every write is atomic, so the data is still consistent.
        self.replica.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn emit(&self, e: Event) {
        let _ = self.events.send(e);
    }

    fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Announce(records) => {
                for r in records {
                    let payload = match self.cfg.gossip {
                        Gossip::Full => r,
                        Gossip::Announce => match setu_core::record::parse(r.clone()) {
                            Ok(p) => Announcement {
                                id: p.id().0,
                                ts: p.envelope().ts,
                                size: r.len() as u64,
                            }
                            .encode(),
                            Err(e) => {
                                tracing::warn!("not announcing an invalid record: {e}");
                                continue;
                            }
                        },
                    };
                    match self
                        .swarm
                        .behaviour_mut()
                        .gossipsub
                        .publish(self.topic.clone(), payload)
                    {
                        Ok(_) => self.counters.gossip_published += 1,
                        Err(gossipsub::PublishError::Duplicate) => {}
                        // No subscribed peer yet (a new connection whose
                        // subscription has not arrived): reconcile with the
                        // peers there are, soon.
                        Err(e) => {
                            tracing::debug!("gossip publish: {e}");
                            for p in self.peers.values_mut() {
                                p.pass_on = true;
                            }
                        }
                    }
                }
            }
            Command::SyncNow => {
                let peers: Vec<PeerId> = self.peers.keys().copied().collect();
                for p in peers {
                    self.start_sync(p, false);
                }
            }
            Command::Dial(addr, reply) => {
                let r = self.swarm.dial(addr.clone()).map_err(|e| Error::Dial {
                    addr: addr.to_string(),
                    reason: e.to_string(),
                });
                if r.is_ok() {
                    self.add_redial(addr, false);
                }
                let _ = reply.send(r);
            }
            Command::Peers(reply) => {
                let mut out: Vec<PeerInfo> = self
                    .peers
                    .iter()
                    .map(|(id, p)| PeerInfo {
                        peer_id: id.to_string(),
                        addresses: p.addrs.iter().map(ToString::to_string).collect(),
                        agent: p.agent.clone(),
                        relayed: p.relayed,
                    })
                    .collect();
                out.sort_by(|a, b| a.peer_id.cmp(&b.peer_id));
                let _ = reply.send(out);
            }
            Command::Status(reply) => {
                let me = *self.swarm.local_peer_id();
                let _ = reply.send(NetStatus {
                    peer_id: me.to_string(),
                    network: self.cfg.network.clone(),
                    listen: self
                        .listening
                        .iter()
                        .map(|a| with_peer(a, me).to_string())
                        .collect(),
                    peers: self.peers.len(),
                    reachability: self.reach.reachability,
                    kad_mode: self.kad_mode(),
                    external: self
                        .swarm
                        .external_addresses()
                        .map(|a| with_peer(a, me).to_string())
                        .collect(),
                    relays: self.reach.reserved(),
                    counters: {
                        let (wire_in, wire_out) = self.meter.read();
                        Counters {
                            wire_in,
                            wire_out,
                            ..self.counters
                        }
                    },
                });
            }
            Command::Shutdown(_) => {}
        }
    }

    fn add_redial(&mut self, addr: Multiaddr, dial_now: bool) {
        if self.redial.len() >= MAX_REDIAL_TARGETS && !self.redial.contains_key(&addr) {
            return;
        }
        let now = Instant::now();
        self.redial.entry(addr).or_insert(Redial {
            delay: REDIAL_MIN,
            next_at: if dial_now { now } else { now + REDIAL_MIN },
            peer: None,
        });
    }

    fn timers(&mut self) {
        let now = Instant::now();
        let late: Vec<Id> = self
            .fetching
            .iter()
            .filter(|(_, (_, _, at))| now.duration_since(*at) >= FETCH_TIMEOUT)
            .map(|(id, _)| *id)
            .collect();
        self.fetch_failed(late, None);
        self.reach_timers(now);
        // Redial known addresses that are not connected.
        let due: Vec<Multiaddr> = self
            .redial
            .iter()
            .filter(|(_, r)| r.next_at <= now)
            .filter(|(_, r)| {
                r.peer
                    .is_none_or(|p| !self.swarm.is_connected(&p) && !self.banned.contains_key(&p))
            })
            .map(|(a, _)| a.clone())
            .collect();
        for addr in due {
            if let Some(r) = self.redial.get_mut(&addr) {
                r.next_at = now + r.delay;
                r.delay = (r.delay * 2).min(REDIAL_MAX);
            }
            if let Err(e) = self.swarm.dial(addr.clone()) {
                tracing::debug!("dial {addr}: {e}");
            }
        }
        // Periodic sync with every connected peer.
        let interval = self.cfg.sync_interval;
        let due: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, p)| {
                p.last_sync.is_none_or(|t| {
                    let since = now.duration_since(t);
                    since >= interval || (p.pass_on && since >= PASS_ON_DELAY)
                })
            })
            .map(|(id, _)| *id)
            .collect();
        for p in due {
            self.start_sync(p, false);
        }
        self.inbound
            .retain(|_, s| now.duration_since(s.touched) < SESSION_TTL);
        let unban: Vec<PeerId> = self
            .banned
            .iter()
            .filter(|(_, t)| now.duration_since(**t) >= BAN_DURATION)
            .map(|(p, _)| *p)
            .collect();
        for p in unban {
            self.banned.remove(&p);
            let b = self.swarm.behaviour_mut();
            b.blocked.unblock_peer(p);
            b.gossipsub.set_application_score(&p, 0.0);
        }
        if self.index_dirty && now.duration_since(self.last_flush) >= INDEX_FLUSH_INTERVAL {
            self.flush_index();
        }
    }

    fn flush_index(&mut self) {
        if !self.index_dirty {
            return;
        }
        let flushed = self.replica().flush_index();
        if let Err(e) = flushed {
            // Still behind: stays dirty, so the next interval retries (the
            // replica logs the failure once, and `status` shows it).
            tracing::debug!("index flush: {e}");
            self.last_flush = Instant::now();
            return;
        }
        self.index_dirty = false;
        self.last_flush = Instant::now();
    }

    fn record_count(&self) -> u64 {
        self.replica()
            .store()
            .meta()
            .map(|m| m.records)
            .unwrap_or(0)
    }

    fn load(&self, id: &Id) -> Option<Vec<u8>> {
        self.replica().store().get(&RecordId(*id)).ok().flatten()
    }

    fn punish(&mut self, peer: PeerId, reason: String) {
        if self.banned.contains_key(&peer) {
            return;
        }
        tracing::warn!(%peer, "banning peer: {reason}");
        self.counters.peers_banned += 1;
        let b = self.swarm.behaviour_mut();
        b.gossipsub.set_application_score(&peer, BAD_PEER_SCORE);
        b.blocked.block_peer(peer);
        let _ = self.swarm.disconnect_peer_id(peer);
        self.banned.insert(peer, Instant::now());
        self.forget(&peer);
        self.emit(Event::PeerBanned { peer, reason });
    }

    fn forget(&mut self, peer: &PeerId) {
        let now = Instant::now();
        self.no_bulk.retain(|_, t| *t > now);
        if let Some(Out::Reconcile { .. } | Out::Bulk { .. }) = self.out.remove(peer) {
            self.counters.sessions_failed += 1;
        }
        self.gives.remove(peer);
        self.inflight.remove(peer);
        self.inbound.retain(|(p, _), _| p != peer);
    }

    /// Admits, checks and stores records from a peer.
    fn ingest(&mut self, peer: PeerId, records: Vec<Vec<u8>>, via: Via) -> Report {
        let mut rep = Report::default();
        let now = now_ms();
        let mut admitted = Vec::with_capacity(records.len());
        let mut charged: Vec<Option<(setu_core::ids::AuthorKey, usize)>> =
            Vec::with_capacity(records.len());
        for r in records {
            if self.admission.is_active() {
                match setu_core::record::parse(r.clone()) {
                    Ok(p) => {
                        let author = p.envelope().author;
                        if let Err(e) = self.admission.check(&author, r.len(), now) {
                            tracing::debug!(%peer, "refused: {e}");
                            self.counters.refused_admission += 1;
                            rep.refused += 1;
                            continue;
                        }
                        // Charged now, so one batch cannot overrun the quota;
                        // refunded below if not stored.
                        self.admission.charge(&author, r.len(), now);
                        charged.push(Some((author, r.len())));
                    }
                    Err(e) => {
                        self.counters.refused_invalid += 1;
                        rep.refused += 1;
                        rep.invalid = Some(format!("invalid record: {e}"));
                        continue;
                    }
                }
            } else {
                charged.push(None);
            }
            admitted.push(r);
        }
        if admitted.is_empty() {
            return rep;
        }
        let n = admitted.len();
        let result = {
            let mut replica = self.replica();
            let before = replica.store().meta().map(|m| m.change);
            let result = replica.ingest(admitted, now);
            let after = replica.store().meta().map(|m| m.change);
            drop(replica);
            if let (Ok(before), Ok(after), Ok(done)) = (before, after, &result) {
                self.items.note_stored(before, after, &done.stored);
            }
            result
        };
        let ingested = match result {
            Ok(i) => i,
            Err(e) => {
                tracing::error!("store: {e}");
                rep.refused += n as u64;
                return rep;
            }
        };
        for (o, c) in ingested.outcomes.into_iter().zip(charged) {
            if !o.is_stored()
                && let Some((author, len)) = c
            {
                self.admission.refund(&author, len);
            }
            match o {
                Outcome::Stored { id, .. } => {
                    rep.stored += 1;
                    self.index_dirty = true;
                    match via {
                        Via::Gossip => self.counters.via_gossip += 1,
                        Via::Sync => self.counters.via_sync += 1,
                        Via::Bulk => self.counters.via_bulk += 1,
                    }
                    self.emit(Event::RecordReceived { id, via, peer });
                }
                Outcome::Duplicate(_) => {}
                Outcome::Refused { why, .. } => {
                    rep.refused += 1;
                    match &why {
                        Refusal::Invalid(e) => {
                            self.counters.refused_invalid += 1;
                            rep.invalid = Some(format!("invalid record: {e}"));
                        }
                        Refusal::Future { .. } => self.counters.refused_future += 1,
                        _ => self.counters.refused_other += 1,
                    }
                }
            }
        }
        if rep.stored > 0 && via != Via::Gossip {
            // Gossip spreads what came by gossip; what came by sync is
            // passed on by reconciling with the other peers soon.
            for (other, p) in self.peers.iter_mut() {
                if *other != peer {
                    p.pass_on = true;
                }
            }
        }
        rep
    }

    fn send(&mut self, peer: PeerId, req: Request, kind: Pending) {
        let id = self
            .swarm
            .behaviour_mut()
            .sync
            .send_request(&peer, req.encode());
        self.pending.insert(id, (peer, kind));
    }

    fn start_sync(&mut self, peer: PeerId, after_bulk: bool) {
        if self.out.contains_key(&peer) || self.banned.contains_key(&peer) {
            return;
        }
        if let Some(p) = self.peers.get_mut(&peer) {
            p.last_sync = Some(Instant::now());
            p.pass_on = false;
        }
        // A store that cannot list its items would look empty and be sent
        // everything: wait for the next interval instead.
        let Some(items) = self.items() else {
            return;
        };
        let count = items.len() as u64;
        let (rec, msg) = Reconciler::initiate(items, self.sync_cfg);
        let session = self.next_session;
        self.next_session += 1;
        self.counters.sessions_started += 1;
        self.out.insert(
            peer,
            Out::Reconcile {
                session,
                rec,
                first: true,
                after_bulk,
                gave: 0,
            },
        );
        self.send(
            peer,
            Request::Sync {
                session,
                count,
                msg,
            },
            Pending::Session,
        );
    }

    fn end_session(&mut self, peer: PeerId, ok: bool) {
        let gave = match self.out.remove(&peer) {
            Some(Out::Reconcile { gave, .. }) => gave,
            _ => 0,
        };
        if ok {
            self.counters.sessions_done += 1;
        } else {
            self.counters.sessions_failed += 1;
        }
        self.emit(Event::SyncDone { peer, ok, gave });
    }

    fn queue_gives(&mut self, peer: PeerId, ids: Vec<Id>) {
        let q = self.gives.entry(peer).or_default();
        for id in ids {
            if q.len() >= MAX_PENDING_GIVES {
                break;
            }
            q.push_back(id);
        }
        self.pump(peer);
    }

    /// Sends pushes to `peer` while under the in-flight cap.
    fn pump(&mut self, peer: PeerId) {
        while self.inflight.get(&peer).copied().unwrap_or(0) < MAX_PUSH_INFLIGHT {
            let mut batch = Vec::new();
            let mut bytes = 0;
            while batch.len() < MAX_PUSH_RECORDS && bytes < MAX_PUSH_BYTES {
                let Some(id) = self.gives.get_mut(&peer).and_then(|q| q.pop_front()) else {
                    break;
                };
                if let Some(r) = self.load(&id) {
                    bytes += r.len();
                    batch.push(r);
                }
            }
            if batch.is_empty() {
                return;
            }
            self.counters.records_pushed += batch.len() as u64;
            *self.inflight.entry(peer).or_default() += 1;
            self.send(peer, Request::Push(batch), Pending::Push);
        }
    }

    fn allow_request(&mut self, peer: &PeerId) -> bool {
        let Some(p) = self.peers.get_mut(peer) else {
            return true;
        };
        let now = Instant::now();
        let dt = now.duration_since(p.refilled).as_secs_f64();
        p.tokens = (p.tokens + dt * PEER_REQUESTS_PER_SEC).min(PEER_REQUEST_BURST);
        p.refilled = now;
        if p.tokens >= 1.0 {
            p.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    fn respond(&mut self, channel: ResponseChannel<Vec<u8>>, resp: Response) {
        if self
            .swarm
            .behaviour_mut()
            .sync
            .send_response(channel, resp.encode())
            .is_err()
        {
            tracing::debug!("response dropped: connection closed");
        }
    }

    fn refuse(&mut self, channel: ResponseChannel<Vec<u8>>, code: RefusalCode, reason: String) {
        self.respond(channel, Response::Refused { code, reason });
    }

    fn on_request(&mut self, peer: PeerId, bytes: Vec<u8>, channel: ResponseChannel<Vec<u8>>) {
        if !self.allow_request(&peer) {
            self.counters.requests_refused += 1;
            return self.refuse(channel, RefusalCode::Busy, "rate limit".into());
        }
        let req = match Request::decode(&bytes) {
            Ok(r) => r,
            Err(e) => {
                self.refuse(channel, RefusalCode::Malformed, e.to_string());
                return self.punish(peer, format!("malformed request: {e}"));
            }
        };
        match req {
            Request::Sync {
                session,
                count: theirs,
                msg,
            } => {
                // A peer that holds far fewer items will switch to bulk mode
                // after this reply and reconcile again afterwards: pushing
                // what it lacks now would send everything twice.
                let bulk_expected = theirs.saturating_mul(BULK_RATIO) < self.record_count();
                let key = (peer, session);
                if !self.inbound.contains_key(&key) {
                    let mine: Vec<((PeerId, u64), Instant)> = self
                        .inbound
                        .iter()
                        .filter(|((p, _), _)| *p == peer)
                        .map(|(k, s)| (*k, s.touched))
                        .collect();
                    if mine.len() >= MAX_IN_SESSIONS_PER_PEER
                        && let Some((oldest, _)) = mine.iter().min_by_key(|(_, t)| *t)
                    {
                        // A peer's new session supersedes its stalest one
                        // (abandoned for bulk mode, or cut short).
                        self.inbound.remove(oldest);
                    }
                    if self.inbound.len() >= MAX_IN_SESSIONS {
                        self.counters.requests_refused += 1;
                        return self.refuse(
                            channel,
                            RefusalCode::Sessions,
                            "too many sessions".into(),
                        );
                    }
                    let Some(items) = self.items() else {
                        self.counters.requests_refused += 1;
                        return self.refuse(
                            channel,
                            RefusalCode::Internal,
                            "the store cannot list its records; try later".into(),
                        );
                    };
                    self.counters.sessions_answered += 1;
                    self.inbound.insert(
                        key,
                        Inbound {
                            rec: Reconciler::respond(items, self.sync_cfg),
                            touched: Instant::now(),
                        },
                    );
                }
                let Some(s) = self.inbound.get_mut(&key) else {
                    return;
                };
                s.touched = Instant::now();
                match s.rec.handle(&msg) {
                    Ok(step) => {
                        if step.done {
                            self.inbound.remove(&key);
                        }
                        let count = self.record_count();
                        let msg = step
                            .reply
                            .unwrap_or_else(|| vec![setu_sync::wire::VERSION, 0, 0]);
                        self.respond(channel, Response::Sync { count, msg });
                        if !bulk_expected {
                            self.queue_gives(peer, step.give);
                        }
                    }
                    Err(e) => {
                        self.inbound.remove(&key);
                        self.refuse(channel, RefusalCode::Malformed, e.to_string());
                        self.punish(peer, format!("bad sync message: {e}"));
                    }
                }
            }
            Request::Bulk(b) => match bulk::Request::decode(&b) {
                Ok(req) => {
                    // Only the items from the request's bound on, one more
                    // than a batch can hold: a bulk request costs O(batch).
                    let limit = req.max_items.min(bulk::MAX_ITEMS) as usize + 1;
                    let items = self.items_from(&req.after, limit);
                    let replica = self.replica();
                    let batch = bulk::serve(&items, &req, &mut |id| {
                        replica.store().get(&RecordId(*id)).ok().flatten()
                    });
                    drop(replica);
                    self.respond(channel, Response::Bulk(batch.encode()));
                }
                Err(e) => {
                    self.refuse(channel, RefusalCode::Malformed, e.to_string());
                    self.punish(peer, format!("bad bulk request: {e}"));
                }
            },
            Request::Fetch(ids) => {
                let mut records = Vec::new();
                let mut bytes = 0;
                for id in ids.iter().take(MAX_FETCH_IDS) {
                    if let Some(r) = self.load(id) {
                        if bytes + r.len() > MAX_FETCH_ANSWER_BYTES {
                            break;
                        }
                        bytes += r.len();
                        records.push(r);
                    }
                }
                self.respond(channel, Response::Records(records));
            }
            Request::Push(records) => {
                let rep = self.ingest(peer, records, Via::Sync);
                self.respond(
                    channel,
                    Response::PushAck {
                        stored: rep.stored,
                        refused: rep.refused,
                    },
                );
                if let Some(why) = rep.invalid {
                    self.punish(peer, why);
                }
            }
        }
    }

    fn on_response(&mut self, peer: PeerId, id: OutboundRequestId, bytes: Vec<u8>) {
        let Some((_, kind)) = self.pending.remove(&id) else {
            return;
        };
        let resp = match Response::decode(&bytes) {
            Ok(r) => r,
            Err(e) => {
                match kind {
                    Pending::Push => self.push_done(peer),
                    Pending::Fetch(ids) => self.fetch_failed(ids, Some(peer)),
                    Pending::Refetch(ids) => self.refetch_done(&ids),
                    Pending::Session => {}
                }
                return self.punish(peer, format!("malformed response: {e}"));
            }
        };
        match (kind, resp) {
            (Pending::Fetch(ids), Response::Records(records)) => {
                self.on_fetched(peer, ids, records)
            }
            (Pending::Fetch(ids), _) => self.fetch_failed(ids, Some(peer)),
            (Pending::Refetch(ids), Response::Records(records)) => {
                self.on_refetched(peer, ids, records)
            }
            (Pending::Refetch(ids), _) => self.refetch_done(&ids),
            (Pending::Push, Response::PushAck { .. }) => self.push_done(peer),
            (Pending::Push, _) => self.push_done(peer),
            (Pending::Session, Response::Sync { count: theirs, msg }) => {
                self.on_sync_reply(peer, theirs, msg)
            }
            (Pending::Session, Response::Bulk(b)) => self.on_bulk(peer, b),
            (Pending::Session, Response::Refused { code, reason }) => {
                tracing::debug!(%peer, ?code, "sync refused: {reason}");
                self.end_session(peer, false);
            }
            (Pending::Session, other) => {
                self.end_session(peer, false);
                self.punish(peer, format!("unexpected response {other:?}"));
            }
        }
    }

    fn push_done(&mut self, peer: PeerId) {
        if let Some(n) = self.inflight.get_mut(&peer) {
            *n = n.saturating_sub(1);
        }
        self.pump(peer);
    }

    fn on_sync_reply(&mut self, peer: PeerId, theirs: u64, msg: Vec<u8>) {
        let mine = self.record_count();
        let Some(Out::Reconcile {
            session,
            rec,
            first,
            after_bulk,
            gave,
        }) = self.out.get_mut(&peer)
        else {
            self.end_session(peer, false);
            return self.punish(peer, "a sync reply to a bulk request".into());
        };
        let session = *session;
        let cooling = self.no_bulk.get(&peer).is_some_and(|t| Instant::now() < *t);
        if *first && !*after_bulk && !cooling && mine.saturating_mul(BULK_RATIO) < theirs {
            // Far behind: stream everything, then reconcile once more.
            let (puller, req) = Puller::start(BULK_ITEMS, BULK_BYTES);
            self.out.insert(
                peer,
                Out::Bulk {
                    puller,
                    received: 0,
                    stored: 0,
                },
            );
            self.send(peer, Request::Bulk(req), Pending::Session);
            return;
        }
        *first = false;
        match rec.handle(&msg) {
            Ok(step) => {
                *gave += step.give.len() as u64;
                self.queue_gives(peer, step.give);
                match step.reply {
                    Some(reply) if !step.done => {
                        let count = self.record_count();
                        self.send(
                            peer,
                            Request::Sync {
                                session,
                                count,
                                msg: reply,
                            },
                            Pending::Session,
                        );
                    }
                    _ => self.end_session(peer, true),
                }
            }
            Err(e) => {
                self.end_session(peer, false);
                self.punish(peer, format!("bad sync reply: {e}"));
            }
        }
    }

    fn on_bulk(&mut self, peer: PeerId, batch: Vec<u8>) {
        let Some(Out::Bulk {
            puller, received, ..
        }) = self.out.get_mut(&peer)
        else {
            self.end_session(peer, false);
            return self.punish(peer, "a bulk batch in reply to a sync request".into());
        };
        match puller.handle(&batch) {
            Ok(records) => {
                let next = puller.next_request();
                *received += records.len() as u64;
                let rep = self.ingest(peer, records, Via::Bulk);
                if let Some(Out::Bulk { stored, .. }) = self.out.get_mut(&peer) {
                    *stored += rep.stored;
                }
                if let Some(why) = rep.invalid {
                    self.end_session(peer, false);
                    return self.punish(peer, why);
                }
                match next {
                    Some(req) => self.send(peer, Request::Bulk(req), Pending::Session),
                    None => {
                        self.counters.bulk_done += 1;
                        // Mostly refused (an allow-list or quota here):
                        // streaming everything again would be waste.
                        if let Some(Out::Bulk {
                            received, stored, ..
                        }) = self.out.remove(&peer)
                            && stored.saturating_mul(2) < received
                        {
                            self.no_bulk.insert(peer, Instant::now() + BULK_COOLDOWN);
                        }
                        self.start_sync(peer, true);
                    }
                }
            }
            Err(e) => {
                self.end_session(peer, false);
                self.punish(peer, format!("bad bulk batch: {e}"));
            }
        }
    }

    fn verdict(&mut self, msg: &gossipsub::MessageId, source: &PeerId, v: MessageAcceptance) {
        self.swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(msg, source, v);
    }

    /// An announcement: fetch the body from the announcer unless we hold it;
    /// the announcement is forwarded only once the body is stored.
    fn on_announcement(&mut self, source: PeerId, msg: gossipsub::MessageId, data: &[u8]) {
        let a = match Announcement::decode(data) {
            Ok(a) => a,
            Err(e) => {
                self.verdict(&msg, &source, MessageAcceptance::Reject);
                return self.punish(source, format!("malformed announcement: {e}"));
            }
        };
        self.counters.announcements += 1;
        let held = self
            .replica()
            .store()
            .contains(&RecordId(a.id))
            .unwrap_or(false);
        if held || self.fetching.contains_key(&a.id) || self.fetching.len() >= MAX_PENDING_FETCHES {
            return self.verdict(&msg, &source, MessageAcceptance::Ignore);
        }
        self.fetching.insert(a.id, (msg, source, Instant::now()));
        self.send(
            source,
            Request::Fetch(vec![a.id]),
            Pending::Fetch(vec![a.id]),
        );
    }

    /// Ignores the announcements of `ids` whose fetch failed, and asks
    /// another peer for each (§7.2). With `from`, only fetches sent to that
    /// peer (a later announcer's may be pending).
    fn fetch_failed(&mut self, ids: Vec<Id>, from: Option<PeerId>) {
        for id in ids {
            let ours = self
                .fetching
                .get(&id)
                .is_some_and(|(_, src, _)| from.is_none_or(|f| f == *src));
            if ours && let Some((msg, source, _)) = self.fetching.remove(&id) {
                self.verdict(&msg, &source, MessageAcceptance::Ignore);
                self.refetch(id, source);
            }
        }
    }

    /// Asks one other peer for a record whose fetch from its announcer
    /// failed: gossipsub hands over only the first copy of an announcement,
    /// so no other announcer is known. A peer of the topic's mesh is asked
    /// first (it is the likeliest to hold the body), else any connected
    /// peer. Once only: if that fails too, reconciliation delivers it.
    fn refetch(&mut self, id: Id, announcer: PeerId) {
        if self.refetching.contains_key(&id)
            || self.refetching.len() >= MAX_PENDING_REFETCHES
            || self.banned.contains_key(&announcer)
            || self
                .replica()
                .store()
                .contains(&RecordId(id))
                .unwrap_or(true)
        {
            return;
        }
        let usable = |p: &PeerId| *p != announcer && !self.banned.contains_key(p);
        let hash = self.topic.hash();
        let mut mesh: Vec<PeerId> = self
            .swarm
            .behaviour()
            .gossipsub
            .mesh_peers(&hash)
            .filter(|p| usable(p))
            .copied()
            .collect();
        mesh.sort();
        let mut others: Vec<PeerId> = self.peers.keys().filter(|p| usable(p)).copied().collect();
        others.sort();
        let Some(peer) = mesh.into_iter().chain(others).next() else {
            return;
        };
        self.refetching.insert(id, peer);
        self.counters.refetches += 1;
        self.send(peer, Request::Fetch(vec![id]), Pending::Refetch(vec![id]));
    }

    /// A second fetch ended without the record: reconciliation delivers it.
    fn refetch_done(&mut self, ids: &[Id]) {
        for id in ids {
            self.refetching.remove(id);
        }
    }

    /// The answer to a second fetch: stored like any record, and then
    /// passed on by reconciliation, since its announcement was not forwarded.
    fn on_refetched(&mut self, peer: PeerId, ids: Vec<Id>, records: Vec<Vec<u8>>) {
        self.refetch_done(&ids);
        self.counters.fetched += records.len() as u64;
        let rep = self.ingest(peer, records, Via::Gossip);
        if rep.stored > 0 {
            for (other, p) in self.peers.iter_mut() {
                if *other != peer {
                    p.pass_on = true;
                }
            }
        }
        if let Some(why) = rep.invalid {
            self.punish(peer, format!("fetched {why}"));
        }
    }

    fn on_fetched(&mut self, peer: PeerId, ids: Vec<Id>, records: Vec<Vec<u8>>) {
        self.counters.fetched += records.len() as u64;
        let rep = self.ingest(peer, records, Via::Gossip);
        let invalid = rep.invalid.is_some();
        let held: HashSet<Id> = {
            let replica = self.replica();
            ids.iter()
                .filter(|id| replica.store().contains(&RecordId(**id)).unwrap_or(false))
                .copied()
                .collect()
        };
        for id in ids {
            // Only the announcement this answer was fetched for.
            if self
                .fetching
                .get(&id)
                .is_none_or(|(_, src, _)| *src != peer)
            {
                continue;
            }
            if let Some((msg, source, _)) = self.fetching.remove(&id) {
                let v = if held.contains(&id) {
                    MessageAcceptance::Accept
                } else if invalid {
                    MessageAcceptance::Reject
                } else {
                    MessageAcceptance::Ignore
                };
                self.verdict(&msg, &source, v);
            }
        }
        if let Some(why) = rep.invalid {
            self.punish(peer, format!("fetched {why}"));
        }
    }

    fn on_gossip(&mut self, source: PeerId, id: gossipsub::MessageId, data: Vec<u8>) {
        if self.cfg.gossip == Gossip::Announce {
            return self.on_announcement(source, id, &data);
        }
        let rep = self.ingest(source, vec![data], Via::Gossip);
        let verdict = if rep.invalid.is_some() {
            MessageAcceptance::Reject
        } else if rep.stored > 0 {
            MessageAcceptance::Accept
        } else {
            MessageAcceptance::Ignore
        };
        self.swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(&id, &source, verdict);
        if let Some(why) = rep.invalid {
            self.punish(source, format!("gossiped {why}"));
        }
    }

    fn swarm_event(&mut self, ev: SwarmEvent<BehaviourEvent>) {
        match ev {
            SwarmEvent::NewListenAddr { address, .. } if !self.listening.contains(&address) => {
                self.listening.push(address);
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                endpoint,
                num_established,
                ..
            } => {
                let remote = endpoint.get_remote_address().clone();
                let relayed = reach::is_relayed(&remote)
                    || matches!(&endpoint, ConnectedPoint::Listener { local_addr, .. }
                        if reach::is_relayed(local_addr));
                if !relayed && let Some(p) = self.peers.get_mut(&peer_id) {
                    // A direct connection beside a relayed one: hole
                    // punching worked.
                    p.relayed = false;
                }
                if endpoint.is_dialer() {
                    let bare = without_p2p(&remote);
                    for (addr, r) in self.redial.iter_mut() {
                        if without_p2p(addr) == bare && peer_of(addr).is_none_or(|p| p == peer_id) {
                            r.peer = Some(peer_id);
                        }
                    }
                }
                if num_established.get() == 1 {
                    self.peers.insert(
                        peer_id,
                        Peer {
                            agent: None,
                            dialed: endpoint.is_dialer(),
                            addrs: vec![remote],
                            last_sync: None,
                            pass_on: false,
                            relayed,
                            tokens: PEER_REQUEST_BURST,
                            refilled: Instant::now(),
                        },
                    );
                    self.emit(Event::PeerConnected(peer_id));
                    // The dialer syncs on a new connection; the timer covers
                    // the other side.
                    if endpoint.is_dialer() {
                        self.start_sync(peer_id, false);
                    } else if let Some(p) = self.peers.get_mut(&peer_id) {
                        p.last_sync = Some(Instant::now());
                    }
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                self.peers.remove(&peer_id);
                self.forget(&peer_id);
                let gone: Vec<OutboundRequestId> = self
                    .pending
                    .iter()
                    .filter(|(_, (p, _))| *p == peer_id)
                    .map(|(id, _)| *id)
                    .collect();
                for id in gone {
                    match self.pending.remove(&id) {
                        Some((_, Pending::Fetch(ids))) => self.fetch_failed(ids, Some(peer_id)),
                        Some((_, Pending::Refetch(ids))) => self.refetch_done(&ids),
                        _ => {}
                    }
                }
                let now = Instant::now();
                for r in self.redial.values_mut() {
                    if r.peer == Some(peer_id) {
                        r.next_at = now + r.delay;
                    }
                }
                self.emit(Event::PeerDisconnected(peer_id));
            }
            SwarmEvent::Behaviour(b) => self.behaviour_event(b),
            SwarmEvent::ListenerClosed {
                listener_id,
                addresses,
                reason,
            } => self.listener_closed(listener_id, &addresses, reason.as_ref().map(|_| ())),
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                self.listening.retain(|a| *a != address);
            }
            SwarmEvent::ExternalAddrConfirmed { address } => {
                tracing::info!("reachable at {address}");
            }
            _ => {}
        }
    }

    fn behaviour_event(&mut self, ev: BehaviourEvent) {
        match ev {
            BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            }) => self.on_gossip(propagation_source, message_id, message.data),
            BehaviourEvent::Sync(request_response::Event::Message { peer, message, .. }) => {
                match message {
                    request_response::Message::Request {
                        request, channel, ..
                    } => self.on_request(peer, request, channel),
                    request_response::Message::Response {
                        request_id,
                        response,
                    } => self.on_response(peer, request_id, response),
                }
            }
            BehaviourEvent::Sync(request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            }) => {
                tracing::debug!(%peer, "request failed: {error}");
                match self.pending.remove(&request_id) {
                    Some((_, Pending::Push)) => self.push_done(peer),
                    Some((_, Pending::Fetch(ids))) => self.fetch_failed(ids, Some(peer)),
                    Some((_, Pending::Refetch(ids))) => self.refetch_done(&ids),
                    Some((_, Pending::Session)) => self.end_session(peer, false),
                    None => {}
                }
            }
            BehaviourEvent::Sync(request_response::Event::InboundFailure {
                peer, error, ..
            }) => {
                if let request_response::InboundFailure::Io(e) = &error
                    && e.kind() == std::io::ErrorKind::InvalidData
                {
                    self.punish(peer, format!("bad frame: {e}"));
                }
            }
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }) => {
                if info.protocol_version != self.cfg.identify_protocol() {
                    tracing::info!(%peer_id, "other network ({}); disconnecting", info.protocol_version);
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                    return;
                }
                self.kad_learn(peer_id, &info);
                // Same network: the connection is good, so redial promptly
                // if it drops.
                for r in self.redial.values_mut() {
                    if r.peer == Some(peer_id) {
                        r.delay = REDIAL_MIN;
                    }
                }
                if let Some(p) = self.peers.get_mut(&peer_id) {
                    p.agent = Some(info.agent_version.chars().take(64).collect());
                    // For a connection the peer made, our side of it shows
                    // an ephemeral port: the addresses it listens on come
                    // first, so they are what gets redialled.
                    let mut listen: Vec<Multiaddr> = info
                        .listen_addrs
                        .into_iter()
                        .filter(|a| !p.addrs.contains(a))
                        .take(MAX_PEER_ADDRS)
                        .collect();
                    if p.dialed {
                        p.addrs.append(&mut listen);
                    } else {
                        listen.append(&mut p.addrs);
                        p.addrs = listen;
                    }
                    p.addrs.truncate(MAX_PEER_ADDRS);
                }
            }
            BehaviourEvent::RelayClient(e) => self.relay_client_event(e),
            BehaviourEvent::Relay(e) => self.relay_server_event(e),
            BehaviourEvent::Dcutr(e) => self.dcutr_event(e),
            BehaviourEvent::Autonat(e) => self.autonat_event(e),
            BehaviourEvent::Kad(e) => self.kad_event(e),
            BehaviourEvent::Mdns(mdns::Event::Discovered(list)) => {
                let me = *self.swarm.local_peer_id();
                let mut seen = HashSet::new();
                for (peer, addr) in list {
                    if peer == me || self.banned.contains_key(&peer) || !seen.insert(peer) {
                        continue;
                    }
                    let addr = addr.with(Protocol::P2p(peer));
                    self.add_redial(addr.clone(), false);
                    if !self.swarm.is_connected(&peer) {
                        let _ = self.swarm.dial(addr);
                    }
                }
            }
            _ => {}
        }
    }
}
