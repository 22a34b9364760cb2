//! # setu-store
//!
//! The local replica of a Setu node: every signed record of the network,
//! durable on disk, and searchable.
//!
//! - [`backend`]: one trait over an ordered key-value map, with sled behind
//!   it (the source of truth) and an in-memory twin for tests.
//! - [`store`]: what is kept, under which keys.
//! - [`chain`]: a practice's revisions and how the current one is chosen.
//! - [`ingest`]: decode → verify (batched) → validate → chain rules → one
//!   atomic write. The rules are `spec/store.md`.
//! - [`index`]: the tantivy search index, derived from the store and
//!   rebuilt from it at will.
//! - [`indexer`]: the thread that writes the index, pipelined with the
//!   store through a bounded queue.
//! - [`query`]: the query model.
//! - [`seen`]: a Bloom filter of what the store holds, so ingest skips the
//!   reads that would find nothing.
//! - [`replica`]: the data directory, tying the above together.
//! - [`proto`]: the replica as the protocol's store (`setu_proto::store::Store`).
//! - [`synth`]: a deterministic generator of synthetic practices.
//!
//! ```
//! use setu_core::keys::SecretKey;
//! use setu_store::{query::Query, replica::Replica};
//!
//! let mut replica = Replica::in_memory(Default::default()).unwrap();
//! let key = SecretKey::from_seed(&[1; 32]);
//! let body = setu_store::synth::body(7, 0);
//! let published = replica.publish(&key, body, 1_767_225_600_000).unwrap();
//! replica.flush_index().unwrap();
//!
//! let hits = replica.query(&Query::default()).unwrap();
//! assert_eq!(hits.total, 1);
//! assert_eq!(hits.hits[0].id, published.id);
//! ```

#![deny(missing_docs)]

pub mod backend;
pub mod chain;
pub mod graph;
pub mod index;
pub mod indexer;
pub mod ingest;
pub mod matching;
pub mod members;
pub mod proto;
pub mod query;
pub mod replica;
pub mod scaling;
pub mod seen;
pub mod store;
pub mod synth;

/// What can go wrong below the replica's API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The storage backend failed.
    #[error("storage: {0}")]
    Backend(String),
    /// Stored data could not be read back.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The search index failed.
    #[error("search index: {0}")]
    Index(String),
    /// A file could not be read or written.
    #[error("{0}")]
    Io(String),
    /// The data directory is missing, or of a format this version cannot read.
    #[error("{0}")]
    Format(String),
    /// The disk is full, or short of the space this node keeps free:
    /// nothing was written.
    #[error("storage: {0}")]
    NoSpace(String),
    /// Another process holds the data directory (a running `setu run`).
    #[error("{0}")]
    Locked(String),
    /// An argument from a caller is malformed (a cursor this store never
    /// issued): it names the argument and why.
    #[error("{0}")]
    BadArgument(String),
}
