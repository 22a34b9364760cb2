//! Items and range bounds ([`spec/sync.md` §2](../../../spec/sync.md)).

use std::cmp::Ordering;

/// A record id.
pub type Id = [u8; 32];

/// One element of a set: a record's `ts` and id, ordered by (ts, id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Item {
    /// `envelope.ts`, milliseconds.
    pub ts: u64,
    /// The record id.
    pub id: Id,
}

/// The exclusive upper end of a range: everything ordered before
/// `(ts, prefix ‖ 0…0)`, or everything, for [`Bound::Infinity`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bound {
    /// Above every item.
    Infinity,
    /// `(ts, id prefix)`, the prefix at most 32 bytes.
    At {
        /// Timestamp.
        ts: u64,
        /// Leading bytes of an id; the rest count as zeros.
        prefix: Vec<u8>,
    },
}

impl Bound {
    /// The lowest bound: below every item.
    pub fn zero() -> Bound {
        Bound::At {
            ts: 0,
            prefix: Vec::new(),
        }
    }

    /// True if `item` lies below this bound.
    pub fn above(&self, item: &Item) -> bool {
        match self {
            Bound::Infinity => true,
            Bound::At { ts, prefix } => match item.ts.cmp(ts) {
                Ordering::Less => true,
                Ordering::Greater => false,
                Ordering::Equal => {
                    let mut full = [0u8; 32];
                    full[..prefix.len()].copy_from_slice(prefix);
                    item.id < full
                }
            },
        }
    }

    /// The shortest bound that lies above `below` and not above `above`
    /// (requires `below < above`).
    pub fn between(below: &Item, above: &Item) -> Bound {
        if below.ts != above.ts {
            return Bound::At {
                ts: above.ts,
                prefix: Vec::new(),
            };
        }
        let k = below
            .id
            .iter()
            .zip(above.id.iter())
            .position(|(a, b)| a != b)
            .unwrap_or(31);
        Bound::At {
            ts: above.ts,
            prefix: above.id[..=k].to_vec(),
        }
    }

    /// Orders bounds (Infinity last).
    pub fn cmp_bound(&self, other: &Bound) -> Ordering {
        match (self, other) {
            (Bound::Infinity, Bound::Infinity) => Ordering::Equal,
            (Bound::Infinity, _) => Ordering::Greater,
            (_, Bound::Infinity) => Ordering::Less,
            (Bound::At { ts: a, prefix: pa }, Bound::At { ts: b, prefix: pb }) => {
                let mut fa = [0u8; 32];
                fa[..pa.len()].copy_from_slice(pa);
                let mut fb = [0u8; 32];
                fb[..pb.len()].copy_from_slice(pb);
                a.cmp(b).then(fa.cmp(&fb)).then(pa.len().cmp(&pb.len()))
            }
        }
    }
}

/// The index of the first item of `items` (sorted) that is not below `bound`.
pub fn lower_index(items: &[Item], bound: &Bound) -> usize {
    items.partition_point(|i| bound.above(i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(ts: u64, b: u8, c: u8) -> Item {
        let mut id = [0u8; 32];
        id[0] = b;
        id[1] = c;
        Item { ts, id }
    }

    #[test]
    fn between_separates() {
        let (a, b) = (item(5, 1, 2), item(5, 1, 3));
        let bound = Bound::between(&a, &b);
        assert!(bound.above(&a) && !bound.above(&b));
        assert_eq!(
            bound,
            Bound::At {
                ts: 5,
                prefix: vec![1, 3]
            }
        );
        let bound = Bound::between(&item(4, 9, 9), &b);
        assert_eq!(
            bound,
            Bound::At {
                ts: 5,
                prefix: vec![]
            }
        );
    }
}
