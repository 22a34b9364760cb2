//! Ingest: decode → verify (in batches) → validate → ownership and chain
//! rules → one atomic write ([`spec/store.md` §4](../../../spec/store.md)).
//!
//! Idempotent: a record already stored costs one lookup and is reported as a
//! duplicate. A refused record changes nothing. The reads a new record
//! would make for nothing (its id, its seq, its chain) are skipped when the
//! store's filter ([`crate::seen`]) says the store certainly lacks them.

use std::collections::{HashMap, HashSet};

use setu_core::ids::{AuthorKey, RecordId};
use setu_core::record::{self, RecordError};

use crate::Error;
use crate::backend::Backend;
use crate::chain::{Chain, Entry, MAX_CHAIN_ENTRIES};
use crate::seen::Probe;
use crate::store::{AuthorFlags, Batch, Edge, MAX_FLAGGED_PRACTICES, NewRecord, Store};

/// How far in the future a record's `ts` may be, by default: 10 minutes.
pub const DEFAULT_MAX_FUTURE_SKEW_MS: u64 = 10 * 60 * 1000;
/// Most records one ingest call takes; callers split larger inputs.
pub const MAX_BATCH: usize = 4_096;

/// Ingest settings.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Records whose `ts` is more than this ahead of `now` are refused (and
    /// may be accepted later).
    pub max_future_skew_ms: u64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_future_skew_ms: DEFAULT_MAX_FUTURE_SKEW_MS,
        }
    }
}

/// Why a record was not stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// It failed the stateless check of `spec/record.md` §7.
    #[error("{0}")]
    Invalid(RecordError),
    /// Its `ts` is too far in the future; it may be accepted later.
    #[error(
        "ts {ts} is more than {skew_ms} ms ahead of this node's clock ({now}); try again later"
    )]
    Future {
        /// The record's ts.
        ts: u64,
        /// This node's clock.
        now: u64,
        /// The allowed skew.
        skew_ms: u64,
    },
    /// `supersedes` names a stored record that is not the previous revision
    /// of this practice by this author.
    #[error("body.supersedes: {0}")]
    Chain(String),
    /// The chain was withdrawn, and withdrawal is final. `practice_id` is
    /// the chain's name ([`crate::chain::name`]).
    #[error("{} was withdrawn at revision {revision}; withdrawal is final", crate::chain::label(.practice_id))]
    Withdrawn {
        /// The practice.
        practice_id: String,
        /// The withdrawal's revision.
        revision: u64,
    },
    /// The practice already holds [`MAX_CHAIN_ENTRIES`] records.
    #[error("{} already holds {MAX_CHAIN_ENTRIES} revision records", crate::chain::label(.0))]
    ChainFull(String),
    /// Too many records in one call.
    #[error("more than {MAX_BATCH} records in one batch")]
    BatchTooLarge,
    /// Its key is no member's yet (`spec/membership.md` §8.1): held in
    /// quarantine, not stored, until the network admits it.
    #[error("its key is no member's key of this network (yet); held in quarantine, not stored")]
    Quarantined,
    /// Its key is no member's yet and the quarantine is full.
    #[error("its key is no member's key of this network (yet), and the quarantine is full")]
    QuarantineFull,
    /// The network's membership makes it invalid (`spec/membership.md`
    /// §6.1): revoked, sealed, out of a delegate's scope or expired.
    #[error("invalid under this network's membership: {0}")]
    Membership(&'static str),
}

impl Refusal {
    /// A short stable code: the reason code of `spec/record.md` for invalid
    /// records, else `future`, `chain`, `withdrawn`, `chain_full`, `batch`.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Invalid(e) => e.reason.code(),
            Refusal::Future { .. } => "future",
            Refusal::Chain(_) => "chain",
            Refusal::Withdrawn { .. } => "withdrawn",
            Refusal::ChainFull(_) => "chain_full",
            Refusal::BatchTooLarge => "batch",
            Refusal::Quarantined => "quarantined",
            Refusal::QuarantineFull => "quarantine_full",
            Refusal::Membership(_) => "membership",
        }
    }
}

/// What happened to one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Stored now.
    Stored {
        /// Its id.
        id: RecordId,
        /// True if it equivocates: another record by its author has the
        /// same `seq` or the same practice revision.
        equivocation: bool,
    },
    /// Already stored; nothing written.
    Duplicate(RecordId),
    /// Stored and shown on this node only, by local policy (a trusted key
    /// no member holds, `spec/membership.md` §9): never relayed.
    Local(RecordId),
    /// Not stored.
    Refused {
        /// Its id, when the record could be parsed that far.
        id: Option<RecordId>,
        /// Why.
        why: Refusal,
    },
}

impl Outcome {
    /// True for [`Outcome::Stored`].
    pub fn is_stored(&self) -> bool {
        matches!(self, Outcome::Stored { .. })
    }
}

/// The result of one ingest call.
#[derive(Debug, Default)]
pub struct Ingested {
    /// One outcome per input record, in order.
    pub outcomes: Vec<Outcome>,
    /// Practices whose chain changed: the search index must see them.
    pub touched: Vec<(AuthorKey, String)>,
    /// `(ts, id)` of each record stored, in input order: what a cached
    /// list of the store's items must add (records kept locally are not
    /// items).
    pub stored: Vec<(u64, RecordId)>,
    /// `(ts, id)` of each stored record a membership change took out of
    /// the items (`spec/membership.md` §8.1): flagged invalid, or kept
    /// locally only.
    pub invalidated: Vec<(u64, RecordId)>,
    /// `(ts, id)` of each stored record a membership change put in the
    /// items: valid again, or valid now after being kept locally.
    pub revalidated: Vec<(u64, RecordId)>,
}

/// Checks and stores a batch of signed records in one atomic write.
///
/// `now` is this node's clock in milliseconds since the Unix epoch.
pub fn ingest<B: Backend>(
    store: &Store<B>,
    records: Vec<Vec<u8>>,
    now: u64,
    cfg: &Config,
) -> Result<Ingested, Error> {
    if records.len() > MAX_BATCH {
        return Ok(too_many(records.len()));
    }
    ingest_checked(store, record::check_batch_ids(records), now, cfg)
}

/// [`ingest`] for records already decoded ([`record::parse`], as the
/// node's state machine decodes what peers send): the check is finished
/// on them (key, signatures in one batch, body), never decoded again.
pub fn ingest_parsed<B: Backend>(
    store: &Store<B>,
    records: Vec<record::Parsed>,
    now: u64,
    cfg: &Config,
) -> Result<Ingested, Error> {
    if records.len() > MAX_BATCH {
        return Ok(too_many(records.len()));
    }
    ingest_checked(store, finish_parsed(records), now, cfg)
}

/// The stateless check finished on decoded records, each with its id.
pub fn finish_parsed(
    records: Vec<record::Parsed>,
) -> Vec<(Option<RecordId>, Result<record::Record, RecordError>)> {
    let ids: Vec<RecordId> = records.iter().map(record::Parsed::id).collect();
    record::check_parsed(records)
        .into_iter()
        .zip(ids)
        .map(|(r, id)| (Some(id), r))
        .collect()
}

fn too_many(n: usize) -> Ingested {
    Ingested {
        outcomes: (0..n)
            .map(|_| Outcome::Refused {
                id: None,
                why: Refusal::BatchTooLarge,
            })
            .collect(),
        ..Ingested::default()
    }
}

/// One record's stateless check: its id, if it decoded that far, and the
/// record or why it is invalid.
pub type Checked = (Option<RecordId>, Result<record::Record, RecordError>);

/// Runs `check` on each batch of `records` ([`MAX_BATCH`] at most) and
/// `store` on the result, batch after batch in order, checking the next
/// batch on a second thread while this one is stored: the stateless check
/// (decode, signatures, body) and the store's rules and writes are each
/// about half of ingest's time, and a node has two cores or more. One
/// batch runs on this thread alone. Stops at the first error `store`
/// returns (the batch being checked then is dropped).
pub fn pipelined<T: Send, C: Send, E>(
    records: Vec<T>,
    check: fn(Vec<T>) -> C,
    mut store: impl FnMut(C) -> Result<(), E>,
) -> Result<(), E> {
    let mut batches = Vec::with_capacity(records.len().div_ceil(MAX_BATCH));
    let mut rest = records;
    while !rest.is_empty() {
        let tail = rest.split_off(rest.len().min(MAX_BATCH));
        batches.push(rest);
        rest = tail;
    }
    let mut batches = batches.into_iter();
    let mut checked = match batches.next() {
        Some(first) => check(first),
        None => return Ok(()),
    };
    loop {
        let Some(upcoming) = batches.next() else {
            return store(checked);
        };
        let upcoming = std::sync::Mutex::new(Some(upcoming));
        let take = || upcoming.lock().unwrap_or_else(|p| p.into_inner()).take();
        let next = std::thread::scope(|s| {
            let next = std::thread::Builder::new()
                .name("setu-check".into())
                .spawn_scoped(s, move || take().map(check))
                .ok();
            store(checked)?;
            Ok(match next.map(|h| h.join()) {
                Some(Ok(Some(next))) => next,
                Some(Err(panic)) => std::panic::resume_unwind(panic),
                // No thread to be had: checked after storing, on this one.
                Some(Ok(None)) | None => check(take().unwrap_or_default()),
            })
        })?;
        checked = next;
    }
}

/// [`ingest`] for records already through the stateless check of
/// `spec/record.md` §7 (decoded and verified), as a simulator that shares
/// one verification among many stores passes them. Each input is the
/// check's result for one record, with its id if it decoded that far.
pub fn ingest_checked<B: Backend>(
    store: &Store<B>,
    checked: Vec<Checked>,
    now: u64,
    cfg: &Config,
) -> Result<Ingested, Error> {
    ingest_gated(store, checked, now, cfg, Gate::Open)
}

/// The membership rule [`ingest_gated`] applies.
pub enum Gate<'a> {
    /// An open network: every valid record is its author's, and a
    /// withdrawal is final (`spec/store.md` §4 step 5).
    Open,
    /// A chartered network (`spec/membership.md` §8): the function refuses
    /// a record or accepts it, and revisions above a withdrawal are held,
    /// since a revocation may yet invalidate the withdrawal.
    Chartered(&'a mut dyn FnMut(&record::Record) -> Result<Accept, Refusal>),
}

/// How a chartered network's gate accepts a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accept {
    /// The owner of its practice chains: its member's first key.
    pub owner: AuthorKey,
    /// Kept on this node only, by local policy: stored and shown, never
    /// reconciled or relayed.
    pub local: bool,
}

impl std::fmt::Debug for Gate<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Gate::Open => "Open",
            Gate::Chartered(_) => "Chartered",
        })
    }
}

/// [`ingest_checked`] with one more rule, `gate`, asked of each record
/// that is neither invalid nor a duplicate: membership
/// (`spec/membership.md` §8), for a replica of a chartered network. The
/// gate refuses a record, or names the **owner** of its practice chains:
/// its author in an open network, its member (by the member's first key)
/// in a chartered one, so a rotated or recovered key, or a delegate,
/// continues its member's chains (`spec/membership.md` §8.5).
pub fn ingest_gated<B: Backend>(
    store: &Store<B>,
    checked: Vec<(Option<RecordId>, Result<record::Record, RecordError>)>,
    now: u64,
    cfg: &Config,
    mut gate: Gate<'_>,
) -> Result<Ingested, Error> {
    let hold_above_withdrawal = matches!(gate, Gate::Chartered(_));
    let records = checked;
    if records.len() > MAX_BATCH {
        return Ok(too_many(records.len()));
    }
    let mut meta = store.meta()?;
    meta.change += 1;
    let mut batch = Batch::default();
    let mut outcomes = Vec::with_capacity(records.len());
    let mut in_batch: HashSet<RecordId> = HashSet::new();
    let mut seqs_in_batch: HashSet<(AuthorKey, u64)> = HashSet::new();
    let mut chains: HashMap<(AuthorKey, String), Chain> = HashMap::new();
    let mut flags: HashMap<AuthorKey, AuthorFlags> = HashMap::new();

    for (decoded_id, checked) in records {
        let rec = match checked {
            Ok(rec) => rec,
            Err(e) => {
                outcomes.push(Outcome::Refused {
                    id: decoded_id,
                    why: Refusal::Invalid(e),
                });
                continue;
            }
        };
        let id = rec.id();
        if in_batch.contains(&id) || (store.may_hold(Probe::Record(&id))? && store.contains(&id)?) {
            outcomes.push(Outcome::Duplicate(id));
            continue;
        }
        let judged = match &mut gate {
            Gate::Open => Ok(Accept {
                owner: rec.envelope().author,
                local: false,
            }),
            Gate::Chartered(f) => f(&rec),
        };
        let Accept { owner, local } = match judged {
            Ok(a) => a,
            Err(why) => {
                outcomes.push(Outcome::Refused { id: Some(id), why });
                continue;
            }
        };
        let env = rec.envelope();
        if env.ts > now.saturating_add(cfg.max_future_skew_ms) {
            outcomes.push(Outcome::Refused {
                id: Some(id),
                why: Refusal::Future {
                    ts: env.ts,
                    now,
                    skew_ms: cfg.max_future_skew_ms,
                },
            });
            continue;
        }
        let author = env.author;
        let mut equivocation = seqs_in_batch.contains(&(author, env.seq))
            || (store.may_hold(Probe::Seq(&author, env.seq))?
                && !store.ids_at_seq(&author, env.seq)?.is_empty());
        let mut flagged_practice = None;

        if let Some(l) = rec.lifecycle() {
            let name = crate::chain::name(l.kind, l.id);
            let k = (owner, name.clone());
            if !chains.contains_key(&k) {
                let loaded = match store.may_hold(Probe::Chain(&owner, &name))? {
                    true => store.chain(&owner, &name)?.unwrap_or_default(),
                    false => Chain::default(),
                };
                chains.insert(k.clone(), loaded);
            }
            let chain = chains.get(&k).cloned().unwrap_or_default();
            if let Some(why) =
                chain_refusal(store, &chain, &in_batch, &rec, &l, hold_above_withdrawal)?
            {
                outcomes.push(Outcome::Refused { id: Some(id), why });
                continue;
            }
            if chain
                .entries
                .iter()
                .any(|e| !e.invalid && e.revision == l.revision)
            {
                equivocation = true;
                flagged_practice = Some(name.clone());
            }
            let mut chain = chain;
            chain.insert(Entry {
                revision: l.revision,
                id,
                supersedes: l.supersedes,
                withdrawal: l.withdrawal,
                ts: env.ts,
                invalid: false,
            });
            chain.change = meta.change;
            chains.insert(k, chain);
        }
        if let Some(target) = rec.adoption().and_then(crate::graph::target_of) {
            batch.edges.push(Edge {
                target,
                id,
                owner,
                adoption_id: rec
                    .adoption()
                    .map(|a| a.adoption_id.clone())
                    .unwrap_or_default(),
            });
        }

        if equivocation {
            // Flagged per publisher: the member in a chartered network,
            // whichever of its keys or delegates equivocated.
            let f = match flags.get(&owner) {
                Some(f) => f.clone(),
                None => store.flags(&owner)?,
            };
            let mut f = f;
            f.equivocations += 1;
            if let Some(pid) = flagged_practice
                && !f.practices.contains(&pid)
                && f.practices.len() < MAX_FLAGGED_PRACTICES
            {
                f.practices.push(pid);
            }
            flags.insert(owner, f);
        }
        in_batch.insert(id);
        seqs_in_batch.insert((author, env.seq));
        batch.records.push(NewRecord {
            id,
            author,
            seq: env.seq,
            ts: env.ts,
            operation: env.kind == setu_member::op::KIND,
            bytes: rec.into_bytes(),
            local,
        });
        outcomes.push(match local {
            true => Outcome::Local(id),
            false => Outcome::Stored { id, equivocation },
        });
    }

    if batch.records.is_empty() {
        return Ok(Ingested {
            outcomes,
            ..Ingested::default()
        });
    }
    meta.records += batch.records.len() as u64;
    let touched: Vec<(AuthorKey, String)> = chains
        .iter()
        .filter(|(_, c)| c.change == meta.change)
        .map(|(k, _)| k.clone())
        .collect();
    batch.chains = chains
        .into_iter()
        .filter(|(_, c)| c.change == meta.change)
        .map(|((a, p), c)| (a, p, c))
        .collect();
    batch.flags = flags.into_iter().collect();
    batch.meta = meta;
    let stored = batch
        .records
        .iter()
        .filter(|r| !r.local)
        .map(|r| (r.ts, r.id))
        .collect();
    store.apply(batch)?;
    Ok(Ingested {
        outcomes,
        touched,
        stored,
        ..Ingested::default()
    })
}

/// The chain rules of `spec/store.md` §4 (steps 4 to 6) for one record of
/// a chained kind.
fn chain_refusal<B: Backend>(
    store: &Store<B>,
    chain: &Chain,
    in_batch: &HashSet<RecordId>,
    rec: &record::Record,
    l: &record::Lifecycle<'_>,
    hold_above_withdrawal: bool,
) -> Result<Option<Refusal>, Error> {
    let name = || crate::chain::name(l.kind, l.id);
    // Entries flagged invalid by membership are treated as not held
    // (spec/store.md §2), so nodes that never stored them judge alike; a
    // hard cap on all entries still bounds the chain.
    let held = chain.entries.iter().filter(|e| !e.invalid).count();
    if held >= MAX_CHAIN_ENTRIES || chain.entries.len() >= 4 * MAX_CHAIN_ENTRIES {
        return Ok(Some(Refusal::ChainFull(name())));
    }
    if let Some(target) = l.supersedes {
        let found = chain.entry(&target);
        let flagged = found.is_some_and(|e| e.invalid);
        match found.filter(|_| !flagged) {
            Some(prev) if prev.revision + 1 != l.revision => {
                return Ok(Some(Refusal::Chain(format!(
                    "{} is revision {} of this {}, so the next revision is {}, not {}",
                    target.short(),
                    prev.revision,
                    l.kind,
                    prev.revision + 1,
                    l.revision
                ))));
            }
            Some(_) => {}
            // A flagged target is as if not held: the record is held.
            None if flagged => {}
            None if in_batch.contains(&target)
                || (store.may_hold(Probe::Record(&target))?
                    && store.contains(&target)?
                    && store.invalid(&target)?.is_none()) =>
            {
                return Ok(Some(Refusal::Chain(format!(
                    "{} is not a revision of {} by the same publisher as {}",
                    target.short(),
                    crate::chain::label(&name()),
                    rec.envelope().author
                ))));
            }
            // Unknown: held until it arrives.
            None => {}
        }
    }
    let state = chain.state();
    if state.withdrawn && !hold_above_withdrawal {
        let w = state.linked.last().map_or(0, |e| e.revision);
        if l.revision > w {
            return Ok(Some(Refusal::Withdrawn {
                practice_id: name(),
                revision: w,
            }));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn double(batch: Vec<u32>) -> Vec<u32> {
        batch.into_iter().map(|x| x * 2).collect()
    }

    #[test]
    fn pipelined_keeps_order_and_stops_at_the_first_error() {
        let n = (MAX_BATCH * 3 + 5) as u32;
        let mut seen = Vec::new();
        let mut sizes = Vec::new();
        pipelined((0..n).collect(), double, |b| {
            sizes.push(b.len());
            seen.extend(b);
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(seen, (0..n).map(|x| x * 2).collect::<Vec<_>>());
        assert_eq!(sizes, [MAX_BATCH, MAX_BATCH, MAX_BATCH, 5]);

        let mut calls = 0;
        let r = pipelined((0..n).collect(), double, |_| {
            calls += 1;
            if calls == 2 { Err("full") } else { Ok(()) }
        });
        assert_eq!((r, calls), (Err("full"), 2));
        let mut none = 0;
        pipelined(Vec::new(), double, |_| {
            none += 1;
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(none, 0);
    }
}
