//! What the state machine needs of a store, and the store operations it
//! hands out.
//!
//! The state never touches a store itself: it emits [`Op`]s (in
//! [`Output::Store`](crate::state::Output::Store)) and is told how each
//! went by an [`Input::Done`](crate::state::Input::Done). Whoever owns the
//! store runs them with [`Op::run`]: the node on the thread that owns its
//! replica, the simulator inline. So the network task never waits on a
//! disk, and one [`Store`] implementation serves both.

use std::sync::Arc;

use setu_core::record::{Parsed, RecordError};
use setu_sync::bulk;
use setu_sync::item::{Bound, Id, Item};

/// What the protocol needs of a replica: a snapshot of its items, single
/// records, ranges for bulk transfer, and ingest.
pub trait Store {
    /// Every `(ts, id)` item, sorted, as a shared snapshot (no copy per
    /// session). `None` if the store cannot list them: a partial list would
    /// make peers send what this node holds.
    fn snapshot(&mut self) -> Option<Arc<Vec<Item>>>;
    /// A record's signed bytes, if stored (and readable).
    fn get(&self, id: &Id) -> Option<Vec<u8>>;
    /// Whether a record is stored. A store that cannot tell says true, so
    /// nothing is asked for that may be held.
    fn contains(&self, id: &Id) -> bool;
    /// Up to `limit` items at or above `bound`, in order.
    fn items_from(&self, bound: &Bound, limit: usize) -> Vec<Item>;
    /// Checks and stores records from a peer in one atomic write. The state
    /// decoded each one already (`spec/record.md` §7 steps 1 to 5, for its
    /// id and author); the store finishes the check (key, signature in a
    /// batch, body) and applies its rules, so a record is decoded once and
    /// verified once. `now` is the wall clock, in ms since the Unix epoch.
    /// `Err` means the store failed and nothing was stored.
    fn ingest(&mut self, records: Vec<Parsed>, now: u64) -> Result<Vec<Verdict>, String>;
    /// How many times the store's acceptance rules changed since it
    /// opened: a chartered network's membership (`spec/membership.md`
    /// §8.4). When it moves, records refused before may be accepted now,
    /// so the state forgets the refusals it remembers.
    fn rule_changes(&self) -> u64 {
        0
    }
}

/// What became of one ingested record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Stored now.
    Stored {
        /// Its id.
        id: Id,
        /// Its timestamp.
        ts: u64,
    },
    /// Already held.
    Duplicate(Id),
    /// Not stored.
    Refused {
        /// Its id, when the record could be decoded that far.
        id: Option<Id>,
        /// Why.
        why: Refused,
    },
}

/// Why a record was refused, as far as the protocol cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// It failed the stateless check of `spec/record.md` §7. Whether that
    /// is an offence depends on the reason ([`crate::versioning`]).
    Invalid(RecordError),
    /// Its `ts` is ahead of this node's clock; it may be accepted later.
    Future,
    /// Another rule of this node's store (chain, withdrawal, full chain).
    Other(String),
}

/// A store operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Take a fresh snapshot of the items.
    Snapshot,
    /// Ingest records from a peer, decoded by the state (not verified).
    Ingest(Vec<Parsed>),
    /// Load records by id, in order, until `max_bytes` would be passed
    /// (always at least one).
    Load {
        /// The ids.
        ids: Vec<Id>,
        /// Most bytes in all.
        max_bytes: usize,
    },
    /// Answer a bulk request (`spec/sync.md` §6).
    Serve(bulk::Request),
    /// Which of these ids are not stored.
    Missing(Vec<Id>),
}

/// How a store operation went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    /// The store could not take the operation now (its queue was full):
    /// nothing was done.
    Busy,
    /// A snapshot.
    Snapshot(Option<Arc<Vec<Item>>>),
    /// Ingested: one verdict per record (or the store's failure), and the
    /// snapshot after it.
    Ingested {
        /// The verdicts, or why the store failed.
        verdicts: Result<Vec<Verdict>, String>,
        /// The items after the write.
        snapshot: Option<Arc<Vec<Item>>>,
        /// [`Store::rule_changes`] after the write.
        rule_changes: u64,
    },
    /// Loaded records, and the ids left over when the byte cap was reached
    /// (ids not stored are skipped).
    Loaded {
        /// Signed records, in the order asked.
        records: Vec<Vec<u8>>,
        /// Ids not reached.
        rest: Vec<Id>,
    },
    /// An encoded bulk batch.
    Served(Vec<u8>),
    /// The ids asked about that are not stored, in the order asked.
    Missing(Vec<Id>),
}

impl Op {
    /// Runs the operation on a store; `now` is the wall clock (ms since the
    /// Unix epoch).
    pub fn run<S: Store + ?Sized>(self, store: &mut S, now: u64) -> Done {
        match self {
            Op::Snapshot => Done::Snapshot(store.snapshot()),
            Op::Ingest(records) => {
                let verdicts = store.ingest(records, now);
                Done::Ingested {
                    verdicts,
                    snapshot: store.snapshot(),
                    rule_changes: store.rule_changes(),
                }
            }
            Op::Load { ids, max_bytes } => {
                let mut records = Vec::new();
                let mut bytes = 0usize;
                let mut rest = Vec::new();
                let mut ids = ids.into_iter();
                for id in ids.by_ref() {
                    let Some(r) = store.get(&id) else { continue };
                    if !records.is_empty() && bytes + r.len() > max_bytes {
                        rest.push(id);
                        break;
                    }
                    bytes += r.len();
                    records.push(r);
                }
                rest.extend(ids);
                Done::Loaded { records, rest }
            }
            Op::Serve(req) => {
                // Only the items from the request's bound on, one more than
                // a batch can hold: a bulk request costs O(batch).
                let limit = req.max_items.min(bulk::MAX_ITEMS) as usize + 1;
                let items = store.items_from(&req.after, limit);
                let batch = bulk::serve(&items, &req, &mut |id| store.get(id));
                Done::Served(batch.encode())
            }
            Op::Missing(ids) => {
                Done::Missing(ids.into_iter().filter(|id| !store.contains(id)).collect())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A store of opaque records: the id is the first byte repeated.
    #[derive(Default)]
    struct Toy(BTreeMap<Id, Vec<u8>>);

    impl Store for Toy {
        fn snapshot(&mut self) -> Option<Arc<Vec<Item>>> {
            let mut v: Vec<Item> = self.0.keys().map(|id| Item { ts: 1, id: *id }).collect();
            v.sort();
            Some(Arc::new(v))
        }
        fn get(&self, id: &Id) -> Option<Vec<u8>> {
            self.0.get(id).cloned()
        }
        fn contains(&self, id: &Id) -> bool {
            self.0.contains_key(id)
        }
        fn items_from(&self, _: &Bound, limit: usize) -> Vec<Item> {
            self.0
                .keys()
                .take(limit)
                .map(|id| Item { ts: 1, id: *id })
                .collect()
        }
        fn ingest(&mut self, _: Vec<Parsed>, _: u64) -> Result<Vec<Verdict>, String> {
            Err("not used".into())
        }
    }

    impl Toy {
        fn put(&mut self, records: Vec<Vec<u8>>) {
            for r in records {
                self.0.insert([r[0]; 32], r);
            }
        }
    }

    #[test]
    fn load_stops_at_the_byte_cap_and_returns_the_rest() {
        let mut s = Toy::default();
        s.put(vec![vec![1; 10], vec![2; 10], vec![3; 10]]);
        let done = Op::Load {
            ids: vec![[1; 32], [9; 32], [2; 32], [3; 32]],
            max_bytes: 15,
        }
        .run(&mut s, 0);
        assert_eq!(
            done,
            Done::Loaded {
                records: vec![vec![1; 10]],
                rest: vec![[2; 32], [3; 32]],
            }
        );
        // One record over the cap still goes, alone.
        let done = Op::Load {
            ids: vec![[3; 32]],
            max_bytes: 1,
        }
        .run(&mut s, 0);
        assert_eq!(
            done,
            Done::Loaded {
                records: vec![vec![3; 10]],
                rest: vec![],
            }
        );
    }
}
