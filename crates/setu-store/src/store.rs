//! What the store keeps, and where ([`spec/store.md` §2](../../../spec/store.md)).
//!
//! One ordered key space, kept small because every extra entry per record
//! costs ingest speed:
//!
//! | key | value | per |
//! | --- | --- | --- |
//! | `r` ‖ id | the signed record's bytes, LZ4-compressed (see [`pack`]) | record |
//! | `s` ‖ author ‖ seq (u64 BE) ‖ id | empty | record |
//! | `t` ‖ ts (u64 BE) ‖ id | empty | record: the sorted (ts, id) index that reconciliation walks |
//! | `p` ‖ author ‖ practice_id | the revision [`Chain`] (CBOR) | practice |
//! | `f` ‖ author | [`AuthorFlags`] (CBOR) | flagged author |
//! | `m` | [`Meta`] (CBOR) | store |
//! | `h` ‖ author | highest `seq` this node reserved for its key (u64 BE): local, never replicated | own key |
//! | `i` | the store's incarnation id (16 random bytes): the search index names it | store |
//! | `x` ‖ id | [`Flag`] (CBOR): the record is invalid under the network's membership; its `t` entry is removed, so reconciliation passes over it | invalidated record |
//! | `o` ‖ id | empty: the record is a membership operation (kind `"member"`), so a chartered replica reads its operations without reading every record | membership operation |
//! | `u` ‖ stored (u64 BE, ms) ‖ author ‖ chain name | empty: when this node stored the chain's latest change, the order harvesters read in (OAI-PMH, DCAT); local, never replicated | chain |
//! | `l` ‖ id | ts (u64 BE): the record is shown on this node only, by local policy (a trusted key no member holds); it has no `t` entry, so it is never reconciled | locally trusted record |

use serde::{Deserialize, Serialize};
use setu_core::cbor;
use setu_core::ids::{AuthorKey, RecordId};

use std::sync::Mutex;

use crate::Error;
use crate::backend::{Backend, Write, prefix_end};
use crate::chain::Chain;
use crate::seen;

const RECORD: u8 = b'r';
const SEQ: u8 = b's';
const TS: u8 = b't';
const PRACTICE: u8 = b'p';
const FLAGS: u8 = b'f';
const META: &[u8] = b"m";
const RESERVED: u8 = b'h';
const INCARNATION: &[u8] = b"i";
const INVALID: u8 = b'x';
const LOCAL: u8 = b'l';
const OPERATION: u8 = b'o';
const EDGE: u8 = b'a';
const KIND_CHAIN: u8 = b'k';
const NAMES: &[u8] = b"n";
const STORED: u8 = b'u';

/// [`Store::records_in_order`] scans when at least one stored record in
/// this many is asked for, and reads each one alone otherwise.
pub const SCAN_DENSITY: u64 = 16;

/// Entries one step of [`Store::records_in_order`]'s scan reads.
const SCAN_CHUNK: usize = 256;

/// Most `u` entries one [`Store::changes`] call returns.
pub const MAX_CHANGES: usize = 10_000;

/// The `seq` floor per millisecond of the signing clock: a node signs
/// `seq ≥ now_ms × SEQ_PER_MS`, so a data directory restored from an old
/// backup, or a key moved to a new server, does not sign a `seq` it already
/// used unless it once signed more than this many records per millisecond
/// (spec/store.md §5).
pub const SEQ_PER_MS: u64 = 1_000;

/// Store-wide counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// Bumped by every write batch; chains remember the value of their
    /// last change.
    pub change: u64,
    /// Records stored.
    pub records: u64,
    /// Of those, records flagged invalid by the network's membership.
    #[serde(default)]
    pub invalid: u64,
    /// True once every membership operation stored has its `o` entry
    /// (stores made before the entry existed are indexed once, at open).
    #[serde(default)]
    pub ops_indexed: bool,
    /// True once the records of kinds `adoption` and `seeking` stored by a
    /// version that held them opaque have been filed into chains
    /// ([`crate::replica::Replica::file_new_kinds`]).
    #[serde(default)]
    pub kinds_filed: bool,
    /// SHA-256 over the sorted ids of the membership operations whose view
    /// the invalid flags reflect; `None` before any sweep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swept: Option<[u8; 32]>,
    /// The latest storage time given to a chain ([`Chain::stored`]): a new
    /// one is never less, even if the clock steps back.
    #[serde(default)]
    pub stamp: u64,
    /// True once every chain has its `u` entry (stores made before the
    /// entry existed are stamped once, at open: [`Store::stamp_chains`]).
    #[serde(default)]
    pub stamped: bool,
}

/// One `u` entry: a chain and when this node stored its latest change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// When (ms since 1970, this node's clock).
    pub at: u64,
    /// The chain's owner.
    pub author: AuthorKey,
    /// The chain's name ([`crate::chain::name`]).
    pub name: String,
}

impl Stored {
    /// The entry's position, to continue a listing after it
    /// ([`Store::changes`]): hex of its key without the prefix.
    pub fn cursor(&self) -> String {
        let mut k = Vec::with_capacity(40 + self.name.len());
        k.extend_from_slice(&self.at.to_be_bytes());
        k.extend_from_slice(&self.author.0);
        k.extend_from_slice(self.name.as_bytes());
        hex::encode(k)
    }
}

/// Why a stored record is invalid (`spec/membership.md` §6.1), kept with
/// its bytes for audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    /// `envelope.ts`: where its `t` entry was.
    pub ts: u64,
    /// The reason: `revoked`, `sealed`, `out-of-scope`, `expired`,
    /// `removed`, `void-key` or `no-member`.
    pub why: String,
    /// The publisher whose practice chain holds it, for a practice record
    /// (its key may no longer name a member, so it is kept here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<AuthorKey>,
}

/// What the store has noticed about an author.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorFlags {
    /// Times two different records claimed one `seq` or one practice revision.
    pub equivocations: u64,
    /// The practice ids involved (at most [`MAX_FLAGGED_PRACTICES`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub practices: Vec<String>,
}

/// Most practice ids remembered in one author's flags.
pub const MAX_FLAGGED_PRACTICES: usize = 64;

/// Where a stored record stands: what decides whether it is reconciled
/// and shown (`spec/membership.md` §8.1, §9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// Shown and reconciled: it has a `t` entry.
    Items,
    /// Shown on this node only, by local policy: an `l` entry, no `t`.
    Local,
    /// Invalid under the membership, kept for audit: an `x` entry, no `t`.
    Flagged(String),
}

/// A stored record moving from one [`Place`] to another.
#[derive(Debug, Clone)]
pub struct Move {
    /// The record.
    pub id: RecordId,
    /// Its `envelope.ts`.
    pub ts: u64,
    /// Where it is.
    pub from: Place,
    /// Where it goes.
    pub to: Place,
    /// The owner of its practice chain, kept in its [`Flag`].
    pub owner: Option<AuthorKey>,
}

/// A record to write.
#[derive(Debug, Clone)]
pub struct NewRecord {
    /// Its id.
    pub id: RecordId,
    /// The signed bytes.
    pub bytes: Vec<u8>,
    /// `envelope.author`.
    pub author: AuthorKey,
    /// `envelope.seq`.
    pub seq: u64,
    /// `envelope.ts`.
    pub ts: u64,
    /// Kept on this node only (local policy, [`Place::Local`]): no `t`
    /// entry.
    pub local: bool,
    /// A membership operation: it gets an `o` entry.
    pub operation: bool,
}

/// An adoption record's edge to the practice it names
/// (`spec/store.md` §7, key `a`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// The practice named: [`crate::graph::target`] of the reference.
    pub target: Vec<u8>,
    /// The adoption record.
    pub id: RecordId,
    /// The owner of the adoption's chain.
    pub owner: AuthorKey,
    /// Its `adoption_id`.
    pub adoption_id: String,
}

/// Everything one ingest batch writes, atomically.
#[derive(Debug, Default)]
pub struct Batch {
    /// Edges of adoption records to the practices they name.
    pub edges: Vec<Edge>,
    /// New records.
    pub records: Vec<NewRecord>,
    /// Changed chains.
    pub chains: Vec<(AuthorKey, String, Chain)>,
    /// Changed author flags.
    pub flags: Vec<(AuthorKey, AuthorFlags)>,
    /// Stored records that change place.
    pub moves: Vec<Move>,
    /// The new counters.
    pub meta: Meta,
}

fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>, Error> {
    let value = cbor::to_value(v).map_err(|e| Error::Corrupt(format!("cannot encode: {e}")))?;
    cbor::encode(&value).map_err(|e| Error::Corrupt(format!("cannot encode: {e}")))
}

fn decode<T: serde::de::DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T, Error> {
    let value = cbor::decode(bytes).map_err(|e| Error::Corrupt(format!("{what}: {e}")))?;
    cbor::from_value(&value).map_err(|e| Error::Corrupt(format!("{what}: {e}")))
}

/// The tag of a record value compressed with LZ4 (block format, with the
/// uncompressed size prepended) and kept in the tree. Records are mostly
/// text and halve in size; [`Store::unpack`] gives back exactly the signed
/// bytes.
const LZ4: u8 = 1;
/// The tag of a record value kept in the backend's value log
/// ([`Backend::put_values`]), LZ4-compressed as under [`LZ4`]: the rest of
/// the value is the log's reference.
const IN_LOG: u8 = 2;
/// Largest size a stored record may claim when unpacked.
const MAX_UNPACKED: usize = setu_core::record::MAX_RECORD_BYTES;

/// A record's bytes as a value kept in the tree ([`LZ4`]), as a store
/// whose backend keeps no value log writes them.
pub fn pack(bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![LZ4];
    out.extend(lz4_flex::compress_prepend_size(bytes));
    out
}

/// The signed bytes of an LZ4 block with its size prepended.
fn decompress(block: &[u8]) -> Result<Vec<u8>, Error> {
    let claimed = block.get(..4).map_or(usize::MAX, |n| {
        u32::from_le_bytes([n[0], n[1], n[2], n[3]]) as usize
    });
    if claimed > MAX_UNPACKED {
        return Err(Error::Corrupt(format!(
            "stored record claims {claimed} bytes"
        )));
    }
    lz4_flex::decompress_size_prepended(block)
        .map_err(|e| Error::Corrupt(format!("stored record: {e}")))
}

fn key(prefix: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + parts.iter().map(|p| p.len()).sum::<usize>());
    k.push(prefix);
    for p in parts {
        k.extend_from_slice(p);
    }
    k
}

fn id_at(bytes: &[u8], at: usize) -> Result<RecordId, Error> {
    bytes
        .get(at..at + 32)
        .and_then(|s| <[u8; 32]>::try_from(s).ok())
        .map(RecordId)
        .ok_or_else(|| Error::Corrupt(format!("short key {}", hex::encode(bytes))))
}

fn u64_at(bytes: &[u8], at: usize) -> Result<u64, Error> {
    bytes
        .get(at..at + 8)
        .and_then(|s| <[u8; 8]>::try_from(s).ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| Error::Corrupt(format!("short key {}", hex::encode(bytes))))
}

/// The state of a store's filter ([`seen`]).
#[derive(Debug)]
enum Seen {
    /// Not built yet: built at the first [`Store::may_hold`].
    Unbuilt,
    Built(seen::Filter),
    /// The store holds a damaged key, so no filter can be trusted: every
    /// read is made.
    Off,
}

/// The record store over a [`Backend`].
#[derive(Debug)]
pub struct Store<B> {
    backend: B,
    /// What the store holds, for ingest to skip reads that would find
    /// nothing; built on first use. Every write that adds `s` or `p`
    /// entries holds the lock until it is done, so a filter being built
    /// never misses one.
    seen: Mutex<Seen>,
    /// False only to measure what the filter saves ([`Store::unfiltered`]).
    filtered: bool,
}

impl<B: Backend> Store<B> {
    /// A store over `backend`.
    pub fn new(backend: B) -> Store<B> {
        Store {
            backend,
            seen: Mutex::new(Seen::Unbuilt),
            filtered: true,
        }
    }

    /// A store over `backend` whose [`Store::may_hold`] always says
    /// "maybe": every read is made. For benchmarks that measure what the
    /// filter saves.
    pub fn unfiltered(backend: B) -> Store<B> {
        Store {
            filtered: false,
            ..Store::new(backend)
        }
    }

    /// False if the store certainly does not hold `probe`; true if it may
    /// (read it to know). Builds the filter from the store on first use,
    /// and again, larger, once it is full ([`seen`]).
    pub fn may_hold(&self, probe: seen::Probe<'_>) -> Result<bool, Error> {
        if !self.filtered {
            return Ok(true);
        }
        let mut g = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let keys = match &*g {
            Seen::Off => return Ok(true),
            Seen::Built(f) if !f.is_full() => return Ok(f.may_hold(probe)),
            Seen::Built(f) => f.keys(),
            Seen::Unbuilt => 0,
        };
        *g = match self.build_seen(keys) {
            Ok(f) => Seen::Built(f),
            // A damaged key: every read is made, as without the filter.
            Err(e @ Error::Corrupt(_)) => {
                tracing::warn!(error = %e, "the store's filter cannot be built; every ingest read is made");
                Seen::Off
            }
            Err(e) => return Err(e),
        };
        Ok(match &*g {
            Seen::Built(f) => f.may_hold(probe),
            _ => true,
        })
    }

    /// A filter of every record, seq and chain stored, with room for
    /// [`seen::GROWTH`] times as many keys as the store's records can
    /// bring (three each at most: id, seq, a new chain), or as `at_least`.
    fn build_seen(&self, at_least: usize) -> Result<seen::Filter, Error> {
        let records = usize::try_from(self.meta()?.records).unwrap_or(usize::MAX);
        let room = records.saturating_mul(3).max(at_least);
        let mut f = seen::Filter::with_capacity(room.saturating_mul(seen::GROWTH));
        self.backend.scan_prefix(&[SEQ], &mut |k, _| {
            let author = AuthorKey(id_at(k, 1)?.0);
            f.insert(seen::Probe::Record(&id_at(k, 41)?));
            f.insert(seen::Probe::Seq(&author, u64_at(k, 33)?));
            Ok(true)
        })?;
        self.backend.scan_prefix(&[PRACTICE], &mut |k, _| {
            let name = std::str::from_utf8(k.get(33..).unwrap_or_default())
                .map_err(|_| Error::Corrupt("a chain's name is not UTF-8".into()))?;
            f.insert(seen::Probe::Chain(&AuthorKey(id_at(k, 1)?.0), name));
            Ok(true)
        })?;
        Ok(f)
    }

    /// The backend. Write through [`Store`]'s own methods only: a write
    /// of `s`, `p` or `r` entries straight to the backend bypasses the
    /// store's filter ([`seen`]), and ingest would then take such a record
    /// for new.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// The store's incarnation id, made (and stored) on first use. A new
    /// database, or one replaced by another, has another id; the search
    /// index records the id it was built from.
    pub fn incarnation(&self) -> Result<String, Error> {
        if let Some(v) = self.backend.get(INCARNATION)? {
            return Ok(hex::encode(v));
        }
        let id: [u8; 16] = rand::random();
        self.backend
            .apply(vec![(INCARNATION.to_vec(), Some(id.to_vec()))])?;
        Ok(hex::encode(id))
    }

    /// Reserves `n` fresh `seq` numbers for `author` and returns the first.
    /// The reservation is durable before this returns, so a `seq` handed out
    /// is never handed out again, even if signing or storing then fails.
    /// The first is above every `seq` stored or reserved for the author, and
    /// at least `now_ms × SEQ_PER_MS`.
    pub fn reserve_seqs(&self, author: &AuthorKey, n: u64, now_ms: u64) -> Result<u64, Error> {
        let k = key(RESERVED, &[&author.0]);
        let reserved = match self.backend.get(&k)? {
            Some(v) => u64_at(&v, 0)?,
            None => 0,
        };
        let floor = now_ms.saturating_mul(SEQ_PER_MS);
        let first = self
            .last_seq(author)?
            .max(reserved)
            .max(floor.saturating_sub(1))
            .saturating_add(1);
        let last = first.saturating_add(n.max(1) - 1);
        if last == u64::MAX {
            return Err(Error::Corrupt(format!(
                "seq for {author} would pass 2^64-1"
            )));
        }
        self.backend
            .apply(vec![(k, Some(last.to_be_bytes().to_vec()))])?;
        Ok(first)
    }

    /// The signed bytes of a record.
    pub fn get(&self, id: &RecordId) -> Result<Option<Vec<u8>>, Error> {
        self.backend
            .get(&key(RECORD, &[&id.0]))?
            .map(|v| self.unpack_record(id, &v))
            .transpose()
    }

    /// [`Store::unpack`] of record `id`'s value, its errors naming the
    /// record.
    fn unpack_record(&self, id: &RecordId, value: &[u8]) -> Result<Vec<u8>, Error> {
        self.unpack(value).map_err(|e| match e {
            Error::Corrupt(m) => Error::Corrupt(format!("record {id}: {m}")),
            Error::Io(m) => Error::Io(format!("record {id}: {m}")),
            Error::Backend(m) => Error::Backend(format!("record {id}: {m}")),
            other => other,
        })
    }

    /// The exact signed bytes of a record's stored value (an `r` entry):
    /// kept in the tree, or in the backend's value log.
    pub fn unpack(&self, value: &[u8]) -> Result<Vec<u8>, Error> {
        match value.split_first() {
            Some((&LZ4, block)) => decompress(block),
            Some((&IN_LOG, reference)) => decompress(&self.backend.value(reference)?),
            _ => Err(Error::Corrupt(
                "stored record of an unknown encoding".into(),
            )),
        }
    }

    /// Calls `f` on each record of `ids`, which must be sorted and without
    /// repeats, in that order, with its signed bytes (`None` if it is not
    /// stored), until `f` returns `Ok(false)`.
    ///
    /// When `ids` is at least one record in [`SCAN_DENSITY`] of the store,
    /// this is one ordered scan that reads each page once and skips the
    /// records not asked for; otherwise a point read per id, in key order.
    /// Either is far faster than point reads in any other order, which
    /// read a page per record once the store outgrows its page cache.
    pub fn records_in_order(
        &self,
        ids: &[RecordId],
        f: &mut dyn FnMut(RecordId, Option<Vec<u8>>) -> Result<bool, Error>,
    ) -> Result<(), Error> {
        debug_assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "ids sorted, no repeats"
        );
        let dense = (ids.len() as u64).saturating_mul(SCAN_DENSITY) >= self.meta()?.records;
        if !dense {
            for id in ids {
                if !f(*id, self.get(id)?)? {
                    break;
                }
            }
            return Ok(());
        }
        // Read in chunks of SCAN_CHUNK entries, so that no read lock or
        // iterator is held while `f` runs.
        let mut next = 0;
        let mut from = match ids.first() {
            Some(first) => key(RECORD, &[&first.0]),
            None => return Ok(()),
        };
        let to = prefix_end(&[RECORD]);
        while next < ids.len() {
            let chunk = self.backend.range(&from, &to, false, SCAN_CHUNK)?;
            let done = chunk.len() < SCAN_CHUNK;
            for (k, v) in &chunk {
                let Some(id) = k.get(1..).and_then(|b| <[u8; 32]>::try_from(b).ok()) else {
                    return Err(Error::Corrupt(format!("a record key of {} bytes", k.len())));
                };
                let id = RecordId(id);
                // Ids asked for but not met before this key are not stored.
                while next < ids.len() && ids[next] < id {
                    if !f(ids[next], None)? {
                        return Ok(());
                    }
                    next += 1;
                }
                if next == ids.len() {
                    return Ok(());
                }
                if ids[next] == id {
                    if !f(id, Some(self.unpack_record(&id, v)?))? {
                        return Ok(());
                    }
                    next += 1;
                }
            }
            match chunk.last() {
                Some((k, _)) if !done => {
                    from = k.clone();
                    from.push(0);
                }
                _ => break,
            }
        }
        for id in &ids[next..] {
            if !f(*id, None)? {
                break;
            }
        }
        Ok(())
    }

    /// Whether a record is stored.
    pub fn contains(&self, id: &RecordId) -> Result<bool, Error> {
        Ok(self.backend.get(&key(RECORD, &[&id.0]))?.is_some())
    }

    /// The chain of a practice.
    pub fn chain(&self, author: &AuthorKey, practice_id: &str) -> Result<Option<Chain>, Error> {
        self.backend
            .get(&key(PRACTICE, &[&author.0, practice_id.as_bytes()]))?
            .map(|v| decode("chain", &v))
            .transpose()
    }

    /// Every chain of an author.
    pub fn chains_of(&self, author: &AuthorKey) -> Result<Vec<(String, Chain)>, Error> {
        let mut out = Vec::new();
        self.backend
            .scan_prefix(&key(PRACTICE, &[&author.0]), &mut |k, v| {
                let pid = String::from_utf8_lossy(&k[33..]).into_owned();
                out.push((pid, decode("chain", v)?));
                Ok(true)
            })?;
        Ok(out)
    }

    /// Calls `f` on every practice's chain, until it returns `Ok(false)`.
    pub fn for_each_chain(
        &self,
        f: &mut dyn FnMut(AuthorKey, &str, Chain) -> Result<bool, Error>,
    ) -> Result<(), Error> {
        self.backend.scan_prefix(&[PRACTICE], &mut |k, v| {
            let author = AuthorKey(id_at(k, 1)?.0);
            let pid = std::str::from_utf8(&k[33..])
                .map_err(|_| Error::Corrupt("practice id not UTF-8".into()))?;
            f(author, pid, decode("chain", v)?)
        })
    }

    /// The adoption chains whose records name `target`
    /// ([`crate::graph::target`]), at most `limit`: each chain's owner and
    /// `adoption_id`, with the last record filed under it. One entry per
    /// chain, however many revisions name the target.
    pub fn edges_to(
        &self,
        target: &[u8],
        limit: usize,
    ) -> Result<Vec<(RecordId, AuthorKey, String)>, Error> {
        let prefix = key(EDGE, &[target]);
        let mut out = Vec::new();
        self.backend.scan_prefix(&prefix, &mut |k, v| {
            if out.len() >= limit {
                return Ok(false);
            }
            let owner = AuthorKey(id_at(k, prefix.len())?.0);
            let adoption_id = String::from_utf8_lossy(&k[prefix.len() + 32..]).into_owned();
            out.push((id_at(v, 0)?, owner, adoption_id));
            Ok(true)
        })?;
        Ok(out)
    }

    /// Takes records out of the store (their `r`, `s` and `t` entries) and
    /// gives back their bytes, to be stored again under this version's
    /// rules. Records absent or not in the items are skipped.
    pub fn unstore(&self, ids: &[RecordId]) -> Result<Vec<Vec<u8>>, Error> {
        let mut meta = self.meta()?;
        let mut writes: Vec<Write> = Vec::new();
        let mut out = Vec::new();
        for id in ids {
            let Some(bytes) = self.get(id)? else { continue };
            let Ok(p) = setu_core::record::parse(bytes.clone()) else {
                continue;
            };
            let env = p.envelope();
            let ts_key = key(TS, &[&env.ts.to_be_bytes(), &id.0]);
            if self.backend.get(&ts_key)?.is_none() {
                continue;
            }
            writes.push((ts_key, None));
            writes.push((
                key(SEQ, &[&env.author.0, &env.seq.to_be_bytes(), &id.0]),
                None,
            ));
            writes.push((key(RECORD, &[&id.0]), None));
            meta.records = meta.records.saturating_sub(1);
            out.push(bytes);
        }
        meta.change += 1;
        writes.push((META.to_vec(), Some(encode(&meta)?)));
        self.backend.apply(writes)?;
        Ok(out)
    }

    /// Records that this version files as done ([`Meta::kinds_filed`]).
    pub fn set_kinds_filed(&self) -> Result<(), Error> {
        let mut meta = self.meta()?;
        meta.kinds_filed = true;
        self.backend
            .apply(vec![(META.to_vec(), Some(encode(&meta)?))])
    }

    /// The member ids and first keys adoptions were last resolved with
    /// ([`crate::graph::Publishers`]): kept so that the index, healed at
    /// open before the charter is read, resolves them as it did.
    pub fn names(&self) -> Result<std::collections::BTreeMap<String, AuthorKey>, Error> {
        Ok(match self.backend.get(NAMES)? {
            Some(v) => decode("names", &v)?,
            None => Default::default(),
        })
    }

    /// Replaces the names [`Store::names`] reads.
    pub fn set_names(
        &self,
        names: &std::collections::BTreeMap<String, AuthorKey>,
    ) -> Result<(), Error> {
        self.backend
            .apply(vec![(NAMES.to_vec(), Some(encode(names)?))])
    }

    /// The distinct practices adoption edges name whose reference starts
    /// with `publisher` (`m:` or `k:`), at most `limit`: each a
    /// [`crate::graph::target`].
    pub fn edge_targets(&self, publisher: &[u8], limit: usize) -> Result<Vec<Vec<u8>>, Error> {
        let mut out: Vec<Vec<u8>> = Vec::new();
        self.backend
            .scan_prefix(&key(EDGE, &[publisher]), &mut |k, _| {
                // The target ends at the second 0 byte (ref, practice id).
                let Some(end) = k
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| **b == 0)
                    .nth(1)
                    .map(|(i, _)| i + 1)
                else {
                    return Err(Error::Corrupt("adoption edge without a target".into()));
                };
                let t = &k[1..end];
                if out.last().map(Vec::as_slice) != Some(t) {
                    if out.len() >= limit {
                        return Ok(false);
                    }
                    out.push(t.to_vec());
                }
                Ok(true)
            })?;
        Ok(out)
    }

    /// The chains of one kind other than `practice`, at most `limit`: each
    /// owner and id.
    pub fn chains_of_kind(
        &self,
        kind: &str,
        limit: usize,
    ) -> Result<Vec<(AuthorKey, String)>, Error> {
        let prefix = key(KIND_CHAIN, &[kind.as_bytes(), &[0]]);
        let mut out = Vec::new();
        self.backend.scan_prefix(&prefix, &mut |k, _| {
            if out.len() >= limit {
                return Ok(false);
            }
            let at = prefix.len();
            let owner = AuthorKey(id_at(k, at)?.0);
            let id = std::str::from_utf8(k.get(at + 32..).unwrap_or_default())
                .map_err(|_| Error::Corrupt("chain id not UTF-8".into()))?;
            out.push((owner, id.to_string()));
            Ok(true)
        })?;
        Ok(out)
    }

    /// Ids of the records an author signed with this `seq` (more than one
    /// only if the author equivocated).
    pub fn ids_at_seq(&self, author: &AuthorKey, seq: u64) -> Result<Vec<RecordId>, Error> {
        let prefix = key(SEQ, &[&author.0, &seq.to_be_bytes()]);
        let mut out = Vec::new();
        self.backend.scan_prefix(&prefix, &mut |k, _| {
            out.push(id_at(k, 41)?);
            Ok(true)
        })?;
        Ok(out)
    }

    /// The highest `seq` stored for an author, or 0.
    pub fn last_seq(&self, author: &AuthorKey) -> Result<u64, Error> {
        let prefix = key(SEQ, &[&author.0]);
        let last = self.backend.range(&prefix, &prefix_end(&prefix), true, 1)?;
        match last.first() {
            Some((k, _)) => u64_at(k, 33),
            None => Ok(0),
        }
    }

    /// Up to `limit` `(seq, id)` of the records `author` signed, in seq
    /// order: from `from_seq` on, or after `after` (a pair this returned
    /// before) to page on.
    pub fn ids_of(
        &self,
        author: &AuthorKey,
        from_seq: u64,
        after: Option<(u64, RecordId)>,
        limit: usize,
    ) -> Result<Vec<(u64, RecordId)>, Error> {
        let prefix = key(SEQ, &[&author.0]);
        let start = match after {
            Some((seq, id)) => {
                let mut k = key(SEQ, &[&author.0, &seq.to_be_bytes(), &id.0]);
                k.push(0);
                k
            }
            None => key(SEQ, &[&author.0, &from_seq.to_be_bytes()]),
        };
        self.backend
            .range(&start, &prefix_end(&prefix), false, limit)?
            .iter()
            .map(|(k, _)| Ok((u64_at(k, 33)?, id_at(k, 41)?)))
            .collect()
    }

    /// Why a stored record is invalid, if it is flagged.
    pub fn invalid(&self, id: &RecordId) -> Result<Option<Flag>, Error> {
        self.backend
            .get(&key(INVALID, &[&id.0]))?
            .map(|v| decode("flag", &v))
            .transpose()
    }

    /// The authors of the records kept locally ([`Place::Local`]), at most
    /// one entry per author.
    pub fn local_authors(&self) -> Result<std::collections::BTreeSet<AuthorKey>, Error> {
        let mut ids = Vec::new();
        self.backend.scan_prefix(&[LOCAL], &mut |k, _| {
            ids.push(id_at(k, 1)?);
            Ok(true)
        })?;
        let mut out = std::collections::BTreeSet::new();
        for id in ids {
            if let Some(bytes) = self.get(&id)?
                && let Ok(p) = setu_core::record::parse(bytes)
            {
                out.insert(p.envelope().author);
            }
        }
        Ok(out)
    }

    /// Ids of the stored membership operations (`o` entries).
    pub fn operation_ids(&self) -> Result<Vec<RecordId>, Error> {
        let mut out = Vec::new();
        self.backend.scan_prefix(&[OPERATION], &mut |k, _| {
            out.push(id_at(k, 1)?);
            Ok(true)
        })?;
        Ok(out)
    }

    /// Writes the `o` entries of `ids` and marks the operations indexed, in
    /// one batch.
    pub fn index_operations(&self, ids: &[RecordId]) -> Result<(), Error> {
        let mut meta = self.meta()?;
        meta.ops_indexed = true;
        let mut writes: Vec<Write> = ids
            .iter()
            .map(|id| (key(OPERATION, &[&id.0]), Some(Vec::new())))
            .collect();
        writes.push((META.to_vec(), Some(encode(&meta)?)));
        self.backend.apply(writes)
    }

    /// Where a stored record stands.
    pub fn place(&self, id: &RecordId) -> Result<Place, Error> {
        if let Some(f) = self.invalid(id)? {
            return Ok(Place::Flagged(f.why));
        }
        if self.backend.get(&key(LOCAL, &[&id.0]))?.is_some() {
            return Ok(Place::Local);
        }
        Ok(Place::Items)
    }

    /// Calls `f` on every flagged record, until it returns `Ok(false)`.
    pub fn for_each_invalid(
        &self,
        f: &mut dyn FnMut(RecordId, Flag) -> Result<bool, Error>,
    ) -> Result<(), Error> {
        self.backend
            .scan_prefix(&[INVALID], &mut |k, v| f(id_at(k, 1)?, decode("flag", v)?))
    }

    /// Up to `limit` entries of the (ts, id) index after `after` (exclusive),
    /// in order.
    pub fn ts_range(
        &self,
        after: Option<(u64, RecordId)>,
        limit: usize,
    ) -> Result<Vec<(u64, RecordId)>, Error> {
        let from = match after {
            Some((ts, id)) => {
                let mut k = key(TS, &[&ts.to_be_bytes(), &id.0]);
                k.push(0);
                k
            }
            None => vec![TS],
        };
        self.backend
            .range(&from, &prefix_end(&[TS]), false, limit)?
            .iter()
            .map(|(k, _)| Ok((u64_at(k, 1)?, id_at(k, 9)?)))
            .collect()
    }

    /// The store's counters.
    pub fn meta(&self) -> Result<Meta, Error> {
        Ok(match self.backend.get(META)? {
            Some(v) => decode("meta", &v)?,
            None => Meta::default(),
        })
    }

    /// An author's flags.
    pub fn flags(&self, author: &AuthorKey) -> Result<AuthorFlags, Error> {
        Ok(match self.backend.get(&key(FLAGS, &[&author.0]))? {
            Some(v) => decode("flags", &v)?,
            None => AuthorFlags::default(),
        })
    }

    /// Every flagged author.
    pub fn flagged(&self) -> Result<Vec<(AuthorKey, AuthorFlags)>, Error> {
        let mut out = Vec::new();
        self.backend.scan_prefix(&[FLAGS], &mut |k, v| {
            out.push((AuthorKey(id_at(k, 1)?.0), decode("flags", v)?));
            Ok(true)
        })?;
        Ok(out)
    }

    /// The chains stored (changed) from `from` to `until` (ms, inclusive),
    /// in storage order, after `after` (a [`Stored::cursor`]), at most
    /// `limit` (and [`MAX_CHANGES`]).
    pub fn changes(
        &self,
        from: u64,
        until: u64,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Stored>, Error> {
        let mut start = key(STORED, &[&from.to_be_bytes()]);
        if let Some(c) = after {
            let at = hex::decode(c)
                .ok()
                .filter(|k| k.len() >= 40)
                .ok_or_else(|| {
                    Error::BadArgument(format!("cursor: {c:?} is not a cursor of this store"))
                })?;
            let mut k = vec![STORED];
            k.extend_from_slice(&at);
            // Just past the entry itself.
            k.push(0);
            if k > start {
                start = k;
            }
        }
        let end = key(STORED, &[&until.saturating_add(1).to_be_bytes()]);
        if start >= end {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for (k, _) in self
            .backend
            .range(&start, &end, false, limit.min(MAX_CHANGES))?
        {
            out.push(stored_at(&k)?);
        }
        Ok(out)
    }

    /// How many chains the store holds, by kind (`practice`, `adoption`,
    /// `seeking`): one pass over the `p` keys.
    pub fn chain_counts(&self) -> Result<std::collections::BTreeMap<String, u64>, Error> {
        let mut out = std::collections::BTreeMap::new();
        self.backend.scan_prefix(&[PRACTICE], &mut |k, _| {
            let name = k.get(33..).unwrap_or_default();
            let kind = match name.iter().position(|b| *b == b'/') {
                Some(at) => String::from_utf8_lossy(&name[..at]).into_owned(),
                None => setu_core::practice::KIND.to_string(),
            };
            *out.entry(kind).or_insert(0) += 1;
            Ok(true)
        })?;
        Ok(out)
    }

    /// The earliest storage time of any chain, if any.
    pub fn earliest_change(&self) -> Result<Option<u64>, Error> {
        let first = self
            .backend
            .range(&[STORED], &prefix_end(&[STORED]), false, 1)?;
        Ok(match first.first() {
            Some((k, _)) => Some(stored_at(k)?.at),
            None => None,
        })
    }

    /// Gives every chain written before storage times existed its `u`
    /// entry, stamped `now`, once per store ([`Meta::stamped`]). Returns
    /// how many it stamped.
    ///
    /// A store that is not marked stamped may also have been written by an
    /// older version after a newer one stamped it (a downgrade): that
    /// version kept neither the chains' times nor the mark. So the `u`
    /// entries are rebuilt from the chains: every entry that does not match
    /// its chain's time is removed, and every chain without a time gets
    /// `now`.
    pub fn stamp_chains(&self, now: u64) -> Result<usize, Error> {
        let mut meta = self.meta()?;
        if meta.stamped {
            return Ok(0);
        }
        let mut entries: Vec<Vec<u8>> = Vec::new();
        self.backend.scan_prefix(&[STORED], &mut |k, _| {
            entries.push(k.to_vec());
            Ok(true)
        })?;
        let mut stale: Vec<Write> = Vec::new();
        let mut kept: u64 = 0;
        for k in entries {
            let s = stored_at(&k)?;
            let current = self
                .chain(&s.author, &s.name)?
                .is_some_and(|c| c.stored == s.at);
            if current {
                kept = kept.max(s.at);
            } else {
                stale.push((k, None));
            }
        }
        meta.stamp = meta.stamp.max(kept);
        for page in stale.chunks(STAMP_PAGE) {
            self.backend.apply(page.to_vec())?;
        }
        let mut todo: Vec<(AuthorKey, String, Chain)> = Vec::new();
        self.for_each_chain(&mut |author, name, chain| {
            if chain.stored == 0 {
                todo.push((author, name.to_string(), chain));
            }
            Ok(true)
        })?;
        let n = todo.len();
        for page in todo.chunks(STAMP_PAGE) {
            let batch = Batch {
                chains: page.to_vec(),
                meta,
                ..Batch::default()
            };
            meta = self.apply_at(batch, now)?;
        }
        meta.stamped = true;
        self.backend
            .apply(vec![(META.to_vec(), Some(encode(&meta)?))])?;
        Ok(n)
    }

    /// Writes a batch atomically and durably, stamping its chains with the
    /// clock's time ([`Chain::stored`]).
    pub fn apply(&self, batch: Batch) -> Result<(), Error> {
        self.apply_at(batch, setu_core::clock::now_ms()).map(|_| ())
    }

    /// [`Store::apply`] with the clock read as `now`; gives back the
    /// counters written.
    fn apply_at(&self, mut batch: Batch, now: u64) -> Result<Meta, Error> {
        let mut stamps: Vec<Write> = Vec::new();
        if !batch.chains.is_empty() {
            let at = now.max(batch.meta.stamp);
            batch.meta.stamp = at;
            for (author, name, chain) in &mut batch.chains {
                if chain.stored != 0 && chain.stored != at {
                    stamps.push((
                        key(
                            STORED,
                            &[&chain.stored.to_be_bytes(), &author.0, name.as_bytes()],
                        ),
                        None,
                    ));
                }
                chain.stored = at;
                stamps.push((
                    key(STORED, &[&at.to_be_bytes(), &author.0, name.as_bytes()]),
                    Some(Vec::new()),
                ));
            }
        }
        // The records' bytes first, into the value log if the backend keeps
        // one: a reference is written only once what it names is durable.
        let blocks: Vec<Vec<u8>> = batch
            .records
            .iter()
            .map(|r| lz4_flex::compress_prepend_size(&r.bytes))
            .collect();
        let stored: Vec<Vec<u8>> = match self.backend.put_values(&blocks)? {
            Some(refs) if refs.len() == blocks.len() => refs
                .into_iter()
                .map(|r| [&[IN_LOG][..], &r].concat())
                .collect(),
            Some(refs) => {
                return Err(Error::Backend(format!(
                    "the value log gave {} references for {} records",
                    refs.len(),
                    blocks.len()
                )));
            }
            None => blocks
                .into_iter()
                .map(|b| [&[LZ4][..], &b].concat())
                .collect(),
        };
        // Into the filter before the write, under its lock until the write
        // is done: a failed write leaves only false positives.
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if let Seen::Built(f) = &mut *seen {
            for r in &batch.records {
                f.insert(seen::Probe::Record(&r.id));
                f.insert(seen::Probe::Seq(&r.author, r.seq));
            }
            // A chain changed again is in already: count each once.
            for (owner, name, _) in &batch.chains {
                let probe = seen::Probe::Chain(owner, name);
                if !f.may_hold(probe) {
                    f.insert(probe);
                }
            }
        }
        let mut writes: Vec<Write> =
            Vec::with_capacity(batch.records.len() * 3 + batch.chains.len() + 1);
        for (r, value) in batch.records.into_iter().zip(stored) {
            writes.push((
                key(SEQ, &[&r.author.0, &r.seq.to_be_bytes(), &r.id.0]),
                Some(Vec::new()),
            ));
            if r.local {
                writes.push((key(LOCAL, &[&r.id.0]), Some(r.ts.to_be_bytes().to_vec())));
            } else {
                writes.push((key(TS, &[&r.ts.to_be_bytes(), &r.id.0]), Some(Vec::new())));
            }
            if r.operation {
                writes.push((key(OPERATION, &[&r.id.0]), Some(Vec::new())));
            }
            writes.push((key(RECORD, &[&r.id.0]), Some(value)));
        }
        for (author, pid, chain) in &batch.chains {
            writes.push((
                key(PRACTICE, &[&author.0, pid.as_bytes()]),
                Some(encode(chain)?),
            ));
        }
        for e in &batch.edges {
            writes.push((
                key(EDGE, &[&e.target, &e.owner.0, e.adoption_id.as_bytes()]),
                Some(e.id.0.to_vec()),
            ));
        }
        for (author, name, _) in &batch.chains {
            if let Some((kind, id)) = name.split_once('/') {
                writes.push((
                    key(
                        KIND_CHAIN,
                        &[kind.as_bytes(), &[0], &author.0, id.as_bytes()],
                    ),
                    Some(Vec::new()),
                ));
            }
        }
        for (author, flags) in &batch.flags {
            writes.push((key(FLAGS, &[&author.0]), Some(encode(flags)?)));
        }
        for m in &batch.moves {
            let ts_key = key(TS, &[&m.ts.to_be_bytes(), &m.id.0]);
            let (local, flag) = (key(LOCAL, &[&m.id.0]), key(INVALID, &[&m.id.0]));
            writes.push(match &m.from {
                Place::Items => (ts_key.clone(), None),
                Place::Local => (local.clone(), None),
                Place::Flagged(_) => (flag.clone(), None),
            });
            writes.push(match &m.to {
                Place::Items => (ts_key, Some(Vec::new())),
                Place::Local => (local, Some(m.ts.to_be_bytes().to_vec())),
                Place::Flagged(why) => (
                    flag,
                    Some(encode(&Flag {
                        ts: m.ts,
                        why: why.clone(),
                        owner: m.owner,
                    })?),
                ),
            });
        }
        writes.extend(stamps);
        writes.push((META.to_vec(), Some(encode(&batch.meta)?)));
        self.backend.apply(writes)?;
        drop(seen);
        Ok(batch.meta)
    }
}

/// Chains stamped per write batch by [`Store::stamp_chains`].
const STAMP_PAGE: usize = 1_000;

/// A `u` key read back.
fn stored_at(k: &[u8]) -> Result<Stored, Error> {
    if k.len() < 1 + 8 + 32 {
        return Err(Error::Corrupt("a storage-time entry is too short".into()));
    }
    let mut at = [0u8; 8];
    at.copy_from_slice(&k[1..9]);
    Ok(Stored {
        at: u64::from_be_bytes(at),
        author: AuthorKey(id_at(k, 9)?.0),
        name: String::from_utf8(k[41..].to_vec()).map_err(|_| {
            Error::Corrupt("a storage-time entry names a chain in bad UTF-8".into())
        })?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_round_trips_and_refuses_junk() {
        let store = Store::new(crate::backend::memory::MemoryBackend::new());
        let bytes: Vec<u8> = (0..3_000u32).map(|i| (i % 7) as u8).collect();
        let packed = pack(&bytes);
        assert!(packed.len() < bytes.len());
        assert_eq!(store.unpack(&packed).unwrap(), bytes);
        assert!(store.unpack(&[]).is_err());
        assert!(store.unpack(&[9, 1, 2]).is_err());
        assert!(
            store.unpack(&[LZ4, 0xff, 0xff, 0xff, 0x7f, 0]).is_err(),
            "absurd claimed size"
        );
        assert!(store.unpack(&[LZ4, 4, 0, 0, 0, 0xff]).is_err());
        let e = store.unpack(&[IN_LOG, 0, 0]).unwrap_err();
        assert!(e.to_string().contains("keeps none"), "{e}");
    }

    /// A damaged stored value is an error that names its record, read by
    /// id or in order.
    #[test]
    fn a_damaged_record_value_names_the_record() {
        let store = Store::new(crate::backend::memory::MemoryBackend::new());
        let id = RecordId([7; 32]);
        store
            .backend
            .apply(vec![(key(RECORD, &[&id.0]), Some(vec![9, 1, 2]))])
            .unwrap();
        let e = store.get(&id).unwrap_err();
        assert!(e.to_string().contains(&id.to_string()), "{e}");
        assert!(e.to_string().contains("unknown encoding"), "{e}");
        let e = store
            .records_in_order(&[id], &mut |_, _| Ok(true))
            .unwrap_err();
        assert!(e.to_string().contains(&id.to_string()), "{e}");
    }

    /// On sled, a record's bytes go to the value log and its `r` entry
    /// holds the reference; one stored inline (by a store of an earlier
    /// version) reads back the same.
    #[test]
    fn records_go_to_the_value_log_and_inline_ones_still_read() {
        use crate::backend::sled::SledBackend;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(SledBackend::open(dir.path(), 1 << 20, 0).unwrap());
        let id = |i: u8| RecordId([i; 32]);
        let bytes = |i: u8| vec![i; 2_000];
        let mut batch = Batch::default();
        for i in 1..=3 {
            batch.records.push(NewRecord {
                id: id(i),
                bytes: bytes(i),
                author: AuthorKey([i; 32]),
                seq: u64::from(i),
                ts: u64::from(i),
                local: false,
                operation: false,
            });
        }
        store.apply(batch).unwrap();
        let r = store
            .backend()
            .get(&key(RECORD, &[&id(2).0]))
            .unwrap()
            .unwrap();
        assert_eq!(r[0], IN_LOG);
        assert_eq!(r.len(), 1 + crate::backend::values::REF_LEN);
        assert_eq!(store.get(&id(2)).unwrap().unwrap(), bytes(2));
        // An inline value, as format 1 wrote them.
        store
            .backend()
            .apply(vec![(key(RECORD, &[&id(9).0]), Some(pack(&bytes(9))))])
            .unwrap();
        let mut seen = Vec::new();
        store
            .records_in_order(&[id(1), id(2), id(3), id(9)], &mut |id, b| {
                seen.push((id, b));
                Ok(true)
            })
            .unwrap();
        assert_eq!(seen.len(), 4);
        for (i, (got, b)) in [1u8, 2, 3, 9].into_iter().zip(seen) {
            assert_eq!((got, b.unwrap()), (id(i), bytes(i)));
        }
    }

    /// The filter grows past its first capacity without forgetting a key:
    /// keys written while it is built go in, and a full filter is built
    /// again from the store.
    #[test]
    fn the_filter_grows_and_keeps_every_key() {
        let store = Store::new(crate::backend::memory::MemoryBackend::new());
        let author = AuthorKey([3; 32]);
        let id = |i: u64| {
            use sha2::Digest;
            RecordId(sha2::Sha256::digest(i.to_be_bytes()).into())
        };
        assert!(
            !store.may_hold(seen::Probe::Record(&id(0))).unwrap(),
            "empty"
        );
        // Two keys per record: past the least capacity after about 33,000.
        let n = seen::MIN_CAPACITY as u64 / 2 + 5_000;
        let mut meta = store.meta().unwrap();
        for page in (0..n).collect::<Vec<_>>().chunks(4_096) {
            meta.records += page.len() as u64;
            let batch = Batch {
                records: page
                    .iter()
                    .map(|&i| NewRecord {
                        id: id(i),
                        bytes: vec![1],
                        author,
                        seq: i,
                        ts: i,
                        local: false,
                        operation: false,
                    })
                    .collect(),
                chains: vec![(author, format!("P-{}", page[0]), Chain::default())],
                meta,
                ..Batch::default()
            };
            store.apply(batch).unwrap();
        }
        assert!(matches!(&*store.seen.lock().unwrap(), Seen::Built(f) if f.is_full()));
        assert!(store.may_hold(seen::Probe::Record(&id(n - 1))).unwrap());
        let rebuilt = match &*store.seen.lock().unwrap() {
            Seen::Built(f) => f.clone(),
            _ => panic!("built"),
        };
        assert!(!rebuilt.is_full() && rebuilt.keys() as u64 >= 2 * n);
        for i in 0..n {
            assert!(store.may_hold(seen::Probe::Record(&id(i))).unwrap());
            assert!(store.may_hold(seen::Probe::Seq(&author, i)).unwrap());
        }
        assert!(
            store
                .may_hold(seen::Probe::Chain(&author, "P-4096"))
                .unwrap()
        );
        let strangers = (n..n + 10_000)
            .filter(|&i| store.may_hold(seen::Probe::Record(&id(i))).unwrap())
            .count();
        assert!(
            strangers < 500,
            "{strangers} of 10,000 unknown ids said maybe"
        );
    }

    /// A damaged `s` key turns the filter off instead of failing every
    /// ingest: every read is made, so the answers stay right.
    #[test]
    fn a_damaged_key_turns_the_filter_off() {
        let store = Store::new(crate::backend::memory::MemoryBackend::new());
        store
            .backend()
            .apply(vec![(vec![SEQ, 1, 2, 3], Some(Vec::new()))])
            .unwrap();
        let id = RecordId([7; 32]);
        assert!(store.may_hold(seen::Probe::Record(&id)).unwrap());
        assert!(matches!(&*store.seen.lock().unwrap(), Seen::Off));
        assert!(!store.contains(&id).unwrap());
    }

    /// Both ways of reading records in order (one scan for a dense set of
    /// ids, point reads for a sparse one) give every id asked for, in
    /// order, missing ones as `None`, and stop when told to.
    #[test]
    fn records_in_order_scans_or_reads_and_reports_missing() {
        let store = Store::new(crate::backend::memory::MemoryBackend::new());
        let n = SCAN_CHUNK * 3 + 7;
        let id = |i: usize| {
            let mut b = [0u8; 32];
            b[..8].copy_from_slice(&(i as u64 * 2).to_be_bytes());
            RecordId(b)
        };
        let mut writes: Vec<Write> = (0..n)
            .map(|i| (key(RECORD, &[&id(i).0]), Some(pack(&[i as u8; 40]))))
            .collect();
        let meta = Meta {
            records: n as u64,
            ..Meta::default()
        };
        writes.push((META.to_vec(), Some(encode(&meta).unwrap())));
        store.backend().apply(writes).unwrap();
        // An odd id sits between two stored ones, and is not stored.
        let absent = |i: usize| {
            let mut b = id(i).0;
            b[7] += 1;
            RecordId(b)
        };
        let dense: Vec<RecordId> = (0..n)
            .step_by(2)
            .flat_map(|i| [id(i), absent(i)])
            .chain([absent(n + 5)])
            .collect();
        let sparse: Vec<RecordId> = vec![absent(0), id(3), id(n - 1), absent(n + 5)];
        assert!(dense.len() as u64 * SCAN_DENSITY >= n as u64);
        assert!((sparse.len() as u64) * SCAN_DENSITY < n as u64);
        for ids in [&dense, &sparse] {
            let mut seen = Vec::new();
            store
                .records_in_order(ids, &mut |id, bytes| {
                    seen.push((id, bytes));
                    Ok(true)
                })
                .unwrap();
            assert_eq!(seen.len(), ids.len());
            for ((got, bytes), want) in seen.iter().zip(ids.iter()) {
                assert_eq!(got, want);
                let stored = u64::from_be_bytes(want.0[..8].try_into().unwrap());
                match bytes {
                    Some(b) => {
                        assert_eq!(stored % 2, 0);
                        assert_eq!(b, &vec![(stored / 2) as u8; 40]);
                    }
                    None => assert!(stored % 2 == 1 || stored / 2 >= n as u64),
                }
            }
            let mut calls = 0;
            store
                .records_in_order(ids, &mut |_, _| {
                    calls += 1;
                    Ok(calls < 3)
                })
                .unwrap();
            assert_eq!(calls, 3, "stops when told");
        }
    }
}
