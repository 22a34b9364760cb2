//! Test harness: a toy store and a small network of states, all in one
//! thread, with a virtual clock.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use setu_core::cbor::Value;
use setu_core::keys::SecretKey;
use setu_core::record::{self, Parsed, Reason, RecordError};

use super::*;
use crate::store::Store;

/// A toy record: a real signed record of a kind this version does not
/// know, by one test key, with seq `n + 1` and ts `n` (so the state decodes
/// it as it decodes any record).
pub fn toy_record(n: u8) -> Vec<u8> {
    let key = SecretKey::from_seed(&[0x70; 32]);
    let body = Value::map([("n", Value::Uint(u64::from(n)))]);
    record::sign(&key, "toy", u64::from(n) + 1, u64::from(n), body)
        .expect("a toy record signs")
        .into_bytes()
}

/// A toy record's id.
pub fn toy_id(n: u8) -> Id {
    record::check(toy_record(n)).expect("a toy record").id().0
}

/// A toy record with a bad signature: it decodes (same id), and fails the
/// signature check.
pub fn toy_forged(n: u8) -> Vec<u8> {
    let mut r = toy_record(n);
    if let Some(last) = r.last_mut() {
        *last ^= 1;
    }
    r
}

/// A toy store. It refuses forged records as a bad signature, and records
/// whose ts is in `refuse` by a schema rule (the rule a peer of another
/// version may not share); 0xEE by default. Records are kept with their ts.
pub struct Toy {
    pub records: BTreeMap<Id, (u64, Vec<u8>)>,
    pub refuse: BTreeSet<u8>,
}

impl Default for Toy {
    fn default() -> Toy {
        Toy {
            records: BTreeMap::new(),
            refuse: [0xEE].into_iter().collect(),
        }
    }
}

impl Toy {
    pub fn add(&mut self, ns: impl IntoIterator<Item = u8>) {
        for n in ns {
            let r = toy_record(n);
            let id = record::check(r.clone()).expect("a toy record").id().0;
            self.records.insert(id, (u64::from(n), r));
        }
    }
    pub fn len(&self) -> usize {
        self.records.len()
    }
    fn err(reason: Reason) -> RecordError {
        RecordError {
            reason,
            problems: vec![],
        }
    }
}

impl Store for Toy {
    fn snapshot(&mut self) -> Option<Arc<Vec<Item>>> {
        Some(Arc::new(self.clone_items()))
    }
    fn get(&self, id: &Id) -> Option<Vec<u8>> {
        self.records.get(id).map(|(_, r)| r.clone())
    }
    fn contains(&self, id: &Id) -> bool {
        self.records.contains_key(id)
    }
    fn items_from(&self, bound: &setu_sync::item::Bound, limit: usize) -> Vec<Item> {
        let all = self.clone_items();
        let from = match bound {
            setu_sync::item::Bound::At { ts, prefix } => {
                let mut id = [0u8; 32];
                id[..prefix.len().min(32)].copy_from_slice(&prefix[..prefix.len().min(32)]);
                Item { ts: *ts, id }
            }
            _ => return Vec::new(),
        };
        all.into_iter().filter(|i| *i >= from).take(limit).collect()
    }
    fn ingest(&mut self, records: Vec<Parsed>, _now: u64) -> Result<Vec<Verdict>, String> {
        let ids: Vec<Id> = records.iter().map(|p| p.id().0).collect();
        Ok(record::check_parsed(records)
            .into_iter()
            .zip(ids)
            .map(|(checked, id)| match checked {
                Err(e) => Verdict::Refused {
                    id: Some(id),
                    why: Refused::Invalid(e),
                },
                Ok(rec) => {
                    let ts = rec.envelope().ts;
                    if self.refuse.contains(&(ts as u8)) {
                        Verdict::Refused {
                            id: Some(id),
                            why: Refused::Invalid(Toy::err(Reason::Schema)),
                        }
                    } else if self.records.insert(id, (ts, rec.into_bytes())).is_some() {
                        Verdict::Duplicate(id)
                    } else {
                        Verdict::Stored { id, ts }
                    }
                }
            })
            .collect())
    }
}

impl Toy {
    fn clone_items(&self) -> Vec<Item> {
        let mut v: Vec<Item> = self
            .records
            .iter()
            .map(|(id, (ts, _))| Item { ts: *ts, id: *id })
            .collect();
        v.sort();
        v
    }
}

/// A state with the default rules (version 2).
pub fn state() -> State<u32, u32> {
    State::new(Config::default())
}

pub fn connect(peer: u32, dialer: bool) -> Input<u32, u32> {
    Input::Connected {
        peer,
        dialer,
        remote: 0,
    }
}

pub fn request(peer: u32, channel: u64, bytes: Vec<u8>) -> Input<u32, u32> {
    Input::Request {
        peer,
        channel,
        bytes,
    }
}

/// The request number of the first request sent to `peer`.
pub fn sent_to(out: &[Output<u32, u32>], to: u32) -> Option<u64> {
    out.iter().find_map(|o| match o {
        Output::Send { peer, req, .. } if *peer == to => Some(*req),
        _ => None,
    })
}

/// Handles an input, running store operations at once; returns every
/// other output.
pub fn drive(
    s: &mut State<u32, u32>,
    store: &mut Toy,
    now: u64,
    input: Input<u32, u32>,
) -> Vec<Output<u32, u32>> {
    let mut out = Vec::new();
    let mut inputs = VecDeque::from([input]);
    while let Some(i) = inputs.pop_front() {
        for o in s.handle(now, i) {
            match o {
                Output::Store { ticket, op } => inputs.push_back(Input::Done {
                    ticket,
                    done: op.run(store, now),
                }),
                o => out.push(o),
            }
        }
    }
    out
}

/// States joined by links with a fixed 5 ms latency, ticking every 100 ms.
pub struct Net {
    pub states: Vec<State<u32, u32>>,
    pub stores: Vec<Toy>,
    pull: bool,
    now: u64,
    /// (at, seq) -> (node, input)
    queue: BTreeMap<(u64, u64), (u32, Input<u32, u32>)>,
    seq: u64,
    /// (node, channel) -> (requester, req)
    channels: HashMap<(u32, u64), (u32, u64)>,
    next_channel: u64,
}

impl Net {
    pub fn new(n: usize, pull: bool) -> Net {
        Net {
            states: (0..n)
                .map(|i| {
                    State::new(Config {
                        pull,
                        seed: i as u64,
                        ..Config::default()
                    })
                })
                .collect(),
            stores: (0..n).map(|_| Toy::default()).collect(),
            pull,
            now: 0,
            queue: BTreeMap::new(),
            seq: 0,
            channels: HashMap::new(),
            next_channel: 1,
        }
    }

    fn at(&mut self, delay: u64, node: u32, input: Input<u32, u32>) {
        self.seq += 1;
        self.queue
            .insert((self.now + delay, self.seq), (node, input));
    }

    /// `a` dials `b`.
    pub fn link(&mut self, a: u32, b: u32) {
        let pull = self.pull;
        self.at(
            0,
            a,
            Input::Connected {
                peer: b,
                dialer: true,
                remote: b,
            },
        );
        self.at(
            0,
            b,
            Input::Connected {
                peer: a,
                dialer: false,
                remote: a,
            },
        );
        self.at(1, a, Input::Identified { peer: b, pull });
        self.at(1, b, Input::Identified { peer: a, pull });
    }

    /// Runs until `done` holds or `limit` ms of virtual time pass.
    pub fn run_until(&mut self, limit: u64, done: impl Fn(&Net) -> bool) {
        let mut next_tick = 0;
        while self.now < limit && !done(self) {
            let next = self.queue.keys().next().copied();
            match next {
                Some((at, seq)) if at <= next_tick => {
                    let (node, input) = self.queue.remove(&(at, seq)).unwrap_or((0, Input::Tick));
                    self.now = at;
                    self.step(node, input);
                }
                _ => {
                    self.now = next_tick;
                    for n in 0..self.states.len() as u32 {
                        self.step(n, Input::Tick);
                    }
                    next_tick += 100;
                }
            }
        }
    }

    fn step(&mut self, node: u32, input: Input<u32, u32>) {
        let i = node as usize;
        let now = self.now;
        let out = drive(&mut self.states[i], &mut self.stores[i], now, input);
        for o in out {
            match o {
                Output::Send { peer, req, bytes } => {
                    let channel = self.next_channel;
                    self.next_channel += 1;
                    self.channels.insert((peer, channel), (node, req));
                    self.at(
                        5,
                        peer,
                        Input::Request {
                            peer: node,
                            channel,
                            bytes,
                        },
                    );
                }
                Output::Respond { channel, bytes } => {
                    if let Some((to, req)) = self.channels.remove(&(node, channel)) {
                        self.at(
                            5,
                            to,
                            Input::Response {
                                peer: node,
                                req,
                                bytes,
                            },
                        );
                    }
                }
                _ => {}
            }
        }
    }
}
