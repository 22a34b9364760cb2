//! Connections, the per-peer request budget, bans, redial backoff
//! (`spec/net.md` §8) and trimming what Kademlia's lookups opened (§3.3).

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

impl Peer {
    /// This node dialled it.
    pub(super) fn dialer(&self) -> bool {
        self.dialer
    }
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
        self.kept.remove(&peer);
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

    /// Closes the connections this node dialled without keeping the
    /// peer (the connections Kademlia's lookups open), once they are
    /// [`TRIM_LINGER_MS`] old and idle. A peer is kept if it is at a
    /// redial target (bootstrap, relay, mDNS, dialled by hand) or
    /// discovery chose it ([`Command::Keep`]); what a peer dialled is the
    /// peer's to close.
    pub(super) fn trim(&mut self, now: u64) {
        if !self.cfg.trim || now.saturating_sub(self.last_trim) < TRIM_INTERVAL_MS {
            return;
        }
        self.last_trim = now;
        let peers = &self.peers;
        self.kept
            .retain(|p, at| peers.contains_key(p) || now.saturating_sub(*at) < TRIM_LINGER_MS);
        let redialled = self.redialled();
        let mut extra: Vec<P> = self
            .peers
            .iter()
            .filter(|(p, peer)| {
                peer.dialer
                    && !self.settled(now, p, peer, redialled.contains(p))
                    && now.saturating_sub(peer.connected_at) >= TRIM_LINGER_MS
                    && !self.busy_with(p)
            })
            .map(|(p, _)| *p)
            .collect();
        extra.sort_unstable();
        for p in extra {
            tracing::debug!(?p, "closing a connection this node did not keep");
            self.counters.peers_trimmed += 1;
            self.outputs.push(Output::Close(p));
        }
    }

    /// Discovery chose a peer: its connection is kept.
    pub(super) fn keep(&mut self, now: u64, peer: P) {
        if self.kept.len() < MAX_KEPT || self.kept.contains_key(&peer) {
            self.kept.insert(peer, now);
        }
    }

    /// The peers reached at a redial target.
    pub(super) fn redialled(&self) -> std::collections::HashSet<P> {
        self.redial.values().filter_map(|r| r.peer).collect()
    }

    /// Whether one peer is at a redial target: a scan of the targets, for
    /// a single question, where [`State::redialled`] builds a set to ask
    /// many.
    pub(super) fn is_redialled(&self, p: &P) -> bool {
        self.redial.values().any(|r| r.peer.as_ref() == Some(p))
    }

    /// Whether a connected peer is one this node keeps: it is redialled
    /// (`redialled`, which the caller looks up), or discovery chose it, or
    /// it dialled this node and kept the connection past its own trim.
    pub(super) fn settled(&self, now: u64, p: &P, peer: &Peer, redialled: bool) -> bool {
        redialled
            || self.kept.contains_key(p)
            || (!peer.dialer
                && now.saturating_sub(peer.connected_at) >= TRIM_LINGER_MS + TRIM_INTERVAL_MS)
    }

    /// Whether this node's session with the peer, or a request, push,
    /// fetch or store answer involving it, is under way. The peer's own
    /// sessions do not count: a responder cannot tell an ended one from a
    /// paused one until `SESSION_TTL_MS`, and with a short sync interval
    /// they never pause for long. Requests of the peer's awaiting this
    /// node's answer are the driver's to check.
    fn busy_with(&self, peer: &P) -> bool {
        self.out.contains_key(peer)
            || self.inflight.get(peer).is_some_and(|n| *n > 0)
            || self.gives.get(peer).is_some_and(|g| !g.is_empty())
            || self.pending.values().any(|(p, _)| p == peer)
            || self.fetching.values().any(|f| f.source == *peer)
            || self.refetching.values().any(|p| p == peer)
            || self.wanted.values().any(|(p, _)| p == peer)
            || self.waiting.values().any(|t| match t {
                Then::AnswerOffer { peer: p, .. } | Then::Push { peer: p } => p == peer,
                _ => false,
            })
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

    /// Fails every request among the outputs, as a driver does when the
    /// peer does not answer; returns the others.
    fn failing(
        s: &mut State<u32, u32>,
        store: &mut Toy,
        now: u64,
        out: Vec<Output<u32, u32>>,
    ) -> Vec<Output<u32, u32>> {
        let mut rest = Vec::new();
        let mut queue = VecDeque::from(out);
        while let Some(o) = queue.pop_front() {
            match o {
                Output::Send { peer, req, .. } => {
                    queue.extend(drive(s, store, now, Input::Failure { peer, req }));
                }
                o => rest.push(o),
            }
        }
        rest
    }

    fn closed(out: &[Output<u32, u32>]) -> Vec<u32> {
        out.iter()
            .filter_map(|o| match o {
                Output::Close(p) => Some(*p),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn only_the_dials_it_did_not_keep_are_trimmed_once_idle() {
        let mut store = Toy::default();
        let mut s = State::new(Config {
            trim: true,
            ..Config::default()
        });
        // 4 is a bootstrap peer (a redial target); 3 dialled this node;
        // discovery keeps 2 once connected and 6 before it connects.
        s.add_redial(
            0,
            Target {
                addr: 104,
                bare: 104,
                named: None,
            },
            false,
        );
        let _ = drive(&mut s, &mut store, 0, Input::Command(Command::Keep(6)));
        let joins: [(u64, u32, bool, u32); 6] = [
            (0, 1, true, 101),
            (1_000, 2, true, 102),
            (1_000, 3, false, 103),
            (1_000, 4, true, 104),
            (2_000, 5, true, 105),
            (2_000, 6, true, 106),
        ];
        let mut held = None;
        for (at, peer, dialer, remote) in joins {
            let out = drive(
                &mut s,
                &mut store,
                at,
                Input::Connected {
                    peer,
                    dialer,
                    remote,
                },
            );
            let _ = failing(&mut s, &mut store, at, out);
            let out = drive(
                &mut s,
                &mut store,
                at,
                Input::Identified { peer, pull: true },
            );
            if peer == 5 {
                // 5's session stays under way: its request is unanswered.
                held = sent_to(&out, 5);
                assert!(held.is_some(), "a session with 5");
            } else {
                let _ = failing(&mut s, &mut store, at, out);
            }
        }
        let _ = drive(&mut s, &mut store, 3_000, Input::Command(Command::Keep(2)));
        // 3 counts once it has outlived its dialler's trim.
        let settled = |s: &State<u32, u32>, now| {
            (1..=6)
                .filter(|p| s.is_settled(now, p))
                .collect::<Vec<u32>>()
        };
        assert_eq!(settled(&s, 3_000), vec![2, 4, 6]);
        assert_eq!(s.peer_counts(3_000).settled, 3);
        let matured = 1_000 + TRIM_LINGER_MS + TRIM_INTERVAL_MS;
        assert_eq!(settled(&s, matured - 1), vec![2, 4, 6]);
        assert_eq!(settled(&s, matured), vec![2, 3, 4, 6]);
        let mut at = 3_000;
        while at < TRIM_LINGER_MS {
            let out = drive(&mut s, &mut store, at, Input::Tick);
            assert_eq!(
                closed(&failing(&mut s, &mut store, at, out)),
                Vec::<u32>::new(),
                "at {at}"
            );
            at += 100;
        }
        // 1 is closed; not 5 while its session is under way.
        let t = TRIM_LINGER_MS + 2_000;
        let out = drive(&mut s, &mut store, t, Input::Tick);
        assert_eq!(closed(&failing(&mut s, &mut store, t, out)), vec![1]);
        assert_eq!(s.counters().peers_trimmed, 1);
        // Not again before the interval, though 1 is still reported
        // connected.
        let out = drive(&mut s, &mut store, t + 100, Input::Tick);
        assert!(closed(&out).is_empty());
        let _ = drive(&mut s, &mut store, t + 100, Input::Disconnected { peer: 1 });
        // Once 5's request fails, it goes at the next trim.
        let req = held.expect("held");
        let out = drive(&mut s, &mut store, t + 100, Input::Failure { peer: 5, req });
        let _ = failing(&mut s, &mut store, t + 100, out);
        let t = t + TRIM_INTERVAL_MS;
        let out = drive(&mut s, &mut store, t, Input::Tick);
        assert_eq!(closed(&failing(&mut s, &mut store, t, out)), vec![5]);
        // A kept peer that leaves is forgotten: back, it is trimmed.
        for peer in [2, 5] {
            let _ = drive(&mut s, &mut store, t, Input::Disconnected { peer });
        }
        let out = drive(
            &mut s,
            &mut store,
            t,
            Input::Connected {
                peer: 2,
                dialer: true,
                remote: 102,
            },
        );
        let _ = failing(&mut s, &mut store, t, out);
        assert!(!s.is_settled(t, &2));
        let t = t + TRIM_LINGER_MS;
        let out = drive(&mut s, &mut store, t, Input::Tick);
        assert_eq!(closed(&failing(&mut s, &mut store, t, out)), vec![2]);
    }

    #[test]
    fn with_trimming_off_nothing_is_trimmed() {
        let mut store = Toy::default();
        let mut s = state();
        for peer in 1..=40 {
            let out = drive(&mut s, &mut store, 0, connect(peer, true));
            let _ = failing(&mut s, &mut store, 0, out);
        }
        let mut at = 0;
        while at <= 2 * TRIM_LINGER_MS {
            let out = drive(&mut s, &mut store, at, Input::Tick);
            assert!(closed(&failing(&mut s, &mut store, at, out)).is_empty());
            at += 500;
        }
        assert_eq!(s.counters().peers_trimmed, 0);
    }
}
