//! # setu-proto
//!
//! The rules of a setu node as a sans-IO state machine
//! ([`spec/net.md`](../../../spec/net.md)): what it stores, relays, fetches
//! and bans. Inputs in, outputs out; the clock, the randomness and the store
//! are passed in, so the same [`state::State`] runs in the node (driven by
//! `setu-net` over libp2p) and in the simulator (`setu-sim`), and any run
//! replays from its seed.
//!
//! | module | what |
//! | --- | --- |
//! | [`state`] | the node state machine: `handle(now, input) -> outputs` |
//! | [`store`] | what the state needs of a store, and the operations it hands out |
//! | [`message`] | the request/response frames and the gossip announcement |
//! | [`admission`] | allow-list and per-author quota |
//! | [`versioning`] | what is an offence, and the bounded memory of refusals |
//!
//! A node that is asked to reconcile answers, and asks its store nothing
//! it does not need:
//!
//! ```
//! use setu_proto::message::{Request, Response};
//! use setu_proto::state::{Config, Input, Output, State};
//! use setu_proto::store::{Done, Op};
//! use std::sync::Arc;
//!
//! let mut node: State<u32, &str> = State::new(Config::default());
//! // The first input makes the state ask for a snapshot of its items.
//! let out = node.handle(0, Input::Connected { peer: 7, dialer: false, remote: "peer-7" });
//! let ticket = out.iter().find_map(|o| match o {
//!     Output::Store { ticket, op: Op::Snapshot } => Some(*ticket),
//!     _ => None,
//! }).unwrap();
//! node.handle(1, Input::Done { ticket, done: Done::Snapshot(Some(Arc::new(vec![]))) });
//! // A peer asks to fetch a record: the state hands the store a load.
//! let out = node.handle(2, Input::Request {
//!     peer: 7, channel: 1, bytes: Request::Fetch(vec![[9; 32]]).encode(),
//! });
//! assert!(matches!(&out[..], [Output::Store { op: Op::Load { .. }, .. }]));
//! ```

#![deny(missing_docs)]

pub mod admission;
pub mod message;
pub mod state;
pub mod store;
pub mod versioning;
