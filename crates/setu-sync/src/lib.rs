//! # setu-sync
//!
//! Range-based set reconciliation over the (ts, id) index, in the spirit of
//! negentropy, as a sans-IO state machine: messages in, messages out, no
//! clocks, no sockets. `spec/sync.md` specifies the messages, the
//! fingerprint and the split rule; `spec/vectors/sync.json` shows exact
//! exchanges.
//!
//! ```
//! use setu_sync::item::Item;
//! use setu_sync::reconcile::{Config, run_pair};
//!
//! let item = |n: u8| Item { ts: u64::from(n), id: [n; 32] };
//! let a: Vec<Item> = (1..=100).map(item).collect();          // 1..=100
//! let b: Vec<Item> = (1..=100).filter(|n| n % 10 != 0).map(item).collect(); // lacks 10, 20, ...
//! let t = run_pair(a, b, Config::default(), Config::default()).unwrap();
//! assert_eq!(t.give_a.len(), 10); // the initiator learns what to send
//! assert!(t.give_b.is_empty());
//! ```

#![deny(missing_docs)]

pub mod bulk;
pub mod item;
pub mod reconcile;
pub mod wire;
