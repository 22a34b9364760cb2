//! BLAKE3 verified streaming in 16 KiB blocks (`spec/attachments.md` §2–§3),
//! over the `bao-tree` crate, with no files: the tree of a piece of content,
//! the encoding of a response, and its block-by-block check.
//!
//! [`crate::content`] uses these over files; the simulator over generated
//! bytes.

use std::io::{self, Read};
use std::ops::Range;

pub use bao_tree::TreeNode;
use bao_tree::io::outboard::PreOrderOutboard;
use bao_tree::io::sync::Outboard;
pub use bao_tree::io::sync::{ReadAt, Size};
use bao_tree::io::{BaoContentItem, DecodeError};
use bao_tree::{BaoTree, BlockSize, ChunkNum, ChunkRanges};

use crate::{Hash, blocks};

/// Blocks in one request at most: 64 blocks, 1 MiB of content
/// (`spec/net.md` §7.4).
pub const MAX_REQUEST_BLOCKS: u64 = 64;

/// Bytes of one response at most: the blocks of [`MAX_REQUEST_BLOCKS`] and
/// their parent pairs. A contiguous range of n blocks of a tree at most 64
/// levels deep needs at most n − 1 + 2 × 64 parent pairs of 64 bytes.
pub const MAX_RESPONSE_BYTES: usize =
    (MAX_REQUEST_BLOCKS * blocks::BLOCK_BYTES) as usize + (MAX_REQUEST_BLOCKS as usize + 128) * 64;

pub(crate) fn tree(size: u64) -> BaoTree {
    BaoTree::new(size, BlockSize::from_chunk_log(blocks::BLOCK_CHUNK_LOG))
}

pub(crate) fn chunk_ranges(range: &Range<u64>) -> ChunkRanges {
    let per = 1u64 << blocks::BLOCK_CHUNK_LOG;
    ChunkRanges::from(ChunkNum(range.start * per)..ChunkNum(range.end * per))
}

/// True when `range` is a range one request may ask for in content of
/// `size` bytes: not empty, within the content, at most
/// [`MAX_REQUEST_BLOCKS`] long.
pub fn valid_range(range: &Range<u64>, size: u64) -> bool {
    range.start < range.end
        && range.end <= blocks::count(size)
        && range.end - range.start <= MAX_REQUEST_BLOCKS
}

/// Bytes of content `range` covers in content of `size` bytes.
pub fn byte_len(range: &Range<u64>, size: u64) -> u64 {
    let r = blocks::byte_range(range, size);
    r.end - r.start
}

/// The tree of one piece of content in memory: its hash and its parent
/// pairs (64 bytes per 16 KiB block, 0.4% of the content).
#[derive(Debug, Clone)]
pub struct Tree {
    outboard: PreOrderOutboard<Vec<u8>>,
}

impl Tree {
    /// Hashes `size` bytes read from `data`, keeping the parent pairs.
    pub fn build(data: impl Read, size: u64) -> io::Result<Tree> {
        let tree = tree(size);
        let mut outboard = PreOrderOutboard {
            root: blake3::hash(&[]),
            tree,
            data: vec![0u8; usize::try_from(tree.outboard_size()).unwrap_or(0)],
        };
        let root = bao_tree::io::sync::outboard(data, tree, &mut outboard)?;
        outboard.root = root;
        Ok(Tree { outboard })
    }

    /// The content's hash.
    pub fn hash(&self) -> Hash {
        Hash(*self.outboard.root.as_bytes())
    }

    /// The content's size in bytes.
    pub fn size(&self) -> u64 {
        self.outboard.tree.size()
    }

    /// The parent pairs, pre-order: the `.obao` file of `content`.
    pub fn outboard_bytes(&self) -> &[u8] {
        &self.outboard.data
    }

    /// Encodes `range` of the content read from `data` as a response,
    /// without checking the bytes (the receiver does).
    pub fn encode(&self, data: impl ReadAt + Size, range: &Range<u64>) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        bao_tree::io::sync::encode_ranges(data, &self.outboard, &chunk_ranges(range), &mut out)
            .map_err(io::Error::other)?;
        Ok(out)
    }
}

/// Encodes `range` from `data` and a tree kept elsewhere (a file), checking
/// every block against the tree as it is read. Fails if a block of the
/// range is missing or does not verify.
pub fn encode_checked<D: ReadAt, O: ReadAt>(
    hash: &Hash,
    size: u64,
    data: D,
    outboard: O,
    range: &Range<u64>,
) -> io::Result<Vec<u8>> {
    let outboard = PreOrderOutboard {
        root: blake3::Hash::from_bytes(hash.0),
        tree: tree(size),
        data: outboard,
    };
    let mut out = Vec::new();
    bao_tree::io::sync::encode_ranges_validated(data, &outboard, &chunk_ranges(range), &mut out)
        .map_err(io::Error::other)?;
    Ok(out)
}

/// One verified piece of a response.
#[derive(Debug)]
pub enum Item<'a> {
    /// A parent pair that hashes to its parent.
    Parent {
        /// Its place in the tree.
        node: TreeNode,
        /// The left and right hashes.
        pair: &'a (blake3::Hash, blake3::Hash),
    },
    /// A block that hashes to its place in the tree.
    Block {
        /// Its index.
        index: u64,
        /// Its first byte's offset in the content.
        offset: u64,
        /// Its bytes.
        bytes: &'a [u8],
    },
}

/// Why a response was not taken whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// A parent pair or a block does not hash to what the tree says: the
    /// sender is at fault (`spec/net.md` §8).
    Corrupt {
        /// The first block that did not verify (or under the parent that
        /// did not).
        block: u64,
    },
    /// The response ended before the range did.
    Short {
        /// The first block missing.
        block: u64,
    },
    /// Bytes after the end of the range.
    Trailing,
}

/// What one response gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The blocks verified, in the order received.
    pub verified: Vec<u64>,
    /// None when the whole range verified.
    pub fault: Option<Fault>,
}

/// Checks the response to a request for `range` of content `hash` of
/// `size` bytes, handing each verified parent pair and block to `sink`
/// before reading on; nothing that fails is handed on. Stops at the first
/// fault. An error from `sink` stops it too, and is returned.
pub fn decode(
    hash: &Hash,
    size: u64,
    range: &Range<u64>,
    encoded: &[u8],
    mut sink: impl FnMut(Item<'_>) -> io::Result<()>,
) -> io::Result<Received> {
    let ranges = chunk_ranges(range);
    let mut reader = encoded;
    let mut verified = Vec::new();
    let mut fault = None;
    let per = 1u64 << blocks::BLOCK_CHUNK_LOG;
    let root = blake3::Hash::from_bytes(hash.0);
    let iter = bao_tree::io::sync::DecodeResponseIter::new(root, tree(size), &mut reader, &ranges);
    for item in iter {
        match item {
            Ok(BaoContentItem::Parent(p)) => sink(Item::Parent {
                node: p.node,
                pair: &p.pair,
            })?,
            Ok(BaoContentItem::Leaf(leaf)) => {
                let index = leaf.offset / blocks::BLOCK_BYTES;
                sink(Item::Block {
                    index,
                    offset: leaf.offset,
                    bytes: &leaf.data,
                })?;
                verified.push(index);
            }
            Err(DecodeError::LeafHashMismatch(c)) => {
                fault = Some(Fault::Corrupt { block: c.0 / per });
                break;
            }
            Err(DecodeError::ParentHashMismatch(node)) => {
                let block = node.chunk_range().start.0 / per;
                fault = Some(Fault::Corrupt {
                    block: block.max(range.start),
                });
                break;
            }
            Err(DecodeError::LeafNotFound(c)) => {
                fault = Some(Fault::Short { block: c.0 / per });
                break;
            }
            Err(DecodeError::ParentNotFound(node)) => {
                let block = node.chunk_range().start.0 / per;
                fault = Some(Fault::Short {
                    block: block.max(range.start),
                });
                break;
            }
            // Reading from a slice fails only at its end.
            Err(DecodeError::Io(_)) => {
                fault = Some(Fault::Short {
                    block: verified.last().map_or(range.start, |b| b + 1),
                });
                break;
            }
        }
    }
    if fault.is_none() && !reader.is_empty() {
        fault = Some(Fault::Trailing);
    }
    Ok(Received { verified, fault })
}

/// The blocks of `size`-byte content whose bytes in `data` verify against
/// the parent pairs in `outboard` and `hash`: what a resumed fetch holds.
pub fn valid_blocks<D: ReadAt, O: ReadAt>(
    hash: &Hash,
    size: u64,
    data: D,
    outboard: O,
) -> io::Result<blocks::Set> {
    let tree = tree(size);
    let outboard = PreOrderOutboard {
        root: blake3::Hash::from_bytes(hash.0),
        tree,
        data: outboard,
    };
    let count = blocks::count(size);
    let mut have = blocks::Set::new(count);
    let per = 1u64 << blocks::BLOCK_CHUNK_LOG;
    let all = ChunkRanges::all();
    for r in bao_tree::io::sync::valid_ranges(&outboard, data, &all) {
        let r = r?;
        // A block counts only when all of its chunks verify.
        let first = r.start.0.div_ceil(per);
        let last = if r.end.0 >= outboard.tree().chunks().0 {
            count
        } else {
            r.end.0 / per
        };
        have.insert_range(first..last);
    }
    Ok(have)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn a_response_verifies_and_any_flipped_byte_is_caught() {
        let data = content(200_000);
        let tree = Tree::build(&data[..], data.len() as u64).expect("in memory");
        assert_eq!(tree.hash().0, *blake3::hash(&data).as_bytes());
        let range = 3..7;
        let encoded = tree.encode(&data, &range).expect("in memory");
        let ok = decode(&tree.hash(), tree.size(), &range, &encoded, |_| Ok(())).expect("sink");
        assert_eq!((ok.verified, ok.fault), (vec![3, 4, 5, 6], None));

        for at in [0, 70, encoded.len() / 2, encoded.len() - 1] {
            let mut bad = encoded.clone();
            bad[at] ^= 1;
            let mut written = Vec::new();
            let got = decode(&tree.hash(), tree.size(), &range, &bad, |i| {
                if let Item::Block { index, .. } = i {
                    written.push(index);
                }
                Ok(())
            })
            .expect("sink");
            assert!(
                matches!(got.fault, Some(Fault::Corrupt { .. })),
                "flip at {at}: {got:?}"
            );
            assert_eq!(written, got.verified, "only verified blocks reach the sink");
            assert!(got.verified.len() < 4);
        }
        let cut = decode(
            &tree.hash(),
            tree.size(),
            &range,
            &encoded[..encoded.len() - 10],
            |_| Ok(()),
        )
        .expect("sink");
        assert_eq!(cut.fault, Some(Fault::Short { block: 6 }));
        assert_eq!(cut.verified, vec![3, 4, 5]);
        let mut long = encoded.clone();
        long.push(0);
        let trailing = decode(&tree.hash(), tree.size(), &range, &long, |_| Ok(())).expect("sink");
        assert_eq!(trailing.fault, Some(Fault::Trailing));
    }

    #[test]
    fn ranges_are_bounded() {
        let size = 10 * blocks::BLOCK_BYTES + 1;
        assert!(valid_range(&(0..11), size));
        assert!(!valid_range(&(0..12), size));
        assert!(!valid_range(&(3..3), size));
        assert!(!valid_range(&(0..65), 100 * blocks::BLOCK_BYTES));
    }
}
