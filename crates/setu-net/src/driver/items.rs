//! The store's `(ts, id)` items, as reconciliation needs them: the whole
//! list for a session (kept in memory and updated as records are stored,
//! instead of read from the store for every session; every session shares
//! one snapshot, copied only when records are stored while sessions hold
//! it), and ranges for bulk transfer (read from the store).

use std::sync::Arc;

use setu_core::ids::RecordId;
use setu_store::backend::Backend;
use setu_sync::item::{Bound, Item};

use super::Driver;

/// Items read from the store per range call while listing them.
const ITEMS_CHUNK: usize = 50_000;
/// Above this many records the list is not kept in memory (40 bytes an
/// item: 160 MiB); each session then reads it from the store.
pub const MAX_CACHED_ITEMS: usize = 4_000_000;

/// The sorted item list and the store change it reflects.
#[derive(Default)]
pub(super) struct Cache {
    items: Arc<Vec<Item>>,
    /// The store's change counter when `items` was last made whole; `None`
    /// when there is no list.
    change: Option<u64>,
}

impl Cache {
    /// Records the driver stored moved the store from change `before` to
    /// `after`: they join the list if it was current at `before`, and the
    /// list is dropped otherwise (rebuilt at the next session).
    pub(super) fn note_stored(&mut self, before: u64, after: u64, stored: &[(u64, RecordId)]) {
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

impl<B: Backend + Send + 'static> Driver<B> {
    /// Every item in the store, in order: the cached list when it reflects
    /// the store's current change, else read from the store (and cached).
    /// `None` if the store cannot list them (a partial list would make peers
    /// push what this node already holds).
    pub(super) fn items(&mut self) -> Option<Arc<Vec<Item>>> {
        let replica = self.replica();
        let change = match replica.store().meta() {
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
            let chunk = match replica.store().ts_range(after, ITEMS_CHUNK) {
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
        drop(replica);
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
    pub(super) fn items_from(&self, bound: &Bound, limit: usize) -> Vec<Item> {
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
        match self.replica().store().ts_range(after, limit) {
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
