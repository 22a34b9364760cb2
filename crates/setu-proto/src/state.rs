//! The node's rules as one state machine: `handle(now, input) -> outputs`
//! ([`spec/net.md`](../../../spec/net.md)).
//!
//! Everything a node decides about its peers lives here: when to reconcile
//! and with whom, bulk mode, what to push or offer and what to want, which
//! announced record to fetch and from whom, the gossip verdicts, admission,
//! the per-peer request budget, bans and redial backoff. The state does no
//! I/O: the clock (monotonic milliseconds) comes with each input, the
//! randomness from [`Config::seed`], and the store is reached only through
//! [`Output::Store`] operations whose results come back as [`Input::Done`].
//! It is generic over the peer id `P` and the address `A`, so the same
//! code runs under libp2p (`setu-net`) and in the simulator (`setu-sim`).
//!
//! | file | rules |
//! | --- | --- |
//! | `state.rs` | inputs, outputs, dispatch; ingest and what follows it |
//! | [`state/peers.rs`](peers) | connections, the request budget, bans, redial backoff |
//! | [`state/session.rs`](session) | reconciliation sessions, bulk mode, pass-on, offers, wants and pushes |
//! | [`state/fetch.rs`](fetch) | gossip: verdicts, announcements, fetch and refetch |

use std::collections::{HashMap, VecDeque};
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use setu_core::ids::{AuthorKey, RecordId};
use setu_sync::bulk::Puller;
use setu_sync::item::{Id, Item};
use setu_sync::reconcile::{self, Reconciler};

use crate::admission::{self, Admission};
use crate::message::{MAX_PUSH_BYTES, RefusalCode, Response};
use crate::store::{Done, Op, Refused, Verdict};
use crate::versioning::{self, Refusals};

mod fetch;
mod peers;
mod session;

#[cfg(test)]
mod harness;

pub use peers::Target;

/// A peer id: anything small, copyable, hashable and ordered.
pub trait PeerKey: Copy + Eq + Hash + Ord + Debug {}
impl<T: Copy + Eq + Hash + Ord + Debug> PeerKey for T {}

/// An address to dial.
pub trait Addr: Clone + Eq + Hash + Debug {}
impl<T: Clone + Eq + Hash + Debug> Addr for T {}

/// Most reconciliation sessions this node answers at once.
pub const MAX_IN_SESSIONS: usize = 32;
/// Most sessions one peer may have open with this node.
pub const MAX_IN_SESSIONS_PER_PEER: usize = 2;
/// An answered session idle this long is dropped (ms).
pub const SESSION_TTL_MS: u64 = 60_000;
/// Most record ids queued to push or offer to one peer; the rest wait for
/// the next sync round.
pub const MAX_PENDING_GIVES: usize = 100_000;
/// Most pushes (or offers) in flight to one peer.
pub const MAX_PUSH_INFLIGHT: usize = 2;
/// Requests one peer may make per second, on average.
pub const PEER_REQUESTS_PER_SEC: f64 = 100.0;
/// Requests one peer may make in a burst.
pub const PEER_REQUEST_BURST: f64 = 400.0;
/// How long a misbehaving peer stays blocked (ms).
pub const BAN_MS: u64 = 600_000;
/// First redial delay (ms); it doubles on each failure.
pub const REDIAL_MIN_MS: u64 = 500;
/// Longest redial delay (ms).
pub const REDIAL_MAX_MS: u64 = 60_000;
/// Most addresses redialled.
pub const MAX_REDIAL_TARGETS: usize = 256;
/// A connection this node dialled is never trimmed sooner than this after
/// it opened (ms): longer than a Kademlia lookup may take (the driver's
/// `KAD_QUERY_TIMEOUT`, 15 s), so a lookup is never cut off by the trim of
/// the connection it opened, and discovery has its answer to choose from.
pub const TRIM_LINGER_MS: u64 = 20_000;
/// Connections are trimmed at most this often (ms): long enough for the
/// last trim's closes to be reported, so none is counted twice.
pub const TRIM_INTERVAL_MS: u64 = 5_000;
/// Most peers kept for discovery ([`Command::Keep`]) at once.
pub const MAX_KEPT: usize = MAX_REDIAL_TARGETS;
/// A node that stores new records from a reconciliation or bulk session
/// starts a session with each of its other peers after this long at most
/// (and at least this long after its last session with that peer), so
/// records that missed gossip still cross several hops quickly (ms).
pub const PASS_ON_DELAY_MS: u64 = 1_000;
/// Bulk mode is used when the peer holds more than this many times our
/// item count (`spec/sync.md` §6).
pub const BULK_RATIO: u64 = 4;
/// After a bulk transfer that stored less than half of what it received,
/// bulk mode is not used with that peer for this long (ms).
pub const BULK_COOLDOWN_MS: u64 = 3_600_000;
/// Records per bulk batch asked for.
pub const BULK_ITEMS: u64 = 1024;
/// Bytes per bulk batch asked for.
pub const BULK_BYTES: u64 = 2 * 1024 * 1024;
/// Most announced records being fetched at once; further announcements
/// are ignored (reconciliation delivers them later).
pub const MAX_PENDING_FETCHES: usize = 4096;
/// A fetch unanswered this long is given up (ms): gossipsub forgets a
/// message awaiting its verdict after a few heartbeats.
pub const FETCH_TIMEOUT_MS: u64 = 2_000;
/// Most records being fetched a second time at once, from another peer,
/// after the fetch from their announcer failed (`spec/net.md` §7.2).
pub const MAX_PENDING_REFETCHES: usize = 1024;
/// Most record bytes in one answer to a fetch.
pub const MAX_FETCH_ANSWER_BYTES: usize = 4 * 1024 * 1024;
/// Most records wanted (answered in a want, not yet received) at once.
pub const MAX_WANTED: usize = 100_000;
/// A wanted record not received this long may be wanted from another peer
/// (ms).
pub const WANT_TTL_MS: u64 = 30_000;
/// A dialled peer not identified this long after connecting is
/// reconciled with anyway, as a version-1 peer (ms).
pub const IDENTIFY_WAIT_MS: u64 = 2_000;
/// Most sync requests held while the node waits for the first snapshot of
/// its items (at start-up); beyond it they are refused, code 5.
pub const MAX_DEFERRED_SYNCS: usize = MAX_IN_SESSIONS;
/// Most store operations awaiting their result; beyond it, work that
/// needs the store is refused as busy.
pub const MAX_STORE_OPS: usize = 256;

/// What gossip carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Gossip {
    /// Announcements (id, ts, size); each node fetches the body once, from
    /// the first peer that announced it, and forwards the announcement only
    /// after storing the body. About one payload copy per node.
    #[default]
    Announce,
    /// Whole records, as plain gossipsub does: about one copy per mesh
    /// neighbour. Kept for comparison in the benchmarks.
    Full,
}

/// The state machine's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// How often to reconcile with each peer (ms).
    pub sync_interval_ms: u64,
    /// What gossip carries.
    pub gossip: Gossip,
    /// Which records from peers are accepted beyond the store's rules.
    pub admission: admission::Config,
    /// This node's publishing key (never limited by admission).
    pub own: Option<AuthorKey>,
    /// Reconciliation settings.
    pub reconcile: reconcile::Config,
    /// Offer ids before pushing bodies to peers that speak protocol
    /// version 2 (`spec/net.md` §5.3). Off: push to everyone, as version 1.
    pub pull: bool,
    /// The seed of the state's randomness.
    pub seed: u64,
    /// Close the connections this node dialled without choosing to keep
    /// the peer: those Kademlia's lookups open (`spec/net.md` §3.3,
    /// "Trimming"). Off: keep every connection until it idles out.
    pub trim: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            sync_interval_ms: 30_000,
            gossip: Gossip::default(),
            admission: admission::Config::default(),
            own: None,
            reconcile: reconcile::Config::default(),
            pull: true,
            seed: 0,
            trim: false,
        }
    }
}

/// A command from the node's owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command<P, A> {
    /// Gossip records this node just stored (published or imported).
    Announce(Vec<Vec<u8>>),
    /// Reconcile with every connected peer now.
    SyncNow,
    /// Keep redialling an address, with backoff; `now`: dial it at the
    /// next tick, else after the first delay (it was just dialled).
    Redial {
        /// The address.
        target: Target<P, A>,
        /// Dial at the next tick.
        now: bool,
    },
    /// A peer found on the local network: dial it unless connected or
    /// banned, and keep redialling it.
    Discovered(Target<P, A>),
    /// Keep the connection to a peer chosen by discovery (connected, or
    /// about to be): never trim it ([`Config::trim`]). Forgotten when it
    /// disconnects, or after `TRIM_LINGER_MS` if it never connects.
    Keep(P),
}

/// Something that happened, for the state to judge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input<P, A> {
    /// A peer's first connection opened.
    Connected {
        /// Who.
        peer: P,
        /// This node dialled it.
        dialer: bool,
        /// The remote address, without its peer id.
        remote: A,
    },
    /// A peer's last connection closed.
    Disconnected {
        /// Who.
        peer: P,
    },
    /// A peer proved to be on this network; `pull`: it speaks protocol
    /// version 2 (offers and wants).
    Identified {
        /// Who.
        peer: P,
        /// It speaks version 2.
        pull: bool,
    },
    /// A request frame; answer it with [`Output::Respond`] on `channel`.
    Request {
        /// From whom.
        peer: P,
        /// The channel to answer on.
        channel: u64,
        /// The frame.
        bytes: Vec<u8>,
    },
    /// The response to our request `req`.
    Response {
        /// From whom.
        peer: P,
        /// Our request.
        req: u64,
        /// The frame.
        bytes: Vec<u8>,
    },
    /// Our request `req` failed (timeout, closed stream, refused protocol).
    Failure {
        /// To whom.
        peer: P,
        /// Our request.
        req: u64,
    },
    /// A peer sent a frame that could not be read (oversize, cut short):
    /// malformed input, judged here like any other.
    Malformed {
        /// Who.
        peer: P,
        /// What was wrong.
        why: String,
    },
    /// A gossip message (the first copy); answer with [`Output::Verdict`].
    Gossip {
        /// The peer it came from.
        source: P,
        /// Its handle.
        msg: u64,
        /// Its payload.
        data: Vec<u8>,
    },
    /// Publishing to gossip failed: no peer is subscribed yet.
    PublishFailed,
    /// A store operation finished.
    Done {
        /// The ticket of [`Output::Store`].
        ticket: u64,
        /// How it went.
        done: Done,
    },
    /// Time passed: check the timers.
    Tick,
    /// A command.
    Command(Command<P, A>),
}

/// What a gossip message deserves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acceptance {
    /// Valid and new: forward it.
    Accept,
    /// Not worth forwarding, not an offence.
    Ignore,
    /// Invalid: the sender is penalised.
    Reject,
}

/// What the state asks of its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output<P, A> {
    /// Send a request; its answer comes back as [`Input::Response`] or
    /// [`Input::Failure`] with the same `req`.
    Send {
        /// To whom.
        peer: P,
        /// The request's number.
        req: u64,
        /// The frame.
        bytes: Vec<u8>,
    },
    /// Answer a request.
    Respond {
        /// The channel of [`Input::Request`].
        channel: u64,
        /// The frame.
        bytes: Vec<u8>,
    },
    /// The verdict on a gossip message.
    Verdict {
        /// Its handle.
        msg: u64,
        /// The verdict.
        acceptance: Acceptance,
    },
    /// Publish a gossip payload.
    Publish(Vec<u8>),
    /// Disconnect and block a peer, and lower its gossip score.
    Ban {
        /// Who.
        peer: P,
        /// Why.
        reason: String,
    },
    /// Lift a ban.
    Unban(P),
    /// Dial an address.
    Dial(A),
    /// Close the connections to a peer, without a ban: this node dialled
    /// it and did not keep it ([`Config::trim`]). A driver that knows of
    /// work of its own with the peer (an attachment transfer) may leave it
    /// open; the state asks again later.
    Close(P),
    /// Run a store operation; report with [`Input::Done`].
    Store {
        /// The ticket to report with.
        ticket: u64,
        /// The operation.
        op: Op,
    },
    /// Tell the node's owner.
    Event(Event<P>),
}

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
pub enum Event<P> {
    /// A record from a peer was stored.
    RecordReceived {
        /// Its id.
        id: RecordId,
        /// How it came.
        via: Via,
        /// From whom.
        peer: P,
    },
    /// A peer connected (its first connection).
    PeerConnected(P),
    /// A peer's last connection closed.
    PeerDisconnected(P),
    /// A reconciliation session this node started ended.
    SyncDone {
        /// With whom.
        peer: P,
        /// Whether it completed (false: it failed or was cut short).
        ok: bool,
        /// Records found to give the peer.
        gave: u64,
    },
    /// A peer sent invalid data and was disconnected and blocked.
    PeerBanned {
        /// Who.
        peer: P,
        /// Why.
        reason: String,
    },
}

/// How many connected peers a node keeps and how many it chose
/// ([`State::peer_counts`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeerCounts {
    /// Peers this node keeps: at a redial target, chosen by discovery, or
    /// that dialled it and stayed.
    pub settled: usize,
    /// Peers this node chose itself: at a redial target or chosen by
    /// discovery.
    pub chosen: usize,
}

/// Counters since the state started.
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
    /// (schema, size, envelope): not an offence.
    pub refused_rule: u64,
    /// Records refused by the allow-list or quota.
    pub refused_admission: u64,
    /// Records refused for a `ts` too far ahead of this node's clock.
    pub refused_future: u64,
    /// Records refused by other ingest rules (chain, withdrawn, full chain).
    pub refused_other: u64,
    /// Record bodies received from peers (stored, duplicate or refused).
    pub bodies_received: u64,
    /// Bodies received of records already held.
    pub duplicates: u64,
    /// Records this node published to gossip.
    pub gossip_published: u64,
    /// Records pushed to peers.
    pub records_pushed: u64,
    /// Ids offered to peers (protocol version 2).
    pub offered: u64,
    /// Offered ids wanted by this node.
    pub wanted: u64,
    /// Reconciliation sessions started.
    pub sessions_started: u64,
    /// Sessions started that completed (one that switched to bulk mode,
    /// when its transfer completed). Once no session is in flight,
    /// `sessions_done + sessions_failed == sessions_started`.
    pub sessions_done: u64,
    /// Sessions started that failed or were dropped.
    pub sessions_failed: u64,
    /// Sessions answered for peers.
    pub sessions_answered: u64,
    /// Bulk transfers completed.
    pub bulk_done: u64,
    /// Peers banned for invalid data.
    pub peers_banned: u64,
    /// Requests refused for rate, session or store limits.
    pub requests_refused: u64,
    /// Gossip announcements received (first copies).
    pub announcements: u64,
    /// Records fetched after an announcement.
    pub fetched: u64,
    /// Fetches asked of a second peer after the announcer's failed.
    pub refetches: u64,
    /// Closes asked of the driver for peers this node dialled without
    /// keeping them ([`Config::trim`]); a driver may leave one open, and
    /// is asked again.
    pub peers_trimmed: u64,
    /// Requests sent.
    pub requests_sent: u64,
    /// Request and response bytes sent (frames, without transport
    /// framing).
    pub bytes_sent: u64,
}

/// What the state waits on from the store.
enum Then<P> {
    Snapshot,
    Ingest(Ingest<P>),
    AnswerFetch { channel: u64 },
    AnswerBulk { channel: u64 },
    AnswerOffer { peer: P, channel: u64 },
    Push { peer: P },
}

struct Ingest<P> {
    peer: P,
    via: Via,
    charged: Vec<Option<(AuthorKey, usize)>>,
    after: After,
    /// What admission refused before the store saw the batch.
    early: Report,
}

/// What to do once an ingest is done.
enum After {
    /// Acknowledge a push.
    Ack { channel: u64 },
    /// Judge a whole-record gossip message.
    Gossip { msg: u64 },
    /// Judge the announcements a fetch answered.
    Fetched { ids: Vec<Id> },
    /// End a second fetch.
    Refetched { ids: Vec<Id> },
    /// Go on with a bulk transfer: the next request, if any.
    Bulk { next: Option<Vec<u8>> },
}

/// What one ingest came to.
#[derive(Debug, Default)]
struct Report {
    stored: u64,
    refused: u64,
    /// An offence: the sender is banned.
    offence: Option<String>,
    /// Ids stored or already held.
    held: Vec<Id>,
    /// Ids of every record in the batch the store could read that far.
    seen: Vec<Id>,
    /// The store failed (or was busy): nothing is known of the batch.
    failed: bool,
}

/// The node state machine. See the module documentation.
pub struct State<P: PeerKey, A: Addr> {
    cfg: Config,
    admission: Admission,
    counters: Counters,
    rng: u64,
    peers: HashMap<P, peers::Peer>,
    banned: HashMap<P, u64>,
    redial: HashMap<A, peers::Redial<P, A>>,
    out: HashMap<P, session::Out>,
    inbound: HashMap<(P, u64), session::Inbound>,
    gives: HashMap<P, VecDeque<Id>>,
    inflight: HashMap<P, usize>,
    no_bulk: HashMap<P, u64>,
    pending: HashMap<u64, (P, session::Pending)>,
    fetching: HashMap<Id, fetch::Fetching<P>>,
    refetching: HashMap<Id, P>,
    wanted: HashMap<Id, (P, u64)>,
    refusals: Refusals,
    /// The store's [`crate::store::Store::rule_changes`] when last seen.
    rule_changes: u64,
    waiting: HashMap<u64, Then<P>>,
    items: Option<Arc<Vec<Item>>>,
    snapshot_asked: bool,
    /// Sync requests that came before the first snapshot: answered once it
    /// comes.
    deferred: Vec<session::Deferred<P>>,
    sync_all_on_snapshot: bool,
    next_req: u64,
    next_ticket: u64,
    next_session: u64,
    last_sweep: u64,
    last_trim: u64,
    /// Peers discovery chose to keep, with when.
    kept: HashMap<P, u64>,
    outputs: Vec<Output<P, A>>,
}

impl<P: PeerKey, A: Addr> Debug for State<P, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("peers", &self.peers.len())
            .field("items", &self.item_count())
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl<P: PeerKey, A: Addr> State<P, A> {
    /// A new state. Its first outputs (from the first input) ask the store
    /// for a snapshot.
    pub fn new(cfg: Config) -> State<P, A> {
        State {
            admission: Admission::new(cfg.admission.clone(), cfg.own),
            rng: cfg.seed,
            cfg,
            counters: Counters::default(),
            peers: HashMap::new(),
            banned: HashMap::new(),
            redial: HashMap::new(),
            out: HashMap::new(),
            inbound: HashMap::new(),
            gives: HashMap::new(),
            inflight: HashMap::new(),
            no_bulk: HashMap::new(),
            pending: HashMap::new(),
            fetching: HashMap::new(),
            refetching: HashMap::new(),
            wanted: HashMap::new(),
            refusals: Refusals::default(),
            rule_changes: 0,
            waiting: HashMap::new(),
            items: None,
            snapshot_asked: false,
            deferred: Vec::new(),
            sync_all_on_snapshot: false,
            next_req: 1,
            next_ticket: 1,
            next_session: 1,
            last_sweep: 0,
            last_trim: 0,
            kept: HashMap::new(),
            outputs: Vec::new(),
        }
    }

    /// Takes one input at `now` (monotonic ms) and returns what to do.
    pub fn handle(&mut self, now: u64, input: Input<P, A>) -> Vec<Output<P, A>> {
        if self.items.is_none() && !self.snapshot_asked {
            self.ask_snapshot();
        }
        match input {
            Input::Connected {
                peer,
                dialer,
                remote,
            } => self.connected(now, peer, dialer, remote),
            Input::Disconnected { peer } => self.disconnected(now, peer),
            Input::Identified { peer, pull } => self.identified(now, peer, pull),
            Input::Request {
                peer,
                channel,
                bytes,
            } => self.on_request(now, peer, channel, &bytes),
            Input::Response { peer, req, bytes } => self.on_response(now, peer, req, &bytes),
            Input::Failure { peer, req } => self.on_failure(now, peer, req),
            Input::Malformed { peer, why } => self.punish(now, peer, format!("bad frame: {why}")),
            Input::Gossip { source, msg, data } => self.on_gossip(now, source, msg, data),
            Input::PublishFailed => {
                for p in self.peers.values_mut() {
                    p.pass_on = true;
                }
            }
            Input::Done { ticket, done } => self.on_done(now, ticket, done),
            Input::Tick => self.tick(now),
            Input::Command(c) => self.command(now, c),
        }
        std::mem::take(&mut self.outputs)
    }

    /// The counters.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Connected peers (that are not banned).
    pub fn peers(&self) -> impl Iterator<Item = &P> {
        self.peers.keys()
    }

    /// The connected peers this node keeps and those it chose, counted in
    /// one pass. Kept ([`Config::trim`]): those at a redial target, those
    /// discovery chose, and those that dialled it and stayed past the
    /// dialler's trim (`TRIM_LINGER_MS` and one `TRIM_INTERVAL_MS`), so a
    /// peer's passing lookup does not count. Chosen: those at a redial
    /// target and those discovery chose ([`Command::Keep`]). Discovery
    /// counts both against its target.
    pub fn peer_counts(&self, now: u64) -> PeerCounts {
        let redialled = self.redialled();
        let mut counts = PeerCounts::default();
        for (p, peer) in &self.peers {
            let at_target = redialled.contains(p);
            counts.settled += usize::from(self.settled(now, p, peer, at_target));
            counts.chosen += usize::from(at_target || self.kept.contains_key(p));
        }
        counts
    }

    /// Whether a connected peer dialled this node (its first connection).
    pub fn dialled_by(&self, peer: &P) -> bool {
        self.peers.get(peer).is_some_and(|p| !p.dialer())
    }

    /// Whether a connected peer is one [`PeerCounts::settled`] counts.
    pub fn is_settled(&self, now: u64, peer: &P) -> bool {
        self.peers
            .get(peer)
            .is_some_and(|p| self.settled(now, peer, p, self.is_redialled(peer)))
    }

    /// Whether a peer is banned now.
    pub fn is_banned(&self, peer: &P) -> bool {
        self.banned.contains_key(peer)
    }

    /// How many records this node holds, as its last snapshot says.
    pub fn item_count(&self) -> Option<usize> {
        self.items.as_ref().map(|i| i.len())
    }

    fn emit(&mut self, e: Event<P>) {
        self.outputs.push(Output::Event(e));
    }

    fn random(&mut self) -> u64 {
        // SplitMix64.
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn send(&mut self, peer: P, req: crate::message::Request, kind: session::Pending) {
        let id = self.next_req;
        self.next_req += 1;
        let bytes = req.encode();
        self.counters.requests_sent += 1;
        self.counters.bytes_sent += bytes.len() as u64;
        self.pending.insert(id, (peer, kind));
        self.outputs.push(Output::Send {
            peer,
            req: id,
            bytes,
        });
    }

    fn respond(&mut self, channel: u64, resp: Response) {
        let bytes = resp.encode();
        self.counters.bytes_sent += bytes.len() as u64;
        self.outputs.push(Output::Respond { channel, bytes });
    }

    fn refuse(&mut self, channel: u64, code: RefusalCode, reason: &str) {
        self.respond(
            channel,
            Response::Refused {
                code,
                reason: reason.into(),
            },
        );
    }

    /// Asks the store to run `op`, or, when too many operations wait
    /// already, reports it busy at once.
    fn store(&mut self, now: u64, op: Op, then: Then<P>) {
        if self.waiting.len() >= MAX_STORE_OPS {
            return self.finish(now, then, Done::Busy);
        }
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.waiting.insert(ticket, then);
        self.outputs.push(Output::Store { ticket, op });
    }

    fn ask_snapshot(&mut self) {
        if self.snapshot_asked {
            return;
        }
        self.snapshot_asked = true;
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.waiting.insert(ticket, Then::Snapshot);
        self.outputs.push(Output::Store {
            ticket,
            op: Op::Snapshot,
        });
    }

    fn on_done(&mut self, now: u64, ticket: u64, done: Done) {
        if let Some(then) = self.waiting.remove(&ticket) {
            self.finish(now, then, done);
        }
    }

    fn finish(&mut self, now: u64, then: Then<P>, done: Done) {
        match (then, done) {
            (Then::Snapshot, Done::Snapshot(items)) => {
                self.snapshot_asked = false;
                // None: the store cannot list its records now. An old
                // snapshot would no longer say what it holds, so none is
                // kept: sessions are refused (code 5) until it can.
                self.items = items;
                self.answer_deferred(now);
                if std::mem::take(&mut self.sync_all_on_snapshot) {
                    self.sync_all(now);
                }
            }
            (Then::Snapshot, _) => {
                self.snapshot_asked = false;
                self.answer_deferred(now);
            }
            (
                Then::Ingest(ing),
                Done::Ingested {
                    verdicts,
                    snapshot,
                    rule_changes,
                },
            ) => {
                self.items = snapshot;
                if rule_changes != self.rule_changes {
                    // Membership changed: what it refused may be valid now
                    // (spec/membership.md §8.4).
                    self.rule_changes = rule_changes;
                    self.refusals = Refusals::default();
                }
                self.ingested(now, ing, verdicts)
            }
            (Then::Ingest(ing), _) => self.ingested(now, ing, Err("the store is busy".into())),
            (Then::AnswerFetch { channel }, Done::Loaded { records, .. }) => {
                self.respond(channel, Response::Records(records))
            }
            (Then::AnswerBulk { channel }, Done::Served(batch)) => {
                self.respond(channel, Response::Bulk(batch))
            }
            (Then::AnswerOffer { peer, channel }, Done::Missing(ids)) => {
                self.answer_offer(now, peer, channel, ids)
            }
            (Then::AnswerFetch { channel } | Then::AnswerBulk { channel }, _)
            | (Then::AnswerOffer { channel, .. }, _) => {
                self.counters.requests_refused += 1;
                self.refuse(channel, RefusalCode::Busy, "the store is busy; try later")
            }
            (Then::Push { peer }, Done::Loaded { records, rest }) => {
                self.loaded_for_push(now, peer, records, rest)
            }
            (Then::Push { peer }, _) => self.push_done(now, peer),
        }
    }

    /// Admits records from a peer and hands them to the store; `after`
    /// says what follows.
    fn ingest(&mut self, now: u64, peer: P, records: Vec<Vec<u8>>, via: Via, after: After) {
        self.counters.bodies_received += records.len() as u64;
        let mut admitted = Vec::with_capacity(records.len());
        let mut charged = Vec::with_capacity(records.len());
        let mut early = Report::default();
        for r in records {
            // Decoded once, here (envelope only: cheap), for its id and
            // author; the store finishes the check on the decoded record
            // (key, signature, body) and never decodes it again.
            let p = match setu_core::record::parse(r) {
                Ok(p) => p,
                Err(e) => {
                    early.refused += 1;
                    if versioning::is_offence(&e) {
                        self.counters.refused_invalid += 1;
                        early.offence = Some(format!("invalid record: {e}"));
                    } else {
                        self.counters.refused_rule += 1;
                    }
                    continue;
                }
            };
            if self.admission.is_active() {
                let author = p.envelope().author;
                if let Err(e) = self.admission.check(&author, p.len(), now) {
                    tracing::debug!(?peer, "refused: {e}");
                    self.counters.refused_admission += 1;
                    early.refused += 1;
                    early.seen.push(p.id().0);
                    continue;
                }
                // Charged now, so one batch cannot overrun the quota;
                // refunded if not stored.
                self.admission.charge(&author, p.len(), now);
                charged.push(Some((author, p.len())));
            } else {
                charged.push(None);
            }
            admitted.push(p);
        }
        let ing = Ingest {
            peer,
            via,
            charged,
            after,
            early,
        };
        if admitted.is_empty() {
            return self.ingested(now, ing, Ok(Vec::new()));
        }
        self.store(now, Op::Ingest(admitted), Then::Ingest(ing));
    }

    /// Counts what the store made of an ingest, then does what follows it.
    fn ingested(&mut self, now: u64, ing: Ingest<P>, verdicts: Result<Vec<Verdict>, String>) {
        let Ingest {
            peer,
            via,
            charged,
            after,
            early: mut rep,
        } = ing;
        let verdicts = match verdicts {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!("store: {e}");
                // Nothing stored: refund, and count every record refused.
                for (author, len) in charged.iter().flatten() {
                    self.admission.refund(author, *len);
                }
                rep.refused += charged.len() as u64;
                rep.failed = true;
                return self.follow(now, peer, via, after, rep);
            }
        };
        for (v, c) in verdicts.into_iter().zip(charged) {
            let stored = matches!(v, Verdict::Stored { .. });
            if !stored && let Some((author, len)) = c {
                self.admission.refund(&author, len);
            }
            match v {
                Verdict::Stored { id, .. } => {
                    rep.stored += 1;
                    rep.held.push(id);
                    rep.seen.push(id);
                    self.wanted.remove(&id);
                    match via {
                        Via::Gossip => self.counters.via_gossip += 1,
                        Via::Sync => self.counters.via_sync += 1,
                        Via::Bulk => self.counters.via_bulk += 1,
                    }
                    self.emit(Event::RecordReceived {
                        id: RecordId(id),
                        via,
                        peer,
                    });
                }
                Verdict::Duplicate(id) => {
                    self.counters.duplicates += 1;
                    rep.held.push(id);
                    rep.seen.push(id);
                    self.wanted.remove(&id);
                }
                Verdict::Refused { id, why } => {
                    rep.refused += 1;
                    if let Some(id) = id {
                        self.wanted.remove(&id);
                        rep.seen.push(id);
                    }
                    match why {
                        Refused::Invalid(e) if versioning::is_offence(&e) => {
                            self.counters.refused_invalid += 1;
                            rep.offence = Some(format!("invalid record: {e}"));
                        }
                        Refused::Invalid(_) => {
                            // A rule a peer of another version may not
                            // share: remembered, so not wanted again.
                            self.counters.refused_rule += 1;
                            if let Some(id) = id {
                                self.refusals.insert(id);
                            }
                        }
                        Refused::Future => self.counters.refused_future += 1,
                        Refused::Other(_) => {
                            self.counters.refused_other += 1;
                            if let Some(id) = id {
                                self.refusals.insert(id);
                            }
                        }
                    }
                }
            }
        }
        self.follow(now, peer, via, after, rep);
    }

    /// What follows an ingest.
    fn follow(&mut self, now: u64, peer: P, via: Via, after: After, rep: Report) {
        if rep.stored > 0 && via != Via::Gossip {
            // Gossip spreads what came by gossip; what came by sync is
            // passed on by reconciling with the other peers soon.
            self.pass_on_except(peer);
        }
        match after {
            After::Ack { channel } => {
                self.respond(
                    channel,
                    Response::PushAck {
                        stored: rep.stored,
                        refused: rep.refused,
                    },
                );
                if let Some(why) = rep.offence {
                    self.punish(now, peer, why);
                }
            }
            After::Gossip { msg } => {
                let acceptance = if rep.offence.is_some() {
                    Acceptance::Reject
                } else if rep.stored > 0 {
                    Acceptance::Accept
                } else {
                    Acceptance::Ignore
                };
                self.outputs.push(Output::Verdict { msg, acceptance });
                if let Some(why) = rep.offence {
                    self.punish(now, peer, format!("gossiped {why}"));
                }
            }
            After::Fetched { ids } => self.fetched(now, peer, ids, rep),
            After::Refetched { ids } => {
                for id in &ids {
                    self.refetching.remove(id);
                }
                if rep.stored > 0 {
                    // Its announcement was not forwarded: reconciliation
                    // passes it on.
                    self.pass_on_except(peer);
                }
                if let Some(why) = rep.offence {
                    self.punish(now, peer, format!("fetched {why}"));
                }
            }
            After::Bulk { next } => self.bulk_ingested(now, peer, next, rep),
        }
    }

    fn pass_on_except(&mut self, peer: P) {
        for (other, p) in self.peers.iter_mut() {
            if *other != peer {
                p.pass_on = true;
            }
        }
    }

    fn command(&mut self, now: u64, c: Command<P, A>) {
        match c {
            Command::Announce(records) => {
                // The store changed behind our back: refresh the snapshot.
                self.ask_snapshot();
                for r in records {
                    self.publish(r);
                }
            }
            Command::SyncNow => {
                // Once the snapshot shows what was just stored.
                self.sync_all_on_snapshot = true;
                self.ask_snapshot();
            }
            Command::Redial { target, now: at } => self.add_redial(now, target, at),
            Command::Discovered(target) => self.discovered(now, target),
            Command::Keep(peer) => self.keep(now, peer),
        }
    }

    fn sync_all(&mut self, now: u64) {
        let mut peers: Vec<P> = self.peers.keys().copied().collect();
        peers.sort();
        for p in peers {
            self.start_sync(now, p, false);
        }
    }

    fn tick(&mut self, now: u64) {
        self.fetch_timers(now);
        self.redial_timers(now);
        // Before sessions start: none starts with a peer about to go.
        self.trim(now);
        self.sync_timers(now);
        self.unban_timers(now);
        if now.saturating_sub(self.last_sweep) >= 1_000 {
            self.last_sweep = now;
            self.wanted.retain(|_, (_, until)| *until > now);
            self.no_bulk.retain(|_, until| *until > now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::harness::*;
    use super::*;
    use crate::message::Request;

    /// A received record is decoded once, by the state, whether or not
    /// admission is active: what fails to decode is judged here and never
    /// reaches the store, and what decodes reaches it decoded (the store
    /// finishes the check on it, without decoding it again).
    #[test]
    fn records_reach_the_store_decoded_once() {
        for junk in [vec![0xf6], vec![0x82, 0x41]] {
            let mut s = state();
            assert!(!s.admission.is_active());
            let mut store = Toy::default();
            let _ = drive(&mut s, &mut store, 0, connect(1, false));
            let _ = drive(&mut s, &mut store, 0, connect(2, false));
            // Junk alone: refused before the store, as an offence.
            let push = Request::Push(vec![junk.clone()]).encode();
            let out = s.handle(1, request(1, 1, push));
            assert!(
                out.iter().all(|o| !matches!(o, Output::Store { .. })),
                "junk reaches the store: {out:?}"
            );
            assert!(out.iter().any(|o| matches!(o, Output::Ban { peer: 1, .. })));
            assert_eq!(s.counters().refused_invalid, 1);
            // A valid record and a forged one beside junk: only the two
            // that decode go to the store, decoded, in order.
            let push = Request::Push(vec![toy_record(5), junk, toy_forged(6)]).encode();
            let out = s.handle(2, request(2, 2, push));
            let ops: Vec<&Op> = out
                .iter()
                .filter_map(|o| match o {
                    Output::Store { op, .. } => Some(op),
                    _ => None,
                })
                .collect();
            match ops.as_slice() {
                [Op::Ingest(parsed)] => {
                    let ids: Vec<Id> = parsed.iter().map(|p| p.id().0).collect();
                    assert_eq!(ids, vec![toy_id(5), toy_id(6)]);
                    assert_eq!(parsed[0].bytes(), toy_record(5).as_slice());
                }
                other => panic!("one ingest of the decoded records: {other:?}"),
            }
        }
    }
}
