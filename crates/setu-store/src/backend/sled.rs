//! The sled backend: one tree, atomic batches, flushed before returning.

use std::path::Path;

use super::{Backend, Entries, Visit, Write};
use crate::Error;

/// sled's page cache, unless configured otherwise. Resident memory is about
/// this plus sled's own overhead (see the README).
pub const DEFAULT_CACHE_BYTES: u64 = 32 * 1024 * 1024;

/// A sled database holding the store's one tree.
#[derive(Debug, Clone)]
pub struct SledBackend {
    db: sled::Db,
}

impl SledBackend {
    /// Opens (or creates) the database in `dir` with a page cache capped at
    /// `cache_bytes`.
    pub fn open(dir: &Path, cache_bytes: u64) -> Result<SledBackend, Error> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(cache_bytes)
            .flush_every_ms(None)
            .open()
            .map_err(|e| {
                Error::Backend(format!(
                    "cannot open the database in {}: {e}",
                    dir.display()
                ))
            })?;
        Ok(SledBackend { db })
    }
}

fn err(e: sled::Error) -> Error {
    Error::Backend(e.to_string())
}

impl Backend for SledBackend {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.db.get(key).map_err(err)?.map(|v| v.to_vec()))
    }

    fn range(&self, from: &[u8], to: &[u8], rev: bool, limit: usize) -> Result<Entries, Error> {
        let iter = self.db.range(from..to);
        let mut out = Vec::new();
        let mut push = |kv: sled::Result<(sled::IVec, sled::IVec)>| -> Result<bool, Error> {
            let (k, v) = kv.map_err(err)?;
            out.push((k.to_vec(), v.to_vec()));
            Ok(out.len() < limit)
        };
        if rev {
            for kv in iter.rev() {
                if !push(kv)? {
                    break;
                }
            }
        } else {
            for kv in iter {
                if !push(kv)? {
                    break;
                }
            }
        }
        Ok(out)
    }

    fn scan_prefix(&self, prefix: &[u8], f: Visit<'_>) -> Result<(), Error> {
        for kv in self.db.scan_prefix(prefix) {
            let (k, v) = kv.map_err(err)?;
            if !f(&k, &v)? {
                break;
            }
        }
        Ok(())
    }

    fn apply(&self, writes: Vec<Write>) -> Result<(), Error> {
        let mut batch = sled::Batch::default();
        for (k, v) in writes {
            match v {
                Some(v) => batch.insert(k, v),
                None => batch.remove(k),
            }
        }
        self.db.apply_batch(batch).map_err(err)?;
        self.db.flush().map_err(err)?;
        Ok(())
    }

    fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }
}
