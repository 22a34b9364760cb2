//! # setu-net
//!
//! The network driver of a setu node ([`spec/net.md`](../../../spec/net.md)):
//! a libp2p swarm (TCP, noise, yamux; identify, ping, optional mDNS) that
//! gossips records with gossipsub and reconciles with each peer over
//! request_response, driving the sans-IO state machines of `setu-sync`.
//!
//! | module | what |
//! | --- | --- |
//! | [`config`] | settings; the topic and protocol names derived from the network name |
//! | [`message`] | the request/response frames |
//! | [`codec`] | the request_response codec (one size-capped frame per stream) |
//! | [`admission`] | allow-list and per-author quota |
//! | [`transport`] | TCP, noise and yamux, with a byte meter on each socket |
//! | [`behaviour`] | the composed libp2p behaviours and the swarm |
//! | [`driver`] | the task that owns the swarm, and its [`driver::Handle`] |
//!
//! Names derived from the network name keep networks apart:
//!
//! ```
//! let cfg = setu_net::config::Config { network: "demo".into(), ..Default::default() };
//! assert_eq!(cfg.topic(), "setu/demo/announce/1");
//! assert_eq!(cfg.sync_protocol().as_ref(), "/setu/demo/sync/1");
//! assert!(cfg.validate().is_ok());
//! ```

#![deny(missing_docs)]

pub mod behaviour;
pub mod codec;
pub mod config;
pub mod driver;
pub mod owner;
pub mod transport;

pub use setu_proto::{admission, message};

pub use libp2p::{Multiaddr, PeerId, gossipsub, identity, multiaddr, request_response, swarm};

/// Why the driver failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting is bad.
    #[error("{0}")]
    Config(#[from] config::ConfigError),
    /// The swarm could not be built.
    #[error("network setup: {0}")]
    Setup(String),
    /// A listen address could not be bound.
    #[error("network.listen: cannot listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: String,
        /// Why.
        reason: String,
    },
    /// An address could not be dialled.
    #[error("cannot dial {addr}: {reason}")]
    Dial {
        /// The address.
        addr: String,
        /// Why.
        reason: String,
    },
    /// The driver has stopped.
    #[error("the network driver has stopped")]
    Stopped,
    /// An attachment could not be kept or fetched.
    #[error("attachment: {0}")]
    Blob(String),
    /// The peers that hold an attachment's hash hold it with another size
    /// than the one asked for (a record's size is wrong).
    #[error("attachment: peers hold this content with {held} bytes, not {asked}")]
    OtherSize {
        /// The size asked for.
        asked: u64,
        /// The size the peers hold (the most common).
        held: u64,
    },
}
