//! The reconciliation state machine ([`spec/sync.md` §5](../../../spec/sync.md)).
//!
//! Sans-IO: bytes in, bytes out. The same code runs on both sides; the
//! initiator sends the first message, the responder always replies, and the
//! session ends when the initiator has nothing left to say. Each side learns
//! the ids it holds that the other lacks (`give`), and pushes those records
//! by whatever transport it uses.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::item::{Bound, Id, Item, lower_index};
use crate::wire::{self, Entry, FP_BYTES, Mode, WireError};

/// The most items a List may hold (`spec/sync.md` §5.1): a side may list
/// smaller runs, never larger ones.
pub const LIST_MAX: usize = 32;
/// The most ids an Ids entry holds (§5.2): a larger run is described by
/// fingerprints instead, so one range's reply always fits a frame.
pub const IDS_MAX: usize = 32;
/// The widest split (§5.4).
pub const MAX_SPLIT: usize = 16;
/// The smallest frame limit (§5.6): one range's reply always fits in it.
pub const MIN_FRAME_LIMIT: usize = 2_048;
/// Bytes kept free at the end of a frame for the closing Fingerprint (§5.6).
pub const FRAME_SPARE: usize = 64;

/// Settings. Both sides may differ; the protocol stays correct. Values
/// outside the limits of `spec/sync.md` are brought inside them
/// ([`Config::normalized`]).
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Ranges of at most this many of my items are listed rather than split.
    pub list_max: usize,
    /// Split factor while most ranges mismatch.
    pub dense_split: usize,
    /// Split factor once most ranges match (differences are sparse).
    pub sparse_split: usize,
    /// Shortest id prefix in a list, in bytes.
    pub min_prefix: u8,
    /// The largest message this side sends (at most [`wire::MAX_MESSAGE_BYTES`]).
    pub frame_limit: usize,
    /// Most messages this side handles in one session.
    pub max_rounds: u32,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            list_max: 32,
            dense_split: 16,
            sparse_split: 4,
            min_prefix: 3,
            frame_limit: wire::MAX_MESSAGE_BYTES,
            max_rounds: 64,
        }
    }
}

impl Config {
    /// This configuration with every value brought within the spec's
    /// limits: `list_max` in 1..=[`LIST_MAX`], split factors in
    /// 2..=[`MAX_SPLIT`], `min_prefix` in 1..=32, `frame_limit` in
    /// [`MIN_FRAME_LIMIT`]..=[`wire::MAX_MESSAGE_BYTES`], `max_rounds` at
    /// least 1.
    pub fn normalized(self) -> Config {
        Config {
            list_max: self.list_max.clamp(1, LIST_MAX),
            dense_split: self.dense_split.clamp(2, MAX_SPLIT),
            sparse_split: self.sparse_split.clamp(2, MAX_SPLIT),
            min_prefix: self.min_prefix.clamp(1, 32),
            frame_limit: self
                .frame_limit
                .clamp(MIN_FRAME_LIMIT, wire::MAX_MESSAGE_BYTES),
            max_rounds: self.max_rounds.max(1),
        }
    }
}

/// Why a session failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The peer sent a malformed message.
    #[error("malformed message: {0}")]
    Wire(#[from] WireError),
    /// The peer made the session go on longer than [`Config::max_rounds`].
    #[error("more than {0} rounds")]
    TooManyRounds(u32),
    /// A message arrived after the session ended.
    #[error("the session is over")]
    Done,
}

/// What handling one message produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Step {
    /// The message to send back, if any.
    pub reply: Option<Vec<u8>>,
    /// Ids of my items the peer lacks, found in this step.
    pub give: Vec<Id>,
    /// True when the session is over (for the initiator: nothing left to
    /// reconcile; for the responder: it sent its last reply).
    pub done: bool,
}

/// The domain-separation prefix of fingerprints.
pub const FP_CONTEXT: &[u8] = b"setu/v1/sync/fp";

/// The fingerprint of a run of items: the first 16 bytes of
/// `SHA-256("setu/v1/sync/fp" ‖ varint(count) ‖ id_1 ‖ … ‖ id_n)`.
pub fn fingerprint(items: &[Item]) -> [u8; FP_BYTES] {
    fingerprint_ids(items.iter().map(|i| &i.id))
}

fn fingerprint_ids<'a>(ids: impl Iterator<Item = &'a Id>) -> [u8; FP_BYTES] {
    let ids: Vec<&Id> = ids.collect();
    let mut h = Sha256::new();
    h.update(FP_CONTEXT);
    let mut n = Vec::new();
    wire::put_varint(&mut n, ids.len() as u128);
    h.update(&n);
    for id in ids {
        h.update(id);
    }
    let d = h.finalize();
    let mut fp = [0u8; FP_BYTES];
    fp.copy_from_slice(&d[..FP_BYTES]);
    fp
}

fn bit(bits: &[u8], i: usize) -> bool {
    bits.get(i / 8).is_some_and(|b| b >> (i % 8) & 1 == 1)
}

fn bitmap(n: usize, set: impl Fn(usize) -> bool) -> Vec<u8> {
    let mut out = vec![0u8; n.div_ceil(8)];
    for i in 0..n {
        if set(i) {
            out[i / 8] |= 1 << (i % 8);
        }
    }
    out
}

/// One side of a reconciliation session over a sorted set of items.
///
/// The items are shared, not copied: a node hands every session the same
/// `Arc` snapshot of its list.
#[derive(Debug)]
pub struct Reconciler {
    items: Arc<Vec<Item>>,
    cfg: Config,
    initiator: bool,
    rounds: u32,
    done: bool,
}

impl Reconciler {
    /// Starts a session as the initiator; returns the first message.
    /// `items` must be sorted by (ts, id) without duplicates.
    pub fn initiate(items: impl Into<Arc<Vec<Item>>>, cfg: Config) -> (Reconciler, Vec<u8>) {
        let cfg = cfg.normalized();
        let r = Reconciler {
            items: items.into(),
            cfg,
            initiator: true,
            rounds: 0,
            done: false,
        };
        let mut out = Vec::new();
        r.describe(0, r.items.len(), Bound::Infinity, cfg.dense_split, &mut out);
        let msg = wire::encode(&out);
        (r, msg)
    }

    /// Prepares the responder's side.
    pub fn respond(items: impl Into<Arc<Vec<Item>>>, cfg: Config) -> Reconciler {
        Reconciler {
            items: items.into(),
            cfg: cfg.normalized(),
            initiator: false,
            rounds: 0,
            done: false,
        }
    }

    /// True once the session is over.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Describes my items `[lo, hi)` (a range ending at `upper`): a list if
    /// few, else `split` fingerprinted sub-ranges of equal count.
    fn describe(&self, lo: usize, hi: usize, upper: Bound, split: usize, out: &mut Vec<Entry>) {
        let c = hi - lo;
        if c <= self.cfg.list_max {
            out.push(Entry {
                upper,
                mode: self.list(&self.items[lo..hi]),
            });
            return;
        }
        let f = split.clamp(2, c);
        for j in 1..=f {
            let a = lo + (j - 1) * c / f;
            let b = lo + j * c / f;
            let bound = if j == f {
                upper.clone()
            } else {
                Bound::between(&self.items[b - 1], &self.items[b])
            };
            out.push(Entry {
                upper: bound,
                mode: Mode::Fingerprint {
                    count: (b - a) as u64,
                    fp: fingerprint(&self.items[a..b]),
                },
            });
        }
    }

    /// The reply that settles `[lo, hi)` on full ids: Ids if the run is at
    /// most [`IDS_MAX`] items, else a description by fingerprints (a run
    /// that long is never listed), so the reply stays within a frame.
    fn ids(&self, lo: usize, hi: usize, upper: &Bound, split: usize, out: &mut Vec<Entry>) {
        if hi - lo <= IDS_MAX {
            out.push(Entry {
                upper: upper.clone(),
                mode: Mode::Ids(self.items[lo..hi].iter().map(|i| i.id).collect()),
            });
        } else {
            self.describe(lo, hi, upper.clone(), split, out);
        }
    }

    fn list(&self, run: &[Item]) -> Mode {
        let mut len = usize::from(self.cfg.min_prefix.clamp(1, 32));
        while len < 32 {
            let mut seen = HashSet::with_capacity(run.len());
            if run.iter().all(|i| seen.insert(&i.id[..len])) {
                break;
            }
            len += 1;
        }
        let mut prefixes = Vec::with_capacity(run.len() * len);
        for i in run {
            prefixes.extend_from_slice(&i.id[..len]);
        }
        Mode::List {
            len: len as u8,
            prefixes,
        }
    }

    /// Handles a message from the peer.
    pub fn handle(&mut self, msg: &[u8]) -> Result<Step, SyncError> {
        if self.done {
            return Err(SyncError::Done);
        }
        self.rounds += 1;
        if self.rounds > self.cfg.max_rounds {
            self.done = true;
            return Err(SyncError::TooManyRounds(self.cfg.max_rounds));
        }
        // A malformed message ends the session (spec/sync.md §5.7).
        let entries = wire::decode(msg).inspect_err(|_| self.done = true)?;
        // Split wide while most fingerprints mismatch, narrow once they match.
        let (mut fps, mut mismatched) = (0usize, 0usize);
        let mut lo = 0usize;
        let mut ranges = Vec::with_capacity(entries.len());
        for e in &entries {
            let hi = lower_index(&self.items, &e.upper).max(lo);
            if let Mode::Fingerprint { count, fp } = &e.mode {
                fps += 1;
                let run = &self.items[lo..hi];
                if run.len() as u64 != *count || fingerprint(run) != *fp {
                    mismatched += 1;
                }
            }
            ranges.push((lo, hi));
            lo = hi;
        }
        let split = if 2 * mismatched > fps {
            self.cfg.dense_split
        } else {
            self.cfg.sparse_split
        };

        let mut step = Step::default();
        let mut out: Vec<Entry> = Vec::new();
        let mut size = 1usize;
        let mut prev_ts = 0u64;
        for (e, &(lo, hi)) in entries.iter().zip(&ranges) {
            let run = &self.items[lo..hi];
            let mut reply: Vec<Entry> = Vec::new();
            match &e.mode {
                Mode::Skip => {}
                Mode::Fingerprint { count, fp } => {
                    if run.len() as u64 == *count && fingerprint(run) == *fp {
                    } else if *count == 0 {
                        step.give.extend(run.iter().map(|i| i.id));
                    } else {
                        self.describe(lo, hi, e.upper.clone(), split, &mut reply);
                    }
                }
                Mode::List { len, prefixes } => {
                    let len = usize::from(*len);
                    let peer: Vec<&[u8]> = prefixes.chunks(len).collect();
                    let mut index: HashMap<&[u8], usize> = HashMap::with_capacity(peer.len());
                    let unique = peer
                        .iter()
                        .enumerate()
                        .all(|(i, p)| index.insert(p, i).is_none());
                    if !unique {
                        self.ids(lo, hi, &e.upper, split, &mut reply);
                    } else {
                        let mut matched_peer = vec![false; peer.len()];
                        let mut matched_mine: Vec<&Id> = Vec::new();
                        for i in run {
                            match index.get(&i.id[..len]) {
                                Some(&k) => {
                                    matched_peer[k] = true;
                                    matched_mine.push(&i.id);
                                }
                                None => step.give.push(i.id),
                            }
                        }
                        reply.push(Entry {
                            upper: e.upper.clone(),
                            mode: Mode::Answer {
                                n: peer.len() as u64,
                                lack: bitmap(peer.len(), |k| !matched_peer[k]),
                                confirm: fingerprint_ids(matched_mine.into_iter()),
                            },
                        });
                    }
                }
                Mode::Answer { n, lack, confirm } => {
                    if run.len() as u64 != *n {
                        self.ids(lo, hi, &e.upper, split, &mut reply);
                    } else {
                        let mut matched: Vec<&Id> = Vec::new();
                        for (k, i) in run.iter().enumerate() {
                            if bit(lack, k) {
                                step.give.push(i.id);
                            } else {
                                matched.push(&i.id);
                            }
                        }
                        if fingerprint_ids(matched.into_iter()) != *confirm {
                            // A prefix matched a different item: settle it on full ids.
                            self.ids(lo, hi, &e.upper, split, &mut reply);
                        }
                    }
                }
                Mode::Ids(ids) => {
                    let theirs: HashSet<&Id> = ids.iter().collect();
                    let mine: HashSet<&Id> = run.iter().map(|i| &i.id).collect();
                    step.give
                        .extend(run.iter().filter(|i| !theirs.contains(&i.id)).map(|i| i.id));
                    reply.push(Entry {
                        upper: e.upper.clone(),
                        mode: Mode::IdsAnswer {
                            n: ids.len() as u64,
                            lack: bitmap(ids.len(), |k| !mine.contains(&ids[k])),
                        },
                    });
                }
                Mode::IdsAnswer { n, lack } => {
                    if run.len() as u64 != *n {
                        self.ids(lo, hi, &e.upper, split, &mut reply);
                    } else {
                        step.give.extend(
                            run.iter()
                                .enumerate()
                                .filter(|(k, _)| bit(lack, *k))
                                .map(|(_, i)| i.id),
                        );
                    }
                }
            }
            if reply.is_empty() {
                reply.push(Entry {
                    upper: e.upper.clone(),
                    mode: Mode::Skip,
                });
            }
            // Respect the frame limit: if this range's reply does not fit,
            // fingerprint everything from here on as one range, to be split
            // in a later round.
            let add: usize = {
                let mut p = prev_ts;
                reply
                    .iter()
                    .map(|r| {
                        let l = wire::entry_len(r, p);
                        if let Bound::At { ts, .. } = &r.upper {
                            p = *ts;
                        }
                        l
                    })
                    .sum()
            };
            if size + add + FRAME_SPARE > self.cfg.frame_limit {
                let rest = &self.items[lo..];
                out.push(Entry {
                    upper: Bound::Infinity,
                    mode: Mode::Fingerprint {
                        count: rest.len() as u64,
                        fp: fingerprint(rest),
                    },
                });
                return Ok(self.finish(out, step));
            }
            for r in reply {
                size += wire::entry_len(&r, prev_ts);
                if let Bound::At { ts, .. } = &r.upper {
                    prev_ts = *ts;
                }
                push_merging_skips(&mut out, r);
            }
        }
        Ok(self.finish(out, step))
    }

    fn finish(&mut self, out: Vec<Entry>, mut step: Step) -> Step {
        let idle = out.iter().all(|e| e.mode == Mode::Skip);
        if idle && self.initiator {
            self.done = true;
            step.done = true;
            return step;
        }
        if idle {
            // The responder always answers; an all-skip answer ends it.
            self.done = true;
            step.done = true;
            step.reply = Some(wire::encode(&[Entry {
                upper: Bound::Infinity,
                mode: Mode::Skip,
            }]));
            return step;
        }
        step.reply = Some(wire::encode(&out));
        step
    }
}

/// Adds an entry, merging it into a preceding Skip (a Skip's range simply
/// extends to the next bound).
fn push_merging_skips(out: &mut Vec<Entry>, e: Entry) {
    if let Some(last) = out.last_mut()
        && last.mode == Mode::Skip
        && e.mode == Mode::Skip
    {
        last.upper = e.upper;
        return;
    }
    out.push(e);
}

/// Runs a whole session between two sets in memory. Returns, for each
/// side, the ids it found the other lacks, plus the messages and bytes
/// each way. For tests, vectors and benchmarks.
pub fn run_pair(
    a: Vec<Item>,
    b: Vec<Item>,
    cfg_a: Config,
    cfg_b: Config,
) -> Result<Transcript, SyncError> {
    let (mut init, first) = Reconciler::initiate(a, cfg_a);
    let mut resp = Reconciler::respond(b, cfg_b);
    let mut t = Transcript::default();
    let mut msg = first;
    loop {
        t.messages.push(msg.clone());
        t.bytes_up += msg.len();
        let s = resp.handle(&msg)?;
        t.give_b.extend(s.give);
        let Some(reply) = s.reply else { break };
        t.messages.push(reply.clone());
        t.bytes_down += reply.len();
        t.round_trips += 1;
        let s = init.handle(&reply)?;
        t.give_a.extend(s.give);
        match s.reply {
            Some(next) => msg = next,
            None => break,
        }
    }
    t.give_a.sort();
    t.give_a.dedup();
    t.give_b.sort();
    t.give_b.dedup();
    Ok(t)
}

/// The record of a session run by [`run_pair`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transcript {
    /// Every message, in order, starting with the initiator's.
    pub messages: Vec<Vec<u8>>,
    /// Bytes sent by the initiator.
    pub bytes_up: usize,
    /// Bytes sent by the responder.
    pub bytes_down: usize,
    /// Replies received by the initiator.
    pub round_trips: usize,
    /// Ids the initiator holds that the responder lacks.
    pub give_a: Vec<Id>,
    /// Ids the responder holds that the initiator lacks.
    pub give_b: Vec<Id>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(seed: u64, n: usize) -> Vec<Item> {
        let mut x = seed;
        let mut v: Vec<Item> = (0..n)
            .map(|i| {
                let mut id = [0u8; 32];
                for chunk in id.chunks_mut(8) {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    chunk.copy_from_slice(&x.to_le_bytes());
                }
                Item {
                    ts: 1_700_000_000_000 + (i as u64) * 1000,
                    id,
                }
            })
            .collect();
        v.sort();
        v
    }

    fn check(a: &[Item], b: &[Item], t: &Transcript) {
        let sa: HashSet<Id> = a.iter().map(|i| i.id).collect();
        let sb: HashSet<Id> = b.iter().map(|i| i.id).collect();
        let mut want_a: Vec<Id> = sa.difference(&sb).copied().collect();
        let mut want_b: Vec<Id> = sb.difference(&sa).copied().collect();
        want_a.sort();
        want_b.sort();
        assert_eq!(t.give_a, want_a, "initiator's give");
        assert_eq!(t.give_b, want_b, "responder's give");
    }

    #[test]
    fn identical_sets_take_one_round_trip() {
        let a = items(1, 5_000);
        let t = run_pair(a.clone(), a.clone(), Config::default(), Config::default()).unwrap();
        check(&a, &a, &t);
        assert_eq!(t.round_trips, 1);
    }

    #[test]
    fn differences_both_ways() {
        let all = items(2, 20_000);
        let a: Vec<Item> = all
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 97 != 0)
            .map(|(_, x)| *x)
            .collect();
        let b: Vec<Item> = all
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 89 != 0)
            .map(|(_, x)| *x)
            .collect();
        let t = run_pair(a.clone(), b.clone(), Config::default(), Config::default()).unwrap();
        check(&a, &b, &t);
    }

    #[test]
    fn empty_sides() {
        let a = items(3, 1_000);
        let t = run_pair(a.clone(), vec![], Config::default(), Config::default()).unwrap();
        check(&a, &[], &t);
        let t = run_pair(vec![], a.clone(), Config::default(), Config::default()).unwrap();
        check(&[], &a, &t);
        let t = run_pair(vec![], vec![], Config::default(), Config::default()).unwrap();
        check(&[], &[], &t);
    }

    #[test]
    fn small_frames_still_converge() {
        let all = items(4, 20_000);
        let a: Vec<Item> = all.iter().step_by(2).copied().collect();
        let b: Vec<Item> = all.iter().skip(1).step_by(3).copied().collect();
        let cfg = Config {
            frame_limit: 4_096,
            max_rounds: 10_000,
            ..Config::default()
        };
        let t = run_pair(a.clone(), b.clone(), cfg, cfg).unwrap();
        check(&a, &b, &t);
        assert!(t.messages.iter().all(|m| m.len() <= 4_096));
    }

    /// Ids sharing their first 29 bytes, so every List needs 30-byte
    /// prefixes and a full one is near 1 KB.
    fn lookalikes(seed: u64, n: usize) -> Vec<Item> {
        let mut v: Vec<Item> = items(seed, n)
            .into_iter()
            .map(|mut i| {
                i.id[..29].fill(7);
                i.ts %= 50;
                i
            })
            .collect();
        v.sort();
        v.dedup_by_key(|i| i.id);
        v
    }

    #[test]
    fn long_prefixes_in_the_smallest_frame_still_converge() {
        // Found by the property test: with lists of long prefixes and a
        // small frame, a range's reply alone did not fit, the side cut at
        // that range every time, and the session never moved on.
        for (seed, list_max) in [(11, 38), (12, 32), (13, 1), (14, 0)] {
            let a = lookalikes(seed, 360);
            let b = lookalikes(seed + 100, 350);
            let cfg = Config {
                frame_limit: 1_044,
                list_max,
                dense_split: 99,
                max_rounds: 10_000,
                ..Config::default()
            };
            let t = run_pair(a.clone(), b.clone(), cfg, cfg).unwrap();
            check(&a, &b, &t);
            assert!(t.messages.iter().all(|m| m.len() <= MIN_FRAME_LIMIT));
        }
    }

    #[test]
    fn a_malformed_message_ends_the_session() {
        let mut r = Reconciler::respond(items(6, 10), Config::default());
        assert!(matches!(r.handle(&[9, 9]), Err(SyncError::Wire(_))));
        assert!(r.is_done());
        let fine = wire::encode(&[Entry {
            upper: Bound::Infinity,
            mode: Mode::Skip,
        }]);
        assert_eq!(r.handle(&fine), Err(SyncError::Done));
    }

    #[test]
    fn a_long_run_is_never_sent_as_ids() {
        // A peer that lists with a repeated prefix gets Ids of my run only if
        // it is short; a long one is described by fingerprints.
        let mine = items(5, 500);
        let mut r = Reconciler::respond(mine, Config::default());
        let msg = wire::encode(&[Entry {
            upper: Bound::Infinity,
            mode: Mode::List {
                len: 3,
                prefixes: vec![1, 2, 3, 1, 2, 3],
            },
        }]);
        let step = r.handle(&msg).unwrap();
        let reply = wire::decode(&step.reply.unwrap()).unwrap();
        // The message had no fingerprints, so the narrow split applies.
        assert_eq!(reply.len(), 4, "a 4-way description");
        assert!(
            reply
                .iter()
                .all(|e| matches!(e.mode, Mode::Fingerprint { .. }))
        );
    }
}
