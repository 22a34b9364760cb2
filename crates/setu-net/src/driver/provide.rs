//! Who holds which attachment, through Kademlia provider records
//! ([`spec/net.md` §7.6](../../../../spec/net.md)): this node announces the
//! content it holds whole, keeps the records other nodes announce to it,
//! and looks up the holders of content a fetch needs, then dials them so
//! that the fetch can ask them (`spec/net.md` §7.5 rule 2).
//!
//! What is held is read from the content folder on a blocking thread (a
//! [`super::blob::Disk::Listed`]) when the node starts, every
//! [`PROVIDE_CHECK`], when the node says its content changed, and a fetch
//! that completes is announced at once. The same reading takes the
//! deny-list, so that a hash denied by another process (`setu deny` beside
//! the daemon) stops its fetch too.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use libp2p::kad::store::RecordStore;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::{PeerId, kad};
use setu_blob::Hash;

use super::{Driver, Storage, blob::Disk};
use crate::behaviour::{MAX_PROVIDER_KEYS, PROVIDER_RECORD_TTL};

/// Content this node announces at most (the rest is still served to the
/// peers that ask, but found only among connected peers): half of the
/// provider-record store, the other half for the keys others announce.
pub const MAX_PROVIDED: usize = MAX_PROVIDER_KEYS / 2;
/// Keys of other nodes' provider records kept at most.
pub const MAX_FOREIGN_KEYS: usize = MAX_PROVIDER_KEYS - MAX_PROVIDED;
/// How often the content folder is read again for what to announce.
pub const PROVIDE_CHECK: Duration = Duration::from_secs(60);
/// Announcements in flight at once, at most.
pub const MAX_ANNOUNCING: usize = 4;
/// Holders of one lookup dialled at most.
pub const MAX_PROVIDER_DIALS: usize = 8;

/// The content folder read on a blocking thread: the hashes held whole,
/// and the deny-list.
pub(super) type Listed = (Vec<Hash>, std::collections::BTreeSet<Hash>);

/// The driver's provider-record state.
#[derive(Default)]
pub(super) struct Providing {
    /// Content announced (held whole here).
    provided: HashSet<Hash>,
    /// Announced while no Kademlia server answered: announced again when
    /// one joins the routing table.
    unheard: HashSet<Hash>,
    /// Waiting for an announcement slot.
    queue: VecDeque<Hash>,
    announcing: HashMap<kad::QueryId, Hash>,
    /// Lookups in flight, with the holders dialled so far.
    lookups: HashMap<kad::QueryId, (Hash, usize)>,
    listing: bool,
    listed_at: Option<Instant>,
    /// Keys of others' records kept, with when each was last announced.
    foreign: HashMap<kad::RecordKey, Instant>,
}

impl Providing {
    /// Content announced, how much of it no server has heard of, and the
    /// keys of others' records kept.
    pub(super) fn counts(&self) -> (usize, usize, usize) {
        (self.provided.len(), self.unheard.len(), self.foreign.len())
    }
}

fn key(hash: &Hash) -> kad::RecordKey {
    kad::RecordKey::new(&hash.0)
}

impl<S: Storage> Driver<S> {
    /// Reads the content folder and its deny-list again when it is time,
    /// or `now` is asked.
    pub(super) fn provide_timers(&mut self, now: Instant, asked: bool) {
        let p = &mut self.providing;
        let due = asked || p.listed_at.is_none_or(|t| now >= t + PROVIDE_CHECK);
        if !due || p.listing {
            return;
        }
        let Some(dir) = self.blobs.dir() else { return };
        p.listing = true;
        p.listed_at = Some(now);
        let tx = self.blobs.disk_tx();
        tokio::task::spawn_blocking(move || {
            let result = dir
                .list()
                .and_then(|l| Ok((l.into_iter().map(|(h, _)| h).collect(), dir.denied()?)))
                .map_err(|e| e.to_string());
            let _ = tx.blocking_send(Disk::Listed(result));
        });
    }

    /// What the content folder holds whole, and what the operator denies:
    /// a fetch of denied content stops (the list may have been written by
    /// `setu deny` beside the daemon); what is new is announced, and what
    /// went (collected, denied) is no longer.
    pub(super) fn provide_listed(&mut self, listed: Result<Listed, String>) {
        self.providing.listing = false;
        let (held, denied) = match listed {
            Ok((held, denied)) => (held.into_iter().collect::<HashSet<Hash>>(), denied),
            Err(e) => {
                tracing::warn!("attachments: cannot list the content folder: {e}");
                return;
            }
        };
        for h in denied {
            self.blob_stop_denied(h);
        }
        if !self.swarm.behaviour().kad.is_enabled() {
            return;
        }
        let gone: Vec<Hash> = self
            .providing
            .provided
            .iter()
            .filter(|h| !held.contains(h))
            .copied()
            .collect();
        for h in gone {
            self.unprovide(h);
        }
        let mut new: Vec<Hash> = held.into_iter().collect();
        new.sort();
        for h in new {
            self.provide(h);
        }
    }

    /// Announces `hash` (held whole here), unless it already is.
    pub(super) fn provide(&mut self, hash: Hash) {
        let p = &mut self.providing;
        if !self.swarm.behaviour().kad.is_enabled()
            || p.provided.contains(&hash)
            || p.provided.len() >= MAX_PROVIDED
        {
            return;
        }
        p.provided.insert(hash);
        p.queue.push_back(hash);
        self.announce_queued();
    }

    fn unprovide(&mut self, hash: Hash) {
        let p = &mut self.providing;
        p.provided.remove(&hash);
        p.unheard.remove(&hash);
        p.queue.retain(|h| *h != hash);
        if let Some(kad) = self.swarm.behaviour_mut().kad.as_mut() {
            kad.stop_providing(&key(&hash));
        }
    }

    fn announce_queued(&mut self) {
        while self.providing.announcing.len() < MAX_ANNOUNCING {
            let Some(hash) = self.providing.queue.pop_front() else {
                return;
            };
            let Some(kad) = self.swarm.behaviour_mut().kad.as_mut() else {
                return;
            };
            match kad.start_providing(key(&hash)) {
                Ok(id) => {
                    self.providing.announcing.insert(id, hash);
                }
                Err(e) => {
                    tracing::warn!(%hash, "attachments: not announced: {e}");
                    self.providing.provided.remove(&hash);
                }
            }
        }
    }

    /// A fetch asks who holds `hash`.
    pub(super) fn find_providers(&mut self, hash: Hash) {
        let p = &self.providing;
        if p.lookups.values().any(|(h, _)| *h == hash)
            || p.lookups.len() >= super::blob::MAX_FETCHES
        {
            return;
        }
        let Some(kad) = self.swarm.behaviour_mut().kad.as_mut() else {
            return;
        };
        let id = kad.get_providers(key(&hash));
        self.providing.lookups.insert(id, (hash, 0));
        self.counters.provider_lookups += 1;
        tracing::debug!(%hash, "attachment: looking for holders");
    }

    /// Holders found: each already connected is a candidate of the fetch
    /// now; the others are dialled, and become candidates once identified.
    fn providers_found(&mut self, id: kad::QueryId, found: HashSet<PeerId>) {
        let me = *self.swarm.local_peer_id();
        let Some(&(hash, dialled)) = self.providing.lookups.get(&id) else {
            return;
        };
        let mut found: Vec<PeerId> = found.into_iter().filter(|p| *p != me).collect();
        found.sort();
        let mut dials = dialled;
        for peer in found {
            if self.state.is_banned(&peer) {
                continue;
            }
            self.counters.providers_found += 1;
            if self.swarm.is_connected(&peer) {
                self.blob_candidate(hash, peer);
                continue;
            }
            if dials >= MAX_PROVIDER_DIALS {
                continue;
            }
            // The lookup still runs, so Kademlia knows the holder's
            // addresses from the answers it got.
            let opts = DialOpts::peer_id(peer)
                .condition(PeerCondition::DisconnectedAndNotDialing)
                .build();
            if self.swarm.dial(opts).is_ok() {
                dials += 1;
                self.counters.providers_dialled += 1;
                tracing::debug!(%hash, %peer, "attachment: dialling a holder");
            }
        }
        if let Some(l) = self.providing.lookups.get_mut(&id) {
            l.1 = dials;
        }
    }

    /// Kademlia's events about provider records.
    pub(super) fn provide_event(&mut self, ev: kad::Event) {
        match ev {
            kad::Event::OutboundQueryProgressed {
                id,
                result: kad::QueryResult::GetProviders(r),
                step,
                ..
            } => {
                if let Ok(kad::GetProvidersOk::FoundProviders { providers, .. }) = r {
                    self.providers_found(id, providers);
                }
                if step.last {
                    self.providing.lookups.remove(&id);
                }
            }
            kad::Event::OutboundQueryProgressed {
                id,
                result: kad::QueryResult::StartProviding(r),
                stats,
                step,
            } => {
                if !step.last {
                    return;
                }
                if let Some(hash) = self.providing.announcing.remove(&id) {
                    // No server took the record (none known yet, or none
                    // answered): announce again when one joins.
                    if r.is_err() || stats.num_successes() == 0 {
                        self.providing.unheard.insert(hash);
                    } else {
                        self.providing.unheard.remove(&hash);
                    }
                }
                self.announce_queued();
            }
            kad::Event::InboundRequest {
                request:
                    kad::InboundRequest::AddProvider {
                        record: Some(record),
                    },
            } => {
                self.keep_provider(record);
            }
            _ => {}
        }
    }

    /// Another node announces that it holds content: kept if the key is a
    /// content hash and there is room, so that this node's own records
    /// always have theirs.
    fn keep_provider(&mut self, record: kad::ProviderRecord) {
        if record.key.as_ref().len() != 32 {
            return;
        }
        let now = Instant::now();
        let foreign = &mut self.providing.foreign;
        if !foreign.contains_key(&record.key) && foreign.len() >= MAX_FOREIGN_KEYS {
            foreign.retain(|_, at| *at + PROVIDER_RECORD_TTL > now);
            if foreign.len() >= MAX_FOREIGN_KEYS {
                return;
            }
        }
        foreign.insert(record.key.clone(), now);
        if let Some(kad) = self.swarm.behaviour_mut().kad.as_mut()
            && let Err(e) = kad.store_mut().add_provider(record)
        {
            tracing::debug!("kademlia: provider record not kept: {e}");
        }
    }

    /// A Kademlia server joined the routing table: what no server heard of
    /// is announced again.
    pub(super) fn provide_to_new_server(&mut self) {
        let again: Vec<Hash> = self.providing.unheard.drain().collect();
        for h in again {
            if self.providing.provided.contains(&h) {
                self.providing.queue.push_back(h);
            }
        }
        self.announce_queued();
    }
}
