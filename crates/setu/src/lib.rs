//! # setu
//!
//! Embed a setu node: a replica of the catalogue on disk (sled and a
//! tantivy index) kept in step with its peers over libp2p. National portals
//! use this crate; the `setu` daemon is built on it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), setu::Error> {
//! use setu::{Config, Node};
//!
//! let mut cfg = Config::new("my-node-data");
//! cfg.net.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
//! cfg.key = Some(setu::SecretKey::generate()); // publish as this key
//! let node = Node::start(cfg).await?;
//! let mut events = node.subscribe();
//! let published = node.publish(serde_json::json!({ /* a practice body */ })).await?;
//! let hits = node.query(setu::Query { text: Some("digital centre".into()), ..Default::default() }).await?;
//! node.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! The replica has one owner: a thread of its own, reached through a
//! bounded queue ([`setu_net::owner::Owner`]). Every method is async and
//! queues its store work there; the network task queues its own without
//! ever waiting, so a slow disk never stalls it.

#![deny(missing_docs)]

pub mod address_book;
pub mod attachments;

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use setu_core::ids::{AuthorKey, RecordId};
use setu_net::owner::Owner;
use setu_store::backend::sled::SledBackend;
use setu_store::chain::State;
use setu_store::replica::{self, ImportProgress, PublishError, Published, Replica, Row};
use tokio::sync::broadcast;

pub use setu_core::keys::SecretKey;
pub use setu_member::charter::Sealed;
pub use setu_member::op::Op;
pub use setu_member::view::View;
pub use setu_net::config::Config as NetConfig;
pub use setu_net::driver::{Counters, Event, NetStatus, PeerInfo, Reachability, Via};
pub use setu_net::{Multiaddr, PeerId};
pub use setu_store::graph::Sought;
pub use setu_store::matching::{Match, Need, Offer};
pub use setu_store::query::{Facets, Hit, Hits, Query};
pub use setu_store::scaling::{AdoptionView, Scaling};

/// The file in the data directory that holds the node's transport key
/// (its libp2p identity, not its publishing key).
pub const NODE_KEY_FILE: &str = "node-key";
/// How often the address book is written while the node runs (it is also
/// written at shutdown).
pub const ADDRESS_BOOK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);
/// Received records become searchable within about this long: the index
/// is committed this often while it is behind the store.
pub const INDEX_FLUSH_INTERVAL: Duration = Duration::from_millis(300);

/// Node settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The data directory; created if missing.
    pub data_dir: PathBuf,
    /// The publishing key; without one the node replicates but cannot
    /// publish.
    pub key: Option<SecretKey>,
    /// Network settings.
    pub net: NetConfig,
    /// Store settings.
    pub replica: replica::Config,
    /// The network's charter (`spec/membership.md`). With one, the network
    /// name is `c-` and the charter's short network id, whatever
    /// `net.network` says; without one the network is open.
    pub charter: Option<Sealed>,
    /// What the node fetches by itself and how much content it keeps.
    pub attachments: attachments::Policy,
}

impl Config {
    /// Defaults, with data in `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Config {
        Config {
            data_dir: data_dir.into(),
            key: None,
            net: NetConfig::default(),
            replica: replica::Config::default(),
            charter: None,
            attachments: attachments::Policy::default(),
        }
    }
}

/// The network name of a chartered network: `c-` and the short network id
/// (`spec/membership.md` §2.4).
pub fn network_name(charter: &Sealed) -> String {
    format!("c-{}", charter.network_id().short())
}

/// Why a node operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store failed.
    #[error("{0}")]
    Store(#[from] setu_store::Error),
    /// Publishing failed.
    #[error("{0}")]
    Publish(#[from] PublishError),
    /// The network failed.
    #[error("{0}")]
    Net(#[from] setu_net::Error),
    /// The node runs an open network, with no charter.
    #[error("this node's network has no charter (network.charter in setu.toml)")]
    NoCharter,
    /// The node has no publishing key.
    #[error("this node has no publishing key (publisher.key_file in setu.toml)")]
    NoKey,
    /// A file could not be read or written.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Too many records in one call.
    #[error("records: {got} in one call; at most {max}")]
    TooMany {
        /// Records given.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// A blocking task failed.
    #[error("internal: {0}")]
    Internal(String),
}

/// A practice and its revisions, as `GET /v1/practices/{id}` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PracticeView {
    /// The publisher.
    pub author: AuthorKey,
    /// The practice id.
    pub practice_id: String,
    /// The record shown: the one asked for, else the current revision.
    pub record_id: RecordId,
    /// Its revision number.
    pub revision: u64,
    /// When it was signed (ms since the Unix epoch).
    pub ts: u64,
    /// True if the practice was withdrawn.
    pub withdrawn: bool,
    /// True if two records claim one revision of it.
    pub equivocated: bool,
    /// Records held but not linked (a gap below them, or a bad link).
    pub held: Vec<RecordId>,
    /// The current revision's id: the latest that is not a withdrawal.
    pub current: Option<RecordId>,
    /// Records of this practice the network's membership made invalid
    /// (`spec/membership.md` §8.1): kept for audit, never shown as a
    /// revision.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invalid: Vec<RecordId>,
    /// Why the record shown is invalid, when it is one of `invalid`
    /// (asked for by id): `revoked`, `sealed`, `out-of-scope`, `expired`,
    /// `removed` or `void-key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flagged: Option<String>,
    /// The body of the record shown (null for a withdrawal).
    pub body: serde_json::Value,
    /// Every linked revision, oldest first (when asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<RevisionView>>,
    /// Its current adoptions: adoption reports of other agencies naming it.
    #[serde(default)]
    pub adoptions: Vec<AdoptionView>,
}

/// One revision in a history.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RevisionView {
    /// Its record id.
    pub id: RecordId,
    /// Its revision number.
    pub revision: u64,
    /// When it was signed.
    pub ts: u64,
    /// True for a withdrawal.
    pub withdrawal: bool,
}

/// Where a practice lookup went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// Nothing by that id.
    #[error("no record or practice {0:?} in this replica")]
    NotFound(String),
    /// Several publishers use that practice id.
    #[error("{} publishers have a practice {id:?}; pass publisher= one of {}", .authors.len(), .authors.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))]
    Ambiguous {
        /// The practice id.
        id: String,
        /// Its publishers.
        authors: Vec<AuthorKey>,
    },
}

/// Node status: the replica and the network.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Status {
    /// The replica.
    pub replica: replica::Status,
    /// The network.
    pub net: NetStatus,
    /// The publishing key, if any.
    pub publisher: Option<AuthorKey>,
}

struct Inner {
    store: Owner<Replica<SledBackend>>,
    /// The store thread; it closes the replica as it ends.
    store_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    net: setu_net::driver::Handle,
    key: Option<SecretKey>,
    charter: Option<Sealed>,
    data_dir: PathBuf,
    book: tokio::task::JoinHandle<()>,
    flusher: tokio::task::JoinHandle<()>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    policy: attachments::Policy,
    policy_task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Attachment policy rounds completed.
    policy_rounds: std::sync::atomic::AtomicU64,
}

/// A running node. Cheap to clone; every clone drives the same node.
#[derive(Clone)]
pub struct Node {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("peer_id", &self.inner.net.peer_id())
            .finish()
    }
}

use setu_core::clock::now_ms;

fn node_key(dir: &Path) -> Result<setu_net::identity::Keypair, Error> {
    let path = dir.join(NODE_KEY_FILE);
    let io = |e: std::io::Error| Error::Io {
        path: path.clone(),
        reason: e.to_string(),
    };
    let seed: [u8; 32] = match std::fs::read(&path) {
        Ok(b) => b.try_into().map_err(|b: Vec<u8>| Error::Io {
            path: path.clone(),
            reason: format!("{} bytes; a node key is 32 bytes", b.len()),
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let seed = SecretKey::generate().seed();
            write_private(&path, &seed).map_err(io)?;
            seed
        }
        Err(e) => return Err(io(e)),
    };
    setu_net::identity::Keypair::ed25519_from_bytes(seed).map_err(|e| Error::Io {
        path,
        reason: e.to_string(),
    })
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

impl Node {
    /// Opens (or creates) the data directory, binds the listen addresses
    /// and starts replicating.
    pub async fn start(cfg: Config) -> Result<Node, Error> {
        let dir = cfg.data_dir.clone();
        let rcfg = cfg.replica;
        let charter = cfg.charter.clone();
        let (replica, key) = tokio::task::spawn_blocking(move || -> Result<_, Error> {
            if !dir.join(replica::FORMAT_FILE).exists() {
                Replica::create(&dir)?;
            }
            let key = node_key(&dir)?;
            let mut replica = Replica::open(&dir, rcfg)?;
            // A chartered network's node accepts by membership.
            if let Some(c) = charter {
                replica.set_charter(c)?;
            }
            // Once per store: reports and needs an older version held
            // opaque get their chains (spec/record.md §6.10).
            replica.file_new_kinds(now_ms())?;
            Ok((replica, key))
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
        let (store, store_thread) = Owner::spawn("setu-store", replica).map_err(|e| Error::Io {
            path: cfg.data_dir.clone(),
            reason: format!("starting the store thread: {e}"),
        })?;
        let own = cfg.key.as_ref().map(SecretKey::author);
        let mut net_cfg = cfg.net;
        if net_cfg.content.is_none() {
            net_cfg.content = Some(cfg.data_dir.join(attachments::CONTENT_DIR));
        }
        if let Some(c) = &cfg.charter {
            net_cfg.network = network_name(c);
        }
        for a in address_book::load(&cfg.data_dir) {
            if net_cfg.bootstrap.len() < setu_net::config::MAX_BOOTSTRAP
                && !net_cfg.bootstrap.contains(&a)
            {
                net_cfg.bootstrap.push(a);
            }
        }
        let (net, task) = setu_net::driver::start(net_cfg, key, store.clone(), own).await?;
        // Commit the index while it is behind the store, so what arrives
        // becomes searchable; a no-op when it is current. Queued for the
        // index thread, not waited for: the store thread goes on.
        let flusher = {
            let store = store.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(INDEX_FLUSH_INTERVAL);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    // A failure stays visible in `status` and is retried.
                    match store.call(|r| r.flush_index_soon()).await {
                        Ok(_) => {}
                        Err(_) => return,
                    }
                }
            })
        };
        // Keep the address book current while the node runs.
        let book = {
            let (net, dir) = (net.clone(), cfg.data_dir.clone());
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(ADDRESS_BOOK_INTERVAL);
                loop {
                    tick.tick().await;
                    let Ok(peers) = net.peers().await else { return };
                    let current = address_book::addresses(&peers);
                    if !current.is_empty()
                        && let Err(e) = address_book::save(&dir, &current)
                    {
                        tracing::warn!("address book: {e}");
                    }
                }
            })
        };
        let node = Node {
            inner: Arc::new(Inner {
                store,
                store_thread: Mutex::new(Some(store_thread)),
                net,
                key: cfg.key,
                charter: cfg.charter,
                data_dir: cfg.data_dir,
                book,
                flusher,
                task: Mutex::new(Some(task)),
                policy: cfg.attachments,
                policy_task: Mutex::new(None),
                policy_rounds: std::sync::atomic::AtomicU64::new(0),
            }),
        };
        node.start_policy();
        Ok(node)
    }

    /// The node's data directory.
    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    /// This node's peer id.
    pub fn peer_id(&self) -> PeerId {
        self.inner.net.peer_id()
    }

    /// The publishing key's author id, if the node has one.
    pub fn publisher(&self) -> Option<AuthorKey> {
        self.inner.key.as_ref().map(SecretKey::author)
    }

    /// Runs `f` on the replica, on the thread that owns it.
    async fn on_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Replica<SledBackend>) -> T + Send + 'static,
    ) -> Result<T, Error> {
        self.inner
            .store
            .call(f)
            .await
            .map_err(|e| Error::Internal(e.to_string()))
    }

    fn key(&self) -> Result<SecretKey, Error> {
        self.inner.key.clone().ok_or(Error::NoKey)
    }

    /// Gossips a record this node just signed and stored, from the bytes
    /// it signed.
    async fn announce(&self, p: &mut Published) -> Result<(), Error> {
        let record = std::mem::take(&mut p.record);
        self.inner.net.announce(vec![record]).await?;
        Ok(())
    }

    /// Signs and stores a practice body (a new practice, or the next
    /// revision of one of ours), then gossips it.
    pub async fn publish(&self, body: serde_json::Value) -> Result<Published, Error> {
        let key = self.key()?;
        let mut p = self
            .on_store(move |r| r.publish(&key, body, now_ms()))
            .await??;
        self.announce(&mut p).await?;
        Ok(p)
    }

    /// The network's charter, if it has one.
    pub fn charter(&self) -> Option<&Sealed> {
        self.inner.charter.as_ref()
    }

    /// The member set and record validity, from every membership operation
    /// this node holds (`spec/membership.md`).
    pub async fn members(&self) -> Result<View, Error> {
        let charter = self.inner.charter.clone().ok_or(Error::NoCharter)?;
        Ok(self.on_store(move |r| r.members(&charter)).await??)
    }

    /// Signs a membership operation with this node's key, stores it and
    /// gossips it. Quorum operations name the epoch they were signed
    /// against: take it from [`Node::members`].
    pub async fn operate(&self, op: Op) -> Result<setu_store::members::Own, Error> {
        let key = self.key()?;
        let charter = self.inner.charter.clone().ok_or(Error::NoCharter)?;
        let own = self
            .on_store(move |r| r.sign_operation(&key, &charter, op, now_ms()))
            .await??;
        self.inner.net.announce(vec![own.record.clone()]).await?;
        Ok(own)
    }

    /// The records `key` signed that this node holds (at most
    /// [`setu_store::members::MAX_KEY_RECORDS`]; true if there were more):
    /// what revokers review before naming the records that stay valid.
    pub async fn key_records(
        &self,
        key: AuthorKey,
    ) -> Result<(Vec<setu_store::members::KeyRecord>, bool), Error> {
        Ok(self.on_store(move |r| r.key_records(&key)).await??)
    }

    /// Signs again, against the current epoch, every stale quorum
    /// operation this node's member signed (`spec/membership.md` §5.3),
    /// and gossips them. Empty if there is none.
    pub async fn resign(&self) -> Result<Vec<setu_store::members::Own>, Error> {
        let key = self.key()?;
        let charter = self.inner.charter.clone().ok_or(Error::NoCharter)?;
        let done = self
            .on_store(move |r| r.resign(&key, &charter, now_ms()))
            .await??;
        if !done.is_empty() {
            let records = done.iter().map(|o| o.record.clone()).collect();
            self.inner.net.announce(records).await?;
        }
        Ok(done)
    }

    /// Stores records signed elsewhere (by an offline signer, or another
    /// tool) under the same rules as records from peers, and gossips those
    /// stored. One outcome per record, in order; at most
    /// [`setu_store::ingest::MAX_BATCH`] records a call.
    pub async fn submit(
        &self,
        records: Vec<Vec<u8>>,
    ) -> Result<Vec<setu_store::ingest::Outcome>, Error> {
        if records.len() > setu_store::ingest::MAX_BATCH {
            return Err(Error::TooMany {
                got: records.len(),
                max: setu_store::ingest::MAX_BATCH,
            });
        }
        let (done, stored) = self
            .on_store(move |r| {
                let done = r.ingest(records.clone(), now_ms())?;
                let stored: Vec<Vec<u8>> = records
                    .into_iter()
                    .zip(&done.outcomes)
                    .filter(|(_, o)| o.is_stored())
                    .map(|(b, _)| b)
                    .collect();
                Ok::<_, setu_store::Error>((done, stored))
            })
            .await??;
        if !stored.is_empty() {
            self.inner.net.announce(stored).await?;
        }
        Ok(done.outcomes)
    }

    /// Withdraws one of our practices (final), then gossips the withdrawal.
    pub async fn withdraw(&self, practice_id: &str, reason: &str) -> Result<Published, Error> {
        let key = self.key()?;
        let (pid, reason) = (practice_id.to_string(), reason.to_string());
        let mut p = self
            .on_store(move |r| r.withdraw(&key, &pid, &reason, now_ms()))
            .await??;
        self.announce(&mut p).await?;
        Ok(p)
    }

    /// Imports JSON Lines of practice bodies; then reconciles with every
    /// peer, which carries the new records far more cheaply than gossip.
    /// The input is taken [`IMPORT_CHUNK_LINES`] lines at a time, each
    /// chunk under its own hold of the store, so the network task is never
    /// kept waiting for a whole import.
    pub async fn import(
        &self,
        mut input: Box<dyn BufRead + Send>,
        dry_run: bool,
    ) -> Result<(ImportProgress, Vec<Row>), Error> {
        let key = self.key()?;
        let mut total = ImportProgress::default();
        let mut rows: Vec<Row> = Vec::new();
        let mut offset = 0usize;
        loop {
            // Read the next chunk of whole lines (outside the lock).
            let (back, read) = tokio::task::spawn_blocking(move || {
                let r = read_chunk(&mut input);
                (input, r)
            })
            .await
            .map_err(|e| Error::Internal(e.to_string()))?;
            input = back;
            let (chunk, lines, bytes, done) = read.map_err(|e| Error::Io {
                path: PathBuf::from("<import>"),
                reason: e.to_string(),
            })?;
            if lines > 0 {
                let key = key.clone();
                let (prog, mut got) = self
                    .on_store(move |r| {
                        let mut got = Vec::new();
                        let mut cur = std::io::Cursor::new(chunk);
                        let prog =
                            r.import(&mut cur, &key, now_ms(), dry_run, &mut |_, batch| {
                                got.extend_from_slice(batch)
                            })?;
                        Ok::<_, setu_store::Error>((prog, got))
                    })
                    .await??;
                for row in &mut got {
                    shift_line(row, offset);
                }
                rows.append(&mut got);
                total.rows += prog.rows;
                total.imported += prog.imported;
                total.skipped += prog.skipped;
                total.rejected += prog.rejected;
                total.bytes += bytes;
                offset += lines;
            }
            if done {
                break;
            }
        }
        if !dry_run && total.imported > 0 {
            self.inner.net.sync_now().await?;
        }
        Ok((total, rows))
    }

    /// Signs and stores a body of kind `adoption` or `seeking` (or
    /// `practice`), a new one or the next revision of one of ours, then
    /// gossips it.
    pub async fn publish_kind(
        &self,
        kind: &str,
        body: serde_json::Value,
    ) -> Result<Published, Error> {
        let key = self.key()?;
        let attaching = kind == setu_core::attachment::KIND;
        let kind = kind.to_string();
        let mut p = self
            .on_store(move |r| r.publish_kind(&key, &kind, body, now_ms()))
            .await??;
        self.announce(&mut p).await?;
        if attaching {
            // Its file was just added to the content folder (by this
            // process, or by `setu attach` beside the daemon): announce it.
            self.content_changed().await;
        }
        Ok(p)
    }

    /// Withdraws one of our adoption reports or needs (final), then
    /// gossips the withdrawal.
    pub async fn withdraw_kind(
        &self,
        kind: &str,
        id: &str,
        reason: &str,
    ) -> Result<Published, Error> {
        let key = self.key()?;
        let (kind, id, reason) = (kind.to_string(), id.to_string(), reason.to_string());
        let mut p = self
            .on_store(move |r| r.withdraw_kind(&key, &kind, &id, &reason, now_ms()))
            .await??;
        self.announce(&mut p).await?;
        Ok(p)
    }

    /// "Where has this scaled?" for one practice (by practice id or record
    /// id, as [`Node::get`] finds it) or for every adopted practice.
    pub async fn scaling(
        &self,
        practice: Option<(String, Option<AuthorKey>)>,
    ) -> Result<Result<Vec<Scaling>, LookupError>, Error> {
        let own = self.publisher();
        self.on_store(move |r| scaling(r, practice, own)).await?
    }

    /// The need of an open `seeking` record, by `seeking_id` or record id.
    pub async fn need_of(&self, id: &str) -> Result<Option<Need>, Error> {
        let id = id.to_string();
        self.on_store(move |r| need_of(r, &id)).await?
    }

    /// The practices that fit a need, best first.
    pub async fn matches(&self, need: Need, limit: usize) -> Result<Vec<Match>, Error> {
        Ok(self.on_store(move |r| r.matches(&need, limit)).await??)
    }

    /// The open needs this node's practices fit.
    pub async fn offers(&self, top: usize) -> Result<Vec<Offer>, Error> {
        let own = self.publisher().ok_or(Error::NoKey)?;
        Ok(self
            .on_store(move |r| {
                let owner = r.owner_of(&own);
                r.offers(&owner, top)
            })
            .await??)
    }

    /// The open needs, at most `limit`.
    pub async fn seekings(&self, limit: usize) -> Result<Vec<Sought>, Error> {
        Ok(self.on_store(move |r| r.seekings(limit)).await??)
    }

    /// Searches the replica.
    pub async fn query(&self, q: Query) -> Result<Hits, Error> {
        Ok(self.on_store(move |r| r.query(&q)).await??)
    }

    /// Counts the matches of a query by country, SDG, sector and status.
    pub async fn facets(&self, q: Query) -> Result<Facets, Error> {
        Ok(self.on_store(move |r| r.facets(&q)).await??)
    }

    /// A record's signed bytes, exactly as stored.
    pub async fn record(&self, id: RecordId) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.on_store(move |r| r.store().get(&id)).await??)
    }

    /// A practice by record id or practice id (with `publisher` when
    /// several publishers use the id).
    pub async fn get(
        &self,
        id: &str,
        publisher: Option<AuthorKey>,
        history: bool,
    ) -> Result<Result<PracticeView, LookupError>, Error> {
        let id = id.to_string();
        let own = self.publisher();
        self.on_store(move |r| lookup(r, &id, publisher, own, history))
            .await?
    }

    /// The chains (practices, adoption reports, seekings) this node stored
    /// a change of from `from` to `until` (ms since 1970, inclusive, by
    /// this node's clock), in that order, after `after` (a
    /// [`Changed::cursor`]), at most `limit`: what OAI-PMH and DCAT
    /// harvesters select by.
    pub async fn changes(
        &self,
        from: Option<u64>,
        until: Option<u64>,
        after: Option<String>,
        limit: usize,
    ) -> Result<Result<Vec<Changed>, String>, Error> {
        self.on_store(move |r| {
            let muted = r.muted();
            let mut after = after;
            let mut out = Vec::new();
            // An empty answer means the end of the list to a harvester, so
            // a page whose every chain is muted is read past, not returned.
            loop {
                let stored = match r.store().changes(
                    from.unwrap_or(0),
                    until.unwrap_or(u64::MAX - 1),
                    after.as_deref(),
                    limit,
                ) {
                    Ok(s) => s,
                    Err(setu_store::Error::BadArgument(why)) => return Ok(Err(why)),
                    Err(e) => return Err(Error::from(e)),
                };
                let Some(last) = stored.last() else {
                    return Ok(Ok(out));
                };
                after = Some(last.cursor());
                for s in stored {
                    // Local policy mutes a member everywhere it shows.
                    if muted.contains(&s.author) {
                        continue;
                    }
                    let cursor = s.cursor();
                    if let Some(c) = changed(r, s.author, &s.name, s.at, cursor)? {
                        out.push(c);
                    }
                }
                if !out.is_empty() {
                    return Ok(Ok(out));
                }
            }
        })
        .await?
    }

    /// One chain as [`Node::changes`] shows it, by owner, kind and id.
    pub async fn changed(
        &self,
        author: AuthorKey,
        kind: &str,
        id: &str,
    ) -> Result<Option<Changed>, Error> {
        let name = setu_store::chain::name(kind, id);
        self.on_store(move |r| {
            if r.muted().contains(&author) {
                return Ok(None);
            }
            let Some(chain) = r.store().chain(&author, &name)? else {
                return Ok(None);
            };
            let s = setu_store::store::Stored {
                at: chain.stored,
                author,
                name,
            };
            let cursor = s.cursor();
            changed(r, author, &s.name, s.at, cursor)
        })
        .await?
    }

    /// How many chains (practices, adoption reports, seekings) the store
    /// holds, by kind, withdrawn ones included.
    pub async fn chain_counts(&self) -> Result<std::collections::BTreeMap<String, u64>, Error> {
        Ok(self.on_store(|r| r.store().chain_counts()).await??)
    }

    /// Writes every match of `q` to `out` in `format`, with the tables
    /// [`setu_export::export_files`] lists beside it: what `setu export`
    /// does. It runs on the store's thread, so other store work waits for
    /// it; callers bound how many run.
    pub async fn export(
        &self,
        q: Query,
        format: setu_export::Format,
        out: PathBuf,
    ) -> Result<setu_export::Summary, Error> {
        use setu_export::Export;
        Ok(self
            .on_store(move |r| r.export(&q, format, &out, &mut |_, _| {}))
            .await??)
    }

    /// The earliest storage time of any chain ([`Node::changes`]).
    pub async fn earliest_stamp(&self) -> Result<Option<u64>, Error> {
        Ok(self.on_store(|r| r.store().earliest_change()).await??)
    }

    /// Connected peers.
    pub async fn peers(&self) -> Result<Vec<PeerInfo>, Error> {
        Ok(self.inner.net.peers().await?)
    }

    /// Dials a peer and keeps redialling it with backoff.
    pub async fn dial(&self, addr: Multiaddr) -> Result<(), Error> {
        Ok(self.inner.net.dial(addr).await?)
    }

    /// Starts a reconciliation round with every connected peer now.
    pub async fn sync_now(&self) -> Result<(), Error> {
        Ok(self.inner.net.sync_now().await?)
    }

    /// The node's status.
    pub async fn status(&self) -> Result<Status, Error> {
        let net = self.inner.net.status().await?;
        let replica = self.on_store(|r| r.status()).await??;
        Ok(Status {
            replica,
            net,
            publisher: self.publisher(),
        })
    }

    /// Events from now on: records received, peers connected, syncs done.
    /// A subscriber more than [`setu_net::driver::EVENT_CAPACITY`] events
    /// behind loses the oldest.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.inner.net.subscribe()
    }

    /// The same events as [`Node::subscribe`], as a `Stream`; events
    /// missed by a lagging consumer are skipped.
    pub fn events(&self) -> impl tokio_stream::Stream<Item = Event> + Send + 'static {
        use tokio_stream::StreamExt;
        tokio_stream::wrappers::BroadcastStream::new(self.subscribe()).filter_map(Result::ok)
    }

    /// Stops the network, commits the index, and flushes the store.
    /// Everything acknowledged before is on disk.
    pub async fn shutdown(&self) -> Result<(), Error> {
        self.inner.book.abort();
        self.inner.flusher.abort();
        if let Some(t) = self
            .inner
            .policy_task
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            t.abort();
        }
        if let Ok(peers) = self.inner.net.peers().await {
            let current = address_book::addresses(&peers);
            if !current.is_empty()
                && let Err(e) = address_book::save(&self.inner.data_dir, &current)
            {
                tracing::warn!("address book: {e}");
            }
        }
        let _ = self.inner.net.shutdown().await;
        let task = self
            .inner
            .task
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(t) = task {
            let _ = t.await;
        }
        // Every store write is flushed when it is made; the index is
        // committed here, then the replica is closed on its thread (so its
        // directory can be opened again at once).
        let flushed = self.on_store(|r| r.flush_index()).await;
        let _ = self.inner.store.stop().await;
        let thread = self
            .inner
            .store_thread
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(t) = thread {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
        flushed??;
        Ok(())
    }
}

/// Lines of an import stored under one hold of the store.
pub const IMPORT_CHUNK_LINES: usize = replica::IMPORT_BATCH;

/// Reads up to [`IMPORT_CHUNK_LINES`] lines: (bytes, lines, input bytes
/// consumed, end reached). Overlong lines are cut one byte past the limit,
/// so the import still refuses them as too long.
fn read_chunk(input: &mut dyn BufRead) -> std::io::Result<(Vec<u8>, usize, u64, bool)> {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    let mut consumed = 0u64;
    for lines in 0..IMPORT_CHUNK_LINES {
        buf.clear();
        let n = replica::read_line_limited(input, &mut buf, replica::MAX_IMPORT_LINE_BYTES)?;
        if n == 0 {
            return Ok((out, lines, consumed, true));
        }
        consumed += n as u64;
        out.extend_from_slice(&buf);
        out.push(b'\n');
    }
    Ok((out, IMPORT_CHUNK_LINES, consumed, false))
}

fn shift_line(row: &mut Row, offset: usize) {
    let (Row::Imported { line, .. } | Row::Skipped { line, .. } | Row::Rejected { line, .. }) = row;
    *line += offset;
}

/// The need an open `seeking` record states, found by `seeking_id` or
/// record id.
pub fn need_of<B: setu_store::backend::Backend>(
    r: &Replica<B>,
    id: &str,
) -> Result<Option<Need>, Error> {
    let rid = id.parse::<RecordId>().ok();
    Ok(r.seekings(setu_store::graph::MAX_LISTED)?
        .into_iter()
        .find(|s| s.seeking.seeking_id == id || Some(s.id) == rid)
        .map(|s| Need::of(&s.seeking)))
}

/// "Where has this scaled?" in a replica: what [`Node::scaling`] does,
/// for code that holds a replica without a node.
pub fn scaling(
    r: &mut Replica<SledBackend>,
    practice: Option<(String, Option<AuthorKey>)>,
    own: Option<AuthorKey>,
) -> Result<Result<Vec<Scaling>, LookupError>, Error> {
    let only = match practice {
        None => None,
        Some((id, publisher)) => match lookup(r, &id, publisher, own, false)? {
            Ok(v) => Some((v.author, v.practice_id)),
            Err(e) => return Ok(Err(e)),
        },
    };
    Ok(Ok(r.scaling(only)?))
}

/// One chain as a harvester sees it ([`Node::changes`]).
#[derive(Debug, Clone, Serialize)]
pub struct Changed {
    /// When this node stored the chain's latest change (ms since 1970).
    pub stamp: u64,
    /// Where a listing continues after this chain.
    pub cursor: String,
    /// The chain's owner: the publisher (a member's first key in a
    /// chartered network).
    pub author: AuthorKey,
    /// `practice`, `adoption` or `seeking`.
    pub kind: String,
    /// `practice_id`, `adoption_id` or `seeking_id`.
    pub id: String,
    /// Withdrawn, or no valid revision left.
    pub deleted: bool,
    /// The current revision; for a deleted chain the last one linked, else
    /// the last one held (its sets are the deleted item's).
    pub record: Option<ChangedRecord>,
}

/// A revision shown by [`Changed`].
#[derive(Debug, Clone, Serialize)]
pub struct ChangedRecord {
    /// Its id.
    pub id: RecordId,
    /// Its body's JSON form.
    pub json: serde_json::Value,
    /// The signed bytes.
    pub bytes: Vec<u8>,
    /// When it was signed (ms since 1970).
    pub ts: u64,
}

fn changed(
    r: &mut Replica<SledBackend>,
    author: AuthorKey,
    name: &str,
    stamp: u64,
    cursor: String,
) -> Result<Option<Changed>, Error> {
    let (kind, id) = setu_store::chain::split(name);
    let Some((chain, state)) = r.practice(&author, name)? else {
        return Ok(None);
    };
    // A deleted chain still shows its last body, so that a harvester
    // selecting by country or SDG sees it deleted in the sets it was in:
    // the last linked revision, else (every revision made invalid by the
    // membership) the last one held.
    let shown = state
        .current
        .as_ref()
        .or(state.linked.iter().rev().find(|e| !e.withdrawal))
        .or(chain.entries.iter().rev().find(|e| !e.withdrawal))
        .map(|e| e.id);
    let mut record = None;
    if let Some(rid) = shown
        && let Some(bytes) = r.store().get(&rid)?
        && let Some(rec) = r.get(&rid)?
    {
        let json = match rec.body() {
            setu_core::record::Body::Practice(p) => serde_json::to_value(p).ok(),
            setu_core::record::Body::Adoption(a) => serde_json::to_value(a).ok(),
            setu_core::record::Body::Seeking(s) => serde_json::to_value(s).ok(),
            _ => None,
        };
        record = json.map(|json| ChangedRecord {
            id: rid,
            json,
            ts: rec.envelope().ts,
            bytes,
        });
    }
    Ok(Some(Changed {
        stamp,
        cursor,
        author,
        kind: kind.to_string(),
        id: id.to_string(),
        deleted: state.withdrawn || state.current.is_none(),
        record,
    }))
}

/// Finds a practice by record id or practice id in a replica: what
/// [`Node::get`] does, for code that holds a replica without a node.
pub fn lookup(
    r: &mut Replica<SledBackend>,
    id: &str,
    publisher: Option<AuthorKey>,
    own: Option<AuthorKey>,
    history: bool,
) -> Result<Result<PracticeView, LookupError>, Error> {
    let (author, practice_id, asked) = if let Ok(rid) = id.parse::<RecordId>() {
        let Some(rec) = r.get(&rid)? else {
            return Ok(Err(LookupError::NotFound(id.to_string())));
        };
        let Some(p) = rec.practice() else {
            return Ok(Err(LookupError::NotFound(id.to_string())));
        };
        // Chains are the member's in a chartered network; a flagged
        // record names its chain's owner (its key may name no member now).
        let owner = match r.store().invalid(&rid)?.and_then(|f| f.owner) {
            Some(o) => o,
            None => r.chain_owner(&rec.envelope().author),
        };
        (owner, p.practice_id.clone(), Some(rid))
    } else {
        let mut authors = r.authors_of(id)?;
        if let Some(p) = publisher {
            authors.retain(|a| *a == p);
        }
        if authors.is_empty()
            && let Some(o) = own.filter(|o| publisher.is_none_or(|p| p == *o))
            && r.practice(&o, id)?.is_some()
        {
            authors.push(o);
        }
        match authors.as_slice() {
            [] => return Ok(Err(LookupError::NotFound(id.to_string()))),
            [a] => (*a, id.to_string(), None),
            many => {
                return Ok(Err(LookupError::Ambiguous {
                    id: id.to_string(),
                    authors: many.to_vec(),
                }));
            }
        }
    };
    let Some((_, state)) = r.practice(&author, &practice_id)? else {
        return Ok(Err(LookupError::NotFound(id.to_string())));
    };
    let State {
        current,
        linked,
        withdrawn,
        equivocated,
        held,
        invalid,
    } = state;
    let shown = asked
        .or(current.as_ref().map(|e| e.id))
        .or(linked.last().map(|e| e.id));
    let Some(shown) = shown else {
        return Ok(Err(LookupError::NotFound(id.to_string())));
    };
    let Some(rec) = r.get(&shown)? else {
        return Ok(Err(LookupError::NotFound(id.to_string())));
    };
    let body = rec
        .practice()
        .and_then(|p| serde_json::to_value(p).ok())
        .unwrap_or(serde_json::Value::Null);
    let flagged = match invalid.contains(&shown) {
        true => r.store().invalid(&shown)?.map(|f| f.why),
        false => None,
    };
    let revision = linked
        .iter()
        .find(|e| e.id == shown)
        .map_or(0, |e| e.revision);
    let adoptions = r.adoptions_of(&author, &practice_id)?;
    Ok(Ok(PracticeView {
        adoptions,
        author,
        practice_id,
        record_id: shown,
        revision,
        ts: rec.envelope().ts,
        withdrawn,
        equivocated,
        held,
        current: current.as_ref().map(|e| e.id),
        invalid,
        flagged,
        body,
        history: history.then(|| {
            linked
                .iter()
                .map(|e| RevisionView {
                    id: e.id,
                    revision: e.revision,
                    ts: e.ts,
                    withdrawal: e.withdrawal,
                })
                .collect()
        }),
    }))
}
