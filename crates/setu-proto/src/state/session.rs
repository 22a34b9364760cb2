//! Reconciliation sessions, bulk mode, pass-on, and what follows a
//! session: pushes (version 1) or offers, wants and pushes (version 2)
//! (`spec/net.md` §5, `spec/sync.md`).

use super::*;
use crate::message::{MAX_OFFER_IDS, MAX_PUSH_RECORDS, Request};
use setu_sync::bulk;

/// A session this node started with a peer.
pub(super) enum Out {
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

/// What a request of ours was.
pub(super) enum Pending {
    Session,
    Push,
    Offer(Vec<Id>),
    Fetch(Vec<Id>),
    /// A second fetch, from another peer, after the announcer's failed.
    Refetch(Vec<Id>),
}

/// A sync request held until the node has a snapshot of its items.
pub(super) struct Deferred<P> {
    peer: P,
    channel: u64,
    session: u64,
    theirs: u64,
    msg: Vec<u8>,
}

/// A session a peer started with this node.
pub(super) struct Inbound {
    rec: Reconciler,
    touched: u64,
}

/// Whether an initiator holding `mine` records switches a session to bulk
/// mode on a reply from a peer holding `theirs` (`spec/net.md` §5.5): only
/// on a session's first reply, not right after a bulk transfer, not while
/// cooling down after a mostly refused one, and only when far behind.
fn switch_to_bulk(mine: u64, theirs: u64, first: bool, after_bulk: bool, cooling: bool) -> bool {
    first && !after_bulk && !cooling && mine.saturating_mul(BULK_RATIO) < theirs
}

impl<P: PeerKey, A: Addr> State<P, A> {
    fn count(&self) -> u64 {
        self.items.as_ref().map_or(0, |i| i.len() as u64)
    }

    pub(super) fn sync_timers(&mut self, now: u64) {
        let interval = self.cfg.sync_interval_ms;
        let mut due: Vec<P> = self
            .peers
            .iter()
            .filter(|(_, p)| match p.last_sync {
                None => {
                    now >= p.first_due || (p.pass_on && now >= p.connected_at + PASS_ON_DELAY_MS)
                }
                Some(t) => {
                    let since = now.saturating_sub(t);
                    since >= interval || (p.pass_on && since >= PASS_ON_DELAY_MS)
                }
            })
            .map(|(id, _)| *id)
            .collect();
        due.sort();
        if !due.is_empty() {
            // Sessions start from the snapshot there is; the next round's
            // sees whatever the node's owner stored meanwhile.
            self.ask_snapshot();
        }
        for p in due {
            self.start_sync(now, p, false);
        }
        self.inbound
            .retain(|_, s| now.saturating_sub(s.touched) < SESSION_TTL_MS);
    }

    pub(super) fn start_sync(&mut self, now: u64, peer: P, after_bulk: bool) {
        if self.out.contains_key(&peer) || self.banned.contains_key(&peer) {
            return;
        }
        // Not before identify has said which version the peer speaks
        // (unless it stays silent for IDENTIFY_WAIT_MS): a version-2 peer
        // is offered to, not pushed to.
        if self
            .peers
            .get(&peer)
            .is_some_and(|p| !p.identified && now < p.connected_at + IDENTIFY_WAIT_MS)
        {
            return;
        }
        // Without a snapshot (the store cannot list its items yet), this
        // node would look empty and be sent everything: retried at the
        // next tick.
        let Some(items) = self.items.clone() else {
            self.ask_snapshot();
            return;
        };
        if let Some(p) = self.peers.get_mut(&peer) {
            p.last_sync = Some(now);
            p.pass_on = false;
        }
        let count = items.len() as u64;
        let (rec, msg) = Reconciler::initiate(items, self.cfg.reconcile);
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

    fn end_session(&mut self, peer: P, ok: bool) {
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

    pub(super) fn on_request(&mut self, now: u64, peer: P, channel: u64, bytes: &[u8]) {
        if !self.allow_request(now, &peer) {
            self.counters.requests_refused += 1;
            return self.refuse(channel, RefusalCode::Busy, "rate limit");
        }
        let req = match Request::decode(bytes) {
            Ok(r) => r,
            Err(e) => {
                self.refuse(channel, RefusalCode::Malformed, &e.to_string());
                return self.punish(now, peer, format!("malformed request: {e}"));
            }
        };
        match req {
            Request::Sync {
                session,
                count,
                msg,
            } => self.answer_sync(now, peer, channel, session, count, &msg),
            Request::Bulk(b) => match bulk::Request::decode(&b) {
                Ok(req) => self.store(now, Op::Serve(req), Then::AnswerBulk { channel }),
                Err(e) => {
                    self.refuse(channel, RefusalCode::Malformed, &e.to_string());
                    self.punish(now, peer, format!("bad bulk request: {e}"));
                }
            },
            Request::Fetch(ids) => self.store(
                now,
                Op::Load {
                    ids,
                    max_bytes: MAX_FETCH_ANSWER_BYTES,
                },
                Then::AnswerFetch { channel },
            ),
            Request::Push(records) => {
                self.ingest(now, peer, records, Via::Sync, After::Ack { channel })
            }
            Request::Offer(ids) => {
                self.store(now, Op::Missing(ids), Then::AnswerOffer { peer, channel })
            }
        }
    }

    fn answer_sync(
        &mut self,
        now: u64,
        peer: P,
        channel: u64,
        session: u64,
        theirs: u64,
        msg: &[u8],
    ) {
        // A peer that holds far fewer items will switch to bulk mode after
        // this reply and reconcile again afterwards: giving it what it
        // lacks now would send everything twice.
        let bulk_expected = switch_to_bulk(theirs, self.count(), true, false, false);
        let key = (peer, session);
        if !self.inbound.contains_key(&key) {
            let mine: Vec<((P, u64), u64)> = self
                .inbound
                .iter()
                .filter(|((p, _), _)| *p == peer)
                .map(|(k, s)| (*k, s.touched))
                .collect();
            if mine.len() >= MAX_IN_SESSIONS_PER_PEER
                && let Some((oldest, _)) = mine.iter().min_by_key(|(k, t)| (*t, k.1))
            {
                // A peer's new session supersedes its stalest one
                // (abandoned for bulk mode, or cut short).
                self.inbound.remove(oldest);
            }
            if self.inbound.len() >= MAX_IN_SESSIONS {
                self.counters.requests_refused += 1;
                return self.refuse(channel, RefusalCode::Sessions, "too many sessions");
            }
            let Some(items) = self.items.clone() else {
                // No snapshot yet (the node is starting, or its store
                // failed to list): held until one comes, a few at most.
                self.ask_snapshot();
                if self.snapshot_asked && self.deferred.len() < MAX_DEFERRED_SYNCS {
                    self.deferred.push(Deferred {
                        peer,
                        channel,
                        session,
                        theirs,
                        msg: msg.to_vec(),
                    });
                    return;
                }
                self.counters.requests_refused += 1;
                return self.refuse(
                    channel,
                    RefusalCode::Internal,
                    "the store cannot list its records; try later",
                );
            };
            self.counters.sessions_answered += 1;
            self.inbound.insert(
                key,
                Inbound {
                    rec: Reconciler::respond(items, self.cfg.reconcile),
                    touched: now,
                },
            );
        }
        let Some(s) = self.inbound.get_mut(&key) else {
            return;
        };
        s.touched = now;
        match s.rec.handle(msg) {
            Ok(step) => {
                if step.done {
                    self.inbound.remove(&key);
                }
                let count = self.count();
                let msg = step
                    .reply
                    .unwrap_or_else(|| vec![setu_sync::wire::VERSION, 0, 0]);
                self.respond(channel, Response::Sync { count, msg });
                if !bulk_expected {
                    self.queue_gives(now, peer, step.give);
                }
            }
            Err(e @ setu_sync::reconcile::SyncError::TooManyRounds(_)) => {
                // Not an offence: with small frames an honest session can
                // need more rounds than allowed (spec/sync.md §5.7). The
                // session ends; the next sync interval starts a new one.
                self.inbound.remove(&key);
                self.refuse(channel, RefusalCode::UnknownSession, &e.to_string());
            }
            Err(e) => {
                self.inbound.remove(&key);
                self.refuse(channel, RefusalCode::Malformed, &e.to_string());
                self.punish(now, peer, format!("bad sync message: {e}"));
            }
        }
    }

    /// Answers the sync requests held for a snapshot: now that there is
    /// one, or with code 5 if the store could not list its items.
    pub(super) fn answer_deferred(&mut self, now: u64) {
        for d in std::mem::take(&mut self.deferred) {
            if self.items.is_some() {
                self.answer_sync(now, d.peer, d.channel, d.session, d.theirs, &d.msg);
            } else {
                self.counters.requests_refused += 1;
                self.refuse(
                    d.channel,
                    RefusalCode::Internal,
                    "the store cannot list its records; try later",
                );
            }
        }
    }

    pub(super) fn on_response(&mut self, now: u64, peer: P, req: u64, bytes: &[u8]) {
        let Some((_, kind)) = self.pending.remove(&req) else {
            return;
        };
        let resp = match Response::decode(bytes) {
            Ok(r) => r,
            // No bytes: the responder dropped the request unanswered, as a
            // node under load may (`spec/net.md` §4.1). Its transport may
            // end the stream cleanly (yamux sends FIN for a stream dropped
            // after the requester closed its side), so this is a failed
            // request, not an offence.
            Err(crate::message::FrameError::Empty) => return self.failed(now, peer, kind),
            Err(e) => {
                // Banned first: what it failed is then not retried on its
                // word, and its session is counted failed once.
                self.punish(now, peer, format!("malformed response: {e}"));
                return self.failed(now, peer, kind);
            }
        };
        match (kind, resp) {
            (Pending::Fetch(ids), Response::Records(records)) => {
                self.counters.fetched += records.len() as u64;
                self.ingest(now, peer, records, Via::Gossip, After::Fetched { ids })
            }
            (Pending::Refetch(ids), Response::Records(records)) => {
                self.counters.fetched += records.len() as u64;
                self.ingest(now, peer, records, Via::Gossip, After::Refetched { ids })
            }
            (Pending::Offer(offered), Response::Want(ids)) => {
                self.wanted_by_peer(now, peer, &offered, ids)
            }
            (Pending::Session, Response::Sync { count, msg }) => {
                self.on_sync_reply(now, peer, count, &msg)
            }
            (Pending::Session, Response::Bulk(b)) => self.on_bulk(now, peer, &b),
            (Pending::Session, Response::Refused { code, reason }) => {
                tracing::debug!(?peer, ?code, "sync refused: {reason}");
                self.end_session(peer, false);
            }
            (Pending::Session, other) => {
                self.end_session(peer, false);
                self.punish(now, peer, format!("unexpected response {other:?}"));
            }
            // Pushes: acknowledged or refused, the slot is free either way.
            // Fetches, offers: anything but the answer is a failure.
            (kind, _) => self.failed(now, peer, kind),
        }
    }

    pub(super) fn on_failure(&mut self, now: u64, peer: P, req: u64) {
        if let Some((_, kind)) = self.pending.remove(&req) {
            self.failed(now, peer, kind);
        }
    }

    /// A request of ours got no usable answer.
    fn failed(&mut self, now: u64, peer: P, kind: Pending) {
        match kind {
            Pending::Push | Pending::Offer(_) => self.push_done(now, peer),
            Pending::Fetch(ids) => self.fetch_failed(ids, Some(peer)),
            Pending::Refetch(ids) => {
                for id in &ids {
                    self.refetching.remove(id);
                }
            }
            Pending::Session => {
                if self.out.contains_key(&peer) {
                    self.end_session(peer, false);
                }
            }
        }
    }

    fn on_sync_reply(&mut self, now: u64, peer: P, theirs: u64, msg: &[u8]) {
        let mine = self.count();
        let cooling = self.no_bulk.get(&peer).is_some_and(|t| now < *t);
        let Some(Out::Reconcile {
            session,
            rec,
            first,
            after_bulk,
            gave,
        }) = self.out.get_mut(&peer)
        else {
            self.end_session(peer, false);
            return self.punish(now, peer, "a sync reply to a bulk request".into());
        };
        let session = *session;
        if switch_to_bulk(mine, theirs, *first, *after_bulk, cooling) {
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
            return self.send(peer, Request::Bulk(req), Pending::Session);
        }
        *first = false;
        match rec.handle(msg) {
            Ok(step) => {
                *gave += step.give.len() as u64;
                self.queue_gives(now, peer, step.give);
                match step.reply {
                    Some(reply) if !step.done => {
                        let count = self.count();
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
            Err(setu_sync::reconcile::SyncError::TooManyRounds(_)) => {
                // Not an offence (spec/sync.md §5.7): the session ends.
                self.end_session(peer, false);
            }
            Err(e) => {
                self.end_session(peer, false);
                self.punish(now, peer, format!("bad sync reply: {e}"));
            }
        }
    }

    fn on_bulk(&mut self, now: u64, peer: P, batch: &[u8]) {
        let Some(Out::Bulk {
            puller, received, ..
        }) = self.out.get_mut(&peer)
        else {
            self.end_session(peer, false);
            return self.punish(now, peer, "a bulk batch in reply to a sync request".into());
        };
        match puller.handle(batch) {
            Ok(records) => {
                let next = puller.next_request();
                *received += records.len() as u64;
                // The next batch is asked for once this one is stored: the
                // store sets the pace.
                self.ingest(now, peer, records, Via::Bulk, After::Bulk { next });
            }
            Err(e) => {
                self.end_session(peer, false);
                self.punish(now, peer, format!("bad bulk batch: {e}"));
            }
        }
    }

    pub(super) fn bulk_ingested(&mut self, now: u64, peer: P, next: Option<Vec<u8>>, rep: Report) {
        if let Some(Out::Bulk { stored, .. }) = self.out.get_mut(&peer) {
            *stored += rep.stored;
        } else {
            // The session was dropped meanwhile (disconnect, ban).
            return;
        }
        if let Some(why) = rep.offence {
            self.end_session(peer, false);
            return self.punish(now, peer, why);
        }
        match next {
            Some(req) => self.send(peer, Request::Bulk(req), Pending::Session),
            None => {
                self.counters.bulk_done += 1;
                // The session that switched to bulk mode ended well, so
                // every session started is counted done or failed once.
                self.counters.sessions_done += 1;
                // Mostly refused (an allow-list or quota here): streaming
                // everything again would be waste.
                if let Some(Out::Bulk {
                    received, stored, ..
                }) = self.out.remove(&peer)
                    && stored.saturating_mul(2) < received
                {
                    self.no_bulk.insert(peer, now + BULK_COOLDOWN_MS);
                }
                self.start_sync(now, peer, true);
            }
        }
    }

    fn queue_gives(&mut self, now: u64, peer: P, ids: Vec<Id>) {
        if ids.is_empty() {
            return;
        }
        let q = self.gives.entry(peer).or_default();
        for id in ids {
            if q.len() >= MAX_PENDING_GIVES {
                break;
            }
            q.push_back(id);
        }
        self.pump(now, peer);
    }

    /// Sends offers (version 2) or pushes (version 1) to `peer` while
    /// under the in-flight cap.
    fn pump(&mut self, now: u64, peer: P) {
        let pull = self.peers.get(&peer).is_some_and(|p| p.pull);
        while self.inflight.get(&peer).copied().unwrap_or(0) < MAX_PUSH_INFLIGHT {
            let n = if pull {
                MAX_OFFER_IDS
            } else {
                MAX_PUSH_RECORDS
            };
            let Some(q) = self.gives.get_mut(&peer) else {
                return;
            };
            let ids: Vec<Id> = q.drain(..q.len().min(n)).collect();
            if ids.is_empty() {
                return;
            }
            *self.inflight.entry(peer).or_default() += 1;
            if pull {
                self.counters.offered += ids.len() as u64;
                self.send(peer, Request::Offer(ids.clone()), Pending::Offer(ids));
            } else {
                self.store(
                    now,
                    Op::Load {
                        ids,
                        max_bytes: MAX_PUSH_BYTES,
                    },
                    Then::Push { peer },
                );
            }
        }
    }

    /// A push or offer ended: its slot is free.
    pub(super) fn push_done(&mut self, now: u64, peer: P) {
        if let Some(n) = self.inflight.get_mut(&peer) {
            *n = n.saturating_sub(1);
        }
        self.pump(now, peer);
    }

    pub(super) fn loaded_for_push(
        &mut self,
        now: u64,
        peer: P,
        records: Vec<Vec<u8>>,
        rest: Vec<Id>,
    ) {
        if !self.peers.contains_key(&peer) {
            return;
        }
        let pull = self.peers.get(&peer).is_some_and(|p| p.pull);
        if !rest.is_empty() && pull {
            // Wanted, so pushed without a second offer: one more load in
            // the same slot.
            *self.inflight.entry(peer).or_default() += 1;
            self.store(
                now,
                Op::Load {
                    ids: rest,
                    max_bytes: MAX_PUSH_BYTES,
                },
                Then::Push { peer },
            );
        } else if !rest.is_empty() {
            let q = self.gives.entry(peer).or_default();
            for id in rest.into_iter().rev() {
                q.push_front(id);
            }
        }
        if records.is_empty() {
            return self.push_done(now, peer);
        }
        self.counters.records_pushed += records.len() as u64;
        self.send(peer, Request::Push(records), Pending::Push);
    }

    /// The peer answered our offer: push what it wants (only ids we
    /// offered).
    fn wanted_by_peer(&mut self, now: u64, peer: P, offered: &[Id], ids: Vec<Id>) {
        let mut seen = std::collections::HashSet::new();
        let ids: Vec<Id> = ids
            .into_iter()
            .filter(|id| offered.contains(id) && seen.insert(*id))
            .collect();
        if ids.is_empty() {
            return self.push_done(now, peer);
        }
        self.store(
            now,
            Op::Load {
                ids,
                max_bytes: MAX_PUSH_BYTES,
            },
            Then::Push { peer },
        );
    }

    /// Answers an offer with the ids this node lacks, has not refused, and
    /// is not already getting from another peer; those are then wanted
    /// from this peer for [`WANT_TTL_MS`].
    pub(super) fn answer_offer(&mut self, now: u64, peer: P, channel: u64, missing: Vec<Id>) {
        let mut want = Vec::new();
        for id in missing {
            // Wanted already (from this peer or another) and not overdue:
            // it is on its way.
            let elsewhere = self.wanted.get(&id).is_some_and(|(_, until)| *until > now)
                || self.fetching.contains_key(&id)
                || self.refetching.contains_key(&id);
            if elsewhere || self.refusals.contains(&id) {
                continue;
            }
            if self.wanted.len() >= MAX_WANTED && !self.wanted.contains_key(&id) {
                break;
            }
            self.wanted.insert(id, (peer, now + WANT_TTL_MS));
            want.push(id);
        }
        self.counters.wanted += want.len() as u64;
        self.respond(channel, Response::Want(want));
    }
}

#[cfg(test)]
mod tests {
    use super::super::harness::*;
    use super::*;

    #[test]
    fn the_bulk_switch() {
        // (mine, theirs, first reply, after a bulk transfer, cooling, bulk)
        let table = [
            (0, 1, true, false, false, true),
            (0, 0, true, false, false, false),
            (10, 40, true, false, false, false), // 4x is not "more than"
            (10, 41, true, false, false, true),
            (10, 41, false, false, false, false), // a later reply
            (10, 41, true, true, false, false),   // just after bulk
            (10, 41, true, false, true, false),   // cooling down
            (u64::MAX, u64::MAX, true, false, false, false),
        ];
        for (i, (mine, theirs, first, after, cooling, bulk)) in table.into_iter().enumerate() {
            assert_eq!(
                switch_to_bulk(mine, theirs, first, after, cooling),
                bulk,
                "row {i}"
            );
        }
    }

    #[test]
    fn session_limits_supersede_a_peers_stalest_and_refuse_beyond_the_total() {
        let mut s = state();
        let mut store = Toy::default();
        store.add(1..=3);
        for p in 1..=40 {
            let _ = drive(&mut s, &mut store, 0, connect(p, false));
        }
        let sync = |session: u64| {
            Request::Sync {
                session,
                count: 3,
                msg: Reconciler::initiate(Arc::new(vec![]), reconcile::Config::default()).1,
            }
            .encode()
        };
        let answer = |out: &[Output<u32, u32>]| -> Response {
            out.iter()
                .find_map(|o| match o {
                    Output::Respond { bytes, .. } => Response::decode(bytes).ok(),
                    _ => None,
                })
                .expect("an answer")
        };
        // (peer, session, answered with a sync reply)
        let mut ch = 0;
        let mut ask = |s: &mut State<u32, u32>, store: &mut Toy, p: u32, sid: u64| {
            ch += 1;
            let out = drive(s, store, 1, request(p, ch, sync(sid)));
            matches!(answer(&out), Response::Sync { .. })
        };
        // A peer's third session replaces its stalest: all answered.
        for sid in 1..=3 {
            assert!(ask(&mut s, &mut store, 1, sid), "peer 1 session {sid}");
        }
        // 32 in all: peers 2..=16 open two each (30 more, 32 with peer 1's).
        for p in 2..=16 {
            for sid in 1..=2 {
                assert!(ask(&mut s, &mut store, p, sid), "peer {p} session {sid}");
            }
        }
        // The 33rd is refused.
        assert!(!ask(&mut s, &mut store, 17, 1), "beyond MAX_IN_SESSIONS");
        assert!(s.counters().requests_refused >= 1);
    }

    #[test]
    fn records_from_a_session_are_passed_on_to_the_other_peers_only() {
        let mut s = state();
        let mut store = Toy::default();
        for p in 1..=3 {
            let _ = drive(&mut s, &mut store, 0, connect(p, false));
            let _ = drive(
                &mut s,
                &mut store,
                0,
                Input::Identified {
                    peer: p,
                    pull: true,
                },
            );
        }
        // Peer 1 pushes a record the node lacks.
        let push = Request::Push(vec![toy_record(9)]).encode();
        let _ = drive(&mut s, &mut store, 100, request(1, 1, push));
        assert!(store.records.contains_key(&toy_id(9)));
        // Before PASS_ON_DELAY since the last session (at connect): none.
        let out = drive(&mut s, &mut store, PASS_ON_DELAY_MS - 1, Input::Tick);
        assert!(sent_to(&out, 2).is_none() && sent_to(&out, 3).is_none());
        let out = drive(&mut s, &mut store, PASS_ON_DELAY_MS, Input::Tick);
        assert!(sent_to(&out, 2).is_some(), "passed on to peer 2");
        assert!(sent_to(&out, 3).is_some(), "passed on to peer 3");
        assert!(sent_to(&out, 1).is_none(), "not back to the sender");
    }

    #[test]
    fn running_out_of_rounds_ends_the_session_without_a_ban() {
        let mut s = State::new(Config {
            reconcile: reconcile::Config {
                max_rounds: 1,
                ..reconcile::Config::default()
            },
            ..Config::default()
        });
        let mut store = Toy::default();
        store.add(1..=100);
        let _ = drive(&mut s, &mut store, 0, connect(1, false));
        // A peer holding other items: its first message leaves the
        // session open, its second is one round too many.
        let theirs: Vec<Item> = (0..100u8)
            .map(|i| Item {
                ts: u64::from(i),
                id: [i; 32],
            })
            .collect();
        let msg = Reconciler::initiate(Arc::new(theirs), reconcile::Config::default()).1;
        let sync = |msg: Vec<u8>| {
            Request::Sync {
                session: 1,
                count: 100,
                msg,
            }
            .encode()
        };
        let answer = |out: &[Output<u32, u32>]| -> Response {
            out.iter()
                .find_map(|o| match o {
                    Output::Respond { bytes, .. } => Response::decode(bytes).ok(),
                    _ => None,
                })
                .expect("an answer")
        };
        let out = drive(&mut s, &mut store, 1, request(1, 1, sync(msg.clone())));
        assert!(matches!(answer(&out), Response::Sync { .. }), "{out:?}");
        let out = drive(&mut s, &mut store, 2, request(1, 2, sync(msg)));
        assert!(
            matches!(
                answer(&out),
                Response::Refused {
                    code: RefusalCode::UnknownSession,
                    ..
                }
            ),
            "{out:?}"
        );
        assert_eq!(s.counters().peers_banned, 0, "not an offence");
    }

    #[test]
    fn an_empty_response_fails_the_request_and_a_malformed_one_bans() {
        let mut s = state();
        let mut store = Toy::default();
        store.add(1..=10);
        let mut reqs = Vec::new();
        for p in 1..=2 {
            let mut out = drive(&mut s, &mut store, 0, connect(p, true));
            out.extend(drive(
                &mut s,
                &mut store,
                0,
                Input::Identified {
                    peer: p,
                    pull: true,
                },
            ));
            reqs.push(sent_to(&out, p).expect("a first request to each peer"));
        }
        // Peer 1 ends its stream with no bytes, as a responder that drops
        // the request unanswered may: the request failed, no offence.
        let _ = drive(
            &mut s,
            &mut store,
            1,
            Input::Response {
                peer: 1,
                req: reqs[0],
                bytes: Vec::new(),
            },
        );
        assert!(!s.is_banned(&1), "an empty response is no offence");
        assert_eq!(s.counters().peers_banned, 0);
        // Peer 2 answers with a frame of an unknown tag: banned.
        let _ = drive(
            &mut s,
            &mut store,
            1,
            Input::Response {
                peer: 2,
                req: reqs[1],
                bytes: vec![0xee],
            },
        );
        assert!(s.is_banned(&2), "a malformed response is an offence");
    }

    #[test]
    fn a_sync_before_the_first_snapshot_is_answered_once_it_comes() {
        let mut s = state();
        // The first input asks for a snapshot; it has not come yet.
        let out = s.handle(0, connect(1, false));
        let ticket = out
            .iter()
            .find_map(|o| match o {
                Output::Store {
                    ticket,
                    op: Op::Snapshot,
                } => Some(*ticket),
                _ => None,
            })
            .expect("a snapshot asked for");
        let msg = Reconciler::initiate(Arc::new(vec![]), reconcile::Config::default()).1;
        let sync = Request::Sync {
            session: 1,
            count: 0,
            msg,
        }
        .encode();
        let out = s.handle(1, request(1, 7, sync));
        assert!(
            out.iter().all(|o| !matches!(o, Output::Respond { .. })),
            "held"
        );
        let out = s.handle(
            2,
            Input::Done {
                ticket,
                done: Done::Snapshot(Some(Arc::new(vec![]))),
            },
        );
        let answered = out.iter().any(|o| matches!(o,
            Output::Respond { channel: 7, bytes } if matches!(Response::decode(bytes), Ok(Response::Sync { .. }))));
        assert!(answered, "answered with a sync reply: {out:?}");
    }

    #[test]
    fn two_nodes_converge_by_offers_and_wants() {
        for pull in [true, false] {
            let mut net = Net::new(2, pull);
            net.stores[0].add(1..=40);
            net.stores[1].add(30..=60);
            net.link(0, 1);
            net.run_until(60_000, |n| {
                n.stores[0].len() == 60 && n.stores[1].len() == 60
            });
            assert_eq!(net.stores[0].len(), 60, "pull={pull}");
            assert_eq!(net.stores[1].len(), 60, "pull={pull}");
            // Each missing record crossed once.
            let bodies: u64 = net
                .states
                .iter()
                .map(|s| s.counters().bodies_received)
                .sum();
            assert_eq!(bodies, 49, "pull={pull}");
        }
    }

    #[test]
    fn a_far_behind_node_switches_to_bulk() {
        let mut net = Net::new(2, true);
        net.stores[0].add(1..=200);
        net.stores[1].add(1..=3);
        net.link(1, 0); // node 1 dials
        net.run_until(60_000, |n| n.stores[1].len() == 200);
        assert_eq!(net.stores[1].len(), 200);
        assert_eq!(net.states[1].counters().bulk_done, 1);
        assert_eq!(net.states[1].counters().via_bulk, 197);
    }

    #[test]
    fn an_offer_is_not_wanted_twice_from_two_peers() {
        let mut s = state();
        let mut store = Toy::default();
        let _ = drive(&mut s, &mut store, 0, connect(1, false));
        let _ = drive(&mut s, &mut store, 0, connect(2, false));
        let offer = Request::Offer(vec![toy_id(5), toy_id(6)]).encode();
        let want = |out: Vec<Output<u32, u32>>| -> Vec<Id> {
            out.iter()
                .find_map(|o| match o {
                    Output::Respond { bytes, .. } => match Response::decode(bytes) {
                        Ok(Response::Want(ids)) => Some(ids),
                        _ => None,
                    },
                    _ => None,
                })
                .expect("a want")
        };
        let a = want(drive(&mut s, &mut store, 1, request(1, 10, offer.clone())));
        assert_eq!(a, vec![toy_id(5), toy_id(6)]);
        // Peer 2 offers the same: already wanted from peer 1.
        let b = want(drive(&mut s, &mut store, 2, request(2, 11, offer.clone())));
        assert!(b.is_empty());
        // Peer 1 again (a second session found the same): on its way.
        let c = want(drive(&mut s, &mut store, 3, request(1, 12, offer.clone())));
        assert!(c.is_empty());
        // After the want expires, peer 2 may be asked.
        let d = want(drive(
            &mut s,
            &mut store,
            4 + WANT_TTL_MS,
            request(2, 13, offer),
        ));
        assert_eq!(d.len(), 2);
    }
}
