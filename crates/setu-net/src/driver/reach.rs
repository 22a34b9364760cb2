//! Reach beyond the bootstrap list and through NATs
//! ([`spec/net.md` §3.4](../../../../spec/net.md)): slots reserved on
//! relays, hole punching (DCUtR), AutoNAT's verdict, and Kademlia
//! discovery.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use libp2p::core::transport::ListenerId;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::{Multiaddr, PeerId, autonat, dcutr, identify, kad, relay};
use serde::{Deserialize, Serialize};

use super::Driver;

/// A relay listener that closed (or never opened) is opened again after
/// this long; the delay doubles on each failure up to `RELAY_RETRY_MAX`.
pub const RELAY_RETRY_MIN: Duration = Duration::from_secs(1);
/// Longest wait before asking a relay for a slot again.
pub const RELAY_RETRY_MAX: Duration = Duration::from_secs(60);
/// How often Kademlia looks for peers (while discovery has room:
/// `Driver::discovery_room`).
pub const DISCOVERY_INTERVAL: Duration = Duration::from_secs(30);
/// The shortest gap between two discovery queries.
pub const DISCOVERY_MIN_GAP: Duration = Duration::from_secs(2);
/// Most Kademlia lookups in flight at once.
pub const MAX_DISCOVERY_QUERIES: usize = 2;
/// Most addresses of one peer given to Kademlia.
const MAX_KAD_ADDRS: usize = 8;

/// Whether this node can be reached from outside, as AutoNAT last judged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reachability {
    /// Not yet probed.
    #[default]
    Unknown,
    /// Peers could dial it back.
    Public,
    /// Peers could not dial it back: it needs a relay to be reached.
    Private,
}

/// The state of reach: relay slots, AutoNAT and discovery.
pub(super) struct Reach {
    /// Each configured relay, with its circuit listener if one is open.
    relays: HashMap<Multiaddr, RelaySlot>,
    pub(super) reachability: Reachability,
    last_discovery: Option<Instant>,
    /// Lookups in flight.
    discovering: HashSet<kad::QueryId>,
    /// A lookup was asked for too soon after the last: run it when the gap
    /// has passed.
    soon: bool,
}

struct RelaySlot {
    listener: Option<ListenerId>,
    reserved: bool,
    retry_at: Instant,
    delay: Duration,
}

impl Reach {
    pub(super) fn new(relays: &[Multiaddr]) -> Reach {
        let now = Instant::now();
        Reach {
            relays: relays
                .iter()
                .map(|r| {
                    (
                        r.clone(),
                        RelaySlot {
                            listener: None,
                            reserved: false,
                            retry_at: now,
                            delay: RELAY_RETRY_MIN,
                        },
                    )
                })
                .collect(),
            reachability: Reachability::Unknown,
            last_discovery: None,
            discovering: HashSet::new(),
            soon: false,
        }
    }

    /// Relays on which this node holds a slot.
    pub(super) fn reserved(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .relays
            .iter()
            .filter(|(_, s)| s.reserved)
            .map(|(a, _)| a.to_string())
            .collect();
        v.sort();
        v
    }
}

impl<S: super::Storage> Driver<S> {
    /// Opens a circuit listener on each relay whose listener is closed and
    /// whose retry time has come. The relay client dials the relay if need
    /// be, and asks it for a slot.
    pub(super) fn reach_timers(&mut self, now: Instant) {
        let due: Vec<Multiaddr> = self
            .reach
            .relays
            .iter()
            .filter(|(_, s)| s.listener.is_none() && s.retry_at <= now)
            .map(|(a, _)| a.clone())
            // Asked once connected (the relay is redialled like a
            // bootstrap peer), so the request does not race the dial.
            .filter(|a| super::peer_of(a).is_some_and(|p| self.swarm.is_connected(&p)))
            .collect();
        for relay in due {
            let circuit = relay.clone().with(Protocol::P2pCircuit);
            let result = self.swarm.listen_on(circuit);
            if let Some(slot) = self.reach.relays.get_mut(&relay) {
                slot.retry_at = now + slot.delay;
                slot.delay = (slot.delay * 2).min(RELAY_RETRY_MAX);
                match result {
                    Ok(id) => slot.listener = Some(id),
                    Err(e) => tracing::warn!("relay {relay}: {e}"),
                }
            }
        }
        let soon = self.reach.soon;
        self.discover(now, soon);
    }

    /// A listener closed: if it was a relay's, it is opened again later.
    pub(super) fn listener_closed(
        &mut self,
        id: ListenerId,
        addrs: &[Multiaddr],
        why: Result<(), &std::io::Error>,
    ) {
        self.listening.retain(|a| !addrs.contains(a));
        for (relay, slot) in self.reach.relays.iter_mut() {
            if slot.listener == Some(id) {
                let why = why.map_or_else(|e| e.to_string(), |()| "closed".into());
                if slot.reserved {
                    tracing::info!("relay {relay}: slot lost ({why}); asking again");
                } else {
                    tracing::info!("relay {relay}: no slot ({why}); asking again");
                }
                slot.listener = None;
                slot.reserved = false;
            }
        }
    }

    /// Starts a Kademlia query for peers near a random key when discovery
    /// has room for more and the last query is old enough (`DISCOVERY_MIN_GAP`
    /// when `soon`, else `DISCOVERY_INTERVAL`).
    pub(super) fn discover(&mut self, now: Instant, soon: bool) {
        if !self.swarm.behaviour().kad.is_enabled() {
            return;
        }
        let gap = if soon {
            DISCOVERY_MIN_GAP
        } else {
            DISCOVERY_INTERVAL
        };
        // The cheap checks first: this runs at every tick, and counting
        // the peers walks them all.
        let waiting = self.reach.discovering.len() >= MAX_DISCOVERY_QUERIES
            || self
                .reach
                .last_discovery
                .is_some_and(|t| now.duration_since(t) < gap);
        if waiting {
            // A lookup asked for soon is remembered only if there is room.
            self.reach.soon |= soon && self.discovery_room() > 0;
            return;
        }
        if self.discovery_room() == 0 {
            return;
        }
        self.reach.soon = false;
        if let Some(kad) = self.swarm.behaviour_mut().kad.as_mut() {
            self.reach.last_discovery = Some(now);
            let id = kad.get_closest_peers(PeerId::random());
            tracing::debug!(?id, "kademlia: looking for peers");
            self.reach.discovering.insert(id);
        }
    }

    /// How many more peers discovery may choose: the node keeps
    /// `target_peers` peers, and chooses at most half of them itself
    /// (rounded up; bootstrap peers and relays count); the others are
    /// peers that chose it. Were every node to choose its whole target,
    /// each would hold about twice as many.
    fn discovery_room(&self) -> usize {
        let target = self.cfg.target_peers;
        let counts = self.state.peer_counts(self.now());
        target
            .saturating_sub(counts.settled)
            .min(target.div_ceil(2).saturating_sub(counts.chosen))
    }

    /// Tells Kademlia where a peer that speaks it listens.
    pub(super) fn kad_learn(&mut self, peer: PeerId, info: &identify::Info) {
        let proto = self.cfg.kad_protocol();
        if !info.protocols.contains(&proto) {
            return;
        }
        let Some(kad) = self.swarm.behaviour_mut().kad.as_mut() else {
            return;
        };
        for addr in info.listen_addrs.iter().take(MAX_KAD_ADDRS) {
            kad.add_address(&peer, addr.clone());
        }
        // A new server to ask.
        self.discover(Instant::now(), true);
    }

    pub(super) fn relay_client_event(&mut self, ev: relay::client::Event) {
        match ev {
            relay::client::Event::ReservationReqAccepted {
                relay_peer_id,
                renewal,
                ..
            } => {
                for (addr, slot) in self.reach.relays.iter_mut() {
                    if super::peer_of(addr) == Some(relay_peer_id) {
                        slot.reserved = true;
                        slot.delay = RELAY_RETRY_MIN;
                        if !renewal {
                            tracing::info!("relay {addr}: slot reserved");
                        }
                    }
                }
                if !renewal {
                    self.counters.relay_reservations += 1;
                    // Newly reachable: look for peers through the relay now
                    // (those behind it too), not at the next round.
                    self.discover(Instant::now(), true);
                }
            }
            relay::client::Event::OutboundCircuitEstablished { relay_peer_id, .. } => {
                tracing::debug!(%relay_peer_id, "relayed connection out");
                self.counters.relayed_connections += 1;
            }
            relay::client::Event::InboundCircuitEstablished { src_peer_id, .. } => {
                tracing::debug!(%src_peer_id, "relayed connection in");
                self.counters.relayed_connections += 1;
            }
        }
    }

    pub(super) fn relay_server_event(&mut self, ev: relay::Event) {
        match ev {
            relay::Event::ReservationReqAccepted { src_peer_id, .. } => {
                tracing::debug!(%src_peer_id, "relay: slot given");
            }
            relay::Event::CircuitReqAccepted {
                src_peer_id,
                dst_peer_id,
            } => {
                tracing::debug!(%src_peer_id, %dst_peer_id, "relay: circuit opened");
                self.counters.circuits_relayed += 1;
            }
            other => tracing::debug!("relay: {other:?}"),
        }
    }

    pub(super) fn dcutr_event(&mut self, ev: dcutr::Event) {
        match ev.result {
            Ok(_) => {
                tracing::info!(peer = %ev.remote_peer_id, "hole punched: direct connection");
                self.counters.holepunch_succeeded += 1;
            }
            Err(e) => {
                tracing::info!(peer = %ev.remote_peer_id, "hole punching failed: {e}");
                self.counters.holepunch_failed += 1;
            }
        }
    }

    pub(super) fn autonat_event(&mut self, ev: autonat::Event) {
        if let autonat::Event::StatusChanged { new, .. } = ev {
            self.reach.reachability = match new {
                autonat::NatStatus::Public(addr) => {
                    tracing::info!("reachable from outside at {addr}");
                    Reachability::Public
                }
                autonat::NatStatus::Private => {
                    tracing::info!("not reachable from outside: use a relay (network.relays)");
                    Reachability::Private
                }
                autonat::NatStatus::Unknown => Reachability::Unknown,
            };
        }
    }

    pub(super) fn kad_event(&mut self, ev: kad::Event) {
        match ev {
            kad::Event::OutboundQueryProgressed {
                id,
                result: kad::QueryResult::GetClosestPeers(r),
                step,
                ..
            } => {
                let peers = match r {
                    Ok(ok) => ok.peers,
                    Err(kad::GetClosestPeersError::Timeout { peers, .. }) => peers,
                };
                tracing::debug!(?id, last = step.last, "kademlia: found {peers:?}");
                // Up to the target, peers found are kept: those the lookup
                // itself connected to, and others dialled now. The rest of
                // the lookup's connections are trimmed (`spec/net.md` §3.3).
                let me = *self.swarm.local_peer_id();
                let room = self.discovery_room();
                let mut chosen = 0;
                for p in peers {
                    if chosen >= room {
                        break;
                    }
                    // A peer connected by its own dial is its to keep or
                    // trim: choosing it would not hold it.
                    if p.peer_id == me
                        || self.state.is_banned(&p.peer_id)
                        || self.state.is_settled(self.now(), &p.peer_id)
                        || self.state.dialled_by(&p.peer_id)
                    {
                        continue;
                    }
                    if !self.swarm.is_connected(&p.peer_id) {
                        if p.addrs.is_empty() {
                            continue;
                        }
                        let opts = DialOpts::peer_id(p.peer_id)
                            .addresses(p.addrs.into_iter().take(MAX_KAD_ADDRS).collect())
                            .build();
                        if self.swarm.dial(opts).is_err() {
                            continue;
                        }
                    }
                    chosen += 1;
                    self.input(super::Input::Command(super::StateCommand::Keep(p.peer_id)));
                }
                if step.last {
                    self.reach.discovering.remove(&id);
                }
            }
            kad::Event::RoutingUpdated {
                is_new_peer: true, ..
            } => {
                self.counters.peers_discovered += 1;
                self.provide_to_new_server();
            }
            kad::Event::ModeChanged { new_mode } => {
                tracing::info!("kademlia: {new_mode} mode");
            }
            ev => self.provide_event(ev),
        }
    }

    /// Kademlia's mode: "server" once the node is reachable, else "client";
    /// "off" when disabled.
    pub(super) fn kad_mode(&mut self) -> String {
        match self.swarm.behaviour_mut().kad.as_mut() {
            Some(k) => k.mode().to_string(),
            None => "off".to_string(),
        }
    }
}

/// Whether a peer's listen address is worth dialling from here. A peer
/// listening on all interfaces lists its loopback address too; dialled
/// from another host, that address reaches the dialler itself (or whatever
/// else listens on the port), and a dial to the wrong peer ends the whole
/// dial, the good addresses with it. So loopback and unspecified addresses
/// count only when the peer sees this node on loopback (`seen_as`, the
/// address identify says it observed): then both are on one host.
pub(super) fn dialable_from_here(addr: &Multiaddr, seen_as: &Multiaddr) -> bool {
    let local_only = |a: &Multiaddr| {
        a.iter().next().is_some_and(|p| match p {
            Protocol::Ip4(ip) => ip.is_loopback() || ip.is_unspecified(),
            Protocol::Ip6(ip) => ip.is_loopback() || ip.is_unspecified(),
            _ => false,
        })
    };
    !local_only(addr) || local_only(seen_as)
}

/// Connection addresses through a relay end in `/p2p-circuit/...`.
pub(super) fn is_relayed(addr: &Multiaddr) -> bool {
    addr.iter().any(|p| p == Protocol::P2pCircuit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Multiaddr {
        s.parse().expect("multiaddr")
    }

    #[test]
    fn loopback_addresses_are_dialled_only_between_processes_of_one_host() {
        let remote = a("/ip4/10.77.2.2/tcp/40312");
        let local = a("/ip4/127.0.0.1/tcp/40312");
        for addr in [
            "/ip4/127.0.0.1/udp/7000/quic-v1",
            "/ip4/0.0.0.0/tcp/7000",
            "/ip6/::1/tcp/7000",
        ] {
            assert!(!dialable_from_here(&a(addr), &remote), "{addr}");
            assert!(dialable_from_here(&a(addr), &local), "{addr}");
        }
        for addr in [
            "/ip4/192.168.2.2/tcp/7000",
            "/ip4/10.77.2.1/tcp/7000/p2p/12D3KooWBKYkK2WvbwG7WuJEjZWRhcAfurYRUSraghMgy9DRSk82/p2p-circuit",
            "/dns4/node.example/tcp/7000",
        ] {
            assert!(dialable_from_here(&a(addr), &remote), "{addr}");
            assert!(dialable_from_here(&a(addr), &local), "{addr}");
        }
    }
}
