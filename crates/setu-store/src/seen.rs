//! A Bloom filter of what the store holds, so that ingest skips the reads
//! that would find nothing ([`spec/store.md` §7](../../../spec/store.md)).
//!
//! A new record costs ingest three point reads before it writes: is its id
//! stored, is another record stored at its author's `seq`, and its chain.
//! For a record this node has never seen, all three find nothing, and
//! `setu-bench layout` measures them at a third of sled's time per record
//! once the store outgrows sled's page cache, because each reads a page at
//! random. The filter answers "certainly not held" from memory for most of
//! them; "maybe" falls through to the read, so an answer is never wrong,
//! only sometimes slower.
//!
//! It holds [`BITS_PER_KEY`] bits per key for [`HASHES`] hashes, about 1%
//! false positives at its capacity. It is built from one scan of the
//! store's `s` and `p` entries (every stored record has an `s` entry) the
//! first time ingest asks, and built again, three times larger, when the
//! keys added pass its capacity. Removing from the store leaves the keys
//! in the filter: a stale "maybe" costs a read, never a wrong answer.

use std::hash::{DefaultHasher, Hash, Hasher};

use setu_core::ids::{AuthorKey, RecordId};

/// Bits per key at the filter's capacity.
pub const BITS_PER_KEY: usize = 10;
/// Bit positions per key (the best count for 10 bits per key).
pub const HASHES: u32 = 7;
/// Keys a new filter has room for at the least (about 80 KiB).
pub const MIN_CAPACITY: usize = 1 << 16;
/// A filter rebuilt because it filled has this many times its keys as
/// capacity, so rebuilds grow geometrically and cost O(1) per key.
pub const GROWTH: usize = 3;

/// One thing the store may hold.
#[derive(Debug, Clone, Copy)]
pub enum Probe<'a> {
    /// A record, by id (the `r` and `s` entries).
    Record(&'a RecordId),
    /// A record by this author at this `seq` (the `s` entries).
    Seq(&'a AuthorKey, u64),
    /// A chain, by owner and name (the `p` entries).
    Chain(&'a AuthorKey, &'a str),
}

impl Probe<'_> {
    /// Two independent 64-bit hashes, for double hashing.
    fn hashes(&self) -> (u64, u64) {
        if let Probe::Record(id) = self {
            // A record id is a SHA-256 digest already.
            let a = u64::from_le_bytes(id.0[..8].try_into().unwrap_or_default());
            let b = u64::from_le_bytes(id.0[8..16].try_into().unwrap_or_default());
            return (a, b | 1);
        }
        let hash = |salt: u8| {
            let mut h = DefaultHasher::new();
            salt.hash(&mut h);
            match self {
                Probe::Record(id) => id.0.hash(&mut h),
                Probe::Seq(author, seq) => {
                    1u8.hash(&mut h);
                    author.0.hash(&mut h);
                    seq.hash(&mut h);
                }
                Probe::Chain(owner, name) => {
                    2u8.hash(&mut h);
                    owner.0.hash(&mut h);
                    name.hash(&mut h);
                }
            }
            h.finish()
        };
        (hash(0), hash(1) | 1)
    }
}

/// The filter.
#[derive(Debug, Clone)]
pub struct Filter {
    bits: Vec<u64>,
    capacity: usize,
    keys: usize,
}

impl Filter {
    /// An empty filter with room for `capacity` keys (at least
    /// [`MIN_CAPACITY`]).
    pub fn with_capacity(capacity: usize) -> Filter {
        let capacity = capacity.max(MIN_CAPACITY);
        let words = (capacity * BITS_PER_KEY).div_ceil(64);
        Filter {
            bits: vec![0; words],
            capacity,
            keys: 0,
        }
    }

    fn positions(&self, probe: &Probe<'_>) -> impl Iterator<Item = usize> + use<> {
        let (a, b) = probe.hashes();
        let m = (self.bits.len() * 64) as u64;
        (0..u64::from(HASHES)).map(move |i| (a.wrapping_add(i.wrapping_mul(b)) % m) as usize)
    }

    /// Adds a key.
    pub fn insert(&mut self, probe: Probe<'_>) {
        for p in self.positions(&probe) {
            self.bits[p / 64] |= 1 << (p % 64);
        }
        self.keys += 1;
    }

    /// False if the key was certainly never added.
    pub fn may_hold(&self, probe: Probe<'_>) -> bool {
        self.positions(&probe)
            .all(|p| self.bits[p / 64] & (1 << (p % 64)) != 0)
    }

    /// True once more keys were added than it has room for: its false
    /// positives rise, and it should be built again, larger.
    pub fn is_full(&self) -> bool {
        self.keys > self.capacity
    }

    /// Keys added.
    pub fn keys(&self) -> usize {
        self.keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_says_no_to_a_key_it_holds_and_rarely_yes_to_another() {
        let mut f = Filter::with_capacity(30_000);
        let id = |i: u32| {
            use sha2::Digest;
            RecordId(sha2::Sha256::digest(i.to_le_bytes()).into())
        };
        let author = AuthorKey([9; 32]);
        for i in 0..20_000 {
            f.insert(Probe::Record(&id(i)));
            f.insert(Probe::Seq(&author, u64::from(i)));
            f.insert(Probe::Chain(&author, &format!("BGD-{i}")));
        }
        assert_eq!(f.keys(), 60_000);
        assert!(!f.is_full(), "room for {MIN_CAPACITY}");
        for i in 0..20_000 {
            assert!(f.may_hold(Probe::Record(&id(i))));
            assert!(f.may_hold(Probe::Seq(&author, u64::from(i))));
            assert!(f.may_hold(Probe::Chain(&author, &format!("BGD-{i}"))));
        }
        // 60,000 keys in room for 65,536: about 1% false positives.
        let other = AuthorKey([8; 32]);
        let false_yes = (20_000..40_000)
            .filter(|&i| {
                f.may_hold(Probe::Record(&id(i)))
                    || f.may_hold(Probe::Seq(&other, u64::from(i)))
                    || f.may_hold(Probe::Chain(&author, &format!("NPL-{i}")))
            })
            .count();
        assert!(false_yes < 2_000, "{false_yes} of 20,000 said maybe");
    }

    #[test]
    fn is_full_past_its_capacity() {
        let mut f = Filter::with_capacity(1);
        let a = AuthorKey([1; 32]);
        for s in 0..MIN_CAPACITY as u64 {
            f.insert(Probe::Seq(&a, s));
        }
        assert!(!f.is_full());
        f.insert(Probe::Seq(&a, u64::MAX));
        assert!(f.is_full());
    }
}
