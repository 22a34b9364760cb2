//! Connections, the per-peer request budget, bans and redial backoff
//! (`spec/net.md` §8).

use super::*;

/// A connected peer, as the rules see it.
#[derive(Debug)]
pub(super) struct Peer {
    /// When the last session with it started.
    pub(super) last_sync: Option<u64>,
    /// Before any session: when the first is due.
    pub(super) first_due: u64,
    /// When it connected.
    pub(super) connected_at: u64,
    /// New records came from another peer by sync: reconcile with this one
    /// soon ([`PASS_ON_DELAY_MS`]).
    pub(super) pass_on: bool,
    /// It speaks protocol version 2 (offers and wants).
    pub(super) pull: bool,
    /// This node dialled it.
    dialer: bool,
    /// Identify has told what it speaks.
    pub(super) identified: bool,
    tokens: f64,
    refilled: u64,
}

/// An address to keep dialling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target<P, A> {
    /// The address to dial.
    pub addr: A,
    /// The same address without its peer id, as connections report it.
    pub bare: A,
    /// The peer the address names, if it names one.
    pub named: Option<P>,
}

#[derive(Debug)]
pub(super) struct Redial<P, A> {
    bare: A,
    named: Option<P>,
    delay: u64,
    next_at: u64,
    /// The peer last reached at this address.
    peer: Option<P>,
}

impl<P: PeerKey, A: Addr> State<P, A> {
    pub(super) fn connected(&mut self, now: u64, peer: P, dialer: bool, remote: A) {
        if self.banned.contains_key(&peer) {
            return;
        }
        if dialer {
            for r in self.redial.values_mut() {
                if r.bare == remote && r.named.is_none_or(|p| p == peer) {
                    r.peer = Some(peer);
                }
            }
        }
        // The dialer syncs once the peer is identified (so it knows which
        // protocol version it speaks), or IDENTIFY_WAIT_MS after connecting
        // without; the other side one interval after connecting.
        self.peers.insert(
            peer,
            Peer {
                last_sync: None,
                first_due: if dialer {
                    now + IDENTIFY_WAIT_MS
                } else {
                    now.saturating_add(self.cfg.sync_interval_ms)
                },
                connected_at: now,
                dialer,
                identified: false,
                pass_on: false,
                pull: false,
                tokens: PEER_REQUEST_BURST,
                refilled: now,
            },
        );
        self.emit(Event::PeerConnected(peer));
    }

    pub(super) fn disconnected(&mut self, now: u64, peer: P) {
        let known = self.peers.remove(&peer).is_some();
        self.forget(&peer);
        let gone: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, (p, _))| *p == peer)
            .map(|(id, _)| *id)
            .collect();
        for id in gone {
            self.on_failure(now, peer, id);
        }
        self.wanted.retain(|_, (p, _)| *p != peer);
        for r in self.redial.values_mut() {
            if r.peer == Some(peer) {
                r.next_at = now + r.delay;
            }
        }
        if known {
            self.emit(Event::PeerDisconnected(peer));
        }
    }

    pub(super) fn identified(&mut self, now: u64, peer: P, pull: bool) {
        // On this network: the connection is good, so redial promptly if
        // it drops.
        for r in self.redial.values_mut() {
            if r.peer == Some(peer) {
                r.delay = REDIAL_MIN_MS;
            }
        }
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        p.pull = pull && self.cfg.pull;
        let first = !std::mem::replace(&mut p.identified, true);
        if first && p.dialer {
            self.start_sync(now, peer, false);
        }
    }

    /// Drops what this node was doing with a peer.
    pub(super) fn forget(&mut self, peer: &P) {
        if self.out.remove(peer).is_some() {
            self.counters.sessions_failed += 1;
        }
        self.gives.remove(peer);
        self.inflight.remove(peer);
        self.inbound.retain(|(p, _), _| p != peer);
    }

    /// Bans a peer for input no version of the rules could accept
    /// ([`crate::versioning`]).
    pub(super) fn punish(&mut self, now: u64, peer: P, reason: String) {
        if self.banned.contains_key(&peer) {
            return;
        }
        tracing::warn!(?peer, "banning peer: {reason}");
        self.counters.peers_banned += 1;
        self.banned.insert(peer, now + BAN_MS);
        self.peers.remove(&peer);
        self.forget(&peer);
        self.outputs.push(Output::Ban {
            peer,
            reason: reason.clone(),
        });
        self.emit(Event::PeerBanned { peer, reason });
    }

    pub(super) fn unban_timers(&mut self, now: u64) {
        let mut over: Vec<P> = self
            .banned
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(p, _)| *p)
            .collect();
        over.sort();
        for p in over {
            self.banned.remove(&p);
            self.outputs.push(Output::Unban(p));
        }
    }

    /// Takes one request from the peer's budget: a token bucket of
    /// [`PEER_REQUEST_BURST`] refilled at [`PEER_REQUESTS_PER_SEC`].
    pub(super) fn allow_request(&mut self, now: u64, peer: &P) -> bool {
        let Some(p) = self.peers.get_mut(peer) else {
            return !self.banned.contains_key(peer);
        };
        let dt = now.saturating_sub(p.refilled) as f64 / 1000.0;
        p.tokens = (p.tokens + dt * PEER_REQUESTS_PER_SEC).min(PEER_REQUEST_BURST);
        p.refilled = now;
        if p.tokens >= 1.0 {
            p.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    pub(super) fn add_redial(&mut self, now: u64, t: Target<P, A>, dial_now: bool) {
        if self.redial.len() >= MAX_REDIAL_TARGETS && !self.redial.contains_key(&t.addr) {
            return;
        }
        self.redial.entry(t.addr).or_insert(Redial {
            bare: t.bare,
            named: t.named,
            delay: REDIAL_MIN_MS,
            next_at: if dial_now { now } else { now + REDIAL_MIN_MS },
            peer: None,
        });
    }

    pub(super) fn discovered(&mut self, now: u64, t: Target<P, A>) {
        if t.named
            .is_some_and(|p| self.banned.contains_key(&p) || self.peers.contains_key(&p))
        {
            return;
        }
        self.outputs.push(Output::Dial(t.addr.clone()));
        self.add_redial(now, t, false);
    }

    /// Redials known addresses that are not connected, each with its own
    /// doubling delay.
    pub(super) fn redial_timers(&mut self, now: u64) {
        let mut due: Vec<A> = Vec::new();
        for (addr, r) in &self.redial {
            let idle = r
                .peer
                .is_none_or(|p| !self.peers.contains_key(&p) && !self.banned.contains_key(&p));
            if r.next_at <= now && idle {
                due.push(addr.clone());
            }
        }
        for addr in due {
            if let Some(r) = self.redial.get_mut(&addr) {
                r.next_at = now + r.delay;
                r.delay = (r.delay * 2).min(REDIAL_MAX_MS);
            }
            self.outputs.push(Output::Dial(addr));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::harness::*;
    use super::*;

    #[test]
    fn the_request_budget_is_a_token_bucket() {
        // (ms since the last request, requests made, how many allowed)
        let table: &[(u64, usize, usize)] = &[
            (0, 400, 400), // the burst
            (0, 1, 0),     // then nothing
            (10, 2, 1),    // 10 ms refill one token
            (1_000, 150, 100),
            (60_000, 500, 400), // never more than the burst
        ];
        let mut s = state();
        let mut now = 1_000;
        let _ = s.handle(now, connect(1, false));
        for (i, (after, asked, allowed)) in table.iter().enumerate() {
            now += after;
            let got = (0..*asked).filter(|_| s.allow_request(now, &1)).count();
            assert_eq!(got, *allowed, "row {i}");
        }
    }

    #[test]
    fn redial_backs_off_and_resets_once_identified() {
        let mut s = state();
        let t = Target {
            addr: 100,
            bare: 100,
            named: None,
        };
        let _ = s.handle(
            0,
            Input::Command(Command::Redial {
                target: t,
                now: true,
            }),
        );
        // (tick at, dialled)
        let table = [
            (0, true),
            (100, false),
            (500, true), // +500
            (1_000, false),
            (1_500, true), // +1000
            (3_400, false),
            (3_500, true), // +2000
        ];
        for (at, dialled) in table {
            let out = s.handle(at, Input::Tick);
            assert_eq!(out.contains(&Output::Dial(100)), dialled, "tick at {at}");
        }
        // Connected and identified: the delay starts again from the
        // minimum once it drops.
        let _ = s.handle(
            3_600,
            Input::Connected {
                peer: 7,
                dialer: true,
                remote: 100,
            },
        );
        let _ = s.handle(
            3_600,
            Input::Identified {
                peer: 7,
                pull: true,
            },
        );
        assert!(!s.handle(20_000, Input::Tick).contains(&Output::Dial(100)));
        let _ = s.handle(20_000, Input::Disconnected { peer: 7 });
        assert!(!s.handle(20_400, Input::Tick).contains(&Output::Dial(100)));
        assert!(s.handle(20_500, Input::Tick).contains(&Output::Dial(100)));
    }

    #[test]
    fn a_dialler_reconciles_once_identified_or_after_the_wait() {
        let mut store = Toy::default();
        store.add(1..=3);
        // Identified at 50 ms: the session starts then.
        let mut s = state();
        let _ = drive(&mut s, &mut store, 0, connect(1, true));
        assert!(sent_to(&drive(&mut s, &mut store, 40, Input::Tick), 1).is_none());
        let out = drive(
            &mut s,
            &mut store,
            50,
            Input::Identified {
                peer: 1,
                pull: true,
            },
        );
        assert!(sent_to(&out, 1).is_some(), "on identify");
        // Never identified: IDENTIFY_WAIT_MS after connecting, whatever
        // the clock reads (the node may have just started).
        let mut s = state();
        let _ = drive(&mut s, &mut store, 0, connect(1, true));
        let early = drive(&mut s, &mut store, IDENTIFY_WAIT_MS - 1, Input::Tick);
        assert!(sent_to(&early, 1).is_none());
        let due = drive(&mut s, &mut store, IDENTIFY_WAIT_MS, Input::Tick);
        assert!(sent_to(&due, 1).is_some(), "after the wait");
        // The side that was dialled: one interval after connecting.
        let mut s = state();
        let _ = drive(&mut s, &mut store, 0, connect(2, false));
        let _ = drive(
            &mut s,
            &mut store,
            1,
            Input::Identified {
                peer: 2,
                pull: true,
            },
        );
        let interval = Config::default().sync_interval_ms;
        assert!(sent_to(&drive(&mut s, &mut store, interval - 1, Input::Tick), 2).is_none());
        assert!(sent_to(&drive(&mut s, &mut store, interval, Input::Tick), 2).is_some());
    }

    #[test]
    fn a_ban_blocks_for_its_term_then_lifts() {
        let mut s = state();
        let _ = s.handle(0, connect(3, false));
        let out = s.handle(
            10,
            Input::Malformed {
                peer: 3,
                why: "cut short".into(),
            },
        );
        assert!(matches!(
            &out[..],
            [
                Output::Ban { peer: 3, .. },
                Output::Event(Event::PeerBanned { .. })
            ]
        ));
        assert!(s.is_banned(&3));
        // A second offence while banned changes nothing.
        let out = s.handle(
            20,
            Input::Malformed {
                peer: 3,
                why: "again".into(),
            },
        );
        assert!(out.iter().all(|o| !matches!(o, Output::Ban { .. })));
        // A banned peer's connection is not taken up.
        let _ = s.handle(30, connect(3, true));
        assert_eq!(s.peers().count(), 0);
        assert!(
            !s.handle(10 + BAN_MS - 1, Input::Tick)
                .contains(&Output::Unban(3))
        );
        assert!(
            s.handle(10 + BAN_MS, Input::Tick)
                .contains(&Output::Unban(3))
        );
        assert!(!s.is_banned(&3));
    }
}
