//! The replica: a data directory holding the store and the search index,
//! and the operations a node and its CLI perform on them.
//!
//! ```text
//! DATA_DIR/
//!   FORMAT        "setu-data-format 2": refused if unknown (1 is upgraded)
//!   db/           sled: the source of truth, and its values/ log
//!   index/        tantivy: derived, rebuilt by `setu reindex`
//! ```
//!
//! The search index is written on a thread of its own
//! ([`crate::indexer`]), pipelined with the store: an ingest writes sled and
//! hands that thread the practices it touched, without waiting for them to
//! be indexed. [`Replica::flush_index`] (and `publish` and `import`, which
//! read the index) wait until the thread has caught up and committed.
//!
//! The search index may lag the store. Each index commit records the store
//! change counter it reflects, and the incarnation id of the store; on open,
//! practices changed after it are re-indexed, so a crash between a store
//! write and an index commit heals without a manual step. An index that is
//! damaged, claims more than the store holds, or was built from another
//! store is rebuilt from the store on open. A failed index write is never
//! silent: the watermark stays at the last good commit (so it shows as lag),
//! and the next flush re-indexes everything after it.
//!
//! A failed store write leaves no trace: the sled backend forgets it and
//! reopens from disk, and writes work again once the disk has room.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use setu_core::ids::{AuthorKey, RecordId};
use setu_core::keys::SecretKey;
use setu_core::practice::{self, Practice, Problem};
use setu_core::record::{self, Record, RecordError};

use crate::Error;
use crate::backend::Backend;
use crate::backend::memory::MemoryBackend;
use crate::backend::sled::{DEFAULT_CACHE_BYTES, DEFAULT_MIN_FREE_BYTES, SledBackend};
use crate::chain::{Chain, State};
use crate::index::Index;
use crate::indexer::Indexer;
use crate::ingest::{self, Ingested, Outcome, Refusal};
use crate::query::{Hits, Query};
use crate::store::{AuthorFlags, Store};

/// The name of the format file in a data directory.
pub const FORMAT_FILE: &str = "FORMAT";
/// The data directory format this version writes and reads. Format 2
/// keeps records' bytes in the value log (`db/values/`); format 1 kept
/// them in sled's tree, and is upgraded on open by rewriting this marker
/// (nothing moves: records stored before stay, and read, where they are).
/// An older setu refuses a format 2 directory instead of failing on its
/// first record read from the log.
pub const FORMAT_VERSION: u32 = 2;
/// The format [`Replica::open`] upgrades to [`FORMAT_VERSION`] in place.
const FORMAT_UPGRADED: u32 = 1;
const FORMAT_PREFIX: &str = "setu-data-format ";
/// Index documents added before the index commits on its own.
pub const INDEX_COMMIT_EVERY: usize = 20_000;
/// Least time between two attempts to repair a failed index, in ms of the
/// clock passed to [`Replica::ingest`].
pub const INDEX_RETRY_MS: u64 = 5_000;
/// Rows of an import signed and stored in one atomic batch.
pub const IMPORT_BATCH: usize = 1_000;
/// Longest line of an import file.
pub const MAX_IMPORT_LINE_BYTES: usize = 1024 * 1024;
/// The UTF-8 byte order mark, skipped at the start of an import file.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Replica settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// sled's page cache.
    pub cache_bytes: u64,
    /// Store writes are refused while the data directory's filesystem has
    /// less free space than this (0: never refuse up front).
    pub min_free_bytes: u64,
    /// Ingest rules.
    pub ingest: ingest::Config,
    /// Local policy for a chartered network (`spec/membership.md` §9).
    pub policy: crate::members::Policy,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            cache_bytes: DEFAULT_CACHE_BYTES,
            min_free_bytes: DEFAULT_MIN_FREE_BYTES,
            ingest: ingest::Config::default(),
            policy: crate::members::Policy::default(),
        }
    }
}

/// Why publishing a body failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The body is not valid; every problem, with its path.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Problem>),
    /// The store refused the signed record.
    #[error("{0}")]
    Refused(Refusal),
    /// The practice id belongs to another publisher.
    #[error(
        "body.practice_id: {practice_id:?} is published by another author ({owner}); choose another practice_id"
    )]
    NotOwner {
        /// The practice id.
        practice_id: String,
        /// Its publisher.
        owner: AuthorKey,
    },
    /// No such practice of ours.
    #[error("no practice {0:?} published by this node's key")]
    Unknown(String),
    /// The store failed.
    #[error("{0}")]
    Store(#[from] Error),
}

impl PublishError {
    fn one(path: &str, message: impl Into<String>) -> PublishError {
        PublishError::Invalid(vec![Problem {
            path: path.to_string(),
            message: message.into(),
        }])
    }
}

impl From<RecordError> for PublishError {
    fn from(e: RecordError) -> PublishError {
        PublishError::Invalid(e.problems)
    }
}

/// A body that was signed and stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    /// The new record's id.
    pub id: RecordId,
    /// The practice id.
    pub practice_id: String,
    /// The revision it became.
    pub revision: u64,
    /// The author's seq used.
    pub seq: u64,
    /// The signed record, as stored, to announce (empty for imported
    /// rows: an import is passed on by reconciliation).
    #[serde(skip)]
    pub record: Vec<u8>,
}

/// What happened to one row of an import.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "lowercase")]
pub enum Row {
    /// Signed and stored.
    Imported {
        /// 1-based line number.
        line: usize,
        /// The record.
        #[serde(flatten)]
        published: Published,
    },
    /// Same content as the current revision: nothing to do.
    Skipped {
        /// 1-based line number.
        line: usize,
        /// The practice id.
        practice_id: String,
    },
    /// Refused; nothing stored.
    Rejected {
        /// 1-based line number.
        line: usize,
        /// Every problem, with its path.
        problems: Vec<String>,
    },
}

/// Progress of an import, reported after each durable batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportProgress {
    /// Rows read so far.
    pub rows: usize,
    /// Rows stored so far (durably).
    pub imported: usize,
    /// Rows skipped as unchanged.
    pub skipped: usize,
    /// Rows refused.
    pub rejected: usize,
    /// Bytes of the input read so far.
    pub bytes: u64,
}

/// What `setu status` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// The data directory, if on disk.
    pub data_dir: Option<PathBuf>,
    /// Records stored.
    pub records: u64,
    /// Of those, records the network's membership made invalid after they
    /// were stored: kept for audit, not shown or relayed
    /// (`spec/membership.md` §8.1).
    #[serde(default)]
    pub invalid: u64,
    /// Practices with a current, active revision (what `setu query --all` lists).
    pub practices: u64,
    /// Documents in the index: one per linked active revision, withdrawn
    /// practices included.
    pub indexed_documents: u64,
    /// The store's change counter.
    pub store_change: u64,
    /// The change counter the index reflects.
    pub index_change: u64,
    /// Store changes the index has not caught up with.
    pub index_lag: u64,
    /// Bytes on disk: store and index.
    pub disk_bytes: u64,
    /// Authors flagged for equivocation.
    pub flagged_authors: usize,
    /// The last store write failed with this (a full disk, say), and no write
    /// has succeeded since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_error: Option<String>,
    /// The search index failed with this and is behind the store (it shows
    /// in `index_lag`) until a retry succeeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_error: Option<String>,
}

/// The replica over a backend: sled on disk, or memory.
///
/// It owns an index thread ([`crate::indexer`]) that writes the search
/// index, started when the replica is opened and stopped (and waited for)
/// when it is dropped.
#[derive(Debug)]
pub struct Replica<B: Backend = SledBackend> {
    /// Shared with the index thread, which reads the practices to index.
    store: Arc<Store<B>>,
    /// The index's reading side: searches.
    index: Index,
    /// The queue to the index thread, the index's one writer.
    pub(crate) indexer: Indexer,
    pub(crate) cfg: Config,
    dir: Option<PathBuf>,
    /// The last store write error, until a write succeeds.
    store_failed: Option<String>,
    /// The store's items, as reconciliation needs them.
    pub(crate) items: crate::proto::Cache,
    /// The network's membership, for a replica of a chartered network:
    /// what it accepts (`spec/membership.md` §8).
    pub(crate) membership: Option<crate::members::Membership>,
    /// Member ids and first keys, for adoptions that name a practice's
    /// publisher by member (shared with the index thread).
    pub(crate) publishers: crate::graph::Publishers,
}

/// The stateless check of one batch: [`record::check_batch_ids`] on bytes,
/// [`ingest::finish_parsed`] on decoded records.
type Check<T> = fn(Vec<T>) -> Vec<ingest::Checked>;

fn io_err(path: &Path, e: std::io::Error) -> Error {
    Error::Io(format!("{}: {e}", path.display()))
}

impl Replica<SledBackend> {
    /// Creates the data directory's format marker (the directory itself may
    /// exist). Fails if it already holds a replica.
    pub fn create(dir: &Path) -> Result<(), Error> {
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        let format = dir.join(FORMAT_FILE);
        if format.exists() {
            return Err(Error::Format(format!(
                "{} already holds a Setu replica",
                dir.display()
            )));
        }
        std::fs::write(&format, format!("{FORMAT_PREFIX}{FORMAT_VERSION}\n"))
            .map_err(|e| io_err(&format, e))
    }

    /// Opens the replica in `dir`, checks its format, and heals the index.
    pub fn open(dir: &Path, cfg: Config) -> Result<Replica<SledBackend>, Error> {
        let format = dir.join(FORMAT_FILE);
        let text = std::fs::read_to_string(&format).map_err(|_| {
            Error::Format(format!(
                "{} is not a Setu data directory (no {FORMAT_FILE} file); create one with `setu init`",
                dir.display()
            ))
        })?;
        let version = text
            .trim()
            .strip_prefix(FORMAT_PREFIX)
            .and_then(|v| v.parse::<u32>().ok());
        match version {
            Some(FORMAT_VERSION | FORMAT_UPGRADED) => {}
            Some(v) => {
                return Err(Error::Format(format!(
                    "{} has data format {v}; this setu reads format {FORMAT_VERSION}. Use a setu release that matches the data, or export and re-import.",
                    dir.display()
                )));
            }
            None => {
                return Err(Error::Format(format!(
                    "{}: unrecognised content {:?}",
                    format.display(),
                    text.trim()
                )));
            }
        }
        let backend = SledBackend::open(&dir.join("db"), cfg.cache_bytes, cfg.min_free_bytes)?;
        if version == Some(FORMAT_UPGRADED) {
            // Before the first write to the value log: an older setu must
            // not open the directory after it.
            // Durably: the new marker's bytes, then its name.
            let tmp = dir.join(format!("{FORMAT_FILE}.new"));
            let write = || -> std::io::Result<()> {
                let mut f = std::fs::File::create(&tmp)?;
                let text = format!("{FORMAT_PREFIX}{FORMAT_VERSION}\n");
                std::io::Write::write_all(&mut f, text.as_bytes())?;
                f.sync_all()?;
                std::fs::rename(&tmp, &format)?;
                std::fs::File::open(dir)?.sync_all()
            };
            write().map_err(|e| {
                Error::Format(format!(
                    "{}: cannot upgrade data format {FORMAT_UPGRADED} to {FORMAT_VERSION}: {e}",
                    format.display()
                ))
            })?;
            tracing::info!(
                "data format {FORMAT_UPGRADED} upgraded to {FORMAT_VERSION}: records stored from now on go to db/values/, those stored before stay in db/"
            );
        }
        let store = Arc::new(Store::new(backend));
        // Once per store: chains written before storage times existed. A
        // store that cannot be written now (a full disk) opens all the
        // same, for reads; it is stamped at a later open.
        match store.stamp_chains(setu_core::clock::now_ms()) {
            Ok(0) => {}
            Ok(n) => tracing::info!("stamped {n} chains with their storage time, for harvesters"),
            Err(e) => tracing::warn!("cannot stamp chains with their storage time yet: {e}"),
        }
        let incarnation = store.incarnation()?;
        let publishers = crate::graph::Publishers::default();
        publishers.set(store.names()?);
        let (index, writer, discarded) = Index::open(&dir.join("index"))?;
        let indexer = Indexer::spawn(
            Arc::clone(&store),
            index.clone(),
            writer,
            incarnation,
            publishers.clone(),
        )?;
        let mut r = Replica {
            store,
            index,
            indexer,
            cfg,
            dir: Some(dir.to_path_buf()),
            store_failed: None,
            items: Default::default(),
            membership: None,
            publishers,
        };
        if let Some(why) = discarded {
            tracing::warn!("search index: {why}; rebuilding it from the store");
            r.reindex()?;
        } else {
            r.heal()?;
        }
        Ok(r)
    }
}

impl Replica<MemoryBackend> {
    /// A replica in memory, for tests and simulations.
    pub fn in_memory(cfg: Config) -> Result<Replica<MemoryBackend>, Error> {
        let store = Arc::new(Store::new(MemoryBackend::new()));
        let incarnation = store.incarnation()?;
        let publishers = crate::graph::Publishers::default();
        let (index, writer) = Index::in_memory()?;
        let indexer = Indexer::spawn(
            Arc::clone(&store),
            index.clone(),
            writer,
            incarnation,
            publishers.clone(),
        )?;
        Ok(Replica {
            store,
            index,
            indexer,
            cfg,
            dir: None,
            store_failed: None,
            items: Default::default(),
            membership: None,
            publishers,
        })
    }
}

impl<B: Backend> Replica<B> {
    /// The store.
    pub fn store(&self) -> &Store<B> {
        &self.store
    }

    /// Re-indexes the practices changed since the index's last commit, or
    /// every practice if the index claims more than the store holds or was
    /// built from another store. Returns how many. Runs on the index thread,
    /// after what is queued; waits for it.
    pub fn heal(&mut self) -> Result<u64, Error> {
        self.indexer.heal()
    }

    /// Rebuilds the search index from the store. Returns the practices
    /// indexed. Runs on the index thread, after what is queued; waits.
    pub fn reindex(&mut self) -> Result<u64, Error> {
        self.indexer.reindex()
    }

    /// Notes how a store operation went: a success clears the remembered
    /// error, a failure is logged once and remembered for `status`.
    fn note_store_result<T>(&mut self, r: &Result<T, Error>) {
        match r {
            Ok(_) => {
                if self.store_failed.take().is_some() {
                    tracing::info!("store: writes work again");
                }
            }
            Err(e) => {
                if self.store_failed.is_none() {
                    tracing::warn!("store: a write failed: {e}");
                }
                self.store_failed = Some(e.to_string());
            }
        }
    }

    /// Checks and stores signed records (from a peer, a file, or this node),
    /// then hands the index thread what changed and returns: the index
    /// catches up on its own thread, pipelined with the next writes. It is
    /// committed every [`INDEX_COMMIT_EVERY`] documents or by
    /// [`Replica::flush_index`]. If the index thread is
    /// [`INDEX_QUEUE`](crate::indexer::INDEX_QUEUE)
    /// batches behind, this waits for room.
    ///
    /// A store failure is returned, and leaves nothing stored from the
    /// failing batch (earlier batches of the call stay stored). An index
    /// failure is not: the records are stored, the index is behind (it shows
    /// in `status`), and it is repaired at the next flush or ingest after
    /// [`INDEX_RETRY_MS`].
    pub fn ingest(&mut self, records: Vec<Vec<u8>>, now: u64) -> Result<Ingested, Error> {
        self.ingest_with(records, now, record::check_batch_ids)
    }

    /// [`Replica::ingest`] for records already decoded
    /// ([`record::parse`]): from a peer, whose record the node's state
    /// machine decoded for its id and author. They are not decoded again.
    pub fn ingest_parsed(
        &mut self,
        records: Vec<record::Parsed>,
        now: u64,
    ) -> Result<Ingested, Error> {
        self.ingest_with(records, now, ingest::finish_parsed)
    }

    /// Ingests in batches of at most [`ingest::MAX_BATCH`], each through
    /// `ingest_batch`.
    fn ingest_with<T: Send>(
        &mut self,
        records: Vec<T>,
        now: u64,
        check: Check<T>,
    ) -> Result<Ingested, Error> {
        let mut released = Vec::new();
        let mut all = self.ingest_batches(records, now, check, &mut released)?;
        // Records a membership change let out of quarantine are stored
        // after the call's own (their outcomes are not the caller's). Each
        // round empties the quarantine of what it released, so this ends.
        while !released.is_empty() {
            let batch = std::mem::take(&mut released);
            let more = self.ingest_batches(batch, now, record::check_batch_ids, &mut released)?;
            all.touched.extend(more.touched);
            all.stored.extend(more.stored);
            all.invalidated.extend(more.invalidated);
            all.revalidated.extend(more.revalidated);
        }
        Ok(all)
    }

    fn ingest_batches<T: Send>(
        &mut self,
        records: Vec<T>,
        now: u64,
        check: Check<T>,
        released: &mut Vec<Vec<u8>>,
    ) -> Result<Ingested, Error> {
        let mut all = Ingested::default();
        ingest::pipelined(records, check, |checked| {
            let before = self.store.meta().map(|m| m.change);
            let mut members_changed = false;
            let done = match &mut self.membership {
                None => ingest::ingest_checked(&self.store, checked, now, &self.cfg.ingest),
                Some(m) => {
                    m.ingest(&self.store, checked, now, &self.cfg.ingest)
                        .map(|(done, changed)| {
                            if changed {
                                // Membership changed: what waited in quarantine
                                // for it is stored after this call's records.
                                released.extend(m.release(now));
                                members_changed = true;
                            }
                            done
                        })
                }
            };
            self.note_store_result(&done);
            let done = done?;
            // The change this batch brought the store to: the index may
            // commit at it once it has indexed the batch (0 if unknown: the
            // index then commits at no more than its last watermark).
            let change = match (before, self.store.meta().map(|m| m.change)) {
                // A membership change took stored records out of the items
                // (or put some back): the list is rebuilt at the next session.
                (Ok(_), Ok(after))
                    if !done.invalidated.is_empty() || !done.revalidated.is_empty() =>
                {
                    self.items = Default::default();
                    after
                }
                (Ok(before), Ok(after)) => {
                    self.items.note_stored(before, after, &done.stored);
                    after
                }
                _ => {
                    self.items = Default::default();
                    0
                }
            };
            self.indexer.changed(done.touched.clone(), change, now);
            if members_changed {
                self.sync_publishers(now)?;
            }
            all.outcomes.extend(done.outcomes);
            all.touched.extend(done.touched);
            all.stored.extend(done.stored);
            all.invalidated.extend(done.invalidated);
            all.revalidated.extend(done.revalidated);
            Ok(())
        })?;
        if all.touched.is_empty() {
            // Nothing to index, but a failed index is retried with each
            // ingest after INDEX_RETRY_MS.
            self.indexer.changed(Vec::new(), 0, now);
        }
        Ok(all)
    }

    /// Commits the index so searches see everything stored, repairing it
    /// first if an index write failed. A barrier: it waits until the index
    /// thread has applied everything handed to it before, and committed.
    /// An error means the index is still behind the store; it is retried at
    /// the next call.
    pub fn flush_index(&mut self) -> Result<(), Error> {
        let change = self.store.meta()?.change;
        self.indexer.flush(change)
    }

    /// Asks the index thread to commit once it has applied what was handed
    /// to it before (repairing first after a failure), without waiting: a
    /// running node does this every few hundred milliseconds, so what
    /// arrives becomes searchable while the store goes on. A failure shows
    /// in `status`, and is retried at the next flush.
    pub fn flush_index_soon(&mut self) -> Result<(), Error> {
        let change = self.store.meta()?.change;
        self.indexer.flush_soon(change);
        Ok(())
    }

    /// Whether the index is behind the store after a failure, and needs a
    /// [`Replica::flush_index`] to catch up. (The index thread may not have
    /// reached the latest writes yet: flush first to know about them.)
    pub fn index_failed(&self) -> bool {
        self.indexer.failed().is_some()
    }

    /// Runs a query (without the publishers local policy mutes).
    pub fn query(&self, q: &Query) -> Result<Hits, Error> {
        self.index.search(&self.policed(q))
    }

    /// Counts of a query's matches by country, SDG goal, sector and status.
    pub fn facets(&self, q: &Query) -> Result<crate::query::Facets, Error> {
        self.index.facets(&self.policed(q))
    }

    /// The record ids of every match of a query, in index order: what
    /// exports write.
    pub fn matching(&self, q: &Query) -> Result<Vec<RecordId>, Error> {
        self.index.matching(&self.policed(q))
    }

    /// `q` with the members local policy mutes hidden
    /// (`spec/membership.md` §9).
    fn policed<'q>(&self, q: &'q Query) -> std::borrow::Cow<'q, Query> {
        match self
            .membership
            .as_ref()
            .map(crate::members::Membership::muted)
        {
            Some(muted) if !muted.is_empty() => {
                let mut q = q.clone();
                q.hide.extend(muted);
                std::borrow::Cow::Owned(q)
            }
            _ => std::borrow::Cow::Borrowed(q),
        }
    }

    /// A stored record, checked again (without its signature, which was
    /// verified at ingest).
    pub fn get(&self, id: &RecordId) -> Result<Option<Record>, Error> {
        match self.store.get(id)? {
            Some(bytes) => record::check_trusted(bytes)
                .map(Some)
                .map_err(|e| Error::Corrupt(format!("record {id}: {e}"))),
            None => Ok(None),
        }
    }

    /// The chain and state of a practice.
    pub fn practice(
        &self,
        author: &AuthorKey,
        practice_id: &str,
    ) -> Result<Option<(Chain, State)>, Error> {
        Ok(self.store.chain(author, practice_id)?.map(|c| {
            let s = c.state();
            (c, s)
        }))
    }

    /// Publishers of a practice id known to the index.
    pub fn authors_of(&self, practice_id: &str) -> Result<Vec<AuthorKey>, Error> {
        self.index.authors_of(practice_id)
    }

    /// Replica status.
    pub fn status(&self) -> Result<Status, Error> {
        let meta = self.store.meta()?;
        let index_change = self.index.watermark();
        let index_bytes = self.dir.as_ref().map_or(0, |d| dir_size(&d.join("index")));
        Ok(Status {
            data_dir: self.dir.clone(),
            records: meta.records,
            invalid: meta.invalid,
            practices: self
                .index
                .search(&Query {
                    limit: 0,
                    ..Query::default()
                })?
                .total as u64,
            indexed_documents: self.index.num_docs(),
            store_change: meta.change,
            index_change,
            index_lag: meta.change.saturating_sub(index_change),
            disk_bytes: self.store.backend().size_on_disk() + index_bytes,
            flagged_authors: self.store.flagged()?.len(),
            store_error: self.store_failed.clone(),
            index_error: self.indexer.failed(),
        })
    }

    /// An author's equivocation flags.
    pub fn flags(&self, author: &AuthorKey) -> Result<AuthorFlags, Error> {
        self.store.flags(author)
    }

    /// Signs a JSON body as `key`'s next record and stores it. A body naming
    /// one of `key`'s practices becomes its next revision (`revision` and
    /// `supersedes` are filled in); a new practice id starts at revision 1.
    pub fn publish(
        &mut self,
        key: &SecretKey,
        body: Json,
        now: u64,
    ) -> Result<Published, PublishError> {
        // The ownership check reads the index: make it see every ingest.
        self.flush_index()?;
        let mut plan = Plan::default();
        let prepared = self.prepare(key, body, &mut plan)?;
        let Prepared::Sign(p) = prepared else {
            return Err(PublishError::one(
                "body",
                "is the same as the current revision; nothing to publish",
            ));
        };
        let seq = self.reserve_seqs(&key.author(), 1, now)?;
        let rec = record::sign_practice(key, seq, now, &p)?;
        let published = Published {
            id: rec.id(),
            practice_id: p.practice_id.clone(),
            revision: p.revision,
            seq,
            record: rec.bytes().to_vec(),
        };
        self.store_own(vec![rec.into_bytes()], now)?;
        // Stored: an index failure now shows as lag and is retried.
        let _ = self.flush_index();
        Ok(published)
    }

    /// Withdraws one of `key`'s practices. Final.
    pub fn withdraw(
        &mut self,
        key: &SecretKey,
        practice_id: &str,
        reason: &str,
        now: u64,
    ) -> Result<Published, PublishError> {
        let chain = self
            .store
            .chain(&self.chain_owner(&key.author()), practice_id)?
            .ok_or_else(|| PublishError::Unknown(practice_id.to_string()))?;
        let state = chain.state();
        if state.withdrawn {
            return Err(PublishError::Refused(Refusal::Withdrawn {
                practice_id: practice_id.to_string(),
                revision: state.linked.last().map_or(0, |e| e.revision),
            }));
        }
        let current = state
            .linked
            .last()
            .ok_or_else(|| PublishError::Unknown(practice_id.to_string()))?;
        let w = Practice::withdrawal(practice_id, current.revision + 1, current.id, reason);
        let seq = self.reserve_seqs(&key.author(), 1, now)?;
        let rec = record::sign_practice(key, seq, now, &w)?;
        let published = Published {
            id: rec.id(),
            practice_id: practice_id.to_string(),
            revision: w.revision,
            seq,
            record: rec.bytes().to_vec(),
        };
        self.store_own(vec![rec.into_bytes()], now)?;
        // Stored: an index failure now shows as lag and is retried.
        let _ = self.flush_index();
        Ok(published)
    }

    pub(crate) fn store_own(
        &mut self,
        records: Vec<Vec<u8>>,
        now: u64,
    ) -> Result<Vec<Outcome>, PublishError> {
        let done = self.ingest(records, now)?;
        for o in &done.outcomes {
            if let Outcome::Refused { why, .. } = o {
                return Err(PublishError::Refused(why.clone()));
            }
        }
        Ok(done.outcomes)
    }

    /// Turns a JSON body into the practice to sign, filling in revision and
    /// supersedes from the chain (or from earlier rows of the same import).
    fn prepare(
        &self,
        key: &SecretKey,
        body: Json,
        plan: &mut Plan,
    ) -> Result<Prepared, PublishError> {
        // Signing normalises text to NFC; compare and check in that form.
        let mut body = nfc_json(body);
        // The local text rule (not a network rule): no control or bidi
        // characters in what this node signs; line ends normalised.
        let text_problems = practice::text::check(&mut body);
        let Json::Object(mut obj) = body else {
            return Err(PublishError::one("body", "must be a JSON object"));
        };
        let pid = match obj.get("practice_id") {
            Some(Json::String(s)) => s.clone(),
            Some(_) => return Err(PublishError::one("body.practice_id", "must be text")),
            None => return Err(PublishError::one("body.practice_id", "is required")),
        };
        obj.entry("state")
            .or_insert_with(|| Json::String(practice::STATE_ACTIVE.into()));
        // Chains are the member's in a chartered network, whichever of its
        // keys signs.
        let author = self.chain_owner(&key.author());
        // The current revision: from this import's earlier rows, else the store.
        let current: Option<(u64, RecordId, bool)> = match plan.latest.get(&pid) {
            Some(x) => Some(*x),
            None => match self.store.chain(&author, &pid)? {
                Some(c) => {
                    let s = c.state();
                    s.linked.last().map(|e| (e.revision, e.id, s.withdrawn))
                }
                None => None,
            },
        };
        match current {
            Some((_, _, true)) => {
                return Err(PublishError::one(
                    "body.practice_id",
                    format!(
                        "{pid:?} was withdrawn, and withdrawal is final; publish it under a new practice_id and list {pid:?} in replaces"
                    ),
                ));
            }
            Some((rev, id, false)) => {
                obj.insert("revision".into(), Json::from(rev + 1));
                obj.insert("supersedes".into(), Json::String(id.to_hex()));
            }
            None => {
                if let Some(owner) = self
                    .index
                    .authors_of(&pid)?
                    .into_iter()
                    .find(|a| *a != author)
                {
                    return Err(PublishError::NotOwner {
                        practice_id: pid,
                        owner,
                    });
                }
                obj.insert("revision".into(), Json::from(1u64));
                obj.remove("supersedes");
            }
        }
        let mut p = parse_practice(Json::Object(obj))?;
        p.fill_defaults();
        let mut problems = text_problems;
        problems.extend(practice::validate(&p));
        if !problems.is_empty() {
            return Err(PublishError::Invalid(problems));
        }
        // Unchanged content (apart from revision and supersedes): nothing to do.
        if let Some((_, id, _)) = current
            && let Some(prev) = self.previous_body(&id, plan)?
        {
            let mut same = p.clone();
            same.revision = prev.revision;
            same.supersedes = prev.supersedes;
            if same == prev {
                return Ok(Prepared::Unchanged(pid));
            }
        }
        Ok(Prepared::Sign(Box::new(p)))
    }

    fn previous_body(&self, id: &RecordId, plan: &Plan) -> Result<Option<Practice>, Error> {
        if let Some(p) = plan.bodies.get(id) {
            return Ok(Some(p.clone()));
        }
        Ok(self.get(id)?.and_then(|r| r.practice().cloned()))
    }

    /// Imports JSON Lines of practice bodies, signed as `key`. A bad row
    /// never stops the good ones; each is reported with its problems. With
    /// `dry_run`, rows are validated and nothing is stored. `progress` is
    /// called after each durable batch.
    ///
    /// Importing the same file again changes nothing: a row whose content
    /// is the current revision is skipped, and a second row for a practice
    /// id already on an earlier line is refused (two rows would otherwise
    /// add two revisions on every run). One leading UTF-8 byte order mark
    /// is skipped.
    pub fn import(
        &mut self,
        input: &mut dyn BufRead,
        key: &SecretKey,
        now: u64,
        dry_run: bool,
        progress: &mut dyn FnMut(&ImportProgress, &[Row]),
    ) -> Result<ImportProgress, Error> {
        self.flush_index()?;
        let mut prog = ImportProgress::default();
        let mut plan = Plan::default();
        // Seqs are reserved durably a batch at a time, before signing.
        let mut seq = 0u64;
        let mut reserved_to = 0u64;
        let mut pending: Vec<(usize, Vec<u8>, Published)> = Vec::new();
        let mut rows: Vec<Row> = Vec::new();
        let mut line_no = 0usize;
        let mut buf = Vec::new();
        // The line of each practice id seen: one entry per row of the file.
        let mut first_line: std::collections::HashMap<String, usize> =
            std::collections::HashMap::new();
        loop {
            buf.clear();
            let n = read_line_limited(input, &mut buf, MAX_IMPORT_LINE_BYTES)
                .map_err(|e| Error::Io(e.to_string()))?;
            if n == 0 {
                break;
            }
            line_no += 1;
            prog.bytes += n as u64;
            if line_no == 1 && buf.starts_with(UTF8_BOM) {
                buf.drain(..UTF8_BOM.len());
            }
            let too_long = buf.len() > MAX_IMPORT_LINE_BYTES;
            let text = String::from_utf8(std::mem::take(&mut buf));
            let line = match (too_long, text) {
                (true, _) => Err(vec![format!(
                    "line: longer than {MAX_IMPORT_LINE_BYTES} bytes"
                )]),
                (false, Err(_)) => Err(vec!["line: not valid UTF-8".to_string()]),
                (false, Ok(t)) => Ok(t),
            };
            let line = match line {
                Ok(l) if l.trim().is_empty() => continue,
                Ok(l) => l,
                Err(problems) => {
                    prog.rows += 1;
                    prog.rejected += 1;
                    rows.push(Row::Rejected {
                        line: line_no,
                        problems,
                    });
                    continue;
                }
            };
            prog.rows += 1;
            let row = match serde_json::from_str::<Json>(&line) {
                Err(e) => Err(vec![format!("line: not JSON: {e}")]),
                Ok(body) => {
                    let earlier = match body.get("practice_id").and_then(Json::as_str) {
                        Some(pid) => match first_line.entry(pid.to_string()) {
                            std::collections::hash_map::Entry::Occupied(e) => Some(format!(
                                "body.practice_id: {pid:?} is already on line {} of this file; give each practice one row, so that importing the file again changes nothing",
                                e.get()
                            )),
                            std::collections::hash_map::Entry::Vacant(e) => {
                                e.insert(line_no);
                                None
                            }
                        },
                        None => None,
                    };
                    match earlier {
                        Some(problem) => Err(vec![problem]),
                        None => self
                            .prepare(key, body, &mut plan)
                            .map_err(|e| problems_of(&e)),
                    }
                }
            };
            match row {
                Err(problems) => {
                    prog.rejected += 1;
                    rows.push(Row::Rejected {
                        line: line_no,
                        problems,
                    });
                }
                Ok(Prepared::Unchanged(practice_id)) => {
                    prog.skipped += 1;
                    rows.push(Row::Skipped {
                        line: line_no,
                        practice_id,
                    });
                }
                Ok(Prepared::Sign(p)) if dry_run => {
                    plan.note(&p, RecordId([0; 32]));
                    prog.imported += 1;
                }
                Ok(Prepared::Sign(p)) => match self
                    .next_import_seq(key, &mut seq, &mut reserved_to, now)
                    .map(|next| record::sign_practice(key, next, now, &p))?
                {
                    Ok(rec) => {
                        plan.note(&p, rec.id());
                        let published = Published {
                            id: rec.id(),
                            practice_id: p.practice_id.clone(),
                            revision: p.revision,
                            seq,
                            // Imports are passed on by reconciliation.
                            record: Vec::new(),
                        };
                        pending.push((line_no, rec.into_bytes(), published));
                    }
                    Err(e) => {
                        prog.rejected += 1;
                        rows.push(Row::Rejected {
                            line: line_no,
                            problems: e.problems.iter().map(ToString::to_string).collect(),
                        });
                    }
                },
            }
            if pending.len() >= IMPORT_BATCH {
                self.import_batch(&mut pending, &mut rows, &mut prog, now)?;
                progress(&prog, &rows);
                rows.clear();
                // Stored: the store answers from now on, and memory stays flat.
                plan = Plan::default();
            } else if dry_run && prog.rows % IMPORT_BATCH == 0 {
                plan = Plan::default();
            }
        }
        if !pending.is_empty() {
            self.import_batch(&mut pending, &mut rows, &mut prog, now)?;
        }
        // Stored: an index failure now shows as lag and is retried.
        let _ = self.flush_index();
        progress(&prog, &rows);
        Ok(prog)
    }

    /// The next `seq` of an import, reserving [`IMPORT_BATCH`] more when
    /// the last reservation is used up. A seq handed out is used or lost,
    /// never handed out again.
    fn next_import_seq(
        &mut self,
        key: &SecretKey,
        seq: &mut u64,
        reserved_to: &mut u64,
        now: u64,
    ) -> Result<u64, Error> {
        if *seq == 0 || *seq >= *reserved_to {
            let first = self.reserve_seqs(&key.author(), IMPORT_BATCH as u64, now)?;
            *seq = first;
            *reserved_to = first + IMPORT_BATCH as u64 - 1;
        } else {
            *seq += 1;
        }
        Ok(*seq)
    }

    /// The owner of `author`'s practice chains: itself in an open network,
    /// its member's first key in a chartered one.
    pub fn chain_owner(&self, author: &AuthorKey) -> AuthorKey {
        match &self.membership {
            Some(m) => m.owner(author),
            None => *author,
        }
    }

    /// Reserves `n` seqs for `author` (durably), reopening the store if the
    /// write failed.
    pub(crate) fn reserve_seqs(
        &mut self,
        author: &AuthorKey,
        n: u64,
        now: u64,
    ) -> Result<u64, Error> {
        let r = self.store.reserve_seqs(author, n, now);
        self.note_store_result(&r);
        r
    }

    fn import_batch(
        &mut self,
        pending: &mut Vec<(usize, Vec<u8>, Published)>,
        rows: &mut Vec<Row>,
        prog: &mut ImportProgress,
        now: u64,
    ) -> Result<(), Error> {
        let batch: Vec<(usize, Vec<u8>, Published)> = std::mem::take(pending);
        let (meta, bytes): (Vec<(usize, Published)>, Vec<Vec<u8>>) =
            batch.into_iter().map(|(l, b, p)| ((l, p), b)).unzip();
        let done = self.ingest(bytes, now)?;
        for ((line, published), outcome) in meta.into_iter().zip(done.outcomes) {
            match outcome {
                Outcome::Stored { .. } | Outcome::Duplicate(_) | Outcome::Local(_) => {
                    prog.imported += 1;
                    rows.push(Row::Imported { line, published });
                }
                Outcome::Refused { why, .. } => {
                    prog.rejected += 1;
                    rows.push(Row::Rejected {
                        line,
                        problems: vec![why.to_string()],
                    });
                }
            }
        }
        Ok(())
    }
}

enum Prepared {
    Sign(Box<Practice>),
    Unchanged(String),
}

/// What an import has signed so far but not necessarily stored.
#[derive(Default)]
struct Plan {
    latest: std::collections::HashMap<String, (u64, RecordId, bool)>,
    bodies: std::collections::HashMap<RecordId, Practice>,
}

impl Plan {
    fn note(&mut self, p: &Practice, id: RecordId) {
        self.latest
            .insert(p.practice_id.clone(), (p.revision, id, p.is_withdrawal()));
        self.bodies.insert(id, p.clone());
    }
}

fn problems_of(e: &PublishError) -> Vec<String> {
    match e {
        PublishError::Invalid(ps) => ps.iter().map(ToString::to_string).collect(),
        other => vec![other.to_string()],
    }
}

/// The same JSON with every string and key in Unicode NFC.
pub(crate) fn nfc_json(v: Json) -> Json {
    use unicode_normalization::UnicodeNormalization;
    match v {
        Json::String(s) => Json::String(s.nfc().collect()),
        Json::Array(a) => Json::Array(a.into_iter().map(nfc_json).collect()),
        Json::Object(o) => Json::Object(
            o.into_iter()
                .map(|(k, v)| (k.nfc().collect(), nfc_json(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Reads a practice from JSON, naming the path of the first type problem.
pub fn parse_practice(body: Json) -> Result<Practice, PublishError> {
    parse_body(body)
}

/// A body of any known kind from its JSON form, the problem naming its
/// field.
pub(crate) fn parse_body<T: serde::de::DeserializeOwned>(body: Json) -> Result<T, PublishError> {
    serde_path_to_error::deserialize(body).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." || path.is_empty() {
            "body".to_string()
        } else {
            format!("body.{path}")
        };
        PublishError::one(&path, e.into_inner().to_string())
    })
}

/// Reads one line of at most `limit` bytes (plus its newline); a longer
/// line is consumed to its end and returned as `limit + 1` bytes so the
/// caller can refuse it. Returns the bytes consumed.
pub fn read_line_limited(
    input: &mut dyn BufRead,
    buf: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<usize> {
    let mut consumed = 0;
    // Bytes of the line before its '\n'; only a line that fits (with its
    // '\r') may lose a final '\r'.
    let mut line_len = 0usize;
    loop {
        let available = input.fill_buf()?;
        let (chunk, done) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (&available[..=i], true),
            None => (available, available.is_empty()),
        };
        let take = chunk.len();
        let keep = if take > 0 && chunk[take - 1] == b'\n' {
            &chunk[..take - 1]
        } else {
            chunk
        };
        let room = (limit + 2).saturating_sub(buf.len());
        buf.extend_from_slice(&keep[..keep.len().min(room)]);
        line_len += keep.len();
        input.consume(take);
        consumed += take;
        if done {
            if line_len <= limit + 1 && buf.last() == Some(&b'\r') {
                buf.pop();
            }
            buf.truncate(limit + 1);
            return Ok(consumed);
        }
    }
}

/// Bytes used by the files under `dir`.
pub fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// 2026-01-01T00:00:00Z, in ms.
    const NOW: u64 = 1_767_225_600_000;
    /// Longest a test waits for a condition that holds at once when the
    /// code is right.
    const WAIT: Duration = Duration::from_secs(30);

    fn records(key: &SecretKey, seed: u64, n: u64) -> Vec<Vec<u8>> {
        crate::synth::bodies(seed, n)
            .enumerate()
            .map(|(i, b)| {
                let p: Practice = serde_json::from_value(b).expect("a practice");
                record::sign_practice(key, 1 + i as u64, NOW, &p)
                    .expect("sign")
                    .into_bytes()
            })
            .collect()
    }

    fn all() -> Query {
        Query {
            limit: 1_000,
            ..Query::default()
        }
    }

    /// Ingest is pipelined with the index: with the index thread held, an
    /// ingest still completes and the store holds every record (before,
    /// the index work ran inside ingest, on the same thread); once the
    /// index thread is released, a flush waits for it, and search finds
    /// every record.
    #[test]
    fn ingest_returns_while_the_index_thread_is_held() {
        let mut r = Replica::in_memory(Config::default()).expect("replica");
        let key = SecretKey::from_seed(&[9; 32]);
        let batch = records(&key, 5, 40);
        let ids: Vec<RecordId> = batch
            .iter()
            .map(|b| record::check_trusted(b.clone()).expect("record").id())
            .collect();
        let release = r.indexer.hold();
        // Ingest on another thread, so a wrong (blocking) ingest fails the
        // test instead of hanging it.
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let worker = std::thread::spawn(move || {
            let done = r.ingest(batch, NOW).map(|d| d.outcomes);
            let _ = done_tx.send(done);
            r
        });
        let outcomes = done_rx
            .recv_timeout(WAIT)
            .expect("ingest returns while the index thread is held")
            .expect("ingest");
        assert!(outcomes.iter().all(Outcome::is_stored), "{outcomes:?}");
        let mut r = worker.join().expect("the ingest thread");
        for id in &ids {
            assert!(r.store().contains(id).expect("contains"), "stored");
        }
        // The index thread has seen none of it: nothing is searchable, and
        // status shows the lag.
        assert_eq!(r.query(&all()).expect("query").total, 0);
        assert!(r.status().expect("status").index_lag > 0);

        drop(release);
        r.flush_index().expect("flush");
        let hits = r.query(&all()).expect("query");
        assert_eq!(hits.total, ids.len());
        let st = r.status().expect("status");
        assert_eq!(
            (st.index_lag, st.index_error.as_deref()),
            (0, None),
            "{st:?}"
        );
    }

    /// More batches than the index queue holds, while the index thread is
    /// held: the store thread waits for room (bounded), and nothing
    /// deadlocks once the index thread goes on.
    #[test]
    fn a_full_index_queue_holds_ingest_back_without_a_deadlock() {
        let mut r = Replica::in_memory(Config::default()).expect("replica");
        let key = SecretKey::from_seed(&[10; 32]);
        let all_records = records(&key, 6, crate::indexer::INDEX_QUEUE as u64 + 8);
        let n = all_records.len();
        let release = r.indexer.hold();
        let (progress_tx, progress_rx) = std::sync::mpsc::channel();
        let worker = std::thread::spawn(move || {
            for rec in all_records {
                // One record per batch: one message per ingest.
                let done = r.ingest(vec![rec], NOW).expect("ingest");
                assert!(done.outcomes.iter().all(Outcome::is_stored));
                let _ = progress_tx.send(());
            }
            r.flush_index().expect("flush");
            r
        });
        // The queue fills (the hold itself may still take a place in it).
        for i in 0..crate::indexer::INDEX_QUEUE - 1 {
            progress_rx
                .recv_timeout(WAIT)
                .unwrap_or_else(|_| panic!("batch {i} ingested while the index is held"));
        }
        // Then ingest waits for room: the rest does not come (a short look
        // can only miss a wrong ingest, never fail a right one).
        let mut more = 0;
        while progress_rx.recv_timeout(Duration::from_millis(200)).is_ok() {
            more += 1;
        }
        assert!(more <= 1, "ingest went on with the queue full: {more} more");
        drop(release);
        let (joined_tx, joined_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = joined_tx.send(worker.join());
        });
        let r = joined_rx
            .recv_timeout(WAIT)
            .expect("no deadlock")
            .expect("the ingest thread");
        assert_eq!(r.query(&all()).expect("query").total, n);
    }
}
