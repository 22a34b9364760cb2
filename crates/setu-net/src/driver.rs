//! The driver: one tokio task owns the swarm, maps its events onto inputs
//! of the node's state machine ([`setu_proto::state::State`]), and the
//! state's outputs back onto swarm calls and store jobs
//! ([`spec/net.md`](../../../spec/net.md)). It decides nothing about what
//! to store, relay, fetch or ban: the state does.
//!
//! A [`Handle`] talks to the task over a bounded queue; events go out on a
//! bounded broadcast channel (a subscriber that lags loses the oldest).
//! Store operations go to the store's [`Owner`] thread without waiting; a
//! full queue comes back to the state as "busy".

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::core::ConnectedPoint;
use libp2p::gossipsub::{self, MessageAcceptance};
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, OutboundRequestId, ResponseChannel};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, Swarm, identify, identity, mdns};
use serde::{Deserialize, Serialize};
use setu_proto::state::{self, Acceptance, Command as StateCommand, Input, Output, State, Target};
use setu_proto::store::Done;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::Error;
use crate::behaviour::{self, BAD_PEER_SCORE, Behaviour, BehaviourEvent};
use crate::config::Config;
use crate::owner::Owner;

pub use setu_proto::state::Via;

/// Something that happened on the network.
pub type Event = state::Event<PeerId>;

/// What the driver needs of the store it drives: the protocol's store,
/// owned by a thread of its own.
pub trait Storage: setu_proto::store::Store + Send + 'static {}
impl<T: setu_proto::store::Store + Send + 'static> Storage for T {}

/// Capacity of the command queue from handles to the driver.
pub const COMMAND_QUEUE: usize = 64;
/// Capacity of the event broadcast channel.
pub const EVENT_CAPACITY: usize = 4096;
/// How often timers are checked.
pub const TICK: Duration = Duration::from_millis(100);
/// Most gossip messages awaiting the state's verdict; beyond it new ones
/// are ignored unseen (gossipsub forgets them after a few heartbeats).
pub const MAX_PENDING_VERDICTS: usize = 8192;
/// Most inbound requests awaiting the state's answer.
pub const MAX_OPEN_CHANNELS: usize = 4096;
/// Most addresses remembered per peer (from identify).
const MAX_PEER_ADDRS: usize = 8;
/// How long `start` waits for the listeners to come up.
const LISTEN_WAIT: Duration = Duration::from_secs(10);

/// Counters since the node started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Records stored from gossip.
    pub via_gossip: u64,
    /// Records stored from pushes after reconciliation.
    pub via_sync: u64,
    /// Records stored from bulk transfers.
    pub via_bulk: u64,
    /// Records refused as an offence (bad signature or encoding).
    pub refused_invalid: u64,
    /// Records refused by a rule a peer of another version may not share
    /// (schema, size, envelope): not an offence (`spec/versioning.md`).
    #[serde(default)]
    pub refused_rule: u64,
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
    /// Record ids offered to peers (protocol version 2).
    #[serde(default)]
    pub offered: u64,
    /// Offered ids this node wanted.
    #[serde(default)]
    pub wanted: u64,
    /// Record bodies received from peers (stored, duplicate or refused).
    #[serde(default)]
    pub bodies_received: u64,
    /// Bodies received of records already held.
    #[serde(default)]
    pub duplicates: u64,
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
    /// Peers this node closed its connections to because it dialled them
    /// without keeping them (a Kademlia lookup's; `spec/net.md` §3.3).
    #[serde(default)]
    pub peers_trimmed: u64,
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
    /// Lookups of an attachment's holders (provider records).
    #[serde(default)]
    pub provider_lookups: u64,
    /// Holders those lookups found (not banned, not this node).
    #[serde(default)]
    pub providers_found: u64,
    /// Of those, the ones not connected, dialled.
    #[serde(default)]
    pub providers_dialled: u64,
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
    /// Attachments this node announces in provider records (held whole).
    #[serde(default)]
    pub providing: usize,
    /// Of those, the ones no Kademlia server has taken a record of yet.
    #[serde(default)]
    pub providing_unheard: usize,
    /// Content hashes for which this node keeps other nodes' provider
    /// records (as a Kademlia server).
    #[serde(default)]
    pub provider_keys_kept: usize,
    /// Counters.
    pub counters: Counters,
    /// Substream payload bytes over TCP, both directions, by protocol
    /// (`transport::Meter::by_protocol`): which protocol the bytes of
    /// `counters.wire_in` and `wire_out` went to, framing aside.
    pub wire_by_protocol: std::collections::BTreeMap<String, u64>,
}

enum Command {
    Announce(Vec<Vec<u8>>),
    SyncNow,
    Dial(Multiaddr, oneshot::Sender<Result<(), Error>>),
    Peers(oneshot::Sender<Vec<PeerInfo>>),
    Status(oneshot::Sender<NetStatus>),
    Fetch(setu_blob::Hash, u64, blob::Waiter),
    Fetches(oneshot::Sender<Vec<FetchProgress>>),
    /// Stops a fetch (its content was denied): its callers hear why.
    StopFetch(setu_blob::Hash, String),
    /// The content folder changed (content added, collected or denied).
    ContentChanged,
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

    /// Fetches attachment `hash` of `size` bytes (the size its record
    /// states) from the peers that hold it, and returns once every block is
    /// verified and the content is complete; resumes what an earlier fetch
    /// verified.
    pub async fn fetch(&self, hash: setu_blob::Hash, size: u64) -> Result<(), Error> {
        self.ask(|tx| Command::Fetch(hash, size, tx))
            .await?
            .map_err(|f| match f {
                blob::FetchFailure::Failed(why) => Error::Blob(why),
                blob::FetchFailure::OtherSize(held) => Error::OtherSize { asked: size, held },
            })
    }

    /// Attachment fetches under way.
    pub async fn fetches(&self) -> Result<Vec<FetchProgress>, Error> {
        self.ask(Command::Fetches).await
    }

    /// Stops the fetch of `hash`, if one runs; its callers get `why`.
    pub async fn stop_fetch(&self, hash: setu_blob::Hash, why: &str) -> Result<(), Error> {
        self.tx
            .send(Command::StopFetch(hash, why.to_string()))
            .await
            .map_err(|_| Error::Stopped)
    }

    /// Tells the driver that the content folder changed (a file attached,
    /// content collected or denied), so that what it announces follows.
    pub async fn content_changed(&self) -> Result<(), Error> {
        self.tx
            .send(Command::ContentChanged)
            .await
            .map_err(|_| Error::Stopped)
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
/// listen address is bound. The store is reached through `store`, the
/// handle of the thread that owns it.
pub async fn start<S: Storage>(
    cfg: Config,
    key: identity::Keypair,
    store: Owner<S>,
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
    // Results of store jobs: at most MAX_STORE_OPS wait at once, so the
    // store thread never waits to hand one back.
    let (done_tx, done_rx) = mpsc::channel(state::MAX_STORE_OPS + 16);
    let (disk_tx, disk_rx) = mpsc::channel(blob::DISK_QUEUE);
    let content = match &cfg.content {
        Some(p) => {
            let dir = setu_blob::content::Dir::open(p).map_err(|e| Error::Blob(e.to_string()))?;
            dir.clean_tmp().map_err(|e| Error::Blob(e.to_string()))?;
            Some(dir)
        }
        None => None,
    };
    let blobs = blob::Blobs::new(content, cfg.blob_rate, disk_tx);
    let relays = cfg.relays.clone();
    let proto = setu_proto::state::Config {
        sync_interval_ms: cfg.sync_interval.as_millis() as u64,
        gossip: cfg.gossip,
        admission: cfg.admission.clone(),
        own,
        reconcile: Default::default(),
        pull: true,
        // Kademlia's lookups open connections of their own; without it a
        // node dials only what it was told to, and keeps it.
        trim: cfg.kademlia,
        seed: u64::from_le_bytes(
            peer_id.to_bytes()[peer_id.to_bytes().len() - 8..]
                .try_into()
                .unwrap_or([0; 8]),
        ),
    };
    let mut driver = Driver {
        topic: gossipsub::IdentTopic::new(cfg.topic()),
        state: State::new(proto),
        started: Instant::now(),
        cfg,
        swarm,
        store,
        done_tx,
        events: events.clone(),
        listening,
        counters: Counters::default(),
        peers: HashMap::new(),
        reqs: HashMap::new(),
        channels: HashMap::new(),
        next_channel: 1,
        msgs: HashMap::new(),
        next_msg: 1,
        meter,
        reach: reach::Reach::new(&relays),
        blobs,
        providing: provide::Providing::default(),
    };
    // The first input: the state asks its store for a snapshot at once.
    driver.input(Input::Tick);
    for addr in driver
        .cfg
        .bootstrap
        .iter()
        .chain(&driver.cfg.relays)
        .cloned()
        .collect::<Vec<_>>()
    {
        let target = target(addr);
        driver.input(Input::Command(StateCommand::Redial { target, now: true }));
    }
    let task = tokio::spawn(async move { driver.run(rx, done_rx, disk_rx).await });
    Ok((
        Handle {
            tx,
            events,
            peer_id,
        },
        task,
    ))
}

/// A connected peer, as `peers` shows it (nothing here decides anything).
#[derive(Debug)]
struct Peer {
    agent: Option<String>,
    addrs: Vec<Multiaddr>,
    /// Connected only through a relay.
    relayed: bool,
}

struct Driver<S: Storage> {
    cfg: Config,
    swarm: Swarm<Behaviour>,
    state: State<PeerId, Multiaddr>,
    started: Instant,
    store: Owner<S>,
    done_tx: mpsc::Sender<(u64, Done)>,
    topic: gossipsub::IdentTopic,
    events: broadcast::Sender<Event>,
    listening: Vec<Multiaddr>,
    /// Transport counters (the protocol's are the state's).
    counters: Counters,
    peers: HashMap<PeerId, Peer>,
    /// Our requests in flight: the state's number for each.
    reqs: HashMap<OutboundRequestId, (PeerId, u64)>,
    /// Requests awaiting the state's answer.
    channels: HashMap<u64, (PeerId, ResponseChannel<Vec<u8>>)>,
    next_channel: u64,
    /// Gossip messages awaiting the state's verdict.
    msgs: HashMap<u64, (gossipsub::MessageId, PeerId)>,
    next_msg: u64,
    meter: std::sync::Arc<crate::transport::Meter>,
    reach: reach::Reach,
    blobs: blob::Blobs,
    providing: provide::Providing,
}

mod blob;
pub use blob::{FetchFailure, FetchProgress, MAX_SERVING, MAX_SERVING_PER_PEER};
mod provide;
pub use provide::{
    MAX_ANNOUNCING, MAX_FOREIGN_KEYS, MAX_PROVIDED, MAX_PROVIDER_DIALS, PROVIDE_CHECK,
};
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

/// An address to keep dialling, as the state sees it.
fn target(addr: Multiaddr) -> Target<PeerId, Multiaddr> {
    Target {
        bare: without_p2p(&addr),
        named: peer_of(&addr),
        addr,
    }
}

impl<S: Storage> Driver<S> {
    async fn run(
        &mut self,
        mut rx: mpsc::Receiver<Command>,
        mut done_rx: mpsc::Receiver<(u64, Done)>,
        mut disk_rx: mpsc::Receiver<blob::Disk>,
    ) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(Command::Shutdown(done)) => {
                        let _ = done.send(());
                        return;
                    }
                    Some(cmd) => self.command(cmd),
                    None => return,
                },
                ev = self.swarm.select_next_some() => self.swarm_event(ev),
                Some((ticket, done)) = done_rx.recv() => {
                    self.input(Input::Done { ticket, done });
                }
                Some(disk) = disk_rx.recv() => self.blob_disk(disk),
                _ = tick.tick() => {
                    self.reach_timers(Instant::now());
                    self.input(Input::Tick);
                    self.blob_tick();
                    self.provide_timers(Instant::now(), false);
                }
            }
        }
    }

    fn now(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Hands an input to the state and carries out what it asks.
    fn input(&mut self, input: Input<PeerId, Multiaddr>) {
        let mut queue = VecDeque::from([input]);
        while let Some(input) = queue.pop_front() {
            let now = self.now();
            for out in self.state.handle(now, input) {
                if let Some(next) = self.output(out) {
                    queue.push_back(next);
                }
            }
        }
    }

    /// Carries out one output; returns what the state must hear of it at
    /// once, if anything.
    fn output(&mut self, out: Output<PeerId, Multiaddr>) -> Option<Input<PeerId, Multiaddr>> {
        match out {
            Output::Send { peer, req, bytes } => {
                let id = self.swarm.behaviour_mut().sync.send_request(&peer, bytes);
                self.reqs.insert(id, (peer, req));
            }
            Output::Respond { channel, bytes } => {
                if let Some((_, ch)) = self.channels.remove(&channel)
                    && self
                        .swarm
                        .behaviour_mut()
                        .sync
                        .send_response(ch, bytes)
                        .is_err()
                {
                    tracing::debug!("response dropped: connection closed");
                }
            }
            Output::Verdict { msg, acceptance } => {
                if let Some((id, source)) = self.msgs.remove(&msg) {
                    let v = match acceptance {
                        Acceptance::Accept => MessageAcceptance::Accept,
                        Acceptance::Ignore => MessageAcceptance::Ignore,
                        Acceptance::Reject => MessageAcceptance::Reject,
                    };
                    self.swarm
                        .behaviour_mut()
                        .gossipsub
                        .report_message_validation_result(&id, &source, v);
                }
            }
            Output::Publish(payload) => {
                match self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .publish(self.topic.clone(), payload)
                {
                    Ok(_) | Err(gossipsub::PublishError::Duplicate) => {}
                    Err(e) => {
                        tracing::debug!("gossip publish: {e}");
                        return Some(Input::PublishFailed);
                    }
                }
            }
            Output::Ban { peer, reason: _ } => {
                let b = self.swarm.behaviour_mut();
                b.gossipsub.set_application_score(&peer, BAD_PEER_SCORE);
                b.blocked.block_peer(peer);
                let _ = self.swarm.disconnect_peer_id(peer);
            }
            Output::Unban(peer) => {
                let b = self.swarm.behaviour_mut();
                b.blocked.unblock_peer(peer);
                b.gossipsub.set_application_score(&peer, 0.0);
            }
            Output::Close(peer) => {
                // A request of the peer's awaiting this node's answer (a
                // bulk batch, a fetch), or an attachment transfer, keeps
                // it; the state asks again later.
                let answering = self.channels.values().any(|(p, _)| *p == peer);
                if !answering
                    && !self.blob_busy_with(&peer)
                    && self.swarm.disconnect_peer_id(peer).is_ok()
                {
                    self.counters.peers_trimmed += 1;
                }
            }
            Output::Dial(addr) => {
                if let Err(e) = self.swarm.dial(addr.clone()) {
                    tracing::debug!("dial {addr}: {e}");
                }
            }
            Output::Store { ticket, op } => {
                let tx = self.done_tx.clone();
                let queued = self.store.try_run(move |s| {
                    let done = op.run(s, setu_core::clock::now_ms());
                    let _ = tx.blocking_send((ticket, done));
                });
                if let Err(e) = queued {
                    tracing::debug!("store: {e}");
                    return Some(Input::Done {
                        ticket,
                        done: Done::Busy,
                    });
                }
            }
            Output::Event(e) => {
                let _ = self.events.send(e);
            }
        }
        None
    }

    fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Announce(records) => {
                self.input(Input::Command(StateCommand::Announce(records)));
            }
            Command::SyncNow => self.input(Input::Command(StateCommand::SyncNow)),
            Command::Fetch(hash, size, reply) => self.blob_fetch(hash, size, reply),
            Command::StopFetch(hash, why) => self.blob_stop(hash, blob::FetchFailure::Failed(why)),
            Command::ContentChanged => self.provide_timers(Instant::now(), true),
            Command::Fetches(reply) => {
                let _ = reply.send(self.blobs.progress());
            }
            Command::Dial(addr, reply) => {
                let r = self.swarm.dial(addr.clone()).map_err(|e| Error::Dial {
                    addr: addr.to_string(),
                    reason: e.to_string(),
                });
                if r.is_ok() {
                    let target = target(addr);
                    self.input(Input::Command(StateCommand::Redial { target, now: false }));
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
                    providing: self.providing.counts().0,
                    providing_unheard: self.providing.counts().1,
                    provider_keys_kept: self.providing.counts().2,
                    counters: self.counters(),
                    wire_by_protocol: self.meter.by_protocol(),
                });
            }
            Command::Shutdown(_) => {}
        }
    }

    /// The state's counters with the transport's.
    fn counters(&self) -> Counters {
        let s = self.state.counters();
        let (wire_in, wire_out) = self.meter.read();
        Counters {
            via_gossip: s.via_gossip,
            via_sync: s.via_sync,
            via_bulk: s.via_bulk,
            refused_invalid: s.refused_invalid,
            refused_rule: s.refused_rule,
            refused_admission: s.refused_admission,
            refused_future: s.refused_future,
            refused_other: s.refused_other,
            gossip_published: s.gossip_published,
            records_pushed: s.records_pushed,
            offered: s.offered,
            wanted: s.wanted,
            bodies_received: s.bodies_received,
            duplicates: s.duplicates,
            sessions_started: s.sessions_started,
            sessions_done: s.sessions_done,
            sessions_failed: s.sessions_failed,
            sessions_answered: s.sessions_answered,
            bulk_done: s.bulk_done,
            peers_banned: s.peers_banned,
            peers_trimmed: self.counters.peers_trimmed,
            requests_refused: s.requests_refused,
            announcements: s.announcements,
            fetched: s.fetched,
            refetches: s.refetches,
            wire_in,
            wire_out,
            ..self.counters
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
                if num_established.get() == 1 {
                    self.peers.insert(
                        peer_id,
                        Peer {
                            agent: None,
                            addrs: vec![remote.clone()],
                            relayed,
                        },
                    );
                    self.input(Input::Connected {
                        peer: peer_id,
                        dialer: endpoint.is_dialer(),
                        remote: without_p2p(&remote),
                    });
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                self.peers.remove(&peer_id);
                self.channels.retain(|_, (p, _)| *p != peer_id);
                self.reqs.retain(|_, (p, _)| *p != peer_id);
                self.input(Input::Disconnected { peer: peer_id });
                self.blob_peer_left(peer_id);
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
            }) => {
                if self.msgs.len() >= MAX_PENDING_VERDICTS {
                    self.swarm
                        .behaviour_mut()
                        .gossipsub
                        .report_message_validation_result(
                            &message_id,
                            &propagation_source,
                            MessageAcceptance::Ignore,
                        );
                    return;
                }
                let msg = self.next_msg;
                self.next_msg += 1;
                self.msgs.insert(msg, (message_id, propagation_source));
                self.input(Input::Gossip {
                    source: propagation_source,
                    msg,
                    data: message.data,
                });
            }
            BehaviourEvent::Sync(request_response::Event::Message { peer, message, .. }) => {
                match message {
                    request_response::Message::Request {
                        request, channel, ..
                    } => {
                        if self.channels.len() >= MAX_OPEN_CHANNELS {
                            // Dropped unanswered: the peer sees its request
                            // fail, and may retry.
                            tracing::debug!(%peer, "too many open requests; one dropped");
                            return;
                        }
                        let id = self.next_channel;
                        self.next_channel += 1;
                        self.channels.insert(id, (peer, channel));
                        self.input(Input::Request {
                            peer,
                            channel: id,
                            bytes: request,
                        });
                    }
                    request_response::Message::Response {
                        request_id,
                        response,
                    } => {
                        if let Some((_, req)) = self.reqs.remove(&request_id) {
                            self.input(Input::Response {
                                peer,
                                req,
                                bytes: response,
                            });
                        }
                    }
                }
            }
            BehaviourEvent::Sync(request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            }) => {
                tracing::debug!(%peer, "request failed: {error}");
                if let Some((_, req)) = self.reqs.remove(&request_id) {
                    self.input(Input::Failure { peer, req });
                }
            }
            BehaviourEvent::Sync(request_response::Event::InboundFailure {
                peer, error, ..
            }) => {
                if let request_response::InboundFailure::Io(e) = &error
                    && e.kind() == std::io::ErrorKind::InvalidData
                {
                    self.input(Input::Malformed {
                        peer,
                        why: e.to_string(),
                    });
                }
            }
            BehaviourEvent::Identify(identify::Event::Received {
                peer_id, mut info, ..
            }) => {
                let seen_as = info.observed_addr.clone();
                info.listen_addrs
                    .retain(|a| reach::dialable_from_here(a, &seen_as));
                if info.protocol_version != self.cfg.identify_protocol() {
                    tracing::info!(%peer_id, "other network ({}); disconnecting", info.protocol_version);
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                    return;
                }
                self.kad_learn(peer_id, &info);
                let pull = info.protocols.contains(&self.cfg.sync_protocol_v2());
                // Whether this node made the first connection: the state
                // remembers it.
                let dialed = !self.state.dialled_by(&peer_id);
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
                    if dialed {
                        p.addrs.append(&mut listen);
                    } else {
                        listen.append(&mut p.addrs);
                        p.addrs = listen;
                    }
                    p.addrs.truncate(MAX_PEER_ADDRS);
                }
                self.input(Input::Identified {
                    peer: peer_id,
                    pull,
                });
                self.blob_peer_joined(peer_id);
            }
            BehaviourEvent::Blob(e) => self.blob_message(e),
            BehaviourEvent::RelayClient(e) => self.relay_client_event(e),
            BehaviourEvent::Relay(e) => self.relay_server_event(e),
            BehaviourEvent::Dcutr(e) => self.dcutr_event(e),
            BehaviourEvent::Autonat(e) => self.autonat_event(e),
            BehaviourEvent::Kad(e) => self.kad_event(e),
            BehaviourEvent::Mdns(mdns::Event::Discovered(list)) => {
                let me = *self.swarm.local_peer_id();
                let mut seen = HashSet::new();
                for (peer, addr) in list {
                    if peer == me || !seen.insert(peer) {
                        continue;
                    }
                    let target = target(addr.with(Protocol::P2p(peer)));
                    self.input(Input::Command(StateCommand::Discovered(target)));
                }
            }
            _ => {}
        }
    }
}
