//! The member set and the validity of every record, computed from the
//! charter and the membership records held
//! ([`spec/membership.md` §4–§6](../../../spec/membership.md)).
//!
//! [`View::compute`] is a pure function of the *set* of records: it sorts
//! what it is given, so the order records arrived in never matters, and
//! every node holding the same records computes the same view.
//!
//! Two layers:
//! - **The epoch chain** (quorum operations). Starting from the network id,
//!   each epoch's successor is decided by the quorum operations signed
//!   against it: every proposal that reaches its quorum applies, in a fixed
//!   order, and the next epoch hashes the previous one with what applied.
//!   A revocation applied at one epoch never removes votes counted at an
//!   earlier one, so the chain cannot undo itself.
//! - **Key chains** (operations one key signs alone). A member's keys are
//!   its first key, then each rotation signed by its current key. A
//!   rotation or retirement seals the key at its own seq: the key's later
//!   records are invalid, its earlier ones stay valid. A recovery names the
//!   key it replaces and beats any rotation signed by that key. Two key
//!   events from one key fork the member: neither applies, and only a
//!   recovery moves it on, so a thief can stall a member but never take it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use sha2::{Digest, Sha256};

use setu_core::ids::{AuthorKey, RecordId};

use crate::charter::{Entry, NetworkId, Role, Sealed, Threshold};
use crate::op::{Body, Epoch, Op, Removal, Signed};

/// Most epochs the chain may have: the fold stops there (a bound on work
/// for a peer that floods proposals; far above any real network's life).
pub const MAX_EPOCHS: usize = 100_000;
/// Most keys in one member's chain.
pub const MAX_TERMS: usize = 10_000;
/// Most stale operations a view lists.
pub const MAX_STALE: usize = 256;
/// Prefix of the epoch hash: `SHA-256(prefix ‖ previous ‖ applied hashes)`.
pub const EPOCH_PREFIX: &[u8] = b"setu/v1/epoch";

/// A key's place in a member's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// The key.
    pub key: AuthorKey,
    /// Its position: 0 for the member's first key.
    pub index: usize,
    /// The last seq of this key that is valid, once the key is sealed.
    pub seal: Option<u64>,
    /// How the key ended, if it did.
    pub ended: Option<Ended>,
}

/// How a key stopped being a member's current key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Rotated away by itself.
    Rotated,
    /// Retired by itself.
    Retired,
    /// Replaced by a quorum recovery.
    Recovered,
    /// The member was removed.
    Removed,
}

/// A delegate key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegate {
    /// The member it speaks for.
    pub member: String,
    /// Practice-id prefixes it may publish under.
    pub scope: Vec<String>,
    /// Records with `ts` at or after this are out of the delegation.
    pub expires: Option<u64>,
    /// Its last valid seq, once undelegated.
    pub last: Option<u64>,
}

/// A member as the view sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// As admitted (its `key` is the first key).
    pub entry: Entry,
    /// The epoch height it was admitted by (0: founder; `h + 1` when
    /// admitted by endorsements signed against the epoch at height `h`).
    pub admitted: usize,
    /// Its keys, first to current.
    pub terms: Vec<Term>,
    /// Whether two key events from one key left it stalled until a
    /// recovery.
    pub forked: bool,
    /// Set once removed by `amend`.
    pub removed: bool,
}

impl Member {
    /// The key it publishes with now: `None` if retired or removed.
    pub fn current(&self) -> Option<AuthorKey> {
        self.terms
            .last()
            .filter(|t| t.ended.is_none())
            .map(|t| t.key)
    }
    /// Whether it counts toward quorums.
    pub fn votes(&self) -> bool {
        self.entry.role == Role::Member && !self.removed
    }
}

/// A quorum operation applied to the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The epoch height it applied at (the epoch it was signed against).
    pub height: usize,
    /// The operation.
    pub op: Op,
    /// The members whose signatures counted, sorted.
    pub signers: Vec<String>,
}

/// A proposal at the current epoch that has not reached its quorum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The operation.
    pub op: Op,
    /// Members who signed it, sorted.
    pub signers: Vec<String>,
    /// Members it needs.
    pub required: usize,
}

/// A quorum operation signed against an epoch that is no longer current,
/// whose proposal never applied: it counts nowhere until its signers sign
/// it again against the current epoch (§5.3). Signers who did so are not
/// listed; an operation none is left to re-sign is not listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    /// The operation, as signed (with its old epoch).
    pub op: Op,
    /// Members whose term keys signed it, sorted.
    pub signers: Vec<String>,
}

/// Why a record is not valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    /// Its key was revoked and the record is not in the revocation's valid
    /// set.
    Revoked,
    /// Its seq is past its key's seal (rotation, retirement, recovery,
    /// removal or undelegation).
    Sealed,
    /// A delegate's record outside its scope (kind or practice id).
    OutOfScope,
    /// A delegate's record at or after the delegation's expiry.
    Expired,
    /// A delegate of a removed member.
    Removed,
    /// The key was named by a member's key event that did not apply (a
    /// fork, a key named twice, or cut off by a recovery).
    VoidKey,
}

impl Invalid {
    /// A short name for logs and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Invalid::Revoked => "revoked",
            Invalid::Sealed => "sealed",
            Invalid::OutOfScope => "out-of-scope",
            Invalid::Expired => "expired",
            Invalid::Removed => "removed",
            Invalid::VoidKey => "void-key",
        }
    }
}

/// What the view makes of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Validity {
    /// Stored, shown and relayed; published by this member.
    Valid {
        /// The member.
        member: String,
        /// Whether a delegate key signed it.
        delegate: bool,
    },
    /// Its key is no member's (yet): held in quarantine, not relayed.
    Quarantined,
    /// Invalid everywhere: kept, flagged, for audit only.
    Invalid(Invalid),
}

/// What validity needs to know of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject<'a> {
    /// Its id.
    pub id: RecordId,
    /// Its signing key.
    pub author: AuthorKey,
    /// Its seq.
    pub seq: u64,
    /// Its ts.
    pub ts: u64,
    /// Its kind.
    pub kind: &'a str,
    /// Its practice id, for a practice.
    pub practice_id: Option<&'a str>,
}

impl<'a> Subject<'a> {
    /// The subject of a checked record.
    pub fn of(r: &'a setu_core::record::Record) -> Subject<'a> {
        let env = r.envelope();
        Subject {
            id: r.id(),
            author: env.author,
            seq: env.seq,
            ts: env.ts,
            kind: &env.kind,
            practice_id: r.practice().map(|p| p.practice_id.as_str()),
        }
    }
}

/// The quorum layer: what the applied operations decided.
#[derive(Debug, Clone)]
struct Quorum {
    members: BTreeMap<String, (Entry, usize)>,
    removed: BTreeMap<String, u64>,
    admit: Threshold,
    recover: Threshold,
    /// Per member, recoveries in the order they applied.
    recoveries: BTreeMap<String, Vec<(AuthorKey, u64, AuthorKey)>>,
    /// Revoked keys: the member and the records that stay valid.
    revoked: HashMap<AuthorKey, (String, BTreeSet<RecordId>)>,
}

impl Quorum {
    fn voters(&self) -> usize {
        self.members
            .iter()
            .filter(|(id, (e, _))| e.role == Role::Member && !self.removed.contains_key(*id))
            .count()
    }
    /// Keys the quorum layer introduced: first keys and recovery keys.
    fn introduced(&self) -> HashMap<AuthorKey, usize> {
        let mut n: HashMap<AuthorKey, usize> = HashMap::new();
        for (e, _) in self.members.values() {
            *n.entry(e.key).or_default() += 1;
        }
        for list in self.recoveries.values() {
            for (_, _, k) in list {
                *n.entry(*k).or_default() += 1;
            }
        }
        n
    }
}

/// The key layer, computed from a quorum state and the key events.
#[derive(Debug, Clone, Default)]
struct Keys {
    /// Term keys: member and index into its terms.
    terms: HashMap<AuthorKey, (String, usize)>,
    chains: BTreeMap<String, (Vec<Term>, bool)>,
    delegates: HashMap<AuthorKey, Delegate>,
    /// Keys named by a key event that did not apply.
    void: BTreeSet<AuthorKey>,
}

impl Keys {
    fn term(&self, key: &AuthorKey) -> Option<(&str, &Term)> {
        let (m, i) = self.terms.get(key)?;
        let (terms, _) = self.chains.get(m)?;
        Some((m.as_str(), terms.get(*i)?))
    }
}

/// Whether a record by a key passes that key's revocation and seal.
fn usable(
    q: &Quorum,
    seal: Option<u64>,
    key: &AuthorKey,
    id: &RecordId,
    seq: u64,
) -> Result<(), Invalid> {
    if let Some((_, valid)) = q.revoked.get(key)
        && !valid.contains(id)
    {
        return Err(Invalid::Revoked);
    }
    if seal.is_some_and(|s| seq > s) {
        return Err(Invalid::Sealed);
    }
    Ok(())
}

/// The single-key operations, by signing key, each list sorted by
/// `(seq, id)`.
type ByAuthor<'a> = HashMap<AuthorKey, Vec<&'a Signed>>;

fn walk(q: &Quorum, events: &ByAuthor<'_>) -> Keys {
    // Pass 1: every member's chain as far as rotations go, ignoring
    // conflicts between members, to learn which keys could sign.
    let universe: BTreeSet<AuthorKey> = chains(q, events, None).terms.into_keys().collect();
    // How many distinct events name each key as new, from keys that could
    // sign at all (so an outsider cannot void a member's rotation).
    let mut named: HashMap<AuthorKey, usize> = q.introduced();
    for (author, list) in events {
        if !universe.contains(author) {
            continue;
        }
        for s in list {
            if let Op::Rotate { key, .. } = &s.body.op {
                *named.entry(*key).or_default() += 1;
            }
        }
    }
    let mut delegators: HashMap<AuthorKey, BTreeSet<String>> = HashMap::new();
    for (author, list) in events {
        if !universe.contains(author) {
            continue;
        }
        for s in list {
            if let Op::Delegate { member, key, .. } = &s.body.op {
                delegators.entry(*key).or_default().insert(member.clone());
            }
        }
    }
    // Pass 2: the chains, with a rotation to a key named anywhere else void.
    let mut keys = chains(q, events, Some(&named));
    // Delegations: by a usable term key of the member named, to a key no
    // term and no other member names.
    let mut latest: HashMap<AuthorKey, ((usize, u64, RecordId), Delegate)> = HashMap::new();
    let mut ends: HashMap<AuthorKey, u64> = HashMap::new();
    for (author, list) in events {
        let Some((member, term)) = keys.term(author) else {
            continue;
        };
        let (member, term) = (member.to_string(), term.clone());
        for s in list {
            if usable(q, term.seal, author, &s.id, s.seq).is_err() {
                continue;
            }
            match &s.body.op {
                Op::Delegate {
                    member: m,
                    key,
                    scope,
                    expires,
                } if *m == member => {
                    let clash = named.contains_key(key)
                        || keys.terms.contains_key(key)
                        || delegators.get(key).is_some_and(|d| d.len() > 1);
                    if clash {
                        keys.void.insert(*key);
                        continue;
                    }
                    let rank = (term.index, s.seq, s.id);
                    let d = Delegate {
                        member: member.clone(),
                        scope: scope.clone(),
                        expires: *expires,
                        last: None,
                    };
                    match latest.get(key) {
                        Some((r, _)) if *r >= rank => {}
                        _ => {
                            latest.insert(*key, (rank, d));
                        }
                    }
                }
                Op::Undelegate {
                    member: m,
                    key,
                    last,
                } if *m == member => {
                    let e = ends.entry(*key).or_insert(*last);
                    *e = (*e).min(*last);
                }
                _ => {}
            }
        }
    }
    for (key, (_, mut d)) in latest {
        d.last = ends.get(&key).copied();
        keys.delegates.insert(key, d);
    }
    keys
}

/// Follows every member's chain. `named` counts how many events name each
/// key as new; `None` ignores conflicts (the first pass).
fn chains(q: &Quorum, events: &ByAuthor<'_>, named: Option<&HashMap<AuthorKey, usize>>) -> Keys {
    let mut keys = Keys::default();
    for (id, (entry, _)) in &q.members {
        let recoveries = q.recoveries.get(id).map(Vec::as_slice).unwrap_or(&[]);
        let mut terms: Vec<Term> = Vec::new();
        let mut forked = false;
        let mut key = entry.key;
        let mut seen = BTreeSet::new();
        while terms.len() < MAX_TERMS && seen.insert(key) {
            let index = terms.len();
            if let Some((_, last, new)) = recoveries.iter().find(|(old, _, _)| *old == key) {
                // Recovery beats rotation: what the old key rotated to is
                // no one's key.
                for s in events.get(&key).map(Vec::as_slice).unwrap_or(&[]) {
                    if let Op::Rotate { member, key: to } = &s.body.op
                        && member == id
                    {
                        keys.void.insert(*to);
                    }
                }
                terms.push(Term {
                    key,
                    index,
                    seal: Some(*last),
                    ended: Some(Ended::Recovered),
                });
                key = *new;
                continue;
            }
            let mut moves: Vec<(&Signed, Option<AuthorKey>)> = Vec::new();
            for s in events.get(&key).map(Vec::as_slice).unwrap_or(&[]) {
                if usable(q, None, &key, &s.id, s.seq).is_err() {
                    continue;
                }
                match &s.body.op {
                    Op::Rotate { member, key: new } if member == id => {
                        if named.is_some_and(|n| n.get(new).copied().unwrap_or(0) > 1) {
                            keys.void.insert(*new);
                            continue;
                        }
                        moves.push((s, Some(*new)));
                    }
                    Op::Retire { member } if member == id => moves.push((s, None)),
                    _ => {}
                }
            }
            match moves.as_slice() {
                [] => {
                    terms.push(Term {
                        key,
                        index,
                        seal: None,
                        ended: None,
                    });
                    break;
                }
                [(s, next)] => {
                    terms.push(Term {
                        key,
                        index,
                        seal: Some(s.seq),
                        ended: Some(if next.is_some() {
                            Ended::Rotated
                        } else {
                            Ended::Retired
                        }),
                    });
                    match next {
                        Some(n) => key = *n,
                        None => break,
                    }
                }
                many => {
                    for (_, n) in many {
                        keys.void.extend(*n);
                    }
                    forked = true;
                    terms.push(Term {
                        key,
                        index,
                        seal: None,
                        ended: None,
                    });
                    break;
                }
            }
        }
        if let Some(last) = q.removed.get(id)
            && let Some(t) = terms.last_mut()
        {
            t.seal = Some(t.seal.map_or(*last, |s| s.min(*last)));
            t.ended = Some(Ended::Removed);
        }
        for t in &terms {
            keys.terms.insert(t.key, (id.clone(), t.index));
            keys.void.remove(&t.key);
        }
        keys.chains.insert(id.clone(), (terms, forked));
    }
    keys
}

/// Order of application within one epoch: revocations first, then
/// recoveries, amendments and admissions.
fn class(op: &Op) -> u8 {
    match op {
        Op::Revoke { .. } => 0,
        Op::Recover { .. } => 1,
        Op::Amend { .. } => 2,
        _ => 3,
    }
}

/// The member set and record validity for one charter and a set of
/// membership records.
#[derive(Debug, Clone)]
pub struct View {
    net: NetworkId,
    epoch: Epoch,
    epochs: Vec<Epoch>,
    height: usize,
    quorum: Quorum,
    keys: Keys,
    applied: Vec<Applied>,
    /// The records whose votes counted for an applied operation, with
    /// their keys.
    counted: HashMap<RecordId, (AuthorKey, u64)>,
    pending: Vec<Pending>,
    stale: Vec<Stale>,
    named: BTreeMap<AuthorKey, String>,
    ignored: usize,
}

impl View {
    /// Computes the view. Records of another network, and records that are
    /// not membership operations, are ignored (counted in
    /// [`View::ignored`]).
    pub fn compute<'a>(sealed: &Sealed, ops: impl IntoIterator<Item = &'a Signed>) -> View {
        let net = sealed.network_id();
        let charter = sealed.charter();
        let mut all: Vec<&Signed> = Vec::new();
        let mut ignored = 0;
        for s in ops {
            if s.body.net == net {
                all.push(s);
            } else {
                ignored += 1;
            }
        }
        all.sort_by_key(|s| s.id);
        all.dedup_by_key(|s| s.id);
        let mut events: ByAuthor<'_> = HashMap::new();
        let mut by_epoch: HashMap<Epoch, Vec<&Signed>> = HashMap::new();
        // Every key an operation names, with the member it names it for
        // (the first such operation in id order).
        let mut named: BTreeMap<AuthorKey, String> = BTreeMap::new();
        for s in &all {
            if let Some((member, key)) = s.body.op.names_key() {
                named.entry(key).or_insert_with(|| member.to_string());
            }
            match s.body.op.epoch() {
                Some(e) => by_epoch.entry(e).or_default().push(s),
                None => events.entry(s.author).or_default().push(s),
            }
        }
        for list in events.values_mut() {
            list.sort_by_key(|s| (s.seq, s.id));
        }
        let mut q = Quorum {
            members: charter
                .members
                .iter()
                .map(|e| (e.id.clone(), (e.clone(), 0)))
                .collect(),
            removed: BTreeMap::new(),
            admit: charter.admit,
            recover: charter.recover,
            recoveries: BTreeMap::new(),
            revoked: HashMap::new(),
        };
        let net_epoch = Epoch::genesis(net);
        let mut epoch = net_epoch;
        let mut epochs = vec![epoch];
        let mut applied_all = Vec::new();
        let mut height = 0;
        let mut keys = walk(&q, &events);
        let mut pending = Vec::new();
        let mut counted = HashMap::new();
        while height < MAX_EPOCHS {
            let groups = tally(
                &q,
                &keys,
                by_epoch.get(&epoch).map(Vec::as_slice).unwrap_or(&[]),
            );
            let voters = q.voters();
            // Proposals that reached their quorum: body, hash, signers, and
            // the records that counted.
            let mut enabled: Vec<Enabled<'_>> = Vec::new();
            pending.clear();
            for (hash, (body, signers, votes)) in groups {
                let required = match body.op {
                    Op::Endorse { .. } => q.admit.required(voters),
                    _ => q.recover.required(voters),
                };
                let signers: Vec<String> = signers.into_iter().collect();
                if signers.len() >= required {
                    enabled.push((body, hash, signers, votes));
                } else {
                    pending.push(Pending {
                        op: body.op.clone(),
                        signers,
                        required,
                    });
                }
            }
            if enabled.is_empty() {
                break;
            }
            enabled.sort_by_key(|(b, h, _, _)| (class(&b.op), *h));
            let mut hashes = Vec::new();
            for (body, hash, signers, votes) in enabled {
                if apply(&mut q, &keys, &body.op, height) {
                    hashes.push(hash);
                    counted.extend(votes);
                    applied_all.push(Applied {
                        height,
                        op: body.op.clone(),
                        signers,
                    });
                }
            }
            if hashes.is_empty() {
                break;
            }
            let mut h = Sha256::new();
            h.update(EPOCH_PREFIX);
            h.update(epoch.0);
            for x in &hashes {
                h.update(x);
            }
            epoch = Epoch(h.finalize().into());
            epochs.push(epoch);
            height += 1;
            keys = walk(&q, &events);
        }
        pending.sort_by(|a, b| a.op.cmp(&b.op));
        // Quorum operations on an epoch no longer current whose proposal
        // applied nowhere (compared with the epoch left out).
        let done: BTreeSet<Op> = applied_all
            .iter()
            .map(|a| a.op.at_epoch(net_epoch))
            .collect();
        // One entry per proposal, whatever epochs it was signed against.
        let mut stale: BTreeMap<Op, BTreeSet<String>> = BTreeMap::new();
        let mut epochs_of: BTreeMap<Op, Op> = BTreeMap::new();
        for (e, list) in &by_epoch {
            if *e == epoch {
                continue;
            }
            for s in list {
                let proposal = s.body.op.at_epoch(net_epoch);
                if done.contains(&proposal) {
                    continue;
                }
                let first = epochs_of
                    .entry(proposal)
                    .or_insert_with(|| s.body.op.clone())
                    .clone();
                let signers = stale.entry(first).or_default();
                if let Some((m, _)) = keys.term(&s.author) {
                    signers.insert(m.to_string());
                }
            }
        }
        // A signer who signed the same operation against the current epoch
        // has done its part.
        for (op, signers) in &mut stale {
            let now = op.at_epoch(epoch);
            for p in pending.iter().filter(|p| p.op == now) {
                signers.retain(|m| !p.signers.contains(m));
            }
        }
        let stale = stale
            .into_iter()
            .filter(|(_, signers)| !signers.is_empty())
            .take(MAX_STALE)
            .map(|(op, signers)| Stale {
                op,
                signers: signers.into_iter().collect(),
            })
            .collect();
        View {
            net,
            epoch,
            epochs,
            height,
            quorum: q,
            keys,
            applied: applied_all,
            counted,
            pending,
            stale,
            named,
            ignored,
        }
    }

    /// The network id.
    pub fn network_id(&self) -> NetworkId {
        self.net
    }
    /// The current epoch: what a new quorum operation is signed against.
    pub fn epoch(&self) -> Epoch {
        self.epoch
    }
    /// The epoch chain: the network id's epoch first, the current last.
    pub fn epochs(&self) -> &[Epoch] {
        &self.epochs
    }
    /// How many epochs followed the charter.
    pub fn height(&self) -> usize {
        self.height
    }
    /// The admission threshold now.
    pub fn admit(&self) -> Threshold {
        self.quorum.admit
    }
    /// The recovery threshold now.
    pub fn recover(&self) -> Threshold {
        self.quorum.recover
    }
    /// Members voting now (role member, not removed).
    pub fn voters(&self) -> usize {
        self.quorum.voters()
    }
    /// Every member ever admitted, removed ones included, by id.
    pub fn members(&self) -> Vec<Member> {
        self.quorum
            .members
            .iter()
            .map(|(id, (entry, admitted))| {
                let (terms, forked) = self.keys.chains.get(id).cloned().unwrap_or_default();
                Member {
                    entry: entry.clone(),
                    admitted: *admitted,
                    terms,
                    forked,
                    removed: self.quorum.removed.contains_key(id),
                }
            })
            .collect()
    }
    /// Ids of the members not removed, sorted.
    pub fn member_ids(&self) -> Vec<String> {
        self.quorum
            .members
            .keys()
            .filter(|id| !self.quorum.removed.contains_key(*id))
            .cloned()
            .collect()
    }
    /// One member.
    pub fn member(&self, id: &str) -> Option<Member> {
        self.members().into_iter().find(|m| m.entry.id == id)
    }
    /// The member a key belongs to (as a term or a delegate).
    pub fn owner(&self, key: &AuthorKey) -> Option<&str> {
        if let Some((m, _)) = self.keys.term(key) {
            return Some(m);
        }
        self.keys.delegates.get(key).map(|d| d.member.as_str())
    }
    /// A member's first key (the one its entry names), which never
    /// changes: what a store keys the member's practice chains by.
    pub fn first_key(&self, member: &str) -> Option<AuthorKey> {
        self.quorum.members.get(member).map(|(e, _)| e.key)
    }

    /// Delegates, by key.
    pub fn delegates(&self) -> BTreeMap<AuthorKey, Delegate> {
        self.keys
            .delegates
            .iter()
            .map(|(k, d)| (*k, d.clone()))
            .collect()
    }
    /// Quorum operations applied, in order.
    pub fn applied(&self) -> &[Applied] {
        &self.applied
    }
    /// Proposals at the current epoch short of their quorum.
    pub fn pending(&self) -> &[Pending] {
        &self.pending
    }
    /// Quorum operations signed against an epoch no longer current that
    /// never applied (at most [`MAX_STALE`]): to be signed again.
    pub fn stale(&self) -> &[Stale] {
        &self.stale
    }
    /// Records given that belong to another network.
    pub fn ignored(&self) -> usize {
        self.ignored
    }

    /// The member some operation named `key` for (a rotation's, recovery's
    /// or delegation's new key, or an endorsed first key), whether or not
    /// that operation applied: who a key that is no member's now once
    /// belonged to, for a store that keyed its records' chains by it.
    pub fn named_for(&self, key: &AuthorKey) -> Option<&str> {
        self.named.get(key).map(String::as_str)
    }

    /// Every key an operation names ([`View::named_for`]).
    pub fn named_keys(&self) -> impl Iterator<Item = &AuthorKey> {
        self.named.keys()
    }

    /// Every key this view says anything about: member keys, delegates,
    /// void keys and revoked keys.
    pub fn known_keys(&self) -> BTreeSet<AuthorKey> {
        let mut out: BTreeSet<AuthorKey> = self.keys.terms.keys().copied().collect();
        out.extend(self.keys.delegates.keys().copied());
        out.extend(self.keys.void.iter().copied());
        out.extend(self.quorum.revoked.keys().copied());
        out
    }

    /// The keys whose records [`View::validity`] may judge differently in
    /// this view than in `before`, each with the lowest seq that may be
    /// judged differently: what a store must look at again when its view
    /// moves from `before` to `self` (`spec/membership.md` §8.1). A key
    /// whose only change is its seal (a routine rotation or retirement)
    /// needs looking at only above the lower of the two seals.
    pub fn changed_keys(&self, before: &View) -> Vec<(AuthorKey, u64)> {
        let mut keys = self.known_keys();
        keys.extend(before.known_keys());
        let mut out: BTreeMap<AuthorKey, u64> = BTreeMap::new();
        for k in keys {
            let (now, was) = (self.standing(&k), before.standing(&k));
            if now == was {
                continue;
            }
            let from = match (&now, &was) {
                (
                    Standing::Term {
                        member: m1,
                        seal: s1,
                        revoked: r1,
                    },
                    Standing::Term {
                        member: m2,
                        seal: s2,
                        revoked: r2,
                    },
                ) if m1 == m2 && r1 == r2 => match (s1, s2) {
                    (Some(a), Some(b)) => (*a).min(*b).saturating_add(1),
                    (Some(a), None) | (None, Some(a)) => a.saturating_add(1),
                    (None, None) => continue,
                },
                _ => 0,
            };
            out.insert(k, from);
        }
        // A vote that counts (or no longer counts) changes its record's
        // validity whatever its key's standing: look again from its seq.
        for (id, (key, seq)) in self.counted.iter().chain(before.counted.iter()) {
            if self.counted.contains_key(id) != before.counted.contains_key(id) {
                let from = out.entry(*key).or_insert(*seq);
                *from = (*from).min(*seq);
            }
        }
        out.into_iter().collect()
    }

    /// Everything validity reads about one key.
    fn standing(&self, key: &AuthorKey) -> Standing<'_> {
        let revoked = self.quorum.revoked.get(key).map(|(_, v)| v);
        if let Some((member, term)) = self.keys.term(key) {
            return Standing::Term {
                member,
                seal: term.seal,
                revoked,
            };
        }
        if let Some(d) = self.keys.delegates.get(key) {
            return Standing::Delegate {
                delegate: d,
                removed: self.quorum.removed.contains_key(&d.member),
                revoked,
            };
        }
        if self.keys.void.contains(key) {
            return Standing::Void;
        }
        Standing::Unknown
    }

    /// What this view makes of a record (any kind, membership records
    /// included).
    pub fn validity(&self, s: &Subject<'_>) -> Validity {
        // A vote the epoch chain counted is part of the chain: valid,
        // whatever later happened to its key (§5.3).
        if self.counted.contains_key(&s.id)
            && let Some((member, _)) = self.keys.term(&s.author)
        {
            return Validity::Valid {
                member: member.to_string(),
                delegate: false,
            };
        }
        if let Some((member, term)) = self.keys.term(&s.author) {
            return match usable(&self.quorum, term.seal, &s.author, &s.id, s.seq) {
                Ok(()) => Validity::Valid {
                    member: member.to_string(),
                    delegate: false,
                },
                Err(why) => Validity::Invalid(why),
            };
        }
        if let Some(d) = self.keys.delegates.get(&s.author) {
            if self.quorum.removed.contains_key(&d.member) {
                return Validity::Invalid(Invalid::Removed);
            }
            if let Err(why) = usable(&self.quorum, d.last, &s.author, &s.id, s.seq) {
                return Validity::Invalid(why);
            }
            let in_scope = s.kind == "practice"
                && s.practice_id
                    .is_some_and(|p| d.scope.iter().any(|pre| p.starts_with(pre.as_str())));
            if !in_scope {
                return Validity::Invalid(Invalid::OutOfScope);
            }
            if d.expires.is_some_and(|t| s.ts >= t) {
                return Validity::Invalid(Invalid::Expired);
            }
            return Validity::Valid {
                member: d.member.clone(),
                delegate: true,
            };
        }
        if self.keys.void.contains(&s.author) {
            return Validity::Invalid(Invalid::VoidKey);
        }
        Validity::Quarantined
    }
}

/// What [`View::validity`] reads about one key, to compare two views.
#[derive(Debug, PartialEq, Eq)]
enum Standing<'a> {
    Term {
        member: &'a str,
        seal: Option<u64>,
        revoked: Option<&'a BTreeSet<RecordId>>,
    },
    Delegate {
        delegate: &'a Delegate,
        removed: bool,
        revoked: Option<&'a BTreeSet<RecordId>>,
    },
    Void,
    Unknown,
}

/// Groups the quorum records of one epoch by proposal, counting each
/// voting member once, by a usable key of its chain.
fn tally<'a>(q: &Quorum, keys: &Keys, records: &[&'a Signed]) -> BTreeMap<[u8; 32], Group<'a>> {
    let mut groups: BTreeMap<[u8; 32], Group<'a>> = BTreeMap::new();
    for s in records {
        let Some((member, term)) = keys.term(&s.author) else {
            continue;
        };
        let votes = q
            .members
            .get(member)
            .is_some_and(|(e, _)| e.role == Role::Member)
            && !q.removed.contains_key(member);
        if !votes || usable(q, term.seal, &s.author, &s.id, s.seq).is_err() {
            continue;
        }
        let g = groups
            .entry(s.hash)
            .or_insert_with(|| (&s.body, BTreeSet::new(), Vec::new()));
        g.1.insert(member.to_string());
        g.2.push((s.id, (s.author, s.seq)));
    }
    groups
}

/// A proposal that reached its quorum: its body, proposal hash, signers
/// and the records that counted.
type Enabled<'a> = (
    &'a Body,
    [u8; 32],
    Vec<String>,
    Vec<(RecordId, (AuthorKey, u64))>,
);

/// One proposal's tally: the body, the members who signed it, and the
/// records that counted.
type Group<'a> = (
    &'a Body,
    BTreeSet<String>,
    Vec<(RecordId, (AuthorKey, u64))>,
);

/// Applies one operation that reached its quorum; false if it is void
/// against the state as it now is (it then does not enter the epoch hash).
fn apply(q: &mut Quorum, keys: &Keys, op: &Op, height: usize) -> bool {
    let known = |q: &Quorum, k: &AuthorKey| {
        q.introduced().contains_key(k)
            || keys.terms.contains_key(k)
            || keys.delegates.contains_key(k)
    };
    let live = |q: &Quorum, m: &str| q.members.contains_key(m) && !q.removed.contains_key(m);
    match op {
        Op::Endorse { entry, .. } => {
            if q.members.contains_key(&entry.id)
                || known(q, &entry.key)
                || keys.void.contains(&entry.key)
            {
                return false;
            }
            q.members
                .insert(entry.id.clone(), (entry.clone(), height + 1));
            true
        }
        Op::Recover {
            member,
            old,
            last,
            key,
            ..
        } => {
            let is_term = keys.terms.get(old).is_some_and(|(m, _)| m == member);
            let already = q
                .recoveries
                .get(member)
                .is_some_and(|l| l.iter().any(|(o, _, _)| o == old));
            if !live(q, member) || !is_term || already || known(q, key) {
                return false;
            }
            q.recoveries
                .entry(member.clone())
                .or_default()
                .push((*old, *last, *key));
            true
        }
        Op::Revoke {
            member, key, valid, ..
        } => {
            let owns = keys.terms.get(key).is_some_and(|(m, _)| m == member)
                || keys.delegates.get(key).is_some_and(|d| d.member == *member);
            if !owns || q.revoked.contains_key(key) {
                return false;
            }
            q.revoked
                .insert(*key, (member.clone(), valid.iter().copied().collect()));
            true
        }
        Op::Amend {
            admit,
            recover,
            remove,
            ..
        } => {
            let mut next = q.clone();
            if let Some(t) = admit {
                next.admit = *t;
            }
            if let Some(t) = recover {
                next.recover = *t;
            }
            if let Some(Removal { member, last }) = remove {
                if !live(&next, member) {
                    return false;
                }
                next.removed.insert(member.clone(), *last);
            }
            let voters = next.voters();
            if voters == 0 || !next.admit.reachable(voters) || !next.recover.reachable(voters) {
                return false;
            }
            *q = next;
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tables;
