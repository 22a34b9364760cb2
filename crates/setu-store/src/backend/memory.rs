//! An in-memory backend for tests and simulations. Not durable.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::RwLock;

use super::{Backend, Entries, Visit, Write};
use crate::Error;

/// A `BTreeMap` behind a lock.
#[derive(Debug, Default)]
pub struct MemoryBackend {
    map: RwLock<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl MemoryBackend {
    /// An empty store.
    pub fn new() -> MemoryBackend {
        MemoryBackend::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<Vec<u8>, Vec<u8>>> {
        self.map
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Backend for MemoryBackend {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.read().get(key).cloned())
    }

    fn range(&self, from: &[u8], to: &[u8], rev: bool, limit: usize) -> Result<Entries, Error> {
        let map = self.read();
        let r = map.range::<[u8], _>((Bound::Included(from), Bound::Excluded(to)));
        let clone = |(k, v): (&Vec<u8>, &Vec<u8>)| (k.clone(), v.clone());
        Ok(if rev {
            r.rev().take(limit).map(clone).collect()
        } else {
            r.take(limit).map(clone).collect()
        })
    }

    fn scan_prefix(&self, prefix: &[u8], f: Visit<'_>) -> Result<(), Error> {
        let map = self.read();
        for (k, v) in map.range::<[u8], _>((Bound::Included(prefix), Bound::Unbounded)) {
            if !k.starts_with(prefix) || !f(k, v)? {
                break;
            }
        }
        Ok(())
    }

    fn apply(&self, writes: Vec<Write>) -> Result<(), Error> {
        let mut map = self
            .map
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (k, v) in writes {
            match v {
                Some(v) => map.insert(k, v),
                None => map.remove(&k),
            };
        }
        Ok(())
    }

    fn size_on_disk(&self) -> u64 {
        0
    }
}
