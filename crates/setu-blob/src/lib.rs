//! Setu's attachments: reports, toolkits, videos and other files, named by
//! the BLAKE3 hash of their bytes and fetched from whichever peers hold them
//! (`spec/attachments.md`).
//!
//! - [`blocks`]: the 16 KiB block, the unit of requests and verification.
//! - [`content`]: content on disk by hash, outside sled; a partial fetch
//!   writes only verified blocks and resumes from them.
//! - [`verify`]: the tree of a piece of content, the encoding of a
//!   response, and its block-by-block check, with no files.
//! - [`fetch`]: the sans-IO rules of one fetch: whom to ask for which
//!   blocks, what to do with a corrupt or cut response, when to give up on
//!   a peer.
//! - [`wire`]: the frames of `/setu/N/blob/1`.
//!
//! A file added on one node is served in verified pieces to another:
//!
//! ```
//! # fn main() -> Result<(), setu_blob::Error> {
//! let a = tempfile::tempdir().map_err(|e| setu_blob::Error::Io { path: "tmp".into(), source: e })?;
//! let b = tempfile::tempdir().map_err(|e| setu_blob::Error::Io { path: "tmp".into(), source: e })?;
//! let file = a.path().join("toolkit.pdf");
//! std::fs::write(&file, vec![7u8; 40_000]).map_err(|e| setu_blob::Error::Io { path: file.clone(), source: e })?;
//!
//! let publisher = setu_blob::content::Dir::open(a.path().join("content"))?;
//! let added = publisher.add_file(&file, 1 << 30, |_| {})?;
//! assert_eq!(added.hash, setu_blob::Hash(*blake3::hash(&vec![7u8; 40_000]).as_bytes()));
//!
//! let fetcher = setu_blob::content::Dir::open(b.path().join("content"))?;
//! let mut partial = fetcher.partial(&added.hash, added.size)?;
//! let response = publisher.encode(&added.hash, added.size, &(0..3))?;
//! let got = partial.receive(&(0..3), &response)?;
//! assert_eq!((got.verified, got.fault), (vec![0, 1, 2], None));
//! assert!(partial.finish()?);
//! assert!(fetcher.path(&added.hash).is_some());
//! # Ok(()) }
//! ```

#![deny(missing_docs)]
// Lists of block ranges with one range are meant here (what a peer holds).
#![allow(clippy::single_range_in_vec_init)]

pub mod blocks;
pub mod content;
pub mod fetch;
pub mod verify;
pub mod wire;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// The BLAKE3 hash of a piece of content: the root of its verified-streaming
/// tree, and the value an attachment record signs (`spec/record.md` §6d).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl FromStr for Hash {
    type Err = Error;

    fn from_str(s: &str) -> Result<Hash, Error> {
        let mut out = [0u8; 32];
        if s.len() != 64 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(Error::BadHash {
                text: s.chars().take(80).collect(),
            });
        }
        hex::decode_to_slice(s, &mut out).map_err(|_| Error::BadHash {
            text: s.chars().take(80).collect(),
        })?;
        Ok(Hash(out))
    }
}

/// What went wrong with content.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Content larger than the node's limit.
    #[error("the file is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge {
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// An empty file: an attachment has at least one byte
    /// (`spec/record.md` §6d).
    #[error("{}: the file is empty", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The file changed size while it was being read.
    #[error("{}: the file changed while it was read; try again when nothing writes it", path.display())]
    Changed {
        /// The file.
        path: PathBuf,
    },
    /// Not 64 lowercase hex digits.
    #[error("hash: {text:?} is not 64 lowercase hex digits")]
    BadHash {
        /// What was given.
        text: String,
    },
    /// A block range outside the content, empty, or too long.
    #[error(
        "blocks {start}..{end}: not a range of at most 64 blocks within content of {blocks} blocks"
    )]
    BadRange {
        /// First block.
        start: u64,
        /// One past the last block.
        end: u64,
        /// Blocks in the content.
        blocks: u64,
    },
    /// A pin or deny list over its limit.
    #[error("content/{list}: more than {max} hashes")]
    TooMany {
        /// The list.
        list: String,
        /// Its limit.
        max: usize,
    },
    /// The operator refuses this content (`content/deny`).
    #[error("content {hash} is on this node's deny list")]
    Denied {
        /// The hash.
        hash: Hash,
    },
    /// Nothing of this hash is held.
    #[error("content {hash} is not held here")]
    NotHeld {
        /// The hash.
        hash: Hash,
    },
    /// Some block of the range is not held, or did not verify when read.
    #[error("content {hash}: blocks {start}..{end} are not all held here")]
    NotHeldRange {
        /// The hash.
        hash: Hash,
        /// First block.
        start: u64,
        /// One past the last block.
        end: u64,
    },
}
