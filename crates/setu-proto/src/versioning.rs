//! What a node does with input a newer or older version might judge
//! otherwise ([`spec/versioning.md`](../../../spec/versioning.md)).
//!
//! - A ban is only for input no version could accept: a bad signature or
//!   key, bytes that are not canonical CBOR, a malformed or oversize frame.
//! - A record refused by a rule the sender may not share (the schema, the
//!   envelope's fields, the size limit, a membership rule) is refused, not
//!   punished, and its id is remembered in a bounded [`Refusals`] so that it
//!   is neither asked for nor wanted again every round.

use std::collections::{HashSet, VecDeque};

use setu_core::record::{Reason, RecordError};
use setu_sync::item::Id;

/// Most refused record ids remembered; the oldest are forgotten first.
pub const MAX_REMEMBERED_REFUSALS: usize = 65_536;

/// Whether an invalid record is an offence: something no version of the
/// rules could accept, so its sender is banned.
///
/// | reason | offence | why |
/// | --- | --- | --- |
/// | `cbor`, `noncanonical` | yes | the bytes are not one canonical encoding, under any rules |
/// | `key`, `signature` | yes | the author did not sign it |
/// | `size`, `envelope`, `schema` | no | a later version may raise the limit or add fields, kinds and codes |
pub fn is_offence(e: &RecordError) -> bool {
    match e.reason {
        Reason::Cbor | Reason::Noncanonical | Reason::Key | Reason::Signature => true,
        // Size, envelope, schema, and any reason added later.
        _ => false,
    }
}

/// The ids of records this node refused by a rule it may not share with
/// its peers, oldest first, at most [`MAX_REMEMBERED_REFUSALS`].
#[derive(Debug, Default)]
pub struct Refusals {
    set: HashSet<Id>,
    order: VecDeque<Id>,
}

impl Refusals {
    /// Remembers a refused id (forgetting the oldest beyond the cap).
    pub fn insert(&mut self, id: Id) {
        if !self.set.insert(id) {
            return;
        }
        self.order.push_back(id);
        while self.order.len() > MAX_REMEMBERED_REFUSALS {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
    }

    /// Whether the id was refused (and is still remembered).
    pub fn contains(&self, id: &Id) -> bool {
        self.set.contains(id)
    }

    /// How many ids are remembered.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// True when none is.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offences_are_what_no_version_accepts() {
        let table = [
            (Reason::Cbor, true),
            (Reason::Noncanonical, true),
            (Reason::Key, true),
            (Reason::Signature, true),
            (Reason::Size, false),
            (Reason::Envelope, false),
            (Reason::Schema, false),
        ];
        for (reason, offence) in table {
            let e = RecordError {
                reason,
                problems: vec![],
            };
            assert_eq!(is_offence(&e), offence, "{reason}");
        }
    }

    #[test]
    fn refusals_are_bounded_and_forget_the_oldest() {
        let mut r = Refusals::default();
        let id = |n: u32| {
            let mut b = [0u8; 32];
            b[..4].copy_from_slice(&n.to_be_bytes());
            b
        };
        for n in 0..(MAX_REMEMBERED_REFUSALS as u32 + 10) {
            r.insert(id(n));
        }
        r.insert(id(20)); // still remembered: no effect
        assert_eq!(r.len(), MAX_REMEMBERED_REFUSALS);
        assert!(!r.contains(&id(0)) && !r.contains(&id(9)));
        assert!(r.contains(&id(10)) && r.contains(&id(MAX_REMEMBERED_REFUSALS as u32 + 9)));
    }
}
