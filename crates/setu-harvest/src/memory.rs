//! An in-memory [`Repository`] for tests, examples and the doctests: items
//! kept in the order a node's change list keeps them.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};

use crate::{Item, Record, RepoError, Repository};

/// The sort key of an item: (stamp, author, kind, id).
type Key = (u64, [u8; 32], String, String);

/// Items in change-list order, one per chain; putting a chain again moves
/// it to its new stamp, as a node does when it stores a newer revision.
#[derive(Debug, Default)]
pub struct Memory {
    items: BTreeMap<Key, Item>,
    /// Where each chain (author, kind, id) sits in `items`.
    index: HashMap<([u8; 32], String, String), Key>,
    /// When set, every call fails with [`RepoError::Unavailable`].
    pub fail: bool,
    /// How many items the `changes` calls have returned so far.
    pub returned: Cell<usize>,
}

impl Memory {
    /// An empty repository.
    pub fn new() -> Memory {
        Memory::default()
    }

    /// Stores `item`, replacing the chain's previous entry. Its cursor is
    /// set here.
    pub fn put(&mut self, mut item: Item) {
        let chain = (item.author, item.kind.clone(), item.id.clone());
        if let Some(old) = self.index.remove(&chain) {
            self.items.remove(&old);
        }
        item.cursor = cursor_of(item.stamp_ms, &item.author, &item.kind, &item.id);
        let key = (
            item.stamp_ms,
            item.author,
            item.kind.clone(),
            item.id.clone(),
        );
        self.index.insert(chain, key.clone());
        self.items.insert(key, item);
    }

    /// Stores an active practice with this body (its record id and signed
    /// bytes are made up from the id and the stamp).
    pub fn put_practice(
        &mut self,
        author: [u8; 32],
        id: &str,
        stamp_ms: u64,
        body: serde_json::Value,
    ) {
        self.put_kind(author, "practice", id, stamp_ms, false, body);
    }

    /// Stores an item of any kind; `deleted` marks a withdrawal.
    pub fn put_kind(
        &mut self,
        author: [u8; 32],
        kind: &str,
        id: &str,
        stamp_ms: u64,
        deleted: bool,
        body: serde_json::Value,
    ) {
        let mut rid = [0u8; 32];
        for (i, b) in id.bytes().chain(stamp_ms.to_be_bytes()).enumerate() {
            rid[i % 32] ^= b.wrapping_add(i as u8);
        }
        let bytes = format!("signed:{kind}:{id}:{stamp_ms}").into_bytes();
        self.put(Item {
            stamp_ms,
            cursor: String::new(),
            author,
            kind: kind.to_string(),
            id: id.to_string(),
            deleted,
            record: Some(Record {
                id: rid,
                json: body,
                bytes,
                ts_ms: stamp_ms.saturating_sub(1000),
            }),
        });
    }

    /// Number of items held.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True if no item is held.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn check(&self) -> Result<(), RepoError> {
        if self.fail {
            Err(RepoError::Unavailable(
                "memory repository set to fail".into(),
            ))
        } else {
            Ok(())
        }
    }
}

/// `STAMP/AUTHOR/KIND/ID`: the sort key, readable back by [`parse_cursor`].
fn cursor_of(stamp: u64, author: &[u8; 32], kind: &str, id: &str) -> String {
    format!("{stamp}/{}/{kind}/{id}", hex::encode(author))
}

fn parse_cursor(c: &str) -> Option<Key> {
    let mut parts = c.splitn(4, '/');
    let stamp = parts.next()?.parse().ok()?;
    let author: [u8; 32] = hex::decode(parts.next()?).ok()?.try_into().ok()?;
    let kind = parts.next()?.to_string();
    let id = parts.next()?.to_string();
    Some((stamp, author, kind, id))
}

impl Repository for Memory {
    fn changes(
        &self,
        from_ms: Option<u64>,
        until_ms: Option<u64>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Item>, RepoError> {
        self.check()?;
        let after = match after {
            Some(c) => Some(parse_cursor(c).ok_or_else(|| RepoError::BadCursor(c.to_string()))?),
            None => None,
        };
        use std::ops::Bound;
        let lower = match after {
            Some(a) => Bound::Excluded(a),
            None => Bound::Unbounded,
        };
        let out: Vec<Item> = self
            .items
            .range((lower, Bound::Unbounded))
            .filter(|(k, _)| from_ms.is_none_or(|f| k.0 >= f) && until_ms.is_none_or(|u| k.0 <= u))
            .take(limit)
            .map(|(_, i)| i.clone())
            .collect();
        self.returned.set(self.returned.get() + out.len());
        Ok(out)
    }

    fn item(&self, author: &[u8; 32], kind: &str, id: &str) -> Result<Option<Item>, RepoError> {
        self.check()?;
        let chain = (*author, kind.to_string(), id.to_string());
        Ok(self
            .index
            .get(&chain)
            .and_then(|k| self.items.get(k))
            .cloned())
    }

    fn earliest_stamp(&self) -> Result<Option<u64>, RepoError> {
        self.check()?;
        Ok(self.items.keys().next().map(|k| k.0))
    }
}
