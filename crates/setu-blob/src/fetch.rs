//! The rules of one fetch, as a sans-IO state machine (`spec/net.md` §7.5).
//!
//! A [`Fetch`] is told what happens ([`Event`]) and the time, and answers
//! with what to do ([`Action`]): ask a peer which blocks it has, request a
//! range of blocks from it, penalise it. It never touches a socket or a
//! file: the driver (setu-net) sends the requests and verifies the
//! responses with [`crate::content::Partial::receive`]; the simulator
//! (setu-sim) does the same over virtual links. The rules:
//!
//! - **Who to ask.** Only a peer that said it has a block is asked for it.
//!   Each usable peer takes requests in turn (round robin), at most
//!   [`Config::per_peer_in_flight`] at a time and at most
//!   [`Config::max_peers`] peers at once, so several peers serve one fetch
//!   in parallel. The lowest missing blocks go first, so a video plays from
//!   its start while the rest arrives.
//! - **What to verify.** Every block, against the record's hash, before it
//!   is written (the driver's job, through `content::Partial`).
//! - **When to penalise.** A block or parent pair that fails verification,
//!   or bytes past the end of the range, is the sender's fault: the fetch
//!   emits [`Action::Penalise`], never asks that peer again, and gives the
//!   range to other peers. What verified before the fault is kept.
//! - **When to give up on a peer without blame.** A timeout, a cut
//!   connection or a short response counts as a failure; after
//!   [`Config::max_failures`] the peer is no longer asked by this fetch.
//! - **Where to look.** When the fetch starts, and again while it is
//!   stalled (no known peer can give a missing block), at most every
//!   [`PROVIDER_LOOKUP_GAP_MS`], it emits [`Action::FindProviders`]: the
//!   driver asks the network who holds the content (Kademlia provider
//!   records) and brings each holder back as a [`Event::Candidate`].
//! - **When to resume.** A fetch starts from the blocks already verified on
//!   disk ([`Fetch::new`] takes them), so a restart or a cut never fetches
//!   a verified block twice.

use std::collections::{BTreeMap, VecDeque};
use std::ops::Range;

use crate::blocks;
use crate::verify::{Fault, MAX_REQUEST_BLOCKS};

/// The default number of blocks per request: 64 (1 MiB).
pub const REQUEST_BLOCKS: u64 = MAX_REQUEST_BLOCKS;
/// The default number of requests in flight to one peer.
pub const PER_PEER_IN_FLIGHT: usize = 2;
/// The default number of peers asked at once by one fetch.
pub const MAX_PEERS: usize = 8;
/// The default time a request may take, in ms: longer than the
/// transport's own request timeout (30 s), so that a request the transport
/// gave up on is reported failed before this fires.
pub const REQUEST_TIMEOUT_MS: u64 = 45_000;
/// How long a peer that answered `busy` is left alone, in ms.
pub const BUSY_BACKOFF_MS: u64 = 2_000;
/// The default failures before a peer is no longer asked.
pub const MAX_FAILURES: u32 = 3;
/// How often a peer whose blocks are all held or taken is asked again what
/// it has (it may be fetching too), in ms.
pub const HAVE_REFRESH_MS: u64 = 5_000;
/// Peers one fetch keeps track of at most; later candidates are ignored.
pub const MAX_CANDIDATES: usize = 64;
/// A stalled fetch looks for providers again after this long, in ms.
pub const PROVIDER_LOOKUP_GAP_MS: u64 = 30_000;

/// Settings of a fetch.
#[derive(Debug, Clone)]
pub struct Config {
    /// Blocks per request, 1 … [`MAX_REQUEST_BLOCKS`].
    pub request_blocks: u64,
    /// Requests in flight to one peer.
    pub per_peer_in_flight: usize,
    /// Peers with requests in flight at once.
    pub max_peers: usize,
    /// Time a request may take before it counts as failed, in ms.
    pub request_timeout_ms: u64,
    /// Failures (timeouts, cuts, short responses) before a peer is dropped.
    pub max_failures: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            request_blocks: REQUEST_BLOCKS,
            per_peer_in_flight: PER_PEER_IN_FLIGHT,
            max_peers: MAX_PEERS,
            request_timeout_ms: REQUEST_TIMEOUT_MS,
            max_failures: MAX_FAILURES,
        }
    }
}

/// What happened, as the driver saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<P> {
    /// A peer that may hold the content (a provider record, a connected
    /// peer): the fetch asks it what it has.
    Candidate(P),
    /// A peer's answer to a have request: the blocks it holds.
    Have {
        /// The peer.
        peer: P,
        /// Its blocks, as ranges.
        ranges: Vec<Range<u64>>,
    },
    /// A response to a request, after verification.
    Response {
        /// The peer.
        peer: P,
        /// The range requested.
        range: Range<u64>,
        /// The blocks that verified.
        verified: Vec<u64>,
        /// Why the rest did not, if it did not.
        fault: Option<Fault>,
    },
    /// The peer refused the request as busy (over its rate for us): not
    /// a failure; it is asked again after [`BUSY_BACKOFF_MS`].
    Busy {
        /// The peer.
        peer: P,
        /// The range requested.
        range: Range<u64>,
    },
    /// The request failed with no response (refused, stream error).
    Failed {
        /// The peer.
        peer: P,
        /// The range requested.
        range: Range<u64>,
    },
    /// The connection to the peer closed.
    Disconnected(P),
}

/// Why a peer is penalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Penalty {
    /// A block or parent pair failed verification.
    Corrupt {
        /// The first block that failed.
        block: u64,
    },
    /// Bytes after the end of the range asked for.
    Trailing,
}

/// What the driver is to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action<P> {
    /// Ask the peer which blocks it has.
    AskHave(P),
    /// Request a range of blocks from the peer.
    Request {
        /// The peer.
        peer: P,
        /// The blocks.
        range: Range<u64>,
    },
    /// The peer sent bytes that fail verification: report it to the
    /// node's ban rules (`spec/net.md` §8).
    Penalise {
        /// The peer.
        peer: P,
        /// What it did.
        reason: Penalty,
    },
    /// Look for peers that hold the content (provider records): those
    /// found come back as [`Event::Candidate`]s.
    FindProviders,
    /// Every block is held: finish the content.
    Done,
}

#[derive(Debug, Default)]
struct Peer {
    has: Option<blocks::Set>,
    in_flight: usize,
    failures: u32,
    banned: bool,
    asked_have_at: Option<u64>,
    busy_until: u64,
}

impl Peer {
    fn usable(&self, cfg: &Config) -> bool {
        !self.banned && self.failures < cfg.max_failures
    }
}

#[derive(Debug, Clone)]
struct Flight {
    range: Range<u64>,
    deadline: u64,
}

/// One fetch of one piece of content.
#[derive(Debug)]
pub struct Fetch<P> {
    cfg: Config,
    have: blocks::Set,
    claimed: blocks::Set,
    peers: BTreeMap<P, Peer>,
    flights: BTreeMap<(P, u64), Flight>,
    actions: VecDeque<Action<P>>,
    done_sent: bool,
    requested_held: u64,
    /// When providers were last looked for.
    looked_up_at: Option<u64>,
}

impl<P: Ord + Clone> Fetch<P> {
    /// A fetch of content with `have.len()` blocks, of which `have` are
    /// already verified (empty for a new fetch; what is on disk to resume).
    pub fn new(mut cfg: Config, have: blocks::Set) -> Fetch<P> {
        cfg.request_blocks = cfg.request_blocks.clamp(1, MAX_REQUEST_BLOCKS);
        cfg.per_peer_in_flight = cfg.per_peer_in_flight.max(1);
        cfg.max_peers = cfg.max_peers.max(1);
        let claimed = blocks::Set::new(have.len());
        let mut fetch = Fetch {
            cfg,
            have,
            claimed,
            peers: BTreeMap::new(),
            flights: BTreeMap::new(),
            actions: VecDeque::new(),
            done_sent: false,
            requested_held: 0,
            looked_up_at: None,
        };
        fetch.check_done();
        fetch
    }

    /// The blocks verified so far.
    pub fn have(&self) -> &blocks::Set {
        &self.have
    }

    /// True when every block is verified.
    pub fn is_done(&self) -> bool {
        self.have.is_full()
    }

    /// Requests in flight.
    pub fn in_flight(&self) -> usize {
        self.flights.len()
    }

    /// True when nothing is in flight and no known peer can give a missing
    /// block: the fetch waits for new candidates.
    pub fn is_stalled(&self) -> bool {
        !self.is_done()
            && self.flights.is_empty()
            && !self.peers.values().any(|p| {
                p.usable(&self.cfg)
                    && (p.has.is_none() && p.asked_have_at.is_some()
                        || p.has.as_ref().is_some_and(|h| self.useful(h)))
            })
    }

    /// Blocks ever requested that were already verified: zero by
    /// construction; the simulator checks it.
    pub fn requested_held(&self) -> u64 {
        self.requested_held
    }

    /// Peers penalised by this fetch.
    pub fn banned(&self) -> impl Iterator<Item = &P> {
        self.peers.iter().filter(|(_, p)| p.banned).map(|(k, _)| k)
    }

    /// The next thing to do, if any.
    pub fn poll_action(&mut self) -> Option<Action<P>> {
        self.actions.pop_front()
    }

    /// The earliest time [`Fetch::tick`] has something to do.
    pub fn next_deadline(&self) -> Option<u64> {
        let flights = self.flights.values().map(|f| f.deadline).min();
        let refresh = self
            .peers
            .values()
            .filter(|p| p.usable(&self.cfg))
            .flat_map(|p| {
                let back = (p.busy_until > 0).then_some(p.busy_until);
                p.asked_have_at
                    .map(|t| t + HAVE_REFRESH_MS)
                    .into_iter()
                    .chain(back)
            })
            .min();
        let lookup = self
            .is_stalled()
            .then(|| self.looked_up_at.map_or(0, |t| t + PROVIDER_LOOKUP_GAP_MS));
        [flights, refresh, lookup].into_iter().flatten().min()
    }

    /// Takes one event at time `now` (ms).
    pub fn handle(&mut self, event: Event<P>, now: u64) {
        match event {
            Event::Candidate(peer) => {
                if !self.peers.contains_key(&peer)
                    && self.peers.len() >= MAX_CANDIDATES
                    && !self.evict_gone()
                {
                    return;
                }
                let p = self.peers.entry(peer.clone()).or_default();
                if p.usable(&self.cfg) && p.has.is_none() && p.asked_have_at.is_none() {
                    p.asked_have_at = Some(now);
                    self.actions.push_back(Action::AskHave(peer));
                }
            }
            Event::Have { peer, ranges } => {
                let len = self.have.len();
                if let Some(p) = self.peers.get_mut(&peer) {
                    p.has = Some(blocks::Set::from_ranges(len, &ranges));
                    p.asked_have_at = Some(now);
                }
            }
            Event::Response {
                peer,
                range,
                verified,
                fault,
            } => {
                // A late response (after its timeout) still brings
                // verified blocks, and a corrupt one is still corrupt.
                let flight = self.flights.remove(&(peer.clone(), range.start));
                let in_flight = flight.is_some();
                if let Some(f) = flight {
                    // What this fetch asked for, whatever the event says.
                    self.release(&peer, &f.range);
                }
                for b in verified {
                    if range.contains(&b) {
                        self.have.insert(b);
                    }
                }
                match fault {
                    None => {}
                    Some(Fault::Corrupt { block }) => {
                        self.penalise(peer, Penalty::Corrupt { block });
                    }
                    Some(Fault::Trailing) => self.penalise(peer, Penalty::Trailing),
                    Some(Fault::Short { .. }) if in_flight => self.fail(&peer),
                    Some(Fault::Short { .. }) => {}
                }
            }
            Event::Failed { peer, range } => {
                if let Some(f) = self.flights.remove(&(peer.clone(), range.start)) {
                    self.release(&peer, &f.range);
                    self.fail(&peer);
                }
            }
            Event::Busy { peer, range } => {
                if let Some(f) = self.flights.remove(&(peer.clone(), range.start)) {
                    self.release(&peer, &f.range);
                    if let Some(p) = self.peers.get_mut(&peer) {
                        p.busy_until = now + BUSY_BACKOFF_MS;
                    }
                }
            }
            Event::Disconnected(peer) => {
                self.drop_flights(&peer);
                if let Some(p) = self.peers.get_mut(&peer) {
                    p.has = None;
                    p.asked_have_at = None;
                }
            }
        }
        self.check_done();
        self.schedule(now);
    }

    /// Counts the requests past their deadline as failed, and asks peers
    /// with nothing useful left what they have now.
    pub fn tick(&mut self, now: u64) {
        let expired: Vec<(P, u64)> = self
            .flights
            .iter()
            .filter(|(_, f)| f.deadline <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for key in expired {
            if let Some(f) = self.flights.remove(&key) {
                self.release(&key.0, &f.range);
                self.fail(&key.0);
            }
        }
        if !self.is_done() {
            let have = &self.have;
            let claimed = &self.claimed;
            for (peer, p) in self.peers.iter_mut() {
                let stale = p.asked_have_at.is_some_and(|t| t + HAVE_REFRESH_MS <= now);
                if !(stale && p.in_flight == 0 && p.usable(&self.cfg)) {
                    continue;
                }
                if p.has.as_ref().is_none_or(|h| !useful(h, have, claimed)) {
                    p.asked_have_at = Some(now);
                    self.actions.push_back(Action::AskHave(peer.clone()));
                }
            }
        }
        self.schedule(now);
    }

    /// Forgets one peer whose connection closed (nothing in flight, no
    /// `have` kept) and that has neither been penalised nor failed: room
    /// for a new candidate. A penalised or failing peer is kept, so that
    /// coming back does not clear its record. False if there is none.
    fn evict_gone(&mut self) -> bool {
        let cfg = &self.cfg;
        let gone = self
            .peers
            .iter()
            .find(|(_, p)| {
                p.in_flight == 0
                    && p.has.is_none()
                    && p.asked_have_at.is_none()
                    && p.failures == 0
                    && p.usable(cfg)
            })
            .map(|(k, _)| k.clone());
        gone.is_some_and(|k| self.peers.remove(&k).is_some())
    }

    fn useful(&self, has: &blocks::Set) -> bool {
        useful(has, &self.have, &self.claimed)
    }

    fn release(&mut self, peer: &P, range: &Range<u64>) {
        for b in range.clone() {
            self.claimed.remove(b);
        }
        if let Some(p) = self.peers.get_mut(peer) {
            p.in_flight = p.in_flight.saturating_sub(1);
        }
    }

    fn drop_flights(&mut self, peer: &P) {
        let keys: Vec<(P, u64)> = self
            .flights
            .keys()
            .filter(|(p, _)| p == peer)
            .cloned()
            .collect();
        for key in keys {
            if let Some(f) = self.flights.remove(&key) {
                self.release(peer, &f.range);
            }
        }
    }

    fn fail(&mut self, peer: &P) {
        if let Some(p) = self.peers.get_mut(peer) {
            p.failures += 1;
        }
        if self.peers.get(peer).is_some_and(|p| !p.usable(&self.cfg)) {
            self.drop_flights(peer);
        }
    }

    fn penalise(&mut self, peer: P, reason: Penalty) {
        if let Some(p) = self.peers.get_mut(&peer)
            && !p.banned
        {
            p.banned = true;
            self.actions.push_back(Action::Penalise {
                peer: peer.clone(),
                reason,
            });
        }
        self.drop_flights(&peer);
    }

    fn check_done(&mut self) {
        if self.have.is_full() && !self.done_sent {
            self.done_sent = true;
            self.actions.push_back(Action::Done);
        }
    }

    /// Hands out requests: one per usable peer per round, lowest missing
    /// blocks first, until no peer can take more. Then, if the fetch has
    /// not looked for providers yet, or is stalled and looked long enough
    /// ago, it looks.
    fn schedule(&mut self, now: u64) {
        if self.is_done() {
            return;
        }
        self.hand_out(now);
        let due = self
            .looked_up_at
            .is_none_or(|t| self.is_stalled() && now >= t + PROVIDER_LOOKUP_GAP_MS);
        if due {
            self.looked_up_at = Some(now);
            self.actions.push_back(Action::FindProviders);
        }
    }

    fn hand_out(&mut self, now: u64) {
        loop {
            let mut gave = false;
            let mut busy = self.peers.values().filter(|p| p.in_flight > 0).count();
            let keys: Vec<P> = self.peers.keys().cloned().collect();
            for key in keys {
                let Some(p) = self.peers.get(&key) else {
                    continue;
                };
                if !p.usable(&self.cfg)
                    || p.in_flight >= self.cfg.per_peer_in_flight
                    || p.busy_until > now
                {
                    continue;
                }
                let idle = p.in_flight == 0;
                if idle && busy >= self.cfg.max_peers {
                    continue;
                }
                let Some(has) = p.has.as_ref() else { continue };
                let Some(range) = self.next_range(has) else {
                    continue;
                };
                for b in range.clone() {
                    if self.have.contains(b) {
                        self.requested_held += 1;
                    }
                    self.claimed.insert(b);
                }
                if let Some(p) = self.peers.get_mut(&key) {
                    p.in_flight += 1;
                }
                if idle {
                    busy += 1;
                }
                self.flights.insert(
                    (key.clone(), range.start),
                    Flight {
                        range: range.clone(),
                        deadline: now + self.cfg.request_timeout_ms,
                    },
                );
                self.actions.push_back(Action::Request { peer: key, range });
                gave = true;
            }
            if !gave {
                break;
            }
        }
    }

    /// The lowest run of blocks that are missing, not in flight, and held by
    /// the peer, at most `request_blocks` long.
    fn next_range(&self, has: &blocks::Set) -> Option<Range<u64>> {
        let start = self.have.first_wanted(0, Some(&self.claimed), Some(has))?;
        let len = self.have.len();
        let mut end = start + 1;
        while end < len
            && end - start < self.cfg.request_blocks
            && !self.have.contains(end)
            && !self.claimed.contains(end)
            && has.contains(end)
        {
            end += 1;
        }
        Some(start..end)
    }
}

fn useful(has: &blocks::Set, have: &blocks::Set, claimed: &blocks::Set) -> bool {
    have.first_wanted(0, Some(claimed), Some(has)).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(f: &mut Fetch<u8>) -> Vec<Action<u8>> {
        std::iter::from_fn(|| f.poll_action()).collect()
    }

    #[test]
    fn two_peers_share_the_work_and_a_corrupt_one_is_penalised_once() {
        let mut f = Fetch::new(
            Config {
                request_blocks: 4,
                per_peer_in_flight: 1,
                ..Config::default()
            },
            blocks::Set::new(16),
        );
        f.handle(Event::Candidate(1), 0);
        f.handle(Event::Candidate(2), 0);
        // The first event also looks for providers.
        assert_eq!(
            drain(&mut f),
            vec![
                Action::AskHave(1),
                Action::FindProviders,
                Action::AskHave(2)
            ]
        );
        f.handle(
            Event::Have {
                peer: 1,
                ranges: vec![0..16],
            },
            1,
        );
        f.handle(
            Event::Have {
                peer: 2,
                ranges: vec![0..16],
            },
            1,
        );
        assert_eq!(
            drain(&mut f),
            vec![
                Action::Request {
                    peer: 1,
                    range: 0..4
                },
                Action::Request {
                    peer: 2,
                    range: 4..8
                }
            ]
        );
        // Peer 2 corrupts block 6: 4 and 5 are kept, 6..8 go to peer 1.
        f.handle(
            Event::Response {
                peer: 2,
                range: 4..8,
                verified: vec![4, 5],
                fault: Some(Fault::Corrupt { block: 6 }),
            },
            2,
        );
        assert_eq!(
            drain(&mut f),
            vec![Action::Penalise {
                peer: 2,
                reason: Penalty::Corrupt { block: 6 }
            }]
        );
        f.handle(
            Event::Response {
                peer: 1,
                range: 0..4,
                verified: vec![0, 1, 2, 3],
                fault: None,
            },
            3,
        );
        assert_eq!(
            drain(&mut f),
            vec![Action::Request {
                peer: 1,
                range: 6..10
            }]
        );
        // A late answer from the banned peer changes nothing.
        f.handle(
            Event::Have {
                peer: 2,
                ranges: vec![0..16],
            },
            4,
        );
        assert!(drain(&mut f).is_empty());
        assert_eq!(f.banned().collect::<Vec<_>>(), vec![&2]);
    }

    #[test]
    fn timeouts_drop_a_peer_and_a_resumed_fetch_asks_only_for_what_is_missing() {
        let mut have = blocks::Set::new(8);
        have.insert_range(0..5);
        let mut f = Fetch::new(
            Config {
                request_timeout_ms: 10,
                max_failures: 2,
                ..Config::default()
            },
            have,
        );
        f.handle(Event::Candidate(1), 0);
        f.handle(
            Event::Have {
                peer: 1,
                ranges: vec![0..8],
            },
            0,
        );
        assert_eq!(
            drain(&mut f),
            vec![
                Action::AskHave(1),
                Action::FindProviders,
                Action::Request {
                    peer: 1,
                    range: 5..8
                }
            ]
        );
        f.tick(10);
        assert_eq!(
            drain(&mut f),
            vec![Action::Request {
                peer: 1,
                range: 5..8
            }]
        );
        f.tick(20);
        assert!(drain(&mut f).is_empty(), "two failures: peer 1 is dropped");
        assert!(f.is_stalled());
        f.handle(Event::Candidate(3), 21);
        f.handle(
            Event::Have {
                peer: 3,
                ranges: vec![6..8],
            },
            22,
        );
        assert_eq!(
            drain(&mut f),
            vec![
                Action::AskHave(3),
                Action::Request {
                    peer: 3,
                    range: 6..8
                }
            ]
        );
        f.handle(
            Event::Response {
                peer: 3,
                range: 6..8,
                verified: vec![6, 7],
                fault: None,
            },
            23,
        );
        f.handle(Event::Disconnected(3), 24);
        assert!(!f.is_done());
        assert_eq!(f.requested_held(), 0);
    }

    #[test]
    fn a_full_candidate_table_makes_room_only_by_forgetting_peers_that_left() {
        let mut f: Fetch<u8> = Fetch::new(Config::default(), blocks::Set::new(4));
        for p in 0..MAX_CANDIDATES as u8 {
            f.handle(Event::Candidate(p), 0);
        }
        drain(&mut f);
        // Full, everyone still connected: a new candidate is ignored.
        f.handle(Event::Candidate(200), 1);
        assert!(!drain(&mut f).contains(&Action::AskHave(200)));
        // One left: the next candidate takes its place and is asked.
        f.handle(Event::Disconnected(5), 2);
        f.handle(Event::Candidate(201), 3);
        assert!(drain(&mut f).contains(&Action::AskHave(201)));
        // Full again: a second newcomer waits for another to leave.
        f.handle(Event::Candidate(202), 4);
        assert!(!drain(&mut f).contains(&Action::AskHave(202)));
    }

    #[test]
    fn providers_are_looked_for_at_the_start_and_again_only_while_stalled() {
        let mut f: Fetch<u8> = Fetch::new(Config::default(), blocks::Set::new(4));
        // No peer at all: the first tick looks, and the next lookup is due
        // a gap later.
        f.tick(0);
        assert_eq!(drain(&mut f), vec![Action::FindProviders]);
        assert_eq!(f.next_deadline(), Some(PROVIDER_LOOKUP_GAP_MS));
        f.tick(PROVIDER_LOOKUP_GAP_MS - 1);
        assert!(drain(&mut f).is_empty(), "not before the gap");
        f.tick(PROVIDER_LOOKUP_GAP_MS);
        assert_eq!(drain(&mut f), vec![Action::FindProviders]);
        // A provider found: while it serves, the fetch is not stalled and
        // does not look again, however long it takes.
        let t = PROVIDER_LOOKUP_GAP_MS + 1;
        f.handle(Event::Candidate(7), t);
        f.handle(
            Event::Have {
                peer: 7,
                ranges: vec![0..4],
            },
            t,
        );
        assert_eq!(
            drain(&mut f),
            vec![
                Action::AskHave(7),
                Action::Request {
                    peer: 7,
                    range: 0..4
                }
            ]
        );
        f.tick(t + 3 * PROVIDER_LOOKUP_GAP_MS / 2);
        assert!(!drain(&mut f).contains(&Action::FindProviders));
        // Done: never again.
        f.handle(
            Event::Response {
                peer: 7,
                range: 0..4,
                verified: vec![0, 1, 2, 3],
                fault: None,
            },
            t + 10 * PROVIDER_LOOKUP_GAP_MS,
        );
        assert_eq!(drain(&mut f), vec![Action::Done]);
    }

    #[test]
    fn a_busy_peer_is_asked_again_later_and_not_dropped() {
        let mut f = Fetch::new(
            Config {
                per_peer_in_flight: 1,
                max_failures: 1,
                ..Config::default()
            },
            blocks::Set::new(4),
        );
        f.handle(Event::Candidate(1), 0);
        f.handle(
            Event::Have {
                peer: 1,
                ranges: vec![0..4],
            },
            0,
        );
        assert_eq!(
            drain(&mut f),
            vec![
                Action::AskHave(1),
                Action::FindProviders,
                Action::Request {
                    peer: 1,
                    range: 0..4
                }
            ]
        );
        f.handle(
            Event::Busy {
                peer: 1,
                range: 0..4,
            },
            10,
        );
        assert!(drain(&mut f).is_empty(), "left alone while busy");
        f.tick(10 + BUSY_BACKOFF_MS);
        assert_eq!(
            drain(&mut f),
            vec![Action::Request {
                peer: 1,
                range: 0..4
            }]
        );
        // A late failure for another start releases nothing it does not own.
        f.handle(
            Event::Failed {
                peer: 1,
                range: 1..4,
            },
            20 + BUSY_BACKOFF_MS,
        );
        assert_eq!(f.in_flight(), 1);
    }
}
