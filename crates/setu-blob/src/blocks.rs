//! Blocks: the unit in which content is requested, verified and counted.
//!
//! A block is [`BLOCK_BYTES`] = 16 KiB (16 BLAKE3 chunks of 1 KiB), the last
//! one shorter (`spec/attachments.md` §2). A [`Set`] says which blocks of one
//! piece of content are held.

use std::ops::Range;

/// log2 of the BLAKE3 chunks (1 KiB each) in one block.
pub const BLOCK_CHUNK_LOG: u8 = 4;

/// Bytes in one block: 16 KiB.
pub const BLOCK_BYTES: u64 = 1024 << BLOCK_CHUNK_LOG;

/// How many blocks `size` bytes make (at least one: empty content is one
/// empty block, as in BLAKE3).
pub fn count(size: u64) -> u64 {
    size.div_ceil(BLOCK_BYTES).max(1)
}

/// The byte range that `blocks` cover in content of `size` bytes.
pub fn byte_range(blocks: &Range<u64>, size: u64) -> Range<u64> {
    let start = blocks.start.saturating_mul(BLOCK_BYTES).min(size);
    let end = blocks.end.saturating_mul(BLOCK_BYTES).min(size);
    start..end
}

/// A set of blocks of one piece of content: one bit per block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Set {
    words: Vec<u64>,
    len: u64,
    held: u64,
}

impl Set {
    /// An empty set over `len` blocks.
    pub fn new(len: u64) -> Self {
        let words = usize::try_from(len.div_ceil(64)).unwrap_or(usize::MAX);
        Set {
            words: vec![0; words],
            len,
            held: 0,
        }
    }

    /// A set holding every one of `len` blocks.
    pub fn full(len: u64) -> Self {
        let mut set = Set::new(len);
        set.insert_range(0..len);
        set
    }

    /// The number of blocks the set is over.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when the set is over no blocks.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many blocks are held.
    pub fn held(&self) -> u64 {
        self.held
    }

    /// True when every block is held.
    pub fn is_full(&self) -> bool {
        self.held == self.len
    }

    /// True when block `i` is held.
    pub fn contains(&self, i: u64) -> bool {
        i < self.len && self.words[(i / 64) as usize] & (1 << (i % 64)) != 0
    }

    /// Marks block `i` held (ignored past the end).
    pub fn insert(&mut self, i: u64) {
        if i < self.len && !self.contains(i) {
            self.words[(i / 64) as usize] |= 1 << (i % 64);
            self.held += 1;
        }
    }

    /// Marks every block of `range` held.
    pub fn insert_range(&mut self, range: Range<u64>) {
        for i in range.start..range.end.min(self.len) {
            self.insert(i);
        }
    }

    /// Marks block `i` not held.
    pub fn remove(&mut self, i: u64) {
        if self.contains(i) {
            self.words[(i / 64) as usize] &= !(1 << (i % 64));
            self.held -= 1;
        }
    }

    /// The held blocks as sorted, disjoint, non-adjacent ranges.
    pub fn ranges(&self) -> Vec<Range<u64>> {
        let mut out = Vec::new();
        let mut start = None;
        for i in 0..self.len {
            match (self.contains(i), start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    out.push(s..i);
                    start = None;
                }
                _ => {}
            }
        }
        if let Some(s) = start {
            out.push(s..self.len);
        }
        out
    }

    /// The set of `len` blocks holding exactly `ranges` (clipped to `len`).
    pub fn from_ranges(len: u64, ranges: &[Range<u64>]) -> Self {
        let mut set = Set::new(len);
        for r in ranges {
            set.insert_range(r.clone());
        }
        set
    }

    /// The first block at or after `from` that is not held.
    pub fn first_missing(&self, from: u64) -> Option<u64> {
        self.first_wanted(from, None, None)
    }

    /// The first block at or after `from` that is not held here, not held
    /// in `taken` (if given), and held in `offered` (if given). Word by word,
    /// so a fetch of 131 072 blocks scans 2 048 words.
    pub fn first_wanted(
        &self,
        from: u64,
        taken: Option<&Set>,
        offered: Option<&Set>,
    ) -> Option<u64> {
        if from >= self.len {
            return None;
        }
        let first = (from / 64) as usize;
        for w in first..self.words.len() {
            let mut bits = !self.words[w];
            if let Some(t) = taken {
                bits &= !t.words.get(w).copied().unwrap_or(0);
            }
            if let Some(o) = offered {
                bits &= o.words.get(w).copied().unwrap_or(0);
            }
            if w == first {
                bits &= u64::MAX << (from % 64);
            }
            if bits != 0 {
                let i = w as u64 * 64 + u64::from(bits.trailing_zeros());
                return (i < self.len).then_some(i);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counting_and_ranges() {
        assert_eq!(count(0), 1);
        assert_eq!(count(1), 1);
        assert_eq!(count(BLOCK_BYTES), 1);
        assert_eq!(count(BLOCK_BYTES + 1), 2);
        assert_eq!(
            byte_range(&(1..3), BLOCK_BYTES + 5),
            BLOCK_BYTES..BLOCK_BYTES + 5
        );

        let mut s = Set::new(130);
        s.insert_range(3..7);
        s.insert(64);
        s.insert(129);
        s.insert(500);
        assert_eq!(s.held(), 6);
        assert_eq!(s.ranges(), vec![3..7, 64..65, 129..130]);
        assert_eq!(Set::from_ranges(130, &s.ranges()), s);
        assert_eq!(s.first_missing(3), Some(7));
        assert_eq!(
            s.first_wanted(0, Some(&Set::from_ranges(130, &[0..8])), None),
            Some(8)
        );
        assert_eq!(
            s.first_wanted(0, None, Some(&Set::from_ranges(130, &[5..6, 66..67]))),
            Some(66)
        );
        assert_eq!(s.first_wanted(129, None, None), None);
        s.remove(64);
        assert_eq!(s.held(), 5);
        assert!(Set::full(130).is_full());
    }
}
