//! A simulated node's store: the real store and ingest rules of
//! `setu-store` over its in-memory backend, with no search index, and a
//! verification cache shared by every simulated node, so that each record
//! is verified once per simulation, not once per node. (Each node's state
//! decodes the envelope of what it receives, as the shipped node does;
//! the store finishes the check on that decoded record, or finds it in
//! the cache.)

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use setu_core::ids::RecordId;
use setu_core::record::{self, Parsed, Record, RecordError};
use setu_member::charter::Sealed;
use setu_proto::store::Verdict;
use setu_store::backend::memory::MemoryBackend;
use setu_store::ingest;
use setu_store::members::Membership;
use setu_sync::item::{Bound, Id, Item};
use sha2::{Digest, Sha256};

/// Most records the shared verification cache holds; beyond it, records
/// are verified without being cached.
pub const MAX_CACHED_CHECKS: usize = 1_000_000;

/// The result of the stateless check of one record, with its id if it
/// decoded that far.
type Checked = (Option<RecordId>, Result<Record, RecordError>);

/// The results of the stateless check, by SHA-256 of the record's bytes.
#[derive(Debug, Default, Clone)]
pub struct Checks(Rc<RefCell<HashMap<[u8; 32], Checked>>>);

impl Checks {
    /// Finishes the check of a decoded record, once per simulation: by
    /// SHA-256 of its bytes, so a forged copy of a record is not taken
    /// for it.
    fn check(&self, parsed: Parsed) -> Checked {
        let key: [u8; 32] = Sha256::digest(parsed.bytes()).into();
        if let Some(r) = self.0.borrow().get(&key) {
            return r.clone();
        }
        let r = ingest::finish_parsed(vec![parsed]).pop().unwrap_or((
            None,
            Err(RecordError::one(
                record::Reason::Cbor,
                "record",
                "no result",
            )),
        ));
        let mut cache = self.0.borrow_mut();
        if cache.len() < MAX_CACHED_CHECKS {
            cache.insert(key, r.clone());
        }
        r
    }

    /// How many distinct records were checked.
    pub fn len(&self) -> usize {
        self.0.borrow().len()
    }

    /// True if none was.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One simulated node's store.
#[derive(Debug)]
pub struct SimStore {
    store: setu_store::store::Store<MemoryBackend>,
    items: Arc<Vec<Item>>,
    checks: Checks,
    rules: Rules,
    /// For a chartered network: acceptance by membership, as the node's
    /// replica applies it (`spec/membership.md` §8.1).
    membership: Option<Membership>,
}

/// Which validity rules the store applies: this version's, or a test-only
/// rule set of another version that also refuses some records with reason
/// `schema`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Rules {
    /// This version's rules.
    #[default]
    Current,
    /// Also refuses records whose id's first byte is below this, as an
    /// older node refuses a body with a field it does not know.
    RefuseBelow(u8),
    /// Also refuses records whose id's first byte is at least this, as a
    /// newer node refuses what a new rule forbids.
    RefuseFrom(u8),
    /// The rules of a node before the `adoption` and `seeking` kinds: it
    /// knows only `practice` bodies and holds the other kinds as opaque
    /// records (`spec/record.md` §3, §6.10).
    PracticeOnly,
    /// The rules of a node before the `attachment` kind: it knows
    /// `practice`, `adoption` and `seeking` bodies and holds attachments
    /// as opaque records.
    BeforeAttachment,
}

impl Rules {
    fn refuses(self, id: &Id) -> bool {
        match self {
            Rules::Current | Rules::PracticeOnly | Rules::BeforeAttachment => false,
            Rules::RefuseBelow(b) => id[0] < b,
            Rules::RefuseFrom(b) => id[0] >= b,
        }
    }

    /// The kinds an older rule set knows, if it is one.
    fn older_kinds(self) -> Option<record::KnownKinds> {
        match self {
            Rules::PracticeOnly => Some(record::KnownKinds::PracticeOnly),
            Rules::BeforeAttachment => Some(record::KnownKinds::BeforeAttachment),
            _ => None,
        }
    }
}

impl SimStore {
    /// An empty store.
    pub fn new(checks: Checks, rules: Rules) -> SimStore {
        SimStore {
            store: setu_store::store::Store::new(MemoryBackend::new()),
            items: Arc::default(),
            checks,
            rules,
            membership: None,
        }
    }

    /// Accepts by membership under `charter` from now on (the node does
    /// this when started with a charter). The store must be empty.
    pub fn set_charter(&mut self, charter: Sealed) {
        self.membership = Some(Membership::new(charter, Vec::new()));
    }

    /// Records held in quarantine.
    pub fn quarantined(&self) -> usize {
        self.membership.as_ref().map_or(0, |m| m.quarantine().len())
    }

    /// How many records it holds.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True if it holds none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Changes its rules.
    pub fn set_rules(&mut self, rules: Rules) {
        self.rules = rules;
    }

    /// The signed bytes of every record it holds, in item order.
    pub fn records(&self) -> Vec<Vec<u8>> {
        self.items
            .iter()
            .filter_map(|i| self.store.get(&RecordId(i.id)).ok().flatten())
            .collect()
    }

    /// Whether a record is among its items: stored and valid, so shown and
    /// reconciled (a record membership flagged invalid is held, not shown).
    pub fn shows(&self, id: &Id) -> bool {
        self.items.iter().any(|i| i.id == *id)
    }

    /// Whether it holds a record (shown, or flagged invalid and kept).
    pub fn holds(&self, id: &Id) -> bool {
        self.store.contains(&RecordId(*id)).unwrap_or(false)
    }
}

impl setu_proto::store::Store for SimStore {
    fn snapshot(&mut self) -> Option<Arc<Vec<Item>>> {
        Some(Arc::clone(&self.items))
    }

    fn get(&self, id: &Id) -> Option<Vec<u8>> {
        self.store.get(&RecordId(*id)).ok().flatten()
    }

    fn contains(&self, id: &Id) -> bool {
        self.store.contains(&RecordId(*id)).unwrap_or(true)
    }

    fn items_from(&self, bound: &Bound, limit: usize) -> Vec<Item> {
        let Bound::At { ts, prefix } = bound else {
            return Vec::new();
        };
        let mut id = [0u8; 32];
        id[..prefix.len().min(32)].copy_from_slice(&prefix[..prefix.len().min(32)]);
        let from = Item { ts: *ts, id };
        let start = self.items.partition_point(|i| *i < from);
        self.items[start..].iter().take(limit).copied().collect()
    }

    fn ingest(&mut self, records: Vec<Parsed>, now: u64) -> Result<Vec<Verdict>, String> {
        let checked: Vec<Checked> = records
            .into_iter()
            .map(|r| {
                let older = self
                    .rules
                    .older_kinds()
                    .filter(|known| !known.knows(&r.envelope().kind))
                    .map(|known| (known, r.bytes().to_vec()));
                let (id, c) = self.checks.check(r);
                // An older node checks only the envelope and signature of a
                // kind it does not know: the body is opaque to it.
                let c = match (older, c) {
                    (Some((known, _)), Ok(rec)) => Ok(rec.as_known_by(known)),
                    (Some((known, bytes)), Err(e)) if e.reason == record::Reason::Schema => {
                        record::check_known(bytes, known)
                    }
                    (_, c) => c,
                };
                match c {
                    // Another version's rule: refused by the schema.
                    Ok(rec) if self.rules.refuses(&rec.id().0) => (
                        id,
                        Err(RecordError::one(
                            record::Reason::Schema,
                            "body",
                            "refused by this node's test-only rule set",
                        )),
                    ),
                    c => (id, c),
                }
            })
            .collect();
        let cfg = ingest::Config::default();
        let SimStore {
            store,
            checks,
            membership,
            ..
        } = self;
        // What a membership change took out of the items (false) or put
        // in (true), in order: a record may go out in one round and come
        // back in the next.
        let mut moved: Vec<((u64, RecordId), bool)> = Vec::new();
        let (done, mut stored) = match membership {
            None => {
                let done =
                    ingest::ingest_checked(store, checked, now, &cfg).map_err(|e| e.to_string())?;
                let stored = done.stored.clone();
                (done, stored)
            }
            Some(m) => {
                let (done, mut changed) = m
                    .ingest(store, checked, now, &cfg)
                    .map_err(|e| e.to_string())?;
                let mut stored = done.stored.clone();
                // A membership change flags stored records invalid (they
                // leave the items) or valid again (they come back).
                moved.extend(done.invalidated.iter().map(|x| (*x, false)));
                moved.extend(done.revalidated.iter().map(|x| (*x, true)));
                // What a membership change let out of quarantine is stored
                // too (not the caller's verdicts).
                while changed {
                    let released: Vec<Checked> = m
                        .release(now)
                        .into_iter()
                        .filter_map(|b| record::parse(b).ok())
                        .map(|p| checks.check(p))
                        .collect();
                    if released.is_empty() {
                        break;
                    }
                    let (more, again) = m
                        .ingest(store, released, now, &cfg)
                        .map_err(|e| e.to_string())?;
                    stored.extend(more.stored);
                    moved.extend(more.invalidated.into_iter().map(|x| (x, false)));
                    moved.extend(more.revalidated.into_iter().map(|x| (x, true)));
                    changed = again;
                }
                (done, stored)
            }
        };
        // Stored records join first; then the moves, in the order they
        // happened, decide what is in the items at the end.
        let mut last: std::collections::HashMap<(u64, RecordId), bool> = Default::default();
        for (x, into) in moved {
            last.insert(x, into);
        }
        stored.retain(|x| last.get(x) != Some(&false));
        stored.extend(last.iter().filter(|(_, into)| **into).map(|(x, _)| *x));
        stored.sort_unstable();
        stored.dedup();
        let gone: std::collections::HashSet<Item> = last
            .iter()
            .filter(|(_, into)| !**into)
            .map(|((ts, id), _)| Item { ts: *ts, id: id.0 })
            .collect();
        if !gone.is_empty() {
            Arc::make_mut(&mut self.items).retain(|i| !gone.contains(i));
        }
        if !stored.is_empty() {
            let items = Arc::make_mut(&mut self.items);
            for (ts, id) in &stored {
                let item = Item { ts: *ts, id: id.0 };
                if let Err(at) = items.binary_search(&item) {
                    items.insert(at, item);
                }
            }
        }
        Ok(setu_store::proto::verdicts(done))
    }

    fn rule_changes(&self) -> u64 {
        self.membership.as_ref().map_or(0, Membership::changes)
    }
}
