//! The replica as the protocol's store ([`setu_proto::store::Store`]):
//! its `(ts, id)` items as reconciliation needs them, single records, and
//! ingest with one verdict per record.
//!
//! The whole item list is kept in memory and updated as records are
//! stored, instead of read from the store for every session; every session
//! shares one snapshot, copied only when records are stored while sessions
//! hold it. Ranges for bulk transfer are read from the store.

use std::sync::Arc;

use setu_core::ids::RecordId;
use setu_proto::store::{Refused, Verdict};
use setu_sync::item::{Bound, Id, Item};

use crate::backend::Backend;
use crate::ingest::{Outcome, Refusal};
use crate::replica::Replica;

/// Items read from the store per range call while listing them.
const ITEMS_CHUNK: usize = 50_000;
/// Above this many records the list is not kept in memory (40 bytes an
/// item: 160 MiB); each session then reads it from the store.
pub const MAX_CACHED_ITEMS: usize = 4_000_000;

/// The sorted item list and the store change it reflects.
#[derive(Debug, Default)]
pub(crate) struct Cache {
    items: Arc<Vec<Item>>,
    /// The store's change counter when `items` was last made whole; `None`
    /// when there is no list.
    change: Option<u64>,
}

impl Cache {
    /// Records the driver stored moved the store from change `before` to
    /// `after`: they join the list if it was current at `before`, and the
    /// list is dropped otherwise (rebuilt at the next session).
    pub(crate) fn note_stored(&mut self, before: u64, after: u64, stored: &[(u64, RecordId)]) {
        if self.change != Some(before) || self.items.len() + stored.len() > MAX_CACHED_ITEMS {
            self.change = None;
            self.items = Arc::default();
            return;
        }
        let mut new: Vec<Item> = stored
            .iter()
            .map(|(ts, id)| Item { ts: *ts, id: id.0 })
            .collect();
        new.sort_unstable();
        match (self.items.last(), new.first()) {
            // Bulk transfer and fresh records arrive in order: append (a
            // copy only if a session still holds the snapshot).
            (Some(last), Some(first)) if last < first => Arc::make_mut(&mut self.items).extend(new),
            (None, _) => self.items = Arc::new(new),
            _ => {
                let old = Arc::try_unwrap(std::mem::take(&mut self.items))
                    .unwrap_or_else(|shared| shared.as_ref().clone());
                self.items = Arc::new(merge(old, new));
            }
        }
        self.change = Some(after);
    }
}

/// Merges two sorted lists.
fn merge(a: Vec<Item>, b: Vec<Item>) -> Vec<Item> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        let next = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if x <= y => a.next(),
            (Some(_), Some(_)) => b.next(),
            (Some(_), None) => a.next(),
            (None, Some(_)) => b.next(),
            (None, None) => break,
        };
        out.extend(next);
    }
    out.dedup();
    out
}

impl<B: Backend> Replica<B> {
    /// Every item in the store, in order: the cached list when it reflects
    /// the store's current change, else read from the store (and cached).
    /// `None` if the store cannot list them (a partial list would make peers
    /// push what this node already holds).
    pub fn items(&mut self) -> Option<Arc<Vec<Item>>> {
        let change = match self.store().meta() {
            Ok(m) => m.change,
            Err(e) => {
                tracing::warn!("listing items: {e}");
                return None;
            }
        };
        if self.items.change == Some(change) {
            return Some(Arc::clone(&self.items.items));
        }
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let chunk = match self.store().ts_range(after, ITEMS_CHUNK) {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!("listing items: {e}");
                    return None;
                }
            };
            let n = chunk.len();
            out.extend(chunk.iter().map(|(ts, id)| Item { ts: *ts, id: id.0 }));
            after = chunk.last().copied();
            if n < ITEMS_CHUNK {
                break;
            }
        }
        let out = Arc::new(out);
        if out.len() <= MAX_CACHED_ITEMS {
            self.items = Cache {
                items: Arc::clone(&out),
                change: Some(change),
            };
        }
        Some(out)
    }

    /// Up to `limit` items at or above `bound`, in order, from the store.
    pub fn items_from(&self, bound: &Bound, limit: usize) -> Vec<Item> {
        let Bound::At { ts, prefix } = bound else {
            return Vec::new();
        };
        // The store's range is exclusive: start just below (ts, prefix‖0…0).
        let mut id = [0u8; 32];
        id[..prefix.len().min(32)].copy_from_slice(&prefix[..prefix.len().min(32)]);
        let after = match id.iter().rposition(|b| *b != 0) {
            Some(i) => {
                id[i] -= 1;
                for b in &mut id[i + 1..] {
                    *b = 0xff;
                }
                Some((*ts, RecordId(id)))
            }
            None if *ts > 0 => Some((*ts - 1, RecordId([0xff; 32]))),
            None => None,
        };
        match self.store().ts_range(after, limit) {
            Ok(r) => r
                .iter()
                .map(|(ts, id)| Item { ts: *ts, id: id.0 })
                .collect(),
            Err(e) => {
                tracing::warn!("listing items: {e}");
                Vec::new()
            }
        }
    }
}

impl<B: Backend> setu_proto::store::Store for Replica<B> {
    fn snapshot(&mut self) -> Option<Arc<Vec<Item>>> {
        self.items()
    }

    fn get(&self, id: &Id) -> Option<Vec<u8>> {
        match self.store().get(&RecordId(*id)) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("reading record: {e}");
                None
            }
        }
    }

    fn contains(&self, id: &Id) -> bool {
        // Cannot tell: say held, so nothing is asked for twice.
        self.store().contains(&RecordId(*id)).unwrap_or(true)
    }

    fn items_from(&self, bound: &Bound, limit: usize) -> Vec<Item> {
        Replica::items_from(self, bound, limit)
    }

    fn ingest(
        &mut self,
        records: Vec<setu_core::record::Parsed>,
        now: u64,
    ) -> Result<Vec<Verdict>, String> {
        let done = Replica::ingest_parsed(self, records, now).map_err(|e| e.to_string())?;
        Ok(verdicts(done))
    }

    fn rule_changes(&self) -> u64 {
        self.membership()
            .map_or(0, crate::members::Membership::changes)
    }
}

/// What an ingest came to, one verdict per record, as the protocol sees it.
pub fn verdicts(done: crate::ingest::Ingested) -> Vec<Verdict> {
    let ts_of: std::collections::HashMap<RecordId, u64> =
        done.stored.iter().map(|(ts, id)| (*id, *ts)).collect();
    done.outcomes
        .into_iter()
        .map(|o| match o {
            Outcome::Stored { id, .. } => Verdict::Stored {
                id: id.0,
                ts: ts_of.get(&id).copied().unwrap_or(0),
            },
            Outcome::Duplicate(id) => Verdict::Duplicate(id.0),
            // Kept on this node only (local policy): to the network it is
            // refused, so it is neither passed on nor reconciled.
            Outcome::Local(id) => Verdict::Refused {
                id: Some(id.0),
                why: Refused::Other(
                    "kept on this node only, by local policy (a trusted key)".into(),
                ),
            },
            Outcome::Refused { id, why } => Verdict::Refused {
                id: id.map(|i| i.0),
                why: match why {
                    Refusal::Invalid(e) => Refused::Invalid(e),
                    Refusal::Future { .. } => Refused::Future,
                    other => Refused::Other(other.to_string()),
                },
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(ts: u64, b: u8) -> Item {
        Item { ts, id: [b; 32] }
    }

    fn stored(v: &[Item]) -> Vec<(u64, RecordId)> {
        v.iter().map(|i| (i.ts, RecordId(i.id))).collect()
    }

    #[test]
    fn the_list_follows_the_store_or_is_dropped() {
        let mut c = Cache {
            items: Arc::new(vec![item(1, 1), item(5, 5)]),
            change: Some(7),
        };
        // A session's snapshot: shared, not copied...
        let session = Arc::clone(&c.items);
        // In order: appended.
        c.note_stored(7, 8, &stored(&[item(9, 9), item(6, 6)]));
        assert_eq!(
            *c.items,
            vec![item(1, 1), item(5, 5), item(6, 6), item(9, 9)]
        );
        // ...and unchanged by what was stored after it was taken.
        assert_eq!(*session, vec![item(1, 1), item(5, 5)]);
        let shared = Arc::clone(&c.items);
        assert!(Arc::ptr_eq(&shared, &c.items), "no copy while unchanged");
        assert_eq!(c.change, Some(8));
        // Out of order: merged.
        c.note_stored(8, 9, &stored(&[item(2, 2), item(7, 7)]));
        let ts: Vec<u64> = c.items.iter().map(|i| i.ts).collect();
        assert_eq!(ts, vec![1, 2, 5, 6, 7, 9]);
        // Someone else wrote in between (change 9 -> 10 unseen): dropped.
        c.note_stored(10, 11, &stored(&[item(3, 3)]));
        assert_eq!(c.change, None);
        assert!(c.items.is_empty());
        // And stays dropped until rebuilt.
        c.note_stored(11, 12, &stored(&[item(4, 4)]));
        assert_eq!(c.change, None);
    }
}
