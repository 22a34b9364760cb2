//! The storage backend: one trait, an ordered map of bytes to bytes with
//! atomic, durable batches, and optionally a place for large values beside
//! it. [`sled`] is the real one and the source of truth, with its
//! [`values`] log; [`memory`] is for tests and simulations.

pub mod memory;
pub mod sled;
pub mod values;

use crate::Error;

/// One write of a batch: `Some(value)` inserts, `None` removes.
pub type Write = (Vec<u8>, Option<Vec<u8>>);
/// Key-value pairs, in key order.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;
/// A visitor of entries: returns `Ok(false)` to stop.
pub type Visit<'a> = &'a mut dyn FnMut(&[u8], &[u8]) -> Result<bool, Error>;

/// An ordered key-value map with atomic batches.
pub trait Backend: Send + Sync {
    /// The value under `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error>;

    /// Entries with keys in `[from, to)`, in key order (reversed if `rev`),
    /// at most `limit` of them.
    fn range(&self, from: &[u8], to: &[u8], rev: bool, limit: usize) -> Result<Entries, Error>;

    /// Calls `f` on every entry whose key starts with `prefix`, in key order,
    /// until `f` returns `Ok(false)`.
    fn scan_prefix(&self, prefix: &[u8], f: Visit<'_>) -> Result<(), Error>;

    /// Applies every write or none, and makes them durable before returning.
    fn apply(&self, writes: Vec<Write>) -> Result<(), Error>;

    /// Bytes used on disk (0 in memory).
    fn size_on_disk(&self) -> u64;

    /// Keeps `values` durably outside the map, and gives back for each a
    /// reference that [`Backend::value`] reads it back by; `None` if this
    /// backend keeps every value in the map. Called before the
    /// [`Backend::apply`] that writes the references.
    fn put_values(&self, values: &[Vec<u8>]) -> Result<Option<Vec<Vec<u8>>>, Error> {
        let _ = values;
        Ok(None)
    }

    /// The value a reference from [`Backend::put_values`] names.
    fn value(&self, reference: &[u8]) -> Result<Vec<u8>, Error> {
        let _ = reference;
        Err(Error::Corrupt(
            "a reference to a value kept apart, in a store that keeps none".into(),
        ))
    }
}

/// The first key after every key that starts with `prefix`.
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0xff; prefix.len() + 1]
}
