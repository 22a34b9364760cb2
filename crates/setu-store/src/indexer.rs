//! The index thread: the one writer of the search index, pipelined with
//! the store.
//!
//! The replica's owner (the store thread of a node) writes sled and hands
//! the index thread, through a bounded queue of [`INDEX_QUEUE`] messages,
//! only what changed: the practices a batch touched and the store change
//! counter after it. It goes back to sled at once, while this thread loads
//! those practices' revisions from the store, builds their documents and
//! adds them to tantivy. So an ingest costs the larger of the two, not
//! their sum. When the queue is full the store thread waits for room
//! (back-pressure: the index is then the slower of the two, and memory
//! stays bounded); this thread never waits on the store thread, so the two
//! cannot deadlock.
//!
//! Why the thread reads the revisions itself, from a shared handle on the
//! store, rather than being sent finished documents: loading a touched
//! practice's revisions (every linked one, not only the new record) and
//! decoding them is most of the cost of indexing, and would stay on the
//! store thread otherwise. The store is safe to read from two threads (sled
//! and the memory backend both are, and one ingest batch is one atomic
//! write), and the index is derived: reading a practice in a state newer
//! than the message that named it is harmless, because a commit's
//! watermark is only ever the change counter of a message already applied
//! (or, after a repair, one read before the chains were listed), so
//! whatever changed after it is indexed again on the next start.
//!
//! Failure semantics are those of [`crate::replica`]: a failed index write
//! is remembered (it shows in `status` as `index_error`, and as lag, since
//! the watermark stays at the last good commit), and it is repaired (the
//! uncommitted state rolled back, every practice changed after the last
//! good commit re-indexed) at the next flush, or with the next batch after
//! [`INDEX_RETRY_MS`]. A store write never waits for, or fails because
//! of, the index.
//!
//! Flushes are barriers:
//! [`Replica::flush_index`](crate::replica::Replica::flush_index) returns
//! once this thread has applied everything queued before it and committed,
//! with the result. Searches read the [`Index`] directly, on the caller's
//! thread; they see each commit as soon as it is made.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use setu_core::ids::{AuthorKey, RecordId};
use setu_core::practice::Practice;
use setu_core::record;

use crate::Error;
use crate::backend::Backend;
use crate::chain::Chain;
use crate::index::{Index, Writer};
use crate::replica::{INDEX_COMMIT_EVERY, INDEX_RETRY_MS};
use crate::store::Store;

/// Messages waiting for the index thread, at most: batches of touched
/// practices (up to [`crate::ingest::MAX_BATCH`] each), flushes and
/// rebuilds. Beyond it the store thread waits for room.
pub const INDEX_QUEUE: usize = 32;

/// What the index thread is asked.
enum Msg {
    /// A store batch touched these practices; the store is at `change`
    /// after it. `now` is the clock of the ingest (for the repair delay).
    Changed {
        touched: Vec<(AuthorKey, String)>,
        change: u64,
        now: u64,
    },
    /// Commit at `change` (repairing first after a failure), and answer on
    /// `reply` if there is one.
    Flush {
        change: u64,
        reply: Option<mpsc::Sender<Result<(), Error>>>,
    },
    /// Rebuild the index from the store.
    Reindex(mpsc::Sender<Result<u64, Error>>),
    /// Re-index what changed after the last commit, or everything if the
    /// index cannot be trusted.
    Heal(mpsc::Sender<Result<u64, Error>>),
    /// Wait until the sender is used or dropped (tests: hold the thread).
    #[cfg(test)]
    Hold(mpsc::Receiver<()>),
}

/// What both sides see: the last index error, until a repair succeeds,
/// and whether the replica is closing.
#[derive(Debug, Default)]
struct Shared {
    failed: Mutex<Option<String>>,
    /// Set when the replica is dropped: what is still queued would be
    /// indexed only to be thrown away uncommitted, so it is skipped.
    closing: AtomicBool,
}

impl Shared {
    fn failed(&self) -> Option<String> {
        self.failed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set(&self, failed: Option<String>) {
        *self
            .failed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = failed;
    }
}

/// The handle the replica keeps: the queue to the index thread. Dropping
/// it ends the thread (what is queued is skipped and uncommitted index work
/// dropped, as in a crash; the next open heals it) and waits for it.
#[derive(Debug)]
pub(crate) struct Indexer {
    tx: Option<mpsc::SyncSender<Msg>>,
    thread: Option<JoinHandle<()>>,
    shared: Arc<Shared>,
}

/// The error when the index thread is gone.
fn stopped() -> Error {
    Error::Index("the index thread has stopped".into())
}

impl Indexer {
    /// Starts the index thread, owning `writer`, reading practices from
    /// `store`; its commits name the store's `incarnation`.
    pub(crate) fn spawn<B: Backend + 'static>(
        store: Arc<Store<B>>,
        index: Index,
        writer: Writer,
        incarnation: String,
        publishers: crate::graph::Publishers,
    ) -> Result<Indexer, Error> {
        let (tx, rx) = mpsc::sync_channel(INDEX_QUEUE);
        let shared = Arc::new(Shared::default());
        let mut worker = Worker {
            store,
            publishers,
            index,
            writer,
            incarnation,
            shared: Arc::clone(&shared),
            pending_docs: 0,
            retry_at: 0,
        };
        let thread = std::thread::Builder::new()
            .name("setu-index".into())
            .spawn(move || {
                while let Ok(msg) = rx.recv() {
                    if worker.shared.closing.load(Ordering::Relaxed) {
                        break;
                    }
                    worker.handle(msg);
                }
            })
            .map_err(|e| Error::Io(format!("starting the index thread: {e}")))?;
        Ok(Indexer {
            tx: Some(tx),
            thread: Some(thread),
            shared,
        })
    }

    /// Queues a message, waiting for room; a thread that is gone is an
    /// index failure.
    fn send(&self, msg: Msg) -> Result<(), Error> {
        let sent = match &self.tx {
            Some(tx) => tx.send(msg).map_err(|_| stopped()),
            None => Err(stopped()),
        };
        if let Err(e) = &sent {
            self.shared.set(Some(e.to_string()));
        }
        sent
    }

    /// Sends a message with a reply channel and waits for the answer.
    fn call<T>(&self, msg: impl FnOnce(mpsc::Sender<Result<T, Error>>) -> Msg) -> Result<T, Error> {
        let (reply, answer) = mpsc::channel();
        self.send(msg(reply))?;
        answer.recv().unwrap_or_else(|_| Err(stopped()))
    }

    /// A store batch touched `touched`, leaving the store at `change`:
    /// queued, not waited for. Also sent with nothing touched while the
    /// index has failed, so a repair is tried after [`INDEX_RETRY_MS`].
    pub(crate) fn changed(&self, touched: Vec<(AuthorKey, String)>, change: u64, now: u64) {
        if touched.is_empty() && self.failed().is_none() {
            return;
        }
        let _ = self.send(Msg::Changed {
            touched,
            change,
            now,
        });
    }

    /// Waits until everything queued before is applied, then commits at
    /// `change` (repairing first after a failure).
    pub(crate) fn flush(&self, change: u64) -> Result<(), Error> {
        self.call(|reply| Msg::Flush {
            change,
            reply: Some(reply),
        })
    }

    /// Queues a commit at `change` after what is queued, without waiting.
    pub(crate) fn flush_soon(&self, change: u64) {
        let _ = self.send(Msg::Flush {
            change,
            reply: None,
        });
    }

    /// Rebuilds the index from the store; waits.
    pub(crate) fn reindex(&self) -> Result<u64, Error> {
        self.call(Msg::Reindex)
    }

    /// Heals the index from the store; waits.
    pub(crate) fn heal(&self) -> Result<u64, Error> {
        self.call(Msg::Heal)
    }

    /// The last index error, until a repair succeeds.
    pub(crate) fn failed(&self) -> Option<String> {
        self.shared.failed()
    }

    /// Holds the index thread until the returned sender is used or
    /// dropped (after what was queued before).
    #[cfg(test)]
    pub(crate) fn hold(&self) -> mpsc::Sender<()> {
        let (release, held) = mpsc::channel();
        let _ = self.send(Msg::Hold(held));
        release
    }
}

impl Drop for Indexer {
    fn drop(&mut self) {
        // Uncommitted work is dropped, as in a crash (the next open heals
        // it): skip what is queued, and end the thread.
        self.shared.closing.store(true, Ordering::Relaxed);
        drop(self.tx.take());
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            tracing::warn!("search index: the index thread panicked");
        }
    }
}

/// The index thread's state.
struct Worker<B: Backend> {
    store: Arc<Store<B>>,
    /// Resolves adoptions' references by member id.
    publishers: crate::graph::Publishers,
    index: Index,
    writer: Writer,
    /// The store's incarnation id, which index commits name.
    incarnation: String,
    shared: Arc<Shared>,
    /// Documents added since the last commit.
    pending_docs: usize,
    /// No repair with a batch before this time (ms of the ingest clock).
    retry_at: u64,
}

impl<B: Backend> Worker<B> {
    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Changed {
                touched,
                change,
                now,
            } => self.changed(&touched, change, now),
            Msg::Flush { change, reply } => {
                let r = self.flush(change);
                if let Some(reply) = reply {
                    let _ = reply.send(r);
                }
            }
            Msg::Reindex(reply) => {
                let _ = reply.send(self.reindex());
            }
            Msg::Heal(reply) => {
                let _ = reply.send(self.heal());
            }
            #[cfg(test)]
            Msg::Hold(held) => {
                let _ = held.recv();
            }
        }
    }

    fn failed(&self) -> bool {
        self.shared.failed().is_some()
    }

    /// Indexes the practices a batch touched, then repairs a failed index
    /// (at most every [`INDEX_RETRY_MS`]) or commits every
    /// [`INDEX_COMMIT_EVERY`] documents.
    fn changed(&mut self, touched: &[(AuthorKey, String)], change: u64, now: u64) {
        if !self.failed() {
            let _ = self.guard(|w| {
                let mut practices = std::collections::BTreeSet::new();
                for (a, p) in touched {
                    if let Some(chain) = w.store.chain(a, p)? {
                        practices.extend(w.practices_of(a, p, &chain)?);
                    }
                }
                w.index_practices(practices)
            });
        }
        if self.failed() {
            if now >= self.retry_at {
                self.retry_at = now.saturating_add(INDEX_RETRY_MS);
                let _ = self.repair();
            }
        } else if self.pending_docs >= INDEX_COMMIT_EVERY {
            let _ = self.flush(change);
        }
    }

    /// Commits at `change` (everything up to it was applied), repairing
    /// first if an index write failed. The watermark never goes back: a
    /// `change` below it (unknown, 0) commits at the watermark.
    fn flush(&mut self, change: u64) -> Result<(), Error> {
        if self.failed() {
            return self.repair().map(|_| ());
        }
        let watermark = self.index.watermark();
        if self.writer.is_dirty() || watermark < change {
            let inc = self.incarnation.clone();
            let at = change.max(watermark);
            self.guard(|w| w.writer.commit(at, &inc))?;
        }
        self.pending_docs = 0;
        Ok(())
    }

    /// Re-indexes the practices changed since the index's last commit, or
    /// every practice if the index claims more than the store holds or was
    /// built from another store. Returns how many.
    fn heal(&mut self) -> Result<u64, Error> {
        let change = self.store.meta()?.change;
        let (watermark, built_from) = self.index.committed();
        if built_from.as_deref() != Some(self.incarnation.as_str()) && watermark > 0 {
            tracing::warn!("search index: built from another store; rebuilding it from this one");
            return self.reindex();
        }
        if watermark > change {
            tracing::warn!(
                "search index: claims store change {watermark}, the store is at {change}; rebuilding it"
            );
            return self.reindex();
        }
        if watermark == change {
            return Ok(0);
        }
        let n = self.index_changed_after(watermark)?;
        tracing::info!(practices = n, from = watermark, "search index healed");
        Ok(n)
    }

    /// Rebuilds the index from the store. Returns the practices indexed.
    fn reindex(&mut self) -> Result<u64, Error> {
        let n = self.guard(|w| {
            w.writer.rollback()?;
            w.writer.clear()?;
            w.index_changed_after(0)
        })?;
        self.shared.set(None);
        Ok(n)
    }

    /// Runs an index operation; a failure is remembered (it shows in
    /// `status`, and the next flush repairs from the last good commit).
    fn guard<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, Error>) -> Result<T, Error> {
        let r = f(self);
        if let Err(e) = &r {
            if !self.failed() {
                tracing::warn!("search index: {e}; it is behind the store until a retry succeeds");
            }
            self.shared.set(Some(e.to_string()));
        }
        r
    }

    /// Brings a failed index back: forgets its uncommitted state and
    /// re-indexes everything changed after its last good commit.
    fn repair(&mut self) -> Result<u64, Error> {
        let n = self.guard(|w| {
            w.writer.rollback()?;
            w.pending_docs = 0;
            let (watermark, _) = w.index.committed();
            w.index_changed_after(watermark)
        })?;
        self.shared.set(None);
        tracing::info!(practices = n, "search index repaired");
        Ok(n)
    }

    /// Indexes every practice whose chain changed after `watermark`, then
    /// commits at the store's change counter, read before the chains are
    /// listed (so the commit claims nothing it has not seen). The chains
    /// are listed first (a chain is small: its revisions' ids), then
    /// indexed.
    fn index_changed_after(&mut self, watermark: u64) -> Result<u64, Error> {
        let meta = self.store.meta()?;
        let mut changed: Vec<(AuthorKey, String, Chain)> = Vec::new();
        self.store.for_each_chain(&mut |a, p, c| {
            if c.change > watermark {
                changed.push((a, p.to_string(), c));
            }
            Ok(true)
        })?;
        let n = changed.len() as u64;
        let mut practices = std::collections::BTreeSet::new();
        for (a, p, c) in changed {
            practices.extend(self.practices_of(&a, &p, &c)?);
        }
        self.index_practices(practices)?;
        self.writer.commit(meta.change, &self.incarnation)?;
        self.pending_docs = 0;
        Ok(n)
    }

    /// The practices whose documents a changed chain changes: a practice
    /// itself; for an adoption, the practices its revisions name (their
    /// adoption counts and facets, `spec/store.md` §7). Needs are not in
    /// the search index.
    fn practices_of(
        &self,
        owner: &AuthorKey,
        name: &str,
        chain: &Chain,
    ) -> Result<Vec<(AuthorKey, String)>, Error> {
        Ok(match crate::chain::split(name) {
            (setu_core::practice::KIND, pid) => vec![(*owner, pid.to_string())],
            (setu_core::adoption::KIND, _) => {
                crate::graph::named_by(&self.store, &self.publishers, chain)?
            }
            _ => Vec::new(),
        })
    }

    /// Indexes each practice once, however many changed chains named it.
    fn index_practices(
        &mut self,
        practices: std::collections::BTreeSet<(AuthorKey, String)>,
    ) -> Result<(), Error> {
        for (o, pid) in practices {
            if let Some(c) = self.store.chain(&o, &pid)? {
                self.index_practice(&o, &pid, &c)?;
            }
        }
        Ok(())
    }

    fn index_practice(
        &mut self,
        author: &AuthorKey,
        pid: &str,
        chain: &Chain,
    ) -> Result<(), Error> {
        let adopted: Vec<crate::index::Adoption> =
            crate::graph::adoptions_of(&self.store, &self.publishers, author, pid)?
                .into_iter()
                .map(|a| crate::index::Adoption {
                    country: a.adoption.country.unwrap_or_default(),
                    stage: a.adoption.stage.unwrap_or_default(),
                })
                .collect();
        let store = &self.store;
        let mut load = |id: &RecordId| -> Result<Option<(Practice, u64)>, Error> {
            let Some(bytes) = store.get(id)? else {
                return Ok(None);
            };
            // A stored record this version's rules refuse (stored under
            // laxer ones) is left out of the index, never a reason for the
            // index, and so the node, to fail.
            let rec = match record::check_trusted(bytes) {
                Ok(rec) => rec,
                Err(e) => {
                    tracing::warn!(record = %id, "not indexed: {e}");
                    return Ok(None);
                }
            };
            let ts = rec.envelope().ts;
            Ok(rec.practice().cloned().map(|p| (p, ts)))
        };
        self.writer
            .update_practice(author, pid, chain, &adopted, &mut load)?;
        self.pending_docs += chain.entries.len().max(1);
        Ok(())
    }
}
