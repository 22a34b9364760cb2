//! Network settings and the names derived from the network name
//! ([`spec/net.md` §2](../../../spec/net.md)).

use std::time::Duration;

use libp2p::{Multiaddr, StreamProtocol};

use crate::admission;

/// The network name used when none is configured.
pub const DEFAULT_NETWORK: &str = "setu-main";
/// Longest network name.
pub const MAX_NETWORK_NAME: usize = 32;
/// Default interval between sync rounds with each connected peer.
pub const DEFAULT_SYNC_INTERVAL: Duration = Duration::from_secs(60);
/// Shortest allowed sync interval.
pub const MIN_SYNC_INTERVAL: Duration = Duration::from_millis(200);
/// Longest sync interval: a day. (Longer would no longer keep a replica
/// current, and far longer would overflow the protocol core's clock
/// arithmetic.)
pub const MAX_SYNC_INTERVAL: Duration = Duration::from_secs(86_400);
/// Most bootstrap addresses.
pub const MAX_BOOTSTRAP: usize = 64;
/// Most listen addresses.
pub const MAX_LISTEN: usize = 16;
/// Most relays a node reserves a slot on.
pub const MAX_RELAYS: usize = 4;

pub use setu_proto::state::Gossip;

/// Network settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The network name: nodes of different networks never mix.
    pub network: String,
    /// Addresses to listen on, e.g. `/ip4/0.0.0.0/tcp/7000`.
    pub listen: Vec<Multiaddr>,
    /// Peers to dial at start and redial with backoff.
    pub bootstrap: Vec<Multiaddr>,
    /// Find peers on the local network with mDNS.
    pub mdns: bool,
    /// How often to reconcile with each connected peer.
    pub sync_interval: Duration,
    /// Which records from peers are accepted.
    pub admission: admission::Config,
    /// What gossip carries.
    pub gossip: Gossip,
    /// Serve as a circuit relay for nodes that cannot accept connections
    /// (`network.relay = true`).
    pub relay: bool,
    /// Relays to reserve a slot on, so that nodes behind NAT are reachable
    /// through them: full addresses ending in `/p2p/PEER_ID`.
    pub relays: Vec<Multiaddr>,
    /// Find peers beyond the bootstrap list with Kademlia.
    pub kademlia: bool,
    /// The peers the node keeps (at most `behaviour::MAX_CONNECTIONS`):
    /// Kademlia looks for more while it keeps fewer, and chooses at most
    /// half of them itself; the connections its lookups opened beyond
    /// them are closed (`spec/net.md` §3.3, §3.4). 0: it never looks, and
    /// the node dials only its bootstrap peers, relays and the holders of
    /// content it fetches.
    pub target_peers: usize,
    /// Where attachments are kept (`content/` of the data dir); `None`: the
    /// node keeps none, and refuses attachment requests.
    pub content: Option<std::path::PathBuf>,
    /// Bytes per second of attachments served to one peer, at most
    /// (`network.attachment_bytes_per_sec`).
    pub blob_rate: u64,
}

/// The default of [`Config::target_peers`].
pub const DEFAULT_TARGET_PEERS: usize = 6;

/// The default per-peer rate of attachments served: 8 MiB/s.
pub const DEFAULT_BLOB_RATE: u64 = 8 << 20;
/// The least per-peer rate a node may set: 16 KiB/s, one block a second.
pub const MIN_BLOB_RATE: u64 = 16 << 10;

impl Default for Config {
    fn default() -> Config {
        Config {
            network: DEFAULT_NETWORK.to_string(),
            listen: Vec::new(),
            bootstrap: Vec::new(),
            mdns: true,
            sync_interval: DEFAULT_SYNC_INTERVAL,
            admission: admission::Config::default(),
            gossip: Gossip::default(),
            relay: false,
            relays: Vec::new(),
            kademlia: true,
            target_peers: DEFAULT_TARGET_PEERS,
            content: None,
            blob_rate: DEFAULT_BLOB_RATE,
        }
    }
}

/// Why a network setting is bad.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ConfigError {
    /// The setting, as named in `setu.toml`.
    pub field: &'static str,
    /// Why.
    pub reason: String,
}

impl Config {
    /// Checks every setting.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_network_name(&self.network)?;
        if self.listen.len() > MAX_LISTEN {
            return Err(ConfigError {
                field: "network.listen",
                reason: format!("at most {MAX_LISTEN} addresses"),
            });
        }
        if self.bootstrap.len() > MAX_BOOTSTRAP {
            return Err(ConfigError {
                field: "network.bootstrap",
                reason: format!("at most {MAX_BOOTSTRAP} addresses"),
            });
        }
        if self.relays.len() > MAX_RELAYS {
            return Err(ConfigError {
                field: "network.relays",
                reason: format!("at most {MAX_RELAYS} relays"),
            });
        }
        for r in &self.relays {
            relay_peer(r).map_err(|reason| ConfigError {
                field: "network.relays",
                reason,
            })?;
        }
        if self.target_peers > crate::behaviour::MAX_CONNECTIONS as usize {
            return Err(ConfigError {
                field: "network.target_peers",
                reason: format!(
                    "at most {} (the most connections a node keeps)",
                    crate::behaviour::MAX_CONNECTIONS
                ),
            });
        }
        if self.blob_rate < MIN_BLOB_RATE {
            return Err(ConfigError {
                field: "network.attachment_bytes_per_sec",
                reason: format!("at least {MIN_BLOB_RATE} (one 16 KiB block a second)"),
            });
        }
        if self.sync_interval < MIN_SYNC_INTERVAL {
            return Err(ConfigError {
                field: "network.sync_interval_secs",
                reason: format!("at least {} ms", MIN_SYNC_INTERVAL.as_millis()),
            });
        }
        if self.sync_interval > MAX_SYNC_INTERVAL {
            return Err(ConfigError {
                field: "network.sync_interval_secs",
                reason: format!("at most {} s (a day)", MAX_SYNC_INTERVAL.as_secs()),
            });
        }
        Ok(())
    }

    /// The gossip topic: `setu/NETWORK/announce/1` (announcements), or
    /// `setu/NETWORK/records/1` (whole records). Nodes gossiping differently
    /// never share a topic.
    pub fn topic(&self) -> String {
        match self.gossip {
            Gossip::Announce => format!("setu/{}/announce/1", self.network),
            Gossip::Full => format!("setu/{}/records/1", self.network),
        }
    }

    /// The request/response protocol: `/setu/NETWORK/sync/1`.
    pub fn sync_protocol(&self) -> StreamProtocol {
        // The name is checked by `validate`: a-z, 0-9 and -.
        StreamProtocol::try_from_owned(format!("/setu/{}/sync/1", self.network))
            .unwrap_or(StreamProtocol::new("/setu/invalid/sync/1"))
    }

    /// Version 2 of the request/response protocol, with offers and wants
    /// (`spec/net.md` §5.3): `/setu/NETWORK/sync/2`. Its frames are version
    /// 1's and two more; a node offers only to peers whose identify lists
    /// this name.
    pub fn sync_protocol_v2(&self) -> StreamProtocol {
        StreamProtocol::try_from_owned(format!("/setu/{}/sync/2", self.network))
            .unwrap_or(StreamProtocol::new("/setu/invalid/sync/2"))
    }

    /// The attachment protocol: `/setu/NETWORK/blob/1` (`spec/net.md` §7.4).
    pub fn blob_protocol(&self) -> StreamProtocol {
        StreamProtocol::try_from_owned(format!("/setu/{}/blob/1", self.network))
            .unwrap_or(StreamProtocol::new("/setu/invalid/blob/1"))
    }

    /// The Kademlia protocol: `/setu/NETWORK/kad/1`.
    pub fn kad_protocol(&self) -> StreamProtocol {
        StreamProtocol::try_from_owned(format!("/setu/{}/kad/1", self.network))
            .unwrap_or(StreamProtocol::new("/setu/invalid/kad/1"))
    }

    /// The identify protocol version: `/setu/NETWORK/1`.
    pub fn identify_protocol(&self) -> String {
        format!("/setu/{}/1", self.network)
    }
}

/// The relay's peer id, from a relay address, which must end in
/// `/p2p/PEER_ID` and must not itself be a circuit address.
pub fn relay_peer(addr: &Multiaddr) -> Result<libp2p::PeerId, String> {
    use libp2p::multiaddr::Protocol;
    if addr.iter().any(|p| p == Protocol::P2pCircuit) {
        return Err(format!(
            "{addr}: a relay address cannot itself go through a relay"
        ));
    }
    match addr.iter().last() {
        Some(Protocol::P2p(id)) => Ok(id),
        _ => Err(format!(
            "{addr}: must end in /p2p/PEER_ID (the relay's peer id, from its `setu status`)"
        )),
    }
}

/// Checks a network name: 1 to 32 of `a-z`, `0-9` and `-`.
pub fn check_network_name(name: &str) -> Result<(), ConfigError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NETWORK_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ConfigError {
            field: "network.name",
            reason: format!(
                "{name:?}: must be 1 to {MAX_NETWORK_NAME} characters of a-z, 0-9 and '-'"
            ),
        })
    }
}
