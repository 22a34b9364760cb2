//! The revision chain of one practice, and how its current revision is
//! chosen ([`spec/store.md` §3](../../../spec/store.md)).
//!
//! A practice is owned by the pair (author, `practice_id`). Its chain keeps
//! every revision record the store holds, linked or not, so that revisions
//! that arrive out of order are held and linked as soon as the gap fills:
//! the linked chain is recomputed from the entries, never patched.

use serde::{Deserialize, Serialize};
use setu_core::ids::RecordId;

/// The store's name of a chain (`spec/store.md` §7): the `practice_id`
/// for a practice, `kind/id` for any other kind. `/` never occurs in an
/// id, so the names of different kinds never meet.
pub fn name(kind: &str, id: &str) -> String {
    if kind == setu_core::practice::KIND {
        id.to_string()
    } else {
        format!("{kind}/{id}")
    }
}

/// The kind and id a chain name stands for ([`name`] undone).
pub fn split(name: &str) -> (&str, &str) {
    match name.split_once('/') {
        Some((kind, id)) => (kind, id),
        None => (setu_core::practice::KIND, name),
    }
}

/// How a chain is named to people: `practice X`, `adoption Y`.
pub fn label(name: &str) -> String {
    let (kind, id) = split(name);
    format!("{kind} {id}")
}

/// Most revision records one practice may hold (linked, held and
/// equivocating together). A record past this is refused.
pub const MAX_CHAIN_ENTRIES: usize = 4_096;

/// One revision record of a practice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// `body.revision`.
    pub revision: u64,
    /// The record id.
    pub id: RecordId,
    /// `body.supersedes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<RecordId>,
    /// True for a withdrawal.
    pub withdrawal: bool,
    /// `envelope.ts`.
    pub ts: u64,
    /// True once the network's membership made the record invalid
    /// (`spec/membership.md` §8.1): it is kept for audit, and linking
    /// passes over it as if it were not held.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub invalid: bool,
}

/// Everything the store keeps about one practice.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chain {
    /// Every revision record held, sorted by (revision, id).
    pub entries: Vec<Entry>,
    /// The store's change counter when this chain last changed; the search
    /// index uses it to find what it has not yet seen.
    pub change: u64,
    /// When this node stored the chain's latest change (ms since 1970, by
    /// this node's clock, never less than any earlier one): the datestamp
    /// harvesters select by (`spec/store.md` §7, key `u`). Local: two
    /// nodes holding the same chain give it different times. 0 in a store
    /// written before the field existed, until it is stamped at open.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stored: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The state of a practice, derived from its chain.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    /// The linked revisions, from revision 1 up: for each, the chosen record.
    pub linked: Vec<Entry>,
    /// The latest linked revision that is not a withdrawal: what a query shows.
    pub current: Option<Entry>,
    /// True if the linked chain ends in a withdrawal.
    pub withdrawn: bool,
    /// True if two records claim the same revision.
    pub equivocated: bool,
    /// Records held but not linked (a gap below them, or a bad link).
    pub held: Vec<RecordId>,
    /// Records the membership made invalid: kept, never linked.
    pub invalid: Vec<RecordId>,
}

impl Chain {
    /// Adds a revision record, keeping the entries sorted. Returns false if
    /// it was already there.
    pub fn insert(&mut self, entry: Entry) -> bool {
        let key = (entry.revision, entry.id);
        match self
            .entries
            .binary_search_by_key(&key, |e| (e.revision, e.id))
        {
            Ok(_) => false,
            Err(at) => {
                self.entries.insert(at, entry);
                true
            }
        }
    }

    /// The entry with this id.
    pub fn entry(&self, id: &RecordId) -> Option<&Entry> {
        self.entries.iter().find(|e| e.id == *id)
    }

    /// Links the chain: revision 1 is the lowest-id record of revision 1
    /// with no `supersedes`; revision k is the lowest-id record of revision k
    /// whose `supersedes` is the chosen record of revision k−1. Linking stops
    /// at a gap or at a withdrawal. Invalid records are passed over, so a
    /// withdrawal a revocation invalidated no longer ends the chain and the
    /// revisions held above it link again.
    pub fn state(&self) -> State {
        let mut state = State::default();
        let mut prev: Option<RecordId> = None;
        let mut revision = 1;
        loop {
            // Entries are sorted by (revision, id): the first match has the
            // lowest id. A withdrawal wins over active records of the same
            // revision, so that a withdrawal stays final even if its author
            // equivocates.
            let candidates = || {
                self.entries
                    .iter()
                    .filter(|e| !e.invalid && e.revision == revision && e.supersedes == prev)
            };
            let chosen = candidates()
                .find(|e| e.withdrawal)
                .or_else(|| candidates().next());
            let Some(chosen) = chosen else { break };
            state.linked.push(chosen.clone());
            if chosen.withdrawal {
                state.withdrawn = true;
                break;
            }
            state.current = Some(chosen.clone());
            prev = Some(chosen.id);
            revision += 1;
        }
        let mut last_rev = 0;
        for e in &self.entries {
            if e.invalid {
                state.invalid.push(e.id);
                continue;
            }
            if e.revision == last_rev {
                state.equivocated = true;
            }
            last_rev = e.revision;
            if !state.linked.iter().any(|l| l.id == e.id) {
                state.held.push(e.id);
            }
        }
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(revision: u64, id: u8, supersedes: Option<u8>, withdrawal: bool) -> Entry {
        Entry {
            revision,
            id: RecordId([id; 32]),
            supersedes: supersedes.map(|s| RecordId([s; 32])),
            withdrawal,
            ts: 0,
            invalid: false,
        }
    }

    #[test]
    fn out_of_order_revisions_link_when_the_gap_fills() {
        let mut c = Chain::default();
        c.insert(e(1, 1, None, false));
        c.insert(e(3, 3, Some(2), false));
        let s = c.state();
        assert_eq!(s.current.map(|x| x.revision), Some(1));
        assert_eq!(s.held, vec![RecordId([3; 32])]);
        c.insert(e(2, 2, Some(1), false));
        let s = c.state();
        assert_eq!(s.current.map(|x| x.revision), Some(3));
        assert!(s.held.is_empty());
    }

    #[test]
    fn equivocation_keeps_both_and_the_lower_id_wins() {
        let mut c = Chain::default();
        c.insert(e(1, 9, None, false));
        c.insert(e(1, 4, None, false));
        c.insert(e(2, 7, Some(9), false)); // follows the loser: not linked
        let s = c.state();
        assert!(s.equivocated);
        assert_eq!(s.current.as_ref().map(|x| x.id), Some(RecordId([4; 32])));
        assert_eq!(s.held.len(), 2);
    }

    #[test]
    fn a_withdrawal_wins_over_an_equivocating_active_record() {
        let mut c = Chain::default();
        c.insert(e(1, 1, None, false));
        c.insert(e(2, 9, Some(1), true));
        c.insert(e(2, 2, Some(1), false)); // lower id, but not a withdrawal
        let s = c.state();
        assert!(s.withdrawn && s.equivocated);
        assert_eq!(s.current.map(|x| x.revision), Some(1));
    }

    #[test]
    fn an_invalid_withdrawal_no_longer_ends_the_chain() {
        let mut c = Chain::default();
        c.insert(e(1, 1, None, false));
        c.insert(e(2, 9, Some(1), true)); // a thief's withdrawal
        c.insert(e(2, 2, Some(1), false)); // the agency's revision 2
        c.insert(e(3, 3, Some(2), false)); // and 3, held above the withdrawal
        let s = c.state();
        assert!(s.withdrawn);
        assert_eq!(s.held.len(), 2);
        c.entries
            .iter_mut()
            .for_each(|x| x.invalid |= x.id.0[0] == 9);
        let s = c.state();
        assert!(!s.withdrawn && !s.equivocated, "{s:?}");
        assert_eq!(s.current.map(|x| x.revision), Some(3));
        assert_eq!(s.invalid, vec![RecordId([9; 32])]);
        assert!(s.held.is_empty());
    }

    #[test]
    fn withdrawal_is_final() {
        let mut c = Chain::default();
        c.insert(e(1, 1, None, false));
        c.insert(e(2, 2, Some(1), true));
        c.insert(e(3, 3, Some(2), false));
        let s = c.state();
        assert!(s.withdrawn);
        assert_eq!(s.current.map(|x| x.revision), Some(1));
        assert_eq!(s.held, vec![RecordId([3; 32])]);
    }
}
