//! Attachments over `/setu/N/blob/1`
//! ([`spec/net.md` §7.4–7.5](../../../../spec/net.md)): serving blocks at a
//! per-peer rate, and running fetches by the rules of
//! [`setu_blob::fetch`]. The rules decide; this module only carries their
//! actions out and tells them what happened.
//!
//! Disk work never runs on the driver's loop: opening a fetch (which
//! re-verifies what an earlier one left), verifying and writing each
//! response, the final check and rename, and reading blocks to serve all run
//! on blocking threads and come back as a [`Disk`] result.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Storage;
use libp2p::PeerId;
use libp2p::request_response::{self, OutboundRequestId, ResponseChannel};
use serde::{Deserialize, Serialize};
use setu_blob::fetch::{Action, Event as FetchEvent, Fetch};
use setu_blob::wire::{Code, Request, Response};
use setu_blob::{Hash, content, verify};
use setu_proto::state::Input;
use tokio::sync::{mpsc, oneshot};

use super::Driver;

/// Responses being read from disk or waiting for their peer's rate, at
/// most; a request beyond is refused as busy.
pub const MAX_SERVING: usize = 32;
/// Of those, for one peer at most: a peer that asks for more waits its
/// turn (refused as busy) and leaves the rest to the others.
pub const MAX_SERVING_PER_PEER: usize = 4;
/// A response is refused as busy rather than held longer than this for
/// its peer's rate (the asker would time it out).
pub const MAX_RATE_WAIT: Duration = Duration::from_secs(10);
/// Fetches running at once, at most.
pub const MAX_FETCHES: usize = 16;
/// Callers waiting on one fetch, at most.
pub const MAX_WAITERS: usize = 16;

/// Results of disk work waiting for the loop, at most (a blocking task
/// waits for room beyond).
pub(super) const DISK_QUEUE: usize = MAX_SERVING + MAX_FETCHES * 4;

/// Why a fetch ended without the content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchFailure {
    /// It could not go on: the reason, for a person.
    Failed(String),
    /// Every peer that answered holds this hash with another size (the
    /// most common one given): the size asked for is not the content's,
    /// and no block can verify against it.
    OtherSize(u64),
}

/// A waiter on a fetch.
pub(super) type Waiter = oneshot::Sender<Result<(), FetchFailure>>;

/// Distinct other sizes a fetch remembers peers giving, at most.
const MAX_OTHER_SIZES: usize = 8;

/// Disk work done on a blocking thread, back for the loop.
pub(super) enum Disk {
    /// A response read from disk, ready to send to the peer.
    Served(PeerId, ResponseChannel<Vec<u8>>, Vec<u8>),
    /// A fetch's partial file opened (what it held re-verified).
    Opened {
        hash: Hash,
        result: Result<content::Partial, String>,
    },
    /// A response verified and its good blocks written.
    Received {
        hash: Hash,
        peer: PeerId,
        range: Range<u64>,
        result: Result<setu_blob::verify::Received, String>,
    },
    /// A complete fetch checked whole and moved into place.
    Finished {
        hash: Hash,
        result: Result<(), FetchFailure>,
    },
    /// The content held whole and the deny-list, read (`driver::provide`).
    Listed(Result<super::provide::Listed, String>),
}

/// How a fetch under way stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchProgress {
    /// The content.
    pub hash: String,
    /// Its size in bytes.
    pub size: u64,
    /// Blocks verified.
    pub blocks_held: u64,
    /// Blocks in all.
    pub blocks: u64,
    /// Requests in flight.
    pub in_flight: usize,
    /// No known peer can give a missing block now.
    pub stalled: bool,
}

struct Job {
    /// Shared with the blocking task verifying a response.
    partial: Arc<Mutex<content::Partial>>,
    size: u64,
    fetch: Fetch<PeerId>,
    waiters: Vec<Waiter>,
    /// Other sizes peers gave for this hash, with how many gave each.
    other_sizes: HashMap<u64, u32>,
}

enum Asked {
    Have,
    Blocks(Range<u64>),
}

/// The driver's attachment state.
pub(super) struct Blobs {
    dir: Option<content::Dir>,
    rate: u64,
    free_at: HashMap<PeerId, Instant>,
    /// Responses under way, by peer (none at 0: the entry goes); their
    /// sum is checked against `MAX_SERVING`.
    serving: HashMap<PeerId, usize>,
    disk_tx: mpsc::Sender<Disk>,
    jobs: HashMap<Hash, Job>,
    /// Fetches whose partial file is being opened: size and waiters.
    opening: HashMap<Hash, (u64, Vec<Waiter>)>,
    /// Fetches being checked whole and moved into place: waiters.
    finishing: HashMap<Hash, Vec<Waiter>>,
    reqs: HashMap<OutboundRequestId, (Hash, PeerId, Asked)>,
}

impl Blobs {
    pub(super) fn new(dir: Option<content::Dir>, rate: u64, disk_tx: mpsc::Sender<Disk>) -> Blobs {
        Blobs {
            dir,
            rate: rate.max(1),
            free_at: HashMap::new(),
            serving: HashMap::new(),
            disk_tx,
            jobs: HashMap::new(),
            opening: HashMap::new(),
            finishing: HashMap::new(),
            reqs: HashMap::new(),
        }
    }

    /// The content folder, if this node keeps attachments.
    pub(super) fn dir(&self) -> Option<content::Dir> {
        self.dir.clone()
    }

    /// Where disk work sends its results.
    pub(super) fn disk_tx(&self) -> mpsc::Sender<Disk> {
        self.disk_tx.clone()
    }

    /// Fetches running, and those whose partial file is being opened
    /// (nothing counted yet).
    pub(super) fn progress(&self) -> Vec<FetchProgress> {
        let opening = self.opening.iter().map(|(h, (size, _))| FetchProgress {
            hash: h.to_hex(),
            size: *size,
            blocks_held: 0,
            blocks: setu_blob::blocks::count(*size),
            in_flight: 0,
            stalled: false,
        });
        self.jobs
            .iter()
            .map(|(h, j)| FetchProgress {
                hash: h.to_hex(),
                size: j.size,
                blocks_held: j.fetch.have().held(),
                blocks: j.fetch.have().len(),
                in_flight: j.fetch.in_flight(),
                stalled: j.fetch.is_stalled(),
            })
            .chain(opening)
            .collect()
    }
}

impl<S: Storage> Driver<S> {
    /// A `fetch` command: starts (or joins) the fetch of `hash`.
    pub(super) fn blob_fetch(&mut self, hash: Hash, size: u64, reply: Waiter) {
        let Some(dir) = self.blobs.dir.clone() else {
            let _ = reply.send(Err(FetchFailure::Failed(
                "this node keeps no attachments".into(),
            )));
            return;
        };
        if dir.path(&hash).is_some() {
            let _ = reply.send(Ok(()));
            return;
        }
        let b = &mut self.blobs;
        let waiters = if let Some(job) = b.jobs.get_mut(&hash) {
            Some(&mut job.waiters)
        } else if let Some((_, w)) = b.opening.get_mut(&hash) {
            Some(w)
        } else {
            b.finishing.get_mut(&hash)
        };
        if let Some(waiters) = waiters {
            if waiters.len() >= MAX_WAITERS {
                let _ = reply.send(Err(FetchFailure::Failed(
                    "too many callers wait on this fetch".into(),
                )));
            } else {
                waiters.push(reply);
            }
            return;
        }
        if b.jobs.len() + b.opening.len() + b.finishing.len() >= MAX_FETCHES {
            let _ = reply.send(Err(FetchFailure::Failed(format!(
                "{MAX_FETCHES} fetches are running; try again when one ends"
            ))));
            return;
        }
        b.opening.insert(hash, (size, vec![reply]));
        let tx = b.disk_tx.clone();
        tokio::task::spawn_blocking(move || {
            let result = dir.partial(&hash, size).map_err(|e| e.to_string());
            let _ = tx.blocking_send(Disk::Opened { hash, result });
        });
    }

    /// Disk work came back.
    pub(super) fn blob_disk(&mut self, done: Disk) {
        match done {
            Disk::Served(peer, channel, bytes) => self.blob_served(peer, channel, bytes),
            Disk::Opened { hash, result } => self.blob_opened(hash, result),
            Disk::Received {
                hash,
                peer,
                range,
                result,
            } => self.blob_received(hash, peer, range, result),
            Disk::Finished { hash, result } => {
                tracing::info!(%hash, ok = result.is_ok(), "attachment fetched");
                if result.is_ok() {
                    self.provide(hash);
                }
                for w in self.blobs.finishing.remove(&hash).unwrap_or_default() {
                    let _ = w.send(result.clone());
                }
            }
            Disk::Listed(result) => self.provide_listed(result),
        }
    }

    /// A fetch's partial file is open: its rules start.
    fn blob_opened(&mut self, hash: Hash, result: Result<content::Partial, String>) {
        let Some((size, waiters)) = self.blobs.opening.remove(&hash) else {
            return;
        };
        let partial = match result {
            Ok(p) => p,
            Err(e) => {
                for w in waiters {
                    let _ = w.send(Err(FetchFailure::Failed(e.clone())));
                }
                return;
            }
        };
        let fetch = Fetch::new(setu_blob::fetch::Config::default(), partial.have().clone());
        self.blobs.jobs.insert(
            hash,
            Job {
                partial: Arc::new(Mutex::new(partial)),
                size,
                fetch,
                waiters,
                other_sizes: HashMap::new(),
            },
        );
        let now = self.now();
        let peers: Vec<PeerId> = self.state.peers().copied().collect();
        for p in peers {
            self.blob_event(hash, FetchEvent::Candidate(p), now);
        }
        self.blob_event(
            hash,
            FetchEvent::Candidate(self.swarm.local_peer_id().to_owned()),
            now,
        );
        self.blob_actions(hash);
    }

    fn blob_event(&mut self, hash: Hash, ev: FetchEvent<PeerId>, now: u64) {
        let me = *self.swarm.local_peer_id();
        if let Some(job) = self.blobs.jobs.get_mut(&hash) {
            // Never ask ourselves.
            if matches!(&ev, FetchEvent::Candidate(p) if *p == me) {
                return;
            }
            job.fetch.handle(ev, now);
        }
    }

    /// Carries out what a fetch's rules ask.
    fn blob_actions(&mut self, hash: Hash) {
        // Stalled, and the peers that hold this hash hold it with another
        // size: the size asked for is wrong (a record may lie about it), so
        // the caller hears which size they hold instead of waiting forever.
        if let Some(job) = self.blobs.jobs.get(&hash)
            && job.fetch.is_stalled()
            && let Some((&other, _)) = job
                .other_sizes
                .iter()
                .max_by_key(|(size, n)| (**n, std::cmp::Reverse(**size)))
        {
            tracing::info!(%hash, asked = job.size, held = other, "attachment: peers hold another size");
            self.blob_stop(hash, FetchFailure::OtherSize(other));
            return;
        }
        loop {
            let Some(action) = self
                .blobs
                .jobs
                .get_mut(&hash)
                .and_then(|j| j.fetch.poll_action())
            else {
                return;
            };
            match action {
                Action::AskHave(peer) => {
                    let id = self
                        .swarm
                        .behaviour_mut()
                        .blob
                        .send_request(&peer, Request::Have(hash).encode());
                    self.blobs.reqs.insert(id, (hash, peer, Asked::Have));
                }
                Action::Request { peer, range } => {
                    let req = Request::Blocks {
                        hash,
                        range: range.clone(),
                    };
                    let id = self
                        .swarm
                        .behaviour_mut()
                        .blob
                        .send_request(&peer, req.encode());
                    self.blobs
                        .reqs
                        .insert(id, (hash, peer, Asked::Blocks(range)));
                }
                Action::FindProviders => self.find_providers(hash),
                Action::Penalise { peer, reason } => {
                    tracing::info!(%peer, %hash, "attachment: {reason:?}; the peer is penalised");
                    self.input(Input::Malformed {
                        peer,
                        why: format!("attachment {hash}: {reason:?}"),
                    });
                }
                Action::Done => {
                    if let Some(job) = self.blobs.jobs.remove(&hash) {
                        self.blobs.reqs.retain(|_, (h, _, _)| *h != hash);
                        self.blobs.finishing.insert(hash, job.waiters);
                        let tx = self.blobs.disk_tx.clone();
                        let partial = job.partial;
                        tokio::task::spawn_blocking(move || {
                            // A late response still being verified holds
                            // the lock first; it writes no block held.
                            let result = partial
                                .lock()
                                .map_err(|_| "a verify task failed".to_string())
                                .and_then(|mut p| p.finish().map_err(|e| e.to_string()))
                                .and_then(|done| {
                                    if done {
                                        Ok(())
                                    } else {
                                        Err("finished with blocks missing".to_string())
                                    }
                                });
                            let _ = tx.blocking_send(Disk::Finished {
                                hash,
                                result: result.map_err(FetchFailure::Failed),
                            });
                        });
                    }
                    return;
                }
            }
        }
    }

    /// Stops a running fetch and tells its callers why; what it verified
    /// stays in `partial/` unless the caller removes it.
    pub(super) fn blob_stop(&mut self, hash: Hash, why: FetchFailure) {
        if let Some(job) = self.blobs.jobs.remove(&hash) {
            self.blobs.reqs.retain(|_, (h, _, _)| *h != hash);
            for w in job.waiters {
                let _ = w.send(Err(why.clone()));
            }
        }
    }

    /// A holder of `hash` (from a provider record) is connected.
    pub(super) fn blob_candidate(&mut self, hash: Hash, peer: PeerId) {
        let now = self.now();
        self.blob_event(hash, FetchEvent::Candidate(peer), now);
        self.blob_actions(hash);
    }

    /// Stops the fetch of `hash` if one runs: the operator denied it.
    pub(super) fn blob_stop_denied(&mut self, hash: Hash) {
        if self.blobs.jobs.contains_key(&hash) {
            tracing::info!(%hash, "attachment denied on this node: its fetch stops");
            self.blob_stop(hash, FetchFailure::Failed("denied on this node".into()));
        }
    }

    /// A peer joined: every fetch may ask it.
    pub(super) fn blob_peer_joined(&mut self, peer: PeerId) {
        let now = self.now();
        let hashes: Vec<Hash> = self.blobs.jobs.keys().copied().collect();
        for h in hashes {
            self.blob_event(h, FetchEvent::Candidate(peer), now);
            self.blob_actions(h);
        }
    }

    /// Whether an attachment request to the peer, or a response to it, is
    /// under way.
    pub(super) fn blob_busy_with(&self, peer: &PeerId) -> bool {
        self.blobs.serving.contains_key(peer) || self.blobs.reqs.values().any(|(_, p, _)| p == peer)
    }

    /// A peer's last connection closed.
    pub(super) fn blob_peer_left(&mut self, peer: PeerId) {
        let now = self.now();
        self.blobs.free_at.remove(&peer);
        self.blobs.reqs.retain(|_, (_, p, _)| *p != peer);
        let hashes: Vec<Hash> = self.blobs.jobs.keys().copied().collect();
        for h in hashes {
            self.blob_event(h, FetchEvent::Disconnected(peer), now);
            self.blob_actions(h);
        }
    }

    /// Time passed.
    pub(super) fn blob_tick(&mut self) {
        let now = self.now();
        // A fetch no caller waits for any more stops; what it verified
        // stays on disk for the next.
        let abandoned: Vec<Hash> = self
            .blobs
            .jobs
            .iter()
            .filter(|(_, j)| j.waiters.iter().all(|w| w.is_closed()))
            .map(|(h, _)| *h)
            .collect();
        for h in abandoned {
            self.blobs.jobs.remove(&h);
            self.blobs.reqs.retain(|_, (x, _, _)| *x != h);
            tracing::debug!(hash = %h, "attachment fetch abandoned: no caller waits");
        }
        let hashes: Vec<Hash> = self.blobs.jobs.keys().copied().collect();
        for h in hashes {
            if let Some(job) = self.blobs.jobs.get_mut(&h) {
                job.fetch.tick(now);
            }
            self.blob_actions(h);
        }
    }

    /// A response read from disk: send it.
    fn blob_served(&mut self, peer: PeerId, channel: ResponseChannel<Vec<u8>>, bytes: Vec<u8>) {
        if let Some(n) = self.blobs.serving.get_mut(&peer) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.blobs.serving.remove(&peer);
            }
        }
        if self
            .swarm
            .behaviour_mut()
            .blob
            .send_response(channel, bytes)
            .is_err()
        {
            tracing::debug!("attachment response dropped: connection closed");
        }
    }

    pub(super) fn blob_message(&mut self, ev: request_response::Event<Vec<u8>, Vec<u8>>) {
        match ev {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => self.blob_request(peer, request, channel),
                request_response::Message::Response {
                    request_id,
                    response,
                } => self.blob_response(peer, request_id, response),
            },
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                tracing::debug!(%peer, "attachment request failed: {error}");
                if let Some((hash, _, asked)) = self.blobs.reqs.remove(&request_id) {
                    let now = self.now();
                    if let Asked::Blocks(range) = asked {
                        self.blob_event(hash, FetchEvent::Failed { peer, range }, now);
                    }
                    self.blob_actions(hash);
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                if let request_response::InboundFailure::Io(e) = &error
                    && e.kind() == std::io::ErrorKind::InvalidData
                {
                    self.input(Input::Malformed {
                        peer,
                        why: format!("attachment request: {e}"),
                    });
                }
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    fn blob_request(&mut self, peer: PeerId, request: Vec<u8>, channel: ResponseChannel<Vec<u8>>) {
        let refuse = |code: Code, reason: &str| {
            Response::Refused {
                code,
                reason: reason.to_string(),
            }
            .encode()
        };
        let req = match Request::decode(&request) {
            Ok(r) => r,
            Err(e) => {
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .blob
                    .send_response(channel, refuse(Code::Malformed, &e.to_string()));
                self.input(Input::Malformed {
                    peer,
                    why: e.to_string(),
                });
                return;
            }
        };
        let Some(dir) = self.blobs.dir.clone() else {
            let _ = self.swarm.behaviour_mut().blob.send_response(
                channel,
                refuse(Code::NotHeld, "this node keeps no attachments"),
            );
            return;
        };
        let theirs = self.blobs.serving.get(&peer).copied().unwrap_or(0);
        let all: usize = self.blobs.serving.values().sum();
        if all >= MAX_SERVING || theirs >= MAX_SERVING_PER_PEER {
            let _ = self
                .swarm
                .behaviour_mut()
                .blob
                .send_response(channel, refuse(Code::Busy, "too many responses under way"));
            return;
        }
        let (hash, range) = match req {
            Request::Have(hash) => {
                let resp = self.blob_have(&dir, &hash);
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .blob
                    .send_response(channel, resp.encode());
                return;
            }
            Request::Blocks { hash, range } => (hash, range),
        };
        let size = match self.blob_size(&dir, &hash) {
            Some(s) if verify::valid_range(&range, s) => s,
            Some(_) => {
                let _ = self.swarm.behaviour_mut().blob.send_response(
                    channel,
                    refuse(Code::Malformed, "the range is outside the content"),
                );
                return;
            }
            None => {
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .blob
                    .send_response(channel, refuse(Code::NotHeld, "not held here"));
                return;
            }
        };
        // The peer's rate: this response leaves once the bytes before it
        // have had their time.
        let bytes = verify::byte_len(&range, size);
        let now = Instant::now();
        let start = self
            .blobs
            .free_at
            .get(&peer)
            .copied()
            .unwrap_or(now)
            .max(now);
        if start.duration_since(now) > MAX_RATE_WAIT {
            let _ = self.swarm.behaviour_mut().blob.send_response(
                channel,
                refuse(Code::Busy, "over this node's rate for you; ask later"),
            );
            return;
        }
        let cost = Duration::from_secs_f64(bytes as f64 / self.blobs.rate as f64);
        self.blobs.free_at.insert(peer, start + cost);
        *self.blobs.serving.entry(peer).or_default() += 1;
        let tx = self.blobs.disk_tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(tokio::time::Instant::from_std(start)).await;
            let resp = tokio::task::spawn_blocking(move || match dir.encode(&hash, size, &range) {
                Ok(b) => Response::Blocks(b),
                Err(e @ setu_blob::Error::Denied { .. }) => Response::Refused {
                    code: Code::Denied,
                    reason: e.to_string(),
                },
                Err(e) => Response::Refused {
                    code: Code::NotHeld,
                    reason: e.to_string(),
                },
            })
            .await
            .unwrap_or(Response::Refused {
                code: Code::Busy,
                reason: "internal error".into(),
            });
            let _ = tx.send(Disk::Served(peer, channel, resp.encode())).await;
        });
    }

    /// The size of content held whole or in part, as the record of a fetch
    /// under way or the file says.
    fn blob_size(&self, dir: &content::Dir, hash: &Hash) -> Option<u64> {
        if let Some(job) = self.blobs.jobs.get(hash) {
            return Some(job.size);
        }
        let p = dir.path(hash)?;
        std::fs::metadata(p).ok().map(|m| m.len())
    }

    fn blob_have(&self, dir: &content::Dir, hash: &Hash) -> Response {
        if let Some(job) = self.blobs.jobs.get(hash) {
            return Response::Have {
                size: job.size,
                ranges: job.fetch.have().ranges(),
            };
        }
        match self.blob_size(dir, hash) {
            Some(size) => Response::Have {
                size,
                ranges: setu_blob::blocks::Set::full(setu_blob::blocks::count(size)).ranges(),
            },
            None => Response::Have {
                size: 0,
                ranges: Vec::new(),
            },
        }
    }

    fn blob_response(&mut self, peer: PeerId, request_id: OutboundRequestId, bytes: Vec<u8>) {
        let Some((hash, _, asked)) = self.blobs.reqs.remove(&request_id) else {
            return;
        };
        let now = self.now();
        // A response with no bytes is no answer (a stream dropped under
        // load, spec/net.md §4.1): the request failed, no offence.
        if bytes.is_empty() {
            if let Asked::Blocks(range) = asked {
                self.blob_event(hash, FetchEvent::Failed { peer, range }, now);
            }
            self.blob_actions(hash);
            return;
        }
        let resp = match Response::decode(&bytes) {
            Ok(r) => r,
            Err(e) => {
                self.input(Input::Malformed {
                    peer,
                    why: e.to_string(),
                });
                if let Asked::Blocks(range) = asked {
                    self.blob_event(hash, FetchEvent::Failed { peer, range }, now);
                }
                self.blob_actions(hash);
                return;
            }
        };
        let size = match self.blobs.jobs.get(&hash) {
            Some(j) => j.size,
            None => return,
        };
        match (asked, resp) {
            (
                Asked::Have,
                Response::Have {
                    size: theirs,
                    ranges,
                },
            ) => {
                // A peer that holds other bytes under this hash, or nothing,
                // offers nothing; the other size is remembered.
                if theirs != size
                    && theirs > 0
                    && !ranges.is_empty()
                    && let Some(job) = self.blobs.jobs.get_mut(&hash)
                    && (job.other_sizes.len() < MAX_OTHER_SIZES
                        || job.other_sizes.contains_key(&theirs))
                {
                    *job.other_sizes.entry(theirs).or_default() += 1;
                }
                let ranges = if theirs == size { ranges } else { Vec::new() };
                self.blob_event(hash, FetchEvent::Have { peer, ranges }, now);
            }
            (Asked::Blocks(range), Response::Blocks(encoded)) => {
                // Verified and written on a blocking thread; the rules hear
                // of it in `blob_received`.
                let Some(job) = self.blobs.jobs.get(&hash) else {
                    return;
                };
                let partial = Arc::clone(&job.partial);
                let tx = self.blobs.disk_tx.clone();
                tokio::task::spawn_blocking(move || {
                    let result = partial
                        .lock()
                        .map_err(|_| "a verify task failed".to_string())
                        .and_then(|mut p| p.receive(&range, &encoded).map_err(|e| e.to_string()));
                    let _ = tx.blocking_send(Disk::Received {
                        hash,
                        peer,
                        range,
                        result,
                    });
                });
                return;
            }
            (
                Asked::Blocks(range),
                Response::Refused {
                    code: Code::Busy, ..
                },
            ) => {
                self.blob_event(hash, FetchEvent::Busy { peer, range }, now);
            }
            (Asked::Blocks(range), Response::Refused { .. } | Response::Have { .. }) => {
                self.blob_event(hash, FetchEvent::Failed { peer, range }, now);
            }
            (Asked::Have, _) => {
                self.blob_event(
                    hash,
                    FetchEvent::Have {
                        peer,
                        ranges: Vec::new(),
                    },
                    now,
                );
            }
        }
        self.blob_actions(hash);
    }

    /// A response was verified and its good blocks written.
    fn blob_received(
        &mut self,
        hash: Hash,
        peer: PeerId,
        range: Range<u64>,
        result: Result<setu_blob::verify::Received, String>,
    ) {
        if !self.blobs.jobs.contains_key(&hash) {
            return;
        }
        let now = self.now();
        match result {
            Ok(r) => self.blob_event(
                hash,
                FetchEvent::Response {
                    peer,
                    range,
                    verified: r.verified,
                    fault: r.fault,
                },
                now,
            ),
            Err(e) => {
                // Our disk, not the peer: the fetch stops.
                tracing::warn!(%hash, "attachment: {e}");
                self.blob_stop(hash, FetchFailure::Failed(e));
                return;
            }
        }
        self.blob_actions(hash);
    }
}
