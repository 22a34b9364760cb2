//! Membership records in the replica ([`spec/membership.md`](../../../spec/membership.md)):
//! the operations held, the member set computed from them, and signing
//! new operations with this node's key.
//!
//! Membership operations are records of kind `"member"`; the store keeps
//! them like any record. The view is computed from every one held, so it
//! is the same on every node holding the same records.
//!
//! A replica given its network's charter ([`Replica::set_charter`])
//! accepts by membership (`spec/membership.md` §8.1): a record whose key is
//! a member's (or a delegate's, in scope) is stored; one whose key is no
//! member's yet waits in a bounded [`Quarantine`] in memory, and is stored
//! when the operations that admit its key are; one the membership makes
//! invalid is refused. A stored record that a later operation makes
//! invalid (a revocation, a recovery's or removal's seal, an
//! undelegation) is **flagged**: its bytes stay for audit, it leaves the
//! reconciliation items and its practice chain passes over it, so queries
//! and exports no longer show it and a withdrawal it made is undone
//! ([`sweep`]).

use std::collections::{BTreeMap, HashMap, HashSet};

use setu_core::ids::{AuthorKey, RecordId};
use setu_core::keys::SecretKey;
use setu_core::record::{self, Record, RecordError};
use setu_member::charter::Sealed;
use setu_member::op::{self, Body, Op, Signed};
use setu_member::view::{Subject, Validity, View};

use crate::Error;
use crate::backend::Backend;
use crate::chain::Chain;
use crate::ingest::{self, Accept, Gate, Ingested, Outcome, Refusal};
use crate::replica::{PublishError, Replica};
use crate::store::{Batch, Move, Place, Store};

/// Most records held in quarantine for one key (`spec/membership.md` §8.3).
pub const MAX_QUARANTINE_PER_KEY: usize = 256;
/// Most records held in quarantine in all.
pub const MAX_QUARANTINE_RECORDS: usize = 16_384;
/// Most bytes held in quarantine in all.
pub const MAX_QUARANTINE_BYTES: usize = 64 * 1024 * 1024;
/// Longest stay in quarantine, by this node's clock from receipt (7 days).
pub const QUARANTINE_TTL_MS: u64 = 7 * 24 * 3_600_000;

/// A record in quarantine, with what its validity needs, so a membership
/// change does not decode it again.
#[derive(Debug)]
struct Held {
    author: AuthorKey,
    seq: u64,
    ts: u64,
    kind: String,
    practice_id: Option<String>,
    received: u64,
    bytes: Vec<u8>,
}

/// Records whose key is no member's yet, held in memory until membership
/// admits the key, bounded per key, in count, in bytes and in time.
#[derive(Debug, Default)]
pub struct Quarantine {
    records: BTreeMap<RecordId, Held>,
    per_key: HashMap<AuthorKey, usize>,
    bytes: usize,
}

impl Quarantine {
    /// Holds a record; false if a bound would be passed (it is then
    /// refused, and may come back by sync).
    pub fn hold(&mut self, rec: &Record, now: u64) -> bool {
        self.expire(now);
        let author = rec.envelope().author;
        if self.records.contains_key(&rec.id()) {
            return true;
        }
        let n = self.per_key.get(&author).copied().unwrap_or(0);
        if n >= MAX_QUARANTINE_PER_KEY
            || self.records.len() >= MAX_QUARANTINE_RECORDS
            || self.bytes + rec.bytes().len() > MAX_QUARANTINE_BYTES
        {
            return false;
        }
        self.per_key.insert(author, n + 1);
        self.bytes += rec.bytes().len();
        let env = rec.envelope();
        self.records.insert(
            rec.id(),
            Held {
                author,
                seq: env.seq,
                ts: env.ts,
                kind: env.kind.clone(),
                practice_id: rec.practice().map(|p| p.practice_id.clone()),
                received: now,
                bytes: rec.bytes().to_vec(),
            },
        );
        true
    }

    /// Drops what stayed longer than [`QUARANTINE_TTL_MS`].
    pub fn expire(&mut self, now: u64) {
        let old: Vec<RecordId> = self
            .records
            .iter()
            .filter(|(_, h)| now.saturating_sub(h.received) > QUARANTINE_TTL_MS)
            .map(|(id, _)| *id)
            .collect();
        for id in old {
            self.remove(&id);
        }
    }

    fn remove(&mut self, id: &RecordId) -> Option<Vec<u8>> {
        let h = self.records.remove(id)?;
        self.bytes -= h.bytes.len();
        if let Some(n) = self.per_key.get_mut(&h.author) {
            *n -= 1;
            if *n == 0 {
                self.per_key.remove(&h.author);
            }
        }
        Some(h.bytes)
    }

    /// Records held.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True if it holds none.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

/// A chartered replica's membership: the operations it stored, the view
/// computed from them, and its quarantine.
#[derive(Debug)]
pub struct Membership {
    charter: Sealed,
    ops: Vec<Signed>,
    view: View,
    quarantine: Quarantine,
    policy: Policy,
    /// Times the view changed since this was made.
    changes: u64,
    /// XOR of a hash of each operation id held: the order-free, incremental
    /// part of the sweep fingerprint.
    ops_hash: [u8; 32],
    /// A sweep failed part way: the next ingest heals first.
    dirty: bool,
}

/// Most entries in each list of a [`Policy`].
pub const MAX_POLICY_ENTRIES: usize = 256;

/// This node's local policy (`spec/membership.md` §9): what it shows,
/// never what it relays or refuses for others.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// Members (by id) whose records this node does not show in queries,
    /// facets and exports. It still stores and relays them.
    pub mute: Vec<String>,
    /// Keys no member holds whose records this node keeps and shows
    /// anyway, on this node only: never reconciled or relayed, and judged
    /// by membership again if the network admits (or voids) the key.
    pub trust: Vec<AuthorKey>,
}

impl Policy {
    /// Problems with the lists, each naming its field.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (name, n) in [
            ("policy.mute", self.mute.len()),
            ("policy.trust", self.trust.len()),
        ] {
            if n > MAX_POLICY_ENTRIES {
                out.push(format!("{name}: {n} entries; at most {MAX_POLICY_ENTRIES}"));
            }
        }
        out
    }
}

impl Membership {
    /// The membership of `charter`'s network given the operations a store
    /// holds ([`Replica::operations`]).
    pub fn new(charter: Sealed, ops: Vec<Signed>) -> Membership {
        Membership::with_policy(charter, ops, Policy::default())
    }

    /// [`Membership::new`] with this node's local policy.
    pub fn with_policy(charter: Sealed, ops: Vec<Signed>, policy: Policy) -> Membership {
        let view = View::compute(&charter, &ops);
        let mut ops_hash = [0; 32];
        let mut seen = HashSet::new();
        for o in &ops {
            if seen.insert(o.id) {
                mix(&mut ops_hash, &o.id);
            }
        }
        Membership {
            charter,
            ops,
            view,
            quarantine: Quarantine::default(),
            policy,
            changes: 0,
            ops_hash,
            dirty: false,
        }
    }

    /// The local policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The first keys of the members the policy mutes (those the view
    /// knows).
    pub fn muted(&self) -> Vec<AuthorKey> {
        self.policy
            .mute
            .iter()
            .filter_map(|m| self.view.first_key(m))
            .collect()
    }

    /// Ingests one checked batch, each record through §8.1's rule under the
    /// view of the operations stored and those in the batch. Returns
    /// whether the stored operations changed the view.
    pub fn ingest<B: Backend>(
        &mut self,
        store: &Store<B>,
        checked: Vec<(Option<RecordId>, Result<Record, RecordError>)>,
        now: u64,
        cfg: &ingest::Config,
    ) -> Result<(Ingested, bool), Error> {
        // Operations the store will not refuse for their date: only those
        // may judge the batch's other records.
        let latest = now.saturating_add(cfg.max_future_skew_ms);
        let batch_ops: Vec<Signed> = checked
            .iter()
            .filter_map(|(_, r)| r.as_ref().ok())
            .filter(|r| r.envelope().ts <= latest)
            .filter_map(Signed::from_record)
            .filter_map(Result::ok)
            .collect();
        // A sweep that failed part way is finished first.
        let healed = match self.dirty {
            true => Some(self.heal(store)?),
            false => None,
        };
        self.dirty = false;
        let Membership {
            charter,
            ops,
            view,
            quarantine,
            policy,
            changes,
            ops_hash,
            dirty,
        } = self;
        // Operations arriving together judge one another: a batch that
        // admits a member carries its first records too.
        let tentative =
            (!batch_ops.is_empty()).then(|| View::compute(charter, ops.iter().chain(&batch_ops)));
        let judge: &View = tentative.as_ref().unwrap_or(view);
        let mut gate = |rec: &Record| {
            let author = rec.envelope().author;
            match judge.validity(&Subject::of(rec)) {
                // A member's chains are its own, whichever of its keys (or
                // delegates) signs: keyed by its first key.
                Validity::Valid { member, .. } => Ok(Accept {
                    owner: judge.first_key(&member).unwrap_or(author),
                    local: false,
                }),
                // A key this node trusts by local policy: kept and shown
                // here, never relayed.
                Validity::Quarantined if policy.trust.contains(&author) => Ok(Accept {
                    owner: author,
                    local: true,
                }),
                Validity::Quarantined if quarantine.hold(rec, now) => Err(Refusal::Quarantined),
                Validity::Quarantined => Err(Refusal::QuarantineFull),
                Validity::Invalid(why) => Err(Refusal::Membership(why.as_str())),
            }
        };
        let mut done = ingest::ingest_gated(store, checked, now, cfg, Gate::Chartered(&mut gate))?;
        // Operations kept locally (a trusted key's) count like stored ones:
        // the nodes that do not trust the key store them once it is
        // admitted, and count them then.
        let stored: HashSet<RecordId> = done
            .outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::Stored { id, .. } | Outcome::Local(id) => Some(*id),
                _ => None,
            })
            .collect();
        let (before, offered) = (ops.len(), batch_ops.len());
        for o in batch_ops.into_iter().filter(|o| stored.contains(&o.id)) {
            mix(ops_hash, &o.id);
            ops.push(o);
        }
        let added = ops.len() - before;
        let mut changed = false;
        if added > 0 {
            // When every operation of the batch was stored, the view that
            // judged the batch is the view of what is stored now.
            let next = match tentative {
                Some(t) if added == offered => t,
                _ => View::compute(charter, ops.iter()),
            };
            let before = std::mem::replace(view, next);
            // Records stored under the view before that this one judges
            // otherwise are moved (§8.1); only a change of what validity
            // reads counts as a change of the rules.
            let keys = view.changed_keys(&before);
            changed = !keys.is_empty();
            if changed {
                *changes += 1;
            }
            let fp = fingerprint(ops_hash, policy);
            *dirty = true;
            let swept = sweep(store, view, policy, Some(&before), &keys, fp)?;
            *dirty = false;
            swept.into(&mut done);
        }
        if let Some(h) = healed {
            done.touched.extend(h.touched);
            done.invalidated.extend(h.invalidated);
            done.revalidated.extend(h.revalidated);
        }
        Ok((done, changed))
    }

    /// Brings the places of stored records up to this view and policy if
    /// the last sweep was of another set of operations or another trust
    /// list: after a crash or a failure during a sweep, or when the
    /// operator changed `policy.trust`. Looks at every record of every key
    /// the view knows or an operation names, every trusted key, and every
    /// key with records kept locally. (Records of keys no operation ever
    /// named cannot be in a chartered store, §8.1: they were never valid.)
    pub fn heal<B: Backend>(&self, store: &Store<B>) -> Result<Ingested, Error> {
        let mut done = Ingested::default();
        let fp = fingerprint(&self.ops_hash, &self.policy);
        if store.meta()?.swept != Some(fp) {
            let mut keys = self.view.known_keys();
            keys.extend(self.view.named_keys().copied());
            keys.extend(self.policy.trust.iter().copied());
            keys.extend(store.local_authors()?);
            let keys: Vec<(AuthorKey, u64)> = keys.into_iter().map(|k| (k, 0)).collect();
            sweep(store, &self.view, &self.policy, None, &keys, fp)?.into(&mut done);
        }
        Ok(done)
    }

    /// Takes out of quarantine every record the current view makes valid
    /// (to be stored) and drops those it makes invalid.
    pub fn release(&mut self, now: u64) -> Vec<Vec<u8>> {
        self.quarantine.expire(now);
        let mut out = Vec::new();
        let decided: Vec<(RecordId, bool)> = self
            .quarantine
            .records
            .iter()
            .filter_map(|(id, h)| {
                let subject = Subject {
                    id: *id,
                    author: h.author,
                    seq: h.seq,
                    ts: h.ts,
                    kind: &h.kind,
                    practice_id: h.practice_id.as_deref(),
                };
                match self.view.validity(&subject) {
                    Validity::Quarantined => None,
                    Validity::Valid { .. } => Some((*id, true)),
                    Validity::Invalid(_) => Some((*id, false)),
                }
            })
            .collect();
        for (id, valid) in decided {
            let bytes = self.quarantine.remove(&id);
            if valid {
                out.extend(bytes);
            }
        }
        out
    }

    /// The view.
    pub fn view(&self) -> &View {
        &self.view
    }

    /// The owner of `author`'s practice chains: its member's first key, or
    /// `author` itself if it is no member's.
    pub fn owner(&self, author: &AuthorKey) -> AuthorKey {
        self.view
            .owner(author)
            .and_then(|m| self.view.first_key(m))
            .unwrap_or(*author)
    }

    /// Times the view changed since this was made.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// The quarantine.
    pub fn quarantine(&self) -> &Quarantine {
        &self.quarantine
    }
}

/// The flag of a stored record whose key is no member's key any more.
pub const NO_MEMBER: &str = "no-member";

/// Records of one key judged again per atomic write during a sweep.
pub const SWEEP_CHUNK: usize = 4_096;

/// Folds one operation id into the order-free hash of the ids held.
fn mix(acc: &mut [u8; 32], id: &RecordId) {
    use sha2::{Digest, Sha256};
    let h: [u8; 32] = Sha256::new()
        .chain_update(b"setu/v1/swept")
        .chain_update(id.0)
        .finalize()
        .into();
    for (a, b) in acc.iter_mut().zip(h) {
        *a ^= b;
    }
}

/// SHA-256 over the order-free hash of the operation ids held, then the
/// sorted keys the policy trusts: names what the places of stored records
/// were last decided under.
fn fingerprint(ops_hash: &[u8; 32], policy: &Policy) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(ops_hash);
    let mut trust = policy.trust.clone();
    trust.sort_unstable();
    trust.dedup();
    for k in trust {
        h.update(b"trust");
        h.update(k.0);
    }
    h.finalize().into()
}

/// Where `view` and `policy` put a stored record.
fn place_of(view: &View, policy: &Policy, s: &Subject<'_>) -> Place {
    match view.validity(s) {
        Validity::Valid { .. } => Place::Items,
        Validity::Quarantined if policy.trust.contains(&s.author) => Place::Local,
        // A stored record whose key is no member's any more (the rotation
        // that named it was revoked): not valid, so flagged; valid again if
        // the key is admitted.
        Validity::Quarantined => Place::Flagged(NO_MEMBER.into()),
        Validity::Invalid(why) => Place::Flagged(why.as_str().into()),
    }
}

/// What a sweep changed.
#[derive(Debug, Default)]
struct Swept {
    touched: Vec<(AuthorKey, String)>,
    invalidated: Vec<(u64, RecordId)>,
    revalidated: Vec<(u64, RecordId)>,
}

impl Swept {
    fn into(self, done: &mut Ingested) {
        done.touched.extend(self.touched);
        done.invalidated.extend(self.invalidated);
        done.revalidated.extend(self.revalidated);
    }
}

/// Judges again, under `view` and `policy`, every stored record signed
/// by `keys` at or above the seq given with each, and moves each whose
/// [`Place`] changed (`spec/membership.md` §8.1, §9): a record flagged
/// invalid keeps its bytes, leaves the `(ts, id)` index that
/// reconciliation walks, and is passed over by its practice chain, so a
/// withdrawal a revocation invalidated no longer ends the chain and the
/// revisions held above it link; a record kept locally is shown but not
/// reconciled. A practice record's chain is its member's (by first key)
/// when it is shown, its key's own when kept locally, and stays where it
/// was when flagged (the flag names it): a record that moves between
/// owners moves between chains. `before` is the view the records were
/// stored under. Reads and writes in atomic steps of [`SWEEP_CHUNK`]
/// records, then records `fp` as swept: a crash or failure between steps
/// leaves the old fingerprint, and [`Membership::heal`] sweeps again.
fn sweep<B: Backend>(
    store: &Store<B>,
    view: &View,
    policy: &Policy,
    before: Option<&View>,
    keys: &[(AuthorKey, u64)],
    fp: [u8; 32],
) -> Result<Swept, Error> {
    let mut out = Swept::default();
    // The member a key belongs to, or was named for, by its first key.
    let member_of = |key: &AuthorKey| {
        let first = |v: &View| {
            v.owner(key)
                .or_else(|| v.named_for(key))
                .and_then(|m| v.first_key(m))
        };
        before
            .and_then(first)
            .or_else(|| first(view))
            .unwrap_or(*key)
    };
    for (key, from_seq) in keys {
        let member = member_of(key);
        let mut after = None;
        loop {
            let page = store.ids_of(key, *from_seq, after, SWEEP_CHUNK)?;
            let Some(last) = page.last().copied() else {
                break;
            };
            after = Some(last);
            let full = page.len() == SWEEP_CHUNK;
            sweep_page(store, view, policy, key, member, &page, &mut out)?;
            if !full {
                break;
            }
        }
    }
    let mut meta = store.meta()?;
    meta.swept = Some(fp);
    store.apply(Batch {
        meta,
        ..Batch::default()
    })?;
    out.touched.sort();
    out.touched.dedup();
    Ok(out)
}

/// One atomic step of [`sweep`]: the records `page` of `key`, whose
/// member's first key is `member`.
fn sweep_page<B: Backend>(
    store: &Store<B>,
    view: &View,
    policy: &Policy,
    key: &AuthorKey,
    member: AuthorKey,
    page: &[(u64, RecordId)],
    out: &mut Swept,
) -> Result<(), Error> {
    let mut meta = store.meta()?;
    meta.change += 1;
    let mut batch = Batch::default();
    let mut chains: HashMap<(AuthorKey, String), Chain> = HashMap::new();
    for (_, id) in page {
        let Some(bytes) = store.get(id)? else {
            continue;
        };
        // Stored records were verified on the way in.
        let Ok(rec) = record::check_trusted(bytes) else {
            continue;
        };
        let from = store.place(id)?;
        let to = place_of(view, policy, &Subject::of(&rec));
        if from == to {
            continue;
        }
        // Whose chain holds it now, and whose it goes to.
        let held_by = match &from {
            Place::Items => member,
            Place::Local => *key,
            Place::Flagged(_) => store.invalid(id)?.and_then(|f| f.owner).unwrap_or(member),
        };
        let goes_to = match &to {
            Place::Items => member,
            Place::Local => *key,
            Place::Flagged(_) => held_by,
        };
        let ts = rec.envelope().ts;
        let (was, now) = (
            matches!(from, Place::Flagged(_)),
            matches!(to, Place::Flagged(_)),
        );
        meta.invalid = (meta.invalid + u64::from(now)).saturating_sub(u64::from(was));
        if from == Place::Items {
            out.invalidated.push((ts, *id));
        }
        if to == Place::Items {
            out.revalidated.push((ts, *id));
        }
        batch.moves.push(Move {
            id: *id,
            ts,
            from,
            to,
            owner: rec.lifecycle().map(|_| goes_to),
        });
        let Some(l) = rec.lifecycle() else {
            continue;
        };
        if was == now && held_by == goes_to {
            continue;
        }
        let name = crate::chain::name(l.kind, l.id);
        if held_by != goes_to
            && let Some(a) = rec.adoption()
            && let Some(target) = crate::graph::target_of(a)
        {
            // The edge names the chain's owner: it moves with the chain.
            batch.edges.push(crate::store::Edge {
                target,
                id: *id,
                owner: goes_to,
                adoption_id: a.adoption_id.clone(),
            });
        }
        let src = (held_by, name.clone());
        let mut chain = match chains.remove(&src) {
            Some(c) => c,
            None => store.chain(&held_by, &src.1)?.unwrap_or_default(),
        };
        let entry = chain.entries.iter().position(|e| e.id == *id);
        let Some(mut entry) = entry.map(|at| chain.entries.remove(at)) else {
            chains.insert(src, chain);
            continue;
        };
        entry.invalid = now;
        chain.change = meta.change;
        if held_by == goes_to {
            chain.insert(entry);
            chains.insert(src, chain);
            continue;
        }
        chains.insert(src, chain);
        let dst = (goes_to, name);
        let mut target = match chains.remove(&dst) {
            Some(c) => c,
            None => store.chain(&goes_to, &dst.1)?.unwrap_or_default(),
        };
        target.insert(entry);
        target.change = meta.change;
        chains.insert(dst, target);
    }
    if batch.moves.is_empty() {
        return Ok(());
    }
    for ((owner, pid), chain) in chains {
        if chain.change == meta.change {
            out.touched.push((owner, pid.clone()));
            batch.chains.push((owner, pid, chain));
        }
    }
    batch.meta = meta;
    store.apply(batch)
}

/// Most records [`Replica::key_records`] lists.
pub const MAX_KEY_RECORDS: usize = 10_000;

/// One record a key signed, as revokers review it before naming the
/// records that stay valid (`spec/membership.md` §6.2).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyRecord {
    /// Its id.
    pub id: RecordId,
    /// Its seq.
    pub seq: u64,
    /// Its ts.
    pub ts: u64,
    /// Its kind.
    pub kind: String,
    /// For a practice: its id, revision, and whether it withdraws.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub practice_id: Option<String>,
    /// The practice revision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<u64>,
    /// True for a withdrawal.
    pub withdrawal: bool,
    /// For a membership operation: its name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    /// Where it stands here: `shown`, `local`, or why it is flagged.
    pub place: String,
    /// True if another record of the key has the same seq (a thief may
    /// sign at seqs the agency used).
    pub same_seq: bool,
}

/// Records read from the store per step while collecting operations.
const SCAN_CHUNK: usize = 50_000;

/// An operation this node signed and stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Own {
    /// Its record id.
    pub id: setu_core::ids::RecordId,
    /// The seq it was signed with.
    pub seq: u64,
    /// The signed record, for announcing.
    pub record: Vec<u8>,
}

impl<B: Backend> Replica<B> {
    /// Every membership operation held: records of kind `"member"` whose
    /// body is an operation (others are counted in the second value). Read
    /// from the `o` entries; a store made before they existed is scanned
    /// once, and indexed.
    pub fn operations(&self) -> Result<(Vec<Signed>, usize), Error> {
        let ids = if self.store().meta()?.ops_indexed {
            self.store().operation_ids()?
        } else {
            let ids = self.scan_operations()?;
            self.store().index_operations(&ids)?;
            ids
        };
        let mut out = Vec::new();
        let mut malformed = 0;
        for id in ids {
            let Some(bytes) = self.store().get(&id)? else {
                continue;
            };
            // Stored records were checked on the way in: decoding the
            // envelope is enough.
            let Ok(parsed) = record::parse(bytes) else {
                continue;
            };
            match Signed::from_envelope(parsed.id(), parsed.envelope()) {
                Ok(s) => out.push(s),
                Err(_) => malformed += 1,
            }
        }
        Ok((out, malformed))
    }

    /// Ids of every stored record of kind `"member"`, read from all the
    /// records: the shown ones by the `(ts, id)` index, then the flagged
    /// and local ones (which left it).
    fn scan_operations(&self) -> Result<Vec<RecordId>, Error> {
        let mut out = Vec::new();
        let is_op = |id: &RecordId| -> Result<bool, Error> {
            Ok(self
                .store()
                .get(id)?
                .is_some_and(|b| record::parse(b).is_ok_and(|p| p.envelope().kind == op::KIND)))
        };
        let mut after = None;
        loop {
            let page = self.store().ts_range(after, SCAN_CHUNK)?;
            let Some(last) = page.last().copied() else {
                break;
            };
            for (_, id) in &page {
                if is_op(id)? {
                    out.push(*id);
                }
            }
            after = Some(last);
            if page.len() < SCAN_CHUNK {
                break;
            }
        }
        let mut flagged = Vec::new();
        self.store().for_each_invalid(&mut |id, _| {
            flagged.push(id);
            Ok(true)
        })?;
        for id in flagged {
            if is_op(&id)? {
                out.push(id);
            }
        }
        Ok(out)
    }

    /// The member set and record validity under `charter`, from every
    /// operation held.
    pub fn members(&self, charter: &Sealed) -> Result<View, Error> {
        if let Some(m) = &self.membership
            && m.charter.network_id() == charter.network_id()
        {
            return Ok(m.view.clone());
        }
        let (ops, _) = self.operations()?;
        Ok(View::compute(charter, &ops))
    }

    /// Makes this replica accept by membership under `charter` from now on
    /// (`spec/membership.md` §8.1): reads the operations it holds once,
    /// then keeps the view current as operations are stored.
    pub fn set_charter(&mut self, charter: Sealed) -> Result<(), Error> {
        let (ops, _) = self.operations()?;
        let m = Membership::with_policy(charter, ops, self.cfg.policy.clone());
        let healed = m.heal(self.store());
        self.membership = Some(m);
        let healed = healed?;
        if !healed.invalidated.is_empty() || !healed.revalidated.is_empty() {
            self.items = Default::default();
        }
        if !healed.touched.is_empty() {
            let change = self.store().meta().map_or(0, |m| m.change);
            self.indexer.changed(healed.touched, change, 0);
        }
        self.sync_publishers(0)
    }

    /// Brings the member ids that adoptions may name up to date with the
    /// view; if they changed, the practices that adoptions name by member
    /// are indexed again (their adoption counts may have changed).
    pub(crate) fn sync_publishers(&mut self, now: u64) -> Result<(), Error> {
        let Some(m) = &self.membership else {
            return Ok(());
        };
        let map: std::collections::BTreeMap<String, AuthorKey> = m
            .view()
            .members()
            .into_iter()
            .map(|x| (x.entry.id.clone(), x.entry.key))
            .collect();
        let old = self.publishers.get();
        if old == map {
            return Ok(());
        }
        // The practices adoptions name by member, under the old names and
        // the new: their adoption counts may change either way.
        let targets = self.store().edge_targets(b"m:", crate::graph::MAX_LISTED)?;
        let mut touched = std::collections::BTreeSet::new();
        for t in &targets {
            touched.extend(crate::graph::resolve_target(&self.publishers, t));
        }
        self.store().set_names(&map)?;
        self.publishers.set(map);
        for t in &targets {
            touched.extend(crate::graph::resolve_target(&self.publishers, t));
        }
        if !touched.is_empty() {
            let change = self.store().meta().map_or(0, |m| m.change);
            self.indexer
                .changed(touched.into_iter().collect(), change, now);
            // Committed now, so a command that opens the replica and exits
            // reads counts that agree with the names.
            self.flush_index()?;
        }
        Ok(())
    }

    /// The membership this replica accepts by, if it has a charter.
    pub fn membership(&self) -> Option<&Membership> {
        self.membership.as_ref()
    }

    /// The records `key` signed that this replica holds, in seq order, at
    /// most [`MAX_KEY_RECORDS`] (the second value is true if there were
    /// more): what revokers review before naming the records that stay
    /// valid.
    pub fn key_records(&self, key: &AuthorKey) -> Result<(Vec<KeyRecord>, bool), Error> {
        let ids = self.store().ids_of(key, 0, None, MAX_KEY_RECORDS + 1)?;
        let more = ids.len() > MAX_KEY_RECORDS;
        let mut out = Vec::new();
        for (i, (seq, id)) in ids.iter().enumerate().take(MAX_KEY_RECORDS) {
            let Some(bytes) = self.store().get(id)? else {
                continue;
            };
            let Ok(rec) = record::check_trusted(bytes) else {
                continue;
            };
            let same_seq = ids.get(i.wrapping_sub(1)).is_some_and(|p| p.0 == *seq)
                || ids.get(i + 1).is_some_and(|n| n.0 == *seq);
            let p = rec.practice();
            out.push(KeyRecord {
                id: *id,
                seq: *seq,
                ts: rec.envelope().ts,
                kind: rec.envelope().kind.clone(),
                practice_id: p.map(|p| p.practice_id.clone()),
                revision: p.map(|p| p.revision),
                withdrawal: p.is_some_and(|p| p.is_withdrawal()),
                op: Signed::from_record(&rec)
                    .and_then(Result::ok)
                    .map(|s| s.body.op.name().to_string()),
                place: match self.store().place(id)? {
                    Place::Items => "shown".into(),
                    Place::Local => "local".into(),
                    Place::Flagged(why) => format!("invalid: {why}"),
                },
                same_seq,
            });
        }
        Ok((out, more))
    }

    /// Signs again, against the current epoch, every stale quorum
    /// operation (`spec/membership.md` §5.3) that `key`'s member signed and
    /// has not yet signed again, and stores them. The caller announces each
    /// `record`.
    pub fn resign(
        &mut self,
        key: &SecretKey,
        charter: &Sealed,
        now: u64,
    ) -> Result<Vec<Own>, PublishError> {
        let mut done = Vec::new();
        // One at a time, each against the epoch current when it is signed:
        // one that completes a quorum moves the epoch on for the next.
        let genesis = setu_member::op::Epoch::genesis(charter.network_id());
        let mut signed: HashSet<Op> = HashSet::new();
        while done.len() < setu_member::view::MAX_STALE {
            let view = self.members(charter)?;
            let Some(me) = view.owner(&key.author()).map(str::to_string) else {
                break;
            };
            let next = view
                .stale()
                .iter()
                .find(|s| s.signers.contains(&me) && !signed.contains(&s.op.at_epoch(genesis)));
            let Some(s) = next else {
                break;
            };
            signed.insert(s.op.at_epoch(genesis));
            let op = s.op.at_epoch(view.epoch());
            done.push(self.sign_operation(key, charter, op, now)?);
        }
        Ok(done)
    }

    /// Signs an operation of `charter`'s network with `key` (at this key's
    /// next seq) and stores it. The caller announces `record`.
    pub fn sign_operation(
        &mut self,
        key: &SecretKey,
        charter: &Sealed,
        op: Op,
        now: u64,
    ) -> Result<Own, PublishError> {
        let body = Body {
            net: charter.network_id(),
            op,
        };
        let seq = self.reserve_seqs(&key.author(), 1, now)?;
        let rec = op::sign(key, seq, now, &body).map_err(|e| {
            PublishError::Invalid(vec![setu_core::practice::Problem {
                path: e.path.clone(),
                message: e.message.clone(),
            }])
        })?;
        let out = Own {
            id: rec.id(),
            seq,
            record: rec.bytes().to_vec(),
        };
        self.store_own(vec![rec.into_bytes()], now)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests_support {
    use super::*;
    use setu_member::charter::{Affiliation, Charter, Draft, Entry, Role, Threshold};
    pub use setu_member::table::secret;

    pub fn entry(id: &str) -> Entry {
        Entry {
            id: id.into(),
            affiliation: Affiliation::Country("BGD".into()),
            agency: format!("Agency {id}"),
            role: Role::Member,
            key: secret(id).author(),
        }
    }

    pub fn sealed() -> Sealed {
        let mut d = Draft::new(Charter {
            name: "test".into(),
            members: vec![entry("a"), entry("b"), entry("c")],
            admit: Threshold::MAJORITY,
            recover: Threshold::MAJORITY,
        })
        .expect("charter");
        for k in ["a", "b", "c"] {
            d.sign(&secret(k)).expect("sign");
        }
        d.seal().expect("seal")
    }

    pub fn practice(key: &str, seq: u64, pid: &str) -> Vec<u8> {
        let mut body = crate::synth::body(3, seq);
        body["practice_id"] = serde_json::json!(pid);
        let p = crate::replica::parse_practice(body).expect("practice");
        record::sign_practice(&secret(key), seq, 1_000, &p)
            .expect("sign")
            .into_bytes()
    }

    pub fn op(key: &str, seq: u64, charter: &Sealed, op: Op) -> Vec<u8> {
        op::sign(
            &secret(key),
            seq,
            1_000,
            &Body {
                net: charter.network_id(),
                op,
            },
        )
        .expect("op")
        .into_bytes()
    }

    pub fn stored(r: &Replica<crate::backend::memory::MemoryBackend>, rec: &[u8]) -> bool {
        let id = record::check_trusted(rec.to_vec()).expect("record").id();
        r.store().contains(&id).expect("contains")
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::*;
    use super::*;

    /// A non-member's record waits in quarantine and is stored once a
    /// quorum admits its key; a member's record past its key's seal is
    /// refused; an open replica stores everything as before.
    #[test]
    fn a_chartered_replica_accepts_by_membership() {
        let charter = sealed();
        let mut r = Replica::in_memory(Default::default()).expect("replica");
        r.set_charter(charter.clone()).expect("charter");
        let now = 10_000;
        let d1 = practice("d", 1, "BGD-d-1");
        let a1 = practice("a", 1, "BGD-a-1");
        let done = r.ingest(vec![d1.clone(), a1.clone()], now).expect("ingest");
        assert!(
            matches!(
                done.outcomes[0],
                Outcome::Refused {
                    why: Refusal::Quarantined,
                    ..
                }
            ),
            "{:?}",
            done.outcomes
        );
        assert!(matches!(done.outcomes[1], Outcome::Stored { .. }));
        assert_eq!(r.membership().expect("chartered").quarantine().len(), 1);
        let epoch = r.members(&charter).expect("view").epoch();
        let endorse = Op::Endorse {
            epoch,
            entry: entry("d"),
        };
        r.ingest(vec![op("a", 2, &charter, endorse.clone())], now)
            .expect("a endorses");
        assert!(!stored(&r, &d1), "one endorsement of three admits no one");
        let done = r
            .ingest(vec![op("b", 1, &charter, endorse)], now)
            .expect("b endorses");
        assert_eq!(
            done.outcomes.len(),
            1,
            "released records are not the caller's outcomes"
        );
        assert!(
            stored(&r, &d1),
            "admitted: the quarantined record is stored"
        );
        assert!(
            done.stored.len() == 2,
            "the endorsement and the released record: {:?}",
            done.stored
        );
        assert!(r.membership().expect("chartered").quarantine().is_empty());
        // a retires its key at seq 3: its later records are refused.
        r.ingest(
            vec![op("a", 3, &charter, Op::Retire { member: "a".into() })],
            now,
        )
        .expect("retire");
        let a4 = practice("a", 4, "BGD-a-2");
        let done = r.ingest(vec![a4.clone()], now).expect("ingest");
        assert!(
            matches!(
                done.outcomes[0],
                Outcome::Refused {
                    why: Refusal::Membership("sealed"),
                    ..
                }
            ),
            "{:?}",
            done.outcomes
        );
        assert_eq!(
            r.members(&charter).expect("view").member_ids(),
            ["a", "b", "c", "d"]
        );
        // An open replica stores what the chartered one refused.
        let mut open = Replica::in_memory(Default::default()).expect("replica");
        let done = open
            .ingest(vec![practice("z", 1, "BGD-z-1")], now)
            .expect("ingest");
        assert!(matches!(done.outcomes[0], Outcome::Stored { .. }));
    }

    #[test]
    fn the_quarantine_is_bounded_per_key() {
        let charter = sealed();
        let mut r = Replica::in_memory(Default::default()).expect("replica");
        r.set_charter(charter).expect("charter");
        let recs: Vec<Vec<u8>> = (1..=MAX_QUARANTINE_PER_KEY as u64 + 5)
            .map(|i| practice("stranger", i, &format!("BGD-s-{i}")))
            .collect();
        let done = r.ingest(recs, 10_000).expect("ingest");
        let full = done
            .outcomes
            .iter()
            .filter(|o| {
                matches!(
                    o,
                    Outcome::Refused {
                        why: Refusal::QuarantineFull,
                        ..
                    }
                )
            })
            .count();
        assert_eq!(full, 5);
        assert_eq!(
            r.membership().expect("chartered").quarantine().len(),
            MAX_QUARANTINE_PER_KEY
        );
    }
}

#[cfg(test)]
mod chains {
    use super::tests_support::*;
    use super::*;

    /// A rotated key, then a recovered one, go on revising the practices
    /// the member's first key published: chains are the member's.
    #[test]
    fn a_members_chains_outlive_its_keys() {
        let charter = sealed();
        let mut r = Replica::in_memory(Default::default()).expect("replica");
        r.set_charter(charter.clone()).expect("charter");
        let body = |rev: &str| {
            let mut b = crate::synth::body(5, 1);
            b["practice_id"] = serde_json::json!("BGD-a-1");
            b["title"] =
                serde_json::json!({"original": "en", "text": {"en": format!("Title {rev}")}});
            b
        };
        let p1 = r
            .publish(&secret("a"), body("one"), 10_000)
            .expect("first revision");
        assert_eq!(p1.revision, 1);
        r.ingest(
            vec![op(
                "a",
                1_000_000_000_000_000,
                &charter,
                Op::Rotate {
                    member: "a".into(),
                    key: secret("a2").author(),
                },
            )],
            10_000,
        )
        .expect("rotate");
        let p2 = r
            .publish(&secret("a2"), body("two"), 10_001)
            .expect("the new key revises");
        assert_eq!((p2.revision, p2.practice_id.as_str()), (2, "BGD-a-1"));
        // b and c recover a from a2 to a3, which revises again.
        let epoch = r.members(&charter).expect("view").epoch();
        let recover = Op::Recover {
            epoch,
            member: "a".into(),
            old: secret("a2").author(),
            last: u64::MAX,
            key: secret("a3").author(),
        };
        r.ingest(
            vec![
                op("b", 1, &charter, recover.clone()),
                op("c", 1, &charter, recover),
            ],
            10_002,
        )
        .expect("recover");
        let p3 = r
            .publish(&secret("a3"), body("three"), 10_003)
            .expect("the recovered key revises");
        assert_eq!(p3.revision, 3);
        let owner = r.chain_owner(&secret("a3").author());
        assert_eq!(
            owner,
            secret("a").author(),
            "chains are keyed by the member's first key"
        );
        let chain = r
            .store()
            .chain(&owner, "BGD-a-1")
            .expect("chain")
            .expect("one chain");
        assert_eq!(chain.state().linked.len(), 3);
        // A second revision 3 by another of a's keys (a2, sealed at a high
        // seq) equivocates: the member is flagged, not the key.
        let mut twin = body("three, again");
        twin["revision"] = serde_json::json!(3);
        twin["supersedes"] = serde_json::json!(p2.id.to_hex());
        let mut p = crate::replica::parse_practice(twin).expect("practice");
        p.fill_defaults();
        let rec = record::sign_practice(&secret("a2"), p2.seq + 1, 10_005, &p).expect("sign");
        let done = r.ingest(vec![rec.into_bytes()], 10_005).expect("ingest");
        assert!(
            matches!(
                done.outcomes[0],
                Outcome::Stored {
                    equivocation: true,
                    ..
                }
            ),
            "{:?}",
            done.outcomes
        );
        assert_eq!(r.flags(&owner).expect("flags").equivocations, 1);
        assert_eq!(
            r.flags(&secret("a2").author())
                .expect("flags")
                .equivocations,
            0
        );
        // Another member cannot take the practice id.
        let e = r
            .publish(&secret("b"), body("theirs"), 10_004)
            .expect_err("not b's");
        assert!(matches!(e, PublishError::NotOwner { .. }), "{e}");
    }
}

#[cfg(test)]
mod theft {
    use super::tests_support::*;
    use super::*;
    use setu_core::practice::Practice;

    fn revision(key: &str, seq: u64, pid: &str, rev: u64, sup: RecordId) -> Vec<u8> {
        let mut body = crate::synth::body(3, seq);
        body["practice_id"] = serde_json::json!(pid);
        body["revision"] = serde_json::json!(rev);
        body["supersedes"] = serde_json::json!(sup.to_hex());
        let mut p = crate::replica::parse_practice(body).expect("practice");
        p.fill_defaults();
        record::sign_practice(&secret(key), seq, 1_000, &p)
            .expect("sign")
            .into_bytes()
    }

    fn withdrawal(key: &str, seq: u64, pid: &str, rev: u64, sup: RecordId) -> Vec<u8> {
        let w = Practice::withdrawal(pid, rev, sup, "stolen key");
        record::sign_practice(&secret(key), seq, 1_000, &w)
            .expect("sign")
            .into_bytes()
    }

    fn id(rec: &[u8]) -> RecordId {
        record::check_trusted(rec.to_vec()).expect("record").id()
    }

    fn current(r: &Replica<crate::backend::memory::MemoryBackend>, pid: &str) -> Option<RecordId> {
        let (_, state) = r
            .practice(&secret("a").author(), pid)
            .expect("chain")
            .expect("a chain");
        assert!(!state.withdrawn || state.current.is_some());
        (!state.withdrawn).then_some(state.current?.id)
    }

    fn items(r: &mut Replica<crate::backend::memory::MemoryBackend>) -> Vec<RecordId> {
        let mut ids: Vec<RecordId> = r
            .items()
            .expect("items")
            .iter()
            .map(|i| RecordId(i.id))
            .collect();
        ids.sort();
        ids
    }

    /// spec/membership.md §6.2 and §8.1: a thief with member a's key
    /// withdraws two practices (one at a seq a already used), rotates a to
    /// its own key and publishes junk, while a publishes genuine revisions.
    /// Once b and c revoke the key (keeping a's genuine records) and
    /// recover a to a new key, the thief's records are flagged, out of the
    /// items, and out of the chains: both practices are current again,
    /// with the genuine revisions, and the new key revises them. A replica
    /// that receives everything at once, in another order, ends with the
    /// same items.
    #[test]
    fn a_revocation_undoes_what_a_thief_signed() {
        let charter = sealed();
        let mut r = Replica::in_memory(Default::default()).expect("replica");
        r.set_charter(charter.clone()).expect("charter");
        let now = 10_000;
        let p1 = practice("a", 1, "BGD-a-1");
        let p2 = practice("a", 2, "BGD-a-2");
        r.ingest(vec![p1.clone(), p2.clone()], now)
            .expect("a publishes");
        // The thief, with a's key.
        let w1 = withdrawal("a", 1, "BGD-a-1", 2, id(&p1));
        let w2 = withdrawal("a", 10, "BGD-a-2", 2, id(&p2));
        let rot = op(
            "a",
            11,
            &charter,
            Op::Rotate {
                member: "a".into(),
                key: secret("t").author(),
            },
        );
        let junk = practice("t", 1, "BGD-t-1");
        // a, meanwhile: revision 2 of the first practice, and 3 above it.
        let g2 = revision("a", 3, "BGD-a-1", 2, id(&p1));
        let g3 = revision("a", 4, "BGD-a-1", 3, id(&g2));
        let thief = vec![w1.clone(), w2.clone(), rot.clone(), junk.clone()];
        let done = r.ingest(thief.clone(), now).expect("the thief");
        assert!(
            done.outcomes.iter().all(Outcome::is_stored),
            "{:?}",
            done.outcomes
        );
        let done = r.ingest(vec![g2.clone(), g3.clone()], now).expect("a");
        assert!(
            done.outcomes.iter().all(Outcome::is_stored),
            "a revision above a withdrawal is held, not refused: {:?}",
            done.outcomes
        );
        assert_eq!(current(&r, "BGD-a-1"), None, "withdrawn by the thief");
        assert_eq!(current(&r, "BGD-a-2"), None, "withdrawn by the thief");
        assert!(stored(&r, &junk));

        // b and c revoke a's key, keeping its genuine records, and recover
        // a to a2, both against the same epoch.
        let epoch = r.members(&charter).expect("view").epoch();
        let mut valid = vec![id(&p1), id(&p2), id(&g2), id(&g3)];
        valid.sort();
        let revoke = Op::Revoke {
            epoch,
            member: "a".into(),
            key: secret("a").author(),
            valid,
        };
        let recover = Op::Recover {
            epoch,
            member: "a".into(),
            old: secret("a").author(),
            last: 4,
            key: secret("a2").author(),
        };
        let quorum = vec![
            op("b", 1, &charter, revoke.clone()),
            op("c", 1, &charter, revoke),
            op("b", 2, &charter, recover.clone()),
            op("c", 2, &charter, recover),
        ];
        let done = r.ingest(quorum.clone(), now).expect("revoke and recover");
        let mut gone: Vec<RecordId> = done.invalidated.iter().map(|(_, id)| *id).collect();
        gone.sort();
        let mut expect: Vec<RecordId> = thief.iter().map(|t| id(t)).collect();
        expect.sort();
        assert_eq!(gone, expect, "exactly the thief's records are flagged");
        assert_eq!(r.store().meta().expect("meta").invalid, 4);
        assert_eq!(
            r.store().invalid(&id(&w1)).expect("flag").map(|f| f.why),
            Some("revoked".to_string())
        );
        assert_eq!(
            r.store().invalid(&id(&junk)).expect("flag").map(|f| f.why),
            Some("void-key".to_string())
        );
        assert!(stored(&r, &w1), "flagged records keep their bytes");
        assert_eq!(current(&r, "BGD-a-1"), Some(id(&g3)), "current again");
        assert_eq!(current(&r, "BGD-a-2"), Some(id(&p2)), "current again");
        let held = items(&mut r);
        for t in &thief {
            assert!(!held.contains(&id(t)), "out of reconciliation");
        }
        assert!(held.contains(&id(&g3)));
        // The operations the view counts still include the flagged rotation.
        assert_eq!(r.operations().expect("ops").0.len(), 5);

        // The recovered key revises the practice the thief withdrew.
        let mut body = crate::synth::body(4, 1);
        body["practice_id"] = serde_json::json!("BGD-a-2");
        let p = r
            .publish(&secret("a2"), body, now + 1)
            .expect("the new key revises");
        assert_eq!(p.revision, 2);
        assert_eq!(current(&r, "BGD-a-2"), Some(p.id));

        // A replica that gets it all at once, the other way round, keeps
        // the same records in reconciliation.
        let mut fresh = Replica::in_memory(Default::default()).expect("replica");
        fresh.set_charter(charter.clone()).expect("charter");
        let mut all: Vec<Vec<u8>> = vec![p1, p2, g2, g3];
        all.extend(thief);
        all.extend(quorum);
        all.push(p.record.clone());
        all.reverse();
        fresh.ingest(all, now + 2).expect("all at once");
        assert_eq!(items(&mut fresh), items(&mut r));
        assert_eq!(current(&fresh, "BGD-a-1"), current(&r, "BGD-a-1"));
    }

    /// A sweep cut short (its fingerprint not written) is done again when
    /// the replica is next given its charter.
    #[test]
    fn an_unfinished_sweep_is_done_at_the_next_open() {
        let charter = sealed();
        let store = Store::new(crate::backend::memory::MemoryBackend::new());
        let p1 = practice("a", 1, "BGD-a-1");
        let w1 = withdrawal("a", 5, "BGD-a-1", 2, id(&p1));
        // Stored under no charter (as a crash before the sweep leaves it).
        ingest::ingest(
            &store,
            vec![p1.clone(), w1.clone()],
            10_000,
            &Default::default(),
        )
        .expect("stored");
        let epoch = View::compute(&charter, &[]).epoch();
        let revoke = Op::Revoke {
            epoch,
            member: "a".into(),
            key: secret("a").author(),
            valid: vec![id(&p1)],
        };
        let ops = [
            op("b", 1, &charter, revoke.clone()),
            op("c", 1, &charter, revoke),
        ];
        ingest::ingest(&store, ops.to_vec(), 10_000, &Default::default()).expect("stored");
        let signed: Vec<Signed> = ops
            .iter()
            .filter_map(|o| Signed::from_record(&record::check_trusted(o.clone()).ok()?))
            .filter_map(Result::ok)
            .collect();
        let m = Membership::new(charter.clone(), signed);
        let done = m.heal(&store).expect("heal");
        assert_eq!(done.invalidated.len(), 1);
        assert_eq!(
            store
                .invalid(&id(&w1))
                .expect("flag")
                .map(|f| f.why)
                .as_deref(),
            Some("revoked")
        );
        let state = store
            .chain(&secret("a").author(), "BGD-a-1")
            .expect("chain")
            .expect("one")
            .state();
        assert!(!state.withdrawn);
        assert_eq!(
            m.heal(&store).expect("again").invalidated.len(),
            0,
            "swept once"
        );
    }
}

#[cfg(test)]
mod policy {
    use super::tests_support::*;
    use super::*;
    use crate::query::Query;

    fn replica(policy: Policy) -> Replica<crate::backend::memory::MemoryBackend> {
        let cfg = crate::replica::Config {
            policy,
            ..Default::default()
        };
        let mut r = Replica::in_memory(cfg).expect("replica");
        r.set_charter(sealed()).expect("charter");
        r
    }

    fn shown(r: &mut Replica<crate::backend::memory::MemoryBackend>) -> Vec<String> {
        r.flush_index().expect("flush");
        let all = Query {
            limit: 100,
            ..Query::default()
        };
        let mut ids: Vec<String> = r
            .query(&all)
            .expect("query")
            .hits
            .into_iter()
            .map(|h| h.practice_id)
            .collect();
        ids.sort();
        ids
    }

    fn in_items(r: &mut Replica<crate::backend::memory::MemoryBackend>, rec: &[u8]) -> bool {
        let id = record::check_trusted(rec.to_vec()).expect("record").id();
        r.items().expect("items").iter().any(|i| i.id == id.0)
    }

    fn adoption(key: &str, seq: u64, id: &str, of_member: &str, pid: &str) -> Vec<u8> {
        let a: setu_core::adoption::Adoption = serde_json::from_value(serde_json::json!({
            "adoption_id": id, "revision": 1, "state": "active",
            "practice": {"member": of_member, "practice_id": pid},
            "country": "KEN", "stage": "scaled", "period": {"start": "2020"},
            "adaptation": {"original": "en", "text": {"en": "county offices"}},
        }))
        .expect("adoption");
        record::sign_adoption(&secret(key), seq, 1_000, &a)
            .expect("sign")
            .into_bytes()
    }

    /// A muted member's adoption reports are not shown either, and member
    /// references resolve through the charter's names.
    #[test]
    fn a_muted_members_reports_are_not_shown() {
        let mut r = replica(Policy {
            mute: vec!["b".into()],
            trust: Vec::new(),
        });
        let done = r
            .ingest(
                vec![
                    practice("a", 1, "BGD-a-1"),
                    adoption("b", 5, "B-1", "a", "BGD-a-1"),
                    adoption("c", 5, "C-1", "a", "BGD-a-1"),
                ],
                10_000,
            )
            .expect("ingest");
        assert!(
            done.outcomes.iter().all(Outcome::is_stored),
            "{:?}",
            done.outcomes
        );
        let owner = secret("a").author();
        let shown: Vec<String> = r
            .adoptions_of(&owner, "BGD-a-1")
            .expect("adoptions")
            .into_iter()
            .map(|v| v.adopted.adoption.adoption_id)
            .collect();
        assert_eq!(shown, ["C-1"]);
        assert_eq!(r.adoptions(10).expect("all").len(), 1);
        assert_eq!(r.scaling(None).expect("scaling")[0].adoptions.len(), 1);
    }

    /// spec/membership.md §9: a muted member's practices are stored and
    /// reconciled, not shown; a trusted key no member holds is stored and
    /// shown, not reconciled, until the network admits it.
    #[test]
    fn local_policy_changes_what_is_shown_not_what_is_relayed() {
        let mut r = replica(Policy {
            mute: vec!["b".into()],
            trust: vec![secret("x").author()],
        });
        let (a1, b1, x1) = (
            practice("a", 1, "BGD-a-1"),
            practice("b", 1, "BGD-b-1"),
            practice("x", 1, "BGD-x-1"),
        );
        let done = r
            .ingest(vec![a1.clone(), b1.clone(), x1.clone()], 10_000)
            .expect("ingest");
        assert!(
            matches!(done.outcomes[2], Outcome::Local(_)),
            "{:?}",
            done.outcomes
        );
        assert_eq!(shown(&mut r), ["BGD-a-1", "BGD-x-1"], "b muted, x trusted");
        assert!(in_items(&mut r, &b1), "a muted member's record is relayed");
        assert!(!in_items(&mut r, &x1), "a trusted key's record is not");
        let verdicts = crate::proto::verdicts(done);
        assert!(
            matches!(verdicts[2], setu_proto::store::Verdict::Refused { .. }),
            "to the network a local record is refused, so not passed on"
        );
        // The network admits x: its record joins the items.
        let epoch = r.members(&sealed()).expect("view").epoch();
        let endorse = Op::Endorse {
            epoch,
            entry: entry("x"),
        };
        let done = r
            .ingest(
                vec![
                    op("a", 2, &sealed(), endorse.clone()),
                    op("c", 1, &sealed(), endorse),
                ],
                10_000,
            )
            .expect("admit x");
        assert_eq!(done.revalidated.len(), 1);
        assert!(in_items(&mut r, &x1));
        // An open replica ignores nothing: the policy needs a charter.
        let mut open = Replica::in_memory(Default::default()).expect("replica");
        open.ingest(vec![b1], 10_000).expect("ingest");
        assert_eq!(shown(&mut open), ["BGD-b-1"]);
    }

    /// When the operator stops trusting a key, the next open flags what
    /// was kept for it.
    #[test]
    fn records_of_a_key_no_longer_trusted_are_flagged_at_the_next_open() {
        let trusted = Policy {
            trust: vec![secret("x").author()],
            ..Policy::default()
        };
        let store = Store::new(crate::backend::memory::MemoryBackend::new());
        let m = Membership::with_policy(sealed(), Vec::new(), trusted.clone());
        let mut m = m;
        let x1 = practice("x", 1, "BGD-x-1");
        let (done, _) = m
            .ingest(
                &store,
                record::check_batch_ids(vec![x1.clone()]),
                10_000,
                &Default::default(),
            )
            .expect("ingest");
        assert!(matches!(done.outcomes[0], Outcome::Local(_)));
        assert_eq!(m.heal(&store).expect("heal").invalidated.len(), 0);
        let id = record::check_trusted(x1).expect("record").id();
        assert_eq!(store.place(&id).expect("place"), Place::Local);
        let m = Membership::with_policy(sealed(), Vec::new(), Policy::default());
        m.heal(&store).expect("heal");
        assert_eq!(
            store.place(&id).expect("place"),
            Place::Flagged(NO_MEMBER.into())
        );
        assert_eq!(store.meta().expect("meta").invalid, 1);
    }
}

#[cfg(test)]
mod stale {
    use super::tests_support::*;
    use super::*;

    /// a endorses x; b and c admit y first, against the same epoch, so a's
    /// endorsement is stale. `resign` signs it again against the new epoch,
    /// once: a then no longer has anything stale, and b's vote admits x.
    #[test]
    fn a_stale_endorsement_is_signed_again_once() {
        let charter = sealed();
        let mut r = Replica::in_memory(Default::default()).expect("replica");
        r.set_charter(charter.clone()).expect("charter");
        let e0 = r.members(&charter).expect("view").epoch();
        let x = Op::Endorse {
            epoch: e0,
            entry: entry("x"),
        };
        let y = Op::Endorse {
            epoch: e0,
            entry: entry("y"),
        };
        r.ingest(
            vec![
                op("a", 1, &charter, x),
                op("b", 1, &charter, y.clone()),
                op("c", 1, &charter, y),
            ],
            10_000,
        )
        .expect("ingest");
        let v = r.members(&charter).expect("view");
        assert_eq!(v.member_ids(), ["a", "b", "c", "y"]);
        assert_eq!(v.stale().len(), 1);
        assert!(
            r.resign(&secret("b"), &charter, 10_001)
                .expect("b")
                .is_empty(),
            "b signed no stale operation"
        );
        let again = r
            .resign(&secret("a"), &charter, 10_001)
            .expect("a re-signs");
        assert_eq!(again.len(), 1);
        let v = r.members(&charter).expect("view");
        assert!(v.stale().is_empty(), "{:?}", v.stale());
        assert!(
            r.resign(&secret("a"), &charter, 10_002)
                .expect("again")
                .is_empty(),
            "once"
        );
        // With b's vote against the current epoch, x is admitted (3 of 4).
        let now = Op::Endorse {
            epoch: v.epoch(),
            entry: entry("x"),
        };
        r.ingest(
            vec![op("b", 2, &charter, now.clone()), op("c", 2, &charter, now)],
            10_003,
        )
        .expect("ingest");
        assert_eq!(
            r.members(&charter).expect("view").member_ids(),
            ["a", "b", "c", "x", "y"]
        );
    }
}

#[cfg(test)]
mod op_index {
    use super::tests_support::*;
    use super::*;
    use crate::backend::Backend;

    /// Operations are read from their `o` entries; a store without them
    /// (made before they existed) is scanned once and indexed.
    #[test]
    fn operations_come_from_their_index_and_an_old_store_is_indexed_once() {
        let charter = sealed();
        let mut r = Replica::in_memory(Default::default()).expect("replica");
        r.set_charter(charter.clone()).expect("charter");
        let e0 = r.members(&charter).expect("view").epoch();
        let endorse = Op::Endorse {
            epoch: e0,
            entry: entry("x"),
        };
        r.ingest(
            vec![op("a", 1, &charter, endorse), practice("a", 2, "BGD-a-1")],
            10_000,
        )
        .expect("ingest");
        assert!(r.store().meta().expect("meta").ops_indexed);
        assert_eq!(r.store().operation_ids().expect("ids").len(), 1);
        assert_eq!(r.operations().expect("ops").0.len(), 1);
        // As a store of an older version: no `o` entries, not indexed.
        let ids = r.store().operation_ids().expect("ids");
        let mut meta = r.store().meta().expect("meta");
        meta.ops_indexed = false;
        let mut writes: Vec<crate::backend::Write> = ids
            .iter()
            .map(|id| {
                let mut k = vec![b'o'];
                k.extend_from_slice(&id.0);
                (k, None)
            })
            .collect();
        let value = setu_core::cbor::to_value(&meta).expect("meta");
        writes.push((
            b"m".to_vec(),
            Some(setu_core::cbor::encode(&value).expect("meta")),
        ));
        r.store().backend().apply(writes).expect("write");
        assert!(r.store().operation_ids().expect("ids").is_empty());
        assert_eq!(r.operations().expect("scanned").0.len(), 1);
        assert_eq!(r.store().operation_ids().expect("ids"), ids, "indexed");
        assert!(r.store().meta().expect("meta").ops_indexed);
    }
}

#[cfg(test)]
mod review {
    use super::tests_support::*;
    use super::*;
    use crate::query::Query;
    use setu_core::practice::Practice;

    fn id(rec: &[u8]) -> RecordId {
        record::check_trusted(rec.to_vec()).expect("record").id()
    }

    fn signed(recs: &[Vec<u8>]) -> Vec<Signed> {
        recs.iter()
            .filter_map(|o| Signed::from_record(&record::check_trusted(o.clone()).ok()?))
            .filter_map(Result::ok)
            .collect()
    }

    /// A sweep that never ran (a crash between storing the operations and
    /// sweeping) is done at the next open, and finds the chain of a key a
    /// recovery voided: the thief's practice, stored as its member's, is
    /// flagged there and no longer current.
    #[test]
    fn heal_finds_the_chain_of_a_voided_key() {
        let charter = sealed();
        let store = Store::new(crate::backend::memory::MemoryBackend::new());
        let cfg = ingest::Config::default();
        let mut m = Membership::new(charter.clone(), Vec::new());
        let rot = op(
            "a",
            5,
            &charter,
            Op::Rotate {
                member: "a".into(),
                key: secret("t").author(),
            },
        );
        let junk = practice("t", 1, "BGD-t-1");
        m.ingest(
            &store,
            record::check_batch_ids(vec![rot.clone()]),
            10_000,
            &cfg,
        )
        .expect("rotation");
        m.ingest(
            &store,
            record::check_batch_ids(vec![junk.clone()]),
            10_000,
            &cfg,
        )
        .expect("junk, as a's");
        let a = secret("a").author();
        assert!(store.chain(&a, "BGD-t-1").expect("chain").is_some());
        // Recovery of a stored without its sweep.
        let epoch = m.view().epoch();
        let recover = Op::Recover {
            epoch,
            member: "a".into(),
            old: a,
            last: 4,
            key: secret("a2").author(),
        };
        let quorum = vec![
            op("b", 1, &charter, recover.clone()),
            op("c", 1, &charter, recover),
        ];
        ingest::ingest(&store, quorum.clone(), 10_000, &cfg).expect("stored, not swept");
        let mut all = vec![rot];
        all.extend(quorum);
        let m = Membership::new(charter, signed(&all));
        m.heal(&store).expect("heal");
        assert_eq!(
            store.place(&id(&junk)).expect("place"),
            Place::Flagged("void-key".into())
        );
        let state = store
            .chain(&a, "BGD-t-1")
            .expect("chain")
            .expect("a's")
            .state();
        assert!(state.current.is_none(), "{state:?}");
        assert_eq!(state.invalid, vec![id(&junk)]);
    }

    /// A trusted key's operation kept locally counts in the view once the
    /// key is admitted, as it does on nodes that stored it then.
    #[test]
    fn a_trusted_keys_operations_count_once_it_is_admitted() {
        let charter = sealed();
        let store = Store::new(crate::backend::memory::MemoryBackend::new());
        let cfg = ingest::Config::default();
        let policy = Policy {
            trust: vec![secret("x").author()],
            ..Policy::default()
        };
        let mut m = Membership::with_policy(charter.clone(), Vec::new(), policy);
        let rot = op(
            "x",
            2,
            &charter,
            Op::Rotate {
                member: "x".into(),
                key: secret("x2").author(),
            },
        );
        let (done, _) = m
            .ingest(&store, record::check_batch_ids(vec![rot]), 10_000, &cfg)
            .expect("kept locally");
        assert!(matches!(done.outcomes[0], Outcome::Local(_)));
        let endorse = Op::Endorse {
            epoch: m.view().epoch(),
            entry: entry("x"),
        };
        m.ingest(
            &store,
            record::check_batch_ids(vec![
                op("a", 1, &charter, endorse.clone()),
                op("b", 1, &charter, endorse),
            ]),
            10_000,
            &cfg,
        )
        .expect("admit x");
        let x = m.view().member("x").expect("x");
        assert_eq!(x.current(), Some(secret("x2").author()));
    }

    /// When the operator stops trusting a key, its practices leave the
    /// search index at the next open, not only the store's places.
    #[test]
    fn a_key_no_longer_trusted_leaves_the_index() {
        let mut r = Replica::in_memory(crate::replica::Config {
            policy: Policy {
                trust: vec![secret("x").author()],
                ..Policy::default()
            },
            ..Default::default()
        })
        .expect("replica");
        r.set_charter(sealed()).expect("charter");
        r.ingest(vec![practice("x", 1, "BGD-x-1")], 10_000)
            .expect("ingest");
        let count = |r: &mut Replica<crate::backend::memory::MemoryBackend>| {
            r.flush_index().expect("flush");
            r.query(&Query::default()).expect("query").total
        };
        assert_eq!(count(&mut r), 1);
        r.cfg.policy = Policy::default();
        r.set_charter(sealed()).expect("charter again");
        assert_eq!(count(&mut r), 0);
        // A withdrawal superseding a flagged record is judged as if that
        // record were not held: held, not refused.
        let w = Practice::withdrawal("BGD-x-1", 2, id(&practice("x", 1, "BGD-x-1")), "x");
        let w = record::sign_practice(&secret("a"), 9, 1_000, &w).expect("sign");
        let done = r.ingest(vec![w.into_bytes()], 10_000).expect("ingest");
        assert!(done.outcomes[0].is_stored(), "{:?}", done.outcomes);
    }
}
