//! The sled backend: one tree, atomic batches, flushed before returning.
//!
//! sled cannot undo a batch that reached its memory but failed to flush (a
//! full disk, say), and after such an error it refuses every later write
//! until the process restarts. So a failed write *closes* the database: the
//! handle is dropped, which forgets whatever the failed batch left in memory,
//! and the next call reopens it from disk. A write that failed thus leaves
//! no trace that a reader can see, and writes work again, without a restart,
//! as soon as the disk has room ([`spec/store.md` §7](../../../../spec/store.md)).
//!
//! Better still, sled never meets a full disk: a write is refused up front,
//! with the database untouched and reads still served, while the free space
//! on its filesystem is below a floor ([`DEFAULT_MIN_FREE_BYTES`]). Reopening
//! after a failed write needs room too; while there is none, calls fail with
//! the reason, and a reopen is tried again at most every [`REOPEN_RETRY`].
//!
//! The records' bytes are not kept in sled's tree but in the [`ValueLog`]
//! beside it, in the same folder: sled rewrites a value with every page it
//! rewrites, the log writes it once.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use super::values::{Ref, ValueLog};
use super::{Backend, Entries, Visit, Write};
use crate::Error;

/// sled's page cache, unless configured otherwise. sled's own accounting
/// undercounts what it holds: with the records in the value log, a
/// 100,000-record import peaked at 208 and 211 MiB resident with 32 MiB,
/// and at 177 and 177 MiB with 16, at the same ingest speed and query
/// latency (`setu-bench replica --cache-mib`, alternated; BENCHMARKS.md).
pub const DEFAULT_CACHE_BYTES: u64 = 16 * 1024 * 1024;
/// Writes are refused while the database's filesystem has less free space
/// than this, unless configured otherwise: room for sled to reopen, for the
/// search index to commit, and for the operator to act.
pub const DEFAULT_MIN_FREE_BYTES: u64 = 64 * 1024 * 1024;
/// Least time between two attempts to reopen a database closed by a failed
/// write.
pub const REOPEN_RETRY: Duration = Duration::from_secs(1);
/// A database closed by a failed write is reopened only once its filesystem
/// has this much free space: sled writes while it recovers its log, and a
/// recovery cut short by a full disk can leave the log unreadable.
pub const REOPEN_MIN_FREE_BYTES: u64 = 8 * 1024 * 1024;

/// A sled database holding the store's one tree.
#[derive(Debug, Clone)]
pub struct SledBackend {
    dir: PathBuf,
    cache_bytes: u64,
    min_free_bytes: u64,
    /// `None` after a failed write, until a call reopens it.
    db: Arc<RwLock<Option<sled::Db>>>,
    /// The last failed reopen: when, and its error.
    reopen_failed: Arc<Mutex<Option<(Instant, Error)>>>,
    /// The records' bytes.
    values: Arc<ValueLog>,
}

/// How long an open waits for sled's lock on its files. A database
/// dropped in this process keeps its lock until sled's own background
/// tasks (a segment truncation, say) let go of the file, a moment later,
/// so reopening at once can find it taken; another process's lock outlasts
/// the wait, and is reported.
pub const LOCK_WAIT: Duration = Duration::from_secs(1);
/// Time between two tries within [`LOCK_WAIT`].
const LOCK_RETRY: Duration = Duration::from_millis(20);

/// sled's words for a database another holder has locked.
fn is_locked(e: &sled::Error) -> bool {
    matches!(e, sled::Error::Io(io) if io.to_string().contains("could not acquire lock"))
}

fn open_db(dir: &Path, cache_bytes: u64) -> Result<sled::Db, Error> {
    let config = sled::Config::new()
        .path(dir)
        .cache_capacity(cache_bytes)
        .flush_every_ms(None);
    let deadline = Instant::now() + LOCK_WAIT;
    let mut opened = config.open();
    while opened.as_ref().is_err_and(is_locked) && Instant::now() < deadline {
        std::thread::sleep(LOCK_RETRY);
        opened = config.open();
    }
    opened.map_err(|e| match e {
        e if is_locked(&e) => Error::Locked(format!(
            "{} is in use by another setu process (is `setu run` running on this data directory?)",
            dir.display()
        )),
        e => {
            let why = format!(
                "cannot open the database in {}: {}",
                dir.display(),
                describe(&e)
            );
            match e {
                sled::Error::Io(io) if is_no_space(&io) => Error::NoSpace(why),
                _ => Error::Backend(why),
            }
        }
    })
}

/// sled's error, with a full disk named as such.
fn describe(e: &sled::Error) -> String {
    match e {
        sled::Error::Io(io) if is_no_space(io) => format!("{NO_SPACE} ({io})"),
        e => e.to_string(),
    }
}

/// How a full disk is named in errors, so callers can tell it apart.
pub const NO_SPACE: &str = "no space left on the device";

fn is_no_space(io: &std::io::Error) -> bool {
    io.kind() == std::io::ErrorKind::StorageFull || io.raw_os_error() == Some(28)
}

fn err(e: sled::Error) -> Error {
    match &e {
        sled::Error::Io(io) if is_no_space(io) => Error::NoSpace(describe(&e)),
        _ => Error::Backend(describe(&e)),
    }
}

impl SledBackend {
    /// Opens (or creates) the database in `dir` with a page cache capped at
    /// `cache_bytes`, refusing writes while its filesystem has less than
    /// `min_free_bytes` free (0: never refuse up front).
    pub fn open(dir: &Path, cache_bytes: u64, min_free_bytes: u64) -> Result<SledBackend, Error> {
        let db = open_db(dir, cache_bytes)?;
        let values = ValueLog::open(dir)?;
        Ok(SledBackend {
            dir: dir.to_path_buf(),
            cache_bytes,
            min_free_bytes,
            db: Arc::new(RwLock::new(Some(db))),
            reopen_failed: Arc::new(Mutex::new(None)),
            values: Arc::new(values),
        })
    }

    /// Refuses a write while the filesystem is short of space.
    fn check_room(&self) -> Result<(), Error> {
        if self.min_free_bytes == 0 {
            return Ok(());
        }
        let free = fs2::available_space(&self.dir).map_err(|e| {
            Error::Backend(format!(
                "cannot tell the free space of {}: {e}",
                self.dir.display()
            ))
        })?;
        if free < self.min_free_bytes {
            return Err(Error::NoSpace(format!(
                "{NO_SPACE}: {} KiB free, below the {} KiB this node keeps free (store.min_free_mb); nothing was written, and writes resume by themselves once there is room",
                free / 1024,
                self.min_free_bytes / 1024
            )));
        }
        Ok(())
    }

    /// Runs `f` on the open database, reopening it first if a failed write
    /// closed it.
    fn with<T>(&self, f: impl FnOnce(&sled::Db) -> Result<T, Error>) -> Result<T, Error> {
        {
            let g = self.db.read().unwrap_or_else(|p| p.into_inner());
            if let Some(db) = g.as_ref() {
                return f(db);
            }
        }
        let mut g = self.db.write().unwrap_or_else(|p| p.into_inner());
        if g.is_none() {
            let mut failed = self.reopen_failed.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((at, e)) = failed.as_ref()
                && at.elapsed() < REOPEN_RETRY
            {
                return Err(e.clone());
            }
            let free = fs2::available_space(&self.dir).unwrap_or(0);
            if free < REOPEN_MIN_FREE_BYTES {
                let e = Error::NoSpace(format!(
                    "{NO_SPACE}: the database is closed after a failed write, and is reopened once {} KiB are free ({} KiB now)",
                    REOPEN_MIN_FREE_BYTES / 1024,
                    free / 1024
                ));
                *failed = Some((Instant::now(), e.clone()));
                return Err(e);
            }
            let db = match open_db(&self.dir, self.cache_bytes) {
                Ok(db) => db,
                Err(e) => {
                    let why = format!(
                        "the database is closed after a failed write, and cannot be reopened yet: {e}"
                    );
                    let e = match e {
                        Error::NoSpace(_) => Error::NoSpace(why),
                        _ => Error::Backend(why),
                    };
                    *failed = Some((Instant::now(), e.clone()));
                    return Err(e);
                }
            };
            *failed = None;
            tracing::info!(dir = %self.dir.display(), "database reopened after a failed write");
            *g = Some(db);
        }
        match g.as_ref() {
            Some(db) => f(db),
            None => Err(Error::Backend("database closed".into())),
        }
    }

    /// Forgets the in-memory state of a failed write: drops the handle, so
    /// the next call reopens the database from what is on disk.
    fn close(&self) {
        let mut g = self.db.write().unwrap_or_else(|p| p.into_inner());
        if g.take().is_some() {
            tracing::warn!(dir = %self.dir.display(), "a write failed: database closed, to be reopened from disk");
        }
    }
}

impl Backend for SledBackend {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        self.with(|db| Ok(db.get(key).map_err(err)?.map(|v| v.to_vec())))
    }

    fn range(&self, from: &[u8], to: &[u8], rev: bool, limit: usize) -> Result<Entries, Error> {
        self.with(|db| {
            let iter = db.range(from..to);
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
        })
    }

    fn scan_prefix(&self, prefix: &[u8], f: Visit<'_>) -> Result<(), Error> {
        self.with(|db| {
            for kv in db.scan_prefix(prefix) {
                let (k, v) = kv.map_err(err)?;
                if !f(&k, &v)? {
                    break;
                }
            }
            Ok(())
        })
    }

    fn apply(&self, writes: Vec<Write>) -> Result<(), Error> {
        let mut batch = sled::Batch::default();
        for (k, v) in writes {
            match v {
                Some(v) => batch.insert(k, v),
                None => batch.remove(k),
            }
        }
        self.check_room()?;
        let done = self.with(|db| {
            db.apply_batch(batch).map_err(err)?;
            db.flush().map_err(err)?;
            Ok(())
        });
        if done.is_err() {
            self.close();
        }
        done
    }

    fn size_on_disk(&self) -> u64 {
        self.with(|db| Ok(db.size_on_disk().unwrap_or(0)))
            .unwrap_or(0)
            + self.values.size_on_disk()
    }

    fn put_values(&self, values: &[Vec<u8>]) -> Result<Option<Vec<Vec<u8>>>, Error> {
        if values.is_empty() {
            return Ok(Some(Vec::new()));
        }
        self.check_room()?;
        // Not while the database is closed and cannot reopen (a full disk):
        // the batch could not be written after it, and its bytes would
        // only take the room the reopen waits for.
        self.with(|_| Ok(()))?;
        // A failed append is a failed write like any other (below): the
        // database is closed, and reopened from disk once there is room.
        // Nothing of sled's changed, but the rule stays one rule.
        let refs = self.values.append(values).inspect_err(|_| self.close())?;
        Ok(Some(
            refs.into_iter().map(|r| r.to_bytes().to_vec()).collect(),
        ))
    }

    fn value(&self, reference: &[u8]) -> Result<Vec<u8>, Error> {
        self.values.read(Ref::from_bytes(reference)?)
    }
}
