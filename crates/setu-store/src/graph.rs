//! The adoption graph ([`spec/store.md` §3a](../../../spec/store.md)): which
//! adoption reports name which practice, and the open needs.
//!
//! An adoption record names the practice it adopted by (publisher,
//! `practice_id`), the publisher as a member id (chartered networks) or a
//! key. The store keeps one edge per adoption record under the practice it
//! names, as the reference gives it (`m:` member id or `k:` key), so that a
//! report of a practice the node does not hold yet is kept and counts as
//! soon as the practice arrives. A practice's adoptions are the **current**
//! revisions of the adoption chains whose edges name it and whose current
//! revision still names it; withdrawn and flagged reports do not count.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use setu_core::adoption::{self, Adoption, PracticeRef};
use setu_core::attachment::{self, Attachment};
use setu_core::ids::{AuthorKey, RecordId};
use setu_core::record::{self, Record};
use setu_core::seeking::{self, Seeking};

use crate::Error;
use crate::backend::Backend;
use crate::chain;
use crate::store::Store;

/// Most adoption records read for one practice.
pub const MAX_ADOPTIONS_READ: usize = 10_000;
/// Most adoptions or needs one listing returns.
pub const MAX_LISTED: usize = 100_000;

/// Member ids and their first keys, for resolving references by member
/// (shared by the replica, which updates it as the membership changes,
/// and the index thread). Empty in an open network.
#[derive(Debug, Clone, Default)]
pub struct Publishers(Arc<RwLock<BTreeMap<String, AuthorKey>>>);

impl Publishers {
    /// Replaces the map: member id → first key.
    pub fn set(&self, members: BTreeMap<String, AuthorKey>) {
        if let Ok(mut m) = self.0.write() {
            *m = members;
        }
    }

    /// The map: member id → first key.
    pub fn get(&self) -> BTreeMap<String, AuthorKey> {
        self.0.read().map(|m| m.clone()).unwrap_or_default()
    }

    /// The member whose first key is `key`.
    pub fn member_of(&self, key: &AuthorKey) -> Option<String> {
        let m = self.0.read().ok()?;
        m.iter().find(|(_, k)| *k == key).map(|(id, _)| id.clone())
    }

    /// The owner of the practice chains a reference names: a member's first
    /// key, or the key itself.
    pub fn resolve(&self, r: &PracticeRef) -> Option<AuthorKey> {
        match (&r.member, &r.key) {
            (Some(m), _) => self.0.read().ok()?.get(m).copied(),
            (None, Some(k)) => Some(*k),
            (None, None) => None,
        }
    }
}

/// The store's form of a reference's publisher: `m:` and the member id,
/// or `k:` and the key in hex.
pub fn publisher_ref(r: &PracticeRef) -> String {
    match (&r.member, &r.key) {
        (Some(m), _) => format!("m:{m}"),
        (None, Some(k)) => format!("k:{k}"),
        (None, None) => String::new(),
    }
}

/// The key prefix of the edges naming one practice.
pub fn target(publisher: &str, practice_id: &str) -> Vec<u8> {
    let mut t = Vec::with_capacity(publisher.len() + practice_id.len() + 2);
    t.extend_from_slice(publisher.as_bytes());
    t.push(0);
    t.extend_from_slice(practice_id.as_bytes());
    t.push(0);
    t
}

/// The practice an edge prefix ([`target`]) names, resolved to its chain's
/// owner and id.
pub fn resolve_target(publishers: &Publishers, target: &[u8]) -> Option<(AuthorKey, String)> {
    let t = std::str::from_utf8(target.strip_suffix(&[0])?).ok()?;
    let (publisher, pid) = t.split_once('\0')?;
    let r = match publisher.split_once(':')? {
        ("m", m) => PracticeRef {
            member: Some(m.to_string()),
            key: None,
            practice_id: pid.to_string(),
            record: None,
        },
        ("k", k) => PracticeRef {
            member: None,
            key: Some(k.parse().ok()?),
            practice_id: pid.to_string(),
            record: None,
        },
        _ => return None,
    };
    Some((publishers.resolve(&r)?, pid.to_string()))
}

/// The edge prefix an adoption body names.
pub fn target_of(a: &Adoption) -> Option<Vec<u8>> {
    let r = a.practice.as_ref()?;
    Some(target(&publisher_ref(r), &r.practice_id))
}

/// Every edge prefix under which adoptions of `owner`'s practice may be
/// filed: by key, and by member id if `owner` is a member's first key.
fn targets(publishers: &Publishers, owner: &AuthorKey, practice_id: &str) -> Vec<Vec<u8>> {
    let mut out = vec![target(&format!("k:{owner}"), practice_id)];
    if let Some(m) = publishers.member_of(owner) {
        out.push(target(&format!("m:{m}"), practice_id));
    }
    out
}

/// The current revision of a chain, unless it was withdrawn: its record.
pub fn current<B: Backend>(
    store: &Store<B>,
    owner: &AuthorKey,
    kind: &str,
    id: &str,
) -> Result<Option<Record>, Error> {
    let Some(c) = store.chain(owner, &chain::name(kind, id))? else {
        return Ok(None);
    };
    let state = c.state();
    if state.withdrawn {
        return Ok(None);
    }
    let Some(cur) = state.current else {
        return Ok(None);
    };
    let Some(bytes) = store.get(&cur.id)? else {
        return Err(Error::Corrupt(format!(
            "chain {kind}/{id} names a missing record {}",
            cur.id
        )));
    };
    // Stored records were verified on the way in; one this version's rules
    // refuse (stored under laxer ones) is as if absent.
    Ok(record::check_trusted(bytes).ok())
}

/// One adoption report, at its current revision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Adopted {
    /// The record id of its current revision.
    pub id: RecordId,
    /// The owner of its chain (the adopting publisher).
    pub publisher: AuthorKey,
    /// The key that signed it.
    pub author: AuthorKey,
    /// When it was signed (ms since the Unix epoch).
    pub ts: u64,
    /// The report.
    pub adoption: Adoption,
}

impl Adopted {
    fn of(publisher: AuthorKey, rec: &Record) -> Option<Adopted> {
        Some(Adopted {
            id: rec.id(),
            publisher,
            author: rec.envelope().author,
            ts: rec.envelope().ts,
            adoption: rec.adoption()?.clone(),
        })
    }
}

/// One open need, at its current revision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sought {
    /// The record id of its current revision.
    pub id: RecordId,
    /// The owner of its chain.
    pub publisher: AuthorKey,
    /// The key that signed it.
    pub author: AuthorKey,
    /// When it was signed.
    pub ts: u64,
    /// The need.
    pub seeking: Seeking,
}

/// The current adoptions of `owner`'s practice `practice_id`, sorted by
/// adopting country, then adoption id.
pub fn adoptions_of<B: Backend>(
    store: &Store<B>,
    publishers: &Publishers,
    owner: &AuthorKey,
    practice_id: &str,
) -> Result<Vec<Adopted>, Error> {
    let targets = targets(publishers, owner, practice_id);
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for t in &targets {
        for (_, a_owner, a_id) in store.edges_to(t, MAX_ADOPTIONS_READ)? {
            if !seen.insert((a_owner, a_id.clone())) {
                continue;
            }
            let Some(rec) = current(store, &a_owner, adoption::KIND, &a_id)? else {
                continue;
            };
            // Its current revision may name another practice now.
            let names_this = rec
                .adoption()
                .and_then(target_of)
                .is_some_and(|t| targets.contains(&t));
            if names_this && let Some(a) = Adopted::of(a_owner, &rec) {
                out.push(a);
            }
        }
    }
    out.sort_by(|a, b| {
        (&a.adoption.country, &a.adoption.adoption_id)
            .cmp(&(&b.adoption.country, &b.adoption.adoption_id))
    });
    Ok(out)
}

/// Every current adoption report, at most `limit`.
pub fn adoptions<B: Backend>(store: &Store<B>, limit: usize) -> Result<Vec<Adopted>, Error> {
    let mut out = Vec::new();
    // Withdrawn chains are listed too: the scan is bounded on its own.
    for (owner, id) in store.chains_of_kind(adoption::KIND, MAX_LISTED)? {
        if out.len() >= limit {
            break;
        }
        if let Some(rec) = current(store, &owner, adoption::KIND, &id)?
            && let Some(a) = Adopted::of(owner, &rec)
        {
            out.push(a);
        }
    }
    Ok(out)
}

/// One attachment reference, at its current revision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attached {
    /// The record id of its current revision.
    pub id: RecordId,
    /// The owner of its chain (the publisher).
    pub owner: AuthorKey,
    /// Its body.
    pub attachment: Attachment,
}

/// Every current attachment reference that `keep` accepts, at most
/// `limit` (withdrawn ones are not listed).
pub fn attachments<B: Backend>(
    store: &Store<B>,
    limit: usize,
    keep: &dyn Fn(&Attachment) -> bool,
) -> Result<Vec<Attached>, Error> {
    let mut out = Vec::new();
    for (owner, id) in store.chains_of_kind(attachment::KIND, MAX_LISTED)? {
        if out.len() >= limit {
            break;
        }
        if let Some(rec) = current(store, &owner, attachment::KIND, &id)?
            && let Some(a) = rec.attachment()
            && keep(a)
        {
            out.push(Attached {
                id: rec.id(),
                owner,
                attachment: a.clone(),
            });
        }
    }
    Ok(out)
}

/// Every open need, at most `limit`.
pub fn seekings<B: Backend>(store: &Store<B>, limit: usize) -> Result<Vec<Sought>, Error> {
    let mut out = Vec::new();
    for (owner, id) in store.chains_of_kind(seeking::KIND, MAX_LISTED)? {
        if out.len() >= limit {
            break;
        }
        if let Some(rec) = current(store, &owner, seeking::KIND, &id)?
            && let Some(s) = rec.seeking()
        {
            out.push(Sought {
                id: rec.id(),
                publisher: owner,
                author: rec.envelope().author,
                ts: rec.envelope().ts,
                seeking: s.clone(),
            });
        }
    }
    Ok(out)
}

/// The practices an adoption chain's records name, resolved to (owner,
/// practice id): what the index must refresh when the chain changes (every
/// linked revision, so a revision that names another practice refreshes
/// the one it left).
pub fn named_by<B: Backend>(
    store: &Store<B>,
    publishers: &Publishers,
    c: &chain::Chain,
) -> Result<Vec<(AuthorKey, String)>, Error> {
    let mut out = BTreeSet::new();
    for e in &c.entries {
        let Some(bytes) = store.get(&e.id)? else {
            continue;
        };
        let Ok(rec) = record::check_trusted(bytes) else {
            continue;
        };
        if let Some(r) = rec.adoption().and_then(|a| a.practice.as_ref())
            && let Some(owner) = publishers.resolve(r)
        {
            out.insert((owner, r.practice_id.clone()));
        }
    }
    Ok(out.into_iter().collect())
}

/// "Practice not yet received" is decided by the caller: a reference that
/// resolves to no chain this store holds.
pub fn holds_practice<B: Backend>(
    store: &Store<B>,
    publishers: &Publishers,
    r: &PracticeRef,
) -> Result<Option<(AuthorKey, String)>, Error> {
    let Some(owner) = publishers.resolve(r) else {
        return Ok(None);
    };
    Ok(store
        .chain(&owner, &r.practice_id)?
        .filter(|c| c.state().current.is_some())
        .map(|_| (owner, r.practice_id.clone())))
}
