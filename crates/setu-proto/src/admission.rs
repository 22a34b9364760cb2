//! Which records from peers this node accepts beyond the ingest rules:
//! an optional allow-list of authors and a per-author hourly quota
//! ([`spec/net.md` §6](../../../spec/net.md)). Sans-IO: the clock is passed in.
//!
//! Until membership exists, these are what keep a stranger's valid records
//! from filling the disk. Records over quota are refused, not stored; the
//! node's own key is never limited.

use std::collections::{HashMap, HashSet};

use setu_core::ids::AuthorKey;

/// The quota window.
pub const WINDOW_MS: u64 = 60 * 60 * 1000;
/// Most authors tracked for quota at once; the stalest are forgotten.
pub const MAX_TRACKED_AUTHORS: usize = 100_000;

/// Admission settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// If set, only records by these authors are accepted from peers.
    pub allow_authors: Option<Vec<AuthorKey>>,
    /// Most records per author per hour, if set.
    pub max_records_per_hour: Option<u64>,
    /// Most record bytes per author per hour, if set.
    pub max_bytes_per_hour: Option<u64>,
}

impl Config {
    /// True if any rule is set.
    pub fn is_active(&self) -> bool {
        self.allow_authors.is_some()
            || self.max_records_per_hour.is_some()
            || self.max_bytes_per_hour.is_some()
    }
}

/// Why a record was not admitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The author is not on the allow-list.
    #[error("author {0} is not in network.allow_authors")]
    NotAllowed(AuthorKey),
    /// The author used up its hourly record quota.
    #[error("author {author} is over network.quota_records_per_hour ({limit})")]
    Records {
        /// The author.
        author: AuthorKey,
        /// The limit.
        limit: u64,
    },
    /// The author used up its hourly byte quota.
    #[error("author {author} is over network.quota_bytes_per_hour ({limit})")]
    Bytes {
        /// The author.
        author: AuthorKey,
        /// The limit.
        limit: u64,
    },
}

#[derive(Debug, Clone, Copy)]
struct Usage {
    window_start: u64,
    records: u64,
    bytes: u64,
}

/// The admission state.
#[derive(Debug)]
pub struct Admission {
    cfg: Config,
    allow: Option<HashSet<AuthorKey>>,
    own: Option<AuthorKey>,
    usage: HashMap<AuthorKey, Usage>,
}

impl Admission {
    /// New state; `own` is this node's publishing key, never limited.
    pub fn new(cfg: Config, own: Option<AuthorKey>) -> Admission {
        Admission {
            allow: cfg
                .allow_authors
                .as_ref()
                .map(|a| a.iter().copied().collect()),
            cfg,
            own,
            usage: HashMap::new(),
        }
    }

    /// True if any rule is set.
    pub fn is_active(&self) -> bool {
        self.cfg.is_active()
    }

    /// Whether a record of `bytes` bytes by `author` may be stored at `now`
    /// (ms). Does not charge the quota: call [`Admission::charge`] once it is
    /// stored.
    pub fn check(&mut self, author: &AuthorKey, bytes: usize, now: u64) -> Result<(), Refusal> {
        if self.own.as_ref() == Some(author) {
            return Ok(());
        }
        if let Some(allow) = &self.allow
            && !allow.contains(author)
        {
            return Err(Refusal::NotAllowed(*author));
        }
        let u = self.usage_at(author, now);
        if let Some(limit) = self.cfg.max_records_per_hour
            && u.records >= limit
        {
            return Err(Refusal::Records {
                author: *author,
                limit,
            });
        }
        if let Some(limit) = self.cfg.max_bytes_per_hour
            && u.bytes + bytes as u64 > limit
        {
            return Err(Refusal::Bytes {
                author: *author,
                limit,
            });
        }
        Ok(())
    }

    /// Counts a stored record against its author's quota.
    pub fn charge(&mut self, author: &AuthorKey, bytes: usize, now: u64) {
        if self.own.as_ref() == Some(author)
            || (self.cfg.max_records_per_hour.is_none() && self.cfg.max_bytes_per_hour.is_none())
        {
            return;
        }
        if self.usage.len() >= MAX_TRACKED_AUTHORS && !self.usage.contains_key(author) {
            self.usage
                .retain(|_, u| now.saturating_sub(u.window_start) < WINDOW_MS);
            if self.usage.len() >= MAX_TRACKED_AUTHORS {
                return;
            }
        }
        let mut u = self.usage_at(author, now);
        u.records += 1;
        u.bytes += bytes as u64;
        self.usage.insert(*author, u);
    }

    /// Gives back what [`Admission::charge`] counted for a record that was
    /// not stored after all (a duplicate, or refused by the store), so
    /// re-sent copies of an author's records cannot use up its quota.
    pub fn refund(&mut self, author: &AuthorKey, bytes: usize) {
        if let Some(u) = self.usage.get_mut(author) {
            u.records = u.records.saturating_sub(1);
            u.bytes = u.bytes.saturating_sub(bytes as u64);
        }
    }

    fn usage_at(&self, author: &AuthorKey, now: u64) -> Usage {
        match self.usage.get(author) {
            Some(u) if now.saturating_sub(u.window_start) < WINDOW_MS => *u,
            _ => Usage {
                window_start: now,
                records: 0,
                bytes: 0,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> AuthorKey {
        AuthorKey([n; 32])
    }

    #[test]
    fn allow_list_and_quota() {
        let cfg = Config {
            allow_authors: Some(vec![key(1), key(2)]),
            max_records_per_hour: Some(2),
            max_bytes_per_hour: Some(1000),
        };
        let mut a = Admission::new(cfg, Some(key(9)));
        assert_eq!(a.check(&key(3), 10, 0), Err(Refusal::NotAllowed(key(3))));
        for _ in 0..2 {
            assert_eq!(a.check(&key(1), 10, 0), Ok(()));
            a.charge(&key(1), 10, 0);
        }
        assert!(matches!(
            a.check(&key(1), 10, 5),
            Err(Refusal::Records { .. })
        ));
        // Another author has its own quota; the byte limit counts too.
        assert!(matches!(
            a.check(&key(2), 1001, 5),
            Err(Refusal::Bytes { .. })
        ));
        // The window rolls over.
        assert_eq!(a.check(&key(1), 10, WINDOW_MS), Ok(()));
        // A refund (a duplicate, not stored) gives the quota back.
        a.refund(&key(1), 10);
        assert_eq!(a.check(&key(1), 10, 5), Ok(()));
        // The node's own key is never limited.
        for _ in 0..10 {
            assert_eq!(a.check(&key(9), 10_000, 0), Ok(()));
            a.charge(&key(9), 10_000, 0);
        }
    }
}
