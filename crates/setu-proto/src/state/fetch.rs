//! Gossip: whole records or announcements, the verdicts, and fetching an
//! announced record from its announcer, or once from another peer
//! (`spec/net.md` §7).

use super::*;
use crate::message::{Announcement, Request};
use session::Pending;

/// An announced record being fetched: the gossip message to judge once
/// the body is stored, who announced it, and when it was asked.
pub(super) struct Fetching<P> {
    msg: u64,
    pub(super) source: P,
    at: u64,
    /// The announced record's ts.
    ts: u64,
}

impl<P: PeerKey, A: Addr> State<P, A> {
    /// Publishes a record this node stored: whole, or as an announcement.
    pub(super) fn publish(&mut self, record: Vec<u8>) {
        let size = record.len() as u64;
        let payload = match self.cfg.gossip {
            Gossip::Full => record,
            Gossip::Announce => match setu_core::record::parse(record) {
                Ok(p) => Announcement {
                    id: p.id().0,
                    ts: p.envelope().ts,
                    size,
                }
                .encode(),
                Err(e) => {
                    tracing::warn!("not announcing an invalid record: {e}");
                    return;
                }
            },
        };
        self.counters.gossip_published += 1;
        self.outputs.push(Output::Publish(payload));
    }

    pub(super) fn on_gossip(&mut self, now: u64, source: P, msg: u64, data: Vec<u8>) {
        match self.cfg.gossip {
            Gossip::Full => {
                self.ingest(now, source, vec![data], Via::Gossip, After::Gossip { msg })
            }
            Gossip::Announce => self.on_announcement(now, source, msg, &data),
        }
    }

    fn verdict(&mut self, msg: u64, acceptance: Acceptance) {
        self.outputs.push(Output::Verdict { msg, acceptance });
    }

    fn holds(&self, item: Item) -> bool {
        self.items
            .as_ref()
            .is_some_and(|i| i.binary_search(&item).is_ok())
    }

    /// An announcement: fetch the body from the announcer unless it is
    /// held, refused before, or being fetched; the announcement is forwarded
    /// only once the body is stored.
    fn on_announcement(&mut self, now: u64, source: P, msg: u64, data: &[u8]) {
        let a = match Announcement::decode(data) {
            Ok(a) => a,
            Err(e) => {
                self.verdict(msg, Acceptance::Reject);
                return self.punish(now, source, format!("malformed announcement: {e}"));
            }
        };
        self.counters.announcements += 1;
        let held = self.holds(Item { ts: a.ts, id: a.id });
        if held
            || self.refusals.contains(&a.id)
            || self.fetching.contains_key(&a.id)
            || self.fetching.len() >= MAX_PENDING_FETCHES
        {
            return self.verdict(msg, Acceptance::Ignore);
        }
        self.fetching.insert(
            a.id,
            Fetching {
                msg,
                source,
                at: now,
                ts: a.ts,
            },
        );
        self.send(
            source,
            Request::Fetch(vec![a.id]),
            Pending::Fetch(vec![a.id]),
        );
    }

    pub(super) fn fetch_timers(&mut self, now: u64) {
        let mut late: Vec<Id> = self
            .fetching
            .iter()
            .filter(|(_, f)| now.saturating_sub(f.at) >= FETCH_TIMEOUT_MS)
            .map(|(id, _)| *id)
            .collect();
        late.sort();
        self.fetch_failed(late, None);
    }

    /// Ignores the announcements of `ids` whose fetch failed, and asks
    /// another peer for each (§7.2). With `from`, only fetches sent to that
    /// peer (a later announcer's may be pending).
    pub(super) fn fetch_failed(&mut self, ids: Vec<Id>, from: Option<P>) {
        for id in ids {
            let ours = self
                .fetching
                .get(&id)
                .is_some_and(|f| from.is_none_or(|p| p == f.source));
            if ours && let Some(f) = self.fetching.remove(&id) {
                self.verdict(f.msg, Acceptance::Ignore);
                self.refetch(id, f.ts, f.source);
            }
        }
    }

    /// Asks one other peer for a record whose fetch from its announcer
    /// failed: gossipsub hands over only the first copy of an announcement,
    /// so no other announcer is known. A connected peer is picked at random
    /// (from the seed). Once only: if that fails too, reconciliation
    /// delivers the record.
    fn refetch(&mut self, id: Id, ts: u64, announcer: P) {
        if self.refetching.contains_key(&id)
            || self.refetching.len() >= MAX_PENDING_REFETCHES
            || self.banned.contains_key(&announcer)
            || self.holds(Item { ts, id })
            || self.refusals.contains(&id)
        {
            return;
        }
        let mut others: Vec<P> = self
            .peers
            .keys()
            .filter(|p| **p != announcer)
            .copied()
            .collect();
        if others.is_empty() {
            return;
        }
        others.sort();
        let peer = others[(self.random() % others.len() as u64) as usize];
        self.refetching.insert(id, peer);
        self.counters.refetches += 1;
        self.send(peer, Request::Fetch(vec![id]), Pending::Refetch(vec![id]));
    }

    /// The answer to a fetch was ingested: judge each announcement it was
    /// fetched for.
    pub(super) fn fetched(&mut self, now: u64, peer: P, ids: Vec<Id>, rep: Report) {
        for id in ids {
            // Only the announcement this answer was fetched for.
            if self.fetching.get(&id).is_none_or(|f| f.source != peer) {
                continue;
            }
            let Some(f) = self.fetching.remove(&id) else {
                continue;
            };
            let acceptance = if rep.held.contains(&id) {
                Acceptance::Accept
            } else if rep.offence.is_some() {
                Acceptance::Reject
            } else {
                Acceptance::Ignore
            };
            self.verdict(f.msg, acceptance);
            if rep.offence.is_none() && !rep.failed && !rep.seen.contains(&id) {
                // Answered without the body: another peer may have it.
                self.refetch(id, f.ts, f.source);
            }
        }
        if let Some(why) = rep.offence {
            self.punish(now, peer, format!("fetched {why}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::harness::*;
    use super::*;

    fn announce(id: Id, ts: u64) -> Vec<u8> {
        Announcement { id, ts, size: 10 }.encode()
    }

    #[test]
    fn an_announcement_is_fetched_once_and_judged_when_stored() {
        let mut s = state();
        let mut store = Toy::default();
        store.add(1..=1);
        let _ = drive(&mut s, &mut store, 0, connect(1, false));
        let _ = drive(&mut s, &mut store, 0, connect(2, false));
        // (source, msg, id, what the state does)
        let gossip = |src, msg, n: u8| Input::Gossip {
            source: src,
            msg,
            data: announce(toy_id(n), u64::from(n)),
        };
        // Held already: ignored, nothing fetched.
        let out = drive(&mut s, &mut store, 1, gossip(1, 100, 1));
        assert_eq!(
            out,
            vec![Output::Verdict {
                msg: 100,
                acceptance: Acceptance::Ignore
            }]
        );
        // New: fetched from its announcer.
        let out = drive(&mut s, &mut store, 2, gossip(1, 101, 7));
        let req = sent_to(&out, 1).expect("a fetch to the announcer");
        // A second announcer of the same record while fetching: ignored.
        let out = drive(&mut s, &mut store, 3, gossip(2, 102, 7));
        assert_eq!(
            out,
            vec![Output::Verdict {
                msg: 102,
                acceptance: Acceptance::Ignore
            }]
        );
        // The body arrives: stored, and the announcement accepted.
        let body = Response::Records(vec![toy_record(7)]).encode();
        let out = drive(
            &mut s,
            &mut store,
            4,
            Input::Response {
                peer: 1,
                req,
                bytes: body,
            },
        );
        assert!(out.contains(&Output::Verdict {
            msg: 101,
            acceptance: Acceptance::Accept
        }));
        assert!(store.records.contains_key(&toy_id(7)));
        assert_eq!(s.counters().via_gossip, 1);
    }

    #[test]
    fn a_failed_fetch_is_asked_once_of_another_peer() {
        let mut s = state();
        let mut store = Toy::default();
        let _ = drive(&mut s, &mut store, 0, connect(1, false));
        let _ = drive(&mut s, &mut store, 0, connect(2, false));
        let out = drive(
            &mut s,
            &mut store,
            1,
            Input::Gossip {
                source: 1,
                msg: 5,
                data: announce(toy_id(9), 9),
            },
        );
        let _ = sent_to(&out, 1).expect("a fetch");
        // No answer within the timeout: ignored, and asked of peer 2.
        let out = drive(&mut s, &mut store, 1 + FETCH_TIMEOUT_MS, Input::Tick);
        assert!(out.contains(&Output::Verdict {
            msg: 5,
            acceptance: Acceptance::Ignore
        }));
        let req = sent_to(&out, 2).expect("a second fetch, from peer 2");
        assert_eq!(s.counters().refetches, 1);
        // Peer 2 fails too: no third attempt.
        let out = drive(&mut s, &mut store, 10_000, Input::Failure { peer: 2, req });
        assert!(out.iter().all(|o| !matches!(o, Output::Send { .. })));
    }

    #[test]
    fn a_forged_body_is_rejected_and_its_sender_banned() {
        let mut s = state();
        let mut store = Toy::default();
        let _ = drive(&mut s, &mut store, 0, connect(1, false));
        let out = drive(
            &mut s,
            &mut store,
            1,
            Input::Gossip {
                source: 1,
                msg: 5,
                data: announce(toy_id(9), 9),
            },
        );
        let req = sent_to(&out, 1).expect("a fetch");
        let body = Response::Records(vec![toy_forged(9)]).encode();
        let out = drive(
            &mut s,
            &mut store,
            2,
            Input::Response {
                peer: 1,
                req,
                bytes: body,
            },
        );
        assert!(out.contains(&Output::Verdict {
            msg: 5,
            acceptance: Acceptance::Reject
        }));
        assert!(out.iter().any(|o| matches!(o, Output::Ban { peer: 1, .. })));
        assert!(!store.records.contains_key(&toy_id(9)));
    }

    #[test]
    fn a_record_refused_by_a_rule_is_not_an_offence_and_not_fetched_again() {
        let mut s = state();
        let mut store = Toy::default();
        let _ = drive(&mut s, &mut store, 0, connect(1, false));
        let out = drive(
            &mut s,
            &mut store,
            1,
            Input::Gossip {
                source: 1,
                msg: 5,
                data: announce(toy_id(0xEE), 3),
            },
        );
        let req = sent_to(&out, 1).expect("a fetch");
        let body = Response::Records(vec![toy_record(0xEE)]).encode();
        let out = drive(
            &mut s,
            &mut store,
            2,
            Input::Response {
                peer: 1,
                req,
                bytes: body,
            },
        );
        assert!(out.iter().all(|o| !matches!(o, Output::Ban { .. })));
        assert_eq!(s.counters().refused_rule, 1);
        // Announced again: not fetched.
        let out = drive(
            &mut s,
            &mut store,
            3,
            Input::Gossip {
                source: 1,
                msg: 6,
                data: announce(toy_id(0xEE), 3),
            },
        );
        assert_eq!(
            out,
            vec![Output::Verdict {
                msg: 6,
                acceptance: Acceptance::Ignore
            }]
        );
    }
}
